// SPDX-License-Identifier: GPL-2.0
/* bpf_obj_drop() in tracing programs (which may run in NMI) is accepted for
 * objects whose fields can all be released from NMI: task, cgroup and
 * bpf_cpumask kptrs (see task_kfunc_failure.c). Every other kind of field
 * that needs its destructor or more than an llist_add() to go away must
 * still be rejected, as it is without the series; each program here holds
 * one of them: a kptr to a program-allocated object, kernel kptrs whose
 * destructors are not registered as NMI-safe (prog_test_ref_kfunc,
 * bpf_crypto_ctx), a percpu kptr, bpf_list_head and bpf_rb_root, or a list
 * or rbtree node. (__uptr fields exist only in task storage map values:
 * in a program-allocated object the verifier does not parse them, so there
 * is nothing to reject.)
 *
 * The verifier looks the fields up in the struct_meta record of the
 * object's type. btf_parse_struct_metas() skips a __kptr member whose
 * pointee is only a forward declaration in the program's BTF, and that is
 * what clang emits for a struct used nowhere but behind a pointer member:
 * the kernel then sees no kptr, the object has no special field and
 * dropping it loads, with or without the series (obj_drop_fwd_kptr). The
 * globals below keep struct plain and prog_test_ref_kfunc complete in BTF,
 * as local_kptr_stash.c does for its node types.
 */
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "bpf_misc.h"
#include "bpf_experimental.h"

char _license[] SEC("license") = "GPL";

#define NMI_UNSAFE_MSG "bpf_obj_drop cannot be used in tracing programs on types with NMI unsafe fields"

/* bpf_obj_new() an object of struct TYPE and bpf_obj_drop() it. */
#define NEW_AND_DROP(type)						\
	do {								\
		struct type *obj = bpf_obj_new(typeof(*obj));		\
									\
		if (obj)						\
			bpf_obj_drop(obj);				\
	} while (0)

struct plain {
	long v;
};

/* Only here to emit these types in full in BTF, see above */
struct plain *plain_in_btf;
struct prog_test_ref_kfunc *ref_kfunc_in_btf;
struct bpf_crypto_ctx *crypto_ctx_in_btf;

/* A kptr to a program-allocated object: dropping it drops that object. */
struct with_local_kptr {
	struct plain __kptr *obj;
};

/* A kernel kptr whose destructor is not registered as NMI-safe. */
struct with_testmod_kptr {
	struct prog_test_ref_kfunc __kptr *ref;
};

/* Its destructor, bpf_crypto_ctx_release(), frees with call_rcu(). */
struct with_crypto_kptr {
	struct bpf_crypto_ctx __kptr *ctx;
};

struct with_percpu_kptr {
	struct plain __percpu_kptr *pcpu;
};

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

/* Never defined: BTF has it as a forward declaration only. */
struct fwd_only;

struct with_fwd_kptr {
	struct fwd_only __kptr *fwd;
};

SEC("tp_btf/task_newtask")
__failure __msg(NMI_UNSAFE_MSG)
int BPF_PROG(obj_drop_local_kptr, struct task_struct *task, u64 clone_flags)
{
	NEW_AND_DROP(with_local_kptr);
	return 0;
}

SEC("tp_btf/task_newtask")
__failure __msg(NMI_UNSAFE_MSG)
int BPF_PROG(obj_drop_testmod_kptr, struct task_struct *task, u64 clone_flags)
{
	NEW_AND_DROP(with_testmod_kptr);
	return 0;
}

SEC("tp_btf/task_newtask")
__failure __msg(NMI_UNSAFE_MSG)
int BPF_PROG(obj_drop_crypto_kptr, struct task_struct *task, u64 clone_flags)
{
	NEW_AND_DROP(with_crypto_kptr);
	return 0;
}

SEC("tp_btf/task_newtask")
__failure __msg(NMI_UNSAFE_MSG)
int BPF_PROG(obj_drop_percpu_kptr, struct task_struct *task, u64 clone_flags)
{
	NEW_AND_DROP(with_percpu_kptr);
	return 0;
}

SEC("tp_btf/task_newtask")
__failure __msg(NMI_UNSAFE_MSG)
int BPF_PROG(obj_drop_list_head, struct task_struct *task, u64 clone_flags)
{
	NEW_AND_DROP(with_list_head);
	return 0;
}

SEC("tp_btf/task_newtask")
__failure __msg(NMI_UNSAFE_MSG)
int BPF_PROG(obj_drop_rb_root, struct task_struct *task, u64 clone_flags)
{
	NEW_AND_DROP(with_rb_root);
	return 0;
}

/* Objects that can themselves sit in a list or a tree. */
SEC("tp_btf/task_newtask")
__failure __msg(NMI_UNSAFE_MSG)
int BPF_PROG(obj_drop_list_node, struct task_struct *task, u64 clone_flags)
{
	NEW_AND_DROP(list_elem);
	return 0;
}

SEC("tp_btf/task_newtask")
__failure __msg(NMI_UNSAFE_MSG)
int BPF_PROG(obj_drop_rb_node, struct task_struct *task, u64 clone_flags)
{
	NEW_AND_DROP(rb_elem);
	return 0;
}

/* No kptr for the kernel, so no field to release: loads, with or without
 * the series.
 */
SEC("tp_btf/task_newtask")
__success
int BPF_PROG(obj_drop_fwd_kptr, struct task_struct *task, u64 clone_flags)
{
	NEW_AND_DROP(with_fwd_kptr);
	return 0;
}
