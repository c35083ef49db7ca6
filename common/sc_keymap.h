/*
 * sc_keymap.h: a map from a byte string to a signed count, for the series
 * changes of a clustered table: the journal's changes since the last drain
 * and the cluster's record of what it told the fleet (sc_journal.h says
 * what the keys hold).  One thread at a time: the callers lock.
 *
 * Chained hashing over a power-of-two array of buckets, grown at one entry
 * per bucket; each entry one allocation holding its key.  Entries stay
 * until cleared or pruned, so churn on one key never grows the map.
 */
#ifndef SC_KEYMAP_H
#define SC_KEYMAP_H

#include <stddef.h>
#include <stdint.h>

#include "sesscount.h"

typedef struct sc_keymap_entry sc_keymap_entry;

typedef struct sc_keymap {
    sc_keymap_entry **bucket;
    size_t cap, used;    /* cap: 0 or a power of two */
    size_t bytes;        /* held by entries and buckets */
} sc_keymap;

#define SC_KEYMAP_KEY_MAX 1024   /* bytes of a key */

/* Adds delta to key's count (a missing key counts 0).  Errors:
 * SC_E_INVALID (a key of 0 or more than SC_KEYMAP_KEY_MAX bytes),
 * SC_E_NOMEM (nothing changed).  O(key) amortised. */
sc_status sc_keymap_add(sc_keymap *m, const void *key, size_t len, int64_t delta);

/* key's count (0 when missing).  O(key). */
int64_t sc_keymap_get(const sc_keymap *m, const void *key, size_t len);

/* Every entry with a count other than zero: fn(arg, key, len, count)
 * until it returns non-zero, which is returned.  O(cap + entries). */
typedef int (*sc_keymap_fn)(void *arg, const uint8_t *key, size_t len, int64_t n);
int sc_keymap_each(const sc_keymap *m, sc_keymap_fn fn, void *arg);

/* Drops every entry for which keep(arg, key, len, count) returns 0, and
 * every entry whose count is 0.  O(cap + entries). */
void sc_keymap_prune(sc_keymap *m, sc_keymap_fn keep, void *arg);

/* Empties the map (its buckets kept); free releases everything. */
void sc_keymap_clear(sc_keymap *m);
void sc_keymap_free(sc_keymap *m);

#endif /* SC_KEYMAP_H */
