/*
 * sc_fast_trie.c: the counting trie below one top slot.
 *
 * LAYOUT
 * A tree (one per service and family) starts with a direct-indexed top of
 * 2^16 slots, one per /16.  A slot is a counter and a child pointer: the
 * counter holds the number of open sessions whose address lies under the
 * slot's prefix; the child is the subtree that holds them.  Below the top,
 * the trie branches one address byte at a time (8-bit strides) through
 * adaptive nodes, ART-style:
 *
 *     top[0x0a00]  count 5 ─┐                 10.0.0.0/16 holds 5 sessions
 *                           ▼
 *            N4  depth 2, key 0a.00 ........  branches on byte 2
 *            ├─ 0x01 count 3 ─► N4 depth 3 ─┬─ 0x07 count 2 ─► LEAF 10.0.1.7
 *            │                              └─ 0x09 count 1 ─► LEAF 10.0.1.9
 *            └─ 0x05 count 2 ─► LEAF 10.0.5.1  (path compressed: byte 3 is
 *                                               checked at the leaf)
 *
 * Every node holds `key`, the address bytes [0, depth) shared by all below
 * it, and branches on byte `depth`.  A child may sit deeper than its
 * parent's depth + 1: the bytes in between are compressed into its key, so a
 * lone IPv6 /128 costs one leaf, not a node per byte.  A leaf is a node of
 * depth = address length whose key is the whole address; its count is the
 * count in the slot that points to it (sessions may share an address).
 * Node kinds: N4 and N16 (unsorted keys plus slots), N256 (a slot per byte
 * value) and LEAF (no slots).
 *
 * INVARIANTS (under the shard lock, between operations)
 *  - a slot's count equals the sum of its child's slot counts (a leaf: the
 *    sessions at its address) and is never zero while the child is linked,
 *    except after an allocation failure in close (see remove_leaf);
 *  - an internal node has at least two children, so the trie never holds a
 *    chain of single-child nodes;
 *  - N4/N16 entries [0, n) are immutable once published: they are added by
 *    writing the entry and then n (release), and removed only by copying the
 *    node (copy-on-write).  N256 adds and removes in place.
 *
 * COUNTING a prefix of length L walks from the top slot: at each node it
 * checks the compressed key bytes against the prefix (up to L bits); when L
 * ends at or before the node's depth, the answer is the count of the slot it
 * came through.  When L ends inside the node's stride, the answer is the sum
 * of the counts of the children whose key shares the prefix's first
 * L - 8 * depth bits of that byte: a contiguous run in an N256.  So a count
 * never descends below the node where its length ends and costs at most one
 * node per address byte, whatever the number of sessions.
 *
 * CONCURRENCY.  Opens and closes of one top slot (a shard) run under that
 * shard's lock (sc_fast_table.c), so counters are updated with plain atomic
 * stores, not read-modify-writes, and structural changes need no retries.
 * Counts take no lock: they run inside an RCU read-side section (liburcu's
 * bp flavor) and read only atomics.  A structural change builds the new node
 * completely, publishes it with a release store of the parent's child
 * pointer, and hands the node it replaced to call_rcu, which frees it once
 * every reader that might still be walking it has left its section.  A
 * reader on an old node sees the counts as they were when it was replaced:
 * every update it misses finished after the count began.
 */
#include <stdlib.h>
#include <string.h>
#include <urcu/urcu-bp.h>

#include "sc_fast.h"
#include "sc_tsan.h"

#ifdef SC_TSAN
char sc_tsan_grace;
#endif

enum { SC_LEAF, SC_N4, SC_N16, SC_N256 };

typedef struct sc_node {
    struct rcu_head rcu;
    uint8_t kind;
    uint8_t depth;             /* the byte this node branches on; a leaf: address length */
    _Atomic uint16_t n;        /* entries (N4/N16) or children (N256) */
    uint8_t key[16];           /* address bytes [0, depth) */
    uint8_t keys[];            /* N4/N16: keys[cap], then the slots */
} sc_node;

static unsigned key_cap(int kind) { return kind == SC_N4 ? 4 : kind == SC_N16 ? 16 : 0; }
static unsigned slot_cap(int kind) { return kind == SC_N256 ? 256 : key_cap(kind); }

static size_t slots_offset(int kind)
{
    size_t off = offsetof(sc_node, keys) + key_cap(kind);
    return (off + 7) & ~(size_t)7;
}

static size_t node_size(int kind)
{
    return kind == SC_LEAF ? sizeof(sc_node)
                           : slots_offset(kind) + slot_cap(kind) * sizeof(sc_slot);
}

static sc_slot *slots_of(const sc_node *n)
{
    return (sc_slot *)((char *)(uintptr_t)n + slots_offset(n->kind));
}

static sc_node *node_new(sc_fast_table *t, int kind, unsigned depth, const uint8_t *key)
{
    size_t size = node_size(kind);
    sc_node *n = calloc(1, size);
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

/* Frees after a grace period; the bytes stop counting now, since the node
 * is no longer part of the table. */
static void node_retire(sc_fast_table *t, sc_node *n)
{
    sc_bytes_add(t, -(int64_t)node_size(n->kind));
    sc_tsan_retire(n);
    urcu_bp_call_rcu(&n->rcu, node_free_rcu);
}

static void node_free_now(sc_fast_table *t, sc_node *n)
{
    sc_bytes_add(t, -(int64_t)node_size(n->kind));
    free(n);
}

/* ---------------------------------------------------------------- slots */

static uint64_t count_of(const sc_slot *s)
{
    /* relaxed: a count is one counter's value; no other memory is read
     * through it. */
    return atomic_load_explicit(&s->count, memory_order_relaxed);
}

static void count_set(sc_slot *s, uint64_t v)
{
    /* relaxed store, not an RMW: every writer of this counter holds the
     * shard lock, whose release orders it for the next writer. */
    atomic_store_explicit(&s->count, v, memory_order_relaxed);
}

static sc_node *child_of(const sc_slot *s)
{
    /* acquire: pairs with slot_link()'s release so the node's contents are
     * visible before we read them (a consume, free on every target). */
    return atomic_load_explicit(&s->child, memory_order_acquire);
}

static void slot_link(sc_slot *s, sc_node *n)
{
    /* release: publishes a fully built node to lock-free readers. */
    atomic_store_explicit(&s->child, n, memory_order_release);
}

static unsigned entries(const sc_node *n)
{
    /* acquire: pairs with add_entry()'s release so entries [0, n) are
     * complete before a reader looks at them. */
    return atomic_load_explicit(&n->n, memory_order_acquire);
}

/* n as the writer sees it, and its update for N256 (where readers never
 * look at n).  relaxed: n is written only under the shard lock, which the
 * caller holds, so the lock already orders it. */
static unsigned held_entries(const sc_node *n)
{
    return atomic_load_explicit(&n->n, memory_order_relaxed);
}

static void set_children(sc_node *n, unsigned v)
{
    atomic_store_explicit(&n->n, (uint16_t)v, memory_order_relaxed);
}

/* The slot for key byte b, or NULL when the node has no such child. */
static sc_slot *find(const sc_node *n, uint8_t b)
{
    sc_slot *s = slots_of(n);
    if (n->kind == SC_N256) return child_of(&s[b]) ? &s[b] : NULL;
    unsigned cnt = entries(n);
    for (unsigned i = 0; i < cnt; i++)
        if (n->keys[i] == b) return &s[i];
    return NULL;
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

/* Sum of the children whose key byte shares b's first `bits` bits (1..7). */
static uint64_t sum_run(const sc_node *n, uint8_t b, unsigned bits)
{
    uint8_t mask = (uint8_t)(0xFF00u >> bits);
    const sc_slot *s = slots_of(n);
    uint64_t sum = 0;
    if (n->kind == SC_N256) {
        unsigned lo = b & mask, hi = lo | (uint8_t)~mask;
        for (unsigned k = lo; k <= hi; k++) sum += count_of(&s[k]);
        return sum;
    }
    unsigned cnt = entries(n);
    for (unsigned i = 0; i < cnt; i++)
        if (((n->keys[i] ^ b) & mask) == 0) sum += count_of(&s[i]);
    return sum;
}

uint64_t sc_trie_count(const sc_slot *top_slot, const uint8_t *q, unsigned len)
{
    const sc_slot *s = top_slot;
    unsigned from = SC_TOP_BITS / 8;
    for (;;) {
        const sc_node *n = child_of(s);
        if (!n) return 0;
        unsigned edge = n->depth * 8u;
        if (!bits_match(n->key, q, from, len < edge ? len : edge)) return 0;
        if (len <= edge) return count_of(s);
        if (len < edge + 8) return sum_run(n, q[n->depth], len - edge);
        s = find(n, q[n->depth]);
        if (!s) return 0;
        if (len == edge + 8) return count_of(s);
        from = n->depth + 1u;
    }
}

/* ---------------------------------------------------------------- updates */

/* The path of slots from the top slot to where `addr` leads. */
typedef struct sc_path {
    sc_slot *slot[17];        /* slot[0] is the top slot */
    sc_node *holder[17];      /* the node that holds slot[i] (NULL for the top) */
    unsigned len;
    sc_node *end;             /* what slot[len - 1] links to, maybe NULL */
    unsigned mismatch;        /* first byte where addr leaves end's key, else its depth */
} sc_path;

static void walk(sc_slot *top_slot, const uint8_t *addr, sc_path *p)
{
    p->slot[0] = top_slot;
    p->holder[0] = NULL;
    p->len = 1;
    unsigned from = SC_TOP_BITS / 8;
    for (;;) {
        sc_node *n = p->end = child_of(p->slot[p->len - 1]);
        if (!n) return;
        unsigned j = from;
        while (j < n->depth && n->key[j] == addr[j]) j++;
        p->mismatch = j;
        if (j < n->depth || n->kind == SC_LEAF) return;
        sc_slot *s = find(n, addr[n->depth]);
        if (!s) return;
        p->holder[p->len] = n;
        p->slot[p->len++] = s;
        from = n->depth + 1u;
    }
}

static bool path_is_leaf(const sc_path *p, unsigned addr_bytes)
{
    return p->end && p->end->kind == SC_LEAF && p->mismatch == addr_bytes;
}

static bool node_full(const sc_node *n)
{
    return n->kind != SC_N256 && held_entries(n) == key_cap(n->kind);
}

/* Appends (b, count, child) to a node with room. */
static void add_entry(sc_node *n, uint8_t b, uint64_t count, sc_node *child)
{
    sc_slot *s = slots_of(n);
    unsigned i = held_entries(n);
    if (n->kind == SC_N256) {
        count_set(&s[b], count);
        slot_link(&s[b], child);
        set_children(n, i + 1);
        return;
    }
    n->keys[i] = b;
    count_set(&s[i], count);
    /* relaxed: the entry is published by the release store of n below. */
    atomic_store_explicit(&s[i].child, child, memory_order_relaxed);
    /* release: the entry is complete before readers count it in. */
    atomic_store_explicit(&n->n, (uint16_t)(i + 1), memory_order_release);
}

/* Copies every child of `from` except key `skip` (-1: none) into `to`. */
static void copy_entries(const sc_node *from, sc_node *to, int skip)
{
    const sc_slot *s = slots_of(from);
    unsigned cnt = from->kind == SC_N256 ? 256 : entries(from);
    for (unsigned i = 0; i < cnt; i++) {
        sc_node *c = child_of(&s[i]);
        unsigned key = from->kind == SC_N256 ? i : from->keys[i];
        if (c && (int)key != skip) add_entry(to, (uint8_t)key, count_of(&s[i]), c);
    }
}

sc_status sc_trie_open(sc_fast_table *t, sc_slot *top_slot, const uint8_t *addr,
                       unsigned addr_bytes)
{
    sc_path p;
    walk(top_slot, addr, &p);
    bool same = path_is_leaf(&p, addr_bytes);
    bool split = p.end && !same && p.mismatch < p.end->depth;
    bool grow = p.end && !same && !split && node_full(p.end);
    sc_node *leaf = NULL, *fresh = NULL;
    /* Allocate first, so that running out of memory changes nothing. */
    if (!same && !(leaf = node_new(t, SC_LEAF, addr_bytes, addr))) return SC_E_NOMEM;
    if (split) fresh = node_new(t, SC_N4, p.mismatch, addr);
    if (grow) fresh = node_new(t, p.end->kind == SC_N4 ? SC_N16 : SC_N256, p.end->depth,
                               p.end->key);
    if ((split || grow) && !fresh) {
        node_free_now(t, leaf);
        return SC_E_NOMEM;
    }
    for (unsigned i = 0; i < p.len; i++) count_set(p.slot[i], count_of(p.slot[i]) + 1);
    sc_slot *last = p.slot[p.len - 1];
    if (same) return SC_OK;
    if (!p.end) {
        slot_link(last, leaf);
    } else if (split) {
        add_entry(fresh, p.end->key[p.mismatch], count_of(last) - 1, p.end);
        add_entry(fresh, addr[p.mismatch], 1, leaf);
        slot_link(last, fresh);
    } else if (grow) {
        copy_entries(p.end, fresh, -1);
        add_entry(fresh, addr[p.end->depth], 1, leaf);
        slot_link(last, fresh);
        node_retire(t, p.end);
    } else {
        add_entry(p.end, addr[p.end->depth], 1, leaf);
    }
    return SC_OK;
}

/* Unlinks the holder's emptied child `b`; `up` is the slot that links the
 * holder.  Returns false when it could not (out of memory). */
static bool remove_child(sc_fast_table *t, sc_slot *up, sc_node *holder, uint8_t b)
{
    unsigned left = held_entries(holder) - 1u;
    sc_slot *s = slots_of(holder);
    if (left == 1) {
        /* Collapse: the last child takes the holder's place, and its key
         * already carries the bytes the holder compressed. */
        sc_node *other = NULL;
        unsigned cnt = holder->kind == SC_N256 ? 256 : left + 1;
        for (unsigned i = 0; i < cnt; i++) {
            unsigned key = holder->kind == SC_N256 ? i : holder->keys[i];
            sc_node *c = child_of(&s[i]);
            if (c && key != b) other = c;
        }
        slot_link(up, other);
        node_retire(t, holder);
        return true;
    }
    if (holder->kind == SC_N256 && left > 12) {
        slot_link(&s[b], NULL);   /* its count is already zero */
        set_children(holder, left);
        return true;
    }
    sc_node *fresh = node_new(t, left <= 4 ? SC_N4 : SC_N16, holder->depth, holder->key);
    /* Out of memory: keep the emptied leaf linked with a zero count.
     * Counts stay exact; only its memory waits until it is reused. */
    if (!fresh) return false;
    copy_entries(holder, fresh, b);
    slot_link(up, fresh);
    node_retire(t, holder);
    return true;
}

sc_status sc_trie_close(sc_fast_table *t, sc_slot *top_slot, const uint8_t *addr,
                        unsigned addr_bytes)
{
    sc_path p;
    walk(top_slot, addr, &p);
    sc_slot *last = p.slot[p.len - 1];
    if (!path_is_leaf(&p, addr_bytes) || count_of(last) == 0) return SC_E_NOT_OPEN;
    for (unsigned i = 0; i < p.len; i++) count_set(p.slot[i], count_of(p.slot[i]) - 1);
    if (count_of(last) != 0) return SC_OK;
    sc_node *leaf = p.end;
    if (p.len == 1) {
        slot_link(last, NULL);
    } else {
        sc_node *holder = p.holder[p.len - 1];
        if (!remove_child(t, p.slot[p.len - 2], holder, addr[holder->depth])) return SC_OK;
    }
    node_retire(t, leaf);
    return SC_OK;
}

void sc_trie_destroy(sc_fast_table *t, sc_node *n)
{
    if (!n) return;
    if (n->kind != SC_LEAF) {
        sc_slot *s = slots_of(n);
        unsigned cnt = n->kind == SC_N256 ? 256 : entries(n);
        for (unsigned i = 0; i < cnt; i++) sc_trie_destroy(t, child_of(&s[i]));
    }
    node_free_now(t, n);
}
