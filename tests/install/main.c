/*
 * tests/install/main.c: a program outside the project that uses an
 * installed sesscount, the way a host would.  tests/install/check.sh builds
 * it against a scratch install (find_package and pkg-config) and runs it.
 * Exits 0 when every answer is right; prints what went wrong otherwise.
 */
#include <sesscount.h>

#include <stdio.h>
#include <string.h>

static int failures;

#define CHECK(cond)                                                              \
    do {                                                                         \
        if (!(cond)) {                                                           \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            failures++;                                                          \
        }                                                                        \
    } while (0)

static sc_addr addr(const char *text)
{
    sc_addr a;
    memset(&a, 0, sizeof a);
    sc_error err;
    if (sc_parse_addr(text, strlen(text), &a, &err) != SC_OK) {
        fprintf(stderr, "cannot parse address %s: %s at offset %zu\n", text, err.reason,
                err.offset);
        failures++;
    }
    return a;
}

static void run(const sc_impl *impl)
{
    const char *name = sc_impl_name(impl);
    printf("%s:\n", name);

    /* Parse and format. */
    const char *text = "192.0.2.77/24";
    sc_prefix p;
    sc_error err;
    CHECK(sc_parse_cidr(text, strlen(text), NULL, &p, &err) == SC_OK);
    char buf[SC_PREFIX_TEXT_MAX];
    size_t n = sc_format_prefix(&p, buf, sizeof buf);
    CHECK(n == strlen("192.0.2.0/24") && strcmp(buf, "192.0.2.0/24") == 0);
    printf("  %s -> %s\n", text, n ? buf : "(nothing)");

    /* A parse error carries a code, a reason and an offset. */
    const char *bad = "10.0.0.256/8";
    CHECK(sc_parse_cidr(bad, strlen(bad), NULL, &p, &err) == SC_E_PARSE);
    CHECK(err.code == SC_PARSE_V4_OCTET_RANGE && err.reason != NULL);
    printf("  %s -> %s at offset %zu\n", bad, err.reason ? err.reason : "?", err.offset);

    /* A table: open, count, close. */
    sc_table *t = NULL;
    CHECK(sc_table_new(impl, NULL, &t) == SC_OK && t != NULL);
    if (!t) return;
    CHECK(sc_table_impl(t) == impl);

    sc_service smtp;
    CHECK(sc_table_service(t, "smtp", 4, &smtp) == SC_OK && smtp == SC_SERVICE_SMTP);

    sc_addr peer = addr("192.0.2.77");
    sc_addr other = addr("192.0.2.1");
    sc_addr far = addr("198.51.100.1");
    CHECK(sc_open(t, &peer, smtp) == SC_OK);
    CHECK(sc_open(t, &peer, smtp) == SC_OK);
    CHECK(sc_open(t, &other, smtp) == SC_OK);
    CHECK(sc_open(t, &far, smtp) == SC_OK);
    CHECK(sc_open(t, &peer, SC_SERVICE_ECSTREAM) == SC_OK);

    uint64_t count = 0;
    CHECK(sc_parse_cidr(text, strlen(text), NULL, &p, &err) == SC_OK);
    CHECK(sc_count(t, &p, smtp, &count) == SC_OK && count == 3);
    printf("  count(%s, SMTP) = %llu (want 3)\n", text, (unsigned long long)count);

    count = 0;
    CHECK(sc_count_text(t, "/24", 3, &peer, "SMTP", 4, &count, &err) == SC_OK && count == 3);
    count = 0;
    CHECK(sc_count_text(t, "/32", 3, &peer, "SMTP", 4, &count, &err) == SC_OK && count == 2);
    count = 0;
    CHECK(sc_count_text(t, "0.0.0.0/0", 9, NULL, "ecstream", 8, &count, &err) == SC_OK &&
          count == 1);
    CHECK(sc_table_bytes(t) > 0);

    CHECK(sc_close(t, &peer, smtp) == SC_OK);
    count = 0;
    CHECK(sc_count(t, &p, smtp, &count) == SC_OK && count == 2);
    CHECK(sc_close(t, &peer, smtp) == SC_OK);
    CHECK(sc_close(t, &peer, smtp) == SC_E_NOT_OPEN);   /* not open: nothing changes */
    CHECK(sc_close(t, &other, smtp) == SC_OK);
    count = 99;
    CHECK(sc_count(t, &p, smtp, &count) == SC_OK && count == 0);
    printf("  after closes: count(%s, SMTP) = %llu (want 0)\n", text,
           (unsigned long long)count);
    CHECK(sc_close(t, &far, smtp) == SC_OK);
    CHECK(sc_close(t, &peer, SC_SERVICE_ECSTREAM) == SC_OK);

    sc_table_free(t);
}

int main(void)
{
    CHECK(strcmp(sc_strerror(SC_E_NOT_OPEN), "") != 0);
    run(sc_impl_fast());
    run(sc_impl_ref());
    if (failures) {
        fprintf(stderr, "sesscount install check: %d check(s) failed\n", failures);
        return 1;
    }
    printf("sesscount install check: ok\n");
    return 0;
}
