/* The host-side views: os-services (heartbeats of this host's compute,
 * scheduler and conductor roles), os-hypervisors (capacity from the virt
 * driver, usage summed from placed servers), os-availability-zone and
 * os-simple-tenant-usage (Horizon's overview). Microversions: services gain
 * forced_down (2.11) and are named by uuid with PUT /os-services/{id}
 * (2.53); hypervisors show cpu_info as an object (2.28), page (2.33), go by
 * uuid with with_servers and a hostname pattern (2.53) and lose their
 * capacity fields for uptime (2.88); usage pages (2.40). */
#include "compute.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/statvfs.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>

#include <monostack/config.h>

#include "drivers/virt/virt.h"

#define SERVICE_DOWN_TIME_US (60LL * 1000000)

char *compute_instances_path(void);

/* The host's IP address, as Nova's my_ip: the public URL host when it is an
 * address or resolves to one (this runs in a periodic job, never in an API
 * thread), else the loopback address. Clients validate it as an IP. */
static void
host_ip(char *out, size_t len)
{
    const char *h = ms_conf.public_url_host;
    snprintf(out, len, "127.0.0.1");
    if (ms_str_empty(h))
        return;
    unsigned char buf[sizeof(struct in6_addr)];
    if (inet_pton(AF_INET, h, buf) == 1 || inet_pton(AF_INET6, h, buf) == 1) {
        snprintf(out, len, "%s", h);
        return;
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    if (getaddrinfo(h, NULL, &hints, &res) == 0 && res) {
        char addr[INET6_ADDRSTRLEN];
        const void *src = res->ai_family == AF_INET
                              ? (const void *)&((struct sockaddr_in *)res->ai_addr)->sin_addr
                              : (const void *)&((struct sockaddr_in6 *)res->ai_addr)->sin6_addr;
        if (inet_ntop(res->ai_family, src, addr, sizeof(addr)))
            snprintf(out, len, "%s", addr);
    }
    if (res)
        freeaddrinfo(res);
}

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
    host_ip(nd.host_ip, sizeof(nd.host_ip));
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

static void
service_rows_free(compute_service_row *rows, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(rows[i].disabled_reason);
    free(rows);
}

/* A service as GET /os-services shows it: 2.11 adds forced_down, 2.53
 * names it by uuid. */
static json_t *
service_json(ms_request *req, const compute_service_row *s)
{
    char t[32];
    compute_time_iso_frac(s->updated_at, t);
    bool compute = !strcmp(s->binary, "nova-compute");
    json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "binary", s->binary, "host", s->host,
                          "zone", compute ? s->zone : "internal", "status",
                          s->disabled ? "disabled" : "enabled", "state",
                          service_up(s) ? "up" : "down", "updated_at", t);
    json_object_set_new(o, "id", COMPUTE_MV_GE(req, 2, 53) ? json_string(s->uuid)
                                                            : json_integer(s->id));
    ms_json_set_str(o, "disabled_reason", s->disabled_reason);
    if (COMPUTE_MV_GE(req, 2, 11))
        json_object_set_new(o, "forced_down", json_boolean(s->forced_down));
    return o;
}

int
compute_services_list(ms_request *req, ms_response *resp)
{
    static const char *const args[] = {"host", "binary", NULL};
    if (!compute_query_strict(req, resp, args))
        return 0;
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
        if ((!ms_str_empty(fhost) && strcmp(fhost, s->host)) ||
            (!ms_str_empty(fbin) && strcmp(fbin, s->binary)))
            continue;
        json_array_append_new(arr, service_json(req, s));
    }
    service_rows_free(rows, n);
    ms_resp_json(resp, 200, json_pack("{s:o}", "services", arr));
    return 0;
}

/* A string property of at most 255 characters (min_len 1). */
static bool
svc_string(ms_response *resp, json_t *v, const char *field)
{
    if (!json_is_string(v)) {
        compute_bad_field(resp, field, v, "is not of type 'string'");
        return false;
    }
    size_t n = json_string_length(v);
    if (n < 1 || n > 255) {
        compute_bad_field(resp, field, v, n < 1 ? "is too short" : "is too long");
        return false;
    }
    return true;
}

static bool
svc_bool(ms_response *resp, json_t *v, int *out)
{
    *out = compute_json_bool(v);
    if (*out < 0) {
        compute_bad_field(resp, "forced_down", v,
                          "is not one of [True, 'True', 'TRUE', 'true', '1', 'ON', 'On', "
                          "'on', 'YES', 'Yes', 'yes', False, 'False', 'FALSE', 'false', "
                          "'0', 'OFF', 'Off', 'off', 'NO', 'No', 'no']");
        return false;
    }
    return true;
}

/* Only the keys in allowed (NULL-terminated); 400 otherwise. */
static bool
svc_keys(ms_response *resp, json_t *body, const char *const *allowed)
{
    const char *k;
    json_t *v;
    json_object_foreach(body, k, v) {
        bool ok = false;
        for (const char *const *a = allowed; *a && !ok; a++)
            ok = !strcmp(*a, k);
        if (!ok) {
            ms_resp_error(resp, 400, "Additional properties are not allowed ('%s' was "
                                     "unexpected)",
                          k);
            return false;
        }
    }
    return true;
}

/* PUT /os-services/{enable,disable,disable-log-reason,force-down} before
 * 2.53: the body names the service by host and binary. */
int
compute_service_action(ms_request *req, ms_response *resp)
{
    const char *action = ms_req_param(req, "service_id");
    bool v211 = COMPUTE_MV_GE(req, 2, 11);
    bool enable = !strcmp(action, "enable"), disable = !strcmp(action, "disable");
    bool log_reason = !strcmp(action, "disable-log-reason");
    bool force_down = v211 && !strcmp(action, "force-down");
    if (!enable && !disable && !log_reason && !force_down) {
        ms_resp_error(resp, 404, "Unknown action");
        return 0;
    }
    json_t *body = ms_req_json(req, resp);
    if (!body)
        return 0;
    static const char *const keys[] = {"host", "binary", "disabled_reason", NULL};
    static const char *const keys211[] = {"host", "binary", "disabled_reason", "forced_down",
                                          NULL};
    if (!svc_keys(resp, body, v211 ? keys211 : keys))
        return 0;
    json_t *host = json_object_get(body, "host"), *bin = json_object_get(body, "binary");
    if (!host || !bin) {
        ms_resp_error(resp, 400, "'%s' is a required property", !host ? "host" : "binary");
        return 0;
    }
    json_t *reason = json_object_get(body, "disabled_reason");
    json_t *fd = json_object_get(body, "forced_down");
    int forced = 0;
    if (!svc_string(resp, host, "host") || !svc_string(resp, bin, "binary") ||
        (reason && !svc_string(resp, reason, "disabled_reason")) ||
        (fd && !svc_bool(resp, fd, &forced)))
        return 0;
    if (log_reason && !reason) {
        ms_resp_error(resp, 400, "Missing disabled reason field");
        return 0;
    }
    if (force_down && !fd) {
        ms_resp_error(resp, 400, "Missing forced_down field");
        return 0;
    }
    const char *h = json_string_value(host), *b = json_string_value(bin);
    if (strcmp(b, "nova-compute") != 0) {
        ms_resp_error(resp, 400, "Updating a %s service is not supported. Only nova-compute "
                                 "services can be updated.",
                      b);
        return 0;
    }
    compute_service_row *rows = NULL;
    size_t n = 0;
    int rc = compute_service_db_list(&rows, &n);
    if (rc < 0)
        return rc;
    compute_service_row *s = NULL;
    for (size_t i = 0; i < n && !s; i++) {
        if (!strcmp(rows[i].host, h) && !strcmp(rows[i].binary, b))
            s = &rows[i];
    }
    if (!s) {
        ms_resp_error(resp, 404, "Could not find binary %s on host %s.", b, h);
        goto done;
    }
    json_t *out;
    if (force_down) {
        rc = compute_service_db_update(s->id, s->disabled, s->disabled_reason, forced);
        out = json_pack("{s:s,s:s,s:b}", "host", h, "binary", b, "forced_down", forced);
    } else {
        /* disable without log reason keeps no reason, as Nova's does. */
        const char *why = log_reason ? json_string_value(reason) : NULL;
        rc = compute_service_db_update(s->id, !enable, why, s->forced_down);
        out = json_pack("{s:s,s:s,s:s}", "host", h, "binary", b, "status",
                        enable ? "enabled" : "disabled");
        if (why)
            json_object_set_new(out, "disabled_reason", json_string(why));
    }
    if (rc == 0)
        ms_resp_json(resp, 200, json_pack("{s:o}", "service", out));
    else
        json_decref(out);
done:
    service_rows_free(rows, n);
    return rc == -ENOENT ? 0 : rc;
}

/* Find the service named by the {service_id} segment: an integer id
 * before 2.53, a uuid from it. Answers 400/404 when not found (NULL). */
static compute_service_row *
service_by_path(ms_request *req, ms_response *resp, compute_service_row *rows, size_t n)
{
    const char *id = ms_req_param(req, "service_id");
    bool by_uuid = COMPUTE_MV_GE(req, 2, 53);
    if (by_uuid && !ms_uuid_valid(id)) {
        ms_resp_error(resp, 400, "Invalid uuid %s", id);
        return NULL;
    }
    if (!by_uuid && (!*id || strspn(id, "0123456789") != strlen(id) || strlen(id) > 18)) {
        ms_resp_error(resp, 400, "Invalid input received: id must be an integer");
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        char num[24];
        snprintf(num, sizeof(num), "%lld", rows[i].id);
        if (by_uuid ? !strcasecmp(rows[i].uuid, id) : !strcmp(num, id))
            return &rows[i];
    }
    ms_resp_error(resp, 404, "Service %s could not be found.", id);
    return NULL;
}

/* PUT /os-services/{service_uuid} (2.53): status, disabled_reason and
 * forced_down; answers the whole service. */
int
compute_service_update(ms_request *req, ms_response *resp)
{
    json_t *body = ms_req_json(req, resp);
    if (!body)
        return 0;
    static const char *const keys[] = {"status", "disabled_reason", "forced_down", NULL};
    if (!svc_keys(resp, body, keys))
        return 0;
    json_t *status = json_object_get(body, "status");
    json_t *reason = json_object_get(body, "disabled_reason");
    json_t *fd = json_object_get(body, "forced_down");
    int forced = -1;
    if (status && (!json_is_string(status) || (strcmp(json_string_value(status), "enabled") &&
                                               strcmp(json_string_value(status), "disabled")))) {
        compute_bad_field(resp, "status", status, "is not one of ['enabled', 'disabled']");
        return 0;
    }
    if ((reason && !svc_string(resp, reason, "disabled_reason")) ||
        (fd && !svc_bool(resp, fd, &forced)))
        return 0;
    compute_service_row *rows = NULL;
    size_t n = 0;
    int rc = compute_service_db_list(&rows, &n);
    if (rc < 0)
        return rc;
    compute_service_row *s = service_by_path(req, resp, rows, n);
    if (!s)
        goto done;
    if (strcmp(s->binary, "nova-compute") != 0) {
        ms_resp_error(resp, 400, "Updating a %s service is not supported. Only nova-compute "
                                 "services can be updated.",
                      s->binary);
        goto done;
    }
    bool disabled = s->disabled, changed = false;
    char *why = ms_strdup(s->disabled_reason);
    if (status) {
        bool enable = !strcmp(json_string_value(status), "enabled");
        if (enable && reason) {
            ms_resp_error(resp, 400, "Specifying 'disabled_reason' with status 'enabled' is "
                                     "invalid.");
            free(why);
            goto done;
        }
        free(why);
        why = enable || !reason ? NULL : ms_strdup(json_string_value(reason));
        changed = changed || disabled == enable || !ms_streq(why, s->disabled_reason);
        disabled = !enable;
    }
    bool fdown = s->forced_down;
    if (forced >= 0) {
        changed = changed || fdown != (forced == 1);
        fdown = forced == 1;
    }
    /* Nova asks for something to change; naming the same values counts. */
    if (!status && forced < 0) {
        ms_resp_error(resp, 400, "No updates were requested. Fields 'status' or "
                                 "'forced_down' should be specified.");
        free(why);
        goto done;
    }
    (void)changed;
    rc = compute_service_db_update(s->id, disabled, why, fdown);
    if (rc == 0) {
        s->disabled = disabled;
        s->forced_down = fdown;
        free(s->disabled_reason);
        s->disabled_reason = why;
        why = NULL;
        ms_resp_json(resp, 200, json_pack("{s:o}", "service", service_json(req, s)));
    }
    free(why);
done:
    service_rows_free(rows, n);
    return rc == -ENOENT ? 0 : rc;
}

int
compute_service_delete(ms_request *req, ms_response *resp)
{
    compute_service_row *rows = NULL;
    size_t n = 0;
    int rc = compute_service_db_list(&rows, &n);
    if (rc < 0)
        return rc;
    compute_service_row *s = service_by_path(req, resp, rows, n);
    if (s) {
        rc = compute_service_db_delete(s);
        if (rc == -EBUSY) {
            ms_resp_error(resp, 409, "Unable to delete compute service that is hosting "
                                     "instances. Migrate or delete the instances first.");
            rc = 0;
        } else if (rc == 0) {
            ms_resp_empty(resp, 204);
        }
    }
    service_rows_free(rows, n);
    return rc;
}

/* ---- os-hypervisors ---- */

/* The host's `uptime` line, as Nova's libvirt driver returns it; NULL for
 * another host, which this daemon cannot ask. Caller frees. */
static char *
host_uptime(const char *host)
{
    if (strcmp(host, ms_conf.host) != 0)
        return NULL;
    double up = 0, l1 = 0, l5 = 0, l15 = 0;
    FILE *f = fopen("/proc/uptime", "r");
    if (!f || fscanf(f, "%lf", &up) != 1) {
        if (f)
            fclose(f);
        return NULL;
    }
    fclose(f);
    f = fopen("/proc/loadavg", "r");
    if (f) {
        if (fscanf(f, "%lf %lf %lf", &l1, &l5, &l15) != 3)
            l1 = l5 = l15 = 0;
        fclose(f);
    }
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    long mins = (long)up / 60;
    long days = mins / 1440, hh = mins % 1440 / 60, mm = mins % 60;
    char span[64];
    if (days)
        snprintf(span, sizeof(span), "%ld day%s, %2ld:%02ld", days, days == 1 ? "" : "s", hh,
                 mm);
    else
        snprintf(span, sizeof(span), "%2ld:%02ld", hh, mm);
    return ms_asprintf(" %02d:%02d:%02d up %s,  0 users,  load average: %.2f, %.2f, %.2f",
                       tm.tm_hour, tm.tm_min, tm.tm_sec, span, l1, l5, l15);
}

static const compute_service_row *
node_service(const compute_service_row *svcs, size_t nsvcs, const char *host)
{
    for (size_t i = 0; i < nsvcs; i++) {
        if (!strcmp(svcs[i].host, host) && !strcmp(svcs[i].binary, "nova-compute"))
            return &svcs[i];
    }
    return NULL;
}

/* One hypervisor. 2.28 shows cpu_info as an object, 2.53 ids as uuids,
 * 2.88 drops the capacity fields and adds uptime. servers: the hosted
 * servers when with_servers was asked for (NULL otherwise); 2.75 shows an
 * empty list too. */
static json_t *
hypervisor_json(ms_request *req, const compute_node_row *c, const compute_service_row *svc,
                bool detail, json_t *servers)
{
    bool uuids = COMPUTE_MV_GE(req, 2, 53);
    json_t *o = json_pack("{s:s,s:s,s:s}", "hypervisor_hostname", c->hypervisor_hostname,
                          "state", service_up(svc) ? "up" : "down", "status",
                          svc->disabled ? "disabled" : "enabled");
    json_object_set_new(o, "id", uuids ? json_string(c->uuid) : json_integer(c->id));
    if (detail) {
        json_object_set_new(o, "host_ip", json_string(c->host_ip));
        json_object_set_new(o, "hypervisor_type", json_string(c->hypervisor_type));
        json_object_set_new(o, "hypervisor_version", json_integer(c->hypervisor_version));
        json_t *so = json_pack("{s:s}", "host", c->host);
        json_object_set_new(so, "id", uuids ? json_string(svc->uuid) : json_integer(svc->id));
        ms_json_set_str(so, "disabled_reason", svc->disabled_reason);
        json_object_set_new(o, "service", so);
    }
    if (detail && !COMPUTE_MV_GE(req, 2, 88)) {
        long long free_disk = c->local_gb - c->local_gb_used;
        if (COMPUTE_MV_GE(req, 2, 28)) {
            json_t *ci = json_loads(c->cpu_info, 0, NULL);
            json_object_set_new(o, "cpu_info", json_is_object(ci) ? ci : json_object());
            if (ci && !json_is_object(ci))
                json_decref(ci);
        } else {
            json_object_set_new(o, "cpu_info", json_string(c->cpu_info));
        }
        json_object_set_new(o, "current_workload", json_integer(0));
        json_object_set_new(o, "disk_available_least", json_integer(free_disk));
        json_object_set_new(o, "free_disk_gb", json_integer(free_disk));
        json_object_set_new(o, "free_ram_mb", json_integer(c->memory_mb - c->memory_mb_used));
        json_object_set_new(o, "local_gb", json_integer(c->local_gb));
        json_object_set_new(o, "local_gb_used", json_integer(c->local_gb_used));
        json_object_set_new(o, "memory_mb", json_integer(c->memory_mb));
        json_object_set_new(o, "memory_mb_used", json_integer(c->memory_mb_used));
        json_object_set_new(o, "running_vms", json_integer(c->running_vms));
        json_object_set_new(o, "vcpus", json_integer(c->vcpus));
        json_object_set_new(o, "vcpus_used", json_integer(c->vcpus_used));
    }
    if (detail && COMPUTE_MV_GE(req, 2, 88)) {
        char *up = host_uptime(c->host);
        json_object_set_new(o, "uptime", up ? json_string(up) : json_null());
        free(up);
    }
    if (servers && (json_array_size(servers) > 0 || COMPUTE_MV_GE(req, 2, 75)))
        json_object_set_new(o, "servers", json_incref(servers));
    return o;
}

typedef struct {
    compute_node_row *nodes;
    size_t n;
    compute_service_row *svcs;
    size_t nsvcs;
} hyp_data;

static void
hyp_data_free(hyp_data *d)
{
    free(d->nodes);
    service_rows_free(d->svcs, d->nsvcs);
}

static int
hyp_data_load(hyp_data *d)
{
    memset(d, 0, sizeof(*d));
    int rc = compute_node_db_list(&d->nodes, &d->n);
    if (rc == 0)
        rc = compute_service_db_list(&d->svcs, &d->nsvcs);
    return rc;
}

/* with_servers (2.53) as a strict boolean; -1 after answering 400. */
static int
with_servers_arg(ms_request *req, ms_response *resp)
{
    const char *ws = ms_req_query(req, "with_servers");
    if (!ws || !COMPUTE_MV_GE(req, 2, 53))
        return 0;
    json_t *v = json_string(ws);
    int b = compute_json_bool(v);
    if (b < 0) {
        ms_resp_error(resp, 400, "Invalid input for query parameters with_servers. Value: %s. "
                                 "'%s' is not one of ['True', 'TRUE', 'true', '1', 'ON', "
                                 "'On', 'on', 'YES', 'Yes', 'yes', 'False', 'FALSE', 'false', "
                                 "'0', 'OFF', 'Off', 'off', 'NO', 'No', 'no']",
                      ws, ws);
    }
    json_decref(v);
    return b;
}

static bool
node_id_is(ms_request *req, const compute_node_row *c, const char *id)
{
    if (COMPUTE_MV_GE(req, 2, 53))
        return !strcasecmp(c->uuid, id);
    char num[24];
    snprintf(num, sizeof(num), "%lld", c->id);
    return !strcmp(num, id);
}

static int
hypervisors_list(ms_request *req, ms_response *resp, bool detail)
{
    static const char *const args[] = {"limit", "marker", "hypervisor_hostname_pattern",
                                       "with_servers", NULL};
    if (!compute_query_strict_from(req, resp, args, MS_MV(2, 53)))
        return 0;
    int with_servers = with_servers_arg(req, resp);
    if (with_servers < 0)
        return 0;
    /* Pagination came with 2.33, the hostname pattern with 2.53. */
    bool paged = COMPUTE_MV_GE(req, 2, 33);
    const char *pattern = COMPUTE_MV_GE(req, 2, 53)
                              ? ms_req_query(req, "hypervisor_hostname_pattern")
                              : NULL;
    int limit = COMPUTE_MAX_LIMIT;
    const char *marker = NULL;
    if (paged && compute_limit_marker(req, resp, &limit, &marker) < 0)
        return 0;
    if (pattern && (ms_req_query(req, "limit") || marker)) {
        ms_resp_error(resp, 400, "Paging over hypervisors with the hypervisor_hostname_pattern "
                                 "query parameter is not supported.");
        return 0;
    }
    hyp_data d;
    int rc = hyp_data_load(&d);
    if (rc < 0) {
        hyp_data_free(&d);
        return rc;
    }
    size_t start = 0;
    if (marker) {
        start = d.n + 1;
        for (size_t i = 0; i < d.n && start > d.n; i++) {
            if (node_id_is(req, &d.nodes[i], marker))
                start = i + 1;
        }
        if (start > d.n) {
            ms_resp_error(resp, 400, "marker [%s] not found", marker);
            hyp_data_free(&d);
            return 0;
        }
    }
    json_t *arr = json_array();
    const char *last = NULL;
    char lastid[40] = "";
    for (size_t i = start; i < d.n && (int)json_array_size(arr) < limit; i++) {
        const compute_node_row *c = &d.nodes[i];
        if (pattern && !strstr(c->hypervisor_hostname, pattern))
            continue;
        const compute_service_row *svc = node_service(d.svcs, d.nsvcs, c->host);
        if (!svc)
            continue;   /* a node whose service was deleted, as Nova skips it */
        json_t *servers = NULL;
        if (with_servers && (rc = compute_host_servers_db(c->host, &servers)) < 0)
            break;
        json_array_append_new(arr, hypervisor_json(req, c, svc, detail, servers));
        json_decref(servers);
        if (COMPUTE_MV_GE(req, 2, 53))
            snprintf(lastid, sizeof(lastid), "%s", c->uuid);
        else
            snprintf(lastid, sizeof(lastid), "%lld", c->id);
        last = lastid;
    }
    hyp_data_free(&d);
    if (rc < 0) {
        json_decref(arr);
        return rc;
    }
    if (pattern && json_array_size(arr) == 0) {
        json_decref(arr);
        ms_resp_error(resp, 404, "No hypervisor matching '%s' could be found.", pattern);
        return 0;
    }
    json_t *body = json_pack("{s:o}", "hypervisors", arr);
    if (paged && !pattern && last && (int)json_array_size(arr) == limit)
        json_object_set_new(body, "hypervisors_links",
                            compute_next_link(req, detail ? "os-hypervisors/detail"
                                                          : "os-hypervisors",
                                              last));
    ms_resp_json(resp, 200, body);
    return 0;
}

int
compute_hypervisor_list(ms_request *req, ms_response *resp)
{
    return hypervisors_list(req, resp, false);
}

int
compute_hypervisor_detail(ms_request *req, ms_response *resp)
{
    return hypervisors_list(req, resp, true);
}

/* The hypervisor named by the path (integer id before 2.53, uuid from it)
 * with its service; answers 400/404 and returns NULL when there is none. */
static const compute_node_row *
hypervisor_by_path(ms_request *req, ms_response *resp, hyp_data *d,
                   const compute_service_row **svc)
{
    const char *id = ms_req_param(req, "hypervisor_id");
    /* From 2.88 the statistics route is gone: Nova answers 404, not the
     * show route's "Invalid uuid". */
    if (!strcmp(id, "statistics")) {
        ms_resp_error(resp, 404, "The resource could not be found.");
        return NULL;
    }
    if (COMPUTE_MV_GE(req, 2, 53) && !ms_uuid_valid(id)) {
        ms_resp_error(resp, 400, "Invalid uuid %s", id);
        return NULL;
    }
    for (size_t i = 0; i < d->n; i++) {
        if (node_id_is(req, &d->nodes[i], id)) {
            *svc = node_service(d->svcs, d->nsvcs, d->nodes[i].host);
            if (*svc)
                return &d->nodes[i];
        }
    }
    ms_resp_error(resp, 404, "Hypervisor with ID '%s' could not be found.", id);
    return NULL;
}

int
compute_hypervisor_show(ms_request *req, ms_response *resp)
{
    static const char *const args[] = {"with_servers", NULL};
    if (!compute_query_strict_from(req, resp, args, MS_MV(2, 53)))
        return 0;
    int with_servers = with_servers_arg(req, resp);
    if (with_servers < 0)
        return 0;
    hyp_data d;
    int rc = hyp_data_load(&d);
    const compute_service_row *svc = NULL;
    const compute_node_row *c = rc == 0 ? hypervisor_by_path(req, resp, &d, &svc) : NULL;
    if (c) {
        json_t *servers = NULL;
        if (!with_servers || (rc = compute_host_servers_db(c->host, &servers)) == 0)
            ms_resp_json(resp, 200, json_pack("{s:o}", "hypervisor",
                                              hypervisor_json(req, c, svc, true, servers)));
        json_decref(servers);
    }
    hyp_data_free(&d);
    return rc;
}

/* GET /os-hypervisors/{id}/uptime, until 2.88 folded uptime into show. */
int
compute_hypervisor_uptime(ms_request *req, ms_response *resp)
{
    hyp_data d;
    int rc = hyp_data_load(&d);
    const compute_service_row *svc = NULL;
    const compute_node_row *c = rc == 0 ? hypervisor_by_path(req, resp, &d, &svc) : NULL;
    if (c) {
        char *up = host_uptime(c->host);
        if (!up) {
            ms_resp_error(resp, 400, "Compute service of %s is unavailable at this time.",
                          c->host);
        } else {
            json_t *o = hypervisor_json(req, c, svc, false, NULL);
            json_object_set_new(o, "uptime", json_string(up));
            ms_resp_json(resp, 200, json_pack("{s:o}", "hypervisor", o));
        }
        free(up);
    }
    hyp_data_free(&d);
    return rc;
}

/* GET /os-hypervisors/{pattern}/search and .../servers (before 2.53). */
static int
hypervisor_pattern(ms_request *req, ms_response *resp, bool with_servers)
{
    const char *pattern = ms_req_param(req, "pattern");
    hyp_data d;
    int rc = hyp_data_load(&d);
    json_t *arr = json_array();
    for (size_t i = 0; rc == 0 && i < d.n; i++) {
        const compute_node_row *c = &d.nodes[i];
        const compute_service_row *svc = node_service(d.svcs, d.nsvcs, c->host);
        if (!svc || !strstr(c->hypervisor_hostname, pattern))
            continue;
        json_t *servers = NULL;
        if (with_servers && (rc = compute_host_servers_db(c->host, &servers)) < 0)
            break;
        json_array_append_new(arr, hypervisor_json(req, c, svc, false, servers));
        json_decref(servers);
    }
    hyp_data_free(&d);
    if (rc == 0 && json_array_size(arr) == 0)
        ms_resp_error(resp, 404, "No hypervisor matching '%s' could be found.", pattern);
    else if (rc == 0)
        ms_resp_json(resp, 200, json_pack("{s:O}", "hypervisors", arr));
    json_decref(arr);
    return rc;
}

int
compute_hypervisor_search(ms_request *req, ms_response *resp)
{
    return hypervisor_pattern(req, resp, false);
}

int
compute_hypervisor_servers(ms_request *req, ms_response *resp)
{
    return hypervisor_pattern(req, resp, true);
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
    /* 2.40 pages over the servers (limit, marker = a server's uuid). */
    bool paged = COMPUTE_MV_GE(req, 2, 40);
    int limit = COMPUTE_MAX_LIMIT;
    const char *marker = NULL;
    if (paged && compute_limit_marker(req, resp, &limit, &marker) < 0)
        return 0;
    compute_usage_row *all = NULL;
    size_t nall = 0;
    int rc = compute_usage_db_rows(project, start, end, &all, &nall);
    if (rc < 0)
        return rc;
    size_t first = 0;
    if (marker) {
        first = nall + 1;
        for (size_t i = 0; i < nall && first > nall; i++) {
            if (!strcmp(all[i].uuid, marker))
                first = i + 1;
        }
        if (first > nall) {
            free(all);
            ms_resp_error(resp, 400, "Marker %s could not be found.", marker);
            return 0;
        }
    }
    compute_usage_row *rows = all + first;
    size_t n = nall - first;
    if (n > (size_t)limit)
        n = (size_t)limit;
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
    json_t *links = NULL;
    if (paged && n > 0 && n == (size_t)limit) {
        char *coll = one ? ms_asprintf("os-simple-tenant-usage/%s", project)
                         : ms_strdup("os-simple-tenant-usage");
        links = compute_next_link(req, coll, rows[n - 1].uuid);
        free(coll);
    }
    free(all);
    json_t *body;
    if (one) {
        json_t *u = json_array_size(usages) ? json_incref(json_array_get(usages, 0))
                                            : json_object();
        json_decref(usages);
        body = json_pack("{s:o}", "tenant_usage", u);
    } else {
        body = json_pack("{s:o}", "tenant_usages", usages);
    }
    if (links)
        json_object_set_new(body, one ? "tenant_usage_links" : "tenant_usages_links", links);
    ms_resp_json(resp, 200, body);
    return 0;
}

int
compute_usage_list(ms_request *req, ms_response *resp)
{
    static const char *const args[] = {"start", "end", "detailed", "limit", "marker", NULL};
    if (!compute_query_strict(req, resp, args))
        return 0;
    int d = compute_parse_bool(ms_req_query(req, "detailed"));
    return usage_reply(req, resp, NULL, d == 1, false);
}

int
compute_usage_show(ms_request *req, ms_response *resp)
{
    static const char *const args[] = {"start", "end", "limit", "marker", NULL};
    if (!compute_query_strict(req, resp, args))
        return 0;
    const char *t = ms_req_param(req, "tenant_id");
    if (!req->auth.is_admin && !ms_streq(t, req->auth.project_id)) {
        ms_resp_error(resp, 403, "Policy doesn't allow os_compute_api:os-simple-tenant-usage:"
                                 "show to be performed.");
        return 0;
    }
    return usage_reply(req, resp, t, true, true);
}
