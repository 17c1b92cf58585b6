// SPDX-License-Identifier: GPL-2.0
/* The last reference of a removed cgroup, put by a tp_btf/sched_switch
 * program: __schedule() calls the tracepoint with IRQs disabled and the rq
 * lock held. A put that calls css_release() there queues the css release
 * work right away: queue_work() takes the workqueue pool lock and may wake
 * a kworker of this CPU, i.e. take the rq lock we already hold.
 *
 * A tp_btf/sys_enter program of the test thread stashes a reference to the
 * cgroup in a map and reads the cgroup's refcount for the test; a
 * sched_switch program takes the reference out and puts it, either with
 * bpf_cgroup_release() (switch_release) or by dropping a program-allocated
 * object that holds it (switch_drop: bpf_obj_drop() runs the cgroup kptr
 * destructor). A kprobe on css_release() shows when the cgroup is released
 * and whether that happened inside the program's put.
 */
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "bpf_experimental.h"

char _license[] SEC("license") = "GPL";

struct victim_slot {
	struct cgroup __kptr *cgrp;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, int);
	__type(value, struct victim_slot);
} victim SEC(".maps");

/* Program-allocated object holding the cgroup, for switch_drop */
struct cgrp_holder {
	struct cgroup __kptr *cgrp;
	long pad;
};

int stash_tid;			/* this thread's next syscall stashes ... */
__u64 stash_cgid;		/* ... a reference to this cgroup */
__u64 cgrp_addr;		/* the stashed cgroup (== its self css) */

int probe_tid;			/* this thread's syscalls read the refcount: */
__u64 ref_mode;			/* percpu_count_ptr & (ATOMIC | DEAD) */
long ref_count;			/* percpu_ref_data::count */

bool armed;			/* sched_switch: take the reference and put it */
long ref_at_put = -1;		/* the cgroup's count right before that put */
int released;			/* the program put it */
int release_cpu = -1;		/* on this CPU ... */
bool releasing;			/* ... and is inside the put right now */
int css_released;		/* css_release() of the cgroup ran */
int css_released_in_prog;	/* ... inside the program's put (rq lock held) */
long nr_alloc_failed;

SEC("tp_btf/sys_enter")
int BPF_PROG(stash_and_probe, struct pt_regs *regs, long id)
{
	struct task_struct *cur = bpf_get_current_task_btf();
	struct victim_slot *slot;
	struct cgroup *cgrp, *old, *cg;
	int zero = 0;

	if (stash_tid && cur->pid == stash_tid) {
		stash_tid = 0;
		cgrp = bpf_cgroup_from_id(stash_cgid);
		if (!cgrp)
			return 0;
		slot = bpf_map_lookup_elem(&victim, &zero);
		if (!slot) {
			bpf_cgroup_release(cgrp);
			return 0;
		}
		cgrp_addr = (__u64)cgrp;
		old = bpf_kptr_xchg(&slot->cgrp, cgrp);
		if (old)
			bpf_cgroup_release(old);
		return 0;
	}

	if (probe_tid && cur->pid == probe_tid && cgrp_addr) {
		/* The map holds a reference: the cgroup is alive */
		cg = (struct cgroup *)cgrp_addr;
		ref_mode = BPF_CORE_READ(cg, self.refcnt.percpu_count_ptr) & 3;
		ref_count = BPF_CORE_READ(cg, self.refcnt.data, count.counter);
	}
	return 0;
}

static __always_inline struct cgroup *take_victim(void)
{
	struct victim_slot *slot;
	int zero = 0;

	slot = bpf_map_lookup_elem(&victim, &zero);
	if (!slot)
		return NULL;
	return bpf_kptr_xchg(&slot->cgrp, NULL);
}

/* Runs with IRQs disabled and this CPU's rq lock held */
SEC("tp_btf/sched_switch")
int BPF_PROG(switch_release, bool preempt, struct task_struct *prev,
	     struct task_struct *next, unsigned int prev_state)
{
	struct cgroup *cgrp;

	if (!armed || released)
		return 0;
	cgrp = take_victim();
	if (!cgrp)
		return 0;
	ref_at_put = BPF_CORE_READ(cgrp, self.refcnt.data, count.counter);
	release_cpu = bpf_get_smp_processor_id();
	releasing = true;
	bpf_cgroup_release(cgrp);	/* the cgroup's last reference */
	releasing = false;
	released = 1;
	return 0;
}

/* The same put through bpf_obj_drop() and the cgroup kptr destructor.
 * Without the series the verifier rejects this program (bpf_obj_drop() in
 * a tracing program of an object holding a cgroup kptr): the test loads
 * it in its own subtest.
 */
SEC("tp_btf/sched_switch")
int BPF_PROG(switch_drop, bool preempt, struct task_struct *prev,
	     struct task_struct *next, unsigned int prev_state)
{
	struct cgrp_holder *h;
	struct cgroup *cgrp;
	bool have = false;

	if (!armed || released)
		return 0;
	h = bpf_obj_new(typeof(*h));
	if (!h) {
		__sync_fetch_and_add(&nr_alloc_failed, 1);
		return 0;
	}
	cgrp = take_victim();
	if (cgrp) {
		ref_at_put = BPF_CORE_READ(cgrp, self.refcnt.data, count.counter);
		cgrp = bpf_kptr_xchg(&h->cgrp, cgrp);
		if (cgrp)	/* h is new: never */
			bpf_cgroup_release(cgrp);
		have = true;
		release_cpu = bpf_get_smp_processor_id();
		releasing = true;
	}
	bpf_obj_drop(h);	/* runs the destructor of the last reference */
	if (have) {
		releasing = false;
		released = 1;
	}
	return 0;
}

/* The release function of the cgroup's percpu_ref: its last put */
SEC("kprobe/css_release")
int BPF_KPROBE(on_css_release, struct percpu_ref *ref)
{
	__u64 css = (__u64)ref - bpf_core_field_offset(struct cgroup_subsys_state, refcnt);

	if (!cgrp_addr || css - bpf_core_field_offset(struct cgroup, self) != cgrp_addr)
		return 0;
	css_released = 1;
	if (releasing && bpf_get_smp_processor_id() == release_cpu)
		css_released_in_prog = 1;
	return 0;
}
