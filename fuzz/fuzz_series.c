/*
 * fuzz_series.c: op sequences on windowed counts, ref against fast.
 *
 * Input: a monitor byte, then ops of a few bytes each.  Each input gets a
 * fresh CIDR series and string series of the monitor on a ref and a fast
 * table, and a clock that starts at a fixed time; every op runs on
 * both, and their statuses and counts must agree:
 *   0 add        key, amount byte (signed, sometimes scaled far up)
 *   1 take       key, amount byte
 *   2 remove     key
 *   3 count      key, length byte, startv and endv bytes (any: out of range
 *                is an error both must give), sometimes the mapped spelling
 *   4 count text relative mask of a connecting key
 *   5 clock      a signed step: seconds, windows, or past the ring
 *   6 string add key, amount byte
 *   7 string count key, startv and endv
 * Keys come from a small pool (IPv4 in a few /24s and /8s, IPv6 in a /64,
 * an IPv6 address holding IPv4 bytes, mapped spellings) so that counts
 * meet.  At the end the clock passes the ring: every count is zero.
 */
#include <string.h>

#include "fuzz_common.h"
#include "sesscount.h"

enum { POOL = 12 };

typedef struct fz {
    const uint8_t *p;
    size_t n, i;
    sc_table *tab[2];
    sc_series *cs[2], *ss[2];
    sc_monitor m;
    sc_time now, latest;     /* the clock, and the latest time any op used */
    sc_addr pool[POOL];
} fz;

static uint8_t byte(fz *f) { return f->i < f->n ? f->p[f->i++] : 0; }

static void make_pool(fz *f)
{
    static const uint8_t raw[POOL][17] = {
        {4, 192, 0, 2, 1},     {4, 192, 0, 2, 200},   {4, 192, 0, 3, 7},    {4, 198, 51, 100, 1},
        {4, 10, 0, 0, 1},      {4, 203, 0, 113, 9},
        {6, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1},
        {6, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2},
        {6, 0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1},
        {6, 192, 0, 2, 1},                                          /* IPv6 with IPv4 bytes */
        {6, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1}, /* mapped: 192.0.2.1 */
        {6, 0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9},
    };
    for (int k = 0; k < POOL; k++) {
        f->pool[k].family = raw[k][0];
        memset(f->pool[k].bytes, 0, 16);
        memcpy(f->pool[k].bytes, raw[k] + 1, raw[k][0] == 4 ? 4 : 16);
    }
}

static int64_t amount(fz *f)
{
    int8_t b = (int8_t)byte(f);
    if ((b & 0x60) == 0x60) return (int64_t)b * ((int64_t)1 << 38);   /* far: the limits */
    return b;
}

static void same(fz *f, const char *what, sc_status s0, sc_status s1, uint64_t n0, uint64_t n1)
{
    if (s0 != s1 || n0 != n1)
        fz_fail("%s at byte %zu, time %lld: ref %d/%llu, fast %d/%llu", what, f->i,
                (long long)f->now, (int)s0, (unsigned long long)n0, (int)s1,
                (unsigned long long)n1);
}

static const char *const strings[] = {"a", "b", "ab", "bob@example.com", "a\0b"};
static const size_t string_len[] = {1, 1, 2, 15, 3};

static void op(fz *f, uint8_t code)
{
    sc_status st[2];
    uint64_t n[2] = {0, 0};
    const sc_addr *key = &f->pool[byte(f) % POOL];
    switch (code % 8) {
    case 0: case 1: {
        int64_t a = amount(f);
        if (code % 8 == 1) a = -a;
        for (int k = 0; k < 2; k++) st[k] = sc_series_add(f->cs[k], key, a, f->now);
        same(f, "add", st[0], st[1], 0, 0);
        break;
    }
    case 2:
        for (int k = 0; k < 2; k++) st[k] = sc_series_remove(f->cs[k], key, f->now);
        same(f, "remove", st[0], st[1], 0, 0);
        break;
    case 3: {
        unsigned len = byte(f) % 129, a = byte(f) % 8, b = a + byte(f) % 8;
        sc_prefix p;
        if (len > (key->family == 4 ? 32u : 128u)) len %= 33;
        if (sc_prefix_make(key, len, &p) != SC_OK) fz_fail("prefix_make");
        if (p.addr.family == 4 && (len & 1)) {   /* the mapped spelling of an IPv4 prefix */
            uint8_t v4[4];
            memcpy(v4, p.addr.bytes, 4);
            memset(p.addr.bytes, 0, 16);
            p.addr.bytes[10] = p.addr.bytes[11] = 0xff;
            memcpy(p.addr.bytes + 12, v4, 4);
            p.addr.family = 6;
            p.len = (uint8_t)(p.len + 96);
        }
        for (int k = 0; k < 2; k++) st[k] = sc_series_count(f->cs[k], &p, a, b, f->now, &n[k]);
        same(f, "count", st[0], st[1], n[0], n[1]);
        break;
    }
    case 4: {
        char text[8];
        unsigned len = byte(f) % 140;
        int tl = snprintf(text, sizeof text, "/%u", len);
        sc_error e[2];
        for (int k = 0; k < 2; k++)
            st[k] = sc_series_count_text(f->cs[k], text, (size_t)tl, key, 0, f->m.windows - 1,
                                         f->now, &n[k], &e[k]);
        same(f, "count text", st[0], st[1], n[0], n[1]);
        break;
    }
    case 5: {
        int8_t s = (int8_t)byte(f);
        uint8_t how = byte(f) % 4;
        f->now += how == 0 ? s : how == 1 ? (sc_time)s * f->m.interval
                : how == 2 ? (sc_time)f->m.interval * f->m.windows * (s > 0 ? 2 : -2) : 1;
        break;
    }
    case 6: {
        size_t k0 = (size_t)(key - f->pool) % 5;
        int64_t a = amount(f);
        for (int k = 0; k < 2; k++)
            st[k] = sc_series_add_string(f->ss[k], strings[k0], string_len[k0], a, f->now);
        same(f, "string add", st[0], st[1], 0, 0);
        break;
    }
    default: {
        size_t k0 = (size_t)(key - f->pool) % 5;
        unsigned a = byte(f) % 4, b = a + byte(f) % 4;
        for (int k = 0; k < 2; k++)
            st[k] = sc_series_count_string(f->ss[k], strings[k0], string_len[k0], a, b, f->now,
                                           &n[k]);
        same(f, "string count", st[0], st[1], n[0], n[1]);
        break;
    }
    }
}

/* The tables live across inputs under libFuzzer: freeing a fast table
 * waits for an RCU barrier, milliseconds an input.  The series are each
 * input's own.  The corpus replays (FZ_FRESH_TABLES) free both tables after
 * every input, so that ASan's leak check there is exact (fuzz_series.options
 * says why libFuzzer's own per-input check is off). */
#ifndef FZ_FRESH_TABLES
#define FZ_FRESH_TABLES 0
#endif
static sc_table *tables[2];

static void drop_tables(void)
{
    for (int k = 0; k < 2; k++) {
        sc_table_free(tables[k]);
        tables[k] = NULL;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint32_t ws[] = {1, 7, 60, 86400}, ns[] = {1, 2, 3, 6, 64};
    static bool registered;
    if (!registered) registered = atexit(drop_tables) == 0;
    fz_begin(data, size);
    fz f = {.p = data, .n = size, .now = 1700000000};
    uint8_t mb = byte(&f);
    f.m = (sc_monitor){ws[mb % 4], ns[(mb >> 2) % 5]};
    make_pool(&f);
    const sc_impl *impl[2] = {sc_impl_ref(), sc_impl_fast()};
    for (int k = 0; k < 2; k++)
        if ((!tables[k] && sc_table_new(impl[k], NULL, &tables[k]) != SC_OK) ||
            !(f.tab[k] = tables[k]) ||
            sc_series_new(f.tab[k], SC_SERIES_CIDR, &f.m, &f.cs[k]) != SC_OK ||
            sc_series_new(f.tab[k], SC_SERIES_STRING, &f.m, &f.ss[k]) != SC_OK)
            fz_fail("tables");
    f.latest = f.now;
    for (int ops = 0; f.i < f.n && ops < 512; ops++) {
        op(&f, byte(&f));
        if (f.now > f.latest) f.latest = f.now;
    }
    f.now = f.latest + (sc_time)f.m.interval * f.m.windows * 3 + 1000;
    for (int k = 0; k < POOL; k++) {
        sc_prefix p;
        uint64_t n[2] = {0, 0};
        sc_status st[2];
        if (sc_prefix_make(&f.pool[k], 0, &p) != SC_OK) fz_fail("prefix_make");
        for (int t = 0; t < 2; t++)
            st[t] = sc_series_count(f.cs[t], &p, 0, f.m.windows - 1, f.now, &n[t]);
        if (st[0] != SC_OK || st[1] != SC_OK || n[0] || n[1])
            fz_fail("after the ring passed: ref %llu, fast %llu", (unsigned long long)n[0],
                    (unsigned long long)n[1]);
    }
    if (fz_trace()) printf("series: %zu bytes, monitor %u,%u\n", size, f.m.interval, f.m.windows);
    for (int k = 0; k < 2; k++) {
        sc_series_free(f.cs[k]);
        sc_series_free(f.ss[k]);
    }
    if (FZ_FRESH_TABLES) drop_tables();
    return 0;
}
