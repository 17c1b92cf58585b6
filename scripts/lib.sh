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

# The machine's own Debian mirror, read from its apt configuration.
debian_mirror() {
	apt-get indextargets --format '$(REPO_URI) $(ORIGIN) $(LABEL)' 2>/dev/null |
		awk '$2 == "Debian" && $3 == "Debian" { print $1; exit }'
}

# apt_download SUITE DIR ALTERNATIVE PKG...: download the .debs of PKG...
# from SUITE of the machine's Debian mirror (or $DEBIAN_MIRROR) into DIR,
# with a private apt state in $VMTEST_CACHE/apt/SUITE: the system's apt
# config and lists are untouched. ALTERNATIVE: what the caller's user can
# set instead of a mirror, for the error message.
apt_download() {
	local suite=$1 dir=$2 alt=$3 apt=$VMTEST_CACHE/apt/$1 mirror keyring
	shift 3
	need_cmd apt-get dpkg-deb
	# DEBIAN_MIRROR: a Debian archive URL for hosts whose apt has none
	# (Ubuntu, say, has no trixie-backports suite).
	mirror=${DEBIAN_MIRROR:-$(debian_mirror)}
	[ -n "$mirror" ] || die "no Debian mirror in this machine's apt configuration (an apt origin and label \"Debian\"): set DEBIAN_MIRROR=<Debian archive URL>, or $alt"
	keyring=${DEBIAN_KEYRING:-/usr/share/keyrings/debian-archive-keyring.gpg}
	[ -f "$keyring" ] || die "no Debian archive keyring at $keyring (install debian-archive-keyring, or set DEBIAN_KEYRING)"
	mkdir -p "$apt/lists/partial" "$apt/archives/partial" "$apt/parts" "$dir"
	echo "deb [signed-by=$keyring] $mirror $suite main" >"$apt/sources.list"
	local aptopts=(-o "Dir::Etc::SourceList=$apt/sources.list"
		-o "Dir::Etc::SourceParts=$apt/parts"
		-o "Dir::State::Lists=$apt/lists"
		-o "Dir::Cache=$apt" -o "Dir::Cache::archives=$apt/archives"
		-o "Debug::NoLocking=1" -o "APT::Sandbox::User=root")
	note "fetching $* from $suite (private apt state in $apt)"
	apt-get -qq "${aptopts[@]}" update >&2 || die "apt-get update of $suite failed"
	(cd "$dir" && apt-get -qq "${aptopts[@]}" download "$@" >&2) || die "apt-get download $* from $suite failed"
}

# qemu_version BINARY: its version ("10.0.2"), empty if it does not run
qemu_version() {
	{ "$1" --version 2>/dev/null || true; } | sed -n '1s/^QEMU emulator version \([0-9][0-9.]*\).*/\1/p'
}
