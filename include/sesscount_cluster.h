/*
 * sesscount_cluster.h: a table joins a fleet (SPEC "The fleet").
 *
 * Nodes of a cluster share one Redis (Debian's redis-server) and nothing
 * else.  Each keeps its own table; a table made with clustering that joins
 * a cluster ships its SMTP opens and closes to Redis from a background
 * thread, in batches, and keeps a replica of every other live node's
 * sessions, one per node, summed at read time.  Then
 *
 *     sc_count(table, prefix, SC_SERVICE_INBOUND_CIDR, &n)
 *
 * is the fleet's count: this node's SMTP sessions plus the replicas.  It
 * takes no lock and never waits on the network.  A clustering table that
 * joined no cluster counts its own SMTP sessions there.
 *
 * What a count means:
 *  - live: in contact with Redis; a count reflects every open and close on
 *    another node that finished more than the lag ago (a batch every
 *    tick_ms, 10 ms by default; tens of milliseconds on one host).
 *  - stale: Redis has not answered for less than a lease: the other nodes'
 *    sessions are counted as last seen.  Local opens and closes carry on and
 *    are shipped when Redis is back.
 *  - local: no contact for a lease or more (or not yet): only this node's
 *    own sessions are counted.
 * A node that dies drops out of the others' counts within its lease; one
 * that restarts takes a new, larger incarnation, so its old sessions never
 * count twice.  When Redis comes back empty (a restart, a flush), every
 * node publishes its full state again.  Whatever else is found in the
 * cluster's keys is refused, counted and logged; the node it claims to come
 * from is dropped until its next full state.
 *
 * Redis keys, for cluster C and node N (restrict a node's writes with an
 * ACL such as `%W~sc:{C}:*:N`; reads need `%R~sc:{C}:*`):
 *     sc:{C}:nodes      a set of node names
 *     sc:{C}:live:N     "<incarnation>:<seq>", expiring after the lease: N is
 *                       alive, and its log holds the deltas after seq
 *     sc:{C}:full:N     N's full state (a batch, cluster/sc_wire.h)
 *     sc:{C}:log:N      a stream of N's deltas, id <incarnation>-<seq>, field
 *                       "b"; at each full state it is trimmed to the deltas
 *                       after the full state before, so Redis holds about
 *                       two full states' worth per node (full_bytes)
 *
 * What a host must know:
 *  - hiredis 0.14 (Debian 12) aborts the process when its own allocation
 *    fails (hi_malloc).  The cluster's thread is the only caller; a host
 *    that must survive memory exhaustion should not join (or run with
 *    overcommit, where malloc does not fail).
 *  - The password is read once from password_file at join and is never
 *    logged.  There is no TLS in hiredis 0.14: keep Redis on loopback or a
 *    trusted network.
 *  - Node names must be unique in a cluster: two processes with one name
 *    overwrite each other's state.
 */
#ifndef SESSCOUNT_CLUSTER_H
#define SESSCOUNT_CLUSTER_H

#include "sesscount.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sc_cluster sc_cluster;

#define SC_CLUSTER_NAME_MAX 64    /* bytes of a cluster or node name */

typedef struct sc_cluster_config {
    const char *redis;           /* "host:port" ("[::1]:6379") or a unix socket path ("/...") */
    const char *name;            /* the cluster: 1..64 of [A-Za-z0-9._-] */
    const char *node;            /* this node, unique in the cluster: the same grammar */
    double lease;                /* seconds a node stays without renewing: 0.5..3600; 0: 5 */
    const char *user;            /* ACL user, or NULL */
    const char *password_file;   /* first line is the password, or NULL: no AUTH */
    unsigned tick_ms;            /* batching interval, 1..1000; 0: 10 */
    size_t full_bytes;           /* deltas shipped before a new full state (and a trim of
                                  * the log), at least the last full state's size; 0: 64 KiB */
    /* One line per event that matters (joined, lost Redis, refused a batch);
     * NULL: none.  Called from the cluster's thread. */
    void (*log)(void *arg, const char *line);
    void *log_arg;
} sc_cluster_config;

typedef enum sc_cluster_state {
    SC_CLUSTER_LOCAL = 0,
    SC_CLUSTER_STALE,
    SC_CLUSTER_LIVE
} sc_cluster_state;

typedef struct sc_cluster_status {
    sc_cluster_state state;
    unsigned nodes;              /* live nodes counted, this one included (>= 1) */
    double age;                  /* seconds since Redis last answered; -1: never */
    uint64_t incarnation;        /* this node's */
    uint64_t batches_sent;       /* deltas shipped */
    uint64_t full_sent;          /* full states shipped */
    uint64_t batches_applied;    /* other nodes' deltas applied */
    uint64_t full_applied;       /* other nodes' full states applied */
    uint64_t refused;            /* entries refused (did not decode, or out of order) */
    uint64_t resyncs;            /* times another node was dropped until its full state */
    uint64_t redis_restarts;     /* times Redis came back as a new instance (run_id) */
    uint64_t disconnects;        /* times the connection to Redis was lost */
    uint64_t series_lost;        /* ticks whose series changes lost some (out of memory) */
    char last_refusal[96];       /* why the last refused entry was refused, or "" */
    char name[SC_CLUSTER_NAME_MAX + 1], node[SC_CLUSTER_NAME_MAX + 1];   /* as joined */
} sc_cluster_status;

/* Joins `table` (made with clustering) to the cluster `cfg` names and
 * starts the background thread; returns at once (contact with Redis is
 * the thread's: the state is local until it answers).  The SMTP sessions
 * already open are part of this node's state; of its replicated series
 * (sc_series_replicate), only what is added from now on.  *why (may be NULL) gets a
 * static phrase naming what is wrong on error.
 * Errors: SC_E_INVALID (a bad or missing field: *why says which, or an
 * unreadable password file), SC_E_NEEDS_CLUSTERING (a table without
 * clustering nor join_later), SC_E_CONFLICT (the table already joined), SC_E_NOMEM.
 * Thread-safe with every table call; blocks opens and closes while it
 * walks the table once: O(sessions). */
SC_API SC_CHECKED sc_status sc_cluster_join(sc_table *table, const sc_cluster_config *cfg,
                                            sc_cluster **out, const char **why);

/* Leaves: stops the thread, removes this node's keys from Redis (best
 * effort, bounded by a second), detaches from the table (inbound_cidr
 * counts this node alone again) and frees the cluster.  NULL is allowed.
 * Freeing the table leaves too.  Blocks up to about a second.  Not to be
 * called concurrently with sc_cluster_status on the same cluster. */
SC_API void sc_cluster_leave(sc_cluster *cluster);

/* What the cluster sees now.  Thread-safe; O(nodes); no lock held long. */
SC_API void sc_cluster_status_get(const sc_cluster *cluster, sc_cluster_status *out);

/* The cluster `table` joined, or NULL.  The pointer is valid until the
 * cluster leaves: a host that may leave from another thread must order
 * that itself.  Thread-safe; O(1). */
SC_API sc_cluster *sc_cluster_of(const sc_table *table);

/* "local", "stale" or "live".  O(1). */
SC_API const char *sc_cluster_state_name(sc_cluster_state state);

#ifdef __cplusplus
}
#endif

#endif /* SESSCOUNT_CLUSTER_H */
