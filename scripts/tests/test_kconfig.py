"""scripts/kconfig.sh last_setting(): a later fragment's setting wins.

The build matrix (scripts/series-matrix.sh) adds a fragment that turns off
what kernel-config/matrix.config turns on (CONFIG_BPF_JIT, CONFIG_SMP).
kconfig.sh checks that every requested option ended up as asked; before
last_setting() it checked the earlier "CONFIG_BPF_JIT=y" too and failed the
jit-off config, which is the case below (seen by replacing the function
body with "cat").
"""
import os
import re
import subprocess
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, "scripts", "kconfig.sh")


def last_setting(lines):
    text = open(SCRIPT).read()
    m = re.search(r"^last_setting\(\) \{\n.*?^\}\n", text, re.S | re.M)
    assert m, "last_setting() not found in kconfig.sh"
    r = subprocess.run(["bash", "-c", m.group(0) + "last_setting"], input=lines,
                       capture_output=True, text=True, check=True)
    return r.stdout.splitlines()


class LastSetting(unittest.TestCase):
    def test_later_fragment_turns_an_option_off(self):
        out = last_setting("CONFIG_BPF_JIT=y\nCONFIG_BPF_LSM=y\n"
                           "# CONFIG_BPF_JIT is not set\n# CONFIG_BPF_LSM is not set\n")
        self.assertEqual(out, ["# CONFIG_BPF_JIT is not set", "# CONFIG_BPF_LSM is not set"])

    def test_later_fragment_turns_an_option_on(self):
        out = last_setting("# CONFIG_SMP is not set\nCONFIG_NET=y\nCONFIG_SMP=y\n")
        self.assertEqual(out, ["CONFIG_SMP=y", "CONFIG_NET=y"])

    def test_values_with_equals_signs_are_kept_whole(self):
        out = last_setting('CONFIG_LSM="bpf"\nCONFIG_CMDLINE="a=b c=d"\n')
        self.assertEqual(out, ['CONFIG_LSM="bpf"', 'CONFIG_CMDLINE="a=b c=d"'])


if __name__ == "__main__":
    unittest.main()
