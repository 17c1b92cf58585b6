#!/bin/sh
# guest-selftests.sh SETFILE DIR OUT TIMEOUT: run the kernel tree's own
# selftests inside the vmtest guest (busybox sh), one invocation per test so
# every kernel splat can be attributed to the test that was running.
#
#   SETFILE  lines "test_progs NAME", "test_maps", "sched_ext" (the whole
#            runner) or "sched_ext NAME" (runner -t NAME)
#   DIR      the selftests build (DIR/bpf/test_progs, DIR/sched_ext/runner)
#   OUT      where each test's output goes: OUT/RUNNER.NAME.{log,rc}
#   TIMEOUT  seconds per test; a test still running then is killed (rc 124)
#
# The host (scripts/selftests-results.py) turns OUT into results.
set -u
set_file=$1 dir=$2 out=$3 tmo=$4
mkdir -p "$out"
# Tests may lower the console log level (the NMI ones do) and a test killed
# on its timeout cannot restore it: every test starts with the boot's.
printk=$(cat /proc/sys/kernel/printk)

# in_session WORKDIR TIMEOUT CMD...: run CMD in WORKDIR in a session of its
# own, killed after TIMEOUT seconds, and return its exit status. Whatever
# it left running is killed too: test_maps forks 100 children, and after a
# timeout kill of test_maps alone they went on hammering maps through every
# later test (and stalled RCU Tasks during the sched_ext runner). The test
# keeps this subshell's pid through exec, so its session and process group
# ids are that pid (a background job of this shell is no group leader, so
# setsid does not fork).
in_session() {
	s_wd=$1 s_tmo=$2
	shift 2
	(cd "$s_wd" && exec setsid timeout -s KILL "$s_tmo" "$@") </dev/null &
	sid=$!
	wait $sid
	s_rc=$?
	kill -s KILL "-$sid" 2>/dev/null && echo "vmtest: killed what $* left running" >&2
	return $s_rc
}

run() { # run RUNNER NAME WORKDIR CMD...
	runner=$1 name=$2 wd=$3
	shift 3
	# A name may be a glob with subtests (bpf_iter/*storage*): keep the file
	# name flat (selftests-results.py file_name() does the same).
	f=$out/$runner.$(echo "$name" | tr '/*' '_~')
	echo "vmtest: test_start $runner/$name" >/dev/kmsg
	echo "== $runner/$name"
	# stdin (in_session): not the set file this loop reads
	in_session "$wd" "$tmo" "$@" >"$f.log" 2>&1
	rc=$?
	[ $rc -eq 137 ] && rc=124 # SIGKILL from timeout
	echo $rc >"$f.rc"
	res=PASS
	[ $rc -eq 0 ] || res=FAIL
	echo "vmtest: test_end $runner/$name $res" >/dev/kmsg
	echo "$printk" >/proc/sys/kernel/printk
	# A test killed on its timeout cannot stop the host's NMIs: stop them
	# (an untagged request; its late reply is skipped by the next test).
	[ $rc -eq 124 ] && [ -c /dev/ttyS1 ] && echo "NMI STOP" >/dev/ttyS1
	grep -E '^(#[0-9]+ |Summary|not ok|ok [0-9]|test_maps:)' "$f.log" | tail -40
}

# The sched_ext runner runs all its tests in one process; its output names
# each test as it starts ("TEST: name") and ends ("ok N name" / "not ok N
# name"), and those lines become the kernel log markers of that test.
run_sched_ext() { # run_sched_ext NAME|all
	what=$1
	f=$out/sched_ext.$what
	filter=
	[ "$what" = all ] || filter="-t $what"
	echo "vmtest: test_start sched_ext/$what" >/dev/kmsg
	echo "== sched_ext/$what"
	: >"$f.log"
	current=
	{
		# shellcheck disable=SC2086 # $filter is empty or two words
		in_session "$dir/sched_ext" "$((tmo * 4))" ./runner $filter 2>&1
		echo "vmtest-rc $?"
	} | while IFS= read -r line; do
		# A test's own output can have TAP lines too (rt_stall prints
		# "ok 1 PASS: ..." through kselftest.h): the runner's result is
		# "ok N NAME # " or "not ok N NAME # " for the test it started.
		case "$line" in
		"TEST: "*)
			current=${line#TEST: }
			echo "vmtest: test_start sched_ext/$current" >/dev/kmsg
			;;
		"ok "[0-9]*" $current # "* | "not ok "[0-9]*" $current # "*)
			[ "${line%% *}" = ok ] && result=PASS || result=FAIL
			echo "vmtest: test_end sched_ext/$current $result" >/dev/kmsg
			echo "$line"
			;;
		"vmtest-rc "*)
			rc=${line#vmtest-rc }
			[ "$rc" -eq 137 ] && rc=124
			echo "$rc" >"$f.rc"
			continue
			;;
		esac
		echo "$line" >>"$f.log"
	done
	echo "vmtest: test_end sched_ext/$what $([ "$(cat "$f.rc")" = 0 ] && echo PASS || echo FAIL)" >/dev/kmsg
	echo "$printk" >/proc/sys/kernel/printk
}

while read -r runner name _; do
	case "$runner" in
	"" | "#"*) continue ;;
	# -w: test_progs' own watchdog, at our timeout (its default, 120 s, is
	# short for TCG); timeout -s KILL is the backstop.
	test_progs) run test_progs "$name" "$dir/bpf" ./test_progs -w "$tmo" -a "$name" ;;
	test_maps) run test_maps all "$dir/bpf" ./test_maps ;;
	sched_ext) run_sched_ext "${name:-all}" ;;
	*) echo "guest-selftests: unknown runner '$runner' in $set_file" >&2; exit 2 ;;
	esac
done <"$set_file"
