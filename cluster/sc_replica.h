/*
 * sc_replica.h: this node's replicas of the other nodes of its cluster
 * (SPEC "The fleet"), one per origin node, summed at read time.
 *
 * Each origin's sessions live in a table of their own (a fast sc_table
 * with the one service SMTP): batches from that origin change that table
 * and no other, so bad data from one node can at worst drop that node's
 * view, never skew another's, and nothing is ever merged into this node's
 * own counters (HAProxy's peers learned what that does).
 *
 *     sc_fleet ──► slot[0] ──► origin "mx2": incarnation, seq, synced,
 *              │                 table (SMTP sessions of mx2)
 *              ├─► slot[1] ──► origin "mx3": ...
 *              └─► slot[k] = NULL (free)
 *
 * Applying (one thread: the cluster's background thread):
 *  - a full state builds a new table aside and swaps it in; the old one is
 *    freed after an RCU grace period;
 *  - a delta applies only on top of the full state and the deltas before
 *    it: same incarnation, sequence number one past the last.  An older
 *    one (or one of an older incarnation) is a duplicate and is ignored; a
 *    later one means a gap (a trimmed stream, a lost batch, a restart whose
 *    full state has not come yet): the origin is dropped (its table
 *    emptied) until its next full state.  So is an origin whose delta
 *    closes sessions it never opened.
 *  - incarnations only grow (a node takes a new, larger one at each
 *    start); a full state of a newer incarnation (the node restarted)
 *    replaces the old one whole, so its old sessions never count twice, and
 *    a full state older than the one held is ignored.
 * Reading (any thread, no lock): sc_fleet_count reads one more table, the
 * sum of the origins' tables, inside an RCU read-side section: one walk,
 * not one per origin.  The sum is derived, never merged into: each change
 * goes to its origin's table, then to the sum; a dropped or replaced origin
 * takes out exactly what its table held, a full state as its difference
 * from the state before.  While a batch applies, a count sees each session
 * before or after its change, never a torn table nor an origin missing.
 *
 *     slot[i] ──► origin: table ─┐ (per origin: drops, restarts, checks)
 *                                ├──► sum: what counts read
 *     slot[j] ──► origin: table ─┘
 *
 * Series.  An origin's replicated series (series records: sc_wire.h) live
 * in its table too, one series per fleet name, found through a list the
 * applier prepends to (release) and readers walk (acquire); a change is
 * added at the time of its window, so the replica's ring is the origin's.
 * They follow the origin: a full state builds them anew with its table, a
 * drop takes them with it.  There is no sum of series: a fleet series
 * count adds one count per origin (windowed counts are not the per-
 * connection hot path, and an origin's windows turn on their own).
 */
#ifndef SC_REPLICA_H
#define SC_REPLICA_H

#include "sc_wire.h"

#define SC_FLEET_ORIGINS 64          /* nodes of a cluster, this one included */
#define SC_FLEET_NAME_MAX 64
#define SC_FLEET_SERIES 1024         /* replicated series an origin may have (memory bound) */

typedef struct sc_fleet sc_fleet;

typedef enum sc_apply {
    SC_APPLY_OK = 0,        /* applied */
    SC_APPLY_DUPLICATE,     /* a delta already applied (or older): ignored */
    SC_APPLY_GAP,           /* a delta that does not follow: origin dropped until a full state */
    SC_APPLY_UNSYNCED,      /* a delta before any full state: ignored */
    SC_APPLY_INCONSISTENT,  /* a delta closed sessions never opened: origin dropped */
    SC_APPLY_FULL_TABLE,    /* no free slot for a new origin */
    SC_APPLY_NOMEM,         /* origin dropped: its view could not be built */
    SC_APPLY_SERIES_LIMIT,  /* more than SC_FLEET_SERIES series: origin dropped */
    SC_APPLY_RESULTS
} sc_apply;

sc_status sc_fleet_new(sc_fleet **out);
void sc_fleet_free(sc_fleet *f);

/* Applies a batch sc_wire_parse accepted, from origin `name` (1 to
 * SC_FLEET_NAME_MAX bytes).  One applier thread at a time. */
sc_apply sc_fleet_apply(sc_fleet *f, const char *name, size_t len, const sc_wire_batch *b);

/* Forgets an origin (its lease ran out, or it left). */
void sc_fleet_drop(sc_fleet *f, const char *name, size_t len);

/* The SMTP sessions under p on every origin this fleet holds.  Any thread,
 * no lock, never blocks. */
uint64_t sc_fleet_count(const sc_fleet *f, const sc_prefix *p);

/* The sum table sc_fleet_count reads (SMTP sessions of every origin),
 * for a count that walks it beside this node's own table.  Call inside an
 * RCU (liburcu-bp) read-side section: it stays valid until the section
 * ends.  Any thread. */
const sc_table *sc_fleet_table(const sc_fleet *f);

/* The same for one origin alone (0 when it is not held).  Any thread. */
uint64_t sc_fleet_count_origin(const sc_fleet *f, const char *name, size_t len,
                               const sc_prefix *p);

/* The count of the replicated series of fleet name `name` on every origin
 * this fleet holds: under p, or (p NULL) of the string key, in windows
 * startv..endv at `now` (checked by the caller).  Any thread, no lock,
 * never blocks.  O(origins x their series) + a count per origin. */
uint64_t sc_fleet_series_count(const sc_fleet *f, const char *name, size_t len,
                               const sc_prefix *p, const char *key, size_t klen, unsigned startv,
                               unsigned endv, sc_time now);

/* Origins held (synced or not), and the synced ones. */
unsigned sc_fleet_origins(const sc_fleet *f, unsigned *synced);

const char *sc_apply_name(sc_apply a);

#endif /* SC_REPLICA_H */
