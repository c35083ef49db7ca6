-- example_policy.lua: a connection policy, as a Momentum script writes it.
--
-- The host (example_host.c) loads this file once per lua_State and, for each
-- new connection, sets the connecting IP from C and calls
-- check_connection(limit).  The policy refuses a peer whose network (its
-- /24, or its /64 for IPv6) already holds more than `limit` SMTP sessions,
-- and reports what it counted so that the host can check it.

require('msys.audit')

-- The network and the site of a peer, by family.
local NET = { ipv4 = '/24', ipv6 = '/64' }
local SITE = { ipv4 = '/16', ipv6 = '/48' }
local ALL = { ipv4 = '0.0.0.0/0', ipv6 = '::/0' }

function check_connection(limit)
  local audit = msys.audit
  -- cidr() of a relative mask says which family the peer is
  local family = audit.cidr('/0') == '0.0.0.0/0' and 'ipv4' or 'ipv6'
  local net = audit.inbound_session_count(NET[family], 'SMTP')
  local r = {
    verdict = net > limit and 'reject' or 'accept',
    net = audit.cidr(NET[family]),                                     -- "10.1.2.0/24"
    smtp_net = net,
    smtp_site = audit.inbound_session_count(SITE[family], 'smtp'),    -- any case
    submission_peer = audit.inbound_session_count('/' .. (family == 'ipv4' and 32 or 128),
                                                  'Submission'),     -- the host's own service
    cluster_net = audit.inbound_session_count(NET[family], 'ECCluster'),  -- clustering only
    smtp_all = audit.inbound_session_count(ALL[family], 'SMTP'),
  }
  return r
end
