#!/usr/bin/env bash
# mkinitramfs.sh OUT: a busybox initramfs (uncompressed cpio) whose /init is
# scripts/guest-init.sh. Test binaries are not in it: they come over 9p.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

out=$1
busybox=${BUSYBOX:-/bin/busybox}
[ -x "$busybox" ] || die "no static busybox at $busybox (install busybox-static)"
# Debian's "busybox" package is dynamically linked: as /init it would find
# no libraries before /usr is mounted.
if readelf -l "$busybox" 2>/dev/null | grep -q 'Requesting program interpreter'; then
	die "$busybox is dynamically linked; /init needs a static one (install busybox-static, or set BUSYBOX=)"
fi
need_cmd cpio
if [ -f "$out" ] && [ "$out" -nt "$VMTEST_ROOT/scripts/guest-init.sh" ] && [ "$out" -nt "$busybox" ] &&
	[ "$out" -nt "$0" ]; then
	exit 0
fi
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,run,etc,vmtest}
cp "$busybox" "$root/bin/busybox"
ln -s busybox "$root/bin/sh" # /init's interpreter, before it installs the rest
# The host's /usr is mounted over /usr (vmtest.sh): dynamically linked
# programs find their loader and libraries through these, as on a merged-/usr host.
ln -s usr/lib "$root/lib"
ln -s usr/lib64 "$root/lib64"
install -m 755 "$VMTEST_ROOT/scripts/guest-init.sh" "$root/init"
echo "root:x:0:0:root:/root:/bin/sh" >"$root/etc/passwd"
echo "root:x:0:" >"$root/etc/group"
(cd "$root" && find . | cpio -o -H newc --quiet >"$out.tmp")
mv "$out.tmp" "$out"
