// SPDX-License-Identifier: GPL-2.0
/* local-storage-map-close: how long after close() of its last fd a local
 * storage map is freed, while other CPUs delete local storage at full
 * rate.
 *
 * The producers (run it with -p <CPUs - 1>) create and delete task storage
 * of another map in a loop (BPF_PROG_TEST_RUN of a bpf_loop()). A closer
 * thread, over and over: creates a task storage map, gives each of
 * --owners sleeping child processes an element in it (trying again when
 * kmalloc_nolock() fails, as it does now and then under this load),
 * deletes --deletes of those elements, closes the map fd right away and
 * waits until bpf_local_storage_map_free() of that map has returned, as
 * seen by an fexit program. The deletes leave frees of the map's own
 * elements in flight when it is freed, which map_free must wait for (with
 * deferred frees: the batches queued on every CPU); the elements still
 * linked are freed by map_free itself. Reported per close: the time from
 * close() to the return of map_free (the map's free work waits for a
 * kworker, and map_free for grace periods and for the frees still
 * queued), and the time in map_free alone, over the closes after the
 * warm-up: those that ended during the samples, and more until there are
 * --min-closes.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include "bench_local_storage_common.h"
#include "bench_local_storage_map_close.skel.h"

#ifndef __NR_pidfd_open
#define __NR_pidfd_open 434
#endif

#define MAX_CLOSES	100000
#define MAX_ENOMEM_RETRIES 1000
#define CLOSE_TIMEOUT_NS (30 * 1000000000ULL)

static struct {
	int owners;
	int deletes;	/* -1: half of the owners */
	int loops;
	int min_closes;
} args = {
	.owners = 16,
	.deletes = -1,
	.loops = 64,
	.min_closes = 3,
};

enum {
	ARG_CLOSE_OWNERS = 13020,
	ARG_CLOSE_MIN_CLOSES = 13021,
	ARG_CLOSE_DELETES = 13022,
};

static const struct argp_option opts[] = {
	{ "owners", ARG_CLOSE_OWNERS, "OWNERS", 0,
	  "Tasks with an element in each map that is closed" },
	{ "deletes", ARG_CLOSE_DELETES, "N", 0,
	  "Elements deleted right before each close (default: half of the owners)" },
	{ "loops", ARG_LS_LOOPS, "LOOPS", 0,
	  "Create + delete pairs per program run of the load (default 64)" },
	{ "min-closes", ARG_CLOSE_MIN_CLOSES, "N", 0,
	  "Keep on after the samples until N closes were timed (default 3, 60 s at most)" },
	{},
};

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case ARG_CLOSE_OWNERS:
		args.owners = ls_parse_int(arg, 0, "owners", state);
		break;
	case ARG_LS_LOOPS:
		args.loops = ls_parse_int(arg, 1, "loops", state);
		break;
	case ARG_CLOSE_DELETES:
		args.deletes = ls_parse_int(arg, 0, "deletes", state);
		break;
	case ARG_CLOSE_MIN_CLOSES:
		args.min_closes = ls_parse_int(arg, 1, "min-closes", state);
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

const struct argp bench_local_storage_map_close_argp = {
	.options = opts,
	.parser = parse_arg,
};

static struct ctx {
	struct bench_local_storage_map_close *skel;
	struct bpf_link *links[2];
	int load_fd;
	int *pidfds;
	pid_t *children;
	pthread_t closer;
	struct ls_producers prod;	/* and the closer */
	long closer_done;
	/* Per close, written by the closer only */
	double close_ms[MAX_CLOSES];
	double free_ms[MAX_CLOSES];
	long nr_closes;
	long timeouts;
	long enomem_retries;
	long first_measured;	/* closes before it happened during warm-up */
	int nr_measure;
} ctx;

/* Add an element for @owner to the map @fd. Local storage is allocated
 * with kmalloc_nolock(), which can fail under contention even with free
 * memory (it only trylocks slab and zone locks): try again then.
 */
static int add_element(int fd, int owner, const void *value)
{
	int i;

	for (i = 0; ; i++) {
		if (!bpf_map_update_elem(fd, &ctx.pidfds[owner], value, BPF_NOEXIST))
			return 0;
		if (errno != ENOMEM || i == MAX_ENOMEM_RETRIES)
			return -errno;
		__atomic_add_fetch(&ctx.enomem_retries, 1, __ATOMIC_RELAXED);
		usleep(10);
	}
}

/* One map: create, fill, close, wait for its map_free to return */
static int close_one(unsigned int seq)
{
	LIBBPF_OPTS(bpf_map_create_opts, mopts);
	struct bench_local_storage_map_close__bss *bss = ctx.skel->bss;
	struct bpf_map *tmpl = ctx.skel->maps.victim_template;
	char name[16] = {}, value[64] = {};
	__u64 start, enter, exit_ns;
	int fd, i, err;
	long retries;

	mopts.btf_fd = bpf_object__btf_fd(ctx.skel->obj);
	mopts.btf_key_type_id = bpf_map__btf_key_type_id(tmpl);
	mopts.btf_value_type_id = bpf_map__btf_value_type_id(tmpl);
	mopts.map_flags = BPF_F_NO_PREALLOC;
	snprintf(name, sizeof(name), "lsclose_%u", seq);
	fd = bpf_map_create(BPF_MAP_TYPE_TASK_STORAGE, name, sizeof(int),
			    bpf_map__value_size(tmpl), 0, &mopts);
	if (fd < 0) {
		err = -errno;
		fprintf(stderr, "cannot create a task storage map: %s\n", strerror(-err));
		return err;
	}
	for (i = 0; i < args.owners; i++) {
		err = add_element(fd, i, value);
		if (err) {
			retries = __atomic_load_n(&ctx.enomem_retries, __ATOMIC_RELAXED);
			fprintf(stderr, "cannot add an element: %s (%ld retries after ENOMEM)\n",
				strerror(-err), retries);
			close(fd);
			return err;
		}
	}
	for (i = 0; i < args.deletes; i++) {
		if (bpf_map_delete_elem(fd, &ctx.pidfds[i])) {
			err = -errno;
			fprintf(stderr, "cannot delete an element: %s\n", strerror(-err));
			close(fd);
			return err;
		}
	}

	__atomic_store_n(&bss->target_map, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&bss->free_exit_ns, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&bss->free_enter_ns, 0, __ATOMIC_RELAXED);
	memcpy(bss->target_name, name, sizeof(bss->target_name));
	start = get_time_ns();
	close(fd);
	while (!(exit_ns = __atomic_load_n(&bss->free_exit_ns, __ATOMIC_ACQUIRE))) {
		if (get_time_ns() - start > CLOSE_TIMEOUT_NS) {
			ctx.timeouts++;
			memset(bss->target_name, 0, sizeof(bss->target_name));
			return 0;
		}
		usleep(50);
	}
	enter = __atomic_load_n(&bss->free_enter_ns, __ATOMIC_RELAXED);
	memset(bss->target_name, 0, sizeof(bss->target_name));
	if (ctx.nr_closes < MAX_CLOSES) {
		ctx.close_ms[ctx.nr_closes] = (exit_ns - start) / 1000000.0;
		ctx.free_ms[ctx.nr_closes] = (exit_ns - enter) / 1000000.0;
		__atomic_store_n(&ctx.nr_closes, ctx.nr_closes + 1, __ATOMIC_RELEASE);
	}
	return 0;
}

static long closes(void)
{
	return __atomic_load_n(&ctx.nr_closes, __ATOMIC_ACQUIRE);
}

static void *closer(void *arg)
{
	unsigned int seq = 0;

	while (!ls_producers_stopping(&ctx.prod))
		if (close_one(seq++))
			exit(1);
	__atomic_store_n(&ctx.closer_done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void setup(void)
{
	struct bench_local_storage_map_close *skel;
	pid_t parent = getpid();
	int i;

	setup_libbpf();
	if (args.deletes < 0)
		args.deletes = args.owners / 2;
	if (args.deletes > args.owners) {
		fprintf(stderr, "--deletes %d: more than the %d owners\n",
			args.deletes, args.owners);
		exit(1);
	}
	printf("Map close: %d owners with an element, %d deleted right before each close\n",
	       args.owners, args.deletes);
	ctx.pidfds = calloc(args.owners, sizeof(*ctx.pidfds));
	ctx.children = calloc(args.owners, sizeof(*ctx.children));
	if (!ctx.pidfds || !ctx.children) {
		fprintf(stderr, "out of memory\n");
		exit(1);
	}
	for (i = 0; i < args.owners; i++) {
		ctx.children[i] = fork();
		if (ctx.children[i] < 0) {
			fprintf(stderr, "cannot fork owner %d: %s\n", i, strerror(errno));
			exit(1);
		}
		if (!ctx.children[i]) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (getppid() != parent)
				_exit(0);
			for (;;)
				pause();
		}
		ctx.pidfds[i] = syscall(__NR_pidfd_open, ctx.children[i], 0);
		if (ctx.pidfds[i] < 0) {
			fprintf(stderr, "pidfd_open: %s\n", strerror(errno));
			exit(1);
		}
	}

	skel = bench_local_storage_map_close__open();
	if (!skel) {
		fprintf(stderr, "error opening skel\n");
		exit(1);
	}
	skel->data->nr_loops = args.loops;
	if (bench_local_storage_map_close__load(skel)) {
		fprintf(stderr, "error loading skel\n");
		exit(1);
	}
	ctx.skel = skel;
	ctx.load_fd = bpf_program__fd(skel->progs.create_delete);
	ctx.links[0] = bpf_program__attach(skel->progs.map_free_enter);
	ctx.links[1] = bpf_program__attach(skel->progs.map_free_exit);
	if (!ctx.links[0] || !ctx.links[1]) {
		fprintf(stderr, "error attaching to bpf_local_storage_map_free\n");
		exit(1);
	}
	if (pthread_create(&ctx.closer, NULL, closer, NULL)) {
		fprintf(stderr, "cannot start the closer thread\n");
		exit(1);
	}
}

static void *producer(void *input)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts);

	return ls_test_run_producer(&ctx.prod, ctx.load_fd, &opts);
}

/* res->hits: deletes of the load; res->drops: its failed creates and
 * deletes; res->gp_ct: closes done so far.
 */
static void measure(struct bench_res *res)
{
	res->hits = atomic_swap(&ctx.skel->bss->delete_cnts, 0);
	res->drops = atomic_swap(&ctx.skel->bss->errs, 0);
	res->gp_ct = __atomic_load_n(&ctx.nr_closes, __ATOMIC_ACQUIRE);
	if (++ctx.nr_measure == env.warmup_sec)
		ctx.first_measured = res->gp_ct;
}

static void report_progress(int iter, struct bench_res *res, long delta_ns)
{
	double deletes_per_sec = res->hits / 1000.0 / (delta_ns / 1000000000.0);
	long n = res->gp_ct;

	printf("Iter %3d (%7.3lfus): load deletes %8.3lfk/s (%7.3lfk/prod),",
	       iter, (delta_ns - 1000000000) / 1000.0, deletes_per_sec,
	       deletes_per_sec / env.producer_cnt);
	printf(" %ld failed, %ld closes, last close to free %.3lf ms\n",
	       res->drops, n, n ? ctx.close_ms[n - 1] : 0.0);
}

/* A sample's failed creates and deletes of the load (per second) */
static double load_failures(struct bench_res *res)
{
	return res->drops;
}

static double max_of(const double *v, long n)
{
	double m = 0.0;
	long i;

	for (i = 0; i < n; i++)
		if (v[i] > m)
			m = v[i];
	return m;
}

static void report_final(struct bench_res res[], int res_cnt)
{
	struct basic_stats load, failed, to_free, in_free;
	long first, n, i;

	ls_stop_timer();
	/* The closes that ended after the warm-up: at least --min-closes of
	 * them, the load still running, when closes are slow (a close can
	 * take longer than the samples).
	 */
	first = ctx.first_measured;
	for (i = 0; i < 600 && closes() - first < args.min_closes; i++)
		usleep(100000);
	n = closes() - first;

	ls_res_stats(res, res_cnt, ls_khits, &load);
	ls_res_stats(res, res_cnt, load_failures, &failed);
	ls_stats(ctx.close_ms + first, n, &to_free);
	ls_stats(ctx.free_ms + first, n, &in_free);

	printf("Summary: load deletes %8.3lf \u00B1 %5.3lfk/s (%7.3lfk/prod),",
	       load.mean, load.stddev, load.mean / env.producer_cnt);
	printf(" %d producers on %d CPUs\n", env.producer_cnt, env.nr_cpus);
	/* Creates fail mostly when kmalloc_nolock() does: it neither reclaims
	 * nor spins on a contended slab or zone lock.
	 */
	printf("Summary: load failures %.1lf \u00B1 %.1lf/s (failed creates and deletes)\n",
	       failed.mean, failed.stddev);
	if (n > 0) {
		printf("Summary: close to free %.3lf \u00B1 %.3lf ms (max %.3lf),",
		       to_free.mean, to_free.stddev, max_of(ctx.close_ms + first, n));
		printf(" in map_free %.3lf \u00B1 %.3lf ms (max %.3lf),",
		       in_free.mean, in_free.stddev, max_of(ctx.free_ms + first, n));
		printf(" %ld closes, %ld timed out\n", n, ctx.timeouts);
	} else {
		printf("Error: no map was freed after the warm-up (%ld timed out after %llu s)\n",
		       ctx.timeouts, CLOSE_TIMEOUT_NS / 1000000000ULL);
	}
	printf("Closer: %ld element creates retried after ENOMEM\n",
	       __atomic_load_n(&ctx.enomem_retries, __ATOMIC_RELAXED));
	fflush(stdout);

	/* Quiet down before the probes go: nothing may be in
	 * bpf_local_storage_map_free() when they are detached, nor deleting.
	 */
	__atomic_store_n(&ctx.prod.stop, true, __ATOMIC_RELAXED);
	for (i = 0; i < 400 && !__atomic_load_n(&ctx.closer_done, __ATOMIC_ACQUIRE); i++)
		usleep(100000);
	ls_producers_stop(&ctx.prod, 50, 100000);
	sleep(1);
	bpf_link__destroy(ctx.links[0]);
	bpf_link__destroy(ctx.links[1]);
	bench_local_storage_map_close__destroy(ctx.skel);
	ctx.skel = NULL;
	for (i = 0; i < args.owners; i++)
		kill(ctx.children[i], SIGKILL);
}

const struct bench bench_local_storage_map_close = {
	.name = "local-storage-map-close",
	.argp = &bench_local_storage_map_close_argp,
	.validate = ls_validate_no_consumers,
	.setup = setup,
	.producer_thread = producer,
	.measure = measure,
	.report_progress = report_progress,
	.report_final = report_final,
};
