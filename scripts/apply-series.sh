#!/usr/bin/env bash
# apply-series.sh REPO VARIANT
#
# Print the commit that VARIANT builds: "base" is the tag vmtest-base,
# "patched" is the kernel patches of the series in patches/ applied with git
# am, "mutant-NAME" is those plus patches/mutants/NAME.patch, "git-REF" is
# the kernel patches that patches/ held at this repository's commit REF (an
# earlier version of the series, e.g. v1 for benchmarks). Every variant
# then gets this repository's tests put where they live upstream, as the
# series' selftests commits (scripts/selftests-commits.sh), so base and
# patched run the same tests. The selftests patches in patches/ are those
# same commits exported (scripts/series.sh export) and are not applied here. Applying
# happens in a scratch worktree and the result is remembered by content, so
# the same input always yields the same commit and nothing is reapplied
# when nothing changed.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

repo=$1 variant=$2
srcdir=$(dirname "$repo")
base=$(git -C "$repo" rev-parse vmtest-base^{commit})

series_files() {
	local dir=${1:-$VMTEST_ROOT/patches} f
	for f in $(ls "$dir"/*.patch 2>/dev/null | grep -v -- '-cover-letter\.patch$'); do
		# selftests patches: generated from progs/ and prog_tests/, which
		# the overlay commit brings in directly.
		grep -qE '^Subject: (\[[^]]*\] )?selftests/' "$f" || echo "$f"
	done
}

patches=()
case "$variant" in
base) ;;
patched) mapfile -t patches < <(series_files) ;;
mutant-*)
	name=${variant#mutant-}
	mapfile -t patches < <(series_files)
	# Exactly patches/mutants/NAME.patch: a prefix must not pick up others.
	[ -f "$VMTEST_ROOT/patches/mutants/$name.patch" ] ||
		die "no mutant '$name' in patches/mutants/ (have: $(cd "$VMTEST_ROOT/patches/mutants" && ls ./*.patch | sed 's|^./||; s|\.patch$||' | tr '\n' ' '))"
	patches+=("$VMTEST_ROOT/patches/mutants/$name.patch")
	;;
git-*)
	ref=${variant#git-}
	[[ $ref =~ ^[0-9A-Za-z][0-9A-Za-z._-]*$ ]] ||
		die "kernel variant '$variant': REF must be a commit or a tag without '/'"
	git -C "$VMTEST_ROOT" rev-parse -q --verify "$ref^{commit}" >/dev/null ||
		die "kernel variant '$variant': '$ref' is not a commit of $VMTEST_ROOT"
	old=$(mktemp -d)
	trap 'rm -rf "$old"' EXIT
	git -C "$VMTEST_ROOT" archive "$ref" patches | tar -x -C "$old" ||
		die "kernel variant '$variant': cannot read patches/ at $ref"
	mapfile -t patches < <(series_files "$old/patches")
	[ ${#patches[@]} -gt 0 ] || die "kernel variant '$variant': no kernel patches in patches/ at $ref"
	;;
*) die "unknown kernel variant '$variant' (base, patched, mutant-NAME, git-REF)" ;;
esac

for p in "${patches[@]}"; do [ -f "$p" ] || die "series lists $p, which does not exist"; done

overlay_input() {
	cat "$VMTEST_ROOT"/scripts/{overlay-selftests,overlay-bench,selftests-commits}.sh
	(cd "$VMTEST_ROOT" && find progs prog_tests bench selftests/commits -type f | sort | xargs cat)
}
key=$( (echo "$base"; cat "${patches[@]}"; overlay_input) | sha1sum | cut -c1-16)
mkdir -p "$srcdir/applied"
if [ -f "$srcdir/applied/$key" ] &&
	git -C "$repo" cat-file -e "$(cat "$srcdir/applied/$key")^{commit}" 2>/dev/null; then
	cat "$srcdir/applied/$key"
	exit 0
fi

wt=$srcdir/apply
if [ ! -d "$wt" ]; then
	git -C "$repo" worktree prune
	git -C "$repo" worktree add -q --detach "$wt" "$base" >&2
fi
git -C "$wt" am --abort >/dev/null 2>&1 || true
git -C "$wt" checkout -q -f --detach "$base"
git -C "$wt" clean -q -fdx

for p in "${patches[@]}"; do
	if ! out=$(GIT_COMMITTER_NAME=vmtest GIT_COMMITTER_EMAIL=vmtest@localhost \
		git -C "$wt" am -q --committer-date-is-author-date "$p" 2>&1); then
		git -C "$wt" am --abort >/dev/null 2>&1 || true
		echo "$out" | grep -E '^(error|fatal|Patch failed|Applying)' | sed 's/^/vmtest:   /' >&2
		die "patch does not apply: ${p#"$VMTEST_ROOT"/} (on $(git -C "$repo" log -1 --format='%h %s' "$base"))"
	fi
done
"$VMTEST_ROOT/scripts/selftests-commits.sh" "$wt"
commit=$(git -C "$wt" rev-parse HEAD)
echo "$commit" >"$srcdir/applied/$key"
echo "$commit"
