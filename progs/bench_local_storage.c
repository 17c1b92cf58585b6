// SPDX-License-Identifier: GPL-2.0
/* Programs of the local storage benchmarks (bench/bench_local_storage.c).
 *
 * create: as selftests' local-storage-create: sk storage created in
 *   lsm.s/socket_post_create, task storage in tp_btf/sched_process_fork.
 * delete: task storage created at fork and deleted explicitly when the
 *   task exits, the pattern of sched_ext schedulers.
 * nmi-delete: task storage created and deleted in NMI.
 * Counters: kmalloc_nolock() calls of the bench's tasks, RCU Tasks Trace
 * callbacks queued (call_srcu() on rcu_tasks_trace_srcu_struct) and
 * selems of task_map freed, to tell how many wait in deferred lists.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

char _license[] SEC("license") = "GPL";

struct storage {
	__u8 data[64];
};

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct storage);
} sk_storage_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct storage);
} task_map SEC(".maps");

/* Untyped: resolved from kallsyms (global variables are not in BTF) */
extern const void rcu_tasks_trace_srcu_struct __ksym;

__u32 bench_pid;
long create_cnts;
long create_errs;
long delete_cnts;
long delete_errs;
long kmalloc_cnts;
long tt_callbacks;
long selems_freed;

static __always_inline bool is_bench_task(void)
{
	return (bpf_get_current_pid_tgid() >> 32) == bench_pid;
}

static __always_inline void count_create(void *stg)
{
	if (stg)
		__sync_fetch_and_add(&create_cnts, 1);
	else
		__sync_fetch_and_add(&create_errs, 1);
}

static __always_inline void count_delete(long err)
{
	if (err)
		__sync_fetch_and_add(&delete_errs, 1);
	else
		__sync_fetch_and_add(&delete_cnts, 1);
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(sched_process_fork, struct task_struct *parent, struct task_struct *child)
{
	if (parent->tgid != bench_pid)
		return 0;
	count_create(bpf_task_storage_get(&task_map, child, NULL,
					  BPF_LOCAL_STORAGE_GET_F_CREATE));
	return 0;
}

SEC("lsm.s/socket_post_create")
int BPF_PROG(socket_post_create, struct socket *sock, int family, int type,
	     int protocol, int kern)
{
	struct sock *sk = sock->sk;

	if (!is_bench_task() || !sk)
		return 0;
	count_create(bpf_sk_storage_get(&sk_storage_map, sk, NULL,
					BPF_LOCAL_STORAGE_GET_F_CREATE));
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(sched_process_exit, struct task_struct *task)
{
	if (task->tgid != bench_pid || task->pid == bench_pid)
		return 0;
	count_delete(bpf_task_storage_delete(&task_map, task));
	return 0;
}

SEC("tp_btf/nmi_handler")
int BPF_PROG(nmi_create_delete, void *handler, s64 delta_ns, int handled)
{
	struct task_struct *task = bpf_get_current_task_btf();

	count_create(bpf_task_storage_get(&task_map, task, NULL,
					  BPF_LOCAL_STORAGE_GET_F_CREATE));
	count_delete(bpf_task_storage_delete(&task_map, task));
	return 0;
}

SEC("fentry/_kmalloc_nolock_noprof")
int BPF_PROG(count_kmalloc)
{
	if (is_bench_task())
		__sync_fetch_and_add(&kmalloc_cnts, 1);
	return 0;
}

SEC("fentry/call_srcu")
int BPF_PROG(count_tt_callback, struct srcu_struct *ssp)
{
	if ((void *)ssp == &rcu_tasks_trace_srcu_struct)
		__sync_fetch_and_add(&tt_callbacks, 1);
	return 0;
}

/* Called for every selem right before it is freed, on every kernel */
SEC("fentry/bpf_obj_free_fields")
int BPF_PROG(count_selem_free, const struct btf_record *rec, void *obj)
{
	struct bpf_local_storage_data *sdata;

	sdata = obj - bpf_core_field_offset(struct bpf_local_storage_data, data);
	if ((void *)BPF_CORE_READ(sdata, smap) == (void *)&task_map)
		__sync_fetch_and_add(&selems_freed, 1);
	return 0;
}
