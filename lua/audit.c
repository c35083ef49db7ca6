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

#define connecting(s)	((s)->hasip ? &(s)->ip : NULL)


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
  {NULL, NULL}
};


/* msys.audit = module (on top); keeps the other fields of msys */
static void setglobal (lua_State *L) {
  int t = lua_getglobal(L, "msys");
  if (t == LUA_TNIL) {
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushvalue(L, -1);
    lua_setglobal(L, "msys");
  }
  else if (t != LUA_TTABLE)
    luaL_error(L, "global 'msys' is a %s, not a table", lua_typename(L, t));
  lua_pushvalue(L, -2);
  lua_setfield(L, -2, "audit");
  lua_pop(L, 1);
}


SC_API int luaopen_msys_audit (lua_State *L) {
  audit_State *s = audit_getstate(L);
  if (s->table == NULL) {  /* not bound: the process-wide table */
    sc_status st;
    if ((s->table = audit_default(&st)) == NULL)
      return luaL_error(L, "msys.audit: cannot make its table (%s)",
                        sc_strerror(st));
  }
  audit_sessionmeta(L);
  luaL_newlibtable(L, audit_funcs);
  lua_pushvalue(L, -2);  /* the audit_State, as upvalue */
  luaL_setfuncs(L, audit_funcs, 1);
  setglobal(L);
  return 1;
}
