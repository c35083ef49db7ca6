/*
** audit_session.c: sessions a script opens, msys.audit.open(ip, service).
**
** A session is a userdata holding what it opened and where.  It closes
** once: by s:close(), by leaving the scope of a to-be-closed variable
** (__close), or, when a script forgot it, by the garbage collector (__gc).
** Closing a closed session does nothing.
*/

#include "audit.h"


typedef struct audit_Session {
  sc_table *table;  /* where it was opened (a state may be rebound) */
  sc_addr addr;
  sc_service svc;
  int open;
} audit_Session;


/* msys.audit.open(ip, service): upvalue 1 is the audit_State */
int audit_open (lua_State *L) {
  audit_State *s = (audit_State *)lua_touserdata(L, lua_upvalueindex(1));
  audit_Session *p;
  sc_addr a;
  sc_service v;
  sc_status st;
  audit_checkip(L, 1, &a);
  v = audit_checkservice(L, 2, s->table);
  /* the userdata first: a memory error here leaves nothing open */
  p = (audit_Session *)lua_newuserdatauv(L, sizeof(audit_Session), 0);
  p->table = s->table;
  p->addr = a;
  p->svc = v;
  p->open = 0;
  luaL_setmetatable(L, AUDIT_SESSION);
  if ((st = sc_open(p->table, &a, v)) == SC_E_VIEW)
    return luaL_argerror(L, 2, sc_strerror(st));
  if (st != SC_OK)
    return audit_fail(L, 0, NULL, st, NULL);
  p->open = 1;
  return 1;
}


/* s:close() and __close */
static int session_close (lua_State *L) {
  audit_Session *p = (audit_Session *)luaL_checkudata(L, 1, AUDIT_SESSION);
  if (p->open) {
    sc_status st;
    p->open = 0;
    if ((st = sc_close(p->table, &p->addr, p->svc)) != SC_OK)
      return audit_fail(L, 1, NULL, st, NULL);  /* closed behind its back */
  }
  return 0;
}


/* __gc: a failure here has no one to tell */
static int session_gc (lua_State *L) {
  audit_Session *p = (audit_Session *)luaL_checkudata(L, 1, AUDIT_SESSION);
  if (p->open) {
    p->open = 0;
    sc_close(p->table, &p->addr, p->svc);
  }
  return 0;
}


static const luaL_Reg session_meta[] = {
  {"__index", NULL},  /* placeholder */
  {"__close", session_close},
  {"__gc", session_gc},
  {NULL, NULL}
};


static const luaL_Reg session_methods[] = {
  {"close", session_close},
  {NULL, NULL}
};


/* makes the metatable of sessions, once per state; pushes nothing */
void audit_sessionmeta (lua_State *L) {
  if (luaL_newmetatable(L, AUDIT_SESSION)) {
    luaL_setfuncs(L, session_meta, 0);
    luaL_newlib(L, session_methods);
    lua_setfield(L, -2, "__index");
  }
  lua_pop(L, 1);
}
