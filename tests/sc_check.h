/*
 * sc_check.h: the tests' check framework, one header, no dependencies.
 *
 *     CHECK(cond, fmt, ...)   counts a check; on failure prints
 *                             "file:line: CHECK(cond) failed: <message>"
 *                             where the message names the input that broke.
 *                             Evaluates to cond (0 or 1), so a test can stop
 *                             early: if (!CHECK(p, "...")) return;
 *     RUN(test_fn)            runs one test (a void function named for the
 *                             behaviour it pins down) and prints its name
 *                             when it failed.
 *     check_done()            prints "N checks, M failed" and returns the
 *                             process exit status (0 when nothing failed).
 *
 * The counters live in a function-local static, so the header may be
 * included by any number of files of one test executable without warnings.
 */
#ifndef SC_CHECK_H
#define SC_CHECK_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct sc_check_state {
    unsigned long checks;
    unsigned long failed;
} sc_check_state;

static inline sc_check_state *sc_check_state_get(void)
{
    static sc_check_state state;
    return &state;
}

static inline int sc_check_pass(void)
{
    sc_check_state_get()->checks++;
    return 1;
}

__attribute__((format(printf, 4, 5))) static inline int
sc_check_fail(const char *file, int line, const char *cond, const char *fmt, ...)
{
    sc_check_state *s = sc_check_state_get();
    s->checks++;
    s->failed++;
    fprintf(stderr, "%s:%d: CHECK(%s) failed: ", file, line, cond);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 0;
}

#define CHECK(cond, ...) \
    ((cond) ? sc_check_pass() : sc_check_fail(__FILE__, __LINE__, #cond, __VA_ARGS__))

static inline void sc_check_run(const char *name, void (*fn)(void))
{
    unsigned long before = sc_check_state_get()->failed;
    fn();
    unsigned long failed = sc_check_state_get()->failed - before;
    if (failed) fprintf(stderr, "FAIL %s (%lu failed)\n", name, failed);
    else printf("ok   %s\n", name);
    fflush(stdout);
}

#define RUN(fn) sc_check_run(#fn, fn)

static inline int check_done(void)
{
    sc_check_state *s = sc_check_state_get();
    printf("%lu checks, %lu failed\n", s->checks, s->failed);
    fflush(stdout);
    if (s->checks == 0) {
        fprintf(stderr, "no checks ran\n");
        return EXIT_FAILURE;
    }
    return s->failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif /* SC_CHECK_H */
