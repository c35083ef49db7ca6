/*
 * sc_fast.h: the pieces of the fast implementation and how they meet.
 * The data structure itself is described at the top of sc_fast_trie.c.
 */
#ifndef SC_FAST_H
#define SC_FAST_H

#include <stdatomic.h>

#include "sc_fast_inspect.h"
#include "sc_internal.h"

#define SC_CACHE_LINE 64
#define SC_TOP_BITS 16
#define SC_TOP_SLOTS (1u << SC_TOP_BITS)
#define SC_MAX_STRIPES 64
#define SC_HUGE_PAGE (2u << 20)

/* A slot's counter word: the count in its low SC_COUNT_BITS bits, and
 * above them a version that goes up by one each time the slot's child word
 * changes.  A count that answers with a slot's counter checks the version
 * around its read of the child (sc_trie_count): the pair of plain atomics
 * then reads as one.  2^44 - 1 sessions fit in one /16 (sc_trie_add
 * refuses more); the version wraps after 2^20 changes of one slot. */
#define SC_COUNT_BITS 44

/* Whether a node of `depth` in a trie of `alen`-byte keys is wide: its
 * children's leaves cannot be inline (sc_fast_node.h). */
static inline bool sc_wide_at(unsigned depth, unsigned alen) { return alen > depth + 8u; }
/* Whether a trie of alen-byte keys may have wide nodes at all: the
 * shallowest node has depth 1, under a series root.  Walks of shorter keys
 * (IPv4) are compiled without them. */
static inline bool sc_may_be_wide(unsigned alen) { return sc_wide_at(1, alen); }
#define SC_COUNT_MASK (((uint64_t)1 << SC_COUNT_BITS) - 1)
#define SC_VERSION_ONE ((uint64_t)1 << SC_COUNT_BITS)

static inline uint64_t sc_count_part(uint64_t v) { return v & SC_COUNT_MASK; }
static inline uint64_t sc_version_part(uint64_t v) { return v >> SC_COUNT_BITS; }

/* A counter and the subtree it counts: the unit of every node.  The child
 * word is a node pointer or an inline leaf (sc_fast_node.h). */
typedef struct sc_slot {
    _Atomic uint64_t count;
    _Atomic uintptr_t child;
} sc_slot;

/* The top of a tree, one 2 MiB huge page: the /16s' child words, read by
 * every count, apart from the lines every open and close writes: each
 * /16's counter and the lock its writers take (the shard lock).  A count
 * below /16 so reads a line no writer dirties unless the /16's first node
 * changes, and 8 child words share a line instead of 2 whole slots. */
typedef struct sc_shard {
    _Atomic uint64_t count;
    _Atomic uint32_t lock;
    uint32_t unused;
} sc_shard;

/* (sc_top16, not sc_top: that is the public ranking, sesscount.h.) */
typedef struct sc_top16 {
    _Atomic uintptr_t child[SC_TOP_SLOTS];
    sc_shard shard[SC_TOP_SLOTS];
} sc_top16;

/* Per-CPU short counters of one tree: prefixes /0, /4, /8, /12 of the
 * first 16 bits (1 + 16 + 256 + 4096 counters); /16 lives in the top. */
#define SC_SHORT_COUNTERS (1 + 16 + 256 + 4096)
typedef struct sc_short_stripe {
    _Atomic int64_t c[SC_SHORT_COUNTERS];
} __attribute__((aligned(SC_CACHE_LINE))) sc_short_stripe;

/* One (service, family): a direct-indexed top of 2^16 slots, the short
 * counters, and below each slot a path-compressed trie (sc_fast_trie.c). */
typedef struct sc_tree {
    sc_top16 *top;
    sc_short_stripe *stripes;    /* nstripes of them */
    unsigned addr_bytes;         /* 4 or 16 */
} sc_tree;

/* What one CPU writes for the whole table: its share of the byte figure,
 * and the memory it retired that still waits for a grace period, handed to
 * call_rcu in batches (one callback per batch, not one per node). */
#define SC_RETIRE_BATCH 60
#define SC_RETIRE_BYTES (16u << 10)   /* or once this much waits */
typedef struct sc_cpu_stripe {
    _Atomic int64_t bytes;
    _Atomic uint32_t lock;       /* guards pending: threads migrate between CPUs */
    uint32_t npending;
    size_t pending_bytes;
    void *pending[SC_RETIRE_BATCH];
} __attribute__((aligned(SC_CACHE_LINE))) sc_cpu_stripe;

typedef struct sc_fast_table {
    struct sc_table hdr;
    unsigned nstripes;           /* a power of two */
    _Atomic(sc_tree *) *trees;   /* [n_services * 2]: IPv4 then IPv6 */
    sc_cpu_stripe cpu[SC_MAX_STRIPES];
} sc_fast_table;

/* ---- sc_fast_stripes.c: per-CPU stripes and the memory they account */
unsigned sc_stripe_count(void);
unsigned sc_stripe_index(const sc_fast_table *t);
void sc_bytes_add(sc_fast_table *t, int64_t delta);
int64_t sc_bytes_sum(const sc_fast_table *t);
/* Zeroed memory straight from the system, huge pages asked for; sizes
 * of 2 MiB or more are 2 MiB aligned so that huge pages can back them. */
void *sc_map(sc_fast_table *t, size_t size);
void sc_unmap(sc_fast_table *t, void *p, size_t size);
/* A spin-then-yield lock word: shard locks and the retire stripes. */
void sc_spin_lock(_Atomic uint32_t *lock);
void sc_spin_unlock(_Atomic uint32_t *lock);
void sc_short_add(const sc_fast_table *t, sc_tree *tree, const uint8_t *addr, int delta);
uint64_t sc_short_count(const sc_fast_table *t, const sc_tree *tree, const uint8_t *addr,
                        unsigned len);

/* Where a trie hangs: a root slot's counter and child word (which lie
 * apart in a top) and the first address byte the slot's position leaves
 * open (2 below a /16 of the top). */
typedef struct sc_root {
    _Atomic uint64_t *count;
    _Atomic uintptr_t *child;
    unsigned from;
} sc_root;

static inline sc_root sc_top_root(sc_top16 *top, unsigned i)
{
    return (sc_root){&top->shard[i].count, &top->child[i], SC_TOP_BITS / 8};
}

/* ---- sc_fast_update.c: the trie below one root (callers hold its lock) */
/* Adds n (1 to SC_COUNT_MASK) to addr's count; SC_E_NOMEM when out of
 * memory or when the root's count would pass SC_COUNT_MASK. */
sc_status sc_trie_add(sc_fast_table *t, sc_root r, const uint8_t *addr, unsigned addr_bytes,
                      uint64_t n);
/* Takes min(k, what addr holds) (k >= 1) from addr's count, into *taken;
 * SC_E_NOT_OPEN when addr holds nothing. */
sc_status sc_trie_take(sc_fast_table *t, sc_root r, const uint8_t *addr, unsigned addr_bytes,
                       uint64_t k, uint64_t *taken);
/* Before taking the root's lock: asks for the lines an update of addr will
 * touch first, so their misses overlap the lock's.  Reads only the child
 * word and never dereferences it. */
void sc_trie_prefetch(sc_root r, const uint8_t *addr);
/* ---- sc_fast_trie.c.  Lock-free; the caller is inside an RCU read-side
 * section.  The count of the prefix (q, len), len past 8 * from, below the
 * root slot (count, child, from), in a trie of alen-byte keys. */
uint64_t sc_trie_count_narrow(const _Atomic uint64_t *count, const _Atomic uintptr_t *child,
                              unsigned from, const uint8_t *q, unsigned len);
uint64_t sc_trie_count_wide(const _Atomic uint64_t *count, const _Atomic uintptr_t *child,
                            unsigned from, const uint8_t *q, unsigned len);
static inline uint64_t sc_trie_count(const _Atomic uint64_t *count, const _Atomic uintptr_t *child,
                                     unsigned from, const uint8_t *q, unsigned len, unsigned alen)
{
    return sc_may_be_wide(alen) ? sc_trie_count_wide(count, child, from, q, len)
                     : sc_trie_count_narrow(count, child, from, q, len);
}
/* The count of (q, len), len past /16, below top slot i of tree: the
 * walk above inlined into its own read-side section, one call where the
 * section and the walk took two (sc_count of a /24: 238 instructions
 * before, callgrind).  Lock-free; the caller holds no section. */
uint64_t sc_tree_count(const sc_tree *tree, unsigned i, const uint8_t *q, unsigned len);
/* Walks of one prefix below k root child words (k at most SC_WARM_MAX), in
 * lockstep: each level asks for the next line of every walk before it reads
 * any, so the walks' misses overlap instead of queueing; the counts that
 * follow (sc_trie_count, one per root) then find their lines in the cache.
 * Reads only; the caller is inside an RCU read-side section.  A count over
 * a range of series windows costs about one walk's latency this way. */
#define SC_WARM_MAX 64
/* Two counts of one prefix (the walks below two root child words, each
 * with its slot's counter), walked in lockstep: a step of one while the
 * next line of the other is on its way, each line read once.  Their sum.
 * As sc_trie_count, inside a read-side section. */
uint64_t sc_trie_count_pair(const _Atomic uint64_t *const cnt[2],
                            const _Atomic uintptr_t *const child[2], unsigned from,
                            const uint8_t *q, unsigned len, unsigned alen);
void sc_trie_warm(const _Atomic uintptr_t *const *child, unsigned k, const uint8_t *q,
                  unsigned len);
/* The same walk, saying where the answer came from (sc_fast_inspect.h). */
uint64_t sc_trie_count_traced(const _Atomic uint64_t *count, const _Atomic uintptr_t *child,
                              unsigned from, const uint8_t *q, unsigned len, unsigned alen,
                              sc_count_trace *tr);
/* Hands memory readers may still see to RCU; frees it all at teardown. */
void sc_retire(sc_fast_table *t, void *p, size_t size);
void sc_retire_flush_all(sc_fast_table *t);
/* Frees a /16's whole subtree at once (table teardown, no readers). */
void sc_trie_destroy(sc_fast_table *t, uintptr_t child);

/* ---- sc_fast_table.c: the tree of (family, service), NULL until its
 * first session.  Lock-free (an acquire load). */
const sc_tree *sc_fast_tree(const sc_fast_table *t, int family, sc_service svc);

/* ---- sc_fast_walk.c: the walk of sc_walk_tree and sc_top (the sc_impl
 * walk operation, sc_internal.h).  Takes no lock; calls visit outside its
 * read-side sections. */
sc_status sc_fast_walk(const sc_table *tab, const sc_prefix *root, sc_service svc, unsigned cut,
                       sc_visit_fn visit, void *arg);

/* ---- sc_fast_series.c: windowed counts (the sc_impl series operations) */
sc_status sc_fast_series_new(sc_table *tab, const sc_monitor *m, sc_series **out);
void sc_fast_series_free(sc_series *s);
sc_status sc_fast_series_add(sc_series *s, const sc_addr *key, int64_t epoch, uint64_t n,
                             bool take, uint64_t *done);
void sc_fast_series_remove(sc_series *s, const sc_addr *key, sc_taken_fn taken, void *arg);
uint64_t sc_fast_series_count(const sc_series *s, const sc_prefix *p, int64_t first,
                              int64_t last);
void sc_fast_series_turn(sc_series *s, int64_t oldest);
sc_status sc_fast_series_add_str(sc_series *s, const char *key, size_t len, int64_t epoch,
                                 uint64_t n, bool take, uint64_t *done);
void sc_fast_series_remove_str(sc_series *s, const char *key, size_t len, sc_taken_fn taken,
                                void *arg);
uint64_t sc_fast_series_count_str(const sc_series *s, const char *key, size_t len,
                                  int64_t first, int64_t last);

#endif /* SC_FAST_H */
