// SPDX-License-Identifier: GPL-2.0
/* Programs of the local-storage-delete benchmark
 * (benchs/bench_local_storage_delete.c).
 *
 * Task storage is created when a thread of the benchmark is forked and
 * deleted explicitly when it exits, the pattern of sched_ext schedulers
 * (ops.init_task() / ops.exit_task()).
 *
 * The counting programs are loaded and attached only with --counters, in
 * rounds of their own: count_tt_callback runs on every call_srcu(), which
 * base kernels call once per delete and the deferred free once per batch,
 * so it would slow down the two kernels' deletes unequally.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "bench_local_storage_common.bpf.h"

char _license[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct storage);
} task_storage_map SEC(".maps");

__u32 bench_pid;
long create_cnts;
long create_errs;
long delete_cnts;
long delete_errs;

/* --counters only */
__u64 tt_srcu;		/* &rcu_tasks_trace_srcu_struct, from kallsyms */
long tt_callbacks;	/* call_rcu_tasks_trace() calls, by anyone */
long selems_freed;	/* selems of task_storage_map freed */
long elem_size;		/* bytes of one selem of task_storage_map */

SEC("tp_btf/sched_process_fork")
int BPF_PROG(sched_process_fork, struct task_struct *parent, struct task_struct *child)
{
	struct storage *stg;

	if (parent->tgid != bench_pid)
		return 0;

	stg = bpf_task_storage_get(&task_storage_map, child, NULL,
				   BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (stg)
		__sync_fetch_and_add(&create_cnts, 1);
	else
		__sync_fetch_and_add(&create_errs, 1);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(sched_process_exit, struct task_struct *task)
{
	if (task->tgid != bench_pid || task->pid == bench_pid)
		return 0;

	if (bpf_task_storage_delete(&task_storage_map, task))
		__sync_fetch_and_add(&delete_errs, 1);
	else
		__sync_fetch_and_add(&delete_cnts, 1);
	return 0;
}

/* RCU Tasks Trace is an SRCU domain: call_rcu_tasks_trace() is call_srcu()
 * on rcu_tasks_trace_srcu_struct.
 */
SEC("fentry/call_srcu")
int BPF_PROG(count_tt_callback, struct srcu_struct *ssp)
{
	if ((__u64)ssp == tt_srcu)
		__sync_fetch_and_add(&tt_callbacks, 1);
	return 0;
}

SEC("fentry/bpf_obj_free_fields")
int BPF_PROG(count_selem_free, const struct btf_record *rec, void *obj)
{
	ls_count_selem_free(obj, &task_storage_map, &selems_freed, &elem_size);
	return 0;
}
