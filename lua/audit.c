/*
** audit.c: the Lua 5.4 module msys.audit (SPEC "Lua 5.4 module").
**
**   require('msys.audit')
**   msys.audit.set_connecting_ip('192.0.2.77')
**   if msys.audit.inbound_session_count('/24', 'SMTP') > 50 then ... end
**
** Every function holds the state's audit_State (audit_state.c) as its
** upvalue: the table it counts in and the connecting IP.
*/

#include "audit.h"


#define getstate(L)	((audit_State *)lua_touserdata(L, lua_upvalueindex(1)))

#define connecting(s)	audit_connecting(s)


/*
** inbound_session_count(cidr, service) -> integer
** It parses with the public parser (sc_parse_cidr), as cidr() does, so
** that both give the same errors over any implementation.
*/
static int audit_count (lua_State *L) {
  audit_State *s = getstate(L);
  sc_prefix p;
  sc_service v;
  uint64_t n = 0;
  sc_status st;
  audit_checkcidr(L, 1, connecting(s), &p);
  v = audit_checkservice(L, 2, s->table);
  if ((st = sc_count(s->table, &p, v, &n)) != SC_OK)
    return audit_fail(L, 0, NULL, st, NULL);
  lua_pushinteger(L, (lua_Integer)n);
  return 1;
}


/* cidr(cidr) -> canonical text */
static int audit_cidr (lua_State *L) {
  audit_State *s = getstate(L);
  char buff[SC_PREFIX_TEXT_MAX];
  sc_prefix p;
  audit_checkcidr(L, 1, connecting(s), &p);
  lua_pushlstring(L, buff, sc_format_prefix(&p, buff, sizeof(buff)));
  return 1;
}


/* set_connecting_ip(ip | nil) */
static int audit_setip (lua_State *L) {
  audit_State *s = getstate(L);
  sc_addr a;
  if (lua_isnoneornil(L, 1))
    s->hasip = 0;
  else {
    audit_checkip(L, 1, &a);
    s->ip = a;
    s->hasip = 1;
  }
  return 0;
}


static const luaL_Reg audit_funcs[] = {
  {"inbound_session_count", audit_count},
  {"set_connecting_ip", audit_setip},
  {"open", audit_open},
  {"cidr", audit_cidr},
  {"set_clock", audit_setclock},
  {NULL, NULL}
};


SC_API int luaopen_msys_audit (lua_State *L) {
  audit_State *s = audit_getstate(L);
  audit_table(L, s);  /* not bound: the process-wide table */
  audit_sessionmeta(L);
  lua_createtable(L, 0, 12);  /* the module */
  lua_pushvalue(L, -2);  /* the audit_State, as upvalue */
  luaL_setfuncs(L, audit_funcs, 1);
  lua_pushvalue(L, -2);
  luaL_setfuncs(L, audit_eventfuncs, 1);
  lua_pushvalue(L, -2);
  luaL_setfuncs(L, audit_clusterfuncs, 1);
  audit_setglobal(L, "audit");
  return 1;
}
