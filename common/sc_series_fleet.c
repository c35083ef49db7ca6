/*
 * sc_series_fleet.c: series across a fleet (SPEC "The fleet"): which
 * series a table replicates, their names there, and counts that add the
 * other nodes' replicas (cluster/, through the table's view) to this
 * node's own.
 *
 * The built-in event series of a clustering table are replicated from the
 * start; a named series when sc_series_replicate marks it (Momentum's
 * replicate = "cluster").  A replicated series' adds and removes go
 * through the journal (sc_journal.h), which notes what they did for the
 * cluster to ship.  A count with the fleet reads this node's series, then,
 * inside one RCU read-side section, the replicas the view holds: no lock,
 * no wait on the network.
 */
#include <stdio.h>
#include <stdlib.h>
#include "sc_rcu.h"

#include "../fast/sc_tsan.h"   /* RCU's order, told to TSan */
#include "sc_internal.h"
#include "sc_journal.h"

sc_status sc_series_name_fleet(sc_series *s, int kind)
{
    char head[3 + SC_MONITOR_TEXT_MAX + 2];
    int n = snprintf(head, sizeof head, "%c%d:%u,%u%s", kind < 0 ? 'N' : 'E',
                     kind < 0 ? (int)s->kind : kind, s->mon.interval, s->mon.windows,
                     kind < 0 ? ":" : "");
    size_t len = (size_t)n + (kind < 0 ? s->name_len : 0);
    char *name = malloc(len);
    if (!name) return SC_E_NOMEM;
    memcpy(name, head, (size_t)n);
    if (kind < 0) memcpy(name + n, s->name, s->name_len);
    s->fleet_name = name;
    s->fleet_name_len = len;
    return SC_OK;
}

sc_status sc_series_replicate(sc_series *s)
{
    if (!s || !s->fleet_name) return SC_E_INVALID;
    /* relaxed: a flag alone; the journal's stripe lock orders the changes */
    atomic_store_explicit(&s->replicated, true, memory_order_relaxed);
    return SC_OK;
}

bool sc_series_replicated(const sc_series *s)
{
    return s && sc_series_journaled(s);
}

/* The other nodes' part of a count (0 with no cluster joined). */
static uint64_t others(const sc_series *s, const sc_prefix *p, const char *key, size_t len,
                       unsigned startv, unsigned endv, sc_time now)
{
    uint64_t n = 0;
    if (!sc_series_replicated(s)) return 0;
    urcu_bp_read_lock();   /* the view and its replicas stay until we leave */
    /* acquire: pairs with the release that attached the view */
    const sc_view *v = atomic_load_explicit(&s->table->view, memory_order_acquire);
    if (v && v->series_count) n = v->series_count(v->arg, s, p, key, len, startv, endv, now);
    urcu_bp_read_unlock();
    sc_tsan_reader_done();
    return n;
}

sc_status sc_series_count_cluster(const sc_series *s, const sc_prefix *prefix, unsigned startv,
                                  unsigned endv, sc_time now, uint64_t *out)
{
    uint64_t mine;
    if (!s) return SC_E_INVALID;
    now = sc_table_time(s->table, now);   /* one time for this node and the others */
    sc_status st = sc_series_count(s, prefix, startv, endv, now, &mine);
    if (st != SC_OK) return st;
    sc_prefix buf;
    *out = mine + others(s, sc_normal_prefix(prefix, &buf), NULL, 0, startv, endv, now);
    return SC_OK;
}

sc_status sc_series_count_string_cluster(const sc_series *s, const char *key, size_t len,
                                         unsigned startv, unsigned endv, sc_time now,
                                         uint64_t *out)
{
    uint64_t mine;
    if (!s) return SC_E_INVALID;
    now = sc_table_time(s->table, now);
    sc_status st = sc_series_count_string(s, key, len, startv, endv, now, &mine);
    if (st != SC_OK) return st;
    *out = mine + others(s, NULL, key, len, startv, endv, now);
    return SC_OK;
}
