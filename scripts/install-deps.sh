#!/usr/bin/env bash
# Install the host packages vmtest.sh needs, with apt, only when missing.
# Safe to run repeatedly: it is a no-op when everything is present.
set -euo pipefail

# package:command-or-file that proves it is installed
DEPS=(
	"build-essential:/usr/bin/gcc"
	"make:/usr/bin/make"
	"bc:/usr/bin/bc"
	"bison:/usr/bin/bison"
	"flex:/usr/bin/flex"
	"libelf-dev:/usr/include/libelf.h"
	"libssl-dev:/usr/include/openssl/ssl.h"
	"zlib1g-dev:/usr/include/zlib.h"
	"libzstd-dev:/usr/include/zstd.h"
	"libcap-dev:/usr/include/sys/capability.h"
	"pahole:/usr/bin/pahole"
	"clang-19:/usr/bin/clang-19"
	"llvm-19:/usr/bin/llvm-strip-19"
	"lld-19:/usr/bin/ld.lld-19"
	# selftests/bpf links the LLVM disassembler in (tests that check JIT output).
	"llvm-19-dev:/usr/lib/llvm-19/include/llvm-c/Disassembler.h"
	"qemu-system-x86:/usr/bin/qemu-system-x86_64"
	"busybox-static:/bin/busybox"
	"cpio:/usr/bin/cpio"
	"ccache:/usr/bin/ccache"
	"python3:/usr/bin/python3"
	"git:/usr/bin/git"
	"xz-utils:/usr/bin/xz"
	"rsync:/usr/bin/rsync"
	"gnuplot-nox:/usr/bin/gnuplot"
	"binutils:/usr/bin/objdump"
	"kmod:/sbin/depmod"
	"perl:/usr/bin/perl"
	# scripts/series.sh send: git send-email and the Perl modules Debian
	# only recommends (we install without recommends); TLS and SMTP AUTH
	# for a real send. python3-aiosmtpd: the SMTP server of its test.
	"git-email:/usr/lib/git-core/git-send-email"
	"libmailtools-perl:/usr/share/perl5/Mail/Address.pm"
	"libio-socket-ssl-perl:/usr/share/perl5/IO/Socket/SSL.pm"
	"libnet-smtp-ssl-perl:/usr/share/perl5/Net/SMTP/SSL.pm"
	"libauthen-sasl-perl:/usr/share/perl5/Authen/SASL.pm"
	"python3-aiosmtpd:/usr/lib/python3/dist-packages/aiosmtpd/__init__.py"
)

missing=()
for d in "${DEPS[@]}"; do
	pkg=${d%%:*}
	path=${d#*:}
	[ -e "$path" ] || missing+=("$pkg")
done

if [ ${#missing[@]} -eq 0 ]; then
	echo "install-deps: all host dependencies present"
	exit 0
fi

echo "install-deps: installing: ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		SUDO=sudo
	else
		echo "install-deps: error: missing packages (${missing[*]}) and not root; install them and rerun" >&2
		exit 1
	fi
fi
export DEBIAN_FRONTEND=noninteractive
${SUDO:-} apt-get update -qq || { echo "install-deps: error: apt-get update failed" >&2; exit 1; }
${SUDO:-} apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
	{ echo "install-deps: error: apt-get install ${missing[*]} failed" >&2; exit 1; }
echo "install-deps: done"
