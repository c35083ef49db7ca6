/*
 * fleet_node: one node of a fleet, for the fleet tests (tests/fleet/test_fleet.py):
 * a clustering table joined to a cluster, driven line by line on stdin,
 * one answer line per command on stdout.  A separate process per node, so
 * that a SIGKILL or a SIGSTOP is real.
 *
 *   fleet_node --redis HOST:PORT --name C --node N [--lease S] [--tick MS]
 *              [--full-bytes B] [--impl fast|ref]
 *
 *   open ADDR [N]      N (default 1) SMTP sessions from ADDR: "ok" or "err STATUS"
 *   close ADDR [N]     closes them
 *   view ADDR          "err STATUS" for an open of inbound_cidr (a view)
 *   count CIDR         inbound_cidr: the fleet's count
 *   local CIDR         SMTP: this node's own
 *   sweep ADDR         inbound_cidr at every length 0..32 or 0..128 of ADDR
 *   sweeplocal ADDR    the same for SMTP
 *   status             state nodes age sent full_sent applied full_applied
 *                      refused resyncs restarts disconnects
 *   leave              leaves the cluster (counts become local): "ok"
 *   quit               leaves and exits 0
 *
 * Series (windowed counts), on the node's own clock (`time`, from
 * 1800000000): the built-in "connections" of monitor 60,5, and named
 * series "flood" (cidr, 60,5, replicated), "senders" (string, 60,5,
 * replicated) and "mine" (cidr, 60,5, not replicated).  Counts take every
 * window (0..4).
 *   time T             the clock, seconds since the epoch: "ok"
 *   note ADDR [N]      N connections from ADDR (sc_table_note)
 *   sadd S KEY N       N (signed) to KEY of series S
 *   sremove S KEY      forgets KEY in S
 *   ssweep S ADDR      S's fleet count at every prefix length of ADDR
 *   ssweeplocal S ADDR the same, this node's own
 *   sstr S KEY         a string series' fleet count of KEY; sstrlocal: own
 * Log lines of the cluster go to stderr.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sesscount.h"
#include "sesscount_cluster.h"

static void log_line(void *arg, const char *line)
{
    (void)arg;
    fprintf(stderr, "%s\n", line);
    fflush(stderr);
}

static int usage(void)
{
    fprintf(stderr, "usage: fleet_node --redis HOST:PORT --name C --node N [--lease S] "
                    "[--tick MS] [--full-bytes B] [--impl fast|ref]\n");
    return 2;
}

static void answer_status(sc_status st)
{
    if (st == SC_OK)
        printf("ok\n");
    else
        printf("err %s\n", sc_strerror(st));
}

static void move(sc_table *t, const char *text, long n, bool open)
{
    sc_addr a;
    sc_status st = sc_parse_addr(text, strlen(text), &a, NULL);
    for (long i = 0; st == SC_OK && i < n; i++)
        st = open ? sc_open(t, &a, SC_SERVICE_SMTP) : sc_close(t, &a, SC_SERVICE_SMTP);
    answer_status(st);
}

static void count(sc_table *t, const char *cidr, sc_service svc)
{
    sc_prefix p;
    uint64_t n = 0;
    sc_status st = sc_parse_cidr(cidr, strlen(cidr), NULL, &p, NULL);
    if (st == SC_OK) st = sc_count(t, &p, svc, &n);
    if (st == SC_OK)
        printf("%" PRIu64 "\n", n);
    else
        answer_status(st);
}

/* What a sweep counts: a service of the table, or a series (fleet or own). */
typedef struct counter {
    sc_table *t;
    sc_service svc;
    sc_series *s;
    bool fleet;
} counter;

static sc_status count_with(const counter *c, const sc_prefix *p, uint64_t *n)
{
    if (!c->s) return sc_count(c->t, p, c->svc, n);
    unsigned last = sc_series_monitor(c->s).windows - 1;
    return c->fleet ? sc_series_count_cluster(c->s, p, 0, last, SC_NOW, n)
                    : sc_series_count(c->s, p, 0, last, SC_NOW, n);
}

/* the counts at every prefix length of the address `text`, on one line */
static void sweep_with(const counter *c, const char *text)
{
    sc_addr a;
    if (sc_parse_addr(text, strlen(text), &a, NULL) != SC_OK) {
        printf("err bad address\n");
        return;
    }
    unsigned max = a.family == SC_INET4 ? 32 : 128;
    for (unsigned len = 0; len <= max; len++) {
        sc_prefix p;
        uint64_t n = 0;
        if (sc_prefix_make(&a, len, &p) != SC_OK || count_with(c, &p, &n) != SC_OK) n = ~0ull;
        printf("%s%" PRIu64, len ? " " : "", n);
    }
    printf("\n");
}

static void sweep(sc_table *t, const char *text, sc_service svc)
{
    sweep_with(&(counter){t, svc, NULL, false}, text);
}

/* ---- series */

static sc_time clock_now = 1800000000;

static sc_time node_clock(void *arg)
{
    (void)arg;
    return clock_now;
}

static const sc_monitor mon = {60, 5};

static sc_series *series_of(sc_table *t, const char *name)
{
    sc_series *s = NULL;
    if (!strcmp(name, "connections")) {
        if (sc_table_event_series(t, SC_EVENT_CONNECTION, &mon, &s) != SC_OK) s = NULL;
    } else if (sc_table_find_series(t, name, strlen(name), &s) != SC_OK) {
        s = NULL;
    }
    if (!s) printf("err no series %s\n", name);
    return s;
}

static sc_status series_setup(sc_table *t)
{
    sc_series *s;
    sc_status st = sc_table_set_monitors(t, &mon, 1);
    if (st == SC_OK) st = sc_table_define_series(t, "flood", 5, SC_SERIES_CIDR, &mon, &s);
    if (st == SC_OK) st = sc_series_replicate(s);
    if (st == SC_OK) st = sc_table_define_series(t, "senders", 7, SC_SERIES_STRING, &mon, &s);
    if (st == SC_OK) st = sc_series_replicate(s);
    if (st == SC_OK) st = sc_table_define_series(t, "mine", 4, SC_SERIES_CIDR, &mon, &s);
    return st;
}

/* sadd (n, signed) and sremove (remove: the key forgotten in every window) */
static void series_change(sc_table *t, const char *name, const char *key, long n, bool remove)
{
    sc_series *s = series_of(t, name);
    sc_addr a;
    if (!s) return;
    if (sc_series_kind_of(s) == SC_SERIES_STRING)
        answer_status(remove ? sc_series_remove_string(s, key, strlen(key), SC_NOW)
                             : sc_series_add_string(s, key, strlen(key), n, SC_NOW));
    else if (sc_parse_addr(key, strlen(key), &a, NULL) != SC_OK)
        printf("err bad address\n");
    else
        answer_status(remove ? sc_series_remove(s, &a, SC_NOW) : sc_series_add(s, &a, n, SC_NOW));
}

static void series_sweep(sc_table *t, const char *name, const char *text, bool fleet)
{
    sc_series *s = series_of(t, name);
    if (s) sweep_with(&(counter){t, 0, s, fleet}, text);
}

static void series_string(sc_table *t, const char *name, const char *key, bool fleet)
{
    sc_series *s = series_of(t, name);
    uint64_t n = 0;
    if (!s) return;
    sc_status st = fleet ? sc_series_count_string_cluster(s, key, strlen(key), 0,
                                                          mon.windows - 1, SC_NOW, &n)
                         : sc_series_count_string(s, key, strlen(key), 0, mon.windows - 1,
                                                  SC_NOW, &n);
    if (st == SC_OK)
        printf("%" PRIu64 "\n", n);
    else
        answer_status(st);
}

/* the series commands: 1 when cmd was one */
static int series_command(sc_table *t, const char *cmd, const char *arg, const char *key, long n)
{
    sc_addr a;
    if (!strcmp(cmd, "time")) {
        clock_now = strtoll(arg, NULL, 10);
        printf("ok\n");
    } else if (!strcmp(cmd, "note")) {
        sc_status st = sc_parse_addr(arg, strlen(arg), &a, NULL);
        answer_status(st == SC_OK ? sc_table_note(t, SC_EVENT_CONNECTION, &a, n, SC_NOW) : st);
    } else if (!strcmp(cmd, "sadd")) series_change(t, arg, key, n, false);
    else if (!strcmp(cmd, "sremove")) series_change(t, arg, key, 0, true);
    else if (!strcmp(cmd, "ssweep")) series_sweep(t, arg, key, true);
    else if (!strcmp(cmd, "ssweeplocal")) series_sweep(t, arg, key, false);
    else if (!strcmp(cmd, "sstr")) series_string(t, arg, key, true);
    else if (!strcmp(cmd, "sstrlocal")) series_string(t, arg, key, false);
    else return 0;
    return 1;
}

static void status(const sc_cluster *c)
{
    sc_cluster_status s;
    if (!c) {
        printf("local 1 -1 0 0 0 0 0 0 0 0\n");
        return;
    }
    sc_cluster_status_get(c, &s);
    printf("%s %u %.3f %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64
           " %" PRIu64 " %" PRIu64 "\n",
           sc_cluster_state_name(s.state), s.nodes, s.age, s.batches_sent, s.full_sent,
           s.batches_applied, s.full_applied, s.refused, s.resyncs, s.redis_restarts,
           s.disconnects);
}

int main(int argc, char **argv)
{
    sc_cluster_config cfg = {.log = log_line};
    const sc_impl *impl = sc_impl_fast();
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (!strcmp(k, "--redis")) cfg.redis = v;
        else if (!strcmp(k, "--name")) cfg.name = v;
        else if (!strcmp(k, "--node")) cfg.node = v;
        else if (!strcmp(k, "--lease")) cfg.lease = atof(v);
        else if (!strcmp(k, "--tick")) cfg.tick_ms = (unsigned)atoi(v);
        else if (!strcmp(k, "--full-bytes")) cfg.full_bytes = (size_t)atol(v);
        else if (!strcmp(k, "--impl")) impl = !strcmp(v, "ref") ? sc_impl_ref() : sc_impl_fast();
        else return usage();
    }
    if (argc % 2 == 0) return usage();
    sc_options opts = {.clustering = true, .clock = node_clock};
    sc_table *t;
    sc_cluster *c = NULL;
    const char *why = NULL;
    if (sc_table_new(impl, &opts, &t) != SC_OK || series_setup(t) != SC_OK) return 1;
    sc_status st = sc_cluster_join(t, &cfg, &c, &why);
    if (st != SC_OK) {
        fprintf(stderr, "fleet_node: join: %s%s%s\n", sc_strerror(st), why ? ": " : "",
                why ? why : "");
        sc_table_free(t);
        return 1;
    }
    printf("ready\n");
    fflush(stdout);
    char line[1024], cmd[32], arg[256], key[256];
    while (fgets(line, sizeof line, stdin)) {
        long n = 1, m = 1;
        arg[0] = key[0] = 0;
        if (sscanf(line, "%31s %255s %255s %ld", cmd, arg, key, &m) < 1) continue;
        n = key[0] ? strtol(key, NULL, 10) : 1;   /* open ADDR N, or a key: S KEY M */
        if (series_command(t, cmd, arg, key, !strcmp(cmd, "note") ? n : m)) {
        }
        else if (!strcmp(cmd, "open")) move(t, arg, n, true);
        else if (!strcmp(cmd, "close")) move(t, arg, n, false);
        else if (!strcmp(cmd, "view")) {
            sc_addr a;
            answer_status(sc_parse_addr(arg, strlen(arg), &a, NULL) == SC_OK
                              ? sc_open(t, &a, SC_SERVICE_INBOUND_CIDR) : SC_E_INVALID);
        } else if (!strcmp(cmd, "count")) count(t, arg, SC_SERVICE_INBOUND_CIDR);
        else if (!strcmp(cmd, "local")) count(t, arg, SC_SERVICE_SMTP);
        else if (!strcmp(cmd, "sweep")) sweep(t, arg, SC_SERVICE_INBOUND_CIDR);
        else if (!strcmp(cmd, "sweeplocal")) sweep(t, arg, SC_SERVICE_SMTP);
        else if (!strcmp(cmd, "status")) status(c);
        else if (!strcmp(cmd, "leave")) {
            sc_cluster_leave(c);
            c = NULL;
            printf("ok\n");
        } else if (!strcmp(cmd, "quit")) break;
        else printf("err unknown command\n");
        fflush(stdout);
    }
    sc_cluster_leave(c);
    sc_table_free(t);
    return 0;
}
