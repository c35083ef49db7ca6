// sc_bench_pop.cc: sc_bench's populations of open sessions (acquire,
// free_pop, the peer's size hint) and limit/dram_miss's 1 GiB buffer
// (dram_probe walks it beside a population): a population is built once
// per process and impl, and freed when a benchmark needs another mix or
// size, so that one (mix, size) is alive at a time.
#include <sys/mman.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <vector>

#include "sc_bench.h"

namespace scb {

// One population per impl at most, all of one (mix, sessions): a process
// whose repetitions are shuffled (scripts/bench, 64K and fewer) switches
// between them without rebuilding.
static Pop *g_pops[3];
Workload *g_work;
DramBuf g_dram;

void free_dram()
{
    if (g_dram.base) munmap(g_dram.base, g_dram.size);
    g_dram = DramBuf();
}

static void free_one(Pop *&p)
{
    if (!p) return;
    if (p->tab) sc_table_free(p->tab);
    if (p->pr) peer_free(p->pr);
    delete p;
    p = nullptr;
}

void free_pop()
{
    for (Pop *&p : g_pops) free_one(p);
}

// About how many entries the peer will hold: a uniform population of n
// sessions shares its prefixes up to about log2(n) bits and holds one entry
// per session for each longer length.
size_t peer_hint(const Workload &w)
{
    auto per = [](size_t n, unsigned bits) -> size_t {
        unsigned lg = 0;
        while ((size_t(1) << lg) < n) lg++;
        return n * (bits + 1 > lg ? bits + 1 - lg : 1);
    };
    return per(w.n4, 32) + per(w.n6, 128) + 64;
}

Pop *acquire(Impl impl, Mix mix, size_t n)
{
    bool other = false;
    for (Pop *p : g_pops) other |= p && (p->mix != mix || p->n != n);
    if (other) free_pop();
    Pop *&mine = g_pops[(int)impl];
    if (g_work && (g_work->mix != mix || g_work->n != n)) {
        delete g_work;
        g_work = nullptr;
    }
    if (!g_work) {
        g_work = workload_build(mix, n);
        say("workload %s/%zu: %zu IPv4 + %zu IPv6 sessions, drawn in %.1f s", mix_name(mix), n,
            g_work->n4, g_work->n6, g_work->build_s);
    }
    if (mine) {
        // Every benchmark leaves the population as it found it.
        uint64_t total = impl == Impl::peer ? count_all<PeerOps>(mine->pr)
                                            : count_all<ScOps>(mine->tab);
        if (total != n)
            die(std::string(impl_name(impl)) + "/" + mix_name(mix) + "/" + std::to_string(n) +
                ": the population now counts " + std::to_string(total) + " sessions");
        return mine;
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
    mine = p;
    say("population %s/%s/%zu: built in %.1f s, %.1f bytes per session", impl_name(impl),
        mix_name(mix), n, since(t0), (double)p->bytes / (double)n);
    return p;
}

// One dependent load per iteration from a 1 GiB buffer allocated the way
// the fast table allocates (mmap + MADV_HUGEPAGE), walked as one random
// cycle over its cache lines.
void build_dram()
{
    if (g_dram.base) return;
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

double dram_probe(size_t loads)
{
    build_dram();
    void *p = g_dram.cursor;
    auto t0 = Clock::now();
    for (size_t k = 0; k < loads; k++) p = *static_cast<void **>(p);
    double s = since(t0);
    benchmark::DoNotOptimize(p);
    g_dram.cursor = p;
    return s * 1e9 / (double)loads;
}

}  // namespace scb
