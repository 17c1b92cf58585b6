#!/usr/bin/env python3
"""checkpatch-filter.py ACCEPTED < checkpatch output

Read `checkpatch.pl --show-types` output (one or more patches) and print
the reports that no line of ACCEPTED (scripts/checkpatch-accepted) accepts,
then the number of accepted ones. Exit status 1 if any report is left,
or if the input has no checkpatch summary ("total: ...") at all: a
checkpatch that did not run must not read as a clean one.
"""
import re
import sys

REPORT = re.compile(r"^(ERROR|WARNING|CHECK):([A-Z_0-9]+): ")


def load(path):
    rules = []
    for line in open(path, encoding="utf-8"):
        if not line.strip() or line.startswith("#"):
            continue
        kind, regex, reason = line.split(None, 2)
        rules.append((kind, re.compile(regex, re.M), reason.strip()))
    return rules


def reports(text):
    """Yield (type, block): a report is its header line up to a blank line."""
    block = []
    for line in text.splitlines():
        if REPORT.match(line):
            if block:
                yield block
            block = [line]
        elif block and line.strip():
            block.append(line)
        elif block:
            yield block
            block = []
    if block:
        yield block


def accepted(block, rules):
    kind = REPORT.match(block[0]).group(2)
    # The quoted lines (after "#N: FILE: ..." or "#N:"), one per line.
    src = "\n".join(l for l in block[1:] if not l.startswith("#"))
    return any(k == kind and r.search(src) for k, r, _ in rules)


def main():
    rules = load(sys.argv[1])
    text = sys.stdin.read()
    left = n_ok = 0
    for block in reports(text):
        if accepted(block, rules):
            n_ok += 1
            continue
        left += 1
        print("\n".join(block) + "\n")
    print("checkpatch: %d report(s) not accepted, %d accepted by %s"
          % (left, n_ok, sys.argv[1]))
    if not re.search(r"^total: \d+ errors", text, re.M):
        print("checkpatch-filter: no checkpatch summary in the input: "
              "did checkpatch.pl run?", file=sys.stderr)
        return 1
    return 1 if left else 0


if __name__ == "__main__":
    sys.exit(main())
