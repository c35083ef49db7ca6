-- global_msys.lua: require('msys.audit') with a global msys that is not a
-- table (an error that changes nothing), then with none (it is made).
-- Run by CTest with the stock interpreter; fails with an error.

local checks = 0
local function check(cond, what)
  checks = checks + 1
  if not cond then error('check failed: ' .. what, 2) end
end

msys = 42
local ok, err = pcall(require, 'msys.audit')
check(not ok, 'require refuses a global msys = 42')
check(err == "global 'msys' is a number, not a table", 'the error: ' .. tostring(err))
check(msys == 42, 'msys unchanged')
check(package.loaded['msys.audit'] == nil, 'nothing loaded')

msys = nil
local m = require('msys.audit')
check(type(msys) == 'table', 'msys made')
check(msys.audit == m, 'msys.audit is the module')
check(package.loaded['msys.audit'] == m, 'package.loaded holds the module')
check(next(msys, next(msys)) == nil, 'msys holds audit only')
check(m.inbound_session_count('0.0.0.0/0', 'SMTP') == 0, 'the module works')
print(('global_msys.lua: %d checks passed'):format(checks))
