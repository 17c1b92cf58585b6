#!/usr/bin/env python3
"""Turn the rounds of scripts/bench.sh into one table, bench.json and bench.png.

Usage: bench-report.py OUT

OUT holds one directory per boot, run-<kernel>-<round>-smp<N>/, with
bench-round.json (kernel, round, vCPUs, the VM's exit status), accel (the
accelerator that boot used) and share/out/bench/ from scripts/bench-guest.sh:
manifest.tsv and each benchmark's output (ID.log) and exit status (ID.rc).
The output is that of the tree's bench runner and is parsed here: the
summary lines of upstream's local-storage-create and
local-storage-tasks-trace, and those of the series' benchmarks
(benchs/bench_local_storage_{delete,delete_cost,map_close,backlog}.c).

Statistics: each boot gives one value per benchmark and metric (the mean of
its one-second samples, or for map close latency the mean over its closes).
A kernel's cell is the mean +- sample standard deviation of its per-round
values. The ratio is patched mean / base mean, with a 95% confidence
interval by Fieller's theorem for the ratio of two independent means, the
t quantile taken at the Welch-Satterthwaite degrees of freedom.

Writes OUT/bench.txt (the table, as it goes into the cover letter),
OUT/bench.json, OUT/bench.dat and OUT/bench.png (gnuplot). Exit status 1
when a result is missing or failed on either kernel, or a benchmark that
works on base is unsupported on the patched kernel; 0 otherwise.
"""
import glob
import json
import math
import os
import re
import subprocess
import sys

# ---------------------------------------------------------------- statistics


def mean(xs):
    return sum(xs) / len(xs)


def stdev(xs):
    """Sample standard deviation (n - 1); 0 for fewer than two values."""
    if len(xs) < 2:
        return 0.0
    m = mean(xs)
    return math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1))


def _betacf(a, b, x):
    """Continued fraction of the incomplete beta function (modified Lentz)."""
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 500):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-15:
            break
    return h


def betainc(a, b, x):
    """Regularized incomplete beta function I_x(a, b)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    lbt = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(lbt) * _betacf(a, b, x) / a
    return 1.0 - math.exp(lbt) * _betacf(b, a, 1.0 - x) / b


def t_cdf(t, df):
    """Student's t distribution function with df (> 0, not necessarily whole) degrees of freedom."""
    tail = 0.5 * betainc(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t > 0 else tail


def t_ppf(p, df):
    """Quantile of Student's t: the t with t_cdf(t, df) = p, 0 < p < 1."""
    if not 0.0 < p < 1.0:
        raise ValueError("p must be in (0, 1)")
    if p < 0.5:
        return -t_ppf(1.0 - p, df)
    lo, hi = 0.0, 1.0
    while t_cdf(hi, df) < p:
        hi *= 2.0
    for _ in range(200):
        mid = (lo + hi) / 2.0
        if t_cdf(mid, df) < p:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-12 * max(1.0, hi):
            break
    return (lo + hi) / 2.0


def ratio_ci(base, patched, conf=0.95):
    """Ratio of means patched/base and its confidence interval (Fieller).

    Returns (ratio, lo, hi). ratio is None when the base mean is 0; lo and
    hi are None when there is no interval: fewer than two values on a side,
    or a base mean that is not distinguishable from 0 (the interval is then
    unbounded).
    """
    mb, mp = mean(base), mean(patched)
    if mb == 0:
        return None, None, None
    r = mp / mb
    nb, npt = len(base), len(patched)
    if nb < 2 or npt < 2:
        return r, None, None
    vb = stdev(base) ** 2 / nb
    vp = stdev(patched) ** 2 / npt
    if vb == 0 and vp == 0:
        return r, r, r
    # Welch-Satterthwaite degrees of freedom of mp - r * mb
    num = (vp + r * r * vb) ** 2
    den = (vp * vp / (npt - 1) if vp else 0.0) + ((r * r * vb) ** 2 / (nb - 1) if vb else 0.0)
    t = t_ppf(1.0 - (1.0 - conf) / 2.0, num / den)
    # (mp - rho mb)^2 <= t^2 (vp + rho^2 vb), a quadratic in rho
    a = mb * mb - t * t * vb
    b = -2.0 * mp * mb
    c = mp * mp - t * t * vp
    if a <= 0:
        return r, None, None
    root = math.sqrt(b * b - 4.0 * a * c)  # > 0 whenever a > 0
    return r, (-b - root) / (2.0 * a), (-b + root) / (2.0 * a)


# ------------------------------------------------------------------- parsing

NUM = r"([-+]?[0-9.]+(?:e[-+]?[0-9]+)?|nan|-nan|inf)"
PM = r"\s*(?:\u00b1|\+-)\s*"

# What each benchmark reports: key, label, unit, which way is better.
# Units: "/s" rates, "ns"/"us"/"ms" times, "" counts, "B" bytes.
METRICS = {
    "local-storage-create": [("creates_per_s", "creates", "/s", "higher")],
    "local-storage-tasks-trace": [("gp_latency_us", "Tasks Trace GP latency", "us", "lower")],
    "local-storage-delete": [
        ("deletes_per_s", "deletes", "/s", "higher"),
        ("tt_per_delete", "Tasks Trace callbacks/delete", "", "lower"),
        ("backlog_peak", "backlog peak (objects)", "", "lower"),
        ("backlog_final", "backlog at last sample", "", "lower"),
    ],
    "local-storage-delete-cost": [
        ("ns_per_pair", "ns/create+delete in prog", "ns", "lower"),
        ("pairs_per_s", "create+delete pairs", "/s", "higher"),
    ],
    "local-storage-map-close": [
        ("close_to_free_ms", "close() to map freed", "ms", "lower"),
        ("map_free_ms", "time in map_free", "ms", "lower"),
        ("load_deletes_per_s", "deletes on other CPUs", "/s", "higher"),
        ("load_failures_per_s", "failed creates+deletes there", "/s", "lower"),
    ],
    "local-storage-backlog": [
        ("tt_per_delete", "Tasks Trace callbacks/delete", "", "lower"),
        ("peak_objects", "backlog peak (objects)", "", "lower"),
        ("peak_bytes", "backlog peak (bytes)", "B", "lower"),
        ("stop_objects", "backlog when deletes stop", "", "lower"),
        ("drain_ms", "time to drain to 0", "ms", "lower"),
        ("deletes_per_s", "deletes (with probes)", "/s", "higher"),
    ],
}

SECTIONS = [
    ("throughput", "Throughput rounds: no counting probes attached"),
    ("latency", "Map close latency: only fentry/fexit on bpf_local_storage_map_free (once per map free)"),
    ("counts", "Count rounds: counting probes on call_srcu() and bpf_obj_free_fields() attached;"
               " their rates are not throughput figures"),
]


class Result:
    """One benchmark in one boot: status ok (metrics), unsupported or error (reason)."""

    def __init__(self, status, metrics=None, reason="", notes=None):
        self.status = status
        self.metrics = metrics or {}
        self.reason = reason
        self.notes = notes or []

    def __repr__(self):
        return "Result(%r, %r, %r)" % (self.status, self.metrics, self.reason)


def _f(s):
    return float(s)


def _find(pattern, text):
    return re.search(pattern, text, re.M)


def parse_create(text):
    m = _find(r"^Summary: creates\s+" + NUM + PM + NUM + r"k/s", text)
    if not m:
        return None
    return {"creates_per_s": _f(m.group(1)) * 1000}


def parse_tasks_trace(text):
    m = _find(r"^SUMMARY tasks_trace grace period latency\s+avg\s+" + NUM + r" us", text)
    if not m or not math.isfinite(_f(m.group(1))):
        return None
    return {"gp_latency_us": _f(m.group(1))}


def parse_delete(text):
    m = _find(r"^Summary: deletes\s+" + NUM + PM + NUM + r"k/s", text)
    if not m:
        return None
    res = {"deletes_per_s": _f(m.group(1)) * 1000}
    c = _find(r"^Counters: tasks-trace callbacks per delete " + NUM + r", backlog peak (\d+) final (\d+) objects", text)
    if c:
        res.update(tt_per_delete=_f(c.group(1)), backlog_peak=int(c.group(2)), backlog_final=int(c.group(3)))
    return res


def parse_delete_cost(text):
    m = _find(r"^Summary: pairs\s+" + NUM + PM + NUM + r"k/s.*?,\s+" + NUM + PM + NUM + r" ns/pair in program", text)
    if not m:
        return None
    return {"ns_per_pair": _f(m.group(3)), "pairs_per_s": _f(m.group(1)) * 1000}


def parse_map_close(text):
    load = _find(r"^Summary: load deletes\s+" + NUM + PM + NUM + r"k/s", text)
    close = _find(r"^Summary: close to free " + NUM + PM + NUM + r" ms \(max " + NUM + r"\), in map_free "
                  + NUM + PM + NUM + r" ms \(max " + NUM + r"\), (\d+) closes, (\d+) timed out", text)
    if not load or not close:
        return None
    res = {"close_to_free_ms": _f(close.group(1)), "map_free_ms": _f(close.group(4)),
           "load_deletes_per_s": _f(load.group(1)) * 1000, "closes": int(close.group(7)),
           "timeouts": int(close.group(8))}
    failed = _find(r"^Summary: load failures " + NUM + PM + NUM + r"/s", text)
    if failed:
        res["load_failures_per_s"] = _f(failed.group(1))
    return res


def parse_backlog(text):
    s = _find(r"^Summary: deletes\s+" + NUM + PM + NUM + r"k/s.*tasks-trace callbacks per delete " + NUM, text)
    b = _find(r"^Backlog: peak (\d+) objects \((\d+) bytes\), at stop (\d+) objects \((\d+) bytes\)", text)
    d = _find(r"^Drain:.*(?: 0 after " + NUM + r" ms| still (\d+) after (\d+) ms)$", text)
    if not s or not b or not d:
        return None
    res = {"tt_per_delete": _f(s.group(3)), "peak_objects": int(b.group(1)), "peak_bytes": int(b.group(2)),
           "stop_objects": int(b.group(3)), "deletes_per_s": _f(s.group(1)) * 1000}
    if d.group(1) is not None:
        res["drain_ms"] = _f(d.group(1))
    else:
        # Not drained: the time waited is a lower bound, kept as the value
        res["drain_ms"] = _f(d.group(3))
        res["not_drained"] = int(d.group(2))
    return res


PARSERS = {
    "local-storage-create": parse_create,
    "local-storage-tasks-trace": parse_tasks_trace,
    "local-storage-delete": parse_delete,
    "local-storage-delete-cost": parse_delete_cost,
    "local-storage-map-close": parse_map_close,
    "local-storage-backlog": parse_backlog,
}


def bench_name(args):
    for a in args.split():
        if a.startswith("local-storage-"):
            return a
    return None


def parse_result(bench, text, rc):
    """A Result from one benchmark's output and exit status (None: no output)."""
    if text is None:
        return Result("error", reason="no output")
    m = _find(r"^Unsupported: (.*)$", text)
    if m:
        return Result("unsupported", reason=m.group(1).strip())
    parser = PARSERS.get(bench)
    if parser is None:
        return Result("error", reason="unknown benchmark %s" % bench)
    m = _find(r"^Error: (.*)$", text)
    if m:
        return Result("error", reason=m.group(1).strip())
    metrics = parser(text)
    if rc not in (0, None) or metrics is None:
        last = [l for l in text.strip().splitlines() if l.strip()][-1:] or ["(no output)"]
        why = "exit status %s" % rc if rc not in (0, None) else "no summary in its output"
        return Result("error", reason="%s: %s" % (why, last[0].strip()[:160]))
    notes = []
    if metrics.get("not_drained"):
        notes.append("backlog did not drain: %d left after %.0f ms" % (metrics["not_drained"], metrics["drain_ms"]))
    if metrics.get("timeouts"):
        notes.append("%d map closes timed out" % metrics["timeouts"])
    return Result("ok", metrics, notes=notes)


# ------------------------------------------------------------------- loading


def read(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return None


def load_rounds(out):
    """One dict per boot: kernel, round, smp, suite, vm_status, accel, entries."""
    rounds = []
    for d in sorted(glob.glob(os.path.join(out, "run-*"))):
        if not os.path.isdir(d):
            continue
        meta = read(os.path.join(d, "bench-round.json"))
        if meta is None:
            continue
        r = json.loads(meta)
        r["dir"] = os.path.basename(d)
        r["accel"] = (read(os.path.join(d, "accel")) or "?").strip() or "?"
        bdir = os.path.join(d, "share", "out", "bench")
        manifest = read(os.path.join(bdir, "manifest.tsv"))
        r["entries"] = {}
        r["order"] = []
        for line in (manifest or "").splitlines():
            if not line.strip():
                continue
            bid, kind, args = (line.split("\t") + ["", ""])[:3]
            rc = read(os.path.join(bdir, bid + ".rc"))
            rc = int(rc.strip()) if rc and rc.strip().lstrip("-").isdigit() else None
            bench = bench_name(args)
            res = parse_result(bench, read(os.path.join(bdir, bid + ".log")), rc)
            r["entries"][bid] = {"kind": kind, "bench": bench, "args": args, "rc": rc, "result": res}
            r["order"].append(bid)
        r["has_manifest"] = manifest is not None
        rounds.append(r)
    return rounds


# ------------------------------------------------------------------ the rows


def build_rows(rounds):
    """Rows (one per benchmark and metric) and the errors and warnings."""
    errors, warnings = [], []
    # The benchmarks each suite ran, in first-seen order
    ids = {}  # id -> (kind, bench, suite, smp)
    for r in sorted(rounds, key=lambda r: (r["smp"], r["round"], r["kernel"])):
        for bid in r["order"]:
            e = r["entries"][bid]
            ids.setdefault(bid, (e["kind"], e["bench"], r["suite"], r["smp"]))
    for r in rounds:
        if r["vm_status"]:
            errors.append("%s round %d (%d vCPUs): the boot failed (status %d, see %s.log and %s/splats.txt)"
                          % (r["kernel"], r["round"], r["smp"], r["vm_status"], r["dir"], r["dir"]))
    rows = []
    for bid, (kind, bench, suite, smp) in ids.items():
        # The boots that should have run it: the same suite and vCPU count
        want = [r for r in rounds if r["suite"] == suite and r["smp"] == smp]
        per_kernel = {}
        for k in ("base", "patched"):
            results = []
            for r in sorted((r for r in want if r["kernel"] == k), key=lambda r: r["round"]):
                e = r["entries"].get(bid)
                res = e["result"] if e else Result("error", reason="did not run")
                results.append((r["round"], r["accel"], res))
            per_kernel[k] = results
        for key, label, unit, better in METRICS.get(bench, []):
            row = {"id": bid, "bench": bench, "kind": kind, "smp": smp, "metric": key, "label": label,
                   "unit": unit, "better": better}
            cells = {}
            for k in ("base", "patched"):
                results = per_kernel[k]
                cell = {"values": [], "rounds": [], "status": "ok", "reasons": []}
                statuses = set()
                for rnd, accel, res in results:
                    if res.status == "ok" and key not in res.metrics:
                        statuses.add("absent")
                        continue
                    statuses.add(res.status)
                    if res.status == "ok":
                        cell["values"].append(res.metrics[key])
                        cell["rounds"].append({"round": rnd, "accel": accel, "value": res.metrics[key]})
                        for n in res.notes:
                            if "%s round %d: %s" % (k, rnd, n) not in cell["reasons"]:
                                cell["reasons"].append("%s round %d: %s" % (k, rnd, n))
                    elif res.reason not in cell["reasons"]:
                        cell["reasons"].append(res.reason)
                if not results:
                    cell["status"] = "error"
                    cell["reasons"].append("no boot of this kernel ran it")
                elif statuses == {"absent"}:
                    cell["status"] = "absent"
                elif statuses <= {"ok"}:
                    cell["status"] = "ok"
                elif statuses == {"unsupported"}:
                    cell["status"] = "unsupported"
                else:
                    cell["status"] = "error"
                if cell["status"] == "ok":
                    cell["n"] = len(cell["values"])
                    cell["mean"] = mean(cell["values"])
                    cell["sd"] = stdev(cell["values"])
                cells[k] = cell
            b, p = cells["base"], cells["patched"]
            if b["status"] == "absent" and p["status"] == "absent":
                continue  # a metric this run of the benchmark does not report (no --counters)
            row["base"], row["patched"] = b, p
            row["ratio"] = row["lo"] = row["hi"] = None
            name = "%s %s" % (bid, label)
            if b["status"] == "unsupported" and p["status"] == "unsupported":
                row["status"] = "n/a"
                warnings.append("%s: unsupported on both kernels: %s" % (bid, "; ".join(p["reasons"] or b["reasons"])))
            elif p["status"] == "unsupported" and b["status"] == "ok":
                row["status"] = "error"
                errors.append("%s: works on base, unsupported on patched: %s" % (name, "; ".join(p["reasons"])))
            elif "error" in (b["status"], p["status"]) or "absent" in (b["status"], p["status"]):
                row["status"] = "error"
                for k, c in (("base", b), ("patched", p)):
                    if c["status"] in ("error", "absent"):
                        errors.append("%s on %s: %s" % (name, k, "; ".join(c["reasons"]) or "no value"))
            else:
                row["status"] = "ok"
                if b["status"] == "ok" and p["status"] == "ok":
                    row["ratio"], row["lo"], row["hi"] = ratio_ci(b["values"], p["values"])
                for k, c in (("base", b), ("patched", p)):
                    for reason in c["reasons"]:
                        what = "unsupported on %s: " % k if c["status"] == "unsupported" else ""
                        warnings.append("%s: %s%s" % (bid, what, reason))
            rows.append(row)
    # One note per benchmark and reason, not one per metric
    seen = set()
    warnings = [w for w in warnings if not (w in seen or seen.add(w))]
    errors = [e for e in errors if not (e in seen or seen.add(e))]
    return rows, errors, warnings


# --------------------------------------------------------------- formatting


def scale_for(unit, magnitude):
    if unit == "/s":
        for div, pre in ((1e6, "M"), (1e3, "k")):
            if magnitude >= div:
                return div, " %s/s" % pre
        return 1.0, " /s"
    if unit == "B":
        for div, pre in ((1 << 20, "MiB"), (1 << 10, "KiB")):
            if magnitude >= div:
                return div, " " + pre
        return 1.0, " B"
    if unit:
        return 1.0, " " + unit
    return 1.0, ""


def fmt_num(x):
    if x == 0:
        return "0"
    if abs(x) >= 100:
        return "%.0f" % x
    if abs(x) >= 10:
        return "%.1f" % x
    if abs(x) >= 1:
        return "%.2f" % x
    return "%.3g" % x


def fmt_cell(cell, unit, magnitude):
    st = cell["status"]
    if st == "unsupported":
        return "unsupported"
    if st == "absent":
        return "-"
    if st != "ok":
        return "ERROR"
    div, suffix = scale_for(unit, magnitude)
    return "%s \u00b1 %s%s" % (fmt_num(cell["mean"] / div), fmt_num(cell["sd"] / div), suffix)


def fmt_ratio(row):
    if row["status"] == "n/a":
        return "n/a"
    if row["ratio"] is None:
        return "-"
    s = "%.3f" % row["ratio"]
    if row["lo"] is not None:
        s += " [%.3f, %.3f]" % (row["lo"], row["hi"])
    elif row["base"].get("n", 0) > 1:
        s += " [unbounded]"
    return s


def row_name(row):
    return "%s: %s" % (row["id"], row["label"])


def table(rows, rounds):
    lines = []
    name_w = max([len(row_name(r)) for r in rows] + [len("benchmark")])
    cells = {}
    for r in rows:
        mag = max([abs(c["mean"]) for c in (r["base"], r["patched"]) if c["status"] == "ok"] or [0])
        cells[id(r)] = (fmt_cell(r["base"], r["unit"], mag), fmt_cell(r["patched"], r["unit"], mag), fmt_ratio(r))
    bw = max([len(c[0]) for c in cells.values()] + [len("base")])
    pw = max([len(c[1]) for c in cells.values()] + [len("patched")])
    head = "%-*s | %-*s | %-*s | %s" % (name_w, "benchmark", bw, "base", pw, "patched", "patched/base [95% CI]")
    for kind, title in SECTIONS:
        sect = [r for r in rows if r["kind"] == kind]
        if not sect:
            continue
        lines += ["", title, head, "-" * len(head)]
        for r in sect:
            b, p, q = cells[id(r)]
            lines.append("%-*s | %-*s | %-*s | %s" % (name_w, row_name(r), bw, b, pw, p, q))
    return lines[1:]


def accel_summary(rounds):
    """Per kernel, the accelerator of every boot in order; and whether they differ."""
    lines, seen = [], set()
    for k in ("base", "patched"):
        rs = sorted((r for r in rounds if r["kernel"] == k), key=lambda r: (r["round"], r["smp"]))
        seen.update(r["accel"] for r in rs if r["accel"] != "?")  # ?: the boot failed before
        lines.append("  %s: %s" % (k, ", ".join("r%d/%dcpu %s" % (r["round"], r["smp"], r["accel"]) for r in rs)))
    return lines, seen


# ------------------------------------------------------------------- targets


def targets(rows):
    """The issue's targets, each with the value that decides it."""
    out = []
    by = {(r["id"], r["metric"]): r for r in rows}

    def ok_row(r):
        return r is not None and r["status"] == "ok" and r["ratio"] is not None

    for r in rows:
        if r["bench"] == "local-storage-create" and ok_row(r):
            hi = r["hi"]
            met = (hi if hi is not None else r["ratio"]) >= 1.0
            out.append(("%s ratio >= 1.00 (no regression outside noise)" % r["id"],
                        fmt_ratio(r), "met" if met else "missed by %.1f%%" % ((1.0 - (hi or r["ratio"])) * 100)))
    for r in rows:
        if r["bench"] == "local-storage-delete-cost" and r["metric"] == "ns_per_pair":
            if r["base"]["status"] == "unsupported" and r["patched"]["status"] == "ok":
                out.append(("%s: patched deletes where base cannot" % r["id"],
                            "%s ns/pair" % fmt_num(r["patched"]["mean"]), "met"))
            elif ok_row(r):
                out.append(("%s per-delete cost patched <= base" % r["id"], fmt_ratio(r),
                            "met" if r["ratio"] <= 1.0 else "missed by %.1f%%" % ((r["ratio"] - 1.0) * 100)))
    for key in (("delete-counts-b32", "tt_per_delete"), ("backlog", "tt_per_delete")):
        r = by.get(key)
        if r is not None and r["patched"]["status"] == "ok":
            v = r["patched"]["mean"]
            out.append(("%s Tasks Trace callbacks/delete <= 0.05 (patched)" % key[0], "%.4f" % v,
                        "met" if v <= 0.05 else "missed by %.4f" % (v - 0.05)))
    close = sorted((r for r in rows if r["bench"] == "local-storage-map-close" and r["metric"] == "close_to_free_ms"),
                   key=lambda r: r["smp"])
    for r in close:
        if ok_row(r):
            out.append(("map close latency at %d vCPUs patched <= 1.5 x base" % r["smp"], fmt_ratio(r),
                        "met" if r["ratio"] <= 1.5 else "missed: %.2f x base" % r["ratio"]))
    done = [r for r in close if r["status"] == "ok" and r["patched"]["status"] == "ok" and r["base"]["status"] == "ok"]
    if len(done) >= 2:
        lo, hi = done[0], done[-1]
        pg = hi["patched"]["mean"] / lo["patched"]["mean"]
        bg = hi["base"]["mean"] / lo["base"]["mean"]
        out.append(("map close latency not growing with vCPUs (patched %d->%d vCPUs, base alongside)"
                    % (lo["smp"], hi["smp"]), "patched x%.2f, base x%.2f" % (pg, bg),
                    "met" if pg <= max(bg, 1.0) * 1.25 else "missed: grows x%.2f" % pg))
    r = by.get(("backlog", "drain_ms"))
    if r is not None and r["patched"]["status"] == "ok":
        v = r["patched"]["mean"]
        out.append(("backlog back to 0 within 1 s after the load stops (patched)", "%.0f ms" % v,
                    "met" if v <= 1000 else "missed by %.0f ms" % (v - 1000)))
    return out


# ---------------------------------------------------------------------- plot


def plot(out, rows, accel):
    order = [k for k, _ in SECTIONS]
    pr = [r for k in order for r in rows if r["kind"] == k and r["ratio"] is not None and r["ratio"] > 0]
    dat = os.path.join(out, "bench.dat")
    with open(dat, "w") as f:
        for i, r in enumerate(pr):
            lo = r["lo"] if r["lo"] is not None and r["lo"] > 0 else r["ratio"]
            hi = r["hi"] if r["hi"] is not None else r["ratio"]
            f.write('%d "%s" %g %g %g\n' % (i, row_name(r).replace('"', "'"), r["ratio"], lo, hi))
    png = os.path.join(out, "bench.png")
    script = """set terminal png size 1400,700 noenhanced
set output '%s'
set xrange [-0.6:%g]
set rmargin 12
set title 'local storage benchmarks: patched / base, 95%% interval (%s)'
set ylabel 'patched / base (log scale)'
set logscale y
set style fill solid 0.5
set boxwidth 0.6
set xtics rotate by -40 font ',8'
set grid ytics
set bmargin 14
plot '%s' using 1:3:xtic(2) with boxes notitle, '' using 1:3:4:5 with yerrorbars notitle lc rgb 'black' pt 0, 1 notitle lc rgb 'red'
""" % (png, len(pr) - 0.4, accel, dat)
    if not pr:
        return None
    try:
        subprocess.run(["gnuplot"], input=script, text=True, check=True, capture_output=True)
        return png
    except (OSError, subprocess.CalledProcessError) as e:
        print("plot: gnuplot failed: %s" % e, file=sys.stderr)
        return None


# ---------------------------------------------------------------------- main


def report(out):
    rounds = load_rounds(out)
    if not rounds:
        print("bench-report: no rounds in %s" % out, file=sys.stderr)
        return 1
    rows, errors, warnings = build_rows(rounds)
    acc_lines, accels = accel_summary(rounds)
    accel = "/".join(sorted(accels))
    nb = len({r["round"] for r in rounds if r["kernel"] == "base"})
    npt = len({r["round"] for r in rounds if r["kernel"] == "patched"})
    smps = sorted({r["smp"] for r in rounds})

    lines = table(rows, rounds)
    lines += ["",
              "%d rounds of base, %d of patched, alternating boots (vCPUs: %s); each cell is the mean \u00b1 sd"
              % (nb, npt, ", ".join(map(str, smps))),
              "of per-round results, each the mean of that boot's one-second samples (map close: of its closes);",
              "95% CI of the ratio: Fieller's interval, t at Welch-Satterthwaite df."]
    variants = {k: sorted({r.get("variant", k) for r in rounds if r["kernel"] == k}) for k in ("base", "patched")}
    if any(v != [k] for k, v in variants.items()):
        lines.append("Kernels compared: base = %s, patched = %s (vmtest.sh --kernel)."
                     % ("/".join(variants["base"]), "/".join(variants["patched"])))
    lines += ["Accelerator per boot (round/vCPUs):"] + acc_lines
    if len(accels) > 1:
        lines.append("WARNING: the accelerator changed between boots (%s): rounds are not comparable." % accel)
    if "tcg" in accels:
        lines.append("Note: TCG (software emulation) ran some or all boots: absolute numbers mean little,"
                     " compare the ratios.")
    tg = targets(rows)
    if tg:
        w = max(len(t[0]) for t in tg)
        lines += ["", "Targets:"] + ["  %-*s  %s  %s" % (w, a, b, c) for a, b, c in tg]
    if warnings:
        lines += ["", "Notes:"] + ["  " + w for w in warnings]
    if errors:
        lines += ["", "ERRORS:"] + ["  " + e for e in errors]
    text = "\n".join(lines)
    print(text)
    with open(os.path.join(out, "bench.txt"), "w") as f:
        f.write(text + "\n")

    doc = {
        "rounds": [dict({k: r[k] for k in ("kernel", "round", "smp", "suite", "vm_status", "accel", "dir")},
                        variant=r.get("variant", r["kernel"])) for r in rounds],
        "accelerators": sorted(accels),
        "sections": dict(SECTIONS),
        "rows": rows,
        "targets": [{"target": a, "value": b, "verdict": c} for a, b, c in tg],
        "warnings": warnings,
        "errors": errors,
    }
    with open(os.path.join(out, "bench.json"), "w") as f:
        json.dump(doc, f, indent=1)
    png = plot(out, rows, accel)
    if png:
        print("plot: %s" % png)
    print("table: %s, json: %s" % (os.path.join(out, "bench.txt"), os.path.join(out, "bench.json")))
    for e in errors:
        print("bench: FAILED: %s" % e, file=sys.stderr)
    return 1 if errors else 0


def main():
    if len(sys.argv) != 2:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    return report(sys.argv[1])


if __name__ == "__main__":
    sys.exit(main())
