#!/usr/bin/env bash
# soak.sh: `make soak` (not in CI). Boots the patched debug kernel once per
# vCPU count in SOAK_SMP and runs scripts/guest-soak.sh in it: every
# reproducer of the suite at once for SOAK_SECS seconds under host-injected
# NMIs, then checks and prints the figures (NMIs delivered, deletes per
# context, values created and freed, peak backlog and drain time, kmemleak,
# splats).
#
#   SOAK_SECS      seconds of load per boot (default 60)
#   SOAK_SMP       vCPU counts, one boot each (default "2 4")
#   SOAK_NMI_RATE  NMIs per second the host injects (default 1500)
#   SOAK_TEST_TIMEOUT  seconds one run of a reproducer may take under the
#                  load (default 600: a sched_ext exit storm took over 300
#                  at 2 vCPUs)
#   SOAK_KERNEL    vmtest.sh --kernel (default patched)
#   SOAK_OUT       where the runs go (default $VMTEST_CACHE/soak/<date>);
#                  must be new or empty
#
# Exit status 0 only if every boot's soak passed and its console had no
# splat (vmtest.sh's scanner in command mode).
set -euo pipefail
VMTEST_ROOT=$(cd "$(dirname "$0")/.." && pwd)
export VMTEST_ROOT
. "$VMTEST_ROOT/scripts/lib.sh"

secs=${SOAK_SECS:-60}
smps=${SOAK_SMP:-2 4}
rate=${SOAK_NMI_RATE:-1500}
tmo=${SOAK_TEST_TIMEOUT:-600}
kernel=${SOAK_KERNEL:-patched}
out=${SOAK_OUT:-$VMTEST_CACHE/soak/$(date +%Y%m%d-%H%M%S)}
for n in "$secs" "$rate" "$tmo" $smps; do
	[[ $n =~ ^[1-9][0-9]*$ ]] || die "SOAK_SECS, SOAK_SMP, SOAK_NMI_RATE and SOAK_TEST_TIMEOUT take positive numbers, not '$n'"
done
if [ -e "$out" ] && [ -n "$(ls -A "$out")" ]; then
	die "SOAK_OUT $out exists and is not empty"
fi
mkdir -p "$out"

log=$out/build.log
note "building the $kernel debug kernel and its selftests (log: $log)"
"$VMTEST_ROOT/vmtest.sh" --kernel "$kernel" --build-only >"$log" 2>&1 ||
	die "build failed (log: $log)"
kout=$(sed -n "s/^vmtest: built $kernel-debug: //p" "$log" | tail -1)
[ -x "$kout/selftests/bpf/test_progs" ] || die "no test_progs under $kout/selftests (log: $log)"

failed=0
for smp in $smps; do
	run=$out/smp$smp
	note "soak: $secs s at $smp vCPUs, $rate NMIs/s (run directory: $run)"
	rc=0
	# The whole boot gets the load time plus two test timeouts (the hotplug
	# and the storm runs follow each other), plus boot and kmemleak.
	"$VMTEST_ROOT/vmtest.sh" --kernel "$kernel" --smp "$smp" --nmi-rate "$rate" \
		--run-dir "$run" --timeout $((secs + 2 * tmo + 300)) \
		--share "$kout/selftests:/selftests" -- \
		env SOAK_TEST_TIMEOUT="$tmo" sh /vmtest/bin/guest-soak.sh "$secs" /selftests /vmtest/out/soak \
		>"$run.log" 2>&1 || rc=$?
	if [ -f "$run/share/out/soak/summary.txt" ]; then
		sed "s/^soak:/soak (smp $smp):/" "$run/share/out/soak/summary.txt"
	else
		echo "soak (smp $smp): FAIL no summary: the guest did not finish (log: $run.log)"
	fi
	# The splat scanner's report ends with its count line.
	if [ -f "$run/splats.txt" ]; then
		sed "s/^/soak (smp $smp): /" "$run/splats.txt"
	else
		echo "soak (smp $smp): FAIL the console log was not scanned (log: $run.log)"
		[ "$rc" -ne 0 ] || rc=1
	fi
	[ "$rc" -eq 0 ] || { echo "soak (smp $smp): FAIL (exit status $rc; log: $run.log)"; failed=1; }
done
[ $failed -eq 0 ] || die "soak failed (runs in $out)"
echo "soak passed (runs in $out)"
