#!/usr/bin/env bash
# selftests-compare.sh [DIR] [vmtest.sh options...]
#
# Run the tree's own selftests (selftests/set) and this repository's tests
# (selftests/suite, which every variant gets) on the base kernel and on the
# series, then print one table: test/subtest | base | patched, for every row
# that differs or is declared, checked against selftests/expected-changes
# and selftests/known-failures. Writes DIR/{base,patched}/ (each a vmtest run
# directory) and DIR/compare.json; DIR defaults to a new directory under
# $VMTEST_CACHE/selftests-compare/. Extra options (-t/-b FILTER,
# --selftests-set FILE|all instead of both sets, --test-timeout S, ...) go
# to both runs.
# Exit status: 0 when both kernels ran and every difference is declared.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

dir=${1:-}
if [ -n "$dir" ] && [[ $dir != -* ]]; then shift; else
	dir=$VMTEST_CACHE/selftests-compare/$(date +%Y%m%d-%H%M%S)-$$
fi
mkdir -p "$dir"
[ -z "$(ls -A "$dir")" ] || die "$dir is not empty"

# One set file for both runs, so that both kernels run the same tests.
cat "$VMTEST_ROOT/selftests/set" "$VMTEST_ROOT/selftests/suite" >"$dir/set"

rc=0
for kernel in base patched; do
	# A run with failing tests still has results to compare; a run that
	# produced none (build failure, no boot) has not.
	"$VMTEST_ROOT/vmtest.sh" --kernel "$kernel" --selftests-set "$dir/set" --run-dir "$dir/$kernel" "$@" || true
	[ -f "$dir/$kernel/selftests.json" ] || { note "error: the $kernel run produced no selftests results ($dir/$kernel)"; rc=1; }
done
[ $rc -eq 0 ] || exit 1
echo
echo "selftests: base vs patched ($dir)"
python3 "$VMTEST_ROOT/scripts/selftests-results.py" compare "$dir/base" "$dir/patched" --json "$dir/compare.json"
