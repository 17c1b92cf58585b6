// SPDX-License-Identifier: GPL-2.0
/* The verifier still rejects bpf_obj_drop() in tracing programs of objects
 * with fields that cannot be released from NMI: kptrs to program-allocated
 * objects, kernel kptrs whose destructor is not registered as NMI-safe,
 * percpu kptrs, bpf_list_head and bpf_rb_root, and list or rbtree nodes
 * (see the program file). Each of those subtests expects the "NMI unsafe
 * fields" rejection: a verifier that took every referenced kptr for
 * NMI-safe would fail obj_drop_local_kptr and obj_drop_testmod_kptr.
 */
#include <test_progs.h>
#include "obj_drop_tracing_fail.skel.h"

void test_obj_drop_tracing(void)
{
	RUN_TESTS(obj_drop_tracing_fail);
}
