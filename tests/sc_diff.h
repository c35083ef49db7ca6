/*
 * sc_diff.h: the differential harness.  sc_diff_run() generates one seeded
 * random sequence of operations and runs each on a table of implementation
 * `a` and one of `b`, stopping at the first operation where their answers
 * differ (status, count, or parse error code and offset), or where both
 * give an answer the harness's own model rules out: a status (a bad close
 * that succeeds, an open that fails) or a count.  The model (sc_diff_model.h)
 * keeps the open sessions and its own address rules, sharing no code with
 * common/ or either parser, so a bug both implementations inherit from
 * shared code is still seen.
 *
 * The sequence mixes, over both families:
 *  - opens of a pool of addresses (clustered so that prefixes of every
 *    length hold several sessions; IPv4 peers sometimes opened through their
 *    IPv4-mapped form; IPv6 "twins" holding an IPv4 address's bytes), with
 *    service names in random letter case in a table with clustering and
 *    three extra services;
 *  - closes of open sessions and bad closes of sessions not open;
 *  - counts of a random prefix (any length 0..32 / 0..128) drawn near open
 *    addresses, sometimes handed over as an IPv4-mapped IPv6 prefix, and
 *    sweeps of every length around one address;
 *  - counts through sc_count_text: relative masks with a random connecting
 *    IP (sometimes IPv4-mapped, sometimes out of range), canonical, mapped,
 *    uppercase and host-bits-set texts, and unknown service names.
 * The open population follows a target that moves between 0 and max_open,
 * so tables fill, churn and drain.  At the end every session is closed and
 * both tables must count zero everywhere.
 *
 * Wide mode (`wide`) puts much of the pool in one hot IPv4 /16, one /24 of
 * it and one IPv6 /48, and opens mostly SMTP, so that with hundreds of
 * sessions open their nodes grow to N128 and N256 and shrink back.
 *
 * Coverage: when either table is a fast one, every count is traced
 * (sc_fast_inspect.h: which counter path answered, and through which node
 * kind) and the table's shapes are counted every few thousand ops; the
 * stats say what the run reached, so a test can assert it.
 *
 * Same seed, same sequence: a report names the seed and the op index.
 */
#ifndef SC_DIFF_H
#define SC_DIFF_H

#include <stddef.h>
#include <stdint.h>

#include "sc_fast_inspect.h"
#include "sesscount.h"

typedef struct sc_diff_stats {
    size_t opens, closes, bad_closes, counts, count_texts, sweeps;
    size_t nonzero_counts;   /* counts (of any kind) that found sessions */
    size_t model_counts;     /* counts checked against the model's own answer */
    size_t max_open_seen;    /* the largest open population reached */
    /* fast coverage (zero when neither table is fast): */
    size_t paths[SC_PATHS];        /* counts answered by each counter path */
    size_t runs[SC_SHAPES];        /* SC_PATH_RUN counts, by node kind summed */
    size_t slots[SC_SHAPES];       /* SC_PATH_SLOT counts, by what the slot held */
    size_t shapes_max[SC_SHAPES];  /* the most child words of each shape seen at once */
} sc_diff_stats;

typedef struct sc_diff_config {
    uint64_t seed;
    size_t ops;              /* operations in the sequence */
    size_t pool_size;        /* distinct peer addresses (at least 4) */
    size_t max_open;         /* the most sessions open at once (keeps ref's scans cheap) */
    bool wide;               /* hot /16, /24 and /48: every node kind (see above) */
    sc_diff_stats *stats;    /* filled in when not NULL */
} sc_diff_config;

/* Runs the sequence on a table of `a` and one of `b`.  Returns 0 when every
 * answer agreed; 1 at the first difference, with `report` (cap bytes,
 * NUL-terminated) naming the op index, the op and its arguments, the seed
 * and both answers (and the model's, when it disagreed); -1 when the run
 * could not be set up (the reason is in `report`). */
int sc_diff_run(const sc_impl *a, const sc_impl *b, const sc_diff_config *cfg, char *report,
                size_t cap);

#endif /* SC_DIFF_H */
