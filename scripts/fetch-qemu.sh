#!/usr/bin/env bash
# Print the path of the qemu-system-x86_64 the guests run on.
#
#   QEMU=/path         use that one
#   default            the system's, if it is QEMU $QEMU_MIN_VERSION or newer;
#                      else QEMU from Debian's $QEMU_DEB_SUITE (default: this
#                      release's backports), fetched by package name with apt
#                      into $VMTEST_CACHE/qemu (private apt state; nothing is
#                      installed on the system)
#
# Why not any QEMU: under TCG with several vCPUs (multi-threaded TCG, what
# run-vm.sh uses when KVM does not boot), QEMU 7.2 can keep running a
# translation of kernel text made while text_poke_bp() had an INT3 there:
# the guest later executes an INT3 that memory no longer holds, the kernel's
# INT3 handler does not own it, and the guest dies with "Oops: int3" in
# whatever function was patched (__schedule, when a program attaches to
# sched_switch). Seen in a CI run of test_progs/cgroup_put_rq_lock and
# reproduced without BPF by scripts/guest-text-poke-stress.sh (the README
# has the numbers); QEMU 10.0 did not show it.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

QEMU_MIN_VERSION=${QEMU_MIN_VERSION:-10.0}

qemu_version() { # qemu_version BINARY: "10.0.2"
	"$1" --version 2>/dev/null | sed -n '1s/^QEMU emulator version \([0-9][0-9.]*\).*/\1/p'
}

at_least() { # at_least VERSION MIN
	[ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -1)" = "$2" ]
}

if [ -n "${QEMU:-}" ]; then
	[ -x "$QEMU" ] || die "QEMU=$QEMU is not an executable"
	echo "$QEMU"
	exit 0
fi

system=$(command -v qemu-system-x86_64 || true)
if [ -n "$system" ]; then
	v=$(qemu_version "$system")
	if [ -n "$v" ] && at_least "$v" "$QEMU_MIN_VERSION"; then
		echo "$system"
		exit 0
	fi
fi

codename=$(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")
suite=${QEMU_DEB_SUITE:-${codename:+$codename-backports}}
[ -n "$suite" ] || die "no QEMU >= $QEMU_MIN_VERSION: set QEMU=<qemu-system-x86_64> or QEMU_DEB_SUITE=<Debian suite>"
dir=$VMTEST_CACHE/qemu/$suite
wrapper=$dir/qemu-system-x86_64
mkdir -p "$VMTEST_CACHE"
exec 8>"$VMTEST_CACHE/qemu.lock"
flock 8 # a concurrent run waits for the fetch instead of unpacking over it
if [ ! -x "$wrapper" ]; then
	rm -rf "$dir"
	apt_download "$suite" "$dir/dl" qemu-system-x86 qemu-system-data seabios
	for deb in "$dir"/dl/*.deb; do
		dpkg-deb -x "$deb" "$dir/root" || die "cannot unpack $deb"
	done
	bin=$dir/root/usr/bin/qemu-system-x86_64
	v=$(qemu_version "$bin")
	[ -n "$v" ] || die "QEMU from $suite does not run here (missing libraries?): $(ldd "$bin" 2>&1 | grep 'not found' | head -3 | tr '\n' ' ')"
	at_least "$v" "$QEMU_MIN_VERSION" || die "$suite has QEMU $v, older than $QEMU_MIN_VERSION: set QEMU= or QEMU_DEB_SUITE="
	# Firmware and option ROMs from the same packages, not the system's;
	# no modules (the system's belong to its own QEMU, and none is needed).
	mkdir -p "$dir/no-modules"
	cat >"$wrapper.tmp" <<EOF
#!/bin/sh
# QEMU $v from Debian $suite, fetched by scripts/fetch-qemu.sh
export QEMU_MODULE_DIR='$dir/no-modules'
exec '$bin' -L '$dir/root/usr/share/qemu' -L '$dir/root/usr/share/seabios' "\$@"
EOF
	chmod +x "$wrapper.tmp"
	mv "$wrapper.tmp" "$wrapper"
	note "QEMU $v from $suite: $wrapper"
fi
echo "$wrapper"
