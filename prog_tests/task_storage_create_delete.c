// SPDX-License-Identifier: GPL-2.0
/* The storage create and delete paths end to end: a tp_btf program
 * creates task storage on each syscall entry of this thread and deletes it
 * on the matching exit. Every create must be matched by a successful
 * delete, and no storage may be left behind.
 *
 * It fails when a delete fails or storage is left linked (a deferral that
 * breaks the unlink path, e.g. by losing an element, makes nr_deleted or
 * the final lookup wrong). It passes with and without the series; no
 * mutant in patches/mutants/ targets it.
 */
#include <test_progs.h>
#include "task_local_storage_helpers.h"
#include "task_storage_create_delete.skel.h"

#define NR_SYSCALLS 2000

void test_task_storage_create_delete(void)
{
	struct task_storage_create_delete *skel;
	int i, err, pidfd = -1;
	long val;

	skel = task_storage_create_delete__open_and_load();
	if (!ASSERT_OK_PTR(skel, "open_and_load"))
		return;
	err = task_storage_create_delete__attach(skel);
	if (!ASSERT_OK(err, "attach"))
		goto out;

	/* Written through the mmap'ed .bss: no syscall, so the counted
	 * window holds only complete enter/exit pairs.
	 */
	skel->bss->target_tid = sys_gettid();
	for (i = 0; i < NR_SYSCALLS; i++)
		getppid();
	skel->bss->target_tid = 0;

	ASSERT_GE(skel->bss->nr_created, NR_SYSCALLS, "nr_created");
	ASSERT_EQ(skel->bss->nr_create_failed, 0, "nr_create_failed");
	ASSERT_EQ(skel->bss->nr_delete_failed, 0, "nr_delete_failed");
	ASSERT_EQ(skel->bss->nr_deleted, skel->bss->nr_created, "deleted == created");

	pidfd = sys_pidfd_open(getpid(), 0);
	if (!ASSERT_OK_FD(pidfd, "pidfd_open"))
		goto out;
	err = bpf_map_lookup_elem(bpf_map__fd(skel->maps.task_map), &pidfd, &val);
	ASSERT_ERR(err, "no storage left");
	ASSERT_EQ(errno, ENOENT, "lookup errno");
out:
	if (pidfd >= 0)
		close(pidfd);
	task_storage_create_delete__destroy(skel);
}
