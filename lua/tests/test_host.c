/*
** test_host.c: runs a Lua script with msys.audit bound to a host table.
**
**   sc_lua_test_host ref|fast [--clustering] SCRIPT   a table of that impl
**   sc_lua_test_host default SCRIPT                   sc_lua_bind(L, NULL)
**
** The table has no extra services, or, with --clustering, clustering and
** the extra service "LMTP".  package.cpath is emptied, so require can only
** find the bound module (package.preload).  The script sees a global 'host':
**   host.impl            "ref", "fast" or "default"
**   host.clustering      boolean
**   host.extra           the extra service's name, or nil
**   host.set_connecting_ip(ip | nil)   through sc_lua_set_connecting_ip;
**                        returns sc_strerror of its status
**   host.set_mapped(a, b, c, d)        the same with ::ffff:a.b.c.d as a raw
**                        IPv6 sc_addr, which must count as IPv4
**   host.set_badfamily() the same with family 5: must be refused
**   host.close(ip, service)  sc_close from C; returns sc_strerror of it
**   host.count(cidr, service)  sc_count_text from C, no connecting IP
**                        (these two not with 'default': the host cannot
**                        reach the process-wide table)
** After the script, lua_close must have closed every session the script
** left open (__gc): every count of the table must be 0.
** Before the script (ref and fast), bindchecks() checks the binding
** itself on tables of its own.
** Exits 0 when every check held, the script ran without error and the
** table is empty.
*/

#include <stdio.h>
#include <string.h>

#include "lua.h"
#include "lauxlib.h"
#include "lualib.h"

#include "sesscount_lua.h"


static sc_table *table;


static int pushstatus (lua_State *L, sc_status st) {
  lua_pushstring(L, sc_strerror(st));
  return 1;
}


static int host_setip (lua_State *L) {
  sc_addr a;
  sc_error e;
  size_t l;
  const char *s;
  if (lua_isnoneornil(L, 1))
    return pushstatus(L, sc_lua_set_connecting_ip(L, NULL));
  s = luaL_checklstring(L, 1, &l);
  if (sc_parse_addr(s, l, &a, &e) != SC_OK)
    return luaL_error(L, "host: bad ip %s: %s", s, e.reason);
  return pushstatus(L, sc_lua_set_connecting_ip(L, &a));
}


static int host_setmapped (lua_State *L) {
  sc_addr a;
  int i;
  memset(&a, 0, sizeof(a));
  a.family = SC_INET6;
  a.bytes[10] = a.bytes[11] = 0xff;
  for (i = 0; i < 4; i++)
    a.bytes[12 + i] = (uint8_t)luaL_checkinteger(L, i + 1);
  return pushstatus(L, sc_lua_set_connecting_ip(L, &a));
}


static int host_setbadfamily (lua_State *L) {
  sc_addr a;
  memset(&a, 0, sizeof(a));
  a.family = 5;
  return pushstatus(L, sc_lua_set_connecting_ip(L, &a));
}


static int host_close (lua_State *L) {
  size_t li, ls;
  const char *ip = luaL_checklstring(L, 1, &li);
  const char *sv = luaL_checklstring(L, 2, &ls);
  sc_addr a;
  sc_service v;
  sc_status st = sc_parse_addr(ip, li, &a, NULL);
  if (st == SC_OK)
    st = sc_table_service(table, sv, ls, &v);
  if (st == SC_OK)
    st = sc_close(table, &a, v);
  return pushstatus(L, st);
}


static int host_count (lua_State *L) {
  size_t lc, ls;
  const char *c = luaL_checklstring(L, 1, &lc);
  const char *v = luaL_checklstring(L, 2, &ls);
  uint64_t n;
  sc_status st = sc_count_text(table, c, lc, NULL, v, ls, &n, NULL);
  if (st != SC_OK)
    return luaL_error(L, "host.count: %s", sc_strerror(st));
  lua_pushinteger(L, (lua_Integer)n);
  return 1;
}


static const luaL_Reg host_funcs[] = {
  {"set_connecting_ip", host_setip},
  {"set_mapped", host_setmapped},
  {"set_badfamily", host_setbadfamily},
  {"close", host_close},  /* the last two need 'table' */
  {"count", host_count},
  {NULL, NULL}
};


/* 1 when every count of 'table' is 0 */
static int isempty (void) {
  static const char *const all[] = {"0.0.0.0/0", "::/0"};
  sc_prefix p;
  sc_service v;
  uint64_t n;
  int i, empty = 1;
  for (i = 0; i < 2; i++) {
    if (sc_parse_cidr(all[i], strlen(all[i]), NULL, &p, NULL) != SC_OK) {
      fprintf(stderr, "test_host: %s does not parse\n", all[i]);
      return 0;
    }
    for (v = 0; v < SC_MAX_SERVICES; v++) {
      if (sc_count(table, &p, v, &n) != SC_OK)
        break;  /* past the table's services */
      if (n != 0) {
        fprintf(stderr, "test_host: %s service %u holds %llu sessions after "
                "lua_close\n", all[i], (unsigned)v, (unsigned long long)n);
        empty = 0;
      }
    }
  }
  return empty;
}


/* the number of SMTP sessions from 192.0.2.1 in 't' */
static uint64_t smtp1 (const sc_table *t) {
  uint64_t n = 0;
  if (sc_count_text(t, "192.0.2.1", 9, NULL, "SMTP", 4, &n, NULL) != SC_OK)
    return UINT64_MAX;  /* no answer: no check can pass with it */
  return n;
}


static int run (lua_State *L, const char *code) {
  if (luaL_dostring(L, code) == LUA_OK)
    return 1;
  fprintf(stderr, "test_host: %s\n", lua_tostring(L, -1));
  lua_pop(L, 1);
  return 0;
}


#define CHECK(c)  \
  ((c) ? 1 : (fprintf(stderr, "test_host:%d: failed: %s\n", __LINE__, #c), 0))

/*
** What sesscount_lua.h promises beyond what a script sees: binding before
** luaL_openlibs, loading eagerly with luaL_requiref, rebinding a state
** whose module is loaded (new counts go to the new table, open sessions
** close into their own), lua_close closing what is left.  1 when all hold.
*/
static int bindchecks (const sc_impl *im) {
  sc_table *a = NULL, *b = NULL;
  lua_State *L;
  int ok = 1;
  if (sc_table_new(im, NULL, &a) != SC_OK || sc_table_new(im, NULL, &b) != SC_OK)
    return 0;
  L = luaL_newstate();
  ok &= CHECK(sc_lua_bind(L, a) == SC_OK);  /* before luaL_openlibs */
  luaL_openlibs(L);
  luaL_requiref(L, "msys.audit", luaopen_msys_audit, 0);
  lua_pop(L, 1);
  ok &= run(L, "assert(type(msys.audit.open) == 'function', 'no msys.audit')\n"
               "assert(rawget(_G, 'msys.audit') == nil, 'a flat global')\n"
               "assert(require('msys.audit') == msys.audit, 'require')\n"
               "S = msys.audit.open('192.0.2.1', 'SMTP')");
  ok &= CHECK(smtp1(a) == 1 && smtp1(b) == 0);
  ok &= CHECK(sc_lua_bind(L, b) == SC_OK);
  ok &= run(L, "assert(msys.audit.inbound_session_count('192.0.2.1', 'SMTP') == 0)\n"
               "T = msys.audit.open('192.0.2.1', 'SMTP')\n"
               "U = msys.audit.open('192.0.2.1', 'SMTP')\n"
               "S:close()\n"
               "T:close()");
  ok &= CHECK(smtp1(a) == 0 && smtp1(b) == 1);
  lua_close(L);  /* closes U */
  ok &= CHECK(smtp1(b) == 0);
  sc_table_free(a);
  sc_table_free(b);
  return ok;
}


int main (int argc, char **argv) {
  static const char *const extra[] = {"LMTP"};
  sc_options o = {.clustering = false, .extra_services = extra, .n_extra_services = 0};
  const char *impl, *script;
  lua_State *L;
  int ok;
  if (argc < 3 || argc > 4 || (argc == 4 && strcmp(argv[2], "--clustering") != 0)) {
    fprintf(stderr, "usage: %s ref|fast|default [--clustering] SCRIPT\n", argv[0]);
    return 2;
  }
  impl = argv[1];
  script = argv[argc - 1];
  if (argc == 4) {
    o.clustering = true;
    o.n_extra_services = 1;
  }
  if (strcmp(impl, "default") != 0) {
    const sc_impl *im = (strcmp(impl, "ref") == 0) ? sc_impl_ref() : sc_impl_fast();
    sc_status st = sc_table_new(im, &o, &table);
    if (st != SC_OK || strcmp(sc_impl_name(im), impl) != 0) {
      fprintf(stderr, "test_host: no %s table: %s\n", impl, sc_strerror(st));
      return 2;
    }
    if (!bindchecks(im)) {
      sc_table_free(table);
      return 1;
    }
  }
  L = luaL_newstate();
  luaL_openlibs(L);
  if (sc_lua_bind(L, table) != SC_OK) {
    fprintf(stderr, "test_host: sc_lua_bind failed\n");
    return 1;
  }
  lua_getglobal(L, "package");
  lua_pushliteral(L, "");
  lua_setfield(L, -2, "cpath");
  lua_pop(L, 1);
  luaL_newlib(L, host_funcs);
  if (table == NULL) {
    lua_pushnil(L);
    lua_setfield(L, -2, "close");
    lua_pushnil(L);
    lua_setfield(L, -2, "count");
  }
  lua_pushstring(L, impl);
  lua_setfield(L, -2, "impl");
  lua_pushboolean(L, o.clustering);
  lua_setfield(L, -2, "clustering");
  if (o.n_extra_services > 0) {
    lua_pushstring(L, extra[0]);
    lua_setfield(L, -2, "extra");
  }
  lua_setglobal(L, "host");
  ok = (luaL_dofile(L, script) == LUA_OK);
  if (!ok)
    fprintf(stderr, "test_host: %s\n", lua_tostring(L, -1));
  lua_close(L);
  if (table != NULL) {
    ok = isempty() && ok;
    sc_table_free(table);
  }
  return ok ? 0 : 1;
}
