"""milter_fleet: two sesscount-milters joined to one fleet over a private
Redis (cluster_* keys), a Momentum-style policy limiting the fleet's
sessions per /24 with inbound_cidr and the fleet's connections per /24 in
the last two minutes (msys.audit.connections with cluster = true), driven
by miltertest (fleet.mt.lua): both limits hold across the two milters, and
every session count falls back to zero on both once the sessions end.
Needs no root and no MTA."""

import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fleet"))
from ftest import Redis  # noqa: E402
from mtest import Milter, check, finish, wait_for  # noqa: E402

POLICY = """
require("msys.core");
require("msys.extended.vctx");
require("msys.audit");

local mod = {};

function mod:validate_connect(accept, vctx)
  if accept:inbound_session_count("/24", "inbound_cidr") > 3 then
    vctx:disconnect(421, "Too many connections from your network to this fleet");
    return msys.core.VALIDATE_DONE;
  end
  if msys.audit.connections("60,2", {cidr = "/24", startv = 0, endv = 1, cluster = true}) > 3 then
    vctx:disconnect(421, "Too many recent connections from your network to this fleet");
    return msys.core.VALIDATE_DONE;
  end
  return msys.core.VALIDATE_CONT;
end

msys.registerModule("fleetlimit", mod);
"""


def fleet_count(m, cidr):
    rc, out = m.ctl("show", "ip", cidr)
    for line in out.splitlines():
        if line.startswith("Sessions inbound_cidr: "):
            return int(line.split(": ")[1])
    check(False, "show ip %s has no inbound_cidr line: %r" % (cidr, out))
    return -1


def main():
    binary = sys.argv[1]
    here = os.path.dirname(os.path.abspath(__file__))
    dir = tempfile.mkdtemp(prefix="sc-milter-fleet-")
    redis = Redis(dir)
    ms = []
    try:
        for node in ("a", "b"):
            d = os.path.join(dir, node)
            os.mkdir(d)
            m = Milter(binary, d, POLICY, extra="cluster_redis = 127.0.0.1:%d\ncluster_name = mx\n"
                       "cluster_node = %s\ncluster_lease = 2\n" % (redis.port, node))
            m.start()
            ms.append(m)
        a, b = ms
        wait_for(lambda: all("cluster_state: live" in m.ctl("stats")[1] and
                             "cluster_nodes: 2" in m.ctl("stats")[1] for m in ms), 10,
                 "both milters to see a live fleet of two")
        r = subprocess.run(["miltertest", "-D", "porta=%d" % a.port, "-D", "portb=%d" % b.port, "-D", "here=" + here,
                            "-s", os.path.join(here, "fleet.mt.lua")],
                           capture_output=True, text=True, timeout=120)
        check(r.returncode == 0, "miltertest: %s%s" % (r.stdout, r.stderr))
        for m in ms:
            wait_for(lambda: m.stat("sessions_open") == 0, 15, "every session to close")
        wait_for(lambda: fleet_count(a, "192.0.2.0/24") == 0 and fleet_count(b, "192.0.2.0/24") == 0,
                 10, "the fleet's count of 192.0.2.0/24 to fall to zero on both")
        check(b.stat("refused") == 2 and a.stat("refused") == 2,
              "refused a=%d b=%d, want 2 each" % (a.stat("refused"), b.stat("refused")))
        for m in ms:
            check("joined cluster mx as node" in m.log(), "the join is logged:\n" + m.log())
    finally:
        for m in ms:
            m.stop()
        redis.stop()
        shutil.rmtree(dir, ignore_errors=True)
    finish("milter_fleet")


if __name__ == "__main__":
    main()
