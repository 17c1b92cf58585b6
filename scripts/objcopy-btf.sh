#!/usr/bin/env bash
# objcopy-btf.sh VMLINUX OUT: extract the raw .BTF section of VMLINUX.
# OUT is replaced only when its content changes: the selftests build
# regenerates vmlinux.h (and so every BPF object) when OUT gets newer.
set -euo pipefail
objcopy --dump-section .BTF="$2.tmp" "$1" /dev/null 2>/dev/null || objcopy --dump-section .BTF="$2.tmp" "$1" "$2.elf.tmp"
rm -f "$2.elf.tmp"
[ -s "$2.tmp" ] || { echo "vmtest: error: $1 has no .BTF section" >&2; exit 1; }
if cmp -s "$2.tmp" "$2"; then rm -f "$2.tmp"; else mv "$2.tmp" "$2"; fi
