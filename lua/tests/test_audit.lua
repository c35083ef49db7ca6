-- test_audit.lua: the msys.audit module, every function and every error.
--
-- Runs two ways (lua/CMakeLists.txt):
--  - in the stock interpreter, the stand-alone module (msys/audit.so over
--    the process-wide fast table, clustering off);
--  - in tests/test_host.c, the module bound to a host table (ref or fast,
--    clustering off or on with the extra service "LMTP", or the
--    process-wide table).  The host sets the global `host`; see test_host.c.
-- Every check runs in every way unless it says otherwise.  Counts are
-- exact: nothing else opens sessions in these tables.  Ends with an error
-- when a check failed.

-- A global msys that already has fields: require keeps them.
msys = { keep = 'me', audit = 'replaced' }

local m = require('msys.audit')

local host = rawget(_G, 'host')
local clustering = host ~= nil and host.clustering
local mode = host and (host.impl .. (clustering and ' +clustering' or '')) or 'standalone'

-- ------------------------------------------------------------ harness
local checks, failures = 0, 0

local function fail(what)
  failures = failures + 1
  io.stderr:write(debug.traceback('FAIL: ' .. what, 3), '\n')
end

local function show(v)
  return type(v) == 'string' and string.format('%q', v) or tostring(v)
end

-- eq(got, want, what): equal values of the same type (and integer subtype)
local function eq(got, want, what)
  checks = checks + 1
  if got ~= want or math.type(got) ~= math.type(want) then
    fail(string.format('%s: got %s, want %s', what, show(got), show(want)))
  end
end

-- raises(want, f, ...): f(...) raises an error whose message, less the
-- "file:line: " Lua puts in front, is want
local function raises(want, f, ...)
  checks = checks + 1
  local ok, msg = pcall(f, ...)
  if ok then
    fail('no error; want: ' .. want)
    return
  end
  local got = type(msg) == 'string' and msg:gsub('^.-:%d+: ', '', 1) or msg
  if got ~= want then
    fail(string.format('error %s, want %s', show(msg), show(want)))
  end
end

-- Non-tail calls, so that Lua names the function in its errors.
local function count(cidr, svc) local n = m.inbound_session_count(cidr, svc) return n end
local function cidr(c) local t = m.cidr(c) return t end
local function setip(ip) local r = m.set_connecting_ip(ip) return r end
local function open(ip, svc) local s = m.open(ip, svc) return s end

-- bad(arg, fn, reason): the message of a bad argument
local function bad(arg, fn, reason)
  return string.format("bad argument #%d to '%s' (%s)", arg, fn, reason)
end

-- ------------------------------------------------------------ require, globals
eq(type(m), 'table', 'require returns a table')
eq(msys.audit, m, 'require sets msys.audit')
eq(msys.keep, 'me', 'require keeps the other fields of msys')
eq(package.loaded['msys.audit'], m, 'package.loaded')
eq(require('msys.audit'), m, 'a second require')
eq(rawget(_G, 'msys.audit'), nil, 'no flat global "msys.audit"')
do
  local names = {}
  for k, v in pairs(m) do names[#names + 1] = k .. ':' .. type(v) end
  table.sort(names)
  eq(table.concat(names, ' '),
     'cidr:function cluster_status:function configure:function connections:function inbound_session_count:function '
       .. 'note:function open:function receptions:function rejections:function set_clock:function '
       .. 'set_connecting_ip:function',
     'the module functions')
end

-- ------------------------------------------------------------ cidr
setip(nil)
eq(cidr('192.0.2.77/24'), '192.0.2.0/24', 'cidr clears host bits')
eq(cidr('192.0.2.77'), '192.0.2.77/32', 'cidr of an address')
eq(cidr('2001:DB8:0:0:1::/32'), '2001:db8::/32', 'cidr RFC 5952')
eq(cidr('2001:db8::1'), '2001:db8::1/128', 'cidr of an IPv6 address')
eq(cidr('[2001:db8::1]/64'), '2001:db8::/64', 'cidr with brackets')
eq(cidr('::1.2.3.4'), '::102:304/128', 'cidr: no dotted tail')
eq(cidr('::ffff:192.0.2.0/120'), '192.0.2.0/24', 'cidr: a mapped prefix is IPv4')
eq(cidr('0.0.0.0/0'), '0.0.0.0/0', 'cidr /0')
eq(cidr('::/0'), '::/0', 'cidr ::/0')
raises(bad(1, 'cidr', 'invalid cidr "/24": relative mask needs a connecting IP at offset 0'),
       cidr, '/24')
raises(bad(1, 'cidr', 'invalid cidr "10/8": IPv4 address needs four octets at offset 2'),
       cidr, '10/8')
raises(bad(1, 'cidr', 'string expected, got no value'), function() local t = m.cidr() return t end)
raises(bad(1, 'cidr', 'string expected, got nil'), cidr, nil)
raises(bad(1, 'cidr', 'string expected, got table'), cidr, {})

-- ------------------------------------------------------------ set_connecting_ip
setip('192.0.2.77')
eq(cidr('/24'), '192.0.2.0/24', 'relative /24 of an IPv4 peer')
eq(cidr('/32'), '192.0.2.77/32', 'relative /32')
eq(cidr('/0'), '0.0.0.0/0', 'relative /0 of an IPv4 peer')
raises(bad(1, 'cidr', 'invalid cidr "/64": mask out of range at offset 2'), cidr, '/64')
eq(cidr('198.51.100.9/16'), '198.51.0.0/16', 'an explicit prefix ignores the connecting IP')
setip('2001:db8:1:2::7')
eq(cidr('/48'), '2001:db8:1::/48', 'relative /48 of an IPv6 peer')
eq(cidr('/24'), '2001:d00::/24', '/24 of an IPv6 peer is an IPv6 /24')
eq(cidr('/0'), '::/0', 'relative /0 of an IPv6 peer')
raises(bad(1, 'cidr', 'invalid cidr "/129": mask out of range at offset 3'), cidr, '/129')
setip('::ffff:192.0.2.77')
eq(cidr('/24'), '192.0.2.0/24', 'an IPv4-mapped connecting IP is IPv4')
setip(nil)
raises(bad(1, 'cidr', 'invalid cidr "/24": relative mask needs a connecting IP at offset 0'),
       cidr, '/24')
setip('192.0.2.77')
m.set_connecting_ip()                       -- no argument clears it too
raises(bad(1, 'inbound_session_count',
           'invalid cidr "/24": relative mask needs a connecting IP at offset 0'),
       count, '/24', 'SMTP')
setip('192.0.2.77')
raises(bad(1, 'set_connecting_ip', 'invalid ip "192.0.2.0/24": an address takes no mask at offset 9'),
       setip, '192.0.2.0/24')
eq(cidr('/24'), '192.0.2.0/24', 'a refused ip changes nothing')
raises(bad(1, 'set_connecting_ip', 'invalid ip "": empty input at offset 0'), setip, '')
raises(bad(1, 'set_connecting_ip', 'invalid ip "fe80::1%eth0": zone id not allowed at offset 7'),
       setip, 'fe80::1%eth0')
raises(bad(1, 'set_connecting_ip', 'invalid ip "10.0.0.256": octet out of range at offset 9'),
       setip, '10.0.0.256')
raises(bad(1, 'set_connecting_ip', 'string expected, got table'), setip, {})
raises(bad(1, 'set_connecting_ip', 'string expected, got boolean'), setip, false)
setip(nil)

-- ------------------------------------------------------------ open, count, close
eq(count('0.0.0.0/0', 'SMTP'), 0, 'an empty table (IPv4)')
eq(count('::/0', 'SMTP'), 0, 'an empty table (IPv6)')
do
  local a = open('192.0.2.1', 'SMTP')
  local b = open('192.0.2.1', 'smtp')         -- sessions may share an address
  local c = open('192.0.2.200', 'SmTp')
  local d = open('192.0.3.1', 'SMTP')
  local e = open('192.0.2.1', 'ECStream')
  local f = open('2001:db8:1:2::1', 'CONTROL')
  local g = open('2001:db8:1:3::1', 'control')
  eq(math.type(count('192.0.2.0/24', 'SMTP')), 'integer', 'a count is an integer')
  eq(count('192.0.2.0/24', 'SMTP'), 3, 'count /24')
  eq(count('192.0.2.0/24', 'smtp'), 3, 'service names ignore case')
  eq(count('192.0.2.0/24', 'Smtp'), 3, 'service names ignore case (2)')
  eq(count('192.0.2.1', 'SMTP'), 2, 'count one address')
  eq(count('192.0.2.0/23', 'SMTP'), 4, 'count /23')
  eq(count('192.0.2.0/24', 'ecstream'), 1, 'another service')
  eq(count('192.0.2.0/24', 'Control'), 0, 'a service with no session there')
  eq(count('0.0.0.0/0', 'SMTP'), 4, 'every IPv4 session')
  eq(count('::/0', 'SMTP'), 0, 'IPv6 prefixes count IPv6 sessions only')
  eq(count('2001:db8:1::/48', 'Control'), 2, 'count /48')
  eq(count('2001:db8:1:2::/64', 'Control'), 1, 'count /64')
  eq(count('::/0', 'control'), 2, 'every IPv6 session')
  eq(count('0.0.0.0/0', 'control'), 0, 'IPv4 prefixes count IPv4 sessions only')
  setip('192.0.2.99')
  eq(count('/24', 'SMTP'), 3, 'relative /24')
  eq(count('/23', 'SMTP'), 4, 'relative /23')
  eq(count('/32', 'SMTP'), 0, 'relative /32 of a peer with no session')
  setip('2001:db8:1:2::99')
  eq(count('/64', 'CONTROL'), 1, 'relative /64')
  eq(count('/48', 'CONTROL'), 2, 'relative /48')
  setip(nil)
  eq(tostring(a):match('^msys%.audit%.session: '), 'msys.audit.session: ', 'tostring of a session')
  a:close()
  eq(count('192.0.2.1', 'SMTP'), 1, 'close')
  a:close()
  eq(count('192.0.2.1', 'SMTP'), 1, 'a second close does nothing')
  eq(a:close(), nil, 'close returns nothing')
  for _, s in ipairs({b, c, d, e, f, g}) do s:close() end
  eq(count('0.0.0.0/0', 'SMTP') + count('::/0', 'Control') + count('0.0.0.0/0', 'ECStream'), 0,
     'all closed')
end

-- IPv4-mapped addresses are IPv4
do
  local s = open('::ffff:198.51.100.7', 'SMTP')
  eq(count('198.51.100.7', 'SMTP'), 1, 'a mapped session counts as IPv4')
  eq(count('198.51.100.0/24', 'SMTP'), 1, 'a mapped session in its IPv4 /24')
  eq(count('::ffff:198.51.100.0/120', 'SMTP'), 1, 'a mapped prefix counts IPv4 sessions')
  eq(count('::ffff:0:0/96', 'SMTP'), 1, 'the mapped /96 is IPv4 0.0.0.0/0')
  eq(count('::/0', 'SMTP'), 0, 'a mapped session is not IPv6')
  setip('::ffff:198.51.100.8')
  eq(count('/24', 'SMTP'), 1, 'a mapped connecting IP, relative /24')
  setip(nil)
  s:close()
  local t = open('198.51.100.7', 'SMTP')
  eq(count('::ffff:198.51.100.7', 'SMTP'), 1, 'an IPv4 session counted by its mapped form')
  t:close()
  eq(count('198.51.100.0/24', 'SMTP'), 0, 'mapped: all closed')
end

-- methods, called the wrong way
do
  local s = open('203.0.113.1', 'SMTP')
  raises(bad(1, 'close', 'msys.audit.session expected, got table'),
         function() s.close({}) end)
  raises(bad(1, 'close', 'msys.audit.session expected, got no value'),
         function() s.close() end)
  local fake = setmetatable({}, { __index = { close = s.close } })
  raises("calling 'close' on bad self (msys.audit.session expected, got table)",
         function() fake:close() end)
  eq(count('203.0.113.1', 'SMTP'), 1, 'a bad close changes nothing')
  s:close()
end

-- ------------------------------------------------------------ <close>
do
  do
    local s <close> = open('203.0.113.10', 'SMTP')
    eq(count('203.0.113.0/24', 'SMTP'), 1, '<close>: open in scope')
  end
  eq(count('203.0.113.0/24', 'SMTP'), 0, '<close>: closed at the end of the scope')
  local ok = pcall(function()
    local s <close> = open('203.0.113.11', 'SMTP')
    error('boom')
  end)
  eq(ok, false, '<close>: the error went through')
  eq(count('203.0.113.0/24', 'SMTP'), 0, '<close>: closed when an error leaves the scope')
  do
    local s <close> = open('203.0.113.12', 'SMTP')
    s:close()
    eq(count('203.0.113.0/24', 'SMTP'), 0, '<close>: closed by hand')
  end                                       -- __close of a closed session: nothing
  eq(count('203.0.113.0/24', 'SMTP'), 0, '<close> after close')
  local function scoped()
    local s <close> = open('203.0.113.13', 'SMTP')
    return count('203.0.113.0/24', 'SMTP')
  end
  eq(scoped(), 1, '<close>: open until the return')
  eq(count('203.0.113.0/24', 'SMTP'), 0, '<close>: closed by return')
end

-- ------------------------------------------------------------ __gc
do
  collectgarbage('stop')                   -- only the explicit collections below
  local function forget(n)
    for i = 1, n do m.open('203.0.113.' .. (20 + i), 'SMTP') end
  end
  forget(3)
  eq(count('203.0.113.0/24', 'SMTP'), 3, '__gc: forgotten sessions still count')
  collectgarbage()
  collectgarbage()
  eq(count('203.0.113.0/24', 'SMTP'), 0, '__gc: collected sessions close')
  local kept = open('203.0.113.30', 'SMTP')
  local closed = open('203.0.113.31', 'SMTP')
  closed:close()
  closed = nil
  collectgarbage()
  eq(count('203.0.113.0/24', 'SMTP'), 1, '__gc: a closed session closes nothing more')
  kept:close()
  collectgarbage('restart')
end

-- ------------------------------------------------------------ errors of inbound_session_count
-- Argument #1, the CIDR: each class of parse error, quoted, with its offset.
local cidr_errors = {
  { '10.0.0.256/8', 'octet out of range at offset 9' },
  { '', 'empty input at offset 0' },
  { ' 10.0.0.0/8', 'white space or NUL at offset 0' },
  { '10.0.0.0/8\0', 'white space or NUL at offset 10' },
  { 'fe80::1%eth0', 'zone id not allowed at offset 7' },
  { '10.0.0.0/255.255.255.0', 'netmask not allowed, use a prefix length at offset 9' },
  { '10/8', 'IPv4 address needs four octets at offset 2' },
  { '10.1', 'IPv4 address needs four octets at offset 4' },
  { '010.0.0.0/8', 'octet has a leading zero at offset 1' },
  { '0x0a.0.0.0/8', 'hex octet not allowed at offset 1' },
  { '10.0.0.0/33', 'mask out of range at offset 10' },
  { '2001:db8::/129', 'mask out of range at offset 13' },
  { '10.0.0.0/08', 'mask has a leading zero at offset 10' },
  { '[10.0.0.0]/8', 'misplaced bracket at offset 0' },
  { '[2001:db8::]/[64]', 'misplaced bracket at offset 13' },
  { '10.0.0.0/8x', 'unexpected text after the prefix at offset 10' },
  { '1:2:3:4:5:6:7:8:9', 'too many IPv6 groups at offset 15' },
  { '/24', 'relative mask needs a connecting IP at offset 0' },
}
for _, c in ipairs(cidr_errors) do
  local text = '"' .. c[1]:gsub('%z', '\\0') .. '"'
  raises(bad(1, 'inbound_session_count', 'invalid cidr ' .. text .. ': ' .. c[2]),
         count, c[1], 'SMTP')
  raises(bad(1, 'cidr', 'invalid cidr ' .. text .. ': ' .. c[2]), cidr, c[1])  -- the same
end
-- quoting: '"' and '\' escaped, other bytes in decimal (3 digits before a digit)
raises(bad(1, 'inbound_session_count', [[invalid cidr "a\"b\\c\1\0012": invalid IPv4 address at offset 0]]),
       count, 'a"b\\c\1\0012', 'SMTP')
raises(bad(1, 'inbound_session_count', [[invalid cidr "x\10\127\200\255": white space or NUL at offset 1]]),
       count, 'x\n\127\200\255', 'SMTP')
-- a long text is cut after 64 bytes
raises(bad(1, 'inbound_session_count', 'invalid cidr "' .. ('1'):rep(64) ..
                                         '"...: octet out of range at offset 3'),
       count, ('1'):rep(100), 'SMTP')
-- a number is taken as its text, as Lua's own string functions take it
raises(bad(1, 'inbound_session_count', 'invalid cidr "10": IPv4 address needs four octets at offset 2'),
       count, 10, 'SMTP')
raises(bad(1, 'inbound_session_count', 'string expected, got no value'),
       function() local n = m.inbound_session_count() return n end)
raises(bad(1, 'inbound_session_count', 'string expected, got table'), count, {}, 'SMTP')
raises(bad(2, 'inbound_session_count', 'string expected, got no value'),
       function() local n = m.inbound_session_count('10.0.0.0/8') return n end)
raises(bad(2, 'inbound_session_count', 'string expected, got nil'), count, '10.0.0.0/8', nil)
-- both bad: the first argument is reported
raises(bad(1, 'inbound_session_count', 'invalid cidr "10/8": IPv4 address needs four octets at offset 2'),
       count, '10/8', 'nosuch')

-- Argument #2, the service.
raises(bad(2, 'inbound_session_count', 'unknown service "foo"'), count, '10.0.0.0/8', 'foo')
raises(bad(2, 'inbound_session_count', 'unknown service ""'), count, '10.0.0.0/8', '')
raises(bad(2, 'inbound_session_count', 'unknown service "SMTP "'), count, '10.0.0.0/8', 'SMTP ')
raises(bad(2, 'inbound_session_count', 'unknown service "SMTP\\0"'), count, '10.0.0.0/8', 'SMTP\0')
if clustering then
  eq(count('10.0.0.0/8', 'ECCluster'), 0, 'clustering: ECCluster')
  eq(count('10.0.0.0/8', 'ecmmove2'), 0, 'clustering: ecmmove2')
  eq(count('10.0.0.0/8', 'INBOUND_CIDR'), 0, 'clustering: INBOUND_CIDR')
else
  -- the standalone module has no clustering: the name as the script wrote it
  raises(bad(2, 'inbound_session_count', 'service "ECCluster" needs clustering'),
         count, '10.0.0.0/8', 'ECCluster')
  raises(bad(2, 'inbound_session_count', 'service "ecmmove2" needs clustering'),
         count, '10.0.0.0/8', 'ecmmove2')
  raises(bad(2, 'inbound_session_count', 'service "INBOUND_CIDR" needs clustering'),
         count, '10.0.0.0/8', 'INBOUND_CIDR')
end
if host and host.extra then
  eq(count('10.0.0.0/8', host.extra:lower()), 0, 'an extra service')
else
  raises(bad(2, 'inbound_session_count', 'unknown service "LMTP"'), count, '10.0.0.0/8', 'LMTP')
end

-- ------------------------------------------------------------ errors of open
raises(bad(1, 'open', 'invalid ip "10.0.0.0/8": an address takes no mask at offset 8'),
       open, '10.0.0.0/8', 'SMTP')
raises(bad(1, 'open', 'invalid ip "/24": an address takes no mask at offset 0'), open, '/24', 'SMTP')
raises(bad(1, 'open', 'invalid ip "10.0.0.256": octet out of range at offset 9'),
       open, '10.0.0.256', 'SMTP')
raises(bad(1, 'open', 'invalid ip "2001:db8::1%1": zone id not allowed at offset 11'),
       open, '2001:db8::1%1', 'SMTP')
raises(bad(1, 'open', 'string expected, got no value'),
       function() local s = m.open() return s end)
raises(bad(2, 'open', 'string expected, got no value'),
       function() local s = m.open('192.0.2.1') return s end)
raises(bad(2, 'open', 'unknown service "smtp2"'), open, '192.0.2.1', 'smtp2')
if clustering then
  local s = open('192.0.2.1', 'eccluster')
  eq(count('192.0.2.0/24', 'ECCluster'), 1, 'clustering: open ECCluster')
  s:close()
  local x = open('2001:db8::1', host.extra)
  eq(count('2001:db8::/32', host.extra:upper()), 1, 'open an extra service')
  x:close()
else
  raises(bad(2, 'open', 'service "ECCluster" needs clustering'), open, '192.0.2.1', 'ECCluster')
end
eq(count('0.0.0.0/0', 'SMTP') + count('::/0', 'SMTP'), 0, 'a refused open opens nothing')

-- ------------------------------------------------------------ the fleet, unjoined
-- (tests/fleet/test_fleet.py joins a real one)
do
  local st = m.cluster_status()
  eq(st.state, 'local', 'cluster_status: not joined is local')
  eq(st.nodes, 1, 'cluster_status: a cluster of one')
  eq(st.age < 0, true, 'cluster_status: Redis never answered')
  local function cfg(t) local r = m.configure(t) return r end
  raises(bad(1, 'configure', 'cluster.redis must be a string'), cfg, {cluster = {name = 'mx'}})
  raises(bad(1, 'configure', 'cluster.node must be a string'),
         cfg, {cluster = {redis = '127.0.0.1:1', name = 'mx'}})
  raises(bad(1, 'configure', 'cluster.name: 1 to 64 of A-Z a-z 0-9 . _ -'),
         cfg, {cluster = {redis = '127.0.0.1:1', name = 'm x', node = 'a'}})
  raises(bad(1, 'configure', 'cluster.lease: 0.5 to 3600 seconds'),
         cfg, {cluster = {redis = '127.0.0.1:1', name = 'mx', node = 'a', lease = 0.1}})
  raises(bad(1, 'configure', 'cluster.lease must be a number of seconds'),
         cfg, {cluster = {redis = '127.0.0.1:1', name = 'mx', node = 'a', lease = 'long'}})
  raises(bad(1, 'configure', 'cluster: unknown option password'),
         cfg, {cluster = {redis = '127.0.0.1:1', name = 'mx', node = 'a', password = 'x'}})
  raises(bad(1, 'configure', 'cluster.password_file: cannot be read'),
         cfg, {cluster = {redis = '127.0.0.1:1', name = 'mx', node = 'a',
                          password_file = '/nonexistent/sesscount-password'}})
  eq(m.cluster_status().state, 'local', 'a refused configure joins nothing')
  if clustering then
    -- clustering without a fleet: inbound_cidr is this node's SMTP sessions
    local s = open('192.0.2.9', 'SMTP')
    eq(count('192.0.2.0/24', 'inbound_cidr'), 1, 'inbound_cidr: a cluster of one counts SMTP')
    s:close()
    eq(count('192.0.2.0/24', 'inbound_cidr'), 0, 'inbound_cidr: and follows its closes')
    raises(bad(2, 'open', 'inbound_cidr is a view of the fleet: it cannot be opened or closed'),
           open, '192.0.2.9', 'inbound_cidr')
  end
end

-- ------------------------------------------------------------ the host's side
if host then
  eq(host.set_connecting_ip('192.0.2.77'), 'ok', 'host: set the connecting IP from C')
  eq(cidr('/24'), '192.0.2.0/24', 'host: the script sees it')
  eq(host.set_mapped(198, 51, 100, 5), 'ok', 'host: a raw mapped address')
  eq(cidr('/24'), '198.51.100.0/24', 'host: a raw mapped address is IPv4')
  eq(host.set_badfamily(), 'invalid argument', 'host: a bad family is refused')
  eq(cidr('/24'), '198.51.100.0/24', 'host: a refused address changes nothing')
  setip('2001:db8::1')
  eq(cidr('/32'), '2001:db8::/32', 'host: the script sets it back')
  eq(host.set_connecting_ip(nil), 'ok', 'host: clear from C')
  raises(bad(1, 'cidr', 'invalid cidr "/8": relative mask needs a connecting IP at offset 0'),
         cidr, '/8')
end
if host and host.count then               -- not with the process-wide table
  local s = open('192.0.2.40', 'SMTP')
  eq(host.count('192.0.2.0/24', 'SMTP'), 1, 'host: the script opens in the bound table')
  eq(host.close('192.0.2.40', 'SMTP'), 'ok', 'host: closes it behind the script')
  raises("calling 'close' on bad self (session is not open)", function() s:close() end)
  s:close()                                 -- reported once; now closed
  eq(host.count('192.0.2.0/24', 'SMTP'), 0, 'host: nothing went negative')
end

-- Left open on purpose: lua_close must close it (test_host.c checks).
LEFT_OPEN = open('192.0.2.250', 'SMTP')

-- ------------------------------------------------------------ done
print(string.format('test_audit.lua (%s): %d checks, %d failed', mode, checks, failures))
if failures > 0 then
  error(string.format('%d of %d checks failed', failures, checks), 0)
end
