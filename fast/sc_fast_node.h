/*
 * sc_fast_node.h: the trie's nodes and child words, shared by the counting
 * walk (sc_fast_trie.c) and the updates (sc_fast_update.c).  The layout and
 * its invariants are described at the top of sc_fast_trie.c.
 */
#ifndef SC_FAST_NODE_H
#define SC_FAST_NODE_H

#include <string.h>
#include "sc_rcu.h"

#include "sc_fast.h"
#include "sc_fast_inspect.h"

_Static_assert(sizeof(uintptr_t) == 8, "inline leaves need 64-bit child words");

/* Kinds in growing order (a full node grows into the next one):
 * SC_LEAF ... SC_N256, in sc_fast_inspect.h with the other shapes. */

/* An inner node: an 8-byte header, then its key (the `depth` address bytes
 * it fixes), its key list or index, and its slots, 16-aligned: every offset
 * follows from kind and depth, which the child word carries.  A LEAF is no sc_node at all: it is the
 * bare address (4 or 16 bytes); its child word says what it is.  Nodes
 * carry no rcu_head: retired memory is batched per CPU (sc_fast_mem.c). */
typedef struct sc_node {
    uint8_t kind;
    uint8_t depth;             /* the byte this node branches on */
    _Atomic uint16_t n;        /* slots used, in order (listed, indexed kinds) */
    uint16_t children;         /* live children; writers only, under the shard lock */
    uint8_t wide;              /* slots of 32 bytes, with a copy of a LEAF's bytes */
    uint8_t unused;
    uint8_t mem[];             /* key[depth], then (4-aligned) listed keys or index[256] */
} sc_node;
_Static_assert(((sizeof(sc_node) + 7 + 3) & ~3u) + 16 <= 32 &&
                   ((sizeof(sc_node) + 7 + 3) & ~3u) + 256 <= 288,
               "a wide node's slots start at 32 (listed, N256) or 288 (indexed)");

/* N2/N4/N8/N16 list their keys; N48/N128 index 256 key bytes into slots. */
static inline bool sc_listed(int kind) { return kind >= SC_N2 && kind <= SC_N16; }
static inline bool sc_indexed(int kind) { return kind == SC_N48 || kind == SC_N128; }

static inline unsigned sc_slot_cap(int kind)
{
    static const unsigned cap[] = {[SC_LEAF] = 0, [SC_N2] = 2,    [SC_N4] = 4,
                                   [SC_N8] = 8,   [SC_N16] = 16,  [SC_N48] = 48,
                                   [SC_N128] = 128, [SC_N256] = 256};
    return cap[kind];
}

/* A listed node's keys are 4-byte words, read and written whole
 * (sc_key_quad): one for an N2 or N4, two for an N8, four for an N16,
 * from a 4-aligned offset.  That costs no node a byte: every node's slots
 * start on the same 16 as with its keys packed after its key. */
static inline unsigned sc_key_bytes(int kind)
{
    static const unsigned bytes[] = {[SC_LEAF] = 0, [SC_N2] = 4,     [SC_N4] = 4,
                                     [SC_N8] = 8,   [SC_N16] = 16,   [SC_N48] = 256,
                                     [SC_N128] = 256, [SC_N256] = 0};
    return bytes[kind];
}

/* Where a node's key words or index start: after the header and its key,
 * 4-aligned. */
static inline size_t sc_keys_offset(unsigned depth)
{
    return (offsetof(sc_node, mem) + depth + 3) & ~(size_t)3;
}

/* A WIDE node's slots are 32 bytes, 32-aligned so that none straddles a
 * line: the counter, the child word, and a copy of the 16 bytes of the
 * LEAF the child word names (sc_slot_ext).  A count of an address below
 * such a slot checks those bytes on the line it read the counter from,
 * not on the LEAF's own line: one DRAM miss fewer on every IPv6 count that
 * ends at a LEAF below the top.  A node is wide when its children's leaves
 * cannot be inline (sc_wide_at): IPv6 nodes of depth 2 to 7
 * (1 to 7 in a series, whose roots fix one byte). */
static inline size_t sc_slots_offset(int kind, unsigned depth, bool wide)
{
    /* Wide: depth < 8, so the header, key and up to 16 listed keys (from
     * 16) end within 32 bytes, the header, key and an index within 288. */
    if (wide) return sc_indexed(kind) ? 288 : 32;
    /* 16-aligned, as malloc's blocks are: no 16-byte slot straddles two
     * lines. */
    return (sc_keys_offset(depth) + sc_key_bytes(kind) + 15) & ~(size_t)15;
}


/* A LEAF's depth is its address length. */
static inline size_t sc_node_size(int kind, unsigned depth, bool wide)
{
    return kind == SC_LEAF ? depth
                           : sc_slots_offset(kind, depth, wide) +
                                 ((size_t)sc_slot_cap(kind) * sizeof(sc_slot) << wide);
}

static inline const uint8_t *sc_key(const sc_node *n) { return n->mem; }

/* An indexed node's index: 256 bytes, slot + 1 of each key byte (0: none). */
static inline _Atomic uint8_t *sc_index(const sc_node *n, unsigned depth)
{
    return (_Atomic uint8_t *)((uintptr_t)n + sc_keys_offset(depth));
}

static inline sc_slot *sc_slots_of_kind(const sc_node *n, int kind, unsigned depth, bool wide)
{
    return (sc_slot *)((uintptr_t)n + sc_slots_offset(kind, depth, wide));
}

/* Slot i of the array at `base`: 16 or (wide) 32 bytes apart. */
static inline sc_slot *sc_slot_at(const sc_slot *base, unsigned i, bool wide)
{
    return (sc_slot *)(uintptr_t)(base + ((size_t)i << wide));
}

/* A wide slot's copy of its LEAF's bytes: two words after the slot. */
static inline _Atomic uint64_t *sc_slot_ext(const sc_slot *s)
{
    return (_Atomic uint64_t *)(uintptr_t)(s + 1);
}

static inline sc_slot *sc_slots(const sc_node *n)
{
    return sc_slots_of_kind(n, n->kind, n->depth, n->wide);
}

/* ---------------------------------------------------------------- words */

/* A child word is 0 (no child), a node, or an inline leaf.
 *  - An inline leaf (low bit 1) holds the address bytes [from, len) of the
 *    one address below in bits 8.., where `from` is the first byte the
 *    slot's position does not fix (2 in the top, depth + 1 in a node).  Up
 *    to 7 bytes fit: every IPv4 leaf, every IPv6 leaf below byte 8.
 *  - A node word (low bit 0) holds the node's address in bits 0..47 (user
 *    addresses on x86-64 and arm64 fit; sc_node_new refuses any other), its
 *    depth in bits 48..54, whether it is wide in bit 55 and its kind in
 *    bits 56..63, so that a count reads the node's slot without first
 *    reading the node's header line.  A LEAF word has kind SC_LEAF and the
 *    address length as its depth. */
#define SC_WORD_ADDR_BITS 48
static inline bool sc_is_inline(uintptr_t w) { return w & 1; }
static inline sc_node *sc_node_of(uintptr_t w)
{
    return (sc_node *)(w & (((uintptr_t)1 << SC_WORD_ADDR_BITS) - 1));
}
static inline unsigned sc_word_depth(uintptr_t w) { return (unsigned)(w >> 48) & 0x7F; }
static inline bool sc_word_wide(uintptr_t w) { return (w >> 55) & 1; }
static inline int sc_word_kind(uintptr_t w) { return (int)(w >> 56); }
static inline uintptr_t sc_node_word(const sc_node *n)
{
    return (uintptr_t)n | (uintptr_t)n->depth << 48 | (uintptr_t)n->wide << 55 |
           (uintptr_t)n->kind << 56;
}
static inline uintptr_t sc_leaf_word(const uint8_t *addr, unsigned alen)
{
    return (uintptr_t)addr | (uintptr_t)alen << 48 | (uintptr_t)SC_LEAF << 56;
}
/* What a child word is, as sc_fast_inspect.h names it: a node kind
 * (SC_LEAF for a LEAF), SC_SHAPE_PAIR or SC_SHAPE_INLINE. */
static inline int sc_word_shape(uintptr_t w)
{
    return (w & 3) == 3 ? SC_SHAPE_PAIR : (w & 1) ? SC_SHAPE_INLINE : sc_word_kind(w);
}

/* The key bytes of a node or LEAF word: [0, depth) are the prefix it fixes. */
static inline const uint8_t *sc_word_key(uintptr_t w)
{
    const uint8_t *p = (const uint8_t *)sc_node_of(w);
    return sc_word_kind(w) == SC_LEAF ? p : p + offsetof(sc_node, mem);
}

static inline bool sc_fits_inline(unsigned from, unsigned len) { return len - from <= 7; }

static inline uintptr_t sc_inline_leaf(const uint8_t *addr, unsigned from, unsigned len)
{
    uintptr_t w = 1;
    for (unsigned i = from; i < len; i++) w |= (uintptr_t)addr[i] << (8 * (1 + i - from));
    return w;
}

static inline uint8_t sc_inline_byte(uintptr_t w, unsigned from, unsigned i)
{
    return (uint8_t)(w >> (8 * (1 + i - from)));
}

/* A pair: two addresses that share every byte but the last, in a slot
 * whose position fixes all bytes but the last (from == alen - 1: below an
 * IPv4 node of depth 2, the common case of two sessions in one /24 of a
 * dense /16).  The word holds both last bytes and both counts, so such a
 * pair costs no node and a count reads no further line:
 *     bits 0-1: 3 | 8-15: key 0 | 16-23: key 1 | 24-43: count 0 | 44-63: count 1
 * A member count that would pass SC_PAIR_MAX turns the pair into an N2. */
#define SC_PAIR_MAX ((1u << 20) - 1)
static inline bool sc_is_pair(uintptr_t w) { return (w & 3) == 3; }
static inline unsigned sc_pair_shift(unsigned i) { return 24 + 20 * i; }   /* member i's count */
static inline uintptr_t sc_pair(uint8_t k0, uint64_t c0, uint8_t k1, uint64_t c1)
{
    return 3 | (uintptr_t)k0 << 8 | (uintptr_t)k1 << 16 | (uintptr_t)c0 << sc_pair_shift(0) |
           (uintptr_t)c1 << sc_pair_shift(1);
}
static inline uint8_t sc_pair_key(uintptr_t w, unsigned i) { return (uint8_t)(w >> (8 + 8 * i)); }
static inline uint64_t sc_pair_count(uintptr_t w, unsigned i)
{
    return (w >> sc_pair_shift(i)) & SC_PAIR_MAX;
}
/* Member i's count as a step of the word: w + it is one session more. */
static inline uintptr_t sc_pair_one(unsigned i) { return (uintptr_t)1 << sc_pair_shift(i); }

static inline uint64_t sc_counter(const _Atomic uint64_t *c)
{
    /* relaxed: a count is one counter's value; no other memory is read
     * through it. */
    return sc_count_part(atomic_load_explicit(c, memory_order_relaxed));
}

static inline uint64_t sc_count_of(const sc_slot *s) { return sc_counter(&s->count); }

static inline uintptr_t sc_child_of(const sc_slot *s)
{
    /* acquire: pairs with sc_slot_link()'s release so a node's contents are
     * visible before we read them (a consume, free on every target). */
    return atomic_load_explicit(&s->child, memory_order_acquire);
}

static inline void sc_link(_Atomic uintptr_t *at, uintptr_t w)
{
    /* release: publishes a fully built node to lock-free readers. */
    atomic_store_explicit(at, w, memory_order_release);
}

/* A new child for a slot readers may see: the link, then the version.
 * Writers only (under the shard lock). */
static inline void sc_relink(_Atomic uint64_t *count, _Atomic uintptr_t *at, uintptr_t w)
{
    sc_link(at, w);
    /* relaxed load: the counter changes only under our lock.  release
     * store: a count that reads the new version also sees the new link. */
    uint64_t v = atomic_load_explicit(count, memory_order_relaxed);
    atomic_store_explicit(count, v + SC_VERSION_ONE, memory_order_release);
}

static inline void sc_slot_link(sc_slot *s, uintptr_t w) { sc_relink(&s->count, &s->child, w); }

static inline unsigned sc_entries(const sc_node *n)
{
    /* acquire: pairs with the release that appended entry n - 1, so
     * entries [0, n) are complete before a reader looks at them. */
    return atomic_load_explicit(&n->n, memory_order_acquire);
}

/* A listed node's key word j (keys 4j..4j+3), as if little-endian: key
 * 4j + k in bits 8k..8k+7 on every target.  Keys below the node's n are
 * immutable once published, and n's acquire ordered them; so the load is
 * relaxed. */
static inline uint32_t sc_key_quad(const sc_node *n, unsigned depth, unsigned j)
{
    const _Atomic uint32_t *w = (const _Atomic uint32_t *)((uintptr_t)n + sc_keys_offset(depth));
    uint32_t x = atomic_load_explicit(&w[j], memory_order_relaxed);
#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
    x = __builtin_bswap32(x);
#endif
    return x;
}

/* Key i of a listed node. */
static inline uint8_t sc_key_at(const sc_node *n, unsigned depth, unsigned i)
{
    return (uint8_t)(sc_key_quad(n, depth, i / 4) >> 8 * (i % 4));
}

/* Sets key i of a listed node.  Writers only: under the shard lock we are
 * the word's only writer, and readers look at key i only after the
 * release store of n that counts it in, so the store is relaxed. */
static inline void sc_key_set(sc_node *n, unsigned i, uint8_t b)
{
    _Atomic uint32_t *w = (_Atomic uint32_t *)((uintptr_t)n + sc_keys_offset(n->depth));
    unsigned sh = 8 * (i % 4);
    uint32_t x = sc_key_quad(n, n->depth, i / 4);
    x = (x & ~((uint32_t)0xFF << sh)) | (uint32_t)b << sh;
#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
    x = __builtin_bswap32(x);
#endif
    atomic_store_explicit(&w[i / 4], x, memory_order_relaxed);
}

/* A high bit in each byte of x that is zero, exact for the lowest such
 * byte (a borrow sets bits only above a true zero byte). */
static inline uint64_t sc_zero_bytes(uint64_t x)
{
    const uint64_t ones = 0x0101010101010101u;
    return (x - ones) & ~x & (ones << 7);
}

/* One bit per byte of z's high bits, byte k to bit k. */
static inline unsigned sc_byte_bits(uint64_t z)
{
    return (unsigned)(((z >> 7) * 0x0102040810204080u) >> 56);
}

/* Keys 8h..8h+7 of a listed node as one word (h = 1 only in an N16):
 * words 2h and 2h + 1, or word 2h twice where the node has no more (an N2
 * or N4: the address, not a branch, picks; sc_listed_find drops it). */
static inline uint64_t sc_key_octet(const sc_node *n, int kind, unsigned depth, unsigned h)
{
    unsigned more = kind >= SC_N8;
    return sc_key_quad(n, depth, 2 * h) | (uint64_t)sc_key_quad(n, depth, 2 * h + more) << 32;
}

/* The entry of key b among a listed node's first cnt keys, or -1.  Eight
 * keys are compared at a time (SWAR): no branch on which key matched,
 * whose mispredictions cost a count of a random address more than the
 * loads; an N16's two halves are merged before the one branch.  Keys at
 * and past cnt are compared too (their words are there: zeroed, or left
 * by a key since removed) and the match's index is held against cnt
 * instead of masking them off: the lowest match is exact, so one at or
 * past cnt means none before it (a mask cost 8 instructions a step). */
static inline int sc_listed_find(const sc_node *n, int kind, unsigned depth, unsigned cnt,
                                 uint8_t b)
{
    const uint64_t pattern = 0x0101010101010101u * b;
    unsigned m = sc_byte_bits(sc_zero_bytes(sc_key_octet(n, kind, depth, 0) ^ pattern));
    if (cnt <= 8)
        m |= 1u << 8;   /* none: index 8, and no branch before the one on i */
    else
        m |= sc_byte_bits(sc_zero_bytes(sc_key_octet(n, kind, depth, 1) ^ pattern)) << 8 | 1u << 16;
    unsigned i = (unsigned)__builtin_ctz(m);
    return i < cnt ? (int)i : -1;
}

static inline unsigned sc_index_at(const sc_node *n, unsigned depth, unsigned b)
{
    /* acquire: pairs with the release that sets the index byte after its
     * slot is filled in. */
    return atomic_load_explicit(&sc_index(n, depth)[b], memory_order_acquire);
}

/* The slot for key byte b in a node of `kind`, or NULL when it has no such
 * child. */
static inline sc_slot *sc_find_in(const sc_node *n, int kind, unsigned depth, bool wide,
                                  uint8_t b)
{
    sc_slot *s = sc_slots_of_kind(n, kind, depth, wide);
    switch (kind) {
    case SC_N256:
        s = sc_slot_at(s, b, wide);
        return sc_child_of(s) ? s : NULL;
    case SC_N48:
    case SC_N128: {
        unsigned i = sc_index_at(n, depth, b);
        return i ? sc_slot_at(s, i - 1, wide) : NULL;
    }
    default: {
        int i = sc_listed_find(n, kind, depth, sc_entries(n), b);
        return i >= 0 ? sc_slot_at(s, (unsigned)i, wide) : NULL;
    }
    }
}

/* The same, for the node word w. */
static inline sc_slot *sc_find_word(uintptr_t w, uint8_t b)
{
    return sc_find_in(sc_node_of(w), sc_word_kind(w), sc_word_depth(w), sc_word_wide(w), b);
}

static inline sc_slot *sc_find(const sc_node *n, uint8_t b)
{
    return sc_find_in(n, n->kind, n->depth, n->wide, b);
}

/* ---------------------------------------------------------------- memory
 * (sc_fast_mem.c).  Bytes are counted while a node is part of the table:
 * from node_new until it is retired or freed. */
/* A node of keys `alen` bytes long: wide when sc_wide_at says so. */
sc_node *sc_node_new(sc_fast_table *t, int kind, unsigned depth, const uint8_t *key,
                     unsigned alen);
/* A LEAF holding addr; 0 when out of memory. */
uintptr_t sc_leaf_new(sc_fast_table *t, const uint8_t *addr, unsigned alen);
/* Frees after a grace period: readers may still be walking it. */
void sc_node_retire(sc_fast_table *t, sc_node *n);
/* Retires (or, with `now`, frees) every node below and including w. */
void sc_subtree_release(sc_fast_table *t, uintptr_t w, bool now);

#endif /* SC_FAST_NODE_H */
