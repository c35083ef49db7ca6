/*
** audit_state.c: a lua_State's table and connecting IP, and the C binding
** (sc_lua_bind, sc_lua_set_connecting_ip).
**
** Each lua_State keeps one audit_State, a full userdata in its registry.
** The module's functions hold it as their upvalue; the binding functions
** find it by name.  A state that no host bound counts in the process-wide
** table, made once, whichever thread gets there first.
*/

#include <pthread.h>
#include <string.h>

#include "audit.h"


/*
** {======================================================
** The process-wide table of the stand-alone module
** =======================================================
*/

static pthread_once_t defonce = PTHREAD_ONCE_INIT;
static sc_table *deftable;
static sc_status defstatus;


static void makedefault (void) {
  defstatus = sc_table_new(sc_impl_fast(), NULL, &deftable);
}


/* the process-wide table: fast, no clustering, no extra services; NULL
** (and the reason in '*st') when it could not be made */
sc_table *audit_default (sc_status *st) {
  pthread_once(&defonce, makedefault);
  *st = defstatus;
  return (defstatus == SC_OK) ? deftable : NULL;
}

/* }====================================================== */


/* pushes the audit_State of L, making it if L has none */
audit_State *audit_getstate (lua_State *L) {
  audit_State *s;
  if (lua_getfield(L, LUA_REGISTRYINDEX, AUDIT_STATE) == LUA_TUSERDATA)
    return (audit_State *)lua_touserdata(L, -1);
  lua_pop(L, 1);
  s = (audit_State *)lua_newuserdatauv(L, sizeof(audit_State), 0);
  memset(s, 0, sizeof(audit_State));
  lua_pushvalue(L, -1);
  lua_setfield(L, LUA_REGISTRYINDEX, AUDIT_STATE);
  return s;
}


SC_API sc_status sc_lua_bind (lua_State *L, sc_table *table) {
  sc_status st = SC_OK;
  if (table == NULL && (table = audit_default(&st)) == NULL)
    return st;
  audit_getstate(L)->table = table;
  lua_pop(L, 1);
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  lua_pushcfunction(L, luaopen_msys_audit);
  lua_setfield(L, -2, "msys.audit");
  lua_pop(L, 1);
  return SC_OK;
}


SC_API sc_status sc_lua_set_connecting_ip (lua_State *L, const sc_addr *ip) {
  sc_addr a;
  audit_State *s;
  if (ip != NULL && sc_addr_from_bytes(ip->family, ip->bytes, &a) != SC_OK)
    return SC_E_INVALID;
  s = audit_getstate(L);
  lua_pop(L, 1);
  s->hasip = (ip != NULL);
  if (ip != NULL)
    s->ip = a;
  return SC_OK;
}
