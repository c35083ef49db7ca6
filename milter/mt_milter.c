/*
** mt_milter.c: the libmilter callbacks.
**
** A session is opened in the table at connect, before the policy runs (as
** in Momentum, a policy's count includes the connection it decides on:
** "more than N" refuses the N+1st), and closed at close, which libmilter
** calls on every path: QUIT, a dropped client, a killed smtpd, a reply of
** ours that made the MTA drop the milter, a timeout.  close may come with
** no connect before it (the private pointer is then NULL): nothing was
** opened, nothing is closed.  After a restart of the daemon, the sessions
** the MTA had open reach the new process only as new milter connections, so
** nothing from before a restart is ever closed here: no error, no drift.
**
** Replies: a refusal sets the policy's code and text with smfi_setreply and
** returns TEMPFAIL (4xx) or REJECT (5xx).  At connect the MTA then drops
** the milter for that session and close follows at once.  We never answer
** ACCEPT, which would let a session go on uncounted.
**
** Negotiation asks the MTA to skip the steps no installed policy needs
** (headers and body always), so a plain connection limit costs the MTA two
** round trips to the milter per session (connect, close) plus one per
** message (end of message, which counts receptions).
*/

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

#include "mt.h"


sc_table *mt_table;
sc_service mt_smtp;
static sc_monitor monitors[MT_MAX_LIST];
static size_t nmonitors;

static struct {
  atomic_uint_fast64_t connects, refused, errors, opened, closed, unopened, reloads, reloadfail;
} stats;

/* counters for `stats`: relaxed, each is read alone */
#define bump(c)	atomic_fetch_add_explicit(&stats.c, 1, memory_order_relaxed)
#define peek(c)	((uint64_t)atomic_load_explicit(&stats.c, memory_order_relaxed))


int mt_monitor (size_t i, sc_monitor *m) {
  if (i >= nmonitors) return -1;
  *m = monitors[i];
  return 0;
}


/* the table, with the file's services and monitors */
int mt_table_make (const mt_config *c, char *err, size_t errsz) {
  const char *names[MT_MAX_LIST + 1];
  sc_options o;
  sc_status st;
  int i;
  memset(&o, 0, sizeof o);
  for (i = 0; i < c->nservices; i++) names[i] = c->services[i];
  names[c->nservices] = NULL;
  o.extra_services = names;
  o.n_extra_services = (size_t)c->nservices;
  o.clustering = (c->cluster_redis != NULL);  /* inbound_cidr and the other clustering names */
  if ((st = sc_table_new(sc_impl_fast(), &o, &mt_table)) != SC_OK ||
      (st = sc_table_service(mt_table, "SMTP", 4, &mt_smtp)) != SC_OK) {
    snprintf(err, errsz, "cannot make the table: %s (check 'service' lines)", sc_strerror(st));
    return -1;
  }
  for (i = 0; i < c->nmonitors; i++) {
    sc_error e;
    if (sc_monitor_parse(c->monitors[i], strlen(c->monitors[i]), &monitors[i], &e) != SC_OK)
      return -1;  /* mt_config_read checked them */
  }
  nmonitors = (size_t)c->nmonitors;
  if (nmonitors > 0 && (st = sc_table_set_monitors(mt_table, monitors, nmonitors)) != SC_OK) {
    snprintf(err, errsz, "bad monitors: %s (the same one twice?)", sc_strerror(st));
    return -1;
  }
  return 0;
}


static void clusterlog (void *arg, const char *line) {
  (void)arg;
  mt_log("%s", line);
}


/* joins the fleet the file names (none: nothing); the table leaves when
** it is freed */
int mt_cluster_join (const mt_config *c, char *err, size_t errsz) {
  sc_cluster_config cc;
  sc_cluster *cl;
  const char *why = NULL;
  sc_status st;
  if (c->cluster_redis == NULL) return 0;
  memset(&cc, 0, sizeof cc);
  cc.redis = c->cluster_redis;
  cc.name = c->cluster_name;
  cc.node = c->cluster_node;
  cc.user = c->cluster_user;
  cc.password_file = c->cluster_password_file;
  cc.lease = c->cluster_lease_ms / 1000.0;
  cc.log = clusterlog;
  if ((st = sc_cluster_join(mt_table, &cc, &cl, &why)) != SC_OK) {
    snprintf(err, errsz, "cannot join cluster %s as %s: %s%s%s", c->cluster_name, c->cluster_node,
             sc_strerror(st), why ? ": cluster_" : "", why ? why : "");
    return -1;
  }
  mt_log("joined cluster %s as node %s (redis %s, lease %.1f s)", c->cluster_name,
         c->cluster_node, c->cluster_redis, cc.lease ? cc.lease : 5.0);
  return 0;
}


void mt_milter_stats (mt_stats *o) {
  o->connects = peek(connects);
  o->refused = peek(refused);
  o->errors = peek(errors);
  o->opened = peek(opened);
  o->closed = peek(closed);
  o->unopened_closes = peek(unopened);
  o->reloads = peek(reloads);
  o->reload_failures = peek(reloadfail);
}


void mt_stats_reload (bool ok) {
  if (ok) bump(reloads);
  else bump(reloadfail);
}


static void freevars (mt_var **list) {
  while (*list != NULL) {
    mt_var *v = *list;
    *list = v->next;
    free(v->key);
    free(v->value);
    free(v);
  }
}


static void note (const mt_session *s, sc_event kind) {
  if (s->haspeer) (void)sc_table_note(mt_table, kind, &s->peer, 1, SC_NOW);  /* unconfigured: nothing */
}


/* the enhanced status code: the text's own ("5.7.1 ..."), else by class */
static const char *xcode (mt_reply *r, char *buf, size_t cap) {
  const char *t = r->text;
  if (t[0] >= '2' && t[0] <= '5' && t[1] == '.') {
    size_t n = strcspn(t, " ");
    if (n < cap) {
      memcpy(buf, t, n);
      buf[n] = '\0';
      memmove(r->text, t + n + (t[n] == ' '), strlen(t + n + (t[n] == ' ')) + 1);
      return buf;
    }
  }
  return r->code == 421 ? "4.7.0" : r->code < 500 ? "4.7.1" : "5.7.1";
}


static sfsistat decide (SMFICTX *ctx, mt_session *s, mt_reply *r, mt_phase ph) {
  char rc[8], xbuf[16];
  const char *x;
  if (r->error) {
    bump(errors);
    mt_log("policy error at %s from %s: %s; %s", mt_phase_names[ph] + 9, s->ip, r->why,
           r->refuse ? "refused" : "continued");
  }
  if (!r->refuse) return SMFIS_CONTINUE;
  bump(refused);
  note(s, SC_EVENT_REJECTION);
  snprintf(rc, sizeof rc, "%d", r->code);
  x = xcode(r, xbuf, sizeof xbuf);
  if (!r->error)
    mt_log("refused %s at %s: %s %s %s%s%s", s->ip, mt_phase_names[ph] + 9, rc, x, r->text,
           r->disconnect ? " (disconnect)" : "", "");
  if (smfi_setreply(ctx, rc, (char *)x, r->text[0] ? r->text : "refused") != MI_SUCCESS)
    mt_log("smfi_setreply(%s %s) failed: the MTA gives its own text", rc, x);
  return r->code < 500 ? SMFIS_TEMPFAIL : SMFIS_REJECT;
}


/* libmilter never runs two callbacks of one session at once and orders them
** with its own locks; under TSan (libmilter is not instrumented) these
** annotations say so, so that what TSan checks is our code alone */
#if defined(__SANITIZE_THREAD__)
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
#define handoff_in(s)	__tsan_acquire(s)
#define handoff_out(s)	__tsan_release(s)
#else
#define handoff_in(s)	((void)(s))
#define handoff_out(s)	((void)(s))
#endif


/* the session of ctx (NULL: none, no connect was seen), taken in hand */
static mt_session *session (SMFICTX *ctx) {
  mt_session *s = (mt_session *)smfi_getpriv(ctx);
  if (s != NULL) handoff_in(s);
  return s;
}


/* hands the session on to its next callback; returns st */
static sfsistat done (mt_session *s, sfsistat st) {
  if (s != NULL) handoff_out(s);
  return st;
}


/* runs phase ph of the policies for s (taken in hand); frees nothing */
static sfsistat run (SMFICTX *ctx, mt_session *s, mt_phase ph, const char *arg) {
  mt_reply r;
  if (s == NULL) return SMFIS_CONTINUE;  /* no connect seen: nothing to decide on */
  mt_policy_run(s, ph, arg, &r);
  return decide(ctx, s, &r, ph);
}


/* the peer as an sc_addr and as text; false when it has no IP */
static bool peerof (const struct sockaddr *sa, mt_session *s) {
  const uint8_t *bytes;
  int fam;
  if (sa == NULL) return false;
  if (sa->sa_family == AF_INET) {
    bytes = (const uint8_t *)&((const struct sockaddr_in *)(const void *)sa)->sin_addr;
    fam = SC_INET4;
  } else if (sa->sa_family == AF_INET6) {
    bytes = (const uint8_t *)&((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
    fam = SC_INET6;
  } else
    return false;
  if (sc_addr_from_bytes(fam, bytes, &s->peer) != SC_OK) return false;
  /* the mapped IPv4 of an IPv6 peer is IPv4 text, as the count takes it */
  inet_ntop(s->peer.family == SC_INET4 ? AF_INET : AF_INET6, s->peer.bytes, s->ip, sizeof s->ip);
  return true;
}


static sfsistat mt_connect (SMFICTX *ctx, char *host, _SOCK_ADDR *sa) {
  uint64_t t0 = mt_now_ns();
  mt_session *s = calloc(1, sizeof *s);
  mt_reply r;
  sfsistat st;
  (void)host;
  if (s == NULL) {
    mt_log("out of memory at connect: session not counted");
    return SMFIS_CONTINUE;
  }
  smfi_setpriv(ctx, s);
  bump(connects);
  s->haspeer = peerof(sa, s);
  if (!s->haspeer) {
    snprintf(s->ip, sizeof s->ip, "unknown");
    mt_debug("connect from a peer with no IP address: not counted");
  } else if (sc_open(mt_table, &s->peer, mt_smtp) == SC_OK) {
    s->opened = true;
    bump(opened);
  } else
    mt_log("cannot count the session of %s: not counted", s->ip);
  note(s, SC_EVENT_CONNECTION);
  mt_debug("connect %s", s->ip);
  mt_policy_run(s, MT_CONNECT, NULL, &r);
  st = decide(ctx, s, &r, MT_CONNECT);
  mt_hist_add(mt_now_ns() - t0);  /* the decision's cost: open, note, policy, reply */
  return done(s, st);
}


static sfsistat mt_helo (SMFICTX *ctx, char *name) {
  mt_session *s = session(ctx);
  if (s != NULL) snprintf(s->helo, sizeof s->helo, "%s", name ? name : "");
  return done(s, run(ctx, s, MT_EHLO, name));
}


static sfsistat mt_envfrom (SMFICTX *ctx, char **argv) {
  mt_session *s = session(ctx);
  if (s != NULL) freevars(&s->mess);  /* a new message */
  return done(s, run(ctx, s, MT_MAILFROM, argv != NULL ? argv[0] : NULL));
}


static sfsistat mt_envrcpt (SMFICTX *ctx, char **argv) {
  mt_session *s = session(ctx);
  return done(s, run(ctx, s, MT_RCPTTO, argv != NULL ? argv[0] : NULL));
}


static sfsistat mt_data (SMFICTX *ctx) {
  mt_session *s = session(ctx);
  return done(s, run(ctx, s, MT_DATA, NULL));
}


static sfsistat mt_eom (SMFICTX *ctx) {
  mt_session *s = session(ctx);
  sfsistat st = run(ctx, s, MT_DATA_SPOOL, NULL);
  if (s != NULL) {
    if (st == SMFIS_CONTINUE) note(s, SC_EVENT_RECEPTION);
    freevars(&s->mess);
  }
  return done(s, st);
}


static sfsistat mt_abort (SMFICTX *ctx) {
  mt_session *s = session(ctx);
  if (s != NULL) freevars(&s->mess);
  return done(s, SMFIS_CONTINUE);
}


static sfsistat mt_close (SMFICTX *ctx) {
  mt_session *s = session(ctx);
  if (s == NULL) {
    bump(unopened);
    return SMFIS_CONTINUE;
  }
  smfi_setpriv(ctx, NULL);
  if (s->opened) {
    if (sc_close(mt_table, &s->peer, mt_smtp) == SC_OK) bump(closed);
    else mt_log("close of %s found no open session", s->ip);
  }
  mt_debug("close %s", s->ip);
  freevars(&s->conn);
  freevars(&s->mess);
  free(s);
  return SMFIS_CONTINUE;
}


static sfsistat mt_negotiate (SMFICTX *ctx, unsigned long f0, unsigned long f1,
                              unsigned long f2, unsigned long f3, unsigned long *pf0,
                              unsigned long *pf1, unsigned long *pf2, unsigned long *pf3) {
  unsigned ph = mt_policy_phases();
  unsigned long skip = SMFIP_NOHDRS | SMFIP_NOBODY | SMFIP_NOEOH | SMFIP_NOUNKNOWN;
  (void)ctx; (void)f0; (void)f2; (void)f3;
  if (!(ph & (1u << MT_EHLO))) skip |= SMFIP_NOHELO;
  if (!(ph & (1u << MT_MAILFROM))) skip |= SMFIP_NOMAIL;
  if (!(ph & (1u << MT_RCPTTO))) skip |= SMFIP_NORCPT;
  if (!(ph & (1u << MT_DATA))) skip |= SMFIP_NODATA;
  *pf0 = 0;  /* we change no message */
  *pf1 = skip & f1;  /* only what the MTA offers */
  *pf2 = *pf3 = 0;
  return SMFIS_CONTINUE;
}


static struct smfiDesc desc = {
  "sesscount-milter", SMFI_VERSION, 0,
  mt_connect, mt_helo, mt_envfrom, mt_envrcpt, NULL, NULL, NULL, mt_eom, mt_abort,
  mt_close, NULL, mt_data, mt_negotiate
};


/* A unix socket made by root is not writable by the MTA's smtpd: give it
** to the file's user and its group, read-write for both (put the MTA's
** user in that group, or run the milter as the MTA's user). */
static int giveaway (const mt_config *c) {
  const char *path = c->socket;
  struct passwd *pw;
  if (strncmp(path, "unix:", 5) == 0) path += 5;
  else if (strncmp(path, "local:", 6) == 0) path += 6;
  else return 0;
  if (c->user == NULL || geteuid() != 0 || (pw = getpwnam(c->user)) == NULL) return 0;
  if (chown(path, pw->pw_uid, pw->pw_gid) != 0 || chmod(path, 0660) != 0)
    mt_log("milter socket %s: cannot give it to %s", path, c->user);
  return 0;
}


int mt_milter_open (const mt_config *c, char *err, size_t errsz) {
  if (smfi_setconn(c->socket) != MI_SUCCESS || smfi_settimeout((int)c->milter_timeout) != MI_SUCCESS ||
      smfi_register(desc) != MI_SUCCESS) {
    snprintf(err, errsz, "libmilter refused socket '%s'", c->socket);
    return -1;
  }
  if (smfi_opensocket(1) != MI_SUCCESS) {  /* now, to say so before we go on */
    snprintf(err, errsz, "cannot listen on '%s' (in use? bad path or port?)", c->socket);
    return -1;
  }
  return giveaway(c);
}


int mt_milter_run (const mt_config *c, char *err, size_t errsz) {
  (void)c;
  if (smfi_main() != MI_SUCCESS) {
    snprintf(err, errsz, "libmilter's main loop failed");
    return -1;
  }
  return 0;
}


void mt_milter_stop (void) {
  smfi_stop();
}
