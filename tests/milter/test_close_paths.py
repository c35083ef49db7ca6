"""milter_postfix_close_paths: a session is closed in the table however it
ends: QUIT, a dropped client, a refusal at connect, a 421 from a later
phase, Postfix's idle timeout; and a restart of the milter leaves no drift
(sessions open before it close without having opened in the new process:
no error, nothing counted)."""

import sys
import time

from mtest import Rig, check, finish, limit_policy, need_root, wait_for

BYE = """
function mod:validate_mailfrom(str, accept, vctx)
  if tostring(str):find("bye@example.com", 1, true) then
    vctx:disconnect(421, "4.7.0 closing on policy");
    return msys.core.VALIDATE_DONE;
  end
  return msys.core.VALIDATE_CONT;
end
"""


def gone(m, source, what):
    wait_for(lambda: m.sessions(source) == 0, 15, "%s: the session of %s to close" % (what, source))


def main():
    need_root("milter_postfix_close_paths")
    binary = sys.argv[1]
    with Rig(binary, limit_policy(1, 50, 50, BYE), smtpd_timeout="3s") as rig:
        m = rig.milter

        c = rig.connect("127.0.5.1")
        check(m.sessions("127.0.5.1") == 1, "QUIT: session of 127.0.5.1 not counted")
        check(c.quit()[0] == 221, "QUIT refused")
        gone(m, "127.0.5.1", "QUIT")

        c = rig.connect("127.0.5.2")
        c.cmd("EHLO x")
        c.drop()
        gone(m, "127.0.5.2", "dropped socket")

        a = rig.connect("127.0.5.3")
        b = rig.connect("127.0.5.3")
        check(b.banner[0] == 421, "refusal at connect: banner %r" % (b.banner,))
        b.drop()
        wait_for(lambda: m.sessions("127.0.5.3") == 1, 15, "refused session closed, the first kept")
        a.quit()
        gone(m, "127.0.5.3", "refusal at connect")

        c = rig.connect("127.0.5.4")
        c.cmd("EHLO x")
        r = c.cmd("MAIL FROM:<bye@example.com>")
        check(r[0] == 421 and "closing on policy" in r[1], "421 at MAIL: %r" % (r,))
        check(c.closed_by_server(), "Postfix kept the session after a 421")
        gone(m, "127.0.5.4", "421 at MAIL")

        c = rig.connect("127.0.5.5")
        check(m.sessions("127.0.5.5") == 1, "timeout: session not counted")
        r = c.reply()   # Postfix's 421 timeout after smtpd_timeout (3 s)
        check(r[0] in (0, 421), "idle client: %r, want Postfix's 421 timeout or EOF" % (r,))
        gone(m, "127.0.5.5", "timeout")

        # restart: two sessions open, the milter stopped and started again
        old = [rig.connect("127.0.5.6"), rig.connect("::1")]
        check(m.sessions("127.0.5.6") == 1 and m.sessions("::1") == 1, "restart: sessions not counted")
        m.stop()
        m.start()
        check(m.sessions("0.0.0.0/0") == 0 and m.sessions("::/0") == 0,
              "after a restart nothing of before is counted")
        for c in old:
            c.quit()
        time.sleep(1)
        check(m.stat("sessions_open") == 0, "old sessions' ends moved the count: %d" % m.stat("sessions_open"))
        log = m.log()
        check("found no open session" not in log, "a close without its open was an error:\n" + log)
        c = rig.connect("127.0.5.6")
        check(c.banner[0] == 220, "after a restart: banner %r" % (c.banner,))
        check(m.sessions("127.0.5.6") == 1, "after a restart a new session counts 1, got %d"
              % m.sessions("127.0.5.6"))
        c.quit()
        gone(m, "127.0.5.6", "after restart")
        check(m.stat("sessions_open") == 0, "sessions_open %d at the end" % m.stat("sessions_open"))
    finish("milter_postfix_close_paths")


main()
