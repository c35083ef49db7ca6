/*
 * sc_keymap.c: byte string -> count (sc_keymap.h).
 */
#include <stdlib.h>
#include <string.h>

#include "sc_keymap.h"

struct sc_keymap_entry {
    sc_keymap_entry *next;
    uint64_t hash;
    int64_t count;
    size_t len;
    uint8_t key[];
};

/* FNV-1a, then a final mix: keys are our own encodings, not an
 * adversary's choice (they come from this node's own series calls). */
static uint64_t hash_of(const uint8_t *k, size_t len)
{
    uint64_t h = 1469598103934665603u;
    for (size_t i = 0; i < len; i++) h = (h ^ k[i]) * 1099511628211u;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdu;
    return h ^ (h >> 33);
}

static sc_keymap_entry **slot_of(const sc_keymap *m, uint64_t h, const void *key, size_t len)
{
    sc_keymap_entry **p = &m->bucket[h & (m->cap - 1)];
    for (; *p; p = &(*p)->next)
        if ((*p)->hash == h && (*p)->len == len && memcmp((*p)->key, key, len) == 0) break;
    return p;
}

static sc_status grow(sc_keymap *m)
{
    size_t cap = m->cap ? 2 * m->cap : 64;
    sc_keymap_entry **b = calloc(cap, sizeof *b);
    if (!b) return SC_E_NOMEM;
    for (size_t i = 0; i < m->cap; i++)
        for (sc_keymap_entry *e = m->bucket[i], *next; e; e = next) {
            next = e->next;
            e->next = b[e->hash & (cap - 1)];
            b[e->hash & (cap - 1)] = e;
        }
    free(m->bucket);
    m->bytes += (cap - m->cap) * sizeof *b;
    m->bucket = b;
    m->cap = cap;
    return SC_OK;
}

sc_status sc_keymap_add(sc_keymap *m, const void *key, size_t len, int64_t delta)
{
    if (len == 0 || len > SC_KEYMAP_KEY_MAX) return SC_E_INVALID;
    if (m->used >= m->cap && grow(m) != SC_OK && m->cap == 0) return SC_E_NOMEM;
    uint64_t h = hash_of(key, len);
    sc_keymap_entry **p = slot_of(m, h, key, len);
    if (*p) {
        (*p)->count += delta;
        return SC_OK;
    }
    sc_keymap_entry *e = malloc(sizeof *e + len);
    if (!e) return SC_E_NOMEM;
    e->next = NULL;
    e->hash = h;
    e->count = delta;
    e->len = len;
    memcpy(e->key, key, len);
    *p = e;
    m->used++;
    m->bytes += sizeof *e + len;
    return SC_OK;
}

int64_t sc_keymap_get(const sc_keymap *m, const void *key, size_t len)
{
    if (m->cap == 0 || len == 0) return 0;
    sc_keymap_entry *e = *slot_of(m, hash_of(key, len), key, len);
    return e ? e->count : 0;
}

int sc_keymap_each(const sc_keymap *m, sc_keymap_fn fn, void *arg)
{
    for (size_t i = 0; i < m->cap; i++)
        for (const sc_keymap_entry *e = m->bucket[i]; e; e = e->next) {
            int r = e->count ? fn(arg, e->key, e->len, e->count) : 0;
            if (r) return r;
        }
    return 0;
}

void sc_keymap_prune(sc_keymap *m, sc_keymap_fn keep, void *arg)
{
    for (size_t i = 0; i < m->cap; i++)
        for (sc_keymap_entry **p = &m->bucket[i]; *p;) {
            sc_keymap_entry *e = *p;
            if (e->count && (!keep || keep(arg, e->key, e->len, e->count))) {
                p = &e->next;
                continue;
            }
            *p = e->next;
            m->used--;
            m->bytes -= sizeof *e + e->len;
            free(e);
        }
}

void sc_keymap_clear(sc_keymap *m)
{
    for (size_t i = 0; i < m->cap; i++) {
        for (sc_keymap_entry *e = m->bucket[i], *next; e; e = next) {
            next = e->next;
            free(e);
        }
        m->bucket[i] = NULL;
    }
    m->bytes = m->cap * sizeof *m->bucket;
    m->used = 0;
}

void sc_keymap_free(sc_keymap *m)
{
    sc_keymap_clear(m);
    free(m->bucket);
    *m = (sc_keymap){0};
}
