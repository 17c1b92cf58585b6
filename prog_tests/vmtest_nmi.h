/* SPDX-License-Identifier: GPL-2.0 */
/*
 * NMI source for tests that need BPF programs to run in NMI context.
 *
 * Under QEMU TCG there is no PMU, so the vmtest host injects NMIs through
 * QMP when the guest asks on its control serial port (/dev/ttyS1).
 */
#ifndef __VMTEST_NMI_H
#define __VMTEST_NMI_H

/* Start injecting NMIs at @rate_hz (0: the harness default, --nmi-rate).
 * Returns 0, or -errno when no NMI source is available.
 */
int vmtest_nmi_start(int rate_hz);

/* Stop injecting; returns how many NMIs the host injected since start,
 * or -errno.
 */
long vmtest_nmi_stop(void);

/* Keep @n CPUs (at most 64) busy in syscalls of this process, one thread
 * each, so that injected NMIs and timer interrupts mostly land on one of
 * its tasks. Returns the number of threads started.
 */
int vmtest_busy_cpus_start(int n);

/* Stop and join the threads of vmtest_busy_cpus_start() */
void vmtest_busy_cpus_stop(void);

#endif
