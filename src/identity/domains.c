/* Keystone v3 domains (/v3/domains), and the validation and rendering
 * helpers that projects.c and users.c share with it (see resources_db.h).
 * Keystone stores a domain as a project acting as a domain; here domains
 * have their own table, and a domain is shown in project form only where
 * the project API asks for one (is_domain=true). Deleting a domain needs it
 * disabled first and takes everything in it along. */
#include "resources_db.h"

#include <monostack/json.h>

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* ---- rendering helpers ---- */

void
res_invalid(ms_response *resp, const char *field, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *what = ms_vasprintf(fmt, ap);
    va_end(ap);
    if (field)
        ms_resp_error(resp, 400, "Invalid input for field '%s': %s", field, what);
    else
        ms_resp_error(resp, 400, "%s", what);
    free(what);
}

static void
repr_into(ms_buf *b, const json_t *v)
{
    size_t i;
    const char *k;
    json_t *e;
    switch (json_typeof(v)) {
    case JSON_STRING:
        ms_buf_addf(b, "'%s'", json_string_value(v));
        break;
    case JSON_INTEGER:
        ms_buf_addf(b, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        break;
    case JSON_REAL:
        ms_buf_addf(b, "%g", json_real_value(v));
        break;
    case JSON_TRUE:
        ms_buf_adds(b, "True");
        break;
    case JSON_FALSE:
        ms_buf_adds(b, "False");
        break;
    case JSON_NULL:
        ms_buf_adds(b, "None");
        break;
    case JSON_ARRAY:
        ms_buf_adds(b, "[");
        json_array_foreach((json_t *)v, i, e) {
            if (i)
                ms_buf_adds(b, ", ");
            repr_into(b, e);
        }
        ms_buf_adds(b, "]");
        break;
    case JSON_OBJECT:
        ms_buf_adds(b, "{");
        i = 0;
        json_object_foreach((json_t *)v, k, e) {
            ms_buf_addf(b, "%s'%s': ", i++ ? ", " : "", k);
            repr_into(b, e);
        }
        ms_buf_adds(b, "}");
        break;
    }
}

char *
res_repr(const json_t *v)
{
    ms_buf b = {0};
    repr_into(&b, v);
    ms_buf_cstr(&b);
    return ms_buf_steal(&b);
}

json_t *
res_member(ms_request *req, ms_response *resp, const char *key)
{
    json_t *body = ms_req_json(req, resp);
    if (!body)
        return NULL;
    json_t *m = json_object_get(body, key);
    if (!m) {
        m = json_object();
        json_object_set_new(body, key, m);
    }
    if (!json_is_object(m)) {
        ms_autofree char *r = res_repr(m);
        res_invalid(resp, NULL, "%s is not of type 'object'", r);
        return NULL;
    }
    return m;
}

/* ---- validators (jsonschema's rules and messages) ---- */

static size_t
utf8_len(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

static int
type_error(ms_response *resp, const char *field, const json_t *v, const char *type,
           bool nullable)
{
    ms_autofree char *r = res_repr(v);
    res_invalid(resp, field, "%s is not of type '%s'%s", r, type, nullable ? ", 'null'" : "");
    return -EINVAL;
}

/* A string of min..max characters; 0 or -EINVAL (400 written). */
static int
check_len(ms_response *resp, const char *field, const json_t *v, size_t min, size_t max)
{
    size_t n = utf8_len(json_string_value(v));
    if (n < min || n > max) {
        ms_autofree char *r = res_repr(v);
        res_invalid(resp, field, "%s is too %s", r, n < min ? "short" : "long");
        return -EINVAL;
    }
    return 0;
}

int
res_check_name(ms_response *resp, const json_t *v, size_t max)
{
    if (!json_is_string(v))
        return type_error(resp, "name", v, "string", false);
    if (check_len(resp, "name", v, 1, max) < 0)
        return -EINVAL;
    const char *s = json_string_value(v);
    bool nonspace = false;
    for (; *s && !nonspace; s++)
        nonspace = !isspace((unsigned char)*s);
    if (!nonspace) {
        ms_autofree char *r = res_repr(v);
        res_invalid(resp, "name", "%s does not match '[\\\\S]+'", r);
        return -EINVAL;
    }
    return 0;
}

int
res_check_id(ms_response *resp, const char *field, const json_t *v, bool nullable)
{
    if (nullable && json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return type_error(resp, field, v, "string", nullable);
    if (check_len(resp, field, v, 1, 64) < 0)
        return -EINVAL;
    const char *s = json_string_value(v);
    if (strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") !=
        strlen(s)) {
        ms_autofree char *r = res_repr(v);
        res_invalid(resp, field, "%s does not match '^[a-zA-Z0-9-]+$'", r);
        return -EINVAL;
    }
    return 0;
}

int
res_check_bool(ms_response *resp, const char *field, const json_t *v)
{
    return json_is_boolean(v) ? 0 : type_error(resp, field, v, "boolean", false);
}

int
res_check_desc(ms_response *resp, const char *field, const json_t *v)
{
    return res_check_str(resp, field, v, true);
}

int
res_check_str(ms_response *resp, const char *field, const json_t *v, bool nullable)
{
    if (json_is_string(v) || (nullable && json_is_null(v)))
        return 0;
    return type_error(resp, field, v, "string", nullable);
}

static bool
has_duplicates(const json_t *arr)
{
    for (size_t i = 0; i < json_array_size(arr); i++)
        for (size_t j = i + 1; j < json_array_size(arr); j++)
            if (json_equal(json_array_get(arr, i), json_array_get(arr, j)))
                return true;
    return false;
}

int
res_check_tags(ms_response *resp, const char *field, const json_t *v)
{
    if (!json_is_array(v))
        return type_error(resp, field, v, "array", false);
    size_t i;
    json_t *t;
    json_array_foreach((json_t *)v, i, t) {
        char path[64];
        snprintf(path, sizeof(path), "%s/%zu", field, i);
        if (!json_is_string(t))
            return type_error(resp, path, t, "string", false);
        if (check_len(resp, path, t, 1, 255) < 0)
            return -EINVAL;
        if (strpbrk(json_string_value(t), ",/")) {
            ms_autofree char *r = res_repr(t);
            res_invalid(resp, path, "%s does not match '^[^,/]*$'", r);
            return -EINVAL;
        }
    }
    if (json_array_size(v) > 80 || has_duplicates(v)) {
        ms_autofree char *r = res_repr(v);
        res_invalid(resp, field, "%s %s", r,
                    json_array_size(v) > 80 ? "is too long" : "has non-unique elements");
        return -EINVAL;
    }
    return 0;
}

static const char *const user_bool_options[] = {
    "ignore_change_password_upon_first_use", "ignore_password_expiry",
    "ignore_lockout_failure_attempts", "lock_password", "ignore_user_inactivity",
    "multi_factor_auth_enabled", NULL,
};

static bool
in_list(const char *const *list, const char *s)
{
    for (; *list; list++)
        if (strcmp(*list, s) == 0)
            return true;
    return false;
}

/* multi_factor_auth_rules: a unique list of unique non-empty lists of strings. */
static int
check_mfa_rules(ms_response *resp, const json_t *v)
{
    const char *f = "options/multi_factor_auth_rules";
    if (json_is_null(v))
        return 0;
    if (!json_is_array(v))
        return type_error(resp, f, v, "array", true);
    size_t i, j;
    json_t *rule, *m;
    json_array_foreach((json_t *)v, i, rule) {
        char path[96];
        snprintf(path, sizeof(path), "%s/%zu", f, i);
        if (!json_is_array(rule))
            return type_error(resp, path, rule, "array", false);
        json_array_foreach(rule, j, m) {
            if (!json_is_string(m)) {
                char mpath[128];
                snprintf(mpath, sizeof(mpath), "%s/%zu", path, j);
                return type_error(resp, mpath, m, "string", false);
            }
        }
        if (!json_array_size(rule) || has_duplicates(rule)) {
            ms_autofree char *r = res_repr(rule);
            res_invalid(resp, path, "%s %s", r,
                        json_array_size(rule) ? "has non-unique elements"
                                              : "is too short");
            return -EINVAL;
        }
    }
    if (has_duplicates(v)) {
        ms_autofree char *r = res_repr(v);
        res_invalid(resp, f, "%s has non-unique elements", r);
        return -EINVAL;
    }
    return 0;
}

int
res_check_options(ms_response *resp, const json_t *v, bool user)
{
    if (!json_is_object(v))
        return type_error(resp, "options", v, "object", false);
    const char *k;
    json_t *o;
    json_object_foreach((json_t *)v, k, o) {
        bool is_bool = user ? in_list(user_bool_options, k) : strcmp(k, "immutable") == 0;
        if (user && strcmp(k, "multi_factor_auth_rules") == 0) {
            if (check_mfa_rules(resp, o) < 0)
                return -EINVAL;
            continue;
        }
        if (!is_bool) {
            res_invalid(resp, "options",
                        "Additional properties are not allowed ('%s' was unexpected)", k);
            return -EINVAL;
        }
        if (!json_is_boolean(o) && !json_is_null(o)) {
            char path[96];
            snprintf(path, sizeof(path), "options/%s", k);
            return type_error(resp, path, o, "boolean", true);
        }
    }
    return 0;
}

int
res_check_not_empty(ms_response *resp, const json_t *m)
{
    if (json_object_size(m))
        return 0;
    res_invalid(resp, NULL, "{} does not have enough properties");
    return -EINVAL;
}

/* ---- extra attributes and options ---- */

json_t *
res_options_of_extra(const char *extra)
{
    json_t *e = identity_extra_obj(extra);
    json_t *o = json_object_get(e, RES_OPTIONS_KEY);
    o = json_is_object(o) ? json_deep_copy(o) : json_object();
    json_decref(e);
    return o;
}

json_t *
res_options_merge(json_t *old, const json_t *req_opts)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)req_opts, k, v) {
        if (json_is_null(v))
            json_object_del(old, k);
        else
            json_object_set(old, k, v);
    }
    return old;
}

char *
res_extra_with_options(const char *extra, const json_t *options)
{
    json_t *e = identity_extra_obj(extra);
    if (options && json_object_size(options))
        json_object_set(e, RES_OPTIONS_KEY, (json_t *)options);
    else
        json_object_del(e, RES_OPTIONS_KEY);
    char *s = json_object_size(e) ? json_dumps(e, JSON_COMPACT) : NULL;
    json_decref(e);
    return s;
}

char *
res_strip(const char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    return ms_strndup(s, n);
}

json_t *
res_tags_strip(const json_t *tags)
{
    json_t *out = json_array();
    size_t i;
    json_t *t;
    json_array_foreach((json_t *)tags, i, t) {
        char *s = res_strip(json_string_value(t));
        json_t *js = json_string(s);
        free(s);
        bool dup = false;
        for (size_t j = 0; j < json_array_size(out) && !dup; j++)
            dup = json_equal(json_array_get(out, j), js);
        if (dup)
            json_decref(js);
        else
            json_array_append_new(out, js);
    }
    return out;
}

/* ---- query filters and policy ---- */

bool
res_query_bool(const char *v)
{
    static const char *const no[] = {"0", "f", "false", "n", "no", "off", NULL};
    for (const char *const *p = no; *p; p++)
        if (strcasecmp(v, *p) == 0)
            return false;
    return true;
}

static bool
ends_with(const char *s, const char *suffix, bool icase)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && (icase ? strcasecmp(s + n - k, suffix) : strcmp(s + n - k, suffix)) == 0;
}

bool
res_inexact_match(ms_request *req, const char *attr, const char *value)
{
    static const char *const ops[] = {"contains", "icontains", "startswith",
                                      "istartswith", "endswith", "iendswith"};
    value = value ? value : "";
    for (size_t i = 0; i < MS_ARRAY_LEN(ops); i++) {
        char key[64];
        snprintf(key, sizeof(key), "%s__%s", attr, ops[i]);
        const char *want = ms_req_query(req, key);
        if (!want)
            continue;
        bool icase = ops[i][0] == 'i', ok;
        switch (i) {
        case 0:
            ok = strstr(value, want) != NULL;
            break;
        case 1:
            ok = strcasestr(value, want) != NULL;
            break;
        case 2:
        case 3:
            ok = (icase ? strncasecmp(value, want, strlen(want))
                        : strncmp(value, want, strlen(want))) == 0;
            break;
        default:
            ok = ends_with(value, want, icase);
            break;
        }
        if (!ok)
            return false;
    }
    return true;
}

bool
res_has_reader(const ms_request *req)
{
    const ms_auth_ctx *a = &req->auth;
    return a->is_admin || ms_auth_has_role(a, "reader") || ms_auth_has_role(a, "member") ||
           ms_auth_has_role(a, "admin");
}

bool
res_is_cloud_reader(const ms_request *req)
{
    return req->auth.is_admin || (req->auth.system_scope && res_has_reader(req));
}

void
res_forbidden(ms_response *resp, const char *action)
{
    ms_resp_error(resp, 403, "You are not authorized to perform the requested action: "
                             "identity:%s.", action);
}

/* ---- tags ---- */

json_t *
res_tags_json(const char *id, int *rc)
{
    ms_result *r = NULL;
    *rc = res_db_tags(id, &r);
    if (*rc < 0)
        return NULL;
    json_t *tags = json_array();
    for (size_t i = 0; i < r->nrows; i++)
        json_array_append_new(tags, json_string(ms_cell(r, i, 0)));
    ms_result_free(r);
    return tags;
}

json_t *
res_tags_map(int *rc)
{
    ms_result *r = NULL;
    *rc = res_db_tags_all(&r);
    if (*rc < 0)
        return NULL;
    json_t *map = json_object();
    for (size_t i = 0; i < r->nrows; i++) {
        json_t *arr = json_object_get(map, ms_cell(r, i, 0));
        if (!arr) {
            arr = json_array();
            json_object_set_new(map, ms_cell(r, i, 0), arr);
        }
        json_array_append_new(arr, json_string(ms_cell(r, i, 1)));
    }
    ms_result_free(r);
    return map;
}

static bool
has_tag(const json_t *tags, const char *tag, size_t n)
{
    size_t i;
    json_t *t;
    json_array_foreach((json_t *)tags, i, t) {
        if (strlen(json_string_value(t)) == n && strncmp(json_string_value(t), tag, n) == 0)
            return true;
    }
    return false;
}

/* How many of the comma-separated tags in list the project has, and how many
 * there are. */
static void
count_tags(const json_t *tags, const char *list, size_t *have, size_t *total)
{
    *have = *total = 0;
    for (const char *p = list;;) {
        size_t n = strcspn(p, ",");
        (*total)++;
        *have += has_tag(tags, p, n);
        if (!p[n])
            break;
        p += n + 1;
    }
}

bool
res_tags_match(ms_request *req, const json_t *tags)
{
    const char *v;
    size_t have, total;
    if ((v = ms_req_query(req, "tags"))) {
        count_tags(tags, v, &have, &total);
        if (have < total)
            return false;
    }
    if ((v = ms_req_query(req, "tags-any"))) {
        count_tags(tags, v, &have, &total);
        if (!have)
            return false;
    }
    if ((v = ms_req_query(req, "not-tags"))) {
        count_tags(tags, v, &have, &total);
        if (have == total)
            return false;
    }
    if ((v = ms_req_query(req, "not-tags-any"))) {
        count_tags(tags, v, &have, &total);
        if (have)
            return false;
    }
    return true;
}

/* ---- domain and project rendering ---- */

/* The row's extra attributes without the stored options. */
static json_t *
visible_extra(const char *text)
{
    json_t *o = identity_extra_obj(text);
    json_object_del(o, RES_OPTIONS_KEY);
    return o;
}

json_t *
res_domain_json(ms_request *req, const ms_result *r, size_t i, json_t *tags)
{
    json_t *o = visible_extra(ms_cell(r, i, D_EXTRA));
    json_object_set_new(o, "id", json_string(ms_cell(r, i, D_ID)));
    json_object_set_new(o, "name", json_string(ms_cell(r, i, D_NAME)));
    ms_json_set_str(o, "description", ms_cell(r, i, D_DESC));
    json_object_set_new(o, "enabled", json_boolean(ms_cell_bool(r, i, D_ENABLED)));
    json_object_set_new(o, "tags", tags ? tags : json_array());
    json_object_set_new(o, "options", res_options_of_extra(ms_cell(r, i, D_EXTRA)));
    json_object_set_new(o, "links", identity_links_self(req, "domains", ms_cell(r, i, D_ID)));
    return o;
}

json_t *
res_domain_as_project_json(ms_request *req, const ms_result *r, size_t i, json_t *tags)
{
    json_t *o = res_domain_json(req, r, i, tags);
    json_object_set_new(o, "is_domain", json_true());
    json_object_set_new(o, "domain_id", json_null());
    json_object_set_new(o, "parent_id", json_null());
    json_object_set_new(o, "links", identity_links_self(req, "projects", ms_cell(r, i, D_ID)));
    return o;
}

json_t *
res_project_json(ms_request *req, const ms_result *r, size_t i, json_t *tags)
{
    json_t *o = visible_extra(ms_cell(r, i, P_EXTRA));
    json_object_set_new(o, "id", json_string(ms_cell(r, i, P_ID)));
    json_object_set_new(o, "name", json_string(ms_cell(r, i, P_NAME)));
    json_object_set_new(o, "domain_id", json_string(ms_cell(r, i, P_DOMAIN)));
    ms_json_set_str(o, "parent_id", ms_cell(r, i, P_PARENT));
    ms_json_set_str(o, "description", ms_cell(r, i, P_DESC));
    json_object_set_new(o, "enabled", json_boolean(ms_cell_bool(r, i, P_ENABLED)));
    json_object_set_new(o, "is_domain", json_false());
    json_object_set_new(o, "tags", tags ? tags : json_array());
    json_object_set_new(o, "options", res_options_of_extra(ms_cell(r, i, P_EXTRA)));
    json_object_set_new(o, "links", identity_links_self(req, "projects", ms_cell(r, i, P_ID)));
    return o;
}

int
res_domain_exists(const char *id)
{
    ms_result *r = NULL;
    int rc = res_db_domain_get(id, &r);
    if (rc < 0)
        return rc;
    rc = r->nrows ? 1 : 0;
    ms_result_free(r);
    return rc;
}

void
res_project_conflict(ms_response *resp, bool is_domain, const char *name, const char *id)
{
    if (is_domain)
        ms_resp_error(resp, 409, "Conflict occurred attempting to store project - it is not "
                                 "permitted to have two projects acting as domains with the "
                                 "same name: %s.", name);
    else
        ms_resp_error(resp, 409, "Conflict occurred attempting to store project - it is not "
                                 "permitted to have two projects with either the same name or "
                                 "same id in the same domain: name is %s, project id %s.",
                      name, id);
}

/* ---- handlers ---- */

static const char *const domain_known[] = {
    "id", "name", "description", "enabled", "tags", "options", "links", "explicit_domain_id",
    "is_domain", "domain_id", "parent_id", NULL,
};

static int
domain_reply(ms_request *req, ms_response *resp, const char *id, int status, bool as_project)
{
    ms_result *r = NULL;
    int rc = res_db_domain_get(id, &r);
    if (rc < 0)
        return rc;
    if (!r->nrows) {
        ms_result_free(r);
        ms_resp_error(resp, 404, "Could not find domain: %s.", id);
        return 0;
    }
    json_t *tags = res_tags_json(id, &rc);
    if (!tags) {
        ms_result_free(r);
        return rc;
    }
    json_t *o = as_project ? res_domain_as_project_json(req, r, 0, tags)
                           : res_domain_json(req, r, 0, tags);
    ms_resp_json(resp, status, json_pack("{s:o}", as_project ? "project" : "domain", o));
    ms_result_free(r);
    return 0;
}

/* Validate the attributes a domain create or update may carry. */
static int
check_domain_fields(ms_response *resp, const json_t *m)
{
    json_t *v;
    if ((v = json_object_get(m, "name")) && res_check_name(resp, v, 64) < 0)
        return -EINVAL;
    if ((v = json_object_get(m, "description")) && res_check_desc(resp, "description", v) < 0)
        return -EINVAL;
    if ((v = json_object_get(m, "enabled")) && res_check_bool(resp, "enabled", v) < 0)
        return -EINVAL;
    if ((v = json_object_get(m, "tags")) && res_check_tags(resp, "tags", v) < 0)
        return -EINVAL;
    if ((v = json_object_get(m, "options")) && res_check_options(resp, v, false) < 0)
        return -EINVAL;
    return 0;
}

static bool
is_uuid_hex(const char *s)
{
    return strlen(s) == 32 && strspn(s, "0123456789abcdef") == 32;
}

int
res_domain_create(ms_request *req, ms_response *resp, json_t *m, bool as_project)
{
    if (!json_object_get(m, "name")) {
        res_invalid(resp, NULL, "'name' is a required property");
        return 0;
    }
    if (check_domain_fields(resp, m) < 0)
        return 0;
    char id[33];
    json_t *explicit = json_object_get(m, "explicit_domain_id");
    if (explicit && !json_is_null(explicit)) {
        if (!json_is_string(explicit) || !is_uuid_hex(json_string_value(explicit))) {
            ms_resp_error(resp, 400, "Domain ID does not conform to required UUID format.");
            return 0;
        }
        snprintf(id, sizeof(id), "%s", json_string_value(explicit));
    } else {
        ms_uuid_hex(id);
    }
    ms_autofree char *name = res_strip(ms_json_strval(m, "name"));
    json_t *d = json_object_get(m, "description");
    const char *desc = d ? json_string_value(d) : "";    /* null stays null */
    bool enabled = !json_is_false(json_object_get(m, "enabled"));
    json_t *tags = json_object_get(m, "tags");
    json_t *stripped = tags ? res_tags_strip(tags) : NULL;
    json_t *opts = res_options_merge(json_object(), json_object_get(m, "options"));
    ms_autofree char *extra0 = identity_extra_text(m, domain_known, NULL);
    ms_autofree char *extra = res_extra_with_options(extra0, opts);
    json_decref(opts);
    int rc = res_db_domain_insert(id, name, desc, enabled, extra, stripped);
    json_decref(stripped);
    if (rc == -EEXIST) {
        res_project_conflict(resp, true, name, id);
        return 0;
    }
    if (rc < 0)
        return rc;
    ms_info("domain created domain=%s", id);
    return domain_reply(req, resp, id, 201, as_project);
}

int
identity_domain_list(ms_request *req, ms_response *resp)
{
    if (!res_is_cloud_reader(req)) {
        res_forbidden(resp, "list_domains");
        return 0;
    }
    const char *en = ms_req_query(req, "enabled");
    ms_result *r = NULL;
    int rc = res_db_domain_list(ms_req_query(req, "name"), en ? res_query_bool(en) : -1, &r);
    if (rc < 0)
        return rc;
    json_t *map = res_tags_map(&rc);
    if (!map) {
        ms_result_free(r);
        return rc;
    }
    json_t *list = json_array();
    for (size_t i = 0; i < r->nrows; i++) {
        if (!res_inexact_match(req, "name", ms_cell(r, i, D_NAME)))
            continue;
        json_t *tags = json_object_get(map, ms_cell(r, i, D_ID));
        json_array_append_new(list, res_domain_json(req, r, i, tags ? json_incref(tags) : NULL));
    }
    json_decref(map);
    ms_result_free(r);
    ms_resp_json(resp, 200, json_pack("{s:o,s:o}", "domains", list, "links",
                                      identity_collection_links(req)));
    return 0;
}

int
identity_domain_create(ms_request *req, ms_response *resp)
{
    json_t *m = res_member(req, resp, "domain");
    if (!m)
        return 0;
    return res_domain_create(req, resp, m, false);
}

int
identity_domain_get(ms_request *req, ms_response *resp)
{
    const char *id = ms_req_param(req, "domain_id");
    if (!res_is_cloud_reader(req) && !ms_streq(req->auth.domain_id, id) &&
        !(req->auth.project_id[0] && ms_streq(req->auth.project_domain_id, id))) {
        res_forbidden(resp, "get_domain");
        return 0;
    }
    return domain_reply(req, resp, id, 200, false);
}

/* Keystone's immutable rule: an immutable object takes only an update that
 * sets options.immutable to false or null, alone. */
bool
res_immutable_blocks(const json_t *options, const json_t *m)
{
    if (!json_is_true(json_object_get(options, "immutable")))
        return false;
    json_t *o = json_object_get(m, "options");
    json_t *imm = json_is_object(o) ? json_object_get(o, "immutable") : NULL;
    return json_object_size(m) > 1 || !imm || !(json_is_false(imm) || json_is_null(imm));
}

int
identity_domain_update(ms_request *req, ms_response *resp)
{
    const char *id = ms_req_param(req, "domain_id");
    json_t *m = res_member(req, resp, "domain");
    if (!m || res_check_not_empty(resp, m) < 0 || check_domain_fields(resp, m) < 0)
        return 0;
    ms_result *r = NULL;
    int rc = res_db_domain_get(id, &r);
    if (rc < 0)
        return rc;
    if (!r->nrows) {
        ms_result_free(r);
        ms_resp_error(resp, 404, "Could not find domain: %s.", id);
        return 0;
    }
    json_t *opts = res_options_of_extra(ms_cell(r, 0, D_EXTRA));
    ms_autofree char *name = NULL, *extra0 = NULL, *extra = NULL;
    json_t *stripped = NULL;
    if (res_immutable_blocks(opts, m)) {
        ms_resp_error(resp, 403, "Unable to update immutable domain resource: `%s. Set "
                                 "resource option \"immutable\" to false first.", id);
        goto done;
    }
    json_t *v = json_object_get(m, "name");
    name = res_strip(v ? json_string_value(v) : ms_cell(r, 0, D_NAME));
    v = json_object_get(m, "description");
    const char *desc = v ? json_string_value(v) : ms_cell(r, 0, D_DESC);
    bool was_enabled = ms_cell_bool(r, 0, D_ENABLED), enabled = was_enabled;
    if ((v = json_object_get(m, "enabled")))
        enabled = json_is_true(v);
    if ((v = json_object_get(m, "tags")))
        stripped = res_tags_strip(v);
    if ((v = json_object_get(m, "options")))
        opts = res_options_merge(opts, v);
    extra0 = identity_extra_text(m, domain_known, ms_cell(r, 0, D_EXTRA));
    extra = res_extra_with_options(extra0, opts);
    rc = res_db_domain_update(id, name, desc, enabled, extra, stripped);
    if (rc == -EEXIST) {
        res_project_conflict(resp, true, name, id);
        rc = 0;
        goto done;
    }
    if (rc < 0)
        goto done;
    if (was_enabled && !enabled) {
        ms_info("domain disabled domain=%s", id);
        identity_revoke(NULL, NULL, id, NULL);
    }
    rc = domain_reply(req, resp, id, 200, false);
done:
    json_decref(stripped);
    json_decref(opts);
    ms_result_free(r);
    return rc;
}

int
identity_domain_delete(ms_request *req, ms_response *resp)
{
    const char *id = ms_req_param(req, "domain_id");
    ms_result *r = NULL;
    int rc = res_db_domain_get(id, &r);
    if (rc < 0)
        return rc;
    if (!r->nrows) {
        ms_result_free(r);
        ms_resp_error(resp, 404, "Could not find domain: %s.", id);
        return 0;
    }
    json_t *opts = res_options_of_extra(ms_cell(r, 0, D_EXTRA));
    bool immutable = json_is_true(json_object_get(opts, "immutable"));
    bool enabled = ms_cell_bool(r, 0, D_ENABLED);
    json_decref(opts);
    ms_result_free(r);
    if (immutable) {
        ms_resp_error(resp, 403, "Unable to delete immutable domain resource: `%s. Set "
                                 "resource option \"immutable\" to false first.", id);
        return 0;
    }
    if (enabled) {
        ms_resp_error(resp, 403, "Cannot delete a domain that is enabled, please disable it "
                                 "first.");
        return 0;
    }
    rc = res_db_domain_delete(id);
    if (rc == -ENOENT) {
        ms_resp_error(resp, 404, "Could not find domain: %s.", id);
        return 0;
    }
    if (rc < 0)
        return rc;
    ms_info("domain deleted domain=%s", id);
    identity_revoke(NULL, NULL, id, NULL);
    ms_resp_empty(resp, 204);
    return 0;
}
