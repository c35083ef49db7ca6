/*
 * sc_registry.c: service names.  The built-ins come first (ids 0..5), the
 * table's extras follow in the order given.  Names match ASCII
 * case-insensitively; the registry never changes after a table is made, so
 * a lookup takes no lock.
 */
#include <stdlib.h>
#include <string.h>

#include "sc_internal.h"

static const char *const builtin_names[SC_SERVICE_FIRST_EXTRA] = {
    "SMTP", "ECStream", "Control", "ECmmove2", "ECCluster", "inbound_cidr",
};
/* Their lengths, so that a lookup (one per count_text) skips the names of
 * another length without a strlen. */
static const uint8_t builtin_len[SC_SERVICE_FIRST_EXTRA] = {4, 8, 7, 8, 9, 12};

static bool clustering_only(sc_service id)
{
    return id >= SC_SERVICE_ECMMOVE2 && id < SC_SERVICE_FIRST_EXTRA;
}

static int ascii_lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

static bool same_letters(const char *a, const char *b, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (ascii_lower((unsigned char)a[i]) != ascii_lower((unsigned char)b[i])) return false;
    return true;
}

static bool name_equal(const char *a, size_t alen, const char *b)
{
    return alen == strlen(b) && same_letters(a, b, alen);
}

const char *sc_builtin_service_name(sc_service id)
{
    return id < SC_SERVICE_FIRST_EXTRA ? builtin_names[id] : NULL;
}

static sc_status resolve(bool clustering, const char *const *extra, size_t n_extra,
                         const char *name, size_t len, sc_service *out)
{
    for (sc_service id = 0; id < SC_SERVICE_FIRST_EXTRA; id++) {
        if (len != builtin_len[id] || !same_letters(name, builtin_names[id], len)) continue;
        if (clustering_only(id) && !clustering) return SC_E_NEEDS_CLUSTERING;
        *out = id;
        return SC_OK;
    }
    for (size_t i = 0; i < n_extra; i++) {
        if (extra[i] && name_equal(name, len, extra[i])) {
            *out = (sc_service)(SC_SERVICE_FIRST_EXTRA + i);
            return SC_OK;
        }
    }
    return SC_E_NO_SERVICE;
}

sc_status sc_service_resolve(const sc_options *opts, const char *name, size_t len,
                             sc_service *out)
{
    if ((!name && len) || !out) return SC_E_INVALID;
    if (!opts) return resolve(false, NULL, 0, name, len, out);
    if (opts->n_extra_services && !opts->extra_services) return SC_E_INVALID;
    return resolve(opts->clustering, opts->extra_services, opts->n_extra_services, name, len, out);
}

sc_status sc_registry_resolve(const sc_registry *reg, const char *name, size_t len,
                              sc_service *out)
{
    if ((!name && len) || !out) return SC_E_INVALID;
    /* relaxed: a flag alone; no data is published through it */
    bool clustering = atomic_load_explicit(&reg->clustering, memory_order_relaxed);
    return resolve(clustering, (const char *const *)reg->extra, reg->n_extra, name, len, out);
}

static bool valid_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > SC_SERVICE_NAME_MAX) return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] <= ' ' || s[i] > '~') return false;
    return true;
}

sc_status sc_options_check(const sc_options *opts, size_t *bad)
{
    if (!opts) return SC_OK;
    if (opts->n_extra_services && !opts->extra_services) return SC_E_INVALID;
    if (opts->n_extra_services > SC_MAX_SERVICES - SC_SERVICE_FIRST_EXTRA)
        return SC_E_TOO_MANY_SERVICES;
    for (size_t i = 0; i < opts->n_extra_services; i++) {
        const char *s = opts->extra_services[i];
        sc_status st = SC_OK;
        sc_service dummy;
        if (!s || !valid_name(s))
            st = SC_E_SERVICE_NAME;
        else if (resolve(true, opts->extra_services, i, s, strlen(s), &dummy) == SC_OK)
            st = SC_E_SERVICE_DUPLICATE;
        if (st != SC_OK) {
            if (bad) *bad = i;
            return st;
        }
    }
    return SC_OK;
}

sc_status sc_registry_init(sc_registry *reg, const sc_options *opts)
{
    sc_status st = sc_options_check(opts, NULL);
    if (st != SC_OK) return st;
    atomic_init(&reg->clustering, opts && opts->clustering);
    reg->n_extra = opts ? opts->n_extra_services : 0;
    reg->extra = NULL;
    if (reg->n_extra == 0) return SC_OK;
    /* One block: the pointer array, then the names it points to. */
    size_t size = reg->n_extra * sizeof(char *);
    for (size_t i = 0; i < reg->n_extra; i++) size += strlen(opts->extra_services[i]) + 1;
    char **block = malloc(size);
    if (!block) return SC_E_NOMEM;
    char *text = (char *)(block + reg->n_extra);
    for (size_t i = 0; i < reg->n_extra; i++) {
        size_t n = strlen(opts->extra_services[i]) + 1;
        block[i] = memcpy(text, opts->extra_services[i], n);
        text += n;
    }
    reg->extra = block;
    return SC_OK;
}

void sc_registry_fini(sc_registry *reg)
{
    free(reg->extra);
    reg->extra = NULL;
    reg->n_extra = 0;
}
