"""Unit tests for scripts/bench-report.py: its statistics (mean, sd, the
t quantile and the Fieller interval of a ratio), its parsing of what the
benchmarks print (read from the C sources in bench/benchs/, so a changed
format breaks a test here, not a report), and the report end to end on
made-up rounds."""
import importlib.util
import json
import math
import os
import random
import re
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "..", "bench-report.py")
BENCHS = os.path.join(HERE, "..", "..", "bench", "benchs")

spec = importlib.util.spec_from_file_location("bench_report", SCRIPT)
br = importlib.util.module_from_spec(spec)
spec.loader.exec_module(br)


def c_format(source, *prefixes):
    """The printf format strings of bench/benchs/SOURCE that start with PREFIXES, joined (a line
    printed by several printf() calls), as a Python % format."""
    with open(os.path.join(BENCHS, source)) as f:
        text = f.read()
    literals = re.findall(r'"((?:[^"\\]|\\.)*)"', text)
    out = ""
    literals = [lit.replace("\\u00B1", "\u00b1").replace("\\n", "").replace("%ll", "%l")
                for lit in literals]
    for prefix in prefixes:
        for lit in literals:
            if lit.startswith(prefix):
                out += lit
                break
        else:
            raise AssertionError("no format starting with %r in %s" % (prefix, source))
    return out


# Upstream's summary lines (tools/testing/selftests/bpf/benchs/)
CREATE = "Summary: creates %8.3lf \u00b1 %5.3lfk/s (%7.3lfk/prod), %ld total"
TT_GP = "SUMMARY tasks_trace grace period latency\tavg %.3lf us\tstddev %.3lf us"


class Stats(unittest.TestCase):
    def test_mean_and_sample_sd(self):
        self.assertEqual(br.mean([1, 2, 3, 4]), 2.5)
        self.assertAlmostEqual(br.stdev([2, 4, 4, 4, 5, 5, 7, 9]), 2.1380899, places=6)
        self.assertEqual(br.stdev([5.0]), 0.0)
        self.assertEqual(br.stdev([3, 3, 3]), 0.0)

    def test_t_quantiles(self):
        for df, t in ((1, 12.7062047), (2, 4.3026527), (4, 2.7764451), (9, 2.2621572),
                      (30, 2.0422725), (1e6, 1.9599659)):
            self.assertAlmostEqual(br.t_ppf(0.975, df), t, places=5, msg="df=%s" % df)
        self.assertAlmostEqual(br.t_ppf(0.95, 10), 1.8124611, places=5)
        self.assertAlmostEqual(br.t_ppf(0.025, 4), -2.7764451, places=5)
        # Non-integer df (Welch) lies between its neighbours
        self.assertTrue(br.t_ppf(0.975, 4) > br.t_ppf(0.975, 4.5) > br.t_ppf(0.975, 5))

    def test_t_cdf(self):
        self.assertAlmostEqual(br.t_cdf(0.0, 3), 0.5)
        self.assertAlmostEqual(br.t_cdf(1.0, 1), 0.75)  # Cauchy
        self.assertAlmostEqual(br.t_cdf(-2.0, 7) + br.t_cdf(2.0, 7), 1.0)

    def test_ratio_ci_exact_base(self):
        # Base without spread: the interval is mp/mb +- t * se(mp) / mb,
        # t at the patched side's n - 1 degrees of freedom.
        r, lo, hi = br.ratio_ci([10.0, 10.0, 10.0], [11.0, 12.0, 13.0])
        half = 4.3026527 * math.sqrt(1.0 / 3) / 10
        self.assertAlmostEqual(r, 1.2)
        self.assertAlmostEqual(lo, 1.2 - half, places=5)
        self.assertAlmostEqual(hi, 1.2 + half, places=5)

    def test_ratio_ci_contains_ratio_and_is_reciprocal(self):
        base = [100.0, 104.0, 97.0, 101.0, 99.0]
        patched = [110.0, 108.0, 115.0, 111.0, 109.0]
        r, lo, hi = br.ratio_ci(base, patched)
        self.assertTrue(lo < r < hi)
        self.assertAlmostEqual(r, br.mean(patched) / br.mean(base))
        # Fieller's interval is asymmetric around r, and swapping the
        # kernels gives exactly the reciprocal interval.
        r2, lo2, hi2 = br.ratio_ci(patched, base)
        self.assertAlmostEqual(r2, 1 / r)
        self.assertAlmostEqual(lo2, 1 / hi, places=9)
        self.assertAlmostEqual(hi2, 1 / lo, places=9)

    def test_ratio_ci_no_spread_and_too_few(self):
        self.assertEqual(br.ratio_ci([2.0, 2.0], [3.0, 3.0]), (1.5, 1.5, 1.5))
        self.assertEqual(br.ratio_ci([2.0], [3.0, 3.2]), (1.55, None, None))
        self.assertEqual(br.ratio_ci([0.0, 0.0], [3.0, 3.1]), (None, None, None))

    def test_ratio_ci_unbounded_when_base_could_be_zero(self):
        r, lo, hi = br.ratio_ci([1.0, -0.8, 1.2], [1.0, 1.1, 0.9])
        self.assertIsNotNone(r)
        self.assertIsNone(lo)
        self.assertIsNone(hi)

    def test_ratio_ci_coverage(self):
        # Normal samples of 5 per side, true ratio 1.25: about 95% of the
        # intervals must hold it.
        rnd = random.Random(7)
        hits = trials = 0
        for _ in range(400):
            base = [rnd.gauss(100, 8) for _ in range(5)]
            patched = [rnd.gauss(125, 15) for _ in range(5)]
            r, lo, hi = br.ratio_ci(base, patched)
            trials += 1
            hits += lo is not None and lo <= 1.25 <= hi
        self.assertTrue(0.91 <= hits / trials <= 0.99, hits / trials)


class Parse(unittest.TestCase):
    def test_create(self):
        text = "Setting up benchmark 'local-storage-create'...\n" + CREATE % (65.123, 9.65, 65.123, 195369) + "\n"
        res = br.parse_result("local-storage-create", text, 0)
        self.assertEqual(res.status, "ok")
        self.assertAlmostEqual(res.metrics["creates_per_s"], 65123.0)

    def test_tasks_trace(self):
        text = TT_GP % (1234.5, 10.0) + "\nSUMMARY ticks per tasks_trace grace period\tavg 0.000\tstddev 0.000\n"
        self.assertAlmostEqual(br.parse_result("local-storage-tasks-trace", text, 0).metrics["gp_latency_us"], 1234.5)

    def test_delete_without_and_with_counters(self):
        summary = c_format("bench_local_storage_delete.c", "Summary: deletes") % (3.012, 0.29, 3.012, 9036, 0)
        res = br.parse_result("local-storage-delete", summary + "\n", 0)
        self.assertEqual(res.metrics, {"deletes_per_s": 3012.0})
        counters = c_format("bench_local_storage_delete.c", "Counters:", " backlog peak") % (0.0131, 812, 40, 96)
        res = br.parse_result("local-storage-delete", summary + "\n" + counters + "\n", 0)
        self.assertEqual(res.metrics["tt_per_delete"], 0.0131)
        self.assertEqual((res.metrics["backlog_peak"], res.metrics["backlog_final"]), (812, 40))

    def test_delete_cost(self):
        ctx = c_format("bench_local_storage_delete_cost.c", "Context:") % ("hardirq", 900, 900, "", "")
        summary = c_format("bench_local_storage_delete_cost.c", "Summary: pairs", " %8.1lf \u00b1") % (
            1234.567, 12.5, 1234.567, 412.3, 7.1, 0)
        res = br.parse_result("local-storage-delete-cost", ctx + "\n" + summary + "\n", 0)
        self.assertEqual(res.status, "ok")
        self.assertAlmostEqual(res.metrics["ns_per_pair"], 412.3)
        self.assertAlmostEqual(res.metrics["pairs_per_s"], 1234567.0)

    def test_delete_cost_unsupported_in_nmi(self):
        line = c_format("bench_local_storage_delete_cost.c", "Unsupported: every", " (%ld errors") % (
            "task", "nmi", 24000, -95, "Operation not supported")
        res = br.parse_result("local-storage-delete-cost", "Iter 0 ...\n" + line + "\n", 0)
        self.assertEqual(res.status, "unsupported")
        self.assertIn("nmi context failed", res.reason)
        line = c_format("bench_local_storage_delete_cost.c", "Unsupported: no NMI source", " no NMI injector") % ("No such file or directory",)
        self.assertEqual(br.parse_result("local-storage-delete-cost", line + "\n", 1).status, "unsupported")

    def test_map_close(self):
        load = c_format("bench_local_storage_map_close.c", "Summary: load deletes", " %d producers") % (850.5, 20.1, 850.5, 1, 2)
        close = c_format("bench_local_storage_map_close.c", "Summary: close to free", " in map_free", " %ld closes, %ld timed") % (
            41.25, 3.5, 52.0, 30.5, 2.25, 37.75, 70, 0)
        res = br.parse_result("local-storage-map-close", load + "\n" + close + "\n", 0)
        self.assertEqual(res.status, "ok")
        self.assertEqual(res.metrics["close_to_free_ms"], 41.25)
        self.assertEqual(res.metrics["map_free_ms"], 30.5)
        self.assertEqual(res.metrics["load_deletes_per_s"], 850500.0)
        self.assertEqual(res.metrics["closes"], 70)
        self.assertNotIn("load_failures_per_s", res.metrics)
        failed = c_format("bench_local_storage_map_close.c", "Summary: load failures") % (12.5, 3.0)
        res = br.parse_result("local-storage-map-close", load + "\n" + failed + "\n" + close + "\n", 0)
        self.assertEqual(res.metrics["load_failures_per_s"], 12.5)
        err = c_format("bench_local_storage_map_close.c", "Error: no map") % (1, 30)
        res = br.parse_result("local-storage-map-close", load + "\n" + err + "\n", 0)
        self.assertEqual(res.status, "error")
        self.assertIn("no map was freed", res.reason)

    def backlog_text(self, drained):
        summary = c_format("bench_local_storage_backlog.c", "Summary: deletes", " tasks-trace callbacks per delete") % (
            900.0, 10.0, 450.0, 2700000, 0, 0.0102)
        backlog = c_format("bench_local_storage_backlog.c", "Backlog:", " %ld + %ld bytes") % (52000, 8320000, 31000, 4960000, 96, 64)
        drain = c_format("bench_local_storage_backlog.c", "Drain:")
        for ms, left in zip((10, 100, 250, 500, 1000), (20000, 900, 0, 0, 0)):
            drain += c_format("bench_local_storage_backlog.c", " +%dms") % (ms, left)
        if drained:
            drain += c_format("bench_local_storage_backlog.c", " 0 after") % (212.5,)
        else:
            drain += c_format("bench_local_storage_backlog.c", " still") % (17, 10000)
        return "\n".join((summary, backlog, drain)) + "\n"

    def test_backlog(self):
        res = br.parse_result("local-storage-backlog", self.backlog_text(True), 0)
        self.assertEqual(res.status, "ok")
        self.assertEqual(res.metrics["peak_objects"], 52000)
        self.assertEqual(res.metrics["peak_bytes"], 8320000)
        self.assertEqual(res.metrics["stop_objects"], 31000)
        self.assertEqual(res.metrics["drain_ms"], 212.5)
        self.assertEqual(res.metrics["tt_per_delete"], 0.0102)
        res = br.parse_result("local-storage-backlog", self.backlog_text(False), 0)
        self.assertEqual(res.metrics["drain_ms"], 10000.0)
        self.assertIn("did not drain", res.notes[0])

    def test_failures(self):
        res = br.parse_result("local-storage-create", "Setting up benchmark\nerror loading skel\n", 1)
        self.assertEqual(res.status, "error")
        self.assertIn("exit status 1", res.reason)
        self.assertIn("error loading skel", res.reason)
        res = br.parse_result("local-storage-create", "Setting up benchmark\n", 0)
        self.assertEqual(res.status, "error")
        self.assertIn("no summary", res.reason)
        self.assertEqual(br.parse_result("local-storage-create", None, None).status, "error")
        # A killed benchmark with a summary printed before is still an error
        res = br.parse_result("local-storage-create", CREATE % (1, 0, 1, 1) + "\n", 137)
        self.assertEqual(res.status, "error")


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


class EndToEnd(unittest.TestCase):
    """Made-up rounds: 3 per kernel, a full boot at 2 vCPUs and a map-close boot at 4."""

    def make_round(self, out, kernel, rnd, smp, accel="kvm", vm_status=0, skip_ids=(), create_rate=None):
        d = os.path.join(out, "run-%s-%d-smp%d" % (kernel, rnd, smp))
        bdir = os.path.join(d, "share", "out", "bench")
        os.makedirs(bdir)
        suite = "all" if smp == 2 else "map-close"
        write(os.path.join(d, "bench-round.json"), json.dumps(
            {"kernel": kernel, "round": rnd, "smp": smp, "suite": suite, "vm_status": vm_status}))
        write(os.path.join(d, "accel"), accel + "\n")
        patched = kernel == "patched"
        jitter = 1 + 0.01 * rnd
        entries = []

        def add(bid, kind, args, text, rc=0):
            if bid in skip_ids:
                return
            entries.append("%s\t%s\t%s" % (bid, kind, args))
            write(os.path.join(bdir, bid + ".log"), text)
            write(os.path.join(bdir, bid + ".rc"), "%d\n" % rc)

        close = c_format("bench_local_storage_map_close.c", "Summary: close to free", " in map_free", " %ld closes, %ld timed")
        load = c_format("bench_local_storage_map_close.c", "Summary: load deletes", " %d producers")
        close_ms = (40.0 if patched else 35.0) * jitter * (1 + 0.1 * (smp - 2))
        map_close_text = "\n".join((load % (800 * jitter, 5, 800, smp - 1, smp),
                                    close % (close_ms, 2, close_ms + 5, 20, 1, 22, 50, 0))) + "\n"
        if suite == "map-close":
            add("map-close-smp%d" % smp, "latency", "-p %d local-storage-map-close" % (smp - 1), map_close_text)
        else:
            rate = create_rate or (66.0 if patched else 64.0)
            add("create-socket-b16", "throughput", "local-storage-create --storage-type socket --batch-size 16",
                CREATE % (rate * jitter, 1.0, rate, 1000) + "\n")
            add("tasks-trace", "throughput", "local-storage-tasks-trace",
                "Unsupported: no rcu_tasks_trace_pregp_step in this kernel\n")
            add("delete-b32", "throughput", "local-storage-delete --batch-size 32",
                c_format("bench_local_storage_delete.c", "Summary: deletes") % (3.0 * jitter, 0.1, 3.0, 9000, 0) + "\n")
            cost = c_format("bench_local_storage_delete_cost.c", "Summary: pairs", " %8.1lf \u00b1")
            add("cost-task-process", "throughput", "local-storage-delete-cost --owner task --context process",
                cost % (1000, 5, 1000, (300.0 if patched else 420.0) * jitter, 3, 0) + "\n")
            if patched:
                nmi = cost % (50, 1, 25, 600 * jitter, 9, 0) + "\n"
            else:
                nmi = c_format("bench_local_storage_delete_cost.c", "Unsupported: every", " (%ld errors") % (
                    "task", "nmi", 100, -95, "Operation not supported") + "\n"
            add("cost-task-nmi", "throughput", "-p 2 local-storage-delete-cost --owner task --context nmi", nmi)
            add("map-close-smp2", "latency", "-p 1 local-storage-map-close", map_close_text)
            add("delete-counts-b32", "counts", "local-storage-delete --batch-size 32 --counters",
                c_format("bench_local_storage_delete.c", "Summary: deletes") % (2.5, 0.1, 2.5, 7000, 0) + "\n" +
                c_format("bench_local_storage_delete.c", "Counters:", " backlog peak") % (
                    0.013 * jitter if patched else 2.0, 500, 30, 96) + "\n")
            add("backlog", "counts", "-p 2 local-storage-backlog", Parse.backlog_text(None, True))
        write(os.path.join(bdir, "manifest.tsv"), "\n".join(entries) + "\n")

    def run_report(self, out):
        p = subprocess.run([sys.executable, SCRIPT, out], capture_output=True, text=True)
        with open(os.path.join(out, "bench.json")) as f:
            return p, json.load(f)

    def full(self, out, changes=None):
        """Every boot; changes: {(kernel, round, smp): make_round keywords}."""
        for rnd in (1, 2, 3):
            for smp in (2, 4):
                for k in ("base", "patched"):
                    self.make_round(out, k, rnd, smp, **(changes or {}).get((k, rnd, smp), {}))

    def test_report(self):
        with tempfile.TemporaryDirectory() as out:
            self.full(out)
            p, doc = self.run_report(out)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            rows = {(r["id"], r["metric"]): r for r in doc["rows"]}
            create = rows[("create-socket-b16", "creates_per_s")]
            self.assertEqual(create["base"]["n"], 3)
            self.assertAlmostEqual(create["base"]["mean"], 64000 * 1.02)
            self.assertAlmostEqual(create["ratio"], 66 / 64)
            self.assertTrue(create["lo"] < create["ratio"] < create["hi"])
            # Base cannot delete in NMI: shown, no ratio, no error
            nmi = rows[("cost-task-nmi", "ns_per_pair")]
            self.assertEqual(nmi["base"]["status"], "unsupported")
            self.assertEqual(nmi["patched"]["status"], "ok")
            self.assertIsNone(nmi["ratio"])
            # Unsupported on both kernels: n/a, a note, not an error
            self.assertEqual(rows[("tasks-trace", "gp_latency_us")]["status"], "n/a")
            # Counters only where they were attached
            self.assertNotIn(("delete-b32", "tt_per_delete"), rows)
            self.assertEqual(rows[("delete-counts-b32", "tt_per_delete")]["kind"], "counts")
            self.assertIn(("map-close-smp4", "close_to_free_ms"), rows)
            self.assertEqual(doc["errors"], [])
            self.assertEqual(len(doc["rounds"]), 12)
            self.assertEqual(doc["accelerators"], ["kvm"])
            text = p.stdout
            self.assertIn("Throughput rounds: no counting probes attached", text)
            self.assertIn("Count rounds: counting probes", text)
            self.assertIn("base: r1/2cpu kvm, r1/4cpu kvm", text)
            self.assertNotIn("TCG", text)
            self.assertIn("cost-task-process per-delete cost patched <= base", text)
            with open(os.path.join(out, "bench.txt")) as f:
                self.assertEqual(f.read().strip(), text[:text.index("\nplot:") if "\nplot:" in text
                                                       else text.index("\ntable:")].strip())

    def test_accelerator_change_and_tcg_are_reported(self):
        with tempfile.TemporaryDirectory() as out:
            self.full(out, {("patched", 2, 2): {"accel": "tcg"}})
            p, doc = self.run_report(out)
            self.assertEqual(doc["accelerators"], ["kvm", "tcg"])
            self.assertIn("the accelerator changed between boots", p.stdout)
            self.assertIn("TCG (software emulation)", p.stdout)
            self.assertIn("r2/2cpu tcg", p.stdout)

    def test_failed_boot_and_missing_result_are_errors(self):
        with tempfile.TemporaryDirectory() as out:
            self.full(out, {("patched", 3, 2): {"vm_status": 1, "skip_ids": ("backlog",)}})
            p, doc = self.run_report(out)
            self.assertEqual(p.returncode, 1)
            self.assertTrue(any("the boot failed" in e for e in doc["errors"]))
            self.assertTrue(any(e.startswith("backlog") and "did not run" in e for e in doc["errors"]))
            row = [r for r in doc["rows"] if r["id"] == "backlog"][0]
            self.assertEqual(row["status"], "error")
            self.assertIn("ERROR", p.stdout)

    def test_patched_unsupported_where_base_works_is_an_error(self):
        with tempfile.TemporaryDirectory() as out:
            self.full(out)
            for rnd in (1, 2, 3):
                path = os.path.join(out, "run-patched-%d-smp2" % rnd, "share", "out", "bench", "cost-task-process.log")
                write(path, "Unsupported: every task storage create + delete in process context failed\n")
            p, doc = self.run_report(out)
            self.assertEqual(p.returncode, 1)
            self.assertTrue(any("works on base, unsupported on patched" in e for e in doc["errors"]))


# A stand-in for the tree's bench runner: prints what the real one prints
# (formats from the C sources), for bench-guest.sh to run.
def make_runner(path, patched):
    d = path + ".d"
    os.makedirs(d)
    cost = c_format("bench_local_storage_delete_cost.c", "Summary: pairs", " %8.1lf \u00b1") % (1000, 5, 1000, 300, 3, 0)
    outputs = {
        "local-storage-create": CREATE % (60.0, 1.0, 60.0, 1000),
        "local-storage-delete": c_format("bench_local_storage_delete.c", "Summary: deletes") % (3.0, 0.1, 3.0, 9000, 0),
        "local-storage-delete-counters":
            c_format("bench_local_storage_delete.c", "Summary: deletes") % (3.0, 0.1, 3.0, 9000, 0) + "\n" +
            c_format("bench_local_storage_delete.c", "Counters:", " backlog peak") % (
                0.01 if patched else 2.0, 10, 1, 96),
        "local-storage-delete-cost": cost,
        "local-storage-delete-cost-nmi": cost if patched else c_format(
            "bench_local_storage_delete_cost.c", "Unsupported: every", " (%ld errors") % (
            "task", "nmi", 10, -95, "Operation not supported"),
        "local-storage-map-close":
            c_format("bench_local_storage_map_close.c", "Summary: load deletes", " %d producers") % (800, 5, 800, 1, 2)
            + "\n" + c_format("bench_local_storage_map_close.c", "Summary: close to free", " in map_free",
                               " %ld closes, %ld timed") % (40, 2, 45, 20, 1, 22, 50, 0),
        "local-storage-backlog": "\n".join((
            c_format("bench_local_storage_backlog.c", "Summary: deletes", " tasks-trace callbacks per delete") % (
                900.0, 10.0, 450.0, 2700000, 0, 0.01),
            c_format("bench_local_storage_backlog.c", "Backlog:", " %ld + %ld bytes") % (100, 16000, 50, 8000, 96, 64),
            c_format("bench_local_storage_backlog.c", "Drain:") +
            c_format("bench_local_storage_backlog.c", " 0 after") % (20.0,))),
        "local-storage-tasks-trace": "Error doing open_and_load, exiting",
    }
    for key, text in outputs.items():
        write(os.path.join(d, key), text + "\n")
    write(path, """#!/bin/sh
for a; do case "$a" in local-storage-*) key=$a ;; esac; done
case " $* " in *" --counters "*) key=$key-counters ;; *" nmi "*) key=$key-nmi ;; esac
cat "%s/$key"
[ "$key" != local-storage-tasks-trace ]
""" % d)
    os.chmod(path, 0o755)


class GuestToReport(unittest.TestCase):
    """scripts/bench-guest.sh with a stand-in runner, then the report on what it wrote."""

    def boot(self, out, kernel, rnd):
        d = os.path.join(out, "run-%s-%d-smp2" % (kernel, rnd))
        bdir = os.path.join(d, "share", "out", "bench")
        runner = os.path.join(out, "runner-" + kernel)
        if not os.path.exists(runner):
            make_runner(runner, kernel == "patched")
        env = dict(os.environ, BENCH_BIN=runner, BENCH_OUTDIR=bdir, BENCH_KMSG=os.path.join(out, "kmsg"),
                   BENCH_SUITE="all", BENCH_SECS="1", BENCH_WARMUP="1")
        p = subprocess.run(["sh", os.path.join(HERE, "..", "bench-guest.sh")], env=env,
                           capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        write(os.path.join(d, "bench-round.json"), json.dumps(
            {"kernel": kernel, "round": rnd, "smp": 2, "suite": "all", "vm_status": 0}))
        write(os.path.join(d, "accel"), "tcg\n")
        return bdir

    def test_guest_output_makes_a_report(self):
        with tempfile.TemporaryDirectory() as out:
            for rnd in (1, 2):
                for k in ("base", "patched"):
                    bdir = self.boot(out, k, rnd)
            with open(os.path.join(bdir, "manifest.tsv")) as f:
                manifest = [l.split("\t") for l in f.read().splitlines()]
            ids = [m[0] for m in manifest]
            self.assertEqual(ids[:6], ["create-socket-b16", "create-socket-b32", "create-socket-b64",
                                       "create-task-b16", "create-task-b32", "create-task-b64"])
            self.assertIn("cost-cgroup-hardirq", ids)
            self.assertEqual(ids[-2:], ["delete-counts-b32", "backlog"])
            kinds = dict((m[0], m[1]) for m in manifest)
            self.assertEqual(kinds["delete-b32"], "throughput")
            self.assertEqual(kinds["backlog"], "counts")
            with open(os.path.join(out, "kmsg")) as f:
                self.assertIn("vmtest: test_end bench/backlog PASS", f.read())
            p = subprocess.run([sys.executable, SCRIPT, out], capture_output=True, text=True)
            with open(os.path.join(out, "bench.json")) as f:
                doc = json.load(f)
            rows = {(r["id"], r["metric"]): r for r in doc["rows"]}
            self.assertAlmostEqual(rows[("create-task-b64", "creates_per_s")]["ratio"], 1.0)
            self.assertEqual(rows[("cost-task-nmi", "ns_per_pair")]["base"]["status"], "unsupported")
            self.assertAlmostEqual(rows[("delete-counts-b32", "tt_per_delete")]["ratio"], 0.005)
            self.assertIn("TCG (software emulation)", p.stdout)
            # Whatever this host's kernel has, local-storage-tasks-trace never
            # counts as a success here: unsupported on both (n/a) or an error.
            tt = rows[("tasks-trace", "gp_latency_us")]
            self.assertIn(tt["status"], ("n/a", "error"))
            self.assertEqual(p.returncode, 0 if tt["status"] == "n/a" else 1, p.stdout + p.stderr)


# A stand-in for vmtest.sh: --build-only reports a build with a runner in
# it; a run executes the guest command on the host, with the shares mapped
# to their host directories, the guest's CPU count set to --smp, and one
# boot (FAIL_BOOT) failing.
FAKE_VMTEST = r"""#!/bin/bash
set -e
kernel= smp=2 run= build_only=0 cmd=() shares=()
while [ $# -gt 0 ]; do
	case "$1" in
	--kernel) kernel=$2; shift ;;
	--smp) smp=$2; shift ;;
	--run-dir) run=$2; shift ;;
	--share) shares+=("$2"); shift ;;
	--config|--accel|--timeout) shift ;;
	--build-only) build_only=1 ;;
	--) shift; cmd=("$@"); break ;;
	esac
	shift
done
echo "$kernel $smp $build_only ${cmd[*]}" >>"$FAKE_ROOT/calls"
if [ $build_only = 1 ]; then
	mkdir -p "$FAKE_ROOT/out/$kernel-bench/bench"
	cp "$FAKE_ROOT/runner-$kernel" "$FAKE_ROOT/out/$kernel-bench/bench/bench"
	echo "vmtest: built $kernel-bench: $FAKE_ROOT/out/$kernel-bench" >&2
	exit 0
fi
[ ! -e "$run" ] || [ -z "$(ls -A "$run")" ] || { echo "run dir not empty" >&2; exit 1; }
mkdir -p "$run/share/out"
echo tcg >"$run/accel"
[ "$(basename "$run")" != "$FAIL_BOOT" ] || exit 1
args=()
for a in "${cmd[@]}"; do
	var=
	case "$a" in *=*) var=${a%%=*}=; a=${a#*=} ;; esac
	for s in "${shares[@]}"; do
		case "$a" in "${s#*:}"/*) a=${s%%:*}${a#"${s#*:}"} ;; esac
	done
	args+=("$var$a")
done
BENCH_OUTDIR=$run/share/out/bench BENCH_KMSG=$run/kmsg BENCH_NCPU=$smp "${args[@]}"
"""


class BenchSh(unittest.TestCase):
    """scripts/bench.sh end to end, with stand-ins for vmtest.sh and the runner."""

    def fake_root(self, root):
        """A repository at ROOT: the real bench scripts, FAKE_VMTEST as vmtest.sh."""
        scripts = os.path.join(root, "scripts")
        os.makedirs(scripts)
        for f in ("bench.sh", "bench-guest.sh", "bench-report.py", "lib.sh"):
            os.symlink(os.path.abspath(os.path.join(HERE, "..", f)), os.path.join(scripts, f))
        write(os.path.join(root, "vmtest.sh"), FAKE_VMTEST)
        os.chmod(os.path.join(root, "vmtest.sh"), 0o755)
        return scripts

    def test_rounds_boots_and_report(self):
        with tempfile.TemporaryDirectory() as root:
            scripts = self.fake_root(root)
            for k in ("base", "patched"):
                make_runner(os.path.join(root, "runner-" + k), k == "patched")
            out = os.path.join(root, "bench-out")
            env = dict(os.environ, VMTEST_ROOT=root, VMTEST_CACHE=os.path.join(root, "cache"), FAKE_ROOT=root,
                       BENCH_OUT=out, BENCH_ROUNDS="2", BENCH_SECS="1", BENCH_WARMUP="1", BENCH_SMP="2 4",
                       FAIL_BOOT="run-patched-2-smp4")
            p = subprocess.run(["bash", os.path.join(scripts, "bench.sh")], env=env, capture_output=True, text=True)
            with open(os.path.join(root, "calls")) as f:
                calls = [l.split()[:3] for l in f.read().splitlines()]
            # Builds first, then per round and vCPU count both kernels:
            # base first in odd rounds, patched first in even ones
            self.assertEqual(calls, [["base", "2", "1"], ["patched", "2", "1"],
                                     ["base", "2", "0"], ["patched", "2", "0"],
                                     ["base", "4", "0"], ["patched", "4", "0"],
                                     ["patched", "2", "0"], ["base", "2", "0"],
                                     ["patched", "4", "0"], ["base", "4", "0"]])
            with open(os.path.join(out, "run-base-1-smp4", "bench-round.json")) as f:
                self.assertEqual(json.load(f), {"kernel": "base", "variant": "base", "round": 1, "smp": 4,
                                                "suite": "map-close", "vm_status": 0})
            with open(os.path.join(out, "run-base-1-smp4", "share", "out", "bench", "manifest.tsv")) as f:
                self.assertEqual([l.split("\t")[0] for l in f.read().splitlines()], ["map-close-smp4"])
            # The failed boot is reported, the others still ran, and the run fails
            self.assertEqual(p.returncode, 1, p.stderr)
            self.assertIn("patched round 2 (4 vCPUs) failed", p.stderr)
            with open(os.path.join(out, "bench.json")) as f:
                doc = json.load(f)
            self.assertTrue(any("the boot failed" in e for e in doc["errors"]))
            rows = {(r["id"], r["metric"]): r for r in doc["rows"]}
            self.assertEqual(rows[("map-close-smp4", "close_to_free_ms")]["status"], "error")
            self.assertEqual(rows[("map-close-smp2", "close_to_free_ms")]["status"], "ok")
            self.assertEqual(rows[("create-socket-b16", "creates_per_s")]["base"]["n"], 2)
            self.assertTrue(os.path.exists(os.path.join(out, "bench.txt")))
            # A reused output directory is refused
            p = subprocess.run(["bash", os.path.join(scripts, "bench.sh")], env=env, capture_output=True, text=True)
            self.assertNotEqual(p.returncode, 0)
            self.assertIn("earlier run", p.stderr)

    def test_other_variants_map_close_only(self):
        with tempfile.TemporaryDirectory() as root:
            scripts = self.fake_root(root)
            make_runner(os.path.join(root, "runner-git-v1"), True)
            make_runner(os.path.join(root, "runner-patched"), True)
            out = os.path.join(root, "bench-out")
            env = dict(os.environ, VMTEST_ROOT=root, VMTEST_CACHE=os.path.join(root, "cache"), FAKE_ROOT=root,
                       BENCH_OUT=out, BENCH_ROUNDS="2", BENCH_SECS="1", BENCH_WARMUP="1", BENCH_SMP="2 4",
                       BENCH_BASE="git-v1", BENCH_SUITE="map-close")
            p = subprocess.run(["bash", os.path.join(scripts, "bench.sh")], env=env, capture_output=True, text=True)
            self.assertEqual(p.returncode, 0, p.stderr)
            with open(os.path.join(root, "calls")) as f:
                calls = [l.split()[:2] for l in f.read().splitlines()]
            self.assertEqual(calls[:2], [["git-v1", "2"], ["patched", "2"]])
            # Map close only, at every count, the variant in the "base" column
            with open(os.path.join(out, "run-base-1-smp2", "bench-round.json")) as f:
                meta = json.load(f)
            self.assertEqual((meta["kernel"], meta["variant"], meta["suite"]), ("base", "git-v1", "map-close"))
            with open(os.path.join(out, "run-base-1-smp2", "share", "out", "bench", "manifest.tsv")) as f:
                self.assertEqual([l.split("\t")[0] for l in f.read().splitlines()], ["map-close-smp2"])
            self.assertIn("Kernels compared: base = git-v1, patched = patched", p.stdout)
            env["BENCH_SUITE"] = "some"
            env["BENCH_OUT"] = os.path.join(root, "bench-out2")
            p = subprocess.run(["bash", os.path.join(scripts, "bench.sh")], env=env, capture_output=True, text=True)
            self.assertNotEqual(p.returncode, 0)
            self.assertIn("BENCH_SUITE", p.stderr)


if __name__ == "__main__":
    unittest.main()
