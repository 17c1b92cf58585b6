// SPDX-License-Identifier: GPL-2.0
/* Programs of the local-storage-backlog benchmark
 * (benchs/bench_local_storage_backlog.c).
 *
 * create_delete runs through BPF_PROG_TEST_RUN and creates and deletes
 * task storage of the calling thread nr_loops times: deletes at full rate
 * without thread creation. count_selem_free counts the deleted selems as
 * they are freed, count_tt_callback the RCU Tasks Trace callbacks queued;
 * deleted minus freed is the backlog of objects waiting for their grace
 * period (and, with deferred frees, for their batch).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "bench_local_storage_common.bpf.h"

char _license[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct storage);
} task_storage_map SEC(".maps");

__u32 nr_loops = 64;
__u64 tt_srcu;		/* &rcu_tasks_trace_srcu_struct, from kallsyms */

long delete_cnts;
long errs;
long tt_callbacks;
long selems_freed;
long elem_size;		/* bytes of one selem of task_storage_map */
long storage_size;	/* bytes of the bpf_local_storage a delete empties */

static long create_delete_one(__u64 i, void *data)
{
	ls_task_create_delete(&task_storage_map, data);
	return 0;
}

SEC("raw_tp")
int create_delete(void *ctx)
{
	struct ls_loop_ctx c = {};

	bpf_loop(nr_loops, create_delete_one, &c, 0);
	__sync_fetch_and_add(&delete_cnts, c.ok);
	__sync_fetch_and_add(&errs, c.errs);
	if (!storage_size)
		storage_size = bpf_core_type_size(struct bpf_local_storage);
	return 0;
}

/* call_rcu_tasks_trace() is call_srcu() on rcu_tasks_trace_srcu_struct */
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
