#!/usr/bin/env python3
"""milter_postfix.py: what sesscount-milter costs a real Postfix, measured
in one run: a private Postfix (tests/milter/mtest.py) accepts SMTP
connections (connect, banner, QUIT) from THREADS clients for SECONDS,
without a milter and then with sesscount-milter and the default policy;
the milter's own connect decision cost (its stats) is read after.  Needs
root.  Prints Google Benchmark JSON (rows milter/postfix_accepts/...) to
the file given, and a summary to stdout.

    milter_postfix.py MILTER_BINARY DEFAULT_POLICY OUT.json [SECONDS [THREADS]]
"""

import json
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


def row(name, rate):
    return {"name": name, "run_name": name, "run_type": "iteration", "iterations": 1,
            "real_time": 1e9 / rate if rate else 0, "cpu_time": 0, "time_unit": "ns",
            "accepts_per_s": rate}


def main():
    binary, policy, out = sys.argv[1], sys.argv[2], sys.argv[3]
    seconds = float(sys.argv[4]) if len(sys.argv) > 4 else 10
    threads = int(sys.argv[5]) if len(sys.argv) > 5 else 16
    mtest.need_root("milter_postfix bench")
    with open(policy) as f:
        pol = f.read()
    rates = {}
    with mtest.Rig(binary, pol, unix=os.environ.get("SC_MILTER_SOCKET") == "unix") as rig:
        # without: the same Postfix, smtpd_milters emptied for that phase
        rig.postfix.postfix("stop")
        time.sleep(1)
        conf = os.path.join(rig.postfix.conf, "main.cf")
        text = open(conf).read()
        with open(conf, "w") as f:
            f.write(text.replace("smtpd_milters =", "#smtpd_milters ="))
        rig.postfix.start()
        storm(rig.postfix.port, 1, threads)  # warm up
        rates["without"] = storm(rig.postfix.port, seconds, threads)
        rig.postfix.stop()
        with open(conf, "w") as f:
            f.write(text)
        rig.postfix.start()
        storm(rig.postfix.port, 1, threads)
        rates["with"] = storm(rig.postfix.port, seconds, threads)
        p50, p99 = rig.milter.stat("connect_p50_ns"), rig.milter.stat("connect_p99_ns")
        mtest.wait_for(lambda: rig.milter.stat("sessions_open") == 0, 30, "sessions to close")
    rows = [row("milter/postfix_accepts/without", rates["without"]),
            row("milter/postfix_accepts/with", rates["with"])]
    r = row("milter/postfix_connect_decision", 1e9 / max(p50, 1))
    r.update({"real_time": p50, "p50_ns": p50, "p99_ns": p99})
    rows.append(r)
    with open(out, "w") as f:
        json.dump({"context": {"threads": threads, "seconds": seconds}, "benchmarks": rows}, f, indent=1)
    print("postfix accepts/s: without milter %.0f, with %.0f (ratio %.2f); milter connect "
          "decision in Postfix's traffic: p50 %d ns, p99 %d ns"
          % (rates["without"], rates["with"], rates["with"] / rates["without"], p50, p99))
    sys.exit(1 if mtest.FAILURES else 0)


main()
