/* SPDX-License-Identifier: GPL-2.0 */
/* Userspace side of progs/storage_free_tracker.c: how many tracked storage
 * values were never freed.
 */
#ifndef __FREE_TRACKER_HELPERS_H
#define __FREE_TRACKER_HELPERS_H

#include "test_progs.h"
#include "storage_free_tracker.skel.h"

static inline long tracker_count_live(struct storage_free_tracker *tracker)
{
	int fd = bpf_map__fd(tracker->maps.live);
	__u64 key, next;
	void *prev = NULL;
	long n = 0;

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		n++;
	}
	return n;
}

/* Frees after a grace period take a while: poll up to @secs seconds until
 * nothing tracked is left; returns what is left.
 */
static inline long tracker_wait_all_freed(struct storage_free_tracker *tracker, int secs)
{
	long left = tracker_count_live(tracker);
	int i;

	for (i = 0; left && i < secs * 10; i++) {
		usleep(100000);
		left = tracker_count_live(tracker);
	}
	return left;
}

#endif
