// sc_bench_ops.cc: the bodies of sc_bench's <impl>/<op>/<mix>/<sessions>
// benchmarks (the counts, count_text, open_close, mta_loop,
// count_under_writes), their prologue and epilogue, and run_spec, which
// dispatches a Spec to the body of its op for fast and ref or the peer.
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "sc_bench.h"

namespace scb {

const char *op_name(Op op)
{
    static const char *names[] = {"count_rel24", "count_rel32",  "count_rel48", "count_rel64",
                                  "count_rel128", "count_short", "count_prefix", "count_text",
                                  "open_close",  "mta_loop",     "count_under_writes"};
    return names[(int)op];
}

// What thread 0 prepares before the threads pass the start barrier
// (State::begin()); the others read it after.
struct Ctx {
    Pop *pop;
    Workload *w;
    Clock::time_point start;   // when the threads went through the barrier, about
};
static Ctx g_ctx;
double g_min_time = 0.1;
bool g_probe = true;

// Lines the dram_ns probe walks: ~15 ms at 230 ns a miss, a mean over
// 65536 misses.
static const size_t kProbeLoads = 65536;

template <class O>
static typename O::Table *table_of(const Ctx &c);
template <>
sc_table *table_of<ScOps>(const Ctx &c) { return c.pop->tab; }
template <>
peer *table_of<PeerOps>(const Ctx &c) { return c.pop->pr; }

static void prologue(State &st, const Spec &sp)
{
    if (st.thread_index() == 0) {
        g_ctx.pop = acquire(sp.impl, sp.mix, sp.n);
        g_ctx.w = g_work;
        if (sp.op == Op::open_close || sp.op == Op::mta_loop)
            (void)g_work->fresh_for((unsigned)st.threads(), 0);   // makes every thread's
        g_ctx.start = Clock::now();
    } else if (sp.impl == Impl::peer) {
        peer_thread_online();
    }
}

static void epilogue(State &st, const Spec &sp)
{
    if (st.thread_index() != 0 && sp.impl == Impl::peer) peer_thread_offline();
    st.SetItemsProcessed(st.iterations());
    if (st.thread_index() == 0)
        st.counters["bytes_per_session"] = (double)g_ctx.pop->bytes / (double)g_ctx.pop->n;
    // dram_ns: limit/dram_miss again, right after the row's timed run, in
    // its process: what report.py divides this row by.  The host's DRAM
    // latency drifts by 2x over minutes (README, "Regression runs"); a
    // limit measured once, in another process, does not follow it.
    if (g_probe && sp.impl == Impl::fast && st.threads() == 1 && sp.op != Op::count_under_writes &&
        since(g_ctx.start) >= g_min_time / 2)
        st.counters["dram_ns"] = dram_probe(kProbeLoads);
}

static const std::vector<Query> &queries_for(const Workload &w, Op op)
{
    switch (op) {
    case Op::count_rel24:
    case Op::count_rel32: return w.q4;
    case Op::count_rel48:
    case Op::count_rel64:
    case Op::count_rel128: return w.q6;
    default: return w.qall;
    }
}

static unsigned rel_len(Op op)
{
    switch (op) {
    case Op::count_rel24: return 24;
    case Op::count_rel32: return 32;
    case Op::count_rel48: return 48;
    case Op::count_rel64: return 64;
    default: return 128;
    }
}

template <class O>
static void bm_count(State &st, const Spec &sp)
{
    prologue(st, sp);
    auto it = st.begin();
    auto end = st.end();
    const Ctx c = g_ctx;
    auto *tab = table_of<O>(c);
    const std::vector<Query> &qv = queries_for(*c.w, sp.op);
    const Query *q = qv.data();
    size_t mask = qv.size() - 1;
    size_t i = (size_t)st.thread_index() * (qv.size() / (size_t)st.threads());
    const uint64_t spin_iters = sp.spin;
    switch (sp.op) {
    case Op::count_short:
        for (; it != end; ++it) {
            const Query &x = q[i++ & mask];
            sc_prefix p;
            sc_prefix_make(&x.addr, x.len_short, &p);
            benchmark::DoNotOptimize(O::count(tab, &p, x.svc));
            if (spin_iters) spin(spin_iters);
        }
        break;
    case Op::count_prefix:
        for (; it != end; ++it) {
            const Query &x = q[i++ & mask];
            sc_prefix p;
            sc_prefix_make(&x.addr, x.len_any, &p);
            benchmark::DoNotOptimize(O::count(tab, &p, x.svc));
            if (spin_iters) spin(spin_iters);
        }
        break;
    default: {
        const unsigned len = rel_len(sp.op);
        for (; it != end; ++it) {
            const Query &x = q[i++ & mask];
            sc_prefix p;
            sc_prefix_make(&x.addr, len, &p);
            benchmark::DoNotOptimize(O::count(tab, &p, x.svc));
            if (spin_iters) spin(spin_iters);
        }
    }
    }
    epilogue(st, sp);
}

template <class O>
static void bm_count_text(State &st, const Spec &sp)
{
    prologue(st, sp);
    auto it = st.begin();
    auto end = st.end();
    const Ctx c = g_ctx;
    auto *tab = table_of<O>(c);
    const Text *tx = c.w->texts.data();
    size_t mask = c.w->texts.size() - 1;
    size_t i = (size_t)st.thread_index() * (c.w->texts.size() / (size_t)st.threads());
    const uint64_t spin_iters = sp.spin;
    for (; it != end; ++it) {
        benchmark::DoNotOptimize(O::count_text(tab, tx[i++ & mask]));
        if (spin_iters) spin(spin_iters);
    }
    epilogue(st, sp);
}

template <class O>
static void bm_open_close(State &st, const Spec &sp)
{
    prologue(st, sp);
    auto it = st.begin();
    auto end = st.end();
    const Ctx c = g_ctx;
    auto *tab = table_of<O>(c);
    const std::vector<Session> &fv = c.w->fresh.at((unsigned)st.threads())[(size_t)st.thread_index()];
    const Session *f = fv.data();
    size_t mask = fv.size() - 1, i = 0;
    const uint64_t spin_iters = sp.spin;
    for (; it != end; ++it) {
        const Session &s = f[i++ & mask];
        sc_status a = O::open(tab, &s.raw, s.svc);
        sc_status b = O::close(tab, &s.raw, s.svc);
        if (__builtin_expect(a != SC_OK || b != SC_OK, 0)) {
            st.SkipWithError("open or close failed");
            break;
        }
        if (spin_iters) spin(spin_iters);
    }
    epilogue(st, sp);
}

template <class O>
static void bm_mta_loop(State &st, const Spec &sp)
{
    prologue(st, sp);
    auto it = st.begin();
    auto end = st.end();
    const Ctx c = g_ctx;
    auto *tab = table_of<O>(c);
    const std::vector<Session> &fv = c.w->fresh.at((unsigned)st.threads())[(size_t)st.thread_index()];
    const Session *f = fv.data();
    size_t mask = fv.size() - 1, i = 0;
    const uint64_t spin_iters = sp.spin;
    for (; it != end; ++it) {
        const Session &s = f[i++ & mask];
        sc_status a = O::open(tab, &s.raw, s.svc);
        bool is4 = s.norm.family == SC_INET4;
        sc_prefix p;
        sc_prefix_make(&s.norm, is4 ? 24 : 64, &p);
        benchmark::DoNotOptimize(O::count(tab, &p, s.svc));
        sc_prefix_make(&s.norm, is4 ? 32 : 128, &p);
        benchmark::DoNotOptimize(O::count(tab, &p, s.svc));
        sc_status b = O::close(tab, &s.raw, s.svc);
        if (__builtin_expect(a != SC_OK || b != SC_OK, 0)) {
            st.SkipWithError("open or close failed");
            break;
        }
        if (spin_iters) spin(spin_iters);
    }
    epilogue(st, sp);
}

// One timed thread counts the hot prefix; helper threads (not timed, not
// counted as items) open and close sessions inside it the whole time, each
// paced to sp.write_rate pairs a second (a clock read every 64 pairs; ahead
// of it, a writer waits without touching the table), so that fast and the
// peer are counted under the same load.  writes_per_second reports what the
// writers achieved: below the rate, an impl's writers could not keep up.
struct alignas(64) WriterSlot {
    std::atomic<uint64_t> ops{0};
    std::atomic<bool> started{false};
};

template <class O>
static void bm_count_under_writes(State &st, const Spec &sp)
{
    prologue(st, sp);
    const Ctx c = g_ctx;
    auto *tab = table_of<O>(c);
    std::atomic<bool> stop{false};
    std::vector<WriterSlot> slots(sp.writers);
    std::vector<std::thread> writers;
    std::atomic<bool> failed{false};
    for (unsigned w = 0; w < sp.writers; w++) {
        writers.emplace_back([&, w] {
            std::vector<Session> addrs = c.w->writer_addrs(w);
            if (sp.impl == Impl::peer) peer_thread_online();
            slots[w].started.store(true);
            uint64_t k = 0;
            const auto t0 = std::chrono::steady_clock::now();
            const double ns_per_pair = sp.write_rate ? 1e9 / (double)sp.write_rate : 0;
            while (!stop.load(std::memory_order_relaxed)) {
                if (ns_per_pair > 0 && (k & 63) == 0) {
                    const auto due = t0 + std::chrono::nanoseconds((int64_t)((double)k * ns_per_pair));
                    while (std::chrono::steady_clock::now() < due && !stop.load(std::memory_order_relaxed))
                        std::this_thread::yield();
                }
                const Session &s = addrs[k++ & (addrs.size() - 1)];
                if (O::open(tab, &s.raw, s.svc) != SC_OK || O::close(tab, &s.raw, s.svc) != SC_OK)
                    failed.store(true);
                slots[w].ops.store(k, std::memory_order_relaxed);
            }
            if (sp.impl == Impl::peer) peer_thread_offline();
        });
    }
    for (auto &s : slots)
        while (!s.started.load()) std::this_thread::yield();
    auto writes = [&] {
        uint64_t sum = 0;
        for (auto &s : slots) sum += s.ops.load(std::memory_order_relaxed);
        return sum;
    };
    const sc_prefix hot = c.w->hot;
    const sc_service svc = c.w->hot_svc;
    const uint64_t spin_iters = sp.spin;
    uint64_t before = writes();
    for (auto _ : st) {
        benchmark::DoNotOptimize(O::count(tab, &hot, svc));
        if (spin_iters) spin(spin_iters);
    }
    uint64_t during = writes() - before;
    stop.store(true);
    for (auto &t : writers) t.join();
    if (failed.load()) st.SkipWithError("a writer's open or close failed");
    st.counters["writes_per_second"] = benchmark::Counter((double)during, benchmark::Counter::kIsRate);
    st.counters["writers"] = sp.writers;
    st.counters["write_rate"] = (double)sp.write_rate * sp.writers;
    epilogue(st, sp);
}

template <class O>
static void dispatch(State &st, const Spec &sp)
{
    switch (sp.op) {
    case Op::count_text: return bm_count_text<O>(st, sp);
    case Op::open_close: return bm_open_close<O>(st, sp);
    case Op::mta_loop: return bm_mta_loop<O>(st, sp);
    case Op::count_under_writes: return bm_count_under_writes<O>(st, sp);
    default: return bm_count<O>(st, sp);
    }
}

void run_spec(State &st, const Spec &sp)
{
    if (sp.impl == Impl::peer) dispatch<PeerOps>(st, sp);
    else dispatch<ScOps>(st, sp);
}

}  // namespace scb
