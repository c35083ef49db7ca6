require('msys.audit')
msys.audit.set_connecting_ip('2001:db8::7')
local s <close> = msys.audit.open('2001:db8::7', 'smtp')
assert(msys.audit.inbound_session_count('/64', 'SMTP') == 1)
