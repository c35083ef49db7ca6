/*
 * sc_ref_parse.c: the reference parser, the oracle the public one-pass
 * parser (fast/sc_parse.c) is held against.  It is written differently on
 * purpose: the text is cut with plain string operations (relative "/mask",
 * host up to the first '/', brackets), IPv4 is checked by a small
 * dotted-quad walker and IPv6 by libc's inet_pton on a NUL-terminated copy.
 * Around them sit the grammar rules inet_pton does not enforce (SPEC
 * "Counting").  Both parsers always agree on accept or reject and on the
 * prefix.  On an input with one error they agree on its code and offset,
 * except that an IPv6 syntax error only inet_pton sees is reported at the
 * address's first byte (inet_pton cannot say where).  On IPv6 text with
 * several errors this parser may name a later one (it checks bytes, then the
 * dotted tail, then inet_pton): the fuzzers compare codes only on IPv4 and
 * relative text.
 */
#include <arpa/inet.h>
#include <string.h>

#include "sc_internal.h"
#include "sc_ref.h"

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

static bool is_hex(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* A byte no address can hold: '%' starts a zone id and brackets are
 * misplaced wherever they turn up; anything else gets `fallback`. */
static sc_status bad_byte(char c, size_t at, sc_parse_code fallback, sc_error *err)
{
    if (c == '%') return sc_parse_fail(err, SC_PARSE_ZONE, at);
    if (c == '[' || c == ']') return sc_parse_fail(err, SC_PARSE_BRACKET, at);
    return sc_parse_fail(err, fallback, at);
}

/* Four dotted decimal octets at the start of s[0..n) (reported at base);
 * *end gets the offset just past the fourth. */
static sc_status check_v4(const char *s, size_t n, size_t base, uint8_t out[4], size_t *end,
                          sc_error *err)
{
    size_t i = 0;
    for (int k = 0; k < 4; k++) {
        if (k > 0) {
            if (i == n) return sc_parse_fail(err, SC_PARSE_V4_SHORTHAND, base + i);
            if (s[i] != '.') return bad_byte(s[i], base + i, SC_PARSE_V4_SYNTAX, err);
            i++;
        }
        size_t start = i;
        unsigned v = 0;
        for (; i < n && is_digit(s[i]); i++) {
            if (i > start && s[start] == '0')
                return sc_parse_fail(err, SC_PARSE_V4_LEADING_ZERO, base + i);
            v = v * 10 + (unsigned)(s[i] - '0');
            if (v > 255) return sc_parse_fail(err, SC_PARSE_V4_OCTET_RANGE, base + i);
        }
        if (i == start) /* no digit: an empty octet, or the input ends */
            return i < n ? bad_byte(s[i], base + i, SC_PARSE_V4_SYNTAX, err)
                         : sc_parse_fail(err, SC_PARSE_V4_SYNTAX, base + i);
        if (v == 0 && i < n && (s[i] == 'x' || s[i] == 'X'))
            return sc_parse_fail(err, SC_PARSE_V4_HEX, base + i);
        out[k] = (uint8_t)v;
    }
    *end = i;
    return SC_OK;
}

/* An unbracketed IPv4 host: exactly s[0..n). */
static sc_status host_v4(const char *s, size_t n, size_t base, sc_addr *out, sc_error *err)
{
    sc_addr a = {.family = SC_INET4};
    size_t end;
    sc_status st = check_v4(s, n, base, a.bytes, &end, err);
    if (st != SC_OK) return st;
    if (end < n) /* a fifth octet is malformed IPv4; other bytes are extra text */
        return bad_byte(s[end], base + end,
                        s[end] == '.' ? SC_PARSE_V4_SYNTAX : SC_PARSE_TRAILING, err);
    *out = a;
    return SC_OK;
}

/* The dotted IPv4 tail: the group holding the first '.', from t.  A group
 * turns into a tail only where 1 to 4 hex digits meet that '.': anything
 * else there is a malformed group. */
static sc_status check_tail(const char *s, size_t n, size_t t, size_t base, sc_error *err)
{
    size_t run = 0;
    while (is_hex(s[t + run])) run++; /* stops at the '.', if not before */
    if (run > 4) return sc_parse_fail(err, SC_PARSE_V6_SYNTAX, base);
    if (run == 0 || s[t + run] != '.')
        return bad_byte(s[t + run], base + t + run, SC_PARSE_V6_SYNTAX, err);
    uint8_t q[4];
    size_t end;
    sc_status st = check_v4(s + t, n - t, base + t, q, &end, err);
    if (st != SC_OK) return st;
    if (t + end < n) /* the tail must end the address */
        return bad_byte(s[t + end], base + t + end, SC_PARSE_V6_SYNTAX, err);
    return SC_OK;
}

/* IPv6 text s[0..n), at offset base of the input: the bytes and the dotted
 * tail here, which get precise codes; the rest is inet_pton's. */
static sc_status host_v6(const char *s, size_t n, size_t base, sc_addr *out, sc_error *err)
{
    const char *dot = memchr(s, '.', n);
    size_t t = dot ? (size_t)(dot - s) : n; /* start of the tail's group */
    while (t > 0 && s[t - 1] != ':') t--;
    for (size_t i = 0; i < (dot ? t : n); i++)
        if (!is_hex(s[i]) && s[i] != ':')
            return bad_byte(s[i], base + i, SC_PARSE_V6_SYNTAX, err);
    sc_status st = dot ? check_tail(s, n, t, base, err) : SC_OK;
    if (st != SC_OK) return st;
    char buf[64]; /* the longest valid text is 45 bytes */
    sc_addr a = {.family = SC_INET6};
    if (n >= sizeof buf) return sc_parse_fail(err, SC_PARSE_V6_SYNTAX, base);
    memcpy(buf, s, n);
    buf[n] = '\0';
    if (inet_pton(AF_INET6, buf, a.bytes) != 1)
        return sc_parse_fail(err, SC_PARSE_V6_SYNTAX, base);
    *out = a;
    return SC_OK;
}

/* "[" ipv6 "]" in s[0..n), s[0] == '['; slash: a '/' follows the host. */
static sc_status host_bracketed(const char *s, size_t n, bool slash, sc_addr *out,
                                sc_error *err)
{
    const char *close = memchr(s + 1, ']', n - 1);
    size_t j = close ? (size_t)(close - s) : n;
    if (!memchr(s + 1, ':', j - 1)) /* brackets around IPv4, or around nothing */
        return sc_parse_fail(err, SC_PARSE_BRACKET, 0);
    if (j == n && slash) /* the '/' comes before the ']': a mask inside brackets */
        return sc_parse_fail(err, SC_PARSE_BRACKET, n);
    sc_status st = host_v6(s + 1, j - 1, 1, out, err);
    if (st != SC_OK) return st;
    if (j == n) return sc_parse_fail_why(err, SC_PARSE_BRACKET, "missing ']'", n);
    if (j + 1 < n) return bad_byte(s[j + 1], j + 1, SC_PARSE_TRAILING, err);
    return SC_OK;
}

/* host = ipv4 | ipv6 | "[" ipv6 "]", exactly s[0..n) of s[0..len), n > 0. */
static sc_status parse_host(const char *s, size_t n, size_t len, sc_addr *out, sc_error *err)
{
    if (s[0] == '[') return host_bracketed(s, n, n < len, out, err);
    if (memchr(s, ':', n)) return host_v6(s, n, 0, out, err);
    return host_v4(s, n, 0, out, err);
}

/* The mask in s[m..len), at most max. */
static sc_status parse_mask(const char *s, size_t len, size_t m, unsigned max, unsigned *out,
                            sc_error *err)
{
    if (m == len) return sc_parse_fail_why(err, SC_PARSE_MASK_SYNTAX, "missing mask", m);
    if (s[m] == '[' || s[m] == ']') return sc_parse_fail(err, SC_PARSE_BRACKET, m);
    if (!is_digit(s[m])) return sc_parse_fail(err, SC_PARSE_MASK_SYNTAX, m);
    if (memchr(s + m, '.', len - m)) return sc_parse_fail(err, SC_PARSE_NETMASK, m);
    unsigned v = 0;
    size_t i = m;
    for (; i < len && is_digit(s[i]); i++) {
        if (i > m && s[m] == '0')
            return sc_parse_fail_why(err, SC_PARSE_MASK_SYNTAX, "mask has a leading zero", i);
        v = v * 10 + (unsigned)(s[i] - '0');
        if (v > max) return sc_parse_fail(err, SC_PARSE_MASK_RANGE, i);
    }
    if (i < len) return bad_byte(s[i], i, SC_PARSE_TRAILING, err);
    *out = v;
    return SC_OK;
}

/* Empty input, then the first white space or NUL, anywhere. */
static sc_status check_bytes(const char *s, size_t len, sc_error *err)
{
    if (len == 0) return sc_parse_fail(err, SC_PARSE_EMPTY, 0);
    for (size_t i = 0; i < len; i++)
        if (strchr(" \t\n\v\f\r", s[i])) /* strchr finds NUL too */
            return sc_parse_fail(err, SC_PARSE_SPACE, i);
    return SC_OK;
}

static size_t slash_at(const char *s, size_t len)
{
    const char *p = memchr(s, '/', len);
    return p ? (size_t)(p - s) : len;
}

/* "/" mask: the connecting IP's prefix.  Without a connecting IP the mask
 * is still checked first, against the widest range. */
static sc_status parse_relative(const char *s, size_t len, const sc_addr *connecting,
                                sc_prefix *out, sc_error *err)
{
    sc_addr peer = {.family = SC_INET6};
    if (connecting) {
        peer = *connecting;
        sc_addr_unmap(&peer); /* a mapped peer is IPv4: its range is 0-32 */
        if (sc_family_bytes(peer.family) == 0) return SC_E_INVALID;
    }
    unsigned mask;
    sc_status st = parse_mask(s, len, 1, sc_family_bytes(peer.family) * 8, &mask, err);
    if (st != SC_OK) return st;
    if (!connecting) return sc_parse_fail(err, SC_PARSE_NO_CONNECTING_IP, 0);
    sc_prefix_finish(&peer, mask, out);
    return SC_OK;
}

sc_status sc_ref_parse_cidr(const char *text, size_t len, const sc_addr *connecting,
                            sc_prefix *out, sc_error *err)
{
    if ((!text && len) || !out) return SC_E_INVALID;
    sc_status st = check_bytes(text, len, err);
    if (st != SC_OK) return st;
    if (text[0] == '/') return parse_relative(text, len, connecting, out, err);
    size_t slash = slash_at(text, len);
    sc_addr host;
    if ((st = parse_host(text, slash, len, &host, err)) != SC_OK) return st;
    unsigned mask = sc_family_bytes(host.family) * 8;
    if (slash < len && (st = parse_mask(text, len, slash + 1, mask, &mask, err)) != SC_OK)
        return st;
    sc_prefix_finish(&host, mask, out);
    return SC_OK;
}

sc_status sc_ref_parse_addr(const char *text, size_t len, sc_addr *out, sc_error *err)
{
    if ((!text && len) || !out) return SC_E_INVALID;
    sc_status st = check_bytes(text, len, err);
    if (st != SC_OK) return st;
    size_t slash = slash_at(text, len);
    if (slash == 0) return sc_parse_fail(err, SC_PARSE_MASK_NOT_ALLOWED, 0);
    sc_addr a;
    if ((st = parse_host(text, slash, len, &a, err)) != SC_OK) return st;
    if (slash < len) return sc_parse_fail(err, SC_PARSE_MASK_NOT_ALLOWED, slash);
    sc_addr_unmap(&a);
    *out = a;
    return SC_OK;
}
