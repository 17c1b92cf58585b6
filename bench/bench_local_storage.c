// SPDX-License-Identifier: GPL-2.0
/* Local storage benchmarks.
 *
 * local-storage-create: upstream semantics (selftests/bpf
 *   local-storage-create): producers open and close batches of
 *   socket(AF_INET6, SOCK_DGRAM) (--storage-type socket) or create and
 *   join batches of threads (task); a program creates storage for each.
 *   Reports creates/s and kmalloc_nolock() calls per create.
 * local-storage-delete: batches of threads whose task storage is created
 *   at fork and deleted explicitly at exit (the sched_ext pattern).
 *   Reports deletes/s, RCU Tasks Trace callbacks queued per delete, and
 *   the peak and final number of deleted selems not yet freed.
 * local-storage-nmi-delete: task storage created and deleted in NMI
 *   (NMIs from the vmtest host); unsupported where NMI deletes fail.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "bench.h"
#include "vmtest_nmi.h"
#include "bench_local_storage.skel.h"

static struct bench_local_storage *skel;
static long total_ops, total_kmallocs, total_tt_callbacks, total_freed;
static long waiting_peak;

#define swap0(field) __atomic_exchange_n(&skel->bss->field, 0, __ATOMIC_RELAXED)

/* Workload programs: each benchmark loads and attaches only its own. The
 * others are not loaded because their hooks may be missing in this kernel
 * (the socket LSM hook needs CONFIG_SECURITY_NETWORK) and would fail the
 * whole load. The counter programs (fentry) are always loaded.
 */
static const char *const workload_progs[] = {
	"sched_process_fork", "socket_post_create",
	"sched_process_exit", "nmi_create_delete", NULL,
};

static bool wanted(const char *name, const char *const *want)
{
	for (; *want; want++)
		if (!strcmp(name, *want))
			return true;
	return false;
}

/* Open, load and attach the counters and the programs named in @want
 * (NULL-terminated).
 */
static int load(const char *const *want)
{
	struct bpf_program *prog;
	int err;

	skel = bench_local_storage__open();
	if (!skel)
		return -errno;
	bpf_object__for_each_program(prog, skel->obj) {
		const char *name = bpf_program__name(prog);

		if (wanted(name, workload_progs))
			bpf_program__set_autoload(prog, wanted(name, want));
	}
	err = bench_local_storage__load(skel);
	if (err)
		return err;
	skel->bss->bench_pid = getpid();
	return bench_local_storage__attach(skel);
}

static void teardown(void)
{
	bench_local_storage__destroy(skel);
	skel = NULL;
}

static void *thread_fn(void *arg)
{
	return NULL;
}

static void *thread_batches(void *arg)
{
	pthread_t *t = calloc(env.batch_size, sizeof(*t));
	int *ok = calloc(env.batch_size, sizeof(*ok));
	int i;

	while (!bench_stop) {
		for (i = 0; i < env.batch_size; i++)
			ok[i] = !pthread_create(&t[i], NULL, thread_fn, NULL);
		for (i = 0; i < env.batch_size; i++)
			if (ok[i])
				pthread_join(t[i], NULL);
	}
	free(ok);
	free(t);
	return NULL;
}

static void *socket_batches(void *arg)
{
	int *fds = calloc(env.batch_size, sizeof(*fds));
	int i;

	while (!bench_stop) {
		for (i = 0; i < env.batch_size; i++)
			fds[i] = socket(AF_INET6, SOCK_DGRAM, 0);
		for (i = 0; i < env.batch_size; i++)
			if (fds[i] >= 0)
				close(fds[i]);
	}
	free(fds);
	return NULL;
}

static void *spin_syscalls(void *arg)
{
	while (!bench_stop)
		getppid();
	return NULL;
}

/* local-storage-create */

static bool create_socket;

static int create_setup(void)
{
	static const char *const socket_progs[] = { "socket_post_create", NULL };
	static const char *const task_progs[] = { "sched_process_fork", NULL };

	create_socket = !strcmp(env.storage_type, "socket");
	return load(create_socket ? socket_progs : task_progs);
}

static void *create_producer(void *arg)
{
	return create_socket ? socket_batches(arg) : thread_batches(arg);
}

static void create_measure(struct bench_sample *s)
{
	s->ops = swap0(create_cnts);
	s->extra[0] = swap0(kmalloc_cnts);
	total_ops += s->ops;
	total_kmallocs += s->extra[0];
}

static void create_report(struct bench_sample *s, int n, char *json, int len)
{
	double per = total_ops ? (double)total_kmallocs / total_ops : 0;

	printf(", %.2f kmallocs/create", per);
	snprintf(json, len, ", \"kmallocs_per_create\": %.3f, \"create_errs\": %ld",
		 per, skel->bss->create_errs);
}

const struct bench bench_local_storage_create = {
	.name = "local-storage-create",
	.unit = "creates",
	.setup = create_setup,
	.producer = create_producer,
	.measure = create_measure,
	.report = create_report,
	.teardown = teardown,
};

/* local-storage-delete */

static int delete_setup(void)
{
	static const char *const progs[] = {
		"sched_process_fork", "sched_process_exit", NULL
	};

	return load(progs);
}

static void delete_measure(struct bench_sample *s)
{
	long waiting;

	s->ops = swap0(delete_cnts);
	s->extra[0] = swap0(tt_callbacks);
	s->extra[1] = swap0(selems_freed);
	total_ops += s->ops;
	total_tt_callbacks += s->extra[0];
	total_freed += s->extra[1];
	/* Deleted since setup but not freed yet: waiting for a grace period
	 * (and, with the series, possibly still in a deferred list).
	 */
	waiting = total_ops - total_freed;
	s->extra[2] = waiting;
	if (waiting > waiting_peak)
		waiting_peak = waiting;
}

static void delete_report(struct bench_sample *s, int n, char *json, int len)
{
	double per = total_ops ? (double)total_tt_callbacks / total_ops : 0;
	long final = n ? (long)s[n - 1].extra[2] : 0;

	printf(", %.3f tasks-trace callbacks/delete, waiting peak %ld final %ld",
	       per, waiting_peak, final);
	snprintf(json, len, ", \"tt_callbacks_per_delete\": %.4f, \"waiting_peak\": %ld, "
		 "\"waiting_final\": %ld, \"delete_errs\": %ld",
		 per, waiting_peak, final, skel->bss->delete_errs);
}

const struct bench bench_local_storage_delete = {
	.name = "local-storage-delete",
	.unit = "deletes",
	.setup = delete_setup,
	.producer = thread_batches,
	.measure = delete_measure,
	.report = delete_report,
	.teardown = teardown,
};

/* local-storage-nmi-delete */

static int nmi_setup(void)
{
	static const char *const progs[] = { "nmi_create_delete", NULL };
	int err = load(progs);

	if (!err)
		err = vmtest_nmi_start(0);
	if (err)
		return err;
	/* Kernels without NMI-safe delete reject every NMI delete */
	sleep(1);
	if (!skel->bss->delete_cnts && skel->bss->delete_errs) {
		vmtest_nmi_stop();
		return -EOPNOTSUPP;
	}
	return 0;
}

static void nmi_measure(struct bench_sample *s)
{
	s->ops = swap0(delete_cnts);
	s->extra[0] = swap0(delete_errs);
	total_ops += s->ops;
}

static void nmi_report(struct bench_sample *s, int n, char *json, int len)
{
	long errs = 0;
	int i;

	for (i = 0; i < n; i++)
		errs += s[i].extra[0];
	printf(", %ld failed", errs);
	snprintf(json, len, ", \"delete_errs\": %ld", errs);
}

static void nmi_stop(void)
{
	vmtest_nmi_stop();
}

const struct bench bench_local_storage_nmi_delete = {
	.name = "local-storage-nmi-delete",
	.unit = "deletes",
	.setup = nmi_setup,
	.producer = spin_syscalls,
	.measure = nmi_measure,
	.report = nmi_report,
	.stop = nmi_stop,
	.teardown = teardown,
};
