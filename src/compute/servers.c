/* Servers: create (validated against Nova's 2.1 schema, quota reserved and
 * the build task written in one transaction, answered 202 before any
 * hypervisor or image work), list/detail with filters and keyset
 * pagination, show, update, delete, ips, metadata and instance actions. */
#include "compute.h"

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

static void
host_id(const char *project, const char *host, char out[57])
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

json_t *
compute_server_json(ms_request *req, const compute_instance *i, bool detail)
{
    json_t *o = json_pack("{s:s,s:s}", "id", i->uuid, "name", i->name);
    json_object_set_new(o, "links", compute_links(req, "servers", i->uuid));
    if (!detail)
        return o;
    const char *task = i->task_state[0] ? i->task_state : NULL;
    const char *status = compute_server_status(i->vm_state, task);
    char t[32], hid[57];
    json_object_set_new(o, "status", json_string(status));
    json_object_set_new(o, "tenant_id", json_string(i->project_id));
    json_object_set_new(o, "user_id", json_string(i->user_id));
    json_object_set_new(o, "metadata", i->metadata ? json_incref(i->metadata) : json_object());
    host_id(i->project_id, i->host, hid);
    json_object_set_new(o, "hostId", json_string(hid));
    json_object_set_new(o, "image", i->image_ref[0] ? bookmark_ref(req, "images", i->image_ref)
                                                    : json_string(""));
    json_object_set_new(o, "flavor", bookmark_ref(req, "flavors", i->flavorid));
    compute_time_iso(i->created_at, t);
    json_object_set_new(o, "created", json_string(t));
    compute_time_iso(i->updated_at, t);
    json_object_set_new(o, "updated", json_string(t));
    json_object_set_new(o, "addresses", json_object());
    json_object_set_new(o, "accessIPv4", json_string(i->access_ip_v4));
    json_object_set_new(o, "accessIPv6", json_string(i->access_ip_v6));
    json_object_set_new(o, "OS-DCF:diskConfig", json_string("MANUAL"));
    if (!strcmp(status, "BUILD") || !strcmp(status, "REBUILD") || !strcmp(status, "RESIZE") ||
        !strcmp(status, "VERIFY_RESIZE") || !strcmp(status, "ACTIVE"))
        json_object_set_new(o, "progress", json_integer(i->progress));
    json_object_set_new(o, "OS-EXT-AZ:availability_zone",
                        json_string(i->availability_zone[0] ? i->availability_zone : ""));
    json_object_set_new(o, "config_drive", json_string(i->config_drive));
    ms_json_set_str(o, "key_name", i->key_name[0] ? i->key_name : NULL);
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
    json_object_set_new(o, "security_groups", json_pack("[{s:s}]", "name", "default"));
    ms_json_set_str(o, "OS-EXT-STS:task_state", task);
    json_object_set_new(o, "OS-EXT-STS:vm_state", json_string(i->vm_state));
    json_object_set_new(o, "OS-EXT-STS:power_state", json_integer(i->power_state));
    json_object_set_new(o, "os-extended-volumes:volumes_attached", json_array());
    if (req->auth.is_admin) {
        char iname[32];
        snprintf(iname, sizeof(iname), "instance-%08llx", i->id);
        ms_json_set_str(o, "OS-EXT-SRV-ATTR:host", i->host[0] ? i->host : NULL);
        json_object_set_new(o, "OS-EXT-SRV-ATTR:instance_name", json_string(iname));
        ms_json_set_str(o, "OS-EXT-SRV-ATTR:hypervisor_hostname", i->node[0] ? i->node : NULL);
    }
    if ((!strcmp(i->vm_state, "error") || !strcmp(i->vm_state, "deleted")) && i->fault_code) {
        compute_time_iso(i->fault_created, t);
        json_t *f = json_pack("{s:i,s:s,s:s}", "code", i->fault_code, "created", t, "message",
                              i->fault_message ? i->fault_message : "");
        /* Nova shows details to admins, and to everyone for non-500 faults. */
        if (i->fault_details && (req->auth.is_admin || i->fault_code != 500))
            json_object_set_new(f, "details", json_string(i->fault_details));
        json_object_set_new(o, "fault", f);
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

static int
server_list_common(ms_request *req, ms_response *resp, bool detail)
{
    /* The brief view is id, name and links: no other column, no metadata. */
    compute_instance_query q = {.project = req->auth.project_id, .brief = !detail};
    bool admin = req->auth.is_admin;
    const char *at = ms_req_query(req, "all_tenants");
    if (at && admin && (at[0] == '\0' || compute_parse_bool(at) != 0))
        q.project = NULL;
    const char *proj = ms_req_query(req, "project_id");
    if (!proj)
        proj = ms_req_query(req, "tenant_id");
    if (admin && proj && !q.project)
        q.project = proj;
    q.name_regex = ms_req_query(req, "name");
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
            /* Nova answers an empty list for an unknown status (admins get 400). */
            if (admin) {
                ms_resp_error(resp, 400, "Invalid status value");
                return 0;
            }
            json_t *body = json_pack("{s:[]}", "servers");
            ms_resp_json(resp, 200, body);
            return 0;
        }
    }
    const char *cs = ms_req_query(req, "changes-since");
    if (cs) {
        q.changes_since = ms_time_parse(cs);
        if (q.changes_since < 0) {
            ms_resp_error(resp, 400, "Invalid filter field: changes-since.");
            return 0;
        }
    }
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
    ms_resp_json(resp, 200, json_pack("{s:o}", "server", compute_server_json(req, &i, true)));
    compute_instance_clear(&i);
    return 0;
}

/* ---- create ---- */

static bool
is_base64(const char *s, size_t n)
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

static bool
check_metadata(ms_response *resp, json_t *meta, long long limit)
{
    if (!json_is_object(meta)) {
        compute_bad_field(resp, "metadata", meta, "is not of type 'object'");
        return false;
    }
    const char *k;
    json_t *v;
    json_object_foreach(meta, k, v) {
        size_t kl = strlen(k);
        if (kl < 1 || kl > 255) {
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
        "OS-DCF:diskConfig", "accessIPv4", "accessIPv6", "personality", "availability_zone",
        "block_device_mapping", "block_device_mapping_v2", "config_drive", "key_name",
        "min_count", "max_count", "return_reservation_id", "security_groups", "user_data"};
    json_object_foreach(srv, k, v) {
        bool ok = false;
        for (size_t a = 0; a < MS_ARRAY_LEN(allowed); a++)
            ok = ok || !strcmp(allowed[a], k);
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
        if (!is_base64(json_string_value(ud), json_string_length(ud))) {
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
    json_t *cd = json_object_get(srv, "config_drive");
    int config_drive = 0;
    if (cd && (config_drive = compute_json_bool(cd)) < 0) {
        compute_bad_field(resp, "config_drive", cd, "is not one of the boolean values");
        return 0;
    }
    json_t *pass = json_object_get(srv, "adminPass");
    if (pass && !json_is_string(pass)) {
        compute_bad_field(resp, "adminPass", pass, "is not of type 'string'");
        return 0;
    }
    json_t *a4 = json_object_get(srv, "accessIPv4");
    if (a4 && !json_is_string(a4)) {
        compute_bad_field(resp, "accessIPv4", a4, "is not a 'ipv4'");
        return 0;
    }
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
    if (meta && !check_metadata(resp, meta, limits[Q_METADATA_ITEMS]))
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
        ms_resp_error(resp, 400, "Block Device Mapping is Invalid: Boot sequence for the "
                                 "instance and image/block device mapping combination is not "
                                 "valid.");
        return 0;
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
        /* A hostname from the name: lowercase letters, digits and dashes. */
        size_t h = 0;
        for (const char *c = i->name; *c && h < 63; c++) {
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
        if (a4)
            snprintf(i->access_ip_v4, sizeof(i->access_ip_v4), "%s", json_string_value(a4));
        snprintf(i->reservation_id, sizeof(i->reservation_id), "%s", resv);
        i->launch_index = (int)x;
        i->created_at = i->updated_at = now;
        i->metadata = meta ? json_incref(meta) : json_object();
        snprintf(i->server_group, sizeof(i->server_group), "%s", group_uuid);
    }
    compute_keypair_clear(&key);
    char msg[512];
    rc = compute_instance_db_create(insts, n, limits, req->request_id, task_ids, msg,
                                    sizeof(msg));
    if (rc == -EDQUOT) {
        ms_resp_error(resp, 403, "%s", msg);
        rc = 0;
    } else if (rc == 0) {
        for (size_t x = 0; x < n; x++)
            ms_task_publish("compute", ms_conf.host, task_ids[x]);
        json_t *s = json_pack("{s:s,s:s,s:[{s:s}]}", "id", insts[0].uuid, "OS-DCF:diskConfig",
                              "MANUAL", "security_groups", "name", "default");
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
    return rc;
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
            strcmp(k, "OS-DCF:diskConfig")) {
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
    compute_instance i;
    int rc = compute_server_lookup(req, resp, &i);
    if (rc < 0)
        return rc == -ENOENT ? 0 : rc;
    rc = compute_instance_db_update(i.uuid, name ? json_string_value(name) : NULL,
                                    ms_json_strval(srv, "accessIPv4"),
                                    ms_json_strval(srv, "accessIPv6"));
    compute_instance_clear(&i);
    if (rc < 0)
        return rc;
    rc = compute_server_lookup(req, resp, &i);
    if (rc < 0)
        return rc == -ENOENT ? 0 : rc;
    ms_resp_json(resp, 200, json_pack("{s:o}", "server", compute_server_json(req, &i, true)));
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

/* ---- metadata ---- */

static int
meta_reply(ms_request *req, ms_response *resp, const char *uuid)
{
    compute_instance i;
    int rc = compute_instance_db_get(uuid, false, &i);
    if (rc < 0)
        return rc;
    (void)req;
    ms_resp_json(resp, 200, json_pack("{s:O}", "metadata", i.metadata));
    compute_instance_clear(&i);
    return 0;
}

int
compute_server_metadata_list(ms_request *req, ms_response *resp)
{
    compute_instance i;
    int rc = compute_server_lookup(req, resp, &i);
    if (rc < 0)
        return rc == -ENOENT ? 0 : rc;
    ms_resp_json(resp, 200, json_pack("{s:O}", "metadata", i.metadata));
    compute_instance_clear(&i);
    return 0;
}

static int
meta_write(ms_request *req, ms_response *resp, bool replace)
{
    json_t *body = ms_req_json(req, resp);
    if (!body)
        return 0;
    json_t *meta = json_object_get(body, "metadata");
    if (!meta) {
        ms_resp_error(resp, 400, "Invalid input for field/attribute metadata. Value: {}. "
                                 "'metadata' is a required property");
        return 0;
    }
    compute_instance i;
    int rc = compute_server_lookup(req, resp, &i);
    if (rc < 0)
        return rc == -ENOENT ? 0 : rc;
    long long limits[Q_COUNT];
    rc = compute_quota_limits(i.project_id, limits);
    if (rc == 0 && check_metadata(resp, meta, -1)) {
        size_t total = json_object_size(meta);
        if (!replace) {
            const char *k;
            json_t *v;
            json_object_foreach(i.metadata, k, v) {
                if (!json_object_get(meta, k))
                    total++;
            }
        }
        if (limits[Q_METADATA_ITEMS] >= 0 && (long long)total > limits[Q_METADATA_ITEMS]) {
            ms_resp_error(resp, 403, "Quota exceeded for metadata_items: Requested %zu, but "
                                     "already used 0 of %lld metadata_items",
                          total, limits[Q_METADATA_ITEMS]);
        } else if (replace) {
            rc = compute_instance_db_meta_replace(i.uuid, meta);
            if (rc == 0)
                rc = meta_reply(req, resp, i.uuid);
        } else {
            const char *k;
            json_t *v;
            json_object_foreach(meta, k, v) {
                if (rc == 0)
                    rc = compute_instance_db_meta_set(i.uuid, k, json_string_value(v));
            }
            if (rc == 0)
                rc = meta_reply(req, resp, i.uuid);
        }
    }
    compute_instance_clear(&i);
    return rc;
}

int
compute_server_metadata_replace(ms_request *req, ms_response *resp)
{
    return meta_write(req, resp, true);
}

int
compute_server_metadata_update(ms_request *req, ms_response *resp)
{
    return meta_write(req, resp, false);
}

int
compute_server_metadata_show(ms_request *req, ms_response *resp)
{
    const char *key = ms_req_param(req, "key");
    compute_instance i;
    int rc = compute_server_lookup(req, resp, &i);
    if (rc < 0)
        return rc == -ENOENT ? 0 : rc;
    json_t *v = json_object_get(i.metadata, key);
    if (v)
        ms_resp_json(resp, 200, json_pack("{s:{s:O}}", "meta", key, v));
    else
        ms_resp_error(resp, 404, "Metadata item was not found");
    compute_instance_clear(&i);
    return 0;
}

int
compute_server_metadata_put(ms_request *req, ms_response *resp)
{
    const char *key = ms_req_param(req, "key");
    json_t *body = ms_req_json(req, resp);
    if (!body)
        return 0;
    json_t *m = json_object_get(body, "meta");
    if (!json_is_object(m) || json_object_size(m) != 1) {
        ms_resp_error(resp, 400, json_is_object(m) ? "Request body contains too many items"
                                                   : "Malformed request body");
        return 0;
    }
    json_t *v = json_object_get(m, key);
    if (!v) {
        ms_resp_error(resp, 400, "Request body and URI mismatch");
        return 0;
    }
    if (!check_metadata(resp, m, -1))
        return 0;
    compute_instance i;
    int rc = compute_server_lookup(req, resp, &i);
    if (rc < 0)
        return rc == -ENOENT ? 0 : rc;
    rc = compute_instance_db_meta_set(i.uuid, key, json_string_value(v));
    if (rc == 0)
        ms_resp_json(resp, 200, json_pack("{s:{s:O}}", "meta", key, v));
    compute_instance_clear(&i);
    return rc;
}

int
compute_server_metadata_delete(ms_request *req, ms_response *resp)
{
    const char *key = ms_req_param(req, "key");
    compute_instance i;
    int rc = compute_server_lookup(req, resp, &i);
    if (rc < 0)
        return rc == -ENOENT ? 0 : rc;
    bool found = false;
    rc = compute_instance_db_meta_delete(i.uuid, key, &found);
    if (rc == 0) {
        if (found)
            ms_resp_empty(resp, 204);
        else
            ms_resp_error(resp, 404, "Metadata item was not found");
    }
    compute_instance_clear(&i);
    return rc;
}

/* ---- os-instance-actions ---- */

int
compute_server_actions_list(ms_request *req, ms_response *resp)
{
    const char *id = ms_req_param(req, "server_id");
    compute_instance i;
    int rc = compute_instance_db_get(id, true, &i);
    if (rc == 0 && !req->auth.is_admin && strcmp(i.project_id, req->auth.project_id)) {
        compute_instance_clear(&i);
        rc = -ENOENT;
    }
    if (rc == -ENOENT) {
        ms_resp_error(resp, 404, "Instance %s could not be found.", id);
        return 0;
    }
    if (rc < 0)
        return rc;
    compute_instance_clear(&i);
    json_t *arr;
    rc = compute_action_db_list(id, &arr);
    if (rc < 0)
        return rc;
    ms_resp_json(resp, 200, json_pack("{s:o}", "instanceActions", arr));
    return 0;
}

int
compute_server_action_show(ms_request *req, ms_response *resp)
{
    const char *id = ms_req_param(req, "server_id");
    const char *rid = ms_req_param(req, "request_id");
    compute_instance i;
    int rc = compute_instance_db_get(id, true, &i);
    if (rc == 0 && !req->auth.is_admin && strcmp(i.project_id, req->auth.project_id)) {
        compute_instance_clear(&i);
        rc = -ENOENT;
    }
    if (rc == -ENOENT) {
        ms_resp_error(resp, 404, "Instance %s could not be found.", id);
        return 0;
    }
    if (rc < 0)
        return rc;
    compute_instance_clear(&i);
    json_t *a;
    rc = compute_action_db_get(id, rid, &a);
    if (rc == -ENOENT) {
        ms_resp_error(resp, 404, "Action for request_id %s on instance %s not found", rid, id);
        return 0;
    }
    if (rc < 0)
        return rc;
    ms_resp_json(resp, 200, json_pack("{s:o}", "instanceAction", a));
    return 0;
}
