/* Server metadata (/servers/{id}/metadata): list, replace, update, show,
 * set and delete one key, within the metadata_items quota. */
#include "compute.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

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
    if (rc == 0 && compute_check_metadata(resp, meta, -1)) {
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
    if (!compute_check_metadata(resp, m, -1))
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

