/*
 * sc_fast_series.c: windowed counts in the fast table.
 *
 * LAYOUT
 * A series is a ring of N window pointers, one per live window, indexed by
 * epoch mod N (an epoch is floor(t / W)).  A window holds, per family (and
 * for string keys, held as their 128-bit hash), a root of 256 slots, one
 * per first key byte, and below each slot the
 * same trie that counts sessions (sc_fast_trie.c), hanging from byte 1
 * instead of byte 2 and counting events instead of sessions: a key's count
 * is its leaf's, a prefix's count its slot's, or a sum over a run of
 * children where the prefix ends inside a byte.
 *
 *     ring[e mod N] ──► window e ── root v4: slot 198 count 9 ─► trie of 198/8
 *                              │             slot 203 count 2 ─► ...
 *                              └─ root v6: (made on its first key)
 *
 * A window is made when the first event of its epoch comes, so an idle
 * monitor costs only its ring; a window of few keys costs its 6 KiB root
 * per family and the nodes its keys need.
 *
 * TURNS NEVER BLOCK.  The ring's slot for epoch e holds window e, an older
 * one, a newer one or nothing.  An add at epoch e takes window e if the
 * slot holds it; if the slot holds an older window, it makes window e and
 * swaps it in with one compare-and-swap, and the old window goes to RCU
 * whole (one call_rcu; its nodes are freed in the callback, after every
 * reader that could be walking it has left); if the CAS loses to another
 * add, that add's window is taken instead.  When the newest epoch moves on
 * (sc_series.c), windows that left the ring are unlinked and retired the
 * same way.  Nobody waits: a count that began on the old window reads it as
 * it was; an add that raced the turn lands in a window that is leaving
 * (it is as if it came just after).
 *
 * CONCURRENCY.  Counts read inside an RCU read-side section and take no
 * lock, as session counts do.  Adds take the window's first-byte slot lock
 * (adds of different /8s never contend) and hold a read-side section too,
 * which keeps their window alive; nodes they replace are retired as in
 * sessions.  A count over a range of windows walks each window's trie from
 * its root slot, the walks in lockstep (sc_trie_warm asks for every walk's
 * next line before it reads any), so that their misses overlap: about one
 * walk's latency for the whole range.
 */
#include <stdlib.h>
#include "sc_rcu.h"

#include "sc_fast_node.h"
#include "sc_tsan.h"

#define ROOT_SLOTS 256

/* One family's roots in one window: a slot per first address byte. */
typedef struct sc_wroot {
    _Atomic uintptr_t child[ROOT_SLOTS];
    sc_shard shard[ROOT_SLOTS];   /* the slot's count and its lock */
} sc_wroot;

typedef struct sc_window {
    struct rcu_head rcu;
    sc_fast_table *t;
    int64_t epoch;
    _Atomic(sc_wroot *) root[3];  /* IPv4, IPv6, string keys (by hash) */
} sc_window;

typedef struct fast_series {
    struct sc_series hdr;         /* first: filled in by sc_series.c */
    sc_fast_table *t;
    uint32_t n;                   /* windows in the ring */
    _Atomic(sc_window *) ring[];
} fast_series;

static fast_series *as_fs(const sc_series *s) { return (fast_series *)(uintptr_t)s; }

static unsigned slot_of(const fast_series *s, int64_t epoch)
{
    int64_t m = epoch % (int64_t)s->n;
    return (unsigned)(m < 0 ? m + s->n : m);
}

static sc_root root_slot(sc_wroot *r, unsigned i)
{
    return (sc_root){&r->shard[i].count, &r->child[i], 1};
}

/* ---------------------------------------------------------------- windows */

static sc_window *window_new(sc_fast_table *t, int64_t epoch)
{
    sc_window *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    w->t = t;
    w->epoch = epoch;
    sc_bytes_add(t, (int64_t)sizeof *w);
    return w;
}

/* Frees a window and its tries at once: no reader can see it any more. */
static void window_free_now(sc_window *w)
{
    sc_fast_table *t = w->t;
    for (int f = 0; f < 3; f++) {
        /* relaxed: no other thread uses the window now. */
        sc_wroot *r = atomic_load_explicit(&w->root[f], memory_order_relaxed);
        if (!r) continue;
        for (unsigned i = 0; i < ROOT_SLOTS; i++)
            sc_subtree_release(t, atomic_load_explicit(&r->child[i], memory_order_relaxed), true);
        free(r);
        sc_bytes_add(t, -(int64_t)sizeof *r);
    }
    free(w);
    sc_bytes_add(t, -(int64_t)sizeof *w);
}

static void window_free_rcu(struct rcu_head *head)
{
    sc_window *w = caa_container_of(head, sc_window, rcu);
    sc_tsan_reclaim(w);   /* first: every read of w below comes after its retirement */
    sc_fast_table *t = w->t;
    window_free_now(w);
    sc_tsan_retire(t);   /* done with the table: its teardown's barrier waits for us */
}

/* A window unlinked from its ring: freed once readers and adders moved on. */
static void window_retire(sc_window *w)
{
    sc_tsan_retire(w);
    urcu_bp_call_rcu(&w->rcu, window_free_rcu);
}

/* The window of `epoch` for an add: made and swapped in if its slot holds
 * an older one or none; NULL when the slot holds a newer one (the add is
 * too old) or, with *st = SC_E_NOMEM, when out of memory.  The caller is in
 * a read-side section. */
static sc_window *window_for_add(fast_series *s, int64_t epoch, sc_status *st)
{
    _Atomic(sc_window *) *at = &s->ring[slot_of(s, epoch)];
    /* acquire: pairs with the CAS that published the window. */
    sc_window *w = atomic_load_explicit(at, memory_order_acquire);
    sc_window *fresh = NULL;
    for (;;) {
        if (w && w->epoch == epoch) break;
        if (w && w->epoch > epoch) {
            w = NULL;
            break;
        }
        if (!fresh && !(fresh = window_new(s->t, epoch))) {
            *st = SC_E_NOMEM;
            return NULL;
        }
        /* acq_rel: release publishes our window; acquire (on failure)
         * makes the winner's readable, which the loop then looks at. */
        if (atomic_compare_exchange_strong_explicit(at, &w, fresh, memory_order_acq_rel,
                                                    memory_order_acquire)) {
            if (w) window_retire(w);
            return fresh;
        }
    }
    if (fresh) window_free_now(fresh);
    return w;
}

/* The window of `epoch` if the ring holds it, else NULL. */
static sc_window *window_get(const fast_series *s, int64_t epoch)
{
    /* acquire: pairs with the CAS that published the window; its epoch and
     * roots are read after it. */
    sc_window *w = atomic_load_explicit(&s->ring[slot_of(s, epoch)], memory_order_acquire);
    return w && w->epoch == epoch ? w : NULL;
}

/* Roots by kind of key: IPv4, IPv6, string (its 16-byte hash). */
enum { ROOT_V4, ROOT_V6, ROOT_STR };

static int root_of_family(int family) { return family == SC_INET6 ? ROOT_V6 : ROOT_V4; }

static sc_wroot *root_get(const sc_window *w, int f)
{
    /* acquire: pairs with root_for's CAS. */
    return atomic_load_explicit(&w->root[f], memory_order_acquire);
}

/* The window's root for keys of kind f, made on first use. */
static sc_wroot *root_for(sc_window *w, int f)
{
    _Atomic(sc_wroot *) *at = &w->root[f];
    sc_wroot *r = root_get(w, f);
    if (r) return r;
    sc_wroot *fresh = calloc(1, sizeof *fresh);
    if (!fresh) return NULL;
    /* acq_rel: release publishes the zeroed root; acquire sees the winner's. */
    if (atomic_compare_exchange_strong_explicit(at, &r, fresh, memory_order_acq_rel,
                                                memory_order_acquire)) {
        sc_bytes_add(w->t, (int64_t)sizeof *fresh);
        return fresh;
    }
    free(fresh);
    return r;
}

/* ---------------------------------------------------------------- operations */

sc_status sc_fast_series_new(sc_table *tab, const sc_monitor *m, sc_series **out)
{
    size_t size = sizeof(fast_series) + m->windows * sizeof(_Atomic(sc_window *));
    fast_series *s = calloc(1, size);
    if (!s) return SC_E_NOMEM;
    s->t = (sc_fast_table *)(uintptr_t)tab;
    s->n = m->windows;
    sc_bytes_add(s->t, (int64_t)size);
    *out = &s->hdr;
    return SC_OK;
}

void sc_fast_series_free(sc_series *hdr)
{
    fast_series *s = as_fs(hdr);
    for (uint32_t i = 0; i < s->n; i++) {
        /* relaxed: no other thread uses the series now. */
        sc_window *w = atomic_load_explicit(&s->ring[i], memory_order_relaxed);
        if (w) window_free_now(w);
    }
    sc_bytes_add(s->t, -(int64_t)(sizeof *s + s->n * sizeof s->ring[0]));
    free(s);
}

/* A key as the tries hold it: which root, and its bytes. */
typedef struct wkey {
    int root;
    unsigned len;            /* 4 or 16 */
    uint8_t bytes[16];
} wkey;

static wkey addr_key(const sc_addr *a)
{
    wkey k = {root_of_family(a->family), sc_family_bytes(a->family), {0}};
    memcpy(k.bytes, a->bytes, 16);
    return k;
}

/* A string key is its 128-bit SipHash under the table's key (sesscount.h). */
static wkey string_key(const fast_series *s, const char *key, size_t len)
{
    wkey k = {ROOT_STR, 16, {0}};
    sc_siphash(s->hdr.table->hash_key, key, len, k.bytes, 16);
    return k;
}

/* Adds or takes under the key's first-byte lock in window w. */
static sc_status add_in(fast_series *s, sc_window *w, const wkey *key, uint64_t n, bool take,
                        uint64_t *done)
{
    *done = 0;
    sc_wroot *r = take ? root_get(w, key->root) : root_for(w, key->root);
    if (!r) return take ? SC_OK : SC_E_NOMEM;   /* a take from nothing takes nothing */
    unsigned i = key->bytes[0];
    sc_root root = root_slot(r, i);
    uint64_t taken = 0;
    sc_spin_lock(&r->shard[i].lock);
    sc_status st;
    if (take) {
        st = sc_trie_take(s->t, root, key->bytes, key->len, n, &taken);
        if (st == SC_E_NOT_OPEN) st = SC_OK;   /* nothing held: nothing to take */
        if (st == SC_OK) *done = taken;
    } else if (sc_counter(root.count) > SC_SERIES_COUNT_MAX - n) {
        st = SC_E_RANGE;
    } else {
        st = sc_trie_add(s->t, root, key->bytes, key->len, n);
        if (st == SC_OK) *done = n;
    }
    sc_spin_unlock(&r->shard[i].lock);
    return st;
}

static sc_status add_key(fast_series *s, const wkey *key, int64_t epoch, uint64_t n, bool take,
                         uint64_t *done)
{
    sc_status st = SC_OK;
    *done = 0;
    urcu_bp_read_lock();
    sc_window *w = take ? window_get(s, epoch) : window_for_add(s, epoch, &st);
    if (w) st = add_in(s, w, key, n, take, done);
    sc_tsan_reader_done();
    urcu_bp_read_unlock();
    return st;
}

static void remove_key(fast_series *s, const wkey *key, sc_taken_fn taken, void *arg)
{
    urcu_bp_read_lock();
    for (uint32_t k = 0; k < s->n; k++) {
        /* acquire: as in window_for_add. */
        sc_window *w = atomic_load_explicit(&s->ring[k], memory_order_acquire);
        uint64_t n;
        if (w && add_in(s, w, key, SC_COUNT_MASK, true, &n) == SC_OK && n && taken)
            taken(arg, w->epoch, n);   /* takes all it holds */
    }
    sc_tsan_reader_done();
    urcu_bp_read_unlock();
}

sc_status sc_fast_series_add(sc_series *hdr, const sc_addr *key, int64_t epoch, uint64_t n,
                             bool take, uint64_t *done)
{
    wkey k = addr_key(key);
    return add_key(as_fs(hdr), &k, epoch, n, take, done);
}

void sc_fast_series_remove(sc_series *hdr, const sc_addr *key, sc_taken_fn taken, void *arg)
{
    wkey k = addr_key(key);
    remove_key(as_fs(hdr), &k, taken, arg);
}

sc_status sc_fast_series_add_str(sc_series *hdr, const char *key, size_t len, int64_t epoch,
                                 uint64_t n, bool take, uint64_t *done)
{
    wkey k = string_key(as_fs(hdr), key, len);
    return add_key(as_fs(hdr), &k, epoch, n, take, done);
}

void sc_fast_series_remove_str(sc_series *hdr, const char *key, size_t len, sc_taken_fn taken,
                               void *arg)
{
    wkey k = string_key(as_fs(hdr), key, len);
    remove_key(as_fs(hdr), &k, taken, arg);
}

/* The count of (q, len) in one window's root for keys of kind f. */
static uint64_t root_count(const sc_wroot *r, int f, const uint8_t *q, unsigned len)
{
    unsigned i = q[0];
    if (len > 8)
        return sc_trie_count(&r->shard[i].count, &r->child[i], 1, q, len, f == ROOT_V4 ? 4 : 16);
    unsigned span = 1u << (8 - len), first = i & ~(span - 1);
    uint64_t sum = 0;
    for (unsigned k = first; k < first + span; k++) sum += sc_counter(&r->shard[k].count);
    return sum;
}

/* The sum over windows first..last of (q, len) in roots of kind f.  With
 * several windows, their roots are found first (independent loads), then
 * their walks warmed in lockstep (sc_trie_warm), then counted: the misses
 * of the windows overlap, instead of one walk after another. */
static uint64_t count_in(const fast_series *s, int f, const uint8_t *q, unsigned len,
                         int64_t first, int64_t last)
{
    const sc_wroot *roots[SC_WARM_MAX];
    const _Atomic uintptr_t *child[SC_WARM_MAX];
    uint64_t sum = 0;
    urcu_bp_read_lock();
    for (int64_t e = first; e <= last;) {
        unsigned k = 0;
        for (; e <= last && k < SC_WARM_MAX; e++) {
            const sc_window *w = window_get(s, e);
            const sc_wroot *r = w ? root_get(w, f) : NULL;
            if (r) roots[k++] = r;
        }
        if (k > 1 && len > 8) {
            for (unsigned i = 0; i < k; i++) child[i] = &roots[i]->child[q[0]];
            sc_trie_warm(child, k, q, len);
        }
        for (unsigned i = 0; i < k; i++) sum += root_count(roots[i], f, q, len);
    }
    sc_tsan_reader_done();
    urcu_bp_read_unlock();
    return sum;
}

uint64_t sc_fast_series_count(const sc_series *hdr, const sc_prefix *p, int64_t first,
                              int64_t last)
{
    return count_in(as_fs(hdr), root_of_family(p->addr.family), p->addr.bytes, p->len, first,
                    last);
}

uint64_t sc_fast_series_count_str(const sc_series *hdr, const char *key, size_t len,
                                  int64_t first, int64_t last)
{
    wkey k = string_key(as_fs(hdr), key, len);
    return count_in(as_fs(hdr), ROOT_STR, k.bytes, 128, first, last);
}

void sc_fast_series_turn(sc_series *hdr, int64_t oldest)
{
    fast_series *s = as_fs(hdr);
    urcu_bp_read_lock();   /* the windows read here stay put until we unlink them */
    for (uint32_t k = 0; k < s->n; k++) {
        /* acquire: as in window_for_add. */
        sc_window *w = atomic_load_explicit(&s->ring[k], memory_order_acquire);
        /* acq_rel: only the thread whose CAS unlinks a window retires it. */
        if (w && w->epoch < oldest &&
            atomic_compare_exchange_strong_explicit(&s->ring[k], &w, NULL, memory_order_acq_rel,
                                                    memory_order_relaxed))
            window_retire(w);
    }
    sc_tsan_reader_done();
    urcu_bp_read_unlock();
}
