#!/usr/bin/env bash
# selftests-shadow.sh TREE SHADOW SETFILE...: a tree of symlinks to TREE
# in which tools/testing/selftests/bpf/{progs,prog_tests} hold only the
# tests named in SETFILEs (selftests/set, selftests/suite) and the BPF
# programs they use (their skeletons and the .bpf.o files they open), so
# the tree's own Makefile builds a test_progs of just those tests: a few
# dozen programs instead of about a thousand. Everything else (Makefiles,
# helpers, headers, libbpf, the kernel tree) is TREE's, through symlinks.
# test_maps is always kept whole: its objects are named too.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

tree=$(cd "$1" && pwd) shadow=$2
shift 2
st=tools/testing/selftests/bpf
real=$tree/$st

rm -rf "$shadow"
mkdir -p "$shadow"
# link_all DIR EXCEPT...: $shadow/DIR gets a symlink for each entry of
# $tree/DIR but EXCEPT, which become real directories.
link_all() {
	local dir=$1 e
	shift
	mkdir -p "$shadow/$dir"
	for e in "$tree/$dir"/* "$tree/$dir"/.[!.]*; do
		[ -e "$e" ] || continue
		case " $* " in *" $(basename "$e") "*) mkdir -p "$shadow/$dir/$(basename "$e")"; continue ;; esac
		ln -s "$e" "$shadow/$dir/$(basename "$e")"
	done
}
link_all . tools
link_all tools testing
link_all tools/testing selftests
link_all tools/testing/selftests bpf
link_all $st progs prog_tests

# The tests of the sets, by the file that defines test_NAME().
files=()
while read -r runner name _; do
	[ "$runner" = test_progs ] || continue
	f=$(grep -lE "^void (serial_)?test_${name%%/*}\(" "$real"/prog_tests/*.c | head -1) ||
		die "no test_progs test ${name%%/*} in $real/prog_tests"
	files+=("$f")
done < <(sed -e 's/#.*//' "$@")
files+=("$real"/test_maps.c "$real"/map_tests/*.c)

# Programs they use: X.skel.h / X.lskel.h / X.subskel.h includes and
# "X.bpf.o" files they open (the Makefile's X.skel.h-deps for linked ones).
# test_maps names its objects "./X.bpf.o".
progs=$(grep -ohE '[A-Za-z0-9_]+\.(l|sub)?skel\.h|"(\./)?[A-Za-z0-9_]+\.bpf\.o"' "${files[@]}" |
	sed -E 's/"//g; s|^\./||; s/\.(l|sub)?skel\.h$//; s/\.bpf\.o$//' | sort -u)
for p in $progs; do
	deps=$(sed -n "s/^$p\.skel\.h-deps := //p" "$real/Makefile")
	for d in ${deps:-$p.bpf.o}; do
		d=${d%.bpf.o}
		[ -f "$real/progs/$d.c" ] && ln -sf "$real/progs/$d.c" "$shadow/$st/progs/"
	done
done
for h in "$real"/progs/*.h "$real"/prog_tests/*.h; do
	ln -sf "$h" "$shadow/$st/${h#"$real"/}"
done
for f in "${files[@]}"; do
	case "$f" in "$real"/prog_tests/*) ln -sf "$f" "$shadow/$st/prog_tests/" ;; esac
done
