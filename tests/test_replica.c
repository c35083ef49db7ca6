/*
 * test_replica.c: this node's replicas of the other nodes
 * (cluster/sc_replica.h): batches of one origin change that origin's
 * count and no other; deltas apply in order on top of a full state; a
 * duplicate is ignored, a gap or an inconsistent delta drops the origin
 * until its next full state; a restart (new incarnation) never counts old
 * sessions twice; a reader counting while full states swap sees each
 * session before or after its change, never an origin missing whole (also
 * under TSan).  Series changes follow the same rules, per origin and per
 * series (its fleet name), counted in their windows; a reader counting a
 * series while full states swap sees one state or the other.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdatomic.h>
#include <string.h>

#include "sc_check.h"
#include "sc_journal.h"
#include "sc_replica.h"

static uint8_t key[16];

typedef struct rec { const char *ip; int32_t n; } rec;

static sc_prefix pfx(const char *text)
{
    sc_prefix p;
    sc_error e;
    CHECK(sc_parse_cidr(text, strlen(text), NULL, &p, &e) == SC_OK, "parse %s", text);
    return p;
}

/* w's batch finished and parsed back, as a receiver would */
static sc_wire_batch parsed(sc_wire_writer *w)
{
    const uint8_t *bytes;
    size_t len, off;
    sc_wire_batch b;
    memset(&b, 0, sizeof b);
    CHECK(sc_wire_finish(w, key, &bytes, &len) == SC_OK, "finish");
    CHECK(sc_wire_parse(key, bytes, len, &b, &off) == SC_WIRE_OK, "parse back");
    return b;
}

/* a batch of kind/inc/seq with records, parsed as a receiver would */
static sc_wire_batch batch(sc_wire_writer *w, int kind, uint64_t inc, uint64_t seq,
                           const rec *r, size_t n)
{
    CHECK(sc_wire_begin(w, kind, inc, seq) == SC_OK, "begin");
    for (size_t i = 0; i < n; i++) {
        sc_addr a;
        sc_error e;
        CHECK(sc_parse_addr(r[i].ip, strlen(r[i].ip), &a, &e) == SC_OK, "address %s", r[i].ip);
        CHECK(sc_wire_add(w, &a, r[i].n) == SC_OK, "add %s %d", r[i].ip, r[i].n);
    }
    return parsed(w);
}

static uint64_t count(sc_fleet *f, const char *cidr)
{
    sc_prefix p = pfx(cidr);
    return sc_fleet_count(f, &p);
}

static uint64_t count_of(sc_fleet *f, const char *node, const char *cidr)
{
    sc_prefix p = pfx(cidr);
    return sc_fleet_count_origin(f, node, strlen(node), &p);
}

static sc_apply apply(sc_fleet *f, const char *node, const sc_wire_batch *b)
{
    return sc_fleet_apply(f, node, strlen(node), b);
}

#define EXPECT_APPLY(f, node, b, want)                                                       \
    do {                                                                                    \
        sc_apply got_ = apply(f, node, b);                                                  \
        CHECK(got_ == (want), "%s kind %d inc %llu seq %llu: %s, want %s", node, (b)->kind,   \
              (unsigned long long)(b)->incarnation, (unsigned long long)(b)->seq,           \
              sc_apply_name(got_), sc_apply_name(want));                                    \
    } while (0)

static void test_full_state_then_deltas_in_order(void)
{
    sc_fleet *f;
    sc_wire_writer w = {0};
    CHECK(sc_fleet_new(&f) == SC_OK, "new");
    rec full[] = {{"192.0.2.7", 3}, {"2001:db8::1", 2}, {"192.0.2.7", 1}};
    sc_wire_batch b = batch(&w, SC_WIRE_FULL, 5, 10, full, 3);
    EXPECT_APPLY(f, "mx2", &b, SC_APPLY_OK);
    CHECK(count(f, "192.0.2.0/24") == 4, "records of one address add up: %llu",
          (unsigned long long)count(f, "192.0.2.0/24"));
    CHECK(count(f, "::/0") == 2 && count(f, "0.0.0.0/0") == 4, "families apart");
    rec d1[] = {{"192.0.2.7", -2}, {"192.0.2.9", 1}};
    b = batch(&w, SC_WIRE_DELTA, 5, 11, d1, 2);
    EXPECT_APPLY(f, "mx2", &b, SC_APPLY_OK);
    CHECK(count(f, "192.0.2.7") == 2 && count(f, "192.0.2.0/24") == 3, "after seq 11: %llu",
          (unsigned long long)count(f, "192.0.2.0/24"));
    EXPECT_APPLY(f, "mx2", &b, SC_APPLY_DUPLICATE);
    CHECK(count(f, "192.0.2.0/24") == 3, "a duplicate changed nothing");
    rec d3[] = {{"192.0.2.9", 1}};
    b = batch(&w, SC_WIRE_DELTA, 5, 13, d3, 1);
    EXPECT_APPLY(f, "mx2", &b, SC_APPLY_GAP);
    CHECK(count(f, "0.0.0.0/0") == 0 && count(f, "::/0") == 0, "a gap drops the origin");
    b = batch(&w, SC_WIRE_DELTA, 5, 14, d3, 1);
    EXPECT_APPLY(f, "mx2", &b, SC_APPLY_UNSYNCED);
    b = batch(&w, SC_WIRE_FULL, 5, 14, full, 1);
    EXPECT_APPLY(f, "mx2", &b, SC_APPLY_OK);
    CHECK(count(f, "0.0.0.0/0") == 3, "back with the next full state");
    sc_wire_free(&w);
    sc_fleet_free(f);
}

static void test_restart_never_counts_old_sessions_twice(void)
{
    sc_fleet *f;
    sc_wire_writer w = {0};
    CHECK(sc_fleet_new(&f) == SC_OK, "new");
    rec before[] = {{"198.51.100.1", 5}};
    sc_wire_batch b = batch(&w, SC_WIRE_FULL, 100, 1, before, 1);
    EXPECT_APPLY(f, "mx3", &b, SC_APPLY_OK);
    rec after[] = {{"198.51.100.1", 1}};
    b = batch(&w, SC_WIRE_FULL, 200, 1, after, 1);
    EXPECT_APPLY(f, "mx3", &b, SC_APPLY_OK);
    CHECK(count(f, "198.51.100.1") == 1, "after a restart: %llu, want 1 (not 6)",
          (unsigned long long)count(f, "198.51.100.1"));
    rec late[] = {{"198.51.100.1", 4}};
    b = batch(&w, SC_WIRE_DELTA, 100, 2, late, 1);
    EXPECT_APPLY(f, "mx3", &b, SC_APPLY_DUPLICATE);
    b = batch(&w, SC_WIRE_FULL, 100, 3, before, 1);
    EXPECT_APPLY(f, "mx3", &b, SC_APPLY_DUPLICATE);
    CHECK(count(f, "198.51.100.1") == 1, "the old incarnation's late batches change nothing");
    sc_wire_free(&w);
    sc_fleet_free(f);
}

static void test_bad_delta_drops_its_origin_only(void)
{
    sc_fleet *f;
    sc_wire_writer w = {0};
    CHECK(sc_fleet_new(&f) == SC_OK, "new");
    rec a[] = {{"203.0.113.5", 2}};
    rec bfull[] = {{"203.0.113.5", 7}, {"2001:db8::5", 1}};
    sc_wire_batch b = batch(&w, SC_WIRE_FULL, 1, 1, a, 1);
    EXPECT_APPLY(f, "a", &b, SC_APPLY_OK);
    b = batch(&w, SC_WIRE_FULL, 1, 1, bfull, 2);
    EXPECT_APPLY(f, "b", &b, SC_APPLY_OK);
    CHECK(count(f, "203.0.113.5") == 9, "two origins summed: %llu",
          (unsigned long long)count(f, "203.0.113.5"));
    rec bad[] = {{"203.0.113.5", 1}, {"203.0.113.6", -1}};
    b = batch(&w, SC_WIRE_DELTA, 1, 2, bad, 2);
    EXPECT_APPLY(f, "a", &b, SC_APPLY_INCONSISTENT);
    CHECK(count_of(f, "a", "0.0.0.0/0") == 0, "the bad origin is dropped");
    CHECK(count_of(f, "b", "203.0.113.5") == 7 && count_of(f, "b", "::/0") == 1,
          "the other origin is untouched");
    unsigned synced, held = sc_fleet_origins(f, &synced);
    CHECK(held == 2 && synced == 1, "origins %u synced %u", held, synced);
    sc_fleet_drop(f, "b", 1);
    CHECK(count(f, "0.0.0.0/0") == 0 && count(f, "::/0") == 0, "dropped: nothing counted");
    CHECK(sc_fleet_origins(f, NULL) == 1, "one origin left");
    sc_wire_free(&w);
    sc_fleet_free(f);
}

static void test_origins_are_bounded_and_named(void)
{
    sc_fleet *f;
    sc_wire_writer w = {0};
    char name[16];
    CHECK(sc_fleet_new(&f) == SC_OK, "new");
    rec r[] = {{"192.0.2.1", 1}};
    sc_wire_batch b = batch(&w, SC_WIRE_FULL, 1, 1, r, 1);
    for (int i = 0; i < SC_FLEET_ORIGINS; i++) {
        snprintf(name, sizeof name, "n%d", i);
        EXPECT_APPLY(f, name, &b, SC_APPLY_OK);
    }
    EXPECT_APPLY(f, "one-too-many", &b, SC_APPLY_FULL_TABLE);
    CHECK(count(f, "192.0.2.1") == SC_FLEET_ORIGINS, "every origin counted");
    CHECK(sc_fleet_apply(f, "", 0, &b) != SC_APPLY_OK, "an empty name");
    sc_wire_batch d = batch(&w, SC_WIRE_DELTA, 1, 2, r, 1);
    CHECK(sc_fleet_apply(f, "new", 3, &d) == SC_APPLY_UNSYNCED, "a delta of an unknown origin");
    sc_wire_free(&w);
    sc_fleet_free(f);
}

/* a reader counts while full states of 10 and 20 sessions swap in: the
 * replica's sum moves session by session from one to the other (each
 * address once), so a count lies between the lowest and the highest that
 * some order of those sessions' changes passes through (4 and 26 here:
 * 10.9.0.1 loses 6 before 10.0.0.1 gains 11, or 10.0.0.1 and 10.200.0.1
 * gain 16 before 10.9.0.1 loses 6), and never drops the origin whole */
typedef struct swap_run {
    sc_fleet *f;
    sc_prefix p;   /* made by the main thread: CHECK's counters are not shared */
    atomic_bool stop;
    unsigned long reads, torn;
} swap_run;

static void *reader(void *arg)
{
    swap_run *s = arg;
    while (!atomic_load(&s->stop)) {
        uint64_t n = sc_fleet_count(s->f, &s->p);
        s->reads++;
        if (n < 4 || n > 26) s->torn++;
    }
    return NULL;
}

static void test_count_sees_each_session_before_or_after_while_states_swap(void)
{
    swap_run s = {0};
    sc_wire_writer w = {0};
    pthread_t t;
    rec ten[] = {{"10.0.0.1", 4}, {"10.9.0.1", 6}};
    rec twenty[] = {{"10.0.0.1", 15}, {"10.200.0.1", 5}};
    CHECK(sc_fleet_new(&s.f) == SC_OK, "new");
    s.p = pfx("10.0.0.0/8");
    sc_wire_batch b = batch(&w, SC_WIRE_FULL, 1, 0, ten, 2);
    EXPECT_APPLY(s.f, "mx", &b, SC_APPLY_OK);
    CHECK(pthread_create(&t, NULL, reader, &s) == 0, "reader");
    for (uint64_t seq = 1; seq <= 300; seq++) {
        b = batch(&w, SC_WIRE_FULL, 1, seq, seq % 2 ? twenty : ten, 2);
        EXPECT_APPLY(s.f, "mx", &b, SC_APPLY_OK);
    }
    atomic_store(&s.stop, true);
    pthread_join(t, NULL);
    CHECK(s.torn == 0, "%lu of %lu counts outside 4..26", s.torn, s.reads);
    CHECK(sc_fleet_count(s.f, &s.p) == 10, "the last state, exactly");
    CHECK(s.reads > 0, "the reader counted");
    sc_wire_free(&w);
    sc_fleet_free(s.f);
}

/* ---- series.  Windows of 60 s, 5 of them; time E0 * 60 is window E0. */
#define E0 30000000
#define EVENTS "E0:60,5"
#define SENDERS "N1:60,5:senders"

typedef struct srec { const char *series, *key; int64_t epoch, n; } srec;

/* a batch of series changes (key: an address, or a string for SENDERS) */
static sc_wire_batch sbatch(sc_wire_writer *w, int kind, uint64_t inc, uint64_t seq,
                            const srec *r, size_t n)
{
    CHECK(sc_wire_begin(w, kind, inc, seq) == SC_OK, "begin");
    for (size_t i = 0; i < n; i++) {
        uint8_t k[SC_SKEY_MAX];
        sc_addr a;
        sc_skey sk = {r[i].series, strlen(r[i].series), r[i].epoch, 0, (const uint8_t *)r[i].key,
                      strlen(r[i].key)};
        if (strcmp(r[i].series, SENDERS) != 0) {
            CHECK(sc_parse_addr(r[i].key, strlen(r[i].key), &a, NULL) == SC_OK, "%s", r[i].key);
            sk.type = a.family;
            sk.key = a.bytes;
            sk.klen = a.family == SC_INET4 ? 4 : 16;
        }
        CHECK(sc_wire_add_series(w, k, sc_skey_encode(&sk, k), r[i].n) == SC_OK, "add %s %s",
              r[i].series, r[i].key);
    }
    return parsed(w);
}

/* windows startv..endv at window `at` of EVENTS under cidr, or of SENDERS' key */
static uint64_t scount(sc_fleet *f, const char *series, const char *what, unsigned startv,
                       unsigned endv, int64_t at)
{
    if (!strcmp(series, SENDERS))
        return sc_fleet_series_count(f, series, strlen(series), NULL, what, strlen(what), startv,
                                     endv, at * 60);
    sc_prefix p = pfx(what);
    return sc_fleet_series_count(f, series, strlen(series), &p, NULL, 0, startv, endv, at * 60);
}

static void test_series_changes_count_per_origin_and_window(void)
{
    sc_fleet *f;
    sc_wire_writer w = {0};
    CHECK(sc_fleet_new(&f) == SC_OK, "new");
    srec a_full[] = {{EVENTS, "192.0.2.7", E0 - 1, 4}, {EVENTS, "192.0.2.9", E0, 2},
                     {SENDERS, "x@y", E0, 5}, {EVENTS, "2001:db8::1", E0, 1}};
    srec b_full[] = {{EVENTS, "192.0.2.200", E0, 10}, {SENDERS, "x@y", E0 - 2, 1}};
    sc_wire_batch b = sbatch(&w, SC_WIRE_FULL, 1, 0, a_full, 4);
    EXPECT_APPLY(f, "a", &b, SC_APPLY_OK);
    b = sbatch(&w, SC_WIRE_FULL, 1, 0, b_full, 2);
    EXPECT_APPLY(f, "b", &b, SC_APPLY_OK);
    CHECK(scount(f, EVENTS, "192.0.2.0/24", 0, 4, E0) == 16, "both origins, every window: %llu",
          (unsigned long long)scount(f, EVENTS, "192.0.2.0/24", 0, 4, E0));
    CHECK(scount(f, EVENTS, "192.0.2.0/24", 0, 0, E0) == 12, "window 0 alone");
    CHECK(scount(f, EVENTS, "192.0.2.0/24", 1, 1, E0) == 4, "window 1 alone");
    CHECK(scount(f, EVENTS, "::/0", 0, 4, E0) == 1, "IPv6 apart");
    CHECK(scount(f, SENDERS, "x@y", 0, 4, E0) == 6 && scount(f, SENDERS, "x@", 0, 4, E0) == 0,
          "a string series by exact key");
    CHECK(scount(f, "E1:60,5", "0.0.0.0/0", 0, 4, E0) == 0 &&
          scount(f, "E0:60,6", "0.0.0.0/0", 0, 5, E0) == 0,
          "another kind or monitor is another series");
    /* deltas: only what each did; a take never below zero */
    srec a_delta[] = {{EVENTS, "192.0.2.9", E0, -2}, {EVENTS, "192.0.2.10", E0 + 1, 3}};
    b = sbatch(&w, SC_WIRE_DELTA, 1, 1, a_delta, 2);
    EXPECT_APPLY(f, "a", &b, SC_APPLY_OK);
    CHECK(scount(f, EVENTS, "192.0.2.0/24", 0, 4, E0 + 1) == 17, "after a's delta: %llu",
          (unsigned long long)scount(f, EVENTS, "192.0.2.0/24", 0, 4, E0 + 1));
    CHECK(scount(f, EVENTS, "192.0.2.9/32", 0, 4, E0 + 1) == 0, "a take of all it held");
    EXPECT_APPLY(f, "a", &b, SC_APPLY_DUPLICATE);
    CHECK(scount(f, EVENTS, "192.0.2.0/24", 0, 4, E0 + 1) == 17, "a duplicate changed nothing");
    /* a gap drops a's series, not b's */
    b = sbatch(&w, SC_WIRE_DELTA, 1, 5, a_delta, 1);
    EXPECT_APPLY(f, "a", &b, SC_APPLY_GAP);
    CHECK(scount(f, EVENTS, "192.0.2.0/24", 0, 4, E0) == 10 &&
          scount(f, SENDERS, "x@y", 0, 4, E0) == 1, "only b's left");
    /* a restarted: its new full state alone */
    srec a_new[] = {{EVENTS, "192.0.2.1", E0, 1}};
    b = sbatch(&w, SC_WIRE_FULL, 2, 0, a_new, 1);
    EXPECT_APPLY(f, "a", &b, SC_APPLY_OK);
    CHECK(scount(f, EVENTS, "192.0.2.0/24", 0, 4, E0) == 11, "a's new incarnation, once");
    sc_fleet_drop(f, "b", 1);
    CHECK(scount(f, EVENTS, "192.0.2.0/24", 0, 4, E0) == 1 && scount(f, SENDERS, "x@y", 0, 4, E0) == 0,
          "b dropped: its series gone");
    /* the ring moves on with the reader's time: window E0 is in it at
     * E0 + 4, gone at E0 + 5 */
    CHECK(scount(f, EVENTS, "192.0.2.0/24", 4, 4, E0 + 4) == 1, "window 4 at E0 + 4");
    CHECK(scount(f, EVENTS, "192.0.2.0/24", 0, 4, E0 + 5) == 0, "gone once it left the ring");
    sc_wire_free(&w);
    sc_fleet_free(f);
}

static void test_an_origin_with_too_many_series_is_dropped(void)
{
    sc_fleet *f;
    sc_wire_writer w = {0};
    static char names[SC_FLEET_SERIES + 1][32];
    srec r[SC_FLEET_SERIES + 1];
    CHECK(sc_fleet_new(&f) == SC_OK, "new");
    for (int i = 0; i <= SC_FLEET_SERIES; i++) {
        snprintf(names[i], sizeof names[i], "N0:60,5:s%d", i);
        r[i] = (srec){names[i], "192.0.2.1", E0, 1};
    }
    sc_wire_batch b = sbatch(&w, SC_WIRE_FULL, 1, 0, r, SC_FLEET_SERIES);
    EXPECT_APPLY(f, "a", &b, SC_APPLY_OK);
    CHECK(scount(f, names[SC_FLEET_SERIES - 1], "192.0.2.0/24", 0, 4, E0) == 1, "the last allowed");
    b = sbatch(&w, SC_WIRE_DELTA, 1, 1, r + SC_FLEET_SERIES, 1);
    EXPECT_APPLY(f, "a", &b, SC_APPLY_SERIES_LIMIT);
    CHECK(scount(f, names[0], "192.0.2.0/24", 0, 4, E0) == 0, "dropped whole");
    b = sbatch(&w, SC_WIRE_FULL, 1, 2, r, SC_FLEET_SERIES + 1);
    EXPECT_APPLY(f, "a", &b, SC_APPLY_SERIES_LIMIT);
    sc_wire_free(&w);
    sc_fleet_free(f);
}

int main(void)
{
    sc_wire_key("fleet", 5, key);
    RUN(test_full_state_then_deltas_in_order);
    RUN(test_restart_never_counts_old_sessions_twice);
    RUN(test_bad_delta_drops_its_origin_only);
    RUN(test_origins_are_bounded_and_named);
    RUN(test_count_sees_each_session_before_or_after_while_states_swap);
    RUN(test_series_changes_count_per_origin_and_window);
    RUN(test_an_origin_with_too_many_series_is_dropped);
    return check_done();
}
