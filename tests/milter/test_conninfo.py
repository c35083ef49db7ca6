"""milter_conninfo: limits per IPv6 address and per IPv6 /64, IPv4-mapped
peers counted as IPv4, and a peer of unknown family, driven with miltertest
(conninfo.mt.lua), since a loopback test has no IPv6 source but ::1.  The
script asserts each reply; this checks what the milter logged and counted.
Needs no root and no MTA."""

import os
import shutil
import subprocess
import sys
import tempfile

from mtest import Milter, check, finish, limit_policy, wait_for


def main():
    binary = sys.argv[1]
    here = os.path.dirname(os.path.abspath(__file__))
    dir = tempfile.mkdtemp(prefix="sc-milter-conninfo-")
    m = Milter(binary, dir, limit_policy(2, 50, 3))
    m.start()
    try:
        r = subprocess.run(["miltertest", "-D", "port=%d" % m.port, "-D", "here=" + here, "-s",
                            os.path.join(here, "conninfo.mt.lua")],
                           capture_output=True, text=True, timeout=120)
        check(r.returncode == 0, "miltertest: %s%s" % (r.stdout, r.stderr))
        wait_for(lambda: m.stat("sessions_open") == 0, 15, "every session to close")
        check(m.stat("connects") == 10, "connects %d, want 10" % m.stat("connects"))
        check(m.stat("refused") == 3, "refused %d, want 3" % m.stat("refused"))
        log = m.log()
        for line in ("refused 2001:db8:1:2::1 at connect: 421", "refused 2001:db8:1:2::3 at connect: 421",
                     "refused 127.0.9.1 at connect: 421"):
            check(line in log, "the log lacks %r:\n%s" % (line, log))
        check(m.sessions("::/0") == 0 and m.sessions("0.0.0.0/0") == 0, "counts left after every close")
    finally:
        m.stop()
        shutil.rmtree(dir, ignore_errors=True)
    finish("milter_conninfo")


main()
