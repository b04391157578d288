/* Flavor extra spec validation (microversion 2.86): the known extra specs as
 * one static table, as Nova registers them. A key that matches a rule must
 * carry a value of the rule's type (integer with bounds, boolean-like, one of
 * an enum, or text matching a pattern); a key in a known namespace that no
 * rule matches is refused; anything else (no namespace, or a namespace nobody
 * registered) is accepted, so operators' own specs keep working.
 *
 * Patterns are POSIX extended regexes matched against the whole key or value;
 * `shown` keeps the form Nova prints in its messages so clients see the same
 * text. Error messages follow Nova's wording word for word. */
#include <errno.h>
#include <limits.h>
#include <regex.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "compute/compute.h"
#include "compute/extra_specs_traits.h"

typedef enum { SPEC_STR, SPEC_INT, SPEC_BOOL } spec_type;

/* How a rule recognises its keys: the literal name, an ERE over the whole
 * key, or one of the grouped namespaces (resources{group}:, trait{group}:). */
typedef enum { NAME_LITERAL, NAME_REGEX, NAME_RESOURCES, NAME_TRAIT } name_kind;

typedef struct {
    const char *name; /* literal key, or an ERE for NAME_REGEX */
    name_kind kind;
    spec_type type;
    bool has_min, has_max;
    long long min, max;
    const char *const *choices; /* enum values, NULL-terminated */
    const char *shown;          /* value pattern as Nova prints it */
    const char *pattern;        /* the same pattern as an ERE */
} spec_rule;

/* clang-format off */
#define R_BOOL(n) {.name = (n), .type = SPEC_BOOL}
#define R_INT(n) {.name = (n), .type = SPEC_INT}
#define R_INT_MIN(n, lo) {.name = (n), .type = SPEC_INT, .has_min = true, .min = (lo)}
#define R_INT_RANGE(n, lo, hi) \
    {.name = (n), .type = SPEC_INT, .has_min = true, .min = (lo), .has_max = true, .max = (hi)}
#define R_STR(n) {.name = (n), .type = SPEC_STR}
#define R_ENUM(n, ...) \
    {.name = (n), .type = SPEC_STR, .choices = (const char *const[]){__VA_ARGS__, NULL}}
#define R_PATTERN(n, s, p) {.name = (n), .type = SPEC_STR, .shown = (s), .pattern = (p)}
/* clang-format on */

/* CPU maps like "0-3,^2"; realtime's mask lets the leading caret be a group. */
#define CPUMAP_SHOWN "\\^?\\d+((-\\d+)?(,\\^?\\d+(-\\d+)?)?)*"
#define CPUMAP_ERE "\\^?[0-9]+((-[0-9]+)?(,\\^?[0-9]+(-[0-9]+)?)?)*"

#define QUOTA_SET(k)                                                                     \
    R_INT_MIN("quota:" k "_limit", 0), R_INT("quota:" k "_reservation"),                 \
        R_ENUM("quota:" k "_shares_level", "custom", "high", "normal", "low"),           \
        R_INT_MIN("quota:" k "_shares_share", 0)

#define QUOTA_DISK(stat)                                                                 \
    R_INT_MIN("quota:disk_" stat "_bytes_sec", 0),                                       \
        R_INT_MIN("quota:disk_" stat "_iops_sec", 0)

#define QUOTA_VIF(dir)                                                                   \
    R_INT_MIN("quota:vif_" dir "_average", 0), R_INT_MIN("quota:vif_" dir "_peak", 0),   \
        R_INT_MIN("quota:vif_" dir "_burst", 0)

static const spec_rule rules[] = {
    /* hw: (libvirt mostly) */
    R_BOOL("hw:cpu_realtime"),
    R_PATTERN("hw:cpu_realtime_mask", "(\\^)?\\d+((-\\d+)?(,\\^?\\d+(-\\d+)?)?)*",
              "(\\^)?[0-9]+((-[0-9]+)?(,\\^?[0-9]+(-[0-9]+)?)?)*"),
    R_BOOL("hw:hide_hypervisor_id"),
    R_ENUM("hw:cpu_policy", "dedicated", "shared", "mixed"),
    R_ENUM("hw:cpu_thread_policy", "prefer", "isolate", "require"),
    R_ENUM("hw:emulator_threads_policy", "isolate", "share"),
    R_PATTERN("hw:cpu_dedicated_mask", CPUMAP_SHOWN, CPUMAP_ERE),
    R_PATTERN("hw:mem_page_size", "(large|small|any|\\d+([kKMGT]i?)?(b|bit|B)?)",
              "(large|small|any|[0-9]+([kKMGT]i?)?(b|bit|B)?)"),
    R_BOOL("hw:locked_memory"),
    R_INT_MIN("hw:numa_nodes", 1),
    R_ENUM("hw:pci_numa_affinity_policy", "required", "preferred", "legacy", "socket"),
    R_INT_MIN("hw:cpu_sockets", 1),
    R_INT_MIN("hw:cpu_cores", 1),
    R_INT_MIN("hw:cpu_threads", 1),
    R_INT_MIN("hw:max_cpu_sockets", 1),
    R_INT_MIN("hw:max_cpu_cores", 1),
    R_INT_MIN("hw:max_cpu_threads", 1),
    R_BOOL("hw:boot_menu"),
    R_BOOL("hw:vif_multiqueue_enabled"),
    R_BOOL("hw:mem_encryption"),
    R_PATTERN("hw:pmem", "([a-zA-Z0-9_]+(,)?)+", "([a-zA-Z0-9_]+(,)?)+"),
    R_BOOL("hw:pmu"),
    R_INT_MIN("hw:serial_port_count", 0),
    R_ENUM("hw:tpm_model", "tpm-tis", "tpm-crb"),
    R_ENUM("hw:tpm_version", "1.2", "2.0"),
    R_ENUM("hw:watchdog_action", "none", "pause", "poweroff", "reset", "disabled"),
    R_ENUM("hw:viommu_model", "intel", "smmuv3", "virtio", "auto"),
    R_BOOL("hw:ephemeral_encryption"),
    R_ENUM("hw:ephemeral_encryption_format", "plain", "luks", "luksv2"),
    /* hw_rng:, hw_video: */
    R_BOOL("hw_rng:allowed"),
    R_INT_MIN("hw_rng:rate_bytes", 0),
    R_INT_MIN("hw_rng:rate_period", 0),
    R_INT_MIN("hw_video:ram_max_mb", 0),
    /* no namespace: still checked when the name is known */
    R_BOOL("hide_hypervisor_id"),
    R_ENUM("group_policy", "isolate", "none"),
    /* os: (libvirt and Hyper-V) */
    R_ENUM("os:secure_boot", "disabled", "required"),
    R_ENUM("os:resolution", "1024x768", "1280x1024", "1600x1200", "1920x1200",
           "2560x1600", "3840x2160"),
    R_INT_RANGE("os:monitors", 1, 8),
    R_ENUM("os:vram", "64", "128", "256", "512", "1024"),
    /* one or more comma-separated alias:count pairs */
    R_PATTERN("pci_passthrough:alias", "[^:]+:\\d+(?:\\s*,\\s*[^:]+:\\d+)*",
              "[^:]+:[0-9]+([[:space:]]*,[[:space:]]*[^:]+:[0-9]+)*"),
    R_STR("accel:device_profile"),
    R_STR("vmware:hw_version"),
    R_STR("vmware:storage_policy"),
    /* quota: */
    QUOTA_SET("cpu"),
    QUOTA_SET("memory"),
    QUOTA_SET("disk_io"),
    QUOTA_SET("vif"),
    R_INT_MIN("quota:cpu_shares", 0),
    R_INT_MIN("quota:cpu_period", 0),
    R_INT("quota:cpu_quota"),
    QUOTA_DISK("read"),
    QUOTA_DISK("write"),
    QUOTA_DISK("total"),
    QUOTA_VIF("inbound"),
    QUOTA_VIF("outbound"),
    /* Keys with a parameter. Nova leaves the '.' of "numa_cpus.{num}"
     * unescaped, so any one character separates the node number. */
    {.name = "hw:numa_cpus.[0-9]+",
     .kind = NAME_REGEX,
     .type = SPEC_STR,
     .shown = CPUMAP_SHOWN,
     .pattern = CPUMAP_ERE},
    {.name = "hw:numa_mem.[0-9]+",
     .kind = NAME_REGEX,
     .type = SPEC_INT,
     .has_min = true,
     .min = 1},
    /* ComputeCapabilitiesFilter and AggregateInstanceExtraSpecsFilter take
     * operator expressions ("s== 2.1", "<in> gcc"), so any value goes. */
    {.name =
         "capabilities:(id|uuid|service_id|host|vcpus|memory_mb|local_gb|vcpus_used|"
         "memory_mb_used|local_gb_used|hypervisor_type|hypervisor_version|"
         "hypervisor_hostname|free_ram_mb|free_disk_gb|current_workload|running_vms|"
         "disk_available_least|host_ip|mapped|cpu_allocation_ratio|ram_allocation_ratio|"
         "disk_allocation_ratio|total_usable_ram_mb|total_usable_disk_gb|disk_mb_used|"
         "free_disk_mb|vcpus_total|num_instances|num_io_ops|failed_builds|aggregates|"
         "cell_uuid|updated)",
     .kind = NAME_REGEX,
     .type = SPEC_STR},
    {.name = "capabilities:(cpu_info|metrics|stats|numa_topology|supported_hv_specs|"
             "pci_device_pools|nodename|pci_stats|supported_instances|limits|instances)"
             "(:[[:alnum:]_]+)*",
     .kind = NAME_REGEX,
     .type = SPEC_STR},
    {.name = "aggregate_instance_extra_specs:.+", .kind = NAME_REGEX, .type = SPEC_STR},
    /* Placement: amounts of resource classes, required/forbidden traits. */
    {.name = "resources", .kind = NAME_RESOURCES, .type = SPEC_INT},
    {.name = "trait",
     .kind = NAME_TRAIT,
     .type = SPEC_STR,
     .choices = (const char *const[]){"required", "forbidden", NULL}},
};

/* Namespaces with rules; resources and trait also take a group suffix. */
static const char *const namespaces[] = {
    "accel",        "aggregate_instance_extra_specs",
    "capabilities", "hw",
    "hw_rng",       "hw_video",
    "os",           "pci_passthrough",
    "quota",        "vmware",
};

static const char *const resource_classes[] = {
    "VCPU",
    "MEMORY_MB",
    "DISK_GB",
    "PCI_DEVICE",
    "SRIOV_NET_VF",
    "NUMA_SOCKET",
    "NUMA_CORE",
    "NUMA_THREAD",
    "NUMA_MEMORY_MB",
    "IPV4_ADDRESS",
    "VGPU",
    "VGPU_DISPLAY_HEAD",
    "NET_BW_EGR_KILOBIT_PER_SEC",
    "NET_BW_IGR_KILOBIT_PER_SEC",
    "PCPU",
    "MEM_ENCRYPTION_CONTEXT",
    "FPGA",
    "PGPU",
    "NET_PACKET_RATE_KILOPACKET_PER_SEC",
    "NET_PACKET_RATE_EGR_KILOPACKET_PER_SEC",
    "NET_PACKET_RATE_IGR_KILOPACKET_PER_SEC",
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* Whole-string ERE match; a pattern that does not compile matches nothing. */
static bool
full_match(const char *ere, const char *s)
{
    size_t n = strlen(ere) + 5;
    char *anchored = malloc(n);
    if (!anchored)
        abort();
    snprintf(anchored, n, "^(%s)$", ere);
    regex_t re;
    bool ok = false;
    if (regcomp(&re, anchored, REG_EXTENDED | REG_NOSUB) == 0) {
        ok = regexec(&re, s, 0, NULL, 0) == 0;
        regfree(&re);
    }
    free(anchored);
    return ok;
}

/* "<base>" followed by an optional request group of 1 to 64 of
 * [a-zA-Z0-9_-], exactly n characters long. */
static bool
grouped_prefix(const char *s, size_t n, const char *base)
{
    size_t b = strlen(base);
    if (n < b || strncmp(s, base, b) != 0 || n - b > 64)
        return false;
    for (size_t i = b; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return false;
    }
    return true;
}

/* "CUSTOM_" and one or more of [A-Z0-9_]. */
static bool
custom_name(const char *s)
{
    if (strncmp(s, "CUSTOM_", 7) != 0 || !s[7])
        return false;
    return strspn(s + 7, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == strlen(s + 7);
}

static int
cmp_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static bool
rule_matches(const spec_rule *r, const char *key)
{
    const char *colon = strchr(key, ':');
    switch (r->kind) {
    case NAME_LITERAL:
        return strcmp(r->name, key) == 0;
    case NAME_REGEX:
        return full_match(r->name, key);
    case NAME_RESOURCES:
        if (!colon || !grouped_prefix(key, (size_t)(colon - key), r->name))
            return false;
        if (custom_name(colon + 1))
            return true;
        for (size_t i = 0; i < NELEM(resource_classes); i++)
            if (strcmp(resource_classes[i], colon + 1) == 0)
                return true;
        return false;
    case NAME_TRAIT: {
        if (!colon || !grouped_prefix(key, (size_t)(colon - key), r->name))
            return false;
        if (custom_name(colon + 1))
            return true;
        const char *name = colon + 1;
        return bsearch(&name, extra_spec_traits, NELEM(extra_spec_traits),
                       sizeof(extra_spec_traits[0]), cmp_name) != NULL;
    }
    }
    return false;
}

static bool
known_namespace(const char *key)
{
    const char *colon = strchr(key, ':');
    if (!colon)
        return false;
    size_t n = (size_t)(colon - key);
    for (size_t i = 0; i < NELEM(namespaces); i++)
        if (strlen(namespaces[i]) == n && strncmp(namespaces[i], key, n) == 0)
            return true;
    return grouped_prefix(key, n, "resources") || grouped_prefix(key, n, "trait");
}

static bool
is_space(char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r');
}

/* An integer as Python's int() reads text: surrounding whitespace, a sign,
 * digits with single underscores between them. canon receives the number
 * as Python would print it (for the messages); *out saturates, which is
 * enough to compare with the small bounds of the table. */
static bool
parse_int(const char *s, char *canon, size_t canon_len, long long *out)
{
    while (is_space(*s))
        s++;
    bool neg = false;
    if (*s == '+' || *s == '-')
        neg = *s++ == '-';
    if (!(*s >= '0' && *s <= '9'))
        return false;
    char digits[256];
    size_t nd = 0;
    for (;;) {
        if (*s >= '0' && *s <= '9') {
            if (nd + 1 >= sizeof(digits))
                return false;
            if (nd > 0 || *s != '0')
                digits[nd++] = *s;
            s++;
        } else if (*s == '_' && s[1] >= '0' && s[1] <= '9') {
            s++;
        } else {
            break;
        }
    }
    while (is_space(*s))
        s++;
    if (*s)
        return false;
    if (nd == 0) {
        digits[nd++] = '0';
        neg = false;
    }
    digits[nd] = '\0';
    snprintf(canon, canon_len, "%s%s", neg ? "-" : "", digits);
    errno = 0;
    long long v = strtoll(canon, NULL, 10);
    if (errno == ERANGE)
        v = neg ? LLONG_MIN : LLONG_MAX;
    *out = v;
    return true;
}

/* oslo's strict bool_from_string: case-insensitive, surrounding whitespace. */
static bool
bool_like(const char *s)
{
    static const char *const words[] = {"1", "t", "true",  "on",  "y", "yes",
                                        "0", "f", "false", "off", "n", "no"};
    while (is_space(*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && is_space(s[n - 1]))
        n--;
    for (size_t i = 0; i < NELEM(words); i++)
        if (strlen(words[i]) == n && strncasecmp(words[i], s, n) == 0)
            return true;
    return false;
}

static int
check_value(const spec_rule *r, const char *value, char *err, size_t errlen)
{
    if (r->type == SPEC_BOOL) {
        if (!bool_like(value)) {
            snprintf(err, errlen,
                     "Validation failed; '%s' is not a valid boolean-like value.", value);
            return -EINVAL;
        }
        return 0;
    }
    if (r->type == SPEC_INT) {
        char canon[260];
        long long v;
        if (!parse_int(value, canon, sizeof(canon), &v)) {
            snprintf(err, errlen, "Validation failed; '%s' is not a valid integer value.",
                     value);
            return -EINVAL;
        }
        if (r->has_max && v > r->max) {
            snprintf(err, errlen,
                     "Validation failed; '%s' is greater than the max value of '%lld'.",
                     canon, r->max);
            return -EINVAL;
        }
        if (r->has_min && v < r->min) {
            snprintf(err, errlen,
                     "Validation failed; '%s' is less than the min value of '%lld'.",
                     canon, r->min);
            return -EINVAL;
        }
        return 0;
    }
    if (r->pattern) {
        if (!full_match(r->pattern, value)) {
            snprintf(err, errlen, "Validation failed; '%s' is not of the format '%s'.",
                     value, r->shown);
            return -EINVAL;
        }
        return 0;
    }
    if (r->choices) {
        for (size_t i = 0; r->choices[i]; i++)
            if (strcmp(r->choices[i], value) == 0)
                return 0;
        char list[256] = "";
        size_t used = 0;
        for (size_t i = 0; r->choices[i] && used < sizeof(list); i++)
            used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%s",
                                     i ? ", " : "", r->choices[i]);
        snprintf(err, errlen, "Validation failed; '%s' is not one of: %s.", value, list);
        return -EINVAL;
    }
    return 0;
}

int
compute_extra_spec_validate(const char *key, const char *value, char *err, size_t errlen)
{
    /* Literal names first (Nova looks those up directly), then the rest. */
    for (size_t i = 0; i < NELEM(rules); i++)
        if (rules[i].kind == NAME_LITERAL && strcmp(rules[i].name, key) == 0)
            return check_value(&rules[i], value, err, errlen);
    for (size_t i = 0; i < NELEM(rules); i++)
        if (rules[i].kind != NAME_LITERAL && rule_matches(&rules[i], key))
            return check_value(&rules[i], value, err, errlen);
    if (known_namespace(key)) {
        snprintf(err, errlen,
                 "Validation failed; extra spec '%s' does not appear to be a valid extra "
                 "spec.",
                 key);
        return -EINVAL;
    }
    return 0;
}
