/* Responses and the error body of each OpenStack service: Keystone's
 * {"error": {...}}, Nova's and Cinder's {"itemNotFound": {...}}, webob's
 * (Glance) and Neutron's {"NeutronError": {...}}. */
#include "http_internal.h"

#include <errno.h>
#include <microhttpd.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

const char *
ms_http_reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 300: return "Multiple Choices";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Request Entity Too Large";
    case 414: return "Request-URI Too Long";
    case 415: return "Unsupported Media Type";
    case 416: return "Requested Range Not Satisfiable";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    default: return status < 400 ? "OK" : "Error";
    }
}

void
ms_response_reset(ms_response *resp)
{
    free(resp->body);
    resp->body = NULL;
    resp->body_len = 0;
    if (resp->reader_free)
        resp->reader_free(resp->reader_cls);
    resp->reader = NULL;
    resp->reader_cls = NULL;
    resp->reader_free = NULL;
    resp->status = 0;
    resp->content_type = NULL;
}

static void
set_body(ms_response *resp, int status, const char *ctype, char *body, size_t len)
{
    ms_response_reset(resp);
    resp->status = status;
    resp->body = body;
    resp->body_len = len;
    if (ctype && strlen(ctype) < sizeof(resp->ctype_buf)) {
        strcpy(resp->ctype_buf, ctype);
        resp->content_type = resp->ctype_buf;
    }
}

void
ms_resp_json(ms_response *resp, int status, json_t *body)
{
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (!text)
        abort();   /* jansson fails only on allocation failure */
    set_body(resp, status, "application/json", text, strlen(text));
}

void
ms_resp_text(ms_response *resp, int status, const char *ctype, char *body, size_t len)
{
    set_body(resp, status, ctype, body, len);
}

void
ms_resp_empty(ms_response *resp, int status)
{
    set_body(resp, status, NULL, NULL, 0);
}

void
ms_resp_header(ms_response *resp, const char *name, const char *value)
{
    for (int i = 0; i < resp->nheaders; i++) {
        if (strcasecmp(resp->header_names[i], name) == 0) {
            free(resp->header_values[i]);
            resp->header_values[i] = ms_strdup(value);
            return;
        }
    }
    if (resp->nheaders == MS_MAX_RESP_HEADERS)
        abort();   /* a programming error: raise MS_MAX_RESP_HEADERS */
    resp->header_names[resp->nheaders] = ms_strdup(name);
    resp->header_values[resp->nheaders++] = ms_strdup(value);
}

void
ms_resp_stream(ms_response *resp, int status, uint64_t size, ms_stream_reader read,
               void *cls, void (*free_cls)(void *cls))
{
    ms_response_reset(resp);
    resp->status = status;
    resp->stream_size = size;
    resp->reader = read;
    resp->reader_cls = cls;
    resp->reader_free = free_cls;
}

int
ms_resp_status(const ms_response *resp)
{
    return resp->status;
}

void
ms_resp_error(ms_response *resp, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = ms_vasprintf(fmt, ap);
    va_end(ap);
    const ms_module *mod = resp->req ? resp->req->module : NULL;
    if (mod && mod->error)
        mod->error(resp, status, msg);
    else
        ms_error_plain(resp, status, msg);
    free(msg);
}

void
ms_error_keystone(ms_response *resp, int status, const char *message)
{
    json_t *err = json_pack("{s:{s:i,s:s,s:s}}", "error", "code", status, "title",
                            ms_http_reason(status), "message", message);
    ms_resp_json(resp, status, err);
}

static const char *
nova_fault_name(int status)
{
    switch (status) {
    case 400: return "badRequest";
    case 401: return "unauthorized";
    case 403: return "forbidden";
    case 404: return "itemNotFound";
    case 405: return "badMethod";
    case 406: return "notAcceptable";
    case 409: return "conflictingRequest";
    case 413: return "overLimit";
    case 415: return "badMediaType";
    case 429: return "overLimit";
    case 501: return "notImplemented";
    case 503: return "serviceUnavailable";
    default: return "computeFault";
    }
}

void
ms_error_nova(ms_response *resp, int status, const char *message)
{
    json_t *err = json_pack("{s:{s:i,s:s}}", nova_fault_name(status), "code", status,
                            "message", message);
    ms_resp_json(resp, status, err);
}

/* Glance answers through webob: JSON when the client accepts it, else a
 * small HTML page, both carrying the status line and the message. */
void
ms_error_webob(ms_response *resp, int status, const char *message)
{
    const char *accept = resp->req ? ms_req_header(resp->req, "Accept") : NULL;
    const char *reason = ms_http_reason(status);
    if (accept && strstr(accept, "application/json")) {
        char code[64];
        snprintf(code, sizeof(code), "%d %s", status, reason);
        ms_resp_json(resp, status,
                     json_pack("{s:s,s:s,s:s}", "message", message, "code", code, "title",
                               reason));
        return;
    }
    char *body = ms_asprintf("<html>\n <head>\n  <title>%d %s</title>\n </head>\n <body>\n"
                             "  <h1>%d %s</h1>\n  %s<br /><br />\n\n\n\n </body>\n</html>",
                             status, reason, status, reason, message);
    set_body(resp, status, "text/html; charset=UTF-8", body, strlen(body));
}

static const char *
neutron_type(int status)
{
    switch (status) {
    case 400: return "HTTPBadRequest";
    case 401: return "HTTPUnauthorized";
    case 403: return "HTTPForbidden";
    case 404: return "HTTPNotFound";
    case 405: return "HTTPMethodNotAllowed";
    case 409: return "HTTPConflict";
    case 413: return "HTTPRequestEntityTooLarge";
    case 415: return "HTTPUnsupportedMediaType";
    case 503: return "HTTPServiceUnavailable";
    default: return "HTTPInternalServerError";
    }
}

void
ms_error_neutron(ms_response *resp, int status, const char *message)
{
    json_t *err = json_pack("{s:{s:s,s:s,s:s}}", "NeutronError", "type", neutron_type(status),
                            "message", message, "detail", "");
    ms_resp_json(resp, status, err);
}

void
ms_error_plain(ms_response *resp, int status, const char *message)
{
    char *body = ms_asprintf("%d %s\n\n%s\n", status, ms_http_reason(status), message);
    set_body(resp, status, "text/plain; charset=UTF-8", body, strlen(body));
}

void
ms_response_from_rc(ms_response *resp, int rc)
{
    if (rc == 0 && resp->status)
        return;
    if (rc == -EAGAIN)
        ms_resp_error(resp, 503, "The service is temporarily unavailable: a backing service "
                                 "(database or message bus) cannot be reached.");
    else
        ms_resp_error(resp, 500, "An unexpected error prevented the server from fulfilling "
                                 "your request.");
}
