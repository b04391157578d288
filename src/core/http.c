/* The HTTP server: one libmicrohttpd daemon (a thread pool) per enabled
 * service module. Each request runs through the same steps, so no handler
 * can skip one: route match (404/405), microversion (400/406), body limit
 * (413), token validation (401/503), the route's policy (403), then the
 * handler or the stream callbacks, and one access-log line with the
 * latency. /healthcheck and /metrics are served on every listener. */
#include "http_internal.h"

#include <monostack/config.h>
#include <monostack/db.h>
#include <monostack/log.h>
#include <monostack/task.h>

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define MAX_LISTENERS 16

typedef struct {
    const ms_module *mod;
    struct MHD_Daemon *daemon;
    ms_metric **route_metrics;      /* one per route, by index */
    ms_metric *m_unmatched, *m_health, *m_metrics;
    char www_authenticate[300];
} listener;

static listener listeners[MAX_LISTENERS];
static size_t nlisteners;
static atomic_int in_flight;

static const struct {
    const char *name;
    ms_method m;
} methods[] = {
    {"GET", MS_GET},       {"HEAD", MS_HEAD},     {"POST", MS_POST},      {"PUT", MS_PUT},
    {"PATCH", MS_PATCH},   {"DELETE", MS_DELETE}, {"OPTIONS", MS_OPTIONS},
};

static ms_method
parse_method(const char *s)
{
    for (size_t i = 0; i < MS_ARRAY_LEN(methods); i++) {
        if (strcmp(s, methods[i].name) == 0)
            return methods[i].m;
    }
    return 0;
}

static void
allow_header(unsigned allowed, char *out, size_t n)
{
    out[0] = '\0';
    for (size_t i = 0; i < MS_ARRAY_LEN(methods); i++) {
        if (allowed & methods[i].m) {
            if (out[0])
                strncat(out, ", ", n - strlen(out) - 1);
            strncat(out, methods[i].name, n - strlen(out) - 1);
        }
    }
}

/* ---- the core's own endpoints ---- */

static void
healthcheck(ms_request *req, ms_response *resp)
{
    char *err = NULL;
    bool db_ok = ms_db_ping(&err) == 0;
    free(err);
    bool bus_ok = ms_bus_connected();
    bool ok = db_ok && bus_ok;
    json_t *body = json_pack("{s:s,s:s,s:s,s:s}", "status", ok ? "ok" : "unavailable",
                             "database", db_ok ? "ok" : "down", "bus", bus_ok ? "ok" : "down",
                             "service", req->module->name);
    ms_resp_json(resp, ok ? 200 : 503, body);
}

static void
metrics(ms_response *resp)
{
    char *text = ms_metrics_render();
    ms_resp_text(resp, 200, "text/plain; version=0.0.4", text, strlen(text));
}

/* ---- request steps ---- */

/* The microversion from OpenStack-API-Version ("compute 2.60") or the
 * service's legacy header. Sets req->mv or answers 400/406. */
static bool
negotiate_mv(ms_request *req, ms_response *resp)
{
    const ms_module *mod = req->module;
    if (!mod->mv_service)
        return true;
    const char *value = NULL;
    char buf[64];
    const char *h = ms_req_header(req, "OpenStack-API-Version");
    size_t slen = strlen(mod->mv_service);
    for (const char *p = h; p && *p;) {
        p += strspn(p, " ,");
        size_t n = strcspn(p, ",");
        if (n > slen && strncasecmp(p, mod->mv_service, slen) == 0 && p[slen] == ' ' &&
            n - slen - 1 < sizeof(buf)) {
            memcpy(buf, p + slen + 1, n - slen - 1);
            buf[n - slen - 1] = '\0';
            value = buf;
            break;
        }
        p += n;
    }
    if (!value && mod->mv_legacy_header)
        value = ms_req_header(req, mod->mv_legacy_header);
    if (!value) {
        req->mv = mod->mv_min;
    } else {
        int mv = ms_mv_parse(value, mod->mv_min, mod->mv_max);
        if (mv < 0) {
            ms_resp_error(resp, 400,
                          "API Version String %s is of invalid format. Must be of format "
                          "MajorNum.MinorNum.",
                          value);
            return false;
        }
        if (mv < mod->mv_min || mv > mod->mv_max) {
            ms_resp_error(resp, 406,
                          "Version %s is not supported by the API. Minimum is %d.%d and "
                          "maximum is %d.%d.",
                          value, mod->mv_min / 1000, mod->mv_min % 1000, mod->mv_max / 1000,
                          mod->mv_max % 1000);
            return false;
        }
        req->mv = mv;
    }
    return true;
}

static void
mv_headers(ms_request *req, ms_response *resp)
{
    const ms_module *mod = req->module;
    if (!mod->mv_service || !req->mv)
        return;
    char v[64];
    snprintf(v, sizeof(v), "%s %d.%d", mod->mv_service, req->mv / 1000, req->mv % 1000);
    ms_resp_header(resp, "OpenStack-API-Version", v);
    if (mod->mv_legacy_header) {
        snprintf(v, sizeof(v), "%d.%d", req->mv / 1000, req->mv % 1000);
        ms_resp_header(resp, mod->mv_legacy_header, v);
        snprintf(v, sizeof(v), "OpenStack-API-Version, %s", mod->mv_legacy_header);
        ms_resp_header(resp, "Vary", v);
    } else {
        ms_resp_header(resp, "Vary", "OpenStack-API-Version");
    }
}

static bool
authenticate(listener *l, ms_request *req, ms_response *resp)
{
    const char *token = ms_req_header(req, "X-Auth-Token");
    int rc = ms_str_empty(token) ? -EACCES : ms_auth_validate(token, &req->auth);
    if (rc == -EAGAIN) {
        ms_response_from_rc(resp, rc);
        return false;
    }
    if (rc < 0) {
        memset(&req->auth, 0, sizeof(req->auth));
        ms_resp_error(resp, 401, "The request you have made requires authentication.");
        ms_resp_header(resp, "WWW-Authenticate", l->www_authenticate);
        return false;
    }
    req->auth.authenticated = true;
    return true;
}

static bool
authorize(const listener *l, ms_request *req, ms_response *resp)
{
    if (ms_policy_check(req->route->policy, &req->auth, ms_req_param(req, "user_id")))
        return true;
    ms_resp_error(resp, 403, "You are not authorized to perform the requested action: %s:%s.",
                  l->mod->name, req->route->name ? req->route->name : req->path);
    return false;
}

/* Runs when the headers are in. Returns true when the response is decided. */
static bool
prepare(listener *l, ms_http_call *call, const char *version)
{
    ms_request *req = &call->req;
    ms_response *resp = &call->resp;
    (void)version;
    if (strcmp(req->path, "/healthcheck") == 0 && (req->method & (MS_GET | MS_HEAD))) {
        call->metric = l->m_health;
        healthcheck(req, resp);
        return true;
    }
    if (strcmp(req->path, "/metrics") == 0 && (req->method & (MS_GET | MS_HEAD))) {
        call->metric = l->m_metrics;
        metrics(resp);
        return true;
    }
    call->metric = l->m_unmatched;
    /* The version list at "/" is not itself microversioned. */
    if (strcmp(req->path, "/") != 0 && !negotiate_mv(req, resp))
        return true;

    unsigned allowed = 0;
    char *values[MS_MAX_PARAMS] = {0};
    int nvalues = 0;
    /* An unknown method (0) matches no route but still yields Allow. */
    const ms_route *r = ms_router_match_mv(l->mod, req->path, req->method, req->mv, values,
                                           &nvalues, &allowed);
    if (!r) {
        if (allowed) {
            char allow[96];
            allow_header(allowed, allow, sizeof(allow));
            ms_resp_error(resp, 405, "The method %s is not allowed for this resource.",
                          req->method_str);
            ms_resp_header(resp, "Allow", allow);
        } else {
            ms_resp_error(resp, 404, "The resource could not be found.");
        }
        return true;
    }
    req->route = r;
    req->nparams = ms_route_param_names(r, req->param_names);
    memcpy(req->param_values, values, sizeof(values));
    call->metric = l->route_metrics[r - l->mod->routes];

    const char *clen = ms_req_header(req, "Content-Length");
    if (!r->stream && clen && strtoull(clen, NULL, 10) > (unsigned long long)ms_conf.max_body_size) {
        ms_resp_error(resp, 413, "Request is too large.");
        return true;
    }
    if (r->policy != MS_POL_PUBLIC && !authenticate(l, req, resp))
        return true;
    if (r->policy != MS_POL_PUBLIC && !authorize(l, req, resp))
        return true;
    if (r->stream && r->stream->begin) {
        int rc = r->stream->begin(req, resp);
        if (rc < 0)
            ms_response_from_rc(resp, rc);
        return resp->status != 0;
    }
    return false;
}

static void
receive(ms_http_call *call, const char *data, size_t len)
{
    ms_request *req = &call->req;
    if (req->route->stream) {
        if (call->stream_failed)
            return;   /* discard the rest; the response is already decided */
        int rc = req->route->stream->data(req, &call->resp, data, len);
        if (rc < 0) {
            call->stream_failed = true;
            if (!call->resp.status)
                ms_response_from_rc(&call->resp, rc);
        }
        return;
    }
    if (call->body_overflow || call->body.len + len > (size_t)ms_conf.max_body_size) {
        call->body_overflow = true;
        ms_buf_free(&call->body);
        return;
    }
    ms_buf_add(&call->body, data, len);
}

static void
finish(ms_http_call *call)
{
    ms_request *req = &call->req;
    ms_response *resp = &call->resp;
    const ms_route *r = req->route;
    if (r->stream) {
        if (!call->stream_failed) {
            call->stream_ended = true;
            int rc = r->stream->end ? r->stream->end(req, resp) : 0;
            ms_response_from_rc(resp, rc);
        }
        return;
    }
    if (call->body_overflow) {
        ms_resp_error(resp, 413, "Request is too large.");
        return;
    }
    req->body = call->body.data;
    req->body_len = call->body.len;
    /* A deadlock rolled the handler's transaction back before it answered or
     * wrote anything durable: run it again, as OpenStack's services do
     * (oslo.db's deadlock retry), instead of a 503 for a transient clash. */
    int rc;
    int tries = 0;
    ms_db_retryable();
    do
        rc = r->handler(req, resp);
    while (rc == -EAGAIN && !resp->status && ms_db_retryable() && ++tries < 3);
    if (rc == 0 && !resp->status) {
        ms_error("handler %s:%s set no response", req->module->name, r->name);
        rc = -EIO;
    }
    ms_response_from_rc(resp, rc);
}

static ssize_t
stream_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    ms_response *resp = cls;
    long n = resp->reader(resp->reader_cls, pos, buf, max);
    if (n == 0)
        return MHD_CONTENT_READER_END_OF_STREAM;
    if (n < 0)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    return n;
}

static enum MHD_Result
queue(struct MHD_Connection *conn, ms_http_call *call)
{
    ms_request *req = &call->req;
    ms_response *resp = &call->resp;
    call->dispatched = true;
    mv_headers(req, resp);
    struct MHD_Response *r;
    if (resp->reader) {
        /* The reader and its state stay with resp, freed when the call ends. */
        r = MHD_create_response_from_callback(resp->stream_size, 256 * 1024, stream_reader,
                                              resp, NULL);
    } else {
        r = MHD_create_response_from_buffer(resp->body_len, resp->body, MHD_RESPMEM_MUST_FREE);
        resp->body = NULL;
    }
    if (!r)
        return MHD_NO;
    const char *rid_header = req->module->request_id_header;
    MHD_add_response_header(r, rid_header ? rid_header : "x-openstack-request-id",
                            req->request_id);
    if (rid_header && strcasecmp(rid_header, "x-openstack-request-id") != 0)
        MHD_add_response_header(r, "x-openstack-request-id", req->request_id);
    if (resp->content_type)
        MHD_add_response_header(r, "Content-Type", resp->content_type);
    for (int i = 0; i < resp->nheaders; i++)
        MHD_add_response_header(r, resp->header_names[i], resp->header_values[i]);
    enum MHD_Result ret = MHD_queue_response(conn, (unsigned)resp->status, r);
    MHD_destroy_response(r);
    return ret;
}

static ms_http_call *
call_new(listener *l, struct MHD_Connection *conn, const char *url, const char *method)
{
    ms_http_call *call = ms_calloc(1, sizeof(*call));
    atomic_fetch_add(&in_flight, 1);
    call->started_us = ms_now_us();
    ms_request *req = &call->req;
    req->module = l->mod;
    req->conn = conn;
    req->method_str = method;
    req->method = parse_method(method);
    size_t len = strlen(url);
    while (len > 1 && url[len - 1] == '/' && !l->mod->keep_trailing_slash)
        len--;
    call->path_copy = ms_strndup(url, len);
    req->path = call->path_copy;
    char uuid[37];
    ms_uuid(uuid);
    snprintf(req->request_id, sizeof(req->request_id), "req-%s", uuid);
    call->resp.req = req;
    return call;
}

static void
call_free(ms_http_call *call)
{
    ms_request *req = &call->req;
    for (int i = 0; i < MS_MAX_PARAMS; i++)
        free(req->param_values[i]);
    json_decref(req->json);
    ms_response_reset(&call->resp);
    for (int i = 0; i < call->resp.nheaders; i++) {
        free(call->resp.header_names[i]);
        free(call->resp.header_values[i]);
    }
    ms_buf_free(&call->body);
    free(call->path_copy);
    free(call);
    atomic_fetch_sub(&in_flight, 1);
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
           const char *version, const char *upload_data, size_t *upload_data_size,
           void **con_cls)
{
    listener *l = cls;
    ms_http_call *call = *con_cls;
    if (!call) {
        call = call_new(l, conn, url, method);
        *con_cls = call;
        if (prepare(l, call, version))
            return queue(conn, call);
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (!call->dispatched)
            receive(call, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (call->dispatched)
        return MHD_YES;
    finish(call);
    return queue(conn, call);
}

static void
on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
             enum MHD_RequestTerminationCode toe)
{
    listener *l = cls;
    ms_http_call *call = *con_cls;
    (void)conn;
    if (!call)
        return;
    ms_request *req = &call->req;
    if (req->route && req->route->stream && !call->stream_ended && req->route->stream->abort)
        req->route->stream->abort(req);
    uint64_t usec = ms_now_us() - call->started_us;
    int status = call->dispatched ? call->resp.status : 499;   /* 499: client went away */
    if (call->metric)
        ms_metric_observe(call->metric, status, usec);
    if (ms_log_threshold <= MS_LOG_INFO) {
        char addr[INET6_ADDRSTRLEN] = "-";
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        if (ci && ci->client_addr) {
            const struct sockaddr *sa = ci->client_addr;
            if (sa->sa_family == AF_INET)
                inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, addr,
                          sizeof(addr));
            else if (sa->sa_family == AF_INET6)
                inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, addr,
                          sizeof(addr));
        }
        ms_log_write(MS_LOG_INFO, __FILE__, __LINE__,
                     "req=%s service=%s method=%s path=\"%s\" status=%d us=%llu remote=%s "
                     "project=%s%s",
                     req->request_id, l->mod->name, req->method_str, req->path, status,
                     (unsigned long long)usec, addr,
                     req->auth.project_id[0] ? req->auth.project_id : "-",
                     toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " aborted=1");
    }
    call_free(call);
    *con_cls = NULL;
}

static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char buf[512];
    vsnprintf(buf, sizeof(buf), fmt, ap);
    buf[strcspn(buf, "\n")] = '\0';
    ms_warn("http: %s", buf);
}

static int
listener_start(listener *l, const ms_service_conf *sc, char **err)
{
    const ms_module *mod = l->mod;
    l->route_metrics = ms_calloc(mod->nroutes, sizeof(*l->route_metrics));
    /* The route label is the route's own name (the service is a label of its
     * own), or its path pattern when the table gives no name. */
    for (size_t i = 0; i < mod->nroutes; i++) {
        const char *name = mod->routes[i].name;
        l->route_metrics[i] =
            ms_metric_get(mod->name, name && *name ? name : mod->routes[i].path);
    }
    l->m_unmatched = ms_metric_get(mod->name, "unmatched");
    l->m_health = ms_metric_get(mod->name, "healthcheck");
    l->m_metrics = ms_metric_get(mod->name, "metrics");
    const ms_service_conf *idc = ms_config_service("identity");
    snprintf(l->www_authenticate, sizeof(l->www_authenticate), "Keystone uri=\"http://%s:%d\"",
             ms_conf.public_url_host, idc ? idc->port : 5000);

    char port[16];
    snprintf(port, sizeof(port), "%d", sc->port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *ai = NULL;
    int gai = getaddrinfo(ms_conf.bind_host, port, &hints, &ai);
    if (gai != 0) {
        *err = ms_asprintf("cannot resolve bind_host %s: %s", ms_conf.bind_host,
                           gai_strerror(gai));
        return -EINVAL;
    }
    /* poll(2), not epoll: libmicrohttpd 0.9.75 with epoll does not notice a
     * client that closes mid-upload until the connection times out. */
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_ITC |
                     MHD_USE_ERROR_LOG;
    if (ai->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    l->daemon = MHD_start_daemon(
        flags, (uint16_t)sc->port, NULL, NULL, on_request, l, MHD_OPTION_EXTERNAL_LOGGER,
        mhd_log, NULL, MHD_OPTION_SOCK_ADDR, ai->ai_addr, MHD_OPTION_THREAD_POOL_SIZE, (unsigned)sc->threads,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, l, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)120, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024),
        MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1, MHD_OPTION_END);
    freeaddrinfo(ai);
    if (!l->daemon) {
        *err = ms_asprintf("cannot listen on %s:%d for %s: %s", ms_conf.bind_host, sc->port,
                           mod->name, strerror(errno ? errno : EADDRINUSE));
        return -EADDRINUSE;
    }
    ms_info("listening service=%s address=%s:%d threads=%d", mod->name, ms_conf.bind_host,
            sc->port, sc->threads);
    return 0;
}

int
ms_http_start(const ms_module *const *mods, size_t n, char **err)
{
    for (size_t i = 0; i < n; i++) {
        const ms_module *mod = mods[i];
        const ms_service_conf *sc = ms_config_service(mod->name);
        if (mod->no_listener || !sc || !sc->enabled)
            continue;
        if (nlisteners == MAX_LISTENERS)
            break;
        listener *l = &listeners[nlisteners];
        l->mod = mod;
        if (listener_start(l, sc, err) < 0) {
            ms_http_stop();
            return -1;
        }
        nlisteners++;
    }
    return 0;
}

void
ms_http_stop(void)
{
    /* Stop accepting, let requests in flight finish (up to 10 s), then close.
     * The quiesced listening socket is handed back to us. shutdown() stops
     * the kernel from queueing new clients (they are refused at once instead
     * of waiting for the end); it is closed only after MHD_stop_daemon(),
     * because MHD's threads may still poll it until then. */
    MHD_socket quiesced[MS_ARRAY_LEN(listeners)];
    for (size_t i = 0; i < nlisteners; i++) {
        quiesced[i] = MHD_quiesce_daemon(listeners[i].daemon);
        if (quiesced[i] != MHD_INVALID_SOCKET)
            shutdown(quiesced[i], SHUT_RDWR);
    }
    for (int waited = 0; atomic_load(&in_flight) > 0 && waited < 1000; waited++)
        usleep(10000);
    for (size_t i = 0; i < nlisteners; i++) {
        MHD_stop_daemon(listeners[i].daemon);
        if (quiesced[i] != MHD_INVALID_SOCKET)
            close(quiesced[i]);
        free(listeners[i].route_metrics);
        listeners[i] = (listener){0};
    }
    nlisteners = 0;
}
