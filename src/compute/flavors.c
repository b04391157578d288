/* Flavors (flavors, os-flavor-manage, os-flavor-access, os-flavor-extra-specs):
 * listing with Nova's filters (minRam, minDisk, is_public for admins),
 * sorting and marker pagination; admin create/delete with Nova's schema;
 * extra specs and the project access list of private flavors. The five
 * classic m1.* flavors are created by `monostack-manage bootstrap`.
 * Microversions: 2.7 refuses access to public flavors, 2.55 adds the
 * description (and PUT /flavors/{id}), 2.61 embeds extra specs, 2.75 shows
 * a zero swap as 0 and rejects unknown query parameters. */
#include "compute.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

json_t *
compute_flavor_json(ms_request *req, const compute_flavor *f, bool detail)
{
    json_t *o = json_pack("{s:s,s:s}", "id", f->flavorid, "name", f->name);
    if (detail) {
        json_object_set_new(o, "ram", json_integer(f->memory_mb));
        json_object_set_new(o, "disk", json_integer(f->root_gb));
        /* Nova shows a zero swap as "" before 2.75, 0 from it on. */
        json_object_set_new(o, "swap", f->swap || COMPUTE_MV_GE(req, 2, 75)
                                           ? json_integer(f->swap)
                                           : json_string(""));
        json_object_set_new(o, "OS-FLV-EXT-DATA:ephemeral", json_integer(f->ephemeral_gb));
        json_object_set_new(o, "OS-FLV-DISABLED:disabled", json_boolean(f->disabled));
        json_object_set_new(o, "vcpus", json_integer(f->vcpus));
        json_object_set_new(o, "os-flavor-access:is_public", json_boolean(f->is_public));
        json_object_set_new(o, "rxtx_factor", f->rxtx_factor != 0 ? json_real(f->rxtx_factor)
                                                                   : json_string(""));
        /* Everyone may read extra specs here (the index rule is open), so
         * 2.61 embeds them for every caller. */
        if (COMPUTE_MV_GE(req, 2, 61)) {
            json_t *specs = NULL;
            if (compute_flavor_db_specs(f->id, &specs) < 0)
                specs = json_object();
            json_object_set_new(o, "extra_specs", specs);
        }
    }
    if (COMPUTE_MV_GE(req, 2, 55))
        ms_json_set_str(o, "description", f->description);
    json_object_set_new(o, "links", compute_links(req, "flavors", f->flavorid));
    return o;
}

int
compute_flavor_lookup(ms_request *req, ms_response *resp, const char *flavorid,
                      compute_flavor *out)
{
    int rc = compute_flavor_db_get(flavorid, out);
    if (rc == 0 && !req->auth.is_admin && !out->is_public) {
        bool has = false;
        rc = compute_flavor_db_access_has(out->id, req->auth.project_id, &has);
        if (rc == 0 && !has) {
            compute_flavor_clear(out);
            rc = -ENOENT;
        }
    }
    if (rc == -ENOENT) {
        ms_resp_error(resp, 404, "Flavor %s could not be found.", flavorid);
        return -ENOENT;
    }
    return rc;
}

static const char *const flavor_query_args[] = {
    "limit", "marker", "is_public", "minRam", "minDisk", "sort_key", "sort_dir", NULL,
};

static int
flavor_list_common(ms_request *req, ms_response *resp, bool detail)
{
    if (!compute_query_strict(req, resp, flavor_query_args))
        return 0;
    compute_flavor_query q = {.project = req->auth.project_id, .admin = req->auth.is_admin,
                              .is_public = 1};
    if (q.admin) {
        const char *ip = ms_req_query(req, "is_public");
        if (ip) {
            if (strcasecmp(ip, "none") == 0) {
                q.is_public = -1;
            } else {
                int b = compute_parse_bool(ip);
                if (b < 0) {
                    ms_resp_error(resp, 400, "Invalid is_public filter [%s]", ip);
                    return 0;
                }
                q.is_public = b;
            }
        }
    }
    /* A member sees public flavors plus private ones shared with it. */
    if (!q.admin)
        q.is_public = -1;
    static const struct {
        const char *arg, *what;
        size_t off;
    } mins[] = {{"minRam", "minRam", offsetof(compute_flavor_query, min_ram)},
                {"minDisk", "minDisk", offsetof(compute_flavor_query, min_disk)}};
    for (size_t i = 0; i < MS_ARRAY_LEN(mins); i++) {
        const char *v = ms_req_query(req, mins[i].arg);
        if (!v)
            continue;
        char *end;
        long long x = strtoll(v, &end, 10);
        if (!*v || *end) {
            ms_resp_error(resp, 400, "Invalid %s filter [%s]", mins[i].what, v);
            return 0;
        }
        *(long long *)((char *)&q + mins[i].off) = x;
    }
    const char *sk = ms_req_query(req, "sort_key");
    const char *sd = ms_req_query(req, "sort_dir");
    q.sort_key = ms_str_empty(sk) ? "flavorid" : sk;
    if (!compute_flavor_sort_key_ok(q.sort_key)) {
        ms_resp_error(resp, 400, "Invalid input received: Invalid sort_key %s", q.sort_key);
        return 0;
    }
    if (!ms_str_empty(sd) && strcmp(sd, "asc") && strcmp(sd, "desc")) {
        ms_resp_error(resp, 400, "Invalid input received: Unknown sort direction, must be "
                                 "'desc' or 'asc'");
        return 0;
    }
    q.sort_desc = sd && !strcmp(sd, "desc");
    const char *marker;
    if (compute_limit_marker(req, resp, &q.limit, &marker) < 0)
        return 0;
    compute_flavor mk = {0};
    if (marker) {
        int rc = compute_flavor_db_get(marker, &mk);
        if (rc == -ENOENT) {
            ms_resp_error(resp, 400, "marker [%s] not found", marker);
            return 0;
        }
        if (rc < 0)
            return rc;
        q.marker = &mk;
    }
    compute_flavor *list = NULL;
    size_t n = 0;
    int rc = compute_flavor_db_list(&q, &list, &n);
    compute_flavor_clear(&mk);
    if (rc < 0)
        return rc;
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, compute_flavor_json(req, &list[i], detail));
    json_t *body = json_pack("{s:o}", "flavors", arr);
    if (n > 0 && (int)n == q.limit)
        json_object_set_new(body, "flavors_links",
                            compute_next_link(req, detail ? "flavors/detail" : "flavors",
                                              list[n - 1].flavorid));
    for (size_t i = 0; i < n; i++)
        compute_flavor_clear(&list[i]);
    free(list);
    ms_resp_json(resp, 200, body);
    return 0;
}

int
compute_flavor_list(ms_request *req, ms_response *resp)
{
    return flavor_list_common(req, resp, false);
}

int
compute_flavor_detail(ms_request *req, ms_response *resp)
{
    return flavor_list_common(req, resp, true);
}

int
compute_flavor_show(ms_request *req, ms_response *resp)
{
    compute_flavor f;
    int rc = compute_flavor_lookup(req, resp, ms_req_param(req, "flavor_id"), &f);
    if (rc < 0)
        return rc == -ENOENT ? 0 : rc;
    ms_resp_json(resp, 200, json_pack("{s:o}", "flavor", compute_flavor_json(req, &f, true)));
    compute_flavor_clear(&f);
    return 0;
}

/* Nova's flavor description: null or up to 65535 printable characters
 * (whitespace allowed). */
static bool
flavor_description_ok(ms_response *resp, json_t *desc)
{
    if (json_is_null(desc))
        return true;
    if (!json_is_string(desc)) {
        compute_bad_field(resp, "description", desc, "is not of type 'string', 'null'");
        return false;
    }
    if (json_string_length(desc) > 65535) {
        compute_bad_field(resp, "description", desc, "is too long");
        return false;
    }
    for (const unsigned char *p = (const unsigned char *)json_string_value(desc); *p; p++) {
        if ((*p < 0x20 && !strchr("\t\n\v\f\r", *p)) || *p == 0x7f) {
            compute_bad_field(resp, "description", desc,
                              "does not match the printable characters pattern");
            return false;
        }
    }
    return true;
}

/* An integer field of the flavor schema (integer or digit string). */
static bool
flavor_int(ms_response *resp, json_t *fl, const char *key, long long min, bool required,
           int *out)
{
    json_t *v = json_object_get(fl, key);
    if (!v) {
        if (required) {
            char *repr = compute_json_repr(fl);
            ms_resp_error(resp, 400,
                          "Invalid input for field/attribute flavor. Value: %s. '%s' is a "
                          "required property",
                          repr, key);
            free(repr);
            return false;
        }
        return true;
    }
    long long x;
    if (!compute_json_intlike(v, &x)) {
        if (json_is_string(v))
            compute_bad_field(resp, key, v, "does not match '^[0-9]+$'");
        else
            compute_bad_field(resp, key, v, "is not of type 'integer', 'string'");
        return false;
    }
    if (x < min) {
        char why[64];
        snprintf(why, sizeof(why), "%lld is less than the minimum of %lld", x, min);
        compute_bad_field(resp, key, v, why);
        return false;
    }
    if (x > 2147483647LL) {
        compute_bad_field(resp, key, v, "is greater than the maximum of 2147483647");
        return false;
    }
    *out = (int)x;
    return true;
}

int
compute_flavor_create(ms_request *req, ms_response *resp)
{
    json_t *body = ms_req_json(req, resp);
    if (!body)
        return 0;
    json_t *fl = json_object_get(body, "flavor");
    const char *k;
    json_t *v;
    json_object_foreach(body, k, v) {
        if (strcmp(k, "flavor") != 0) {
            ms_resp_error(resp, 400,
                          "Invalid input for field/attribute flavor. Value: %s. Additional "
                          "properties are not allowed ('%s' was unexpected)",
                          "{...}", k);
            return 0;
        }
    }
    if (!fl) {
        ms_resp_error(resp, 400, "Invalid input for field/attribute flavor. Value: {}. "
                                 "'flavor' is a required property");
        return 0;
    }
    if (!json_is_object(fl)) {
        compute_bad_field(resp, "flavor", fl, "is not of type 'object'");
        return 0;
    }
    static const char *const allowed[] = {"name", "id", "ram", "vcpus", "disk",
                                          "OS-FLV-EXT-DATA:ephemeral", "swap", "rxtx_factor",
                                          "os-flavor-access:is_public", "description"};
    /* "description" (the last one) came with 2.55. */
    size_t nallowed = MS_ARRAY_LEN(allowed) - (COMPUTE_MV_GE(req, 2, 55) ? 0 : 1);
    json_object_foreach(fl, k, v) {
        bool ok = false;
        for (size_t i = 0; i < nallowed; i++)
            ok = ok || strcmp(allowed[i], k) == 0;
        if (!ok) {
            char *repr = compute_json_repr(fl);
            ms_resp_error(resp, 400,
                          "Invalid input for field/attribute flavor. Value: %s. Additional "
                          "properties are not allowed ('%s' was unexpected)",
                          repr, k);
            free(repr);
            return 0;
        }
    }
    compute_flavor f = {.rxtx_factor = 1.0, .is_public = true};
    json_t *name = json_object_get(fl, "name");
    if (!name) {
        char *repr = compute_json_repr(fl);
        ms_resp_error(resp, 400,
                      "Invalid input for field/attribute flavor. Value: %s. 'name' is a "
                      "required property",
                      repr);
        free(repr);
        return 0;
    }
    if (!json_is_string(name)) {
        compute_bad_field(resp, "name", name, "is not of type 'string'");
        return 0;
    }
    size_t nlen = json_string_length(name);
    if (nlen < 1 || nlen > 255 || !compute_valid_name(json_string_value(name))) {
        compute_bad_field(resp, "name", name,
                          nlen > 255 ? "is too long"
                                     : "An invalid 'name' value was provided. The name must "
                                       "be: printable characters. Can not start or end "
                                       "with whitespace.");
        return 0;
    }
    snprintf(f.name, sizeof(f.name), "%s", json_string_value(name));
    if (!flavor_int(resp, fl, "ram", 1, true, &f.memory_mb) ||
        !flavor_int(resp, fl, "vcpus", 1, true, &f.vcpus) ||
        !flavor_int(resp, fl, "disk", 0, true, &f.root_gb) ||
        !flavor_int(resp, fl, "OS-FLV-EXT-DATA:ephemeral", 0, false, &f.ephemeral_gb) ||
        !flavor_int(resp, fl, "swap", 0, false, &f.swap))
        return 0;
    json_t *id = json_object_get(fl, "id");
    if (id && !json_is_null(id)) {
        char buf[256];
        if (json_is_string(id)) {
            snprintf(buf, sizeof(buf), "%s", json_string_value(id));
        } else if (json_is_integer(id)) {
            snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(id));
        } else if (json_is_real(id)) {
            snprintf(buf, sizeof(buf), "%g", json_real_value(id));
        } else {
            compute_bad_field(resp, "id", id, "is not of type 'string', 'number', 'null'");
            return 0;
        }
        size_t ilen = strlen(buf);
        if (json_is_string(id) &&
            (ilen < 1 || ilen > 255 || buf[0] == ' ' || buf[ilen - 1] == ' ' ||
             strspn(buf, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789. _-") !=
                 ilen)) {
            compute_bad_field(resp, "id", id,
                              "does not match '^(?! )[a-zA-Z0-9. _-]+(?<! )$'");
            return 0;
        }
        snprintf(f.flavorid, sizeof(f.flavorid), "%s", buf);
    } else {
        ms_uuid(f.flavorid);
    }
    json_t *rx = json_object_get(fl, "rxtx_factor");
    if (rx) {
        double x = -1;
        if (json_is_number(rx))
            x = json_number_value(rx);
        else if (json_is_string(rx)) {
            const char *s = json_string_value(rx);
            char *end;
            x = strtod(s, &end);
            if (!*s || *end || strspn(s, "0123456789.") != strlen(s))
                x = -2;
        }
        if (x <= 0 || x > 3.40282e+38) {
            compute_bad_field(resp, "rxtx_factor", rx,
                              x == -2 ? "does not match '^[0-9]+(\\.[0-9]+)?$'"
                                      : "is less than or equal to the minimum of 0");
            return 0;
        }
        f.rxtx_factor = x;
    }
    json_t *pub = json_object_get(fl, "os-flavor-access:is_public");
    if (pub) {
        int b = compute_json_bool(pub);
        if (b < 0) {
            compute_bad_field(resp, "os-flavor-access:is_public", pub,
                              "is not one of [True, 'True', 'TRUE', 'true', '1', 'ON', 'On', "
                              "'on', 'YES', 'Yes', 'yes', False, 'False', 'FALSE', 'false', "
                              "'0', 'OFF', 'Off', 'off', 'NO', 'No', 'no']");
            return 0;
        }
        f.is_public = b;
    }
    json_t *desc = json_object_get(fl, "description");
    if (desc && !flavor_description_ok(resp, desc))
        return 0;
    f.created_at = compute_now();
    bool used = false;
    int rc = compute_flavor_db_name_used(f.name, &used);
    if (rc < 0)
        return rc;
    if (used) {
        ms_resp_error(resp, 409, "Flavor with name %s already exists.", f.name);
        return 0;
    }
    f.description = json_is_string(desc) ? ms_strdup(json_string_value(desc)) : NULL;
    rc = compute_flavor_db_insert(&f);
    if (rc == -EEXIST) {
        /* The name was free a moment ago, so the id (or a racing name) is taken. */
        bool nu = false;
        compute_flavor_db_name_used(f.name, &nu);
        if (nu)
            ms_resp_error(resp, 409, "Flavor with name %s already exists.", f.name);
        else
            ms_resp_error(resp, 409, "Flavor with ID %s already exists.", f.flavorid);
        compute_flavor_clear(&f);
        return 0;
    }
    if (rc == 0)
        ms_resp_json(resp, 200,
                     json_pack("{s:o}", "flavor", compute_flavor_json(req, &f, true)));
    compute_flavor_clear(&f);
    return rc;
}

/* PUT /flavors/{id} (2.55): only the description can change. */
int
compute_flavor_update(ms_request *req, ms_response *resp)
{
    json_t *body = ms_req_json(req, resp);
    if (!body)
        return 0;
    const char *k;
    json_t *v;
    json_object_foreach(body, k, v) {
        if (strcmp(k, "flavor") != 0) {
            ms_resp_error(resp, 400, "Additional properties are not allowed ('%s' was "
                                     "unexpected)",
                          k);
            return 0;
        }
    }
    json_t *fl = json_object_get(body, "flavor");
    if (!fl) {
        ms_resp_error(resp, 400, "'flavor' is a required property");
        return 0;
    }
    if (!json_is_object(fl)) {
        compute_bad_field(resp, "flavor", fl, "is not of type 'object'");
        return 0;
    }
    json_object_foreach(fl, k, v) {
        if (strcmp(k, "description") != 0) {
            char *repr = compute_json_repr(fl);
            ms_resp_error(resp, 400,
                          "Invalid input for field/attribute flavor. Value: %s. Additional "
                          "properties are not allowed ('%s' was unexpected)",
                          repr, k);
            free(repr);
            return 0;
        }
    }
    json_t *desc = json_object_get(fl, "description");
    if (!desc) {
        char *repr = compute_json_repr(fl);
        ms_resp_error(resp, 400,
                      "Invalid input for field/attribute flavor. Value: %s. 'description' is "
                      "a required property",
                      repr);
        free(repr);
        return 0;
    }
    if (!flavor_description_ok(resp, desc))
        return 0;
    /* Nova looks the flavor up without the access check: the route is admin-only. */
    const char *fid = ms_req_param(req, "flavor_id");
    compute_flavor f;
    int rc = compute_flavor_db_get(fid, &f);
    if (rc == -ENOENT) {
        ms_resp_error(resp, 404, "Flavor %s could not be found.", fid);
        return 0;
    }
    if (rc < 0)
        return rc;
    const char *d = json_is_string(desc) ? json_string_value(desc) : NULL;
    rc = compute_flavor_db_set_description(f.id, d);
    if (rc == 0) {
        free(f.description);
        f.description = ms_strdup(d);
        ms_resp_json(resp, 200,
                     json_pack("{s:o}", "flavor", compute_flavor_json(req, &f, true)));
    }
    compute_flavor_clear(&f);
    return rc;
}

int
compute_flavor_delete(ms_request *req, ms_response *resp)
{
    const char *fid = ms_req_param(req, "flavor_id");
    compute_flavor f;
    int rc = compute_flavor_db_get(fid, &f);
    if (rc == -ENOENT) {
        ms_resp_error(resp, 404, "Flavor %s could not be found.", fid);
        return 0;
    }
    if (rc < 0)
        return rc;
    rc = compute_flavor_db_delete(f.id);
    compute_flavor_clear(&f);
    if (rc < 0)
        return rc;
    ms_resp_empty(resp, 202);
    return 0;
}

/* ---- extra specs ---- */

static bool
spec_key_ok(const char *k)
{
    size_t n = strlen(k);
    return n >= 1 && n <= 255 &&
           strspn(k, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_:. ") == n;
}

/* A spec value: a string of at most 255, or a number/boolean turned into text. */
static char *
spec_value(ms_response *resp, const char *key, json_t *v)
{
    if (json_is_string(v)) {
        if (json_string_length(v) > 255) {
            compute_bad_field(resp, key, v, "is too long");
            return NULL;
        }
        return ms_strdup(json_string_value(v));
    }
    if (json_is_integer(v))
        return ms_asprintf("%lld", (long long)json_integer_value(v));
    if (json_is_real(v))
        return ms_asprintf("%g", json_real_value(v));
    if (json_is_boolean(v))
        return ms_strdup(json_is_true(v) ? "True" : "False");
    compute_bad_field(resp, key, v, "is not of type 'string', 'integer', 'number', 'boolean'");
    return NULL;
}

/* From 2.86 known keys must carry valid values; false after answering 400. */
static bool
spec_valid(ms_request *req, ms_response *resp, const char *key, const char *val)
{
    char err[768];
    if (!COMPUTE_MV_GE(req, 2, 86) ||
        compute_extra_spec_validate(key, val, err, sizeof(err)) == 0)
        return true;
    ms_resp_error(resp, 400, "%s", err);
    return false;
}

int
compute_flavor_specs_list(ms_request *req, ms_response *resp)
{
    compute_flavor f;
    int rc = compute_flavor_lookup(req, resp, ms_req_param(req, "flavor_id"), &f);
    if (rc < 0)
        return rc == -ENOENT ? 0 : rc;
    json_t *specs;
    rc = compute_flavor_db_specs(f.id, &specs);
    compute_flavor_clear(&f);
    if (rc < 0)
        return rc;
    ms_resp_json(resp, 200, json_pack("{s:o}", "extra_specs", specs));
    return 0;
}

int
compute_flavor_specs_create(ms_request *req, ms_response *resp)
{
    json_t *body = ms_req_json(req, resp);
    if (!body)
        return 0;
    json_t *specs = json_object_get(body, "extra_specs");
    if (!json_is_object(specs)) {
        if (!specs)
            ms_resp_error(resp, 400, "Invalid input for field/attribute extra_specs. Value: "
                                     "{}. 'extra_specs' is a required property");
        else
            compute_bad_field(resp, "extra_specs", specs, "is not of type 'object'");
        return 0;
    }
    compute_flavor f;
    int rc = compute_flavor_lookup(req, resp, ms_req_param(req, "flavor_id"), &f);
    if (rc < 0)
        return rc == -ENOENT ? 0 : rc;
    const char *k;
    json_t *v;
    json_t *out = json_object();
    json_object_foreach(specs, k, v) {
        if (!spec_key_ok(k)) {
            ms_resp_error(resp, 400,
                          "Invalid input for field/attribute extra_specs. Value: {...}. "
                          "'%s' does not match any of the regexes: '^[a-zA-Z0-9-_:. ]{1,255}$'",
                          k);
            goto done;
        }
        char *val = spec_value(resp, k, v);
        if (!val)
            goto done;
        if (!spec_valid(req, resp, k, val)) {
            free(val);
            goto done;
        }
        json_object_set_new(out, k, json_string(val));
        free(val);
    }
    json_object_foreach(out, k, v) {
        if ((rc = compute_flavor_db_spec_set(f.id, k, json_string_value(v))) < 0)
            goto done;
    }
    ms_resp_json(resp, 200, json_pack("{s:O}", "extra_specs", out));
done:
    json_decref(out);
    compute_flavor_clear(&f);
    return rc < 0 ? rc : 0;
}

int
compute_flavor_spec_show(ms_request *req, ms_response *resp)
{
    const char *key = ms_req_param(req, "key");
    compute_flavor f;
    int rc = compute_flavor_lookup(req, resp, ms_req_param(req, "flavor_id"), &f);
    if (rc < 0)
        return rc == -ENOENT ? 0 : rc;
    json_t *specs;
    rc = compute_flavor_db_specs(f.id, &specs);
    if (rc == 0) {
        json_t *v = json_object_get(specs, key);
        if (v)
            ms_resp_json(resp, 200, json_pack("{s:O}", key, v));
        else
            ms_resp_error(resp, 404, "Flavor %s has no extra specs with key %s.", f.flavorid,
                          key);
        json_decref(specs);
    }
    compute_flavor_clear(&f);
    return rc;
}

int
compute_flavor_spec_update(ms_request *req, ms_response *resp)
{
    const char *key = ms_req_param(req, "key");
    json_t *body = ms_req_json(req, resp);
    if (!body)
        return 0;
    if (json_object_size(body) > 1) {
        ms_resp_error(resp, 400, "Request body contains too many items");
        return 0;
    }
    json_t *v = json_object_get(body, key);
    if (!v) {
        ms_resp_error(resp, 400, "Request body and URI mismatch");
        return 0;
    }
    if (!spec_key_ok(key)) {
        ms_resp_error(resp, 400,
                      "Invalid input for field/attribute %s. Value: {...}. Additional "
                      "properties are not allowed",
                      key);
        return 0;
    }
    char *val = spec_value(resp, key, v);
    if (!val)
        return 0;
    if (!spec_valid(req, resp, key, val)) {
        free(val);
        return 0;
    }
    compute_flavor f;
    int rc = compute_flavor_lookup(req, resp, ms_req_param(req, "flavor_id"), &f);
    if (rc == 0) {
        rc = compute_flavor_db_spec_set(f.id, key, val);
        if (rc == 0)
            ms_resp_json(resp, 200, json_pack("{s:s}", key, val));
        compute_flavor_clear(&f);
    }
    free(val);
    return rc == -ENOENT ? 0 : rc;
}

int
compute_flavor_spec_delete(ms_request *req, ms_response *resp)
{
    const char *key = ms_req_param(req, "key");
    compute_flavor f;
    int rc = compute_flavor_lookup(req, resp, ms_req_param(req, "flavor_id"), &f);
    if (rc < 0)
        return rc == -ENOENT ? 0 : rc;
    bool found = false;
    rc = compute_flavor_db_spec_delete(f.id, key, &found);
    if (rc == 0) {
        if (found)
            ms_resp_empty(resp, 202);
        else
            ms_resp_error(resp, 404, "Flavor %s has no extra specs with key %s.", f.flavorid,
                          key);
    }
    compute_flavor_clear(&f);
    return rc;
}

/* ---- access ---- */

static int
access_reply(ms_response *resp, const compute_flavor *f)
{
    json_t *projects;
    int rc = compute_flavor_db_access(f->id, &projects);
    if (rc < 0)
        return rc;
    json_t *arr = json_array();
    size_t i;
    json_t *p;
    json_array_foreach(projects, i, p) {
        json_array_append_new(arr, json_pack("{s:s,s:O}", "flavor_id", f->flavorid,
                                             "tenant_id", p));
    }
    json_decref(projects);
    ms_resp_json(resp, 200, json_pack("{s:o}", "flavor_access", arr));
    return 0;
}

int
compute_flavor_access_list(ms_request *req, ms_response *resp)
{
    compute_flavor f;
    int rc = compute_flavor_lookup(req, resp, ms_req_param(req, "flavor_id"), &f);
    if (rc < 0)
        return rc == -ENOENT ? 0 : rc;
    if (f.is_public)
        ms_resp_error(resp, 404, "Access list not available for public flavors.");
    else
        rc = access_reply(resp, &f);
    compute_flavor_clear(&f);
    return rc;
}

int
compute_flavor_action(ms_request *req, ms_response *resp)
{
    json_t *body = ms_req_json(req, resp);
    if (!body)
        return 0;
    json_t *add = json_object_get(body, "addTenantAccess");
    json_t *rem = json_object_get(body, "removeTenantAccess");
    json_t *act = add ? add : rem;
    if (!act || json_object_size(body) != 1) {
        ms_resp_error(resp, 400, "There is no such action: %s",
                      json_object_size(body) ? json_object_iter_key(json_object_iter(body))
                                             : "");
        return 0;
    }
    const char *field = add ? "addTenantAccess" : "removeTenantAccess";
    json_t *tenant = json_is_object(act) ? json_object_get(act, "tenant") : NULL;
    if (!json_is_object(act)) {
        compute_bad_field(resp, field, act, "is not of type 'object'");
        return 0;
    }
    if (!tenant) {
        ms_resp_error(resp, 400,
                      "Invalid input for field/attribute %s. Value: %s. 'tenant' is a "
                      "required property",
                      field, "{}");
        return 0;
    }
    if (!json_is_string(tenant) || json_string_length(tenant) < 1 ||
        json_string_length(tenant) > 255) {
        compute_bad_field(resp, "tenant", tenant, "is not of type 'string'");
        return 0;
    }
    const char *project = json_string_value(tenant);
    compute_flavor f;
    int rc = compute_flavor_lookup(req, resp, ms_req_param(req, "flavor_id"), &f);
    if (rc < 0)
        return rc == -ENOENT ? 0 : rc;
    if (add) {
        /* Before 2.7 Nova records access to a public flavor without complaint. */
        if (f.is_public && COMPUTE_MV_GE(req, 2, 7)) {
            ms_resp_error(resp, 409, "Can not add access to a public flavor.");
            goto done;
        }
        rc = compute_flavor_db_access_add(f.id, project);
        if (rc == -EEXIST) {
            ms_resp_error(resp, 409,
                          "Flavor access already exists for flavor %s and project %s "
                          "combination.",
                          f.flavorid, project);
            rc = 0;
            goto done;
        }
    } else {
        bool found = false;
        rc = compute_flavor_db_access_remove(f.id, project, &found);
        if (rc == 0 && !found) {
            ms_resp_error(resp, 404, "Flavor access not found for %s / %s combination.",
                          f.flavorid, project);
            goto done;
        }
    }
    if (rc == 0)
        rc = access_reply(resp, &f);
done:
    compute_flavor_clear(&f);
    return rc;
}

/* ---- bootstrap ---- */

int
compute_flavors_bootstrap(const struct ms_bootstrap_opts *opts, char **err)
{
    (void)opts;
    static const struct {
        const char *id, *name;
        int vcpus, ram, disk;
    } defaults[] = {
        {"1", "m1.tiny", 1, 512, 1},     {"2", "m1.small", 1, 2048, 20},
        {"3", "m1.medium", 2, 4096, 40}, {"4", "m1.large", 4, 8192, 80},
        {"5", "m1.xlarge", 8, 16384, 160},
    };
    for (size_t i = 0; i < MS_ARRAY_LEN(defaults); i++) {
        bool name_used = false, id_used = false;
        int rc = compute_flavor_db_name_used(defaults[i].name, &name_used);
        if (rc == 0)
            rc = compute_flavor_db_id_used(defaults[i].id, &id_used);
        if (rc < 0) {
            *err = ms_asprintf("cannot read the flavors (rc=%d)", rc);
            return rc;
        }
        if (name_used || id_used)
            continue;
        compute_flavor f = {.memory_mb = defaults[i].ram, .vcpus = defaults[i].vcpus,
                            .root_gb = defaults[i].disk, .rxtx_factor = 1.0,
                            .is_public = true, .created_at = compute_now()};
        snprintf(f.flavorid, sizeof(f.flavorid), "%s", defaults[i].id);
        snprintf(f.name, sizeof(f.name), "%s", defaults[i].name);
        rc = compute_flavor_db_insert(&f);
        if (rc < 0 && rc != -EEXIST) {
            *err = ms_asprintf("cannot create flavor %s (rc=%d)", defaults[i].name, rc);
            return rc;
        }
    }
    return 0;
}
