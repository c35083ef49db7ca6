/*
** mt_hist.c: a latency histogram the worker threads add to without a lock,
** for the connect decision's cost (stats: connect_p50_ns, connect_p99_ns).
**
** Buckets are log-linear: 8 per power of two (12.5% wide), from 1 ns to
** 2^40 ns; a quantile is the upper edge of the bucket it falls in, so it is
** never under the true value and at most 12.5% over.
*/

#include <stdatomic.h>
#include <time.h>

#include "mt.h"


#define SUB	8
#define POWERS	40
#define NBUCKETS	(POWERS * SUB)

static atomic_uint_fast64_t buckets[NBUCKETS];
static atomic_uint_fast64_t sum;  /* of every ns added */


static unsigned bucketof (uint64_t ns) {
  unsigned p, s;
  if (ns < SUB) return (unsigned)ns;
  p = 63u - (unsigned)__builtin_clzll(ns);  /* 2^p <= ns */
  s = (unsigned)((ns >> (p - 3)) & (SUB - 1));  /* the next three bits */
  return (p - 2) * SUB + s < NBUCKETS ? (p - 2) * SUB + s : NBUCKETS - 1;
}


static uint64_t upper (unsigned b) {
  unsigned p = b / SUB + 2, s = b % SUB;
  if (b < SUB) return b;
  return ((uint64_t)(SUB + s + 1)) << (p - 3);
}


uint64_t mt_now_ns (void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}


void mt_hist_add (uint64_t ns) {
  /* relaxed: a counter read alone, by an operator's command */
  atomic_fetch_add_explicit(&buckets[bucketof(ns)], 1, memory_order_relaxed);
  atomic_fetch_add_explicit(&sum, ns, memory_order_relaxed);
}


uint64_t mt_hist_sum (void) {
  return (uint64_t)atomic_load_explicit(&sum, memory_order_relaxed);
}


uint64_t mt_hist_quantile (double q, uint64_t *total) {
  uint64_t n = 0, seen = 0, want;
  unsigned b;
  for (b = 0; b < NBUCKETS; b++) n += atomic_load_explicit(&buckets[b], memory_order_relaxed);
  *total = n;
  if (n == 0) return 0;
  want = (uint64_t)(q * (double)n);
  if (want >= n) want = n - 1;
  for (b = 0; b < NBUCKETS; b++) {
    seen += atomic_load_explicit(&buckets[b], memory_order_relaxed);
    if (seen > want) return upper(b);
  }
  return upper(NBUCKETS - 1);
}
