// workload.cc: the address mixes and the arrays drawn from them.
//
// mta (what an MTA's listeners see; SPEC "Benchmarks"):
//   40%  busy IPv4 senders: 32 /24s (large providers' outbound pools), picked
//        with Zipf weights 1/rank, any host in the /24 (many sessions share
//        an address);
//   40%  one-off IPv4 peers, uniform over public unicast space (first octet
//        1-223, not 10 or 127);
//   10%  busy IPv6 senders: 16 /48s in 2000::/3 (Zipf), one of 16 /64s each,
//        interface ids 1-256;
//   10%  one-off IPv6 peers, uniform in 2000::/3;
//   a quarter of the IPv4 sessions arrive IPv4-mapped (::ffff:a.b.c.d) from
//   dual-stack listeners; services SMTP 80%, ECStream 15%, Control 5%.
// random4: uniform IPv4 over all 2^32 addresses, SMTP.
// random6: uniform IPv6 over all 2^128 addresses (never IPv4-mapped), SMTP.
#include "workload.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>

namespace scb {

const Mix kMixes[3] = {Mix::mta, Mix::random4, Mix::random6};

const char *mix_name(Mix m)
{
    switch (m) {
    case Mix::mta: return "mta";
    case Mix::random4: return "random4";
    case Mix::random6: return "random6";
    }
    return "?";
}

static void put_be32(uint8_t *b, uint32_t v)
{
    b[0] = (uint8_t)(v >> 24);
    b[1] = (uint8_t)(v >> 16);
    b[2] = (uint8_t)(v >> 8);
    b[3] = (uint8_t)v;
}

static void put_be64(uint8_t *b, uint64_t v)
{
    put_be32(b, (uint32_t)(v >> 32));
    put_be32(b + 4, (uint32_t)v);
}

static sc_addr v4(uint32_t a)
{
    sc_addr r;
    memset(&r, 0, sizeof r);
    r.family = SC_INET4;
    put_be32(r.bytes, a);
    return r;
}

static sc_addr v6(uint64_t hi, uint64_t lo)
{
    sc_addr r;
    r.family = SC_INET6;
    put_be64(r.bytes, hi);
    put_be64(r.bytes + 8, lo);
    return r;
}

static sc_addr mapped(uint32_t a)
{
    sc_addr r;
    memset(&r, 0, sizeof r);
    r.family = SC_INET6;
    r.bytes[10] = r.bytes[11] = 0xff;
    put_be32(r.bytes + 12, a);
    return r;
}

static Session session(const sc_addr &raw, sc_service svc)
{
    Session s;
    s.raw = raw;
    sc_addr_from_bytes(raw.family, raw.bytes, &s.norm);
    s.svc = svc;
    return s;
}

static std::vector<double> zipf_cdf(size_t n)
{
    std::vector<double> cdf(n);
    double sum = 0;
    for (size_t i = 0; i < n; i++) cdf[i] = (sum += 1.0 / (double)(i + 1));
    for (auto &c : cdf) c /= sum;
    return cdf;
}

MixGen::MixGen(Mix mix, uint64_t seed) : mix_(mix), rng_(seed)
{
    if (mix != Mix::mta) return;
    // The busy networks are the same in every mta workload.
    Rng fixed(0x6d7461 /* "mta" */);
    Rng keep = rng_;
    rng_ = fixed;
    for (int i = 0; i < 32; i++) busy4_.push_back(public_v4() & 0xFFFFFF00u);
    for (int i = 0; i < 16; i++)
        busy6_.push_back((0x2000000000000000ULL | (rng_.next() >> 3)) & ~0xFFFFULL);
    rng_ = keep;
    zipf4_ = zipf_cdf(busy4_.size());
    zipf6_ = zipf_cdf(busy6_.size());
}

size_t MixGen::pick(const std::vector<double> &cdf)
{
    double u = rng_.unit();
    size_t i = 0;
    while (i + 1 < cdf.size() && cdf[i] < u) i++;
    return i;
}

uint32_t MixGen::public_v4()
{
    for (;;) {
        uint32_t a = (uint32_t)rng_.next();
        unsigned o = a >> 24;
        if (o >= 1 && o <= 223 && o != 10 && o != 127) return a;
    }
}

Session MixGen::draw()
{
    switch (mix_) {
    case Mix::random4:
        return session(v4((uint32_t)rng_.next()), SC_SERVICE_SMTP);
    case Mix::random6:
        for (;;) {
            uint64_t hi = rng_.next(), lo = rng_.next();
            if (hi == 0 && (lo >> 32) == 0xFFFF) continue;   // IPv4-mapped
            return session(v6(hi, lo), SC_SERVICE_SMTP);
        }
    case Mix::mta:
        break;
    }
    double s = rng_.unit();
    sc_service svc = s < 0.80 ? SC_SERVICE_SMTP : s < 0.95 ? SC_SERVICE_ECSTREAM : SC_SERVICE_CONTROL;
    double c = rng_.unit();
    if (c < 0.80) {
        uint32_t a = c < 0.40 ? busy4_[pick(zipf4_)] | (uint32_t)rng_.below(256) : public_v4();
        return session(rng_.below(4) == 0 ? mapped(a) : v4(a), svc);
    }
    if (c < 0.90) {
        uint64_t hi = busy6_[pick(zipf6_)] | rng_.below(16);
        return session(v6(hi, 1 + rng_.below(256)), svc);
    }
    return session(v6(0x2000000000000000ULL | (rng_.next() >> 3), rng_.next()), svc);
}

static unsigned top16(const sc_addr &a)
{
    return (unsigned)a.bytes[0] << 8 | a.bytes[1];
}

Session MixGen::draw_in_class(unsigned cls, unsigned classes)
{
    for (;;) {
        Session s = draw();
        if (classes <= 1 || top16(s.norm) % classes == cls) return s;
    }
}

sc_prefix MixGen::hot_prefix(const Session &any) const
{
    sc_prefix p;
    if (mix_ == Mix::mta) {
        sc_addr a = v4(busy4_[0]);
        sc_prefix_make(&a, 24, &p);
    } else {
        sc_prefix_make(&any.norm, any.norm.family == SC_INET4 ? 24 : 48, &p);
    }
    return p;
}

Session MixGen::in_prefix(const sc_prefix &p, sc_service svc)
{
    sc_addr a = p.addr;
    unsigned nbytes = a.family == SC_INET4 ? 4 : 16;
    for (unsigned i = 0; i < nbytes; i++) {
        unsigned bits_before = i * 8;
        uint8_t r = (uint8_t)rng_.next();
        if (bits_before >= p.len) a.bytes[i] = r;
        else if (bits_before + 8 > p.len) {
            uint8_t keep = (uint8_t)(0xFF00u >> (p.len - bits_before));
            a.bytes[i] = (uint8_t)((a.bytes[i] & keep) | (r & ~keep));
        }
    }
    return session(a, svc);
}

static size_t pow2_between(size_t want, size_t lo, size_t hi)
{
    size_t s = lo;
    while (s < want && s < hi) s <<= 1;
    return s;
}

static uint64_t seed_of(Mix mix, size_t n, uint64_t purpose)
{
    Rng r(((uint64_t)mix + 1) * 0x100000001b3ULL ^ (uint64_t)n * 0x9e3779b97f4a7c15ULL ^ purpose);
    return r.next();
}

static Query query_of(const Session &s, Rng &rng)
{
    Query q;
    q.addr = s.norm;
    q.svc = s.svc;
    q.len_short = (uint8_t)rng.below(17);
    q.len_any = (uint8_t)rng.below(s.norm.family == SC_INET4 ? 33 : 129);
    return q;
}

static Text text_of(const Query &q, Rng &rng)
{
    Text t;
    memset(&t, 0, sizeof t);
    bool is4 = q.addr.family == SC_INET4;
    unsigned len = is4 ? 24 : 64;
    if (rng.below(2) == 0) {
        // Relative: "/24" of the connecting IP.
        t.cidr_len = (uint8_t)snprintf(t.cidr, sizeof t.cidr, "/%u", len);
    } else {
        // Explicit: the peer's full address and a mask, host bits and all.
        sc_prefix whole;
        sc_prefix_make(&q.addr, is4 ? 32 : 128, &whole);
        char buf[SC_PREFIX_TEXT_MAX];
        size_t n = sc_format_prefix(&whole, buf, sizeof buf);
        while (n > 0 && buf[n - 1] != '/') n--;
        t.cidr_len = (uint8_t)snprintf(t.cidr, sizeof t.cidr, "%.*s%u", (int)n, buf, len);
    }
    t.svc_name = sc_builtin_service_name(q.svc);
    t.svc_len = (uint8_t)strlen(t.svc_name);
    t.connecting = q.addr;
    return t;
}

size_t size_from_text(const std::string &s)
{
    char *end = nullptr;
    double v = strtod(s.c_str(), &end);
    std::string suf = end ? end : "";
    if (suf == "K" || suf == "k") v *= 1e3;
    else if (suf == "M" || suf == "m") v *= 1e6;
    else if (!suf.empty()) return 0;
    return v < 1 ? 0 : (size_t)v;
}

std::vector<std::string> items_from_text(const std::string &list)
{
    std::vector<std::string> v;
    size_t at = 0;
    while (at <= list.size()) {
        size_t comma = list.find(',', at);
        std::string item = list.substr(at, comma == std::string::npos ? std::string::npos : comma - at);
        if (!item.empty()) v.push_back(item);
        if (comma == std::string::npos) break;
        at = comma + 1;
    }
    return v;
}

std::vector<size_t> sizes_from_text(const std::string &list)
{
    std::vector<size_t> v;
    for (const std::string &item : items_from_text(list)) {
        size_t n = size_from_text(item);
        if (!n) return {};
        v.push_back(n);
    }
    std::sort(v.begin(), v.end());
    return v;
}

Workload *workload_build(Mix mix, size_t n)
{
    auto start = std::chrono::steady_clock::now();
    Workload *w = new Workload();
    w->mix = mix;
    w->n = n;
    MixGen gen(mix, seed_of(mix, n, 1));
    w->sessions.reserve(n);
    for (size_t i = 0; i < n; i++) {
        w->sessions.push_back(gen.draw());
        (w->sessions.back().norm.family == SC_INET4 ? w->n4 : w->n6)++;
    }

    Rng rng(seed_of(mix, n, 2));
    size_t nq = pow2_between(4 * n, 16384, 1u << 20);
    auto fill = [&](std::vector<Query> &q, int family) {
        if ((family == SC_INET4 && w->n4 == 0) || (family == SC_INET6 && w->n6 == 0)) return;
        q.reserve(nq);
        while (q.size() < nq) {
            const Session &s = w->sessions[rng.below(n)];
            if (family == 0 || s.norm.family == family) q.push_back(query_of(s, rng));
        }
    };
    fill(w->q4, SC_INET4);
    fill(w->q6, SC_INET6);
    fill(w->qall, 0);
    size_t nt = nq / 4;
    w->texts.reserve(nt);
    for (size_t i = 0; i < nt; i++) w->texts.push_back(text_of(w->qall[i], rng));

    const Session &any = w->sessions[rng.below(n)];
    w->hot = gen.hot_prefix(any);
    w->hot_svc = SC_SERVICE_SMTP;
    w->build_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return w;
}

static const size_t kFresh = 1u << 18;

const std::vector<Session> &Workload::fresh_for(unsigned threads, unsigned t)
{
    auto &per = fresh[threads];
    if (per.empty()) {
        per.resize(threads);
        for (unsigned i = 0; i < threads; i++) {
            MixGen gen(mix, seed_of(mix, n, 0x100 + threads * 64 + i));
            per[i].reserve(kFresh);
            for (size_t k = 0; k < kFresh; k++) per[i].push_back(gen.draw_in_class(i, threads));
        }
    }
    return per[t];
}

std::vector<Session> Workload::writer_addrs(unsigned writer)
{
    MixGen gen(mix, seed_of(mix, n, 0x10000 + writer));
    std::vector<Session> v;
    for (int i = 0; i < 4096; i++) v.push_back(gen.in_prefix(hot, hot_svc));
    return v;
}

}  // namespace scb
