"""milter_sendmail_smoke: the same limit holds in front of Sendmail.  Debian's
sendmail-bin conflicts with postfix, so scripts/deps unpacks its packages
(not installed) into build/deps/sendmail; the test builds a .cf with m4
(a loopback daemon port, INPUT_MAIL_FILTER to the milter) and runs it in
the foreground under `unshare -u` with a dotted host name (without a dot
Sendmail waits 60 s at start).  Sendmail 8.17 answers a 421 at connect with
its own text ("closing connection"), as Postfix does."""

import os
import shutil
import signal
import subprocess
import sys
import tempfile

import mtest
from mtest import Milter, Smtp, check, finish, free_port, limit_policy, need_root, wait_for

MC = """divert(-1)
include(`{root}/usr/share/sendmail/cf/m4/cf.m4')
divert(0)dnl
VERSIONID(`sesscount smoke test')dnl
OSTYPE(`linux')dnl
define(`confDONT_PROBE_INTERFACES', `True')dnl
define(`QUEUE_DIR', `{dir}/queue')dnl
define(`confPID_FILE', `{dir}/sendmail.pid')dnl
define(`STATUS_FILE', `{dir}/statistics')dnl
define(`ALIAS_FILE', `')dnl
define(`confDEF_USER_ID', `nobody:nogroup')dnl
define(`confDONT_BLAME_SENDMAIL', `GroupReadableKeyFile,GroupWritableDirPathSafe')dnl
FEATURE(`no_default_msa')dnl
DAEMON_OPTIONS(`Port={port}, Addr=127.0.0.1, Name=MTA')dnl
INPUT_MAIL_FILTER(`sesscount', `S=inet:{mport}@127.0.0.1, F=T, T=C:5s;S:10s;R:10s;E:30s')dnl
MAILER(`smtp')dnl
"""


def main():
    need_root("milter_sendmail_smoke")
    binary, root = sys.argv[1], sys.argv[2]
    sendmail = os.path.join(root, "usr", "libexec", "sendmail", "sendmail")
    if not os.path.exists(sendmail):
        print("milter_sendmail_smoke: no unpacked Sendmail at %s (scripts/deps makes it)" % root)
        sys.exit(1 if os.environ.get("CI") else 77)
    dir = tempfile.mkdtemp(prefix="sc-sendmail-")
    os.chmod(dir, 0o755)
    os.makedirs(os.path.join(dir, "queue"), mode=0o700)
    m = Milter(binary, dir, limit_policy(2, 50))
    port = free_port()
    with open(os.path.join(dir, "sm.mc"), "w") as f:
        f.write(MC.format(root=root, dir=dir, port=port, mport=m.port))
    with open(os.path.join(dir, "sm.cf"), "w") as f:
        r = subprocess.run(["m4", os.path.join(dir, "sm.mc")], stdout=f, stderr=subprocess.PIPE,
                           text=True, timeout=30)
    check(r.returncode == 0, "m4: " + r.stderr)
    m.start()
    log = open(os.path.join(dir, "sendmail.log"), "w")
    sm = subprocess.Popen(["unshare", "-u", "sh", "-c",
                           "hostname mx.sesscount.test && exec %s -C %s/sm.cf -bD" % (sendmail, dir)],
                          stdout=log, stderr=log)
    held = []
    try:
        def up():
            try:
                Smtp(port, "127.0.0.254", timeout=5).drop()
                return True
            except OSError:
                return False
        wait_for(up, 30, "Sendmail to listen on %d" % port)
        for i in range(2):
            c = Smtp(port, "127.0.7.1")
            check(c.banner[0] == 220, "Sendmail: connection %d: banner %r" % (i + 1, c.banner))
            held.append(c)
        c = Smtp(port, "127.0.7.1")
        check(c.banner[0] == 421, "Sendmail: 3rd connection: %r, want 421" % (c.banner,))
        check("refused 127.0.7.1 at connect: 421 4.7.0 Too many simultaneous connections" in m.log(),
              "the refusal is not in the milter's log:\n" + m.log())
        c.drop()
        wait_for(lambda: m.sessions("127.0.7.1") == 2, 10, "127.0.7.1 back to 2 sessions")
        c = Smtp(port, "127.0.7.2")
        check(c.banner[0] == 220, "Sendmail: another address: %r" % (c.banner,))
        check(c.cmd("EHLO client.example")[0] == 250, "Sendmail: EHLO refused")
        held.append(c)
        for c in held:
            c.quit()
        wait_for(lambda: m.stat("sessions_open") == 0, 15, "every Sendmail session to close")
    finally:
        sm.send_signal(signal.SIGTERM)
        try:
            sm.wait(10)
        except subprocess.TimeoutExpired:
            sm.kill()
            sm.wait()
        m.stop()
        if mtest.FAILURES:
            print("--- sendmail log ---\n" + open(os.path.join(dir, "sendmail.log")).read()[-3000:])
            print("--- milter log ---\n" + m.log()[-3000:])
        shutil.rmtree(dir, ignore_errors=True)
    finish("milter_sendmail_smoke")


main()
