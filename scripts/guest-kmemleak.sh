#!/bin/sh
# guest-kmemleak.sh clear|scan: kmemleak around the tests of a run.
#   clear  forget what is unreferenced now (boot-time false positives), so
#          that a later scan reports only what the tests leaked
#   scan   scan (twice: an object must stay unreferenced across scans) and
#          print each suspected leak to the console between the markers of a
#          pseudo-test "kmemleak", where the host's splat scanner finds the
#          kernel's "N new suspected memory leaks" line
# Does nothing when the kernel has no kmemleak.
f=/sys/kernel/debug/kmemleak
[ -w $f ] || exit 0
case "$1" in
clear) echo clear >$f ;;
scan)
	echo "vmtest: test_start kmemleak" >/dev/kmsg
	echo scan >$f
	sleep 1
	echo scan >$f
	if [ -s $f ]; then
		echo "vmtest: kmemleak report:"
		cat $f
	fi
	echo "vmtest: test_end kmemleak PASS" >/dev/kmsg
	;;
esac
