// workload.h: the seeded populations and query arrays the benchmarks run on.
//
// A workload is one (mix, sessions) pair: the sessions to open, and arrays
// drawn ahead of time so that generating them is never timed:
//   q4, q6, qall  query addresses drawn uniformly from the open sessions (the
//                 IPv4 ones, the IPv6 ones, any), each with the session's
//                 service and two random lengths (0-16; 0-32 or 0-128);
//   texts         CIDR texts and service names for count_text;
//   fresh         addresses not drawn from the population (but from its mix)
//                 for open_close and mta_loop, per thread;
//   hot           the prefix count_under_writes counts and its writers churn.
// Every generator is seeded from (mix, sessions, purpose), so every run
// measures the same work.
#ifndef SC_BENCH_WORKLOAD_H
#define SC_BENCH_WORKLOAD_H

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "sesscount.h"

namespace scb {

enum class Mix { mta, random4, random6 };
const char *mix_name(Mix m);
extern const Mix kMixes[3];

// splitmix64: small, fast, and good enough for drawing addresses.
class Rng {
public:
    explicit Rng(uint64_t seed) : s_(seed) {}
    uint64_t next()
    {
        uint64_t z = (s_ += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }
    // Uniform in [0, n).
    uint64_t below(uint64_t n) { return (uint64_t)(((unsigned __int128)next() * n) >> 64); }
    double unit() { return (double)(next() >> 11) * 0x1.0p-53; }

private:
    uint64_t s_;
};

// One session as the listener reports it: `raw` may be an IPv4-mapped IPv6
// address (a dual-stack listener); `norm` is the address sesscount counts.
struct Session {
    sc_addr raw;
    sc_addr norm;
    sc_service svc;
};

struct Query {
    sc_addr addr;          // normalised (IPv4-mapped peers are IPv4)
    sc_service svc;
    uint8_t len_short;     // 0-16
    uint8_t len_any;       // 0-32 or 0-128
};

struct Text {
    char cidr[SC_PREFIX_TEXT_MAX + 4];
    uint8_t cidr_len;
    uint8_t svc_len;
    const char *svc_name;
    sc_addr connecting;
};

// Draws sessions of one mix.
class MixGen {
public:
    MixGen(Mix mix, uint64_t seed);
    Session draw();
    // A session whose counted /16 is congruent to `cls` modulo `classes`
    // (disjoint /16s per thread).
    Session draw_in_class(unsigned cls, unsigned classes);
    // The prefix count_under_writes counts, and an address inside it.
    sc_prefix hot_prefix(const Session &any_session) const;
    Session in_prefix(const sc_prefix &p, sc_service svc);

private:
    Mix mix_;
    Rng rng_;
    std::vector<uint32_t> busy4_;      // /24 bases
    std::vector<uint64_t> busy6_;      // /48 bases (top 64 bits, low 16 zero)
    std::vector<double> zipf4_, zipf6_;
    size_t pick(const std::vector<double> &cdf);
    uint32_t public_v4();
};

struct Workload {
    Mix mix;
    size_t n;
    std::vector<Session> sessions;
    std::vector<Query> q4, q6, qall;   // power-of-two sizes (or empty)
    std::vector<Text> texts;           // power-of-two size
    sc_prefix hot;                     // count_under_writes
    sc_service hot_svc;
    size_t n4 = 0, n6 = 0;             // sessions per counted family
    // fresh[T][t]: thread t's addresses when T threads run (disjoint /16s).
    std::map<unsigned, std::vector<std::vector<Session>>> fresh;
    double build_s = 0;

    const std::vector<Session> &fresh_for(unsigned threads, unsigned t);
    std::vector<Session> writer_addrs(unsigned writer);
};

Workload *workload_build(Mix mix, size_t n);

// "64K" -> 64000, "10M" -> 10000000; 0 when the text is no size.
size_t size_from_text(const std::string &s);
// "1K,64K" -> {1000, 64000}, sorted; empty when any item is no size.
std::vector<size_t> sizes_from_text(const std::string &list);
// The non-empty items of a comma-separated list.
std::vector<std::string> items_from_text(const std::string &list);

}  // namespace scb

#endif
