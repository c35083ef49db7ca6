/*
** mt_runtime.c: the part of Momentum's Lua runtime a policy sees in
** sesscount-milter, so that a policy written for Momentum runs unchanged.
**
**   msys.core            VALIDATE_CONT, VALIDATE_DONE, VALIDATE_AGAIN (taken
**                        as CONT: a milter cannot call a phase again),
**                        VCTX_CONN, VCTX_MESS
**   msys.registerModule  (name, module): the module's validate_* phases run
**   msys.expandMacro     "%{spfv1:i}" and friends in a string: the client's
**                        IP, its HELO name, connection variables
**   msys.extended.vctx,  modules Momentum's scripts require for the methods
**   .ac, .message        of vctx, accept and msg: the objects here have them
**   accept               :inbound_session_count([cidr [, service]])
**   print                a line in the milter's log
**   vctx                 :disconnect(code, text), :set_code(code, text),
**                        :get(scope, key), :set(scope, key, value)
**   msg                  the message of validate_rcptto/validate_data:
**                        an object with no methods yet
**
** msys.audit and msys.audit_series are sesscount's own (lua/), bound to
** the daemon's table.  A name under msys that is not here is an error: at
** load when the script names it (mt_scan.c), or when it is reached.
**
** The phase being run is a light userdata in the registry (RT_CALL); accept,
** vctx and msg are made once per state and act on that call only, so a
** script that keeps one and uses it later gets an error, not a stale session.
*/

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lauxlib.h"
#include "lualib.h"

#include "mt.h"


#define RT_MODULES	"sesscount.milter.modules"  /* {{name=, mod=}, ...} */
#define RT_CALL	"sesscount.milter.call"  /* light userdata: the mt_call */
#define RT_OBJECTS	"sesscount.milter.objects"  /* {accept, vctx, msg} */

enum { VALIDATE_CONT = 0, VALIDATE_DONE = 1, VALIDATE_AGAIN = 2 };  /* msys.core */
enum { VCTX_MESS = 0, VCTX_CONN = 1 };

const char *const mt_phase_names[MT_PHASES] = {
  "validate_connect", "validate_ehlo", "validate_mailfrom", "validate_rcptto",
  "validate_data", "validate_data_spool"
};

/* the phase being run, as mt_policy.c sets it */
typedef struct mt_call {
  mt_session *s;
  mt_reply *r;
} mt_call;


static mt_call *rt_call (lua_State *L, const char *what) {
  mt_call *c;
  lua_getfield(L, LUA_REGISTRYINDEX, RT_CALL);
  c = (mt_call *)lua_touserdata(L, -1);
  lua_pop(L, 1);
  if (c == NULL)
    luaL_error(L, "%s used outside a validation phase", what);
  return c;
}


/*
** {======================================================
** vctx
** =======================================================
*/

/* what the reply's code and text must be for the MTA to send them */
static void rt_setreply (lua_State *L, mt_reply *r, bool disconnect) {
  lua_Integer code = luaL_checkinteger(L, 2);
  size_t len;
  const char *text = luaL_optlstring(L, 3, "", &len);
  size_t i;
  luaL_argcheck(L, code >= 400 && code <= 599, 2, "want a 4xx or 5xx SMTP code");
  luaL_argcheck(L, len < sizeof r->text, 3, "text longer than 255 bytes");
  for (i = 0; i < len; i++)
    luaL_argcheck(L, (unsigned char)text[i] >= 32 && text[i] != 127, 3,
                  "control characters cannot go in an SMTP reply");
  r->refuse = true;
  r->disconnect = r->disconnect || disconnect || code == 421;
  r->code = (int)code;
  memcpy(r->text, text, len);
  r->text[len] = '\0';
}


static int vctx_disconnect (lua_State *L) {
  rt_setreply(L, rt_call(L, "vctx")->r, true);
  return 0;
}


static int vctx_set_code (lua_State *L) {
  rt_setreply(L, rt_call(L, "vctx")->r, false);
  return 0;
}


static mt_var **rt_scope (lua_State *L, mt_session *s) {
  lua_Integer scope = luaL_checkinteger(L, 2);
  luaL_argcheck(L, scope == VCTX_CONN || scope == VCTX_MESS, 2,
                "want msys.core.VCTX_CONN or msys.core.VCTX_MESS");
  return scope == VCTX_CONN ? &s->conn : &s->mess;
}


static int vctx_get (lua_State *L) {
  mt_session *s = rt_call(L, "vctx")->s;
  mt_var **list = rt_scope(L, s);
  const char *key = luaL_checkstring(L, 3);
  mt_var *v;
  for (v = *list; v != NULL; v = v->next)
    if (strcmp(v->key, key) == 0) {
      lua_pushstring(L, v->value);
      return 1;
    }
  lua_pushnil(L);
  return 1;
}


static int vctx_set (lua_State *L) {
  mt_session *s = rt_call(L, "vctx")->s;
  mt_var **list = rt_scope(L, s);
  const char *key = luaL_checkstring(L, 3);
  const char *value = luaL_checkstring(L, 4);
  mt_var *v;
  char *copy = strdup(value);
  if (copy == NULL) return luaL_error(L, "not enough memory");
  for (v = *list; v != NULL; v = v->next)
    if (strcmp(v->key, key) == 0) {
      free(v->value);
      v->value = copy;
      return 0;
    }
  if ((v = malloc(sizeof *v)) == NULL || (v->key = strdup(key)) == NULL) {
    free(v);
    free(copy);
    return luaL_error(L, "not enough memory");
  }
  v->value = copy;
  v->next = *list;
  *list = v;
  return 0;
}


static const luaL_Reg vctx_methods[] = {
  {"disconnect", vctx_disconnect},
  {"set_code", vctx_set_code},
  {"get", vctx_get},
  {"set", vctx_set},
  {NULL, NULL}
};

/* }====================================================== */


/*
** {======================================================
** accept and msg
** =======================================================
*/

/* accept:inbound_session_count([cidr [, service]]) is msys.audit's, with
** Momentum's defaults: the connecting IP's own address, service SMTP */
static int accept_count (lua_State *L) {
  mt_session *s = rt_call(L, "accept")->s;
  lua_getglobal(L, "require");
  lua_pushliteral(L, "msys.audit");
  lua_call(L, 1, 1);
  lua_getfield(L, -1, "inbound_session_count");
  if (lua_isnoneornil(L, 2))
    lua_pushstring(L, s->peer.family == SC_INET6 ? "/128" : "/32");
  else
    lua_pushvalue(L, 2);
  if (lua_isnoneornil(L, 3)) lua_pushliteral(L, "SMTP");
  else lua_pushvalue(L, 3);
  lua_call(L, 2, 1);
  return 1;
}


static const luaL_Reg accept_methods[] = {
  {"inbound_session_count", accept_count},
  {NULL, NULL}
};


/* __index of objects: a method we do not have is an error naming it */
static int rt_missing (lua_State *L) {
  const char *kind = lua_tostring(L, lua_upvalueindex(1));
  return luaL_error(L, "%s:%s is not provided by sesscount-milter", kind,
                    luaL_tolstring(L, 2, NULL));
}


/* pushes a new object of kind `kind` with methods `l` */
static void rt_object (lua_State *L, const char *kind, const luaL_Reg *l) {
  lua_newtable(L);
  if (l != NULL) luaL_setfuncs(L, l, 0);
  lua_newtable(L);  /* metatable */
  lua_pushstring(L, kind);
  lua_pushcclosure(L, rt_missing, 1);
  lua_setfield(L, -2, "__index");
  lua_setmetatable(L, -2);
}

/* }====================================================== */


/*
** {======================================================
** msys.core, msys.registerModule, msys.expandMacro
** =======================================================
*/

static int core_open (lua_State *L) {
  lua_newtable(L);
  lua_pushinteger(L, VALIDATE_CONT); lua_setfield(L, -2, "VALIDATE_CONT");
  lua_pushinteger(L, VALIDATE_DONE); lua_setfield(L, -2, "VALIDATE_DONE");
  lua_pushinteger(L, VALIDATE_AGAIN); lua_setfield(L, -2, "VALIDATE_AGAIN");
  lua_pushinteger(L, VCTX_MESS); lua_setfield(L, -2, "VCTX_MESS");
  lua_pushinteger(L, VCTX_CONN); lua_setfield(L, -2, "VCTX_CONN");
  return 1;
}


/* msys.extended.vctx, .ac, .message: Momentum's scripts require them for
** the methods of vctx, accept and msg, which the objects here carry */
static int extmod_open (lua_State *L) {
  lua_newtable(L);
  return 1;
}


static int rt_register (lua_State *L) {
  const char *name = luaL_checkstring(L, 1);
  lua_Integer n;
  luaL_checktype(L, 2, LUA_TTABLE);
  lua_getfield(L, LUA_REGISTRYINDEX, RT_MODULES);
  n = luaL_len(L, -1);
  lua_createtable(L, 0, 2);
  lua_pushstring(L, name);
  lua_setfield(L, -2, "name");
  lua_pushvalue(L, 2);
  lua_setfield(L, -2, "mod");
  lua_rawseti(L, -2, n + 1);
  return 0;
}


/* the value of macro `name` (between "%{" and "}") for s, or NULL */
static const char *rt_macro (const mt_session *s, const char *name, size_t len) {
  static const char *const ip[] = {"spfv1:i", "spfv1:c", "i", "vctx_conn:remote_ip", NULL};
  static const char *const helo[] = {"spfv1:h", "h", "vctx_conn:ehlo_domain", NULL};
  const mt_var *v;
  int i;
  for (i = 0; ip[i] != NULL; i++)
    if (strlen(ip[i]) == len && memcmp(ip[i], name, len) == 0) return s->ip;
  for (i = 0; helo[i] != NULL; i++)
    if (strlen(helo[i]) == len && memcmp(helo[i], name, len) == 0) return s->helo;
  if (len > 10 && memcmp(name, "vctx_conn:", 10) == 0) {
    for (v = s->conn; v != NULL; v = v->next)
      if (strlen(v->key) == len - 10 && memcmp(v->key, name + 10, len - 10) == 0)
        return v->value;
    return "";  /* a connection variable nobody set, as in Momentum */
  }
  return NULL;
}


const char *mt_runtime_expand (const mt_session *s, const char *in, char *out, size_t cap) {
  size_t n = 0;
  while (*in != '\0') {
    const char *v = in, *end;
    size_t vlen = 1;
    if (in[0] == '%' && in[1] == '{' && (end = strchr(in + 2, '}')) != NULL) {
      if ((v = rt_macro(s, in + 2, (size_t)(end - in - 2))) == NULL) {
        snprintf(out, cap, "%.*s", (int)(end - in + 1), in);
        return NULL;
      }
      vlen = strlen(v);
      in = end + 1;
    } else
      in++;
    if (n + vlen < cap) { memcpy(out + n, v, vlen); n += vlen; }
  }
  out[n < cap ? n : cap - 1] = '\0';
  return out;
}


static int rt_expand (lua_State *L) {
  const char *in = luaL_checkstring(L, 1);
  mt_session *s = rt_call(L, "msys.expandMacro")->s;
  luaL_Buffer b;
  char *out = luaL_buffinitsize(L, &b, 4096);
  if (mt_runtime_expand(s, in, out, 4096) == NULL)
    return luaL_error(L, "msys.expandMacro: macro %s is not provided by sesscount-milter", out);
  luaL_pushresultsize(&b, strlen(out));
  return 1;
}


/* print: a line in the log (a milter has no terminal) */
static int rt_print (lua_State *L) {
  luaL_Buffer b;
  int i, n = lua_gettop(L);
  luaL_buffinit(L, &b);
  for (i = 1; i <= n; i++) {
    if (i > 1) luaL_addchar(&b, '\t');
    luaL_tolstring(L, i, NULL);
    luaL_addvalue(&b);
  }
  luaL_pushresult(&b);
  mt_log("policy: %s", lua_tostring(L, -1));
  return 0;
}


/* the global msys: a table whose missing fields are errors naming them */
static int msys_missing (lua_State *L) {
  return luaL_error(L, "msys.%s is not provided by sesscount-milter", luaL_tolstring(L, 2, NULL));
}


/* require('msys.core') etc. return these and set msys.<name> */
static int rt_loadsub (lua_State *L) {
  const char *name = luaL_checkstring(L, 1);  /* "msys.core" */
  lua_CFunction open = lua_tocfunction(L, lua_upvalueindex(1));
  lua_pushcfunction(L, open);
  lua_call(L, 0, 1);
  lua_getglobal(L, "msys");
  if (strncmp(name, "msys.extended.", 14) == 0) {
    lua_getfield(L, -1, "extended");
    lua_pushvalue(L, -3);
    lua_setfield(L, -2, name + 14);
    lua_pop(L, 1);
  } else {
    lua_pushvalue(L, -2);
    lua_setfield(L, -2, name + 5);
  }
  lua_pop(L, 1);
  return 1;
}


static void rt_preloadsub (lua_State *L, const char *name, lua_CFunction open) {
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  lua_pushcfunction(L, open);
  lua_pushcclosure(L, rt_loadsub, 1);
  lua_setfield(L, -2, name);
  lua_pop(L, 1);
}

/* }====================================================== */


void mt_runtime_open (lua_State *L) {
  lua_newtable(L);
  lua_setfield(L, LUA_REGISTRYINDEX, RT_MODULES);
  lua_newtable(L);  /* msys */
  lua_pushcfunction(L, rt_register);
  lua_setfield(L, -2, "registerModule");
  lua_pushcfunction(L, rt_expand);
  lua_setfield(L, -2, "expandMacro");
  lua_newtable(L);
  lua_setfield(L, -2, "extended");
  lua_newtable(L);
  lua_pushcfunction(L, msys_missing);
  lua_setfield(L, -2, "__index");
  lua_setmetatable(L, -2);
  lua_setglobal(L, "msys");
  rt_preloadsub(L, "msys.core", core_open);
  rt_preloadsub(L, "msys.extended.vctx", extmod_open);
  rt_preloadsub(L, "msys.extended.ac", extmod_open);
  rt_preloadsub(L, "msys.extended.message", extmod_open);
  lua_register(L, "print", rt_print);
  lua_createtable(L, 3, 0);
  rt_object(L, "accept", accept_methods);
  lua_rawseti(L, -2, 1);
  rt_object(L, "vctx", vctx_methods);
  lua_rawseti(L, -2, 2);
  rt_object(L, "msg", NULL);
  lua_rawseti(L, -2, 3);
  lua_setfield(L, LUA_REGISTRYINDEX, RT_OBJECTS);
}


int mt_runtime_phases (lua_State *L, char *err, size_t errsz) {
  unsigned phases = 0;
  lua_Integer i, n;
  lua_getfield(L, LUA_REGISTRYINDEX, RT_MODULES);
  n = luaL_len(L, -1);
  for (i = 1; i <= n; i++) {
    lua_rawgeti(L, -1, i);
    lua_getfield(L, -1, "mod");
    lua_pushnil(L);
    while (lua_next(L, -2) != 0) {
      const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "";
      int ph, found = -1;
      for (ph = 0; ph < MT_PHASES; ph++)
        if (strcmp(k, mt_phase_names[ph]) == 0) found = ph;
      if (found >= 0 && lua_isfunction(L, -1))
        phases |= 1u << found;
      else if (strncmp(k, "validate_", 9) == 0) {
        lua_getfield(L, -4, "name");
        snprintf(err, errsz, "module '%s': %s is a Momentum phase sesscount-milter does not run",
                 lua_tostring(L, -1), k);
        lua_pop(L, 6);
        return -1;
      }
      lua_pop(L, 1);
    }
    lua_pop(L, 2);
  }
  lua_pop(L, 1);
  return (int)phases;
}


/* pushes the phase's arguments after the module (self): Momentum's order */
static int rt_args (lua_State *L, mt_phase ph, int arg) {
  int n = 0;
  lua_getfield(L, LUA_REGISTRYINDEX, RT_OBJECTS);
  if (ph == MT_RCPTTO || ph == MT_DATA || ph == MT_DATA_SPOOL) { lua_rawgeti(L, -1 - n, 3); n++; }  /* msg */
  if (ph == MT_EHLO || ph == MT_MAILFROM || ph == MT_RCPTTO) { lua_pushvalue(L, arg); n++; }
  lua_rawgeti(L, -1 - n, 1); n++;  /* accept */
  lua_rawgeti(L, -1 - n, 2); n++;  /* vctx */
  lua_rotate(L, -n - 1, -1);  /* the objects table goes to the top... */
  lua_pop(L, 1);  /* ...and away */
  return n;
}


/* lua_pcall'ed by mt_policy.c: (phase, string or nil, mt_call) */
int mt_runtime_call (lua_State *L) {
  mt_phase ph = (mt_phase)lua_tointeger(L, 1);
  lua_Integer i, n;
  lua_pushvalue(L, 3);
  lua_setfield(L, LUA_REGISTRYINDEX, RT_CALL);
  lua_getfield(L, LUA_REGISTRYINDEX, RT_MODULES);
  n = luaL_len(L, -1);
  for (i = 1; i <= n; i++) {
    int nargs, isnum;
    lua_Integer res;
    lua_rawgeti(L, 4, i);
    lua_getfield(L, -1, "mod");
    if (lua_getfield(L, -1, mt_phase_names[ph]) != LUA_TFUNCTION) {
      lua_pop(L, 3);
      continue;
    }
    lua_pushvalue(L, -2);  /* self */
    nargs = rt_args(L, ph, 2);
    lua_call(L, nargs + 1, 1);
    res = lua_tointegerx(L, -1, &isnum);
    if (!lua_isnil(L, -1) && (!isnum || res < VALIDATE_CONT || res > VALIDATE_AGAIN)) {
      const char *got = luaL_tolstring(L, -1, NULL);
      lua_getfield(L, -4, "name");
      return luaL_error(L, "module '%s': %s returned %s, not msys.core.VALIDATE_CONT or "
                        "VALIDATE_DONE", lua_tostring(L, -1), mt_phase_names[ph], got);
    }
    lua_pop(L, 3);
    if (isnum && res == VALIDATE_DONE) break;
  }
  return 0;
}


/* mt_policy.c clears the call after each phase */
void mt_runtime_endcall (lua_State *L) {
  lua_pushnil(L);
  lua_setfield(L, LUA_REGISTRYINDEX, RT_CALL);
}
