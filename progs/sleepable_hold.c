// SPDX-License-Identifier: GPL-2.0
/* A sleepable program takes a pointer to its task's local storage, then
 * sleeps in bpf_copy_from_user() (the test holds the user page with
 * userfaultfd) while the storage is deleted. When the page arrives, a
 * second bpf_copy_from_user() writes through the pointer. _copy_from_user()
 * is KASAN-instrumented (JITed stores are not; and the instrumentation runs
 * before the copy, so the copy that sleeps is not the one that can report),
 * so a selem freed before the RCU Tasks Trace grace period ends shows up as
 * a KASAN use-after-free.
 */
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "bpf_misc.h"

char _license[] SEC("license") = "GPL";

#define HOLD_BUF_SIZE 256

struct hold_value {
	char buf[HOLD_BUF_SIZE];
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct hold_value);
} task_map SEC(".maps");

int holder_tid;
__u64 sleep_buf;
__u64 user_page;
int got_storage;
int copy_done;
long copy_err;

SEC("fentry.s/" SYS_PREFIX "sys_getpgid")
int BPF_PROG(hold_storage, struct pt_regs *regs)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct hold_value *val;

	if (task->pid != holder_tid)
		return 0;
	val = bpf_task_storage_get(&task_map, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!val)
		return 0;
	got_storage = 1;
	/* Sleeps until the test resolves the userfaultfd fault */
	bpf_copy_from_user(&sleep_buf, sizeof(sleep_buf), (void *)user_page);
	/* Now write through the pointer taken before the sleep. KASAN checks
	 * the destination when _copy_from_user() starts, so this second copy
	 * (the page is present now) is what reports a freed selem.
	 */
	copy_err = bpf_copy_from_user(val->buf, sizeof(val->buf), (void *)user_page);
	copy_done = 1;
	return 0;
}
