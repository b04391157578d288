/* os-aggregates (admin): create, list, show, update, delete, and the
 * add_host, remove_host and set_metadata actions, as Nova 2.1 answers them
 * (integer ids, uuid shown from 2.41; create answers without hosts and
 * metadata; delete answers 200). Hosts must be compute services. */
#include "compute.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <monostack/image.h>

/* 2.41 shows the aggregate's uuid. */
static json_t *
agg_json(ms_request *req, const compute_aggregate *a, bool full)
{
    char c[32], u[32];
    compute_time_iso_frac(a->created_at, c);
    json_t *o = json_pack("{s:I,s:s,s:s,s:n,s:b}", "id", (json_int_t)a->id, "name", a->name,
                          "created_at", c, "deleted_at", "deleted", 0);
    ms_json_set_str(o, "availability_zone", a->has_az ? a->availability_zone : NULL);
    if (a->updated_at) {
        compute_time_iso_frac(a->updated_at, u);
        json_object_set_new(o, "updated_at", json_string(u));
    } else {
        json_object_set_new(o, "updated_at", json_null());
    }
    if (COMPUTE_MV_GE(req, 2, 41))
        json_object_set_new(o, "uuid", json_string(a->uuid));
    if (full) {
        json_object_set(o, "hosts", a->hosts);
        json_object_set(o, "metadata", a->metadata);
    }
    return o;
}

static int
reply(ms_request *req, ms_response *resp, long long id, bool full)
{
    compute_aggregate a;
    int rc = compute_aggregate_db_get(id, &a);
    if (rc < 0)
        return rc;
    ms_resp_json(resp, 200, json_pack("{s:o}", "aggregate", agg_json(req, &a, full)));
    compute_aggregate_clear(&a);
    return 0;
}

/* The {id} path segment: an integer (400 otherwise) of a live aggregate
 * (404 otherwise). */
static int
agg_id(ms_request *req, ms_response *resp, long long *id)
{
    const char *s = ms_req_param(req, "aggregate_id");
    char *end;
    *id = strtoll(s, &end, 10);
    if (!*s || *end) {
        ms_resp_error(resp, 400, "id must be an integer");
        return -EINVAL;
    }
    compute_aggregate a;
    int rc = compute_aggregate_db_get(*id, &a);
    if (rc == -ENOENT)
        ms_resp_error(resp, 404, "Aggregate %s could not be found.", s);
    if (rc == 0)
        compute_aggregate_clear(&a);
    return rc;
}

static bool
only(ms_response *resp, const char *field, json_t *obj, const char *a, const char *b)
{
    if (!json_is_object(obj)) {
        compute_bad_field(resp, field, obj, "is not of type 'object'");
        return false;
    }
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v) {
        if (strcmp(k, a) && (!b || strcmp(k, b))) {
            ms_resp_error(resp, 400,
                          "Invalid input for field/attribute %s. Value: {...}. Additional "
                          "properties are not allowed ('%s' was unexpected)",
                          field, k);
            return false;
        }
    }
    return true;
}

static bool
valid_name(ms_response *resp, const char *field, json_t *v, bool null_ok)
{
    if (null_ok && json_is_null(v))
        return true;
    if (!json_is_string(v) || json_string_length(v) < 1 || json_string_length(v) > 255 ||
        !compute_valid_name(json_string_value(v))) {
        compute_bad_field(resp, field, v,
                          !json_is_string(v)
                              ? "is not of type 'string'"
                              : "An invalid 'name' value was provided. The name must be: "
                                "printable characters. Can not start or end with whitespace.");
        return false;
    }
    return true;
}

int
compute_aggregate_list(ms_request *req, ms_response *resp)
{
    compute_aggregate *list = NULL;
    size_t n = 0;
    int rc = compute_aggregate_db_list(&list, &n);
    json_t *arr = json_array();
    for (size_t k = 0; k < n; k++) {
        json_array_append_new(arr, agg_json(req, &list[k], true));
        compute_aggregate_clear(&list[k]);
    }
    free(list);
    if (rc < 0) {
        json_decref(arr);
        return rc;
    }
    ms_resp_json(resp, 200, json_pack("{s:o}", "aggregates", arr));
    return 0;
}

int
compute_aggregate_create(ms_request *req, ms_response *resp)
{
    json_t *body = ms_req_json(req, resp);
    if (!body)
        return 0;
    json_t *agg = json_object_get(body, "aggregate");
    if (!agg) {
        ms_resp_error(resp, 400, "Invalid input for field/attribute aggregate. Value: {}. "
                                 "'aggregate' is a required property");
        return 0;
    }
    if (!only(resp, "aggregate", agg, "name", "availability_zone"))
        return 0;
    json_t *name = json_object_get(agg, "name");
    if (!name) {
        ms_resp_error(resp, 400, "Invalid input for field/attribute aggregate. Value: {...}. "
                                 "'name' is a required property");
        return 0;
    }
    json_t *az = json_object_get(agg, "availability_zone");
    if (!valid_name(resp, "name", name, false) ||
        (az && !valid_name(resp, "availability_zone", az, true)))
        return 0;
    long long id = 0;
    int rc = compute_aggregate_db_create(json_string_value(name),
                                         az ? json_string_value(az) : NULL, &id);
    if (rc == -EEXIST) {
        ms_resp_error(resp, 409, "Aggregate %s already exists.", json_string_value(name));
        return 0;
    }
    return rc < 0 ? rc : reply(req, resp, id, false);
}

int
compute_aggregate_show(ms_request *req, ms_response *resp)
{
    long long id;
    int rc = agg_id(req, resp, &id);
    if (rc < 0)
        return rc == -ENOENT || rc == -EINVAL ? 0 : rc;
    return reply(req, resp, id, true);
}

int
compute_aggregate_update(ms_request *req, ms_response *resp)
{
    json_t *body = ms_req_json(req, resp);
    if (!body)
        return 0;
    json_t *agg = json_object_get(body, "aggregate");
    if (!agg) {
        ms_resp_error(resp, 400, "Invalid input for field/attribute aggregate. Value: {}. "
                                 "'aggregate' is a required property");
        return 0;
    }
    if (!only(resp, "aggregate", agg, "name", "availability_zone"))
        return 0;
    json_t *name = json_object_get(agg, "name");
    json_t *az = json_object_get(agg, "availability_zone");
    if (!name && !az) {
        compute_bad_field(resp, "aggregate", agg, "{} is not valid under any of the given schemas");
        return 0;
    }
    if ((name && !valid_name(resp, "name", name, false)) ||
        (az && !valid_name(resp, "availability_zone", az, true)))
        return 0;
    long long id;
    int rc = agg_id(req, resp, &id);
    if (rc < 0)
        return rc == -ENOENT || rc == -EINVAL ? 0 : rc;
    rc = compute_aggregate_db_update(id, name ? json_string_value(name) : NULL, az != NULL,
                                     az ? json_string_value(az) : NULL);
    if (rc == -EEXIST) {
        ms_resp_error(resp, 409, "Aggregate %s already exists.", json_string_value(name));
        return 0;
    }
    return rc < 0 ? rc : reply(req, resp, id, true);
}

int
compute_aggregate_delete(ms_request *req, ms_response *resp)
{
    long long id;
    int rc = agg_id(req, resp, &id);
    if (rc < 0)
        return rc == -ENOENT || rc == -EINVAL ? 0 : rc;
    compute_aggregate a;
    if ((rc = compute_aggregate_db_get(id, &a)) < 0)
        return rc;
    bool busy = json_array_size(a.hosts) > 0;
    compute_aggregate_clear(&a);
    if (busy) {
        ms_resp_error(resp, 400, "Cannot perform action 'delete' on aggregate %lld. Reason: "
                                 "Host aggregate is not empty.",
                      id);
        return 0;
    }
    rc = compute_aggregate_db_delete(id);
    if (rc == 0)
        ms_resp_empty(resp, 200);
    return rc;
}

static bool
is_compute_host(const char *host, int *rc)
{
    compute_service_row *svcs = NULL;
    size_t n = 0;
    bool found = false;
    *rc = compute_service_db_list(&svcs, &n);
    for (size_t k = 0; *rc == 0 && k < n; k++) {
        if (!strcmp(svcs[k].host, host) && !strcmp(svcs[k].binary, "nova-compute"))
            found = true;
        free(svcs[k].disabled_reason);
    }
    free(svcs);
    return found;
}

static int
host_action(ms_request *req, ms_response *resp, long long id, const char *name, json_t *arg)
{
    bool add = !strcmp(name, "add_host");
    if (!only(resp, name, arg, "host", NULL))
        return 0;
    json_t *h = json_object_get(arg, "host");
    if (!h) {
        ms_resp_error(resp, 400, "Invalid input for field/attribute %s. Value: {}. 'host' is "
                                 "a required property",
                      name);
        return 0;
    }
    if (!json_is_string(h) || json_string_length(h) < 1 || json_string_length(h) > 255) {
        compute_bad_field(resp, "host", h, "is not of type 'string'");
        return 0;
    }
    const char *host = json_string_value(h);
    const char *ids = ms_req_param(req, "aggregate_id");
    int rc = 0;
    if (add && !is_compute_host(host, &rc)) {
        if (rc == 0)
            ms_resp_error(resp, 404, "Compute host %s could not be found.", host);
        return rc;
    }
    bool changed = false;
    if ((rc = compute_aggregate_db_host(id, host, add, &changed)) < 0)
        return rc;
    if (!changed) {
        if (add)
            ms_resp_error(resp, 409, "Aggregate %s already has host %s.", ids, host);
        else
            ms_resp_error(resp, 404, "Cannot remove host %s in aggregate %s", host, ids);
        return 0;
    }
    return reply(req, resp, id, true);
}

static int
set_metadata(ms_request *req, ms_response *resp, long long id, json_t *arg)
{
    if (!only(resp, "set_metadata", arg, "metadata", NULL))
        return 0;
    json_t *meta = json_object_get(arg, "metadata");
    if (!meta) {
        ms_resp_error(resp, 400, "Invalid input for field/attribute set_metadata. Value: {}. "
                                 "'metadata' is a required property");
        return 0;
    }
    if (!json_is_object(meta)) {
        compute_bad_field(resp, "metadata", meta, "is not of type 'object'");
        return 0;
    }
    const char *k;
    json_t *v;
    json_object_foreach(meta, k, v) {
        if (strlen(k) < 1 || strlen(k) > 255 ||
            strspn(k, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_:. ") !=
                strlen(k)) {
            ms_resp_error(resp, 400,
                          "Invalid input for field/attribute metadata. Value: {...}. '%s' "
                          "does not match any of the regexes: '^[a-zA-Z0-9-_:. ]{1,255}$'",
                          k);
            return 0;
        }
        if (!json_is_null(v) && (!json_is_string(v) || json_string_length(v) > 255)) {
            compute_bad_field(resp, k, v, json_is_string(v) ? "is too long"
                                                             : "is not of type 'string', 'null'");
            return 0;
        }
    }
    int rc = 0;
    json_object_foreach(meta, k, v) {
        const char *val = json_is_null(v) ? NULL : json_string_value(v);
        if (!strcmp(k, "availability_zone"))
            rc = compute_aggregate_db_update(id, NULL, true, val);
        else
            rc = compute_aggregate_db_meta_set(id, k, val);
        if (rc < 0)
            return rc;
    }
    return reply(req, resp, id, true);
}

int
compute_aggregate_action(ms_request *req, ms_response *resp)
{
    json_t *body = ms_req_json(req, resp);
    if (!body)
        return 0;
    if (json_object_size(body) != 1) {
        ms_resp_error(resp, 400, "Malformed request body");
        return 0;
    }
    void *it = json_object_iter(body);
    const char *name = json_object_iter_key(it);
    json_t *arg = json_object_iter_value(it);
    static const char *const known[] = {"add_host", "remove_host", "set_metadata"};
    bool ok = false;
    for (size_t k = 0; k < MS_ARRAY_LEN(known); k++)
        ok = ok || !strcmp(known[k], name);
    if (!ok) {
        ms_resp_error(resp, 400, "There is no such action: %s", name);
        return 0;
    }
    long long id;
    int rc = agg_id(req, resp, &id);
    if (rc < 0)
        return rc == -ENOENT || rc == -EINVAL ? 0 : rc;
    if (!strcmp(name, "set_metadata"))
        return set_metadata(req, resp, id, arg);
    return host_action(req, resp, id, name, arg);
}

/* POST /os-aggregates/{id}/images (2.81): ask every host of the aggregate
 * to copy the images into its image cache ahead of the first boot. The
 * work is a task per host; the answer does not wait for it. */
int
compute_aggregate_images(ms_request *req, ms_response *resp)
{
    json_t *body = ms_req_json(req, resp);
    if (!body)
        return 0;
    if (!only(resp, "images", body, "cache", NULL))
        return 0;
    json_t *cache = json_object_get(body, "cache");
    if (!cache) {
        ms_resp_error(resp, 400, "Invalid input for field/attribute images. Value: {}. "
                                 "'cache' is a required property");
        return 0;
    }
    if (!json_is_array(cache)) {
        compute_bad_field(resp, "cache", cache, "is not of type 'array'");
        return 0;
    }
    if (json_array_size(cache) == 0) {
        compute_bad_field(resp, "cache", cache, "[] is too short");
        return 0;
    }
    json_t *ids = json_array();
    int rc = 0;
    size_t i;
    json_t *item;
    json_array_foreach(cache, i, item) {
        if (!only(resp, "cache", item, "id", NULL))
            goto done;
        json_t *id = json_object_get(item, "id");
        if (!id) {
            ms_resp_error(resp, 400, "Invalid input for field/attribute cache. Value: {}. "
                                     "'id' is a required property");
            goto done;
        }
        if (!json_is_string(id) || !ms_uuid_valid(json_string_value(id))) {
            compute_bad_field(resp, "id", id, "is not a 'uuid'");
            goto done;
        }
        json_array_append(ids, id);
    }
    for (size_t a = 0; a < json_array_size(ids); a++) {
        for (size_t b = a + 1; b < json_array_size(ids); b++) {
            if (json_equal(json_array_get(ids, a), json_array_get(ids, b))) {
                ms_resp_error(resp, 400, "Duplicate images in request");
                goto done;
            }
        }
    }
    long long agg;
    rc = agg_id(req, resp, &agg);
    if (rc < 0) {
        rc = rc == -ENOENT || rc == -EINVAL ? 0 : rc;
        goto done;
    }
    json_t *id;
    json_array_foreach(ids, i, id) {
        ms_image_info img;
        rc = ms_image_get(&req->auth, json_string_value(id), &img);
        if (rc == -ENOENT) {
            ms_resp_error(resp, 400, "Image %s could not be found.", json_string_value(id));
            rc = 0;
            goto done;
        }
        if (rc < 0)
            goto done;
        ms_image_info_clear(&img);
    }
    rc = compute_aggregate_db_cache_images(agg, ids, req->auth.project_id);
    if (rc == 0)
        ms_resp_empty(resp, 202);
done:
    json_decref(ids);
    return rc;
}
