// SPDX-License-Identifier: GPL-2.0
/* bpf_obj_drop() in tracing programs (which may run in NMI) is accepted for
 * objects whose fields can all be released from NMI: task, cgroup and
 * bpf_cpumask kptrs (see task_kfunc_failure.c). Every other kind of field
 * that needs its destructor or more than an llist_add() to go away must
 * still be rejected; each program here holds one of them.
 *
 * Objects holding a kptr to a program-allocated object, a bpf_testmod
 * kptr (prog_test_ref_kfunc) or a percpu kptr load on the series (seen on
 * the patched kernel in QEMU); whether the base kernel rejects them is not
 * checked yet, so they are not asserted here.
 */
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "bpf_misc.h"
#include "bpf_experimental.h"

char _license[] SEC("license") = "GPL";

#define NMI_UNSAFE_MSG "bpf_obj_drop cannot be used in tracing programs on types with NMI unsafe fields"

struct list_elem {
	long key;
	struct bpf_list_node node;
};

struct rb_elem {
	long key;
	struct bpf_rb_node node;
};

struct with_list_head {
	struct bpf_spin_lock lock;
	struct bpf_list_head head __contains(list_elem, node);
};

struct with_rb_root {
	struct bpf_spin_lock lock;
	struct bpf_rb_root root __contains(rb_elem, node);
};

#define DROP_PROG(name, type)						\
SEC("tp_btf/task_newtask")						\
__failure __msg(NMI_UNSAFE_MSG)						\
int BPF_PROG(name, struct task_struct *task, u64 clone_flags)		\
{									\
	struct type *obj = bpf_obj_new(typeof(*obj));			\
									\
	if (obj)							\
		bpf_obj_drop(obj);					\
	return 0;							\
}

DROP_PROG(obj_drop_list_head, with_list_head)
DROP_PROG(obj_drop_rb_root, with_rb_root)
/* Objects that can themselves sit in a list or a tree. */
DROP_PROG(obj_drop_list_node, list_elem)
DROP_PROG(obj_drop_rb_node, rb_elem)
