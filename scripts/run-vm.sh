#!/usr/bin/env bash
# run-vm.sh: boot a kernel under QEMU with the vmtest initramfs, run
# SHARE/cmd.sh in it and exit with its status.
#
#   run-vm.sh --kernel BZIMAGE --initrd CPIO --share DIR --log FILE
#             [--accel auto|kvm|tcg] [--smp N] [--mem SIZE] [--ro-share HOSTDIR:GUESTDIR]...
#             [--boot-timeout S] [--timeout S] [--test-timeout S] [--quiet] [--verbose]
#
# --test-timeout S: the runner in the guest kills a test after S seconds.
# If a test's start marker is still the last one S+60 seconds after it
# appeared, the guest is wedged (e.g. a soft lockup keeps the runner from
# running): stop it then instead of waiting for the whole-run --timeout.
#
# DIR is shared read-write over 9p and mounted at /vmtest in the guest.
# Exit status: the guest command's status; 124 if the guest timed out;
# 125 if it never booted or died without reporting a status.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

accel=auto smp=2 mem=2G boot_timeout=120 timeout=3600 test_timeout=0 verbose=0 quiet=0
kernel= initrd= share= log= ro_shares=() append_extra=
while [ $# -gt 0 ]; do
	case "$1" in
	--kernel) kernel=$2; shift ;;
	--initrd) initrd=$2; shift ;;
	--share) share=$2; shift ;;
	--ro-share) ro_shares+=("$2"); shift ;;
	--log) log=$2; shift ;;
	--accel) accel=$2; shift ;;
	--smp) smp=$2; shift ;;
	--mem) mem=$2; shift ;;
	--boot-timeout) boot_timeout=$2; shift ;;
	--timeout) timeout=$2; shift ;;
	--test-timeout) test_timeout=$2; shift ;;
	--append) append_extra=$2; shift ;;
	--verbose) verbose=1 ;;
	--quiet) quiet=1 ;;
	*) die "run-vm.sh: unknown option $1" ;;
	esac
	shift
done
[ -f "$kernel" ] || die "no kernel image at '$kernel'"
[ -f "$initrd" ] || die "no initramfs at '$initrd'"
[ -d "$share" ] || die "no share directory at '$share'"
need_cmd python3
rundir=$(dirname "$log")

# KVM here may be a nested hypervisor that accepts the VM but never runs
# it. KVM is judged broken only when the guest printed nothing at all (no
# "Linux version" banner): a kernel that panics at boot is the kernel's
# fault, not KVM's, and must not make every later run fall back to TCG. The
# verdict is kept for this host boot and at most a day.
kvm_verdict=$VMTEST_CACHE/kvm-verdict
boot_id=$(cat /proc/sys/kernel/random/boot_id 2>/dev/null || echo unknown)
kvm_usable() {
	[ -r /dev/kvm ] && [ -w /dev/kvm ] || return 1
	local id when
	read -r id when _ <"$kvm_verdict" 2>/dev/null || return 0
	[[ $when =~ ^[0-9]+$ ]] || when=0
	[ "$id" != "$boot_id" ] || [ $(($(date +%s) - ${when:-0})) -gt 86400 ]
}

cmdline="console=ttyS0 rdinit=/init panic=-1 printk.devkmsg=on no_hash_pointers"
# kasan_multi_shot: KASAN reports every bad access, not just the first of
# the boot (a first splat must not hide the ones of later tests).
cmdline+=" hung_task_panic=0 softlockup_panic=0 nmi_watchdog=0 kasan_multi_shot $append_extra"

qpid= ipid=
cleanup() {
	# set -e is in force here too: no failing command may end the trap.
	if [ -n "$ipid" ]; then kill "$ipid" 2>/dev/null || true; fi
	if [ -n "$qpid" ]; then kill -9 "$qpid" 2>/dev/null || true; fi
	wait 2>/dev/null || true
}
trap cleanup EXIT

# boot ACCEL BOOT_TIMEOUT: start QEMU; 0 once the guest booted, 1 if not.
boot() {
	local acc=$1 btimeout=$2 accel_opt cpu_opt i=0 deadline
	if [ "$acc" = kvm ]; then
		accel_opt="-accel kvm" cpu_opt="-cpu host"
	else
		accel_opt="-accel tcg,thread=multi" cpu_opt="-cpu qemu64"
	fi
	rm -f "$log" "$rundir/qmp.sock" "$rundir/ctl.sock"
	local args=(-nodefaults -no-user-config -nographic -display none -no-reboot -machine q35
		$accel_opt $cpu_opt -smp "$smp" -m "$mem"
		-kernel "$kernel" -initrd "$initrd" -append "$cmdline"
		-chardev "file,id=con,path=$log" -serial chardev:con
		-chardev "socket,id=ctl,path=$rundir/ctl.sock,server=on,wait=off" -serial chardev:ctl
		-qmp "unix:$rundir/qmp.sock,server=on,wait=off"
		-virtfs "local,path=$share,mount_tag=vmtest,security_model=none,multidevs=remap")
	for s in "${ro_shares[@]}"; do
		i=$((i + 1))
		args+=(-virtfs "local,path=${s%%:*},mount_tag=share$i,security_model=none,readonly=on,multidevs=remap")
		echo "share$i ${s#*:}" >>"$share/shares"
	done
	"$qemu" "${args[@]}" </dev/null >"$rundir/qemu.out" 2>&1 &
	qpid=$!
	deadline=$((SECONDS + btimeout))
	while [ $SECONDS -lt $deadline ]; do
		grep -q VMTEST_BOOTED "$log" 2>/dev/null && return 0
		kill -0 "$qpid" 2>/dev/null || return 1
		sleep 0.2
	done
	return 1
}

stop_qemu() {
	kill -9 "$qpid" 2>/dev/null || true
	wait "$qpid" 2>/dev/null || true
	qpid=
}

rm -f "$share/shares"
booted=0
# no_qemu ACCEL [DETAIL]: no QEMU to run the guest with: like a failed boot,
# not a failed test
no_qemu() {
	printf "\nVMTEST_RUN_FAILED qemu\n" >>"$log"
	note "error: no QEMU to run the guest under $1${2:+ ($2)}"
	exit 125
}
# KVM: $QEMU or the system's QEMU, whatever its version
qemu=${QEMU:-qemu-system-x86_64}
if [ "$accel" = auto ] && kvm_usable && ! command -v "$qemu" >/dev/null; then
	note "no $qemu for KVM: trying TCG"
elif [ "$accel" = kvm ] || { [ "$accel" = auto ] && kvm_usable; }; then
	command -v "$qemu" >/dev/null || no_qemu KVM "$qemu not found"
	kvm_timeout=$([ "$accel" = kvm ] && echo "$boot_timeout" || echo 30)
	if boot kvm "$kvm_timeout"; then
		booted=1 accel=kvm
	else
		stop_qemu
		# Keep the KVM attempt's logs next to the TCG ones.
		mv -f "$log" "${log%.log}-kvm.log" 2>/dev/null || true
		mv -f "$rundir/qemu.out" "$rundir/qemu-kvm.out" 2>/dev/null || true
		[ "$accel" = kvm ] && die "guest did not boot with KVM within ${kvm_timeout}s (console: ${log%.log}-kvm.log; qemu: $rundir/qemu-kvm.out)"
		if grep -q "Linux version" "${log%.log}-kvm.log" 2>/dev/null; then
			note "the kernel started under KVM but did not boot (console: ${log%.log}-kvm.log); trying TCG, KVM stays in use for later runs"
		else
			echo "$boot_id $(date +%s) broken" >"$kvm_verdict"
			note "KVM did not run the guest at all within ${kvm_timeout}s; falling back to TCG (remembered for this host boot, at most a day; console: ${log%.log}-kvm.log)"
		fi
		rm -f "$share/shares"
	fi
fi
if [ $booted -eq 0 ]; then
	accel=tcg
	# TCG: a QEMU whose multi-threaded TCG does not run stale kernel text
	qemu=$("$VMTEST_ROOT/scripts/fetch-qemu.sh") || no_qemu TCG "see above"
	if ! boot tcg "$boot_timeout"; then
		stop_qemu
		tail -25 "$log" 2>/dev/null | sed 's/^/vmtest:   | /' >&2
		grep -v '^$' "$rundir/qemu.out" 2>/dev/null | head -5 | sed 's/^/vmtest:   qemu: /' >&2
		printf "\nVMTEST_RUN_FAILED boot\n" >>"$log"
		note "error: guest did not boot within ${boot_timeout}s under TCG (console: $log)"
		exit 125
	fi
fi
echo "$accel" >"$rundir/accel"
qemu_version "$qemu" >"$rundir/qemu-version"
note "guest booted ($accel, $(grep -o 'cpus=[0-9]*' "$log" | head -1), QEMU $(cat "$rundir/qemu-version")); console: $log"

python3 "$VMTEST_ROOT/scripts/nmi-injector.py" --qmp "$rundir/qmp.sock" --ctl "$rundir/ctl.sock" \
	--log "$rundir/nmi-injector.log" &
ipid=$!

# Show the guest's userspace output live (kernel boot messages only with
# --verbose; they are all in the console log).
if [ $quiet -eq 0 ]; then
	if [ $verbose -eq 1 ]; then
		tail -n +1 -F --pid="$qpid" "$log" 2>/dev/null &
	else
		tail -n +1 -F --pid="$qpid" "$log" 2>/dev/null |
			sed -u -n '/VMTEST_BOOTED/,$ { /^\[ *[0-9]*\.[0-9]*\] /d; p }' &
	fi
fi

# The last test marker in the console ("test_start NAME" or "test_end ...")
last_marker() {
	grep -ao 'vmtest: test_\(start\|end\) [^ ]*' "$log" | tail -1 || true
}

deadline=$((SECONDS + timeout))
marker= marker_since=$SECONDS
while kill -0 "$qpid" 2>/dev/null; do
	if [ $SECONDS -ge $deadline ]; then
		running=$(grep -ao 'vmtest: test_start [^ ]*' "$log" | tail -1 | cut -d' ' -f3)
		stop_qemu
		printf "\nVMTEST_RUN_FAILED timeout\n" >>"$log"
		note "error: guest timed out after ${timeout}s${running:+ (test running: $running)}; console: $log"
		exit 124
	fi
	if [ "$test_timeout" -gt 0 ]; then
		m=$(last_marker)
		if [ "$m" != "$marker" ]; then
			marker=$m marker_since=$SECONDS
		elif [[ $marker == *test_start* ]] &&
			[ $((SECONDS - marker_since)) -gt $((test_timeout + 60)) ]; then
			stop_qemu
			printf "\nVMTEST_RUN_FAILED wedged\n" >>"$log"
			note "error: guest wedged: test ${marker##* } still running $((SECONDS - marker_since))s after it started (its timeout is ${test_timeout}s); console: $log"
			exit 124
		fi
	fi
	sleep 0.5
done
wait "$qpid" 2>/dev/null || true
qpid=
sleep 0.3 # let tail print the last lines

status=$(grep -ao 'VMTEST_EXIT=[0-9]*' "$log" | tail -1 | cut -d= -f2)
if [ -z "$status" ]; then
	printf "\nVMTEST_RUN_FAILED died\n" >>"$log"
	note "error: guest stopped without reporting an exit status (kernel panic?); console: $log"
	exit 125
fi
exit "$status"
