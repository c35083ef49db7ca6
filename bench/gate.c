/*
 * gate.c: sc_gate, the noise-free half of the regression gate
 * (scripts/bench --compare; bench/gate.py runs it).
 *
 * Run under callgrind with a simulated cache, it builds the same tables
 * every time (a fixed seed: random IPv4 and IPv6 addresses, N sessions of
 * each) and then runs one phase per path the gate watches, each a fixed
 * number of operations on addresses drawn from those tables:
 *
 *   count_v4_24, count_v4_32    sc_count of a session's /24 and /32
 *   count_v6_64, count_v6_128   sc_count of a session's /64 and /128
 *   open_close_v4, _v6          sc_open then sc_close of an address that
 *                               holds a session (the counters change; no
 *                               node is made or freed, so no RCU callback
 *                               runs in another thread during the phase)
 *
 * Each phase is collected alone (CALLGRIND_TOGGLE_COLLECT) and dumped under
 * its name (CALLGRIND_DUMP_STATS_AT), so the dump's totals are that phase's
 * instructions and simulated cache misses: the same binary on the same
 * input gives the same figures, run after run, on any machine load.
 * Outside valgrind the client requests do nothing and each phase prints
 * its wall time (not what the gate judges).
 *
 *   sc_gate [--sessions N] [--ops N] [--impl fast|ref]
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#else   /* no valgrind: the phases only print their times */
#define CALLGRIND_ZERO_STATS
#define CALLGRIND_TOGGLE_COLLECT
#define CALLGRIND_DUMP_STATS_AT(name) (void)(name)
#endif

#include "sesscount.h"

static uint64_t rng = 0x9e3779b97f4a7c15u;

static uint64_t next(void)
{
    /* xorshift64*: the same addresses on every run */
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 2685821657736338717u;
}

static sc_addr draw(int family)
{
    uint8_t b[16];
    uint64_t x = next(), y = next();
    memcpy(b, &x, 8);
    memcpy(b + 8, &y, 8);
    if (family == SC_INET6) b[0] = 0x20, b[1] = 0x01;   /* global unicast, not mapped */
    sc_addr a;
    if (sc_addr_from_bytes(family, b, &a) != SC_OK) abort();
    return a;
}

typedef struct gate {
    sc_table *t;
    sc_addr *v4, *v6;
    size_t n, ops;
    uint64_t sink;
} gate;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* The i-th address the phases use: spread over the table by a stride. */
static const sc_addr *pick(const sc_addr *v, size_t n, size_t i)
{
    return &v[(i * 2654435761u) % n];
}

static void __attribute__((noinline)) count_phase(gate *g, const sc_addr *v, unsigned len)
{
    for (size_t i = 0; i < g->ops; i++) {
        sc_prefix p;
        uint64_t c = 0;
        if (sc_prefix_make(pick(v, g->n, i), len, &p) != SC_OK ||
            sc_count(g->t, &p, SC_SERVICE_SMTP, &c) != SC_OK)
            abort();
        g->sink += c;
    }
}

static void __attribute__((noinline)) open_close_phase(gate *g, const sc_addr *v)
{
    for (size_t i = 0; i < g->ops; i++) {
        const sc_addr *a = pick(v, g->n, i);
        if (sc_open(g->t, a, SC_SERVICE_SMTP) != SC_OK || sc_close(g->t, a, SC_SERVICE_SMTP) != SC_OK)
            abort();
    }
}

/* One phase, collected and dumped alone under `name`. */
static void phase(gate *g, const char *name, const sc_addr *v, unsigned len)
{
    double t0 = now_s();
    CALLGRIND_ZERO_STATS;
    CALLGRIND_TOGGLE_COLLECT;
    if (len) count_phase(g, v, len);
    else open_close_phase(g, v);
    CALLGRIND_TOGGLE_COLLECT;
    CALLGRIND_DUMP_STATS_AT(name);
    printf("%s %zu ops %.1f ns/op\n", name, g->ops, (now_s() - t0) * 1e9 / (double)g->ops);
}

int main(int argc, char **argv)
{
    gate g = {.n = 200000, .ops = 20000};
    const sc_impl *impl = sc_impl_fast();
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--sessions")) g.n = strtoul(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--ops")) g.ops = strtoul(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--impl")) impl = strcmp(argv[i + 1], "ref") ? sc_impl_fast() : sc_impl_ref();
        else {
            fprintf(stderr, "usage: sc_gate [--sessions N] [--ops N] [--impl fast|ref]\n");
            return 2;
        }
    }
    if (g.n == 0 || g.ops == 0 || (argc - 1) % 2) return 2;
    g.v4 = malloc(g.n * sizeof *g.v4);
    g.v6 = malloc(g.n * sizeof *g.v6);
    if (!g.v4 || !g.v6 || sc_table_new(impl, NULL, &g.t) != SC_OK) return 1;
    for (size_t i = 0; i < g.n; i++) {
        g.v4[i] = draw(SC_INET4);
        g.v6[i] = draw(SC_INET6);
        if (sc_open(g.t, &g.v4[i], SC_SERVICE_SMTP) != SC_OK ||
            sc_open(g.t, &g.v6[i], SC_SERVICE_SMTP) != SC_OK)
            return 1;
    }
    phase(&g, "count_v4_24", g.v4, 24);
    phase(&g, "count_v4_32", g.v4, 32);
    phase(&g, "count_v6_64", g.v6, 64);
    phase(&g, "count_v6_128", g.v6, 128);
    phase(&g, "open_close_v4", g.v4, 0);
    phase(&g, "open_close_v6", g.v6, 0);
    printf("sessions %zu checksum %" PRIu64 "\n", 2 * g.n, g.sink);
    sc_table_free(g.t);
    free(g.v4);
    free(g.v6);
    return 0;
}
