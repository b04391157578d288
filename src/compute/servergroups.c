/* os-server-groups: create (Nova's 2.1 body, "policies": [one policy];
 * from 2.64 "policy" and "rules" with anti-affinity's max_server_per_host),
 * list (all_projects for admins, limit/offset), show and delete. Servers
 * join a group through the "group" scheduler hint (servers.c); the
 * scheduler (manager.c) applies the group's policy. A group of another
 * project is not found, as Nova's project-filtered query makes it. */
#include "compute.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The policies each microversion accepts; the soft ones came with 2.15. */
static const struct {
    const char *name;
    int min_mv;
} policies[] = {
    {"anti-affinity", MS_MV(2, 1)},
    {"affinity", MS_MV(2, 1)},
    {"soft-anti-affinity", MS_MV(2, 15)},
    {"soft-affinity", MS_MV(2, 15)},
};

/* Before 2.64 a group shows "policies": [one] and an empty "metadata";
 * from 2.64 "policy" and "rules". 2.13 adds the owner. */
static json_t *
group_json(ms_request *req, const compute_server_group *g)
{
    json_t *o = json_pack("{s:s,s:s,s:O}", "id", g->uuid, "name", g->name, "members",
                          g->members);
    if (COMPUTE_MV_GE(req, 2, 64)) {
        json_object_set_new(o, "policy", json_string(g->policy));
        json_t *rules = json_object();
        if (g->max_server_per_host > 0)
            json_object_set_new(rules, "max_server_per_host",
                                json_integer(g->max_server_per_host));
        json_object_set_new(o, "rules", rules);
    } else {
        json_object_set_new(o, "policies", json_pack("[s]", g->policy));
        json_object_set_new(o, "metadata", json_object());
    }
    if (COMPUTE_MV_GE(req, 2, 13)) {
        json_object_set_new(o, "project_id", json_string(g->project_id));
        json_object_set_new(o, "user_id", json_string(g->user_id));
    }
    return o;
}

/* The group the caller may see: admins see all, others their project's. */
static int
group_lookup(ms_request *req, ms_response *resp, compute_server_group *out)
{
    const char *id = ms_req_param(req, "group_id");
    int rc = compute_server_group_db_get(id, req->auth.is_admin ? NULL : req->auth.project_id,
                                         out);
    if (rc == -ENOENT)
        ms_resp_error(resp, 404, "Instance group %s could not be found.", id);
    return rc;
}

/* A non-negative integer query parameter as Nova's common.limited reads it. */
static bool
query_count(ms_request *req, ms_response *resp, const char *key, long long *out)
{
    const char *s = ms_req_query(req, key);
    if (!s)
        return true;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end) {
        ms_resp_error(resp, 400, "%s param must be an integer", key);
        return false;
    }
    if (v < 0) {
        ms_resp_error(resp, 400, "%s param must be positive", key);
        return false;
    }
    *out = v;
    return true;
}

int
compute_server_group_list(ms_request *req, ms_response *resp)
{
    static const char *const args[] = {"all_projects", "limit", "offset", NULL};
    if (!compute_query_strict(req, resp, args))
        return 0;
    long long offset = 0, limit = COMPUTE_MAX_LIMIT;
    if (!query_count(req, resp, "offset", &offset) || !query_count(req, resp, "limit", &limit))
        return 0;
    if (limit > COMPUTE_MAX_LIMIT)
        limit = COMPUTE_MAX_LIMIT;
    /* A non-admin asking for all projects gets their own, as in Nova. */
    const char *project = req->auth.project_id;
    if (ms_req_query(req, "all_projects") && req->auth.is_admin)
        project = NULL;
    compute_server_group *list = NULL;
    size_t n = 0;
    int rc = compute_server_group_db_list(project, offset, limit, &list, &n);
    json_t *arr = json_array();
    for (size_t k = 0; k < n; k++) {
        if (rc == 0)
            json_array_append_new(arr, group_json(req, &list[k]));
        compute_server_group_clear(&list[k]);
    }
    free(list);
    if (rc < 0) {
        json_decref(arr);
        return rc;
    }
    ms_resp_json(resp, 200, json_pack("{s:o}", "server_groups", arr));
    return 0;
}

static bool
valid_policies(ms_request *req, ms_response *resp, json_t *pol, const char **out)
{
    if (!json_is_array(pol)) {
        compute_bad_field(resp, "policies", pol, "is not of type 'array'");
        return false;
    }
    if (json_array_size(pol) < 1) {
        compute_bad_field(resp, "policies", pol, "[] is too short");
        return false;
    }
    if (json_array_size(pol) > 1) {
        compute_bad_field(resp, "policies", pol,
                          json_equal(json_array_get(pol, 0), json_array_get(pol, 1))
                              ? "has non-unique elements"
                              : "is too long");
        return false;
    }
    json_t *p = json_array_get(pol, 0);
    const char *s = json_is_string(p) ? json_string_value(p) : NULL;
    char allowed[128] = "";
    for (size_t k = 0; k < MS_ARRAY_LEN(policies); k++) {
        if (req->mv && req->mv < policies[k].min_mv)
            continue;
        if (s && !strcmp(s, policies[k].name)) {
            *out = policies[k].name;
            return true;
        }
        snprintf(allowed + strlen(allowed), sizeof(allowed) - strlen(allowed), "%s'%s'",
                 allowed[0] ? ", " : "", policies[k].name);
    }
    char *repr = compute_json_repr(p);
    char *reason = s ? ms_asprintf("%s is not one of [%s]", repr, allowed)
                     : ms_asprintf("%s is not of type 'string'", repr);
    compute_bad_field(resp, "policies", p, reason);
    free(repr);
    free(reason);
    return false;
}

/* The 2.64 "policy": one string of the four policies. */
static bool
valid_policy(ms_response *resp, json_t *pol, const char **out)
{
    const char *s = json_is_string(pol) ? json_string_value(pol) : NULL;
    for (size_t k = 0; s && k < MS_ARRAY_LEN(policies); k++) {
        if (!strcmp(s, policies[k].name)) {
            *out = policies[k].name;
            return true;
        }
    }
    char *repr = compute_json_repr(pol);
    char *reason = s ? ms_asprintf("%s is not one of ['anti-affinity', 'affinity', "
                                   "'soft-anti-affinity', 'soft-affinity']",
                                   repr)
                     : ms_asprintf("%s is not of type 'string'", repr);
    compute_bad_field(resp, "policy", pol, reason);
    free(repr);
    free(reason);
    return false;
}

/* The 2.64 "rules": an object with at most a positive max_server_per_host. */
static bool
valid_rules(ms_response *resp, json_t *rules, long long *max_per_host)
{
    *max_per_host = 0;
    if (!rules)
        return true;
    if (!json_is_object(rules)) {
        compute_bad_field(resp, "rules", rules, "is not of type 'object'");
        return false;
    }
    const char *k;
    json_t *v;
    json_object_foreach(rules, k, v) {
        if (strcmp(k, "max_server_per_host") != 0) {
            ms_resp_error(resp, 400,
                          "Invalid input for field/attribute rules. Value: {...}. Additional "
                          "properties are not allowed ('%s' was unexpected)",
                          k);
            return false;
        }
    }
    json_t *m = json_object_get(rules, "max_server_per_host");
    if (!m)
        return true;
    long long x;
    if (!compute_json_intlike(m, &x)) {
        compute_bad_field(resp, "max_server_per_host", m,
                          json_is_string(m) ? "does not match '^[0-9]*$'"
                                            : "is not of type 'integer', 'string'");
        return false;
    }
    if (x < 1 || x > 2147483647LL) {
        char why[96];
        snprintf(why, sizeof(why),
                 x < 1 ? "%lld is less than the minimum of 1"
                       : "%lld is greater than the maximum of 2147483647",
                 x);
        compute_bad_field(resp, "max_server_per_host", m, why);
        return false;
    }
    *max_per_host = x;
    return true;
}

int
compute_server_group_create(ms_request *req, ms_response *resp)
{
    json_t *body = ms_req_json(req, resp);
    if (!body)
        return 0;
    json_t *sg = json_object_get(body, "server_group");
    if (!sg || json_object_size(body) != 1) {
        ms_resp_error(resp, 400, sg ? "Invalid input for field/attribute server_group. "
                                      "Value: {...}. Additional properties are not allowed"
                                    : "Invalid input for field/attribute server_group. "
                                      "Value: {}. 'server_group' is a required property");
        return 0;
    }
    if (!json_is_object(sg)) {
        compute_bad_field(resp, "server_group", sg, "is not of type 'object'");
        return 0;
    }
    /* 2.64 replaced "policies" with "policy" and optional "rules". */
    bool v264 = COMPUTE_MV_GE(req, 2, 64);
    const char *k;
    json_t *v;
    json_object_foreach(sg, k, v) {
        bool known = !strcmp(k, "name") ||
                     (v264 ? !strcmp(k, "policy") || !strcmp(k, "rules")
                           : !strcmp(k, "policies"));
        if (!known) {
            ms_resp_error(resp, 400,
                          "Invalid input for field/attribute server_group. Value: {...}. "
                          "Additional properties are not allowed ('%s' was unexpected)",
                          k);
            return 0;
        }
    }
    const char *polkey = v264 ? "policy" : "policies";
    json_t *name = json_object_get(sg, "name");
    json_t *pol = json_object_get(sg, polkey);
    if (!name || !pol) {
        ms_resp_error(resp, 400,
                      "Invalid input for field/attribute server_group. Value: {...}. '%s' is "
                      "a required property",
                      !name ? "name" : polkey);
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
    const char *policy = NULL;
    long long max_per_host = 0;
    if (v264) {
        if (!valid_policy(resp, pol, &policy) || !valid_rules(resp, json_object_get(sg, "rules"),
                                                              &max_per_host))
            return 0;
        if (max_per_host && strcmp(policy, "anti-affinity") != 0) {
            ms_resp_error(resp, 400, "Only anti-affinity policy supports rules.");
            return 0;
        }
    } else if (!valid_policies(req, resp, pol, &policy)) {
        return 0;
    }
    long long limits[Q_COUNT];
    int rc = compute_quota_limits(req->auth.project_id, limits);
    if (rc < 0)
        return rc;
    compute_server_group g = {0};
    ms_uuid(g.uuid);
    snprintf(g.name, sizeof(g.name), "%s", json_string_value(name));
    snprintf(g.project_id, sizeof(g.project_id), "%s", req->auth.project_id);
    snprintf(g.user_id, sizeof(g.user_id), "%s", req->auth.user_id);
    snprintf(g.policy, sizeof(g.policy), "%s", policy);
    g.max_server_per_host = (int)max_per_host;
    rc = compute_server_group_db_create(&g, limits[Q_SERVER_GROUPS]);
    if (rc == -EDQUOT) {
        ms_resp_error(resp, 403, "Quota exceeded, too many server groups.");
        rc = 0;
    } else if (rc == 0) {
        ms_resp_json(resp, 200, json_pack("{s:o}", "server_group", group_json(req, &g)));
    }
    compute_server_group_clear(&g);
    return rc;
}

int
compute_server_group_show(ms_request *req, ms_response *resp)
{
    compute_server_group g;
    int rc = group_lookup(req, resp, &g);
    if (rc < 0)
        return rc == -ENOENT ? 0 : rc;
    ms_resp_json(resp, 200, json_pack("{s:o}", "server_group", group_json(req, &g)));
    compute_server_group_clear(&g);
    return 0;
}

int
compute_server_group_delete(ms_request *req, ms_response *resp)
{
    compute_server_group g;
    int rc = group_lookup(req, resp, &g);
    if (rc < 0)
        return rc == -ENOENT ? 0 : rc;
    rc = compute_server_group_db_delete(g.uuid);
    if (rc == 0)
        ms_resp_empty(resp, 204);
    compute_server_group_clear(&g);
    return rc;
}
