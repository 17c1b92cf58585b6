/* SPDX-License-Identifier: GPL-2.0 */
/* Maps and helpers shared by kptr_nmi_drop.c and kptr_nmi_release.c: a pool
 * of map values holding task and cgroup kptrs, refilled from process
 * context and emptied by NMI programs. Each NMI program comes twice: as a
 * perf_event program for the hardware cycles event of
 * prog_tests/nmi_source.h, and as tp_btf/nmi_handler for NMIs a test
 * harness injects where there is no PMU.
 */
#ifndef __KPTR_NMI_COMMON_H
#define __KPTR_NMI_COMMON_H

#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "bpf_experimental.h"

#define KPTR_POOL_SIZE 64

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
long nr_not_in_nmi;

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

/* Refill a random pool slot on each syscall of the test's tasks */
SEC("tp_btf/sys_enter")
int BPF_PROG(refill_pool, struct pt_regs *regs, long id)
{
	struct kptr_slot *slot;
	int idx;

	if (!is_target())
		return 0;
	idx = bpf_get_prandom_u32() % KPTR_POOL_SIZE;
	slot = bpf_map_lookup_elem(&pool, &idx);
	if (slot)
		refill_slot(slot);
	return 0;
}

static __always_inline struct kptr_slot *nmi_pick_slot(void)
{
	int idx = bpf_get_prandom_u32() % KPTR_POOL_SIZE;

	return bpf_map_lookup_elem(&pool, &idx);
}

/* Count a run of an NMI program; false once the test stopped. */
static __always_inline bool nmi_enter(void)
{
	if (stop)
		return false;
	__sync_fetch_and_add(&nr_nmi_runs, 1);
	if (!bpf_in_nmi())
		__sync_fetch_and_add(&nr_not_in_nmi, 1);
	return true;
}

#endif
