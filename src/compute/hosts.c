/* The host-side views: os-services (heartbeats of this host's compute,
 * scheduler and conductor roles), os-hypervisors (capacity from the virt
 * driver, usage summed from placed servers), os-availability-zone and
 * os-simple-tenant-usage (Horizon's overview). */
#include "compute.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>

#include <monostack/config.h>

#include "drivers/virt/virt.h"

#define SERVICE_DOWN_TIME_US (60LL * 1000000)

char *compute_instances_path(void);

int
compute_service_heartbeat(void)
{
    int64_t now = compute_now();
    static const char *const svcs[][2] = {
        {"nova-conductor", "conductor"}, {"nova-scheduler", "scheduler"},
        {"nova-compute", "compute"}};
    for (size_t i = 0; i < MS_ARRAY_LEN(svcs); i++) {
        int rc = compute_service_db_upsert(ms_conf.host, svcs[i][0], svcs[i][1], now);
        if (rc < 0)
            return rc;
    }
    virt_host_info hi;
    char *err = NULL;
    if (virt_host_info_get(&hi, &err) < 0) {
        ms_warn("Cannot read the hypervisor's capacity: %s", err ? err : "?");
        free(err);
        return 0;
    }
    compute_node_row nd = {.vcpus = hi.vcpus, .memory_mb = hi.memory_mb,
                           .hypervisor_version = hi.hypervisor_version};
    snprintf(nd.host, sizeof(nd.host), "%s", ms_conf.host);
    snprintf(nd.hypervisor_hostname, sizeof(nd.hypervisor_hostname), "%s", ms_conf.host);
    snprintf(nd.hypervisor_type, sizeof(nd.hypervisor_type), "%s", hi.hypervisor_type);
    snprintf(nd.host_ip, sizeof(nd.host_ip), "%s",
             ms_str_empty(ms_conf.public_url_host) ? "127.0.0.1" : ms_conf.public_url_host);
    snprintf(nd.cpu_info, sizeof(nd.cpu_info),
             "{\"arch\": \"%s\", \"model\": \"%s\", \"vendor\": \"unknown\", "
             "\"topology\": {\"cells\": 1, \"sockets\": 1, \"cores\": %d, \"threads\": 1}}",
             hi.cpu_arch, hi.cpu_model, hi.vcpus);
    char *path = compute_instances_path();
    struct statvfs sv;
    if (statvfs(path, &sv) == 0)
        nd.local_gb = (long long)((unsigned long long)sv.f_blocks * sv.f_frsize >> 30);
    free(path);
    return compute_node_db_upsert(&nd, now);
}

static bool
service_up(const compute_service_row *s)
{
    return !s->forced_down && compute_now() - s->updated_at < SERVICE_DOWN_TIME_US;
}

int
compute_services_list(ms_request *req, ms_response *resp)
{
    compute_service_row *rows = NULL;
    size_t n = 0;
    int rc = compute_service_db_list(&rows, &n);
    if (rc < 0)
        return rc;
    const char *fhost = ms_req_query(req, "host");
    const char *fbin = ms_req_query(req, "binary");
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        compute_service_row *s = &rows[i];
        if ((fhost && strcmp(fhost, s->host)) || (fbin && strcmp(fbin, s->binary))) {
            free(s->disabled_reason);
            continue;
        }
        char t[32];
        compute_time_iso_frac(s->updated_at, t);
        bool compute = !strcmp(s->binary, "nova-compute");
        json_t *o = json_pack("{s:I,s:s,s:s,s:s,s:s,s:s,s:s}", "id", (json_int_t)s->id,
                              "binary", s->binary, "host", s->host, "zone",
                              compute ? s->zone : "internal", "status",
                              s->disabled ? "disabled" : "enabled", "state",
                              service_up(s) ? "up" : "down", "updated_at", t);
        ms_json_set_str(o, "disabled_reason", s->disabled_reason);
        json_array_append_new(arr, o);
        free(s->disabled_reason);
    }
    free(rows);
    ms_resp_json(resp, 200, json_pack("{s:o}", "services", arr));
    return 0;
}

static json_t *
hypervisor_json(const compute_node_row *c, bool detail, long long service_id)
{
    json_t *o = json_pack("{s:s,s:I,s:s,s:s}", "hypervisor_hostname", c->hypervisor_hostname,
                          "id", (json_int_t)c->id, "state", "up", "status", "enabled");
    if (!detail)
        return o;
    long long free_disk = c->local_gb - c->local_gb_used;
    json_object_set_new(o, "cpu_info", json_string(c->cpu_info));
    json_object_set_new(o, "current_workload", json_integer(0));
    json_object_set_new(o, "disk_available_least", json_integer(free_disk));
    json_object_set_new(o, "free_disk_gb", json_integer(free_disk));
    json_object_set_new(o, "free_ram_mb", json_integer(c->memory_mb - c->memory_mb_used));
    json_object_set_new(o, "host_ip", json_string(c->host_ip));
    json_object_set_new(o, "hypervisor_type", json_string(c->hypervisor_type));
    json_object_set_new(o, "hypervisor_version", json_integer(c->hypervisor_version));
    json_object_set_new(o, "local_gb", json_integer(c->local_gb));
    json_object_set_new(o, "local_gb_used", json_integer(c->local_gb_used));
    json_object_set_new(o, "memory_mb", json_integer(c->memory_mb));
    json_object_set_new(o, "memory_mb_used", json_integer(c->memory_mb_used));
    json_object_set_new(o, "running_vms", json_integer(c->running_vms));
    json_object_set_new(o, "service", json_pack("{s:s,s:I,s:n}", "host", c->host, "id",
                                                (json_int_t)service_id, "disabled_reason"));
    json_object_set_new(o, "vcpus", json_integer(c->vcpus));
    json_object_set_new(o, "vcpus_used", json_integer(c->vcpus_used));
    return o;
}

static long long
compute_service_id(const char *host)
{
    compute_service_row *rows = NULL;
    size_t n = 0;
    long long id = 0;
    if (compute_service_db_list(&rows, &n) == 0) {
        for (size_t i = 0; i < n; i++) {
            if (!strcmp(rows[i].host, host) && !strcmp(rows[i].binary, "nova-compute"))
                id = rows[i].id;
            free(rows[i].disabled_reason);
        }
        free(rows);
    }
    return id;
}

static int
hypervisors_common(ms_request *req, ms_response *resp, bool detail, const char *one)
{
    compute_node_row *rows = NULL;
    size_t n = 0;
    int rc = compute_node_db_list(&rows, &n);
    if (rc < 0)
        return rc;
    json_t *arr = json_array();
    json_t *found = NULL;
    for (size_t i = 0; i < n; i++) {
        json_t *o = hypervisor_json(&rows[i], detail, compute_service_id(rows[i].host));
        if (one) {
            char id[32];
            snprintf(id, sizeof(id), "%lld", rows[i].id);
            if (!strcmp(id, one))
                found = json_incref(o);
        }
        json_array_append_new(arr, o);
    }
    free(rows);
    if (one) {
        json_decref(arr);
        if (!found) {
            ms_resp_error(resp, 404, "Hypervisor with ID %s could not be found.", one);
            return 0;
        }
        ms_resp_json(resp, 200, json_pack("{s:o}", "hypervisor", found));
        return 0;
    }
    (void)req;
    ms_resp_json(resp, 200, json_pack("{s:o}", "hypervisors", arr));
    return 0;
}

int
compute_hypervisor_list(ms_request *req, ms_response *resp)
{
    return hypervisors_common(req, resp, false, NULL);
}

int
compute_hypervisor_detail(ms_request *req, ms_response *resp)
{
    return hypervisors_common(req, resp, true, NULL);
}

int
compute_hypervisor_show(ms_request *req, ms_response *resp)
{
    return hypervisors_common(req, resp, true, ms_req_param(req, "hypervisor_id"));
}

int
compute_hypervisor_stats(ms_request *req, ms_response *resp)
{
    (void)req;
    compute_node_row *rows = NULL;
    size_t n = 0;
    int rc = compute_node_db_list(&rows, &n);
    if (rc < 0)
        return rc;
    long long t[10] = {0};
    for (size_t i = 0; i < n; i++) {
        t[0] += rows[i].local_gb - rows[i].local_gb_used;
        t[1] += rows[i].memory_mb - rows[i].memory_mb_used;
        t[2] += rows[i].local_gb;
        t[3] += rows[i].local_gb_used;
        t[4] += rows[i].memory_mb;
        t[5] += rows[i].memory_mb_used;
        t[6] += rows[i].running_vms;
        t[7] += rows[i].vcpus;
        t[8] += rows[i].vcpus_used;
    }
    free(rows);
    ms_resp_json(resp, 200,
                 json_pack("{s:{s:I,s:i,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}}",
                           "hypervisor_statistics", "count", (json_int_t)n,
                           "current_workload", 0, "disk_available_least", (json_int_t)t[0],
                           "free_disk_gb", (json_int_t)t[0], "free_ram_mb", (json_int_t)t[1],
                           "local_gb", (json_int_t)t[2], "local_gb_used", (json_int_t)t[3],
                           "memory_mb", (json_int_t)t[4], "memory_mb_used", (json_int_t)t[5],
                           "running_vms", (json_int_t)t[6], "vcpus", (json_int_t)t[7],
                           "vcpus_used", (json_int_t)t[8]));
    return 0;
}

int
compute_az_list(ms_request *req, ms_response *resp)
{
    (void)req;
    ms_resp_json(resp, 200,
                 json_pack("{s:[{s:s,s:{s:b},s:n}]}", "availabilityZoneInfo", "zoneName",
                           "nova", "zoneState", "available", true, "hosts"));
    return 0;
}

int
compute_az_detail(ms_request *req, ms_response *resp)
{
    (void)req;
    compute_service_row *rows = NULL;
    size_t n = 0;
    int rc = compute_service_db_list(&rows, &n);
    if (rc < 0)
        return rc;
    json_t *internal = json_object(), *nova = json_object();
    for (size_t i = 0; i < n; i++) {
        compute_service_row *s = &rows[i];
        json_t *zone = !strcmp(s->binary, "nova-compute") ? nova : internal;
        json_t *h = json_object_get(zone, s->host);
        if (!h) {
            h = json_object();
            json_object_set_new(zone, s->host, h);
        }
        char t[32];
        compute_time_iso_frac(s->updated_at, t);
        json_object_set_new(h, s->binary, json_pack("{s:b,s:b,s:s}", "available",
                                                     service_up(s), "active", !s->disabled,
                                                     "updated_at", t));
        free(s->disabled_reason);
    }
    free(rows);
    json_t *arr = json_array();
    json_array_append_new(arr, json_pack("{s:s,s:{s:b},s:o}", "zoneName", "internal",
                                         "zoneState", "available", true, "hosts", internal));
    json_array_append_new(arr, json_pack("{s:s,s:{s:b},s:o}", "zoneName", "nova",
                                         "zoneState", "available", true, "hosts", nova));
    ms_resp_json(resp, 200, json_pack("{s:o}", "availabilityZoneInfo", arr));
    return 0;
}

/* ---- os-simple-tenant-usage ---- */

static int
usage_period(ms_request *req, ms_response *resp, int64_t *start, int64_t *end)
{
    const char *s = ms_req_query(req, "start"), *e = ms_req_query(req, "end");
    int64_t now = compute_now();
    *end = now;
    *start = now;
    if (e) {
        *end = ms_time_parse(e);
        if (*end < 0) {
            ms_resp_error(resp, 400, "Invalid end time. The end time cannot occur before the "
                                     "start time.");
            return -1;
        }
    }
    if (s) {
        *start = ms_time_parse(s);
        if (*start < 0) {
            ms_resp_error(resp, 400, "Invalid start time.");
            return -1;
        }
    }
    if (*start > *end) {
        ms_resp_error(resp, 400, "Invalid start time. The start time cannot occur after the "
                                 "end time.");
        return -1;
    }
    return 0;
}

static int
usage_reply(ms_request *req, ms_response *resp, const char *project, bool detailed, bool one)
{
    int64_t start, end;
    if (usage_period(req, resp, &start, &end) < 0)
        return 0;
    compute_usage_row *rows = NULL;
    size_t n = 0;
    int rc = compute_usage_db_rows(project, start, end, &rows, &n);
    if (rc < 0)
        return rc;
    char ts[32], te[32];
    compute_time_iso_frac(start, ts);
    compute_time_iso_frac(end, te);
    json_t *usages = json_array();
    json_t *cur = NULL, *servers = NULL;
    double tot[4] = {0};
    for (size_t i = 0; i <= n; i++) {
        bool new_project = i == n || !cur ||
                           strcmp(rows[i].project_id,
                                  json_string_value(json_object_get(cur, "tenant_id")));
        if (new_project && cur) {
            json_object_set_new(cur, "total_local_gb_usage", json_real(tot[0]));
            json_object_set_new(cur, "total_vcpus_usage", json_real(tot[1]));
            json_object_set_new(cur, "total_memory_mb_usage", json_real(tot[2]));
            json_object_set_new(cur, "total_hours", json_real(tot[3]));
            if (detailed)
                json_object_set_new(cur, "server_usages", servers);
            else
                json_decref(servers);
            json_array_append_new(usages, cur);
            cur = NULL;
        }
        if (i == n)
            break;
        compute_usage_row *u = &rows[i];
        if (!cur) {
            cur = json_pack("{s:s,s:s,s:s}", "tenant_id", u->project_id, "start", ts, "stop",
                            te);
            servers = json_array();
            memset(tot, 0, sizeof(tot));
        }
        int64_t a = u->launched_at > start ? u->launched_at : start;
        int64_t b = u->terminated_at && u->terminated_at < end ? u->terminated_at : end;
        double hours = b > a ? (double)(b - a) / 3600e6 : 0;
        tot[0] += hours * (u->root_gb + u->ephemeral_gb);
        tot[1] += hours * u->vcpus;
        tot[2] += hours * u->memory_mb;
        tot[3] += hours;
        char sa[32], ea[32];
        compute_time_iso_frac(u->launched_at, sa);
        json_t *su = json_pack("{s:s,s:s,s:f,s:i,s:i,s:i,s:s,s:s,s:s,s:s,s:I}", "instance_id",
                               u->uuid, "name", u->name, "hours", hours, "memory_mb",
                               u->memory_mb, "local_gb", u->root_gb + u->ephemeral_gb, "vcpus",
                               u->vcpus, "tenant_id", u->project_id, "flavor", u->flavor_name,
                               "started_at", sa, "state",
                               u->terminated_at ? "terminated" : u->vm_state, "uptime",
                               (json_int_t)((b - a) / 1000000));
        if (u->terminated_at) {
            compute_time_iso_frac(u->terminated_at, ea);
            json_object_set_new(su, "ended_at", json_string(ea));
        } else {
            json_object_set_new(su, "ended_at", json_null());
        }
        json_array_append_new(servers, su);
    }
    free(rows);
    if (one) {
        json_t *u = json_array_size(usages) ? json_incref(json_array_get(usages, 0))
                                            : json_object();
        json_decref(usages);
        ms_resp_json(resp, 200, json_pack("{s:o}", "tenant_usage", u));
    } else {
        ms_resp_json(resp, 200, json_pack("{s:o}", "tenant_usages", usages));
    }
    return 0;
}

int
compute_usage_list(ms_request *req, ms_response *resp)
{
    int d = compute_parse_bool(ms_req_query(req, "detailed"));
    return usage_reply(req, resp, NULL, d == 1, false);
}

int
compute_usage_show(ms_request *req, ms_response *resp)
{
    const char *t = ms_req_param(req, "tenant_id");
    if (!req->auth.is_admin && !ms_streq(t, req->auth.project_id)) {
        ms_resp_error(resp, 403, "Policy doesn't allow os_compute_api:os-simple-tenant-usage:"
                                 "show to be performed.");
        return 0;
    }
    return usage_reply(req, resp, t, true, true);
}
