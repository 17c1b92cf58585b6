// SPDX-License-Identifier: GPL-2.0
/* Task and cgroup kptrs taken out of map values (array, hash, task
 * storage) with bpf_kptr_xchg() and released in NMI, including the last
 * reference: of a task that exited, and of a cgroup that was removed.
 * kprobes on the final release paths show that the objects are freed.
 */
#include "kptr_nmi_common.h"

char _license[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, int);
	__type(value, struct kptr_slot);
} hmap SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct kptr_slot);
} tstore SEC(".maps");

/* The last-reference tests: one slot, filled once */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, int);
	__type(value, struct kptr_slot);
} last SEC(".maps");

bool pool_on;			/* release from pool, hmap and tstore */
long nr_release_array;
long nr_release_hash;
long nr_release_tstore;

int last_stash_tid;		/* stash this task in last.task */
__u64 last_cgid;		/* stash this cgroup in last.cgrp */
__u64 last_task_addr;
__u64 last_cgrp_addr;
bool last_armed;		/* NMI: release what last holds */
int last_task_released;		/* by the NMI program */
int last_cgrp_released;
int last_task_freed;		/* the final release path ran */
int last_cgrp_freed;

static __always_inline void release_slot(struct kptr_slot *slot, long *counter)
{
	struct task_struct *task;
	struct cgroup *cgrp;

	task = bpf_kptr_xchg(&slot->task, NULL);
	if (task) {
		bpf_task_release(task);
		__sync_fetch_and_add(counter, 1);
	}
	cgrp = bpf_kptr_xchg(&slot->cgrp, NULL);
	if (cgrp) {
		bpf_cgroup_release(cgrp);
		__sync_fetch_and_add(counter, 1);
	}
}

SEC("tp_btf/sys_enter")
int BPF_PROG(refill_maps, struct pt_regs *regs, long id)
{
	struct task_struct *cur = bpf_get_current_task_btf();
	struct kptr_slot *slot;
	struct cgroup *cgrp;
	int zero = 0;

	if (last_stash_tid && cur->pid == last_stash_tid) {
		slot = bpf_map_lookup_elem(&last, &zero);
		if (slot && !slot->task) {
			struct task_struct *task = bpf_task_acquire(cur);

			if (task) {
				last_task_addr = (__u64)task;
				task = bpf_kptr_xchg(&slot->task, task);
				if (task)
					bpf_task_release(task);
			}
		}
		last_stash_tid = 0;
	}
	if (last_cgid && is_target()) {
		slot = bpf_map_lookup_elem(&last, &zero);
		if (slot && !slot->cgrp) {
			cgrp = bpf_cgroup_from_id(last_cgid);
			if (cgrp) {
				last_cgrp_addr = (__u64)cgrp;
				cgrp = bpf_kptr_xchg(&slot->cgrp, cgrp);
				if (cgrp)
					bpf_cgroup_release(cgrp);
			}
		}
		last_cgid = 0;
	}

	if (!pool_on || !is_target())
		return 0;
	slot = bpf_map_lookup_elem(&hmap, &zero);
	if (slot)
		refill_slot(slot);
	slot = bpf_task_storage_get(&tstore, cur, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (slot)
		refill_slot(slot);
	return 0;
}

static __always_inline void nmi_release(void)
{
	struct kptr_slot *slot;
	struct task_struct *task;
	struct cgroup *cgrp;
	int zero = 0;

	if (!nmi_enter())
		return;

	if (last_armed) {
		slot = bpf_map_lookup_elem(&last, &zero);
		if (slot) {
			task = bpf_kptr_xchg(&slot->task, NULL);
			if (task) {
				bpf_task_release(task);
				last_task_released = 1;
			}
			cgrp = bpf_kptr_xchg(&slot->cgrp, NULL);
			if (cgrp) {
				bpf_cgroup_release(cgrp);
				last_cgrp_released = 1;
			}
		}
	}

	if (!pool_on)
		return;
	slot = nmi_pick_slot();
	if (slot)
		release_slot(slot, &nr_release_array);
	slot = bpf_map_lookup_elem(&hmap, &zero);
	if (slot)
		release_slot(slot, &nr_release_hash);
	slot = bpf_task_storage_get(&tstore, bpf_get_current_task_btf(), 0, 0);
	if (slot)
		release_slot(slot, &nr_release_tstore);
}

SEC("perf_event")
int nmi_release_perf(void *ctx)
{
	nmi_release();
	return 0;
}

SEC("tp_btf/nmi_handler")
int BPF_PROG(nmi_release_tp, void *handler, s64 delta_ns, int handled)
{
	nmi_release();
	return 0;
}

/* The RCU callback of the last put_task_struct_rcu_user() */
SEC("kprobe/delayed_put_task_struct")
int BPF_KPROBE(task_final_put, struct callback_head *rhp)
{
	if (last_task_addr &&
	    (__u64)rhp - bpf_core_field_offset(struct task_struct, rcu) == last_task_addr)
		last_task_freed = 1;
	return 0;
}

/* The release function of the last cgroup reference */
SEC("kprobe/css_release")
int BPF_KPROBE(cgrp_release, struct percpu_ref *ref)
{
	__u64 css = (__u64)ref - bpf_core_field_offset(struct cgroup_subsys_state, refcnt);

	if (last_cgrp_addr && css == last_cgrp_addr)
		last_cgrp_freed = 1;
	return 0;
}
