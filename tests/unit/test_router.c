/* Route matching, path parameters, Allow sets and microversion parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <monostack/http.h>

#include "core/http_internal.h"

#include <string.h>

static int dummy(ms_request *req, ms_response *resp) { (void)req; (void)resp; return 0; }
static int other(ms_request *req, ms_response *resp) { (void)req; (void)resp; return 0; }

static const ms_route routes[] = {
    {MS_GET | MS_HEAD, "/", dummy, MS_POL_PUBLIC, "root", 0, 0, NULL},
    {MS_GET, "/v3/users", dummy, MS_POL_ADMIN, "list", 0, 0, NULL},
    {MS_POST, "/v3/users", other, MS_POL_ADMIN, "create", 0, 0, NULL},
    {MS_GET | MS_PATCH, "/v3/users/{user_id}", dummy, MS_POL_ADMIN, "get", 0, 0, NULL},
    {MS_PUT, "/v3/projects/{project_id}/users/{user_id}/roles/{role_id}", other,
     MS_POL_ADMIN, "grant", 0, 0, NULL},
};
static const ms_module mod = {.name = "test", .routes = routes,
                              .nroutes = MS_ARRAY_LEN(routes)};

static void
free_values(char *v[MS_MAX_PARAMS], int n)
{
    for (int i = 0; i < n; i++)
        free(v[i]);
}

static void
test_static_and_root(void **state)
{
    (void)state;
    char *v[MS_MAX_PARAMS];
    int n;
    unsigned allowed;
    const ms_route *r = ms_router_match(&mod, "/", MS_GET, v, &n, &allowed);
    assert_ptr_equal(r, &routes[0]);
    assert_int_equal(n, 0);
    r = ms_router_match(&mod, "/v3/users", MS_POST, v, &n, &allowed);
    assert_ptr_equal(r, &routes[2]);
    assert_int_equal(allowed, MS_GET | MS_POST);
}

static void
test_params(void **state)
{
    (void)state;
    char *v[MS_MAX_PARAMS];
    int n;
    unsigned allowed;
    const ms_route *r = ms_router_match(&mod, "/v3/projects/p1/users/u-2/roles/r3", MS_PUT, v,
                                        &n, &allowed);
    assert_ptr_equal(r, &routes[4]);
    assert_int_equal(n, 3);
    assert_string_equal(v[0], "p1");
    assert_string_equal(v[1], "u-2");
    assert_string_equal(v[2], "r3");
    free_values(v, n);
    r = ms_router_match(&mod, "/v3/users/abc", MS_PATCH, v, &n, &allowed);
    assert_ptr_equal(r, &routes[3]);
    assert_string_equal(v[0], "abc");
    free_values(v, n);
}

static void
test_no_match_and_405(void **state)
{
    (void)state;
    char *v[MS_MAX_PARAMS];
    int n;
    unsigned allowed;
    assert_null(ms_router_match(&mod, "/v3/users/abc", MS_DELETE, v, &n, &allowed));
    assert_int_equal(allowed, MS_GET | MS_PATCH);
    assert_null(ms_router_match(&mod, "/v3/nothing", MS_GET, v, &n, &allowed));
    assert_int_equal(allowed, 0);
    /* An empty segment does not match a parameter. */
    assert_null(ms_router_match(&mod, "/v3/users//", MS_GET, v, &n, &allowed));
    assert_null(ms_router_match(&mod, "/v3/users/a/b", MS_GET, v, &n, &allowed));
    assert_null(ms_router_match(&mod, "/v3/user", MS_GET, v, &n, &allowed));
    assert_null(ms_router_match(&mod, "/v3/usersx", MS_GET, v, &n, &allowed));
    /* Method 0 (unknown) never matches but still reports the allowed set. */
    assert_null(ms_router_match(&mod, "/v3/users", 0, v, &n, &allowed));
    assert_int_equal(allowed, MS_GET | MS_POST);
}

static void
test_mv_parse(void **state)
{
    (void)state;
    assert_int_equal(ms_mv_parse("2.1", MS_MV(2, 1), MS_MV(2, 90)), MS_MV(2, 1));
    assert_int_equal(ms_mv_parse("2.79", MS_MV(2, 1), MS_MV(2, 90)), MS_MV(2, 79));
    assert_int_equal(ms_mv_parse("latest", MS_MV(2, 1), MS_MV(2, 90)), MS_MV(2, 90));
    assert_int_equal(ms_mv_parse("LATEST", MS_MV(2, 1), MS_MV(2, 90)), MS_MV(2, 90));
    /* Out of range still parses: the caller answers 406. */
    assert_int_equal(ms_mv_parse("3.0", MS_MV(2, 1), MS_MV(2, 90)), MS_MV(3, 0));
    assert_int_equal(ms_mv_parse("2", 0, 0), -1);
    assert_int_equal(ms_mv_parse("2.x", 0, 0), -1);
    assert_int_equal(ms_mv_parse("2.1.1", 0, 0), -1);
    assert_int_equal(ms_mv_parse("", 0, 0), -1);
    assert_int_equal(ms_mv_parse("02.1", 0, 0), -1);
    assert_int_equal(ms_mv_parse(NULL, 0, 0), -1);
}

static const ms_route mv_routes[] = {
    {MS_GET | MS_DELETE, "/flavors/{id}", dummy, MS_POL_ANY, "show", 0, 0, NULL},
    {MS_PUT, "/flavors/{id}", other, MS_POL_ADMIN, "update", MS_MV(2, 55), 0, NULL},
    {MS_PUT, "/services/{id}", dummy, MS_POL_ADMIN, "action", 0, MS_MV(2, 52), NULL},
    {MS_PUT, "/services/{id}", other, MS_POL_ADMIN, "update", MS_MV(2, 53), 0, NULL},
};
static const ms_module mv_mod = {.name = "mv", .routes = mv_routes,
                                 .nroutes = MS_ARRAY_LEN(mv_routes)};

static void
test_microversioned_routes(void **state)
{
    (void)state;
    char *v[MS_MAX_PARAMS];
    int n;
    unsigned allowed;
    const ms_route *r = ms_router_match_mv(&mv_mod, "/flavors/1", MS_PUT, MS_MV(2, 55), v,
                                           &n, &allowed);
    assert_non_null(r);
    assert_ptr_equal(r->handler, other);
    free_values(v, n);
    /* The method exists only at a later microversion: no 405, the caller
     * answers 404 (allowed stays empty). */
    assert_null(ms_router_match_mv(&mv_mod, "/flavors/1", MS_PUT, MS_MV(2, 54), v, &n,
                                   &allowed));
    assert_int_equal(allowed, 0);
    /* A method that exists at no microversion is still a 405. */
    assert_null(ms_router_match_mv(&mv_mod, "/flavors/1", MS_POST, MS_MV(2, 54), v, &n,
                                   &allowed));
    assert_int_equal(allowed, MS_GET | MS_DELETE);
    /* The same pattern served by a handler per microversion range. */
    r = ms_router_match_mv(&mv_mod, "/services/x", MS_PUT, MS_MV(2, 52), v, &n, &allowed);
    assert_non_null(r);
    assert_string_equal(r->name, "action");
    free_values(v, n);
    r = ms_router_match_mv(&mv_mod, "/services/x", MS_PUT, MS_MV(2, 53), v, &n, &allowed);
    assert_non_null(r);
    assert_string_equal(r->name, "update");
    free_values(v, n);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_static_and_root),
        cmocka_unit_test(test_params),
        cmocka_unit_test(test_no_match_and_405),
        cmocka_unit_test(test_mv_parse),
        cmocka_unit_test(test_microversioned_routes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
