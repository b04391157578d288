/* Keystone v3 projects (/v3/projects) and project tags. Projects form a
 * hierarchy under their domain: a top-level project's parent_id is its
 * domain's id, as Keystone shows it. The rules are Keystone's: a project
 * is created only under an enabled branch of at most RES_MAX_PROJECT_DEPTH
 * levels, is disabled only when its children are, is deleted only as a
 * leaf, and never moves (parent_id and domain_id are fixed). A domain is
 * listed and shown here too, in project form, when asked for with
 * is_domain=true or by its id. */
#include "resources_db.h"

#include <monostack/json.h>

#include <stdio.h>
#include <string.h>

static const char *const project_known[] = {
    "id", "name", "domain_id", "parent_id", "description", "enabled", "is_domain", "tags",
    "options", "links", NULL,
};

static void
not_found(ms_response *resp, const char *id)
{
    ms_resp_error(resp, 404, "Could not find project: %s.", id);
}

/* What the tag and get handlers need to know of a project or a domain. */
typedef struct {
    bool found, is_domain, enabled;
    char domain_id[MS_ID_LEN];
    char parent_id[MS_ID_LEN];
    json_t *options;
} target;

static int
load_target(const char *id, target *t)
{
    memset(t, 0, sizeof(*t));
    ms_result *r = NULL;
    int rc = res_db_project_get(id, &r);
    if (rc < 0)
        return rc;
    if (r->nrows) {
        t->found = true;
        t->enabled = ms_cell_bool(r, 0, P_ENABLED);
        snprintf(t->domain_id, sizeof(t->domain_id), "%s", ms_cell(r, 0, P_DOMAIN));
        snprintf(t->parent_id, sizeof(t->parent_id), "%s",
                 ms_cell(r, 0, P_PARENT) ? ms_cell(r, 0, P_PARENT) : "");
        t->options = res_options_of_extra(ms_cell(r, 0, P_EXTRA));
        ms_result_free(r);
        return 0;
    }
    ms_result_free(r);
    r = NULL;
    if ((rc = res_db_domain_get(id, &r)) < 0)
        return rc;
    if (r->nrows) {
        t->found = t->is_domain = true;
        t->enabled = ms_cell_bool(r, 0, D_ENABLED);
        t->options = res_options_of_extra(ms_cell(r, 0, D_EXTRA));
    }
    ms_result_free(r);
    return 0;
}

static void
target_free(target *t)
{
    json_decref(t->options);
    t->options = NULL;
}

/* get_project / list_project_tags: admin or system reader, a reader of the
 * project's domain, or a token scoped to the project itself. */
static bool
may_read(const ms_request *req, const char *id, const target *t)
{
    const ms_auth_ctx *a = &req->auth;
    if (res_is_cloud_reader(req))
        return true;
    if (a->project_id[0] && strcmp(a->project_id, id) == 0)
        return true;
    return a->domain_id[0] && t->found && !t->is_domain &&
           strcmp(a->domain_id, t->domain_id) == 0 && res_has_reader(req);
}

static int
project_reply(ms_request *req, ms_response *resp, const char *id, int status)
{
    ms_result *r = NULL;
    int rc = res_db_project_get(id, &r);
    if (rc < 0)
        return rc;
    json_t *o = NULL;
    if (r->nrows) {
        json_t *tags = res_tags_json(id, &rc);
        if (tags)
            o = res_project_json(req, r, 0, tags);
    } else {
        ms_result_free(r);
        r = NULL;
        if ((rc = res_db_domain_get(id, &r)) < 0)
            return rc;
        if (!r->nrows) {
            ms_result_free(r);
            not_found(resp, id);
            return 0;
        }
        json_t *tags = res_tags_json(id, &rc);
        if (tags)
            o = res_domain_as_project_json(req, r, 0, tags);
    }
    ms_result_free(r);
    if (!o)
        return rc;
    ms_resp_json(resp, status, json_pack("{s:o}", "project", o));
    return 0;
}

/* ---- list ---- */

static void
list_domains_as_projects(ms_request *req, json_t *list, json_t *map, const char *only_domain)
{
    const char *en = ms_req_query(req, "enabled");
    if (ms_req_query(req, "domain_id") || ms_req_query(req, "parent_id"))
        return;    /* a domain has neither */
    ms_result *r = NULL;
    if (res_db_domain_list(ms_req_query(req, "name"), en ? res_query_bool(en) : -1, &r) < 0)
        return;
    for (size_t i = 0; i < r->nrows; i++) {
        json_t *tags = json_object_get(map, ms_cell(r, i, D_ID));
        if ((only_domain && strcmp(only_domain, ms_cell(r, i, D_ID)) != 0) ||
            !res_inexact_match(req, "name", ms_cell(r, i, D_NAME)) || !res_tags_match(req, tags))
            continue;
        json_array_append_new(list, res_domain_as_project_json(req, r, i,
                                                               tags ? json_incref(tags) : NULL));
    }
    ms_result_free(r);
}

int
identity_project_list(ms_request *req, ms_response *resp)
{
    const ms_auth_ctx *a = &req->auth;
    const char *only_domain = NULL;
    json_t *own = NULL;
    int rc = 0;
    if (res_is_cloud_reader(req)) {
        if (a->domain_id[0])
            only_domain = a->domain_id;
    } else if (a->domain_id[0] && res_has_reader(req)) {
        only_domain = a->domain_id;
    } else {
        /* Keystone's identity:list_projects: a project member lists its
         * projects through /v3/auth/projects or /v3/users/{id}/projects. */
        res_forbidden(resp, "list_projects");
        return 0;
    }
    const char *isd = ms_req_query(req, "is_domain");
    bool domains = isd && res_query_bool(isd);
    json_t *map = res_tags_map(&rc);
    if (!map) {
        json_decref(own);
        return rc;
    }
    json_t *list = json_array();
    if (domains) {
        if (!own)
            list_domains_as_projects(req, list, map, only_domain);
    } else {
        const char *en = ms_req_query(req, "enabled");
        const char *dom = ms_req_query(req, "domain_id");
        ms_result *r = NULL;
        rc = res_db_project_list(dom, ms_req_query(req, "parent_id"), ms_req_query(req, "name"),
                                 en ? res_query_bool(en) : -1, &r);
        if (rc < 0) {
            json_decref(list);
            json_decref(map);
            json_decref(own);
            return rc;
        }
        for (size_t i = 0; i < r->nrows; i++) {
            const char *id = ms_cell(r, i, P_ID);
            json_t *tags = json_object_get(map, id);
            if ((only_domain && strcmp(only_domain, ms_cell(r, i, P_DOMAIN)) != 0) ||
                (own && !json_object_get(own, id)) ||
                !res_inexact_match(req, "name", ms_cell(r, i, P_NAME)) ||
                !res_tags_match(req, tags))
                continue;
            json_array_append_new(list,
                                  res_project_json(req, r, i, tags ? json_incref(tags) : NULL));
        }
        ms_result_free(r);
    }
    json_decref(map);
    json_decref(own);
    ms_resp_json(resp, 200, json_pack("{s:o,s:o}", "projects", list, "links",
                                      identity_collection_links(req)));
    return 0;
}

/* ---- get ---- */

int
identity_project_get(ms_request *req, ms_response *resp)
{
    const char *id = ms_req_param(req, "project_id");
    target t;
    int rc = load_target(id, &t);
    if (rc < 0)
        return rc;
    bool ok = may_read(req, id, &t), found = t.found;
    target_free(&t);
    if (!ok) {
        res_forbidden(resp, "get_project");
        return 0;
    }
    if (!found) {
        not_found(resp, id);
        return 0;
    }
    return project_reply(req, resp, id, 200);
}

/* ---- create ---- */

static int
check_project_fields(ms_response *resp, const json_t *m)
{
    json_t *v;
    if ((v = json_object_get(m, "name")) && res_check_name(resp, v, 64) < 0)
        return -EINVAL;
    if ((v = json_object_get(m, "description")) && res_check_desc(resp, "description", v) < 0)
        return -EINVAL;
    if ((v = json_object_get(m, "domain_id")) && res_check_id(resp, "domain_id", v, true) < 0)
        return -EINVAL;
    if ((v = json_object_get(m, "enabled")) && res_check_bool(resp, "enabled", v) < 0)
        return -EINVAL;
    if ((v = json_object_get(m, "is_domain")) && res_check_bool(resp, "is_domain", v) < 0)
        return -EINVAL;
    if ((v = json_object_get(m, "parent_id")) && res_check_id(resp, "parent_id", v, true) < 0)
        return -EINVAL;
    if ((v = json_object_get(m, "tags")) && res_check_tags(resp, "tags", v) < 0)
        return -EINVAL;
    if ((v = json_object_get(m, "options")) && res_check_options(resp, v, false) < 0)
        return -EINVAL;
    return 0;
}

/* Walk up from parent_id (a project of domain_id) to the domain: the number
 * of project levels above a new child, and the first disabled ancestor
 * (including the domain) into disabled ("" when none). */
static int
ancestry(const char *parent_id, const char *domain_id, int *levels, char disabled[MS_ID_LEN])
{
    char cur[MS_ID_LEN];
    snprintf(cur, sizeof(cur), "%s", parent_id);
    *levels = 0;
    disabled[0] = '\0';
    while (strcmp(cur, domain_id) != 0 && *levels <= RES_MAX_PROJECT_DEPTH + 1) {
        ms_result *r = NULL;
        int rc = res_db_project_get(cur, &r);
        if (rc < 0)
            return rc;
        if (!r->nrows) {
            ms_result_free(r);
            break;
        }
        (*levels)++;
        if (!disabled[0] && !ms_cell_bool(r, 0, P_ENABLED))
            snprintf(disabled, MS_ID_LEN, "%s", cur);
        snprintf(cur, sizeof(cur), "%s", ms_cell(r, 0, P_PARENT) ? ms_cell(r, 0, P_PARENT) : "");
        ms_result_free(r);
        if (!cur[0])
            break;
    }
    if (!disabled[0]) {
        ms_result *r = NULL;
        int rc = res_db_domain_get(domain_id, &r);
        if (rc < 0)
            return rc;
        if (r->nrows && !ms_cell_bool(r, 0, D_ENABLED))
            snprintf(disabled, MS_ID_LEN, "%s", domain_id);
        ms_result_free(r);
    }
    return 0;
}

/* A non-empty string member, or NULL (absent, null or ""). */
static const char *
given(const json_t *m, const char *key)
{
    const char *s = ms_json_strval(m, key);
    return ms_str_empty(s) ? NULL : s;
}

/* Check where the new project goes; 0, -EINVAL (answered) or -errno. */
static int
check_placement(ms_response *resp, const char *domain_id, const char *parent_id)
{
    int rc = res_domain_exists(domain_id);
    if (rc < 0)
        return rc;
    if (!rc) {
        ms_resp_error(resp, 400, "Could not find domain: %s.", domain_id);
        return -EINVAL;
    }
    if (strcmp(parent_id, domain_id) != 0) {
        ms_result *r = NULL;
        if ((rc = res_db_project_get(parent_id, &r)) < 0)
            return rc;
        if (!r->nrows) {
            ms_result_free(r);
            if ((rc = res_domain_exists(parent_id)) < 0)
                return rc;
            if (rc)
                ms_resp_error(resp, 400, "Cannot create project, the parent (%s) is acting as a "
                                         "domain, but this project's domain id (%s) does not "
                                         "match the parent's id.", parent_id, domain_id);
            else
                ms_resp_error(resp, 400, "Could not find project: %s.", parent_id);
            return -EINVAL;
        }
        bool same = strcmp(ms_cell(r, 0, P_DOMAIN), domain_id) == 0;
        if (!same)
            ms_resp_error(resp, 400, "Cannot create project, since it specifies its domain_id "
                                     "%s, but specifies a parent in a different domain (%s).",
                          domain_id, ms_cell(r, 0, P_DOMAIN));
        ms_result_free(r);
        if (!same)
            return -EINVAL;
    }
    int levels;
    char disabled[MS_ID_LEN];
    if ((rc = ancestry(parent_id, domain_id, &levels, disabled)) < 0)
        return rc;
    if (disabled[0]) {
        ms_resp_error(resp, 400, "cannot create a project in a branch containing a disabled "
                                 "project: %s", disabled);
        return -EINVAL;
    }
    if (levels + 1 > RES_MAX_PROJECT_DEPTH) {
        ms_resp_error(resp, 403, "Max hierarchy depth reached for %s branch.", parent_id);
        return -EINVAL;
    }
    return 0;
}

int
identity_project_create(ms_request *req, ms_response *resp)
{
    json_t *m = res_member(req, resp, "project");
    if (!m)
        return 0;
    if (!json_object_get(m, "name")) {
        res_invalid(resp, NULL, "'name' is a required property");
        return 0;
    }
    if (check_project_fields(resp, m) < 0)
        return 0;
    if (json_is_true(json_object_get(m, "is_domain"))) {
        if (given(m, "parent_id")) {
            ms_resp_error(resp, 400, "only root projects are allowed to act as domains.");
            return 0;
        }
        return res_domain_create(req, resp, m, true);
    }
    const char *domain_id = given(m, "domain_id");
    if (!domain_id)
        domain_id = req->auth.domain_id[0] ? req->auth.domain_id : IDENTITY_DEFAULT_DOMAIN;
    const char *parent_id = given(m, "parent_id");
    if (!parent_id)
        parent_id = domain_id;
    int rc = check_placement(resp, domain_id, parent_id);
    if (rc < 0)
        return rc == -EINVAL ? 0 : rc;

    char id[33];
    ms_uuid_hex(id);
    ms_autofree char *name = res_strip(ms_json_strval(m, "name"));
    json_t *d = json_object_get(m, "description");
    const char *desc = d ? json_string_value(d) : "";
    bool enabled = !json_is_false(json_object_get(m, "enabled"));
    json_t *tags = json_object_get(m, "tags");
    json_t *stripped = tags ? res_tags_strip(tags) : NULL;
    json_t *opts = res_options_merge(json_object(), json_object_get(m, "options"));
    ms_autofree char *extra0 = identity_extra_text(m, project_known, NULL);
    ms_autofree char *extra = res_extra_with_options(extra0, opts);
    json_decref(opts);
    rc = res_db_project_insert(id, name, domain_id, parent_id, desc, enabled, extra, stripped);
    json_decref(stripped);
    if (rc == -EEXIST) {
        res_project_conflict(resp, false, name, id);
        return 0;
    }
    if (rc < 0)
        return rc;
    ms_info("project created project=%s domain=%s", id, domain_id);
    return project_reply(req, resp, id, 201);
}

/* ---- update ---- */

/* PATCH /v3/projects/{id} of a project acting as a domain (is_domain): as
 * in keystone, where domains are projects, it updates the domain's name,
 * description, enabled flag and tags (tempest disables one this way before
 * deleting it). */
static int
update_domain_as_project(ms_request *req, ms_response *resp, const char *id, json_t *m)
{
    ms_result *r = NULL;
    int rc = res_db_domain_get(id, &r);
    if (rc < 0)
        return rc;
    if (!r->nrows) {
        ms_result_free(r);
        not_found(resp, id);
        return 0;
    }
    json_t *v = json_object_get(m, "is_domain");
    if ((v && !json_is_true(v)) ||
        ((v = json_object_get(m, "parent_id")) && !json_is_null(v)) ||
        ((v = json_object_get(m, "domain_id")) && !json_is_null(v))) {
        ms_result_free(r);
        ms_resp_error(resp, 400, "Cannot change the is_domain, parent_id or domain_id of a "
                                 "project acting as a domain.");
        return 0;
    }
    json_t *opts = res_options_of_extra(ms_cell(r, 0, D_EXTRA));
    bool immutable = json_is_true(json_object_get(opts, "immutable"));
    json_decref(opts);
    if (immutable) {
        ms_result_free(r);
        ms_resp_error(resp, 403, "Unable to update immutable domain resource: `%s. Set "
                                 "resource option \"immutable\" to false first.", id);
        return 0;
    }
    v = json_object_get(m, "name");
    ms_autofree char *name = res_strip(v ? json_string_value(v) : ms_cell(r, 0, D_NAME));
    v = json_object_get(m, "description");
    const char *desc = v ? json_string_value(v) : ms_cell(r, 0, D_DESC);
    bool was_enabled = ms_cell_bool(r, 0, D_ENABLED), enabled = was_enabled;
    if ((v = json_object_get(m, "enabled")))
        enabled = json_is_true(v);
    json_t *tags = (v = json_object_get(m, "tags")) ? res_tags_strip(v) : NULL;
    rc = res_db_domain_update(id, name, desc, enabled, ms_cell(r, 0, D_EXTRA), tags);
    json_decref(tags);
    ms_result_free(r);
    r = NULL;
    if (rc == -EEXIST) {
        res_project_conflict(resp, true, name, id);
        return 0;
    }
    if (rc < 0)
        return rc;
    if (was_enabled && !enabled) {
        ms_info("domain disabled domain=%s", id);
        identity_revoke(NULL, NULL, id, NULL);
    }
    if ((rc = res_db_domain_get(id, &r)) < 0)
        return rc;
    if (!r->nrows) {
        ms_result_free(r);
        not_found(resp, id);
        return 0;
    }
    json_t *t = res_tags_json(id, &rc);
    if (!t) {
        ms_result_free(r);
        return rc;
    }
    ms_resp_json(resp, 200, json_pack("{s:o}", "project",
                                      res_domain_as_project_json(req, r, 0, t)));
    ms_result_free(r);
    return 0;
}

int
identity_project_update(ms_request *req, ms_response *resp)
{
    const char *id = ms_req_param(req, "project_id");
    json_t *m = res_member(req, resp, "project");
    if (!m || res_check_not_empty(resp, m) < 0 || check_project_fields(resp, m) < 0)
        return 0;
    json_t *v = json_object_get(m, "id");
    if (v && !json_is_null(v) && !(json_is_string(v) && strcmp(json_string_value(v), id) == 0)) {
        ms_resp_error(resp, 400, "Cannot change ID");
        return 0;
    }
    ms_result *r = NULL;
    int rc = res_db_project_get(id, &r);
    if (rc < 0)
        return rc;
    if (!r->nrows) {
        ms_result_free(r);
        if ((rc = res_domain_exists(id)) < 0)
            return rc;
        if (rc)
            return update_domain_as_project(req, resp, id, m);
        not_found(resp, id);
        return 0;
    }
    json_t *opts = res_options_of_extra(ms_cell(r, 0, P_EXTRA));
    json_t *stripped = NULL;
    ms_autofree char *name = NULL, *extra0 = NULL, *extra = NULL;
    const char *domain_id = ms_cell(r, 0, P_DOMAIN), *parent = ms_cell(r, 0, P_PARENT);
    rc = 0;
    if ((v = json_object_get(m, "domain_id")) && !ms_streq(json_string_value(v), domain_id)) {
        ms_resp_error(resp, 400, "Cannot change Domain ID");
        goto done;
    }
    if (res_immutable_blocks(opts, m)) {
        ms_resp_error(resp, 403, "Unable to update immutable project resource: `%s. Set "
                                 "resource option \"immutable\" to false first.", id);
        goto done;
    }
    if ((v = json_object_get(m, "parent_id")) && !ms_streq(json_string_value(v), parent)) {
        ms_resp_error(resp, 403, "Update of `parent_id` is not allowed.");
        goto done;
    }
    if (json_is_true(json_object_get(m, "is_domain"))) {
        ms_resp_error(resp, 400, "Update of `is_domain` is not allowed.");
        goto done;
    }
    bool was_enabled = ms_cell_bool(r, 0, P_ENABLED), enabled = was_enabled;
    if ((v = json_object_get(m, "enabled")))
        enabled = json_is_true(v);
    if (!was_enabled && enabled && parent) {
        int levels;
        char disabled[MS_ID_LEN];
        if ((rc = ancestry(parent, domain_id, &levels, disabled)) < 0)
            goto done;
        if (disabled[0]) {
            ms_resp_error(resp, 403, "Cannot enable project %s since it has disabled parents",
                          id);
            goto done;
        }
    }
    if (was_enabled && !enabled) {
        long long total, on;
        if ((rc = res_db_project_children(id, &total, &on)) < 0)
            goto done;
        if (on) {
            ms_resp_error(resp, 403, "Cannot disable project %s since its subtree contains "
                                     "enabled projects.", id);
            goto done;
        }
    }
    v = json_object_get(m, "name");
    name = res_strip(v ? json_string_value(v) : ms_cell(r, 0, P_NAME));
    v = json_object_get(m, "description");
    const char *desc = v ? json_string_value(v) : ms_cell(r, 0, P_DESC);
    if ((v = json_object_get(m, "tags")))
        stripped = res_tags_strip(v);
    if ((v = json_object_get(m, "options")))
        opts = res_options_merge(opts, v);
    extra0 = identity_extra_text(m, project_known, ms_cell(r, 0, P_EXTRA));
    extra = res_extra_with_options(extra0, opts);
    rc = res_db_project_update(id, name, desc, enabled, extra, stripped);
    if (rc == -EEXIST) {
        res_project_conflict(resp, false, name, id);
        rc = 0;
        goto done;
    }
    if (rc < 0)
        goto done;
    if (was_enabled && !enabled) {
        ms_info("project disabled project=%s", id);
        identity_revoke(NULL, id, NULL, NULL);
    }
    rc = project_reply(req, resp, id, 200);
done:
    json_decref(stripped);
    json_decref(opts);
    ms_result_free(r);
    return rc;
}

/* ---- delete ---- */

int
identity_project_delete(ms_request *req, ms_response *resp)
{
    const char *id = ms_req_param(req, "project_id");
    target t;
    int rc = load_target(id, &t);
    if (rc < 0)
        return rc;
    bool found = t.found && !t.is_domain, is_domain = t.is_domain, enabled = t.enabled;
    bool immutable = json_is_true(json_object_get(t.options, "immutable"));
    target_free(&t);
    if (is_domain) {
        /* A project acting as a domain goes as the domain would. */
        if (immutable)
            ms_resp_error(resp, 403, "Unable to delete immutable domain resource: `%s. Set "
                                     "resource option \"immutable\" to false first.", id);
        else if (enabled)
            ms_resp_error(resp, 403, "Cannot delete a domain that is enabled, please disable "
                                     "it first.");
        else if ((rc = res_db_domain_delete(id)) == 0) {
            identity_revoke(NULL, NULL, id, NULL);
            ms_resp_empty(resp, 204);
        }
        return rc == -ENOENT ? (not_found(resp, id), 0) : rc;
    }
    if (!found) {
        not_found(resp, id);
        return 0;
    }
    if (immutable) {
        ms_resp_error(resp, 403, "Unable to delete immutable project resource: `%s. Set "
                                 "resource option \"immutable\" to false first.", id);
        return 0;
    }
    long long total, on;
    if ((rc = res_db_project_children(id, &total, &on)) < 0)
        return rc;
    if (total) {
        ms_resp_error(resp, 403, "Cannot delete the project %s since it is not a leaf in the "
                                 "hierarchy. Use the cascade option if you want to delete a "
                                 "whole subtree.", id);
        return 0;
    }
    rc = res_db_project_delete(id);
    if (rc == -ENOENT) {
        not_found(resp, id);
        return 0;
    }
    if (rc < 0)
        return rc;
    ms_info("project deleted project=%s", id);
    identity_revoke(NULL, id, NULL, NULL);
    ms_resp_empty(resp, 204);
    return 0;
}

/* ---- tags ---- */

/* {"tags": [...], "links": {"self": <this URL>}} */
static void
tags_reply(ms_request *req, ms_response *resp, json_t *tags)
{
    char *url = ms_asprintf("%s%s", ms_req_base_url(req), req->path);
    ms_resp_json(resp, 200, json_pack("{s:o,s:{s:s}}", "tags", tags, "links", "self", url));
    free(url);
}

/* Load the project (or domain) of a tag route and authorize the call:
 * 1 to go on, 0 when answered, or -errno. */
static int
tag_target(ms_request *req, ms_response *resp, const char *id, const char *action,
           target *t)
{
    int rc = load_target(id, t);
    if (rc < 0)
        return rc;
    bool ok = req->method & (MS_GET | MS_HEAD) ? may_read(req, id, t) : req->auth.is_admin;
    if (!ok) {
        res_forbidden(resp, action);
        target_free(t);
        return 0;
    }
    if (!t->found) {
        not_found(resp, id);
        target_free(t);
        return 0;
    }
    return 1;
}

static bool
immutable_tags(ms_response *resp, const target *t, const char *what, const char *id)
{
    if (!json_is_true(json_object_get(t->options, "immutable")))
        return false;
    ms_resp_error(resp, 403, "Cannot %s project tags for %s, project is immutable. Set "
                             "\"immutable\" option to false before creating project tags.",
                  what, id);
    return true;
}

int
identity_project_tags(ms_request *req, ms_response *resp)
{
    const char *id = ms_req_param(req, "project_id");
    const char *action = req->method == MS_PUT      ? "update_project_tags"
                         : req->method == MS_DELETE ? "delete_project_tags"
                                                    : "list_project_tags";
    target t;
    int rc = tag_target(req, resp, id, action, &t);
    if (rc <= 0)
        return rc;
    json_t *tags = NULL;
    if (req->method & (MS_GET | MS_HEAD)) {
        if ((tags = res_tags_json(id, &rc)))
            tags_reply(req, resp, tags);
        goto done;
    }
    if (req->method == MS_PUT) {
        json_t *body = ms_req_json(req, resp);
        if (!body)
            goto done;
        json_t *v = json_object_get(body, "tags");
        json_t *empty = v ? NULL : json_object();
        if (res_check_tags(resp, "tags", v ? v : empty) < 0) {
            json_decref(empty);
            goto done;
        }
        if (immutable_tags(resp, &t, "update", id))
            goto done;
        tags = res_tags_strip(v);
        if ((rc = res_db_tags_set(id, tags)) == 0)
            tags_reply(req, resp, json_incref(tags));
        json_decref(tags);
        goto done;
    }
    if (immutable_tags(resp, &t, "update", id))
        goto done;
    json_t *none = json_array();
    rc = res_db_tags_set(id, none);
    json_decref(none);
    if (rc == 0)
        ms_resp_empty(resp, 204);
done:
    target_free(&t);
    return rc;
}

int
identity_project_tag(ms_request *req, ms_response *resp)
{
    const char *id = ms_req_param(req, "project_id");
    const char *tag = ms_req_param(req, "tag");
    const char *action = req->method == MS_PUT      ? "create_project_tag"
                         : req->method == MS_DELETE ? "delete_project_tag"
                                                    : "get_project_tag";
    target t;
    int rc = tag_target(req, resp, id, action, &t);
    if (rc <= 0)
        return rc;
    ms_result *r = NULL;
    if ((rc = res_db_tags(id, &r)) < 0)
        goto done;
    bool present = false;
    for (size_t i = 0; i < r->nrows && !present; i++)
        present = strcmp(ms_cell(r, i, 0), tag) == 0;
    size_t count = r->nrows;
    ms_result_free(r);

    if (req->method & (MS_GET | MS_HEAD)) {
        if (present)
            ms_resp_empty(resp, 204);
        else
            ms_resp_error(resp, 404, "Could not find project tag: %s.", tag);
        goto done;
    }
    if (req->method == MS_DELETE) {
        if (immutable_tags(resp, &t, "delete", id))
            goto done;
        rc = res_db_tag_delete(id, tag);
        if (rc == -ENOENT) {
            ms_resp_error(resp, 404, "Could not find project tag: %s.", tag);
            rc = 0;
        } else if (rc == 0) {
            ms_resp_empty(resp, 204);
        }
        goto done;
    }
    /* PUT */
    json_t *jt = json_string(tag);
    json_t *one = json_pack("[O]", jt);
    int bad = res_check_tags(resp, "tags", one);
    json_decref(one);
    json_decref(jt);
    if (bad < 0)
        goto done;
    if (!present && count + 1 > 80) {
        ms_resp_error(resp, 400, "Invalid input for field 'tags': the project would have more "
                                 "than 80 tags");
        goto done;
    }
    if (immutable_tags(resp, &t, "create", id))
        goto done;
    char *stripped = res_strip(tag);
    if ((rc = res_db_tag_add(id, stripped)) == 0) {
        char *url = ms_asprintf("%s/v3/projects/%s/tags/%s", ms_req_base_url(req), id, stripped);
        ms_resp_header(resp, "Location", url);
        free(url);
        ms_resp_empty(resp, 201);
    }
    free(stripped);
done:
    target_free(&t);
    return rc;
}
