/* Domain XML rendering compared with a golden file
 * (tests/unit/data/compute_domain.xml; regenerate on purpose with
 * MS_REGEN_GOLDEN=1 and review the diff). Also checks escaping. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "drivers/virt/virt.h"

static char *
read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    size_t got = fread(s, 1, (size_t)n, f);
    s[got] = '\0';
    fclose(f);
    return s;
}

static void
test_golden(void **state)
{
    (void)state;
    virt_nic nic = {.mac = "fa:16:3e:00:00:01", .bridge = "br100", .tap = "tap1234"};
    virt_domain_spec s = {
        .uuid = "6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", .name = "instance-0000002a",
        .virt_type = "qemu", .vcpus = 1, .memory_mb = 512,
        .disk_path = "/var/lib/monostack/instances/6f1b/disk", .disk_format = "qcow2",
        .console_log = "/var/lib/monostack/instances/6f1b/console.log", .nics = &nic,
        .nnics = 1, .vnc = true, .vnc_listen = "127.0.0.1", .display_name = "web <1> & 'x'",
        .flavor_name = "m1.tiny", .project_id = "p1", .user_id = "u1"};
    char *xml = virt_domain_xml(&s);
    const char *dir = getenv("MS_TEST_DATA");
    char path[512];
    snprintf(path, sizeof(path), "%s/compute_domain.xml", dir ? dir : "tests/unit/data");
    if (getenv("MS_REGEN_GOLDEN")) {
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fputs(xml, f);
        fclose(f);
    }
    char *want = read_file(path);
    assert_non_null(want);
    assert_string_equal(xml, want);
    assert_non_null(strstr(xml, "web &lt;1&gt; &amp; &apos;x&apos;"));
    assert_null(strstr(xml, "<cputune"));   /* no cgroup tuning: hidden in CI netns */
    free(want);
    free(xml);
}

static void
test_kvm_cpu(void **state)
{
    (void)state;
    virt_domain_spec s = {.uuid = "u", .name = "n", .virt_type = "kvm", .vcpus = 2,
                          .memory_mb = 256, .disk_path = "/d", .console_log = "/c"};
    char *xml = virt_domain_xml(&s);
    assert_non_null(strstr(xml, "<domain type='kvm'>"));
    assert_non_null(strstr(xml, "<cpu mode='host-model'/>"));
    assert_null(strstr(xml, "<graphics"));
    free(xml);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden),
        cmocka_unit_test(test_kvm_cpu),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
