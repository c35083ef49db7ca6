/*
 * fuzz_cidr.c: the CIDR/address parser and the canonical formatter, held
 * against three oracles at once.
 *
 * Input:  CIDR [ "\n" CONNECTING ]
 * Everything before the first newline is the CIDR text; what follows it
 * names the connecting IP a relative mask ("/24") applies to:
 *   - an address text that inet_pton takes (IPv4 first, then IPv6), held
 *     raw: "::ffff:192.0.2.1" stays an IPv6 sc_addr, as a host copying a
 *     sockaddr_in6 would hand it over;
 *   - otherwise 4 or 16 raw bytes (an IPv4 or IPv6 address), 17 bytes (a
 *     family byte, then 16 address bytes: any family, any padding), or 1
 *     byte (a family with all-zero bytes);
 *   - otherwise (or with no newline) there is no connecting IP.
 *
 * Checks (any failure prints the input and aborts):
 *  1. sc_parse_cidr (fast/, the public parser) and sc_ref_parse_cidr (ref/)
 *     agree on the status, on the prefix, and on a parse error's code; on
 *     its offset too, except where ref reports an IPv6 syntax error at the
 *     address's start (inet_pton cannot say where).  An error leaves `out`
 *     untouched, fills a reason, and has an offset within the input; err
 *     may be NULL.
 *  2. An independent oracle built on libc's inet_pton for the address part
 *     and SPEC's mask rules agrees with both on accept/reject and on the
 *     prefix (host bits cleared, IPv4-mapped /96+ turned into IPv4).
 *  3. Every accepted prefix is well-formed (family, length, host bits,
 *     never mapped at /96+), formats (sc_format_prefix) into canonical
 *     text equal to libc's inet_ntop with dotted tails rewritten in hex,
 *     and that text parses back (both parsers) to the same prefix and
 *     formats identically.  Accepted text stays accepted, to the same
 *     prefix, in upper case and (IPv6) in brackets.
 *  4. sc_parse_addr and sc_ref_parse_addr agree with each other, with the
 *     oracle, and with sc_parse_cidr on the same text.
 *  5. Opt-in (SC_FUZZ_OFFSETS=1 in the environment): the public parser's
 *     error offset is the one fast/sc_parse.c's rule gives, "the first byte
 *     no valid input could have there", computed by small automata of the
 *     grammar (rule_offset()).  Off by default: the parser reports some
 *     errors in and around a dotted IPv4 tail of an IPv6 address at the
 *     tail's first byte or inside the tail, where the rule names the '.'
 *     (or an earlier byte), and the test tables expect that.
 * Building with -DFZ_SURVEY turns the differences of checks 1 and 5 into
 * one line per new class (code and direction) instead of an abort: a way
 * to list what a known difference covers.
 * Parsers always read from an exactly sized heap copy, so a read past the
 * input's length shows under ASan.
 */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_common.h"
#include "sc_internal.h"
#include "sc_ref.h"
#include "sesscount.h"

typedef sc_status (*cidr_fn)(const char *, size_t, const sc_addr *, sc_prefix *, sc_error *);
typedef sc_status (*addr_fn)(const char *, size_t, sc_addr *, sc_error *);

/* ------------------------------------------------------------------ text helpers */

static const char *pfx_text(const sc_prefix *p, char *buf)
{
    if (!sc_format_prefix(p, buf, SC_PREFIX_TEXT_MAX)) {
        snprintf(buf, SC_PREFIX_TEXT_MAX, "(family %u len %u: unformattable)", p->addr.family,
                 p->len);
    }
    return buf;
}

static bool prefix_eq(const sc_prefix *a, const sc_prefix *b)
{
    return a->len == b->len && a->addr.family == b->addr.family &&
           memcmp(a->addr.bytes, b->addr.bytes, 16) == 0;
}

static bool addr_eq(const sc_addr *a, const sc_addr *b)
{
    return a->family == b->family && memcmp(a->bytes, b->bytes, 16) == 0;
}

/* ------------------------------------------------------------------ calling the parsers */

/* One parser call on an exactly sized heap copy of the text. */
typedef struct result {
    sc_status st;
    sc_prefix p;   /* cidr */
    sc_addr a;     /* addr */
    sc_error err;
} result;

static char *exact_copy(const char *s, size_t n)
{
    char *copy = malloc(n ? n : 1);
    if (!copy) abort();
    if (n) memcpy(copy, s, n);
    return copy;
}

/* A parse's status is SC_OK, or SC_E_PARSE with a code, a reason and an
 * offset inside the input, or, where `invalid_ok` (a CIDR parse, whose
 * connecting IP may have a bad family), SC_E_INVALID. */
static void check_status(const char *what, const result *r, size_t n, bool invalid_ok)
{
    if (r->st == SC_E_PARSE) {
        if (r->err.code <= SC_PARSE_OK || r->err.code > SC_PARSE_MASK_NOT_ALLOWED)
            fz_fail("%s: SC_E_PARSE with code %d", what, (int)r->err.code);
        if (!r->err.reason || !r->err.reason[0])
            fz_fail("%s: SC_E_PARSE with no reason", what);
        if (r->err.offset > n)
            fz_fail("%s: error offset %zu past the input's %zu bytes", what, r->err.offset, n);
    } else if (r->st != SC_OK && !(invalid_ok && r->st == SC_E_INVALID)) {
        fz_fail("%s: unexpected status %s", what, sc_status_name(r->st));
    }
}

static void run_cidr(cidr_fn fn, const char *what, const char *s, size_t n, const sc_addr *conn,
                     result *r)
{
    char *copy = exact_copy(s, n);
    sc_prefix sentinel;
    memset(&sentinel, 0xA5, sizeof sentinel);
    r->p = sentinel;
    r->err = (sc_error){SC_PARSE_OK, NULL, (size_t)-1};
    r->st = fn(copy, n, conn, &r->p, &r->err);
    /* The same call with no error struct must give the same status. */
    sc_prefix again;
    sc_status st2 = fn(copy, n, conn, &again, NULL);
    free(copy);
    if (st2 != r->st)
        fz_fail("%s: status %s with an sc_error, %s without", what, sc_status_name(r->st),
                sc_status_name(st2));
    if (r->st != SC_OK && memcmp(&r->p, &sentinel, sizeof sentinel) != 0)
        fz_fail("%s: returned %s but wrote to out", what, sc_status_name(r->st));
    check_status(what, r, n, true);
}

static void run_addr(addr_fn fn, const char *what, const char *s, size_t n, result *r)
{
    char *copy = exact_copy(s, n);
    sc_addr sentinel;
    memset(&sentinel, 0x5A, sizeof sentinel);
    r->a = sentinel;
    r->err = (sc_error){SC_PARSE_OK, NULL, (size_t)-1};
    r->st = fn(copy, n, &r->a, &r->err);
    sc_addr again;
    sc_status st2 = fn(copy, n, &again, NULL);
    free(copy);
    if (st2 != r->st)
        fz_fail("%s: status %s with an sc_error, %s without", what, sc_status_name(r->st),
                sc_status_name(st2));
    if (r->st != SC_OK && memcmp(&r->a, &sentinel, sizeof sentinel) != 0)
        fz_fail("%s: returned %s but wrote to out", what, sc_status_name(r->st));
    check_status(what, r, n, false);
}

static const char *err_text(const result *r, char *buf, size_t cap)
{
    if (r->st == SC_E_PARSE)
        snprintf(buf, cap, "SC_E_PARSE code %d (%s) at offset %zu", (int)r->err.code,
                 r->err.reason ? r->err.reason : "?", r->err.offset);
    else
        snprintf(buf, cap, "%s", sc_status_name(r->st));
    return buf;
}

/* True when both parsers read the text as IPv4 or as a relative mask: no
 * ':' and no '[' before the first '/'.  There both walk the same rules
 * byte by byte and must report the same error code at the same offset.
 * An IPv6 text is different: ref checks the bytes, then the dotted tail,
 * then hands the rest to inet_pton, so it names a later error (or the
 * address's start) where the public parser names the first byte no valid
 * input could have; there only the status is compared. */
static bool same_error_rules(const char *s, size_t n)
{
    for (size_t i = 0; i < n && s[i] != '/'; i++)
        if (s[i] == ':' || s[i] == '[') return false;
    return true;
}

/* fast and ref agree on the status and the value; and on a parse error's
 * code and offset where same_error_rules() says they must. */
static void compare_pub_ref(const char *what, const result *pub, const result *ref, bool cidr,
                            bool strict)
{
    char t0[160], t1[160], b0[SC_PREFIX_TEXT_MAX], b1[SC_PREFIX_TEXT_MAX];
    if (pub->st != ref->st) {
        const char *a = pub->st != SC_OK ? err_text(pub, t0, sizeof t0)
                        : cidr           ? pfx_text(&pub->p, b0)
                                         : "SC_OK";
        const char *b = ref->st != SC_OK ? err_text(ref, t1, sizeof t1)
                        : cidr           ? pfx_text(&ref->p, b1)
                                         : "SC_OK";
        fz_fail("%s: public parser %s, ref parser %s", what, a, b);
    }
    if (pub->st == SC_OK) {
        if (cidr && !prefix_eq(&pub->p, &ref->p))
            fz_fail("%s: public parser gives %s, ref parser %s", what, pfx_text(&pub->p, b0),
                    pfx_text(&ref->p, b1));
        if (!cidr && !addr_eq(&pub->a, &ref->a))
            fz_fail("%s: parsers give different addresses", what);
    }
    if (pub->st != SC_E_PARSE || !strict) return;
#ifdef FZ_SURVEY
    if (pub->err.code != ref->err.code || pub->err.offset != ref->err.offset) {
        static unsigned char seen[32][32][3];
        int rel = pub->err.offset < ref->err.offset ? 0 : pub->err.offset == ref->err.offset ? 1 : 2;
        if (!seen[pub->err.code][ref->err.code][rel]++) {
            fprintf(stderr, "SURVEY %s pub=%d@%zu ref=%d@%zu input=\"", what, pub->err.code,
                    pub->err.offset, ref->err.code, ref->err.offset);
            fz_escape(stderr, fz_input, fz_input_size);
            fprintf(stderr, "\"\n");
        }
        return;
    }
#endif
    if (pub->err.code != ref->err.code || pub->err.offset != ref->err.offset)
        fz_fail("%s: public parser %s, ref parser %s", what, err_text(pub, t0, sizeof t0),
                err_text(ref, t1, sizeof t1));
}

/* ------------------------------------------------------------------ the inet_pton oracle */

static const uint8_t mapped_head[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

/* Written apart from common/sc_prefix.c on purpose. */
static void oracle_unmap(sc_addr *a)
{
    if (a->family != SC_INET6 || memcmp(a->bytes, mapped_head, 12) != 0) return;
    uint8_t v4[4];
    memcpy(v4, a->bytes + 12, 4);
    memset(a->bytes, 0, 16);
    memcpy(a->bytes, v4, 4);
    a->family = SC_INET4;
}

static void oracle_finish(const sc_addr *a, unsigned len, sc_prefix *out)
{
    sc_prefix p = {.addr = *a, .len = (uint8_t)len};
    if (p.addr.family == SC_INET6 && len >= 96 && memcmp(p.addr.bytes, mapped_head, 12) == 0) {
        oracle_unmap(&p.addr);
        p.len = (uint8_t)(len - 96);
    }
    for (unsigned bit = p.len; bit < 128; bit++)
        p.addr.bytes[bit / 8] &= (uint8_t) ~(0x80u >> (bit % 8));
    *out = p;
}

static bool is_space_or_nul(unsigned char c)
{
    return c == '\0' || c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' ||
           c == '\r';
}

/* host = ipv4 | ipv6 | "[" ipv6 "]", exactly s[0..n), via inet_pton. */
static bool oracle_host(const char *s, size_t n, sc_addr *out)
{
    char buf[64];
    bool bracketed = n >= 2 && s[0] == '[' && s[n - 1] == ']';
    if (bracketed) s++, n -= 2;
    if (n == 0 || n >= sizeof buf) return false;   /* valid hosts have at most 45 bytes */
    memcpy(buf, s, n);
    buf[n] = '\0';
    if (memchr(buf, '[', n) || memchr(buf, ']', n)) return false;
    memset(out, 0, sizeof *out);
    if (!bracketed && inet_pton(AF_INET, buf, out->bytes) == 1) {
        out->family = SC_INET4;
        return true;
    }
    if (inet_pton(AF_INET6, buf, out->bytes) == 1) {
        out->family = SC_INET6;
        return true;
    }
    return false;
}

/* mask = decimal, no sign, no leading zero, at most max. */
static bool oracle_mask(const char *s, size_t n, unsigned max, unsigned *out)
{
    if (n == 0 || n > 3 || (n > 1 && s[0] == '0')) return false;
    unsigned v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return false;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    if (v > max) return false;
    *out = v;
    return true;
}

static sc_status oracle_cidr(const char *s, size_t n, const sc_addr *conn, sc_prefix *out)
{
    if (n == 0) return SC_E_PARSE;
    for (size_t i = 0; i < n; i++)
        if (is_space_or_nul((unsigned char)s[i])) return SC_E_PARSE;
    unsigned mask;
    if (s[0] == '/') {
        sc_addr peer = {.family = SC_INET6};
        if (conn) {
            peer = *conn;
            oracle_unmap(&peer);
            if (peer.family != SC_INET4 && peer.family != SC_INET6) return SC_E_INVALID;
        }
        if (!oracle_mask(s + 1, n - 1, peer.family == SC_INET4 ? 32 : 128, &mask) || !conn)
            return SC_E_PARSE;
        oracle_finish(&peer, mask, out);
        return SC_OK;
    }
    const char *slash = memchr(s, '/', n);
    size_t hn = slash ? (size_t)(slash - s) : n;
    sc_addr host;
    if (!oracle_host(s, hn, &host)) return SC_E_PARSE;
    unsigned max = host.family == SC_INET4 ? 32 : 128;
    mask = max;
    if (slash && !oracle_mask(slash + 1, n - hn - 1, max, &mask)) return SC_E_PARSE;
    oracle_finish(&host, mask, out);
    return SC_OK;
}

static sc_status oracle_addr(const char *s, size_t n, sc_addr *out)
{
    if (n == 0 || memchr(s, '/', n)) return SC_E_PARSE;
    for (size_t i = 0; i < n; i++)
        if (is_space_or_nul((unsigned char)s[i])) return SC_E_PARSE;
    if (!oracle_host(s, n, out)) return SC_E_PARSE;
    oracle_unmap(out);
    return SC_OK;
}

/* ------------------------------------------------------------------ where an error is */

/* The rule of fast/sc_parse.c: an error's offset is that of the first byte
 * no valid input could have there (the input's length when it ends too
 * soon).  fnv_*() compute that byte for one reading of the text: the first
 * index i such that text[0..i] is a prefix of no valid input of that form,
 * or n when every prefix is.  Written as small automata apart from both
 * parsers.  Opt-in (SC_FUZZ_OFFSETS=1): see offsets_checked(). */

static bool is_dec(char c) { return c >= '0' && c <= '9'; }

static bool is_hexd(char c)
{
    return is_dec(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* The mask s[m..n) of at most max. */
static size_t fnv_mask(const char *s, size_t n, size_t m, unsigned max)
{
    unsigned v = 0;
    for (size_t i = m; i < n; i++) {
        if (!is_dec(s[i]) || (i > m && s[m] == '0')) return i;
        v = v * 10 + (unsigned)(s[i] - '0');
        if (v > max) return i;
    }
    return n;
}

/* Octets from s[i], the first `done` already read: dotted decimal, no
 * leading zero, at most 255, four in all.  *end: just past the fourth. */
static size_t fnv_octets(const char *s, size_t n, size_t i, int done, size_t *end)
{
    for (int k = done; k < 4; k++) {
        if (k > 0) {
            if (i == n) return n;
            if (s[i] != '.') return i;
            i++;
        }
        size_t st = i;
        unsigned v = 0;
        for (; i < n && is_dec(s[i]); i++) {
            if (i > st && s[st] == '0') return i;
            v = v * 10 + (unsigned)(s[i] - '0');
            if (v > 255) return i;
        }
        if (i == n) return n;
        if (i == st) return i;
    }
    *end = i;
    return SIZE_MAX;   /* four octets, and more text at *end */
}

static size_t fnv_v4(const char *s, size_t n)
{
    size_t end = 0, r = fnv_octets(s, n, 0, 0, &end);
    if (r != SIZE_MAX) return r;
    return s[end] != '/' ? end : fnv_mask(s, n, end + 1, 32);
}

/* What may follow a complete IPv6 address at s[i], i < n. */
static size_t fnv_after_v6(const char *s, size_t n, size_t i, bool bracketed)
{
    if (bracketed) {
        if (s[i] != ']') return i;
        if (++i == n) return n;
    }
    return s[i] != '/' ? i : fnv_mask(s, n, i + 1, 128);
}

/* IPv6 from s[0] (bracketed: s[0] is the '['), then the mask. */
static size_t fnv_v6(const char *s, size_t n, bool bracketed)
{
    enum { START, LEAD, GROUP, COLON, DCOLON } last = START;
    int ng = 0, cur = 0;        /* complete groups; digits of the current one */
    bool dc = false;
    size_t i = bracketed ? 1 : 0, gs = i;
    for (; i < n; i++) {
        char ch = s[i];
        if (is_hexd(ch)) {
            if (last == LEAD || cur == 4) return i;
            if (cur == 0) {   /* a new group: is there room for it? */
                if (ng + 1 > (dc ? 7 : 8)) return i;
                gs = i;
            }
            cur++;
            last = GROUP;
        } else if (ch == ':') {
            if (last == START) {
                last = LEAD;
            } else if (last == LEAD) {
                dc = true;
                last = DCOLON;
            } else if (last == GROUP) {
                ng++;
                cur = 0;
                /* room for one more group, or (no "::" yet) for "::" */
                if (ng > (dc ? 6 : 7)) return i;
                last = COLON;
            } else if (last == COLON && !dc) {
                dc = true;
                last = DCOLON;
            } else {
                return i;   /* ":::" or a second "::" */
            }
        } else if (ch == '.') {
            /* The current group was the first octet of a dotted tail: it
             * must be one, and the tail's 32 bits must end the address. */
            if (last != GROUP || !(dc ? ng + 2 <= 7 : ng == 6)) return i;
            if (cur > 3 || (cur > 1 && s[gs] == '0')) return i;
            unsigned v = 0;
            for (size_t j = gs; j < i; j++) {
                if (!is_dec(s[j])) return i;
                v = v * 10 + (unsigned)(s[j] - '0');
            }
            if (v > 255) return i;
            size_t end = 0, r = fnv_octets(s, n, i, 1, &end);
            return r != SIZE_MAX ? r : fnv_after_v6(s, n, end, bracketed);
        } else {
            break;   /* ends the address: ']', '/' or a byte no address has */
        }
    }
    if (i == n) return n;
    bool complete = last == DCOLON || (last == GROUP && (dc ? ng + 1 <= 7 : ng + 1 == 8));
    return complete ? fnv_after_v6(s, n, i, bracketed) : i;
}

/* The offset the rule gives for a refused text, or SIZE_MAX when the text
 * is not refused by the rule alone (a bad connecting IP). */
static size_t rule_offset(const char *s, size_t n, const sc_addr *conn)
{
    if (n == 0) return 0;
    for (size_t i = 0; i < n; i++)
        if (is_space_or_nul((unsigned char)s[i])) return i;
    if (s[0] == '/') {
        /* Without a connecting IP the mask is still checked first, against
         * the widest range; then the whole is refused at 0. */
        sc_addr peer = {.family = SC_INET6};
        if (conn) {
            peer = *conn;
            oracle_unmap(&peer);
            if (peer.family != SC_INET4 && peer.family != SC_INET6) return SIZE_MAX;
        }
        size_t r = fnv_mask(s, n, 1, peer.family == SC_INET4 ? 32 : 128);
        return r == n && n > 1 && !conn ? 0 : r;
    }
    if (s[0] == '[') return fnv_v6(s, n, true);
    /* The family is known before the host is read: a ':' before the first
     * '/' means IPv6 (the rule as fast/sc_parse.c states it). */
    for (size_t i = 0; i < n && s[i] != '/'; i++)
        if (s[i] == ':') return fnv_v6(s, n, false);
    return fnv_v4(s, n);
}

static bool offsets_checked(void)
{
    static int on = -1;
    if (on < 0) {
        const char *e = getenv("SC_FUZZ_OFFSETS");
        on = e && *e && e[0] != '0';
    }
    return on;
}

/* The public parser's error offset against the rule; the forms recognised
 * whole are reported where they begin: a netmask at the mask's first byte,
 * brackets around an IPv4 address (or nothing) at the '['. */
static void check_offset(const char *s, size_t n, const sc_addr *conn, const result *pub)
{
    size_t want = rule_offset(s, n, conn);
    char t0[160];
    if (pub->st == SC_OK) {
        if (want != n)
            fz_fail("offset oracle: the text is valid, but it says no valid input has byte %zu",
                    want);
        return;
    }
    if (pub->st != SC_E_PARSE || want == SIZE_MAX) return;
    const char *slash = memchr(s, '/', n);
    if (pub->err.code == SC_PARSE_NETMASK && slash && pub->err.offset == (size_t)(slash - s) + 1)
        return;
    if (pub->err.code == SC_PARSE_BRACKET && pub->err.offset == 0 && s[0] == '[') return;
#ifdef FZ_SURVEY
    if (pub->err.offset != want) {
        static unsigned char seen[32][3];
        int rel = pub->err.offset < want ? 0 : 2;
        if (!seen[pub->err.code][rel]++) {
            fprintf(stderr, "OFFSET %s rule=%zu input=\"", err_text(pub, t0, sizeof t0), want);
            fz_escape(stderr, fz_input, fz_input_size);
            fprintf(stderr, "\"\n");
        }
        return;
    }
#endif
    if (pub->err.offset != want)
        fz_fail("public parser %s, but the first byte no valid input could have there is at "
                "offset %zu", err_text(pub, t0, sizeof t0), want);
}

/* ------------------------------------------------------------------ formatting */

/* A prefix the parsers hand out: a known family, a length in range, no
 * host bits, IPv4 padding zero, never an IPv4-mapped /96 or longer. */
static void check_well_formed(const char *what, const sc_prefix *p)
{
    char b[SC_PREFIX_TEXT_MAX];
    unsigned bits = p->addr.family == SC_INET4 ? 32 : p->addr.family == SC_INET6 ? 128 : 0;
    if (!bits) fz_fail("%s: prefix of family %u", what, p->addr.family);
    if (p->len > bits) fz_fail("%s: IPv%u prefix of length %u", what, p->addr.family, p->len);
    for (unsigned bit = p->len; bit < 128; bit++)
        if (p->addr.bytes[bit / 8] & (0x80u >> (bit % 8)))
            fz_fail("%s: prefix /%u has bit %u set (%s)", what, p->len, bit, pfx_text(p, b));
    if (p->addr.family == SC_INET6 && p->len >= 96 && memcmp(p->addr.bytes, mapped_head, 12) == 0)
        fz_fail("%s: IPv4-mapped prefix %s kept as IPv6", what, pfx_text(p, b));
}

/* The canonical text from libc: inet_ntop is RFC 5952 but for its dotted
 * tails (::a.b.c.d, ::ffff:a.b.c.d), which are rewritten here in hex. */
static void ntop_canonical(const sc_prefix *p, char *out, size_t cap)
{
    char t[INET6_ADDRSTRLEN];
    if (p->addr.family == SC_INET4) {
        if (!inet_ntop(AF_INET, p->addr.bytes, t, sizeof t)) abort();
        snprintf(out, cap, "%s/%u", t, p->len);
        return;
    }
    if (!inet_ntop(AF_INET6, p->addr.bytes, t, sizeof t)) abort();
    char *dot = strchr(t, '.');
    if (!dot) {
        snprintf(out, cap, "%s/%u", t, p->len);
        return;
    }
    /* glibc writes a tail only after a leading zero run of 5 (then ffff),
     * 6 or 7 groups: the same run RFC 5952 compresses. */
    const uint8_t *b = p->addr.bytes;
    unsigned w6 = (unsigned)b[12] << 8 | b[13], w7 = (unsigned)b[14] << 8 | b[15];
    char *tail = strrchr(t, ':') + 1;   /* where the dotted quad starts */
    *tail = '\0';
    if (w6 == 0 && strcmp(t, "::") == 0) snprintf(out, cap, "::%x/%u", w7, p->len);
    else snprintf(out, cap, "%s%x:%x/%u", t, w6, w7, p->len);
}

static void check_format_round_trip(const char *what, const sc_prefix *p)
{
    char buf[SC_PREFIX_TEXT_MAX + 8], want[96], b2[SC_PREFIX_TEXT_MAX];
    memset(buf, '#', sizeof buf);
    size_t n = sc_format_prefix(p, buf, SC_PREFIX_TEXT_MAX);
    if (n == 0 || n >= SC_PREFIX_TEXT_MAX || buf[n] != '\0' || strlen(buf) != n)
        fz_fail("%s: sc_format_prefix returned %zu", what, n);
    for (size_t i = SC_PREFIX_TEXT_MAX; i < sizeof buf; i++)
        if (buf[i] != '#') fz_fail("%s: sc_format_prefix wrote past its cap", what);
    ntop_canonical(p, want, sizeof want);
    if (strcmp(buf, want) != 0)
        fz_fail("%s: canonical text \"%s\", libc (dotted tails in hex) says \"%s\"", what, buf,
                want);
    /* Round trip through both parsers, and the text again. */
    static const struct { cidr_fn fn; const char *name; } parsers[] = {
        {sc_parse_cidr, "public"}, {sc_ref_parse_cidr, "ref"}};
    for (size_t k = 0; k < 2; k++) {
        result r;
        run_cidr(parsers[k].fn, what, buf, n, NULL, &r);
        if (r.st != SC_OK)
            fz_fail("%s: canonical \"%s\" refused by the %s parser: %s", what, buf,
                    parsers[k].name, err_text(&r, b2, sizeof b2));
        if (!prefix_eq(&r.p, p))
            fz_fail("%s: canonical \"%s\" parses back (%s parser) as %s", what, buf,
                    parsers[k].name, pfx_text(&r.p, b2));
        char again[SC_PREFIX_TEXT_MAX];
        if (sc_format_prefix(&r.p, again, sizeof again) != n || strcmp(again, buf) != 0)
            fz_fail("%s: canonical \"%s\" formats as \"%s\" after a round trip", what, buf,
                    again);
    }
}

/* Accepted text stays accepted, to the same prefix, in upper case, and
 * (an IPv6 host without brackets) in brackets. */
static void check_variants(const char *s, size_t n, const sc_addr *conn, const sc_prefix *p)
{
    char v[256], b0[SC_PREFIX_TEXT_MAX], b1[SC_PREFIX_TEXT_MAX];
    if (n + 2 > sizeof v) return;
    result r;
    for (size_t i = 0; i < n; i++) v[i] = (s[i] >= 'a' && s[i] <= 'z') ? (char)(s[i] - 32) : s[i];
    run_cidr(sc_parse_cidr, "upper-case variant", v, n, conn, &r);
    if (r.st != SC_OK || !prefix_eq(&r.p, p))
        fz_fail("the upper-case text gives %s, the text %s",
                r.st == SC_OK ? pfx_text(&r.p, b0) : sc_status_name(r.st), pfx_text(p, b1));
    const char *slash = memchr(s, '/', n);
    size_t hn = slash ? (size_t)(slash - s) : n;
    if (s[0] == '[' || s[0] == '/' || !memchr(s, ':', hn)) return;
    v[0] = '[';
    memcpy(v + 1, s, hn);
    v[hn + 1] = ']';
    memcpy(v + hn + 2, s + hn, n - hn);
    run_cidr(sc_parse_cidr, "bracketed variant", v, n + 2, conn, &r);
    if (r.st != SC_OK || !prefix_eq(&r.p, p))
        fz_fail("the bracketed text gives %s, the text %s",
                r.st == SC_OK ? pfx_text(&r.p, b0) : sc_status_name(r.st), pfx_text(p, b1));
}

/* ------------------------------------------------------------------ the connecting IP */

static const sc_addr *read_conn(const uint8_t *p, size_t n, sc_addr *out)
{
    char buf[64];
    memset(out, 0, sizeof *out);
    if (n > 0 && n < sizeof buf && !memchr(p, '\0', n)) {
        memcpy(buf, p, n);
        buf[n] = '\0';
        if (inet_pton(AF_INET, buf, out->bytes) == 1) {
            out->family = SC_INET4;
            return out;
        }
        if (inet_pton(AF_INET6, buf, out->bytes) == 1) {
            out->family = SC_INET6;
            return out;
        }
    }
    switch (n) {
    case 1: out->family = p[0]; return out;
    case 4: out->family = SC_INET4; memcpy(out->bytes, p, 4); return out;
    case 16: out->family = SC_INET6; memcpy(out->bytes, p, 16); return out;
    case 17: out->family = p[0]; memcpy(out->bytes, p + 1, 16); return out;
    default: return NULL;
    }
}

/* ------------------------------------------------------------------ the target */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_begin(data, size);
    const uint8_t *nl = memchr(data, '\n', size);
    size_t n = nl ? (size_t)(nl - data) : size;
    const char *s = (const char *)data;
    sc_addr conn_buf;
    const sc_addr *conn = nl ? read_conn(nl + 1, size - n - 1, &conn_buf) : NULL;
    char t0[160], t1[160], b0[SC_PREFIX_TEXT_MAX], b1[SC_PREFIX_TEXT_MAX];

    /* 1. fast's parser against ref's. */
    result pub, ref;
    run_cidr(sc_parse_cidr, "sc_parse_cidr", s, n, conn, &pub);
    run_cidr(sc_ref_parse_cidr, "sc_ref_parse_cidr", s, n, conn, &ref);
    compare_pub_ref("parse_cidr", &pub, &ref, true, same_error_rules(s, n));
    if (fz_trace()) {
        char shown[256];
        fprintf(stderr, "\"%s\" connecting %s: %s\n", fz_escape_buf(shown, sizeof shown, s, n),
                conn ? "given" : "none",
                pub.st == SC_OK ? pfx_text(&pub.p, b0) : err_text(&pub, t0, sizeof t0));
    }

    /* 2. The inet_pton oracle. */
    sc_prefix want;
    sc_status ost = oracle_cidr(s, n, conn, &want);
    if (ost != pub.st)
        fz_fail("parse_cidr: the parsers give %s, the inet_pton oracle %s",
                pub.st == SC_OK ? pfx_text(&pub.p, b0) : err_text(&pub, t0, sizeof t0),
                ost == SC_OK ? pfx_text(&want, b1) : sc_status_name(ost));
    if (ost == SC_OK && !prefix_eq(&want, &pub.p))
        fz_fail("parse_cidr: the parsers give %s, the inet_pton oracle %s", pfx_text(&pub.p, b0),
                pfx_text(&want, b1));

    /* Opt-in: the error's offset against the rule itself. */
    if (offsets_checked()) check_offset(s, n, conn, &pub);

    /* 3. The prefix, its canonical text, and the round trip. */
    if (pub.st == SC_OK) {
        check_well_formed("parse_cidr", &pub.p);
        check_format_round_trip("parse_cidr", &pub.p);
        check_variants(s, n, conn, &pub.p);
    }

    /* 4. The address parsers. */
    result apub, aref;
    run_addr(sc_parse_addr, "sc_parse_addr", s, n, &apub);
    run_addr(sc_ref_parse_addr, "sc_ref_parse_addr", s, n, &aref);
    compare_pub_ref("parse_addr", &apub, &aref, false, same_error_rules(s, n));
    sc_addr awant;
    sc_status aost = oracle_addr(s, n, &awant);
    if (aost != apub.st || (aost == SC_OK && !addr_eq(&awant, &apub.a)))
        fz_fail("parse_addr: the parsers give %s, the inet_pton oracle %s",
                err_text(&apub, t0, sizeof t0), sc_status_name(aost));
    if (apub.st == SC_OK) {
        /* An address is its own full-length prefix, whatever the connecting IP. */
        sc_prefix full = {.addr = apub.a, .len = apub.a.family == SC_INET4 ? 32 : 128};
        check_well_formed("parse_addr", &full);
        if (pub.st != SC_OK || !prefix_eq(&pub.p, &full))
            fz_fail("parse_addr gives %s but parse_cidr %s", pfx_text(&full, b0),
                    pub.st == SC_OK ? pfx_text(&pub.p, b1) : err_text(&pub, t1, sizeof t1));
    } else if (pub.st == SC_OK && s[0] != '/' && !memchr(s, '/', n)) {
        fz_fail("parse_cidr takes a mask-less text that parse_addr refuses (%s)",
                err_text(&apub, t0, sizeof t0));
    }
    return 0;
}
