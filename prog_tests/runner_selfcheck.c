// SPDX-License-Identifier: GPL-2.0
/*
 * Self-check of the test runner: two subtests in which every ASSERT_*
 * passes, so a guest run proves that forking, output capture, subtest
 * reporting and result accounting work before any BPF test is trusted.
 */
#include "test_progs.h"

static void test_scalar_asserts(void)
{
	unsigned long long big = 1ULL << 40;
	int minus_one = -1;

	ASSERT_TRUE(1 + 1 == 2, "true");
	ASSERT_FALSE(1 + 1 == 3, "false");
	ASSERT_EQ(big, 1ULL << 40, "eq");
	ASSERT_NEQ(minus_one, 0, "neq");
	ASSERT_LT(minus_one, 0, "lt");
	ASSERT_LE(0, 0, "le");
	ASSERT_GT(big, 0, "gt");
	ASSERT_GE(minus_one, -1, "ge");
	ASSERT_STREQ("vmtest", "vmtest", "streq");
	ASSERT_OK(0, "ok");
	ASSERT_ERR(-EINVAL, "err");
	ASSERT_STREQ(env.subtest_name, "scalar_asserts", "env.subtest_name");
}

static void test_ptr_fd_asserts(void)
{
	void *mem = malloc(16);
	int fd, bad_fd;

	ASSERT_OK_PTR(mem, "malloc");
	ASSERT_ERR_PTR((void *)(long)-ENOENT, "err_ptr");
	ASSERT_NULL(NULL, "null");

	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	ASSERT_OK_FD(fd, "open /dev/null");
	bad_fd = open("/nonexistent/vmtest", O_RDONLY | O_CLOEXEC);
	ASSERT_ERR_FD(bad_fd, "open nonexistent");

	/* also proves the RCU helper tests rely on works in the guest */
	ASSERT_OK(kern_sync_rcu(), "kern_sync_rcu");

	if (fd >= 0)
		close(fd);
	free(mem);
}

void test_runner_selfcheck(void)
{
	if (test__start_subtest("scalar_asserts"))
		test_scalar_asserts();
	if (test__start_subtest("ptr_fd_asserts"))
		test_ptr_fd_asserts();
}
