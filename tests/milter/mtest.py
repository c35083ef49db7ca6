"""mtest.py: what the milter tests share: a sesscount-milter, a private
Postfix wired to it, and an SMTP client that picks its loopback source.

Everything runs on loopback (127.0.0.0/8 and ::1), on free ports, in one
temp folder per test; every process started here is stopped here, by its
pid.  Every wait is bounded: a helper that waits takes a deadline and fails
the test when it passes.  Postfix needs root (CI runs as root).
"""

import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from sctest import FAILURES, check, finish, free_port, wait_for  # noqa: E402,F401


def need_root(name):
    if os.geteuid() != 0:
        if os.environ.get("CI"):
            print("%s: needs root (a private Postfix), and CI runs as root" % name)
            sys.exit(1)
        print("%s: skipped: a private Postfix needs root" % name)
        sys.exit(77)


class Milter:
    """sesscount-milter with a config of ours, in dir."""

    def __init__(self, binary, dir, policy, extra="", unix=False):
        self.binary, self.dir = binary, dir
        self.port = free_port()
        # Postfix's form of the socket, and libmilter's
        self.unix_path = os.path.join(dir, "milter.sock") if unix else None
        self.postfix_spec = ("unix:" + self.unix_path) if unix else "inet:127.0.0.1:%d" % self.port
        self.ctl_path = os.path.join(dir, "ctl.sock")
        self.log_path = os.path.join(dir, "milter.log")
        self.policy_path = os.path.join(dir, "policy.lua")
        self.conf_path = os.path.join(dir, "milter.conf")
        self.write_policy(policy)
        self.write_conf(extra)
        self.proc = None

    def write_policy(self, text):
        with open(self.policy_path, "w") as f:
            f.write(text)

    def write_conf(self, extra=""):
        with open(self.conf_path, "w") as f:
            sock = ("unix:%s\nuser = postfix" % self.unix_path) if self.unix_path else \
                "inet:%d@127.0.0.1" % self.port
            f.write("socket = %s\ncontrol = %s\npolicy = %s\n"
                    "monitor = 60,2\nlog = stderr\n%s\n"
                    % (sock, self.ctl_path, self.policy_path, extra))

    def start(self):
        self.logf = open(self.log_path, "a")
        n = self.log().count("started:") if os.path.exists(self.log_path) else 0
        self.proc = subprocess.Popen([self.binary, "-c", self.conf_path],
                                     stdout=self.logf, stderr=self.logf)
        wait_for(lambda: self.log().count("started:") > n or self.proc.poll() is not None, 10,
                 "the milter to start")
        if not check(self.proc.poll() is None, "milter exited at start:\n" + self.log()):
            finish("milter did not start")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                check(False, "milter did not stop on SIGTERM within 10 s")
                self.proc.kill()
                self.proc.wait()
            check(self.proc.returncode == 0, "milter exit status %d after SIGTERM" % self.proc.returncode)
            log = self.log()
            for bad in ("Sanitizer", "runtime error:", "WARNING: ThreadSanitizer"):
                check(bad not in log, "the milter's log has %r:\n%s" % (bad, log[-6000:]))
        self.proc = None

    def hup(self):
        n = self.log().count("reload")
        self.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: self.log().count("reload") > n, 10, "the reload to be logged")

    def log(self):
        with open(self.log_path) as f:
            return f.read()

    def ctl(self, *cmd):
        r = subprocess.run([self.binary, "--control", self.ctl_path, "--ctl", *cmd],
                           capture_output=True, text=True, timeout=10)
        return r.returncode, r.stdout + r.stderr

    def sessions(self, cidr):
        rc, out = self.ctl("show", "ip", cidr)
        m = re.search(r"^Sessions SMTP: (\d+)$", out, re.M)
        check(rc == 0 and m, "show ip %s answered %r" % (cidr, out))
        return int(m.group(1)) if m else -1

    def stat(self, name):
        rc, out = self.ctl("stats")
        m = re.search(r"^%s: (\d+)$" % name, out, re.M)
        return int(m.group(1)) if m else -1


MAIN_CF = """\
compatibility_level = 3.6
queue_directory = {dir}/queue
data_directory = {dir}/data
mail_owner = postfix
myhostname = mx.sesscount.test
mydomain = sesscount.test
mydestination =
mynetworks = 127.0.0.0/8 [::1]/128
inet_interfaces = loopback-only
inet_protocols = all
smtpd_peername_lookup = no
smtpd_banner = $myhostname ESMTP sesscount-test
maillog_file = {dir}/maillog
maillog_file_prefixes = {dir}
alias_maps =
alias_database =
default_transport = discard:
relay_transport = discard:
local_transport = discard:
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_milters = {{ {mspec}, connect_timeout=5s, command_timeout=10s }}
milter_default_action = tempfail
smtpd_client_connection_count_limit = 0
smtpd_client_connection_rate_limit = 0
smtpd_timeout = {smtpd_timeout}
default_process_limit = 400
smtpd_error_sleep_time = 0
smtpd_soft_error_limit = 1000
smtpd_hard_error_limit = 1000
"""

MASTER_CF = """\
127.0.0.1:{port} inet n - n - - smtpd
[::1]:{port} inet n - n - - smtpd
cleanup unix n - n - 0 cleanup
qmgr unix n - n 300 1 qmgr
rewrite unix - - n - - trivial-rewrite
bounce unix - - n - 0 bounce
defer unix - - n - 0 bounce
trace unix - - n - 0 bounce
verify unix - - n - 1 verify
proxymap unix - - n - - proxymap
anvil unix - - n - 1 anvil
scache unix - - n - 1 scache
error unix - - n - - error
retry unix - - n - - error
discard unix - - n - - discard
postlog unix-dgram n - n - 1 postlogd
"""


class Postfix:
    """A private Postfix instance: its own config, queue and log in dir."""

    def __init__(self, dir, milter_spec, smtpd_timeout="30s"):
        self.dir = dir
        self.port = free_port()
        self.conf = os.path.join(dir, "postfix")
        os.makedirs(self.conf)
        for d in ("queue", "data"):
            os.makedirs(os.path.join(dir, d))
        shutil.chown(os.path.join(dir, "data"), "postfix", "postfix")
        os.chmod(dir, 0o755)
        with open(os.path.join(self.conf, "main.cf"), "w") as f:
            f.write(MAIN_CF.format(dir=dir, mspec=milter_spec, smtpd_timeout=smtpd_timeout))
        with open(os.path.join(self.conf, "master.cf"), "w") as f:
            f.write(MASTER_CF.format(port=self.port))
        self.running = False

    def postfix(self, *args):
        return subprocess.run(["/usr/sbin/postfix", "-c", self.conf, *args], capture_output=True,
                              text=True, timeout=60)

    def start(self):
        r = self.postfix("check")
        check(r.returncode == 0, "postfix check: " + r.stdout + r.stderr)
        r = self.postfix("start")
        check(r.returncode == 0, "postfix start: " + r.stdout + r.stderr)
        self.running = r.returncode == 0
        wait_for(lambda: self.banner_ok(), 20, "Postfix to listen on port %d" % self.port)

    def banner_ok(self):
        """Is Postfix listening?  Asked from 127.0.0.254, an address no test
        counts on."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=2,
                                          source_address=("127.0.0.254", 0)):
                return True
        except OSError:
            return False

    def master_pid(self):
        try:
            with open(os.path.join(self.dir, "queue", "pid", "master.pid")) as f:
                return int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def stop(self):
        if self.running:
            pid = self.master_pid()
            r = self.postfix("stop")
            check(r.returncode == 0, "postfix stop: " + r.stdout + r.stderr)
            if pid is not None:
                wait_for(lambda: not os.path.exists("/proc/%d" % pid), 20,
                         "Postfix's master (pid %d) to exit" % pid)
            self.running = False

    def maillog(self):
        try:
            with open(os.path.join(self.dir, "maillog"), errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""


class Smtp:
    """One SMTP client connection from a chosen loopback source address."""

    def __init__(self, port, source, timeout=15):
        fam = socket.AF_INET6 if ":" in source else socket.AF_INET
        dest = "::1" if fam == socket.AF_INET6 else "127.0.0.1"
        self.source = source
        self.sock = socket.socket(fam, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.bind((source, 0))
        self.sock.connect((dest, port))
        self.buf = b""
        self.banner = self.reply()

    def reply(self):
        """The next reply: (code, its lines' texts joined by newlines); (0, '')
        at EOF."""
        lines = []
        while True:
            while b"\r\n" not in self.buf:
                try:
                    data = self.sock.recv(4096)
                except (ConnectionResetError, socket.timeout):
                    data = b""
                if not data:
                    return (0, "") if not lines else (int(lines[-1][:3]), "\n".join(lines))
                self.buf += data
            line, self.buf = self.buf.split(b"\r\n", 1)
            line = line.decode(errors="replace")
            lines.append(line[4:])
            if len(line) < 4 or line[3] != "-":
                return (int(line[:3]) if line[:3].isdigit() else -1, "\n".join(lines))

    def cmd(self, text):
        try:
            self.sock.sendall(text.encode() + b"\r\n")
        except OSError:
            return (0, "")
        return self.reply()

    def closed_by_server(self):
        try:
            self.sock.settimeout(5)
            return self.sock.recv(1) == b""
        except OSError:
            return True

    def quit(self):
        r = self.cmd("QUIT")
        self.drop()
        return r

    def drop(self):
        try:
            self.sock.close()
        except OSError:
            pass


class Rig:
    """A milter and a Postfix wired to it, in a temp folder."""

    def __init__(self, binary, policy, extra="", smtpd_timeout="30s", unix=False):
        self.dir = tempfile.mkdtemp(prefix="sc-milter-")
        os.chmod(self.dir, 0o755)
        self.milter = Milter(binary, self.dir, policy, extra, unix)
        self.postfix = Postfix(self.dir, self.milter.postfix_spec, smtpd_timeout)

    def __enter__(self):
        self.milter.start()
        self.postfix.start()
        return self

    def __exit__(self, *exc):
        try:
            self.postfix.stop()
        finally:
            self.milter.stop()
        if FAILURES:
            print("--- milter log ---\n" + self.milter.log()[-4000:])
            print("--- maillog ---\n" + self.postfix.maillog()[-4000:])
        shutil.rmtree(self.dir, ignore_errors=True)

    def connect(self, source):
        return Smtp(self.postfix.port, source)


def limit_policy(per_ip, per_24, per_64=100, extra=""):
    """A Momentum-style policy: the knowledge base's connection limit, per
    address and per network."""
    return """
require("msys.core");
require("msys.extended.vctx");
require("msys.audit");

local mod = {};

function mod:validate_connect(accept, vctx)
  local ip = msys.expandMacro("%%{spfv1:i}");
  local here = msys.audit.inbound_session_count(ip:find(":") and "/128" or "/32", "SMTP");
  if here > %d then
    vctx:disconnect(421, "Too many simultaneous connections from: " .. ip);
    return msys.core.VALIDATE_DONE;
  end
  local net, limit = "/24", %d;
  if ip:find(":") then net, limit = "/64", %d; end
  if accept:inbound_session_count(net, "SMTP") > limit then
    vctx:disconnect(421, "Too many connections from your network");
    return msys.core.VALIDATE_DONE;
  end
  return msys.core.VALIDATE_CONT;
end

%s

msys.registerModule("connectionlimit", mod);
""" % (per_ip, per_24, per_64, extra)
