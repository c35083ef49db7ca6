// sc_bench.h: sc_bench's internal declarations, shared by its files:
//   sc_bench.cc         options, registration, --check, the progress
//                       display and main
//   sc_bench_pop.cc     the populations and limit/dram_miss's buffer
//   sc_bench_ops.cc     the benchmark bodies of <impl>/<op>/<mix>/<sessions>
//   sc_bench_limits.cc  the limits and the planted regression
// (what sc_series_bench shares with it is in bench_main.h).
#ifndef SC_BENCH_SC_BENCH_H
#define SC_BENCH_SC_BENCH_H

#include <benchmark/benchmark.h>
#include <regex.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>

extern "C" {
#include "peer_lfht.h"
#include "sesscount.h"
}
#include "bench_main.h"
#include "workload.h"

namespace scb {

using benchmark::State;

// ------------------------------------------------------------------ implementations

// fast and ref: the public API.
struct ScOps {
    using Table = sc_table;
    static inline sc_status open(Table *t, const sc_addr *a, sc_service s) { return sc_open(t, a, s); }
    static inline sc_status close(Table *t, const sc_addr *a, sc_service s) { return sc_close(t, a, s); }
    static inline uint64_t count(const Table *t, const sc_prefix *p, sc_service s)
    {
        uint64_t n = 0;
        sc_count(t, p, s, &n);
        return n;
    }
    static inline uint64_t count_text(const Table *t, const Text &x)
    {
        uint64_t n = 0;
        sc_error err;
        sc_count_text(t, x.cidr, x.cidr_len, &x.connecting, x.svc_name, x.svc_len, &n, &err);
        return n;
    }
};

// The peer, with sesscount's public parser and registry for count_text.
struct PeerOps {
    using Table = peer;
    static inline sc_status open(Table *t, const sc_addr *a, sc_service s) { return peer_open(t, a, s); }
    static inline sc_status close(Table *t, const sc_addr *a, sc_service s) { return peer_close(t, a, s); }
    static inline uint64_t count(Table *t, const sc_prefix *p, sc_service s) { return peer_count(t, p, s); }
    static inline uint64_t count_text(Table *t, const Text &x)
    {
        sc_prefix p;
        sc_error err;
        sc_service svc;
        if (sc_parse_cidr(x.cidr, x.cidr_len, &x.connecting, &p, &err) != SC_OK) return 0;
        if (sc_service_resolve(nullptr, x.svc_name, x.svc_len, &svc) != SC_OK) return 0;
        return peer_count(t, &p, svc);
    }
};

// ------------------------------------------------------------------ populations (sc_bench_pop.cc)

struct Pop {
    Impl impl;
    Mix mix;
    size_t n;
    sc_table *tab = nullptr;
    peer *pr = nullptr;
    size_t bytes = 0;
};

// The workload of the population alive (or of the last one).
extern Workload *g_work;

// The population of (impl, mix, n), built unless it is the one alive (which
// must still count n sessions); frees the other population and the buffer.
Pop *acquire(Impl impl, Mix mix, size_t n);
void free_pop();

// About how many entries the peer will hold for w.
size_t peer_hint(const Workload &w);

template <class O, class T>
sc_status open_all(T *t, const Workload &w)
{
    for (const Session &s : w.sessions) {
        sc_status st = O::open(t, &s.raw, s.svc);
        if (st != SC_OK) return st;
    }
    return SC_OK;
}

// Every session counted once: the /0 of each family and service.
template <class O, class T>
uint64_t count_all(T *t)
{
    uint64_t sum = 0;
    for (sc_service svc = 0; svc < SC_SERVICE_ECMMOVE2; svc++) {
        sc_prefix p;
        memset(&p, 0, sizeof p);
        p.addr.family = SC_INET4;
        sum += O::count(t, &p, svc);
        p.addr.family = SC_INET6;
        sum += O::count(t, &p, svc);
    }
    return sum;
}

// limit/dram_miss's buffer: 1 GiB, one random cycle over its cache lines.
struct DramBuf {
    void *base = nullptr;
    size_t size = 0;
    void *cursor = nullptr;
    double thp = 0;
};
extern DramBuf g_dram;

// Builds g_dram unless it is built.  A population may live beside it: the
// fast rows' dram_ns probe walks it in the population's own process.
void build_dram();
void free_dram();
// limit/dram_miss measured beside a benchmark: ns per dependent load over
// `loads` lines of g_dram's cycle (building g_dram the first time), from
// where the last walk left it, so no line is read twice in a run.
double dram_probe(size_t loads);

// ------------------------------------------------------------------ benchmark bodies (sc_bench_ops.cc)

enum class Op {
    count_rel24, count_rel32, count_rel48, count_rel64, count_rel128,
    count_short, count_prefix, count_text, open_close, mta_loop, count_under_writes
};

const char *op_name(Op op);

struct Spec {
    Impl impl;
    Mix mix;
    size_t n;
    Op op;
    unsigned writers;      // count_under_writes
    uint64_t spin;         // planted busy wait, iterations (0: none)
    uint64_t write_rate;   // count_under_writes: open+close pairs a second per writer (0: flat out)
};

// The body of one <impl>/<op>/<mix>/<sessions> benchmark.
void run_spec(State &st, const Spec &sp);
// --min-time: a fast row probes dram_ns only after a run this long or half
// as long (the final run of a repetition), not after the short trial runs.
extern double g_min_time;
// --no-probe clears it: no dram_ns counter.
extern bool g_probe;

// ------------------------------------------------------------------ the limits and the plant (sc_bench_limits.cc)

void bm_dram_miss(State &st, uint64_t spin_iters);
void bm_dram_miss_threads(State &st);
// One fetch_add per iteration on a cache line of its own (shared: the one
// the threads of limit/atomic_add_contended share).
void bm_atomic_add(State &st, bool shared, uint64_t spin_iters);

// The planted busy wait: `iters` iterations of an empty loop.
static inline void spin(uint64_t iters)
{
    for (uint64_t k = 0; k < iters; k++) __asm__ __volatile__("");
}

// POSIX extended regular expressions, as Google Benchmark's filter uses
// (std::regex draws false -Wmaybe-uninitialized warnings from GCC 12).
class Regex {
public:
    explicit Regex(const std::string &pattern)
    {
        if (regcomp(&re_, pattern.c_str(), REG_EXTENDED | REG_NOSUB) != 0)
            die("bad regular expression '" + pattern + "'");
    }
    ~Regex() { regfree(&re_); }
    Regex(const Regex &) = delete;
    Regex &operator=(const Regex &) = delete;
    bool search(const std::string &s) const { return regexec(&re_, s.c_str(), 0, nullptr, 0) == 0; }

private:
    regex_t re_;
};

// SC_BENCH_PLANT=REGEX=NS, read by read_plant().
struct Plant {
    std::unique_ptr<Regex> re;
    double ns = 0;
    bool on = false;
};

Plant read_plant();
// Measures how many spin iterations make a nanosecond (for plant_for).
void calibrate_spin();
// The spin iterations planted in the benchmark whose full name is `name`.
uint64_t plant_for(const Plant &plant, const std::string &name);

}  // namespace scb

#endif
