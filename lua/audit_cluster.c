/*
** audit_cluster.c: the fleet from Lua (SPEC "The fleet").
**
**   msys.audit.configure{ cluster = { redis = "127.0.0.1:6379", name = "mx",
**                                     node = "mx1", lease = 5,
**                                     password_file = nil, user = nil } }
**   msys.audit.cluster_status()  --> { state = "live"|"stale"|"local",
**                                      nodes = n, age = seconds, ... }
**
** configure joins the state's table to the cluster (the stand-alone
** module's process-wide table is made to join later, so this also turns its
** clustering-only names on).  Joining again with the same cluster and node
** does nothing; another is an error.  The stand-alone module leaves when
** the process exits; a host's table leaves when the host frees it.
*/

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "sesscount_cluster.h"


#define getstate(L)	((audit_State *)lua_touserdata(L, lua_upvalueindex(1)))

static const char *const fields[] = {"redis", "name", "node", "lease", "password_file",
                                     "user", NULL};


static void logline (void *arg, const char *line) {
  (void)arg;
  fprintf(stderr, "msys.audit: %s\n", line);
}


/* t[field] as a string, or NULL when absent and optional (the table keeps
** the string alive) */
static const char *optfield (lua_State *L, int t, const char *field, int required) {
  const char *v = NULL;
  int ty = lua_getfield(L, t, field);
  if (ty == LUA_TSTRING)
    v = lua_tostring(L, -1);
  else if (ty != LUA_TNIL || required)
    luaL_argerror(L, 1, lua_pushfstring(L, "cluster.%s must be a string", field));
  lua_pop(L, 1);
  return v;
}


static void checkfields (lua_State *L, int t) {
  lua_pushnil(L);
  while (lua_next(L, t)) {
    const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
    int i;
    for (i = 0; k != NULL && fields[i] != NULL && strcmp(k, fields[i]) != 0; i++)
      ;
    if (k == NULL || fields[i] == NULL)
      luaL_argerror(L, 1, lua_pushfstring(L, "cluster: unknown option %s",
                                          k ? k : luaL_typename(L, -2)));
    lua_pop(L, 1);
  }
}


static void readconfig (lua_State *L, int t, sc_cluster_config *cfg) {
  checkfields(L, t);
  memset(cfg, 0, sizeof *cfg);
  cfg->redis = optfield(L, t, "redis", 1);
  cfg->name = optfield(L, t, "name", 1);
  cfg->node = optfield(L, t, "node", 1);
  cfg->password_file = optfield(L, t, "password_file", 0);
  cfg->user = optfield(L, t, "user", 0);
  if (lua_getfield(L, t, "lease") != LUA_TNIL) {
    if (lua_type(L, -1) != LUA_TNUMBER)
      luaL_argerror(L, 1, "cluster.lease must be a number of seconds");
    cfg->lease = lua_tonumber(L, -1);
    if (cfg->lease == 0)
      luaL_argerror(L, 1, "cluster.lease: 0.5 to 3600 seconds");
  }
  lua_pop(L, 1);
  cfg->log = logline;
}


static pthread_once_t exitonce = PTHREAD_ONCE_INIT;

/* the stand-alone module's table leaves the fleet when the process exits */
static void leavedefault (void) {
  sc_status st;
  sc_table *t = audit_default(&st);
  if (t != NULL)
    sc_cluster_leave(sc_cluster_of(t));
}

static void atexitonce (void) { atexit(leavedefault); }


/* configure's cluster = {...} (the table at 't') for state s */
void audit_joincluster (lua_State *L, audit_State *s, int t) {
  sc_table *tab = audit_table(L, s);
  sc_cluster_config cfg;
  sc_cluster *c = sc_cluster_of(tab);
  const char *why = NULL;
  sc_status st;
  luaL_checktype(L, t, LUA_TTABLE);
  readconfig(L, t, &cfg);
  if (c != NULL) {  /* already joined: the same one is a no-op */
    sc_cluster_status cs;
    sc_cluster_status_get(c, &cs);
    if (strcmp(cs.name, cfg.name) != 0 || strcmp(cs.node, cfg.node) != 0)
      luaL_argerror(L, 1, lua_pushfstring(L, "cluster: already joined cluster %s as node %s",
                                          cs.name, cs.node));
    return;
  }
  st = sc_cluster_join(tab, &cfg, &c, &why);
  if (st == SC_E_NEEDS_CLUSTERING)
    luaL_argerror(L, 1, "cluster: the host's table was made without clustering");
  if (st == SC_E_INVALID && why != NULL)
    luaL_argerror(L, 1, lua_pushfstring(L, "cluster.%s", why));
  if (st == SC_E_CONFLICT)  /* another state joined meanwhile */
    return;
  if (st != SC_OK)
    audit_fail(L, 0, NULL, st, NULL);
  {
    sc_status dst;
    if (tab == audit_default(&dst))
      pthread_once(&exitonce, atexitonce);
  }
}


static void setnum (lua_State *L, const char *k, lua_Number v) {
  lua_pushnumber(L, v);
  lua_setfield(L, -2, k);
}

static void setint (lua_State *L, const char *k, uint64_t v) {
  lua_pushinteger(L, (lua_Integer)v);
  lua_setfield(L, -2, k);
}


/* cluster_status(): what this node sees of its fleet */
static int audit_clusterstatus (lua_State *L) {
  audit_State *s = getstate(L);
  sc_cluster *c = sc_cluster_of(audit_table(L, s));
  sc_cluster_status cs;
  memset(&cs, 0, sizeof cs);
  cs.nodes = 1;
  cs.age = -1;
  if (c != NULL)
    sc_cluster_status_get(c, &cs);
  lua_createtable(L, 0, 12);
  lua_pushstring(L, sc_cluster_state_name(cs.state));
  lua_setfield(L, -2, "state");
  setint(L, "nodes", cs.nodes);
  setnum(L, "age", cs.age);
  setint(L, "batches_sent", cs.batches_sent);
  setint(L, "full_sent", cs.full_sent);
  setint(L, "batches_applied", cs.batches_applied);
  setint(L, "full_applied", cs.full_applied);
  setint(L, "refused", cs.refused);
  setint(L, "resyncs", cs.resyncs);
  setint(L, "redis_restarts", cs.redis_restarts);
  setint(L, "disconnects", cs.disconnects);
  return 1;
}


const luaL_Reg audit_clusterfuncs[] = {
  {"cluster_status", audit_clusterstatus},
  {NULL, NULL}
};
