#!/usr/bin/env bash
# Make a git tree of the base kernel and print its path on stdout.
#
#   KERNEL_SRC=/path         use an existing tree (git or plain directory)
#   KERNEL_GIT=url KERNEL_REF=ref   clone one (needs a network)
#   default                  Debian's linux-source-$KERNEL_DEB_VERSION, fetched
#                            by package name with apt from the mirror this
#                            machine is already configured with, plus the
#                            $KERNEL_DEB_SUITE suite, in a private apt
#                            directory (the system's apt config is untouched).
#
# The result is a git repository at $VMTEST_CACHE/src/<id>/repo whose tag
# "vmtest-base" is the base commit the series is applied to.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

KERNEL_DEB_VERSION=${KERNEL_DEB_VERSION:-7.3}
KERNEL_DEB_SUITE=${KERNEL_DEB_SUITE:-trixie-backports}

git_quiet() { git -c advice.detachedHead=false -c init.defaultBranch=base "$@"; }

commit_base() {
	local repo=$1 msg=$2
	git_quiet -C "$repo" add -A -f .
	# A fixed identity and date: the same tree gives the same commit on
	# every machine, so the base-commit: of patches/ names it everywhere.
	GIT_AUTHOR_DATE='@0 +0000' GIT_COMMITTER_DATE='@0 +0000' \
		git_quiet -C "$repo" -c user.name=vmtest -c user.email=vmtest@localhost \
		commit -q --no-verify -m "$msg"
	git -C "$repo" tag -f vmtest-base >/dev/null
}

fetch_debian() {
	local pkg=linux-source-$KERNEL_DEB_VERSION
	local id=debian-$KERNEL_DEB_VERSION
	local dir=$VMTEST_CACHE/src/$id repo=$VMTEST_CACHE/src/$id/repo
	local deb tarball

	if git -C "$repo" rev-parse -q --verify vmtest-base >/dev/null 2>&1; then
		echo "$repo"
		return
	fi
	need_cmd tar xz git
	rm -rf "$dir/dl"
	apt_download "$KERNEL_DEB_SUITE" "$dir/dl" "KERNEL_SRC=<kernel tree>" "$pkg"
	deb=$(ls "$dir"/dl/*.deb)

	rm -rf "$dir/x" "$repo.tmp"
	mkdir -p "$dir/x" "$repo.tmp"
	dpkg-deb -x "$deb" "$dir/x" || die "cannot unpack $deb"
	tarball=$(ls "$dir"/x/usr/src/linux-source-*.tar.* 2>/dev/null | head -1)
	[ -n "$tarball" ] || die "$deb holds no kernel tarball"
	note "unpacking $(basename "$tarball")"
	tar -xf "$tarball" -C "$repo.tmp" --strip-components=1 || die "cannot unpack $tarball"
	rm -rf "$dir/x"

	# Debian's tarball ships a .gitignore whose first stanza ignores the
	# whole top level (it is meant for the packaging repository). Drop
	# that stanza so git sees the source tree.
	python3 - "$repo.tmp/.gitignore" <<'PY'
import re, sys
path = sys.argv[1]
text = open(path).read()
# A stanza is a block of lines separated by blank lines; drop every stanza
# holding a pattern that matches everything at the top level.
stanzas = re.split(r'\n\s*\n', text)
keep = [s for s in stanzas
        if not any(l.strip() in ('/*', '*', '/*/') for l in s.splitlines())]
open(path, 'w').write('\n\n'.join(keep).rstrip('\n') + '\n')
PY
	git_quiet init -q "$repo.tmp"
	commit_base "$repo.tmp" "Linux $(make -s -C "$repo.tmp" kernelversion 2>/dev/null) ($pkg from Debian $KERNEL_DEB_SUITE)"
	local n
	n=$(git -C "$repo.tmp" ls-files | wc -l)
	[ "$n" -gt 50000 ] || die "base commit has only $n files: .gitignore stanza not stripped?"
	mv "$repo.tmp" "$repo"
	echo "$repo"
}

fetch_src() {
	local src id repo
	src=$(cd "$KERNEL_SRC" 2>/dev/null && pwd) || die "KERNEL_SRC=$KERNEL_SRC is not a directory"
	[ -f "$src/Makefile" ] && [ -d "$src/kernel/bpf" ] || die "KERNEL_SRC=$src is not a kernel tree"
	id=src-$(echo "$src" | sha1sum | cut -c1-12)
	repo=$VMTEST_CACHE/src/$id/repo
	mkdir -p "$(dirname "$repo")"
	if git -C "$src" rev-parse --git-dir >/dev/null 2>&1; then
		# A git tree: share its objects, never touch its work tree.
		local rev
		if [ -n "${KERNEL_REF:-}" ]; then
			rev=$(git -C "$src" rev-parse "$KERNEL_REF^{commit}") || die "KERNEL_SRC: no commit $KERNEL_REF"
		else
			# HEAD plus uncommitted changes to tracked files, as a commit
			# object that touches neither the work tree nor any ref. A fixed
			# identity and date make the same changes give the same commit
			# on every run (so the build caches hit).
			rev=$(GIT_AUTHOR_NAME=vmtest GIT_AUTHOR_EMAIL=vmtest@localhost GIT_AUTHOR_DATE='@0 +0000' \
				GIT_COMMITTER_NAME=vmtest GIT_COMMITTER_EMAIL=vmtest@localhost GIT_COMMITTER_DATE='@0 +0000' \
				git -C "$src" stash create 2>/dev/null || true)
			[ -n "$rev" ] && note "KERNEL_SRC has uncommitted changes: building them too"
			[ -n "$rev" ] || rev=$(git -C "$src" rev-parse HEAD^{commit}) || die "KERNEL_SRC: no HEAD commit"
		fi
		# --shared: the clone reads the objects of KERNEL_SRC in place,
		# including the one just made.
		[ -d "$repo" ] || git_quiet clone -q --shared --no-checkout "$src" "$repo" >&2
		git -C "$repo" cat-file -e "$rev^{commit}" 2>/dev/null ||
			git -C "$repo" fetch -q "$src" "$rev" >&2 || die "cannot get commit $rev from KERNEL_SRC"
		git -C "$repo" tag -f vmtest-base "$rev" >/dev/null
	else
		# A plain directory: mirror it into the repository's own work tree
		# and commit only what changed. The repository (and the worktrees
		# made from it) stays; an unchanged tree keeps its commit.
		mkdir -p "$repo"
		[ -d "$repo/.git" ] || git_quiet init -q "$repo"
		rsync -a --delete --exclude /.git "$src/" "$repo/"
		if [ -n "$(git -C "$repo" status --porcelain | head -1)" ]; then
			commit_base "$repo" "Base tree imported from $src"
		else
			git -C "$repo" tag -f vmtest-base HEAD >/dev/null
		fi
	fi
	echo "$repo"
}

fetch_git() {
	local id repo
	id=git-$(echo "$KERNEL_GIT ${KERNEL_REF:-}" | sha1sum | cut -c1-12)
	repo=$VMTEST_CACHE/src/$id/repo
	if ! git -C "$repo" rev-parse -q --verify vmtest-base >/dev/null 2>&1; then
		rm -rf "$repo"
		mkdir -p "$(dirname "$repo")"
		timeout 1800 git clone -q --depth 1 ${KERNEL_REF:+--branch "$KERNEL_REF"} "$KERNEL_GIT" "$repo" >&2 ||
			die "git clone $KERNEL_GIT ${KERNEL_REF:-} failed"
		git -C "$repo" tag -f vmtest-base HEAD >/dev/null
	elif timeout 600 git -C "$repo" fetch -q --depth 1 origin "${KERNEL_REF:-HEAD}" >&2; then
		# A branch moves: follow it.
		git -C "$repo" tag -f vmtest-base FETCH_HEAD >/dev/null
	else
		note "warning: cannot refresh $KERNEL_GIT ${KERNEL_REF:-}; using the copy fetched before ($(git -C "$repo" log -1 --format=%h vmtest-base))"
	fi
	echo "$repo"
}

if [ -n "${KERNEL_SRC:-}" ]; then
	fetch_src
elif [ -n "${KERNEL_GIT:-}" ]; then
	fetch_git
else
	fetch_debian
fi
