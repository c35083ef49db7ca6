/*
** audit_events.c: the windowed counts of msys.audit (SPEC "Windowed
** counts"), over the table's built-in event series.
**
**   msys.audit.configure{ monitors = {"60,1", "300,6"} }
**   msys.audit.note("connection", ip, n)          -- a host notes from C
**   msys.audit.connections("60,1", "/24")          -- or receptions, rejections
**   msys.audit.connections("300,6", {cidr = "/24", startv = 0, endv = 5})
**
** Each function holds the state's audit_State as its upvalue, as in audit.c.
*/

#include <string.h>

#include "audit.h"


#define getstate(L)	((audit_State *)lua_touserdata(L, lua_upvalueindex(1)))

static const char *const kinds[] = {"connection", "reception", "rejection", NULL};


/* the configured monitors' series of 'kind' for argument 1's monitor */
static sc_series *eventseries (lua_State *L, audit_State *s, sc_event kind) {
  sc_monitor m = audit_checkmonitor(L, 1);
  sc_series *ser = NULL;
  sc_status st = sc_table_event_series(audit_table(L, s), kind, &m, &ser);
  if (st == SC_E_NOT_CONFIGURED)
    luaL_argerror(L, 1, "inbound audit is not configured");
  if (st != SC_OK)
    luaL_argerror(L, 1, lua_pushfstring(L, "monitor \"%s\" is not configured",
                                        lua_tostring(L, 1)));
  return ser;
}


/*
** connections/receptions/rejections(monitor, options): options is nil, a
** cidr, or a table of startv, endv, cidr and cluster.  With cluster = true
** the count is fleet-wide: this node's and every live node's of the same
** kind and monitor; until this node joins a fleet, its own (a cluster of
** one, SPEC "The fleet").
*/
static int eventcount (lua_State *L, sc_event kind) {
  audit_State *s = getstate(L);
  sc_series *ser = eventseries(L, s, kind);
  unsigned a = 0, b;
  int key = 0, cluster = 0;
  switch (lua_type(L, 2)) {
    case LUA_TNONE: case LUA_TNIL:
      b = 0;
      break;
    case LUA_TSTRING:
      b = 0;
      key = 2;
      break;
    case LUA_TTABLE:
      a = audit_optwindow(L, 2, "startv", 0);
      b = audit_optwindow(L, 2, "endv", a);
      if (lua_getfield(L, 2, "cluster") > LUA_TBOOLEAN)  /* nil or boolean */
        luaL_argerror(L, 2, "cluster must be a boolean");
      cluster = lua_toboolean(L, -1);
      lua_pop(L, 1);
      lua_getfield(L, 2, "cidr");
      key = lua_gettop(L);
      break;
    default:
      return luaL_typeerror(L, 2, "table, string or nil");
  }
  audit_countkey(L, 2, ser, key, s, a, b, cluster);
  return 1;
}

static int audit_connections (lua_State *L) { return eventcount(L, SC_EVENT_CONNECTION); }
static int audit_receptions (lua_State *L) { return eventcount(L, SC_EVENT_RECEPTION); }
static int audit_rejections (lua_State *L) { return eventcount(L, SC_EVENT_REJECTION); }


/* the monitors of t.monitors (a table at 'arg'), into m (room for 'cap') */
static size_t checkmonitors (lua_State *L, int arg, sc_monitor *m, size_t cap) {
  size_t n = 0;
  if (lua_getfield(L, arg, "monitors") != LUA_TTABLE)
    luaL_argerror(L, arg, "monitors must be a list of \"W,N\" strings");
  for (;; n++) {
    size_t l;
    const char *text;
    sc_error e;
    sc_status st;
    if (lua_geti(L, -1, (lua_Integer)n + 1) == LUA_TNIL) {
      lua_pop(L, 1);
      break;
    }
    if (n == cap)
      luaL_argerror(L, arg, "too many monitors");
    if (lua_type(L, -1) != LUA_TSTRING)  /* first: tolstring would turn 60 into "60" */
      luaL_argerror(L, arg, "monitors must be a list of \"W,N\" strings");
    text = lua_tolstring(L, -1, &l);
    if ((st = sc_monitor_parse(text, l, &m[n], &e)) != SC_OK)
      audit_failat(L, -1, arg, "monitor", st, &e);
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  if (n == 0)
    luaL_argerror(L, arg, "monitors must name at least one monitor");
  return n;
}


/* configure{ monitors = {...} }: once; again with the same list, nothing */
static int audit_configure (lua_State *L) {
  audit_State *s = getstate(L);
  sc_monitor m[64];
  size_t n;
  sc_status st;
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_pushnil(L);
  while (lua_next(L, 1)) {  /* every key is one we know */
    const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
    if (k == NULL || (strcmp(k, "monitors") != 0 && strcmp(k, "cluster") != 0))
      luaL_argerror(L, 1, lua_pushfstring(L, "unknown option %s",
                                          k ? k : luaL_typename(L, -2)));
    lua_pop(L, 1);
  }
  if (lua_getfield(L, 1, "cluster") != LUA_TNIL) {
    audit_joincluster(L, s, lua_gettop(L));
    lua_pop(L, 1);
    if (lua_getfield(L, 1, "monitors") == LUA_TNIL)
      return 0;  /* the cluster alone */
  }
  lua_pop(L, 1);
  n = checkmonitors(L, 1, m, sizeof(m) / sizeof(m[0]));
  st = sc_table_set_monitors(audit_table(L, s), m, n);
  if (st == SC_E_CONFLICT)
    luaL_argerror(L, 1, "monitors already configured as another list");
  if (st == SC_E_INVALID)
    luaL_argerror(L, 1, "a monitor is given twice");
  if (st != SC_OK)
    audit_fail(L, 0, NULL, st, NULL);
  return 0;
}


/* note(kind, ip, n): n events (default 1) of a kind from ip (default the
** connecting IP), in that kind's series of every configured monitor */
static int audit_note (lua_State *L) {
  audit_State *s = getstate(L);
  sc_event kind = (sc_event)luaL_checkoption(L, 1, NULL, kinds);
  sc_addr ip;
  int64_t n = lua_isnoneornil(L, 3) ? 1 : audit_checkamount(L, 3, 3, "n");
  sc_status st;
  if (!lua_isnoneornil(L, 2))
    audit_checkip(L, 2, &ip);
  else if (s->hasip)
    ip = s->ip;
  else
    return luaL_argerror(L, 2, "no ip and no connecting IP");
  st = sc_table_note(audit_table(L, s), kind, &ip, n, audit_now(L));
  if (st == SC_E_NOT_CONFIGURED)
    return luaL_argerror(L, 1, "inbound audit is not configured");
  if (st == SC_E_RANGE)
    return luaL_argerror(L, 3, "count out of range");
  if (st != SC_OK)
    return audit_fail(L, 0, NULL, st, NULL);
  return 0;
}


const luaL_Reg audit_eventfuncs[] = {
  {"configure", audit_configure},
  {"note", audit_note},
  {"connections", audit_connections},
  {"receptions", audit_receptions},
  {"rejections", audit_rejections},
  {NULL, NULL}
};
