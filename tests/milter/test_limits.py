"""milter_postfix_limit: a Momentum policy's limits hold exactly in front of
a real Postfix: per address (IPv4 and IPv6), per IPv4 /24; the first N are
accepted, the next refused with 421; a 5xx keeps the policy's text; events
are counted; every count is zero once every session has ended."""

import sys
import time

from mtest import Rig, check, finish, limit_policy, need_root, wait_for

PHASES = """
function mod:validate_mailfrom(str, accept, vctx)
  if tostring(str):find("blocked@example.com", 1, true) then
    vctx:set_code(550, "5.7.1 sender blocked by sesscount policy");
    return msys.core.VALIDATE_DONE;
  end
  return msys.core.VALIDATE_CONT;
end

function mod:validate_rcptto(msg, str, accept, vctx)
  if tostring(str):find("nobody@", 1, true) then
    vctx:set_code(550, "5.1.1 no such user here");
    return msys.core.VALIDATE_DONE;
  end
  return msys.core.VALIDATE_CONT;
end
"""


def count_line(milter, kind, cidr):
    """kind's count under cidr over both windows of the 60,2 monitor: the
    test takes well under a minute but may straddle a minute's turn (it did
    once on CI: window 0 alone then missed the events of the minute before)."""
    rc, out = milter.ctl("show", "ip", cidr)
    counts = [int(line.split(": ")[1]) for line in out.splitlines()
              if line.startswith((kind + " 60/0: ", kind + " 60/1: "))]
    if len(counts) == 2:
        return sum(counts)
    check(False, "show ip %s has not both %s windows: %r" % (cidr, kind, out))
    return -1


def per_address(rig, source, limit):
    held = []
    for i in range(limit):
        c = rig.connect(source)
        check(c.banner[0] == 220, "%s connection %d of %d: banner %r" % (source, i + 1, limit, c.banner))
        held.append(c)
    c = rig.connect(source)
    check(c.banner[0] == 421, "%s connection %d (over the limit): banner %r, want 421"
          % (source, limit + 1, c.banner))
    check(c.closed_by_server(), "%s: Postfix kept the refused connection open" % source)
    c.drop()
    # the refused session was closed at the milter's close: exactly `limit` stay
    wait_for(lambda: rig.milter.sessions(source) == limit, 10, "%s back to %d" % (source, limit))
    check(rig.milter.sessions(source) == limit, "sessions of %s: %d, want %d"
          % (source, rig.milter.sessions(source), limit))
    return held


def main():
    need_root("milter_postfix_limit")
    binary = sys.argv[1]
    with Rig(binary, limit_policy(3, 5, 4, PHASES)) as rig:
        m = rig.milter
        held = per_address(rig, "127.0.0.2", 3)
        log = m.log()
        check("refused 127.0.0.2 at connect: 421 4.7.0 Too many simultaneous connections from: 127.0.0.2"
              in log, "the refusal is not in the milter's log:\n" + log)
        wait_for(lambda: "milter-reject: CONNECT from unknown[127.0.0.2]: 421" in rig.postfix.maillog(),
                 10, "Postfix to log the milter's 421")
        held += per_address(rig, "::1", 3)

        # per /24: five addresses of 127.0.1.0/24 in, the sixth refused
        for h in range(1, 6):
            c = rig.connect("127.0.1.%d" % h)
            check(c.banner[0] == 220, "127.0.1.%d: banner %r" % (h, c.banner))
            held.append(c)
        c = rig.connect("127.0.1.6")
        check(c.banner[0] == 421, "127.0.1.6 (6th in its /24): banner %r, want 421" % (c.banner,))
        c.drop()
        c = rig.connect("127.0.2.1")
        check(c.banner[0] == 220, "127.0.2.1 (another /24): banner %r" % (c.banner,))
        held.append(c)
        wait_for(lambda: m.sessions("127.0.1.0/24") == 5, 10, "127.0.1.0/24 back to 5")

        # a refusal later in the session keeps the policy's text and code
        c = held[0]
        check(c.cmd("EHLO client.example")[0] == 250, "EHLO refused")
        r = c.cmd("MAIL FROM:<blocked@example.com>")
        check(r[0] == 550 and "sender blocked by sesscount policy" in r[1],
              "MAIL FROM blocked@: %r, want 550 with the policy's text" % (r,))
        r = c.cmd("MAIL FROM:<someone@example.com>")
        check(r[0] == 250, "MAIL FROM someone@: %r" % (r,))
        r = c.cmd("RCPT TO:<nobody@example.net>")
        check(r[0] == 550 and "no such user here" in r[1], "RCPT nobody@: %r" % (r,))
        r = c.cmd("RCPT TO:<somebody@example.net>")
        check(r[0] == 250, "RCPT somebody@: %r" % (r,))
        check(c.cmd("DATA")[0] == 354, "DATA refused")
        r = c.cmd("Subject: t\r\n\r\nhello\r\n.")
        check(r[0] == 250, "end of data: %r" % (r,))
        wait_for(lambda: count_line(m, "Receptions", "127.0.0.2") == 1, 10, "a reception of 127.0.0.2")
        # rejections of 127.0.0.2: the 4th connection, the sender, the recipient
        check(count_line(m, "Rejections", "127.0.0.2") == 3, "rejections of 127.0.0.2: %d, want 3"
              % count_line(m, "Rejections", "127.0.0.2"))
        check(count_line(m, "Connections", "127.0.0.2") == 4, "connections of 127.0.0.2: %d, want 4"
              % count_line(m, "Connections", "127.0.0.2"))

        for c in held:
            c.quit()
        for cidr in ("0.0.0.0/0", "::/0"):
            wait_for(lambda: m.sessions(cidr) == 0, 15, "every session under %s to close" % cidr)
        check(m.stat("sessions_open") == 0, "stats sessions_open %d after all closed" % m.stat("sessions_open"))
    finish("milter_postfix_limit")


main()
