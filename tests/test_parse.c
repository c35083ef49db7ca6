/*
 * test_parse.c: the CIDR/address parser and the canonical formatter, table
 * driven.  Every row runs against both parsers, the public one
 * (sc_parse_cidr, fast/sc_parse.c) and ref's own (sc_ref_parse_cidr), each
 * time from a malloc'd buffer of exactly the input's length (no NUL after
 * it), so an over-read shows under ASan.
 */
#include <arpa/inet.h>
#include <string.h>

#include "sc_check.h"
#include "sc_internal.h"
#include "sc_ref.h"

typedef sc_status (*cidr_fn)(const char *, size_t, const sc_addr *, sc_prefix *, sc_error *);
typedef sc_status (*addr_fn)(const char *, size_t, sc_addr *, sc_error *);

static const struct parser {
    const char *name;
    cidr_fn cidr;
    addr_fn addr;
    bool public_api;
} parsers[] = {
    {"public", sc_parse_cidr, sc_parse_addr, true},
    {"ref", sc_ref_parse_cidr, sc_ref_parse_addr, false},
};
enum { N_PARSERS = sizeof parsers / sizeof parsers[0] };

/* Connecting IPs of the tables below. */
#define V4C "192.0.2.77"
#define V6C "2001:db8:1:2:3:4:5:6"
#define MAPC "::ffff:192.0.2.77" /* held raw: an IPv6 sc_addr that is mapped */

/* A raw sc_addr from text through inet_pton: no unmapping, so MAPC stays an
 * IPv6 address, as a host that copies a sockaddr_in6 would hand it over. */
static bool raw_addr(const char *text, sc_addr *out)
{
    memset(out, 0, sizeof *out);
    if (inet_pton(AF_INET, text, out->bytes) == 1) {
        out->family = SC_INET4;
        return true;
    }
    if (inet_pton(AF_INET6, text, out->bytes) == 1) {
        out->family = SC_INET6;
        return true;
    }
    return false;
}

/* The input as printable text (escapes for NUL and control bytes). */
static const char *show(const char *s, size_t len)
{
    static char buf[4][256];
    static int k;
    char *b = buf[k++ & 3];
    size_t n = 0;
    for (size_t i = 0; i < len && n + 5 < sizeof buf[0]; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= ' ' && c <= '~' && c != '\\') b[n++] = (char)c;
        else n += (size_t)snprintf(b + n, 5, "\\x%02x", c);
    }
    b[n] = '\0';
    return b;
}

static bool prefix_equal(const sc_prefix *a, const sc_prefix *b)
{
    return a->len == b->len && a->addr.family == b->addr.family &&
           memcmp(a->addr.bytes, b->addr.bytes, 16) == 0;
}

static sc_status parse_cidr_exact(const struct parser *p, const char *text, size_t len,
                                  const sc_addr *conn, sc_prefix *out, sc_error *err)
{
    char *copy = malloc(len ? len : 1);
    if (len) memcpy(copy, text, len);
    sc_status st = p->cidr(copy, len, conn, out, err);
    free(copy);
    return st;
}

static sc_status parse_addr_exact(const struct parser *p, const char *text, size_t len,
                                  sc_addr *out, sc_error *err)
{
    char *copy = malloc(len ? len : 1);
    if (len) memcpy(copy, text, len);
    sc_status st = p->addr(copy, len, out, err);
    free(copy);
    return st;
}

/* ------------------------------------------------------------------ valid forms */

static const struct valid_row {
    const char *text, *conn, *want;
} valid_rows[] = {
    /* IPv4, masks, host bits */
    {"192.0.2.1", NULL, "192.0.2.1/32"}, {"192.0.2.0/24", NULL, "192.0.2.0/24"},
    {"192.0.2.77/24", NULL, "192.0.2.0/24"}, {"0.0.0.0/0", NULL, "0.0.0.0/0"},
    {"255.255.255.255/0", NULL, "0.0.0.0/0"}, {"255.255.255.255/32", NULL, "255.255.255.255/32"},
    {"255.255.255.255", NULL, "255.255.255.255/32"}, {"0.0.0.0", NULL, "0.0.0.0/32"},
    {"10.200.30.4/8", NULL, "10.0.0.0/8"}, {"192.0.2.255/25", NULL, "192.0.2.128/25"},
    {"192.0.2.255/31", NULL, "192.0.2.254/31"}, {"198.51.100.7/1", NULL, "128.0.0.0/1"},
    {"10.0.0.1/8", V6C, "10.0.0.0/8"}, /* an absolute prefix ignores the connecting IP */
    /* IPv6 full, compressed, case, brackets */
    {"2001:0db8:0000:0000:0000:0000:0000:0001", NULL, "2001:db8::1/128"},
    {"2001:db8:0:0:0:0:0:1/128", NULL, "2001:db8::1/128"}, {"::", NULL, "::/128"},
    {"::/0", NULL, "::/0"}, {"::1", NULL, "::1/128"},
    {"::1/128", NULL, "::1/128"},
    {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", NULL,
     "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128"},
    {"FFFF:FFFF:FFFF:FFFF:FFFF:FFFF:FFFF:FFFF/0", NULL, "::/0"},
    {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/1", NULL, "8000::/1"},
    {"2001:DB8::ABCD", NULL, "2001:db8::abcd/128"},
    {"2001:Db8::aBcD/128", NULL, "2001:db8::abcd/128"}, {"2001:db8::/32", NULL, "2001:db8::/32"},
    {"2001:db8:85a3::8a2e:370:7334/64", NULL, "2001:db8:85a3::/64"},
    {"2001:db8:85a3:0:0:8a2e:370:7334", NULL, "2001:db8:85a3::8a2e:370:7334/128"},
    {"2001:db8:abcd:12::/56", NULL, "2001:db8:abcd::/56"},
    {"2001:db8::3/127", NULL, "2001:db8::2/127"}, {"fe80::1", NULL, "fe80::1/128"},
    {"[2001:db8::1]/64", NULL, "2001:db8::/64"}, {"[2001:db8::1]", NULL, "2001:db8::1/128"},
    {"[::]/0", NULL, "::/0"},
    /* dotted tails are written in hex */
    {"::1.2.3.4/128", NULL, "::102:304/128"}, {"::1.2.3.4", NULL, "::102:304/128"},
    {"64:ff9b::192.0.2.33", NULL, "64:ff9b::c000:221/128"},
    {"1:2:3:4:5:6:1.2.3.4", NULL, "1:2:3:4:5:6:102:304/128"},
    {"::c000:201", NULL, "::c000:201/128"},
    /* IPv4-mapped */
    {"::ffff:192.0.2.1", NULL, "192.0.2.1/32"}, {"::FFFF:192.0.2.1", NULL, "192.0.2.1/32"},
    {"::ffff:c000:201", NULL, "192.0.2.1/32"}, {"0:0:0:0:0:ffff:c000:0201", NULL, "192.0.2.1/32"},
    {"[::ffff:192.0.2.1]/128", NULL, "192.0.2.1/32"},
    {"::ffff:192.0.2.0/120", NULL, "192.0.2.0/24"}, {"::ffff:192.0.2.77/120", NULL, "192.0.2.0/24"},
    {"::ffff:192.0.2.1/104", NULL, "192.0.0.0/8"}, {"::ffff:0:0/96", NULL, "0.0.0.0/0"},
    {"::ffff:0:0/95", NULL, "::fffe:0:0/95"}, {"::ffff:0:0/80", NULL, "::/80"},
    {"::fffe:c000:201", NULL, "::fffe:c000:201/128"},
    {"::ffff:1:c000:201", NULL, "::ffff:1:c000:201/128"},
    /* RFC 5952 */
    {"2001:db8:0:0:1:0:0:1", NULL, "2001:db8::1:0:0:1/128"},
    {"2001:0:0:1:0:0:0:1", NULL, "2001:0:0:1::1/128"},
    {"2001:db8:0:1:1:1:1:1", NULL, "2001:db8:0:1:1:1:1:1/128"},
    {"2001:db8::1:1:1:1:1", NULL, "2001:db8:0:1:1:1:1:1/128"}, {"1:0:0:0:0:0:0:0", NULL, "1::/128"},
    {"0:0:0:0:0:0:0:1", NULL, "::1/128"}, {"0:1:0:1:0:1:0:1", NULL, "0:1:0:1:0:1:0:1/128"},
    {"::2:3:4:5:6:7:8", NULL, "0:2:3:4:5:6:7:8/128"},
    {"1:2:3:4:5:6:7::", NULL, "1:2:3:4:5:6:7:0/128"},
    {"2001:db8:0:0:1:0:0:0", NULL, "2001:db8:0:0:1::/128"},
    {"a:0:0:b:0:0:0:0", NULL, "a:0:0:b::/128"}, {"0:0:a:0:0:b:0:0", NULL, "::a:0:0:b:0:0/128"},
    {"0001:0002::", NULL, "1:2::/128"},
    /* relative masks */
    {"/24", V4C, "192.0.2.0/24"}, {"/32", V4C, "192.0.2.77/32"},
    {"/0", V4C, "0.0.0.0/0"}, {"/64", V6C, "2001:db8:1:2::/64"},
    {"/48", V6C, "2001:db8:1::/48"}, {"/128", V6C, "2001:db8:1:2:3:4:5:6/128"},
    {"/24", V6C, "2001:d00::/24"}, /* an IPv6 /24, not an IPv4 one */
    {"/0", V6C, "::/0"},
    {"/24", MAPC, "192.0.2.0/24"}, /* a mapped connecting IP is IPv4 */
    {"/32", MAPC, "192.0.2.77/32"},
};

static void test_valid_forms_format_canonically(void)
{
    for (size_t r = 0; r < sizeof valid_rows / sizeof valid_rows[0]; r++) {
        const struct valid_row *row = &valid_rows[r];
        sc_addr conn;
        if (row->conn && !CHECK(raw_addr(row->conn, &conn), "bad test row %s", row->conn))
            continue;
        sc_prefix got[N_PARSERS];
        for (int k = 0; k < N_PARSERS; k++) {
            const struct parser *p = &parsers[k];
            sc_error err = {0};
            sc_status st = parse_cidr_exact(p, row->text, strlen(row->text),
                                            row->conn ? &conn : NULL, &got[k], &err);
            if (!CHECK(st == SC_OK, "%s parser refused \"%s\" (connecting %s): %s at %zu",
                       p->name, row->text, row->conn ? row->conn : "none",
                       err.reason ? err.reason : "?", err.offset))
                continue;
            char buf[SC_PREFIX_TEXT_MAX];
            size_t n = sc_format_prefix(&got[k], buf, sizeof buf);
            CHECK(n == strlen(row->want) && strcmp(buf, row->want) == 0,
                  "%s parser: \"%s\" (connecting %s) formats as \"%s\", want \"%s\"", p->name,
                  row->text, row->conn ? row->conn : "none", n ? buf : "(nothing)", row->want);
            /* The canonical text parses back to the same prefix. */
            sc_prefix again;
            st = parse_cidr_exact(p, buf, n, NULL, &again, &err);
            CHECK(st == SC_OK && prefix_equal(&again, &got[k]),
                  "%s parser: canonical \"%s\" of \"%s\" does not parse back to it", p->name,
                  buf, row->text);
            char buf2[SC_PREFIX_TEXT_MAX];
            CHECK(st == SC_OK && sc_format_prefix(&again, buf2, sizeof buf2) == n &&
                      strcmp(buf, buf2) == 0,
                  "%s parser: \"%s\" formats differently after a round trip", p->name, buf);
            if (k > 0 && st == SC_OK)
                CHECK(prefix_equal(&got[0], &got[k]), "parsers disagree on \"%s\"", row->text);
        }
    }
}

/* ------------------------------------------------------------------ errors */

static const struct error_row {
    const char *text;
    size_t len;            /* 0: strlen(text) */
    const char *conn;
    sc_parse_code code;
    size_t offset;
    const char *reason;    /* the public parser's; NULL: sc_parse_reason(code) */
} error_rows[] = {
    {"", 0, NULL, SC_PARSE_EMPTY, 0, NULL}, {"", 0, V4C, SC_PARSE_EMPTY, 0, NULL},
    /* white space or NUL, anywhere, wins over everything but emptiness */
    {" 192.0.2.1", 0, NULL, SC_PARSE_SPACE, 0, NULL},
    {"192.0.2.1 ", 0, NULL, SC_PARSE_SPACE, 9, NULL},
    {"192.0.2.1\t/24", 0, NULL, SC_PARSE_SPACE, 9, NULL},
    {"192.0.2.0/24\n", 0, NULL, SC_PARSE_SPACE, 12, NULL},
    {"2001:db8::1\r", 0, NULL, SC_PARSE_SPACE, 11, NULL},
    {"192.0.2.1\v", 0, NULL, SC_PARSE_SPACE, 9, NULL},
    {"192.0.2\0.1", 10, NULL, SC_PARSE_SPACE, 7, NULL}, {"\0", 1, NULL, SC_PARSE_SPACE, 0, NULL},
    {"fe80::1%eth 0", 0, NULL, SC_PARSE_SPACE, 11, NULL}, {"/ 24", 0, V4C, SC_PARSE_SPACE, 1, NULL},
    /* zone ids, where the '%' is */
    {"fe80::1%eth0", 0, NULL, SC_PARSE_ZONE, 7, NULL},
    {"fe80::1%eth0/64", 0, NULL, SC_PARSE_ZONE, 7, NULL},
    {"[fe80::1%eth0]/64", 0, NULL, SC_PARSE_ZONE, 8, NULL},
    {"fe80::%1", 0, NULL, SC_PARSE_ZONE, 6, NULL},
    {"192.0.2.1%eth0", 0, NULL, SC_PARSE_ZONE, 9, NULL},
    /* netmasks, at the mask's first byte */
    {"192.0.2.0/255.255.255.0", 0, NULL, SC_PARSE_NETMASK, 10, NULL},
    {"10.0.0.0/255.0.0.0", 0, NULL, SC_PARSE_NETMASK, 9, NULL},
    {"/255.255.255.0", 0, V4C, SC_PARSE_NETMASK, 1, NULL},
    /* IPv4 shorthand */
    {"10/8", 0, NULL, SC_PARSE_V4_SHORTHAND, 2, NULL},
    {"10.1", 0, NULL, SC_PARSE_V4_SHORTHAND, 4, NULL},
    {"10.1.2", 0, NULL, SC_PARSE_V4_SHORTHAND, 6, NULL},
    {"10", 0, NULL, SC_PARSE_V4_SHORTHAND, 2, NULL},
    {"10.1/16", 0, NULL, SC_PARSE_V4_SHORTHAND, 4, NULL},
    {"::ffff:1.2.3", 0, NULL, SC_PARSE_V4_SHORTHAND, 12, NULL},
    /* octets */
    {"10.0.0.256/8", 0, NULL, SC_PARSE_V4_OCTET_RANGE, 9, NULL},
    {"256.0.0.0", 0, NULL, SC_PARSE_V4_OCTET_RANGE, 2, NULL},
    {"192.0.2.1000", 0, NULL, SC_PARSE_V4_OCTET_RANGE, 11, NULL},
    {"1.2.3.300", 0, NULL, SC_PARSE_V4_OCTET_RANGE, 8, NULL},
    {"::1.2.3.256", 0, NULL, SC_PARSE_V4_OCTET_RANGE, 10, NULL},
    {"010.0.0.1", 0, NULL, SC_PARSE_V4_LEADING_ZERO, 1, NULL},
    {"10.0.0.01", 0, NULL, SC_PARSE_V4_LEADING_ZERO, 8, NULL},
    {"00.0.0.0", 0, NULL, SC_PARSE_V4_LEADING_ZERO, 1, NULL},
    {"192.168.01.1/24", 0, NULL, SC_PARSE_V4_LEADING_ZERO, 9, NULL},
    {"0x0a.0.0.1", 0, NULL, SC_PARSE_V4_HEX, 1, NULL},
    {"10.0.0.0xff", 0, NULL, SC_PARSE_V4_HEX, 8, NULL},
    {"10.0.0.0X1", 0, NULL, SC_PARSE_V4_HEX, 8, NULL},
    {"1.2.3.4.5", 0, NULL, SC_PARSE_V4_SYNTAX, 7, NULL},
    {"1..2.3", 0, NULL, SC_PARSE_V4_SYNTAX, 2, NULL},
    {"a.b.c.d", 0, NULL, SC_PARSE_V4_SYNTAX, 0, NULL},
    {"192.0.2./24", 0, NULL, SC_PARSE_V4_SYNTAX, 8, NULL},
    {"1.2.3.-4", 0, NULL, SC_PARSE_V4_SYNTAX, 6, NULL},
    /* IPv6 syntax (ref's offsets are not compared: inet_pton cannot say where) */
    {"1:2:3:4:5:6:7:8:9", 0, NULL, SC_PARSE_V6_SYNTAX, 15, "too many IPv6 groups"},
    {"1:2:3:4:5:6:7:8::", 0, NULL, SC_PARSE_V6_SYNTAX, 15, "too many IPv6 groups"},
    {"1::2::3", 0, NULL, SC_PARSE_V6_SYNTAX, 5, "more than one '::'"},
    {"12345::1", 0, NULL, SC_PARSE_V6_SYNTAX, 4, "IPv6 group longer than 4 hex digits"},
    {":::", 0, NULL, SC_PARSE_V6_SYNTAX, 2, "too many colons"},
    {"1:::2", 0, NULL, SC_PARSE_V6_SYNTAX, 3, "too many colons"},
    {":1:2:3:4:5:6:7", 0, NULL, SC_PARSE_V6_SYNTAX, 1, "single ':' at the start"},
    {"1:2:3:4:5:6:7:", 0, NULL, SC_PARSE_V6_SYNTAX, 14, "address ends with ':'"},
    {"1::2:", 0, NULL, SC_PARSE_V6_SYNTAX, 5, "address ends with ':'"},
    {"1:2:3:4:5:6:7", 0, NULL, SC_PARSE_V6_SYNTAX, 13, "too few IPv6 groups"},
    {"1:2", 0, NULL, SC_PARSE_V6_SYNTAX, 3, "too few IPv6 groups"},
    /* a tail after the wrong number of groups: the '.' is the first impossible byte */
    {"1:2:3:4:5:6:7:1.2.3.4", 0, NULL, SC_PARSE_V6_SYNTAX, 15, "misplaced dotted IPv4 tail"},
    {"1.2.3.4::", 0, NULL, SC_PARSE_V6_SYNTAX, 1, "misplaced dotted IPv4 tail"},
    {"1:2:3:1.2.3.4", 0, NULL, SC_PARSE_V6_SYNTAX, 7, "misplaced dotted IPv4 tail"},
    {"1:2:3:4:5:6::1.2.3.4", 0, NULL, SC_PARSE_V6_SYNTAX, 14, "misplaced dotted IPv4 tail"},
    {"::1.2.3.4:5", 0, NULL, SC_PARSE_V6_SYNTAX, 9, NULL},
    {"2001:db8::g", 0, NULL, SC_PARSE_V6_SYNTAX, 10, NULL},
    {"2001:dg8::1", 0, NULL, SC_PARSE_V6_SYNTAX, 6, NULL},
    /* masks */
    {"192.0.2.0/", 0, NULL, SC_PARSE_MASK_SYNTAX, 10, "missing mask"},
    {"/", 0, V4C, SC_PARSE_MASK_SYNTAX, 1, "missing mask"},
    {"192.0.2.0/+24", 0, NULL, SC_PARSE_MASK_SYNTAX, 10, NULL},
    {"192.0.2.0/-1", 0, NULL, SC_PARSE_MASK_SYNTAX, 10, NULL},
    {"192.0.2.0/a", 0, NULL, SC_PARSE_MASK_SYNTAX, 10, NULL},
    {"/x", 0, V6C, SC_PARSE_MASK_SYNTAX, 1, NULL},
    {"192.0.2.0/024", 0, NULL, SC_PARSE_MASK_SYNTAX, 11, "mask has a leading zero"},
    {"2001:db8::/00", 0, NULL, SC_PARSE_MASK_SYNTAX, 12, "mask has a leading zero"},
    {"192.0.2.0/33", 0, NULL, SC_PARSE_MASK_RANGE, 11, NULL},
    {"192.0.2.0/320", 0, NULL, SC_PARSE_MASK_RANGE, 12, NULL},
    {"192.0.2.0/99999999999999999999", 0, NULL, SC_PARSE_MASK_RANGE, 11, NULL},
    {"2001:db8::/129", 0, NULL, SC_PARSE_MASK_RANGE, 13, NULL},
    {"::/200", 0, NULL, SC_PARSE_MASK_RANGE, 5, NULL},
    {"::ffff:192.0.2.0/129", 0, NULL, SC_PARSE_MASK_RANGE, 19, NULL},
    {"/64", 0, V4C, SC_PARSE_MASK_RANGE, 2, NULL}, {"/33", 0, V4C, SC_PARSE_MASK_RANGE, 2, NULL},
    {"/129", 0, V6C, SC_PARSE_MASK_RANGE, 3, NULL}, {"/33", 0, MAPC, SC_PARSE_MASK_RANGE, 2, NULL},
    {"/4294967297", 0, NULL, SC_PARSE_MASK_RANGE, 3, NULL},
    /* brackets */
    {"[192.0.2.1]", 0, NULL, SC_PARSE_BRACKET, 0, NULL},
    {"[192.0.2.1]/24", 0, NULL, SC_PARSE_BRACKET, 0, NULL},
    {"[]", 0, NULL, SC_PARSE_BRACKET, 0, NULL},
    {"192.0.2.1/[24]", 0, NULL, SC_PARSE_BRACKET, 10, NULL},
    {"[2001:db8::1]/[64]", 0, NULL, SC_PARSE_BRACKET, 14, NULL},
    {"/[24]", 0, V4C, SC_PARSE_BRACKET, 1, NULL},
    {"[2001:db8::1/64]", 0, NULL, SC_PARSE_BRACKET, 12, NULL},
    {"[2001:db8::1", 0, NULL, SC_PARSE_BRACKET, 12, "missing ']'"},
    {"2001:db8::1]", 0, NULL, SC_PARSE_BRACKET, 11, NULL},
    {"192.0.2.1]", 0, NULL, SC_PARSE_BRACKET, 9, NULL},
    {"[[::1]]", 0, NULL, SC_PARSE_BRACKET, 1, NULL}, {"[::1]]", 0, NULL, SC_PARSE_BRACKET, 5, NULL},
    {"2001:db8::1/64]", 0, NULL, SC_PARSE_BRACKET, 14, NULL},
    /* an empty last octet before ']' is the octet's fault, not the bracket's */
    {"[::1.2.3.]", 0, NULL, SC_PARSE_V4_SYNTAX, 9, NULL},
    {"[::1.]", 0, NULL, SC_PARSE_V4_SYNTAX, 5, NULL},
    /* trailing text */
    {"192.0.2.1/24x", 0, NULL, SC_PARSE_TRAILING, 12, NULL},
    {"192.0.2.1/24/8", 0, NULL, SC_PARSE_TRAILING, 12, NULL},
    {"::1/128abc", 0, NULL, SC_PARSE_TRAILING, 7, NULL},
    {"[::1]x", 0, NULL, SC_PARSE_TRAILING, 5, NULL},
    {"[::1]:25", 0, NULL, SC_PARSE_TRAILING, 5, NULL},
    {"192.0.2.1x", 0, NULL, SC_PARSE_TRAILING, 9, NULL},
    {"/24x", 0, V4C, SC_PARSE_TRAILING, 3, NULL},
    /* relative masks need a connecting IP */
    {"/24", 0, NULL, SC_PARSE_NO_CONNECTING_IP, 0, NULL},
    {"/0", 0, NULL, SC_PARSE_NO_CONNECTING_IP, 0, NULL},
    {"/128", 0, NULL, SC_PARSE_NO_CONNECTING_IP, 0, NULL},
};

static void check_error(const struct parser *p, const char *what, const char *text, size_t len,
                        const char *conn, sc_status st, const sc_error *err, sc_parse_code code,
                        size_t offset, const char *reason, bool out_same)
{
    const char *in = show(text, len);
    const char *c = conn ? conn : "none";
    if (!CHECK(st == SC_E_PARSE, "%s %s(\"%s\", connecting %s) returned %d, want SC_E_PARSE",
               p->name, what, in, c, (int)st))
        return;
    CHECK(out_same, "%s %s(\"%s\") wrote to out on error", p->name, what, in);
    CHECK(err->code == code, "%s %s(\"%s\", connecting %s): code %d (%s), want %d (%s)", p->name,
          what, in, c, (int)err->code, sc_parse_reason(err->code), (int)code,
          sc_parse_reason(code));
    CHECK(err->reason != NULL, "%s %s(\"%s\"): NULL reason", p->name, what, in);
    bool ref_v6 = !p->public_api && code == SC_PARSE_V6_SYNTAX;
    if (!ref_v6)
        CHECK(err->offset == offset, "%s %s(\"%s\", connecting %s): offset %zu, want %zu",
              p->name, what, in, c, err->offset, offset);
    if (p->public_api) {
        const char *want = reason ? reason : sc_parse_reason(code);
        CHECK(err->reason && strcmp(err->reason, want) == 0,
              "%s %s(\"%s\"): reason \"%s\", want \"%s\"", p->name, what, in,
              err->reason ? err->reason : "(null)", want);
    }
}

static void test_errors_name_class_offset_and_reason(void)
{
    for (size_t r = 0; r < sizeof error_rows / sizeof error_rows[0]; r++) {
        const struct error_row *row = &error_rows[r];
        size_t len = row->len ? row->len : strlen(row->text);
        sc_addr conn;
        if (row->conn && !CHECK(raw_addr(row->conn, &conn), "bad test row %s", row->conn))
            continue;
        for (int k = 0; k < N_PARSERS; k++) {
            sc_prefix out, before;
            memset(&out, 0xA5, sizeof out);
            before = out;
            sc_error err = {SC_PARSE_OK, NULL, 12345};
            sc_status st = parse_cidr_exact(&parsers[k], row->text, len,
                                            row->conn ? &conn : NULL, &out, &err);
            check_error(&parsers[k], "parse_cidr", row->text, len, row->conn, st, &err,
                        row->code, row->offset, row->reason,
                        memcmp(&out, &before, sizeof out) == 0);
            /* err may be NULL: the status alone */
            st = parse_cidr_exact(&parsers[k], row->text, len, row->conn ? &conn : NULL, &out,
                                  NULL);
            CHECK(st == SC_E_PARSE, "%s parse_cidr(\"%s\", err NULL) returned %d",
                  parsers[k].name, show(row->text, len), (int)st);
        }
    }
}

/* ------------------------------------------------------------------ addresses */

static void test_parse_addr_takes_hosts_only(void)
{
    static const struct { const char *text, *want; } ok[] = {
        {"192.0.2.1", "192.0.2.1/32"},
        {"::ffff:192.0.2.1", "192.0.2.1/32"}, /* mapped: held as IPv4 */
        {"[2001:db8::1]", "2001:db8::1/128"},
        {"::", "::/128"},
        {"::1.2.3.4", "::102:304/128"},
    };
    static const struct { const char *text; sc_parse_code code; size_t offset; } bad[] = {
        {"192.0.2.1/24", SC_PARSE_MASK_NOT_ALLOWED, 9},
        {"192.0.2.1/", SC_PARSE_MASK_NOT_ALLOWED, 9},
        {"/24", SC_PARSE_MASK_NOT_ALLOWED, 0},
        {"::1/128", SC_PARSE_MASK_NOT_ALLOWED, 3},
        {"[::1]/128", SC_PARSE_MASK_NOT_ALLOWED, 5},
        {"", SC_PARSE_EMPTY, 0},
        {" ::1", SC_PARSE_SPACE, 0},
        {"10.1", SC_PARSE_V4_SHORTHAND, 4},
        {"fe80::1%eth0", SC_PARSE_ZONE, 7},
        {"[192.0.2.1]", SC_PARSE_BRACKET, 0},
        {"10.0.0.256", SC_PARSE_V4_OCTET_RANGE, 9},
    };
    for (int k = 0; k < N_PARSERS; k++) {
        const struct parser *p = &parsers[k];
        for (size_t r = 0; r < sizeof ok / sizeof ok[0]; r++) {
            sc_addr a;
            sc_error err = {0};
            sc_status st = parse_addr_exact(p, ok[r].text, strlen(ok[r].text), &a, &err);
            if (!CHECK(st == SC_OK, "%s parse_addr(\"%s\"): %s", p->name, ok[r].text,
                       err.reason ? err.reason : "?"))
                continue;
            sc_prefix pre = {.addr = a, .len = a.family == SC_INET4 ? 32 : 128};
            char buf[SC_PREFIX_TEXT_MAX];
            CHECK(sc_format_prefix(&pre, buf, sizeof buf) && strcmp(buf, ok[r].want) == 0,
                  "%s parse_addr(\"%s\") is %s, want %s", p->name, ok[r].text, buf, ok[r].want);
        }
        for (size_t r = 0; r < sizeof bad / sizeof bad[0]; r++) {
            sc_addr out, before;
            memset(&out, 0x5A, sizeof out);
            before = out;
            sc_error err = {0};
            size_t len = strlen(bad[r].text);
            sc_status st = parse_addr_exact(p, bad[r].text, len, &out, &err);
            check_error(p, "parse_addr", bad[r].text, len, NULL, st, &err, bad[r].code,
                        bad[r].offset, NULL, memcmp(&out, &before, sizeof out) == 0);
        }
    }
}

/* ------------------------------------------------------------------ lengths */

static void test_input_ends_at_its_length_not_at_a_nul(void)
{
    /* text[0..len) is the input; the bytes after it would change the answer
     * if a parser read them. */
    static const struct {
        const char *buf; size_t len; const char *conn, *want;
        sc_parse_code code; size_t offset;
    } rows[] = {
        {"192.0.2.1/245", 12, NULL, "192.0.2.0/24", SC_PARSE_OK, 0},
        {"10.1.2.3.4", 8, NULL, "10.1.2.3/32", SC_PARSE_OK, 0},
        {"::1:2", 3, NULL, "::1/128", SC_PARSE_OK, 0},
        {"192.0.2.1 garbage", 9, NULL, "192.0.2.1/32", SC_PARSE_OK, 0},
        {"/24", 2, V4C, "192.0.0.0/2", SC_PARSE_OK, 0},
        {"[2001:db8::1]/64x", 16, NULL, "2001:db8::/64", SC_PARSE_OK, 0},
        {"10.1.2.3", 4, NULL, NULL, SC_PARSE_V4_SHORTHAND, 4},
        {"[::1]", 4, NULL, NULL, SC_PARSE_BRACKET, 4},
        {"192.0.2.0/24", 10, NULL, NULL, SC_PARSE_MASK_SYNTAX, 10},
        {"192.0.2.1/24", 0, NULL, NULL, SC_PARSE_EMPTY, 0},
    };
    for (int k = 0; k < N_PARSERS; k++) {
        const struct parser *p = &parsers[k];
        for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
            sc_addr conn;
            if (rows[r].conn) raw_addr(rows[r].conn, &conn);
            sc_prefix out;
            sc_error err = {0};
            /* straight from the longer buffer: the bytes after len are there */
            sc_status st = p->cidr(rows[r].buf, rows[r].len, rows[r].conn ? &conn : NULL, &out,
                                   &err);
            const char *in = show(rows[r].buf, rows[r].len);
            if (rows[r].code == SC_PARSE_OK) {
                char text[SC_PREFIX_TEXT_MAX] = "";
                if (st == SC_OK) sc_format_prefix(&out, text, sizeof text);
                CHECK(st == SC_OK && strcmp(text, rows[r].want) == 0,
                      "%s: \"%s\" (len %zu of \"%s\") gave status %d \"%s\", want \"%s\"",
                      p->name, in, rows[r].len, rows[r].buf, (int)st, text, rows[r].want);
            } else {
                CHECK(st == SC_E_PARSE && err.code == rows[r].code &&
                          err.offset == rows[r].offset,
                      "%s: \"%s\" (len %zu of \"%s\") gave status %d code %d at %zu, want code "
                      "%d at %zu", p->name, in, rows[r].len, rows[r].buf, (int)st,
                      (int)err.code, err.offset, (int)rows[r].code, rows[r].offset);
            }
        }
    }
}

static void test_bad_arguments_are_invalid(void)
{
    sc_prefix out;
    sc_addr a;
    sc_error err;
    for (int k = 0; k < N_PARSERS; k++) {
        const struct parser *p = &parsers[k];
        CHECK(p->cidr(NULL, 3, NULL, &out, &err) == SC_E_INVALID, "%s: NULL text", p->name);
        CHECK(p->cidr("::1", 3, NULL, NULL, &err) == SC_E_INVALID, "%s: NULL out", p->name);
        CHECK(p->addr(NULL, 3, &a, &err) == SC_E_INVALID, "%s: addr NULL text", p->name);
        CHECK(p->addr("::1", 3, NULL, &err) == SC_E_INVALID, "%s: addr NULL out", p->name);
        err.code = SC_PARSE_OK;
        CHECK(p->cidr(NULL, 0, NULL, &out, &err) == SC_E_PARSE && err.code == SC_PARSE_EMPTY,
              "%s: NULL text of length 0 is empty input", p->name);
        sc_addr bad_family = {.family = 5};
        CHECK(p->cidr("/24", 3, &bad_family, &out, &err) == SC_E_INVALID,
              "%s: connecting IP of family 5", p->name);
    }
}

/* ------------------------------------------------------------------ from bytes */

static void test_mapped_bytes_become_ipv4(void)
{
    const uint8_t mapped[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1};
    const uint8_t v4[4] = {192, 0, 2, 1};
    sc_addr a, b;
    CHECK(sc_addr_from_bytes(SC_INET6, mapped, &a) == SC_OK, "mapped bytes refused");
    CHECK(a.family == SC_INET4, "::ffff:192.0.2.1 from bytes has family %d", a.family);
    CHECK(sc_addr_from_bytes(SC_INET4, v4, &b) == SC_OK, "IPv4 bytes refused");
    CHECK(memcmp(&a, &b, sizeof a) == 0, "mapped bytes differ from the IPv4 address");
    static const uint8_t zero12[12];
    CHECK(memcmp(b.bytes + 4, zero12, 12) == 0, "IPv4 bytes past the fourth are not zero");
    uint8_t other[16];
    memcpy(other, mapped, 16);
    other[11] = 0xfe; /* ::fffe:c000:201 is not mapped */
    CHECK(sc_addr_from_bytes(SC_INET6, other, &a) == SC_OK && a.family == SC_INET6,
          "::fffe:192.0.2.1 from bytes is not IPv6");
    sc_addr untouched;
    memset(&untouched, 0x77, sizeof untouched);
    a = untouched;
    CHECK(sc_addr_from_bytes(5, v4, &a) == SC_E_INVALID, "family 5 accepted");
    CHECK(sc_addr_from_bytes(SC_INET4, NULL, &a) == SC_E_INVALID, "NULL bytes accepted");
    CHECK(sc_addr_from_bytes(SC_INET4, v4, NULL) == SC_E_INVALID, "NULL out accepted");
    CHECK(memcmp(&a, &untouched, sizeof a) == 0, "out changed on error");
}

static void test_prefix_make_clears_host_bits_and_unmaps(void)
{
    const uint8_t v4[4] = {192, 0, 2, 77};
    const uint8_t mapped[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 77};
    const struct { int family; const uint8_t *bytes; unsigned len; const char *want; } rows[] = {
        {SC_INET4, v4, 24, "192.0.2.0/24"},
        {SC_INET4, v4, 32, "192.0.2.77/32"},
        {SC_INET4, v4, 0, "0.0.0.0/0"},
        {SC_INET4, v4, 31, "192.0.2.76/31"},
    };
    char buf[SC_PREFIX_TEXT_MAX];
    sc_prefix p;
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        sc_addr a;
        CHECK(sc_addr_from_bytes(rows[r].family, rows[r].bytes, &a) == SC_OK &&
                  sc_prefix_make(&a, rows[r].len, &p) == SC_OK &&
                  sc_format_prefix(&p, buf, sizeof buf) && strcmp(buf, rows[r].want) == 0,
              "prefix_make(192.0.2.77, %u) is %s, want %s", rows[r].len, buf, rows[r].want);
    }
    /* An IPv6 sc_addr holding mapped bytes, as a host might build by hand. */
    sc_addr raw = {.family = SC_INET6};
    memcpy(raw.bytes, mapped, 16);
    CHECK(sc_prefix_make(&raw, 120, &p) == SC_OK && sc_format_prefix(&p, buf, sizeof buf) &&
              strcmp(buf, "192.0.2.0/24") == 0,
          "prefix_make(::ffff:192.0.2.77, 120) is %s, want 192.0.2.0/24", buf);
    CHECK(sc_prefix_make(&raw, 95, &p) == SC_OK && p.addr.family == SC_INET6 &&
              sc_format_prefix(&p, buf, sizeof buf) && strcmp(buf, "::fffe:0:0/95") == 0,
          "prefix_make(::ffff:192.0.2.77, 95) is %s, want ::fffe:0:0/95", buf);
    sc_addr a4;
    if (!CHECK(sc_addr_from_bytes(SC_INET4, v4, &a4) == SC_OK, "addr_from_bytes(192.0.2.77)"))
        return;
    sc_prefix before;
    memset(&p, 0x33, sizeof p);
    before = p;
    CHECK(sc_prefix_make(&a4, 33, &p) == SC_E_INVALID, "IPv4 /33 accepted");
    CHECK(sc_prefix_make(&raw, 129, &p) == SC_E_INVALID, "IPv6 /129 accepted");
    sc_addr bad = {.family = 0};
    CHECK(sc_prefix_make(&bad, 0, &p) == SC_E_INVALID, "family 0 accepted");
    CHECK(sc_prefix_make(NULL, 0, &p) == SC_E_INVALID, "NULL addr accepted");
    CHECK(sc_prefix_make(&a4, 8, NULL) == SC_E_INVALID, "NULL out accepted");
    CHECK(memcmp(&p, &before, sizeof p) == 0, "out changed on error");
}

static void test_format_refuses_small_buffers_and_bad_prefixes(void)
{
    sc_prefix p;
    sc_error err;
    const char *longest = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128";
    CHECK(sc_parse_cidr(longest, strlen(longest), NULL, &p, &err) == SC_OK, "%s", longest);
    char buf[SC_PREFIX_TEXT_MAX + 8];
    memset(buf, '#', sizeof buf);
    CHECK(sc_format_prefix(&p, buf, SC_PREFIX_TEXT_MAX - 1) == 0,
          "cap %d accepted", SC_PREFIX_TEXT_MAX - 1);
    CHECK(sc_format_prefix(&p, buf, 0) == 0, "cap 0 accepted");
    CHECK(sc_format_prefix(&p, NULL, 100) == 0, "NULL buf accepted");
    CHECK(sc_format_prefix(NULL, buf, sizeof buf) == 0, "NULL prefix accepted");
    size_t n = sc_format_prefix(&p, buf, SC_PREFIX_TEXT_MAX);
    CHECK(n == strlen(longest) && strcmp(buf, longest) == 0,
          "longest text is \"%s\" (%zu), want %s", buf, n, longest);
    CHECK(buf[SC_PREFIX_TEXT_MAX] == '#', "wrote past cap");
    sc_prefix bad = p;
    bad.len = 129;
    CHECK(sc_format_prefix(&bad, buf, sizeof buf) == 0, "IPv6 /129 formatted");
    bad.addr.family = SC_INET4;
    bad.len = 33;
    CHECK(sc_format_prefix(&bad, buf, sizeof buf) == 0, "IPv4 /33 formatted");
    bad.addr.family = 7;
    bad.len = 0;
    CHECK(sc_format_prefix(&bad, buf, sizeof buf) == 0, "family 7 formatted");
}

int main(void)
{
    RUN(test_valid_forms_format_canonically);
    RUN(test_errors_name_class_offset_and_reason);
    RUN(test_parse_addr_takes_hosts_only);
    RUN(test_input_ends_at_its_length_not_at_a_nul);
    RUN(test_bad_arguments_are_invalid);
    RUN(test_mapped_bytes_become_ipv4);
    RUN(test_prefix_make_clears_host_bits_and_unmaps);
    RUN(test_format_refuses_small_buffers_and_bad_prefixes);
    return check_done();
}
