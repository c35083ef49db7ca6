-- fleet.mt.lua: miltertest (Lua 5.3) drives two sesscount-milters of one
-- fleet (-D porta=N -D portb=M); their policy refuses a connection when the
-- fleet holds more than 3 sessions from its /24 (inbound_cidr).  Sessions
-- held on milter a count at milter b.  Run by test_fleet.py.

dofile(here .. "/mtlib.lua")

session(porta, "192.0.2.1", SMFIR_CONTINUE, "a: 1st of the /24")
session(porta, "192.0.2.2", SMFIR_CONTINUE, "a: 2nd of the /24")
mt.sleep(1)   -- replication: a tick or two; a second is plenty
session(portb, "192.0.2.3", SMFIR_CONTINUE, "b: 3rd of the /24 in the fleet")
session(portb, "192.0.2.4", SMFIR_REPLYCODE, "b: 4th of the /24 in the fleet")
session(portb, "198.51.100.4", SMFIR_CONTINUE, "b: another /24")
mt.sleep(1)
session(porta, "192.0.2.5", SMFIR_REPLYCODE, "a: 4th, b's session counted at a")

disconnect_all()
