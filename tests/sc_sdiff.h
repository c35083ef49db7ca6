/*
 * sc_sdiff.h: the differential harness for windowed counts.  sc_sdiff_run()
 * drives one series of a monitor on a table of implementation `a` and one
 * of `b` through a seeded random sequence under a driven clock, and stops
 * at the first answer that differs between them or from the harness's own
 * model: per (pool key, window) counts with its own window arithmetic
 * (epochs, the ring of the newest N, drops of adds older than the ring,
 * the clamp at zero, the first-byte limit) and its own address rules
 * (sc_diff_model.h), sharing no code with common/ or either implementation.
 *
 * The sequence: adds of 1, of up to 1,000, of negative amounts and, rarely,
 * of amounts near the limit; counts of random prefixes near the keys over
 * random window ranges (some out of range), by prefix (sometimes the
 * IPv4-mapped spelling) and by text relative to a connecting IP; removes;
 * and clock moves: within a window, across one boundary, back within the
 * ring and past it, and far forward past the whole ring.  Some calls pass
 * SC_NOW and let the table's clock (the harness's) say the time.  At the end
 * the clock jumps past the ring: every count is zero and, after
 * sc_table_reclaim, both tables are back to their footprint before the
 * first event.  A string series runs the same sequence over keys of 1 to 255
 * random bytes (NUL and all), counted by exact key, with calls of the
 * other kind now and then (refused with SC_E_INVALID).
 */
#ifndef SC_SDIFF_H
#define SC_SDIFF_H

#include <stddef.h>
#include <stdint.h>

#include "sesscount.h"

typedef struct sc_sdiff_stats {
    size_t adds, takes, big_adds, refused_adds, dropped_adds, removes;
    size_t counts, text_counts, bad_ranges, nonzero_counts, multi_window_counts;
    size_t short_counts;     /* prefixes of /0-/7: sums over a window's first-byte slots */
    size_t byte_counts;      /* /8 exactly: one first-byte slot */
    size_t trie_counts;      /* longer: walks below a first-byte slot */
    size_t turns, jumps, steps_back, clock_calls, wrong_kind;
    size_t max_entries;      /* the most (key, window) pairs the model held */
} sc_sdiff_stats;

typedef struct sc_sdiff_config {
    uint64_t seed;
    size_t ops;
    size_t pool_size;        /* distinct keys, both families (at least 4) */
    sc_monitor monitor;
    sc_series_kind kind;     /* string: keys of 1 to 255 random bytes, exact counts */
    sc_sdiff_stats *stats;   /* filled in when not NULL */
} sc_sdiff_config;

/* 0 when every answer agreed; 1 at the first difference, with `report`
 * naming the op, the time, the seed and the answers; -1 when the run could
 * not be set up. */
int sc_sdiff_run(const sc_impl *a, const sc_impl *b, const sc_sdiff_config *cfg, char *report,
                 size_t cap);

#endif /* SC_SDIFF_H */
