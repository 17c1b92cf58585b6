// SPDX-License-Identifier: GPL-2.0
/* The root cgroup released in NMI must keep its references. The default
 * hierarchy's root css is CSS_NO_REF: css_get()/css_put() and
 * cgroup_tryget() leave its percpu_ref alone, so bpf_cgroup_from_id(1) and
 * bpf_cgroup_ancestor(.., 0) take no reference on it and a release must
 * drop none. NMI programs release root references stashed in a pool by
 * process context (bpf_cgroup_from_id(1)) and root references they acquire
 * themselves (bpf_cgroup_ancestor() of the interrupted task's cgroup, level
 * 0). The test reads the root's percpu_ref before and after: the atomic
 * count plus the per-CPU counts (read through __per_cpu_offset), which is
 * where a put in percpu mode lands. Nothing else could show such a put:
 * the root's percpu_ref is never killed or switched to atomic mode, so it
 * never reaches zero, never underflows and never warns.
 *
 * NMIs come from a hardware cycles perf event, or, without a PMU, from the
 * test harness (nmi_source.h); with neither the test skips.
 *
 * Expected:
 * - base (7.3): pass (bpf_cgroup_release() is cgroup_put() -> css_put(),
 *   which honours CSS_NO_REF).
 *   seen (2026-12-05, TCG, host-injected NMIs): pass.
 * - v1: fails, "root cgroup refs changed by NMI releases" about minus the
 *   number of NMI releases: percpu_ref_put_not_last() in NMI decremented
 *   the root's per-CPU count. patches/mutants/cgroup-put-ignores-no-ref
 *   (v1's direct percpu_ref_put() in NMI for a css that is not dying) must
 *   fail the same way.
 *   seen (2026-12-05, the mutant): fails, "root cgroup refs changed by NMI
 *   releases: actual -4789" after 2376 pool and 2413 NMI-acquired releases.
 * - v2: pass (every put goes through cgroup_put() or, deferred,
 *   css_put_many(), both honour CSS_NO_REF).
 *   seen (2026-12-05): pass, twice.
 *
 * Serial: NMIs and busy threads on every CPU.
 */
#include <test_progs.h>
#include "nmi_source.h"
#include "cgroup_root_nmi.skel.h"

#define RUN_SECS 4
#define NMI_FLOOR 100

/* The root's references as its percpu_ref counts them */
static int read_root_refs(struct cgroup_root_nmi *skel, long *refs)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts);
	int err;

	err = bpf_prog_test_run_opts(bpf_program__fd(skel->progs.read_root_refs), &opts);
	if (!ASSERT_OK(err, "read_root_refs") || !ASSERT_OK(opts.retval, "read_root_refs retval"))
		return -1;
	*refs = skel->bss->root_refs;
	return 0;
}

void serial_test_cgroup_root_nmi(void)
{
	struct nmi_source src = { .ctl_fd = -1 };
	struct cgroup_root_nmi *skel;
	long before, after, nmis;
	int err;

	skel = cgroup_root_nmi__open();
	if (!ASSERT_OK_PTR(skel, "open"))
		return;
	err = nmi_source_init(&src, skel->progs.nmi_root_perf, skel->progs.nmi_root_tp);
	if (err == -EOPNOTSUPP) {
		test__skip();
		goto out;
	}
	if (!ASSERT_OK(err, "nmi_source_init") || !ASSERT_OK(cgroup_root_nmi__load(skel), "load"))
		goto out;
	skel->bss->nr_cpus = libbpf_num_possible_cpus();
	if (!ASSERT_GT(skel->bss->nr_cpus, 0, "nr_cpus") || read_root_refs(skel, &before))
		goto out;
	printf("root cgroup %#llx: level %d, percpu_ref in %s mode, references %ld\n",
	       skel->bss->root_addr, skel->bss->root_level,
	       skel->bss->root_percpu ? "percpu" : "atomic", before);
	if (!ASSERT_EQ(skel->bss->root_level, 0, "cgroup 1 is the root"))
		goto out;

	/* refill_pool() stashes root references (the pool's cgroup) */
	skel->bss->target_tgid = getpid();
	skel->bss->target_cgid = 1;
	if (!ASSERT_OK(cgroup_root_nmi__attach(skel), "attach"))
		goto out;
	if (!ASSERT_OK(nmi_source_start(&src), "nmi_source_start"))
		goto out;
	sleep(RUN_SECS);
	skel->bss->stop = true;
	nmis = nmi_source_stop(&src);
	ASSERT_GE(nmis, 0, "nmi_source_stop");
	/* v2 defers NMI puts to an irq_work (lazy: up to a tick) */
	kern_sync_rcu();
	usleep(200000);
	if (read_root_refs(skel, &after))
		goto out;

	printf("NMI source %s: NMIs injected %ld, NMI runs %ld (not in NMI %ld), ",
	       nmi_source_name(&src), nmis, skel->bss->nr_nmi_runs, skel->bss->nr_not_in_nmi);
	printf("root released: from the pool %ld (refills %ld), acquired in NMI %ld\n",
	       skel->bss->nr_root_released, skel->bss->nr_refilled, skel->bss->nr_root_acquired);
	printf("root references before %ld, after %ld\n", before, after);
	ASSERT_EQ(skel->bss->nr_not_in_nmi, 0, "NMI program runs not in NMI");
	ASSERT_GE(skel->bss->nr_root_released + skel->bss->nr_root_acquired, NMI_FLOOR,
		  "root releases in NMI");
	ASSERT_GT(skel->bss->nr_root_released, 0, "pool root references released in NMI");
	ASSERT_EQ(skel->bss->nr_not_root, 0, "pool cgroups that are not the root");
	if (skel->bss->nr_root_released)
		ASSERT_EQ(skel->bss->nmi_root_addr, skel->bss->root_addr, "same root cgroup");
	ASSERT_EQ(after - before, 0, "root cgroup refs changed by NMI releases");
out:
	nmi_source_cleanup(&src);
	cgroup_root_nmi__destroy(skel);
}
