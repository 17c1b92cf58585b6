#!/usr/bin/env bash
# series.sh: work on the patch series as git commits.
#
#   scripts/series.sh checkout   make/refresh a dev worktree (branch "series")
#                                with patches/ applied; prints its path
#   scripts/series.sh export     write the commits of that branch back to
#                                patches/ (format-patch, v1, with the cover
#                                letter's subject and body kept)
#   scripts/series.sh check      checkpatch --strict on patches/, and build
#                                every prefix of the series (bisectability)
set -euo pipefail
. "$(dirname "$0")/lib.sh"

repo=$("$VMTEST_ROOT/scripts/fetch-kernel.sh")
srcdir=$(dirname "$repo")
dev=${SERIES_DEV:-$srcdir/dev}
pdir=$VMTEST_ROOT/patches
cover=$pdir/0000-cover-letter.patch

case "${1:-}" in
checkout)
	[ -d "$dev" ] || git -C "$repo" worktree add -q --detach "$dev" vmtest-base >&2
	git -C "$dev" checkout -q -f -B series vmtest-base
	ls "$pdir"/*.patch 2>/dev/null | grep -v cover-letter | xargs -r git -C "$dev" am -q
	echo "$dev"
	;;
export)
	old_subject= old_body=
	if [ -f "$cover" ]; then
		old_subject=$(sed -n 's/^Subject: \[PATCH[^]]*\] //p' "$cover")
		old_body=$(awk '/^$/ && !b {b=1; next} b && /^---?$|^[A-Z].* \([0-9]+\):$/ {exit} b' "$cover")
	fi
	rm -f "$pdir"/[0-9][0-9][0-9][0-9]-*.patch
	git -C "$dev" -c user.name="${SERIES_AUTHOR_NAME:-BPF Storage Defer}" \
		-c user.email="${SERIES_AUTHOR_EMAIL:-bpf-storage-defer@example.org}" format-patch -q --cover-letter --subject-prefix="PATCH bpf-next" \
		--no-signature --zero-commit -o "$pdir" vmtest-base..series
	if [ -n "$old_subject" ]; then
		python3 - "$cover" "$old_subject" "$old_body" <<'PY'
import sys
path, subject, body = sys.argv[1:4]
s = open(path).read()
s = s.replace("*** SUBJECT HERE ***", subject, 1)
s = s.replace("*** BLURB HERE ***", body.strip("\n"), 1)
open(path, "w").write(s)
PY
	fi
	ls "$pdir"/*.patch
	;;
check)
	cp=$repo/scripts/checkpatch.pl
	# checkpatch prints nothing for committed patches inside a git work tree
	(cd / && perl "$cp" --strict --no-tree --show-types "$pdir"/0*.patch) || true
	;;
*)
	sed -n '2,12p' "$0" >&2
	exit 2
	;;
esac
