/*
 * test_diff.c: ref against fast over long random op sequences (sc_diff.h),
 * several seeds and open populations, and checks that the harness itself
 * sees a difference when one is planted.
 *
 *   SC_DIFF_OPS    total ops over the ref-vs-fast runs (default 10000000)
 *   SC_DIFF_SEED   base seed (default fixed), to explore or to replay
 */
#include <inttypes.h>
#include <string.h>
#include <time.h>

#include "sc_check.h"
#include "sc_diff.h"
#include "sc_internal.h"

static size_t total_ops(void)
{
    const char *e = getenv("SC_DIFF_OPS");
    if (!e || !*e) return 10000000;
    return (size_t)strtoull(e, NULL, 0);
}

static uint64_t base_seed(void)
{
    const char *e = getenv("SC_DIFF_SEED");
    if (!e || !*e) return 0x5E55C0u;
    return (uint64_t)strtoull(e, NULL, 0);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void print_coverage(const sc_diff_stats *st)
{
    printf("     fast counts by path:");
    for (int p = 0; p < SC_PATHS; p++)
        if (st->paths[p]) printf(" %s %zu", sc_count_path_name((sc_count_path)p), st->paths[p]);
    printf("\n     runs summed in:");
    for (int k = 0; k < SC_SHAPES; k++)
        if (st->runs[k]) printf(" %s %zu", sc_shape_name(k), st->runs[k]);
    printf("\n     slot answers over:");
    for (int k = 0; k < SC_SHAPES; k++)
        if (st->slots[k]) printf(" %s %zu", sc_shape_name(k), st->slots[k]);
    printf("\n     most child words at once:");
    for (int k = 0; k < SC_SHAPES; k++) printf(" %s %zu", sc_shape_name(k), st->shapes_max[k]);
    printf("\n");
}

/* A wide run must reach every shape the trie has and every counter path a
 * count can take, each node kind summed over and each shape counted
 * through a slot. */
static void check_coverage(const sc_diff_stats *st, uint64_t seed)
{
    for (int k = 0; k < SC_SHAPES; k++)
        CHECK(st->shapes_max[k] > 0, "seed 0x%" PRIx64 ": no %s ever in the table", seed,
              sc_shape_name(k));
    for (int p = SC_PATH_STRIPES; p < SC_PATHS; p++)
        CHECK(st->paths[p] > 0, "seed 0x%" PRIx64 ": no count answered by the %s path", seed,
              sc_count_path_name((sc_count_path)p));
    for (int k = SC_N2; k <= SC_N256; k++)
        CHECK(st->runs[k] > 0, "seed 0x%" PRIx64 ": no count summed a run of an %s", seed,
              sc_shape_name(k));
    for (int k = 0; k < SC_SHAPES; k++)
        CHECK(st->slots[k] > 0, "seed 0x%" PRIx64 ": no count answered by a slot over %s",
              seed, sc_shape_name(k));
}

/* One run; checks the answers agreed and the run did real work. */
static void diff_once(const sc_impl *a, const sc_impl *b, uint64_t seed, size_t ops,
                      size_t pool, size_t max_open, bool wide)
{
    sc_diff_stats st;
    sc_diff_config cfg = {.seed = seed, .ops = ops, .pool_size = pool, .max_open = max_open,
                          .wide = wide, .stats = &st};
    char report[2048];
    double t0 = now_s();
    int rc = sc_diff_run(a, b, &cfg, report, sizeof report);
    double dt = now_s() - t0;
    printf("   %s vs %s seed 0x%" PRIx64 " ops %zu pool %zu max_open %zu%s: rc %d, %.2f s "
           "(open %zu close %zu bad %zu count %zu text %zu sweep %zu, nonzero %zu, "
           "model %zu, peak %zu)\n",
           sc_impl_name(a), sc_impl_name(b), seed, ops, pool, max_open, wide ? " wide" : "", rc,
           dt, st.opens, st.closes, st.bad_closes, st.counts, st.count_texts, st.sweeps,
           st.nonzero_counts, st.model_counts, st.max_open_seen);
    if (st.paths[SC_PATH_NONE] + st.paths[SC_PATH_STRIPES] + st.paths[SC_PATH_SLOT]) print_coverage(&st);
    if (!CHECK(rc == 0, "seed 0x%" PRIx64 ": %s", seed, report)) return;
    CHECK(st.opens + st.closes + st.bad_closes + st.counts + st.count_texts + st.sweeps >= ops,
          "seed 0x%" PRIx64 ": fewer ops ran than asked", seed);
    if (ops >= 10000) {
        CHECK(st.bad_closes > 0 && st.sweeps > 0 && st.count_texts > 0,
              "seed 0x%" PRIx64 ": some op kinds never ran", seed);
        CHECK(st.nonzero_counts > st.counts / 10,
              "seed 0x%" PRIx64 ": only %zu of %zu counts found sessions", seed,
              st.nonzero_counts, st.counts);
        CHECK(st.model_counts > st.counts, "seed 0x%" PRIx64 ": %zu counts held to the model",
              seed, st.model_counts);
    }
    if (ops >= 40 * max_open)
        CHECK(st.max_open_seen >= max_open / 2, "seed 0x%" PRIx64 ": peak population %zu of %zu",
              seed, st.max_open_seen, max_open);
    if (wide) check_coverage(&st, seed);
}

static const struct run {
    unsigned share;          /* per mille of SC_DIFF_OPS */
    size_t pool, max_open;
    bool wide;
} runs[] = {
    {200, 64, 16, false},    /* few sessions, heavy reuse */
    {120, 48, 64, false},    /* more sessions than addresses: shared addresses */
    {250, 1024, 256, false},
    {150, 4096, 1024, false},
    {80, 8192, 4096, false},
    {200, 3000, 2048, true}, /* hot /16, /24, /48: N128 and N256 nodes */
};

/* SC_DIFF_WIDE_ONLY=1: only the wide run (the planted-bug stage's test of
 * a wide-node bug needs nothing else). */
static bool wide_only(void)
{
    const char *e = getenv("SC_DIFF_WIDE_ONLY");
    return e && *e == '1';
}

static void test_ref_and_fast_agree_on_random_sequences(void)
{
    size_t total = total_ops();
    uint64_t seed = base_seed();
    for (size_t r = 0; r < sizeof runs / sizeof runs[0]; r++) {
        if (wide_only() && !runs[r].wide) continue;
        size_t ops = total / 1000 * runs[r].share;
        if (ops < 1000) ops = 1000;
        diff_once(sc_impl_ref(), sc_impl_fast(), seed + r, ops, runs[r].pool, runs[r].max_open,
                  runs[r].wide);
    }
}

static void test_ref_agrees_with_itself(void)
{
    size_t ops = total_ops() / 20;
    diff_once(sc_impl_ref(), sc_impl_ref(), base_seed() + 100, ops < 1000 ? 1000 : ops, 512, 256,
              false);
}

/* ------------------------------------------------------------------ planted faults */

static const sc_impl *inner;
static sc_impl planted;

static uint64_t count_plus_one_at_13(const sc_table *t, const sc_prefix *p, sc_service s)
{
    uint64_t n = inner->count(t, p, s);
    return p->len == 13 ? n + 1 : n;
}

static sc_status close_never_fails(sc_table *t, const sc_addr *a, sc_service s)
{
    sc_status st = inner->close(t, a, s);
    return st == SC_E_NOT_OPEN ? SC_OK : st;
}

static sc_status open_merges_families(sc_table *t, const sc_addr *a, sc_service s)
{
    /* An IPv6 session whose last 12 bytes are zero is stored as the IPv4
     * address of its first 4: the bug of keying sessions on bytes alone. */
    static const uint8_t zero[12];
    if (a->family == SC_INET6 && memcmp(a->bytes + 4, zero, 12) == 0) {
        sc_addr v4 = *a;
        v4.family = SC_INET4;
        return inner->open(t, &v4, s);
    }
    return inner->open(t, a, s);
}

static sc_status close_merges_families(sc_table *t, const sc_addr *a, sc_service s)
{
    static const uint8_t zero[12];
    if (a->family == SC_INET6 && memcmp(a->bytes + 4, zero, 12) == 0) {
        sc_addr v4 = *a;
        v4.family = SC_INET4;
        return inner->close(t, &v4, s);
    }
    return inner->close(t, a, s);
}

static void plant(const sc_impl *base, const char *name)
{
    inner = base;
    planted = *base;
    planted.name = name;
}

/* Runs the planted impl against the real one; the harness must stop and
 * say so, naming `must_name` in its report. */
static void expect_caught(const char *fault, const char *must_name, size_t ops)
{
    char report[2048], again[2048];
    sc_diff_config cfg = {.seed = base_seed() + 7, .ops = ops, .pool_size = 256,
                          .max_open = 64};
    int rc = sc_diff_run(&planted, inner, &cfg, report, sizeof report);
    if (!CHECK(rc == 1, "planted fault \"%s\" not caught in %zu ops (rc %d)", fault, ops, rc))
        return;
    printf("   caught \"%s\":\n%s\n", fault, report);
    CHECK(strstr(report, must_name) != NULL, "report of \"%s\" does not name %s: %s", fault,
          must_name, report);
    CHECK(strstr(report, " at op ") && strstr(report, "planted") && strstr(report, "seed 0x"),
          "report of \"%s\" lacks the op index, the impl or the seed: %s", fault, report);
    char seed_text[32];
    snprintf(seed_text, sizeof seed_text, "%016" PRIx64, cfg.seed);
    CHECK(strstr(report, seed_text) != NULL, "report lacks seed %s: %s", seed_text, report);
    rc = sc_diff_run(&planted, inner, &cfg, again, sizeof again);
    CHECK(rc == 1 && strcmp(report, again) == 0, "same seed, different report:\n%s\n%s", report,
          again);
}

static void test_harness_catches_a_wrong_count(void)
{
    const sc_impl *bases[] = {sc_impl_ref(), sc_impl_fast()};
    for (int k = 0; k < 2; k++) {
        plant(bases[k], "planted");
        planted.count = count_plus_one_at_13;
        expect_caught("count + 1 at /13", "/13", 200000);
    }
}

static void test_harness_catches_a_close_of_nothing_that_succeeds(void)
{
    plant(sc_impl_ref(), "planted");
    planted.close = close_never_fails;
    expect_caught("bad close returns SC_OK", "bad-close", 200000);
}

static void test_harness_catches_merged_families(void)
{
    plant(sc_impl_ref(), "planted");
    planted.open = open_merges_families;
    planted.close = close_merges_families;
    expect_caught("IPv6 a.b.c.d:: counted as IPv4", "count", 400000);
}

static void test_harness_refuses_bad_configs(void)
{
    char report[256];
    sc_diff_config cfg = {.seed = 1, .ops = 10, .pool_size = 2, .max_open = 4};
    CHECK(sc_diff_run(sc_impl_ref(), sc_impl_ref(), &cfg, report, sizeof report) == -1,
          "a pool of 2 accepted");
    cfg.pool_size = 16;
    cfg.max_open = 0;
    CHECK(sc_diff_run(sc_impl_ref(), sc_impl_ref(), &cfg, report, sizeof report) == -1,
          "max_open 0 accepted");
    CHECK(sc_diff_run(NULL, sc_impl_ref(), &cfg, report, sizeof report) == -1, "NULL impl");
    cfg.max_open = 4;
    CHECK(sc_diff_run(sc_impl_ref(), sc_impl_ref(), &cfg, report, sizeof report) == 0 &&
              report[0] == '\0',
          "a short clean run: %s", report);
}

int main(void)
{
    printf("SC_DIFF_OPS=%zu SC_DIFF_SEED=0x%" PRIx64 " (fast is \"%s\")\n", total_ops(),
           base_seed(), sc_impl_name(sc_impl_fast()));
    RUN(test_harness_refuses_bad_configs);
    RUN(test_harness_catches_a_wrong_count);
    RUN(test_harness_catches_a_close_of_nothing_that_succeeds);
    RUN(test_harness_catches_merged_families);
    RUN(test_ref_agrees_with_itself);
    RUN(test_ref_and_fast_agree_on_random_sequences);
    return check_done();
}
