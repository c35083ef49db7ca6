-- conninfo.mt.lua: miltertest (Lua 5.3) drives sesscount-milter with client
-- addresses no loopback test can come from (IPv6 beyond ::1, an
-- IPv4-mapped IPv6 peer, an unknown family).  Nothing is sent to those
-- addresses: they are data in the milter protocol, over loopback.
-- Run by test_conninfo.py with -D port=N -D here=DIR; each step asserts the reply.

dofile(here .. "/mtlib.lua")
local function connect (ip, want, what) session(port, ip, want, what) end

-- per address (2) and per IPv6 /64 (3), each count including itself
connect("2001:db8:1:2::1", SMFIR_CONTINUE, "1st on the address")
connect("2001:db8:1:2::1", SMFIR_CONTINUE, "2nd on the address")
connect("2001:db8:1:2::1", SMFIR_REPLYCODE, "3rd on the address")
connect("2001:db8:1:2::2", SMFIR_CONTINUE, "3rd in the /64")
connect("2001:db8:1:2::3", SMFIR_REPLYCODE, "4th in the /64")
connect("2001:db8:1:3::1", SMFIR_CONTINUE, "another /64")
-- an IPv4-mapped peer is the IPv4 address it is
connect("::ffff:127.0.9.1", SMFIR_CONTINUE, "mapped, 1st")
connect("127.0.9.1", SMFIR_CONTINUE, "the same address unmapped, 2nd")
connect("::ffff:127.0.9.1", SMFIR_REPLYCODE, "mapped, 3rd")
-- an unknown family: not counted, not refused
connect("unspec", SMFIR_CONTINUE, "unknown family")

disconnect_all()
