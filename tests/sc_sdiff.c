/*
 * sc_sdiff.c: the series differential harness (sc_sdiff.h).  One seeded
 * splitmix64 stream draws every operation and every clock move; each runs
 * on both tables and the answers are held to each other and to the model:
 * mcount[slot][key] with mepoch[slot], the ring as SPEC words it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sc_diff_model.h"
#include "sc_internal.h"
#include "sc_rng.h"
#include "sc_sdiff.h"

#define NONE INT64_MIN

typedef struct ctx {
    const sc_impl *impl[2];
    sc_table *tab[2];
    sc_series *ser[2];
    const sc_sdiff_config *cfg;
    sc_sdiff_stats stats;
    uint64_t rng;
    sc_addr *pool;
    char (*strs)[SC_SERIES_KEY_MAX];   /* string mode: the keys */
    uint8_t *slen;
    bool strings;
    size_t npool;
    int64_t W, N;
    sc_time now;             /* the driven clock */
    int64_t newest;          /* the model's ring: its newest epoch */
    int64_t *mepoch;         /* [N]: the epoch a slot holds, NONE */
    uint64_t *mcount;        /* [N * npool] */
    size_t op;
    char what[320];
    char *report;
    size_t cap;
} ctx;

static uint64_t rnd(ctx *c) { return sc_splitmix(&c->rng); }
static size_t below(ctx *c, size_t n) { return n ? (size_t)(rnd(c) % n) : 0; }
static bool chance(ctx *c, unsigned pct) { return below(c, 100) < pct; }

static sc_time table_clock(void *arg) { return ((const ctx *)arg)->now; }

/* ------------------------------------------------------------------ the model */

static int64_t epoch_of(const ctx *c, sc_time t)
{
    int64_t q = t / c->W;
    return t % c->W != 0 && t < 0 ? q - 1 : q;
}

static size_t slot_of(const ctx *c, int64_t e)
{
    int64_t m = e % c->N;
    return (size_t)(m < 0 ? m + c->N : m);
}

static uint64_t *mrow(ctx *c, size_t slot) { return &c->mcount[slot * c->npool]; }

static void clear_slot(ctx *c, size_t s, int64_t e)
{
    c->mepoch[s] = e;
    memset(mrow(c, s), 0, c->npool * sizeof *c->mcount);
}

/* A call at epoch e: the ring moves on when e is the newest yet. */
static void reach(ctx *c, int64_t e)
{
    if (c->newest != NONE && e <= c->newest) return;
    if (c->newest != NONE) c->stats.turns++;
    c->newest = e;
    for (int64_t s = 0; s < c->N; s++)
        if (c->mepoch[s] != NONE && c->mepoch[s] < e - c->N + 1) clear_slot(c, (size_t)s, NONE);
}

static bool live(const ctx *c, int64_t e) { return e >= c->newest - c->N + 1 && e <= c->newest; }

/* The model's row for a live epoch, taking over an older slot. */
static uint64_t *window(ctx *c, int64_t e)
{
    size_t s = slot_of(c, e);
    if (c->mepoch[s] != e) clear_slot(c, s, e);
    return mrow(c, s);
}

static uint64_t first_byte_sum(ctx *c, int64_t e, const sc_addr *key)
{
    uint64_t *row = window(c, e), sum = 0;
    for (size_t i = 0; i < c->npool; i++)
        if (c->pool[i].family == key->family && c->pool[i].bytes[0] == key->bytes[0]) sum += row[i];
    return sum;
}

static uint64_t model_count(ctx *c, const sc_prefix *p, int64_t first, int64_t last)
{
    uint64_t sum = 0;
    for (int64_t e = first; e <= last; e++) {
        size_t s = slot_of(c, e);
        if (c->mepoch[s] != e) continue;
        for (size_t i = 0; i < c->npool; i++)
            if (mrow(c, s)[i] && dm_in_prefix(&c->pool[i], p)) sum += mrow(c, s)[i];
    }
    return sum;
}

static size_t model_entries(const ctx *c)
{
    size_t n = 0;
    for (size_t k = 0; k < (size_t)c->N * c->npool; k++) n += c->mcount[k] != 0;
    return n;
}

/* ------------------------------------------------------------------ reports */

static int fail(ctx *c, const char *why, sc_status s0, uint64_t n0, sc_status s1, uint64_t n1,
                long long want_st, unsigned long long want_n)
{
    snprintf(c->report, c->cap,
             "%s at op %zu of %zu, seed 0x%016llx (monitor %lld,%lld, pool %zu, now %lld, "
             "newest epoch %lld):\n  op: %s\n  %s: %s, %llu\n  %s: %s, %llu\n  model: %s, %llu",
             why, c->op, c->cfg->ops, (unsigned long long)c->cfg->seed, (long long)c->W,
             (long long)c->N, c->npool, (long long)c->now, (long long)c->newest, c->what,
             sc_impl_name(c->impl[0]), sc_status_name(s0), (unsigned long long)n0,
             sc_impl_name(c->impl[1]), sc_status_name(s1), (unsigned long long)n1,
             want_st < 0 ? "any" : sc_status_name((sc_status)want_st), want_n);
    return 1;
}

static int judge(ctx *c, const sc_status st[2], const uint64_t n[2], sc_status want_st,
                 uint64_t want_n, bool counted)
{
    if (st[0] != st[1] || (counted && n[0] != n[1]))
        return fail(c, "answers differ", st[0], n[0], st[1], n[1], want_st, want_n);
    if (st[0] != want_st || (counted && st[0] == SC_OK && n[0] != want_n))
        return fail(c, "both answer against the model", st[0], n[0], st[1], n[1], want_st,
                    want_n);
    return 0;
}

/* ------------------------------------------------------------------ the pool */

/* String keys: mostly short, some up to 255 bytes, any byte values. */
static bool make_strings(ctx *c)
{
    c->strs = calloc(c->cfg->pool_size, sizeof *c->strs);
    c->slen = calloc(c->cfg->pool_size, 1);
    if (!c->strs || !c->slen) return false;
    while (c->npool < c->cfg->pool_size) {
        size_t i = c->npool, len = chance(c, 90) ? 1 + below(c, 16) : 1 + below(c, 255);
        bool text = chance(c, 70);
        for (size_t k = 0; k < len; k++)
            c->strs[i][k] = text ? (char)('a' + below(c, 3)) : (char)rnd(c);
        c->slen[i] = (uint8_t)len;
        bool dup = false;
        for (size_t j = 0; j < i && !dup; j++)
            dup = c->slen[j] == len && memcmp(c->strs[j], c->strs[i], len) == 0;
        if (!dup) c->npool++;
    }
    return true;
}

static bool make_pool(ctx *c)
{
    c->pool = calloc(c->cfg->pool_size, sizeof *c->pool);
    if (!c->pool) return false;
    if (c->strings) return make_strings(c);
    sc_addr base[8];
    for (int i = 0; i < 8; i++) {
        uint8_t b[16];
        for (int k = 0; k < 16; k++) b[k] = (uint8_t)rnd(c);
        if (i == 2) b[0] = 198, b[1] = 51;            /* two bases in one /8 ... */
        if (i == 4) b[0] = 198, b[1] = 18;
        if (i == 3) memcpy(b, (uint8_t[]){0x20, 0x01, 0x0d, 0xb8}, 4);
        base[i] = dm_addr(i % 2 ? SC_INET6 : SC_INET4, b);
    }
    while (c->npool < c->cfg->pool_size) {
        sc_addr a = base[below(c, 8)];
        unsigned bits = dm_bits(&a), k = (unsigned)below(c, 1 + below(c, bits + 1));
        for (unsigned i = bits - k; i < bits; i++) dm_set_bit(a.bytes, i, rnd(c) & 1);
        a = dm_addr(a.family, a.bytes);
        bool dup = false;
        for (size_t i = 0; i < c->npool && !dup; i++) dup = memcmp(&c->pool[i], &a, sizeof a) == 0;
        if (!dup) c->pool[c->npool++] = a;
    }
    return true;
}

/* A key in a report: the address, or the string's length and first bytes. */
static void key_text(const ctx *c, size_t i, const sc_addr *a, char buf[DM_TEXT_MAX])
{
    if (!c->strings) {
        dm_addr_text(a, buf);
        return;
    }
    size_t n = (size_t)snprintf(buf, DM_TEXT_MAX, "key %zu (%u bytes: ", i, c->slen[i]);
    for (size_t k = 0; k < c->slen[i] && n + 4 < DM_TEXT_MAX; k++) {
        unsigned char ch = (unsigned char)c->strs[i][k];
        n += (size_t)snprintf(buf + n, DM_TEXT_MAX - n, "%02x", ch);
    }
    snprintf(buf + (n < DM_TEXT_MAX - 2 ? n : DM_TEXT_MAX - 2), 2, ")");
}

/* Key i as handed over: IPv4 sometimes in its IPv4-mapped spelling. */
static sc_addr spelled(ctx *c, size_t i)
{
    return c->pool[i].family == SC_INET4 && chance(c, 20) ? dm_mapped(&c->pool[i]) : c->pool[i];
}

/* The time a call gives: now, a moment of its window or the one before, or
 * SC_NOW (the table's clock, which says now). */
static sc_time call_time(ctx *c, sc_time *model_t)
{
    size_t r = below(c, 100);
    if (r < 10) {
        c->stats.clock_calls++;
        *model_t = c->now;
        return SC_NOW;
    }
    *model_t = r < 20 ? c->now - (sc_time)below(c, (size_t)(2 * c->W)) : c->now;
    return *model_t;
}

/* ------------------------------------------------------------------ operations */

static int op_add(ctx *c)
{
    size_t i = below(c, c->npool);
    size_t r = below(c, 100);
    int64_t n = r < 60 ? 1 : r < 80 ? (int64_t)below(c, 1000) : r < 97 ? -(int64_t)below(c, 50)
              : (int64_t)(SC_SERIES_COUNT_MAX / 2 + below(c, 1000));
    if (c->strings && n > 1000) n = 1000;   /* the string limit is per hash bucket: not modelled */
    sc_time t, at = call_time(c, &t);
    int64_t e = epoch_of(c, t);
    sc_addr a = c->strings ? c->pool[0] : spelled(c, i);
    char kt[DM_TEXT_MAX];
    key_text(c, i, &a, kt);
    snprintf(c->what, sizeof c->what, "add %s %lld at %lld%s", kt, (long long)n, (long long)t,
             at == SC_NOW ? " (SC_NOW)" : "");
    sc_status st[2];
    uint64_t z[2] = {0, 0};
    for (int k = 0; k < 2; k++)
        st[k] = c->strings ? sc_series_add_string(c->ser[k], c->strs[i], c->slen[i], n, at)
                           : sc_series_add(c->ser[k], &a, n, at);
    reach(c, e);
    sc_status want = SC_OK;
    if (n != 0 && live(c, e)) {
        uint64_t *row = window(c, e);
        if (n < 0) {
            uint64_t m = (uint64_t)-n;
            row[i] = row[i] > m ? row[i] - m : 0;
            c->stats.takes++;
        } else if (!c->strings &&
               first_byte_sum(c, e, &c->pool[i]) > SC_SERIES_COUNT_MAX - (uint64_t)n) {
            want = SC_E_RANGE;
            c->stats.refused_adds++;
        } else {
            row[i] += (uint64_t)n;
            c->stats.adds++;
            c->stats.big_adds += (uint64_t)n > 1000;
        }
    } else if (n != 0) {
        c->stats.dropped_adds++;
    }
    return judge(c, st, z, want, 0, false);
}

static int op_remove(ctx *c)
{
    size_t i = below(c, c->npool);
    sc_time t, at = call_time(c, &t);
    sc_addr a = c->strings ? c->pool[0] : spelled(c, i);
    char kt[DM_TEXT_MAX];
    key_text(c, i, &a, kt);
    snprintf(c->what, sizeof c->what, "remove %s at %lld", kt, (long long)t);
    sc_status st[2];
    uint64_t z[2] = {0, 0};
    for (int k = 0; k < 2; k++)
        st[k] = c->strings ? sc_series_remove_string(c->ser[k], c->strs[i], c->slen[i], at)
                           : sc_series_remove(c->ser[k], &a, at);
    reach(c, epoch_of(c, t));
    for (int64_t s = 0; s < c->N; s++) mrow(c, (size_t)s)[i] = 0;
    c->stats.removes++;
    return judge(c, st, z, SC_OK, 0, false);
}

/* A prefix near a key (or anywhere), host bits set at random. */
static sc_prefix near(ctx *c, sc_addr *a)
{
    *a = chance(c, 90) ? c->pool[below(c, c->npool)] : c->pool[0];
    unsigned bits = dm_bits(a), len = (unsigned)below(c, bits + 1);
    for (unsigned i = len; i < bits; i++)
        if (chance(c, 50)) dm_set_bit(a->bytes, i, rnd(c) & 1);
    if (len && chance(c, 15)) dm_set_bit(a->bytes, (unsigned)below(c, len), rnd(c) & 1);
    *a = dm_addr(a->family, a->bytes);
    if (len > dm_bits(a)) len = dm_bits(a);
    return dm_prefix(a, len);
}

/* A string series: a count of one key (maybe one never added), or a call
 * of the other kind, which must be refused. */
static int op_count_string(ctx *c)
{
    size_t i = below(c, c->npool);
    unsigned startv = (unsigned)below(c, (size_t)c->N);
    unsigned endv = startv + (unsigned)below(c, (size_t)(c->N - startv));
    sc_time t, at = call_time(c, &t);
    sc_status st[2];
    uint64_t n[2] = {0, 0};
    char kt[DM_TEXT_MAX];
    key_text(c, i, &c->pool[0], kt);
    if (chance(c, 2)) {
        static const uint8_t zero[16];
        sc_addr any = dm_addr(SC_INET4, zero);
        sc_prefix p = dm_prefix(&any, 0);
        snprintf(c->what, sizeof c->what, "a CIDR count of a string series");
        for (int k = 0; k < 2; k++) st[k] = sc_series_count(c->ser[k], &p, 0, 0, at, &n[k]);
        c->stats.wrong_kind++;
        return judge(c, st, n, SC_E_INVALID, 0, false);
    }
    snprintf(c->what, sizeof c->what, "count %s windows %u-%u at %lld%s", kt, startv, endv,
             (long long)t, at == SC_NOW ? " (SC_NOW)" : "");
    for (int k = 0; k < 2; k++)
        st[k] = sc_series_count_string(c->ser[k], c->strs[i], c->slen[i], startv, endv, at, &n[k]);
    int64_t e = epoch_of(c, t);
    reach(c, e);
    int64_t first = e - endv, last = e - startv, oldest = c->newest - c->N + 1;
    if (first < oldest) first = oldest;
    uint64_t want = 0;
    for (int64_t x = first; x <= last; x++)
        if (c->mepoch[slot_of(c, x)] == x) want += mrow(c, slot_of(c, x))[i];
    c->stats.counts++;
    c->stats.nonzero_counts += want != 0;
    c->stats.multi_window_counts += endv > startv;
    return judge(c, st, n, SC_OK, want, true);
}

static int op_count(ctx *c)
{
    if (c->strings) return op_count_string(c);
    sc_addr a;
    sc_prefix p = near(c, &a);
    unsigned startv = (unsigned)below(c, (size_t)c->N), endv = startv + (unsigned)below(c, (size_t)(c->N - startv));
    sc_status want = SC_OK;
    if (chance(c, 3)) {   /* a range the monitor does not have */
        if (chance(c, 50)) endv = (unsigned)c->N + (unsigned)below(c, 3);
        else if (endv > 0) startv = endv + 1;
        else endv = (unsigned)c->N;
        want = SC_E_RANGE;
        c->stats.bad_ranges++;
    }
    sc_time t, at = call_time(c, &t);
    bool text = chance(c, 25);
    char pt[DM_TEXT_MAX], buf[DM_TEXT_MAX + 16];
    dm_prefix_text(&p, pt);
    sc_status st[2];
    uint64_t n[2] = {0, 0};
    if (text) {   /* relative to a connecting key: "/len" */
        snprintf(buf, sizeof buf, "/%u", p.len);
        for (int k = 0; k < 2; k++)
            st[k] = sc_series_count_text(c->ser[k], buf, strlen(buf), &a, startv, endv, at, &n[k], NULL);
        c->stats.text_counts++;
    } else {
        sc_prefix as = p;
        if (p.addr.family == SC_INET4 && chance(c, 20)) {
            as.addr = dm_mapped(&p.addr);
            as.len = (uint8_t)(p.len + 96);
        }
        for (int k = 0; k < 2; k++) st[k] = sc_series_count(c->ser[k], &as, startv, endv, at, &n[k]);
    }
    snprintf(c->what, sizeof c->what, "count %s%s windows %u-%u at %lld%s", pt,
             text ? " (as a relative mask)" : "", startv, endv, (long long)t,
             at == SC_NOW ? " (SC_NOW)" : "");
    uint64_t want_n = 0;
    if (want == SC_OK) {
        int64_t e = epoch_of(c, t);
        reach(c, e);
        int64_t first = e - endv, last = e - startv, oldest = c->newest - c->N + 1;
        if (first < oldest) first = oldest;
        want_n = first > last ? 0 : model_count(c, &p, first, last);
        c->stats.counts++;
        c->stats.nonzero_counts += want_n != 0;
        c->stats.multi_window_counts += endv > startv;
        if (p.len < 8) c->stats.short_counts++;
        else if (p.len == 8) c->stats.byte_counts++;
        else c->stats.trie_counts++;
    }
    return judge(c, st, n, want, want_n, true);
}

static void move_clock(ctx *c)
{
    size_t r = below(c, 100);
    if (c->newest != NONE && epoch_of(c, c->now) < c->newest && chance(c, 60)) {
        c->now = c->newest * c->W + (sc_time)below(c, (size_t)c->W);   /* back from a step back */
        return;
    }
    if (r < 55) c->now += (sc_time)below(c, (size_t)c->W);
    else if (r < 75) c->now = (epoch_of(c, c->now) + 1) * c->W;                 /* a boundary */
    else if (r < 85) c->now += c->W * (sc_time)(1 + below(c, 3));
    else if (r < 93) c->now -= c->W * (sc_time)below(c, (size_t)c->N), c->stats.steps_back++;
    else if (r < 96) c->now -= c->W * (c->N + (sc_time)below(c, 4)), c->stats.steps_back++;
    else c->now += c->W * (c->N + (sc_time)below(c, 3 * (size_t)c->N)), c->stats.jumps++;
}

/* ------------------------------------------------------------------ the run */

static int run_ops(ctx *c)
{
    for (c->op = 0; c->op < c->cfg->ops; c->op++) {
        size_t r = below(c, 1000);
        int bad = 0;
        if (r < 30) move_clock(c);
        else if (r < 520) bad = op_add(c);
        else if (r < 530) bad = op_remove(c);
        else bad = op_count(c);
        if (bad) return 1;
        if (c->op % 1024 == 0) {
            size_t e = model_entries(c);
            if (e > c->stats.max_entries) c->stats.max_entries = e;
        }
    }
    /* Past the whole ring: nothing counts, and the memory is back. */
    int64_t from = c->newest != NONE && c->newest > epoch_of(c, c->now) ? c->newest
                                                                          : epoch_of(c, c->now);
    c->now = (from + 2 * c->N + 1) * c->W;
    static const uint8_t zero[16];
    for (size_t i = 0; c->strings && i < c->npool; i++) {
        sc_status st[2];
        uint64_t n[2] = {0, 0};
        snprintf(c->what, sizeof c->what, "after the ring passed: count of string key %zu", i);
        for (int k = 0; k < 2; k++)
            st[k] = sc_series_count_string(c->ser[k], c->strs[i], c->slen[i], 0,
                                           (unsigned)c->N - 1, c->now, &n[k]);
        if (judge(c, st, n, SC_OK, 0, true)) return 1;
    }
    for (int f = 0; f < 2 && !c->strings; f++) {
        sc_addr any = dm_addr(f ? SC_INET6 : SC_INET4, zero);
        sc_prefix p = dm_prefix(&any, 0);
        sc_status st[2];
        uint64_t n[2] = {0, 0};
        snprintf(c->what, sizeof c->what, "after the ring passed: count %s windows 0-%lld",
                 f ? "::/0" : "0.0.0.0/0", (long long)c->N - 1);
        for (int k = 0; k < 2; k++)
            st[k] = sc_series_count(c->ser[k], &p, 0, (unsigned)c->N - 1, c->now, &n[k]);
        if (judge(c, st, n, SC_OK, 0, true)) return 1;
    }
    return 0;
}

int sc_sdiff_run(const sc_impl *a, const sc_impl *b, const sc_sdiff_config *cfg, char *report,
                 size_t cap)
{
    char dummy[1];
    if (!report || cap == 0) report = dummy, cap = sizeof dummy;
    report[0] = '\0';
    if (!a || !b || !cfg || cfg->pool_size < 4 || cfg->monitor.interval == 0 ||
        cfg->monitor.windows == 0) {
        snprintf(report, cap, "sc_sdiff_run: bad arguments");
        return -1;
    }
    ctx c = {.impl = {a, b}, .cfg = cfg, .rng = cfg->seed, .report = report, .cap = cap,
             .W = cfg->monitor.interval, .N = cfg->monitor.windows, .newest = NONE,
             .strings = cfg->kind == SC_SERIES_STRING};
    c.now = 1700000000 + (sc_time)below(&c, 1000000);
    int rc = -1;
    size_t footprint[2] = {0, 0};
    c.mepoch = malloc((size_t)c.N * sizeof *c.mepoch);
    c.mcount = calloc((size_t)c.N * cfg->pool_size, sizeof *c.mcount);
    if (!c.mepoch || !c.mcount || !make_pool(&c)) {
        snprintf(report, cap, "sc_sdiff_run: out of memory");
        goto out;
    }
    for (int64_t s = 0; s < c.N; s++) c.mepoch[s] = NONE;
    sc_options opts = {.clock = table_clock, .clock_arg = &c};
    for (int k = 0; k < 2; k++) {
        sc_status st = sc_table_new(c.impl[k], &opts, &c.tab[k]);
        if (st == SC_OK) st = sc_series_new(c.tab[k], cfg->kind, &cfg->monitor, &c.ser[k]);
        if (st != SC_OK) {
            snprintf(report, cap, "sc_sdiff_run: table or series of %s: %s",
                     sc_impl_name(c.impl[k]), sc_strerror(st));
            goto out;
        }
        footprint[k] = sc_table_bytes(c.tab[k]);
    }
    rc = run_ops(&c);
    for (int k = 0; k < 2 && rc == 0; k++) {
        sc_table_reclaim(c.tab[k]);
        size_t now_bytes = sc_table_bytes(c.tab[k]);
        if (now_bytes != footprint[k]) {
            snprintf(report, cap, "seed 0x%016llx: %s holds %zu bytes after the ring passed, "
                     "%zu before the first event", (unsigned long long)cfg->seed,
                     sc_impl_name(c.impl[k]), now_bytes, footprint[k]);
            rc = 1;
        }
    }
out:
    if (cfg->stats) *cfg->stats = c.stats;
    for (int k = 0; k < 2; k++) sc_table_free(c.tab[k]);
    free(c.pool);
    free(c.strs);
    free(c.slen);
    free(c.mepoch);
    free(c.mcount);
    return rc;
}
