#!/usr/bin/env python3
"""mutant-verdict.py REPORT TEST REGEX: was TEST caught failing for REGEX?

REPORT is a run's report.json (scripts/report.py). The mutant counts as
caught when the report has a FAIL row for TEST (or for kernel(TEST), a
splat outside the test's own row) whose reason matches REGEX. Prints what
was found; exit status 0 when caught, 1 when not (no report at all, TEST
passed, or it failed for another reason).
"""
import json
import re
import sys


def main():
    path, test, regex = sys.argv[1:4]
    try:
        with open(path) as f:
            report = json.load(f)
    except (OSError, ValueError) as e:
        print("no report (%s)" % e)
        return 1
    names = (test, "kernel(%s)" % test)
    fails = [t for t in report["tests"] if t["outcome"] == "FAIL" and t["name"] in names]
    for t in fails:
        if re.search(regex, t["reason"]):
            print("%s: %s" % (t["name"], t["reason"][:300]))
            return 0
    if fails:
        print("failed for another reason: " + "; ".join(t["reason"][:200] for t in fails))
    else:
        print("%s did not fail" % test)
    return 1


if __name__ == "__main__":
    sys.exit(main())
