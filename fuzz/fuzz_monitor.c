/*
 * fuzz_monitor.c: the monitor parser ("W,N") held against an oracle of its
 * own, written here from SPEC's words.
 *
 * Input: the monitor text, any bytes.
 * Checks (any failure prints the input and aborts):
 *  1. sc_monitor_parse accepts exactly what the oracle accepts (decimal W in
 *     1..86400 and N in 1..1024, no sign or leading zero, one comma, at most
 *     one space right after it, nothing else), with the same W and N.
 *  2. A refusal leaves `out` untouched, gives a reason and an offset within
 *     the input, SC_PARSE_EMPTY exactly for empty input, and SC_PARSE_SPACE
 *     only at a white-space or NUL byte; err may be NULL (same status).
 *  3. An accepted monitor formats (sc_monitor_format) as "W,N" and that text
 *     parses back to the same monitor.
 * The parser reads from an exactly sized heap copy: an over-read shows
 * under ASan.
 */
#include <string.h>

#include "fuzz_common.h"
#include "sesscount.h"

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

static bool is_ws(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f' || c == 0;
}

/* A decimal number in [lo, hi] at s[*i], no leading zero. */
static bool oracle_number(const char *s, size_t n, size_t *i, unsigned long hi, uint32_t *out)
{
    size_t j = *i;
    unsigned long v = 0;
    if (j >= n || !is_digit(s[j]) || (s[j] == '0' && j + 1 < n && is_digit(s[j + 1])))
        return false;
    for (; j < n && is_digit(s[j]); j++) {
        v = v * 10 + (unsigned long)(s[j] - '0');
        if (v > hi) return false;
    }
    if (v < 1) return false;
    *i = j;
    *out = (uint32_t)v;
    return true;
}

static bool oracle(const char *s, size_t n, sc_monitor *m)
{
    size_t i = 0;
    if (!oracle_number(s, n, &i, 86400, &m->interval)) return false;
    if (i >= n || s[i] != ',') return false;
    i++;
    if (i < n && s[i] == ' ') i++;
    if (!oracle_number(s, n, &i, 1024, &m->windows)) return false;
    return i == n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_begin(data, size);
    char *s = malloc(size ? size : 1);
    if (!s) return 0;
    memcpy(s, data, size);
    sc_monitor m = {77, 77}, want;
    sc_error err = {SC_PARSE_OK, NULL, 9999};
    sc_status st = sc_monitor_parse(s, size, &m, &err);
    bool ok = oracle(s, size, &want);
    sc_monitor m2 = {77, 77};
    if (sc_monitor_parse(s, size, &m2, NULL) != st) fz_fail("NULL err changes the status");
    if (ok != (st == SC_OK))
        fz_fail("parser says %d, oracle says %s", (int)st, ok ? "valid" : "invalid");
    if (ok) {
        if (m.interval != want.interval || m.windows != want.windows)
            fz_fail("parsed %u,%u, oracle %u,%u", m.interval, m.windows, want.interval,
                    want.windows);
        char buf[SC_MONITOR_TEXT_MAX], exp[32];
        size_t len = sc_monitor_format(&m, buf, sizeof buf);
        snprintf(exp, sizeof exp, "%u,%u", want.interval, want.windows);
        if (len != strlen(exp) || strcmp(buf, exp) != 0) fz_fail("formats as \"%s\"", buf);
        sc_monitor back = {0, 0};
        if (sc_monitor_parse(buf, len, &back, NULL) != SC_OK || back.interval != m.interval ||
            back.windows != m.windows)
            fz_fail("\"%s\" does not parse back", buf);
    } else {
        if (st != SC_E_PARSE) fz_fail("status %d for invalid text", (int)st);
        if (m.interval != 77 || m.windows != 77) fz_fail("out changed on an error");
        if (!err.reason || err.offset > size) fz_fail("reason %p offset %zu", (const void *)err.reason,
                                                       err.offset);
        if ((err.code == SC_PARSE_EMPTY) != (size == 0)) fz_fail("EMPTY code %d", (int)err.code);
        if (err.code == SC_PARSE_SPACE && (err.offset >= size || !is_ws((unsigned char)s[err.offset])))
            fz_fail("SPACE at offset %zu, not a space", err.offset);
        if (err.code != SC_PARSE_EMPTY && err.code != SC_PARSE_SPACE &&
            err.code != SC_PARSE_MONITOR_SYNTAX && err.code != SC_PARSE_MONITOR_RANGE)
            fz_fail("code %d", (int)err.code);
    }
    if (fz_trace()) printf("monitor: status %d code %d at %zu\n", (int)st, (int)err.code, err.offset);
    free(s);
    return 0;
}
