/*
 * test_cluster.c: joining a fleet without a Redis to talk to
 * (sesscount_cluster.h), and the journal behind it (common/sc_journal.h).
 * tests/fleet/ holds the cases with a real Redis.
 *
 *  - join refuses what it cannot use, each with a reason, and changes
 *    nothing: bad configurations, a table without clustering, a second join;
 *  - a node that cannot reach Redis is "local" and counts its own SMTP
 *    sessions as inbound_cidr; inbound_cidr is never opened or closed;
 *  - join_later tables resolve the clustering-only names from the join on;
 *  - freeing a joined table leaves (ASan sees no leak);
 *  - the journal notes what replicated series calls did, exactly, under
 *    concurrent adds, takes and removes;
 *  - the journal is exact under concurrency: the table seen at the start
 *    plus every change drained, while threads open and close, equals the
 *    table at the end, address by address.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "sc_addrmap.h"
#include "sc_check.h"
#include "sc_internal.h"
#include "sc_journal.h"
#include "sesscount_cluster.h"

static sc_addr ip(const char *text)
{
    sc_addr a;
    CHECK(sc_parse_addr(text, strlen(text), &a, NULL) == SC_OK, "parse %s", text);
    return a;
}

static uint64_t count(sc_table *t, const char *cidr, sc_service svc)
{
    sc_prefix p;
    uint64_t n = 0;
    CHECK(sc_parse_cidr(cidr, strlen(cidr), NULL, &p, NULL) == SC_OK, "parse %s", cidr);
    CHECK(sc_count(t, &p, svc, &n) == SC_OK, "count %s", cidr);
    return n;
}

/* A Redis that is not there: port 1 of loopback refuses at once. */
static sc_cluster_config nowhere(void)
{
    return (sc_cluster_config){.redis = "127.0.0.1:1", .name = "mx", .node = "n1", .lease = 1};
}

static void test_join_refuses_bad_configurations(void)
{
    sc_options o = {.clustering = true};
    sc_table *t;
    sc_cluster *c = NULL;
    const char *why;
    if (!CHECK(sc_table_new(NULL, &o, &t) == SC_OK, "table")) return;
    struct { sc_cluster_config cfg; const char *why; } bad[] = {
        {{.name = "mx", .node = "a"}, "redis: empty or too long"},
        {{.redis = "localhost", .name = "mx", .node = "a"}, "redis: not host:port nor a /path"},
        {{.redis = "127.0.0.1:1", .node = "a"}, "name: 1 to 64 of A-Z a-z 0-9 . _ -"},
        {{.redis = "127.0.0.1:1", .name = "m x", .node = "a"}, "name: 1 to 64 of A-Z a-z 0-9 . _ -"},
        {{.redis = "127.0.0.1:1", .name = "mx", .node = "a}"}, "node: 1 to 64 of A-Z a-z 0-9 . _ -"},
        {{.redis = "127.0.0.1:1", .name = "mx", .node = ""}, "node: 1 to 64 of A-Z a-z 0-9 . _ -"},
        {{.redis = "127.0.0.1:1", .name = "mx", .node = "a", .lease = 0.4}, "lease: 0.5 to 3600 seconds"},
        {{.redis = "127.0.0.1:1", .name = "mx", .node = "a", .lease = 4000}, "lease: 0.5 to 3600 seconds"},
        {{.redis = "127.0.0.1:1", .name = "mx", .node = "a", .tick_ms = 1001}, "tick_ms: 1 to 1000"},
        {{.redis = "127.0.0.1:1", .name = "mx", .node = "a", .user = ""}, "user: empty or too long"},
        {{.redis = "127.0.0.1:1", .name = "mx", .node = "a", .password_file = "/nonexistent/pw"},
         "password_file: cannot be read"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        why = NULL;
        sc_status st = sc_cluster_join(t, &bad[i].cfg, &c, &why);
        CHECK(st == SC_E_INVALID && why && strcmp(why, bad[i].why) == 0,
              "case %zu: %s (%s), want \"%s\"", i, sc_strerror(st), why ? why : "-", bad[i].why);
        CHECK(sc_cluster_of(t) == NULL, "case %zu: a refused join left a cluster", i);
    }
    CHECK(sc_cluster_join(NULL, &bad[0].cfg, &c, NULL) == SC_E_INVALID, "NULL table");
    CHECK(sc_cluster_join(t, NULL, &c, &why) == SC_E_INVALID, "NULL configuration");
    sc_table_free(t);

    sc_table *plain;
    sc_cluster_config cfg = nowhere();
    if (!CHECK(sc_table_new(NULL, NULL, &plain) == SC_OK, "table")) return;
    CHECK(sc_cluster_join(plain, &cfg, &c, &why) == SC_E_NEEDS_CLUSTERING,
          "a table without clustering cannot join");
    sc_table_free(plain);
}

static void test_unreachable_redis_counts_this_node_alone(void)
{
    sc_options o = {.clustering = true};
    sc_table *t;
    sc_cluster *c = NULL, *c2 = NULL;
    sc_cluster_config cfg = nowhere();
    if (!CHECK(sc_table_new(NULL, &o, &t) == SC_OK, "table")) return;
    sc_addr a = ip("192.0.2.7"), b = ip("2001:db8::7");
    CHECK(sc_open(t, &a, SC_SERVICE_SMTP) == SC_OK, "open before the join");
    if (!CHECK(sc_cluster_join(t, &cfg, &c, NULL) == SC_OK, "join")) return;
    CHECK(sc_cluster_of(t) == c, "sc_cluster_of finds it");
    CHECK(sc_cluster_join(t, &cfg, &c2, NULL) == SC_E_CONFLICT, "a second join");
    CHECK(sc_open(t, &a, SC_SERVICE_SMTP) == SC_OK && sc_open(t, &b, SC_SERVICE_SMTP) == SC_OK,
          "open after the join");
    CHECK(count(t, "192.0.2.0/24", SC_SERVICE_INBOUND_CIDR) == 2, "inbound_cidr: this node's 2");
    CHECK(count(t, "::/0", SC_SERVICE_INBOUND_CIDR) == 1, "inbound_cidr: IPv6 apart");
    CHECK(sc_open(t, &a, SC_SERVICE_INBOUND_CIDR) == SC_E_VIEW, "inbound_cidr is not opened");
    CHECK(sc_close(t, &a, SC_SERVICE_INBOUND_CIDR) == SC_E_VIEW, "nor closed");
    CHECK(count(t, "192.0.2.0/24", SC_SERVICE_SMTP) == 2, "a refused view op changes nothing");
    sc_cluster_status s;
    sc_cluster_status_get(c, &s);
    CHECK(s.state == SC_CLUSTER_LOCAL && s.nodes == 1 && s.age < 0,
          "status %s nodes %u age %.3f, want local 1 -1", sc_cluster_state_name(s.state), s.nodes,
          s.age);
    CHECK(strcmp(s.name, "mx") == 0 && strcmp(s.node, "n1") == 0, "status names %s/%s", s.name,
          s.node);
    CHECK(s.incarnation > 0, "an incarnation");
    sc_cluster_leave(c);
    CHECK(sc_cluster_of(t) == NULL, "left");
    CHECK(count(t, "192.0.2.0/24", SC_SERVICE_INBOUND_CIDR) == 2, "inbound_cidr after leaving");
    CHECK(sc_cluster_join(t, &cfg, &c, NULL) == SC_OK, "join again after leaving");
    sc_table_free(t);   /* leaves: ASan's leak check says whether it did */
}

static void test_join_later_reveals_clustering_names(void)
{
    sc_options o = {.join_later = true};
    sc_table *t;
    sc_service svc;
    sc_cluster *c;
    sc_cluster_config cfg = nowhere();
    if (!CHECK(sc_table_new(NULL, &o, &t) == SC_OK, "table")) return;
    CHECK(sc_table_service(t, "inbound_cidr", 12, &svc) == SC_E_NEEDS_CLUSTERING,
          "before the join, as without clustering");
    if (!CHECK(sc_cluster_join(t, &cfg, &c, NULL) == SC_OK, "join")) return;
    CHECK(sc_table_service(t, "inbound_cidr", 12, &svc) == SC_OK &&
              svc == SC_SERVICE_INBOUND_CIDR, "after the join");
    sc_cluster_leave(c);
    sc_table_free(t);
}

/* ------------------------------------------------------------ the journal */

enum { THREADS = 3, POOL = 64 };

typedef struct worker {
    sc_table *t;
    unsigned seed;
    long ops;
    _Atomic int *stop;
    int held[POOL];
} worker;

static sc_addr pool_addr(unsigned i)
{
    sc_addr a = {.family = (i & 1) ? SC_INET6 : SC_INET4};
    a.bytes[0] = (i & 1) ? 0x20 : 198;
    a.bytes[1] = (i & 1) ? 0x01 : 51;
    a.bytes[3] = (uint8_t)(i / 2);
    return a;
}

static void *churn(void *arg)
{
    worker *w = arg;
    for (long k = 0; k < w->ops; k++) {
        w->seed = w->seed * 1103515245u + 12345u;
        unsigned i = (w->seed >> 8) % POOL;
        sc_addr a = pool_addr(i);
        if (w->held[i] && (w->seed >> 20) % 2) {
            if (sc_close(w->t, &a, SC_SERVICE_SMTP) == SC_OK) w->held[i]--;
        } else if (sc_open(w->t, &a, SC_SERVICE_SMTP) == SC_OK) {
            w->held[i]++;
        }
    }
    return NULL;
}

static int add_to(void *arg, const sc_addr *a, int64_t n)
{
    return sc_addrmap_add(arg, a, n) != SC_OK;
}

static void test_journal_is_exact_under_concurrent_updates(void)
{
    sc_options o = {.clustering = true};
    sc_table *t;
    sc_addrmap seen = {0};
    long ops = 200000;
    const char *env = getenv("SC_CONC_OPS");
    if (env) ops = atol(env);
    if (!CHECK(sc_table_new(NULL, &o, &t) == SC_OK, "table")) return;
    for (unsigned i = 0; i < POOL; i += 3) {   /* some open before the start */
        sc_addr a = pool_addr(i);
        CHECK(sc_open(t, &a, SC_SERVICE_SMTP) == SC_OK, "pre-open");
    }
    worker w[THREADS];
    pthread_t th[THREADS];
    for (int k = 0; k < THREADS; k++) {
        memset(&w[k], 0, sizeof w[k]);
        w[k] = (worker){.t = t, .seed = 7u + (unsigned)k, .ops = ops};
        pthread_create(&th[k], NULL, churn, &w[k]);
    }
    /* start while they run: the seed and the changes after it */
    CHECK(sc_journal_start(t, add_to, &seen) == SC_OK, "start");
    CHECK(sc_journal_start(t, add_to, &seen) == SC_E_CONFLICT, "a second start");
    int drains = 0;
    for (int k = 0; k < THREADS; k++) {
        while (pthread_tryjoin_np(th[k], NULL) != 0) {
            CHECK(sc_journal_drain(t, add_to, &seen), "nothing lost");
            drains++;
        }
    }
    CHECK(sc_journal_drain(t, add_to, &seen), "nothing lost at the end");
    for (unsigned i = 0; i < POOL; i++) {
        sc_addr a = pool_addr(i);
        sc_prefix p;
        uint64_t n = 0;
        CHECK(sc_prefix_make(&a, a.family == SC_INET4 ? 32 : 128, &p) == SC_OK &&
                  sc_count(t, &p, SC_SERVICE_SMTP, &n) == SC_OK, "count");
        int64_t j = sc_addrmap_get(&seen, &a);
        CHECK(j == (int64_t)n, "address %u: the journal says %lld, the table %llu (%d drains)", i,
              (long long)j, (unsigned long long)n, drains);
    }
    sc_journal_stop(t);
    sc_addrmap_free(&seen);
    sc_table_free(t);
}

/* Series: adds, takes and removes from three threads over two windows,
 * drained meanwhile; what the journal noted adds up, per key and window,
 * to what the series holds (a take of more than is held notes what it
 * took; a remove notes what each window held). */
enum { ST0 = 1800000000 };

typedef struct sworker {
    sc_series *s;
    unsigned seed;
    long ops, failed;
} sworker;

static void *series_churn(void *arg)
{
    sworker *w = arg;
    for (long k = 0; k < w->ops; k++) {
        w->seed = w->seed * 1103515245u + 12345u;
        sc_addr a = pool_addr((w->seed >> 8) % POOL);
        sc_time at = ST0 + 60 * (sc_time)((w->seed >> 16) & 1);
        unsigned what = (w->seed >> 20) % 16;
        sc_status st = what == 0 ? sc_series_remove(w->s, &a, at)
                                 : sc_series_add(w->s, &a, what < 6 ? -(int64_t)what : (int64_t)what, at);
        w->failed += st != SC_OK;
    }
    return NULL;
}

static int add_key(void *arg, const uint8_t *k, size_t len, int64_t n)
{
    return sc_keymap_add(arg, k, len, n) != SC_OK;
}

static void test_journal_notes_what_series_calls_did(void)
{
    sc_options o = {.clustering = true};
    sc_table *t;
    sc_series *s;
    sc_keymap seen = {0};
    sc_addrmap none = {0};
    const sc_monitor m = {60, 3};
    long ops = 100000;
    const char *env = getenv("SC_CONC_OPS");
    if (env) ops = atol(env) / 2;
    if (!CHECK(sc_table_new(NULL, &o, &t) == SC_OK, "table")) return;
    CHECK(sc_table_define_series(t, "s", 1, SC_SERIES_CIDR, &m, &s) == SC_OK &&
              sc_series_replicate(s) == SC_OK && sc_series_replicated(s), "a replicated series");
    CHECK(sc_journal_start(t, add_to, &none) == SC_OK, "start");
    sworker w[THREADS];
    pthread_t th[THREADS];
    for (int k = 0; k < THREADS; k++) {
        w[k] = (sworker){.s = s, .seed = 11u + (unsigned)k, .ops = ops};
        pthread_create(&th[k], NULL, series_churn, &w[k]);
    }
    int drains = 0;
    for (int k = 0; k < THREADS; k++)
        while (pthread_tryjoin_np(th[k], NULL) != 0) {
            CHECK(sc_journal_drain_series(t, add_key, &seen), "nothing lost");
            drains++;
        }
    CHECK(sc_journal_drain_series(t, add_key, &seen), "nothing lost at the end");
    for (int k = 0; k < THREADS; k++) CHECK(w[k].failed == 0, "thread %d: %ld calls failed", k, w[k].failed);
    for (unsigned i = 0; i < POOL; i++)
        for (unsigned win = 0; win < 2; win++) {
            sc_addr a = pool_addr(i);
            sc_prefix p;
            uint64_t n = 0;
            uint8_t k[SC_SKEY_MAX];
            sc_skey sk = {"N0:60,3:s", 9, ST0 / 60 + 1 - win, a.family, a.bytes,
                          a.family == SC_INET4 ? 4u : 16u};
            CHECK(sc_prefix_make(&a, a.family == SC_INET4 ? 32 : 128, &p) == SC_OK &&
                      sc_series_count(s, &p, win, win, ST0 + 60, &n) == SC_OK, "count");
            int64_t j = sc_keymap_get(&seen, k, sc_skey_encode(&sk, k));
            CHECK(j == (int64_t)n, "key %u window %u: the journal says %lld, the series %llu "
                  "(%d drains)", i, win, (long long)j, (unsigned long long)n, drains);
        }
    CHECK(sc_addrmap_nonzero(&none) == 0, "no session was noted");
    sc_journal_stop(t);
    sc_keymap_free(&seen);
    sc_addrmap_free(&none);
    sc_table_free(t);
}

int main(void)
{
    RUN(test_join_refuses_bad_configurations);
    RUN(test_unreachable_redis_counts_this_node_alone);
    RUN(test_join_later_reveals_clustering_names);
    RUN(test_journal_is_exact_under_concurrent_updates);
    RUN(test_journal_notes_what_series_calls_did);
    return check_done();
}
