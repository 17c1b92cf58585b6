/* SPDX-License-Identifier: GPL-2.0 */
#ifndef __STORAGE_STRESS_H
#define __STORAGE_STRESS_H

#ifndef EOPNOTSUPP
#define EOPNOTSUPP 95
#define EEXIST 17
#define ENOENT 2
#endif

enum stress_ctx {
	CTX_TASK,
	CTX_HARDIRQ,
	CTX_NMI,
	CTX_KPROBE,
	NR_STRESS_CTX,
};

struct ctx_stats {
	long runs;		/* program runs for a target task */
	long created;		/* new storage values */
	long create_failed;
	long untracked;		/* created but could not be recorded in "live" */
	long deleted;
	long delete_eopnotsupp;	/* base kernels reject delete in NMI */
	long delete_failed;	/* other errors, e.g. rqspinlock -EDEADLK on re-entry */
};

#endif
