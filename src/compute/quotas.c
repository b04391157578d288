/* os-quota-sets, os-quota-class-sets and limits. 2.36 drops the network
 * resources from them, 2.57 the injected files; quota classes show the
 * server group resources only from 2.50. Limits default to the [compute]
 * quota_* options, overridden by the "default" quota class, then by a
 * project's rows. Server creation checks instances/cores/ram under a
 * per-project row lock (servers_db.c), so the check and the insert are
 * atomic. */
#include "compute.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <monostack/config.h>

const char *const compute_quota_names[Q_COUNT] = {
    "instances", "cores", "ram", "floating_ips", "fixed_ips", "metadata_items",
    "injected_files", "injected_file_content_bytes", "injected_file_path_bytes",
    "key_pairs", "security_groups", "security_group_rules", "server_groups",
    "server_group_members",
};

long long
compute_quota_default(compute_quota_res r)
{
    switch (r) {
    case Q_INSTANCES: return ms_conf.quota_instances;
    case Q_CORES: return ms_conf.quota_cores;
    case Q_RAM: return ms_conf.quota_ram;
    case Q_FLOATING_IPS: return 10;
    case Q_FIXED_IPS: return -1;
    case Q_METADATA_ITEMS: return ms_conf.quota_metadata_items;
    case Q_INJECTED_FILES: return 5;
    case Q_INJECTED_FILE_CONTENT_BYTES: return 10240;
    case Q_INJECTED_FILE_PATH_BYTES: return 255;
    case Q_KEY_PAIRS: return ms_conf.quota_key_pairs;
    case Q_SECURITY_GROUPS: return 10;
    case Q_SECURITY_GROUP_RULES: return 20;
    case Q_SERVER_GROUPS: return ms_conf.quota_server_groups;
    case Q_SERVER_GROUP_MEMBERS: return ms_conf.quota_server_group_members;
    case Q_COUNT: break;
    }
    return -1;
}

/* The configured defaults overlaid with the "default" quota class. */
static int
quota_defaults(long long limits[Q_COUNT])
{
    for (int q = 0; q < Q_COUNT; q++)
        limits[q] = compute_quota_default((compute_quota_res)q);
    return compute_quota_class_db_get("default", limits);
}

int
compute_quota_limits(const char *project, long long limits[Q_COUNT])
{
    bool set[Q_COUNT] = {0};
    int rc = quota_defaults(limits);
    return rc < 0 ? rc : compute_quota_db_get(project ? project : "", limits, set);
}

static bool
quota_is_network(int q)
{
    return q == Q_FIXED_IPS || q == Q_FLOATING_IPS || q == Q_SECURITY_GROUPS ||
           q == Q_SECURITY_GROUP_RULES;
}

static bool
quota_is_injected(int q)
{
    return q == Q_INJECTED_FILES || q == Q_INJECTED_FILE_CONTENT_BYTES ||
           q == Q_INJECTED_FILE_PATH_BYTES;
}

/* Whether os-quota-sets shows (and takes) a resource at the request's
 * microversion. */
static bool
quota_set_shown(ms_request *req, int q)
{
    if (quota_is_network(q) && COMPUTE_MV_GE(req, 2, 36))
        return false;
    return !(quota_is_injected(q) && COMPUTE_MV_GE(req, 2, 57));
}

/* The same for os-quota-class-sets, whose network resources lasted until
 * 2.50, which also brought the server group ones. */
static bool
quota_class_shown(ms_request *req, int q)
{
    bool v250 = COMPUTE_MV_GE(req, 2, 50);
    if (quota_is_network(q) && v250)
        return false;
    if ((q == Q_SERVER_GROUPS || q == Q_SERVER_GROUP_MEMBERS) && !v250)
        return false;
    return !(quota_is_injected(q) && COMPUTE_MV_GE(req, 2, 57));
}

static const char *const quota_query_args[] = {"user_id", NULL};

/* Every resource but the injected files after 2.57 (the 2.1 quota class
 * body). */
static bool
quota_all(ms_request *req, int q)
{
    return !(quota_is_injected(q) && COMPUTE_MV_GE(req, 2, 57));
}

bool
compute_quota_fits(const long long limits[Q_COUNT], long long used_inst, long long used_cores,
                   long long used_ram, long long count, long long cores, long long ram,
                   char *msg, size_t msglen)
{
    /* Nova names every exceeded resource, in this order, in one message. */
    struct {
        compute_quota_res r;
        long long used, req;
    } checks[] = {
        {Q_CORES, used_cores, cores * count},
        {Q_INSTANCES, used_inst, count},
        {Q_RAM, used_ram, ram * count},
    };
    char overs[64] = "", reqs[96] = "", useds[96] = "", allowed[96] = "";
    int nover = 0;
    for (size_t i = 0; i < MS_ARRAY_LEN(checks); i++) {
        long long lim = limits[checks[i].r];
        if (lim < 0 || checks[i].used + checks[i].req <= lim)
            continue;
        const char *sep = nover++ ? ", " : "";
        size_t l;
        l = strlen(overs);
        snprintf(overs + l, sizeof(overs) - l, "%s%s", sep, compute_quota_names[checks[i].r]);
        l = strlen(reqs);
        snprintf(reqs + l, sizeof(reqs) - l, "%s%lld", sep, checks[i].req);
        l = strlen(useds);
        snprintf(useds + l, sizeof(useds) - l, "%s%lld", sep, checks[i].used);
        l = strlen(allowed);
        snprintf(allowed + l, sizeof(allowed) - l, "%s%lld", sep, lim);
    }
    if (!nover)
        return true;
    snprintf(msg, msglen,
             "Quota exceeded for %s: Requested %s, but already used %s of %s %s", overs, reqs,
             useds, allowed, overs);
    return false;
}

/* A member may look at its own project only. */
static bool
quota_target_ok(ms_request *req, ms_response *resp, const char *rule)
{
    const char *tenant = ms_req_param(req, "tenant_id");
    if (req->auth.is_admin || ms_streq(tenant, req->auth.project_id))
        return true;
    ms_resp_error(resp, 403, "Policy doesn't allow os_compute_api:os-quota-sets:%s to be "
                             "performed.",
                  rule);
    return false;
}

static int
quota_usage(const char *project, const char *user_id, long long in_use[Q_COUNT])
{
    memset(in_use, 0, sizeof(long long) * Q_COUNT);
    int rc = compute_quota_db_usage(project, &in_use[Q_INSTANCES], &in_use[Q_CORES],
                                    &in_use[Q_RAM]);
    if (rc == 0)
        rc = compute_quota_db_server_groups(project, &in_use[Q_SERVER_GROUPS]);
    if (rc == 0 && user_id)
        rc = compute_keypair_db_count(user_id, &in_use[Q_KEY_PAIRS]);
    return rc;
}

static int
quota_reply(ms_request *req, ms_response *resp, bool with_id, bool defaults, bool detail)
{
    const char *tenant = ms_req_param(req, "tenant_id");
    long long limits[Q_COUNT], in_use[Q_COUNT];
    int rc = 0;
    if (defaults)
        rc = quota_defaults(limits);
    else
        rc = compute_quota_limits(tenant, limits);
    if (rc == 0 && detail)
        rc = quota_usage(tenant, ms_streq(tenant, req->auth.project_id) ? req->auth.user_id
                                                                       : NULL,
                         in_use);
    if (rc < 0)
        return rc;
    json_t *qs = json_object();
    if (with_id)
        json_object_set_new(qs, "id", json_string(tenant));
    for (int q = 0; q < Q_COUNT; q++) {
        if (!quota_set_shown(req, q))
            continue;
        if (detail)
            json_object_set_new(qs, compute_quota_names[q],
                                json_pack("{s:I,s:I,s:i}", "in_use", (json_int_t)in_use[q],
                                          "limit", (json_int_t)limits[q], "reserved", 0));
        else
            json_object_set_new(qs, compute_quota_names[q], json_integer(limits[q]));
    }
    ms_resp_json(resp, 200, json_pack("{s:o}", "quota_set", qs));
    return 0;
}

int
compute_quota_show(ms_request *req, ms_response *resp)
{
    if (!compute_query_strict(req, resp, quota_query_args) ||
        !quota_target_ok(req, resp, "show"))
        return 0;
    return quota_reply(req, resp, true, false, false);
}

int
compute_quota_defaults(ms_request *req, ms_response *resp)
{
    return quota_reply(req, resp, true, true, false);
}

int
compute_quota_detail(ms_request *req, ms_response *resp)
{
    if (!compute_query_strict(req, resp, quota_query_args) ||
        !quota_target_ok(req, resp, "detail"))
        return 0;
    return quota_reply(req, resp, true, false, true);
}

/* Parse a quota_set / quota_class_set body: each key must be a resource
 * shown(req, q) allows, its value an integer (or digit string) in
 * [-1, 2^31-1]. force_ok admits "force". False after answering 400. */
static bool
quota_body(ms_request *req, ms_response *resp, const char *field,
           bool (*shown)(ms_request *, int), bool force_ok, long long want[Q_COUNT],
           bool have[Q_COUNT], bool *force)
{
    json_t *body = ms_req_json(req, resp);
    if (!body)
        return false;
    json_t *qs = json_object_get(body, field);
    if (!json_is_object(qs)) {
        if (!qs)
            ms_resp_error(resp, 400, "Invalid input for field/attribute %s. Value: {}. "
                                     "'%s' is a required property",
                          field, field);
        else
            compute_bad_field(resp, field, qs, "is not of type 'object'");
        return false;
    }
    const char *k;
    json_t *v;
    json_object_foreach(qs, k, v) {
        if (force_ok && !strcmp(k, "force")) {
            int b = compute_json_bool(v);
            if (b < 0) {
                compute_bad_field(resp, "force", v, "is not one of the boolean values");
                return false;
            }
            *force = b;
            continue;
        }
        int q = -1;
        for (int i = 0; i < Q_COUNT; i++) {
            if (!strcmp(compute_quota_names[i], k) && shown(req, i))
                q = i;
        }
        /* "networks" (nova-network's) is in the schema until the network
         * resources left it. */
        bool networks = !strcmp(k, "networks") && shown(req, Q_FIXED_IPS);
        if (q < 0 && !networks) {
            char *repr = compute_json_repr(qs);
            ms_resp_error(resp, 400,
                          "Invalid input for field/attribute %s. Value: %s. "
                          "Additional properties are not allowed ('%s' was unexpected)",
                          field, repr, k);
            free(repr);
            return false;
        }
        long long x;
        bool ok = false;
        if (json_is_integer(v)) {
            x = json_integer_value(v);
            ok = true;
        } else if (json_is_string(v)) {
            const char *s = json_string_value(v);
            const char *d = s[0] == '-' ? s + 1 : s;
            ok = *d && strspn(d, "0123456789") == strlen(d) && strlen(d) < 12;
            x = ok ? strtoll(s, NULL, 10) : 0;
        }
        if (!ok) {
            compute_bad_field(resp, k, v, "is not of type 'integer', 'string'");
            return false;
        }
        if (x < -1) {
            char why[64];
            snprintf(why, sizeof(why), "%lld is less than the minimum of -1", x);
            compute_bad_field(resp, k, v, why);
            return false;
        }
        if (x > 2147483647LL) {
            compute_bad_field(resp, k, v, "is greater than the maximum of 2147483647");
            return false;
        }
        if (q >= 0) {
            want[q] = x;
            have[q] = true;
        }
    }
    return true;
}

int
compute_quota_update(ms_request *req, ms_response *resp)
{
    const char *tenant = ms_req_param(req, "tenant_id");
    if (!compute_query_strict(req, resp, quota_query_args))
        return 0;
    json_t *body = ms_req_json(req, resp);
    if (!body)
        return 0;
    json_t *qs = json_object_get(body, "quota_set");
    /* Nova rejects nova-network's quota by name while its schema has it. */
    if (json_is_object(qs) && json_object_get(qs, "networks") &&
        !COMPUTE_MV_GE(req, 2, 36)) {
        ms_resp_error(resp, 400, "The networks quota has been removed");
        return 0;
    }
    bool force = false;
    long long want[Q_COUNT];
    bool have[Q_COUNT] = {0};
    if (!quota_body(req, resp, "quota_set", quota_set_shown, true, want, have, &force))
        return 0;
    if (!force) {
        long long in_use[Q_COUNT];
        int rc = quota_usage(tenant, NULL, in_use);
        if (rc < 0)
            return rc;
        for (int q = 0; q < Q_COUNT; q++) {
            if (have[q] && want[q] != -1 && want[q] < in_use[q]) {
                ms_resp_error(resp, 400,
                              "Quota limit %lld for %s must be greater than or equal to "
                              "already used and reserved %lld.",
                              want[q], compute_quota_names[q], in_use[q]);
                return 0;
            }
        }
    }
    for (int q = 0; q < Q_COUNT; q++) {
        if (have[q]) {
            int rc = compute_quota_db_set(tenant, compute_quota_names[q], want[q]);
            if (rc < 0)
                return rc;
        }
    }
    return quota_reply(req, resp, false, false, false);
}

/* ---- os-quota-class-sets ---- */

static int
quota_class_reply(ms_request *req, ms_response *resp, const char *cls)
{
    long long limits[Q_COUNT];
    for (int q = 0; q < Q_COUNT; q++)
        limits[q] = compute_quota_default((compute_quota_res)q);
    int rc = compute_quota_class_db_get(cls, limits);
    if (rc < 0)
        return rc;
    json_t *qs = json_object();
    /* Nova's update answer carries no id. */
    if (req->method & (MS_GET | MS_HEAD))
        json_object_set_new(qs, "id", json_string(cls));
    for (int q = 0; q < Q_COUNT; q++) {
        if (quota_class_shown(req, q))
            json_object_set_new(qs, compute_quota_names[q], json_integer(limits[q]));
    }
    ms_resp_json(resp, 200, json_pack("{s:o}", "quota_class_set", qs));
    return 0;
}

int
compute_quota_class_show(ms_request *req, ms_response *resp)
{
    return quota_class_reply(req, resp, ms_req_param(req, "id"));
}

int
compute_quota_class_update(ms_request *req, ms_response *resp)
{
    const char *cls = ms_req_param(req, "id");
    if (strlen(cls) > 255) {
        ms_resp_error(resp, 400, "quota_class_name has a maximum length of 255.");
        return 0;
    }
    long long want[Q_COUNT];
    bool have[Q_COUNT] = {0}, force = false;
    /* Before 2.50 the body may name the server group resources, though
     * the answer does not show them. */
    if (!quota_body(req, resp, "quota_class_set",
                    COMPUTE_MV_GE(req, 2, 50) ? quota_class_shown : quota_all, false, want,
                    have, &force))
        return 0;
    for (int q = 0; q < Q_COUNT; q++) {
        if (have[q]) {
            int rc = compute_quota_class_db_set(cls, compute_quota_names[q], want[q]);
            if (rc < 0)
                return rc;
        }
    }
    return quota_class_reply(req, resp, cls);
}

int
compute_quota_delete(ms_request *req, ms_response *resp)
{
    int rc = compute_quota_db_delete(ms_req_param(req, "tenant_id"));
    if (rc < 0)
        return rc;
    ms_resp_empty(resp, 202);
    return 0;
}

int
compute_limits(ms_request *req, ms_response *resp)
{
    static const char *const args[] = {"tenant_id", NULL};
    if (!compute_query_strict(req, resp, args))
        return 0;
    const char *project = req->auth.project_id;
    const char *t = ms_req_query(req, "tenant_id");
    if (t && req->auth.is_admin)
        project = t;
    long long limits[Q_COUNT], in_use[Q_COUNT];
    int rc = compute_quota_limits(project, limits);
    if (rc == 0)
        rc = quota_usage(project, NULL, in_use);
    if (rc < 0)
        return rc;
    json_t *abs = json_object();
    static const struct {
        compute_quota_res q;
        const char *name;
    } lim[] = {
        {Q_RAM, "maxTotalRAMSize"}, {Q_INSTANCES, "maxTotalInstances"},
        {Q_CORES, "maxTotalCores"}, {Q_KEY_PAIRS, "maxTotalKeypairs"},
        {Q_FLOATING_IPS, "maxTotalFloatingIps"}, {Q_METADATA_ITEMS, "maxServerMeta"},
        {Q_METADATA_ITEMS, "maxImageMeta"}, {Q_INJECTED_FILES, "maxPersonality"},
        {Q_INJECTED_FILE_CONTENT_BYTES, "maxPersonalitySize"},
        {Q_SECURITY_GROUPS, "maxSecurityGroups"},
        {Q_SECURITY_GROUP_RULES, "maxSecurityGroupRules"},
        {Q_SERVER_GROUPS, "maxServerGroups"},
        {Q_SERVER_GROUP_MEMBERS, "maxServerGroupMembers"},
    };
    /* 2.36 drops the network limits, 2.39 maxImageMeta, 2.57 personality. */
    bool v236 = COMPUTE_MV_GE(req, 2, 36);
    for (size_t i = 0; i < MS_ARRAY_LEN(lim); i++) {
        compute_quota_res q = lim[i].q;
        if ((v236 && quota_is_network(q)) ||
            (COMPUTE_MV_GE(req, 2, 57) && quota_is_injected(q)) ||
            (COMPUTE_MV_GE(req, 2, 39) && !strcmp(lim[i].name, "maxImageMeta")))
            continue;
        json_object_set_new(abs, lim[i].name, json_integer(limits[q]));
    }
    static const struct {
        const char *name;
        compute_quota_res q;
    } used[] = {
        {"totalRAMUsed", Q_RAM}, {"totalCoresUsed", Q_CORES},
        {"totalInstancesUsed", Q_INSTANCES}, {"totalFloatingIpsUsed", Q_FLOATING_IPS},
        {"totalSecurityGroupsUsed", Q_SECURITY_GROUPS},
        {"totalServerGroupsUsed", Q_SERVER_GROUPS},
    };
    for (size_t i = 0; i < MS_ARRAY_LEN(used); i++) {
        if (!(v236 && quota_is_network(used[i].q)))
            json_object_set_new(abs, used[i].name, json_integer(in_use[used[i].q]));
    }
    ms_resp_json(resp, 200,
                 json_pack("{s:{s:[],s:o}}", "limits", "rate", "absolute", abs));
    return 0;
}
