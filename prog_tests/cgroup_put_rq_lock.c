// SPDX-License-Identifier: GPL-2.0
/* The last reference of a removed cgroup put by a program that runs with
 * the rq lock held (tp_btf/sched_switch, IRQs disabled): css_release() must
 * not run there, since it queues work, which takes the workqueue pool lock
 * and may wake a kworker on this CPU, i.e. take this rq lock again.
 *
 * release: the program takes the cgroup kptr out of a map with
 *   bpf_kptr_xchg() and puts it with bpf_cgroup_release().
 * drop: the program moves it into a bpf_obj_new() object and drops that
 *   object: bpf_obj_drop() runs the cgroup kptr destructor.
 *
 * Why the program's put is the last one. The cgroup is created under the
 * test's cgroup work dir and never holds a task (no css_set link, which
 * would hold a reference); its directory fd is closed at once (an open
 * directory pins the kernfs node, not the cgroup). The map holds the
 * reference bpf_cgroup_from_id() took. rmdir (cgroup_destroy_locked())
 * kills the self css: percpu_ref_kill() drops the base reference and
 * switches the percpu_ref to atomic mode after an RCU grace period. The
 * other holders go away asynchronously: each controller css (all of them
 * are enabled in the work dir) holds a reference on the cgroup until
 * css_free_rwork_fn() puts it, after the css went offline and was released,
 * and cgroup_bpf_offline() holds one until cgroup_bpf_release(). The test
 * reads the percpu_ref (through the sys_enter program) and arms the
 * sched_switch program only once it is killed, in atomic mode and at 1: the
 * program's put is then the last one and calls css_release().
 *
 * Expected:
 * - base (7.3): release: cgroup_put() -> css_release() -> queue_work()
 *   under the rq lock: lockdep "possible circular locking dependency
 *   detected" (rq->__lock -> &pool->lock, against pool->lock -> &p->pi_lock
 *   -> rq->__lock), then most likely a deadlock: cgroup_release_wq is per
 *   CPU, kick_pool() wakes a kworker of this CPU and try_to_wake_up() takes
 *   the rq lock this CPU holds ("BUG: spinlock recursion" with
 *   DEBUG_SPINLOCK); the harness stops the wedged guest. Should the CPU
 *   survive, "css_release() inside the program's put" fails.
 *   drop: the program does not load ("bpf_obj_drop cannot be used in
 *   tracing programs on types with NMI unsafe fields").
 *   seen (2026-12-05, TCG): release hangs the guest as soon as it arms the
 *   program: no output, the harness stopped the guest as wedged (lockdep
 *   had been turned off by an earlier test's report in that boot).
 * - v1 (deferred only in NMI) and patches/mutants/cgroup-put-direct-irqsoff
 *   (a dying css put directly with IRQs disabled): both subtests as release
 *   on base (drop loads there).
 *   seen (2026-12-05, the mutant, lockdep on): release: lockdep "possible
 *   circular locking dependency detected" (&pool->lock taken under
 *   rq->__lock by queue_work_on() in the program's bpf_cgroup_put(),
 *   against &pool->lock -> &p->pi_lock -> rq->__lock), then the guest
 *   hangs and is stopped as wedged.
 * - v2: pass. With IRQs disabled the put of a dying css is counted in
 *   css->deferred_puts and done by bpf_defer_call() from an irq_work: the
 *   program's put returns, css_release() runs afterwards, outside it.
 *   seen (2026-12-05): pass (both subtests), twice.
 *
 * Serial: the sched_switch program runs on every CPU, and base deadlocks.
 */
#include <test_progs.h>
#include "cgroup_helpers.h"
#include "cgroup_put_rq_lock.skel.h"

#define WAIT_SECS 10
#define PERCPU_REF_ATOMIC_DEAD 3	/* __PERCPU_REF_ATOMIC | __PERCPU_REF_DEAD */

enum put_kind { PUT_RELEASE, PUT_DROP };

static void wait_flag(int *flag, int secs)
{
	for (int i = 0; i < secs * 10 && !READ_ONCE(*flag); i++)
		usleep(100000);
}

/* Wait until the map's reference is the cgroup's only one: the percpu_ref
 * killed, switched to atomic mode (bias gone) and at 1.
 */
static bool wait_last_ref(struct cgroup_put_rq_lock *skel)
{
	int i;

	skel->bss->probe_tid = sys_gettid();
	for (i = 0; i < WAIT_SECS * 10; i++) {
		syscall(__NR_getppid);	/* the probe reads the refcount */
		if (skel->bss->ref_mode == PERCPU_REF_ATOMIC_DEAD && skel->bss->ref_count == 1)
			break;
		usleep(100000);
	}
	skel->bss->probe_tid = 0;
	printf("after %d ms: percpu_ref mode %llu (3: atomic, dead), count %ld\n",
	       i * 100, skel->bss->ref_mode, skel->bss->ref_count);
	if (!ASSERT_EQ(skel->bss->ref_mode, PERCPU_REF_ATOMIC_DEAD, "cgroup killed, atomic mode"))
		return false;
	return ASSERT_EQ(skel->bss->ref_count, 1, "the map holds the last reference");
}

static void run_put(enum put_kind kind, const char *path)
{
	struct cgroup_put_rq_lock *skel;
	bool created = false, removed = false;
	__u64 cgid;
	int fd;

	skel = cgroup_put_rq_lock__open();
	if (!ASSERT_OK_PTR(skel, "open"))
		return;
	/* Base rejects switch_drop: only the subtest that needs it loads it */
	bpf_program__set_autoload(kind == PUT_RELEASE ? skel->progs.switch_drop :
				  skel->progs.switch_release, false);
	if (!ASSERT_OK(cgroup_put_rq_lock__load(skel), "load") ||
	    !ASSERT_OK(cgroup_put_rq_lock__attach(skel), "attach"))
		goto out;

	fd = create_and_get_cgroup(path);
	if (!ASSERT_OK_FD(fd, "create cgroup"))
		goto out;
	close(fd);
	created = true;
	cgid = get_cgroup_id(path);
	if (!ASSERT_NEQ(cgid, 0, "cgroup id"))
		goto out;

	skel->bss->stash_cgid = cgid;
	skel->bss->stash_tid = sys_gettid();
	syscall(__NR_getppid);	/* stashes the cgroup */
	if (!ASSERT_NEQ(skel->bss->cgrp_addr, 0, "cgroup stashed"))
		goto out;
	remove_cgroup(path);
	removed = true;
	if (!wait_last_ref(skel))
		goto out;

	skel->bss->armed = true;
	wait_flag(&skel->bss->released, WAIT_SECS);
	/* v2: css_release() runs from an irq_work after the put */
	wait_flag(&skel->bss->css_released, WAIT_SECS);
	printf("put in sched_switch on CPU %d: %d, css_release(): %d (inside the put: %d), ",
	       skel->data->release_cpu, skel->bss->released, skel->bss->css_released,
	       skel->bss->css_released_in_prog);
	printf("bpf_obj_new() failures %ld\n", skel->bss->nr_alloc_failed);
	ASSERT_EQ(skel->bss->released, 1, "reference put in sched_switch");
	/* Nobody took a reference meanwhile: the program's put is the last */
	ASSERT_EQ(skel->data->ref_at_put, 1, "count right before the program's put");
	ASSERT_EQ(skel->bss->css_released, 1, "css_release() ran");
	ASSERT_EQ(skel->bss->css_released_in_prog, 0, "css_release() inside the program's put");
out:
	cgroup_put_rq_lock__destroy(skel);
	if (created && !removed)
		remove_cgroup(path);
}

void serial_test_cgroup_put_rq_lock(void)
{
	if (!ASSERT_OK(setup_cgroup_environment(), "setup_cgroup_environment"))
		return;
	if (test__start_subtest("release"))
		run_put(PUT_RELEASE, "/cgroup_put_rq_lock_release");
	if (test__start_subtest("drop"))
		run_put(PUT_DROP, "/cgroup_put_rq_lock_drop");
	cleanup_cgroup_environment();
}
