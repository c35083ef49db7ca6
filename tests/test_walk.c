/*
 * test_walk.c: sc_walk_tree and sc_top, on both implementations.  One
 * executable, three CTest tests (tests/CMakeLists.txt):
 *
 *   test_walk              (unit) the table tests below: exact results on
 *                          small hand-made populations, the expected
 *                          listings written out here, never taken from
 *                          either implementation;
 *   test_walk diff         (diff, sc_walk_diff.c) random populations, fast
 *                          and ref held against each other and against a
 *                          brute-force model (sc_walk_model.c);
 *   test_walk concurrency  (concurrency, sc_walk_conc.c) writers open and
 *                          close while readers walk and rank: every count
 *                          within provable bounds, exact at quiescence.
 *
 * A listing is written "prefix count, prefix count, ..." with canonical
 * prefixes; a failure prints the root or ranking asked for, what was
 * listed, what was expected, and the sessions the test had opened.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sc_check.h"
#include "sc_internal.h"
#include "sc_fast_inspect.h"
#include "sc_walk_model.h"
#include "sc_walk_parts.h"

static const sc_impl *impl;
#define IN sc_impl_name(impl)

static char population[1024];   /* what the running test opened */

int walk_list_add(void *arg, const sc_branch *b)
{
    walk_list *l = arg;
    if (l->n < l->cap) l->out[l->n] = *b;
    l->n++;
    return l->stop_after > 0 && l->n >= l->stop_after;
}

long walk_env(const char *name, long dflt)
{
    const char *e = getenv(name);
    long n = e ? atol(e) : dflt;
    return n > 0 ? n : dflt;
}

static sc_addr A(const char *text)
{
    sc_addr a;
    memset(&a, 0, sizeof a);
    sc_error err = {0};
    if (sc_parse_addr(text, strlen(text), &a, &err) != SC_OK)
        CHECK(0, "fixture address \"%s\": %s", text, err.reason);
    return a;
}

static sc_prefix P(const char *text)
{
    sc_prefix p;
    memset(&p, 0, sizeof p);
    sc_error err = {0};
    if (sc_parse_cidr(text, strlen(text), NULL, &p, &err) != SC_OK)
        CHECK(0, "fixture prefix \"%s\": %s", text, err.reason);
    return p;
}

static sc_table *new_table(void)
{
    sc_table *t = NULL;
    sc_status st = sc_table_new(impl, NULL, &t);
    CHECK(st == SC_OK && t, "%s: sc_table_new: %s", IN, sc_strerror(st));
    population[0] = 0;
    return t;
}

/* Opens "addr addr*n ..." for svc, and notes it for failure messages. */
static void populate(sc_table *t, sc_service svc, const char *list)
{
    char buf[512];
    snprintf(buf, sizeof buf, "%s", list);
    for (char *tok = strtok(buf, " "); tok; tok = strtok(NULL, " ")) {
        char *star = strchr(tok, '*');
        int n = star ? atoi(star + 1) : 1;
        if (star) *star = 0;
        sc_addr a = A(tok);
        for (int i = 0; i < n; i++)
            CHECK(sc_open(t, &a, svc) == SC_OK, "%s: open %s", IN, tok);
    }
    size_t len = strlen(population);
    snprintf(population + len, sizeof population - len, "%s[svc %u] %s", len ? "; " : "", svc,
             list);
}

static void put_branch(char *buf, size_t cap, const sc_branch *b)
{
    char text[SC_PREFIX_TEXT_MAX];
    if (sc_format_prefix(&b->prefix, text, sizeof text) == 0) strcpy(text, "(bad prefix)");
    size_t len = strlen(buf);
    snprintf(buf + len, cap - len, "%s%s %llu", len ? ", " : "", text,
             (unsigned long long)b->count);
}

/* The listing of a walk of `root` raw (stopping after stop_after > 0). */
static const char *walk_raw(sc_table *t, const sc_prefix *root, sc_service svc, size_t stop_after)
{
    static char text[16384];
    sc_branch out[512];
    walk_list l = {out, 512, 0, stop_after};
    sc_status st = sc_walk_tree(t, root, svc, walk_list_add, &l);
    if (st != SC_OK) {
        snprintf(text, sizeof text, "error %s", sc_status_name(st));
        return text;
    }
    text[0] = 0;
    for (size_t i = 0; i < l.n && i < l.cap; i++) put_branch(text, sizeof text, &out[i]);
    return text;
}

#define EXPECT_WALK_RAW(t, root, what, svc, stop, want)                                       \
    do {                                                                                      \
        const char *got_ = walk_raw((t), (root), (svc), (stop));                              \
        CHECK(strcmp(got_, (want)) == 0,                                                      \
              "%s: walk of %s (svc %u):\n    got  [%s]\n    want [%s]\n    sessions: %s", IN, \
              (what), (unsigned)(svc), got_, (want), population);                             \
    } while (0)

#define EXPECT_WALK(t, root, svc, want)                                                       \
    do {                                                                                      \
        sc_prefix r_ = P(root);                                                               \
        EXPECT_WALK_RAW((t), &r_, (root), (svc), 0, (want));                                  \
    } while (0)

static const char *top_text(sc_table *t, int family, unsigned len, sc_service svc, size_t n)
{
    static char text[16384];
    sc_branch out[64];
    size_t found = 999;
    sc_status st = sc_top(t, family, len, svc, n, n ? out : NULL, &found);
    if (st != SC_OK) {
        snprintf(text, sizeof text, "error %s", sc_status_name(st));
        return text;
    }
    text[0] = 0;
    if (found > n) return "found > n";
    for (size_t i = 0; i < found; i++) put_branch(text, sizeof text, &out[i]);
    return text;
}

#define EXPECT_TOP(t, fam, len, svc, n, want)                                                 \
    do {                                                                                      \
        const char *got_ = top_text((t), (fam), (len), (svc), (n));                           \
        CHECK(strcmp(got_, (want)) == 0,                                                      \
              "%s: top(family %d, len %u, svc %u, n %u):\n    got  [%s]\n    want [%s]\n"      \
              "    sessions: %s", IN, (fam), (unsigned)(len), (unsigned)(svc), (unsigned)(n),  \
              got_, (want), population);                                                      \
    } while (0)

/* ---------------------------------------------------------------- walks */

static const char *const five = "192.0.2.1*2 192.0.2.3 192.0.2.129 198.51.100.7";

static void test_walk_lists_root_branching_points_and_full_addresses(void)
{
    sc_table *t = new_table();
    populate(t, SC_SERVICE_SMTP, five);
    EXPECT_WALK(t, "0.0.0.0/0", SC_SERVICE_SMTP,
                "0.0.0.0/0 5, 192.0.0.0/5 5, 192.0.2.0/24 4, 192.0.2.0/30 3, 192.0.2.1/32 2, "
                "192.0.2.3/32 1, 192.0.2.129/32 1, 198.51.100.7/32 1");
    EXPECT_WALK(t, "192.0.0.0/8", SC_SERVICE_SMTP,
                "192.0.0.0/8 4, 192.0.2.0/24 4, 192.0.2.0/30 3, 192.0.2.1/32 2, 192.0.2.3/32 1, "
                "192.0.2.129/32 1");
    EXPECT_WALK(t, "192.0.0.0/6", SC_SERVICE_SMTP,
                "192.0.0.0/6 4, 192.0.2.0/24 4, 192.0.2.0/30 3, 192.0.2.1/32 2, 192.0.2.3/32 1, "
                "192.0.2.129/32 1");
    EXPECT_WALK(t, "198.51.0.0/16", SC_SERVICE_SMTP, "198.51.0.0/16 1, 198.51.100.7/32 1");
    EXPECT_WALK(t, "10.0.0.0/8", SC_SERVICE_SMTP, "");
    EXPECT_WALK(t, "192.0.3.0/24", SC_SERVICE_SMTP, "");
    sc_table_free(t);
}

static void test_a_root_that_branches_or_is_an_address_is_listed_once(void)
{
    sc_table *t = new_table();
    populate(t, SC_SERVICE_SMTP, five);
    EXPECT_WALK(t, "192.0.0.0/5", SC_SERVICE_SMTP,
                "192.0.0.0/5 5, 192.0.2.0/24 4, 192.0.2.0/30 3, 192.0.2.1/32 2, 192.0.2.3/32 1, "
                "192.0.2.129/32 1, 198.51.100.7/32 1");
    EXPECT_WALK(t, "192.0.2.0/24", SC_SERVICE_SMTP,
                "192.0.2.0/24 4, 192.0.2.0/30 3, 192.0.2.1/32 2, 192.0.2.3/32 1, 192.0.2.129/32 1");
    EXPECT_WALK(t, "192.0.2.0/30", SC_SERVICE_SMTP, "192.0.2.0/30 3, 192.0.2.1/32 2, 192.0.2.3/32 1");
    EXPECT_WALK(t, "192.0.2.1/32", SC_SERVICE_SMTP, "192.0.2.1/32 2");
    EXPECT_WALK(t, "192.0.2.2/32", SC_SERVICE_SMTP, "");
    sc_table_free(t);
}

static void test_a_root_ending_inside_a_byte_lists_only_its_side(void)
{
    sc_table *t = new_table();
    populate(t, SC_SERVICE_SMTP, five);
    EXPECT_WALK(t, "192.0.2.0/25", SC_SERVICE_SMTP,
                "192.0.2.0/25 3, 192.0.2.0/30 3, 192.0.2.1/32 2, 192.0.2.3/32 1");
    EXPECT_WALK(t, "192.0.2.128/25", SC_SERVICE_SMTP, "192.0.2.128/25 1, 192.0.2.129/32 1");
    EXPECT_WALK(t, "192.0.2.2/31", SC_SERVICE_SMTP, "192.0.2.2/31 1, 192.0.2.3/32 1");
    EXPECT_WALK(t, "192.0.0.0/23", SC_SERVICE_SMTP, "");   /* 192.0.0-1.x: nothing */
    EXPECT_WALK(t, "192.0.2.0/23", SC_SERVICE_SMTP,
                "192.0.2.0/23 4, 192.0.2.0/24 4, 192.0.2.0/30 3, 192.0.2.1/32 2, 192.0.2.3/32 1, "
                "192.0.2.129/32 1");
    sc_table_free(t);
}

static void test_a_root_with_one_session_lists_itself_and_the_address(void)
{
    sc_table *t = new_table();
    populate(t, SC_SERVICE_SMTP, "10.1.2.3");
    EXPECT_WALK(t, "0.0.0.0/0", SC_SERVICE_SMTP, "0.0.0.0/0 1, 10.1.2.3/32 1");
    EXPECT_WALK(t, "10.0.0.0/8", SC_SERVICE_SMTP, "10.0.0.0/8 1, 10.1.2.3/32 1");
    EXPECT_WALK(t, "10.1.0.0/16", SC_SERVICE_SMTP, "10.1.0.0/16 1, 10.1.2.3/32 1");
    EXPECT_WALK(t, "10.1.2.0/24", SC_SERVICE_SMTP, "10.1.2.0/24 1, 10.1.2.3/32 1");
    EXPECT_WALK(t, "10.1.2.3/32", SC_SERVICE_SMTP, "10.1.2.3/32 1");
    EXPECT_WALK(t, "10.1.2.2/32", SC_SERVICE_SMTP, "");
    EXPECT_WALK(t, "10.1.2.2/31", SC_SERVICE_SMTP, "10.1.2.2/31 1, 10.1.2.3/32 1");
    sc_table_free(t);
}

static void test_an_empty_table_walks_and_ranks_nothing(void)
{
    sc_table *t = new_table();
    EXPECT_WALK(t, "0.0.0.0/0", SC_SERVICE_SMTP, "");
    EXPECT_WALK(t, "::/0", SC_SERVICE_SMTP, "");
    EXPECT_TOP(t, SC_INET4, 24, SC_SERVICE_SMTP, 5, "");
    EXPECT_TOP(t, SC_INET_ANY, 0, SC_SERVICE_SMTP, 5, "");
    /* Sessions opened and closed again: the trees exist, empty. */
    populate(t, SC_SERVICE_SMTP, "192.0.2.1 2001:db8::1");
    sc_addr a = A("192.0.2.1"), b = A("2001:db8::1");
    CHECK(sc_close(t, &a, SC_SERVICE_SMTP) == SC_OK && sc_close(t, &b, SC_SERVICE_SMTP) == SC_OK,
          "%s: close", IN);
    EXPECT_WALK(t, "0.0.0.0/0", SC_SERVICE_SMTP, "");
    EXPECT_WALK(t, "192.0.2.0/24", SC_SERVICE_SMTP, "");
    EXPECT_WALK(t, "::/0", SC_SERVICE_SMTP, "");
    EXPECT_TOP(t, SC_INET_ANY, 32, SC_SERVICE_SMTP, 5, "");
    sc_table_free(t);
}

static void test_ipv6_walks_list_ipv6_only(void)
{
    sc_table *t = new_table();
    populate(t, SC_SERVICE_SMTP,
             "2001:db8::1 2001:db8::2*2 2001:db8:0:1::1 2001:db8:8000:: fe80::1 192.0.2.1");
    EXPECT_WALK(t, "::/0", SC_SERVICE_SMTP,
                "::/0 6, 2001:db8::/32 5, 2001:db8::/63 4, 2001:db8::/126 3, 2001:db8::1/128 1, "
                "2001:db8::2/128 2, 2001:db8:0:1::1/128 1, 2001:db8:8000::/128 1, fe80::1/128 1");
    EXPECT_WALK(t, "2001:db8::/48", SC_SERVICE_SMTP,
                "2001:db8::/48 4, 2001:db8::/63 4, 2001:db8::/126 3, 2001:db8::1/128 1, "
                "2001:db8::2/128 2, 2001:db8:0:1::1/128 1");
    EXPECT_WALK(t, "2001:db8::/64", SC_SERVICE_SMTP,
                "2001:db8::/64 3, 2001:db8::/126 3, 2001:db8::1/128 1, 2001:db8::2/128 2");
    EXPECT_WALK(t, "2001:db8::/127", SC_SERVICE_SMTP, "2001:db8::/127 1, 2001:db8::1/128 1");
    EXPECT_WALK(t, "2001:db8::2/128", SC_SERVICE_SMTP, "2001:db8::2/128 2");
    EXPECT_WALK(t, "fe80::/10", SC_SERVICE_SMTP, "fe80::/10 1, fe80::1/128 1");
    EXPECT_WALK(t, "2001:db8:8000::/33", SC_SERVICE_SMTP,
                "2001:db8:8000::/33 1, 2001:db8:8000::/128 1");
    EXPECT_WALK(t, "0.0.0.0/0", SC_SERVICE_SMTP, "0.0.0.0/0 1, 192.0.2.1/32 1");
    sc_table_free(t);
}

static sc_prefix raw6(const char *addr, unsigned len)
{
    sc_prefix p = {.addr = {.family = SC_INET6}, .len = (uint8_t)len};
    sc_addr a = A(addr);   /* IPv4 when mapped: spell it out as IPv6 again */
    if (a.family == SC_INET4) {
        p.addr.bytes[10] = p.addr.bytes[11] = 0xff;
        memcpy(p.addr.bytes + 12, a.bytes, 4);
    } else {
        memcpy(p.addr.bytes, a.bytes, 16);
    }
    return p;
}

static void test_mapped_roots_walk_ipv4_and_ipv6_roots_never_list_ipv4(void)
{
    sc_table *t = new_table();
    sc_addr mapped = {.family = SC_INET6, .bytes = {[10] = 0xff, [11] = 0xff, 192, 0, 2, 7}};
    CHECK(sc_open(t, &mapped, SC_SERVICE_SMTP) == SC_OK, "%s: open mapped", IN);
    populate(t, SC_SERVICE_SMTP, "192.0.2.9 c000:201::");
    snprintf(population, sizeof population, "::ffff:192.0.2.7 (raw IPv6), 192.0.2.9, c000:201::");
    sc_prefix r = raw6("::ffff:192.0.2.0", 120);
    EXPECT_WALK_RAW(t, &r, "::ffff:192.0.2.0/120 (raw)", SC_SERVICE_SMTP, 0,
                    "192.0.2.0/24 2, 192.0.2.0/28 2, 192.0.2.7/32 1, 192.0.2.9/32 1");
    r = raw6("::ffff:0.0.0.0", 96);
    EXPECT_WALK_RAW(t, &r, "::ffff:0:0/96 (raw)", SC_SERVICE_SMTP, 0,
                    "0.0.0.0/0 2, 192.0.2.0/28 2, 192.0.2.7/32 1, 192.0.2.9/32 1");
    r = raw6("::ffff:192.0.2.7", 128);
    EXPECT_WALK_RAW(t, &r, "::ffff:192.0.2.7/128 (raw)", SC_SERVICE_SMTP, 0, "192.0.2.7/32 1");
    r = raw6("::fffe:0:0", 95);   /* IPv6 ::fffe:0:0/95 holds ::ffff:0:0/96: still IPv6 */
    EXPECT_WALK_RAW(t, &r, "::fffe:0:0/95 (raw)", SC_SERVICE_SMTP, 0, "");
    EXPECT_WALK(t, "::/0", SC_SERVICE_SMTP, "::/0 1, c000:201::/128 1");
    EXPECT_WALK(t, "c000::/8", SC_SERVICE_SMTP, "c000::/8 1, c000:201::/128 1");
    EXPECT_WALK(t, "192.0.0.0/8", SC_SERVICE_SMTP,
                "192.0.0.0/8 2, 192.0.2.0/28 2, 192.0.2.7/32 1, 192.0.2.9/32 1");
    EXPECT_TOP(t, SC_INET6, 96, SC_SERVICE_SMTP, 5, "c000:201::/96 1");
    EXPECT_TOP(t, SC_INET4, 28, SC_SERVICE_SMTP, 5, "192.0.2.0/28 2");
    sc_table_free(t);
}

static void test_walks_keep_services_apart(void)
{
    sc_table *t = new_table();
    populate(t, SC_SERVICE_SMTP, "10.0.0.1");
    populate(t, SC_SERVICE_ECSTREAM, "10.0.0.2*3");
    EXPECT_WALK(t, "0.0.0.0/0", SC_SERVICE_SMTP, "0.0.0.0/0 1, 10.0.0.1/32 1");
    EXPECT_WALK(t, "0.0.0.0/0", SC_SERVICE_ECSTREAM, "0.0.0.0/0 3, 10.0.0.2/32 3");
    EXPECT_WALK(t, "0.0.0.0/0", SC_SERVICE_CONTROL, "");
    EXPECT_TOP(t, SC_INET4, 32, SC_SERVICE_ECSTREAM, 5, "10.0.0.2/32 3");
    sc_table_free(t);
}

/* The node shapes of fast: a pair (two addresses apart in the last byte
 * below a /16 node), an N2 and an inline leaf. */
static void test_walk_reads_pairs_and_nodes_below_a_busy_slash_16(void)
{
    sc_table *t = new_table();
    populate(t, SC_SERVICE_SMTP, "10.0.0.1 10.0.1.1 10.0.5.1*2 10.0.5.9");
    EXPECT_WALK(t, "10.0.0.0/16", SC_SERVICE_SMTP,
                "10.0.0.0/16 5, 10.0.0.0/21 5, 10.0.0.0/23 2, 10.0.0.1/32 1, 10.0.1.1/32 1, "
                "10.0.5.0/28 3, 10.0.5.1/32 2, 10.0.5.9/32 1");
    EXPECT_WALK(t, "10.0.5.0/24", SC_SERVICE_SMTP,
                "10.0.5.0/24 3, 10.0.5.0/28 3, 10.0.5.1/32 2, 10.0.5.9/32 1");
    EXPECT_WALK(t, "10.0.5.8/29", SC_SERVICE_SMTP, "10.0.5.8/29 1, 10.0.5.9/32 1");
    EXPECT_WALK(t, "10.0.5.9/32", SC_SERVICE_SMTP, "10.0.5.9/32 1");
    if (sc_is_fast_table(t)) {
        sc_census c;
        CHECK(sc_fast_census(t, &c) && c.shape[SC_SHAPE_PAIR] == 1,
              "fast: the fixture holds %zu pairs, want 1", c.shape[SC_SHAPE_PAIR]);
    }
    sc_table_free(t);
}

static void test_a_walk_stops_when_visit_says_so(void)
{
    sc_table *t = new_table();
    populate(t, SC_SERVICE_SMTP, five);
    sc_prefix r = P("0.0.0.0/0");
    EXPECT_WALK_RAW(t, &r, "0.0.0.0/0 stopping after 1", SC_SERVICE_SMTP, 1, "0.0.0.0/0 5");
    EXPECT_WALK_RAW(t, &r, "0.0.0.0/0 stopping after 3", SC_SERVICE_SMTP, 3,
                    "0.0.0.0/0 5, 192.0.0.0/5 5, 192.0.2.0/24 4");
    EXPECT_WALK_RAW(t, &r, "0.0.0.0/0 stopping after 8", SC_SERVICE_SMTP, 8,
                    "0.0.0.0/0 5, 192.0.0.0/5 5, 192.0.2.0/24 4, 192.0.2.0/30 3, 192.0.2.1/32 2, "
                    "192.0.2.3/32 1, 192.0.2.129/32 1, 198.51.100.7/32 1");
    sc_table_free(t);
}

typedef struct reentry { sc_table *t; size_t visits; sc_status worst; } reentry;

/* Opens a session in another service and counts, from inside the walk. */
static int visit_and_update(void *arg, const sc_branch *b)
{
    reentry *r = arg;
    sc_addr a = {.family = b->prefix.addr.family};
    memcpy(a.bytes, b->prefix.addr.bytes, 16);
    uint64_t n = 0;
    sc_status st = sc_open(r->t, &a, SC_SERVICE_CONTROL);
    if (st == SC_OK) st = sc_count(r->t, &b->prefix, SC_SERVICE_SMTP, &n);
    if (st == SC_OK && n != b->count) st = SC_E_RANGE;   /* a count that disagrees */
    if (st != SC_OK) r->worst = st;
    r->visits++;
    return 0;
}

static void test_visit_may_open_and_count_on_the_same_table(void)
{
    sc_table *t = new_table();
    populate(t, SC_SERVICE_SMTP, five);
    reentry r = {t, 0, SC_OK};
    sc_prefix root = P("0.0.0.0/0");
    sc_status st = sc_walk_tree(t, &root, SC_SERVICE_SMTP, visit_and_update, &r);
    CHECK(st == SC_OK && r.worst == SC_OK && r.visits == 8,
          "%s: a walk whose visit opens and counts: %s, %zu visits, worst %s", IN,
          sc_status_name(st), r.visits, sc_status_name(r.worst));
    EXPECT_TOP(t, SC_INET4, 0, SC_SERVICE_CONTROL, 1, "0.0.0.0/0 8");
    sc_table_free(t);
}

/* Hundreds of prefixes, more than one batch of fast's: the listing is the
 * model's, every count is sc_count's, and a walk stopped at any point is
 * the start of the whole one. */
static void test_a_walk_longer_than_a_batch_is_whole_and_in_order(void)
{
    enum { N4 = 300, N6 = 200, CAP = 2048 };
    sc_table *t = new_table();
    static wm_session s[N4 + N6];
    uint64_t x = 12345;
    for (int i = 0; i < N4 + N6; i++) {
        x = x * 6364136223846793005u + 1442695040888963407u;
        uint8_t b[16] = {10, 9, (uint8_t)(x >> 56), (uint8_t)(x >> 40)};
        if (i >= N4) {
            memcpy(b, (uint8_t[]){0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 7}, 8);
            memcpy(b + 8, &x, 8);
            b[8] = b[9] = 0;
        }
        s[i].svc = SC_SERVICE_SMTP;
        CHECK(sc_addr_from_bytes(i < N4 ? SC_INET4 : SC_INET6, b, &s[i].addr) == SC_OK &&
                  sc_open(t, &s[i].addr, SC_SERVICE_SMTP) == SC_OK,
              "%s: open %d", IN, i);
    }
    snprintf(population, sizeof population, "%d addresses in 10.9.0.0/16, %d in 2001:db8:0:7::/64", N4, N6);
    static const char *const roots[] = {"0.0.0.0/0", "10.9.0.0/16", "10.9.128.0/17", "::/0",
                                        "2001:db8:0:7::/64", "2001:db8:0:7:0:8000::/81"};
    static sc_branch got[CAP], want[CAP], part[CAP];
    for (size_t r = 0; r < sizeof roots / sizeof roots[0]; r++) {
        sc_prefix root = P(roots[r]);
        walk_list l = {got, CAP, 0, 0};
        size_t nw = wm_walk(s, N4 + N6, &root, SC_SERVICE_SMTP, want, CAP);
        CHECK(sc_walk_tree(t, &root, SC_SERVICE_SMTP, walk_list_add, &l) == SC_OK, "walk");
        CHECK(l.n == nw && nw > 130 && wm_same(got, want, nw),
              "%s: walk of %s: %zu prefixes, the model %zu (%s)", IN, roots[r], l.n, nw, population);
        size_t bad = 0;
        for (size_t i = 0; i < l.n && i < CAP; i++) {
            uint64_t n = 0;
            bad += sc_count(t, &got[i].prefix, SC_SERVICE_SMTP, &n) != SC_OK || n != got[i].count;
        }
        CHECK(bad == 0, "%s: walk of %s: %zu counts differ from sc_count", IN, roots[r], bad);
        for (size_t stop = 1; stop < l.n; stop += stop < 140 ? 1 : 97) {
            walk_list k = {part, CAP, 0, stop};
            CHECK(sc_walk_tree(t, &root, SC_SERVICE_SMTP, walk_list_add, &k) == SC_OK &&
                      k.n == stop && wm_same(part, got, stop),
                  "%s: walk of %s stopped after %zu: %zu prefixes, or not the whole one's first",
                  IN, roots[r], stop, k.n);
        }
    }
    sc_table_free(t);
}

/* ---------------------------------------------------------------- sc_top */

static const char *const ranked =
    "10.0.0.1*3 10.0.0.2 10.0.1.1*2 10.0.2.5*2 192.0.2.1*2 2001:db8::1*4 2001:db8:1::1";

static void test_top_ranks_most_first_ties_in_address_order(void)
{
    sc_table *t = new_table();
    populate(t, SC_SERVICE_SMTP, ranked);
    const sc_service S = SC_SERVICE_SMTP;
    EXPECT_TOP(t, SC_INET4, 24, S, 10, "10.0.0.0/24 4, 10.0.1.0/24 2, 10.0.2.0/24 2, 192.0.2.0/24 2");
    EXPECT_TOP(t, SC_INET4, 24, S, 2, "10.0.0.0/24 4, 10.0.1.0/24 2");
    EXPECT_TOP(t, SC_INET4, 32, S, 3, "10.0.0.1/32 3, 10.0.1.1/32 2, 10.0.2.5/32 2");
    EXPECT_TOP(t, SC_INET4, 0, S, 5, "0.0.0.0/0 10");
    EXPECT_TOP(t, SC_INET4, 8, S, 5, "10.0.0.0/8 8, 192.0.0.0/8 2");
    EXPECT_TOP(t, SC_INET4, 16, S, 5, "10.0.0.0/16 8, 192.0.0.0/16 2");
    EXPECT_TOP(t, SC_INET4, 23, S, 5, "10.0.0.0/23 6, 10.0.2.0/23 2, 192.0.2.0/23 2");
    EXPECT_TOP(t, SC_INET4, 30, S, 5, "10.0.0.0/30 4, 10.0.1.0/30 2, 10.0.2.4/30 2, 192.0.2.0/30 2");
    EXPECT_TOP(t, SC_INET6, 48, S, 5, "2001:db8::/48 4, 2001:db8:1::/48 1");
    EXPECT_TOP(t, SC_INET6, 32, S, 5, "2001:db8::/32 5");
    EXPECT_TOP(t, SC_INET6, 128, S, 1, "2001:db8::1/128 4");
    EXPECT_TOP(t, SC_INET_ANY, 16, S, 3, "10.0.0.0/16 8, 2001::/16 5, 192.0.0.0/16 2");
    EXPECT_TOP(t, SC_INET_ANY, 64, S, 5, "2001:db8::/64 4, 2001:db8:1::/64 1");
    EXPECT_TOP(t, SC_INET_ANY, 32, S, 5,
               "2001:db8::/32 5, 10.0.0.1/32 3, 10.0.1.1/32 2, 10.0.2.5/32 2, 192.0.2.1/32 2");
    EXPECT_TOP(t, SC_INET_ANY, 33, S, 5, "2001:db8::/33 5");
    sc_table_free(t);
}

static void test_top_ties_across_families_put_ipv4_first(void)
{
    sc_table *t = new_table();
    populate(t, SC_SERVICE_SMTP, "1.2.3.4*2 ::1*2 2.0.0.1*2");
    EXPECT_TOP(t, SC_INET_ANY, 0, SC_SERVICE_SMTP, 3, "0.0.0.0/0 4, ::/0 2");
    EXPECT_TOP(t, SC_INET_ANY, 32, SC_SERVICE_SMTP, 5, "1.2.3.4/32 2, 2.0.0.1/32 2, ::/32 2");
    EXPECT_TOP(t, SC_INET_ANY, 32, SC_SERVICE_SMTP, 2, "1.2.3.4/32 2, 2.0.0.1/32 2");
    EXPECT_TOP(t, SC_INET_ANY, 5, SC_SERVICE_SMTP, 5, "0.0.0.0/5 4, ::/5 2");
    sc_table_free(t);
}

static void test_top_lists_what_there_is_when_n_is_larger_or_zero(void)
{
    sc_table *t = new_table();
    populate(t, SC_SERVICE_SMTP, ranked);
    sc_branch out[64];
    size_t found = 999;
    sc_status st = sc_top(t, SC_INET4, 24, SC_SERVICE_SMTP, 64, out, &found);
    CHECK(st == SC_OK && found == 4, "%s: top 64 of 4 /24s: %s, found %zu", IN, sc_status_name(st),
          found);
    found = 999;
    st = sc_top(t, SC_INET4, 24, SC_SERVICE_SMTP, 0, NULL, &found);
    CHECK(st == SC_OK && found == 0, "%s: top 0, out NULL: %s, found %zu", IN, sc_status_name(st),
          found);
    found = 999;
    st = sc_top(t, SC_INET_ANY, 128, SC_SERVICE_SMTP, 0, out, &found);
    CHECK(st == SC_OK && found == 0, "%s: top 0: %s, found %zu", IN, sc_status_name(st), found);
    sc_table_free(t);
}

/* ---------------------------------------------------------------- bad arguments */

static int never(void *arg, const sc_branch *b)
{
    (void)b;
    ++*(int *)arg;
    return 0;
}

static void test_bad_arguments_are_refused_and_change_nothing(void)
{
    sc_table *t = new_table();
    populate(t, SC_SERVICE_SMTP, ranked);
    sc_prefix ok = P("10.0.0.0/8"), bad[6];
    const char *why[6] = {"host bits set", "family 5", "IPv4 /33", "IPv6 /129", "family 0",
                          "IPv6 host bits"};
    for (int i = 0; i < 6; i++) bad[i] = ok;
    bad[0].addr.bytes[3] = 1;
    bad[1].addr.family = 5;
    bad[2].len = 33;
    bad[3] = P("2001:db8::/32");
    bad[3].len = 129;
    bad[4].addr.family = 0;
    bad[5] = P("2001:db8::/32");
    bad[5].addr.bytes[15] = 1;
    int calls = 0;
    for (int i = 0; i < 6; i++)
        CHECK(sc_walk_tree(t, &bad[i], SC_SERVICE_SMTP, never, &calls) == SC_E_INVALID,
              "%s: walk of a root with %s", IN, why[i]);
    CHECK(sc_walk_tree(NULL, &ok, 0, never, &calls) == SC_E_INVALID, "%s: walk NULL table", IN);
    CHECK(sc_walk_tree(t, NULL, 0, never, &calls) == SC_E_INVALID, "%s: walk NULL root", IN);
    CHECK(sc_walk_tree(t, &ok, 0, NULL, &calls) == SC_E_INVALID, "%s: walk NULL visit", IN);
    CHECK(sc_walk_tree(t, &ok, SC_SERVICE_FIRST_EXTRA, never, &calls) == SC_E_INVALID,
          "%s: walk of service 6 of 6", IN);
    CHECK(sc_walk_tree(t, &ok, 65535, never, &calls) == SC_E_INVALID, "%s: walk of service 65535", IN);
    CHECK(calls == 0, "%s: visit called %d times by refused walks", IN, calls);

    static const struct { int family; unsigned len; const char *why; } tops[] = {
        {5, 8, "family 5"}, {2, 8, "AF_INET (2), not SC_INET4"}, {10, 8, "AF_INET6 (10)"},
        {SC_INET4, 33, "IPv4 /33"}, {SC_INET6, 129, "IPv6 /129"}, {SC_INET_ANY, 129, "any /129"},
    };
    sc_branch out[4], before[4];
    memset(out, 0xA5, sizeof out);
    memcpy(before, out, sizeof out);
    size_t found = 777;
    for (size_t i = 0; i < sizeof tops / sizeof tops[0]; i++)
        CHECK(sc_top(t, tops[i].family, tops[i].len, SC_SERVICE_SMTP, 4, out, &found) ==
                  SC_E_INVALID, "%s: top with %s", IN, tops[i].why);
    CHECK(sc_top(t, SC_INET4, 8, SC_SERVICE_SMTP, 1, NULL, &found) == SC_E_INVALID,
          "%s: top of 1 into NULL", IN);
    CHECK(sc_top(t, SC_INET4, 8, SC_SERVICE_SMTP, 4, out, NULL) == SC_E_INVALID,
          "%s: top with found NULL", IN);
    CHECK(sc_top(NULL, SC_INET4, 8, SC_SERVICE_SMTP, 4, out, &found) == SC_E_INVALID,
          "%s: top of a NULL table", IN);
    CHECK(sc_top(t, SC_INET4, 8, SC_SERVICE_FIRST_EXTRA, 4, out, &found) == SC_E_INVALID,
          "%s: top of service 6 of 6", IN);
    CHECK(found == 777 && memcmp(out, before, sizeof out) == 0,
          "%s: a refused top wrote found (%zu) or out[]", IN, found);
    /* Nothing above changed a count or a listing. */
    EXPECT_TOP(t, SC_INET_ANY, 16, SC_SERVICE_SMTP, 3, "10.0.0.0/16 8, 2001::/16 5, 192.0.0.0/16 2");
    EXPECT_WALK(t, "10.0.0.0/22", SC_SERVICE_SMTP,
                "10.0.0.0/22 8, 10.0.0.0/23 6, 10.0.0.0/30 4, 10.0.0.1/32 3, 10.0.0.2/32 1, "
                "10.0.1.1/32 2, 10.0.2.5/32 2");
    sc_table_free(t);
}

static void table_tests(void)
{
    const sc_impl *impls[] = {sc_impl_ref(), sc_impl_fast()};
    for (int k = 0; k < 2; k++) {
        impl = impls[k];
        printf("-- %s\n", sc_impl_name(impl));
        RUN(test_walk_lists_root_branching_points_and_full_addresses);
        RUN(test_a_root_that_branches_or_is_an_address_is_listed_once);
        RUN(test_a_root_ending_inside_a_byte_lists_only_its_side);
        RUN(test_a_root_with_one_session_lists_itself_and_the_address);
        RUN(test_an_empty_table_walks_and_ranks_nothing);
        RUN(test_ipv6_walks_list_ipv6_only);
        RUN(test_mapped_roots_walk_ipv4_and_ipv6_roots_never_list_ipv4);
        RUN(test_walks_keep_services_apart);
        RUN(test_walk_reads_pairs_and_nodes_below_a_busy_slash_16);
        RUN(test_a_walk_stops_when_visit_says_so);
        RUN(test_visit_may_open_and_count_on_the_same_table);
        RUN(test_a_walk_longer_than_a_batch_is_whole_and_in_order);
        RUN(test_top_ranks_most_first_ties_in_address_order);
        RUN(test_top_ties_across_families_put_ipv4_first);
        RUN(test_top_lists_what_there_is_when_n_is_larger_or_zero);
        RUN(test_bad_arguments_are_refused_and_change_nothing);
    }
}

int main(int argc, char **argv)
{
    const char *part = argc > 1 ? argv[1] : "table";
    if (strcmp(part, "diff") == 0) return walk_diff_tests();
    if (strcmp(part, "concurrency") == 0) return walk_conc_tests();
    if (strcmp(part, "table") != 0) {
        fprintf(stderr, "usage: test_walk [table | diff | concurrency]\n");
        return 2;
    }
    table_tests();
    return check_done();
}
