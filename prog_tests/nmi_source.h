/* SPDX-License-Identifier: GPL-2.0 */
/*
 * NMIs for tests whose BPF programs must run in NMI context.
 *
 * The source is a hardware cycles perf event on every online CPU, whose
 * overflow interrupt is an NMI on x86_64 (the only architecture where it is
 * used), running the test's SEC("perf_event") program: the same as
 * prog_tests/lru_lock_nmi.c. A machine without a PMU
 * (QEMU without KVM, many CI guests) has no such event. There, and only
 * when the environment says a test harness offers one, NMIs come from the
 * harness instead: VMTEST_NMI_CTL names a character device (a virtual
 * serial port) over which the harness is asked to inject NMIs into the
 * guest (QEMU's "inject-nmi"), and the test's SEC("tp_btf/nmi_handler")
 * program (x86) runs in them. VMTEST_NMI_RATE alone means the vmtest
 * harness of the series' test suite, whose channel is /dev/ttyS1. An
 * injector that the environment announces but that does not answer is an
 * error (the test fails). VMTEST_NMI_SHARED means the harness already
 * injects NMIs for several tests running at once (its soak): the test only
 * attaches its program and asks nothing. With no source at all
 * nmi_source_init() returns -EOPNOTSUPP and the test skips.
 *
 *	skel = foo__open();
 *	err = nmi_source_init(&src, skel->progs.nmi_perf, skel->progs.nmi_tp);
 *	if (err == -EOPNOTSUPP) { test__skip(); goto out; }
 *	... foo__load(skel), foo__attach(skel) ...
 *	nmi_source_start(&src);	// NMIs, and a busy thread per online CPU
 *	...
 *	nmi_source_stop(&src);
 *	nmi_source_cleanup(&src);
 *
 * nmi_source_init() turns off the autoload of the program the other source
 * would need, and the autoattach of both (nmi_source_start() attaches). A
 * source can start and still deliver nothing: a test must count the runs
 * of its program in NMI (bpf_in_nmi()) and fail when there are too few.
 *
 * Harness protocol, one line each way; a request ends with a tag "@N"
 * that the reply repeats, so a late reply is never taken for the next one:
 *	PING @N				PONG @N
 *	NMI START <hz> <max_secs> @N	OK @N (injection stops by itself
 *					after max_secs without a STOP)
 *	NMI STOP @N			NMI COUNT <NMIs delivered> @N
 */
#ifndef __NMI_SOURCE_H
#define __NMI_SOURCE_H

#include <poll.h>
#include <termios.h>
#include <linux/perf_event.h>
#include <test_progs.h>

#define NMI_SOURCE_MAX_CPUS		64
#define NMI_SOURCE_PERF_FREQ		4000	/* Hz per CPU, at most */
#define NMI_SOURCE_HOST_RATE		3000	/* Hz, unless VMTEST_NMI_RATE */
#define NMI_SOURCE_HOST_MAX_SECS	120
#define NMI_SOURCE_VMTEST_CTL		"/dev/ttyS1"

enum nmi_source_kind {
	NMI_SOURCE_NONE,
	NMI_SOURCE_PERF,	/* hardware cycles perf events */
	NMI_SOURCE_HOST,	/* injected by the test harness */
};

struct nmi_source {
	enum nmi_source_kind kind;
	struct bpf_program *perf_prog;
	struct bpf_program *tp_prog;
	struct bpf_link *links[NMI_SOURCE_MAX_CPUS];
	int nr_links;
	bool running;
	bool host_started;
	bool host_shared;	/* VMTEST_NMI_SHARED: injected for all tests */
	int ctl_fd;
	unsigned int ctl_tag;
	int saved_loglevel;
	pthread_t busy[NMI_SOURCE_MAX_CPUS];
	int nr_busy;
	int busy_stop;
};

static inline const char *nmi_source_name(const struct nmi_source *src)
{
	switch (src->kind) {
	case NMI_SOURCE_PERF:
		return "perf hardware cycles";
	case NMI_SOURCE_HOST:
		return "host-injected";
	default:
		return "none";
	}
}

static inline int nmi_source_perf_open(int cpu)
{
	struct perf_event_attr attr = {
		.size = sizeof(attr),
		.type = PERF_TYPE_HARDWARE,
		.config = PERF_COUNT_HW_CPU_CYCLES,
		.freq = 1,
	};

	attr.sample_freq = read_perf_max_sample_freq();
	if (attr.sample_freq > NMI_SOURCE_PERF_FREQ)
		attr.sample_freq = NMI_SOURCE_PERF_FREQ;
	return syscall(__NR_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
}

/* Send @req with a new tag; read lines until the reply carrying that tag
 * (dropping stale ones), and return it without the tag in @buf.
 */
static inline int nmi_source_ctl(struct nmi_source *src, const char *req,
				 char *buf, size_t len, int timeout_ms)
{
	char line[128], tag[16];
	struct pollfd pfd = { .fd = src->ctl_fd, .events = POLLIN };
	size_t n = 0, tag_len;
	int r;

	snprintf(tag, sizeof(tag), " @%u", ++src->ctl_tag);
	tag_len = strlen(tag);
	snprintf(line, sizeof(line), "%s%s\n", req, tag);
	if (write(src->ctl_fd, line, strlen(line)) != (ssize_t)strlen(line))
		return -EIO;

	while (true) {
		char c;

		r = poll(&pfd, 1, timeout_ms);
		if (r <= 0)
			return r == 0 ? -ETIMEDOUT : -errno;
		if (read(src->ctl_fd, &c, 1) != 1)
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
			continue;	/* a late reply to an earlier request */
		line[strlen(line) - tag_len] = '\0';
		snprintf(buf, len, "%s", line);
		return 0;
	}
}

/* Open and check the channel to the harness' NMI injector: 0, 1 when the
 * environment announces none, or -errno.
 */
static inline int nmi_source_host_open(struct nmi_source *src)
{
	const char *dev = getenv("VMTEST_NMI_CTL");
	struct termios tio;
	char reply[64];
	int err;

	if (getenv("VMTEST_NMI_SHARED")) {
		src->host_shared = true;
		return 0;
	}
	if (!dev && getenv("VMTEST_NMI_RATE"))
		dev = NMI_SOURCE_VMTEST_CTL;
	if (!dev)
		return 1; /* no injector announced */
	/* Tags unique across processes: a reply to a request of an earlier
	 * test process (killed while waiting) never matches one of ours.
	 */
	src->ctl_tag = (unsigned int)getpid() << 12;
	src->ctl_fd = open(dev, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (src->ctl_fd < 0) {
		err = -errno;
		fprintf(stderr, "nmi_source: cannot open %s: %s\n", dev, strerror(errno));
		return err;
	}
	if (!tcgetattr(src->ctl_fd, &tio)) {
		cfmakeraw(&tio);
		tcsetattr(src->ctl_fd, TCSANOW, &tio);
		tcflush(src->ctl_fd, TCIFLUSH);
	}
	err = nmi_source_ctl(src, "PING", reply, sizeof(reply), 2000);
	if (!err && strcmp(reply, "PONG"))
		err = -EPROTO;
	if (err) {
		fprintf(stderr, "nmi_source: no NMI injector on %s: %s\n", dev, strerror(-err));
		close(src->ctl_fd);
		src->ctl_fd = -1;
	}
	return err;
}

/* Injected NMIs that no handler claims make the kernel log "Uhhuh. NMI
 * received for unknown reason", and slow handlers a line at KERN_INFO:
 * keep KERN_INFO and below off the console while the host injects
 * (warnings and splats still reach it).
 */
static inline void nmi_source_quiet_console(struct nmi_source *src, bool quiet)
{
	FILE *f = fopen("/proc/sys/kernel/printk", "r+");
	int cur;

	if (!f)
		return;
	if (quiet && fscanf(f, "%d", &cur) == 1) {
		src->saved_loglevel = cur;
		rewind(f);
		fprintf(f, "%d", cur < 6 ? cur : 6);
	} else if (!quiet && src->saved_loglevel >= 0) {
		fprintf(f, "%d", src->saved_loglevel);
		src->saved_loglevel = -1;
	}
	fclose(f);
}

/*
 * Call after the skeleton is opened, before it is loaded. @perf_prog is a
 * SEC("perf_event") program, @tp_prog a SEC("tp_btf/nmi_handler") one (or
 * NULL), both running the same code. Returns 0, -EOPNOTSUPP when there is
 * no NMI source (skip the test), or another -errno (fail it).
 */
static inline int nmi_source_init(struct nmi_source *src, struct bpf_program *perf_prog,
				  struct bpf_program *tp_prog)
{
	int fd, err;

	memset(src, 0, sizeof(*src));
	src->ctl_fd = -1;
	src->saved_loglevel = -1;
	src->perf_prog = perf_prog;
	src->tp_prog = tp_prog;
	bpf_program__set_autoattach(perf_prog, false);
	if (tp_prog)
		bpf_program__set_autoattach(tp_prog, false);

#if !defined(__x86_64__)
	/*
	 * Elsewhere the overflow interrupt of a perf event need not be an NMI
	 * (arm64 without pseudo-NMIs, s390, riscv), and nmi_handler is x86's:
	 * no NMI source.
	 */
	bpf_program__set_autoload(perf_prog, false);
	if (tp_prog)
		bpf_program__set_autoload(tp_prog, false);
	printf("nmi_source: NMIs from perf events only on x86_64: no NMIs\n");
	return -EOPNOTSUPP;
#endif
	fd = nmi_source_perf_open(0);
	if (fd >= 0) {
		close(fd);
		src->kind = NMI_SOURCE_PERF;
		if (tp_prog)
			bpf_program__set_autoload(tp_prog, false);
		return 0;
	}
	err = -errno;
	if (err != -ENOENT && err != -EOPNOTSUPP && err != -ENODEV) {
		fprintf(stderr, "nmi_source: perf_event_open(cycles): %s\n", strerror(-err));
		return err;
	}
	/* No PMU. An injector the environment announces must answer. */
	bpf_program__set_autoload(perf_prog, false);
	err = tp_prog ? nmi_source_host_open(src) : 1;
	if (!err) {
		src->kind = NMI_SOURCE_HOST;
		return 0;
	}
	if (tp_prog)
		bpf_program__set_autoload(tp_prog, false);
	if (err < 0)
		return err;
	printf("nmi_source: no PMU for hardware cycles events and no NMI injector: no NMIs\n");
	return -EOPNOTSUPP;
}

static inline void *nmi_source_busy_fn(void *arg)
{
	struct nmi_source *src = arg;

	while (!READ_ONCE(src->busy_stop))
		syscall(__NR_getppid);
	return NULL;
}

static inline void nmi_source_busy_stop(struct nmi_source *src)
{
	WRITE_ONCE(src->busy_stop, 1);
	while (src->nr_busy > 0)
		pthread_join(src->busy[--src->nr_busy], NULL);
}

static inline long nmi_source_stop(struct nmi_source *src);

/*
 * Attach the program of the chosen source and start NMIs on every online
 * CPU, with one thread per online CPU looping in getppid() so that cycles
 * are counted and injected NMIs mostly interrupt a task of the test.
 * Returns 0 or -errno.
 */
static inline int nmi_source_start(struct nmi_source *src)
{
	int cpu, fd, err = 0, nr_cpus, nr_online;
	char req[64], reply[64];
	const char *env;

	nr_cpus = libbpf_num_possible_cpus();
	if (nr_cpus > NMI_SOURCE_MAX_CPUS)
		nr_cpus = NMI_SOURCE_MAX_CPUS;
	src->running = true;

	if (src->kind == NMI_SOURCE_PERF) {
		for (cpu = 0; cpu < nr_cpus; cpu++) {
			struct bpf_link *link;

			fd = nmi_source_perf_open(cpu);
			if (fd < 0)
				continue; /* offline CPU */
			link = bpf_program__attach_perf_event(src->perf_prog, fd);
			if (!link) {
				err = -errno;
				close(fd);
				goto fail;
			}
			src->links[src->nr_links++] = link;
		}
		if (!src->nr_links) {
			err = -ENODEV;
			goto fail;
		}
	} else if (src->kind == NMI_SOURCE_HOST) {
		src->links[0] = bpf_program__attach(src->tp_prog);
		if (!src->links[0]) {
			err = -errno;
			goto fail;
		}
		src->nr_links = 1;
		if (src->host_shared)
			goto busy;
		env = getenv("VMTEST_NMI_RATE");
		nmi_source_quiet_console(src, true);
		snprintf(req, sizeof(req), "NMI START %d %d",
			 env && atoi(env) > 0 ? atoi(env) : NMI_SOURCE_HOST_RATE,
			 NMI_SOURCE_HOST_MAX_SECS);
		err = nmi_source_ctl(src, req, reply, sizeof(reply), 5000);
		if (!err && strcmp(reply, "OK"))
			err = -EPROTO;
		if (err)
			goto fail;
		src->host_started = true;
	} else {
		return -EOPNOTSUPP;
	}

busy:
	nr_online = sysconf(_SC_NPROCESSORS_ONLN);
	src->busy_stop = 0;
	if (nr_online > NMI_SOURCE_MAX_CPUS)
		nr_online = NMI_SOURCE_MAX_CPUS;
	for (src->nr_busy = 0; src->nr_busy < nr_online; src->nr_busy++)
		if (pthread_create(&src->busy[src->nr_busy], NULL, nmi_source_busy_fn, src))
			break;
	if (src->nr_busy < nr_online) {
		err = -EAGAIN;
		goto fail;
	}
	return 0;
fail:
	fprintf(stderr, "nmi_source: cannot start %s NMIs: %s\n", nmi_source_name(src),
		strerror(-err));
	nmi_source_stop(src);
	return err;
}

/*
 * Stop the NMIs and the busy threads and detach the program. Returns the
 * number of NMIs the host delivered (host source), 0 (perf source, or NMIs
 * shared with other tests: not counted; count program runs instead) or
 * -errno.
 */
static inline long nmi_source_stop(struct nmi_source *src)
{
	char reply[64];
	long count = 0;
	int err, i;

	if (!src->running)
		return 0;
	src->running = false;
	nmi_source_busy_stop(src);
	if (src->host_started) {
		src->host_started = false;
		err = nmi_source_ctl(src, "NMI STOP", reply, sizeof(reply), 5000);
		if (err)
			count = err;
		else if (sscanf(reply, "NMI COUNT %ld", &count) != 1)
			count = -EPROTO;
	}
	for (i = 0; i < src->nr_links; i++) {
		bpf_link__destroy(src->links[i]);
		src->links[i] = NULL;
	}
	src->nr_links = 0;
	nmi_source_quiet_console(src, false);
	return count;
}

static inline void nmi_source_cleanup(struct nmi_source *src)
{
	nmi_source_stop(src);
	if (src->ctl_fd >= 0)
		close(src->ctl_fd);
	src->ctl_fd = -1;
}

#endif /* __NMI_SOURCE_H */
