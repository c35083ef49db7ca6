/*
 * sc_addrmap.h: a map from a full address to a signed count, for the
 * journal of a clustered table (the changes since the last drain) and for
 * the cluster's own state (what it has told the fleet).  One thread at a
 * time: the callers lock.
 *
 * Open addressing with linear probing over a power-of-two array of slots
 * (family 0: empty), grown at half full.  An entry whose count comes back
 * to zero stays until the map is cleared or swapped: a drain swaps the
 * whole map out, so churn on one address never grows it.
 */
#ifndef SC_ADDRMAP_H
#define SC_ADDRMAP_H

#include <stddef.h>
#include <stdint.h>

#include "sesscount.h"

typedef struct sc_addrmap_slot {
    sc_addr addr;        /* family 0: empty */
    int64_t count;
} sc_addrmap_slot;

typedef struct sc_addrmap {
    sc_addrmap_slot *slot;
    size_t cap, used;    /* cap: 0 or a power of two */
} sc_addrmap;

/* Adds delta to addr's count (a missing address counts 0).  Errors:
 * SC_E_NOMEM (nothing changed).  O(1) amortised. */
sc_status sc_addrmap_add(sc_addrmap *m, const sc_addr *addr, int64_t delta);

/* addr's count (0 when missing).  O(1). */
int64_t sc_addrmap_get(const sc_addrmap *m, const sc_addr *addr);

/* Every entry with a count other than zero: fn(arg, addr, count) until it
 * returns non-zero, which is returned.  O(cap). */
int sc_addrmap_each(const sc_addrmap *m, int (*fn)(void *arg, const sc_addr *a, int64_t n),
                    void *arg);

/* Entries with a count other than zero.  O(cap). */
size_t sc_addrmap_nonzero(const sc_addrmap *m);

/* Rebuilds the map without its zero entries when they are more than half
 * of it (a long-lived map of addresses that came and went).  Errors:
 * SC_E_NOMEM (the map is left as it was).  O(cap). */
sc_status sc_addrmap_compact(sc_addrmap *m);

/* Empties the map, keeping its memory; free releases it. */
void sc_addrmap_clear(sc_addrmap *m);
void sc_addrmap_free(sc_addrmap *m);

/* Bytes the map holds. */
size_t sc_addrmap_bytes(const sc_addrmap *m);

#endif /* SC_ADDRMAP_H */
