/* Host command execution: output capture, exit status, stdin, timeouts,
 * and the dry-run record compared with a golden file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <monostack/exec.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

static void
test_capture(void **state)
{
    (void)state;
    ms_exec_result res;
    const char *argv[] = {"sh", "-c", "echo out; echo err >&2", NULL};
    assert_int_equal(ms_exec(argv, NULL, 5000, &res), 0);
    assert_string_equal(res.out, "out\n");
    assert_string_equal(res.err, "err\n");
    assert_int_equal(res.status, 0);
    ms_exec_result_free(&res);
}

static void
test_no_shell_interpretation(void **state)
{
    (void)state;
    ms_exec_result res;
    const char *argv[] = {"echo", "$(id); rm -rf /", NULL};
    assert_int_equal(ms_exec(argv, NULL, 5000, &res), 0);
    assert_string_equal(res.out, "$(id); rm -rf /\n");
    ms_exec_result_free(&res);
}

static void
test_status_and_stdin(void **state)
{
    (void)state;
    ms_exec_result res;
    const char *fail[] = {"sh", "-c", "exit 3", NULL};
    assert_int_equal(ms_exec(fail, NULL, 5000, &res), -ECHILD);
    assert_int_equal(res.status, 3);
    ms_exec_result_free(&res);
    /* A large stdin is fed while output is drained (no pipe deadlock). */
    size_t n = 1 << 20;
    char *big = ms_malloc(n + 1);
    memset(big, 'a', n);
    big[n] = '\0';
    const char *wc[] = {"wc", "-c", NULL};
    assert_int_equal(ms_exec(wc, big, 10000, &res), 0);
    assert_int_equal(atol(res.out), (long)n);
    ms_exec_result_free(&res);
    free(big);
    const char *missing[] = {"no-such-command-monostack", NULL};
    assert_int_equal(ms_exec(missing, NULL, 1000, NULL), -ENOENT);
}

static void
test_timeout(void **state)
{
    (void)state;
    ms_exec_result res;
    const char *argv[] = {"sleep", "10", NULL};
    uint64_t t0 = ms_now_us();
    assert_int_equal(ms_exec(argv, NULL, 200, &res), -ETIMEDOUT);
    assert_true(res.timed_out);
    assert_true(ms_now_us() - t0 < 5000000);   /* killed, not waited out */
    ms_exec_result_free(&res);
}

static void
test_dry_run_golden(void **state)
{
    (void)state;
    ms_exec_dry_run(true);
    const char *a[] = {"ip", "link", "add", "brq0", "type", "bridge", NULL};
    const char *b[] = {"iptables-restore", "--noflush", NULL};
    assert_int_equal(ms_exec(a, NULL, 0, NULL), 0);
    assert_int_equal(ms_exec(b, "*filter\n-A INPUT -j ACCEPT\nCOMMIT", 0, NULL), 0);
    ms_exec_dry_run(false);
    char *got = ms_exec_dry_run_take();
    char *path = ms_asprintf("%s/exec_dry_run.txt", getenv("MS_TEST_DATA"));
    if (getenv("MS_REGEN_GOLDEN")) {
        FILE *f = fopen(path, "w");
        fputs(got, f);
        fclose(f);
    }
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char want[4096] = {0};
    size_t len = fread(want, 1, sizeof(want) - 1, f);
    fclose(f);
    want[len] = '\0';
    assert_string_equal(got, want);
    free(got);
    free(path);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_capture),       cmocka_unit_test(test_no_shell_interpretation),
        cmocka_unit_test(test_status_and_stdin), cmocka_unit_test(test_timeout),
        cmocka_unit_test(test_dry_run_golden),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
