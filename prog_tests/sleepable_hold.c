// SPDX-License-Identifier: GPL-2.0
/* A sleepable program holds a pointer into task storage across a sleep
 * (bpf_copy_from_user() of a page that userfaultfd holds back) while the
 * storage is deleted and many regular RCU grace periods pass; then it
 * writes through the pointer (bpf_copy_from_user() into the value). The
 * deferred free must wait for RCU Tasks Trace: freeing the selem earlier
 * is a use-after-free that KASAN reports in _copy_from_user().
 *
 * It passes with and without the series (the selem waits for RCU Tasks
 * Trace on both). The plain-RCU mutant (patches/mutants/plain-rcu: the
 * deferred batch waits for call_rcu() only, as the first version of the
 * deferral with reuse_now=true did) fails with "BUG: KASAN:
 * slab-use-after-free in _copy_from_user" (caught 3/3). A plain-RCU free
 * of a few objects can wait a long time (kfree_rcu batching), so the test
 * churns CHURN_OPS creates and deletes on the same map while the program
 * sleeps, which drives the batches to drain. Without KASAN the test still
 * checks that the program finished its copy.
 */
#include <test_progs.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <sys/mman.h>
#include "task_local_storage_helpers.h"
#include "sleepable_hold.skel.h"

#define CHURN_OPS 30000
#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL
#endif

static struct sleepable_hold *skel;
static int holder_tid;

static void *holder(void *arg)
{
	WRITE_ONCE(holder_tid, sys_gettid());
	skel->bss->holder_tid = holder_tid;
	/* The sleepable fentry program runs (and sleeps) on this syscall */
	syscall(__NR_getpgid, 0);
	return NULL;
}

/* Create and delete this thread's storage in the same map many times, and
 * let regular RCU grace periods pass.
 */
static void churn(int map_fd)
{
	struct { char buf[256]; } val = {};
	int i, pidfd;

	pidfd = sys_pidfd_open(sys_gettid(), PIDFD_THREAD);
	if (!ASSERT_OK_FD(pidfd, "pidfd_open self"))
		return;
	for (i = 0; i < CHURN_OPS; i++) {
		if (bpf_map_update_elem(map_fd, &pidfd, &val, BPF_NOEXIST) ||
		    bpf_map_delete_elem(map_fd, &pidfd)) {
			ASSERT_OK(-errno, "update/delete");
			break;
		}
		if (i % 5000 == 0)
			kern_sync_rcu();
	}
	kern_sync_rcu();
	close(pidfd);
}

void test_sleepable_hold(void)
{
	long page_size = sysconf(_SC_PAGESIZE);
	int uffd = -1, pidfd = -1, err, map_fd;
	char *page = MAP_FAILED, *src = NULL;
	bool started = false;
	struct uffd_msg msg;
	struct pollfd pfd;
	pthread_t thread;

	skel = sleepable_hold__open_and_load();
	if (!ASSERT_OK_PTR(skel, "open_and_load"))
		return;
	page = mmap(NULL, page_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!ASSERT_NEQ(page, MAP_FAILED, "mmap"))
		goto out;
	uffd = uffd_block_page(page);
	if (!ASSERT_OK_FD(uffd, "uffd_block_page"))
		goto out;
	skel->bss->user_page = (unsigned long)page;
	if (!ASSERT_OK(sleepable_hold__attach(skel), "attach"))
		goto out;
	map_fd = bpf_map__fd(skel->maps.task_map);

	if (!ASSERT_OK(pthread_create(&thread, NULL, holder, NULL), "pthread_create"))
		goto out;
	started = true;

	/* The fault arrives once the program holds its storage pointer */
	pfd.fd = uffd;
	pfd.events = POLLIN;
	if (!ASSERT_EQ(poll(&pfd, 1, 10000), 1, "program reached the user page"))
		goto out;
	if (!ASSERT_EQ(read(uffd, &msg, sizeof(msg)), sizeof(msg), "read uffd msg") ||
	    !ASSERT_EQ(msg.event, UFFD_EVENT_PAGEFAULT, "uffd event"))
		goto out;
	ASSERT_EQ(skel->bss->got_storage, 1, "program got its storage");

	/* Delete the storage the sleeping program points into */
	pidfd = sys_pidfd_open(READ_ONCE(holder_tid), PIDFD_THREAD);
	if (!ASSERT_OK_FD(pidfd, "pidfd_open holder"))
		goto out;
	err = bpf_map_delete_elem(map_fd, &pidfd);
	ASSERT_OK(err, "delete held storage");
	churn(map_fd);

out:
	if (started) {
		/* Release the program: it now writes through its pointer */
		src = calloc(1, page_size);
		if (ASSERT_OK_PTR(src, "calloc")) {
			struct uffdio_copy copy = {
				.dst = (unsigned long)page, .src = (unsigned long)src,
				.len = page_size,
			};
			ASSERT_OK(ioctl(uffd, UFFDIO_COPY, &copy), "UFFDIO_COPY");
		}
		pthread_join(thread, NULL);
		ASSERT_EQ(skel->bss->copy_done, 1, "program finished its copy");
		ASSERT_EQ(skel->bss->copy_err, 0, "bpf_copy_from_user");
		free(src);
	}
	if (pidfd >= 0)
		close(pidfd);
	if (uffd >= 0)
		close(uffd);
	if (page != MAP_FAILED)
		munmap(page, page_size);
	sleepable_hold__destroy(skel);
}
