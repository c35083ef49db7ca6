/*
** audit.h: what the files of the Lua module msys.audit share.
** A host sees include/sesscount_lua.h; a script sees the module table.
**
**   audit.c          the module table and luaopen_msys_audit
**   audit_state.c    a lua_State's table and connecting IP; the C binding
**   audit_session.c  session userdata (open, close, __close, __gc)
**   audit_check.c    argument checks and the one error path
*/
#ifndef audit_h
#define audit_h

#include "lua.h"
#include "lauxlib.h"

#include "sesscount_lua.h"


/* registry field of a lua_State's audit_State (a full userdata); a name,
** not an address, so that every copy of this code finds the same one */
#define AUDIT_STATE	"sesscount.audit"

/* name of the metatable of sessions */
#define AUDIT_SESSION	"msys.audit.session"


/* what one lua_State knows: where it counts and who is connecting */
typedef struct audit_State {
  sc_table *table;  /* bound table; NULL until bound or loaded */
  int hasip;  /* is 'ip' set? */
  sc_addr ip;  /* connecting IP, which relative masks use */
} audit_State;


/* audit_state.c */
audit_State *audit_getstate (lua_State *L);
sc_table *audit_default (sc_status *st);

/* audit_session.c */
int audit_open (lua_State *L);
void audit_sessionmeta (lua_State *L);

/* audit_check.c */
void audit_checkcidr (lua_State *L, int arg, const sc_addr *ip, sc_prefix *p);
void audit_checkip (lua_State *L, int arg, sc_addr *ip);
sc_service audit_checkservice (lua_State *L, int arg, const sc_table *t);
int audit_fail (lua_State *L, int arg, const char *what, sc_status st,
                const sc_error *e);

#endif
