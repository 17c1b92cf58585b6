#!/usr/bin/env bash
# series.sh: work on the patch series as git commits.
#
#   scripts/series.sh checkout   make/refresh a dev worktree (branch "series")
#                                with the kernel patches of patches/ applied and
#                                the selftests commits made from progs/ and
#                                prog_tests/ on top; prints its path. Edit the
#                                tests in this repository, not there.
#   scripts/series.sh export     write the commits of that branch back to
#                                patches/ (format-patch --base, with the cover
#                                letter's subject and body kept, and the
#                                credits and links of scripts/series-trailers)
#   scripts/series.sh send [--send] [-v N] [--base REF] [--dir DIR] [--verbose]
#                          [-- GIT-SEND-EMAIL-ARGS]
#                                mail the series (default patches/) with
#                                git send-email: To bpf@vger, Cc from the base
#                                tree's get_maintainer.pl per patch, the cover
#                                letter Cc'd to all; the author and sign-off
#                                are yours (git config user.* or
#                                SERIES_AUTHOR_NAME/SERIES_AUTHOR_EMAIL).
#                                A dry run unless --send, which also needs
#                                your sendemail.smtpServer configuration.
#   scripts/series.sh check      checkpatch --strict on patches/ (less what
#                                scripts/checkpatch-accepted lists), and build
#                                every prefix of the series (bisectability):
#                                the objects the series touches and the users
#                                of the headers it changes (BISECT_TARGETS),
#                                or the whole kernel with BISECT_FULL=1.
#                                Then links every prefix under each config of
#                                the build matrix (scripts/series-matrix.sh:
#                                JIT off, cgroups off, PREEMPT_RT, UP;
#                                SERIES_MATRIX=none skips it).
#                                Fails on any checkpatch report, build error
#                                or compiler warning.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

# SERIES_KERNEL_REPO: an already fetched base tree (tests; skips fetching).
repo=${SERIES_KERNEL_REPO:-$("$VMTEST_ROOT/scripts/fetch-kernel.sh")}
srcdir=$(dirname "$repo")
dev=${SERIES_DEV:-$srcdir/dev}
pdir=$VMTEST_ROOT/patches
cover=$pdir/0000-cover-letter.patch

case "${1:-}" in
checkout)
	[ -d "$dev" ] || git -C "$repo" worktree add -q --detach "$dev" vmtest-base >&2
	git -C "$dev" checkout -q -f -B series vmtest-base
	# The kernel patches; the selftests patches are made anew from progs/
	# and prog_tests/, the one source of the tests.
	for p in $(ls "$pdir"/*.patch 2>/dev/null | grep -v cover-letter); do
		grep -qE '^Subject: (\[[^]]*\] )?selftests/' "$p" || git -C "$dev" am -q "$p"
	done
	"$VMTEST_ROOT/scripts/selftests-commits.sh" "$dev"
	echo "$dev"
	;;
export)
	old_subject= old_body=
	if [ -f "$cover" ]; then
		# The subject may be folded over several header lines.
		old_subject=$(python3 -c 'import email,sys; m=email.message_from_file(open(sys.argv[1])); print(" ".join(m["Subject"].split("] ",1)[1].split()))' "$cover")
		# Keep the version (v2, ...) unless SERIES_VERSION says otherwise.
		: "${SERIES_VERSION:=$(sed -n 's/^Subject: \[PATCH bpf-next v\([0-9]*\) .*/\1/p' "$cover")}"
		old_body=$(awk '/^$/ && !b {b=1; next} b && /^---?$|^[A-Z].* \([0-9]+\):$/ {exit} b' "$cover")
	fi
	# Per-patch changelogs (after the sign-off's ---): git am dropped them.
	logs=$(mktemp)
	python3 "$VMTEST_ROOT/scripts/series-changelogs.py" save "$pdir" "$logs"
	rm -f "$pdir"/[0-9][0-9][0-9][0-9]-*.patch
	git -C "$dev" -c user.name="${SERIES_AUTHOR_NAME:-BPF Storage Defer}" \
		-c user.email="${SERIES_AUTHOR_EMAIL:-bpf-storage-defer@example.org}" format-patch -q --cover-letter --subject-prefix="PATCH bpf-next${SERIES_VERSION:+ v$SERIES_VERSION}" \
		--no-signature --zero-commit --base=vmtest-base -o "$pdir" vmtest-base..series
	python3 "$VMTEST_ROOT/scripts/series-changelogs.py" restore "$logs" "$pdir"
	rm -f "$logs"
	# Credits and links (Suggested-by:, Link:) from scripts/series-trailers.
	python3 "$VMTEST_ROOT/scripts/series-send.py" trailers "$pdir"/[0-9][0-9][0-9][0-9]-*.patch
	if [ -n "$old_subject" ]; then
		python3 - "$cover" "$old_subject" "$old_body" <<'PY'
import sys
path, subject, body = sys.argv[1:4]
s = open(path).read()
s = s.replace("*** SUBJECT HERE ***", subject, 1)
s = s.replace("*** BLURB HERE ***", body.strip("\n"), 1)
# The diffstat's " create mode 100644 <path>" lines run past 75 columns
# (checkpatch: COMMIT_LOG_LONG_LINE) and repeat what the patches say.
s = "".join(l for l in s.splitlines(True) if not l.startswith(" create mode "))
open(path, "w").write(s)
PY
	fi
	ls "$pdir"/*.patch
	;;
check)
	rc=0
	# checkpatch prints nothing for committed patches inside a git work tree:
	# check copies. The cover letter too: its lines are a commit log's
	# (75 columns, commit ids). What checkpatch reports and upstream accepts
	# is listed, with the reason, in scripts/checkpatch-accepted.
	cpdir=$(mktemp -d)
	trap 'rm -rf "$cpdir"' EXIT
	cp "$pdir"/0*.patch "$cpdir/"
	(cd "$cpdir" && perl "$repo/scripts/checkpatch.pl" --strict --no-tree --show-types 0*.patch) |
		python3 "$VMTEST_ROOT/scripts/checkpatch-filter.py" "$VMTEST_ROOT/scripts/checkpatch-accepted" || rc=1

	config=$srcdir/build-debug/.config
	[ -f "$config" ] || die "no debug kernel config yet: run ./vmtest.sh --build-only first"
	patched=$(flock "$srcdir/build.lock" "$VMTEST_ROOT/scripts/apply-series.sh" "$repo" patched)
	tree=$srcdir/bisect build=$srcdir/build-bisect
	git -C "$repo" worktree prune
	[ -d "$tree" ] || git -C "$repo" worktree add -q --detach "$tree" vmtest-base >&2
	mkdir -p "$build"
	cp "$config" "$build/.config"
	make -s -C "$tree" O="$build" olddefconfig
	cc=gcc
	if command -v ccache >/dev/null 2>&1 && [ -z "${VMTEST_NO_CCACHE:-}" ]; then
		export CCACHE_DIR=${CCACHE_DIR:-$VMTEST_CACHE/ccache}
		cc="ccache gcc"
	fi
	# The series changes kernel/bpf/*.c and headers used by cgroups, the
	# percpu refcount, task free and sk storage.
	targets=${BISECT_TARGETS:-kernel/bpf/ kernel/cgroup/ kernel/fork.o lib/percpu-refcount.o net/core/bpf_sk_storage.o}
	[ -n "${BISECT_FULL:-}" ] && targets=bzImage
	for c in $(git -C "$repo" rev-list --reverse "vmtest-base..$patched"); do
		git -C "$tree" checkout -q -f --detach "$c"
		log=$build/bisect-$(git -C "$repo" rev-parse --short "$c").log
		# shellcheck disable=SC2086 # targets is a list
		if make -C "$tree" O="$build" -j"${VMTEST_JOBS:-$(($(nproc) + 1))}" CC="$cc" HOSTCC=gcc $targets >"$log" 2>&1 &&
			! grep -q ' warning: ' "$log"; then
			note "builds: $(git -C "$repo" log -1 --format='%h %s' "$c")"
		else
			note "error: does not build cleanly: $(git -C "$repo" log -1 --format='%h %s' "$c") (log: $log)"
			grep -E ' (error|warning): ' "$log" | head -5 | sed 's/^/vmtest:   /' >&2
			rc=1
		fi
	done
	# The same prefixes linked under the lean configs of the build matrix
	# (JIT off, cgroups off, PREEMPT_RT, UP): scripts/series-matrix.sh.
	if [ "${SERIES_MATRIX:-}" != none ]; then
		"$VMTEST_ROOT/scripts/series-matrix.sh" "$repo" || rc=1
	fi
	exit $rc
	;;
send)
	shift
	# The outgoing copy (identity, version, trailers, Cc) is kept for a look.
	exec python3 "$VMTEST_ROOT/scripts/series-send.py" send --repo "$repo" \
		--stage "${SERIES_OUTGOING:-$VMTEST_CACHE/outgoing}" --cache "$VMTEST_CACHE" "$@"
	;;
*)
	# the comment at the top of this file, without its '#'
	awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0" >&2
	exit 2
	;;
esac
