/* The configuration table: defaults, parsing, error messages naming file,
 * line and option, and the committed sample being current. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <monostack/config.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static char *
write_temp(const char *text)
{
    char *path = ms_strdup("/tmp/ms-test-config-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

static void
test_defaults(void **state)
{
    (void)state;
    char *err = NULL;
    assert_int_equal(ms_config_load(NULL, &err), 0);
    assert_int_equal(ms_conf.identity.port, 5000);
    assert_int_equal(ms_conf.image.port, 9292);
    assert_int_equal(ms_conf.compute.port, 8774);
    assert_int_equal(ms_conf.volume.port, 8776);
    assert_int_equal(ms_conf.network.port, 9696);
    assert_int_equal(ms_conf.metadata.port, 8775);
    assert_true(ms_conf.identity.enabled);
    assert_string_equal(ms_conf.state_path, "/var/lib/monostack");
    assert_string_equal(ms_conf.image_store_path, "/var/lib/monostack/images");
    assert_int_equal(ms_conf.token_expiration, 3600);
    assert_true(ms_conf.ram_allocation_ratio > 1.49 && ms_conf.ram_allocation_ratio < 1.51);
    assert_false(ms_str_empty(ms_conf.host));
    assert_ptr_equal(ms_config_service("image"), &ms_conf.image);
    assert_null(ms_config_service("nothing"));
}

static void
test_file_values(void **state)
{
    (void)state;
    char *path = write_temp("[DEFAULT]\nhost = node1\nstate_path = /srv/ms\n"
                            "[database]\nconnection = mysql://u:p@/db?unix_socket=/s\n"
                            "[identity]\nport = 15000\nenabled = false\n"
                            "[compute]\ncpu_allocation_ratio = 4.5\n"
                            "[image]\nimage_size_cap = 1073741824\n"
                            "[libvirt]\nvirt_type = qemu\n");
    char *err = NULL;
    assert_int_equal(ms_config_load(path, &err), 0);
    assert_string_equal(ms_conf.host, "node1");
    assert_string_equal(ms_conf.public_url_host, "node1");
    assert_string_equal(ms_conf.image_store_path, "/srv/ms/images");
    assert_int_equal(ms_conf.identity.port, 15000);
    assert_false(ms_conf.identity.enabled);
    assert_true(ms_conf.cpu_allocation_ratio > 4.49 && ms_conf.cpu_allocation_ratio < 4.51);
    assert_int_equal(ms_conf.image_size_cap, 1073741824LL);
    assert_string_equal(ms_conf.virt_type, "qemu");
    unlink(path);
    free(path);
}

static void
expect_error(const char *text, int line, const char *needle)
{
    char *path = write_temp(text);
    char *err = NULL;
    assert_int_equal(ms_config_load(path, &err), -1);
    assert_non_null(err);
    char where[256];
    snprintf(where, sizeof(where), "%s:%d:", path, line);
    if (!strstr(err, where) || !strstr(err, needle))
        fail_msg("unexpected message: %s (wanted %s ... %s)", err, where, needle);
    free(err);
    unlink(path);
    free(path);
}

static void
test_errors(void **state)
{
    (void)state;
    expect_error("[identity]\n\nport = 99999\n", 3, "port");
    expect_error("[identity]\nport = 12x\n", 2, "port");
    expect_error("[identity]\nenabled = maybe\n", 2, "enabled");
    expect_error("[DEFAULT]\nlog_level = LOUD\n", 2, "log_level");
    expect_error("[libvirt]\nvirt_type = xen\n", 2, "virt_type");
    expect_error("[compute]\nram_allocation_ratio = much\n", 2, "ram_allocation_ratio");
    expect_error("[identity\nport = 1\n", 1, "syntax");
    char *err = NULL;
    assert_int_equal(ms_config_load("/nonexistent/monostack.conf", &err), -1);
    assert_non_null(strstr(err, "/nonexistent/monostack.conf"));
    free(err);
}

static void
test_unknown_is_not_fatal(void **state)
{
    (void)state;
    char *path = write_temp("[identity]\nno_such_option = 1\nport = 5001\n[nosection]\nx = 1\n");
    char *err = NULL;
    assert_int_equal(ms_config_load(path, &err), 0);
    assert_int_equal(ms_conf.identity.port, 5001);
    unlink(path);
    free(path);
}

/* etc/monostack.conf.sample must be what the table generates today. */
static void
test_sample_is_current(void **state)
{
    (void)state;
    char *err = NULL;
    ms_config_load(NULL, &err);
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    ms_config_write_sample(mem);
    fclose(mem);
    char *path = ms_asprintf("%s/etc/monostack.conf.sample", getenv("MS_SOURCE_DIR"));
    FILE *f = fopen(path, "r");
    if (!f)
        fail_msg("%s is missing: run `cmake --build build --target sample-config`", path);
    char *file = ms_calloc(1, len + 2);
    size_t got = fread(file, 1, len + 1, f);
    fclose(f);
    if (got != len || memcmp(file, buf, len) != 0)
        fail_msg("%s is stale: run `cmake --build build --target sample-config`", path);
    free(file);
    free(path);
    free(buf);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_file_values),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_unknown_is_not_fatal),
        cmocka_unit_test(test_sample_is_current),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
