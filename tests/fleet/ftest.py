"""ftest.py: what the fleet tests share: a private redis-server, nodes
(tests/fleet/fleet_node.c, one process each, so a crash is real), a tiny
RESP client to look at and vandalise the cluster's keys, and the exactness
check every case ends with.

Everything runs on loopback, on free ports, in one temp folder per test;
every process started here is stopped here, by its pid.  Every wait is
bounded by a deadline that fails the test when it passes.
"""

import os
import random
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from sctest import FAILURES, check, finish, free_port, wait_for  # noqa: E402,F401

CLUSTER = "mx"


class Redis:
    """A private redis-server: loopback, a free port, no persistence."""

    def __init__(self, dir):
        self.dir, self.port, self.proc = dir, free_port(), None
        self.start()

    def start(self):
        log = open(os.path.join(self.dir, "redis.log"), "a")
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", self.dir, "--daemonize", "no"],
            stdout=log, stderr=subprocess.STDOUT)
        wait_for(lambda: self.ping(), 10, "redis-server to answer on port %d" % self.port)

    def ping(self):
        try:
            return self.cmd("PING") == "PONG"
        except OSError:
            return False

    def signal(self, sig):
        self.proc.send_signal(sig)

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def cmd(self, *args):
        """One command, its reply decoded (bytes for bulk strings)."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=3) as s:
            out = b"*%d\r\n" % len(args)
            for a in args:
                a = a if isinstance(a, bytes) else str(a).encode()
                out += b"$%d\r\n%s\r\n" % (len(a), a)
            s.sendall(out)
            return _reply(s.makefile("rb"))

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


def _reply(f):
    line = f.readline()
    if not line:
        raise OSError("redis closed the connection")
    kind, rest = line[:1], line[1:-2]
    if kind == b"+":
        return rest.decode()
    if kind == b"-":
        return RuntimeError(rest.decode())
    if kind == b":":
        return int(rest)
    if kind == b"$":
        n = int(rest)
        if n < 0:
            return None
        data = f.read(n + 2)
        return data[:-2]
    if kind == b"*":
        n = int(rest)
        return None if n < 0 else [_reply(f) for _ in range(n)]
    raise OSError("bad reply %r" % line)


class Node:
    """One fleet_node process: a table joined to the cluster."""

    def __init__(self, binary, dir, redis, name, lease=2, extra=(), lua=None):
        self.name, self.dir = name, dir
        env = dict(os.environ)
        if lua:   # the stand-alone Lua module: lua = the folder that holds msys/audit.so
            self.args = ["lua5.4", os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                "fleet_node.lua"),
                         "127.0.0.1:%d" % redis.port, CLUSTER, name, str(lease)]
            env["LUA_CPATH"] = os.path.join(lua, "?.so") + ";;"
        else:
            self.args = [binary, "--redis", "127.0.0.1:%d" % redis.port, "--name", CLUSTER,
                         "--node", name, "--lease", str(lease)] + list(extra)
        self.log = os.path.join(dir, "node-%s.log" % name)
        self.proc = subprocess.Popen(self.args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=open(self.log, "a"), text=True, bufsize=1, env=env)
        check(self.read() == "ready", "node %s did not start (log %s)" % (name, self.log))

    def read(self, seconds=10):
        r, _, _ = select.select([self.proc.stdout], [], [], seconds)
        if not r:
            raise RuntimeError("node %s did not answer in %ss" % (self.name, seconds))
        return self.proc.stdout.readline().strip()

    def cmd(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        return self.read()

    def ok(self, line):
        r = self.cmd(line)
        check(r == "ok", "node %s: %r answered %r" % (self.name, line, r))

    def sweep(self, addr, local=False, series=None):
        """Counts at every prefix length of addr: inbound_cidr (or SMTP when
        local), or of a series when named (a string series: its one count
        of the key addr)."""
        if series == "senders":
            line = "%s %s %s" % ("sstrlocal" if local else "sstr", series, addr)
        elif series:
            line = "%s %s %s" % ("ssweeplocal" if local else "ssweep", series, addr)
        else:
            line = ("sweeplocal " if local else "sweep ") + addr
        r = self.cmd(line)
        check(not r.startswith("err"), "node %s: %r answered %r" % (self.name, line, r))
        return [int(x) for x in r.split()] if not r.startswith("err") else []

    def count(self, cidr):
        return int(self.cmd("count " + cidr))

    def local(self, cidr):
        return int(self.cmd("local " + cidr))

    def status(self):
        f = self.cmd("status").split()
        keys = ["state", "nodes", "age", "sent", "full_sent", "applied", "full_applied",
                "refused", "resyncs", "restarts", "disconnects"]
        return dict(zip(keys, [f[0]] + [float(x) if "." in x else int(x) for x in f[1:]]))

    def alive(self):
        return self.proc.poll() is None

    def signal(self, sig):
        self.proc.send_signal(sig)

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def quit(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            try:
                self.proc.stdin.write("quit\n")
                self.proc.stdin.flush()
                check(self.proc.wait(10) == 0, "node %s exited non-zero" % self.name)
            except (BrokenPipeError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait(10)
        with open(self.log) as f:
            text = f.read()
        for bad in ("ERROR: AddressSanitizer", "WARNING: ThreadSanitizer", "runtime error:",
                    "ERROR: LeakSanitizer"):
            check(bad not in text, "node %s: sanitizer report in %s" % (self.name, self.log))


def addresses(rng, n):
    """n addresses in a few shared /24s and /64s, so prefixes branch."""
    v4 = ["192.0.2.", "198.51.100.", "203.0.113.", "10.%d.7." % rng.randrange(256)]
    v6 = ["2001:db8:0:1::", "2001:db8:0:2::", "2001:db8:ff00:1::"]
    out = set()
    while len(out) < n:
        if rng.random() < 0.6:
            out.add(rng.choice(v4) + str(rng.randrange(1, 255)))
        else:
            out.add(rng.choice(v6) + "%x" % rng.randrange(1, 0xffff))
    return sorted(out)


def mismatches(nodes, addrs, series=None):
    """Where a node's fleet count (of inbound_cidr, or of a series) differs
    from the sum of the nodes' own, at every prefix length of every
    address; [] when all are exact."""
    bad = []
    for a in addrs:
        want = None
        for n in nodes:
            own = n.sweep(a, local=True, series=series)
            want = own if want is None else [x + y for x, y in zip(want, own)]
        for n in nodes:
            got = n.sweep(a, series=series)
            for length, (g, w) in enumerate(zip(got, want)):
                if g != w:
                    bad.append("node %s: %s%s/%d counts %d, the nodes' own sum to %d"
                               % (n.name, series + " " if series else "", a, length, g, w))
                    break
    return bad


def exact(nodes, addrs, seconds, what, series=None):
    """Waits until every fleet count is exact; fails with the first misses."""
    last = []

    def ok():
        last[:] = mismatches(nodes, addrs, series)
        return not last
    if not wait_for(ok, seconds, what):
        for m in last[:5]:
            check(False, m)


def churn(rng, nodes, addrs, ops, model):
    """Random opens and closes on the nodes; model[(node, addr)] = open."""
    for _ in range(ops):
        n = rng.choice(nodes)
        a = rng.choice(addrs)
        k = (n.name, a)
        if model.get(k, 0) and rng.random() < 0.45:
            m = rng.randrange(1, model[k] + 1)
            n.ok("close %s %d" % (a, m))
            model[k] -= m
        else:
            m = rng.randrange(1, 4)
            n.ok("open %s %d" % (a, m))
            model[k] = model.get(k, 0) + m


class Rig:
    """A temp folder, a Redis, nodes; everything stopped at the end."""

    def __init__(self, binary):
        self.binary = binary
        self.dir = tempfile.mkdtemp(prefix="sc-fleet-")
        self.redis = Redis(self.dir)
        self.nodes = []
        self.rng = random.Random(int(os.environ.get("SC_FLEET_SEED", "20261201")))

    def node(self, name, **kw):
        n = Node(self.binary, self.dir, self.redis, name, **kw)
        self.nodes.append(n)
        return n

    def close(self):
        for n in self.nodes:
            n.quit()
        self.redis.stop()
        if FAILURES:
            print("kept %s for a look" % self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)
