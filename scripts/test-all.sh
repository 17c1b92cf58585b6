#!/usr/bin/env bash
# test-all.sh: what `make test` (and so CI) runs after the host unit tests:
# this suite and the tree's own selftests (selftests/set), both on the
# patched kernel, each in its own run directory. Prints each run's report
# and, last, the total as `N passed, N failed, N skipped`. A run that
# produced no report (a build failure, a guest that never booted) counts as
# one failure. Exit status: 0 when nothing failed.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

dir=$VMTEST_CACHE/runs/$(date +%Y%m%d-%H%M%S)-test-$$
mkdir -p "$dir"
"$VMTEST_ROOT/vmtest.sh" --run-dir "$dir/suite" "$@"
"$VMTEST_ROOT/vmtest.sh" --selftests --run-dir "$dir/selftests" "$@"

python3 - "$dir" <<'PY'
import json, os, sys
total = {"passed": 0, "failed": 0, "skipped": 0}
for run in ("suite", "selftests"):
    try:
        r = json.load(open(os.path.join(sys.argv[1], run, "report.json")))
    except (OSError, ValueError):
        print("vmtest: %s: no report (the run did not get to its tests)" % run)
        total["failed"] += 1
        continue
    for k in total:
        total[k] += r[k]
print("vmtest: total of the suite and the selftests (%s):" % sys.argv[1])
print("%(passed)d passed, %(failed)d failed, %(skipped)d skipped" % total)
sys.exit(1 if total["failed"] else 0)
PY
