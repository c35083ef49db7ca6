// sc_bench.cc: the Google Benchmark shim over sesscount's C API (fast, ref)
// and the peer (peer_lfht.c).  Only this file and workload.cc are C++; the
// code under test is C.  scripts/bench builds and runs it; README.md
// ("Benchmarks") documents the names, the mixes, the limits and the options.
//
// Names: <impl>/<op>/<mix>/<sessions> and limit/<what>, plus Google
// Benchmark's suffixes (/real_time, /threads:N).  Populations are built
// once per process, on the first benchmark that needs one, and freed when a
// benchmark needs another: benchmarks run in registration order, grouped by
// (sessions, mix, impl), so one population is alive at a time.
//
// Own flags (the rest go to Google Benchmark):
//   --sizes=LIST     populations, e.g. 1K,64K,1M,10M (K = 1000, M = 10^6)
//   --threads=N      the thread count of the /threads:N variants and
//                    count_under_writes (N - 1 writers, at least 1); default
//                    the number of CPUs; 1 drops the /threads variants
//   --min-time=S     each benchmark's minimum time (default 0.05)
//   --ref-max=N      largest population ref runs at (default 64K)
//   --peer-max=N     largest mta/random4 population the peer runs at (1M)
//   --peer-max6=N    largest random6 population the peer runs at (64K)
//   --check          runs no benchmark: holds fast, the peer and ref against
//                    each other on every mix (counts, opens, closes), exit 1
//                    on any difference
// Environment: SC_BENCH_PLANT=REGEX=NS adds a busy wait of about NS
// nanoseconds to every iteration of the benchmarks whose full name matches
// REGEX: a planted regression, to prove the compare gate.
#include <benchmark/benchmark.h>
#include <regex.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdarg>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern "C" {
#include "peer_lfht.h"
#include "sesscount.h"
}
#include "workload.h"

namespace scb {

using benchmark::State;
using Clock = std::chrono::steady_clock;

static double since(Clock::time_point t)
{
    return std::chrono::duration<double>(Clock::now() - t).count();
}

[[noreturn]] static void die(const std::string &why)
{
    fprintf(stderr, "sc_bench: %s\n", why.c_str());
    fflush(stdout);
    exit(1);
}

// ------------------------------------------------------------------ options

struct Options {
    std::vector<size_t> sizes{1000, 64000, 1000000, 10000000};
    unsigned threads = 0;
    double min_time = 0.05;
    size_t ref_max = 64000;
    size_t peer_max = 1000000;
    size_t peer_max6 = 64000;
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

// Takes our flags out of argv; the rest is Google Benchmark's.
static Options parse_options(int *argc, char **argv)
{
    Options o;
    int out = 1;
    for (int i = 1; i < *argc; i++) {
        std::string a = argv[i];
        auto val = [&](const char *name) -> const char * {
            size_t n = strlen(name);
            return a.compare(0, n, name) == 0 && a.size() > n && a[n] == '=' ? argv[i] + n + 1
                                                                             : nullptr;
        };
        const char *v;
        if ((v = val("--sizes"))) o.sizes = parse_sizes(v);
        else if ((v = val("--threads"))) o.threads = (unsigned)std::max(1, atoi(v));
        else if ((v = val("--min-time"))) o.min_time = atof(v);
        else if ((v = val("--ref-max"))) o.ref_max = parse_size(v);
        else if ((v = val("--peer-max6"))) o.peer_max6 = parse_size(v);
        else if ((v = val("--peer-max"))) o.peer_max = parse_size(v);
        else if (a == "--check") o.check = true;
        else argv[out++] = argv[i];
    }
    *argc = out;
    argv[out] = nullptr;
    if (o.threads == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        o.threads = n > 0 ? (unsigned)n : 1;
    }
    if (o.threads > 64) o.threads = 64;
    if (o.min_time <= 0) die("--min-time must be positive");
    return o;
}

// ------------------------------------------------------------------ planted regressions

static double g_spin_per_ns = 0;   // spin iterations per nanosecond

static inline void spin(uint64_t iters)
{
    for (uint64_t k = 0; k < iters; k++) __asm__ __volatile__("");
}

static void calibrate_spin()
{
    const uint64_t n = 200000000;
    auto t = Clock::now();
    spin(n);
    g_spin_per_ns = (double)n / (since(t) * 1e9);
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

struct Plant {
    std::unique_ptr<Regex> re;
    double ns = 0;
    bool on = false;
};

static Plant read_plant()
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

// ------------------------------------------------------------------ implementations

enum class Impl { fast, peer, ref };

static const char *impl_name(Impl i)
{
    return i == Impl::fast ? "fast" : i == Impl::peer ? "peer" : "ref";
}

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

// ------------------------------------------------------------------ populations

struct Pop {
    Impl impl;
    Mix mix;
    size_t n;
    sc_table *tab = nullptr;
    peer *pr = nullptr;
    size_t bytes = 0;
};

static Pop *g_pop;
static Workload *g_work;

struct DramBuf {
    void *base = nullptr;
    size_t size = 0;
    void *cursor = nullptr;
    double thp = 0;
};
static DramBuf g_dram;

static void free_dram()
{
    if (g_dram.base) munmap(g_dram.base, g_dram.size);
    g_dram = DramBuf();
}

static void free_pop()
{
    if (!g_pop) return;
    if (g_pop->tab) sc_table_free(g_pop->tab);
    if (g_pop->pr) peer_free(g_pop->pr);
    delete g_pop;
    g_pop = nullptr;
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("  .. ", stdout);
    vprintf(fmt, ap);
    fputc('\n', stdout);
    va_end(ap);
    fflush(stdout);
}

// About how many entries the peer will hold: a uniform population of n
// sessions shares its prefixes up to about log2(n) bits and holds one entry
// per session for each longer length.
static size_t peer_hint(const Workload &w)
{
    auto per = [](size_t n, unsigned bits) -> size_t {
        unsigned lg = 0;
        while ((size_t(1) << lg) < n) lg++;
        return n * (bits + 1 > lg ? bits + 1 - lg : 1);
    };
    return per(w.n4, 32) + per(w.n6, 128) + 64;
}

template <class O, class T>
static sc_status open_all(T *t, const Workload &w)
{
    for (const Session &s : w.sessions) {
        sc_status st = O::open(t, &s.raw, s.svc);
        if (st != SC_OK) return st;
    }
    return SC_OK;
}

// Every session counted once: the /0 of each family and service.
template <class O, class T>
static uint64_t count_all(T *t)
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

static Pop *acquire(Impl impl, Mix mix, size_t n)
{
    free_dram();
    if (g_pop && (g_pop->impl != impl || g_pop->mix != mix || g_pop->n != n)) free_pop();
    if (g_work && (g_work->mix != mix || g_work->n != n)) {
        delete g_work;
        g_work = nullptr;
    }
    if (!g_work) {
        g_work = workload_build(mix, n);
        say("workload %s/%zu: %zu IPv4 + %zu IPv6 sessions, drawn in %.1f s", mix_name(mix), n,
            g_work->n4, g_work->n6, g_work->build_s);
    }
    if (g_pop) {
        // Every benchmark leaves the population as it found it.
        uint64_t total = impl == Impl::peer ? count_all<PeerOps>(g_pop->pr)
                                            : count_all<ScOps>(g_pop->tab);
        if (total != n)
            die(std::string(impl_name(impl)) + "/" + mix_name(mix) + "/" + std::to_string(n) +
                ": the population now counts " + std::to_string(total) + " sessions");
        return g_pop;
    }

    auto t0 = Clock::now();
    Pop *p = new Pop{impl, mix, n};
    sc_status st;
    uint64_t total;
    if (impl == Impl::peer) {
        p->pr = peer_new(peer_hint(*g_work));
        if (!p->pr) die("peer_new: out of memory");
        st = open_all<PeerOps>(p->pr, *g_work);
        p->bytes = peer_settle(p->pr);
        total = count_all<PeerOps>(p->pr);
    } else {
        if (sc_table_new(impl == Impl::fast ? sc_impl_fast() : sc_impl_ref(), nullptr, &p->tab) !=
            SC_OK)
            die("sc_table_new failed");
        st = open_all<ScOps>(p->tab, *g_work);
        p->bytes = sc_table_bytes(p->tab);
        total = count_all<ScOps>(p->tab);
    }
    if (st != SC_OK) die(std::string("open while building a population: ") + sc_strerror(st));
    if (total != n)
        die(std::string(impl_name(impl)) + ": a population of " + std::to_string(n) +
            " sessions counts " + std::to_string(total));
    g_pop = p;
    say("population %s/%s/%zu: built in %.1f s, %.1f bytes per session", impl_name(impl),
        mix_name(mix), n, since(t0), (double)p->bytes / (double)n);
    return p;
}

// ------------------------------------------------------------------ benchmark bodies

enum class Op {
    count_rel24, count_rel32, count_rel48, count_rel64, count_rel128,
    count_short, count_prefix, count_text, open_close, mta_loop, count_under_writes
};

static const char *op_name(Op op)
{
    static const char *names[] = {"count_rel24", "count_rel32",  "count_rel48", "count_rel64",
                                  "count_rel128", "count_short", "count_prefix", "count_text",
                                  "open_close",  "mta_loop",     "count_under_writes"};
    return names[(int)op];
}

struct Spec {
    Impl impl;
    Mix mix;
    size_t n;
    Op op;
    unsigned writers;      // count_under_writes
    uint64_t spin;         // planted busy wait, iterations (0: none)
};

// What thread 0 prepares before the threads pass the start barrier
// (State::begin()); the others read it after.
struct Ctx {
    Pop *pop;
    Workload *w;
};
static Ctx g_ctx;

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
// counted as items) open and close sessions inside it the whole time.
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
            while (!stop.load(std::memory_order_relaxed)) {
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

static void run_spec(State &st, const Spec &sp)
{
    if (sp.impl == Impl::peer) dispatch<PeerOps>(st, sp);
    else dispatch<ScOps>(st, sp);
}

// ------------------------------------------------------------------ the limits

// One dependent load per iteration from a 1 GiB buffer allocated the way
// the fast table allocates (mmap + MADV_HUGEPAGE), walked as one random
// cycle over its cache lines.
static void build_dram()
{
    if (g_dram.base) return;
    free_pop();
    delete g_work;
    g_work = nullptr;
    auto t0 = Clock::now();
    size_t size = (size_t)1 << 30;
    void *p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) die("mmap of the 1 GiB dram_miss buffer failed");
    (void)madvise(p, size, MADV_HUGEPAGE);
    size_t lines = size / 64;
    std::vector<uint32_t> perm(lines);
    for (size_t k = 0; k < lines; k++) perm[k] = (uint32_t)k;
    Rng rng(0x6472616d /* "dram" */);
    for (size_t k = lines - 1; k > 0; k--) std::swap(perm[k], perm[rng.below(k)]);  // Sattolo
    char *base = static_cast<char *>(p);
    for (size_t k = 0; k < lines; k++)
        *reinterpret_cast<void **>(base + (size_t)perm[k] * 64) = base + (size_t)perm[(k + 1) % lines] * 64;
    g_dram.base = p;
    g_dram.size = size;
    g_dram.cursor = p;
    // How much of it the kernel backed with huge pages.
    std::ifstream smaps("/proc/self/smaps");
    std::string line;
    bool in = false;
    char start_hex[32];
    snprintf(start_hex, sizeof start_hex, "%lx-", (unsigned long)(uintptr_t)p);
    while (std::getline(smaps, line)) {
        if (line.compare(0, strlen(start_hex), start_hex) == 0) in = true;
        else if (in && line.compare(0, 14, "AnonHugePages:") == 0) {
            g_dram.thp = atof(line.c_str() + 14) * 1024.0 / (double)size;
            break;
        }
    }
    say("limit/dram_miss: 1 GiB buffer built in %.1f s, %.0f%% on huge pages", since(t0),
        g_dram.thp * 100);
}

static void bm_dram_miss(State &st, uint64_t spin_iters)
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
static void bm_dram_miss_threads(State &st)
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

static void bm_atomic_add(State &st, std::atomic<uint64_t> *target, uint64_t spin_iters)
{
    for (auto _ : st) {
        benchmark::DoNotOptimize(target->fetch_add(1));
        if (spin_iters) spin(spin_iters);
    }
    st.SetItemsProcessed(st.iterations());
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

static uint64_t plant_for(const Plant &plant, const std::string &name)
{
    if (!plant.on || !plant.re->search(name)) return 0;
    return (uint64_t)(plant.ns * g_spin_per_ns) + 1;
}

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

static void register_all(const Options &o, const Plant &plant)
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
    add(name, 1, false, [sp](State &st) { bm_atomic_add(st, &g_line, sp); });
    name = "limit/atomic_add_contended";
    sp = plant_for(plant, name + "/real_time/threads:2");
    add(name, 2, true, [sp](State &st) { bm_atomic_add(st, &g_shared_line, sp); });

    for (size_t n : o.sizes)
        for (Mix mix : kMixes)
            for (Impl impl : {Impl::fast, Impl::peer, Impl::ref}) {
                if (!runs_at(o, impl, mix, n)) continue;
                for (Op op : ops_of(mix)) {
                    std::string base = std::string(impl_name(impl)) + "/" + op_name(op) + "/" +
                                       mix_name(mix) + "/" + std::to_string(n);
                    Spec s{impl, mix, n, op, std::max(1u, o.threads - 1), 0};
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

// The host decides how its allocator backs memory: this one asks jemalloc
// (linked into the benchmark, never into the library) for transparent huge
// pages, which this machine grants only on request (THP "madvise"), so that
// trie nodes sit on 2 MiB pages like the table's top and limit/dram_miss's
// buffer.  Without jemalloc the symbol is unused.
// It also keeps freed pages mapped (no decay): one run builds and frees
// several 10M populations, and pages purged from one population come back
// to the next as 4 KiB pages, which made the same counts up to 45% slower
// (mta count_rel128 10M: 249 ns after random4's population, 170 ns with no
// purging, on one machine in one hour).
extern "C" {
extern const char *malloc_conf;
const char *malloc_conf = "thp:always,metadata_thp:auto,dirty_decay_ms:-1,muzzy_decay_ms:-1";
}

int main(int argc, char **argv)
{
    using namespace scb;
    Options o = parse_options(&argc, argv);
    // --min-time becomes Google Benchmark's own flag (a per-benchmark
    // MinTime() would change the names), unless that flag is given.
    std::vector<char *> args(argv, argv + argc);
    std::string min_time_flag = "--benchmark_min_time=" + std::to_string(o.min_time);
    bool has_min_time = false;
    for (int i = 1; i < argc; i++) has_min_time |= strncmp(argv[i], "--benchmark_min_time", 20) == 0;
    if (!has_min_time) args.insert(args.begin() + 1, &min_time_flag[0]);
    args.push_back(nullptr);
    argc = (int)args.size() - 1;
    argv = args.data();
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;
    Plant plant = read_plant();
    if (plant.on) calibrate_spin();
    peer_thread_online();   // the main thread is benchmark thread 0
    if (o.check) {
        int rc = self_check();
        peer_thread_offline();
        return rc;
    }
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
