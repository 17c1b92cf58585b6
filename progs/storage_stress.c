// SPDX-License-Identifier: GPL-2.0
/* Create and delete task local storage of the same tasks from every context
 * a BPF program runs in: process context (syscall entry), hardirq (a
 * perf_event program on a software cpu-clock event, run from the hrtimer
 * interrupt), NMI (tp_btf/nmi_handler, driven by NMIs the vmtest host
 * injects) and kprobes inside the delete/deferral path itself, which
 * re-enter it on the same CPU in the middle of a delete.
 *
 * Every created value is recorded in the "live" map of
 * storage_free_tracker.c, which forgets it when the kernel frees it.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
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
struct ctx_stats stats[NR_STRESS_CTX];

/* @any_task: act on whatever task is current, not only the test's: kprobes
 * in the free path also run in kworkers and irq_work, and an injected NMI
 * lands on CPU 0 whatever runs there.
 */
static __always_inline void create_delete(enum stress_ctx ctx, bool any_task)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct ctx_stats *st = &stats[ctx];
	__u8 one = 1;
	__u64 key;
	long *val;
	long err;

	if (stop || (!any_task && task->tgid != target_tgid))
		return;
	__sync_fetch_and_add(&st->runs, 1);

	val = bpf_task_storage_get(&task_map, task, 0, 0);
	if (!val) {
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

SEC("tp_btf/nmi_handler")
int BPF_PROG(nmi_ctx, void *handler, s64 delta_ns, int handled)
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
 * bpf_selem_free() and call_srcu() exist on base and patched kernels (the
 * series reaches call_srcu() from the batch start);
 * bpf_local_storage_free_batch() only with the series, so the test
 * attaches it when it exists.
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

SEC("?kprobe/bpf_local_storage_free_batch")
int BPF_KPROBE(kprobe_free_batch)
{
	create_delete(CTX_KPROBE, true);
	return 0;
}
