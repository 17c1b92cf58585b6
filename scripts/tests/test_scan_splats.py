"""Unit tests of scripts/scan-splats.py.

Run from the repository root: python3 -m unittest discover -s scripts/tests -v
The fixtures under fixtures/ are console logs in the form QEMU writes them.
"""
import importlib.util
import json
import os
import re
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "..", "scan-splats.py")
ALLOWLIST = os.path.join(HERE, "..", "splat-allowlist.txt")
FIXTURES = os.path.join(HERE, "fixtures")

_spec = importlib.util.spec_from_file_location("scan_splats", SCRIPT)
scan_splats = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(scan_splats)


def fixture(name):
    return os.path.join(FIXTURES, name)


def scan_fixture(name, **kw):
    allow = scan_splats.load_allow(ALLOWLIST)
    return scan_splats.scan(scan_splats.read_log(fixture(name)), allow, **kw)


def scan_text(text, **kw):
    allow = scan_splats.load_allow(ALLOWLIST)
    return scan_splats.scan(text.splitlines(), allow, **kw)


def kinds_and_tests(result):
    return [(s["kind"], s["test"]) for s in result["splats"]]


def run_cli(*args):
    return subprocess.run([sys.executable, SCRIPT, *args], capture_output=True, text=True)


# (fixture, [(kind, test) per splat, in log order], unfinished_test)
FIXTURE_EXPECTATIONS = [
    ("lockdep_invalid_wait_context.log", [("lockdep", "nmi_storage_delete")], None),
    ("lockdep_circular.log", [("lockdep", "task_storage_create_delete")], None),
    ("lockdep_inconsistent_nmi.log", [("lockdep", "nmi_cgroup_put")], None),
    ("kasan_uaf.log", [("kasan", "task_storage_uaf")], None),
    ("warn.log", [("warning", "task_storage_map_free")], None),
    ("null_deref.log", [("bug", "nmi_storage_get")], None),
    ("gpf.log", [("oops", "cgrp_storage_destroy")], None),
    ("list_add_corruption.log", [("list_corruption", "task_storage_reuse")], None),
    ("list_del_corruption.log", [("list_corruption", "task_storage_exit_race")], None),
    ("rcu_stall.log", [("rcu_stall", "nmi_storage_spin"), ("rcu_stall", "nmi_storage_spin")],
     "nmi_storage_spin"),
    ("hung_task.log", [("hung_task", "task_storage_map_free_wait")], None),
    ("soft_lockup.log", [("soft_lockup", "nmi_storage_lock_spin")], None),
    ("panic.log", [("bug", "nmi_storage_free_stress"), ("panic", "nmi_storage_free_stress")],
     "nmi_storage_free_stress"),
    ("attribution.log", [
        ("warning", "boot"),
        ("lockdep", "between storage_a and storage_b"),
        ("refcount", "storage_b"),
        ("ubsan", "storage_c"),
        ("kmemleak", "shutdown"),
    ], None),
]


class FixtureTests(unittest.TestCase):
    def test_kind_and_attribution(self):
        for name, expected, unfinished in FIXTURE_EXPECTATIONS:
            with self.subTest(fixture=name):
                result = scan_fixture(name)
                self.assertEqual(kinds_and_tests(result), expected)
                self.assertEqual(result["unfinished_test"], unfinished)
                self.assertTrue(all(not s["expected"] for s in result["splats"]))

    def test_cli_exit_1_on_each_splat_fixture(self):
        for name, _, _ in FIXTURE_EXPECTATIONS:
            with self.subTest(fixture=name):
                p = run_cli(fixture(name))
                self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
                self.assertIn("SPLAT [", p.stdout)

    def test_headline_is_the_report_line(self):
        result = scan_fixture("lockdep_invalid_wait_context.log")
        [s] = result["splats"]
        self.assertEqual(s["headline"], "[ BUG: Invalid wait context ]")
        lines = scan_splats.read_log(fixture("lockdep_invalid_wait_context.log"))
        self.assertEqual(lines[s["line"] - 1], "[   42.118230] [ BUG: Invalid wait context ]")

    def test_tests_seen_in_start_order(self):
        self.assertEqual(scan_fixture("attribution.log")["tests_seen"],
                         ["storage_a", "storage_b", "storage_c"])
        self.assertEqual(scan_fixture("clean.log")["tests_seen"],
                         ["task_storage_create_delete", "vmtest_nmi/storage_delete", "vmtest_nmi/skip_me"])


class CleanLogTests(unittest.TestCase):
    def test_clean_log_has_no_splat(self):
        result = scan_fixture("clean.log")
        self.assertEqual(result["splats"], [])
        self.assertEqual(result["missed_expected"], [])
        self.assertIsNone(result["unfinished_test"])
        p = run_cli(fixture("clean.log"))
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertNotIn("SPLAT", p.stdout)

    def test_clean_log_holds_the_nmi_noise(self):
        # The test above is only meaningful if the noise is really there.
        with open(fixture("clean.log")) as f:
            text = f.read()
        self.assertGreaterEqual(text.count("Uhhuh. NMI received for unknown reason 30 on CPU 0."), 3)
        self.assertGreaterEqual(text.count("Dazed and confused, but trying to continue"), 3)

    def test_ordinary_lines_are_not_splats(self):
        lines = [
            "[    0.5] ACPI: _OSC evaluation failed",
            "[    0.5] lockdep: fast path",
            "[    1.7] Warning: unable to open an initial console.",
            "[    1.7] warning: process `test_progs' used the deprecated sysctl system call",
            "[    0.310520] Spectre V2 : WARNING: Unprivileged eBPF is enabled with eIBRS on, data leaks possible via Spectre v2 BHB attacks!",
            "[    0.310600] RETBleed: WARNING: Spectre v2 mitigation leaves CPU vulnerable to RETBleed attacks, data leaks possible!",
            "[    0.311002] [Firmware Bug]: TSC_DEADLINE disabled due to Errata; please update microcode to version: 0x3a (or later)",
            "[    0.118231] Lock dependency validator: Copyright (c) 2006 Red Hat, Inc., Ingo Molnar",
            "[    0.142100] RCU Tasks Trace: Setting shift to 1 and lim to 1 rcu_task_cb_adjust=1 rcu_task_cpu_ids=2.",
            "[    1.300000] kmemleak: Kernel memory leak detector initialized (mem pool available: 15718)",
            "[    4.204410] INFO: NMI handler (perf_event_nmi_handler) took too long to run: 2.173 msecs",
            "[    5.002118] workqueue: bpf_map_free_deferred hogged CPU for >10000us 4 times, consider switching to WQ_UNBOUND",
            "[   31.000000] traps: test_progs[233] general protection fault ip:55a1e4c1a2f7 sp:7ffd6c4f8e40 error:0 in test_progs[2a2f7,55a1e4bf0000+1d6000]",
            "[   31.000000] test_progs[233]: segfault at 0 ip 000055a1e4c1a2f7 sp 00007ffd6c4f8e40 error 4 in test_progs[2a2f7,55a1e4bf0000+1d6000]",
            "[   80.9] ---[ end Kernel panic - not syncing: Fatal exception ]---",
            "[   22.0] Disabling lock debugging due to kernel taint",
            "[   42.1]  dump_stack_lvl+0x6f/0xb0",
            "[   42.1]  __warn+0x8c/0x190",
            "[   42.1]  report_bug+0x17e/0x1b0",
            "[   42.1] INFO: lockdep is turned off.",
            "[    1.0] rcu: RCU calculated value of scheduler-enlistment delay is 100 jiffies.",
            "[    1.0] rcu_tasks_wait_gp: rcu_tasks_trace grace period number 9 (since boot) is 2604 jiffies old.",
            "WARNING! Selftests relying on bpf_testmod.ko will be skipped.",
            "#12/3    task_local_storage/recursion:FAIL",
            "Summary: 2/1 PASSED, 1 SKIPPED, 0 FAILED",
            "VMTEST_RUN_FAILED timeout",
        ]
        for line in lines:
            with self.subTest(line=line):
                self.assertEqual(scan_text(line)["splats"], [])

    def test_headlines_of_every_kind(self):
        cases = [
            ("lockdep", "WARNING: possible circular locking dependency detected"),
            ("lockdep", "WARNING: possible recursive locking detected"),
            ("lockdep", "WARNING: inconsistent lock state"),
            ("lockdep", "inconsistent {IN-HARDIRQ-W} -> {HARDIRQ-ON-W} usage."),
            ("lockdep", "WARNING: possible irq lock inversion dependency detected"),
            ("lockdep", "WARNING: HARDIRQ-safe -> HARDIRQ-unsafe lock order detected"),
            ("lockdep", "WARNING: SOFTIRQ-safe -> SOFTIRQ-unsafe lock order detected"),
            ("lockdep", "WARNING: suspicious RCU usage"),
            ("lockdep", "WARNING: bad unlock balance detected!"),
            ("lockdep", "WARNING: lock held when returning to user space!"),
            ("lockdep", "[ BUG: Invalid wait context ]"),
            ("lockdep", "BUG: sleeping function called from invalid context at kernel/locking/mutex.c:589"),
            ("lockdep", "BUG: scheduling while atomic: test_progs/120/0x00000002"),
            ("kasan", "BUG: KASAN: slab-use-after-free in _copy_from_user+0x30/0x90"),
            ("kasan", "BUG: KASAN: null-ptr-deref in bpf_selem_unlink+0x24b/0x590"),
            ("soft_lockup", "watchdog: BUG: soft lockup - CPU#0 stuck for 26s! [test_progs:120]"),
            ("hard_lockup", "watchdog: Watchdog detected hard LOCKUP on cpu 1"),
            ("hard_lockup", "NMI watchdog: Watchdog detected hard LOCKUP on cpu 1"),
            ("rcu_stall", "rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:"),
            ("rcu_stall", "rcu: INFO: rcu_sched self-detected stall on CPU"),
            ("rcu_stall", "rcu: INFO: rcu_preempt detected expedited stalls on CPUs/tasks: { 1-... } 21002 jiffies s: 245 root: 0x2/."),
            ("rcu_stall", "INFO: rcu_tasks_trace detected stalls on tasks:"),
            ("rcu_stall", "INFO: rcu_tasks detected stalls on tasks:"),
            ("hung_task", "INFO: task kworker/0:1:23 blocked for more than 120 seconds."),
            ("hung_task", "INFO: task (udev-worker):115 blocked for more than 241 seconds."),
            ("list_corruption", "list_add corruption. next->prev should be prev (ffff888104c2e1d8), but was 0000000000000000. (next=ffff888104c2e3a8)."),
            ("list_corruption", "list_del corruption. prev->next should be ffff888104d3a2c0, but was ffff888104d3a300. (prev=ffff888104d3a2e0)"),
            ("list_corruption", "list_add_rcu corruption. prev->next should be next"),
            ("list_corruption", "list_add double add: new=ffff888104c2e1d8, prev=ffff888104c2e1d8, next=ffff888104c2e3a8."),
            ("list_corruption", "hlist_add corruption. n=ffff888104c2e1d8"),
            ("ubsan", "UBSAN: shift-out-of-bounds in kernel/bpf/verifier.c:14567:12"),
            ("refcount", "refcount_t: underflow; use-after-free."),
            ("refcount", "refcount_t: saturated; leaking memory."),
            ("refcount", "refcount_t: addition on 0; use-after-free."),
            ("kmemleak", "kmemleak: 2 new suspected memory leaks (see /sys/kernel/debug/kmemleak)"),
            ("panic", "Kernel panic - not syncing: Fatal exception"),
            ("panic", "Kernel panic - not syncing: Fatal exception in interrupt"),
            ("oops", "Oops: 0000 [#1] PREEMPT SMP KASAN NOPTI"),
            ("oops", "Oops: general protection fault, probably for non-canonical address 0xdffffc0000000003: 0000 [#1] SMP KASAN NOPTI"),
            ("oops", "general protection fault, probably for non-canonical address 0xdffffc0000000003: 0000 [#1] PREEMPT SMP KASAN NOPTI"),
            ("oops", "Internal error: Oops: 0000000096000005 [#1] PREEMPT SMP"),
            ("oops", "Unable to handle kernel NULL pointer dereference at virtual address 0000000000000010"),
            ("bug", "BUG: kernel NULL pointer dereference, address: 0000000000000010"),
            ("bug", "BUG: unable to handle page fault for address: ffff888124a5c010"),
            ("bug", "BUG: workqueue lockup - pool cpus=0 node=0 flags=0x0 nice=0 stuck for 33s!"),
            ("bug", "kernel BUG at lib/list_debug.c:32!"),
            ("warning", "WARNING: CPU: 1 PID: 233 at kernel/bpf/bpf_local_storage.c:882 bpf_local_storage_map_free+0x1d5/0x210"),
            ("warning", "WARNING: kernel/bpf/bpf_local_storage.c:560 at bpf_local_storage_update+0x6f2/0x990, CPU#0: test_progs/212"),
            ("warning", "WARNING: at bpf_local_storage_update+0x6f2/0x990, CPU#0: test_progs/212"),
        ]
        prefixes = ["[   12.345678] ", "[   12.345678][  T233] ", "<4>[   12.345678] ", "",
                    "#5 task_storage:OK[   12.345678] "]
        for kind, headline in cases:
            for prefix in prefixes:
                with self.subTest(line=prefix + headline):
                    result = scan_text(prefix + headline)
                    self.assertEqual(kinds_and_tests(result), [(kind, "boot")])
                    self.assertEqual(result["splats"][0]["headline"], headline)


class AllowListTests(unittest.TestCase):
    NMI_LINES = [
        "[    4.020118] Uhhuh. NMI received for unknown reason 30 on CPU 0.",
        "[    4.020121] Do you have a strange power saving mode enabled?",
        "[    4.020124] Dazed and confused, but trying to continue",
    ]

    def test_shipped_allow_list_is_exactly_the_nmi_noise(self):
        allow = scan_splats.load_allow(ALLOWLIST)
        self.assertEqual(len(allow), 3)
        for line in self.NMI_LINES:
            self.assertEqual(sum(1 for a in allow if a.search(line)), 1, line)
        # Nothing broader: no allow pattern hides any headline of the fixtures.
        for name, _, _ in FIXTURE_EXPECTATIONS:
            for s in scan_splats.scan(scan_splats.read_log(fixture(name)), [])["splats"]:
                self.assertFalse(any(a.search(s["headline"]) for a in allow), s["headline"])

    def test_every_allow_pattern_has_a_comment(self):
        with open(ALLOWLIST) as f:
            rows = [r.rstrip("\n") for r in f]
        for n, row in enumerate(rows):
            if row.strip() and not row.startswith("#"):
                self.assertTrue(rows[n - 1].startswith("#"), "no comment above %r" % row)

    def test_nmi_noise_is_not_a_splat_but_a_real_warning_is(self):
        result = scan_fixture("nmi_noise_with_warning.log")
        self.assertEqual(kinds_and_tests(result), [("warning", "nmi_storage_update")])
        self.assertTrue(result["splats"][0]["headline"].startswith("WARNING: kernel/bpf/bpf_local_storage.c:560 "))
        p = run_cli(fixture("nmi_noise_with_warning.log"))
        self.assertEqual(p.returncode, 1)
        self.assertNotIn("Uhhuh", "\n".join(l for l in p.stdout.splitlines() if l.startswith("SPLAT")))

    def test_an_allowed_line_is_never_a_headline(self):
        with tempfile.TemporaryDirectory() as d:
            allow = os.path.join(d, "allow.txt")
            with open(allow, "w") as f:
                f.write("# a known WARN, for this test only\n\n"
                        r"WARNING: kernel/bpf/bpf_local_storage\.c:560 at " "\n")
            p = run_cli("--allow", allow, fixture("nmi_noise_with_warning.log"))
            self.assertEqual(p.returncode, 0, p.stdout)
            self.assertNotIn("SPLAT", p.stdout)
            # The same allow list leaves other WARNs alone.
            p = run_cli("--allow", allow, fixture("warn.log"))
            self.assertEqual(p.returncode, 1, p.stdout)

    def test_bad_allow_list(self):
        with tempfile.TemporaryDirectory() as d:
            bad = os.path.join(d, "allow.txt")
            with open(bad, "w") as f:
                f.write("# comment\nfine\n(unclosed\n")
            p = run_cli("--allow", bad, fixture("clean.log"))
            self.assertEqual(p.returncode, 2)
            self.assertEqual(len(p.stderr.strip().splitlines()), 1)
            self.assertIn("allow.txt:3:", p.stderr)
            p = run_cli("--allow", os.path.join(d, "missing.txt"), fixture("clean.log"))
            self.assertEqual(p.returncode, 2)
            self.assertEqual(len(p.stderr.strip().splitlines()), 1)


class ExpectSplatTests(unittest.TestCase):
    def test_expected_splat_is_caught(self):
        result = scan_fixture("expect_splat.log")
        self.assertEqual(result["expect_splat_tests"], ["splat_selfcheck"])
        self.assertEqual(result["missed_expected"], [])
        [s] = result["splats"]
        self.assertEqual((s["kind"], s["test"], s["expected"]), ("warning", "splat_selfcheck", True))
        p = run_cli(fixture("expect_splat.log"))
        self.assertEqual(p.returncode, 0, p.stdout)
        self.assertIn("expected splat [warning] during test splat_selfcheck: WARNING: "
                      "tools/testing/selftests/bpf/test_kmods/bpf_testmod.c:1482 at ", p.stdout)
        self.assertNotIn("SPLAT [", p.stdout)

    def test_expected_splat_missing(self):
        result = scan_fixture("expect_splat_missed.log")
        self.assertEqual(result["splats"], [])
        self.assertEqual(result["missed_expected"], ["splat_selfcheck"])
        p = run_cli(fixture("expect_splat_missed.log"))
        self.assertEqual(p.returncode, 1)
        self.assertIn("MISSED: test splat_selfcheck expected a splat but none was found", p.stdout)

    def test_expectation_covers_only_its_own_test(self):
        text = "\n".join([
            "[    2.0] vmtest: test_start selfcheck",
            "[    2.1] vmtest: expect_splat selfcheck",
            "[    2.2] WARNING: CPU: 0 PID: 9 at kernel/bpf/x.c:1 f+0x1/0x2",
            "[    2.3] vmtest: test_end selfcheck PASS",
            "[    2.4] WARNING: CPU: 0 PID: 9 at kernel/bpf/x.c:1 f+0x1/0x2",
            "[    2.5] vmtest: test_start other",
            "[    2.6] WARNING: CPU: 0 PID: 9 at kernel/bpf/x.c:1 f+0x1/0x2",
            "[    2.7] vmtest: test_end other PASS",
        ])
        result = scan_text(text)
        self.assertEqual([(s["test"], s["expected"]) for s in result["splats"]],
                         [("selfcheck", True), ("between selfcheck and other", False), ("other", False)])
        self.assertEqual(scan_splats.exit_status(result), 1)


class UnfinishedAndErrorTests(unittest.TestCase):
    def test_unfinished_test(self):
        result = scan_fixture("unfinished.log")
        self.assertEqual(result["unfinished_test"], "nmi_storage_hang")
        self.assertEqual(result["tests_seen"], ["task_storage_create_delete", "nmi_storage_hang"])
        self.assertEqual(result["splats"], [])
        p = run_cli(fixture("unfinished.log"))
        self.assertEqual(p.returncode, 0)  # a hang alone is no splat; report.py fails the test
        self.assertIn("UNFINISHED: test nmi_storage_hang", p.stdout)

    def test_missing_log(self):
        p = run_cli("/nonexistent/console.log")
        self.assertEqual(p.returncode, 2)
        self.assertEqual(p.stdout, "")
        err = p.stderr.strip().splitlines()
        self.assertEqual(len(err), 1)
        self.assertIn("/nonexistent/console.log", err[0])
        self.assertIn("error", err[0])

    def test_usage_errors(self):
        self.assertEqual(run_cli().returncode, 2)
        self.assertEqual(run_cli("--context", "-3", fixture("clean.log")).returncode, 2)
        self.assertEqual(run_cli("--context", "many", fixture("clean.log")).returncode, 2)
        p = run_cli("--json", "/nonexistent/dir/out.json", fixture("clean.log"))
        self.assertEqual(p.returncode, 2)
        self.assertEqual(len(p.stderr.strip().splitlines()), 1)


class OneReportOneSplatTests(unittest.TestCase):
    def test_kasan_report_counts_once(self):
        result = scan_fixture("kasan_uaf.log")
        self.assertEqual(len(result["splats"]), 1)
        with open(fixture("kasan_uaf.log")) as f:
            text = f.read()
        self.assertIn("Disabling lock debugging due to kernel taint", text)

    def test_kasan_frame_folds_everything_up_to_its_closing_rule(self):
        body = ["[   21.9] " + l for l in [
            "=" * 66,
            "BUG: KASAN: slab-use-after-free in _copy_from_user+0x30/0x90",
            "Write of size 8 at addr ffff888102b4a6c8 by task test_progs/233",
        ]]
        body += ["[   21.9]  frame_%d+0x10/0x20" % n for n in range(20)]
        body += ["[   21.9] WARNING: CPU: 1 PID: 233 at mm/kasan/report.c:200 end_report+0x1/0x2",
                 "[   21.9] " + "=" * 66,
                 "[   21.9] Disabling lock debugging due to kernel taint",
                 "[   22.0] WARNING: CPU: 1 PID: 233 at kernel/bpf/x.c:1 f+0x1/0x2"]
        result = scan_text("\n".join(body))
        self.assertEqual([s["kind"] for s in result["splats"]], ["kasan", "warning"])
        self.assertEqual(result["splats"][1]["line"], len(body))

    def test_lockdep_reports_count_once(self):
        for name in ("lockdep_circular.log", "lockdep_inconsistent_nmi.log",
                     "lockdep_invalid_wait_context.log"):
            with self.subTest(fixture=name):
                self.assertEqual(len(scan_fixture(name)["splats"]), 1)

    def test_headlines_of_one_event_fold(self):
        # BUG + Oops, list_add corruption + kernel BUG at + Oops, refcount_t + WARNING:
        self.assertEqual(len(scan_fixture("null_deref.log")["splats"]), 1)
        self.assertEqual(len(scan_fixture("list_add_corruption.log")["splats"]), 1)
        refcount = [s for s in scan_fixture("attribution.log")["splats"] if s["test"] == "storage_b"]
        self.assertEqual(len(refcount), 1)

    def test_folded_line_names_a_generic_splat(self):
        # Newer kernels print a WARN's message after its WARNING: line.
        [s] = scan_fixture("list_del_corruption.log")["splats"]
        self.assertEqual(s["kind"], "list_corruption")
        self.assertTrue(s["headline"].startswith("WARNING: lib/list_debug.c:56 at "))

    def test_separate_reports_stay_separate(self):
        warn = "[    3.0] WARNING: CPU: 0 PID: 9 at kernel/bpf/x.c:1 f+0x1/0x2"
        end = "[    3.0] ---[ end trace 0000000000000000 ]---"
        # An end-of-trace line closes a report even when the next one follows at once.
        self.assertEqual(len(scan_text("\n".join([warn, end, warn]))["splats"]), 2)
        # Further than FOLD_LINES lines apart, two headlines are two reports.
        gap = ["[    3.0]  frame_%d+0x1/0x2" % n for n in range(scan_splats.FOLD_LINES)]
        self.assertEqual(len(scan_text("\n".join([warn] + gap + [warn]))["splats"]), 2)
        # A test marker closes a report too.
        marks = ["[    3.0] vmtest: test_end a PASS", "[    3.0] vmtest: test_start b"]
        result = scan_text("\n".join(["[    2.0] vmtest: test_start a", warn] + marks + [warn]))
        self.assertEqual(kinds_and_tests(result), [("warning", "a"), ("warning", "b")])


class FormatTests(unittest.TestCase):
    def test_json(self):
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "splats.json")
            p = run_cli("--json", out, fixture("attribution.log"))
            self.assertEqual(p.returncode, 1)
            with open(out) as f:
                data = json.load(f)
        self.assertEqual(set(data), {"splats", "expect_splat_tests", "missed_expected",
                                     "tests_seen", "unfinished_test"})
        lines = scan_splats.read_log(fixture("attribution.log"))
        for s in data["splats"]:
            self.assertEqual(set(s), {"test", "kind", "line", "headline", "context", "expected"})
            self.assertIsInstance(s["expected"], bool)
            self.assertTrue(lines[s["line"] - 1].endswith(s["headline"]))
            self.assertIn(lines[s["line"] - 1], s["context"])
        self.assertEqual(len(data["splats"][0]["context"]), 30)
        # Clipped to the log: the kmemleak line is 3 lines from the end.
        self.assertEqual(data["splats"][-1]["context"], lines[-8:])
        self.assertIsNone(data["unfinished_test"])

    def test_context_option(self):
        lines = scan_splats.read_log(fixture("warn.log"))
        [s] = scan_fixture("warn.log", context=6)["splats"]
        # N // 6 lines before the headline, the rest from the headline on.
        self.assertEqual(s["context"], lines[s["line"] - 2:s["line"] + 4])
        [s] = scan_fixture("warn.log", context=0)["splats"]
        self.assertEqual(s["context"], [])

    def test_human_report(self):
        p = run_cli("--context", "12", fixture("warn.log"))
        out = p.stdout.splitlines()
        self.assertRegex(out[0], r"^SPLAT \[warning\] during test task_storage_map_free \(console line \d+\): "
                                 r"WARNING: CPU: 1 PID: 233 at kernel/bpf/bpf_local_storage\.c:882 ")
        self.assertEqual(len([l for l in out[1:13] if l.startswith("    [")]), 12)
        line = int(re.search(r"console line (\d+)", out[0]).group(1))
        lines = scan_splats.read_log(fixture("warn.log"))
        self.assertEqual(out[1:13], ["    " + l for l in lines[line - 3:line + 9]])
        self.assertIn("Modules linked in: bpf_testmod(OE)", out[4])

    def test_crlf_and_bytes_that_are_not_utf8(self):
        with open(fixture("warn.log"), "rb") as f:
            raw = f.read()
        raw = raw.replace(b"\n", b"\r\n").replace(b"Modules linked in", b"Modules \xff\xfe linked in")
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "console.log")
            with open(path, "wb") as f:
                f.write(raw)
            result = scan_splats.scan(scan_splats.read_log(path), [])
            p = run_cli(path)
        self.assertEqual(kinds_and_tests(result), [("warning", "task_storage_map_free")])
        self.assertFalse(any("\r" in c for c in result["splats"][0]["context"]))
        self.assertFalse(result["splats"][0]["headline"].endswith("\r"))
        self.assertEqual(p.returncode, 1)

    def test_marker_prefixes(self):
        text = "\n".join([
            "vmtest: test_start plain",
            "[    5.1] WARNING: CPU: 0 PID: 9 at kernel/bpf/x.c:1 f+0x1/0x2",
            "<12>[    5.2] vmtest: test_end plain FAIL",
            "[    5.3][  T201] vmtest: test_start with_caller_id",
            "[    5.4][  T201] BUG: kernel NULL pointer dereference, address: 0000000000000010",
        ])
        result = scan_text(text)
        self.assertEqual(kinds_and_tests(result), [("warning", "plain"), ("bug", "with_caller_id")])
        self.assertEqual(result["unfinished_test"], "with_caller_id")


if __name__ == "__main__":
    unittest.main()
