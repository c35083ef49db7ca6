/*
** audit_state.c: a lua_State's table, connecting IP and clock, and the C
** binding (sc_lua_bind, sc_lua_set_connecting_ip).
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
  sc_options opts;
  memset(&opts, 0, sizeof opts);
  opts.join_later = true;  /* configure{cluster} turns clustering on */
  defstatus = sc_table_new(sc_impl_fast(), &opts, &deftable);
}


/* the process-wide table: fast, no clustering until it joins a cluster,
** no extra services; NULL
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


/* the table s counts in: the bound one, or the process-wide one */
sc_table *audit_table (lua_State *L, audit_State *s) {
  if (s->table == NULL) {
    sc_status st;
    if ((s->table = audit_default(&st)) == NULL)
      luaL_error(L, "msys.audit: cannot make its table (%s)", sc_strerror(st));
  }
  return s->table;
}


/* the time of a series call: the state's clock (set_clock), or SC_NOW
** (the table's clock, the real time unless the host set one) */
sc_time audit_now (lua_State *L) {
  sc_time t = SC_NOW;
  if (lua_getfield(L, LUA_REGISTRYINDEX, AUDIT_CLOCK) == LUA_TFUNCTION) {
    lua_Number f;
    lua_call(L, 0, 1);
    f = lua_tonumber(L, -1);
    if (lua_isinteger(L, -1))
      t = (sc_time)lua_tointeger(L, -1);
    else if (lua_type(L, -1) == LUA_TNUMBER && f > -9.2e18 && f < 9.2e18) {  /* fits, not NaN */
      t = (sc_time)f;  /* toward zero; then down to the floor (no libm) */
      if ((lua_Number)t > f)
        t--;
    }
    else
      luaL_error(L, "msys.audit clock returned %s, not seconds",
                 luaL_typename(L, -1));
  }
  lua_pop(L, 1);
  return t;
}


/* set_clock(f | nil): the clock of this state's series calls */
int audit_setclock (lua_State *L) {
  if (!lua_isnoneornil(L, 1))
    luaL_checktype(L, 1, LUA_TFUNCTION);
  lua_settop(L, 1);
  lua_setfield(L, LUA_REGISTRYINDEX, AUDIT_CLOCK);
  return 0;
}


/* msys[field] = module (on top); keeps the other fields of msys */
void audit_setglobal (lua_State *L, const char *field) {
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
  lua_setfield(L, -2, field);
  lua_pop(L, 1);
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
  lua_pushcfunction(L, luaopen_msys_audit_series);
  lua_setfield(L, -2, "msys.audit_series");
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
