#!/usr/bin/env bash
# run-mutants.sh [RUNS] [NAME...]: prove the tests can fail.
#
# Each patches/mutants/NAME.patch is a deliberately wrong change on top of the
# series whose description names the test that must catch it
# ("Expect-fail: TEST") and how ("Expect-reason: REGEX", matched against the
# failure reason in the run's report, e.g. "kernel splat \[kasan\]"). Build
# that kernel (incrementally, in the same tree), run the test RUNS times
# (default 1), each in its own run directory, and count the runs in which
# that test failed for that reason: a failure for another reason (a
# timeout, TCG slowness, a build error) is not a catch. Succeeds only if every mutant was caught in every run... or, with
# MUTANT_MIN_CATCH=K, in at least K runs (for races that are caught by chance).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

runs=${1:-1}
shift || true
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
	for p in "$VMTEST_ROOT"/patches/mutants/*.patch; do
		names+=("$(basename "$p" .patch)")
	done
fi
min_catch=${MUTANT_MIN_CATCH:-$runs}

failed=0
summary=()
for name in "${names[@]}"; do
	patch=$VMTEST_ROOT/patches/mutants/$name.patch
	[ -f "$patch" ] || die "no mutant $patch"
	test=$(sed -n 's/^Expect-fail: *//p' "$patch" | head -1)
	reason=$(sed -n 's/^Expect-reason: *//p' "$patch" | head -1)
	[ -n "$test" ] || die "$patch has no 'Expect-fail: TEST' line"
	[ -n "$reason" ] || die "$patch has no 'Expect-reason: REGEX' line"
	caught=0
	for i in $(seq 1 "$runs"); do
		note "mutant $name, run $i/$runs: expecting $test to fail with /$reason/"
		run=$VMTEST_CACHE/runs/$(date +%Y%m%d-%H%M%S)-mutant-$name-$i-$$
		# The run's log sits beside its directory: create the parent (a new
		# cache has no runs/ yet).
		mkdir -p "$run"
		"$VMTEST_ROOT/vmtest.sh" --kernel "mutant-$name" --run-dir "$run" \
			--test-timeout "${MUTANT_TEST_TIMEOUT:-180}" -t "$test" >"$run.log" 2>&1 || true
		if verdict=$(python3 "$VMTEST_ROOT/scripts/mutant-verdict.py" "$run/report.json" "$test" "$reason"); then
			caught=$((caught + 1))
			note "  caught: $verdict"
		else
			note "  NOT caught: $verdict (log: $run.log)"
		fi
	done
	summary+=("mutant $name: $test failed in $caught/$runs runs")
	[ "$caught" -ge "$min_catch" ] || failed=$((failed + 1))
done
printf '%s\n' "${summary[@]}"
[ $failed -eq 0 ] || die "$failed mutant(s) not caught often enough"
echo "all mutants caught"
