/* Configuration: one declarative table of options (section, name, type,
 * default, bounds, help). The same table parses the INI file, fills the
 * global ms_conf and generates etc/monostack.conf.sample. */
#ifndef MONOSTACK_CONFIG_H
#define MONOSTACK_CONFIG_H

#include <stdio.h>

#include "common.h"

/* INT fills an int, SIZE a long long (bytes), DOUBLE a double. */
typedef enum { MS_OPT_STR, MS_OPT_INT, MS_OPT_SIZE, MS_OPT_BOOL, MS_OPT_DOUBLE } ms_opt_type;

typedef struct {
    const char *section;
    const char *name;
    ms_opt_type type;
    const char *def;        /* default, as written in the file */
    long long min, max;     /* bounds for INT, SIZE and DOUBLE */
    const char *help;
    size_t offset;          /* into ms_config */
    const char *choices;    /* for MS_OPT_STR: "a|b|c", or NULL for any text */
} ms_option;

/* A service listener's settings. */
typedef struct {
    bool enabled;
    int port;
    int threads;
} ms_service_conf;

typedef struct {
    /* [DEFAULT] */
    char *host;
    char *state_path;
    char *bind_host;
    char *log_level;
    char *log_file;
    char *public_url_host;   /* host name clients use in catalog URLs */
    long long max_body_size;
    /* [database] */
    char *db_connection;
    int db_pool_timeout;
    /* [bus] */
    char *bus_url;
    int bus_heartbeat;
    /* [tasks] */
    int task_workers;
    int task_poll_interval;
    int task_stale_after;
    /* services */
    ms_service_conf identity, image, compute, volume, network, metadata;
    /* [identity] */
    int token_expiration;
    int password_hash_rounds;
    /* [image] */
    char *image_store_path;          /* "" = <state_path>/images */
    long long image_size_cap;        /* bytes, per image */
    long long image_storage_quota;   /* bytes per project, 0 = unlimited */
    int image_count_quota;           /* images per project, 0 = unlimited */
    /* [compute] */
    char *instances_path;            /* "" = <state_path>/instances */
    double cpu_allocation_ratio;
    double ram_allocation_ratio;
    double disk_allocation_ratio;
    int reserved_host_memory_mb;
    int quota_instances, quota_cores, quota_ram, quota_key_pairs;
    int quota_metadata_items, quota_server_groups, quota_server_group_members;
    int shelved_offload_time;        /* seconds; 0 = at once, -1 = never */
    char *novncproxy_base_url;
    bool force_config_drive;         /* every new server gets a config drive */
    char *mkisofs_cmd;               /* ISO 9660 writer for config drives */
    int image_cache_manager_interval;               /* seconds; <= 0: never */
    int remove_unused_original_minimum_age_seconds;
    /* [libvirt] */
    char *libvirt_uri;
    char *virt_type;
    /* [volume] */
    char *volume_driver;
    char *volume_group;
    /* [network] */
    char *network_driver;
    char *flat_interface;
} ms_config;

extern ms_config ms_conf;
extern const ms_option ms_options[];
extern const size_t ms_options_count;

/* Load defaults, then the file (NULL: defaults only). Returns 0, or -1 with a
 * message naming file, line and option in err (caller frees). Unknown options
 * log a warning and are ignored. */
int ms_config_load(const char *path, char **err);
/* Set one option from text, as the file would ("section", "name", "value"). */
int ms_config_set(const char *section, const char *name, const char *value, char **err);
/* Write the sample configuration (every option, its default and help). */
void ms_config_write_sample(FILE *out);
void ms_config_free(void);
/* The listener settings of a service module by name ("identity"), or NULL. */
const ms_service_conf *ms_config_service(const char *name);

#endif
