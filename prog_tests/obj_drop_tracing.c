// SPDX-License-Identifier: GPL-2.0
/* The verifier still rejects bpf_obj_drop() in tracing programs of objects
 * with fields that cannot be released from NMI: bpf_list_head and
 * bpf_rb_root, and list or rbtree nodes (see the program file). A verifier
 * that accepted every such object would fail it: each subtest expects the
 * "NMI unsafe fields" rejection.
 */
#include <test_progs.h>
#include "obj_drop_tracing_fail.skel.h"

void test_obj_drop_tracing(void)
{
	RUN_TESTS(obj_drop_tracing_fail);
}
