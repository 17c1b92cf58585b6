// SPDX-License-Identifier: GPL-2.0
/* Guest side of the vmtest NMI channel; see scripts/nmi-injector.py. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "vmtest_nmi.h"

#define VMTEST_CTL_DEV "/dev/ttyS1"
#define VMTEST_DEFAULT_NMI_RATE 3000

static int ctl_fd = -1;
static int saved_console_loglevel = -1;

/* Every injected NMI that no handler claims makes the kernel print a
 * (ratelimited) "Uhhuh" line at KERN_EMERG, and each slow NMI handler under
 * TCG a KERN_INFO line. Hide KERN_INFO and below on the console while NMIs
 * are injected; splats (KERN_WARNING and up) still reach it.
 */
static void quiet_console(bool quiet)
{
	FILE *f = fopen("/proc/sys/kernel/printk", "r+");
	int cur;

	if (!f)
		return;
	if (quiet && fscanf(f, "%d", &cur) == 1) {
		saved_console_loglevel = cur;
		rewind(f);
		fprintf(f, "%d", cur < 6 ? cur : 6);
	} else if (!quiet && saved_console_loglevel >= 0) {
		fprintf(f, "%d", saved_console_loglevel);
		saved_console_loglevel = -1;
	}
	fclose(f);
}

/* Send @req and read one reply line into @buf within @timeout_ms. */
static int ctl_request(const char *req, char *buf, size_t len, int timeout_ms)
{
	struct pollfd pfd;
	size_t n = 0;

	if (ctl_fd < 0) {
		ctl_fd = open(VMTEST_CTL_DEV, O_RDWR | O_NOCTTY);
		if (ctl_fd < 0)
			return -errno;
	}
	if (write(ctl_fd, req, strlen(req)) != (ssize_t)strlen(req))
		return -EIO;

	pfd.fd = ctl_fd;
	pfd.events = POLLIN;
	while (n < len - 1) {
		int r = poll(&pfd, 1, timeout_ms);
		char c;

		if (r <= 0)
			return r == 0 ? -ETIMEDOUT : -errno;
		if (read(ctl_fd, &c, 1) != 1)
			return -EIO;
		if (c == '\n')
			break;
		buf[n++] = c;
	}
	buf[n] = '\0';
	return 0;
}

int vmtest_nmi_start(int rate_hz)
{
	char req[64], reply[64];
	int err;

	if (rate_hz <= 0) {
		const char *env = getenv("VMTEST_NMI_RATE");

		rate_hz = env ? atoi(env) : VMTEST_DEFAULT_NMI_RATE;
	}
	quiet_console(true);
	snprintf(req, sizeof(req), "NMI START %d\n", rate_hz);
	err = ctl_request(req, reply, sizeof(reply), 5000);
	if (err) {
		quiet_console(false);
		fprintf(stderr, "vmtest_nmi_start: no NMI source on %s: %s\n",
			VMTEST_CTL_DEV, strerror(-err));
		return err;
	}
	return strcmp(reply, "OK") ? -EPROTO : 0;
}

long vmtest_nmi_stop(void)
{
	char reply[64];
	long count;
	int err;

	err = ctl_request("NMI STOP\n", reply, sizeof(reply), 5000);
	quiet_console(false);
	if (err)
		return err;
	if (sscanf(reply, "NMI COUNT %ld", &count) != 1)
		return -EPROTO;
	return count;
}

#define BUSY_MAX_THREADS 64

static pthread_t busy_threads[BUSY_MAX_THREADS];
static int busy_nr;
static volatile bool busy_stop;

static void *busy_syscalls(void *arg)
{
	while (!busy_stop)
		getppid();
	return NULL;
}

int vmtest_busy_cpus_start(int n)
{
	busy_stop = false;
	for (busy_nr = 0; busy_nr < n && busy_nr < BUSY_MAX_THREADS; busy_nr++)
		if (pthread_create(&busy_threads[busy_nr], NULL, busy_syscalls, NULL))
			break;
	return busy_nr;
}

void vmtest_busy_cpus_stop(void)
{
	busy_stop = true;
	while (busy_nr > 0)
		pthread_join(busy_threads[--busy_nr], NULL);
}
