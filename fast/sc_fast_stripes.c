/*
 * sc_fast_stripes.c: what every CPU writes on its own cache lines.
 *
 * Prefixes shorter than the top's 16 bits cover many shards, so their
 * counters would be written by every thread.  Each CPU instead adds into its
 * own stripe (picked by sched_getcpu, rseq-backed in glibc, ~2 ns) and a
 * count sums the stripes.  A session may be opened on one stripe and closed
 * on another, so one stripe can go negative; only the sum means anything,
 * and a sum read while updates run can dip below zero: it is clamped.
 *
 * Each stripe holds the counters of /0, /4, /8 and /12 (indexed by the top
 * bits of the address).  A count of a length between two of those levels
 * sums the 2, 4 or 8 counters of the next level that lie under it; between
 * /12 and /16 it sums the top slots themselves.  The table's byte figure is
 * striped the same way.
 *
 * Hosts ask for lengths that vary call to call, and a loop or branch that
 * follows the length mispredicts at ~15 cycles: with few stripes a count
 * reads its 1 to 8 counters as 8 loads whatever the length (sum_top).
 */
#include <sched.h>
#include <sys/mman.h>
#include <unistd.h>

#include "sc_fast.h"

static const unsigned level_base[4] = {0, 1, 17, 273};   /* offsets of /0, /4, /8, /12 */

unsigned sc_stripe_count(void)
{
    long n = sysconf(_SC_NPROCESSORS_CONF);
    unsigned s = 1;
    while (s < (unsigned)(n > 0 ? n : 1) && s < SC_MAX_STRIPES) s <<= 1;
    return s;
}

unsigned sc_stripe_index(const sc_fast_table *t)
{
    int cpu = sched_getcpu();
    return cpu < 0 ? 0 : (unsigned)cpu & (t->nstripes - 1);
}

void sc_bytes_add(sc_fast_table *t, int64_t delta)
{
    /* relaxed: a statistic; sc_table_bytes promises no ordering with updates. */
    atomic_fetch_add_explicit(&t->cpu[sc_stripe_index(t)].bytes, delta, memory_order_relaxed);
}

int64_t sc_bytes_sum(const sc_fast_table *t)
{
    int64_t sum = 0;
    for (unsigned s = 0; s < t->nstripes; s++)
        /* relaxed: see sc_bytes_add. */
        sum += atomic_load_explicit(&t->cpu[s].bytes, memory_order_relaxed);
    return sum;
}

void *sc_map(sc_fast_table *t, size_t size)
{
    size_t align = size >= SC_HUGE_PAGE ? SC_HUGE_PAGE : 0;
    char *p = mmap(NULL, size + align, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return NULL;
    if (align) {   /* trim to an aligned run of `size` bytes */
        size_t head = (SC_HUGE_PAGE - (uintptr_t)p % SC_HUGE_PAGE) % SC_HUGE_PAGE;
        if (head) munmap(p, head);
        if (align - head) munmap(p + head + size, align - head);
        p += head;
    }
    /* THP is "madvise" on the machines we measure: a random walk over an
     * L3-sized array costs 13-21 ns with huge pages against 100+ without. */
    (void)madvise(p, size, MADV_HUGEPAGE);
    sc_bytes_add(t, (int64_t)size);
    return p;
}

void sc_unmap(sc_fast_table *t, void *p, size_t size)
{
    if (!p) return;
    munmap(p, size);
    sc_bytes_add(t, -(int64_t)size);
}

static unsigned top16(const uint8_t *addr)
{
    return (unsigned)addr[0] << 8 | addr[1];
}

void sc_short_add(const sc_fast_table *t, sc_tree *tree, const uint8_t *addr, int delta)
{
    sc_short_stripe *st = &tree->stripes[sc_stripe_index(t)];
    unsigned key = top16(addr);
    for (unsigned lvl = 0; lvl < 4; lvl++)
        /* relaxed: each counter is read on its own; the shard lock (or its
         * absence for counts) orders nothing a reader relies on. */
        atomic_fetch_add_explicit(&st->c[level_base[lvl] + (key >> (16 - 4 * lvl))], delta,
                                  memory_order_relaxed);
}

/* The top's 2^shift counters from `first` (shift 1 to 3), as 8 loads of
 * counter first + (i mod n), the sum divided by 8 / n: exact, each counter
 * was added that many times.  The loads do not depend on the prefix
 * length, which varies call to call: no loop exit to mispredict, at ~15
 * cycles each, for at most 6 spare loads of lines already being read.
 * While updates run, a counter may change between its repeated loads; the
 * quotient is then an average of values it held during the count, which
 * stays within the bounds a concurrent count promises. */
static uint64_t sum_top(const sc_tree *tree, unsigned first, unsigned shift)
{
    const sc_shard *top = &tree->top->shard[first];
    size_t mask = ((size_t)1 << shift) - 1;
    uint64_t sum = 0;
#pragma GCC unroll 8
    for (size_t i = 0; i < 8; i++)
        /* relaxed: one counter's value each; top counters only ever hold
         * exact values. */
        sum += atomic_load_explicit(&top[i & mask].count, memory_order_relaxed) &
               SC_COUNT_MASK;
    return sum >> (3 - shift);
}

/* A stripe sum as a count (divided by 2^shift): a sum read while closes
 * land on other stripes than their opens can dip below zero, and a count
 * never does. */
static inline uint64_t clamp(int64_t sum, unsigned shift)
{
#ifdef SC_PLANT_STRIPE_CLAMP
    return (uint64_t)sum >> shift;   /* PLANTED BUG (tests only): no clamp */
#else
    return sum > 0 ? (uint64_t)sum >> shift : 0;
#endif
}

/* The stripes' 2^shift counters from `first` (shift 0 to 3), summed over
 * the stripes and clamped at zero; read as in sum_top while there are few
 * stripes. */
static uint64_t sum_stripes(const sc_fast_table *t, const sc_tree *tree, unsigned first,
                           unsigned shift)
{
    const sc_short_stripe *st = tree->stripes, *end = st + t->nstripes;
    size_t mask = ((size_t)1 << shift) - 1;
    int64_t sum = 0;
    if (t->nstripes > 8) {   /* the spare loads would cost more than a misprediction */
        for (; st < end; st++)
            for (size_t i = 0; i <= mask; i++)
                /* relaxed: a count promises only per-counter freshness. */
                sum += atomic_load_explicit(&st->c[first + i], memory_order_relaxed);
        return clamp(sum, 0);
    }
    for (; st < end; st++) {
        const _Atomic int64_t *c = &st->c[first];
#pragma GCC unroll 8
        for (size_t i = 0; i < 8; i++)
            /* relaxed: as above. */
            sum += atomic_load_explicit(&c[i & mask], memory_order_relaxed);
    }
    return clamp(sum, 3 - shift);
}

uint64_t sc_short_count(const sc_fast_table *t, const sc_tree *tree, const uint8_t *addr,
                        unsigned len)
{
    unsigned next = (len + 3) & ~3u;   /* the level read: /0, /4, /8, /12 or the top's /16 */
    unsigned shift = next - len;       /* 2^shift of its counters lie under the prefix */
    unsigned first = top16(addr) >> (16 - next) >> shift << shift;
    if (next == 16) return sum_top(tree, first, shift);
    return sum_stripes(t, tree, level_base[next / 4] + first, shift);
}
