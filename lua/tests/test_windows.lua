-- test_windows.lua: the windowed counts of msys.audit (configure, note,
-- connections, receptions, rejections, set_clock) and the module
-- msys.audit_series, every function and every error, and the examples of
-- Momentum's documentation.
--
-- Runs like test_audit.lua: in the stock interpreter (the stand-alone
-- modules, msys/audit.so and msys/audit_series.so over the process-wide
-- table) and in tests/test_host.c (bound to a host table, ref or fast).
-- The clock is the script's own (set_clock), so every count is exact.

local audit = require('msys.audit')
local series = require('msys.audit_series')

local host = rawget(_G, 'host')
local mode = host and host.impl or 'standalone'

-- ------------------------------------------------------------ harness
local checks, failures = 0, 0

local function fail(what)
  failures = failures + 1
  io.stderr:write(debug.traceback('FAIL: ' .. what, 3), '\n')
end

local function show(v)
  return type(v) == 'string' and string.format('%q', v) or tostring(v)
end

local function eq(got, want, what)
  checks = checks + 1
  if got ~= want or math.type(got) ~= math.type(want) then
    fail(string.format('%s: got %s, want %s', what, show(got), show(want)))
  end
end

local function raises(want, f, ...)
  checks = checks + 1
  local ok, msg = pcall(f, ...)
  if ok then
    fail('no error; want: ' .. want)
    return
  end
  local got = type(msg) == 'string' and msg:gsub('^.-:%d+: ', '', 1) or msg
  if got ~= want then fail(string.format('error %s, want %s', show(msg), show(want))) end
end

local function bad(arg, fn, reason)
  return string.format("bad argument #%d to '%s' (%s)", arg, fn, reason)
end

-- Non-tail calls, so that Lua names the function in its errors.
local function configure(t) local r = audit.configure(t) return r end
local function note(k, ip, n) local r = audit.note(k, ip, n) return r end
local function connections(m, o) local n = audit.connections(m, o) return n end
local function receptions(m, o) local n = audit.receptions(m, o) return n end
local function rejections(m, o) local n = audit.rejections(m, o) return n end
local function set_clock(f) local r = audit.set_clock(f) return r end
local function define(...) local r = series.define(...) return r end
local function add(name, o) local r = series.add(name, o) return r end
local function count(name, o) local n = series.count(name, o) return n end
local function remove_item(name, k) local r = series.remove_item(name, k) return r end

-- ------------------------------------------------------------ the modules
eq(msys.audit_series, series, 'require sets the global msys.audit_series')
eq(msys.audit, audit, 'and msys.audit stays')
do
  local names = {}
  for k, v in pairs(series) do names[#names + 1] = k .. ':' .. type(v) end
  table.sort(names)
  eq(table.concat(names, ' '), 'add:function count:function define:function remove_item:function',
     'the series functions')
end

-- ------------------------------------------------------------ the clock
local T = 1000000
set_clock(function() return T end)
raises(bad(1, 'set_clock', 'function expected, got string'), set_clock, 'soon')

-- ------------------------------------------------------------ before configure
raises(bad(1, 'connections', 'inbound audit is not configured'), connections, '60,1', '192.0.2.1')
raises(bad(1, 'note', 'inbound audit is not configured'), note, 'connection', '192.0.2.1')

-- ------------------------------------------------------------ configure
raises(bad(1, 'configure', 'table expected, got string'), configure, '60,1')
raises(bad(1, 'configure', 'monitors must be a list of "W,N" strings'), configure, {})
raises(bad(1, 'configure', 'monitors must name at least one monitor'), configure, {monitors = {}})
raises(bad(1, 'configure', 'invalid monitor "60,0": windows out of range (1 to 1024) at offset 3'),
       configure, {monitors = {'60,1', '60,0'}})
raises(bad(1, 'configure', 'invalid monitor "60 ,1": white space or NUL at offset 2'),
       configure, {monitors = {'60 ,1'}})
raises(bad(1, 'configure', 'monitors must be a list of "W,N" strings'), configure, {monitors = {60}})
raises(bad(1, 'configure', 'unknown option monitor'), configure, {monitor = {'60,1'}})
raises(bad(1, 'configure', 'a monitor is given twice'), configure, {monitors = {'60,1', '60, 1'}})
raises(bad(1, 'connections', 'inbound audit is not configured'), connections, '60,1',
       '192.0.2.1')                                                           -- nothing changed
configure({monitors = {'60,1', '300, 6'}})
configure({monitors = {'60,1', '300,6'}})                                     -- the same: no-op
raises(bad(1, 'configure', 'monitors already configured as another list'), configure,
       {monitors = {'60,1'}})

-- ------------------------------------------------------------ note and count
audit.set_connecting_ip('192.0.2.77')
note('connection')                       -- the connecting IP
note('connection', '192.0.2.1', 2)
note('connection', '::ffff:192.0.2.2')   -- IPv4-mapped is IPv4
note('connection', '2001:db8::1', 4)
note('reception', '192.0.2.1')
note('rejection', '198.51.100.9', 3)
eq(connections('60,1'), 1, 'no cidr: the connecting IP')
eq(connections('60,1', '/24'), 4, 'a relative mask')
eq(connections('60,1', '192.0.2.0/24'), 4, 'a cidr')
eq(connections('60,1', '0.0.0.0/0'), 4, 'IPv4 only')
eq(connections('60,1', '::/0'), 4, 'IPv6 only')
eq(connections('300,6', {cidr = '/24', startv = 0, endv = 5}), 4, 'a table of options')
eq(connections('300, 6', {cidr = '2001:db8::/32'}), 4, 'the monitor with its space')
eq(connections('60,1', {cidr = '/24', cluster = true}), 4, 'cluster: a cluster of one')
eq(receptions('60,1', '/24'), 1, 'receptions')
eq(rejections('300,6', '198.51.100.0/24'), 3, 'rejections')
eq(rejections('60,1', '/24'), 0, 'rejections of another /24')
raises(bad(1, 'connections', 'monitor "60,2" is not configured'), connections, '60,2')
raises(bad(1, 'connections', 'invalid monitor "60:1": expected a comma at offset 2'),
       connections, '60:1')
raises(bad(2, 'connections', 'bad window range 0 to 6 (windows 0 to 5)'), connections, '300,6',
       {startv = 0, endv = 6})
raises(bad(2, 'connections', 'bad window range 3 to 1 (windows 0 to 5)'), connections, '300,6',
       {startv = 3, endv = 1})
raises(bad(2, 'connections', 'startv out of range (-1)'), connections, '300,6', {startv = -1})
raises(bad(2, 'connections', 'endv must be a whole number, got a fraction'), connections, '300,6',
       {endv = 1.5})
raises(bad(2, 'connections', 'invalid cidr "10.0.0.256/8": octet out of range at offset 9'),
       connections, '60,1', '10.0.0.256/8')
raises(bad(2, 'connections', 'table, string or nil expected, got number'), connections, '60,1', 24)
raises(bad(2, 'connections', 'cluster must be a boolean'), connections, '60,1', {cluster = 'yes'})
raises(bad(1, 'note', "invalid option 'bounce'"), note, 'bounce', '192.0.2.1')
raises(bad(2, 'note', 'invalid ip "192.0.2.1/32": an address takes no mask at offset 9'), note,
       'connection', '192.0.2.1/32')
raises(bad(3, 'note', 'n must be a whole number, got string'), note, 'connection', '192.0.2.1', 'x')

-- ------------------------------------------------------------ windows turn
T = T + 60                                 -- the next minute
eq(connections('60,1', '/24'), 0, '"60,1" forgot the last minute')
eq(connections('300,6', {cidr = '/24', startv = 0, endv = 5}), 4, '"300,6" did not')
T = T + 300                                -- the next five minutes
eq(connections('300,6', '/24'), 0, 'a new window 0')
eq(connections('300,6', {cidr = '/24', startv = 1, endv = 5}), 4, 'it is in a window before')
T = T + 300 * 6                            -- past the whole ring
eq(connections('300,6', {cidr = '/24', startv = 0, endv = 5}), 0, 'gone after the ring')
set_clock(function() return T + 0.75 end)  -- a float: its floor
note('connection', '192.0.2.1')
eq(connections('60,1', '192.0.2.1'), 1, 'a float clock')

-- ------------------------------------------------------------ Momentum's example
-- From msys.audit.connections' page: a policy that compares connections and
-- receptions of the last minute at MAIL FROM.
local mod = {}
function mod:validate_mailfrom(str, ac, vctx)
  local conn = msys.audit.connections("60,1")
  local rcpt = msys.audit.receptions("60,1")
  if conn > 2 and rcpt == 0 then return 'reject' end
  return 'continue'
end
audit.set_connecting_ip('203.0.113.5')
eq(mod:validate_mailfrom('a@example.com'), 'continue', 'the example: a new peer')
for _ = 1, 3 do note('connection') end
eq(mod:validate_mailfrom('a@example.com'), 'reject', 'the example: many connections, no mail')
note('reception')
eq(mod:validate_mailfrom('a@example.com'), 'continue', 'the example: it delivered')

-- ------------------------------------------------------------ audit_series
raises(bad(1, 'count', 'no series named "nope"'), count, 'nope', '/24')
raises(bad(2, 'define', "invalid option 'ipv4'"), define, 'ips', 'ipv4', 60, 6)
raises(bad(3, 'define', 'interval out of range (1 to 86400 seconds)'), define, 'ips', 'cidr', 0, 6)
raises(bad(4, 'define', 'num_windows out of range (1 to 1024)'), define, 'ips', 'cidr', 60, 2000)
raises(bad(4, 'define', 'num_windows must be a whole number, got no value'), define, 'ips', 'cidr', 60)
raises(bad(5, 'define', 'replicate must be "none" or "cluster"'), define, 'ips', 'cidr', 60, 6,
       {replicate = 'manager'})
raises(bad(5, 'define', 'serialize is not supported'), define, 'ips', 'cidr', 60, 6,
       {serialize = true})
raises(bad(5, 'define', 'unknown option replica'), define, 'ips', 'cidr', 60, 6, {replica = 'none'})
raises(bad(1, 'define', 'a series name has 1 to 255 bytes'), define, '', 'cidr', 60, 6)
define('ips', 'cidr', 60, 6, {replicate = 'none', serialize = false})
define('ips', 'cidr', 60, 6)                                   -- the same: no-op
raises(bad(1, 'define', 'series "ips" is already defined with another type, interval or num_windows'),
       define, 'ips', 'cidr', 60, 5)
raises(bad(1, 'define', 'series "ips" is already defined with another type, interval or num_windows'),
       define, 'ips', 'cidr_ipv6', 60, 6)
audit.set_connecting_ip('192.0.2.77')
add('ips', {key = '192.0.2.1', count = 3})
add('ips', '192.0.2.2')
add('ips')                                                      -- the connecting IP
add('ips', {key = '2001:db8::1'})
add('ips', {key = '192.0.2.1', count = -1})
eq(count('ips', '192.0.2.1'), 2, 'an address')
eq(count('ips', {key = '/24'}), 4, 'a relative mask')
eq(count('ips', '192.0.2.0/24'), 4, 'a cidr')
eq(count('ips'), 1, 'no key: the connecting IP')
eq(count('ips', {key = '::/0'}), 1, 'cidr series hold both families')
add('ips', {key = '192.0.2.1', count = -10})
eq(count('ips', '192.0.2.1'), 0, 'a count never goes below zero')
T = T + 60
add('ips', '192.0.2.9')
eq(count('ips', '/24'), 1, 'window 0')
eq(count('ips', {key = '/24', startv = 1}), 2, 'window 1')
eq(count('ips', {key = '/24', startv = 0, endv = 5}), 3, 'windows 0 to 5')
eq(count('ips', {key = '/24', cluster = true}), 1, 'cluster: a cluster of one')
remove_item('ips', '192.0.2.2')
eq(count('ips', {key = '/24', startv = 0, endv = 5}), 2, 'remove_item forgets one key')
raises(bad(2, 'count', 'bad window range 0 to 6 (windows 0 to 5)'), count, 'ips',
       {key = '/24', endv = 6})
raises(bad(2, 'add', 'invalid ip "192.0.2.0/24": an address takes no mask at offset 9'), add, 'ips',
       '192.0.2.0/24')
raises(bad(2, 'add', 'count must be a whole number, got a fraction'), add, 'ips',
       {key = '192.0.2.1', count = 0.5})
raises(bad(2, 'count', 'invalid cidr "/33": mask out of range at offset 2'), count, 'ips', '/33')
define('v6', 'cidr_ipv6', 10, 3)
add('v6', '2001:db8::5')
add('v6', '192.0.2.5')                                          -- either family alike
eq(count('v6', '2001:db8::/32'), 1, 'cidr_ipv6: IPv6')
eq(count('v6', '192.0.2.0/24'), 1, 'cidr_ipv6: IPv4 too')
define('rcpt', 'string', 60, 2)
add('rcpt', {key = 'bob@example.com'})
add('rcpt', 'bob@example.com')
add('rcpt', {key = 'a\0b', count = 5})
eq(count('rcpt', 'bob@example.com'), 2, 'a string key')
eq(count('rcpt', {key = 'a\0b'}), 5, 'a key with a NUL byte')
eq(count('rcpt', 'BOB@example.com'), 0, 'keys match exactly')
raises(bad(2, 'count', 'a string series needs a key of 1 to 255 bytes'), count, 'rcpt')
raises(bad(2, 'add', 'a string series needs a key of 1 to 255 bytes'), add, 'rcpt',
       {count = 1})
raises(bad(2, 'add', 'a string series needs a key of 1 to 255 bytes'), add, 'rcpt',
       string.rep('x', 256))
remove_item('rcpt', 'bob@example.com')
eq(count('rcpt', 'bob@example.com'), 0, 'remove_item of a string key')

-- From msys.audit_series.define's page: count failed recipients per /24
-- over the last hour in six windows, and refuse a network past a limit.
series.define('failed_rcpt', 'cidr', 600, 6)
local function validate_rcptto(ip)
  audit.set_connecting_ip(ip)
  if series.count('failed_rcpt', {key = '/24', startv = 0, endv = 5}) > 5 then
    return 'reject'
  end
  series.add('failed_rcpt', {count = 1})
  return 'continue'
end
local verdicts = {}
for i = 1, 8 do verdicts[i] = validate_rcptto('198.51.100.' .. i) end
eq(table.concat(verdicts, ','), 'continue,continue,continue,continue,continue,continue,reject,reject',
   'the example: the seventh failure of a /24 is refused')

-- ------------------------------------------------------------ the real clock
set_clock(nil)
eq(count('ips', {key = '0.0.0.0/0', startv = 0, endv = 5}), 0,
   'the real clock: long after the script\'s clock')

print(string.format('test_windows.lua (%s): %d checks, %d failed', mode, checks, failures))
if failures > 0 then
  error(string.format('%d of %d checks failed', failures, checks), 0)
end
