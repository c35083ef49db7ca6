/*
 * sc_monitor.c: monitor text "W,N" (SPEC "Windowed counts"): N windows of
 * W seconds, one optional space after the comma, nothing else.  Errors say
 * what and where, as the CIDR parser's do: the offset is that of the first
 * byte no valid monitor could have there, and a number out of range is
 * reported where it begins.
 */
#include "sc_internal.h"

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

/* White space or NUL: reported as such wherever it stands. */
static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f' || c == '\0';
}

/* A decimal number from text[*i], no sign, no leading zero, at most max.
 * `what` names it in errors ("interval", "windows"). */
static sc_status number(const char *text, size_t len, size_t *i, uint32_t max, const char *what,
                        uint32_t *out, sc_error *err)
{
    size_t start = *i;
    if (start == len)
        return sc_parse_fail_why(err, SC_PARSE_MONITOR_SYNTAX, what[0] == 'i'
                                     ? "expected the interval in seconds"
                                     : "expected the number of windows", start);
    if (is_space(text[start])) return sc_parse_fail(err, SC_PARSE_SPACE, start);
    if (!is_digit(text[start]))
        return sc_parse_fail_why(err, SC_PARSE_MONITOR_SYNTAX, "expected a decimal number", start);
    uint64_t v = 0;
    size_t j = start;
    for (; j < len && is_digit(text[j]); j++) {
        if (j > start && text[start] == '0')
            return sc_parse_fail_why(err, SC_PARSE_MONITOR_SYNTAX, "leading zero", j);
        if (v <= max) v = v * 10 + (uint64_t)(text[j] - '0');
    }
    /* "0x3c", "60.5": not a decimal number, whatever its digits say */
    if (j < len && (text[j] == '.' || ((text[j] | 0x20) >= 'a' && (text[j] | 0x20) <= 'z')))
        return sc_parse_fail_why(err, SC_PARSE_MONITOR_SYNTAX, "expected a decimal number", j);
    if (v < 1 || v > max)
        return sc_parse_fail_why(err, SC_PARSE_MONITOR_RANGE, what[0] == 'i'
                                     ? "interval out of range (1 to 86400 seconds)"
                                     : "windows out of range (1 to 1024)", start);
    *i = j;
    *out = (uint32_t)v;
    return SC_OK;
}

sc_status sc_monitor_parse(const char *text, size_t len, sc_monitor *out, sc_error *err)
{
    if ((!text && len) || !out) return SC_E_INVALID;
    if (len == 0) return sc_parse_fail(err, SC_PARSE_EMPTY, 0);
    sc_monitor m;
    size_t i = 0;
    sc_status st = number(text, len, &i, SC_MONITOR_INTERVAL_MAX, "interval", &m.interval, err);
    if (st != SC_OK) return st;
    if (i == len) return sc_parse_fail_why(err, SC_PARSE_MONITOR_SYNTAX, "expected a comma", i);
    if (is_space(text[i])) return sc_parse_fail(err, SC_PARSE_SPACE, i);
    if (text[i] != ',')
        return sc_parse_fail_why(err, SC_PARSE_MONITOR_SYNTAX, "expected a comma", i);
    i++;
    if (i < len && text[i] == ' ') i++;   /* the one space allowed */
    st = number(text, len, &i, SC_MONITOR_WINDOWS_MAX, "windows", &m.windows, err);
    if (st != SC_OK) return st;
    if (i < len) {
        if (is_space(text[i])) return sc_parse_fail(err, SC_PARSE_SPACE, i);
        return sc_parse_fail_why(err, SC_PARSE_MONITOR_SYNTAX,
                                 "unexpected text after the monitor", i);
    }
    *out = m;
    return SC_OK;
}

size_t sc_monitor_format(const sc_monitor *m, char *buf, size_t cap)
{
    if (!m || !buf || cap < SC_MONITOR_TEXT_MAX || m->interval < 1 ||
        m->interval > SC_MONITOR_INTERVAL_MAX || m->windows < 1 ||
        m->windows > SC_MONITOR_WINDOWS_MAX)
        return 0;
    size_t n = sc_put_dec(buf, m->interval);
    buf[n++] = ',';
    n += sc_put_dec(buf + n, m->windows);
    buf[n] = '\0';
    return n;
}
