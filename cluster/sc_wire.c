/*
 * sc_wire.c: writes and checks the batches of sc_wire.h (the format is
 * documented there, once).  The decoder trusts nothing: every length is
 * checked against what is left before it is used, and a batch is accepted
 * only when the check matches and every record is well formed, so that a
 * caller applies all of a batch or none of it.
 */
#include <stdlib.h>
#include <string.h>

#include "sc_internal.h"
#include "sc_journal.h"
#include "sc_wire.h"

static const char *const reasons[SC_WIRE_REFUSALS] = {
    "ok",
    "shorter than a header and its check",
    "not a sesscount batch (magic)",
    "a format version this reader does not know",
    "an unknown batch kind",
    "reserved bytes are not zero",
    "record bytes disagree with the batch's length",
    "check mismatch (truncated, altered, or another cluster's)",
    "a record of an unknown type or family, or cut short",
    "a record's count is 0, out of range, or not positive in a full state",
    "the record count disagrees with the records",
};

const char *sc_wire_reason(sc_wire_refusal r)
{
    return (unsigned)r < SC_WIRE_REFUSALS ? reasons[r] : "unknown refusal";
}

static uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

void sc_wire_key(const char *cluster, size_t len, uint8_t key[16])
{
    static const uint8_t domain[16] = "sesscount-wire-1";
    sc_siphash(domain, cluster, len, key, 16);
}

static uint64_t check_of(const uint8_t key[16], const uint8_t *buf, size_t len)
{
    uint8_t out[8];
    sc_siphash(key, buf, len, out, 8);
    return get64(out);
}

/* One record at rec[pos], of at most `left` bytes, in a batch of `version`:
 * its length, or 0. */
static size_t record_at(const uint8_t *rec, size_t left, int version, sc_wire_record *r)
{
    size_t alen;
    if (left >= 3 && rec[0] == 2 && version >= 2) {
        sc_skey sk;
        size_t slen = rec[1] | (size_t)rec[2] << 8;
        if (slen > SC_SNAME_MAX || left < 1 + 12 + slen) return 0;
        size_t k = 12 + slen + rec[1 + 11 + slen];   /* the key's own length byte */
        if (left < 1 + k + 8 || !sc_skey_decode(rec + 1, k, &sk)) return 0;
        r->type = 2;
        r->skey = rec + 1;
        r->skeylen = k;
        r->scount = (int64_t)get64(rec + 1 + k);
        return 1 + k + 8;
    }
    if (left < 2 || rec[0] != 1) return 0;
    if (rec[1] == SC_INET4) alen = 4;
    else if (rec[1] == SC_INET6) alen = 16;
    else return 0;
    if (left < 2 + alen + 4) return 0;
    r->type = 1;
    if (sc_addr_from_bytes(rec[1], rec + 2, &r->addr) != SC_OK) return 0;
    r->count = (int32_t)get32(rec + 2 + alen);
    return 2 + alen + 4;
}

static int count_ok(int kind, int32_t c)
{
    if (c == 0 || c > SC_WIRE_COUNT_MAX || c < -SC_WIRE_COUNT_MAX) return 0;
    return kind == SC_WIRE_DELTA || c > 0;
}

static int scount_ok(int kind, int64_t c)
{
    if (c == 0 || c > (int64_t)SC_SERIES_COUNT_MAX || c < -(int64_t)SC_SERIES_COUNT_MAX) return 0;
    return kind == SC_WIRE_DELTA || c > 0;
}

/* every record well formed and counted right; the refusal or OK */
static sc_wire_refusal check_records(const sc_wire_batch *b, size_t *offset)
{
    size_t pos = 0;
    uint32_t n = 0;
    while (pos < b->reclen) {
        sc_wire_record r;
        size_t k = record_at(b->rec + pos, b->reclen - pos, b->version, &r);
        *offset = SC_WIRE_HEADER + pos;
        if (k == 0) return SC_WIRE_RECORD;
        if (r.type == 1 ? !count_ok(b->kind, r.count) : !scount_ok(b->kind, r.scount))
            return SC_WIRE_COUNT;
        if (++n > b->nrec) return SC_WIRE_NRECORDS;
        pos += k;
    }
    *offset = SC_WIRE_HEADER + pos;
    return n == b->nrec ? SC_WIRE_OK : SC_WIRE_NRECORDS;
}

sc_wire_refusal sc_wire_parse(const uint8_t key[16], const void *buf, size_t len,
                              sc_wire_batch *out, size_t *offset)
{
    const uint8_t *p = buf;
    sc_wire_batch b;
    size_t reclen;
    *offset = 0;
    if (len < SC_WIRE_HEADER + SC_WIRE_TRAILER) return SC_WIRE_SHORT;
    if (memcmp(p, "SCW", 3) != 0) return SC_WIRE_MAGIC;
    *offset = 3;
    if (p[3] < SC_WIRE_VERSION_OLDEST || p[3] > SC_WIRE_VERSION) return SC_WIRE_NEWER;
    *offset = 4;
    if (p[4] != SC_WIRE_DELTA && p[4] != SC_WIRE_FULL) return SC_WIRE_KIND;
    *offset = 5;
    if (p[5] | p[6] | p[7]) return SC_WIRE_RESERVED;
    *offset = 28;
    reclen = get32(p + 28);
    if (reclen != len - SC_WIRE_HEADER - SC_WIRE_TRAILER) return SC_WIRE_LENGTH;
    *offset = len - SC_WIRE_TRAILER;
    if (check_of(key, p, len - SC_WIRE_TRAILER) != get64(p + len - SC_WIRE_TRAILER))
        return SC_WIRE_CHECK;
    b.version = p[3];
    b.kind = p[4];
    b.incarnation = get64(p + 8);
    b.seq = get64(p + 16);
    b.nrec = get32(p + 24);
    b.rec = p + SC_WIRE_HEADER;
    b.reclen = reclen;
    *offset = 24;
    if (b.nrec > SC_WIRE_RECORDS_MAX) return SC_WIRE_NRECORDS;
    sc_wire_refusal st = check_records(&b, offset);
    if (st == SC_WIRE_OK) *out = b;
    return st;
}

int sc_wire_next(const sc_wire_batch *b, size_t *pos, sc_wire_record *r)
{
    if (*pos >= b->reclen) return 0;
    size_t k = record_at(b->rec + *pos, b->reclen - *pos, b->version, r);
    if (k == 0) return 0;   /* cannot happen after sc_wire_parse */
    *pos += k;
    return 1;
}

/* ---------------------------------------------------------------- writing */

static sc_status reserve(sc_wire_writer *w, size_t more)
{
    if (w->len + more <= w->cap) return SC_OK;
    size_t cap = w->cap ? w->cap : 256;
    while (cap < w->len + more) cap *= 2;
    uint8_t *nb = realloc(w->buf, cap);
    if (!nb) return SC_E_NOMEM;
    w->buf = nb;
    w->cap = cap;
    return SC_OK;
}

sc_status sc_wire_begin(sc_wire_writer *w, int kind, uint64_t incarnation, uint64_t seq)
{
    if (kind != SC_WIRE_DELTA && kind != SC_WIRE_FULL) return SC_E_INVALID;
    w->len = 0;
    w->nrec = 0;
    w->kind = (uint8_t)kind;
    if (reserve(w, SC_WIRE_HEADER) != SC_OK) return SC_E_NOMEM;
    memset(w->buf, 0, SC_WIRE_HEADER);
    memcpy(w->buf, "SCW", 3);
    w->buf[3] = SC_WIRE_VERSION;
    w->buf[4] = (uint8_t)kind;
    put64(w->buf + 8, incarnation);
    put64(w->buf + 16, seq);
    w->len = SC_WIRE_HEADER;
    return SC_OK;
}

sc_status sc_wire_add(sc_wire_writer *w, const sc_addr *addr, int32_t count)
{
    size_t alen;
    if (!addr || !count_ok(w->kind, count) || w->nrec >= SC_WIRE_RECORDS_MAX) return SC_E_INVALID;
    if (addr->family == SC_INET4) alen = 4;
    else if (addr->family == SC_INET6) alen = 16;
    else return SC_E_INVALID;
    if (reserve(w, 2 + alen + 4) != SC_OK) return SC_E_NOMEM;
    uint8_t *p = w->buf + w->len;
    p[0] = 1;
    p[1] = addr->family;
    memcpy(p + 2, addr->bytes, alen);
    put32(p + 2 + alen, (uint32_t)count);
    w->len += 2 + alen + 4;
    w->nrec++;
    return SC_OK;
}

sc_status sc_wire_add_series(sc_wire_writer *w, const uint8_t *skey, size_t len, int64_t count)
{
    sc_skey k;
    if (!skey || !sc_skey_decode(skey, len, &k) || !scount_ok(w->kind, count) ||
        w->nrec >= SC_WIRE_RECORDS_MAX)
        return SC_E_INVALID;
    if (reserve(w, 1 + len + 8) != SC_OK) return SC_E_NOMEM;
    uint8_t *p = w->buf + w->len;
    p[0] = 2;
    memcpy(p + 1, skey, len);
    put64(p + 1 + len, (uint64_t)count);
    w->len += 1 + len + 8;
    w->nrec++;
    return SC_OK;
}

sc_status sc_wire_finish(sc_wire_writer *w, const uint8_t key[16], const uint8_t **bytes,
                         size_t *len)
{
    if (w->len < SC_WIRE_HEADER) return SC_E_INVALID;
    if (reserve(w, SC_WIRE_TRAILER) != SC_OK) return SC_E_NOMEM;
    put32(w->buf + 24, w->nrec);
    put32(w->buf + 28, (uint32_t)(w->len - SC_WIRE_HEADER));
    put64(w->buf + w->len, check_of(key, w->buf, w->len));
    w->len += SC_WIRE_TRAILER;
    *bytes = w->buf;
    *len = w->len;
    return SC_OK;
}

void sc_wire_free(sc_wire_writer *w)
{
    free(w->buf);
    memset(w, 0, sizeof *w);
}
