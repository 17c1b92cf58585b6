// SPDX-License-Identifier: GPL-2.0
/* The smallest use of bpf_kptr_xchg(), whose JITed code the suite compares
 * between base and patched kernels: the series must keep it a single
 * inlined atomic xchg.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char _license[] SEC("license") = "GPL";

struct val {
	struct task_struct __kptr *task;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, int);
	__type(value, struct val);
} slot SEC(".maps");

SEC("tp_btf/sys_enter")
int BPF_PROG(kptr_xchg_prog, struct pt_regs *regs, long id)
{
	struct task_struct *task;
	struct val *v;
	int zero = 0;

	v = bpf_map_lookup_elem(&slot, &zero);
	if (!v)
		return 0;
	task = bpf_kptr_xchg(&v->task, NULL);
	if (task)
		bpf_task_release(task);
	return 0;
}
