/*
 * sc_replica.c: the replicas of the other nodes (sc_replica.h says what and
 * why).  One applier thread writes; any thread reads, in RCU read-side
 * sections, without a lock.  A table that leaves an origin (replaced by a
 * full state, or dropped) is freed only after a grace period, once no
 * reader can still be counting in it.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include "sc_rcu.h"

#include "../fast/sc_tsan.h"   /* RCU's order, told to TSan (fast's readers release it) */
#include "sc_addrmap.h"
#include "sc_internal.h"
#include "sc_journal.h"
#include "sc_replica.h"

/* A replicated series of an origin: its fleet name and its replica, a
 * series of the origin's table.  Immutable once published but for `next`
 * set before. */
typedef struct rseries {
    struct rseries *next;
    sc_series *s;
    size_t len;
    char name[];
} rseries;

typedef struct origin {
    char name[SC_FLEET_NAME_MAX];
    size_t namelen;
    uint64_t incarnation, seq;   /* the applier's own */
    bool synced;                 /* holds a full state and the deltas after it */
    _Atomic(sc_table *) table;   /* NULL: nothing counted for it */
    _Atomic(rseries *) series;   /* its series' replicas, in `table`; NULL: none */
} origin;

struct sc_fleet {
    _Atomic(origin *) slot[SC_FLEET_ORIGINS];
    _Atomic(sc_table *) sum;     /* every synced origin's sessions together: what counts read */
    sc_service smtp;             /* the same id in every replica table */
};

static const char *const names[SC_APPLY_RESULTS] = {
    "applied", "duplicate", "gap: dropped until a full state", "delta before a full state",
    "inconsistent: dropped until a full state", "no free origin slot", "out of memory: dropped",
    "more series than an origin may have: dropped until a full state",
};

const char *sc_apply_name(sc_apply a)
{
    return (unsigned)a < SC_APPLY_RESULTS ? names[a] : "unknown";
}

sc_status sc_fleet_new(sc_fleet **out)
{
    sc_fleet *f = calloc(1, sizeof *f);
    sc_table *probe;
    if (!f) return SC_E_NOMEM;
    if (sc_table_new(sc_impl_fast(), NULL, &probe) != SC_OK) {
        free(f);
        return SC_E_NOMEM;
    }
    sc_status st = sc_table_service(probe, "SMTP", 4, &f->smtp);
    if (st != SC_OK) {
        sc_table_free(probe);
        free(f);
        return st;
    }
    atomic_init(&f->sum, probe);
    *out = f;
    return SC_OK;
}

static void rseries_free(rseries *r)
{
    for (rseries *next; r; r = next) {
        next = r->next;
        free(r);
    }
}

/* Puts t and its series in o's place and frees what was there once no
 * reader sees it. */
static void swap_table(origin *o, sc_table *t, rseries *series)
{
    /* release: a reader that loads t (or a series) sees it fully built */
    sc_table *old = atomic_exchange_explicit(&o->table, t, memory_order_acq_rel);
    rseries *olds = atomic_exchange_explicit(&o->series, series, memory_order_acq_rel);
    if (old || olds) {
        urcu_bp_synchronize_rcu();
        sc_tsan_reclaim(old);   /* after every reader that could see it */
        rseries_free(olds);
        sc_table_free(old);     /* and the series in it */
    }
}

void sc_fleet_free(sc_fleet *f)
{
    if (!f) return;
    for (int i = 0; i < SC_FLEET_ORIGINS; i++) {
        /* relaxed: no reader may run during sc_fleet_free */
        origin *o = atomic_load_explicit(&f->slot[i], memory_order_relaxed);
        if (!o) continue;
        rseries_free(atomic_load_explicit(&o->series, memory_order_relaxed));
        sc_table_free(atomic_load_explicit(&o->table, memory_order_relaxed));
        free(o);
    }
    sc_table_free(atomic_load_explicit(&f->sum, memory_order_relaxed));
    free(f);
}

static origin *find(sc_fleet *f, const char *name, size_t len, int *free_slot)
{
    *free_slot = -1;
    for (int i = 0; i < SC_FLEET_ORIGINS; i++) {
        /* relaxed: slots are written by this (the applier's) thread only */
        origin *o = atomic_load_explicit(&f->slot[i], memory_order_relaxed);
        if (!o) {
            if (*free_slot < 0) *free_slot = i;
        } else if (o->namelen == len && memcmp(o->name, name, len) == 0) {
            return o;
        }
    }
    return NULL;
}

/* n sessions (either sign) of a, in table t: an sc_addrmap_each callback
 * (non-zero: a failure, memory or a close of nothing). */
static int add_to_table(void *arg, const sc_addr *a, int64_t n)
{
    sc_table *t = arg;
    for (; n > 0; n--)
        if (sc_open(t, a, SC_SERVICE_SMTP) != SC_OK) return 1;
    for (; n < 0; n++)
        if (sc_close(t, a, SC_SERVICE_SMTP) != SC_OK) return 1;
    return 0;
}

static int add_to_map(void *arg, const sc_addr *a, int64_t n)
{
    return sc_addrmap_add(arg, a, n) != SC_OK;
}

typedef struct each_ctx {
    int (*fn)(void *arg, const sc_addr *a, int64_t n);
    void *arg;
    int sign, stop;
} each_ctx;

static int each_visit(void *arg, const sc_branch *b)
{
    each_ctx *e = arg;
    if (b->prefix.len != (b->prefix.addr.family == SC_INET4 ? 32 : 128)) return 0;
    e->stop = e->fn(e->arg, &b->prefix.addr, e->sign * (int64_t)b->count);
    return e->stop;
}

/* fn(arg, address, sign * its sessions) for every address of t, until fn
 * returns non-zero (returned; 1 also when the walk has no memory). */
static int each_address(sc_table *t, int sign, int (*fn)(void *, const sc_addr *, int64_t),
                        void *arg)
{
    each_ctx e = {fn, arg, sign, 0};
    for (int fam = SC_INET4; fam <= SC_INET6; fam += SC_INET6 - SC_INET4) {
        sc_prefix root = {.addr = {.family = (uint8_t)fam}, .len = 0};
        if (sc_walk_tree(t, &root, SC_SERVICE_SMTP, each_visit, &e) != SC_OK) return 1;
        if (e.stop) return e.stop;
    }
    return 0;
}

/* ------------------------------------------------------------ the sum
 * Counts read one table, the sum of the origins' tables, not one per
 * origin (a walk each: four nodes would cost four DRAM walks).  The sum is
 * derived, never merged into: every change goes to its origin's table
 * first, then to the sum, and an origin dropped or replaced takes out of
 * the sum exactly what its table held.  A full state reaches the sum as
 * its difference from the state before, so each address moves once, from
 * its old count to its new one: a count sees every session before or after
 * its change, never a whole origin missing in between.  When the sum
 * cannot be updated (memory), it is built again from the origins' tables. */

static sc_table *sum_of(sc_fleet *f)
{
    /* relaxed: only this (the applier's) thread stores it */
    return atomic_load_explicit(&f->sum, memory_order_relaxed);
}

static void resum(sc_fleet *f)
{
    sc_table *t;
    if (sc_table_new(sc_impl_fast(), NULL, &t) != SC_OK) return;   /* stays as it was */
    for (int i = 0; i < SC_FLEET_ORIGINS; i++) {
        /* relaxed: the applier's own slots and tables */
        origin *o = atomic_load_explicit(&f->slot[i], memory_order_relaxed);
        sc_table *ot = o ? atomic_load_explicit(&o->table, memory_order_relaxed) : NULL;
        if (ot && each_address(ot, 1, add_to_table, t) != 0) {
            sc_table_free(t);
            return;
        }
    }
    /* release: a reader that loads t sees it built */
    sc_table *old = atomic_exchange_explicit(&f->sum, t, memory_order_acq_rel);
    urcu_bp_synchronize_rcu();
    sc_tsan_reclaim(old);   /* after every reader that could see it */
    sc_table_free(old);
}

/* The sum changed by a map of differences; built again when that fails. */
static void sum_apply(sc_fleet *f, const sc_addrmap *diff)
{
    if (sc_addrmap_each(diff, add_to_table, sum_of(f)) != 0) resum(f);
}

/* Forgets o's sessions (it stays unsynced until its next full state). */
static void drop_view(sc_fleet *f, origin *o)
{
    /* relaxed: the applier's own table */
    sc_table *t = atomic_load_explicit(&o->table, memory_order_relaxed);
    o->synced = false;
    if (!t) return;
    sc_addrmap diff = {0};
    int bad = each_address(t, -1, add_to_map, &diff);
    swap_table(o, NULL, NULL);
    if (bad)
        resum(f);
    else
        sum_apply(f, &diff);
    sc_addrmap_free(&diff);
}

/* ---------------------------------------------------------- the series
 * An origin's series live in its table, one replica per fleet name, found
 * through its list; a change is added at the time of its window. */

/* The replica of the series k names, made in t (on list *head) when
 * missing; NULL: out of memory, or *full: the origin has too many. */
static rseries *series_for(sc_table *t, _Atomic(rseries *) *head, const sc_skey *k, bool *full)
{
    sc_series_kind kind;
    sc_monitor m;
    unsigned n = 0;
    /* relaxed: the applier's own list */
    rseries *first = atomic_load_explicit(head, memory_order_relaxed);
    for (rseries *r = first; r; r = r->next, n++)
        if (r->len == k->slen && memcmp(r->name, k->sname, k->slen) == 0) return r;
    if ((*full = n >= SC_FLEET_SERIES)) return NULL;
    if (!sc_sname_parse(k->sname, k->slen, &kind, &m)) return NULL;   /* sc_wire_parse checked */
    rseries *r = malloc(sizeof *r + k->slen);
    if (!r || sc_series_new(t, kind, &m, &r->s) != SC_OK) {
        free(r);
        return NULL;
    }
    r->len = k->slen;
    memcpy(r->name, k->sname, k->slen);
    r->next = first;
    /* release: a reader that finds r sees it and its series built */
    atomic_store_explicit(head, r, memory_order_release);
    return r;
}

/* A series record added to its replica in t: SC_APPLY_OK, SC_APPLY_NOMEM
 * or SC_APPLY_SERIES_LIMIT. */
static sc_apply add_series(sc_table *t, _Atomic(rseries *) *head, const sc_wire_record *rec)
{
    sc_skey k;
    sc_addr a;
    sc_status st;
    bool full = false;
    if (!sc_skey_decode(rec->skey, rec->skeylen, &k)) return SC_APPLY_NOMEM;   /* checked */
    rseries *r = series_for(t, head, &k, &full);
    if (!r) return full ? SC_APPLY_SERIES_LIMIT : SC_APPLY_NOMEM;
    int64_t w = sc_series_monitor(r->s).interval;
    if (k.epoch > INT64_MAX / w || k.epoch < INT64_MIN / w) return SC_APPLY_OK;   /* at no time */
    if (k.type == 0)
        st = sc_series_add_string(r->s, (const char *)k.key, k.klen, rec->scount, k.epoch * w);
    else if (sc_addr_from_bytes((uint8_t)k.type, k.key, &a) == SC_OK)
        st = sc_series_add(r->s, &a, rec->scount, k.epoch * w);
    else
        return SC_APPLY_NOMEM;
    return st == SC_OK ? SC_APPLY_OK : SC_APPLY_NOMEM;
}

static sc_apply apply_full(sc_fleet *f, origin *o, const sc_wire_batch *b)
{
    sc_table *t;
    sc_wire_record r;
    size_t pos = 0;
    sc_addrmap diff = {0};
    _Atomic(rseries *) series = NULL;   /* built aside, as t */
    sc_apply why = SC_APPLY_NOMEM;
    if (o->synced && (b->incarnation < o->incarnation ||
                      (b->incarnation == o->incarnation && b->seq < o->seq)))
        return SC_APPLY_DUPLICATE;   /* older than the state held */
    /* relaxed: the applier's own table */
    sc_table *old = atomic_load_explicit(&o->table, memory_order_relaxed);
    bool bad = sc_table_new(sc_impl_fast(), NULL, &t) != SC_OK;
    if (!bad && old) bad = each_address(old, -1, add_to_map, &diff) != 0;
    while (!bad && sc_wire_next(b, &pos, &r))   /* only opens: a failure is memory */
        bad = r.type == 2 ? (why = add_series(t, &series, &r)) != SC_APPLY_OK
                          : add_to_table(t, &r.addr, r.count) != 0 ||
                                sc_addrmap_add(&diff, &r.addr, r.count) != SC_OK;
    if (bad) {
        /* relaxed: never published */
        rseries_free(atomic_load_explicit(&series, memory_order_relaxed));
        sc_table_free(t);
        sc_addrmap_free(&diff);
        drop_view(f, o);
        return why == SC_APPLY_OK ? SC_APPLY_NOMEM : why;   /* a session's failure: memory */
    }
    o->incarnation = b->incarnation;
    o->seq = b->seq;
    o->synced = true;
    /* relaxed: built by this thread, published by swap_table's release */
    swap_table(o, t, atomic_load_explicit(&series, memory_order_relaxed));
    sum_apply(f, &diff);
    sc_addrmap_free(&diff);
    return SC_APPLY_OK;
}

static sc_apply apply_delta(sc_fleet *f, origin *o, const sc_wire_batch *b)
{
    sc_wire_record r;
    size_t pos = 0;
    bool sum_ok = true;
    if (!o->synced) return SC_APPLY_UNSYNCED;
    if (b->incarnation < o->incarnation ||
        (b->incarnation == o->incarnation && b->seq <= o->seq))
        return SC_APPLY_DUPLICATE;   /* from before a restart, or already applied */
    if (b->incarnation > o->incarnation || b->seq > o->seq + 1) {
        drop_view(f, o);   /* a restart or a lost batch: wait for a full state */
        return SC_APPLY_GAP;
    }
    /* relaxed: the applier's own table */
    sc_table *t = atomic_load_explicit(&o->table, memory_order_relaxed);
    sc_table *sum = sum_of(f);
    while (sc_wire_next(b, &pos, &r)) {
        if (r.type == 2) {
            sc_apply why = add_series(t, &o->series, &r);
            if (why == SC_APPLY_OK) continue;
            o->synced = false;   /* as below */
            swap_table(o, NULL, NULL);
            resum(f);
            return why;
        }
        if (add_to_table(t, &r.addr, r.count) != 0) {
            /* memory, or closes of sessions never opened: the origin goes,
             * and the sum is built from the others (part of this record
             * may be in its table and not in the sum) */
            o->synced = false;
            swap_table(o, NULL, NULL);
            resum(f);
            return r.count > 0 ? SC_APPLY_NOMEM : SC_APPLY_INCONSISTENT;
        }
        if (sum_ok && add_to_table(sum, &r.addr, r.count) != 0) sum_ok = false;
    }
    o->seq = b->seq;
    if (!sum_ok) resum(f);
    return SC_APPLY_OK;
}

sc_apply sc_fleet_apply(sc_fleet *f, const char *name, size_t len, const sc_wire_batch *b)
{
    int free_slot;
    if (len == 0 || len > SC_FLEET_NAME_MAX) return SC_APPLY_INCONSISTENT;
    origin *o = find(f, name, len, &free_slot);
    if (!o) {
        if (b->kind != SC_WIRE_FULL) return SC_APPLY_UNSYNCED;
        if (free_slot < 0) return SC_APPLY_FULL_TABLE;
        if (!(o = calloc(1, sizeof *o))) return SC_APPLY_NOMEM;
        memcpy(o->name, name, len);
        o->namelen = len;
        /* release: readers see the origin's fields (a NULL table) set */
        atomic_store_explicit(&f->slot[free_slot], o, memory_order_release);
    }
    return b->kind == SC_WIRE_FULL ? apply_full(f, o, b) : apply_delta(f, o, b);
}

void sc_fleet_drop(sc_fleet *f, const char *name, size_t len)
{
    int free_slot;
    origin *o = find(f, name, len, &free_slot);
    if (!o) return;
    drop_view(f, o);   /* out of the sum */
    for (int i = 0; i < SC_FLEET_ORIGINS; i++)
        /* relaxed: the applier's own slots */
        if (atomic_load_explicit(&f->slot[i], memory_order_relaxed) == o)
            atomic_store_explicit(&f->slot[i], NULL, memory_order_release);
    urcu_bp_synchronize_rcu();   /* no reader still holds o */
    sc_tsan_reclaim(o);
    free(o);
}

const sc_table *sc_fleet_table(const sc_fleet *f)
{
    /* acquire: pairs with resum's exchange, so the table is whole */
    return atomic_load_explicit(&((sc_fleet *)f)->sum, memory_order_acquire);
}

uint64_t sc_fleet_count(const sc_fleet *f, const sc_prefix *p)
{
    uint64_t n = 0;
    urcu_bp_read_lock();   /* the sum read here stays until we leave */
    /* acquire: pairs with resum's exchange, so the table is whole */
    sc_table *t = atomic_load_explicit(&((sc_fleet *)f)->sum, memory_order_acquire);
    if (sc_count(t, p, f->smtp, &n) != SC_OK) n = 0;
    urcu_bp_read_unlock();
    sc_tsan_reader_done();
    return n;
}

uint64_t sc_fleet_count_origin(const sc_fleet *f, const char *name, size_t len,
                               const sc_prefix *p)
{
    uint64_t n = 0;
    urcu_bp_read_lock();   /* as sc_fleet_count */
    for (int i = 0; i < SC_FLEET_ORIGINS; i++) {
        /* acquire: as sc_fleet_count; the name is fixed before publication */
        origin *o = atomic_load_explicit(&f->slot[i], memory_order_acquire);
        if (!o || o->namelen != len || memcmp(o->name, name, len) != 0) continue;
        /* acquire: as sc_fleet_count */
        sc_table *t = atomic_load_explicit(&o->table, memory_order_acquire);
        if (t && sc_count(t, p, f->smtp, &n) != SC_OK) n = 0;
        break;
    }
    urcu_bp_read_unlock();
    sc_tsan_reader_done();
    return n;
}

uint64_t sc_fleet_series_count(const sc_fleet *f, const char *name, size_t len,
                               const sc_prefix *p, const char *key, size_t klen, unsigned startv,
                               unsigned endv, sc_time now)
{
    uint64_t sum = 0, n;
    urcu_bp_read_lock();   /* as sc_fleet_count: nothing read here is freed until we leave */
    for (int i = 0; i < SC_FLEET_ORIGINS; i++) {
        /* acquire: as sc_fleet_count */
        origin *o = atomic_load_explicit(&f->slot[i], memory_order_acquire);
        /* acquire: pairs with the release that published each replica */
        rseries *r = o ? atomic_load_explicit(&o->series, memory_order_acquire) : NULL;
        for (; r; r = r->next) {
            if (r->len != len || memcmp(r->name, name, len) != 0) continue;
            sc_status st = p ? sc_series_count(r->s, p, startv, endv, now, &n)
                             : sc_series_count_string(r->s, key, klen, startv, endv, now, &n);
            if (st == SC_OK) sum += n;
            break;
        }
    }
    urcu_bp_read_unlock();
    sc_tsan_reader_done();
    return sum;
}

unsigned sc_fleet_origins(const sc_fleet *f, unsigned *synced)
{
    unsigned n = 0, s = 0;
    urcu_bp_read_lock();   /* an origin dropped meanwhile stays readable */
    for (int i = 0; i < SC_FLEET_ORIGINS; i++) {
        /* acquire: as sc_fleet_count */
        origin *o = atomic_load_explicit(&f->slot[i], memory_order_acquire);
        if (!o) continue;
        n++;
        /* acquire: as sc_fleet_count (only NULL or not is used) */
        s += atomic_load_explicit(&o->table, memory_order_acquire) != NULL;
    }
    urcu_bp_read_unlock();
    sc_tsan_reader_done();
    if (synced) *synced = s;
    return n;
}
