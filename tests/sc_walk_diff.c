/*
 * sc_walk_diff.c: `test_walk diff`, the walks' differential.  A seeded
 * random sequence of opens and closes runs on a fast table and a ref table
 * at once, and the test keeps its own list of the open sessions.  After
 * every K operations (and at the end) it walks several roots and ranks
 * several lengths in one service on both tables, and holds fast's answers,
 * ref's and those of the brute-force model (sc_walk_model.c, computed
 * from the test's own list and sharing no code with common/) to be the
 * same, prefix by prefix and count by count (each agreement is one
 * check).  The first difference stops the run, with the seed, the op
 * index, the question and the three answers' first differing entry.
 *
 * The addresses are clustered so that walks are deep and fast's nodes take
 * every shape: a hot IPv4 /24 of up to 200 addresses (its node grows to an
 * N256 and shrinks back), more of its /16, IPv4 peers anywhere (some
 * opened through their IPv4-mapped spelling), an IPv6 /64 with addresses a
 * last byte apart (pairs) and a dense last byte, an IPv6 /48, IPv6 peers
 * anywhere and "twins" holding an IPv4 address's bytes.  The open
 * population follows a target that moves between 0 and MAX_OPEN, so trees
 * fill, churn and drain.  Roots: 0.0.0.0/0, ::/0, ::ffff:0:0/96 handed over
 * raw (the IPv4 /0), and two random prefixes of random length around open
 * addresses (IPv4 ones sometimes handed over in their mapped spelling).
 * Rankings: a random family (SC_INET4, SC_INET6, SC_INET_ANY), length and n.
 *
 * SC_WALK_OPS sets the number of operations (400,000 by default).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sc_check.h"
#include "sc_internal.h"
#include "sc_fast_inspect.h"
#include "sc_rng.h"
#include "sc_walk_model.h"
#include "sc_walk_parts.h"

enum { POOL = 700, MAX_OPEN = 1200, EVERY = 1000, CAP = 4096, NSVC = 3 };

typedef struct run {
    uint64_t seed, rng;
    sc_table *fast, *ref;
    sc_addr pool[POOL];            /* as the model keeps them */
    wm_session open[MAX_OPEN + 1];
    size_t nopen;
    size_t op;                     /* ops so far */
    bool failed;
    /* what the run reached */
    size_t walks, long_walks, tops, prefixes;
    size_t shapes_max[SC_SHAPES];
    sc_branch f[CAP], r[CAP], m[CAP];   /* fast's, ref's and the model's answers */
} run;

static uint64_t rnd(run *R) { return sc_splitmix(&R->rng); }
static unsigned below(run *R, unsigned n) { return (unsigned)(rnd(R) % n); }

static sc_addr make(int family, const uint8_t *b)
{
    sc_addr a = {.family = (uint8_t)family};
    memcpy(a.bytes, b, family == SC_INET4 ? 4 : 16);
    return wm_addr(&a);
}

static void make_pool(run *R)
{
    for (unsigned i = 0; i < POOL; i++) {
        uint8_t b[16] = {0};
        uint64_t x = rnd(R), y = rnd(R);
        int fam = SC_INET6;
        if (i < 200) {                 /* the hot /24: distinct last bytes */
            memcpy(b, (uint8_t[]){10, 1, 2, (uint8_t)(i * 37)}, 4), fam = SC_INET4;
        } else if (i < 300) {          /* the rest of its /16 */
            memcpy(b, (uint8_t[]){10, 1, (uint8_t)(x % 16), (uint8_t)(x >> 8)}, 4), fam = SC_INET4;
        } else if (i < 360) {          /* anywhere */
            memcpy(b, &x, 4), fam = SC_INET4;
        } else if (i < 440) {          /* a /64: pairs (byte 14 of 8, byte 15 of 2) */
            memcpy(b, (uint8_t[]){0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 7}, 8);
            b[13] = 5, b[14] = (uint8_t)(x % 8), b[15] = (uint8_t)(x >> 8 & 1 ? 0x41 : 0x40);
        } else if (i < 520) {          /* the same /64: a dense last byte, and wide bits */
            memcpy(b, (uint8_t[]){0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 7}, 8);
            if (i % 2) b[15] = (uint8_t)x;
            else memcpy(b + 8, &y, 8);
        } else if (i < 600) {          /* a /48 */
            memcpy(b, (uint8_t[]){0x20, 0x01, 0x0d, 0xb8, 0, 5}, 6);
            memcpy(b + 6, &y, 2);
            b[15] = (uint8_t)x;
        } else if (i < 680) {          /* anywhere */
            memcpy(b, &x, 8);
            memcpy(b + 8, &y, 8);
        } else {                       /* twins: an IPv4 address's bytes, as IPv6 */
            memcpy(b, (uint8_t[]){10, 1, 2, (uint8_t)x}, 4);
        }
        R->pool[i] = make(fam, b);
    }
}

/* The address as handed to the tables: IPv4 sometimes IPv4-mapped. */
static sc_addr spelled(run *R, const sc_addr *a)
{
    if (a->family != SC_INET4 || below(R, 4)) return *a;
    sc_addr m = {.family = SC_INET6, .bytes = {[10] = 0xff, [11] = 0xff}};
    memcpy(m.bytes + 12, a->bytes, 4);
    return m;
}

static void fail(run *R, const char *what, const char *detail)
{
    R->failed = true;
    CHECK(0, "seed %llu, op %zu: %s: %s", (unsigned long long)R->seed, R->op, what, detail);
}

static void do_open(run *R)
{
    static const sc_service svcs[10] = {0, 0, 0, 0, 0, 0, 1, 1, 1, 2};
    unsigned i = below(R, POOL);
    sc_service svc = svcs[below(R, 10)];
    sc_addr a = spelled(R, &R->pool[i]);
    sc_status sf = sc_open(R->fast, &a, svc), sr = sc_open(R->ref, &a, svc);
    if (sf != SC_OK || sr != SC_OK) {
        char d[160];
        snprintf(d, sizeof d, "open of pool[%u] svc %u: fast %s, ref %s", i, svc,
                 sc_status_name(sf), sc_status_name(sr));
        fail(R, "open", d);
        return;
    }
    R->open[R->nopen++] = (wm_session){R->pool[i], svc};
}

static void do_close(run *R, bool bad)
{
    sc_addr a;
    sc_service svc;
    size_t k = 0;
    if (bad) {   /* an IPv6 twin in the Control service: opened rarely, never twice */
        a = R->pool[680 + below(R, POOL - 680)];
        svc = 2;
        for (size_t j = 0; j < R->nopen; j++)
            if (R->open[j].svc == svc && wm_order(&(sc_prefix){.addr = R->open[j].addr},
                                                  &(sc_prefix){.addr = a}) == 0)
                return;
    } else {
        k = below(R, (unsigned)R->nopen);
        a = spelled(R, &R->open[k].addr);
        svc = R->open[k].svc;
    }
    sc_status want = bad ? SC_E_NOT_OPEN : SC_OK;
    sc_status sf = sc_close(R->fast, &a, svc), sr = sc_close(R->ref, &a, svc);
    if (sf != want || sr != want) {
        char d[160];
        snprintf(d, sizeof d, "%s close svc %u: fast %s, ref %s, want %s", bad ? "bad" : "a",
                 svc, sc_status_name(sf), sc_status_name(sr), sc_status_name(want));
        fail(R, "close", d);
        return;
    }
    if (!bad) R->open[k] = R->open[--R->nopen];
}

/* Compares the three answers (n* entries each); false and a report on the
 * first difference. */
static bool same(run *R, const char *question, size_t nf, size_t nr, size_t nm)
{
    size_t n = nf < nr ? nf : nr;
    n = n < nm ? n : nm;
    size_t i = 0;
    while (i < n && wm_same(&R->f[i], &R->r[i], 1) && wm_same(&R->f[i], &R->m[i], 1)) i++;
    if (i == n && nf == nr && nr == nm) return sc_check_pass();   /* one check an answer */
    char tf[WM_TEXT_MAX] = "(end)", tr[WM_TEXT_MAX] = "(end)", tm[WM_TEXT_MAX] = "(end)", d[512];
    if (i < nf) wm_text(&R->f[i], tf);
    if (i < nr) wm_text(&R->r[i], tr);
    if (i < nm) wm_text(&R->m[i], tm);
    snprintf(d, sizeof d,
             "fast %zu entries, ref %zu, model %zu (%zu sessions open); first difference at "
             "entry %zu: fast %s, ref %s, model %s",
             nf, nr, nm, R->nopen, i, tf, tr, tm);
    fail(R, question, d);
    return false;
}

static size_t walk_of(run *R, sc_table *t, const sc_prefix *root, sc_service svc, sc_branch *out)
{
    walk_list l = {out, CAP, 0, 0};
    sc_status st = sc_walk_tree(t, root, svc, walk_list_add, &l);
    if (st != SC_OK) {
        fail(R, "walk", sc_status_name(st));
        return 0;
    }
    return l.n <= CAP ? l.n : CAP + 1;   /* over CAP: differs from the model's */
}

static void check_walk(run *R, const sc_prefix *root, sc_service svc)
{
    char q[WM_TEXT_MAX + 64], rt[WM_TEXT_MAX];
    wm_prefix_text(root, rt);
    snprintf(q, sizeof q, "walk of %s%s, svc %u", rt,
             root->addr.family == SC_INET6 && root->len >= 96 ? " (raw)" : "", svc);
    sc_prefix model_root = wm_prefix(root);
    size_t nf = walk_of(R, R->fast, root, svc, R->f), nr = walk_of(R, R->ref, root, svc, R->r);
    size_t nm = wm_walk(R->open, R->nopen, &model_root, svc, R->m, CAP);
    if (R->failed || !same(R, q, nf, nr, nm)) return;
    R->walks++;
    R->long_walks += nf > 128;
    R->prefixes += nf;
}

static void check_top(run *R, int family, unsigned len, sc_service svc, size_t n)
{
    char q[96];
    snprintf(q, sizeof q, "top(family %d, len %u, svc %u, n %zu)", family, len, svc, n);
    size_t nf = 0, nr = 0;
    sc_status sf = sc_top(R->fast, family, len, svc, n, R->f, &nf);
    sc_status sr = sc_top(R->ref, family, len, svc, n, R->r, &nr);
    size_t nm = wm_top(R->open, R->nopen, family, len, svc, n, R->m);
    if (sf != SC_OK || sr != SC_OK) {
        char d[96];
        snprintf(d, sizeof d, "fast %s, ref %s", sc_status_name(sf), sc_status_name(sr));
        fail(R, q, d);
        return;
    }
    if (same(R, q, nf, nr, nm)) R->tops++;
}

/* A random prefix around an open address (or anywhere), sometimes in the
 * mapped spelling of an IPv4 one. */
static sc_prefix near_root(run *R)
{
    sc_addr a = R->nopen ? R->open[below(R, (unsigned)R->nopen)].addr : R->pool[below(R, POOL)];
    unsigned bits = a.family == SC_INET4 ? 32 : 128;
    sc_prefix p = {.addr = a, .len = (uint8_t)below(R, bits + 1)};
    if (a.family == SC_INET4 && below(R, 4) == 0) {
        p.addr = (sc_addr){.family = SC_INET6, .bytes = {[10] = 0xff, [11] = 0xff}};
        memcpy(p.addr.bytes + 12, a.bytes, 4);
        p.len = (uint8_t)(p.len + 96);
    }
    /* host bits clear, as sc_walk_tree asks: the model's own clearing */
    sc_prefix m = wm_prefix(&p);
    if (p.addr.family == SC_INET6 && m.addr.family == SC_INET4) {
        memcpy(p.addr.bytes + 12, m.addr.bytes, 4);
    } else {
        p = m;
    }
    return p;
}

static void checkpoint(run *R)
{
    sc_service svc = (sc_service)below(R, NSVC);
    sc_prefix roots[5] = {
        {.addr = {.family = SC_INET4}, .len = 0},
        {.addr = {.family = SC_INET6}, .len = 0},
        {.addr = {.family = SC_INET6, .bytes = {[10] = 0xff, [11] = 0xff}}, .len = 96},
        near_root(R),
        near_root(R),
    };
    for (int i = 0; i < 5 && !R->failed; i++) check_walk(R, &roots[i], svc);
    static const size_t ns[] = {0, 1, 3, 10, 100, CAP};
    for (int i = 0; i < 3 && !R->failed; i++) {
        int family = (int[]){SC_INET4, SC_INET6, SC_INET_ANY}[below(R, 3)];
        unsigned len = below(R, family == SC_INET4 ? 33 : 129);
        check_top(R, family, len, svc, ns[below(R, 6)]);
    }
    sc_census c;
    if (sc_fast_census(R->fast, &c))
        for (int s = 0; s < SC_SHAPES; s++)
            if (c.shape[s] > R->shapes_max[s]) R->shapes_max[s] = c.shape[s];
}

static void diff_run(uint64_t seed, size_t ops)
{
    run *R = calloc(1, sizeof *R);
    if (!R) abort();
    R->seed = R->rng = seed;
    make_pool(R);
    if (!CHECK(sc_table_new(sc_impl_fast(), NULL, &R->fast) == SC_OK &&
                   sc_table_new(sc_impl_ref(), NULL, &R->ref) == SC_OK,
               "tables"))
        goto out;
    size_t target = 0;
    for (R->op = 0; R->op < ops && !R->failed; R->op++) {
        if (R->op % 5000 == 0) target = below(R, MAX_OPEN + 1);
        unsigned x = below(R, 100);
        if (x < 2) do_close(R, true);
        else if (R->nopen < MAX_OPEN && (R->nopen == 0 || (R->nopen < target ? x < 80 : x < 20)))
            do_open(R);
        else do_close(R, false);
        if ((R->op + 1) % EVERY == 0) checkpoint(R);
    }
    while (R->nopen > 0 && !R->failed) do_close(R, false);   /* drain: both must walk nothing */
    if (!R->failed) checkpoint(R);
    printf("   seed %llu: %zu ops; %zu walks (%zu longer than one batch of fast's, %zu prefixes), "
           "%zu rankings agreed\n",
           (unsigned long long)seed, R->op, R->walks, R->long_walks, R->prefixes, R->tops);
    printf("   most child words of each shape at once:");
    for (int s = 0; s < SC_SHAPES; s++) printf(" %s %zu", sc_shape_name(s), R->shapes_max[s]);
    printf("\n");
    if (!R->failed) {
        CHECK(R->long_walks > 0 && R->tops > 0, "seed %llu: %zu long walks, %zu rankings",
              (unsigned long long)seed, R->long_walks, R->tops);
        for (int s = 0; s < SC_SHAPES; s++)
            CHECK(R->shapes_max[s] > 0, "seed %llu: no %s in fast's trie at any checkpoint",
                  (unsigned long long)seed, sc_shape_name(s));
    }
out:
    sc_table_free(R->fast);
    sc_table_free(R->ref);
    free(R);
}

static void test_fast_ref_and_the_model_walk_and_rank_alike(void)
{
    size_t ops = (size_t)walk_env("SC_WALK_OPS", 400000);
    diff_run(1, ops / 2);
    diff_run(0x5eed0f5e55c0u, ops / 2);
}

int walk_diff_tests(void)
{
    RUN(test_fast_ref_and_the_model_walk_and_rank_alike);
    return check_done();
}
