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
 *     exactly nrec of them, each a session of a known family or a series
 *     change whose key decodes, with a count allowed for its kind, and
 *     reads nothing past the record bytes.
 *  3. Written again with sc_wire_begin/add/finish, an accepted batch parses
 *     back to the same header and the same records.
 *  4. Under another cluster's key, the same bytes are refused (check).
 *  5. Applied to a fleet as origin "x" (when its counts add up to at most
 *     4096 sessions, so an input stays fast), an accepted batch never
 *     changes the count of origin "y", which holds fixed sessions under
 *     addresses any batch may also name; x's counts stay those of a model
 *     of its records when the batch applied, and x is dropped (counts 0)
 *     when it did not.  y also holds a series change (E0:60,5, 10.0.0.1, 7
 *     events); whatever x's batch, the fleet's count there is y's 7 plus
 *     x's records of that key and window (when x keeps them), never less.
 * The decoder reads from an exactly sized heap copy: an over-read shows
 * under ASan.
 */
#include <string.h>

#include "fuzz_common.h"
#include "sc_internal.h"
#include "sc_journal.h"
#include "sc_replica.h"
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
        if ((r1.type == 1 ? sc_wire_add(&w, &r1.addr, r1.count)
                          : sc_wire_add_series(&w, r1.skey, r1.skeylen, r1.scount)) != SC_OK)
            fz_fail("add refused a parsed record");
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
        if (!sc_wire_next(&again, &p2, &r2) || r1.type != r2.type ||
            (r1.type == 1 ? memcmp(&r1.addr, &r2.addr, sizeof r1.addr) != 0 || r1.count != r2.count
                          : r1.skeylen != r2.skeylen || r1.scount != r2.scount ||
                                memcmp(r1.skey, r2.skey, r1.skeylen) != 0))
            fz_fail("rewritten batch has other records");
    }
    if (sc_wire_next(&again, &p2, &r2)) fz_fail("rewritten batch has more records");
    free(copy);
    sc_wire_free(&w);
}

/* One fleet kept across inputs: "y" holds 5 sessions at 10.0.0.1 and 3 at
 * 2001:db8::1 from its full state at start; "x" is whatever inputs made. */
static sc_fleet *fleet;
#define Y_EPOCH 30000000
static sc_prefix all4, all6, y4, y6;

static void drop_fleet(void)
{
    sc_fleet_free(fleet);
    fleet = NULL;
}

static void fleet_once(void)
{
    static bool registered;
    if (fleet) return;
    /* freed at exit, before LeakSanitizer's last look */
    if (!registered) registered = atexit(drop_fleet) == 0;
    sc_wire_writer w = {0};
    const uint8_t *bytes;
    size_t len, off;
    sc_wire_batch b;
    sc_addr a;
    sc_error e;
    if (sc_fleet_new(&fleet) != SC_OK) fz_fail("no fleet");
    sc_wire_begin(&w, SC_WIRE_FULL, 1, 1);
    uint8_t k[SC_SKEY_MAX];
    static const uint8_t ip[4] = {10, 0, 0, 1};
    sc_skey sk = {"E0:60,5", 7, Y_EPOCH, 4, ip, 4};
    if (sc_wire_add_series(&w, k, sc_skey_encode(&sk, k), 7) != SC_OK) fz_fail("y's series");
    if (sc_parse_addr("10.0.0.1", 8, &a, &e) != SC_OK || sc_wire_add(&w, &a, 5) != SC_OK) fz_fail("y4");
    if (sc_parse_addr("2001:db8::1", 11, &a, &e) != SC_OK || sc_wire_add(&w, &a, 3) != SC_OK) fz_fail("y6");
    if (sc_wire_finish(&w, key, &bytes, &len) != SC_OK ||
        sc_wire_parse(key, bytes, len, &b, &off) != SC_WIRE_OK ||
        sc_fleet_apply(fleet, "y", 1, &b) != SC_APPLY_OK)
        fz_fail("y's full state");
    sc_wire_free(&w);
    if (sc_parse_cidr("0.0.0.0/0", 9, NULL, &all4, &e) != SC_OK ||
        sc_parse_cidr("::/0", 4, NULL, &all6, &e) != SC_OK ||
        sc_parse_cidr("10.0.0.1", 8, NULL, &y4, &e) != SC_OK ||
        sc_parse_cidr("2001:db8::1", 11, NULL, &y6, &e) != SC_OK)
        fz_fail("prefixes");
}

static void apply_to_fleet(const sc_wire_batch *b)
{
    size_t pos = 0;
    sc_wire_record r;
    int64_t total = 0;
    while (sc_wire_next(b, &pos, &r))
        if (r.type == 1) total += r.count > 0 ? r.count : -(int64_t)r.count;
    if (total > 4096) return;
    fleet_once();
    uint64_t x4 = sc_fleet_count_origin(fleet, "x", 1, &all4);
    uint64_t x6 = sc_fleet_count_origin(fleet, "x", 1, &all6);
    int64_t d4 = 0, d6 = 0;
    pos = 0;
    while (sc_wire_next(b, &pos, &r))
        if (r.type == 1) *(r.addr.family == SC_INET4 ? &d4 : &d6) += r.count;
    sc_apply st = sc_fleet_apply(fleet, "x", 1, b);
    /* y's series: its 7 events, and x's in that window when x holds some
     * (a count never reaches below y's own) */
    uint64_t ys = sc_fleet_series_count(fleet, "E0:60,5", 7, &y4, NULL, 0, 0, 0,
                                        (sc_time)Y_EPOCH * 60);
    if (ys < 7 || (st != SC_APPLY_OK && st != SC_APPLY_DUPLICATE && st != SC_APPLY_UNSYNCED &&
                   ys != 7))
        fz_fail("a batch of x (%s) made y's series count %llu", sc_apply_name(st),
                (unsigned long long)ys);
    if (sc_fleet_count_origin(fleet, "y", 1, &y4) != 5 || sc_fleet_count_origin(fleet, "y", 1, &y6) != 3 ||
        sc_fleet_count_origin(fleet, "y", 1, &all4) != 5)
        fz_fail("a batch of x (%s) changed y's count", sc_apply_name(st));
    uint64_t n4 = sc_fleet_count_origin(fleet, "x", 1, &all4);
    uint64_t n6 = sc_fleet_count_origin(fleet, "x", 1, &all6);
    switch (st) {
    case SC_APPLY_OK:
        if (b->kind == SC_WIRE_FULL ? (n4 != (uint64_t)d4 || n6 != (uint64_t)d6)
                                    : ((int64_t)n4 != (int64_t)x4 + d4 || (int64_t)n6 != (int64_t)x6 + d6))
            fz_fail("x counts %llu/%llu after applying", (unsigned long long)n4, (unsigned long long)n6);
        break;
    case SC_APPLY_DUPLICATE:
    case SC_APPLY_UNSYNCED:
        if (n4 != x4 || n6 != x6) fz_fail("an ignored batch (%s) changed x", sc_apply_name(st));
        break;
    default:
        if (n4 != 0 || n6 != 0) fz_fail("x not dropped after %s", sc_apply_name(st));
    }
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
        sc_skey k;
        if (r.type == 2) {
            if (!sc_skey_decode(r.skey, r.skeylen, &k)) fz_fail("a series key that does not decode");
            if (r.scount == 0 || (b.kind == SC_WIRE_FULL && r.scount < 0))
                fz_fail("series count %lld", (long long)r.scount);
        } else if (r.addr.family != SC_INET4 && r.addr.family != SC_INET6) {
            fz_fail("record family %d", r.addr.family);
        } else if (r.count == 0 || (b.kind == SC_WIRE_FULL && r.count < 0)) {
            fz_fail("record count %d", r.count);
        }
        n++;
    }
    if (n != b.nrec || pos != b.reclen) fz_fail("%zu records of %u, %zu bytes of %zu", n, b.nrec, pos, b.reclen);
    same_again(&b);
    apply_to_fleet(&b);
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
#ifdef FZ_FRESH_TABLES
    /* the corpus replay: a fleet per input, freed, under ASan's leak check */
    drop_fleet();
#endif
    return 0;
}
