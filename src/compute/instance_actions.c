/* os-instance-actions: the actions recorded on a server and their events,
 * with the paging (2.58), changes-since/before (2.58, 2.66), event host
 * (2.62) and details (2.84) of later microversions. */
#include "compute.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* The server whose actions are asked for: deleted ones too from 2.21. */
static int
actions_instance(ms_request *req, ms_response *resp, compute_instance *i)
{
    const char *id = ms_req_param(req, "server_id");
    int rc = compute_instance_db_get(id, req->mv >= MS_MV(2, 21), i);
    if (rc == 0 && !req->auth.is_admin && strcmp(i->project_id, req->auth.project_id)) {
        compute_instance_clear(i);
        rc = -ENOENT;
    }
    if (rc == -ENOENT)
        ms_resp_error(resp, 404, "Instance %s could not be found.", id);
    return rc;
}

typedef struct {
    ms_response *resp;
    int mv;
    bool bad;
} actions_check;

static bool
check_actions_param(void *cls, const char *key, const char *value)
{
    actions_check *c = cls;
    (void)value;
    if (!strcmp(key, "limit") || !strcmp(key, "marker") || !strcmp(key, "changes-since") ||
        (!strcmp(key, "changes-before") && c->mv >= MS_MV(2, 66)))
        return true;
    ms_resp_error(c->resp, 400,
                  "Invalid input for query parameters %s. Value: %s. Additional properties "
                  "are not allowed ('%s' was unexpected)",
                  key, value, key);
    c->bad = true;
    return false;
}

int
compute_server_actions_list(ms_request *req, ms_response *resp)
{
    compute_instance i;
    int rc = actions_instance(req, resp, &i);
    if (rc < 0)
        return rc == -ENOENT ? 0 : rc;
    char uuid[37];
    snprintf(uuid, sizeof(uuid), "%s", i.uuid);
    compute_instance_clear(&i);
    compute_action_query q = {.updated_at = req->mv >= MS_MV(2, 58)};
    int limit = 0;
    if (req->mv >= MS_MV(2, 58)) {
        /* 2.58: paging and changes-since; 2.66 changes-before. */
        actions_check chk = {.resp = resp, .mv = req->mv};
        ms_req_query_each(req, check_actions_param, &chk);
        if (chk.bad)
            return 0;
        if (compute_limit_marker(req, resp, &limit, &q.marker) < 0)
            return 0;
        q.limit = limit;
        static const char *const names[] = {"changes-since", "changes-before"};
        int64_t *dst[] = {&q.changes_since, &q.changes_before};
        for (int k = 0; k < 2; k++) {
            const char *t = ms_req_query(req, names[k]);
            if (!t)
                continue;
            *dst[k] = ms_time_parse(t);
            if (*dst[k] < 0) {
                ms_resp_error(resp, 400,
                              "Invalid input for query parameters %s. Value: %s. '%s' is "
                              "not a 'date-time'",
                              names[k], t, t);
                return 0;
            }
        }
        if (q.changes_since && q.changes_before && q.changes_before < q.changes_since) {
            ms_resp_error(resp, 400, "The value of changes-since must be less than or equal "
                                     "to changes-before.");
            return 0;
        }
    }
    json_t *arr;
    rc = compute_action_db_list(uuid, &q, &arr);
    if (rc == -ENOENT) {
        ms_resp_error(resp, 400, "Marker %s could not be found.", q.marker);
        return 0;
    }
    if (rc < 0)
        return rc;
    json_t *body = json_pack("{s:o}", "instanceActions", arr);
    size_t n = json_array_size(arr);
    if (q.limit > 0 && n == (size_t)q.limit) {
        char *coll = ms_asprintf("servers/%s/os-instance-actions", uuid);
        json_object_set_new(body, "links",
                            compute_next_link(req, coll,
                                              ms_json_strval(json_array_get(arr, n - 1),
                                                             "request_id")));
        free(coll);
    }
    ms_resp_json(resp, 200, body);
    return 0;
}

int
compute_server_action_show(ms_request *req, ms_response *resp)
{
    const char *rid = ms_req_param(req, "request_id");
    compute_instance i;
    int rc = actions_instance(req, resp, &i);
    if (rc < 0)
        return rc == -ENOENT ? 0 : rc;
    json_t *a = NULL;
    long long aid = 0;
    rc = compute_action_db_get(i.uuid, rid, req->mv >= MS_MV(2, 58), &a, &aid);
    if (rc == -ENOENT) {
        ms_resp_error(resp, 404, "Action %s not found", rid);
        rc = 0;
        goto out;
    }
    if (rc < 0)
        goto out;
    /* Events: admins always (with traceback, and host from 2.62), others
     * from 2.51; hostId for everyone from 2.62. */
    bool admin = req->auth.is_admin;
    if (admin || req->mv >= MS_MV(2, 51)) {
        json_t *events;
        if ((rc = compute_action_db_events(aid, &events)) < 0) {
            json_decref(a);
            goto out;
        }
        size_t k;
        json_t *e;
        json_array_foreach(events, k, e) {
            const char *host = ms_json_strval(e, "host");
            if (req->mv >= MS_MV(2, 62)) {
                char hid[57];
                compute_host_id(ms_json_strval(a, "project_id"), host, hid);
                json_object_set_new(e, "hostId", json_string(hid));
            }
            if (!admin)
                json_object_del(e, "traceback");
            /* 2.84: the failure's message, for admins (Nova's default
             * os-instance-actions:events:details rule). */
            if (!admin || req->mv < MS_MV(2, 84))
                json_object_del(e, "details");
            if (!admin || req->mv < MS_MV(2, 62))
                json_object_del(e, "host");
            else if (!host)
                json_object_set_new(e, "host", json_null());
        }
        json_object_set_new(a, "events", events);
    }
    ms_resp_json(resp, 200, json_pack("{s:o}", "instanceAction", a));
out:
    compute_instance_clear(&i);
    return rc;
}

