/* Servers: create (validated against Nova's 2.1 schema, quota reserved and
 * the build task written in one transaction, answered 202 before any
 * hypervisor or image work), list/detail with filters and keyset
 * pagination, show, update, delete, ips and topology. Metadata, tags and
 * instance actions have files of their own. */
#include "compute.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include <monostack/config.h>
#include <monostack/image.h>

static const struct {
    const char *vm, *task, *status;
} status_map[] = {
    {"active", "rebooting", "REBOOT"},      {"active", "reboot_pending", "REBOOT"},
    {"active", "reboot_started", "REBOOT"}, {"active", "rebooting_hard", "HARD_REBOOT"},
    {"active", "reboot_pending_hard", "HARD_REBOOT"},
    {"active", "reboot_started_hard", "HARD_REBOOT"}, {"active", "rebuilding", "REBUILD"},
    {"active", "resize_prep", "RESIZE"},   {"active", "resize_migrating", "RESIZE"},
    {"active", "resize_migrated", "RESIZE"}, {"active", "resize_finish", "RESIZE"},
    {"active", NULL, "ACTIVE"},            {"building", NULL, "BUILD"},
    {"stopped", "rebooting_hard", "HARD_REBOOT"},
    {"stopped", "resize_prep", "RESIZE"},  {"stopped", "resize_migrating", "RESIZE"},
    {"stopped", "resize_migrated", "RESIZE"}, {"stopped", "resize_finish", "RESIZE"},
    {"stopped", "rebuilding", "REBUILD"},  {"stopped", NULL, "SHUTOFF"},
    {"resized", "resize_reverting", "REVERT_RESIZE"},
    {"error", "rebuilding", "REBUILD"},
    {"paused", NULL, "PAUSED"},             {"suspended", NULL, "SUSPENDED"},
    {"rescued", NULL, "RESCUE"},            {"resized", NULL, "VERIFY_RESIZE"},
    {"soft-delete", NULL, "SOFT_DELETED"},  {"deleted", NULL, "DELETED"},
    {"error", NULL, "ERROR"},               {"shelved", NULL, "SHELVED"},
    {"shelved_offloaded", NULL, "SHELVED_OFFLOADED"},
};

const char *
compute_server_status(const char *vm, const char *task)
{
    for (size_t i = 0; i < MS_ARRAY_LEN(status_map); i++) {
        if (strcmp(status_map[i].vm, vm))
            continue;
        if (!status_map[i].task || (task && !strcmp(status_map[i].task, task)))
            return status_map[i].status;
    }
    return "UNKNOWN";
}

const char *
compute_status_vm_state(const char *status)
{
    for (size_t i = 0; i < MS_ARRAY_LEN(status_map); i++) {
        if (!status_map[i].task && !strcasecmp(status_map[i].status, status))
            return status_map[i].vm;
    }
    return NULL;
}

void
compute_host_id(const char *project, const char *host, char out[57])
{
    /* A list page repeats the same project and host: remember the last. */
    static __thread char last_project[MS_ID_LEN], last_host[256], last_id[57];
    out[0] = '\0';
    if (ms_str_empty(host))
        return;
    if (!strcmp(project, last_project) && !strcmp(host, last_host)) {
        memcpy(out, last_id, sizeof(last_id));
        return;
    }
    char *s = ms_asprintf("%s%s", project, host);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_Digest(s, strlen(s), md, &n, EVP_sha224(), NULL);
    free(s);
    for (unsigned i = 0; i < n && i < 28; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    if (strlen(project) < sizeof(last_project) && strlen(host) < sizeof(last_host)) {
        strcpy(last_project, project);
        strcpy(last_host, host);
        memcpy(last_id, out, sizeof(last_id));
    }
}

static json_t *
bookmark_ref(ms_request *req, const char *collection, const char *id)
{
    /* Built by hand rather than with json_pack: a list makes two per server. */
    json_t *link = json_object(), *o = json_object();
    json_object_set_new_nocheck(link, "rel", json_string_nocheck("bookmark"));
    char *bm = compute_bookmark(req, collection, id);
    json_object_set_new_nocheck(link, "href", json_string(bm));
    free(bm);
    json_object_set_new_nocheck(o, "id", json_string(id));
    json_t *links = json_array();
    json_array_append_new(links, link);
    json_object_set_new_nocheck(o, "links", links);
    return o;
}

/* A heartbeat older than this makes the host's status UNKNOWN, as the
 * services API calls a service down. */
#define HOST_DOWN_AFTER_US (60LL * 1000000)

static json_t *
flavor_view(ms_request *req, const compute_instance *i)
{
    if (req->mv < MS_MV(2, 47))
        return bookmark_ref(req, "flavors", i->flavorid);
    /* 2.47: the flavor embedded in the server, extra specs included for
     * those who may read the server (Nova's show:flavor-extra-specs is
     * project reader or admin). */
    json_t *f = json_pack("{s:i,s:i,s:i,s:i,s:i,s:s}", "vcpus", i->vcpus, "ram", i->memory_mb,
                          "disk", i->root_gb, "ephemeral", i->ephemeral_gb, "swap", i->swap,
                          "original_name", i->flavor_name);
    json_object_set_new(f, "extra_specs",
                        i->flavor_extra ? json_deep_copy(i->flavor_extra) : json_object());
    return f;
}

json_t *
compute_server_json(ms_request *req, const compute_instance *i, bool detail)
{
    if (!detail) {
        json_t *o = json_pack("{s:s,s:s}", "id", i->uuid, "name", i->name);
        json_object_set_new(o, "links", compute_links(req, "servers", i->uuid));
        return o;
    }
    compute_server_view v = {0};
    return compute_server_json_view(req, i, &v);
}

json_t *
compute_server_json_view(ms_request *req, const compute_instance *i,
                         const compute_server_view *v)
{
    json_t *o = json_pack("{s:s,s:s}", "id", i->uuid, "name", i->name);
    json_object_set_new(o, "links", compute_links(req, "servers", i->uuid));
    bool full = !v->partial;
    int mv = req->mv;
    const char *task = i->task_state[0] ? i->task_state : NULL;
    const char *status = i->deleted ? "DELETED" : compute_server_status(i->vm_state, task);
    char t[32], hid[57];
    json_object_set_new(o, "status", json_string(status));
    json_object_set_new(o, "tenant_id", json_string(i->project_id));
    json_object_set_new(o, "user_id", json_string(i->user_id));
    json_object_set_new(o, "metadata", i->metadata ? json_incref(i->metadata) : json_object());
    compute_host_id(i->project_id, i->host, hid);
    json_object_set_new(o, "hostId", json_string(hid));
    json_object_set_new(o, "image", i->image_ref[0] ? bookmark_ref(req, "images", i->image_ref)
                                                    : json_string(""));
    json_object_set_new(o, "flavor", flavor_view(req, i));
    compute_time_iso(i->created_at, t);
    json_object_set_new(o, "created", json_string(t));
    compute_time_iso(i->updated_at, t);
    json_object_set_new(o, "updated", json_string(t));
    json_object_set_new(o, "addresses", json_object());
    json_object_set_new(o, "accessIPv4", json_string(i->access_ip_v4));
    json_object_set_new(o, "accessIPv6", json_string(i->access_ip_v6));
    json_object_set_new(o, "OS-DCF:diskConfig",
                        json_string(i->auto_disk_config ? "AUTO" : "MANUAL"));
    if (!strcmp(status, "BUILD") || !strcmp(status, "REBUILD") || !strcmp(status, "RESIZE") ||
        !strcmp(status, "VERIFY_RESIZE") || !strcmp(status, "ACTIVE"))
        json_object_set_new(o, "progress", json_integer(i->progress));
    if (full) {
        json_object_set_new(o, "OS-EXT-AZ:availability_zone",
                            json_string(i->availability_zone[0] ? i->availability_zone : ""));
        json_object_set_new(o, "config_drive", json_string(i->config_drive));
    }
    if (full || v->key_name)
        ms_json_set_str(o, "key_name", i->key_name[0] ? i->key_name : NULL);
    if (full) {
        if (i->launched_at) {
            compute_time_iso_frac(i->launched_at, t);
            json_object_set_new(o, "OS-SRV-USG:launched_at", json_string(t));
        } else {
            json_object_set_new(o, "OS-SRV-USG:launched_at", json_null());
        }
        if (i->terminated_at) {
            compute_time_iso_frac(i->terminated_at, t);
            json_object_set_new(o, "OS-SRV-USG:terminated_at", json_string(t));
        } else {
            json_object_set_new(o, "OS-SRV-USG:terminated_at", json_null());
        }
        /* The names the server was created with (Neutron's ports will carry
         * them once the network service exists); older rows had only "default". */
        json_t *sgs = json_array();
        size_t sk;
        json_t *sv;
        json_array_foreach(i->security_groups, sk, sv)
            json_array_append_new(sgs, json_pack("{s:O}", "name", sv));
        if (!json_array_size(sgs))
            json_array_append_new(sgs, json_pack("{s:s}", "name", "default"));
        json_object_set_new(o, "security_groups", sgs);
        ms_json_set_str(o, "OS-EXT-STS:task_state", task);
        json_object_set_new(o, "OS-EXT-STS:vm_state", json_string(i->vm_state));
        json_object_set_new(o, "OS-EXT-STS:power_state", json_integer(i->power_state));
        json_object_set_new(o, "os-extended-volumes:volumes_attached", json_array());
    }
    if (full && req->auth.is_admin) {
        char iname[32];
        snprintf(iname, sizeof(iname), "instance-%08llx", i->id);
        ms_json_set_str(o, "OS-EXT-SRV-ATTR:host", i->host[0] ? i->host : NULL);
        json_object_set_new(o, "OS-EXT-SRV-ATTR:instance_name", json_string(iname));
        ms_json_set_str(o, "OS-EXT-SRV-ATTR:hypervisor_hostname", i->node[0] ? i->node : NULL);
        if (mv >= MS_MV(2, 3)) {
            /* No kernel/ramdisk images here; the libvirt driver names the
             * root disk vda once the server is placed, as Nova's does. */
            json_object_set_new(o, "OS-EXT-SRV-ATTR:reservation_id",
                                json_string(i->reservation_id));
            json_object_set_new(o, "OS-EXT-SRV-ATTR:launch_index",
                                json_integer(i->launch_index));
            json_object_set_new(o, "OS-EXT-SRV-ATTR:hostname", json_string(i->hostname));
            json_object_set_new(o, "OS-EXT-SRV-ATTR:kernel_id", json_string(""));
            json_object_set_new(o, "OS-EXT-SRV-ATTR:ramdisk_id", json_string(""));
            ms_json_set_str(o, "OS-EXT-SRV-ATTR:root_device_name",
                            i->host[0] ? "/dev/vda" : NULL);
            if (!v->no_user_data)
                ms_json_set_str(o, "OS-EXT-SRV-ATTR:user_data",
                                ms_str_empty(i->user_data) ? NULL : i->user_data);
        }
    }
    /* 2.90 shows the hostname to everyone (it can be set now). */
    if (full && !req->auth.is_admin && mv >= MS_MV(2, 90))
        json_object_set_new(o, "OS-EXT-SRV-ATTR:hostname", json_string(i->hostname));
    if ((!strcmp(i->vm_state, "error") || !strcmp(i->vm_state, "deleted")) && i->fault_code) {
        compute_time_iso(i->fault_created, t);
        json_t *f = json_pack("{s:i,s:s,s:s}", "code", i->fault_code, "created", t, "message",
                              i->fault_message ? i->fault_message : "");
        /* Nova shows details to admins, and to everyone for non-500 faults. */
        if (i->fault_details && (req->auth.is_admin || i->fault_code != 500))
            json_object_set_new(f, "details", json_string(i->fault_details));
        json_object_set_new(o, "fault", f);
    }
    /* host_status is admin-only by Nova's default policy. */
    if (full && mv >= MS_MV(2, 16) && req->auth.is_admin) {
        /* A list shows many servers of few hosts: ask once per host and
         * request (the cache is per thread; a request runs on one). */
        static __thread char c_req[64], c_host[256], c_hs[16];
        if (strcmp(c_req, req->request_id) || strcmp(c_host, i->host)) {
            if (compute_instance_db_host_status(i->host, HOST_DOWN_AFTER_US, c_hs) < 0)
                snprintf(c_hs, sizeof(c_hs), "UNKNOWN");
            snprintf(c_req, sizeof(c_req), "%s", req->request_id);
            snprintf(c_host, sizeof(c_host), "%s", i->host);
        }
        json_object_set_new(o, "host_status", json_string(c_hs));
    }
    if (mv >= MS_MV(2, 9))
        json_object_set_new(o, "locked", json_boolean(i->locked));
    if (mv >= MS_MV(2, 73))
        ms_json_set_str(o, "locked_reason", i->locked_reason);
    if (mv >= MS_MV(2, 19))
        ms_json_set_str(o, "description", i->description);
    if (mv >= MS_MV(2, 26))
        json_object_set_new(o, "tags", i->tags ? json_incref(i->tags) : json_array());
    if (mv >= MS_MV(2, 63))
        json_object_set_new(o, "trusted_image_certificates",
                            i->trusted_certs ? json_incref(i->trusted_certs) : json_null());
    if (v->server_groups && mv >= MS_MV(2, 71)) {
        json_t *g = NULL;
        if (compute_instance_db_groups(i->uuid, &g) < 0)
            g = json_array();
        json_object_set_new(o, "server_groups", g);
    }
    return o;
}

int
compute_server_lookup(ms_request *req, ms_response *resp, compute_instance *out)
{
    const char *id = ms_req_param(req, "server_id");
    int rc = compute_instance_db_get(id, false, out);
    if (rc == 0 && !req->auth.is_admin && strcmp(out->project_id, req->auth.project_id)) {
        compute_instance_clear(out);
        rc = -ENOENT;
    }
    if (rc == -ENOENT)
        ms_resp_error(resp, 404, "Instance %s could not be found.", id);
    return rc;
}

/* ---- list ---- */

/* The query parameters Nova's servers list schema knows (2.75 refuses
 * any other; before, unknown ones are ignored). */
static const char *const list_params[] = {
    "user_id", "project_id", "tenant_id", "launch_index", "image_ref", "image",
    "kernel_id", "ramdisk_id", "hostname", "key_name", "power_state", "vm_state",
    "task_state", "host", "node", "flavor", "reservation_id", "launched_at",
    "terminated_at", "availability_zone", "name", "display_name", "description",
    "display_description", "locked_by", "uuid", "root_device_name", "config_drive",
    "access_ip_v4", "access_ip_v6", "auto_disk_config", "progress", "sort_key", "sort_dir",
    "all_tenants", "soft_deleted", "deleted", "status", "changes-since", "ip", "ip6",
    "created_at", "block_device_mapping", "services", "metadata", "system_metadata",
    "info_cache", "security_groups", "pci_devices", "limit", "marker",
    "tags", "tags-any", "not-tags", "not-tags-any",   /* 2.26 */
    "changes-before",                                   /* 2.66 */
    "locked",                                           /* 2.73 */
};
/* Filters on joined tables: 400 at every version. */
static const char *const joined_params[] = {
    "block_device_mapping", "services", "metadata", "system_metadata", "info_cache",
    "security_groups", "pci_devices",
};
/* Sort keys 2.75 still accepts (the ones earlier versions ignored are gone). */
static const char *const sort_keys_v275[] = {
    "access_ip_v4", "access_ip_v6", "auto_disk_config", "availability_zone", "config_drive",
    "created_at", "display_description", "display_name", "host", "hostname", "image_ref",
    "instance_type_id", "kernel_id", "key_name", "launch_index", "launched_at", "locked_by",
    "node", "power_state", "progress", "project_id", "ramdisk_id", "root_device_name",
    "task_state", "terminated_at", "updated_at", "user_id", "uuid", "vm_state", "locked",
};

static bool
in_list(const char *const *list, size_t n, const char *s)
{
    for (size_t k = 0; k < n; k++) {
        if (!strcmp(list[k], s))
            return true;
    }
    return false;
}

typedef struct {
    int mv;
    bool admin;
    ms_response *resp;
    bool bad;
} list_check;

static bool
check_list_param(void *cls, const char *key, const char *value)
{
    list_check *c = cls;
    size_t known = MS_ARRAY_LEN(list_params);
    if (c->mv < MS_MV(2, 73))
        known--;
    if (c->mv < MS_MV(2, 66))
        known--;
    if (c->mv < MS_MV(2, 26))
        known -= 4;
    /* Nova drops a non-admin's filters it does not allow before looking,
     * so only admins meet this 400. */
    if (c->admin &&
        (key[0] == '_' || in_list(joined_params, MS_ARRAY_LEN(joined_params), key))) {
        ms_resp_error(c->resp, 400, "Invalid filter field: %s.", key);
        c->bad = true;
        return false;
    }
    if (c->mv < MS_MV(2, 75) || key[0] == '_')
        return true;   /* the schema lets "_..." through, for the check above */
    if (!in_list(list_params, known, key)) {
        ms_resp_error(c->resp, 400,
                      "Invalid input for query parameters %s. Value: %s. Additional "
                      "properties are not allowed ('%s' was unexpected)",
                      key, value, key);
        c->bad = true;
        return false;
    }
    if (!strcmp(key, "sort_key") &&
        !in_list(sort_keys_v275, MS_ARRAY_LEN(sort_keys_v275), value)) {
        ms_resp_error(c->resp, 400,
                      "Invalid input for query parameters sort_key. Value: %s. '%s' is not "
                      "one of the allowed sort keys",
                      value, value);
        c->bad = true;
        return false;
    }
    return true;
}

/* A tag filter "a,b,c" as given (FIND_IN_SET takes the same form) and the
 * number of distinct tags in it. */
static int
tag_filter_count(const char *list)
{
    int n = 0;
    const char *p = list;
    while (p) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        bool seen = false;
        for (const char *q = list; q < p && !seen;) {
            const char *qc = strchr(q, ',');
            size_t ql = qc ? (size_t)(qc - q) : strlen(q);
            seen = ql == len && !strncmp(q, p, len);
            q = qc ? qc + 1 : p;
        }
        if (!seen)
            n++;
        p = comma ? comma + 1 : NULL;
    }
    return n;
}

static int
server_list_common(ms_request *req, ms_response *resp, bool detail)
{
    /* The brief view is id, name and links: no other column, no metadata. */
    compute_instance_query q = {.project = req->auth.project_id, .brief = !detail};
    bool admin = req->auth.is_admin;
    int mv = req->mv;
    list_check chk = {.mv = mv, .admin = admin, .resp = resp};
    ms_req_query_each(req, check_list_param, &chk);
    if (chk.bad)
        return 0;
    const char *at = ms_req_query(req, "all_tenants");
    if (at && admin && (at[0] == '\0' || compute_parse_bool(at) != 0))
        q.project = NULL;
    const char *proj = ms_req_query(req, "project_id");
    if (!proj)
        proj = ms_req_query(req, "tenant_id");
    if (admin && proj && !q.project)
        q.project = proj;
    q.name_regex = ms_req_query(req, "name");
    q.reservation_regex = ms_req_query(req, "reservation_id");
    const char *image = ms_req_query(req, "image");
    if (image) {
        const char *slash = strrchr(image, '/');
        q.image = slash ? slash + 1 : image;
    }
    const char *flavor = ms_req_query(req, "flavor");
    if (flavor) {
        const char *slash = strrchr(flavor, '/');
        q.flavor = slash ? slash + 1 : flavor;
    }
    if (admin)
        q.host = ms_req_query(req, "host");
    const char *status = ms_req_query(req, "status");
    if (status) {
        q.vm_state = compute_status_vm_state(status);
        if (!q.vm_state) {
            /* An unknown status: an empty list before 2.38, 400 from it. */
            if (mv >= MS_MV(2, 38)) {
                ms_resp_error(resp, 400, "Invalid status value");
                return 0;
            }
            json_t *body = json_pack("{s:[]}", "servers");
            ms_resp_json(resp, 200, body);
            return 0;
        }
    }
    /* ip and ip6 (ip6 for everyone from 2.5, admins before) match the
     * server's addresses; servers have none until networking attaches
     * ports, so no server matches. */
    if (ms_req_query(req, "ip") || (ms_req_query(req, "ip6") && (admin || mv >= MS_MV(2, 5))))
        q.none = true;
    const char *cs = ms_req_query(req, "changes-since");
    if (cs) {
        q.changes_since = ms_time_parse(cs);
        if (q.changes_since < 0) {
            ms_resp_error(resp, 400, "Invalid filter field: changes-since.");
            return 0;
        }
    }
    const char *cb = mv >= MS_MV(2, 66) ? ms_req_query(req, "changes-before") : NULL;
    if (cb) {
        q.changes_before = ms_time_parse(cb);
        if (q.changes_before < 0) {
            ms_resp_error(resp, 400, "Invalid filter field: changes-before.");
            return 0;
        }
        if (cs && q.changes_before < q.changes_since) {
            ms_resp_error(resp, 400, "The value of changes-since must be less than or equal "
                                     "to changes-before.");
            return 0;
        }
    }
    const char *locked = mv >= MS_MV(2, 73) ? ms_req_query(req, "locked") : NULL;
    if (locked) {
        int b = compute_parse_bool(locked);
        if (b < 0) {
            ms_resp_error(resp, 400, "Invalid input received: Unrecognized value '%s', "
                                     "acceptable values are: '0', '1', 'f', 'false', 'n', "
                                     "'no', 'off', 'on', 't', 'true', 'y', 'yes'",
                          locked);
            return 0;
        }
        q.locked = b ? 1 : 2;
    }
    if (mv >= MS_MV(2, 26)) {
        if ((q.tags = ms_req_query(req, "tags")))
            q.tags_count = tag_filter_count(q.tags);
        q.tags_any = ms_req_query(req, "tags-any");
        if ((q.not_tags = ms_req_query(req, "not-tags")))
            q.not_tags_count = tag_filter_count(q.not_tags);
        q.not_tags_any = ms_req_query(req, "not-tags-any");
    }
    /* Filters on the server's own columns: admins at every version (Nova
     * lets them filter on any column), others from 2.83, and hostname for
     * others from 2.90; below that Nova drops them from a non-admin's
     * query. A status filter decides vm_state. */
    bool cols_ok = admin || mv >= MS_MV(2, 83);
    if (cols_ok) {
        q.user_id = ms_req_query(req, "user_id");
        q.task_state = ms_req_query(req, "task_state");
        if (!status)
            q.vm_state = ms_req_query(req, "vm_state");
        q.az_regex = ms_req_query(req, "availability_zone");
        q.config_drive_regex = ms_req_query(req, "config_drive");
        q.key_name_regex = ms_req_query(req, "key_name");
        q.power_state_regex = ms_req_query(req, "power_state");
        q.progress_regex = ms_req_query(req, "progress");
        q.created_regex = ms_req_query(req, "created_at");
        q.launched_regex = ms_req_query(req, "launched_at");
        q.terminated_regex = ms_req_query(req, "terminated_at");
    }
    if (admin || mv >= MS_MV(2, 90))
        q.hostname_regex = ms_req_query(req, "hostname");
    const char *del = ms_req_query(req, "deleted");
    if (del && admin)
        q.deleted = compute_parse_bool(del) == 1;
    const char *marker;
    if (compute_limit_marker(req, resp, &q.limit, &marker) < 0)
        return 0;
    compute_instance mk = {0};
    if (marker) {
        int rc = compute_instance_db_get(marker, true, &mk);
        if (rc == -ENOENT) {
            ms_resp_error(resp, 400, "marker [%s] not found", marker);
            return 0;
        }
        if (rc < 0)
            return rc;
        q.marker = &mk;
    }
    compute_instance *list = NULL;
    size_t n = 0;
    int rc = compute_instance_db_list(&q, &list, &n);
    compute_instance_clear(&mk);
    bool regex = q.name_regex || q.reservation_regex || q.az_regex || q.config_drive_regex ||
                 q.key_name_regex || q.hostname_regex || q.power_state_regex ||
                 q.progress_regex || q.created_regex || q.launched_regex || q.terminated_regex;
    if (rc == -EINVAL && regex) {
        /* The database refused a filter's regular expression: the
         * client's mistake, not a fault. */
        free(list);
        ms_resp_error(resp, 400, "Invalid regular expression in a filter.");
        return 0;
    }
    if (rc < 0) {
        free(list);
        return rc;
    }
    /* The reply is written server by server into one buffer, byte for byte
     * what json_dumps(JSON_COMPACT) gives for the whole document: a page of
     * 1000 never exists as one tree of jansson objects, whose building and
     * freeing cost more than the SQL. */
    ms_buf out = {0};
    ms_buf_reserve(&out, n * (detail ? 1536 : 256) + 256);
    ms_buf_adds(&out, "{\"servers\":[");
    for (size_t k = 0; k < n; k++) {
        json_t *o = compute_server_json(req, &list[k], detail);
        if (k)
            ms_buf_add(&out, ",", 1);
        ms_json_append(&out, o);
        json_decref(o);
    }
    ms_buf_add(&out, "]", 1);
    if (n > 0 && (int)n == q.limit) {
        json_t *next = compute_next_link(req, detail ? "servers/detail" : "servers",
                                         list[n - 1].uuid);
        ms_buf_adds(&out, ",\"servers_links\":");
        ms_json_append(&out, next);
        json_decref(next);
    }
    ms_buf_add(&out, "}", 1);
    for (size_t k = 0; k < n; k++)
        compute_instance_clear(&list[k]);
    free(list);
    size_t len = out.len;
    ms_resp_text(resp, 200, "application/json", ms_buf_steal(&out), len);
    return 0;
}

int
compute_server_list(ms_request *req, ms_response *resp)
{
    return server_list_common(req, resp, false);
}

int
compute_server_detail(ms_request *req, ms_response *resp)
{
    return server_list_common(req, resp, true);
}

int
compute_server_show(ms_request *req, ms_response *resp)
{
    compute_instance i;
    int rc = compute_server_lookup(req, resp, &i);
    if (rc < 0)
        return rc == -ENOENT ? 0 : rc;
    compute_server_view v = {.server_groups = true};
    ms_resp_json(resp, 200,
                 json_pack("{s:o}", "server", compute_server_json_view(req, &i, &v)));
    compute_instance_clear(&i);
    return 0;
}

/* ---- create ---- */

bool
compute_is_base64(const char *s, size_t n)
{
    if (n % 4)
        return false;
    for (size_t k = 0; k < n; k++) {
        char c = s[k];
        if (!(isalnum((unsigned char)c) || c == '+' || c == '/' || (c == '=' && k >= n - 2)))
            return false;
    }
    return true;
}

/* The characters of Nova's metadata key pattern ^[a-zA-Z0-9-_:. ]{1,255}$. */
#define META_KEY_CHARS                                                                   \
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_:. "

bool
compute_check_metadata(ms_response *resp, json_t *meta, long long limit)
{
    if (!json_is_object(meta)) {
        compute_bad_field(resp, "metadata", meta, "is not of type 'object'");
        return false;
    }
    const char *k;
    json_t *v;
    json_object_foreach(meta, k, v) {
        size_t kl = strlen(k);
        if (kl < 1 || kl > 255 || strspn(k, META_KEY_CHARS) != kl) {
            ms_resp_error(resp, 400,
                          "Invalid input for field/attribute metadata. Value: {...}. '%s' "
                          "does not match any of the regexes: '^[a-zA-Z0-9-_:. ]{1,255}$'",
                          k);
            return false;
        }
        if (!json_is_string(v)) {
            compute_bad_field(resp, k, v, "is not of type 'string'");
            return false;
        }
        if (json_string_length(v) > 255) {
            compute_bad_field(resp, k, v, "is too long");
            return false;
        }
    }
    if (limit >= 0 && (long long)json_object_size(meta) > limit) {
        ms_resp_error(resp, 403, "Quota exceeded for metadata_items: Requested %zu, but "
                                 "already used 0 of %lld metadata_items",
                      json_object_size(meta), limit);
        return false;
    }
    return true;
}

bool
compute_valid_description(ms_response *resp, const json_t *d)
{
    if (json_is_null(d))
        return true;
    if (!json_is_string(d)) {
        compute_bad_field(resp, "description", d, "is not of type 'string', 'null'");
        return false;
    }
    if (json_string_length(d) > 255) {
        compute_bad_field(resp, "description", d, "is too long");
        return false;
    }
    const char *t = json_string_value(d);
    for (size_t k = 0; k < json_string_length(d); k++) {
        unsigned char c = (unsigned char)t[k];
        if (c < 0x20 || c == 0x7f) {
            char *repr = compute_json_repr(d);
            char *why = ms_asprintf("%s does not match the pattern of printable characters",
                                    repr);
            compute_bad_field(resp, "description", d, why);
            free(why);
            free(repr);
            return false;
        }
    }
    return true;
}

bool
compute_valid_trusted_certs(ms_response *resp, const json_t *c)
{
    const char *f = "trusted_image_certificates";
    if (json_is_null(c))
        return true;
    if (!json_is_array(c)) {
        compute_bad_field(resp, f, c, "is not of type 'array', 'null'");
        return false;
    }
    size_t n = json_array_size(c);
    if (n < 1 || n > 50) {
        compute_bad_field(resp, f, c, n < 1 ? "is too short" : "is too long");
        return false;
    }
    for (size_t k = 0; k < n; k++) {
        json_t *e = json_array_get(c, k);
        if (!json_is_string(e) || json_string_length(e) < 1) {
            compute_bad_field(resp, f, c, !json_is_string(e) ? "is not of type 'string'"
                                                             : "is too short");
            return false;
        }
        for (size_t j = 0; j < k; j++) {
            if (json_equal(e, json_array_get(c, j))) {
                compute_bad_field(resp, f, c, "has non-unique elements");
                return false;
            }
        }
    }
    return true;
}

/* A tag: 1 to 60 characters, neither ',' nor '/'. */
bool
compute_valid_hostname(ms_response *resp, const json_t *h)
{
    if (!json_is_string(h)) {
        compute_schema_error(resp, "hostname", h, "%s is not of type 'string'");
        return false;
    }
    const char *s = json_string_value(h);
    size_t n = strlen(s);
    if (n < 2) {
        compute_schema_error(resp, "hostname", h, "%s is too short");
        return false;
    }
    if (n > 63) {
        compute_schema_error(resp, "hostname", h, "%s is too long");
        return false;
    }
    /* ^[a-zA-Z0-9]+[a-zA-Z0-9-]*[a-zA-Z0-9]+$: no dash at either end. */
    bool ok = s[0] != '-' && s[n - 1] != '-';
    for (size_t k = 0; ok && k < n; k++)
        ok = isalnum((unsigned char)s[k]) || s[k] == '-';
    if (!ok) {
        compute_schema_error(resp, "hostname", h,
                             "%s does not match '^[a-zA-Z0-9]+[a-zA-Z0-9-]*[a-zA-Z0-9]+$'");
        return false;
    }
    return true;
}

void
compute_random_password(char out[13])
{
    static const char chars[] = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    char hex[33];
    ms_uuid_hex(hex);
    for (int k = 0; k < 12; k++)
        out[k] = chars[((unsigned char)hex[k] * 31 + (unsigned char)hex[k + 12]) %
                       (sizeof(chars) - 1)];
    out[12] = '\0';
}

int
compute_server_create(ms_request *req, ms_response *resp)
{
    json_t *body = ms_req_json(req, resp);
    if (!body)
        return 0;
    json_t *srv = json_object_get(body, "server");
    const char *k;
    json_t *v;
    json_object_foreach(body, k, v) {
        if (strcmp(k, "server") && strcmp(k, "os:scheduler_hints") &&
            strcmp(k, "OS-SCH-HNT:scheduler_hints")) {
            ms_resp_error(resp, 400,
                          "Invalid input for field/attribute server. Value: {...}. "
                          "Additional properties are not allowed ('%s' was unexpected)",
                          k);
            return 0;
        }
    }
    if (!srv) {
        ms_resp_error(resp, 400, "Invalid input for field/attribute server. Value: {}. "
                                 "'server' is a required property");
        return 0;
    }
    if (!json_is_object(srv)) {
        compute_bad_field(resp, "server", srv, "is not of type 'object'");
        return 0;
    }
    static const char *const allowed[] = {
        "name", "imageRef", "flavorRef", "adminPass", "metadata", "networks",
        "OS-DCF:diskConfig", "accessIPv4", "accessIPv6", "availability_zone",
        "block_device_mapping", "block_device_mapping_v2", "config_drive", "key_name",
        "min_count", "max_count", "return_reservation_id", "security_groups", "user_data"};
    /* Parameters later microversions add (or, personality, remove). */
    static const struct {
        const char *key;
        int min, max;
    } versioned[] = {
        {"personality", 0, MS_MV(2, 56)},
        {"description", MS_MV(2, 19), 0},
        {"tags", MS_MV(2, 52), 0},
        {"trusted_image_certificates", MS_MV(2, 63), 0},
        {"host", MS_MV(2, 74), 0},
        {"hypervisor_hostname", MS_MV(2, 74), 0},
        {"hostname", MS_MV(2, 90), 0},
    };
    json_object_foreach(srv, k, v) {
        bool ok = false;
        for (size_t a = 0; a < MS_ARRAY_LEN(allowed); a++)
            ok = ok || !strcmp(allowed[a], k);
        for (size_t a = 0; a < MS_ARRAY_LEN(versioned); a++)
            ok = ok || (!strcmp(versioned[a].key, k) && req->mv >= versioned[a].min &&
                        (!versioned[a].max || req->mv <= versioned[a].max));
        if (!ok) {
            ms_resp_error(resp, 400,
                          "Invalid input for field/attribute server. Value: {...}. "
                          "Additional properties are not allowed ('%s' was unexpected)",
                          k);
            return 0;
        }
    }
    json_t *name = json_object_get(srv, "name");
    json_t *fref = json_object_get(srv, "flavorRef");
    if (!name || !fref) {
        ms_resp_error(resp, 400,
                      "Invalid input for field/attribute server. Value: {...}. '%s' is a "
                      "required property",
                      !name ? "name" : "flavorRef");
        return 0;
    }
    if (!json_is_string(name) || json_string_length(name) < 1 ||
        json_string_length(name) > 255 || !compute_valid_name(json_string_value(name))) {
        compute_bad_field(resp, "name", name,
                          !json_is_string(name)
                              ? "is not of type 'string'"
                              : "An invalid 'name' value was provided. The name must be: "
                                "printable characters. Can not start or end with whitespace.");
        return 0;
    }
    char flavorid[256];
    if (json_is_string(fref) && json_string_length(fref) >= 1 && json_string_length(fref) < 256)
        snprintf(flavorid, sizeof(flavorid), "%s", json_string_value(fref));
    else if (json_is_integer(fref))
        snprintf(flavorid, sizeof(flavorid), "%lld", (long long)json_integer_value(fref));
    else {
        compute_bad_field(resp, "flavorRef", fref, "is not of type 'string', 'integer'");
        return 0;
    }
    const char *slash = strrchr(flavorid, '/');
    if (slash)
        memmove(flavorid, slash + 1, strlen(slash));
    json_t *iref = json_object_get(srv, "imageRef");
    char image_id[64] = "";
    if (iref) {
        if (!json_is_string(iref)) {
            compute_bad_field(resp, "imageRef", iref, "is not of type 'string'");
            return 0;
        }
        const char *s = json_string_value(iref);
        const char *sl = strrchr(s, '/');
        if (sl)
            s = sl + 1;
        if (*s && !ms_uuid_valid(s)) {
            compute_bad_field(resp, "imageRef", iref, "is not a 'uuid'");
            return 0;
        }
        snprintf(image_id, sizeof(image_id), "%s", s);
    }
    json_t *desc = json_object_get(srv, "description");
    if (desc && !compute_valid_description(resp, desc))
        return 0;
    json_t *tags = json_object_get(srv, "tags");
    if (tags && !compute_valid_tags(resp, "tags", tags))
        return 0;
    json_t *certs = json_object_get(srv, "trusted_image_certificates");
    if (certs && !compute_valid_trusted_certs(resp, certs))
        return 0;
    json_t *req_host = json_object_get(srv, "host");
    json_t *req_node = json_object_get(srv, "hypervisor_hostname");
    for (int x = 0; x < 2; x++) {
        json_t *h = x ? req_node : req_host;
        const char *f = x ? "hypervisor_hostname" : "host";
        if (!h)
            continue;
        if (!json_is_string(h)) {
            compute_bad_field(resp, f, h, "is not of type 'string'");
            return 0;
        }
        size_t hl = json_string_length(h);
        const char *hs = json_string_value(h);
        static const char fqdn_chars[] = "abcdefghijklmnopqrstuvwxyz"
                                         "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._";
        if (hl < 1 || hl > 255 || strspn(hs, fqdn_chars) != hl) {
            char *repr = compute_json_repr(h);
            char *why = hl < 1 ? ms_strdup("is too short")
                               : hl > 255 ? ms_strdup("is too long")
                                          : ms_asprintf("%s does not match "
                                                        "'^[a-zA-Z0-9-._]*$'", repr);
            compute_bad_field(resp, f, h, why);
            free(why);
            free(repr);
            return 0;
        }
    }
    json_t *ud = json_object_get(srv, "user_data");
    if (ud) {
        if (!json_is_string(ud)) {
            compute_bad_field(resp, "user_data", ud, "is not of type 'string'");
            return 0;
        }
        if (json_string_length(ud) > 65535) {
            ms_resp_error(resp, 400, "Invalid input for field/attribute user_data. Value: "
                                     "(too long). is too long");
            return 0;
        }
        if (!compute_is_base64(json_string_value(ud), json_string_length(ud))) {
            compute_bad_field(resp, "user_data", ud, "is not a 'base64'");
            return 0;
        }
    }
    long long min_count = 1, max_count = 1;
    json_t *mc;
    if ((mc = json_object_get(srv, "min_count"))) {
        if (!compute_json_intlike(mc, &min_count) || min_count < 1) {
            compute_bad_field(resp, "min_count", mc, "is less than the minimum of 1");
            return 0;
        }
    }
    if ((mc = json_object_get(srv, "max_count"))) {
        if (!compute_json_intlike(mc, &max_count) || max_count < 1) {
            compute_bad_field(resp, "max_count", mc, "is less than the minimum of 1");
            return 0;
        }
    } else {
        max_count = min_count;
    }
    /* 2.90: the guest's hostname, for one server only. */
    json_t *hostname = json_object_get(srv, "hostname");
    if (hostname && !compute_valid_hostname(resp, hostname))
        return 0;
    if (hostname && max_count > 1) {
        ms_resp_error(resp, 400, "Unable to allocate a single hostname to multiple instances");
        return 0;
    }
    if (min_count > max_count) {
        ms_resp_error(resp, 400, "min_count must be <= max_count");
        return 0;
    }
    if (max_count > 100) {
        ms_resp_error(resp, 403, "Quota exceeded for instances: Requested %lld, but already "
                                 "used 0 of 100 instances",
                      max_count);
        return 0;
    }
    json_t *az = json_object_get(srv, "availability_zone");
    if (az && (!json_is_string(az) || json_string_length(az) < 1)) {
        compute_bad_field(resp, "availability_zone", az, "is not of type 'string'");
        return 0;
    }
    if (az) {
        /* "nova", or "nova:host" as admins may ask. */
        const char *zs = json_string_value(az);
        if (strncmp(zs, "nova", 4) || (zs[4] && zs[4] != ':')) {
            ms_resp_error(resp, 400, "The requested availability zone is not available");
            return 0;
        }
    }
    if (req_host || req_node) {
        /* 2.74: admins only (compute:servers:create:requested_destination),
         * not with the "zone:host:node" form, and the host/node must exist. */
        if (!req->auth.is_admin) {
            ms_resp_error(resp, 403, "Policy doesn't allow compute:servers:create:"
                                     "requested_destination to be performed.");
            return 0;
        }
        if (az && strchr(json_string_value(az), ':')) {
            ms_resp_error(resp, 400, "The requested availability zone is not available");
            return 0;
        }
        bool exists = false;
        int hrc = compute_instance_db_host_exists(
            req_host ? json_string_value(req_host) : NULL,
            req_node ? json_string_value(req_node) : NULL, &exists);
        if (hrc < 0)
            return hrc;
        if (!exists) {
            if (req_node)
                ms_resp_error(resp, 400, "Compute host %s could not be found.",
                              json_string_value(req_node));
            else
                ms_resp_error(resp, 400, "Compute host %s could not be found.",
                              json_string_value(req_host));
            return 0;
        }
    }
    json_t *rri = json_object_get(srv, "return_reservation_id");
    int return_resv = 0;
    if (rri && (return_resv = compute_json_bool(rri)) < 0) {
        compute_bad_field(resp, "return_reservation_id", rri,
                          "is not one of the boolean values");
        return 0;
    }
    json_t *cd = json_object_get(srv, "config_drive");
    int config_drive = 0;
    if (cd && (config_drive = compute_json_bool(cd)) < 0) {
        compute_schema_error(
            resp, "config_drive", cd,
            "%s is not one of [True, 'True', 'TRUE', 'true', '1', 'ON', 'On', 'on', 'YES', "
            "'Yes', 'yes', False, 'False', 'FALSE', 'false', '0', 'OFF', 'Off', 'off', 'NO', "
            "'No', 'no']");
        return 0;
    }
    json_t *pass = json_object_get(srv, "adminPass");
    if (pass && !json_is_string(pass)) {
        compute_bad_field(resp, "adminPass", pass, "is not of type 'string'");
        return 0;
    }
    char a4[64], a6[64];
    if (!compute_access_ip(resp, srv, false, a4) || !compute_access_ip(resp, srv, true, a6))
        return 0;
    int auto_disk = compute_disk_config(resp, srv);
    if (auto_disk == -2)
        return 0;
    /* Scheduler hints: only "group" acts here (this is one cell). */
    json_t *hints = json_object_get(body, "os:scheduler_hints");
    if (!hints)
        hints = json_object_get(body, "OS-SCH-HNT:scheduler_hints");
    if (hints && !json_is_object(hints)) {
        compute_bad_field(resp, "os:scheduler_hints", hints, "is not of type 'object'");
        return 0;
    }
    json_t *group = hints ? json_object_get(hints, "group") : NULL;
    if (group && (!json_is_string(group) || !ms_uuid_valid(json_string_value(group)))) {
        char *repr = compute_json_repr(group);
        char *reason = json_is_string(group) ? ms_asprintf("%s is not a 'uuid'", repr)
                                             : ms_asprintf("%s is not of type 'string'", repr);
        compute_bad_field(resp, "group", group, reason);
        free(repr);
        free(reason);
        return 0;
    }
    long long limits[Q_COUNT];
    int rc = compute_quota_limits(req->auth.project_id, limits);
    if (rc < 0)
        return rc;
    char group_uuid[37] = "";
    if (group) {
        compute_server_group g;
        rc = compute_server_group_db_get(json_string_value(group),
                                         req->auth.is_admin ? NULL : req->auth.project_id, &g);
        if (rc == -ENOENT) {
            ms_resp_error(resp, 400, "Instance group %s could not be found.",
                          json_string_value(group));
            return 0;
        }
        if (rc < 0)
            return rc;
        snprintf(group_uuid, sizeof(group_uuid), "%s", g.uuid);
        compute_server_group_clear(&g);
    }
    json_t *meta = json_object_get(srv, "metadata");
    if (meta && !compute_check_metadata(resp, meta, limits[Q_METADATA_ITEMS]))
        return 0;
    compute_flavor f;
    rc = compute_flavor_db_get(flavorid, &f);
    if (rc == 0 && !req->auth.is_admin && !f.is_public) {
        bool has = false;
        rc = compute_flavor_db_access_has(f.id, req->auth.project_id, &has);
        if (rc == 0 && !has) {
            compute_flavor_clear(&f);
            rc = -ENOENT;
        }
    }
    if (rc == -ENOENT) {
        ms_resp_error(resp, 400, "Invalid flavorRef provided.");
        return 0;
    }
    if (rc < 0)
        return rc;
    compute_flavor_clear(&f);
    if (!image_id[0]) {
        if (!json_array_size(json_object_get(srv, "block_device_mapping")) &&
            !json_array_size(json_object_get(srv, "block_device_mapping_v2"))) {
            ms_resp_error(resp, 400, "Missing imageRef attribute");
            return 0;
        }
        goto image_checked;   /* booting from a volume: the mapping says what */
    }
    ms_image_info img;
    rc = ms_image_get(&req->auth, image_id, &img);
    if (rc == -ENOENT) {
        ms_resp_error(resp, 400, "Can not find requested image");
        return 0;
    }
    if (rc < 0)
        return rc;
    bool img_ok = !strcmp(img.status, "active");
    long long img_min_disk = img.min_disk, img_min_ram = img.min_ram, img_size = img.size;
    ms_image_info_clear(&img);
    if (!img_ok) {
        ms_resp_error(resp, 400, "Image %s is not active.", image_id);
        return 0;
    }
    if (f.memory_mb < img_min_ram) {
        ms_resp_error(resp, 400, "Flavor's memory is too small for requested image.");
        return 0;
    }
    if (f.root_gb && (f.root_gb < img_min_disk || (long long)f.root_gb << 30 < img_size)) {
        ms_resp_error(resp, 400,
                      "Flavor's disk is too small for requested image. Flavor disk is %lld "
                      "bytes, image is %lld bytes.",
                      (long long)f.root_gb << 30, img_size);
        return 0;
    }
image_checked:;
    json_t *kn = json_object_get(srv, "key_name");
    compute_keypair key = {0};
    if (kn) {
        if (!json_is_string(kn)) {
            compute_bad_field(resp, "key_name", kn, "is not of type 'string'");
            return 0;
        }
        rc = compute_keypair_db_get(req->auth.user_id, json_string_value(kn), &key);
        if (rc == -ENOENT) {
            ms_resp_error(resp, 400, "Invalid key_name provided.");
            return 0;
        }
        if (rc < 0)
            return rc;
    }
    json_t *sg_names = NULL, *net_req = NULL, *bdms = NULL, *extra_specs = NULL;
    rc = compute_create_security_groups(req, resp, srv, &sg_names);
    if (rc == 0)
        rc = compute_create_networks(req, resp, srv, &net_req);
    if (rc == 0)
        rc = compute_create_bdms(req, resp, srv, image_id, &f, max_count, &bdms);
    /* The server keeps a copy of the flavor's extra specs (shown from 2.47). */
    if (rc == 0)
        rc = compute_flavor_db_specs(f.id, &extra_specs);
    if (rc < 0) {
        compute_keypair_clear(&key);
        json_decref(sg_names);
        json_decref(net_req);
        json_decref(bdms);
        /* -EINVAL: the parser answered 400 already. */
        return rc == -EINVAL ? 0 : rc;
    }

    size_t n = (size_t)max_count;
    compute_instance *insts = ms_calloc(n, sizeof(*insts));
    long long *task_ids = ms_calloc(n, sizeof(*task_ids));
    char resv[32], hex[33];
    ms_uuid_hex(hex);
    snprintf(resv, sizeof(resv), "r-%.8s", hex);
    int64_t now = compute_now();
    char admin_pass[13];
    compute_random_password(admin_pass);
    for (size_t x = 0; x < n; x++) {
        compute_instance *i = &insts[x];
        ms_uuid(i->uuid);
        snprintf(i->project_id, sizeof(i->project_id), "%s", req->auth.project_id);
        snprintf(i->user_id, sizeof(i->user_id), "%s", req->auth.user_id);
        if (n > 1)
            snprintf(i->name, sizeof(i->name), "%.230s-%d", json_string_value(name), (int)(x + 1) % 1000);
        else
            snprintf(i->name, sizeof(i->name), "%s", json_string_value(name));
        /* The hostname asked for (2.90), else one from the name: lowercase
         * letters, digits and dashes. */
        size_t h = 0;
        if (hostname)
            h = (size_t)snprintf(i->hostname, sizeof(i->hostname), "%s",
                                 json_string_value(hostname));
        for (const char *c = i->name; !hostname && *c && h < 63; c++) {
            char ch = (char)tolower((unsigned char)*c);
            if (isalnum((unsigned char)ch) || ch == '-')
                i->hostname[h++] = ch;
            else if ((ch == ' ' || ch == '_' || ch == '.') && h && i->hostname[h - 1] != '-')
                i->hostname[h++] = '-';
        }
        if (!h)
            snprintf(i->hostname, sizeof(i->hostname), "server-%.8s", i->uuid);
        snprintf(i->image_ref, sizeof(i->image_ref), "%s", image_id);
        snprintf(i->flavorid, sizeof(i->flavorid), "%s", f.flavorid);
        snprintf(i->flavor_name, sizeof(i->flavor_name), "%s", f.name);
        i->memory_mb = f.memory_mb;
        i->vcpus = f.vcpus;
        i->root_gb = f.root_gb;
        i->ephemeral_gb = f.ephemeral_gb;
        i->swap = f.swap;
        if (kn) {
            snprintf(i->key_name, sizeof(i->key_name), "%s", key.name);
            i->key_data = ms_strdup(key.public_key);
        }
        i->user_data = ud ? ms_strdup(json_string_value(ud)) : NULL;
        snprintf(i->vm_state, sizeof(i->vm_state), "building");
        snprintf(i->task_state, sizeof(i->task_state), "scheduling");
        snprintf(i->config_drive, sizeof(i->config_drive), "%s", config_drive ? "True" : "");
        if (az)
            snprintf(i->availability_zone, sizeof(i->availability_zone), "nova");
        snprintf(i->access_ip_v4, sizeof(i->access_ip_v4), "%s", a4);
        snprintf(i->access_ip_v6, sizeof(i->access_ip_v6), "%s", a6);
        i->auto_disk_config = auto_disk == 1;
        snprintf(i->reservation_id, sizeof(i->reservation_id), "%s", resv);
        i->launch_index = (int)x;
        i->created_at = i->updated_at = now;
        i->metadata = meta ? json_incref(meta) : json_object();
        snprintf(i->server_group, sizeof(i->server_group), "%s", group_uuid);
        if (desc && json_is_string(desc))
            i->description = ms_strdup(json_string_value(desc));
        i->tags = tags ? json_incref(tags) : NULL;
        i->trusted_certs = certs && json_is_array(certs) ? json_incref(certs) : NULL;
        i->flavor_extra = json_incref(extra_specs);
        if (req_host)
            snprintf(i->requested_host, sizeof(i->requested_host), "%s",
                     json_string_value(req_host));
        if (req_node)
            snprintf(i->requested_node, sizeof(i->requested_node), "%s",
                     json_string_value(req_node));
        i->security_groups = json_incref(sg_names);
        i->bdms = json_incref(bdms);
        i->build_networks = json_incref(net_req);
    }
    compute_keypair_clear(&key);
    char msg[512];
    rc = compute_instance_db_create(insts, n, limits, req->request_id, task_ids, msg,
                                    sizeof(msg));
    if (rc == -EDQUOT) {
        ms_resp_error(resp, 403, "%s", msg);
        rc = 1;   /* answered: no 202 below */
    } else if (rc == 0) {
        for (size_t x = 0; x < n; x++)
            ms_task_publish("compute", ms_conf.host, task_ids[x]);
    }
    if (rc == 0 && return_resv) {
        /* Nova answers a multiple create that asks for it with the
         * reservation id alone (list servers by it to find them). */
        ms_resp_json(resp, 202, json_pack("{s:s}", "reservation_id", resv));
    } else if (rc == 0) {
        /* Nova echoes the request's groups, as given, or "default". */
        json_t *sgs = json_object_get(srv, "security_groups");
        json_t *s = json_pack("{s:s,s:s,s:o}", "id", insts[0].uuid, "OS-DCF:diskConfig",
                              auto_disk == 1 ? "AUTO" : "MANUAL", "security_groups",
                              sgs ? json_deep_copy(sgs)
                                  : json_pack("[{s:s}]", "name", "default"));
        json_object_set_new(s, "links", compute_links(req, "servers", insts[0].uuid));
        json_object_set_new(s, "adminPass",
                            json_string(pass ? json_string_value(pass) : admin_pass));
        char *loc = compute_href(req, "servers", insts[0].uuid);
        ms_resp_header(resp, "Location", loc);
        free(loc);
        ms_resp_json(resp, 202, json_pack("{s:o}", "server", s));
    }
    for (size_t x = 0; x < n; x++)
        compute_instance_clear(&insts[x]);
    free(insts);
    free(task_ids);
    json_decref(extra_specs);
    json_decref(sg_names);
    json_decref(net_req);
    json_decref(bdms);
    return rc < 0 ? rc : 0;
}

/* ---- update / delete ---- */

int
compute_server_update(ms_request *req, ms_response *resp)
{
    json_t *body = ms_req_json(req, resp);
    if (!body)
        return 0;
    json_t *srv = json_object_get(body, "server");
    if (!json_is_object(srv)) {
        ms_resp_error(resp, 400, "Invalid input for field/attribute server. Value: {}. "
                                 "'server' is a required property");
        return 0;
    }
    const char *k;
    json_t *v;
    json_object_foreach(srv, k, v) {
        if (strcmp(k, "name") && strcmp(k, "accessIPv4") && strcmp(k, "accessIPv6") &&
            strcmp(k, "OS-DCF:diskConfig") &&
            (strcmp(k, "description") || req->mv < MS_MV(2, 19)) &&
            (strcmp(k, "hostname") || req->mv < MS_MV(2, 90))) {
            ms_resp_error(resp, 400,
                          "Invalid input for field/attribute server. Value: {...}. "
                          "Additional properties are not allowed ('%s' was unexpected)",
                          k);
            return 0;
        }
    }
    json_t *name = json_object_get(srv, "name");
    if (name && (!json_is_string(name) || json_string_length(name) < 1 ||
                 json_string_length(name) > 255 || !compute_valid_name(json_string_value(name)))) {
        compute_bad_field(resp, "name", name,
                          "An invalid 'name' value was provided. The name must be: printable "
                          "characters. Can not start or end with whitespace.");
        return 0;
    }
    json_t *desc = json_object_get(srv, "description");
    if (desc && !compute_valid_description(resp, desc))
        return 0;
    json_t *hostname = json_object_get(srv, "hostname");
    if (hostname && !compute_valid_hostname(resp, hostname))
        return 0;
    char a4[64], a6[64];
    if (!compute_access_ip(resp, srv, false, a4) || !compute_access_ip(resp, srv, true, a6))
        return 0;
    int auto_disk = compute_disk_config(resp, srv);
    if (auto_disk == -2)
        return 0;
    compute_instance i;
    int rc = compute_server_lookup(req, resp, &i);
    if (rc < 0)
        return rc == -ENOENT ? 0 : rc;
    rc = compute_instance_db_update(i.uuid, name ? json_string_value(name) : NULL,
                                    a4[0] ? a4 : NULL, a6[0] ? a6 : NULL);
    if (rc == 0 && desc)
        rc = compute_instance_db_set_description(i.uuid, json_string_value(desc));
    if (rc == 0 && auto_disk >= 0)
        rc = compute_instance_db_set_disk_config(i.uuid, auto_disk == 1);
    if (rc == 0 && hostname)
        rc = compute_instance_db_set_hostname(i.uuid, json_string_value(hostname));
    compute_instance_clear(&i);
    if (rc < 0)
        return rc;
    rc = compute_server_lookup(req, resp, &i);
    if (rc < 0)
        return rc == -ENOENT ? 0 : rc;
    /* Before 2.75 Nova answers an update with a subset of the server. */
    compute_server_view view = {.partial = req->mv < MS_MV(2, 75), .server_groups = true};
    ms_resp_json(resp, 200,
                 json_pack("{s:o}", "server", compute_server_json_view(req, &i, &view)));
    compute_instance_clear(&i);
    return 0;
}

int
compute_server_delete_run(ms_request *req, ms_response *resp, compute_instance *i,
                          int status)
{
    if (i->locked && !req->auth.is_admin) {
        ms_resp_error(resp, 409, "Instance %s is locked", i->uuid);
        return 0;
    }
    /* Delete is allowed in every state; a second delete while one runs is a no-op. */
    long long tid = 0;
    const char *host = i->host[0] ? i->host : ms_conf.host;
    json_t *payload = json_pack("{s:s}", "request_id", req->request_id);
    int rc = compute_instance_db_action(i->uuid, NULL, NULL, "deleting", "delete_instance",
                                        payload, host, "delete", req->request_id,
                                        req->auth.user_id, req->auth.project_id, &tid);
    json_decref(payload);
    if (rc == -EBUSY) {
        /* Busy with another task: deleting wins over it. */
        rc = compute_instance_db_set(i->uuid, NULL, "deleting", -1);
        if (rc == 0) {
            payload = json_pack("{s:s}", "request_id", req->request_id);
            rc = ms_task_enqueue("compute", host, "delete_instance", i->uuid, payload, &tid);
            json_decref(payload);
        }
    }
    if (rc == 0) {
        ms_task_publish("compute", host, tid);
        ms_resp_empty(resp, status);
    }
    return rc;
}

int
compute_server_delete(ms_request *req, ms_response *resp)
{
    compute_instance i;
    int rc = compute_server_lookup(req, resp, &i);
    if (rc < 0)
        return rc == -ENOENT ? 0 : rc;
    rc = compute_server_delete_run(req, resp, &i, 204);
    compute_instance_clear(&i);
    return rc;
}

int
compute_server_ips(ms_request *req, ms_response *resp)
{
    compute_instance i;
    int rc = compute_server_lookup(req, resp, &i);
    if (rc < 0)
        return rc == -ENOENT ? 0 : rc;
    compute_instance_clear(&i);
    ms_resp_json(resp, 200, json_pack("{s:{}}", "addresses"));
    return 0;
}

/* ---- topology (2.78) ---- */

/* Guests here get no NUMA topology (no hw:numa_* handling in the driver),
 * so Nova's answer for such a server: no nodes, no page size. */
int
compute_server_topology(ms_request *req, ms_response *resp)
{
    compute_instance i;
    int rc = compute_server_lookup(req, resp, &i);
    if (rc < 0)
        return rc == -ENOENT ? 0 : rc;
    compute_instance_clear(&i);
    ms_resp_json(resp, 200, json_pack("{s:[],s:n}", "nodes", "pagesize_kb"));
    return 0;
}
