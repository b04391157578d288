/* Time, UUID, buffer and string helpers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <monostack/common.h>
#include <monostack/json.h>

#include <errno.h>
#include <limits.h>
#include <string.h>

static void
test_time_roundtrip(void **state)
{
    (void)state;
    char out[32];
    int64_t t = ms_time_parse("2026-12-04T21:00:00.123456Z");
    assert_int_equal(t, 1796418000123456LL);
    ms_time_iso(t, true, out);
    assert_string_equal(out, "2026-12-04T21:00:00.123456Z");
    ms_time_iso(t, false, out);
    assert_string_equal(out, "2026-12-04T21:00:00Z");
    assert_int_equal(ms_time_parse("2026-12-04T23:00:00+02:00"), 1796418000000000LL);
    assert_int_equal(ms_time_parse("2026-12-04 21:00:00"), 1796418000000000LL);
    assert_int_equal(ms_time_parse("2026-12-04"), 1796342400000000LL);
    assert_int_equal(ms_time_parse("2026-12-04T21:00:00.1Z"), 1796418000100000LL);
}

static void
test_time_malformed(void **state)
{
    (void)state;
    const char *bad[] = {"", "yesterday", "2026-13-01", "2026-12-04T25:00", "2026-12-04T21:00:00.Z",
                         "2026-12-04T21:00:00Zjunk", "2026-12-04X"};
    for (size_t i = 0; i < MS_ARRAY_LEN(bad); i++)
        assert_int_equal(ms_time_parse(bad[i]), -1);
    assert_int_equal(ms_time_parse(NULL), -1);
}

static void
test_uuid(void **state)
{
    (void)state;
    char a[37], b[37], h[33];
    ms_uuid(a);
    ms_uuid(b);
    ms_uuid_hex(h);
    assert_int_equal(strlen(a), 36);
    assert_int_equal(strlen(h), 32);
    assert_string_not_equal(a, b);
    assert_true(ms_uuid_valid(a));
    assert_true(ms_uuid_valid(h));
    assert_false(ms_uuid_valid("not-a-uuid"));
    assert_false(ms_uuid_valid("0123456789abcdef0123456789abcdeg"));
    assert_false(ms_uuid_valid("01234567-89ab-cdef-0123456789abcdef0"));
    assert_false(ms_uuid_valid(NULL));
}

static void
test_buf(void **state)
{
    (void)state;
    ms_buf b = {0};
    for (int i = 0; i < 1000; i++)
        ms_buf_addf(&b, "%d,", i);
    ms_buf_add(&b, "x", 1);
    assert_int_equal(b.len, strlen(ms_buf_cstr(&b)));
    assert_memory_equal(b.data, "0,1,2,", 6);
    char *s = ms_buf_steal(&b);
    assert_null(b.data);
    assert_int_equal(s[strlen(s) - 1], 'x');
    free(s);
    ms_buf_free(&b);
}

static void
test_strings(void **state)
{
    (void)state;
    assert_true(ms_streq(NULL, NULL));
    assert_false(ms_streq("a", NULL));
    assert_true(ms_streq("a", "a"));
    assert_true(ms_str_empty(""));
    assert_true(ms_str_empty(NULL));
    assert_true(ms_ct_equal("abc", "abc", 3));
    assert_false(ms_ct_equal("abc", "abd", 3));
}

static void
test_json_getters(void **state)
{
    (void)state;
    json_t *o = json_pack("{s:s,s:b,s:i,s:n,s:{}}", "s", "v", "b", 1, "i", 7, "n", "o");
    const char *s;
    bool b;
    long long i;
    assert_int_equal(ms_json_str(o, "s", &s), 0);
    assert_string_equal(s, "v");
    assert_int_equal(ms_json_str(o, "b", &s), -EINVAL);
    assert_int_equal(ms_json_str(o, "n", &s), -ENOENT);
    assert_int_equal(ms_json_str(o, "missing", &s), -ENOENT);
    assert_int_equal(ms_json_bool(o, "b", &b), 0);
    assert_true(b);
    assert_int_equal(ms_json_int(o, "i", &i), 0);
    assert_int_equal(i, 7);
    assert_int_equal(ms_json_int(o, "s", &i), -EINVAL);
    assert_non_null(ms_json_obj(o, "o"));
    assert_null(ms_json_obj(o, "s"));
    assert_null(ms_json_strval(o, "i"));
    json_decref(o);
}

/* ms_json_append writes exactly what json_dumps(JSON_COMPACT) writes. */
static void
test_json_append(void **state)
{
    (void)state;
    json_t *samples[] = {
        json_pack("{s:s,s:[{s:s,s:s}],s:{},s:[],s:n,s:b,s:b,s:I,s:I,s:f}", "id",
                  "6f1b2c3d-4e5f", "links", "rel", "self", "href", "http://h:8774/v2.1/x",
                  "meta", "vol", "none", "t", 1, "f", 0, "big", (json_int_t)-9007199254740993LL,
                  "zero", (json_int_t)0, "r", 0.1),
        json_pack("{s:s}", "esc \"q\" \\ /", "tab\tnl\nCR\rbs\bff\f\x01\x1f\x7f"),
        json_pack("{s:s,s:s}", "caf\xc3\xa9", "\xe2\x82\xac \xf0\x9f\x98\x80 \xe2\x80\xa8",
                  "", ""),
        json_stringn("nul\0inside", 11),
        json_integer(42),
        json_pack("[I,I,I,I]", (json_int_t)LLONG_MIN, (json_int_t)LLONG_MAX, (json_int_t)-1,
                  (json_int_t)10),
        json_loads("[[],{},[[{}]],\"x\",1.5e300,-0.0,{\"a\":{\"b\":[null]}}]", 0, NULL),
    };
    for (size_t i = 0; i < MS_ARRAY_LEN(samples); i++) {
        assert_non_null(samples[i]);
        char *want = json_dumps(samples[i], JSON_COMPACT | JSON_ENCODE_ANY);
        ms_buf b = {0};
        ms_json_append(&b, samples[i]);
        assert_string_equal(ms_buf_cstr(&b), want);
        free(want);
        ms_buf_free(&b);
        json_decref(samples[i]);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_time_roundtrip), cmocka_unit_test(test_time_malformed),
        cmocka_unit_test(test_uuid),           cmocka_unit_test(test_buf),
        cmocka_unit_test(test_strings),        cmocka_unit_test(test_json_getters),
        cmocka_unit_test(test_json_append),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
