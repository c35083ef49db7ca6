/*
 * sc_fast_trie.c: the counting trie below one /16: its layout and the
 * lock-free count.  Updates are in sc_fast_update.c, memory and its
 * reclamation in sc_fast_mem.c.
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
 * A LEAF below a node (an IPv6 address alone under bytes 0..2 to 0..7) is
 * also copied into its slot: such nodes are WIDE, their slots 32 bytes,
 *
 *     wide slot:  [ count | child word -> LEAF | the LEAF's 16 bytes ]
 *
 * so a count checks the address on the line it read the count from, and
 * a random IPv6 /128 costs one miss below the top, not two (the LEAF
 * itself is read only by writers moving it, and by walks of every
 * session).  IPv4 leaves are always inline: no IPv4 node is wide.
 * Two addresses that differ only in their last byte, in a slot that fixes
 * every other byte, share one inline word, a pair, that holds both last
 * bytes and both counts (sc_fast_node.h): the common shape where two IPv4
 * sessions land in one /24 of a busy /16 costs no node.
 * Node kinds, each grown into the next when full: N2, N4, N8 and N16 list
 * their keys (unsorted) beside their slots; N48 and N128 index 256 key
 * bytes into their slots; N256 has a slot per byte value; LEAF has none.
 * A listed node's keys are 4-byte words, eight keys compared at a time
 * (sc_listed_find, SWAR): no branch on which key matched, whose
 * mispredictions cost a count of a random address more than the loads
 * (callgrind's branch simulation: 3.7 mispredictions a random /128 count
 * before, 1.2 after).
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
 *    its emptied slots when full, or to shrink to half of a smaller kind;
 *  - a wide slot's copy of a LEAF is written only while the slot holds no
 *    LEAF (empty, a node, or not yet published), before the LEAF is
 *    linked, and every link steps the slot's version: a count checks the
 *    copy between two reads of that version (leaf_step).

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

/* ---------------------------------------------------------------- counting */

/* Bits [8 * from_byte, bits) of key and q agree.  Whole bytes go 8 and 4
 * at a time (a LEAF's 13 bytes below an N256 in three compares), reading
 * no key byte past bits / 8 + 1: a node's key is followed by its index,
 * which writers may be changing.  Called for two bytes or more (key_match). */
static bool bits_match(const uint8_t *key, const uint8_t *q, unsigned from_byte, unsigned bits)
{
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

/* bits_match, with its two common cases inline: nothing to check (a node
 * one byte below its parent) and one byte (a node two bytes below, as under
 * the top of a dense /16): a call and its loop cost a count of a /24 more
 * than the compare (callgrind: 28 instructions of 238). */
static inline __attribute__((always_inline)) bool
key_match(const uint8_t *key, const uint8_t *q, unsigned from_byte, unsigned bits)
{
    if (bits <= from_byte * 8) return true;
    if (bits <= from_byte * 8 + 8)
        return ((key[from_byte] ^ q[from_byte]) & (0xFF00u >> (bits - from_byte * 8))) == 0;
    return bits_match(key, q, from_byte, bits);
}

/* The 16 bytes of a LEAF (or its copy) hold the first len bits of q.  The bytes the walk came down by agree already: comparing
 * them again costs less than a loop that skips them. */
static inline bool leaf16_match(const uint8_t *leaf, const uint8_t *q, unsigned len)
{
    uint64_t k[2], a[2], m[2] = {sc_net_mask(len, 0), sc_net_mask(len, 64)};
    memcpy(k, leaf, 16);
    memcpy(a, q, 16);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    m[0] = __builtin_bswap64(m[0]);   /* the masks in the words' byte order */
    m[1] = __builtin_bswap64(m[1]);
#endif
    return (((k[0] ^ a[0]) & m[0]) | ((k[1] ^ a[1]) & m[1])) == 0;
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
static inline __attribute__((always_inline)) uint64_t
sum_run(uintptr_t w, bool wide, uint8_t b, unsigned bits)
{
    const sc_node *n = sc_node_of(w);
    int kind = sc_word_kind(w);
    unsigned depth = sc_word_depth(w);
    uint8_t mask = (uint8_t)(0xFF00u >> bits);
    unsigned lo = b & mask, hi = lo | (uint8_t)~mask;
    const sc_slot *s = sc_slots_of_kind(n, kind, depth, wide);
    uint64_t sum = 0;
    if (kind == SC_N256) {
#ifdef SC_PLANT_N256_SUM
        hi--;   /* PLANTED BUG (tests only, SC_PLANT=n256_sum): the run's last child missed */
#endif
        for (unsigned k = lo; k <= hi; k++) sum += sc_count_of(sc_slot_at(s, k, wide));
    } else if (sc_indexed(kind)) {
        for (unsigned k = lo; k <= hi; k++) {
            unsigned i = sc_index_at(n, depth, k);
            if (i) sum += sc_count_of(sc_slot_at(s, i - 1, wide));
        }
    } else {
        unsigned cnt = sc_entries(n);
        for (unsigned i = 0; i < cnt; i++)
            if (((sc_key_at(n, depth, i) ^ b) & mask) == 0)
                sum += sc_count_of(sc_slot_at(s, i, wide));
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
    const _Atomic uint64_t *ext;   /* and its copy of a LEAF's bytes (a wide slot), or NULL */
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
    *k = (walk){cnt, at, NULL, atomic_load_explicit(at, memory_order_acquire), from, false, 0};
}

/* The step at a LEAF below a wide slot: its bytes are read from the slot's
 * copy (sc_slot_ext), on the line of the counter, between two reads of the
 * counter's version, as in a seqlock.  Writers rewrite the copy only while
 * the slot holds no LEAF, before linking one, and every link steps the
 * version; so the same version both times, with the same child word
 * between, means the copy read is that LEAF's bytes. */
static inline __attribute__((always_inline)) bool
leaf_step(walk *k, const uint8_t *q, unsigned len, sc_count_trace *tr)
{
    /* acquire (both): the version read orders the child read after it; the
     * child read orders the copy's reads after it. */
    uint64_t v1 = atomic_load_explicit(k->cnt, memory_order_acquire);
    uintptr_t again = atomic_load_explicit(k->at, memory_order_acquire);
    /* acquire (both): pairs with the release stores that wrote the copy
     * (sc_fast_update.c, note_leaf), so a copy rewritten after v1 shows
     * its version step in v2, read after them.  (Not relaxed loads and a
     * fence: GCC's TSan has no fences; on x86 both are plain loads.) */
    uint64_t key[2] = {atomic_load_explicit(&k->ext[0], memory_order_acquire),
                       atomic_load_explicit(&k->ext[1], memory_order_acquire)};
    /* relaxed: ordered after the acquires above. */
    uint64_t v2 = atomic_load_explicit(k->cnt, memory_order_relaxed);
    if (again != k->w || sc_version_part(v1) != sc_version_part(v2)) {
        k->w = again;
        return false;
    }
    if (!leaf16_match((const uint8_t *)key, q, len))
        return finish(k, trace(tr, SC_PATH_EMPTY, 0, 0));
    trace(tr, SC_PATH_SLOT, SC_LEAF, k->from);
    return finish(k, sc_count_part(v2));
}

/* One step of the walk: true once it has the answer (k->n), false when it
 * moved one node down or must read again.  With an optional trace of where
 * the answer came from (sc_fast_inspect.h).  Inlined into every caller:
 * with tr a constant NULL the trace's branches compile away, so the real
 * count pays nothing.  The top's counter is on a line writers dirty: it is
 * read only when the length ends above the /16's first node. */
static inline __attribute__((always_inline)) bool
walk_step(walk *k, const uint8_t *q, unsigned len, bool may_wide, sc_count_trace *tr)
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
    } else if (may_wide && k->ext && sc_word_kind(w) == SC_LEAF) {
        return leaf_step(k, q, len, tr);
    } else {
        /* The word names the node's depth and kind: its header line is
         * read only when compressed key bytes must be checked. */
        const sc_node *n = sc_node_of(w);
        unsigned depth = sc_word_depth(w), edge = depth * 8u;
        bool wide = may_wide && sc_word_wide(w);
        const uint8_t *key = sc_word_key(w);
        if (may_wide && sc_word_kind(w) == SC_LEAF && depth == 16
                ? !leaf16_match(key, q, len)
                : !key_match(key, q, k->from, len < edge ? len : edge))
            return finish(k, trace(tr, SC_PATH_EMPTY, 0, 0));
        if (len > edge) {
            if (len < edge + 8) {
                trace(tr, SC_PATH_RUN, sc_word_kind(w), depth);
                return finish(k, sum_run(w, wide, q[depth], len - edge));
            }
            const sc_slot *s = sc_find_in(n, sc_word_kind(w), depth, wide, q[depth]);
            if (!s)
                return finish(k, trace(tr, SC_PATH_EMPTY, 0, 0));
            if (len == edge + 8) {
                /* (the child's acquire load only when traced: an atomic
                 * load is not dropped for being unused) */
                if (tr) trace(tr, SC_PATH_SLOT, sc_word_shape(sc_child_of(s)), depth + 1u);
                return finish(k, sc_count_of(s));
            }
            k->cnt = &s->count;
            k->at = &s->child;
            k->ext = wide ? sc_slot_ext(s) : NULL;
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
           const uint8_t *q, unsigned len, bool may_wide, sc_count_trace *tr)
{
    walk k;
    walk_start(&k, cnt, at, from);
    while (!walk_step(&k, q, len, may_wide, tr)) {
    }
    return k.n;
}

uint64_t sc_tree_count(const sc_tree *tree, unsigned i, const uint8_t *q, unsigned len)
{
    const _Atomic uint64_t *cnt = &tree->top->shard[i].count;
    const _Atomic uintptr_t *at = &tree->top->child[i];
    const unsigned from = SC_TOP_BITS / 8;
    uint64_t n;
    urcu_bp_read_lock();
    if (sc_may_be_wide(tree->addr_bytes)) n = trie_count(cnt, at, from, q, len, true, NULL);
    else n = trie_count(cnt, at, from, q, len, false, NULL);
    sc_tsan_reader_done();
    urcu_bp_read_unlock();
    return n;
}

uint64_t sc_trie_count_narrow(const _Atomic uint64_t *count, const _Atomic uintptr_t *child,
                              unsigned from, const uint8_t *q, unsigned len)
{
    return trie_count(count, child, from, q, len, false, NULL);
}

uint64_t sc_trie_count_wide(const _Atomic uint64_t *count, const _Atomic uintptr_t *child,
                            unsigned from, const uint8_t *q, unsigned len)
{
    return trie_count(count, child, from, q, len, true, NULL);
}

uint64_t sc_trie_count_traced(const _Atomic uint64_t *count, const _Atomic uintptr_t *child,
                              unsigned from, const uint8_t *q, unsigned len, unsigned alen,
                              sc_count_trace *tr)
{
    return trie_count(count, child, from, q, len, sc_may_be_wide(alen), tr);
}

/* ---------------------------------------------------------------- several walks at once */

/* Asks for the line the next step from word w will read for q. */
static void ask_next(uintptr_t w, const uint8_t *q)
{
    if (!w || sc_is_inline(w) || sc_word_kind(w) == SC_LEAF) return;
    const sc_node *n = sc_node_of(w);
    unsigned depth = sc_word_depth(w);
    int kind = sc_word_kind(w);
    bool wide = sc_word_wide(w);
    if (kind == SC_N256) {
        __builtin_prefetch(sc_slot_at(sc_slots_of_kind(n, kind, depth, wide), q[depth], wide));
    } else if (sc_indexed(kind)) {
        __builtin_prefetch(&sc_index(n, depth)[q[depth]]);
    } else {
        /* A listed node is small (an N16 is 5 lines, 9 when wide): ask for all
         * of it, so that the slot the key scan picks is on its way too. */
        size_t size = sc_node_size(kind, depth, wide);
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
    const sc_slot *s = sc_find_word(w, q[depth]);
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
                            const uint8_t *q, unsigned len, unsigned alen)
{
    bool may_wide = sc_may_be_wide(alen);
    walk k[2];
    for (unsigned i = 0; i < 2; i++) {
        walk_start(&k[i], cnt[i], child[i], from);
        ask_next(k[i].w, q);
    }
    /* a step of one walk while the other's next line is on its way */
    while (!k[0].done || !k[1].done)
        for (unsigned i = 0; i < 2; i++) {
            if (!k[i].done && !walk_step(&k[i], q, len, may_wide, NULL)) ask_next(k[i].w, q);
        }
    return k[0].n + k[1].n;
}
