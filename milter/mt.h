/*
** mt.h: what the files of sesscount-milter share.
**
**   mt_main.c      command line, start-up, signals (reload, stop), --help
**   mt_config.c    the configuration file: parse, check, free
**   mt_log.c       one line per decision, to stderr or syslog
**   mt_milter.c    the libmilter callbacks: sessions, events, replies
**   mt_policy.c    Lua states (one per worker thread), loading, phase calls
**   mt_runtime.c   the Momentum runtime subset a policy sees (msys.core,
**                  msys.registerModule, msys.expandMacro, vctx, accept)
**   mt_scan.c      the load-time check that a policy uses nothing missing
**   mt_ctl.c       the control socket and the --ctl client
**   mt_hist.c      the connect decision's latency histogram
**
** The daemon holds one fast table (sesscount.h) for the whole process; every
** worker thread counts in it without a lock.  Locks exist only around the
** configuration generation (a pointer swap at reload) and never on the
** connect path's counting.
*/
#ifndef mt_h
#define mt_h

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lua.h"
#include "sesscount.h"
#include "sesscount_cluster.h"


/* ------------------------------------------------------------ config */

#define MT_MAX_LIST	64  /* policies, monitors, services: at most this many each */

/* what a policy error (a Lua error, a timeout, a bad reply) does */
typedef enum mt_action { MT_CONTINUE, MT_TEMPFAIL, MT_REJECT } mt_action;

typedef struct mt_config {
  char *path;  /* the file it was read from */
  char *socket;  /* libmilter's connection spec: unix:/path, inet:port@host */
  char *control;  /* control socket path; NULL: none */
  char *policies[MT_MAX_LIST]; int npolicies;
  char *monitors[MT_MAX_LIST]; int nmonitors;
  char *services[MT_MAX_LIST]; int nservices;
  mt_action on_error;  /* on_policy_error */
  unsigned timeout_ms;  /* policy_timeout: the most one phase call may run */
  unsigned milter_timeout;  /* seconds libmilter waits on the MTA */
  char *user;  /* drop to this user after binding, when root; NULL: stay */
  bool syslog;  /* log = syslog (else stderr) */
  bool debug;  /* log_level = debug: a line for every connection */
  /* the fleet (cluster_* keys); cluster_redis NULL: no cluster, no clustering */
  char *cluster_redis, *cluster_name, *cluster_node, *cluster_user, *cluster_password_file;
  unsigned cluster_lease_ms;  /* cluster_lease in seconds, as milliseconds; 0: the default */
} mt_config;

/* Reads `path` into *out.  On an error returns -1 with a message naming
** the file, the line and what is wrong in err (nothing allocated). */
int mt_config_read (const char *path, mt_config *out, char *err, size_t errsz);
void mt_config_free (mt_config *c);
const char *mt_action_name (mt_action a);


/* ------------------------------------------------------------ log */

void mt_log_setup (bool use_syslog, bool debug);
void mt_log (const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void mt_debug (const char *fmt, ...) __attribute__((format(printf, 1, 2)));


/* ------------------------------------------------------------ sessions */

/* the Momentum phases a policy may define, in SMTP order */
typedef enum mt_phase {
  MT_CONNECT, MT_EHLO, MT_MAILFROM, MT_RCPTTO, MT_DATA, MT_DATA_SPOOL, MT_PHASES
} mt_phase;

extern const char *const mt_phase_names[MT_PHASES];  /* "validate_connect"... */

/* a connection variable a policy set with vctx:set(VCTX_CONN, k, v) */
typedef struct mt_var { struct mt_var *next; char *key, *value; } mt_var;

/* one SMTP session, from the milter's connect to its close */
typedef struct mt_session {
  sc_addr peer;
  bool haspeer;  /* false: the MTA gave no address we can count (unix socket...) */
  bool opened;  /* an SMTP session is open in the table for it */
  char ip[48];  /* the peer's text, as msys.expandMacro gives it */
  char helo[256];
  mt_var *conn;  /* VCTX_CONN variables */
  mt_var *mess;  /* VCTX_MESS variables (cleared per message) */
} mt_session;

/* a policy's answer to one phase */
typedef struct mt_reply {
  bool refuse;  /* false: let the SMTP command go on */
  bool disconnect;  /* vctx:disconnect: the session ends */
  int code;  /* 421, 450, 550... */
  char text[256];
  char module[64];  /* the module that decided */
  bool error;  /* the policy failed; refuse/code follow on_policy_error */
  char why[256];  /* the error, for the log */
} mt_reply;


/* ------------------------------------------------------------ policies */

typedef struct mt_policyset mt_policyset;  /* loaded policies: one generation */

/* Loads the configuration's policies in a scratch state, to check them;
** the set is what worker threads load their own states from.  NULL and a
** message in err (file, line, reason) when a policy does not load. */
mt_policyset *mt_policy_prepare (const mt_config *c, sc_table *t, char *err, size_t errsz);
/* Makes ps the generation worker threads load from (their next call). */
void mt_policy_install (mt_policyset *ps);
/* Which phases the installed policies define (a bit per mt_phase). */
unsigned mt_policy_phases (void);
/* Runs phase ph of the installed policies for session s; args: the
** phase's string argument (helo name, sender, recipient) or NULL. */
void mt_policy_run (mt_session *s, mt_phase ph, const char *arg, mt_reply *r);
/* Frees every generation (at exit, with no worker running). */
void mt_policy_shutdown (void);


/* ------------------------------------------------------------ the runtime */

/* Puts the Momentum subset in L's package.preload and the global msys. */
void mt_runtime_open (lua_State *L);
/* Runs ph for every module registered in L, in order (Lua side of
** mt_policy_run); the session and the reply are in L's registry. */
int mt_runtime_call (lua_State *L);
/* Names the Momentum names a loaded chunk uses that L does not provide
** (mt_scan.c): 0 and nothing in err, or -1 with the first one. */
int mt_scan_missing (lua_State *L, const char *src, size_t len, const char *chunkname,
                     char *err, size_t errsz);
/* Expands the macros (%{spfv1:i}...) in `in` for session s into out;
** NULL when it names a macro the milter does not know (its name in out). */
const char *mt_runtime_expand (const mt_session *s, const char *in, char *out, size_t cap);
/* Forgets the phase being run (after mt_runtime_call). */
void mt_runtime_endcall (lua_State *L);
/* The phases the modules registered in L define (bit per mt_phase); -1 and
** a message when one defines a Momentum phase the milter cannot run. */
int mt_runtime_phases (lua_State *L, char *err, size_t errsz);


/* ------------------------------------------------------------ latency */

uint64_t mt_now_ns (void);  /* CLOCK_MONOTONIC */
void mt_hist_add (uint64_t ns);  /* one connect decision's cost */
/* The q-quantile (0..1) of what was added, in ns (an upper bound within
** 12.5%); *total: how many were added. */
uint64_t mt_hist_quantile (double q, uint64_t *total);
uint64_t mt_hist_sum (void);  /* the ns of every decision, summed */


/* ------------------------------------------------------------ milter + ctl */

typedef struct mt_stats {
  uint64_t connects, refused, errors, opened, closed, unopened_closes, reloads,
      reload_failures;
} mt_stats;

extern sc_table *mt_table;  /* the daemon's one table */
extern sc_service mt_smtp;  /* its SMTP service */

/* Makes mt_table with the file's services and monitors (mt_milter.c). */
int mt_table_make (const mt_config *c, char *err, size_t errsz);
/* Joins the fleet of the cluster_* keys (none: nothing), logging through
** mt_log; the table leaves when it is freed (mt_milter.c). */
int mt_cluster_join (const mt_config *c, char *err, size_t errsz);
/* Registers with libmilter and binds its socket (before privileges drop). */
int mt_milter_open (const mt_config *c, char *err, size_t errsz);
int mt_milter_run (const mt_config *c, char *err, size_t errsz);  /* libmilter's main loop */
void mt_milter_stop (void);
void mt_milter_stats (mt_stats *out);
void mt_stats_reload (bool ok);

/* The i-th configured monitor (mt_milter.c); -1 past the last. */
int mt_monitor (size_t i, sc_monitor *m);

int mt_ctl_start (const char *path, const char *user, char *err, size_t errsz);
void mt_ctl_stop (void);
/* The answer to one control command (a line), written to buf. */
void mt_ctl_answer (const char *line, char *buf, size_t cap);
int mt_ctl_client (const char *path, int argc, char **argv);

#endif
