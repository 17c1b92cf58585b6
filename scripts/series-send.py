#!/usr/bin/env python3
"""series-send.py: the submission half of scripts/series.sh (run that).

  series-send.py trailers FILE...
      add the trailers of scripts/series-trailers to the patch files whose
      subject they name, in place (series.sh export); skips those present.

  series-send.py send --repo REPO --stage DIR --cache DIR [--send] [-v N]
                      [--base REF] [--dir PATCHDIR] [--verbose]
                      [-- GIT-SEND-EMAIL-ARGS...]
      copy PATCHDIR (default patches/) to DIR with the sender's identity,
      version, trailers, base-commit and per-patch Cc, print who gets what,
      and run `git send-email` on DIR: --dry-run unless --send.

Recipients: To is bpf@vger.kernel.org for every message; Cc is what the
base tree's scripts/get_maintainer.pl says for each patch (maintainers,
reviewers and lists of every file it touches: bpf, cgroup, percpu, ...)
plus the people named in its trailers (Suggested-by: etc.), minus the
sender; the cover letter is Cc'd to the union. git send-email's own
auto-Cc is switched off so that what is printed is exactly what is sent.
"""
import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TRAILERS_FILE = os.path.join(ROOT, "scripts", "series-trailers")
PLACEHOLDER_NAME = "BPF Storage Defer"
PLACEHOLDER_EMAIL = "bpf-storage-defer@example.org"
LIST = "bpf@vger.kernel.org"
# Trailers whose person gets a copy (git send-email's sob/misc-by rules,
# which we turn off because we Cc them ourselves).
PERSON_TRAILERS = re.compile(
    r"^(Signed-off-by|Co-developed-by|Originally-by|Suggested-by|Reported-by|"
    r"Acked-by|Reviewed-by|Tested-by|Cc):\s*(.+)$", re.I)


def die(msg):
    print("vmtest: error: " + msg, file=sys.stderr)
    sys.exit(1)


def note(msg):
    print("vmtest: " + msg, file=sys.stderr)


def git(*args, cwd=None, check=True):
    r = subprocess.run(["git", *args], cwd=cwd, text=True, capture_output=True)
    if check and r.returncode:
        die("git %s: %s" % (" ".join(args), r.stderr.strip()))
    return r.stdout.strip() if r.returncode == 0 else None


def email_of(addr):
    m = re.search(r"<([^>]+)>", addr)
    return (m.group(1) if m else addr).strip().lower()


class Patch:
    """A format-patch file: mail headers, commit message, then '---' and
    the diff (or, for the cover letter, the blurb, shortlog and diffstat)."""

    def __init__(self, path):
        self.path = path
        self.name = os.path.basename(path)
        with open(path, encoding="utf-8") as f:
            text = f.read()
        head, sep, body = text.partition("\n\n")
        if not sep:
            die("%s: not a format-patch file (no header block)" % path)
        self.headers = head.split("\n")
        self.body = body.split("\n")
        self.cover = self.name.endswith("cover-letter.patch")

    def write(self, path):
        with open(path, "w", encoding="utf-8") as f:
            f.write("\n".join(self.headers) + "\n\n" + "\n".join(self.body))

    # -- headers (folded lines start with whitespace) --
    def _header_span(self, key):
        for i, line in enumerate(self.headers):
            if line.lower().startswith(key.lower() + ":"):
                j = i + 1
                while j < len(self.headers) and self.headers[j][:1] in (" ", "\t"):
                    j += 1
                return i, j
        return None

    def header(self, key):
        span = self._header_span(key)
        if not span:
            return None
        i, j = span
        return " ".join(l.strip() for l in self.headers[i:j])[len(key) + 1:].strip()

    def set_header(self, key, value, after="Subject"):
        span = self._header_span(key)
        if span:
            self.headers[span[0]:span[1]] = value
        else:
            at = self._header_span(after)
            pos = at[1] if at else len(self.headers)
            self.headers[pos:pos] = value

    def subject(self):
        """The subject without its [PATCH ...] prefix."""
        return re.sub(r"^\[[^\]]*\]\s*", "", self.header("Subject") or "")

    # -- commit message: the body up to the first '---' line --
    def msg_end(self):
        if self.cover:
            return len(self.body)
        try:
            return self.body.index("---")
        except ValueError:
            die("%s: no '---' line after the commit message" % self.name)

    def trailer_block(self):
        """(start, end) of the last paragraph of the commit message."""
        end = self.msg_end()
        while end > 0 and not self.body[end - 1].strip():
            end -= 1
        start = end
        while start > 0 and self.body[start - 1].strip():
            start -= 1
        return start, end

    def trailers(self):
        s, e = self.trailer_block()
        return [l for l in self.body[s:e] if re.match(r"^[A-Za-z-]+:\s", l)]

    def add_trailers(self, new):
        """Insert trailers before the first Signed-off-by: (kernel order:
        credits and links, then the sign-offs), skipping present ones."""
        have = {l.strip().lower() for l in self.body[:self.msg_end()]}
        new = [t for t in new if t.strip().lower() not in have]
        if not new:
            return []
        s, e = self.trailer_block()
        if not any(re.match(r"^[A-Za-z-]+:\s", l) for l in self.body[s:e]):
            self.body[e:e] = [""] + new      # no trailer block yet
            return new
        pos = next((i for i in range(s, e) if self.body[i].lower().startswith("signed-off-by:")), e)
        self.body[pos:pos] = new
        return new


def read_trailer_rules():
    rules = []
    if not os.path.exists(TRAILERS_FILE):
        return rules
    with open(TRAILERS_FILE, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            subject, sep, trailer = line.partition(" | ")
            if not sep or not re.match(r"^[A-Za-z-]+: \S", trailer.strip()):
                die("%s:%d: expected '<subject> | <Tag>: <value>'" % (TRAILERS_FILE, n))
            rules.append((subject.strip(), trailer.strip(), n))
    return rules


def apply_trailer_rules(patches):
    """Add the configured trailers; a rule naming no patch is an error, so
    a renamed subject cannot silently drop a credit."""
    rules = read_trailer_rules()
    by_subject = {p.subject(): p for p in patches if not p.cover}
    added = []
    for subject, trailer, n in rules:
        p = by_subject.get(subject)
        if not p:
            die("%s:%d: no patch has the subject '%s' (renamed? update the file)"
                % (TRAILERS_FILE, n, subject))
        for t in p.add_trailers([trailer]):
            added.append((p.name, t))
    return added


# ---------------------------------------------------------------- identity
def identity():
    name = os.environ.get("SERIES_AUTHOR_NAME") or git("config", "user.name", cwd=ROOT, check=False)
    mail = os.environ.get("SERIES_AUTHOR_EMAIL") or git("config", "user.email", cwd=ROOT, check=False)
    if not name or not mail:
        die("no author identity: set git config user.name and user.email, "
            "or SERIES_AUTHOR_NAME and SERIES_AUTHOR_EMAIL")
    return name, mail


def is_placeholder(name, mail):
    return name == PLACEHOLDER_NAME or mail.lower() == PLACEHOLDER_EMAIL


def set_identity(p, name, mail):
    """Replace the placeholder author/sign-off with the sender's. Only the
    placeholder: another person's authorship or sign-off is kept."""
    ph = "%s <%s>" % (PLACEHOLDER_NAME, PLACEHOLDER_EMAIL)
    me = "%s <%s>" % (name, mail)
    if p.header("From") == ph:
        p.set_header("From", ["From: " + me])
    end = p.msg_end()
    for i in range(end):
        p.body[i] = p.body[i].replace("Signed-off-by: " + ph, "Signed-off-by: " + me)
    if p.cover:
        # the shortlog ("BPF Storage Defer (6):")
        p.body = [re.sub(r"^%s( \(\d+\):)$" % re.escape(PLACEHOLDER_NAME), name + r"\1", l)
                  for l in p.body]


# ---------------------------------------------------------- maintainers
def maintainers_tree(repo, base, cache):
    """get_maintainer.pl needs the top of a kernel tree: MAINTAINERS,
    .mailmap, a few top-level files and the directory layout (it tells
    directory patterns by -d). Extract just those from the base commit
    (26 MB, under a second) instead of checking out 1.5 GB; its output is
    the same as in a full checkout."""
    sha = git("-C", repo, "rev-parse", base + "^{commit}")
    d = os.path.join(cache, "maintainers", sha[:16])
    if os.path.exists(os.path.join(d, ".done")):
        return d
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    want = ["MAINTAINERS", ".mailmap", ".get_maintainer.ignore", "COPYING", "CREDITS",
            "Kbuild", "Makefile", "README", "scripts/get_maintainer.pl"]
    have = git("-C", repo, "ls-tree", "--name-only", sha, "--", *want).split("\n")
    if "scripts/get_maintainer.pl" not in have or "MAINTAINERS" not in have:
        die("the base tree (%s) has no MAINTAINERS or scripts/get_maintainer.pl" % base)
    arch = subprocess.run(["git", "-C", repo, "archive", sha, "--", *have], capture_output=True)
    if arch.returncode:
        die("git archive: " + arch.stderr.decode(errors="replace"))
    subprocess.run(["tar", "-x", "-C", d], input=arch.stdout, check=True)
    for sub in git("-C", repo, "ls-tree", "-d", "-r", "--name-only", sha).split("\n"):
        if sub:
            os.makedirs(os.path.join(d, sub), exist_ok=True)
    open(os.path.join(d, ".done"), "w").close()
    return d


def get_maintainer(tree, path):
    """get_maintainer.pl's addresses for one patch. Remembered by content
    (the tree is per base commit): it takes most of a dry run's time."""
    opts = ["--no-git", "--no-git-fallback", "--no-rolestats"]
    with open(path, "rb") as f:
        key = hashlib.sha1(f.read() + repr(opts).encode()).hexdigest()
    memo = os.path.join(tree, ".memo", key)
    if os.path.exists(memo):
        with open(memo, encoding="utf-8") as f:
            return f.read().split("\n")[:-1]
    env = dict(os.environ, PERL_HASH_SEED="0", PERL_PERTURB_KEYS="0")  # stable order
    r = subprocess.run(["perl", "scripts/get_maintainer.pl", *opts, path],
                       cwd=tree, env=env, text=True, capture_output=True)
    if r.returncode:
        die("get_maintainer.pl %s: %s" % (os.path.basename(path), r.stderr.strip()))
    out = [l.strip() for l in r.stdout.split("\n") if "@" in l]
    os.makedirs(os.path.dirname(memo), exist_ok=True)
    with open(memo + ".tmp", "w", encoding="utf-8") as f:
        f.write("".join(a + "\n" for a in out))
    os.rename(memo + ".tmp", memo)
    return out


def recipients(p, tree, sender):
    people = []
    for t in p.trailers():
        m = PERSON_TRAILERS.match(t)
        if m and "@" in m.group(2):
            people.append(m.group(2).strip())
    if p.header("Cc"):          # a Cc: header from format-patch --cc is kept
        people += [a.strip() for a in p.header("Cc").split(",") if "@" in a]
    out, seen = [], {LIST, sender.lower()}
    for a in (get_maintainer(tree, p.path) if not p.cover else []) + people:
        if email_of(a) not in seen:
            seen.add(email_of(a))
            out.append(a)
    return out


# ------------------------------------------------------------- subcommands
def cmd_trailers(args):
    patches = [Patch(f) for f in args.files]
    for name, t in apply_trailer_rules(patches):
        note("%s: + %s" % (name, t))
    for p in patches:
        p.write(p.path)


def version_subject(p, version):
    subj = p.header("Subject")
    m = re.match(r"^\[(PATCH[^\]]*?)(?: v(\d+))?((?: \d+/\d+)?)\](.*)$", subj, re.S)
    if not m:
        die("%s: subject has no [PATCH ...] prefix: %s" % (p.name, subj))
    if m.group(2) and int(m.group(2)) != version:
        die("%s: subject says v%s, asked for v%d" % (p.name, m.group(2), version))
    v = " v%d" % version if version > 1 else ""
    new = "[%s%s%s]%s" % (m.group(1), v, m.group(3), m.group(4))
    p.set_header("Subject", ["Subject: " + new])


def banner(lines):
    bar = "!" * 72
    print("\n".join([bar] + ["!! " + l for l in lines] + [bar]), file=sys.stderr)


def cmd_send(args):
    pdir = os.path.abspath(args.dir)
    files = sorted(f for f in os.listdir(pdir) if re.match(r"^\d{4}-.*\.patch$", f))
    if not files:
        die("no NNNN-*.patch files in %s" % pdir)
    patches = [Patch(os.path.join(pdir, f)) for f in files]
    covers = [p for p in patches if p.cover]
    if len(patches) > 1 and (len(covers) != 1 or patches[0] is not covers[0]):
        die("%s: a series needs exactly one cover letter, first (0000-cover-letter.patch)" % pdir)
    cover = covers[0] if covers else None

    name, mail = identity()
    sender = "%s <%s>" % (name, mail)
    problems = []      # refuse a real send, shout on a dry run
    if is_placeholder(name, mail):
        problems += ["the sender identity is the placeholder '%s'." % sender,
                     "It cannot sign off (DCO) and nobody can reply to it. Set git config",
                     "user.name/user.email or SERIES_AUTHOR_NAME/SERIES_AUTHOR_EMAIL."]
    if args.send:
        # Refuse before any work: these two do not depend on the patches.
        if problems:
            banner(["refusing to send:"] + problems)
            sys.exit(1)
        smtp = git("config", "--get", "sendemail.smtpServer", cwd=ROOT, check=False) or \
            git("config", "--get", "sendemail.sendmailCmd", cwd=ROOT, check=False)
        if not smtp and not any(a.startswith(("--smtp-server", "--sendmail-cmd")) for a in args.extra):
            die("no SMTP configuration: set git config sendemail.smtpServer (and "
                "smtpServerPort, smtpEncryption, smtpUser), or pass -- --smtp-server=...")

    # The outgoing copy: patches/ itself is never changed here.
    stage = os.path.abspath(args.stage)
    shutil.rmtree(stage, ignore_errors=True)
    os.makedirs(stage)
    if args.version is None:
        m = re.search(r"^\[PATCH[^\]]*? v(\d+)[ \]]", patches[0].header("Subject"))
        args.version = int(m.group(1)) if m else 1
    for p in patches:
        set_identity(p, name, mail)
        version_subject(p, args.version)
    for pname, t in apply_trailer_rules(patches):
        note("%s: adding %s" % (pname, t))
    for p in patches:
        if p.cover:
            continue
        sobs = [email_of(t) for t in p.trailers() if t.lower().startswith("signed-off-by:")]
        if mail.lower() not in sobs:
            problems.append("%s has no 'Signed-off-by: %s' (add it: git commit -s, then export)."
                            % (p.name, sender))
        elif sobs[-1] != mail.lower():
            problems.append("%s: the last Signed-off-by must be the sender's." % p.name)

    base_sha = git("-C", args.repo, "rev-parse", args.base + "^{commit}")
    if cover:
        have = [i for i, l in enumerate(cover.body) if l.startswith("base-commit: ")]
        if have and not args.base_given:
            base_sha = cover.body[have[0]].split()[1]
        else:
            # what format-patch --base writes: after the diffstat
            for i in reversed(have):
                del cover.body[i]
            while cover.body and not cover.body[-1].strip():
                cover.body.pop()
            cover.body += ["", "base-commit: " + base_sha, ""]
        if args.version > 1 and not re.search(
                r"(?im)^(changes (in|since) v\d|changelog|v\d+\s*(->|→|\.\.)\s*v\d+)",
                "\n".join(cover.body)):
            problems.append("v%d without a changelog: add 'Changes in v%d:' (or 'v%d -> v%d') "
                            "to the cover letter." % (args.version, args.version, args.version - 1, args.version))

    # MAINTAINERS of the tree the series is tested on.
    tree = maintainers_tree(args.repo, args.base, args.cache)
    plan, union = [], []
    for p in patches:
        staged = os.path.join(stage, p.name)
        p.write(staged)          # get_maintainer reads the staged text
        p.path = staged
        if not p.cover:
            cc = recipients(p, tree, mail)
            for a in cc:
                if email_of(a) not in {email_of(u) for u in union}:
                    union.append(a)
            plan.append((p, cc))
    if cover:
        people = recipients(cover, tree, mail)
        cc = union + [a for a in people if email_of(a) not in {email_of(u) for u in union}]
        plan.insert(0, (cover, cc))

    for p, cc in plan:
        if cc:
            p.set_header("Cc", ["Cc: " + cc[0] + ("," if len(cc) > 1 else "")] +
                         [" " + a + ("," if i < len(cc) - 1 else "") for i, a in enumerate(cc[1:], 1)])
        p.write(p.path)
        print("%s: %s" % (p.name, p.header("Subject")))
        print("  To: " + LIST)
        print("  Cc: " + ", ".join(cc))
    print("From: %s   base-commit: %s   staged in %s" % (sender, base_sha, stage))

    if problems:
        if args.send:
            banner(["refusing to send:"] + problems)
            sys.exit(1)
        banner(["WARNING (dry run; --send would refuse):"] + problems)

    cmd = ["git", "send-email", "--no-format-patch", "--from", sender,
           "--no-to", "--no-cc", "--no-bcc", "--to", LIST,
           "--thread", "--no-chain-reply-to", "--confirm=never", "--8bit-encoding=UTF-8",
           # Every recipient is in the Cc: header we wrote; no other auto-Cc.
           "--suppress-cc=author", "--suppress-cc=self", "--suppress-cc=sob",
           "--suppress-cc=misc-by", "--suppress-cc=bodycc", "--suppress-cc=cccmd"]
    if not args.verbose:
        cmd.append("--quiet")    # the plan above is what the headers say
    if not args.send:
        cmd.append("--dry-run")
    cmd += args.extra + [p.path for p, _ in plan]
    # From the project's top: git send-email wants a repository (hooks, config).
    # git send-email asks git for an author and committer identity (Date, Message-Id)
    # even with --from: the sender's, when git config has none.
    env = dict(os.environ)
    for who in ("AUTHOR", "COMMITTER"):
        env.setdefault("GIT_%s_NAME" % who, name)
        env.setdefault("GIT_%s_EMAIL" % who, mail)
    r = subprocess.run(cmd, cwd=ROOT, env=env)
    if problems:
        banner(["WARNING (dry run; --send would refuse):"] + problems)
    if r.returncode:
        die("git send-email failed (exit %d)" % r.returncode)


def main():
    ap = argparse.ArgumentParser(prog="series.sh send")
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("trailers")
    t.add_argument("files", nargs="+")
    s = sub.add_parser("send")
    s.add_argument("--repo", required=True, help="the base tree's git repository")
    s.add_argument("--stage", required=True, help="where the outgoing copy is written")
    s.add_argument("--cache", required=True, help="cache directory (maintainers tree)")
    s.add_argument("--dir", default=os.path.join(ROOT, "patches"), help="the series (default patches/)")
    s.add_argument("--send", action="store_true", help="really send (default: --dry-run)")
    s.add_argument("--dry-run", action="store_false", dest="send", help="the default")
    s.add_argument("--verbose", action="store_true", help="git send-email's own log too")
    s.add_argument("-v", "--version", type=int, default=None,
                   help="series version (v2, ...); default: what the patches' subjects say")
    s.add_argument("--base", default=None, help="base commit (default: vmtest-base)")
    s.add_argument("extra", nargs="*", help="after --: more git send-email options")
    args = ap.parse_args()
    if args.cmd == "trailers":
        cmd_trailers(args)
        return
    args.base_given = args.base is not None
    args.base = args.base or "vmtest-base"
    if args.version is not None and args.version < 1:
        die("--version must be >= 1")
    cmd_send(args)


if __name__ == "__main__":
    main()
