/*
 * sc_fast_table.c: the fast implementation's table: a tree per (service,
 * family), made on first use, and the shard locks.
 *
 * A shard is one /16 of one tree.  Opens and closes of a shard take its lock,
 * a word beside the /16's counter in the top (there is no global lock);
 * counts take none.  Every open and close writes that counter anyway, so two
 * threads in one /16 contend on that line whatever the locking; the lock on
 * the same line costs no further miss, and a shared (reader-writer) lock for
 * updates on existing paths would add an RMW on that line and buy nothing.
 * The /16's child word, which counts read, lies on another line (sc_fast.h).
 * It spins briefly, then yields: critical sections are a walk of at most 15
 * nodes and one allocation.
 * Trees are published with a compare-and-swap, so two threads opening the
 * first sessions of a service at once both end up in the same tree.
 *
 * Reclamation uses liburcu's bp ("bulletproof") flavor: its readers need no
 * registration, so a host may count from any thread it owns, threads the
 * library never hears of (it registers a thread on its first section).  memb
 * would need every host thread registered, qsbr every thread to report
 * quiescent states, and mb costs ~56 ns a section.  The read side is
 * inlined except in sanitizer builds (common/sc_rcu.h says why).
 */
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include "sc_rcu.h"

#include "sc_fast.h"
#include "sc_tsan.h"

/* The top's mapping: whole huge pages. */
static size_t top_bytes(void)
{
    return (sizeof(sc_top16) + SC_HUGE_PAGE - 1) / SC_HUGE_PAGE * SC_HUGE_PAGE;
}
static size_t stripes_bytes(const sc_fast_table *t)
{
    return t->nstripes * sizeof(sc_short_stripe);
}

static sc_fast_table *fast_of(const sc_table *tab)
{
    return (sc_fast_table *)(uintptr_t)tab;
}

static sc_status fast_table_new(size_t n_services, sc_table **out)
{
    sc_fast_table *t = aligned_alloc(SC_CACHE_LINE, sizeof *t);
    if (!t) return SC_E_NOMEM;
    memset(t, 0, sizeof *t);
    t->nstripes = sc_stripe_count();
    t->trees = calloc(n_services * 2, sizeof *t->trees);
    if (!t->trees) {
        free(t);
        return SC_E_NOMEM;
    }
    sc_bytes_add(t, (int64_t)(sizeof *t + n_services * 2 * sizeof *t->trees));
    *out = &t->hdr;
    return SC_OK;
}

/* Teardown loads are relaxed: sc_table_free's contract is that no other
 * thread uses the table any more. */
static void tree_free(sc_fast_table *t, sc_tree *tree)
{
    for (unsigned i = 0; i < SC_TOP_SLOTS; i++)
        sc_trie_destroy(t, atomic_load_explicit(&tree->top->child[i], memory_order_relaxed));
    sc_unmap(t, tree->top, top_bytes());
    sc_unmap(t, tree->stripes, stripes_bytes(t));
    free(tree);
}

static void fast_table_free(sc_table *tab)
{
    sc_fast_table *t = fast_of(tab);
    /* Let every node and series window retired by this table finish its
     * grace period (window callbacks touch t: sc_fast_series.c). */
    sc_retire_flush_all(t);
    sc_tsan_reclaim(t);
    for (size_t i = 0; i < tab->n_services * 2; i++) {
        sc_tree *tree = atomic_load_explicit(&t->trees[i], memory_order_relaxed);
        if (tree) tree_free(t, tree);
    }
    free(t->trees);
    free(t);
}

static _Atomic(sc_tree *) *tree_ref(const sc_fast_table *t, int family, sc_service svc)
{
    return &t->trees[svc * 2u + (family == SC_INET6)];
}

static sc_tree *tree_get(const sc_fast_table *t, int family, sc_service svc)
{
    /* acquire: pairs with tree_make()'s CAS so the tree's arrays are seen. */
    return atomic_load_explicit(tree_ref(t, family, svc), memory_order_acquire);
}

const sc_tree *sc_fast_tree(const sc_fast_table *t, int family, sc_service svc)
{
    return tree_get(t, family, svc);
}

static sc_tree *tree_make(sc_fast_table *t, int family, sc_service svc)
{
    sc_tree *tree = tree_get(t, family, svc);
    if (tree) return tree;
    tree = calloc(1, sizeof *tree);
    if (!tree) return NULL;
    tree->addr_bytes = sc_family_bytes(family);
    tree->top = sc_map(t, top_bytes());
    tree->stripes = sc_map(t, stripes_bytes(t));
    sc_tree *seen = NULL;
    /* acq_rel: release publishes the tree; acquire (on failure) sees the
     * winner's tree, which we return instead of ours. */
    if (tree->top && tree->stripes &&
        atomic_compare_exchange_strong_explicit(tree_ref(t, family, svc), &seen, tree,
                                                memory_order_acq_rel, memory_order_acquire))
        return tree;
    sc_unmap(t, tree->top, top_bytes());
    sc_unmap(t, tree->stripes, stripes_bytes(t));
    free(tree);
    return seen;
}

static unsigned top_index(const uint8_t *addr)
{
    return (unsigned)addr[0] << 8 | addr[1];
}

static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

void sc_spin_lock(_Atomic uint32_t *lock)
{
    for (unsigned spins = 0;; spins++) {
        uint32_t free_word = 0;
        /* acquire: pairs with sc_spin_unlock's release, so the last holder's
         * writes under the lock are seen; the relaxed peek keeps waiters
         * from bouncing the line with failed RMWs. */
        if (atomic_load_explicit(lock, memory_order_relaxed) == 0 &&
            atomic_compare_exchange_weak_explicit(lock, &free_word, 1, memory_order_acquire,
                                                  memory_order_relaxed))
            return;
        if (spins < 100) cpu_relax();
        else sched_yield();   /* the holder may be preempted */
    }
}

void sc_spin_unlock(_Atomic uint32_t *lock)
{
    /* release: writes under the lock happen before the next holder's. */
    atomic_store_explicit(lock, 0, memory_order_release);
}

/* One session more (delta +1) or less (-1) at addr, under its /16's lock. */
static sc_status update(sc_fast_table *t, sc_tree *tree, const uint8_t *addr, int delta)
{
    unsigned i = top_index(addr);
    sc_root r = sc_top_root(tree->top, i);
    _Atomic uint32_t *lock = &tree->top->shard[i].lock;
    uint64_t taken;
    sc_trie_prefetch(r, addr);
    sc_spin_lock(lock);
#ifdef SC_PLANT_BAD_CLOSE_DIP
    /* PLANTED BUG (tests only): a close takes its one off the short
     * counters before it knows the session is open, and gives it back
     * after: a bad close changes counts for a moment. */
    if (delta < 0) sc_short_add(t, tree, addr, delta);
#endif
    sc_status st = delta > 0 ? sc_trie_add(t, r, addr, tree->addr_bytes, 1)
                             : sc_trie_take(t, r, addr, tree->addr_bytes, 1, &taken);
#ifdef SC_PLANT_BAD_CLOSE_DIP
    if (delta < 0 && st != SC_OK) sc_short_add(t, tree, addr, -delta);
    if (delta < 0) delta = 0;   /* already taken */
#endif
    if (st == SC_OK) sc_short_add(t, tree, addr, delta);
    sc_spin_unlock(lock);
    return st;
}

static sc_status fast_open(sc_table *tab, const sc_addr *addr, sc_service svc)
{
    sc_fast_table *t = fast_of(tab);
    sc_tree *tree = tree_make(t, addr->family, svc);
    if (!tree) return SC_E_NOMEM;
    return update(t, tree, addr->bytes, +1);
}

static sc_status fast_close(sc_table *tab, const sc_addr *addr, sc_service svc)
{
    sc_fast_table *t = fast_of(tab);
    sc_tree *tree = tree_get(t, addr->family, svc);
    if (!tree) return SC_E_NOT_OPEN;
    return update(t, tree, addr->bytes, -1);
}

/* The count, with an optional trace (sc_fast_inspect.h); with tr a
 * constant NULL the trace compiles away. */
static inline __attribute__((always_inline)) uint64_t
count_in(const sc_fast_table *t, const sc_prefix *prefix, sc_service svc, sc_count_trace *tr)
{
    const sc_tree *tree = tree_get(t, prefix->addr.family, svc);
    if (tr) *tr = (sc_count_trace){.path = SC_PATH_NONE};
    if (!tree) return 0;
    const uint8_t *a = prefix->addr.bytes;
    if (prefix->len < SC_TOP_BITS) {
        if (tr) tr->path = prefix->len <= 12 ? SC_PATH_STRIPES : SC_PATH_TOP_SUM;
        return sc_short_count(t, tree, a, prefix->len);
    }
    unsigned i = top_index(a);
    if (prefix->len == SC_TOP_BITS) {
        if (tr) tr->path = SC_PATH_SHARD;
        /* relaxed: one counter's value, as in the trie. */
        return sc_count_part(atomic_load_explicit(&tree->top->shard[i].count, memory_order_relaxed));
    }
    if (!tr) return sc_tree_count(tree, i, a, prefix->len);
    urcu_bp_read_lock();
    const sc_top16 *top = tree->top;
    uint64_t n = sc_trie_count_traced(&top->shard[i].count, &top->child[i], SC_TOP_BITS / 8, a,
                                      prefix->len, tree->addr_bytes, tr);
    sc_tsan_reader_done();
    urcu_bp_read_unlock();
    return n;
}

static uint64_t fast_count(const sc_table *tab, const sc_prefix *prefix, sc_service svc)
{
#ifdef SC_PLANT_SLOW_COUNT
    /* PLANTED SLOWDOWN (the regression gate's trial only, scripts/bench
     * --gate-trial): about a tenth more time on a 1M-session count. */
    for (volatile unsigned spin = 0; spin < SC_PLANT_SLOW_SPINS; spin++) {
    }
#endif
    return count_in(fast_of(tab), prefix, svc, NULL);
}

/* Two tables' counts of one prefix, their walks in lockstep
 * (sc_trie_count_pair): a step of one while the other's next line is on its
 * way, so the second walk's misses overlap the first's instead of following
 * them, and each line is read once.  Prefixes that end at or above the /16
 * read counters only: those are counted one after the other. */
static uint64_t fast_count_pair(const sc_table *a, const sc_table *b, const sc_prefix *prefix,
                                sc_service svc)
{
    const sc_fast_table *t[2] = {fast_of(a), fast_of(b)};
    if (prefix->len <= SC_TOP_BITS)
        return count_in(t[0], prefix, svc, NULL) + count_in(t[1], prefix, svc, NULL);
    const uint8_t *q = prefix->addr.bytes;
    unsigned i = top_index(q), k = 0;
    const _Atomic uint64_t *cnt[2];
    const _Atomic uintptr_t *child[2];
    uint64_t n = 0;
    urcu_bp_read_lock();
    for (int j = 0; j < 2; j++) {
        const sc_tree *tree = tree_get(t[j], prefix->addr.family, svc);
        if (!tree) continue;
        cnt[k] = &tree->top->shard[i].count;
        child[k++] = &tree->top->child[i];
    }
    unsigned alen = sc_family_bytes(prefix->addr.family);
    if (k == 2)
        n = sc_trie_count_pair(cnt, child, SC_TOP_BITS / 8, q, prefix->len, alen);
    else if (k == 1)
        n = sc_trie_count(cnt[0], child[0], SC_TOP_BITS / 8, q, prefix->len, alen);
    sc_tsan_reader_done();
    urcu_bp_read_unlock();
    return n;
}

/* Nodes retired by this table wait in per-CPU batches, then in call_rcu's
 * queue: after a barrier, what was queued is freed. */
static void fast_reclaim(const sc_table *tab)
{
    (void)tab;
    urcu_bp_barrier();
}

static size_t fast_bytes(const sc_table *tab)
{
    int64_t b = sc_bytes_sum(fast_of(tab));
    return b > 0 ? (size_t)b : 0;
}

static const sc_impl fast_impl = {
    .name = "fast",
    .table_new = fast_table_new,
    .table_free = fast_table_free,
    .open = fast_open,
    .close = fast_close,
    .count = fast_count,
    .count_pair = fast_count_pair,
    .bytes = fast_bytes,
    .parse_cidr = sc_parse_cidr,
    .series_new = sc_fast_series_new,
    .series_free = sc_fast_series_free,
    .series_add = sc_fast_series_add,
    .series_remove = sc_fast_series_remove,
    .series_count = sc_fast_series_count,
    .series_turn = sc_fast_series_turn,
    .series_add_str = sc_fast_series_add_str,
    .series_remove_str = sc_fast_series_remove_str,
    .series_count_str = sc_fast_series_count_str,
    .reclaim = fast_reclaim,
    .walk = sc_fast_walk,
};

const sc_impl *sc_impl_fast(void)
{
    return &fast_impl;
}

/* A wrapper impl (a test's planted copy) still makes fast tables. */
bool sc_is_fast_table(const sc_table *tab)
{
    return tab && tab->impl && tab->impl->table_new == fast_table_new;
}

bool sc_fast_count_traced(const sc_table *tab, const sc_prefix *prefix, sc_service svc,
                          uint64_t *out, sc_count_trace *tr)
{
    if (!sc_is_fast_table(tab) || !prefix || !out || !tr || svc >= tab->n_services) return false;
    *out = count_in(fast_of(tab), prefix, svc, tr);
    return true;
}
