// SPDX-License-Identifier: GPL-2.0
/* local-storage-delete-cost: what one create + delete of local storage
 * costs, without thread creation or exit around it. A program creates and
 * deletes task storage of the current task (--owner task) or cgroup
 * storage of its cgroup (--owner cgroup) --loops times in a bpf_loop() and
 * times the loop. It runs in (--context):
 *
 *   process  BPF_PROG_TEST_RUN from each producer (preemption disabled);
 *   hardirq  BPF_PROG_TEST_RUN with BPF_F_TEST_RUN_ON_CPU on the next CPU,
 *            which runs the program in that CPU's IPI handler (needs two
 *            CPUs; producer N runs on CPU N and targets CPU N + 1);
 *   nmi      in NMIs: a hardware cycles perf event on every CPU, whose
 *            overflow interrupt is an NMI on x86. Without a PMU (QEMU
 *            without KVM), and only when the environment names one, a test
 *            harness injects the NMIs: VMTEST_NMI_CTL names its control
 *            device (VMTEST_NMI_RATE alone: /dev/ttyS1), the protocol is
 *            that of prog_tests/nmi_source.h, and tp_btf/nmi_handler runs
 *            the program. Producers keep every CPU busy in this process.
 *
 * Reports create + delete pairs per second and nanoseconds per pair inside
 * the program (the loop's own time: no syscall, IPI or NMI entry). A
 * kernel that cannot delete in the chosen context (all deletes fail) or
 * has no NMI source gets "Unsupported: <why>".
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <poll.h>
#include <termios.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include "bench_local_storage_common.h"
#include "bpf_util.h"
#include "bench_local_storage_delete_cost.skel.h"

enum {
	CTX_PROCESS,
	CTX_HARDIRQ,
	CTX_NMI,
};

static const char * const ctx_names[] = { "process", "hardirq", "nmi" };

static struct {
	bool cgroup;
	int context;
	int loops;	/* 0: 256, in NMI 8 */
} args = {
	.context = CTX_PROCESS,
};

enum {
	ARG_COST_OWNER = 13010,
	ARG_COST_CONTEXT = 13011,
};

static const struct argp_option opts[] = {
	{ "owner", ARG_COST_OWNER, "OWNER", 0,
	  "Storage of the current task or of its cgroup (task or cgroup)" },
	{ "context", ARG_COST_CONTEXT, "CONTEXT", 0,
	  "Where the program runs (process, hardirq or nmi)" },
	{ "loops", ARG_LS_LOOPS, "LOOPS", 0,
	  "Create + delete pairs per program run (default 256, in NMI 8)" },
	{},
};

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	int i;

	switch (key) {
	case ARG_COST_OWNER:
		if (!strcmp(arg, "task") || !strcmp(arg, "cgroup")) {
			args.cgroup = !strcmp(arg, "cgroup");
		} else {
			fprintf(stderr, "invalid owner (task or cgroup)\n");
			argp_usage(state);
		}
		break;
	case ARG_COST_CONTEXT:
		for (i = 0; i < ARRAY_SIZE(ctx_names); i++)
			if (!strcmp(arg, ctx_names[i]))
				break;
		if (i == ARRAY_SIZE(ctx_names)) {
			fprintf(stderr, "invalid context (process, hardirq or nmi)\n");
			argp_usage(state);
		}
		args.context = i;
		break;
	case ARG_LS_LOOPS:
		args.loops = ls_parse_int(arg, 1, "loops", state);
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

const struct argp bench_local_storage_delete_cost_argp = {
	.options = opts,
	.parser = parse_arg,
};

/* NMI source */

#define NMI_MAX_CPUS		64
#define NMI_PERF_FREQ		4000	/* Hz per CPU, at most */
#define NMI_HOST_RATE		3000	/* Hz, unless VMTEST_NMI_RATE */
#define NMI_VMTEST_CTL		"/dev/ttyS1"

static struct nmi_src {
	const char *name;
	struct bpf_link *links[NMI_MAX_CPUS];
	int nr_links;
	int ctl_fd;
	unsigned int ctl_tag;
	bool host_started;
	int saved_loglevel;
} nmi = {
	.name = "none",
	.ctl_fd = -1,
	.saved_loglevel = -1,
};

static int nmi_perf_open(int cpu)
{
	struct perf_event_attr attr = {
		.size = sizeof(attr),
		.type = PERF_TYPE_HARDWARE,
		.config = PERF_COUNT_HW_CPU_CYCLES,
		.freq = 1,
	};

	attr.sample_freq = read_perf_max_sample_freq();
	if (attr.sample_freq > NMI_PERF_FREQ)
		attr.sample_freq = NMI_PERF_FREQ;
	return syscall(__NR_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
}

/* One request, and its reply: the line that ends with the request's tag
 * (a late reply to an earlier request is dropped).
 */
static int nmi_ctl(const char *req, char *reply, size_t len)
{
	struct pollfd pfd = { .fd = nmi.ctl_fd, .events = POLLIN };
	char line[128], tag[16];
	size_t n = 0, tag_len;
	char c;

	snprintf(tag, sizeof(tag), " @%u", ++nmi.ctl_tag);
	tag_len = strlen(tag);
	snprintf(line, sizeof(line), "%s%s\n", req, tag);
	if (write(nmi.ctl_fd, line, strlen(line)) != (ssize_t)strlen(line))
		return -EIO;
	for (;;) {
		if (poll(&pfd, 1, 5000) <= 0)
			return -ETIMEDOUT;
		if (read(nmi.ctl_fd, &c, 1) != 1)
			return -EIO;
		if (c == '\r')
			continue;
		if (c != '\n') {
			if (n < sizeof(line) - 1)
				line[n++] = c;
			continue;
		}
		line[n] = '\0';
		n = 0;
		if (strlen(line) < tag_len || strcmp(line + strlen(line) - tag_len, tag))
			continue;
		line[strlen(line) - tag_len] = '\0';
		snprintf(reply, len, "%s", line);
		return 0;
	}
}

static int nmi_host_open(void)
{
	const char *dev = getenv("VMTEST_NMI_CTL");
	struct termios tio;
	char reply[64];

	if (!dev && getenv("VMTEST_NMI_RATE"))
		dev = NMI_VMTEST_CTL;
	if (!dev)
		return -ENOENT;
	nmi.ctl_fd = open(dev, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (nmi.ctl_fd < 0)
		return -errno;
	if (!tcgetattr(nmi.ctl_fd, &tio)) {
		cfmakeraw(&tio);
		tcsetattr(nmi.ctl_fd, TCSANOW, &tio);
		tcflush(nmi.ctl_fd, TCIFLUSH);
	}
	if (nmi_ctl("PING", reply, sizeof(reply)) || strcmp(reply, "PONG")) {
		close(nmi.ctl_fd);
		nmi.ctl_fd = -1;
		return -ENODEV;
	}
	return 0;
}

/* Injected NMIs that no handler claims make the kernel log "Uhhuh. NMI
 * received for unknown reason", and slow handlers a KERN_INFO line: keep
 * KERN_INFO and below off the console while the host injects.
 */
static void nmi_quiet_console(bool quiet)
{
	FILE *f = fopen("/proc/sys/kernel/printk", "r+");
	int cur;

	if (!f)
		return;
	if (quiet && fscanf(f, "%d", &cur) == 1) {
		nmi.saved_loglevel = cur;
		rewind(f);
		fprintf(f, "%d", cur < 6 ? cur : 6);
	} else if (!quiet && nmi.saved_loglevel >= 0) {
		fprintf(f, "%d", nmi.saved_loglevel);
		nmi.saved_loglevel = -1;
	}
	fclose(f);
}

static void nmi_stop(void)
{
	char reply[64];
	int i;

	if (nmi.host_started) {
		nmi.host_started = false;
		if (nmi_ctl("NMI STOP", reply, sizeof(reply)))
			fprintf(stderr, "the NMI injector did not confirm the stop\n");
		nmi_quiet_console(false);
	}
	for (i = 0; i < nmi.nr_links; i++)
		bpf_link__destroy(nmi.links[i]);
	nmi.nr_links = 0;
	if (nmi.ctl_fd >= 0)
		close(nmi.ctl_fd);
	nmi.ctl_fd = -1;
}

/* Before load: pick the source, keep only its program. 0 or -EOPNOTSUPP. */
static int nmi_choose(struct bench_local_storage_delete_cost *skel)
{
	int fd, err;

	fd = nmi_perf_open(0);
	if (fd >= 0) {
		close(fd);
		nmi.name = "perf hardware cycles";
		bpf_program__set_autoload(skel->progs.run_loop_nmi, false);
		return 0;
	}
	err = -errno;
	bpf_program__set_autoload(skel->progs.run_loop_perf, false);
	if (!nmi_host_open()) {
		nmi.name = "host-injected";
		return 0;
	}
	bpf_program__set_autoload(skel->progs.run_loop_nmi, false);
	printf("Unsupported: no NMI source (no PMU: perf_event_open(cycles): %s;",
	       strerror(-err));
	printf(" no NMI injector)\n");
	return -EOPNOTSUPP;
}

static int nmi_start(struct bench_local_storage_delete_cost *skel)
{
	int cpu, fd, err, nr_cpus = libbpf_num_possible_cpus();
	struct bpf_program *prog;
	char req[64], reply[64];
	const char *rate;

	if (nr_cpus > NMI_MAX_CPUS)
		nr_cpus = NMI_MAX_CPUS;
	prog = skel->progs.run_loop_perf;
	if (bpf_program__autoload(prog)) {
		for (cpu = 0; cpu < nr_cpus; cpu++) {
			fd = nmi_perf_open(cpu);
			if (fd < 0)
				continue;	/* offline */
			nmi.links[nmi.nr_links] = bpf_program__attach_perf_event(prog, fd);
			if (!nmi.links[nmi.nr_links]) {
				err = -errno;
				close(fd);
				return err;
			}
			nmi.nr_links++;
		}
		return nmi.nr_links ? 0 : -ENODEV;
	}
	nmi.links[0] = bpf_program__attach(skel->progs.run_loop_nmi);
	if (!nmi.links[0])
		return -errno;
	nmi.nr_links = 1;
	rate = getenv("VMTEST_NMI_RATE");
	nmi_quiet_console(true);
	/* The injector stops by itself after max_secs without a STOP */
	snprintf(req, sizeof(req), "NMI START %d %d",
		 rate && atoi(rate) > 0 ? atoi(rate) : NMI_HOST_RATE,
		 env.warmup_sec + env.duration_sec + 30);
	if (nmi_ctl(req, reply, sizeof(reply)) || strcmp(reply, "OK")) {
		nmi_quiet_console(false);
		return -EIO;
	}
	nmi.host_started = true;
	return 0;
}

/* Benchmark */

static struct ctx {
	struct bench_local_storage_delete_cost *skel;
	int prog_fd;
	int nr_cpus;
	struct ls_producers prod;
	long runs, runs_in_ctx;	/* all samples */
} ctx;

static void validate(void)
{
	ls_validate_no_consumers();
	if (args.context == CTX_HARDIRQ && env.nr_cpus < 2) {
		printf("Unsupported: --context hardirq needs two CPUs\n");
		exit(1);
	}
}

static void setup(void)
{
	struct bench_local_storage_delete_cost *skel;
	int err;

	setup_libbpf();
	ctx.nr_cpus = env.nr_cpus;
	skel = bench_local_storage_delete_cost__open();
	if (!skel) {
		fprintf(stderr, "error opening skel\n");
		exit(1);
	}
	skel->data->nr_loops = args.loops ?: (args.context == CTX_NMI ? 8 : 256);
	skel->bss->use_cgroup = args.cgroup;
	skel->bss->want_ctx = args.context;
	if (args.context == CTX_NMI) {
		bpf_program__set_autoload(skel->progs.run_loop, false);
		if (nmi_choose(skel))
			exit(1);
	} else {
		bpf_program__set_autoload(skel->progs.run_loop_perf, false);
		bpf_program__set_autoload(skel->progs.run_loop_nmi, false);
	}
	if (bench_local_storage_delete_cost__load(skel)) {
		fprintf(stderr, "error loading skel\n");
		exit(1);
	}
	ctx.skel = skel;
	if (args.context == CTX_NMI) {
		err = nmi_start(skel);
		if (err) {
			fprintf(stderr, "cannot start %s NMIs: %s\n", nmi.name, strerror(-err));
			nmi_stop();
			exit(1);
		}
		printf("NMI source: %s\n", nmi.name);
	} else {
		ctx.prog_fd = bpf_program__fd(skel->progs.run_loop);
	}
}

static void pin_self(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

static void *producer(void *input)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts);
	long idx = (long)input;

	if (args.context == CTX_NMI) {
		/* Keep this CPU in the benchmark's task for the NMIs */
		while (!ls_producers_stopping(&ctx.prod))
			syscall(__NR_getppid);
		return ls_producer_park(&ctx.prod);
	}
	if (args.context == CTX_HARDIRQ) {
		pin_self(idx % ctx.nr_cpus);
		opts.flags = BPF_F_TEST_RUN_ON_CPU;
		opts.cpu = (idx + 1) % ctx.nr_cpus;
	}
	return ls_test_run_producer(&ctx.prod, ctx.prog_fd, &opts);
}

/* res->hits: create + delete pairs; res->drops: failed creates and
 * deletes; res->gp_ns: time in the loops; res->gp_ct: program runs.
 */
static void measure(struct bench_res *res)
{
	struct bench_local_storage_delete_cost__bss *bss = ctx.skel->bss;

	res->hits = atomic_swap(&bss->pairs, 0);
	res->drops = atomic_swap(&bss->errs, 0);
	res->gp_ns = atomic_swap(&bss->loop_ns, 0);
	res->gp_ct = atomic_swap(&bss->runs, 0);
	ctx.runs += res->gp_ct;
	ctx.runs_in_ctx += atomic_swap(&bss->runs_in_ctx, 0);
}

static double ns_per_pair(struct bench_res *res)
{
	return res->hits ? (double)res->gp_ns / res->hits : 0.0;
}

static void report_progress(int iter, struct bench_res *res, long delta_ns)
{
	double pairs_per_sec = res->hits / 1000.0 / (delta_ns / 1000000000.0);

	printf("Iter %3d (%7.3lfus): pairs %8.3lfk/s (%7.3lfk/prod),",
	       iter, (delta_ns - 1000000000) / 1000.0, pairs_per_sec,
	       pairs_per_sec / env.producer_cnt);
	printf(" %8.1lf ns/pair in program, %ld errors\n", ns_per_pair(res), res->drops);
}

static void report_final(struct bench_res res[], int res_cnt)
{
	struct basic_stats pair_rate, ns;
	long pairs = 0, errs = 0;
	const char *where;
	int i, last_err;

	ls_stop_timer();
	if (args.context == CTX_NMI)
		nmi_stop();
	ls_producers_stop(&ctx.prod, 50, 100000);

	for (i = 0; i < res_cnt; i++) {
		pairs += res[i].hits;
		errs += res[i].drops;
	}
	ls_res_stats(res, res_cnt, ls_khits, &pair_rate);
	ls_res_stats(res, res_cnt, ns_per_pair, &ns);
	last_err = ctx.skel->bss->last_err;
	where = ctx_names[args.context];
	printf("Context: %s, %ld of %ld runs in that context%s%s\n", where,
	       ctx.runs_in_ctx, ctx.runs, args.context == CTX_NMI ? ", NMI source: " : "",
	       args.context == CTX_NMI ? nmi.name : "");
	if (!pairs && errs) {
		printf("Unsupported: every %s storage create + delete in %s context failed",
		       args.cgroup ? "cgroup" : "task", where);
		printf(" (%ld errors, last %d: %s)\n", errs, last_err, strerror(-last_err));
	} else if (!ctx.runs_in_ctx) {
		printf("Unsupported: the program never ran in %s context\n", where);
	} else {
		printf("Summary: pairs %8.3lf \u00B1 %5.3lfk/s (%7.3lfk/prod),",
		       pair_rate.mean, pair_rate.stddev, pair_rate.mean / env.producer_cnt);
		printf(" %8.1lf \u00B1 %5.1lf ns/pair in program, %ld errors\n",
		       ns.mean, ns.stddev, errs);
	}
	fflush(stdout);
	bench_local_storage_delete_cost__destroy(ctx.skel);
	ctx.skel = NULL;
}

const struct bench bench_local_storage_delete_cost = {
	.name = "local-storage-delete-cost",
	.argp = &bench_local_storage_delete_cost_argp,
	.validate = validate,
	.setup = setup,
	.producer_thread = producer,
	.measure = measure,
	.report_progress = report_progress,
	.report_final = report_final,
};
