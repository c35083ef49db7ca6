/*
 * sc_journal.c: the change log of a clustering table (sc_journal.h).
 */
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "sc_internal.h"
#include "sc_journal.h"

#define STRIPES 16

typedef struct stripe {
    pthread_mutex_t lock;
    sc_addrmap changes;          /* the noters' (under the lock) */
    sc_addrmap spare;            /* the drainer's: empty, its memory kept, so
                                  * that a drain never makes noters regrow */
    sc_keymap series;            /* series changes, the noters' (under the lock) */
    sc_keymap series_spare;      /* the drainer's, as spare */
    char pad[64];                /* keep neighbours' locks off this line */
} stripe;

struct sc_journal {
    stripe s[STRIPES];
    bool on;                     /* under every stripe's lock to write; any one to read */
    _Atomic bool lost;           /* a change could not be noted: seed again */
    _Atomic bool series_lost;    /* a series change could not be noted */
};

sc_status sc_journal_new(sc_journal **out)
{
    sc_journal *j = calloc(1, sizeof *j);
    if (!j) return SC_E_NOMEM;
    for (int i = 0; i < STRIPES; i++) pthread_mutex_init(&j->s[i].lock, NULL);
    *out = j;
    return SC_OK;
}

void sc_journal_free(sc_journal *j)
{
    if (!j) return;
    for (int i = 0; i < STRIPES; i++) {
        pthread_mutex_destroy(&j->s[i].lock);
        sc_addrmap_free(&j->s[i].changes);
        sc_addrmap_free(&j->s[i].spare);
        sc_keymap_free(&j->s[i].series);
        sc_keymap_free(&j->s[i].series_spare);
    }
    free(j);
}

static stripe *my_stripe(sc_journal *j)
{
    int cpu = sched_getcpu();    /* a hint only: the lock makes any stripe correct */
    return &j->s[(unsigned)(cpu < 0 ? 0 : cpu) % STRIPES];
}

static sc_status noted(sc_table *tab, const sc_addr *a, bool open)
{
    sc_journal *j = tab->journal;
    stripe *s = my_stripe(j);
    pthread_mutex_lock(&s->lock);
    sc_status st = open ? tab->impl->open(tab, a, SC_SERVICE_SMTP)
                        : tab->impl->close(tab, a, SC_SERVICE_SMTP);
    if (st == SC_OK && j->on && sc_addrmap_add(&s->changes, a, open ? 1 : -1) != SC_OK)
        /* relaxed: a flag alone; the seeding it asks for takes every lock */
        atomic_store_explicit(&j->lost, true, memory_order_relaxed);
    pthread_mutex_unlock(&s->lock);
    return st;
}

sc_status sc_journal_open(sc_table *tab, const sc_addr *a) { return noted(tab, a, true); }
sc_status sc_journal_close(sc_table *tab, const sc_addr *a) { return noted(tab, a, false); }

static void lock_all(sc_journal *j)
{
    for (int i = 0; i < STRIPES; i++) pthread_mutex_lock(&j->s[i].lock);
}

static void unlock_all(sc_journal *j)
{
    for (int i = STRIPES; i-- > 0;) pthread_mutex_unlock(&j->s[i].lock);
}

typedef struct seeding {
    sc_journal_fn seed;
    void *arg;
    int failed;
} seeding;

static int seed_one(void *arg, const sc_branch *b)
{
    seeding *sd = arg;
    unsigned full = b->prefix.addr.family == SC_INET4 ? 32 : 128;
    if (b->prefix.len != full) return 0;     /* a branching point: its addresses follow */
    sd->failed = sd->seed(sd->arg, &b->prefix.addr, (int64_t)b->count);
    return sd->failed;
}

static sc_status walk_family(sc_table *tab, int family, seeding *sd)
{
    sc_prefix root = {.addr = {.family = (uint8_t)family}, .len = 0};
    sc_status st = tab->impl->walk(tab, &root, SC_SERVICE_SMTP, SC_WALK_ALL, seed_one, sd);
    return st != SC_OK ? st : sd->failed ? SC_E_NOMEM : SC_OK;
}

sc_status sc_journal_start(sc_table *tab, sc_journal_fn seed, void *arg)
{
    sc_journal *j = tab->journal;
    seeding sd = {seed, arg, 0};
    lock_all(j);
    sc_status st = j->on ? SC_E_CONFLICT : walk_family(tab, SC_INET4, &sd);
    if (st == SC_OK) st = walk_family(tab, SC_INET6, &sd);
    if (st == SC_OK) {
        j->on = true;
        /* relaxed: every stripe's lock is held */
        atomic_store_explicit(&j->lost, false, memory_order_relaxed);
    }
    unlock_all(j);
    return st;
}

void sc_journal_stop(sc_table *tab)
{
    sc_journal *j = tab->journal;
    lock_all(j);
    j->on = false;
    for (int i = 0; i < STRIPES; i++) {
        sc_addrmap_clear(&j->s[i].changes);
        sc_keymap_clear(&j->s[i].series);
    }
    unlock_all(j);
}

bool sc_journal_drain(sc_table *tab, sc_journal_fn fn, void *arg)
{
    sc_journal *j = tab->journal;
    bool whole = true;
    for (int i = 0; i < STRIPES; i++) {
        stripe *s = &j->s[i];
        pthread_mutex_lock(&s->lock);
        sc_addrmap taken = s->changes;   /* swap out: noters never wait on fn */
        s->changes = s->spare;
        /* relaxed: a flag alone, as where it is set */
        if (atomic_exchange_explicit(&j->lost, false, memory_order_relaxed)) whole = false;
        pthread_mutex_unlock(&s->lock);
        sc_addrmap_each(&taken, fn, arg);
        sc_addrmap_clear(&taken);
        s->spare = taken;                /* only the one drainer touches spare */
    }
    return whole;
}

/* ------------------------------------------------------------------ series */

static void put16(uint8_t *p, size_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }

size_t sc_skey_encode(const sc_skey *k, uint8_t *out)
{
    uint8_t *p = out;
    put16(p, k->slen);
    memcpy(p + 2, k->sname, k->slen);
    p += 2 + k->slen;
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)((uint64_t)k->epoch >> (8 * i));
    p[8] = (uint8_t)k->type;
    p[9] = (uint8_t)k->klen;
    memcpy(p + 10, k->key, k->klen);
    return (size_t)(p + 10 + k->klen - out);
}

bool sc_sname_parse(const char *name, size_t len, sc_series_kind *kind, sc_monitor *m)
{
    /* E<k>:<W>,<N> or N<t>:<W>,<N>:<name> */
    if (len < 5 || (name[0] != 'E' && name[0] != 'N') || name[1] < '0' || name[1] > '2' ||
        name[2] != ':')
        return false;
    const char *mon = name + 3, *end = memchr(mon, ':', len - 3);
    size_t mlen = end ? (size_t)(end - mon) : len - 3;
    if (name[0] == 'E' ? end != NULL : (!end || len - 3 - mlen - 1 < 1 ||
                                         len - 3 - mlen - 1 > 255))
        return false;
    if (sc_monitor_parse(mon, mlen, m, NULL) != SC_OK) return false;
    *kind = name[0] == 'E' ? SC_SERIES_CIDR : (sc_series_kind)(name[1] - '0');
    return true;
}

bool sc_skey_decode(const uint8_t *buf, size_t len, sc_skey *out)
{
    sc_series_kind kind;
    sc_monitor m;
    if (len < 2) return false;
    size_t slen = buf[0] | (size_t)buf[1] << 8;
    if (slen > SC_SNAME_MAX || len < 12 + slen) return false;
    const uint8_t *p = buf + 2 + slen;
    uint64_t e = 0;
    for (int i = 0; i < 8; i++) e |= (uint64_t)p[i] << (8 * i);
    int type = p[8];
    size_t klen = p[9];
    if (len != 12 + slen + klen || !sc_sname_parse((const char *)buf + 2, slen, &kind, &m))
        return false;
    bool string = kind == SC_SERIES_STRING;
    if (string ? type != 0 || klen < 1 : !((type == 4 && klen == 4) || (type == 6 && klen == 16)))
        return false;
    *out = (sc_skey){(const char *)buf + 2, slen, (int64_t)e, type, p + 10, klen};
    return true;
}

/* The change of s's key in window `epoch`, noted when recording. */
static void note_series(sc_journal *j, stripe *st, const sc_series *s, const sc_addr *a,
                        const char *key, size_t len, int64_t epoch, int64_t delta)
{
    if (!j->on || delta == 0) return;
    uint8_t buf[SC_SKEY_MAX];
    sc_skey k = {s->fleet_name, s->fleet_name_len, epoch, 0, (const uint8_t *)key, len};
    if (a) {
        k.type = a->family;
        k.key = a->bytes;
        k.klen = a->family == SC_INET4 ? 4 : 16;
    }
    if (sc_keymap_add(&st->series, buf, sc_skey_encode(&k, buf), delta) != SC_OK)
        /* relaxed: as in noted() */
        atomic_store_explicit(&j->series_lost, true, memory_order_relaxed);
}

sc_status sc_journal_series_add(sc_series *s, const sc_addr *a, const char *key, size_t len,
                                int64_t epoch, uint64_t n, bool take)
{
    sc_table *tab = s->table;
    sc_journal *j = tab->journal;
    stripe *st = my_stripe(j);
    uint64_t done = 0;
    pthread_mutex_lock(&st->lock);
    sc_status r = a ? tab->impl->series_add(s, a, epoch, n, take, &done)
                    : tab->impl->series_add_str(s, key, len, epoch, n, take, &done);
    note_series(j, st, s, a, key, len, epoch, take ? -(int64_t)done : (int64_t)done);
    pthread_mutex_unlock(&st->lock);
    return r;
}

typedef struct removal {
    sc_journal *j;
    stripe *st;
    const sc_series *s;
    const sc_addr *a;
    const char *key;
    size_t len;
} removal;

static void removed(void *arg, int64_t epoch, uint64_t n)
{
    removal *r = arg;
    note_series(r->j, r->st, r->s, r->a, r->key, r->len, epoch, -(int64_t)n);
}

void sc_journal_series_remove(sc_series *s, const sc_addr *a, const char *key, size_t len)
{
    sc_table *tab = s->table;
    removal r = {tab->journal, my_stripe(tab->journal), s, a, key, len};
    pthread_mutex_lock(&r.st->lock);
    if (a) tab->impl->series_remove(s, a, removed, &r);
    else tab->impl->series_remove_str(s, key, len, removed, &r);
    pthread_mutex_unlock(&r.st->lock);
}

bool sc_journal_drain_series(sc_table *tab, sc_keymap_fn fn, void *arg)
{
    sc_journal *j = tab->journal;
    bool whole = true;
    for (int i = 0; i < STRIPES; i++) {
        stripe *s = &j->s[i];
        pthread_mutex_lock(&s->lock);
        sc_keymap taken = s->series;   /* swap out: noters never wait on fn */
        s->series = s->series_spare;
        /* relaxed: as in sc_journal_drain */
        if (atomic_exchange_explicit(&j->series_lost, false, memory_order_relaxed)) whole = false;
        pthread_mutex_unlock(&s->lock);
        sc_keymap_each(&taken, fn, arg);
        sc_keymap_clear(&taken);
        s->series_spare = taken;
    }
    return whole;
}
