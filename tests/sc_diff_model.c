/*
 * sc_diff_model.c: the harness's own address rules (sc_diff_model.h).
 * Bit by bit and byte by byte on purpose: slow, short and unlike the
 * two-word code in common/ it checks.
 */
#include <string.h>

#include "sc_diff_model.h"

static bool is_mapped(const uint8_t *b)
{
    for (int i = 0; i < 10; i++)
        if (b[i] != 0) return false;
    return b[10] == 0xff && b[11] == 0xff;
}

sc_addr dm_addr(int family, const uint8_t *bytes)
{
    sc_addr a;
    memset(&a, 0, sizeof a);
    a.family = (uint8_t)family;
    if (family == SC_INET6 && is_mapped(bytes)) {
        a.family = SC_INET4;
        for (int i = 0; i < 4; i++) a.bytes[i] = bytes[12 + i];
    } else {
        for (int i = 0; i < (family == SC_INET4 ? 4 : 16); i++) a.bytes[i] = bytes[i];
    }
    return a;
}

sc_addr dm_mapped(const sc_addr *v4)
{
    sc_addr m;
    memset(&m, 0, sizeof m);
    m.family = SC_INET6;
    m.bytes[10] = m.bytes[11] = 0xff;
    for (int i = 0; i < 4; i++) m.bytes[12 + i] = v4->bytes[i];
    return m;
}

sc_prefix dm_prefix(const sc_addr *a, unsigned len)
{
    sc_prefix p;
    memset(&p, 0, sizeof p);
    p.addr.family = a->family;
    const uint8_t *src = a->bytes;
    if (a->family == SC_INET6 && len >= 96 && is_mapped(a->bytes)) {
        p.addr.family = SC_INET4;
        src = a->bytes + 12;
        len -= 96;
    }
    for (unsigned i = 0; i < len; i++) dm_set_bit(p.addr.bytes, i, dm_bit(src, i));
    p.len = (uint8_t)len;
    return p;
}

bool dm_in_prefix(const sc_addr *a, const sc_prefix *p)
{
    if (a->family != p->addr.family) return false;
    unsigned i = 0;
    for (; i + 8 <= p->len; i += 8)   /* whole bytes, then bit by bit */
        if (a->bytes[i / 8] != p->addr.bytes[i / 8]) return false;
    for (; i < p->len; i++)
        if (dm_bit(a->bytes, i) != dm_bit(p->addr.bytes, i)) return false;
    return true;
}

/* Hand-written rather than snprintf: every op of a run names its
 * addresses, and snprintf would be most of the harness's time. */
static size_t put_uint(char *p, unsigned v, unsigned base)
{
    char tmp[8];
    size_t n = 0;
    do tmp[n++] = "0123456789abcdef"[v % base]; while ((v /= base) != 0);
    for (size_t i = 0; i < n; i++) p[i] = tmp[n - 1 - i];
    return n;
}

void dm_addr_text(const sc_addr *a, char buf[DM_TEXT_MAX])
{
    const uint8_t *b = a->bytes;
    size_t n = 0;
    if (a->family == SC_INET4) {
        for (int i = 0; i < 4; i++) {
            if (i) buf[n++] = '.';
            n += put_uint(buf + n, b[i], 10);
        }
    } else {
        for (int g = 0; g < 8; g++) {
            if (g) buf[n++] = ':';
            n += put_uint(buf + n, (unsigned)b[2 * g] << 8 | b[2 * g + 1], 16);
        }
    }
    buf[n] = '\0';
}

void dm_prefix_text(const sc_prefix *p, char buf[DM_TEXT_MAX])
{
    dm_addr_text(&p->addr, buf);
    size_t n = strlen(buf);
    buf[n++] = '/';
    buf[n + put_uint(buf + n, p->len, 10)] = '\0';
}
