"""milter_config: the configuration file and the policies are checked at load,
each error naming the file, the line and what is wrong; Momentum's own
examples load unchanged; the control client answers and refuses as
documented.  Needs no root and no MTA."""

import os
import re
import shutil
import subprocess
import sys
import tempfile

from mtest import Milter, check, finish

BIN = sys.argv[1]
SRC = sys.argv[2]  # the source tree (for the shipped files)
DIR = tempfile.mkdtemp(prefix="sc-milter-config-")


def run(*args):
    r = subprocess.run([BIN, *args], capture_output=True, text=True, timeout=20)
    return r.returncode, r.stdout + r.stderr


def conf(body, name="milter.conf"):
    path = os.path.join(DIR, name)
    with open(path, "w") as f:
        f.write(body)
    return path


def policy(text, name="p.lua"):
    path = os.path.join(DIR, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def expect_check(conf_body, want, why):
    rc, out = run("-c", conf(conf_body), "--check")
    if want is None:
        check(rc == 0 and "OK" in out, "%s: --check failed: %r" % (why, out))
    else:
        check(rc == 1 and re.search(want, out), "%s: --check said %r (rc %d), want /%s/" % (why, out, rc, want))


KB_EXAMPLE = """require("msys.core");
require("msys.extended.vctx");
require("msys.audit");

local mod = {};

function mod:validate_connect(accept, vctx)
 local myipcount = msys.audit.inbound_session_count("/32", "SMTP");
 local max_con_per_ip = 2;
 local some_ip = "127.0.0.1";
 local this_ip = msys.expandMacro("%{spfv1:i}");
        if this_ip == some_ip then
         max_con_per_ip = 1;
        end
        print("IP: " .. this_ip .. "Sessions: " ..  myipcount);
        if myipcount > max_con_per_ip then
           vctx:disconnect(421, "Too many simultaneous connections from: " .. this_ip);
           return msys.core.VALIDATE_DONE;
         end
 return msys.core.VALIDATE_CONT;
end

msys.registerModule("connectionlimit", mod);
"""

EHLO_EXAMPLE = """require("msys.core")

local mod = {};

function mod:validate_ehlo(str, accept, vctx)
  print("ehlo string is:", msys.expandMacro("%{vctx_conn:ehlo_string}"));
  return msys.core.VALIDATE_CONT;
end

msys.registerModule("ehlo_phase", mod);
"""

DISCONNECT_EXAMPLE = """require("msys.core");
require("msys.extended.message");
require("msys.extended.vctx");

local mod = {};

function mod:validate_mailfrom(str, accept, vctx)
  str = tostring(str);
  if (string.find(str, "disconnect@example.com") ~= nil) then
    print("Disconnecting " .. str);
    vctx:disconnect(421, "Go away dude");
  return msys.core.VALIDATE_DONE;
end

return msys.core.VALIDATE_CONT;
end

msys.registerModule("vctx_disconnect", mod);
"""

AUDIT_EXAMPLE = """require("msys.core");
require("msys.audit");
local mod = {};
function mod:validate_mailfrom(str, ac, vctx)
  local conn = msys.audit.connections("60,1");
  local rcpt = msys.audit.receptions("60,1");
  local rejn = msys.audit.rejections("60,1");
  if conn > 100 and rejn > rcpt then
    vctx:set_code(450, "4.7.1 slow down");
    return msys.core.VALIDATE_DONE;
  end
  return msys.core.VALIDATE_CONT;
end
msys.registerModule("audit_limits", mod);
"""


def main():
    rc, out = run("--help")
    for word in ("NAME", "SYNOPSIS", "OPTIONS", "CONTROL COMMANDS", "SIGNALS", "show tree CIDR"):
        check(rc == 0 and word in out, "--help lacks %s" % word)
    rc, out = run("--bogus")
    check(rc == 2 and "--bogus" in out, "a bad argument: %r" % out)

    # the shipped example configuration and default policy
    shipped = open(os.path.join(SRC, "milter", "sesscount-milter.conf")).read()
    shipped = shipped.replace("/etc/sesscount-milter/default-policy.lua",
                              os.path.join(SRC, "milter", "default-policy.lua"))
    expect_check(shipped, None, "the shipped configuration")

    base = "socket = inet:1@127.0.0.1\n"
    expect_check(base + "sockett = x\n", r"milter\.conf:2: unknown key 'sockett'", "a misspelt key")
    expect_check("control = /x\n", r"milter\.conf:0: no 'socket'", "no socket")
    expect_check(base + "monitor = 60,0\n", r"milter\.conf:0: bad monitor '60,0'", "a bad monitor")
    expect_check(base + "socket = inet:2@127.0.0.1\n", r":2: 'socket' is set twice", "a key twice")
    expect_check(base + "on_policy_error = maybe\n", r":2: 'on_policy_error' has a value", "a bad action")
    expect_check(base + "policy_timeout = 0\n", r":2: 'policy_timeout' wants a whole number", "timeout 0")
    expect_check(base + "just words\n", r":2: 'just words' is not 'key = value'", "no equals sign")
    expect_check(base + "policy = /nonexistent/p.lua\n", r"cannot read policy /nonexistent/p.lua", "no policy file")
    # the fleet's keys: checked at load; --check does not join
    expect_check(base + "cluster_name = mx\n", r":0: cluster_\* keys without 'cluster_redis'",
                 "cluster keys without redis")
    expect_check(base + "cluster_redis = 127.0.0.1:1\ncluster_name = mx\n",
                 r":0: 'cluster_redis' needs 'cluster_name' and 'cluster_node'", "no cluster_node")
    expect_check(base + "cluster_lease = 0\n", r":2: 'cluster_lease' wants a whole number", "lease 0")
    fleet_policy = policy('require("msys.audit")\n'
                          'local n = msys.audit.inbound_session_count("192.0.2.0/24", "inbound_cidr")\n',
                          "fleet.lua")
    expect_check(base + "cluster_redis = 127.0.0.1:1\ncluster_name = mx\ncluster_node = a\n"
                 "cluster_lease = 3\npolicy = %s\n" % fleet_policy, None,
                 "a cluster section (inbound_cidr resolves)")
    expect_check(base + "policy = %s\n" % fleet_policy, r"needs clustering",
                 "inbound_cidr without a cluster section")

    # Momentum's examples load unchanged
    for name, text in (("kb", KB_EXAMPLE), ("ehlo", EHLO_EXAMPLE), ("disconnect", DISCONNECT_EXAMPLE),
                       ("audit", AUDIT_EXAMPLE)):
        expect_check(base + "monitor = 60,1\npolicy = %s\n" % policy(text, name + ".lua"), None,
                     "Momentum's %s example" % name)

    # what the milter does not provide fails at load, named, with its line
    bad = [
        ("function mod:validate_connect(", r"p\.lua:\d+: .*expected", "a syntax error"),
        ("require('msys.core')\nlocal x = msys.dnsLookup('a')\n", r"msys\.dnsLookup is not provided", "top level"),
        ("require('msys.core')\nlocal mod = {}\nfunction mod:validate_connect(a, v)\n"
         "  return msys.audit.inbound_session_total('/32', 'SMTP')\nend\n"
         "msys.registerModule('m', mod)\n", r"p\.lua:4: msys\.audit\.inbound_session_total is not provided",
         "inside a phase"),
        ("local mod = {}\nfunction mod:validate_connect(a, v)\n  -- msys.commented.out is fine\n"
         "  local s = 'msys.in_a_string too'\n  return msys.expandMacro('%{spfv1:z}')\nend\n"
         "msys.registerModule('m', mod)\n", r"p\.lua:5: msys\.expandMacro: macro %\{spfv1:z\} is not provided",
         "an unknown macro"),
        ("local mod = {}\nfunction mod:validate_auth(a, v) end\nmsys.registerModule('m', mod)\n",
         r"module 'm': validate_auth is a Momentum phase sesscount-milter does not run", "validate_auth"),
        ("require('msys.core')\nerror('policy refuses to load')\n", r"policy refuses to load", "a top-level error"),
        ("require('msys.nosuchmodule')\n", r"msys\.nosuchmodule", "an unknown module"),
    ]
    for text, want, why in bad:
        expect_check(base + "policy = %s\n" % policy(text), want, why)

    # the control socket, with no MTA: answers and refusals
    m = Milter(BIN, DIR, KB_EXAMPLE)
    m.start()
    try:
        rc, out = m.ctl("stats")
        check(rc == 0 and "sessions_open: 0" in out, "stats: %r" % out)
        rc, out = m.ctl("metrics")
        names = re.findall(r"^# TYPE (sesscount_milter_\w+) (gauge|counter)$", out, re.M)
        check(rc == 0 and len(names) >= 6, "metrics: %r" % out)
        for n, _ in names:
            check(re.search(r"^%s \d+$" % n, out, re.M), "metric %s has no sample: %r" % (n, out))
        rc, out = m.ctl("show", "ip", "10.0.0.256")
        check(rc == 1 and out.startswith("error: bad CIDR '10.0.0.256'") and "offset" in out,
              "show ip of a bad CIDR: %r" % out)
        rc, out = m.ctl("show", "ip", "10.0.0.0/8")
        check(rc == 0 and "Sessions SMTP: 0" in out and "Connections 60/0: 0" in out
              and "Connections 60/1: 0" in out, "show ip 10.0.0.0/8: %r" % out)
        rc, out = m.ctl("show", "tree", "0.0.0.0/0")
        check(rc == 0 and out.startswith("no sessions"), "show tree of nothing: %r" % out)
        rc, out = m.ctl("top", "5", "24")
        check(rc == 0 and out == "", "top of nothing: %r" % out)
        rc, out = m.ctl("top", "5", "129")
        check(rc == 1 and out.startswith("error: "), "top 5 129: %r" % out)
        rc, out = m.ctl("frobnicate")
        check(rc == 1 and "unknown command" in out, "an unknown command: %r" % out)
    finally:
        m.stop()
    rc, out = run("--control", os.path.join(DIR, "ctl.sock"), "--ctl", "stats")
    check(rc == 2 and "cannot reach the control socket" in out, "ctl with no daemon: %r" % out)
    shutil.rmtree(DIR, ignore_errors=True)
    finish("milter_config")


main()
