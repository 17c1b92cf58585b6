#!/bin/sh
# guest-splat-selfcheck.sh: self-check of the host's kernel splat scanner,
# run inside the vmtest guest (busybox sh).
#
# Writes into /dev/kmsg a line that looks exactly like the headline of a
# kernel WARN(), between the markers of a test named splat_selfcheck. The
# host's scanner (scripts/scan-splats.py) must attribute it to that test;
# because "vmtest: expect_splat splat_selfcheck" announced it first, the
# run counts it as an expected failure, not as a pass. If the scanner ever
# stops seeing this splat, the self-check fails, and we know that real
# splats would go unnoticed too. The markers are those the suite's own
# test_progs wrote for prog_tests/splat_selfcheck.c.
#
# Exit status: 0 when every line was written, 1 otherwise.
name=splat_selfcheck

kmsg() {
	# One record per write: the host matches markers line by line.
	printf '%s\n' "$1" >/dev/kmsg
}

kmsg "vmtest: test_start $name" || {
	echo "$name: cannot write to /dev/kmsg" >&2
	exit 1
}
rc=0
kmsg "vmtest: expect_splat $name" || rc=1
kmsg "WARNING: CPU: 0 PID: $$ at vmtest/splat_selfcheck.c:1 test_splat_selfcheck+0x0/0x0 (deliberate: splat scanner self-check)" || rc=1
if [ $rc -eq 0 ]; then
	kmsg "vmtest: test_end $name PASS"
	echo "$name: fake WARNING written (expected failure)"
else
	kmsg "vmtest: test_end $name FAIL"
	echo "$name: cannot write the fake WARNING to /dev/kmsg" >&2
fi
exit $rc
