/*
 * sc_parse.c: the public CIDR and address parser, one hand-written pass over
 * the bytes: no copies, no allocation, no inet_pton.
 *
 *     cidr = "/" mask | host [ "/" mask ]      host = ipv4 | ipv6 | "[" ipv6 "]"
 *
 * Error rules, shared with ref/ by the test tables:
 *  - empty input is SC_PARSE_EMPTY at 0; white space or NUL anywhere wins
 *    next, at its first offset;
 *  - otherwise the offset is that of the first byte no valid input could
 *    have there (the input's length when it ends too soon), except for
 *    forms recognised whole: a netmask is reported at the mask's first
 *    byte, brackets around an IPv4 address at the '['.
 * The host's family is known before it is read: a ':' before the first '/'
 * means IPv6.
 */
#include "sc_internal.h"

typedef struct cursor {
    const char *s;
    size_t len;
    size_t i;
    sc_error *err;
} cursor;

static bool is_digit(int c) { return c >= '0' && c <= '9'; }

static int hex_value(int c)
{
    if (is_digit(c)) return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static bool is_space_or_nul(int c)
{
    return c == ' ' || (c >= '\t' && c <= '\r') || c == '\0';
}

static int peek(const cursor *c) { return c->i < c->len ? (unsigned char)c->s[c->i] : -1; }

static bool find_before_slash(const cursor *c, size_t from, char want)
{
    for (size_t j = from; j < c->len && c->s[j] != '/'; j++)
        if (c->s[j] == want) return true;
    return false;
}

/* What ends an address: the input's end or a '/' (or ']' when bracketed). */
static bool at_addr_end(const cursor *c, bool bracketed)
{
    int ch = peek(c);
    return ch < 0 || ch == (bracketed ? ']' : '/');
}

/* A byte that cannot continue an address: name the most precise class. */
static sc_status bad_addr_byte(cursor *c, bool bracketed, sc_parse_code fallback)
{
    int ch = peek(c);
    if (ch == '%') return sc_parse_fail(c->err, SC_PARSE_ZONE, c->i);
    if (ch == ']' || ch == '[' || (bracketed && ch == '/'))
        return sc_parse_fail(c->err, SC_PARSE_BRACKET, c->i);
    return sc_parse_fail(c->err, fallback, c->i);
}

static sc_status parse_octet(cursor *c, bool bracketed, uint8_t *out)
{
    int ch = peek(c);
    /* An empty octet before the closing ']' is the octet's fault. */
    if (bracketed && ch == ']') return sc_parse_fail(c->err, SC_PARSE_V4_SYNTAX, c->i);
    if (!is_digit(ch)) return bad_addr_byte(c, bracketed, SC_PARSE_V4_SYNTAX);
    unsigned v = (unsigned)(ch - '0');
    c->i++;
    ch = peek(c);
    if (v == 0 && is_digit(ch)) return sc_parse_fail(c->err, SC_PARSE_V4_LEADING_ZERO, c->i);
    if (v == 0 && (ch == 'x' || ch == 'X')) return sc_parse_fail(c->err, SC_PARSE_V4_HEX, c->i);
    while (is_digit(ch = peek(c))) {
        v = v * 10 + (unsigned)(ch - '0');
        if (v > 255) return sc_parse_fail(c->err, SC_PARSE_V4_OCTET_RANGE, c->i);
        c->i++;
    }
    *out = (uint8_t)v;
    return SC_OK;
}

/* Four dotted octets into out[0..3]; stops after the fourth. */
static sc_status parse_v4(cursor *c, bool bracketed, uint8_t *out)
{
    for (int k = 0; k < 4; k++) {
        if (k > 0) {
            if (at_addr_end(c, bracketed))
                return sc_parse_fail(c->err, SC_PARSE_V4_SHORTHAND, c->i);
            if (peek(c) != '.') return bad_addr_byte(c, bracketed, SC_PARSE_V4_SYNTAX);
            c->i++;
        }
        sc_status st = parse_octet(c, bracketed, &out[k]);
        if (st != SC_OK) return st;
    }
    return SC_OK;
}

static sc_status v6_fail(cursor *c, const char *why, size_t at)
{
    return sc_parse_fail_why(c->err, SC_PARSE_V6_SYNTAX, why, at);
}

/* Reads hex digits of one group; returns how many (0 to 4). */
static sc_status parse_group(cursor *c, unsigned *value, int *ndigits)
{
    unsigned v = 0;
    int n = 0, h;
    while ((h = hex_value(peek(c))) >= 0) {
        if (n == 4) return v6_fail(c, "IPv6 group longer than 4 hex digits", c->i);
        v = v << 4 | (unsigned)h;
        n++;
        c->i++;
    }
    *value = v;
    *ndigits = n;
    return SC_OK;
}

/* An IPv4 tail in the last 32 bits, starting at `start`; c->i is at the
 * '.' that revealed it.  It must come after exactly six groups (or at most
 * five and a "::"): anywhere else the '.' is the first impossible byte.
 * Its octets are then read as IPv4 from `start`. */
static sc_status parse_v6_tail(cursor *c, size_t start, bool bracketed, uint16_t *g, int *ng,
                               int dc)
{
    if (dc >= 0 ? *ng + 2 > 7 : *ng != 6) return v6_fail(c, "misplaced dotted IPv4 tail", c->i);
    c->i = start;
    uint8_t b[4];
    sc_status st = parse_v4(c, bracketed, b);
    if (st != SC_OK) return st;
    g[(*ng)++] = (uint16_t)(b[0] << 8 | b[1]);
    g[(*ng)++] = (uint16_t)(b[2] << 8 | b[3]);
    if (!at_addr_end(c, bracketed)) return bad_addr_byte(c, bracketed, SC_PARSE_V6_SYNTAX);
    return SC_OK;
}

static sc_status v6_groups(cursor *c, bool bracketed, uint16_t *g, int *ng, int *dc)
{
    if (peek(c) == ':') {
        c->i++;
        if (peek(c) != ':') return v6_fail(c, "single ':' at the start", c->i);
        c->i++;
        *dc = 0;
    }
    for (;;) {
        if (*dc == *ng && *ng > 0 && at_addr_end(c, bracketed)) return SC_OK; /* ends in "::" */
        if (*dc == 0 && *ng == 0 && at_addr_end(c, bracketed)) return SC_OK;  /* "::" alone */
        size_t start = c->i;
        unsigned v = 0;
        int n = 0;
        sc_status st = parse_group(c, &v, &n);
        if (st != SC_OK) return st;
        if (n == 0) {
            if (peek(c) == ':') return v6_fail(c, "too many colons", c->i);
            if (at_addr_end(c, bracketed)) return v6_fail(c, "address ends with ':'", c->i);
            return bad_addr_byte(c, bracketed, SC_PARSE_V6_SYNTAX);
        }
        if (peek(c) == '.') return parse_v6_tail(c, start, bracketed, g, ng, *dc);
        int limit = *dc >= 0 ? 7 : 8;   /* "::" stands for at least one group */
        if (*ng == limit) return v6_fail(c, "too many IPv6 groups", start);
        g[(*ng)++] = (uint16_t)v;
        if (peek(c) != ':') return SC_OK;
        if (*ng == limit) return v6_fail(c, "too many IPv6 groups", c->i);
        c->i++;
        if (peek(c) == ':') {
            if (*dc >= 0) return v6_fail(c, "more than one '::'", c->i);
            c->i++;
            *dc = *ng;
        }
    }
}

static sc_status parse_v6(cursor *c, bool bracketed, uint8_t *out)
{
    uint16_t g[8] = {0};
    int ng = 0, dc = -1;
    sc_status st = v6_groups(c, bracketed, g, &ng, &dc);
    if (st != SC_OK) return st;
    if (!at_addr_end(c, bracketed)) return bad_addr_byte(c, bracketed, SC_PARSE_V6_SYNTAX);
    if (dc < 0 && ng != 8) return v6_fail(c, "too few IPv6 groups", c->i);
    /* Spread the groups around the "::" gap. */
    uint16_t full[8] = {0};
    int tail = dc < 0 ? 0 : ng - dc;
    for (int k = 0; k < ng - tail; k++) full[k] = g[k];
    for (int k = 0; k < tail; k++) full[8 - tail + k] = g[ng - tail + k];
    for (int k = 0; k < 8; k++) {
        out[2 * k] = (uint8_t)(full[k] >> 8);
        out[2 * k + 1] = (uint8_t)full[k];
    }
    return SC_OK;
}

static sc_status parse_host(cursor *c, sc_addr *out)
{
    sc_addr a = {0};
    bool bracketed = peek(c) == '[';
    if (bracketed) {
        if (!find_before_slash(c, 1, ':')) return sc_parse_fail(c->err, SC_PARSE_BRACKET, 0);
        c->i++;
    }
    sc_status st;
    if (find_before_slash(c, 0, ':')) {
        a.family = SC_INET6;
        st = parse_v6(c, bracketed, a.bytes);
    } else {
        a.family = SC_INET4;
        st = parse_v4(c, false, a.bytes);
    }
    if (st != SC_OK) return st;
    if (bracketed) {
        if (peek(c) != ']')
            return sc_parse_fail_why(c->err, SC_PARSE_BRACKET, "missing ']'", c->i);
        c->i++;
    }
    int ch = peek(c);
    if (ch >= 0 && ch != '/') {
        if (a.family == SC_INET4 && !bracketed && (ch == '.' || is_digit(ch)))
            return sc_parse_fail(c->err, SC_PARSE_V4_SYNTAX, c->i);
        return bad_addr_byte(c, false, SC_PARSE_TRAILING);
    }
    *out = a;
    return SC_OK;
}

/* The mask after a '/', at c->i; max is 32 or 128. */
static sc_status parse_mask(cursor *c, unsigned max, unsigned *out)
{
    size_t m = c->i;
    int ch = peek(c);
    if (ch < 0) return sc_parse_fail_why(c->err, SC_PARSE_MASK_SYNTAX, "missing mask", m);
    if (ch == '[' || ch == ']') return sc_parse_fail(c->err, SC_PARSE_BRACKET, m);
    if (!is_digit(ch)) return sc_parse_fail(c->err, SC_PARSE_MASK_SYNTAX, m);
    for (size_t j = m; j < c->len; j++)
        if (c->s[j] == '.') return sc_parse_fail(c->err, SC_PARSE_NETMASK, m);
    unsigned v = (unsigned)(ch - '0');
    c->i++;
    if (v == 0 && is_digit(peek(c)))
        return sc_parse_fail_why(c->err, SC_PARSE_MASK_SYNTAX, "mask has a leading zero", c->i);
    while (is_digit(ch = peek(c))) {
        v = v * 10 + (unsigned)(ch - '0');
        if (v > max) return sc_parse_fail(c->err, SC_PARSE_MASK_RANGE, c->i);
        c->i++;
    }
    if (ch >= 0) return bad_addr_byte(c, false, SC_PARSE_TRAILING);
    *out = v;
    return SC_OK;
}

static sc_status check_bytes(const char *text, size_t len, sc_error *err)
{
    if (len == 0) return sc_parse_fail(err, SC_PARSE_EMPTY, 0);
    for (size_t j = 0; j < len; j++)
        if (is_space_or_nul((unsigned char)text[j])) return sc_parse_fail(err, SC_PARSE_SPACE, j);
    return SC_OK;
}

/* Decimal digits from s[*i] up to a non-digit or the end, while the value
 * stays at most max; false when there are none, when there is a leading
 * zero or when the value passes max. */
static bool quick_decimal(const char *s, size_t len, size_t *i, unsigned max, unsigned *out)
{
    size_t j = *i;
    if (j == len || !is_digit(s[j])) return false;
    unsigned v = (unsigned)(s[j++] - '0');
    if (v == 0 && j < len && is_digit(s[j])) return false;
    for (; j < len && is_digit(s[j]); j++)
        if ((v = v * 10 + (unsigned)(s[j] - '0')) > max) return false;
    *i = j;
    *out = v;
    return true;
}

/* Four dotted octets from s[*i], as the top 32 bits of *hi. */
static bool quick_v4(const char *s, size_t len, size_t *i, uint64_t *hi)
{
    size_t j = *i;
    uint64_t a = 0;
    unsigned v;
    for (int k = 0; k < 4; k++) {
        if (k > 0 && (j == len || s[j++] != '.')) return false;
        if (!quick_decimal(s, len, &j, 255, &v)) return false;
        a = a << 8 | v;
    }
    *i = j;
    *hi = a << 32;
    return true;
}

/* Eight groups of 1 to 4 hex digits and seven single ':' from s[*i]: an
 * IPv6 address with no "::" and no dotted tail, as a peer's address
 * formats more often than not. */
static bool quick_v6(const char *s, size_t len, size_t *i, uint64_t *hi, uint64_t *lo)
{
    size_t j = *i;
    uint64_t h = 0, l = 0;   /* the groups shift in from the right */
    for (int k = 0; k < 8; k++) {
        if (k > 0 && (j == len || s[j++] != ':')) return false;
        unsigned v = 0;
        size_t start = j;
        for (int h; j < len && (h = hex_value((unsigned char)s[j])) >= 0; j++)
            v = v << 4 | (unsigned)h;
        if (j == start || j - start > 4) return false;
        h = h << 16 | l >> 48;
        l = l << 16 | v;
    }
    *i = j;
    *hi = h;
    *lo = l;
    return true;
}

/* The forms a host sends on every connection, "/24", "192.0.2.77/24" and a
 * full IPv6 address with a mask, in one pass with none of the error
 * bookkeeping, the address in two words (sc_prefix_set).  It takes only
 * text the full parse below takes, to the same prefix, and leaves
 * everything else ("::", dotted tails, brackets, errors, an IPv4-mapped
 * connecting IP) to it, which also names the error. */
static bool parse_quick(const char *s, size_t len, const sc_addr *connecting, sc_prefix *out)
{
    int family = SC_INET4;
    uint64_t hi = 0, lo = 0;
    unsigned max = 32, mask;
    size_t i = 0;
    if (s[0] == '/') {
        if (!connecting) return false;
        family = connecting->family;
        hi = sc_load_be64(connecting->bytes);
        lo = sc_load_be64(connecting->bytes + 8);
        if (family == SC_INET6 && hi == 0 && lo >> 32 == 0xffff) return false;   /* mapped */
        if ((max = sc_family_bytes(family) * 8) == 0) return false;
        i = 1;
    } else {
        if (!quick_v4(s, len, &i, &hi)) {
            i = 0;
            family = SC_INET6;
            max = 128;
            if (!quick_v6(s, len, &i, &hi, &lo)) return false;
        }
        if (i == len) {
            sc_prefix_set(family, hi, lo, max, out);
            return true;
        }
        if (s[i++] != '/') return false;
    }
    if (!quick_decimal(s, len, &i, max, &mask) || i != len) return false;
    sc_prefix_set(family, hi, lo, mask, out);
    return true;
}

sc_status sc_parse_cidr(const char *text, size_t len, const sc_addr *connecting,
                        sc_prefix *out, sc_error *err)
{
    if ((!text && len) || !out) return SC_E_INVALID;
    if (len > 0 && parse_quick(text, len, connecting, out)) return SC_OK;
    sc_status st = check_bytes(text, len, err);
    if (st != SC_OK) return st;
    cursor c = {text, len, 0, err};
    sc_addr host;
    unsigned mask;
    if (text[0] == '/') {
        c.i = 1;
        if (connecting) {
            host = *connecting;
            sc_addr_unmap(&host);   /* a mapped peer is IPv4: IPv4's range */
        }
        unsigned max = connecting ? sc_family_bytes(host.family) * 8 : 128;
        if (max == 0) return SC_E_INVALID;
        if ((st = parse_mask(&c, max, &mask)) != SC_OK) return st;
        if (!connecting) return sc_parse_fail(err, SC_PARSE_NO_CONNECTING_IP, 0);
    } else {
        if ((st = parse_host(&c, &host)) != SC_OK) return st;
        mask = sc_family_bytes(host.family) * 8;
        if (c.i < len) {
            c.i++;
            if ((st = parse_mask(&c, mask, &mask)) != SC_OK) return st;
        }
    }
    sc_prefix_finish(&host, mask, out);
    return SC_OK;
}

sc_status sc_parse_addr(const char *text, size_t len, sc_addr *out, sc_error *err)
{
    if ((!text && len) || !out) return SC_E_INVALID;
    sc_status st = check_bytes(text, len, err);
    if (st != SC_OK) return st;
    cursor c = {text, len, 0, err};
    sc_addr a;
    if (text[0] == '/') return sc_parse_fail(err, SC_PARSE_MASK_NOT_ALLOWED, 0);
    if ((st = parse_host(&c, &a)) != SC_OK) return st;
    if (c.i < len) return sc_parse_fail(err, SC_PARSE_MASK_NOT_ALLOWED, c.i);
    sc_addr_unmap(&a);
    *out = a;
    return SC_OK;
}
