"""The submission path for real: `scripts/series.sh send --send` runs the
real `git send-email` against a real SMTP server (aiosmtpd) on 127.0.0.1,
and what arrives is checked the way a maintainer would use it: threading,
To/Cc, the sender's identity and trailers, and `git am` of the received
mbox onto the base tree giving exactly the tree that patches/ gives.

Needs: git send-email (Debian git-email + libmailtools-perl), aiosmtpd for
some python3 (Debian python3-aiosmtpd), perl, and the base tree already
fetched (scripts/fetch-kernel.sh; this test never fetches it). Skips with
the reason when one is missing; scripts/install-deps.sh installs the
packages. No network beyond loopback; no kernel build (a sparse clone).
"""
import email
import email.policy
import email.utils
import json
import os
import re
import select
import shutil
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PATCHES = os.path.join(ROOT, "patches")
SINK = os.path.join(ROOT, "scripts", "tests", "smtp_sink.py")
LIST = "bpf@vger.kernel.org"
NAME, MAIL = "Tëst Sender", "test.sender@example.net"   # non-ASCII on purpose
PLACEHOLDER = "bpf-storage-defer@example.org"
# Policy: who must get a patch that touches these files (MAINTAINERS).
# (touched path, who must be Cc'd, whether nobody else's patch may Cc them)
# (touched files, who must be Cc'd then, who must not be Cc'd otherwise).
# People may own other files too (Tejun maintains sched_ext as well), so
# "not otherwise" is checked on the subsystem's list only.
OWNERS = [
    (r"^(kernel/bpf/|include/linux/bpf)",
     {"ast@kernel.org", "daniel@iogearbox.net", "andrii@kernel.org"}, set()),
    (r"^(kernel/cgroup/|include/linux/cgroup)",
     {"tj@kernel.org", "hannes@cmpxchg.org", "mkoutny@suse.com", "cgroups@vger.kernel.org"},
     {"cgroups@vger.kernel.org"}),
    (r"^(mm/percpu|include/linux/percpu)",
     {"dennis@kernel.org", "cl@gentwo.org", "linux-mm@kvack.org"}, {"linux-mm@kvack.org"}),
]


def base_repo():
    if os.environ.get("SERIES_KERNEL_REPO"):
        return os.environ["SERIES_KERNEL_REPO"]
    cache = os.environ.get("VMTEST_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "bpf-storage-defer")
    return os.path.join(cache, "src", "debian-%s" % os.environ.get("KERNEL_DEB_VERSION", "7.3"), "repo")


def aiosmtpd_python():
    for py in (sys.executable, "/usr/bin/python3"):
        if py and os.path.exists(py) and subprocess.run(
                [py, "-c", "import aiosmtpd"], capture_output=True).returncode == 0:
            return py
    return None


def run(cmd, **kw):
    kw.setdefault("timeout", 120)
    return subprocess.run(cmd, text=True, capture_output=True, **kw)


def addrs(value):
    return [a.lower() for _, a in email.utils.getaddresses([value or ""]) if a]


def patch_files():
    return sorted(f for f in os.listdir(PATCHES) if re.match(r"^\d{4}-.*\.patch$", f))


def touched(path):
    with open(path, encoding="utf-8") as f:
        return sorted({m.group(1) for m in re.finditer(r"^diff --git a/(\S+) b/", f.read(), re.M)})


class SendEmailRoundTrip(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="send-email-test.")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        cls.repo = base_repo()
        cls.py = aiosmtpd_python()
        why = cls.missing()
        if why:
            raise unittest.SkipTest(why)

        cls.env = cls.clean_env()
        sink_dir = os.path.join(cls.tmp, "received")
        sink = subprocess.Popen([cls.py, SINK, sink_dir, "--timeout", "120"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        cls.addClassCleanup(cls.stop, sink)
        ready, _, _ = select.select([sink.stdout], [], [], 20)
        port = sink.stdout.readline().strip() if ready else ""
        if not port.isdigit():
            sink.kill()
            raise RuntimeError("SMTP sink did not start: " + sink.stderr.read())
        # The test SMTP configuration, as env config: it wins over every
        # config file, so the user's own sendemail.* cannot leak in.
        smtp = {"sendemail.smtpServer": "127.0.0.1", "sendemail.smtpServerPort": port,
                "sendemail.smtpEncryption": "none"}
        env = dict(cls.env, GIT_CONFIG_COUNT=str(len(smtp)))
        for i, (k, v) in enumerate(smtp.items()):
            env["GIT_CONFIG_KEY_%d" % i], env["GIT_CONFIG_VALUE_%d" % i] = k, v
        cls.smtp_env = env

        r = run([os.path.join(ROOT, "scripts", "series.sh"), "send", "--send"], env=env, cwd=ROOT)
        if r.returncode:
            raise AssertionError("series.sh send --send failed:\n" + r.stdout + r.stderr)
        cls.out = r.stdout
        cls.msgs = []
        for f in sorted(os.listdir(sink_dir)):
            if f.endswith(".json"):
                with open(os.path.join(sink_dir, f)) as j:
                    env_ = json.load(j)
                with open(os.path.join(sink_dir, f[:-5] + ".eml"), "rb") as e:
                    raw = e.read()
                cls.msgs.append((env_, raw, email.message_from_bytes(raw, policy=email.policy.default)))

    @classmethod
    def missing(cls):
        if not shutil.which("git") or not shutil.which("perl"):
            return "git or perl missing (scripts/install-deps.sh)"
        # --dump-aliases loads all of git send-email's modules and sends nothing.
        r = run(["git", "send-email", "--dump-aliases"], env=cls.clean_env(), cwd=cls.tmp)
        if r.returncode:
            first = (r.stderr.strip().split("\n") or [""])[0]
            return ("git send-email does not run (%s): install Debian's git-email and "
                    "libmailtools-perl (scripts/install-deps.sh)" % first)
        if not cls.py:
            return ("no python3 with aiosmtpd: install Debian's python3-aiosmtpd "
                    "(scripts/install-deps.sh)")
        if run(["git", "-C", cls.repo, "rev-parse", "-q", "--verify", "vmtest-base^{commit}"]).returncode:
            return ("no base tree at %s (vmtest-base): run scripts/fetch-kernel.sh first, "
                    "or set SERIES_KERNEL_REPO" % cls.repo)
        return None

    @classmethod
    def clean_env(cls):
        """The user's git and mail settings stay out; the identity is ours."""
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("GIT_", "SERIES_", "EMAIL"))}
        env.setdefault("VMTEST_CACHE", os.path.join(
            os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "bpf-storage-defer"))
        home = os.path.join(cls.tmp, "home")
        os.makedirs(home, exist_ok=True)
        env.update(HOME=home, XDG_CONFIG_HOME=os.path.join(home, ".config"),
                   GIT_CONFIG_GLOBAL=os.path.join(home, "gitconfig"), GIT_CONFIG_NOSYSTEM="1",
                   # the outgoing copy in here; VMTEST_CACHE stays the
                   # user's, so the maintainers tree and its memo are shared
                   SERIES_OUTGOING=os.path.join(cls.tmp, "outgoing"), SERIES_KERNEL_REPO=cls.repo,
                   SERIES_AUTHOR_NAME=NAME, SERIES_AUTHOR_EMAIL=MAIL)
        return env

    @staticmethod
    def stop(proc):
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        proc.stdout.close()
        proc.stderr.close()

    def plan(self):
        """{subject: [cc emails]} as series.sh printed it."""
        out, cur = {}, None
        for line in self.out.split("\n"):
            m = re.match(r"^\S+\.patch: (.*)$", line)
            if m:
                cur = m.group(1)
            elif line.startswith("  Cc: ") and cur:
                out[cur] = addrs(line[6:])
        return out

    # ------------------------------------------------------------ checks
    def test_thread(self):
        files = patch_files()
        self.assertEqual(len(self.msgs), len(files), "one message per patch file")
        n = len(files) - 1
        subjects = [m["Subject"] for _, _, m in self.msgs]
        for i, s in enumerate(subjects):
            self.assertRegex(s, r"^\[PATCH bpf-next(?: v\d+)? 0*%d/%d\] " % (i, n), "order of arrival")
        cover_id = self.msgs[0][2]["Message-Id"]
        self.assertIsNone(self.msgs[0][2]["In-Reply-To"], "the cover letter starts the thread")
        ids = {cover_id}
        for _, _, m in self.msgs[1:]:
            self.assertEqual(m["In-Reply-To"], cover_id, m["Subject"])
            self.assertIn(cover_id, m["References"], m["Subject"])
            self.assertNotIn(m["Message-Id"], ids, "Message-Ids are unique")
            ids.add(m["Message-Id"])

    def test_recipients(self):
        plan = self.plan()
        union = set()
        for env_, _, m in self.msgs[1:]:
            subj = m["Subject"]
            to, cc = addrs(m["To"]), addrs(m["Cc"])
            self.assertEqual(to, [LIST], subj)
            self.assertEqual(cc, plan[subj], "the Cc printed is the Cc sent: " + subj)
            self.assertNotIn(MAIL, cc, "no copy to the sender")
            self.assertEqual(sorted(env_["rcpt_tos"]), sorted(set(to + cc)),
                             "delivered to exactly To + Cc: " + subj)
            self.assertEqual(env_["mail_from"], MAIL)
            union |= set(cc)
            # Everyone owning a touched file, and nobody owning none of them.
            num = int(re.search(r" (\d+)/\d+\]", subj).group(1))
            files = touched(os.path.join(PATCHES, patch_files()[num]))
            for pattern, owners, exclusive in OWNERS:
                if any(re.match(pattern, f) for f in files):
                    self.assertLessEqual(owners, set(cc), "%s touches %s" % (subj, pattern))
                else:
                    self.assertFalse(exclusive & set(cc), "%s does not touch %s" % (subj, pattern))
        cenv, _, cover = self.msgs[0]
        self.assertEqual(addrs(cover["To"]), [LIST])
        self.assertEqual(set(addrs(cover["Cc"])), union, "the cover letter goes to everyone")
        self.assertEqual(sorted(cenv["rcpt_tos"]), sorted(union | {LIST}))

    def test_identity_and_trailers(self):
        for _, raw, m in self.msgs:
            self.assertEqual(email.utils.parseaddr(str(m["From"])), (NAME, MAIL))
            self.assertNotIn(PLACEHOLDER.encode(), raw, "placeholder left in " + m["Subject"])
        for _, _, m in self.msgs[1:]:
            body = m.get_content().replace("\r\n", "\n")
            self.assertNotRegex(body, r"^From: ", "no in-body From: (author == sender)")
            trailers = body.split("\n---\n")[0].rstrip().split("\n\n")[-1].split("\n")
            self.assertEqual(trailers[-1], "Signed-off-by: %s <%s>" % (NAME, MAIL),
                             "the sender signs off last: " + m["Subject"])
        # Every credit and link of scripts/series-trailers, in the patch it
        # names, and the credited person Cc'd.
        by_subject = {re.sub(r"^\[[^\]]*\]\s*", "", m["Subject"]): m for _, _, m in self.msgs}
        with open(os.path.join(ROOT, "scripts", "series-trailers"), encoding="utf-8") as f:
            rules = [l.split(" | ", 1) for l in f.read().split("\n")
                     if l.strip() and not l.startswith("#")]
        self.assertTrue(any(t.startswith("Suggested-by: Andrea Righi") for _, t in rules))
        self.assertTrue(any("sched-ext/scx/pull/3776" in t for _, t in rules))
        for subject, trailer in rules:
            m = by_subject[subject.strip()]
            self.assertIn("\n%s\n" % trailer.strip(), m.get_content().replace("\r\n", "\n"))
            if trailer.startswith("Suggested-by:"):
                self.assertIn(email.utils.parseaddr(trailer.split(":", 1)[1])[1], addrs(m["Cc"]))
        base = run(["git", "-C", self.repo, "rev-parse", "vmtest-base^{commit}"]).stdout.strip()
        self.assertIn("\nbase-commit: %s\n" % base,
                      self.msgs[0][2].get_content().replace("\r\n", "\n"))

    def test_git_am_reproduces_patches_tree(self):
        """git am of the received mbox == git am of patches/, as trees."""
        files = [os.path.join(PATCHES, f) for f in patch_files()[1:]]
        mbox = os.path.join(self.tmp, "received.mbox")
        with open(mbox, "wb") as f:
            for env_, raw, _ in self.msgs[1:]:
                f.write(b"From %s Thu Jan  1 00:00:00 1970\n" % env_["mail_from"].encode())
                # As a local delivery agent stores it: LF line ends, and
                # mboxrd quoting of lines that look like separators.
                raw = raw.replace(b"\r\n", b"\n")
                f.write(re.sub(rb"(?m)^(>*From )", rb">\1", raw).rstrip(b"\n") + b"\n\n")
        # A sparse clone: only the files the series touches are checked out.
        clone = os.path.join(self.tmp, "clone")
        paths = sorted({p for f in files for p in touched(f)})
        git = ["git", "-C", clone, "-c", "user.name=am", "-c", "user.email=am@localhost"]
        env = self.env
        for cmd in (["git", "clone", "-q", "--shared", "--no-checkout", self.repo, clone],
                    git + ["sparse-checkout", "set", "--no-cone", *paths],
                    git + ["checkout", "-q", "--detach", "vmtest-base"],
                    git + ["am", "-q", *files]):
            r = run(cmd, env=env)
            self.assertEqual(r.returncode, 0, "%s: %s" % (" ".join(cmd), r.stderr))
        want = run(git + ["rev-parse", "HEAD^{tree}"]).stdout.strip()
        run(git + ["checkout", "-q", "--detach", "vmtest-base"], env=env)
        r = run(git + ["am", "-q", "--patch-format=mboxrd", mbox], env=env)
        self.assertEqual(r.returncode, 0, "git am of the received mbox: " + r.stderr + r.stdout)
        got = run(git + ["rev-parse", "HEAD^{tree}"]).stdout.strip()
        self.assertEqual(got, want, "the received series builds a different tree")
        log = run(git + ["log", "--format=%an <%ae>|%s", "vmtest-base..HEAD"]).stdout.strip().split("\n")
        self.assertEqual(len(log), len(files))
        for line in log:
            self.assertTrue(line.startswith("%s <%s>|" % (NAME, MAIL)), line)
            self.assertNotIn("[PATCH", line)

    def test_refuses_placeholder_and_missing_smtp(self):
        script = os.path.join(ROOT, "scripts", "series.sh")
        ph = dict(self.smtp_env, SERIES_AUTHOR_NAME="BPF Storage Defer", SERIES_AUTHOR_EMAIL=PLACEHOLDER)
        before = len(os.listdir(os.path.join(self.tmp, "received")))
        r = run([script, "send", "--send"], env=ph, cwd=ROOT)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("refusing to send", r.stderr)
        r = run([script, "send"], env=ph, cwd=ROOT)        # a dry run shouts
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("WARNING", r.stderr)
        self.assertIn("placeholder", r.stderr)
        r = run([script, "send", "--send"], env=self.env, cwd=ROOT)    # no SMTP config
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("no SMTP configuration", r.stderr)
        self.assertEqual(len(os.listdir(os.path.join(self.tmp, "received"))), before, "nothing sent")


if __name__ == "__main__":
    unittest.main()
