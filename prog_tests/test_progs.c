// SPDX-License-Identifier: GPL-2.0
/*
 * test_progs: a small libbpf test runner for vmtest guests, in the style of
 * the kernel's tools/testing/selftests/bpf/test_progs (same test API, same
 * ASSERT_* macros, same output format), built as one static binary for a
 * busybox initramfs.
 *
 * Registration
 * ------------
 * Each prog_tests/NAME.c defines `void test_NAME(void)` (or
 * `void serial_test_NAME(void)`; there is no parallel mode here, so both
 * run the same way). The build generates tests.h with gen_tests_h.sh, one
 * DEFINE_TEST(NAME) line per such function, sorted by name. This file
 * includes tests.h twice, like selftests: first to declare the functions
 * (weak, so either spelling may be missing), then to build the table
 * {name, function}. #N in the output is the position in that table.
 *
 * Running
 * -------
 * Every selected test runs in a forked child in its own process group, so
 * that a crash, a hang or leaked state (CPU affinity, netns, fds, rlimits)
 * cannot take the runner down or leak into the next test. The child's
 * stdout and stderr go to a memfd and the parent prints them only if the
 * test failed (as test_progs does). With -v the child writes straight to
 * our stdout instead, so its output reaches the console live and is not
 * lost if the guest kernel dies in the middle of the test.
 *
 * The child tells the parent what happens over a pipe, one line per event,
 * each sent with one write() of less than PIPE_BUF bytes (so atomic):
 *
 *	subtest_start NUM LOGOFF NAME
 *	subtest_filtered NUM NAME	(not selected by -t/-a/-b)
 *	subtest_end NUM LOGOFF OK|FAIL|SKIP
 *	expect_splat
 *	force_log
 *	test_end LOGOFF OK|FAIL|SKIP TESTSKIP
 *
 * LOGOFF is the offset in the captured output at that moment, so the
 * parent can print each failed subtest's output next to its result line.
 * Because the parent learns about each subtest as it happens, it still
 * knows which subtests passed, and which one was running, when the child
 * dies or is killed on timeout (--timeout, SIGKILL to the whole process
 * group). Events sent from the test's own children are dropped.
 *
 * Kernel log markers (/dev/kmsg)
 * ------------------------------
 * The host reads the guest console and attributes kernel splats (WARNING:,
 * BUG:, ...) to tests with these lines, one kmsg record each:
 *
 *	vmtest: test_start NAME			parent, before forking the test
 *	vmtest: expect_splat NAME		the test, from test__expect_splat()
 *	vmtest: test_end NAME PASS|FAIL|SKIP	parent, after the child is gone
 *
 * A splat between test_start NAME and test_end NAME belongs to NAME, which
 * is always the top-level test name (no subtest). A test_start without its
 * test_end means the guest died while NAME ran. expect_splat NAME says that
 * NAME provokes a splat on purpose (the scanner self-check): the host counts
 * that as an expected failure, never as a pass. Records are written at the
 * default message loglevel, so they reach the console unless the guest
 * boots with "quiet" or a low loglevel.
 *
 * Results
 * -------
 * Per test, as test_progs: "#N/M NAME/SUB:OK|FAIL|SKIP" for each subtest
 * and "#N NAME:OK|FAIL|SKIP" (with the captured output before it when the
 * test failed). At the end "Summary: P/S PASSED, K SKIPPED, F FAILED" and,
 * as the very last line, "N passed, M failed, K skipped" (top-level tests).
 * --json FILE is rewritten (FILE.tmp + rename) before the first test and
 * after every test, so a guest that dies mid-run leaves the results of the
 * finished tests, with "finished": false.
 *
 * Exit status: 0 no test failed, 1 a test failed, 2 bad usage or a filter
 * that matches no test (also checked for "test/subtest" filters after the
 * run, so that a typo cannot silently run nothing).
 */
#define _GNU_SOURCE
#include "test_progs.h"

#include <fnmatch.h>
#include <getopt.h>
#include <poll.h>
#include <sys/prctl.h>
#include <linux/membarrier.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

/* Test table, built from tests.h (see the comment at the top). */
#define DEFINE_TEST(name)						\
	extern void test_##name(void) __attribute__((weak));		\
	extern void serial_test_##name(void) __attribute__((weak));
#include "tests.h"
#undef DEFINE_TEST

struct prog_test_def {
	const char *name;
	void (*run_test)(void);
	void (*run_serial_test)(void);
};

static const struct prog_test_def prog_test_defs[] = {
#define DEFINE_TEST(name) { #name, &test_##name, &serial_test_##name },
#include "tests.h"
#undef DEFINE_TEST
};

#define prog_test_cnt ((int)ARRAY_SIZE(prog_test_defs))

#define EXIT_NO_TEST		2
#define TEST_NUM_WIDTH		7	/* as test_progs */
#define MAX_SUBTEST_NAME	1024	/* as test_progs */
#define KILL_WAIT_MS		10000	/* after SIGKILL, before giving up */

struct test_env env;

/* ---- command line ------------------------------------------------------ */

/* One item of -t/-a/-b: "TEST" or "TEST/SUBTEST", each a glob or substring. */
struct filter {
	char *text;		/* as given, for error messages */
	char *test_pat;
	char *sub_pat;		/* NULL: all subtests */
};

struct filter_set {
	struct filter *items;
	int cnt;
};

static struct filter_set allow, deny;
static int timeout_s = 300;
static const char *json_path;
static bool list_only;

/* ---- results ------------------------------------------------------------ */

enum result { RES_PASS, RES_FAIL, RES_SKIP };

static const char *const res_json[] = { "PASS", "FAIL", "SKIP" };	/* JSON, kmsg */
static const char *const res_tp[] = { "OK", "FAIL", "SKIP" };	/* console */

struct sub_result {
	char *name;
	int num;		/* 1-based, counts filtered subtests too */
	enum result res;
	bool filtered;		/* not selected: not run, not reported */
	bool ended;		/* subtest_end received */
	long log_start, log_end;
};

struct test_result {
	const struct prog_test_def *def;
	int num;
	enum result res;
	long duration_ms;
	bool expect_splat;
	bool force_log;
	bool completed;		/* child reported test_end and exited */
	int test_skip;		/* test__skip() outside subtests */
	long log_end;		/* LOGOFF of test_end */
	char msg[256];		/* short reason on failure */
	struct sub_result *subs;
	int nsubs;
};

static struct test_result *results;
static int nresults;
static int cur_test_num;	/* #N of the test being run */

static volatile sig_atomic_t stop_signal;

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

/* ---- /dev/kmsg ------------------------------------------------------------ */

static int kmsg_fd = -1;

static int vmtest_vkmsg(const char *fmt, va_list ap)
{
	char buf[1024];	/* the kernel's record limit (PRINTKRB_RECORD_MAX) */
	int n, i;

	if (kmsg_fd < 0) {
		kmsg_fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
		if (kmsg_fd < 0)
			return -errno;
	}

	n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	if (n < 0)
		return -EINVAL;
	if (n > (int)sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	/* one record, one line: the host matches markers line by line */
	for (i = 0; i < n; i++)
		if (buf[i] == '\n' || buf[i] == '\r')
			buf[i] = ' ';
	buf[n++] = '\n';

	if (write(kmsg_fd, buf, n) != n)
		return errno ? -errno : -EIO;
	return 0;
}

int vmtest_kmsg(const char *fmt, ...)
{
	va_list ap;
	int err;

	va_start(ap, fmt);
	err = vmtest_vkmsg(fmt, ap);
	va_end(ap);
	return err;
}

/* Runner markers: a missing /dev/kmsg is worth one warning, not a failure. */
static void __attribute__((format(printf, 1, 2))) kmsg_marker(const char *fmt, ...)
{
	static bool warned;
	va_list ap;
	int err;

	va_start(ap, fmt);
	err = vmtest_vkmsg(fmt, ap);
	va_end(ap);
	if (err && !warned) {
		warned = true;
		fprintf(stderr, "test_progs: warning: cannot write to /dev/kmsg: %s; kernel log markers disabled\n",
			strerror(-err));
	}
}

/* ---- helpers for tests ---------------------------------------------------- */

/*
 * Wait for an RCU grace period. selftests uses
 * membarrier(MEMBARRIER_CMD_SHARED), which calls synchronize_rcu(), but the
 * kernel skips that when only one CPU is online (and refuses it with
 * nohz_full), and vmtest guests may have one CPU. So first use the trick
 * older selftests used: updating a map-in-map from the syscall side always
 * waits for a grace period (maybe_wait_bpf_programs()). Fall back to
 * membarrier if BPF maps cannot be created.
 */
int kern_sync_rcu(void)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts);
	int inner_fd, outer_fd, err, zero = 0;

	inner_fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "sync_rcu_inner", 4, 4, 1, NULL);
	if (inner_fd < 0)
		goto membarrier;

	opts.inner_map_fd = inner_fd;
	outer_fd = bpf_map_create(BPF_MAP_TYPE_ARRAY_OF_MAPS, "sync_rcu_outer", 4, 4, 1, &opts);
	if (outer_fd < 0) {
		close(inner_fd);
		goto membarrier;
	}

	err = bpf_map_update_elem(outer_fd, &zero, &inner_fd, 0);
	close(outer_fd);
	close(inner_fd);
	if (!err)
		return 0;

membarrier:
	return syscall(__NR_membarrier, MEMBARRIER_CMD_SHARED, 0, 0);
}

/* As selftests: make sure usleep() is a nanosleep syscall (kprobe tests). */
int usleep(useconds_t usec)
{
	struct timespec ts = {
		.tv_sec = usec / 1000000,
		.tv_nsec = (usec % 1000000) * 1000,
	};

	return syscall(__NR_nanosleep, &ts, NULL);
}

void hexdump(const char *prefix, const void *buf, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (!(i % 16)) {
			if (i)
				fprintf(stdout, "\n");
			fprintf(stdout, "%s", prefix);
		}
		if (i && !(i % 8) && (i % 16))
			fprintf(stdout, "\t");
		fprintf(stdout, "%02X ", ((const uint8_t *)buf)[i]);
	}
	fprintf(stdout, "\n");
}

/* ---- filters -------------------------------------------------------------- */

/* An item with glob characters is a glob, otherwise a substring. */
static bool pat_match(const char *pat, const char *name)
{
	if (strpbrk(pat, "*?["))
		return fnmatch(pat, name, 0) == 0;
	return strstr(name, pat) != NULL;
}

static void add_filters(struct filter_set *set, const char *arg)
{
	char *copy = strdup(arg), *tok, *save = NULL, *slash;
	struct filter *f;

	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		set->items = realloc(set->items, (set->cnt + 1) * sizeof(*set->items));
		if (!set->items) {
			perror("realloc");
			exit(EXIT_NO_TEST);
		}
		f = &set->items[set->cnt++];
		f->text = strdup(tok);
		f->sub_pat = NULL;
		slash = strchr(tok, '/');
		if (slash) {
			*slash = '\0';
			if (slash[1])
				f->sub_pat = strdup(slash + 1);
		}
		f->test_pat = strdup(tok);
	}
	free(copy);
}

/* As test_progs: "-b test" drops the test, "-b test/sub" only the subtest. */
static bool test_selected(const char *name)
{
	int i;

	for (i = 0; i < deny.cnt; i++)
		if (!deny.items[i].sub_pat && pat_match(deny.items[i].test_pat, name))
			return false;
	if (!allow.cnt)
		return true;
	for (i = 0; i < allow.cnt; i++)
		if (pat_match(allow.items[i].test_pat, name))
			return true;
	return false;
}

static bool subtest_selected(const char *test, const char *sub)
{
	struct filter *f;
	int i;

	for (i = 0; i < deny.cnt; i++) {
		f = &deny.items[i];
		if (f->sub_pat && pat_match(f->test_pat, test) && pat_match(f->sub_pat, sub))
			return false;
	}
	if (!allow.cnt)
		return true;
	for (i = 0; i < allow.cnt; i++) {
		f = &allow.items[i];
		if (pat_match(f->test_pat, test) && (!f->sub_pat || pat_match(f->sub_pat, sub)))
			return true;
	}
	return false;
}

/* Each filter item must match a test name; false (and a message) if not. */
static bool check_filters_before_run(int nselected)
{
	struct filter_set *sets[] = { &allow, &deny };
	bool ok = true;
	int s, i, t;

	for (s = 0; s < 2; s++) {
		for (i = 0; i < sets[s]->cnt; i++) {
			struct filter *f = &sets[s]->items[i];

			for (t = 0; t < prog_test_cnt; t++)
				if (pat_match(f->test_pat, prog_test_defs[t].name))
					break;
			if (t == prog_test_cnt) {
				fprintf(stderr, "error: no test matches filter '%s'\n", f->text);
				ok = false;
			}
		}
	}
	if (ok && !nselected && (allow.cnt || deny.cnt)) {
		/* each item matches something, but together they select nothing */
		fprintf(stderr, "error: no test matches filter '");
		for (s = 0; s < 2; s++)
			for (i = 0; i < sets[s]->cnt; i++)
				fprintf(stderr, "%s%s %s", s + i ? " " : "",
					s ? "-b" : "-t", sets[s]->items[i].text);
		fprintf(stderr, "'\n");
		ok = false;
	}
	return ok;
}

/*
 * Subtests are only known once a test runs, so "test/subtest" items are
 * checked afterwards: if the tests they name ran to the end and reported
 * subtests, one of those must have matched.
 */
static bool check_filters_after_run(void)
{
	struct filter_set *sets[] = { &allow, &deny };
	bool ok = true;
	int s, i, r, j;

	for (s = 0; s < 2; s++) {
		for (i = 0; i < sets[s]->cnt; i++) {
			struct filter *f = &sets[s]->items[i];
			bool have_subs = false, matched = false;

			if (!f->sub_pat)
				continue;
			for (r = 0; r < nresults; r++) {
				struct test_result *res = &results[r];

				if (!res->completed || !pat_match(f->test_pat, res->def->name))
					continue;
				for (j = 0; j < res->nsubs; j++) {
					have_subs = true;
					if (pat_match(f->sub_pat, res->subs[j].name))
						matched = true;
				}
			}
			if (have_subs && !matched) {
				fprintf(stderr, "error: no test matches filter '%s'\n", f->text);
				ok = false;
			}
		}
	}
	return ok;
}

/* ---- the child side: test API --------------------------------------------- */

static struct {
	pid_t pid;		/* the test process; others may not send events */
	int ev_fd;		/* write end of the event pipe */
	int error_cnt;		/* test__fail() outside subtests */
	bool skipped;		/* test__skip() outside subtests */
	int subtest_num;	/* test__start_subtest() calls so far */
	bool in_subtest;
	int sub_error_cnt;
	bool sub_skipped;
	int subs_run, subs_failed, subs_skipped;
	char sub_name[MAX_SUBTEST_NAME + 1];
} cur = { .ev_fd = -1 };

static void __attribute__((format(printf, 1, 2))) send_event(const char *fmt, ...)
{
	char buf[PIPE_BUF];
	va_list ap;
	int n, i;
	ssize_t w;

	/* a process forked by the test shares the pipe, but not our state */
	if (cur.ev_fd < 0 || getpid() != cur.pid)
		return;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n > (int)sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	for (i = 0; i < n; i++)
		if (buf[i] == '\n' || buf[i] == '\r')
			buf[i] = ' ';
	buf[n++] = '\n';

	do {
		w = write(cur.ev_fd, buf, n);
	} while (w < 0 && errno == EINTR);
}

/* Offset in the captured output; -1 when not captured (-v). */
static long log_offset(void)
{
	fflush(stdout);
	fflush(stderr);
	return lseek(STDOUT_FILENO, 0, SEEK_CUR);
}

static void print_subtest_line(FILE *out, int test_num, int sub_num, const char *test,
			       const char *sub, const char *result)
{
	char num[32];

	snprintf(num, sizeof(num), "%d/%d", test_num, sub_num);
	fprintf(out, "#%-*s %s/%s:%s\n", TEST_NUM_WIDTH, num, test, sub, result);
}

static void end_subtest(void)
{
	const char *res;

	if (!cur.in_subtest)
		return;

	if (cur.sub_error_cnt) {
		cur.subs_failed++;
		res = "FAIL";
	} else if (cur.sub_skipped) {
		cur.subs_skipped++;
		res = "SKIP";
	} else {
		res = "OK";
	}

	/* with -v our stdout is the console: print in order with the output */
	if (env.verbosity > VERBOSE_NONE)
		print_subtest_line(stdout, cur_test_num, cur.subtest_num,
				   env.test_name, cur.sub_name, res);

	send_event("subtest_end %d %ld %s", cur.subtest_num, log_offset(), res);
	cur.in_subtest = false;
	env.subtest_name = NULL;
}

bool test__start_subtest(const char *name)
{
	end_subtest();
	cur.subtest_num++;

	if (!name || !name[0]) {
		fprintf(stderr, "Subtest #%d didn't provide sub-test name!\n", cur.subtest_num);
		return false;
	}
	if (!subtest_selected(env.test_name, name)) {
		send_event("subtest_filtered %d %.*s", cur.subtest_num, MAX_SUBTEST_NAME, name);
		return false;
	}

	snprintf(cur.sub_name, sizeof(cur.sub_name), "%s", name);
	cur.in_subtest = true;
	cur.sub_error_cnt = 0;
	cur.sub_skipped = false;
	cur.subs_run++;
	env.subtest_name = cur.sub_name;
	send_event("subtest_start %d %ld %s", cur.subtest_num, log_offset(), cur.sub_name);
	return true;
}

void test__skip(void)
{
	if (cur.in_subtest)
		cur.sub_skipped = true;
	else
		cur.skipped = true;
}

void test__fail(void)
{
	if (cur.in_subtest)
		cur.sub_error_cnt++;
	else
		cur.error_cnt++;
}

void test__force_log(void)
{
	send_event("force_log");
}

void test__expect_splat(void)
{
	int err = vmtest_kmsg("vmtest: expect_splat %s", env.test_name);

	fprintf(stdout, "%s: kernel splat expected from this test%s\n", env.test_name,
		err ? " (but /dev/kmsg is not writable)" : "");
	send_event("expect_splat");
}

static void __attribute__((noreturn))
child_run(const struct prog_test_def *def, int ev_fd, int out_fd)
{
	const char *res;

	setpgid(0, 0);			/* so a timeout can kill all we start */
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	if (out_fd >= 0) {
		dup2(out_fd, STDOUT_FILENO);
		dup2(out_fd, STDERR_FILENO);
		close(out_fd);
	}

	cur.pid = getpid();
	cur.ev_fd = ev_fd;

	if (def->run_test)
		def->run_test();
	else
		def->run_serial_test();
	end_subtest();

	if (cur.error_cnt || cur.subs_failed)
		res = "FAIL";
	else if (cur.skipped || (cur.subs_run && cur.subs_skipped == cur.subs_run))
		res = "SKIP";
	else
		res = "OK";
	send_event("test_end %ld %s %d", log_offset(), res, cur.skipped);

	fflush(NULL);
	_exit(0);
}

/* ---- the parent side ------------------------------------------------------- */

static enum result parse_res(const char *s)
{
	if (!strncmp(s, "FAIL", 4))
		return RES_FAIL;
	if (!strncmp(s, "SKIP", 4))
		return RES_SKIP;
	return RES_PASS;
}

static struct sub_result *add_sub(struct test_result *r, int num, const char *name)
{
	struct sub_result *s;

	r->subs = realloc(r->subs, (r->nsubs + 1) * sizeof(*r->subs));
	if (!r->subs) {
		perror("realloc");
		exit(1);
	}
	s = &r->subs[r->nsubs++];
	memset(s, 0, sizeof(*s));
	s->name = strdup(name);
	s->num = num;
	s->log_start = s->log_end = -1;
	return s;
}

static void handle_event(struct test_result *r, char *line)
{
	int num, pos = -1, skip;
	long off;
	char res[8];

	if (sscanf(line, "subtest_start %d %ld %n", &num, &off, &pos) == 2 && pos > 0) {
		add_sub(r, num, line + pos)->log_start = off;
	} else if (sscanf(line, "subtest_filtered %d %n", &num, &pos) == 1 && pos > 0) {
		add_sub(r, num, line + pos)->filtered = true;
	} else if (sscanf(line, "subtest_end %d %ld %7s", &num, &off, res) == 3) {
		if (r->nsubs && r->subs[r->nsubs - 1].num == num) {
			struct sub_result *s = &r->subs[r->nsubs - 1];

			s->res = parse_res(res);
			s->ended = true;
			s->log_end = off;
		}
	} else if (!strcmp(line, "expect_splat")) {
		r->expect_splat = true;
	} else if (!strcmp(line, "force_log")) {
		r->force_log = true;
	} else if (sscanf(line, "test_end %ld %7s %d", &off, res, &skip) == 3) {
		r->completed = true;	/* confirmed once the child has exited */
		r->res = parse_res(res);
		r->test_skip = skip;
		r->log_end = off;
	}
}

/* Read what is in the pipe (non-blocking); true at EOF. */
static bool read_events(int fd, struct test_result *r, char *buf, size_t *len, size_t size)
{
	char *nl, *line;
	ssize_t n;

	for (;;) {
		n = read(fd, buf + *len, size - 1 - *len);
		if (n == 0)
			return true;
		if (n < 0)
			return errno != EAGAIN && errno != EINTR;
		*len += n;
		buf[*len] = '\0';
		line = buf;
		while ((nl = strchr(line, '\n'))) {
			*nl = '\0';
			handle_event(r, line);
			line = nl + 1;
		}
		*len -= line - buf;
		memmove(buf, line, *len);
		if (*len == size - 1)	/* cannot happen: lines < PIPE_BUF */
			*len = 0;
	}
}

static int capture_fd_create(void)
{
	FILE *f;
	int fd;

	fd = memfd_create("test_progs_output", MFD_CLOEXEC);
	if (fd >= 0)
		return fd;
	f = tmpfile();
	if (!f)
		return -1;
	fd = fcntl(fileno(f), F_DUPFD_CLOEXEC, 0);
	fclose(f);
	return fd;
}

static char *read_capture(int fd, size_t *len)
{
	off_t size = lseek(fd, 0, SEEK_END);
	char *buf;
	ssize_t n;
	size_t got = 0;

	*len = 0;
	if (size <= 0)
		return NULL;
	buf = malloc(size + 1);
	if (!buf)
		return NULL;
	while (got < (size_t)size) {
		n = pread(fd, buf + got, size - got, got);
		if (n <= 0)
			break;
		got += n;
	}
	buf[got] = '\0';
	*len = got;
	return buf;
}

static void print_log(const char *log, size_t len, long start, long end)
{
	if (start < 0 || end < start || (size_t)end > len)
		return;
	if (end == start)
		return;
	fwrite(log + start, 1, end - start, stdout);
	if (log[end - 1] != '\n')
		fputc('\n', stdout);
}

static const char *signame(int sig)
{
	static char buf[32];
	const char *abbrev = NULL;

#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 32)
	abbrev = sigabbrev_np(sig);
#endif
	if (abbrev)
		snprintf(buf, sizeof(buf), "SIG%s", abbrev);
	else
		snprintf(buf, sizeof(buf), "signal %d", sig);
	return buf;
}

/* First "...:FAIL:..." line of the output (and its subtest): the reason. */
static void fail_reason_from_log(struct test_result *r, const char *log)
{
	const char *p, *eol, *sub = NULL;
	int i, n = 0;

	if (log && (p = strstr(log, ":FAIL:"))) {
		while (p > log && p[-1] != '\n')
			p--;
		eol = strchrnul(p, '\n');
		for (i = 0; i < r->nsubs; i++)
			if (!r->subs[i].filtered && r->subs[i].log_start >= 0 &&
			    p - log >= r->subs[i].log_start &&
			    (r->subs[i].log_end < 0 || p - log < r->subs[i].log_end))
				sub = r->subs[i].name;
		snprintf(r->msg, sizeof(r->msg), "%s%s%.*s", sub ? sub : "", sub ? ": " : "",
			 (int)(eol - p), p);
		return;
	}
	for (i = 0; i < r->nsubs; i++) {
		if (r->subs[i].filtered || r->subs[i].res != RES_FAIL)
			continue;
		n += snprintf(r->msg + n, sizeof(r->msg) - n, "%s%s",
			      n ? ", " : "failed subtests: ", r->subs[i].name);
		if (n >= (int)sizeof(r->msg))
			return;
	}
	if (!n)
		snprintf(r->msg, sizeof(r->msg), "test failed");
}

static void print_result(struct test_result *r, const char *log, size_t len)
{
	bool verbose = env.verbosity > VERBOSE_NONE;
	bool show = r->res == RES_FAIL || r->force_log;
	int i, run = 0, skipped = 0;
	long pos = 0;

	/* test-level output: everything outside the subtests, as test_progs */
	if (show && log) {
		for (i = 0; i < r->nsubs; i++) {
			if (r->subs[i].filtered || r->subs[i].log_start < 0)
				continue;
			print_log(log, len, pos, r->subs[i].log_start);
			pos = r->subs[i].log_end >= 0 ? r->subs[i].log_end : (long)len;
		}
		print_log(log, len, pos, len);
	}

	for (i = 0; i < r->nsubs; i++) {
		struct sub_result *s = &r->subs[i];

		if (s->filtered)
			continue;
		run++;
		skipped += s->res == RES_SKIP;
		if (log && (s->res == RES_FAIL || r->force_log))
			print_log(log, len, s->log_start, s->log_end >= 0 ? s->log_end : (long)len);
		/* with -v the child printed the lines of subtests it ended */
		if (!verbose || !s->ended)
			print_subtest_line(stdout, r->num, s->num, r->def->name, s->name,
					   res_tp[s->res]);
	}

	if (r->res == RES_FAIL && !r->completed)
		printf("test_progs: %s: %s\n", r->def->name, r->msg);

	printf("#%-*d %s:", TEST_NUM_WIDTH, r->num, r->def->name);
	if (r->res == RES_PASS && skipped)
		printf("OK (SKIP: %d/%d)\n", skipped, run);
	else
		printf("%s\n", res_tp[r->res]);
}

/* Length of the valid UTF-8 sequence at p, 0 if invalid (RFC 3629). */
static int utf8_len(const unsigned char *p)
{
	int n, i;

	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4;
	else
		return 0;
	for (i = 1; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	/* no overlong forms, surrogates, or code points above U+10FFFF */
	if ((p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xed && p[1] > 0x9f) ||
	    (p[0] == 0xf0 && p[1] < 0x90) || (p[0] == 0xf4 && p[1] > 0x8f))
		return 0;
	return n;
}

static void json_str(FILE *f, const char *s)
{
	const unsigned char *p;
	int n;

	fputc('"', f);
	for (p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"':  fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\n': fputs("\\n", f); break;
		case '\t': fputs("\\t", f); break;
		default:
			if (*p < 0x20 || *p == 0x7f) {
				fprintf(f, "\\u%04x", *p);
			} else if (*p < 0x80) {
				fputc(*p, f);
			} else if ((n = utf8_len(p))) {
				fwrite(p, 1, n, f);
				p += n - 1;
			} else {
				/* not UTF-8: keep the JSON valid, show the byte */
				fprintf(f, "\\u%04x", *p);
			}
		}
	}
	fputc('"', f);
}

static void count_results(int *passed, int *failed, int *skipped)
{
	int i;

	*passed = *failed = *skipped = 0;
	for (i = 0; i < nresults; i++) {
		*passed += results[i].res == RES_PASS;
		*failed += results[i].res == RES_FAIL;
		*skipped += results[i].res == RES_SKIP;
	}
}

/* Write the whole file each time, atomically: FILE.tmp, then rename. */
static void write_json(bool finished)
{
	static bool warned;
	char tmp[PATH_MAX];
	int i, j, passed, failed, skipped, err = 0;
	FILE *f;

	if (!json_path)
		return;
	snprintf(tmp, sizeof(tmp), "%s.tmp", json_path);
	f = fopen(tmp, "w");
	if (!f) {
		err = errno;
		goto out;
	}

	fprintf(f, "{\"tests\":[");
	for (i = 0; i < nresults; i++) {
		struct test_result *r = &results[i];
		bool first = true;

		fprintf(f, "%s\n{\"name\":", i ? "," : "");
		json_str(f, r->def->name);
		fprintf(f, ",\"result\":\"%s\",\"duration_ms\":%ld,\"expect_splat\":%s,\"message\":",
			res_json[r->res], r->duration_ms, r->expect_splat ? "true" : "false");
		json_str(f, r->msg);
		fprintf(f, ",\"subtests\":[");
		for (j = 0; j < r->nsubs; j++) {
			if (r->subs[j].filtered)
				continue;
			fprintf(f, "%s{\"name\":", first ? "" : ",");
			json_str(f, r->subs[j].name);
			fprintf(f, ",\"result\":\"%s\"}", res_json[r->subs[j].res]);
			first = false;
		}
		fprintf(f, "]}");
	}
	count_results(&passed, &failed, &skipped);
	fprintf(f, "\n],\"passed\":%d,\"failed\":%d,\"skipped\":%d,\"finished\":%s}\n",
		passed, failed, skipped, finished ? "true" : "false");

	/* fsync: the guest may die right after this test */
	if (fflush(f) || fsync(fileno(f)))
		err = errno;
	if (fclose(f) && !err)
		err = errno;
	if (!err && rename(tmp, json_path))
		err = errno;
out:
	if (err && !warned) {
		warned = true;
		fprintf(stderr, "test_progs: warning: cannot write %s: %s\n", json_path, strerror(err));
	}
}

static void run_test(int idx, struct test_result *r)
{
	const struct prog_test_def *def = &prog_test_defs[idx];
	bool verbose = env.verbosity > VERBOSE_NONE;
	bool eof = false, killed = false, timed_out = false, reaped = false;
	int ev[2], out_fd = -1, pidfd, status = 0, i;
	char evbuf[2 * PIPE_BUF], *log = NULL;
	size_t evlen = 0, loglen = 0;
	long start, deadline;
	struct sub_result *running = NULL;
	pid_t pid;

	memset(r, 0, sizeof(*r));
	r->def = def;
	r->num = idx + 1;
	env.test_name = def->name;
	env.subtest_name = NULL;
	cur_test_num = r->num;

	if (!def->run_test && !def->run_serial_test) {
		r->res = RES_SKIP;
		snprintf(r->msg, sizeof(r->msg), "not built");
		print_result(r, NULL, 0);
		return;
	}

	if (!verbose) {
		out_fd = capture_fd_create();
		if (out_fd < 0)
			fprintf(stderr, "test_progs: warning: cannot capture output: %s\n",
				strerror(errno));
	}
	if (pipe2(ev, O_CLOEXEC)) {
		perror("pipe2");
		exit(1);
	}

	kmsg_marker("vmtest: test_start %s", def->name);
	fflush(stdout);
	fflush(stderr);
	start = now_ms();
	deadline = start + timeout_s * 1000L;

	pid = fork();
	if (pid < 0) {
		perror("fork");
		exit(1);
	}
	if (pid == 0) {
		close(ev[0]);
		child_run(def, ev[1], out_fd);
	}
	setpgid(pid, pid);	/* also here: no race with the first kill() */
	close(ev[1]);
	fcntl(ev[0], F_SETFL, O_NONBLOCK);
	pidfd = syscall(SYS_pidfd_open, pid, 0);	/* poll()able exit */

	for (;;) {
		struct pollfd pfd[2] = {
			{ .fd = eof ? -1 : ev[0], .events = POLLIN },
			{ .fd = pidfd, .events = POLLIN },
		};
		long now = now_ms(), wait_ms = 1000;

		if (waitpid(pid, &status, WNOHANG) == pid) {
			reaped = true;
			break;
		}
		if (!killed && (stop_signal || (timeout_s && now >= deadline))) {
			timed_out = !stop_signal;
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			killed = true;
			deadline = now + KILL_WAIT_MS;
		} else if (killed && now >= deadline) {
			break;	/* unkillable: stuck in the kernel; leave it */
		}
		if (killed || timeout_s)
			wait_ms = MAX(0, MIN(wait_ms, deadline - now));
		if (pidfd < 0)
			wait_ms = MIN(wait_ms, 50);	/* no pidfd: poll waitpid() */

		poll(pfd, 2, wait_ms);
		if (!eof && (pfd[0].revents & (POLLIN | POLLHUP)))
			eof = read_events(ev[0], r, evbuf, &evlen, sizeof(evbuf));
	}
	if (!eof)
		read_events(ev[0], r, evbuf, &evlen, sizeof(evbuf));
	close(ev[0]);
	if (pidfd >= 0)
		close(pidfd);
	if (reaped)
		kill(-pid, SIGKILL);	/* whatever the test left running */
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;			/* orphans: we are a child subreaper */

	r->duration_ms = now_ms() - start;

	if (out_fd >= 0) {
		log = read_capture(out_fd, &loglen);
		close(out_fd);
	}

	for (i = 0; i < r->nsubs; i++)
		if (!r->subs[i].filtered && !r->subs[i].ended)
			running = &r->subs[i];

	/* a test passes only if it said so and then exited normally */
	if (!reaped || !WIFEXITED(status) || WEXITSTATUS(status) || !r->completed) {
		int n;

		if (stop_signal)
			n = snprintf(r->msg, sizeof(r->msg), "interrupted by signal");
		else if (timed_out)
			n = snprintf(r->msg, sizeof(r->msg), "TIMEOUT after %d s%s", timeout_s,
				     reaped ? "" : ", process stuck after SIGKILL");
		else if (WIFSIGNALED(status))
			n = snprintf(r->msg, sizeof(r->msg), "killed by %s",
				     signame(WTERMSIG(status)));
		else
			n = snprintf(r->msg, sizeof(r->msg), "exited with status %d before the test finished",
				     WEXITSTATUS(status));
		if (running && n < (int)sizeof(r->msg))
			snprintf(r->msg + n, sizeof(r->msg) - n, " in subtest %s", running->name);
		if (running)
			running->res = RES_FAIL;
		r->res = RES_FAIL;
		r->completed = false;
	} else if (r->res == RES_FAIL) {
		fail_reason_from_log(r, log);
	}

	print_result(r, log, loglen);
	free(log);
	kmsg_marker("vmtest: test_end %s %s", def->name, res_json[r->res]);
}

/* ---- main ------------------------------------------------------------------ */

static int libbpf_print_fn(enum libbpf_print_level level, const char *format, va_list args)
{
	if (level == LIBBPF_DEBUG && env.verbosity < VERBOSE_VERY)
		return 0;
	return vfprintf(stdout, format, args);
}

static void stop_handler(int sig)
{
	stop_signal = sig;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: test_progs [-v] [-l] [-t FILTER]... [-a FILTER]... [-b FILTER]...\n"
		"                  [--timeout SEC] [--json FILE]\n"
		"\n"
		"  -t, -a FILTER   run only matching tests (may be repeated)\n"
		"  -b FILTER       do not run matching tests (may be repeated)\n"
		"                  FILTER: comma-separated items TEST or TEST/SUBTEST,\n"
		"                  each a glob (fnmatch) if it has * ? [, else a substring;\n"
		"                  e.g. -t 'task_storage/nmi*' -b task_storage/slow\n"
		"  -v              show test output even on success (-vv: libbpf debug)\n"
		"  -l              list the selected test names and exit\n"
		"  --timeout SEC   kill a test after SEC seconds (default 300, 0: none)\n"
		"  --json FILE     write results to FILE (updated after each test)\n"
		"  -h, --help      this help\n"
		"\n"
		"Exit status: 0 no failure, 1 a test failed, 2 usage error or a filter\n"
		"matched no test.\n");
}

static void parse_args(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "timeout", required_argument, NULL, 'T' },
		{ "json", required_argument, NULL, 'J' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	char *end;
	long v;
	int c;

	while ((c = getopt_long(argc, argv, "t:a:b:vlh", longopts, NULL)) != -1) {
		switch (c) {
		case 't':
		case 'a':
			add_filters(&allow, optarg);
			break;
		case 'b':
			add_filters(&deny, optarg);
			break;
		case 'v':
			env.verbosity++;
			break;
		case 'l':
			list_only = true;
			break;
		case 'T':
			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno || *end || end == optarg || v < 0 || v > INT_MAX / 1000) {
				fprintf(stderr, "error: bad --timeout '%s'\n", optarg);
				exit(EXIT_NO_TEST);
			}
			timeout_s = v;
			break;
		case 'J':
			json_path = optarg;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			exit(EXIT_NO_TEST);
		}
	}
	if (optind < argc) {
		fprintf(stderr, "error: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		exit(EXIT_NO_TEST);
	}
}

int main(int argc, char **argv)
{
	int selected[prog_test_cnt + 1], nsel = 0;
	int i, j, passed, failed, skipped;
	int succ = 0, sub_succ = 0, skip_cnt = 0, fail_cnt = 0;
	struct sigaction sa = { .sa_handler = stop_handler };	/* no SA_RESTART */
	bool filters_ok;

	/* line-buffered even into a file or pipe: keep output up to a crash */
	setvbuf(stdout, NULL, _IOLBF, 0);

	parse_args(argc, argv);

	for (i = 0; i < prog_test_cnt; i++)
		if (test_selected(prog_test_defs[i].name))
			selected[nsel++] = i;
	if (!check_filters_before_run(nsel))
		return EXIT_NO_TEST;

	if (list_only) {
		for (i = 0; i < nsel; i++)
			printf("%s\n", prog_test_defs[selected[i]].name);
		return 0;
	}

	env.nr_cpus = libbpf_num_possible_cpus();
	libbpf_set_print(libbpf_print_fn);
	prctl(PR_SET_CHILD_SUBREAPER, 1);	/* reap what tests leave behind */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	results = calloc(nsel + 1, sizeof(*results));
	if (!results) {
		perror("calloc");
		return 1;
	}
	write_json(false);	/* so the file exists if the first test kills the guest */

	for (i = 0; i < nsel && !stop_signal; i++) {
		run_test(selected[i], &results[nresults]);
		nresults++;
		write_json(false);
	}

	filters_ok = stop_signal || check_filters_after_run();

	/* as test_progs: P tests without failure (skipped ones included),
	 * S subtests OK, K skips (test-level and subtests), F failed tests
	 */
	for (i = 0; i < nresults; i++) {
		struct test_result *r = &results[i];

		if (r->res == RES_FAIL)
			fail_cnt++;
		else
			succ++;
		skip_cnt += r->test_skip;
		for (j = 0; j < r->nsubs; j++) {
			if (r->subs[j].filtered)
				continue;
			sub_succ += r->subs[j].res == RES_PASS;
			skip_cnt += r->subs[j].res == RES_SKIP;
		}
	}
	write_json(!stop_signal);

	count_results(&passed, &failed, &skipped);
	printf("Summary: %d/%d PASSED, %d SKIPPED, %d FAILED\n", succ, sub_succ, skip_cnt, fail_cnt);
	printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);

	if (!filters_ok)
		return EXIT_NO_TEST;
	return failed ? 1 : 0;
}
