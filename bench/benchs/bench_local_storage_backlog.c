// SPDX-License-Identifier: GPL-2.0
/* local-storage-backlog: how many deleted local storage objects wait to
 * be freed, how much memory they hold, and how long after the deletes
 * stop the backlog takes to reach 0.
 *
 * The producers (run it with -p <CPUs>) create and delete task storage of
 * their own thread in a loop (BPF_PROG_TEST_RUN of a bpf_loop()), at full
 * rate. Counting programs see every selem of the map freed and every RCU
 * Tasks Trace callback queued, so this is a counting benchmark: its delete
 * rate carries their cost (more of it without batched frees) and is not a
 * throughput figure. A thread samples the backlog (deleted minus freed
 * selems) every millisecond for its peak. After the last sample the
 * deletes stop, and the backlog is followed until it is 0.
 *
 * Bytes: each delete here empties the task's storage, so each deleted
 * selem also leaves its struct bpf_local_storage to free; both count
 * (kmalloc rounding aside).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include "bench_local_storage_common.h"
#include "bpf_util.h"
#include "bench_local_storage_backlog.skel.h"

static struct {
	int loops;
	int drain_timeout_ms;
} args = {
	.loops = 64,
	.drain_timeout_ms = 10000,
};

enum {
	ARG_BACKLOG_DRAIN_TIMEOUT = 13030,
};

static const struct argp_option opts[] = {
	{ "loops", ARG_LS_LOOPS, "LOOPS", 0,
	  "Create + delete pairs per program run (default 64)" },
	{ "drain-timeout", ARG_BACKLOG_DRAIN_TIMEOUT, "MS", 0,
	  "How long to wait for the backlog to reach 0 after the deletes stop" },
	{},
};

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case ARG_LS_LOOPS:
		args.loops = ls_parse_int(arg, 1, "loops", state);
		break;
	case ARG_BACKLOG_DRAIN_TIMEOUT:
		args.drain_timeout_ms = ls_parse_int(arg, 1, "drain-timeout", state);
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

const struct argp bench_local_storage_backlog_argp = {
	.options = opts,
	.parser = parse_arg,
};

static struct ctx {
	struct bench_local_storage_backlog *skel;
	int prog_fd;
	pthread_t sampler;
	struct ls_producers prod;
	bool sampler_stop;
	long peak;		/* backlog, by the sampler */
} ctx;

/* Deleted and not freed yet. Deletes are added once per program run, so
 * during a run the frees can be ahead: never below 0.
 */
static long backlog(void)
{
	struct bench_local_storage_backlog__bss *bss = ctx.skel->bss;
	long freed = __atomic_load_n(&bss->selems_freed, __ATOMIC_RELAXED);
	long deleted = __atomic_load_n(&bss->delete_cnts, __ATOMIC_RELAXED);

	return deleted > freed ? deleted - freed : 0;
}

static long bytes(long objects)
{
	return objects * (ctx.skel->bss->elem_size + ctx.skel->bss->storage_size);
}

static void *sampler(void *arg)
{
	long b;

	while (!__atomic_load_n(&ctx.sampler_stop, __ATOMIC_RELAXED)) {
		b = backlog();
		if (b > ctx.peak)
			ctx.peak = b;
		usleep(1000);
	}
	return NULL;
}

static void setup(void)
{
	struct bench_local_storage_backlog *skel;
	unsigned long long tt_srcu;

	setup_libbpf();
	tt_srcu = ls_tasks_trace_srcu();
	skel = bench_local_storage_backlog__open();
	if (!skel) {
		fprintf(stderr, "error opening skel\n");
		exit(1);
	}
	skel->data->nr_loops = args.loops;
	if (bench_local_storage_backlog__load(skel)) {
		fprintf(stderr, "error loading skel\n");
		exit(1);
	}
	skel->bss->tt_srcu = tt_srcu;
	if (!bpf_program__attach(skel->progs.count_tt_callback) ||
	    !bpf_program__attach(skel->progs.count_selem_free)) {
		fprintf(stderr, "error attaching the counting programs\n");
		exit(1);
	}
	ctx.skel = skel;
	ctx.prog_fd = bpf_program__fd(skel->progs.create_delete);
	if (pthread_create(&ctx.sampler, NULL, sampler, NULL)) {
		fprintf(stderr, "cannot start the sampler thread\n");
		exit(1);
	}
}

static void *producer(void *input)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts);

	return ls_test_run_producer(&ctx.prod, ctx.prog_fd, &opts);
}

/* res->hits: deletes; res->drops: failed creates and deletes; res->gp_ct:
 * Tasks Trace callbacks; res->important_hits: backlog at the sample.
 */
static long last_deletes;

static void measure(struct bench_res *res)
{
	struct bench_local_storage_backlog__bss *bss = ctx.skel->bss;
	long deletes = __atomic_load_n(&bss->delete_cnts, __ATOMIC_RELAXED);

	res->hits = deletes - last_deletes;
	last_deletes = deletes;
	res->drops = atomic_swap(&bss->errs, 0);
	res->gp_ct = atomic_swap(&bss->tt_callbacks, 0);
	res->important_hits = backlog();
}

static void report_progress(int iter, struct bench_res *res, long delta_ns)
{
	double deletes_per_sec = res->hits / 1000.0 / (delta_ns / 1000000000.0);

	printf("Iter %3d (%7.3lfus): deletes %8.3lfk/s (%7.3lfk/prod),",
	       iter, (delta_ns - 1000000000) / 1000.0, deletes_per_sec,
	       deletes_per_sec / env.producer_cnt);
	printf(" tasks-trace callbacks/delete %.4lf, backlog %ld objects (%ld bytes)\n",
	       res->hits ? (double)res->gp_ct / res->hits : 0.0,
	       res->important_hits, bytes(res->important_hits));
}

static void report_final(struct bench_res res[], int res_cnt)
{
	static const int marks_ms[] = { 10, 100, 250, 500, 1000 };
	long at_mark[ARRAY_SIZE(marks_ms)], at_stop, left;
	long deletes = 0, errs = 0, callbacks = 0;
	double drain_ms = -1.0, t_ms;
	struct basic_stats rate;
	__u64 stop_ns;
	int i, mark = 0;

	ls_stop_timer();
	for (i = 0; i < res_cnt; i++) {
		deletes += res[i].hits;
		errs += res[i].drops;
		callbacks += res[i].gp_ct;
	}
	ls_res_stats(res, res_cnt, ls_khits, &rate);

	/* Stop the deletes; follow the backlog until it is 0 */
	ls_producers_stop(&ctx.prod, 1000, 1000);
	stop_ns = get_time_ns();
	__atomic_store_n(&ctx.sampler_stop, true, __ATOMIC_RELAXED);
	pthread_join(ctx.sampler, NULL);
	at_stop = backlog();
	left = at_stop;
	for (i = 0; i < ARRAY_SIZE(marks_ms); i++)
		at_mark[i] = -1;
	for (;;) {
		t_ms = (get_time_ns() - stop_ns) / 1000000.0;
		left = backlog();
		while (mark < ARRAY_SIZE(marks_ms) && t_ms >= marks_ms[mark])
			at_mark[mark++] = left;
		if (!left) {
			drain_ms = t_ms;
			break;
		}
		if (t_ms > args.drain_timeout_ms)
			break;
		usleep(200);
	}
	/* Reached 0 before a mark: 0 there */
	while (mark < ARRAY_SIZE(marks_ms))
		at_mark[mark++] = left;

	printf("Summary: deletes %8.3lf \u00B1 %5.3lfk/s (%7.3lfk/prod), %ld total, %ld errors,",
	       rate.mean, rate.stddev, rate.mean / env.producer_cnt, deletes, errs);
	printf(" tasks-trace callbacks per delete %.4lf\n",
	       deletes ? (double)callbacks / deletes : 0.0);
	printf("Backlog: peak %ld objects (%ld bytes), at stop %ld objects (%ld bytes),",
	       ctx.peak, bytes(ctx.peak), at_stop, bytes(at_stop));
	printf(" %ld + %ld bytes per object\n",
	       ctx.skel->bss->elem_size, ctx.skel->bss->storage_size);
	printf("Drain:");
	for (i = 0; i < ARRAY_SIZE(marks_ms); i++)
		printf(" +%dms %ld,", marks_ms[i], at_mark[i]);
	if (drain_ms >= 0)
		printf(" 0 after %.1lf ms\n", drain_ms);
	else
		printf(" still %ld after %d ms\n", left, args.drain_timeout_ms);
	fflush(stdout);

	/* Frees in flight are done (or given up on): let the callbacks that
	 * ran the counting programs return before they are detached.
	 */
	sleep(1);
	bench_local_storage_backlog__destroy(ctx.skel);
	ctx.skel = NULL;
}

const struct bench bench_local_storage_backlog = {
	.name = "local-storage-backlog",
	.argp = &bench_local_storage_backlog_argp,
	.validate = ls_validate_no_consumers,
	.setup = setup,
	.producer_thread = producer,
	.measure = measure,
	.report_progress = report_progress,
	.report_final = report_final,
};
