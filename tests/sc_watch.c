/*
 * sc_watch.c: bounds on counts during updates (sc_watch.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sc_watch.h"

typedef struct spec {
    const char *cidr;
    const char *why;
} spec;

static const spec specs[] = {
    {"0.0.0.0/0", "stripes"},          {"192.0.0.0/4", "stripes"},
    {"198.0.0.0/8", "stripes"},        {"198.48.0.0/12", "stripes"},
    {"198.48.0.0/13", "top sum"},      {"198.50.0.0/15", "top sum"},
    {"198.51.0.0/16", "/16 counter"},  {"198.51.96.0/20", "run in byte 2"},
    {"198.51.100.0/22", "run in byte 2"}, {"198.51.100.0/24", "slot"},
    {"198.51.100.0/27", "run in byte 3"}, {"198.51.100.7/32", "slot"},
    {"::/0", "stripes"},               {"2000::/12", "stripes"},
    {"2001:db8::/32", "compressed key"}, {"2001:db8::/44", "compressed key"},
    {"2001:db8:0:7::/64", "compressed key"}, {"2001:db8:0:7:8000::/65", "run in byte 8"},
    {"203.0.0.0/16", "bad closes only"}, {"203.0.113.0/24", "bad closes only"},
};
enum { NSPECS = sizeof specs / sizeof specs[0] };

bool watch_list_make(watch_list *l, const sc_service *svcs, size_t nsvc)
{
    l->n = 0;
    l->w = calloc(NSPECS * nsvc, sizeof *l->w);
    if (!l->w) return false;
    for (size_t s = 0; s < nsvc; s++)
        for (size_t i = 0; i < NSPECS; i++) {
            watch *w = &l->w[l->n];
            sc_error err;
            if (sc_parse_cidr(specs[i].cidr, strlen(specs[i].cidr), NULL, &w->prefix, &err) !=
                SC_OK) {
                fprintf(stderr, "watch %s: %s at %zu\n", specs[i].cidr, err.reason, err.offset);
                watch_list_free(l);
                return false;
            }
            w->svc = svcs[s];
            w->why = specs[i].why;
            l->n++;
        }
    return true;
}

void watch_list_free(watch_list *l)
{
    free(l->w);
    l->w = NULL;
    l->n = 0;
}

/* Bit by bit: the test's own rule, not the library's. */
static bool holds(const sc_prefix *p, const sc_addr *a)
{
    if (a->family != p->addr.family) return false;
    for (unsigned i = 0; i < p->len; i++) {
        unsigned m = 0x80u >> (i % 8);
        if ((a->bytes[i / 8] & m) != (p->addr.bytes[i / 8] & m)) return false;
    }
    return true;
}

void watch_update(watch_list *l, const sc_addr *a, sc_service svc, bool open, bool done)
{
    for (size_t i = 0; i < l->n; i++) {
        watch *w = &l->w[i];
        if (w->svc != svc || !holds(&w->prefix, a)) continue;
        atomic_long *c = open ? (done ? &w->opens_done : &w->opens_started)
                              : (done ? &w->closes_done : &w->closes_started);
        atomic_fetch_add(c, 1);
    }
}

static void note(watch *w, uint64_t n, sc_status st, long lo, long hi)
{
    if (atomic_fetch_add(&w->violations, 1) != 0) return;
    char text[SC_PREFIX_TEXT_MAX];
    if (!sc_format_prefix(&w->prefix, text, sizeof text)) strcpy(text, "?");
    snprintf(w->first_violation, sizeof w->first_violation,
             "count of %s service %u (%s) = %llu (%s) outside [%ld, %ld]", text, w->svc, w->why,
             (unsigned long long)n, sc_strerror(st), lo, hi);
}

long watch_check_all(watch_list *l, const sc_table *tab)
{
    long bad = 0;
    for (size_t i = 0; i < l->n; i++) {
        watch *w = &l->w[i];
        long done_o = atomic_load(&w->opens_done), done_c = atomic_load(&w->closes_done);
        uint64_t n = 0;
        sc_status st = sc_count(tab, &w->prefix, w->svc, &n);
        long start_o = atomic_load(&w->opens_started), start_c = atomic_load(&w->closes_started);
        long lo = done_o - start_c, hi = start_o - done_c;
        atomic_fetch_add_explicit(&w->counts, 1, memory_order_relaxed);
        if (st != SC_OK || n > (uint64_t)1 << 62 || (long)n < lo || (long)n > hi) {
            note(w, n, st, lo, hi);
            bad++;
        }
    }
    return bad;
}

long watch_counts(const watch_list *l)
{
    long n = 0;
    for (size_t i = 0; i < l->n; i++) n += atomic_load(&l->w[i].counts);
    return n;
}

long watch_violations(const watch_list *l)
{
    long n = 0;
    for (size_t i = 0; i < l->n; i++) n += atomic_load(&l->w[i].violations);
    return n;
}

const char *watch_first_violation(const watch_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        if (atomic_load(&l->w[i].violations)) return l->w[i].first_violation;
    return "";
}
