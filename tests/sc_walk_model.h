/*
 * sc_walk_model.h: the walk tests' own answers for sc_walk_tree and
 * sc_top, by brute force from sesscount.h's words, sharing no code with
 * common/ or either implementation (as sc_diff_model.h does for counts),
 * so that a bug ref and fast inherit from common/ still shows.
 *
 *  - An IPv6 address in ::ffff:0:0/96 is the IPv4 address of its last four
 *    bytes; an IPv6 prefix of length 96 or more inside ::ffff:0:0/96 is the
 *    IPv4 prefix of length len - 96.  A prefix holds the addresses of its
 *    own family whose first len bits are its own.
 *  - A walk under root lists root (when it holds sessions), every full
 *    address with sessions, and the longest common prefix of every two
 *    distinct addresses with sessions under root (exactly the prefixes with
 *    sessions on both sides of their next bit), each once, ordered by
 *    address then length, each with the number of sessions under it.
 *  - sc_top ranks the prefixes of length len that hold sessions by count,
 *    most first, then IPv4 before IPv6, then by address.
 * Nothing here calls sesscount.
 */
#ifndef SC_WALK_MODEL_H
#define SC_WALK_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sesscount.h"

typedef struct wm_session {
    sc_addr addr;          /* as wm_addr made it */
    sc_service svc;
} wm_session;

/* An address as the model keeps it: IPv4-mapped made IPv4, the unused
 * bytes of an IPv4 address zero. */
sc_addr wm_addr(const sc_addr *raw);
/* A prefix as the model takes it: mapped /96 or more made IPv4, host bits
 * cleared. */
sc_prefix wm_prefix(const sc_prefix *raw);
/* The (model's) address lies in the (model's) prefix. */
bool wm_in(const sc_addr *a, const sc_prefix *p);
/* Walk order: family (4 before 6), address, length. */
int wm_order(const sc_prefix *a, const sc_prefix *b);

/* The walk of sessions s[0..ns) of svc under root (wm_prefix'ed) into
 * out[0..cap); returns how many there are (more than cap: only cap
 * written). */
size_t wm_walk(const wm_session *s, size_t ns, const sc_prefix *root, sc_service svc,
               sc_branch *out, size_t cap);

/* sc_top's answer: family SC_INET4, SC_INET6 or SC_INET_ANY, len in range;
 * writes at most n to out, returns how many. */
size_t wm_top(const wm_session *s, size_t ns, int family, unsigned len, sc_service svc, size_t n,
              sc_branch *out);

/* a[0..n) and b[0..n) list the same prefixes with the same counts. */
bool wm_same(const sc_branch *a, const sc_branch *b, size_t n);

/* Plain text of a branch: "192.0.2.0/24=3", IPv6 as eight hex groups. */
#define WM_TEXT_MAX 80
void wm_text(const sc_branch *b, char buf[WM_TEXT_MAX]);
void wm_prefix_text(const sc_prefix *p, char buf[WM_TEXT_MAX]);

#endif /* SC_WALK_MODEL_H */
