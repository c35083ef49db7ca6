/*
 * sc_walk_model.c: the walk tests' brute force (sc_walk_model.h).  Slow on
 * purpose where speed would need an argument: every pair of addresses is
 * looked at, and every listed prefix is counted over every address.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sc_walk_model.h"

static bool bit(const uint8_t *b, unsigned i) { return (b[i / 8] >> (7 - i % 8)) & 1; }
static unsigned bits_of(int family) { return family == SC_INET4 ? 32 : 128; }

static void clear_past(uint8_t *b, unsigned len)
{
    for (unsigned i = len; i < 128; i++) b[i / 8] &= (uint8_t) ~(0x80u >> (i % 8));
}

static bool is_mapped(const uint8_t *b)
{
    for (int i = 0; i < 10; i++)
        if (b[i]) return false;
    return b[10] == 0xff && b[11] == 0xff;
}

sc_addr wm_addr(const sc_addr *raw)
{
    sc_addr a = *raw;
    if (a.family == SC_INET6 && is_mapped(a.bytes)) {
        a.family = SC_INET4;
        memmove(a.bytes, a.bytes + 12, 4);
    }
    if (a.family == SC_INET4) memset(a.bytes + 4, 0, 12);
    return a;
}

sc_prefix wm_prefix(const sc_prefix *raw)
{
    sc_prefix p = *raw;
    if (p.addr.family == SC_INET6 && p.len >= 96 && is_mapped(p.addr.bytes)) {
        p.addr.family = SC_INET4;
        memmove(p.addr.bytes, p.addr.bytes + 12, 4);
        memset(p.addr.bytes + 4, 0, 12);
        p.len = (uint8_t)(p.len - 96);
    }
    clear_past(p.addr.bytes, p.len);
    return p;
}

/* The number of leading bits a and b share (128 when equal). */
static unsigned shared_bits(const uint8_t *a, const uint8_t *b)
{
    unsigned l = 0;
    while (l < 128 && a[l / 8] == b[l / 8]) l += 8;   /* whole bytes first */
    while (l < 128 && bit(a, l) == bit(b, l)) l++;
    return l;
}

bool wm_in(const sc_addr *a, const sc_prefix *p)
{
    return a->family == p->addr.family && shared_bits(a->bytes, p->addr.bytes) >= p->len;
}

int wm_order(const sc_prefix *a, const sc_prefix *b)
{
    if (a->addr.family != b->addr.family) return a->addr.family < b->addr.family ? -1 : 1;
    /* Bytes in network order: their order is the order of the bits. */
    int c = memcmp(a->addr.bytes, b->addr.bytes, 16);
    if (c != 0) return c < 0 ? -1 : 1;
    return a->len < b->len ? -1 : a->len > b->len;
}

static int by_order(const void *x, const void *y)
{
    return wm_order(&((const sc_branch *)x)->prefix, &((const sc_branch *)y)->prefix);
}

static sc_prefix prefix_of(const sc_addr *a, unsigned len)
{
    sc_prefix p = {.addr = *a, .len = (uint8_t)len};
    clear_past(p.addr.bytes, len);
    return p;
}

/* Sessions of svc under root, one entry per session. */
static size_t gather(const wm_session *s, size_t ns, const sc_prefix *root, sc_service svc,
                     sc_addr *out)
{
    size_t k = 0;
    for (size_t i = 0; i < ns; i++)
        if (s[i].svc == svc && wm_in(&s[i].addr, root)) out[k++] = s[i].addr;
    return k;
}

size_t wm_walk(const wm_session *s, size_t ns, const sc_prefix *root, sc_service svc,
               sc_branch *out, size_t cap)
{
    sc_addr *a = malloc((ns ? ns : 1) * sizeof *a);
    if (!a) abort();
    size_t k = gather(s, ns, root, svc, a);   /* a[0..k): one per session */
    /* Distinct addresses: d[0..m). */
    sc_addr *d = malloc((k ? k : 1) * sizeof *d);
    if (!d) abort();
    size_t m = 0;
    for (size_t i = 0; i < k; i++) {
        bool seen = false;
        for (size_t j = 0; j < m && !seen; j++) seen = memcmp(d[j].bytes, a[i].bytes, 16) == 0;
        if (!seen) d[m++] = a[i];
    }
    if (m == 0) {
        free(d);
        free(a);
        return 0;
    }
    unsigned bits = bits_of(root->addr.family);
    /* Candidates: root, every address, the common prefix of every pair
     * (the lengths a[i] shares with the others, each length once). */
    sc_branch *c = malloc((1 + m * (bits + 1)) * sizeof *c);
    if (!c) abort();
    size_t nc = 0;
    c[nc++] = (sc_branch){.prefix = *root};
    for (size_t i = 0; i < m; i++) {
        bool shared[129] = {false};
        shared[bits] = true;   /* the address itself */
        for (size_t j = 0; j < m; j++) {
            if (j == i) continue;
            shared[shared_bits(d[i].bytes, d[j].bytes)] = true;   /* distinct: < bits */
        }
        for (unsigned l = 0; l <= bits; l++)
            if (shared[l]) c[nc++] = (sc_branch){.prefix = prefix_of(&d[i], l)};
    }
    qsort(c, nc, sizeof *c, by_order);
    size_t n = 0;
    for (size_t i = 0; i < nc; i++) {
        if (n > 0 && wm_order(&c[n - 1].prefix, &c[i].prefix) == 0) continue;
        c[n] = c[i];
        c[n].count = 0;
        for (size_t j = 0; j < k; j++) c[n].count += wm_in(&a[j], &c[n].prefix);
        n++;
    }
    memcpy(out, c, (n < cap ? n : cap) * sizeof *c);
    free(c);
    free(d);
    free(a);
    return n;
}

static int by_rank(const void *x, const void *y)
{
    const sc_branch *a = x, *b = y;
    if (a->count != b->count) return a->count > b->count ? -1 : 1;
    return wm_order(&a->prefix, &b->prefix);
}

size_t wm_top(const wm_session *s, size_t ns, int family, unsigned len, sc_service svc, size_t n,
              sc_branch *out)
{
    sc_branch *q = malloc((ns ? ns : 1) * sizeof *q);
    if (!q) abort();
    size_t k = 0;
    for (size_t i = 0; i < ns; i++) {
        const sc_addr *a = &s[i].addr;
        bool fam = family == SC_INET_ANY ? (a->family == SC_INET6 || len <= 32)
                                         : a->family == family;
        if (s[i].svc != svc || !fam) continue;
        sc_prefix p = prefix_of(a, len);
        size_t j = 0;
        while (j < k && wm_order(&q[j].prefix, &p) != 0) j++;
        if (j == k) q[k++] = (sc_branch){.prefix = p};
        q[j].count++;
    }
    qsort(q, k, sizeof *q, by_rank);
    size_t w = k < n ? k : n;
    memcpy(out, q, w * sizeof *q);
    free(q);
    return w;
}

bool wm_same(const sc_branch *a, const sc_branch *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (wm_order(&a[i].prefix, &b[i].prefix) != 0 || a[i].count != b[i].count) return false;
    return true;
}

void wm_prefix_text(const sc_prefix *p, char buf[WM_TEXT_MAX])
{
    const uint8_t *b = p->addr.bytes;
    if (p->addr.family == SC_INET4)
        snprintf(buf, WM_TEXT_MAX, "%u.%u.%u.%u/%u", b[0], b[1], b[2], b[3], p->len);
    else
        snprintf(buf, WM_TEXT_MAX, "%x:%x:%x:%x:%x:%x:%x:%x/%u", b[0] << 8 | b[1], b[2] << 8 | b[3],
                 b[4] << 8 | b[5], b[6] << 8 | b[7], b[8] << 8 | b[9], b[10] << 8 | b[11],
                 b[12] << 8 | b[13], b[14] << 8 | b[15], p->len);
}

void wm_text(const sc_branch *b, char buf[WM_TEXT_MAX])
{
    char p[WM_TEXT_MAX];
    wm_prefix_text(&b->prefix, p);
    /* a prefix's text is at most 43 bytes */
    snprintf(buf, WM_TEXT_MAX, "%.43s=%llu", p, (unsigned long long)b->count);
}
