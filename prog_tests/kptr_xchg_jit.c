// SPDX-License-Identifier: GPL-2.0
/* bpf_kptr_xchg() of a task kptr stays an inlined atomic xchg: in the
 * verifier's output (x86_64, arm64, riscv64) and, on x86_64, in the JITed
 * code (progs/kptr_xchg_jit.c; the __jited check needs test_progs built
 * with LLVM, else that test is skipped). It extends kptr_xchg_inline,
 * which checks the verifier's inlining for a kptr to a program-allocated
 * object only, to the kernel kptrs whose destructors the series changes.
 *
 * It passes with and without the series; a change that turned
 * bpf_kptr_xchg() back into a helper call for such kptrs (or added a call
 * around it) fails it. "test_progs -v -t kptr_xchg_jit" prints the JITed
 * code, for a comparison between kernels.
 */
#include <test_progs.h>
#include "kptr_xchg_jit.skel.h"

void test_kptr_xchg_jit(void)
{
	RUN_TESTS(kptr_xchg_jit);
}
