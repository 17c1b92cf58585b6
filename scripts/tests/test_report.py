"""Unit tests for scripts/report.py: tests that never ran, unfinished runs and
lockdep switching itself off must show in the report, never vanish."""
import json
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "..", "report.py")
ALLOW = os.path.join(HERE, "..", "splat-allowlist.txt")


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


class Report(unittest.TestCase):
    def report(self, results, console, expected=None, status=0):
        with tempfile.TemporaryDirectory() as run:
            os.makedirs(os.path.join(run, "share", "out"))
            write(os.path.join(run, "console.log"), console)
            if results is not None:
                write(os.path.join(run, "share", "out", "results.json"), json.dumps(results))
            args = [sys.executable, SCRIPT, "--run", run, "--allow", ALLOW, "--guest-status", str(status)]
            if expected is not None:
                write(os.path.join(run, "expected"), "\n".join(expected) + "\n")
                args += ["--expected-tests", os.path.join(run, "expected")]
            p = subprocess.run(args, capture_output=True, text=True)
            with open(os.path.join(run, "report.json")) as f:
                return p, json.load(f)

    def test_test_that_never_ran_is_a_failure(self):
        results = {"tests": [{"name": "a", "result": "PASS"}], "finished": True}
        p, rep = self.report(results, "vmtest: test_start a\nvmtest: test_end a PASS\n", ["a", "b"])
        self.assertEqual(p.returncode, 1)
        self.assertIn(("FAIL", "b"), [(t["outcome"], t["name"]) for t in rep["tests"]])
        self.assertTrue(p.stdout.rstrip().endswith("1 passed, 1 failed, 0 skipped"))

    def test_unfinished_run_fails(self):
        results = {"tests": [{"name": "a", "result": "PASS"}], "finished": False}
        p, rep = self.report(results, "vmtest: test_start a\nvmtest: test_end a PASS\n", ["a"])
        self.assertEqual(p.returncode, 1)
        self.assertIn("guest", [t["name"] for t in rep["tests"] if t["outcome"] == "FAIL"])

    def two_tests(self, splat_in_a):
        """Report of tests a and b, with the kernel log lines SPLAT_IN_A
        printed while a ran: (report.py stdout, b's reason)."""
        console = "[    1.0] vmtest: test_start a\n"
        console += "".join("[    1.1] %s\n" % line for line in splat_in_a)
        console += ("[    1.3] vmtest: test_end a FAIL\n"
                    "[    1.4] vmtest: test_start b\n"
                    "[    1.5] vmtest: test_end b PASS\n")
        results = {"tests": [{"name": "a", "result": "PASS"}, {"name": "b", "result": "PASS"}], "finished": True}
        p, rep = self.report(results, console, ["a", "b"])
        reasons = {t["name"]: t["reason"] for t in rep["tests"]}
        return p.stdout, reasons["b"]

    def test_lockdep_off_marks_later_tests(self):
        out, b = self.two_tests(["WARNING: possible recursive locking detected",
                                 "turning off the locking correctness validator."])
        self.assertIn("not checked by lockdep", b)
        self.assertIn("lockdep switched itself off during a", out)

    def test_lockdep_report_turns_it_off_silently(self):
        # What 7.3 prints: the report, and no "turning off" line.
        _, b = self.two_tests(["================================",
                               "WARNING: inconsistent lock state",
                               "inconsistent {INITIAL USE} -> {IN-NMI} usage."])
        self.assertIn("not checked by lockdep", b)

    def test_suspicious_rcu_leaves_lockdep_on(self):
        _, b = self.two_tests(["WARNING: suspicious RCU usage"])
        self.assertNotIn("not checked by lockdep", b)


if __name__ == "__main__":
    unittest.main()
