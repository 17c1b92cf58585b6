// SPDX-License-Identifier: GPL-2.0
/* A task storage create in NMI that fails after it allocated its element
 * must free it without kfree_rcu(), which is not NMI-safe.
 *
 * The test's threads create and delete an element of one task storage map
 * on every syscall, holding the task's local_storage->lock for a while
 * (progs/storage_nmi_create.c); NMI programs create storage in that map for
 * the task they interrupt. An NMI that lands while its task holds the lock
 * gets -EDEADLK from the rqspinlock in bpf_local_storage_update(), after
 * bpf_selem_alloc(), and takes the error path that frees the element. The
 * test runs until that happened ERR_TARGET times (or MAX_SECS), and asserts
 * that it did (nothing is shown otherwise) and that kfree_rcu()
 * (kvfree_call_rcu()) was never called in NMI. storage_stress creates in NMI
 * too, but it needs the series to load; this test loads on base.
 *
 * NMIs come from a hardware cycles perf event, or, without a PMU, from the
 * test harness (nmi_source.h); with neither the test skips.
 *
 * Expected:
 * - base (7.3): fails, "kfree_rcu() called in NMI" (the error path of
 *   bpf_local_storage_update() calls bpf_selem_free(alloc_selem, true) ->
 *   kfree_rcu()), and possibly a lockdep "inconsistent {INITIAL USE} ->
 *   {IN-NMI} usage" report from kvfree_call_rcu(): the sheaf path may take
 *   barn->lock or allocate, the fallback takes krcp->lock.
 *   seen (2026-12-05, TCG, host-injected NMIs): "kfree_rcu() called in NMI:
 *   actual 20", all 20 failed creates -EDEADLK, in 8 s (lockdep had been
 *   turned off by an earlier test's report in that boot).
 * - v1 sent these objects through the deferred list (no kfree_rcu()).
 *   patches/mutants/unpublished-kfree-rcu (v2 with kfree_rcu() back in
 *   bpf_selem_free_unpublished()) must fail as base does.
 *   seen (2026-12-05): fails, "kfree_rcu() called in NMI: actual 22"; no
 *   lockdep report in that boot, so the counter is what catches it.
 * - v2: pass (patch 1: bpf_selem_free_unpublished() -> kfree_nolock()).
 *   seen (2026-12-05): pass, twice.
 *
 * Serial: NMIs and busy threads on every CPU.
 */
#include <test_progs.h>
#include "nmi_source.h"
#include "storage_nmi_create.skel.h"

#define MAX_SECS 10
#define ERR_TARGET 20

/* Runs of @prog skipped because it was already running on that CPU */
static long recursion_misses(struct bpf_program *prog)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	if (bpf_prog_get_info_by_fd(bpf_program__fd(prog), &info, &len))
		return -1;
	return info.recursion_misses;
}

void serial_test_storage_nmi_create(void)
{
	struct nmi_source src = { .ctl_fd = -1 };
	struct storage_nmi_create *skel;
	long nmis;
	int err, i;

	skel = storage_nmi_create__open();
	if (!ASSERT_OK_PTR(skel, "open"))
		return;
	err = nmi_source_init(&src, skel->progs.nmi_create_perf, skel->progs.nmi_create_tp);
	if (err == -EOPNOTSUPP) {
		test__skip();
		goto out;
	}
	if (!ASSERT_OK(err, "nmi_source_init") ||
	    !ASSERT_OK(storage_nmi_create__load(skel), "load"))
		goto out;
	skel->bss->target_tgid = getpid();
	if (!ASSERT_OK(storage_nmi_create__attach(skel), "attach") ||
	    !ASSERT_OK(nmi_source_start(&src), "nmi_source_start"))
		goto out;
	for (i = 0; i < MAX_SECS * 10 && READ_ONCE(skel->bss->nr_err_path) < ERR_TARGET; i++)
		usleep(100000);
	skel->bss->stop = true;
	nmis = nmi_source_stop(&src);
	ASSERT_GE(nmis, 0, "nmi_source_stop");

	printf("NMI source %s: NMIs injected %ld in %d ms, NMI runs %ld (not in NMI %ld)\n",
	       nmi_source_name(&src), nmis, i * 100, skel->bss->nr_nmi_runs,
	       skel->bss->nr_not_in_nmi);
	printf("threads anchored %ld (anchor creates failed %ld), process create+delete %ld\n",
	       skel->bss->nr_anchored, skel->bss->nr_anchor_failed, skel->bss->nr_proc_updates);
	printf("NMI: found %ld, created %ld, create failed %ld: -EDEADLK %ld, -ETIMEDOUT %ld, ",
	       skel->bss->nr_nmi_found, skel->bss->nr_nmi_created, skel->bss->nr_nmi_create_failed,
	       skel->bss->nr_err_edeadlk, skel->bss->nr_err_etimedout);
	printf("-ENOMEM %ld, other %ld (last %ld); kfree_rcu() in NMI %ld\n",
	       skel->bss->nr_err_enomem, skel->bss->nr_err_other, skel->bss->last_err_other,
	       skel->bss->nr_kfree_rcu_in_nmi);
	ASSERT_EQ(skel->bss->nr_not_in_nmi, 0, "NMI program runs not in NMI");
	ASSERT_GT(skel->bss->nr_nmi_runs, 0, "NMI program runs on the test's threads");
	ASSERT_GT(skel->bss->nr_anchored, 0, "threads with anchor storage");
	ASSERT_GT(skel->bss->nr_err_path, 0, "NMI creates that failed after allocating");
	ASSERT_EQ(skel->bss->nr_kfree_rcu_in_nmi, 0, "kfree_rcu() called in NMI");
	/* A skipped run could hide a kfree_rcu() in NMI (update_exit may miss
	 * some: it only has to see one failed create)
	 */
	ASSERT_EQ(recursion_misses(skel->progs.kvfree_call_rcu_entry), 0,
		  "kvfree_call_rcu_entry missed");
out:
	nmi_source_cleanup(&src);
	storage_nmi_create__destroy(skel);
}
