/* Compute (Nova v2.1): the interface between the module's files. Other
 * modules will use include/monostack/compute.h (not written yet).
 *
 * The API files (one per resource: versions.c, flavors.c, keypairs.c,
 * quotas.c, hosts.c, servers.c and its server_*.c siblings, actions.c,
 * instance_actions.c, servergroups.c, aggregates.c) validate, authorize and
 * write rows; the slow work runs in the build/action task handlers
 * (manager.c, with devices.c, configdrive.c, image_cache.c) through the virt
 * driver (src/drivers/virt/virt.h). SQL lives only in the *_db.c files. */
#ifndef COMPUTE_H
#define COMPUTE_H

#include <jansson.h>

#include <monostack/db.h>
#include <monostack/http.h>
#include <monostack/json.h>
#include <monostack/log.h>
#include <monostack/task.h>

extern const ms_migration compute_migrations[];
extern const ms_module compute_module;

/* The highest microversion whose changes are implemented. */
#define COMPUTE_MV_MAX MS_MV(2, 93)

/* ---- shared helpers (util.c) ---- */
/* "http://host:8774/v2.1[/project]" and the bookmark form without the
 * version, as Nova builds them (project included when the URL had it). */
char *compute_href(ms_request *req, const char *collection, const char *id);
char *compute_bookmark(ms_request *req, const char *collection, const char *id);
json_t *compute_links(ms_request *req, const char *collection, const char *id);
/* A "next" link carrying the query arguments with marker replaced. */
json_t *compute_next_link(ms_request *req, const char *collection, const char *marker);
/* 400 in Nova's validation wording. */
void compute_bad_field(ms_response *resp, const char *field, const json_t *value,
                       const char *reason);
/* A JSON value (or NULL) as text for error messages; caller frees. */
char *compute_json_repr(const json_t *v);
/* limit/marker from the query: 0, or -1 after answering 400. max_limit 1000. */
#define COMPUTE_MAX_LIMIT 1000
int compute_limit_marker(ms_request *req, ms_response *resp, int *limit,
                         const char **marker);
/* Nova's boolean strings ("true", "1", "yes", "on"... case-insensitive).
 * -1 when not a boolean. */
int compute_parse_bool(const char *s);
/* A JSON boolean or boolean string; -1 when not one. */
int compute_json_bool(const json_t *v);
/* An integer or an all-digit string; false when neither. */
bool compute_json_intlike(const json_t *v, long long *out);
/* Nova's name format: printable, no leading/trailing whitespace. */
bool compute_valid_name(const char *s);
void compute_time_iso(int64_t us, char out[32]);       /* "...Z", no fraction */
void compute_time_iso_frac(int64_t us, char out[32]);  /* "...ffffff", no Z */
int64_t compute_now(void);                             /* epoch microseconds */
/* OS-DCF:diskConfig of a request object: 1 AUTO, 0 MANUAL, -1 absent,
 * -2 after answering 400. */
int compute_disk_config(ms_response *resp, const json_t *obj);
/* accessIPv4 (v6 false) or accessIPv6 of a request object, checked and in
 * canonical form into out ("" when absent); false after answering 400. */
bool compute_access_ip(ms_response *resp, const json_t *obj, bool v6, char out[64]);
/* Check a route's project id path segment against the token (Nova answers
 * 400 on a mismatch); true when fine. */
bool compute_project_ok(ms_request *req, ms_response *resp);
/* From microversion 2.75 Nova rejects query parameters its schema does not
 * name; below it, unknown ones are ignored. allowed is NULL-terminated.
 * True when fine; answers 400 otherwise. */
bool compute_query_strict(ms_request *req, ms_response *resp, const char *const *allowed);
/* The same from another microversion (os-hypervisors is strict from 2.53). */
bool compute_query_strict_from(ms_request *req, ms_response *resp, const char *const *allowed,
                               int min_mv);
/* Whether the negotiated microversion is at least major.minor (a request
 * without one is 2.1). */
#define COMPUTE_MV_GE(req, major, minor) ((req)->mv >= MS_MV(major, minor))

/* ---- versions (versions.c) ---- */
int compute_versions(ms_request *req, ms_response *resp);
int compute_version_v21(ms_request *req, ms_response *resp);
int compute_version_v2(ms_request *req, ms_response *resp);

/* ---- flavors (flavors.c, flavors_db.c) ---- */
typedef struct {
    long long id;                  /* internal row id */
    char flavorid[256];
    char name[256];
    int memory_mb, vcpus, root_gb, ephemeral_gb, swap;
    double rxtx_factor;
    bool is_public, disabled;
    char *description;
    int64_t created_at;
} compute_flavor;

void compute_flavor_clear(compute_flavor *f);
int compute_flavor_db_get(const char *flavorid, compute_flavor *out);   /* -ENOENT */
int compute_flavor_db_insert(compute_flavor *f);   /* -EEXIST: name or flavorid taken */
int compute_flavor_db_name_used(const char *name, bool *used);
int compute_flavor_db_id_used(const char *flavorid, bool *used);
int compute_flavor_db_delete(long long id);
int compute_flavor_db_set_description(long long id, const char *description);
typedef struct {
    const char *project;           /* non-admin: public or granted to this project */
    bool admin;
    int is_public;                 /* -1: both (admin "None"), 0, 1 */
    long long min_ram, min_disk;
    const char *sort_key;          /* a column name from a fixed table */
    bool sort_desc;
    const compute_flavor *marker;
    int limit;
} compute_flavor_query;
bool compute_flavor_sort_key_ok(const char *key);
int compute_flavor_db_list(const compute_flavor_query *q, compute_flavor **out, size_t *n);
int compute_flavor_db_specs(long long id, json_t **out);       /* new object */
int compute_flavor_db_spec_set(long long id, const char *key, const char *value);
int compute_flavor_db_spec_delete(long long id, const char *key, bool *found);
int compute_flavor_db_access(long long id, json_t **projects);  /* new array */
int compute_flavor_db_access_add(long long id, const char *project);  /* -EEXIST */
int compute_flavor_db_access_remove(long long id, const char *project, bool *found);
int compute_flavor_db_access_has(long long id, const char *project, bool *has);
/* Find a flavor the caller may use/see; answers 404 into resp when not. */
int compute_flavor_lookup(ms_request *req, ms_response *resp, const char *flavorid,
                          compute_flavor *out);
json_t *compute_flavor_json(ms_request *req, const compute_flavor *f, bool detail);
int compute_flavors_bootstrap(const struct ms_bootstrap_opts *opts, char **err);

int compute_flavor_list(ms_request *req, ms_response *resp);
int compute_flavor_detail(ms_request *req, ms_response *resp);
int compute_flavor_show(ms_request *req, ms_response *resp);
int compute_flavor_create(ms_request *req, ms_response *resp);
int compute_flavor_delete(ms_request *req, ms_response *resp);
int compute_flavor_update(ms_request *req, ms_response *resp);
int compute_flavor_specs_list(ms_request *req, ms_response *resp);
int compute_flavor_specs_create(ms_request *req, ms_response *resp);
int compute_flavor_spec_show(ms_request *req, ms_response *resp);
int compute_flavor_spec_update(ms_request *req, ms_response *resp);
int compute_flavor_spec_delete(ms_request *req, ms_response *resp);
/* Nova's extra spec validation (2.86, extra_specs.c): 0 when the key is
 * unknown outside a known namespace or its value fits the key's rule, else
 * -EINVAL with Nova's message in err. */
int compute_extra_spec_validate(const char *key, const char *value, char *err, size_t errlen);
int compute_flavor_access_list(ms_request *req, ms_response *resp);
int compute_flavor_action(ms_request *req, ms_response *resp);

/* ---- keypairs (keypairs.c, keypair_parse.c, keypairs_db.c) ---- */
typedef struct {
    long long id;
    char user_id[MS_ID_LEN];
    char name[256];
    char fingerprint[128];
    char *public_key;
    char type[8];
    int64_t created_at;
} compute_keypair;

void compute_keypair_clear(compute_keypair *k);
/* Validate an OpenSSH public key line (ssh-rsa, ssh-ed25519, ecdsa-sha2-*,
 * ssh-dss) and compute Nova's fingerprint: MD5 of the key blob, colon hex.
 * Returns 0 or -EINVAL. */
int compute_ssh_fingerprint(const char *public_key, char fp[48]);
/* Generate an RSA-2048 key: PEM private key and "ssh-rsa ... Generated-by-Nova"
 * public line; caller frees both. */
int compute_ssh_generate(char **private_pem, char **public_line);
/* A PEM X.509 certificate's SHA-1 fingerprint, colon hex; -EINVAL. */
int compute_x509_fingerprint(const char *pem, char fp[64]);
/* A self-signed client certificate for the user (PEM) and its key as a
 * base64 PKCS#12 bundle, as Nova generates x509 keypairs; caller frees. */
int compute_x509_generate(const char *user_id, char **private_b64, char **cert_pem);

int compute_keypair_db_get(const char *user_id, const char *name, compute_keypair *out);
int compute_keypair_db_insert(compute_keypair *k);     /* -EEXIST */
int compute_keypair_db_delete(const char *user_id, const char *name, bool *found);
/* Sorted by name, after marker (a name; NULL from the start), at most
 * limit (< 0: all). */
int compute_keypair_db_list(const char *user_id, const char *marker, int limit,
                            compute_keypair **out, size_t *n);
int compute_keypair_db_count(const char *user_id, long long *n);

int compute_keypair_list(ms_request *req, ms_response *resp);
int compute_keypair_create(ms_request *req, ms_response *resp);
int compute_keypair_show(ms_request *req, ms_response *resp);
int compute_keypair_delete(ms_request *req, ms_response *resp);

/* ---- quotas and limits (quotas.c, quotas_db.c) ---- */
typedef enum {
    Q_INSTANCES, Q_CORES, Q_RAM, Q_FLOATING_IPS, Q_FIXED_IPS, Q_METADATA_ITEMS,
    Q_INJECTED_FILES, Q_INJECTED_FILE_CONTENT_BYTES, Q_INJECTED_FILE_PATH_BYTES,
    Q_KEY_PAIRS, Q_SECURITY_GROUPS, Q_SECURITY_GROUP_RULES, Q_SERVER_GROUPS,
    Q_SERVER_GROUP_MEMBERS, Q_COUNT
} compute_quota_res;

extern const char *const compute_quota_names[Q_COUNT];
/* The default limit of each resource (from [compute] quota_* options). */
long long compute_quota_default(compute_quota_res r);
/* The project's limits (defaults overlaid with its rows). */
int compute_quota_limits(const char *project, long long limits[Q_COUNT]);
/* Instances, cores and ram in use by a project (non-deleted servers). */
int compute_quota_db_usage(const char *project, long long *instances, long long *cores,
                           long long *ram);
int compute_quota_db_get(const char *project, long long limits[Q_COUNT], bool set[Q_COUNT]);
int compute_quota_db_set(const char *project, const char *resource, long long limit);
int compute_quota_db_delete(const char *project);
int compute_quota_db_server_groups(const char *project, long long *n);
/* Overlay a quota class's rows on limits. */
int compute_quota_class_db_get(const char *cls, long long limits[Q_COUNT]);
int compute_quota_class_db_set(const char *cls, const char *resource, long long limit);
/* Whether adding (count, cores, ram) stays within limits; fills a Nova
 * "Quota exceeded for ..." message when not. Pure, for unit tests. */
bool compute_quota_fits(const long long limits[Q_COUNT], long long used_inst,
                        long long used_cores, long long used_ram, long long count,
                        long long cores, long long ram, char *msg, size_t msglen);

int compute_quota_show(ms_request *req, ms_response *resp);
int compute_quota_defaults(ms_request *req, ms_response *resp);
int compute_quota_detail(ms_request *req, ms_response *resp);
int compute_quota_update(ms_request *req, ms_response *resp);
int compute_quota_delete(ms_request *req, ms_response *resp);
int compute_limits(ms_request *req, ms_response *resp);
int compute_quota_class_show(ms_request *req, ms_response *resp);
int compute_quota_class_update(ms_request *req, ms_response *resp);

/* ---- hosts: services, hypervisors, AZs, usage (hosts.c, hosts_db.c) ---- */
int compute_service_heartbeat(void);      /* upsert this host's rows */
int compute_az_list(ms_request *req, ms_response *resp);
int compute_az_detail(ms_request *req, ms_response *resp);
int compute_hypervisor_list(ms_request *req, ms_response *resp);
int compute_hypervisor_detail(ms_request *req, ms_response *resp);
int compute_hypervisor_show(ms_request *req, ms_response *resp);
int compute_hypervisor_stats(ms_request *req, ms_response *resp);
int compute_services_list(ms_request *req, ms_response *resp);
int compute_service_action(ms_request *req, ms_response *resp);
int compute_service_update(ms_request *req, ms_response *resp);
int compute_service_delete(ms_request *req, ms_response *resp);
int compute_hypervisor_uptime(ms_request *req, ms_response *resp);
int compute_hypervisor_search(ms_request *req, ms_response *resp);
int compute_hypervisor_servers(ms_request *req, ms_response *resp);
int compute_usage_list(ms_request *req, ms_response *resp);
int compute_usage_show(ms_request *req, ms_response *resp);

typedef struct {
    long long id;
    char uuid[37];
    char host[256];
    char binary[64];
    char topic[64];
    char zone[256];
    bool disabled;
    char *disabled_reason;
    bool forced_down;
    int64_t updated_at;
} compute_service_row;

typedef struct {
    long long id;
    char uuid[37];
    char host[256];
    char hypervisor_hostname[256];
    char hypervisor_type[64];
    long long hypervisor_version;
    int vcpus;
    long long memory_mb, local_gb;
    char host_ip[64];
    char cpu_info[512];
    /* used, computed from the servers on the host */
    long long vcpus_used, memory_mb_used, local_gb_used, running_vms;
    bool schedulable;   /* its nova-compute service is enabled, not forced down, up */
} compute_node_row;

int compute_service_db_upsert(const char *host, const char *binary, const char *topic,
                              int64_t now);
int compute_service_db_list(compute_service_row **out, size_t *n);
int compute_node_db_upsert(const compute_node_row *node, int64_t now);
int compute_node_db_list(compute_node_row **out, size_t *n);   /* with usage */
/* Set a service's flags; -ENOENT when the row is gone. */
int compute_service_db_update(long long id, bool disabled, const char *reason,
                              bool forced_down);
/* Delete a service; for nova-compute also its node row and aggregate
 * memberships. -EBUSY when servers still live on a compute host. */
int compute_service_db_delete(const compute_service_row *s);
/* The live servers on a host as [{"name", "uuid"}] (new array). */
int compute_host_servers_db(const char *host, json_t **out);

/* Usage per project over [start, end) for os-simple-tenant-usage. */
typedef struct {
    char uuid[37];
    char name[256];
    char project_id[MS_ID_LEN];
    char user_id[MS_ID_LEN];
    char flavor_name[256];
    int vcpus, memory_mb, root_gb, ephemeral_gb;
    int64_t launched_at, terminated_at;   /* 0 = null */
    char vm_state[20];
} compute_usage_row;
int compute_usage_db_rows(const char *project, int64_t start, int64_t end,
                          compute_usage_row **out, size_t *n);

/* ---- servers (servers.c, server_metadata.c, server_tags.c, server_password.c,
 *      instance_actions.c, actions.c, servers_db.c) ---- */
typedef struct {
    long long id;
    char uuid[37];
    char project_id[MS_ID_LEN], user_id[MS_ID_LEN];
    char name[256];
    char *description;
    char hostname[256];
    char image_ref[64];
    char flavorid[256], flavor_name[256];
    int memory_mb, vcpus, root_gb, ephemeral_gb, swap;
    char key_name[256];
    char *key_data, *user_data;
    char vm_state[20], task_state[32];   /* task_state "" = null */
    int power_state;
    char host[256], node[256];
    char availability_zone[256];
    char config_drive[16];
    char access_ip_v4[64], access_ip_v6[64];
    int progress;
    bool locked;
    char locked_by[16];
    char *locked_reason;                 /* 2.73; NULL when none */
    json_t *trusted_certs;               /* 2.63: array of ids (owned) or NULL */
    json_t *flavor_extra;                /* the flavor's extra specs (owned) or NULL */
    json_t *tags;                        /* array (owned), filled by get/list */
    char reservation_id[32];
    int launch_index;
    int fault_code;                      /* 0 = no fault */
    char *fault_message, *fault_details;
    int64_t fault_created;
    int64_t launched_at, terminated_at;  /* 0 = null */
    int64_t created_at, updated_at, deleted_at;
    bool deleted;
    json_t *metadata;                    /* object (owned), filled by get/list */
    char server_group[37];               /* create only: join this group ("" none) */
    /* create only (2.74): the host / node the scheduler must pick ("" any) */
    char requested_host[256], requested_node[256];
    char shelved_image_id[37];           /* the image a shelved server is kept in */
    json_t *security_groups;             /* names (owned); NULL: none stored ("default") */
    json_t *bdms;                        /* create only: mappings to insert (owned) */
    json_t *build_networks;              /* create only: the build task's network request */
    bool auto_disk_config;               /* OS-DCF:diskConfig AUTO */
} compute_instance;

void compute_instance_clear(compute_instance *i);
int compute_instance_db_get(const char *uuid, bool with_deleted, compute_instance *out);
/* Insert n instances (metadata included) and the build tasks in one
 * transaction after checking the project's quota under its row lock (the
 * build task records the "create" action). -EDQUOT with msg filled when over
 * quota. task_ids[i] receive the task ids (publish them after this returns). */
int compute_instance_db_create(compute_instance *insts, size_t n, const long long limits[],
                               const char *request_id, long long *task_ids, char *msg,
                               size_t msglen);
/* Conditional state change: applies only when vm_state is one of from_vm
 * (NULL: any) and task_state is NULL (or expect_task when given). -EBUSY
 * when the row is not in such a state. task_state NULL writes NULL. */
int compute_instance_db_transition(const char *uuid, const char *const *from_vm,
                                   const char *expect_task, const char *vm_state,
                                   const char *task_state, int power_state);
/* Same, and enqueue the task on the instance's host in one transaction. */
int compute_instance_db_action(const char *uuid, const char *const *from_vm,
                               const char *vm_state, const char *task_state,
                               const char *task_type, json_t *payload, const char *host,
                               const char *action, const char *request_id,
                               const char *user_id, const char *project_id,
                               long long *task_id);
int compute_instance_db_set(const char *uuid, const char *vm_state, const char *task_state,
                            int power_state);
int compute_instance_db_set_host(const char *uuid, const char *host);
int compute_instance_db_set_active(const char *uuid, int power_state);
int compute_instance_db_set_power(const char *uuid, int power_state);
int compute_instance_db_set_fault(const char *uuid, int code, const char *message,
                                  const char *details);
int compute_instance_db_mark_deleted(const char *uuid);
int compute_instance_db_update(const char *uuid, const char *name, const char *access4,
                               const char *access6);
int compute_instance_db_lock(const char *uuid, bool locked, const char *by,
                             const char *reason);
int compute_instance_db_set_description(const char *uuid, const char *description);
int compute_instance_db_set_key(const char *uuid, const char *key_name, const char *key_data);
int compute_instance_db_set_user_data(const char *uuid, const char *user_data);
int compute_instance_db_set_trusted_certs(const char *uuid, const json_t *certs);
int compute_instance_db_set_az(const char *uuid, const char *az);
int compute_instance_db_set_hostname(const char *uuid, const char *hostname);
/* Unshelve (2.91): pin to az, or unpin with NULL. */
int compute_instance_db_set_requested_az(const char *uuid, const char *az);
/* Nova's host_status for a server on host ("" when host is empty). */
int compute_instance_db_host_status(const char *host, int64_t down_after_us, char out[16]);
/* Whether a compute node with this host (and hypervisor_hostname) exists;
 * NULL matches any. */
int compute_instance_db_host_exists(const char *host, const char *node, bool *exists);
/* The uuids of the server groups the instance is in (new array). */
int compute_instance_db_groups(const char *uuid, json_t **out);
/* Server tags (2.26): a sorted array (new). */
int compute_instance_db_tags(const char *uuid, json_t **out);
int compute_instance_db_tags_replace(const char *uuid, const json_t *tags);
int compute_instance_db_tag_add(const char *uuid, const char *tag);
int compute_instance_db_tag_delete(const char *uuid, const char *tag, bool *found);
int compute_instance_db_set_disk_config(const char *uuid, bool auto_disk);
int compute_instance_db_meta_replace(const char *uuid, json_t *meta);
int compute_instance_db_meta_set(const char *uuid, const char *key, const char *value);
int compute_instance_db_meta_delete(const char *uuid, const char *key, bool *found);
/* Rebuild and resize. A flavor snapshot is the JSON object
 * {flavorid, name, memory_mb, vcpus, root_gb, ephemeral_gb, swap} (new). */
int compute_instance_db_set_image(const char *uuid, const char *image_ref);
json_t *compute_flavor_snapshot(const char *flavorid, const char *name, int memory_mb,
                                int vcpus, int root_gb, int ephemeral_gb, int swap);
/* Copy flavor into the instance's columns; old (NULL clears it) is kept
 * in old_flavor for revertResize. */
int compute_instance_db_set_flavor(const char *uuid, const json_t *flavor, const json_t *old);
/* The flavor saved by a resize (new reference); -ENOENT when none. */
int compute_instance_db_old_flavor(const char *uuid, json_t **out);
/* Shelve: remember the image holding the disk (NULL clears it); offloaded
 * also clears host and node. */
int compute_instance_db_set_shelved(const char *uuid, const char *image_id, bool offloaded);
/* Put an (offloaded) instance on a host. */
int compute_instance_db_place(const char *uuid, const char *host);
/* Live instances on a host (for power sync); caller frees. */
int compute_instance_db_on_host(const char *host, compute_instance **out, size_t *n);

typedef struct {
    const char *project;         /* NULL: all projects */
    const char *name_regex, *image, *flavor, *host;
    const char *reservation_regex;  /* reservation_id (a regex, as Nova matches it) */
    const char *vm_state;        /* from the status filter */
    int64_t changes_since;       /* 0: none */
    int64_t changes_before;      /* 0: none (2.66) */
    int locked;                  /* 0: any, 1: locked only, 2: unlocked only (2.73) */
    /* Column filters non-admins may use from 2.83 (hostname from 2.90):
     * exact for user_id and task_state, regular expressions for the others
     * (times as "YYYY-MM-DD HH:MM:SS", numbers as digits), as Nova's. */
    const char *user_id, *task_state;
    const char *az_regex, *config_drive_regex, *key_name_regex, *hostname_regex;
    const char *power_state_regex, *progress_regex;
    const char *created_regex, *launched_regex, *terminated_regex;
    bool none;                   /* a filter nothing can match */
    /* Tag filters (2.26): comma-joined lists; counts of distinct tags. */
    const char *tags, *tags_any, *not_tags, *not_tags_any;
    int tags_count, not_tags_count;
    bool deleted;                /* list deleted rows (admin) */
    const compute_instance *marker;
    int limit;
    bool brief;                  /* only id, uuid, name, created_at; no metadata */
} compute_instance_query;
int compute_instance_db_list(const compute_instance_query *q, compute_instance **out,
                             size_t *n);

/* Instance actions and their events. */
/* Record an action unless the request already has one on the instance (a
 * retried or handed-over task runs this again). */
int compute_action_db_start(const char *uuid, const char *action, const char *request_id,
                            const char *project_id, const char *user_id, int64_t start_time);
int compute_action_db_event(const char *uuid, const char *request_id, const char *event,
                            bool start, const char *result);
/* Finish an event as "Error" with the failure's message (2.84 "details"). */
int compute_action_db_event_error(const char *uuid, const char *request_id, const char *event,
                                  const char *details);
typedef struct {
    int64_t changes_since, changes_before;   /* 0: none */
    const char *marker;                      /* a request id */
    int limit;                               /* 0: no limit */
    bool updated_at;                         /* 2.58: show updated_at */
} compute_action_query;
/* -ENOENT: the marker is not an action of this instance. */
int compute_action_db_list(const char *uuid, const compute_action_query *q, json_t **out);
/* The action without its events (new object); its row id in *action_id. */
int compute_action_db_get(const char *uuid, const char *request_id, bool updated_at,
                          json_t **out, long long *action_id);
/* Its events with the host each ran on ("host" key, for the API to shape). */
int compute_action_db_events(long long action_id, json_t **out);
int compute_action_db_finish(const char *uuid, const char *request_id, const char *message);

/* A generated adminPass (12 characters, no look-alikes). */
void compute_random_password(char out[13]);
/* Nova's status name for a (vm_state, task_state) pair. */
const char *compute_server_status(const char *vm_state, const char *task_state);
/* The vm_state a status filter selects, or NULL for an unknown status. */
const char *compute_status_vm_state(const char *status);
json_t *compute_server_json(ms_request *req, const compute_instance *i, bool detail);
/* Nova's hostId: sha224 of project and host, hex; "" without a host. */
void compute_host_id(const char *project, const char *host, char out[57]);
/* Server metadata as Nova's schema takes it (string keys 1-255, string
 * values up to 255) and, with limit >= 0, within that many items; false
 * after answering 400 or 403. */
bool compute_check_metadata(ms_response *resp, json_t *meta, long long limit);
/* Which parts of a detailed server to show: Nova's update and rebuild
 * answers leave some out before 2.75, and add server_groups from 2.71. */
typedef struct {
    bool partial;                /* update/rebuild before 2.75 */
    bool key_name;               /* with partial: rebuild from 2.54 shows it */
    bool server_groups;          /* 2.71 show/update/rebuild */
    bool no_user_data;           /* rebuild: user_data is added by the action */
} compute_server_view;
json_t *compute_server_json_view(ms_request *req, const compute_instance *i,
                                 const compute_server_view *v);
/* os-server-password (server_password.c) */
int compute_server_password_show(ms_request *req, ms_response *resp);
int compute_server_password_clear(ms_request *req, ms_response *resp);
/* Fetch a server the caller may see; 404 into resp when not. */
int compute_server_lookup(ms_request *req, ms_response *resp, compute_instance *out);

int compute_server_list(ms_request *req, ms_response *resp);
int compute_server_detail(ms_request *req, ms_response *resp);
int compute_server_create(ms_request *req, ms_response *resp);
int compute_server_show(ms_request *req, ms_response *resp);
int compute_server_update(ms_request *req, ms_response *resp);
int compute_server_delete(ms_request *req, ms_response *resp);
int compute_server_action(ms_request *req, ms_response *resp);
/* Delete (and forceDelete): lock check, "delete" action, task; answers status. */
int compute_server_delete_run(ms_request *req, ms_response *resp, compute_instance *i,
                              int status);
int compute_server_ips(ms_request *req, ms_response *resp);
int compute_server_metadata_list(ms_request *req, ms_response *resp);
int compute_server_metadata_replace(ms_request *req, ms_response *resp);
int compute_server_metadata_update(ms_request *req, ms_response *resp);
int compute_server_metadata_show(ms_request *req, ms_response *resp);
int compute_server_metadata_put(ms_request *req, ms_response *resp);
int compute_server_metadata_delete(ms_request *req, ms_response *resp);
int compute_server_actions_list(ms_request *req, ms_response *resp);
int compute_server_tags_list(ms_request *req, ms_response *resp);
int compute_server_tags_replace(ms_request *req, ms_response *resp);
int compute_server_tags_delete_all(ms_request *req, ms_response *resp);
int compute_server_tag_check(ms_request *req, ms_response *resp);
int compute_server_tag_add(ms_request *req, ms_response *resp);
int compute_server_tag_delete(ms_request *req, ms_response *resp);
int compute_server_topology(ms_request *req, ms_response *resp);
int compute_server_remote_console(ms_request *req, ms_response *resp);
/* Base64 as Nova's schema checks it (length a multiple of 4). */
bool compute_is_base64(const char *s, size_t n);
/* Validate a server description (2.19): string or null, <= 255, printable. */
bool compute_valid_description(ms_response *resp, const json_t *d);
/* Validate trusted_image_certificates (2.63). */
bool compute_valid_trusted_certs(ms_response *resp, const json_t *c);
/* Validate a hostname (2.90): 2-63 letters, digits and inner dashes, as
 * Nova's schema; true when fine, else answers 400. */
bool compute_valid_hostname(ms_response *resp, const json_t *h);
/* Validate a tag list (2.26/2.52) for field; true when fine. */
bool compute_valid_tags(ms_response *resp, const char *field, const json_t *tags);
/* Why a tag is not valid (Nova's schema wording), or NULL when it is. */
const char *compute_tag_problem(const json_t *t);
int compute_server_action_show(ms_request *req, ms_response *resp);

/* ---- create parameters: networks, security groups, block device
 * mappings (create_params.c, instance_extra_db.c) ----
 * Each parser validates its part of the "server" object as Nova's schema
 * for req->mv and Nova's create checks do, and returns 0 with *out (new),
 * -EINVAL after answering 400 into resp, or another negative error. */
/* 400 in Nova's schema-error wording: "Invalid input for field/attribute
 * <field>. Value: <str(value)>. <reason>", %s in reason_fmt standing for
 * repr(value). Returns -EINVAL. */
int compute_schema_error(ms_response *resp, const char *field, const json_t *value,
                         const char *reason_fmt);
/* *out: {"mode": "any"|"list"|"auto"|"none", "requests": [{"uuid"|"port",
 * "fixed_ip", "tag"}]}, what the build task hands to the network service. */
int compute_create_networks(ms_request *req, ms_response *resp, const json_t *srv,
                            json_t **out);
/* *out: the distinct names, in request order ("default" when none). */
int compute_create_security_groups(ms_request *req, ms_response *resp, const json_t *srv,
                                   json_t **out);
/* *out: the whole mapping of one instance in the stored form (source_type,
 * destination_type, boot_index, image_id, volume_id, snapshot_id,
 * volume_size, guest_format, ...): the root image entry, the requested
 * ones, and the flavor's ephemeral and swap disks when not overridden. */
int compute_create_bdms(ms_request *req, ms_response *resp, const json_t *srv,
                        const char *image_id, const compute_flavor *f, long long max_count,
                        json_t **out);
int compute_instance_db_sg_insert(const char *uuid, const json_t *names);
/* Fill security_groups of each instance of a page. */
int compute_instance_db_sg_load(compute_instance *list, size_t n);
int compute_bdm_db_insert(const char *uuid, const json_t *bdm, int64_t now);
int compute_bdm_db_list(const char *uuid, json_t **out);      /* new array */
int compute_bdm_db_delete_all(const char *uuid);
int compute_instance_db_set_config_drive(const char *uuid, const char *value);

/* ---- guest metadata documents (instance_meta.c) ----
 * What the config drive holds, and what the metadata service will serve:
 * Nova's openstack/<version>/{meta_data.json, user_data, vendor_data.json,
 * network_data.json, vendor_data2.json} and ec2/<version>/{meta-data.json,
 * user-data}. */
typedef struct {
    const compute_instance *inst;
    const char *key_type;          /* the keypair's type ("ssh"), NULL: "ssh" */
    const json_t *network_data;    /* network_data.json; NULL: no port ("{}") */
    const char *dhcp_domain;       /* hostname suffix; NULL: "novalocal" */
} compute_meta_src;

typedef struct {
    char *path;                    /* "openstack/latest/meta_data.json" */
    char *data;
    size_t len;
} compute_meta_file;

extern const char *const compute_meta_openstack_versions[];   /* NULL-terminated */
/* meta_data.json for an OpenStack version ("latest" or a date), new; NULL
 * for an unknown version. */
json_t *compute_meta_openstack(const compute_meta_src *src, const char *version);
/* The EC2 meta-data tree for a version ("latest" or a date), new. */
json_t *compute_meta_ec2(const compute_meta_src *src, const char *version);
/* The decoded user data (caller frees), NULL when none; *len its size. */
char *compute_meta_user_data(const compute_instance *inst, size_t *len);
/* Every file of a config drive, as Nova's metadata_for_config_drive lists
 * them; caller frees with compute_meta_files_free. */
int compute_meta_files(const compute_meta_src *src, compute_meta_file **out, size_t *n);
void compute_meta_files_free(compute_meta_file *files, size_t n);

/* ---- config drive (configdrive.c) ---- */
/* Whether the instance gets a config drive now (asked for, or forced by
 * [compute] force_config_drive on its first boot). */
bool compute_configdrive_wanted(const compute_instance *inst);
/* Write the files of src into an ISO 9660 image labelled config-2 at
 * iso_path (replaced atomically); *err (caller frees) on failure. */
int compute_configdrive_make(const compute_meta_src *src, const char *iso_path, char **err);

/* ---- server groups (servergroups.c, servergroups_db.c) ---- */
typedef struct {
    long long id;
    char uuid[37];
    char name[256];
    char project_id[MS_ID_LEN], user_id[MS_ID_LEN];
    char policy[32];
    int max_server_per_host;             /* 0: no rule */
    json_t *members;                     /* array of live instance uuids (owned) */
} compute_server_group;

void compute_server_group_clear(compute_server_group *g);
/* Insert under the project's lock; -EDQUOT when limit (>= 0) is reached. */
int compute_server_group_db_create(compute_server_group *g, long long limit);
/* project NULL: any project. -ENOENT. */
int compute_server_group_db_get(const char *uuid, const char *project,
                                compute_server_group *out);
int compute_server_group_db_list(const char *project, long long offset, long long limit,
                                 compute_server_group **out, size_t *n);
int compute_server_group_db_delete(const char *uuid);
int compute_server_group_db_members_count(const char *group_uuid, long long *n);
int compute_server_group_db_add_member(const char *group_uuid, const char *instance_uuid);
/* The policy of the instance's group and the hosts its other live members
 * are on (new array); -ENOENT when the instance is in no group. For an
 * anti-affinity group with max_server_per_host N, only the hosts that
 * already hold N other members (the ones to avoid). */
int compute_server_group_db_placement(const char *instance_uuid, char policy[32],
                                      json_t **hosts);

int compute_server_group_list(ms_request *req, ms_response *resp);
int compute_server_group_create(ms_request *req, ms_response *resp);
int compute_server_group_show(ms_request *req, ms_response *resp);
int compute_server_group_delete(ms_request *req, ms_response *resp);

/* ---- host aggregates (aggregates.c, aggregates_db.c) ---- */
typedef struct {
    long long id;
    char uuid[37];
    char name[256];
    char availability_zone[256];
    bool has_az;
    int64_t created_at, updated_at;      /* updated_at 0 = null */
    json_t *hosts;                       /* array (owned) */
    json_t *metadata;                    /* object (owned) */
} compute_aggregate;

void compute_aggregate_clear(compute_aggregate *a);
int compute_aggregate_db_get(long long id, compute_aggregate *out);   /* -ENOENT */
int compute_aggregate_db_list(compute_aggregate **out, size_t *n);
int compute_aggregate_db_create(const char *name, const char *az, long long *id); /* -EEXIST */
/* name NULL keeps it; set_az writes az (NULL clears). -EEXIST: name taken. */
int compute_aggregate_db_update(long long id, const char *name, bool set_az, const char *az);
int compute_aggregate_db_delete(long long id);
/* Add or remove a host; changed false when it was already so. */
int compute_aggregate_db_host(long long id, const char *host, bool add, bool *changed);
/* value NULL deletes the key. */
int compute_aggregate_db_meta_set(long long id, const char *key, const char *value);
/* A "cache_images" task (payload {"images": [ids], "project_id"}) for
 * every host of the aggregate, enqueued together and published. */
int compute_aggregate_db_cache_images(long long id, json_t *images, const char *project);

int compute_aggregate_list(ms_request *req, ms_response *resp);
int compute_aggregate_create(ms_request *req, ms_response *resp);
int compute_aggregate_show(ms_request *req, ms_response *resp);
int compute_aggregate_update(ms_request *req, ms_response *resp);
int compute_aggregate_delete(ms_request *req, ms_response *resp);
int compute_aggregate_action(ms_request *req, ms_response *resp);
int compute_aggregate_images(ms_request *req, ms_response *resp);

/* ---- the compute manager: task handlers and periodic jobs (manager.c) ---- */
extern const ms_task_handler compute_task_handlers[];
extern const ms_periodic compute_periodic_jobs[];
int compute_manager_init(void);
void compute_manager_fini(void);
char *compute_instances_path(void);        /* caller frees */
/* Remove the base files under root/_base that no instance overlay uses and
 * that are older than min_age_s, and stale partial copies; the count. */
int compute_image_cache_clean(const char *root, int64_t now_s, int min_age_s);
char *compute_console_log_path(const char *uuid);   /* caller frees */

#endif
