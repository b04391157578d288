/* Request accessors: path parameters, query arguments, headers, the JSON
 * body and the base URL, all read from the libmicrohttpd connection. */
#include "http_internal.h"

#include <monostack/config.h>

#include <microhttpd.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

const char *
ms_req_param(const ms_request *req, const char *name)
{
    /* param_names come from the route pattern: "{user_id}" -> "user_id". */
    for (int i = 0; i < req->nparams; i++) {
        const char *n = req->param_names[i];
        size_t len = strlen(name);
        if (n && strncmp(n, name, len) == 0 && n[len] == '}')
            return req->param_values[i];
    }
    return NULL;
}

const char *
ms_req_query(const ms_request *req, const char *key)
{
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, key);
}

const char *
ms_req_header(const ms_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

typedef struct {
    bool (*fn)(void *cls, const char *key, const char *value);
    void *cls;
} query_iter;

static enum MHD_Result
query_cb(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    query_iter *it = cls;
    (void)kind;
    return it->fn(it->cls, key, value ? value : "") ? MHD_YES : MHD_NO;
}

void
ms_req_query_each(const ms_request *req,
                  bool (*fn)(void *cls, const char *key, const char *value), void *cls)
{
    query_iter it = {fn, cls};
    MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, query_cb, &it);
}

static bool
ends_with(const char *s, size_t n, const char *suffix)
{
    size_t k = strlen(suffix);
    return n >= k && strncasecmp(s + n - k, suffix, k) == 0;
}

/* application/json, +json types, and Glance's
 * application/openstack-images-v2.1-json-patch. */
static bool
is_json_type(const char *ctype)
{
    size_t n = strcspn(ctype, ";");
    while (n && ctype[n - 1] == ' ')
        n--;
    return (n == 16 && strncasecmp(ctype, "application/json", 16) == 0) ||
           ends_with(ctype, n, "+json") || ends_with(ctype, n, "-json-patch");
}

json_t *
ms_req_json(ms_request *req, ms_response *resp)
{
    if (req->json)
        return req->json;
    const char *ctype = ms_req_header(req, "Content-Type");
    if (req->body_len == 0) {
        ms_resp_error(resp, 400, "The request body is empty; a JSON object was expected.");
        return NULL;
    }
    if (ctype && *ctype && !is_json_type(ctype)) {
        /* Keystone (flask's json_body_before_request) answers 400; the
         * webob-based services answer 415 "Unsupported Content-Type". */
        int status = req->module->content_type_status;
        if (!status)
            status = req->module->error == ms_error_keystone ? 400 : 415;
        if (status == 400)
            ms_resp_error(resp, 400,
                          "Expecting to find application/json in Content-Type header - the "
                          "server could not comply with the request since it is either "
                          "malformed or otherwise incorrect. The client is assumed to be in "
                          "error.");
        else
            ms_resp_error(resp, status, "Unsupported Content-Type");
        return NULL;
    }
    json_error_t jerr;
    json_t *j = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!j) {
        ms_resp_error(resp, 400, "Malformed request body: %s", jerr.text);
        return NULL;
    }
    if (!json_is_object(j)) {
        json_decref(j);
        ms_resp_error(resp, 400, "Malformed request body: a JSON object was expected.");
        return NULL;
    }
    req->json = j;
    return j;
}

const char *
ms_req_base_url(ms_request *req)
{
    ms_http_call *call = (ms_http_call *)req;   /* req is the call's first member */
    if (call->base_url[0])
        return call->base_url;
    const char *host = ms_req_header(req, "Host");
    if (host && *host && strlen(host) < sizeof(call->base_url) - 8 &&
        strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]") ==
            strlen(host)) {
        snprintf(call->base_url, sizeof(call->base_url), "http://%s", host);
    } else {
        const ms_service_conf *sc = ms_config_service(req->module->name);
        snprintf(call->base_url, sizeof(call->base_url), "http://%s:%d",
                 ms_conf.public_url_host, sc ? sc->port : req->module->default_port);
    }
    return call->base_url;
}
