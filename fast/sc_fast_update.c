/*
 * sc_fast_update.c: opens and closes in the trie below one /16.  The
 * caller holds the slot's shard lock (sc_fast_table.c); readers do not, so
 * every change is made by filling a new node or entry and then publishing
 * it with one release store (sc_fast_trie.c explains the layout).
 *
 * A trie hangs from a root slot (sc_root: a /16 of a session tree's top, or
 * a first byte of a series window).  Both operations walk the path of slots
 * the address leads through, then act:
 *   add:   add n to every count on the path (a session open adds 1), then,
 *          when the address is new, hang a leaf where the path ends: in an
 *          empty root slot, in a node that lacks the branch (growing it when
 *          full), or under a new N2 where the address parts from a
 *          compressed key (a split);
 *   take:  take up to k, what the address holds at most, from every count
 *          on the path (a session close takes 1); the shallowest slot that
 *          reaches zero loses its subtree, and a node left with one child
 *          gives its place to that child (path compression restored).
 * Memory is allocated before any count changes, so running out of it in an
 * open changes nothing.
 */
#include <stdlib.h>

#include "sc_fast_node.h"

#define PATH_MAX_SLOTS 17   /* the top slot and one per remaining address byte */

/* A slot as a counter and a child word (in the top they lie apart:
 * sc_fast.h), and a wide slot's copy of its LEAF's bytes. */
typedef struct sc_ref {
    _Atomic uint64_t *count;
    _Atomic uintptr_t *child;
    _Atomic uint64_t *ext;   /* NULL: not a wide slot */
} sc_ref;

/* The slots an address leads through; slot 0 is the /16's. */
typedef struct sc_path {
    sc_ref slot[PATH_MAX_SLOTS];
    sc_node *holder[PATH_MAX_SLOTS];  /* the node holding slot i; NULL for the top */
    unsigned from[PATH_MAX_SLOTS];    /* first address byte slot i's position leaves open */
    unsigned len;
    uintptr_t end;            /* the child word of slot len - 1 */
    unsigned mismatch;        /* first byte where addr leaves end's key; its depth if none */
} sc_path;

/* Sets a counter's count, keeping its version. */
static void count_set(_Atomic uint64_t *c, uint64_t n)
{
    /* A load and a store, not an RMW: every writer of this counter holds
     * the shard lock, whose release orders them for the next writer; so
     * relaxed suffices for both. */
    uint64_t v = atomic_load_explicit(c, memory_order_relaxed);
    atomic_store_explicit(c, (v & ~SC_COUNT_MASK) | n, memory_order_relaxed);
}

static uint64_t path_count(const sc_path *p, unsigned i) { return sc_counter(p->slot[i].count); }

/* Copies the bytes of LEAF w into a wide slot's copy, before the slot
 * links it (the count reads them there: leaf_step, sc_fast_trie.c).  The
 * copy is written only while its slot holds no LEAF (empty, a node, or not
 * yet published), never under a LEAF a count may be checking. */
static void note_leaf(_Atomic uint64_t *ext, uintptr_t w)
{
    if (!ext || !w || sc_is_inline(w) || sc_word_kind(w) != SC_LEAF) return;
    uint64_t bytes[2] = {0, 0};
    memcpy(bytes, sc_word_key(w), sc_word_depth(w));   /* a LEAF's depth is its length */
    /* release (both): a count that reads either (acquire) sees the
     * version step that came before it (leaf_step's second read). */
    atomic_store_explicit(&ext[0], bytes[0], memory_order_release);
    atomic_store_explicit(&ext[1], bytes[1], memory_order_release);
}

static void relink(sc_ref r, uintptr_t w)
{
    note_leaf(r.ext, w);
    sc_relink(r.count, r.child, w);
}

/* Adds n (or, with a negative sign, takes n) along the whole path. */
static void path_add(const sc_path *p, uint64_t n, bool take)
{
    for (unsigned i = 0; i < p->len; i++)
        count_set(p->slot[i].count, take ? path_count(p, i) - n : path_count(p, i) + n);
}

static uintptr_t held_word(const _Atomic uintptr_t *at)
{
    /* relaxed: child words change only under the shard lock, which we hold
     * (its acquire made the last holder's nodes visible). */
    return atomic_load_explicit(at, memory_order_relaxed);
}

/* n as the writer sees it.  relaxed: n is written only under the shard
 * lock, which the caller holds. */
static unsigned held_entries(const sc_node *n)
{
    return atomic_load_explicit(&n->n, memory_order_relaxed);
}

static unsigned end_depth(uintptr_t w, unsigned alen)
{
    if (sc_is_pair(w)) return alen - 1;   /* it branches on the last byte */
    return sc_is_inline(w) ? alen : sc_word_depth(w);
}

static uint8_t end_byte(uintptr_t w, unsigned from, unsigned i)
{
    return sc_is_inline(w) ? sc_inline_byte(w, from, i) : sc_word_key(w)[i];
}

static bool is_leaf(uintptr_t w)
{
    return sc_is_inline(w) || sc_word_kind(w) == SC_LEAF;
}

/* The first byte in [j, end) where key and addr differ; end if none.
 * Eight bytes at a time: an IPv6 LEAF's 14 in two steps, not fourteen. */
static unsigned first_diff(const uint8_t *key, const uint8_t *addr, unsigned j, unsigned end)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    for (; j + 8 <= end; j += 8) {
        uint64_t a, b;
        memcpy(&a, key + j, 8);
        memcpy(&b, addr + j, 8);
        if (a != b) return j + (unsigned)__builtin_ctzll(a ^ b) / 8;   /* the lowest byte first */
    }
#endif
    while (j < end && key[j] == addr[j]) j++;
    return j;
}

/* The key bytes of node or LEAF word w, held in slot r: a LEAF's from the
 * wide slot's copy when it has one (the slot's line, already read), else
 * from the word's own memory. */
static const uint8_t *held_key(sc_ref r, uintptr_t w, uint8_t copy[16])
{
    if (!r.ext || sc_word_kind(w) != SC_LEAF) return sc_word_key(w);
    /* relaxed: the copy is written only under the shard lock, which we hold. */
    uint64_t b[2] = {atomic_load_explicit(&r.ext[0], memory_order_relaxed),
                     atomic_load_explicit(&r.ext[1], memory_order_relaxed)};
    memcpy(copy, b, 16);
    return copy;
}

static inline __attribute__((always_inline)) void
walk_in(sc_root r, const uint8_t *addr, unsigned alen, sc_path *p, bool may_wide)
{
    uint8_t copy[16];
    p->slot[0] = (sc_ref){r.count, r.child, NULL};
    p->holder[0] = NULL;
    p->from[0] = r.from;
    p->len = 1;
    for (;;) {
        unsigned from = p->from[p->len - 1];
        uintptr_t w = p->end = held_word(p->slot[p->len - 1].child);
        if (!w) return;
        unsigned depth = end_depth(w, alen), j = from;
        if (sc_is_inline(w))
            while (j < depth && sc_inline_byte(w, from, j) == addr[j]) j++;
        else if (may_wide)
            j = first_diff(held_key(p->slot[p->len - 1], w, copy), addr, from, depth);
        else
            j = first_diff(sc_word_key(w), addr, from, depth);
        p->mismatch = j;
        if (j < depth || is_leaf(w)) return;
        sc_node *n = sc_node_of(w);
        /* The word names kind and depth, so the slot's line is fetched at
         * once; the header line (children, written if this is where the
         * open or close acts) comes in alongside, not after it. */
        __builtin_prefetch(n, 1);
        bool wide = may_wide && sc_word_wide(w);
        sc_slot *s = sc_find_in(n, sc_word_kind(w), depth, wide, addr[depth]);
        if (!s || !held_word(&s->child)) return;   /* absent, or an emptied slot */
        p->holder[p->len] = n;
        p->from[p->len] = depth + 1;
        p->slot[p->len++] = (sc_ref){&s->count, &s->child, wide ? sc_slot_ext(s) : NULL};
    }
}

/* The path of addr below r; IPv4's compiled without wide nodes. */
static void walk(sc_root r, const uint8_t *addr, unsigned alen, sc_path *p)
{
    if (sc_may_be_wide(alen)) walk_in(r, addr, alen, p, true);
    else walk_in(r, addr, alen, p, false);
}

void sc_trie_prefetch(sc_root r, const uint8_t *addr)
{
    __builtin_prefetch(r.count, 1);
    /* relaxed: only a hint; the node it names may be replaced before we
     * hold the lock, and a prefetch of freed memory is harmless. */
    uintptr_t w = atomic_load_explicit(r.child, memory_order_relaxed);
    if (!w || sc_is_inline(w) || sc_word_kind(w) == SC_LEAF) return;
    const sc_node *n = sc_node_of(w);
    unsigned depth = sc_word_depth(w);
    int kind = sc_word_kind(w);
    __builtin_prefetch(n, 1);
    bool wide = sc_word_wide(w);
    if (kind == SC_N256)
        __builtin_prefetch(sc_slot_at(sc_slots_of_kind(n, kind, depth, wide), addr[depth], wide), 1);
    else if (sc_indexed(kind)) __builtin_prefetch(&sc_index(n, depth)[addr[depth]]);
}

/* A leaf word for `addr` in a slot whose position fixes bytes [0, from). */
static uintptr_t make_leaf(sc_fast_table *t, const uint8_t *addr, unsigned from, unsigned alen)
{
    if (sc_fits_inline(from, alen)) return sc_inline_leaf(addr, from, alen);
    return sc_leaf_new(t, addr, alen);
}

/* The whole address of an inline leaf that sits where `prefix` fixes bytes
 * [0, from). */
static void inline_address(uintptr_t w, const uint8_t *prefix, unsigned from, unsigned alen,
                           uint8_t *out)
{
    memcpy(out, prefix, from);
    for (unsigned i = from; i < alen; i++) out[i] = sc_inline_byte(w, from, i);
}

static uintptr_t pair_to_node(sc_fast_table *t, uintptr_t w, const uint8_t *prefix,
                              unsigned alen, int add, uint64_t n);

/* Moves a child word from a slot leaving bytes [from, ..) open to one
 * leaving [to, ..) open: nodes carry their own key; an inline leaf is
 * re-encoded (to > from: it still fits) or, moving up (to < from), may need
 * a LEAF node.  Returns 0 when out of memory. */
static uintptr_t rehome(sc_fast_table *t, uintptr_t w, const uint8_t *prefix, unsigned from,
                        unsigned to, unsigned alen)
{
    if (!sc_is_inline(w)) return w;
    if (sc_is_pair(w)) return pair_to_node(t, w, prefix, alen, -1, 0);
    uint8_t a[16];
    inline_address(w, prefix, from, alen, a);
    return make_leaf(t, a, to, alen);
}

/* Past this many children a node is an N256 even though an N128 would
 * hold them: a count then reads one line of the node (the slot) instead of
 * two (the index byte, then the slot), for 42 bytes a child instead of 24.
 * Shrinking back waits until 64 (half an N128), so churn never copies. */
#define SC_N256_FROM 97

/* The smallest kind that holds `children`, N256 from SC_N256_FROM on. */
static int kind_for(unsigned children)
{
    if (children >= SC_N256_FROM) return SC_N256;
    int kind = SC_N2;
    while (sc_slot_cap(kind) < children) kind++;
    return kind;
}

/* True when `b` has neither an emptied slot to revive nor room to append,
 * or the node is due to become an N256. */
static bool no_room(const sc_node *n, uint8_t b)
{
    if (n->kind == SC_N256 || sc_find(n, b)) return false;
    return n->children + 1u >= SC_N256_FROM || held_entries(n) == sc_slot_cap(n->kind);
}

/* Adds (b, count, child) to a node with room: in b's emptied slot if it has
 * one (a reader may be looking at it: it reads a zero count, then the
 * count, never another key's), else in the next unused slot. */
static void add_entry(sc_node *n, uint8_t b, uint64_t count, uintptr_t child)
{
    n->children++;
    sc_slot *s = n->kind == SC_N256 ? sc_slot_at(sc_slots(n), b, n->wide) : sc_find(n, b);
    bool revive = s != NULL;
    unsigned i = held_entries(n);
    if (!revive) s = sc_slot_at(sc_slots(n), i, n->wide);
    count_set(&s->count, count);
    note_leaf(n->wide ? sc_slot_ext(s) : NULL, child);
    if (revive) {
        sc_slot_link(s, child);
        return;
    }
    /* relaxed: the entry is published by the release store below. */
    atomic_store_explicit(&s->child, child, memory_order_relaxed);
    if (sc_indexed(n->kind)) {
        /* release: the slot is complete before the index names it. */
        atomic_store_explicit(&sc_index(n, n->depth)[b], (uint8_t)(i + 1), memory_order_release);
        /* relaxed: readers of indexed kinds never look at n. */
        atomic_store_explicit(&n->n, (uint16_t)(i + 1), memory_order_relaxed);
        return;
    }
    sc_key_set(n, i, b);   /* published by the release store of n */
    /* release: the entry is complete before readers count it in. */
    atomic_store_explicit(&n->n, (uint16_t)(i + 1), memory_order_release);
}

/* ---------------------------------------------------------------- pairs */

/* The pair as a node of depth alen - 1 (an N2, or an N4 when `add` names a
 * third last byte, which gets a count of n); 0 when out of memory. */
static uintptr_t pair_to_node(sc_fast_table *t, uintptr_t w, const uint8_t *prefix,
                              unsigned alen, int add, uint64_t n)
{
    sc_node *node = sc_node_new(t, add < 0 ? SC_N2 : SC_N4, alen - 1, prefix, alen);
    if (!node) return 0;
    uintptr_t leaf = sc_inline_leaf(prefix, alen, alen);   /* nothing left to hold */
    for (unsigned i = 0; i < 2; i++) add_entry(node, sc_pair_key(w, i), sc_pair_count(w, i), leaf);
    if (add >= 0) add_entry(node, (uint8_t)add, n, leaf);
    return sc_node_word(node);
}

/* Which member of pair w is addr (by its last byte), or -1. */
static int pair_member(uintptr_t w, const uint8_t *addr, unsigned alen)
{
    uint8_t b = addr[alen - 1];
    return sc_pair_key(w, 0) == b ? 0 : sc_pair_key(w, 1) == b ? 1 : -1;
}

/* An add that ends at a pair: a member's count goes up, or the pair
 * becomes an N2 (a count past its limit) or an N4 (a third address). */
static sc_status pair_add(sc_fast_table *t, const sc_path *p, const uint8_t *addr,
                          unsigned alen, uint64_t n)
{
    uintptr_t w = p->end, next;
    int m = pair_member(w, addr, alen);
    if (m >= 0 && sc_pair_count(w, (unsigned)m) + n <= SC_PAIR_MAX) {
        next = w + n * sc_pair_one((unsigned)m);
    } else {
        next = pair_to_node(t, w, addr, alen, m >= 0 ? -1 : addr[alen - 1], n);
        if (!next) return SC_E_NOMEM;
        if (m >= 0) {   /* the member past its limit gets its n in the node */
            sc_slot *s = sc_find(sc_node_of(next), addr[alen - 1]);
            count_set(&s->count, sc_count_of(s) + n);
        }
    }
    relink(p->slot[p->len - 1], next);   /* linked first, as in sc_trie_add */
    path_add(p, n, false);
    return SC_OK;
}

/* A take that ends at a pair: a member's count goes down (by at most what
 * it holds); a member that reaches zero leaves the other as a plain inline
 * leaf. */
static sc_status pair_take(const sc_path *p, const uint8_t *addr, unsigned alen, uint64_t k,
                           uint64_t *taken)
{
    uintptr_t w = p->end, next;
    int m = pair_member(w, addr, alen);
    if (m < 0) return SC_E_NOT_OPEN;
    uint64_t held = sc_pair_count(w, (unsigned)m);
    if (held > k) {
        next = w - k * sc_pair_one((unsigned)m);
    } else {
        uint8_t other[16];
        memcpy(other, addr, alen);
        other[alen - 1] = sc_pair_key(w, (unsigned)(1 - m));
        next = sc_inline_leaf(other, alen - 1, alen);
        k = held;
    }
    path_add(p, k, true);
    relink(p->slot[p->len - 1], next);
    *taken = k;
    return SC_OK;
}

/* An add that parts from an inline leaf at the last byte, in a slot that
 * fixes every other byte, makes a pair instead of an N2. */
static bool pairs_with(const sc_path *p, unsigned alen, uint64_t n)
{
    unsigned last = p->len - 1;
    return p->end && sc_is_inline(p->end) && !sc_is_pair(p->end) && p->from[last] == alen - 1 &&
           p->mismatch == alen - 1 && path_count(p, last) <= SC_PAIR_MAX && n <= SC_PAIR_MAX;
}

/* Runs body for every child of n, with its key byte, slot and word. */
#define FOR_EACH_CHILD(n, key, slot, word, body)                                          \
    do {                                                                                  \
        sc_slot *s_ = sc_slots(n);                                                        \
        for (unsigned k_ = 0; k_ < 256; k_++) {                                           \
            sc_slot *slot = NULL;                                                         \
            if ((n)->kind == SC_N256) slot = sc_slot_at(s_, k_, (n)->wide);               \
            else if (sc_indexed((n)->kind)) {                                             \
                unsigned i_ = sc_index_at(n, (n)->depth, k_);                             \
                slot = i_ ? sc_slot_at(s_, i_ - 1, (n)->wide) : NULL;                     \
            } else if (k_ < held_entries(n)) slot = sc_slot_at(s_, k_, (n)->wide);        \
            else break;                                                                   \
            uintptr_t word = slot ? sc_child_of(slot) : 0;                                \
            if (!word) continue;                                                          \
            uint8_t key = sc_listed((n)->kind) ? sc_key_at(n, (n)->depth, k_)            \
                                               : (uint8_t)k_;                             \
            body;                                                                         \
        }                                                                                 \
    } while (0)

/* Copies every child of `from` except key `skip` (-1: none) into `to`. */
static void copy_entries(const sc_node *from, sc_node *to, int skip)
{
    FOR_EACH_CHILD(from, key, slot, word, {
        if (key != skip) add_entry(to, key, sc_count_of(slot), word);
    });
}

sc_status sc_trie_add(sc_fast_table *t, sc_root r, const uint8_t *addr, unsigned alen,
                      uint64_t n)
{
    sc_path p;
    walk(r, addr, alen, &p);
    /* Every counter on the path is at most the root's (SC_COUNT_BITS). */
    if (n > SC_COUNT_MASK || path_count(&p, 0) > SC_COUNT_MASK - n) return SC_E_NOMEM;
    if (p.end && sc_is_pair(p.end)) return pair_add(t, &p, addr, alen, n);
    unsigned last = p.len - 1;
    if (pairs_with(&p, alen, n)) {
        uintptr_t w = sc_pair(sc_inline_byte(p.end, alen - 1, alen - 1), path_count(&p, last),
                              addr[alen - 1], n);
        relink(p.slot[last], w);
        path_add(&p, n, false);
        return SC_OK;
    }
    bool same = p.end && is_leaf(p.end) && p.mismatch == alen;
    bool split = p.end && !same && p.mismatch < end_depth(p.end, alen);
    bool grow = p.end && !same && !split &&
                no_room(sc_node_of(p.end), addr[end_depth(p.end, alen)]);
    unsigned leaf_from = !p.end ? p.from[last] : split ? p.mismatch + 1 : end_depth(p.end, alen) + 1;
    uintptr_t leaf = 0, old = p.end;
    sc_node *fresh = NULL;
    /* Allocate first, so that running out of memory changes nothing. */
    if (!same && !(leaf = make_leaf(t, addr, leaf_from, alen))) return SC_E_NOMEM;
    if (split) {
        fresh = sc_node_new(t, SC_N2, p.mismatch, addr, alen);
        old = rehome(t, p.end, addr, p.from[last], p.mismatch + 1, alen);
    } else if (grow) {
        sc_node *n = sc_node_of(p.end);
        /* The next kind up, or the same one without its emptied slots. */
        fresh = sc_node_new(t, kind_for(n->children + 1u), n->depth, sc_key(n), alen);
    }
    if ((split || grow) && !fresh) {
        sc_subtree_release(t, leaf, true);
        return SC_E_NOMEM;
    }
    /* The new child is linked before the counts go up: a count that sees
     * a slot's new counter sees the child it covers (sc_trie_count).  A
     * close goes the other way (counts, then unlink): the counter then
     * covers no more than the child a count may still see. */
    sc_ref at = p.slot[last];
    if (same) {
        /* only the counts change */
    } else if (!p.end) {
        relink(at, leaf);
    } else if (split) {
        add_entry(fresh, end_byte(p.end, p.from[last], p.mismatch), path_count(&p, last), old);
        add_entry(fresh, addr[p.mismatch], n, leaf);
        relink(at, sc_node_word(fresh));
    } else {
        sc_node *node = sc_node_of(p.end);
        if (grow) {
            copy_entries(node, fresh, -1);
            add_entry(fresh, addr[node->depth], n, leaf);
            relink(at, sc_node_word(fresh));
            sc_node_retire(t, node);
        } else {
            add_entry(node, addr[node->depth], n, leaf);
        }
    }
    path_add(&p, n, false);
    return SC_OK;
}

/* The holder's only other child takes the holder's place in `up`.  Returns
 * false when out of memory (an inline leaf moving up that no longer fits). */
static bool collapse(sc_fast_table *t, sc_ref up, unsigned up_from, sc_node *holder,
                     uint8_t gone, unsigned alen)
{
    uintptr_t other = 0;
    uint8_t other_key = 0;
    FOR_EACH_CHILD(holder, key, slot, word, {
        (void)slot;
        if (key != gone) { other = word; other_key = key; }
    });
    uint8_t prefix[16];
    memcpy(prefix, sc_key(holder), holder->depth);
    prefix[holder->depth] = other_key;
    uintptr_t moved = rehome(t, other, prefix, holder->depth + 1u, up_from, alen);
    if (!moved) return false;
    relink(up, moved);
    sc_node_retire(t, holder);
    return true;
}

/* A copy of the holder without `b`, in the smallest kind that fits, once
 * it has fallen to half of the next smaller kind (hysteresis, so that
 * churn around a size never copies). */
static bool shrink(sc_fast_table *t, sc_ref up, sc_node *holder, uint8_t b, unsigned alen)
{
    unsigned left = holder->children - 1u;
    if (holder->kind <= SC_N4 || left > sc_slot_cap(holder->kind - 1) / 2) return false;
    sc_node *fresh = sc_node_new(t, kind_for(left), holder->depth, sc_key(holder), alen);
    if (!fresh) return false;
    copy_entries(holder, fresh, b);
    relink(up, sc_node_word(fresh));
    sc_node_retire(t, holder);
    return true;
}

/* Unlinks the holder's emptied child `b`: the last other child moves up, a
 * node well below its kind's size is copied smaller, and otherwise b's slot
 * is emptied in place (also the fallback when memory runs out: a one-child
 * node is still a correct one). */
static void remove_child(sc_fast_table *t, sc_ref up, unsigned up_from, sc_node *holder,
                         uint8_t b, unsigned alen)
{
    if (holder->children == 2 && collapse(t, up, up_from, holder, b, alen)) return;
    if (shrink(t, up, holder, b, alen)) return;
    sc_slot *s = holder->kind == SC_N256 ? sc_slot_at(sc_slots(holder), b, holder->wide)
                                         : sc_find(holder, b);
    sc_slot_link(s, 0);   /* its count is already zero */
    holder->children--;
}

sc_status sc_trie_take(sc_fast_table *t, sc_root r, const uint8_t *addr, unsigned alen,
                       uint64_t want, uint64_t *taken)
{
    sc_path p;
    walk(r, addr, alen, &p);
    if (p.end && sc_is_pair(p.end)) return pair_take(&p, addr, alen, want, taken);
    uint64_t held = p.end ? path_count(&p, p.len - 1) : 0;
    if (!p.end || !is_leaf(p.end) || p.mismatch != alen || held == 0) return SC_E_NOT_OPEN;
    *taken = want < held ? want : held;
    path_add(&p, *taken, true);
    /* Counts never grow down the path, so the shallowest zero heads the
     * whole emptied part. */
    unsigned k = 0;
    while (k < p.len && path_count(&p, k) != 0) k++;
    if (k == p.len) return SC_OK;
    uintptr_t gone = held_word(p.slot[k].child);
    if (k == 0) {
        relink(p.slot[0], 0);
    } else {
        sc_node *holder = p.holder[k];
        remove_child(t, p.slot[k - 1], p.from[k - 1], holder, addr[holder->depth], alen);
    }
    sc_subtree_release(t, gone, false);
    return SC_OK;
}
