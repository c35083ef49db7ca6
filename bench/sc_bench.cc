// sc_bench.cc: the Google Benchmark shim over sesscount's C API (fast, ref)
// and the peer (peer_lfht.c): its options, the registration of every
// benchmark, --check, the progress display and main.  The rest of it is in
// sc_bench_pop.cc (populations), sc_bench_ops.cc (the benchmark bodies) and
// sc_bench_limits.cc (the limits, the planted regression), declared in
// sc_bench.h; what it shares with sc_series_bench is in bench_main.{h,cc}.
// The benchmark sources are C++; the code under test is C.  scripts/bench
// builds and runs it; README.md ("Benchmarks") documents the names, the
// mixes, the limits and the options.
//
// Names: <impl>/<op>/<mix>/<sessions> and limit/<what>, plus Google
// Benchmark's suffixes (/real_time, /threads:N).  Populations are built
// once per process and impl, on the first benchmark that needs one, and
// freed when a benchmark needs another mix or size: benchmarks run in
// registration order, grouped by (sessions, mix, impl), so one (mix, size)
// is alive at a time, and a shuffled run switches impls without a rebuild.
//
// Own flags (the rest go to Google Benchmark):
//   --sizes=LIST     populations, e.g. 1K,64K,1M,10M (K = 1000, M = 10^6)
//   --mixes=LIST     which mixes, e.g. random4 or mta,random6 (default all
//                    three; "none" leaves only the limits): scripts/bench
//                    runs each population in a process of its own
//   --no-limits      leaves out the limit/ benchmarks
//   --no-probe       no dram_ns probe after the fast rows (under valgrind, say:
//                    its 1 GiB buffer takes minutes to build there)
//   --threads=N      the thread count of the /threads:N variants and
//                    count_under_writes (N - 1 writers, at least 1); default
//                    the number of CPUs; 1 drops the /threads variants
//   --min-time=S     each benchmark's minimum time (default 0.05)
//   --ref-max=N      largest population ref runs at (default 64K)
//   --peer-max=N     largest mta/random4 population the peer runs at (1M)
//   --peer-max6=N    largest random6 population the peer runs at (64K)
//   --write-rate=N   count_under_writes: each writer's open+close pairs a
//                    second (default 100000, the same for every impl, so
//                    that the counts compared bear the same load; 0: flat
//                    out, each impl's writers as fast as they go)
//   --write-rate6=N  the same for random6 (default 10000: the peer's IPv6
//                    open+close updates 129 entries, and its writers reach
//                    12,000-30,000 pairs a second here, not 100,000)
//   --check          runs no benchmark: holds fast, the peer and ref against
//                    each other on every mix (counts, opens, closes), exit 1
//                    on any difference
// Counters: every single-threaded fast row but count_under_writes reports
// dram_ns, limit/dram_miss walked again right after its timed run, in its
// process (sc_bench_ops.cc, epilogue): what report.py divides it by.
// Environment: SC_BENCH_PLANT=REGEX=NS adds a busy wait of about NS
// nanoseconds to every iteration of the benchmarks whose full name matches
// REGEX: a planted regression, to prove the compare gate.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <sstream>
#include <vector>

#include "sc_bench.h"

namespace scb {

const char *const g_program = "sc_bench";

// ------------------------------------------------------------------ options

struct Options {
    std::vector<size_t> sizes{1000, 64000, 1000000, 10000000};
    std::vector<Mix> mixes{kMixes, kMixes + 3};
    bool limits = true;
    bool probe = true;
    unsigned threads = 0;
    double min_time = 0.05;
    size_t ref_max = 64000;
    size_t peer_max = 1000000;
    size_t peer_max6 = 64000;
    uint64_t write_rate = 100000;
    uint64_t write_rate6 = 10000;
    bool check = false;
};

static size_t parse_size(const std::string &s)
{
    size_t v = size_from_text(s);
    if (!v) die("bad size '" + s + "'");
    return v;
}

static std::vector<size_t> parse_sizes(const std::string &list)
{
    std::vector<size_t> v = sizes_from_text(list);
    if (v.empty()) die("bad --sizes '" + list + "'");
    return v;
}

static std::vector<Mix> parse_mixes(const std::string &list)
{
    std::vector<Mix> v;
    if (list == "none") return v;
    for (const std::string &name : items_from_text(list)) {
        bool known = false;
        for (Mix m : kMixes)
            if (name == mix_name(m)) {
                v.push_back(m);
                known = true;
            }
        if (!known) die("bad --mixes '" + list + "': no mix '" + name + "'");
    }
    if (v.empty()) die("bad --mixes '" + list + "': no mix named");
    return v;
}

// Takes our flags out of argv; the rest is Google Benchmark's.
static Options parse_options(int *argc, char **argv)
{
    Options o;
    take_flags(argc, argv, [&](const char *a) {
        const char *v;
        if ((v = flag_value(a, "--sizes"))) o.sizes = parse_sizes(v);
        else if ((v = flag_value(a, "--mixes"))) o.mixes = parse_mixes(v);
        else if (strcmp(a, "--no-limits") == 0) o.limits = false;
        else if (strcmp(a, "--no-probe") == 0) o.probe = false;
        else if ((v = flag_value(a, "--threads"))) o.threads = (unsigned)std::max(1, atoi(v));
        else if ((v = flag_value(a, "--min-time"))) o.min_time = atof(v);
        else if ((v = flag_value(a, "--ref-max"))) o.ref_max = parse_size(v);
        else if ((v = flag_value(a, "--peer-max6"))) o.peer_max6 = parse_size(v);
        else if ((v = flag_value(a, "--peer-max"))) o.peer_max = parse_size(v);
        else if ((v = flag_value(a, "--write-rate6"))) o.write_rate6 = strtoull(v, nullptr, 10);
        else if ((v = flag_value(a, "--write-rate"))) o.write_rate = strtoull(v, nullptr, 10);
        else if (strcmp(a, "--check") == 0) o.check = true;
        else return false;
        return true;
    });
    if (o.threads == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        o.threads = n > 0 ? (unsigned)n : 1;
    }
    if (o.threads > 64) o.threads = 64;
    return o;
}

// ------------------------------------------------------------------ registration

static std::vector<Op> ops_of(Mix mix)
{
    std::vector<Op> v;
    if (mix != Mix::random6) v.insert(v.end(), {Op::count_rel24, Op::count_rel32});
    if (mix != Mix::random4) v.insert(v.end(), {Op::count_rel48, Op::count_rel64, Op::count_rel128});
    v.insert(v.end(), {Op::count_short, Op::count_prefix, Op::count_text, Op::open_close,
                       Op::mta_loop, Op::count_under_writes});
    return v;
}

static bool runs_at(const Options &o, Impl impl, Mix mix, size_t n)
{
    switch (impl) {
    case Impl::fast: return true;
    case Impl::ref: return n <= o.ref_max;
    case Impl::peer: return n <= (mix == Mix::random6 ? o.peer_max6 : o.peer_max);
    }
    return false;
}

// The names Google Benchmark will give, to count the benchmarks a filter
// keeps (for the progress figure).
static std::vector<std::string> g_names;


// No MinTime() here: it would put "/min_time:X" into the name; the time is
// Google Benchmark's --benchmark_min_time for all.
static void add(const std::string &name, unsigned threads, bool real_time,
                std::function<void(State &)> fn)
{
    auto *b = benchmark::RegisterBenchmark(name.c_str(), fn);
    std::string full = name;
    if (real_time) {
        b->UseRealTime();
        full += "/real_time";
    }
    if (threads > 1) {
        b->Threads((int)threads);
        full += "/threads:" + std::to_string(threads);
    }
    g_names.push_back(full);
}

static void register_limits(const Options &o, const Plant &plant)
{
    std::string name;
    uint64_t sp;
    name = "limit/dram_miss";
    sp = plant_for(plant, name);
    add(name, 1, false, [sp](State &st) { bm_dram_miss(st, sp); });
    if (o.threads > 1) {
        name = "limit/dram_miss";
        add(name, o.threads, true, [](State &st) { bm_dram_miss_threads(st); });
    }
    name = "limit/atomic_add";
    sp = plant_for(plant, name);
    add(name, 1, false, [sp](State &st) { bm_atomic_add(st, false, sp); });
    name = "limit/atomic_add_contended";
    sp = plant_for(plant, name + "/real_time/threads:2");
    add(name, 2, true, [sp](State &st) { bm_atomic_add(st, true, sp); });
}

static void register_all(const Options &o, const Plant &plant)
{
    if (o.limits) register_limits(o, plant);
    for (size_t n : o.sizes)
        for (Mix mix : o.mixes)
            for (Impl impl : {Impl::fast, Impl::peer, Impl::ref}) {
                if (!runs_at(o, impl, mix, n)) continue;
                for (Op op : ops_of(mix)) {
                    std::string base = std::string(impl_name(impl)) + "/" + op_name(op) + "/" +
                                       mix_name(mix) + "/" + std::to_string(n);
                    Spec s{impl, mix, n, op, std::max(1u, o.threads - 1), 0,
                           mix == Mix::random6 ? o.write_rate6 : o.write_rate};
                    if (op == Op::count_under_writes) {
                        s.spin = plant_for(plant, base + "/real_time");
                        add(base, 1, true, [s](State &st) { run_spec(st, s); });
                        continue;
                    }
                    s.spin = plant_for(plant, base);
                    add(base, 1, false, [s](State &st) { run_spec(st, s); });
                    if (o.threads > 1) {
                        Spec t = s;
                        t.spin = plant_for(plant, base + "/real_time/threads:" +
                                                      std::to_string(o.threads));
                        add(base, o.threads, true, [t](State &st) { run_spec(st, t); });
                    }
                }
            }
}

// ------------------------------------------------------------------ --check

// Holds fast, the peer and ref against each other on every mix: counts of
// every query kind, then again with fresh sessions open, then after they
// close.  The peer must be right for the comparison to mean anything.
static int self_check()
{
    int bad = 0;
    for (Mix mix : kMixes)
        for (size_t n : {(size_t)1000, (size_t)5000}) {
            std::unique_ptr<Workload> w(workload_build(mix, n));
            sc_table *fast = nullptr, *ref = nullptr;
            sc_table_new(sc_impl_fast(), nullptr, &fast);
            sc_table_new(sc_impl_ref(), nullptr, &ref);
            peer *pr = peer_new(peer_hint(*w));
            if (!fast || !ref || !pr) die("--check: out of memory");
            if (open_all<ScOps>(fast, *w) || open_all<ScOps>(ref, *w) || open_all<PeerOps>(pr, *w))
                die("--check: open failed");
            peer_settle(pr);
            uint64_t counts = 0;
            auto compare = [&](const char *stage) {
                const std::vector<Query> &q = w->qall;
                for (size_t i = 0; i < 1500 && bad < 10; i++) {
                    const Query &x = q[i];
                    unsigned bits = x.addr.family == SC_INET4 ? 32 : 128;
                    for (unsigned len : {(unsigned)x.len_short, (unsigned)x.len_any, bits,
                                         bits == 32 ? 24u : 48u, bits == 32 ? 16u : 64u}) {
                        sc_prefix p;
                        sc_prefix_make(&x.addr, len, &p);
                        uint64_t a = ScOps::count(fast, &p, x.svc), b = PeerOps::count(pr, &p, x.svc),
                                 c = ScOps::count(ref, &p, x.svc);
                        counts++;
                        if (a != c || b != c) {
                            char text[SC_PREFIX_TEXT_MAX];
                            sc_format_prefix(&p, text, sizeof text);
                            fprintf(stderr, "--check %s/%zu %s: %s svc %u: fast %llu, peer %llu, ref %llu\n",
                                    mix_name(mix), n, stage, text, (unsigned)x.svc,
                                    (unsigned long long)a, (unsigned long long)b, (unsigned long long)c);
                            bad++;
                        }
                    }
                    const Text &t = w->texts[i % w->texts.size()];
                    uint64_t a = ScOps::count_text(fast, t), b = PeerOps::count_text(pr, t),
                             c = ScOps::count_text(ref, t);
                    if (a != c || b != c) {
                        fprintf(stderr, "--check %s/%zu %s: count_text '%.*s' %s: fast %llu, peer %llu, ref %llu\n",
                                mix_name(mix), n, stage, (int)t.cidr_len, t.cidr, t.svc_name,
                                (unsigned long long)a, (unsigned long long)b, (unsigned long long)c);
                        bad++;
                    }
                }
                if (count_all<ScOps>(fast) != count_all<ScOps>(ref) ||
                    count_all<PeerOps>(pr) != count_all<ScOps>(ref)) {
                    fprintf(stderr, "--check %s/%zu %s: totals differ\n", mix_name(mix), n, stage);
                    bad++;
                }
            };
            compare("population");
            size_t entries_before = peer_entries(pr);
            const std::vector<Session> &f = w->fresh_for(1, 0);
            for (size_t i = 0; i < 2000; i++) {
                ScOps::open(fast, &f[i].raw, f[i].svc);
                ScOps::open(ref, &f[i].raw, f[i].svc);
                PeerOps::open(pr, &f[i].raw, f[i].svc);
            }
            compare("with 2000 fresh sessions open");
            for (size_t i = 0; i < 2000; i++) {
                sc_status a = ScOps::close(fast, &f[i].raw, f[i].svc);
                sc_status b = PeerOps::close(pr, &f[i].raw, f[i].svc);
                sc_status c = ScOps::close(ref, &f[i].raw, f[i].svc);
                if (a != SC_OK || b != SC_OK || c != SC_OK) bad++;
            }
            // A close of what is not open (0.0.0.1: no mix draws it) changes nothing.
            sc_addr none;
            const uint8_t none_bytes[4] = {0, 0, 0, 1};
            sc_addr_from_bytes(SC_INET4, none_bytes, &none);
            sc_status a = ScOps::close(fast, &none, SC_SERVICE_SMTP);
            sc_status b = PeerOps::close(pr, &none, SC_SERVICE_SMTP);
            sc_status c = ScOps::close(ref, &none, SC_SERVICE_SMTP);
            if (c != SC_E_NOT_OPEN) bad++;
            if (a != c || b != c) {
                fprintf(stderr, "--check %s/%zu: a close of what is not open: fast %d, peer %d, ref %d\n",
                        mix_name(mix), n, (int)a, (int)b, (int)c);
                bad++;
            }
            compare("after they closed");
            size_t entries = peer_entries(pr);
            if (entries != entries_before) {
                fprintf(stderr, "--check %s/%zu: the peer held %zu entries, %zu after the fresh "
                        "sessions opened and closed\n", mix_name(mix), n, entries_before, entries);
                bad++;
            }
            printf("--check %s/%zu: %llu counts agree (fast, peer, ref); peer holds %zu entries\n",
                   mix_name(mix), n, (unsigned long long)counts, entries);
            sc_table_free(fast);
            sc_table_free(ref);
            peer_free(pr);
        }
    printf("--check: %s\n", bad ? "FAILED" : "fast, the peer and ref agree");
    return bad ? 1 : 0;
}

// ------------------------------------------------------------------ progress

// The console reporter, showing only the median of repeated runs, with
// "[done/total elapsed]" in front of each line.
class Progress : public benchmark::ConsoleReporter {
public:
    Progress(OutputOptions opts, size_t total) : ConsoleReporter(opts), total_(total) {}

    void ReportRuns(const std::vector<Run> &runs) override
    {
        done_++;
        bool agg = false;
        for (const Run &r : runs) agg |= r.run_type == Run::RT_Aggregate;
        std::vector<Run> keep;
        for (const Run &r : runs)
            if (!agg || r.aggregate_name == "median") keep.push_back(r);
        ConsoleReporter::ReportRuns(keep);
    }

protected:
    void PrintRunData(const Run &r) override
    {
        char pre[64];
        double t = since(start_);
        snprintf(pre, sizeof pre, "[%4zu/%-4zu %2d:%02d] ", done_, total_, (int)t / 60, (int)t % 60);
        prefixed(pre, [&] { ConsoleReporter::PrintRunData(r); });
    }
    void PrintHeader(const Run &r) override
    {
        prefixed("                  ", [&] { ConsoleReporter::PrintHeader(r); });
    }

private:
    template <class F>
    void prefixed(const char *pre, F print)
    {
        std::ostream &out = GetOutputStream();
        std::ostringstream ss;
        SetOutputStream(&ss);
        print();
        SetOutputStream(&out);
        std::istringstream lines(ss.str());
        std::string line;
        while (std::getline(lines, line)) out << pre << line << '\n';
        out.flush();
    }

    size_t total_, done_ = 0;
    Clock::time_point start_ = Clock::now();
};

static size_t count_selected(const std::string &filter)
{
    std::string spec = filter.empty() || filter == "all" ? "." : filter;
    bool negative = spec[0] == '-';
    if (negative) spec.erase(0, 1);
    Regex re(spec);
    size_t n = 0;
    for (const std::string &name : g_names) n += re.search(name) != negative;
    return n;
}

}  // namespace scb

int main(int argc, char **argv)
{
    using namespace scb;
    Options o = parse_options(&argc, argv);
    start_benchmark(argc, argv, o.min_time);
    Plant plant = read_plant();
    if (plant.on) calibrate_spin();
    peer_thread_online();   // the main thread is benchmark thread 0
    if (o.check) {
        int rc = self_check();
        peer_thread_offline();
        return rc;
    }
    g_min_time = o.min_time;
    g_probe = o.probe;
    register_all(o, plant);

    std::string sizes;
    for (size_t n : o.sizes) sizes += (sizes.empty() ? "" : ",") + std::to_string(n);
    printf("sc_bench: sizes %s; threads %u; min time %.3g s; ref up to %zu, peer up to %zu "
           "(random6: %zu) sessions\n",
           sizes.c_str(), o.threads, o.min_time, o.ref_max, o.peer_max, o.peer_max6);
    if (plant.on)
        printf("sc_bench: SC_BENCH_PLANT: %.0f ns busy wait planted in matching benchmarks\n",
               plant.ns);
    fflush(stdout);

    size_t total = count_selected(benchmark::GetBenchmarkFilter());
    auto opts = isatty(STDOUT_FILENO) ? benchmark::ConsoleReporter::OO_ColorTabular
                                      : benchmark::ConsoleReporter::OO_Tabular;
    Progress display(opts, total);
    benchmark::RunSpecifiedBenchmarks(&display);
    free_pop();
    delete g_work;
    free_dram();
    benchmark::Shutdown();
    peer_thread_offline();
    return 0;
}
