/*
 * test_series_conc.c: adds and counts of one series from several threads
 * while a ticker thread moves the table's clock, so windows turn under
 * them (a monitor of four one-second windows; the clock moves a second
 * every few hundred microseconds).
 *
 * Pins down SPEC "Windowed counts", concurrency: every count of a range of
 * windows lies within its bounds, exact at quiescence, and once the ring
 * has passed the table is back to its footprint before the first event.
 *
 * The bounds.  Every call reads the clock and passes that time; the test
 * keeps, per epoch and watched prefix, the adds started and done, and two
 * maxima of the epochs calls used: `reached` (raised before a call) and
 * `settled` (after it returns).  The series' own newest epoch lies between
 * them, so a count at epoch e of windows 0..N-1 covers at most the epochs
 * from max(e, settled_before) - N + 1 to e and at least those from
 * max(e, reached_after) - N + 1 to e:
 *     sum of done (before)    over the second set  <=  count
 *     sum of started (after)  over the first set   >=  count.
 * An add the ring had already left behind (dropped, or landed in a window
 * being retired) lies in an epoch below reached - N + 1: outside both sets.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sc_check.h"
#include "sc_rng.h"
#include "sesscount.h"

#define W 1
#define N 4
#define MAX_EPOCH 4096        /* the clock stops before this */
#define ADDERS 2
#define NWATCH 6

static const char *const watch_text[NWATCH] = {"0.0.0.0/0", "198.51.0.0/16", "198.51.100.0/24",
                                               "198.51.100.7/32", "::/0", "2001:db8::/32"};

typedef struct shared {
    sc_table *tab;
    sc_series *s;
    sc_prefix watch[NWATCH];
    _Atomic sc_time clock;
    atomic_long reached, settled;                     /* epochs */
    atomic_long started[MAX_EPOCH][NWATCH], done[MAX_EPOCH][NWATCH];
    atomic_bool stop;
    long adds_per_thread;
    atomic_long counts, violations, errors;
    char first[240];
} shared;

typedef struct rng { uint64_t s; } rng;
static uint64_t next(rng *r) { return sc_splitmix(&r->s); }

static sc_time clock_read(void *arg) { return atomic_load(&((shared *)arg)->clock); }

static void raise_to(atomic_long *m, long v)
{
    long seen = atomic_load(m);
    while (v > seen && !atomic_compare_exchange_weak(m, &seen, v)) {}
}

static bool holds(const sc_prefix *p, const sc_addr *a)
{
    if (p->addr.family != a->family) return false;
    for (unsigned i = 0; i < p->len; i++) {
        unsigned m = 0x80u >> (i % 8);
        if ((p->addr.bytes[i / 8] & m) != (a->bytes[i / 8] & m)) return false;
    }
    return true;
}

static sc_addr key_of(uint64_t x)
{
    uint8_t b[16] = {198, 51, 100, (uint8_t)x};
    int fam = SC_INET4;
    if (x % 5 == 1) b[2] = (uint8_t)(x >> 8);
    if (x % 5 == 2) memcpy(b, (uint8_t[]){0x20, 0x01, 0x0d, 0xb8, 0, (uint8_t)(x >> 8), 0, 0, 0, 0,
                                          0, 0, 0, 0, 0, (uint8_t)x}, 16), fam = SC_INET6;
    if (x % 5 == 3) b[0] = (uint8_t)(x >> 16), b[1] = (uint8_t)(x >> 24);
    sc_addr a;
    if (sc_addr_from_bytes(fam, b, &a) != SC_OK) abort();
    return a;
}

static void *adder_main(void *arg)
{
    shared *sh = arg;
    rng r = {(uint64_t)(uintptr_t)&r};
    for (long i = 0; i < sh->adds_per_thread && !atomic_load(&sh->stop); i++) {
        sc_addr a = key_of(next(&r));
        sc_time t = atomic_load(&sh->clock);
        long e = (long)(t / W);
        raise_to(&sh->reached, e);
        for (int w = 0; w < NWATCH; w++)
            if (holds(&sh->watch[w], &a)) atomic_fetch_add(&sh->started[e][w], 1);
        if (sc_series_add(sh->s, &a, 1, t) != SC_OK) atomic_fetch_add(&sh->errors, 1);
        for (int w = 0; w < NWATCH; w++)
            if (holds(&sh->watch[w], &a)) atomic_fetch_add(&sh->done[e][w], 1);
        raise_to(&sh->settled, e);
    }
    return NULL;
}

static long sum(atomic_long (*v)[NWATCH], int w, long from, long to)
{
    long s = 0;
    for (long e = from < 0 ? 0 : from; e <= to; e++) s += atomic_load(&v[e][w]);
    return s;
}

static void note(shared *sh, const char *what, int w, long e, uint64_t n, long lo, long hi)
{
    if (atomic_fetch_add(&sh->violations, 1) == 0)
        snprintf(sh->first, sizeof sh->first, "%s: count of %s at epoch %ld = %" PRIu64
                 " outside [%ld, %ld]", what, watch_text[w], e, n, lo, hi);
}

static void *counter_main(void *arg)
{
    shared *sh = arg;
    while (!atomic_load(&sh->stop)) {
        for (int w = 0; w < NWATCH; w++) {
            sc_time t = atomic_load(&sh->clock);
            long e = (long)(t / W);
            raise_to(&sh->reached, e);
            long settled = atomic_load(&sh->settled);
            long from_hi = (e > settled ? e : settled) - N + 1;
            long lo_before = 0;
            /* the lower bound's epochs are known only after; read every
             * candidate's done count now */
            long done_before[N];
            for (int k = 0; k < N; k++) done_before[k] = e - k >= 0 ? atomic_load(&sh->done[e - k][w]) : 0;
            uint64_t n = 0;
            sc_status st = sc_series_count(sh->s, &sh->watch[w], 0, N - 1, t, &n);
            long reached = atomic_load(&sh->reached);
            long from_lo = (e > reached ? e : reached) - N + 1;
            for (int k = 0; k < N; k++)
                if (e - k >= from_lo) lo_before += done_before[k];
            long hi_after = sum(sh->started, w, from_hi, e);
            atomic_fetch_add(&sh->counts, 1);
            if (st != SC_OK || n > (uint64_t)1 << 62 || (long)n < lo_before || (long)n > hi_after)
                note(sh, st == SC_OK ? "bounds" : sc_strerror(st), w, e, n, lo_before, hi_after);
            raise_to(&sh->settled, e);
        }
    }
    return NULL;
}

static void *ticker_main(void *arg)
{
    shared *sh = arg;
    struct timespec d = {0, 300000};
    while (!atomic_load(&sh->stop) && atomic_load(&sh->clock) < (MAX_EPOCH - 4 * N) * W) {
        nanosleep(&d, NULL);
        atomic_fetch_add(&sh->clock, 1);
    }
    return NULL;
}

static void run(const sc_impl *impl, long adds)
{
    shared *sh = calloc(1, sizeof *sh);
    if (!CHECK(sh != NULL, "memory")) return;
    sc_options o = {.clock = clock_read, .clock_arg = sh};
    const char *im = sc_impl_name(impl);
    if (!CHECK(sc_table_new(impl, &o, &sh->tab) == SC_OK &&
                   sc_series_new(sh->tab, SC_SERIES_CIDR, &(sc_monitor){W, N}, &sh->s) == SC_OK,
               "%s table and series", im)) {
        sc_table_free(sh->tab);
        free(sh);
        return;
    }
    for (int w = 0; w < NWATCH; w++)
        if (!CHECK(sc_parse_cidr(watch_text[w], strlen(watch_text[w]), NULL, &sh->watch[w], NULL) ==
                       SC_OK, "watch %s", watch_text[w]))
            goto out;
    size_t footprint = sc_table_bytes(sh->tab);
    sh->adds_per_thread = adds;
    pthread_t th[ADDERS + 2];
    for (int i = 0; i < ADDERS; i++)
        if (pthread_create(&th[i], NULL, adder_main, sh)) abort();
    if (pthread_create(&th[ADDERS], NULL, counter_main, sh) ||
        pthread_create(&th[ADDERS + 1], NULL, ticker_main, sh))
        abort();
    for (int i = 0; i < ADDERS; i++) pthread_join(th[i], NULL);
    atomic_store(&sh->stop, true);
    pthread_join(th[ADDERS], NULL);
    pthread_join(th[ADDERS + 1], NULL);
    long e = (long)(atomic_load(&sh->clock) / W), reached = atomic_load(&sh->reached);
    printf("   %s: %ld adds, %ld counts, the clock at epoch %ld\n", im, adds * ADDERS,
           atomic_load(&sh->counts), e);
    CHECK(atomic_load(&sh->errors) == 0, "%s: %ld adds failed", im, atomic_load(&sh->errors));
    CHECK(atomic_load(&sh->violations) == 0, "%s: %ld of %ld counts out of bounds, first: %s", im,
          atomic_load(&sh->violations), atomic_load(&sh->counts), sh->first);
    CHECK(atomic_load(&sh->counts) >= 1000 && e >= 3 * N, "%s: only %ld counts over %ld epochs",
          im, atomic_load(&sh->counts), e);
    /* quiescent: the live windows hold exactly what was added in them */
    long newest = e > reached ? e : reached;
    for (int w = 0; w < NWATCH; w++) {
        uint64_t n = 0;
        long want = sum(sh->done, w, newest - N + 1, newest);
        CHECK(sc_series_count(sh->s, &sh->watch[w], 0, N - 1, newest * W, &n) == SC_OK &&
                  (long)n == want,
              "%s: quiescent count of %s = %" PRIu64 ", want %ld", im, watch_text[w], n, want);
    }
    /* past the ring: nothing counts, the memory is back */
    uint64_t n = 1;
    CHECK(sc_series_count(sh->s, &sh->watch[0], 0, N - 1, (newest + N + 1) * W, &n) == SC_OK &&
              n == 0, "%s: a count after the ring passed = %" PRIu64, im, n);
    sc_table_reclaim(sh->tab);
    CHECK(sc_table_bytes(sh->tab) == footprint, "%s: %zu bytes after the ring passed, %zu before",
          im, sc_table_bytes(sh->tab), footprint);
out:
    sc_table_free(sh->tab);
    free(sh);
}

static long adds_from_env(void)
{
    const char *e = getenv("SC_CONC_OPS");
    long n = e ? atol(e) : 200000;
    return n > 0 ? n : 200000;
}

static void test_fast_series_counts_stay_in_bounds_while_windows_turn(void)
{
    run(sc_impl_fast(), adds_from_env() * 5);
}

static void test_ref_series_counts_stay_in_bounds_while_windows_turn(void)
{
    run(sc_impl_ref(), adds_from_env() / 4);
}

int main(void)
{
    RUN(test_fast_series_counts_stay_in_bounds_while_windows_turn);
    RUN(test_ref_series_counts_stay_in_bounds_while_windows_turn);
    return check_done();
}
