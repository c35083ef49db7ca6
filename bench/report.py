#!/usr/bin/python3
"""bench/report.py: reads sc_bench's Google Benchmark JSON.

  report.py table RESULTS.json [SERIES.json]  the table scripts/bench prints
  report.py compare BASELINE.json RESULTS.json [--threshold PCT] [--alpha P]
                    [--metric both|real|cpu]
                                             the regression gate (exit 1 on a regression)
  report.py plot RESULTS.json OUT.svg        ns per operation against open sessions
                                             (gnuplot; OUT.png for a PNG)

Run it with /usr/bin/python3 (Debian's, which has python3-scipy and
libbenchmark-tools' gbench module); only the standard library and, for
`compare`, gbench (which needs scipy) are used.

Times are real (wall-clock) time: the median of the repetitions when the run
had them, else the one run.  For a /threads:N row Google Benchmark's time is
the wall time per operation of all N threads together (1 / throughput).
"""
import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile

GBENCH_DIR = "/usr/share/benchmark"

IMPLS = ("fast", "peer", "ref")
MIXES = ("mta", "random4", "random6")
OPS = ("count_rel24", "count_rel32", "count_rel48", "count_rel64", "count_rel128",
       "count_short", "count_prefix", "count_text", "open_close", "mta_loop",
       "count_under_writes",
       # sc_series_bench (windowed counts); series_turn's time is its p99_ns
       "series_add", "series_count_rel24", "series_count_range", "series_turn")
LIMITS = ("dram_miss", "dram_miss_threads", "atomic_add", "atomic_add_contended")
NAME_RE = re.compile(r"^(?P<impl>fast|peer|ref)/(?P<op>[a-z0-9_]+)/(?P<mix>[a-z0-9]+)/(?P<n>\d+)"
                     r"(?P<rt>/real_time)?(?:/threads:(?P<thr>\d+))?$")
LIMIT_RE = re.compile(r"^limit/(?P<what>[a-z_]+)(?P<rt>/real_time)?(?:/threads:(?P<thr>\d+))?$")
NS = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}


def die(msg, code=2):
    print("report.py: " + msg, file=sys.stderr)
    sys.exit(code)


def load_all(paths):
    """Several results JSONs (sc_bench's, sc_series_bench's) as one."""
    data = load(paths[0])
    for p in paths[1:]:
        data["benchmarks"] = data["benchmarks"] + load(p)["benchmarks"]
    return data


def load(path):
    try:
        with open(path) as f:
            data = json.load(f)
    except (OSError, ValueError) as e:
        die("cannot read %s: %s" % (path, e))
    if "benchmarks" not in data:
        die("%s is not Google Benchmark JSON" % path)
    return data


def median(xs):
    xs = sorted(xs)
    n = len(xs)
    if n == 0:
        return None
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


class Result:
    """One benchmark: its repetitions' times and counters."""

    def __init__(self, name):
        self.name = name
        self.times = []      # ns, per repetition
        self.items = []      # items_per_second, per repetition
        self.dram = []       # the dram_ns probe after each repetition (fast rows)
        self.counters = {}
        self.error = None

    @property
    def ns(self):
        return median(self.times)

    @property
    def ips(self):
        return median(self.items)

    @property
    def per_dram(self):
        """The median over repetitions of time / the dram_ns probed right
        after it, in the same process; None without a probe each."""
        if not self.dram or len(self.dram) != len(self.times):
            return None
        return median([t / d for t, d in zip(self.times, self.dram) if d])


def results(data):
    """name -> Result, from the per-repetition rows (aggregates are recomputed)."""
    out = {}
    for b in data["benchmarks"]:
        if b.get("run_type", "iteration") != "iteration":
            continue
        name = b.get("run_name", b["name"])
        r = out.setdefault(name, Result(name))
        if b.get("error_occurred"):
            r.error = b.get("error_message", "error")
            continue
        if "p99_ns" in b:   # a latency row: its p99 is the figure
            r.times.append(b["p99_ns"])
        else:
            r.times.append(b["real_time"] * NS.get(b.get("time_unit", "ns"), 1.0))
        if "items_per_second" in b:
            r.items.append(b["items_per_second"])
        if "dram_ns" in b:
            r.dram.append(b["dram_ns"])
        for k in ("bytes_per_session", "bytes_per_event", "huge_page_fraction",
                  "writes_per_second", "writers"):
            if k in b:
                r.counters[k] = b[k]
    return out


def index(res):
    """(impl, op, mix, n, threads) -> Result, and limit -> Result."""
    rows, limits = {}, {}
    for name, r in res.items():
        m = NAME_RE.match(name)
        if m:
            key = (m["impl"], m["op"], m["mix"], int(m["n"]), int(m["thr"] or 1))
            rows[key] = r
            continue
        m = LIMIT_RE.match(name)
        if m:
            thr = int(m["thr"] or 1)
            limits[m["what"] if thr == 1 or m["what"] != "dram_miss" else "dram_miss_threads"] = r
            if thr > 1:
                r.counters["threads"] = thr
    return rows, limits


# ------------------------------------------------------------------ table

def fmt_ns(v):
    if v is None:
        return "-"
    if v < 10:
        return "%.2f" % v
    if v < 100:
        return "%.1f" % v
    return "%.0f" % v


def fmt_x(v):
    if v is None or v != v:
        return "-"
    return "%.2f" % v if v < 10 else "%.1f" % v


def op_order(op):
    return OPS.index(op) if op in OPS else len(OPS)


def mix_order(mix):
    return MIXES.index(mix) if mix in MIXES else len(MIXES)


def base_of(op, mix):
    """The figure a fast row is divided by: (label, row op) or the dram limit."""
    if op == "count_under_writes":
        return ("rel48", "count_rel48") if mix == "random6" else ("rel24", "count_rel24")
    return ("dram", None)


def table(data, out=sys.stdout):
    res = results(data)
    rows, limits = index(res)
    w = out.write
    ctx = data.get("context", {})
    w("sc_bench on %s, %s CPUs, %s; %s\n" % (
        ctx.get("host_name", "?"), ctx.get("num_cpus", "?"),
        "%s MHz" % ctx.get("mhz_per_cpu", "?"), ctx.get("date", "")))
    reps = max((len(r.times) for r in res.values()), default=0)
    w("times: real time in ns per operation, %s\n\n" % (
        "median of %d repetitions" % reps if reps > 1 else "one run"))

    dram = limits.get("dram_miss")
    l_dram = dram.ns if dram else None
    w("Limits (measured in this run)\n")
    w("  %-34s %9s  %s\n" % ("limit", "ns", "what"))
    descr = {
        "dram_miss": "one dependent random load, 1 GiB mmap + MADV_HUGEPAGE%s",
        "dram_miss_threads": "the same on %s threads at once (ns per load, as each thread sees "
                             "it; scale %s)",
        "atomic_add": "lock xadd on a private cache line",
        "atomic_add_contended": "lock xadd, 2 threads on one line (ns per add, as each thread sees it)",
    }
    for what in LIMITS:
        r = limits.get(what)
        d = descr[what]
        if what == "dram_miss":
            frac = r.counters.get("huge_page_fraction") if r else None
            d = d % ("" if frac is None else ", %.0f%% on huge pages" % (frac * 100))
        ns = r.ns if r else None
        if what == "dram_miss_threads":
            if not r:
                continue
            thr = int(r.counters.get("threads", 2))
            ns = ns * thr if ns is not None else None   # GB: per load of all threads together
            scale = (l_dram * thr / ns) if (l_dram and ns) else None
            d = d % (thr, "-" if scale is None else "%.2f" % scale)
        if r and what == "atomic_add_contended":
            ns = ns * 2 if ns is not None else None   # GB: per add of both threads together
        w("  %-34s %9s  %s\n" % ("limit/" + what, fmt_ns(ns), d))
    beside = sorted(x for (impl, *_), r in rows.items() if impl == "fast" for x in r.dram)
    if beside:
        w("  %-34s %9s  the same, probed after each repetition of each fast row, in its\n"
          "  %-34s %9s  process (median; %s to %s ns over %d probes): what fast/lim divides by\n" % (
              "dram_ns (beside the rows)", fmt_ns(median(beside)), "", "",
              fmt_ns(beside[0]), fmt_ns(beside[-1]), len(beside)))
    w("\n")

    keys = sorted({(op, mix, n, thr) for (impl, op, mix, n, thr) in rows},
                  key=lambda k: (op_order(k[0]), mix_order(k[1]), k[2], k[3]))
    hdr = ("operation", "mix", "sessions", "thr", "fast ns", "peer ns", "ref ns", "limit",
           "fast/lim", "fast/peer", "scale", "B/sess")
    fmtrow = "%-19s %-8s %9s %5s %9s %9s %10s %6s %8s %9s %6s %8s\n"
    w(fmtrow % hdr)
    w(fmtrow % tuple("-" * len(h) for h in hdr))
    last_op = None
    for (op, mix, n, thr) in keys:
        f = rows.get(("fast", op, mix, n, thr))
        p = rows.get(("peer", op, mix, n, thr))
        r = rows.get(("ref", op, mix, n, thr))
        fns = f.ns if f and not f.error else None
        pns = p.ns if p and not p.error else None
        rns = r.ns if r and not r.error else None
        if op == "count_under_writes":
            wr = (f or p or r).counters.get("writers")
            thr_s = "1+%dw" % wr if wr else "1+w"
        else:
            thr_s = str(thr)
        label, base_op = base_of(op, mix)
        lim = fx = scale = None
        if thr == 1:
            if base_op:
                b = rows.get(("fast", base_op, mix, n, 1))
                lim = b.ns if b else None
            else:
                lim = l_dram
            if fns is not None and lim:
                fx = fns / lim
            if not base_op and f and f.per_dram is not None and fns is not None:
                fx = f.per_dram
        else:
            label = ""
            one = rows.get(("fast", op, mix, n, 1))
            if f and one and f.ips and one.ips:
                scale = f.ips / one.ips
        fp = fns / pns if fns is not None and pns else None
        bps = f.counters.get("bytes_per_session", f.counters.get("bytes_per_event")) if f else None
        if last_op is not None and op != last_op:
            w("\n")
        last_op = op
        w(fmtrow % (op, mix, n, thr_s, fmt_ns(fns), fmt_ns(pns), fmt_ns(rns), label if fx else "",
                    fmt_x(fx), fmt_x(fp), fmt_x(scale), "-" if bps is None else "%.1f" % bps))
        for who, x in (("fast", f), ("peer", p), ("ref", r)):
            if x and x.error:
                w("    %s: %s\n" % (who, x.error))

    # Memory, per population.
    pops = {}
    for (impl, op, mix, n, thr), r in rows.items():
        if "bytes_per_session" in r.counters:
            pops.setdefault((mix, n), {})[impl] = r.counters["bytes_per_session"]
    if pops:
        w("\nBytes held per open session (sc_table_bytes or the peer's own count / sessions)\n")
        w("  %-8s %9s %10s %10s %10s %10s\n" % ("mix", "sessions", "fast", "peer", "ref",
                                               "peer/fast"))
        for (mix, n) in sorted(pops, key=lambda k: (mix_order(k[0]), k[1])):
            d = pops[(mix, n)]
            ratio = d["peer"] / d["fast"] if "peer" in d and d.get("fast") else None
            w("  %-8s %9d %10s %10s %10s %10s\n" % (
                mix, n, *("%.1f" % d[i] if i in d else "-" for i in IMPLS), fmt_x(ratio)))

    w("\nlimit: what fast/lim divides by: dram = the dram_ns probe (limit/dram_miss's walk,\n"
      "~65,000 loads) after each repetition of the row, in the row's own process, fast/lim the\n"
      "median of the repetitions' ratios (limit/dram_miss where a row has no probe);\n"
      "rel24/rel48 = fast's count_rel24 (count_rel48 for random6) of the same mix and\n"
      "sessions.  thr: threads\n"
      "(1+Nw: one timed counting thread and N writer threads).  /threads rows: ns is wall\n"
      "time per operation of all threads together; scale = their items/s over 1 thread's.\n"
      "\"-\": not run (peer and ref run only where they fit: see README).\n"
      "series_* rows (sc_series_bench): sessions = events per window of a \"60,6\" series\n"
      "holding six such windows; B/sess = bytes per event; series_turn: the p99 of adds\n"
      "timed one by one across turns that send a full window out of the ring.\n")


# ------------------------------------------------------------------ compare

def compare(base_path, new_path, threshold_pct, alpha, metric="both", out=sys.stdout):
    """The gate.  A benchmark regressed when its median time is more than
    threshold_pct percent slower than the baseline's and the Mann-Whitney U
    test over the repetitions gives p < alpha; `metric` says which time:
    "real", "cpu", or "both" (the default: real AND cpu time must both have
    regressed, so that time the benchmark spent descheduled by other load,
    which adds real time but no CPU time, is not taken for a regression)."""
    sys.path.insert(0, GBENCH_DIR)
    try:
        from gbench import report as gbr   # Debian's libbenchmark-tools
    except ImportError as e:
        die("cannot import gbench from %s (%s): install libbenchmark-tools and python3-scipy, "
            "and run this with /usr/bin/python3" % (GBENCH_DIR, e))
    base, new = load(base_path), load(new_path)
    diff = gbr.get_difference_report(base, new, utest=True)
    by_name = {d["name"]: d for d in diff}
    th = threshold_pct / 100.0
    w = out.write
    rows, untested, limits = [], [], []

    def judge(change, p):
        if change > th:
            return "slower" if p is not None and p < alpha else "slower?"
        if change < -th:
            return "faster" if p is not None and p < alpha else "faster?"
        return ""

    for d in diff:
        if d["run_type"] == "aggregate" or d["name"] == "OVERALL_GEOMEAN":
            continue
        name = d["name"]
        med = by_name.get(name + "_median")
        if med and med["measurements"]:
            m = med["measurements"][0]
        elif len(d["measurements"]) == 1:
            m = d["measurements"][0]
        else:
            continue
        ut = d.get("utest") or {}
        p_real, p_cpu = ut.get("time_pvalue"), ut.get("cpu_pvalue")
        if name.startswith("limit/"):
            # The machine, not the code: reported, never gated.
            limits.append((name, m["real_time"], m["real_time_other"], m["time"], p_real))
            continue
        if p_real is None:
            untested.append(name)
        real, cpu = judge(m["time"], p_real), judge(m["cpu"], p_cpu)
        gated = {"real": [real], "cpu": [cpu], "both": [real, cpu]}[metric]
        if all(v == "slower" for v in gated):
            verdict = "REGRESSED"
        elif all(v == "faster" for v in gated):
            verdict = "faster"
        elif real or cpu:
            verdict = "noted"
        else:
            verdict = ""
        rows.append(dict(name=name, base=m["real_time"], new=m["real_time_other"],
                         real=m["time"], cpu=m["cpu"], p_real=p_real, p_cpu=p_cpu,
                         verdict=verdict))
    if not rows:
        die("no benchmark in common between %s and %s" % (base_path, new_path))
    only_base = set(r["name"] for r in base["benchmarks"]) - set(r["name"] for r in new["benchmarks"])
    regressed = [r for r in rows if r["verdict"] == "REGRESSED"]
    what = {"real": "median real time", "cpu": "median CPU time",
            "both": "median real time AND median CPU time"}[metric]
    w("compare %s (baseline) -> %s\n" % (base_path, new_path))
    w("gate: %s more than %g%% slower, each with Mann-Whitney U test p < %g\n"
      "(gbench.report.get_difference_report; %d benchmarks in common; limit/* not gated)\n\n"
      % (what, threshold_pct, alpha, len(rows)))
    shown = [r for r in rows if r["verdict"]]
    if shown:
        f = "%-56s %9s %9s %8s %7s %8s %7s  %s\n"
        w(f % ("benchmark", "base ns", "new ns", "real", "p", "cpu", "p", "verdict"))
        pv = lambda p: "-" if p is None else "%.3f" % p
        for r in sorted(shown, key=lambda r: -r["real"]):
            w(f % (r["name"], fmt_ns(r["base"]), fmt_ns(r["new"]), "%+.1f%%" % (r["real"] * 100),
                   pv(r["p_real"]), "%+.1f%%" % (r["cpu"] * 100), pv(r["p_cpu"]), r["verdict"]))
        w("(noted: past the threshold in one time only, or not significant: not gated)\n\n")
    if limits:
        w("the machine's limits (not gated): %s\n" % "; ".join(
            "%s %s -> %s ns (%+.1f%%)" % (n[len("limit/"):], fmt_ns(a), fmt_ns(b), c * 100)
            for n, a, b, c, p in limits))
        moved = [n for n, a, b, c, p in limits if abs(c) > th and p is not None and p < alpha]
        if moved:
            w("WARNING: %s moved past %g%%: this machine is not in the state the baseline was "
              "taken in (other load, huge pages, frequency); changes above may be the "
              "machine's\n" % (", ".join(moved), threshold_pct))
    geo = by_name.get("OVERALL_GEOMEAN")
    if geo:
        w("overall geometric mean of real times: %+.1f%%\n" % (geo["measurements"][0]["time"] * 100))
    if untested:
        w("%d benchmark(s) had fewer than 2 repetitions on one side: no U test, not gated "
          "(run both with --benchmark_repetitions of 5 or more)\n" % len(untested))
    if only_base:
        w("%d benchmark(s) of the baseline did not run this time\n" % len(only_base))
    if regressed:
        w("\nFAIL: %d benchmark(s) regressed past %g%%:\n" % (len(regressed), threshold_pct))
        for r in regressed:
            w("  %s  real %+.1f%% (p = %.4f), cpu %+.1f%% (p = %.4f)\n" % (
                r["name"], r["real"] * 100, r["p_real"], r["cpu"] * 100, r["p_cpu"]))
        return 1
    if untested and len(untested) == len(rows):
        w("\nFAIL: nothing could be tested (no repetitions)\n")
        return 2
    w("\nPASS: no benchmark regressed past %g%% with p < %g\n" % (threshold_pct, alpha))
    return 0


# ------------------------------------------------------------------ plot

PANELS = ("count_rel24", "count_rel64", "count_prefix", "count_short", "count_text",
          "open_close", "mta_loop", "count_under_writes")
COLORS = {"fast": "#1f77b4", "peer": "#ff7f0e", "ref": "#2ca02c"}
DASH = {"mta": 1, "random4": 2, "random6": 3}


def plot(data, svg):
    res = results(data)
    rows, limits = index(res)
    lim = {k: (limits[k].ns * (2 if k == "atomic_add_contended" else 1))
           for k in LIMITS if k in limits and limits[k].ns and k != "dram_miss_threads"}
    sizes = sorted({k[3] for k in rows})
    if not sizes:
        die("no population benchmarks in the results to plot")
    xmin, xmax = sizes[0] / 2, sizes[-1] * 2
    if svg.endswith(".png"):
        term = 'set terminal pngcairo size 1500,1150 font "Helvetica,11" background rgb "white"'
    else:
        term = 'set terminal svg size 1500,1150 dynamic font "Helvetica,12" background rgb "white"'
    s = [term,
         'set output "%s"' % svg.replace('"', '\\"'),
         'set multiplot layout 3,3 title "sesscount: ns per operation (1 thread, median) against '
         'open sessions" font "Helvetica,15"',
         'set logscale xy', 'set xrange [%g:%g]' % (xmin, xmax),
         'set format x "10^{%L}"', 'set format y "10^{%L}"', 'set grid xtics ytics',
         'set key off', 'set xlabel "open sessions"', 'set ylabel "ns"',
         'set lmargin 9', 'set bmargin 4', 'set samples 2']
    legend = []
    for op in PANELS:
        series = []
        for impl in IMPLS:
            for mix in MIXES:
                pts = [(n, rows[(impl, op, mix, n, 1)].ns) for n in sizes
                       if (impl, op, mix, n, 1) in rows and rows[(impl, op, mix, n, 1)].ns]
                if pts:
                    series.append((impl, mix, pts))
        if not series:
            continue
        ys = [y for _, _, pts in series for _, y in pts] + list(lim.values())
        s.append('set title "%s" noenhanced' % op)
        s.append('set yrange [%g:%g]' % (min(ys) / 2, max(ys) * 2))
        parts = []
        for impl, mix, pts in series:
            block = "$%s_%s_%s" % (op, impl, mix)
            s.append("%s << EOD" % block)
            s.extend("%d %g" % p for p in pts)
            s.append("EOD")
            parts.append('%s using 1:2 with linespoints lw 2 pt 7 ps 0.6 lc rgb "%s" dt %d'
                         % (block, COLORS[impl], DASH[mix]))
            if (impl, mix) not in legend:
                legend.append((impl, mix))
        for k, dt in (("dram_miss", 2), ("atomic_add", 3), ("atomic_add_contended", 4)):
            if k in lim:
                parts.append('%g with lines lw 1.5 lc rgb "#555555" dt %d' % (lim[k], dt))
        s.append("plot " + ", \\\n     ".join(parts))
    # The last panel: the legend.
    s += ['unset title', 'unset border', 'unset tics', 'unset grid', 'unset xlabel',
          'unset ylabel', 'unset logscale', 'set xrange [0:1]', 'set yrange [0:1]',
          'set key center center box font "Helvetica,12" spacing 1.2']
    parts = ['NaN with linespoints lw 2 pt 7 lc rgb "%s" dt %d title "%s, %s" noenhanced'
             % (COLORS[i], DASH[m], i, m) for i, m in sorted(
                 legend, key=lambda x: (IMPLS.index(x[0]), MIXES.index(x[1])))]
    for k, dt in (("dram_miss", 2), ("atomic_add", 3), ("atomic_add_contended", 4)):
        if k in lim:
            parts.append('NaN with lines lw 1.5 lc rgb "#555555" dt %d title "limit/%s (%s ns)" '
                         'noenhanced' % (dt, k, fmt_ns(lim[k])))
    s.append("plot " + ", \\\n     ".join(parts))
    s.append("unset multiplot")
    with tempfile.NamedTemporaryFile("w", suffix=".gp", delete=False) as f:
        f.write("\n".join(s) + "\n")
        script = f.name
    try:
        r = subprocess.run(["gnuplot", script], capture_output=True, text=True)
    except FileNotFoundError:
        die("gnuplot not found: install gnuplot-nox (scripts/deps)")
    finally:
        os.unlink(script)
    if r.returncode != 0:
        die("gnuplot failed:\n" + r.stderr)
    print("plot written to %s" % svg)


# ------------------------------------------------------------------ main

def main():
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)   # `report.py table X | head` ends quietly
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("table", help="print the table of results JSONs (sc_bench's and "
                                     "sc_series_bench's)")
    t.add_argument("results", nargs="+")
    c = sub.add_parser("compare", help="gate RESULTS against BASELINE")
    c.add_argument("baseline")
    c.add_argument("results")
    c.add_argument("--threshold", type=float, default=10.0,
                   help="percent slower (median) that counts as a regression (default 10)")
    c.add_argument("--alpha", type=float, default=0.05,
                   help="U test p-value below which a change is real (default 0.05)")
    c.add_argument("--metric", choices=("both", "real", "cpu"), default="both",
                   help="which median time must have regressed: both real and CPU time "
                        "(default), or one of them")
    p = sub.add_parser("plot", help="write an SVG plot of a results JSON")
    p.add_argument("results")
    p.add_argument("svg")
    a = ap.parse_args()
    if a.cmd == "table":
        table(load_all(a.results))
    elif a.cmd == "compare":
        sys.exit(compare(a.baseline, a.results, a.threshold, a.alpha, a.metric))
    else:
        plot(load(a.results), a.svg)


if __name__ == "__main__":
    main()
