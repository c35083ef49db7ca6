/*
 * test_series.c: windowed counts (SPEC "Windowed counts"), table-driven,
 * each behaviour checked on ref and on fast: the monitor grammar with the
 * reason and offset of every error, windows aligned to the clock and
 * turning at exact boundaries, ranges of windows, the clamp at zero,
 * removal, time jumping past the ring and stepping back, prefixes of every
 * kind over both families, the amount limit, the built-in event series and
 * a table's own clock.
 */
#include <inttypes.h>
#include <string.h>

#include "sc_check.h"
#include "sesscount.h"

/* ------------------------------------------------------------------ monitors */

static const struct mrow {
    const char *text;
    size_t len;              /* 0: strlen(text) */
    sc_parse_code code;      /* SC_PARSE_OK: valid */
    size_t offset;
    uint32_t w, n;
} mrows[] = {
    {"60,1", 0, SC_PARSE_OK, 0, 60, 1},
    {"300, 6", 0, SC_PARSE_OK, 0, 300, 6},
    {"1,1", 0, SC_PARSE_OK, 0, 1, 1},
    {"86400,1024", 0, SC_PARSE_OK, 0, 86400, 1024},
    {"", 0, SC_PARSE_EMPTY, 0, 0, 0},
    {"60", 0, SC_PARSE_MONITOR_SYNTAX, 2, 0, 0},
    {"60,", 0, SC_PARSE_MONITOR_SYNTAX, 3, 0, 0},
    {"60, ", 0, SC_PARSE_MONITOR_SYNTAX, 4, 0, 0},
    {",6", 0, SC_PARSE_MONITOR_SYNTAX, 0, 0, 0},
    {"+60,6", 0, SC_PARSE_MONITOR_SYNTAX, 0, 0, 0},
    {"-60,6", 0, SC_PARSE_MONITOR_SYNTAX, 0, 0, 0},
    {"60,-6", 0, SC_PARSE_MONITOR_SYNTAX, 3, 0, 0},
    {"0x3c,6", 0, SC_PARSE_MONITOR_SYNTAX, 1, 0, 0},
    {"060,6", 0, SC_PARSE_MONITOR_SYNTAX, 1, 0, 0},
    {"00,6", 0, SC_PARSE_MONITOR_SYNTAX, 1, 0, 0},
    {"60,06", 0, SC_PARSE_MONITOR_SYNTAX, 4, 0, 0},
    {"60;6", 0, SC_PARSE_MONITOR_SYNTAX, 2, 0, 0},
    {"60,6,1", 0, SC_PARSE_MONITOR_SYNTAX, 4, 0, 0},
    {"60,6x", 0, SC_PARSE_MONITOR_SYNTAX, 4, 0, 0},
    {"60.5,6", 0, SC_PARSE_MONITOR_SYNTAX, 2, 0, 0},
    {"0,6", 0, SC_PARSE_MONITOR_RANGE, 0, 0, 0},
    {"86401,6", 0, SC_PARSE_MONITOR_RANGE, 0, 0, 0},
    {"99999999999999999999,6", 0, SC_PARSE_MONITOR_RANGE, 0, 0, 0},
    {"60,0", 0, SC_PARSE_MONITOR_RANGE, 3, 0, 0},
    {"60, 1025", 0, SC_PARSE_MONITOR_RANGE, 4, 0, 0},
    {" 60,6", 0, SC_PARSE_SPACE, 0, 0, 0},
    {"60 ,6", 0, SC_PARSE_SPACE, 2, 0, 0},
    {"60,  6", 0, SC_PARSE_SPACE, 4, 0, 0},
    {"60,\t6", 0, SC_PARSE_SPACE, 3, 0, 0},
    {"60,6 ", 0, SC_PARSE_SPACE, 4, 0, 0},
    {"60,6\n", 0, SC_PARSE_SPACE, 4, 0, 0},
    {"60\0,6", 5, SC_PARSE_SPACE, 2, 0, 0},
    {"60,6\0", 5, SC_PARSE_SPACE, 4, 0, 0},
};

static void test_monitor_grammar_names_the_reason_and_offset(void)
{
    for (size_t i = 0; i < sizeof mrows / sizeof mrows[0]; i++) {
        const struct mrow *r = &mrows[i];
        size_t len = r->len ? r->len : strlen(r->text);
        sc_monitor m = {7, 7};
        sc_error err = {SC_PARSE_OK, NULL, 99};
        sc_status st = sc_monitor_parse(r->text, len, &m, &err);
        if (r->code == SC_PARSE_OK) {
            CHECK(st == SC_OK && m.interval == r->w && m.windows == r->n,
                  "\"%s\": %s, %u,%u; want %u,%u", r->text, sc_strerror(st), m.interval,
                  m.windows, r->w, r->n);
            char buf[SC_MONITOR_TEXT_MAX], want[SC_MONITOR_TEXT_MAX + 8];
            snprintf(want, sizeof want, "%u,%u", r->w, r->n);
            CHECK(sc_monitor_format(&m, buf, sizeof buf) == strlen(want) && strcmp(buf, want) == 0,
                  "format of \"%s\" is \"%s\", want \"%s\"", r->text, buf, want);
        } else {
            CHECK(st == SC_E_PARSE && err.code == r->code && err.offset == r->offset &&
                      err.reason && m.interval == 7,
                  "\"%s\": %s code %d at %zu (%s); want code %d at %zu, out untouched",
                  r->text, sc_strerror(st), (int)err.code, err.offset,
                  err.reason ? err.reason : "-", (int)r->code, r->offset);
        }
    }
    sc_monitor m;
    char buf[SC_MONITOR_TEXT_MAX];
    CHECK(sc_monitor_parse(NULL, 3, &m, NULL) == SC_E_INVALID, "NULL text with a length");
    CHECK(sc_monitor_parse("60,1", 4, NULL, NULL) == SC_E_INVALID, "NULL out");
    CHECK(sc_monitor_parse("60,1", 4, &m, NULL) == SC_OK, "NULL err on success");
    CHECK(sc_monitor_parse("60,0", 4, &m, NULL) == SC_E_PARSE, "NULL err on failure");
    CHECK(sc_monitor_format(&(sc_monitor){0, 1}, buf, sizeof buf) == 0, "format of 0,1");
    CHECK(sc_monitor_format(&(sc_monitor){60, 1}, buf, 5) == 0, "format into 5 bytes");
}

/* ------------------------------------------------------------------ helpers */

static const sc_impl *impls[2];

static sc_addr A(const char *text)
{
    sc_addr a;
    if (sc_parse_addr(text, strlen(text), &a, NULL) != SC_OK) {
        fprintf(stderr, "test bug: address %s\n", text);
        abort();
    }
    return a;
}

static sc_prefix P(const char *text)
{
    sc_prefix p;
    if (sc_parse_cidr(text, strlen(text), NULL, &p, NULL) != SC_OK) {
        fprintf(stderr, "test bug: prefix %s\n", text);
        abort();
    }
    return p;
}

typedef struct fixture {
    sc_table *t;
    sc_series *s;
    const char *impl;
} fixture;

static bool fixture_new(fixture *f, const sc_impl *impl, uint32_t w, uint32_t n)
{
    f->impl = sc_impl_name(impl);
    f->s = NULL;
    if (!CHECK(sc_table_new(impl, NULL, &f->t) == SC_OK, "%s table", f->impl)) return false;
    if (!CHECK(sc_series_new(f->t, SC_SERIES_CIDR, &(sc_monitor){w, n}, &f->s) == SC_OK, "%s series", f->impl)) {
        sc_table_free(f->t);
        return false;
    }
    return true;
}

static void add(fixture *f, const char *key, int64_t n, sc_time t)
{
    sc_addr a = A(key);
    sc_status st = sc_series_add(f->s, &a, n, t);
    CHECK(st == SC_OK, "%s: add %s %" PRId64 " at %" PRId64 ": %s", f->impl, key, n, t,
          sc_strerror(st));
}

/* The count of `cidr` over windows a..b at time t must be `want`. */
static void expect(fixture *f, const char *cidr, unsigned a, unsigned b, sc_time t, uint64_t want)
{
    sc_prefix p = P(cidr);
    uint64_t n = 12345;
    sc_status st = sc_series_count(f->s, &p, a, b, t, &n);
    CHECK(st == SC_OK && n == want, "%s: count %s windows %u-%u at %" PRId64 " = %" PRIu64
          " (%s), want %" PRIu64, f->impl, cidr, a, b, t, n, sc_strerror(st), want);
}

#define FOR_EACH_IMPL(f, w, n)                                                    \
    for (int k_ = 0; k_ < 2; k_++)                                                \
        for (fixture f, *once_ = &f; once_ && fixture_new(&f, impls[k_], w, n);   \
             sc_table_free(f.t), once_ = NULL)

/* ------------------------------------------------------------------ windows */

static void test_windows_are_aligned_to_the_clock_and_turn_at_exact_boundaries(void)
{
    FOR_EACH_IMPL(f, 60, 3) {
        add(&f, "192.0.2.1", 1, 119);              /* window [60, 120) */
        expect(&f, "192.0.2.1", 0, 0, 119, 1);
        expect(&f, "192.0.2.1", 0, 0, 60, 1);      /* same window, earlier second */
        expect(&f, "192.0.2.1", 0, 0, 120, 0);     /* [120, 180) is window 0 now */
        expect(&f, "192.0.2.1", 1, 1, 120, 1);
        expect(&f, "192.0.2.1", 1, 1, 179, 1);
        expect(&f, "192.0.2.1", 2, 2, 180, 1);
        expect(&f, "192.0.2.1", 2, 2, 239, 1);
        expect(&f, "192.0.2.1", 0, 2, 240, 0);     /* it left the ring */
        expect(&f, "192.0.2.1", 0, 2, 119, 0);     /* and stays gone: the ring moved on */
    }
}

static void test_a_range_sums_its_windows(void)
{
    FOR_EACH_IMPL(f, 10, 6) {
        add(&f, "10.1.2.3", 1, 100);
        add(&f, "10.1.2.3", 2, 110);
        add(&f, "10.1.2.4", 4, 125);
        expect(&f, "10.1.2.0/24", 0, 0, 129, 4);
        expect(&f, "10.1.2.0/24", 1, 1, 129, 2);
        expect(&f, "10.1.2.0/24", 2, 2, 129, 1);
        expect(&f, "10.1.2.0/24", 0, 2, 129, 7);
        expect(&f, "10.1.2.0/24", 1, 2, 129, 3);
        expect(&f, "10.1.2.0/24", 0, 5, 129, 7);
        expect(&f, "10.1.2.3", 0, 5, 129, 3);
        expect(&f, "10.1.2.3", 3, 5, 129, 0);
        uint64_t n = 99;
        sc_prefix p = P("10.0.0.0/8");
        CHECK(sc_series_count(f.s, &p, 2, 1, 129, &n) == SC_E_RANGE && n == 99,
              "%s: startv > endv", f.impl);
        CHECK(sc_series_count(f.s, &p, 0, 6, 129, &n) == SC_E_RANGE && n == 99,
              "%s: endv past the ring", f.impl);
        CHECK(sc_series_count(f.s, &p, 6, 6, 129, &n) == SC_E_RANGE, "%s: startv past", f.impl);
    }
}

static void test_a_count_never_goes_below_zero(void)
{
    FOR_EACH_IMPL(f, 60, 2) {
        add(&f, "192.0.2.9", 5, 0);
        add(&f, "192.0.2.9", -3, 1);
        expect(&f, "192.0.2.9", 0, 0, 1, 2);
        add(&f, "192.0.2.9", -10, 2);
        expect(&f, "192.0.2.9", 0, 0, 2, 0);
        add(&f, "192.0.2.9", -1, 3);               /* nothing to take */
        add(&f, "192.0.2.8", -1, 3);               /* never added */
        expect(&f, "192.0.2.0/24", 0, 0, 3, 0);
        add(&f, "192.0.2.9", 4, 4);
        expect(&f, "192.0.2.9", 0, 0, 4, 4);
        add(&f, "192.0.2.9", INT64_MIN, 5);        /* takes it all, no overflow */
        expect(&f, "192.0.2.9", 0, 0, 5, 0);
        add(&f, "192.0.2.9", 0, 5);
        expect(&f, "192.0.2.9", 0, 0, 5, 0);
        /* a take in window 0 leaves window 1 alone */
        add(&f, "192.0.2.7", 3, 30);
        add(&f, "192.0.2.7", -5, 60);
        expect(&f, "192.0.2.7", 0, 1, 60, 3);
    }
}

static void test_remove_forgets_one_key_in_every_window(void)
{
    FOR_EACH_IMPL(f, 60, 4) {
        for (int w = 0; w < 4; w++) {
            add(&f, "2001:db8::1", w + 1, 60 * w);
            add(&f, "2001:db8::2", 10, 60 * w);
        }
        sc_addr a = A("2001:db8::1");
        CHECK(sc_series_remove(f.s, &a, 180) == SC_OK, "%s: remove", f.impl);
        expect(&f, "2001:db8::1", 0, 3, 180, 0);
        expect(&f, "2001:db8::2", 0, 3, 180, 40);
        expect(&f, "2001:db8::/64", 0, 3, 180, 40);
        a = A("2001:db8::3");
        CHECK(sc_series_remove(f.s, &a, 180) == SC_OK, "%s: remove of a key never added", f.impl);
        expect(&f, "2001:db8::/64", 0, 3, 180, 40);
    }
}

static void test_time_jumping_past_the_ring_frees_every_window(void)
{
    FOR_EACH_IMPL(f, 60, 6) {
        size_t empty = sc_table_bytes(f.t);
        for (int i = 0; i < 500; i++) {
            char key[32];
            snprintf(key, sizeof key, "%d.%d.%d.1", 1 + i % 200, i % 7, i % 3);
            add(&f, key, 1, 1020 + i % 360);   /* six windows: [1020, 1380) */
            snprintf(key, sizeof key, "2001:db8:%x::%x", i, i);
            add(&f, key, 2, 1020 + i % 360);
        }
        expect(&f, "0.0.0.0/0", 0, 5, 1359, 500);
        expect(&f, "::/0", 0, 5, 1359, 1000);
        CHECK(sc_table_bytes(f.t) > empty, "%s: windows hold nothing", f.impl);
        expect(&f, "0.0.0.0/0", 0, 5, 1000 + 60 * 100, 0);   /* 100 windows later */
        sc_table_reclaim(f.t);
        CHECK(sc_table_bytes(f.t) == empty, "%s: %zu bytes after the ring passed, %zu empty",
              f.impl, sc_table_bytes(f.t), empty);
        add(&f, "192.0.2.1", 1, 1000);                      /* older than the ring: dropped */
        expect(&f, "0.0.0.0/0", 0, 5, 1000 + 60 * 100, 0);
        expect(&f, "0.0.0.0/0", 0, 5, 1000, 0);
    }
}

static void test_time_stepping_back_works_on_its_own_windows_in_the_ring(void)
{
    FOR_EACH_IMPL(f, 60, 3) {
        add(&f, "198.51.100.1", 1, 600);         /* newest: epoch 10 */
        add(&f, "198.51.100.1", 2, 540);         /* the clock stepped back a window */
        expect(&f, "198.51.100.1", 0, 0, 600, 1);
        expect(&f, "198.51.100.1", 1, 1, 600, 2);
        expect(&f, "198.51.100.1", 0, 0, 540, 2); /* counted at its own time */
        expect(&f, "198.51.100.1", 0, 2, 540, 2); /* windows before it are empty */
        add(&f, "198.51.100.1", 4, 420);         /* epoch 7: older than the ring */
        expect(&f, "198.51.100.1", 0, 2, 600, 3);
        expect(&f, "198.51.100.1", 0, 0, 420, 0);
    }
    FOR_EACH_IMPL(f, 60, 2) {   /* time before 1970 has windows too: -1 and 0 are apart */
        add(&f, "192.0.2.1", 1, -1);
        add(&f, "192.0.2.1", 2, 0);
        expect(&f, "192.0.2.1", 0, 0, 0, 2);
        expect(&f, "192.0.2.1", 1, 1, 0, 1);
        expect(&f, "192.0.2.1", 0, 0, -60, 1);
    }
}

static void test_prefixes_count_keys_of_their_family(void)
{
    FOR_EACH_IMPL(f, 60, 1) {
        add(&f, "192.0.2.1", 1, 0);
        add(&f, "192.0.2.200", 2, 0);
        add(&f, "::ffff:192.0.3.5", 4, 0);       /* an IPv4 key */
        add(&f, "193.0.0.1", 8, 0);
        add(&f, "10.0.0.1", 16, 0);
        add(&f, "2001:db8::1", 32, 0);
        add(&f, "2001:db8:0:1::1", 64, 0);
        add(&f, "c000:201::", 128, 0);           /* IPv6 with 192.0.2.1's bytes */
        expect(&f, "0.0.0.0/0", 0, 0, 0, 31);
        expect(&f, "192.0.0.0/7", 0, 0, 0, 15);  /* two first bytes */
        expect(&f, "192.0.0.0/8", 0, 0, 0, 7);
        expect(&f, "192.0.2.0/23", 0, 0, 0, 7);
        expect(&f, "192.0.2.0/24", 0, 0, 0, 3);
        expect(&f, "192.0.2.128/25", 0, 0, 0, 2);
        expect(&f, "192.0.2.1/32", 0, 0, 0, 1);
        expect(&f, "::ffff:192.0.3.0/120", 0, 0, 0, 4);
        expect(&f, "::/0", 0, 0, 0, 224);
        expect(&f, "2001:db8::/32", 0, 0, 0, 96);
        expect(&f, "2001:db8::/64", 0, 0, 0, 32);
        expect(&f, "2001:db8::1/128", 0, 0, 0, 32);
        expect(&f, "c000::/8", 0, 0, 0, 128);
        sc_addr conn = A("192.0.2.77");
        uint64_t n = 0;
        sc_error err;
        CHECK(sc_series_count_text(f.s, "/24", 3, &conn, 0, 0, 0, &n, &err) == SC_OK && n == 3,
              "%s: /24 of 192.0.2.77 = %" PRIu64, f.impl, n);
        conn = A("192.0.2.200");
        CHECK(sc_series_count_text(f.s, NULL, 0, &conn, 0, 0, 0, &n, &err) == SC_OK && n == 2,
              "%s: no cidr is the connecting /32: %" PRIu64, f.impl, n);
        CHECK(sc_series_count_text(f.s, "/24", 3, NULL, 0, 0, 0, &n, &err) == SC_E_PARSE &&
                  err.code == SC_PARSE_NO_CONNECTING_IP,
              "%s: relative without a connecting IP", f.impl);
        CHECK(sc_series_count_text(f.s, NULL, 0, NULL, 0, 0, 0, &n, &err) == SC_E_PARSE &&
                  err.code == SC_PARSE_NO_CONNECTING_IP,
              "%s: no cidr, no connecting IP", f.impl);
        CHECK(sc_series_count_text(f.s, "10.0.0.0/33", 11, NULL, 0, 0, 0, &n, &err) ==
                      SC_E_PARSE && err.code == SC_PARSE_MASK_RANGE && err.offset == 10,
              "%s: bad cidr", f.impl);
    }
}

static void test_an_add_past_the_limit_changes_nothing(void)
{
    FOR_EACH_IMPL(f, 60, 1) {
        sc_addr a = A("10.0.0.1"), b = A("10.9.9.9"), c = A("11.0.0.1");
        CHECK(sc_series_add(f.s, &a, (int64_t)SC_SERIES_COUNT_MAX, 0) == SC_OK, "%s: max", f.impl);
        CHECK(sc_series_add(f.s, &b, 1, 0) == SC_E_RANGE, "%s: one past in 10/8", f.impl);
        CHECK(sc_series_add(f.s, &c, 1, 0) == SC_OK, "%s: 11/8 is apart", f.impl);
        CHECK(sc_series_add(f.s, &c, (int64_t)SC_SERIES_COUNT_MAX + 1, 0) == SC_E_RANGE,
              "%s: an amount past the max", f.impl);
        expect(&f, "10.0.0.0/8", 0, 0, 0, SC_SERIES_COUNT_MAX);
        expect(&f, "0.0.0.0/0", 0, 0, 0, SC_SERIES_COUNT_MAX + 1);
        CHECK(sc_series_add(f.s, &a, -1, 0) == SC_OK && sc_series_add(f.s, &b, 1, 0) == SC_OK,
              "%s: room again", f.impl);
        expect(&f, "10.0.0.0/8", 0, 0, 0, SC_SERIES_COUNT_MAX);
        CHECK(sc_series_add(NULL, &a, 1, 0) == SC_E_INVALID, "NULL series");
        CHECK(sc_series_add(f.s, NULL, 1, 0) == SC_E_INVALID, "NULL key");
        sc_addr bad = {.family = 5};
        CHECK(sc_series_add(f.s, &bad, 1, 0) == SC_E_INVALID, "bad family");
    }
}

/* ------------------------------------------------------------------ string keys */

static void test_string_series_count_by_exact_key(void)
{
    for (int k = 0; k < 2; k++) {
        const char *im = sc_impl_name(impls[k]);
        sc_table *t;
        sc_series *s, *c;
        if (!CHECK(sc_table_new(impls[k], NULL, &t) == SC_OK &&
                       sc_series_new(t, SC_SERIES_STRING, &(sc_monitor){60, 2}, &s) == SC_OK &&
                       sc_series_new(t, SC_SERIES_CIDR, &(sc_monitor){60, 2}, &c) == SC_OK,
                   "%s: table and series", im))
            continue;
        char big[SC_SERIES_KEY_MAX + 1];
        memset(big, 'x', sizeof big);
        static const char nul[3] = {'a', '\0', 'b'};
        CHECK(sc_series_add_string(s, "a", 1, 1, 0) == SC_OK &&
                  sc_series_add_string(s, "ab", 2, 2, 0) == SC_OK &&
                  sc_series_add_string(s, nul, 3, 4, 0) == SC_OK &&
                  sc_series_add_string(s, big, SC_SERIES_KEY_MAX, 8, 0) == SC_OK &&
                  sc_series_add_string(s, "a", 1, 16, 60) == SC_OK,
              "%s: adds", im);
        static const struct { const char *key; size_t len; unsigned a, b; uint64_t want; } rows[] = {
            {"a", 1, 0, 0, 16}, {"a", 1, 1, 1, 1}, {"a", 1, 0, 1, 17}, {"ab", 2, 0, 1, 2},
            {"a\0b", 3, 0, 1, 4}, {"a\0c", 3, 0, 1, 0}, {"b", 1, 0, 1, 0}, {"A", 1, 0, 1, 0},
        };
        for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
            uint64_t n = 99;
            sc_status st = sc_series_count_string(s, rows[i].key, rows[i].len, rows[i].a,
                                                  rows[i].b, 60, &n);
            CHECK(st == SC_OK && n == rows[i].want, "%s: count of row %zu = %" PRIu64 " (%s), want %"
                  PRIu64, im, i, n, sc_strerror(st), rows[i].want);
        }
        uint64_t n = 0;
        CHECK(sc_series_count_string(s, big, SC_SERIES_KEY_MAX, 0, 1, 60, &n) == SC_OK && n == 8,
              "%s: the 255-byte key = %" PRIu64, im, n);
        CHECK(sc_series_add_string(s, big, SC_SERIES_KEY_MAX + 1, 1, 60) == SC_E_INVALID,
              "%s: a 256-byte key", im);
        CHECK(sc_series_add_string(s, "", 0, 1, 60) == SC_E_INVALID, "%s: an empty key", im);
        CHECK(sc_series_add_string(s, "a", 1, -20, 60) == SC_OK &&
                  sc_series_count_string(s, "a", 1, 0, 1, 60, &n) == SC_OK && n == 1,
              "%s: a take stops at zero: %" PRIu64, im, n);
        CHECK(sc_series_remove_string(s, "ab", 2, 60) == SC_OK &&
                  sc_series_count_string(s, "ab", 2, 0, 1, 60, &n) == SC_OK && n == 0,
              "%s: remove", im);
        sc_addr a = A("192.0.2.1");
        sc_prefix p = P("0.0.0.0/0");
        CHECK(sc_series_add(s, &a, 1, 60) == SC_E_INVALID &&
                  sc_series_count(s, &p, 0, 0, 60, &n) == SC_E_INVALID &&
                  sc_series_remove(s, &a, 60) == SC_E_INVALID,
              "%s: address calls on a string series", im);
        CHECK(sc_series_add_string(c, "a", 1, 1, 60) == SC_E_INVALID &&
                  sc_series_count_string(c, "a", 1, 0, 0, 60, &n) == SC_E_INVALID,
              "%s: string calls on a CIDR series", im);
        CHECK(sc_series_kind_of(s) == SC_SERIES_STRING && sc_series_kind_of(c) == SC_SERIES_CIDR,
              "%s: kinds", im);
        sc_table_free(t);
    }
}

static void test_named_series_are_defined_once_per_table(void)
{
    for (int k = 0; k < 2; k++) {
        const char *im = sc_impl_name(impls[k]);
        sc_table *t;
        if (!CHECK(sc_table_new(impls[k], NULL, &t) == SC_OK, "%s table", im)) continue;
        sc_series *a = NULL, *b = NULL, *f = NULL;
        sc_monitor m = {300, 6};
        CHECK(sc_table_find_series(t, "ip", 2, &f) == SC_E_NO_SERIES, "%s: not yet", im);
        CHECK(sc_table_define_series(t, "ip", 2, SC_SERIES_CIDR, &m, &a) == SC_OK &&
                  sc_table_define_series(t, "ip", 2, SC_SERIES_CIDR, &m, &b) == SC_OK && a == b,
              "%s: the same definition twice is one series", im);
        CHECK(sc_table_define_series(t, "ip", 2, SC_SERIES_STRING, &m, &b) == SC_E_CONFLICT,
              "%s: another kind", im);
        CHECK(sc_table_define_series(t, "ip", 2, SC_SERIES_CIDR, &(sc_monitor){300, 5}, &b) ==
                  SC_E_CONFLICT, "%s: another monitor", im);
        CHECK(sc_table_define_series(t, "IP", 2, SC_SERIES_STRING, &m, &b) == SC_OK && b != a,
              "%s: names match exactly", im);
        CHECK(sc_table_find_series(t, "ip", 2, &f) == SC_OK && f == a, "%s: found", im);
        CHECK(sc_table_define_series(t, "", 0, SC_SERIES_CIDR, &m, &b) == SC_E_INVALID,
              "%s: an empty name", im);
        CHECK(sc_table_define_series(t, "x", 1, (sc_series_kind)9, &m, &b) == SC_E_INVALID,
              "%s: a bad kind", im);
        sc_series_free(a);   /* a named series can go: its name goes with it */
        CHECK(sc_table_find_series(t, "ip", 2, &f) == SC_E_NO_SERIES, "%s: gone", im);
        sc_table_free(t);
    }
}

/* ------------------------------------------------------------------ built-ins */

static sc_time fake_now;
static sc_time fake_clock(void *arg) { return *(sc_time *)arg; }

static void test_built_in_events_count_in_every_configured_monitor(void)
{
    for (int k = 0; k < 2; k++) {
        const char *im = sc_impl_name(impls[k]);
        sc_options o = {.clock = fake_clock, .clock_arg = &fake_now};
        sc_table *t;
        if (!CHECK(sc_table_new(impls[k], &o, &t) == SC_OK, "%s table", im)) continue;
        sc_addr a = A("203.0.113.5");
        sc_series *s;
        sc_monitor mons[2] = {{60, 1}, {300, 6}}, other[1] = {{60, 2}};
        CHECK(sc_table_note(t, SC_EVENT_CONNECTION, &a, 1, SC_NOW) == SC_E_NOT_CONFIGURED,
              "%s: note before configure", im);
        CHECK(sc_table_event_series(t, SC_EVENT_CONNECTION, &mons[0], &s) == SC_E_NOT_CONFIGURED,
              "%s: series before configure", im);
        CHECK(sc_table_set_monitors(t, (sc_monitor[]){{60, 1}, {60, 1}}, 2) == SC_E_INVALID,
              "%s: a monitor twice", im);
        CHECK(sc_table_set_monitors(t, (sc_monitor[]){{0, 1}}, 1) == SC_E_INVALID,
              "%s: a monitor out of range", im);
        CHECK(sc_table_set_monitors(t, mons, 2) == SC_OK, "%s: configure", im);
        CHECK(sc_table_set_monitors(t, mons, 2) == SC_OK, "%s: the same list again", im);
        CHECK(sc_table_set_monitors(t, other, 1) == SC_E_CONFLICT, "%s: another list", im);
        fake_now = 1000;
        CHECK(sc_table_note(t, SC_EVENT_CONNECTION, &a, 1, SC_NOW) == SC_OK &&
                  sc_table_note(t, SC_EVENT_CONNECTION, &a, 2, SC_NOW) == SC_OK &&
                  sc_table_note(t, SC_EVENT_REJECTION, &a, 1, SC_NOW) == SC_OK,
              "%s: notes", im);
        fake_now = 1000 + 60;    /* the next minute: "60,1" forgot, "300,6" did not */
        uint64_t n = 9;
        sc_prefix p = P("203.0.113.0/24");
        CHECK(sc_table_event_series(t, SC_EVENT_CONNECTION, &mons[0], &s) == SC_OK &&
                  sc_series_count(s, &p, 0, 0, SC_NOW, &n) == SC_OK && n == 0,
              "%s: connections 60,1 a minute later = %" PRIu64, im, n);
        CHECK(sc_table_event_series(t, SC_EVENT_CONNECTION, &mons[1], &s) == SC_OK &&
                  sc_series_count(s, &p, 0, 5, SC_NOW, &n) == SC_OK && n == 3,
              "%s: connections 300,6 = %" PRIu64, im, n);
        CHECK(sc_table_event_series(t, SC_EVENT_REJECTION, &mons[1], &s) == SC_OK &&
                  sc_series_count(s, &p, 0, 5, SC_NOW, &n) == SC_OK && n == 1,
              "%s: rejections 300,6 = %" PRIu64, im, n);
        CHECK(sc_table_event_series(t, SC_EVENT_RECEPTION, &mons[1], &s) == SC_OK &&
                  sc_series_count(s, &p, 0, 5, SC_NOW, &n) == SC_OK && n == 0,
              "%s: receptions 300,6 = %" PRIu64, im, n);
        CHECK(sc_table_event_series(t, SC_EVENT_RECEPTION, &other[0], &s) == SC_E_NO_MONITOR,
              "%s: an unconfigured monitor", im);
        CHECK(sc_table_note(t, (sc_event)7, &a, 1, SC_NOW) == SC_E_INVALID, "%s: bad kind", im);
        sc_table_free(t);
    }
}

int main(void)
{
    impls[0] = sc_impl_ref();
    impls[1] = sc_impl_fast();
    RUN(test_monitor_grammar_names_the_reason_and_offset);
    RUN(test_windows_are_aligned_to_the_clock_and_turn_at_exact_boundaries);
    RUN(test_a_range_sums_its_windows);
    RUN(test_a_count_never_goes_below_zero);
    RUN(test_remove_forgets_one_key_in_every_window);
    RUN(test_time_jumping_past_the_ring_frees_every_window);
    RUN(test_time_stepping_back_works_on_its_own_windows_in_the_ring);
    RUN(test_prefixes_count_keys_of_their_family);
    RUN(test_an_add_past_the_limit_changes_nothing);
    RUN(test_built_in_events_count_in_every_configured_monitor);
    RUN(test_string_series_count_by_exact_key);
    RUN(test_named_series_are_defined_once_per_table);
    return check_done();
}
