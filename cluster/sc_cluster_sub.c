/*
 * sc_cluster_sub.c: the other nodes.  A peer is a name in the cluster's
 * node set whose live key exists; it is counted once its full state is
 * applied (synced), and from then on its log is read from the entry after
 * that state.  Anything that does not decode, or does not follow, drops
 * the peer from the fleet until its next full state (sc_replica.h);
 * a peer whose live key is gone for a lease is forgotten.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sc_cluster_int.h"

static sc_peer *find(sc_cluster *c, const char *name, size_t len)
{
    for (unsigned i = 0; i < c->npeers; i++)
        if (c->peer[i].namelen == len && memcmp(c->peer[i].name, name, len) == 0)
            return &c->peer[i];
    return NULL;
}

static bool good_name(const char *s, size_t n)
{
    if (n == 0 || n > SC_CLUSTER_NAME_MAX) return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '.' || ch == '_' || ch == '-'))
            return false;
    }
    return true;
}

static void unsync(sc_cluster *c, sc_peer *p, bool drop)
{
    if (drop) sc_fleet_drop(c->fleet, p->name, p->namelen);
    p->synced = false;
    p->next_full_ms = sc_cl_now_ms();
}

static void forget(sc_cluster *c, unsigned i, const char *why)
{
    sc_peer *p = &c->peer[i];
    sc_fleet_drop(c->fleet, p->name, p->namelen);
    sc_cl_log(c, "node %s no longer counted: %s", p->name, why);
    c->peer[i] = c->peer[--c->npeers];
}

void sc_cl_forget_all(sc_cluster *c, const char *why)
{
    while (c->npeers) forget(c, c->npeers - 1, why);
}

void sc_cl_resync_all(sc_cluster *c)
{
    for (unsigned i = 0; i < c->npeers; i++) unsync(c, &c->peer[i], false);
}

/* Names of the node set: new peers, and bad names counted once each; a
 * peer that left the set left the cluster (outside a new Redis's grace). */
static void discover(sc_cluster *c, redisReply *r)
{
    size_t bad = 0;
    bool listed[SC_PEERS] = {false};
    for (size_t i = 0; i < r->elements; i++) {
        redisReply *e = r->element[i];
        if (e->type != REDIS_REPLY_STRING) continue;
        if (!good_name(e->str, e->len)) {
            if (++bad > c->bad_names) sc_cl_refused(c, "(node set)", "a node name that is not one");
            continue;
        }
        if (strlen(c->node) == e->len && memcmp(e->str, c->node, e->len) == 0) continue;
        sc_peer *known = find(c, e->str, e->len);
        if (known) listed[known - c->peer] = true;
        if (known || c->npeers == SC_PEERS) continue;
        listed[c->npeers] = true;
        sc_peer *p = &c->peer[c->npeers++];
        memset(p, 0, sizeof *p);
        memcpy(p->name, e->str, e->len);
        p->namelen = e->len;
        p->last_live_ms = sc_cl_now_ms();   /* a lease to show its live key */
    }
    c->bad_names = bad;
    if (sc_cl_now_ms() < c->grace_until_ms) return;
    for (unsigned i = c->npeers; i-- > 0;)
        if (!listed[i]) forget(c, i, "it left the cluster");
}

/* One peer's live key, "<incarnation>:<seq the log starts after>", or
 * gone.  A reader behind the start of the log takes the full state: XREAD
 * would skip the trimmed entries silently, and nothing may follow them. */
static void liveness(sc_cluster *c, sc_peer *p, redisReply *r, int64_t now)
{
    if (r && r->type == REDIS_REPLY_NIL && now >= c->grace_until_ms) {
        p->last_live_ms = INT64_MIN / 2;   /* expired or deleted: its lease ran out, or it left */
        return;
    }
    if (!r || r->type != REDIS_REPLY_STRING) return;
    char *end, *end2 = NULL;
    char buf[48];
    snprintf(buf, sizeof buf, "%.*s", (int)r->len, r->str);
    uint64_t inc = strtoull(buf, &end, 10), trim = 0;
    if (*end == ':') trim = strtoull(end + 1, &end2, 10);
    if (end == buf || *end != ':' || end2 == end + 1 || *end2) {
        sc_cl_refused(c, p->name, "a live key that is not <incarnation>:<seq>");
        return;
    }
    p->last_live_ms = now;
    if (inc > p->live_inc) {
        if (p->live_inc) sc_cl_log(c, "node %s restarted: waiting for its full state", p->name);
        p->live_inc = inc;
        unsync(c, p, true);   /* its old sessions stop counting at once */
    } else if (p->synced && inc == p->live_inc && p->seq < trim) {
        sc_cl_log(c, "node %s: its log was trimmed past what was read: resync", p->name);
        unsync(c, p, false);  /* its full state replaces the view at once */
        SC_CL_BUMP(c, resyncs, 1);
    }
}

static void fetch_full(sc_cluster *c, sc_peer *p, int64_t now)
{
    char key[SC_KEY_MAX];
    sc_cl_key(c, "full", p->name, key);
    redisReply *r = sc_cl_cmdf(c, "GET %s", key);
    if (!r) return;
    p->next_full_ms = now + 100;
    if (r->type == REDIS_REPLY_STRING) {
        sc_wire_batch b;
        size_t off = 0;
        sc_wire_refusal why = sc_wire_parse(c->key, r->str, r->len, &b, &off);
        char text[80];
        if (why == SC_WIRE_OK && b.kind != SC_WIRE_FULL) why = SC_WIRE_KIND;
        if (why != SC_WIRE_OK) {
            snprintf(text, sizeof text, "full state: %s at offset %zu", sc_wire_reason(why), off);
            sc_cl_refused(c, p->name, text);
            sc_fleet_drop(c->fleet, p->name, p->namelen);
            p->next_full_ms = now + 1000;   /* refused again only once it may have changed */
        } else if (b.incarnation >= p->live_inc) {
            sc_apply a = sc_fleet_apply(c->fleet, p->name, p->namelen, &b);
            if (a == SC_APPLY_OK || a == SC_APPLY_DUPLICATE) {
                p->synced = true;
                p->seq = b.seq;
                snprintf(p->cursor, sizeof p->cursor, "%" PRIu64 "-%" PRIu64, b.incarnation, b.seq);
                SC_CL_BUMP(c, full_applied, 1);
            } else {
                sc_cl_log(c, "full state of node %s: %s", p->name, sc_apply_name(a));
            }
        }   /* else an older incarnation's: the restarted node has not published yet */
    }
    freeReplyObject(r);
}

void sc_cl_peers(sc_cluster *c)
{
    int64_t now = sc_cl_now_ms(), period = c->lease_ms / 5 < 200 ? c->lease_ms / 5 : 200;
    if (now >= c->next_peers_ms) {
        char key[SC_KEY_MAX];
        c->next_peers_ms = now + (period > c->tick_ms ? period : c->tick_ms);
        sc_cl_key(c, "nodes", NULL, key);
        redisReply *r = sc_cl_cmdf(c, "SMEMBERS %s", key);
        if (!r) return;
        if (r->type == REDIS_REPLY_ARRAY) discover(c, r);
        freeReplyObject(r);
        for (unsigned i = 0; i < c->npeers && c->rc; i++) {
            sc_cl_key(c, "live", c->peer[i].name, key);
            redisReply *l = sc_cl_cmdf(c, "GET %s", key);
            liveness(c, &c->peer[i], l, now);
            if (l) freeReplyObject(l);
        }
        for (unsigned i = 0; i < c->npeers;)
            if (now - c->peer[i].last_live_ms >= c->lease_ms)
                forget(c, i, "its lease ran out");
            else
                i++;
    }
    for (unsigned i = 0; i < c->npeers && c->rc; i++)
        if (!c->peer[i].synced && c->peer[i].live_inc && now >= c->peer[i].next_full_ms)
            fetch_full(c, &c->peer[i], now);
}

/* ------------------------------------------------------------ the logs */

static sc_peer *peer_of_key(sc_cluster *c, const redisReply *k)
{
    char prefix[SC_KEY_MAX];
    sc_cl_key(c, "log", "", prefix);
    size_t n = strlen(prefix);
    if (k->type != REDIS_REPLY_STRING || k->len <= n || memcmp(k->str, prefix, n) != 0) return NULL;
    return find(c, k->str + n, k->len - n);
}

static const redisReply *batch_field(const redisReply *fields)
{
    if (fields->type != REDIS_REPLY_ARRAY) return NULL;
    for (size_t i = 0; i + 1 < fields->elements; i += 2)
        if (fields->element[i]->type == REDIS_REPLY_STRING && fields->element[i]->len == 1 &&
            fields->element[i]->str[0] == 'b' && fields->element[i + 1]->type == REDIS_REPLY_STRING)
            return fields->element[i + 1];
    return NULL;
}

/* One log entry of p; false when p must resync (the rest of its entries
 * in this reply are skipped). */
static bool entry(sc_cluster *c, sc_peer *p, const redisReply *e)
{
    if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 || e->element[0]->type != REDIS_REPLY_STRING)
        return true;
    snprintf(p->cursor, sizeof p->cursor, "%.*s", (int)e->element[0]->len, e->element[0]->str);
    const redisReply *v = batch_field(e->element[1]);
    sc_wire_batch b;
    size_t off = 0;
    sc_wire_refusal why = v ? sc_wire_parse(c->key, v->str, v->len, &b, &off) : SC_WIRE_SHORT;
    if (why != SC_WIRE_OK) {
        char text[96];
        snprintf(text, sizeof text, "log entry %s: %s at offset %zu", p->cursor,
                 v ? sc_wire_reason(why) : "no batch field", off);
        sc_cl_refused(c, p->name, text);
        unsync(c, p, true);
        SC_CL_BUMP(c, resyncs, 1);
        return false;
    }
    sc_apply a = sc_fleet_apply(c->fleet, p->name, p->namelen, &b);
    if (a == SC_APPLY_OK || a == SC_APPLY_DUPLICATE) p->seq = b.seq > p->seq ? b.seq : p->seq;
    if (a == SC_APPLY_OK) {
        if (b.kind == SC_WIRE_FULL)
            SC_CL_BUMP(c, full_applied, 1);
        else
            SC_CL_BUMP(c, batches_applied, 1);
        return true;
    }
    if (a == SC_APPLY_DUPLICATE) return true;
    sc_cl_log(c, "log of node %s at %s: %s", p->name, p->cursor, sc_apply_name(a));
    unsync(c, p, true);
    SC_CL_BUMP(c, resyncs, 1);
    return false;
}

void sc_cl_read(sc_cluster *c)
{
    /* No BLOCK: Redis times blocked clients out on its own clock (hz 10:
     * 100 ms steps), and a thread blocked there would hold this node's
     * own changes back as long.  One read a tick instead. */
    const char *argv[4 + 2 * SC_PEERS];
    size_t lens[4 + 2 * SC_PEERS];
    char keys[SC_PEERS][SC_KEY_MAX];
    int argc = 0, n = 0;
    const char *head[4] = {"XREAD", "COUNT", "1000", "STREAMS"};
    for (int i = 0; i < 4; i++) argv[argc++] = head[i];
    for (unsigned i = 0; i < c->npeers; i++)
        if (c->peer[i].synced) sc_cl_key(c, "log", c->peer[i].name, keys[n]), argv[argc++] = keys[n++];
    if (n == 0) return;
    for (unsigned i = 0; i < c->npeers; i++)
        if (c->peer[i].synced) argv[argc++] = c->peer[i].cursor;
    for (int i = 0; i < argc; i++) lens[i] = strlen(argv[i]);
    redisReply *r = sc_cl_cmd(c, argc, argv, lens);
    if (!r) return;
    if (r->type == REDIS_REPLY_ERROR) sc_cl_log(c, "XREAD: redis said %.*s", (int)r->len, r->str);
    for (size_t s = 0; r->type == REDIS_REPLY_ARRAY && s < r->elements; s++) {
        const redisReply *st = r->element[s];
        if (st->type != REDIS_REPLY_ARRAY || st->elements != 2) continue;
        sc_peer *p = peer_of_key(c, st->element[0]);
        const redisReply *es = st->element[1];
        if (!p || !p->synced || es->type != REDIS_REPLY_ARRAY) continue;
        for (size_t i = 0; i < es->elements && entry(c, p, es->element[i]); i++) {
        }
    }
    freeReplyObject(r);
    if (c->rc == NULL) return;
}
