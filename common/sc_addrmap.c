/*
 * sc_addrmap.c: the address-to-count map (sc_addrmap.h).
 */
#include <stdlib.h>
#include <string.h>

#include "sc_addrmap.h"
#include "sc_internal.h"

static size_t slot_of(const sc_addr *a, size_t mask)
{
    uint64_t hi = sc_load_be64(a->bytes), lo = sc_load_be64(a->bytes + 8);
    uint64_t h = (hi ^ (lo * 0x9E3779B97F4A7C15u) ^ a->family) * 0xFF51AFD7ED558CCDu;
    return (size_t)(h ^ (h >> 29)) & mask;
}

static bool same(const sc_addr *a, const sc_addr *b)
{
    return a->family == b->family && memcmp(a->bytes, b->bytes, 16) == 0;
}

static sc_addrmap_slot *find(const sc_addrmap *m, const sc_addr *a)
{
    size_t mask = m->cap - 1;
    for (size_t i = slot_of(a, mask);; i = (i + 1) & mask) {
        sc_addrmap_slot *s = &m->slot[i];
        if (s->addr.family == 0 || same(&s->addr, a)) return s;
    }
}

static sc_status grow(sc_addrmap *m)
{
    size_t cap = m->cap ? m->cap * 2 : 64;
    sc_addrmap_slot *old = m->slot, *slot = calloc(cap, sizeof *slot);
    size_t oldcap = m->cap;
    if (!slot) return SC_E_NOMEM;
    m->slot = slot;
    m->cap = cap;
    for (size_t i = 0; i < oldcap; i++)
        if (old[i].addr.family != 0) *find(m, &old[i].addr) = old[i];
    free(old);
    return SC_OK;
}

sc_status sc_addrmap_add(sc_addrmap *m, const sc_addr *addr, int64_t delta)
{
    if (m->cap == 0 || (m->used + 1) * 2 > m->cap) {
        sc_status st = grow(m);
        if (st != SC_OK) return st;
    }
    sc_addrmap_slot *s = find(m, addr);
    if (s->addr.family == 0) {
        s->addr = *addr;
        m->used++;
    }
    s->count += delta;
    return SC_OK;
}

int64_t sc_addrmap_get(const sc_addrmap *m, const sc_addr *addr)
{
    return m->cap ? find(m, addr)->count : 0;
}

int sc_addrmap_each(const sc_addrmap *m, int (*fn)(void *arg, const sc_addr *a, int64_t n),
                    void *arg)
{
    for (size_t i = 0; i < m->cap; i++) {
        const sc_addrmap_slot *s = &m->slot[i];
        if (s->addr.family == 0 || s->count == 0) continue;
        int r = fn(arg, &s->addr, s->count);
        if (r) return r;
    }
    return 0;
}

size_t sc_addrmap_nonzero(const sc_addrmap *m)
{
    size_t n = 0;
    for (size_t i = 0; i < m->cap; i++) n += m->slot[i].addr.family != 0 && m->slot[i].count;
    return n;
}

sc_status sc_addrmap_compact(sc_addrmap *m)
{
    size_t live = sc_addrmap_nonzero(m), cap = 64;
    if (live * 2 >= m->used) return SC_OK;
    while (cap < live * 4) cap *= 2;
    sc_addrmap fresh = {calloc(cap, sizeof(sc_addrmap_slot)), cap, live};
    if (!fresh.slot) return SC_E_NOMEM;
    for (size_t i = 0; i < m->cap; i++)
        if (m->slot[i].addr.family != 0 && m->slot[i].count) *find(&fresh, &m->slot[i].addr) = m->slot[i];
    free(m->slot);
    *m = fresh;
    return SC_OK;
}

void sc_addrmap_clear(sc_addrmap *m)
{
    if (m->cap) memset(m->slot, 0, m->cap * sizeof *m->slot);
    m->used = 0;
}

void sc_addrmap_free(sc_addrmap *m)
{
    free(m->slot);
    memset(m, 0, sizeof *m);
}

size_t sc_addrmap_bytes(const sc_addrmap *m)
{
    return m->cap * sizeof *m->slot;
}
