// SPDX-License-Identifier: GPL-2.0
/* Programs of the local-storage-delete-cost benchmark
 * (benchs/bench_local_storage_delete_cost.c).
 *
 * Each run creates and deletes task or cgroup storage of the current task
 * (or of its cgroup) nr_loops times in a bpf_loop() and times the loop with
 * bpf_ktime_get_ns(). The same code runs in three contexts:
 *   run_loop       BPF_PROG_TEST_RUN: process context (preemption disabled)
 *                  or, with BPF_F_TEST_RUN_ON_CPU and another CPU, in the
 *                  IPI handler of that CPU (hardirq);
 *   run_loop_perf  hardware cycles perf event: its overflow interrupt is an
 *                  NMI on x86;
 *   run_loop_nmi   tp_btf/nmi_handler, for NMIs injected by a test harness
 *                  where there is no PMU.
 * Each run also counts whether it ran in the context the benchmark asked
 * for, so that a perf event that is not an NMI cannot pass for one.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "bpf_experimental.h"
#include "bench_local_storage_common.bpf.h"

char _license[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct storage);
} task_storage_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_CGRP_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct storage);
} cgrp_storage_map SEC(".maps");

enum {
	CTX_PROCESS,
	CTX_HARDIRQ,
	CTX_NMI,
};

/* Set before the first run */
__u32 nr_loops = 256;
__u32 use_cgroup;
__u32 want_ctx;

long pairs;		/* create + delete pairs that succeeded */
long errs;		/* failed creates or deletes */
long runs;		/* program runs */
long runs_in_ctx;	/* of which in the wanted context */
long loop_ns;		/* time in the bpf_loop() of all runs */
int last_err;		/* last error of a create (-ENOMEM) or delete */

static long task_pair(__u64 i, void *data)
{
	ls_task_create_delete(&task_storage_map, data);
	return 0;
}

static long cgrp_pair(__u64 i, void *data)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct cgroup *cgrp = task->cgroups->dfl_cgrp;
	struct ls_loop_ctx *c = data;
	long err;

	if (!bpf_cgrp_storage_get(&cgrp_storage_map, cgrp, NULL,
				  BPF_LOCAL_STORAGE_GET_F_CREATE)) {
		c->errs++;
		c->last_err = -ENOMEM;
		return 0;
	}
	err = bpf_cgrp_storage_delete(&cgrp_storage_map, cgrp);
	if (err) {
		c->errs++;
		c->last_err = err;
	} else {
		c->ok++;
	}
	return 0;
}

static __always_inline bool in_wanted_ctx(void)
{
	switch (want_ctx) {
	case CTX_NMI:
		return bpf_in_nmi();
	case CTX_HARDIRQ:
		return bpf_in_hardirq() && !bpf_in_nmi();
	default:
		return !bpf_in_interrupt();
	}
}

static __always_inline int run(void)
{
	struct ls_loop_ctx c = {};
	__u64 start;

	start = bpf_ktime_get_ns();
	if (use_cgroup)
		bpf_loop(nr_loops, cgrp_pair, &c, 0);
	else
		bpf_loop(nr_loops, task_pair, &c, 0);
	__sync_fetch_and_add(&loop_ns, bpf_ktime_get_ns() - start);

	__sync_fetch_and_add(&runs, 1);
	if (in_wanted_ctx())
		__sync_fetch_and_add(&runs_in_ctx, 1);
	__sync_fetch_and_add(&pairs, c.ok);
	__sync_fetch_and_add(&errs, c.errs);
	if (c.last_err)
		last_err = c.last_err;
	return 0;
}

SEC("raw_tp")
int run_loop(void *ctx)
{
	return run();
}

SEC("perf_event")
int run_loop_perf(void *ctx)
{
	return run();
}

SEC("tp_btf/nmi_handler")
int BPF_PROG(run_loop_nmi, void *handler, s64 delta_ns, int handled)
{
	return run();
}
