#!/usr/bin/env python3
"""gate.py: the regression gate's noise-free half (scripts/bench --compare).

  gate.py run SC_GATE OUT.json [--sessions N] [--ops N]
      runs bench/gate.c's sc_gate under callgrind with a fixed simulated
      cache and writes, per phase (a path: count_v4_24, ..., open_close_v6),
      instructions (Ir), L1 data read misses (D1mr), last-level data read
      misses (DLmr) and mispredicted conditional branches (Bcm, callgrind's
      simulated predictor) per operation.
  gate.py compare BASE.json NEW.json [--threshold PCT] [--miss-threshold PCT]
      prints each phase's figures against the baseline's and exits 1 when
      any grew by more than its threshold (instructions: PCT, default 2;
      misses and mispredictions: default 5) and by more than a floor (0.5
      instructions, 0.02 misses or mispredictions an operation): a
      regression.  A baseline without Bcm is compared on the rest.
  gate.py selftest SC_GATE
      the gate on itself (CTest bench_gate): two runs of one binary agree
      (instructions exactly); a baseline made 10% cheaper on one path is a
      regression, and only that path is named.

Why it is noise-free: the same binary on the same input executes the same
instructions and, in a simulated cache of fixed geometry, misses the same
lines, whatever else the machine runs; two runs of an unchanged tree give
equal instruction counts. Misses move by up to 2% between runs of one
binary (what the kernel and the allocator place where differs a little even
without address randomisation, which is off, on one pinned CPU), hence
their wider threshold; mispredictions come from a simple simulated
predictor (a real one does better on patterns, as badly on random keys).
What it cannot see: time that is neither instructions, cache misses nor
mispredictions (a slower instruction mix, TLB misses, lock
contention between threads, the real DRAM latency, huge pages), and paths
it does not run (the phases are single-threaded counts and updates of
existing addresses; structural changes, series and the fleet are the timed
suite's).
"""

import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile

# A fixed geometry (not the host's): the figures compare across machines.
CACHE = ["--I1=32768,8,64", "--D1=32768,8,64", "--LL=4194304,16,64"]
EVENTS = ("Ir", "D1mr", "DLmr", "Bcm")
FLOOR = {"Ir": 0.5, "D1mr": 0.02, "DLmr": 0.02, "Bcm": 0.02}


def run(binary, out, sessions, ops):
    with tempfile.TemporaryDirectory(prefix="sc-gate-") as d:
        base = os.path.join(d, "cg.out")
        # no address randomisation: the same heap addresses, the same cache
        # sets, so misses repeat exactly too (when setarch can)
        norand = ["setarch", os.uname().machine, "-R"] if shutil.which("setarch") else []
        # one CPU: per-CPU stripes touch the same lines every run
        norand += ["taskset", "-c", "0"] if shutil.which("taskset") else []
        cmd = norand + ["valgrind", "--tool=callgrind", "--cache-sim=yes", "--branch-sim=yes",
               "--collect-atstart=no",
               "--callgrind-out-file=" + base] + CACHE + \
              [binary, "--sessions", str(sessions), "--ops", str(ops)]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit("gate.py: %s failed:\n%s%s" % (" ".join(cmd), r.stdout, r.stderr))
        phases = {}
        for f in sorted(glob.glob(base + ".*")):
            name, events, summary = None, None, None
            with open(f) as fh:
                for line in fh:
                    if line.startswith("desc: Trigger: Client Request: "):
                        name = line.split(": ", 3)[3].strip()
                    elif line.startswith("events: "):
                        events = line.split()[1:]
                    elif line.startswith("summary: "):
                        summary = [int(x) for x in line.split()[1:]]
            if name and events and summary is not None:
                summary += [0] * (len(events) - len(summary))   # trailing zeros are left out
                v = dict(zip(events, summary))
                phases[name] = {e: v.get(e, 0) / ops for e in EVENTS}
    if len(phases) != 6:
        sys.exit("gate.py: expected 6 phases from %s, read %d" % (binary, len(phases)))
    result = {"sessions": sessions, "ops": ops, "cache": CACHE, "phases": phases}
    with open(out, "w") as fh:
        json.dump(result, fh, indent=1, sort_keys=True)
    return result


def compare(base, new, threshold, miss_threshold):
    """The rows of a comparison and the regressions among them."""
    if base.get("sessions") != new.get("sessions") or base.get("ops") != new.get("ops") or \
            base.get("cache") != new.get("cache"):
        sys.exit("gate.py: the baseline was measured otherwise (sessions, ops or cache)")
    rows, bad = [], []
    for phase in sorted(base["phases"]):
        b, n = base["phases"][phase], new["phases"].get(phase)
        if n is None:
            bad.append("%s: missing from the new run" % phase)
            continue
        for e in (e for e in EVENTS if e in b and e in n):   # a baseline from before Bcm
            pct = 100.0 * (n[e] - b[e]) / b[e] if b[e] else (0.0 if n[e] == b[e] else float("inf"))
            worse = n[e] - b[e] > FLOOR[e] and pct > (threshold if e == "Ir" else miss_threshold)
            rows.append((phase, e, b[e], n[e], pct, worse))
            if worse:
                bad.append("%s %s/op %.2f -> %.2f (%+.1f%%)" % (phase, e, b[e], n[e], pct))
    return rows, bad


def selftest(binary):
    with tempfile.TemporaryDirectory(prefix="sc-gate-self-") as d:
        a = run(binary, os.path.join(d, "a.json"), 20000, 2000)
        b = run(binary, os.path.join(d, "b.json"), 20000, 2000)
    failures = []
    for phase in a["phases"]:
        if a["phases"][phase]["Ir"] != b["phases"][phase]["Ir"]:
            failures.append("%s: Ir/op %.2f then %.2f from one binary" % (
                phase, a["phases"][phase]["Ir"], b["phases"][phase]["Ir"]))
    _, bad = compare(a, b, 2.0, 5.0)
    if bad:
        failures.append("two runs of one binary flagged: %s" % "; ".join(bad))
    cheaper = json.loads(json.dumps(a))
    cheaper["phases"]["count_v4_24"]["Ir"] /= 1.10
    _, bad = compare(cheaper, b, 2.0, 5.0)
    if len(bad) != 1 or not bad[0].startswith("count_v4_24 Ir/op"):
        failures.append("a 10%% rise on count_v4_24 flagged as %r" % bad)
    for f in failures:
        print("FAIL: " + f)
    print("gate selftest: %s" % ("ok" if not failures else "%d failures" % len(failures)))
    return 1 if failures else 0


def main(argv):
    if len(argv) >= 3 and argv[0] == "run":
        opts = dict(zip(argv[3::2], argv[4::2]))
        run(argv[1], argv[2], int(opts.get("--sessions", 200000)), int(opts.get("--ops", 20000)))
        return 0
    if len(argv) >= 3 and argv[0] == "compare":
        opts = dict(zip(argv[3::2], argv[4::2]))
        threshold = float(opts.get("--threshold", 2))
        miss_threshold = float(opts.get("--miss-threshold", 5))
        with open(argv[1]) as f:
            base = json.load(f)
        with open(argv[2]) as f:
            new = json.load(f)
        rows, bad = compare(base, new, threshold, miss_threshold)
        print("%-14s %-5s %12s %12s %8s" % ("gate phase", "event", "base/op", "new/op", "change"))
        for phase, e, b, n, pct, worse in rows:
            print("%-14s %-5s %12.2f %12.2f %+7.1f%%%s" % (phase, e, b, n, pct, "  REGRESSION" if worse else ""))
        if bad:
            print("gate: %d regression(s): %s" % (len(bad), "; ".join(bad)))
            return 1
        print("gate: no regression (instructions past %.1f%%, simulated misses and mispredictions past %.1f%%)"
              % (threshold, miss_threshold))
        return 0
    if len(argv) == 2 and argv[0] == "selftest":
        return selftest(argv[1])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
