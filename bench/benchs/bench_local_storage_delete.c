// SPDX-License-Identifier: GPL-2.0
/* local-storage-delete: task storage created when a thread is forked and
 * deleted explicitly when it exits, the pattern of sched_ext schedulers
 * (ops.init_task() creates, ops.exit_task() deletes under the rq lock).
 * Producers create and join batches of --batch-size threads.
 *
 * Reports deletes/s. With --counters it also attaches two counting
 * programs and reports the RCU Tasks Trace callbacks queued per delete
 * and the backlog: deleted selems not freed yet, at each sample. The
 * counting programs slow deletes down, and not equally on every kernel
 * (one runs per call_srcu(): per delete without batching, per batch with
 * it), so compare delete rates only from runs without --counters.
 */
#include <pthread.h>
#include "bench_local_storage_common.h"
#include "bench_local_storage_delete.skel.h"

static struct {
	int batch_sz;
	bool counters;
} args = {
	.batch_sz = 32,
};

enum {
	ARG_DELETE_BATCH_SZ = 13000,
	ARG_DELETE_COUNTERS = 13001,
};

static const struct argp_option opts[] = {
	{ "batch-size", ARG_DELETE_BATCH_SZ, "BATCH_SIZE", 0,
	  "Threads created and joined in each batch" },
	{ "counters", ARG_DELETE_COUNTERS, NULL, 0,
	  "Attach counting programs: Tasks Trace callbacks per delete, backlog" },
	{},
};

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case ARG_DELETE_BATCH_SZ:
		args.batch_sz = ls_parse_int(arg, 1, "batch-size", state);
		break;
	case ARG_DELETE_COUNTERS:
		args.counters = true;
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

const struct argp bench_local_storage_delete_argp = {
	.options = opts,
	.parser = parse_arg,
};

static struct ctx {
	struct bench_local_storage_delete *skel;
	long total_deletes;	/* all samples, for the backlog */
	long backlog_peak;
	struct ls_producers prod;
} ctx;

static void setup(void)
{
	struct bench_local_storage_delete *skel;
	unsigned long long tt_srcu = 0;

	setup_libbpf();
	if (args.counters)
		tt_srcu = ls_tasks_trace_srcu();
	skel = bench_local_storage_delete__open();
	if (!skel) {
		fprintf(stderr, "error opening skel\n");
		exit(1);
	}
	bpf_program__set_autoload(skel->progs.count_tt_callback, args.counters);
	bpf_program__set_autoload(skel->progs.count_selem_free, args.counters);
	if (bench_local_storage_delete__load(skel)) {
		fprintf(stderr, "error loading skel\n");
		exit(1);
	}
	skel->bss->bench_pid = getpid();
	skel->bss->tt_srcu = tt_srcu;
	if (!bpf_program__attach(skel->progs.sched_process_fork) ||
	    !bpf_program__attach(skel->progs.sched_process_exit)) {
		fprintf(stderr, "error attaching the fork and exit programs\n");
		exit(1);
	}
	if (args.counters &&
	    (!bpf_program__attach(skel->progs.count_tt_callback) ||
	     !bpf_program__attach(skel->progs.count_selem_free))) {
		fprintf(stderr, "error attaching the counting programs\n");
		exit(1);
	}
	ctx.skel = skel;
}

static void *thread_func(void *arg)
{
	return NULL;
}

static void *producer(void *input)
{
	pthread_t *pthds = calloc(args.batch_sz, sizeof(*pthds));
	int *created = calloc(args.batch_sz, sizeof(*created));
	int i;

	if (!pthds || !created) {
		fprintf(stderr, "cannot allocate a batch\n");
		exit(1);
	}
	while (!ls_producers_stopping(&ctx.prod)) {
		for (i = 0; i < args.batch_sz; i++)
			created[i] = !pthread_create(&pthds[i], NULL, thread_func, NULL);
		for (i = 0; i < args.batch_sz; i++)
			if (created[i])
				pthread_join(pthds[i], NULL);
	}
	return ls_producer_park(&ctx.prod);
}

/* Deleted and not freed yet (--counters only) */
static long backlog(void)
{
	long freed = __atomic_load_n(&ctx.skel->bss->selems_freed, __ATOMIC_RELAXED);

	return ctx.total_deletes > freed ? ctx.total_deletes - freed : 0;
}

/* res->hits: deletes; res->drops: failed creates and deletes;
 * res->gp_ct: Tasks Trace callbacks; res->important_hits: backlog at the
 * sample (--counters).
 */
static void measure(struct bench_res *res)
{
	res->hits = atomic_swap(&ctx.skel->bss->delete_cnts, 0);
	res->drops = atomic_swap(&ctx.skel->bss->delete_errs, 0) +
		     atomic_swap(&ctx.skel->bss->create_errs, 0);
	ctx.total_deletes += res->hits;
	if (args.counters) {
		res->gp_ct = atomic_swap(&ctx.skel->bss->tt_callbacks, 0);
		res->important_hits = backlog();
		if (res->important_hits > ctx.backlog_peak)
			ctx.backlog_peak = res->important_hits;
	}
}

static void report_progress(int iter, struct bench_res *res, long delta_ns)
{
	double deletes_per_sec = res->hits / 1000.0 / (delta_ns / 1000000000.0);

	printf("Iter %3d (%7.3lfus): deletes %8.3lfk/s (%7.3lfk/prod)",
	       iter, (delta_ns - 1000000000) / 1000.0,
	       deletes_per_sec, deletes_per_sec / env.producer_cnt);
	if (args.counters)
		printf(", tasks-trace callbacks/delete %.4lf, backlog %ld",
		       res->hits ? (double)res->gp_ct / res->hits : 0.0,
		       res->important_hits);
	printf("\n");
}

/* Stop the producers and let the frees in flight finish before the
 * programs are detached at exit: detaching a tracing program while a
 * free path runs it (from softirq, on any CPU) is what the quiesce time
 * avoids.
 */
static void quiesce(void)
{
	int i;

	ls_producers_stop(&ctx.prod, 100, 100000);
	if (args.counters) {
		ctx.total_deletes += atomic_swap(&ctx.skel->bss->delete_cnts, 0);
		for (i = 0; i < 100 && backlog(); i++)
			usleep(100000);
	}
	sleep(1);
	bench_local_storage_delete__destroy(ctx.skel);
	ctx.skel = NULL;
}

static void report_final(struct bench_res res[], int res_cnt)
{
	long deletes = 0, errs = 0, callbacks = 0, final = 0;
	struct basic_stats rate;
	int i;

	ls_stop_timer();
	for (i = 0; i < res_cnt; i++) {
		deletes += res[i].hits;
		errs += res[i].drops;
		callbacks += res[i].gp_ct;
	}
	ls_res_stats(res, res_cnt, ls_khits, &rate);
	if (res_cnt)
		final = res[res_cnt - 1].important_hits;
	printf("Summary: deletes %8.3lf \u00B1 %5.3lfk/s (%7.3lfk/prod), %ld total, %ld errors\n",
	       rate.mean, rate.stddev, rate.mean / env.producer_cnt, deletes, errs);
	if (args.counters) {
		printf("Counters: tasks-trace callbacks per delete %.4lf,",
		       deletes ? (double)callbacks / deletes : 0.0);
		printf(" backlog peak %ld final %ld objects (%ld bytes per selem)\n",
		       ctx.backlog_peak, final, ctx.skel->bss->elem_size);
	}
	fflush(stdout);
	quiesce();
}

const struct bench bench_local_storage_delete = {
	.name = "local-storage-delete",
	.argp = &bench_local_storage_delete_argp,
	.validate = ls_validate_no_consumers,
	.setup = setup,
	.producer_thread = producer,
	.measure = measure,
	.report_progress = report_progress,
	.report_final = report_final,
};
