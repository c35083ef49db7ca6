/*
 * sc_fast_trie.c: the counting trie below one top slot: its layout, its
 * memory, and the lock-free count.  Updates are in sc_fast_update.c.
 *
 * LAYOUT
 * A tree (one per service and family) starts with a direct-indexed top of
 * 2^16 slots, one per /16.  A slot is a counter and a child word: the
 * counter holds the number of open sessions whose address lies under the
 * slot's prefix; the child is the subtree that holds them.  Below the top,
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
 * a LEAF node (IPv6 leaves near the top) whose key is the whole address;
 * either way the slot's count is that address's number of sessions.
 * Node kinds, each grown into the next when full: N2, N4 and N16 list
 * their keys (unsorted) beside their slots; N48 and N128 index 256 key
 * bytes into their slots; N256 has a slot per byte value; LEAF has none.
 * (N2 is the common shape where two addresses part; N128 holds the ~115
 * third bytes a /16 of 10M random IPv4 sessions has, at half an N256.)
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
 * node per address byte, whatever the number of sessions.
 *
 * CONCURRENCY.  Opens and closes of one top slot (a shard) run under that
 * shard's lock (sc_fast_table.c), so counters are updated with plain atomic
 * stores, not read-modify-writes, and structural changes need no retries.
 * Counts take no lock: they run inside an RCU read-side section (liburcu's
 * bp flavor) and read only atomics.  A structural change builds the new node
 * completely, publishes it with a release store of the parent's child word,
 * and hands the node it replaced to call_rcu, which frees it once every
 * reader that might still be walking it has left its section.  A reader on
 * an old node sees the counts as they were when it was replaced: every
 * update it misses finished after the count began.
 */
#include <stdlib.h>

#include "sc_fast_node.h"
#include "sc_tsan.h"

#ifdef SC_TSAN
char sc_tsan_grace;
#endif

/* ---------------------------------------------------------------- memory */

sc_node *sc_node_new(sc_fast_table *t, int kind, unsigned depth, const uint8_t *key)
{
    size_t size = sc_node_size(kind);
    sc_node *n = calloc(1, size);
    if (n && (uintptr_t)n >> SC_WORD_ADDR_BITS) {   /* cannot be named by a child word */
        free(n);
        n = NULL;
    }
    if (!n) return NULL;
    n->kind = (uint8_t)kind;
    n->depth = (uint8_t)depth;
    memcpy(n->key, key, depth);
    sc_bytes_add(t, (int64_t)size);
    return n;
}

static void node_free_rcu(struct rcu_head *head)
{
    sc_node *n = caa_container_of(head, sc_node, rcu);
    sc_tsan_reclaim(n);
    free(n);
}

void sc_node_retire(sc_fast_table *t, sc_node *n)
{
    sc_bytes_add(t, -(int64_t)sc_node_size(n->kind));
    sc_tsan_retire(n);
    urcu_bp_call_rcu(&n->rcu, node_free_rcu);
}

void sc_node_free_now(sc_fast_table *t, sc_node *n)
{
    sc_bytes_add(t, -(int64_t)sc_node_size(n->kind));
    free(n);
}

void sc_subtree_release(sc_fast_table *t, uintptr_t w, bool now)
{
    if (!w || sc_is_inline(w)) return;
    sc_node *n = sc_node_of(w);
    sc_slot *s = sc_slots(n);
    for (unsigned i = 0; i < sc_slot_cap(n->kind); i++) {
        /* Slots past n (listed, indexed) are zero: calloc, never reused. */
        uintptr_t c = sc_child_of(&s[i]);
        if (c) sc_subtree_release(t, c, now);
    }
    if (now) sc_node_free_now(t, n);
    else sc_node_retire(t, n);
}

void sc_trie_destroy(sc_fast_table *t, uintptr_t w)
{
    sc_subtree_release(t, w, true);
}

/* ---------------------------------------------------------------- counting */

static bool bits_match(const uint8_t *key, const uint8_t *q, unsigned from_byte, unsigned bits)
{
    if (bits <= from_byte * 8) return true;
    for (unsigned i = from_byte; i < bits / 8; i++)
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

/* Sum of the children whose key byte shares b's first `bits` bits (1..7). */
static uint64_t sum_run(const sc_node *n, int kind, uint8_t b, unsigned bits)
{
    uint8_t mask = (uint8_t)(0xFF00u >> bits);
    unsigned lo = b & mask, hi = lo | (uint8_t)~mask;
    const sc_slot *s = sc_slots_of_kind(n, kind);
    uint64_t sum = 0;
    if (kind == SC_N256) {
        for (unsigned k = lo; k <= hi; k++) sum += sc_count_of(&s[k]);
    } else if (sc_indexed(kind)) {
        for (unsigned k = lo; k <= hi; k++) {
            unsigned i = sc_index_at(n, k);
            if (i) sum += sc_count_of(&s[i - 1]);
        }
    } else {
        unsigned cnt = sc_entries(n);
        for (unsigned i = 0; i < cnt; i++)
            if (((sc_key_at(n, i) ^ b) & mask) == 0) sum += sc_count_of(&s[i]);
    }
    return sum;
}

uint64_t sc_trie_count(const sc_slot *top_slot, const uint8_t *q, unsigned len)
{
    const sc_slot *s = top_slot;
    unsigned from = SC_TOP_BITS / 8;
    for (;;) {
        uintptr_t w = sc_child_of(s);
        if (!w) return 0;
        if (sc_is_inline(w)) return inline_match(w, q, from, len) ? sc_count_of(s) : 0;
        /* The word names the node's depth and kind: its header line is read
         * only when compressed key bytes must be checked. */
        const sc_node *n = sc_node_of(w);
        unsigned depth = sc_word_depth(w), edge = depth * 8u;
        if (!bits_match(n->key, q, from, len < edge ? len : edge)) return 0;
        if (len <= edge) return sc_count_of(s);
        if (len < edge + 8) return sum_run(n, sc_word_kind(w), q[depth], len - edge);
        s = sc_find_in(n, sc_word_kind(w), q[depth]);
        if (!s) return 0;
        if (len == edge + 8) return sc_count_of(s);
        from = depth + 1u;
    }
}
