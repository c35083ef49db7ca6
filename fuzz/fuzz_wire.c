/*
 * fuzz_wire.c: the fleet's batch decoder (cluster/sc_wire.h) on any bytes.
 *
 * Input: a would-be batch.  Each input is tried twice: as it is (almost
 * always refused by the check), and "re-signed": its length field and check
 * rewritten to match its bytes under the test cluster's key, so that the
 * record rules behind the check get fuzzed too.
 * Checks (any failure prints the input and aborts):
 *  1. A refusal names a reason and an offset inside the input, and leaves
 *     the output batch untouched.
 *  2. An accepted batch has the records it says: sc_wire_next yields
 *     exactly nrec of them, each of a known family with a count allowed for
 *     its kind, and reads nothing past the record bytes.
 *  3. Written again with sc_wire_begin/add/finish, an accepted batch parses
 *     back to the same header and the same records.
 *  4. Under another cluster's key, the same bytes are refused (check).
 * The decoder reads from an exactly sized heap copy: an over-read shows
 * under ASan.
 */
#include <string.h>

#include "fuzz_common.h"
#include "sc_internal.h"
#include "sc_wire.h"

static uint8_t key[16], other[16];

static void keys(void)
{
    static int done;
    if (done) return;
    sc_wire_key("fuzz", 4, key);
    sc_wire_key("another", 7, other);
    done = 1;
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* rewrites the length field and the check of a copy of data */
static uint8_t *resign(const uint8_t *data, size_t size)
{
    uint8_t *b = malloc(size);
    if (!b) return NULL;
    memcpy(b, data, size);
    if (size >= SC_WIRE_HEADER + SC_WIRE_TRAILER) {
        uint8_t out[8];
        put32(b + 28, (uint32_t)(size - SC_WIRE_HEADER - SC_WIRE_TRAILER));
        sc_siphash(key, b, size - SC_WIRE_TRAILER, out, 8);
        memcpy(b + size - SC_WIRE_TRAILER, out, 8);
    }
    return b;
}

static void same_again(const sc_wire_batch *b)
{
    sc_wire_writer w = {0};
    sc_wire_batch again;
    const uint8_t *bytes;
    size_t len, off, p1 = 0, p2 = 0;
    sc_wire_record r1, r2;
    if (sc_wire_begin(&w, b->kind, b->incarnation, b->seq) != SC_OK) fz_fail("begin refused");
    while (sc_wire_next(b, &p1, &r1))
        if (sc_wire_add(&w, &r1.addr, r1.count) != SC_OK) fz_fail("add refused a parsed record");
    if (sc_wire_finish(&w, key, &bytes, &len) != SC_OK) fz_fail("finish refused");
    uint8_t *copy = malloc(len);
    if (!copy) fz_fail("no memory");
    memcpy(copy, bytes, len);
    sc_wire_refusal st = sc_wire_parse(key, copy, len, &again, &off);
    if (st != SC_WIRE_OK) fz_fail("rewritten batch refused: %s at %zu", sc_wire_reason(st), off);
    if (again.kind != b->kind || again.incarnation != b->incarnation || again.seq != b->seq ||
        again.nrec != b->nrec)
        fz_fail("rewritten batch has another header");
    p1 = 0;
    while (sc_wire_next(b, &p1, &r1)) {
        if (!sc_wire_next(&again, &p2, &r2) || memcmp(&r1.addr, &r2.addr, sizeof r1.addr) != 0 ||
            r1.count != r2.count)
            fz_fail("rewritten batch has other records");
    }
    if (sc_wire_next(&again, &p2, &r2)) fz_fail("rewritten batch has more records");
    free(copy);
    sc_wire_free(&w);
}

static void try_one(const uint8_t *data, size_t size)
{
    sc_wire_batch b, untouched;
    size_t off = (size_t)-1;
    memset(&b, 0x5a, sizeof b);
    untouched = b;
    sc_wire_refusal st = sc_wire_parse(key, data, size, &b, &off);
    if (st != SC_WIRE_OK) {
        if (st >= SC_WIRE_REFUSALS || off > size) fz_fail("refusal %d at offset %zu of %zu", st, off, size);
        if (memcmp(&b, &untouched, sizeof b) != 0) fz_fail("a refusal wrote the batch");
        return;
    }
    size_t pos = 0, n = 0;
    sc_wire_record r;
    while (sc_wire_next(&b, &pos, &r)) {
        if (r.addr.family != SC_INET4 && r.addr.family != SC_INET6) fz_fail("record family %d", r.addr.family);
        if (r.count == 0 || (b.kind == SC_WIRE_FULL && r.count < 0)) fz_fail("record count %d", r.count);
        n++;
    }
    if (n != b.nrec || pos != b.reclen) fz_fail("%zu records of %u, %zu bytes of %zu", n, b.nrec, pos, b.reclen);
    same_again(&b);
    if (sc_wire_parse(other, data, size, &b, &off) != SC_WIRE_CHECK)
        fz_fail("another cluster's key did not refuse the batch");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_begin(data, size);
    keys();
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy) return 0;
    memcpy(copy, data, size);
    try_one(copy, size);
    free(copy);
    uint8_t *signed_copy = resign(data, size);
    if (signed_copy) {
        try_one(signed_copy, size);
        free(signed_copy);
    }
    return 0;
}
