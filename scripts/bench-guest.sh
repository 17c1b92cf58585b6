#!/bin/sh
# Runs inside the guest (busybox sh): every benchmark once, appending the
# BENCH_RESULT lines to /vmtest/out/bench.jsonl. Set by scripts/bench.sh:
# BENCH_WARMUP, BENCH_SECS.
out=/vmtest/out/bench.jsonl
w=${BENCH_WARMUP:-1}
d=${BENCH_SECS:-3}
# A benchmark that dies without its BENCH_RESULT line is recorded as an
# error, so the report cannot mistake a missing row for a result.
run() {
	bench -w "$w" -d "$d" "$@" >/tmp/bench.out 2>&1
	rc=$?
	cat /tmp/bench.out
	if grep -q '^BENCH_RESULT ' /tmp/bench.out; then
		grep '^BENCH_RESULT ' /tmp/bench.out | sed 's/^BENCH_RESULT //' >>"$out"
	else
		echo "{\"bench\": \"$1\", \"params\": \"$*\", \"error\": \"no result, exit status $rc\"}" >>"$out"
	fi
}
for type in socket task; do
	for batch in 16 32 64; do
		run local-storage-create --storage-type "$type" --batch-size "$batch"
	done
done
run local-storage-delete --batch-size 32
run local-storage-nmi-delete
exit 0
