/* os-quota-class-sets (admin only). Only the "default" class acts: it
 * overrides the configured default limits of every project. Another
 * class's values are kept and shown, as Nova does, but nothing uses them.
 * At 2.1 the answers leave out server_groups and server_group_members. */
#include "compute.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool
class_shown(int q)
{
    return q != Q_SERVER_GROUPS && q != Q_SERVER_GROUP_MEMBERS;
}

static int
class_reply(ms_response *resp, const char *quota_class, bool with_id)
{
    long long limits[Q_COUNT];
    int rc = compute_quota_defaults_get(limits);
    if (rc == 0 && strcmp(quota_class, "default"))
        rc = compute_quota_db_class_get(quota_class, limits);
    if (rc < 0)
        return rc;
    json_t *qs = json_object();
    if (with_id)
        json_object_set_new(qs, "id", json_string(quota_class));
    for (int q = 0; q < Q_COUNT; q++) {
        if (class_shown(q))
            json_object_set_new(qs, compute_quota_names[q], json_integer(limits[q]));
    }
    ms_resp_json(resp, 200, json_pack("{s:o}", "quota_class_set", qs));
    return 0;
}

int
compute_quota_class_show(ms_request *req, ms_response *resp)
{
    return class_reply(resp, ms_req_param(req, "quota_class"), true);
}

int
compute_quota_class_update(ms_request *req, ms_response *resp)
{
    const char *quota_class = ms_req_param(req, "quota_class");
    json_t *body = ms_req_json(req, resp);
    if (!body)
        return 0;
    json_t *qs = json_object_get(body, "quota_class_set");
    if (!json_is_object(qs)) {
        if (!qs)
            ms_resp_error(resp, 400, "Invalid input for field/attribute quota_class_set. "
                                     "Value: {}. 'quota_class_set' is a required property");
        else
            compute_bad_field(resp, "quota_class_set", qs, "is not of type 'object'");
        return 0;
    }
    if (strlen(quota_class) > 255) {
        ms_resp_error(resp, 400, "quota_class_name has a maximum length of 255.");
        return 0;
    }
    long long want[Q_COUNT];
    bool have[Q_COUNT] = {0};
    const char *k;
    json_t *v;
    json_object_foreach(qs, k, v) {
        int q = -1;
        for (int i = 0; i < Q_COUNT; i++) {
            if (!strcmp(compute_quota_names[i], k))
                q = i;
        }
        /* "networks" is in Nova's 2.1 schema but counts nothing. */
        if (q < 0 && strcmp(k, "networks")) {
            char *repr = compute_json_repr(qs);
            ms_resp_error(resp, 400,
                          "Invalid input for field/attribute quota_class_set. Value: %s. "
                          "Additional properties are not allowed ('%s' was unexpected)",
                          repr, k);
            free(repr);
            return 0;
        }
        long long x;
        if (!compute_quota_value(resp, k, v, &x))
            return 0;
        if (q >= 0) {
            want[q] = x;
            have[q] = true;
        }
    }
    for (int q = 0; q < Q_COUNT; q++) {
        if (have[q]) {
            int rc = compute_quota_db_class_set(quota_class, compute_quota_names[q], want[q]);
            if (rc < 0)
                return rc;
        }
    }
    return class_reply(resp, quota_class, false);
}
