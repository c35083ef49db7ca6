/*
 * sc_fast_walk.c: the walk behind sc_walk_tree and sc_top on the fast
 * table: the prefixes under a root where sessions branch, read from the
 * trie (sc_fast_trie.c) without a lock, as a count reads it.
 *
 * WHAT IS LISTED.  The trie branches a byte at a time; a walk lists binary
 * branching points, which may lie anywhere in a byte.  Take the children
 * of a node of depth d in key order.  Any run of two or more of them that
 * share their keys' first b bits has its longest shared prefix (the bits
 * its first and last keys share) as a branching point, and splits at the
 * next bit into a run with that bit clear and one with it set.  One child
 * alone branches nowhere inside the byte: the walk goes on into it (a
 * node, whose children go on in the same way; a leaf, a full address).  A
 * pair is a node of two children held in one word.  Above the /16s the
 * top's 2^16 slots are a byte pair walked the same way, over the /16s that
 * hold sessions.  Prefixes are handed over in pre-order: a prefix, then
 * its run with the bit clear, then the one with it set.
 *
 * COUNTS.  A branching point inside a node is the sum of its run's slot
 * counters, as a count sums a run of a node (each counter is its child's
 * byte prefix's count, whatever the child's shape).  A full address is its
 * slot's counter, read with the child word as one pair (the version check
 * of sc_trie_count): an open that widens a leaf into a pair or an N2 raises
 * the counter for an address the leaf never held, and that counter must not
 * be taken for the leaf's.  A pair member's count is in the pair's word.
 * The root, and any prefix above /16, is counted as sc_count counts it.
 *
 * BATCHES.  visit is the caller's: it may block, or call back into the
 * table, so it never runs inside a read-side section.  The walk gathers up
 * to WALK_BATCH prefixes in one section, leaves it, hands them over, and
 * then resumes in a new section from the top, after the last prefix handed
 * over (the cursor): a subtree whose addresses all lie before the cursor's
 * is passed by unread, so resuming costs one descent, and a prefix at or
 * before the cursor is never handed over again.  Nodes replaced between
 * batches are simply not seen again; the walk goes on in their successors,
 * still strictly after the cursor.  Sections stay one batch long, so a long
 * walk never holds back the reclamation of retired nodes for long.
 *
 * For a root shorter than /16 the /16s that hold a subtree are read once,
 * into a bitmap, when the walk starts: a /16 that fills later may be left
 * out, as may any open that runs during the walk.
 */
#include "sc_fast_node.h"
#include "sc_tsan.h"

#define WALK_BATCH 128

/* The children of one node (or the members of a pair) that hold a
 * subtree, by key. */
typedef struct kids {
    uintptr_t w;                 /* the node's word, or the pair */
    unsigned n;
    uint8_t key[256];            /* ascending */
} kids;

typedef struct walker {
    const sc_fast_table *t;
    const sc_tree *tree;
    sc_prefix root;
    unsigned alen;               /* address bytes: 4 or 16 */
    unsigned cut;                /* no prefix below one this long (sc_internal.h) */
    bool moved;                  /* something was handed over: cursor is set */
    sc_prefix cursor;            /* the last prefix handed over */
    unsigned nbuf;
    sc_branch buf[WALK_BATCH];
    kids lv[16];                 /* a node of depth d (a pair: alen - 1) lists its children here */
    uint64_t busy[SC_TOP_SLOTS / 64];   /* root shorter than /16: its /16s with a subtree */
} walker;

static unsigned top16(const uint8_t *a) { return (unsigned)a[0] << 8 | a[1]; }

/* The first len bits of a as a prefix of the root's family. */
static sc_prefix prefix_of(const walker *wk, const uint8_t *a, unsigned len)
{
    sc_prefix p = {.addr = {.family = wk->root.addr.family}, .len = (uint8_t)len};
    unsigned whole = len / 8, rest = len % 8;
    memcpy(p.addr.bytes, a, whole);
    if (rest) p.addr.bytes[whole] = (uint8_t)(a[whole] & (0xFF00u >> rest));
    return p;
}

/* p was handed over already, or comes before what was. */
static bool handed(const walker *wk, const sc_prefix *p)
{
    return wk->moved && sc_prefix_cmp(p, &wk->cursor) <= 0;
}

/* Every address that starts with a[0, nbytes) lies before the cursor's: no
 * prefix there is left to hand over. */
static bool all_handed(const walker *wk, const uint8_t *a, unsigned nbytes)
{
    return wk->moved && memcmp(a, wk->cursor.addr.bytes, nbytes) < 0;
}

/* Puts (p, n) in the batch unless n is 0; false when that fills it: the
 * walk stops there, to resume after p. */
static bool hand(walker *wk, const sc_prefix *p, uint64_t n)
{
    if (n == 0) return true;
    wk->buf[wk->nbuf++] = (sc_branch){.prefix = *p, .count = n};
    wk->cursor = *p;
    wk->moved = true;
    return wk->nbuf < WALK_BATCH;
}

/* A slot's child word and a count of it, read as one pair: the version
 * check of sc_trie_count (sc_fast_trie.c), where the same version on
 * both sides of the child's read means no link completed in between, and
 * a link not yet followed by its version step still gives a count within
 * SPEC's bounds (writers link a wider child before raising the counter and
 * lower it before linking a narrower one).  Only a completed link sends it
 * round again. */
static uintptr_t read_slot(const _Atomic uint64_t *cnt, const _Atomic uintptr_t *at,
                           uint64_t *count)
{
    for (;;) {
        /* acquire: pairs with sc_relink's release of the version, and keeps
         * the child's read below after this one. */
        uint64_t v1 = atomic_load_explicit(cnt, memory_order_acquire);
        /* acquire: as sc_child_of, the node's contents are visible; it
         * also keeps the second version read after the child's. */
        uintptr_t w = atomic_load_explicit(at, memory_order_acquire);
        /* relaxed: the child's acquire above already orders it after that
         * read, and it is compared with v1 only. */
        uint64_t v2 = atomic_load_explicit(cnt, memory_order_relaxed);
        if (sc_version_part(v1) == sc_version_part(v2)) {
            *count = sc_count_part(v2);
            return w;
        }
    }
}

/* ---------------------------------------------------------------- children */

static void add_key(kids *k, uint8_t b)
{
    unsigned i = k->n++;
    for (; i > 0 && k->key[i - 1] > b; i--) k->key[i] = k->key[i - 1];
    k->key[i] = b;
}

/* The children of node word w that hold a subtree. */
static void list_node(uintptr_t w, kids *k)
{
    const sc_node *n = sc_node_of(w);
    int kind = sc_word_kind(w);
    unsigned d = sc_word_depth(w);
    bool wide = sc_word_wide(w);
    const sc_slot *s = sc_slots_of_kind(n, kind, d, wide);
    k->w = w;
    k->n = 0;
    if (kind == SC_N256) {
        for (unsigned b = 0; b < 256; b++)
            if (sc_child_of(sc_slot_at(s, b, wide))) k->key[k->n++] = (uint8_t)b;
    } else if (sc_indexed(kind)) {
        for (unsigned b = 0; b < 256; b++) {
            unsigned i = sc_index_at(n, d, b);
            if (i && sc_child_of(sc_slot_at(s, i - 1, wide))) k->key[k->n++] = (uint8_t)b;
        }
    } else {
        unsigned cnt = sc_entries(n);
        for (unsigned i = 0; i < cnt; i++)
            if (sc_child_of(sc_slot_at(s, i, wide))) add_key(k, sc_key_at(n, d, i));
    }
}

static void list_pair(uintptr_t w, kids *k)
{
    k->w = w;
    k->n = 0;
    for (unsigned i = 0; i < 2; i++)
        if (sc_pair_count(w, i)) add_key(k, sc_pair_key(w, i));
}

static unsigned member(uintptr_t pair, uint8_t b) { return sc_pair_key(pair, 0) == b ? 0 : 1; }

/* The count of child b, for a run's sum. */
static uint64_t kid_count(const kids *k, uint8_t b)
{
    if (sc_is_pair(k->w)) return sc_pair_count(k->w, member(k->w, b));
    const sc_slot *s = sc_find_word(k->w, b);
    return s ? sc_count_of(s) : 0;
}

/* Child b's word and count, read as one pair.  A pair member's word is an
 * inline leaf with nothing left to hold. */
static uintptr_t kid_word(const kids *k, uint8_t b, uint64_t *count)
{
    if (sc_is_pair(k->w)) {
        *count = sc_pair_count(k->w, member(k->w, b));
        return 1;
    }
    const sc_slot *s = sc_find_word(k->w, b);
    if (!s) return 0;   /* emptied since it was listed */
    return read_slot(&s->count, &s->child, count);
}

/* ---------------------------------------------------------------- the walk */

static bool walk_word(walker *wk, uint8_t *a, unsigned from, uintptr_t w, uint64_t n);

/* The prefixes of the children key[lo, hi) of k, a node (or pair) of depth
 * d whose key is a[0, d).  false: the batch is full. */
static bool walk_kids(walker *wk, uint8_t *a, unsigned d, const kids *k, unsigned lo,
                      unsigned hi)
{
    if (lo >= hi) return true;
    a[d] = k->key[hi - 1];
    if (all_handed(wk, a, d + 1)) return true;
    if (hi - lo == 1) {
        uint64_t n = 0;
        uintptr_t w = kid_word(k, k->key[lo], &n);
        return walk_word(wk, a, d + 1, w, n);
    }
    /* The bits the run's first and last keys share: 0 to 7. */
    unsigned b = (unsigned)__builtin_clz((unsigned)(k->key[lo] ^ k->key[hi - 1])) - 24;
    a[d] = k->key[lo];
    sc_prefix p = prefix_of(wk, a, 8 * d + b);
    if (!handed(wk, &p)) {
        uint64_t n = 0;
        for (unsigned i = lo; i < hi; i++) n += kid_count(k, k->key[i]);
        if (!hand(wk, &p, n)) return false;
    }
    if (p.len >= wk->cut) return true;
    unsigned mid = lo;
    while (!(k->key[mid] & (0x80u >> b))) mid++;   /* the last key has the bit set */
    return walk_kids(wk, a, d, k, lo, mid) && walk_kids(wk, a, d, k, mid, hi);
}

/* The prefixes of the subtree of child word w, in a slot whose position
 * fixes a[0, from); n: the slot's count, read with w (used for a leaf).
 * false: the batch is full. */
static bool walk_word(walker *wk, uint8_t *a, unsigned from, uintptr_t w, uint64_t n)
{
    unsigned alen = wk->alen;
    if (!w) return true;
    if (sc_is_pair(w)) {   /* from == alen - 1 */
        if (all_handed(wk, a, alen - 1)) return true;
        kids *k = &wk->lv[alen - 1];
        list_pair(w, k);
        return walk_kids(wk, a, alen - 1, k, 0, k->n);
    }
    if (sc_is_inline(w) || sc_word_kind(w) == SC_LEAF) {
        for (unsigned i = from; i < alen; i++)
            a[i] = sc_is_inline(w) ? sc_inline_byte(w, from, i) : sc_word_key(w)[i];
        sc_prefix p = prefix_of(wk, a, 8 * alen);
        return handed(wk, &p) || hand(wk, &p, n);
    }
    unsigned d = sc_word_depth(w);
    memcpy(a + from, sc_word_key(w) + from, d - from);   /* a node's key never changes */
    if (all_handed(wk, a, d)) return true;
    kids *k = &wk->lv[d];
    list_node(w, k);
    return walk_kids(wk, a, d, k, 0, k->n);
}

/* The run of k's keys whose first `bits` bits (1..8) are b's. */
static void run_of(const kids *k, uint8_t b, unsigned bits, unsigned *lo, unsigned *hi)
{
    uint8_t mask = (uint8_t)(0xFF00u >> bits);
    unsigned i = 0;
    while (i < k->n && (k->key[i] & mask) < (b & mask)) i++;
    *lo = i;
    while (i < k->n && (k->key[i] & mask) == (b & mask)) i++;
    *hi = i;
}

/* Below a root of /16 or longer: down the root's path to where it ends,
 * then the walk of what lies under it. */
static bool walk_below(walker *wk)
{
    const uint8_t *q = wk->root.addr.bytes;
    unsigned len = wk->root.len, alen = wk->alen, from = SC_TOP_BITS / 8, i = top16(q);
    const sc_top16 *top = wk->tree->top;
    uint8_t a[16];
    memcpy(a, q, sizeof a);
    uint64_t n = 0;
    uintptr_t w = read_slot(&top->shard[i].count, &top->child[i], &n);
    for (;;) {
        if (!w) return true;
        if (len <= 8 * from) return walk_word(wk, a, from, w, n);   /* all of it is under root */
        if (sc_is_pair(w)) {
            kids *k = &wk->lv[alen - 1];
            unsigned lo, hi;
            list_pair(w, k);
            run_of(k, q[alen - 1], len - 8 * (alen - 1), &lo, &hi);
            return walk_kids(wk, a, alen - 1, k, lo, hi);
        }
        if (sc_is_inline(w) || sc_word_kind(w) == SC_LEAF) {
            uint8_t addr[16] = {0};
            memcpy(addr, a, from);
            for (unsigned j = from; j < alen; j++)
                addr[j] = sc_is_inline(w) ? sc_inline_byte(w, from, j) : sc_word_key(w)[j];
            return !sc_bits_equal(addr, q, len) || walk_word(wk, a, from, w, n);
        }
        unsigned d = sc_word_depth(w);
        const uint8_t *key = sc_word_key(w);
        if (!sc_bits_equal(key, q, len < 8 * d ? len : 8 * d)) return true;
        if (len <= 8 * d) return walk_word(wk, a, from, w, n);
        if (len < 8 * d + 8) {   /* root ends inside this node's byte */
            kids *k = &wk->lv[d];
            unsigned lo, hi;
            list_node(w, k);
            run_of(k, q[d], len - 8 * d, &lo, &hi);
            return walk_kids(wk, a, d, k, lo, hi);
        }
        const sc_slot *s = sc_find_word(w, q[d]);
        if (!s) return true;
        w = read_slot(&s->count, &s->child, &n);
        from = d + 1;
    }
}

/* The first /16 in [lo, hi] with a subtree, or -1. */
static int first_busy(const walker *wk, unsigned lo, unsigned hi)
{
    for (unsigned i = lo; i <= hi; i = (i / 64 + 1) * 64) {
        uint64_t bits = wk->busy[i / 64] >> (i % 64);
        if (bits) {
            unsigned j = i + (unsigned)__builtin_ctzll(bits);
            return j <= hi ? (int)j : -1;
        }
    }
    return -1;
}

/* The last /16 in [lo, hi] with a subtree; lo has one. */
static unsigned last_busy(const walker *wk, unsigned lo, unsigned hi)
{
    for (unsigned i = hi;; i = i / 64 * 64 - 1) {
        uint64_t bits = wk->busy[i / 64] << (63 - i % 64);
        if (bits) return i - (unsigned)__builtin_clzll(bits);
        if (i / 64 == lo / 64) return lo;   /* not reached: lo's bit is set */
    }
}

/* The prefixes over the /16s in [lo, hi] (a root shorter than /16), a bit
 * at a time as walk_kids goes through a byte; each shorter than /16 is
 * counted as sc_count counts it. */
static bool walk_top(walker *wk, unsigned lo, unsigned hi)
{
    int first = first_busy(wk, lo, hi);
    if (first < 0) return true;
    unsigned f = (unsigned)first, g = last_busy(wk, f, hi);
    uint8_t a[16] = {(uint8_t)(g >> 8), (uint8_t)g};
    if (all_handed(wk, a, 2)) return true;
    if (f == g) {
        const sc_top16 *top = wk->tree->top;
        uint64_t n = 0;
        uintptr_t w = read_slot(&top->shard[g].count, &top->child[g], &n);
        return walk_word(wk, a, SC_TOP_BITS / 8, w, n);
    }
    unsigned b = (unsigned)__builtin_clz(f ^ g) - 16;   /* bits shared, of 16: 0 to 15 */
    unsigned base = f & ~(0xFFFFu >> b) & 0xFFFFu;
    a[0] = (uint8_t)(base >> 8);
    a[1] = (uint8_t)base;
    sc_prefix p = prefix_of(wk, a, b);
    if (!handed(wk, &p) && !hand(wk, &p, sc_short_count(wk->t, wk->tree, a, b))) return false;
    if (b >= wk->cut) return true;
    unsigned mid = base | (0x8000u >> b);
    return walk_top(wk, f, mid - 1) && walk_top(wk, mid, g);
}

/* The root's count, as sc_count gives it (inside the read-side section). */
static uint64_t root_count(const walker *wk)
{
    const uint8_t *q = wk->root.addr.bytes;
    unsigned len = wk->root.len, i = top16(q);
    const sc_top16 *top = wk->tree->top;
    if (len < SC_TOP_BITS) return sc_short_count(wk->t, wk->tree, q, len);
    if (len == SC_TOP_BITS)
        /* relaxed: one counter's value, as sc_count reads a /16. */
        return sc_count_part(atomic_load_explicit(&top->shard[i].count, memory_order_relaxed));
    return sc_trie_count(&top->shard[i].count, &top->child[i], SC_TOP_BITS / 8, q, len,
                         wk->alen);
}

/* One batch, inside a read-side section: true when the walk is done. */
static bool walk_batch(walker *wk)
{
    const sc_prefix *r = &wk->root;
    if (!handed(wk, r) && !hand(wk, r, root_count(wk))) return false;
    if (r->len >= wk->cut) return true;
    if (r->len >= SC_TOP_BITS) return walk_below(wk);
    unsigned lo = top16(r->addr.bytes);
    return walk_top(wk, lo, lo | (0xFFFFu >> r->len));
}

/* Which /16s under a root shorter than /16 hold a subtree, now. */
static void mark_busy(walker *wk)
{
    unsigned lo = top16(wk->root.addr.bytes), hi = lo | (0xFFFFu >> wk->root.len);
    memset(wk->busy, 0, sizeof wk->busy);
    for (unsigned i = lo; i <= hi; i++)
        /* relaxed: only whether the /16 holds a subtree; nothing is read
         * through the word (the walk reads each again, with its count). */
        if (atomic_load_explicit(&wk->tree->top->child[i], memory_order_relaxed))
            wk->busy[i / 64] |= (uint64_t)1 << (i % 64);
}

sc_status sc_fast_walk(const sc_table *tab, const sc_prefix *root, sc_service svc, unsigned cut,
                       sc_visit_fn visit, void *arg)
{
    walker wk;
    wk.t = (const sc_fast_table *)tab;
    wk.tree = sc_fast_tree(wk.t, root->addr.family, svc);
    if (!wk.tree) return SC_OK;   /* no session of the service and family, ever */
    wk.root = *root;
    wk.alen = sc_family_bytes(root->addr.family);
    wk.cut = cut;
    wk.moved = false;
    if (root->len < SC_TOP_BITS) mark_busy(&wk);
    for (;;) {
        wk.nbuf = 0;
        urcu_bp_read_lock();
        bool done = walk_batch(&wk);
        sc_tsan_reader_done();
        urcu_bp_read_unlock();
        for (unsigned i = 0; i < wk.nbuf; i++)
            if (visit(arg, &wk.buf[i])) return SC_OK;
        if (done) return SC_OK;
    }
}
