// SPDX-License-Identifier: GPL-2.0
/* Dump the JITed code of a program using bpf_kptr_xchg() to
 * /vmtest/out/kptr_xchg_jit.bin, where scripts/compare-kptr-xchg-jit.sh
 * compares it between base and patched kernels (identical code there also
 * shows no helper call was added). Here: the code must hold an xchg with a
 * memory operand (REX.W 87 /r).
 */
#include "test_progs.h"
#include "kptr_xchg_jit.skel.h"

#define JIT_OUT "/vmtest/out/kptr_xchg_jit.bin"

void test_kptr_xchg_jit(void)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info), i;
	struct kptr_xchg_jit *skel;
	unsigned char *insns = NULL;
	bool has_xchg = false;
	FILE *f;
	int fd;

	skel = kptr_xchg_jit__open_and_load();
	if (!ASSERT_OK_PTR(skel, "open_and_load"))
		return;
	fd = bpf_program__fd(skel->progs.kptr_xchg_prog);
	if (!ASSERT_OK(bpf_prog_get_info_by_fd(fd, &info, &len), "prog info") ||
	    !ASSERT_GT(info.jited_prog_len, 0, "jited"))
		goto out;
	insns = calloc(1, info.jited_prog_len);
	if (!ASSERT_OK_PTR(insns, "calloc"))
		goto out;
	len = info.jited_prog_len;
	memset(&info, 0, sizeof(info));
	info.jited_prog_len = len;
	info.jited_prog_insns = ptr_to_u64(insns);
	len = sizeof(info);
	if (!ASSERT_OK(bpf_prog_get_info_by_fd(fd, &info, &len), "jited insns"))
		goto out;

	for (i = 0; i + 1 < info.jited_prog_len; i++)
		if ((insns[i] & 0xf8) == 0x48 && insns[i + 1] == 0x87)
			has_xchg = true;
	ASSERT_TRUE(has_xchg, "inlined xchg");
	printf("jited %u bytes, inlined xchg: %s\n", info.jited_prog_len, has_xchg ? "yes" : "no");

	f = fopen(JIT_OUT, "w");
	if (f) {
		fwrite(insns, 1, info.jited_prog_len, f);
		fclose(f);
	}
out:
	free(insns);
	kptr_xchg_jit__destroy(skel);
}
