/*
 * sesscount.h: how many sessions are open right now from this CIDR to this
 * service?  The one public header of sesscount.
 *
 * A table holds open sessions, each a (peer address, service) pair, and
 * answers count(prefix, service) at mail-server connection rates from any
 * number of threads.  Two implementations sit behind one API and can live
 * side by side in one process: sc_impl_fast() (the sharded trie users embed)
 * and sc_impl_ref() (a list and a linear scan, the test oracle).  The parser,
 * the canonical formatter and the service registry need no table, so a host
 * can check its configuration without one.
 *
 * Conventions
 *  - Every function that can fail returns an sc_status; SC_OK is 0.  On an
 *    error nothing is changed and out-parameters are left untouched, except
 *    the caller's sc_error, which a parse error fills in.
 *  - Text is bytes with a length; it need not be NUL-terminated.
 *  - Nothing prints, nothing aborts, and the count path never allocates.
 *  - Memory comes from the host's malloc (and, for the fast table's large
 *    arrays, from mmap); the library forces no allocator on its host.
 */
#ifndef SESSCOUNT_H
#define SESSCOUNT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define SC_API __attribute__((visibility("default")))
#else
#define SC_API
#endif

/* A host (and sesscount's own tests) may define SC_WARN_UNCHECKED before
 * including this header: every function that returns an sc_status is then
 * marked warn_unused_result, so a status left unchecked is a compiler
 * warning (an error under -Werror). */
#if defined(SC_WARN_UNCHECKED) && defined(__GNUC__)
#define SC_CHECKED __attribute__((warn_unused_result))
#else
#define SC_CHECKED
#endif

/* ------------------------------------------------------------------ */
/* Status codes                                                        */
/* ------------------------------------------------------------------ */

typedef enum sc_status {
    SC_OK = 0,
    SC_E_PARSE,              /* text is not a valid CIDR or address; see sc_error */
    SC_E_INVALID,            /* a NULL pointer, a bad family or prefix length */
    SC_E_NO_SERVICE,         /* the service name is not known to this registry */
    SC_E_NEEDS_CLUSTERING,   /* a clustering-only service in a table without clustering */
    SC_E_SERVICE_NAME,       /* an extra service name that is empty, too long or not printable ASCII */
    SC_E_SERVICE_DUPLICATE,  /* an extra service name equal (ignoring case) to another */
    SC_E_TOO_MANY_SERVICES,  /* more than SC_MAX_SERVICES services in all */
    SC_E_NOT_OPEN,           /* close of a session that is not open */
    SC_E_NOMEM,              /* out of memory */
    SC_E_RANGE,              /* a window range or an amount out of range (series) */
    SC_E_CONFLICT,           /* monitors already configured, as another list */
    SC_E_NOT_CONFIGURED,     /* no monitors configured (built-in event series) */
    SC_E_NO_MONITOR,         /* a monitor that is not one of the configured ones */
    SC_E_NO_SERIES,          /* no series of that name */
    SC_E_VIEW                /* inbound_cidr is the fleet's view: it is counted, never opened */
} sc_status;

/* A short English description of a status ("session is not open").
 * Never NULL; a static string.  Thread-safe.  O(1). */
SC_API const char *sc_strerror(sc_status status);

/* ------------------------------------------------------------------ */
/* Addresses and prefixes                                              */
/* ------------------------------------------------------------------ */

enum { SC_INET4 = 4, SC_INET6 = 6 };

/* An address: IPv4 in bytes[0..3] (the rest zero), IPv6 in bytes[0..15],
 * network byte order.  IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) are
 * always held as the IPv4 address they are: the parser converts them and
 * sc_addr_from_bytes() does too. */
typedef struct sc_addr {
    uint8_t family;          /* SC_INET4 or SC_INET6 */
    uint8_t bytes[16];
} sc_addr;

/* A prefix: an address whose bits past len are zero, and a length
 * (0..32 for IPv4, 0..128 for IPv6). */
typedef struct sc_prefix {
    sc_addr addr;
    uint8_t len;
} sc_prefix;

/* Makes an sc_addr from raw network-order bytes (4 for SC_INET4, 16 for
 * SC_INET6), turning an IPv4-mapped IPv6 address into IPv4.
 * Errors: SC_E_INVALID for a NULL pointer or a bad family.
 * Thread-safe; O(1). */
SC_API SC_CHECKED sc_status sc_addr_from_bytes(int family, const uint8_t *bytes, sc_addr *out);

/* Makes a prefix of `addr` and `len`, clearing the host bits past len and
 * turning an IPv4-mapped IPv6 prefix of length 96 or more into the IPv4
 * prefix of length len - 96.
 * Errors: SC_E_INVALID for a NULL pointer, a bad family or len out of range.
 * Thread-safe; O(1). */
SC_API SC_CHECKED sc_status sc_prefix_make(const sc_addr *addr, unsigned len, sc_prefix *out);

/* ------------------------------------------------------------------ */
/* Parsing and formatting                                              */
/* ------------------------------------------------------------------ */

/* Why a text was refused: stable codes, one per class of error in the
 * grammar.  Numbers never change meaning; new codes are only appended. */
typedef enum sc_parse_code {
    SC_PARSE_OK = 0,
    SC_PARSE_EMPTY,            /* empty input (or an empty address) */
    SC_PARSE_SPACE,            /* white space or NUL */
    SC_PARSE_ZONE,             /* a zone id: fe80::1%eth0 */
    SC_PARSE_NETMASK,          /* a netmask instead of a length: /255.255.255.0 */
    SC_PARSE_V4_SHORTHAND,     /* fewer than four IPv4 octets: 10/8, 10.1 */
    SC_PARSE_V4_OCTET_RANGE,   /* an IPv4 octet over 255 */
    SC_PARSE_V4_LEADING_ZERO,  /* an IPv4 octet with a leading zero (octal look-alike) */
    SC_PARSE_V4_HEX,           /* a hex IPv4 octet: 0x0a */
    SC_PARSE_V4_SYNTAX,        /* any other malformed IPv4 address */
    SC_PARSE_V6_SYNTAX,        /* a malformed IPv6 address (groups, colons, digits) */
    SC_PARSE_MASK_SYNTAX,      /* a mask that is empty, signed, non-decimal or has a leading zero */
    SC_PARSE_MASK_RANGE,       /* a mask past 32 (IPv4) or 128 (IPv6) */
    SC_PARSE_BRACKET,          /* brackets around an IPv4 address or the mask, or unbalanced */
    SC_PARSE_TRAILING,         /* anything after the prefix (or after an address) */
    SC_PARSE_NO_CONNECTING_IP, /* a relative mask (/24) without a connecting IP */
    SC_PARSE_MASK_NOT_ALLOWED, /* a mask where only an address is taken */
    SC_PARSE_MONITOR_SYNTAX,   /* a monitor that is not "W,N" (digits, one comma, one space) */
    SC_PARSE_MONITOR_RANGE     /* a monitor's W past 1..86400 or N past 1..1024 */
} sc_parse_code;

/* Where and why a text was refused.  `reason` is a static lowercase phrase
 * ("octet out of range"); `offset` is the byte offset into the input of the
 * first byte that no valid input could have there (the length of the input
 * when it ended too soon).  A form recognised as a whole is reported where
 * it begins: a netmask at the mask's first byte, brackets around an IPv4
 * address at the '[', and the octets of an IPv4 tail of an IPv6 address
 * (recognised at its first '.') as IPv4 read from the tail's first byte. */
typedef struct sc_error {
    sc_parse_code code;
    const char *reason;
    size_t offset;
} sc_error;

/* Parses a CIDR (SPEC "Counting"):
 *     cidr = "/" mask | host [ "/" mask ]      host = ipv4 | ipv6 | "[" ipv6 "]"
 * `connecting` (may be NULL) is the current session's peer that a relative
 * mask ("/24") applies to; its family sets the mask's range.  Host bits past
 * the mask are cleared; no mask means /32 or /128; IPv4-mapped prefixes of
 * length 96 or more become IPv4 prefixes.
 * Errors: SC_E_PARSE with *err filled (err may be NULL); SC_E_INVALID for a
 * NULL text with a non-zero length or a NULL out.
 * Thread-safe (no state); O(len); never allocates. */
SC_API SC_CHECKED sc_status sc_parse_cidr(const char *text, size_t len, const sc_addr *connecting,
                               sc_prefix *out, sc_error *err);

/* Parses one address: host = ipv4 | ipv6 | "[" ipv6 "]", no mask
 * (SC_PARSE_MASK_NOT_ALLOWED).  An IPv4-mapped address becomes IPv4.
 * Errors, thread-safety and cost as sc_parse_cidr. */
SC_API SC_CHECKED sc_status sc_parse_addr(const char *text, size_t len, sc_addr *out, sc_error *err);

/* The longest canonical text plus its NUL: a full IPv6 address and "/128". */
#define SC_PREFIX_TEXT_MAX 44

/* Writes the canonical text of a prefix into buf (NUL-terminated):
 * "192.0.2.0/24", or RFC 5952 for IPv6 ("2001:db8::/32": lowercase, no
 * leading zeros, the longest run of two or more zero groups compressed, the
 * first on a tie, every group in hex, never a dotted tail), always with the
 * mask.  Returns the text's length (without the NUL), or 0 when buf is
 * NULL, cap < SC_PREFIX_TEXT_MAX or the prefix is invalid.
 * Thread-safe; O(1); never allocates. */
SC_API size_t sc_format_prefix(const sc_prefix *prefix, char *buf, size_t cap);

/* ------------------------------------------------------------------ */
/* Services                                                            */
/* ------------------------------------------------------------------ */

/* A service id: an index into a registry.  The built-ins come first, in
 * this order; a table's extra services follow from SC_SERVICE_FIRST_EXTRA
 * in the order given. */
typedef uint16_t sc_service;
enum {
    SC_SERVICE_SMTP = 0,
    SC_SERVICE_ECSTREAM,
    SC_SERVICE_CONTROL,
    SC_SERVICE_ECMMOVE2,      /* clustering only */
    SC_SERVICE_ECCLUSTER,     /* clustering only */
    SC_SERVICE_INBOUND_CIDR,  /* clustering only */
    SC_SERVICE_FIRST_EXTRA
};

#define SC_MAX_SERVICES 128      /* built-ins and extras together */
#define SC_SERVICE_NAME_MAX 63   /* bytes in an extra service name */

/* Seconds since the Unix epoch: the time windowed counts (series) are
 * given.  SC_NOW in a call asks for the table's clock instead. */
typedef int64_t sc_time;
#define SC_NOW INT64_MIN

/* What a table is made with. */
typedef struct sc_options {
    bool clustering;                 /* enables ECmmove2, ECCluster, inbound_cidr */
    const char *const *extra_services; /* NUL-terminated names, may be NULL */
    size_t n_extra_services;
    /* The clock of series calls given SC_NOW (NULL: the real time,
     * CLOCK_REALTIME in whole seconds).  Called from any thread that
     * makes such a call; it must be thread-safe.  A test or a simulation
     * drives time with it. */
    sc_time (*clock)(void *clock_arg);
    void *clock_arg;
    /* With clustering false: the table may still join a cluster later
     * (sesscount_cluster.h); its clustering-only names resolve from the
     * join on.  SMTP opens and closes then cost a per-CPU lock, as with
     * clustering.  The stand-alone Lua module's table is made so. */
    bool join_later;
} sc_options;

/* Resolves a service name against the registry that `opts` describes
 * (NULL: no clustering, no extras), matching ASCII case-insensitively.
 * Errors: SC_E_NO_SERVICE for an unknown name; SC_E_NEEDS_CLUSTERING for a
 * clustering-only name when opts->clustering is false; SC_E_INVALID for
 * NULL pointers.  Does not validate the extras (sc_options_check does).
 * Thread-safe; O(number of services x name length). */
SC_API SC_CHECKED sc_status sc_service_resolve(const sc_options *opts, const char *name, size_t len,
                                    sc_service *out);

/* Checks that `opts` makes a valid registry: every extra name is 1 to
 * SC_SERVICE_NAME_MAX printable ASCII bytes (no space), none equals a
 * built-in or another extra ignoring case, and there are at most
 * SC_MAX_SERVICES services in all.  On failure *bad (may be NULL) gets the
 * index of the offending extra name.
 * Errors: SC_E_SERVICE_NAME, SC_E_SERVICE_DUPLICATE, SC_E_TOO_MANY_SERVICES,
 * SC_E_INVALID.  Thread-safe; O(n^2) in the number of extras. */
SC_API SC_CHECKED sc_status sc_options_check(const sc_options *opts, size_t *bad);

/* The canonical spelling of a built-in service ("SMTP"), or NULL. O(1). */
SC_API const char *sc_builtin_service_name(sc_service id);

/* ------------------------------------------------------------------ */
/* Tables                                                              */
/* ------------------------------------------------------------------ */

typedef struct sc_impl sc_impl;     /* an implementation: its operations table */
typedef struct sc_table sc_table;   /* a table of open sessions */

/* The sharded, lock-free trie: what hosts embed. */
SC_API const sc_impl *sc_impl_fast(void);
/* The reference: a list of open sessions and a linear scan per count, every
 * operation under one mutex.  The oracle for tests; O(sessions) counts. */
SC_API const sc_impl *sc_impl_ref(void);
/* "fast" or "ref". */
SC_API const char *sc_impl_name(const sc_impl *impl);

/* Creates an empty table of implementation `impl` (NULL: fast) with the
 * registry `opts` describes (NULL: no clustering, no extras).  The names are
 * copied.
 * Errors: those of sc_options_check, SC_E_INVALID, SC_E_NOMEM.
 * Thread-safe; O(number of services). */
SC_API SC_CHECKED sc_status sc_table_new(const sc_impl *impl, const sc_options *opts, sc_table **out);

/* Frees a table and everything it holds (NULL is allowed).  No other thread
 * may use the table during or after the call.  O(sessions). */
SC_API void sc_table_free(sc_table *table);

/* The table's implementation.  Thread-safe; O(1). */
SC_API const sc_impl *sc_table_impl(const sc_table *table);

/* Resolves a service name in the table's registry: sc_service_resolve with
 * the table's options.  Thread-safe; O(services x name length); no
 * allocation. */
SC_API SC_CHECKED sc_status sc_table_service(const sc_table *table, const char *name, size_t len,
                                  sc_service *out);

/* Opens one session of `service` from `addr` (sessions may share an
 * address).  An IPv4-mapped IPv6 address (a sockaddr_in6 copied as is) is
 * the IPv4 address it maps.
 * Errors: SC_E_INVALID (NULL, bad family, service id out of range),
 * SC_E_NOMEM (out of memory; fast also when 2^44 - 1 sessions of the
 * service are already open in the address's /16); on error nothing changed.
 * Thread-safe, concurrently with every other call on the table.  fast,
 * out of memory only: the call may wait for an RCU grace period, so a host
 * that uses liburcu-bp itself must not open or close inside its own
 * read-side section.
 * fast: O(1) (a walk of at most 16 address bytes; may allocate nodes);
 * ref: O(1) amortised. */
SC_API SC_CHECKED sc_status sc_open(sc_table *table, const sc_addr *addr, sc_service service);

/* Closes one session of `service` from `addr`.
 * Errors: SC_E_NOT_OPEN when no such session is open (nothing changes: no
 * count is touched), SC_E_INVALID as for sc_open.
 * Thread-safe as sc_open (and, as there, may wait for a grace period when
 * out of memory).  fast: O(1), frees emptied nodes after a grace
 * period; ref: O(sessions). */
SC_API SC_CHECKED sc_status sc_close(sc_table *table, const sc_addr *addr, sc_service service);

/* Counts the open sessions of `service` whose address lies inside `prefix`.
 * IPv4 sessions are counted by IPv4 prefixes only, IPv6 by IPv6 only; an
 * IPv4-mapped IPv6 prefix of length 96 or more is the IPv4 prefix of length
 * len - 96 (as the parser makes it).  The prefix's host bits must be clear
 * (sc_prefix_make and the parser clear them).
 * Exact at quiescence; during concurrent updates the result lies between
 * (value before - closes running) and (value before + opens running), and
 * is never negative.
 * Errors: SC_E_INVALID (NULL, bad family, length out of range, host bits
 * set, service id out of range).
 * Thread-safe; never blocks, never allocates.  fast: lock-free, O(1) (at
 * most 16 dependent loads; it reads the last slot again when an update
 * has just relinked it, so only completed writes make it go round);
 * ref: O(sessions). */
SC_API SC_CHECKED sc_status sc_count(const sc_table *table, const sc_prefix *prefix, sc_service service,
                          uint64_t *out);

/* The whole path from text: parses `cidr` (relative to `connecting`, may be
 * NULL) with the table implementation's parser, resolves `service` in the
 * table's registry and counts.
 * Errors: those of sc_parse_cidr, sc_table_service and sc_count.
 * Thread-safe; O(text length) plus sc_count's cost. */
SC_API SC_CHECKED sc_status sc_count_text(const sc_table *table, const char *cidr, size_t cidr_len,
                               const sc_addr *connecting, const char *service,
                               size_t service_len, uint64_t *out, sc_error *err);

/* The bytes the table holds right now: its structures and every node, as
 * allocated, its series and their windows included (a window that left
 * its ring counts until its grace period ends; sc_table_reclaim waits for
 * that).  Thread-safe; O(CPU stripes) for fast, O(1) for ref. */
SC_API size_t sc_table_bytes(const sc_table *table);

/* Waits until the memory the table has retired so far (nodes and series
 * windows waiting for readers to move on) is freed: an RCU barrier, for
 * tests and shutdown.  It blocks: never call it from a count path or from
 * inside a liburcu-bp read-side section of the host's own.  O(retired). */
SC_API void sc_table_reclaim(const sc_table *table);

/* ------------------------------------------------------------------ */
/* Walks: where sessions branch, and the busiest prefixes              */
/* ------------------------------------------------------------------ */

/* One prefix of a walk and its count of open sessions. */
typedef struct sc_branch {
    sc_prefix prefix;
    uint64_t count;
} sc_branch;

/* What a walk hands each prefix to.  `b` lives during the call only.
 * Returns 0 to go on, non-zero to stop. */
typedef int (*sc_visit_fn)(void *arg, const sc_branch *b);

/* The order of walks and of sc_top's ties: IPv4 before IPv6, then by
 * address, then a shorter prefix before a longer one of the same address
 * (so a prefix comes before the prefixes under it: pre-order). */

/* Calls visit(arg, &branch) for each prefix under `root` where the open
 * sessions of `service` branch (the shape of Momentum's `cluster shared
 * show inbound_cidr`), each once, in the order above:
 *  - root itself, when it holds any session;
 *  - every prefix that is the longest common prefix of two or more
 *    addresses with sessions and has sessions on both sides of its next
 *    bit (a branching point);
 *  - every full address (/32, /128) with sessions.
 * The prefixes under root form a binary (Patricia) trie of the addresses
 * with sessions: at most 2 x (those addresses) of them, plus root.  Each
 * count is what sc_count would answer for its prefix; a prefix with no
 * session is never listed.  When visit returns non-zero the walk stops and
 * sc_walk_tree returns SC_OK.
 * root is taken as sc_count takes it: host bits clear, and an IPv4-mapped
 * IPv6 prefix of length 96 or more is the IPv4 prefix of length len - 96,
 * whose walk hands over IPv4 prefixes.  An IPv4 root walks IPv4 sessions
 * only and an IPv6 root IPv6 ones only: `::/0` lists no IPv4 session,
 * `0.0.0.0/0` and `::ffff:0:0/96` list every IPv4 one.
 * Errors: SC_E_INVALID (NULL table, root or visit; a root sc_count
 * refuses; a service id out of range); SC_E_NOMEM (ref only, which copies
 * the sessions under root; visit has not been called then).
 * Thread-safety: concurrently with every other call on the table, and it
 * blocks none: fast takes no lock, it reads as sc_count does, in short RCU
 * read-side sections.  visit is always called with no lock of the table
 * held and outside any read-side section (fast gathers up to 128 prefixes
 * in a section, leaves it, hands them over, then resumes after the last
 * one), so visit may call any sesscount function, sc_open and sc_close on
 * this table included.  At quiescence the walk is exact.  While updates
 * run, each count lies within sc_count's bounds taken over the whole walk:
 * between (value before the walk - closes running) and (value before +
 * opens running), never negative; the prefixes listed are those of the
 * states the walk passed through (a prefix may be listed as branching just
 * after it stopped), still in order, never one twice.
 * Cost: fast: O(nodes under root) (every child of each, up to 256 a node),
 * plus, for a root shorter than /16, one pass over its 2^(16 - len) /16
 * slots; each batch of 128 resumes with a descent of at most 16 nodes;
 * about 17 KiB of stack; never allocates.  ref: O(sessions) under its
 * lock, then O(k log k) on a copy of the k sessions under root. */
SC_API SC_CHECKED sc_status sc_walk_tree(const sc_table *table, const sc_prefix *root,
                                         sc_service service, sc_visit_fn visit, void *arg);

/* sc_top's family for both families ranked together (AF_UNSPEC's part). */
enum { SC_INET_ANY = 0 };

/* The (at most) n prefixes of length `len` with the most open sessions of
 * `service`, most first, ties in the order above (IPv4 before IPv6, then
 * by address), written to out[0..*found).  family: SC_INET4 (len 0..32),
 * SC_INET6 (len 0..128) or SC_INET_ANY (both ranked together, len 0..128:
 * IPv4 prefixes only when len <= 32).  A prefix with no session is never
 * listed; *found < n when fewer prefixes hold sessions.  n may be 0 (out
 * may then be NULL).  IPv4-mapped sessions are IPv4, as everywhere.
 * Each count is what sc_count would answer for its prefix: exact at
 * quiescence, within sc_count's bounds (over the whole call) while updates
 * run, which may then also leave out a prefix that ranked only for a
 * moment.
 * Errors: SC_E_INVALID (NULL table or found; a family other than the
 * three; len out of range for the family; out NULL with n > 0; a service
 * id out of range): nothing is written.  SC_E_NOMEM (ref only, see
 * sc_walk_tree): *found is untouched, out[] may have been written.
 * Thread-safety: as sc_walk_tree (no lock in fast); calls no callback.
 * Cost: a walk of the family (or of each, SC_INET_ANY) that goes no deeper
 * than `len`: fast reads the 2^16 /16 slots once (about 30 us), then
 * O(nodes above len + P) with P the prefixes of length len that hold
 * sessions; then O(P log n) to rank them in out[] itself.  Never
 * allocates in fast; ref as sc_walk_tree. */
SC_API SC_CHECKED sc_status sc_top(const sc_table *table, int family, unsigned len,
                                   sc_service service, size_t n, sc_branch *out, size_t *found);

/* ------------------------------------------------------------------ */
/* Windowed counts: monitors and series                                */
/* ------------------------------------------------------------------ */

/* A monitor: a ring of `windows` windows of `interval` seconds each,
 * aligned to the clock: at time t, window 0 is [W*floor(t/W), +W) (the
 * current one, partial) and window k the one k windows before it. */
typedef struct sc_monitor {
    uint32_t interval;       /* W, 1..SC_MONITOR_INTERVAL_MAX seconds */
    uint32_t windows;        /* N, 1..SC_MONITOR_WINDOWS_MAX */
} sc_monitor;

#define SC_MONITOR_INTERVAL_MAX 86400u
#define SC_MONITOR_WINDOWS_MAX 1024u
#define SC_MONITOR_TEXT_MAX 12   /* "86400,1024" and its NUL */

/* Parses a monitor "W,N": both decimal, no sign, no leading zeros, one
 * optional ASCII space after the comma ("300, 6"), nothing else.
 * Errors: SC_E_PARSE with *err filled (err may be NULL): SC_PARSE_EMPTY,
 * SC_PARSE_SPACE (any other white space or NUL), SC_PARSE_MONITOR_SYNTAX,
 * SC_PARSE_MONITOR_RANGE, each at the offset of the first byte no valid
 * monitor could have there; SC_E_INVALID for a NULL text with a non-zero
 * length or a NULL out.  Thread-safe; O(len); never allocates. */
SC_API SC_CHECKED sc_status sc_monitor_parse(const char *text, size_t len, sc_monitor *out,
                                             sc_error *err);

/* Writes "W,N" (no space) into buf, NUL-terminated.  Returns the length,
 * or 0 when buf is NULL, cap < SC_MONITOR_TEXT_MAX or the monitor is out
 * of range.  Thread-safe; O(1). */
SC_API size_t sc_monitor_format(const sc_monitor *m, char *buf, size_t cap);

/* A series counts events per key in the windows of one monitor (SPEC
 * "Windowed counts").  A CIDR series answers by any prefix; a string series
 * counts keys of 1 to SC_SERIES_KEY_MAX bytes by exact key.  It belongs to the table
 * it was made on and lives until sc_series_free or sc_table_free.
 *
 * Time.  Every call takes a time (or SC_NOW: the table's clock).  The
 * series keeps the windows from the newest one any call has reached back
 * N - 1 windows; a call at a later time moves that ring on (windows that
 * leave it are gone, their memory freed after a grace period), a call at
 * an earlier time (the clock stepped back) works on its own windows as far
 * as they are still in the ring: an add older than the ring is dropped,
 * and a count counts nothing there.
 *
 * Keys are addresses: IPv4 and IPv6 alike, IPv4-mapped IPv6 is IPv4, and a
 * prefix counts the keys of its own family, as for sessions.  A key's count
 * in a window never goes below zero.  The counts of one window under one
 * first address byte (one IPv4 /8, or IPv6 /8) are at most
 * SC_SERIES_COUNT_MAX: an add past it fails with SC_E_RANGE.
 *
 * Thread-safety: add, remove and count may run on any number of threads at
 * once on one series; a count takes no lock and never blocks, nor does the
 * turn of a window block an add or a count.  While adds run, a count lies
 * between its value before and after them, as sc_count does. */
typedef struct sc_series sc_series;

#define SC_SERIES_COUNT_MAX ((UINT64_C(1) << 44) - 1)
#define SC_SERIES_KEY_MAX 255    /* bytes in a string key */

typedef enum sc_series_kind {
    SC_SERIES_CIDR = 0,      /* address keys, counted by prefix (Momentum's cidr) */
    SC_SERIES_STRING,        /* keys of 1 to 255 bytes, counted by exact key */
    SC_SERIES_CIDR_IPV6      /* Momentum's cidr_ipv6: as SC_SERIES_CIDR, either family
                                alike; a kind of its own only so that a name defined
                                as one is not taken as the other */
} sc_series_kind;

/* Makes a series of `kind` and monitor `m` on `table` (its implementation
 * does the counting).  Errors: SC_E_INVALID (NULL, a bad kind, a monitor
 * out of range), SC_E_NOMEM.  Thread-safe.  O(N): the ring of N windows,
 * each made when its first event comes. */
SC_API SC_CHECKED sc_status sc_series_new(sc_table *table, sc_series_kind kind, const sc_monitor *m,
                                          sc_series **out);

/* The series' kind.  Thread-safe; O(1). */
SC_API sc_series_kind sc_series_kind_of(const sc_series *series);

/* Frees a series and its windows (NULL is allowed).  No other thread may
 * use it during or after the call.  O(its keys). */
SC_API void sc_series_free(sc_series *series);

/* The series' monitor.  Thread-safe; O(1). */
SC_API sc_monitor sc_series_monitor(const sc_series *series);

/* Adds n to key's count in the window of `now` (window 0 when now is the
 * newest time the series has seen).  A negative n takes |n|, at most what
 * the key holds there (its count never goes below zero); n = 0 changes
 * nothing.  An add older than the ring changes nothing and returns SC_OK.
 * Errors: SC_E_INVALID (NULL, a bad family), SC_E_RANGE (the count of the
 * key's first byte in that window would pass SC_SERIES_COUNT_MAX),
 * SC_E_NOMEM; on error nothing changed.
 * Thread-safe.  fast: O(1), a walk of at most 16 address bytes under the
 * lock of the key's first byte in that window; ref: O(entries). */
SC_API SC_CHECKED sc_status sc_series_add(sc_series *series, const sc_addr *key, int64_t n,
                                          sc_time now);

/* Forgets `key` (that exact address) in every window of the ring.
 * Errors: SC_E_INVALID.  Thread-safe; O(N) walks (fast), O(entries) (ref). */
SC_API SC_CHECKED sc_status sc_series_remove(sc_series *series, const sc_addr *key, sc_time now);

/* The sum, over windows startv to endv (0 <= startv <= endv <= N - 1) at
 * time `now`, of the counts of keys inside `prefix` (host bits clear;
 * IPv4-mapped IPv6 prefixes of 96 or more are IPv4, as for sc_count).
 * Errors: SC_E_INVALID (NULL, a bad prefix), SC_E_RANGE (a bad window
 * range).  Thread-safe, lock-free, never allocates.  fast: O(windows in
 * the range) short walks, as sc_count's; ref: O(entries). */
SC_API SC_CHECKED sc_status sc_series_count(const sc_series *series, const sc_prefix *prefix,
                                            unsigned startv, unsigned endv, sc_time now,
                                            uint64_t *out);

/* The same from text: `cidr` parsed as by sc_parse_cidr relative to
 * `connecting` ("/24" is the connecting IP's /24); a NULL cidr is the
 * connecting IP itself (its /32 or /128).
 * Errors: those of sc_parse_cidr and sc_series_count.  Thread-safe. */
SC_API SC_CHECKED sc_status sc_series_count_text(const sc_series *series, const char *cidr,
                                                 size_t cidr_len, const sc_addr *connecting,
                                                 unsigned startv, unsigned endv, sc_time now,
                                                 uint64_t *out, sc_error *err);

/* String series: the same as sc_series_add, sc_series_remove and
 * sc_series_count, for a key of 1 to SC_SERIES_KEY_MAX bytes (any bytes),
 * counted by exact key.  A string series takes only these, and a CIDR
 * series never does (SC_E_INVALID).  fast keeps a string key under its
 * 128-bit SipHash-2-4 with a random key of the table's, drawn at
 * sc_table_new: two keys share a count only if their hashes collide, about
 * n^2 / 2^129 for n keys in a window (10^-25 for ten million), and nobody
 * who does not know the table's key can aim at that.  Its SC_E_RANGE limit
 * is per window and hash bucket (256 buckets); ref's matches it.
 * Errors, thread-safety and cost as the CIDR functions, plus O(key length). */
SC_API SC_CHECKED sc_status sc_series_add_string(sc_series *series, const char *key, size_t len,
                                                 int64_t n, sc_time now);
SC_API SC_CHECKED sc_status sc_series_remove_string(sc_series *series, const char *key,
                                                    size_t len, sc_time now);
SC_API SC_CHECKED sc_status sc_series_count_string(const sc_series *series, const char *key,
                                                   size_t len, unsigned startv, unsigned endv,
                                                   sc_time now, uint64_t *out);

/* Named series, shared by everything bound to one table (the series of
 * Momentum's msys.audit_series.define).  Defines `name` (1 to 255 bytes,
 * matched exactly) as a series of `kind` and `m`, or finds it when it is
 * already defined with the same kind and monitor.
 * Errors: SC_E_INVALID, SC_E_CONFLICT (defined with another kind or
 * monitor), SC_E_NOMEM.  Thread-safe; O(named series). */
SC_API SC_CHECKED sc_status sc_table_define_series(sc_table *table, const char *name, size_t len,
                                                   sc_series_kind kind, const sc_monitor *m,
                                                   sc_series **out);

/* The series defined as `name`.  Errors: SC_E_INVALID, SC_E_NO_SERIES.
 * Thread-safe; O(named series). */
SC_API SC_CHECKED sc_status sc_table_find_series(const sc_table *table, const char *name,
                                                 size_t len, sc_series **out);

/* Fleets (SPEC "The fleet"; sesscount_cluster.h joins one).  A series
 * whose changes the table's cluster ships to the other nodes is
 * "replicated": the built-in event series of a table made with clustering
 * always are; a named series is once marked here (Momentum's replicate =
 * "cluster").  The fleet knows a series by its kind, monitor and name, so
 * the same name defined otherwise on another node is another series.  Only
 * changes made after the table joined a cluster are shipped (the fleet
 * counts a series' events from the join on).
 * A node may replicate up to 1024 series (built-in ones included): the
 * other nodes drop a node that ships more, until its next full state.
 * Errors: SC_E_INVALID (NULL, a series made by sc_series_new: it has no
 * name the fleet could know it by).  Marking twice is a no-op; it cannot be
 * undone.  On a table without clustering it changes nothing.  Thread-safe;
 * O(1). */
SC_API SC_CHECKED sc_status sc_series_replicate(sc_series *series);

/* Whether the series' changes go to a fleet: replicated and on a table
 * with clustering.  Thread-safe; O(1). */
SC_API bool sc_series_replicated(const sc_series *series);

/* sc_series_count and sc_series_count_string over the fleet (Lua's
 * cluster = true): this node's count plus, for a replicated series of a
 * table that joined a cluster, the same series on every other live node
 * (its replica here: kind, monitor and name equal).  A series that is not
 * replicated, or a table that joined nothing, counts this node alone (a
 * cluster of one).  The others' windows are taken at this node's time:
 * clocks apart by more than the lag shift events between windows.
 * Errors: those of sc_series_count and sc_series_count_string.
 * Thread-safe, lock-free, never waits on the network.  Cost: this node's
 * count plus one per other node (its replica's windows). */
SC_API SC_CHECKED sc_status sc_series_count_cluster(const sc_series *series,
                                                    const sc_prefix *prefix, unsigned startv,
                                                    unsigned endv, sc_time now, uint64_t *out);
SC_API SC_CHECKED sc_status sc_series_count_string_cluster(const sc_series *series,
                                                           const char *key, size_t len,
                                                           unsigned startv, unsigned endv,
                                                           sc_time now, uint64_t *out);

/* The built-in event kinds of Momentum's msys.audit. */
typedef enum sc_event {
    SC_EVENT_CONNECTION = 0,  /* msys.audit.connections */
    SC_EVENT_RECEPTION,       /* msys.audit.receptions: messages accepted */
    SC_EVENT_REJECTION,       /* msys.audit.rejections: connections, senders, recipients or messages refused */
    SC_EVENTS
} sc_event;

/* Sets the monitors of the table's built-in event series: for each event
 * kind, one series per monitor.  Configuring again with the same list (in
 * the same order) is a no-op; another list is SC_E_CONFLICT (the series
 * already count).  Errors: SC_E_INVALID (NULL, no monitor, a monitor out
 * of range, the same monitor twice), SC_E_CONFLICT, SC_E_NOMEM.
 * Thread-safe: concurrent calls settle on one list.  O(n). */
SC_API SC_CHECKED sc_status sc_table_set_monitors(sc_table *table, const sc_monitor *monitors,
                                                  size_t n);

/* Notes n events of `kind` from `addr` at `now`: adds n to that kind's
 * series of every configured monitor, in the order configured.  Errors:
 * SC_E_NOT_CONFIGURED, and those of sc_series_add (it stops at the first:
 * the series before it have counted the events).  Thread-safe; O(monitors)
 * adds. */
SC_API SC_CHECKED sc_status sc_table_note(sc_table *table, sc_event kind, const sc_addr *addr,
                                          int64_t n, sc_time now);

/* The table's series of `kind` for monitor `m` (equal W and N), for
 * sc_series_count and sc_series_count_text.  Errors: SC_E_INVALID,
 * SC_E_NOT_CONFIGURED, SC_E_NO_MONITOR.  Thread-safe; O(monitors). */
SC_API SC_CHECKED sc_status sc_table_event_series(const sc_table *table, sc_event kind,
                                                  const sc_monitor *m, sc_series **out);

#ifdef __cplusplus
}
#endif

#endif /* SESSCOUNT_H */
