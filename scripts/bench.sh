#!/usr/bin/env bash
# bench.sh: the local storage benchmarks of the kernel tree's own bench
# (tools/testing/selftests/bpf/bench, built by scripts/build-bench.sh from
# the tree under test) on the base and the patched kernel, both built with
# the bench config (no lockdep/KASAN), in alternating boots, then one
# table, a JSON file and a plot (scripts/bench-report.py).
#
# Each round boots, for every vCPU count in BENCH_SMP, both kernels: base
# first in odd rounds, patched first in even ones, so that a drift of the
# host (another job starting or ending) does not favour one kernel. The
# first count runs every benchmark (scripts/bench-guest.sh), the others
# only map close latency. With the defaults a round is 2 x 3 boots.
#
#   BENCH_ROUNDS  rounds (default 5): each kernel's value is the mean of
#                 its per-round results, the spread their standard deviation
#   BENCH_SECS    one-second samples per benchmark and boot (default 3),
#                 after BENCH_WARMUP (default 1)
#   BENCH_SMP     vCPU counts (default "2 4 8")
#   BENCH_ACCEL   auto (default), kvm or tcg: vmtest.sh --accel
#   BENCH_OUT     output directory (default $VMTEST_CACHE/bench/<date>); it
#                 must not hold an earlier run's rounds
#   BENCH_SUITE   all (default: every benchmark at the first count, map
#                 close at the others) or map-close (map close only)
#   BENCH_BASE, BENCH_PATCHED
#                 the kernel variants (vmtest.sh --kernel) compared in the
#                 "base" and "patched" columns: default base and patched;
#                 e.g. BENCH_BASE=git-REF compares the series as it was at
#                 this repository's commit REF (an earlier version) with
#                 today's
#
# Each kernel is built first with `vmtest.sh --config bench --build-only`:
# scripts/build-kernel.sh builds the bench-config kernel and, in the same
# locked step, the tree's runner with scripts/build-bench.sh into
# <kernel build>/bench/bench (<kernel build> is what vmtest.sh reports as
# "built VARIANT-bench: DIR"); both are incremental and kept per variant.
# The runner has the series' benchmarks on base too: every variant's tree
# gets them from scripts/overlay-bench.sh. Each boot then shares that
# directory read-only at /bench (the skeletons carry the BPF objects, so
# the runner needs no other file), the kernel's build output at /kernel
# (for its .config) and this repository's scripts/ at /vmtest-scripts, and
# runs scripts/bench-guest.sh.
#
# A boot that fails (the guest did not finish, or the console shows a
# splat: see its splats.txt) is recorded and the others still run; the
# report then lists that round's results as errors and this exits non-zero.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

rounds=${BENCH_ROUNDS:-5}
secs=${BENCH_SECS:-3}
warmup=${BENCH_WARMUP:-1}
smps=${BENCH_SMP:-2 4 8}
accel=${BENCH_ACCEL:-auto}
first_suite=${BENCH_SUITE:-all}
case "$first_suite" in all | map-close) ;; *) die "BENCH_SUITE: all or map-close, not '$first_suite'" ;; esac
declare -A variant=([base]=${BENCH_BASE:-base} [patched]=${BENCH_PATCHED:-patched})
out=${BENCH_OUT:-$VMTEST_CACHE/bench/$(date +%Y%m%d-%H%M%S)}
for v in "rounds:$rounds" "secs:$secs" "warmup:$warmup"; do
	[[ ${v#*:} =~ ^[1-9][0-9]*$ ]] || die "BENCH_${v%%:*}: needs a positive number, not '${v#*:}'"
done
for n in $smps; do
	[[ $n =~ ^[1-9][0-9]*$ ]] || die "BENCH_SMP: '$n' is not a vCPU count"
done
[ -n "$smps" ] || die "BENCH_SMP is empty"
mkdir -p "$out"
out=$(cd "$out" && pwd)
ls -d "$out"/run-* >/dev/null 2>&1 && die "$out holds an earlier run's rounds: use a new BENCH_OUT"

declare -A bench_dir kernel_dir
for k in base patched; do
	log=$out/build-$k.log
	"$VMTEST_ROOT/vmtest.sh" --kernel "${variant[$k]}" --config bench --build-only >"$log" 2>&1 ||
		{ tail -15 "$log" >&2; die "building the $k bench kernel (${variant[$k]}) failed (log: $log)"; }
	kout=$(sed -n "s/^vmtest: built ${variant[$k]}-bench: //p" "$log" | tail -1)
	[ -n "$kout" ] || die "cannot tell where the $k bench kernel was built (log: $log)"
	[ -x "$kout/bench/bench" ] ||
		die "no runner at $kout/bench/bench after the build (log: $log)"
	bench_dir[$k]=$kout/bench
	kernel_dir[$k]=$kout
	note "built $k: ${variant[$k]} (bench config): $kout"
done

first_smp=${smps%% *}
failed=0
for r in $(seq 1 "$rounds"); do
	for smp in $smps; do
		suite=map-close
		[ "$smp" = "$first_smp" ] && suite=$first_suite
		order="base patched"
		[ $((r % 2)) -eq 1 ] || order="patched base"
		for k in $order; do
			name=run-$k-$r-smp$smp
			note "round $r/$rounds, $smp vCPUs: $k ($suite)"
			rc=0
			"$VMTEST_ROOT/vmtest.sh" --kernel "${variant[$k]}" --config bench --accel "$accel" --smp "$smp" \
				--timeout 3600 --run-dir "$out/$name" \
				--share "${bench_dir[$k]}:/bench" --share "${kernel_dir[$k]}:/kernel" \
				--share "$VMTEST_ROOT/scripts:/vmtest-scripts" -- \
				env BENCH_BIN=/bench/bench BENCH_KCONFIG=/kernel/.config BENCH_SUITE="$suite" BENCH_SECS="$secs" \
				BENCH_WARMUP="$warmup" sh /vmtest-scripts/bench-guest.sh \
				>"$out/$name.log" 2>&1 || rc=$?
			mkdir -p "$out/$name"
			printf '{"kernel": "%s", "variant": "%s", "round": %d, "smp": %d, "suite": "%s", "vm_status": %d}\n' \
				"$k" "${variant[$k]}" "$r" "$smp" "$suite" "$rc" >"$out/$name/bench-round.json"
			if [ $rc -ne 0 ]; then
				failed=1
				tail -5 "$out/$name.log" >&2
				note "error: $k round $r ($smp vCPUs) failed, status $rc (log: $out/$name.log)"
			fi
		done
	done
done

rc=0
python3 "$VMTEST_ROOT/scripts/bench-report.py" "$out" || rc=$?
[ $failed -eq 0 ] || rc=1
exit $rc
