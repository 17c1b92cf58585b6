// SPDX-License-Identifier: GPL-2.0
/*
 * A scheduler that gives every task a task local storage in
 * ops.init_task() and deletes it explicitly in ops.exit_task(), the
 * pattern schedulers had to give up before local storage free was
 * deferred (sched-ext/scx#3776). ops.exit_task() runs with the task's
 * pi_lock and rq lock held (raw spinlocks), so nothing on the delete path
 * may take a sleeping lock or wait: CONFIG_PROVE_RAW_LOCK_NESTING reports
 * it if it does.
 *
 * The address of every storage value is recorded in "live", and
 * on_obj_free_fields() removes it when the kernel frees the value (every
 * free path of a selem calls bpf_obj_free_fields() on its value), so the
 * test can check that all of them are freed.
 */
#include <scx/common.bpf.h>

char _license[] SEC("license") = "GPL";

UEI_DEFINE(uei);

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, long);
} task_ctx SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1 << 17);
	__type(key, __u64);
	__type(value, __u8);
} live SEC(".maps");

long nr_init_task;
long nr_created;
long nr_create_failed;
long nr_untracked;
long nr_exit_task;
long nr_deleted;
long nr_delete_failed;
long nr_freed;

s32 BPF_STRUCT_OPS(storage_init_task, struct task_struct *p, struct scx_init_task_args *args)
{
	__u8 one = 1;
	__u64 key;
	long *val;

	__sync_fetch_and_add(&nr_init_task, 1);
	val = bpf_task_storage_get(&task_ctx, p, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!val) {
		__sync_fetch_and_add(&nr_create_failed, 1);
		return 0;
	}
	key = (__u64)val;
	if (bpf_map_update_elem(&live, &key, &one, BPF_NOEXIST))
		__sync_fetch_and_add(&nr_untracked, 1);
	__sync_fetch_and_add(&nr_created, 1);
	return 0;
}

void BPF_STRUCT_OPS(storage_exit_task, struct task_struct *p, struct scx_exit_task_args *args)
{
	__sync_fetch_and_add(&nr_exit_task, 1);
	if (bpf_task_storage_delete(&task_ctx, p))
		__sync_fetch_and_add(&nr_delete_failed, 1);
	else
		__sync_fetch_and_add(&nr_deleted, 1);
}

void BPF_STRUCT_OPS(storage_exit, struct scx_exit_info *ei)
{
	UEI_RECORD(uei, ei);
}

SEC("fentry/bpf_obj_free_fields")
int BPF_PROG(on_obj_free_fields, const struct btf_record *rec, void *obj)
{
	__u64 key = (__u64)obj;

	if (!bpf_map_delete_elem(&live, &key))
		__sync_fetch_and_add(&nr_freed, 1);
	return 0;
}

SEC(".struct_ops.link")
struct sched_ext_ops exit_task_storage_ops = {
	.init_task		= (void *)storage_init_task,
	.exit_task		= (void *)storage_exit_task,
	.exit			= (void *)storage_exit,
	.name			= "exit_task_storage",
};
