/*
 * sc_journal.c: the change log of a clustering table (sc_journal.h).
 */
#include <sched.h>
#include <stdlib.h>

#include "sc_internal.h"
#include "sc_journal.h"

#define STRIPES 16

typedef struct stripe {
    pthread_mutex_t lock;
    sc_addrmap changes;          /* the noters' (under the lock) */
    sc_addrmap spare;            /* the drainer's: empty, its memory kept, so
                                  * that a drain never makes noters regrow */
    char pad[64];                /* keep neighbours' locks off this line */
} stripe;

struct sc_journal {
    stripe s[STRIPES];
    bool on;                     /* under every stripe's lock to write; any one to read */
    _Atomic bool lost;           /* a change could not be noted: seed again */
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
    for (int i = 0; i < STRIPES; i++) sc_addrmap_clear(&j->s[i].changes);
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
