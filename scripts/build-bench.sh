#!/usr/bin/env bash
# build-bench.sh TREE KBUILD BTF OUT
#
# Build the kernel tree's own benchmark runner,
# tools/testing/selftests/bpf/bench, against the kernel just built in
# KBUILD, into OUT (the runner is OUT/bench). BTF is that kernel's raw BTF
# (vmlinux.h is made from it). OUT is kept per kernel variant, so a rebuild
# is incremental.
#
# The runner has the tree's local-storage-create and
# local-storage-tasks-trace, and the series' local storage benchmarks
# (bench/benchs/*.c and bench/progs/*.c here, registered by
# bench/selftests-bench-register.patch; the series' selftests patch carries
# them). A tree without them (the base kernel's; any tree, as long as the
# overlay of scripts/overlay-selftests.sh leaves bench/ out) gets them from
# bench/: the build then runs in OUT/src, a copy of TREE made of symlinks,
# where tools/testing/selftests/bpf gets the files and the registration
# patch. TREE itself is never written to.
#
# Only the runner and the BPF objects of its benchmarks are built, not
# test_progs. The build is permissive (BPF_STRICT_BUILD=0) so that the log
# lists every object that failed, not only the first; any failure still
# leaves no runner (it links every benchmark), which fails this script.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

tree=$(cd "$1" && pwd) kbuild=$2 btf=$3 out=$4
jobs=${VMTEST_JOBS:-$(($(nproc) + 1))}
clang=$(pick_clang)
llvm=${clang#clang}
need_cmd "$clang" "llvm-config$llvm" make patch
[ -f "$btf" ] || die "no BTF at $btf"
mkdir -p "$out"
out=$(cd "$out" && pwd)
st=tools/testing/selftests/bpf
ours=$VMTEST_ROOT/bench

src=$tree
if [ ! -f "$tree/$st/benchs/bench_local_storage_delete.c" ]; then
	# Symlinks to TREE down the path to selftests/bpf, whose directories
	# are real (cp -as) so that files can be added and replaced there.
	src=$out/src
	rm -rf "$src"
	mkdir -p "$src"
	dir=
	for part in tools testing selftests; do
		for e in "$tree/$dir"*; do
			[ "$(basename "$e")" = "$part" ] || ln -s "$e" "$src/$dir$(basename "$e")"
		done
		dir=$dir$part/
		mkdir -p "$src/$dir"
	done
	for e in "$tree/$dir"*; do
		[ "$(basename "$e")" = bpf ] || ln -s "$e" "$src/$dir$(basename "$e")"
	done
	cp -as "$tree/$st" "$src/$st"
	# The files the registration patches (bench.c, bench.h, the Makefile)
	# become copies: patch does not write through symlinks.
	for f in $(sed -n 's|^+++ b/||p' "$ours/selftests-bench-register.patch"); do
		cp --remove-destination "$tree/$f" "$src/$f"
	done
	patch -s -p1 -d "$src" <"$ours/selftests-bench-register.patch" ||
		die "bench/selftests-bench-register.patch does not apply to $tree"
	# -p: keep the sources' times, so that a rebuild stays incremental
	cp -p "$ours"/benchs/*.c "$src/$st/benchs/"
	cp -p "$ours"/progs/*.c "$src/$st/progs/"
	note "bench: the series' benchmarks added from $ours (the tree has none)"
fi

# LLVM=-19 picks clang-19, llc-19, llvm-strip-19, ... for the BPF side;
# CC stays gcc for userspace, like the kernel.
llvm_vars=(CLANG="$clang" LLC="llc$llvm" LLVM_STRIP="llvm-strip$llvm"
	LLVM_OBJCOPY="llvm-objcopy$llvm" LLVM_CONFIG="llvm-config$llvm" CC=gcc HOSTCC=gcc)

log=$out/build.log
# A runner left from an earlier build must not pass for this one
rm -f "$out/bench"
make -C "$src/$st" -j"$jobs" OUTPUT="$out" O="$kbuild" VMLINUX_BTF="$btf" BPF_STRICT_BUILD=0 \
	"${llvm_vars[@]}" "$out/bench" >"$log" 2>&1 || true
if [ ! -x "$out/bench" ]; then
	grep -E '^\s+SKIP-(BPF|SKEL|BENCH|LINK)' "$log" | sed 's/^ */vmtest:   /' >&2 || true
	grep -E '(error|Error)[: ]' "$log" | head -20 | sed 's/^/vmtest:   /' >&2 || true
	die "building the tree's bench failed (log: $log)"
fi
want="local-storage-create local-storage-tasks-trace local-storage-delete local-storage-delete-cost local-storage-map-close local-storage-backlog"
have=$("$out/bench" --list)
for b in $want; do
	grep -qx -- "- $b" <<<"$have" || die "$out/bench has no benchmark $b"
done
note "bench: $out/bench"
