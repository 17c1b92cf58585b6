#!/usr/bin/env bash
# bench.sh: the local storage benchmarks on the base and the patched kernel,
# both built with the bench config (no lockdep/KASAN), in alternating
# rounds (base, patched, base, ...), then one table, a JSON file and a plot.
#
#   BENCH_ROUNDS (default 5) rounds per kernel; BENCH_SECS samples of one
#   second per benchmark and round (default 3) after BENCH_WARMUP (1).
#   BENCH_OUT: output directory (default $VMTEST_CACHE/bench/<date>).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

rounds=${BENCH_ROUNDS:-5}
secs=${BENCH_SECS:-3}
warmup=${BENCH_WARMUP:-1}
out=${BENCH_OUT:-$VMTEST_CACHE/bench/$(date +%Y%m%d-%H%M%S)}
mkdir -p "$out"
# A reused BENCH_OUT must not mix in the rounds of an earlier run
rm -rf "$out"/*.jsonl "$out"/bench.txt "$out"/bench.json "$out"/bench.png "$out"/bench.dat "$out"/run-*

for k in base patched; do
	"$VMTEST_ROOT/vmtest.sh" --kernel "$k" --config bench --build-only >"$out/build-$k.log" 2>&1 ||
		{ tail -15 "$out/build-$k.log" >&2; die "building the $k bench kernel failed (log: $out/build-$k.log)"; }
	note "built $k (bench config)"
done

for r in $(seq 1 "$rounds"); do
	for k in base patched; do
		note "round $r/$rounds: $k"
		run=$out/run-$k-$r
		"$VMTEST_ROOT/vmtest.sh" --kernel "$k" --config bench --timeout 900 --run-dir "$run" \
			--share "$VMTEST_ROOT/scripts:/vmtest-scripts" -- \
			env BENCH_SECS="$secs" BENCH_WARMUP="$warmup" sh /vmtest-scripts/bench-guest.sh \
			>"$out/run-$k-$r.log" 2>&1 ||
			{ tail -15 "$out/run-$k-$r.log" >&2; die "bench run $k round $r failed (log: $out/run-$k-$r.log)"; }
		cp "$run/share/out/bench.jsonl" "$out/$k-$r.jsonl" ||
			die "bench run $k round $r produced no results (log: $out/run-$k-$r.log)"
		cp "$run/accel" "$out/accel" 2>/dev/null || true
	done
done

python3 "$VMTEST_ROOT/scripts/bench-report.py" "$out"
