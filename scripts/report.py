#!/usr/bin/env python3
"""Merge the guest's test results with the splat scan of its console log.

A test that passed in the guest still fails if the kernel splatted while it
ran. A test that deliberately provokes a splat (the scanner self-check) is an
expected failure when the splat is found, and a failure when it is not.
Splats outside any test (boot, shutdown, between tests) fail the run too.
Tests that were expected to run (--expected-tests) but have no result are
failures (NOTRUN), and so is a run whose results say it did not finish.
When lockdep switched itself off (after its first report), the tests that
ran from then on are marked "not checked by lockdep".
Prints one line per test and, last, `N passed, N failed, N skipped`.
Exit status: 0 when nothing failed, 1 otherwise.
"""
import argparse
import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def load_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


LOCKDEP_OFF = "turning off the locking correctness validator"
# Every lockdep report turns lockdep off first (debug_locks_off() in
# kernel/locking/lockdep.c) without saying so: the message above is printed
# only when it runs out of resources. "suspicious RCU usage" leaves it on.
LOCKDEP_REPORT = re.compile(
    r"WARNING: (possible circular locking dependency detected|inconsistent lock state"
    r"|possible irq lock inversion dependency detected|\S+-safe -> \S+-unsafe lock order detected"
    r"|possible recursive locking detected|Nested lock was not taken|bad unlock balance detected"
    r"|bad contention detected|held lock freed)|BUG: Invalid wait context")


def lockdep_off_tests(log):
    """(test during which lockdep turned itself off, [that test and every
    test that started after it]), or None when it stayed on."""
    marker = re.compile(r"vmtest: test_start (\S+)")
    current, off_in, tests = "boot", None, []
    try:
        f = open(log, errors="replace")
    except OSError:
        return None
    with f:
        for line in f:
            m = marker.search(line)
            if m:
                current = m.group(1)
                if off_in:
                    tests.append(current)
            elif off_in is None and (LOCKDEP_OFF in line or LOCKDEP_REPORT.search(line)):
                off_in = current
                tests.append(current)
    return (off_in, tests) if off_in else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--run", required=True, help="run directory")
    ap.add_argument("--allow", required=True)
    ap.add_argument("--guest-status", type=int, required=True)
    ap.add_argument("--times")
    ap.add_argument("--kernel", default="")
    ap.add_argument("--expected-tests", help="file: the names of the tests that should have run, one a line")
    args = ap.parse_args()

    log = os.path.join(args.run, "console.log")
    scan_json = os.path.join(args.run, "splats.json")
    scan = subprocess.run([sys.executable, os.path.join(HERE, "scan-splats.py"),
                           "--allow", args.allow, "--json", scan_json, log],
                          capture_output=True, text=True)
    splat_report = scan.stdout
    scan_data = load_json(scan_json) if scan.returncode in (0, 1) else None
    results = load_json(os.path.join(args.run, "share", "out", "results.json"))

    rows = []  # (outcome, name, reason)
    if scan_data is None:
        rows.append(("FAIL", "splat-scan", "scanner failed: " + scan.stderr.strip()))
        scan_data = {"splats": [], "missed_expected": [], "unfinished_test": None}

    splats_by_test = {}
    for s in scan_data["splats"]:
        splats_by_test.setdefault(s["test"], []).append(s)

    tests = results["tests"] if results else []
    seen = set()
    for t in tests:
        name = t["name"]
        seen.add(name)
        splats = splats_by_test.get(name, [])
        unexpected = [s for s in splats if not s["expected"]]
        if t.get("expect_splat"):
            if name in scan_data["missed_expected"] or not splats:
                rows.append(("FAIL", name, "expected a kernel splat, the scanner found none"))
            elif unexpected:
                rows.append(("FAIL", name, "unexpected splat: " + unexpected[0]["headline"]))
            else:
                rows.append(("XFAIL", name, "expected splat caught: " + splats[0]["headline"]))
        elif unexpected:
            rows.append(("FAIL", name, "kernel splat [%s]: %s" % (unexpected[0]["kind"], unexpected[0]["headline"])))
        else:
            rows.append((t["result"], name, t.get("message", "") if t["result"] in ("FAIL", "XFAIL") else ""))

    unfinished = scan_data.get("unfinished_test")
    if unfinished and unfinished not in seen:
        reason = "the guest stopped while this test was running"
        first = next((s for s in splats_by_test.get(unfinished, []) if not s["expected"]), None)
        if first:
            reason += "; kernel splat [%s]: %s" % (first["kind"], first["headline"])
        rows.append(("FAIL", unfinished, reason))
        seen.add(unfinished)
    for test, splats in splats_by_test.items():
        if test not in seen and any(not s["expected"] for s in splats):
            s = next(s for s in splats if not s["expected"])
            rows.append(("FAIL", "kernel(%s)" % test, "kernel splat [%s]: %s" % (s["kind"], s["headline"])))

    if args.expected_tests:
        for name in open(args.expected_tests).read().split():
            if name not in seen:
                rows.append(("FAIL", name, "NOTRUN: the guest never ran this test"))
                seen.add(name)
    if results is not None and results.get("finished") is False and not any(
            r[0] == "FAIL" and r[1] == "guest" for r in rows):
        rows.append(("FAIL", "guest", "the test runner did not finish (its results say finished: false)"))

    lockdep_off = lockdep_off_tests(log)
    if lockdep_off:
        rows = [(o, n, (r + "; " if r else "") + "not checked by lockdep (it had switched itself off)")
                if n in lockdep_off[1] else (o, n, r) for o, n, r in rows]

    status = args.guest_status
    if results is None:
        rows.append(("FAIL", "guest", "no results from the guest (exit status %d)" % status))
    elif status not in (0, 1) and not any(r[0] == "FAIL" for r in rows):
        rows.append(("FAIL", "guest", "guest run ended with status %d" % status))
    elif status == 1 and not any(r[0] == "FAIL" for r in rows):
        rows.append(("FAIL", "guest", "test runner reported failure"))

    if any(r[0] == "FAIL" for r in rows) and splat_report.strip():
        print(splat_report.rstrip())

    def run_file(name):
        try:
            return open(os.path.join(args.run, name)).read().strip()
        except OSError:
            return ""
    accel, qemu = run_file("accel"), run_file("qemu-version")
    how = ", ".join(x for x in (accel, qemu and "QEMU " + qemu) if x)
    print("vmtest: results for %s%s:" % (args.kernel, " (%s)" % how if how else ""))
    for outcome, name, reason in rows:
        print("  %-5s %s%s" % (outcome, name, (": " + reason) if reason else ""))
    if args.times and os.path.exists(args.times):
        phases = [l.split() for l in open(args.times) if l.strip()]
        print("vmtest: phase times: " + ", ".join("%s %ss" % (p[0], p[1]) for p in phases))
    if lockdep_off:
        print("vmtest: lockdep switched itself off during %s (after its first report): %d test(s) after it "
              "ran without lockdep" % (lockdep_off[0], len(lockdep_off[1])))
    if accel == "tcg":
        print("vmtest: note: the guest ran under TCG (software emulation); absolute timings mean little")

    count = lambda o: sum(1 for r in rows if r[0] == o)
    passed, failed, skipped, xfail = count("PASS"), count("FAIL"), count("SKIP"), count("XFAIL")
    report = {"kernel": args.kernel, "accel": accel, "qemu": qemu, "passed": passed, "failed": failed,
              "skipped": skipped, "expected_failures": xfail,
              "tests": [{"name": n, "outcome": o, "reason": r} for o, n, r in rows]}
    with open(os.path.join(args.run, "report.json"), "w") as f:
        json.dump(report, f, indent=1)
    if xfail:
        print("vmtest: %d expected failure(s) (XFAIL above), not counted as passes" % xfail)
    print("%d passed, %d failed, %d skipped" % (passed, failed, skipped))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
