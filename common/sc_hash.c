/*
 * sc_hash.c: SipHash-2-4 (Aumasson and Bernstein, "SipHash: a fast
 * short-input PRF", 2012), written from the paper, with its 64- and 128-bit
 * outputs.  String keys of a series are counted under their 128-bit
 * SipHash with a random per-table key (sc_series.c explains why), so that
 * nobody who does not know the key can make two keys collide.
 */
#include "sc_internal.h"

static uint64_t rotl(uint64_t x, unsigned b) { return (x << b) | (x >> (64 - b)); }

static uint64_t load_le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

static void store_le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

typedef struct sip { uint64_t v0, v1, v2, v3; } sip;

static void rounds(sip *s, int n)
{
    while (n--) {
        s->v0 += s->v1; s->v1 = rotl(s->v1, 13); s->v1 ^= s->v0; s->v0 = rotl(s->v0, 32);
        s->v2 += s->v3; s->v3 = rotl(s->v3, 16); s->v3 ^= s->v2;
        s->v0 += s->v3; s->v3 = rotl(s->v3, 21); s->v3 ^= s->v0;
        s->v2 += s->v1; s->v1 = rotl(s->v1, 17); s->v1 ^= s->v2; s->v2 = rotl(s->v2, 32);
    }
}

void sc_siphash(const uint8_t key[16], const void *data, size_t len, uint8_t *out,
                size_t outlen)
{
    const uint8_t *in = data;
    uint64_t k0 = load_le64(key), k1 = load_le64(key + 8);
    sip s = {k0 ^ 0x736f6d6570736575u, k1 ^ 0x646f72616e646f6du, k0 ^ 0x6c7967656e657261u,
             k1 ^ 0x7465646279746573u};
    if (outlen == 16) s.v1 ^= 0xee;
    size_t whole = len - len % 8;
    for (size_t i = 0; i < whole; i += 8) {
        uint64_t m = load_le64(in + i);
        s.v3 ^= m;
        rounds(&s, 2);
        s.v0 ^= m;
    }
    uint64_t b = (uint64_t)len << 56;
    for (size_t i = 0; i < len % 8; i++) b |= (uint64_t)in[whole + i] << (8 * i);
    s.v3 ^= b;
    rounds(&s, 2);
    s.v0 ^= b;
    s.v2 ^= outlen == 16 ? 0xee : 0xff;
    rounds(&s, 4);
    store_le64(out, s.v0 ^ s.v1 ^ s.v2 ^ s.v3);
    if (outlen != 16) return;
    s.v1 ^= 0xdd;
    rounds(&s, 4);
    store_le64(out + 8, s.v0 ^ s.v1 ^ s.v2 ^ s.v3);
}
