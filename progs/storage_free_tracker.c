// SPDX-License-Identifier: GPL-2.0
/* Tracks which task storage values are still allocated.
 *
 * Programs that create storage insert the address of the new value into
 * "live" (the map is shared through bpf_map__reuse_fd()). Every free path
 * of a selem (deferred free after a grace period, map_free, owner
 * destroy) calls bpf_obj_free_fields() on its value first: the value's
 * address leaves "live" there. Whatever is left once the frees had time
 * to run was never freed.
 */
#include <vmlinux.h>
#include <errno.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "storage_free_tracker.h"

char _license[] SEC("license") = "GPL";

long nr_freed;
long nr_free_untracked;

SEC("fentry/bpf_obj_free_fields")
int BPF_PROG(on_obj_free_fields, const struct btf_record *rec, void *obj)
{
	__u64 key = (__u64)obj;
	long err;

	err = bpf_map_delete_elem(&live, &key);
	if (!err)
		__sync_fetch_and_add(&nr_freed, 1);
	else if (err != -ENOENT) /* -ENOENT: not one of ours */
		__sync_fetch_and_add(&nr_free_untracked, 1);
	return 0;
}
