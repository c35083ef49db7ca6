// sc_bench_limits.cc: sc_bench's limits, the costs the benchmarks are held
// against (limit/dram_miss, with and without threads; limit/atomic_add,
// alone and contended), and the planted regression (SC_BENCH_PLANT, the
// spin calibration behind it).
#include <atomic>
#include <cstdlib>

#include "sc_bench.h"

namespace scb {

// ------------------------------------------------------------------ the limits

void bm_dram_miss(State &st, uint64_t spin_iters)
{
    build_dram();
    void *p = g_dram.cursor;
    for (auto _ : st) {
        p = *static_cast<void **>(p);
        if (spin_iters) spin(spin_iters);
    }
    benchmark::DoNotOptimize(p);
    g_dram.cursor = p;
    st.SetItemsProcessed(st.iterations());
    st.counters["huge_page_fraction"] = g_dram.thp;
}

// The same walk on every CPU at once, each thread from its own point of the
// cycle: how far the memory system lets independent misses overlap, which
// bounds the thread scaling of anything that misses DRAM once per op.
void bm_dram_miss_threads(State &st)
{
    if (st.thread_index() == 0) build_dram();
    auto it = st.begin();   // Google Benchmark's start barrier: the buffer is built
    auto end = st.end();
    size_t lines = g_dram.size / 64;
    void *p = static_cast<char *>(g_dram.base) +
              (size_t)st.thread_index() * (lines / (size_t)st.threads()) * 64;
    for (; it != end; ++it) p = *static_cast<void **>(p);
    benchmark::DoNotOptimize(p);
    st.SetItemsProcessed(st.iterations());
}

static std::atomic<uint64_t> g_line alignas(64);
static std::atomic<uint64_t> g_shared_line alignas(64);

void bm_atomic_add(State &st, bool shared, uint64_t spin_iters)
{
    std::atomic<uint64_t> *target = shared ? &g_shared_line : &g_line;
    for (auto _ : st) {
        benchmark::DoNotOptimize(target->fetch_add(1));
        if (spin_iters) spin(spin_iters);
    }
    st.SetItemsProcessed(st.iterations());
}

// ------------------------------------------------------------------ planted regressions

static double g_spin_per_ns = 0;   // spin iterations per nanosecond

void calibrate_spin()
{
    const uint64_t n = 200000000;
    auto t = Clock::now();
    spin(n);
    g_spin_per_ns = (double)n / (since(t) * 1e9);
}

Plant read_plant()
{
    Plant p;
    const char *env = getenv("SC_BENCH_PLANT");
    if (!env || !*env) return p;
    std::string s = env;
    size_t eq = s.rfind('=');
    if (eq == std::string::npos) die("SC_BENCH_PLANT must be REGEX=NS");
    p.re.reset(new Regex(s.substr(0, eq)));
    p.ns = atof(s.c_str() + eq + 1);
    p.on = p.ns > 0;
    return p;
}

uint64_t plant_for(const Plant &plant, const std::string &name)
{
    if (!plant.on || !plant.re->search(name)) return 0;
    return (uint64_t)(plant.ns * g_spin_per_ns) + 1;
}

}  // namespace scb
