#!/usr/bin/env bash
# build-kernel.sh REPO VARIANT CONFIG
#
# Build VARIANT (base, patched, mutant-NAME) with the CONFIG fragment set
# (debug or bench) and print the directory holding its bzImage, vmlinux.btf,
# System.map and .config. With VMTEST_SELFTESTS=1 it also builds the tree's
# own selftests against that kernel into OUT/selftests (scripts/build-selftests.sh),
# in the same locked step: they need the variant's source tree and the
# vmlinux and Module.symvers of this very build. With the bench config it
# builds the tree's bench runner into OUT/bench (scripts/build-bench.sh)
# the same way. One source worktree and one build directory per
# CONFIG are shared by all variants: switching variant rewrites only the files
# that differ, make rebuilds only what depends on them, and ccache turns a
# switch back into cache hits.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

repo=$1 variant=$2 config=$3
srcdir=$(dirname "$repo")
tree=$srcdir/tree
build=$srcdir/build-$config
out=$srcdir/out/$variant-$config
jobs=${VMTEST_JOBS:-$(($(nproc) + 1))}

case "$config" in
debug) fragments=(base bpf selftests debug) ;;
bench) fragments=(base bpf bench) ;;
*) die "unknown config '$config' (debug, bench)" ;;
esac
fragfiles=()
for f in "${fragments[@]}"; do fragfiles+=("$VMTEST_ROOT/kernel-config/$f.config"); done

# Only one build at a time per source tree: applying the series, the
# kernel and everything read from the tree afterwards (vmtest.sh holds the
# lock across all of it and says so with VMTEST_BUILD_LOCKED).
if [ -z "${VMTEST_BUILD_LOCKED:-}" ]; then
	exec 9>"$srcdir/build.lock"
	flock 9
fi

commit=$(phase patch "$VMTEST_ROOT/scripts/apply-series.sh" "$repo" "$variant")
stamp="$commit $(cat "${fragfiles[@]}" | sha1sum | cut -c1-16)"

# The source tree is this variant's, whether or not anything needs
# building: the tools and tests built after this read it.
if [ ! -d "$tree" ]; then
	git -C "$repo" worktree prune
	git -C "$repo" worktree add -q --detach "$tree" "$commit" >&2
fi
[ "$(git -C "$tree" rev-parse HEAD)" = "$commit" ] || git -C "$tree" checkout -q -f --detach "$commit"

# The selftests are up to date when they were built from this kernel build
# by this version of the build script.
st_stamp="$stamp ${VMTEST_SELFTESTS_FULL:-0} $(cat "$VMTEST_ROOT"/scripts/{build-selftests,selftests-shadow}.sh \
	"$VMTEST_ROOT"/selftests/{set,suite} | sha1sum | cut -c1-16)"
selftests_ok() {
	[ "${VMTEST_SELFTESTS:-0}" = 1 ] || return 0
	[ -f "$out/selftests/stamp" ] && [ "$(cat "$out/selftests/stamp")" = "$st_stamp" ]
}
# Likewise the bench runner, for the bench config only.
bench_stamp="$stamp $(sha1sum <"$VMTEST_ROOT/scripts/build-bench.sh" | cut -c1-16)"
bench_ok() {
	[ "$config" = bench ] || return 0
	[ -f "$out/bench/stamp" ] && [ "$(cat "$out/bench/stamp")" = "$bench_stamp" ]
}
if [ -f "$out/stamp" ] && [ "$(cat "$out/stamp")" = "$stamp" ] && [ -f "$out/bzImage" ] &&
	selftests_ok && bench_ok; then
	note "kernel $variant-$config is up to date ($(git -C "$repo" log -1 --format=%h "$commit"))"
	echo "$out"
	exit 0
fi

note "building $variant-$config: $(git -C "$tree" log -1 --format='%h %s')"

phase config "$VMTEST_ROOT/scripts/kconfig.sh" "$tree" "$build" "${fragfiles[@]}"

cc=gcc
if command -v ccache >/dev/null 2>&1 && [ -z "${VMTEST_NO_CCACHE:-}" ]; then
	export CCACHE_DIR=${CCACHE_DIR:-$VMTEST_CACHE/ccache}
	export CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-10G}
	export CCACHE_SLOPPINESS=time_macros,include_file_mtime,include_file_ctime
	cc="ccache gcc"
fi
# A fixed timestamp and version keep objects identical across variants, so
# ccache hits when switching back.
export KBUILD_BUILD_TIMESTAMP="vmtest" KBUILD_BUILD_USER=vmtest KBUILD_BUILD_HOST=vmtest
log=$build/build.log
rm -f "$out/stamp"
# "modules" writes Module.symvers, which out-of-tree modules (bpf_testmod) need.
make_kernel() {
	local targets=bzImage
	grep -q '^CONFIG_MODULES=y' "$build/.config" && targets="bzImage modules"
	# shellcheck disable=SC2086 # targets is a list
	make -C "$tree" O="$build" -j"$jobs" CC="$cc" HOSTCC=gcc $targets >"$log" 2>&1
}
if ! phase kernel make_kernel; then
	grep -E '(error|Error)[: ]' "$log" | head -20 | sed 's/^/vmtest:   /' >&2
	die "kernel build failed for $variant-$config (full log: $log)"
fi
grep -E ' warning: ' "$log" | head -5 | sed 's/^/vmtest: build warning: /' >&2 || true

mkdir -p "$out"
cp "$build/arch/x86/boot/bzImage" "$build/System.map" "$build/.config" "$out/"
# vmlinux itself is large (KASAN + debug info); keep only its BTF.
"$VMTEST_ROOT/scripts/objcopy-btf.sh" "$build/vmlinux" "$out/vmlinux.btf"
echo "$commit" >"$out/commit"
echo "$stamp" >"$out/stamp"

if ! selftests_ok; then
	[ "$config" = debug ] || die "the tree's selftests are built with the debug config only"
	rm -f "$out/selftests/stamp"
	phase selftests-build "$VMTEST_ROOT/scripts/build-selftests.sh" "$tree" "$build" \
		"$out/vmlinux.btf" "$out/selftests"
	echo "$st_stamp" >"$out/selftests/stamp"
fi
if ! bench_ok; then
	rm -f "$out/bench/stamp"
	phase bench-build "$VMTEST_ROOT/scripts/build-bench.sh" "$tree" "$build" \
		"$out/vmlinux.btf" "$out/bench"
	echo "$bench_stamp" >"$out/bench/stamp"
fi
echo "$out"
