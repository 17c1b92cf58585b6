/* SPDX-License-Identifier: GPL-2.0 */
/* What the programs of the local storage delete, delete-cost, map-close
 * and backlog benchmarks share: the value type, one create + delete of
 * the current task's storage (a bpf_loop() step), and the count of the
 * selems of a map that are freed (count rounds only).
 */
#ifndef __BENCH_LOCAL_STORAGE_COMMON_BPF_H__
#define __BENCH_LOCAL_STORAGE_COMMON_BPF_H__

#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

#ifndef ENOMEM
#define ENOMEM 12
#endif

struct storage {
	__u8 data[64];
};

/* The counts of one bpf_loop(). Callers add ok and errs up without
 * branching on them: a branch would make the verifier track their exact
 * values through every iteration of the callback, and as they grow the
 * loop never converges ("The sequence of 8193 jumps is too complex").
 * last_err takes few values (0, -ENOMEM, a helper's error): a branch on
 * it is fine.
 */
struct ls_loop_ctx {
	long ok;
	long errs;
	int last_err;
};

/* Create, then delete, task storage of the current task in @map */
static __always_inline void ls_task_create_delete(void *map, struct ls_loop_ctx *c)
{
	struct task_struct *task = bpf_get_current_task_btf();
	long err;

	if (!bpf_task_storage_get(map, task, NULL, BPF_LOCAL_STORAGE_GET_F_CREATE)) {
		c->errs++;
		c->last_err = -ENOMEM;
		return;
	}
	err = bpf_task_storage_delete(map, task);
	if (err) {
		c->errs++;
		c->last_err = err;
	} else {
		c->ok++;
	}
}

/* For fentry/bpf_obj_free_fields, which runs right before a selem is
 * freed, on the base and the patched kernel alike
 * (bpf_selem_free_trace_rcu() there, the batch callback here), and for
 * other objects too: count the selems of @map, and keep the size of one.
 */
static __always_inline void ls_count_selem_free(void *obj, void *map, long *freed,
						long *elem_size)
{
	struct bpf_local_storage_data *sdata;
	struct bpf_local_storage_map *smap;

	sdata = obj - bpf_core_field_offset(struct bpf_local_storage_data, data);
	smap = BPF_CORE_READ(sdata, smap);
	if ((void *)smap != map)
		return;
	__sync_fetch_and_add(freed, 1);
	/* Through sdata again: clang would read smap->elem_size through map,
	 * which it knows is equal, and the verifier rejects arithmetic on a
	 * map pointer.
	 */
	if (!*elem_size)
		*elem_size = BPF_CORE_READ(sdata, smap, elem_size);
}

#endif /* __BENCH_LOCAL_STORAGE_COMMON_BPF_H__ */
