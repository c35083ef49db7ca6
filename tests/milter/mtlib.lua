-- mtlib.lua: what the miltertest (Lua 5.3) scripts share: a failure said
-- on stdout first (miltertest does not show a script's error), and one
-- session whose connect reply is checked.  A script loads it with
-- dofile(here .. "/mtlib.lua"), `here` given by -D.

held = {}   -- the sessions let through, for the script to end

function fail (msg)
  io.stdout:write("FAIL: ", msg, "\n")
  io.stdout:flush()
  error(msg)
end

-- connects to the milter on `port` as client `ip`; the reply must be `want`
function session (port, ip, want, what)
  local conn = mt.connect("inet:" .. port .. "@127.0.0.1", 20, 0.25)
  if conn == nil then fail("cannot reach the milter on port " .. port) end
  if mt.conninfo(conn, "client.example", ip) ~= nil then fail("conninfo " .. ip) end
  local got = mt.getreply(conn)
  if got ~= want then
    fail(string.format("%s: conninfo %s replied %s, want %s", what, ip, tostring(got), tostring(want)))
  end
  if got == SMFIR_CONTINUE then
    table.insert(held, conn)
  else
    mt.disconnect(conn)
    -- the milter closes a refused session when its connection ends, on
    -- libmilter's thread for it; the next connect may race that close (a
    -- loaded CI machine lost the race once): give it a moment
    mt.sleep(0.25)
  end
end

-- ends every session let through
function disconnect_all ()
  for _, conn in ipairs(held) do
    mt.disconnect(conn)
  end
end
