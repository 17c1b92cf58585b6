#!/usr/bin/env bash
# build-selftests.sh TREE KBUILD BTF OUT
#
# Build the kernel tree's own selftests against the kernel just built in
# KBUILD (its vmlinux and Module.symvers; call it while that build is still
# the one in KBUILD): tools/testing/selftests/bpf test_progs, test_maps and
# bpf_testmod.ko into OUT/bpf, and tools/testing/selftests/sched_ext runner
# into OUT/sched_ext. BTF is the kernel's raw BTF (vmlinux.h is made from it).
#
# The bpf build is permissive (upstream's BPF_STRICT_BUILD=0): a program
# that this config or this clang cannot build is left out instead of
# failing everything; scripts/selftests-check.sh then makes sure every test
# of the chosen set is in the binary. OUT is kept per kernel variant, so a
# rebuild is incremental.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

tree=$1 kbuild=$2 btf=$3 out=$4
jobs=${VMTEST_JOBS:-$(($(nproc) + 1))}
clang=$(pick_clang)
llvm=${clang#clang}
need_cmd "$clang" "llvm-config$llvm" make
[ -f "$kbuild/Module.symvers" ] || die "no Module.symvers in $kbuild: the kernel needs CONFIG_MODULES (kernel-config/selftests.config)"
mkdir -p "$out/bpf" "$out/sched_ext"

# LLVM=-19 picks clang-19, llc-19, llvm-strip-19, ... for the BPF side;
# CC stays gcc for userspace, like the kernel. LLVM_CONFIG enables the JIT
# disassembler that __jited tests need.
llvm_vars=(CLANG="$clang" LLC="llc$llvm" LLVM_STRIP="llvm-strip$llvm"
	LLVM_OBJCOPY="llvm-objcopy$llvm" LLVM_CONFIG="llvm-config$llvm" CC=gcc HOSTCC=gcc)

build() {
	local name=$1 log=$2
	shift 2
	if ! make "$@" >"$log" 2>&1; then
		grep -E '(error|Error)[: ]' "$log" | head -20 | sed 's/^/vmtest:   /' >&2
		die "building $name failed (log: $log)"
	fi
}

# libarena (a prerequisite of every test_progs object, not covered by the
# permissive mode) needs 32-bit atomic cmpxchg in the BPF backend, which
# clang before 20 lacks ("Cannot select ... AtomicCmpSwap"). With an older
# clang leave it out: only the libarena test itself then goes missing.
no_arena=()
[ "$("$clang" -dumpversion | cut -d. -f1)" -ge 20 ] || no_arena=(LIBARENA_SKEL=)
# By default only the tests of selftests/set and selftests/suite are built
# (scripts/selftests-shadow.sh: the tree's Makefile on a symlink tree whose
# progs/ and prog_tests/ hold just those), about 60 programs instead of
# about 1000; the lists of light and linked skeletons are emptied for the
# same reason. VMTEST_SELFTESTS_FULL=1 builds everything (--selftests-set all).
src=$tree
curated=()
if [ "${VMTEST_SELFTESTS_FULL:-0}" != 1 ]; then
	src=$out/src
	"$VMTEST_ROOT/scripts/selftests-shadow.sh" "$tree" "$src" \
		"$VMTEST_ROOT/selftests/set" "$VMTEST_ROOT/selftests/suite"
	curated=(LSKELS= LSKELS_EXTRA= LSKELS_SIGNED= LINKED_SKELS=)
fi
build "selftests/bpf" "$out/bpf/build.log" -C "$src/tools/testing/selftests/bpf" -j"$jobs" \
	OUTPUT="$out/bpf" O="$kbuild" VMLINUX_BTF="$btf" BPF_STRICT_BUILD=0 "${no_arena[@]}" "${curated[@]}" \
	"${llvm_vars[@]}" test_progs test_maps "$out/bpf/bpf_testmod.ko"
# What the permissive build left out, for the record (and the check).
grep -E '^\s+SKIP-(BPF|SKEL|TEST)' "$out/bpf/build.log" | awk '{print $1, $2}' | sort -u \
	>"$out/bpf/skipped-in-build.txt" || true
note "selftests/bpf: $(wc -l <"$out/bpf/skipped-in-build.txt") objects left out by the permissive build (list: $out/bpf/skipped-in-build.txt)"

build "selftests/sched_ext" "$out/sched_ext/build.log" -C "$tree/tools/testing/selftests/sched_ext" -j"$jobs" \
	OUTPUT="$out/sched_ext" O="$kbuild" VMLINUX_BTF="$btf" "${llvm_vars[@]}" "$out/sched_ext/runner"
