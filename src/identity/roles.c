/* Roles and implied roles, as Keystone serves them: global roles (domain_id
 * null, stored as '') and domain-specific roles, names unique per domain,
 * the "immutable" resource option, attributes Keystone does not know kept
 * in `extra` and given back. Implication rules (prior -> implied) are
 * followed transitively when roles are computed (assignments.c); a change
 * to them or a role deletion drops cached token validations so the next
 * validation recomputes roles. */
#include "assignments_db.h"

#include <monostack/json.h>

#include <stdio.h>
#include <string.h>

/* Keystone's [assignment] prohibited_implied_role default. */
static const char *const prohibited_implied[] = {"admin", NULL};

static const char *const role_known[] = {"id",      "name",  "domain_id", "description",
                                         "options", "links", NULL};

json_t *
asg_role_json(ms_request *req, const ms_result *r, size_t i)
{
    json_t *o = identity_extra_obj(ms_cell(r, i, 5));
    const char *dom = ms_cell(r, i, 2);
    json_object_set_new(o, "id", json_string(ms_cell(r, i, 0)));
    json_object_set_new(o, "name", json_string(ms_cell(r, i, 1)));
    ms_json_set_str(o, "domain_id", ms_str_empty(dom) ? NULL : dom);
    ms_json_set_str(o, "description", ms_cell(r, i, 3));
    json_object_set_new(o, "options", identity_extra_obj(ms_cell(r, i, 4)));
    json_object_set_new(o, "links", identity_links_self(req, "roles", ms_cell(r, i, 0)));
    return o;
}

int
asg_role_fetch(ms_response *resp, const char *id, ms_result **r)
{
    *r = NULL;
    int rc = asg_db_role_get(id, r);
    if (rc < 0)
        return rc;
    if (!(*r)->nrows) {
        ms_result_free(*r);
        *r = NULL;
        identity_not_found(resp, "role", id);
        return -ENOENT;
    }
    return 0;
}

static bool
role_immutable(const ms_result *r)
{
    json_t *opts = identity_extra_obj(ms_cell(r, 0, 4));
    bool imm = json_is_true(json_object_get(opts, "immutable"));
    json_decref(opts);
    return imm;
}

/* The role member of the body ({} when absent, as Keystone reads it), or
 * NULL after a 400. */
static json_t *
role_member(ms_request *req, ms_response *resp)
{
    json_t *body = ms_req_json(req, resp);
    if (!body)
        return NULL;
    json_t *m = json_object_get(body, "role");
    if (!m)
        return json_object();
    if (!json_is_object(m)) {
        ms_resp_error(resp, 400, "Invalid input for field 'role': not of type 'object'");
        return NULL;
    }
    return json_incref(m);
}

/* Validate "options" ({"immutable": bool|null}) and merge it over old
 * (JSON text). Returns the new text (caller frees; NULL when empty), or
 * sets *bad after writing the 400. */
static char *
merge_options(const json_t *m, const char *old, ms_response *resp, bool *bad)
{
    *bad = false;
    json_t *opts = identity_extra_obj(old);
    json_t *in = json_object_get(m, "options");
    if (in) {
        if (!json_is_object(in)) {
            ms_resp_error(resp, 400,
                          "Invalid input for field 'options': not of type 'object'");
            goto bad;
        }
        const char *k;
        json_t *v;
        json_object_foreach(in, k, v)
        {
            if (strcmp(k, "immutable") != 0) {
                ms_resp_error(resp, 400,
                              "Invalid input for field 'options': Additional "
                              "properties are not allowed ('%s' was unexpected)",
                              k);
                goto bad;
            }
            if (json_is_null(v)) {
                json_object_del(opts, k);
            } else if (json_is_boolean(v)) {
                json_object_set(opts, k, v);
            } else {
                ms_resp_error(resp, 400,
                              "Invalid input for field 'options/immutable': not "
                              "of type 'boolean', 'null'");
                goto bad;
            }
        }
    }
    char *s =
        json_object_size(opts) ? json_dumps(opts, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(opts);
    return s;
bad:
    json_decref(opts);
    *bad = true;
    return NULL;
}

/* description: a string when present (Keystone's role schema does not
 * allow null). 0, -ENOENT (absent) or -EINVAL (400 written). */
static int
role_description(const json_t *m, ms_response *resp, const char **out)
{
    json_t *v = json_object_get(m, "description");
    *out = NULL;
    if (!v)
        return -ENOENT;
    if (!json_is_string(v)) {
        ms_resp_error(resp, 400,
                      "Invalid input for field 'description': not of type 'string'");
        return -EINVAL;
    }
    *out = json_string_value(v);
    return 0;
}

static void
role_conflict(ms_response *resp, const char *name, const char *domain_id)
{
    if (name && domain_id)
        ms_resp_error(resp, 409,
                      "Conflict occurred attempting to store role - Duplicate "
                      "entry found with name %s at domain ID %s.",
                      name, domain_id);
    else if (name)
        ms_resp_error(resp, 409,
                      "Conflict occurred attempting to store role - Duplicate "
                      "entry found with name %s.",
                      name);
    else
        ms_resp_error(resp, 409,
                      "Conflict occurred attempting to store role - Duplicate "
                      "entry.");
}

static int
role_reply(ms_request *req, ms_response *resp, const char *id, int status)
{
    ms_result *r = NULL;
    int rc = asg_role_fetch(resp, id, &r);
    if (rc < 0)
        return rc == -ENOENT ? 0 : rc;
    ms_resp_json(resp, status, json_pack("{s:o}", "role", asg_role_json(req, r, 0)));
    ms_result_free(r);
    return 0;
}

/* GET /v3/roles: global roles, or a domain's with ?domain_id. */
int
identity_role_list(ms_request *req, ms_response *resp)
{
    const char *domain = ms_req_query(req, "domain_id");
    ms_result *r = NULL;
    int rc = asg_db_role_list(ms_str_empty(domain) ? "" : domain,
                              ms_req_query(req, "name"), &r);
    if (rc < 0)
        return rc;
    return identity_list_reply(req, resp, "roles", r, asg_role_json);
}

int
identity_role_create(ms_request *req, ms_response *resp)
{
    json_t *m = role_member(req, resp);
    if (!m)
        return 0;
    int rc = 0;
    const char *name = NULL, *desc = NULL, *domain = NULL;
    ms_autofree char *options = NULL;
    ms_autofree char *extra = NULL;
    bool bad = false;
    int nrc = asg_name(m, "name", resp, &name);
    if (nrc == -EINVAL)
        goto done;
    if (nrc == -ENOENT) {
        ms_resp_error(resp, 400, "'name' is a required property");
        goto done;
    }
    if (role_description(m, resp, &desc) == -EINVAL)
        goto done;
    json_t *dv = json_object_get(m, "domain_id");
    if (dv && !json_is_null(dv)) {
        if (!json_is_string(dv) || json_string_length(dv) == 0 ||
            json_string_length(dv) >= MS_ID_LEN) {
            ms_resp_error(resp, 400,
                          "Invalid input for field 'domain_id': not a valid "
                          "domain id");
            goto done;
        }
        domain = json_string_value(dv);
    }
    options = merge_options(m, NULL, resp, &bad);
    if (bad)
        goto done;
    extra = identity_extra_text(m, role_known, NULL);
    char id[33];
    ms_uuid_hex(id);
    rc = asg_db_role_insert(id, name, domain, desc, options, extra);
    if (rc == -EEXIST) {
        role_conflict(resp, name, domain);
        rc = 0;
        goto done;
    }
    if (rc == 0)
        rc = role_reply(req, resp, id, 201);
done:
    json_decref(m);
    return rc;
}

int
identity_role_get(ms_request *req, ms_response *resp)
{
    return role_reply(req, resp, ms_req_param(req, "role_id"), 200);
}

int
identity_role_update(ms_request *req, ms_response *resp)
{
    const char *id = ms_req_param(req, "role_id");
    ms_result *r = NULL;
    int rc = asg_role_fetch(resp, id, &r);
    if (rc < 0)
        return rc == -ENOENT ? 0 : rc;
    json_t *m = role_member(req, resp);
    if (!m) {
        ms_result_free(r);
        return 0;
    }
    const char *name = ms_cell(r, 0, 1), *desc = ms_cell(r, 0, 3), *v = NULL;
    const char *old_domain = ms_cell(r, 0, 2);
    ms_autofree char *options = NULL;
    ms_autofree char *extra = NULL;
    bool bad = false;
    int src;
    if (json_object_size(m) == 0) {
        ms_resp_error(resp, 400, "{} does not have enough properties");
        goto done;
    }
    if ((src = asg_name(m, "name", resp, &v)) == -EINVAL)
        goto done;
    bool name_given = src == 0;
    if (name_given)
        name = v;
    if ((src = role_description(m, resp, &v)) == -EINVAL)
        goto done;
    if (src == 0)
        desc = v;
    options = merge_options(m, ms_cell(r, 0, 4), resp, &bad);
    if (bad)
        goto done;
    json_t *idv = json_object_get(m, "id");
    if (idv && !json_is_null(idv) &&
        !(json_is_string(idv) && strcmp(json_string_value(idv), id) == 0)) {
        ms_resp_error(resp, 400, "Cannot change ID");
        goto done;
    }
    /* An immutable role accepts only {"options": {"immutable": false|null}}. */
    if (role_immutable(r)) {
        json_t *o = json_object_get(m, "options");
        json_t *imm = json_object_get(o, "immutable");
        if (json_object_size(m) > 1 || !imm ||
            !(json_is_false(imm) || json_is_null(imm))) {
            ms_resp_error(resp, 403,
                          "Unable to update immutable role resource: `%s. Set "
                          "resource option \"immutable\" to false first.",
                          id);
            goto done;
        }
    }
    json_t *dv = json_object_get(m, "domain_id");
    if (dv) {
        const char *nd = json_is_string(dv) ? json_string_value(dv) : NULL;
        bool same = json_is_null(dv)
                        ? ms_str_empty(old_domain)
                        : nd && !ms_str_empty(old_domain) && strcmp(nd, old_domain) == 0;
        if (!same) {
            ms_resp_error(resp, 400, "Update of `domain_id` is not allowed.");
            goto done;
        }
    }
    extra = identity_extra_text(m, role_known, ms_cell(r, 0, 5));
    rc = asg_db_role_update(id, name, desc, options, extra);
    if (rc == -EEXIST) {
        const char *bd = json_is_string(dv) ? json_string_value(dv) : NULL;
        role_conflict(resp, name_given ? name : NULL, bd);
        rc = 0;
        goto done;
    }
    if (rc == 0)
        rc = role_reply(req, resp, id, 200);
done:
    json_decref(m);
    ms_result_free(r);
    return rc;
}

/* Tokens of everyone who held the role directly or through a group are
 * revoked on the scope they held it on; tokens holding it only through an
 * implication are recomputed when their cached validation is dropped. */
int
identity_role_delete(ms_request *req, ms_response *resp)
{
    const char *id = ms_req_param(req, "role_id");
    ms_result *r = NULL;
    int rc = asg_role_fetch(resp, id, &r);
    if (rc < 0)
        return rc == -ENOENT ? 0 : rc;
    bool immutable = role_immutable(r);
    ms_result_free(r);
    if (immutable) {
        ms_resp_error(resp, 403,
                      "Unable to delete immutable role resource: `%s. Set resource "
                      "option \"immutable\" to false first.",
                      id);
        return 0;
    }
    ms_result *holders = NULL;
    if ((rc = asg_db_role_holders(id, &holders)) < 0)
        return rc;
    rc = asg_db_role_delete(id);
    if (rc == 0) {
        for (size_t i = 0; i < holders->nrows; i++)
            identity_revoke(ms_cell(holders, i, 0), ms_cell(holders, i, 1), NULL, NULL);
        identity_token_cache_flush();
        ms_resp_empty(resp, 204);
    } else if (rc == -ENOENT) {
        rc = identity_not_found(resp, "role", id);
    }
    ms_result_free(holders);
    return rc;
}

/* ---- implied roles ---- */

static json_t *
inference_ref(ms_request *req, const char *id, const char *name)
{
    return json_pack("{s:s,s:o,s:s}", "id", id, "links", identity_links_self(req, "roles", id),
                     "name", name);
}

static json_t *
inference_links(ms_request *req, const char *prior, const char *implied)
{
    char *url = implied
                    ? ms_asprintf("%s/v3/roles/%s/implies/%s", ms_req_base_url(req),
                                  prior, implied)
                    : ms_asprintf("%s/v3/roles/%s/implies", ms_req_base_url(req), prior);
    json_t *l = json_pack("{s:s}", "self", url);
    free(url);
    return l;
}

/* GET /v3/roles/{role_id}/implies */
int
identity_implied_list(ms_request *req, ms_response *resp)
{
    const char *prior = ms_req_param(req, "role_id");
    ms_result *p = NULL, *r = NULL;
    int rc = asg_role_fetch(resp, prior, &p);
    if (rc < 0)
        return rc == -ENOENT ? 0 : rc;
    rc = asg_db_implied_list(prior, &r);
    if (rc == 0) {
        json_t *implies = json_array();
        for (size_t i = 0; i < r->nrows; i++)
            json_array_append_new(implies,
                                  inference_ref(req, ms_cell(r, i, 0), ms_cell(r, i, 1)));
        json_t *inf =
            json_pack("{s:o,s:o}", "prior_role",
                      inference_ref(req, prior, ms_cell(p, 0, 1)), "implies", implies);
        ms_resp_json(resp, 200,
                     json_pack("{s:o,s:o}", "role_inference", inf, "links",
                               inference_links(req, prior, NULL)));
    }
    ms_result_free(r);
    ms_result_free(p);
    return rc;
}

static bool
prohibited(const char *name)
{
    for (const char *const *p = prohibited_implied; *p; p++) {
        if (strcmp(*p, name) == 0)
            return true;
    }
    return false;
}

/* GET/HEAD/PUT/DELETE /v3/roles/{role_id}/implies/{implied_id} */
int
identity_implied_role(ms_request *req, ms_response *resp)
{
    const char *prior = ms_req_param(req, "role_id");
    const char *implied = ms_req_param(req, "implied_id");
    ms_result *p = NULL, *i = NULL;
    int rc = asg_role_fetch(resp, prior, &p);
    if (rc == 0)
        rc = asg_role_fetch(resp, implied, &i);
    if (rc < 0)
        goto done;
    if (req->method == MS_DELETE) {
        rc = asg_db_implied_delete(prior, implied);
        if (rc == -ENOENT) {
            ms_resp_error(resp, 404, "%s does not imply %s.", prior, implied);
            rc = 0;
        } else if (rc == 0) {
            identity_token_cache_flush();
            ms_resp_empty(resp, 204);
        }
        goto done;
    }
    int status = 200;
    if (req->method == MS_PUT) {
        if (prohibited(ms_cell(i, 0, 1))) {
            ms_resp_error(resp, 403, "%s cannot be an implied roles.", implied);
            goto done;
        }
        if (ms_str_empty(ms_cell(p, 0, 2)) && !ms_str_empty(ms_cell(i, 0, 2))) {
            ms_resp_error(resp, 403, "Global role cannot imply a domain-specific role");
            goto done;
        }
        rc = asg_db_implied_insert(prior, implied);
        if (rc == -EEXIST) {
            ms_resp_error(resp, 409,
                          "Conflict occurred attempting to store implied_role - "
                          "Duplicate entry.");
            rc = 0;
            goto done;
        }
        if (rc < 0)
            goto done;
        identity_token_cache_flush();
        status = 201;
    } else {
        rc = asg_db_implied_check(prior, implied);
        if (rc < 0)
            goto done;
        if (rc == 0) {
            ms_resp_error(resp, 404, "%s does not imply %s.", prior, implied);
            goto done;
        }
        rc = 0;
        if (req->method == MS_HEAD) {
            /* Keystone answers HEAD with 204, not the GET's 200. */
            ms_resp_empty(resp, 204);
            goto done;
        }
    }
    json_t *inf =
        json_pack("{s:o,s:o}", "prior_role", inference_ref(req, prior, ms_cell(p, 0, 1)),
                  "implies", inference_ref(req, implied, ms_cell(i, 0, 1)));
    ms_resp_json(resp, status,
                 json_pack("{s:o,s:o}", "role_inference", inf, "links",
                           inference_links(req, prior, implied)));
done:
    ms_result_free(p);
    ms_result_free(i);
    return rc == -ENOENT ? 0 : rc;
}

/* GET /v3/role_inferences */
int
identity_role_inferences(ms_request *req, ms_response *resp)
{
    ms_result *r = NULL;
    int rc = asg_db_inferences(&r);
    if (rc < 0)
        return rc;
    json_t *list = json_array(), *implies = NULL;
    const char *cur = NULL;
    for (size_t i = 0; i < r->nrows; i++) {
        if (!cur || strcmp(cur, ms_cell(r, i, 0)) != 0) {
            cur = ms_cell(r, i, 0);
            implies = json_array();
            json_array_append_new(list,
                                  json_pack("{s:o,s:o}", "prior_role",
                                            inference_ref(req, cur, ms_cell(r, i, 1)),
                                            "implies", implies));
        }
        json_array_append_new(implies,
                              inference_ref(req, ms_cell(r, i, 2), ms_cell(r, i, 3)));
    }
    ms_result_free(r);
    ms_resp_json(resp, 200, json_pack("{s:o}", "role_inferences", list));
    return 0;
}

/* ---- bootstrap ---- */

/* Like keystone-manage bootstrap: default roles are created immutable. */
int
identity_ensure_role(const char *name, char id_out[MS_ID_LEN])
{
    for (int attempt = 0; attempt < 2; attempt++) {
        ms_result *r = NULL;
        int rc = asg_db_role_find(name, "", &r);
        if (rc < 0)
            return rc;
        if (r->nrows) {
            snprintf(id_out, MS_ID_LEN, "%s", ms_cell(r, 0, 0));
            ms_result_free(r);
            return 0;
        }
        ms_result_free(r);
        char id[33];
        ms_uuid_hex(id);
        rc = asg_db_role_insert(id, name, "", NULL, "{\"immutable\":true}", NULL);
        if (rc == 0) {
            snprintf(id_out, MS_ID_LEN, "%s", id);
            return 0;
        }
        if (rc != -EEXIST)
            return rc;
        /* Created concurrently: read it back. */
    }
    return -EEXIST;
}

int
identity_ensure_implied(const char *prior_id, const char *implied_id)
{
    int rc = asg_db_implied_insert(prior_id, implied_id);
    if (rc == 0)
        identity_token_cache_flush();
    return rc == -EEXIST ? 0 : rc;
}
