#!/usr/bin/env python3
"""Results of the kernel tree's own selftests run by scripts/guest-selftests.sh.

  selftests-results.py results RUN_DIR --kernel KIND
      Parse RUN_DIR/share/out/selftests/* (one log and exit status per test)
      into RUN_DIR/selftests.json (the outcome of every test and subtest) and
      RUN_DIR/share/out/results.json (one row per test, for report.py).
      KIND (base or patched) selects which failures selftests/expected-changes
      declares as expected; selftests/known-failures lists failures on both
      kernels that have nothing to do with the series. A failure declared in
      either is XFAIL (not a pass, not a failure); any other failure is FAIL.

  selftests-results.py compare BASE_RUN PATCHED_RUN [--json FILE]
      Print the table test/subtest | base | patched for every row whose
      outcome differs or that is declared, and check the declarations: an
      undeclared difference, or a declared change that did not happen, fails.
      Exit status 0 when the runs match the declarations, 1 otherwise.

Outcomes: PASS, FAIL, SKIP, TIMEOUT (killed after the per-test timeout),
NOTRUN (the guest stopped before the test ran). compare also has a row
TEST:splat per test that had a kernel splat on either kernel: SPLAT or none.
"""
import argparse
import fnmatch
import json
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXPECTED = os.path.join(ROOT, "selftests", "expected-changes")
KNOWN = os.path.join(ROOT, "selftests", "known-failures")

# test_progs: "#12/3   test/subtest:OK" and "#12      test:OK (SKIP: 1/5)"
TP_LINE = re.compile(r"^#(\d+)(?:/(\d+))?\s+(.+?):(OK|SKIP|FAIL)\b")
# sched_ext runner (TAP-like): "ok 3 name # SKIP " / "not ok 4 name # "
SCX_LINE = re.compile(r"^(ok|not ok) \d+ (\S+) # ?(SKIP)?")
TP_MAP = {"OK": "PASS", "SKIP": "SKIP", "FAIL": "FAIL"}


def file_name(runner, name):
    """The guest's file name for a test (see guest-selftests.sh)."""
    return "%s.%s" % (runner, name.replace("/", "_").replace("*", "~"))


def read(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return None


def read_set(path):
    entries = []
    for line in open(path):
        words = line.split("#", 1)[0].split()
        if words:
            entries.append((words[0], words[1] if len(words) > 1 else "all"))
    return entries


def parse_decls(path, fields):
    """Lines 'KEY FIELD... reason'; KEY may be a glob. Returns [(key, fields..., reason)]."""
    decls = []
    if not os.path.exists(path):
        return decls
    for n, line in enumerate(open(path), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(None, fields + 1)
        if len(parts) < fields + 2:
            sys.exit("%s:%d: expected KEY %s REASON" % (path, n, " ".join(["OUTCOME"] * fields)))
        decls.append(tuple(parts))
    return decls


def find_decl(decls, key):
    for d in decls:
        if fnmatch.fnmatchcase(key, d[0]):
            return d
    return None


def parse_entry(out_dir, runner, name):
    """Rows {key: outcome} and the exit status of one set entry."""
    base = os.path.join(out_dir, file_name(runner, name))
    log, rc = read(base + ".log"), read(base + ".rc")
    if rc is None:
        return {"%s/%s" % (runner, name): "NOTRUN"}, None, log or ""
    rc = int(rc.strip() or 125)
    rows = {}
    if runner == "test_progs":
        tests, subtests = {}, {}
        for line in log.splitlines():
            m = TP_LINE.match(line)
            if not m:
                continue
            if m.group(2):
                subtests["test_progs/" + m.group(3)] = TP_MAP[m.group(4)]
            else:
                tests["test_progs/" + m.group(3)] = TP_MAP[m.group(4)]
        rows.update(subtests)
        # A test's own row counts where its subtests do not explain it: it has
        # none, or it failed outside them (e.g. in its setup).
        for t, outcome in tests.items():
            subs = [o for k, o in subtests.items() if k.startswith(t + "/")]
            if not subs or (outcome == "FAIL" and "FAIL" not in subs):
                rows[t] = outcome
    elif runner == "sched_ext":
        current = None
        for line in log.splitlines():
            if line.startswith("TEST: "):
                current = line[len("TEST: "):].strip()
            m = SCX_LINE.match(line)
            # Only the runner's result line for the test it started, not
            # TAP lines a test prints itself (rt_stall: "ok 1 PASS: ...").
            if m and m.group(2) == current:
                rows["sched_ext/" + m.group(2)] = "SKIP" if m.group(3) else (
                    "PASS" if m.group(1) == "ok" else "FAIL")
    elif runner == "test_maps":
        rows["test_maps"] = "PASS" if rc == 0 else "FAIL"
    if rc == 124:
        rows["%s/%s" % (runner, name)] = "TIMEOUT"
    elif rc != 0 and not any(o == "FAIL" for o in rows.values()):
        # Failed without saying which test: the entry itself failed.
        rows["%s/%s" % (runner, name)] = "FAIL"
    if not rows:
        rows["%s/%s" % (runner, name)] = "PASS" if rc == 0 else "FAIL"
    return rows, rc, log


def cmd_results(args):
    share_out = os.path.join(args.run, "share", "out")
    out_dir = os.path.join(share_out, "selftests")
    entries = read_set(os.path.join(args.run, "share", "selftests.set"))
    expected = parse_decls(args.expected, 2)
    known = parse_decls(args.known, 0)
    col = 1 if args.kernel == "base" else 2

    all_rows, tests = {}, []
    for runner, name in entries:
        rows, rc, log = parse_entry(out_dir, runner, name)
        all_rows.update(rows)
        unexpected, declared = [], []
        for key, outcome in sorted(rows.items()):
            if outcome not in ("FAIL", "TIMEOUT", "NOTRUN"):
                continue
            d = find_decl(expected, key)
            if d and d[col] == outcome:
                declared.append("%s %s (expected: %s)" % (key, outcome, d[3]))
                continue
            k = find_decl(known, key)
            if k:
                declared.append("%s %s (known failure: %s)" % (key, outcome, k[1]))
                continue
            unexpected.append("%s %s" % (key, outcome))
        if unexpected:
            result, msg = "FAIL", "; ".join(unexpected)
        elif declared:
            result, msg = "XFAIL", "; ".join(declared)
        elif rows and all(o == "SKIP" for o in rows.values()):
            result, msg = "SKIP", ""
        else:
            result, msg = "PASS", ""
        if result == "FAIL" and log:
            msg += "\n" + "\n".join(log.splitlines()[-15:])
        tests.append({"name": "%s/%s" % (runner, name), "result": result, "message": msg})

    # guest-selftests.sh is preceded by the splat scanner's self-check,
    # which must be seen as a splat (report.py makes it an XFAIL or a FAIL).
    tests.insert(0, {"name": "splat_selfcheck", "result": "PASS", "expect_splat": True, "message": ""})

    with open(os.path.join(args.run, "selftests.json"), "w") as f:
        json.dump({"kernel": args.kernel, "rows": all_rows}, f, indent=1, sort_keys=True)
    with open(os.path.join(share_out, "results.json"), "w") as f:
        json.dump({"tests": tests}, f, indent=1)
    return 0


def splat_rows(run):
    """One row TEST:splat = SPLAT for each test a kernel splat was attributed
    to (RUN/splats.json, scripts/scan-splats.py), but the deliberate ones."""
    try:
        splats = json.load(open(os.path.join(run, "splats.json")))["splats"]
    except (OSError, ValueError, KeyError):
        return {}
    return {s["test"] + ":splat": "SPLAT" for s in splats if not s.get("expected")}


def cmd_compare(args):
    base = json.load(open(os.path.join(args.base, "selftests.json")))["rows"]
    patched = json.load(open(os.path.join(args.patched, "selftests.json")))["rows"]
    # A splat fails its test on that kernel (report.py) whatever the test
    # itself said: it is an outcome to compare like the others.
    base.update(splat_rows(args.base))
    patched.update(splat_rows(args.patched))
    expected = parse_decls(args.expected, 2)
    known = parse_decls(args.known, 0)
    used = set()
    rows, bad = [], 0
    for key in sorted(set(base) | set(patched)):
        none = "none" if key.endswith(":splat") else "-"
        b, p = base.get(key, none), patched.get(key, none)
        d = find_decl(expected, key)
        if d:
            used.add(d[0])
            if (b, p) == (d[1], d[2]):
                rows.append((key, b, p, "declared: " + d[3]))
            else:
                bad += 1
                rows.append((key, b, p, "MISMATCH: declared %s -> %s (%s)" % (d[1], d[2], d[3])))
        elif b != p:
            bad += 1
            rows.append((key, b, p, "UNDECLARED difference"))
        elif b in ("FAIL", "TIMEOUT", "NOTRUN", "SPLAT"):
            k = find_decl(known, key)
            if k:
                rows.append((key, b, p, "known failure: " + k[1]))
            else:
                bad += 1
                rows.append((key, b, p, "fails on both kernels and is not in selftests/known-failures"))
    for d in expected:
        if d[0] not in used:
            bad += 1
            rows.append((d[0], "?", "?", "MISMATCH: declared %s -> %s but no such test ran" % (d[1], d[2])))

    same = sum(1 for k in set(base) & set(patched) if base[k] == patched[k])
    width = max([len(r[0]) for r in rows] + [20])
    print("%-*s  %-7s  %-7s  %s" % (width, "test/subtest", "base", "patched", "note"))
    for r in rows:
        print("%-*s  %-7s  %-7s  %s" % (width, r[0], r[1], r[2], r[3]))
    count = lambda rows_, o: sum(1 for v in rows_.values() if v == o)
    for kind, rs in (("base", base), ("patched", patched)):
        print("selftests: %s: %d rows: %d passed, %d failed, %d skipped, %d timed out, %d not run" % (
            kind, len(rs), count(rs, "PASS"), count(rs, "FAIL"), count(rs, "SKIP"),
            count(rs, "TIMEOUT"), count(rs, "NOTRUN")))
    print("selftests: %d rows the same on both kernels; %d listed above; %d problem(s)" % (same, len(rows), bad))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"base": base, "patched": patched,
                       "listed": [dict(zip(("test", "base", "patched", "note"), r)) for r in rows],
                       "problems": bad}, f, indent=1, sort_keys=True)
    return 1 if bad else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("results")
    r.add_argument("run")
    r.add_argument("--kernel", required=True)
    c = sub.add_parser("compare")
    c.add_argument("base")
    c.add_argument("patched")
    c.add_argument("--json")
    for p in (r, c):
        p.add_argument("--expected", default=EXPECTED, help="default: selftests/expected-changes")
        p.add_argument("--known", default=KNOWN, help="default: selftests/known-failures")
    args = ap.parse_args()
    return cmd_results(args) if args.cmd == "results" else cmd_compare(args)


if __name__ == "__main__":
    sys.exit(main())
