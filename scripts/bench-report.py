#!/usr/bin/env python3
"""Aggregate bench.sh rounds into one table, bench.json and bench.png.

Each round of a kernel gives one value per benchmark: the mean of its
one-second samples. The table shows, per benchmark, the mean +- standard
deviation of those per-round values for base and patched, and their ratio.
"""
import glob
import json
import os
import statistics
import subprocess
import sys

EXTRAS = ("kmallocs_per_create", "tt_callbacks_per_delete", "waiting_peak", "waiting_final")


def load(out):
    data = {}  # (bench, params) -> kernel -> list of result dicts
    for path in sorted(glob.glob(os.path.join(out, "*-*.jsonl"))):
        kernel = os.path.basename(path).split("-")[0]
        for line in open(path):
            line = line.strip()
            if not line:
                continue
            r = json.loads(line)
            data.setdefault((r["bench"], r["params"]), {}).setdefault(kernel, []).append(r)
    return data


def summarize(results, rounds):
    """Mean and stddev over rounds; "error" unless every round has a value."""
    if results and all(r.get("unsupported") for r in results):
        return {"unsupported": True}
    vals = [r["mean"] for r in results if "mean" in r]
    if len(vals) < rounds:
        errs = sorted({str(r.get("error")) for r in results if "mean" not in r})
        return {"error": "%d of %d rounds without a result (errors: %s)"
                % (rounds - len(vals), rounds, ", ".join(errs) or "none reported")}
    s = {"rounds": len(vals), "mean": statistics.mean(vals),
         "stddev": statistics.stdev(vals) if len(vals) > 1 else 0.0, "unit": results[0]["unit"]}
    for e in EXTRAS:
        xs = [r[e] for r in results if e in r]
        if xs:
            s[e] = statistics.mean(xs)
    return s


def fmt(s):
    if s.get("unsupported"):
        return "unsupported"
    if s.get("error"):
        return "ERROR"
    return "%.2f ± %.2fk" % (s["mean"] / 1000, s["stddev"] / 1000)


def main():
    out = sys.argv[1]
    data = load(out)
    accel = open(os.path.join(out, "accel")).read().strip() if os.path.exists(os.path.join(out, "accel")) else "?"
    # Rounds per kernel: one jsonl file per round
    nrounds = {k: len(glob.glob(os.path.join(out, "%s-*.jsonl" % k))) for k in ("base", "patched")}
    rows, errors = [], []
    for (bench, params), by_kernel in data.items():
        base = summarize(by_kernel.get("base", []), nrounds["base"])
        patched = summarize(by_kernel.get("patched", []), nrounds["patched"])
        # Only the base kernel may lack a benchmark (NMI delete)
        if patched.get("unsupported"):
            patched = {"error": "unsupported on the patched kernel"}
        for k, s in (("base", base), ("patched", patched)):
            if s.get("error"):
                errors.append("%s %s on %s: %s" % (bench, params, k, s["error"]))
        ratio = None
        if "mean" in base and "mean" in patched and base["mean"]:
            ratio = patched["mean"] / base["mean"]
        rows.append({"bench": bench, "params": params, "base": base, "patched": patched, "ratio": ratio})

    name_w = max(len("%s %s" % (r["bench"], r["params"])) for r in rows) if rows else 10
    lines = ["%-*s | %-18s | %-18s | %s" % (name_w, "benchmark", "base (/s)", "patched (/s)", "patched/base"),
             "-" * (name_w + 60)]
    for r in rows:
        lines.append("%-*s | %-18s | %-18s | %s" % (
            name_w, "%s %s" % (r["bench"], r["params"]), fmt(r["base"]), fmt(r["patched"]),
            "%.3f" % r["ratio"] if r["ratio"] is not None else "-"))
        for e in EXTRAS:
            if e in r["base"] or e in r["patched"]:
                b, p = r["base"].get(e), r["patched"].get(e)
                lines.append("%-*s   %s: base %s, patched %s" % (
                    name_w, "", e, "-" if b is None else "%.3f" % b, "-" if p is None else "%.3f" % p))
    lines.append("(%d rounds per kernel, alternating; mean ± stddev of per-round means; guest accel: %s)"
                 % (nrounds["base"], accel))
    if accel == "tcg":
        lines.append("Note: the guest ran under TCG (software emulation): absolute numbers mean little, compare the ratios.")
    table = "\n".join(lines)
    print(table)
    open(os.path.join(out, "bench.txt"), "w").write(table + "\n")
    json.dump({"accel": accel, "rows": rows, "errors": errors}, open(os.path.join(out, "bench.json"), "w"), indent=1)

    # Plot: patched/base ratio per benchmark
    plot_rows = [r for r in rows if r["ratio"] is not None]
    dat = os.path.join(out, "bench.dat")
    with open(dat, "w") as f:
        for i, r in enumerate(plot_rows):
            err = 0.0
            if r["base"]["mean"] and r["patched"]["mean"]:
                err = r["ratio"] * ((r["base"]["stddev"] / r["base"]["mean"]) ** 2 +
                                    (r["patched"]["stddev"] / r["patched"]["mean"]) ** 2) ** 0.5
            label = "%s %s" % (r["bench"].replace("local-storage-", ""), r["params"].replace("-p 1 ", "").replace("--storage-type ", "").replace("--batch-size ", "b"))
            f.write('%d "%s" %f %f\n' % (i, label, r["ratio"], err))
    png = os.path.join(out, "bench.png")
    script = """set terminal png size 1000,500
set output '%s'
set title 'local storage benchmarks: patched / base (%s)'
set ylabel 'patched / base'
set style fill solid 0.6
set boxwidth 0.6
set xtics rotate by -30
set yrange [0:*]
set grid ytics
plot '%s' using 1:3:xtic(2) with boxes notitle, '' using 1:3:4 with yerrorbars notitle lc rgb 'black', 1 notitle lc rgb 'red'
""" % (png, accel, dat)
    try:
        subprocess.run(["gnuplot"], input=script, text=True, check=True)
        print("plot: %s" % png)
    except (OSError, subprocess.CalledProcessError) as e:
        print("plot: gnuplot failed: %s" % e, file=sys.stderr)
    print("table: %s, json: %s" % (os.path.join(out, "bench.txt"), os.path.join(out, "bench.json")))
    if errors:
        for e in errors:
            print("bench: FAILED: %s" % e, file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
