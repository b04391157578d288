/* Keystone v3 users (/v3/users): CRUD, the self-service password change,
 * and a user's projects and groups. Passwords are stored only as
 * identity_password_hash() strings and are never shown or logged; a
 * password change, a disable or a delete revokes the user's tokens.
 * No password expiry policy is configured (Keystone's default), so
 * password_expires_at stays null. Attributes Keystone does not know are kept
 * in `extra` and given back, as it does. */
#include "resources_db.h"

#include <monostack/json.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>

static const char *const user_known[] = {
    "id", "name", "domain_id", "enabled", "default_project_id", "description", "password",
    "options", "links", "federated", "password_expires_at", NULL,
};

static void
not_found(ms_response *resp, const char *id)
{
    ms_resp_error(resp, 404, "Could not find user: %s.", id);
}

/* DATETIME text to Keystone's "YYYY-MM-DDTHH:MM:SS.ffffff". */
static json_t *
expires_json(const char *db)
{
    if (!db)
        return json_null();
    char buf[40];
    snprintf(buf, sizeof(buf), "%s", db);
    if (strlen(buf) > 10 && buf[10] == ' ')
        buf[10] = 'T';
    if (strlen(buf) == 19)
        strcat(buf, ".000000");
    return json_string(buf);
}

static json_t *
user_json(ms_request *req, const ms_result *r, size_t i)
{
    json_t *o = identity_extra_obj(ms_cell(r, i, U_EXTRA));
    json_object_del(o, "password");
    json_object_set_new(o, "id", json_string(ms_cell(r, i, U_ID)));
    json_object_set_new(o, "name", json_string(ms_cell(r, i, U_NAME)));
    json_object_set_new(o, "domain_id", json_string(ms_cell(r, i, U_DOMAIN)));
    json_object_set_new(o, "enabled", json_boolean(ms_cell_bool(r, i, U_ENABLED)));
    if (ms_cell(r, i, U_DEFAULT_PROJECT))
        json_object_set_new(o, "default_project_id",
                            json_string(ms_cell(r, i, U_DEFAULT_PROJECT)));
    if (ms_cell(r, i, U_DESC))
        json_object_set_new(o, "description", json_string(ms_cell(r, i, U_DESC)));
    if (ms_cell(r, i, U_EMAIL))
        json_object_set_new(o, "email", json_string(ms_cell(r, i, U_EMAIL)));
    json_object_set_new(o, "password_expires_at", expires_json(ms_cell(r, i, U_EXPIRES)));
    json_object_set_new(o, "options", identity_extra_obj(ms_cell(r, i, U_OPTIONS)));
    json_object_set_new(o, "links", identity_links_self(req, "users", ms_cell(r, i, U_ID)));
    return o;
}

static int
user_reply(ms_request *req, ms_response *resp, const char *id, int status)
{
    ms_result *r = NULL;
    int rc = res_db_user_get(id, &r);
    if (rc < 0)
        return rc;
    if (!r->nrows)
        not_found(resp, id);
    else
        ms_resp_json(resp, status, json_pack("{s:o}", "user", user_json(req, r, 0)));
    ms_result_free(r);
    return 0;
}

static int
check_user_fields(ms_response *resp, const json_t *m)
{
    json_t *v;
    if ((v = json_object_get(m, "name")) && res_check_name(resp, v, 255) < 0)
        return -EINVAL;
    if ((v = json_object_get(m, "default_project_id")) &&
        res_check_id(resp, "default_project_id", v, true) < 0)
        return -EINVAL;
    if ((v = json_object_get(m, "description")) && res_check_desc(resp, "description", v) < 0)
        return -EINVAL;
    if ((v = json_object_get(m, "domain_id")) && res_check_id(resp, "domain_id", v, false) < 0)
        return -EINVAL;
    if ((v = json_object_get(m, "enabled")) && res_check_bool(resp, "enabled", v) < 0)
        return -EINVAL;
    if ((v = json_object_get(m, "password")) && res_check_str(resp, "password", v, true) < 0)
        return -EINVAL;
    if ((v = json_object_get(m, "options")) && res_check_options(resp, v, true) < 0)
        return -EINVAL;
    return 0;
}

/* Keystone refuses a domain as a user's default project. */
static int
check_default_project(ms_response *resp, const json_t *m)
{
    const char *p = ms_json_strval(m, "default_project_id");
    if (ms_str_empty(p))
        return 0;
    int rc = res_domain_exists(p);
    if (rc < 0)
        return rc;
    if (rc) {
        ms_resp_error(resp, 400, "User's default project ID cannot be a domain ID: %s", p);
        return -EINVAL;
    }
    return 0;
}

static void
conflict(ms_response *resp, const char *name, const char *domain_id)
{
    ms_resp_error(resp, 409, "Conflict occurred attempting to store user - Duplicate entry "
                             "found with name %s at domain ID %s.", name, domain_id);
}

/* email is kept in its column when it is a string; anything else stays an
 * extra attribute. */
static const char *
email_of(const json_t *m, json_t *extra_src)
{
    const char *e = ms_json_strval(m, "email");
    if (e)
        json_object_del(extra_src, "email");
    return e;
}

/* ---- CRUD ---- */

int
identity_user_list(ms_request *req, ms_response *resp)
{
    const char *pea = ms_req_query(req, "password_expires_at");
    int64_t when = 0;
    char op[8] = "eq";
    if (pea) {
        const char *ts = pea;
        const char *colon = strchr(pea, ':');
        if (colon && (colon - pea == 2 || colon - pea == 3)) {
            snprintf(op, sizeof(op), "%.*s", (int)(colon - pea), pea);
            ts = colon + 1;
        }
        if ((when = ms_time_parse(ts)) < 0) {
            ms_resp_error(resp, 400, "Timestamp not in expected format. The server could not "
                                     "comply with the request since it is either malformed or "
                                     "otherwise incorrect. The client is assumed to be in "
                                     "error.");
            return 0;
        }
        static const char *const ops[] = {"lt", "gt", "eq", "lte", "gte", "neq", NULL};
        bool known = false;
        for (const char *const *p = ops; *p; p++)
            known = known || strcmp(*p, op) == 0;
        if (!known) {
            ms_resp_error(resp, 400, "The given operator %s is not valid. It must be one of the "
                                     "following: 'eq', 'neq', 'lt', 'lte', 'gt', or 'gte'.", op);
            return 0;
        }
    }
    const char *dom = ms_req_query(req, "domain_id");
    const char *scope_dom = req->auth.domain_id[0] ? req->auth.domain_id : NULL;
    const char *en = ms_req_query(req, "enabled");
    ms_result *r = NULL;
    int rc = res_db_user_list(dom ? dom : scope_dom, ms_req_query(req, "name"),
                              en ? res_query_bool(en) : -1, &r);
    if (rc < 0)
        return rc;
    json_t *list = json_array();
    for (size_t i = 0; i < r->nrows; i++) {
        if ((scope_dom && strcmp(scope_dom, ms_cell(r, i, U_DOMAIN)) != 0) ||
            !res_inexact_match(req, "name", ms_cell(r, i, U_NAME)))
            continue;
        if (pea) {
            const char *exp = ms_cell(r, i, U_EXPIRES);
            if (!exp)
                continue;
            int64_t t = ms_time_parse(exp);
            bool ok = strcmp(op, "lt") == 0    ? t < when
                      : strcmp(op, "gt") == 0  ? t > when
                      : strcmp(op, "lte") == 0 ? t <= when
                      : strcmp(op, "gte") == 0 ? t >= when
                      : strcmp(op, "neq") == 0 ? t != when
                                               : t == when;
            if (!ok)
                continue;
        }
        json_array_append_new(list, user_json(req, r, i));
    }
    ms_result_free(r);
    ms_resp_json(resp, 200, json_pack("{s:o,s:o}", "users", list, "links",
                                      identity_collection_links(req)));
    return 0;
}

int
identity_user_create(ms_request *req, ms_response *resp)
{
    json_t *m = res_member(req, resp, "user");
    if (!m)
        return 0;
    if (!json_object_get(m, "name")) {
        res_invalid(resp, NULL, "'name' is a required property");
        return 0;
    }
    if (check_user_fields(resp, m) < 0)
        return 0;
    const char *domain_id = ms_json_strval(m, "domain_id");
    if (ms_str_empty(domain_id))
        domain_id = req->auth.domain_id[0] ? req->auth.domain_id : IDENTITY_DEFAULT_DOMAIN;
    int rc = res_domain_exists(domain_id);
    if (rc < 0)
        return rc;
    if (!rc) {
        ms_resp_error(resp, 404, "Could not find domain: %s.", domain_id);
        return 0;
    }
    if ((rc = check_default_project(resp, m)) < 0)
        return rc == -EINVAL ? 0 : rc;

    char hash[IDENTITY_HASH_LEN];
    const char *password = ms_json_strval(m, "password");
    if (password && (rc = identity_password_hash(password, hash)) < 0)
        return rc;
    char id[33];
    ms_uuid_hex(id);
    ms_autofree char *name = res_strip(ms_json_strval(m, "name"));
    json_t *src = json_copy(m);
    const char *email = email_of(m, src);
    ms_autofree char *extra = identity_extra_text(src, user_known, NULL);
    json_decref(src);
    json_t *opts = res_options_merge(json_object(), json_object_get(m, "options"));
    ms_autofree char *options = json_object_size(opts) ? json_dumps(opts, JSON_COMPACT) : NULL;
    json_decref(opts);
    rc = res_db_user_insert(id, name, domain_id, !json_is_false(json_object_get(m, "enabled")),
                            ms_json_strval(m, "default_project_id"),
                            ms_json_strval(m, "description"), email, password ? hash : NULL,
                            options, extra);
    if (rc == -EEXIST) {
        conflict(resp, name, domain_id);
        return 0;
    }
    if (rc < 0)
        return rc;
    ms_info("user created user=%s domain=%s", id, domain_id);
    return user_reply(req, resp, id, 201);
}

int
identity_user_get(ms_request *req, ms_response *resp)
{
    return user_reply(req, resp, ms_req_param(req, "user_id"), 200);
}

int
identity_user_update(ms_request *req, ms_response *resp)
{
    const char *id = ms_req_param(req, "user_id");
    ms_result *r = NULL;
    int rc = res_db_user_get(id, &r);
    if (rc < 0)
        return rc;
    if (!r->nrows) {
        ms_result_free(r);
        not_found(resp, id);
        return 0;
    }
    json_t *opts = NULL, *src = NULL;
    ms_autofree char *name = NULL, *extra = NULL, *options = NULL;
    json_t *m = res_member(req, resp, "user");
    rc = 0;
    if (!m || res_check_not_empty(resp, m) < 0 || check_user_fields(resp, m) < 0)
        goto done;
    json_t *v = json_object_get(m, "id");
    if (v && !json_is_null(v) && !(json_is_string(v) && strcmp(json_string_value(v), id) == 0)) {
        ms_resp_error(resp, 400, "Cannot change ID");
        goto done;
    }
    if ((v = json_object_get(m, "domain_id")) &&
        strcmp(json_string_value(v), ms_cell(r, 0, U_DOMAIN)) != 0) {
        ms_resp_error(resp, 400, "Cannot change Domain ID");
        goto done;
    }
    if ((rc = check_default_project(resp, m)) < 0)
        goto done;

    v = json_object_get(m, "name");
    name = res_strip(v ? json_string_value(v) : ms_cell(r, 0, U_NAME));
    bool was_enabled = ms_cell_bool(r, 0, U_ENABLED), enabled = was_enabled;
    if ((v = json_object_get(m, "enabled")))
        enabled = json_is_true(v);
    v = json_object_get(m, "default_project_id");
    const char *dproj = v ? json_string_value(v) : ms_cell(r, 0, U_DEFAULT_PROJECT);
    v = json_object_get(m, "description");
    const char *desc = v ? json_string_value(v) : ms_cell(r, 0, U_DESC);
    src = json_copy(m);
    const char *email = email_of(m, src);
    if (!email)
        email = json_object_get(m, "email") ? NULL : ms_cell(r, 0, U_EMAIL);
    extra = identity_extra_text(src, user_known, ms_cell(r, 0, U_EXTRA));
    opts = identity_extra_obj(ms_cell(r, 0, U_OPTIONS));
    if ((v = json_object_get(m, "options")))
        opts = res_options_merge(opts, v);
    options = json_object_size(opts) ? json_dumps(opts, JSON_COMPACT) : NULL;

    /* Hash before writing anything, so a failure leaves the user as it was. */
    json_t *pw = json_object_get(m, "password");
    bool new_password = json_is_string(pw);
    char hash[IDENTITY_HASH_LEN];
    if (new_password && (rc = identity_password_hash(json_string_value(pw), hash)) < 0)
        goto done;
    rc = res_db_user_update(id, name, enabled, dproj, desc, email, options, extra);
    if (rc == -EEXIST) {
        conflict(resp, name, ms_cell(r, 0, U_DOMAIN));
        rc = 0;
        goto done;
    }
    if (rc == 0 && pw)
        rc = res_db_user_set_password(id, new_password ? hash : NULL);
    if (rc < 0)
        goto done;
    if ((was_enabled && !enabled) || new_password) {
        ms_info("user tokens revoked user=%s reason=%s", id,
                new_password ? "password" : "disabled");
        identity_revoke(id, NULL, NULL, NULL);
    }
    rc = user_reply(req, resp, id, 200);
done:
    json_decref(src);
    json_decref(opts);
    ms_result_free(r);
    return rc == -EINVAL ? 0 : rc;
}

int
identity_user_delete(ms_request *req, ms_response *resp)
{
    const char *id = ms_req_param(req, "user_id");
    int rc = res_db_user_delete(id);
    if (rc == -ENOENT) {
        not_found(resp, id);
        return 0;
    }
    if (rc < 0)
        return rc;
    ms_info("user deleted user=%s", id);
    identity_revoke(id, NULL, NULL, NULL);
    ms_resp_empty(resp, 204);
    return 0;
}

/* ---- self-service password change ---- */

/* A hash to verify against when the user does not exist, so that the
 * answer takes as long as for a wrong password. */
static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;
static char dummy_hash[IDENTITY_HASH_LEN];

static void
dummy_init(void)
{
    if (identity_password_hash("monostack-dummy-password", dummy_hash) < 0)
        dummy_hash[0] = '\0';
}

static int
check_password_body(ms_response *resp, const json_t *m)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)m, k, v) {
        if (strcmp(k, "password") != 0 && strcmp(k, "original_password") != 0) {
            res_invalid(resp, NULL,
                        "Additional properties are not allowed ('%s' was unexpected)", k);
            return -EINVAL;
        }
        if (res_check_str(resp, k, v, false) < 0)
            return -EINVAL;
    }
    static const char *const required[] = {"original_password", "password"};
    for (size_t i = 0; i < MS_ARRAY_LEN(required); i++) {
        if (!json_object_get(m, required[i])) {
            res_invalid(resp, NULL, "'%s' is a required property", required[i]);
            return -EINVAL;
        }
    }
    return 0;
}

int
identity_user_password(ms_request *req, ms_response *resp)
{
    const char *id = ms_req_param(req, "user_id");
    json_t *m = res_member(req, resp, "user");
    if (!m || check_password_body(resp, m) < 0)
        return 0;
    const char *original = ms_json_strval(m, "original_password");
    const char *password = ms_json_strval(m, "password");
    ms_result *r = NULL;
    int rc = res_db_user_get(id, &r);
    if (rc < 0)
        return rc;
    const char *stored = r->nrows ? ms_cell(r, 0, U_HASH) : NULL;
    bool ok;
    if (stored) {
        ok = identity_password_verify(original, stored);
    } else {
        pthread_once(&dummy_once, dummy_init);
        identity_password_verify(original, dummy_hash);
        ok = false;
    }
    if (!ok) {
        ms_info("password change refused user=%s reason=\"invalid user or password\"", id);
        identity_unauthorized(resp, "Error when changing user password: Invalid user / "
                                    "password");
        goto done;
    }
    if (!ms_cell_bool(r, 0, U_ENABLED)) {
        char *msg = ms_asprintf("The account is disabled for user: %s.", id);
        identity_unauthorized(resp, msg);
        free(msg);
        goto done;
    }
    json_t *opts = identity_extra_obj(ms_cell(r, 0, U_OPTIONS));
    bool locked = json_is_true(json_object_get(opts, "lock_password"));
    json_decref(opts);
    if (locked) {
        ms_resp_error(resp, 400, "You cannot change your password at this time due to "
                                 "password policy disallowing password changes. Please contact "
                                 "your administrator to reset your password.");
        goto done;
    }
    char hash[IDENTITY_HASH_LEN];
    if ((rc = identity_password_hash(password, hash)) < 0 ||
        (rc = res_db_user_set_password(id, hash)) < 0)
        goto done;
    ms_info("password changed user=%s", id);
    identity_revoke(id, NULL, NULL, NULL);
    ms_resp_empty(resp, 204);
done:
    ms_result_free(r);
    return rc;
}

/* ---- a user's projects and groups ---- */

int
identity_user_projects(ms_request *req, ms_response *resp)
{
    const char *id = ms_req_param(req, "user_id");
    identity_principal *refs = NULL;
    int n = identity_user_project_refs(id, &refs);
    if (n < 0)
        return n;
    int rc = 0;
    json_t *map = res_tags_map(&rc);
    if (!map) {
        free(refs);
        return rc;
    }
    const char *dom = ms_req_query(req, "domain_id"), *name = ms_req_query(req, "name");
    const char *en = ms_req_query(req, "enabled");
    json_t *list = json_array();
    for (int i = 0; i < n && rc == 0; i++) {
        ms_result *r = NULL;
        if ((rc = res_db_project_get(refs[i].id, &r)) < 0)
            break;
        if (r->nrows && (!dom || strcmp(dom, ms_cell(r, 0, P_DOMAIN)) == 0) &&
            (!name || strcmp(name, ms_cell(r, 0, P_NAME)) == 0) &&
            (!en || res_query_bool(en) == ms_cell_bool(r, 0, P_ENABLED)) &&
            res_inexact_match(req, "name", ms_cell(r, 0, P_NAME))) {
            json_t *tags = json_object_get(map, refs[i].id);
            json_array_append_new(list,
                                  res_project_json(req, r, 0, tags ? json_incref(tags) : NULL));
        }
        ms_result_free(r);
    }
    free(refs);
    json_decref(map);
    if (rc < 0) {
        json_decref(list);
        return rc;
    }
    ms_resp_json(resp, 200, json_pack("{s:o,s:o}", "projects", list, "links",
                                      identity_collection_links(req)));
    return 0;
}

int
identity_user_groups(ms_request *req, ms_response *resp)
{
    const char *id = ms_req_param(req, "user_id");
    ms_result *r = NULL;
    int rc = res_db_user_get(id, &r);
    if (rc < 0)
        return rc;
    bool found = r->nrows > 0;
    ms_result_free(r);
    if (!found) {
        not_found(resp, id);
        return 0;
    }
    if ((rc = res_db_user_groups(id, &r)) < 0)
        return rc;
    const char *name = ms_req_query(req, "name");
    json_t *list = json_array();
    for (size_t i = 0; i < r->nrows; i++) {
        if ((name && strcmp(name, ms_cell(r, i, G_NAME)) != 0) ||
            !res_inexact_match(req, "name", ms_cell(r, i, G_NAME)))
            continue;
        json_t *o = identity_extra_obj(ms_cell(r, i, G_EXTRA));
        json_object_set_new(o, "id", json_string(ms_cell(r, i, G_ID)));
        json_object_set_new(o, "name", json_string(ms_cell(r, i, G_NAME)));
        json_object_set_new(o, "domain_id", json_string(ms_cell(r, i, G_DOMAIN)));
        json_object_set_new(o, "description",
                            json_string(ms_cell(r, i, G_DESC) ? ms_cell(r, i, G_DESC) : ""));
        json_object_set_new(o, "links", identity_links_self(req, "groups", ms_cell(r, i, G_ID)));
        json_array_append_new(list, o);
    }
    ms_result_free(r);
    ms_resp_json(resp, 200, json_pack("{s:o,s:o}", "groups", list, "links",
                                      identity_collection_links(req)));
    return 0;
}
