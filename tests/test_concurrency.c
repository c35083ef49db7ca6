/*
 * test_concurrency.c: threads open, close and count on one table at once.
 *
 * Pins down SPEC "Concurrency" for the fast table (and, as a self-check, for
 * ref):
 *  - random writers: at quiescence every count equals ref's replay of the
 *    same operations; while they run, counts of every watched prefix
 *    (sc_watch.h: /0 to /128 over every counter path, three services) stay
 *    within their before/after bounds; after every session closes the
 *    table's bytes return exactly to what they were after a warm-up that
 *    made the same trees (the margin over an empty table: one top of 2^16
 *    slots plus the per-CPU short counters for each (service, family) ever
 *    used, kept so that the next session needs no allocation there);
 *  - closes on other CPUs than their opens: an opener pinned to one CPU
 *    hands every session to a closer pinned to the other, so a close lands
 *    on another counter stripe than its open and the stripes' sum dips
 *    below zero while counts run; the counting threads are interrupted at
 *    random instructions thousands of times a second (a timer signal whose
 *    handler sleeps) as a scheduler would preempt them, so a count often
 *    reads one stripe before and the next after many updates.  Every count
 *    stays within bounds, and bad closes (of sessions never open, in a /16
 *    where a few fixed sessions are) change no count, not even for a
 *    moment;
 *  - neighbours: a count of a prefix that no running update touches stays
 *    exact while a neighbouring address is opened and closed over and over,
 *    whatever the trie does around it.
 *
 * Threads only close sessions they (or their opener) opened, so every close
 * must succeed; bad closes use addresses nobody opens and must change
 * nothing.  SC_CONC_OPS sets the operations per writer (smaller under TSan).
 */
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sc_check.h"
#include "sc_rng.h"
#include "sc_watch.h"
#include "sesscount.h"

#define WRITERS 4
#define POOL 512
#define HELD_MAX 4096

typedef struct rng { uint64_t s; } rng;
static uint64_t next(rng *r) { return sc_splitmix(&r->s); }

typedef struct op { sc_addr addr; sc_service svc; bool open; } op;

/* The addresses: a hot IPv4 /24, an IPv6 /64, peers spread over many /16s
 * of both families, and IPv4-mapped spellings. */
static sc_addr pool[POOL];
static const sc_service services[3] = {SC_SERVICE_SMTP, SC_SERVICE_ECSTREAM, SC_SERVICE_CONTROL};

static sc_addr addr_of(int family, const uint8_t *bytes)
{
    sc_addr a;
    if (sc_addr_from_bytes(family, bytes, &a) != SC_OK) abort();   /* a test bug */
    return a;
}

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
        pool[i] = addr_of(fam, b);
    }
}

static sc_status update(sc_table *tab, watch_list *wl, const sc_addr *a, sc_service svc, bool open)
{
    watch_update(wl, a, svc, open, false);
    sc_status st = open ? sc_open(tab, a, svc) : sc_close(tab, a, svc);
    watch_update(wl, a, svc, open, true);
    return st;
}

/* ---- random writers, one counter, ref's replay */

typedef struct shared {
    sc_table *tab;
    watch_list wl;
    long ops_per_writer;
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

static void note_error(long *errors, char *first, size_t cap, const char *who, const char *what,
                       const sc_addr *a, sc_status st)
{
    if ((*errors)++) return;
    sc_prefix p;
    char text[SC_PREFIX_TEXT_MAX] = "?";
    if (sc_prefix_make(a, a->family == SC_INET4 ? 32 : 128, &p) == SC_OK)
        sc_format_prefix(&p, text, sizeof text);
    snprintf(first, cap, "%s: %s %s -> %s", who, what, text, sc_strerror(st));
}

static void do_update(writer *w, const sc_addr *a, sc_service svc, bool open)
{
    sc_status st = update(w->sh->tab, &w->sh->wl, a, svc, open);
    char who[16];
    snprintf(who, sizeof who, "writer %d", w->id);
    if (st != SC_OK)
        note_error(&w->errors, w->first_error, sizeof w->first_error, who,
                   open ? "open" : "close", a, st);
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
            sc_addr bad = addr_of(SC_INET4, (uint8_t[]){203, 0, 113, (uint8_t)(x >> 8)});
            sc_status st = sc_close(w->sh->tab, &bad, SC_SERVICE_SMTP);
            if (st != SC_E_NOT_OPEN)
                note_error(&w->errors, w->first_error, sizeof w->first_error, "writer",
                           "bad close", &bad, st);
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

static void *counter_main(void *arg)
{
    shared *sh = arg;
    while (atomic_load(&sh->writers_left) > 0) watch_check_all(&sh->wl, sh->tab);
    return NULL;
}

/* Replays every writer's log into a fresh ref table; NULL (and a failed
 * check) when a replayed op does not succeed. */
static sc_table *replay(writer *ws)
{
    sc_table *ref;
    if (!CHECK(sc_table_new(sc_impl_ref(), NULL, &ref) == SC_OK, "ref table")) return NULL;
    for (int w = 0; w < WRITERS; w++)
        for (long i = 0; i < ws[w].nlog; i++) {
            op *o = &ws[w].log[i];
            sc_status st = o->open ? sc_open(ref, &o->addr, o->svc) : sc_close(ref, &o->addr, o->svc);
            if (st != SC_OK) {   /* one check for the replay, not one per op */
                CHECK(st == SC_OK, "ref replay op %ld of writer %d: %s", i, w, sc_strerror(st));
                sc_table_free(ref);
                return NULL;
            }
        }
    return ref;
}

/* Every prefix length of every pool address, three services' trees. */
static void compare_with_ref(sc_table *tab, sc_table *ref, const char *impl)
{
    long mismatches = 0;
    for (int i = 0; i < POOL && mismatches < 5; i++) {
        unsigned max = pool[i].family == SC_INET4 ? 32 : 128;
        for (unsigned len = 0; len <= max; len++)
            for (int s = 0; s < 3; s++) {
                sc_prefix p;
                uint64_t a = 0, b = 0;
                sc_status sp = sc_prefix_make(&pool[i], len, &p);
                sc_status sa = sp == SC_OK ? sc_count(tab, &p, services[s], &a) : sp;
                sc_status sb = sp == SC_OK ? sc_count(ref, &p, services[s], &b) : sp;
                if ((sa != SC_OK || sb != SC_OK || a != b) && mismatches++ < 5) {
                    char text[SC_PREFIX_TEXT_MAX] = "?";
                    sc_format_prefix(&p, text, sizeof text);
                    CHECK(sa == SC_OK && sb == SC_OK && a == b,
                          "%s: quiescent count %s service %u: %llu (%s), ref replay %llu (%s)",
                          impl, text, services[s], (unsigned long long)a, sc_strerror(sa),
                          (unsigned long long)b, sc_strerror(sb));
                }
            }
    }
    CHECK(mismatches == 0, "%s: %ld quiescent counts differ from ref's replay", impl, mismatches);
}

/* Closes in tab whatever ref (the replay) still holds open. */
static void close_everything(sc_table *tab, sc_table *ref)
{
    for (int i = 0; i < POOL; i++)
        for (int s = 0; s < 3; s++)
            while (sc_close(ref, &pool[i], services[s]) == SC_OK)
                CHECK(sc_close(tab, &pool[i], services[s]) == SC_OK, "final close of pool[%d]", i);
}

/* Opens and closes one session of each service in the families the run
 * uses, so that their trees exist: the footprint sessions return to. */
static bool warm_up(sc_table *tab, const sc_addr *addrs, int naddrs)
{
    for (int i = 0; i < naddrs; i++)
        for (int s = 0; s < 3; s++)
            if (!CHECK(sc_open(tab, &addrs[i], services[s]) == SC_OK &&
                           sc_close(tab, &addrs[i], services[s]) == SC_OK,
                       "warm-up of pool[%d] service %u", i, services[s]))
                return false;
    return true;
}

static void run(const sc_impl *impl, long ops)
{
    sc_table *tab;
    if (!CHECK(sc_table_new(impl, NULL, &tab) == SC_OK, "%s table", sc_impl_name(impl))) return;
    shared sh = {.tab = tab, .ops_per_writer = ops, .writers_left = WRITERS};
    writer ws[WRITERS] = {{0}};
    if (!warm_up(tab, pool, 4) || !CHECK(watch_list_make(&sh.wl, services, 3), "watches"))
        goto out;
    size_t warm_bytes = sc_table_bytes(tab);
    pthread_t th[WRITERS + 1];
    for (int w = 0; w < WRITERS; w++) {
        ws[w] = (writer){.sh = &sh, .id = w, .log = malloc(sizeof(op) * (size_t)(ops + HELD_MAX))};
        if (!ws[w].log || pthread_create(&th[w], NULL, writer_main, &ws[w]) != 0) abort();
    }
    if (pthread_create(&th[WRITERS], NULL, counter_main, &sh) != 0) abort();
    for (int w = 0; w <= WRITERS; w++) pthread_join(th[w], NULL);

    for (int w = 0; w < WRITERS; w++)
        CHECK(ws[w].errors == 0, "%s: %ld unexpected statuses, first: %s", sc_impl_name(impl),
              ws[w].errors, ws[w].first_error);
    long counts = watch_counts(&sh.wl);
    CHECK(watch_violations(&sh.wl) == 0, "%s: %ld of %ld counts out of bounds, first: %s",
          sc_impl_name(impl), watch_violations(&sh.wl), counts, watch_first_violation(&sh.wl));
    CHECK(counts >= (long)sh.wl.n, "%s: only %ld counts checked during the run",
          sc_impl_name(impl), counts);
    printf("   %s: %ld counts of %zu watched prefixes checked\n", sc_impl_name(impl), counts,
           sh.wl.n);
    sc_table *ref = replay(ws);
    if (ref) {
        compare_with_ref(tab, ref, sc_impl_name(impl));
        close_everything(tab, ref);
        sc_table_free(ref);
        if (impl == sc_impl_fast()) /* ref keeps its grown array */
            CHECK(sc_table_bytes(tab) == warm_bytes, "%s: bytes after every close %zu, after warm-up %zu",
                  sc_impl_name(impl), sc_table_bytes(tab), warm_bytes);
    }
out:
    for (int w = 0; w < WRITERS; w++) free(ws[w].log);
    watch_list_free(&sh.wl);
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
/* ---- closes on other CPUs than their opens */

#define RING 256          /* sessions handed from opener to closer */
#define FIXED 10          /* Control sessions at 203.0.113.1-10, open throughout */

typedef struct handed { sc_addr a; sc_service svc; } handed;

typedef struct pinned {
    sc_table *tab;
    watch_list wl;
    long ops, min_rounds;
    double deadline;
    handed ring[RING];
    atomic_size_t head, tail;      /* opener writes head, closer tail */
    atomic_bool opener_done, stop;
    atomic_long rounds[2];         /* count passes per counting thread */
    atomic_long jolts;
    bool pinned;
} pinned;

typedef struct actor {
    pinned *pn;
    int cpu;                       /* -1: not pinned */
    long errors, misplaced, ops;
    char first_error[160];
} actor;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static bool pin_to(int cpu)
{
    if (cpu < 0) return false;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return pthread_setaffinity_np(pthread_self(), sizeof set, &set) == 0 && sched_getcpu() == cpu;
}

/* Every 256th op: is the thread still on its CPU? */
static void check_cpu(actor *ac)
{
    if (ac->pn->pinned && (ac->ops & 255) == 0 && sched_getcpu() != ac->cpu) ac->misplaced++;
}

/* A bad close of Control in 203.0.0.0/16, where only FIXED sessions are:
 * it must fail and change nothing. */
static void bad_close(actor *ac, uint64_t x)
{
    uint8_t third = x & 1 ? 113 : 200, fourth = (uint8_t)(FIXED + 1 + (x >> 8) % (255 - FIXED));
    sc_addr bad = addr_of(SC_INET4, (uint8_t[]){203, 0, third, fourth});
    sc_status st = sc_close(ac->pn->tab, &bad, SC_SERVICE_CONTROL);
    if (st != SC_E_NOT_OPEN)
        note_error(&ac->errors, ac->first_error, sizeof ac->first_error, "bad close", "close",
                   &bad, st);
}

/* Addresses where every counter path has sessions: 198.51.100.0/24 (the
 * /24's node, pairs), 198.51.96-103.x, 198.x.x.x and 2001:db8:0:7::/64. */
static handed draw(rng *r)
{
    uint64_t x = next(r), y = next(r);
    uint8_t b[16] = {198, 51, 100, (uint8_t)x};
    int fam = SC_INET4;
    unsigned kind = (unsigned)(y % 20);
    if (kind >= 10 && kind < 15) b[2] = (uint8_t)(96 + (x >> 8) % 8);
    if (kind >= 15 && kind < 17) memcpy(b + 1, &y, 3);
    if (kind >= 17) {
        memcpy(b, (uint8_t[]){0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 7}, 8);
        memcpy(b + 8, &x, 8);
        fam = SC_INET6;
    }
    return (handed){addr_of(fam, b), (x >> 40) % 10 < 7 ? SC_SERVICE_SMTP : SC_SERVICE_ECSTREAM};
}

static bool more_to_do(const pinned *pn, long i)
{
    if (atomic_load(&pn->stop)) return false;
    if (i < pn->ops) return true;
    bool short_of_counts = atomic_load(&pn->rounds[0]) < pn->min_rounds ||
                           atomic_load(&pn->rounds[1]) < pn->min_rounds;
    return short_of_counts && now_s() < pn->deadline;
}

static void *opener_main(void *arg)
{
    actor *ac = arg;
    pinned *pn = ac->pn;
    if (pn->pinned && !pin_to(ac->cpu)) ac->misplaced++;
    rng r = {7};
    for (long i = 0; more_to_do(pn, i); i++, ac->ops++) {
        check_cpu(ac);
        if (i % 4 == 3) {
            bad_close(ac, next(&r));
            continue;
        }
        handed h = draw(&r);
        sc_status st = update(pn->tab, &pn->wl, &h.a, h.svc, true);
        if (st != SC_OK) {
            note_error(&ac->errors, ac->first_error, sizeof ac->first_error, "opener", "open",
                       &h.a, st);
            continue;
        }
        size_t head = atomic_load(&pn->head);
        while (head - atomic_load(&pn->tail) == RING) sched_yield();   /* the closer runs */
        pn->ring[head % RING] = h;
        atomic_store(&pn->head, head + 1);
    }
    atomic_store(&pn->opener_done, true);
    return NULL;
}

static void *closer_main(void *arg)
{
    actor *ac = arg;
    pinned *pn = ac->pn;
    if (pn->pinned && !pin_to(ac->cpu)) ac->misplaced++;
    rng r = {11};
    for (;;) {
        size_t tail = atomic_load(&pn->tail);
        if (tail == atomic_load(&pn->head)) {
            if (atomic_load(&pn->opener_done) && tail == atomic_load(&pn->head)) break;
            sched_yield();
            continue;
        }
        check_cpu(ac);
        ac->ops++;
        handed h = pn->ring[tail % RING];
        atomic_store(&pn->tail, tail + 1);
        sc_status st = update(pn->tab, &pn->wl, &h.a, h.svc, false);
        if (st != SC_OK)
            note_error(&ac->errors, ac->first_error, sizeof ac->first_error, "closer", "close",
                       &h.a, st);
        if (ac->ops % 4 == 3) bad_close(ac, next(&r));   /* in the same op: ops counts closes */
    }
    return NULL;
}

/* The jolt: a timer signal to the counting thread whose handler sleeps
 * 20-120 us, so the thread stops at a random instruction (inside a count,
 * between two stripes' loads) while the writers run on. */
static _Thread_local uint64_t jolt_rng;
static atomic_long *jolt_tally;

static void jolt(int sig)
{
    (void)sig;
    jolt_rng = jolt_rng * 6364136223846793005ull + 1442695040888963407ull;
    struct timespec d = {0, (long)(20000 + (jolt_rng >> 33) % 100000)};
    nanosleep(&d, NULL);
    atomic_fetch_add_explicit(jolt_tally, 1, memory_order_relaxed);
}

static bool jolt_start(timer_t *timer, int id)
{
    jolt_rng = (uint64_t)id * 977 + 3;
    struct sigevent ev = {.sigev_notify = SIGEV_THREAD_ID, .sigev_signo = SIGUSR1};
#ifdef sigev_notify_thread_id
    ev.sigev_notify_thread_id = gettid();
#else
    ev._sigev_un._tid = gettid();   /* glibc 2.36 names no accessor */
#endif
    if (timer_create(CLOCK_MONOTONIC, &ev, timer) != 0) return false;
    struct itimerspec its = {{0, 150000}, {0, 150000 + id * 37000}};
    return timer_settime(*timer, 0, &its, NULL) == 0;
}

typedef struct counting { pinned *pn; int id, cpu; bool jolted; } counting;

static void *count_main(void *arg)
{
    counting *ct = arg;
    pinned *pn = ct->pn;
    if (pn->pinned) pin_to(ct->cpu);
    timer_t timer;
    ct->jolted = jolt_start(&timer, ct->id);
    while (!atomic_load(&pn->stop)) {
        watch_check_all(&pn->wl, pn->tab);
        atomic_fetch_add(&pn->rounds[ct->id], 1);
    }
    if (ct->jolted) timer_delete(timer);
    return NULL;
}

/* At quiescence: FIXED in every Control watch that holds 203.0.113.1-10,
 * zero everywhere else. */
static void check_quiescent(pinned *pn)
{
    static const uint8_t fixed0[4] = {203, 0, 113, 1};
    sc_addr f = addr_of(SC_INET4, fixed0);
    for (size_t i = 0; i < pn->wl.n; i++) {
        watch *w = &pn->wl.w[i];
        uint64_t n = 0, want = 0;
        sc_prefix p32;
        if (w->svc == SC_SERVICE_CONTROL && sc_prefix_make(&f, w->prefix.len, &p32) == SC_OK &&
            w->prefix.addr.family == SC_INET4 && memcmp(&p32, &w->prefix, sizeof p32) == 0)
            want = FIXED;
        char text[SC_PREFIX_TEXT_MAX] = "?";
        sc_format_prefix(&w->prefix, text, sizeof text);
        CHECK(sc_count(pn->tab, &w->prefix, w->svc, &n) == SC_OK && n == want,
              "at quiescence: count %s service %u = %llu, want %llu", text, w->svc,
              (unsigned long long)n, (unsigned long long)want);
    }
}

static void test_counts_stay_in_bounds_while_closes_land_on_other_cpus(void)
{
    static const sc_service svcs[3] = {SC_SERVICE_SMTP, SC_SERVICE_ECSTREAM, SC_SERVICE_CONTROL};
    pinned *pn = calloc(1, sizeof *pn);
    if (!CHECK(pn && sc_table_new(sc_impl_fast(), NULL, &pn->tab) == SC_OK, "table")) {
        free(pn);
        return;
    }
    long ops = ops_from_env() * 5;
    pn->ops = ops;
    pn->min_rounds = ops / 2000 > 50 ? ops / 2000 : 50;
    pn->deadline = now_s() + 120;
    cpu_set_t allowed;
    pn->pinned = sched_getaffinity(0, sizeof allowed, &allowed) == 0 && CPU_ISSET(0, &allowed) &&
                 CPU_ISSET(1, &allowed);
    if (!pn->pinned) printf("   fewer than two CPUs: opens and closes share their stripes\n");
    jolt_tally = &pn->jolts;
    struct sigaction sa = {.sa_handler = jolt, .sa_flags = SA_RESTART};
    sigemptyset(&sa.sa_mask);
    if (!CHECK(sigaction(SIGUSR1, &sa, NULL) == 0, "sigaction")) goto out;
    if (!warm_up(pn->tab, pool, 4) || !CHECK(watch_list_make(&pn->wl, svcs, 3), "watches")) goto out;
    size_t warm_bytes = sc_table_bytes(pn->tab);
    for (int k = 1; k <= FIXED; k++) {
        sc_addr f = addr_of(SC_INET4, (uint8_t[]){203, 0, 113, (uint8_t)k});
        if (!CHECK(update(pn->tab, &pn->wl, &f, SC_SERVICE_CONTROL, true) == SC_OK, "fixed open"))
            goto out;
    }
    actor op = {.pn = pn, .cpu = 0}, cl = {.pn = pn, .cpu = 1};
    counting ct[2] = {{pn, 0, 0, false}, {pn, 1, 1, false}};
    pthread_t th[4];
    double t0 = now_s();
    if (pthread_create(&th[0], NULL, opener_main, &op) || pthread_create(&th[1], NULL, closer_main, &cl) ||
        pthread_create(&th[2], NULL, count_main, &ct[0]) || pthread_create(&th[3], NULL, count_main, &ct[1]))
        abort();
    pthread_join(th[0], NULL);
    pthread_join(th[1], NULL);
    atomic_store(&pn->stop, true);
    pthread_join(th[2], NULL);
    pthread_join(th[3], NULL);
    long counts = watch_counts(&pn->wl);
    printf("   %.2f s: %ld opens and bad closes, %ld closes, %ld counts "
           "(%ld + %ld passes over %zu prefixes), %ld jolts\n",
           now_s() - t0, op.ops, cl.ops, counts, atomic_load(&pn->rounds[0]),
           atomic_load(&pn->rounds[1]), pn->wl.n, atomic_load(&pn->jolts));
    CHECK(op.errors == 0 && cl.errors == 0, "unexpected statuses: %s%s", op.first_error,
          cl.first_error);
    CHECK(op.misplaced == 0 && cl.misplaced == 0, "opener off CPU 0 %ld times, closer off CPU 1 %ld",
          op.misplaced, cl.misplaced);
    CHECK(ct[0].jolted && ct[1].jolted, "no jolt timer for the counting threads");
    CHECK(atomic_load(&pn->rounds[0]) >= pn->min_rounds && atomic_load(&pn->rounds[1]) >= pn->min_rounds,
          "too few counts: %ld and %ld passes, want %ld each", atomic_load(&pn->rounds[0]),
          atomic_load(&pn->rounds[1]), pn->min_rounds);
    CHECK(watch_violations(&pn->wl) == 0, "%ld of %ld counts out of bounds, first: %s",
          watch_violations(&pn->wl), counts, watch_first_violation(&pn->wl));
    check_quiescent(pn);
    for (int k = 1; k <= FIXED; k++) {
        sc_addr f = addr_of(SC_INET4, (uint8_t[]){203, 0, 113, (uint8_t)k});
        CHECK(sc_close(pn->tab, &f, SC_SERVICE_CONTROL) == SC_OK, "fixed close %d", k);
    }
    CHECK(sc_table_bytes(pn->tab) == warm_bytes, "bytes after every close %zu, after warm-up %zu",
          sc_table_bytes(pn->tab), warm_bytes);
out:
    watch_list_free(&pn->wl);
    sc_table_free(pn->tab);
    free(pn);
}

/* ---- neighbours: counts of prefixes no running update touches stay exact */

typedef struct churn {
    sc_table *tab;
    sc_addr addr;             /* opened and closed over and over */
    atomic_bool stop;
    long failures;            /* opens or closes that did not succeed */
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
        if (!CHECK(sc_open(tab, &a, SC_SERVICE_SMTP) == SC_OK, "open %s", fixed[i])) goto out;
    }
    sc_prefix q;
    sc_error err;
    if (!CHECK(sc_parse_cidr(query, strlen(query), NULL, &q, &err) == SC_OK, "query %s", query))
        goto out;
    churn c = {.tab = tab, .addr = parse_addr(churning)};
    pthread_t th;
    if (pthread_create(&th, NULL, churn_main, &c) != 0) abort();
    long wrong = 0;
    uint64_t first = want;
    for (long i = 0; i < counts; i++) {
        uint64_t n = 0;
        if ((sc_count(tab, &q, SC_SERVICE_SMTP, &n) != SC_OK || n != want) && wrong++ == 0)
            first = n;
    }
    atomic_store(&c.stop, true);
    pthread_join(th, NULL);
    CHECK(c.failures == 0, "%s churning: %ld opens or closes failed", churning, c.failures);
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

/* ---- turns: two addresses take turns in one wide slot */

typedef struct turns {
    sc_table *tab;
    sc_addr a, b;             /* a opened once, b three times, in turn */
    atomic_bool stop;
    long failures;
} turns;

static void *turns_main(void *arg)
{
    turns *t = arg;
    while (!atomic_load(&t->stop)) {
        t->failures += sc_open(t->tab, &t->a, SC_SERVICE_SMTP) != SC_OK;
        t->failures += sc_close(t->tab, &t->a, SC_SERVICE_SMTP) != SC_OK;
        for (int i = 0; i < 3; i++) t->failures += sc_open(t->tab, &t->b, SC_SERVICE_SMTP) != SC_OK;
        for (int i = 0; i < 3; i++) t->failures += sc_close(t->tab, &t->b, SC_SERVICE_SMTP) != SC_OK;
    }
    return NULL;
}

/* An IPv6 count that ends at a LEAF below a wide node checks the slot's
 * copy of the LEAF's bytes, not the LEAF (sc_fast_trie.c, leaf_step).  When
 * a and b take turns in one slot, the copy is rewritten between them: a
 * count of a that took b's bytes for a's, or read a copy half rewritten,
 * would report b's count (up to 3) for a (at most 1).  `others` more
 * addresses keep the node alive: 2 make it an N4, 120 an N256. */
static void turns_in_one_slot(int others, long counts)
{
    sc_table *tab;
    if (!CHECK(sc_table_new(sc_impl_fast(), NULL, &tab) == SC_OK, "table")) return;
    for (int i = 0; i < others; i++) {
        char text[64];
        snprintf(text, sizeof text, "2001:%02x00::1", 0x10 + i);
        sc_addr x = parse_addr(text);
        if (!CHECK(sc_open(tab, &x, SC_SERVICE_SMTP) == SC_OK, "open %s", text)) goto out;
    }
    turns t = {.tab = tab, .a = parse_addr("2001:300::a"), .b = parse_addr("2001:3ff::b")};
    sc_prefix qa = {.addr = t.a, .len = 128}, qb = {.addr = t.b, .len = 128};
    pthread_t th;
    if (pthread_create(&th, NULL, turns_main, &t) != 0) abort();
    long wrong = 0;
    uint64_t first_a = 0, first_b = 0;
    for (long i = 0; i < counts; i++) {
        uint64_t na = 0, nb = 0;
        bool ok = sc_count(tab, &qa, SC_SERVICE_SMTP, &na) == SC_OK &&
                  sc_count(tab, &qb, SC_SERVICE_SMTP, &nb) == SC_OK;
        if ((!ok || na > 1 || nb > 3) && wrong++ == 0) {
            first_a = na;
            first_b = nb;
        }
    }
    atomic_store(&t.stop, true);
    pthread_join(th, NULL);
    uint64_t na = 9, nb = 9;
    bool counted = sc_count(tab, &qa, SC_SERVICE_SMTP, &na) == SC_OK &&
                   sc_count(tab, &qb, SC_SERVICE_SMTP, &nb) == SC_OK;
    CHECK(t.failures == 0, "%d others: %ld opens or closes failed", others, t.failures);
    CHECK(wrong == 0,
          "%d others: %ld of %ld count pairs out of bounds, first 2001:300::a %llu (at most 1), "
          "2001:3ff::b %llu (at most 3)",
          others, wrong, counts, (unsigned long long)first_a, (unsigned long long)first_b);
    CHECK(counted && na == 0 && nb == 0, "%d others: after the turns a %llu b %llu, want 0 and 0", others,
          (unsigned long long)na, (unsigned long long)nb);
out:
    sc_table_free(tab);
}

static void test_counts_of_addresses_taking_turns_in_a_wide_slot_stay_their_own(void)
{
    long counts = ops_from_env() * 5;
    turns_in_one_slot(2, counts);
    turns_in_one_slot(120, counts);
}

int main(void)
{
    make_pool();
    RUN(test_fast_concurrent_counts_match_ref_replay);
    RUN(test_ref_concurrent_counts_match_its_own_replay);
    RUN(test_counts_stay_in_bounds_while_closes_land_on_other_cpus);
    RUN(test_counts_of_a_neighbour_stay_exact_while_an_address_churns);
    RUN(test_counts_of_addresses_taking_turns_in_a_wide_slot_stay_their_own);
    return check_done();
}
