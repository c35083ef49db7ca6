/*
 * sc_ref_series.c: ref's windowed counts, the oracle for fast's.  A list of
 * (key, window, count) entries and a scan, every operation under the
 * series' mutex: short enough to check by eye.  sc_series.c has done the
 * time arithmetic: the epochs handed down are live.  An entry whose count
 * reaches zero is dropped, so memory follows the (key, window) pairs held.
 */
#include <stdlib.h>

#include "sc_ref.h"

/* A CIDR key is its address; a string key is its bytes, with family 0 and
 * bytes[0] its hash bucket (fast's SC_E_RANGE limit is per bucket). */
typedef struct entry {
    sc_addr key;
    uint8_t slen;
    char str[SC_SERIES_KEY_MAX];
    int64_t epoch;
    uint64_t count;
} entry;

typedef struct ref_series {
    struct sc_series hdr;     /* first: filled in by sc_series.c */
    pthread_mutex_t lock;     /* guards the entries */
    entry *v;
    size_t n, cap;
} ref_series;

static ref_series *as_rs(const sc_series *s) { return (ref_series *)(uintptr_t)s; }

sc_status sc_ref_series_new(sc_table *tab, const sc_monitor *m, sc_series **out)
{
    (void)m;
    ref_series *s = calloc(1, sizeof *s);
    if (!s) return SC_E_NOMEM;
    if (pthread_mutex_init(&s->lock, NULL) != 0) {
        free(s);
        return SC_E_NOMEM;
    }
    sc_ref_series_bytes(tab, (int64_t)sizeof *s);
    *out = &s->hdr;
    return SC_OK;
}

void sc_ref_series_free(sc_series *hdr)
{
    ref_series *s = as_rs(hdr);
    sc_ref_series_bytes(hdr->table, -(int64_t)(sizeof *s + s->cap * sizeof *s->v));
    pthread_mutex_destroy(&s->lock);
    free(s->v);
    free(s);
}

static bool same_key(const entry *a, const entry *b)
{
    return a->key.family == b->key.family &&
           memcmp(a->key.bytes, b->key.bytes, sizeof a->key.bytes) == 0 && a->slen == b->slen &&
           memcmp(a->str, b->str, a->slen) == 0;
}

static entry addr_entry(const sc_addr *a)
{
    entry e;
    memset(&e, 0, sizeof e);
    e.key = *a;
    return e;
}

static entry string_entry(const sc_series *s, const char *key, size_t len)
{
    entry e;
    uint8_t h[16];
    memset(&e, 0, sizeof e);
    sc_siphash(s->table->hash_key, key, len, h, 16);
    e.key.bytes[0] = h[0];
    e.slen = (uint8_t)len;
    memcpy(e.str, key, len);
    return e;
}

/* Drops entry i (order does not matter) and gives memory back as entries go. */
static void drop(ref_series *s, size_t i)
{
    s->v[i] = s->v[--s->n];
    if (s->n == 0) {   /* back to the empty footprint */
        sc_ref_series_bytes(s->hdr.table, -(int64_t)(s->cap * sizeof *s->v));
        free(s->v);
        s->v = NULL;
        s->cap = 0;
    } else if (s->cap > 16 && s->n <= s->cap / 4) {
        entry *v = realloc(s->v, s->cap / 2 * sizeof *v);
        if (v) {
            sc_ref_series_bytes(s->hdr.table, -(int64_t)(s->cap / 2 * sizeof *v));
            s->v = v;
            s->cap /= 2;
        }
    }
}

static entry *find(ref_series *s, const entry *key, int64_t epoch)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->v[i].epoch == epoch && same_key(&s->v[i], key)) return &s->v[i];
    return NULL;
}

/* The count of the window under key's first byte: fast's limit. */
static uint64_t first_byte_total(const ref_series *s, const entry *key, int64_t epoch)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < s->n; i++)
        if (s->v[i].epoch == epoch && s->v[i].key.family == key->key.family &&
            s->v[i].key.bytes[0] == key->key.bytes[0])
            sum += s->v[i].count;
    return sum;
}

static sc_status add_locked(ref_series *s, const entry *key, int64_t epoch, uint64_t n,
                            bool take, uint64_t *done)
{
    entry *e = find(s, key, epoch);
    *done = 0;
    if (take) {
        if (!e) return SC_OK;
        *done = e->count > n ? n : e->count;
        if (e->count > n) e->count -= n;
        else drop(s, (size_t)(e - s->v));
        return SC_OK;
    }
    *done = n;   /* unless it fails below */
    if (first_byte_total(s, key, epoch) > SC_SERIES_COUNT_MAX - n) {
        *done = 0;
        return SC_E_RANGE;
    }
    if (e) {
        e->count += n;
        return SC_OK;
    }
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 16;
        entry *v = realloc(s->v, cap * sizeof *v);
        if (!v) {
            *done = 0;
            return SC_E_NOMEM;
        }
        sc_ref_series_bytes(s->hdr.table, (int64_t)((cap - s->cap) * sizeof *v));
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n] = *key;
    s->v[s->n].epoch = epoch;
    s->v[s->n++].count = n;
    return SC_OK;
}

static sc_status add_entry(sc_series *hdr, const entry *key, int64_t epoch, uint64_t n, bool take,
                           uint64_t *done)
{
    ref_series *s = as_rs(hdr);
    pthread_mutex_lock(&s->lock);
    sc_status st = add_locked(s, key, epoch, n, take, done);
    pthread_mutex_unlock(&s->lock);
    return st;
}

static void remove_entry(sc_series *hdr, const entry *key, sc_taken_fn taken, void *arg)
{
    ref_series *s = as_rs(hdr);
    pthread_mutex_lock(&s->lock);
    for (size_t i = 0; i < s->n;)
        if (same_key(&s->v[i], key)) {
            if (taken) taken(arg, s->v[i].epoch, s->v[i].count);
            drop(s, i);
        } else {
            i++;
        }
    pthread_mutex_unlock(&s->lock);
}

sc_status sc_ref_series_add(sc_series *hdr, const sc_addr *key, int64_t epoch, uint64_t n,
                            bool take, uint64_t *done)
{
    entry k = addr_entry(key);
    return add_entry(hdr, &k, epoch, n, take, done);
}

void sc_ref_series_remove(sc_series *hdr, const sc_addr *key, sc_taken_fn taken, void *arg)
{
    entry k = addr_entry(key);
    remove_entry(hdr, &k, taken, arg);
}

sc_status sc_ref_series_add_str(sc_series *hdr, const char *key, size_t len, int64_t epoch,
                                uint64_t n, bool take, uint64_t *done)
{
    entry k = string_entry(hdr, key, len);
    return add_entry(hdr, &k, epoch, n, take, done);
}

void sc_ref_series_remove_str(sc_series *hdr, const char *key, size_t len, sc_taken_fn taken,
                              void *arg)
{
    entry k = string_entry(hdr, key, len);
    remove_entry(hdr, &k, taken, arg);
}

uint64_t sc_ref_series_count_str(const sc_series *hdr, const char *key, size_t len,
                                 int64_t first, int64_t last)
{
    ref_series *s = as_rs(hdr);
    entry k = string_entry(hdr, key, len);
    uint64_t sum = 0;
    pthread_mutex_lock(&s->lock);
    for (size_t i = 0; i < s->n; i++)
        if (s->v[i].epoch >= first && s->v[i].epoch <= last && same_key(&s->v[i], &k))
            sum += s->v[i].count;
    pthread_mutex_unlock(&s->lock);
    return sum;
}

uint64_t sc_ref_series_count(const sc_series *hdr, const sc_prefix *p, int64_t first,
                             int64_t last)
{
    ref_series *s = as_rs(hdr);
    uint64_t sum = 0;
    pthread_mutex_lock(&s->lock);
    for (size_t i = 0; i < s->n; i++) {
        const entry *e = &s->v[i];
        if (e->epoch >= first && e->epoch <= last && e->slen == 0 &&
            e->key.family == p->addr.family &&
            sc_bits_equal(e->key.bytes, p->addr.bytes, p->len))
            sum += e->count;
    }
    pthread_mutex_unlock(&s->lock);
    return sum;
}

void sc_ref_series_turn(sc_series *hdr, int64_t oldest)
{
    ref_series *s = as_rs(hdr);
    pthread_mutex_lock(&s->lock);
    for (size_t i = 0; i < s->n;)
        if (s->v[i].epoch < oldest) drop(s, i);
        else i++;
    pthread_mutex_unlock(&s->lock);
}
