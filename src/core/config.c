/* The configuration table: every option monostack reads, with its type,
 * default, bounds and help. The same table fills ms_conf from the INI file
 * and writes etc/monostack.conf.sample, so the two cannot drift apart. */
#include <monostack/config.h>
#include <monostack/log.h>

#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

ms_config ms_conf;

#define OPT(sec, nm, ty, df, lo, hi, field, hl)                                          \
    {.section = (sec), .name = (nm), .type = (ty), .def = (df), .min = (lo), .max = (hi),  \
     .offset = offsetof(ms_config, field), .help = (hl)}
#define STR(sec, nm, df, field, hl) OPT(sec, nm, MS_OPT_STR, df, 0, 0, field, hl)
#define CHOICE(sec, nm, df, ch, field, hl)                                               \
    {.section = (sec), .name = (nm), .type = MS_OPT_STR, .def = (df),                     \
     .offset = offsetof(ms_config, field), .help = (hl), .choices = (ch)}
#define INT(sec, nm, df, lo, hi, field, hl) OPT(sec, nm, MS_OPT_INT, df, lo, hi, field, hl)
#define SIZE(sec, nm, df, lo, hi, field, hl) OPT(sec, nm, MS_OPT_SIZE, df, lo, hi, field, hl)
#define BOOL(sec, nm, df, field, hl) OPT(sec, nm, MS_OPT_BOOL, df, 0, 1, field, hl)
#define DBL(sec, nm, df, lo, hi, field, hl) OPT(sec, nm, MS_OPT_DOUBLE, df, lo, hi, field, hl)
#define SERVICE(sec, portnum)                                                               \
    BOOL(#sec, "enabled", "true", sec.enabled, "Serve this API."),                       \
    INT(#sec, "port", #portnum, 1, 65535, sec.port, "TCP port of this API's listener."),   \
    INT(#sec, "threads", "4", 1, 256, sec.threads,                                       \
        "Threads answering this API's requests.")

const ms_option ms_options[] = {
    STR("DEFAULT", "host", "", host,
        "Name of this host: the queue suffix and the hypervisor name. Empty: the system host name."),
    STR("DEFAULT", "state_path", "/var/lib/monostack", state_path,
        "Directory for keys, images, instances and other state."),
    STR("DEFAULT", "bind_host", "0.0.0.0", bind_host, "Address the API listeners bind to."),
    CHOICE("DEFAULT", "log_level", "INFO", "DEBUG|INFO|WARNING|ERROR", log_level,
           "Lowest level written to the log."),
    STR("DEFAULT", "log_file", "", log_file, "Log file. Empty: standard error."),
    STR("DEFAULT", "public_url_host", "", public_url_host,
        "Host name clients use to reach the APIs (catalog URLs). Empty: host."),
    SIZE("DEFAULT", "max_request_body_size", "114688", 1024, 1LL << 40, max_body_size,
         "Largest request body accepted by JSON routes, in bytes (image data is streamed)."),

    STR("database", "connection", "mysql://monostack:monostack@localhost/monostack",
        db_connection,
        "mysql://user:password@host[:port]/database, or mysql://user:password@/database?unix_socket=/path."),
    INT("database", "connect_timeout", "5", 1, 600, db_pool_timeout,
        "Seconds to wait for the database before a request is answered 503."),

    STR("bus", "url", "amqp://guest:guest@127.0.0.1:5672/", bus_url,
        "RabbitMQ URL: amqp://user:password@host:port/vhost."),
    INT("bus", "heartbeat", "30", 0, 3600, bus_heartbeat, "AMQP heartbeat in seconds (0: off)."),

    INT("tasks", "workers", "4", 1, 256, task_workers, "Threads running tasks from the journal."),
    INT("tasks", "poll_interval", "5", 1, 3600, task_poll_interval,
        "Seconds between scans of the journal for tasks whose message was lost."),
    INT("tasks", "stale_after", "300", 10, 86400, task_stale_after,
        "Seconds after which a claimed task whose worker stopped renewing it runs again."),

    SERVICE(identity, 5000),
    INT("identity", "token_expiration", "3600", 60, 31536000, token_expiration,
        "Token lifetime in seconds."),
    INT("identity", "password_hash_rounds", "300000", 1000, 100000000, password_hash_rounds,
        "PBKDF2-SHA512 iterations for stored passwords (at least bcrypt-12 cost)."),

    SERVICE(image, 9292),
    STR("image", "store_path", "", image_store_path,
        "Directory for image data. Empty: <state_path>/images."),
    SIZE("image", "image_size_cap", "1099511627776", 1, LLONG_MAX, image_size_cap,
         "Largest image, in bytes."),
    SIZE("image", "storage_quota", "0", 0, LLONG_MAX, image_storage_quota,
         "Total image bytes per project (0: unlimited)."),
    INT("image", "image_count_quota", "0", 0, INT_MAX, image_count_quota,
        "Images per project (0: unlimited)."),

    SERVICE(compute, 8774),
    STR("compute", "instances_path", "", instances_path,
        "Directory for instance disks. Empty: <state_path>/instances."),
    DBL("compute", "cpu_allocation_ratio", "16.0", 0, 1000, cpu_allocation_ratio,
        "Virtual CPUs per physical CPU the scheduler may allocate."),
    DBL("compute", "ram_allocation_ratio", "1.5", 0, 1000, ram_allocation_ratio,
        "Virtual RAM per physical RAM the scheduler may allocate."),
    DBL("compute", "disk_allocation_ratio", "1.0", 0, 1000, disk_allocation_ratio,
        "Virtual disk per physical disk the scheduler may allocate."),
    INT("compute", "reserved_host_memory_mb", "512", 0, INT_MAX, reserved_host_memory_mb,
        "Host memory kept back from guests, in MiB."),
    INT("compute", "quota_instances", "10", -1, INT_MAX, quota_instances,
        "Default servers per project (-1: unlimited)."),
    INT("compute", "quota_cores", "20", -1, INT_MAX, quota_cores,
        "Default vCPUs per project (-1: unlimited)."),
    INT("compute", "quota_ram", "51200", -1, INT_MAX, quota_ram,
        "Default RAM per project in MiB (-1: unlimited)."),
    INT("compute", "quota_key_pairs", "100", -1, INT_MAX, quota_key_pairs,
        "Default key pairs per user (-1: unlimited)."),
    INT("compute", "quota_metadata_items", "128", -1, INT_MAX, quota_metadata_items,
        "Default metadata items per server (-1: unlimited)."),
    INT("compute", "quota_server_groups", "10", -1, INT_MAX, quota_server_groups,
        "Default server groups per project (-1: unlimited)."),
    INT("compute", "quota_server_group_members", "10", -1, INT_MAX, quota_server_group_members,
        "Default servers per server group (-1: unlimited)."),
    INT("compute", "shelved_offload_time", "0", -1, INT_MAX, shelved_offload_time,
        "Seconds a shelved server keeps its place on the host before it is offloaded "
        "(0: offload at once, -1: never)."),
    STR("compute", "novncproxy_base_url", "http://127.0.0.1:6080/vnc_auto.html",
        novncproxy_base_url, "Base of the noVNC console URLs handed to clients."),
    BOOL("compute", "force_config_drive", "false", force_config_drive,
         "Give every new server a config drive, asked for or not (as Nova's option)."),
    STR("compute", "mkisofs_cmd", "genisoimage", mkisofs_cmd,
        "The genisoimage-compatible command that writes config drive images."),
    INT("compute", "image_cache_manager_interval", "2400", -1, INT_MAX,
        image_cache_manager_interval,
        "Seconds between passes of the image cache cleaner (0 or -1: never)."),
    INT("compute", "remove_unused_original_minimum_age_seconds", "86400", 0, INT_MAX,
        remove_unused_original_minimum_age_seconds,
        "Age after which a cached base image no server uses is removed."),

    SERVICE(volume, 8776),
    STR("volume", "driver", "lvm", volume_driver, "Volume driver."),
    STR("volume", "volume_group", "monostack-volumes", volume_group,
        "LVM volume group holding the volumes."),

    SERVICE(network, 9696),
    STR("network", "driver", "linuxbridge", network_driver, "Network driver."),
    STR("network", "flat_interface", "", flat_interface,
        "Host interface bridged to the flat provider network (empty: none)."),

    SERVICE(metadata, 8775),

    STR("libvirt", "uri", "qemu:///system", libvirt_uri,
        "libvirt connection URI (test:///default runs the compute path without guests)."),
    CHOICE("libvirt", "virt_type", "auto", "auto|kvm|qemu", virt_type,
           "kvm, qemu (TCG) or auto: kvm only when hardware virtualization really works."),
};
const size_t ms_options_count = MS_ARRAY_LEN(ms_options);

static const ms_option *
find_option(const char *section, const char *name)
{
    for (size_t i = 0; i < ms_options_count; i++) {
        if (strcasecmp(ms_options[i].section, section) == 0 &&
            strcmp(ms_options[i].name, name) == 0)
            return &ms_options[i];
    }
    return NULL;
}

static bool
choice_ok(const char *choices, const char *value)
{
    size_t len = strlen(value);
    for (const char *p = choices; *p;) {
        const char *bar = strchr(p, '|');
        size_t n = bar ? (size_t)(bar - p) : strlen(p);
        if (n == len && strncasecmp(p, value, n) == 0)
            return true;
        p += n + (bar ? 1 : 0);
    }
    return false;
}

/* Store one value; on error return -EINVAL with a message (no location). */
static int
apply_option(const ms_option *o, const char *value, char **err)
{
    char *field = (char *)&ms_conf + o->offset;
    char *end;
    switch (o->type) {
    case MS_OPT_STR:
        if (o->choices && !choice_ok(o->choices, value)) {
            *err = ms_asprintf("invalid value '%s' for option %s (one of %s)", value, o->name,
                               o->choices);
            return -EINVAL;
        }
        free(*(char **)field);
        *(char **)field = ms_strdup(value);
        return 0;
    case MS_OPT_BOOL: {
        static const char *const yes[] = {"true", "yes", "on", "1"};
        static const char *const no[] = {"false", "no", "off", "0"};
        for (size_t i = 0; i < MS_ARRAY_LEN(yes); i++) {
            if (strcasecmp(value, yes[i]) == 0) {
                *(bool *)field = true;
                return 0;
            }
            if (strcasecmp(value, no[i]) == 0) {
                *(bool *)field = false;
                return 0;
            }
        }
        *err = ms_asprintf("invalid value '%s' for option %s (expected true or false)", value,
                           o->name);
        return -EINVAL;
    }
    case MS_OPT_INT:
    case MS_OPT_SIZE: {
        errno = 0;
        long long v = strtoll(value, &end, 10);
        if (errno || end == value || *end || v < o->min || v > o->max) {
            *err = ms_asprintf("invalid value '%s' for option %s (an integer from %lld to %lld)",
                               value, o->name, o->min, o->max);
            return -EINVAL;
        }
        if (o->type == MS_OPT_INT)
            *(int *)field = (int)v;
        else
            *(long long *)field = v;
        return 0;
    }
    case MS_OPT_DOUBLE: {
        errno = 0;
        double v = strtod(value, &end);
        if (errno || end == value || *end || v < (double)o->min || v > (double)o->max) {
            *err = ms_asprintf("invalid value '%s' for option %s (a number from %lld to %lld)",
                               value, o->name, o->min, o->max);
            return -EINVAL;
        }
        *(double *)field = v;
        return 0;
    }
    }
    return -EINVAL;
}

int
ms_config_set(const char *section, const char *name, const char *value, char **err)
{
    const ms_option *o = find_option(section, name);
    if (!o) {
        *err = ms_asprintf("unknown option [%s] %s", section, name);
        return -ENOENT;
    }
    return apply_option(o, value, err);
}

typedef struct {
    const char *path;
    char *err;
} parse_state;

static int
config_line(void *user, const char *section, const char *name, const char *value)
{
    parse_state *st = user;
    const ms_option *o = find_option(section, name);
    if (!o) {
        ms_warn("config: unknown option [%s] %s in %s, ignored", section, name, st->path);
        return 1;
    }
    char *msg = NULL;
    if (apply_option(o, value, &msg) < 0) {
        st->err = ms_asprintf("[%s] %s", section, msg);
        free(msg);
        return 0;   /* inih reports this line */
    }
    return 1;
}

static void
fill_defaults(void)
{
    for (size_t i = 0; i < ms_options_count; i++) {
        char *err = NULL;
        if (apply_option(&ms_options[i], ms_options[i].def, &err) < 0)
            ms_fatal(70, "bad built-in default: %s", err);
    }
}

static void
derive_values(void)
{
    if (ms_str_empty(ms_conf.host)) {
        char name[256] = "localhost";
        gethostname(name, sizeof(name) - 1);
        free(ms_conf.host);
        ms_conf.host = ms_strdup(name);
    }
    if (ms_str_empty(ms_conf.public_url_host)) {
        free(ms_conf.public_url_host);
        ms_conf.public_url_host = ms_strdup(ms_conf.host);
    }
    if (ms_str_empty(ms_conf.image_store_path)) {
        free(ms_conf.image_store_path);
        ms_conf.image_store_path = ms_asprintf("%s/images", ms_conf.state_path);
    }
    if (ms_str_empty(ms_conf.instances_path)) {
        free(ms_conf.instances_path);
        ms_conf.instances_path = ms_asprintf("%s/instances", ms_conf.state_path);
    }
}

int
ms_config_load(const char *path, char **err)
{
    ms_config_free();
    fill_defaults();
    if (path) {
        FILE *f = fopen(path, "r");
        if (!f) {
            *err = ms_asprintf("cannot read configuration %s: %s", path, strerror(errno));
            return -1;
        }
        parse_state st = {.path = path};
        int line = ini_parse_file(f, config_line, &st);
        fclose(f);
        if (line != 0) {
            if (st.err)
                *err = ms_asprintf("%s:%d: %s", path, line, st.err);
            else
                *err = ms_asprintf("%s:%d: syntax error", path, line);
            free(st.err);
            return -1;
        }
    }
    derive_values();
    return 0;
}

void
ms_config_write_sample(FILE *out)
{
    const char *section = NULL;
    fputs("# monostack configuration. Every option with its default; generated from\n"
          "# the option table in src/core/config.c by `monostack-manage config sample`.\n",
          out);
    for (size_t i = 0; i < ms_options_count; i++) {
        const ms_option *o = &ms_options[i];
        if (!section || strcmp(section, o->section) != 0) {
            section = o->section;
            fprintf(out, "\n[%s]\n", section);
        }
        fprintf(out, "\n# %s", o->help);
        if (o->choices)
            fprintf(out, " One of: %s.", o->choices);
        else if (o->type == MS_OPT_INT || o->type == MS_OPT_SIZE)
            fprintf(out, " (%lld..%lld)", o->min, o->max);
        fprintf(out, "\n#%s = %s\n", o->name, o->def);
    }
}

void
ms_config_free(void)
{
    for (size_t i = 0; i < ms_options_count; i++) {
        if (ms_options[i].type == MS_OPT_STR) {
            char **field = (char **)((char *)&ms_conf + ms_options[i].offset);
            free(*field);
            *field = NULL;
        }
    }
}

const ms_service_conf *
ms_config_service(const char *name)
{
    static const struct {
        const char *name;
        size_t offset;
    } services[] = {
        {"identity", offsetof(ms_config, identity)}, {"image", offsetof(ms_config, image)},
        {"compute", offsetof(ms_config, compute)},   {"volume", offsetof(ms_config, volume)},
        {"network", offsetof(ms_config, network)},   {"metadata", offsetof(ms_config, metadata)},
    };
    for (size_t i = 0; i < MS_ARRAY_LEN(services); i++) {
        if (strcmp(services[i].name, name) == 0)
            return (const ms_service_conf *)((const char *)&ms_conf + services[i].offset);
    }
    return NULL;
}
