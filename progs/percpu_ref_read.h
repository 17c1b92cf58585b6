/* SPDX-License-Identifier: GPL-2.0 */
/* The count of a struct percpu_ref, read by a BPF program: in atomic mode
 * the atomic count; in percpu mode the atomic count, which then carries
 * PERCPU_COUNT_BIAS, plus the per-CPU counts, which are where gets and puts
 * land in that mode. The per-CPU counts are found through
 * __per_cpu_offset, a kallsyms symbol (CONFIG_KALLSYMS_ALL), as in
 * progs/bpf_ma_ttrace.c.
 */
#ifndef __PERCPU_REF_READ_H
#define __PERCPU_REF_READ_H

#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

extern const void __per_cpu_offset __ksym;

#define PERCPU_REF_ATOMIC_DEAD	3UL			/* low bits of percpu_count_ptr */
#define PERCPU_COUNT_BIAS	0x8000000000000000UL	/* lib/percpu-refcount.c, 64-bit */

/* Set *percpu (the ref is in percpu mode) and *refs (its count) for a ref
 * that cannot go away meanwhile. Returns 0, or -1 when a per-CPU count
 * cannot be read.
 */
static __always_inline int percpu_ref_read(struct percpu_ref *ref, int nr_cpus,
					   int *percpu, long *refs)
{
	const unsigned long *offsets = &__per_cpu_offset;
	unsigned long pcpu, count, off, v, sum = 0;
	int cpu;

	pcpu = BPF_CORE_READ(ref, percpu_count_ptr);
	count = BPF_CORE_READ(ref, data, count.counter);
	*percpu = !(pcpu & PERCPU_REF_ATOMIC_DEAD);
	if (!*percpu) {
		*refs = count;
		return 0;
	}
	bpf_for(cpu, 0, nr_cpus) {
		if (bpf_probe_read_kernel(&off, sizeof(off), offsets + cpu) ||
		    bpf_probe_read_kernel(&v, sizeof(v), (void *)(pcpu + off)))
			return -1;
		sum += v;
	}
	*refs = count - PERCPU_COUNT_BIAS + sum;
	return 0;
}

#endif
