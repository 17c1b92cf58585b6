// SPDX-License-Identifier: GPL-2.0
/* Create task local storage on every syscall entry of one thread and delete
 * it on the matching exit: the smallest end-to-end use of the storage
 * create/delete paths the series changes.
 */
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char _license[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, long);
} task_map SEC(".maps");

int target_tid;
long nr_created;
long nr_create_failed;
long nr_deleted;
long nr_delete_failed;

SEC("tp_btf/sys_enter")
int BPF_PROG(on_sys_enter, struct pt_regs *regs, long id)
{
	struct task_struct *task = bpf_get_current_task_btf();
	long *val;

	if (task->pid != target_tid)
		return 0;
	val = bpf_task_storage_get(&task_map, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!val) {
		__sync_fetch_and_add(&nr_create_failed, 1);
		return 0;
	}
	*val = id;
	__sync_fetch_and_add(&nr_created, 1);
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(on_sys_exit, struct pt_regs *regs, long ret)
{
	struct task_struct *task = bpf_get_current_task_btf();

	if (task->pid != target_tid)
		return 0;
	if (bpf_task_storage_delete(&task_map, task))
		__sync_fetch_and_add(&nr_delete_failed, 1);
	else
		__sync_fetch_and_add(&nr_deleted, 1);
	return 0;
}
