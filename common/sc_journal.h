/*
 * sc_journal.h: the SMTP session changes of a table made with clustering,
 * kept for the cluster that joins it (cluster/), which ships them to the
 * other nodes.  The core knows no network: this is only a log of changes.
 *
 * Stripes by CPU, each a mutex and a map of address -> net change since
 * the last drain, so an open or close on one CPU never waits on another:
 *
 *     journal ─┬─ stripe[cpu & 15]: lock │ sc_addrmap {addr: +2, addr: -1}
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

#endif /* SC_JOURNAL_H */
