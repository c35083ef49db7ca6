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

/* sc_ref_series.c: ref's series (the sc_impl series operations), and
 * sc_ref_table.c's tally of the bytes its series hold. */
#include "sc_internal.h"
sc_status sc_ref_series_new(sc_table *tab, const sc_monitor *m, sc_series **out);
void sc_ref_series_free(sc_series *s);
sc_status sc_ref_series_add(sc_series *s, const sc_addr *key, int64_t epoch, uint64_t n,
                            bool take, uint64_t *done);
void sc_ref_series_remove(sc_series *s, const sc_addr *key, sc_taken_fn taken, void *arg);
uint64_t sc_ref_series_count(const sc_series *s, const sc_prefix *p, int64_t first,
                             int64_t last);
void sc_ref_series_turn(sc_series *s, int64_t oldest);
void sc_ref_series_bytes(sc_table *tab, int64_t delta);
sc_status sc_ref_series_add_str(sc_series *s, const char *key, size_t len, int64_t epoch,
                                uint64_t n, bool take, uint64_t *done);
void sc_ref_series_remove_str(sc_series *s, const char *key, size_t len, sc_taken_fn taken,
                               void *arg);
uint64_t sc_ref_series_count_str(const sc_series *s, const char *key, size_t len, int64_t first,
                                 int64_t last);

#endif /* SC_REF_H */
