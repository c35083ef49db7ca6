/*
 * sc_diff_model.h: the differential harness's own model of addresses,
 * prefixes and open sessions, written apart from the code it judges.
 *
 * ref and fast share common/'s normalisation (the IPv4-mapped rule, host
 * bits) and the parsers; an oracle that went through the same code would
 * agree with them on a bug there.  So the harness keeps its own plain
 * rules, from SPEC's words, not from common/: an IPv6 address in
 * ::ffff:0:0/96 is the IPv4 address of its last four bytes; a mapped prefix
 * of length 96 or more is the IPv4 prefix of length len - 96; host bits past
 * the length are zero; a prefix holds the addresses of its family whose
 * first len bits are its own.  Nothing here calls sesscount.
 */
#ifndef SC_DIFF_MODEL_H
#define SC_DIFF_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sesscount.h"

/* The longest text dm_prefix_text writes, NUL included. */
#define DM_TEXT_MAX 48

/* An address from raw bytes (4 or 16), IPv4-mapped IPv6 made IPv4, the
 * unused bytes of an IPv4 address zero. */
sc_addr dm_addr(int family, const uint8_t *bytes);

/* The mapped IPv6 spelling of an IPv4 address: ::ffff:a.b.c.d, raw. */
sc_addr dm_mapped(const sc_addr *v4);

/* The prefix of `a` (as given: raw, possibly mapped) and len (in a's own
 * family's range): mapped and len >= 96 becomes IPv4 of len - 96, host
 * bits cleared. */
sc_prefix dm_prefix(const sc_addr *a, unsigned len);

/* True when the (normalised) address lies in the (normalised) prefix. */
bool dm_in_prefix(const sc_addr *a, const sc_prefix *p);

/* Plain text: dotted IPv4; IPv6 as eight hex groups, no "::", lowercase. */
void dm_addr_text(const sc_addr *a, char buf[DM_TEXT_MAX]);
void dm_prefix_text(const sc_prefix *p, char buf[DM_TEXT_MAX]);

/* Bit i (from the top) of an address. */
static inline bool dm_bit(const uint8_t *b, unsigned i) { return (b[i / 8] >> (7 - i % 8)) & 1; }
static inline void dm_set_bit(uint8_t *b, unsigned i, bool v)
{
    uint8_t m = (uint8_t)(0x80u >> (i % 8));
    b[i / 8] = v ? (uint8_t)(b[i / 8] | m) : (uint8_t)(b[i / 8] & ~m);
}
static inline unsigned dm_bits(const sc_addr *a) { return a->family == SC_INET4 ? 32 : 128; }

#endif /* SC_DIFF_MODEL_H */
