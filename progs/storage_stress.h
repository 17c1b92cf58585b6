/* SPDX-License-Identifier: GPL-2.0 */
#ifndef __STORAGE_STRESS_H
#define __STORAGE_STRESS_H

enum stress_ctx {
	CTX_TASK,
	CTX_HARDIRQ,
	CTX_NMI,
	CTX_KPROBE,
	NR_STRESS_CTX,
};

struct ctx_stats {
	long runs;		/* program runs that acted on a task */
	long wrong_ctx;		/* CTX_NMI runs not in NMI, CTX_HARDIRQ not in hardirq */
	long created;		/* new storage values */
	long create_failed;
	long untracked;		/* created but could not be recorded in "live" */
	long untracked_busy;	/* the same, "live" locked by an interrupted context */
	long deleted;
	long delete_eopnotsupp;	/* delete refused with -EOPNOTSUPP */
	long delete_failed;	/* other errors, e.g. rqspinlock -EDEADLK on re-entry */
};

#endif
