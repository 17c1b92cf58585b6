"""scripts/checkpatch-filter.py: only the reports checkpatch-accepted lists are dropped."""
import os
import subprocess
import sys
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FILTER = os.path.join(ROOT, "scripts", "checkpatch-filter.py")
ACCEPTED = os.path.join(ROOT, "scripts", "checkpatch-accepted")

KPTR = """CHECK:SPACING: spaces preferred around that '*' (ctx:WxV)
#101: FILE: tools/testing/selftests/bpf/progs/obj_drop_tracing_fail.c:44:
+\tstruct plain __kptr *obj;
 \t                    ^
"""
OTHER_SPACING = """CHECK:SPACING: spaces preferred around that '*' (ctx:WxV)
#12: FILE: kernel/bpf/defer.c:40:
+\tx = a*b;
 \t     ^
"""
COMMIT_ID = """WARNING:UNKNOWN_COMMIT_ID: Unknown commit id 'fda01efc6160', maybe rebased or not pulled?
#63: 
Fixes: fda01efc6160 ("bpf: Enable cgroups to be used as kptrs")
"""
ERROR = """ERROR:CODE_INDENT: code indent should use tabs where possible
#50: FILE: kernel/bpf/defer.c:20:
+        return;
"""


TOTAL = "\ntotal: 1 errors, 1 warnings, 1 checks, 100 lines checked\n"


def run(text):
    return subprocess.run([sys.executable, FILTER, ACCEPTED], input=text,
                          capture_output=True, text=True)


class CheckpatchFilter(unittest.TestCase):
    def test_accepted_only(self):
        r = run(KPTR + "\n" + COMMIT_ID + "\ntotal: 0 errors, 1 warnings, 1 checks\n")
        self.assertEqual(r.returncode, 0, r.stdout)
        self.assertIn("0 report(s) not accepted, 2 accepted", r.stdout)

    def test_same_type_elsewhere_is_not_accepted(self):
        r = run(KPTR + "\n" + OTHER_SPACING + TOTAL)
        self.assertEqual(r.returncode, 1)
        self.assertIn("a*b", r.stdout)
        self.assertNotIn("__kptr", r.stdout)

    def test_errors_fail(self):
        r = run(ERROR + TOTAL)
        self.assertEqual(r.returncode, 1)
        self.assertIn("CODE_INDENT", r.stdout)

    def test_no_checkpatch_output_fails(self):
        # checkpatch.pl missing or dying prints no summary: not a pass.
        r = run("")
        self.assertEqual(r.returncode, 1)
        self.assertIn("no checkpatch summary", r.stderr)


if __name__ == "__main__":
    unittest.main()
