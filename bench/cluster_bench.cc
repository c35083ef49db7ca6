// cluster_bench.cc: the fleet's rows of the benchmark suite (issue 15), a
// binary of its own beside sc_bench; scripts/bench runs it.
//
//   fast/count_rel24_local/<mix>/<sessions>  sc_count of SMTP, a drawn
//        session's /24, every session in one table: the base
//   fast/count_rel24_fleet/<mix>/<sessions>  sc_count of inbound_cidr, the
//        same /24s, the same sessions spread over 4 nodes: this node's
//        table holds a quarter, replicas of 3 others the rest (built from
//        full states as the cluster's thread builds them)
//   cluster/open_close/<mix>/<sessions>/{plain,joined}  an open and a close
//        of a fresh address in a table of <sessions>: without clustering,
//        and joined to a cluster (its journal and thread running; Redis is
//        --redis or, without it, unreachable: the thread still drains)
//   cluster/apply/<records>  another node's deltas applied to its replica,
//        <records> a batch (alternately every address closed and opened):
//        items_per_second is events applied per second on one core
//   cluster/lag/<events per second>  with --redis only: three joined
//        tables in this process (three cluster threads, one Redis); node a
//        opens and closes at that rate while a marker address is opened on
//        a every 20 ms and node b polls until it counts it: counters p50_ms,
//        p99_ms, max_ms, events_per_s (achieved)
//
// Own flags: --sizes=LIST (default 1K,1M), --min-time=S, --redis=HOST:PORT,
// --lag-seconds=S (default 5), --lag-rate=N (default 100000); the rest go
// to Google Benchmark.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

extern "C" {
#include "cluster_shim.h"
#include "sesscount.h"
#include "sesscount_cluster.h"
}
#include "bench_main.h"
#include "workload.h"

namespace scb {

const char *const g_program = "sc_cluster_bench";

using benchmark::State;

struct Options {
    std::vector<size_t> sizes{1000, 1000000};
    double min_time = 0.05;
    std::string redis;
    double lag_seconds = 5;
    double lag_rate = 100000;
};

static Options g_opt;

static std::vector<sc_addr> addrs_of(const Workload &w)
{
    std::vector<sc_addr> v;
    v.reserve(w.sessions.size());
    for (const Session &s : w.sessions) v.push_back(s.norm);
    return v;
}

static std::vector<sc_prefix> rel24_queries(const Workload &w)
{
    std::vector<sc_prefix> q;
    for (const Query &x : w.q4) {
        sc_prefix p;
        if (sc_prefix_make(&x.addr, 24, &p) == SC_OK) q.push_back(p);
    }
    if (q.empty()) die("no IPv4 queries");
    size_t pow2 = 1;
    while (pow2 * 2 <= q.size()) pow2 *= 2;
    q.resize(pow2);
    return q;
}

static sc_table *clustering_table()
{
    sc_options o{};
    o.clustering = true;
    sc_table *t;
    if (sc_table_new(sc_impl_fast(), &o, &t) != SC_OK) die("sc_table_new");
    return t;
}

// ------------------------------------------------------------------ counts

static void bm_count(State &st, Mix mix, size_t n, bool fleet)
{
    Workload *w = workload_build(mix, n);
    std::vector<sc_addr> addrs = addrs_of(*w);
    std::vector<sc_prefix> q = rel24_queries(*w);
    sc_table *t = clustering_table();
    scb_fleet *f = nullptr;
    if (fleet) {
        if (!(f = scb_fleet_build(t, addrs.data(), addrs.size(), 4))) die("scb_fleet_build");
    } else {
        for (const sc_addr &a : addrs)
            if (sc_open(t, &a, SC_SERVICE_SMTP) != SC_OK) die("open");
    }
    sc_service svc = fleet ? SC_SERVICE_INBOUND_CIDR : SC_SERVICE_SMTP;
    size_t mask = q.size() - 1, i = 0;
    uint64_t sum = 0;
    for (auto _ : st) {
        uint64_t c = 0;
        sc_count(t, &q[i++ & mask], svc, &c);
        sum += c;
    }
    benchmark::DoNotOptimize(sum);
    st.SetItemsProcessed(st.iterations());
    scb_fleet_free(f);
    sc_table_free(t);
    delete w;
}

// ------------------------------------------------------------------ open and close

static void bm_open_close(State &st, Mix mix, size_t n, bool joined)
{
    Workload *w = workload_build(mix, n);
    sc_table *t;
    sc_cluster *c = nullptr;
    if (joined) {
        t = clustering_table();
        sc_cluster_config cfg{};
        std::string redis = g_opt.redis.empty() ? "127.0.0.1:1" : g_opt.redis;
        cfg.redis = redis.c_str();
        cfg.name = "bench";
        cfg.node = "oc";
        if (sc_cluster_join(t, &cfg, &c, nullptr) != SC_OK) die("sc_cluster_join");
    } else if (sc_table_new(sc_impl_fast(), nullptr, &t) != SC_OK) {
        die("sc_table_new");
    }
    for (const Session &s : w->sessions)
        if (sc_open(t, &s.norm, SC_SERVICE_SMTP) != SC_OK) die("open");
    const std::vector<Session> &fresh = w->fresh_for(1, 0);
    size_t i = 0, m = fresh.size();
    for (auto _ : st) {
        const sc_addr *a = &fresh[i++ % m].norm;
        if (sc_open(t, a, SC_SERVICE_SMTP) != SC_OK || sc_close(t, a, SC_SERVICE_SMTP) != SC_OK)
            st.SkipWithError("open/close failed");
    }
    st.SetItemsProcessed(st.iterations());
    sc_cluster_leave(c);
    sc_table_free(t);
    delete w;
}

// ------------------------------------------------------------------ apply

static void bm_apply(State &st, size_t records)
{
    Workload *w = workload_build(Mix::mta, records);
    std::vector<sc_addr> addrs = addrs_of(*w);
    scb_fleet *f = scb_apply_setup(addrs.data(), addrs.size());
    if (!f) die("scb_apply_setup");
    size_t events = 0;
    for (auto _ : st) {
        size_t k = scb_apply_next(f);
        if (k == 0) st.SkipWithError("apply refused");
        events += k;
    }
    st.SetItemsProcessed((int64_t)events);
    scb_fleet_free(f);
    delete w;
}

// ------------------------------------------------------------------ lag

static double ms_since(Clock::time_point t0)
{
    return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

static void bm_lag(State &st, double rate)
{
    const char *nodes[3] = {"a", "b", "c"};
    sc_table *t[3];
    sc_cluster *c[3];
    for (int k = 0; k < 3; k++) {
        t[k] = clustering_table();
        sc_cluster_config cfg{};
        cfg.redis = g_opt.redis.c_str();
        cfg.name = "lagbench";
        cfg.node = nodes[k];
        if (sc_cluster_join(t[k], &cfg, &c[k], nullptr) != SC_OK) die("sc_cluster_join");
    }
    auto t0 = Clock::now();
    for (;;) {   // every node live and seeing three
        bool ready = true;
        for (int k = 0; k < 3; k++) {
            sc_cluster_status s;
            sc_cluster_status_get(c[k], &s);
            ready = ready && s.state == SC_CLUSTER_LIVE && s.nodes == 3;
        }
        if (ready) break;
        if (ms_since(t0) > 10000) die("the three nodes did not see each other in 10 s");
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    Workload *w = workload_build(Mix::mta, 1000);
    const std::vector<Session> &fresh = w->fresh_for(1, 0);
    std::atomic<bool> stop{false};
    std::atomic<uint64_t> events{0};
    std::thread writer([&] {   // node a's traffic, paced per millisecond
        std::vector<sc_addr> held;
        size_t next = 0;
        auto start = Clock::now();
        uint64_t done = 0;
        while (!stop.load(std::memory_order_relaxed)) {
            uint64_t due = (uint64_t)(ms_since(start) * rate / 1000);
            for (; done < due; done++) {
                if (held.size() > 2000 || (!held.empty() && (done & 1))) {
                    sc_addr a = held.back();
                    held.pop_back();
                    if (sc_close(t[0], &a, SC_SERVICE_SMTP) != SC_OK) die("close");
                } else {
                    held.push_back(fresh[next++ % fresh.size()].norm);
                    if (sc_open(t[0], &held.back(), SC_SERVICE_SMTP) != SC_OK) die("open");
                }
            }
            events.store(done, std::memory_order_relaxed);
            std::this_thread::sleep_for(std::chrono::microseconds(500));
        }
        for (const sc_addr &a : held) (void)sc_close(t[0], &a, SC_SERVICE_SMTP);
    });
    std::vector<double> lag;
    auto run0 = Clock::now();
    for (auto _ : st) {
        for (uint32_t m = 0; ms_since(run0) < g_opt.lag_seconds * 1000; m++) {
            sc_addr marker{};   // 100.64.0.0/10: never in the traffic's mix
            marker.family = SC_INET4;
            marker.bytes[0] = 100;
            marker.bytes[1] = (uint8_t)(64 + ((m >> 16) & 63));
            marker.bytes[2] = (uint8_t)(m >> 8);
            marker.bytes[3] = (uint8_t)m;
            sc_prefix p;
            if (sc_prefix_make(&marker, 32, &p) != SC_OK) die("prefix");
            auto m0 = Clock::now();
            if (sc_open(t[0], &marker, SC_SERVICE_SMTP) != SC_OK) die("marker open");
            uint64_t n = 0;
            while ((sc_count(t[1], &p, SC_SERVICE_INBOUND_CIDR, &n), n == 0) && ms_since(m0) < 2000)
                std::this_thread::sleep_for(std::chrono::microseconds(100));
            lag.push_back(ms_since(m0));
            if (sc_close(t[0], &marker, SC_SERVICE_SMTP) != SC_OK) die("marker close");
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
    }
    double secs = ms_since(run0) / 1000;
    stop = true;
    writer.join();
    std::sort(lag.begin(), lag.end());
    st.counters["p50_ms"] = lag[lag.size() / 2];
    st.counters["p99_ms"] = lag[lag.size() * 99 / 100];
    st.counters["max_ms"] = lag.back();
    st.counters["samples"] = (double)lag.size();
    st.counters["events_per_s"] = (double)events.load() / secs;
    for (int k = 0; k < 3; k++) {
        sc_cluster_leave(c[k]);
        sc_table_free(t[k]);
    }
    delete w;
}

// ------------------------------------------------------------------ registration

static void register_all()
{
    for (size_t n : g_opt.sizes)
        for (Mix mix : {Mix::mta, Mix::random4}) {
            for (bool fleet : {false, true}) {
                std::string name = std::string("fast/count_rel24_") + (fleet ? "fleet/" : "local/") +
                                   mix_name(mix) + "/" + std::to_string(n);
                benchmark::RegisterBenchmark(name.c_str(),
                                             [=](State &st) { bm_count(st, mix, n, fleet); });
            }
        }
    for (size_t n : g_opt.sizes)
        for (bool joined : {false, true}) {
            std::string name = "cluster/open_close/mta/" + std::to_string(n) +
                               (joined ? "/joined" : "/plain");
            benchmark::RegisterBenchmark(name.c_str(),
                                         [=](State &st) { bm_open_close(st, Mix::mta, n, joined); });
        }
    benchmark::RegisterBenchmark("cluster/apply/1000", [](State &st) { bm_apply(st, 1000); });
    if (!g_opt.redis.empty()) {
        double rate = g_opt.lag_rate;
        std::string name = "cluster/lag/" + std::to_string((long long)rate);
        benchmark::RegisterBenchmark(name.c_str(), [=](State &st) { bm_lag(st, rate); })
            ->Iterations(1)
            ->Unit(benchmark::kMillisecond);
    }
}

static void parse_options(int *argc, char **argv)
{
    take_flags(argc, argv, [&](const char *a) {
        const char *v;
        if ((v = flag_value(a, "--sizes"))) {
            g_opt.sizes = sizes_from_text(v);
            if (g_opt.sizes.empty()) die("bad --sizes");
        } else if ((v = flag_value(a, "--min-time"))) g_opt.min_time = atof(v);
        else if ((v = flag_value(a, "--redis"))) g_opt.redis = v;
        else if ((v = flag_value(a, "--lag-seconds"))) g_opt.lag_seconds = atof(v);
        else if ((v = flag_value(a, "--lag-rate"))) g_opt.lag_rate = atof(v);
        else return false;
        return true;
    });
}

}  // namespace scb

int main(int argc, char **argv)
{
    using namespace scb;
    parse_options(&argc, argv);
    start_benchmark(argc, argv, g_opt.min_time);
    register_all();
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
