/*
 * sc_ref.h: the reference implementation's own parser, for the tests and
 * fuzzers that hold it against the public (fast) parser.  Same contract as
 * sc_parse_cidr / sc_parse_addr in sesscount.h.
 */
#ifndef SC_REF_H
#define SC_REF_H

#include "sesscount.h"

sc_status sc_ref_parse_cidr(const char *text, size_t len, const sc_addr *connecting,
                            sc_prefix *out, sc_error *err);
sc_status sc_ref_parse_addr(const char *text, size_t len, sc_addr *out, sc_error *err);

#endif /* SC_REF_H */
