/*
 * fuzz_common.h: what the fuzz targets share: the libFuzzer entry point's
 * prototype, and how a finding is reported (the input in hex and as
 * escaped text, then abort()).  A target aborts on a real bug only; there
 * is no other way out of LLVMFuzzerTestOneInput.
 *
 * The same target sources build two ways: with clang's libFuzzer
 * (fuzz_cidr, fuzz_ops) and, with any compiler, against replay_main.c
 * (replay_cidr, replay_ops), which feeds every corpus file to
 * LLVMFuzzerTestOneInput as an ordinary CTest test.
 */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* For a target's own bookkeeping (its model's linear scans): no coverage
 * instrumentation, whose comparison hooks would cost more than the code
 * under test and guide nothing. */
#if defined(__clang__) && __clang_major__ >= 13
#define FZ_NO_COVERAGE __attribute__((no_sanitize("coverage")))
#else
#define FZ_NO_COVERAGE
#endif

/* The input being run, for reports: set at the top of each call. */
static const uint8_t *fz_input;
static size_t fz_input_size;

static inline void fz_begin(const uint8_t *data, size_t size)
{
    fz_input = data;
    fz_input_size = size;
}

/* Bytes as C-ish text: printable ASCII as is, the rest as \xNN. */
static inline void fz_escape(FILE *f, const void *p, size_t n)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++) {
        if (s[i] >= ' ' && s[i] <= '~' && s[i] != '\\' && s[i] != '"') fputc(s[i], f);
        else fprintf(f, "\\x%02x", s[i]);
    }
}

/* Writes escaped bytes into buf (NUL-terminated, truncated to cap). */
static inline const char *fz_escape_buf(char *buf, size_t cap, const void *p, size_t n)
{
    const unsigned char *s = p;
    size_t k = 0;
    for (size_t i = 0; i < n && k + 5 < cap; i++) {
        if (s[i] >= ' ' && s[i] <= '~' && s[i] != '\\' && s[i] != '"') buf[k++] = (char)s[i];
        else k += (size_t)snprintf(buf + k, cap - k, "\\x%02x", s[i]);
    }
    if (cap) buf[k < cap ? k : cap - 1] = '\0';
    return buf;
}

/* SC_FUZZ_TRACE=1 in the environment: the targets print what each input
 * does (to read a corpus file or a crash). */
static inline bool fz_trace(void)
{
    static int on = -1;
    if (on < 0) {
        const char *e = getenv("SC_FUZZ_TRACE");
        on = e && *e && e[0] != '0';
    }
    return on;
}

#if defined(__GNUC__)
__attribute__((format(printf, 1, 2), noreturn))
#endif
static void fz_fail(const char *fmt, ...);

/* Prints "FUZZ FINDING: <message>", the input, and aborts. */
static void fz_fail(const char *fmt, ...)
{
    va_list ap;
    fputs("\nFUZZ FINDING: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\ninput (%zu bytes) hex:", fz_input_size);
    for (size_t i = 0; i < fz_input_size; i++) fprintf(stderr, "%s%02x", i % 32 ? "" : "\n  ",
                                                         fz_input[i]);
    fputs("\ninput as text: \"", stderr);
    fz_escape(stderr, fz_input, fz_input_size);
    fputs("\"\n", stderr);
    fflush(stderr);
    abort();
}

#endif /* FUZZ_COMMON_H */
