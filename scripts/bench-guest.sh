#!/bin/sh
# bench-guest.sh: one boot's benchmarks, inside the guest (busybox sh).
# Runs the kernel tree's own bench (scripts/build-bench.sh), one process per
# benchmark, and keeps each one's output as it is: the host parses it
# (scripts/bench-report.py). Set by scripts/bench.sh:
#
#   BENCH_BIN     the runner (/bench/bench)
#   BENCH_SUITE   all: every benchmark; map-close: only map close latency
#                 (the extra boots with more vCPUs)
#   BENCH_WARMUP, BENCH_SECS   bench -w and -d
#   BENCH_TT_PROCS             local-storage-tasks-trace --nr_procs
#   BENCH_KCONFIG the kernel's .config: libbpf needs it for the programs'
#                 CONFIG_* externs (bpf_in_nmi() and friends) and the bench
#                 config has no /proc/config.gz (IKCONFIG)
#   BENCH_OUTDIR, BENCH_KMSG, BENCH_NCPU   results and markers, and the CPU
#                 count (default: the guest's), for tests on the host
#
# Writes to /vmtest/out/bench/: ID.log (the output), ID.rc (exit status),
# manifest.tsv (ID, kind, arguments; one line per benchmark, in run order)
# and guest.txt. The kind says what was attached while it ran:
#   throughput  no counting probes: only the benchmark's own programs
#   latency     map close latency: fentry/fexit on bpf_local_storage_map_free,
#               which runs once per map free, not per delete
#   counts      counting probes on call_srcu() and bpf_obj_free_fields():
#               Tasks Trace callbacks and backlog; their rates are not
#               throughput figures
# A benchmark's failure is in its .rc and .log; this script always exits 0.
bin=${BENCH_BIN:-/bench/bench}
suite=${BENCH_SUITE:-all}
w=${BENCH_WARMUP:-1}
d=${BENCH_SECS:-3}
tt_procs=${BENCH_TT_PROCS:-1000}
out=${BENCH_OUTDIR:-/vmtest/out/bench}
kmsg=${BENCH_KMSG:-/dev/kmsg}
mkdir -p "$out"
# libbpf reads /boot/config-$(uname -r) before /proc/config.gz
if [ ! -e /proc/config.gz ] && [ -n "${BENCH_KCONFIG:-}" ]; then
	mkdir -p /boot && cp "$BENCH_KCONFIG" "/boot/config-$(uname -r)"
fi
ncpu=${BENCH_NCPU:-$(grep -c ^processor /proc/cpuinfo)}
{
	echo "kernel $(uname -r)"
	echo "cpus $ncpu"
	echo "suite $suite"
} >"$out/guest.txt"

# run ID KIND BENCH-ARGS...
run() {
	id=$1 kind=$2
	shift 2
	printf '%s\t%s\t%s\n' "$id" "$kind" "$*" >>"$out/manifest.tsv"
	echo "== $id ($kind): bench $*"
	# Markers: a splat is attributed to the benchmark (scripts/scan-splats.py)
	echo "vmtest: test_start bench/$id" >"$kmsg"
	timeout -s KILL $((w + d + 180)) "$bin" -w "$w" -d "$d" "$@" >"$out/$id.log" 2>&1
	rc=$?
	echo $rc >"$out/$id.rc"
	echo "vmtest: test_end bench/$id $([ $rc -eq 0 ] && echo PASS || echo FAIL)" >"$kmsg"
	grep -E '^(Summary|SUMMARY|Counters|Backlog|Drain|Context|NMI source|Unsupported|Error|Closer)' "$out/$id.log"
	[ $rc -eq 0 ] || tail -n 5 "$out/$id.log"
}

# skip ID KIND BENCH WHY: BENCH not run, unsupported on this kernel
skip() {
	printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$out/manifest.tsv"
	echo "Unsupported: $4" >"$out/$1.log"
	echo 0 >"$out/$1.rc"
	echo "== $1: unsupported: $4"
}

map_close() {
	# Every other CPU deletes at full rate while one closes maps
	p=$((ncpu - 1))
	[ $p -ge 1 ] || p=1
	run "map-close-smp$ncpu" latency -p "$p" local-storage-map-close
}

if [ "$suite" = map-close ]; then
	map_close
	exit 0
fi

# Throughput: no counting probes
for type in socket task; do
	for batch in 16 32 64; do
		run "create-$type-b$batch" throughput local-storage-create --storage-type "$type" --batch-size "$batch"
	done
done
# Upstream's Tasks Trace grace period benchmark attaches to the grace-period
# functions of the old RCU Tasks Trace; kernels where it is built on SRCU
# have neither.
if grep -q ' rcu_tasks_trace_pregp_step$' /proc/kallsyms && grep -q ' rcu_tasks_trace_postgp$' /proc/kallsyms; then
	kt=$(pgrep rcu_tasks_trace 2>/dev/null | head -1)
	run tasks-trace throughput --nr_procs "$tt_procs" ${kt:+--kthread_pid "$kt"} local-storage-tasks-trace
else
	skip tasks-trace throughput local-storage-tasks-trace "no rcu_tasks_trace_pregp_step/rcu_tasks_trace_postgp in this kernel (RCU Tasks Trace is built on SRCU): local-storage-tasks-trace cannot attach"
fi
run delete-b32 throughput local-storage-delete --batch-size 32
for owner in task cgroup; do
	for context in process hardirq; do
		run "cost-$owner-$context" throughput local-storage-delete-cost --owner "$owner" --context "$context"
	done
	# One busy producer per CPU, so that the NMIs land in the benchmark
	run "cost-$owner-nmi" throughput -p "$ncpu" local-storage-delete-cost --owner "$owner" --context nmi
done
map_close

# Counts: counting probes attached
run delete-counts-b32 counts local-storage-delete --batch-size 32 --counters
run backlog counts -p "$ncpu" local-storage-backlog
exit 0
