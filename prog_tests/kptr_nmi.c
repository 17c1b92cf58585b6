// SPDX-License-Identifier: GPL-2.0
/* Referenced task and cgroup kptrs destroyed in NMI while process context
 * refills them on the other CPUs. NMIs come from a hardware cycles perf
 * event, or, without a PMU, from the test harness (nmi_source.h); with
 * neither the test skips. Every subtest asserts that its program really
 * ran in NMI.
 *
 * drop: bpf_obj_drop() of local objects holding a task and a cgroup kptr
 *   (a floor on NMI drops with each kind of kptr).
 *   Without the series (7.3) the verifier rejects the program
 *   ("bpf_obj_drop cannot be used in tracing programs on types with NMI
 *   unsafe fields"). The mutant patches/mutants/dtor-direct-in-nmi (the
 *   destructors called directly in NMI, no deferral) fails with lockdep's
 *   "inconsistent {INITIAL USE} -> {IN-NMI} usage" (caught 3/3).
 * obj_new_fails: bpf_obj_new() fails in NMI (objects of a size class of
 *   which each CPU caches a handful, taken 8 at a time), and the program
 *   goes on: NMI drops of the objects it did get, with task and cgroup
 *   kptrs, continue (floors on both). What failed must be a clean NULL:
 *   no splat, and kmemleak (scanned after the tests) finds nothing.
 * release: bpf_kptr_xchg() out of array, hash and task storage values and
 *   bpf_task_release()/bpf_cgroup_release() in NMI.
 * last_ref_task: a task exits while the only reference left is in a map
 *   value; the NMI program takes it out and releases it. The task's final
 *   put (delayed_put_task_struct()) must run.
 * last_ref_cgroup: the same for a removed cgroup (css_release() must run).
 *
 * Measured without the series: release and last_ref_task run without a
 * report (put_task_struct_rcu_user() -> call_rcu() in NMI is unsafe, but
 * lockdep does not see it); last_ref_cgroup makes lockdep report
 * "inconsistent {INITIAL USE} -> {IN-NMI} usage" on &pool->lock from
 * bpf_cgroup_release() -> css_release() -> queue_work_on() in NMI, and,
 * with CONFIG_DEBUG_OBJECTS_WORK, already on debug_objects' obj_hash lock
 * from css_release()'s INIT_WORK (seen 2026-11-24).
 *
 * Serial: NMIs and busy threads on every CPU.
 */
#include <test_progs.h>
#include "cgroup_helpers.h"
#include "nmi_source.h"
#include "kptr_nmi_drop.skel.h"
#include "kptr_nmi_burst.skel.h"
#include "kptr_nmi_release.skel.h"

#define RUN_SECS 4
#define NMI_FLOOR 100
#define POOL_CGROUP "/kptr_nmi_pool"
#define LAST_CGROUP "/kptr_nmi_last"

/* Create a cgroup under the test's cgroup work dir; returns its id or 0 */
static __u64 make_cgroup(const char *path)
{
	int fd = create_and_get_cgroup(path);

	if (fd < 0)
		return 0;
	close(fd);
	return get_cgroup_id(path);
}

/* Run NMIs for @secs with every CPU busy in syscalls of this process. */
static long run_nmis(struct nmi_source *src, int secs)
{
	long nmis;

	if (!ASSERT_OK(nmi_source_start(src), "nmi_source_start"))
		return -1;
	sleep(secs);
	nmis = nmi_source_stop(src);
	ASSERT_GE(nmis, 0, "nmi_source_stop");
	return nmis;
}

/* Inject NMIs until @released and @freed are set, or @secs pass. */
static void nmis_until(struct nmi_source *src, int *released, int *freed, int secs)
{
	int i;

	if (!ASSERT_OK(nmi_source_start(src), "nmi_source_start"))
		return;
	for (i = 0; i < secs * 10 && !(READ_ONCE(*released) && READ_ONCE(*freed)); i++)
		usleep(100000);
	ASSERT_GE(nmi_source_stop(src), 0, "nmi_source_stop");
}

/* Wait up to @secs for @flag, set by a program on a final free path that
 * runs after a grace period.
 */
static void wait_flag(int *flag, int secs)
{
	for (int i = 0; i < secs * 10 && !READ_ONCE(*flag); i++)
		usleep(100000);
}

static void test_drop(void)
{
	struct nmi_source src = { .ctl_fd = -1 };
	struct kptr_nmi_drop *skel;
	__u64 cgid = 0;
	long nmis;
	int err;

	skel = kptr_nmi_drop__open();
	if (!ASSERT_OK_PTR(skel, "open"))
		return;
	err = nmi_source_init(&src, skel->progs.nmi_drop_perf, skel->progs.nmi_drop_tp);
	if (err == -EOPNOTSUPP) {
		test__skip();
		goto out;
	}
	if (!ASSERT_OK(err, "nmi_source_init") || !ASSERT_OK(kptr_nmi_drop__load(skel), "load"))
		goto out;
	skel->bss->target_tgid = getpid();
	cgid = make_cgroup(POOL_CGROUP);
	skel->bss->target_cgid = cgid;
	if (!ASSERT_NEQ(cgid, 0, "pool cgroup") ||
	    !ASSERT_OK(kptr_nmi_drop__attach(skel), "attach"))
		goto out;

	nmis = run_nmis(&src, RUN_SECS);
	skel->bss->stop = true;
	printf("NMI source %s: NMIs injected %ld, NMI runs %ld (not in NMI %ld), ",
	       nmi_source_name(&src), nmis, skel->bss->nr_nmi_runs, skel->bss->nr_not_in_nmi);
	printf("drops %ld (with task %ld, with cgroup %ld), alloc failed %ld, refills %ld\n",
	       skel->bss->nr_drops, skel->bss->nr_drops_task, skel->bss->nr_drops_cgrp,
	       skel->bss->nr_alloc_failed, skel->bss->nr_refilled);
	ASSERT_EQ(skel->bss->nr_not_in_nmi, 0, "NMI program runs not in NMI");
	ASSERT_GE(skel->bss->nr_drops, NMI_FLOOR, "NMI drops");
	ASSERT_GT(skel->bss->nr_drops_task, 0, "drops holding a task");
	ASSERT_GT(skel->bss->nr_drops_cgrp, 0, "drops holding a cgroup");
out:
	nmi_source_cleanup(&src);
	kptr_nmi_drop__destroy(skel);
	if (cgid)
		remove_cgroup(POOL_CGROUP);
}

/* Open, load and attach kptr_nmi_release with the program of an NMI
 * source; NULL on failure, or (skipped) when there is no NMI source.
 */
static struct kptr_nmi_release *load_release(struct nmi_source *src)
{
	struct kptr_nmi_release *skel;
	int err;

	skel = kptr_nmi_release__open();
	if (!ASSERT_OK_PTR(skel, "open"))
		return NULL;
	err = nmi_source_init(src, skel->progs.nmi_release_perf, skel->progs.nmi_release_tp);
	if (err == -EOPNOTSUPP) {
		test__skip();
		goto fail;
	}
	if (!ASSERT_OK(err, "nmi_source_init") || !ASSERT_OK(kptr_nmi_release__load(skel), "load"))
		goto fail;
	skel->bss->target_tgid = getpid();
	if (!ASSERT_OK(kptr_nmi_release__attach(skel), "attach"))
		goto fail;
	return skel;
fail:
	kptr_nmi_release__destroy(skel);
	return NULL;
}

static void test_obj_new_fails(void)
{
	struct nmi_source src = { .ctl_fd = -1 };
	struct kptr_nmi_burst *skel;
	__u64 cgid = 0;
	long nmis;
	int err;

	skel = kptr_nmi_burst__open();
	if (!ASSERT_OK_PTR(skel, "open"))
		return;
	err = nmi_source_init(&src, skel->progs.nmi_burst_perf, skel->progs.nmi_burst_tp);
	if (err == -EOPNOTSUPP) {
		test__skip();
		goto out;
	}
	if (!ASSERT_OK(err, "nmi_source_init") || !ASSERT_OK(kptr_nmi_burst__load(skel), "load"))
		goto out;
	skel->bss->target_tgid = getpid();
	cgid = make_cgroup(POOL_CGROUP);
	skel->bss->target_cgid = cgid;
	if (!ASSERT_NEQ(cgid, 0, "pool cgroup") ||
	    !ASSERT_OK(kptr_nmi_burst__attach(skel), "attach"))
		goto out;

	nmis = run_nmis(&src, RUN_SECS);
	skel->bss->stop = true;
	printf("NMI source %s: NMIs injected %ld, NMI runs %ld (not in NMI %ld), ",
	       nmi_source_name(&src), nmis, skel->bss->nr_nmi_runs, skel->bss->nr_not_in_nmi);
	printf("burst allocs %ld, alloc failed %ld, ",
	       skel->bss->nr_allocs, skel->bss->nr_alloc_failed);
	printf("burst drops %ld (with task %ld, with cgroup %ld)\n",
	       skel->bss->nr_drops, skel->bss->nr_drops_task, skel->bss->nr_drops_cgrp);
	ASSERT_EQ(skel->bss->nr_not_in_nmi, 0, "NMI program runs not in NMI");
	ASSERT_GT(skel->bss->nr_alloc_failed, 0, "bpf_obj_new() failed in NMI");
	ASSERT_GE(skel->bss->nr_drops, NMI_FLOOR, "NMI drops");
	ASSERT_GT(skel->bss->nr_drops_task, 0, "drops holding a task");
	ASSERT_GT(skel->bss->nr_drops_cgrp, 0, "drops holding a cgroup");
out:
	nmi_source_cleanup(&src);
	/* What the stash still holds is freed with the map */
	kptr_nmi_burst__destroy(skel);
	if (cgid)
		remove_cgroup(POOL_CGROUP);
}

static void test_release(void)
{
	struct nmi_source src = { .ctl_fd = -1 };
	struct kptr_nmi_release *skel;
	char zero_val[16] = {};
	__u64 cgid = 0;
	int key = 0;
	long nmis;

	skel = load_release(&src);
	if (!skel)
		goto out;
	cgid = make_cgroup(POOL_CGROUP);
	skel->bss->target_cgid = cgid;
	if (!ASSERT_NEQ(cgid, 0, "pool cgroup") ||
	    !ASSERT_OK(bpf_map_update_elem(bpf_map__fd(skel->maps.hmap), &key, zero_val, BPF_ANY),
		       "hash slot"))
		goto out;
	skel->bss->pool_on = true;
	nmis = run_nmis(&src, RUN_SECS);
	skel->bss->stop = true;
	printf("NMI source %s: NMIs injected %ld, NMI runs %ld (not in NMI %ld), ",
	       nmi_source_name(&src), nmis, skel->bss->nr_nmi_runs, skel->bss->nr_not_in_nmi);
	printf("released from array %ld, hash %ld, task storage %ld\n",
	       skel->bss->nr_release_array, skel->bss->nr_release_hash,
	       skel->bss->nr_release_tstore);
	ASSERT_EQ(skel->bss->nr_not_in_nmi, 0, "NMI program runs not in NMI");
	ASSERT_GE(skel->bss->nr_release_array, NMI_FLOOR, "releases from array");
	ASSERT_GT(skel->bss->nr_release_hash, 0, "releases from hash");
	ASSERT_GT(skel->bss->nr_release_tstore, 0, "releases from task storage");
out:
	nmi_source_cleanup(&src);
	kptr_nmi_release__destroy(skel);
	if (cgid)
		remove_cgroup(POOL_CGROUP);
}

static void test_last_ref_task(void)
{
	struct nmi_source src = { .ctl_fd = -1 };
	struct kptr_nmi_release *skel;
	int status;
	pid_t pid;

	skel = load_release(&src);
	if (!skel)
		goto out;
	pid = fork();
	if (pid == 0) {
		/* The child's syscall stashes a reference to itself */
		skel->bss->last_stash_tid = getpid();
		syscall(__NR_getppid);
		_exit(0);
	}
	if (!ASSERT_GT(pid, 0, "fork"))
		goto out;
	waitpid(pid, &status, 0);
	if (!ASSERT_NEQ(skel->bss->last_task_addr, 0, "child stashed"))
		goto out;
	/* The child is reaped: the map holds its last rcu_users reference */
	skel->bss->last_armed = true;
	nmis_until(&src, &skel->bss->last_task_released, &skel->bss->last_task_freed, 10);
	ASSERT_EQ(skel->bss->nr_not_in_nmi, 0, "NMI program runs not in NMI");
	ASSERT_EQ(skel->bss->last_task_released, 1, "last reference released in NMI");
	/* The deferred put reaches delayed_put_task_struct() after a GP */
	wait_flag(&skel->bss->last_task_freed, 10);
	ASSERT_EQ(skel->bss->last_task_freed, 1, "task freed");
out:
	nmi_source_cleanup(&src);
	kptr_nmi_release__destroy(skel);
}

static void test_last_ref_cgroup(void)
{
	struct nmi_source src = { .ctl_fd = -1 };
	struct kptr_nmi_release *skel;
	bool removed = false;
	__u64 cgid = 0;

	skel = load_release(&src);
	if (!skel)
		goto out;
	cgid = make_cgroup(LAST_CGROUP);
	skel->bss->last_cgid = cgid;
	if (!ASSERT_NEQ(cgid, 0, "make cgroup"))
		goto out;
	syscall(__NR_getppid); /* stashes the cgroup */
	if (!ASSERT_NEQ(skel->bss->last_cgrp_addr, 0, "cgroup stashed"))
		goto out;
	remove_cgroup(LAST_CGROUP);
	removed = true;
	/* Let the killed css switch its percpu_ref to atomic mode (an RCU
	 * grace period): from then on the map's reference is the last one.
	 */
	kern_sync_rcu();
	usleep(500000);
	kern_sync_rcu();
	skel->bss->last_armed = true;
	nmis_until(&src, &skel->bss->last_cgrp_released, &skel->bss->last_cgrp_freed, 10);
	ASSERT_EQ(skel->bss->nr_not_in_nmi, 0, "NMI program runs not in NMI");
	ASSERT_EQ(skel->bss->last_cgrp_released, 1, "last reference released in NMI");
	wait_flag(&skel->bss->last_cgrp_freed, 10);
	ASSERT_EQ(skel->bss->last_cgrp_freed, 1, "cgroup released (css_release)");
out:
	nmi_source_cleanup(&src);
	kptr_nmi_release__destroy(skel);
	if (cgid && !removed)
		remove_cgroup(LAST_CGROUP);
}

void serial_test_kptr_nmi(void)
{
	if (!ASSERT_OK(setup_cgroup_environment(), "setup_cgroup_environment"))
		return;
	if (test__start_subtest("drop"))
		test_drop();
	if (test__start_subtest("obj_new_fails"))
		test_obj_new_fails();
	if (test__start_subtest("release"))
		test_release();
	if (test__start_subtest("last_ref_task"))
		test_last_ref_task();
	if (test__start_subtest("last_ref_cgroup"))
		test_last_ref_cgroup();
	cleanup_cgroup_environment();
}
