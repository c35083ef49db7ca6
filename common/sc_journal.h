/*
 * sc_journal.h: the SMTP session changes and the replicated series changes
 * of a table made with clustering, kept for the cluster that joins it
 * (cluster/), which ships them to the other nodes.  The core knows no
 * network: this is only a log of changes.
 *
 * Stripes by CPU, each a mutex, a map of address -> net change since the
 * last drain and a map of series change (below) -> net change, so an open,
 * close or add on one CPU never waits on another:
 *
 *     journal ─┬─ stripe[cpu & 15]: lock │ sc_addrmap {addr: +2, addr: -1}
 *              │                         │ sc_keymap {E0:60,1|epoch|addr: +3}
 *              └─ on: recording │ lost: a change could not be recorded
 *
 * An SMTP open or close of a clustering table runs, whole, under its
 * stripe's lock: the table changes and the change is noted together.  So
 * sc_journal_start, which takes every stripe's lock, sees the table with
 * no change half done: the walk it seeds the cluster's state from and the
 * changes noted after it add up to the table exactly.
 */
#ifndef SC_JOURNAL_H
#define SC_JOURNAL_H

#include "sc_addrmap.h"
#include "sc_keymap.h"
#include "sesscount.h"

typedef struct sc_journal sc_journal;

sc_status sc_journal_new(sc_journal **out);
void sc_journal_free(sc_journal *j);

/* The table's SMTP open and close (tab->journal is set), by sc_open and
 * sc_close: the implementation's operation and the note of it, under the
 * stripe's lock. */
sc_status sc_journal_open(sc_table *tab, const sc_addr *a);
sc_status sc_journal_close(sc_table *tab, const sc_addr *a);

/* Every full address with SMTP sessions open: seed(arg, addr, n), taken
 * with every stripe locked, and from then on changes are noted.  Errors:
 * SC_E_NOMEM (nothing started), SC_E_CONFLICT (already started).  Blocks
 * opens and closes of the table for the walk: O(sessions). */
typedef int (*sc_journal_fn)(void *arg, const sc_addr *a, int64_t n);
sc_status sc_journal_start(sc_table *tab, sc_journal_fn seed, void *arg);

/* Stops noting and forgets what was noted. */
void sc_journal_stop(sc_table *tab);

/* Hands the changes noted since the last drain to fn (one at a time per
 * address and stripe; an address may come from several stripes) and
 * forgets them.  Returns false when a change could not be noted (out of
 * memory) since the last drain: the caller must then seed again (stop,
 * start).  One drainer at a time.  O(changed addresses). */
bool sc_journal_drain(sc_table *tab, sc_journal_fn fn, void *arg);

/* ---- series.  A series that is replicated (the built-in event series of
 * a clustering table, and named series marked with sc_series_replicate) is
 * known to the fleet by its name there, its "fleet name":
 *
 *     E<k>:<W>,<N>          the built-in series of event kind k (0..2)
 *     N<t>:<W>,<N>:<name>   the named series `name` of series kind t (0..2)
 *
 * so the same name defined with another kind or monitor on another node is
 * another series.  A change is what the series call did, not what it was
 * asked (a take of 5 from a key holding 3 is -3; a remove is minus what
 * each window held), so changes add up to the series exactly, in any
 * order, and replicas never clamp.  Its key in the journal, and on the wire
 * (cluster/sc_wire.h), is:
 *
 *     offset  size    field
 *          0  2       n: bytes of the fleet name (little-endian)
 *          2  n       the fleet name
 *      2 + n  8       epoch: floor(t / W) of the window (signed, little-endian)
 *     10 + n  1       key type: 4 IPv4, 6 IPv6 (network order), 0 string
 *     11 + n  1       k: bytes of the key (4, 16, or 1..255)
 *     12 + n  k       the key
 *
 * A change noted before the journal started (before the join) is not in
 * it: the fleet counts a series' events from the join on. */
#define SC_SNAME_MAX (3 + SC_MONITOR_TEXT_MAX + 1 + 255)
#define SC_SKEY_MAX (12 + SC_SNAME_MAX + SC_SERIES_KEY_MAX)

typedef struct sc_skey {
    const char *sname;
    size_t slen;
    int64_t epoch;
    int type;                    /* 0 string, 4, 6 */
    const uint8_t *key;          /* network order for addresses */
    size_t klen;
} sc_skey;

/* Writes k's encoding into out (SC_SKEY_MAX bytes); returns its length. */
size_t sc_skey_encode(const sc_skey *k, uint8_t *out);
/* Reads an encoding of exactly len bytes; false when it is not one (a
 * fleet name sc_sname_parse refuses, a key type or length out of place). */
bool sc_skey_decode(const uint8_t *buf, size_t len, sc_skey *out);
/* A fleet name's series kind and monitor; false when it is not one. */
bool sc_sname_parse(const char *name, size_t len, sc_series_kind *kind, sc_monitor *m);

/* A replicated series' add and remove (tab->journal set), by sc_series.c:
 * the implementation's operation and the note of what it did, under the
 * stripe's lock.  key is an address (s a CIDR series) or a string. */
sc_status sc_journal_series_add(sc_series *s, const sc_addr *a, const char *key, size_t len,
                                int64_t epoch, uint64_t n, bool take);
void sc_journal_series_remove(sc_series *s, const sc_addr *a, const char *key, size_t len);

/* Hands the series changes noted since the last drain to fn (one at a time
 * per key and stripe) and forgets them.  One drainer at a time; returns
 * false when a change could not be noted (out of memory). */
bool sc_journal_drain_series(sc_table *tab, sc_keymap_fn fn, void *arg);

#endif /* SC_JOURNAL_H */
