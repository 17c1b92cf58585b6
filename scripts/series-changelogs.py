#!/usr/bin/env python3
"""series-changelogs.py save DIR FILE | restore FILE DIR

A patch's changelog ("v1 -> v2: ...") sits between the sign-off's "---"
and the diffstat. git am drops it, so a series that goes through
`series.sh checkout` (git am) and `export` (format-patch) would lose it.
`save` records each patch's changelog by subject in FILE (JSON); `restore`
puts it back into the newly exported patches with the same subject.
"""
import json
import re
import sys

SUBJECT = re.compile(r"^Subject: (?:\[[^]]*\] )?(.*(?:\n .*)*)", re.M)


def subject(text):
    m = SUBJECT.search(text)
    return " ".join(m.group(1).split()) if m else None


def split(text):
    """(before the first '---', changelog or None, from the last '---')."""
    lines = text.split("\n")
    seps = [i for i, l in enumerate(lines) if l == "---"]
    if len(seps) >= 2:
        return "\n".join(lines[:seps[0]]), "\n".join(lines[seps[0] + 1:seps[1]]), "\n".join(lines[seps[1]:])
    if seps:
        return "\n".join(lines[:seps[0]]), None, "\n".join(lines[seps[0]:])
    return text, None, ""


def main():
    cmd, a, b = sys.argv[1:4]
    if cmd == "save":
        import glob
        logs = {}
        for path in sorted(glob.glob(a + "/[0-9][0-9][0-9][0-9]-*.patch")):
            text = open(path).read()
            _, log, _ = split(text)
            if log and subject(text):
                logs[subject(text)] = log
        json.dump(logs, open(b, "w"), indent=1)
    elif cmd == "restore":
        import glob
        logs = json.load(open(a))
        for path in sorted(glob.glob(b + "/[0-9][0-9][0-9][0-9]-*.patch")):
            text = open(path).read()
            head, log, rest = split(text)
            s = subject(text)
            if log is None and s in logs and rest:
                open(path, "w").write(head + "\n---\n" + logs[s] + "\n" + rest)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
