// SPDX-License-Identifier: GPL-2.0
/* bpf_obj_new() failing in NMI. The objects are big (a bpf_mem_alloc size
 * class of 4096 bytes), so each CPU caches only a handful of them, and only
 * an irq_work, which runs after the NMI, refills the cache. Every other NMI
 * program run takes BURST_SLOTS of them into the stash (a cache that holds
 * fewer fails the rest: a clean NULL), moving the task and cgroup kptrs of
 * the pool into them; the runs in between drop everything the stash holds,
 * which runs the task and cgroup destructors in NMI.
 */
#include "kptr_nmi_common.h"

char _license[] SEC("license") = "GPL";

#define BURST_SLOTS 8

struct big_holder {
	struct task_struct __kptr *task;
	struct cgroup __kptr *cgrp;
	/* What fill_one() moved in: a program may not read the kptrs */
	int has_task;
	int has_cgrp;
	char pad[3000];
};

struct stash_slot {
	struct big_holder __kptr *h;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, BURST_SLOTS);
	__type(key, int);
	__type(value, struct stash_slot);
} stash SEC(".maps");

long nr_allocs;
long nr_alloc_failed;
long nr_drops;
long nr_drops_task;
long nr_drops_cgrp;

static int fill_one(__u32 i, void *ctx)
{
	struct stash_slot *st = bpf_map_lookup_elem(&stash, &i);
	struct kptr_slot *slot = nmi_pick_slot();
	struct task_struct *task;
	struct big_holder *h;
	struct cgroup *cgrp;

	if (!st || !slot || st->h)
		return 0;
	h = bpf_obj_new(typeof(*h));
	if (!h) {
		__sync_fetch_and_add(&nr_alloc_failed, 1);
		return 0;
	}
	__sync_fetch_and_add(&nr_allocs, 1);
	task = bpf_kptr_xchg(&slot->task, NULL);
	if (task) {
		task = bpf_kptr_xchg(&h->task, task);
		if (task)
			bpf_task_release(task);
		h->has_task = 1;
	}
	cgrp = bpf_kptr_xchg(&slot->cgrp, NULL);
	if (cgrp) {
		cgrp = bpf_kptr_xchg(&h->cgrp, cgrp);
		if (cgrp)
			bpf_cgroup_release(cgrp);
		h->has_cgrp = 1;
	}
	h = bpf_kptr_xchg(&st->h, h);
	if (h) /* another CPU filled the slot in between */
		bpf_obj_drop(h);
	return 0;
}

static int drop_one(__u32 i, void *ctx)
{
	struct stash_slot *st = bpf_map_lookup_elem(&stash, &i);
	struct big_holder *h;

	if (!st)
		return 0;
	h = bpf_kptr_xchg(&st->h, NULL);
	if (!h)
		return 0;
	if (h->has_task)
		__sync_fetch_and_add(&nr_drops_task, 1);
	if (h->has_cgrp)
		__sync_fetch_and_add(&nr_drops_cgrp, 1);
	bpf_obj_drop(h);
	__sync_fetch_and_add(&nr_drops, 1);
	return 0;
}

static __always_inline void nmi_burst(void)
{
	if (!nmi_enter())
		return;
	if (nr_nmi_runs & 1)
		bpf_loop(BURST_SLOTS, fill_one, NULL, 0);
	else
		bpf_loop(BURST_SLOTS, drop_one, NULL, 0);
}

SEC("perf_event")
int nmi_burst_perf(void *ctx)
{
	nmi_burst();
	return 0;
}

SEC("tp_btf/nmi_handler")
int BPF_PROG(nmi_burst_tp, void *handler, s64 delta_ns, int handled)
{
	nmi_burst();
	return 0;
}
