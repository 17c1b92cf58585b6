/* SPDX-License-Identifier: GPL-2.0 */
/* A small benchmark framework in the style of selftests/bpf bench: N
 * producer threads run flat out, a sample is taken every second after a
 * warm-up, and the summary is the mean and standard deviation of the
 * samples.
 */
#ifndef __BENCH_H
#define __BENCH_H

#include <stdbool.h>

struct bench_env {
	int producer_cnt;	/* -p */
	int warmup_sec;		/* -w */
	int duration_sec;	/* -d */
	int batch_size;		/* --batch-size */
	const char *storage_type; /* --storage-type socket|task */
	bool detach_busy;	/* --detach-busy: exit while producers run */
};

extern struct bench_env env;

/* Set when sampling is over: producers return at their next batch */
extern volatile bool bench_stop;

struct bench_sample {
	double ops;		/* operations in this one-second sample */
	double extra[4];	/* benchmark-specific, per sample */
};

struct bench {
	const char *name;
	const char *unit;	/* what ops counts, e.g. "creates" */
	/* Returns 0, or a negative errno; -EOPNOTSUPP: not on this kernel */
	int (*setup)(void);
	void *(*producer)(void *arg);
	/* Fill @s with what happened since the last call */
	void (*measure)(struct bench_sample *s);
	/* Print and return in @json benchmark-specific summary fields */
	void (*report)(struct bench_sample *s, int n, char *json, int len);
	/* Right after the producers returned: stop other load (NMIs) */
	void (*stop)(void);
	/* Once the system went quiet: detach and free */
	void (*teardown)(void);
};

extern const struct bench bench_local_storage_create;
extern const struct bench bench_local_storage_delete;
extern const struct bench bench_local_storage_nmi_delete;

double bench_mean(const double *v, int n);
double bench_stddev(const double *v, int n);

#endif
