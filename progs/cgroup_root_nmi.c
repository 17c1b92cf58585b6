// SPDX-License-Identifier: GPL-2.0
/* The root cgroup, which is not reference counted (CSS_NO_REF), acquired
 * and released in NMI: references stashed in the pool by refill_pool()
 * (bpf_cgroup_from_id(1) in process context, kptr_nmi_common.h), and
 * bpf_cgroup_ancestor(level 0) of the interrupted task's cgroup, acquired
 * and released in the NMI itself. Neither takes a reference on the root,
 * so no release may drop one.
 *
 * read_root_refs() (BPF_PROG_TEST_RUN) reads the root's percpu_ref: the
 * atomic count and the sum of the per-CPU counts, which is what a put that
 * ignores CSS_NO_REF changes (the root's percpu_ref is in percpu mode and
 * never switches to atomic mode, so nothing else would ever show it).
 */
#include "kptr_nmi_common.h"
#include "percpu_ref_read.h"

char _license[] SEC("license") = "GPL";

int nr_cpus;
long nr_root_released;		/* root references from the pool, released in NMI */
long nr_root_acquired;		/* acquired and released in NMI */
long nr_not_root;		/* a pool cgroup that was not the root */
__u64 nmi_root_addr;		/* the root as the NMI program saw it */

/* read_root_refs() */
__u64 root_addr;
int root_level;
int root_percpu;		/* the percpu_ref is in percpu mode */
long root_refs;			/* atomic count (bias removed) + per-CPU counts */

static __always_inline void nmi_root(void)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct kptr_slot *slot;
	struct cgroup *cgrp, *cur;

	if (!nmi_enter())
		return;
	slot = nmi_pick_slot();
	if (slot) {
		cgrp = bpf_kptr_xchg(&slot->cgrp, NULL);
		if (cgrp) {
			if (cgrp->level)
				__sync_fetch_and_add(&nr_not_root, 1);
			nmi_root_addr = (__u64)cgrp;
			bpf_cgroup_release(cgrp);
			__sync_fetch_and_add(&nr_root_released, 1);
		}
	}
	cur = task->cgroups->dfl_cgrp;
	if (!cur)
		return;
	cgrp = bpf_cgroup_ancestor(cur, 0);
	if (cgrp) {
		bpf_cgroup_release(cgrp);
		__sync_fetch_and_add(&nr_root_acquired, 1);
	}
}

SEC("perf_event")
int nmi_root_perf(void *ctx)
{
	nmi_root();
	return 0;
}

SEC("tp_btf/nmi_handler")
int BPF_PROG(nmi_root_tp, void *handler, s64 delta_ns, int handled)
{
	nmi_root();
	return 0;
}

SEC("syscall")
int read_root_refs(void *ctx)
{
	struct cgroup *root;
	int err;

	root = bpf_cgroup_from_id(1);
	if (!root)
		return 1;
	root_addr = (__u64)root;
	root_level = root->level;
	err = percpu_ref_read(&root->self.refcnt, nr_cpus, &root_percpu, &root_refs);
	bpf_cgroup_release(root);	/* CSS_NO_REF: no reference either way */
	return err ? 2 : 0;
}
