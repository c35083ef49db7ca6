/*
 * sc_rcu.h: liburcu's bp ("bulletproof") flavor, as sesscount includes it:
 * one place for the choice below.  Include it instead of <urcu/urcu-bp.h>.
 *
 * The read side is inlined (_LGPL_SOURCE): a read-side section is then a
 * load of liburcu's per-thread reader and two stores, where the calls into
 * liburcu-bp.so cost two calls, each reaching its thread-local reader
 * through __tls_get_addr: about 5 ns of a 17 ns cached count here (README,
 * "How fast counts").  Readers still need no registration (bp registers a
 * thread on its first section).  SC_URCU_CALLS keeps the calls: sanitizer
 * builds set it (the inline versions touch the per-thread reader at an
 * address UBSan reports as misaligned, a liburcu quirk, and TSan would see
 * only our half of liburcu's protocol), and so does SC_URCU_INLINE=OFF, for
 * a host that will not take the few lines of LGPL-2.1 code inlining puts
 * into the library.
 */
#ifndef SC_RCU_H
#define SC_RCU_H

#ifndef SC_URCU_CALLS
#define _LGPL_SOURCE
#endif
#include <urcu/urcu-bp.h>

#endif /* SC_RCU_H */
