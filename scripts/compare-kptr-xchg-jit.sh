#!/usr/bin/env bash
# compare-kptr-xchg-jit.sh: show that bpf_kptr_xchg() JITs to the same code
# (a single inlined atomic xchg) on the base and the patched kernel.
# Runs the kptr_xchg_jit test on both, disassembles the dumped JIT images
# and diffs them with addresses and immediates of calls/jumps masked.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need_cmd objdump

disasm() {
	objdump -D -b binary -m i386:x86-64 "$1" | sed -n 's/^ *[0-9a-f]*:\t[0-9a-f ]*\t//p' |
		sed -E 's/0x[0-9a-f]{8,}/ADDR/g; s/(call|jmp) +[0-9a-f]+.*/\1 TARGET/'
}

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for k in base patched; do
	"$VMTEST_ROOT/vmtest.sh" --kernel "$k" -t kptr_xchg_jit --run-dir "$out/run-$k" >"$out/$k.log" 2>&1 ||
		{ tail -20 "$out/$k.log" >&2; die "kptr_xchg_jit failed on the $k kernel"; }
	cp "$out/run-$k/share/out/kptr_xchg_jit.bin" "$out/$k.bin" ||
		die "no JIT dump from the $k kernel"
	disasm "$out/$k.bin" >"$out/$k.asm"
done
echo "bpf_kptr_xchg() program, JITed on the patched kernel:"
grep -n "xchg" "$out/patched.asm" | sed 's/^/  /'
if diff -u "$out/base.asm" "$out/patched.asm"; then
	echo "identical JIT code on base and patched kernels ($(wc -l <"$out/base.asm") instructions)"
else
	die "the JIT code of bpf_kptr_xchg() differs between base and patched kernels"
fi
