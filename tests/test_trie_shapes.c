/*
 * test_trie_shapes.c: drives the fast trie through every node shape and
 * back, checking every count against ref after each step.
 *
 * Random op sequences (test_diff) rarely fill one node to 256 children or
 * empty it again in a chosen order; these sequences do: a node grows
 * N2 -> N4 -> N8 -> N16 -> N48 -> N128 -> N256 and shrinks back, a compressed path is split
 * and restored (IPv4, and IPv6 in a wide node whose slots copy their
 * LEAF's bytes), and IPv6 leaves move between inline words and LEAF nodes
 * as their parents come and go, and pairs (two addresses of one /24 in one
 * word) form, grow into nodes and part.  After each phase the table's bytes must
 * return to what they were before it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sc_check.h"
#include "sesscount.h"

typedef struct pair { sc_table *fast, *ref; } pair;

/* A failure here is a broken test machine, not a finding: stop. */
static void must(sc_status st, const char *what)
{
    if (st == SC_OK) return;
    fprintf(stderr, "%s: %s\n", what, sc_strerror(st));
    abort();
}

static pair pair_new(void)
{
    pair p = {0};
    must(sc_table_new(sc_impl_fast(), NULL, &p.fast), "fast table");
    must(sc_table_new(sc_impl_ref(), NULL, &p.ref), "ref table");
    return p;
}

static void pair_free(pair *p)
{
    sc_table_free(p->fast);
    sc_table_free(p->ref);
}

static sc_addr v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
    sc_addr x;
    must(sc_addr_from_bytes(SC_INET4, (uint8_t[]){a, b, c, d}, &x), "IPv4 address");
    return x;
}

static sc_addr v6(const uint8_t *bytes)
{
    sc_addr x;
    must(sc_addr_from_bytes(SC_INET6, bytes, &x), "IPv6 address");
    return x;
}

/* Every prefix length of `a`, fast against ref; stops at the first miss. */
static bool same_counts(pair *p, const sc_addr *a, const char *step)
{
    unsigned max = a->family == SC_INET4 ? 32 : 128;
    for (unsigned len = 0; len <= max; len++) {
        sc_prefix pre;
        must(sc_prefix_make(a, len, &pre), "prefix");
        uint64_t f = 0, r = 0;
        sc_status fs = sc_count(p->fast, &pre, SC_SERVICE_SMTP, &f);
        sc_status rs = sc_count(p->ref, &pre, SC_SERVICE_SMTP, &r);
        if (fs != SC_OK || rs != SC_OK || f != r) {
            char text[SC_PREFIX_TEXT_MAX];
            sc_format_prefix(&pre, text, sizeof text);
            return CHECK(fs == SC_OK && rs == SC_OK && f == r,
                         "%s: count %s fast %llu (%s) ref %llu (%s)", step, text,
                         (unsigned long long)f, sc_strerror(fs), (unsigned long long)r,
                         sc_strerror(rs));
        }
    }
    return sc_check_pass();
}

static bool both(pair *p, const sc_addr *a, bool open, const char *step)
{
    sc_status f = open ? sc_open(p->fast, a, SC_SERVICE_SMTP) : sc_close(p->fast, a, SC_SERVICE_SMTP);
    sc_status r = open ? sc_open(p->ref, a, SC_SERVICE_SMTP) : sc_close(p->ref, a, SC_SERVICE_SMTP);
    return CHECK(f == SC_OK && r == SC_OK, "%s: %s fast %d ref %d", step, open ? "open" : "close",
                 f, r) &&
           same_counts(p, a, step);
}

/* Child i of the node that one /16 gets: an IPv4 /24 of 10.9/16 with one
 * address, or an IPv6 address of 2001::/16 whose third byte is i's and
 * whose other bytes keep it a LEAF below a wide node (sc_fast_node.h). */
static sc_addr child_addr(int family, unsigned i, unsigned stride)
{
    if (family == SC_INET4) return v4(10, 9, (uint8_t)(i * stride), (uint8_t)i);
    uint8_t b[16] = {0x20, 0x01, (uint8_t)(i * stride), 0x5a, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11,
                     (uint8_t)i};
    return v6(b);
}

/* One /16 gets n children (one address each, some twice), opened in one
 * order and closed in another: every grow and shrink threshold is crossed. */
static void fill_and_empty_one_node(int family, unsigned n, unsigned stride, bool reverse)
{
    pair p = pair_new();
    sc_addr warm = child_addr(family, 0, 1);
    must(sc_open(p.fast, &warm, SC_SERVICE_SMTP), "warm-up open");
    must(sc_close(p.fast, &warm, SC_SERVICE_SMTP), "warm-up close");
    size_t empty = sc_table_bytes(p.fast);
    char step[64];
    for (unsigned i = 0; i < n; i++) {
        sc_addr a = child_addr(family, i, stride);
        snprintf(step, sizeof step, "IPv%d fill %u/%u", family == SC_INET4 ? 4 : 6, i, n);
        if (!both(&p, &a, true, step)) goto out;
        if (i % 7 == 0 && !both(&p, &a, true, step)) goto out;
    }
    for (unsigned k = 0; k < n; k++) {
        unsigned i = reverse ? n - 1 - k : (k * 37) % n;
        sc_addr a = child_addr(family, i, stride);
        snprintf(step, sizeof step, "IPv%d empty %u/%u", family == SC_INET4 ? 4 : 6, k, n);
        if (!both(&p, &a, false, step)) goto out;
        if (i % 7 == 0 && !both(&p, &a, false, step)) goto out;
    }
    CHECK(sc_table_bytes(p.fast) == empty, "n=%u: bytes %zu after emptying, %zu before", n,
          sc_table_bytes(p.fast), empty);
out:
    pair_free(&p);
}

static void test_node_grows_through_every_kind_and_shrinks_back(void)
{
    static const unsigned sizes[] = {2, 3, 4, 5, 8, 9, 16, 17, 48, 49, 128, 129, 200, 256};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        fill_and_empty_one_node(SC_INET4, sizes[i], 1, false);
        fill_and_empty_one_node(SC_INET4, sizes[i], 1, true);
    }
    /* 37 is odd: 256 distinct third bytes, so the fill ends with 256 children. */
    fill_and_empty_one_node(SC_INET4, 256, 37, false);
}

/* The same for a wide node (IPv6, depth 2): its slots keep a copy of their
 * LEAF's bytes, which every grow and shrink must carry to the new node, and
 * an emptied slot refilled must rewrite. */
static void test_wide_node_grows_through_every_kind_and_shrinks_back(void)
{
    static const unsigned sizes[] = {2, 5, 9, 17, 49, 129, 256};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        fill_and_empty_one_node(SC_INET6, sizes[i], 1, false);
        fill_and_empty_one_node(SC_INET6, sizes[i], 1, true);
    }
    fill_and_empty_one_node(SC_INET6, 256, 37, false);
}

/* Every /24 under one /16 (256 counts: byte 2 held or not), fast against
 * ref: the listed nodes' key scan compares eight key bytes at once, and
 * must neither miss a key nor take one past the node's count (free key
 * bytes read as 0) for a match. */
static bool every_third_byte(pair *p, int family, const char *step)
{
    for (unsigned b = 0; b < 256; b++) {
        uint8_t bytes[16] = {family == SC_INET4 ? 10 : 0x20, family == SC_INET4 ? 9 : 0x01,
                             (uint8_t)b};
        sc_addr a = family == SC_INET4 ? v4(bytes[0], bytes[1], bytes[2], 0) : v6(bytes);
        sc_prefix pre;
        must(sc_prefix_make(&a, 24, &pre), "prefix");
        uint64_t f = 0, r = 0;
        sc_status fs = sc_count(p->fast, &pre, SC_SERVICE_SMTP, &f);
        sc_status rs = sc_count(p->ref, &pre, SC_SERVICE_SMTP, &r);
        if (!CHECK(fs == SC_OK && rs == SC_OK && f == r, "%s: /24 with byte 2 = %u: fast %llu ref %llu",
                   step, b, (unsigned long long)f, (unsigned long long)r))
            return false;
    }
    return true;
}

/* One /16's children get third bytes chosen to trip a word-at-a-time
 * compare: 0 arrives while the node's free key bytes (0) share a word with
 * its keys (third, in the first word; twelfth, in an N16's second), 0xFF
 * and 0x80 beside 0x7F and 0x01; 1 to 20 of them (N2 to N16 and past),
 * then half of them close and some come back. */
static void listed_keys_in_order(int family, const uint8_t *keys, unsigned n)
{
    pair p = pair_new();
    char step[80];
    sc_addr addr[32];
    for (unsigned i = 0; i < n; i++) {
        uint8_t bytes[16] = {0x20, 0x01, keys[i], 0x5a, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
        addr[i] = family == SC_INET4 ? v4(10, 9, keys[i], 1) : v6(bytes);
        snprintf(step, sizeof step, "IPv%d, key 0x%02x the %uth", family == SC_INET4 ? 4 : 6,
                 keys[i], i + 1);
        if (!both(&p, &addr[i], true, step) || !every_third_byte(&p, family, step)) goto out;
    }
    for (unsigned i = 0; i < n; i += 2) {
        snprintf(step, sizeof step, "IPv%d, key 0x%02x closed", family == SC_INET4 ? 4 : 6, keys[i]);
        if (!both(&p, &addr[i], false, step) || !every_third_byte(&p, family, step)) goto out;
    }
    for (unsigned i = 0; i < n; i += 4) {
        snprintf(step, sizeof step, "IPv%d, key 0x%02x back", family == SC_INET4 ? 4 : 6, keys[i]);
        if (!both(&p, &addr[i], true, step) || !every_third_byte(&p, family, step)) goto out;
    }
out:
    pair_free(&p);
}

static void test_listed_node_finds_every_key_byte_held_and_none_other(void)
{
    static const uint8_t zero_third[] = {0xFF, 0x01, 0x00, 0x80, 0x7F, 0xFE, 0x02, 0x81, 0x40,
                                         0x10, 0xEF, 0x08, 0xF7, 0x20, 0xDF, 0x04, 0xFB, 0x03,
                                         0xC0, 0x3F};
    static const uint8_t zero_twelfth[] = {0xFF, 0x01, 0x80, 0x7F, 0xFE, 0x02, 0x81, 0x40, 0x10,
                                           0xEF, 0x08, 0x00, 0xF7, 0x20, 0xDF, 0x04, 0xFB, 0x03,
                                           0xC0, 0x3F};
    for (int family = SC_INET4; family <= SC_INET6; family++) {
        listed_keys_in_order(family, zero_third, sizeof zero_third);
        listed_keys_in_order(family, zero_twelfth, sizeof zero_twelfth);
    }
}

/* IPv6 addresses under one /16 that part at chosen bytes: leaves near the
 * top are LEAF nodes, deep ones inline; closing moves a deep inline leaf up
 * past byte 8, where it must become a LEAF node again. */
static void test_ipv6_leaves_move_between_inline_and_nodes(void)
{
    static const unsigned part_at[] = {2, 5, 8, 9, 10, 15};
    pair p = pair_new();
    uint8_t base[16] = {0x20, 0x01, 0x0d, 0xb8, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    sc_addr first = v6(base);
    if (!both(&p, &first, true, "first")) goto out;
    size_t one = sc_table_bytes(p.fast);
    char step[64];
    for (size_t i = 0; i < sizeof part_at / sizeof part_at[0]; i++) {
        uint8_t b[16];
        memcpy(b, base, 16);
        b[part_at[i]] ^= 0x80;
        sc_addr a = v6(b);
        snprintf(step, sizeof step, "part at byte %u", part_at[i]);
        if (!both(&p, &a, true, step) || !same_counts(&p, &first, step)) goto out;
        /* Closing `first` leaves `a` alone: it moves up to the top slot. */
        if (!both(&p, &first, false, step) || !same_counts(&p, &a, step)) goto out;
        if (!both(&p, &first, true, step) || !both(&p, &a, false, step)) goto out;
        CHECK(sc_table_bytes(p.fast) == one, "%s: bytes %zu, with one session %zu", step,
              sc_table_bytes(p.fast), one);
    }
    /* Nested parts: a chain of splits, undone from the deepest and the top. */
    for (int order = 0; order < 2; order++) {
        sc_addr chain[6];
        for (size_t i = 0; i < 6; i++) {
            uint8_t b[16];
            memcpy(b, base, 16);
            b[part_at[i]] ^= 0x40;
            chain[i] = v6(b);
            snprintf(step, sizeof step, "chain open %zu", i);
            if (!both(&p, &chain[i], true, step)) goto out;
        }
        for (size_t k = 0; k < 6; k++) {
            size_t i = order ? k : 5 - k;
            snprintf(step, sizeof step, "chain close %zu order %d", i, order);
            if (!both(&p, &chain[i], false, step) || !same_counts(&p, &first, step)) goto out;
        }
        CHECK(sc_table_bytes(p.fast) == one, "chain order %d: bytes %zu, with one session %zu",
              order, sc_table_bytes(p.fast), one);
    }
out:
    pair_free(&p);
}

/* Addresses of one /24 in a dense /16 share a slot that fixes all but the
 * last byte: two of them make a pair (both counts in the slot's word), a
 * third turns it into a node, and closing takes it back down; when the
 * /16's node collapses, a pair moving up becomes a node.  Every order of
 * closing is tried, with repeated sessions on each address. */
static void test_pair_forms_grows_to_a_node_and_parts(void)
{
    static const uint8_t last[3] = {1, 2, 0x81};
    for (unsigned order = 0; order < 6; order++) {
        pair p = pair_new();
        sc_addr other = v4(10, 7, 9, 9), a[3];
        char step[64];
        /* Opened and closed once, so the /16's top and stripes exist. */
        if (!both(&p, &other, true, "warm") || !both(&p, &other, false, "warm")) goto out;
        size_t empty = sc_table_bytes(p.fast);
        if (!both(&p, &other, true, "other")) goto out;
        for (unsigned i = 0; i < 3; i++) {
            a[i] = v4(10, 7, 5, last[i]);
            for (unsigned k = 0; k <= i; k++) {
                snprintf(step, sizeof step, "order %u: open %u (x%u)", order, last[i], k + 1);
                if (!both(&p, &a[i], true, step)) goto out;
            }
            if (i == 1) {   /* back from a pair to a leaf, and again */
                snprintf(step, sizeof step, "order %u: pair parts", order);
                if (!both(&p, &a[0], false, step) || !both(&p, &a[0], true, step)) goto out;
            }
        }
        /* Close the three in order `order` (a permutation), and once with
         * the other /24 gone first, so that the /16's node collapses. */
        static const unsigned perm[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2},
                                            {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
        if (order % 2 && !both(&p, &other, false, "other first")) goto out;
        for (unsigned j = 0; j < 3; j++) {
            unsigned i = perm[order][j];
            for (unsigned k = 0; k <= i; k++) {
                snprintf(step, sizeof step, "order %u: close %u (x%u)", order, last[i], k + 1);
                if (!both(&p, &a[i], false, step)) goto out;
                for (unsigned o = 0; o < 3; o++)
                    if (!same_counts(&p, &a[o], step)) goto out;
            }
        }
        if (order % 2 == 0 && !both(&p, &other, false, "other last")) goto out;
        CHECK(sc_table_bytes(p.fast) == empty, "order %u: bytes %zu after closing all, %zu before",
              order, sc_table_bytes(p.fast), empty);
    out:
        pair_free(&p);
    }
}

static uint64_t fast_count(sc_table *t, const sc_addr *a, unsigned len)
{
    sc_prefix pre;
    uint64_t n = 0;
    must(sc_prefix_make(a, len, &pre), "prefix");
    must(sc_count(t, &pre, SC_SERVICE_SMTP, &n), "count");
    return n;
}

/* A pair keeps each member's count in 20 bits: the open past that limit
 * moves the pair into a node, with every count still exact (checked
 * against arithmetic: ref would take minutes to close a million). */
static void test_pair_member_past_its_count_limit_becomes_a_node(void)
{
    const uint64_t big = (1u << 20) + 3;
    sc_table *t = NULL;
    must(sc_table_new(sc_impl_fast(), NULL, &t), "table");
    sc_addr other = v4(10, 6, 1, 1), lo = v4(10, 6, 2, 4), hi = v4(10, 6, 2, 5);
    must(sc_open(t, &other, SC_SERVICE_SMTP), "open 10.6.1.1");
    size_t before = sc_table_bytes(t);
    must(sc_open(t, &hi, SC_SERVICE_SMTP), "open 10.6.2.5");
    uint64_t opened = 0;
    while (opened < big && sc_open(t, &lo, SC_SERVICE_SMTP) == SC_OK) opened++;
    if (!CHECK(opened == big, "open %llu of 10.6.2.4 failed", (unsigned long long)opened)) goto out;
    CHECK(fast_count(t, &lo, 32) == big, "10.6.2.4/32: %llu, want %llu",
          (unsigned long long)fast_count(t, &lo, 32), (unsigned long long)big);
    CHECK(fast_count(t, &hi, 32) == 1, "10.6.2.5/32: %llu, want 1",
          (unsigned long long)fast_count(t, &hi, 32));
    CHECK(fast_count(t, &lo, 31) == big + 1, "10.6.2.4/31: %llu, want %llu",
          (unsigned long long)fast_count(t, &lo, 31), (unsigned long long)big + 1);
    CHECK(fast_count(t, &lo, 16) == big + 2, "10.6.0.0/16: %llu, want %llu",
          (unsigned long long)fast_count(t, &lo, 16), (unsigned long long)big + 2);
    while (opened > 0 && sc_close(t, &lo, SC_SERVICE_SMTP) == SC_OK) opened--;
    if (!CHECK(opened == 0, "close with %llu left failed", (unsigned long long)opened)) goto out;
    CHECK(sc_close(t, &lo, SC_SERVICE_SMTP) == SC_E_NOT_OPEN, "one close too many is refused");
    CHECK(fast_count(t, &lo, 24) == 1, "10.6.2.0/24 after closing: %llu, want 1",
          (unsigned long long)fast_count(t, &lo, 24));
    CHECK(sc_close(t, &hi, SC_SERVICE_SMTP) == SC_OK, "close 10.6.2.5");
    CHECK(sc_table_bytes(t) == before, "bytes %zu after closing, %zu before", sc_table_bytes(t),
          before);
out:
    sc_table_free(t);
}

int main(void)
{
    RUN(test_node_grows_through_every_kind_and_shrinks_back);
    RUN(test_wide_node_grows_through_every_kind_and_shrinks_back);
    RUN(test_listed_node_finds_every_key_byte_held_and_none_other);
    RUN(test_ipv6_leaves_move_between_inline_and_nodes);
    RUN(test_pair_forms_grows_to_a_node_and_parts);
    RUN(test_pair_member_past_its_count_limit_becomes_a_node);
    return check_done();
}
