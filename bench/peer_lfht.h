/*
 * peer_lfht.h: the benchmark's peer, the design a user would build with a
 * well-kept library: one concurrent hash table (liburcu's cds_lfht) keyed by
 * (service, family, prefix length, masked prefix) with an atomic count per
 * entry.  An open or close updates the entry of every prefix length of the
 * address (33 for IPv4, 129 for IPv6); a count is one lookup.  See
 * peer_lfht.c for how it is tuned and what it holds.
 *
 * Threads: every thread that calls peer_open, peer_close or peer_count must
 * be registered with peer_thread_online() and leave with
 * peer_thread_offline() before it exits (liburcu's memb flavor).
 */
#ifndef PEER_LFHT_H
#define PEER_LFHT_H

#include <stddef.h>
#include <stdint.h>

#include "sesscount.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct peer peer;

/* A table pre-sized for about `expected_entries` entries (it still
 * resizes itself).  NULL when out of memory. */
peer *peer_new(size_t expected_entries);
/* Frees the table and every entry.  No other thread may use it. */
void peer_free(peer *p);

/* Opens / closes one session, as sc_open / sc_close (an IPv4-mapped
 * address is IPv4).  Close of a session that is not open returns
 * SC_E_NOT_OPEN and changes nothing. */
sc_status peer_open(peer *p, const sc_addr *addr, sc_service svc);
sc_status peer_close(peer *p, const sc_addr *addr, sc_service svc);
/* Counts the sessions of `svc` inside `prefix` (host bits clear, as
 * sc_prefix_make makes it): one lookup. */
uint64_t peer_count(peer *p, const sc_prefix *prefix, sc_service svc);

/* After a bulk load: waits for pending frees, sets the bucket table to the
 * power of two at or above the number of entries, and returns the bytes the
 * table holds (see peer_bytes). */
size_t peer_settle(peer *p);
/* The bytes the table holds: every live entry as the allocator sized it
 * (malloc_usable_size, counted as entries are inserted and deleted), the
 * bucket table (16 bytes a bucket, the count peer_new or peer_settle set)
 * and the table header.  Exact at quiescence; O(1). */
size_t peer_bytes(peer *p);
/* Live entries.  O(1). */
size_t peer_entries(peer *p);

void peer_thread_online(void);
void peer_thread_offline(void);

#ifdef __cplusplus
}
#endif

#endif /* PEER_LFHT_H */
