/* Server tags (microversion 2.26): list, replace, delete all, check, add
 * and delete one, with Nova's limits and the states that allow changes. */
#include "compute.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

const char *
compute_tag_problem(const json_t *t)
{
    if (!json_is_string(t))
        return "is not of type 'string'";
    size_t n = 0;
    /* Length in characters, as jsonschema counts (UTF-8 continuation
     * bytes do not start a character). */
    for (const char *p = json_string_value(t); *p; p++)
        n += ((unsigned char)*p & 0xc0) != 0x80;
    if (n < 1)
        return "is too short";
    if (n > 60)
        return "is too long";
    if (strpbrk(json_string_value(t), ",/"))
        return "does not match '^[^,/]*$'";
    return NULL;
}

bool
compute_valid_tags(ms_response *resp, const char *field, const json_t *tags)
{
    if (!json_is_array(tags)) {
        compute_bad_field(resp, field, tags, "is not of type 'array'");
        return false;
    }
    if (json_array_size(tags) > 50) {
        compute_bad_field(resp, field, tags, "is too long");
        return false;
    }
    for (size_t k = 0; k < json_array_size(tags); k++) {
        json_t *t = json_array_get(tags, k);
        const char *why = compute_tag_problem(t);
        if (why) {
            char *repr = compute_json_repr(t);
            char *msg = ms_asprintf("%s %s", repr, why);
            char *f = ms_asprintf("%s/%zu", field, k);
            compute_bad_field(resp, f, t, msg);
            free(f);
            free(msg);
            free(repr);
            return false;
        }
    }
    return true;
}

/* Tags change only in these states (Nova's server tags controller). */
static bool
tags_state_ok(ms_response *resp, const compute_instance *i, const char *action)
{
    static const char *const ok[] = {"active", "paused", "suspended", "stopped"};
    for (size_t k = 0; k < MS_ARRAY_LEN(ok); k++) {
        if (!strcmp(ok[k], i->vm_state))
            return true;
    }
    ms_resp_error(resp, 409, "Cannot '%s' instance %s while it is in vm_state %s", action,
                  i->uuid, i->vm_state);
    return false;
}

int
compute_server_tags_list(ms_request *req, ms_response *resp)
{
    compute_instance i;
    int rc = compute_server_lookup(req, resp, &i);
    if (rc < 0)
        return rc == -ENOENT ? 0 : rc;
    ms_resp_json(resp, 200, json_pack("{s:O}", "tags", i.tags));
    compute_instance_clear(&i);
    return 0;
}

int
compute_server_tags_replace(ms_request *req, ms_response *resp)
{
    json_t *body = ms_req_json(req, resp);
    if (!body)
        return 0;
    const char *k;
    json_t *v;
    json_object_foreach(body, k, v) {
        if (strcmp(k, "tags")) {
            ms_resp_error(resp, 400,
                          "Invalid input for field/attribute tags. Value: {...}. Additional "
                          "properties are not allowed ('%s' was unexpected)",
                          k);
            return 0;
        }
    }
    json_t *tags = json_object_get(body, "tags");
    if (!tags) {
        ms_resp_error(resp, 400, "Invalid input for field/attribute tags. Value: {}. 'tags' "
                                 "is a required property");
        return 0;
    }
    if (!compute_valid_tags(resp, "tags", tags))
        return 0;
    compute_instance i;
    int rc = compute_server_lookup(req, resp, &i);
    if (rc < 0)
        return rc == -ENOENT ? 0 : rc;
    if (tags_state_ok(resp, &i, "update tags")) {
        json_t *now = NULL;
        if ((rc = compute_instance_db_tags_replace(i.uuid, tags)) == 0 &&
            (rc = compute_instance_db_tags(i.uuid, &now)) == 0)
            ms_resp_json(resp, 200, json_pack("{s:o}", "tags", now));
    }
    compute_instance_clear(&i);
    return rc;
}

int
compute_server_tags_delete_all(ms_request *req, ms_response *resp)
{
    compute_instance i;
    int rc = compute_server_lookup(req, resp, &i);
    if (rc < 0)
        return rc == -ENOENT ? 0 : rc;
    if (tags_state_ok(resp, &i, "delete tags")) {
        if ((rc = compute_instance_db_tags_replace(i.uuid, NULL)) == 0)
            ms_resp_empty(resp, 204);
    }
    compute_instance_clear(&i);
    return rc;
}

static bool
has_tag(const compute_instance *i, const char *tag)
{
    size_t k;
    json_t *t;
    json_array_foreach(i->tags, k, t) {
        if (!strcmp(json_string_value(t), tag))
            return true;
    }
    return false;
}

int
compute_server_tag_check(ms_request *req, ms_response *resp)
{
    const char *tag = ms_req_param(req, "tag");
    compute_instance i;
    int rc = compute_server_lookup(req, resp, &i);
    if (rc < 0)
        return rc == -ENOENT ? 0 : rc;
    if (has_tag(&i, tag))
        ms_resp_empty(resp, 204);
    else
        ms_resp_error(resp, 404, "Server %s has no tag '%s'", i.uuid, tag);
    compute_instance_clear(&i);
    return 0;
}

int
compute_server_tag_add(ms_request *req, ms_response *resp)
{
    const char *tag = ms_req_param(req, "tag");
    compute_instance i;
    int rc = compute_server_lookup(req, resp, &i);
    if (rc < 0)
        return rc == -ENOENT ? 0 : rc;
    if (!tags_state_ok(resp, &i, "update tag"))
        goto out;
    json_t *t = json_string(tag);
    const char *why = compute_tag_problem(t);
    json_decref(t);
    if (why) {
        ms_resp_error(resp, 400,
                      "Tag '%s' is invalid. It must be a non empty string without characters "
                      "'/' and ','. Validation error message: '%s' %s",
                      tag, tag, why);
        goto out;
    }
    if (json_array_size(i.tags) >= 50) {
        ms_resp_error(resp, 400, "The number of tags exceeded the per-server limit 50");
        goto out;
    }
    if (has_tag(&i, tag)) {
        ms_resp_empty(resp, 204);
        goto out;
    }
    if ((rc = compute_instance_db_tag_add(i.uuid, tag)) == 0) {
        char *base = compute_href(req, "servers", i.uuid);
        ms_buf b = {0};
        ms_buf_adds(&b, base);
        ms_buf_adds(&b, "/tags/");
        ms_buf_adds(&b, tag);
        ms_resp_header(resp, "Location", ms_buf_cstr(&b));
        ms_buf_free(&b);
        free(base);
        ms_resp_empty(resp, 201);
    }
out:
    compute_instance_clear(&i);
    return rc;
}

int
compute_server_tag_delete(ms_request *req, ms_response *resp)
{
    const char *tag = ms_req_param(req, "tag");
    compute_instance i;
    int rc = compute_server_lookup(req, resp, &i);
    if (rc < 0)
        return rc == -ENOENT ? 0 : rc;
    if (tags_state_ok(resp, &i, "delete tag")) {
        bool found = false;
        if ((rc = compute_instance_db_tag_delete(i.uuid, tag, &found)) == 0) {
            if (found)
                ms_resp_empty(resp, 204);
            else
                ms_resp_error(resp, 404, "Instance %s has no tag %s", i.uuid, tag);
        }
    }
    compute_instance_clear(&i);
    return rc;
}

