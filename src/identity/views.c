/* JSON pieces every identity resource renders the same way: self links,
 * collection links, the free-form "extra" attributes Keystone keeps beside
 * the known columns, the 404 wording, and a list reply. */
#include "identity.h"

#include <monostack/json.h>

#include <ctype.h>
#include <stdio.h>
#include <string.h>

/* Options of projects, domains and users live in extra under this key
 * (resources_db.h); it is never a user's extra attribute. */
#define OPTIONS_KEY "__options__"

json_t *
identity_links_self(ms_request *req, const char *kind, const char *id)
{
    char *url = ms_asprintf("%s/v3/%s/%s", ms_req_base_url(req), kind, id);
    json_t *l = json_pack("{s:s}", "self", url);
    free(url);
    return l;
}

static void
add_escaped(ms_buf *b, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (isalnum(c) || strchr("-._~,:", c))
            ms_buf_add(b, s, 1);
        else
            ms_buf_addf(b, "%%%02X", c);
    }
}

static bool
add_query_arg(void *cls, const char *key, const char *value)
{
    ms_buf *b = cls;
    ms_buf_adds(b, b->len && strchr(ms_buf_cstr(b), '?') ? "&" : "?");
    add_escaped(b, key);
    if (value) {
        ms_buf_adds(b, "=");
        add_escaped(b, value);
    }
    return true;
}

json_t *
identity_collection_links(ms_request *req)
{
    ms_buf b = {0};
    ms_buf_addf(&b, "%s%s", ms_req_base_url(req), req->path);
    if (req->conn)
        ms_req_query_each(req, add_query_arg, &b);
    json_t *l = json_pack("{s:s,s:n,s:n}", "self", ms_buf_cstr(&b), "previous", "next");
    ms_buf_free(&b);
    return l;
}

json_t *
identity_extra_obj(const char *text)
{
    json_t *o = text ? json_loads(text, 0, NULL) : NULL;
    if (!json_is_object(o)) {
        json_decref(o);
        o = json_object();
    }
    return o;
}

char *
identity_extra_text(const json_t *obj, const char *const *known, const char *old)
{
    json_t *extra = identity_extra_obj(old);
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)obj, k, v) {
        bool is_known = strcmp(k, OPTIONS_KEY) == 0;
        for (const char *const *p = known; *p && !is_known; p++)
            is_known = strcmp(*p, k) == 0;
        if (!is_known)
            json_object_set(extra, k, v);
    }
    char *s = json_object_size(extra) ? json_dumps(extra, JSON_COMPACT) : NULL;
    json_decref(extra);
    return s;
}

int
identity_not_found(ms_response *resp, const char *what, const char *id)
{
    ms_resp_error(resp, 404, "Could not find %s: %s.", what, id);
    return 0;
}

int
identity_list_reply(ms_request *req, ms_response *resp, const char *key, ms_result *r,
                    json_t *(*render)(ms_request *req, const ms_result *r, size_t i))
{
    json_t *list = json_array();
    for (size_t i = 0; i < r->nrows; i++)
        json_array_append_new(list, render(req, r, i));
    ms_result_free(r);
    ms_resp_json(resp, 200,
                 json_pack("{s:o,s:o}", key, list, "links", identity_collection_links(req)));
    return 0;
}
