#!/usr/bin/env bash
# run-mutants.sh [RUNS] [NAME...]: prove the tests can fail.
#
# Each patches/mutants/NAME.patch is a deliberately wrong change on top of the
# series whose description names the test that must catch it
# ("Expect-fail: TEST"). Build that kernel (incrementally, in the same tree),
# run the test RUNS times (default 1) and count the runs in which that test
# failed. Succeeds only if every mutant was caught in every run... or, with
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
	[ -n "$test" ] || die "$patch has no 'Expect-fail: TEST' line"
	caught=0
	for i in $(seq 1 "$runs"); do
		note "mutant $name, run $i/$runs: expecting $test to fail"
		"$VMTEST_ROOT/vmtest.sh" --kernel "mutant-$name" --test-timeout "${MUTANT_TEST_TIMEOUT:-180}" -t "$test" >"$VMTEST_CACHE/mutant-$name.log" 2>&1 || true
		run=$(cat "$VMTEST_CACHE/last-run" 2>/dev/null || true)
		if [ -n "$run" ] && [ -f "$run/report.json" ] &&
			python3 - "$run/report.json" "$test" <<'PY'
import json, sys
report, test = json.load(open(sys.argv[1])), sys.argv[2]
sys.exit(0 if any(t["outcome"] == "FAIL" and t["name"] == test for t in report["tests"]) else 1)
PY
		then
			caught=$((caught + 1))
			note "  caught: $(python3 -c 'import json,sys; print("; ".join(t["reason"] for t in json.load(open(sys.argv[1]))["tests"] if t["outcome"]=="FAIL")[:300])' "$run/report.json")"
		else
			note "  NOT caught (log: $VMTEST_CACHE/mutant-$name.log)"
		fi
	done
	summary+=("mutant $name: $test failed in $caught/$runs runs")
	[ "$caught" -ge "$min_catch" ] || failed=$((failed + 1))
done
printf '%s\n' "${summary[@]}"
[ $failed -eq 0 ] || die "$failed mutant(s) not caught often enough"
echo "all mutants caught"
