/*
 * sc_errors.c: the one place where status codes and parse codes get their
 * English.  Both parsers report through sc_parse_fail so that a code always
 * carries the same reason.
 */
#include "sc_internal.h"

static const char *const status_text[] = {
    [SC_OK] = "ok",
    [SC_E_PARSE] = "invalid cidr, address or monitor",
    [SC_E_INVALID] = "invalid argument",
    [SC_E_NO_SERVICE] = "unknown service",
    [SC_E_NEEDS_CLUSTERING] = "service exists only with clustering enabled",
    [SC_E_SERVICE_NAME] = "invalid service name",
    [SC_E_SERVICE_DUPLICATE] = "duplicate service name",
    [SC_E_TOO_MANY_SERVICES] = "too many services",
    [SC_E_NOT_OPEN] = "session is not open",
    [SC_E_NOMEM] = "out of memory",
    [SC_E_RANGE] = "window range or amount out of range",
    [SC_E_CONFLICT] = "monitors already configured differently",
    [SC_E_NOT_CONFIGURED] = "inbound audit is not configured",
    [SC_E_NO_MONITOR] = "monitor is not configured",
    [SC_E_NO_SERIES] = "no series of that name",
    [SC_E_VIEW] = "inbound_cidr is a view of the fleet: it cannot be opened or closed",
};

const char *sc_strerror(sc_status status)
{
    if ((unsigned)status < sizeof status_text / sizeof status_text[0])
        return status_text[status];
    return "unknown status";
}

static const char *const status_names[] = {
    [SC_OK] = "SC_OK",
    [SC_E_PARSE] = "SC_E_PARSE",
    [SC_E_INVALID] = "SC_E_INVALID",
    [SC_E_NO_SERVICE] = "SC_E_NO_SERVICE",
    [SC_E_NEEDS_CLUSTERING] = "SC_E_NEEDS_CLUSTERING",
    [SC_E_SERVICE_NAME] = "SC_E_SERVICE_NAME",
    [SC_E_SERVICE_DUPLICATE] = "SC_E_SERVICE_DUPLICATE",
    [SC_E_TOO_MANY_SERVICES] = "SC_E_TOO_MANY_SERVICES",
    [SC_E_NOT_OPEN] = "SC_E_NOT_OPEN",
    [SC_E_NOMEM] = "SC_E_NOMEM",
    [SC_E_RANGE] = "SC_E_RANGE",
    [SC_E_CONFLICT] = "SC_E_CONFLICT",
    [SC_E_NOT_CONFIGURED] = "SC_E_NOT_CONFIGURED",
    [SC_E_NO_MONITOR] = "SC_E_NO_MONITOR",
    [SC_E_NO_SERIES] = "SC_E_NO_SERIES",
    [SC_E_VIEW] = "SC_E_VIEW",
};

const char *sc_status_name(sc_status status)
{
    if ((unsigned)status < sizeof status_names / sizeof status_names[0])
        return status_names[status];
    return "SC_E_?";
}

static const char *const parse_text[] = {
    [SC_PARSE_OK] = "ok",
    [SC_PARSE_EMPTY] = "empty input",
    [SC_PARSE_SPACE] = "white space or NUL",
    [SC_PARSE_ZONE] = "zone id not allowed",
    [SC_PARSE_NETMASK] = "netmask not allowed, use a prefix length",
    [SC_PARSE_V4_SHORTHAND] = "IPv4 address needs four octets",
    [SC_PARSE_V4_OCTET_RANGE] = "octet out of range",
    [SC_PARSE_V4_LEADING_ZERO] = "octet has a leading zero",
    [SC_PARSE_V4_HEX] = "hex octet not allowed",
    [SC_PARSE_V4_SYNTAX] = "invalid IPv4 address",
    [SC_PARSE_V6_SYNTAX] = "invalid IPv6 address",
    [SC_PARSE_MASK_SYNTAX] = "invalid mask",
    [SC_PARSE_MASK_RANGE] = "mask out of range",
    [SC_PARSE_BRACKET] = "misplaced bracket",
    [SC_PARSE_TRAILING] = "unexpected text after the prefix",
    [SC_PARSE_NO_CONNECTING_IP] = "relative mask needs a connecting IP",
    [SC_PARSE_MASK_NOT_ALLOWED] = "an address takes no mask",
    [SC_PARSE_MONITOR_SYNTAX] = "invalid monitor, expected W,N",
    [SC_PARSE_MONITOR_RANGE] = "monitor out of range",
};

const char *sc_parse_reason(sc_parse_code code)
{
    if ((unsigned)code < sizeof parse_text / sizeof parse_text[0])
        return parse_text[code];
    return "invalid input";
}

sc_status sc_parse_fail_why(sc_error *err, sc_parse_code code, const char *reason,
                            size_t offset)
{
    if (err) {
        err->code = code;
        err->reason = reason;
        err->offset = offset;
    }
    return SC_E_PARSE;
}

sc_status sc_parse_fail(sc_error *err, sc_parse_code code, size_t offset)
{
    return sc_parse_fail_why(err, code, sc_parse_reason(code), offset);
}
