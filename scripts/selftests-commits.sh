#!/usr/bin/env bash
# selftests-commits.sh WORKTREE: commit this repository's tests into
# WORKTREE (a kernel tree with the series' kernel patches applied) as the
# series' selftests patches, generated from the files:
#   1. selftests/bpf: changes to tests the tree already has
#   2. selftests/bpf: the new tests
#   3. selftests/sched_ext: the new sched_ext test
#   4. selftests/bpf: the benchmarks of bench/, registered in the tree's
#      bench runner (scripts/overlay-bench.sh)
# (each only when it has something; messages in selftests/commits/*.msg).
# scripts/overlay-selftests.sh and scripts/overlay-bench.sh decide where
# each file goes. The author is the series' (SERIES_AUTHOR_NAME/EMAIL,
# default the placeholder that scripts/series.sh send replaces); dates are
# fixed, so the same files give the same commits.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

wt=$1
name=${SERIES_AUTHOR_NAME:-BPF Storage Defer}
email=${SERIES_AUTHOR_EMAIL:-bpf-storage-defer@example.org}
st=tools/testing/selftests

"$VMTEST_ROOT/scripts/overlay-selftests.sh" "$wt"

commit() { # commit MSGFILE PATH...
	local msg=$1
	shift
	git -C "$wt" add -A -- "$@"
	git -C "$wt" diff --cached --quiet && return 0
	{ cat "$VMTEST_ROOT/selftests/commits/$msg"; echo; echo "Signed-off-by: $name <$email>"; } |
		GIT_AUTHOR_NAME=$name GIT_AUTHOR_EMAIL=$email GIT_AUTHOR_DATE='@0 +0000' \
			GIT_COMMITTER_NAME=$name GIT_COMMITTER_EMAIL=$email GIT_COMMITTER_DATE='@0 +0000' \
			git -C "$wt" commit -q --no-verify -F -
}

# Tracked files the overlay changed, and the new files that belong with
# them (selftests/commits/bpf-update.files: file names, one a line).
mapfile -t changed < <(git -C "$wt" diff --name-only -- "$st/bpf"
	for f in $(sed -e 's/#.*//' "$VMTEST_ROOT/selftests/commits/bpf-update.files"); do
		for d in progs prog_tests; do
			if [ -e "$wt/$st/bpf/$d/$f" ]; then echo "$st/bpf/$d/$f"; fi
		done
	done)
[ ${#changed[@]} -eq 0 ] || commit bpf-update.msg "${changed[@]}"
commit bpf-new.msg "$st/bpf"
commit sched_ext.msg "$st/sched_ext"

# The benchmarks last, after everything of the tests is committed; left
# out (with a warning) where their registration does not apply.
rc=0
"$VMTEST_ROOT/scripts/overlay-bench.sh" "$wt" || rc=$?
case $rc in
0) commit bench.msg "$st/bpf" ;;
3) ;;
*) exit "$rc" ;;
esac
