/*
 * sc_cluster.c: joining, leaving, status and the cluster's thread
 * (sc_cluster_int.h draws the whole).  The thread's tick: connect when
 * needed, publish this node's changes, renew the lease and look at the
 * peers, then read what the peers' logs hold that is new, and sleep until
 * the next tick.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sc_cluster_int.h"
#include "sc_journal.h"
#include "sc_rcu.h"

int64_t sc_cl_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void sc_cl_log(sc_cluster *c, const char *fmt, ...)
{
    if (!c->log) return;
    char line[512];
    int n = snprintf(line, sizeof line, "cluster %s/%s: ", c->name, c->node);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    c->log(c->log_arg, line);
}

void sc_cl_key(const sc_cluster *c, const char *kind, const char *node, char *buf)
{
    if (node)
        snprintf(buf, SC_KEY_MAX, "sc:{%s}:%s:%s", c->name, kind, node);
    else
        snprintf(buf, SC_KEY_MAX, "sc:{%s}:%s", c->name, kind);
}

void sc_cl_refused(sc_cluster *c, const char *from, const char *why)
{
    pthread_mutex_lock(&c->status_lock);
    c->st.refused++;
    snprintf(c->st.last_refusal, sizeof c->st.last_refusal, "%s: %s", from, why);
    pthread_mutex_unlock(&c->status_lock);
    sc_cl_log(c, "refused an entry of node %s: %s", from, why);
}

const char *sc_cluster_state_name(sc_cluster_state s)
{
    return s == SC_CLUSTER_LIVE ? "live" : s == SC_CLUSTER_STALE ? "stale" : "local";
}

/* ------------------------------------------------------------ configuration */

static bool good_name(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > SC_CLUSTER_NAME_MAX) return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                  ch == '.' || ch == '_' || ch == '-';
        if (!ok) return false;
    }
    return true;
}

static char *read_password(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    char buf[512];
    char *line = fgets(buf, sizeof buf, f);
    fclose(f);
    if (!line) return NULL;
    buf[strcspn(buf, "\r\n")] = 0;
    char *pw = strdup(buf);
    memset(buf, 0, sizeof buf);
    return pw;
}

static const char *check_config(const sc_cluster_config *cfg)
{
    if (!cfg) return "no configuration";
    if (!cfg->redis || !cfg->redis[0] || strlen(cfg->redis) >= 256) return "redis: empty or too long";
    if (cfg->redis[0] != '/' && !strrchr(cfg->redis, ':')) return "redis: not host:port nor a /path";
    if (!good_name(cfg->name)) return "name: 1 to 64 of A-Z a-z 0-9 . _ -";
    if (!good_name(cfg->node)) return "node: 1 to 64 of A-Z a-z 0-9 . _ -";
    if (cfg->lease != 0 && !(cfg->lease >= 0.5 && cfg->lease <= 3600)) return "lease: 0.5 to 3600 seconds";
    if (cfg->tick_ms > 1000) return "tick_ms: 1 to 1000";
    if (cfg->user && (!cfg->user[0] || strlen(cfg->user) > 128)) return "user: empty or too long";
    if (cfg->password_file && access(cfg->password_file, R_OK) != 0)
        return "password_file: cannot be read";
    return NULL;
}

static sc_status set_up(sc_cluster *c, const sc_cluster_config *cfg, const char **why)
{
    snprintf(c->name, sizeof c->name, "%s", cfg->name);
    snprintf(c->node, sizeof c->node, "%s", cfg->node);
    snprintf(c->redis, sizeof c->redis, "%s", cfg->redis);
    c->lease_ms = (int64_t)((cfg->lease ? cfg->lease : 5.0) * 1000);
    c->tick_ms = cfg->tick_ms ? cfg->tick_ms : 10;
    c->full_every = cfg->full_bytes ? cfg->full_bytes : 65536;
    c->log = cfg->log;
    c->log_arg = cfg->log_arg;
    c->last_contact_ms = -1;
    sc_wire_key(c->name, strlen(c->name), c->key);
    if (cfg->user && !(c->user = strdup(cfg->user))) return SC_E_NOMEM;
    if (cfg->password_file && !(c->password = read_password(cfg->password_file))) {
        *why = "password_file: cannot be read";
        return SC_E_INVALID;
    }
    if (sc_fleet_new(&c->fleet) != SC_OK) return SC_E_NOMEM;
    return sc_cl_pub_init(c);
}

static void free_cluster(sc_cluster *c)
{
    if (c->password) memset(c->password, 0, strlen(c->password));
    free(c->password);
    free(c->user);
    sc_fleet_free(c->fleet);
    sc_addrmap_free(&c->state);
    sc_addrmap_free(&c->merged);
    sc_keymap_free(&c->sstate);
    sc_keymap_free(&c->smerged);
    sc_wire_free(&c->w);
    pthread_mutex_destroy(&c->status_lock);
    free(c);
}

/* ------------------------------------------------------------ the thread */

static const sc_table *view_table(const void *arg)
{
    const sc_cluster *c = arg;
    return sc_fleet_table(c->fleet);
}

static uint64_t view_series(const void *arg, const sc_series *local, const sc_prefix *p,
                            const char *key, size_t len, unsigned startv, unsigned endv,
                            sc_time now)
{
    const sc_cluster *c = arg;
    return sc_fleet_series_count(c->fleet, local->fleet_name, local->fleet_name_len, p, key, len,
                                 startv, endv, now);
}

static void view_leave(void *arg) { sc_cluster_leave(arg); }

/* No contact for a lease: the peers' sessions are no longer counted. */
static void check_contact(sc_cluster *c)
{
    pthread_mutex_lock(&c->status_lock);
    int64_t last = c->last_contact_ms;
    pthread_mutex_unlock(&c->status_lock);
    if (c->npeers && last >= 0 && sc_cl_now_ms() - last >= c->lease_ms)
        sc_cl_forget_all(c, "no contact with redis for a lease");
}

/* Sleeps until `next` (CLOCK_MONOTONIC), then moves it a tick on (or to a
 * tick from now, when the work took longer than a tick). */
static void next_tick(sc_cluster *c, struct timespec *next)
{
    long ns = next->tv_nsec + (long)c->tick_ms * 1000000L;
    next->tv_sec += ns / 1000000000L;
    next->tv_nsec = ns % 1000000000L;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (now.tv_sec > next->tv_sec || (now.tv_sec == next->tv_sec && now.tv_nsec > next->tv_nsec)) {
        *next = now;
        return;
    }
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, next, NULL) == EINTR) {
    }
}

static void *run(void *arg)
{
    sc_cluster *c = arg;
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    /* relaxed: a flag; leave joins the thread, which orders the rest */
    while (!atomic_load_explicit(&c->stop, memory_order_relaxed)) {
        if (!c->rc) sc_cl_connect(c);
        sc_cl_publish(c);
        if (c->rc) sc_cl_peers(c);
        check_contact(c);
        if (c->rc) sc_cl_read(c);
        next_tick(c, &next);
    }
    sc_cl_unpublish(c);
    sc_cl_disconnect(c, NULL);
    return NULL;
}

/* ------------------------------------------------------------ the API */

sc_status sc_cluster_join(sc_table *tab, const sc_cluster_config *cfg, sc_cluster **out,
                          const char **why)
{
    const char *dummy;
    if (!why) why = &dummy;
    *why = NULL;
    if (!tab || !out) return SC_E_INVALID;
    if ((*why = check_config(cfg))) return SC_E_INVALID;
    if (!tab->journal) return SC_E_NEEDS_CLUSTERING;
    sc_cluster *c = calloc(1, sizeof *c);
    if (!c) return SC_E_NOMEM;
    pthread_mutex_init(&c->status_lock, NULL);
    c->table = tab;
    sc_status st = set_up(c, cfg, why);
    c->view = (sc_view){view_table, view_series, view_leave, c};
    if (st == SC_OK) st = sc_table_attach_view(tab, &c->view);
    if (st != SC_OK) {
        free_cluster(c);
        return st;
    }
    /* the walk and the changes after it: this node's state, exactly */
    st = sc_journal_start(tab, sc_cl_seed, c);
    if (st == SC_OK && pthread_create(&c->thread, NULL, run, c) != 0) {
        sc_journal_stop(tab);
        st = SC_E_NOMEM;
    }
    if (st != SC_OK) {
        sc_table_detach_view(tab);
        free_cluster(c);
        return st;
    }
    /* relaxed: a flag alone (join_later tables: the names resolve now) */
    atomic_store_explicit(&tab->reg.clustering, true, memory_order_relaxed);
    *out = c;
    return SC_OK;
}

sc_cluster *sc_cluster_of(const sc_table *tab)
{
    if (!tab) return NULL;
    urcu_bp_read_lock();
    /* acquire: as a count reading the view */
    const sc_view *v = atomic_load_explicit(&((sc_table *)tab)->view, memory_order_acquire);
    sc_cluster *c = v ? v->arg : NULL;
    urcu_bp_read_unlock();
    return c;
}

void sc_cluster_leave(sc_cluster *c)
{
    if (!c) return;
    /* relaxed: pthread_join orders everything after */
    atomic_store_explicit(&c->stop, true, memory_order_relaxed);
    pthread_join(c->thread, NULL);
    sc_table_detach_view(c->table);
    sc_journal_stop(c->table);
    free_cluster(c);
}

void sc_cluster_status_get(const sc_cluster *c, sc_cluster_status *out)
{
    sc_cluster *m = (sc_cluster *)c;   /* the lock only */
    pthread_mutex_lock(&m->status_lock);
    *out = c->st;
    int64_t last = c->last_contact_ms;
    pthread_mutex_unlock(&m->status_lock);
    int64_t age = last < 0 ? -1 : sc_cl_now_ms() - last;
    out->age = age < 0 ? -1 : (double)age / 1000;
    if (age < 0 || age >= c->lease_ms)
        out->state = SC_CLUSTER_LOCAL;
    else
        out->state = age < 1000 + 2 * (int64_t)c->tick_ms ? SC_CLUSTER_LIVE : SC_CLUSTER_STALE;
    snprintf(out->name, sizeof out->name, "%s", c->name);
    snprintf(out->node, sizeof out->node, "%s", c->node);
    unsigned synced = 0;
    sc_fleet_origins(c->fleet, &synced);
    out->nodes = 1 + (out->state == SC_CLUSTER_LOCAL ? 0 : synced);
}
