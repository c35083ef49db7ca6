/*
 * sc_cluster_int.h: the inside of a joined cluster (sesscount_cluster.h).
 *
 * One background thread does all the talking; it alone touches the Redis
 * context, the published state and the peers.  Hosts' threads reach only
 * the status (under status_lock) and, through the table's view, the fleet
 * (sc_replica.h: RCU, no lock).
 *
 *     host threads ── sc_open/sc_close ──► table ──► journal (sc_journal.h)
 *                                                       │ drained each tick
 *     cluster thread: publish (sc_cluster_pub.c) ◄──────┘
 *                       state: addr -> sessions, as told to the fleet
 *                       XADD sc:{C}:log:N <inc>-<seq>, SET sc:{C}:full:N
 *                     peers (sc_cluster_sub.c): SMEMBERS, GET live:*,
 *                       GET full:*, XREAD log:* ──► fleet (sc_replica.h)
 *     host threads ── sc_count(inbound_cidr) ──► table + fleet (no lock)
 */
#ifndef SC_CLUSTER_INT_H
#define SC_CLUSTER_INT_H

#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdatomic.h>

#include "sc_addrmap.h"
#include "sc_keymap.h"
#include "sc_internal.h"
#include "sc_replica.h"
#include "sc_wire.h"
#include "sesscount_cluster.h"

#define SC_KEY_MAX 160               /* "sc:{" C "}:" kind ":" N */
#define SC_PEERS (SC_FLEET_ORIGINS - 1)

typedef struct sc_peer {
    char name[SC_CLUSTER_NAME_MAX + 1];
    size_t namelen;
    uint64_t live_inc;               /* the incarnation its live key says */
    uint64_t seq;                    /* the last of its batches applied (or skipped as old) */
    int64_t last_live_ms;            /* when its live key was last seen */
    bool synced;                     /* its full state applied: read its log */
    int64_t next_full_ms;            /* when to try its full state again */
    char cursor[48];                 /* the last log entry id read */
} sc_peer;

struct sc_cluster {
    sc_table *table;
    sc_view view;
    sc_fleet *fleet;
    char name[SC_CLUSTER_NAME_MAX + 1], node[SC_CLUSTER_NAME_MAX + 1];
    char redis[256];
    char *user, *password;           /* password: never logged */
    int64_t lease_ms;
    unsigned tick_ms;
    size_t full_every;               /* sc_cluster_config.full_bytes */
    void (*log)(void *, const char *);
    void *log_arg;
    uint8_t key[16];                 /* sc_wire_key of the cluster's name */

    pthread_t thread;
    _Atomic bool stop;

    /* the thread's own */
    redisContext *rc;
    char run_id[48];
    int64_t next_connect_ms, next_lease_ms;
    int64_t grace_until_ms;          /* a new Redis: peers may lack keys until then */
    bool need_full;
    uint64_t incarnation, seq;
    uint64_t full_seq, trim_seq;     /* the last full state's seq; the log keeps what follows trim_seq */
    sc_addrmap state;                /* this node's sessions as the fleet was told */
    sc_addrmap merged;               /* a tick's changes, the stripes' merged */
    sc_keymap sstate;                /* this node's series changes as the fleet was told */
    sc_keymap smerged;               /* a tick's series changes, merged */
    size_t delta_bytes;              /* shipped since the last full state */
    size_t full_bytes;               /* size of the last full state */
    sc_wire_writer w;
    sc_peer peer[SC_PEERS];
    unsigned npeers;
    int64_t next_peers_ms;
    size_t bad_names;                /* names in the node set that are not names */

    pthread_mutex_t status_lock;     /* guards st and last_contact_ms */
    sc_cluster_status st;
    int64_t last_contact_ms;         /* -1: never */
};

/* sc_cluster.c */
int64_t sc_cl_now_ms(void);
void sc_cl_log(sc_cluster *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sc_cl_key(const sc_cluster *c, const char *kind, const char *node, char *buf);
/* Adds to a status counter (st's uint64_t fields) under the lock. */
#define SC_CL_BUMP(c, field, n) do { pthread_mutex_lock(&(c)->status_lock); \
    (c)->st.field += (n); pthread_mutex_unlock(&(c)->status_lock); } while (0)
void sc_cl_refused(sc_cluster *c, const char *from, const char *why);

/* sc_cluster_redis.c: one context, the thread's.  A NULL reply means the
 * connection is gone (it is closed; the next tick reconnects). */
bool sc_cl_connect(sc_cluster *c);
void sc_cl_disconnect(sc_cluster *c, const char *why);
redisReply *sc_cl_cmd(sc_cluster *c, int argc, const char **argv, const size_t *lens);
redisReply *sc_cl_cmdf(sc_cluster *c, const char *fmt, ...);
bool sc_cl_ok(sc_cluster *c, redisReply *r, const char *what);   /* frees r */

/* sc_cluster_pub.c */
sc_status sc_cl_pub_init(sc_cluster *c);
int sc_cl_seed(void *c, const sc_addr *a, int64_t n);   /* sc_journal_fn: into state */
void sc_cl_publish(sc_cluster *c);
void sc_cl_unpublish(sc_cluster *c);

/* sc_cluster_sub.c */
void sc_cl_peers(sc_cluster *c);           /* liveness, discovery, full states */
void sc_cl_read(sc_cluster *c);            /* the peers' logs: what is new */
void sc_cl_forget_all(sc_cluster *c, const char *why);
void sc_cl_resync_all(sc_cluster *c);

#endif /* SC_CLUSTER_INT_H */
