#!/bin/sh
# guest-text-poke-stress.sh [N]: a check of the emulator, not of the series.
# Toggles the sched_switch trace event N times (default 4000) while both
# CPUs context switch: every toggle re-patches the tracepoint's static call
# in __schedule() with text_poke_bp(). No BPF is involved.
#
# Under multi-threaded TCG, QEMU 7.2 sometimes keeps running a translation
# made while the call site held text_poke_bp()'s INT3, and the guest dies
# with "Oops: int3" at __schedule+0x2135 (what a CI run of
# test_progs/cgroup_put_rq_lock hit). Run it from the host with:
#   QEMU=<qemu-system-x86_64> ./vmtest.sh --accel tcg [--kernel base] \
#       --share "$PWD/scripts" -- "$PWD/scripts/guest-text-poke-stress.sh" 4000
# seen (2026-12-06, 2 vCPUs, TCG, debug kernels), the same oops at the same
# address on the base and the patched kernel:
#   QEMU 7.2.22, thread=multi, patched: oops after about 1370, 70 and 240
#     toggles (3 of 3 runs); base: after about 290 (1 run)
#   QEMU 7.2.22, thread=single, patched: 4000 toggles, no oops (1 run)
#   QEMU 10.0.2, thread=multi, patched: 4000 toggles, no oops (2 of 2 runs)
T=/sys/kernel/tracing
[ -d $T/events ] || mount -t tracefs nodev $T || exit 1
n=${1:-4000}
dd if=/dev/zero bs=1 count=2000000000 2>/dev/null | cat >/dev/null &
load=$! # cat; dd dies of SIGPIPE once it is gone
i=0
while [ $i -lt "$n" ]; do
	echo 1 >$T/events/sched/sched_switch/enable || exit 1
	echo 0 >$T/events/sched/sched_switch/enable || exit 1
	i=$((i + 1))
	[ $((i % 250)) -eq 0 ] && echo "toggles: $i"
done
kill $load
echo "text-poke-stress: $n toggles"
