#!/usr/bin/env python3
"""gate_trial.py BASE_SC_GATE PLANTED_SC_GATE OUTDIR: the gate's trial
(scripts/bench --gate-trial).

A baseline from this tree's sc_gate, then five more runs of it and five of
a build whose count path carries a planted slowdown (SC_PLANT=slow_count),
each held against the baseline by bench/gate.py: the gate passes its trial
when it flags 5 of 5 planted runs and 0 of 5 unchanged ones. It also times
both builds outside valgrind (1M sessions of each family, three runs each,
alternated, medians) to show what the planted slowdown costs in time.
"""

import os
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gate  # noqa: E402

TRIALS = 5


def flagged(base, binary, out):
    new = gate.run(binary, out, 200000, 20000)
    _, bad = gate.compare(base, new, 2.0, 5.0)
    return bad


def timed(binary):
    """count_v4_24 and count_v6_128 ns/op of one native run at 1M sessions."""
    r = subprocess.run([binary, "--sessions", "1000000", "--ops", "400000"], capture_output=True,
                       text=True, check=True)
    ns = {}
    for line in r.stdout.splitlines():
        f = line.split()
        if len(f) == 5 and f[2] == "ops":
            ns[f[0]] = float(f[3])
    return ns


def main(argv):
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    base_bin, planted_bin, outdir = argv
    os.makedirs(outdir, exist_ok=True)
    base = gate.run(base_bin, os.path.join(outdir, "base.json"), 200000, 20000)
    rows = []
    for kind, binary in (("unchanged", base_bin), ("planted", planted_bin)):
        for i in range(1, TRIALS + 1):
            bad = flagged(base, binary, os.path.join(outdir, "%s-%d.json" % (kind, i)))
            rows.append((kind, i, bad))
            print("%-9s %d: %s" % (kind, i, "; ".join(bad) if bad else "quiet"), flush=True)
    caught = sum(1 for k, _, bad in rows if k == "planted" and bad)
    false = sum(1 for k, _, bad in rows if k == "unchanged" and bad)
    times = {"base": [], "planted": []}
    for _ in range(3):
        times["base"].append(timed(base_bin))
        times["planted"].append(timed(planted_bin))
    print()
    for phase in ("count_v4_24", "count_v6_128"):
        b = statistics.median(t[phase] for t in times["base"])
        p = statistics.median(t[phase] for t in times["planted"])
        print("time, %s at 1M (native, medians of 3): %.1f -> %.1f ns/op (%+.1f%%)"
              % (phase, b, p, 100 * (p - b) / b))
    print("\ngate trial: %d of %d planted slowdowns caught, %d of %d unchanged runs flagged"
          % (caught, TRIALS, false, TRIALS))
    return 0 if caught == TRIALS and false == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
