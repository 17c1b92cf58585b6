// SPDX-License-Identifier: GPL-2.0
/* Programs of the local-storage-map-close benchmark
 * (benchs/bench_local_storage_map_close.c).
 *
 * create_delete is the load: run through BPF_PROG_TEST_RUN by the
 * producers, it creates and deletes task storage in load_map nr_loops
 * times. map_free_enter/map_free_exit time bpf_local_storage_map_free() of
 * the one map whose name userspace put in target_name: they run once per
 * map free, not per delete, so they cost the two kernels the same.
 * victim_template is never used by a program: userspace creates the maps
 * it closes from its BTF key and value types.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "bench_local_storage_common.bpf.h"

char _license[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct storage);
} load_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct storage);
} victim_template SEC(".maps");

__u32 nr_loops = 64;

long delete_cnts;
long errs;

/* The map being timed, by name (its id is gone by the time it is freed) */
__u64 target_name[2];
__u64 target_map;	/* its address, once map_free_enter saw it */
__u64 free_enter_ns;
__u64 free_exit_ns;

static long create_delete_one(__u64 i, void *data)
{
	ls_task_create_delete(&load_map, data);
	return 0;
}

SEC("raw_tp")
int create_delete(void *ctx)
{
	struct ls_loop_ctx c = {};

	bpf_loop(nr_loops, create_delete_one, &c, 0);
	__sync_fetch_and_add(&delete_cnts, c.ok);
	__sync_fetch_and_add(&errs, c.errs);
	return 0;
}

SEC("fentry/bpf_local_storage_map_free")
int BPF_PROG(map_free_enter, struct bpf_map *map)
{
	__u64 name[2] = {};

	if (!target_name[0])
		return 0;
	if (bpf_probe_read_kernel(name, sizeof(name), &map->name))
		return 0;
	if (name[0] != target_name[0] || name[1] != target_name[1])
		return 0;
	target_map = (__u64)map;
	free_enter_ns = bpf_ktime_get_ns();
	return 0;
}

/* The map is freed by now: compare its address, do not read it. */
SEC("fexit/bpf_local_storage_map_free")
int BPF_PROG(map_free_exit, struct bpf_map *map)
{
	if (!target_map || (__u64)map != target_map)
		return 0;
	free_exit_ns = bpf_ktime_get_ns();
	target_map = 0;
	return 0;
}
