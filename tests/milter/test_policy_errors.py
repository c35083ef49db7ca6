"""milter_policy_errors: a policy that fails (a Lua error, a loop past
policy_timeout, a bad return value) gives the configured on_policy_error
action for that connection and a log line, never a crash; the daemon goes
on counting and deciding for everyone else."""

import sys

from mtest import Rig, check, finish, need_root, wait_for

POLICY = """
require("msys.core");
require("msys.audit");
local mod = {};
function mod:validate_connect(accept, vctx)
  local ip = msys.expandMacro("%{spfv1:i}");
  if ip == "127.0.4.1" then error("boom for " .. ip) end
  if ip == "127.0.4.2" then while true do end end
  if ip == "127.0.4.3" then return "yes" end
  if ip == "127.0.4.4" then local m = msys; return m.no_such_thing end  -- past the load-time scan
  if msys.audit.inbound_session_count("/32", "SMTP") > 1 then
    vctx:disconnect(421, "4.7.0 one is enough");
    return msys.core.VALIDATE_DONE;
  end
  return msys.core.VALIDATE_CONT;
end
msys.registerModule("faulty", mod);
"""


def main():
    need_root("milter_policy_errors")
    binary = sys.argv[1]
    with Rig(binary, POLICY, extra="on_policy_error = continue\npolicy_timeout = 100") as rig:
        m = rig.milter
        held = []
        for host, why in ((1, "boom for 127.0.4.1"), (2, "policy timeout"),
                          (3, "returned yes, not msys.core.VALIDATE_CONT"),
                          (4, "msys.no_such_thing is not provided by sesscount-milter")):
            src = "127.0.4.%d" % host
            c = rig.connect(src)
            check(c.banner[0] == 220, "%s (policy error, continue): banner %r" % (src, c.banner))
            check(c.cmd("EHLO x")[0] == 250, "%s: EHLO after a policy error" % src)
            held.append(c)
            check(m.sessions(src) == 1, "%s: session not counted after a policy error" % src)
            wait_for(lambda: ("policy error at connect from %s" % src) in m.log(), 5,
                     "the log line of %s's policy error" % src)
            line = [l for l in m.log().splitlines() if "policy error at connect from %s" % src in l]
            check(line and why in line[0], "%s: log says %r, want %r" % (src, line, why))
        check(m.stat("policy_errors") == 4, "stats policy_errors %d, want 4" % m.stat("policy_errors"))
        # everyone else is still decided on
        a = rig.connect("127.0.4.9")
        b = rig.connect("127.0.4.9")
        check(a.banner[0] == 220 and b.banner[0] == 421, "after errors: banners %r %r" % (a.banner, b.banner))
        held.append(a)
        b.drop()

        # on_policy_error = tempfail: Postfix answers 220, then 451 at MAIL
        m.write_conf("on_policy_error = tempfail\npolicy_timeout = 100")
        m.hup()
        c = rig.connect("127.0.4.1")
        check(c.banner[0] == 220, "tempfail at connect: banner %r (Postfix defers at MAIL)" % (c.banner,))
        c.cmd("EHLO x")
        r = c.cmd("MAIL FROM:<a@example.com>")
        check(r[0] == 451, "tempfail: MAIL answered %r, want 451" % (r,))
        c.drop()
        check(m.proc.poll() is None, "the milter died")
        for c in held:
            c.quit()
        wait_for(lambda: m.stat("sessions_open") == 0, 15, "every session to close")
    finish("milter_policy_errors")


main()
