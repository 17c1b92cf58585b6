#!/usr/bin/env bash
# objcopy-btf.sh VMLINUX OUT: extract the raw .BTF section of VMLINUX.
set -euo pipefail
objcopy -O binary --only-section=.BTF --set-section-flags .BTF=alloc "$1" "$2.tmp"
[ -s "$2.tmp" ] || { echo "vmtest: error: $1 has no .BTF section" >&2; exit 1; }
mv "$2.tmp" "$2"
