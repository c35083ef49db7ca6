/*
 * sc_watch.h: SPEC's bounds on counts taken while updates run, checked on
 * many prefixes at once, for the concurrency tests.
 *
 * A watch is a (prefix, service) with four counters: opens and closes of
 * its sessions started and done.  Writers call watch_update() around each
 * open and close (it bumps the counters of every watch that holds the
 * session); a counting thread calls watch_check_all(), which for each
 * watch reads the done counters, counts, then reads the started ones:
 *     done_opens - started_closes  <=  count  <=  started_opens - done_closes
 * is SPEC's "between (value before - closes running) and (value before +
 * opens running)", with the value before written as opens minus closes.
 * seq_cst throughout: the bounds rest on the order of these counters with
 * the update and the count themselves.  A count past 2^62 (a wrapped
 * negative) always fails.
 */
#ifndef SC_WATCH_H
#define SC_WATCH_H

#include <stdatomic.h>
#include <stdbool.h>

#include "sesscount.h"

typedef struct watch {
    sc_prefix prefix;
    sc_service svc;
    const char *why;          /* the counter path it is there for */
    atomic_long opens_started, opens_done, closes_started, closes_done;
    atomic_long counts, violations;
    char first_violation[200];
} watch;

typedef struct watch_list {
    watch *w;
    size_t n;
} watch_list;

/* The watches SPEC's concurrency tests need, for the given services:
 * IPv4 /0 /4 /8 /12 (per-CPU stripes), /13 /15 (sums of the top's
 * counters), /16 (the /16's counter), /20 /22 /27 (runs inside a byte),
 * /24 /32 (slots) around 198.51.100.0/24; IPv6 /0 /12 /32 /44 /64 /65
 * around 2001:db8:0:7::/64; and 203.0.0.0/16, 203.0.113.0/24 where only
 * bad closes (and the caller's fixed sessions) happen.  Returns false
 * when out of memory. */
bool watch_list_make(watch_list *l, const sc_service *svcs, size_t nsvc);
void watch_list_free(watch_list *l);

/* Before (done = false) and after (done = true) an open or close of a
 * session at `a` (normalised) of `svc`. */
void watch_update(watch_list *l, const sc_addr *a, sc_service svc, bool open, bool done);

/* Counts every watch once and checks its bounds; returns the number of
 * violations found in this pass. */
long watch_check_all(watch_list *l, const sc_table *tab);

/* Sums over the list. */
long watch_counts(const watch_list *l);
long watch_violations(const watch_list *l);
/* The first violation of any watch (""), for a failure message. */
const char *watch_first_violation(const watch_list *l);

#endif /* SC_WATCH_H */
