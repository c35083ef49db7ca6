-- fleet_node.lua: a fleet node in the stand-alone Lua module, for
-- tests/fleet/test_fleet.py: the same line protocol as fleet_node.c
-- (open, close, count, local, sweep, sweeplocal, status, quit, and the
-- series: time, note, sadd, sremove, ssweep, ssweeplocal, sstr, sstrlocal,
-- with the same series: connections of "60,5", flood, senders, mine).
--   lua5.4 fleet_node.lua HOST:PORT CLUSTER NODE LEASE   (LUA_CPATH finds msys/audit.so)
local redis, name, node, lease = arg[1], arg[2], arg[3], tonumber(arg[4])
local audit = require('msys.audit')
local series = require('msys.audit_series')
local now = 1800000000
audit.set_clock(function() return now end)
audit.configure{monitors = {"60,5"},
                cluster = {redis = redis, name = name, node = node, lease = lease}}
series.define('flood', 'cidr', 60, 5, {replicate = 'cluster'})
series.define('senders', 'string', 60, 5, {replicate = 'cluster'})
series.define('mine', 'cidr', 60, 5)

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

local function count(n) return math.tointeger(tonumber(n or 1)) end

-- a series' count over windows 0..4, of the fleet or this node's own
local function scount(s, key, fleet)
  local o = {startv = 0, endv = 4, cluster = fleet}
  if s == 'connections' then
    o.cidr = key
    return audit.connections('60,5', o)
  end
  o.key = key
  return series.count(s, o)
end

local function ssweep(s, addr, fleet)
  local max = addr:find(':', 1, true) and 128 or 32
  local out = {}
  for len = 0, max do out[#out + 1] = scount(s, addr .. '/' .. len, fleet) end
  return table.concat(out, ' ')
end

local commands = {
  time = function(t) now = math.tointeger(tonumber(t)) return 'ok' end,
  note = function(a, n) audit.note('connection', a, count(n)) return 'ok' end,
  sadd = function(s, k, n) series.add(s, {key = k, count = count(n)}) return 'ok' end,
  sremove = function(s, k) series.remove_item(s, k) return 'ok' end,
  ssweep = function(s, a) return ssweep(s, a, true) end,
  ssweeplocal = function(s, a) return ssweep(s, a, false) end,
  sstr = function(s, k) return tostring(scount(s, k, true)) end,
  sstrlocal = function(s, k) return tostring(scount(s, k, false)) end,
  open = function(a, n)
    n = count(n)
    open[a] = open[a] or {}
    for _ = 1, n do table.insert(open[a], audit.open(a, 'SMTP')) end
    return 'ok'
  end,
  close = function(a, n)
    n = count(n)
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
  local w = {}
  for word in line:gmatch('%S+') do w[#w + 1] = word end
  local cmd = w[1]
  if cmd == 'quit' then break end
  local f = commands[cmd]
  local ok, r = pcall(function() return f and f(table.unpack(w, 2)) or 'err unknown command' end)
  answer(ok and r or ('err ' .. tostring(r)))
end
