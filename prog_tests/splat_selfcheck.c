// SPDX-License-Identifier: GPL-2.0
/*
 * Self-check of the host-side kernel splat scanner.
 *
 * This test writes into /dev/kmsg a line that looks exactly like the
 * headline of a kernel WARN(). The host-side scanner must report it as a
 * splat attributed to this test (it comes between "vmtest: test_start
 * splat_selfcheck" and "vmtest: test_end splat_selfcheck ..."). Because
 * test__expect_splat() announced it first ("vmtest: expect_splat
 * splat_selfcheck"), vmtest counts that as an expected failure, not as a
 * pass: if the scanner ever stops seeing this splat, the self-check fails
 * and we know that real splats would go unnoticed too.
 */
#include "test_progs.h"

void test_splat_selfcheck(void)
{
	int err;

	test__expect_splat();

	err = vmtest_kmsg("WARNING: CPU: 0 PID: %d at vmtest/splat_selfcheck.c:1 "
			  "test_splat_selfcheck+0x0/0x0 (deliberate: splat scanner self-check)",
			  getpid());
	ASSERT_OK(err, "write fake WARNING to /dev/kmsg");
}
