-- fleet.mt.lua: miltertest (Lua 5.3) drives two sesscount-milters of one
-- fleet (-D porta=N -D portb=M); their policy refuses a connection when the
-- fleet holds more than 3 sessions from its /24 (inbound_cidr), or has seen
-- more than 3 connections from it in two minutes (connections, cluster =
-- true).  Sessions and connections on milter a count at milter b.  Run by
-- test_fleet.py.

dofile(here .. "/mtlib.lua")

session(porta, "192.0.2.1", SMFIR_CONTINUE, "a: 1st of the /24")
session(porta, "192.0.2.2", SMFIR_CONTINUE, "a: 2nd of the /24")
mt.sleep(1)   -- replication: a tick or two; a second is plenty
session(portb, "192.0.2.3", SMFIR_CONTINUE, "b: 3rd of the /24 in the fleet")
session(portb, "192.0.2.4", SMFIR_REPLYCODE, "b: 4th of the /24 in the fleet")
session(portb, "198.51.100.4", SMFIR_CONTINUE, "b: another /24")
mt.sleep(1)
session(porta, "192.0.2.5", SMFIR_REPLYCODE, "a: 4th, b's session counted at a")

-- windowed: each connection ends at once, so no session limit is reached
local function brief(port, ip, want, what)
  session(port, ip, want, what)
  if want == SMFIR_CONTINUE then mt.disconnect(table.remove(held)) end
end
brief(porta, "203.0.113.1", SMFIR_CONTINUE, "a: 1st connection of the /24")
brief(porta, "203.0.113.2", SMFIR_CONTINUE, "a: 2nd connection")
mt.sleep(1)
brief(portb, "203.0.113.3", SMFIR_CONTINUE, "b: 3rd connection in the fleet")
brief(portb, "203.0.113.4", SMFIR_REPLYCODE, "b: 4th connection in the fleet")
mt.sleep(1)
brief(porta, "203.0.113.5", SMFIR_REPLYCODE, "a: 5th, b's connections counted at a")

disconnect_all()
