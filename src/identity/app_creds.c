/* Application credentials (/v3/users/{user_id}/application_credentials),
 * with Keystone Zed's semantics: a credential belongs to its user and the
 * project of the token that created it, carries a subset of that token's
 * roles (all of them by default), and authenticates with a secret that is
 * shown once, at creation, and stored only as a slow hash. Access rules are
 * not supported (a non-empty list is refused). The application_credential
 * auth method itself is in auth.c; it finds credentials through
 * identity_app_cred_lookup() here. */
#include "tokens_internal.h"

#include <monostack/json.h>

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>

/* Keystone's generated secrets: 64 random bytes, urlsafe base64, no padding. */
#define APP_CRED_SECRET_BYTES 64

/* Column order of app_cred_db_list/get rows. */
enum {
    AC_ID,
    AC_NAME,
    AC_USER,
    AC_PROJECT,
    AC_DESC,
    AC_EXPIRES,
    AC_UNRESTRICTED,
    AC_HASH
};

/* ---- lookup (for the auth method and token resolution) ---- */

int
identity_app_cred_lookup(const char *id, const char *name, const char *user_id,
                         identity_app_cred *out)
{
    memset(out, 0, sizeof(*out));
    if (!id && (!name || !user_id))
        return -ENOENT;
    ms_result *r = NULL;
    int rc = app_cred_db_get(id, id ? NULL : name, user_id, &r);
    if (rc < 0)
        return rc;
    if (!r->nrows) {
        ms_result_free(r);
        return -ENOENT;
    }
    snprintf(out->id, sizeof(out->id), "%s", ms_cell(r, 0, AC_ID));
    snprintf(out->name, sizeof(out->name), "%s", ms_cell(r, 0, AC_NAME));
    snprintf(out->user_id, sizeof(out->user_id), "%s", ms_cell(r, 0, AC_USER));
    snprintf(out->project_id, sizeof(out->project_id), "%s",
             ms_cell(r, 0, AC_PROJECT) ? ms_cell(r, 0, AC_PROJECT) : "");
    snprintf(out->secret_hash, sizeof(out->secret_hash), "%s",
             ms_cell(r, 0, AC_HASH) ? ms_cell(r, 0, AC_HASH) : "");
    if (ms_cell(r, 0, AC_EXPIRES)) {
        int64_t us = ms_time_parse(ms_cell(r, 0, AC_EXPIRES));
        /* An unreadable date must not mean "never expires". */
        out->expires_at = us > 0 ? us : 1;
    }
    out->unrestricted = ms_cell_bool(r, 0, AC_UNRESTRICTED);
    ms_result_free(r);

    rc = app_cred_db_roles(out->id, &r);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < r->nrows && out->nroles < IDENTITY_MAX_ROLES; i++) {
        identity_ref *role = &out->roles[out->nroles++];
        snprintf(role->id, sizeof(role->id), "%s", ms_cell(r, i, 0));
        snprintf(role->name, sizeof(role->name), "%s", ms_cell(r, i, 1));
    }
    ms_result_free(r);
    return 0;
}

/* ---- rendering ---- */

/* Keystone shows expires_at as oslo serialises a datetime: no zone. */
static json_t *
expires_json(int64_t us)
{
    if (!us)
        return json_null();
    char s[32];
    ms_time_iso(us, true, s);
    s[26] = '\0'; /* drop the "Z" */
    return json_string(s);
}

/* Roles rows (id, name, domain_id) as the API shows them. */
static json_t *
roles_json(const ms_result *r)
{
    json_t *a = json_array();
    for (size_t i = 0; i < r->nrows; i++) {
        const char *dom = ms_cell(r, i, 2);
        json_t *o = identity_ref_json(ms_cell(r, i, 0), ms_cell(r, i, 1));
        json_object_set_new(o, "domain_id",
                            ms_str_empty(dom) ? json_null() : json_string(dom));
        json_array_append_new(a, o);
    }
    return a;
}

typedef struct {
    const char *id, *name, *user_id, *project_id, *description;
    int64_t expires_at;
    bool unrestricted;
} app_cred_view;

/* The credential object; takes ownership of roles. */
static json_t *
app_cred_json(ms_request *req, const app_cred_view *v, json_t *roles)
{
    char *self =
        ms_asprintf("%s/v3/application_credentials/%s", ms_req_base_url(req), v->id);
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(v->id));
    json_object_set_new(o, "name", json_string(v->name));
    ms_json_set_str(o, "description", v->description);
    json_object_set_new(o, "user_id", json_string(v->user_id));
    ms_json_set_str(o, "project_id", ms_str_empty(v->project_id) ? NULL : v->project_id);
    json_object_set_new(o, "system", json_null());
    json_object_set_new(o, "expires_at", expires_json(v->expires_at));
    json_object_set_new(o, "unrestricted", json_boolean(v->unrestricted));
    json_object_set_new(o, "roles", roles);
    json_object_set_new(o, "links", json_pack("{s:s}", "self", self));
    free(self);
    return o;
}

/* Row i of an app_cred_db_list/get result, with its roles read. NULL with
 * *rc set on database trouble. */
static json_t *
row_json(ms_request *req, const ms_result *r, size_t i, int *rc)
{
    ms_result *roles = NULL;
    *rc = app_cred_db_roles(ms_cell(r, i, AC_ID), &roles);
    if (*rc < 0)
        return NULL;
    int64_t exp = 0;
    if (ms_cell(r, i, AC_EXPIRES)) {
        exp = ms_time_parse(ms_cell(r, i, AC_EXPIRES));
        if (exp < 0)
            exp = 0;
    }
    app_cred_view v = {
        .id = ms_cell(r, i, AC_ID),
        .name = ms_cell(r, i, AC_NAME),
        .user_id = ms_cell(r, i, AC_USER),
        .project_id = ms_cell(r, i, AC_PROJECT),
        .description = ms_cell(r, i, AC_DESC),
        .expires_at = exp,
        .unrestricted = ms_cell_bool(r, i, AC_UNRESTRICTED),
    };
    json_t *o = app_cred_json(req, &v, roles_json(roles));
    ms_result_free(roles);
    return o;
}

/* ---- errors ---- */

static void
not_found(ms_response *resp, const char *id)
{
    ms_resp_error(resp, 404, "Could not find Application Credential: %s.", id);
}

static void
invalid_field(ms_response *resp, const char *field, const char *why)
{
    ms_resp_error(resp, 400, "Invalid input for field '%s': %s", field, why);
}

static void
invalid_app_cred(ms_response *resp, const char *detail)
{
    ms_resp_error(resp, 400, "Invalid application credential: %s", detail);
}

/* The caller's own token (the router validated it), for its role ids and
 * whether it came from an application credential. 0, or non-zero with a
 * 401 in resp, or -EAGAIN. */
static int
caller_token(ms_request *req, ms_response *resp, identity_token_info *info)
{
    int rc = identity_token_check(ms_req_header(req, "X-Auth-Token"), false, info);
    if (rc == -EAGAIN)
        return rc;
    if (rc < 0) {
        identity_unauthorized(resp, NULL);
        return -EACCES;
    }
    return 0;
}

/* Keystone's _check_unrestricted_application_credential: a restricted
 * credential's token may not create or delete credentials. */
static bool
restricted_caller(const identity_token_info *info, ms_response *resp)
{
    if (info->tok.app_cred_id[0] && info->app_cred_restricted) {
        ms_resp_error(
            resp, 403,
            "You are not authorized to perform the requested action: Using method "
            "'application_credential' is not allowed for managing additional "
            "application credentials.");
        return true;
    }
    return false;
}

/* ---- GET /v3/users/{user_id}/application_credentials ---- */

int
identity_app_cred_list(ms_request *req, ms_response *resp)
{
    const char *user_id = ms_req_param(req, "user_id");
    ms_result *r = NULL;
    int rc = app_cred_db_list(user_id, ms_req_query(req, "name"), &r);
    if (rc < 0)
        return rc;
    json_t *list = json_array();
    for (size_t i = 0; i < r->nrows; i++) {
        json_t *o = row_json(req, r, i, &rc);
        if (!o) {
            json_decref(list);
            ms_result_free(r);
            return rc;
        }
        json_array_append_new(list, o);
    }
    ms_result_free(r);
    char *self = ms_asprintf("%s/v3/users/%s/application_credentials",
                             ms_req_base_url(req), user_id);
    ms_resp_json(resp, 200,
                 json_pack("{s:o,s:{s:s,s:n,s:n}}", "application_credentials", list,
                           "links", "self", self, "previous", "next"));
    free(self);
    return 0;
}

/* ---- POST /v3/users/{user_id}/application_credentials ---- */

/* The roles asked for (by id or by name), each of which the caller's token
 * must carry; none asked means all of the token's roles. 0, or -EINVAL with
 * the 400 in resp. */
static int
requested_roles(json_t *roles, const identity_token_info *info, identity_app_cred *ac,
                ms_response *resp)
{
    if (json_array_size(roles) == 0) {
        for (int i = 0; i < info->nroles; i++)
            ac->roles[ac->nroles++] = info->roles[i];
        return 0;
    }
    size_t i;
    json_t *role;
    json_array_foreach(roles, i, role) {
        if (!json_is_object(role) || json_object_size(role) != 1) {
            invalid_field(resp, "roles",
                          "each role must be an object with one of 'id' or "
                          "'name'");
            return -EINVAL;
        }
        const char *id = ms_json_strval(role, "id"), *name = ms_json_strval(role, "name");
        if ((!id && !name) || ms_str_empty(id ? id : name) ||
            strlen(id ? id : name) > (id ? 64 : 255)) {
            invalid_field(resp, "roles",
                          "each role must be an object with one of 'id' or "
                          "'name'");
            return -EINVAL;
        }
        const identity_ref *found = NULL;
        for (int j = 0; j < info->nroles && !found; j++) {
            if (id ? strcmp(info->roles[j].id, id) == 0
                   : strcmp(info->roles[j].name, name) == 0)
                found = &info->roles[j];
        }
        if (!found) {
            invalid_app_cred(resp, "Cannot create an application credential with "
                                   "unassigned role");
            return -EINVAL;
        }
        bool dup = false;
        for (int j = 0; j < ac->nroles; j++)
            dup = dup || strcmp(ac->roles[j].id, found->id) == 0;
        if (!dup && ac->nroles < IDENTITY_MAX_ROLES)
            ac->roles[ac->nroles++] = *found;
    }
    return 0;
}

/* Validate the create body (Keystone's schema) into ac, *description and
 * *secret (borrowed from the body; NULL when absent); roles are checked
 * later, against the caller's token. 0, or -EINVAL with the 400 in resp. */
static int
parse_create(json_t *m, identity_app_cred *ac, const char **description,
             const char **secret, ms_response *resp)
{
    json_t *v = json_object_get(m, "name");
    if (!v) {
        ms_resp_error(resp, 400, "'name' is a required property");
        return -EINVAL;
    }
    if (!json_is_string(v)) {
        invalid_field(resp, "name", "not of type 'string'");
        return -EINVAL;
    }
    const char *name = json_string_value(v);
    size_t len = json_string_length(v);
    if (len == 0 || len > 255 || strspn(name, " \t\r\n\f\v") == len) {
        invalid_field(resp, "name", len > 255 ? "is too long" : "is too short");
        return -EINVAL;
    }
    snprintf(ac->name, sizeof(ac->name), "%s", name);

    v = json_object_get(m, "description");
    if (v && !json_is_null(v) && !json_is_string(v)) {
        invalid_field(resp, "description", "not of type 'string'");
        return -EINVAL;
    }
    *description = json_string_value(v);

    v = json_object_get(m, "secret");
    if (v && !json_is_null(v) && !json_is_string(v)) {
        invalid_field(resp, "secret", "not of type 'string'");
        return -EINVAL;
    }
    *secret = json_string_value(v);

    v = json_object_get(m, "unrestricted");
    if (v && !json_is_boolean(v)) {
        invalid_field(resp, "unrestricted", "not of type 'boolean'");
        return -EINVAL;
    }
    ac->unrestricted = json_is_true(v);

    v = json_object_get(m, "expires_at");
    if (v && !json_is_null(v) && !json_is_string(v)) {
        invalid_field(resp, "expires_at", "not of type 'string'");
        return -EINVAL;
    }
    if (json_is_string(v) && json_string_length(v) > 0) {
        int64_t us = ms_time_parse(json_string_value(v));
        if (us < 0) {
            ms_resp_error(resp, 400,
                          "Timestamp not in expected format. The server could not "
                          "comply with the request since it is either malformed "
                          "or otherwise incorrect. The client is assumed to be "
                          "in error.");
            return -EINVAL;
        }
        if (us <= identity_now_us()) {
            ms_resp_error(resp, 400,
                          "The 'expires_at' must not be before now. The server "
                          "could not comply with the request since it is either "
                          "malformed or otherwise incorrect. The client is "
                          "assumed to be in error.");
            return -EINVAL;
        }
        ac->expires_at = us;
    }

    v = json_object_get(m, "access_rules");
    if (v && !json_is_array(v)) {
        invalid_field(resp, "access_rules", "not of type 'array'");
        return -EINVAL;
    }
    if (json_array_size(v) > 0) {
        invalid_app_cred(resp, "Access rules are not supported.");
        return -EINVAL;
    }
    v = json_object_get(m, "roles");
    if (v && !json_is_array(v)) {
        invalid_field(resp, "roles", "not of type 'array'");
        return -EINVAL;
    }
    return 0;
}

int
identity_app_cred_create(ms_request *req, ms_response *resp)
{
    const char *user_id = ms_req_param(req, "user_id");
    json_t *body = ms_req_json(req, resp);
    if (!body)
        return 0;
    json_t *m = json_object_get(body, "application_credential");
    json_t *empty = NULL;
    if (!m) {
        m = empty = json_object(); /* Keystone validates {} (name is then missing) */
    } else if (!json_is_object(m)) {
        invalid_field(resp, "application_credential", "not of type 'object'");
        return 0;
    }
    identity_token_info info;
    identity_app_cred ac = {0};
    const char *description = NULL, *secret = NULL;
    char *generated = NULL;
    int rc = caller_token(req, resp, &info);
    if (rc < 0)
        goto done;
    if (parse_create(m, &ac, &description, &secret, resp) < 0 ||
        restricted_caller(&info, resp))
        goto done;
    if (strcmp(info.user.id, user_id) != 0) {
        ms_resp_error(resp, 403,
                      "You are not authorized to perform the requested action: "
                      "Cannot create an application credential for another "
                      "user.");
        goto done;
    }
    if (info.tok.scope != TOKEN_PROJECT) {
        invalid_app_cred(resp, "Application credentials can only be created with a "
                               "project-scoped token.");
        goto done;
    }
    if (requested_roles(json_object_get(m, "roles"), &info, &ac, resp) < 0)
        goto done;
    if (ms_str_empty(secret)) {
        uint8_t raw[APP_CRED_SECRET_BYTES];
        if (RAND_bytes(raw, sizeof(raw)) != 1) {
            rc = -EIO;
            goto done;
        }
        generated = identity_b64url(raw, sizeof(raw), false);
        OPENSSL_cleanse(raw, sizeof(raw));
        secret = generated;
    }
    ms_uuid_hex(ac.id);
    snprintf(ac.user_id, sizeof(ac.user_id), "%s", user_id);
    snprintf(ac.project_id, sizeof(ac.project_id), "%s", info.project.id);
    if ((rc = identity_password_hash(secret, ac.secret_hash)) < 0)
        goto done;
    rc = app_cred_db_insert(&ac, description);
    if (rc == -EEXIST) {
        rc = 0;
        ms_resp_error(resp, 409,
                      "Conflict occurred attempting to store "
                      "application_credential - Duplicate entry found with "
                      "name %s.",
                      ac.name);
        goto done;
    }
    if (rc < 0)
        goto done;

    json_t *roles = json_array();
    for (int i = 0; i < ac.nroles; i++) {
        json_t *o = identity_ref_json(ac.roles[i].id, ac.roles[i].name);
        json_object_set_new(o, "domain_id", json_null());
        json_array_append_new(roles, o);
    }
    app_cred_view view = {.id = ac.id,
                          .name = ac.name,
                          .user_id = ac.user_id,
                          .project_id = ac.project_id,
                          .description = description,
                          .expires_at = ac.expires_at,
                          .unrestricted = ac.unrestricted};
    json_t *o = app_cred_json(req, &view, roles);
    json_object_set_new(o, "secret", json_string(secret));
    ms_resp_json(resp, 201, json_pack("{s:o}", "application_credential", o));
    ms_info("application credential created id=%s user=%s project=%s", ac.id, ac.user_id,
            ac.project_id);
done:
    if (generated) {
        OPENSSL_cleanse(generated, strlen(generated));
        free(generated);
    }
    OPENSSL_cleanse(ac.secret_hash, sizeof(ac.secret_hash));
    json_decref(empty);
    return rc == -EACCES ? 0 : rc;
}

/* ---- GET and DELETE /v3/users/{user_id}/application_credentials/{id} ---- */

/* The credential row when it exists and belongs to the path's user (so
 * nobody reaches another user's credential by naming themselves in the
 * path). 0 with *r set, -ENOENT with the 404 in resp, or a database error. */
static int
owned_row(ms_request *req, ms_response *resp, ms_result **r)
{
    const char *user_id = ms_req_param(req, "user_id");
    const char *id = ms_req_param(req, "app_cred_id");
    int rc = app_cred_db_get(id, NULL, NULL, r);
    if (rc < 0)
        return rc;
    if (!(*r)->nrows || strcmp(ms_cell(*r, 0, AC_USER), user_id) != 0) {
        ms_result_free(*r);
        *r = NULL;
        not_found(resp, id);
        return -ENOENT;
    }
    return 0;
}

int
identity_app_cred_get(ms_request *req, ms_response *resp)
{
    ms_result *r = NULL;
    int rc = owned_row(req, resp, &r);
    if (rc < 0)
        return rc == -ENOENT ? 0 : rc;
    json_t *o = row_json(req, r, 0, &rc);
    ms_result_free(r);
    if (!o)
        return rc;
    ms_resp_json(resp, 200, json_pack("{s:o}", "application_credential", o));
    return 0;
}

/* Tokens of a deleted credential fail resolution (identity_token_resolve
 * looks the credential up), so no revocation event is needed; dropping
 * this process's cached validations makes them fail at once here, and
 * other processes within the cache's TTL. */
int
identity_app_cred_delete(ms_request *req, ms_response *resp)
{
    identity_token_info info;
    int rc = caller_token(req, resp, &info);
    if (rc < 0)
        return rc == -EACCES ? 0 : rc;
    if (restricted_caller(&info, resp))
        return 0;
    ms_result *r = NULL;
    rc = owned_row(req, resp, &r);
    if (rc < 0)
        return rc == -ENOENT ? 0 : rc;
    ms_result_free(r);
    const char *user_id = ms_req_param(req, "user_id");
    const char *id = ms_req_param(req, "app_cred_id");
    rc = app_cred_db_delete(user_id, id);
    if (rc == -ENOENT) {
        not_found(resp, id);
        return 0;
    }
    if (rc < 0)
        return rc;
    identity_token_cache_flush();
    ms_info("application credential deleted id=%s user=%s", id, user_id);
    ms_resp_empty(resp, 204);
    return 0;
}
