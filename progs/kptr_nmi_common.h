/* SPDX-License-Identifier: GPL-2.0 */
/* Maps and helpers shared by kptr_nmi_drop.c and kptr_nmi_release.c: a pool
 * of map values holding task and cgroup kptrs, refilled from process
 * context and emptied by NMI programs.
 */
#ifndef __KPTR_NMI_COMMON_H
#define __KPTR_NMI_COMMON_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "kptr_nmi.h"

struct kptr_slot {
	struct task_struct __kptr *task;
	struct cgroup __kptr *cgrp;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, KPTR_POOL_SIZE);
	__type(key, int);
	__type(value, struct kptr_slot);
} pool SEC(".maps");

int target_tgid;
__u64 target_cgid;
bool stop;
long nr_refilled;
long nr_nmi_runs;
__u32 refill_next;
__u32 nmi_next;

/* Put the current task and the target cgroup into every empty slot of
 * @slot. Process context only: bpf_cgroup_from_id() takes locks.
 */
static __always_inline void refill_slot(struct kptr_slot *slot)
{
	struct task_struct *task;
	struct cgroup *cgrp;

	if (!slot->task) {
		task = bpf_task_acquire(bpf_get_current_task_btf());
		if (task) {
			task = bpf_kptr_xchg(&slot->task, task);
			if (task)
				bpf_task_release(task);
		}
	}
	if (!slot->cgrp && target_cgid) {
		cgrp = bpf_cgroup_from_id(target_cgid);
		if (cgrp) {
			cgrp = bpf_kptr_xchg(&slot->cgrp, cgrp);
			if (cgrp)
				bpf_cgroup_release(cgrp);
		}
	}
	__sync_fetch_and_add(&nr_refilled, 1);
}

static __always_inline bool is_target(void)
{
	return !stop && (bpf_get_current_pid_tgid() >> 32) == target_tgid;
}

/* Refill one pool slot per syscall of the test's tasks */
SEC("tp_btf/sys_enter")
int BPF_PROG(refill_pool, struct pt_regs *regs, long id)
{
	struct kptr_slot *slot;
	int idx;

	if (!is_target())
		return 0;
	idx = __sync_fetch_and_add(&refill_next, 1) % KPTR_POOL_SIZE;
	slot = bpf_map_lookup_elem(&pool, &idx);
	if (slot)
		refill_slot(slot);
	return 0;
}

static __always_inline struct kptr_slot *nmi_pick_slot(void)
{
	int idx = __sync_fetch_and_add(&nmi_next, 1) % KPTR_POOL_SIZE;

	return bpf_map_lookup_elem(&pool, &idx);
}

#endif
