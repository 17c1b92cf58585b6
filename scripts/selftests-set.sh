#!/usr/bin/env bash
# selftests-set.sh SET DIR [-t|-a|-b FILTER]...
#
# Print the selftests to run, one "RUNNER NAME" per line, for
# scripts/guest-selftests.sh. SET is a set file (selftests/set) or "all":
# every test of the test_progs, test_maps and sched_ext runner built in DIR.
# -t/-a FILTER keeps, -b FILTER drops entries whose "RUNNER/NAME" matches
# FILTER as a glob or a substring. Fails when nothing is left.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

set_file=$1 dir=$2
shift 2
keep=() drop=()
while [ $# -gt 0 ]; do
	case "$1" in
	-t | -a) keep+=("$2") ;;
	-b) drop+=("$2") ;;
	*) die "selftests-set.sh: unknown option $1" ;;
	esac
	shift 2
done

entries() {
	if [ "$set_file" = all ]; then
		[ -x "$dir/bpf/test_progs" ] || die "no test_progs in $dir/bpf"
		# -l lists tests (and "test/subtest" lines, which we do not want).
		"$dir/bpf/test_progs" -l | grep -v / | sed 's/^/test_progs /'
		echo test_maps
		echo sched_ext
	else
		sed -e 's/#.*//' "$set_file" | awk 'NF { print $1, ($2 == "" ? "all" : $2) }'
	fi
}

matches() { # matches KEY PATTERN...
	local key=$1 p
	shift
	for p in "$@"; do
		# shellcheck disable=SC2053 # a glob on purpose
		[[ $key == $p || $key == *"$p"* ]] && return 0
	done
	return 1
}

# Every test_progs test named must be in the binary: the permissive build
# leaves out what does not compile, and that must not pass as nothing.
built=
[ "$set_file" = all ] || built=$("$dir/bpf/test_progs" -l 2>/dev/null) || die "cannot list the tests of $dir/bpf/test_progs"
n=0
while read -r runner name; do
	if [ -n "$built" ] && [ "$runner" = test_progs ] && ! grep -qx "${name%%/*}" <<<"$built"; then
		die "test_progs has no test ${name%%/*}: not built? (see $dir/bpf/skipped-in-build.txt and build.log)"
	fi
	key=$runner/$name
	[ $runner = test_maps ] && key=test_maps
	if [ ${#keep[@]} -gt 0 ] && ! matches "$key" "${keep[@]}"; then continue; fi
	if [ ${#drop[@]} -gt 0 ] && matches "$key" "${drop[@]}"; then continue; fi
	echo "$runner $name"
	n=$((n + 1))
done < <(entries)
[ $n -gt 0 ]
