/*
 * sc_tsan.h: tells ThreadSanitizer about the ordering RCU provides.
 *
 * liburcu's grace periods are built from barriers TSan cannot see, so it
 * would report every free in a call_rcu callback as racing with the readers
 * and writers that touched the node before.  RCU does order them: a node is
 * retired after its last writer (under the shard lock) and freed after
 * every reader that could see it has left its read-side section.  These
 * annotations state exactly that; outside TSan builds they are nothing.
 */
#ifndef SC_TSAN_H
#define SC_TSAN_H

#if defined(__SANITIZE_THREAD__)
#define SC_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SC_TSAN 1
#endif
#endif

#ifdef SC_TSAN
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
extern char sc_tsan_grace;   /* one clock for "a reader left its section" */
#define sc_tsan_reader_done() __tsan_release(&sc_tsan_grace)
#define sc_tsan_retire(p) __tsan_release(p)
#define sc_tsan_reclaim(p) (__tsan_acquire(p), __tsan_acquire(&sc_tsan_grace))
#else
#define sc_tsan_reader_done() ((void)0)
#define sc_tsan_retire(p) ((void)(p))
#define sc_tsan_reclaim(p) ((void)(p))
#endif

#endif /* SC_TSAN_H */
