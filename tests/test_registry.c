/*
 * test_registry.c: service names.  Built-ins match ASCII case-insensitively,
 * the clustering-only ones exist only with clustering, extras follow the
 * built-ins in order, and bad option sets are refused with the index of the
 * offending name.  Tables of both implementations resolve the same way.
 */
#include <string.h>

#include "sc_check.h"
#include "sc_internal.h"

static const sc_impl *impls[2];

static sc_status resolve(const sc_options *opts, const char *name, sc_service *out)
{
    return sc_service_resolve(opts, name, strlen(name), out);
}

static void test_builtins_resolve_ignoring_case(void)
{
    static const struct { const char *name; sc_service id; } rows[] = {
        {"smtp", SC_SERVICE_SMTP},         {"SMTP", SC_SERVICE_SMTP},
        {"Smtp", SC_SERVICE_SMTP},         {"ECStream", SC_SERVICE_ECSTREAM},
        {"eCsTrEaM", SC_SERVICE_ECSTREAM}, {"ecstream", SC_SERVICE_ECSTREAM},
        {"Control", SC_SERVICE_CONTROL},   {"CONTROL", SC_SERVICE_CONTROL},
    };
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        sc_service id = 999;
        sc_status st = resolve(NULL, rows[r].name, &id);
        CHECK(st == SC_OK && id == rows[r].id, "\"%s\": status %d id %u, want id %u",
              rows[r].name, (int)st, id, rows[r].id);
    }
    /* Only the given bytes count: "SMTPX" of length 4 is "SMTP". */
    sc_service id = 999;
    CHECK(sc_service_resolve(NULL, "SMTPX", 4, &id) == SC_OK && id == SC_SERVICE_SMTP,
          "\"SMTPX\" of length 4 is not SMTP");
    for (sc_service s = 0; s < SC_SERVICE_FIRST_EXTRA; s++) {
        const char *n = sc_builtin_service_name(s);
        if (!CHECK(n != NULL, "no name for built-in %u", s)) continue;
        sc_options cl = {.clustering = true};
        CHECK(resolve(&cl, n, &id) == SC_OK && id == s, "\"%s\" does not resolve to %u", n, s);
    }
    CHECK(strcmp(sc_builtin_service_name(SC_SERVICE_SMTP), "SMTP") == 0, "SMTP's name");
    CHECK(sc_builtin_service_name(SC_SERVICE_FIRST_EXTRA) == NULL, "a name past the built-ins");
}

static void test_clustering_only_names_need_clustering(void)
{
    static const struct { const char *name; sc_service id; } rows[] = {
        {"ECmmove2", SC_SERVICE_ECMMOVE2},   {"ecmmove2", SC_SERVICE_ECMMOVE2},
        {"ECCluster", SC_SERVICE_ECCLUSTER}, {"eccluster", SC_SERVICE_ECCLUSTER},
        {"inbound_cidr", SC_SERVICE_INBOUND_CIDR}, {"INBOUND_CIDR", SC_SERVICE_INBOUND_CIDR},
    };
    sc_options off = {.clustering = false}, on = {.clustering = true};
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        sc_service id = 999;
        CHECK(resolve(NULL, rows[r].name, &id) == SC_E_NEEDS_CLUSTERING && id == 999,
              "\"%s\" without options: not SC_E_NEEDS_CLUSTERING, or id written", rows[r].name);
        CHECK(resolve(&off, rows[r].name, &id) == SC_E_NEEDS_CLUSTERING,
              "\"%s\" without clustering: not SC_E_NEEDS_CLUSTERING", rows[r].name);
        CHECK(resolve(&on, rows[r].name, &id) == SC_OK && id == rows[r].id,
              "\"%s\" with clustering: id %u, want %u", rows[r].name, id, rows[r].id);
    }
}

static void test_unknown_names_are_no_service(void)
{
    static const char *const names[] = {"smtpx", "smt", "", "SMTP ", " smtp", "ECStream2",
                                        "inbound-cidr", "web", "\xc3\xa9"};
    sc_options on = {.clustering = true};
    for (size_t r = 0; r < sizeof names / sizeof names[0]; r++) {
        sc_service id = 999;
        CHECK(resolve(NULL, names[r], &id) == SC_E_NO_SERVICE && id == 999,
              "\"%s\" is not SC_E_NO_SERVICE (or id written)", names[r]);
        CHECK(resolve(&on, names[r], &id) == SC_E_NO_SERVICE,
              "\"%s\" with clustering is not SC_E_NO_SERVICE", names[r]);
    }
    sc_service id;
    CHECK(sc_service_resolve(NULL, NULL, 0, &id) == SC_E_NO_SERVICE, "NULL name of length 0");
    CHECK(sc_service_resolve(NULL, NULL, 4, &id) == SC_E_INVALID, "NULL name of length 4");
    CHECK(sc_service_resolve(NULL, "smtp", 4, NULL) == SC_E_INVALID, "NULL out");
}

static void test_extras_follow_builtins_in_order(void)
{
    const char *extra[] = {"web", "Submission", "lmtp"};
    sc_options opts = {.clustering = false, .extra_services = extra, .n_extra_services = 3};
    size_t bad = 77;
    CHECK(sc_options_check(&opts, &bad) == SC_OK && bad == 77, "valid extras refused");
    sc_service id;
    CHECK(resolve(&opts, "web", &id) == SC_OK && id == SC_SERVICE_FIRST_EXTRA, "web: %u", id);
    CHECK(resolve(&opts, "WEB", &id) == SC_OK && id == SC_SERVICE_FIRST_EXTRA, "WEB: %u", id);
    CHECK(resolve(&opts, "submission", &id) == SC_OK && id == SC_SERVICE_FIRST_EXTRA + 1,
          "submission: %u", id);
    CHECK(resolve(&opts, "LMTP", &id) == SC_OK && id == SC_SERVICE_FIRST_EXTRA + 2, "LMTP: %u",
          id);
    CHECK(resolve(&opts, "smtp", &id) == SC_OK && id == SC_SERVICE_SMTP, "smtp: %u", id);
    CHECK(resolve(&opts, "ECCluster", &id) == SC_E_NEEDS_CLUSTERING,
          "extras do not turn clustering on");
    sc_options no_array = {.n_extra_services = 2};
    CHECK(sc_options_check(&no_array, NULL) == SC_E_INVALID, "extras count without array");
    CHECK(resolve(&no_array, "smtp", &id) == SC_E_INVALID, "resolve with a NULL extras array");
    CHECK(sc_options_check(NULL, NULL) == SC_OK, "NULL options are the defaults");
}

static void make_names(char names[][32], const char **ptrs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        snprintf(names[i], 32, "Listener%03zu", i);
        ptrs[i] = names[i];
    }
}

static void test_many_extras_work_in_one_table(void)
{
    enum { N = 64 };
    static char names[N][32];
    const char *ptrs[N];
    make_names(names, ptrs, N);
    sc_options opts = {.clustering = true, .extra_services = ptrs, .n_extra_services = N};
    for (int k = 0; k < 2; k++) {
        sc_table *t = NULL;
        sc_status st = sc_table_new(impls[k], &opts, &t);
        if (!CHECK(st == SC_OK, "%s: table with %d extras: %s", sc_impl_name(impls[k]), N,
                   sc_strerror(st)))
            continue;
        for (size_t i = 0; i < N; i++) {
            char upper[32];
            for (size_t j = 0; j < sizeof upper; j++)
                upper[j] = (char)(names[i][j] >= 'a' && names[i][j] <= 'z' ? names[i][j] - 32
                                                                            : names[i][j]);
            sc_service id = 999;
            st = sc_table_service(t, upper, strlen(upper), &id);
            CHECK(st == SC_OK && id == SC_SERVICE_FIRST_EXTRA + i, "%s: \"%s\" is %u, want %zu",
                  sc_impl_name(impls[k]), upper, id, SC_SERVICE_FIRST_EXTRA + i);
        }
        /* The last extra holds sessions of its own. */
        sc_service last = (sc_service)(SC_SERVICE_FIRST_EXTRA + N - 1);
        sc_addr a;
        sc_prefix p;
        uint64_t n = 9, m = 9;
        CHECK(sc_parse_addr("192.0.2.1", 9, &a, NULL) == SC_OK &&
                  sc_prefix_make(&a, 24, &p) == SC_OK && sc_open(t, &a, last) == SC_OK && sc_count(t, &p, last, &n) == SC_OK && n == 1 &&
                  sc_count(t, &p, last - 1, &m) == SC_OK && m == 0,
              "%s: last extra counts %llu, the one before %llu", sc_impl_name(impls[k]),
              (unsigned long long)n, (unsigned long long)m);
        CHECK(sc_open(t, &a, (sc_service)(last + 1)) == SC_E_INVALID,
              "%s: a service past the last extra", sc_impl_name(impls[k]));
        CHECK(sc_close(t, &a, last) == SC_OK, "%s: close", sc_impl_name(impls[k]));
        sc_table_free(t);
    }
}

static void test_service_limit_is_enforced(void)
{
    enum { MAX_EXTRA = SC_MAX_SERVICES - SC_SERVICE_FIRST_EXTRA };
    static char names[MAX_EXTRA + 1][32];
    const char *ptrs[MAX_EXTRA + 1];
    make_names(names, ptrs, MAX_EXTRA + 1);
    sc_options opts = {.clustering = true, .extra_services = ptrs, .n_extra_services = MAX_EXTRA};
    CHECK(sc_options_check(&opts, NULL) == SC_OK, "%d services in all refused", SC_MAX_SERVICES);
    sc_table *t = NULL;
    CHECK(sc_table_new(sc_impl_ref(), &opts, &t) == SC_OK && t, "table of %d services",
          SC_MAX_SERVICES);
    sc_service id;
    CHECK(t && sc_table_service(t, ptrs[MAX_EXTRA - 1], strlen(ptrs[MAX_EXTRA - 1]), &id) ==
                   SC_OK && id == SC_MAX_SERVICES - 1,
          "the last service is not id %d", SC_MAX_SERVICES - 1);
    sc_table_free(t);
    opts.n_extra_services = MAX_EXTRA + 1;
    CHECK(sc_options_check(&opts, NULL) == SC_E_TOO_MANY_SERVICES, "%d services accepted",
          SC_MAX_SERVICES + 1);
    for (int k = 0; k < 2; k++) {
        sc_table *u = (sc_table *)&opts; /* a sentinel that must stay */
        CHECK(sc_table_new(impls[k], &opts, &u) == SC_E_TOO_MANY_SERVICES &&
                  u == (sc_table *)&opts,
              "%s: table of %d services", sc_impl_name(impls[k]), SC_MAX_SERVICES + 1);
    }
}

static void test_bad_extras_are_refused_with_their_index(void)
{
    char long_name[SC_SERVICE_NAME_MAX + 2];
    memset(long_name, 'a', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';         /* 64 bytes: one too many */
    char max_name[SC_SERVICE_NAME_MAX + 1];
    memset(max_name, 'b', sizeof max_name - 1);
    max_name[sizeof max_name - 1] = '\0';           /* 63 bytes: fits */
    static const struct { const char *names[3]; size_t n; sc_status st; size_t bad; } rows[] = {
        {{"ok", ""}, 2, SC_E_SERVICE_NAME, 1},
        {{"has space"}, 1, SC_E_SERVICE_NAME, 0},
        {{"ok", "tab\there"}, 2, SC_E_SERVICE_NAME, 1},
        {{"x", "y", "caf\xc3\xa9"}, 3, SC_E_SERVICE_NAME, 2},
        {{"x", NULL}, 2, SC_E_SERVICE_NAME, 1},
        {{"a", "b", "A"}, 3, SC_E_SERVICE_DUPLICATE, 2},
        {{"smtp"}, 1, SC_E_SERVICE_DUPLICATE, 0},
        {{"web", "ECSTREAM"}, 2, SC_E_SERVICE_DUPLICATE, 1},
        {{"inbound_cidr"}, 1, SC_E_SERVICE_DUPLICATE, 0}, /* a built-in even without clustering */
        {{"Web", "mail", "wEB"}, 3, SC_E_SERVICE_DUPLICATE, 2},
    };
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        sc_options opts = {.extra_services = rows[r].names, .n_extra_services = rows[r].n};
        size_t bad = 999;
        sc_status st = sc_options_check(&opts, &bad);
        CHECK(st == rows[r].st && bad == rows[r].bad, "row %zu: status %s bad %zu, want %s at %zu",
              r, sc_strerror(st), bad, sc_strerror(rows[r].st), rows[r].bad);
        CHECK(sc_options_check(&opts, NULL) == rows[r].st, "row %zu with bad NULL", r);
        for (int k = 0; k < 2; k++) {
            sc_table *t = NULL;
            CHECK(sc_table_new(impls[k], &opts, &t) == rows[r].st && t == NULL,
                  "%s: table with row %zu", sc_impl_name(impls[k]), r);
        }
    }
    const char *edge[] = {max_name, long_name};
    sc_options opts = {.extra_services = edge, .n_extra_services = 1};
    CHECK(sc_options_check(&opts, NULL) == SC_OK, "a %d-byte name refused", SC_SERVICE_NAME_MAX);
    opts.n_extra_services = 2;
    size_t bad = 999;
    CHECK(sc_options_check(&opts, &bad) == SC_E_SERVICE_NAME && bad == 1,
          "a %d-byte name: bad %zu", SC_SERVICE_NAME_MAX + 1, bad);
}

static void test_table_copies_and_resolves_names(void)
{
    char web[8] = "web", lmtp[8] = "lmtp";
    const char *extra[] = {web, lmtp};
    sc_options opts = {.clustering = true, .extra_services = extra, .n_extra_services = 2};
    static const struct { const char *name; sc_status st; sc_service id; } rows[] = {
        {"sMtP", SC_OK, SC_SERVICE_SMTP},           {"ECSTREAM", SC_OK, SC_SERVICE_ECSTREAM},
        {"control", SC_OK, SC_SERVICE_CONTROL},     {"ecmmove2", SC_OK, SC_SERVICE_ECMMOVE2},
        {"EcCluster", SC_OK, SC_SERVICE_ECCLUSTER},
        {"Inbound_Cidr", SC_OK, SC_SERVICE_INBOUND_CIDR},
        {"WEB", SC_OK, SC_SERVICE_FIRST_EXTRA},     {"Lmtp", SC_OK, SC_SERVICE_FIRST_EXTRA + 1},
        {"imap", SC_E_NO_SERVICE, 0},               {"", SC_E_NO_SERVICE, 0},
    };
    for (int k = 0; k < 2; k++) {
        const char *in = sc_impl_name(impls[k]);
        sc_table *t = NULL, *plain = NULL;
        if (!CHECK(sc_table_new(impls[k], &opts, &t) == SC_OK, "%s: table", in)) continue;
        CHECK(sc_table_impl(t) == impls[k], "%s: sc_table_impl", in);
        memcpy(web, "xyz", 4); /* the table keeps its own copy */
        memcpy(lmtp, "abcd", 5);
        for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
            sc_service id = 999;
            sc_status st = sc_table_service(t, rows[r].name, strlen(rows[r].name), &id);
            CHECK(st == rows[r].st && (st != SC_OK || id == rows[r].id),
                  "%s: \"%s\" gives %s id %u, want %s id %u", in, rows[r].name, sc_strerror(st),
                  id, sc_strerror(rows[r].st), rows[r].id);
        }
        sc_service id;
        CHECK(sc_table_service(t, "xyz", 3, &id) == SC_E_NO_SERVICE, "%s: name not copied", in);
        memcpy(web, "web", 4);
        memcpy(lmtp, "lmtp", 5);
        CHECK(sc_table_new(impls[k], NULL, &plain) == SC_OK, "%s: default table", in);
        CHECK(sc_table_service(plain, "ECCluster", 9, &id) == SC_E_NEEDS_CLUSTERING,
              "%s: default table has no clustering", in);
        CHECK(sc_table_service(plain, "web", 3, &id) == SC_E_NO_SERVICE,
              "%s: default table has no extras", in);
        CHECK(sc_table_service(NULL, "smtp", 4, &id) == SC_E_INVALID, "%s: NULL table", in);
        CHECK(sc_table_service(plain, "smtp", 4, NULL) == SC_E_INVALID, "%s: NULL out", in);
        sc_table_free(plain);
        sc_table_free(t);
    }
}

static void test_every_status_has_words(void)
{
    for (int s = SC_OK; s <= SC_E_NOMEM; s++) {
        const char *w = sc_strerror((sc_status)s);
        CHECK(w && *w, "status %d has no text", s);
    }
    CHECK(strcmp(sc_strerror(SC_E_NOT_OPEN), "session is not open") == 0, "SC_E_NOT_OPEN text");
    CHECK(sc_strerror((sc_status)1000) != NULL, "an unknown status has text");
    CHECK(strcmp(sc_impl_name(sc_impl_ref()), "ref") == 0, "ref's name");
    const char *fast = sc_impl_name(sc_impl_fast());
    CHECK(fast && (strcmp(fast, "fast") == 0 || strcmp(fast, "ref") == 0), "fast's name %s",
          fast ? fast : "(null)");
}

int main(void)
{
    impls[0] = sc_impl_ref();
    impls[1] = sc_impl_fast();
    RUN(test_builtins_resolve_ignoring_case);
    RUN(test_clustering_only_names_need_clustering);
    RUN(test_unknown_names_are_no_service);
    RUN(test_extras_follow_builtins_in_order);
    RUN(test_many_extras_work_in_one_table);
    RUN(test_service_limit_is_enforced);
    RUN(test_bad_extras_are_refused_with_their_index);
    RUN(test_table_copies_and_resolves_names);
    RUN(test_every_status_has_words);
    return check_done();
}
