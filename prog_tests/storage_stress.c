// SPDX-License-Identifier: GPL-2.0
/* Task local storage created and deleted from NMI, hardirq, kprobes inside
 * the delete and free paths, and process context, on the same tasks, on
 * every CPU: the deferred free of local storage must make delete safe in
 * every context, and still free everything.
 *
 * NMIs come from a hardware cycles perf event, or, without a PMU, from the
 * test harness (nmi_source.h); with neither the test skips. Every value
 * created is tracked by storage_free_tracker.c until the kernel frees it.
 *
 * nmi_delete: after STRESS_SECS of stress, NMI-context deletes must have
 *   succeeded (a floor, not just "no error"). Then the storage still
 *   linked to tasks is deleted and every value ever created must be freed
 *   while the map is still alive: a deferral that strands objects until
 *   map_free() fails here.
 *   Without the series (7.3) every NMI delete returns -EOPNOTSUPP (measured
 *   when the test still ran there); this version fails earlier, at attach:
 *   its kprobe on the series' bpf_local_storage_free_batch() is mandatory.
 *   The per-CPU hlist mutant (patches/mutants/percpu-hlist: the deferred
 *   list without IRQ/NMI protection) fails with values never freed, a
 *   soft lockup or a KASAN use-after-free (caught 3/3).
 * map_close: the map is closed (map_free) while deletes and deferred frees
 *   are in flight. No splat, and every value is freed after the close.
 *   Without the series: fails (NMI deletes refused; now at attach, as above).
 * cpu_hotplug: the same stress while the highest CPU goes offline and
 *   online every 0.4 s: objects queued on a CPU that goes down must still
 *   be freed, and map_free must not wait for an offline CPU. Skips with a
 *   single CPU, or when no CPU can go offline. No mutant shows this one
 *   failing yet: smpcfd_dying_cpu() also runs pending irq_works.
 * cpu_down_queued: no stress, only the CPU going down, which creates and
 *   deletes storage of its stopper thread in take_cpu_down() (IRQs off,
 *   before __cpu_disable()) while nothing else is queued or in flight on
 *   it: the irq_work raised then runs after the CPU left the online mask,
 *   where it must not start a batch, and only the dead CPU's hotplug
 *   callback can start it. Every value must be freed while the map is
 *   alive. Skips as cpu_hotplug does.
 *   Mutant defer-no-online-check (irq_work raised regardless, no hotplug
 *   callbacks): the values stay queued on the CPU, and later ones join
 *   the non-empty list without raising anything (caught 2026-12-05,
 *   "values not freed while the map is alive"; cpu_hotplug, under stress,
 *   did not catch it: a batch in flight starts the next one).
 * memcg_limit: the same stress with the map charged to a memory cgroup
 *   whose limit leaves MEMCG_HEADROOM bytes for values, so that creates
 *   fail (the element, or the first element's storage, not allocated) in
 *   hardirq and process context, each a floor; nothing creates in NMI
 *   (NMI programs and the kprobes their deletes trigger only delete).
 *   The failures must be clean: no splat, every value created freed while
 *   the map is alive, the element of every create whose storage was not
 *   allocated freed (fexit on bpf_local_storage_alloc(), fentry on
 *   kfree_nolock(); a free the fentry missed because it nested in another
 *   is forgiven, up to the program's recursion_misses: about 20 of 10000
 *   seen), and then the slab charged to the cgroup back to its
 *   baseline (a leaked value keeps its charge). Skips without a memory
 *   controller.
 *   Mutant unpublished-leak (that element not freed): about 30 such
 *   creates per run leak about 2 KiB, within what the CPUs' stocks hold
 *   back, so the slab check passed (2026-12-05); the element count fails.
 *   No creates in NMI: when the memcg charge of a kmalloc_nolock()
 *   allocation fails, 7.3's slab frees the object with
 *   memcg_alloc_abort_single(), which takes the node's list_lock and runs
 *   the kmemleak and debug-objects free hooks, none of it NMI-safe. With
 *   NMI creates this subtest got lockdep's "inconsistent {INITIAL USE} ->
 *   {IN-NMI} usage" on kmemleak_lock (delete_object_full() from
 *   memcg_alloc_abort_single() in __kmalloc_nolock_noprof(), in NMI),
 *   then the guest hung (2026-12-05): a slab bug on 7.3 with or without
 *   this series, not what this test is about. The same report came once
 *   more from the kprobe on bpf_selem_free() creating inside an NMI
 *   program's delete, hence bpf_in_nmi() rather than the program.
 *
 * Serial: it takes every CPU, perf events on each, and CPU hotplug.
 */
#include <test_progs.h>
#include "cgroup_helpers.h"
#include "nmi_source.h"
#include "progs/storage_stress.h"
#include "storage_stress.skel.h"
#include "storage_free_tracker.skel.h"

#define STRESS_SECS 6
#define NMI_RUNS_FLOOR 200
#define NMI_DELETES_FLOOR 100
#define FREE_WAIT_SECS 20
#define MAX_CPUS 64
/* memcg_limit: the memory cgroup the map is charged to, and how many bytes
 * of values its limit leaves room for.
 */
#define MEMCG_PATH "/storage_stress_memcg"
#define MEMCG_HEADROOM (64 * 1024)
/* How far apart per CPU two readings of the cgroup's slab bytes may be with
 * nothing leaked: each CPU's obj_cgroup stock holds back slab statistics
 * deltas of up to a page (__account_obj_stock() in mm/memcontrol.c), at the
 * baseline reading and again at the final one, and nothing drains the
 * stocks of a cgroup that is not reclaiming. Seen: 2400 bytes on 2 CPUs.
 */
#define MEMCG_SLAB_SLACK_PER_CPU (2 * 4096)

static const char * const ctx_names[NR_STRESS_CTX] = {
	[CTX_TASK] = "task", [CTX_HARDIRQ] = "hardirq", [CTX_NMI] = "nmi", [CTX_KPROBE] = "kprobe",
};

/* Keys (u64) in the hash map @fd */
static long count_keys(int fd)
{
	__u64 key, next;
	void *prev = NULL;
	long n = 0;

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		n++;
	}
	return n;
}

/* Runs of @prog that its recursion protection skipped */
static long recursion_misses(const struct bpf_program *prog)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	if (bpf_prog_get_info_by_fd(bpf_program__fd(prog), &info, &len))
		return -errno;
	return info.recursion_misses;
}

static long count_live(struct storage_free_tracker *tracker)
{
	return count_keys(bpf_map__fd(tracker->maps.live));
}

/* Frees wait for a grace period: poll up to FREE_WAIT_SECS until nothing
 * tracked is left; returns what is left, and in @ms how long it took.
 */
static long wait_all_freed(struct storage_free_tracker *tracker, long *ms)
{
	long left = count_live(tracker);
	int i;

	for (i = 0; left && i < FREE_WAIT_SECS * 10; i++) {
		usleep(100000);
		left = count_live(tracker);
	}
	*ms = i * 100L;
	return left;
}

/* Let the stress run for @secs, sampling every 0.1 s how many values are
 * not freed yet (deleted and waiting for their deferred free, or still
 * linked: at most one per task); returns the highest sample.
 */
static long stress_peak_live(struct storage_stress *skel, struct storage_free_tracker *tracker,
			     int secs)
{
	long n, peak = 0;
	int i, ctx;

	for (i = 0; i < secs * 10; i++) {
		usleep(100000);
		n = -READ_ONCE(tracker->bss->nr_freed);
		for (ctx = 0; ctx < NR_STRESS_CTX; ctx++)
			n += READ_ONCE(skel->bss->stats[ctx].created);
		if (n > peak)
			peak = n;
	}
	return peak;
}

/* One software cpu-clock sampling event per CPU: its overflow handler runs
 * from the hrtimer interrupt, so the perf_event program runs in hardirq.
 */
static int attach_hardirq(struct storage_stress *skel, struct bpf_link **links, int nr_cpus)
{
	struct perf_event_attr attr = {
		.type = PERF_TYPE_SOFTWARE,
		.config = PERF_COUNT_SW_CPU_CLOCK,
		.size = sizeof(attr),
		.sample_period = 100000, /* ns: 10 kHz */
	};
	int cpu, fd, n = 0;

	for (cpu = 0; cpu < nr_cpus; cpu++) {
		fd = syscall(__NR_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
		if (fd < 0)
			continue; /* offline CPU */
		links[cpu] = bpf_program__attach_perf_event(skel->progs.hardirq_ctx, fd);
		if (!ASSERT_OK_PTR(links[cpu], "attach_perf_event")) {
			links[cpu] = NULL;
			close(fd);
			return -1;
		}
		n++;
	}
	return ASSERT_GT(n, 0, "cpu-clock events") ? 0 : -1;
}

static void print_stats(struct storage_stress *skel)
{
	int i;

	for (i = 0; i < NR_STRESS_CTX; i++) {
		struct ctx_stats *st = &skel->bss->stats[i];

		printf("%-8s runs %8ld (wrong context %ld) ",
		       ctx_names[i], st->runs, st->wrong_ctx);
		printf("created %8ld deleted %8ld create_failed %6ld ",
		       st->created, st->deleted, st->create_failed);
		printf("delete: -EOPNOTSUPP %8ld other errors %6ld untracked %ld (map busy %ld)\n",
		       st->delete_eopnotsupp, st->delete_failed, st->untracked, st->untracked_busy);
	}
}

/* Delete whatever storage tasks still hold (iter/task over all tasks). */
static void sweep_storage(struct storage_stress *skel)
{
	struct bpf_link *link;
	char buf[64];
	int fd;

	link = bpf_program__attach_iter(skel->progs.sweep, NULL);
	if (!ASSERT_OK_PTR(link, "attach sweep iter"))
		return;
	fd = bpf_iter_create(bpf_link__fd(link));
	if (ASSERT_OK_FD(fd, "sweep iter")) {
		while (read(fd, buf, sizeof(buf)) > 0)
			;
		close(fd);
	}
	bpf_link__destroy(link);
}

struct hotplug_ctl {
	char path[64];
	bool stop;
	long cycles;
};

/* The highest CPU that is online and can go offline; -1 if none. */
static int pick_hotplug_cpu(struct hotplug_ctl *hp)
{
	int cpu, fd;
	char c;

	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		return -1;
	for (cpu = libbpf_num_possible_cpus() - 1; cpu > 0; cpu--) {
		snprintf(hp->path, sizeof(hp->path), "/sys/devices/system/cpu/cpu%d/online", cpu);
		fd = open(hp->path, O_RDWR);
		if (fd < 0)
			continue;
		if (read(fd, &c, 1) == 1 && c == '1') {
			close(fd);
			return cpu;
		}
		close(fd);
	}
	return -1;
}

/* Take the CPU offline and back online in a loop. */
static void *cpu_hotplug(void *arg)
{
	struct hotplug_ctl *hp = arg;
	int fd;

	while (!READ_ONCE(hp->stop)) {
		fd = open(hp->path, O_WRONLY);
		if (fd < 0) {
			hp->cycles = -errno;
			break;
		}
		if (write(fd, "0", 1) != 1) {
			hp->cycles = -errno;
			close(fd);
			break;
		}
		usleep(200000);
		if (write(fd, "1", 1) != 1) {
			hp->cycles = -errno;
			close(fd);
			break;
		}
		close(fd);
		hp->cycles++;
		usleep(200000);
	}
	return NULL;
}

/* Whatever happened, leave the CPU online */
static void cpu_online_restore(struct hotplug_ctl *hp)
{
	int fd = open(hp->path, O_WRONLY);

	if (fd < 0)
		return;
	if (write(fd, "1", 1) != 1 && errno != EINVAL)
		fprintf(stderr, "cannot put %s back online: %s\n", hp->path, strerror(errno));
	close(fd);
}

static long memcg_read(int cg_fd, const char *file)
{
	char buf[32] = {};
	int fd = openat(cg_fd, file, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n > 0 ? strtol(buf, NULL, 10) : -EIO;
}

static int memcg_set_max(long max)
{
	char buf[32] = "max";

	if (max >= 0)
		snprintf(buf, sizeof(buf), "%ld", max);
	return write_cgroup_file(MEMCG_PATH, "memory.max", buf);
}

/* Bytes of slab objects charged to the cgroup ("slab" in memory.stat).
 * Unlike memory.current, it does not include the charges that every CPU
 * keeps cached for the cgroup (memcg and obj_cgroup stocks). Reading it
 * flushes only the statistics past a threshold; all of them are flushed
 * every 2 s (FLUSH_TIME).
 */
static long memcg_slab(int cg_fd)
{
	char buf[4096] = {}, *line;
	int fd = openat(cg_fd, "memory.stat", O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	for (line = strtok(buf, "\n"); line; line = strtok(NULL, "\n"))
		if (!strncmp(line, "slab ", 5))
			return strtol(line + 5, NULL, 10);
	return -ENOENT;
}

/* Create the memory cgroup and move this process into it, so that the maps
 * the skeleton is about to create are charged to it (map->objcg); returns
 * the cgroup's fd, -EOPNOTSUPP without a memory controller, or -errno.
 */
static int memcg_enter(void)
{
	int cg_fd, err;

	if (setup_cgroup_environment())
		return -EIO;
	cg_fd = create_and_get_cgroup(MEMCG_PATH);
	if (cg_fd < 0) {
		err = -EIO;
		goto fail;
	}
	if (memcg_read(cg_fd, "memory.current") < 0) {
		err = -EOPNOTSUPP;
		goto fail;
	}
	if (join_cgroup(MEMCG_PATH)) {
		err = -EIO;
		goto fail;
	}
	return cg_fd;
fail:
	if (cg_fd >= 0)
		close(cg_fd);
	cleanup_cgroup_environment();
	return err;
}

enum stress_mode { STRESS_PLAIN, STRESS_MAP_CLOSE, STRESS_HOTPLUG, STRESS_MEMCG };

static void run_stress(int secs, enum stress_mode mode)
{
	int nr_cpus = libbpf_num_possible_cpus();
	struct storage_free_tracker *tracker;
	struct bpf_link *perf_links[MAX_CPUS] = {};
	struct bpf_link *kfree_link = NULL;
	struct storage_stress *skel = NULL;
	struct hotplug_ctl hp = {};
	struct nmi_source nmi_src = { .ctl_fd = -1 };
	struct ctx_stats nmi;
	pthread_t hp_thread;
	long nmis, left, peak, ms, memcg_base = 0, memcg_slab_base = 0, memcg_now;
	long slab_slack, unfreed, missed;
	int i, err, cg_fd = -1;

	if (nr_cpus > MAX_CPUS)
		nr_cpus = MAX_CPUS;
	slab_slack = (long)nr_cpus * MEMCG_SLAB_SLACK_PER_CPU;
	if (mode == STRESS_HOTPLUG && pick_hotplug_cpu(&hp) < 0) {
		printf("%s:SKIP: no CPU that can go offline\n", __func__);
		test__skip();
		return;
	}

	tracker = storage_free_tracker__open_and_load();
	if (!ASSERT_OK_PTR(tracker, "tracker_load"))
		return;
	if (!ASSERT_OK(storage_free_tracker__attach(tracker), "tracker_attach"))
		goto out;

	skel = storage_stress__open();
	if (!ASSERT_OK_PTR(skel, "stress_open"))
		goto out;
	err = nmi_source_init(&nmi_src, skel->progs.nmi_perf, skel->progs.nmi_tp);
	if (err == -EOPNOTSUPP) {
		test__skip();
		goto out;
	}
	if (!ASSERT_OK(err, "nmi_source_init"))
		goto out;
	/* The sweep iterator runs once, after the stress */
	bpf_program__set_autoattach(skel->progs.sweep, false);
	/* Every kfree_nolock() of the system: memcg_limit only */
	bpf_program__set_autoattach(skel->progs.unpublished_freed, false);
	if (!ASSERT_OK(bpf_map__reuse_fd(skel->maps.live, bpf_map__fd(tracker->maps.live)),
		       "reuse live map"))
		goto out;
	if (mode == STRESS_MEMCG) {
		cg_fd = memcg_enter();
		if (cg_fd == -EOPNOTSUPP) {
			printf("%s:SKIP: no memory controller\n", __func__);
			test__skip();
			goto out;
		}
		if (!ASSERT_OK_FD(cg_fd, "memory cgroup"))
			goto out;
	}
	err = storage_stress__load(skel);
	/* The maps are charged to the cgroup; the test is not */
	if (mode == STRESS_MEMCG && !ASSERT_OK(join_root_cgroup(), "leave memory cgroup"))
		goto out;
	if (!ASSERT_OK(err, "stress_load"))
		goto out;
	if (mode == STRESS_MEMCG) {
		sleep(3); /* a periodic flush of the cgroup's statistics */
		memcg_base = memcg_read(cg_fd, "memory.current");
		memcg_slab_base = memcg_slab(cg_fd);
		if (!ASSERT_GE(memcg_base, 0, "memory.current") ||
		    !ASSERT_GE(memcg_slab_base, 0, "slab in memory.stat") ||
		    !ASSERT_OK(memcg_set_max(memcg_base + MEMCG_HEADROOM), "memory.max"))
			goto out;
	}
	skel->bss->target_tgid = getpid();
	skel->bss->nmi_no_create = mode == STRESS_MEMCG;
	if (mode == STRESS_MEMCG) {
		/* Before anything creates: a failed create's element is
		 * recorded by storage_alloc_exit, then freed here.
		 */
		kfree_link = bpf_program__attach(skel->progs.unpublished_freed);
		if (!ASSERT_OK_PTR(kfree_link, "attach kfree_nolock"))
			goto out;
	}
	if (!ASSERT_OK(storage_stress__attach(skel), "stress_attach"))
		goto out;
	if (attach_hardirq(skel, perf_links, nr_cpus))
		goto out;
	if (!ASSERT_OK(nmi_source_start(&nmi_src), "nmi_source_start"))
		goto out;

	if (mode == STRESS_HOTPLUG) {
		err = pthread_create(&hp_thread, NULL, cpu_hotplug, &hp);
		if (!ASSERT_OK(err, "hotplug thread"))
			goto out;
		peak = stress_peak_live(skel, tracker, secs);
		WRITE_ONCE(hp.stop, true);
		pthread_join(hp_thread, NULL);
		printf("CPU offline/online cycles: %ld (%s)\n", hp.cycles, hp.path);
		ASSERT_GT(hp.cycles, 0, "CPU offlined and onlined");
	} else {
		peak = stress_peak_live(skel, tracker, secs);
	}
	printf("values not freed yet during the stress: at most %ld\n", peak);

	if (mode == STRESS_MAP_CLOSE) {
		/* Detach and close the map while deletes and their deferred
		 * frees are in flight.
		 */
		nmi = skel->bss->stats[CTX_NMI];
		print_stats(skel);
		for (i = 0; i < nr_cpus; i++) {
			bpf_link__destroy(perf_links[i]);
			perf_links[i] = NULL;
		}
		nmis = nmi_source_stop(&nmi_src);
		storage_stress__destroy(skel);
		skel = NULL;
	} else {
		skel->bss->stop = true;
		nmis = nmi_source_stop(&nmi_src);
		for (i = 0; i < nr_cpus; i++) {
			bpf_link__destroy(perf_links[i]);
			perf_links[i] = NULL;
		}
		/* Programs that saw !stop are done after a grace period */
		kern_sync_rcu();
		nmi = skel->bss->stats[CTX_NMI];
		print_stats(skel);
	}

	printf("NMI source: %s, NMIs injected: %ld, NMI program runs: %ld, NMI deletes: %ld\n",
	       nmi_source_name(&nmi_src), nmis, nmi.runs, nmi.deleted);
	ASSERT_GE(nmi.runs, NMI_RUNS_FLOOR, "NMI program runs");
	ASSERT_EQ(nmi.wrong_ctx, 0, "NMI program runs not in NMI");
	ASSERT_EQ(nmi.delete_eopnotsupp, 0, "NMI deletes refused with -EOPNOTSUPP");
	if (mode != STRESS_MEMCG)
		ASSERT_GE(nmi.deleted, NMI_DELETES_FLOOR, "NMI deletes done");
	if (!skel)
		goto out;

	ASSERT_EQ(skel->bss->stats[CTX_HARDIRQ].wrong_ctx, 0, "hardirq runs not in hardirq");
	if (mode == STRESS_MEMCG) {
		/* The limit was hit in every context that creates, and the
		 * failed creates (the element or the storage not allocated)
		 * were clean errors: nothing else is asserted about them but
		 * the frees below and a quiet kernel log.
		 */
		ASSERT_GT(skel->bss->stats[CTX_HARDIRQ].create_failed, 0,
			  "hardirq creates failed at the memcg limit");
		ASSERT_GT(skel->bss->stats[CTX_TASK].create_failed, 0,
			  "task creates failed at the memcg limit");
		ASSERT_GT(skel->bss->stats[CTX_HARDIRQ].created, 0, "hardirq creates");
		ASSERT_GT(skel->bss->stats[CTX_TASK].created, 0, "task creates");
		unfreed = count_keys(bpf_map__fd(skel->maps.unpublished));
		missed = recursion_misses(skel->progs.unpublished_freed);
		printf("creates whose storage was not allocated: %ld, ",
		       skel->bss->nr_storage_alloc_failed);
		printf("their elements never freed: %ld (kfree_nolock() calls not seen: %ld)\n",
		       unfreed, missed);
		ASSERT_GT(skel->bss->nr_storage_alloc_failed, 0, "storage allocations failed");
		ASSERT_LE(unfreed, missed, "elements of failed creates never freed");
		ASSERT_EQ(skel->bss->nr_unpublished_untracked, 0, "failed creates not tracked");
		ASSERT_OK(memcg_set_max(-1), "memory.max back to max");
	} else {
		ASSERT_GT(skel->bss->stats[CTX_HARDIRQ].deleted, 0, "hardirq deletes");
		ASSERT_GT(skel->bss->stats[CTX_KPROBE].deleted, 0, "kprobe deletes");
		ASSERT_GT(skel->bss->stats[CTX_TASK].deleted, 0, "task deletes");
	}
	for (i = 0; i < NR_STRESS_CTX; i++)
		ASSERT_EQ(skel->bss->stats[i].untracked, 0, "values not tracked");

	/* Every value must be freed while the map is alive: nothing may wait
	 * for map_free() to be flushed.
	 */
	sweep_storage(skel);
	left = wait_all_freed(tracker, &ms);
	printf("storage still linked after the stress (deleted now): %ld; ", skel->bss->nr_swept);
	printf("values freed: %ld, not freed with the map alive: %ld (after %ld ms)\n",
	       tracker->bss->nr_freed, left, ms);
	ASSERT_EQ(left, 0, "values not freed while the map is alive");
	if (mode == STRESS_MEMCG) {
		/* Every value freed, so the slab charged to the map's cgroup is
		 * back to what the map alone took, within the statistics the
		 * CPUs' stocks hold back (MEMCG_SLAB_SLACK_PER_CPU each). A
		 * value or storage leaked on a failed create's error path would
		 * keep its charge, up to the whole headroom, as creates fail by
		 * the thousand (kmalloc_nolock() objects are not known to
		 * kmemleak).
		 */
		for (i = 0; i < 50; i++) {
			memcg_now = memcg_slab(cg_fd);
			if (memcg_now <= memcg_slab_base + slab_slack)
				break;
			usleep(100000);
		}
		printf("memory cgroup: %ld bytes of slab before the stress, %ld after every free\n",
		       memcg_slab_base, memcg_now);
		ASSERT_GE(memcg_now, 0, "slab in memory.stat");
		ASSERT_LE(memcg_now, memcg_slab_base + slab_slack,
			  "slab charged to the map's cgroup back to its baseline");
	}
out:
	if (mode == STRESS_HOTPLUG)
		cpu_online_restore(&hp);
	nmi_source_cleanup(&nmi_src);
	for (i = 0; i < MAX_CPUS; i++)
		bpf_link__destroy(perf_links[i]);
	bpf_link__destroy(kfree_link);
	storage_stress__destroy(skel);
	if (tracker) {
		/* And nothing is left once the map is gone */
		left = wait_all_freed(tracker, &ms);
		printf("values freed: %ld, left over after map close: %ld, free not tracked: %ld\n",
		       tracker->bss->nr_freed, left, tracker->bss->nr_free_untracked);
		ASSERT_EQ(left, 0, "values never freed");
		ASSERT_EQ(tracker->bss->nr_free_untracked, 0, "frees not tracked");
	}
	storage_free_tracker__destroy(tracker);
	if (cg_fd >= 0) {
		close(cg_fd);
		join_root_cgroup();
		cleanup_cgroup_environment();
	}
}

static void test_cpu_down_queued(void)
{
	struct storage_free_tracker *tracker;
	struct storage_stress *skel = NULL;
	struct bpf_link *link = NULL;
	struct hotplug_ctl hp = {};
	pthread_t hp_thread;
	struct ctx_stats st;
	long left, ms;
	int err;

	if (pick_hotplug_cpu(&hp) < 0) {
		printf("%s:SKIP: no CPU that can go offline\n", __func__);
		test__skip();
		return;
	}

	tracker = storage_free_tracker__open_and_load();
	if (!ASSERT_OK_PTR(tracker, "tracker_load"))
		return;
	if (!ASSERT_OK(storage_free_tracker__attach(tracker), "tracker_attach"))
		goto out;
	skel = storage_stress__open();
	if (!ASSERT_OK_PTR(skel, "stress_open"))
		goto out;
	if (!ASSERT_OK(bpf_map__reuse_fd(skel->maps.live, bpf_map__fd(tracker->maps.live)),
		       "reuse live map"))
		goto out;
	if (!ASSERT_OK(storage_stress__load(skel), "stress_load"))
		goto out;
	link = bpf_program__attach(skel->progs.kprobe_take_cpu_down);
	if (!ASSERT_OK_PTR(link, "attach take_cpu_down"))
		goto out;

	err = pthread_create(&hp_thread, NULL, cpu_hotplug, &hp);
	if (!ASSERT_OK(err, "hotplug thread"))
		goto out;
	sleep(2);
	WRITE_ONCE(hp.stop, true);
	pthread_join(hp_thread, NULL);
	bpf_link__destroy(link);
	link = NULL;

	st = skel->bss->stats[CTX_KPROBE];
	printf("CPU offline/online cycles: %ld (%s); on the dying CPU: %ld created, %ld deleted\n",
	       hp.cycles, hp.path, st.created, st.deleted);
	ASSERT_GT(hp.cycles, 0, "CPU offlined and onlined");
	ASSERT_GT(st.deleted, 0, "deletes on the dying CPU");
	ASSERT_EQ(st.untracked, 0, "values not tracked");

	left = wait_all_freed(tracker, &ms);
	printf("values freed: %ld, not freed with the map alive: %ld (after %ld ms)\n",
	       tracker->bss->nr_freed, left, ms);
	ASSERT_EQ(left, 0, "values not freed while the map is alive");
out:
	cpu_online_restore(&hp);
	bpf_link__destroy(link);
	storage_stress__destroy(skel);
	storage_free_tracker__destroy(tracker);
}

void serial_test_storage_stress(void)
{
	if (test__start_subtest("nmi_delete"))
		run_stress(STRESS_SECS, STRESS_PLAIN);
	if (test__start_subtest("map_close"))
		run_stress(2, STRESS_MAP_CLOSE);
	if (test__start_subtest("cpu_hotplug"))
		run_stress(3, STRESS_HOTPLUG);
	if (test__start_subtest("cpu_down_queued"))
		test_cpu_down_queued();
	if (test__start_subtest("memcg_limit"))
		run_stress(STRESS_SECS, STRESS_MEMCG);
}
