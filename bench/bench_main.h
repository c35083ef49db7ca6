// bench_main.h: what sc_bench and sc_series_bench share (bench_main.cc):
// the implementation names, the messages (die, say), taking their own flags
// out of argv, and handing the rest to Google Benchmark with --min-time.
#ifndef SC_BENCH_BENCH_MAIN_H
#define SC_BENCH_BENCH_MAIN_H

#include <chrono>
#include <functional>
#include <string>

namespace scb {

using Clock = std::chrono::steady_clock;

// Seconds since t.
double since(Clock::time_point t);

enum class Impl { fast, peer, ref };
const char *impl_name(Impl i);

// The binary's name, which die() puts in front of its message: each binary
// defines it.
extern const char *const g_program;

// "<program>: why" on stderr, exit 1.
[[noreturn]] void die(const std::string &why);

// "  .. " and the message on stdout, a line of its own, flushed.
void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

// VALUE when arg is "NAME=VALUE", else nullptr.
const char *flag_value(const char *arg, const char *name);

// Takes the binary's own flags out of argv (argv[*argc] becomes nullptr):
// `ours` is shown each argument after argv[0] and says whether it took it;
// what it did not take stays, in order, for Google Benchmark.
void take_flags(int *argc, char **argv, const std::function<bool(const char *arg)> &ours);

// Starts Google Benchmark on what take_flags left: --min-time=S (dies
// unless positive) becomes its --benchmark_min_time=S (a per-benchmark
// MinTime() would change the names) unless that flag is given.  Exits 2
// when an argument is unknown (Google Benchmark reports it).
void start_benchmark(int argc, char **argv, double min_time);

// Hands the pages of freed memory back to the system: jemalloc's dirty
// pages, every arena (a no-op without jemalloc).  For a binary that frees
// a population and builds the next in one process: with the no-decay
// configuration below (bench_main.cc) jemalloc keeps freed pages but does
// not coalesce them, so the next population's larger extents are taken
// afresh and the resident set grows by a population a rebuild.
void release_freed_memory();

}  // namespace scb

#endif
