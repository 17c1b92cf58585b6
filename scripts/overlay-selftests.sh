#!/usr/bin/env bash
# overlay-selftests.sh TREE: put this repository's tests into the kernel
# tree TREE, where they are upstream selftests:
#   progs/*.[ch]              -> tools/testing/selftests/bpf/progs/
#   prog_tests/*.[ch]         -> tools/testing/selftests/bpf/prog_tests/
#   progs/sched_ext/*         -> tools/testing/selftests/sched_ext/
#   prog_tests/sched_ext/*.c  -> tools/testing/selftests/sched_ext/ (and
#                                listed in its Makefile's auto-test-targets)
# The files here are the one source: apply-series.sh commits this overlay on
# top of every kernel variant (so base runs the same tests), and
# scripts/series.sh export turns the same commit into the series' selftests
# patches. Idempotent.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

tree=$1
bpf=$tree/tools/testing/selftests/bpf
scx=$tree/tools/testing/selftests/sched_ext
[ -d "$bpf/prog_tests" ] && [ -d "$scx" ] || die "$tree has no tools/testing/selftests/{bpf,sched_ext}"

copy() { # copy DEST FILE...: FILEs that exist
	local dest=$1 f
	shift
	for f in "$@"; do
		[ -f "$f" ] && cp "$f" "$dest/"
	done
	return 0
}
r=$VMTEST_ROOT
copy "$bpf/progs" "$r"/progs/*.[ch]
copy "$bpf/prog_tests" "$r"/prog_tests/*.[ch]
copy "$scx" "$r"/progs/sched_ext/* "$r"/prog_tests/sched_ext/*

# sched_ext builds only the tests its Makefile lists.
for t in "$r"/prog_tests/sched_ext/*.c; do
	[ -f "$t" ] || continue
	name=$(basename "$t" .c)
	grep -qE "^\s+$name\s*\\\\$" "$scx/Makefile" ||
		sed -i "s/^auto-test-targets :=\(\s*\)\\\\$/&\n\t$name\t\t\\\\/" "$scx/Makefile"
	grep -qE "^\s+$name\s*\\\\$" "$scx/Makefile" || die "cannot add $name to $scx/Makefile"
done
