// SPDX-License-Identifier: GPL-2.0
/* sched_ext ops.exit_task() deletes task storage with the rq lock held,
 * under a fork/exit storm of thousands of tasks. Every storage created in
 * ops.init_task() must be deleted (counted in BPF) and freed (tracked by
 * storage_free_tracker), with no splat under PROVE_RAW_LOCK_NESTING.
 *
 * Base 7.3 passes (its call_srcu() no longer takes a sleeping lock; the
 * original "Invalid wait context" splat of the seed thread was fixed in
 * SRCU). The spinlock mutant (patches/mutants/spinlock-list), whose
 * deferred list is protected by a spinlock_t, fails it with lockdep's
 * "BUG: Invalid wait context".
 */
#include <scx/common.h>
#include "test_progs.h"
#include "scx_exit_task_storage.skel.h"
#include "free_tracker_helpers.h"

#define NR_FORKS 2000
#define NR_THREADS 1000
#define FREE_WAIT_SECS 20

static void *thread_fn(void *arg)
{
	return NULL;
}

static int fork_exit_storm(void)
{
	pthread_t t;
	int i, status;
	pid_t pid;

	for (i = 0; i < NR_FORKS; i++) {
		pid = fork();
		if (pid < 0)
			return -errno;
		if (pid == 0)
			_exit(0);
		if (waitpid(pid, &status, 0) != pid)
			return -errno;
	}
	for (i = 0; i < NR_THREADS; i++) {
		if (pthread_create(&t, NULL, thread_fn, NULL))
			return -EAGAIN;
		pthread_join(t, NULL);
	}
	return 0;
}

void test_scx_exit_task_storage(void)
{
	struct storage_free_tracker *tracker;
	struct scx_exit_task_storage *skel = NULL;
	struct bpf_link *link = NULL;
	long left;

	tracker = storage_free_tracker__open_and_load();
	if (!ASSERT_OK_PTR(tracker, "tracker_load"))
		return;
	if (!ASSERT_OK(storage_free_tracker__attach(tracker), "tracker_attach"))
		goto out;

	skel = scx_exit_task_storage__open();
	if (!ASSERT_OK_PTR(skel, "open"))
		goto out;
	SCX_ENUM_INIT(skel);
	if (!ASSERT_OK(bpf_map__reuse_fd(skel->maps.live, bpf_map__fd(tracker->maps.live)),
		       "reuse live map"))
		goto out;
	if (!ASSERT_OK(scx_exit_task_storage__load(skel), "load"))
		goto out;

	link = bpf_map__attach_struct_ops(skel->maps.storage_ops);
	if (!ASSERT_OK_PTR(link, "attach scheduler")) {
		link = NULL;
		goto out;
	}
	ASSERT_OK(fork_exit_storm(), "fork_exit_storm");
	/* Disabling the scheduler runs ops.exit_task() for every task left */
	bpf_link__destroy(link);
	link = NULL;

	printf("init_task %ld created %ld create_failed %ld exit_task %ld deleted %ld delete_failed %ld\n",
	       skel->bss->nr_init_task, skel->bss->nr_created, skel->bss->nr_create_failed,
	       skel->bss->nr_exit_task, skel->bss->nr_deleted, skel->bss->nr_delete_failed);
	ASSERT_GE(skel->bss->nr_created, NR_FORKS + NR_THREADS, "storage created");
	ASSERT_EQ(skel->bss->nr_create_failed, 0, "create failures");
	ASSERT_EQ(skel->bss->nr_delete_failed, 0, "delete failures");
	ASSERT_EQ(skel->bss->nr_deleted, skel->bss->nr_created, "every created storage deleted");
	ASSERT_EQ(skel->bss->nr_untracked, 0, "untracked");

	left = tracker_wait_all_freed(tracker, FREE_WAIT_SECS);
	printf("storage values freed %ld, left over %ld\n", tracker->bss->nr_freed, left);
	ASSERT_EQ(left, 0, "storage values never freed");
out:
	bpf_link__destroy(link);
	scx_exit_task_storage__destroy(skel);
	storage_free_tracker__destroy(tracker);
}
