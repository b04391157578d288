/* os-quota-sets and limits (microversion 2.1: every classic resource is
 * shown). Limits default to the [compute] quota_* options; a project's rows
 * override them. Server creation checks instances/cores/ram under a
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

int
compute_quota_defaults_get(long long limits[Q_COUNT])
{
    for (int q = 0; q < Q_COUNT; q++)
        limits[q] = compute_quota_default((compute_quota_res)q);
    return compute_quota_db_class_get("default", limits);
}

int
compute_quota_limits(const char *project, long long limits[Q_COUNT])
{
    bool set[Q_COUNT] = {0};
    int rc = compute_quota_defaults_get(limits);
    if (rc < 0)
        return rc;
    return compute_quota_db_get(project ? project : "", limits, set);
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
    if (defaults) {
        rc = compute_quota_defaults_get(limits);
    } else {
        rc = compute_quota_limits(tenant, limits);
    }
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
    if (!quota_target_ok(req, resp, "show"))
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
    if (!quota_target_ok(req, resp, "detail"))
        return 0;
    return quota_reply(req, resp, true, false, true);
}

bool
compute_quota_value(ms_response *resp, const char *key, const json_t *v, long long *out)
{
    long long x = 0;
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
        compute_bad_field(resp, key, v, "is not of type 'integer', 'string'");
        return false;
    }
    if (x < -1) {
        char why[64];
        snprintf(why, sizeof(why), "%lld is less than the minimum of -1", x);
        compute_bad_field(resp, key, v, why);
        return false;
    }
    if (x > 2147483647LL) {
        compute_bad_field(resp, key, v, "is greater than the maximum of 2147483647");
        return false;
    }
    *out = x;
    return true;
}

int
compute_quota_update(ms_request *req, ms_response *resp)
{
    const char *tenant = ms_req_param(req, "tenant_id");
    json_t *body = ms_req_json(req, resp);
    if (!body)
        return 0;
    json_t *qs = json_object_get(body, "quota_set");
    if (!json_is_object(qs)) {
        if (!qs)
            ms_resp_error(resp, 400, "Invalid input for field/attribute quota_set. Value: {}. "
                                     "'quota_set' is a required property");
        else
            compute_bad_field(resp, "quota_set", qs, "is not of type 'object'");
        return 0;
    }
    if (json_object_get(qs, "networks")) {
        ms_resp_error(resp, 400, "The networks quota has been removed");
        return 0;
    }
    bool force = false;
    json_t *fv = json_object_get(qs, "force");
    if (fv) {
        int b = compute_json_bool(fv);
        if (b < 0) {
            compute_bad_field(resp, "force", fv, "is not one of the boolean values");
            return 0;
        }
        force = b;
    }
    long long want[Q_COUNT];
    bool have[Q_COUNT] = {0};
    const char *k;
    json_t *v;
    json_object_foreach(qs, k, v) {
        if (!strcmp(k, "force"))
            continue;
        int q = -1;
        for (int i = 0; i < Q_COUNT; i++) {
            if (!strcmp(compute_quota_names[i], k))
                q = i;
        }
        if (q < 0) {
            char *repr = compute_json_repr(qs);
            ms_resp_error(resp, 400,
                          "Invalid input for field/attribute quota_set. Value: %s. "
                          "Additional properties are not allowed ('%s' was unexpected)",
                          repr, k);
            free(repr);
            return 0;
        }
        long long x;
        if (!compute_quota_value(resp, k, v, &x))
            return 0;
        want[q] = x;
        have[q] = true;
    }
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
    for (size_t i = 0; i < MS_ARRAY_LEN(lim); i++)
        json_object_set_new(abs, lim[i].name, json_integer(limits[lim[i].q]));
    static const struct {
        const char *name;
        compute_quota_res q;
    } used[] = {
        {"totalRAMUsed", Q_RAM}, {"totalCoresUsed", Q_CORES},
        {"totalInstancesUsed", Q_INSTANCES}, {"totalFloatingIpsUsed", Q_FLOATING_IPS},
        {"totalSecurityGroupsUsed", Q_SECURITY_GROUPS},
        {"totalServerGroupsUsed", Q_SERVER_GROUPS},
    };
    for (size_t i = 0; i < MS_ARRAY_LEN(used); i++)
        json_object_set_new(abs, used[i].name, json_integer(in_use[used[i].q]));
    ms_resp_json(resp, 200,
                 json_pack("{s:{s:[],s:o}}", "limits", "rate", "absolute", abs));
    return 0;
}
