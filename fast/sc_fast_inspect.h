/*
 * sc_fast_inspect.h: what the fast table's shape looks like from outside,
 * for the tests that must prove they reached every part of it (and, later,
 * for operators' tools).  Not part of the public API.
 *
 *  - A census counts the child words of every tree by shape: each node
 *    kind, LEAF nodes, inline leaves and pairs.
 *  - A traced count answers like sc_count and also says which counter path
 *    gave the answer: the per-CPU stripes (/0-/12), a sum of the top's /16
 *    counters (/13-/15), the /16's own counter, a slot's counter, a sum over
 *    the run of a node's children (a length ending inside the node's byte),
 *    a pair's member counts, or nothing found.
 * Both read the same structures as sc_count; the census walks every tree
 * and is meant for a quiescent table (a test between operations).
 */
#ifndef SC_FAST_INSPECT_H
#define SC_FAST_INSPECT_H

#include <stdbool.h>
#include <stddef.h>

#include "sesscount.h"

/* Node kinds in growing order (a full node grows into the next one), then
 * the child words that are no node: an inline leaf and a pair. */
enum { SC_LEAF, SC_N2, SC_N4, SC_N8, SC_N16, SC_N48, SC_N128, SC_N256 };
enum { SC_SHAPE_INLINE = SC_N256 + 1, SC_SHAPE_PAIR, SC_SHAPES };

typedef enum sc_count_path {
    SC_PATH_NONE,      /* no tree yet for the service and family: 0 */
    SC_PATH_STRIPES,   /* /0-/12: the per-CPU short counters, summed and clamped */
    SC_PATH_TOP_SUM,   /* /13-/15: the top's /16 counters under the prefix */
    SC_PATH_SHARD,     /* /16: the /16's counter */
    SC_PATH_EMPTY,     /* the walk left the addresses held: 0 */
    SC_PATH_SLOT,      /* a slot's counter; shape: what the slot holds */
    SC_PATH_RUN,       /* a sum over a node's children; shape: the node's kind */
    SC_PATH_PAIR,      /* a pair's members */
    SC_PATHS
} sc_count_path;

typedef struct sc_count_trace {
    sc_count_path path;
    int shape;         /* SC_PATH_SLOT, _RUN, _PAIR: a shape as above */
    unsigned depth;    /* the address byte the answering slot or node stands for */
} sc_count_trace;

typedef struct sc_census {
    size_t shape[SC_SHAPES];   /* child words of each shape, over every tree */
} sc_census;

/* "N256", "inline", "pair"...; "stripes", "slot"... */
const char *sc_shape_name(int shape);
const char *sc_count_path_name(sc_count_path path);

/* True when `tab` is a fast table (whatever impl wrapper made it). */
bool sc_is_fast_table(const sc_table *tab);

/* The count of a valid, normalised prefix (IPv4-mapped already IPv4, host
 * bits clear, service in range), as the implementation's count gives it,
 * with *tr filled.  false when tab is not a fast table. */
bool sc_fast_count_traced(const sc_table *tab, const sc_prefix *prefix, sc_service svc,
                          uint64_t *out, sc_count_trace *tr);

/* Fills *out with the shapes of every tree's child words.  false when tab
 * is not a fast table.  Walks every node: quiescent tables only. */
bool sc_fast_census(const sc_table *tab, sc_census *out);

#endif /* SC_FAST_INSPECT_H */
