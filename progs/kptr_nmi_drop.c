// SPDX-License-Identifier: GPL-2.0
/* bpf_obj_drop() in NMI of local objects holding task and cgroup kptrs:
 * the verifier accepts it now that the task and cgroup kptr destructors
 * are NMI-safe, and the destructors run in NMI.
 */
#include "kptr_nmi_common.h"

char _license[] SEC("license") = "GPL";

struct holder {
	struct task_struct __kptr *task;
	struct cgroup __kptr *cgrp;
	long pad;
};

long nr_drops;
long nr_drops_task;
long nr_drops_cgrp;
long nr_alloc_failed;

static __always_inline void nmi_drop(void)
{
	struct task_struct *task;
	struct kptr_slot *slot;
	struct holder *h;
	struct cgroup *cgrp;

	if (!nmi_enter())
		return;
	slot = nmi_pick_slot();
	if (!slot)
		return;
	h = bpf_obj_new(typeof(*h));
	if (!h) {
		__sync_fetch_and_add(&nr_alloc_failed, 1);
		return;
	}
	task = bpf_kptr_xchg(&slot->task, NULL);
	if (task) {
		task = bpf_kptr_xchg(&h->task, task);
		if (task)
			bpf_task_release(task);
		__sync_fetch_and_add(&nr_drops_task, 1);
	}
	cgrp = bpf_kptr_xchg(&slot->cgrp, NULL);
	if (cgrp) {
		cgrp = bpf_kptr_xchg(&h->cgrp, cgrp);
		if (cgrp)
			bpf_cgroup_release(cgrp);
		__sync_fetch_and_add(&nr_drops_cgrp, 1);
	}
	/* Runs the task and cgroup destructors, in NMI */
	bpf_obj_drop(h);
	__sync_fetch_and_add(&nr_drops, 1);
}

SEC("perf_event")
int nmi_drop_perf(void *ctx)
{
	nmi_drop();
	return 0;
}

SEC("tp_btf/nmi_handler")
int BPF_PROG(nmi_drop_tp, void *handler, s64 delta_ns, int handled)
{
	nmi_drop();
	return 0;
}
