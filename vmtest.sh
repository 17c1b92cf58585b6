#!/usr/bin/env bash
# vmtest.sh: build the kernel with the series in patches/, boot it in QEMU and
# run the suite (or any command) inside it. See README.md.
set -euo pipefail
VMTEST_ROOT=$(cd "$(dirname "$0")" && pwd)
export VMTEST_ROOT
. "$VMTEST_ROOT/scripts/lib.sh"
export VMTEST_CACHE

usage() {
	cat <<USAGE
usage: ./vmtest.sh [options] [-- COMMAND...]

Builds the kernel (Debian's linux-source-7.3 by default) with the series in
patches/, boots it under QEMU and runs the suite, or COMMAND if given.

  --kernel VARIANT      patched (default), base (no series), mutant-NAME,
                        git-REF (the kernel patches of patches/ at commit REF
                        of this repository, e.g. an earlier version)
  --config NAME         debug (default: lockdep, KASAN, ...) or bench
  -t, -a FILTER         run only matching tests (glob or substring; test/subtest)
  -b FILTER             skip matching tests
  -v                    verbose: test output and the kernel log live
  --accel auto|kvm|tcg  QEMU accelerator (auto: KVM if it boots, else TCG)
  --smp N, --mem SIZE   guest CPUs (default 2) and memory (default 2G)
  --share DIR[:GUEST]   make host DIR readable in the guest (default: same path)
  --nmi-rate HZ         NMIs per second injected for tests that ask (3000)
  --test-timeout S      per-test timeout (default 300)
  --timeout S           whole guest run timeout (default 3000)
  --boot-timeout S      guest boot timeout (default 120)
  --selftests           run the kernel tree's own selftests (test_progs, test_maps,
                        sched_ext runner, built from the tree under test) instead
                        of this suite: the set in selftests/set, -t/-b filter it
  --selftests-set FILE|all  another set file, or every test the binaries have
  --run-dir DIR         put this run's logs and results in DIR (new or empty)
  --build-only          build kernel, tools and tests; do not boot
  -h, --help            this text

Environment: KERNEL_SRC=/path (use an existing kernel tree), KERNEL_GIT=url
KERNEL_REF=ref (clone one), VMTEST_CACHE (build cache, default
\${XDG_CACHE_HOME:-~/.cache}/bpf-storage-defer), VMTEST_JOBS (make -j),
QEMU=/path (the qemu-system-x86_64 to run; default: the system's, and under
TCG only if it is 10.0 or newer, else one fetched from Debian's backports,
see README.md).
USAGE
}

variant=patched config=debug accel=auto smp=2 mem=2G nmi_rate=3000
test_timeout=300 timeout=3000 boot_timeout=120 verbose=0 build_only=0
selftests=0 selftests_set= run=
filters=() shares=() cmd=()
needval() { [ $# -ge 2 ] || die "option $1 needs a value"; }
while [ $# -gt 0 ]; do
	case "$1" in
	--kernel) needval "$@"; variant=$2; shift ;;
	--config) needval "$@"; config=$2; shift ;;
	-t | -a | -b) needval "$@"; filters+=("$1" "$2"); shift ;;
	-v) verbose=1 ;;
	--accel) needval "$@"; accel=$2; shift ;;
	--smp) needval "$@"; smp=$2; shift ;;
	--mem) needval "$@"; mem=$2; shift ;;
	--share) needval "$@"; shares+=("$2"); shift ;;
	--nmi-rate) needval "$@"; nmi_rate=$2; shift ;;
	--test-timeout) needval "$@"; test_timeout=$2; shift ;;
	--timeout) needval "$@"; timeout=$2; shift ;;
	--boot-timeout) needval "$@"; boot_timeout=$2; shift ;;
	--build-only) build_only=1 ;;
	--selftests) selftests=1 selftests_set=${selftests_set:-$VMTEST_ROOT/selftests/set} ;;
	--selftests-set) needval "$@"; selftests=1 selftests_set=$2; shift ;;
	--run-dir) needval "$@"; run=$2; shift ;;
	-h | --help) usage; exit 0 ;;
	--) shift; cmd=("$@"); [ ${#cmd[@]} -gt 0 ] || die "-- needs a command"; break ;;
	*) usage >&2; die "unknown option '$1'" ;;
	esac
	shift
done
case "$accel" in auto | kvm | tcg) ;; *) die "--accel must be auto, kvm or tcg" ;; esac
# Numbers are checked now, not after a 20-minute build.
for opt in "smp:$smp" "nmi-rate:$nmi_rate" "test-timeout:$test_timeout" "timeout:$timeout" "boot-timeout:$boot_timeout"; do
	[[ ${opt#*:} =~ ^[1-9][0-9]*$ ]] || die "--${opt%%:*} needs a positive number, not '${opt#*:}'"
done
[[ $mem =~ ^[1-9][0-9]*[MG]$ ]] || die "--mem needs a size like 2G or 512M, not '$mem'"
nr_cpus=$(sed -n 's/^CONFIG_NR_CPUS=//p' "$VMTEST_ROOT/kernel-config/base.config")
[ "$smp" -le "${nr_cpus:-1}" ] || die "--smp $smp: the kernel is built with CONFIG_NR_CPUS=$nr_cpus (kernel-config/base.config)"
case "$variant" in base | patched | mutant-* | git-[0-9A-Za-z]*) ;; *) die "--kernel must be base, patched, mutant-NAME or git-REF" ;; esac
# Without --selftests the set is this suite's own tests; both run through
# the tree's test_progs and sched_ext runner, built for the debug config.
[ -n "$selftests_set" ] || selftests_set=$VMTEST_ROOT/selftests/suite
if [ $selftests -eq 1 ]; then
	[ ${#cmd[@]} -eq 0 ] || die "--selftests and -- COMMAND do not go together"
	[ "$config" = debug ] || die "--selftests needs --config debug (the selftests need modules and BTF)"
fi
[ "$selftests_set" = all ] || [ -f "$selftests_set" ] || die "no selftests set file $selftests_set"
[ "$config" = debug ] && export VMTEST_SELFTESTS=1
# Every test the binaries have needs the full build, not the sets' one.
[ "$selftests_set" = all ] && export VMTEST_SELFTESTS_FULL=1
if [ -n "$run" ] && [ -e "$run" ] && [ -n "$(ls -A "$run")" ]; then
	die "--run-dir $run exists and is not empty"
fi

"$VMTEST_ROOT/scripts/install-deps.sh" >&2
mkdir -p "$VMTEST_CACHE"
export VMTEST_TIMES=$VMTEST_CACHE/.times.$$
: >"$VMTEST_TIMES"
trap 'rm -f "$VMTEST_TIMES"' EXIT

phase fetch "$VMTEST_ROOT/scripts/fetch-kernel.sh" >"$VMTEST_TIMES.repo"
repo=$(cat "$VMTEST_TIMES.repo")
rm -f "$VMTEST_TIMES.repo"
srcdir=$(dirname "$repo")

# One build at a time per source tree, from applying the series to the
# last file read from the tree: a concurrent run (make bench while make
# test runs) waits instead of switching the tree under this one.
exec 9>"$srcdir/build.lock"
flock -n 9 || { note "waiting for another run's build in $srcdir"; flock 9; }
export VMTEST_BUILD_LOCKED=1
# build-kernel.sh times its own patch, config and kernel phases.
kout=$("$VMTEST_ROOT/scripts/build-kernel.sh" "$repo" "$variant" "$config")
tools=$srcdir/tools-out
phase tools "$VMTEST_ROOT/scripts/build-tools.sh" "$srcdir/tree" "$tools"
"$VMTEST_ROOT/scripts/mkinitramfs.sh" "$VMTEST_CACHE/initramfs.cpio"
exec 9>&- # the build is done; the run uses only per-variant outputs
unset VMTEST_BUILD_LOCKED

if [ $build_only -eq 1 ]; then
	note "built $variant-$config: $kout"
	exit 0
fi

# One directory per run: console log, results and the guest's share.
if [ -z "$run" ]; then
	run=$VMTEST_CACHE/runs/$(date +%Y%m%d-%H%M%S)-$variant-$config-$$
	# Keep the newest 20 runs. No runs yet is not an error (pipefail).
	{ ls -dt "$VMTEST_CACHE"/runs/*/ 2>/dev/null || true; } | tail -n +21 | xargs -r rm -rf
fi
mkdir -p "$run/share/bin" "$run/share/out"
run=$(cd "$run" && pwd)
cp "$VMTEST_ROOT"/scripts/guest-{kmemleak,selftests,soak,splat-selfcheck}.sh "$run/share/bin/"
tests_run=0
if [ ${#cmd[@]} -eq 0 ] && [ "$config" = debug ]; then
	tests_run=1
	# A filter that selects nothing is an error before we spend a boot on it.
	"$VMTEST_ROOT/scripts/selftests-set.sh" "$selftests_set" "$kout/selftests" "${filters[@]}" \
		>"$run/share/selftests.set" || die "no test matches the given set and filter(s)"
	shares+=("$kout/selftests:/selftests")
elif [ ${#cmd[@]} -eq 0 ]; then
	die "the tests run with --config debug; with --config $config give a command (-- CMD)"
fi
{
	echo "export PATH=/vmtest/bin:\$PATH VMTEST_NMI_RATE=$nmi_rate"
	[ ${#cmd[@]} -gt 0 ] || echo "guest-kmemleak.sh clear"
	if [ $tests_run -eq 1 ]; then
		# The scanner self-check first: proof that a splat would be seen.
		echo "guest-splat-selfcheck.sh"
		echo "guest-selftests.sh /vmtest/selftests.set /selftests /vmtest/out/selftests $test_timeout"
	elif [ ${#cmd[@]} -gt 0 ]; then
		# Markers around the command: a splat it causes is reported as the
		# command's, not as the boot's.
		echo 'echo "vmtest: test_start command" >/dev/kmsg'
		printf '%q ' "${cmd[@]}"
		echo
		echo 'rc=$?; echo "vmtest: test_end command $([ $rc -eq 0 ] && echo PASS || echo FAIL)" >/dev/kmsg; exit $rc' 
	fi
	# Leaks of the tests, once they are all done; the tests' status is
	# what the run returns.
	[ ${#cmd[@]} -gt 0 ] || printf 'rc=$?\nguest-kmemleak.sh scan\nexit $rc\n'
} >"$run/share/cmd.sh"

# The host's /usr, read-only: the tree's selftests (and a user's own
# binaries) are dynamically linked against it; the initramfs links /lib and
# /lib64 into /usr.
ro=(--ro-share /usr:/usr)
for s in "${shares[@]}"; do
	host=${s%%:*}
	guest=${s#*:}
	[ "$guest" = "$s" ] && guest=$(cd "$host" && pwd)
	[ -d "$host" ] || die "--share: $host is not a directory"
	ro+=(--ro-share "$(cd "$host" && pwd):$guest")
done


log=$run/console.log
note "run directory: $run"
rc=0
phase boot+run "$VMTEST_ROOT/scripts/run-vm.sh" --kernel "$kout/bzImage" \
	--initrd "$VMTEST_CACHE/initramfs.cpio" --share "$run/share" --log "$log" \
	--accel "$accel" --smp "$smp" --mem "$mem" --boot-timeout "$boot_timeout" \
	--timeout "$timeout" --test-timeout "$([ ${#cmd[@]} -gt 0 ] && echo 0 || echo "$test_timeout")" \
	"${ro[@]}" $([ $verbose -eq 1 ] && echo --verbose) || rc=$?
note "console log: $log"

if [ ${#cmd[@]} -gt 0 ]; then
	python3 "$VMTEST_ROOT/scripts/scan-splats.py" --allow "$VMTEST_ROOT/scripts/splat-allowlist.txt" \
		--json "$run/splats.json" "$log" >"$run/splats.txt" || {
		cat "$run/splats.txt"
		[ $rc -eq 0 ] && rc=1
	}
	exit $rc
fi

if [ $tests_run -eq 1 ]; then
	python3 "$VMTEST_ROOT/scripts/selftests-results.py" results "$run" --kernel "$variant" ||
		die "cannot read the selftests' results in $run"
fi
python3 "$VMTEST_ROOT/scripts/report.py" --run "$run" --allow "$VMTEST_ROOT/scripts/splat-allowlist.txt" \
	--guest-status "$rc" --times "$VMTEST_TIMES" --kernel "$variant-$config"
