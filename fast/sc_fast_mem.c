/*
 * sc_fast_mem.c: the trie's memory: nodes and LEAFs are allocated here and,
 * once readers may no longer reach them, retired through RCU in per-CPU
 * batches.  The layout they make is described at the top of sc_fast_trie.c.
 */
#include <stdlib.h>

#include "sc_fast_node.h"
#include "sc_tsan.h"

#ifdef SC_TSAN
char sc_tsan_grace;
#endif

/* ---------------------------------------------------------------- memory */

static void *node_alloc(sc_fast_table *t, size_t size, size_t align)
{
    /* A wide node's size is a multiple of its 32-byte slots (C11's rule
     * for aligned_alloc). */
    void *p = align > 16 ? aligned_alloc(align, size) : calloc(1, size);
    if (p && align > 16) memset(p, 0, size);
    if (p && (uintptr_t)p >> SC_WORD_ADDR_BITS) {   /* cannot be named by a child word */
        free(p);
        p = NULL;
    }
    if (p) sc_bytes_add(t, (int64_t)size);
    return p;
}

sc_node *sc_node_new(sc_fast_table *t, int kind, unsigned depth, const uint8_t *key,
                     unsigned alen)
{
    bool wide = sc_wide_at(depth, alen);
    sc_node *n = node_alloc(t, sc_node_size(kind, depth, wide), wide ? 2 * sizeof(sc_slot) : 16);
    if (!n) return NULL;
    n->kind = (uint8_t)kind;
    n->depth = (uint8_t)depth;
    n->wide = wide;
    memcpy(n->mem, key, depth);
    return n;
}

uintptr_t sc_leaf_new(sc_fast_table *t, const uint8_t *addr, unsigned alen)
{
    uint8_t *leaf = node_alloc(t, alen, 16);
    if (!leaf) return 0;
    memcpy(leaf, addr, alen);
    return sc_leaf_word(leaf, alen);
}

/* Retired memory waits in its CPU's stripe until SC_RETIRE_BATCH pieces or
 * SC_RETIRE_BYTES have gathered, then goes to call_rcu as one batch: one
 * callback and one rcu_head per batch instead of a 16-byte head in every
 * node.  So less than SC_RETIRE_BYTES plus one node waits per CPU in a
 * table whose sessions all closed.  (Handing a part batch over whenever a
 * close empties its /16 cost a call_rcu per close where sessions are
 * sparse: random6 open_close at 1K went from 97 to 342 ns.) */
typedef struct sc_retired {
    struct rcu_head rcu;
    unsigned n;
    void *p[SC_RETIRE_BATCH];
} sc_retired;

static void free_all(void **p, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        sc_tsan_reclaim(p[i]);
        free(p[i]);
    }
}

static void retired_free_rcu(struct rcu_head *head)
{
    sc_retired *r = caa_container_of(head, sc_retired, rcu);
    sc_tsan_reclaim(r);   /* the batch itself travelled through call_rcu's queue */
    free_all(r->p, r->n);
    free(r);
}

/* Puts pieces back in a stripe, as many as fit. */
static void keep_pending(sc_cpu_stripe *c, void **p, unsigned n)
{
    sc_spin_lock(&c->lock);
    for (unsigned i = 0; i < n && c->npending < SC_RETIRE_BATCH; i++)
        c->pending[c->npending++] = p[i];
    sc_spin_unlock(&c->lock);
}

/* Called with a batch taken out of stripe c (no stripe lock held). */
static void batch_to_rcu(sc_cpu_stripe *c, void **p, unsigned n)
{
    if (n == 0) return;
    sc_retired *r = malloc(sizeof *r);
    if (!r && urcu_bp_read_ongoing()) {
        /* Out of memory inside a read-side section (a series add, which
         * holds its window that way): waiting for a grace period here
         * would wait for ourselves.  The pieces go back to the stripe for
         * a later batch; past its capacity, under memory exhaustion that
         * lasts, they are never freed (a leak rather than a hang). */
        keep_pending(c, p, n);
        return;
    }
    if (!r) {
        /* Out of memory for the batch: wait out the grace period here.
         * Session writers are never inside a read-side section; a host
         * must not open or close inside one of its own (sesscount.h). */
        urcu_bp_synchronize_rcu();
        free_all(p, n);
        return;
    }
    r->n = n;
    memcpy(r->p, p, n * sizeof *p);
    sc_tsan_retire(r);
    urcu_bp_call_rcu(&r->rcu, retired_free_rcu);
}

/* Takes a stripe's pending pieces into `out` (the caller holds its lock,
 * or has the table to itself). */
static unsigned take_pending(sc_cpu_stripe *c, void **out)
{
    unsigned n = c->npending;
    memcpy(out, c->pending, n * sizeof *out);
    c->npending = 0;
    c->pending_bytes = 0;
    return n;
}

void sc_retire(sc_fast_table *t, void *p, size_t size)
{
    sc_bytes_add(t, -(int64_t)size);
    sc_tsan_retire(p);
    sc_cpu_stripe *c = &t->cpu[sc_stripe_index(t)];
    void *out[SC_RETIRE_BATCH];
    unsigned n = 0;
    sc_spin_lock(&c->lock);
    unsigned i = c->npending;
    c->pending[i++] = p;
    c->npending = i;
    c->pending_bytes += size;
    if (i == SC_RETIRE_BATCH || c->pending_bytes >= SC_RETIRE_BYTES) n = take_pending(c, out);
    sc_spin_unlock(&c->lock);
    batch_to_rcu(c, out, n);
}

void sc_retire_flush_all(sc_fast_table *t)
{
    /* Teardown: no reader uses the table any more, so what is pending may
     * go now; then wait for the batches already queued. */
    for (unsigned s = 0; s < SC_MAX_STRIPES; s++) {
        void *out[SC_RETIRE_BATCH];
        free_all(out, take_pending(&t->cpu[s], out));
    }
    urcu_bp_barrier();
}

void sc_node_retire(sc_fast_table *t, sc_node *n)
{
    sc_retire(t, n, sc_node_size(n->kind, n->depth, n->wide));
}

void sc_subtree_release(sc_fast_table *t, uintptr_t w, bool now)
{
    if (!w || sc_is_inline(w)) return;
    void *p = sc_node_of(w);
    size_t size;
    if (sc_word_kind(w) == SC_LEAF) {
        size = sc_word_depth(w);   /* a leaf's depth is its length */
    } else {
        sc_node *n = p;
        sc_slot *s = sc_slots(n);
        for (unsigned i = 0; i < sc_slot_cap(n->kind); i++) {
            /* Slots past n (listed, indexed) are zero: calloc, never reused. */
            uintptr_t c = sc_child_of(sc_slot_at(s, i, n->wide));
            if (c) sc_subtree_release(t, c, now);
        }
        size = sc_node_size(n->kind, n->depth, n->wide);
    }
    if (!now) {
        sc_retire(t, p, size);
        return;
    }
    sc_bytes_add(t, -(int64_t)size);
    free(p);
}

void sc_trie_destroy(sc_fast_table *t, uintptr_t w)
{
    sc_subtree_release(t, w, true);
}
