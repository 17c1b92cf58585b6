// SPDX-License-Identifier: GPL-2.0
/* bench: run one benchmark and print its samples, a summary line and one
 * machine-readable line:
 *
 *   BENCH_RESULT {"bench": ..., "params": ..., "unit": ..., "mean": ...,
 *                 "stddev": ..., "samples": [...], ...}
 *
 * usage: bench [-p N] [-w SEC] [-d SEC] NAME [--storage-type socket|task]
 *              [--batch-size N] [--detach-busy]
 * Exit status: 0; 2 on bad usage; 3 when the benchmark is not supported by
 * the running kernel (it prints BENCH_RESULT with "unsupported": true).
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "bench.h"

volatile bool bench_stop;

struct bench_env env = {
	.producer_cnt = 1,
	.warmup_sec = 1,
	.duration_sec = 5,
	.batch_size = 32,
	.storage_type = "socket",
};

/* Time given to frees in flight (RCU callbacks, irq_work) before detaching */
#define QUIESCE_SECS 2

static const struct bench *benchs[] = {
	&bench_local_storage_create,
	&bench_local_storage_delete,
	&bench_local_storage_nmi_delete,
};

double bench_mean(const double *v, int n)
{
	double sum = 0;
	int i;

	for (i = 0; i < n; i++)
		sum += v[i];
	return n ? sum / n : 0;
}

double bench_stddev(const double *v, int n)
{
	double mean = bench_mean(v, n), sum = 0;
	int i;

	for (i = 0; i < n; i++)
		sum += (v[i] - mean) * (v[i] - mean);
	return n > 1 ? sqrt(sum / (n - 1)) : 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: bench [-p N] [-w SEC] [-d SEC] NAME [--storage-type socket|task] [--batch-size N]\n"
		"             [--detach-busy]\n"
		"benchmarks: local-storage-create, local-storage-delete, local-storage-nmi-delete\n");
	exit(2);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	const struct bench *b = NULL;
	struct bench_sample *samples;
	char json[512] = "", params[128];
	pthread_t *producers;
	double *ops, start, t;
	int i, err;
	size_t k;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-p") && i + 1 < argc)
			env.producer_cnt = atoi(argv[++i]);
		else if (!strcmp(argv[i], "-w") && i + 1 < argc)
			env.warmup_sec = atoi(argv[++i]);
		else if (!strcmp(argv[i], "-d") && i + 1 < argc)
			env.duration_sec = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--batch-size") && i + 1 < argc)
			env.batch_size = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--storage-type") && i + 1 < argc)
			env.storage_type = argv[++i];
		else if (!strcmp(argv[i], "--detach-busy"))
			env.detach_busy = true;
		else if (!b) {
			for (k = 0; k < sizeof(benchs) / sizeof(benchs[0]); k++)
				if (!strcmp(argv[i], benchs[k]->name))
					b = benchs[k];
			if (!b) {
				fprintf(stderr, "bench: unknown benchmark '%s'\n", argv[i]);
				usage();
			}
		} else {
			usage();
		}
	}
	if (!b || env.producer_cnt < 1 || env.duration_sec < 1 || env.batch_size < 1 ||
	    (strcmp(env.storage_type, "socket") && strcmp(env.storage_type, "task")))
		usage();

	snprintf(params, sizeof(params), "-p %d%s%s --batch-size %d", env.producer_cnt,
		 strcmp(b->name, "local-storage-create") ? "" : " --storage-type ",
		 strcmp(b->name, "local-storage-create") ? "" : env.storage_type, env.batch_size);
	printf("Setting up benchmark '%s' (%s)...\n", b->name, params);
	err = b->setup();
	if (err) {
		printf("bench: %s: %s\n", b->name,
		       err == -EOPNOTSUPP ? "unsupported on this kernel" : strerror(-err));
		printf("BENCH_RESULT {\"bench\": \"%s\", \"params\": \"%s\", \"unsupported\": %s, \"error\": %d}\n",
		       b->name, params, err == -EOPNOTSUPP ? "true" : "false", err);
		return err == -EOPNOTSUPP ? 3 : 1;
	}

	samples = calloc(env.duration_sec, sizeof(*samples));
	ops = calloc(env.duration_sec, sizeof(*ops));
	producers = calloc(env.producer_cnt, sizeof(*producers));
	if (!samples || !ops || !producers)
		return 1;
	for (i = 0; i < env.producer_cnt; i++) {
		if (pthread_create(&producers[i], NULL, b->producer, (void *)(long)i)) {
			fprintf(stderr, "bench: cannot start producer %d\n", i);
			return 1;
		}
	}

	/* Warm-up: measure and throw away */
	sleep(env.warmup_sec);
	b->measure(&samples[0]);
	start = now();
	for (i = 0; i < env.duration_sec; i++) {
		t = start + i + 1 - now();
		if (t > 0)
			usleep(t * 1e6);
		b->measure(&samples[i]);
		ops[i] = samples[i].ops;
		printf("Iter %3d: %s %10.3fk/s\n", i, b->unit, ops[i] / 1000);
		fflush(stdout);
	}
	printf("Summary: %s %.3f \u00b1 %.3fk/s", b->unit, bench_mean(ops, i) / 1000,
	       bench_stddev(ops, i) / 1000);
	b->report(samples, i, json, sizeof(json));
	printf("\n");
	printf("BENCH_RESULT {\"bench\": \"%s\", \"params\": \"%s\", \"unit\": \"%s/s\", \"mean\": %.1f, \"stddev\": %.1f, \"samples\": [",
	       b->name, params, b->unit, bench_mean(ops, i), bench_stddev(ops, i));
	for (k = 0; k < (size_t)i; k++)
		printf("%s%.1f", k ? ", " : "", ops[k]);
	printf("]%s}\n", json);
	fflush(stdout);

	/* Detach only once nothing runs the programs any more: detaching a
	 * tracing program while another CPU executes its trampoline (the
	 * counters' fentry programs on free paths run from softirq) raced
	 * into an "Oops: int3" in the trampoline or at the fentry site on
	 * base and patched 7.3 under TCG. --detach-busy reproduces it: run
	 * local-storage-create --storage-type task in a loop with it.
	 */
	if (env.detach_busy)
		_exit(0);
	bench_stop = true;
	for (i = 0; i < env.producer_cnt; i++)
		pthread_join(producers[i], NULL);
	if (b->stop)
		b->stop();
	sleep(QUIESCE_SECS);
	if (b->teardown)
		b->teardown();
	return 0;
}
