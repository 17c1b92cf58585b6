#!/usr/bin/env bash
# Print the path of the qemu-system-x86_64 that runs the guests under TCG.
#
#   QEMU=/path         use that one (a name is looked up in PATH)
#   default            the system's, if it is QEMU $QEMU_MIN_VERSION or newer;
#                      else, on Debian, QEMU from $QEMU_DEB_SUITE (default:
#                      this release's backports), fetched by package name with
#                      apt into $VMTEST_CACHE/qemu (private apt state; nothing
#                      is installed on the system)
#
# Why not any QEMU: under multi-threaded TCG (what run-vm.sh uses when KVM
# does not boot), QEMU 7.2 can keep running a translation of kernel text
# made while text_poke_bp() had an INT3 there: the guest later executes an
# INT3 that memory no longer holds, the kernel's INT3 handler does not own
# it, and the guest dies with "Oops: int3" in the patched function
# (__schedule, when a program attaches to sched_switch). Seen in a CI run of
# test_progs/cgroup_put_rq_lock, and reproduced with no BPF at all by
# scripts/guest-text-poke-stress.sh (the README has the numbers); QEMU 10.0
# did not show it.
#
# The fetched QEMU uses the shared libraries of the system's QEMU package
# (scripts/install-deps.sh installs qemu-system-x86, which pulls them in).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

QEMU_MIN_VERSION=${QEMU_MIN_VERSION:-10.0}

# new_enough BINARY: it runs and is QEMU $QEMU_MIN_VERSION or newer
new_enough() {
	local v
	v=$(qemu_version "$1")
	[ -n "$v" ] && [ "$(printf '%s\n%s\n' "$QEMU_MIN_VERSION" "$v" | sort -V | head -1)" = "$QEMU_MIN_VERSION" ]
}

if [ -n "${QEMU:-}" ]; then
	command -v "$QEMU" || die "QEMU=$QEMU is not an executable"
	exit 0
fi

system=$(command -v qemu-system-x86_64 || true)
if [ -n "$system" ] && new_enough "$system"; then
	echo "$system"
	exit 0
fi

suite=${QEMU_DEB_SUITE:-}
if [ -z "$suite" ] && grep -qx 'ID=debian' /etc/os-release 2>/dev/null; then
	suite=$(sed -n 's/^VERSION_CODENAME=//p' /etc/os-release)
	suite=${suite:+$suite-backports}
fi
if [ -z "$suite" ]; then
	if [ -z "$system" ]; then
		why="no qemu-system-x86_64"
	elif [ -z "$(qemu_version "$system")" ]; then
		why="$system does not run"
	else
		why="QEMU $(qemu_version "$system") is older than $QEMU_MIN_VERSION (its multi-threaded TCG runs stale kernel text)"
	fi
	die "$why: set QEMU=<qemu-system-x86_64 $QEMU_MIN_VERSION or newer> or QEMU_DEB_SUITE=<Debian suite>"
fi
[[ $suite =~ ^[a-z0-9][a-z0-9.-]*$ ]] || die "QEMU_DEB_SUITE=$suite is not a suite name"

dir=$VMTEST_CACHE/qemu/$suite
wrapper=$dir/qemu-system-x86_64
mkdir -p "$VMTEST_CACHE"
exec 8>"$VMTEST_CACHE/qemu.lock"
flock 8 # a concurrent run waits for the fetch instead of unpacking over it
# A cached one is checked again: it must still run, and still be new enough.
if [ -x "$wrapper" ] && new_enough "$wrapper"; then
	echo "$wrapper"
	exit 0
fi
rm -rf "$dir"
apt_download "$suite" "$dir/dl" "QEMU=<qemu-system-x86_64 $QEMU_MIN_VERSION or newer>" \
	qemu-system-x86 qemu-system-data seabios
for deb in "$dir"/dl/*.deb; do
	dpkg-deb -x "$deb" "$dir/root" || die "cannot unpack $deb"
done
# Its own firmware and option ROMs, not the system's. (Modules: QEMU looks
# for them next to its binary, so it never loads the system QEMU's; TCG is
# built in and this harness needs none.)
cat >"$wrapper" <<'EOF'
#!/bin/sh
# QEMU from Debian packages, unpacked by scripts/fetch-qemu.sh
d=$(dirname "$0")
exec "$d/root/usr/bin/qemu-system-x86_64" -L "$d/root/usr/share/qemu" -L "$d/root/usr/share/seabios" "$@"
EOF
chmod +x "$wrapper"
v=$(qemu_version "$wrapper")
if [ -z "$v" ]; then
	missing=$({ ldd "$dir/root/usr/bin/qemu-system-x86_64" 2>&1 || true; } | { grep 'not found' || true; } | head -3 | tr '\n' ' ')
	rm -f "$wrapper"
	die "QEMU from $suite does not run here${missing:+ (missing: $missing)}: set QEMU= or QEMU_DEB_SUITE="
fi
if ! new_enough "$wrapper"; then
	rm -f "$wrapper"
	die "$suite has QEMU $v, older than $QEMU_MIN_VERSION: set QEMU= or QEMU_DEB_SUITE="
fi
note "QEMU $v from $suite: $wrapper"
echo "$wrapper"
