#!/usr/bin/env bash
# build-tools.sh TREE OUT: build libbpf (static, with headers) and bpftool
# from the kernel tree TREE into OUT. make keeps it incremental.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

tree=$1 out=$2
jobs=${VMTEST_JOBS:-$(($(nproc) + 1))}
clang=$(pick_clang)
need_cmd "$clang" make
mkdir -p "$out/libbpf" "$out/bpftool"
log=$out/tools.log
: >"$log"

build() {
	make -C "$@" >>"$log" 2>&1 || {
		tail -20 "$log" | sed 's/^/vmtest:   /' >&2
		die "building $(basename "$1") from $tree failed (log: $log)"
	}
}
build "$tree/tools/lib/bpf" OUTPUT="$out/libbpf/" -j"$jobs"
build "$tree/tools/lib/bpf" OUTPUT="$out/libbpf/" DESTDIR="$out/libbpf/root" prefix=/usr install_headers
build "$tree/tools/bpf/bpftool" OUTPUT="$out/bpftool/" -j"$jobs" \
	CLANG="$clang" LLVM_STRIP="llvm-strip${clang#clang}"
[ -x "$out/bpftool/bpftool" ] || die "bpftool was not built (log: $log)"
