# Shared helpers for the vmtest scripts. Source it; do not run it.

VMTEST_ROOT=${VMTEST_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
VMTEST_CACHE=${VMTEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/bpf-storage-defer}

die() {
	echo "vmtest: error: $*" >&2
	exit 1
}

note() {
	echo "vmtest: $*" >&2
}

# phase NAME CMD...: run CMD and print how long it took.
phase() {
	local name=$1 start rc
	shift
	start=$(date +%s.%N)
	note "[$name] ..."
	"$@" && rc=0 || rc=$?
	printf 'vmtest: [%s] %s in %.1fs\n' "$name" "$([ $rc -eq 0 ] && echo done || echo FAILED)" \
		"$(echo "$(date +%s.%N) - $start" | bc)" >&2
	[ -n "${VMTEST_TIMES:-}" ] && printf '%s %.1f %d\n' "$name" "$(echo "$(date +%s.%N) - $start" | bc)" $rc >>"$VMTEST_TIMES"
	return $rc
}

need_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 ||
			die "missing tool '$c' (run scripts/install-deps.sh)"
	done
}

# The clang that builds BPF programs: $CLANG, else the newest versioned
# clang-N on PATH (Debian installs clang-19 as clang-19, not clang). Its
# LLVM tools carry the same suffix (llvm-strip-19, llc-19).
pick_clang() {
	if [ -n "${CLANG:-}" ]; then
		echo "$CLANG"
		return
	fi
	local c
	c=$(compgen -c clang- | grep -E '^clang-[0-9]+$' | sort -t- -k2 -n | tail -1)
	[ -n "$c" ] || c=clang
	command -v "$c" >/dev/null 2>&1 || die "no clang found (set CLANG= or run scripts/install-deps.sh)"
	echo "$c"
}
