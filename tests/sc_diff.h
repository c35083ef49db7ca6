/*
 * sc_diff.h: the differential harness.  sc_diff_run() generates one seeded
 * random sequence of operations and runs each on a table of implementation
 * `a` and one of `b`, stopping at the first operation where their answers
 * differ (status, count, or parse error code and offset), or where both
 * give a status the harness's own model of open sessions rules out (a bad
 * close that succeeds, an open that fails).
 *
 * The sequence mixes, over both families:
 *  - opens of a pool of addresses (clustered so that prefixes of every
 *    length hold several sessions; IPv4 peers sometimes opened through their
 *    IPv4-mapped form; IPv6 "twins" holding an IPv4 address's bytes), with
 *    service names in random letter case in a table with clustering and
 *    three extra services;
 *  - closes of open sessions and bad closes of sessions not open;
 *  - counts of a random prefix (any length 0..32 / 0..128) drawn near open
 *    addresses, and sweeps of every length around one address;
 *  - counts through sc_count_text: relative masks with a random connecting
 *    IP (sometimes IPv4-mapped, sometimes out of range), canonical, mapped,
 *    uppercase and host-bits-set texts, and unknown service names.
 * The open population follows a target that moves between 0 and max_open,
 * so tables fill, churn and drain.  At the end every session is closed and
 * both tables must count zero everywhere.
 *
 * Same seed, same sequence: a report names the seed and the op index.
 */
#ifndef SC_DIFF_H
#define SC_DIFF_H

#include <stddef.h>
#include <stdint.h>

#include "sesscount.h"

typedef struct sc_diff_stats {
    size_t opens, closes, bad_closes, counts, count_texts, sweeps;
    size_t nonzero_counts;   /* counts (of any kind) that found sessions */
    size_t max_open_seen;    /* the largest open population reached */
} sc_diff_stats;

typedef struct sc_diff_config {
    uint64_t seed;
    size_t ops;              /* operations in the sequence */
    size_t pool_size;        /* distinct peer addresses (at least 4) */
    size_t max_open;         /* the most sessions open at once (keeps ref's scans cheap) */
    sc_diff_stats *stats;    /* filled in when not NULL */
} sc_diff_config;

/* Runs the sequence on a table of `a` and one of `b`.  Returns 0 when every
 * answer agreed; 1 at the first difference, with `report` (cap bytes,
 * NUL-terminated) naming the op index, the op and its arguments (canonical
 * CIDR text), the seed and both answers; -1 when the run could not be set
 * up (the reason is in `report`). */
int sc_diff_run(const sc_impl *a, const sc_impl *b, const sc_diff_config *cfg, char *report,
                size_t cap);

#endif /* SC_DIFF_H */
