#!/usr/bin/env bash
# series-matrix.sh: link every prefix of the series under each config of a
# build matrix (bisectability across configs; scripts/series.sh check runs
# it). A config is the lean kernel-config/matrix.config plus one
# kernel-config/matrix-NAME.config fragment:
#
#   lean         matrix.config alone (x86_64, SMP, JIT, cgroups, BPF LSM)
#   jit-off      CONFIG_BPF_JIT=n (v1's link failure: cpumask.o is JIT-only)
#   cgroups-off  CONFIG_CGROUPS=n
#   rt           CONFIG_PREEMPT_RT=y
#   up           CONFIG_SMP=n
#   syscall-off  CONFIG_BPF_SYSCALL=n (the !BPF_SYSCALL stubs of the headers)
#
# and, not by default, the harness's own configs (the fragments of
# scripts/build-kernel.sh), each several times bigger than the lean one:
#
#   bench        base + bpf + bench.config (no debug options)
#   debug        base + bpf + selftests + debug.config (lockdep, KASAN)
#
# For each config the base tree is built first (vmlinux): a config that
# does not build there is reported and skipped, and the base build's
# warnings are the ones the series may keep. Then every commit of the
# series, in order, builds vmlinux in the same build directory (make
# rebuilds what the commit changed; commits that touch only tools/testing/ are
# skipped). A prefix fails on a build error or on a compiler, linker,
# objtool or resolve_btfids warning the base build did not give (but see
# objects mode for resolve_btfids' duplicate types).
#
#   SERIES_MATRIX           the configs (default: the six lean ones)
#   SERIES_MATRIX_PREFIXES  full (default): every prefix builds vmlinux with
#                           make's own dependencies, so a prefix that
#                           changes bpf.h, sched/task.h or cgroup-defs.h
#                           recompiles most of the kernel (up to 12 min
#                           here). objects: a prefix recompiles the .c
#                           files the series changed so far, against that
#                           prefix's headers, and links vmlinux; the other
#                           users of a changed header keep the base's
#                           objects (the header is dated back so that make
#                           leaves them), so a prefix that breaks one of
#                           them under this config is not seen, and where
#                           the config builds none of the series' .c files
#                           (syscall-off) a prefix compiles nothing (the
#                           log line counts what was compiled). With BTF,
#                           such a vmlinux has several versions of the
#                           structs the series changed so far: a prefix
#                           names them and does not fail on them. The last
#                           kernel commit always builds in full, so its
#                           vmlinux is complete and fails on them.
#
# vmtest.sh builds the whole kernel for the debug and bench configs, and
# series.sh check builds the touched objects of every prefix with the
# debug config.
#
# Usage: series-matrix.sh REPO   (REPO: the fetched base tree)
# Exits non-zero when any config or prefix fails.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

repo=$1
srcdir=$(dirname "$repo")
configs=${SERIES_MATRIX:-lean jit-off cgroups-off rt up syscall-off}
prefixes=${SERIES_MATRIX_PREFIXES:-full}
case $prefixes in
full | objects) ;;
*) die "SERIES_MATRIX_PREFIXES must be full or objects, not '$prefixes'" ;;
esac
jobs=${VMTEST_JOBS:-$(($(nproc) + 1))}
tree=$srcdir/matrix

# fragments CONFIG: the config fragments of a matrix config
fragments() {
	local k=$VMTEST_ROOT/kernel-config
	case $1 in
	bench) echo "$k/base.config $k/bpf.config $k/bench.config" ;;
	debug) echo "$k/base.config $k/bpf.config $k/selftests.config $k/debug.config" ;;
	lean) echo "$k/matrix.config" ;;
	*) echo "$k/matrix.config $k/matrix-$1.config" ;;
	esac
}

for cfg in $configs; do
	for f in $(fragments "$cfg"); do
		[ -f "$f" ] || die "unknown matrix config '$cfg' (no $f)"
	done
done

exec 9>"$srcdir/matrix.lock"
flock 9

cc=gcc
if command -v ccache >/dev/null 2>&1 && [ -z "${VMTEST_NO_CCACHE:-}" ]; then
	export CCACHE_DIR=${CCACHE_DIR:-$VMTEST_CACHE/ccache}
	cc="ccache gcc"
fi
# As scripts/build-kernel.sh: a fixed timestamp also makes pahole run
# single-threaded (scripts/Makefile.btf), whose BTF is then the same on
# every build; threaded, the bench config's base gave a resolve_btfids
# warning in some builds and not in others.
export KBUILD_BUILD_TIMESTAMP="vmtest" KBUILD_BUILD_USER=vmtest KBUILD_BUILD_HOST=vmtest

# apply-series.sh works in the shared scratch worktree: under the build lock
# of vmtest.sh, so that a build running meanwhile is not disturbed.
patched=$(flock "$srcdir/build.lock" "$VMTEST_ROOT/scripts/apply-series.sh" "$repo" patched)
base=$(git -C "$repo" rev-parse "vmtest-base^{commit}")
git -C "$repo" worktree prune
[ -d "$tree" ] || git -C "$repo" worktree add -q --detach "$tree" "$base" >&2

# The warnings of a build log (compiler, linker, objtool, modpost,
# resolve_btfids), without line and column numbers, function offsets and
# BTF type ids, which the series moves. None is not an error.
warnings() {
	{ grep -E '(warning|error|WARNING|WARN): ' "$1" || true; } |
		sed -E 's/:[0-9]+(:[0-9]+)?:/:/g; s/\+0x[0-9a-f]+(\/0x[0-9a-f]+)?//g' |
		sed -E "s/^(WARN: multiple IDs found for '[^']*'): .*/\1/" | sort -u
}

# resolve_btfids' "multiple IDs found for 'bpf_map'" in a prefix linked in
# objects mode after the series changed a header: that vmlinux mixes
# objects built against the prefix's headers with the base's objects of
# the same headers, so its BTF holds several versions of each struct the
# series changed so far and of the structs that refer to it (resolve_btfids
# names only those a BTF_ID list asks for). Such a prefix names them
# without failing; the last kernel commit, built in full, fails on them
# like on any new warning.
mixed_btf='^WARN: multiple IDs found for '

# What says why a build failed: compiler errors, and the linker's, which
# have no "error:" ("undefined reference to", make's "Error 1").
show_errors() {
	{ grep -E 'error: |undefined reference|multiple definition|\] Error [0-9]' "$1" || true; } |
		head -5 | sed 's/^/vmtest:   /' >&2
}

# build CONFIG LOG: vmlinux of the tree's current commit
build() {
	# shellcheck disable=SC2086 # cc is a command with its argument
	make -C "$tree" O="$srcdir/build-matrix-$1" -j"$jobs" CC="$cc" HOSTCC=gcc vmlinux >"$2" 2>&1
}

rc=0
ok_configs=()
git -C "$tree" checkout -q -f --detach "$base"
for cfg in $configs; do
	build_dir=$srcdir/build-matrix-$cfg
	# The base's own warnings come from a complete build: when they are not
	# known yet for this base, start from an empty build directory (ccache
	# replays the warnings of cached objects).
	base_warnings=$build_dir/matrix-base-${base:0:12}.warnings
	[ -f "$base_warnings" ] || rm -rf "$build_dir"
	# shellcheck disable=SC2046 # fragments prints a list of paths
	if ! "$VMTEST_ROOT/scripts/kconfig.sh" "$tree" "$build_dir" $(fragments "$cfg"); then
		note "error: matrix config $cfg: cannot make its .config"
		rc=1
		continue
	fi
	log=$build_dir/matrix-base.log
	start=$SECONDS
	if ! build "$cfg" "$log"; then
		note "error: matrix config $cfg: the base tree does not build (log: $log)"
		show_errors "$log"
		rc=1
		continue
	fi
	[ -f "$base_warnings" ] || warnings "$log" >"$base_warnings"
	note "$cfg: base builds ($((SECONDS - start)) s, $(wc -l <"$base_warnings") warning(s) of its own)"
	ok_configs+=("$cfg")
done
[ ${#ok_configs[@]} -gt 0 ] || die "no matrix config builds on the base tree"

# The series' files below tree (headers or sources, but not tools/)
# changed from the base to commit $1
changed() {
	git -C "$repo" diff --name-only "$base" "$1" -- "${@:2}" ':(exclude)tools' | sed "s|^|$tree/|"
}

# touch_series COMMIT STAMP: date the headers the series changed up to
# COMMIT; with a past STAMP (objects mode) also touch its .c files, so
# that make recompiles those and no other user of a changed header.
touch_series() {
	local c=$1 stamp=$2 f headers sources
	if ! headers=$(changed "$c" '*.h') || ! sources=$(changed "$c" '*.c'); then
		die "cannot list the files the series changed up to $c"
	fi
	for f in $headers; do
		[ -f "$f" ] && touch -d "$stamp" "$f"
	done
	if [ "$stamp" != now ]; then
		for f in $sources; do
			[ -f "$f" ] && touch "$f"
		done
	fi
	return 0
}

last_kernel=$(git -C "$repo" log -1 --format=%H "$base..$patched" -- . ':(exclude)tools/testing')
for c in $(git -C "$repo" rev-list --reverse "$base..$patched"); do
	what=$(git -C "$repo" log -1 --format='%h %s' "$c")
	# Selftests only: make vmlinux builds nothing from tools/testing.
	if git -C "$repo" diff --quiet "$c^" "$c" -- . ':(exclude)tools/testing'; then
		note "only tools/testing/, not built: $what"
		continue
	fi
	# The checkout rewrites what differs from the previous commit, so in
	# full mode make rebuilds what this commit changed.
	git -C "$tree" checkout -q -f --detach "$c"
	how="builds"
	if [ "$prefixes" = objects ]; then
		if [ "$c" != "$last_kernel" ]; then
			touch_series "$c" "2000-01-01"
			how="links (the series' objects only)"
		else
			# Every user of every header changed so far
			touch_series "$c" now
		fi
	fi
	for cfg in "${ok_configs[@]}"; do
		build_dir=$srcdir/build-matrix-$cfg
		log=$build_dir/matrix-$(git -C "$repo" rev-parse --short "$c").log
		start=$SECONDS
		if ! build "$cfg" "$log"; then
			note "error: $cfg: does not build: $what (log: $log)"
			show_errors "$log"
			rc=1
		else
			# The base's list goes through warnings() again: one cached
			# before the BTF ids were dropped still compares.
			new=$(warnings "$log" | comm -23 - <(warnings "$build_dir/matrix-base-${base:0:12}.warnings"))
			mixed=""
			if [ "$prefixes" = objects ] && [ "$c" != "$last_kernel" ] &&
				[ -n "$(changed "$c" '*.h')" ]; then
				mixed=$(grep -E "$mixed_btf" <<<"$new" || true)
				new=$(grep -v -E "$mixed_btf" <<<"$new" || true)
			fi
			if [ -n "$new" ]; then
				note "error: $cfg: new warnings: $what (log: $log)"
				echo "$new" | head -5 | sed 's/^/vmtest:   /' >&2
				rc=1
			else
				compiled=$(grep -c '^  CC ' "$log" || true)
				mixed=${mixed:+; BTF of mixed objects has several $(sed -E "s/.*'(.*)'/\1/" <<<"$mixed" | paste -sd, -)}
				note "$cfg: $how ($((SECONDS - start)) s, $compiled objects compiled$mixed): $what"
			fi
		fi
	done
done
exit $rc
