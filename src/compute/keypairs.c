/* os-keypairs: import (validated, fingerprinted) or generate, list, show
 * and delete keypairs, counted against the project's key_pairs quota.
 * Microversions: 2.2 ssh/x509 type (201/204 answers), 2.10 admins act for
 * another user_id, 2.35 limit/marker, 2.75 strict query, 2.92 import only. */
#include "compute.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static json_t *
kp_json(ms_request *req, const compute_keypair *k, bool show)
{
    json_t *o = json_pack("{s:s,s:s,s:s}", "name", k->name, "public_key", k->public_key,
                          "fingerprint", k->fingerprint);
    if (COMPUTE_MV_GE(req, 2, 2))
        json_object_set_new(o, "type", json_string(k->type));
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

/* The user whose keypairs a request acts on: the caller, or from 2.10 the
 * ?user_id= (or body) one, which Nova's rule lets only admins pick for
 * someone else. NULL after answering 403. */
static const char *
kp_target_user(ms_request *req, ms_response *resp, const char *wanted, const char *rule)
{
    if (!wanted || !COMPUTE_MV_GE(req, 2, 10))
        return req->auth.user_id;
    if (!req->auth.is_admin && strcmp(wanted, req->auth.user_id) != 0) {
        ms_resp_error(resp, 403, "Policy doesn't allow os_compute_api:os-keypairs:%s to be "
                                 "performed.",
                      rule);
        return NULL;
    }
    return wanted;
}

int
compute_keypair_list(ms_request *req, ms_response *resp)
{
    static const char *const args[] = {"user_id", "limit", "marker", NULL};
    if (!compute_query_strict(req, resp, args))
        return 0;
    const char *user = kp_target_user(req, resp, ms_req_query(req, "user_id"), "index");
    if (!user)
        return 0;
    /* Pagination came with 2.35; before it every keypair is listed. */
    bool paged = COMPUTE_MV_GE(req, 2, 35);
    int limit = -1;
    const char *marker = NULL;
    if (paged) {
        if (compute_limit_marker(req, resp, &limit, &marker) < 0)
            return 0;
        if (marker) {
            compute_keypair mk;
            int rc = compute_keypair_db_get(user, marker, &mk);
            if (rc == -ENOENT) {
                ms_resp_error(resp, 400, "Marker %s could not be found.", marker);
                return 0;
            }
            if (rc < 0)
                return rc;
            compute_keypair_clear(&mk);
        }
    }
    compute_keypair *list = NULL;
    size_t n = 0;
    int rc = compute_keypair_db_list(user, marker, limit, &list, &n);
    if (rc < 0)
        return rc;
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr,
                              json_pack("{s:o}", "keypair", kp_json(req, &list[i], false)));
    json_t *body = json_pack("{s:o}", "keypairs", arr);
    if (paged && n > 0 && (int)n == limit)
        json_object_set_new(body, "keypairs_links",
                            compute_next_link(req, "os-keypairs", list[n - 1].name));
    for (size_t i = 0; i < n; i++)
        compute_keypair_clear(&list[i]);
    free(list);
    ms_resp_json(resp, 200, body);
    return 0;
}

static bool
kp_name_ok(ms_request *req, ms_response *resp, json_t *name)
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
    /* 2.92 also allows '@' and '.'. */
    const char *safe = COMPUTE_MV_GE(req, 2, 92)
                           ? "@._- 0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                           : "_- 0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    if (strspn(s, safe) != n) {
        char *why = ms_asprintf("An invalid 'name' value was provided. Only expected "
                                "characters: [%s]",
                                safe);
        compute_bad_field(resp, "name", name, why);
        free(why);
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
    /* The body grows with the microversion: type (2.2), user_id (2.10). */
    json_object_foreach(kp, k, v) {
        bool known = !strcmp(k, "name") || !strcmp(k, "public_key") ||
                     (!strcmp(k, "type") && COMPUTE_MV_GE(req, 2, 2)) ||
                     (!strcmp(k, "user_id") && COMPUTE_MV_GE(req, 2, 10));
        if (!known) {
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
    json_t *pub = json_object_get(kp, "public_key");
    if (!pub && COMPUTE_MV_GE(req, 2, 92)) {
        char *repr = compute_json_repr(kp);
        ms_resp_error(resp, 400,
                      "Invalid input for field/attribute keypair. Value: %s. 'public_key' is "
                      "a required property",
                      repr);
        free(repr);
        return 0;
    }
    if (!kp_name_ok(req, resp, name))
        return 0;
    if (pub && !json_is_string(pub)) {
        compute_bad_field(resp, "public_key", pub, "is not of type 'string'");
        return 0;
    }
    json_t *type = json_object_get(kp, "type");
    bool x509 = false;
    if (type) {
        if (!json_is_string(type) || (strcmp(json_string_value(type), "ssh") &&
                                      strcmp(json_string_value(type), "x509"))) {
            char *repr = compute_json_repr(type);
            char *why = ms_asprintf(json_is_string(type) ? "%s is not one of ['ssh', 'x509']"
                                                         : "%s is not of type 'string'",
                                    repr);
            compute_bad_field(resp, "type", type, why);
            free(why);
            free(repr);
            return 0;
        }
        x509 = !strcmp(json_string_value(type), "x509");
    }
    json_t *uid = json_object_get(kp, "user_id");
    if (uid && !json_is_string(uid)) {
        compute_bad_field(resp, "user_id", uid, "is not of type 'string'");
        return 0;
    }
    const char *user = kp_target_user(req, resp, uid ? json_string_value(uid) : NULL,
                                      "create");
    if (!user)
        return 0;

    long long limits[Q_COUNT], count = 0;
    int rc = compute_quota_limits(req->auth.project_id, limits);
    if (rc == 0)
        rc = compute_keypair_db_count(user, &count);
    if (rc < 0)
        return rc;
    if (limits[Q_KEY_PAIRS] >= 0 && count + 1 > limits[Q_KEY_PAIRS]) {
        ms_resp_error(resp, 403, "Quota exceeded, too many key pairs.");
        return 0;
    }

    compute_keypair key = {.created_at = compute_now()};
    snprintf(key.user_id, sizeof(key.user_id), "%s", user);
    snprintf(key.name, sizeof(key.name), "%s", json_string_value(name));
    snprintf(key.type, sizeof(key.type), "%s", x509 ? "x509" : "ssh");
    char *private_pem = NULL;
    if (pub && x509) {
        char fp[64];
        if (compute_x509_fingerprint(json_string_value(pub), fp) < 0) {
            ms_resp_error(resp, 400, "Keypair data is invalid: failed to generate X509 "
                                     "fingerprint. Error message: Unable to load PEM file.");
            return 0;
        }
        snprintf(key.fingerprint, sizeof(key.fingerprint), "%s", fp);
        key.public_key = ms_strdup(json_string_value(pub));
    } else if (pub) {
        char fp[48];
        if (compute_ssh_fingerprint(json_string_value(pub), fp) < 0) {
            ms_resp_error(resp, 400, "Keypair data is invalid: failed to generate fingerprint");
            return 0;
        }
        snprintf(key.fingerprint, sizeof(key.fingerprint), "%s", fp);
        key.public_key = ms_strdup(json_string_value(pub));
    } else if (x509) {
        char fp[64];
        if (compute_x509_generate(user, &private_pem, &key.public_key) < 0 ||
            compute_x509_fingerprint(key.public_key, fp) < 0) {
            free(private_pem);
            compute_keypair_clear(&key);
            return -EIO;
        }
        snprintf(key.fingerprint, sizeof(key.fingerprint), "%s", fp);
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
        json_t *o = kp_json(req, &key, false);
        json_object_set_new(o, "user_id", json_string(key.user_id));
        if (private_pem)
            json_object_set_new(o, "private_key", json_string(private_pem));
        /* 2.2 made create answer 201. */
        ms_resp_json(resp, COMPUTE_MV_GE(req, 2, 2) ? 201 : 200,
                     json_pack("{s:o}", "keypair", o));
    }
    free(private_pem);
    compute_keypair_clear(&key);
    return rc;
}

int
compute_keypair_show(ms_request *req, ms_response *resp)
{
    static const char *const args[] = {"user_id", NULL};
    if (!compute_query_strict(req, resp, args))
        return 0;
    const char *user = kp_target_user(req, resp, ms_req_query(req, "user_id"), "show");
    if (!user)
        return 0;
    const char *name = ms_req_param(req, "keypair_name");
    compute_keypair k;
    int rc = compute_keypair_db_get(user, name, &k);
    if (rc == -ENOENT) {
        ms_resp_error(resp, 404, "Keypair %s not found for user %s", name, user);
        return 0;
    }
    if (rc < 0)
        return rc;
    ms_resp_json(resp, 200, json_pack("{s:o}", "keypair", kp_json(req, &k, true)));
    compute_keypair_clear(&k);
    return 0;
}

int
compute_keypair_delete(ms_request *req, ms_response *resp)
{
    static const char *const args[] = {"user_id", NULL};
    if (!compute_query_strict(req, resp, args))
        return 0;
    const char *user = kp_target_user(req, resp, ms_req_query(req, "user_id"), "delete");
    if (!user)
        return 0;
    const char *name = ms_req_param(req, "keypair_name");
    bool found = false;
    int rc = compute_keypair_db_delete(user, name, &found);
    if (rc < 0)
        return rc;
    if (!found)
        ms_resp_error(resp, 404, "Keypair %s not found for user %s", name, user);
    else
        ms_resp_empty(resp, COMPUTE_MV_GE(req, 2, 2) ? 204 : 202);
    return 0;
}
