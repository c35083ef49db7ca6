/*
 * test_series_diff.c: ref against fast for windowed counts, under a driven
 * clock, both held to the harness's own model (sc_sdiff.h), over monitors of
 * one window, a few, and many; and checks that the harness sees a planted
 * window-arithmetic bug.
 *
 *   SC_SDIFF_OPS   total ops over the ref-vs-fast runs (default 10000000)
 *   SC_DIFF_SEED   base seed (default fixed), to explore or to replay
 */
#include <inttypes.h>
#include <string.h>
#include <time.h>

#include "sc_check.h"
#include "sc_internal.h"
#include "sc_sdiff.h"

static size_t total_ops(void)
{
    const char *e = getenv("SC_SDIFF_OPS");
    return e && *e ? (size_t)strtoull(e, NULL, 0) : 10000000;
}

static uint64_t base_seed(void)
{
    const char *e = getenv("SC_DIFF_SEED");
    return e && *e ? (uint64_t)strtoull(e, NULL, 0) : 0x5E21E5u;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void sdiff_once(const sc_impl *a, const sc_impl *b, uint64_t seed, size_t ops,
                       size_t pool, sc_monitor m, sc_series_kind kind)
{
    sc_sdiff_stats st;
    sc_sdiff_config cfg = {.seed = seed, .ops = ops, .pool_size = pool, .monitor = m,
                           .kind = kind, .stats = &st};
    bool cidr = kind == SC_SERIES_CIDR;
    char report[2048];
    double t0 = now_s();
    int rc = sc_sdiff_run(a, b, &cfg, report, sizeof report);
    printf("   %s vs %s seed 0x%" PRIx64 " %s monitor %u,%u ops %zu pool %zu: rc %d, %.2f s\n"
           "     adds %zu (big %zu, refused %zu, dropped %zu) takes %zu removes %zu; counts %zu "
           "(text %zu, nonzero %zu, multi-window %zu; /0-/7 %zu, /8 %zu, longer %zu; bad "
           "ranges %zu); turns %zu jumps %zu steps back %zu SC_NOW %zu; peak entries %zu\n",
           sc_impl_name(a), sc_impl_name(b), seed, cidr ? "cidr" : "string", m.interval,
           m.windows, ops, pool, rc,
           now_s() - t0, st.adds, st.big_adds, st.refused_adds, st.dropped_adds, st.takes,
           st.removes, st.counts, st.text_counts, st.nonzero_counts, st.multi_window_counts,
           st.short_counts, st.byte_counts, st.trie_counts, st.bad_ranges, st.turns, st.jumps,
           st.steps_back, st.clock_calls, st.max_entries);
    if (!CHECK(rc == 0, "seed 0x%" PRIx64 " monitor %u,%u: %s", seed, m.interval, m.windows,
               report))
        return;
    if (ops < 100000) return;
    /* the run reached every path it claims */
    CHECK(st.adds && st.takes && st.removes && st.dropped_adds &&
              (!cidr || (st.big_adds && st.refused_adds)),
          "seed 0x%" PRIx64 ": some kinds of add never ran", seed);
    CHECK(cidr ? st.short_counts && st.byte_counts && st.trie_counts && st.text_counts &&
                     st.bad_ranges
               : st.wrong_kind > 0,
          "seed 0x%" PRIx64 ": some kinds of count never ran", seed);
    CHECK(st.nonzero_counts > st.counts / 5, "seed 0x%" PRIx64 ": %zu of %zu counts found events",
          seed, st.nonzero_counts, st.counts);
    CHECK(st.turns && st.jumps && st.steps_back && st.clock_calls,
          "seed 0x%" PRIx64 ": some clock moves never happened", seed);
    if (m.windows > 1)
        CHECK(st.multi_window_counts > 0, "seed 0x%" PRIx64 ": no range of windows", seed);
}

static const struct srun {
    unsigned share;          /* per mille of SC_SDIFF_OPS */
    size_t pool;
    sc_monitor m;
    sc_series_kind kind;
} sruns[] = {
    {220, 256, {60, 6}, SC_SERIES_CIDR},     /* the monitor of Momentum's examples */
    {130, 128, {1, 1}, SC_SERIES_CIDR},      /* one window of one second */
    {200, 512, {300, 3}, SC_SERIES_CIDR},
    {150, 128, {10, 64}, SC_SERIES_CIDR},    /* many windows */
    {100, 1024, {86400, 2}, SC_SERIES_CIDR},
    {120, 48, {60, 6}, SC_SERIES_STRING},
    {80, 32, {5, 16}, SC_SERIES_STRING},
};

static void test_ref_and_fast_series_agree_with_the_model(void)
{
    for (size_t r = 0; r < sizeof sruns / sizeof sruns[0]; r++) {
        size_t ops = total_ops() / 1000 * sruns[r].share;
        sdiff_once(sc_impl_ref(), sc_impl_fast(), base_seed() + r, ops < 1000 ? 1000 : ops,
                   sruns[r].pool, sruns[r].m, sruns[r].kind);
    }
}

/* ------------------------------------------------------------------ a planted bug */

static sc_impl planted;

/* Counts one window too many: the one before the range. */
static uint64_t count_one_window_early(const sc_series *s, const sc_prefix *p, int64_t first,
                                       int64_t last)
{
    return sc_impl_fast()->series_count(s, p, first - 1, last);
}

static void test_harness_catches_a_window_off_by_one(void)
{
    planted = *sc_impl_fast();
    planted.name = "planted";
    planted.series_count = count_one_window_early;
    sc_sdiff_config cfg = {.seed = base_seed() + 9, .ops = 200000, .pool_size = 64,
                           .monitor = {60, 6}, .kind = SC_SERIES_CIDR};
    char report[2048];
    int rc = sc_sdiff_run(&planted, sc_impl_ref(), &cfg, report, sizeof report);
    if (CHECK(rc == 1, "a count of one window too many not caught (rc %d)", rc))
        printf("   caught:\n%s\n", report);
    CHECK(strstr(report, "planted") && strstr(report, "seed 0x") && strstr(report, " at op "),
          "the report names the impl, the seed and the op: %s", report);
}

int main(void)
{
    printf("SC_SDIFF_OPS=%zu SC_DIFF_SEED=0x%" PRIx64 "\n", total_ops(), base_seed());
    RUN(test_harness_catches_a_window_off_by_one);
    RUN(test_ref_and_fast_series_agree_with_the_model);
    return check_done();
}
