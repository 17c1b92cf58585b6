// SPDX-License-Identifier: GPL-2.0
/* The verifier still rejects bpf_obj_drop() in tracing programs of objects
 * with fields that cannot be released from NMI (see the program file).
 * Before the series these were rejected along with task, cgroup and
 * cpumask kptrs; a mutant that accepts every referenced kptr in
 * btf_field_is_nmi_safe() makes obj_drop_testmod_kptr load and this test
 * fail.
 */
#include <test_progs.h>
#include "obj_drop_tracing_fail.skel.h"

void test_obj_drop_tracing(void)
{
	RUN_TESTS(obj_drop_tracing_fail);
}
