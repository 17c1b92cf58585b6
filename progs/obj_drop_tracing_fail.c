// SPDX-License-Identifier: GPL-2.0
/* bpf_obj_drop() in tracing programs (which may run in NMI) is accepted for
 * objects whose fields can all be released from NMI: task, cgroup and
 * bpf_cpumask kptrs (see task_kfunc_failure.c). Every other kind of field
 * that needs its destructor or more than an llist_add() to go away must
 * still be rejected; each program here holds one of them.
 */
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "bpf_misc.h"
#include "bpf_experimental.h"
#include "../test_kmods/bpf_testmod_kfunc.h"

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

struct plain {
	long v;
};

/* A kptr to a program-allocated object: dropping it drops that object. */
struct with_local_kptr {
	struct plain __kptr *obj;
};

/* A kernel kptr whose destructor is not registered as NMI-safe. */
struct with_testmod_kptr {
	struct prog_test_ref_kfunc __kptr *ref;
};

struct with_percpu_kptr {
	struct plain __percpu_kptr *pcpu;
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

DROP_PROG(obj_drop_local_kptr, with_local_kptr)
DROP_PROG(obj_drop_testmod_kptr, with_testmod_kptr)
DROP_PROG(obj_drop_percpu_kptr, with_percpu_kptr)
DROP_PROG(obj_drop_list_head, with_list_head)
DROP_PROG(obj_drop_rb_root, with_rb_root)
/* Objects that can themselves sit in a list or a tree. */
DROP_PROG(obj_drop_list_node, list_elem)
DROP_PROG(obj_drop_rb_node, rb_elem)
