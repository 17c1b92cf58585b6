// SPDX-License-Identifier: GPL-2.0
/* Referenced task and cgroup kptrs destroyed in NMI (tp_btf/nmi_handler,
 * host-injected NMIs) while process context refills them on the other CPU.
 *
 * drop: bpf_obj_drop() of local objects holding a task and a cgroup kptr.
 *   Base 7.3: the verifier rejects the program ("bpf_obj_drop cannot be
 *   used in tracing programs on types with NMI unsafe fields"); the test
 *   asserts that message there. Series: loads, runs (a floor on NMI drops),
 *   no splat.
 * release: bpf_kptr_xchg() out of array, hash and task storage values and
 *   bpf_task_release()/bpf_cgroup_release() in NMI.
 * last_ref_task: a task exits while the only reference left is in a map
 *   value; the NMI program takes it out and releases it. The task's final
 *   put (delayed_put_task_struct()) must run.
 * last_ref_cgroup: the same for a removed cgroup (css_release() must run).
 *
 * Measured on base 7.3 (./vmtest.sh --kernel base -t kptr_nmi): drop is
 * rejected by the verifier as expected; release and last_ref_task run
 * without a report (put_task_struct_rcu_user() -> call_rcu() in NMI is
 * unsafe but lockdep does not see it); last_ref_cgroup makes lockdep report
 * "inconsistent {INITIAL USE} -> {IN-NMI} usage" on &pool->lock from
 * bpf_cgroup_release() -> css_release() -> queue_work_on() in NMI, which
 * fails the run. The mutant patches/mutants/dtor-direct-in-nmi (no
 * deferral) fails the same way. With the series: all four pass, no splat.
 */
#include <sys/stat.h>
#include "test_progs.h"
#include "vmtest_nmi.h"
#include "kptr_nmi.h"
#include "kptr_nmi_drop.skel.h"
#include "kptr_nmi_release.skel.h"

#define RUN_SECS 4
#define NMI_FLOOR 100
#define CGROUP_ROOT "/sys/fs/cgroup"

static bool series_has_nmi_safe_dtors(void)
{
	return libbpf_find_vmlinux_btf_id("bpf_kptr_dtor_nmi_safe", BPF_TRACE_FENTRY) > 0;
}

static __u64 make_cgroup(const char *name)
{
	char path[256];
	struct stat st;

	snprintf(path, sizeof(path), CGROUP_ROOT "/%s", name);
	if (mkdir(path, 0755) && errno != EEXIST)
		return 0;
	if (stat(path, &st))
		return 0;
	return st.st_ino; /* the cgroup id on cgroup2 */
}

static void remove_cgroup(const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), CGROUP_ROOT "/%s", name);
	rmdir(path);
}

/* Run NMIs for @secs with every CPU busy in syscalls of this process. */
static long run_nmis(int secs)
{
	long nmis;

	if (!ASSERT_OK(vmtest_nmi_start(0), "vmtest_nmi_start"))
		return -1;
	vmtest_busy_cpus_start(libbpf_num_possible_cpus());
	sleep(secs);
	vmtest_busy_cpus_stop();
	nmis = vmtest_nmi_stop();
	ASSERT_GT(nmis, 0, "NMIs injected");
	return nmis;
}

static void test_drop(void)
{
	struct kptr_nmi_drop *skel;
	char log[16384] = {};
	long nmis;
	int err;

	skel = kptr_nmi_drop__open();
	if (!ASSERT_OK_PTR(skel, "open"))
		return;
	bpf_program__set_log_buf(skel->progs.nmi_drop, log, sizeof(log));
	err = kptr_nmi_drop__load(skel);
	if (!series_has_nmi_safe_dtors()) {
		/* Base kernel: the verifier refuses the drop in NMI */
		ASSERT_ERR(err, "base kernel rejects bpf_obj_drop in NMI");
		ASSERT_OK_PTR(strstr(log, NMI_UNSAFE_DROP_MSG), "verifier message");
		printf("base kernel: verifier rejected nmi_drop: %s\n", NMI_UNSAFE_DROP_MSG);
		goto out;
	}
	if (!ASSERT_OK(err, "load")) {
		printf("%s\n", log);
		goto out;
	}
	skel->bss->target_tgid = getpid();
	skel->bss->target_cgid = make_cgroup("kptr_nmi_pool");
	if (!ASSERT_NEQ(skel->bss->target_cgid, 0, "pool cgroup") ||
	    !ASSERT_OK(kptr_nmi_drop__attach(skel), "attach"))
		goto out;

	nmis = run_nmis(RUN_SECS);
	skel->bss->stop = true;
	printf("NMIs %ld, NMI runs %ld, drops %ld (with task %ld, with cgroup %ld), alloc failed %ld, refills %ld\n",
	       nmis, skel->bss->nr_nmi_runs, skel->bss->nr_drops, skel->bss->nr_drops_task,
	       skel->bss->nr_drops_cgrp, skel->bss->nr_alloc_failed, skel->bss->nr_refilled);
	ASSERT_GE(skel->bss->nr_drops, NMI_FLOOR, "NMI drops");
	ASSERT_GT(skel->bss->nr_drops_task, 0, "drops holding a task");
	ASSERT_GT(skel->bss->nr_drops_cgrp, 0, "drops holding a cgroup");
out:
	kptr_nmi_drop__destroy(skel);
	remove_cgroup("kptr_nmi_pool");
}

static struct kptr_nmi_release *load_release(void)
{
	struct kptr_nmi_release *skel;

	skel = kptr_nmi_release__open_and_load();
	if (!ASSERT_OK_PTR(skel, "open_and_load"))
		return NULL;
	skel->bss->target_tgid = getpid();
	if (!ASSERT_OK(kptr_nmi_release__attach(skel), "attach")) {
		kptr_nmi_release__destroy(skel);
		return NULL;
	}
	return skel;
}

static void test_release(void)
{
	struct kptr_nmi_release *skel;
	char zero_val[16] = {};
	int key = 0;
	long nmis;

	skel = load_release();
	if (!skel)
		return;
	skel->bss->target_cgid = make_cgroup("kptr_nmi_pool");
	ASSERT_OK(bpf_map_update_elem(bpf_map__fd(skel->maps.hmap), &key, zero_val, BPF_ANY),
		  "hash slot");
	skel->bss->pool_on = true;
	nmis = run_nmis(RUN_SECS);
	skel->bss->stop = true;
	printf("NMIs %ld, NMI runs %ld, released from array %ld, hash %ld, task storage %ld\n",
	       nmis, skel->bss->nr_nmi_runs, skel->bss->nr_release_array,
	       skel->bss->nr_release_hash, skel->bss->nr_release_tstore);
	ASSERT_GE(skel->bss->nr_release_array, NMI_FLOOR, "releases from array");
	ASSERT_GT(skel->bss->nr_release_hash, 0, "releases from hash");
	ASSERT_GT(skel->bss->nr_release_tstore, 0, "releases from task storage");
	kptr_nmi_release__destroy(skel);
	remove_cgroup("kptr_nmi_pool");
}

/* Wait up to @secs for @flag, set by a program on a final free path that
 * runs after a grace period.
 */
static void wait_flag(int *flag, int secs)
{
	for (int i = 0; i < secs * 10 && !*(volatile int *)flag; i++)
		usleep(100000);
}

/* Inject NMIs until @released and @freed are set, or @secs pass. */
static void nmis_until(int *released, int *freed, int secs)
{
	int i;

	if (!ASSERT_OK(vmtest_nmi_start(0), "vmtest_nmi_start"))
		return;
	for (i = 0; i < secs * 10 && !(*released && *freed); i++)
		usleep(100000);
	vmtest_nmi_stop();
}

static void test_last_ref_task(void)
{
	struct kptr_nmi_release *skel;
	pid_t pid;
	int status;

	skel = load_release();
	if (!skel)
		return;
	pid = fork();
	if (pid == 0) {
		/* The child's syscall stashes a reference to itself */
		skel->bss->last_stash_tid = getpid();
		syscall(SYS_getppid);
		_exit(0);
	}
	if (!ASSERT_GT(pid, 0, "fork"))
		goto out;
	waitpid(pid, &status, 0);
	if (!ASSERT_NEQ(skel->bss->last_task_addr, 0, "child stashed"))
		goto out;
	/* The child is reaped: the map holds its last rcu_users reference */
	skel->bss->last_armed = true;
	nmis_until(&skel->bss->last_task_released, &skel->bss->last_task_freed, 10);
	ASSERT_EQ(skel->bss->last_task_released, 1, "last reference released in NMI");
	/* The deferred put reaches delayed_put_task_struct() after a GP */
	wait_flag(&skel->bss->last_task_freed, 10);
	ASSERT_EQ(skel->bss->last_task_freed, 1, "task freed");
out:
	kptr_nmi_release__destroy(skel);
}

static void test_last_ref_cgroup(void)
{
	struct kptr_nmi_release *skel;

	skel = load_release();
	if (!skel)
		return;
	skel->bss->last_cgid = make_cgroup("kptr_nmi_last");
	if (!ASSERT_NEQ(skel->bss->last_cgid, 0, "make cgroup"))
		goto out;
	syscall(SYS_getppid); /* stashes the cgroup */
	if (!ASSERT_NEQ(skel->bss->last_cgrp_addr, 0, "cgroup stashed"))
		goto out;
	remove_cgroup("kptr_nmi_last");
	/* Let the killed css switch its percpu_ref to atomic mode (an RCU
	 * grace period): from then on the map's reference is the last one.
	 */
	kern_sync_rcu();
	usleep(500000);
	kern_sync_rcu();
	skel->bss->last_armed = true;
	nmis_until(&skel->bss->last_cgrp_released, &skel->bss->last_cgrp_freed, 10);
	ASSERT_EQ(skel->bss->last_cgrp_released, 1, "last reference released in NMI");
	wait_flag(&skel->bss->last_cgrp_freed, 10);
	ASSERT_EQ(skel->bss->last_cgrp_freed, 1, "cgroup released (css_release)");
out:
	kptr_nmi_release__destroy(skel);
	remove_cgroup("kptr_nmi_last");
}

void test_kptr_nmi(void)
{
	if (test__start_subtest("drop"))
		test_drop();
	if (test__start_subtest("release"))
		test_release();
	if (test__start_subtest("last_ref_task"))
		test_last_ref_task();
	if (test__start_subtest("last_ref_cgroup"))
		test_last_ref_cgroup();
}
