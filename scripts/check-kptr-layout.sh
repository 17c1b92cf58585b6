#!/usr/bin/env bash
# check-kptr-layout.sh: the series must not grow struct btf_field_kptr
# (per-field overhead) nor the structures whose memory it reuses for
# deferral (task_struct, cgroup_subsys_state, bpf_local_storage_elem,
# bpf_local_storage). Compares their sizes in the BTF of the base and
# the patched kernel (both built with the debug config).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

repo=$("$VMTEST_ROOT/scripts/fetch-kernel.sh")
srcdir=$(dirname "$repo")
tools=$srcdir/tools-out
for k in base patched; do
	out=$("$VMTEST_ROOT/scripts/build-kernel.sh" "$repo" "$k" debug)
	cp "$out/vmlinux.btf" "$VMTEST_CACHE/.layout-$k.btf"
done
"$VMTEST_ROOT/scripts/build-tools.sh" "$srcdir/tree" "$tools"

size_of() {
	"$tools/bpftool/bpftool" btf dump file "$VMTEST_CACHE/.layout-$1.btf" format raw |
		sed -n "s/^\[[0-9]*\] STRUCT '$2' size=\([0-9]*\) .*/\1/p" | head -1
}

bad=0
for s in btf_field_kptr btf_field btf_record task_struct cgroup_subsys_state \
	bpf_local_storage_elem bpf_local_storage; do
	b=$(size_of base "$s") p=$(size_of patched "$s")
	[ -n "$b" ] && [ -n "$p" ] || die "struct $s not found in BTF"
	if [ "$b" = "$p" ]; then
		printf 'struct %-24s %5s bytes on base and patched\n' "$s" "$b"
	else
		printf 'struct %-24s %5s bytes on base, %s patched: GREW\n' "$s" "$b" "$p"
		bad=1
	fi
done
[ $bad -eq 0 ] || die "the series grows a structure"
