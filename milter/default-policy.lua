-- default-policy.lua: sesscount-milter's default policy.
--
-- Limits the SMTP sessions open at once per client address, per IPv4 /24
-- and per IPv6 /64.  A connection that would go past a limit is refused
-- with 421 (the MTA ends the session at once).  Each count includes the
-- connection being decided on, as in Momentum: a limit of 10 lets 10 in
-- and refuses the 11th.  Change the numbers here and send SIGHUP.
--
-- Written against Momentum's API: it runs unchanged in Momentum.

require("msys.core");
require("msys.extended.vctx");
require("msys.audit");

local PER_ADDRESS = 10   -- sessions per IPv4 or IPv6 address
local PER_IPV4_24 = 50   -- sessions per IPv4 /24
local PER_IPV6_64 = 50   -- sessions per IPv6 /64

local mod = {};

function mod:validate_connect(accept, vctx)
  local ip = msys.expandMacro("%{spfv1:i}");
  local ipv6 = string.find(ip, ":", 1, true) ~= nil;
  local here = msys.audit.inbound_session_count(ipv6 and "/128" or "/32", "SMTP");
  if here > PER_ADDRESS then
    vctx:disconnect(421, "4.7.0 Too many connections from " .. ip);
    return msys.core.VALIDATE_DONE;
  end
  local net, limit = "/24", PER_IPV4_24;
  if ipv6 then net, limit = "/64", PER_IPV6_64; end
  if msys.audit.inbound_session_count(net, "SMTP") > limit then
    vctx:disconnect(421, "4.7.0 Too many connections from your network");
    return msys.core.VALIDATE_DONE;
  end
  return msys.core.VALIDATE_CONT;
end

msys.registerModule("sesscount_default_limits", mod);
