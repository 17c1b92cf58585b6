"""scripts/guest-selftests.sh in_session(): a test's leftovers die with it.

The guest runs the function under busybox sh; so does this test. A fake
test forks children that ignore SIGTERM and outlive it, then hangs until
its timeout. Without the process group kill in in_session() (seen by
replacing it with "false"), those children are still running afterwards.
"""
import os
import re
import shutil
import subprocess
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, "scripts", "guest-selftests.sh")
BUSYBOX = shutil.which("busybox")

FAKE_TEST = """#!/bin/sh
for i in 1 2 3; do (trap '' TERM; exec sleep 97{tag}) & done
echo started
exec sleep 98{tag}
"""


def in_session_function():
    text = open(SCRIPT).read()
    m = re.search(r"^in_session\(\) \{\n.*?^\}\n", text, re.S | re.M)
    assert m, "in_session() not found in guest-selftests.sh"
    return m.group(0)


def running(pattern):
    r = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True)
    return len(r.stdout.split())


@unittest.skipUnless(BUSYBOX, "busybox is not installed")
class InSession(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp()
        self.tag = str(os.getpid())
        self.addCleanup(shutil.rmtree, self.dir)
        self.addCleanup(subprocess.run, ["pkill", "-9", "-f", "sleep 9[78]" + self.tag])

    def run_sh(self, body):
        script = in_session_function() + body
        return subprocess.run([BUSYBOX, "sh", "-c", script], cwd=self.dir,
                              capture_output=True, text=True, timeout=30)

    def test_timeout_kills_the_whole_session(self):
        fake = os.path.join(self.dir, "fake_test")
        with open(fake, "w") as f:
            f.write(FAKE_TEST.format(tag=self.tag))
        os.chmod(fake, 0o755)
        r = self.run_sh('in_session "%s" 2 ./fake_test >log 2>&1; echo "rc=$?"' % self.dir)
        self.assertIn("rc=137", r.stdout)  # SIGKILL from timeout
        log = open(os.path.join(self.dir, "log")).read()
        self.assertIn("started", log)
        self.assertIn("killed what ./fake_test left running", log)
        self.assertEqual(running("sleep 97" + self.tag), 0, "the test's children outlived it")

    def test_exit_status_and_directory(self):
        r = self.run_sh('in_session /tmp 10 sh -c "pwd; exit 3"; echo "rc=$?"')
        self.assertEqual(r.stdout.split(), ["/tmp", "rc=3"])


if __name__ == "__main__":
    unittest.main()
