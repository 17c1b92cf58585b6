/* SPDX-License-Identifier: GPL-2.0 */
/* The "live" map of storage_free_tracker.c. Programs that create storage
 * include this header and record the address of every new value in it;
 * the test shares one map between them and the tracker with
 * bpf_map__reuse_fd().
 */
#ifndef __STORAGE_FREE_TRACKER_H
#define __STORAGE_FREE_TRACKER_H

/* make soak at 2 vCPUs had up to 193785 values not yet freed at once */
#define LIVE_MAX_ENTRIES (256 * 1024)

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, LIVE_MAX_ENTRIES);
	__type(key, __u64);
	__type(value, __u8);
} live SEC(".maps");

#endif
