#!/usr/bin/env bash
# overlay-bench.sh TREE: put this repository's benchmarks into the kernel
# tree TREE (a git worktree), where they are upstream benchmarks of the
# tree's own runner, tools/testing/selftests/bpf/bench:
#   bench/benchs/*.c    -> tools/testing/selftests/bpf/benchs/
#   bench/progs/*.[ch]  -> tools/testing/selftests/bpf/progs/
#   bench/*.h           -> tools/testing/selftests/bpf/
# and registers them in the runner (bench.c) and its Makefile with
# bench/selftests-bench-register.patch. Like scripts/overlay-selftests.sh
# for the tests, the files here are the one source: scripts/selftests-commits.sh
# commits this overlay on top of every kernel variant (base too), and
# scripts/series.sh export turns the commit into the series' benchmark
# patch. Idempotent.
#
# Exit status 3, with a warning and TREE untouched, when the registration
# does not apply (a tree whose bench.c or Makefile moved on): the tests do
# not need the benchmarks, so that must not stop them; the bench build
# (scripts/build-bench.sh) then says what is missing.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

tree=$1
bpf=$tree/tools/testing/selftests/bpf
src=$VMTEST_ROOT/bench
reg=$src/selftests-bench-register.patch
if [ ! -d "$bpf/benchs" ] || [ ! -d "$bpf/progs" ]; then
	die "$tree has no tools/testing/selftests/bpf/{benchs,progs}"
fi

if ! git -C "$tree" apply -R --check "$reg" >/dev/null 2>&1; then
	if ! err=$(git -C "$tree" apply --check "$reg" 2>&1); then
		note "warning: bench/selftests-bench-register.patch does not apply to $tree; the series' benchmarks are left out:"
		echo "$err" | sed 's/^/vmtest:   /' >&2
		exit 3
	fi
	git -C "$tree" apply "$reg"
fi
cp "$src"/benchs/*.c "$bpf/benchs/"
cp "$src"/progs/*.[ch] "$bpf/progs/"
cp "$src"/*.h "$bpf/"
