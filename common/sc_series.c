/*
 * sc_series.c: the public series functions and the built-in event series.
 *
 * Everything about time lives here, once, for both implementations: a
 * call's time (its own, or the table's clock for SC_NOW) becomes an epoch,
 * floor(t / W); the series' `newest` is the largest epoch any call has
 * reached, and the ring is the N epochs up to it.  A call that moves
 * `newest` on tells the implementation which windows left (series_turn);
 * adds older than the ring are dropped here; counts are cut to the live
 * part of their range here.  The implementations see only live epochs.
 */
#include <stdlib.h>
#include <time.h>

#include "sc_internal.h"
#include "sc_journal.h"

/* The built-in series: one per (event kind, monitor), published once. */
typedef struct sc_events {
    size_t n;
    sc_monitor *mons;            /* n monitors, in the order configured */
    sc_series **series;          /* [kind * n + i] */
} sc_events;

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

sc_time sc_table_time(const sc_table *tab, sc_time now)
{
    if (now != SC_NOW) return now;
    if (tab->clock) return tab->clock(tab->clock_arg);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (sc_time)ts.tv_sec;
}

static bool monitor_ok(const sc_monitor *m)
{
    return m && m->interval >= 1 && m->interval <= SC_MONITOR_INTERVAL_MAX && m->windows >= 1 &&
           m->windows <= SC_MONITOR_WINDOWS_MAX;
}

/* The epoch of `now`, the ring moved on to it if it is the newest yet;
 * *newest gets the ring's newest epoch. */
static int64_t reach(sc_series *s, sc_time now, int64_t *newest)
{
    int64_t e = floor_div(sc_table_time(s->table, now), s->mon.interval);
    /* relaxed: newest only orders itself (a max); the windows it names are
     * found through the implementation's own acquire loads. */
    int64_t seen = atomic_load_explicit(&s->newest, memory_order_relaxed);
    while (e > seen) {
        if (atomic_compare_exchange_weak_explicit(&s->newest, &seen, e, memory_order_relaxed,
                                                  memory_order_relaxed)) {
            s->table->impl->series_turn(s, e - (int64_t)s->mon.windows + 1);
            seen = e;
            break;
        }
    }
    *newest = seen;
    return e;
}

/* A series, not yet on the table's list. */
static sc_status series_make(sc_table *tab, sc_series_kind kind, const sc_monitor *m,
                             sc_series **out)
{
    if (!tab || !monitor_ok(m) || !out ||
        (kind != SC_SERIES_CIDR && kind != SC_SERIES_STRING && kind != SC_SERIES_CIDR_IPV6))
        return SC_E_INVALID;
    sc_series *s = NULL;
    sc_status st = tab->impl->series_new(tab, m, &s);
    if (st != SC_OK) return st;
    s->table = tab;
    s->kind = kind;
    s->mon = *m;
    s->name = NULL;
    s->name_len = 0;
    s->fleet_name = NULL;
    s->fleet_name_len = 0;
    atomic_init(&s->replicated, false);
    atomic_init(&s->newest, INT64_MIN);
    *out = s;
    return SC_OK;
}

/* Puts s on the table's list; the caller holds series_lock. */
static void link_locked(sc_table *tab, sc_series *s)
{
    s->prev = NULL;
    s->next = tab->series;
    if (tab->series) tab->series->prev = s;
    tab->series = s;
}

sc_status sc_series_new(sc_table *tab, sc_series_kind kind, const sc_monitor *m, sc_series **out)
{
    sc_series *s;
    sc_status st = series_make(tab, kind, m, &s);
    if (st != SC_OK) return st;
    pthread_mutex_lock(&tab->series_lock);
    link_locked(tab, s);
    pthread_mutex_unlock(&tab->series_lock);
    *out = s;
    return SC_OK;
}

sc_series_kind sc_series_kind_of(const sc_series *s)
{
    return s ? s->kind : SC_SERIES_CIDR;
}

void sc_series_free(sc_series *s)
{
    if (!s) return;
    sc_table *tab = s->table;
    pthread_mutex_lock(&tab->series_lock);
    if (s->prev) s->prev->next = s->next;
    else tab->series = s->next;
    if (s->next) s->next->prev = s->prev;
    pthread_mutex_unlock(&tab->series_lock);
    free(s->name);
    free(s->fleet_name);
    tab->impl->series_free(s);
}

void sc_series_free_all(sc_table *tab)
{
    sc_events *ev = atomic_load_explicit(&tab->events, memory_order_acquire);
    if (ev) {
        free(ev->mons);
        free(ev->series);
        free(ev);
    }
    while (tab->series) sc_series_free(tab->series);
}

sc_monitor sc_series_monitor(const sc_series *s)
{
    return s ? s->mon : (sc_monitor){0, 0};
}

/* The epoch of an add at `now` and |n| (0: nothing to do: n is 0 or the
 * window has left the ring), or SC_E_RANGE for an amount past the max. */
static sc_status add_amount(sc_series *s, int64_t n, sc_time now, int64_t *epoch, uint64_t *mag)
{
    int64_t newest, e = reach(s, now, &newest);
    *epoch = e;
    *mag = 0;
    if (n == 0 || e < newest - (int64_t)s->mon.windows + 1) return SC_OK;
    /* |n| without overflow, INT64_MIN included */
    uint64_t m = n > 0 ? (uint64_t)n : (uint64_t)0 - (uint64_t)n;
    if (n > 0 && m > SC_SERIES_COUNT_MAX) return SC_E_RANGE;
    *mag = m > SC_SERIES_COUNT_MAX ? SC_SERIES_COUNT_MAX : m;   /* a take of it all */
    return SC_OK;
}

sc_status sc_series_add(sc_series *s, const sc_addr *key, int64_t n, sc_time now)
{
    sc_addr a;
    if (!s || s->kind == SC_SERIES_STRING || !sc_normal_addr(key, &a)) return SC_E_INVALID;
    int64_t e;
    uint64_t mag;
    sc_status st = add_amount(s, n, now, &e, &mag);
    if (st != SC_OK || mag == 0) return st;
    if (sc_series_journaled(s))   /* through the journal, which notes what it did */
        return sc_journal_series_add(s, &a, NULL, 0, e, mag, n < 0);
    uint64_t done;
    return s->table->impl->series_add(s, &a, e, mag, n < 0, &done);
}

sc_status sc_series_remove(sc_series *s, const sc_addr *key, sc_time now)
{
    sc_addr a;
    if (!s || s->kind == SC_SERIES_STRING || !sc_normal_addr(key, &a)) return SC_E_INVALID;
    int64_t newest;
    reach(s, now, &newest);
    if (sc_series_journaled(s))
        sc_journal_series_remove(s, &a, NULL, 0);
    else
        s->table->impl->series_remove(s, &a, NULL, NULL);
    return SC_OK;
}

static bool key_ok(const char *key, size_t len)
{
    return key && len >= 1 && len <= SC_SERIES_KEY_MAX;
}

sc_status sc_series_add_string(sc_series *s, const char *key, size_t len, int64_t n, sc_time now)
{
    if (!s || s->kind != SC_SERIES_STRING || !key_ok(key, len)) return SC_E_INVALID;
    int64_t e;
    uint64_t mag;
    sc_status st = add_amount(s, n, now, &e, &mag);
    if (st != SC_OK || mag == 0) return st;
    if (sc_series_journaled(s))
        return sc_journal_series_add(s, NULL, key, len, e, mag, n < 0);
    uint64_t done;
    return s->table->impl->series_add_str(s, key, len, e, mag, n < 0, &done);
}

sc_status sc_series_remove_string(sc_series *s, const char *key, size_t len, sc_time now)
{
    if (!s || s->kind != SC_SERIES_STRING || !key_ok(key, len)) return SC_E_INVALID;
    int64_t newest;
    reach(s, now, &newest);
    if (sc_series_journaled(s))
        sc_journal_series_remove(s, NULL, key, len);
    else
        s->table->impl->series_remove_str(s, key, len, NULL, NULL);
    return SC_OK;
}

/* The live epochs of windows startv..endv at `now` (first > last: none). */
static sc_status count_range(const sc_series *cs, unsigned startv, unsigned endv, sc_time now,
                             int64_t *first, int64_t *last)
{
    if (startv > endv || endv >= cs->mon.windows) return SC_E_RANGE;
    /* A count may move the ring on: `newest` is an atomic in a series
     * that was allocated as mutable. */
    sc_series *s = (sc_series *)(uintptr_t)cs;
    int64_t newest, e = reach(s, now, &newest);
    int64_t oldest = newest - (int64_t)s->mon.windows + 1;
    *first = e - (int64_t)endv;
    *last = e - (int64_t)startv;
    if (*first < oldest) *first = oldest;
    return SC_OK;
}

sc_status sc_series_count(const sc_series *cs, const sc_prefix *prefix, unsigned startv,
                          unsigned endv, sc_time now, uint64_t *out)
{
    sc_prefix buf;
    const sc_prefix *p = sc_normal_prefix(prefix, &buf);
    if (!cs || cs->kind == SC_SERIES_STRING || !p || !out) return SC_E_INVALID;
    int64_t first, last;
    sc_status st = count_range(cs, startv, endv, now, &first, &last);
    if (st != SC_OK) return st;
    *out = first > last ? 0 : cs->table->impl->series_count(cs, p, first, last);
    return SC_OK;
}

sc_status sc_series_count_string(const sc_series *s, const char *key, size_t len,
                                 unsigned startv, unsigned endv, sc_time now, uint64_t *out)
{
    if (!s || s->kind != SC_SERIES_STRING || !key_ok(key, len) || !out) return SC_E_INVALID;
    int64_t first, last;
    sc_status st = count_range(s, startv, endv, now, &first, &last);
    if (st != SC_OK) return st;
    *out = first > last ? 0 : s->table->impl->series_count_str(s, key, len, first, last);
    return SC_OK;
}

sc_status sc_series_count_text(const sc_series *s, const char *cidr, size_t cidr_len,
                               const sc_addr *connecting, unsigned startv, unsigned endv,
                               sc_time now, uint64_t *out, sc_error *err)
{
    if (!s || !out) return SC_E_INVALID;
    sc_prefix p;
    sc_status st;
    if (cidr) {
        st = s->table->impl->parse_cidr(cidr, cidr_len, connecting, &p, err);
    } else {
        sc_addr a;
        if (!connecting) return sc_parse_fail(err, SC_PARSE_NO_CONNECTING_IP, 0);
        if (!sc_normal_addr(connecting, &a)) return SC_E_INVALID;
        st = sc_prefix_make(&a, a.family == SC_INET4 ? 32 : 128, &p);
    }
    if (st != SC_OK) return st;
    return sc_series_count(s, &p, startv, endv, now, out);
}

/* ------------------------------------------------------------------ built-ins */

static bool same_monitor(const sc_monitor *a, const sc_monitor *b)
{
    return a->interval == b->interval && a->windows == b->windows;
}

static bool same_list(const sc_events *ev, const sc_monitor *m, size_t n)
{
    if (ev->n != n) return false;
    for (size_t i = 0; i < n; i++)
        if (!same_monitor(&ev->mons[i], &m[i])) return false;
    return true;
}

static void events_free(sc_events *ev)
{
    if (!ev) return;
    if (ev->series)
        for (size_t i = 0; i < SC_EVENTS * ev->n; i++) sc_series_free(ev->series[i]);
    free(ev->mons);
    free(ev->series);
    free(ev);
}

static sc_events *events_make(sc_table *tab, const sc_monitor *m, size_t n, sc_status *st)
{
    sc_events *ev = calloc(1, sizeof *ev);
    if (ev) {
        ev->n = n;
        ev->mons = calloc(n, sizeof *ev->mons);
        ev->series = calloc(SC_EVENTS * n, sizeof *ev->series);
    }
    *st = SC_E_NOMEM;
    if (!ev || !ev->mons || !ev->series) {
        events_free(ev);
        return NULL;
    }
    memcpy(ev->mons, m, n * sizeof *m);
    for (size_t i = 0; i < SC_EVENTS * n; i++) {
        *st = sc_series_new(tab, SC_SERIES_CIDR, &m[i % n], &ev->series[i]);
        if (*st == SC_OK) *st = sc_series_name_fleet(ev->series[i], (int)(i / n));
        if (*st == SC_OK && tab->journal)   /* a clustering table's events go to its fleet */
            atomic_store_explicit(&ev->series[i]->replicated, true, memory_order_relaxed);
        if (*st != SC_OK) {
            events_free(ev);
            return NULL;
        }
    }
    return ev;
}

sc_status sc_table_set_monitors(sc_table *tab, const sc_monitor *m, size_t n)
{
    if (!tab || !m || n == 0 || n > SC_MONITOR_WINDOWS_MAX) return SC_E_INVALID;
    for (size_t i = 0; i < n; i++) {
        if (!monitor_ok(&m[i])) return SC_E_INVALID;
        for (size_t j = 0; j < i; j++)
            if (same_monitor(&m[i], &m[j])) return SC_E_INVALID;
    }
    /* acquire: pairs with the release below, so a published list is whole. */
    sc_events *ev = atomic_load_explicit(&tab->events, memory_order_acquire);
    if (ev) return same_list(ev, m, n) ? SC_OK : SC_E_CONFLICT;
    sc_status st;
    sc_events *mine = events_make(tab, m, n, &st);
    if (!mine) return st;
    sc_events *seen = NULL;
    /* acq_rel: release publishes our list; acquire sees the winner's. */
    if (atomic_compare_exchange_strong_explicit(&tab->events, &seen, mine, memory_order_acq_rel,
                                                memory_order_acquire))
        return SC_OK;
    events_free(mine);
    return same_list(seen, m, n) ? SC_OK : SC_E_CONFLICT;
}

static sc_status events_of(const sc_table *tab, sc_event kind, sc_events **out)
{
    if (!tab || (unsigned)kind >= SC_EVENTS) return SC_E_INVALID;
    /* acquire: as in sc_table_set_monitors. */
    sc_events *ev = atomic_load_explicit(&((sc_table *)(uintptr_t)tab)->events,
                                         memory_order_acquire);
    if (!ev) return SC_E_NOT_CONFIGURED;
    *out = ev;
    return SC_OK;
}

sc_status sc_table_note(sc_table *tab, sc_event kind, const sc_addr *addr, int64_t n, sc_time now)
{
    sc_events *ev;
    sc_status st = events_of(tab, kind, &ev);
    if (st != SC_OK) return st;
    if (now == SC_NOW) now = sc_table_time(tab, now);   /* one time for every monitor */
    for (size_t i = 0; i < ev->n && st == SC_OK; i++)
        st = sc_series_add(ev->series[kind * ev->n + i], addr, n, now);
    return st;
}

sc_status sc_table_event_series(const sc_table *tab, sc_event kind, const sc_monitor *m,
                                sc_series **out)
{
    sc_events *ev;
    if (!m || !out) return SC_E_INVALID;
    sc_status st = events_of(tab, kind, &ev);
    if (st != SC_OK) return st;
    for (size_t i = 0; i < ev->n; i++)
        if (same_monitor(&ev->mons[i], m)) {
            *out = ev->series[kind * ev->n + i];
            return SC_OK;
        }
    return SC_E_NO_MONITOR;
}

/* ------------------------------------------------------------------ named series */

/* The series named `name`; the caller holds series_lock. */
static sc_series *find_locked(const sc_table *tab, const char *name, size_t len)
{
    for (sc_series *s = tab->series; s; s = s->next)
        if (s->name && s->name_len == len && memcmp(s->name, name, len) == 0) return s;
    return NULL;
}

sc_status sc_table_define_series(sc_table *tab, const char *name, size_t len,
                                 sc_series_kind kind, const sc_monitor *m, sc_series **out)
{
    if (!tab || !key_ok(name, len) || !monitor_ok(m) || !out) return SC_E_INVALID;
    sc_series *fresh = NULL;
    char *copy = malloc(len + 1);
    sc_status st = copy ? series_make(tab, kind, m, &fresh) : SC_E_NOMEM;
    if (st != SC_OK) {
        free(copy);
        return st;
    }
    memcpy(copy, name, len);
    copy[len] = '\0';
    fresh->name = copy;
    fresh->name_len = len;
    st = sc_series_name_fleet(fresh, -1);
    fresh->name = NULL;
    if (st != SC_OK) {
        tab->impl->series_free(fresh);
        free(copy);
        return st;
    }
    pthread_mutex_lock(&tab->series_lock);
    sc_series *s = find_locked(tab, name, len);
    if (!s) {
        fresh->name = copy;
        fresh->name_len = len;
        link_locked(tab, fresh);
        s = fresh;
        fresh = NULL;
        copy = NULL;
    } else if (s->kind != kind || !same_monitor(&s->mon, m)) {
        st = SC_E_CONFLICT;
    }
    pthread_mutex_unlock(&tab->series_lock);
    if (fresh) {
        free(fresh->fleet_name);
        tab->impl->series_free(fresh);
    }
    free(copy);
    if (st == SC_OK) *out = s;
    return st;
}

sc_status sc_table_find_series(const sc_table *tab, const char *name, size_t len, sc_series **out)
{
    if (!tab || !key_ok(name, len) || !out) return SC_E_INVALID;
    sc_table *t = (sc_table *)(uintptr_t)tab;   /* the lock lives in a mutable table */
    pthread_mutex_lock(&t->series_lock);
    sc_series *s = find_locked(tab, name, len);
    pthread_mutex_unlock(&t->series_lock);
    if (!s) return SC_E_NO_SERIES;
    *out = s;
    return SC_OK;
}
