/*
 * sc_table.c: the public table functions.  They check arguments once, here,
 * and dispatch through the table's operations table, so ref and fast share
 * every rule that is not about storing sessions.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include "sc_rcu.h"

#include "../fast/sc_tsan.h"   /* RCU's order, told to TSan */
#include "sc_internal.h"
#include "sc_journal.h"

const char *sc_impl_name(const sc_impl *impl)
{
    return impl ? impl->name : NULL;
}

/* A key nobody else knows: the kernel's randomness, or, failing that, bits
 * of the clock and of addresses (still unknown to a remote sender). */
static void random_key(uint8_t key[16])
{
    if (getrandom(key, 16, GRND_NONBLOCK) == 16) return;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t a = (uint64_t)ts.tv_nsec ^ (uint64_t)(uintptr_t)key, b = (uint64_t)ts.tv_sec ^
                 (uint64_t)(uintptr_t)&ts << 17;
    memcpy(key, &a, 8);
    memcpy(key + 8, &b, 8);
}

sc_status sc_table_new(const sc_impl *impl, const sc_options *opts, sc_table **out)
{
    if (!out) return SC_E_INVALID;
    if (!impl) impl = sc_impl_fast();
    sc_registry reg;
    sc_status st = sc_registry_init(&reg, opts);
    if (st != SC_OK) return st;
    sc_table *tab = NULL;
    st = impl->table_new(SC_SERVICE_FIRST_EXTRA + reg.n_extra, &tab);
    if (st != SC_OK) {
        sc_registry_fini(&reg);
        return st;
    }
    tab->impl = impl;
    tab->reg = reg;
    tab->n_services = SC_SERVICE_FIRST_EXTRA + reg.n_extra;
    tab->clock = opts ? opts->clock : NULL;
    tab->clock_arg = opts ? opts->clock_arg : NULL;
    tab->series = NULL;
    atomic_init(&tab->events, NULL);
    atomic_init(&tab->view, NULL);
    tab->journal = NULL;
    random_key(tab->hash_key);
    bool journal = opts && (opts->clustering || opts->join_later);
    if ((journal && sc_journal_new(&tab->journal) != SC_OK) ||
        pthread_mutex_init(&tab->series_lock, NULL) != 0) {
        sc_journal_free(tab->journal);
        impl->table_free(tab);
        sc_registry_fini(&reg);
        return SC_E_NOMEM;
    }
    *out = tab;
    return SC_OK;
}

void sc_table_free(sc_table *tab)
{
    if (!tab) return;
    sc_registry reg = tab->reg;
    /* relaxed: no other thread may use the table now */
    const sc_view *v = atomic_load_explicit(&tab->view, memory_order_relaxed);
    if (v) v->leave(v->arg);   /* leaves the cluster, which detaches */
    sc_journal_free(tab->journal);
    sc_series_free_all(tab);
    pthread_mutex_destroy(&tab->series_lock);
    tab->impl->table_free(tab);
    sc_registry_fini(&reg);
}

void sc_table_reclaim(const sc_table *tab)
{
    if (tab) tab->impl->reclaim(tab);
}

const sc_impl *sc_table_impl(const sc_table *tab)
{
    return tab ? tab->impl : NULL;
}

sc_status sc_table_service(const sc_table *tab, const char *name, size_t len, sc_service *out)
{
    if (!tab) return SC_E_INVALID;
    return sc_registry_resolve(&tab->reg, name, len, out);
}

/* An IPv4 address keeps bytes 4..15 zero, so both implementations can key
 * on all 16. */
static bool v4_tail_clear(const uint8_t *bytes)
{
    static const uint8_t zero[12];
    return memcmp(bytes + 4, zero, 12) == 0;
}

/* A host may hand in an IPv4-mapped IPv6 address (a sockaddr_in6 copied
 * as is): it is the IPv4 address, so it is normalised, never refused. */
bool sc_normal_addr(const sc_addr *in, sc_addr *out)
{
    if (!in) return false;
    *out = *in;
    sc_addr_unmap(out);
    if (out->family == SC_INET4) return v4_tail_clear(out->bytes);
    return out->family == SC_INET6;
}

/* An sc_prefix promises clear host bits; a mapped IPv6 prefix of 96 or
 * more (::ffff:0:0/96 and within) becomes the IPv4 prefix it is, in *buf.  Returns the prefix to
 * count, or NULL when it is invalid.  Every other prefix is counted in
 * place: no copy on the way to the count.  For IPv4 the host bits past len
 * include bytes 4..15, so the host-bit check also keeps their zero tail. */
const sc_prefix *sc_normal_prefix(const sc_prefix *in, sc_prefix *buf)
{
    if (!in) return NULL;
    unsigned nb = sc_family_bytes(in->addr.family);
    if (nb == 0 || in->len > nb * 8 || !sc_host_bits_clear(in->addr.bytes, in->len)) return NULL;
    if (nb == 16 && in->len >= 96 &&
        sc_mapped_words(sc_load_be64(in->addr.bytes), sc_load_be64(in->addr.bytes + 8))) {
        sc_prefix_finish(&in->addr, in->len, buf);
        return buf;
    }
    return in;
}

sc_status sc_open(sc_table *tab, const sc_addr *addr, sc_service svc)
{
    sc_addr a;
    if (!tab || !sc_normal_addr(addr, &a) || svc >= tab->n_services) return SC_E_INVALID;
    if (svc == SC_SERVICE_INBOUND_CIDR) return SC_E_VIEW;
    if (svc == SC_SERVICE_SMTP && tab->journal) return sc_journal_open(tab, &a);
    return tab->impl->open(tab, &a, svc);
}

sc_status sc_close(sc_table *tab, const sc_addr *addr, sc_service svc)
{
    sc_addr a;
    if (!tab || !sc_normal_addr(addr, &a) || svc >= tab->n_services) return SC_E_INVALID;
    if (svc == SC_SERVICE_INBOUND_CIDR) return SC_E_VIEW;
    if (svc == SC_SERVICE_SMTP && tab->journal) return sc_journal_close(tab, &a);
    return tab->impl->close(tab, &a, svc);
}

/* inbound_cidr: this node's SMTP sessions and, once it joined a cluster,
 * the other nodes' (SPEC "The fleet"). */
static uint64_t count_fleet(const sc_table *tab, const sc_prefix *p)
{
    uint64_t n;
    urcu_bp_read_lock();   /* the view and its table stay until we leave */
    /* acquire: pairs with the release that attached the view */
    const sc_view *v = atomic_load_explicit(&tab->view, memory_order_acquire);
    const sc_table *other = v ? v->table(v->arg) : NULL;
    if (!other)
        n = tab->impl->count(tab, p, SC_SERVICE_SMTP);
    else if (other->impl == tab->impl && tab->impl->count_pair)
        n = tab->impl->count_pair(tab, other, p, SC_SERVICE_SMTP);
    else
        n = tab->impl->count(tab, p, SC_SERVICE_SMTP) + other->impl->count(other, p, SC_SERVICE_SMTP);
    urcu_bp_read_unlock();
    sc_tsan_reader_done();
    return n;
}

static uint64_t count_service(const sc_table *tab, const sc_prefix *p, sc_service svc)
{
    if (svc == SC_SERVICE_INBOUND_CIDR) return count_fleet(tab, p);
    return tab->impl->count(tab, p, svc);
}

/* Every case of sc_count: the checks, a mapped prefix rewritten into buf,
 * the fleet's service.  Out of line so that sc_count's common case keeps
 * no frame for them. */
static __attribute__((noinline)) sc_status count_checked(const sc_table *tab, const sc_prefix *prefix,
                                                         sc_service svc, uint64_t *out)
{
    sc_prefix buf;
    const sc_prefix *p = sc_normal_prefix(prefix, &buf);
    if (!tab || !out || !p || svc >= tab->n_services) return SC_E_INVALID;
    *out = count_service(tab, p, svc);
    return SC_OK;
}

/* x shifted left by n bits, 0 once n reaches the word's width. */
static inline uint64_t shl_or_zero(uint64_t x, unsigned n)
{
    return n >= 64 ? 0 : x << n;
}

/* A prefix counted as it is given: a known family, its length within it,
 * host bits clear (for IPv4 that includes bytes 4..15), and not an
 * IPv4-mapped IPv6 prefix that sc_normal_prefix would rewrite.  What
 * sc_normal_prefix checks, with the address held in two words. */
static inline bool plain_prefix(const sc_prefix *p)
{
    unsigned len = p->len;
    uint64_t hi = sc_load_be64(p->addr.bytes), lo = sc_load_be64(p->addr.bytes + 8);
    if (p->addr.family == SC_INET4) return len <= 32 && ((hi << len) | lo) == 0;
    if (p->addr.family != SC_INET6 || len > 128) return false;
    if ((shl_or_zero(hi, len) | shl_or_zero(lo, len > 64 ? len - 64 : 0)) != 0) return false;
    return len < 96 || !sc_mapped_words(hi, lo);
}

/* The count path's front door, on every new connection: the common case
 * (a plain prefix, a host's own service) goes straight to the
 * implementation; anything else takes count_checked's full path.  Split
 * so: the full path's frame (a prefix buffer, five saved registers) was a
 * sixth of a /24 count's instructions. */
sc_status sc_count(const sc_table *tab, const sc_prefix *prefix, sc_service svc, uint64_t *out)
{
    if (tab && out && prefix && svc < tab->n_services && svc != SC_SERVICE_INBOUND_CIDR &&
        plain_prefix(prefix)) {
        *out = tab->impl->count(tab, prefix, svc);
        return SC_OK;
    }
    return count_checked(tab, prefix, svc, out);
}

sc_status sc_table_attach_view(sc_table *tab, const sc_view *v)
{
    const sc_view *none = NULL;
    /* release: a count that loads v sees the fleet it points to built */
    if (!atomic_compare_exchange_strong_explicit(&tab->view, &none, v, memory_order_acq_rel,
                                                 memory_order_acquire))
        return SC_E_CONFLICT;
    return SC_OK;
}

void sc_table_detach_view(sc_table *tab)
{
    /* acq_rel: the old view is retired after every use ordered before */
    const sc_view *old = atomic_exchange_explicit(&tab->view, NULL, memory_order_acq_rel);
    if (!old) return;
    urcu_bp_synchronize_rcu();   /* no count is reading it any more */
    sc_tsan_reclaim((void *)old);
}

sc_status sc_count_text(const sc_table *tab, const char *cidr, size_t cidr_len,
                        const sc_addr *connecting, const char *service, size_t service_len,
                        uint64_t *out, sc_error *err)
{
    if (!tab || !out) return SC_E_INVALID;
    sc_prefix p;
    sc_status st = tab->impl->parse_cidr(cidr, cidr_len, connecting, &p, err);
    if (st != SC_OK) return st;
    sc_service svc;
    st = sc_registry_resolve(&tab->reg, service, service_len, &svc);
    if (st != SC_OK) return st;
    *out = count_service(tab, &p, svc);
    return SC_OK;
}

size_t sc_table_bytes(const sc_table *tab)
{
    return tab ? tab->impl->bytes(tab) : 0;
}
