/*
 * test_count.c: counting semantics, on both implementations.  Every test
 * runs once on a ref table and once on a fast table; expected counts come
 * from the test itself (small fixtures, or a brute-force count over the
 * sessions it opened), not from either implementation.
 */
#include <string.h>
#include <time.h>

#include "sc_check.h"
#include "sc_internal.h"

static const sc_impl *impl; /* the implementation under test */
#define IN sc_impl_name(impl)

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

static sc_table *new_table(bool clustering)
{
    sc_options opts = {.clustering = clustering};
    sc_table *t = NULL;
    sc_status st = sc_table_new(impl, &opts, &t);
    CHECK(st == SC_OK && t, "%s: sc_table_new: %s", IN, sc_strerror(st));
    return t;
}

/* Count of `cidr` (absolute) for svc; UINT64_MAX when the call fails. */
static uint64_t count(const sc_table *t, const char *cidr, sc_service svc)
{
    sc_prefix p = P(cidr);
    uint64_t n = 0;
    sc_status st = sc_count(t, &p, svc, &n);
    if (!CHECK(st == SC_OK, "%s: count %s: %s", IN, cidr, sc_strerror(st))) return UINT64_MAX;
    return n;
}

static void open_n(sc_table *t, const char *addr, sc_service svc, int n)
{
    sc_addr a = A(addr);
    for (int i = 0; i < n; i++)
        CHECK(sc_open(t, &a, svc) == SC_OK, "%s: open %s", IN, addr);
}

static void close_n(sc_table *t, const char *addr, sc_service svc, int n)
{
    sc_addr a = A(addr);
    for (int i = 0; i < n; i++)
        CHECK(sc_close(t, &a, svc) == SC_OK, "%s: close %s", IN, addr);
}

#define EXPECT_COUNT(t, cidr, svc, want)                                                      \
    do {                                                                                      \
        uint64_t got_ = count((t), (cidr), (svc));                                            \
        CHECK(got_ == (uint64_t)(want), "%s: count(%s, svc %d) = %llu, want %llu", IN, (cidr), \
              (int)(svc), (unsigned long long)got_, (unsigned long long)(want));              \
    } while (0)

static void test_families_are_counted_apart(void)
{
    sc_table *t = new_table(false);
    open_n(t, "192.0.2.1", SC_SERVICE_SMTP, 1);
    open_n(t, "198.51.100.7", SC_SERVICE_SMTP, 1);
    open_n(t, "10.0.0.1", SC_SERVICE_SMTP, 1);
    open_n(t, "2001:db8::1", SC_SERVICE_SMTP, 1);
    open_n(t, "c000:201::", SC_SERVICE_SMTP, 1); /* the same 16 bytes as 192.0.2.1 */
    open_n(t, "::c000:201", SC_SERVICE_SMTP, 1); /* IPv4-compatible: still IPv6 */
    EXPECT_COUNT(t, "::/0", SC_SERVICE_SMTP, 3);
    EXPECT_COUNT(t, "0.0.0.0/0", SC_SERVICE_SMTP, 3);
    EXPECT_COUNT(t, "::ffff:0:0/96", SC_SERVICE_SMTP, 3); /* = 0.0.0.0/0 */
    EXPECT_COUNT(t, "192.0.2.1/32", SC_SERVICE_SMTP, 1);
    EXPECT_COUNT(t, "c000:201::/128", SC_SERVICE_SMTP, 1);
    EXPECT_COUNT(t, "c000::/16", SC_SERVICE_SMTP, 1);
    EXPECT_COUNT(t, "192.0.0.0/16", SC_SERVICE_SMTP, 1);
    EXPECT_COUNT(t, "::/96", SC_SERVICE_SMTP, 1);
    EXPECT_COUNT(t, "::/64", SC_SERVICE_SMTP, 1);
    EXPECT_COUNT(t, "::/80", SC_SERVICE_SMTP, 1);
    EXPECT_COUNT(t, "::ffff:0:0/95", SC_SERVICE_SMTP, 0); /* IPv6 ::fffe:0:0/95: no IPv4 */
    sc_table_free(t);
}

static void test_mapped_peers_count_as_ipv4(void)
{
    sc_table *t = new_table(false);
    const uint8_t mapped[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 7};
    sc_addr from_bytes;
    CHECK(sc_addr_from_bytes(SC_INET6, mapped, &from_bytes) == SC_OK, "from bytes");
    CHECK(sc_open(t, &from_bytes, SC_SERVICE_SMTP) == SC_OK, "%s: open mapped (bytes)", IN);
    open_n(t, "::ffff:192.0.2.7", SC_SERVICE_SMTP, 1);  /* mapped text */
    open_n(t, "192.0.2.9", SC_SERVICE_SMTP, 1);
    EXPECT_COUNT(t, "192.0.2.0/24", SC_SERVICE_SMTP, 3);
    EXPECT_COUNT(t, "::ffff:192.0.2.0/120", SC_SERVICE_SMTP, 3);
    EXPECT_COUNT(t, "192.0.2.7/32", SC_SERVICE_SMTP, 2);
    EXPECT_COUNT(t, "::ffff:192.0.2.7", SC_SERVICE_SMTP, 2);
    EXPECT_COUNT(t, "::/0", SC_SERVICE_SMTP, 0);
    EXPECT_COUNT(t, "::/1", SC_SERVICE_SMTP, 0);
    /* An IPv6 sc_addr holding mapped bytes, as a host that copies a
     * sockaddr_in6 hands it over: sesscount.h says it is counted as IPv4. */
    sc_addr raw = {.family = SC_INET6};
    memcpy(raw.bytes, mapped, 16);
    sc_status st = sc_open(t, &raw, SC_SERVICE_SMTP);
    CHECK(st == SC_OK, "%s: open of an IPv6 sc_addr ::ffff:192.0.2.7: %s", IN, sc_strerror(st));
    if (st == SC_OK) {
        EXPECT_COUNT(t, "192.0.2.7/32", SC_SERVICE_SMTP, 3);
        st = sc_close(t, &raw, SC_SERVICE_SMTP);
        CHECK(st == SC_OK, "%s: close of an IPv6 sc_addr ::ffff:192.0.2.7: %s", IN,
              sc_strerror(st));
    }
    /* The session opened mapped closes as IPv4, and the other way round. */
    close_n(t, "192.0.2.7", SC_SERVICE_SMTP, 1);
    close_n(t, "::ffff:192.0.2.7", SC_SERVICE_SMTP, 1);
    EXPECT_COUNT(t, "192.0.2.0/24", SC_SERVICE_SMTP, 1);
    sc_table_free(t);
}

static void test_relative_masks_use_the_connecting_ip(void)
{
    sc_options opts = {.clustering = true};
    sc_table *t = NULL;
    if (!CHECK(sc_table_new(impl, &opts, &t) == SC_OK, "%s: table", IN)) return;
    open_n(t, "192.0.2.1", SC_SERVICE_ECCLUSTER, 1);
    open_n(t, "192.0.2.200", SC_SERVICE_ECCLUSTER, 1);
    open_n(t, "192.0.3.1", SC_SERVICE_ECCLUSTER, 1);
    open_n(t, "2001:db8:1:2::1", SC_SERVICE_ECCLUSTER, 1);
    open_n(t, "2001:db8:1:3::1", SC_SERVICE_ECCLUSTER, 1);
    open_n(t, "2001:d00::", SC_SERVICE_ECCLUSTER, 1);
    sc_addr v4 = A("192.0.2.77"), v6 = A("2001:db8:1:2::77");
    sc_addr mapped = {.family = SC_INET6, .bytes = {[10] = 0xff, [11] = 0xff, 192, 0, 2, 77}};
    static const struct { const char *cidr; int conn; const char *svc; uint64_t want; } rows[] = {
        {"/24", 4, "ECCluster", 2}, {"/16", 4, "eccluster", 3}, {"/32", 4, "ECCLUSTER", 0},
        {"/0", 4, "ECCluster", 3},  {"/24", 4, "SMTP", 0},      {"/64", 6, "ECCluster", 1},
        {"/48", 6, "ECCluster", 2}, {"/24", 6, "ECCluster", 3}, /* an IPv6 /24 */
        {"/128", 6, "ECCluster", 0}, {"/0", 6, "ECCluster", 3}, {"/24", 0, "ECCluster", 2},
        {"/32", 0, "ECCluster", 0}, {"192.0.2.77/24", 6, "ECCluster", 2},
    };
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        const sc_addr *c = rows[r].conn == 4 ? &v4 : rows[r].conn == 6 ? &v6 : &mapped;
        uint64_t n = 999;
        sc_error err = {0};
        sc_status st = sc_count_text(t, rows[r].cidr, strlen(rows[r].cidr), c, rows[r].svc,
                                     strlen(rows[r].svc), &n, &err);
        CHECK(st == SC_OK && n == rows[r].want,
              "%s: count_text(%s, conn %s, %s) = %s %llu, want %llu", IN, rows[r].cidr,
              rows[r].conn == 4 ? "v4" : rows[r].conn == 6 ? "v6" : "mapped", rows[r].svc, sc_strerror(st), (unsigned long long)n,
              (unsigned long long)rows[r].want);
    }
    uint64_t n = 999;
    sc_error err = {0};
    CHECK(sc_count_text(t, "/64", 3, &v4, "smtp", 4, &n, &err) == SC_E_PARSE &&
              err.code == SC_PARSE_MASK_RANGE && n == 999,
          "%s: /64 of an IPv4 peer", IN);
    CHECK(sc_count_text(t, "/24", 3, NULL, "smtp", 4, &n, &err) == SC_E_PARSE &&
              err.code == SC_PARSE_NO_CONNECTING_IP,
          "%s: /24 without a connecting IP", IN);
    CHECK(sc_count_text(t, "192.0.2.0/24", 12, NULL, "imap", 4, &n, &err) == SC_E_NO_SERVICE,
          "%s: unknown service", IN);
    CHECK(sc_count_text(t, "10.1", 4, NULL, "smtp", 4, &n, &err) == SC_E_PARSE &&
              err.code == SC_PARSE_V4_SHORTHAND && err.offset == 4,
          "%s: a parse error through count_text", IN);
    sc_table *plain = new_table(false);
    CHECK(sc_count_text(plain, "::/0", 4, NULL, "ECmmove2", 8, &n, &err) ==
              SC_E_NEEDS_CLUSTERING, "%s: clustering-only name without clustering", IN);
    sc_table_free(plain);
    sc_table_free(t);
}

static void test_host_bits_are_ignored(void)
{
    sc_table *t = new_table(false);
    open_n(t, "192.0.2.1", SC_SERVICE_SMTP, 2);
    open_n(t, "2001:db8::1", SC_SERVICE_SMTP, 1);
    EXPECT_COUNT(t, "192.0.2.77/24", SC_SERVICE_SMTP, 2);
    EXPECT_COUNT(t, "192.0.2.255/31", SC_SERVICE_SMTP, 0);
    EXPECT_COUNT(t, "192.0.2.0/31", SC_SERVICE_SMTP, 2);
    EXPECT_COUNT(t, "2001:db8::ffff/64", SC_SERVICE_SMTP, 1);
    uint64_t n = 0;
    sc_error err;
    CHECK(sc_count_text(t, "192.0.2.200/24", 14, NULL, "smtp", 4, &n, &err) == SC_OK && n == 2,
          "%s: count_text 192.0.2.200/24 = %llu", IN, (unsigned long long)n);
    sc_table_free(t);
}

static void test_sessions_share_an_address(void)
{
    sc_table *t = new_table(false);
    open_n(t, "203.0.113.5", SC_SERVICE_SMTP, 3);
    EXPECT_COUNT(t, "203.0.113.5/32", SC_SERVICE_SMTP, 3);
    close_n(t, "203.0.113.5", SC_SERVICE_SMTP, 1);
    EXPECT_COUNT(t, "203.0.113.5/32", SC_SERVICE_SMTP, 2);
    close_n(t, "203.0.113.5", SC_SERVICE_SMTP, 2);
    EXPECT_COUNT(t, "203.0.113.5/32", SC_SERVICE_SMTP, 0);
    sc_addr a = A("203.0.113.5");
    CHECK(sc_close(t, &a, SC_SERVICE_SMTP) == SC_E_NOT_OPEN, "%s: a fourth close", IN);
    sc_table_free(t);
}

static void test_services_are_counted_apart(void)
{
    sc_table *t = new_table(false);
    open_n(t, "192.0.2.1", SC_SERVICE_SMTP, 2);
    open_n(t, "192.0.2.1", SC_SERVICE_ECSTREAM, 1);
    EXPECT_COUNT(t, "192.0.2.0/24", SC_SERVICE_SMTP, 2);
    EXPECT_COUNT(t, "192.0.2.0/24", SC_SERVICE_ECSTREAM, 1);
    EXPECT_COUNT(t, "192.0.2.0/24", SC_SERVICE_CONTROL, 0);
    sc_addr a = A("192.0.2.1");
    CHECK(sc_close(t, &a, SC_SERVICE_CONTROL) == SC_E_NOT_OPEN, "%s: close Control", IN);
    close_n(t, "192.0.2.1", SC_SERVICE_ECSTREAM, 1);
    CHECK(sc_close(t, &a, SC_SERVICE_ECSTREAM) == SC_E_NOT_OPEN, "%s: close ECStream again", IN);
    EXPECT_COUNT(t, "192.0.2.0/24", SC_SERVICE_SMTP, 2);
    EXPECT_COUNT(t, "0.0.0.0/0", SC_SERVICE_ECSTREAM, 0);
    sc_table_free(t);
}

static const char *const snapshot_cidrs[] = {
    "0.0.0.0/0", "192.0.2.0/24", "192.0.2.1/32", "192.0.2.2/32", "192.0.0.0/16", "::/0",
    "2001:db8::/32", "2001:db8::1/128", "2001:db8::2/128", "c000:201::/128",
};
enum { N_SNAP = sizeof snapshot_cidrs / sizeof snapshot_cidrs[0], SNAP_SVCS = 3 };

static void snapshot(const sc_table *t, uint64_t out[N_SNAP][SNAP_SVCS])
{
    for (int i = 0; i < N_SNAP; i++)
        for (int s = 0; s < SNAP_SVCS; s++) out[i][s] = count(t, snapshot_cidrs[i], (sc_service)s);
}

static void test_closing_a_session_not_open_changes_nothing(void)
{
    sc_table *t = new_table(false);
    open_n(t, "192.0.2.1", SC_SERVICE_SMTP, 2);
    open_n(t, "192.0.2.3", SC_SERVICE_ECSTREAM, 1);
    open_n(t, "2001:db8::1", SC_SERVICE_SMTP, 1);
    open_n(t, "2001:db8::5", SC_SERVICE_CONTROL, 1);
    uint64_t before[N_SNAP][SNAP_SVCS], after[N_SNAP][SNAP_SVCS];
    snapshot(t, before);
    static const struct { const char *addr; sc_service svc; } bad[] = {
        {"192.0.2.2", SC_SERVICE_SMTP},     /* same /24, never opened */
        {"192.0.2.1", SC_SERVICE_ECSTREAM}, /* open, but under another service */
        {"192.0.2.3", SC_SERVICE_SMTP},
        {"2001:db8::2", SC_SERVICE_SMTP},
        {"2001:db8::1", SC_SERVICE_CONTROL},
        {"c000:201::", SC_SERVICE_SMTP},    /* the bytes of 192.0.2.1, as IPv6 */
        {"::ffff:192.0.2.2", SC_SERVICE_SMTP},
        {"0.0.0.0", SC_SERVICE_SMTP},
        {"::", SC_SERVICE_SMTP},
    };
    for (size_t r = 0; r < sizeof bad / sizeof bad[0]; r++) {
        sc_addr a = A(bad[r].addr);
        sc_status st = sc_close(t, &a, bad[r].svc);
        CHECK(st == SC_E_NOT_OPEN, "%s: close %s svc %u: %s", IN, bad[r].addr, bad[r].svc,
              sc_strerror(st));
    }
    snapshot(t, after);
    for (int i = 0; i < N_SNAP; i++)
        for (int s = 0; s < SNAP_SVCS; s++)
            CHECK(before[i][s] == after[i][s], "%s: count(%s, svc %d) %llu became %llu", IN,
                  snapshot_cidrs[i], s, (unsigned long long)before[i][s],
                  (unsigned long long)after[i][s]);
    CHECK(before[0][SC_SERVICE_SMTP] == 2 && before[5][SC_SERVICE_SMTP] == 1,
          "%s: fixture counts %llu %llu", IN, (unsigned long long)before[0][0],
          (unsigned long long)before[5][0]);
    sc_table_free(t);
}

static void test_a_count_never_goes_negative(void)
{
    sc_table *t = new_table(false);
    sc_addr a = A("198.51.100.1"), b = A("2001:db8::9");
    for (int round = 0; round < 3; round++) {
        CHECK(sc_open(t, &a, SC_SERVICE_SMTP) == SC_OK, "%s: open", IN);
        CHECK(sc_close(t, &a, SC_SERVICE_SMTP) == SC_OK, "%s: close", IN);
        CHECK(sc_close(t, &a, SC_SERVICE_SMTP) == SC_E_NOT_OPEN, "%s: second close", IN);
        CHECK(sc_close(t, &b, SC_SERVICE_SMTP) == SC_E_NOT_OPEN, "%s: close never opened", IN);
        EXPECT_COUNT(t, "198.51.100.1/32", SC_SERVICE_SMTP, 0);
        EXPECT_COUNT(t, "0.0.0.0/0", SC_SERVICE_SMTP, 0);
        EXPECT_COUNT(t, "::/0", SC_SERVICE_SMTP, 0);
    }
    CHECK(sc_open(t, &a, SC_SERVICE_SMTP) == SC_OK, "%s: open after bad closes", IN);
    EXPECT_COUNT(t, "198.51.100.0/24", SC_SERVICE_SMTP, 1);
    sc_table_free(t);
}

/* The brute-force oracle: sessions of p's family whose first p->len bits match. */
static uint64_t expect_in(const sc_addr *sess, size_t n, const sc_prefix *p)
{
    uint64_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += sess[i].family == p->addr.family &&
             sc_bits_equal(sess[i].bytes, p->addr.bytes, p->len);
    return c;
}

static void test_every_prefix_length_counts_exactly(void)
{
    static const char *const opened[] = {
        "192.0.2.1", "192.0.2.1", "192.0.2.129", "192.0.3.1", "10.0.0.1", "255.255.255.255",
        "0.0.0.0", "128.0.0.0", "127.255.255.255", "2001:db8::1", "2001:db8::1",
        "2001:db8:0:1::1", "2001:db8:8000::", "::", "::1",
        "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
        "8000::", "7fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "c000:201::", "fe80::1:2:3:4",
    };
    static const char *const probes[] = {
        "192.0.2.1", "192.0.2.128", "10.0.0.0", "255.255.255.254", "0.0.0.1", "128.0.0.0",
        "2001:db8::1", "2001:db8:0:1::", "::", "::2", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe",
        "8000::1", "c000:201::", "fe80::1:2:3:5",
    };
    enum { N = sizeof opened / sizeof opened[0] };
    sc_table *t = new_table(false);
    sc_addr sess[N];
    for (size_t i = 0; i < N; i++) {
        sess[i] = A(opened[i]);
        CHECK(sc_open(t, &sess[i], SC_SERVICE_CONTROL) == SC_OK, "%s: open %s", IN, opened[i]);
    }
    for (size_t k = 0; k < sizeof probes / sizeof probes[0]; k++) {
        sc_addr pa = A(probes[k]);
        unsigned max = pa.family == SC_INET4 ? 32 : 128;
        for (unsigned len = 0; len <= max; len++) {
            sc_prefix p;
            if (!CHECK(sc_prefix_make(&pa, len, &p) == SC_OK, "%s: prefix_make len %u", IN, len))
                continue;
            uint64_t n = UINT64_MAX, m = UINT64_MAX;
            sc_status st = sc_count(t, &p, SC_SERVICE_CONTROL, &n);
            uint64_t want = expect_in(sess, N, &p);
            CHECK(st == SC_OK && n == want, "%s: count(%s/%u) = %llu, want %llu", IN, probes[k],
                  len, (unsigned long long)n, (unsigned long long)want);
            CHECK(sc_count(t, &p, SC_SERVICE_SMTP, &m) == SC_OK && m == 0,
                  "%s: count(%s/%u) of SMTP = %llu", IN, probes[k], len, (unsigned long long)m);
        }
    }
    for (size_t i = 0; i < N; i++)
        CHECK(sc_close(t, &sess[i], SC_SERVICE_CONTROL) == SC_OK, "%s: close %s", IN, opened[i]);
    EXPECT_COUNT(t, "0.0.0.0/0", SC_SERVICE_CONTROL, 0);
    EXPECT_COUNT(t, "::/0", SC_SERVICE_CONTROL, 0);
    sc_table_free(t);
}

static void test_table_bytes_return_near_empty_after_closes(void)
{
    sc_table *t = new_table(false);
    size_t fresh = sc_table_bytes(t);
    CHECK(fresh > 0, "%s: an empty table reports 0 bytes", IN);
    /* One session of every (service, family) used below, opened and closed:
     * what an implementation makes on first use and keeps (fast: a tree's
     * top array) is part of the empty footprint measured here. */
    static const char *const warm[] = {"192.0.2.1", "2001:db8::1"};
    for (sc_service s = 0; s < 3; s++)
        for (int f = 0; f < 2; f++) {
            open_n(t, warm[f], s, 1);
            close_n(t, warm[f], s, 1);
        }
    size_t empty = sc_table_bytes(t);
    enum { N = 5000 };
    static sc_addr sess[N];
    uint64_t x = 0x9E3779B97F4A7C15u;
    for (size_t i = 0; i < N; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        uint8_t b[16];
        for (int j = 0; j < 16; j++) b[j] = (uint8_t)(x >> (8 * (j & 7)) ^ (uint64_t)j * 31);
        CHECK(sc_addr_from_bytes(i % 2 ? SC_INET6 : SC_INET4, b, &sess[i]) == SC_OK &&
                  sc_open(t, &sess[i], (sc_service)(i % 3)) == SC_OK,
              "%s: open %zu", IN, i);
    }
    size_t full = sc_table_bytes(t);
    if (!CHECK(full > empty, "%s: %d sessions hold %zu bytes, empty %zu", IN, N, full, empty))
        full = empty;
    for (size_t i = 0; i < N; i++)
        CHECK(sc_close(t, &sess[i], (sc_service)(i % 3)) == SC_OK, "%s: close %zu", IN, i);
    /* Emptied nodes may be freed after a grace period: give it up to 5 s.
     * "Near": at most an eighth of what the sessions took, plus a page. */
    size_t now = sc_table_bytes(t), slack = (full - empty) / 8 + 4096;
    for (int i = 0; i < 500 && now > empty + slack; i++) {
        nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
        now = sc_table_bytes(t);
    }
    CHECK(now <= empty + slack, "%s: after every close %zu bytes; empty %zu, full %zu", IN, now,
          empty, full);
    printf("   %s: bytes fresh %zu, empty after first use %zu, %d sessions %zu, all closed %zu\n",
           IN, fresh, empty, N, full, now);
    sc_table_free(t);
}

/* A prefix built by hand (not parsed) reaches sc_count as it is: the
 * count's front door must refuse what the parser would never make and
 * rewrite a mapped IPv6 prefix into the IPv4 one.  Each row: the prefix
 * text, then a byte changed (index, value), the length to set, and the
 * answer: SC_E_INVALID, or the count of the text in `same`. */
static void test_prefixes_built_by_hand_are_checked_at_the_count(void)
{
    sc_table *t = new_table(false);
    open_n(t, "192.0.2.7", SC_SERVICE_SMTP, 2);
    open_n(t, "198.51.100.1", SC_SERVICE_SMTP, 1);
    open_n(t, "2001:db8::1", SC_SERVICE_SMTP, 3);
    static const struct {
        const char *text;
        int byte, value;
        unsigned len;
        const char *same; /* NULL: refused */
    } rows[] = {
        {"192.0.2.0/24", 4, 1, 24, NULL},    /* IPv4, a byte past the fourth */
        {"192.0.2.0/24", 15, 1, 24, NULL},   /* ... the last one */
        {"192.0.2.0/24", 3, 1, 24, NULL},    /* a host bit */
        {"192.0.2.0/24", -1, 0, 32, "192.0.2.0/32"},
        {"0.0.0.0/0", 0, 0x80, 0, NULL},     /* /0 with a bit set */
        {"192.0.2.0/24", -1, 0, 33, NULL},   /* IPv4 /33 */
        {"::/0", 0, 1, 0, NULL},             /* IPv6 /0 with a bit set */
        {"::/0", 15, 1, 0, NULL},            /* ... in the low word */
        {"2001:db8::/32", 8, 1, 64, NULL},   /* /64, a bit in the low word */
        {"2001:db8::/32", 7, 1, 63, NULL},   /* /63, the high word's last bit */
        {"2001:db8::/32", 8, 0x40, 65, NULL}, /* /65, the bit after it */
        {"2001:db8::/32", 15, 1, 127, NULL}, /* /127, the last bit */
        {"2001:db8::/32", -1, 0, 129, NULL}, /* IPv6 /129 */
        {"2001:db8::/32", 8, 0x80, 65, "2001:db8:0:0:8000::/65"},
        {"2001:db8::1/128", -1, 0, 128, "2001:db8::1/128"},
        {"::ffff:192.0.2.0/120", -1, 0, 120, "192.0.2.0/24"}, /* mapped: IPv4 */
        {"::ffff:192.0.2.7/128", -1, 0, 128, "192.0.2.7/32"},
        {"::ffff:0:0/96", -1, 0, 96, "0.0.0.0/0"},
        {"::ffff:0:0/96", -1, 0, 95, NULL},  /* a host bit (bit 95 of ffff) */
        {"::ffff:0:0/96", 11, 0xfe, 95, "::fffe:0:0/95"}, /* above /96: IPv6 */
    };
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        sc_prefix q = P(rows[r].text);
        if (rows[r].text[0] == ':' && rows[r].text[1] == ':' && rows[r].text[2] == 'f') {
            /* the parser makes mapped prefixes IPv4: build the IPv6 form */
            uint8_t v4[4];
            memcpy(v4, q.addr.bytes, 4);
            memset(&q, 0, sizeof q);
            q.addr.family = SC_INET6;
            q.addr.bytes[10] = q.addr.bytes[11] = 0xff;
            memcpy(q.addr.bytes + 12, v4, 4);
        }
        if (rows[r].byte >= 0) q.addr.bytes[rows[r].byte] = (uint8_t)rows[r].value;
        q.len = (uint8_t)rows[r].len;
        uint64_t n = 77;
        sc_status st = sc_count(t, &q, SC_SERVICE_SMTP, &n);
        if (!rows[r].same) {
            CHECK(st == SC_E_INVALID && n == 77, "%s: row %zu (%s, byte %d = %#x, /%u): %s, n %llu, want refused",
                  IN, r, rows[r].text, rows[r].byte, rows[r].value, rows[r].len, sc_strerror(st),
                  (unsigned long long)n);
            continue;
        }
        uint64_t want = count(t, rows[r].same, SC_SERVICE_SMTP);
        CHECK(st == SC_OK && n == want, "%s: row %zu (%s, byte %d = %#x, /%u): %s, n %llu, want %llu as %s",
              IN, r, rows[r].text, rows[r].byte, rows[r].value, rows[r].len, sc_strerror(st),
              (unsigned long long)n, (unsigned long long)want, rows[r].same);
    }
    CHECK(count(t, "192.0.2.0/24", SC_SERVICE_SMTP) == 2, "%s: the /24 still 2", IN);
    sc_table_free(t);
}

static void test_invalid_arguments_are_refused(void)
{
    sc_table *t = new_table(false);
    sc_addr a = A("192.0.2.1");
    sc_prefix p = P("192.0.2.0/24");
    uint64_t n = 77;
    CHECK(sc_open(NULL, &a, 0) == SC_E_INVALID, "%s: open NULL table", IN);
    CHECK(sc_open(t, NULL, 0) == SC_E_INVALID, "%s: open NULL addr", IN);
    CHECK(sc_open(t, &a, SC_SERVICE_FIRST_EXTRA) == SC_E_INVALID, "%s: service 6 of 6", IN);
    CHECK(sc_open(t, &a, 65535) == SC_E_INVALID, "%s: service 65535", IN);
    sc_addr bad_family = a;
    bad_family.family = 5;
    CHECK(sc_open(t, &bad_family, 0) == SC_E_INVALID, "%s: family 5", IN);
    sc_addr v4_junk = a;
    v4_junk.bytes[9] = 1; /* IPv4 with bytes past the fourth */
    CHECK(sc_open(t, &v4_junk, 0) == SC_E_INVALID, "%s: IPv4 with junk bytes", IN);
    CHECK(sc_close(NULL, &a, 0) == SC_E_INVALID, "%s: close NULL table", IN);
    CHECK(sc_close(t, NULL, 0) == SC_E_INVALID, "%s: close NULL addr", IN);
    CHECK(sc_close(t, &a, SC_SERVICE_FIRST_EXTRA) == SC_E_INVALID, "%s: close service 6", IN);
    CHECK(sc_open(t, &a, SC_SERVICE_SMTP) == SC_OK, "%s: open", IN);
    CHECK(sc_count(NULL, &p, 0, &n) == SC_E_INVALID, "%s: count NULL table", IN);
    CHECK(sc_count(t, NULL, 0, &n) == SC_E_INVALID, "%s: count NULL prefix", IN);
    CHECK(sc_count(t, &p, 0, NULL) == SC_E_INVALID, "%s: count NULL out", IN);
    CHECK(sc_count(t, &p, SC_SERVICE_FIRST_EXTRA, &n) == SC_E_INVALID, "%s: count service 6", IN);
    sc_prefix q = p;
    q.len = 33;
    CHECK(sc_count(t, &q, 0, &n) == SC_E_INVALID, "%s: IPv4 /33", IN);
    q = P("2001:db8::/32");
    q.len = 129;
    CHECK(sc_count(t, &q, 0, &n) == SC_E_INVALID, "%s: IPv6 /129", IN);
    q = p;
    q.addr.bytes[3] = 1; /* 192.0.2.1/24: a host bit set */
    CHECK(sc_count(t, &q, 0, &n) == SC_E_INVALID, "%s: 192.0.2.1/24 with host bits", IN);
    q = P("2001:db8::/32");
    q.addr.bytes[15] = 1;
    CHECK(sc_count(t, &q, 0, &n) == SC_E_INVALID, "%s: IPv6 prefix with host bits", IN);
    q = p;
    q.addr.family = 0;
    CHECK(sc_count(t, &q, 0, &n) == SC_E_INVALID, "%s: prefix of family 0", IN);
    CHECK(n == 77, "%s: out written on error", IN);
    CHECK(sc_count_text(NULL, "::/0", 4, NULL, "smtp", 4, &n, NULL) == SC_E_INVALID,
          "%s: count_text NULL table", IN);
    CHECK(sc_count_text(t, "::/0", 4, NULL, "smtp", 4, NULL, NULL) == SC_E_INVALID,
          "%s: count_text NULL out", IN);
    EXPECT_COUNT(t, "192.0.2.0/24", SC_SERVICE_SMTP, 1); /* nothing above changed a count */
    CHECK(sc_table_bytes(NULL) == 0, "bytes of NULL");
    sc_table_free(t);
    sc_table_free(NULL);
    CHECK(sc_table_new(impl, NULL, NULL) == SC_E_INVALID, "%s: table_new NULL out", IN);
}

int main(void)
{
    const sc_impl *impls[] = {sc_impl_ref(), sc_impl_fast()};
    for (int k = 0; k < 2; k++) {
        impl = impls[k];
        printf("-- %s (slot %s)\n", sc_impl_name(impl), k ? "fast" : "ref");
        RUN(test_families_are_counted_apart);
        RUN(test_mapped_peers_count_as_ipv4);
        RUN(test_relative_masks_use_the_connecting_ip);
        RUN(test_host_bits_are_ignored);
        RUN(test_sessions_share_an_address);
        RUN(test_services_are_counted_apart);
        RUN(test_closing_a_session_not_open_changes_nothing);
        RUN(test_a_count_never_goes_negative);
        RUN(test_every_prefix_length_counts_exactly);
        RUN(test_table_bytes_return_near_empty_after_closes);
        RUN(test_invalid_arguments_are_refused);
        RUN(test_prefixes_built_by_hand_are_checked_at_the_count);
    }
    sc_table *t = NULL;
    CHECK(sc_table_new(NULL, NULL, &t) == SC_OK && sc_table_impl(t) == sc_impl_fast(),
          "a NULL impl makes a fast table");
    sc_table_free(t);
    return check_done();
}
