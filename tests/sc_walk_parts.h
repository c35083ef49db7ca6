/*
 * sc_walk_parts.h: the parts of test_walk that live in files of their own
 * (test_walk.c runs one of them by its first argument).
 */
#ifndef SC_WALK_PARTS_H
#define SC_WALK_PARTS_H

#include <stddef.h>

#include "sesscount.h"

/* Each part runs its tests and returns check_done()'s exit status: the
 * counters of sc_check.h are per file (a static in a static inline
 * function), so each part reports its own.
 * sc_walk_diff.c: `test_walk diff`, the differential (label diff). */
int walk_diff_tests(void);
/* sc_walk_conc.c: `test_walk concurrency` (label concurrency). */
int walk_conc_tests(void);

/* A visit that gathers a walk: up to cap branches in out (n counts them
 * all); with stop_after > 0 it asks to stop after that many. */
typedef struct walk_list {
    sc_branch *out;
    size_t cap, n, stop_after;
} walk_list;
int walk_list_add(void *arg, const sc_branch *b);

/* SC_WALK_OPS, SC_CONC_OPS and the like: the number in the environment,
 * or `dflt`. */
long walk_env(const char *name, long dflt);

#endif /* SC_WALK_PARTS_H */
