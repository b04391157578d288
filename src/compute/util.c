/* Small helpers shared by the compute API files: Nova's links (self,
 * bookmark, next), its validation error wording, limit/marker parsing,
 * boolean strings and timestamps. */
#include "compute.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* The "/{project_id}" part of links: present only when the request URL
 * carried it, as Nova's ViewBuilder._get_project_id does. */
static const char *
link_project(ms_request *req)
{
    const char *p = ms_req_param(req, "project_id");
    return p ? p : "";
}

/* base [/v2|/v2.1] [/project] /collection [/id], newly allocated. Put
 * together without printf: a list renders several links per server. */
static char *
link_join(ms_request *req, bool versioned, const char *collection, const char *id)
{
    const char *p = link_project(req);
    const char *ver = !versioned ? "" : strncmp(req->path, "/v2/", 4) == 0 ? "/v2" : "/v2.1";
    const char *parts[] = {ms_req_base_url(req), ver, *p ? "/" : "", p, "/", collection,
                           id ? "/" : "", id ? id : ""};
    size_t lens[MS_ARRAY_LEN(parts)], total = 1;
    for (size_t i = 0; i < MS_ARRAY_LEN(parts); i++)
        total += lens[i] = strlen(parts[i]);
    char *out = ms_malloc(total), *o = out;
    for (size_t i = 0; i < MS_ARRAY_LEN(parts); i++) {
        memcpy(o, parts[i], lens[i]);
        o += lens[i];
    }
    *o = '\0';
    return out;
}

char *
compute_href(ms_request *req, const char *collection, const char *id)
{
    return link_join(req, true, collection, id);
}

char *
compute_bookmark(ms_request *req, const char *collection, const char *id)
{
    return link_join(req, false, collection, id);
}

/* {"rel": rel, "href": href}, taking href. */
static json_t *
link_new(const char *rel, char *href)
{
    json_t *o = json_object();
    json_object_set_new_nocheck(o, "rel", json_string_nocheck(rel));
    json_object_set_new_nocheck(o, "href", json_string(href));
    free(href);
    return o;
}

json_t *
compute_links(ms_request *req, const char *collection, const char *id)
{
    json_t *links = json_array();
    json_array_append_new(links, link_new("self", compute_href(req, collection, id)));
    json_array_append_new(links, link_new("bookmark", compute_bookmark(req, collection, id)));
    return links;
}

typedef struct {
    char *keys[64];
    char *vals[64];
    int n;
} query_copy;

static bool
copy_arg(void *cls, const char *key, const char *value)
{
    query_copy *q = cls;
    if (q->n < 64 && strcmp(key, "marker") != 0) {
        q->keys[q->n] = ms_strdup(key);
        q->vals[q->n++] = ms_strdup(value);
    }
    return true;
}

static void
url_escape(ms_buf *b, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (isalnum(c) || strchr("-._~", c))
            ms_buf_add(b, s, 1);
        else
            ms_buf_addf(b, "%%%02X", c);
    }
}

json_t *
compute_next_link(ms_request *req, const char *collection, const char *marker)
{
    query_copy q = {.n = 0};
    ms_req_query_each(req, copy_arg, &q);
    /* Nova sorts the parameters by name, marker included. */
    q.keys[q.n] = ms_strdup("marker");
    q.vals[q.n++] = ms_strdup(marker);
    for (int i = 1; i < q.n; i++) {
        for (int j = i; j > 0 && strcmp(q.keys[j - 1], q.keys[j]) > 0; j--) {
            char *k = q.keys[j], *v = q.vals[j];
            q.keys[j] = q.keys[j - 1];
            q.vals[j] = q.vals[j - 1];
            q.keys[j - 1] = k;
            q.vals[j - 1] = v;
        }
    }
    ms_buf b = {0};
    char *base = compute_href(req, collection, NULL);
    ms_buf_adds(&b, base);
    free(base);
    for (int i = 0; i < q.n; i++) {
        ms_buf_adds(&b, i ? "&" : "?");
        url_escape(&b, q.keys[i]);
        ms_buf_adds(&b, "=");
        url_escape(&b, q.vals[i]);
        free(q.keys[i]);
        free(q.vals[i]);
    }
    json_t *links = json_pack("[{s:s,s:s}]", "rel", "next", "href", ms_buf_cstr(&b));
    ms_buf_free(&b);
    return links;
}

char *
compute_json_repr(const json_t *v)
{
    if (!v)
        return ms_strdup("None");
    if (json_is_string(v))
        return ms_asprintf("'%s'", json_string_value(v));
    if (json_is_true(v))
        return ms_strdup("True");
    if (json_is_false(v))
        return ms_strdup("False");
    if (json_is_null(v))
        return ms_strdup("None");
    char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    return s ? s : ms_strdup("?");
}

void
compute_bad_field(ms_response *resp, const char *field, const json_t *value,
                  const char *reason)
{
    char *repr = compute_json_repr(value);
    ms_resp_error(resp, 400, "Invalid input for field/attribute %s. Value: %s. %s", field,
                  repr, reason);
    free(repr);
}

int
compute_limit_marker(ms_request *req, ms_response *resp, int *limit, const char **marker)
{
    const char *l = ms_req_query(req, "limit");
    *limit = COMPUTE_MAX_LIMIT;
    if (l) {
        char *end;
        errno = 0;
        long v = strtol(l, &end, 10);
        if (!*l || *end || errno) {
            ms_resp_error(resp, 400, "limit param must be an integer");
            return -1;
        }
        if (v < 0) {
            ms_resp_error(resp, 400, "limit param must be positive");
            return -1;
        }
        *limit = v < COMPUTE_MAX_LIMIT ? (int)v : COMPUTE_MAX_LIMIT;
    }
    *marker = ms_req_query(req, "marker");
    return 0;
}

int
compute_parse_bool(const char *s)
{
    static const char *const yes[] = {"1", "t", "true", "on", "y", "yes"};
    static const char *const no[] = {"0", "f", "false", "off", "n", "no"};
    if (!s)
        return -1;
    for (size_t i = 0; i < MS_ARRAY_LEN(yes); i++) {
        if (strcasecmp(s, yes[i]) == 0)
            return 1;
        if (strcasecmp(s, no[i]) == 0)
            return 0;
    }
    return -1;
}

int
compute_json_bool(const json_t *v)
{
    if (json_is_boolean(v))
        return json_is_true(v);
    if (!json_is_string(v))
        return -1;
    /* The schema's enum: True/TRUE/true, 1, ON/On/on, YES/Yes/yes and negatives. */
    static const char *const t[] = {"True", "TRUE", "true", "1", "ON", "On", "on",
                                    "YES", "Yes", "yes"};
    static const char *const f[] = {"False", "FALSE", "false", "0", "OFF", "Off", "off",
                                    "NO", "No", "no"};
    const char *s = json_string_value(v);
    for (size_t i = 0; i < MS_ARRAY_LEN(t); i++) {
        if (strcmp(s, t[i]) == 0)
            return 1;
        if (strcmp(s, f[i]) == 0)
            return 0;
    }
    return -1;
}

bool
compute_json_intlike(const json_t *v, long long *out)
{
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return true;
    }
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        if (!*s || strspn(s, "0123456789") != strlen(s) || strlen(s) > 18)
            return false;
        *out = strtoll(s, NULL, 10);
        return true;
    }
    return false;
}

bool
compute_valid_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || isspace((unsigned char)s[0]) || isspace((unsigned char)s[n - 1]))
        return false;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x20 || *p == 0x7f)
            return false;
    }
    return true;
}

int64_t
compute_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void
compute_time_iso(int64_t us, char out[32])
{
    ms_time_iso(us, false, out);
}

void
compute_time_iso_frac(int64_t us, char out[32])
{
    ms_time_iso(us, true, out);
    size_t n = strlen(out);
    if (n && out[n - 1] == 'Z')
        out[n - 1] = '\0';
}

bool
compute_project_ok(ms_request *req, ms_response *resp)
{
    const char *p = ms_req_param(req, "project_id");
    if (!p)
        return true;
    if (strspn(p, "0123456789abcdef-") != strlen(p)) {
        ms_resp_error(resp, 404, "The resource could not be found.");
        return false;
    }
    if (req->auth.authenticated && strcmp(p, req->auth.project_id) != 0) {
        ms_resp_error(resp, 400,
                      "Malformed request URL: URL's project_id '%s' doesn't match "
                      "Context's project_id '%s'",
                      p, req->auth.project_id);
        return false;
    }
    return true;
}

typedef struct {
    const char *const *allowed;
    const char *bad;
} query_check;

static bool
query_known(void *cls, const char *key, const char *value)
{
    (void)value;
    query_check *q = cls;
    for (const char *const *a = q->allowed; *a; a++) {
        if (!strcmp(*a, key))
            return true;
    }
    if (!q->bad)
        q->bad = key;
    return true;
}

bool
compute_query_strict(ms_request *req, ms_response *resp, const char *const *allowed)
{
    return compute_query_strict_from(req, resp, allowed, MS_MV(2, 75));
}

bool
compute_query_strict_from(ms_request *req, ms_response *resp, const char *const *allowed,
                          int min_mv)
{
    if (req->mv < min_mv)
        return true;
    query_check q = {.allowed = allowed};
    ms_req_query_each(req, query_known, &q);
    if (!q.bad)
        return true;
    ms_resp_error(resp, 400, "Additional properties are not allowed ('%s' was unexpected)",
                  q.bad);
    return false;
}
int
compute_disk_config(ms_response *resp, const json_t *obj)
{
    json_t *v = json_is_object(obj) ? json_object_get(obj, "OS-DCF:diskConfig") : NULL;
    if (!v)
        return -1;
    if (json_is_string(v) && !strcmp(json_string_value(v), "AUTO"))
        return 1;
    if (json_is_string(v) && !strcmp(json_string_value(v), "MANUAL"))
        return 0;
    compute_bad_field(resp, "OS-DCF:diskConfig", v, "is not one of ['AUTO', 'MANUAL']");
    return -2;
}

bool
compute_access_ip(ms_response *resp, const json_t *obj, bool v6, char out[64])
{
    const char *field = v6 ? "accessIPv6" : "accessIPv4";
    json_t *v = json_is_object(obj) ? json_object_get(obj, field) : NULL;
    out[0] = '\0';
    if (!v)
        return true;
    unsigned char addr[sizeof(struct in6_addr)];
    int af = v6 ? AF_INET6 : AF_INET;
    if (!json_is_string(v)) {
        compute_bad_field(resp, field, v, "is not of type 'string'");
        return false;
    }
    if (inet_pton(af, json_string_value(v), addr) != 1) {
        char *repr = compute_json_repr(v);
        char *reason = ms_asprintf("%s is not a '%s'", repr, v6 ? "ipv6" : "ipv4");
        compute_bad_field(resp, field, v, reason);
        free(reason);
        free(repr);
        return false;
    }
    /* Nova keeps the address, not the text: answers show its canonical form. */
    if (!inet_ntop(af, addr, out, 64))
        out[0] = '\0';
    return true;
}
