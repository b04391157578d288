/* os-keypairs at microversion 2.1: import (validated, fingerprinted) or
 * generate, list, show and delete the caller's own keypairs, counted
 * against the project's key_pairs quota. */
#include "compute.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static json_t *
kp_json(const compute_keypair *k, bool show)
{
    json_t *o = json_pack("{s:s,s:s,s:s}", "name", k->name, "public_key", k->public_key,
                          "fingerprint", k->fingerprint);
    if (show) {
        char t[32];
        compute_time_iso_frac(k->created_at, t);
        json_object_set_new(o, "user_id", json_string(k->user_id));
        json_object_set_new(o, "created_at", json_string(t));
        json_object_set_new(o, "deleted", json_false());
        json_object_set_new(o, "deleted_at", json_null());
        json_object_set_new(o, "id", json_integer(k->id));
        json_object_set_new(o, "updated_at", json_null());
    }
    return o;
}

int
compute_keypair_list(ms_request *req, ms_response *resp)
{
    compute_keypair *list = NULL;
    size_t n = 0;
    int rc = compute_keypair_db_list(req->auth.user_id, &list, &n);
    if (rc < 0)
        return rc;
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        json_array_append_new(arr, json_pack("{s:o}", "keypair", kp_json(&list[i], false)));
        compute_keypair_clear(&list[i]);
    }
    free(list);
    ms_resp_json(resp, 200, json_pack("{s:o}", "keypairs", arr));
    return 0;
}

static bool
kp_name_ok(ms_response *resp, json_t *name)
{
    if (!json_is_string(name)) {
        compute_bad_field(resp, "name", name, "is not of type 'string'");
        return false;
    }
    const char *s = json_string_value(name);
    size_t n = json_string_length(name);
    if (n < 1) {
        compute_bad_field(resp, "name", name, "is too short");
        return false;
    }
    if (n > 255) {
        compute_bad_field(resp, "name", name, "is too long");
        return false;
    }
    if (!compute_valid_name(s)) {
        compute_bad_field(resp, "name", name,
                          "An invalid 'name' value was provided. The name must be: printable "
                          "characters. Can not start or end with whitespace.");
        return false;
    }
    static const char safe[] =
        "_- 0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    if (strspn(s, safe) != n) {
        compute_bad_field(resp, "name", name,
                          "An invalid 'name' value was provided. Only expected characters: "
                          "[_- 0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ]");
        return false;
    }
    return true;
}

int
compute_keypair_create(ms_request *req, ms_response *resp)
{
    json_t *body = ms_req_json(req, resp);
    if (!body)
        return 0;
    json_t *kp = json_object_get(body, "keypair");
    const char *k;
    json_t *v;
    json_object_foreach(body, k, v) {
        if (strcmp(k, "keypair")) {
            ms_resp_error(resp, 400,
                          "Invalid input for field/attribute keypair. Value: {...}. "
                          "Additional properties are not allowed ('%s' was unexpected)",
                          k);
            return 0;
        }
    }
    if (!kp) {
        ms_resp_error(resp, 400, "Invalid input for field/attribute keypair. Value: {}. "
                                 "'keypair' is a required property");
        return 0;
    }
    if (!json_is_object(kp)) {
        compute_bad_field(resp, "keypair", kp, "is not of type 'object'");
        return 0;
    }
    json_object_foreach(kp, k, v) {
        if (strcmp(k, "name") && strcmp(k, "public_key")) {
            char *repr = compute_json_repr(kp);
            ms_resp_error(resp, 400,
                          "Invalid input for field/attribute keypair. Value: %s. Additional "
                          "properties are not allowed ('%s' was unexpected)",
                          repr, k);
            free(repr);
            return 0;
        }
    }
    json_t *name = json_object_get(kp, "name");
    if (!name) {
        char *repr = compute_json_repr(kp);
        ms_resp_error(resp, 400,
                      "Invalid input for field/attribute keypair. Value: %s. 'name' is a "
                      "required property",
                      repr);
        free(repr);
        return 0;
    }
    if (!kp_name_ok(resp, name))
        return 0;
    json_t *pub = json_object_get(kp, "public_key");
    if (pub && !json_is_string(pub)) {
        compute_bad_field(resp, "public_key", pub, "is not of type 'string'");
        return 0;
    }

    long long limits[Q_COUNT], count = 0;
    int rc = compute_quota_limits(req->auth.project_id, limits);
    if (rc == 0)
        rc = compute_keypair_db_count(req->auth.user_id, &count);
    if (rc < 0)
        return rc;
    if (limits[Q_KEY_PAIRS] >= 0 && count + 1 > limits[Q_KEY_PAIRS]) {
        ms_resp_error(resp, 403, "Quota exceeded, too many key pairs.");
        return 0;
    }

    compute_keypair key = {.created_at = compute_now()};
    snprintf(key.user_id, sizeof(key.user_id), "%s", req->auth.user_id);
    snprintf(key.name, sizeof(key.name), "%s", json_string_value(name));
    snprintf(key.type, sizeof(key.type), "ssh");
    char *private_pem = NULL;
    if (pub) {
        char fp[48];
        if (compute_ssh_fingerprint(json_string_value(pub), fp) < 0) {
            ms_resp_error(resp, 400, "Keypair data is invalid: failed to generate fingerprint");
            return 0;
        }
        snprintf(key.fingerprint, sizeof(key.fingerprint), "%s", fp);
        key.public_key = ms_strdup(json_string_value(pub));
    } else {
        char fp[48];
        if (compute_ssh_generate(&private_pem, &key.public_key) < 0 ||
            compute_ssh_fingerprint(key.public_key, fp) < 0) {
            free(private_pem);
            compute_keypair_clear(&key);
            return -EIO;
        }
        snprintf(key.fingerprint, sizeof(key.fingerprint), "%s", fp);
    }
    rc = compute_keypair_db_insert(&key);
    if (rc == -EEXIST) {
        ms_resp_error(resp, 409, "Key pair '%s' already exists.", key.name);
        rc = 0;
    } else if (rc == 0) {
        json_t *o = kp_json(&key, false);
        json_object_set_new(o, "user_id", json_string(key.user_id));
        if (private_pem)
            json_object_set_new(o, "private_key", json_string(private_pem));
        ms_resp_json(resp, 200, json_pack("{s:o}", "keypair", o));
    }
    free(private_pem);
    compute_keypair_clear(&key);
    return rc;
}

int
compute_keypair_show(ms_request *req, ms_response *resp)
{
    const char *name = ms_req_param(req, "keypair_name");
    compute_keypair k;
    int rc = compute_keypair_db_get(req->auth.user_id, name, &k);
    if (rc == -ENOENT) {
        ms_resp_error(resp, 404, "Keypair %s not found for user %s", name, req->auth.user_id);
        return 0;
    }
    if (rc < 0)
        return rc;
    ms_resp_json(resp, 200, json_pack("{s:o}", "keypair", kp_json(&k, true)));
    compute_keypair_clear(&k);
    return 0;
}

int
compute_keypair_delete(ms_request *req, ms_response *resp)
{
    const char *name = ms_req_param(req, "keypair_name");
    bool found = false;
    int rc = compute_keypair_db_delete(req->auth.user_id, name, &found);
    if (rc < 0)
        return rc;
    if (!found)
        ms_resp_error(resp, 404, "Keypair %s not found for user %s", name, req->auth.user_id);
    else
        ms_resp_empty(resp, 202);
    return 0;
}
