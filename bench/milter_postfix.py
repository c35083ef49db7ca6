#!/usr/bin/env python3
"""milter_postfix.py: what sesscount-milter costs, measured in one run.

1. mt_bench (milter/mt_bench.c): the connect decision alone (open, note,
   the default policy's validate_connect in a Lua state, reply) and the
   close, on 2 threads, no MTA.
2. A private Postfix (tests/milter/mtest.py) accepting SMTP connections
   (connect, banner, QUIT) from THREADS clients for SECONDS, alternately
   without a milter and with sesscount-milter and the default policy,
   ROUNDS times each; the medians are compared.  The milter's own connect
   cost inside that traffic comes from its stats.  Needs root.

Writes Google Benchmark-shaped JSON (rows milter/...) to OUT.json and a
summary to stdout.  scripts/bench --milter runs it.

    milter_postfix.py MILTER MT_BENCH DEFAULT_POLICY OUT.json [SECONDS [THREADS [ROUNDS]]]
"""

import json
import statistics
import subprocess
import os
import random
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "milter"))
import mtest  # noqa: E402


def storm(port, seconds, threads):
    counts = [0] * threads
    end = time.monotonic() + seconds

    def client(i):
        rng = random.Random(i)
        while time.monotonic() < end:
            src = "127.20.%d.%d" % (rng.randrange(256), rng.randrange(1, 255))
            try:
                c = mtest.Smtp(port, src, timeout=10)
                if c.banner[0] == 220:
                    c.quit()
                    counts[i] += 1
                else:
                    c.drop()
            except OSError:
                pass

    ts = [threading.Thread(target=client, args=(i,)) for i in range(threads)]
    t0 = time.monotonic()
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return sum(counts) / (time.monotonic() - t0)


def row(name, ns, **counters):
    r = {"name": name, "run_name": name, "run_type": "iteration", "iterations": 1,
         "real_time": ns, "cpu_time": ns, "time_unit": "ns"}
    r.update(counters)
    return r


def milter_phase(rig, on):
    """Restarts Postfix with smtpd_milters on or off."""
    conf = os.path.join(rig.postfix.conf, "main.cf")
    text = open(conf).read()
    text = text.replace("#smtpd_milters =", "smtpd_milters =")
    if not on:
        text = text.replace("smtpd_milters =", "#smtpd_milters =")
    rig.postfix.stop()
    with open(conf, "w") as f:
        f.write(text)
    rig.postfix.start()


def main():
    binary, mt_bench, policy, out = sys.argv[1:5]
    seconds = float(sys.argv[5]) if len(sys.argv) > 5 else 8
    threads = int(sys.argv[6]) if len(sys.argv) > 6 else 16
    rounds = int(sys.argv[7]) if len(sys.argv) > 7 else 3
    mtest.need_root("milter_postfix bench")
    d = json.loads(subprocess.run([mt_bench, policy, "2", "200000"], capture_output=True,
                                  text=True, check=True, timeout=300).stdout)
    rows = [row("milter/connect_decision/threads:2", d["connect_decision"]["p50_ns"],
                p50_ns=d["connect_decision"]["p50_ns"], p99_ns=d["connect_decision"]["p99_ns"],
                mean_ns=d["connect_decision"]["mean_ns"]),
            row("milter/close/threads:2", d["close"]["p50_ns"], p50_ns=d["close"]["p50_ns"],
                p99_ns=d["close"]["p99_ns"])]
    with open(policy) as f:
        pol = f.read()
    rates = {"without": [], "with": []}
    with mtest.Rig(binary, pol, unix=os.environ.get("SC_MILTER_SOCKET") == "unix") as rig:
        for _ in range(rounds):
            for phase in ("without", "with"):
                milter_phase(rig, phase == "with")
                storm(rig.postfix.port, 1, threads)  # warm up
                rates[phase].append(storm(rig.postfix.port, seconds, threads))
        p50, p99 = rig.milter.stat("connect_p50_ns"), rig.milter.stat("connect_p99_ns")
        mtest.wait_for(lambda: rig.milter.stat("sessions_open") == 0, 30, "sessions to close")
    med = {k: statistics.median(v) for k, v in rates.items()}
    for k in ("without", "with"):
        rows.append(row("milter/postfix_accepts/" + k, 1e9 / med[k], accepts_per_s=med[k],
                        rounds=rates[k]))
    rows.append(row("milter/postfix_connect_decision", p50, p50_ns=p50, p99_ns=p99))
    with open(out, "w") as f:
        json.dump({"context": {"threads": threads, "seconds": seconds, "rounds": rounds},
                   "benchmarks": rows}, f, indent=1)
    print("connect decision, no MTA, 2 threads: p50 %d ns, p99 %d ns (close: p50 %d ns)"
          % (d["connect_decision"]["p50_ns"], d["connect_decision"]["p99_ns"], d["close"]["p50_ns"]))
    print("postfix accepts/s, median of %d rounds of %gs: without milter %.0f %s, with %.0f %s "
          "(ratio %.2f)" % (rounds, seconds, med["without"], [round(x) for x in rates["without"]],
                            med["with"], [round(x) for x in rates["with"]], med["with"] / med["without"]))
    print("milter's connect decision inside Postfix's traffic: p50 %d ns, p99 %d ns" % (p50, p99))
    sys.exit(1 if mtest.FAILURES else 0)


main()
