/* SPDX-License-Identifier: GPL-2.0 */
/* What the local storage delete, delete-cost, map-close and backlog
 * benchmarks (benchs/bench_local_storage_{delete,delete_cost,map_close,
 * backlog}.c) share: option parsing, producers that run until told to
 * stop and then park (so that nothing is deleting when the programs are
 * detached), the end of sampling, and the statistics of their summaries.
 */
#ifndef __BENCH_LOCAL_STORAGE_COMMON_H__
#define __BENCH_LOCAL_STORAGE_COMMON_H__

#include <argp.h>
#include <sys/time.h>
#include "bench.h"
#include "testing_helpers.h"
#include "trace_helpers.h"

/* --loops, the same option in every benchmark that has it */
#define ARG_LS_LOOPS 13012

/* An option's whole number, at least @min; else the usage, which exits */
static inline int ls_parse_int(const char *arg, int min, const char *name,
			       struct argp_state *state)
{
	int val = atoi(arg);

	if (val < min) {
		fprintf(stderr, "invalid %s\n", name);
		argp_usage(state);
	}
	return val;
}

static inline void ls_validate_no_consumers(void)
{
	if (env.consumer_cnt != 0) {
		fprintf(stderr, "%s benchmark does not need consumers\n", bench->name);
		exit(1);
	}
}

struct ls_producers {
	bool stop;
	long parked;
};

static inline bool ls_producers_stopping(struct ls_producers *p)
{
	return __atomic_load_n(&p->stop, __ATOMIC_RELAXED);
}

/* The end of a producer thread */
static inline void *ls_producer_park(struct ls_producers *p)
{
	atomic_inc(&p->parked);
	return NULL;
}

/* Stop the producers and wait, @tries times @usec at most, until they
 * all parked.
 */
static inline void ls_producers_stop(struct ls_producers *p, int tries, useconds_t usec)
{
	int i;

	__atomic_store_n(&p->stop, true, __ATOMIC_RELAXED);
	for (i = 0; i < tries && __atomic_load_n(&p->parked, __ATOMIC_RELAXED) < env.producer_cnt;
	     i++)
		usleep(usec);
}

/* A producer: BPF_PROG_TEST_RUN of @prog_fd until the producers stop */
static inline void *ls_test_run_producer(struct ls_producers *p, int prog_fd,
					 struct bpf_test_run_opts *opts)
{
	while (!ls_producers_stopping(p)) {
		if (bpf_prog_test_run_opts(prog_fd, opts)) {
			fprintf(stderr, "BPF_PROG_TEST_RUN: %s\n", strerror(errno));
			exit(1);
		}
	}
	return ls_producer_park(p);
}

/* No more measure() calls from bench's 1 s timer: report_final() reads
 * the samples and may then tear down what measure() reads.
 */
static inline void ls_stop_timer(void)
{
	struct itimerval no_timer = {};

	setitimer(ITIMER_REAL, &no_timer, NULL);
}

/* Mean and sample standard deviation of @n values */
static inline void ls_stats(const double *v, long n, struct basic_stats *st)
{
	long i;

	st->mean = 0.0;
	st->stddev = 0.0;
	for (i = 0; i < n; i++)
		st->mean += v[i] / n;
	if (n > 1) {
		for (i = 0; i < n; i++)
			st->stddev += (v[i] - st->mean) * (v[i] - st->mean) / (n - 1.0);
		st->stddev = sqrt(st->stddev);
	}
}

/* The same of a value of each sample */
static inline void ls_res_stats(struct bench_res res[], int res_cnt,
				double (*value)(struct bench_res *res), struct basic_stats *st)
{
	double d;
	int i;

	st->mean = 0.0;
	st->stddev = 0.0;
	for (i = 0; i < res_cnt; i++)
		st->mean += value(&res[i]) / res_cnt;
	if (res_cnt > 1) {
		for (i = 0; i < res_cnt; i++) {
			d = value(&res[i]) - st->mean;
			st->stddev += d * d / (res_cnt - 1.0);
		}
		st->stddev = sqrt(st->stddev);
	}
}

/* A sample's hits in thousands: k/s of a one-second sample */
static inline double ls_khits(struct bench_res *res)
{
	return res->hits / 1000.0;
}

/* RCU Tasks Trace is an SRCU domain: call_rcu_tasks_trace() is
 * call_srcu() on rcu_tasks_trace_srcu_struct. Its address, for the
 * programs that count Tasks Trace callbacks.
 */
static inline unsigned long long ls_tasks_trace_srcu(void)
{
	unsigned long long addr = 0;

	/* 0: kallsyms hides addresses (kptr_restrict) */
	if (kallsyms_find("rcu_tasks_trace_srcu_struct", &addr) || !addr) {
		fprintf(stderr, "no address of rcu_tasks_trace_srcu_struct in /proc/kallsyms\n");
		exit(1);
	}
	return addr;
}

#endif /* __BENCH_LOCAL_STORAGE_COMMON_H__ */
