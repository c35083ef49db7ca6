-- conninfo.mt.lua: miltertest (Lua 5.3) drives sesscount-milter with client
-- addresses no loopback test can come from (IPv6 beyond ::1, an
-- IPv4-mapped IPv6 peer, an unknown family).  Nothing is sent to those
-- addresses: they are data in the milter protocol, over loopback.
-- Run by test_conninfo.py with -D port=N; each step asserts the reply.

local held = {}

-- miltertest does not show a script's error: say it first
local function fail (msg)
  io.stdout:write("FAIL: ", msg, "\n")
  io.stdout:flush()
  error(msg)
end

local function session(ip, want, what)
  local conn = mt.connect("inet:" .. port .. "@127.0.0.1", 20, 0.25)
  if conn == nil then fail("cannot reach the milter") end
  if mt.conninfo(conn, "client.example", ip) ~= nil then fail("conninfo " .. ip) end
  local got = mt.getreply(conn)
  if got ~= want then
    fail(string.format("%s: conninfo %s replied %s, want %s", what, ip, tostring(got), tostring(want)))
  end
  if got == SMFIR_CONTINUE then
    table.insert(held, conn)
  else
    mt.disconnect(conn)
  end
end

-- per address (2) and per IPv6 /64 (3), each count including itself
session("2001:db8:1:2::1", SMFIR_CONTINUE, "1st on the address")
session("2001:db8:1:2::1", SMFIR_CONTINUE, "2nd on the address")
session("2001:db8:1:2::1", SMFIR_REPLYCODE, "3rd on the address")
session("2001:db8:1:2::2", SMFIR_CONTINUE, "3rd in the /64")
session("2001:db8:1:2::3", SMFIR_REPLYCODE, "4th in the /64")
session("2001:db8:1:3::1", SMFIR_CONTINUE, "another /64")
-- an IPv4-mapped peer is the IPv4 address it is
session("::ffff:127.0.9.1", SMFIR_CONTINUE, "mapped, 1st")
session("127.0.9.1", SMFIR_CONTINUE, "the same address unmapped, 2nd")
session("::ffff:127.0.9.1", SMFIR_REPLYCODE, "mapped, 3rd")
-- an unknown family: not counted, not refused
session("unspec", SMFIR_CONTINUE, "unknown family")

for _, conn in ipairs(held) do
  mt.disconnect(conn)
end
