"""Unit tests for scripts/selftests-results.py (results and compare)."""
import json
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "..", "selftests-results.py")


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def load(path):
    with open(path) as f:
        return json.load(f)

TASK_KFUNC_BASE = """\
#1/1     task_kfunc/test_task_acquire_release_argument:OK
#1/2     task_kfunc/task_kfunc_obj_drop_with_kptr:OK
#1       task_kfunc:OK
Summary: 1/2 PASSED, 0 SKIPPED, 0 FAILED
"""
TASK_KFUNC_PATCHED = """\
#1/1     task_kfunc/test_task_acquire_release_argument:OK
#1/2     task_kfunc/task_kfunc_obj_drop_with_kptr:FAIL
#1       task_kfunc:FAIL
Summary: 0/1 PASSED, 0 SKIPPED, 1 FAILED
"""
SCX = """\
===== START =====
TEST: create_dsq
ok 1 create_dsq # 
=====  END  =====
TEST: numa
ok 2 numa # SKIP 
TEST: rt_stall
OUTPUT:
ok 1 PASS: EXT task got more than 4.00% of runtime
not ok 2 FAIL: FAIR task got less than 4.00% of runtime
ok 4 rt_stall # 
TEST: exit
not ok 5 exit # 
"""


class SelftestsResults(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name
        self.expected = os.path.join(self.dir, "expected")
        self.known = os.path.join(self.dir, "known")
        write(self.known, "sched_ext/exit  fails under TCG\n")

    def tearDown(self):
        self.tmp.cleanup()

    def declare(self, text):
        write(self.expected, text)

    def make_run(self, name, outputs, set_text):
        """outputs: {file-name: (log, rc or None)}"""
        run = os.path.join(self.dir, name)
        out = os.path.join(run, "share", "out", "selftests")
        os.makedirs(out)
        write(os.path.join(run, "share", "selftests.set"), set_text)
        for f, (log, rc) in outputs.items():
            write(os.path.join(out, f + ".log"), log)
            if rc is not None:
                write(os.path.join(out, f + ".rc"), "%d\n" % rc)
        return run

    def run_script(self, *args):
        return subprocess.run([sys.executable, SCRIPT] + list(args) + ["--expected", self.expected,
                              "--known", self.known], capture_output=True, text=True)

    def results(self, run, kernel):
        p = self.run_script("results", run, "--kernel", kernel)
        self.assertEqual(p.returncode, 0, p.stderr)
        tests = load(os.path.join(run, "share", "out", "results.json"))["tests"]
        rows = load(os.path.join(run, "selftests.json"))["rows"]
        return {t["name"]: t for t in tests}, rows

    def two_runs(self):
        base = self.make_run("base", {"test_progs.task_kfunc": (TASK_KFUNC_BASE, 0),
                                      "sched_ext.all": (SCX, 1)}, "test_progs task_kfunc\nsched_ext\n")
        patched = self.make_run("patched", {"test_progs.task_kfunc": (TASK_KFUNC_PATCHED, 1),
                                            "sched_ext.all": (SCX, 1)}, "test_progs task_kfunc\nsched_ext\n")
        return base, patched

    def test_subtests_parsed(self):
        base, _ = self.two_runs()
        self.declare("")
        tests, rows = self.results(base, "base")
        self.assertEqual(rows["test_progs/task_kfunc/task_kfunc_obj_drop_with_kptr"], "PASS")
        self.assertNotIn("test_progs/task_kfunc", rows)  # explained by its subtests
        self.assertEqual(rows["sched_ext/numa"], "SKIP")
        self.assertEqual(rows["sched_ext/exit"], "FAIL")
        # kselftest lines a test prints itself are not runner results
        self.assertEqual(rows["sched_ext/rt_stall"], "PASS")
        self.assertNotIn("sched_ext/PASS:", rows)
        self.assertNotIn("sched_ext/FAIL:", rows)
        self.assertEqual(tests["test_progs/task_kfunc"]["result"], "PASS")
        self.assertEqual(tests["sched_ext/all"]["result"], "XFAIL")  # known failure

    def test_undeclared_failure_fails(self):
        _, patched = self.two_runs()
        self.declare("")
        tests, _ = self.results(patched, "patched")
        self.assertEqual(tests["test_progs/task_kfunc"]["result"], "FAIL")
        self.assertIn("task_kfunc_obj_drop_with_kptr FAIL", tests["test_progs/task_kfunc"]["message"])

    def test_declared_failure_is_xfail_on_that_kernel_only(self):
        _, patched = self.two_runs()
        self.declare("test_progs/task_kfunc/task_kfunc_obj_drop_with_kptr PASS FAIL patch 6\n")
        tests, _ = self.results(patched, "patched")
        self.assertEqual(tests["test_progs/task_kfunc"]["result"], "XFAIL")
        # The same failure on base is not what is declared there.
        base = self.make_run("base2", {"test_progs.task_kfunc": (TASK_KFUNC_PATCHED, 1)}, "test_progs task_kfunc\n")
        tests, _ = self.results(base, "base")
        self.assertEqual(tests["test_progs/task_kfunc"]["result"], "FAIL")

    def test_missing_and_timeout(self):
        run = self.make_run("r", {"test_progs.map_kptr": ("#1/1 map_kptr/a:OK\n", 124)},
                            "test_progs map_kptr\ntest_progs cpumask\n")
        self.declare("")
        tests, rows = self.results(run, "patched")
        self.assertEqual(rows["test_progs/map_kptr"], "TIMEOUT")
        self.assertEqual(rows["test_progs/cpumask"], "NOTRUN")
        self.assertEqual(tests["test_progs/cpumask"]["result"], "FAIL")

    def compare(self, decl):
        base, patched = self.two_runs()
        self.declare(decl)
        self.results(base, "base")
        self.results(patched, "patched")
        return self.run_script("compare", base, patched)

    def test_compare_undeclared_difference_fails(self):
        p = self.compare("")
        self.assertEqual(p.returncode, 1)
        self.assertIn("UNDECLARED", p.stdout)

    def test_compare_declared_difference_passes(self):
        p = self.compare("test_progs/task_kfunc/task_kfunc_obj_drop_with_kptr PASS FAIL patch 6\n")
        self.assertEqual(p.returncode, 0, p.stdout)
        self.assertIn("declared: patch 6", p.stdout)
        self.assertIn("known failure: fails under TCG", p.stdout)

    def test_compare_declared_change_that_did_not_happen_fails(self):
        p = self.compare("test_progs/task_kfunc/task_kfunc_obj_drop_with_kptr PASS FAIL patch 6\n"
                         "test_progs/task_kfunc/test_task_acquire_release_argument PASS FAIL no\n")
        self.assertEqual(p.returncode, 1)
        self.assertIn("MISMATCH", p.stdout)

    def test_compare_splat_on_one_kernel_is_a_difference(self):
        base, patched = self.two_runs()
        self.declare("test_progs/task_kfunc/task_kfunc_obj_drop_with_kptr PASS FAIL patch 6\n")
        self.results(base, "base")
        self.results(patched, "patched")
        with open(os.path.join(base, "splats.json"), "w") as f:
            json.dump({"splats": [
                {"test": "splat_selfcheck", "kind": "warning", "expected": True},
                {"test": "test_progs/task_kfunc", "kind": "lockdep", "expected": False}]}, f)
        p = self.run_script("compare", base, patched)
        self.assertEqual(p.returncode, 1, p.stdout)
        self.assertRegex(p.stdout, r"test_progs/task_kfunc:splat\s+SPLAT\s+none\s+UNDECLARED")
        self.assertNotIn("splat_selfcheck", p.stdout)
        self.declare("test_progs/task_kfunc/task_kfunc_obj_drop_with_kptr PASS FAIL patch 6\n"
                     "test_progs/task_kfunc:splat SPLAT none the base kernel's bug\n")
        p = self.run_script("compare", base, patched)
        self.assertEqual(p.returncode, 0, p.stdout)


if __name__ == "__main__":
    unittest.main()
