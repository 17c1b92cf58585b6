// SPDX-License-Identifier: GPL-2.0
/* Task storage created in NMI while the interrupted task is inside a storage
 * update of its own: the NMI's bpf_local_storage_update() finds the task's
 * local_storage->lock held by the same CPU and gets -EDEADLK from the
 * rqspinlock, after it allocated its selem, and frees it on its error path.
 *
 * Process context (tp_btf/sys_enter of the test's threads) creates and
 * deletes an element of "victim" on every syscall. Each thread also holds
 * one element in each of the 16 anchor maps: its local storage is never
 * empty (a create takes the local_storage->lock path, not the first-element
 * one), and a create of victim walks the whole list under that lock (the
 * lookup for an existing element misses), which widens the window in which
 * an NMI finds the lock held.
 *
 * The NMI program creates victim storage for the interrupted task when it
 * is one of the test's. fexit/bpf_local_storage_update counts the NMI
 * creates that failed, by error; fentry/kvfree_call_rcu counts kfree_rcu()
 * calls in NMI, which is what the error path did before the fix.
 */
#include <vmlinux.h>
#include <errno.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "bpf_experimental.h"

char _license[] SEC("license") = "GPL";

#define MAX_ERRNO 4095

#define ANCHOR_MAP(n)							\
	struct {							\
		__uint(type, BPF_MAP_TYPE_TASK_STORAGE);		\
		__uint(map_flags, BPF_F_NO_PREALLOC);			\
		__type(key, int);					\
		__type(value, int);					\
	} anchor##n SEC(".maps")

ANCHOR_MAP(0);
ANCHOR_MAP(1);
ANCHOR_MAP(2);
ANCHOR_MAP(3);
ANCHOR_MAP(4);
ANCHOR_MAP(5);
ANCHOR_MAP(6);
ANCHOR_MAP(7);
ANCHOR_MAP(8);
ANCHOR_MAP(9);
ANCHOR_MAP(10);
ANCHOR_MAP(11);
ANCHOR_MAP(12);
ANCHOR_MAP(13);
ANCHOR_MAP(14);
ANCHOR_MAP(15);

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, long);
} victim SEC(".maps");

int target_tgid;
bool stop;
long nr_anchored;		/* threads given their anchors */
long nr_anchor_failed;
long nr_proc_updates;		/* process-context create + delete */
long nr_nmi_runs;
long nr_not_in_nmi;
long nr_nmi_found;		/* victim existed: no create */
long nr_nmi_created;
long nr_nmi_create_failed;	/* bpf_task_storage_get() returned NULL */
/* fexit/bpf_local_storage_update in NMI, by error */
long nr_err_edeadlk;
long nr_err_etimedout;
long nr_err_enomem;		/* the selem allocation: before the error path */
long nr_err_other;
long last_err_other;
long nr_err_path;		/* errors after the selem was allocated */
long nr_kfree_rcu_in_nmi;

static __always_inline bool is_target(struct task_struct *task)
{
	return !stop && task->tgid == target_tgid;
}

static __always_inline void create_anchor(void *map, struct task_struct *task)
{
	if (!bpf_task_storage_get(map, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE))
		__sync_fetch_and_add(&nr_anchor_failed, 1);
}

SEC("tp_btf/sys_enter")
int BPF_PROG(proc_update, struct pt_regs *regs, long id)
{
	struct task_struct *task = bpf_get_current_task_btf();
	long *val;

	if (!is_target(task))
		return 0;
	if (!bpf_task_storage_get(&anchor0, task, 0, 0)) {
		create_anchor(&anchor0, task);
		create_anchor(&anchor1, task);
		create_anchor(&anchor2, task);
		create_anchor(&anchor3, task);
		create_anchor(&anchor4, task);
		create_anchor(&anchor5, task);
		create_anchor(&anchor6, task);
		create_anchor(&anchor7, task);
		create_anchor(&anchor8, task);
		create_anchor(&anchor9, task);
		create_anchor(&anchor10, task);
		create_anchor(&anchor11, task);
		create_anchor(&anchor12, task);
		create_anchor(&anchor13, task);
		create_anchor(&anchor14, task);
		create_anchor(&anchor15, task);
		__sync_fetch_and_add(&nr_anchored, 1);
	}
	val = bpf_task_storage_get(&victim, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!val)
		return 0;
	*val = id;
	bpf_task_storage_delete(&victim, task);
	__sync_fetch_and_add(&nr_proc_updates, 1);
	return 0;
}

static __always_inline void nmi_create(void)
{
	struct task_struct *task = bpf_get_current_task_btf();

	if (!is_target(task))
		return;
	__sync_fetch_and_add(&nr_nmi_runs, 1);
	if (!bpf_in_nmi())
		__sync_fetch_and_add(&nr_not_in_nmi, 1);
	if (bpf_task_storage_get(&victim, task, 0, 0)) {
		__sync_fetch_and_add(&nr_nmi_found, 1);
		return;
	}
	if (bpf_task_storage_get(&victim, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE))
		__sync_fetch_and_add(&nr_nmi_created, 1);
	else
		__sync_fetch_and_add(&nr_nmi_create_failed, 1);
}

/* NMI: the hardware cycles event of nmi_source.h ... */
SEC("perf_event")
int nmi_create_perf(void *ctx)
{
	nmi_create();
	return 0;
}

/* ... or, without a PMU, NMIs injected by the test harness */
SEC("tp_btf/nmi_handler")
int BPF_PROG(nmi_create_tp, void *handler, s64 delta_ns, int handled)
{
	nmi_create();
	return 0;
}

SEC("fexit/bpf_local_storage_update")
int BPF_PROG(update_exit, void *owner, struct bpf_local_storage_map *smap,
	     void *value, u64 map_flags, bool swap_uptrs,
	     struct bpf_local_storage_data *ret)
{
	long err;

	if (!bpf_in_nmi() || !is_target(bpf_get_current_task_btf()))
		return 0;
	if ((unsigned long)ret < (unsigned long)-MAX_ERRNO)
		return 0;	/* not an ERR_PTR() */
	err = (long)ret;
	if (err == -ENOMEM) {
		__sync_fetch_and_add(&nr_err_enomem, 1);
		return 0;
	}
	if (err == -EDEADLK) {
		__sync_fetch_and_add(&nr_err_edeadlk, 1);
	} else if (err == -ETIMEDOUT) {
		__sync_fetch_and_add(&nr_err_etimedout, 1);
	} else {
		__sync_fetch_and_add(&nr_err_other, 1);
		last_err_other = err;
	}
	__sync_fetch_and_add(&nr_err_path, 1);
	return 0;
}

/* kfree_rcu() is not NMI-safe */
SEC("fentry/kvfree_call_rcu")
int BPF_PROG(kvfree_call_rcu_entry, void *head, void *ptr)
{
	if (bpf_in_nmi())
		__sync_fetch_and_add(&nr_kfree_rcu_in_nmi, 1);
	return 0;
}
