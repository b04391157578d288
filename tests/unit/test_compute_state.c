/* Pure tables of the compute module: Nova's status names for
 * (vm_state, task_state), the status filter's reverse map, the quota
 * arithmetic and message, and virt_type detection on a PVM host. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include <monostack/config.h>

#include "compute/compute.h"
#include "drivers/virt/virt.h"

static void
test_status(void **state)
{
    (void)state;
    static const char *const t[][3] = {
        {"building", "scheduling", "BUILD"}, {"active", NULL, "ACTIVE"},
        {"active", "rebooting", "REBOOT"},   {"active", "rebooting_hard", "HARD_REBOOT"},
        {"active", "powering-off", "ACTIVE"}, {"stopped", NULL, "SHUTOFF"},
        {"paused", NULL, "PAUSED"},           {"suspended", NULL, "SUSPENDED"},
        {"error", NULL, "ERROR"},             {"deleted", NULL, "DELETED"},
        {"resized", NULL, "VERIFY_RESIZE"},   {"shelved_offloaded", NULL, "SHELVED_OFFLOADED"},
        {"resized", "resize_reverting", "REVERT_RESIZE"},
        {"resized", "resize_confirming", "VERIFY_RESIZE"},
        {"stopped", "resize_prep", "RESIZE"}, {"stopped", "rebuilding", "REBUILD"},
        {"active", "resize_finish", "RESIZE"}, {"active", "image_snapshot", "ACTIVE"},
        {"error", "rebuilding", "REBUILD"},   {"stopped", "image_uploading", "SHUTOFF"},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        assert_string_equal(compute_server_status(t[i][0], t[i][1]), t[i][2]);
    assert_string_equal(compute_status_vm_state("SHUTOFF"), "stopped");
    assert_string_equal(compute_status_vm_state("active"), "active");
    assert_null(compute_status_vm_state("NOPE"));
}

static void
test_quota(void **state)
{
    (void)state;
    long long lim[Q_COUNT];
    for (int q = 0; q < Q_COUNT; q++)
        lim[q] = -1;
    lim[Q_INSTANCES] = 10;
    lim[Q_CORES] = 20;
    lim[Q_RAM] = 51200;
    char msg[256];
    assert_true(compute_quota_fits(lim, 9, 9, 4608, 1, 1, 512, msg, sizeof(msg)));
    assert_false(compute_quota_fits(lim, 10, 10, 5120, 1, 1, 512, msg, sizeof(msg)));
    assert_string_equal(msg, "Quota exceeded for instances: Requested 1, but already used "
                             "10 of 10 instances");
    assert_false(compute_quota_fits(lim, 0, 19, 0, 2, 1, 512, msg, sizeof(msg)));
    assert_string_equal(msg, "Quota exceeded for cores: Requested 2, but already used 19 of "
                             "20 cores");
    assert_false(compute_quota_fits(lim, 10, 20, 0, 1, 1, 512, msg, sizeof(msg)));
    assert_string_equal(msg, "Quota exceeded for cores, instances: Requested 1, 1, but "
                             "already used 20, 10 of 20, 10 cores, instances");
    lim[Q_INSTANCES] = -1;   /* unlimited */
    assert_true(compute_quota_fits(lim, 1000, 0, 0, 1, 1, 1, msg, sizeof(msg)));
}

static void
test_virt_type(void **state)
{
    (void)state;
    struct stat st;
    if (stat("/sys/module/kvm_pvm", &st) == 0 || stat("/dev/kvm", &st) != 0)
        assert_string_equal(virt_type(), "qemu");   /* PVM or no KVM: never kvm */
    else
        assert_string_equal(virt_type(), virt_kvm_works() ? "kvm" : "qemu");
}

int
main(void)
{
    ms_config_load(NULL, NULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status),
        cmocka_unit_test(test_quota),
        cmocka_unit_test(test_virt_type),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
