/* Groups and group membership, as Keystone serves them. A group lives in a
 * domain (the token's domain, or the default domain, when the body names
 * none); its name is unique there. Removing a user from a group, or
 * deleting a group that held role assignments, revokes the tokens of the
 * users concerned: their roles came partly from the group. */
#include "assignments_db.h"

#include <monostack/json.h>

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *const group_known[] = {"id",          "name",  "domain_id",
                                          "description", "links", NULL};

static json_t *
group_json(ms_request *req, const ms_result *r, size_t i)
{
    json_t *o = identity_extra_obj(ms_cell(r, i, 4));
    json_object_set_new(o, "id", json_string(ms_cell(r, i, 0)));
    json_object_set_new(o, "name", json_string(ms_cell(r, i, 1)));
    json_object_set_new(o, "domain_id", json_string(ms_cell(r, i, 2)));
    ms_json_set_str(o, "description", ms_cell(r, i, 3));
    json_object_set_new(o, "links", identity_links_self(req, "groups", ms_cell(r, i, 0)));
    return o;
}

/* A group by id: 0 with one row in *r, -ENOENT (404 written), or <0. */
static int
group_fetch(ms_response *resp, const char *id, ms_result **r)
{
    *r = NULL;
    int rc = asg_db_group_get(id, r);
    if (rc < 0)
        return rc;
    if (!(*r)->nrows) {
        ms_result_free(*r);
        *r = NULL;
        identity_not_found(resp, "group", id);
        return -ENOENT;
    }
    return 0;
}

static int
group_reply(ms_request *req, ms_response *resp, const char *id, int status)
{
    ms_result *r = NULL;
    int rc = group_fetch(resp, id, &r);
    if (rc < 0)
        return rc == -ENOENT ? 0 : rc;
    ms_resp_json(resp, status, json_pack("{s:o}", "group", group_json(req, r, 0)));
    ms_result_free(r);
    return 0;
}

/* The group member of the body ({} when absent), new reference, or NULL
 * after a 400. */
static json_t *
group_member_obj(ms_request *req, ms_response *resp)
{
    json_t *body = ms_req_json(req, resp);
    if (!body)
        return NULL;
    json_t *m = json_object_get(body, "group");
    if (!m)
        return json_object();
    if (!json_is_object(m)) {
        ms_resp_error(resp, 400, "Invalid input for field 'group': not of type 'object'");
        return NULL;
    }
    return json_incref(m);
}

/* Keystone strips group names; the result must still be a name. */
static char *
stripped(const char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    return ms_strndup(s, n);
}

/* description: string or null. 0, -ENOENT, or -EINVAL (400 written). */
static int
group_description(const json_t *m, ms_response *resp, const char **out, bool *given)
{
    json_t *v = json_object_get(m, "description");
    *out = NULL;
    *given = v != NULL;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v)) {
        ms_resp_error(resp, 400,
                      "Invalid input for field 'description': not of type "
                      "'string', 'null'");
        return -EINVAL;
    }
    *out = json_string_value(v);
    return 0;
}

static bool
valid_id_string(const char *s)
{
    size_t n = strlen(s);
    return n >= 1 && n <= 64 &&
           strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") ==
               n;
}

static void
group_conflict(ms_response *resp, const char *name, const char *domain_id)
{
    if (name && domain_id)
        ms_resp_error(resp, 409,
                      "Conflict occurred attempting to store group - Duplicate "
                      "entry found with name %s at domain ID %s.",
                      name, domain_id);
    else if (name)
        ms_resp_error(resp, 409,
                      "Conflict occurred attempting to store group - Duplicate "
                      "entry found with name %s.",
                      name);
    else
        ms_resp_error(resp, 409,
                      "Conflict occurred attempting to store group - Duplicate "
                      "entry.");
}

/* GET /v3/groups */
int
identity_group_list(ms_request *req, ms_response *resp)
{
    const char *domain = ms_req_query(req, "domain_id");
    /* A domain-scoped caller sees its domain's groups only. */
    if (req->auth.domain_id[0])
        domain = req->auth.domain_id;
    ms_result *r = NULL;
    int rc = asg_db_group_list(ms_str_empty(domain) ? NULL : domain,
                               ms_req_query(req, "name"), &r);
    if (rc < 0)
        return rc;
    return identity_list_reply(req, resp, "groups", r, group_json);
}

int
identity_group_create(ms_request *req, ms_response *resp)
{
    json_t *m = group_member_obj(req, resp);
    if (!m)
        return 0;
    int rc = 0;
    const char *name = NULL, *desc = NULL, *domain = NULL;
    ms_autofree char *clean = NULL;
    ms_autofree char *extra = NULL;
    bool given;
    int nrc = asg_name(m, "name", resp, &name);
    if (nrc == -EINVAL)
        goto done;
    if (nrc == -ENOENT) {
        ms_resp_error(resp, 400, "'name' is a required property");
        goto done;
    }
    if (group_description(m, resp, &desc, &given) == -EINVAL)
        goto done;
    json_t *dv = json_object_get(m, "domain_id");
    if (dv) {
        if (!json_is_string(dv) || !valid_id_string(json_string_value(dv))) {
            ms_resp_error(resp, 400,
                          "Invalid input for field 'domain_id': does not match "
                          "'^[a-zA-Z0-9-]+$'");
            goto done;
        }
        domain = json_string_value(dv);
    } else {
        domain = req->auth.domain_id[0] ? req->auth.domain_id : IDENTITY_DEFAULT_DOMAIN;
    }
    identity_principal d;
    rc = identity_domain_lookup(domain, NULL, &d);
    if (rc == -ENOENT) {
        rc = identity_not_found(resp, "domain", domain);
        goto done;
    }
    if (rc < 0)
        goto done;
    clean = stripped(name);
    extra = identity_extra_text(m, group_known, NULL);
    char id[33];
    ms_uuid_hex(id);
    rc = asg_db_group_insert(id, clean, domain, desc ? desc : "", extra);
    if (rc == -EEXIST) {
        group_conflict(resp, clean, domain);
        rc = 0;
        goto done;
    }
    if (rc == 0)
        rc = group_reply(req, resp, id, 201);
done:
    json_decref(m);
    return rc;
}

int
identity_group_get(ms_request *req, ms_response *resp)
{
    return group_reply(req, resp, ms_req_param(req, "group_id"), 200);
}

int
identity_group_update(ms_request *req, ms_response *resp)
{
    const char *id = ms_req_param(req, "group_id");
    json_t *m = group_member_obj(req, resp);
    if (!m)
        return 0;
    int rc = 0;
    ms_result *r = NULL;
    const char *name = NULL, *desc = NULL;
    ms_autofree char *clean = NULL;
    ms_autofree char *extra = NULL;
    bool desc_given;
    if (json_object_size(m) == 0) {
        ms_resp_error(resp, 400, "{} does not have enough properties");
        goto done;
    }
    int nrc = asg_name(m, "name", resp, &name);
    if (nrc == -EINVAL || group_description(m, resp, &desc, &desc_given) == -EINVAL)
        goto done;
    json_t *dv = json_object_get(m, "domain_id");
    if (dv && (!json_is_string(dv) || !valid_id_string(json_string_value(dv)))) {
        ms_resp_error(resp, 400,
                      "Invalid input for field 'domain_id': does not match "
                      "'^[a-zA-Z0-9-]+$'");
        goto done;
    }
    json_t *idv = json_object_get(m, "id");
    if (idv && !json_is_null(idv) &&
        !(json_is_string(idv) && strcmp(json_string_value(idv), id) == 0)) {
        ms_resp_error(resp, 400, "Cannot change ID");
        goto done;
    }
    if ((rc = group_fetch(resp, id, &r)) < 0)
        goto done;
    if (dv && strcmp(json_string_value(dv), ms_cell(r, 0, 2)) != 0) {
        ms_resp_error(resp, 400, "Cannot change Domain ID");
        goto done;
    }
    clean = nrc == 0 ? stripped(name) : ms_strdup(ms_cell(r, 0, 1));
    if (!desc_given)
        desc = ms_cell(r, 0, 3);
    extra = identity_extra_text(m, group_known, ms_cell(r, 0, 4));
    rc = asg_db_group_update(id, clean, desc, extra);
    if (rc == -EEXIST) {
        group_conflict(resp, nrc == 0 ? clean : NULL, dv ? json_string_value(dv) : NULL);
        rc = 0;
        goto done;
    }
    if (rc == 0)
        rc = group_reply(req, resp, id, 200);
done:
    json_decref(m);
    ms_result_free(r);
    return rc == -ENOENT ? 0 : rc;
}

/* Revoke the tokens of every member (their group-given roles go away). */
static void
revoke_members(const ms_result *members)
{
    for (size_t i = 0; members && i < members->nrows; i++)
        identity_revoke(ms_cell(members, i, 0), NULL, NULL, NULL);
}

int
identity_group_delete(ms_request *req, ms_response *resp)
{
    const char *id = ms_req_param(req, "group_id");
    ms_result *members = NULL;
    int rc = asg_db_actor_has_grants(id);
    if (rc < 0)
        return rc;
    if (rc == 1 && (rc = asg_db_group_member_ids(id, &members)) < 0)
        return rc;
    rc = asg_db_group_delete(id);
    if (rc == 0) {
        revoke_members(members);
        identity_token_cache_flush();
        ms_resp_empty(resp, 204);
    } else if (rc == -ENOENT) {
        rc = identity_not_found(resp, "group", id);
    }
    ms_result_free(members);
    return rc;
}

/* oslo's bool_from_string with default true, as Keystone reads filters. */
static int
bool_filter(const char *v)
{
    if (!v)
        return -1;
    static const char *const no[] = {"f", "false", "off", "n", "no", "0"};
    for (size_t i = 0; i < MS_ARRAY_LEN(no); i++) {
        if (strcasecmp(v, no[i]) == 0)
            return 0;
    }
    return 1;
}

/* A user row of asg_db_group_users as Keystone shows a user. */
static json_t *
user_json(ms_request *req, const ms_result *r, size_t i)
{
    json_t *o = identity_extra_obj(ms_cell(r, i, 9));
    json_object_del(o, "password");
    json_object_set_new(o, "id", json_string(ms_cell(r, i, 0)));
    json_object_set_new(o, "name", json_string(ms_cell(r, i, 1)));
    json_object_set_new(o, "domain_id", json_string(ms_cell(r, i, 2)));
    json_object_set_new(o, "enabled", json_boolean(ms_cell_bool(r, i, 3)));
    if (ms_cell(r, i, 4))
        json_object_set_new(o, "default_project_id", json_string(ms_cell(r, i, 4)));
    if (ms_cell(r, i, 5))
        json_object_set_new(o, "description", json_string(ms_cell(r, i, 5)));
    if (ms_cell(r, i, 6))
        json_object_set_new(o, "email", json_string(ms_cell(r, i, 6)));
    const char *exp = ms_cell(r, i, 7);
    if (exp) {
        /* DATETIME "YYYY-MM-DD HH:MM:SS[.ffffff]" -> "YYYY-MM-DDTHH:MM:SS.ffffff" */
        char buf[40];
        snprintf(buf, sizeof(buf), "%s", exp);
        if (strlen(buf) > 10 && buf[10] == ' ')
            buf[10] = 'T';
        if (strlen(buf) == 19)
            strcat(buf, ".000000");
        json_object_set_new(o, "password_expires_at", json_string(buf));
    } else {
        json_object_set_new(o, "password_expires_at", json_null());
    }
    json_object_set_new(o, "options", identity_extra_obj(ms_cell(r, i, 8)));
    json_object_set_new(o, "links", identity_links_self(req, "users", ms_cell(r, i, 0)));
    return o;
}

/* GET /v3/groups/{group_id}/users */
int
identity_group_users(ms_request *req, ms_response *resp)
{
    const char *id = ms_req_param(req, "group_id");
    ms_result *g = NULL, *r = NULL;
    int rc = group_fetch(resp, id, &g);
    if (rc < 0)
        return rc == -ENOENT ? 0 : rc;
    ms_result_free(g);
    const char *domain = ms_req_query(req, "domain_id");
    if (req->auth.domain_id[0])
        domain = req->auth.domain_id;
    rc = asg_db_group_users(id, ms_str_empty(domain) ? NULL : domain,
                            ms_req_query(req, "name"),
                            bool_filter(ms_req_query(req, "enabled")), &r);
    if (rc < 0)
        return rc;
    return identity_list_reply(req, resp, "users", r, user_json);
}

/* 0 when both exist; -ENOENT after the 404 (group checked first, as
 * Keystone does); <0 on database trouble. */
static int
member_targets(ms_response *resp, const char *group_id, const char *user_id)
{
    ms_result *g = NULL;
    int rc = group_fetch(resp, group_id, &g);
    ms_result_free(g);
    if (rc < 0)
        return rc;
    identity_principal u;
    rc = identity_user_lookup(user_id, NULL, NULL, NULL, &u);
    memset(u.password_hash, 0, sizeof(u.password_hash));
    if (rc == -ENOENT)
        identity_not_found(resp, "user", user_id);
    return rc;
}

static void
not_member(ms_response *resp, const char *group_id, const char *user_id)
{
    ms_resp_error(resp, 404, "User '%s' not found in group '%s'", user_id, group_id);
}

/* HEAD/GET/PUT/DELETE /v3/groups/{group_id}/users/{user_id} */
int
identity_group_member(ms_request *req, ms_response *resp)
{
    const char *gid = ms_req_param(req, "group_id");
    const char *uid = ms_req_param(req, "user_id");
    int rc;
    if (req->method == MS_DELETE) {
        rc = asg_db_member_remove(gid, uid);
        if (rc == -ENOENT) {
            rc = member_targets(resp, gid, uid);
            if (rc == 0)
                not_member(resp, gid, uid);
            return rc == -ENOENT ? 0 : rc;
        }
        if (rc < 0)
            return rc;
        identity_revoke(uid, NULL, NULL, NULL);
        ms_resp_empty(resp, 204);
        return 0;
    }
    rc = member_targets(resp, gid, uid);
    if (rc < 0)
        return rc == -ENOENT ? 0 : rc;
    if (req->method == MS_PUT) {
        if ((rc = asg_db_member_add(gid, uid)) < 0)
            return rc;
        /* The member's tokens gain the group's roles when next validated. */
        identity_token_cache_flush();
        ms_resp_empty(resp, 204);
        return 0;
    }
    rc = asg_db_member_check(gid, uid);
    if (rc < 0)
        return rc;
    if (rc == 0)
        not_member(resp, gid, uid);
    else
        ms_resp_empty(resp, 204);
    return 0;
}
