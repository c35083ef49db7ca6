/*
** mt_config.c: the configuration file.
**
** One `key = value` a line, `#` to the end of a line is a comment, blank
** lines are nothing; keys are the ones sesscount-milter.conf documents.
** `policy`, `monitor` and `service` may repeat (in order); every other key
** may appear once.  Every error names the file, the line and the reason,
** and nothing is kept from a file with an error.
*/

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mt.h"


#define LINESZ	4096


typedef struct reader {
  const char *path;
  int line;
  char *err;
  size_t errsz;
} reader;


static int fail (reader *r, const char *fmt, const char *what) {
  int n = snprintf(r->err, r->errsz, "%s:%d: ", r->path, r->line);
  if (n >= 0 && (size_t)n < r->errsz)
    snprintf(r->err + n, r->errsz - n, fmt, what);
  return -1;
}


static char *trim (char *s) {
  char *e;
  while (*s == ' ' || *s == '\t') s++;
  e = s + strlen(s);
  while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n')) e--;
  *e = '\0';
  return s;
}


static int setstr (reader *r, char **slot, const char *key, const char *v) {
  if (*slot != NULL) return fail(r, "'%s' is set twice", key);
  if ((*slot = strdup(v)) == NULL) return fail(r, "out of memory at '%s'", key);
  return 0;
}


static int addlist (reader *r, char **list, int *n, const char *key, const char *v) {
  if (*n == MT_MAX_LIST) return fail(r, "too many '%s' lines (at most 64)", key);
  if ((list[*n] = strdup(v)) == NULL) return fail(r, "out of memory at '%s'", key);
  (*n)++;
  return 0;
}


/* an unsigned decimal in [lo, hi] */
static int setnum (reader *r, unsigned *slot, const char *key, const char *v,
                   unsigned long lo, unsigned long hi) {
  char *end;
  unsigned long n;
  errno = 0;
  n = strtoul(v, &end, 10);
  if (*v < '0' || *v > '9' || *end != '\0' || errno != 0 || n < lo || n > hi)
    return fail(r, "'%s' wants a whole number in its range", key);
  *slot = (unsigned)n;
  return 0;
}


static int setword (reader *r, int *slot, const char *key, const char *v,
                    const char *const words[]) {
  int i;
  for (i = 0; words[i] != NULL; i++)
    if (strcmp(v, words[i]) == 0) { *slot = i; return 0; }
  return fail(r, "'%s' has a value it does not know", key);
}


static const char *const actions[] = {"continue", "tempfail", "reject", NULL};
static const char *const logs[] = {"stderr", "syslog", NULL};
static const char *const levels[] = {"info", "debug", NULL};


const char *mt_action_name (mt_action a) {
  return actions[a];
}


static int setkey (reader *r, mt_config *c, const char *k, const char *v) {
  int w = 0;
  if (strcmp(k, "socket") == 0) return setstr(r, &c->socket, k, v);
  if (strcmp(k, "control") == 0) return setstr(r, &c->control, k, v);
  if (strcmp(k, "user") == 0) return setstr(r, &c->user, k, v);
  if (strcmp(k, "policy") == 0) return addlist(r, c->policies, &c->npolicies, k, v);
  if (strcmp(k, "monitor") == 0) return addlist(r, c->monitors, &c->nmonitors, k, v);
  if (strcmp(k, "service") == 0) return addlist(r, c->services, &c->nservices, k, v);
  if (strcmp(k, "cluster_redis") == 0) return setstr(r, &c->cluster_redis, k, v);
  if (strcmp(k, "cluster_name") == 0) return setstr(r, &c->cluster_name, k, v);
  if (strcmp(k, "cluster_node") == 0) return setstr(r, &c->cluster_node, k, v);
  if (strcmp(k, "cluster_user") == 0) return setstr(r, &c->cluster_user, k, v);
  if (strcmp(k, "cluster_password_file") == 0) return setstr(r, &c->cluster_password_file, k, v);
  if (strcmp(k, "cluster_lease") == 0) {
    if (setnum(r, &c->cluster_lease_ms, k, v, 1, 3600) != 0) return -1;
    c->cluster_lease_ms *= 1000;
    return 0;
  }
  if (strcmp(k, "policy_timeout") == 0) return setnum(r, &c->timeout_ms, k, v, 1, 60000);
  if (strcmp(k, "milter_timeout") == 0) return setnum(r, &c->milter_timeout, k, v, 1, 86400);
  if (strcmp(k, "on_policy_error") == 0) {
    if (setword(r, &w, k, v, actions) != 0) return -1;
    c->on_error = (mt_action)w;
    return 0;
  }
  if (strcmp(k, "log") == 0) {
    if (setword(r, &w, k, v, logs) != 0) return -1;
    c->syslog = (w == 1);
    return 0;
  }
  if (strcmp(k, "log_level") == 0) {
    if (setword(r, &w, k, v, levels) != 0) return -1;
    c->debug = (w == 1);
    return 0;
  }
  return fail(r, "unknown key '%s'", k);
}


/* what the file must hold, and values that only make sense together */
static int checkall (reader *r, mt_config *c) {
  int i;
  r->line = 0;
  if (c->socket == NULL) return fail(r, "%s", "no 'socket' (where the MTA reaches the milter)");
  if (c->cluster_redis == NULL && (c->cluster_name || c->cluster_node || c->cluster_user ||
                                   c->cluster_password_file || c->cluster_lease_ms))
    return fail(r, "%s", "cluster_* keys without 'cluster_redis'");
  if (c->cluster_redis != NULL && (c->cluster_name == NULL || c->cluster_node == NULL))
    return fail(r, "%s", "'cluster_redis' needs 'cluster_name' and 'cluster_node'");
  for (i = 0; i < c->nmonitors; i++) {
    sc_monitor m;
    sc_error e;
    if (sc_monitor_parse(c->monitors[i], strlen(c->monitors[i]), &m, &e) != SC_OK)
      return fail(r, "bad monitor '%s'", c->monitors[i]);
  }
  return 0;
}


static int parse (FILE *f, reader *r, mt_config *c) {
  char buf[LINESZ];
  while (fgets(buf, sizeof buf, f) != NULL) {
    char *hash, *eq, *k, *v;
    r->line++;
    if (strchr(buf, '\n') == NULL && !feof(f))
      return fail(r, "%s", "line too long");
    if ((hash = strchr(buf, '#')) != NULL) *hash = '\0';
    k = trim(buf);
    if (*k == '\0') continue;
    if ((eq = strchr(k, '=')) == NULL) return fail(r, "'%s' is not 'key = value'", k);
    *eq = '\0';
    k = trim(k);
    v = trim(eq + 1);
    if (*v == '\0') return fail(r, "'%s' has no value", k);
    if (setkey(r, c, k, v) != 0) return -1;
  }
  if (ferror(f)) return fail(r, "%s", "read error");
  return checkall(r, c);
}


int mt_config_read (const char *path, mt_config *out, char *err, size_t errsz) {
  reader r = {path, 0, err, errsz};
  mt_config c;
  FILE *f;
  int st;
  memset(&c, 0, sizeof c);
  c.on_error = MT_CONTINUE;
  c.timeout_ms = 250;
  c.milter_timeout = 600;
  if ((f = fopen(path, "r")) == NULL) {
    snprintf(err, errsz, "%s: %s", path, strerror(errno));
    return -1;
  }
  st = parse(f, &r, &c);
  fclose(f);
  if (st == 0 && (c.path = strdup(path)) == NULL) st = fail(&r, "%s", "out of memory");
  if (st != 0) {
    mt_config_free(&c);
    return -1;
  }
  *out = c;
  return 0;
}


void mt_config_free (mt_config *c) {
  int i;
  for (i = 0; i < c->npolicies; i++) free(c->policies[i]);
  for (i = 0; i < c->nmonitors; i++) free(c->monitors[i]);
  for (i = 0; i < c->nservices; i++) free(c->services[i]);
  free(c->path);
  free(c->socket);
  free(c->control);
  free(c->user);
  free(c->cluster_redis);
  free(c->cluster_name);
  free(c->cluster_node);
  free(c->cluster_user);
  free(c->cluster_password_file);
  memset(c, 0, sizeof *c);
}
