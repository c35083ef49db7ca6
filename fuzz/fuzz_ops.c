/*
 * fuzz_ops.c: op sequences against ref and fast side by side.
 *
 * The input's bytes are a program.  The first byte configures both tables
 * (bit 0: clustering; bits 1-2: how many of the extra services "web",
 * "Submission", "lmtp-in" to register); then each op is an opcode byte
 * (taken mod 16) and its argument bytes, read until the input or
 * MAX_OPS ops run out (missing bytes read as 0).  Every op runs on a ref
 * table and a fast table made with the same options, and a small model of
 * the open sessions (at most MAX_OPEN) says what each must answer:
 *
 *   OPEN  addr svc rep         open 1-4 sessions
 *   CLOSE addr svc             close: SC_OK if the model has it open, else
 *                              a bad close (SC_E_NOT_OPEN, nothing changes)
 *   CLOSE_NTH i form           close an open session of the model's
 *   OPEN_RANGE / CLOSE_RANGE slot pos cnt step svc
 *                              open (close) up to 256 addresses that differ
 *                              from a pool address in one byte: what grows
 *                              (shrinks) the fast trie's nodes through
 *                              every kind up to 256 children (at most
 *                              MAX_RANGE_CALLS in all, MAX_OPEN open)
 *   COUNT addr svc len         sc_count of sc_prefix_make(addr, len)
 *   COUNT_RAW fam len b[16]    sc_count of a raw sc_prefix (host bits,
 *                              padding, families out of range: SC_E_INVALID)
 *   COUNT_TEXT conn svc n t[n] sc_count_text of fuzzed text, relative to a
 *                              pool address (or none)
 *   COUNT_FORM addr svc len v  sc_count_text of the prefix written one of six
 *                              ways: canonical, upper case, host bits set,
 *                              ::ffff: / brackets, relative, no mask
 *   SWEEP addr svc             counts of every length 0..128 around addr
 *   SET slot fam b[4|16]       a pool address from raw bytes
 *   FLIP slot bit / COPY d s   a pool address one bit away / a copy
 *   RESOLVE svc / DRAIN        a service name in random case / close all
 *
 * Addresses come from a pool of 8 (both families, clustered, with IPv6
 * "twins" holding an IPv4 address's bytes), handed over as is, as a raw
 * IPv4-mapped IPv6 sc_addr, parsed from text, or invalid.  Services are ids
 * and names of built-ins, clustering-only services, extras, and ids and
 * names that do not exist.
 *
 * Checks: ref and fast give the same status, count, service id and parse
 * error (code and offset; for a text that reads as IPv6 the status only:
 * see same_error_rules() in fuzz_cidr.c), and both give what the model
 * says.  At the end every session is closed, every count is zero and the
 * fast table holds no more bytes than before the closes.  Any difference
 * prints the op and both answers (and the input) and aborts;
 * SC_FUZZ_TRACE=1 prints every op and both answers as it goes.
 *
 * Tables: freeing a fast table waits for liburcu's call_rcu thread
 * (urcu_bp_barrier), about 10 ms once that thread exists (the first close
 * that retires a node starts it): fresh tables for every input would hold the
 * fuzzer under 100 runs a second.  So each of the 8 table configurations
 * keeps its ref and fast table from one input to the next (every input
 * ends with all sessions closed and every count checked to be zero, so the
 * next starts from empty tables), makes new ones every RECYCLE inputs, and
 * frees them at exit.  SC_FUZZ_FRESH_TABLES=1 in the environment (and the
 * replay build, always) makes and frees both tables for every input
 * instead; an input run alone (a crash reproduced) gets fresh tables
 * either way.
 */
#include <stdbool.h>
#include <string.h>

#include "fuzz_common.h"
#include "sc_internal.h"
#include "sc_ref.h"
#include "sesscount.h"

enum { MAX_OPS = 256, MAX_OPEN = 300, MAX_RANGE_CALLS = 1024, POOL = 8, MAX_SWEEPS = 4,
       MAX_TEXT = 96 };

static const char *const extra_names[] = {"web", "Submission", "lmtp-in"};
static const char *const impl_name[2] = {"ref", "fast"};

/* Opcodes: the byte taken mod 16. */
enum {
    OP_OPEN = 0, OP_OPEN2 = 1, OP_OPEN_RANGE = 2, OP_CLOSE = 3, OP_CLOSE_NTH = 4,
    OP_CLOSE_RANGE = 5, OP_COUNT = 6, OP_COUNT2 = 7, OP_COUNT_RAW = 8, OP_COUNT_TEXT = 9,
    OP_COUNT_FORM = 10, OP_COUNT_FORM2 = 11, OP_SWEEP = 12, OP_SET = 13, OP_FLIP_COPY = 14,
    OP_RESOLVE_DRAIN = 15
};

typedef struct reader {
    const uint8_t *p;
    size_t n, i;
} reader;

static unsigned next(reader *r) { return r->i < r->n ? r->p[r->i++] : 0; }

typedef struct sess {
    sc_addr a;        /* normalised (never mapped) */
    sc_service s;
} sess;

typedef struct ctx {
    sc_table *tab[2];   /* [0] ref, [1] fast */
    sc_options opts;
    size_t n_svc;
    sc_addr pool[POOL];
    sess open[MAX_OPEN];
    size_t nopen, op, sweeps;
    size_t range_left;  /* opens and closes the range ops may still make */
    bool loose_errors;  /* IPv6 text: parse error codes and offsets may differ (fuzz_cidr.c) */
    char what[640];
    reader in;
} ctx;

typedef struct answer {
    sc_status st;
    uint64_t n;
    sc_service id;
    sc_error err;
} answer;

/* ------------------------------------------------------------------ text */

static unsigned fam_bits(int family) { return family == SC_INET4 ? 32 : 128; }

/* An address's text as the formatter writes it ("192.0.2.1", "2001:db8::1");
 * anything unformattable is described instead. */
static void addr_text(const sc_addr *a, char *buf, size_t cap)
{
    char t[SC_PREFIX_TEXT_MAX];
    sc_prefix p = {.addr = *a, .len = (uint8_t)fam_bits(a->family)};
    if (sc_format_prefix(&p, t, sizeof t)) {
        *strrchr(t, '/') = '\0';
        snprintf(buf, cap, "%s", t);
    } else {
        snprintf(buf, cap, "(family %u)", a->family);
    }
}

static void prefix_text(const sc_prefix *p, char *buf, size_t cap)
{
    char t[SC_PREFIX_TEXT_MAX];
    if (sc_format_prefix(p, t, sizeof t)) snprintf(buf, cap, "%s", t);
    else snprintf(buf, cap, "(family %u len %u)", p->addr.family, p->len);
}

static const char *answer_text(const answer *a, char *buf, size_t cap)
{
    if (a->st == SC_E_PARSE)
        snprintf(buf, cap, "SC_E_PARSE code %d (%s) at offset %zu", (int)a->err.code,
                 a->err.reason ? a->err.reason : "?", a->err.offset);
    else if (a->st == SC_OK)
        snprintf(buf, cap, "SC_OK count %llu id %u", (unsigned long long)a->n, a->id);
    else
        snprintf(buf, cap, "%s", sc_status_name(a->st));
    return buf;
}

/* ------------------------------------------------------------------ checking */

/* NULL when both answers agree and fit the model (want_st < 0 takes any
 * status, want_n < 0 any count, want_id < 0 any service id); else why not. */
static const char *disagree(const ctx *c, const answer a[2], int want_st, long long want_n,
                            int want_id)
{
    const char *why = NULL;
    if (a[0].st != a[1].st) why = "ref and fast differ";
    else if (a[0].st == SC_OK && (a[0].n != a[1].n || a[0].id != a[1].id))
        why = "ref and fast differ";
    else if (a[0].st == SC_E_PARSE && !c->loose_errors &&
             (a[0].err.code != a[1].err.code || a[0].err.offset != a[1].err.offset))
        why = "ref and fast differ";
    else if (want_st >= 0 && a[0].st != (sc_status)want_st) why = "both differ from the model";
    else if (a[0].st == SC_OK && want_n >= 0 && a[0].n != (uint64_t)want_n)
        why = "both differ from the model";
    else if (a[0].st == SC_OK && want_id >= 0 && a[0].id != (sc_service)want_id)
        why = "both differ from the model";
    return why;
}

/* Prints the op (SC_FUZZ_TRACE) and, when why is not NULL, fails with it. */
static void report(const ctx *c, const answer a[2], int want_st, long long want_n, int want_id,
                   const char *why)
{
    char t0[160], t1[160], model[96];
    if (fz_trace())
        fprintf(stderr, "op %zu: %s\n  ref: %s\n  fast: %s\n", c->op, c->what,
                answer_text(&a[0], t0, sizeof t0), answer_text(&a[1], t1, sizeof t1));
    if (!why) return;
    snprintf(model, sizeof model, "%s%s count %lld id %d",
             want_st >= 0 ? "" : "any status, ", want_st >= 0 ? sc_status_name((sc_status)want_st) : "",
             want_n, want_id);
    fz_fail("%s at op %zu (%zu sessions open): %s\n  %s: %s\n  %s: %s\n  model: %s", why, c->op,
            c->nopen, c->what, impl_name[0], answer_text(&a[0], t0, sizeof t0), impl_name[1],
            answer_text(&a[1], t1, sizeof t1), model);
}

/* The same for an op that wrote its description into c->what already. */
static void check(const ctx *c, const answer a[2], int want_st, long long want_n, int want_id)
{
    report(c, a, want_st, want_n, want_id, disagree(c, a, want_st, want_n, want_id));
}

/* Checks an op's two answers against each other and the model; the op's
 * description (printf arguments) is written only when it is shown: with
 * SC_FUZZ_TRACE, or in a finding. */
#define CHECK_OP(c, a, want_st, want_n, want_id, ...)                                        \
    do {                                                                                     \
        int ws_ = (want_st);                                                                 \
        long long wn_ = (want_n);                                                            \
        int wi_ = (want_id);                                                                 \
        const char *why_ = disagree((c), (a), ws_, wn_, wi_);                                \
        if (why_ || fz_trace()) {                                                            \
            snprintf((c)->what, sizeof (c)->what, __VA_ARGS__);                              \
            report((c), (a), ws_, wn_, wi_, why_);                                           \
        }                                                                                    \
    } while (0)

/* ------------------------------------------------------------------ the model */

/* Written apart from common/ on purpose: mapped IPv6 is IPv4, a mapped
 * prefix of 96 or more is the IPv4 prefix of len - 96, host bits clear. */
static const uint8_t mapped_head[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

static bool is_mapped(const sc_addr *a)
{
    return a->family == SC_INET6 && memcmp(a->bytes, mapped_head, 12) == 0;
}

FZ_NO_COVERAGE static sc_addr model_unmap(sc_addr a)
{
    if (!is_mapped(&a)) return a;
    sc_addr v4 = {.family = SC_INET4};
    memcpy(v4.bytes, a.bytes + 12, 4);
    return v4;
}

FZ_NO_COVERAGE static void clear_from(uint8_t *b, unsigned len)
{
    for (unsigned bit = len; bit < 128; bit++) b[bit / 8] &= (uint8_t) ~(0x80u >> (bit % 8));
}

FZ_NO_COVERAGE static sc_prefix model_prefix(const sc_addr *a, unsigned len)
{
    sc_prefix p = {.addr = *a, .len = (uint8_t)len};
    if (is_mapped(a) && len >= 96) {
        p.addr = model_unmap(*a);
        p.len = (uint8_t)(len - 96);
    }
    clear_from(p.addr.bytes, p.len);
    return p;
}

/* (No memcmp in the model's loops: libFuzzer hooks every memcmp call.) */
FZ_NO_COVERAGE static bool inside(const sc_addr *a, const sc_prefix *p)
{
    if (a->family != p->addr.family) return false;
    unsigned full = p->len / 8, rest = p->len % 8;
    for (unsigned i = 0; i < full; i++)
        if (a->bytes[i] != p->addr.bytes[i]) return false;
    return rest == 0 || ((a->bytes[full] ^ p->addr.bytes[full]) & (0xFF00u >> rest)) == 0;
}

FZ_NO_COVERAGE static bool same_addr(const sc_addr *a, const sc_addr *b)
{
    uint64_t x[2], y[2];
    memcpy(x, a->bytes, 16);
    memcpy(y, b->bytes, 16);
    return a->family == b->family && x[0] == y[0] && x[1] == y[1];
}

FZ_NO_COVERAGE static long long model_count(const ctx *c, const sc_prefix *p, sc_service s)
{
    long long n = 0;
    if (s == SC_SERVICE_INBOUND_CIDR) s = SC_SERVICE_SMTP; /* the fleet's view: alone, SMTP */
    for (size_t i = 0; i < c->nopen; i++)
        if (c->open[i].s == s && inside(&c->open[i].a, p)) n++;
    return n;
}

FZ_NO_COVERAGE static long model_find(const ctx *c, const sc_addr *a, sc_service s)
{
    for (size_t i = 0; i < c->nopen; i++)
        if (c->open[i].s == s && same_addr(&c->open[i].a, a)) return (long)i;
    return -1;
}

/* ------------------------------------------------------------------ services */

/* A service id from a byte: every id of the table, one just past it, and
 * one far out of range. */
static sc_service svc_of(const ctx *c, unsigned b)
{
    unsigned k = b % (unsigned)(c->n_svc + 2);
    return k < c->n_svc ? (sc_service)k : k == c->n_svc ? (sc_service)c->n_svc : 0xFFFF;
}

static bool svc_ok(const ctx *c, sc_service s) { return s < c->n_svc; }

static const char *svc_plain(sc_service s)
{
    return s < SC_SERVICE_FIRST_EXTRA ? sc_builtin_service_name(s)
                                      : extra_names[s - SC_SERVICE_FIRST_EXTRA];
}

/* The service's name in the case bits 4-5 of b pick (as is, lower, upper,
 * alternating), or for an id that does not exist a name that does not
 * either.  *want_st / *want_id: what resolving the name must give. */
static void svc_name(const ctx *c, sc_service s, unsigned b, char *out, size_t cap,
                     sc_status *want_st, int *want_id)
{
    static const char *const unknown[] = {"imap", "SMTPS", "ECCluster2", "web ", "", "SMTP\t",
                                          "inbound-cidr", "Submission2"};
    if (!svc_ok(c, s)) {
        snprintf(out, cap, "%s", unknown[(b >> 4) & 7]);
        *want_st = SC_E_NO_SERVICE;
        *want_id = -1;
        return;
    }
    const char *name = svc_plain(s);
    unsigned mode = (b >> 4) & 3;
    size_t i = 0;
    for (; name[i] && i + 1 < cap; i++) {
        char ch = name[i];
        bool up = mode == 2 || (mode == 3 && i % 2);
        bool low = mode == 1 || (mode == 3 && !(i % 2));
        if (up && ch >= 'a' && ch <= 'z') ch = (char)(ch - 32);
        if (low && ch >= 'A' && ch <= 'Z') ch = (char)(ch + 32);
        out[i] = ch;
    }
    out[i] = '\0';
    bool cluster_only = s >= SC_SERVICE_ECMMOVE2 && s < SC_SERVICE_FIRST_EXTRA;
    *want_st = cluster_only && !c->opts.clustering ? SC_E_NEEDS_CLUSTERING : SC_OK;
    *want_id = *want_st == SC_OK ? (int)s : -1;
}

/* ------------------------------------------------------------------ addresses */

typedef struct handed {
    sc_addr a;        /* what the op passes */
    sc_addr norm;     /* what the model holds (when valid) */
    bool valid;
    int form;         /* how (hand()), for the text */
    char text[128];   /* for reports: written by htext() when first asked for */
} handed;

enum { FORM_PLAIN, FORM_RAW_MAPPED, FORM_PARSED, FORM_BAD_FAMILY, FORM_PADDING };

static const char *htext(handed *h)
{
    char t[64];
    if (h->text[0]) return h->text;
    addr_text(&h->norm, t, sizeof t);
    switch (h->form) {
    case FORM_RAW_MAPPED:
        snprintf(h->text, sizeof h->text, "::ffff:%s (a raw IPv6 sc_addr)", t);
        break;
    case FORM_BAD_FAMILY:
        snprintf(h->text, sizeof h->text, "%s with family %u (invalid)", t, h->a.family);
        break;
    case FORM_PADDING:
        snprintf(h->text, sizeof h->text, "%s as IPv4 with padding set (invalid)", t);
        break;
    default:
        snprintf(h->text, sizeof h->text, "%s", t);
        break;
    }
    return h->text;
}

/* `base` (normalised) as an op hands it over; bits 3-4 of b pick the form:
 * as is; a raw IPv4-mapped IPv6 sc_addr; parsed from text ("::ffff:a.b.c.d"
 * or "[v6]") by both parsers; invalid (bit 5: a bad family or an IPv4
 * sc_addr with padding bytes set) or else as is. */
static void hand(const sc_addr *base, unsigned b, handed *h)
{
    h->a = h->norm = *base;
    h->valid = true;
    h->form = FORM_PLAIN;
    h->text[0] = '\0';
    switch ((b >> 3) & 3) {
    case 1:
        if (base->family != SC_INET4) break;
        h->a.family = SC_INET6;
        memcpy(h->a.bytes, mapped_head, 12);
        memcpy(h->a.bytes + 12, base->bytes, 4);
        h->form = FORM_RAW_MAPPED;
        break;
    case 2: {
        char s[80], t[64];
        addr_text(base, t, sizeof t);
        int n = snprintf(s, sizeof s, base->family == SC_INET4 ? "::ffff:%s" : "[%s]", t);
        sc_addr x, y;
        sc_status sx = sc_parse_addr(s, (size_t)n, &x, NULL);
        sc_status sy = sc_ref_parse_addr(s, (size_t)n, &y, NULL);
        if (sx != SC_OK || sy != SC_OK || memcmp(&x, base, sizeof x) != 0 ||
            memcmp(&y, base, sizeof y) != 0)
            fz_fail("\"%s\": sc_parse_addr %s, sc_ref_parse_addr %s, not the address %s", s,
                    sc_status_name(sx), sc_status_name(sy), t);
        h->a = x;
        h->form = FORM_PARSED;
        snprintf(h->text, sizeof h->text, "%s (parsed)", s);
        break;
    }
    case 3:
        if (!(b & 0x20)) break;
        h->valid = false;
        if (b & 0x40) {
            h->a.family = (b & 0x80) ? 0 : 5;
            h->form = FORM_BAD_FAMILY;
        } else {
            h->a.family = SC_INET4;
            h->a.bytes[4 + (b >> 7) * 11] |= 1;
            h->form = FORM_PADDING;
        }
        break;
    default:
        break;
    }
}

/* ------------------------------------------------------------------ opening and closing */

/* Opens one session; false (nothing done) when the model is full. */
static bool open_handed(ctx *c, handed *h, sc_service s)
{
    bool ok = h->valid && svc_ok(c, s), view = ok && s == SC_SERVICE_INBOUND_CIDR;
    if (ok && c->nopen == MAX_OPEN) return false;
    answer a[2] = {{0}};
    for (int t = 0; t < 2; t++) a[t].st = sc_open(c->tab[t], &h->a, s);
    CHECK_OP(c, a, !ok ? SC_E_INVALID : view ? SC_E_VIEW : SC_OK, -1, -1, "open %s service %u",
             htext(h), s);
    if (ok && !view) c->open[c->nopen++] = (sess){h->norm, s};
    return true;
}

static void do_open(ctx *c)
{
    unsigned ab = next(&c->in), sb = next(&c->in), rep = 1 + (next(&c->in) & 3);
    handed h;
    hand(&c->pool[ab & 7], ab, &h);
    sc_service s = svc_of(c, sb);
    for (unsigned k = 0; k < rep; k++)
        if (!open_handed(c, &h, s)) return;
}

static void close_handed(ctx *c, handed *h, sc_service s, const char *verb)
{
    bool ok = h->valid && svc_ok(c, s);
    long j = ok ? model_find(c, &h->norm, s) : -1;
    answer a[2] = {{0}};
    for (int t = 0; t < 2; t++) a[t].st = sc_close(c->tab[t], &h->a, s);
    CHECK_OP(c, a,
             !ok ? SC_E_INVALID : s == SC_SERVICE_INBOUND_CIDR ? SC_E_VIEW
             : j >= 0 ? SC_OK : SC_E_NOT_OPEN, -1, -1,
             "%s %s service %u%s", verb, htext(h), s,
             ok && j < 0 ? " (not open: a bad close)" : "");
    if (j >= 0) c->open[j] = c->open[--c->nopen];
}

static void do_close(ctx *c)
{
    unsigned ab = next(&c->in), sb = next(&c->in);
    handed h;
    hand(&c->pool[ab & 7], ab, &h);
    close_handed(c, &h, svc_of(c, sb), "close");
}

static void do_close_nth(ctx *c)
{
    unsigned ib = next(&c->in), fb = next(&c->in);
    if (c->nopen == 0) return;
    sess o = c->open[ib % c->nopen];
    handed h;
    hand(&o.a, fb & 0x1F, &h);   /* a valid form */
    close_handed(c, &h, o.s, "close (an open one)");
}

/* Pool address `slot` with byte `pos` set to first, first + step, ...
 * (step odd: cnt distinct values), each opened or closed. */
static void do_range(ctx *c, bool open)
{
    unsigned sl = next(&c->in), pb = next(&c->in), cnt = next(&c->in) + 1;
    unsigned step = next(&c->in) | 1, sb = next(&c->in);
    sc_addr base = c->pool[sl & 7];
    unsigned nbytes = fam_bits(base.family) / 8, pos = pb % nbytes;
    sc_service s = svc_of(c, sb);
    for (unsigned i = 0; i < cnt && c->range_left > 0; i++, c->range_left--) {
        uint8_t b[16];
        memcpy(b, base.bytes, 16);
        b[pos] = (uint8_t)(base.bytes[pos] + i * step);
        sc_addr a;
        sc_addr_from_bytes(base.family, b, &a);   /* the byte may make it mapped */
        handed h;
        hand(&a, ((pb >> 6) & 3) << 3, &h);      /* a valid form */
        if (open) {
            if (!open_handed(c, &h, s)) return;
        } else {
            close_handed(c, &h, s, "close (range)");
        }
    }
}

/* Closes every session, the model's first each time: ref keeps its
 * sessions in the model's order (both append, both swap the last into a
 * closed one's place), so its scan finds each at once. */
static void drain(ctx *c, const char *verb)
{
    while (c->nopen) {
        sess o = c->open[0];
        handed h;
        hand(&o.a, 0, &h);
        close_handed(c, &h, o.s, verb);
    }
}

/* ------------------------------------------------------------------ counting */

static void count_both(ctx *c, const sc_prefix *p, sc_service s, const char *verb)
{
    char pt[64];
    answer a[2] = {{0}};
    for (int t = 0; t < 2; t++) a[t].st = sc_count(c->tab[t], p, s, &a[t].n);
    bool ok = svc_ok(c, s);
    CHECK_OP(c, a, ok ? SC_OK : SC_E_INVALID, ok ? model_count(c, p, s) : -1, -1,
             "%s %s service %u", verb, (prefix_text(p, pt, sizeof pt), pt), s);
}

/* sc_prefix_make(a, len), which must equal the model's prefix. */
static sc_prefix make_prefix(const sc_addr *a, unsigned len)
{
    sc_prefix p, m = model_prefix(a, len);
    sc_status st = sc_prefix_make(a, len, &p);
    if (st != SC_OK || memcmp(&p, &m, sizeof p) != 0) {
        char t0[64], t1[64];
        addr_text(a, t0, sizeof t0);
        prefix_text(&m, t1, sizeof t1);
        fz_fail("sc_prefix_make(%s (family %u), %u): %s, the model %s", t0, a->family, len,
                sc_status_name(st), t1);
    }
    return p;
}

static void do_count(ctx *c)
{
    unsigned ab = next(&c->in), sb = next(&c->in), lb = next(&c->in);
    handed h;
    hand(&c->pool[ab & 7], ab, &h);
    sc_service s = svc_of(c, sb);
    unsigned len = lb % (fam_bits(h.a.family) + 1);
    if (h.a.family != SC_INET4 && h.a.family != SC_INET6) {
        sc_prefix p;
        if (sc_prefix_make(&h.a, len, &p) != SC_E_INVALID)
            fz_fail("sc_prefix_make takes an address of family %u", h.a.family);
        return;
    }
    /* An IPv4 sc_addr with padding set still makes a prefix: the padding
     * lies past every IPv4 length and is cleared. */
    sc_prefix p = make_prefix(&h.a, len);
    count_both(c, &p, s, "count");
}

static bool host_bits_clear(const sc_prefix *p)
{
    for (unsigned bit = p->len; bit < 128; bit++)
        if (p->addr.bytes[bit / 8] & (0x80u >> (bit % 8))) return false;
    return true;
}

static void do_count_raw(ctx *c)
{
    unsigned fb = next(&c->in), lb = next(&c->in), sb = next(&c->in);
    sc_prefix p;
    memset(&p, 0, sizeof p);
    for (int i = 0; i < 16; i++) p.addr.bytes[i] = (uint8_t)next(&c->in);
    switch (fb & 3) {
    case 0: p.addr.family = SC_INET4; break;
    case 2: p.addr.family = (uint8_t)(fb >> 2); break;
    default: p.addr.family = SC_INET6; break;
    }
    unsigned bits = fam_bits(p.addr.family);
    p.len = (uint8_t)((fb & 0x40) ? lb : lb % (bits + 1));
    if (!(fb & 0x20)) clear_from(p.addr.bytes, p.len < 128 ? p.len : 128);
    bool valid = (p.addr.family == SC_INET4 || p.addr.family == SC_INET6) && p.len <= bits &&
                 host_bits_clear(&p);
    sc_service s = svc_of(c, sb);
    char pt[64];
    prefix_text(&p, pt, sizeof pt);
    snprintf(c->what, sizeof c->what, "count raw %s%s service %u", pt,
             valid ? "" : " (host bits, padding, length or family invalid)", s);
    answer a[2] = {{0}};
    for (int t = 0; t < 2; t++) a[t].st = sc_count(c->tab[t], &p, s, &a[t].n);
    bool ok = valid && svc_ok(c, s);
    sc_prefix m = model_prefix(&p.addr, p.len);
    check(c, a, ok ? SC_OK : SC_E_INVALID, ok ? model_count(c, &m, s) : -1, -1);
}

/* sc_count_text on both tables, each from exactly sized copies. */
static void count_text_both(ctx *c, const char *text, size_t n, const sc_addr *conn,
                            const char *name, int want_st, long long want_n)
{
    size_t nl = strlen(name);
    char *t = malloc(n ? n : 1), *nm = malloc(nl ? nl : 1);
    if (!t || !nm) abort();
    memcpy(t, text, n);
    memcpy(nm, name, nl);
    answer a[2] = {{0}};
    c->loose_errors = false;
    for (size_t i = 0; i < n && text[i] != '/'; i++)
        if (text[i] == ':' || text[i] == '[') c->loose_errors = true;
    for (int k = 0; k < 2; k++) {
        a[k].err = (sc_error){SC_PARSE_OK, NULL, 0};
        a[k].st = sc_count_text(c->tab[k], t, n, conn, nm, nl, &a[k].n, &a[k].err);
    }
    free(t);
    free(nm);
    check(c, a, want_st, want_n, -1);
    c->loose_errors = false;
}

static void do_count_text(ctx *c)
{
    unsigned cb = next(&c->in), sb = next(&c->in), nb = next(&c->in) % (MAX_TEXT + 1);
    char text[MAX_TEXT], shown[4 * MAX_TEXT + 8], name[64];
    size_t n = 0;
    while (n < nb && c->in.i < c->in.n) text[n++] = (char)next(&c->in);
    handed h;
    hand(&c->pool[cb & 7], cb & 0x7F, &h);
    const sc_addr *conn = (cb & 0x80) ? NULL : &h.a;
    sc_service s = svc_of(c, sb);
    sc_status name_st;
    int id;
    svc_name(c, s, sb, name, sizeof name, &name_st, &id);
    snprintf(c->what, sizeof c->what, "count_text \"%s\" connecting %s service \"%s\"",
             fz_escape_buf(shown, sizeof shown, text, n), conn ? htext(&h) : "none", name);
    /* The model: the public parser's prefix (fuzz_cidr holds the parser
     * itself against its oracles), then the service. */
    sc_prefix p;
    char *copy = malloc(n ? n : 1);
    if (!copy) abort();
    memcpy(copy, text, n);
    sc_status pst = sc_parse_cidr(copy, n, conn, &p, NULL);
    free(copy);
    int want_st = pst != SC_OK ? (int)pst : (int)name_st;
    long long want_n = want_st == SC_OK ? model_count(c, &p, (sc_service)id) : -1;
    count_text_both(c, text, n, conn, name, want_st, want_n);
}

static void upper(char *s)
{
    for (; *s; s++)
        if (*s >= 'a' && *s <= 'z') *s = (char)(*s - 32);
}

static void do_count_form(ctx *c)
{
    unsigned ab = next(&c->in), sb = next(&c->in), lb = next(&c->in), vb = next(&c->in);
    handed h;
    hand(&c->pool[ab & 7], ab & 0x1F, &h);   /* a valid form */
    bool raw_mapped = is_mapped(&h.a);
    unsigned len = lb % (fam_bits(h.a.family) + 1);
    sc_prefix e = model_prefix(&h.a, len);
    char text[128], at[64], et[64], eat[64];
    addr_text(&h.norm, at, sizeof at);
    prefix_text(&e, et, sizeof et);
    addr_text(&e.addr, eat, sizeof eat);
    const sc_addr *conn = NULL;
    switch (vb % 6) {
    case 0:   /* canonical */
        snprintf(text, sizeof text, "%s", et);
        break;
    case 1:   /* canonical in upper case */
        snprintf(text, sizeof text, "%s", et);
        upper(text);
        break;
    case 2:   /* the address with its host bits, as handed over */
        snprintf(text, sizeof text, raw_mapped ? "::ffff:%s/%u" : "%s/%u", at, len);
        break;
    case 3:   /* IPv4 as ::ffff:a.b.c.d/96+len, IPv6 in brackets */
        if (e.addr.family == SC_INET4) snprintf(text, sizeof text, "::ffff:%s/%u", eat, e.len + 96);
        else snprintf(text, sizeof text, "[%s]/%u", eat, e.len);
        break;
    case 4: { /* relative to the address, handed over as connecting IP */
        unsigned rl = lb % (fam_bits(h.norm.family) + 1);
        e = model_prefix(&h.norm, rl);
        snprintf(text, sizeof text, "/%u", rl);
        conn = &h.a;
        break;
    }
    default:  /* no mask: the address itself */
        e = model_prefix(&h.norm, fam_bits(h.norm.family));
        snprintf(text, sizeof text, raw_mapped ? "::ffff:%s" : "%s", at);
        break;
    }
    prefix_text(&e, et, sizeof et);
    size_t n = strlen(text);
    sc_prefix got[2];
    sc_status gst[2] = {sc_ref_parse_cidr(text, n, conn, &got[0], NULL),
                        sc_parse_cidr(text, n, conn, &got[1], NULL)};
    for (int k = 0; k < 2; k++) {
        if (gst[k] != SC_OK || memcmp(&got[k], &e, sizeof e) != 0) {
            char gt[64] = "-";
            if (gst[k] == SC_OK) prefix_text(&got[k], gt, sizeof gt);
            fz_fail("\"%s\" (connecting %s): %s parser %s %s, want %s", text,
                    conn ? htext(&h) : "none", impl_name[k], sc_status_name(gst[k]), gt, et);
        }
    }
    sc_service s = svc_of(c, sb);
    sc_status name_st;
    int id;
    char name[64];
    svc_name(c, s, sb, name, sizeof name, &name_st, &id);
    snprintf(c->what, sizeof c->what, "count_text \"%s\" (%s) connecting %s service \"%s\"",
             text, et, conn ? htext(&h) : "none", name);
    count_text_both(c, text, n, conn, name, (int)name_st,
                    name_st == SC_OK ? model_count(c, &e, (sc_service)id) : -1);
}

static void do_sweep(ctx *c)
{
    unsigned ab = next(&c->in), sb = next(&c->in);
    if (c->sweeps++ >= MAX_SWEEPS) return;
    handed h;
    hand(&c->pool[ab & 7], ab & 0x1F, &h);
    sc_service s = svc_of(c, sb);
    for (unsigned l = 0; l <= fam_bits(h.a.family); l++) {
        sc_prefix p = make_prefix(&h.a, l);
        count_both(c, &p, s, "sweep: count");
    }
}

/* ------------------------------------------------------------------ the pool */

static void set_pool(ctx *c, unsigned slot, int family, const uint8_t *bytes)
{
    sc_addr raw = {.family = (uint8_t)family}, a;
    memcpy(raw.bytes, bytes, family == SC_INET4 ? 4 : 16);
    if (sc_addr_from_bytes(family, bytes, &a) != SC_OK) fz_fail("sc_addr_from_bytes refused");
    sc_addr m = model_unmap(raw);
    if (memcmp(&a, &m, sizeof a) != 0) {
        char t0[64], t1[64];
        addr_text(&a, t0, sizeof t0);
        addr_text(&m, t1, sizeof t1);
        fz_fail("sc_addr_from_bytes gives %s, the model %s", t0, t1);
    }
    c->pool[slot & 7] = a;
}

static void do_set(ctx *c)
{
    unsigned sl = next(&c->in), fb = next(&c->in);
    int family = (fb & 1) ? SC_INET6 : SC_INET4;
    uint8_t b[16] = {0};
    for (unsigned i = 0; i < fam_bits(family) / 8; i++) b[i] = (uint8_t)next(&c->in);
    /* bit 1: an IPv4-mapped IPv6 address from the first four bytes */
    if (family == SC_INET6 && (fb & 2)) {
        memmove(b + 12, b, 4);
        memcpy(b, mapped_head, 12);
    }
    set_pool(c, sl, family, b);
}

static void do_flip_or_copy(ctx *c)
{
    unsigned x = next(&c->in), y = next(&c->in);
    if (x & 0x80) {
        c->pool[x & 7] = c->pool[y & 7];
        return;
    }
    sc_addr a = c->pool[x & 7];
    unsigned bit = y % fam_bits(a.family);
    a.bytes[bit / 8] ^= (uint8_t)(0x80u >> (bit % 8));
    set_pool(c, x, a.family, a.bytes);   /* a flip can make a mapped address */
}

static void do_resolve_or_drain(ctx *c)
{
    unsigned sb = next(&c->in);
    if (sb == 0xFF) {
        drain(c, "drain: close");
        return;
    }
    sc_service s = svc_of(c, sb);
    sc_status want;
    int id;
    char name[64];
    svc_name(c, s, sb, name, sizeof name, &want, &id);
    snprintf(c->what, sizeof c->what, "resolve service \"%s\"", name);
    answer a[2] = {{0}};
    for (int t = 0; t < 2; t++) a[t].st = sc_table_service(c->tab[t], name, strlen(name), &a[t].id);
    check(c, a, (int)want, -1, id);
    answer o[2] = {{0}};
    o[0].st = sc_service_resolve(&c->opts, name, strlen(name), &o[0].id);
    o[1] = a[1];
    snprintf(c->what, sizeof c->what, "resolve service \"%s\" (sc_service_resolve vs fast table)",
             name);
    check(c, o, (int)want, -1, id);
}

/* ------------------------------------------------------------------ the target */

static const struct {
    int family;
    uint8_t b[16];
} seed_pool[POOL] = {
    {SC_INET4, {192, 0, 2, 1}},
    {SC_INET4, {192, 0, 2, 77}},
    {SC_INET4, {198, 51, 100, 7}},
    {SC_INET4, {10, 0, 0, 1}},
    {SC_INET6, {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}},
    {SC_INET6, {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1}},
    {SC_INET6, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 192, 0, 2, 1}},  /* ::c000:201 */
    {SC_INET6, {192, 0, 2, 1}},                                      /* c000:201:: */
};

#ifndef FZ_FRESH_TABLES
#define FZ_FRESH_TABLES 0
#endif
enum { RECYCLE = 1000 };

static struct kept {
    sc_table *tab[2];
    unsigned uses;
} kept[8];   /* by the configuration byte & 7 */

static void drop_tables(struct kept *k)
{
    for (int t = 0; t < 2; t++) sc_table_free(k->tab[t]);
    memset(k, 0, sizeof *k);
}

static void drop_all_tables(void)
{
    for (int k = 0; k < 8; k++) drop_tables(&kept[k]);
}

static bool fresh_tables(void)
{
    static int fresh = -1;
    if (fresh < 0) {
        const char *e = getenv("SC_FUZZ_FRESH_TABLES");
        fresh = FZ_FRESH_TABLES || (e && *e && strcmp(e, "0") != 0);
        atexit(drop_all_tables);
    }
    return fresh;
}

/* The (empty) tables of configuration `cfg`. */
static void get_tables(ctx *c, unsigned cfg)
{
    struct kept *k = &kept[cfg & 7];
    if (k->tab[0] && (fresh_tables() || k->uses >= RECYCLE)) drop_tables(k);
    if (!k->tab[0]) {
        const sc_impl *impl[2] = {sc_impl_ref(), sc_impl_fast()};
        for (int t = 0; t < 2; t++) {
            sc_status st = sc_table_new(impl[t], &c->opts, &k->tab[t]);
            if (st != SC_OK) fz_fail("sc_table_new(%s): %s", impl_name[t], sc_status_name(st));
        }
    }
    k->uses++;
    c->tab[0] = k->tab[0];
    c->tab[1] = k->tab[1];
}

static void put_tables(unsigned cfg)
{
    if (fresh_tables()) drop_tables(&kept[cfg & 7]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_begin(data, size);
    ctx c;
    memset(&c, 0, sizeof c);
    c.in = (reader){data, size, 0};
    c.range_left = MAX_RANGE_CALLS;
    unsigned cfg = next(&c.in);
    c.opts.clustering = cfg & 1;
    c.opts.n_extra_services = (cfg >> 1) & 3;
    c.opts.extra_services = extra_names;
    c.n_svc = SC_SERVICE_FIRST_EXTRA + c.opts.n_extra_services;
    for (int i = 0; i < POOL; i++) set_pool(&c, (unsigned)i, seed_pool[i].family, seed_pool[i].b);
    get_tables(&c, cfg);
    while (c.in.i < c.in.n && c.op < MAX_OPS) {
        switch (next(&c.in) % 16) {
        case OP_OPEN: case OP_OPEN2: do_open(&c); break;
        case OP_OPEN_RANGE: do_range(&c, true); break;
        case OP_CLOSE: do_close(&c); break;
        case OP_CLOSE_NTH: do_close_nth(&c); break;
        case OP_CLOSE_RANGE: do_range(&c, false); break;
        case OP_COUNT: case OP_COUNT2: do_count(&c); break;
        case OP_COUNT_RAW: do_count_raw(&c); break;
        case OP_COUNT_TEXT: do_count_text(&c); break;
        case OP_COUNT_FORM: case OP_COUNT_FORM2: do_count_form(&c); break;
        case OP_SWEEP: do_sweep(&c); break;
        case OP_SET: do_set(&c); break;
        case OP_FLIP_COPY: do_flip_or_copy(&c); break;
        default: do_resolve_or_drain(&c); break;
        }
        c.op++;
    }
    /* Close everything: then every count is zero, in every service, and
     * the fast table holds no more bytes than before (closing frees). */
    size_t before = sc_table_bytes(c.tab[1]);
    drain(&c, "final close");
    size_t after = sc_table_bytes(c.tab[1]);
    if (after == 0 || after > before || sc_table_bytes(c.tab[0]) == 0)
        fz_fail("sc_table_bytes: fast %zu before the final closes, %zu after; ref %zu", before,
                after, sc_table_bytes(c.tab[0]));
    static const sc_prefix everything[2] = {{.addr = {.family = SC_INET4}, .len = 0},
                                            {.addr = {.family = SC_INET6}, .len = 0}};
    for (sc_service s = 0; s < c.n_svc; s++) {
        for (int f = 0; f < 2; f++) count_both(&c, &everything[f], s, "after the last close: count");
        for (int i = 0; i < POOL; i++) {
            sc_prefix p = make_prefix(&c.pool[i], fam_bits(c.pool[i].family));
            count_both(&c, &p, s, "after the last close: count");
        }
    }
    put_tables(cfg);
    return 0;
}
