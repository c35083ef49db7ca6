/*
 * sc_cluster_pub.c: this node's side of the fleet.  Every tick the
 * journal's changes are merged per address (an address closed on one CPU
 * and opened on another must reach the fleet as its net change, or a
 * replica could see a close before its open), added to `state` (the
 * sessions the fleet has been told of) and shipped as one delta.  A full
 * state (all of `state`) goes out at the first contact, after any doubt (a
 * lost connection, a refused write, a new Redis) and whenever the deltas
 * since the last one outweigh it; the log is then trimmed to the deltas
 * after it, which bounds Redis's memory by about twice the full state.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "sc_cluster_int.h"
#include "sc_journal.h"

sc_status sc_cl_pub_init(sc_cluster *c)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    /* microseconds of the real clock: a restart takes a larger one (the
     * first contact also puts it past whatever the log holds) */
    c->incarnation = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
    c->st.incarnation = c->incarnation;
    c->need_full = true;
    return SC_OK;
}

int sc_cl_seed(void *arg, const sc_addr *a, int64_t n)
{
    sc_cluster *c = arg;
    return sc_addrmap_add(&c->state, a, n) != SC_OK;
}

static int merge(void *arg, const sc_addr *a, int64_t n)
{
    return sc_addrmap_add(arg, a, n) != SC_OK;
}

/* Records of n sessions (either sign) of a: as many as |n| needs. */
static sc_status write_count(sc_wire_writer *w, const sc_addr *a, int64_t n)
{
    while (n != 0) {
        int64_t part = n > SC_WIRE_COUNT_MAX ? SC_WIRE_COUNT_MAX
                     : n < -SC_WIRE_COUNT_MAX ? -SC_WIRE_COUNT_MAX : n;
        sc_status st = sc_wire_add(w, a, (int32_t)part);
        if (st != SC_OK) return st;
        n -= part;
    }
    return SC_OK;
}

typedef struct delta_ctx {
    sc_cluster *c;
    bool failed;
} delta_ctx;

static int ship_one(void *arg, const sc_addr *a, int64_t n)
{
    delta_ctx *d = arg;
    if (sc_addrmap_add(&d->c->state, a, n) != SC_OK || write_count(&d->c->w, a, n) != SC_OK)
        d->failed = true;
    return d->failed;
}

static int full_one(void *arg, const sc_addr *a, int64_t n)
{
    return write_count(arg, a, n) != SC_OK;
}

/* ---- series changes: merged per key over the stripes, as sessions are,
 * added to `sstate` and shipped as records of their own. */

static int smerge(void *arg, const uint8_t *k, size_t len, int64_t n)
{
    return sc_keymap_add(arg, k, len, n) != SC_OK;
}

static int ship_series(void *arg, const uint8_t *k, size_t len, int64_t n)
{
    delta_ctx *d = arg;
    if (sc_keymap_add(&d->c->sstate, k, len, n) != SC_OK ||
        sc_wire_add_series(&d->c->w, k, len, n) != SC_OK)
        d->failed = true;
    return d->failed;
}

static int full_series(void *arg, const uint8_t *k, size_t len, int64_t n)
{
    return n > 0 && sc_wire_add_series(arg, k, len, n) != SC_OK;
}

/* Which windows are still in their series' ring: the ring of each series
 * ends at the newest window this node told of (its clock, whatever it is:
 * a host may drive time itself), so the state forgets what the series
 * itself has forgotten and stays bounded. */
typedef struct ring_end {
    const char *name;
    size_t len;
    int64_t newest, windows;
} ring_end;

typedef struct rings {
    ring_end *v;
    size_t n, cap;
    bool failed;
} rings;

static ring_end *ring_of(rings *r, const sc_skey *k)
{
    for (size_t i = 0; i < r->n; i++)
        if (r->v[i].len == k->slen && memcmp(r->v[i].name, k->sname, k->slen) == 0)
            return &r->v[i];
    return NULL;
}

static int ring_see(void *arg, const uint8_t *key, size_t len, int64_t n)
{
    rings *r = arg;
    sc_skey k;
    sc_series_kind kind;
    sc_monitor m;
    (void)n;
    if (!sc_skey_decode(key, len, &k)) return 0;
    ring_end *e = ring_of(r, &k);
    if (e) {
        if (k.epoch > e->newest) e->newest = k.epoch;
        return 0;
    }
    if (!sc_sname_parse(k.sname, k.slen, &kind, &m)) return 0;   /* once a series: its ring */
    if (r->n == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 16;
        ring_end *v = realloc(r->v, cap * sizeof *v);
        if (!v) return r->failed = true;
        r->v = v;
        r->cap = cap;
    }
    r->v[r->n++] = (ring_end){k.sname, k.slen, k.epoch, m.windows};
    return 0;
}

static int ring_keep(void *arg, const uint8_t *key, size_t len, int64_t n)
{
    sc_skey k;
    (void)n;
    if (!sc_skey_decode(key, len, &k)) return 0;
    const ring_end *e = ring_of(arg, &k);
    return e && k.epoch > e->newest - e->windows;
}

/* Forgets the windows that have left their series' ring. */
static void prune_series(sc_cluster *c)
{
    rings r = {0};
    sc_keymap_each(&c->sstate, ring_see, &r);
    if (!r.failed) sc_keymap_prune(&c->sstate, ring_keep, &r);   /* names point into sstate: */
    free(r.v);                                                   /* each entry kept or gone */
}

/* The journal lost a change (out of memory): take the table again. */
static void reseed(sc_cluster *c)
{
    sc_cl_log(c, "journal overflowed: taking this node's sessions from the table again");
    sc_journal_stop(c->table);
    sc_addrmap_clear(&c->state);
    if (sc_journal_start(c->table, sc_cl_seed, c) != SC_OK) sc_addrmap_clear(&c->state);
    c->need_full = true;
}

static void xadd(sc_cluster *c, const uint8_t *bytes, size_t len)
{
    char key[SC_KEY_MAX], id[48];
    sc_cl_key(c, "log", c->node, key);
    snprintf(id, sizeof id, "%" PRIu64 "-%" PRIu64, c->incarnation, c->seq);
    const char *argv[5] = {"XADD", key, id, "b", (const char *)bytes};
    size_t lens[5] = {4, strlen(key), strlen(id), 1, len};
    redisReply *r = sc_cl_cmd(c, 5, argv, lens);
    if (!r) {
        c->need_full = true;   /* it may or may not have landed */
        return;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        /* a stranger's entry above ours, or the key of another type:
         * start the log again; the full state covers what is lost */
        sc_cl_log(c, "XADD refused (%.*s): restarting the log", (int)r->len, r->str);
        sc_cl_ok(c, sc_cl_cmdf(c, "DEL %s", key), "DEL log");
        c->need_full = true;
    } else {
        SC_CL_BUMP(c, batches_sent, 1);
        c->delta_bytes += len;
    }
    freeReplyObject(r);
}

static void ship_deltas(sc_cluster *c)
{
    sc_addrmap *changes = &c->merged;   /* kept from tick to tick: no regrowing */
    sc_addrmap_clear(changes);
    sc_keymap_clear(&c->smerged);
    if (!sc_journal_drain(c->table, merge, changes)) {
        reseed(c);
        return;
    }
    if (!sc_journal_drain_series(c->table, smerge, &c->smerged)) {
        /* the series cannot be taken again from the table (a string key is
         * kept only as its hash): say so, carry on with what was noted */
        sc_cl_log(c, "journal lost series changes (out of memory): this node's part of fleet "
                     "series counts is short until those windows pass");
        SC_CL_BUMP(c, series_lost, 1);
    }
    if (sc_addrmap_nonzero(changes) == 0 && c->smerged.used == 0) return;
    delta_ctx d = {c, false};
    const uint8_t *bytes;
    size_t len;
    if (sc_wire_begin(&c->w, SC_WIRE_DELTA, c->incarnation, c->seq + 1) != SC_OK) d.failed = true;
    if (!d.failed) sc_addrmap_each(changes, ship_one, &d);
    if (!d.failed) sc_keymap_each(&c->smerged, ship_series, &d);
    c->seq++;
    if (d.failed || sc_wire_finish(&c->w, c->key, &bytes, &len) != SC_OK) {
        reseed(c);   /* state may be half updated: take it again whole */
        return;
    }
    if (c->rc && !c->need_full)
        xadd(c, bytes, len);
    else
        c->need_full = true;   /* the full state will carry it */
}

static void ship_full(sc_cluster *c)
{
    char key[SC_KEY_MAX], logkey[SC_KEY_MAX];
    const uint8_t *bytes;
    size_t len;
    sc_addrmap_compact(&c->state);   /* best effort: a failure keeps it as it was */
    prune_series(c);
    if (sc_wire_begin(&c->w, SC_WIRE_FULL, c->incarnation, c->seq) != SC_OK ||
        sc_addrmap_each(&c->state, full_one, &c->w) != 0 ||
        sc_keymap_each(&c->sstate, full_series, &c->w) != 0 ||
        sc_wire_finish(&c->w, c->key, &bytes, &len) != SC_OK)
        return;   /* out of memory: try again next tick */
    sc_cl_key(c, "full", c->node, key);
    const char *argv[3] = {"SET", key, (const char *)bytes};
    size_t lens[3] = {3, strlen(key), len};
    if (!sc_cl_ok(c, sc_cl_cmd(c, 3, argv, lens), "SET full state")) return;
    /* the log keeps the deltas after the full state before this one: a
     * reader a little behind goes on reading; one behind that resyncs
     * (the live key tells it where the log starts) */
    sc_cl_key(c, "log", c->node, logkey);
    char minid[48];
    snprintf(minid, sizeof minid, "%" PRIu64 "-%" PRIu64, c->incarnation, c->full_seq + 1);
    if (sc_cl_ok(c, sc_cl_cmdf(c, "XTRIM %s MINID %s", logkey, minid), "XTRIM log"))
        c->trim_seq = c->full_seq;
    c->full_seq = c->seq;
    c->next_lease_ms = 0;   /* tell readers where the log starts now */
    c->need_full = false;
    c->delta_bytes = 0;
    c->full_bytes = len;
    SC_CL_BUMP(c, full_sent, 1);
}

/* The lease: this node's live key, renewed four times a lease. */
static void renew(sc_cluster *c)
{
    int64_t now = sc_cl_now_ms();
    if (now < c->next_lease_ms) return;
    char key[SC_KEY_MAX], nodes[SC_KEY_MAX];
    sc_cl_key(c, "live", c->node, key);
    sc_cl_key(c, "nodes", NULL, nodes);
    if (sc_cl_ok(c, sc_cl_cmdf(c, "SET %s %" PRIu64 ":%" PRIu64 " PX %lld", key, c->incarnation,
                               c->trim_seq, (long long)c->lease_ms), "SET live") &&
        sc_cl_ok(c, sc_cl_cmdf(c, "SADD %s %s", nodes, c->node), "SADD nodes"))
        c->next_lease_ms = now + c->lease_ms / 4;
}

/* The first contact: an incarnation above any entry of this node's log
 * (a clock stepped back must not make a restart look older). */
static void settle_incarnation(sc_cluster *c)
{
    char key[SC_KEY_MAX];
    sc_cl_key(c, "log", c->node, key);
    redisReply *r = sc_cl_cmdf(c, "XREVRANGE %s + - COUNT 1", key);
    if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
        r->element[0]->type == REDIS_REPLY_ARRAY && r->element[0]->elements >= 1 &&
        r->element[0]->element[0]->type == REDIS_REPLY_STRING) {
        uint64_t last = strtoull(r->element[0]->element[0]->str, NULL, 10);
        if (last >= c->incarnation && c->seq == 0) {
            c->incarnation = last + 1;
            pthread_mutex_lock(&c->status_lock);
            c->st.incarnation = c->incarnation;
            pthread_mutex_unlock(&c->status_lock);
        }
    }
    if (r) freeReplyObject(r);
}

void sc_cl_publish(sc_cluster *c)
{
    bool first = c->rc && c->st.full_sent == 0 && c->need_full;
    if (first) settle_incarnation(c);
    ship_deltas(c);
    size_t every = c->full_bytes > c->full_every ? c->full_bytes : c->full_every;
    if (c->rc && (c->need_full || c->delta_bytes > every))
        ship_full(c);
    if (c->rc && !c->need_full) renew(c);
}

void sc_cl_unpublish(sc_cluster *c)
{
    if (!c->rc) return;
    char live[SC_KEY_MAX], full[SC_KEY_MAX], log[SC_KEY_MAX], nodes[SC_KEY_MAX];
    sc_cl_key(c, "live", c->node, live);
    sc_cl_key(c, "full", c->node, full);
    sc_cl_key(c, "log", c->node, log);
    sc_cl_key(c, "nodes", NULL, nodes);
    if (sc_cl_ok(c, sc_cl_cmdf(c, "DEL %s %s %s", live, full, log), "DEL") &&
        sc_cl_ok(c, sc_cl_cmdf(c, "SREM %s %s", nodes, c->node), "SREM"))
        sc_cl_log(c, "left the cluster");
}
