/*
 * peer_lfht.c: the benchmark's peer (see peer_lfht.h), made as fair and as
 * tuned as this design allows:
 *
 *  - One cds_lfht (liburcu 0.13, memb flavor: a read-side section costs
 *    ~0.6 ns here, inlined through _LGPL_SOURCE).  Pre-sized to the
 *    population it is built for, with CDS_LFHT_AUTO_RESIZE and
 *    CDS_LFHT_ACCOUNTING (per-CPU split counters: resizes then follow the
 *    number of entries, not chain lengths).  AUTO_RESIZE without ACCOUNTING is
 *    unusable in 0.13.2: it resizes on chain length alone, and a pre-sized
 *    table kept growing in the background (iteration and lookups slowed
 *    100x) while one grown from 1024 buckets reached 14 GiB for 4M entries.
 *    peer_settle() sets the bucket count to the power of two at or above
 *    the live entries: load factor 0.5 to 1.
 *  - The key is (service, family, length, masked prefix).  An IPv4 key fits
 *    one 64-bit word and its hash is a bijective 64-bit mix of it (no two
 *    IPv4 keys share a hash); an IPv6 key hashes its two address words and the
 *    (service, family, length) word through two rounds of the same mix.
 *  - An entry is exactly what it needs: the lfht node, the count, the key,
 *    and the rcu_head that frees it: 48 bytes for IPv4, 64 for IPv6 (both
 *    jemalloc size classes).
 *  - Open increments the entry of every prefix length, inserting the
 *    missing ones (cds_lfht_add_unique); close decrements them and removes
 *    an entry whose count reaches zero (cds_lfht_del), freeing it through
 *    call_rcu.  Entries are not kept at zero: a table whose sessions all
 *    close returns to its empty size, as SPEC asks of sesscount itself.
 *    A count of zero marks an entry dead: increments never revive it (they
 *    CAS from a positive value), and every match skips it, so an open that
 *    races with the close that emptied an entry inserts a fresh one.
 *  - Close checks the longest prefix first: when that entry is missing the
 *    session is not open and nothing has been changed.
 *  - A count is one lookup under the read lock; every update of one open or
 *    close runs in one read-side section.
 */
#define _LGPL_SOURCE
#include "peer_lfht.h"

#include <malloc.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <urcu/urcu-memb.h>
#include <urcu/rculfhash.h>

typedef struct entry {
    struct cds_lfht_node node;   /* 16 */
    _Atomic int64_t count;       /* 0: dead, being removed */
    uint64_t k0;                 /* IPv4: meta << 32 | prefix; IPv6: meta */
    struct rcu_head rcu;         /* 16 */
    uint64_t hi, lo;             /* IPv6 only: the masked prefix */
} entry;

#define ENTRY4_SIZE offsetof(entry, hi)
#define ENTRY6_SIZE sizeof(entry)

/* Entries and their bytes, counted where they are inserted and deleted:
 * one slot per registered thread (peer_thread_online hands out slots 0-63,
 * and only the slot's owner writes it: a plain load and store, no lock),
 * slot 64 shared by everyone else (atomic adds). */
#define ACCT_SLOTS 64
typedef struct acct_slot {
    _Atomic int64_t entries, bytes;
} __attribute__((aligned(64))) acct_slot;

struct peer {
    struct cds_lfht *ht;
    unsigned long buckets;       /* as last set by peer_new or peer_settle */
    acct_slot acct[ACCT_SLOTS + 1];
};

static _Atomic uint64_t slots_used;
static _Thread_local int my_slot = ACCT_SLOTS;

static void account(peer *p, int64_t entries, int64_t bytes)
{
    acct_slot *a = &p->acct[my_slot];
    /* relaxed: statistics, read at quiescence. */
    if (my_slot < ACCT_SLOTS) {
        atomic_store_explicit(&a->entries,
                              atomic_load_explicit(&a->entries, memory_order_relaxed) + entries,
                              memory_order_relaxed);
        atomic_store_explicit(&a->bytes,
                              atomic_load_explicit(&a->bytes, memory_order_relaxed) + bytes,
                              memory_order_relaxed);
    } else {
        atomic_fetch_add_explicit(&a->entries, entries, memory_order_relaxed);
        atomic_fetch_add_explicit(&a->bytes, bytes, memory_order_relaxed);
    }
}

typedef struct key {
    uint64_t k0, hi, lo;
    bool v6;
} key;

static inline uint64_t mix64(uint64_t x)
{
    /* A bijective finaliser (splitmix64's). */
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

static inline unsigned long key_hash(const key *k)
{
    if (!k->v6) return (unsigned long)mix64(k->k0);
    return (unsigned long)mix64(k->hi ^ mix64(k->lo ^ mix64(k->k0)));
}

static inline uint64_t meta(sc_service svc, unsigned family, unsigned len)
{
    return (uint64_t)svc << 16 | (uint64_t)family << 8 | len;
}

static int match_live(struct cds_lfht_node *node, const void *arg)
{
    const entry *e = caa_container_of(node, entry, node);
    const key *k = arg;
    if (e->k0 != k->k0) return 0;
    if (k->v6 && (e->hi != k->hi || e->lo != k->lo)) return 0;
    /* relaxed: liveness only; the count's value is read again by callers. */
    return atomic_load_explicit(&e->count, memory_order_relaxed) > 0;
}

static void entry_free_rcu(struct rcu_head *head)
{
    free(caa_container_of(head, entry, rcu));
}

/* The keys of every prefix length of an address. */
static inline uint64_t be32(const uint8_t *b)
{
    return (uint64_t)b[0] << 24 | (uint64_t)b[1] << 16 | (uint64_t)b[2] << 8 | b[3];
}

static inline uint64_t be64(const uint8_t *b)
{
    return be32(b) << 32 | be32(b + 4);
}

static inline void key4(key *k, sc_service svc, uint64_t a, unsigned len)
{
    uint64_t m = len ? a & (0xFFFFFFFFull << (32 - len)) & 0xFFFFFFFFull : 0;
    k->k0 = meta(svc, 4, len) << 32 | m;
    k->hi = k->lo = 0;
    k->v6 = false;
}

static inline void key6(key *k, sc_service svc, uint64_t hi, uint64_t lo, unsigned len)
{
    k->k0 = meta(svc, 6, len);
    k->hi = len == 0 ? 0 : len >= 64 ? hi : hi & (~0ull << (64 - len));
    k->lo = len <= 64 ? 0 : len == 128 ? lo : lo & (~0ull << (128 - len));
    k->v6 = true;
}

static bool is_mapped(const sc_addr *a)
{
    static const uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    return a->family == SC_INET6 && memcmp(a->bytes, prefix, 12) == 0;
}

/* ---------------------------------------------------------------- updates */

/* Adds one to the live entry of k, inserting it when missing.  Inside a
 * read-side section.  *spare is a preallocated entry (or NULL). */
static sc_status incr(peer *p, const key *k, entry **spare)
{
    unsigned long h = key_hash(k);
    for (;;) {
        struct cds_lfht_iter it;
        cds_lfht_lookup(p->ht, h, match_live, k, &it);
        struct cds_lfht_node *n = cds_lfht_iter_get_node(&it);
        if (n) {
            entry *e = caa_container_of(n, entry, node);
            int64_t c = atomic_load_explicit(&e->count, memory_order_relaxed);
            /* relaxed: the entry itself is published by the lfht; a count
             * promises only its own value. */
            while (c > 0)
                if (atomic_compare_exchange_weak_explicit(&e->count, &c, c + 1,
                                                          memory_order_relaxed,
                                                          memory_order_relaxed))
                    return SC_OK;
            /* dead: being removed; insert a fresh one */
        }
        entry *e = *spare;
        if (!e) {
            e = malloc(k->v6 ? ENTRY6_SIZE : ENTRY4_SIZE);
            if (!e) return SC_E_NOMEM;
        }
        e->k0 = k->k0;
        if (k->v6) {
            e->hi = k->hi;
            e->lo = k->lo;
        }
        atomic_store_explicit(&e->count, 1, memory_order_relaxed);
        struct cds_lfht_node *got = cds_lfht_add_unique(p->ht, h, match_live, k, &e->node);
        if (got == &e->node) {
            *spare = NULL;
            account(p, 1, (int64_t)malloc_usable_size(e));
            return SC_OK;
        }
        *spare = e;   /* someone else inserted it: increment theirs */
    }
}

/* Subtracts one from the live entry of k, removing it at zero.  Inside a
 * read-side section.  SC_E_NOT_OPEN when there is no live entry. */
static sc_status decr(peer *p, const key *k)
{
    unsigned long h = key_hash(k);
    for (;;) {
        struct cds_lfht_iter it;
        cds_lfht_lookup(p->ht, h, match_live, k, &it);
        struct cds_lfht_node *n = cds_lfht_iter_get_node(&it);
        if (!n) return SC_E_NOT_OPEN;
        entry *e = caa_container_of(n, entry, node);
        int64_t c = atomic_load_explicit(&e->count, memory_order_relaxed);
        while (c > 0) {
            /* relaxed: as in incr. */
            if (atomic_compare_exchange_weak_explicit(&e->count, &c, c - 1, memory_order_relaxed,
                                                      memory_order_relaxed)) {
                if (c == 1 && cds_lfht_del(p->ht, n) == 0) {
                    account(p, -1, -(int64_t)malloc_usable_size(e));
                    urcu_memb_call_rcu(&e->rcu, entry_free_rcu);
                }
                return SC_OK;
            }
        }
    }
}

typedef struct prefixes {
    sc_service svc;
    bool v6;
    uint64_t a4, hi, lo;
} prefixes;

static bool prefixes_of(const sc_addr *addr, sc_service svc, prefixes *ps)
{
    ps->svc = svc;
    if (addr->family == SC_INET4 || is_mapped(addr)) {
        ps->v6 = false;
        ps->a4 = be32(addr->family == SC_INET4 ? addr->bytes : addr->bytes + 12);
        return true;
    }
    if (addr->family != SC_INET6) return false;
    ps->v6 = true;
    ps->hi = be64(addr->bytes);
    ps->lo = be64(addr->bytes + 8);
    return true;
}

static inline void key_of(const prefixes *ps, unsigned len, key *k)
{
    if (ps->v6) key6(k, ps->svc, ps->hi, ps->lo, len);
    else key4(k, ps->svc, ps->a4, len);
}

sc_status peer_open(peer *p, const sc_addr *addr, sc_service svc)
{
    prefixes ps;
    if (!p || !addr || !prefixes_of(addr, svc, &ps)) return SC_E_INVALID;
    unsigned bits = ps.v6 ? 128 : 32;
    entry *spare = NULL;
    sc_status st = SC_OK;
    urcu_memb_read_lock();
    for (unsigned len = 0; len <= bits; len++) {
        key k;
        key_of(&ps, len, &k);
        st = incr(p, &k, &spare);
        if (st != SC_OK) {
            /* Out of memory: undo what was done, so nothing changed. */
            while (len-- > 0) {
                key_of(&ps, len, &k);
                (void)decr(p, &k);
            }
            break;
        }
    }
    urcu_memb_read_unlock();
    free(spare);
    return st;
}

sc_status peer_close(peer *p, const sc_addr *addr, sc_service svc)
{
    prefixes ps;
    if (!p || !addr || !prefixes_of(addr, svc, &ps)) return SC_E_INVALID;
    unsigned bits = ps.v6 ? 128 : 32;
    key k;
    urcu_memb_read_lock();
    key_of(&ps, bits, &k);
    sc_status st = decr(p, &k);
    if (st == SC_OK)
        for (unsigned len = 0; len < bits; len++) {
            key_of(&ps, len, &k);
            (void)decr(p, &k);   /* the session holds one of each: cannot fail */
        }
    urcu_memb_read_unlock();
    return st;
}

uint64_t peer_count(peer *p, const sc_prefix *prefix, sc_service svc)
{
    key k;
    const uint8_t *b = prefix->addr.bytes;
    if (prefix->addr.family == SC_INET4) {
        k.k0 = meta(svc, 4, prefix->len) << 32 | be32(b);
        k.v6 = false;
    } else {
        k.k0 = meta(svc, 6, prefix->len);
        k.hi = be64(b);
        k.lo = be64(b + 8);
        k.v6 = true;
    }
    uint64_t n = 0;
    struct cds_lfht_iter it;
    urcu_memb_read_lock();
    cds_lfht_lookup(p->ht, key_hash(&k), match_live, &k, &it);
    struct cds_lfht_node *node = cds_lfht_iter_get_node(&it);
    if (node) {
        /* relaxed: one counter's value. */
        int64_t c = atomic_load_explicit(&caa_container_of(node, entry, node)->count,
                                         memory_order_relaxed);
        n = c > 0 ? (uint64_t)c : 0;
    }
    urcu_memb_read_unlock();
    return n;
}

/* ---------------------------------------------------------------- the table */

static unsigned long pow2_at_least(size_t n)
{
    unsigned long s = 1024;
    while (s < n && s < (1ul << 40)) s <<= 1;
    return s;
}

peer *peer_new(size_t expected_entries)
{
    peer *p = aligned_alloc(64, sizeof *p);
    if (!p) return NULL;
    memset(p, 0, sizeof *p);
    p->buckets = pow2_at_least(expected_entries);
    p->ht = cds_lfht_new_flavor(p->buckets, 1024, 0, CDS_LFHT_AUTO_RESIZE | CDS_LFHT_ACCOUNTING,
                                &urcu_memb_flavor,
                                NULL);
    if (!p->ht) {
        free(p);
        return NULL;
    }
    return p;
}

void peer_free(peer *p)
{
    if (!p) return;
    /* Unlink every entry, then free them all once no reader can hold one
     * (none is left, by contract).  The unlinked entries are chained
     * through their rcu_head, unused until now. */
    entry *dead = NULL;
    struct cds_lfht_iter it;
    entry *e;
    urcu_memb_read_lock();
    cds_lfht_for_each_entry(p->ht, &it, e, node) {
        if (cds_lfht_del(p->ht, &e->node) == 0) {
            memcpy(&e->rcu, &dead, sizeof dead);
            dead = e;
        }
    }
    urcu_memb_read_unlock();
    urcu_memb_synchronize_rcu();
    urcu_memb_barrier();   /* entries closed earlier, still queued */
    while (dead) {
        entry *next;
        memcpy(&next, &dead->rcu, sizeof next);
        free(dead);
        dead = next;
    }
    (void)cds_lfht_destroy(p->ht, NULL);
    free(p);
}

static int64_t sum(const peer *p, size_t field)
{
    int64_t v = 0;
    for (int i = 0; i <= ACCT_SLOTS; i++)
        /* relaxed: see account(). */
        v += atomic_load_explicit(field ? &p->acct[i].bytes : &p->acct[i].entries,
                                  memory_order_relaxed);
    return v;
}

size_t peer_entries(peer *p)
{
    int64_t v = sum(p, 0);
    return v > 0 ? (size_t)v : 0;
}

size_t peer_bytes(peer *p)
{
    int64_t v = sum(p, 1);
    return sizeof *p + (v > 0 ? (size_t)v : 0) + p->buckets * sizeof(struct cds_lfht_node);
}

size_t peer_settle(peer *p)
{
    urcu_memb_barrier();
    unsigned long want = pow2_at_least(peer_entries(p));
    if (want != p->buckets) {
        cds_lfht_resize(p->ht, want);
        p->buckets = want;
    }
    return peer_bytes(p);
}

void peer_thread_online(void)
{
    urcu_memb_register_thread();
    uint64_t used = atomic_load(&slots_used);
    for (;;) {
        if (used == ~0ull) return;   /* all taken: the shared slot */
        int slot = __builtin_ctzll(~used);
        if (atomic_compare_exchange_weak(&slots_used, &used, used | 1ull << slot)) {
            my_slot = slot;
            return;
        }
    }
}

void peer_thread_offline(void)
{
    if (my_slot < ACCT_SLOTS) atomic_fetch_and(&slots_used, ~(1ull << my_slot));
    my_slot = ACCT_SLOTS;
    urcu_memb_unregister_thread();
}
