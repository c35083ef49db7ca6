/*
 * sc_internal.h: what ref/, fast/ and the API dispatch share, not part of
 * the public API.  One concept, one place: the operations table every
 * implementation fills in, the registry a table carries, the parse-error
 * helper both parsers report through, and the prefix bit helpers.
 */
#ifndef SC_INTERNAL_H
#define SC_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "sesscount.h"

/* What a series' remove took from one window (series_remove). */
typedef void (*sc_taken_fn)(void *arg, int64_t epoch, uint64_t n);

/* An implementation: a table of operations.  `tab` arguments are tables
 * this implementation created. */
struct sc_impl {
    const char *name;
    sc_status (*table_new)(size_t n_services, sc_table **out);
    void (*table_free)(sc_table *tab);
    sc_status (*open)(sc_table *tab, const sc_addr *addr, sc_service svc);
    sc_status (*close)(sc_table *tab, const sc_addr *addr, sc_service svc);
    uint64_t (*count)(const sc_table *tab, const sc_prefix *prefix, sc_service svc);
    size_t (*bytes)(const sc_table *tab);
    sc_status (*parse_cidr)(const char *text, size_t len, const sc_addr *connecting,
                            sc_prefix *out, sc_error *err);
    /* Series (sc_series.c has checked every argument and keeps the time:
     * epochs handed down are live, in [newest - N + 1, newest]).  The
     * implementation's series struct starts with struct sc_series. */
    sc_status (*series_new)(sc_table *tab, const sc_monitor *m, sc_series **out);
    void (*series_free)(sc_series *s);
    /* Adds n (1..SC_SERIES_COUNT_MAX) to key's count in window `epoch`,
     * or with `take` takes up to n of what it holds (none held: SC_OK);
     * *done gets what changed (n, or what was taken), for the journal. */
    sc_status (*series_add)(sc_series *s, const sc_addr *key, int64_t epoch, uint64_t n,
                            bool take, uint64_t *done);
    /* Forgets key in every window; taken(arg, epoch, n) for each window
     * that held some (taken may be NULL). */
    void (*series_remove)(sc_series *s, const sc_addr *key, sc_taken_fn taken, void *arg);
    /* The sum over the live windows of epochs first..last. */
    uint64_t (*series_count)(const sc_series *s, const sc_prefix *p, int64_t first,
                             int64_t last);
    /* The same for the keys of a string series (1..SC_SERIES_KEY_MAX bytes). */
    sc_status (*series_add_str)(sc_series *s, const char *key, size_t len, int64_t epoch,
                                uint64_t n, bool take, uint64_t *done);
    void (*series_remove_str)(sc_series *s, const char *key, size_t len, sc_taken_fn taken,
                              void *arg);
    uint64_t (*series_count_str)(const sc_series *s, const char *key, size_t len, int64_t first,
                                 int64_t last);
    /* Windows of epochs before `oldest` have left the ring: let them go. */
    void (*series_turn)(sc_series *s, int64_t oldest);
    /* Waits until retired memory is freed (sc_table_reclaim). */
    void (*reclaim)(const sc_table *tab);
    /* The walk of sc_walk_tree (sc_walk.c has checked every argument and
     * normalised root): visit(arg, b) for root (when it holds sessions),
     * each branching point and each full address under it, in pre-order
     * (sc_prefix_cmp), each once, until visit returns non-zero.  A prefix
     * of length >= cut is handed over without the prefixes under it
     * (sc_top asks for nothing below its length; SC_WALK_ALL: no cut).
     * visit is called with no lock of the table held and outside any
     * read-side section.  SC_E_NOMEM only before the first call of visit. */
    /* Optional (NULL: two counts): the count of svc under prefix in `tab`
     * plus that in `other`, a table of the same implementation; fast walks
     * both at once, so their misses overlap (the fleet's inbound_cidr:
     * this node's table and its replica of the others). */
    uint64_t (*count_pair)(const sc_table *tab, const sc_table *other, const sc_prefix *prefix,
                           sc_service svc);
    sc_status (*walk)(const sc_table *tab, const sc_prefix *root, sc_service svc, unsigned cut,
                      sc_visit_fn visit, void *arg);
};

/* A walk's cut that cuts nothing: longer than any prefix. */
#define SC_WALK_ALL 129u

/* What every implementation's series starts with. */
struct sc_series {
    sc_table *table;
    sc_series_kind kind;
    sc_monitor mon;
    char *name;                  /* a named series' name (NUL-terminated), or NULL */
    size_t name_len;
    _Atomic int64_t newest;      /* the newest epoch a call has reached; INT64_MIN: none */
    char *fleet_name;            /* its name in a fleet (sc_journal.h), NULL: not replicable */
    size_t fleet_name_len;
    _Atomic bool replicated;     /* its changes go to the table's journal (sc_series_replicate) */
    sc_series *prev, *next;      /* the table's list, under its series_lock */
};

/* The registry a table was made with: built-ins plus copied extras. */
typedef struct sc_registry {
    _Atomic bool clustering;     /* set once more by a join (sc_options.join_later) */
    size_t n_extra;
    char **extra;                /* n_extra copied names, one allocation */
} sc_registry;

/* Copies the registry `opts` describes (checked with sc_options_check). */
sc_status sc_registry_init(sc_registry *reg, const sc_options *opts);
void sc_registry_fini(sc_registry *reg);
/* sc_service_resolve against a table's copied registry. */
sc_status sc_registry_resolve(const sc_registry *reg, const char *name, size_t len,
                              sc_service *out);

struct sc_events;                /* the built-in event series (sc_series.c) */
struct sc_journal;               /* SMTP changes of a clustering table (sc_journal.h) */

/* What a cluster that joined a table lends it (cluster/): the table of the
 * fleet's sessions beyond this node, for counts of inbound_cidr, and how to
 * leave when the table is freed.  Published with a release store; counts read
 * it inside an RCU read-side section, so leaving clears it, waits for a
 * grace period, then frees. */
typedef struct sc_view {
    /* The table of the other nodes' sessions (SMTP), valid until the
     * caller's read-side section ends. */
    const sc_table *(*table)(const void *arg);
    /* The other nodes' count of a replicated series like `local` (the
     * same fleet name): under p, or of the string key, in windows
     * startv..endv at `now` (a time, not SC_NOW).  Same section. */
    uint64_t (*series_count)(const void *arg, const sc_series *local, const sc_prefix *p,
                             const char *key, size_t len, unsigned startv, unsigned endv,
                             sc_time now);
    void (*leave)(void *arg);
    void *arg;
} sc_view;

/* Every implementation's table starts with this header. */
struct sc_table {
    const sc_impl *impl;
    sc_registry reg;
    size_t n_services;           /* SC_SERVICE_FIRST_EXTRA + reg.n_extra */
    sc_time (*clock)(void *);    /* sc_options.clock, NULL: the real time */
    void *clock_arg;
    pthread_mutex_t series_lock; /* guards the series list and the names in it */
    sc_series *series;           /* every series made on the table */
    uint8_t hash_key[16];        /* SipHash key of string series keys, random */
    _Atomic(struct sc_events *) events;   /* NULL until sc_table_set_monitors */
    struct sc_journal *journal;  /* clustering tables: SMTP changes for a cluster; else NULL */
    _Atomic(const sc_view *) view;        /* the cluster joined, or NULL */
};

/* sc_table.c: the cluster joined to a table (sc_internal.h sc_view).
 * Attach fails with SC_E_CONFLICT when one is already there; detach clears
 * it and returns once no count can still be reading it. */
sc_status sc_table_attach_view(sc_table *tab, const sc_view *v);
void sc_table_detach_view(sc_table *tab);

/* sc_table.c: an address or prefix as the implementations take them
 * (IPv4-mapped made IPv4; a prefix's host bits clear), or false/NULL when
 * invalid.  normal_prefix may return `in` itself or `buf`. */
bool sc_normal_addr(const sc_addr *in, sc_addr *out);
const sc_prefix *sc_normal_prefix(const sc_prefix *in, sc_prefix *buf);

/* sc_series.c: frees every series of a table and its event series
 * (table teardown). */
void sc_series_free_all(sc_table *tab);
/* Whether s's changes go through the table's journal: replicated, on a
 * table with clustering (sc_series_replicated; one place for the check).
 * relaxed: a flag alone; the journal's stripe lock orders what it notes. */
static inline bool sc_series_journaled(const sc_series *s)
{
    return s->table->journal && atomic_load_explicit(&s->replicated, memory_order_relaxed);
}

/* sc_series.c: the table's time for SC_NOW (its clock, or the real time). */
sc_time sc_table_time(const sc_table *tab, sc_time now);
/* sc_series_fleet.c: gives s its fleet name: the built-in series of event
 * `kind` (0..2), or (kind < 0) the named series s->name. */
sc_status sc_series_name_fleet(sc_series *s, int kind);

/* sc_hash.c: SipHash-2-4 of data under key, outlen 8 or 16 bytes. */
void sc_siphash(const uint8_t key[16], const void *data, size_t len, uint8_t *out,
                size_t outlen);

/* The enumerator's name of a status ("SC_E_NOT_OPEN"), for test and
 * fuzzer reports. */
const char *sc_status_name(sc_status status);

/* Fills *err (when not NULL) with `code`, its reason and `offset`; returns
 * SC_E_PARSE so a parser can `return sc_parse_fail(...)`. */
sc_status sc_parse_fail(sc_error *err, sc_parse_code code, size_t offset);
/* The same with a more precise reason than the code's own. */
sc_status sc_parse_fail_why(sc_error *err, sc_parse_code code, const char *reason,
                            size_t offset);
/* The reason phrase of a parse code. */
const char *sc_parse_reason(sc_parse_code code);

/* Address length in bytes for a family (4 or 16), 0 for a bad family. */
static inline unsigned sc_family_bytes(int family)
{
    return family == SC_INET4 ? 4u : family == SC_INET6 ? 16u : 0u;
}

/* True when the first `len` bits of a and b are equal. */
static inline bool sc_bits_equal(const uint8_t *a, const uint8_t *b, unsigned len)
{
    unsigned full = len / 8, rest = len % 8;
    for (unsigned i = 0; i < full; i++)
        if (a[i] != b[i]) return false;
    if (rest == 0) return true;
    uint8_t mask = (uint8_t)(0xFF00u >> rest);
    return ((a[full] ^ b[full]) & mask) == 0;
}

/* The order of walks and of sc_top's ties (sesscount.h): family (IPv4,
 * 4, before IPv6, 6), then address, then length: a prefix before the
 * prefixes under it.  Negative, zero or positive, as memcmp. */
static inline int sc_prefix_cmp(const sc_prefix *a, const sc_prefix *b)
{
    if (a->addr.family != b->addr.family) return a->addr.family < b->addr.family ? -1 : 1;
    int c = memcmp(a->addr.bytes, b->addr.bytes, sizeof a->addr.bytes);
    if (c != 0) return c;
    return (a->len > b->len) - (a->len < b->len);
}

/* Writes v in decimal at p (no NUL); returns the digits written (at most
 * 10).  The formatters of prefixes and monitors share it. */
size_t sc_put_dec(char *p, uint32_t v);

/* Turns a parsed IPv6 address into IPv4 when it is IPv4-mapped. */
void sc_addr_unmap(sc_addr *addr);

/* A big-endian 64-bit word from unaligned bytes: prefixes are handled as
 * two such words, not byte loops (this runs on every count). */
static inline uint64_t sc_load_be64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

/* Bits [0, len) of a 64-bit half that starts at bit `at`. */
static inline uint64_t sc_net_mask(unsigned len, unsigned at)
{
    unsigned n = len > at ? len - at : 0;
    return n >= 64 ? ~(uint64_t)0 : ~(~(uint64_t)0 >> n);
}

/* True when an IPv6 address, as two big-endian words (hi: bytes 0-7), is
 * IPv4-mapped (::ffff:a.b.c.d). */
static inline bool sc_mapped_words(uint64_t hi, uint64_t lo)
{
    return hi == 0 && lo >> 32 == 0xffff;
}

/* True when every bit of the 16 bytes past `len` is zero.  Inline: the
 * count path checks it on every call. */
static inline bool sc_host_bits_clear(const uint8_t *bytes, unsigned len)
{
    return ((sc_load_be64(bytes) & ~sc_net_mask(len, 0)) |
            (sc_load_be64(bytes + 8) & ~sc_net_mask(len, 64))) == 0;
}

/* Finishes a parse: the prefix of `addr` and `len` (len already checked
 * against the family), mapped prefixes of 96 or more become IPv4. */
void sc_prefix_finish(const sc_addr *addr, unsigned len, sc_prefix *out);
/* The same for an address held as two big-endian words (hi: bytes 0-7),
 * for a parser that builds it in registers: one that stores it byte by
 * byte and reads it back as words stalls on store forwarding. */
void sc_prefix_set(int family, uint64_t hi, uint64_t lo, unsigned len, sc_prefix *out);

#endif /* SC_INTERNAL_H */
