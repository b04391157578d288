/* Flavor extra spec validation (microversion 2.86): keys and values that
 * Nova accepts pass, the others fail with Nova's message, word for word.
 * The expected messages were checked against Nova's own validator. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "compute/compute.h"

static const struct {
    const char *key, *value;
} valid[] = {
    /* enums, bools, ints, patterns of hw: */
    {"hw:cpu_policy", "dedicated"},
    {"hw:cpu_policy", "mixed"},
    {"hw:cpu_thread_policy", "isolate"},
    {"hw:emulator_threads_policy", "share"},
    {"hw:cpu_realtime", "yes"},
    {"hw:cpu_realtime", " TRUE "},
    {"hw:cpu_realtime", "0"},
    {"hw:hide_hypervisor_id", "Off"},
    {"hw:cpu_realtime_mask", "^0-1"},
    {"hw:cpu_realtime_mask", "0-3,^2"},
    {"hw:cpu_dedicated_mask", "^0,2-3"},
    {"hw:mem_page_size", "large"},
    {"hw:mem_page_size", "2048"},
    {"hw:mem_page_size", "1GiB"},
    {"hw:mem_page_size", "2Mb"},
    {"hw:numa_nodes", "2"},
    {"hw:numa_nodes", " +2 "},
    {"hw:numa_nodes", "1_0"},
    {"hw:numa_nodes", "0010"},
    {"hw:numa_cpus.0", "0-3"},
    {"hw:numa_cpus.12", "4,5"},
    /* Nova's pattern leaves the '.' unescaped: any one character will do */
    {"hw:numa_cpus_1", "0"},
    {"hw:numa_mem.1", "1024"},
    {"hw:cpu_sockets", "4"},
    {"hw:max_cpu_threads", "1"},
    {"hw:serial_port_count", "0"},
    {"hw:pmem", "SMALL,LARGE"},
    {"hw:tpm_model", "tpm-crb"},
    {"hw:tpm_version", "2.0"},
    {"hw:watchdog_action", "poweroff"},
    {"hw:viommu_model", "auto"},
    {"hw:pci_numa_affinity_policy", "socket"},
    {"hw:ephemeral_encryption_format", "luksv2"},
    {"hw_rng:allowed", "True"},
    {"hw_rng:rate_bytes", "0"},
    {"hw_video:ram_max_mb", "64"},
    /* the other namespaces */
    {"os:secure_boot", "required"},
    {"os:monitors", "8"},
    {"os:resolution", "1920x1200"},
    {"os:vram", "256"},
    {"quota:cpu_quota", "-1"},
    {"quota:cpu_period", "20000"},
    {"quota:memory_reservation", "-5"},
    {"quota:vif_shares_level", "custom"},
    {"quota:disk_total_iops_sec", "500"},
    {"quota:vif_outbound_burst", "10"},
    {"pci_passthrough:alias", "a1:2"},
    {"pci_passthrough:alias", "a1:2 , b-2:1"},
    {"accel:device_profile", "anything goes"},
    {"vmware:hw_version", "vmx-13"},
    {"capabilities:hypervisor_type", "s== QEMU"},
    {"capabilities:cpu_info", ">= 1"},
    {"capabilities:cpu_info:features", "<in> aes"},
    {"capabilities:stats:a:b", "x"},
    {"aggregate_instance_extra_specs:ssd", "true"},
    {"aggregate_instance_extra_specs:a:b", "<or> x <or> y"},
    /* placement, with and without a request group */
    {"resources:VCPU", "2"},
    {"resources:VCPU", "0"},
    {"resources1:MEMORY_MB", "-1"},
    {"resources_gpu:VGPU", "1"},
    {"resources:CUSTOM_MAGIC", "3"},
    {"resources-x:NET_PACKET_RATE_IGR_KILOPACKET_PER_SEC", "1000"},
    {"trait:HW_CPU_X86_AVX2", "required"},
    {"trait1:COMPUTE_STATUS_DISABLED", "forbidden"},
    {"trait:CUSTOM_FOO_2", "required"},
    {"trait:STORAGE_DISK_SSD", "required"},
    /* "traits" is the trait namespace with the request group "s" */
    {"traits:HW_CPU_X86_AVX2", "required"},
    /* known keys without a namespace */
    {"hide_hypervisor_id", "false"},
    {"group_policy", "isolate"},
    /* unknown keys outside the known namespaces are not checked */
    {"foo", "bar"},
    {"my:key", "anything"},
    {"hardware:cpu_policy", "whatever"},
    {"hwx:cpu_policy", "x"},
    {"traits_ok_no_colon", "x"},
};

static const struct {
    const char *key, *value, *message;
} invalid[] = {
    {"hw:cpu_policy", "bogus",
     "Validation failed; 'bogus' is not one of: dedicated, shared, mixed."},
    {"hw:cpu_policy", "Dedicated",
     "Validation failed; 'Dedicated' is not one of: dedicated, shared, mixed."},
    {"hw:watchdog_action", "explode",
     "Validation failed; 'explode' is not one of: none, pause, poweroff, reset, "
     "disabled."},
    {"hw:cpu_realtime", "maybe",
     "Validation failed; 'maybe' is not a valid boolean-like value."},
    {"hw:cpu_realtime", "", "Validation failed; '' is not a valid boolean-like value."},
    {"hw_rng:allowed", "2", "Validation failed; '2' is not a valid boolean-like value."},
    {"hw:numa_nodes", "0", "Validation failed; '0' is less than the min value of '1'."},
    {"hw:numa_nodes", "-3", "Validation failed; '-3' is less than the min value of '1'."},
    {"hw:numa_nodes", "-0", "Validation failed; '0' is less than the min value of '1'."},
    {"hw:numa_nodes", "two", "Validation failed; 'two' is not a valid integer value."},
    {"hw:numa_nodes", "1.5", "Validation failed; '1.5' is not a valid integer value."},
    {"hw:numa_nodes", "1__0", "Validation failed; '1__0' is not a valid integer value."},
    {"hw:numa_nodes", "_1", "Validation failed; '_1' is not a valid integer value."},
    {"hw:numa_nodes", "0x10", "Validation failed; '0x10' is not a valid integer value."},
    {"hw:numa_nodes", "", "Validation failed; '' is not a valid integer value."},
    {"hw:numa_mem.0", "0", "Validation failed; '0' is less than the min value of '1'."},
    {"os:monitors", "9", "Validation failed; '9' is greater than the max value of '8'."},
    {"os:monitors", "0009",
     "Validation failed; '9' is greater than the max value of '8'."},
    {"os:monitors", "0", "Validation failed; '0' is less than the min value of '1'."},
    {"os:monitors", "99999999999999999999999",
     "Validation failed; '99999999999999999999999' is greater than the max value of "
     "'8'."},
    {"quota:cpu_period", "-1",
     "Validation failed; '-1' is less than the min value of '0'."},
    {"resources:VCPU", "one", "Validation failed; 'one' is not a valid integer value."},
    {"trait:HW_CPU_X86_AVX2", "preferred",
     "Validation failed; 'preferred' is not one of: required, forbidden."},
    {"hw:cpu_realtime_mask", "a-b",
     "Validation failed; 'a-b' is not of the format "
     "'(\\^)?\\d+((-\\d+)?(,\\^?\\d+(-\\d+)?)?)*'."},
    {"hw:numa_cpus.0", "0-",
     "Validation failed; '0-' is not of the format "
     "'\\^?\\d+((-\\d+)?(,\\^?\\d+(-\\d+)?)?)*'."},
    {"hw:mem_page_size", "huge",
     "Validation failed; 'huge' is not of the format "
     "'(large|small|any|\\d+([kKMGT]i?)?(b|bit|B)?)'."},
    {"hw:pmem", "a b",
     "Validation failed; 'a b' is not of the format '([a-zA-Z0-9_]+(,)?)+'."},
    {"pci_passthrough:alias", "a1",
     "Validation failed; 'a1' is not of the format "
     "'[^:]+:\\d+(?:\\s*,\\s*[^:]+:\\d+)*'."},
    {"group_policy", "all", "Validation failed; 'all' is not one of: isolate, none."},
    {"hide_hypervisor_id", "nope",
     "Validation failed; 'nope' is not a valid boolean-like value."},
    /* unknown keys in a known namespace */
    {"hw:cpu_polcy", "dedicated",
     "Validation failed; extra spec 'hw:cpu_polcy' does not appear to be a valid extra "
     "spec."},
    {"hw:numa_cpus.x", "0",
     "Validation failed; extra spec 'hw:numa_cpus.x' does not appear to be a valid extra "
     "spec."},
    {"hw_rng:foo", "1",
     "Validation failed; extra spec 'hw_rng:foo' does not appear to be a valid extra "
     "spec."},
    {"quota:cpu_limits", "1",
     "Validation failed; extra spec 'quota:cpu_limits' does not appear to be a valid "
     "extra "
     "spec."},
    {"capabilities:bogus", "x",
     "Validation failed; extra spec 'capabilities:bogus' does not appear to be a valid "
     "extra spec."},
    {"capabilities:host:sub", "x",
     "Validation failed; extra spec 'capabilities:host:sub' does not appear to be a "
     "valid "
     "extra spec."},
    {"aggregate_instance_extra_specs:", "x",
     "Validation failed; extra spec 'aggregate_instance_extra_specs:' does not appear to "
     "be "
     "a valid extra spec."},
    {"resources:BOGUS", "1",
     "Validation failed; extra spec 'resources:BOGUS' does not appear to be a valid "
     "extra "
     "spec."},
    {"resources:CUSTOM_", "1",
     "Validation failed; extra spec 'resources:CUSTOM_' does not appear to be a valid "
     "extra "
     "spec."},
    {"resources:custom_x", "1",
     "Validation failed; extra spec 'resources:custom_x' does not appear to be a valid "
     "extra spec."},
    {"trait:NOT_A_TRAIT", "required",
     "Validation failed; extra spec 'trait:NOT_A_TRAIT' does not appear to be a valid "
     "extra "
     "spec."},
    {"traits:NOT_A_TRAIT", "required",
     "Validation failed; extra spec 'traits:NOT_A_TRAIT' does not appear to be a valid "
     "extra spec."},
    {"os:secureboot", "required",
     "Validation failed; extra spec 'os:secureboot' does not appear to be a valid extra "
     "spec."},
    {"vmware:foo", "x",
     "Validation failed; extra spec 'vmware:foo' does not appear to be a valid extra "
     "spec."},
    {"accel:profile", "x",
     "Validation failed; extra spec 'accel:profile' does not appear to be a valid extra "
     "spec."},
};

static void
test_valid(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
        char err[768] = "";
        int rc =
            compute_extra_spec_validate(valid[i].key, valid[i].value, err, sizeof(err));
        if (rc != 0)
            fail_msg("%s=%s refused: %s", valid[i].key, valid[i].value, err);
    }
}

static void
test_invalid(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
        char err[768] = "";
        int rc = compute_extra_spec_validate(invalid[i].key, invalid[i].value, err,
                                             sizeof(err));
        if (rc != -EINVAL)
            fail_msg("%s=%s accepted", invalid[i].key, invalid[i].value);
        assert_string_equal(err, invalid[i].message);
    }
}

/* A request group is 1 to 64 characters; a longer one is not the resources
 * namespace any more, so the key is not checked at all. */
static void
test_group_length(void **state)
{
    (void)state;
    char key[128], err[768];
    snprintf(key, sizeof(key), "resources%s:VCPU",
             "0123456789012345678901234567890123456789"
             "012345678901234567890123");
    assert_int_equal(compute_extra_spec_validate(key, "x", err, sizeof(err)), -EINVAL);
    assert_string_equal(err, "Validation failed; 'x' is not a valid integer value.");
    snprintf(key, sizeof(key), "resources%s:VCPU",
             "0123456789012345678901234567890123456789"
             "0123456789012345678901234");
    assert_int_equal(compute_extra_spec_validate(key, "x", err, sizeof(err)), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_group_length),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
