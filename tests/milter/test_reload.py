"""milter_sighup: SIGHUP reloads the policy and keeps every open session; a
broken file (a syntax error, a policy naming what the milter lacks, a bad
configuration line) is refused with a log line and the old policy goes on
deciding."""

import sys

from mtest import Rig, check, finish, limit_policy, need_root, wait_for


def banners(rig, source, n):
    out = []
    for _ in range(n):
        out.append(rig.connect(source))
    return out


def main():
    need_root("milter_sighup")
    binary = sys.argv[1]
    with Rig(binary, limit_policy(2, 50)) as rig:
        m = rig.milter
        held = banners(rig, "127.0.6.1", 3)
        check([c.banner[0] for c in held] == [220, 220, 421], "limit 2: %r" % [c.banner for c in held])
        held[2].drop()
        held = held[:2]

        for broken, what in (("function mod:validate_connect(", "a syntax error"),
                             (limit_policy(9, 50).replace("msys.audit.inbound_session_count",
                                                          "msys.audit.inbound_session_total"),
                              "a missing function")):
            m.write_policy(broken)
            m.hup()
            check("reload refused" in m.log().splitlines()[-1], "%s: last log line %r" % (what, m.log().splitlines()[-1]))
            check(m.sessions("127.0.6.1") == 2, "%s: sessions changed by a refused reload" % what)
            c = rig.connect("127.0.6.1")
            check(c.banner[0] == 421, "%s: the old limit no longer holds: %r" % (what, c.banner))
            c.drop()
        if "inbound_session_total" not in m.log():
            check(False, "the missing name is not named in the log:\n" + m.log())

        m.write_policy(limit_policy(4, 50))
        m.write_conf("bogus_key = 1")
        m.hup()
        check("unknown key 'bogus_key'" in m.log(), "bad configuration line not named:\n" + m.log())
        m.write_conf()
        m.hup()
        check("reloaded" in m.log().splitlines()[-1], "good reload: %r" % m.log().splitlines()[-1])
        check(m.sessions("127.0.6.1") == 2, "sessions lost in a reload: %d" % m.sessions("127.0.6.1"))
        more = banners(rig, "127.0.6.1", 3)
        check([c.banner[0] for c in more] == [220, 220, 421], "new limit 4: %r" % [c.banner for c in more])
        wait_for(lambda: m.sessions("127.0.6.1") == 4, 10, "4 sessions under the new limit")
        check(m.stat("reloads") == 1 and m.stat("reload_failures") == 3,
              "stats reloads %d / failures %d, want 1 / 3" % (m.stat("reloads"), m.stat("reload_failures")))
        for c in held + more:
            c.drop()
        wait_for(lambda: m.stat("sessions_open") == 0, 15, "every session to close")
    finish("milter_sighup")


main()
