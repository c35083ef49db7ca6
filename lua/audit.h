/*
** audit.h: what the files of the Lua module msys.audit share.
** A host sees include/sesscount_lua.h; a script sees the module table.
**
**   audit.c          the module table and luaopen_msys_audit
**   audit_state.c    a lua_State's table, connecting IP and clock; the C binding
**   audit_session.c  session userdata (open, close, __close, __gc)
**   audit_events.c   windowed counts: configure, note, connections...
**   audit_series.c   the module msys.audit_series (named series)
**   audit_cluster.c  the fleet: configure's cluster, cluster_status
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


/* registry field of a state's clock function (set_clock), absent: none */
#define AUDIT_CLOCK	"sesscount.audit.clock"


/* what one lua_State knows: where it counts and who is connecting */
typedef struct audit_State {
  sc_table *table;  /* bound table; NULL until bound or loaded */
  int hasip;  /* is 'ip' set? */
  sc_addr ip;  /* connecting IP, which relative masks use */
} audit_State;

#define audit_connecting(s)	((s)->hasip ? &(s)->ip : NULL)


/* audit_state.c */
audit_State *audit_getstate (lua_State *L);
sc_table *audit_default (sc_status *st);
sc_table *audit_table (lua_State *L, audit_State *s);
sc_time audit_now (lua_State *L);
int audit_setclock (lua_State *L);
void audit_setglobal (lua_State *L, const char *field);

/* audit_events.c */
extern const luaL_Reg audit_eventfuncs[];

/* audit_cluster.c */
extern const luaL_Reg audit_clusterfuncs[];
void audit_joincluster (lua_State *L, audit_State *s, int t);

/* audit_session.c */
int audit_open (lua_State *L);
void audit_sessionmeta (lua_State *L);

/* audit_check.c */
void audit_checkcidr (lua_State *L, int arg, const sc_addr *ip, sc_prefix *p);
void audit_checkip (lua_State *L, int arg, sc_addr *ip);
sc_service audit_checkservice (lua_State *L, int arg, const sc_table *t);
sc_monitor audit_checkmonitor (lua_State *L, int arg);
int64_t audit_checkamount (lua_State *L, int idx, int arg, const char *what);
unsigned audit_optwindow (lua_State *L, int t, const char *field, unsigned def);
void audit_countkey (lua_State *L, int arg, const sc_series *ser, int key,
                     const audit_State *s, unsigned a, unsigned b, int cluster);
int audit_fail (lua_State *L, int arg, const char *what, sc_status st,
                const sc_error *e);
int audit_failat (lua_State *L, int idx, int arg, const char *what, sc_status st,
                  const sc_error *e);

#endif
