/*
 * sc_wire.h: the batches nodes of a cluster exchange through Redis, and
 * their decoder (SPEC "The fleet").  Internal to sesscount: the cluster
 * code writes and reads them; tests and the fuzzer reach them here.
 *
 * A batch is one Redis stream entry's value.  Version 2, little-endian:
 *
 *     offset  size  field
 *          0     3  magic "SCW"
 *          3     1  version (2; a version 1 batch, sessions only, is read too)
 *          4     1  kind: 1 delta (changes since the batch before),
 *                   2 full state (replaces everything the origin had)
 *          5     3  reserved, zero
 *          8     8  incarnation of the origin node (new at each start)
 *         16     8  sequence number: a delta's is its predecessor's plus
 *                   one; a full state's is that of the last delta it covers
 *         24     4  record count (0 .. SC_WIRE_RECORDS_MAX)
 *         28     4  bytes of records that follow
 *         32     n  records
 *     32 + n     8  check: SipHash-2-4 (64-bit) of bytes 0 .. 32 + n, keyed
 *                   by the cluster's key (sc_wire_key: from its name)
 *
 *     record (session), 7 or 19 bytes:
 *          0     1  type 1
 *          1     1  family: 4 or 6
 *          2  4|16  address (network order; an IPv4-mapped IPv6 address is
 *                   written as IPv4)
 *        +0      4  signed count: a delta's change of the sessions open
 *                   from that address (never 0); a full state's sessions
 *                   open (> 0).  |count| <= 65535; records of one address
 *                   add up (an address with more sessions takes several)
 *
 *     record (series change, version 2 only), 28 to 545 bytes:
 *          0     1  type 2
 *          1     k  the change's key: series (its fleet name), window, key
 *                   (layout and rules in common/sc_journal.h)
 *        1+k     8  signed count: a delta's change of that key in that
 *                   window (never 0); a full state's count there (> 0).
 *                   |count| <= SC_SERIES_COUNT_MAX
 *
 * The check is not a secret's MAC: it refuses truncations, stray bytes, a
 * batch of another cluster (another key) and whatever else is not a batch
 * this cluster wrote.  A batch that fails any rule is refused whole, with a
 * reason and an offset, before anything is applied.  Later versions must
 * change the version byte; readers refuse versions they do not know,
 * counted.
 */
#ifndef SC_WIRE_H
#define SC_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "sesscount.h"

#define SC_WIRE_VERSION 2
#define SC_WIRE_VERSION_OLDEST 1     /* sessions only; still read */
#define SC_WIRE_HEADER 32
#define SC_WIRE_TRAILER 8
#define SC_WIRE_RECORDS_MAX 4000000u      /* a full state of 4M addresses */
#define SC_WIRE_COUNT_MAX 65535          /* |count| of one record; more: more records */

enum { SC_WIRE_DELTA = 1, SC_WIRE_FULL = 2 };

/* Why a batch was refused (sc_wire_reason names it). */
typedef enum sc_wire_refusal {
    SC_WIRE_OK = 0,
    SC_WIRE_SHORT,        /* shorter than a header and a check */
    SC_WIRE_MAGIC,        /* not "SCW" */
    SC_WIRE_NEWER,        /* a version this reader does not know (older or newer) */
    SC_WIRE_KIND,         /* neither delta nor full state */
    SC_WIRE_RESERVED,     /* reserved bytes not zero */
    SC_WIRE_LENGTH,       /* record bytes disagree with the batch's length */
    SC_WIRE_CHECK,        /* the check does not match: truncated, altered, another cluster */
    SC_WIRE_RECORD,       /* a record of an unknown type or family, or cut short */
    SC_WIRE_COUNT,        /* a count of 0, out of range, or <= 0 in a full state */
    SC_WIRE_NRECORDS,     /* the record count disagrees with the records */
    SC_WIRE_REFUSALS
} sc_wire_refusal;

/* A checked batch (its records stay in the caller's buffer). */
typedef struct sc_wire_batch {
    uint8_t version, kind;
    uint64_t incarnation, seq;
    uint32_t nrec;
    const uint8_t *rec;   /* the records */
    size_t reclen;
} sc_wire_batch;

typedef struct sc_wire_record {
    uint8_t type;            /* 1 session, 2 series change */
    sc_addr addr;            /* type 1 */
    int32_t count;           /* type 1 */
    const uint8_t *skey;     /* type 2: the change's key (sc_skey_decode reads it) */
    size_t skeylen;
    int64_t scount;          /* type 2 */
} sc_wire_record;

/* The cluster's 16-byte key, from its name. */
void sc_wire_key(const char *cluster, size_t len, uint8_t key[16]);

/* Checks a whole batch: every header rule, the check, every record.
 * Returns SC_WIRE_OK and fills *out, or the refusal with the offset of the
 * first byte it concerns in *offset.  Never reads past buf + len.  O(len). */
sc_wire_refusal sc_wire_parse(const uint8_t key[16], const void *buf, size_t len,
                              sc_wire_batch *out, size_t *offset);

/* The records of a batch sc_wire_parse accepted, in order: *pos starts at
 * 0; returns 1 and the next record, 0 after the last. */
int sc_wire_next(const sc_wire_batch *b, size_t *pos, sc_wire_record *r);

const char *sc_wire_reason(sc_wire_refusal r);

/* Writing: a growable buffer.  begin, add records, then finish, which
 * appends the check and hands out the bytes (the writer's own: valid until
 * the next begin or free).  Errors: SC_E_NOMEM, SC_E_INVALID (a count of 0
 * or out of range, a full state's count <= 0, too many records). */
typedef struct sc_wire_writer {
    uint8_t *buf;
    size_t len, cap;
    uint32_t nrec;
    uint8_t kind;
} sc_wire_writer;

sc_status sc_wire_begin(sc_wire_writer *w, int kind, uint64_t incarnation, uint64_t seq);
sc_status sc_wire_add(sc_wire_writer *w, const sc_addr *addr, int32_t count);
/* A series change: skey an encoding sc_skey_decode accepts, count as the
 * record says.  Errors as sc_wire_add. */
sc_status sc_wire_add_series(sc_wire_writer *w, const uint8_t *skey, size_t len, int64_t count);
sc_status sc_wire_finish(sc_wire_writer *w, const uint8_t key[16], const uint8_t **bytes,
                         size_t *len);
void sc_wire_free(sc_wire_writer *w);

#endif /* SC_WIRE_H */
