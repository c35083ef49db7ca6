/*
 * sc_diff.c: the differential harness (see sc_diff.h).  One seeded
 * splitmix64 stream draws every operation; each runs on both tables and the
 * two answers are compared before the next, and against the model: the
 * open sessions (pool index, service) and their count by the harness's own
 * address rules (sc_diff_model.h).  The pool holds addresses as the model
 * normalises them; what the tables are handed is sometimes another
 * spelling (IPv4-mapped bytes, text through the parser).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sc_diff.h"
#include "sc_diff_model.h"
#include "sc_internal.h"
#include "sc_rng.h"

static const char *const extra_names[] = {"web", "Submission", "lmtp-in"};
enum { N_EXTRA = 3, N_SVC = SC_SERVICE_FIRST_EXTRA + N_EXTRA };
/* Ops between two censuses of the fast table (a walk of every tree's 2^16
 * top slots): often in wide mode, which must see short-lived N128s. */
enum { CENSUS_EVERY = 65536, CENSUS_EVERY_WIDE = 4096 };

typedef struct answer {
    sc_status st;
    uint64_t n;              /* counts */
    sc_service id;           /* service resolution */
    sc_parse_code code;      /* parse errors */
    size_t off;
} answer;

typedef struct open_sess {
    uint32_t addr;           /* pool index */
    sc_service svc;
} open_sess;

typedef struct ctx {
    const sc_impl *impl[2];
    sc_table *tab[2];
    sc_table *fast;          /* one of tab[] when it is a fast table, else NULL */
    const sc_diff_config *cfg;
    sc_diff_stats stats;
    uint64_t rng;
    sc_addr *pool;           /* normalised by the model's rules */
    size_t npool;
    uint32_t *mult;          /* [npool * N_SVC]: sessions open per address and service */
    open_sess *open;
    size_t nopen, target, phase_left, op;
    char what[384];          /* the current op, in text */
    enum { SHOW_STATUS, SHOW_COUNT, SHOW_ID } shown; /* what an answer of this op holds */
    char *report;
    size_t cap;
} ctx;

/* ------------------------------------------------------------------ randomness */

static uint64_t rnd(ctx *c) { return sc_splitmix(&c->rng); }

static size_t below(ctx *c, size_t n) { return n ? (size_t)(rnd(c) % n) : 0; }
static bool chance(ctx *c, unsigned pct) { return below(c, 100) < pct; }

static sc_addr random_addr(ctx *c, int family)
{
    uint8_t b[16];
    for (int i = 0; i < 16; i++) b[i] = (uint8_t)rnd(c);
    return dm_addr(family, b);
}

/* ------------------------------------------------------------------ text */

static const char *svc_name(sc_service id)
{
    return id < SC_SERVICE_FIRST_EXTRA ? sc_builtin_service_name(id)
                                       : extra_names[id - SC_SERVICE_FIRST_EXTRA];
}

/* The name as is, lower, upper or in random case: "smtp", "SMTP", "sMtP". */
static void vary_case(ctx *c, const char *name, char *out, size_t cap)
{
    size_t mode = below(c, 4), i = 0;
    for (; name[i] && i + 1 < cap; i++) {
        char ch = name[i];
        bool up = mode == 2 || (mode == 3 && chance(c, 50));
        bool low = mode == 1 || (mode == 3 && !up);
        if (up && ch >= 'a' && ch <= 'z') ch = (char)(ch - 32);
        if (low && ch >= 'A' && ch <= 'Z') ch = (char)(ch + 32);
        out[i] = ch;
    }
    out[i] = '\0';
}

static void answer_text(const ctx *c, const answer *a, char *buf, size_t cap)
{
    if (a->st == SC_E_PARSE)
        snprintf(buf, cap, "SC_E_PARSE, code %d (%s) at offset %zu", (int)a->code,
                 sc_parse_reason(a->code), a->off);
    else if (a->st == SC_OK && c->shown == SHOW_COUNT)
        snprintf(buf, cap, "SC_OK, count %llu", (unsigned long long)a->n);
    else if (a->st == SC_OK && c->shown == SHOW_ID)
        snprintf(buf, cap, "SC_OK, service id %u", a->id);
    else
        snprintf(buf, cap, "%s", sc_status_name(a->st));
}

/* ------------------------------------------------------------------ comparing */

static int fail(ctx *c, const answer ans[2], const char *why)
{
    char t0[128], t1[128];
    answer_text(c, &ans[0], t0, sizeof t0);
    answer_text(c, &ans[1], t1, sizeof t1);
    snprintf(c->report, c->cap,
             "%s at op %zu of %zu, seed 0x%016llx (pool %zu, max_open %zu%s, %zu open):\n"
             "  op: %s\n  %s: %s\n  %s: %s",
             why, c->op, c->cfg->ops, (unsigned long long)c->cfg->seed, c->cfg->pool_size,
             c->cfg->max_open, c->cfg->wide ? ", wide" : "", c->nopen, c->what,
             sc_impl_name(c->impl[0]), t0, sc_impl_name(c->impl[1]), t1);
    return 1;
}

static bool same(const answer *a, const answer *b)
{
    if (a->st != b->st || a->n != b->n || a->id != b->id) return false;
    return a->st != SC_E_PARSE || (a->code == b->code && a->off == b->off);
}

/* 0 when both answers agree and fit the model (expect_st < 0: any status;
 * expect_n < 0: any count); otherwise 1 with the report written. */
static int compare(ctx *c, const answer ans[2], int expect_st, long long expect_n)
{
    if (!same(&ans[0], &ans[1])) return fail(c, ans, "answers differ");
    if (expect_st >= 0 && ans[0].st != (sc_status)expect_st) {
        char why[96];
        snprintf(why, sizeof why, "both answer against the model (expected %s)",
                 sc_status_name((sc_status)expect_st));
        return fail(c, ans, why);
    }
    if (expect_n >= 0 && ans[0].st == SC_OK && ans[0].n != (uint64_t)expect_n) {
        char why[96];
        snprintf(why, sizeof why, "both answer against the model (expected count %lld)",
                 expect_n);
        return fail(c, ans, why);
    }
    if (ans[0].st == SC_OK && ans[0].n > c->nopen)
        return fail(c, ans, "a count above the number of open sessions");
    return 0;
}

/* Resolves `name` in both tables: both must give `want`. */
static int resolve_both(ctx *c, const char *name, sc_service want)
{
    answer ans[2] = {{0}};
    for (int k = 0; k < 2; k++)
        ans[k].st = sc_table_service(c->tab[k], name, strlen(name), &ans[k].id);
    c->shown = SHOW_ID;
    int bad = compare(c, ans, SC_OK, -1);
    if (!bad && ans[0].id != want) bad = fail(c, ans, "service resolved to the wrong id");
    c->shown = SHOW_STATUS;
    return bad;
}

/* ------------------------------------------------------------------ the model */

/* Open sessions of `svc` inside `p` (normalised), by the model's rules. */
static long long model_count(const ctx *c, const sc_prefix *p, sc_service svc)
{
    long long n = 0;
    if (svc == SC_SERVICE_INBOUND_CIDR) svc = SC_SERVICE_SMTP; /* the fleet's view: alone, SMTP */
    for (size_t j = 0; j < c->nopen; j++)
        if (c->open[j].svc == svc && dm_in_prefix(&c->pool[c->open[j].addr], p)) n++;
    return n;
}

/* Where fast found the answer to a count of `p`: tallied in the stats. */
static void trace_count(ctx *c, const sc_prefix *p, sc_service svc)
{
    uint64_t n;
    sc_count_trace tr;
    if (!c->fast || !sc_fast_count_traced(c->fast, p, svc, &n, &tr)) return;
    c->stats.paths[tr.path]++;
    if (tr.path == SC_PATH_RUN) c->stats.runs[tr.shape]++;
    if (tr.path == SC_PATH_SLOT) c->stats.slots[tr.shape]++;
}

static void census(ctx *c)
{
    sc_census cs;
    if (!c->fast || !sc_fast_census(c->fast, &cs)) return;
    for (int s = 0; s < SC_SHAPES; s++)
        if (cs.shape[s] > c->stats.shapes_max[s]) c->stats.shapes_max[s] = cs.shape[s];
}

/* ------------------------------------------------------------------ pool */

static uint64_t addr_hash(const sc_addr *a)
{
    uint64_t h = 1469598103934665603u ^ a->family;
    for (int i = 0; i < 16; i++) h = (h ^ a->bytes[i]) * 1099511628211u;
    return h;
}

/* A wide pool's hot areas: an IPv4 /16, a /24 inside it and an IPv6 /48;
 * random bytes past them.  NULL when the draw goes to the clusters. */
static bool hot_addr(ctx *c, size_t r, sc_addr *out)
{
    if (!c->cfg->wide || r >= 60) return false;
    uint8_t b[16];
    for (int i = 0; i < 16; i++) b[i] = (uint8_t)rnd(c);
    if (r < 45) {
        b[0] = 198, b[1] = 18;                  /* 198.18.0.0/16 */
        if (r >= 30) b[2] = 7;                  /* 198.18.7.0/24 */
        *out = dm_addr(SC_INET4, b);
    } else {
        memcpy(b, (const uint8_t[]){0x20, 0x01, 0x0d, 0xb8, 0x0b, 0xad}, 6); /* 2001:db8:bad::/48 */
        *out = dm_addr(SC_INET6, b);
    }
    return true;
}

/* A pool of distinct addresses, clustered around a few bases so that many
 * prefixes of every length hold several of them. */
static bool make_pool(ctx *c)
{
    size_t n = c->cfg->pool_size, hcap = 16;
    while (hcap < 2 * n) hcap *= 2;
    uint32_t *hset = calloc(hcap, sizeof *hset); /* pool index + 1, 0 = empty */
    c->pool = calloc(n, sizeof *c->pool);
    if (!hset || !c->pool) {
        free(hset);
        return false;
    }
    enum { NBASE = 24 };
    sc_addr base[NBASE];
    static const uint8_t doc6[4] = {0x20, 0x01, 0x0d, 0xb8};
    for (int i = 0; i < NBASE; i++) {
        base[i] = random_addr(c, i % 2 ? SC_INET6 : SC_INET4);
        if (i % 6 == 1) memcpy(base[i].bytes, doc6, 4);                   /* 2001:db8::/32 */
        if (i % 6 == 3) memset(base[i].bytes, 0, 12);                     /* near :: */
        if (i % 6 == 4) base[i].bytes[0] = 192, base[i].bytes[1] = 0;     /* 192.0/16 */
    }
    size_t tries = 0;
    while (c->npool < n && tries++ < 50 * n) {
        sc_addr a;
        size_t r = below(c, 100);
        if (hot_addr(c, r, &a)) {
            /* drawn */
        } else if (r >= 94 && c->npool) {
            /* an IPv6 twin of an IPv4 entry: its very bytes, or ::a.b.c.d */
            const sc_addr *v4 = &c->pool[below(c, c->npool)];
            if (v4->family != SC_INET4) continue;
            uint8_t b[16] = {0};
            memcpy(b + (r % 2 ? 0 : 12), v4->bytes, 4);
            a = dm_addr(SC_INET6, b);
        } else {
            a = base[below(c, NBASE)];
            unsigned bits = dm_bits(&a), k = (unsigned)below(c, 1 + below(c, bits + 1));
            for (unsigned i = bits - k; i < bits; i++) dm_set_bit(a.bytes, i, rnd(c) & 1);
            a = dm_addr(a.family, a.bytes); /* a mapped result becomes IPv4 */
        }
        size_t h = (size_t)addr_hash(&a) & (hcap - 1);
        bool dup = false;
        for (; hset[h]; h = (h + 1) & (hcap - 1))
            if (memcmp(&c->pool[hset[h] - 1], &a, sizeof a) == 0) dup = true;
        if (dup) continue;
        c->pool[c->npool++] = a;
        hset[h] = (uint32_t)c->npool;
    }
    free(hset);
    return c->npool >= 4;
}

/* Pool entry i as an op hands it over: IPv4 sometimes through its
 * IPv4-mapped form (raw bytes, or parsed from text: then the parse must
 * succeed, else the report is written and false returned). */
static bool peer(ctx *c, size_t i, sc_addr *out, char text[DM_TEXT_MAX + 8])
{
    *out = c->pool[i];
    dm_addr_text(out, text);
    if (out->family != SC_INET4 || !chance(c, 25)) return true;
    char v4[DM_TEXT_MAX];
    strcpy(v4, text);
    snprintf(text, DM_TEXT_MAX + 8, "::ffff:%s", v4);
    if (chance(c, 50)) {
        *out = dm_mapped(&c->pool[i]);
        return true;
    }
    sc_error err = {SC_PARSE_OK, NULL, 0};
    sc_status st = sc_parse_addr(text, strlen(text), out, &err);
    if (st == SC_OK) return true;
    snprintf(c->report, c->cap, "sc_parse_addr(\"%s\") at op %zu, seed 0x%016llx: %s (%s at %zu)",
             text, c->op, (unsigned long long)c->cfg->seed, sc_status_name(st),
             err.reason ? err.reason : "?", err.offset);
    return false;
}

/* A service for an open: in wide mode mostly SMTP, so the hot areas'
 * sessions share one tree. */
static sc_service pick_service(ctx *c)
{
    if (c->cfg->wide && chance(c, 70)) return SC_SERVICE_SMTP;
    return (sc_service)below(c, N_SVC);
}

/* ------------------------------------------------------------------ operations */

static int op_open(ctx *c)
{
    c->shown = SHOW_STATUS;
    size_t i = below(c, c->npool);
    sc_service svc = pick_service(c);
    sc_addr a;
    char at[DM_TEXT_MAX + 8], name[80];
    if (!peer(c, i, &a, at)) return 1;
    vary_case(c, svc_name(svc), name, sizeof name);
    snprintf(c->what, sizeof c->what, "open %s service \"%s\"", at, name);
    if (resolve_both(c, name, svc)) return 1;
    answer ans[2] = {{0}};
    for (int k = 0; k < 2; k++) ans[k].st = sc_open(c->tab[k], &a, svc);
    if (svc == SC_SERVICE_INBOUND_CIDR) { /* a view: refused, nothing changes */
        c->stats.opens++;
        return compare(c, ans, SC_E_VIEW, -1);
    }
    if (compare(c, ans, SC_OK, -1)) return 1;
    c->mult[i * N_SVC + svc]++;
    c->open[c->nopen++] = (open_sess){(uint32_t)i, svc};
    if (c->nopen > c->stats.max_open_seen) c->stats.max_open_seen = c->nopen;
    c->stats.opens++;
    return 0;
}

static int close_one(ctx *c, size_t j, const char *verb)
{
    c->shown = SHOW_STATUS;
    open_sess o = c->open[j];
    sc_addr a;
    char at[DM_TEXT_MAX + 8], name[80];
    if (!peer(c, o.addr, &a, at)) return 1;
    vary_case(c, svc_name(o.svc), name, sizeof name);
    snprintf(c->what, sizeof c->what, "%s %s service \"%s\"", verb, at, name);
    if (resolve_both(c, name, o.svc)) return 1;
    answer ans[2] = {{0}};
    for (int k = 0; k < 2; k++) ans[k].st = sc_close(c->tab[k], &a, o.svc);
    if (compare(c, ans, SC_OK, -1)) return 1;
    c->mult[o.addr * N_SVC + o.svc]--;
    c->open[j] = c->open[--c->nopen];
    c->stats.closes++;
    return 0;
}

static int op_count(ctx *c);

static int op_bad_close(ctx *c)
{
    for (int t = 0; t < 8; t++) {
        size_t i = below(c, c->npool);
        sc_service svc = (sc_service)below(c, N_SVC);
        if (c->mult[i * N_SVC + svc]) continue;
        sc_addr a;
        char at[DM_TEXT_MAX + 8];
        if (!peer(c, i, &a, at)) return 1;
        snprintf(c->what, sizeof c->what, "bad-close (not open) %s service %u (%s)", at, svc,
                 svc_name(svc));
        answer ans[2] = {{0}};
        for (int k = 0; k < 2; k++) ans[k].st = sc_close(c->tab[k], &a, svc);
        c->shown = SHOW_STATUS;
        c->stats.bad_closes++;
        return compare(c, ans, svc == SC_SERVICE_INBOUND_CIDR ? SC_E_VIEW : SC_E_NOT_OPEN, -1);
    }
    return op_count(c); /* everything tried is open: count instead */
}

/* An address near the open sessions (or the pool, or anywhere), a service
 * that often has sessions there, and a random length. */
static void near(ctx *c, sc_addr *a, sc_service *svc, unsigned *len)
{
    size_t r = below(c, 100);
    if (c->nopen && r < 70) {
        open_sess o = c->open[below(c, c->nopen)];
        *a = c->pool[o.addr];
        *svc = chance(c, 80) ? o.svc : (sc_service)below(c, N_SVC);
    } else {
        *a = r < 95 ? c->pool[below(c, c->npool)]
                    : random_addr(c, chance(c, 50) ? SC_INET4 : SC_INET6);
        *svc = (sc_service)below(c, N_SVC);
    }
    unsigned bits = dm_bits(a);
    *len = (unsigned)below(c, bits + 1);
    for (unsigned i = *len; i < bits; i++) /* host bits: the prefix ignores them */
        if (chance(c, 50)) dm_set_bit(a->bytes, i, rnd(c) & 1);
    if (*len && chance(c, 20)) { /* a near miss: one bit inside the prefix flipped */
        unsigned i = (unsigned)below(c, *len);
        dm_set_bit(a->bytes, i, !dm_bit(a->bytes, i));
    }
    *a = dm_addr(a->family, a->bytes); /* the flips may have made an IPv6 address mapped */
    if (*len > dm_bits(a)) *len = dm_bits(a);
}

/* Counts `p` (normalised) in both tables, handed over as `as` (p itself,
 * or its IPv4-mapped IPv6 spelling), and holds the answers to the model. */
static int count_both(ctx *c, const sc_prefix *p, const sc_prefix *as, sc_service svc)
{
    answer ans[2] = {{0}};
    for (int k = 0; k < 2; k++) ans[k].st = sc_count(c->tab[k], as, svc, &ans[k].n);
    c->shown = SHOW_COUNT;
    if (ans[0].n) c->stats.nonzero_counts++;
    c->stats.model_counts++;
    if (compare(c, ans, SC_OK, model_count(c, p, svc))) return 1;
    trace_count(c, p, svc);
    return 0;
}

/* The prefix to hand over for p: sometimes, for IPv4, the mapped spelling
 * ::ffff:a.b.c.d/len+96 (sc_count must treat both alike). */
static sc_prefix spelling(ctx *c, const sc_prefix *p)
{
    if (p->addr.family != SC_INET4 || !chance(c, 25)) return *p;
    sc_addr m = dm_mapped(&p->addr);
    sc_prefix q;
    memset(&q, 0, sizeof q);
    q.addr = m;
    q.len = (uint8_t)(p->len + 96);
    return q;
}

static int op_count(ctx *c)
{
    sc_addr a;
    sc_service svc;
    unsigned len;
    near(c, &a, &svc, &len);
    sc_prefix p = dm_prefix(&a, len), as = spelling(c, &p);
    char pt[DM_TEXT_MAX], st[DM_TEXT_MAX];
    dm_prefix_text(&p, pt);
    dm_prefix_text(&as, st);
    snprintf(c->what, sizeof c->what, "count %s (handed over as %s) service %u (%s)", pt, st,
             svc, svc_name(svc));
    c->stats.counts++;
    return count_both(c, &p, &as, svc);
}

static int op_sweep(ctx *c)
{
    sc_addr a;
    sc_service svc;
    unsigned len;
    near(c, &a, &svc, &len);
    c->stats.sweeps++;
    for (unsigned l = 0; l <= dm_bits(&a); l++) {
        sc_prefix p = dm_prefix(&a, l), as = spelling(c, &p);
        char pt[DM_TEXT_MAX], st[DM_TEXT_MAX];
        dm_prefix_text(&p, pt);
        dm_prefix_text(&as, st);
        snprintf(c->what, sizeof c->what, "sweep: count %s (as %s) service %u (%s)", pt, st, svc,
                 svc_name(svc));
        if (count_both(c, &p, &as, svc)) return 1;
    }
    return 0;
}

static void upper(char *s)
{
    for (; *s; s++)
        if (*s >= 'a' && *s <= 'z') *s = (char)(*s - 32);
}

/* A relative mask: "/len" of a connecting IP from the pool, sometimes
 * handed over as raw IPv4-mapped bytes (still an IPv4 peer), sometimes out
 * of its family's range.  Sets the text, the peer and the prefix meant. */
static int relative(ctx *c, char *text, size_t cap, char *ct, size_t ctcap, sc_addr *conn,
                    sc_prefix *meant)
{
    sc_addr peer = c->nopen && chance(c, 50) ? c->pool[c->open[below(c, c->nopen)].addr]
                                             : c->pool[below(c, c->npool)];
    bool v4 = peer.family == SC_INET4;
    unsigned len = (unsigned)below(c, dm_bits(&peer) + 1);
    dm_addr_text(&peer, ct);
    *conn = peer;
    if (v4 && chance(c, 30)) {
        *conn = dm_mapped(&peer);
        size_t n = strlen(ct);
        snprintf(ct + n, ctcap - n, " (as raw ::ffff: bytes)");
    }
    *meant = dm_prefix(&peer, len);
    int expect = SC_OK;
    if (chance(c, 5)) {
        len = (v4 ? 33u : 129u) + (unsigned)below(c, 3);
        expect = SC_E_PARSE;
    }
    snprintf(text, cap, "/%u", len);
    return expect;
}

static int op_count_text(ctx *c)
{
    sc_addr a, conn;
    sc_service svc;
    unsigned len;
    near(c, &a, &svc, &len);
    sc_prefix p = dm_prefix(&a, len);   /* what the text means (relative: set below) */
    char text[128], at[DM_TEXT_MAX], ct[DM_TEXT_MAX + 32] = "none";
    const sc_addr *connp = NULL;
    int expect = SC_OK;
    dm_addr_text(&a, at);
    switch (below(c, 6)) {
    case 0: case 1:
        expect = relative(c, text, sizeof text, ct, sizeof ct, &conn, &p);
        connp = &conn;
        break;
    case 2: /* the canonical text, from the product's formatter */
        if (!sc_format_prefix(&p, text, sizeof text)) {
            dm_prefix_text(&p, text);
            snprintf(c->report, c->cap, "sc_format_prefix(%s) failed at op %zu, seed 0x%016llx",
                     text, c->op, (unsigned long long)c->cfg->seed);
            return 1;
        }
        break;
    case 3: snprintf(text, sizeof text, "%s/%u", at, len); break; /* host bits set */
    case 4:
        if (a.family == SC_INET4) {
            snprintf(text, sizeof text, "::ffff:%s/%u", at, len + 96);
        } else {
            dm_prefix_text(&p, text);
            upper(text);
        }
        break;
    default:
        if (a.family == SC_INET4) {
            snprintf(text, sizeof text, "%s", at);
            p = dm_prefix(&a, 32);
        } else {
            snprintf(text, sizeof text, "[%s]/%u", at, len);
        }
        break;
    }
    char name[80];
    if (chance(c, 4)) {
        static const char *const unknown[] = {"imap", "SMTPS", "ECCluster2", "web "};
        snprintf(name, sizeof name, "%s", unknown[below(c, 4)]);
        if (expect == SC_OK) expect = SC_E_NO_SERVICE;
    } else {
        vary_case(c, svc_name(svc), name, sizeof name);
    }
    char pt[DM_TEXT_MAX];
    dm_prefix_text(&p, pt);
    snprintf(c->what, sizeof c->what,
             "count_text \"%s\" connecting %s service \"%s\" (the model reads %s)", text, ct,
             name, pt);
    answer ans[2] = {{0}};
    for (int k = 0; k < 2; k++) {
        sc_error err = {SC_PARSE_OK, NULL, 0};
        ans[k].st = sc_count_text(c->tab[k], text, strlen(text), connp, name, strlen(name),
                                  &ans[k].n, &err);
        ans[k].code = err.code;
        ans[k].off = err.offset;
    }
    c->shown = SHOW_COUNT;
    if (ans[0].n) c->stats.nonzero_counts++;
    c->stats.count_texts++;
    long long want = expect == SC_OK ? model_count(c, &p, svc) : -1;
    if (want >= 0) c->stats.model_counts++;
    if (compare(c, ans, expect, want)) return 1;
    if (want >= 0) trace_count(c, &p, svc);
    return 0;
}

/* ------------------------------------------------------------------ the run */

static int run_ops(ctx *c)
{
    for (c->op = 0; c->op < c->cfg->ops; c->op++) {
        if (c->phase_left == 0) { /* move the population's target */
            c->phase_left = 100 + below(c, 2000);
            size_t r = below(c, 4);
            c->target = r == 0 ? 0 : r == 1 ? c->cfg->max_open : below(c, c->cfg->max_open + 1);
        }
        c->phase_left--;
        if (c->op % (c->cfg->wide ? CENSUS_EVERY_WIDE : CENSUS_EVERY) == 0) census(c);
        size_t r = below(c, 1000);
        bool grow = c->nopen < c->target;
        bool can_open = c->nopen < c->cfg->max_open;
        int bad;
        if (r < (grow ? 400u : 100u) || (r < 500 && c->nopen == 0))
            bad = can_open ? op_open(c) : close_one(c, below(c, c->nopen), "close");
        else if (r < 500)
            bad = close_one(c, below(c, c->nopen), "close");
        else if (r < 570)
            bad = op_bad_close(c);
        else if (r < 800)
            bad = op_count(c);
        else if (r < 998)
            bad = op_count_text(c);
        else
            bad = op_sweep(c);
        if (bad) return 1;
    }
    census(c);
    /* Close everything; then every count is zero in both tables. */
    while (c->nopen)
        if (close_one(c, c->nopen - 1, "final close")) return 1;
    static const uint8_t zero[16];
    for (sc_service s = 0; s < N_SVC; s++) {
        for (int f = 0; f < 2; f++) {
            sc_addr any = dm_addr(f ? SC_INET6 : SC_INET4, zero);
            sc_prefix p = dm_prefix(&any, 0);
            char pt[DM_TEXT_MAX];
            dm_prefix_text(&p, pt);
            snprintf(c->what, sizeof c->what, "after the last close: count %s service %u (%s)",
                     pt, s, svc_name(s));
            if (count_both(c, &p, &p, s)) return 1;
        }
    }
    return 0;
}

int sc_diff_run(const sc_impl *a, const sc_impl *b, const sc_diff_config *cfg, char *report,
                size_t cap)
{
    char dummy[1];
    if (!report || cap == 0) report = dummy, cap = sizeof dummy;
    report[0] = '\0';
    if (!a || !b || !cfg || cfg->pool_size < 4 || cfg->pool_size > UINT32_MAX / N_SVC ||
        cfg->max_open == 0) {
        snprintf(report, cap, "sc_diff_run: bad arguments");
        return -1;
    }
    ctx c = {.impl = {a, b}, .cfg = cfg, .rng = cfg->seed, .report = report, .cap = cap};
    sc_options opts = {.clustering = true, .extra_services = extra_names,
                       .n_extra_services = N_EXTRA};
    int rc = -1;
    c.mult = calloc(cfg->pool_size * N_SVC, sizeof *c.mult);
    c.open = calloc(cfg->max_open + 1, sizeof *c.open);
    if (!c.mult || !c.open || !make_pool(&c)) {
        snprintf(report, cap, "sc_diff_run: out of memory or no pool");
        goto out;
    }
    for (int k = 0; k < 2; k++) {
        sc_status st = sc_table_new(c.impl[k], &opts, &c.tab[k]);
        if (st != SC_OK) {
            snprintf(report, cap, "sc_diff_run: sc_table_new(%s): %s", sc_impl_name(c.impl[k]),
                     sc_strerror(st));
            goto out;
        }
        if (!c.fast && sc_is_fast_table(c.tab[k])) c.fast = c.tab[k];
    }
    rc = run_ops(&c);
out:
    if (cfg->stats) *cfg->stats = c.stats;
    for (int k = 0; k < 2; k++) sc_table_free(c.tab[k]);
    free(c.pool);
    free(c.mult);
    free(c.open);
    return rc;
}
