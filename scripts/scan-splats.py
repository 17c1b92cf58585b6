#!/usr/bin/env python3
"""Find kernel splats in a vmtest serial console log and say which test caused them.

Usage: scan-splats.py [--allow FILE] [--json OUT.json] [--context N] CONSOLE_LOG

Marker protocol. The guest's test runner writes these lines to /dev/kmsg, so
they reach the console in order with the kernel's own messages. They are
found anywhere in a console line (a timestamp or other prefix may precede):
  vmtest: test_start NAME         test NAME begins
  vmtest: test_end NAME RESULT    test NAME ended (RESULT: PASS, FAIL or SKIP)
  vmtest: expect_splat NAME       the running test NAME provokes a splat on
                                  purpose (the self-check of this scanner)

A splat is attributed to the test between whose start and end markers its
headline appears; before the first test_start it is `boot`, after the last
test_end it is `shutdown`, after test_end A and before test_start B it is
`between A and B`. A splat inside a test that emitted expect_splat is
expected; such a test with no splat is reported as MISSED.

Splat headlines are found by the DENY patterns below; a console line that
matches a pattern of the allow list (one Python regex per line, '#' comment
lines and blank lines ignored) is never a headline.

One report, one splat. The kernel sometimes prints two headline-like lines
for one event (`WARNING: inconsistent lock state` then `inconsistent {..}
usage.`; `BUG: kernel NULL pointer dereference` then `Oops:`; `list_add
corruption.` then `kernel BUG at` or `WARNING:`; `refcount_t:` then
`WARNING:`). So a headline within FOLD_LINES lines of the previous one is
folded into it, unless a report boundary came in between: a `---[ end ...`
line, a `=====` rule or a vmtest marker. A KASAN report is framed by `=====`
rules and is folded as a whole, up to its closing rule. Two reports printed
within FOLD_LINES lines of each other without a boundary count as one.

Exit status: 0 when there is no unexpected splat and no missed expected
splat, 1 otherwise, 2 on a usage or I/O error (one line on stderr).
"""
import argparse
import json
import os
import re
import sys

DEFAULT_ALLOW = os.path.join(os.path.dirname(os.path.abspath(__file__)), "splat-allowlist.txt")
DEFAULT_CONTEXT = 30
FOLD_LINES = 10  # a headline this close after another one belongs to the same report
FRAMED_MAX = 200  # a framed (KASAN) report longer than this is taken to have lost its closing rule

# "[   12.345678] " with an optional printk caller id "[    T123] " after it.
# The last one in a line is used: the console may glue a userspace line and a
# kernel message together when the userspace line lacks its newline.
TIMESTAMP = re.compile(r"\[\s*\d+\.\d+\]\s?(?:\[\s*[TC]\d+\]\s?)?")
MARKER = re.compile(r"vmtest: (test_start|test_end|expect_splat) (\S+)")
# Lines that close a report: the end of a WARN/BUG/Oops/panic, a KASAN rule
# (which also opens the next lockdep or KASAN report).
REPORT_END = re.compile(r"^---\[ end |^={10,}$")

# (kind, patterns), tried in order, the first match names the kind. Patterns
# are searched in the message, i.e. the line after its timestamp, with
# leading blanks dropped. Patterns anchored with ^ only match the start of a
# message: that keeps out stack lines, `Spectre V2 : WARNING: ...` style boot
# notes, `traps: ... general protection fault` (a user-space crash) and the
# `---[ end Kernel panic ...` trailer. Everything is case-sensitive: the
# kernel writes `WARNING:`, while `Warning: unable to open an initial console`
# is not a splat.
DENY = [
    ("lockdep", [
        r"WARNING: possible circular locking dependency detected",
        r"WARNING: possible recursive locking detected",
        r"WARNING: inconsistent lock state",
        r"^inconsistent \{.*\} -> \{.*\} usage",
        r"WARNING: possible irq lock inversion dependency detected",
        r"WARNING: \w+-safe -> \w+-unsafe lock order detected",
        r"WARNING: suspicious RCU usage",
        r"WARNING: bad unlock balance detected!",
        r"WARNING: lock held when returning to user space!",
        r"BUG: Invalid wait context",  # printed as "[ BUG: Invalid wait context ]"
        r"BUG: sleeping function called from invalid context",
        r"BUG: scheduling while atomic",
    ]),
    ("kasan", [r"BUG: KASAN: "]),
    ("soft_lockup", [r"BUG: soft lockup - CPU#"]),  # "watchdog: BUG: soft lockup - CPU#0 stuck for 26s!"
    ("hard_lockup", [r"Watchdog detected hard LOCKUP"]),
    ("rcu_stall", [
        r"\brcu: INFO: .*stall",  # rcu_preempt/rcu_sched detected stalls, self-detected stall
        r"\bINFO: rcu_\w+ .*detected stall",  # rcu_tasks / rcu_tasks_trace stalls (no "rcu: " prefix)
    ]),
    ("hung_task", [r"\bINFO: task .+ blocked for more than \d+ seconds"]),
    ("list_corruption", [r"\bh?list_\w+ corruption\b", r"\bh?list_\w+ double add\b"]),
    ("ubsan", [r"^UBSAN: "]),
    ("refcount", [r"^refcount_t: "]),  # underflow / saturated / addition on 0
    ("kmemleak", [r"\bkmemleak: \d+ new suspected memory leaks"]),
    ("panic", [r"^Kernel panic - not syncing"]),
    ("oops", [
        r"^(?:Internal error: )?Oops(?::| - )",  # "Oops: 0000 [#1]", "Oops: general protection fault, ..."
        r"^general protection fault",  # before 6.12 it had no "Oops: " prefix
        r"^Unable to handle kernel ",  # arm64 and others
    ]),
    ("bug", [r"^(?:\[ )?BUG: ", r"^kernel BUG at "]),
    ("warning", [r"^(?:\[ )?WARNING: "]),  # WARN(): "WARNING: CPU: 1 PID: 2 at f.c:3 ..." / "WARNING: f.c:3 at ..."
]
DENY = [(kind, [re.compile(p) for p in patterns]) for kind, patterns in DENY]

# Headline kinds that only say "something went wrong". When a folded line of
# the same report has a more telling kind (a WARN printing "list_del
# corruption" after its WARNING: line, as newer kernels do), the splat takes it.
GENERIC_KINDS = ("warning", "bug", "oops", "panic")
FRAMED_KINDS = ("kasan",)


class UsageError(Exception):
    pass


def message(line):
    """The kernel message in a console line: the text after its last timestamp."""
    last = None
    for last in TIMESTAMP.finditer(line):
        pass
    return (line[last.end():] if last else line).strip()


def classify(msg):
    for kind, patterns in DENY:
        if any(p.search(msg) for p in patterns):
            return kind
    return None


def load_allow(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            rows = f.read().splitlines()
    except OSError as e:
        raise UsageError("cannot read allow list %r: %s" % (path, e.strerror or e))
    allow = []
    for n, row in enumerate(rows, 1):
        row = row.strip()
        if not row or row.startswith("#"):
            continue
        try:
            allow.append(re.compile(row))
        except re.error as e:
            raise UsageError("%s:%d: bad regex %r: %s" % (path, n, row, e))
    return allow


def read_log(path):
    try:
        # Console logs may hold CRLF line ends and bytes that are not UTF-8.
        with open(path, encoding="utf-8", errors="replace", newline="") as f:
            text = f.read()
    except OSError as e:
        raise UsageError("cannot read console log %r: %s" % (path, e.strerror or e))
    lines = [line.replace("\r", "") for line in text.split("\n")]
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def scan(lines, allow=(), context=DEFAULT_CONTEXT):
    """Scan console lines; return the result as written to the JSON file."""
    splats, tests_seen, expect = [], [], []
    current = None  # test between its start and end marker
    last_ended = None  # test of the most recent test_end
    after_end = []  # splats after a test_end, named once the next test_start is seen
    open_report = None  # the splat whose report may still fold later headlines
    fold_until = -1  # index of the last line that may fold into open_report
    before = context // 6  # context lines shown before the headline

    for i, line in enumerate(lines):
        m = MARKER.search(line)
        if m:
            what, name = m.groups()
            open_report = None
            if what == "test_start":
                for s in after_end:
                    s["test"] = "between %s and %s" % (last_ended, name)
                after_end = []
                current = name
                if name not in tests_seen:
                    tests_seen.append(name)
            elif what == "test_end":
                current, last_ended = None, name
            elif name not in expect:
                expect.append(name)
            continue

        msg = message(line)
        if REPORT_END.search(msg):
            open_report = None
            continue
        if any(a.search(line) for a in allow):
            continue
        kind = classify(msg)
        if kind is None:
            continue
        if open_report and i <= fold_until:
            # Same report: count it once, but keep the most telling kind.
            if open_report["kind"] in GENERIC_KINDS and kind not in GENERIC_KINDS:
                open_report["kind"] = kind
            continue

        start = max(0, i - before)
        splat = {"test": current, "kind": kind, "line": i + 1, "headline": msg,
                 "context": lines[start:start + context], "expected": False,
                 "_in_test": current is not None}
        if current is None:
            if last_ended is None:
                splat["test"] = "boot"
            else:
                splat["test"] = "shutdown"  # unless a test_start follows
                after_end.append(splat)
        splats.append(splat)
        open_report = splat
        fold_until = i + (FRAMED_MAX if kind in FRAMED_KINDS else FOLD_LINES)

    for s in splats:
        s["expected"] = s.pop("_in_test") and s["test"] in expect
    hit = {s["test"] for s in splats if s["expected"]}
    return {
        "splats": splats,
        "expect_splat_tests": expect,
        "missed_expected": [t for t in expect if t not in hit],
        "tests_seen": tests_seen,
        # The guest died or hung in it (or the log was cut off).
        "unfinished_test": current,
    }


def report(result):
    """The human-readable report, as printed on stdout."""
    out = []
    for s in result["splats"]:
        if s["expected"]:
            out.append("expected splat [%s] during test %s: %s" % (s["kind"], s["test"], s["headline"]))
            continue
        out.append("SPLAT [%s] during test %s (console line %d): %s"
                   % (s["kind"], s["test"], s["line"], s["headline"]))
        out.extend("    " + c for c in s["context"])
        out.append("")
    for t in result["missed_expected"]:
        out.append("MISSED: test %s expected a splat but none was found" % t)
    if result["unfinished_test"]:
        out.append("UNFINISHED: test %s started but never ended (the guest died or hung in it)"
                   % result["unfinished_test"])
    unexpected = sum(1 for s in result["splats"] if not s["expected"])
    out.append("scan-splats: %d unexpected splat(s), %d expected, %d missed, %d test(s) seen"
               % (unexpected, len(result["splats"]) - unexpected,
                  len(result["missed_expected"]), len(result["tests_seen"])))
    return "\n".join(out) + "\n"


def exit_status(result):
    bad = any(not s["expected"] for s in result["splats"]) or result["missed_expected"]
    return 1 if bad else 0


def main(argv=None):
    ap = argparse.ArgumentParser(
        prog="scan-splats.py",
        description="Report kernel splats (lockdep, KASAN, WARN, BUG, ...) in a vmtest console log.")
    ap.add_argument("--allow", default=DEFAULT_ALLOW,
                    help="allow list, one regex per line (default: %(default)s)")
    ap.add_argument("--json", metavar="OUT.json", help="also write the result as JSON")
    ap.add_argument("--context", metavar="N", type=int, default=DEFAULT_CONTEXT,
                    help="console lines shown per splat (default: %(default)s)")
    ap.add_argument("log", metavar="CONSOLE_LOG")
    args = ap.parse_args(argv)  # exits 2 on a usage error
    if args.context < 0:
        ap.error("--context must not be negative")

    try:
        allow = load_allow(args.allow)
        result = scan(read_log(args.log), allow, args.context)
        if args.json:
            try:
                with open(args.json, "w") as f:
                    json.dump(result, f, indent=1)
                    f.write("\n")
            except OSError as e:
                raise UsageError("cannot write %r: %s" % (args.json, e.strerror or e))
    except UsageError as e:
        print("scan-splats.py: error: %s" % e, file=sys.stderr)
        return 2
    sys.stdout.write(report(result))
    return exit_status(result)


if __name__ == "__main__":
    sys.exit(main())
