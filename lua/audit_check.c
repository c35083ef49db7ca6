/*
** audit_check.c: argument checks, and the one path every error of the
** module takes.
**
** Errors are Lua's own argument errors (luaL_argerror):
**   bad argument #1 to 'inbound_session_count' (invalid cidr "10.0.0.256/8":
**   octet out of range at offset 9)
** The text is quoted as given, in Lua's string syntax and in ASCII:
** printable ASCII as is, '"' and '\' escaped, every other byte as a
** decimal escape ("\0", "\200"); past AUDIT_QUOTEMAX bytes it is cut, with
** "..." after the closing quote.  The offset counts bytes of the text as
** given.
*/

#include <stdio.h>

#include "audit.h"


#define AUDIT_QUOTEMAX	64


static void addquoted (luaL_Buffer *b, const char *s, size_t l) {
  size_t i, n = (l > AUDIT_QUOTEMAX) ? AUDIT_QUOTEMAX : l;
  luaL_addchar(b, '"');
  for (i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '"' || c == '\\') {
      luaL_addchar(b, '\\');
      luaL_addchar(b, (char)c);
    }
    else if (c >= 0x20 && c < 0x7f)
      luaL_addchar(b, (char)c);
    else {  /* decimal, 3 digits when a digit follows, as '%q' writes */
      char e[8];
      int digit = (i + 1 < n && s[i + 1] >= '0' && s[i + 1] <= '9');
      snprintf(e, sizeof(e), digit ? "\\%03u" : "\\%u", (unsigned)c);
      luaL_addstring(b, e);
    }
  }
  luaL_addchar(b, '"');
  if (n < l)
    luaL_addstring(b, "...");
}


/*
** raises the error for status 'st' about argument 'arg' whose text is at
** stack index 'idx' (the argument itself, or a field of it pushed on the
** stack; 0 for none); 'what' names what a parse error ('e') was parsing:
** "cidr", "ip" or "monitor"
*/
int audit_failat (lua_State *L, int idx, int arg, const char *what, sc_status st,
                  const sc_error *e) {
  luaL_Buffer b;
  size_t l = 0;
  const char *s = (idx != 0) ? lua_tolstring(L, idx, &l) : NULL;
  if (s == NULL || (st != SC_E_PARSE && st != SC_E_NO_SERVICE &&
                    st != SC_E_NEEDS_CLUSTERING)) {
    if (arg > 0)
      return luaL_argerror(L, arg, sc_strerror(st));
    return luaL_error(L, "%s", sc_strerror(st));
  }
  luaL_buffinit(L, &b);
  switch (st) {
    case SC_E_PARSE:
      lua_pushfstring(L, "invalid %s ", what);
      luaL_addvalue(&b);
      addquoted(&b, s, l);
      lua_pushfstring(L, ": %s at offset %I", e->reason,
                      (lua_Integer)e->offset);
      luaL_addvalue(&b);
      break;
    case SC_E_NO_SERVICE:
      luaL_addstring(&b, "unknown service ");
      addquoted(&b, s, l);
      break;
    default:  /* SC_E_NEEDS_CLUSTERING */
      luaL_addstring(&b, "service ");
      addquoted(&b, s, l);
      luaL_addstring(&b, " needs clustering");
      break;
  }
  luaL_pushresult(&b);
  return luaL_argerror(L, arg, lua_tostring(L, -1));
}


int audit_fail (lua_State *L, int arg, const char *what, sc_status st,
                const sc_error *e) {
  return audit_failat(L, arg, arg, what, st, e);
}


/* checks that argument 'arg' is a CIDR; relative masks apply to 'ip'
** (NULL: none); puts the prefix in '*p' */
void audit_checkcidr (lua_State *L, int arg, const sc_addr *ip, sc_prefix *p) {
  size_t l;
  const char *s = luaL_checklstring(L, arg, &l);
  sc_error e;
  sc_status st = sc_parse_cidr(s, l, ip, p, &e);
  if (st != SC_OK)
    audit_fail(L, arg, "cidr", st, &e);
}


/* checks that argument 'arg' is an IP address; puts it in '*ip' */
void audit_checkip (lua_State *L, int arg, sc_addr *ip) {
  size_t l;
  const char *s = luaL_checklstring(L, arg, &l);
  sc_error e;
  sc_status st = sc_parse_addr(s, l, ip, &e);
  if (st != SC_OK)
    audit_fail(L, arg, "ip", st, &e);
}


/* checks that argument 'arg' names a service of table 't' */
sc_service audit_checkservice (lua_State *L, int arg, const sc_table *t) {
  size_t l;
  const char *s = luaL_checklstring(L, arg, &l);
  sc_service v = 0;
  sc_status st = sc_table_service(t, s, l, &v);
  if (st != SC_OK)
    audit_fail(L, arg, NULL, st, NULL);
  return v;
}


/* checks that argument 'arg' is a monitor "W,N" */
sc_monitor audit_checkmonitor (lua_State *L, int arg) {
  size_t l;
  const char *s = luaL_checklstring(L, arg, &l);
  sc_monitor m = {0, 0};
  sc_error e;
  sc_status st = sc_monitor_parse(s, l, &m, &e);
  if (st != SC_OK)
    audit_fail(L, arg, "monitor", st, &e);
  return m;
}


/* the whole number at stack index 'idx' (an integer, or a float with an
** integral value), for argument 'arg'; 'what' names it in errors */
int64_t audit_checkamount (lua_State *L, int idx, int arg, const char *what) {
  lua_Integer n;
  int isnum;
  if (lua_isinteger(L, idx))
    return (int64_t)lua_tointeger(L, idx);
  n = lua_tointegerx(L, idx, &isnum);
  if (lua_type(L, idx) != LUA_TNUMBER || !isnum)
    luaL_argerror(L, arg, lua_pushfstring(L, "%s must be a whole number, got %s", what,
                                          lua_type(L, idx) == LUA_TNUMBER
                                            ? "a fraction" : luaL_typename(L, idx)));
  return (int64_t)n;
}


/* the window index t[field] (a table at 't'), 'def' when absent */
unsigned audit_optwindow (lua_State *L, int t, const char *field, unsigned def) {
  int64_t v;
  if (lua_getfield(L, t, field) == LUA_TNIL) {
    lua_pop(L, 1);
    return def;
  }
  v = audit_checkamount(L, -1, t, field);
  if (v < 0 || v >= (int64_t)SC_MONITOR_WINDOWS_MAX)
    luaL_argerror(L, t, lua_pushfstring(L, "%s out of range (%I)", field, (lua_Integer)v));
  lua_pop(L, 1);
  return (unsigned)v;
}


/*
** pushes the count of series 'ser' over windows a..b for the key at stack
** index 'key' (0 or nil: none), as argument 'arg' gave it: for a CIDR
** series a cidr, relative masks and a missing key meaning the connecting
** IP; for a string series the key itself, which must be there
*/
/* a CIDR series' count of text k (NULL: the connecting IP), over the
** fleet when 'cluster' */
static sc_status cidrcount (const sc_series *ser, const char *k, size_t l,
                            const audit_State *s, unsigned a, unsigned b, int cluster,
                            sc_time now, uint64_t *n, sc_error *e) {
  sc_prefix p;
  sc_status st;
  const sc_addr *ip = audit_connecting(s);
  if (!cluster)
    return sc_series_count_text(ser, k, l, ip, a, b, now, n, e);
  st = k ? sc_parse_cidr(k, l, ip, &p, e)
         : sc_prefix_make(ip, ip->family == SC_INET4 ? 32 : 128, &p);
  return st != SC_OK ? st : sc_series_count_cluster(ser, &p, a, b, now, n);
}


void audit_countkey (lua_State *L, int arg, const sc_series *ser, int key,
                     const audit_State *s, unsigned a, unsigned b, int cluster) {
  uint64_t n = 0;
  sc_error e = {SC_PARSE_OK, NULL, 0};
  sc_status st;
  size_t l = 0;
  const char *k = (key != 0 && !lua_isnil(L, key)) ? lua_tolstring(L, key, &l) : NULL;
  if (key != 0 && !lua_isnil(L, key) && k == NULL)
    luaL_argerror(L, arg, lua_pushfstring(L, "key must be a string, got %s",
                                          luaL_typename(L, key)));
  if (sc_series_kind_of(ser) == SC_SERIES_STRING) {
    if (k == NULL || l == 0 || l > SC_SERIES_KEY_MAX)
      luaL_argerror(L, arg, "a string series needs a key of 1 to 255 bytes");
    st = cluster ? sc_series_count_string_cluster(ser, k, l, a, b, audit_now(L), &n)
                 : sc_series_count_string(ser, k, l, a, b, audit_now(L), &n);
  }
  else {
    if (k == NULL && !s->hasip)
      luaL_argerror(L, arg, "no cidr and no connecting IP");
    st = cidrcount(ser, k, l, s, a, b, cluster, audit_now(L), &n, &e);
  }
  if (st == SC_E_RANGE)
    luaL_argerror(L, arg, lua_pushfstring(L, "bad window range %d to %d (windows 0 to %d)",
                                          (int)a, (int)b,
                                          (int)sc_series_monitor(ser).windows - 1));
  if (st != SC_OK)
    audit_failat(L, key, arg, "cidr", st, &e);
  lua_pushinteger(L, (lua_Integer)n);
}
