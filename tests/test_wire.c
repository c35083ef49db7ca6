/*
 * test_wire.c: the fleet's batch format (cluster/sc_wire.h): what is
 * written reads back the same; every rule of the decoder refuses with its
 * reason and the offset it names; nothing a truncation, a flipped byte or
 * another cluster's key leaves is ever accepted.
 */
#include <string.h>

#include "sc_check.h"
#include "sc_internal.h"
#include "sc_journal.h"
#include "sc_wire.h"

static uint8_t key[16];

static sc_addr v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
    sc_addr x;
    memset(&x, 0, sizeof x);
    x.family = SC_INET4;
    x.bytes[0] = a, x.bytes[1] = b, x.bytes[2] = c, x.bytes[3] = d;
    return x;
}

static sc_addr v6(uint16_t first, uint16_t last)
{
    sc_addr x;
    memset(&x, 0, sizeof x);
    x.family = SC_INET6;
    x.bytes[0] = (uint8_t)(first >> 8), x.bytes[1] = (uint8_t)first;
    x.bytes[14] = (uint8_t)(last >> 8), x.bytes[15] = (uint8_t)last;
    return x;
}

/* a delta batch of three records, in w */
static void sample(sc_wire_writer *w, const uint8_t **bytes, size_t *len)
{
    sc_addr a = v4(192, 0, 2, 7), b = v6(0x2001, 1), c = v4(10, 0, 0, 1);
    CHECK(sc_wire_begin(w, SC_WIRE_DELTA, 77, 1234) == SC_OK, "begin");
    CHECK(sc_wire_add(w, &a, 3) == SC_OK, "add 192.0.2.7 +3");
    CHECK(sc_wire_add(w, &b, -2) == SC_OK, "add 2001::1 -2");
    CHECK(sc_wire_add(w, &c, 1) == SC_OK, "add 10.0.0.1 +1");
    CHECK(sc_wire_finish(w, key, bytes, len) == SC_OK, "finish");
}

static void test_written_batch_reads_back_the_same(void)
{
    sc_wire_writer w = {0};
    const uint8_t *bytes;
    size_t len, off, pos = 0;
    sc_wire_batch b;
    sc_wire_record r;
    sample(&w, &bytes, &len);
    CHECK(len == SC_WIRE_HEADER + 10 + 22 + 10 + SC_WIRE_TRAILER, "length %zu", len);
    CHECK(sc_wire_parse(key, bytes, len, &b, &off) == SC_WIRE_OK, "parse");
    CHECK(b.kind == SC_WIRE_DELTA && b.incarnation == 77 && b.seq == 1234 && b.nrec == 3,
          "header kind %d inc %llu seq %llu n %u", b.kind, (unsigned long long)b.incarnation,
          (unsigned long long)b.seq, b.nrec);
    sc_addr want[3] = {v4(192, 0, 2, 7), v6(0x2001, 1), v4(10, 0, 0, 1)};
    int32_t counts[3] = {3, -2, 1};
    for (int i = 0; i < 3; i++) {
        CHECK(sc_wire_next(&b, &pos, &r), "record %d", i);
        CHECK(memcmp(&r.addr, &want[i], sizeof r.addr) == 0 && r.count == counts[i],
              "record %d count %d", i, r.count);
    }
    CHECK(!sc_wire_next(&b, &pos, &r), "no fourth record");
    sc_wire_free(&w);
}

static void test_mapped_address_travels_as_ipv4(void)
{
    sc_wire_writer w = {0};
    const uint8_t *bytes;
    size_t len, off, pos = 0;
    sc_wire_batch b;
    sc_wire_record r;
    uint8_t mapped[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1};
    sc_addr a;
    CHECK(sc_addr_from_bytes(SC_INET6, mapped, &a) == SC_OK, "mapped address");
    CHECK(sc_wire_begin(&w, SC_WIRE_FULL, 1, 0) == SC_OK && sc_wire_add(&w, &a, 5) == SC_OK &&
          sc_wire_finish(&w, key, &bytes, &len) == SC_OK, "write");
    CHECK(len == SC_WIRE_HEADER + 10 + SC_WIRE_TRAILER, "a 4-byte address: length %zu", len);
    CHECK(sc_wire_parse(key, bytes, len, &b, &off) == SC_WIRE_OK && sc_wire_next(&b, &pos, &r) &&
          r.addr.family == SC_INET4 && r.count == 5, "reads as IPv4 192.0.2.1, 5 sessions");
    sc_wire_free(&w);
}

static void test_writer_refuses_counts_the_kind_forbids(void)
{
    sc_wire_writer w = {0};
    sc_addr a = v4(1, 2, 3, 4), bad;
    memset(&bad, 0, sizeof bad);
    CHECK(sc_wire_begin(&w, 3, 1, 1) == SC_E_INVALID, "kind 3");
    CHECK(sc_wire_begin(&w, SC_WIRE_DELTA, 1, 1) == SC_OK, "delta");
    CHECK(sc_wire_add(&w, &a, 0) == SC_E_INVALID, "a delta of 0");
    CHECK(sc_wire_add(&w, &a, SC_WIRE_COUNT_MAX + 1) == SC_E_INVALID, "a delta too big");
    CHECK(sc_wire_add(&w, &bad, 1) == SC_E_INVALID, "family 0");
    CHECK(sc_wire_begin(&w, SC_WIRE_FULL, 1, 1) == SC_OK, "full");
    CHECK(sc_wire_add(&w, &a, -1) == SC_E_INVALID, "a full state of -1 sessions");
    CHECK(w.nrec == 0, "nothing was added: %u", w.nrec);
    sc_wire_free(&w);
}

/* a copy of the sample batch, changed by `edit`, re-signed when asked */
typedef struct refusal_case {
    const char *name;
    size_t at;          /* byte to set (or the length to cut to) */
    int value;          /* the byte's new value; -1: cut to `at` bytes */
    int resign;         /* rewrite the check afterwards */
    sc_wire_refusal want;
    size_t want_offset;
} refusal_case;

static void test_each_rule_refuses_with_its_reason_and_offset(void)
{
    sc_wire_writer w = {0};
    const uint8_t *bytes;
    size_t len;
    sample(&w, &bytes, &len);
    const size_t rec0 = SC_WIRE_HEADER, rec1 = rec0 + 10;
    refusal_case cases[] = {
        {"cut to 39 bytes", 39, -1, 0, SC_WIRE_SHORT, 0},
        {"magic", 0, 'X', 0, SC_WIRE_MAGIC, 0},
        {"version 3", 3, 3, 0, SC_WIRE_NEWER, 3},
        {"version 0", 3, 0, 0, SC_WIRE_NEWER, 3},
        {"kind 9", 4, 9, 0, SC_WIRE_KIND, 4},
        {"reserved", 6, 1, 0, SC_WIRE_RESERVED, 5},
        {"record length", 28, 1, 0, SC_WIRE_LENGTH, 28},
        {"a flipped incarnation byte", 9, 0x55, 0, SC_WIRE_CHECK, len - 8},
        {"a flipped record byte", rec0 + 3, 0x55, 0, SC_WIRE_CHECK, len - 8},
        {"record type 2", rec1, 2, 1, SC_WIRE_RECORD, rec1},
        {"record family 5", rec1 + 1, 5, 1, SC_WIRE_RECORD, rec1},
        {"a delta of 0", rec0 + 6, 0, 1, SC_WIRE_COUNT, rec0},
        {"record count 4", 24, 4, 1, SC_WIRE_NRECORDS, len - 8},
        {"record count 2", 24, 2, 1, SC_WIRE_NRECORDS, rec0 + 32},
        {"a full state with -2", 4, SC_WIRE_FULL, 1, SC_WIRE_COUNT, rec1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        refusal_case *c = &cases[i];
        uint8_t buf[256];
        size_t n = c->value < 0 ? c->at : len, off = 999;
        sc_wire_batch b, before;
        memcpy(buf, bytes, len);
        if (c->value >= 0) buf[c->at] = (uint8_t)c->value;
        if (c->resign) {
            uint8_t out[8];
            sc_siphash(key, buf, n - SC_WIRE_TRAILER, out, 8);
            memcpy(buf + n - SC_WIRE_TRAILER, out, 8);
        }
        memset(&b, 0x33, sizeof b);
        before = b;
        sc_wire_refusal st = sc_wire_parse(key, buf, n, &b, &off);
        CHECK(st == c->want, "%s: refused with '%s', want '%s'", c->name, sc_wire_reason(st),
              sc_wire_reason(c->want));
        CHECK(off == c->want_offset, "%s: offset %zu, want %zu", c->name, off, c->want_offset);
        CHECK(memcmp(&b, &before, sizeof b) == 0, "%s: a refusal wrote the batch", c->name);
        CHECK(strlen(sc_wire_reason(st)) > 5, "%s: a reason", c->name);
    }
    sc_wire_free(&w);
}

static void test_no_truncation_or_flip_or_stranger_is_accepted(void)
{
    sc_wire_writer w = {0};
    const uint8_t *bytes;
    size_t len, off;
    sc_wire_batch b;
    uint8_t other[16], buf[256];
    sample(&w, &bytes, &len);
    for (size_t n = 0; n < len; n++)
        CHECK(sc_wire_parse(key, bytes, n, &b, &off) != SC_WIRE_OK, "cut to %zu bytes accepted", n);
    for (size_t i = 0; i < len; i++)
        for (int bit = 0; bit < 8; bit++) {
            memcpy(buf, bytes, len);
            buf[i] ^= (uint8_t)(1u << bit);
            CHECK(sc_wire_parse(key, buf, len, &b, &off) != SC_WIRE_OK, "byte %zu bit %d flipped accepted",
                  i, bit);
        }
    sc_wire_key("another cluster", 15, other);
    CHECK(sc_wire_parse(other, bytes, len, &b, &off) == SC_WIRE_CHECK, "another cluster's key");
    uint8_t k2[16];
    sc_wire_key("fleet", 5, k2);
    CHECK(memcmp(k2, key, 16) == 0, "a cluster's key is the same every time");
    sc_wire_free(&w);
}

static void test_empty_delta_is_a_batch(void)
{
    sc_wire_writer w = {0};
    const uint8_t *bytes;
    size_t len, off, pos = 0;
    sc_wire_batch b;
    sc_wire_record r;
    CHECK(sc_wire_begin(&w, SC_WIRE_FULL, 9, 41) == SC_OK &&
          sc_wire_finish(&w, key, &bytes, &len) == SC_OK, "an empty full state");
    CHECK(sc_wire_parse(key, bytes, len, &b, &off) == SC_WIRE_OK && b.nrec == 0 &&
          !sc_wire_next(&b, &pos, &r), "parses, with no record (a node with no session)");
    sc_wire_free(&w);
}

/* a series change's key: fleet name, epoch, key */
static size_t skey(uint8_t *out, const char *sname, int64_t epoch, int type, const void *k,
                   size_t klen)
{
    sc_skey sk = {sname, strlen(sname), epoch, type, k, klen};
    return sc_skey_encode(&sk, out);
}

static void test_series_changes_read_back_beside_sessions(void)
{
    sc_wire_writer w = {0};
    const uint8_t *bytes;
    size_t len, off, pos = 0;
    sc_wire_batch b;
    sc_wire_record r;
    uint8_t k1[SC_SKEY_MAX], k2[SC_SKEY_MAX];
    uint8_t ip[4] = {192, 0, 2, 9};
    size_t n1 = skey(k1, "E1:300,6", 5787, 4, ip, 4);
    size_t n2 = skey(k2, "N1:60,1:senders", -3, 0, "a@b", 3);
    sc_addr a = v4(10, 0, 0, 1);
    CHECK(sc_wire_begin(&w, SC_WIRE_DELTA, 5, 6) == SC_OK && sc_wire_add(&w, &a, 1) == SC_OK &&
          sc_wire_add_series(&w, k1, n1, -(int64_t)SC_SERIES_COUNT_MAX) == SC_OK &&
          sc_wire_add_series(&w, k2, n2, 7) == SC_OK &&
          sc_wire_finish(&w, key, &bytes, &len) == SC_OK, "write a session and two series changes");
    CHECK(len == SC_WIRE_HEADER + 10 + (1 + n1 + 8) + (1 + n2 + 8) + SC_WIRE_TRAILER,
          "length %zu", len);
    CHECK(sc_wire_parse(key, bytes, len, &b, &off) == SC_WIRE_OK && b.version == 2 && b.nrec == 3,
          "parses as version 2, 3 records (offset %zu)", off);
    CHECK(sc_wire_next(&b, &pos, &r) && r.type == 1 && r.count == 1, "the session first");
    sc_skey k;
    CHECK(sc_wire_next(&b, &pos, &r) && r.type == 2 && r.scount == -(int64_t)SC_SERIES_COUNT_MAX &&
          sc_skey_decode(r.skey, r.skeylen, &k) && k.epoch == 5787 && k.type == 4 &&
          k.klen == 4 && memcmp(k.key, ip, 4) == 0 && k.slen == 8 &&
          memcmp(k.sname, "E1:300,6", 8) == 0, "the event series change, as written");
    CHECK(sc_wire_next(&b, &pos, &r) && r.type == 2 && r.scount == 7 &&
          sc_skey_decode(r.skey, r.skeylen, &k) && k.epoch == -3 && k.type == 0 && k.klen == 3 &&
          memcmp(k.key, "a@b", 3) == 0, "the string series change, as written");
    CHECK(!sc_wire_next(&b, &pos, &r), "no fourth record");

    /* the same batch as version 1 (re-signed): series records are not v1's */
    uint8_t buf[1024];
    memcpy(buf, bytes, len);
    buf[3] = 1;
    uint8_t out[8];
    sc_siphash(key, buf, len - SC_WIRE_TRAILER, out, 8);
    memcpy(buf + len - SC_WIRE_TRAILER, out, 8);
    CHECK(sc_wire_parse(key, buf, len, &b, &off) == SC_WIRE_RECORD &&
          off == SC_WIRE_HEADER + 10, "a version 1 batch with a series record: refused at it "
          "(offset %zu)", off);
    sc_wire_free(&w);
}

static void test_series_keys_and_counts_that_are_not_refused(void)
{
    sc_wire_writer w = {0};
    uint8_t k[SC_SKEY_MAX];
    uint8_t ip6[16] = {0x20, 0x01};
    struct { const char *why, *sname; int type; size_t klen; int64_t count; } bad[] = {
        {"no such event kind", "E3:60,1", 4, 4, 1},
        {"a monitor out of range", "E0:0,1", 4, 4, 1},
        {"a monitor with leading zeros", "E0:060,1", 4, 4, 1},
        {"an event series with a name", "E0:60,1:x", 4, 4, 1},
        {"a named series without a name", "N0:60,1:", 4, 4, 1},
        {"a named series of kind 3", "N3:60,1:x", 4, 4, 1},
        {"an IPv4 key of 16 bytes", "E0:60,1", 4, 16, 1},
        {"an IPv6 key of 4 bytes", "E0:60,1", 6, 4, 1},
        {"a string key in a CIDR series", "N0:60,1:x", 0, 3, 1},
        {"an address key in a string series", "N1:60,1:x", 4, 4, 1},
        {"a change of 0", "E0:60,1", 4, 4, 0},
        {"a change past the maximum", "E0:60,1", 4, 4, (int64_t)SC_SERIES_COUNT_MAX + 1},
    };
    CHECK(sc_wire_begin(&w, SC_WIRE_DELTA, 1, 1) == SC_OK, "begin");
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        size_t n = skey(k, bad[i].sname, 1, bad[i].type, ip6, bad[i].klen);
        sc_skey out;
        bool decodes = sc_skey_decode(k, n, &out);
        CHECK(bad[i].count == 0 || (int64_t)bad[i].count > (int64_t)SC_SERIES_COUNT_MAX
                  ? decodes : !decodes, "%s: key decodes %d", bad[i].why, decodes);
        CHECK(sc_wire_add_series(&w, k, n, bad[i].count) == SC_E_INVALID, "%s: written", bad[i].why);
    }
    size_t n = skey(k, "N0:60,1:x", 1, 4, ip6, 4);
    sc_skey out;
    CHECK(!sc_skey_decode(k, n - 1, &out) && !sc_skey_decode(k, n + 1, &out),
          "a key one byte short or long");
    CHECK(sc_wire_begin(&w, SC_WIRE_FULL, 1, 1) == SC_OK &&
          sc_wire_add_series(&w, k, n, -1) == SC_E_INVALID && w.nrec == 0,
          "a full state's count of -1");
    sc_wire_free(&w);
}

int main(void)
{
    sc_wire_key("fleet", 5, key);
    RUN(test_written_batch_reads_back_the_same);
    RUN(test_mapped_address_travels_as_ipv4);
    RUN(test_writer_refuses_counts_the_kind_forbids);
    RUN(test_each_rule_refuses_with_its_reason_and_offset);
    RUN(test_no_truncation_or_flip_or_stranger_is_accepted);
    RUN(test_empty_delta_is_a_batch);
    RUN(test_series_changes_read_back_beside_sessions);
    RUN(test_series_keys_and_counts_that_are_not_refused);
    return check_done();
}
