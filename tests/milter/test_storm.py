"""milter_postfix_storm: at least 2,000 connections, 48 at a time, from 64
loopback addresses in two /24s, each ending its own way (QUIT, a drop after the banner,
a drop after EHLO, a drop in the middle of DATA, a whole message then QUIT,
a second QUIT-less RSET drop); the policy refuses some.  Once every client
has gone, every count is zero: show ip, show tree, top and stats agree.
Bounded: the storm stops at its count or at 180 s, whichever comes first."""

import random
import sys
import threading
import time

from mtest import Rig, check, finish, limit_policy, need_root, wait_for

TOTAL = 2400
THREADS = 48
DEADLINE = 180


def one(rig, rng, tally, lock):
    source = "127.8.%d.%d" % (rng.randrange(0, 2), rng.randrange(1, 33))
    way = rng.randrange(6)
    try:
        c = rig.connect(source)
    except OSError as e:
        with lock:
            tally["connect_error"] = tally.get("connect_error", 0) + 1
        return
    code = c.banner[0]
    with lock:
        tally[code] = tally.get(code, 0) + 1
    if code != 220:
        c.drop()
        return
    time.sleep(rng.random() * 0.03)  # hold it a little, so limits are reached
    if way == 0:
        c.quit()
    elif way == 1:
        c.drop()
    elif way == 2:
        c.cmd("EHLO storm.example")
        c.drop()
    elif way == 3:
        c.cmd("EHLO storm.example")
        c.cmd("MAIL FROM:<a@example.com>")
        c.cmd("RCPT TO:<b@example.net>")
        c.cmd("DATA")
        c.sock.sendall(b"Subject: half\r\n\r\nhalf a mess")
        c.drop()
    elif way == 4:
        c.cmd("EHLO storm.example")
        c.cmd("MAIL FROM:<a@example.com>")
        c.cmd("RCPT TO:<b@example.net>")
        c.cmd("DATA")
        c.cmd("Subject: whole\r\n\r\nhello\r\n.")
        c.quit()
    else:
        c.cmd("RSET")
        c.sock.sendall(b"NOOP")  # half a command, then gone
        c.drop()


def main():
    need_root("milter_postfix_storm")
    binary = sys.argv[1]
    with Rig(binary, limit_policy(2, 40)) as rig:
        m = rig.milter
        tally, lock = {}, threading.Lock()
        todo = iter(range(TOTAL))
        end = time.monotonic() + DEADLINE

        def worker(seed):
            rng = random.Random(seed)
            while time.monotonic() < end:
                with lock:
                    if next(todo, None) is None:
                        return
                one(rig, rng, tally, lock)

        threads = [threading.Thread(target=worker, args=(1000 + i,)) for i in range(THREADS)]
        t0 = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        took = time.monotonic() - t0
        done = sum(v for k, v in tally.items())
        print("storm: %d connections in %.1f s: %r" % (done, took, tally))
        check(done >= 2000, "only %d connections in %d s" % (done, DEADLINE))
        check(tally.get(421, 0) > 0, "the storm never reached a limit: %r" % tally)
        check(tally.get(220, 0) > 1000, "too few accepted: %r" % tally)

        wait_for(lambda: m.stat("sessions_open") == 0, 60, "sessions_open to reach 0")
        for cidr in ("0.0.0.0/0", "127.8.0.0/23", "127.8.1.7", "::/0"):
            check(m.sessions(cidr) == 0, "sessions under %s: %d after the storm" % (cidr, m.sessions(cidr)))
        rc, out = m.ctl("show", "tree", "0.0.0.0/0")
        check(rc == 0 and out.startswith("no sessions"), "show tree after the storm: %r" % out)
        rc, out = m.ctl("top", "10", "24")
        check(rc == 0 and out == "", "top 10 24 after the storm: %r" % out)
        check(m.stat("connects") >= done, "milter saw %d connects, clients made %d" % (m.stat("connects"), done))
        check(m.stat("refused") >= tally.get(421, 0), "milter refused %d, clients saw %d 421s"
              % (m.stat("refused"), tally.get(421, 0)))
    finish("milter_postfix_storm")


main()
