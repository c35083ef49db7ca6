// bench_main.cc: what sc_bench and sc_series_bench share (bench_main.h),
// and the jemalloc configuration both binaries run with.
#include "bench_main.h"

#include <benchmark/benchmark.h>

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace scb {

double since(Clock::time_point t)
{
    return std::chrono::duration<double>(Clock::now() - t).count();
}

const char *impl_name(Impl i)
{
    return i == Impl::fast ? "fast" : i == Impl::peer ? "peer" : "ref";
}

void die(const std::string &why)
{
    fprintf(stderr, "%s: %s\n", g_program, why.c_str());
    fflush(stdout);
    exit(1);
}

void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("  .. ", stdout);
    vprintf(fmt, ap);
    fputc('\n', stdout);
    va_end(ap);
    fflush(stdout);
}

const char *flag_value(const char *arg, const char *name)
{
    size_t n = strlen(name);
    return strncmp(arg, name, n) == 0 && arg[n] == '=' ? arg + n + 1 : nullptr;
}

void take_flags(int *argc, char **argv, const std::function<bool(const char *arg)> &ours)
{
    int out = 1;
    for (int i = 1; i < *argc; i++)
        if (!ours(argv[i])) argv[out++] = argv[i];
    *argc = out;
    argv[out] = nullptr;
}

void start_benchmark(int argc, char **argv, double min_time)
{
    // Google Benchmark keeps pointers into its argv: both live to the end.
    static std::vector<char *> args;
    static std::string min_time_flag;
    if (min_time <= 0) die("--min-time must be positive");
    args.assign(argv, argv + argc);
    min_time_flag = "--benchmark_min_time=" + std::to_string(min_time);
    bool has_min_time = false;
    for (int i = 1; i < argc; i++) has_min_time |= strncmp(argv[i], "--benchmark_min_time", 20) == 0;
    if (!has_min_time) args.insert(args.begin() + 1, &min_time_flag[0]);
    args.push_back(nullptr);
    int n = (int)args.size() - 1;
    benchmark::Initialize(&n, args.data());
    if (benchmark::ReportUnrecognizedArguments(n, args.data())) exit(2);
}

}  // namespace scb

// The host decides how its allocator backs memory: both binaries ask
// jemalloc (linked into the benchmarks, never into the library) for
// transparent huge pages, which this machine grants only on request (THP
// "madvise"), so that trie nodes sit on 2 MiB pages like the table's top and
// limit/dram_miss's buffer.  Without jemalloc the symbol is unused.
// It also keeps freed pages mapped (no decay): one run builds and frees
// several 10M populations, and pages purged from one population come back
// to the next as 4 KiB pages, which made the same counts up to 45% slower
// (mta count_rel128 10M: 249 ns after random4's population, 170 ns with no
// purging, on one machine in one hour).  It is defined here, in the object
// both mains call into, so that it is linked into both.
extern "C" {
// jemalloc's control interface; weak, so that a build without jemalloc
// links and release_freed_memory does nothing.
int mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen)
    __attribute__((weak));
extern const char *malloc_conf;
const char *malloc_conf = "thp:always,metadata_thp:auto,dirty_decay_ms:-1,muzzy_decay_ms:-1";
}

void scb::release_freed_memory()
{
    // "arena.4096.purge": 4096 is MALLCTL_ARENAS_ALL (jemalloc 5).
    if (mallctl) mallctl("arena.4096.purge", nullptr, nullptr, nullptr, 0);
}
