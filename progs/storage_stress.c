// SPDX-License-Identifier: GPL-2.0
/* Create and delete task local storage of the same tasks from every context
 * a BPF program runs in: process context (syscall entry), hardirq (a
 * perf_event program on a software cpu-clock event, run from the hrtimer
 * interrupt), NMI (a perf_event program on a hardware cycles event, or
 * tp_btf/nmi_handler on NMIs a test harness injects when there is no PMU;
 * see prog_tests/nmi_source.h) and kprobes inside the delete and free
 * paths themselves, which re-enter them on the same CPU.
 *
 * Every created value is recorded in the "live" map of
 * storage_free_tracker.c, which forgets it when the kernel frees it.
 */
#include <vmlinux.h>
#include <errno.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "bpf_experimental.h"
#include "storage_free_tracker.h"
#include "storage_stress.h"

char _license[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, long);
} task_map SEC(".maps");

int target_tgid;
bool stop;
/* Nothing creates in NMI (storage_stress/memcg_limit): neither the NMI
 * programs nor the kprobes in the delete path that their deletes trigger.
 */
bool nmi_no_create;
struct ctx_stats stats[NR_STRESS_CTX];
long nr_swept;
/* storage_stress/memcg_limit: creates of task_map whose element was
 * allocated but not the owner's storage (or that could not publish it).
 * The update path frees such an element with kfree_nolock(), which neither
 * kmemleak nor "live" sees: the element stays in "unpublished" until then.
 */
long nr_storage_alloc_failed;
long nr_unpublished_untracked;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, __u8);
} unpublished SEC(".maps");

/* @any_task: act on whatever task is current, not only the test's: kprobes
 * in the free path also run in kworkers and irq_work, and NMIs land on
 * whatever runs. Idle tasks are left alone: nothing but map_free() would
 * ever delete their storage, and the test wants every value deleted while
 * the map is still alive.
 */
static __always_inline void create_delete(enum stress_ctx ctx, bool any_task)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct ctx_stats *st = &stats[ctx];
	__u8 one = 1;
	__u64 key;
	long *val;
	long err;

	if (stop || !task->pid || (!any_task && task->tgid != target_tgid))
		return;
	__sync_fetch_and_add(&st->runs, 1);
	if ((ctx == CTX_NMI && !bpf_in_nmi()) || (ctx == CTX_HARDIRQ && !bpf_in_hardirq()))
		__sync_fetch_and_add(&st->wrong_ctx, 1);

	val = bpf_task_storage_get(&task_map, task, 0, 0);
	if (!val) {
		if (nmi_no_create && bpf_in_nmi())
			return;
		val = bpf_task_storage_get(&task_map, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
		if (!val) {
			__sync_fetch_and_add(&st->create_failed, 1);
			return;
		}
		/* Another context may have created it in between: only a new
		 * address is a new value.
		 */
		key = (__u64)val;
		err = bpf_map_update_elem(&live, &key, &one, BPF_NOEXIST);
		if (!err)
			__sync_fetch_and_add(&st->created, 1);
		else if (err == -EDEADLK || err == -ETIMEDOUT)
			/* "live"'s bucket lock held by the context this one
			 * interrupted: nothing wrong with the value
			 */
			__sync_fetch_and_add(&st->untracked_busy, 1);
		else if (err != -EEXIST)
			__sync_fetch_and_add(&st->untracked, 1);
	}
	*val = ctx;

	err = bpf_task_storage_delete(&task_map, task);
	if (!err)
		__sync_fetch_and_add(&st->deleted, 1);
	else if (err == -EOPNOTSUPP)
		__sync_fetch_and_add(&st->delete_eopnotsupp, 1);
	else if (err != -ENOENT)
		__sync_fetch_and_add(&st->delete_failed, 1);
}

SEC("tp_btf/sys_enter")
int BPF_PROG(task_ctx, struct pt_regs *regs, long id)
{
	create_delete(CTX_TASK, false);
	return 0;
}

/* NMI: the hardware cycles event of nmi_source.h ... */
SEC("perf_event")
int nmi_perf(void *ctx)
{
	create_delete(CTX_NMI, true);
	return 0;
}

/* ... or, without a PMU, NMIs injected by the test harness */
SEC("tp_btf/nmi_handler")
int BPF_PROG(nmi_tp, void *handler, s64 delta_ns, int handled)
{
	create_delete(CTX_NMI, true);
	return 0;
}

SEC("perf_event")
int hardirq_ctx(void *ctx)
{
	create_delete(CTX_HARDIRQ, false);
	return 0;
}

/* kprobes inside the delete and free paths that delete storage
 * themselves: same-CPU re-entry in the middle of a delete or of a drain.
 * bpf_local_storage_free_batch() is the RCU callback that frees one
 * deferred batch; call_srcu() is where a batch waits for RCU Tasks Trace.
 * Each must attach: a missing one fails the test instead of quietly
 * testing less.
 */
SEC("kprobe/bpf_selem_free")
int BPF_KPROBE(kprobe_selem_free)
{
	create_delete(CTX_KPROBE, true);
	return 0;
}

SEC("kprobe/call_srcu")
int BPF_KPROBE(kprobe_call_srcu)
{
	create_delete(CTX_KPROBE, true);
	return 0;
}

SEC("kprobe/bpf_local_storage_free_batch")
int BPF_KPROBE(kprobe_free_batch)
{
	create_delete(CTX_KPROBE, true);
	return 0;
}

/* The CPU going down, in its stopper thread with IRQs off, before
 * __cpu_disable(): what it queues raises its irq_work, which runs once
 * more after the CPU left the online mask and must then leave the batch
 * to the dead CPU's hotplug callback (storage_stress/cpu_down_queued).
 */
SEC("kprobe/take_cpu_down")
int BPF_KPROBE(kprobe_take_cpu_down)
{
	create_delete(CTX_KPROBE, true);
	return 0;
}

SEC("fexit/bpf_local_storage_alloc")
int BPF_PROG(storage_alloc_exit, void *owner, struct bpf_local_storage_map *smap,
	     struct bpf_local_storage_elem *first_selem, int ret)
{
	__u64 key = (__u64)first_selem;
	__u8 one = 1;

	if (!ret || (unsigned long)smap != (unsigned long)&task_map)
		return 0;
	__sync_fetch_and_add(&nr_storage_alloc_failed, 1);
	/* BPF_ANY: an address already recorded was freed (it is allocated
	 * again) while unpublished_freed missed it (it does not nest)
	 */
	if (bpf_map_update_elem(&unpublished, &key, &one, BPF_ANY))
		__sync_fetch_and_add(&nr_unpublished_untracked, 1);
	return 0;
}

/* Attached by memcg_limit only: every kfree_nolock() of the system. A call
 * that interrupts another one running this program on the same CPU is
 * missed (counted in the program's recursion_misses).
 */
SEC("fentry/kfree_nolock")
int BPF_PROG(unpublished_freed, const void *obj)
{
	__u64 key = (__u64)obj;

	bpf_map_delete_elem(&unpublished, &key);
	return 0;
}

/* After the stress: delete the storage of every task that still has some
 * (a delete that failed, e.g. on re-entry, leaves it linked), so that
 * every value created must be freed while the map is alive.
 */
SEC("iter/task")
int sweep(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task;

	if (!task)
		return 0;
	if (bpf_task_storage_get(&task_map, task, 0, 0) &&
	    !bpf_task_storage_delete(&task_map, task))
		__sync_fetch_and_add(&nr_swept, 1);
	return 0;
}
