/* cluster_shim.h: what cluster_bench.cc needs from the inside of the fleet
 * (cluster/sc_replica.h, common/sc_internal.h), which C++ cannot include
 * (C11 atomics): a replica of other nodes built from addresses, attached
 * to a table as a joined cluster would attach it, and apply's batches. */
#ifndef SC_BENCH_CLUSTER_SHIM_H
#define SC_BENCH_CLUSTER_SHIM_H

#include <stddef.h>
#include <stdint.h>

#include "sesscount.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct scb_fleet scb_fleet;

/* Spreads addrs[0..n) over `nodes` nodes, one in turn: the first node's
 * are opened (SMTP) in `local` (a clustering table), the others' go into
 * replicas of nodes "n1".."n<nodes-1>", each applied as a full state, and
 * the replicas are attached to `local` as its cluster's view.  NULL on
 * failure. */
scb_fleet *scb_fleet_build(sc_table *local, const sc_addr *addrs, size_t n, unsigned nodes);
/* Detaches and frees. */
void scb_fleet_free(scb_fleet *f);

/* Apply: a replica of node "x" holding addrs[0..n) once each, and two
 * deltas: every address closed, every address opened again.  Then
 * scb_apply_next applies them in turn (with the next sequence number):
 * returns the records applied, 0 on failure. */
scb_fleet *scb_apply_setup(const sc_addr *addrs, size_t n);
size_t scb_apply_next(scb_fleet *f);

#ifdef __cplusplus
}
#endif

#endif
