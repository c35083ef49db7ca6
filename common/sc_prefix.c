/*
 * sc_prefix.c: addresses, prefixes and their canonical text.
 *
 * An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is the IPv4 address a.b.c.d,
 * and a mapped prefix of length 96 or more is the IPv4 prefix of length
 * len - 96: every path that makes an sc_addr or sc_prefix goes through
 * sc_addr_unmap or sc_prefix_finish, so the rest of the code never sees a
 * mapped address.  The formatter writes RFC 5952 itself because libc's
 * inet_ntop writes dotted tails, which the canonical form forbids.
 */
#include <string.h>

#include "sc_internal.h"

static const uint8_t mapped_head[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

static bool is_mapped(const sc_addr *a)
{
    return a->family == SC_INET6 && memcmp(a->bytes, mapped_head, 12) == 0;
}

void sc_addr_unmap(sc_addr *addr)
{
    if (!is_mapped(addr)) return;
    memmove(addr->bytes, addr->bytes + 12, 4);
    memset(addr->bytes + 4, 0, 12);
    addr->family = SC_INET4;
}

static void store_be64(uint8_t *p, uint64_t v)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    memcpy(p, &v, 8);
}

/* In two registers, not through a local copy: a count reads the result
 * back at once as the same two words, which the store buffer forwards only
 * when they were written as such (a 16-byte copy plus narrower fix-ups cost
 * a forwarding stall on every count). */
void sc_prefix_set(int family, uint64_t hi, uint64_t lo, unsigned len, sc_prefix *out)
{
#ifdef SC_PLANT_MAPPED_PREFIX
    /* PLANTED BUG (tests only): ::ffff:0:0/96 itself stays IPv6 */
    if (family == SC_INET6 && len > 96 && sc_mapped_words(hi, lo)) {
#else
    if (family == SC_INET6 && len >= 96 && sc_mapped_words(hi, lo)) {
#endif
        family = SC_INET4;
        hi = lo << 32;
        lo = 0;
        len -= 96;
    }
    out->addr.family = (uint8_t)family;
    store_be64(out->addr.bytes, hi & sc_net_mask(len, 0));
    store_be64(out->addr.bytes + 8, lo & sc_net_mask(len, 64));
    out->len = (uint8_t)len;
}

void sc_prefix_finish(const sc_addr *addr, unsigned len, sc_prefix *out)
{
    sc_prefix_set(addr->family, sc_load_be64(addr->bytes), sc_load_be64(addr->bytes + 8), len,
                  out);
}

sc_status sc_addr_from_bytes(int family, const uint8_t *bytes, sc_addr *out)
{
    unsigned n = sc_family_bytes(family);
    if (!bytes || !out || n == 0) return SC_E_INVALID;
    sc_addr a = {.family = (uint8_t)family};
    memcpy(a.bytes, bytes, n);
    sc_addr_unmap(&a);
    *out = a;
    return SC_OK;
}

sc_status sc_prefix_make(const sc_addr *addr, unsigned len, sc_prefix *out)
{
    unsigned n = addr ? sc_family_bytes(addr->family) : 0;
    if (!out || n == 0 || len > n * 8) return SC_E_INVALID;
    sc_prefix_finish(addr, len, out);
    return SC_OK;
}

size_t sc_put_dec(char *p, uint32_t v)
{
    char tmp[10];
    size_t n = 0;
    do tmp[n++] = (char)('0' + v % 10); while ((v /= 10) != 0);
    for (size_t i = 0; i < n; i++) p[i] = tmp[n - 1 - i];
    return n;
}

static size_t put_hex(char *p, unsigned v)
{
    static const char digits[] = "0123456789abcdef";
    char tmp[4];
    size_t n = 0;
    do tmp[n++] = digits[v & 15]; while ((v >>= 4) != 0);
    for (size_t i = 0; i < n; i++) p[i] = tmp[n - 1 - i];
    return n;
}

/* RFC 5952 4.2: the longest run of two or more zero groups, first on a tie. */
static void longest_zero_run(const unsigned g[8], int *start, int *len)
{
    *start = -1;
    *len = 0;
    for (int i = 0; i < 8;) {
        int j = i;
        while (j < 8 && g[j] == 0) j++;
        if (j - i > *len && j - i >= 2) {
            *start = i;
            *len = j - i;
        }
        i = j > i ? j : i + 1;
    }
}

static size_t format_v6(const uint8_t *b, char *p)
{
    unsigned g[8];
    for (int i = 0; i < 8; i++) g[i] = (unsigned)b[2 * i] << 8 | b[2 * i + 1];
    int zs, zl;
    longest_zero_run(g, &zs, &zl);
    size_t n = 0;
    for (int i = 0; i < 8; i++) {
        if (i == zs) {
            p[n++] = ':';
            if (i == 0) p[n++] = ':';
            i += zl - 1;
            continue;
        }
        n += put_hex(p + n, g[i]);
        if (i < 7) p[n++] = ':';
    }
    return n;
}

size_t sc_format_prefix(const sc_prefix *prefix, char *buf, size_t cap)
{
    if (!prefix || !buf || cap < SC_PREFIX_TEXT_MAX) return 0;
    unsigned nb = sc_family_bytes(prefix->addr.family);
    if (nb == 0 || prefix->len > nb * 8) return 0;
    size_t n = 0;
    if (nb == 4) {
        for (int i = 0; i < 4; i++) {
            n += sc_put_dec(buf + n, prefix->addr.bytes[i]);
            if (i < 3) buf[n++] = '.';
        }
    } else {
        n = format_v6(prefix->addr.bytes, buf);
    }
    buf[n++] = '/';
    n += sc_put_dec(buf + n, prefix->len);
    buf[n] = '\0';
    return n;
}
