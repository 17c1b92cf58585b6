#!/bin/sh
# guest-soak.sh SECS DIR OUT: the load of `make soak`, inside the vmtest
# guest (busybox sh). For SECS seconds, with host-injected NMIs at
# $VMTEST_NMI_RATE per second shared by every test, it runs the suite's
# reproducers at once, each again and again:
#
#   nmi_delete   test_progs storage_stress/nmi_delete: task storage created
#                and deleted in NMI, hardirq, kprobes in the delete/free
#                path and process context; every value freed, map alive
#   map_close    test_progs storage_stress/map_close: the same, map closed
#                in the middle
#   kptr         test_progs kptr_nmi: task/cgroup kptrs released and
#                objects holding them dropped in NMI
#   exit_hotplug sched_ext exit_task_storage (a fork/exit storm deleting
#                task storage in ops.exit_task()) and, taking turns with it,
#                storage_stress/cpu_hotplug (a CPU goes down and up under
#                the stress): a sched_ext scheduler without cpu_online/
#                cpu_offline ops is ejected by design on a hotplug event,
#                so the two never run at the same time
#
# Then it stops the NMIs, scans kmemleak (leaks are reported on the console
# between "vmtest: test_start kmemleak" markers, where the host's splat
# scanner fails them) and writes OUT/summary.txt: the figures, and one
# "soak: FAIL ..." line per broken check. Exit status 0 only if every run
# of every reproducer passed and every check held.
#   DIR  the selftests build (DIR/bpf/test_progs, DIR/sched_ext/runner)
set -u
secs=$1 dir=$2 out=$3
rate=${VMTEST_NMI_RATE:-1000}
tmo=${SOAK_TEST_TIMEOUT:-300}
mkdir -p "$out"
sum=$out/summary.txt
: >"$sum"
fail=0
say() { echo "$*" | tee -a "$sum"; }
check() { # check COND-STATUS WHAT
	if [ "$1" -eq 0 ]; then
		say "soak: ok   $2"
	else
		say "soak: FAIL $2"
		fail=1
	fi
}

# The host's NMI injector, on the control serial port (prog_tests/nmi_source.h
# has the protocol): one injection for every test of the soak, whose own
# nmi_source (VMTEST_NMI_SHARED) then asks nothing.
exec 3<>/dev/ttyS1
nmi_ctl() { # nmi_ctl REQUEST TAG: print the text of the reply with that tag
	echo "$1 @$2" >&3
	# shellcheck disable=SC3045 # busybox read has -t
	while read -r -t 5 line <&3; do
		line=$(echo "$line" | tr -d '\r')
		case "$line" in *" @$2")
			echo "${line% @"$2"}"
			return 0
			;;
		esac
	done
	return 1
}
# The host starts its injector once it has seen the guest boot: until it
# is connected to the port, what the guest writes there is lost.
pong=
for try in 1 2 3 4 5 6; do
	pong=$(nmi_ctl PING "$try") && break
done
[ "$pong" = PONG ] || { say "soak: FAIL no NMI injector on /dev/ttyS1"; exit 1; }

[ -w /sys/kernel/debug/kmemleak ] && echo clear >/sys/kernel/debug/kmemleak
printk=$(cat /proc/sys/kernel/printk)
# What nmi_source.h does while the host injects: KERN_INFO off the console
# (slow NMI handler lines), warnings and splats still on it.
echo 6 >/proc/sys/kernel/printk
start=$(date +%s)
deadline=$((start + secs))
# The NMIs last until STOP, or SECS plus the longest two tests in a row
# may take (the hotplug and the storm runs follow each other).
if [ "$(nmi_ctl "NMI START $rate $((secs + 2 * tmo + 60))" 12)" != OK ]; then
	echo "$printk" >/proc/sys/kernel/printk
	say "soak: FAIL the host did not start NMIs"
	exit 1
fi
echo "vmtest: test_start soak" >/dev/kmsg
export VMTEST_NMI_SHARED=1

# run_one NAME.N WORKDIR CMD...: run CMD in WORKDIR in a session of its own,
# killed after the per-test timeout, and then whatever it left running
# (timeout kills only its child); output and exit status in
# OUT/NAME.N.{log,rc}. Without the control port: only this script talks
# to the host.
run_one() {
	r_id=$1 r_wd=$2
	shift 2
	(cd "$r_wd" && exec setsid timeout -s KILL "$tmo" "$@") \
		>"$out/$r_id.log" 2>&1 </dev/null 3>&- &
	r_sid=$!
	wait $r_sid
	echo $? >"$out/$r_id.rc"
	kill -s KILL "-$r_sid" 2>/dev/null
}
# loop NAME WORKDIR CMD...: run_one CMD again and again until the deadline.
loop() {
	l_name=$1 l_wd=$2
	shift 2
	l_i=0
	while [ "$(date +%s)" -lt "$deadline" ]; do
		l_i=$((l_i + 1))
		run_one "$l_name.$l_i" "$l_wd" "$@"
	done
}
# The hotplug run first: a storm run under the soak's load can outlast the
# deadline (seen: one run of each in 230 to 310 s), and then the other
# never ran.
exit_hotplug() {
	h_i=0
	while [ "$(date +%s)" -lt "$deadline" ]; do
		h_i=$((h_i + 1))
		run_one "cpu_hotplug.$h_i" "$dir/bpf" ./test_progs -v -w "$tmo" -a storage_stress/cpu_hotplug
		run_one "exit_storm.$h_i" "$dir/sched_ext" ./runner -t exit_task_storage
	done
}

loop nmi_delete "$dir/bpf" ./test_progs -v -w "$tmo" -a storage_stress/nmi_delete &
loop map_close "$dir/bpf" ./test_progs -v -w "$tmo" -a storage_stress/map_close &
loop kptr "$dir/bpf" ./test_progs -v -w "$tmo" -a kptr_nmi &
exit_hotplug &
wait
loaded=$(($(date +%s) - start))
reply=$(nmi_ctl "NMI STOP" 13)
nmis=${reply#NMI COUNT }
case "$nmis" in '' | *[!0-9]*) nmis=-1 ;; esac
echo "$printk" >/proc/sys/kernel/printk
echo "vmtest: test_end soak PASS" >/dev/kmsg

# Leaks, then the figures. kmemleak needs its objects unreferenced across
# two scans.
leaks=0
if [ -w /sys/kernel/debug/kmemleak ]; then
	sh /vmtest/bin/guest-kmemleak.sh scan
	leaks=$(grep -c '^unreferenced object' /sys/kernel/debug/kmemleak)
fi

# after OP PHRASE FILES...: the numbers that follow PHRASE (then a space,
# maybe a colon) in the tests' output, added up (OP sum) or their maximum
# (OP max).
after() {
	a_op=$1 a_re=$2
	shift 2
	cat "$@" 2>/dev/null | awk -v op="$a_op" -v re="$a_re" '
		{ line = $0
		  while (match(line, re ":? +-?[0-9]+")) {
			  v = substr(line, RSTART, RLENGTH)
			  sub(/.* /, "", v)
			  v += 0
			  if (op == "sum") r += v
			  else if (v > r) r = v
			  line = substr(line, RSTART + RLENGTH)
		  } }
		END { print r + 0 }'
}
runs() { ls "$out/$1".*.rc 2>/dev/null | wc -l; }
failed() { cat "$out/$1".*.rc 2>/dev/null | grep -vc '^0$'; }

# /dev/null keeps grep and cat off stdin when there is no log at all.
stress="/dev/null $(ls "$out"/nmi_delete.*.log "$out"/map_close.*.log "$out"/cpu_hotplug.*.log 2>/dev/null)"
kptr="/dev/null $(ls "$out"/kptr.*.log 2>/dev/null)"
storm="/dev/null $(ls "$out"/exit_storm.*.log 2>/dev/null)"
say "soak: ${loaded}s of load (asked ${secs}s), host NMIs delivered $nmis ($((nmis / (loaded > 0 ? loaded : 1)))/s, asked $rate/s)"
for t in nmi_delete map_close kptr exit_storm cpu_hotplug; do
	say "soak: $t: $(runs $t) runs, $(failed $t) failed"
done
# storage_stress prints, per context: "<ctx> runs N (wrong context N) created N deleted N ..."
# shellcheck disable=SC2086 # file lists
for ctx in task hardirq nmi kprobe; do
	say "soak: storage_stress $ctx context: created $(grep -h "^$ctx  *runs" $stress | after sum created),"\
		"deleted $(grep -h "^$ctx  *runs" $stress | after sum deleted)," \
		"delete errors $(grep -h "^$ctx  *runs" $stress | after sum 'other errors')"
done
# shellcheck disable=SC2086
{
	say "soak: storage_stress values freed: $(grep -h 'left over after map close' $stress | after sum 'values freed'),"\
		"left after map close: $(after sum 'left over after map close' $stress),"\
		"not freed while the map was alive: $(after sum 'not freed with the map alive' $stress)"
	say "soak: storage_stress values not yet freed during a run: at most $(after max 'at most' $stress)"
	drain=$(after max '\\(after' $stress)
	say "soak: storage_stress drain after a run's deletes stopped: at most $drain ms"
	left=$(after sum 'not freed with the map alive' $stress)
}
# kptr_nmi's figures are on its "NMI source ..." lines (ASSERT lines name
# the same words).
# shellcheck disable=SC2086
{
	kl() { grep -h '^NMI source ' $kptr; }
	say "soak: kptr_nmi NMI runs $(kl | after sum 'NMI runs'), drops $(kl | after sum ', drops')," \
		"burst drops $(kl | after sum 'burst drops'), bpf_obj_new() failed $(kl | after sum 'alloc failed')," \
		"released from array $(kl | after sum 'released from array'), hash $(kl | after sum hash)," \
		"task storage $(kl | after sum 'task storage')"
	say "soak: exit storm: created $(after sum ' created' $storm), deleted in exit_task $(after sum ' deleted' $storm)," \
		"freed $(after sum 'storage values freed' $storm), not freed while the map was alive $(after sum 'not freed with the map alive' $storm)"
}
say "soak: kmemleak suspected leaks: $leaks"

for t in nmi_delete map_close kptr exit_storm; do
	[ "$(runs $t)" -gt 0 ] && [ "$(failed $t)" -eq 0 ]
	check $? "$t: every run passed"
done
if [ "$(grep -c ^processor /proc/cpuinfo)" -gt 1 ]; then
	[ "$(runs cpu_hotplug)" -gt 0 ] && [ "$(failed cpu_hotplug)" -eq 0 ]
	check $? "cpu_hotplug: every run passed"
fi
[ "$nmis" -ge $((1000 * loaded)) ]
check $? "at least 1000 NMIs/s delivered"
[ "$left" -eq 0 ]
check $? "storage_stress: every value freed while its map was alive"
# The other loops keep loading the machine while one run drains.
[ "$drain" -le 1000 ]
check $? "storage_stress: backlog at 0 within 1 s of a run's deletes stopping"
[ "$leaks" -eq 0 ]
check $? "kmemleak clean"
exit $fail
