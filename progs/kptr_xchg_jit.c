// SPDX-License-Identifier: GPL-2.0
/* bpf_kptr_xchg() of a task kptr out of a map value, in a tracing program:
 * a referenced kernel kptr whose destructor the series made NMI-safe. The
 * series must keep the xchg inlined by the verifier (kptr_xchg_inline
 * checks that for a kptr to a program-allocated object in a tc program)
 * and JITed to a single atomic xchg, with no helper call added.
 */
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "bpf_misc.h"

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
__success
__arch_x86_64
__xlated("r0 = atomic64_xchg((u64 *)(r1 +0), r0)")
__jited("	xchgq	%rax, {{.*}}(%rdi)")
__arch_arm64
__arch_riscv64
int BPF_PROG(task_kptr_xchg, struct pt_regs *regs, long id)
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
