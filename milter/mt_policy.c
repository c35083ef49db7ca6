/*
** mt_policy.c: Lua states for the policies, lent to worker threads.
**
** libmilter runs callbacks on a pool of worker threads (one session's
** callbacks never overlap, but may run on different threads), and it
** starts and ends worker threads as load comes and goes: measured here, a
** new thread every three connections in a storm.  So a Lua state belongs
** to a thread while the thread lives (kept in a thread-local slot: no lock
** on the way to the policy), never to a session, never to two threads; when
** the thread ends, its state goes back on a free list for the next new
** thread (at most IDLE_MAX idle ones are kept).  Start-up costs (openlibs,
** loading and checking the policies: about 100 us) are paid once per state,
** not per thread.
**
** Generations: mt_policy_prepare reads the policy files and loads them into
** a scratch state to check them (syntax, top-level errors, names the
** milter does not provide, phases it cannot run).  mt_policy_install makes
** the checked set current and bumps `generation`; a thread whose state was
** loaded from an older generation makes a new one at its next call.  The
** connect path reads one atomic (the generation) and takes no lock unless
** its state is stale.  Sessions live in the table, not in states, so a
** reload keeps every open session.
**
** A phase call runs under lua_pcall with a count hook that ends it with an
** error past the configured timeout; any error gives the configured
** on_policy_error action, and a log line, for that call only.
*/

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lauxlib.h"
#include "lualib.h"
#include "sesscount_lua.h"

#include "mt.h"


struct mt_policyset {
  int refs;  /* under lock */
  unsigned gen;
  int n;
  char *names[MT_MAX_LIST];  /* "@path" chunk names */
  char *srcs[MT_MAX_LIST];
  size_t lens[MT_MAX_LIST];
  unsigned phases;
  mt_action on_error;
  unsigned timeout_ms;
  sc_table *table;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static mt_policyset *current;  /* under lock */
static atomic_uint generation;  /* current->gen, readable without the lock */

#define IDLE_MAX	64  /* idle states kept on the free list */

/* one Lua state and what it was loaded from */
typedef struct slot {
  struct slot *next;  /* on the free list */
  lua_State *L;
  unsigned gen;
  unsigned phases;
  mt_action on_error;
  unsigned timeout_ms;
  struct timespec deadline;
} slot;

static pthread_key_t slotkey;  /* this thread's state */
static pthread_once_t keyonce = PTHREAD_ONCE_INIT;
static void makekey (void);
static pthread_mutex_t poollock = PTHREAD_MUTEX_INITIALIZER;
static slot *idle;  /* under poollock */
static int nidle;  /* under poollock */


static void release (mt_policyset *ps) {
  int i, last;
  if (ps == NULL) return;
  pthread_mutex_lock(&lock);
  last = (--ps->refs == 0);
  pthread_mutex_unlock(&lock);
  if (!last) return;
  for (i = 0; i < ps->n; i++) {
    free(ps->names[i]);
    free(ps->srcs[i]);
  }
  free(ps);
}


static void slotfree (void *p) {
  slot *sl = (slot *)p;
  if (sl->L != NULL) lua_close(sl->L);
  free(sl);
}


/*
** {======================================================
** Loading
** =======================================================
*/

static void hook (lua_State *L, lua_Debug *ar) {
  slot *sl = *(slot **)lua_getextraspace(L);
  struct timespec now;
  (void)ar;
  clock_gettime(CLOCK_MONOTONIC, &now);
  if (now.tv_sec > sl->deadline.tv_sec ||
      (now.tv_sec == sl->deadline.tv_sec && now.tv_nsec > sl->deadline.tv_nsec))
    luaL_error(L, "policy timeout: ran past %d ms", (int)sl->timeout_ms);
}


static void arm (slot *sl) {
  clock_gettime(CLOCK_MONOTONIC, &sl->deadline);
  sl->deadline.tv_sec += sl->timeout_ms / 1000;
  sl->deadline.tv_nsec += (long)(sl->timeout_ms % 1000) * 1000000L;
  if (sl->deadline.tv_nsec >= 1000000000L) {
    sl->deadline.tv_sec++;
    sl->deadline.tv_nsec -= 1000000000L;
  }
}


static int traceback (lua_State *L) {
  luaL_traceback(L, L, lua_tostring(L, 1), 1);
  return 1;
}


/* a new state with ps's policies loaded into sl->L; -1 and err on failure */
static int load (slot *sl, const mt_policyset *ps, char *err, size_t errsz) {
  lua_State *L = luaL_newstate();
  int i, ph;
  sl->L = L;
  if (L == NULL) {
    snprintf(err, errsz, "not enough memory for a Lua state");
    return -1;
  }
  *(slot **)lua_getextraspace(L) = sl;
  sl->timeout_ms = ps->timeout_ms;
  lua_sethook(L, hook, LUA_MASKCOUNT, 1000);
  luaL_openlibs(L);
  if (sc_lua_bind(L, ps->table) != SC_OK) {
    snprintf(err, errsz, "cannot bind msys.audit");
    return -1;
  }
  mt_runtime_open(L);
  for (i = 0; i < ps->n; i++) {
    arm(sl);
    if (luaL_loadbuffer(L, ps->srcs[i], ps->lens[i], ps->names[i]) != LUA_OK ||
        lua_pcall(L, 0, 0, 0) != LUA_OK) {
      snprintf(err, errsz, "%s", lua_tostring(L, -1));
      return -1;
    }
    arm(sl);
    if (mt_scan_missing(L, ps->srcs[i], ps->lens[i], ps->names[i] + 1, err, errsz) != 0)
      return -1;
  }
  if ((ph = mt_runtime_phases(L, err, errsz)) < 0) return -1;
  sl->phases = (unsigned)ph;
  sl->on_error = ps->on_error;
  sl->gen = ps->gen;
  return 0;
}


static char *readfile (const char *path, size_t *len, char *err, size_t errsz) {
  FILE *f = fopen(path, "rb");
  char *buf = NULL;
  size_t cap = 0, n = 0;
  if (f == NULL) {
    snprintf(err, errsz, "cannot read policy %s", path);
    return NULL;
  }
  for (;;) {
    if (n == cap) {
      char *nb = realloc(buf, cap = cap ? 2 * cap : 4096);
      if (nb == NULL) break;
      buf = nb;
    }
    size_t k = fread(buf + n, 1, cap - n, f);
    n += k;
    if (k == 0) break;
  }
  if (ferror(f) || n == cap) {
    snprintf(err, errsz, "cannot read policy %s", path);
    free(buf);
    buf = NULL;
  }
  fclose(f);
  *len = n;
  return buf;
}


mt_policyset *mt_policy_prepare (const mt_config *c, sc_table *t, char *err, size_t errsz) {
  mt_policyset *ps = calloc(1, sizeof *ps);
  slot check = {0};
  int i, st = 0;
  if (ps == NULL) {
    snprintf(err, errsz, "not enough memory");
    return NULL;
  }
  ps->refs = 1;
  ps->table = t;
  ps->on_error = c->on_error;
  ps->timeout_ms = c->timeout_ms;
  for (i = 0; i < c->npolicies && st == 0; i++) {
    size_t n = strlen(c->policies[i]) + 2;
    ps->srcs[i] = readfile(c->policies[i], &ps->lens[i], err, errsz);
    if ((ps->names[i] = malloc(n)) != NULL) snprintf(ps->names[i], n, "@%s", c->policies[i]);
    ps->n = i + 1;
    if (ps->srcs[i] == NULL || ps->names[i] == NULL) st = -1;
  }
  if (st == 0) st = load(&check, ps, err, errsz);
  if (check.L != NULL) lua_close(check.L);
  ps->phases = check.phases;
  if (st != 0) {
    release(ps);
    return NULL;
  }
  return ps;
}


void mt_policy_install (mt_policyset *ps) {
  mt_policyset *old;
  pthread_mutex_lock(&lock);
  old = current;
  ps->gen = atomic_load_explicit(&generation, memory_order_relaxed) + 1;
  current = ps;
  /* release: a thread that sees the new number finds `current` set */
  atomic_store_explicit(&generation, ps->gen, memory_order_release);
  pthread_mutex_unlock(&lock);
  release(old);
}


unsigned mt_policy_phases (void) {
  unsigned ph;
  pthread_mutex_lock(&lock);
  ph = current != NULL ? current->phases : 0;
  pthread_mutex_unlock(&lock);
  return ph;
}


void mt_policy_shutdown (void) {
  slot *sl;
  pthread_once(&keyonce, makekey);
  if ((sl = pthread_getspecific(slotkey)) != NULL) {  /* the calling thread's own */
    (void)pthread_setspecific(slotkey, NULL);
    slotfree(sl);
  }
  pthread_mutex_lock(&poollock);
  sl = idle;
  idle = NULL;
  nidle = 0;
  pthread_mutex_unlock(&poollock);
  while (sl != NULL) {
    slot *next = sl->next;
    slotfree(sl);
    sl = next;
  }
  pthread_mutex_lock(&lock);
  {
    mt_policyset *ps = current;
    current = NULL;
    pthread_mutex_unlock(&lock);
    release(ps);
  }
}

/* }====================================================== */


/* puts a state of a thread that ended on the free list (or closes it) */
static void giveback (void *p) {
  slot *sl = (slot *)p;
  pthread_mutex_lock(&poollock);
  if (nidle < IDLE_MAX) {
    sl->next = idle;
    idle = sl;
    nidle++;
    sl = NULL;
  }
  pthread_mutex_unlock(&poollock);
  if (sl != NULL) slotfree(sl);  /* more idle states than a burst needs */
}


static void makekey (void) {
  (void)pthread_key_create(&slotkey, giveback);
}


/* this thread's state, loaded from the current generation: its own, one
** off the free list, or a new one; NULL and err when none can be made */
static slot *mystate (char *err, size_t errsz) {
  slot *sl;
  mt_policyset *ps;
  /* acquire: pairs with mt_policy_install's release store */
  unsigned gen = atomic_load_explicit(&generation, memory_order_acquire);
  pthread_once(&keyonce, makekey);
  if ((sl = pthread_getspecific(slotkey)) == NULL) {
    pthread_mutex_lock(&poollock);
    if ((sl = idle) != NULL) {
      idle = sl->next;
      nidle--;
    }
    pthread_mutex_unlock(&poollock);
    if (sl == NULL && (sl = calloc(1, sizeof *sl)) == NULL) {
      snprintf(err, errsz, "not enough memory");
      return NULL;
    }
    if (pthread_setspecific(slotkey, sl) != 0) {
      slotfree(sl);
      snprintf(err, errsz, "not enough memory");
      return NULL;
    }
  }
  if (sl->L != NULL && sl->gen == gen) return sl;
  if (sl->L != NULL) lua_close(sl->L);  /* loaded from an older generation */
  sl->L = NULL;
  pthread_mutex_lock(&lock);
  ps = current;
  if (ps != NULL) ps->refs++;
  pthread_mutex_unlock(&lock);
  if (ps == NULL)
    snprintf(err, errsz, "no policy installed");
  else if (load(sl, ps, err, errsz) != 0 && sl->L != NULL) {
    lua_close(sl->L);
    sl->L = NULL;
  }
  release(ps);
  return sl->L != NULL ? sl : NULL;  /* a slot with no state is tried again next time */
}


static void onerror (mt_reply *r, mt_action a, const char *why) {
  r->error = true;
  snprintf(r->why, sizeof r->why, "%s", why);
  r->refuse = (a != MT_CONTINUE);
  r->disconnect = false;
  r->code = (a == MT_REJECT) ? 550 : 451;
  snprintf(r->text, sizeof r->text, "%s",
           a == MT_REJECT ? "5.7.1 Rejected by policy" : "4.3.0 Policy temporarily unavailable");
}


void mt_policy_run (mt_session *s, mt_phase ph, const char *arg, mt_reply *r) {
  char err[256];
  slot *sl = mystate(err, sizeof err);
  lua_State *L;
  struct { mt_session *s; mt_reply *r; } call = {s, r};
  memset(r, 0, sizeof *r);
  if (sl == NULL) {
    pthread_mutex_lock(&lock);
    mt_action a = current != NULL ? current->on_error : MT_CONTINUE;
    pthread_mutex_unlock(&lock);
    onerror(r, a, err);
    return;
  }
  if (!(sl->phases & (1u << ph))) return;
  L = sl->L;
  if (s->haspeer) (void)sc_lua_set_connecting_ip(L, &s->peer);
  else (void)sc_lua_set_connecting_ip(L, NULL);
  lua_pushcfunction(L, traceback);
  lua_pushcfunction(L, mt_runtime_call);
  lua_pushinteger(L, ph);
  if (arg != NULL) lua_pushstring(L, arg); else lua_pushnil(L);
  lua_pushlightuserdata(L, &call);
  arm(sl);
  if (lua_pcall(L, 3, 0, -5) != LUA_OK) {
    const char *msg = lua_tostring(L, -1);
    char first[256];
    size_t k = 0;
    while (msg != NULL && msg[k] != '\0' && msg[k] != '\n' && k + 1 < sizeof first) {
      first[k] = msg[k];
      k++;
    }
    first[k] = '\0';
    lua_pop(L, 1);
    onerror(r, sl->on_error, first);
  }
  lua_pop(L, 1);  /* traceback */
  mt_runtime_endcall(L);
}
