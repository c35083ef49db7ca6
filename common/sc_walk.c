/*
 * sc_walk.c: the public walks, sc_walk_tree and sc_top.  Arguments are
 * checked here, once, and the walk itself is the implementation's (its
 * `walk` operation); the ranking of sc_top is done here for both, over
 * that walk.
 *
 * sc_top walks the whole family with a cut at `len`: every prefix the walk
 * hands over at or past len is the topmost walk prefix under one prefix Q
 * of length len that holds sessions, so its count is Q's count (the
 * sessions under Q are exactly those under it: they branch nowhere between
 * Q and it).  Nothing below it is walked.  Pre-order hands over the prefixes
 * under one Q one after another, so a Q already seen is the last one.
 *
 * The ranking keeps the best n so far in out[] as a heap whose root is the
 * one that ranks last, so a candidate costs O(log n) and nothing is
 * allocated; at the end the heap is sorted in place, best first.
 */
#include "sc_internal.h"

sc_status sc_walk_tree(const sc_table *tab, const sc_prefix *root, sc_service svc,
                       sc_visit_fn visit, void *arg)
{
    sc_prefix buf;
    const sc_prefix *p = sc_normal_prefix(root, &buf);
    if (!tab || !p || !visit || svc >= tab->n_services) return SC_E_INVALID;
    return tab->impl->walk(tab, p, svc, SC_WALK_ALL, visit, arg);
}

/* ---------------------------------------------------------------- ranking */

/* a ranks before b: more sessions, or as many and earlier in the order. */
static bool ranks_before(const sc_branch *a, const sc_branch *b)
{
    if (a->count != b->count) return a->count > b->count;
    return sc_prefix_cmp(&a->prefix, &b->prefix) < 0;
}

static void swap(sc_branch *a, sc_branch *b)
{
    sc_branch t = *a;
    *a = *b;
    *b = t;
}

/* Restores the heap below i (of size n): a parent never ranks before its
 * children, so the root is the entry that ranks last. */
static void sift_down(sc_branch *h, size_t n, size_t i)
{
    for (;;) {
        size_t worst = i, l = 2 * i + 1, r = l + 1;
        if (l < n && ranks_before(&h[worst], &h[l])) worst = l;
        if (r < n && ranks_before(&h[worst], &h[r])) worst = r;
        if (worst == i) return;
        swap(&h[i], &h[worst]);
        i = worst;
    }
}

static void sift_up(sc_branch *h, size_t i)
{
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!ranks_before(&h[parent], &h[i])) return;
        swap(&h[parent], &h[i]);
        i = parent;
    }
}

typedef struct ranking {
    sc_branch *heap;   /* the caller's out[] */
    size_t cap, size;
    unsigned len;
    bool seen;         /* `last` is set */
    sc_prefix last;    /* the last prefix of length len taken */
} ranking;

/* Bits [0, len) of p, the rest cleared (len <= p->len). */
static sc_prefix truncated(const sc_prefix *p, unsigned len)
{
    sc_prefix q = {.addr = {.family = p->addr.family}, .len = (uint8_t)len};
    for (unsigned i = 0; i < 16 && i * 8 < len; i++) {
        unsigned left = len - i * 8;
        q.addr.bytes[i] = left >= 8 ? p->addr.bytes[i] : (uint8_t)(p->addr.bytes[i] & (0xFF00u >> left));
    }
    return q;
}

/* The walk's visit: a prefix at or past len names a prefix of length len
 * and its count (see the top of this file). */
static int rank_one(void *arg, const sc_branch *b)
{
    ranking *r = arg;
    if (b->prefix.len < r->len || b->count == 0) return 0;
    sc_branch c = {.prefix = truncated(&b->prefix, r->len), .count = b->count};
    if (r->seen && sc_prefix_cmp(&c.prefix, &r->last) == 0) return 0;
    r->seen = true;
    r->last = c.prefix;
    if (r->size < r->cap) {
        r->heap[r->size] = c;
        sift_up(r->heap, r->size++);
    } else if (ranks_before(&c, &r->heap[0])) {
        r->heap[0] = c;
        sift_down(r->heap, r->size, 0);
    }
    return 0;
}

/* Sorts the heap best first: the entry that ranks last goes to the end,
 * again and again. */
static void sort_heap(sc_branch *h, size_t n)
{
    for (size_t end = n; end > 1; end--) {
        swap(&h[0], &h[end - 1]);
        sift_down(h, end - 1, 0);
    }
}

/* Walks the whole of one family for the ranking. */
static sc_status rank_family(const sc_table *tab, int family, sc_service svc, ranking *r)
{
    sc_prefix all = {.addr = {.family = (uint8_t)family}, .len = 0};
    return tab->impl->walk(tab, &all, svc, r->len, rank_one, r);
}

sc_status sc_top(const sc_table *tab, int family, unsigned len, sc_service svc, size_t n,
                 sc_branch *out, size_t *found)
{
    unsigned max = family == SC_INET4 ? 32u : 128u;
    if (!tab || !found || (n > 0 && !out) || svc >= tab->n_services) return SC_E_INVALID;
    if ((family != SC_INET4 && family != SC_INET6 && family != SC_INET_ANY) || len > max)
        return SC_E_INVALID;
    ranking r = {.heap = out, .cap = n, .len = len};
    if (n > 0) {
        /* IPv4 first: the order of ties (sesscount.h). */
        bool v4 = family == SC_INET4 || (family == SC_INET_ANY && len <= 32);
        bool v6 = family == SC_INET6 || family == SC_INET_ANY;
        sc_status st = v4 ? rank_family(tab, SC_INET4, svc, &r) : SC_OK;
        if (st == SC_OK && v6) {
            r.seen = false;
            st = rank_family(tab, SC_INET6, svc, &r);
        }
        if (st != SC_OK) return st;
        sort_heap(out, r.size);
    }
    *found = r.size;
    return SC_OK;
}
