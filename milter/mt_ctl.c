/*
** mt_ctl.c: the control socket (operators' view) and its client.
**
** A unix stream socket; a client writes one command line and reads the
** answer until the daemon closes.  One thread serves one client at a time
** (an operator's command, not traffic); every answer reads the table the
** way a count does, so none of them ever blocks a connection.
**
**   show ip CIDR     sessions by service, then every monitor's windows
**                    (Momentum's `inbound_audit show ip` lines)
**   show tree CIDR   the prefixes under CIDR where sessions branch, with
**                    counts (Momentum's `cluster shared show inbound_cidr`)
**   top N LEN        the N prefixes of length LEN with the most sessions
**   stats            the daemon's counters, `name: value` a line
**   metrics          the same and the table's, in Prometheus text format
**   help             this list
**
** An answer that starts with "error: " is a refusal; the client then exits 1.
*/

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <pwd.h>

#include "mt.h"


#define ANSWERSZ	(256 * 1024)
#define TREE_MAX	4096  /* lines of show tree */
#define TOP_MAX	1000


static int lfd = -1;
static pthread_t thread;
static atomic_bool stopping;
static char sockpath[108];


/* appends to an answer; stops quietly at its end */
typedef struct out { char *buf; size_t cap, n; } out;

static void say (out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say (out *o, const char *fmt, ...) {
  va_list ap;
  int k;
  if (o->n + 1 >= o->cap) return;
  va_start(ap, fmt);
  k = vsnprintf(o->buf + o->n, o->cap - o->n, fmt, ap);
  va_end(ap);
  if (k > 0) o->n = (o->n + (size_t)k < o->cap) ? o->n + (size_t)k : o->cap - 1;
}


static int cidrarg (out *o, const char *text, sc_prefix *p) {
  sc_error e;
  if (text == NULL) {
    say(o, "error: missing CIDR\n");
    return -1;
  }
  if (sc_parse_cidr(text, strlen(text), NULL, p, &e) != SC_OK) {
    say(o, "error: bad CIDR '%s': %s at offset %zu\n", text, e.reason, e.offset);
    return -1;
  }
  return 0;
}


static const char *const kinds[SC_EVENTS] = {"Connections", "Receptions", "Rejections"};


static void showip (out *o, const char *text) {
  sc_prefix p;
  uint64_t n;
  int k;
  size_t i;
  if (cidrarg(o, text, &p) != 0) return;
  if (sc_count(mt_table, &p, mt_smtp, &n) == SC_OK) say(o, "Sessions SMTP: %llu\n", (unsigned long long)n);
  if (sc_cluster_of(mt_table) != NULL &&   /* the fleet's, this node included */
      sc_count(mt_table, &p, SC_SERVICE_INBOUND_CIDR, &n) == SC_OK)
    say(o, "Sessions inbound_cidr: %llu\n", (unsigned long long)n);
  for (k = 0; k < SC_EVENTS; k++) {
    for (i = 0;; i++) {
      sc_series *ser;
      sc_monitor m;
      unsigned w;
      if (mt_monitor(i, &m) != 0) break;
      if (sc_table_event_series(mt_table, (sc_event)k, &m, &ser) != SC_OK) break;
      for (w = 0; w < m.windows; w++)
        if (sc_series_count(ser, &p, w, w, SC_NOW, &n) == SC_OK)
          say(o, "%s %u/%u: %llu\n", kinds[k], m.interval, w, (unsigned long long)n);
    }
  }
}


typedef struct treeargs { out *o; size_t lines; } treeargs;

static int treeline (void *arg, const sc_branch *b) {
  treeargs *t = (treeargs *)arg;
  char f[64];
  sc_format_prefix(&b->prefix, f, sizeof f);
  say(t->o, "%8llu  %s\n", (unsigned long long)b->count, f);
  return ++t->lines >= TREE_MAX;
}


static void showtree (out *o, const char *text) {
  sc_prefix p;
  treeargs t = {o, 0};
  sc_status st;
  if (cidrarg(o, text, &p) != 0) return;
  if ((st = sc_walk_tree(mt_table, &p, mt_smtp, treeline, &t)) != SC_OK)
    say(o, "error: %s\n", sc_strerror(st));
  else if (t.lines == 0)
    say(o, "no sessions under %s\n", text);
}


static int number (const char *s, unsigned long max, unsigned long *v) {
  char *end;
  if (s == NULL || *s < '0' || *s > '9') return -1;
  errno = 0;
  *v = strtoul(s, &end, 10);
  return (*end != '\0' || errno != 0 || *v > max) ? -1 : 0;
}


static void top (out *o, const char *ntext, const char *ltext) {
  static sc_branch b[TOP_MAX];  /* one client at a time: the ctl thread's */
  unsigned long n, len;
  size_t found, i;
  sc_status st;
  if (number(ntext, TOP_MAX, &n) != 0 || number(ltext, 128, &len) != 0) {
    say(o, "error: usage: top N LEN (N 0..%d, LEN 0..128)\n", TOP_MAX);
    return;
  }
  st = sc_top(mt_table, SC_INET_ANY, (unsigned)len, mt_smtp, n, b, &found);
  if (st != SC_OK) {
    say(o, "error: %s\n", sc_strerror(st));
    return;
  }
  for (i = 0; i < found; i++) {
    char f[64];
    sc_format_prefix(&b[i].prefix, f, sizeof f);
    say(o, "%8llu  %s\n", (unsigned long long)b[i].count, f);
  }
}


static void stats (out *o, bool prom) {
  mt_stats s;
  uint64_t open, n, p50, p99;
  sc_cluster *cl = sc_cluster_of(mt_table);
  sc_cluster_status cs;
  mt_milter_stats(&s);
  if (cl != NULL) sc_cluster_status_get(cl, &cs);
  open = s.opened - s.closed;
  p50 = mt_hist_quantile(0.5, &n);
  p99 = mt_hist_quantile(0.99, &n);
  if (!prom) {
    say(o, "sessions_open: %llu\nconnects: %llu\nrefused: %llu\npolicy_errors: %llu\n"
        "closes_without_connect: %llu\nreloads: %llu\nreload_failures: %llu\ntable_bytes: %zu\n"
        "connect_p50_ns: %llu\nconnect_p99_ns: %llu\n",
        (unsigned long long)open, (unsigned long long)s.connects, (unsigned long long)s.refused,
        (unsigned long long)s.errors, (unsigned long long)s.unopened_closes,
        (unsigned long long)s.reloads, (unsigned long long)s.reload_failures,
        sc_table_bytes(mt_table), (unsigned long long)p50, (unsigned long long)p99);
    if (cl != NULL)
      say(o, "cluster_state: %s\ncluster_nodes: %u\ncluster_age_seconds: %.3f\n"
          "cluster_batches_sent: %llu\ncluster_full_sent: %llu\ncluster_batches_applied: %llu\n"
          "cluster_full_applied: %llu\ncluster_refused: %llu\ncluster_resyncs: %llu\n"
          "cluster_redis_restarts: %llu\ncluster_disconnects: %llu\ncluster_last_refusal: %s\n",
          sc_cluster_state_name(cs.state), cs.nodes, cs.age,
          (unsigned long long)cs.batches_sent, (unsigned long long)cs.full_sent,
          (unsigned long long)cs.batches_applied, (unsigned long long)cs.full_applied,
          (unsigned long long)cs.refused, (unsigned long long)cs.resyncs,
          (unsigned long long)cs.redis_restarts, (unsigned long long)cs.disconnects,
          cs.last_refusal[0] ? cs.last_refusal : "none");
    return;
  }
#define METRIC(name, type, help, fmt, v) \
  say(o, "# HELP sesscount_milter_" name " " help "\n# TYPE sesscount_milter_" name " " type \
      "\nsesscount_milter_" name " " fmt "\n", v)
  METRIC("sessions_open", "gauge", "SMTP sessions open now.", "%llu", (unsigned long long)open);
  METRIC("connections_total", "counter", "Connections seen at the milter's connect.", "%llu",
         (unsigned long long)s.connects);
  METRIC("refused_total", "counter", "SMTP commands (connections included) refused by policy.",
         "%llu", (unsigned long long)s.refused);
  METRIC("policy_errors_total", "counter", "Policy calls that failed (Lua error, timeout).", "%llu",
         (unsigned long long)s.errors);
  METRIC("reloads_total", "counter", "Configuration reloads that took effect.", "%llu",
         (unsigned long long)s.reloads);
  METRIC("reload_failures_total", "counter", "Reloads refused (the old configuration kept).",
         "%llu", (unsigned long long)s.reload_failures);
  METRIC("table_bytes", "gauge", "Bytes the session table holds.", "%zu", sc_table_bytes(mt_table));
  if (cl != NULL) {
    METRIC("cluster_live", "gauge", "1 when Redis answers (live), else 0 (stale or local).", "%d",
           cs.state == SC_CLUSTER_LIVE);
    METRIC("cluster_nodes", "gauge", "Live nodes counted in inbound_cidr, this one included.",
           "%u", cs.nodes);
    METRIC("cluster_age_seconds", "gauge", "Seconds since Redis last answered.", "%.3f", cs.age);
    METRIC("cluster_batches_sent_total", "counter", "Deltas shipped to the fleet.", "%llu",
           (unsigned long long)cs.batches_sent);
    METRIC("cluster_batches_applied_total", "counter", "Other nodes' deltas applied.", "%llu",
           (unsigned long long)cs.batches_applied);
    METRIC("cluster_refused_total", "counter", "Entries of the cluster's keys refused.", "%llu",
           (unsigned long long)cs.refused);
    METRIC("cluster_resyncs_total", "counter", "Nodes dropped until their next full state.",
           "%llu", (unsigned long long)cs.resyncs);
  }
#undef METRIC
  say(o, "# HELP sesscount_milter_connect_seconds The connect decision's cost (open, policy, reply).\n"
      "# TYPE sesscount_milter_connect_seconds summary\n"
      "sesscount_milter_connect_seconds{quantile=\"0.5\"} %.9f\n"
      "sesscount_milter_connect_seconds{quantile=\"0.99\"} %.9f\n"
      "sesscount_milter_connect_seconds_sum %.9f\n"
      "sesscount_milter_connect_seconds_count %llu\n", (double)p50 / 1e9, (double)p99 / 1e9,
      (double)mt_hist_sum() / 1e9, (unsigned long long)n);
}


void mt_ctl_answer (const char *line, char *buf, size_t cap) {
  char copy[512], *w[4] = {NULL}, *save = NULL, *tok;
  int n = 0;
  out o = {buf, cap, 0};
  buf[0] = '\0';
  snprintf(copy, sizeof copy, "%s", line);
  for (tok = strtok_r(copy, " \t\r\n", &save); tok != NULL && n < 4;
       tok = strtok_r(NULL, " \t\r\n", &save))
    w[n++] = tok;
  if (n == 0 || strcmp(w[0], "help") == 0)
    say(&o, "commands: show ip CIDR | show tree CIDR | top N LEN | stats | metrics | help\n");
  else if (strcmp(w[0], "show") == 0 && n == 3 && strcmp(w[1], "ip") == 0) showip(&o, w[2]);
  else if (strcmp(w[0], "show") == 0 && n == 3 && strcmp(w[1], "tree") == 0) showtree(&o, w[2]);
  else if (strcmp(w[0], "top") == 0 && n == 3) top(&o, w[1], w[2]);
  else if (strcmp(w[0], "stats") == 0 && n == 1) stats(&o, false);
  else if (strcmp(w[0], "metrics") == 0 && n == 1) stats(&o, true);
  else say(&o, "error: unknown command '%s' (try help)\n", line);
}


/*
** {======================================================
** The server
** =======================================================
*/

static void serve (int fd) {
  static char answer[ANSWERSZ];
  char line[512];
  size_t n = 0;
  struct pollfd p = {fd, POLLIN, 0};
  while (n + 1 < sizeof line && memchr(line, '\n', n) == NULL) {
    ssize_t k;
    if (poll(&p, 1, 2000) <= 0) break;  /* a silent client is dropped */
    if ((k = read(fd, line + n, sizeof line - 1 - n)) <= 0) break;
    n += (size_t)k;
  }
  line[n] = '\0';
  line[strcspn(line, "\r\n")] = '\0';
  mt_ctl_answer(line, answer, sizeof answer);
  {
    size_t len = strlen(answer), done = 0;
    while (done < len) {
      ssize_t k = write(fd, answer + done, len - done);
      if (k <= 0) break;
      done += (size_t)k;
    }
  }
}


static void *loop (void *arg) {
  (void)arg;
  while (!atomic_load(&stopping)) {
    struct pollfd p = {lfd, POLLIN, 0};
    int fd;
    if (poll(&p, 1, 200) <= 0) continue;
    if ((fd = accept(lfd, NULL, NULL)) < 0) continue;
    serve(fd);
    close(fd);
  }
  return NULL;
}


int mt_ctl_start (const char *path, const char *user, char *err, size_t errsz) {
  struct sockaddr_un a;
  struct stat st;
  memset(&a, 0, sizeof a);
  a.sun_family = AF_UNIX;
  if (strlen(path) >= sizeof a.sun_path) {
    snprintf(err, errsz, "control socket path too long: %s", path);
    return -1;
  }
  strcpy(a.sun_path, path);
  if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode)) unlink(path);  /* a stale one */
  if ((lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
      bind(lfd, (struct sockaddr *)&a, sizeof a) != 0 || listen(lfd, 8) != 0) {
    snprintf(err, errsz, "control socket %s: %s", path, strerror(errno));
    if (lfd >= 0) close(lfd);
    lfd = -1;
    return -1;
  }
  chmod(path, 0660);
  if (user != NULL && geteuid() == 0) {
    struct passwd *pw = getpwnam(user);
    if (pw != NULL && chown(path, pw->pw_uid, pw->pw_gid) != 0)
      mt_log("control socket %s: cannot give it to %s", path, user);
  }
  snprintf(sockpath, sizeof sockpath, "%s", path);
  if (pthread_create(&thread, NULL, loop, NULL) != 0) {
    snprintf(err, errsz, "cannot start the control thread");
    close(lfd);
    lfd = -1;
    return -1;
  }
  return 0;
}


void mt_ctl_stop (void) {
  if (lfd < 0) return;
  atomic_store(&stopping, true);
  pthread_join(thread, NULL);
  close(lfd);
  unlink(sockpath);
  lfd = -1;
}

/* }====================================================== */


int mt_ctl_client (const char *path, int argc, char **argv) {
  struct sockaddr_un a;
  char line[512] = "", buf[4096];
  size_t n = 0;
  int fd, i, refused = -1;
  ssize_t k;
  for (i = 0; i < argc; i++)
    n += (size_t)snprintf(line + n, n < sizeof line ? sizeof line - n : 0, "%s%s",
                          i ? " " : "", argv[i]);
  if (n + 2 >= sizeof line) {
    fprintf(stderr, "sesscount-milter: command too long\n");
    return 2;
  }
  strcat(line, "\n");
  memset(&a, 0, sizeof a);
  a.sun_family = AF_UNIX;
  snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
  if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0 ||
      connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
    fprintf(stderr, "sesscount-milter: cannot reach the control socket %s: %s\n", path,
            strerror(errno));
    if (fd >= 0) close(fd);
    return 2;
  }
  if (write(fd, line, strlen(line)) < 0) refused = 1;
  while ((k = read(fd, buf, sizeof buf)) > 0) {
    if (refused < 0) refused = (k >= 7 && memcmp(buf, "error: ", 7) == 0);
    fwrite(buf, 1, (size_t)k, stdout);
  }
  close(fd);
  return refused == 1 ? 1 : 0;
}
