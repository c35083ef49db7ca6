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
#include <urcu/urcu-bp.h>

#include "../fast/sc_tsan.h"   /* RCU's order, told to TSan (fast's readers release it) */
#include "sc_internal.h"
#include "sc_replica.h"

typedef struct origin {
    char name[SC_FLEET_NAME_MAX];
    size_t namelen;
    uint64_t incarnation, seq;   /* the applier's own */
    bool synced;                 /* holds a full state and the deltas after it */
    _Atomic(sc_table *) table;   /* NULL: nothing counted for it */
} origin;

struct sc_fleet {
    _Atomic(origin *) slot[SC_FLEET_ORIGINS];
    sc_service smtp;             /* the same id in every replica table */
};

static const char *const names[SC_APPLY_RESULTS] = {
    "applied", "duplicate", "gap: dropped until a full state", "delta before a full state",
    "inconsistent: dropped until a full state", "no free origin slot", "out of memory: dropped",
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
    sc_table_free(probe);
    if (st != SC_OK) {
        free(f);
        return st;
    }
    *out = f;
    return SC_OK;
}

/* Puts t in o's place and frees what was there once no reader sees it. */
static void swap_table(origin *o, sc_table *t)
{
    /* release: a reader that loads t sees it fully built */
    sc_table *old = atomic_exchange_explicit(&o->table, t, memory_order_acq_rel);
    if (old) {
        urcu_bp_synchronize_rcu();
        sc_tsan_reclaim(old);   /* after every reader that could see it */
        sc_table_free(old);
    }
}

void sc_fleet_free(sc_fleet *f)
{
    if (!f) return;
    for (int i = 0; i < SC_FLEET_ORIGINS; i++) {
        /* relaxed: no reader may run during sc_fleet_free */
        origin *o = atomic_load_explicit(&f->slot[i], memory_order_relaxed);
        if (!o) continue;
        sc_table_free(atomic_load_explicit(&o->table, memory_order_relaxed));
        free(o);
    }
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

/* Opens (count > 0) or closes (< 0) count sessions of r in t. */
static sc_status apply_record(sc_fleet *f, sc_table *t, const sc_wire_record *r)
{
    int32_t n = r->count > 0 ? r->count : -r->count;
    for (int32_t i = 0; i < n; i++) {
        sc_status st = r->count > 0 ? sc_open(t, &r->addr, f->smtp) : sc_close(t, &r->addr, f->smtp);
        if (st != SC_OK) return st;
    }
    return SC_OK;
}

static void drop_view(origin *o)
{
    o->synced = false;
    swap_table(o, NULL);
}

static sc_apply apply_full(sc_fleet *f, origin *o, const sc_wire_batch *b)
{
    sc_table *t;
    sc_wire_record r;
    size_t pos = 0;
    if (o->synced && (b->incarnation < o->incarnation ||
                      (b->incarnation == o->incarnation && b->seq < o->seq)))
        return SC_APPLY_DUPLICATE;   /* older than the state held */
    if (sc_table_new(sc_impl_fast(), NULL, &t) != SC_OK) {
        drop_view(o);
        return SC_APPLY_NOMEM;
    }
    while (sc_wire_next(b, &pos, &r)) {
        if (apply_record(f, t, &r) != SC_OK) {   /* only opens: memory */
            sc_table_free(t);
            drop_view(o);
            return SC_APPLY_NOMEM;
        }
    }
    o->incarnation = b->incarnation;
    o->seq = b->seq;
    o->synced = true;
    swap_table(o, t);
    return SC_APPLY_OK;
}

static sc_apply apply_delta(sc_fleet *f, origin *o, const sc_wire_batch *b)
{
    sc_wire_record r;
    size_t pos = 0;
    if (!o->synced) return SC_APPLY_UNSYNCED;
    if (b->incarnation < o->incarnation ||
        (b->incarnation == o->incarnation && b->seq <= o->seq))
        return SC_APPLY_DUPLICATE;   /* from before a restart, or already applied */
    if (b->incarnation > o->incarnation || b->seq > o->seq + 1) {
        drop_view(o);   /* a restart or a lost batch: wait for a full state */
        return SC_APPLY_GAP;
    }
    /* acquire: pairs with swap_table's exchange (this thread's own write) */
    sc_table *t = atomic_load_explicit(&o->table, memory_order_acquire);
    while (sc_wire_next(b, &pos, &r)) {
        sc_status st = apply_record(f, t, &r);
        if (st != SC_OK) {
            drop_view(o);
            return st == SC_E_NOMEM ? SC_APPLY_NOMEM : SC_APPLY_INCONSISTENT;
        }
    }
    o->seq = b->seq;
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
    for (int i = 0; i < SC_FLEET_ORIGINS; i++)
        /* relaxed: the applier's own slots */
        if (atomic_load_explicit(&f->slot[i], memory_order_relaxed) == o)
            atomic_store_explicit(&f->slot[i], NULL, memory_order_release);
    urcu_bp_synchronize_rcu();   /* no reader still holds o or its table */
    sc_tsan_reclaim(o);
    sc_table_free(atomic_load_explicit(&o->table, memory_order_relaxed));
    free(o);
}

uint64_t sc_fleet_count(const sc_fleet *f, const sc_prefix *p)
{
    uint64_t sum = 0, n;
    urcu_bp_read_lock();   /* origins and tables read here stay until we leave */
    for (int i = 0; i < SC_FLEET_ORIGINS; i++) {
        /* acquire: pairs with the release that published the origin */
        origin *o = atomic_load_explicit(&f->slot[i], memory_order_acquire);
        if (!o) continue;
        /* acquire: pairs with swap_table's exchange, so the table is whole */
        sc_table *t = atomic_load_explicit(&o->table, memory_order_acquire);
        if (t && sc_count(t, p, f->smtp, &n) == SC_OK) sum += n;
    }
    urcu_bp_read_unlock();
    sc_tsan_reader_done();
    return sum;
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
