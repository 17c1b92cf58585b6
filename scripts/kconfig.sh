#!/usr/bin/env bash
# kconfig.sh TREE BUILD_DIR FRAGMENT...
#
# Make BUILD_DIR/.config from allnoconfig plus the fragments, then check that
# every option a fragment asks for really ended up set (a missing dependency
# silently drops an option otherwise). .config is only replaced when its
# content changes, so an unchanged config never triggers a rebuild.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

tree=$1 build=$2
shift 2
mkdir -p "$build"
merged=$build/vmtest-fragments.config
cat "$@" >"$merged"

cand=$build/.config.vmtest
rm -f "$cand"
make -s -C "$tree" O="$build" KCONFIG_CONFIG="$cand" KCONFIG_ALLCONFIG="$merged" \
	allnoconfig >"$build/kconfig.log" 2>&1 ||
	{ cat "$build/kconfig.log" >&2; die "allnoconfig failed in $build"; }
make -s -C "$tree" O="$build" KCONFIG_CONFIG="$cand" olddefconfig >>"$build/kconfig.log" 2>&1 ||
	{ cat "$build/kconfig.log" >&2; die "olddefconfig failed in $build"; }

# A later fragment may change what an earlier one asked for (the build
# matrix turns options off): only the last setting of each option counts,
# as with the tree's scripts/kconfig/merge_config.sh.
last_setting() {
	awk '{ opt = /^#/ ? $2 : substr($0, 1, index($0, "=") - 1) }
	     !(opt in last) { order[++n] = opt }
	     { last[opt] = $0 }
	     END { for (i = 1; i <= n; i++) print last[order[i]] }'
}

missing=()
while IFS= read -r line; do
	case "$line" in
	CONFIG_*=*)
		grep -qxF "$line" "$cand" || missing+=("$line (got: $(grep -E "^(# )?${line%%=*}[= ]" "$cand" || echo unset))")
		;;
	"# CONFIG_"*" is not set")
		opt=${line#\# }
		opt=${opt%% *}
		grep -q "^$opt=" "$cand" && missing+=("$line (got: $(grep "^$opt=" "$cand"))")
		;;
	esac
done < <(grep -hE '^(CONFIG_|# CONFIG_.* is not set)' "$@" | last_setting)

if [ ${#missing[@]} -gt 0 ]; then
	printf 'vmtest: error: config option not set as asked: %s\n' "${missing[@]}" >&2
	die "kernel config is missing ${#missing[@]} requested option(s) (a dependency is probably not enabled)"
fi

if ! cmp -s "$cand" "$build/.config"; then
	mv "$cand" "$build/.config"
	note "kernel config updated ($build/.config)"
else
	rm -f "$cand"
fi
