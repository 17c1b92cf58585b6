#!/bin/sh
# /init of the vmtest initramfs (busybox). Mounts what BPF tests need, the
# host's 9p shares, runs /vmtest/cmd.sh and powers off. The host reads the
# markers VMTEST_BOOTED and VMTEST_EXIT=<status> from the serial console.
/bin/busybox --install -s /bin
export PATH=/bin:/sbin:/usr/bin:/usr/sbin

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm /tmp /run /vmtest
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /dev/shm
mount -t debugfs debugfs /sys/kernel/debug
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
mount -t bpf bpf /sys/fs/bpf
mount -t cgroup2 cgroup2 /sys/fs/cgroup
ln -sf /proc/self/fd /dev/fd
hostname vmtest
# Loopback up: tests start servers on 127.0.0.1 / ::1.
ip link set lo up 2>/dev/null || ifconfig lo 127.0.0.1 up

mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144,cache=none vmtest /vmtest ||
	{ echo "VMTEST_ERROR: cannot mount the vmtest share"; echo "VMTEST_EXIT=125"; poweroff -f; }
# Extra read-only shares asked for with --share: "tag guest-path" per line.
# cache=loose: the guest keeps what it read. Every test_progs run execs a
# 48 MB PIE (LLVM linked in) whose startup touches much of it; with no
# cache each run read it again over 9p: 18 s of a 20 s run under TCG.
# These shares are read-only and the host does not change them during a run.
if [ -f /vmtest/shares ]; then
	while read -r tag path; do
		mkdir -p "$path" && mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144,ro,cache=loose "$tag" "$path" ||
			echo "VMTEST_ERROR: cannot mount share $tag at $path"
	done </vmtest/shares
fi

# Tests exec /bin/bash (test_bprm_opts); the host's, from the /usr share.
[ -e /bin/bash ] || [ ! -x /usr/bin/bash ] || ln -s /usr/bin/bash /bin/bash
# test_local_storage copies /bin/rm to copy_of_rm and runs the copy: a
# busybox applet link would copy busybox, which knows no applet of that
# name (exit 127). The host's coreutils rm works under any name.
[ ! -x /usr/bin/rm ] || ln -sf /usr/bin/rm /bin/rm

# ttyS1 is the control channel to the host (NMI injection requests).
[ -c /dev/ttyS1 ] && stty -F /dev/ttyS1 raw -echo 2>/dev/null

echo "VMTEST_BOOTED cpus=$(grep -c ^processor /proc/cpuinfo) kernel=$(uname -r)"
cd /vmtest
sh /vmtest/cmd.sh
rc=$?
echo "VMTEST_EXIT=$rc"
echo "$rc" >/vmtest/out/exit-status 2>/dev/null
sync
poweroff -f
