-- fleet_node.lua: a fleet node in the stand-alone Lua module, for
-- tests/fleet/test_fleet.py: the same line protocol as fleet_node.c
-- (open, close, count, local, sweep, sweeplocal, status, quit).
--   lua5.4 fleet_node.lua HOST:PORT CLUSTER NODE LEASE   (LUA_CPATH finds msys/audit.so)
local redis, name, node, lease = arg[1], arg[2], arg[3], tonumber(arg[4])
local audit = require('msys.audit')
audit.configure{cluster = {redis = redis, name = name, node = node, lease = lease}}

local open = {}   -- address -> list of sessions

local function answer(s) io.write(s, '\n') io.flush() end

local function sweep(addr, service)
  local max = addr:find(':', 1, true) and 128 or 32
  local out = {}
  for len = 0, max do
    out[#out + 1] = audit.inbound_session_count(addr .. '/' .. len, service)
  end
  return table.concat(out, ' ')
end

local commands = {
  open = function(a, n)
    open[a] = open[a] or {}
    for _ = 1, n do table.insert(open[a], audit.open(a, 'SMTP')) end
    return 'ok'
  end,
  close = function(a, n)
    for _ = 1, n do table.remove(open[a]):close() end
    return 'ok'
  end,
  count = function(c) return tostring(audit.inbound_session_count(c, 'inbound_cidr')) end,
  ['local'] = function(c) return tostring(audit.inbound_session_count(c, 'SMTP')) end,
  sweep = function(a) return sweep(a, 'inbound_cidr') end,
  sweeplocal = function(a) return sweep(a, 'SMTP') end,
  status = function()
    local s = audit.cluster_status()
    return string.format('%s %d %.3f %d %d %d %d %d %d %d %d', s.state, s.nodes, s.age,
                         s.batches_sent, s.full_sent, s.batches_applied, s.full_applied,
                         s.refused, s.resyncs, s.redis_restarts, s.disconnects)
  end,
}

answer('ready')
for line in io.lines() do
  local cmd, a, n = line:match('^(%S+)%s*(%S*)%s*(%d*)')
  if cmd == 'quit' then break end
  local f = commands[cmd]
  local ok, r = pcall(function() return f and f(a, tonumber(n) or 1) or 'err unknown command' end)
  answer(ok and r or ('err ' .. tostring(r)))
end
