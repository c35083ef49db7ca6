/*
 * sc_fast_trie.c: the counting trie below one /16: its layout, its
 * memory, and the lock-free count.  Updates are in sc_fast_update.c.
 *
 * LAYOUT
 * A tree (one per service and family) starts with a direct-indexed top of
 * 2^16 slots, one per /16.  A slot is a counter and a child word: the
 * counter holds the number of open sessions whose address lies under the
 * slot's prefix; the child is the subtree that holds them.  (In the top the
 * two lie apart: child words on lines only structural changes write,
 * counters beside the shard locks on lines every update writes.)  Below the top,
 * the trie branches one address byte at a time (8-bit strides) through
 * adaptive nodes, ART-style:
 *
 *     top[0x0a00]  count 6 ─┐                    10.0.0.0/16 holds 6 sessions
 *                           ▼
 *            N4  depth 2, key 0a.00 ...........  branches on byte 2
 *            ├─ 0x01 count 4 ─► N4 depth 3 ─┬─ 0x07 count 3 ─ [inline .7]
 *            │                              └─ 0x09 count 1 ─ [inline .9]
 *            └─ 0x05 count 2 ─ [inline .5.1]     10.0.5.1 twice: byte 3 is
 *                                                kept in the child word
 *
 * Every node holds `key`, the address bytes [0, depth) shared by all below
 * it, and branches on byte `depth`.  A child may sit deeper than its
 * parent's depth + 1: the bytes in between are compressed into its key, so
 * sparse IPv6 costs a node only where addresses actually part.  Where a
 * slot's subtree holds one address, the slot's child word holds that
 * address's remaining bytes inline (up to 7: every IPv4 leaf) or points to
 * a LEAF (IPv6 leaves near the top): the bare 16-byte address, no header;
 * either way the slot's count is that address's number of sessions.
 * Two addresses that differ only in their last byte, in a slot that fixes
 * every other byte, share one inline word, a pair, that holds both last
 * bytes and both counts (sc_fast_node.h): the common shape where two IPv4
 * sessions land in one /24 of a busy /16 costs no node.
 * Node kinds, each grown into the next when full: N2, N4 and N16 list
 * their keys (unsorted) beside their slots; N48 and N128 index 256 key
 * bytes into their slots; N256 has a slot per byte value; LEAF has none.
 * A node of 97 children or more is an N256 (sc_fast_update.c): counting
 * through it reads one line, the slot, where an N128 needs two, the index
 * byte and then the slot.  A /16 of 10M random IPv4 sessions has ~115
 * third bytes: one N256 of 4 KiB, with pairs below, about 30 bytes a
 * session.
 *
 * INVARIANTS (under the shard lock, between operations)
 *  - a slot's count is the sum of its child's slot counts (a leaf: the
 *    sessions at its address), and a slot with a zero count has no child;
 *  - an internal node has at least two children, except after an
 *    allocation failure in close, which may leave a one-child node: counts
 *    stay exact, and it goes when its last child does;
 *  - slots are filled in order and never given to another key: a listed
 *    entry or an index byte, once published (release, after the slot is
 *    filled), names its key's slot for the node's life.  Removing a child
 *    empties its slot in place (a zero count, then a zero child word); the
 *    same key may refill it later.  A node is copied only to grow, to drop
 *    its emptied slots when full, or to shrink to half of a smaller kind.

 * COUNTING a prefix of length L walks from the top slot: at each node it
 * checks the compressed key bytes against the prefix (up to L bits); when L
 * ends at or before the node's depth, the answer is the count of the slot it
 * came through.  When L ends inside the node's stride, the answer is the sum
 * of the counts of the children whose key shares the prefix's first
 * L - 8 * depth bits of that byte: a contiguous run in an N256.  So a count
 * never descends below the node where its length ends and reads at most one
 * node per address byte, whatever the number of sessions.  (The same walk,
 * inlined a second time with a trace, tells the tests which counter path and
 * node kind answered: sc_fast_inspect.h.)
 *
 * CONCURRENCY.  Opens and closes of one /16 (a shard) run under that
 * shard's lock (sc_fast_table.c), so counters are updated with plain atomic
 * stores, not read-modify-writes, and structural changes need no retries.
 * Counts take no lock: they run inside an RCU read-side section (liburcu's
 * bp flavor) and read only atomics.  A structural change builds the new node
 * completely, publishes it with a release store of the parent's child word,
 * and retires the node it replaced: retired memory gathers per CPU and goes
 * to call_rcu in batches of SC_RETIRE_BATCH (one rcu_head per batch, none
 * in the nodes), which frees it once every reader that might still be
 * walking it has left its section.  A reader on
 * an old node sees the counts as they were when it was replaced: every
 * update it misses finished after the count began.
 */
#include <stdlib.h>

#include "sc_fast_inspect.h"
#include "sc_fast_node.h"
#include "sc_tsan.h"

#ifdef SC_TSAN
char sc_tsan_grace;
#endif

/* ---------------------------------------------------------------- memory */

static void *node_alloc(sc_fast_table *t, size_t size)
{
    void *p = calloc(1, size);
    if (p && (uintptr_t)p >> SC_WORD_ADDR_BITS) {   /* cannot be named by a child word */
        free(p);
        p = NULL;
    }
    if (p) sc_bytes_add(t, (int64_t)size);
    return p;
}

sc_node *sc_node_new(sc_fast_table *t, int kind, unsigned depth, const uint8_t *key)
{
    sc_node *n = node_alloc(t, sc_node_size(kind, depth));
    if (!n) return NULL;
    n->kind = (uint8_t)kind;
    n->depth = (uint8_t)depth;
    memcpy(n->mem, key, depth);
    return n;
}

uintptr_t sc_leaf_new(sc_fast_table *t, const uint8_t *addr, unsigned alen)
{
    uint8_t *leaf = node_alloc(t, alen);
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
    sc_retire(t, n, sc_node_size(n->kind, n->depth));
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
            uintptr_t c = sc_child_of(&s[i]);
            if (c) sc_subtree_release(t, c, now);
        }
        size = sc_node_size(n->kind, n->depth);
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

/* ---------------------------------------------------------------- counting */

/* Bits [8 * from_byte, bits) of key and q agree.  Whole bytes go 8 and 4
 * at a time (a LEAF's 13 bytes below an N256 in three compares), reading
 * no key byte past bits / 8 + 1: a node's key is followed by its index,
 * which writers may be changing. */
static bool bits_match(const uint8_t *key, const uint8_t *q, unsigned from_byte, unsigned bits)
{
    if (bits <= from_byte * 8) return true;
    unsigned i = from_byte, whole = bits / 8;
    for (; i + 8 <= whole; i += 8) {
        uint64_t a, b;
        memcpy(&a, key + i, 8);
        memcpy(&b, q + i, 8);
        if (a != b) return false;
    }
    if (i + 4 <= whole) {
        uint32_t a, b;
        memcpy(&a, key + i, 4);
        memcpy(&b, q + i, 4);
        if (a != b) return false;
        i += 4;
    }
    for (; i < whole; i++)
        if (key[i] != q[i]) return false;
    unsigned rest = bits % 8;
    return rest == 0 || ((key[bits / 8] ^ q[bits / 8]) & (0xFF00u >> rest)) == 0;
}

static bool inline_match(uintptr_t w, const uint8_t *q, unsigned from, unsigned bits)
{
    for (unsigned i = from; i * 8 < bits; i++) {
        unsigned left = bits - i * 8;
        uint8_t mask = left >= 8 ? 0xFF : (uint8_t)(0xFF00u >> left);
        if ((sc_inline_byte(w, from, i) ^ q[i]) & mask) return false;
    }
    return true;
}

/* The members of a pair whose last byte shares b's first `bits` bits. */
static uint64_t pair_count(uintptr_t w, uint8_t b, unsigned bits)
{
    uint8_t mask = (uint8_t)(0xFF00u >> bits);
    uint64_t sum = 0;
    for (unsigned i = 0; i < 2; i++)
        if (((sc_pair_key(w, i) ^ b) & mask) == 0) sum += sc_pair_count(w, i);
    return sum;
}

/* Sum of the children whose key byte shares b's first `bits` bits (1..7). */
static uint64_t sum_run(const sc_node *n, int kind, unsigned depth, uint8_t b, unsigned bits)
{
    uint8_t mask = (uint8_t)(0xFF00u >> bits);
    unsigned lo = b & mask, hi = lo | (uint8_t)~mask;
    const sc_slot *s = sc_slots_of_kind(n, kind, depth);
    uint64_t sum = 0;
    if (kind == SC_N256) {
#ifdef SC_PLANT_N256_SUM
        hi--;   /* PLANTED BUG (tests only, SC_PLANT=n256_sum): the run's last child missed */
#endif
        for (unsigned k = lo; k <= hi; k++) sum += sc_count_of(&s[k]);
    } else if (sc_indexed(kind)) {
        for (unsigned k = lo; k <= hi; k++) {
            unsigned i = sc_index_at(n, depth, k);
            if (i) sum += sc_count_of(&s[i - 1]);
        }
    } else {
        unsigned cnt = sc_entries(n);
        for (unsigned i = 0; i < cnt; i++)
            if (((sc_key_at(n, depth, i) ^ b) & mask) == 0) sum += sc_count_of(&s[i]);
    }
    return sum;
}

/* Records where a count's answer came from, when a trace is asked for;
 * returns 0 so that the walk's early exits stay one statement. */
static inline uint64_t trace(sc_count_trace *tr, sc_count_path path, int shape, unsigned depth)
{
    if (tr) *tr = (sc_count_trace){.path = path, .shape = shape, .depth = depth};
    return 0;
}

/* A count's walk, resumable one node at a time, so that two walks can go
 * in lockstep (sc_trie_count_pair); a single count runs the same steps in a
 * loop (trie_count). */
typedef struct walk {
    const _Atomic uint64_t *cnt;   /* the counter of the slot we came through */
    const _Atomic uintptr_t *at;   /* and its child word */
    uintptr_t w;                   /* the word being walked */
    unsigned from;                 /* the first key byte w decides */
    bool done;
    uint64_t n;                    /* the answer, once done */
} walk;

/* The walk's answer: done. */
static inline bool finish(walk *k, uint64_t n)
{
    k->done = true;
    k->n = n;
    return true;
}

static inline void walk_start(walk *k, const _Atomic uint64_t *cnt, const _Atomic uintptr_t *at,
                              unsigned from)
{
    /* acquire: as sc_child_of, pairs with the release that linked it. */
    *k = (walk){cnt, at, atomic_load_explicit(at, memory_order_acquire), from, false, 0};
}

/* One step of the walk: true once it has the answer (k->n), false when it
 * moved one node down or must read again.  With an optional trace of where
 * the answer came from (sc_fast_inspect.h).  Inlined into every caller:
 * with tr a constant NULL the trace's branches compile away, so the real
 * count pays nothing.  The top's counter is on a line writers dirty: it is
 * read only when the length ends above the /16's first node. */
static inline __attribute__((always_inline)) bool
walk_step(walk *k, const uint8_t *q, unsigned len, sc_count_trace *tr)
{
    uintptr_t w = k->w;
    if (!w)
        return finish(k, trace(tr, SC_PATH_EMPTY, 0, 0));
    if (sc_is_pair(w)) {
        trace(tr, SC_PATH_PAIR, SC_SHAPE_PAIR, k->from);
        return finish(k, pair_count(w, q[k->from], len - 8 * k->from));
    }
    if (sc_is_inline(w)) {
        if (!inline_match(w, q, k->from, len))
            return finish(k, trace(tr, SC_PATH_EMPTY, 0, 0));
    } else {
        /* The word names the node's depth and kind: its header line is
         * read only when compressed key bytes must be checked. */
        const sc_node *n = sc_node_of(w);
        unsigned depth = sc_word_depth(w), edge = depth * 8u;
        if (!bits_match(sc_word_key(w), q, k->from, len < edge ? len : edge))
            return finish(k, trace(tr, SC_PATH_EMPTY, 0, 0));
        if (len > edge) {
            if (len < edge + 8) {
                trace(tr, SC_PATH_RUN, sc_word_kind(w), depth);
                return finish(k, sum_run(n, sc_word_kind(w), depth, q[depth], len - edge));
            }
            const sc_slot *s = sc_find_in(n, sc_word_kind(w), depth, q[depth]);
            if (!s)
                return finish(k, trace(tr, SC_PATH_EMPTY, 0, 0));
            if (len == edge + 8) {
                trace(tr, SC_PATH_SLOT, sc_word_shape(sc_child_of(s)), depth + 1u);
                return finish(k, sc_count_of(s));
            }
            k->cnt = &s->count;
            k->at = &s->child;
            k->w = sc_child_of(s);
            k->from = depth + 1u;
            return false;
        }
    }
    /* All of w's subtree lies inside the prefix: the answer is the slot's
     * counter, if it counts w's subtree.  It may not: an open that widens a
     * slot's child (a leaf becoming a pair, or parting into an N2) raises
     * the counter for an address outside the prefix, and a close may bring
     * the old child back (A-B-A).  So the counter is read twice around a
     * fresh read of the child: the same version both times means no child
     * was linked in between, and the pair is one the slot held.  (Writers
     * link a widened child before raising its counter and lower it before
     * linking a narrower one, so the instant between a link and its version
     * step also gives a count within SPEC's bounds.)  Only a link completed
     * meanwhile sends us round again: never waiting on a writer.
     * acquire (all three): the version read first orders the child read
     * after it; the child's acquire orders the second version read after
     * it, and makes a new node safe to read. */
    uint64_t v1 = atomic_load_explicit(k->cnt, memory_order_acquire);
    uintptr_t again = atomic_load_explicit(k->at, memory_order_acquire);
    uint64_t v2 = atomic_load_explicit(k->cnt, memory_order_acquire);
    if (again == w && sc_version_part(v1) == sc_version_part(v2)) {
        trace(tr, SC_PATH_SLOT, sc_word_shape(w), k->from);
        return finish(k, sc_count_part(v2));
    }
    k->w = again;
    return false;
}

static inline __attribute__((always_inline)) uint64_t
trie_count(const _Atomic uint64_t *cnt, const _Atomic uintptr_t *at, unsigned from,
           const uint8_t *q, unsigned len, sc_count_trace *tr)
{
    walk k;
    walk_start(&k, cnt, at, from);
    while (!walk_step(&k, q, len, tr)) {
    }
    return k.n;
}

uint64_t sc_trie_count(const _Atomic uint64_t *count, const _Atomic uintptr_t *child,
                       unsigned from, const uint8_t *q, unsigned len)
{
    return trie_count(count, child, from, q, len, NULL);
}

uint64_t sc_trie_count_traced(const _Atomic uint64_t *count, const _Atomic uintptr_t *child,
                              unsigned from, const uint8_t *q, unsigned len,
                              sc_count_trace *tr)
{
    return trie_count(count, child, from, q, len, tr);
}

/* ---------------------------------------------------------------- several walks at once */

/* Asks for the line the next step from word w will read for q. */
static void ask_next(uintptr_t w, const uint8_t *q)
{
    if (!w || sc_is_inline(w) || sc_word_kind(w) == SC_LEAF) return;
    const sc_node *n = sc_node_of(w);
    unsigned depth = sc_word_depth(w);
    int kind = sc_word_kind(w);
    if (kind == SC_N256) {
        __builtin_prefetch(&sc_slots_of_kind(n, kind, depth)[q[depth]]);
    } else if (sc_indexed(kind)) {
        __builtin_prefetch(&sc_keys(n, depth)[q[depth]]);
    } else {
        /* A listed node is small (an N16 is 5 lines at most): ask for all
         * of it, so that the slot the key scan picks is on its way too. */
        size_t size = sc_node_size(kind, depth);
        for (size_t off = 0; off < size; off += SC_CACHE_LINE)
            __builtin_prefetch((const char *)n + off);
    }
}

/* The child word one step below node word w on q's path, or 0 when the
 * walk ends at or above this node (a count of len reads this node's lines,
 * already asked for) or leaves the keys held. */
static uintptr_t step(uintptr_t w, const uint8_t *q, unsigned len)
{
    if (!w || sc_is_inline(w) || sc_word_kind(w) == SC_LEAF) return 0;
    unsigned depth = sc_word_depth(w);
    if (len <= depth * 8u + 8u) return 0;
    const sc_slot *s = sc_find_in(sc_node_of(w), sc_word_kind(w), depth, q[depth]);
    return s ? sc_child_of(s) : 0;
}

void sc_trie_warm(const _Atomic uintptr_t *const *child, unsigned k, const uint8_t *q,
                  unsigned len)
{
    uintptr_t w[SC_WARM_MAX];
    if (k > SC_WARM_MAX) k = SC_WARM_MAX;
    for (unsigned i = 0; i < k; i++) {
        /* acquire: as sc_child_of; the words lead to nodes read below. */
        w[i] = atomic_load_explicit(child[i], memory_order_acquire);
        ask_next(w[i], q);
    }
    for (unsigned level = 0; level < 16; level++) {
        bool more = false;
        for (unsigned i = 0; i < k; i++) {
            w[i] = step(w[i], q, len);
            ask_next(w[i], q);
            more |= w[i] != 0;
        }
        if (!more) break;
    }
}

uint64_t sc_trie_count_pair(const _Atomic uint64_t *const cnt[2],
                            const _Atomic uintptr_t *const child[2], unsigned from,
                            const uint8_t *q, unsigned len)
{
    walk k[2];
    for (unsigned i = 0; i < 2; i++) {
        walk_start(&k[i], cnt[i], child[i], from);
        ask_next(k[i].w, q);
    }
    /* a step of one walk while the other's next line is on its way */
    while (!k[0].done || !k[1].done)
        for (unsigned i = 0; i < 2; i++) {
            if (!k[i].done && !walk_step(&k[i], q, len, NULL)) ask_next(k[i].w, q);
        }
    return k[0].n + k[1].n;
}
