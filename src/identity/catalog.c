/* The service catalog: regions, services and endpoints CRUD as Keystone
 * serves them (attributes it does not know are kept in `extra` and given
 * back), and the catalog rendered into tokens. The rendering reads every
 * enabled service and endpoint once and keeps it for CATALOG_TTL_S or until
 * this process changes the catalog; each token then gets a copy with
 * $(project_id)s / %(project_id)s (and tenant_id, user_id) substituted.
 * Endpoints that need a project id are left out of domain- and system-scoped
 * catalogs, as Keystone does. */
#include "catalog_db.h"

#include <monostack/json.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#define CATALOG_TTL_S 30

/* ---- common ---- */

static int
db_reply(ms_response *resp, int rc, const char *what, const char *id)
{
    return rc == -ENOENT ? identity_not_found(resp, what, id) : rc;
}

/* One kind of catalog row: its member name (also the 404 wording), how to
 * read one row, and how to render it. */
typedef struct {
    const char *kind;
    int (*get)(const char *id, ms_result **out);
    json_t *(*render)(ms_request *req, const ms_result *r, size_t i);
} catalog_kind;

/* Read the row with this id: 1 when found (the caller frees *out), 0 after
 * answering 404, or a negative error. */
static int
fetch_one(const catalog_kind *k, const char *id, ms_response *resp, ms_result **out)
{
    int rc = k->get(id, out);
    if (rc < 0)
        return rc;
    if (!(*out)->nrows) {
        ms_result_free(*out);
        *out = NULL;
        return db_reply(resp, -ENOENT, k->kind, id);
    }
    return 1;
}

/* Answer {"<kind>": row} with the given status, or 404. */
static int
kind_reply(const catalog_kind *k, ms_request *req, ms_response *resp, const char *id,
           int status)
{
    ms_result *r = NULL;
    int rc = fetch_one(k, id, resp, &r);
    if (rc <= 0)
        return rc;
    ms_resp_json(resp, status, json_pack("{s:o}", k->kind, k->render(req, r, 0)));
    ms_result_free(r);
    return 0;
}

/* The member object of a create/update body, or NULL after a 400. */
static json_t *
member(ms_request *req, ms_response *resp, const char *key)
{
    json_t *body = ms_req_json(req, resp);
    if (!body)
        return NULL;
    json_t *m = json_object_get(body, key);
    if (!json_is_object(m)) {
        ms_resp_error(resp, 400,
                      "Expecting to find %s in request body. The server could not comply "
                      "with the request since it is either malformed or otherwise "
                      "incorrect. The client is assumed to be in error.", key);
        return NULL;
    }
    return m;
}

static void
invalid_field(ms_response *resp, const char *field, const char *why)
{
    ms_resp_error(resp, 400, "Invalid input for field '%s': %s", field, why);
}

/* Optional string (or null when nullable) of at most max bytes: 0, -ENOENT
 * (absent), or -EINVAL with the 400 in resp. */
static int
opt_str(const json_t *obj, const char *key, size_t max, bool nullable, ms_response *resp,
        const char **out)
{
    json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (!v)
        return -ENOENT;
    if (json_is_null(v) && nullable)
        return 0;
    if (!json_is_string(v)) {
        invalid_field(resp, key, "not of type 'string'");
        return -EINVAL;
    }
    if (json_string_length(v) > max) {
        invalid_field(resp, key, "is too long");
        return -EINVAL;
    }
    *out = json_string_value(v);
    return 0;
}

static int
opt_bool(const json_t *obj, const char *key, ms_response *resp, bool *out)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return -ENOENT;
    if (!json_is_boolean(v)) {
        invalid_field(resp, key, "not of type 'boolean'");
        return -EINVAL;
    }
    *out = json_is_true(v);
    return 0;
}

/* ---- catalog cache ---- */

static pthread_mutex_t cat_lock = PTHREAD_MUTEX_INITIALIZER;
static json_t *cat_cached;          /* raw URLs */
static uint64_t cat_cached_us;
static _Atomic unsigned cat_generation = 1;
static unsigned cat_cached_gen;

void
identity_catalog_changed(void)
{
    atomic_fetch_add(&cat_generation, 1);
}

unsigned
identity_catalog_generation(void)
{
    return atomic_load(&cat_generation);
}

static json_t *
catalog_load(int *rc)
{
    ms_result *r = NULL;
    *rc = catalog_db_catalog(&r);
    if (*rc < 0)
        return NULL;
    json_t *list = json_array(), *svc = NULL;
    const char *cur = NULL;
    for (size_t i = 0; i < r->nrows; i++) {
        if (!cur || strcmp(cur, ms_cell(r, i, 0)) != 0) {
            cur = ms_cell(r, i, 0);
            svc = json_pack("{s:[],s:s,s:s,s:s}", "endpoints", "id", cur, "type",
                            ms_cell(r, i, 1), "name",
                            ms_cell(r, i, 2) ? ms_cell(r, i, 2) : "");
            json_array_append_new(list, svc);
        }
        if (!ms_cell(r, i, 3))
            continue;
        json_t *ep = json_object();
        json_object_set_new(ep, "id", json_string(ms_cell(r, i, 3)));
        json_object_set_new(ep, "interface", json_string(ms_cell(r, i, 4)));
        ms_json_set_str(ep, "region", ms_cell(r, i, 5));
        ms_json_set_str(ep, "region_id", ms_cell(r, i, 5));
        json_object_set_new(ep, "url", json_string(ms_cell(r, i, 6)));
        json_array_append_new(json_object_get(svc, "endpoints"), ep);
    }
    ms_result_free(r);
    return list;
}

/* Substitute $(key)s / %(key)s. Returns a new string, or NULL when the
 * URL names a key we cannot fill (the endpoint is then left out). */
static char *
format_url(const char *url, const char *user_id, const char *project_id)
{
    ms_buf b = {0};
    const char *p = url;
    while (*p) {
        if ((p[0] == '$' || p[0] == '%') && p[1] == '(') {
            const char *end = strstr(p + 2, ")s");
            if (!end)
                goto bad;
            size_t n = (size_t)(end - (p + 2));
            const char *val = NULL;
            if ((n == 10 && strncmp(p + 2, "project_id", n) == 0) ||
                (n == 9 && strncmp(p + 2, "tenant_id", n) == 0))
                val = project_id;
            else if (n == 7 && strncmp(p + 2, "user_id", n) == 0)
                val = user_id;
            if (!val)
                goto bad;
            ms_buf_adds(&b, val);
            p = end + 2;
        } else {
            ms_buf_add(&b, p, 1);
            p++;
        }
    }
    ms_buf_cstr(&b);
    return ms_buf_steal(&b);
bad:
    ms_buf_free(&b);
    return NULL;
}

json_t *
identity_catalog_v3(const char *user_id, const char *project_id, int *rc)
{
    *rc = 0;
    json_t *raw = NULL;
    unsigned gen = atomic_load(&cat_generation);
    pthread_mutex_lock(&cat_lock);
    if (cat_cached && cat_cached_gen == gen &&
        ms_now_us() - cat_cached_us < CATALOG_TTL_S * 1000000ULL)
        raw = json_incref(cat_cached);
    pthread_mutex_unlock(&cat_lock);
    if (!raw) {
        raw = catalog_load(rc);
        if (!raw)
            return NULL;
        pthread_mutex_lock(&cat_lock);
        json_decref(cat_cached);
        cat_cached = json_incref(raw);
        cat_cached_us = ms_now_us();
        cat_cached_gen = gen;
        pthread_mutex_unlock(&cat_lock);
    }
    json_t *out = json_array();
    size_t i, j;
    json_t *svc, *ep;
    json_array_foreach(raw, i, svc) {
        json_t *eps = json_array();
        json_array_foreach(json_object_get(svc, "endpoints"), j, ep) {
            char *url = format_url(json_string_value(json_object_get(ep, "url")), user_id,
                                   project_id);
            if (!url)
                continue;
            json_t *copy = json_copy(ep);
            json_object_set_new(copy, "url", json_string(url));
            free(url);
            json_array_append_new(eps, copy);
        }
        json_t *s = json_copy(svc);
        json_object_set_new(s, "endpoints", eps);
        json_array_append_new(out, s);
    }
    json_decref(raw);
    return out;
}

/* ---- regions ---- */

static const char *const region_known[] = {"id", "description", "parent_region_id", "links",
                                           NULL};

static json_t *
region_json(ms_request *req, const ms_result *r, size_t i)
{
    json_t *o = identity_extra_obj(ms_cell(r, i, 3));
    json_object_set_new(o, "id", json_string(ms_cell(r, i, 0)));
    json_object_set_new(o, "description",
                        json_string(ms_cell(r, i, 1) ? ms_cell(r, i, 1) : ""));
    ms_json_set_str(o, "parent_region_id", ms_cell(r, i, 2));
    json_object_set_new(o, "links", identity_links_self(req, "regions", ms_cell(r, i, 0)));
    return o;
}

static int
region_exists(const char *id)
{
    ms_result *r = NULL;
    int rc = catalog_db_region_get(id, &r);
    if (rc < 0)
        return rc;
    rc = r->nrows ? 1 : 0;
    ms_result_free(r);
    return rc;
}

int
identity_region_list(ms_request *req, ms_response *resp)
{
    ms_result *r = NULL;
    int rc = catalog_db_region_list(ms_req_query(req, "parent_region_id"), &r);
    if (rc < 0)
        return rc;
    return identity_list_reply(req, resp, "regions", r, region_json);
}

static const catalog_kind region_kind = {"region", catalog_db_region_get, region_json};

static int
region_reply(ms_request *req, ms_response *resp, const char *id, int status)
{
    return kind_reply(&region_kind, req, resp, id, status);
}

/* POST /v3/regions and PUT /v3/regions/{region_id} */
int
identity_region_create(ms_request *req, ms_response *resp)
{
    json_t *m = member(req, resp, "region");
    if (!m)
        return 0;
    const char *id = NULL, *desc = NULL, *parent = NULL;
    if (opt_str(m, "id", 255, false, resp, &id) == -EINVAL ||
        opt_str(m, "description", 65535, true, resp, &desc) == -EINVAL ||
        opt_str(m, "parent_region_id", 255, true, resp, &parent) == -EINVAL)
        return 0;
    const char *url_id = ms_req_param(req, "region_id");
    char gen[33];
    if (url_id) {
        if (id && strcmp(id, url_id) != 0) {
            ms_resp_error(resp, 400, "Conflicting region IDs specified: \"%s\" != \"%s\"",
                          url_id, id);
            return 0;
        }
        id = url_id;
    } else if (ms_str_empty(id)) {
        ms_uuid_hex(gen);
        id = gen;
    }
    int rc;
    if (parent) {
        if ((rc = region_exists(parent)) < 0)
            return rc;
        if (!rc)
            return db_reply(resp, -ENOENT, "region", parent);
    }
    ms_autofree char *extra = identity_extra_text(m, region_known, NULL);
    rc = catalog_db_region_insert(id, desc ? desc : "", parent, extra);
    if (rc == -EEXIST) {
        ms_resp_error(resp, 409, "Conflict occurred attempting to store region - Duplicate "
                                 "ID, %s.", id);
        return 0;
    }
    if (rc < 0)
        return rc;
    identity_catalog_changed();
    return region_reply(req, resp, id, 201);
}

int
identity_region_get(ms_request *req, ms_response *resp)
{
    return region_reply(req, resp, ms_req_param(req, "region_id"), 200);
}

int
identity_region_update(ms_request *req, ms_response *resp)
{
    const char *id = ms_req_param(req, "region_id");
    json_t *m = member(req, resp, "region");
    if (!m)
        return 0;
    ms_result *r = NULL;
    int rc = fetch_one(&region_kind, id, resp, &r);
    if (rc <= 0)
        return rc;
    const char *nid = NULL, *desc = NULL, *parent = NULL;
    ms_autofree char *old_desc = ms_strdup(ms_cell(r, 0, 1));
    ms_autofree char *old_parent = ms_strdup(ms_cell(r, 0, 2));
    ms_autofree char *extra = NULL;
    int drc = 0, prc = 0;
    if ((rc = opt_str(m, "id", 255, false, resp, &nid)) == -EINVAL ||
        (drc = opt_str(m, "description", 65535, true, resp, &desc)) == -EINVAL ||
        (prc = opt_str(m, "parent_region_id", 255, true, resp, &parent)) == -EINVAL)
        goto done;
    if (nid && strcmp(nid, id) != 0) {
        ms_resp_error(resp, 400, "Cannot change region ID");
        goto done;
    }
    if (drc == -ENOENT)
        desc = old_desc;
    if (prc == -ENOENT)
        parent = old_parent;
    /* The new parent must exist and must not be this region or below it. */
    char next[256];
    for (const char *p = parent; p;) {
        if (strcmp(p, id) == 0) {
            ms_resp_error(resp, 400, "The specified parent region %s would create a circular "
                                     "region hierarchy.", parent);
            goto done;
        }
        ms_result *pr = NULL;
        if ((rc = catalog_db_region_get(p, &pr)) < 0)
            goto done;
        if (!pr->nrows) {
            ms_result_free(pr);
            rc = db_reply(resp, -ENOENT, "region", parent);
            goto done;
        }
        snprintf(next, sizeof(next), "%s", ms_cell(pr, 0, 2) ? ms_cell(pr, 0, 2) : "");
        ms_result_free(pr);
        p = next[0] ? next : NULL;
    }
    extra = identity_extra_text(m, region_known, ms_cell(r, 0, 3));
    rc = catalog_db_region_update(id, desc ? desc : "", parent, extra);
    if (rc == 0) {
        identity_catalog_changed();
        rc = region_reply(req, resp, id, 200);
    }
done:
    ms_result_free(r);
    return rc == -EINVAL || rc == -ENOENT ? 0 : rc;
}

/* Collect id and its descendants into ids (depth-first). */
static int
region_tree(const char *id, char ***ids, size_t *n, int depth)
{
    if (depth > 32)
        return 0;
    *ids = ms_realloc(*ids, (*n + 1) * sizeof(char *));
    (*ids)[(*n)++] = ms_strdup(id);
    ms_result *r = NULL;
    int rc = catalog_db_region_children(id, &r);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < r->nrows && rc == 0; i++)
        rc = region_tree(ms_cell(r, i, 0), ids, n, depth + 1);
    ms_result_free(r);
    return rc;
}

int
identity_region_delete(ms_request *req, ms_response *resp)
{
    const char *id = ms_req_param(req, "region_id");
    int rc = region_exists(id);
    if (rc <= 0)
        return rc < 0 ? rc : db_reply(resp, -ENOENT, "region", id);
    char **ids = NULL;
    size_t n = 0;
    rc = region_tree(id, &ids, &n, 0);
    for (size_t i = 0; i < n && rc == 0; i++) {
        long long count = 0;
        rc = catalog_db_region_endpoints(ids[i], &count);
        if (rc == 0 && count > 0) {
            ms_resp_error(resp, 403, "Unable to delete region %s because it or its child "
                                     "regions have associated endpoints.", id);
            rc = 1;
        }
    }
    /* Children first, so no row points at a deleted parent. */
    for (size_t i = n; rc == 0 && i-- > 0;) {
        int drc = catalog_db_region_delete(ids[i]);
        if (drc < 0 && drc != -ENOENT)
            rc = drc;
    }
    for (size_t i = 0; i < n; i++)
        free(ids[i]);
    free(ids);
    if (rc == 1)
        return 0;
    if (rc < 0)
        return rc;
    identity_catalog_changed();
    ms_resp_empty(resp, 204);
    return 0;
}

/* ---- services ---- */

static const char *const service_known[] = {"id", "type", "name", "description", "enabled",
                                            "links", NULL};

static json_t *
service_json(ms_request *req, const ms_result *r, size_t i)
{
    json_t *o = identity_extra_obj(ms_cell(r, i, 5));
    json_object_set_new(o, "id", json_string(ms_cell(r, i, 0)));
    json_object_set_new(o, "type", json_string(ms_cell(r, i, 1)));
    if (ms_cell(r, i, 2))
        json_object_set_new(o, "name", json_string(ms_cell(r, i, 2)));
    if (ms_cell(r, i, 3))
        json_object_set_new(o, "description", json_string(ms_cell(r, i, 3)));
    json_object_set_new(o, "enabled", json_boolean(ms_cell_bool(r, i, 4)));
    json_object_set_new(o, "links", identity_links_self(req, "services", ms_cell(r, i, 0)));
    return o;
}

static const catalog_kind service_kind = {"service", catalog_db_service_get, service_json};

static int
service_reply(ms_request *req, ms_response *resp, const char *id, int status)
{
    return kind_reply(&service_kind, req, resp, id, status);
}

int
identity_service_list(ms_request *req, ms_response *resp)
{
    ms_result *r = NULL;
    int rc = catalog_db_service_list(ms_req_query(req, "type"), ms_req_query(req, "name"), &r);
    if (rc < 0)
        return rc;
    return identity_list_reply(req, resp, "services", r, service_json);
}

int
identity_service_create(ms_request *req, ms_response *resp)
{
    json_t *m = member(req, resp, "service");
    if (!m)
        return 0;
    const char *type = NULL, *name = NULL, *desc = NULL;
    bool enabled = true;
    int trc = opt_str(m, "type", 255, false, resp, &type);
    if (trc == -EINVAL || opt_str(m, "name", 255, true, resp, &name) == -EINVAL ||
        opt_str(m, "description", 65535, true, resp, &desc) == -EINVAL ||
        opt_bool(m, "enabled", resp, &enabled) == -EINVAL)
        return 0;
    if (!type || !*type) {
        invalid_field(resp, "type", trc == -ENOENT ? "'type' is a required property"
                                                   : "is too short");
        return 0;
    }
    char id[33];
    ms_uuid_hex(id);
    ms_autofree char *extra = identity_extra_text(m, service_known, NULL);
    int rc = catalog_db_service_insert(id, type, name, desc, enabled, extra);
    if (rc < 0)
        return rc;
    identity_catalog_changed();
    return service_reply(req, resp, id, 201);
}

int
identity_service_get(ms_request *req, ms_response *resp)
{
    return service_reply(req, resp, ms_req_param(req, "service_id"), 200);
}

int
identity_service_update(ms_request *req, ms_response *resp)
{
    const char *id = ms_req_param(req, "service_id");
    json_t *m = member(req, resp, "service");
    if (!m)
        return 0;
    ms_result *r = NULL;
    int rc = fetch_one(&service_kind, id, resp, &r);
    if (rc <= 0)
        return rc;
    rc = 0;
    const char *type = ms_cell(r, 0, 1), *name = ms_cell(r, 0, 2), *desc = ms_cell(r, 0, 3);
    const char *v;
    bool enabled = ms_cell_bool(r, 0, 4);
    int src;
    ms_autofree char *extra = NULL;
    if ((src = opt_str(m, "type", 255, false, resp, &v)) == -EINVAL)
        goto done;
    if (src == 0) {
        if (!*v) {
            invalid_field(resp, "type", "is too short");
            goto done;
        }
        type = v;
    }
    if ((src = opt_str(m, "name", 255, true, resp, &v)) == -EINVAL)
        goto done;
    if (src == 0)
        name = v;
    if ((src = opt_str(m, "description", 65535, true, resp, &v)) == -EINVAL)
        goto done;
    if (src == 0)
        desc = v;
    if (opt_bool(m, "enabled", resp, &enabled) == -EINVAL)
        goto done;
    extra = identity_extra_text(m, service_known, ms_cell(r, 0, 5));
    rc = catalog_db_service_update(id, type, name, desc, enabled, extra);
    if (rc == 0) {
        identity_catalog_changed();
        rc = service_reply(req, resp, id, 200);
    }
done:
    ms_result_free(r);
    return rc;
}

int
identity_service_delete(ms_request *req, ms_response *resp)
{
    const char *id = ms_req_param(req, "service_id");
    int rc = catalog_db_service_delete(id);
    if (rc < 0)
        return db_reply(resp, rc, "service", id);
    identity_catalog_changed();
    ms_resp_empty(resp, 204);
    return 0;
}

/* ---- endpoints ---- */

static const char *const endpoint_known[] = {"id", "service_id", "region", "region_id",
                                             "interface", "url", "enabled", "links",
                                             "legacy_endpoint_id", NULL};

static json_t *
endpoint_json(ms_request *req, const ms_result *r, size_t i)
{
    json_t *o = identity_extra_obj(ms_cell(r, i, 6));
    json_object_set_new(o, "id", json_string(ms_cell(r, i, 0)));
    json_object_set_new(o, "service_id", json_string(ms_cell(r, i, 1)));
    ms_json_set_str(o, "region_id", ms_cell(r, i, 2));
    ms_json_set_str(o, "region", ms_cell(r, i, 2));
    json_object_set_new(o, "interface", json_string(ms_cell(r, i, 3)));
    json_object_set_new(o, "url", json_string(ms_cell(r, i, 4)));
    json_object_set_new(o, "enabled", json_boolean(ms_cell_bool(r, i, 5)));
    json_object_set_new(o, "links", identity_links_self(req, "endpoints", ms_cell(r, i, 0)));
    return o;
}

static const catalog_kind endpoint_kind = {"endpoint", catalog_db_endpoint_get, endpoint_json};

static int
endpoint_reply(ms_request *req, ms_response *resp, const char *id, int status)
{
    return kind_reply(&endpoint_kind, req, resp, id, status);
}

int
identity_endpoint_list(ms_request *req, ms_response *resp)
{
    ms_result *r = NULL;
    int rc = catalog_db_endpoint_list(ms_req_query(req, "service_id"),
                                      ms_req_query(req, "interface"),
                                      ms_req_query(req, "region_id"), &r);
    if (rc < 0)
        return rc;
    return identity_list_reply(req, resp, "endpoints", r, endpoint_json);
}

static bool
valid_interface(const char *s)
{
    return s && (strcmp(s, "public") == 0 || strcmp(s, "internal") == 0 ||
                 strcmp(s, "admin") == 0);
}

/* The endpoint's region: region_id must exist; the legacy "region" is
 * created when missing (Keystone keeps that for v2-style clients).
 * 0, or -EINVAL with the 400 in resp, or a database error. */
static int
endpoint_region(json_t *m, ms_response *resp, const char **region, bool *given)
{
    const char *rid = NULL, *legacy = NULL;
    int a = opt_str(m, "region_id", 255, true, resp, &rid);
    int b = a == -EINVAL ? 0 : opt_str(m, "region", 255, true, resp, &legacy);
    if (a == -EINVAL || b == -EINVAL)
        return -EINVAL;
    *given = a == 0 || b == 0;
    *region = rid ? rid : legacy;
    if (!*region)
        return 0;
    int rc = region_exists(*region);
    if (rc < 0)
        return rc;
    if (rc == 0 && rid) {
        ms_resp_error(resp, 400, "Expecting to find endpoint region_id in region table. The "
                                 "server could not comply with the request since it is "
                                 "either malformed or otherwise incorrect. The client is "
                                 "assumed to be in error.");
        return -EINVAL;
    }
    if (rc == 0) {
        rc = catalog_db_region_insert(*region, "", NULL, NULL);
        if (rc < 0 && rc != -EEXIST)
            return rc;
    }
    return 0;
}

static int
check_service(const char *service_id, ms_response *resp)
{
    ms_result *r = NULL;
    int rc = catalog_db_service_get(service_id, &r);
    if (rc < 0)
        return rc;
    rc = r->nrows ? 0 : -EINVAL;
    ms_result_free(r);
    if (rc < 0)
        ms_resp_error(resp, 400, "Expecting to find endpoint service_id in service table. The "
                                 "server could not comply with the request since it is "
                                 "either malformed or otherwise incorrect. The client is "
                                 "assumed to be in error.");
    return rc;
}

int
identity_endpoint_create(ms_request *req, ms_response *resp)
{
    json_t *m = member(req, resp, "endpoint");
    if (!m)
        return 0;
    const char *service_id = NULL, *interface = NULL, *url = NULL, *region = NULL;
    bool enabled = true, given = false;
    if (opt_str(m, "service_id", 64, false, resp, &service_id) == -EINVAL ||
        opt_str(m, "interface", 16, false, resp, &interface) == -EINVAL ||
        opt_str(m, "url", 65535, false, resp, &url) == -EINVAL ||
        opt_bool(m, "enabled", resp, &enabled) == -EINVAL)
        return 0;
    if (!service_id) {
        invalid_field(resp, "endpoint", "'service_id' is a required property");
        return 0;
    }
    if (!interface) {
        invalid_field(resp, "endpoint", "'interface' is a required property");
        return 0;
    }
    if (!valid_interface(interface)) {
        invalid_field(resp, "interface", "does not match '^(?:admin|internal|public)$'");
        return 0;
    }
    if (!url || !*url) {
        invalid_field(resp, "endpoint", "'url' is a required property");
        return 0;
    }
    int rc = check_service(service_id, resp);
    if (rc < 0)
        return rc == -EINVAL ? 0 : rc;
    rc = endpoint_region(m, resp, &region, &given);
    if (rc < 0)
        return rc == -EINVAL ? 0 : rc;
    char id[33];
    ms_uuid_hex(id);
    ms_autofree char *extra = identity_extra_text(m, endpoint_known, NULL);
    rc = catalog_db_endpoint_insert(id, service_id, region, interface, url, enabled, extra);
    if (rc < 0)
        return rc;
    identity_catalog_changed();
    return endpoint_reply(req, resp, id, 201);
}

int
identity_endpoint_get(ms_request *req, ms_response *resp)
{
    return endpoint_reply(req, resp, ms_req_param(req, "endpoint_id"), 200);
}

int
identity_endpoint_update(ms_request *req, ms_response *resp)
{
    const char *id = ms_req_param(req, "endpoint_id");
    json_t *m = member(req, resp, "endpoint");
    if (!m)
        return 0;
    ms_result *r = NULL;
    int rc = fetch_one(&endpoint_kind, id, resp, &r);
    if (rc <= 0)
        return rc;
    const char *service_id = ms_cell(r, 0, 1), *region = ms_cell(r, 0, 2);
    const char *interface = ms_cell(r, 0, 3), *url = ms_cell(r, 0, 4), *v;
    bool enabled = ms_cell_bool(r, 0, 5), given = false;
    ms_autofree char *extra = NULL;
    int src;
    rc = 0;
    if ((src = opt_str(m, "service_id", 64, false, resp, &v)) == -EINVAL)
        goto done;
    if (src == 0) {
        if ((rc = check_service(v, resp)) < 0)
            goto done;
        service_id = v;
    }
    if ((src = opt_str(m, "interface", 16, false, resp, &v)) == -EINVAL)
        goto done;
    if (src == 0) {
        if (!valid_interface(v)) {
            invalid_field(resp, "interface", "does not match '^(?:admin|internal|public)$'");
            goto done;
        }
        interface = v;
    }
    if ((src = opt_str(m, "url", 65535, false, resp, &v)) == -EINVAL)
        goto done;
    if (src == 0)
        url = v;
    if (opt_bool(m, "enabled", resp, &enabled) == -EINVAL)
        goto done;
    const char *nregion = NULL;
    if ((rc = endpoint_region(m, resp, &nregion, &given)) < 0)
        goto done;
    if (given)
        region = nregion;
    extra = identity_extra_text(m, endpoint_known, ms_cell(r, 0, 6));
    rc = catalog_db_endpoint_update(id, service_id, region, interface, url, enabled, extra);
    if (rc == 0) {
        identity_catalog_changed();
        rc = endpoint_reply(req, resp, id, 200);
    }
done:
    ms_result_free(r);
    return rc == -EINVAL ? 0 : rc;
}

int
identity_endpoint_delete(ms_request *req, ms_response *resp)
{
    const char *id = ms_req_param(req, "endpoint_id");
    int rc = catalog_db_endpoint_delete(id);
    if (rc < 0)
        return db_reply(resp, rc, "endpoint", id);
    identity_catalog_changed();
    ms_resp_empty(resp, 204);
    return 0;
}

/* ---- bootstrap helpers ---- */

int
identity_ensure_region(const char *id)
{
    int rc = region_exists(id);
    if (rc != 0)
        return rc < 0 ? rc : 0;
    rc = catalog_db_region_insert(id, "", NULL, NULL);
    identity_catalog_changed();
    return rc == -EEXIST ? 0 : rc;
}

int
identity_ensure_service(const char *type, const char *name, char id_out[MS_ID_LEN])
{
    ms_result *r = NULL;
    int rc = catalog_db_service_list(type, name, &r);
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
    rc = catalog_db_service_insert(id, type, name, NULL, true, NULL);
    if (rc == 0)
        snprintf(id_out, MS_ID_LEN, "%s", id);
    identity_catalog_changed();
    return rc;
}

/* Like keystone-manage bootstrap: an existing endpoint of the service,
 * interface and region gets the new URL. */
int
identity_ensure_endpoint(const char *service_id, const char *interface, const char *region,
                         const char *url)
{
    ms_result *r = NULL;
    int rc = catalog_db_endpoint_list(service_id, interface, region, &r);
    if (rc < 0)
        return rc;
    if (r->nrows) {
        if (strcmp(ms_cell(r, 0, 4), url) != 0)
            rc = catalog_db_endpoint_update(ms_cell(r, 0, 0), service_id, region, interface,
                                            url, true, ms_cell(r, 0, 6));
        ms_result_free(r);
        identity_catalog_changed();
        return rc;
    }
    ms_result_free(r);
    char id[33];
    ms_uuid_hex(id);
    rc = catalog_db_endpoint_insert(id, service_id, region, interface, url, true, NULL);
    identity_catalog_changed();
    return rc;
}
