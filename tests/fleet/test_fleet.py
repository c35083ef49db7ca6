#!/usr/bin/env python3
"""test_fleet.py CASE FLEET_NODE: the fleet against a real Redis, one fault
per case, named for what it pins down (SPEC "The fleet").  Each case ends
with every fleet count checked exact: on every node, at every prefix length
of every address used, equal to the sum of the live nodes' own counts.

  converge       three nodes, rounds of random opens and closes: exact at
                 every quiescence; opening inbound_cidr is refused
  sigkill        a node killed with SIGKILL leaves the others' counts
                 within its lease
  restart        a node killed and started again under its name: its old
                 sessions never count twice
  redis_restart  Redis killed and started empty on its port: local counts
                 go on exact throughout, the view goes stale then local,
                 and everything is exact again within seconds
  partition      Redis stopped with SIGSTOP for more than a lease, then
                 continued: as above
  garbage        garbage, truncated, old-version and stray entries written
                 into the cluster's keys: refused and counted, no crash, no
                 other node's view touched, exact again after the victim's
                 next full state
  slow_resync    a node stopped (SIGSTOP) while another's log is trimmed
                 past where it was reading: it resyncs from the full state
  series         windowed counts with cluster = true: the built-in
                 connections, a named CIDR and a string series, replicated,
                 exact at every prefix length through negative adds, a
                 remove, full states, Redis restarted empty, a node killed
                 and a new one in its place; a series not replicated stays
                 each node's own; every window gone once the ring passes
  lua            msys.audit.configure{cluster = ...} in two stand-alone Lua
                 processes beside a C node: exact, sessions and series
                 (connections, msys.audit_series with cluster = true); a Lua process that exits
                 leaves at once (long before its lease)

test_fleet.py lua FLEET_NODE LUA_MODULE_DIR: the folder that holds msys/audit.so.
"""

import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ftest import CLUSTER, Rig, addresses, check, churn, exact, finish, mismatches, wait_for  # noqa

LEASE = 2


def three(rig, **kw):
    return [rig.node(n, lease=LEASE, **kw) for n in ("a", "b", "c")]


def converge(rig):
    nodes = three(rig)
    addrs = addresses(rig.rng, 40)
    model = {}
    for rnd in range(4):
        churn(rig.rng, nodes, addrs, 150, model)
        exact(nodes, addrs, 10, "round %d: the fleet's counts to be exact" % rnd)
    r = nodes[0].cmd("view 192.0.2.1")
    check(r.startswith("err inbound_cidr is a view"), "opening inbound_cidr answered %r" % r)
    for n in nodes:
        s = n.status()
        check(s["state"] == "live" and s["nodes"] == 3, "node %s status %r" % (n.name, s))
        check(s["refused"] == 0, "node %s refused entries of a healthy fleet: %r" % (n.name, s))
    # everything closed: every count is zero everywhere
    for (name, a), k in model.items():
        if k:
            [n for n in nodes if n.name == name][0].ok("close %s %d" % (a, k))
    wait_for(lambda: all(n.count("0.0.0.0/0") == 0 and n.count("::/0") == 0 for n in nodes),
             10, "every fleet count to fall to zero")


def sigkill(rig):
    a, b, c = three(rig)
    addrs = addresses(rig.rng, 20)
    churn(rig.rng, [a, b, c], addrs, 120, {})
    exact([a, b, c], addrs, 10, "the fleet's counts before the kill")
    c_own = c.local("0.0.0.0/0") + c.local("::/0")
    check(c_own > 0, "node c holds sessions before it is killed")
    t0 = time.monotonic()
    c.kill()
    rig.nodes.remove(c)
    gone = wait_for(lambda: not mismatches([a, b], addrs), LEASE + 3,
                    "node c to leave the counts of a and b within its lease")
    took = time.monotonic() - t0
    print("sigkill: node c left the counts after %.2fs (lease %ss)" % (took, LEASE))
    check(gone and took <= LEASE + 1.5, "node c took %.2fs to go, lease %ss" % (took, LEASE))
    for n in (a, b):
        check(n.status()["nodes"] == 2, "node %s still counts 3 nodes" % n.name)


def restart(rig):
    a, b, c = three(rig)
    addrs = addresses(rig.rng, 20)
    churn(rig.rng, [a, b, c], addrs, 120, {})
    exact([a, b, c], addrs, 10, "the fleet's counts before the restart")
    b.kill()
    rig.nodes.remove(b)
    b2 = rig.node("b", lease=LEASE)
    churn(rig.rng, [b2], addrs, 30, {})
    exact([a, b2, c], addrs, 10, "the counts with b restarted (its old sessions gone)")
    # and they stay so: nothing of the old incarnation comes back
    time.sleep(LEASE)
    check(not mismatches([a, b2, c], addrs), "counts drifted after the restart settled")


def outage(rig, fault):
    a, b, c = three(rig)
    addrs = addresses(rig.rng, 24)
    model = {}
    churn(rig.rng, [a, b, c], addrs, 120, model)
    exact([a, b, c], addrs, 10, "the fleet's counts before the fault")
    if fault == "kill":
        rig.redis.kill()
    else:
        rig.redis.signal(signal.SIGSTOP)
    seen = set()
    end = time.monotonic() + LEASE + 2.5
    while time.monotonic() < end:
        # local opens and closes carry on: each node's own counts stay exact
        churn(rig.rng, [a, b, c], addrs, 6, model)
        for n in (a, b, c):
            for addr in addrs[:3]:
                own = n.local(addr + ("/32" if "." in addr else "/128"))
                check(own == model.get((n.name, addr), 0),
                      "node %s: %s local count %d during the outage, opened %d"
                      % (n.name, addr, own, model.get((n.name, addr), 0)))
        seen.add(a.status()["state"])
        time.sleep(0.1)
    check("stale" in seen and "local" in seen,
          "node a's state during the outage went through %r, not stale then local" % seen)
    own_only = not mismatches([a], addrs)
    check(own_only, "node a counts only its own sessions once its view is local")
    if fault == "kill":
        rig.redis.start()   # the same port, empty
    else:
        rig.redis.signal(signal.SIGCONT)
    t0 = time.monotonic()
    exact([a, b, c], addrs, 15, "the fleet's counts after redis came back")
    print("%s: exact again %.2fs after redis came back" % (fault, time.monotonic() - t0))
    for n in (a, b, c):
        s = n.status()
        check(s["state"] == "live", "node %s status after the outage: %r" % (n.name, s))
        if fault == "kill":
            check(s["restarts"] >= 1, "node %s did not see redis restart: %r" % (n.name, s))


def redis_restart(rig):
    outage(rig, "kill")


def partition(rig):
    outage(rig, "stop")


def garbage(rig):
    a, b, c = three(rig)
    addrs = addresses(rig.rng, 20)
    churn(rig.rng, [a, b, c], addrs, 100, {})
    c.ok("open 198.18.0.9 5")   # c's alone: its view must never move
    exact([a, b, c], addrs, 10, "the fleet's counts before the garbage")
    r = rig.redis
    log, full = "sc:{%s}:log:b" % CLUSTER, "sc:{%s}:full:b" % CLUSTER
    good = r.cmd("GET", full)
    check(isinstance(good, bytes) and good[:3] == b"SCW", "b's full state is a batch")
    newer = good[:3] + b"\x02" + good[4:]
    bad = [b"garbage", good[:-5], newer, b"", good[:40]]
    for i, value in enumerate(bad):
        check(not isinstance(r.cmd("XADD", log, "*", "b", value), RuntimeError),
              "XADD of garbage %d" % i)
    r.cmd("XADD", log, "*", "x", "no batch field")
    r.cmd("SET", full, b"SCW\x01" + os.urandom(60))
    r.cmd("SADD", "sc:{%s}:nodes" % CLUSTER, "bad name!")
    r.cmd("XADD", "sc:{%s}:log:ghost" % CLUSTER, "*", "b", "boo")
    for _ in range(20):   # c's sessions in a's view never move meanwhile
        check(a.count("198.18.0.9/32") == 5, "a's view of c moved during the garbage")
        time.sleep(0.05)
    wait_for(lambda: a.status()["refused"] >= 2 and c.status()["refused"] >= 2, 10,
             "a and c to refuse the garbage")
    for n in (a, b, c):
        check(n.alive(), "node %s survived the garbage" % n.name)
    print("garbage: refused a=%d c=%d" % (a.status()["refused"], c.status()["refused"]))
    b.ok("open 192.0.2.200")   # b's next write finds its log vandalised: a full state
    exact([a, b, c], addrs + ["192.0.2.200", "198.18.0.9"], 10,
          "the counts after b's next full state")


def slow_resync(rig):
    extra = ["--full-bytes", "256"]
    a, b, c = [rig.node(n, lease=30, extra=extra) for n in ("a", "b", "c")]
    addrs = addresses(rig.rng, 30)
    churn(rig.rng, [a, b, c], addrs, 60, {})
    exact([a, b, c], addrs, 10, "the fleet's counts before c falls behind")
    before = c.status()["resyncs"]
    c.signal(signal.SIGSTOP)
    model = {}
    for _ in range(40):   # many ticks' worth of deltas: full states and trims
        churn(rig.rng, [a], addrs, 5, model)
        time.sleep(0.02)
    xlen = rig.redis.cmd("XLEN", "sc:{%s}:log:a" % CLUSTER)
    sent = a.status()["sent"]
    check(xlen < sent, "a's log was trimmed (%d entries of %d sent)" % (xlen, sent))
    c.signal(signal.SIGCONT)
    exact([a, b, c], addrs, 10, "the fleet's counts after c resynced")
    check(c.status()["resyncs"] > before, "c did not resync: %r" % c.status())


T0 = 1800000000   # the nodes' clock (fleet_node's `time`), driven by the test


def series_events(rng, nodes, addrs, keys, ops, model):
    """Random connections noted, adds (some negative) to the replicated
    "flood" and the string series "senders", and adds to "mine", which is
    not replicated.  model[(node, series, key)] = what each node added."""
    for _ in range(ops):
        n = rng.choice(nodes)
        what = rng.random()
        if what < 0.4:
            a, k = rng.choice(addrs), rng.randrange(1, 4)
            n.ok("note %s %d" % (a, k))
        elif what < 0.7:
            a, k = rng.choice(addrs), rng.choice([1, 2, 5, -1, -3])
            n.ok("sadd flood %s %d" % (a, k))
        elif what < 0.9:
            n.ok("sadd senders %s %d" % (rng.choice(keys), rng.randrange(1, 4)))
        else:
            n.ok("sadd mine %s 1" % rng.choice(addrs))


def series_exact(nodes, addrs, keys, seconds, what):
    for s in ("connections", "flood"):
        exact(nodes, addrs, seconds, "%s: %s" % (what, s), series=s)
    exact(nodes, keys, seconds, "%s: senders" % what, series="senders")


def set_time(nodes, t):
    for n in nodes:
        n.ok("time %d" % t)


def series(rig):
    """Windowed counts over the fleet: the built-in connections, a named
    CIDR series and a string series, replicated; sums exact at every prefix
    length over three windows, through negative adds, a remove, full
    states, a node killed and one started in its place, and a Redis that
    restarts empty; a series not replicated stays each node's own."""
    a, b, c = nodes = [rig.node("a", lease=LEASE), rig.node("b", lease=LEASE,
                       extra=["--full-bytes", "512"]), rig.node("c", lease=LEASE)]
    addrs = addresses(rig.rng, 16)
    keys = ["alice@example.org", "bob@example.net", "x"]
    for rnd in range(3):
        set_time(nodes, T0 + 60 * rnd)   # three windows of 60 s
        series_events(rig.rng, nodes, addrs, keys, 80, {})
        series_exact(nodes, addrs, keys, 10, "round %d: fleet series counts" % rnd)
    total = a.sweep("0.0.0.0", series="connections")[0]
    check(total > 0, "connections were counted (%d under 0.0.0.0/0)" % total)
    # not replicated: each node's own, cluster = true or not
    for n in nodes:
        for x in addrs[:4]:
            own, fleet = n.sweep(x, local=True, series="mine"), n.sweep(x, series="mine")
            check(own == fleet, "node %s: mine %s counts %r over the fleet, %r its own"
                  % (n.name, x, fleet, own))
    # a remove and a take of more than is held: only what they did travels
    b.ok("sremove flood %s" % addrs[0])
    a.ok("sadd flood %s -1000" % addrs[1])
    c.ok("sremove senders %s" % keys[0])
    series_exact(nodes, addrs, keys, 10, "after a remove and a take")
    check(b.sweep(addrs[0], local=True, series="flood")[-1] == 0,
          "b's remove left nothing of %s" % addrs[0])
    # Redis restarted empty: every node's full state carries its series
    rig.redis.kill()
    rig.redis.start()
    series_exact(nodes, addrs, keys, 15, "after redis restarted empty")
    # c killed: its events leave the others' counts within its lease
    c.kill()
    rig.nodes.remove(c)
    series_exact([a, b], addrs, keys, LEASE + 3, "c's events gone after its SIGKILL")
    c2 = rig.node("c", lease=LEASE)
    set_time([c2], T0 + 120)
    series_events(rig.rng, [c2], addrs, keys, 30, {})
    series_exact([a, b, c2], addrs, keys, 10, "a new c: its new events, not its old ones")
    # the ring moves on: at T0 + 600 every window is gone, here and in every replica
    set_time([a, b, c2], T0 + 600)
    for n in (a, b, c2):
        for x in ("0.0.0.0", "::"):
            left = n.sweep(x, series="flood")[0] + n.sweep(x, series="connections")[0]
            check(left == 0, "node %s: %d left under %s/0 once every window passed"
                  % (n.name, left, x))
    for n in (a, b, c2):
        s = n.status()
        check(s["refused"] == 0, "node %s refused entries of a healthy fleet: %r" % (n.name, s))


def lua(rig):
    moddir = sys.argv[3]
    a = rig.node("a", lease=10)
    b = rig.node("b", lease=10, lua=moddir)
    c = rig.node("c", lease=10, lua=moddir)
    addrs = addresses(rig.rng, 16)
    model = {}
    for rnd in range(2):
        churn(rig.rng, [a, b, c], addrs, 60, model)
        exact([a, b, c], addrs, 10, "round %d: exact with two Lua nodes" % rnd)
    s = b.status()
    check(s["state"] == "live" and s["nodes"] == 3, "Lua node b's cluster_status: %r" % s)
    # windowed counts with cluster = true, in Lua beside C
    keys = ["alice@example.org", "bob@example.net"]
    for rnd in range(2):
        set_time([a, b, c], T0 + 60 * rnd)
        series_events(rig.rng, [a, b, c], addrs, keys, 60, {})
        series_exact([a, b, c], addrs, keys, 10, "round %d: Lua's cluster = true" % rnd)
    t0 = time.monotonic()
    b.quit()
    rig.nodes.remove(b)
    exact([a, c], addrs, 5, "the counts once Lua node b exited")
    took = time.monotonic() - t0
    print("lua: an exiting Lua node left the counts after %.2fs (lease 10s)" % took)
    check(took < 5, "an exiting Lua node took %.2fs to leave: it did not leave cleanly" % took)


CASES = {f.__name__: f for f in (converge, sigkill, restart, redis_restart, partition, garbage,
                                  series,
                                 slow_resync, lua)}

if __name__ == "__main__":
    if len(sys.argv) != 3 + (sys.argv[1:2] == ["lua"]) or sys.argv[1] not in CASES:
        print(__doc__)
        sys.exit(2)
    rig = Rig(sys.argv[2])
    try:
        CASES[sys.argv[1]](rig)
    except Exception as e:   # a node that stopped answering: fail, with the logs kept
        check(False, "%s: %s: %s" % (sys.argv[1], type(e).__name__, e))
    finally:
        rig.close()
    finish("fleet_" + sys.argv[1])
