/*
 * test_concurrency.c: threads open, close and count on one table at once.
 *
 * Pins down SPEC "Concurrency" for the fast table (and, as a self-check, for
 * ref): at quiescence every count equals ref's replay of the same operations;
 * while updates run, a count of a watched /24 stays within its before/after
 * bounds and is never negative; and after every session closes the table's
 * bytes return exactly to what they were after a warm-up that made the same
 * trees (the margin over an empty table: one top of 2^16 slots plus the
 * per-CPU short counters for each (service, family) ever used, kept so that
 * the next session needs no allocation there).  And a count of a prefix
 * that no running update touches stays exact while a neighbouring address
 * is opened and closed over and over, whatever the trie does around it.
 *
 * Threads only close sessions they opened themselves, so every close must
 * succeed; bad closes use addresses nobody opens and must change nothing.
 * SC_CONC_OPS sets the operations per writer (smaller under TSan).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sc_check.h"
#include "sesscount.h"

#define WRITERS 4
#define POOL 512
#define HELD_MAX 4096

typedef struct rng { uint64_t s; } rng;
static uint64_t next(rng *r)
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

typedef struct op { sc_addr addr; sc_service svc; bool open; } op;

/* The addresses: a hot IPv4 /24 (the watched prefix), an IPv6 /64, peers
 * spread over many /16s of both families, and IPv4-mapped spellings. */
static sc_addr pool[POOL];
static sc_prefix watched;                      /* 198.51.100.0/24, SMTP */
static const sc_service services[3] = {SC_SERVICE_SMTP, SC_SERVICE_ECSTREAM, SC_SERVICE_CONTROL};

static void make_pool(void)
{
    rng r = {42};
    for (int i = 0; i < POOL; i++) {
        uint8_t b[16] = {0};
        uint64_t x = next(&r), y = next(&r);
        int fam = SC_INET4;
        switch (i % 4) {
        case 0: b[0] = 198; b[1] = 51; b[2] = 100; b[3] = (uint8_t)x; break;
        case 1: memcpy(b, (uint8_t[]){0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 7}, 8);
                memcpy(b + 8, &y, 8); fam = SC_INET6; break;
        case 2:
            if (i % 8 == 2) { /* ::ffff:198.51.100.x, which is 198.51.100.x */
                b[10] = b[11] = 0xff; b[12] = 198; b[13] = 51; b[14] = 100; b[15] = (uint8_t)x;
                fam = SC_INET6;
            } else {
                memcpy(b, &x, 4);
            }
            break;
        default: memcpy(b, &x, 8); memcpy(b + 8, &y, 8); fam = SC_INET6; break;
        }
        sc_addr_from_bytes(fam, b, &pool[i]);
    }
    sc_addr a;
    sc_addr_from_bytes(SC_INET4, (uint8_t[]){198, 51, 100, 0}, &a);
    sc_prefix_make(&a, 24, &watched);
}

static bool in_watched(const sc_addr *a, sc_service svc)
{
    return svc == SC_SERVICE_SMTP && a->family == SC_INET4 && a->bytes[0] == 198 &&
           a->bytes[1] == 51 && a->bytes[2] == 100;
}

typedef struct shared {
    sc_table *tab;
    long ops_per_writer;
    atomic_long opens_started, opens_done, closes_started, closes_done; /* on `watched` */
    atomic_int writers_left;
} shared;

typedef struct writer {
    shared *sh;
    int id;
    op *log;
    long nlog;
    long errors;           /* unexpected statuses */
    char first_error[160];
} writer;

static void note_error(writer *w, const char *what, const sc_addr *a, sc_status st)
{
    if (w->errors++) return;
    sc_prefix p;
    char text[SC_PREFIX_TEXT_MAX];
    sc_prefix_make(a, a->family == SC_INET4 ? 32 : 128, &p);
    sc_format_prefix(&p, text, sizeof text);
    snprintf(w->first_error, sizeof w->first_error, "writer %d: %s %s -> %s", w->id, what, text,
             sc_strerror(st));
}

static void do_update(writer *w, const sc_addr *a, sc_service svc, bool open)
{
    shared *sh = w->sh;
    bool watch = in_watched(a, svc);
    /* seq_cst on the bound counters: the reader's bounds rely on their
     * order with the update itself. */
    if (watch) atomic_fetch_add(open ? &sh->opens_started : &sh->closes_started, 1);
    sc_status st = open ? sc_open(sh->tab, a, svc) : sc_close(sh->tab, a, svc);
    if (watch) atomic_fetch_add(open ? &sh->opens_done : &sh->closes_done, 1);
    if (st != SC_OK) note_error(w, open ? "open" : "close", a, st);
    w->log[w->nlog++] = (op){*a, svc, open};
}

static void *writer_main(void *arg)
{
    writer *w = arg;
    rng r = {(uint64_t)w->id * 7919 + 1};
    static __thread struct { sc_addr a; sc_service s; } held[HELD_MAX];
    long nheld = 0;
    for (long i = 0; i < w->sh->ops_per_writer; i++) {
        uint64_t x = next(&r);
        if (x % 16 == 0) {            /* a bad close: an address nobody opens */
            sc_addr bad;
            sc_addr_from_bytes(SC_INET4, (uint8_t[]){203, 0, 113, (uint8_t)(x >> 8)}, &bad);
            sc_status st = sc_close(w->sh->tab, &bad, SC_SERVICE_SMTP);
            if (st != SC_E_NOT_OPEN) note_error(w, "bad close", &bad, st);
        } else if (nheld < HELD_MAX && (nheld == 0 || x % 2)) {
            held[nheld].a = pool[(x >> 8) % POOL];
            held[nheld].s = services[(x >> 20) % 3];
            do_update(w, &held[nheld].a, held[nheld].s, true);
            nheld++;
        } else {
            long k = (long)((x >> 8) % (uint64_t)nheld);
            do_update(w, &held[k].a, held[k].s, false);
            held[k] = held[--nheld];
        }
    }
    /* Leave some sessions open for the quiescent comparison. */
    while (nheld > HELD_MAX / 8) {
        nheld--;
        do_update(w, &held[nheld].a, held[nheld].s, false);
    }
    atomic_fetch_sub(&w->sh->writers_left, 1);
    return NULL;
}

typedef struct counter {
    shared *sh;
    long counts, violations;
    char first_violation[160];
} counter;

static void *counter_main(void *arg)
{
    counter *c = arg;
    shared *sh = c->sh;
    while (atomic_load(&sh->writers_left) > 0) {
        long done_o = atomic_load(&sh->opens_done), done_c = atomic_load(&sh->closes_done);
        uint64_t n = 0;
        sc_status st = sc_count(sh->tab, &watched, SC_SERVICE_SMTP, &n);
        long start_o = atomic_load(&sh->opens_started), start_c = atomic_load(&sh->closes_started);
        long lo = done_o - start_c, hi = start_o - done_c;
        c->counts++;
        if (st != SC_OK || (long)n < lo || (long)n > hi || n > (uint64_t)1 << 62) {
            if (!c->violations++)
                snprintf(c->first_violation, sizeof c->first_violation,
                         "count of 198.51.100.0/24 = %llu outside [%ld, %ld]",
                         (unsigned long long)n, lo, hi);
        }
    }
    return NULL;
}

/* Every prefix length of every pool address, both services' trees. */
static void compare_with_ref(sc_table *tab, writer *ws, const char *impl)
{
    sc_table *ref;
    if (!CHECK(sc_table_new(sc_impl_ref(), NULL, &ref) == SC_OK, "ref table")) return;
    for (int w = 0; w < WRITERS; w++)
        for (long i = 0; i < ws[w].nlog; i++) {
            op *o = &ws[w].log[i];
            sc_status st = o->open ? sc_open(ref, &o->addr, o->svc) : sc_close(ref, &o->addr, o->svc);
            if (st != SC_OK) { CHECK(st == SC_OK, "ref replay op %ld of writer %d", i, w); return; }
        }
    long mismatches = 0;
    for (int i = 0; i < POOL && mismatches < 5; i++) {
        unsigned max = pool[i].family == SC_INET4 ? 32 : 128;
        for (unsigned len = 0; len <= max; len++)
            for (int s = 0; s < 3; s++) {
                sc_prefix p;
                sc_prefix_make(&pool[i], len, &p);
                uint64_t a = 0, b = 0;
                sc_count(tab, &p, services[s], &a);
                sc_count(ref, &p, services[s], &b);
                if (a != b && mismatches++ < 5) {
                    char text[SC_PREFIX_TEXT_MAX];
                    sc_format_prefix(&p, text, sizeof text);
                    CHECK(a == b, "%s: quiescent count %s service %u: %llu, ref replay %llu", impl,
                          text, services[s], (unsigned long long)a, (unsigned long long)b);
                }
            }
    }
    CHECK(mismatches == 0, "%s: %ld quiescent counts differ from ref's replay", impl, mismatches);
    sc_table_free(ref);
}

static void close_everything(sc_table *tab, writer *ws)
{
    sc_table *ref;
    sc_table_new(sc_impl_ref(), NULL, &ref);
    /* Whatever is still open: replay to find it, then close it in tab. */
    for (int w = 0; w < WRITERS; w++)
        for (long i = 0; i < ws[w].nlog; i++) {
            op *o = &ws[w].log[i];
            if (o->open) sc_open(ref, &o->addr, o->svc);
            else sc_close(ref, &o->addr, o->svc);
        }
    for (int i = 0; i < POOL; i++)
        for (int s = 0; s < 3; s++)
            while (sc_close(ref, &pool[i], services[s]) == SC_OK)
                CHECK(sc_close(tab, &pool[i], services[s]) == SC_OK, "final close of pool[%d]", i);
    sc_table_free(ref);
}

static void run(const sc_impl *impl, long ops)
{
    sc_table *tab;
    if (!CHECK(sc_table_new(impl, NULL, &tab) == SC_OK, "%s table", sc_impl_name(impl))) return;
    /* Warm-up: make every tree the run will use, then empty it again. */
    for (int i = 0; i < 4; i++)
        for (int s = 0; s < 3; s++) {
            sc_open(tab, &pool[i], services[s]);
            sc_close(tab, &pool[i], services[s]);
        }
    size_t warm_bytes = sc_table_bytes(tab);

    shared sh = {.tab = tab, .ops_per_writer = ops, .writers_left = WRITERS};
    writer ws[WRITERS];
    counter cs = {.sh = &sh};
    pthread_t th[WRITERS + 1];
    for (int w = 0; w < WRITERS; w++) {
        ws[w] = (writer){.sh = &sh, .id = w, .log = malloc(sizeof(op) * (size_t)(ops + HELD_MAX))};
        pthread_create(&th[w], NULL, writer_main, &ws[w]);
    }
    pthread_create(&th[WRITERS], NULL, counter_main, &cs);
    for (int w = 0; w <= WRITERS; w++) pthread_join(th[w], NULL);

    for (int w = 0; w < WRITERS; w++)
        CHECK(ws[w].errors == 0, "%s: %ld unexpected statuses, first: %s", sc_impl_name(impl),
              ws[w].errors, ws[w].first_error);
    CHECK(cs.violations == 0, "%s: %ld of %ld counts out of bounds, first: %s", sc_impl_name(impl),
          cs.violations, cs.counts, cs.first_violation);
    compare_with_ref(tab, ws, sc_impl_name(impl));
    close_everything(tab, ws);
    size_t end_bytes = sc_table_bytes(tab);
    if (impl == sc_impl_fast()) /* ref keeps its grown array */
        CHECK(end_bytes == warm_bytes, "%s: bytes after every close %zu, after warm-up %zu",
          sc_impl_name(impl), end_bytes, warm_bytes);
    for (int w = 0; w < WRITERS; w++) free(ws[w].log);
    sc_table_free(tab);
}

static long ops_from_env(void)
{
    const char *e = getenv("SC_CONC_OPS");
    long n = e ? atol(e) : 200000;
    return n > 0 ? n : 200000;
}

static void test_fast_concurrent_counts_match_ref_replay(void) { run(sc_impl_fast(), ops_from_env()); }
static void test_ref_concurrent_counts_match_its_own_replay(void) { run(sc_impl_ref(), ops_from_env() / 20); }

/* ---- neighbours: counts of prefixes no running update touches stay exact */

typedef struct churn {
    sc_table *tab;
    sc_addr addr;             /* opened and closed over and over */
    atomic_bool stop;
} churn;

static void *churn_main(void *arg)
{
    churn *c = arg;
    while (!atomic_load(&c->stop)) {
        sc_open(c->tab, &c->addr, SC_SERVICE_SMTP);
        sc_close(c->tab, &c->addr, SC_SERVICE_SMTP);
    }
    return NULL;
}

static sc_addr parse_addr(const char *text)
{
    sc_addr a;
    sc_error err;
    if (sc_parse_addr(text, strlen(text), &a, &err) != SC_OK) abort();
    return a;
}

/* Opens `fixed`, then counts `query` (which holds exactly `want` of them
 * and never the churning address) while another thread opens and closes
 * `churning` next to them.  SPEC's bounds leave one right answer: `want`.
 * These are the shapes where a slot's child widens and narrows under a
 * count: a leaf becoming a pair and back, a leaf or a node parting into an
 * N2 and the N2 collapsing onto the same child again. */
static void neighbour_churns(const char *const *fixed, size_t nfixed, const char *churning,
                             const char *query, uint64_t want, long counts)
{
    sc_table *tab;
    if (!CHECK(sc_table_new(sc_impl_fast(), NULL, &tab) == SC_OK, "table")) return;
    for (size_t i = 0; i < nfixed; i++) {
        sc_addr a = parse_addr(fixed[i]);
        sc_open(tab, &a, SC_SERVICE_SMTP);
    }
    sc_prefix q;
    sc_error err;
    if (!CHECK(sc_parse_cidr(query, strlen(query), NULL, &q, &err) == SC_OK, "query %s", query))
        goto out;
    churn c = {.tab = tab, .addr = parse_addr(churning)};
    pthread_t th;
    pthread_create(&th, NULL, churn_main, &c);
    long wrong = 0;
    uint64_t first = want;
    for (long i = 0; i < counts; i++) {
        uint64_t n = 0;
        sc_count(tab, &q, SC_SERVICE_SMTP, &n);
        if (n != want && wrong++ == 0) first = n;
    }
    atomic_store(&c.stop, true);
    pthread_join(th, NULL);
    CHECK(wrong == 0, "%s while %s churns: %ld of %ld counts wrong, first %llu, want %llu", query,
          churning, wrong, counts, (unsigned long long)first, (unsigned long long)want);
out:
    sc_table_free(tab);
}

static void test_counts_of_a_neighbour_stay_exact_while_an_address_churns(void)
{
    long counts = ops_from_env() * 5;
    /* 10.0.0.1 is an inline leaf in a dense /16's node; 10.0.0.2 pairs with it. */
    static const char *const dense[] = {"10.0.0.1", "10.0.1.1"};
    neighbour_churns(dense, 2, "10.0.0.2", "10.0.0.1/32", 1, counts);
    neighbour_churns(dense, 2, "10.0.0.2", "10.0.0.0/31", 1, counts);
    /* 10.1.0.1 alone in its /16; 10.1.5.5 splits the top slot's leaf. */
    static const char *const alone[] = {"10.1.0.1"};
    neighbour_churns(alone, 1, "10.1.5.5", "10.1.0.1/32", 1, counts);
    neighbour_churns(alone, 1, "10.1.5.5", "10.1.0.0/24", 1, counts);
    /* Two IPv6 addresses under a node of depth 14; the churning one parts
     * above it, so the node is moved down into an N2 and back up again. */
    static const char *const deep[] = {"2001:db8::1", "2001:db8::2"};
    neighbour_churns(deep, 2, "2001:db8:8000::1", "2001:db8::/112", 2, counts);
    neighbour_churns(deep, 2, "2001:db8:8000::1", "2001:db8::1/128", 1, counts);
}

int main(void)
{
    make_pool();
    RUN(test_fast_concurrent_counts_match_ref_replay);
    RUN(test_ref_concurrent_counts_match_its_own_replay);
    RUN(test_counts_of_a_neighbour_stay_exact_while_an_address_churns);
    return check_done();
}
