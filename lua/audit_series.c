/*
** audit_series.c: the module msys.audit_series (SPEC "Windowed counts",
** Lua), named series shared by every lua_State bound to one table.
**
**   require('msys.audit_series')
**   msys.audit_series.define("bad_rcpts", "cidr", 60, 6)
**   msys.audit_series.add("bad_rcpts", {key = ip, count = 1})
**   msys.audit_series.count("bad_rcpts", {key = "/24", startv = 0, endv = 5})
**   msys.audit_series.remove_item("bad_rcpts", ip)
**
** The series live in the table (sc_table_define_series); a state keeps a
** cache of the ones it used, name -> series, in its registry, so that a
** count after the first finds its series without the table's lock.
*/

#include <string.h>

#include "audit.h"


#define getstate(L)	((audit_State *)lua_touserdata(L, lua_upvalueindex(1)))

/* registry field of a state's cache of named series */
#define AUDIT_SERIES	"sesscount.audit.series"

static const char *const types[] = {"cidr", "string", "cidr_ipv6", NULL};
static const sc_series_kind kindof[] = {SC_SERIES_CIDR, SC_SERIES_STRING, SC_SERIES_CIDR_IPV6};


/* remembers ser as the series named by argument 1 */
static void cacheseries (lua_State *L, sc_series *ser) {
  luaL_getsubtable(L, LUA_REGISTRYINDEX, AUDIT_SERIES);
  lua_pushvalue(L, 1);
  lua_pushlightuserdata(L, ser);
  lua_rawset(L, -3);
  lua_pop(L, 1);
}


/* the series named by argument 1, which must be defined */
static sc_series *checkseries (lua_State *L, audit_State *s) {
  size_t l;
  const char *name = luaL_checklstring(L, 1, &l);
  sc_series *ser = NULL;
  luaL_getsubtable(L, LUA_REGISTRYINDEX, AUDIT_SERIES);
  lua_pushvalue(L, 1);
  if (lua_rawget(L, -2) == LUA_TLIGHTUSERDATA)
    ser = (sc_series *)lua_touserdata(L, -1);
  lua_pop(L, 2);
  if (ser != NULL)
    return ser;
  if (sc_table_find_series(audit_table(L, s), name, l, &ser) != SC_OK)
    luaL_argerror(L, 1, lua_pushfstring(L, "no series named \"%s\"", name));
  cacheseries(L, ser);
  return ser;
}


/* the options of define (a table at 5, or nil): replicate is "none" or
** "cluster" (until this node joins a fleet, a cluster of one); serialize
** and persist may be given as false */
static int checkdefopts (lua_State *L) {
  int replicate = 0;
  if (lua_isnoneornil(L, 5))
    return 0;
  luaL_checktype(L, 5, LUA_TTABLE);
  lua_pushnil(L);
  while (lua_next(L, 5)) {
    const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "?";
    if (strcmp(k, "replicate") == 0) {
      const char *v = lua_tostring(L, -1);
      if (lua_type(L, -1) != LUA_TSTRING || (strcmp(v, "none") && strcmp(v, "cluster")))
        luaL_argerror(L, 5, "replicate must be \"none\" or \"cluster\"");
      replicate = strcmp(v, "cluster") == 0;
    }
    else if (strcmp(k, "serialize") == 0 || strcmp(k, "persist") == 0) {
      if (lua_toboolean(L, -1))
        luaL_argerror(L, 5, lua_pushfstring(L, "%s is not supported", k));
    }
    else
      luaL_argerror(L, 5, lua_pushfstring(L, "unknown option %s", k));
    lua_pop(L, 1);
  }
  return replicate;
}


/* define(name, type, interval, num_windows, options) */
static int series_define (lua_State *L) {
  audit_State *s = getstate(L);
  size_t l;
  const char *name = luaL_checklstring(L, 1, &l);
  int type = luaL_checkoption(L, 2, NULL, types);
  int64_t w = audit_checkamount(L, 3, 3, "interval");
  int64_t n = audit_checkamount(L, 4, 4, "num_windows");
  sc_monitor m;
  sc_series *ser = NULL;
  sc_status st;
  if (l == 0 || l > SC_SERIES_KEY_MAX)
    luaL_argerror(L, 1, "a series name has 1 to 255 bytes");
  if (w < 1 || w > (int64_t)SC_MONITOR_INTERVAL_MAX)
    luaL_argerror(L, 3, "interval out of range (1 to 86400 seconds)");
  if (n < 1 || n > (int64_t)SC_MONITOR_WINDOWS_MAX)
    luaL_argerror(L, 4, "num_windows out of range (1 to 1024)");
  int replicate = checkdefopts(L);
  m.interval = (uint32_t)w;
  m.windows = (uint32_t)n;
  st = sc_table_define_series(audit_table(L, s), name, l, kindof[type], &m, &ser);
  if (st == SC_E_CONFLICT)
    luaL_argerror(L, 1, lua_pushfstring(L, "series \"%s\" is already defined with another "
                                        "type, interval or num_windows", name));
  if (st == SC_OK && replicate)  /* its adds from now on go to the fleet */
    st = sc_series_replicate(ser);
  if (st != SC_OK)
    audit_fail(L, 0, NULL, st, NULL);
  cacheseries(L, ser);
  return 0;
}


/* the key (pushed, or nil) and amount of add's options at 2 */
static int64_t addoptions (lua_State *L) {
  int64_t n = 1;
  if (lua_istable(L, 2)) {
    if (lua_getfield(L, 2, "count") != LUA_TNIL)
      n = audit_checkamount(L, -1, 2, "count");
    lua_pop(L, 1);
    lua_getfield(L, 2, "key");
  }
  else
    lua_pushvalue(L, 2);  /* the key itself, or nil */
  return n;
}


/* the key at the top for argument 2 of a CIDR series: an ip, or nil for
** the connecting IP */
static sc_addr keyaddr (lua_State *L, const audit_State *s) {
  sc_addr a;
  size_t l;
  const char *k;
  sc_error e;
  sc_status st;
  if (lua_isnil(L, -1)) {
    if (!s->hasip)
      luaL_argerror(L, 2, "no key and no connecting IP");
    return s->ip;
  }
  if (lua_type(L, -1) != LUA_TSTRING)
    luaL_argerror(L, 2, lua_pushfstring(L, "key must be a string, got %s",
                                        luaL_typename(L, -1)));
  k = lua_tolstring(L, -1, &l);
  if ((st = sc_parse_addr(k, l, &a, &e)) != SC_OK)
    audit_failat(L, -1, 2, "ip", st, &e);
  return a;
}


/* the key at the top for argument 2 of a string series */
static const char *keystring (lua_State *L, size_t *l) {
  const char *k = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, l) : NULL;
  if (k == NULL || *l == 0 || *l > SC_SERIES_KEY_MAX)
    luaL_argerror(L, 2, "a string series needs a key of 1 to 255 bytes");
  return k;
}


/* add(name, options): options {key = ..., count = n}, or the key */
static int series_add (lua_State *L) {
  audit_State *s = getstate(L);
  sc_series *ser = checkseries(L, s);
  int64_t n = addoptions(L);
  sc_status st;
  if (sc_series_kind_of(ser) == SC_SERIES_STRING) {
    size_t l;
    const char *k = keystring(L, &l);
    st = sc_series_add_string(ser, k, l, n, audit_now(L));
  }
  else {
    sc_addr a = keyaddr(L, s);
    st = sc_series_add(ser, &a, n, audit_now(L));
  }
  if (st == SC_E_RANGE)
    return luaL_argerror(L, 2, "count out of range");
  if (st != SC_OK)
    return audit_fail(L, 0, NULL, st, NULL);
  return 0;
}


/* count(name, options): options {key = cidr, startv, endv, cluster}, or
** the key; a CIDR key of only "/mask" is the connecting IP's prefix */
static int series_count (lua_State *L) {
  audit_State *s = getstate(L);
  sc_series *ser = checkseries(L, s);
  unsigned a = 0, b = 0;
  int cluster = 0;
  if (lua_istable(L, 2)) {
    a = audit_optwindow(L, 2, "startv", 0);
    b = audit_optwindow(L, 2, "endv", a);
    if (lua_getfield(L, 2, "cluster") > LUA_TBOOLEAN)
      luaL_argerror(L, 2, "cluster must be a boolean");
    cluster = lua_toboolean(L, -1);  /* a cluster of one until this node joins a fleet */
    lua_pop(L, 1);
    lua_getfield(L, 2, "key");
  }
  else
    lua_pushvalue(L, 2);
  audit_countkey(L, 2, ser, lua_gettop(L), s, a, b, cluster);
  return 1;
}


/* remove_item(name, key) */
static int series_remove (lua_State *L) {
  audit_State *s = getstate(L);
  sc_series *ser = checkseries(L, s);
  sc_status st;
  lua_settop(L, 2);
  if (sc_series_kind_of(ser) == SC_SERIES_STRING) {
    size_t l;
    const char *k = keystring(L, &l);
    st = sc_series_remove_string(ser, k, l, audit_now(L));
  }
  else {
    sc_addr a = keyaddr(L, s);
    st = sc_series_remove(ser, &a, audit_now(L));
  }
  if (st != SC_OK)
    return audit_fail(L, 0, NULL, st, NULL);
  return 0;
}


static const luaL_Reg series_funcs[] = {
  {"define", series_define},
  {"add", series_add},
  {"count", series_count},
  {"remove_item", series_remove},
  {NULL, NULL}
};


SC_API int luaopen_msys_audit_series (lua_State *L) {
  audit_State *s = audit_getstate(L);
  audit_table(L, s);  /* not bound: the process-wide table */
  luaL_newlibtable(L, series_funcs);
  lua_pushvalue(L, -2);  /* the audit_State, as upvalue */
  luaL_setfuncs(L, series_funcs, 1);
  audit_setglobal(L, "audit_series");
  return 1;
}
