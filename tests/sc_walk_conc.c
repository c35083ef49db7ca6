/*
 * sc_walk_conc.c: `test_walk concurrency`, walks and rankings while
 * writers open and close (SPEC "Concurrency", sesscount.h sc_walk_tree).
 *
 * Writer threads open and close sessions of a small universe of addresses
 * (clustered: /24s of one /16 where fast keeps pairs and nodes, a /8
 * spread over /16s, an IPv6 /64 and /48), each closing only what it
 * opened, so every update must succeed.  Reader threads walk roots and
 * rank lengths meanwhile.  The run goes in phases; between two, with no
 * writer running, every walk and ranking must equal the brute-force
 * model's (sc_walk_model.c) exactly.
 *
 * THE BOUNDS.  One counter `seq`, stepped with seq_cst read-modify-writes,
 * orders everything: a writer takes s = seq++ before an update and
 * d = seq++ after it; a reader takes ws = seq++ before a walk and
 * we = seq++ after it.  An update with d < ws happens before the walk (the
 * walk's step of seq reads from the writer's, which releases the update),
 * so the walk must see it; an update with s > we happens after the walk,
 * so the walk cannot see it; any other overlaps the walk.  So for each
 * prefix P the walk lists with count c, and the phase's logs:
 *     base(P) - closes overlapping(P)  <=  c  <=  base(P) + opens overlapping(P)
 * with base(P) the sessions under P at the phase's start plus the updates
 * done before ws: SPEC's "between (value before - closes running) and
 * (value before + opens running)" with the whole walk as the count's time.
 * The same holds for each prefix a ranking lists.  The readers also check
 * each answer's shape at once: a walk's prefixes strictly in order, under
 * the root, host bits clear, counts above zero; a ranking's counts never
 * rising, ties in address order, at most n of them.
 *
 * NEIGHBOURS.  Random writers rarely hit the instant where a slot's child
 * word has just been widened (a leaf made a pair or an N2) and its counter
 * raised for the new address; a walk that took that counter for the old
 * leaf would list one session too many.  So a second test opens a few
 * fixed addresses and has one thread open and close an address right next
 * to them while walks and rankings run back to back: every prefix listed
 * without the churning address must count exactly its fixed sessions.
 *
 * SC_CONC_OPS sets the size of the run (smaller under the sanitizers).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sc_check.h"
#include "sc_internal.h"
#include "sc_rng.h"
#include "sc_walk_model.h"
#include "sc_walk_parts.h"

enum { U = 96, NSVC = 2, WRITERS = 3, READERS = 2, PHASES = 8, HELD = 256,
       RES_CAP = 200, ELEM_CAP = 2 * U + 2, MIN_READS = 40 };

static sc_addr uni[U];

typedef struct logent { uint16_t who; uint8_t svc; bool open; uint64_t s, d; } logent;

typedef struct query {
    bool top;
    sc_prefix root;      /* walk */
    int family;          /* top */
    unsigned len;
    size_t n;
    sc_service svc;
    const char *text;
} query;

static query queries[16];
static size_t nqueries;

typedef struct result {
    unsigned q;
    uint64_t ws, we;
    size_t n;
    sc_branch b[ELEM_CAP];
} result;

typedef struct shared {
    sc_table *tab;
    _Atomic uint64_t seq;
    atomic_bool stop;
    atomic_long reads;     /* answers checked this phase */
    long ops;              /* per writer per phase, at least */
    double deadline;
    int state[U][NSVC];    /* open sessions at the phase's start */
} shared;

typedef struct writer {
    shared *sh;
    uint64_t rng;
    struct { uint16_t who; sc_service svc; } held[HELD];
    size_t nheld;
    logent *log;
    size_t nlog, cap;
    long errors;
    char first_error[160];
} writer;

typedef struct reader {
    shared *sh;
    uint64_t rng;
    result *res;
    size_t nres;
    long answers, shape_errors;
    char first_error[400];
} reader;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static sc_addr addr(int family, const uint8_t *b)
{
    sc_addr a = {.family = (uint8_t)family};
    memcpy(a.bytes, b, family == SC_INET4 ? 4 : 16);
    return wm_addr(&a);
}

static sc_prefix cidr(const char *text)
{
    sc_prefix p;
    sc_error err;
    if (sc_parse_cidr(text, strlen(text), NULL, &p, &err) != SC_OK) abort();   /* a test bug */
    return p;
}

static void make_universe(void)
{
    uint64_t r = 99;
    for (int i = 0; i < U; i++) {
        uint64_t x = sc_splitmix(&r), y = sc_splitmix(&r);
        uint8_t b[16] = {0};
        int fam = SC_INET4;
        if (i < 40) memcpy(b, (uint8_t[]){198, 51, (uint8_t)(100 + x % 4), (uint8_t)(x >> 8 & 63)}, 4);
        else if (i < 52) memcpy(b, (uint8_t[]){10, (uint8_t)(x % 4), (uint8_t)(x >> 8), (uint8_t)(x >> 16)}, 4);
        else if (i < 56) memcpy(b, (uint8_t[]){203, 0, 113, (uint8_t)(i - 51)}, 4);
        else {
            fam = SC_INET6;
            memcpy(b, (uint8_t[]){0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 7}, 8);
            if (i < 68) b[14] = (uint8_t)(x % 4), b[15] = (uint8_t)(0x40 + (x >> 8) % 2);
            else if (i < 80) b[15] = (uint8_t)x;
            else if (i < 92) b[5] = 1, b[6] = 0, b[7] = 0, memcpy(b + 8, &y, 8);
            else memcpy(b, &x, 8), memcpy(b + 8, &y, 8);
        }
        uni[i] = addr(fam, b);
    }
    static const struct { const char *root; sc_service svc; } walks[] = {
        {"0.0.0.0/0", 0},         {"::/0", 0},           {"198.51.100.0/22", 0},
        {"198.51.100.0/24", 1},   {"198.51.100.0/26", 0}, {"10.0.0.0/8", 0},
        {"2001:db8::/32", 1},     {"2001:db8:0:7::/64", 0},
    };
    static const struct { int family; unsigned len; size_t n; sc_service svc; const char *text; } tops[] = {
        {SC_INET4, 24, 5, 0, "top IPv4 /24 5"},   {SC_INET4, 32, 10, 1, "top IPv4 /32 10"},
        {SC_INET6, 64, 3, 0, "top IPv6 /64 3"},   {SC_INET_ANY, 16, 4, 0, "top any /16 4"},
        {SC_INET_ANY, 0, 2, 1, "top any /0 2"},   {SC_INET6, 128, 8, 0, "top IPv6 /128 8"},
        {SC_INET4, 12, 3, 0, "top IPv4 /12 3"},
    };
    for (size_t i = 0; i < sizeof walks / sizeof walks[0]; i++)
        queries[nqueries++] = (query){.root = cidr(walks[i].root), .svc = walks[i].svc,
                                      .text = walks[i].root};
    for (size_t i = 0; i < sizeof tops / sizeof tops[0]; i++)
        queries[nqueries++] = (query){.top = true, .family = tops[i].family, .len = tops[i].len,
                                      .n = tops[i].n, .svc = tops[i].svc, .text = tops[i].text};
}

/* ---------------------------------------------------------------- writers */

static void logged(writer *w, uint16_t who, sc_service svc, bool open)
{
    shared *sh = w->sh;
    sc_addr a = uni[who];
    if (a.family == SC_INET4 && who % 3 == 0) {   /* the IPv4-mapped spelling */
        a = (sc_addr){.family = SC_INET6, .bytes = {[10] = 0xff, [11] = 0xff}};
        memcpy(a.bytes + 12, uni[who].bytes, 4);
    }
    uint64_t s = atomic_fetch_add(&sh->seq, 1);
    sc_status st = open ? sc_open(sh->tab, &a, svc) : sc_close(sh->tab, &a, svc);
    uint64_t d = atomic_fetch_add(&sh->seq, 1);
    if (st != SC_OK && w->errors++ == 0)
        snprintf(w->first_error, sizeof w->first_error, "%s of universe[%u] svc %u: %s",
                 open ? "open" : "close", who, svc, sc_status_name(st));
    if (w->nlog == w->cap) {
        w->cap = w->cap ? w->cap * 2 : 4096;
        w->log = realloc(w->log, w->cap * sizeof *w->log);
        if (!w->log) abort();
    }
    w->log[w->nlog++] = (logent){who, (uint8_t)svc, open, s, d};
}

static void *writer_main(void *arg)
{
    writer *w = arg;
    shared *sh = w->sh;
    for (long i = 0; i < sh->ops || (atomic_load(&sh->reads) < MIN_READS && now_s() < sh->deadline);
         i++) {
        uint64_t x = sc_splitmix(&w->rng);
        if (w->nheld < HELD && (w->nheld == 0 || x % 2)) {
            uint16_t who = (uint16_t)((x >> 8) % U);
            sc_service svc = (x >> 20) % 4 ? 0 : 1;
            logged(w, who, svc, true);
            w->held[w->nheld].who = who;
            w->held[w->nheld++].svc = svc;
        } else {
            size_t k = (size_t)((x >> 8) % w->nheld);
            logged(w, w->held[k].who, w->held[k].svc, false);
            w->held[k] = w->held[--w->nheld];
        }
    }
    return NULL;
}

/* ---------------------------------------------------------------- readers */

static void shape_error(reader *r, const query *q, const char *what, const sc_branch *b)
{
    char t[WM_TEXT_MAX] = "";
    if (b) wm_text(b, t);
    if (r->shape_errors++ == 0)
        snprintf(r->first_error, sizeof r->first_error, "%s: %s %s", q->text, what, t);
}

/* The answer's shape (see the top of the file). */
static void check_shape(reader *r, const query *q, const result *res)
{
    for (size_t i = 0; i < res->n; i++) {
        const sc_branch *b = &res->b[i];
        sc_prefix clean = wm_prefix(&b->prefix);
        if (b->count == 0) shape_error(r, q, "a count of zero", b);
        if (wm_order(&clean, &b->prefix) != 0) shape_error(r, q, "host bits set or mapped", b);
        if (!q->top) {
            sc_addr at = b->prefix.addr;
            if (b->prefix.len < q->root.len || !wm_in(&at, &q->root))
                shape_error(r, q, "a prefix not under the root", b);
            if (i > 0 && wm_order(&res->b[i - 1].prefix, &b->prefix) >= 0)
                shape_error(r, q, "out of order", b);
        } else {
            if (b->prefix.len != q->len) shape_error(r, q, "a prefix of another length", b);
            if (q->family != SC_INET_ANY && b->prefix.addr.family != q->family)
                shape_error(r, q, "a prefix of another family", b);
            if (i > 0 && (res->b[i - 1].count < b->count ||
                          (res->b[i - 1].count == b->count &&
                           wm_order(&res->b[i - 1].prefix, &b->prefix) >= 0)))
                shape_error(r, q, "out of rank", b);
        }
    }
}

static void *reader_main(void *arg)
{
    reader *r = arg;
    shared *sh = r->sh;
    result scratch;
    while (!atomic_load(&sh->stop)) {
        unsigned qi = (unsigned)(sc_splitmix(&r->rng) % nqueries);
        const query *q = &queries[qi];
        result *res = r->nres < RES_CAP ? &r->res[r->nres] : &scratch;
        res->q = qi;
        sc_status st;
        res->ws = atomic_fetch_add(&sh->seq, 1);
        if (q->top) {
            st = sc_top(sh->tab, q->family, q->len, q->svc, q->n, res->b, &res->n);
        } else {
            walk_list l = {res->b, ELEM_CAP, 0, 0};
            st = sc_walk_tree(sh->tab, &q->root, q->svc, walk_list_add, &l);
            res->n = l.n;
        }
        res->we = atomic_fetch_add(&sh->seq, 1);
        if (st != SC_OK || res->n > ELEM_CAP) {
            shape_error(r, q, st != SC_OK ? sc_status_name(st) : "too many prefixes", NULL);
            continue;
        }
        check_shape(r, q, res);
        r->answers++;
        if (res != &scratch) {
            r->nres++;
            atomic_fetch_add(&sh->reads, 1);
        }
    }
    return NULL;
}

/* ---------------------------------------------------------------- checks */

typedef struct bounds_report { long checked, violations; char first[400]; } bounds_report;

/* Holds every count of res to the bounds the writers' logs prove. */
static void check_bounds(const shared *sh, const writer *ws, const result *res, bounds_report *rep)
{
    const query *q = &queries[res->q];
    long base[U], mo[U] = {0}, mc[U] = {0};
    for (int i = 0; i < U; i++) base[i] = sh->state[i][q->svc];
    for (int w = 0; w < WRITERS; w++)
        for (size_t k = 0; k < ws[w].nlog; k++) {
            const logent *e = &ws[w].log[k];
            if (e->svc != q->svc) continue;
            if (e->d < res->ws) base[e->who] += e->open ? 1 : -1;
            else if (e->s < res->we) ++*(e->open ? &mo[e->who] : &mc[e->who]);
        }
    for (size_t j = 0; j < res->n; j++) {
        const sc_branch *b = &res->b[j];
        long lo = 0, hi = 0;
        for (int i = 0; i < U; i++)
            if (wm_in(&uni[i], &b->prefix)) lo += base[i] - mc[i], hi += base[i] + mo[i];
        rep->checked++;
        if ((long)b->count >= lo && (long)b->count <= hi) continue;
        if (rep->violations++ == 0) {
            char t[WM_TEXT_MAX];
            wm_text(b, t);
            snprintf(rep->first, sizeof rep->first,
                     "%s (svc %u): %s, bounds [%ld, %ld] (seq %llu..%llu)", q->text, q->svc, t,
                     lo, hi, (unsigned long long)res->ws, (unsigned long long)res->we);
        }
    }
}

/* With no writer running: every answer is the model's. */
static void check_quiescent(shared *sh, const char *impl, int phase)
{
    static wm_session s[U * 1024];
    size_t ns = 0;
    for (int i = 0; i < U; i++)
        for (int v = 0; v < NSVC; v++)
            for (int k = 0; k < sh->state[i][v] && ns < sizeof s / sizeof s[0]; k++)
                s[ns++] = (wm_session){uni[i], (sc_service)v};
    for (size_t qi = 0; qi < nqueries; qi++) {
        const query *q = &queries[qi];
        sc_branch got[ELEM_CAP], want[ELEM_CAP];
        size_t ng = 0, nw;
        sc_status st;
        if (q->top) {
            st = sc_top(sh->tab, q->family, q->len, q->svc, q->n, got, &ng);
            nw = wm_top(s, ns, q->family, q->len, q->svc, q->n, want);
        } else {
            walk_list l = {got, ELEM_CAP, 0, 0};
            st = sc_walk_tree(sh->tab, &q->root, q->svc, walk_list_add, &l);
            ng = l.n;
            nw = wm_walk(s, ns, &q->root, q->svc, want, ELEM_CAP);
        }
        size_t i = 0;
        while (i < ng && i < nw && wm_same(&got[i], &want[i], 1)) i++;
        char tg[WM_TEXT_MAX] = "(end)", tw[WM_TEXT_MAX] = "(end)";
        if (i < ng && i < ELEM_CAP) wm_text(&got[i], tg);
        if (i < nw) wm_text(&want[i], tw);
        CHECK(st == SC_OK && ng == nw && i == nw,
              "%s, quiescent after phase %d: %s (svc %u): %s, %zu prefixes, the model %zu; "
              "entry %zu: %s, want %s (%zu sessions open)", impl, phase, q->text, q->svc,
              sc_status_name(st), ng, nw, i, tg, tw, ns);
    }
}

static void conc_run(const sc_impl *impl, long ops_per_writer)
{
    shared *sh = calloc(1, sizeof *sh);
    writer ws[WRITERS];
    reader rs[READERS];
    memset(ws, 0, sizeof ws);
    memset(rs, 0, sizeof rs);
    if (!sh || !CHECK(sc_table_new(impl, NULL, &sh->tab) == SC_OK, "%s table", sc_impl_name(impl)))
        goto out;
    sh->ops = ops_per_writer / PHASES;
    for (int w = 0; w < WRITERS; w++) ws[w] = (writer){.sh = sh, .rng = 1000u + (uint64_t)w};
    for (int r = 0; r < READERS; r++) {
        rs[r] = (reader){.sh = sh, .rng = 2000u + (uint64_t)r};
        rs[r].res = malloc(RES_CAP * sizeof *rs[r].res);
        if (!rs[r].res) abort();
    }
    bounds_report rep = {0};
    long answers = 0;
    double t0 = now_s();
    for (int phase = 0; phase < PHASES; phase++) {
        atomic_store(&sh->stop, false);
        atomic_store(&sh->reads, 0);
        sh->deadline = now_s() + 60;
        for (int w = 0; w < WRITERS; w++) ws[w].nlog = 0;
        for (int r = 0; r < READERS; r++) rs[r].nres = 0;
        pthread_t th[WRITERS + READERS];
        for (int r = 0; r < READERS; r++)
            if (pthread_create(&th[WRITERS + r], NULL, reader_main, &rs[r]) != 0) abort();
        for (int w = 0; w < WRITERS; w++)
            if (pthread_create(&th[w], NULL, writer_main, &ws[w]) != 0) abort();
        for (int w = 0; w < WRITERS; w++) pthread_join(th[w], NULL);
        atomic_store(&sh->stop, true);
        for (int r = 0; r < READERS; r++) pthread_join(th[WRITERS + r], NULL);
        for (int r = 0; r < READERS; r++)
            for (size_t k = 0; k < rs[r].nres; k++) check_bounds(sh, ws, &rs[r].res[k], &rep);
        for (int w = 0; w < WRITERS; w++)
            for (size_t k = 0; k < ws[w].nlog; k++)
                sh->state[ws[w].log[k].who][ws[w].log[k].svc] += ws[w].log[k].open ? 1 : -1;
        check_quiescent(sh, sc_impl_name(impl), phase);
    }
    for (int r = 0; r < READERS; r++) {
        answers += rs[r].answers;
        CHECK(rs[r].shape_errors == 0, "%s: reader %d: %ld answers of a wrong shape, first: %s",
              sc_impl_name(impl), r, rs[r].shape_errors, rs[r].first_error);
    }
    for (int w = 0; w < WRITERS; w++) {
        CHECK(ws[w].errors == 0, "%s: writer %d: %ld updates failed, first: %s",
              sc_impl_name(impl), w, ws[w].errors, ws[w].first_error);
        while (ws[w].nheld > 0) {   /* close what is left: both walks then list nothing */
            ws[w].nheld--;
            sc_addr a = uni[ws[w].held[ws[w].nheld].who];
            CHECK(sc_close(sh->tab, &a, ws[w].held[ws[w].nheld].svc) == SC_OK, "final close");
        }
    }
    printf("   %s: %.2f s, %d phases: %ld answers during updates, %ld counts held to their "
           "bounds\n", sc_impl_name(impl), now_s() - t0, PHASES, answers, rep.checked);
    CHECK(rep.violations == 0, "%s: %ld of %ld counts out of bounds, first: %s",
          sc_impl_name(impl), rep.violations, rep.checked, rep.first);
    CHECK(rep.checked >= 100, "%s: only %ld counts checked during updates", sc_impl_name(impl),
          rep.checked);
    memset(sh->state, 0, sizeof sh->state);
    check_quiescent(sh, sc_impl_name(impl), PHASES);
out:
    for (int w = 0; w < WRITERS; w++) free(ws[w].log);
    for (int r = 0; r < READERS; r++) free(rs[r].res);
    if (sh) sc_table_free(sh->tab);
    free(sh);
}

/* ---------------------------------------------------------------- neighbours */

typedef struct churn {
    sc_table *tab;
    sc_addr addr;             /* opened and closed over and over */
    atomic_bool stop;
    long failures;
} churn;

static void *churn_main(void *arg)
{
    churn *c = arg;
    while (!atomic_load(&c->stop)) {
        c->failures += sc_open(c->tab, &c->addr, SC_SERVICE_SMTP) != SC_OK;
        c->failures += sc_close(c->tab, &c->addr, SC_SERVICE_SMTP) != SC_OK;
    }
    return NULL;
}

/* Opens `fixed` once each, then walks `root` and ranks /32s or /128s while
 * another thread opens and closes `churning` right beside them: the shapes
 * where a slot's child word widens and narrows under a walk (a leaf
 * becoming a pair and back, a leaf or node parting into an N2 and the N2
 * collapsing again).  A prefix listed without the churning address holds
 * only fixed sessions, so SPEC's bounds leave one right count: the fixed
 * ones under it; one with it may hold one more. */
static void neighbour_churns(const char *const *fixed, size_t nfixed, const char *churning,
                             const char *root_text, long walks)
{
    sc_table *tab;
    if (!CHECK(sc_table_new(sc_impl_fast(), NULL, &tab) == SC_OK, "table")) return;
    sc_addr fx[4];
    for (size_t i = 0; i < nfixed; i++) {
        sc_error err;
        if (sc_parse_addr(fixed[i], strlen(fixed[i]), &fx[i], &err) != SC_OK) abort();
        if (!CHECK(sc_open(tab, &fx[i], SC_SERVICE_SMTP) == SC_OK, "open %s", fixed[i])) goto out;
    }
    churn c = {.tab = tab};
    sc_error err;
    if (sc_parse_addr(churning, strlen(churning), &c.addr, &err) != SC_OK) abort();
    sc_prefix root = cidr(root_text);
    int family = root.addr.family;
    pthread_t th;
    if (pthread_create(&th, NULL, churn_main, &c) != 0) abort();
    long wrong = 0, listed = 0;
    char first[160] = "";
    for (long k = 0; k < walks; k++) {
        sc_branch b[16];
        walk_list l = {b, 16, 0, 0};
        size_t n = 0;
        /* A ranking walks the whole family (a pass over the 2^16 /16s):
         * one in 16, so that most tries are quick walks. */
        bool top = k % 16 == 15;
        sc_status st = top ? sc_top(tab, family, family == SC_INET4 ? 32 : 128, SC_SERVICE_SMTP,
                                    16, b, &n)
                           : sc_walk_tree(tab, &root, SC_SERVICE_SMTP, walk_list_add, &l);
        if (!top) n = l.n < 16 ? l.n : 16;
        for (size_t i = 0; i < n && st == SC_OK; i++) {
            uint64_t lo = 0;
            for (size_t j = 0; j < nfixed; j++) lo += wm_in(&fx[j], &b[i].prefix);
            uint64_t hi = lo + wm_in(&c.addr, &b[i].prefix);
            listed++;
            if (b[i].count >= lo && b[i].count <= hi) continue;
            if (wrong++ == 0) wm_text(&b[i], first);
        }
        if (st != SC_OK && wrong++ == 0) snprintf(first, sizeof first, "%s", sc_status_name(st));
    }
    atomic_store(&c.stop, true);
    pthread_join(th, NULL);
    CHECK(c.failures == 0, "%s churning: %ld opens or closes failed", churning, c.failures);
    CHECK(wrong == 0 && listed >= walks,
          "walks of %s and /32 or /128 rankings while %s churns: %ld of %ld listed counts "
          "out of bounds, first %s", root_text, churning, wrong, listed, first);
out:
    sc_table_free(tab);
}

static void test_walks_next_to_a_churning_address_stay_exact(void)
{
    long walks = walk_env("SC_CONC_OPS", 200000) * 2;   /* per shape */
    /* 10.0.0.1 is an inline leaf in a dense /16's node; 10.0.0.2 pairs with it. */
    static const char *const dense[] = {"10.0.0.1", "10.0.1.1"};
    neighbour_churns(dense, 2, "10.0.0.2", "10.0.0.0/16", walks);
    neighbour_churns(dense, 2, "10.0.0.2", "10.0.0.0/24", walks);
    /* 10.1.0.1 alone in its /16; 10.1.5.5 splits the top slot's leaf. */
    static const char *const alone[] = {"10.1.0.1"};
    neighbour_churns(alone, 1, "10.1.5.5", "10.1.0.0/16", walks);
    neighbour_churns(alone, 1, "10.1.5.5", "0.0.0.0/0", walks / 8);   /* 2^16 /16s a walk */
    /* A node of depth 14 the churning address parts above (moved down
     * into an N2 and back up). */
    static const char *const deep[] = {"2001:db8::1", "2001:db8::2"};
    neighbour_churns(deep, 2, "2001:db8:8000::1", "2001:db8::/32", walks);
}

static void test_fast_walks_stay_in_bounds_while_writers_run(void)
{
    conc_run(sc_impl_fast(), walk_env("SC_CONC_OPS", 200000) / 2);
}

static void test_ref_walks_stay_in_bounds_while_writers_run(void)
{
    conc_run(sc_impl_ref(), walk_env("SC_CONC_OPS", 200000) / 20);
}

int walk_conc_tests(void)
{
    make_universe();
    RUN(test_fast_walks_stay_in_bounds_while_writers_run);
    RUN(test_ref_walks_stay_in_bounds_while_writers_run);
    RUN(test_walks_next_to_a_churning_address_stay_exact);
    return check_done();
}
