// SPDX-License-Identifier: GPL-2.0
/* bpf_obj_drop() in NMI of local objects holding task and cgroup kptrs.
 * Kernels without NMI-safe task/cgroup destructors reject this program
 * (NMI_UNSAFE_DROP_MSG).
 */
#include "kptr_nmi_common.h"
#include <bpf/bpf_core_read.h>

/* As in selftests' bpf_experimental.h */
#define bpf_obj_new(type) ((type *)bpf_obj_new(bpf_core_type_id_local(type)))

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

SEC("tp_btf/nmi_handler")
int BPF_PROG(nmi_drop, void *handler, s64 delta_ns, int handled)
{
	struct task_struct *task;
	struct kptr_slot *slot;
	struct holder *h;
	struct cgroup *cgrp;

	if (stop)
		return 0;
	__sync_fetch_and_add(&nr_nmi_runs, 1);
	slot = nmi_pick_slot();
	if (!slot)
		return 0;
	h = bpf_obj_new(typeof(*h));
	if (!h) {
		__sync_fetch_and_add(&nr_alloc_failed, 1);
		return 0;
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
	return 0;
}
