/*
** example_host.c: a host embedding msys.audit, the way an MTA does.
**
**   example_host POLICY.lua          (CTest runs it with example_policy.lua)
**
** One fast table with clustering and an extra service ("Submission"), shared
** by NTHREADS worker threads.  Each worker has its own lua_State bound to the
** table (sc_lua_bind) and its own peers: IPv4 10.T.S.H and IPv6
** 2001:db8:T:S::H for thread T, subnet S (0..NSUBNETS-1) and host H
** (1..S+1).  Host H holds H SMTP sessions and one Submission session, and
** host 1 of each subnet also two ECCluster sessions, all opened from C
** (sc_open).  Once every worker has opened its sessions (a barrier), each
** one plays new connections: it sets the connecting IP from C
** (sc_lua_set_connecting_ip), calls the policy's check_connection(LIMIT),
** and checks what the policy counted (relative masks, service names in any
** case, the extra service, a clustering-only one) against what it opened.
** Then the workers close their sessions and their states, and the table
** must be empty.  Prints one line per connection; exits 1 on any mismatch.
*/

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lua.h"
#include "lauxlib.h"
#include "lualib.h"

#include "sesscount_lua.h"


#define NTHREADS	4
#define NSUBNETS	4
#define LIMIT	5  /* SMTP sessions a network may hold before a refusal */
#define PROBE	200  /* a host number no session comes from */
#define NPROBES	(2 * NSUBNETS * 2)  /* connections a worker plays */
#define LINESZ	320


static sc_table *table;
static const char *policy;
static pthread_barrier_t opened, checked;
static sc_service smtp, submission, eccluster;
static const int families[2] = {SC_INET4, SC_INET6};


typedef struct Worker {
  int t;
  int failures;
  char lines[NPROBES][LINESZ];
  int nlines;
} Worker;


/* peer (family, thread, subnet, host); mapped: IPv4 as ::ffff:a.b.c.d */
static sc_addr peer (int family, int t, int s, int h, int mapped) {
  sc_addr a;
  memset(&a, 0, sizeof(a));
  if (family == SC_INET4 && !mapped) {
    uint8_t b[4] = {10, (uint8_t)t, (uint8_t)s, (uint8_t)h};
    a.family = SC_INET4;
    memcpy(a.bytes, b, 4);
  }
  else if (family == SC_INET4) {  /* left raw: the binding unmaps it */
    uint8_t b[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff,
                     10, (uint8_t)t, (uint8_t)s, (uint8_t)h};
    a.family = SC_INET6;
    memcpy(a.bytes, b, 16);
  }
  else {
    uint8_t b[16] = {0x20, 0x01, 0x0d, 0xb8, 0, (uint8_t)t, 0, (uint8_t)s,
                     0, 0, 0, 0, 0, 0, 0, (uint8_t)h};
    a.family = SC_INET6;
    memcpy(a.bytes, b, 16);
  }
  return a;
}


/* opens (open = 1) or closes (open = 0) every session of worker t */
static int traffic (int t, int open) {
  int f, s, h, i, bad = 0;
  for (f = 0; f < 2; f++)
    for (s = 0; s < NSUBNETS; s++)
      for (h = 1; h <= s + 1; h++) {
        sc_addr a = peer(families[f], t, s, h, 0);
        sc_status (*op) (sc_table *, const sc_addr *, sc_service) =
            open ? sc_open : sc_close;
        for (i = 0; i < h; i++)
          bad |= op(table, &a, smtp) != SC_OK;
        bad |= op(table, &a, submission) != SC_OK;
        if (h == 1) {
          bad |= op(table, &a, eccluster) != SC_OK;
          bad |= op(table, &a, eccluster) != SC_OK;
        }
      }
  return bad;
}


static lua_Integer field (lua_State *L, const char *k) {
  lua_Integer n;
  lua_getfield(L, -1, k);
  n = lua_tointeger(L, -1);
  lua_pop(L, 1);
  return n;
}


static const char *sfield (lua_State *L, const char *k, char *buff, size_t sz) {
  lua_getfield(L, -1, k);
  snprintf(buff, sz, "%s", lua_isstring(L, -1) ? lua_tostring(L, -1) : "?");
  lua_pop(L, 1);
  return buff;
}


/* one connection from (f, t, s, h): the policy's answers against ours */
static void connection (Worker *w, lua_State *L, int f, int s, int h) {
  static const char *const names[5] = {"smtp_net", "smtp_site",
      "submission_peer", "cluster_net", "smtp_all"};
  int t = w->t, j, ok, mapped = (f == SC_INET4 && h == 1);
  sc_addr a = peer(f, t, s, h, mapped);
  sc_prefix p;
  lua_Integer net = (s + 1) * (s + 2) / 2, site = 0, got[5], want[5];
  char wantnet[SC_PREFIX_TEXT_MAX], gotnet[48], verdict[16];
  const char *wantverdict = (net > LIMIT) ? "reject" : "accept";
  char *line = w->lines[w->nlines++];
  for (j = 0; j < NSUBNETS; j++)
    site += (j + 1) * (j + 2) / 2;
  want[0] = net;
  want[1] = site;
  want[2] = (h == PROBE) ? 0 : 1;
  want[3] = 2;
  want[4] = NTHREADS * site;
  a = peer(f, t, s, h, 0);
  if (sc_prefix_make(&a, (f == SC_INET4) ? 24 : 64, &p) != SC_OK ||
      !sc_format_prefix(&p, wantnet, sizeof(wantnet)))
    strcpy(wantnet, "(no prefix)");  /* the comparison below then fails, as it should */
  a = peer(f, t, s, h, mapped);
  sc_lua_set_connecting_ip(L, &a);
  lua_getglobal(L, "check_connection");
  lua_pushinteger(L, LIMIT);
  if (lua_pcall(L, 1, 1, 0) != LUA_OK || !lua_istable(L, -1)) {
    snprintf(line, LINESZ, "thread %d %s: check_connection: %s", t, wantnet,
             lua_isstring(L, -1) ? lua_tostring(L, -1) : "no table returned");
    lua_pop(L, 1);
    w->failures++;
    return;
  }
  for (j = 0; j < 5; j++)
    got[j] = field(L, names[j]);
  sfield(L, "net", gotnet, sizeof(gotnet));
  sfield(L, "verdict", verdict, sizeof(verdict));
  lua_pop(L, 1);
  ok = strcmp(gotnet, wantnet) == 0 && strcmp(verdict, wantverdict) == 0;
  for (j = 0; j < 5; j++)
    ok = ok && got[j] == want[j];
  if (!ok)
    w->failures++;
  snprintf(line, LINESZ,
           "thread %d %-18s %s smtp/net=%lld smtp/site=%lld Submission/peer=%lld "
           "ECCluster/net=%lld smtp/all=%lld%s%s%s",
           t, gotnet, verdict, (long long)got[0], (long long)got[1],
           (long long)got[2], (long long)got[3], (long long)got[4],
           mapped ? " (mapped peer)" : "", ok ? "" : "  MISMATCH, want ",
           ok ? "" : wantverdict);
  if (!ok) {  /* the rest of what was wanted */
    size_t n = strlen(line);
    snprintf(line + n, LINESZ - n, " %s %lld %lld %lld %lld %lld", wantnet,
             (long long)want[0], (long long)want[1], (long long)want[2],
             (long long)want[3], (long long)want[4]);
  }
}


static void *work (void *arg) {
  Worker *w = (Worker *)arg;
  lua_State *L = luaL_newstate();
  int f, s, bad = (L == NULL);
  if (!bad) {
    luaL_openlibs(L);
    bad = sc_lua_bind(L, table) != SC_OK;
  }
  if (!bad && luaL_dofile(L, policy) != LUA_OK) {
    fprintf(stderr, "thread %d: %s\n", w->t, lua_tostring(L, -1));  /* one call */
    bad = 1;
  }
  bad |= traffic(w->t, 1);
  pthread_barrier_wait(&opened);  /* every worker's sessions are open */
  for (f = 0; !bad && f < 2; f++)
    for (s = 0; s < NSUBNETS; s++) {
      connection(w, L, families[f], s, 1);
      connection(w, L, families[f], s, PROBE);
    }
  pthread_barrier_wait(&checked);  /* no worker counts any more */
  bad |= traffic(w->t, 0);
  if (L != NULL)
    lua_close(L);
  w->failures += bad;
  return NULL;
}


/* 1 when no session of any service is left in the table */
static int isempty (void) {
  static const char *const all[] = {"0.0.0.0/0", "::/0"};
  sc_prefix p;
  sc_service v;
  uint64_t n;
  int i;
  for (i = 0; i < 2; i++) {
    if (sc_parse_cidr(all[i], strlen(all[i]), NULL, &p, NULL) != SC_OK)
      return 0;
    for (v = 0; sc_count(table, &p, v, &n) == SC_OK; v++)
      if (n != 0)
        return 0;
  }
  return 1;
}


int main (int argc, char **argv) {
  static const char *const extra[] = {"Submission"};
  const sc_options o = {.clustering = true, .extra_services = extra, .n_extra_services = 1};
  pthread_t th[NTHREADS];
  static Worker w[NTHREADS];
  int i, j, failures = 0;
  if (argc != 2) {
    fprintf(stderr, "usage: %s POLICY.lua\n", argv[0]);
    return 2;
  }
  policy = argv[1];
  if (sc_table_new(sc_impl_fast(), &o, &table) != SC_OK ||
      sc_table_service(table, "SMTP", 4, &smtp) != SC_OK ||
      sc_table_service(table, "Submission", 10, &submission) != SC_OK ||
      sc_table_service(table, "ECCluster", 9, &eccluster) != SC_OK) {
    fprintf(stderr, "example_host: cannot make the table\n");
    return 1;
  }
  pthread_barrier_init(&opened, NULL, NTHREADS);
  pthread_barrier_init(&checked, NULL, NTHREADS);
  for (i = 0; i < NTHREADS; i++) {
    w[i].t = i;
    if (pthread_create(&th[i], NULL, work, &w[i]) != 0) {
      fprintf(stderr, "example_host: pthread_create failed\n");
      return 1;  /* the others wait at the barrier forever: just leave */
    }
  }
  for (i = 0; i < NTHREADS; i++) {
    pthread_join(th[i], NULL);
    for (j = 0; j < w[i].nlines; j++)
      printf("%s\n", w[i].lines[j]);
    failures += w[i].failures;
    if (w[i].nlines != NPROBES)
      failures++;
  }
  if (!isempty()) {
    fprintf(stderr, "example_host: sessions left after every worker closed its own\n");
    failures++;
  }
  pthread_barrier_destroy(&opened);
  pthread_barrier_destroy(&checked);
  sc_table_free(table);
  printf("example_host: %d threads, %d connections, %d failures\n", NTHREADS,
         NTHREADS * NPROBES, failures);
  return failures ? 1 : 0;
}
