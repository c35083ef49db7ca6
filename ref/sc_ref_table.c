/*
 * sc_ref_table.c: the reference table, the oracle every differential test
 * trusts.  It is deliberately naive so that it can be checked by eye: an
 * array of the open sessions, appended on open, searched on close, scanned
 * in full on count, and every operation under one mutex (so tests may call
 * it from many threads).  sc_table.c has validated every argument before an
 * operation gets here: addresses are unmapped, IPv4 bytes past the fourth
 * are zero, prefixes are clean and services are in range.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "sc_internal.h"
#include "sc_ref.h"

typedef struct ref_session {
    sc_addr addr;
    sc_service svc;
} ref_session;

typedef struct ref_table {
    struct sc_table hdr;      /* first: filled in by sc_table.c */
    _Atomic int64_t series_bytes;   /* what its series hold (sc_ref_series.c) */
    pthread_mutex_t lock;     /* guards everything below */
    ref_session *v;
    size_t n, cap;
} ref_table;

enum { MIN_CAP = 16 };

/* The table lives in malloc'd memory, so taking the lock through a pointer
 * the API hands us as const is well defined. */
static ref_table *as_ref(const sc_table *tab) { return (ref_table *)(uintptr_t)tab; }

static sc_status ref_new(size_t n_services, sc_table **out)
{
    (void)n_services; /* sc_table.c keeps services in range */
    ref_table *t = calloc(1, sizeof *t);
    if (!t) return SC_E_NOMEM;
    if (pthread_mutex_init(&t->lock, NULL) != 0) {
        free(t);
        return SC_E_NOMEM;
    }
    *out = &t->hdr;
    return SC_OK;
}

static void ref_free(sc_table *tab)
{
    ref_table *t = as_ref(tab);
    pthread_mutex_destroy(&t->lock);
    free(t->v);
    free(t);
}

static bool same_session(const ref_session *s, const sc_addr *addr, sc_service svc)
{
    return s->svc == svc && s->addr.family == addr->family &&
           memcmp(s->addr.bytes, addr->bytes, sizeof addr->bytes) == 0;
}

/* Resizes the array to cap entries; false (nothing changed) when out of memory. */
static bool resize(ref_table *t, size_t cap)
{
    ref_session *v = realloc(t->v, cap * sizeof *v);
    if (!v) return false;
    t->v = v;
    t->cap = cap;
    return true;
}

static sc_status ref_open(sc_table *tab, const sc_addr *addr, sc_service svc)
{
    ref_table *t = as_ref(tab);
    sc_status st = SC_OK;
    pthread_mutex_lock(&t->lock);
    if (t->n == t->cap && !resize(t, t->cap ? t->cap * 2 : MIN_CAP))
        st = SC_E_NOMEM;
    else
        t->v[t->n++] = (ref_session){.addr = *addr, .svc = svc};
    pthread_mutex_unlock(&t->lock);
    return st;
}

static sc_status ref_close(sc_table *tab, const sc_addr *addr, sc_service svc)
{
    ref_table *t = as_ref(tab);
    sc_status st = SC_E_NOT_OPEN;
    pthread_mutex_lock(&t->lock);
    for (size_t i = 0; i < t->n; i++) {
        if (!same_session(&t->v[i], addr, svc)) continue;
        t->v[i] = t->v[--t->n]; /* order does not matter: swap in the last */
        /* Give memory back as sessions close, so the table returns close to
         * its empty footprint; a failed shrink keeps the larger array. */
        if (t->cap > MIN_CAP && t->n <= t->cap / 4) resize(t, t->cap / 2);
        st = SC_OK;
        break;
    }
    pthread_mutex_unlock(&t->lock);
    return st;
}

static bool in_prefix(const sc_addr *a, const sc_prefix *p)
{
    return a->family == p->addr.family && sc_bits_equal(a->bytes, p->addr.bytes, p->len);
}

static uint64_t ref_count(const sc_table *tab, const sc_prefix *prefix, sc_service svc)
{
    ref_table *t = as_ref(tab);
    uint64_t n = 0;
    pthread_mutex_lock(&t->lock);
    for (size_t i = 0; i < t->n; i++)
        n += t->v[i].svc == svc && in_prefix(&t->v[i].addr, prefix);
    pthread_mutex_unlock(&t->lock);
    return n;
}

/* ---------------------------------------------------------------- walks
 * Under the lock, the sessions under root are copied out; the lock is then
 * released (visit may call back into the table), the copy sorted by
 * address, and each address's sessions tallied.  The walk's prefixes are
 * then read off the sorted tallies: a run of two or more addresses has
 * its longest common prefix as a branching point (the first and the last
 * differ at its next bit), and splits there into the addresses with that
 * bit clear and those with it set. */

typedef struct ref_tally {
    uint8_t a[16];
    uint64_t n;
} ref_tally;

typedef struct ref_walk_ctx {
    const ref_tally *v;
    const sc_prefix *root;
    unsigned cut, bits;       /* bits: 32 or 128 */
    sc_visit_fn visit;
    void *arg;
} ref_walk_ctx;

static int by_address(const void *x, const void *y)
{
    return memcmp(((const ref_tally *)x)->a, ((const ref_tally *)y)->a, 16);
}

static bool bit_at(const uint8_t *a, unsigned i) { return (a[i / 8] >> (7 - i % 8)) & 1; }

/* The number of leading bits a and b share (bits when equal). */
static unsigned common_bits(const uint8_t *a, const uint8_t *b, unsigned bits)
{
    unsigned i = 0;
    while (i < bits && bit_at(a, i) == bit_at(b, i)) i++;
    return i;
}

/* Hands (the first len bits of a, n) to visit; non-zero: stop. */
static int ref_hand(const ref_walk_ctx *c, const uint8_t *a, unsigned len, uint64_t n)
{
    sc_branch b = {.prefix = {.addr = {.family = c->root->addr.family}, .len = (uint8_t)len},
                   .count = n};
    for (unsigned i = 0; i < len; i++)
        if (bit_at(a, i)) b.prefix.addr.bytes[i / 8] |= (uint8_t)(0x80u >> (i % 8));
    return c->visit(c->arg, &b);
}

/* The prefixes of the tallies [lo, hi) (sorted, distinct): the longest
 * prefix they all share (the address itself when there is one), then
 * those of each side of its next bit. */
static int ref_gen(const ref_walk_ctx *c, size_t lo, size_t hi)
{
    const uint8_t *first = c->v[lo].a, *last = c->v[hi - 1].a;
    unsigned len = common_bits(first, last, c->bits);
    uint64_t n = 0;
    for (size_t i = lo; i < hi; i++) n += c->v[i].n;
    /* The root was handed over first; the topmost prefix may be it. */
    if (len != c->root->len && ref_hand(c, first, len, n)) return 1;
    if (hi - lo == 1 || len >= c->cut) return 0;
    size_t mid = lo;
    while (!bit_at(c->v[mid].a, len)) mid++;   /* last has the bit set */
    return ref_gen(c, lo, mid) || ref_gen(c, mid, hi);
}

static sc_status ref_walk(const sc_table *tab, const sc_prefix *root, sc_service svc,
                          unsigned cut, sc_visit_fn visit, void *arg)
{
    ref_table *t = as_ref(tab);
    pthread_mutex_lock(&t->lock);
    size_t k = 0;
    for (size_t i = 0; i < t->n; i++) k += t->v[i].svc == svc && in_prefix(&t->v[i].addr, root);
    ref_tally *v = malloc((k ? k : 1) * sizeof *v);
    if (v) {
        size_t j = 0;
        for (size_t i = 0; i < t->n; i++)
            if (t->v[i].svc == svc && in_prefix(&t->v[i].addr, root)) {
                memcpy(v[j].a, t->v[i].addr.bytes, 16);
                v[j++].n = 1;
            }
    }
    pthread_mutex_unlock(&t->lock);
    if (!v) return SC_E_NOMEM;
    qsort(v, k, sizeof *v, by_address);
    size_t m = 0;   /* distinct addresses, each with its tally */
    for (size_t i = 0; i < k; i++) {
        if (m > 0 && memcmp(v[m - 1].a, v[i].a, 16) == 0) v[m - 1].n++;
        else v[m++] = v[i];
    }
    ref_walk_ctx c = {.v = v, .root = root, .cut = cut, .visit = visit, .arg = arg,
                      .bits = root->addr.family == SC_INET4 ? 32u : 128u};
    if (k > 0 && ref_hand(&c, root->addr.bytes, root->len, k) == 0 && root->len < cut)
        ref_gen(&c, 0, m);
    free(v);
    return SC_OK;
}

static size_t ref_bytes(const sc_table *tab)
{
    ref_table *t = as_ref(tab);
    pthread_mutex_lock(&t->lock);
    size_t b = sizeof *t + t->cap * sizeof *t->v;
    pthread_mutex_unlock(&t->lock);
    return b + (size_t)atomic_load(&t->series_bytes);
}

void sc_ref_series_bytes(sc_table *tab, int64_t delta)
{
    atomic_fetch_add(&as_ref(tab)->series_bytes, delta);
}

/* Nothing waits for a grace period in ref. */
static void ref_reclaim(const sc_table *tab) { (void)tab; }

static const sc_impl ref_impl = {
    .name = "ref",
    .table_new = ref_new,
    .table_free = ref_free,
    .open = ref_open,
    .close = ref_close,
    .count = ref_count,
    .bytes = ref_bytes,
    .parse_cidr = sc_ref_parse_cidr,
    .series_new = sc_ref_series_new,
    .series_free = sc_ref_series_free,
    .series_add = sc_ref_series_add,
    .series_remove = sc_ref_series_remove,
    .series_count = sc_ref_series_count,
    .series_turn = sc_ref_series_turn,
    .series_add_str = sc_ref_series_add_str,
    .series_remove_str = sc_ref_series_remove_str,
    .series_count_str = sc_ref_series_count_str,
    .reclaim = ref_reclaim,
    .walk = ref_walk,
};

const sc_impl *sc_impl_ref(void) { return &ref_impl; }
