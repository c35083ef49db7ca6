// series_bench.cc: the windowed-count rows of the benchmark suite (issue
// 13), a binary of its own beside sc_bench; scripts/bench runs both and
// prints one table (sc_bench's limits are the ratios' base).
//
// Names: <impl>/<op>/<mix>/<events>, events per window.  A population is a
// "60,6" series whose six windows each hold `events` events of the mix
// (keys drawn as sessions are, so mta repeats its busy peers), window 0 the
// newest.  Ops:
//   series_add          one add of a fresh key into window 0
//   series_count_rel24  a count of one window (0) of a drawn key's /24
//                       (its /48 for an IPv6 key)
//   series_count_range  the same prefix over windows 0-5
//   series_turn         the p99 (counter p99_ns) of adds timed one by one
//                       across five turns, each turn sending a window of
//                       `events` events out of the ring
// Counter bytes_per_event: the table's bytes over the events it holds.
// The peer is what a user builds with a well-kept library: per window, a
// cds_lfht keyed by (prefix length, masked prefix) (peer_lfht.c, one entry
// per length of every key: an add is 33 or 129 updates, a count one lookup
// per window), the oldest window's table freed when it leaves the ring.
//
// Own flags: --sizes=LIST (events per window, default 1K,64K,1M,10M),
// --min-time=S, --ref-max=N (default 4K: ref's adds scan its list, so a
// build is quadratic), --peer-max=N (64K: the peer
// holds every length of every key in six windows), --peer-max6=N (64K);
// the rest go to Google Benchmark.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>

extern "C" {
#include "peer_lfht.h"
#include "sesscount.h"
}
#include "bench_main.h"
#include "workload.h"

namespace scb {

const char *const g_program = "sc_series_bench";

using benchmark::State;

enum { W = 60, N = 6 };
static const sc_time kBase = 1700000040;   // a window boundary of W

struct Options {
    std::vector<size_t> sizes{1000, 64000, 1000000, 10000000};
    double min_time = 0.05;
    // The peer holds 33 (IPv4) or 129 (IPv6) entries a key in each of six
    // windows: 1M random4 events a window would be about 13 GB.
    // ref's add scans its list: building six windows is quadratic.
    size_t ref_max = 4000, peer_max = 64000, peer_max6 = 64000;
};

// ------------------------------------------------------------------ one population

struct Pop {
    Impl impl = Impl::fast;
    Mix mix = Mix::mta;
    size_t n = 0;
    sc_table *tab = nullptr;
    sc_series *ser = nullptr;
    std::vector<peer *> ring;          // the peer: a table per window, [epoch % N]
    int64_t newest = 0;                // the peer's newest epoch
    std::vector<sc_addr> keys;         // window 0's keys, the queries' source
    std::vector<sc_addr> fresh;        // keys for series_add
    sc_time now = 0;
    size_t events = 0, bytes = 0;
    double bytes_per_event = 0;        // as built: six windows of n events
};

static Pop *g_pop;

static int64_t epoch_of(sc_time t) { return t / W; }

static void peer_turn(Pop *p, int64_t e)
{
    while (p->newest < e) {
        p->newest++;
        peer *&slot = p->ring[(size_t)(p->newest % N)];
        if (slot) peer_free(slot);
        // Sized for every length of its keys and series_add's, so that no
        // resize is timed: what a user who knows the load would do.
        slot = peer_new((p->n + 65536) * (p->mix == Mix::random6 ? 129 : 33));
        if (!slot) die("peer_new");
    }
}

static sc_status add(Pop *p, const sc_addr *a, sc_time t)
{
    if (p->impl != Impl::peer) return sc_series_add(p->ser, a, 1, t);
    peer_turn(p, epoch_of(t));
    return peer_open(p->ring[(size_t)(epoch_of(t) % N)], a, SC_SERVICE_SMTP);
}

static uint64_t count(Pop *p, const sc_prefix *q, unsigned a, unsigned b)
{
    if (p->impl != Impl::peer) {
        uint64_t n = 0;
        sc_series_count(p->ser, q, a, b, p->now, &n);
        return n;
    }
    uint64_t n = 0;
    int64_t e = epoch_of(p->now);
    for (unsigned k = a; k <= b; k++) {
        peer *w = p->ring[(size_t)((e - k) % N)];
        if (w) n += peer_count(w, q, SC_SERVICE_SMTP);
    }
    return n;
}

static size_t bytes_of(Pop *p)
{
    if (p->impl != Impl::peer) return sc_table_bytes(p->tab);
    size_t b = 0;
    for (peer *x : p->ring)
        if (x) b += peer_settle(x);
    return b;
}

static void free_pop()
{
    if (!g_pop) return;
    if (g_pop->tab) sc_table_free(g_pop->tab);
    for (peer *x : g_pop->ring)
        if (x) peer_free(x);
    delete g_pop;
    g_pop = nullptr;
    release_freed_memory();   // series_turn rebuilds 5 times: 24 GB at 10M without it
}

static Pop *acquire(Impl impl, Mix mix, size_t n)
{
    if (g_pop && g_pop->impl == impl && g_pop->mix == mix && g_pop->n == n) return g_pop;
    free_pop();
    auto t0 = Clock::now();
    Pop *p = new Pop();
    p->impl = impl;
    p->mix = mix;
    p->n = n;
    const sc_monitor mon = {W, N};
    if (impl == Impl::peer) {
        p->ring.assign(N, nullptr);
        p->newest = epoch_of(kBase) - 1;
    } else if (sc_table_new(impl == Impl::fast ? sc_impl_fast() : sc_impl_ref(), nullptr, &p->tab) !=
                   SC_OK ||
               sc_series_new(p->tab, SC_SERIES_CIDR, &mon, &p->ser) != SC_OK) {
        die("table or series");
    }
    MixGen gen(mix, 0x5e7135 + n);
    for (int w = 0; w < N; w++) {
        sc_time t = kBase + (sc_time)w * W;
        for (size_t i = 0; i < n; i++) {
            Session s = gen.draw();
            if (add(p, &s.raw, t) != SC_OK) die("add while building");
            if (w == N - 1) p->keys.push_back(s.norm);
        }
    }
    for (size_t i = 0; i < 65536; i++) p->fresh.push_back(gen.draw().raw);
    p->now = kBase + (sc_time)(N - 1) * W + W / 2;
    p->events = (size_t)N * n;
    p->bytes = bytes_of(p);
    p->bytes_per_event = (double)p->bytes / (double)p->events;
    g_pop = p;
    say("series %s/%s/%zu: built in %.1f s, %.1f bytes per event", impl_name(impl), mix_name(mix),
        n, since(t0), (double)p->bytes / (double)p->events);
    return p;
}

// ------------------------------------------------------------------ bodies

enum class Op { add, count_rel24, count_range, turn };
static const char *op_name(Op op)
{
    static const char *names[] = {"series_add", "series_count_rel24", "series_count_range",
                                  "series_turn"};
    return names[(int)op];
}

struct Spec { Impl impl; Mix mix; size_t n; Op op; };

// Queries drawn from window 0's keys: as many as fit a power of two up to
// 2^20, so that at a million events and more their paths cannot all stay
// in the cache between two visits (a measure of DRAM, not of L2).
static size_t g_qmask;
static std::vector<sc_prefix> queries(const Pop &p)
{
    size_t size = 4096;
    while (size < p.n && size < ((size_t)1 << 20)) size <<= 1;
    g_qmask = size - 1;
    std::vector<sc_prefix> q(size);
    Rng rng(0x9e5 + p.n);
    for (sc_prefix &x : q) {
        const sc_addr &a = p.keys[rng.below(p.keys.size())];
        if (sc_prefix_make(&a, a.family == SC_INET4 ? 24 : 48, &x) != SC_OK) die("prefix");
    }
    return q;
}

static void bm_count(State &st, Pop *p, unsigned endv)
{
    std::vector<sc_prefix> q = queries(*p);
    size_t i = 0;
    uint64_t sum = 0;
    for (auto _ : st) sum += count(p, &q[i++ & g_qmask], 0, endv);
    benchmark::DoNotOptimize(sum);
    if (sum == 0) st.SkipWithError("every count was zero");
}

static void bm_add(State &st, Pop *p)
{
    size_t i = 0;
    for (auto _ : st)
        if (add(p, &p->fresh[i++ & 65535], p->now) != SC_OK) st.SkipWithError("add failed");
}

// Five turns, each sending one of the built windows out of the ring; the
// adds around each turn are timed one by one.
static void bm_turn(State &st, Pop *p)
{
    std::vector<double> ns;
    for (auto _ : st) {
        for (int turn = 1; turn <= N - 1; turn++) {
            sc_time t = p->now + (sc_time)turn * W;
            for (size_t k = 0; k < 200; k++) {
                auto t0 = Clock::now();
                if (add(p, &p->fresh[k], t) != SC_OK) st.SkipWithError("add failed");
                ns.push_back(std::chrono::duration<double, std::nano>(Clock::now() - t0).count());
            }
        }
    }
    std::sort(ns.begin(), ns.end());
    st.counters["p99_ns"] = ns.empty() ? 0 : ns[ns.size() * 99 / 100];
    st.counters["max_ns"] = ns.empty() ? 0 : ns.back();
    free_pop();   // the ring moved on: the next row builds afresh
}

static void run(State &st, Spec sp)
{
    Pop *p = acquire(sp.impl, sp.mix, sp.n);
    double bpe = p->bytes_per_event;
    switch (sp.op) {
    case Op::add: bm_add(st, p); break;
    case Op::count_rel24: bm_count(st, p, 0); break;
    case Op::count_range: bm_count(st, p, N - 1); break;
    case Op::turn: bm_turn(st, p); break;
    }
    st.SetItemsProcessed(st.iterations());
    st.counters["bytes_per_event"] = bpe;
}

static bool runs_at(const Options &o, Impl impl, Mix mix, size_t n)
{
    if (impl == Impl::ref) return n <= o.ref_max;
    if (impl == Impl::peer) return n <= (mix == Mix::random6 ? o.peer_max6 : o.peer_max);
    return true;
}

static void register_all(const Options &o)
{
    for (size_t n : o.sizes)
        for (Mix mix : kMixes)
            for (Impl impl : {Impl::fast, Impl::peer, Impl::ref}) {
                if (!runs_at(o, impl, mix, n)) continue;
                for (Op op : {Op::count_rel24, Op::count_range, Op::add, Op::turn}) {
                    std::string name = std::string(impl_name(impl)) + "/" + op_name(op) + "/" +
                                       mix_name(mix) + "/" + std::to_string(n);
                    auto *b = benchmark::RegisterBenchmark(
                        name.c_str(), [=](State &st) { run(st, Spec{impl, mix, n, op}); });
                    if (op == Op::turn) b->Iterations(1);
                }
            }
}

static Options parse_options(int *argc, char **argv)
{
    Options o;
    take_flags(argc, argv, [&](const char *a) {
        const char *v;
        if ((v = flag_value(a, "--sizes"))) {
            o.sizes = sizes_from_text(v);
            if (o.sizes.empty()) die("bad --sizes");
        } else if ((v = flag_value(a, "--min-time"))) o.min_time = atof(v);
        else if ((v = flag_value(a, "--ref-max"))) o.ref_max = size_from_text(v);
        else if ((v = flag_value(a, "--peer-max6"))) o.peer_max6 = size_from_text(v);
        else if ((v = flag_value(a, "--peer-max"))) o.peer_max = size_from_text(v);
        else return false;
        return true;
    });
    return o;
}

}  // namespace scb

int main(int argc, char **argv)
{
    using namespace scb;
    Options o = parse_options(&argc, argv);
    start_benchmark(argc, argv, o.min_time);
    peer_thread_online();
    register_all(o);
    benchmark::RunSpecifiedBenchmarks();
    free_pop();
    benchmark::Shutdown();
    peer_thread_offline();
    return 0;
}
