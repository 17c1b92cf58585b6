// SPDX-License-Identifier: GPL-2.0
/*
 * ops.exit_task() deletes task local storage with the rq lock held, under
 * a fork/exit storm of NR_FORKS processes and NR_THREADS threads. The
 * scheduler must stay attached (an ejected scheduler fails the test: its
 * ops.exit records why in uei), every storage created in ops.init_task()
 * must be deleted, and every value freed while the map is still alive.
 * The test runs with CONFIG_PROVE_RAW_LOCK_NESTING in mind: a delete path
 * that takes a sleeping lock or waits under the rq lock makes lockdep
 * report it.
 *
 * It passes with and without the series (without it, call_srcu() no
 * longer takes a sleeping lock: the original "Invalid wait context"
 * report of sched-ext/scx#3776 was fixed in SRCU). The mutant
 * patches/mutants/spinlock-list, whose deferred list is protected by a
 * spinlock_t, fails it with lockdep's "BUG: Invalid wait context"
 * (caught 3/3).
 */
#include <bpf/bpf.h>
#include <pthread.h>
#include <scx/common.h>
#include <sys/wait.h>
#include <unistd.h>
#include "exit_task_storage.bpf.skel.h"
#include "scx_test.h"

#define NR_FORKS	2000
#define NR_THREADS	1000
#define FREE_WAIT_SECS	20

static void *thread_fn(void *arg)
{
	return NULL;
}

static int fork_exit_storm(void)
{
	int i, status;
	pthread_t t;
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

static long count_live(struct exit_task_storage *skel)
{
	int fd = bpf_map__fd(skel->maps.live);
	__u64 key, next;
	void *prev = NULL;
	long n = 0;

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		n++;
	}
	return n;
}

static enum scx_test_status setup(void **ctx)
{
	struct exit_task_storage *skel;

	skel = exit_task_storage__open();
	SCX_FAIL_IF(!skel, "Failed to open");
	SCX_ENUM_INIT(skel);
	SCX_FAIL_IF(exit_task_storage__load(skel), "Failed to load skel");

	/* The free tracker (fentry) now, the scheduler in run() */
	bpf_map__set_autoattach(skel->maps.exit_task_storage_ops, false);
	SCX_FAIL_IF(exit_task_storage__attach(skel), "Failed to attach the free tracker");

	*ctx = skel;
	return SCX_TEST_PASS;
}

static enum scx_test_status run(void *ctx)
{
	struct exit_task_storage *skel = ctx;
	struct bpf_link *link;
	long left;
	int err, i;

	link = bpf_map__attach_struct_ops(skel->maps.exit_task_storage_ops);
	SCX_FAIL_IF(!link, "Failed to attach scheduler");

	err = fork_exit_storm();
	if (skel->data->uei.kind != EXIT_KIND(SCX_EXIT_NONE)) {
		bpf_link__destroy(link);
		SCX_FAIL("The scheduler exited during the fork/exit storm: kind %d, %s (%s)",
			 skel->data->uei.kind, skel->data->uei.reason, skel->data->uei.msg);
	}
	/* Disabling the scheduler runs ops.exit_task() for every task left */
	bpf_link__destroy(link);
	SCX_FAIL_IF(err, "fork/exit storm: %s", strerror(-err));
	SCX_EQ(skel->data->uei.kind, EXIT_KIND(SCX_EXIT_UNREG));

	printf("init_task %ld created %ld create_failed %ld ",
	       skel->bss->nr_init_task, skel->bss->nr_created, skel->bss->nr_create_failed);
	printf("exit_task %ld deleted %ld delete_failed %ld\n",
	       skel->bss->nr_exit_task, skel->bss->nr_deleted, skel->bss->nr_delete_failed);
	SCX_GE(skel->bss->nr_created, NR_FORKS + NR_THREADS);
	SCX_EQ(skel->bss->nr_create_failed, 0);
	SCX_EQ(skel->bss->nr_delete_failed, 0);
	SCX_EQ(skel->bss->nr_deleted, skel->bss->nr_created);
	SCX_EQ(skel->bss->nr_untracked, 0);

	/* Every value freed while the map is still alive: nothing may wait
	 * for map_free() to flush it.
	 */
	left = count_live(skel);
	for (i = 0; left && i < FREE_WAIT_SECS * 10; i++) {
		usleep(100000);
		left = count_live(skel);
	}
	printf("storage values freed %ld, not freed with the map alive %ld\n",
	       skel->bss->nr_freed, left);
	SCX_EQ(left, 0);

	return SCX_TEST_PASS;
}

static void cleanup(void *ctx)
{
	struct exit_task_storage *skel = ctx;

	exit_task_storage__destroy(skel);
}

struct scx_test exit_task_storage = {
	.name = "exit_task_storage",
	.description = "Verify that ops.exit_task() can delete task storage and all of it is freed",
	.setup = setup,
	.run = run,
	.cleanup = cleanup,
};

REGISTER_SCX_TEST(&exit_task_storage)
