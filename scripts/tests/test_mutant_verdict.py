"""Unit tests for scripts/mutant-verdict.py: a mutant is caught only by the
failure it is meant to cause, never by a stale or missing report."""
import json
import os
import subprocess
import sys
import tempfile
import unittest

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "mutant-verdict.py")


class MutantVerdict(unittest.TestCase):
    def verdict(self, tests, test, regex):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "report.json")
            if tests is not None:
                with open(path, "w") as f:
                    json.dump({"tests": tests}, f)
            return subprocess.run([sys.executable, SCRIPT, path, test, regex],
                                  capture_output=True, text=True).returncode

    def test_caught_by_the_expected_splat(self):
        tests = [{"name": "sleepable_hold", "outcome": "FAIL",
                  "reason": "kernel splat [kasan]: BUG: KASAN: slab-use-after-free in _copy_from_user"}]
        self.assertEqual(self.verdict(tests, "sleepable_hold", r"kernel splat \[kasan\]"), 0)

    def test_other_failure_is_not_a_catch(self):
        tests = [{"name": "kptr_nmi", "outcome": "FAIL", "reason": "vmtest_nmi_start: timeout"}]
        self.assertEqual(self.verdict(tests, "kptr_nmi", r"kernel splat \[lockdep\]"), 1)

    def test_splat_outside_the_test_row(self):
        tests = [{"name": "kernel(storage_stress)", "outcome": "FAIL",
                  "reason": "kernel splat [soft_lockup]: watchdog: BUG: soft lockup - CPU#0 stuck"}]
        self.assertEqual(self.verdict(tests, "storage_stress", r"\[soft_lockup\]"), 0)

    def test_pass_and_missing_report(self):
        self.assertEqual(self.verdict([{"name": "x", "outcome": "PASS", "reason": ""}], "x", ".*"), 1)
        self.assertEqual(self.verdict(None, "x", ".*"), 1)


if __name__ == "__main__":
    unittest.main()
