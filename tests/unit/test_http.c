/* The HTTP core end to end on a loopback listener: routing (404/405 with
 * Allow), body limits (413), malformed JSON (400) and wrong Content-Type,
 * token validation (401 with WWW-Authenticate, 503 when validation cannot
 * be done), policy (403), microversions (header echo, 400, 406, per-route
 * bounds), streamed uploads and downloads, request ids, /metrics. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <monostack/config.h>
#include <monostack/http.h>
#include <monostack/log.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define PORT 25990

/* ---- a test module ---- */

static int
echo(ms_request *req, ms_response *resp)
{
    const char *q = ms_req_query(req, "q");
    json_t *body = json_pack("{s:s,s:s?,s:i}", "id", ms_req_param(req, "item_id"), "q", q,
                             "mv", req->mv);
    ms_resp_json(resp, 200, body);
    return 0;
}

static int
post_json(ms_request *req, ms_response *resp)
{
    json_t *j = ms_req_json(req, resp);
    if (!j)
        return 0;
    ms_resp_json(resp, 201, json_incref(j));
    return 0;
}

static int
secure(ms_request *req, ms_response *resp)
{
    ms_resp_json(resp, 200, json_pack("{s:s}", "user", req->auth.user_id));
    return 0;
}

static int
fails(ms_request *req, ms_response *resp)
{
    (void)req;
    (void)resp;
    return -EAGAIN;
}

typedef struct {
    size_t bytes;
    unsigned sum;
} upload;

static size_t aborted_uploads;
static size_t completed_upload_bytes;

static int
up_begin(ms_request *req, ms_response *resp)
{
    (void)resp;
    req->stream_state = ms_calloc(1, sizeof(upload));
    return 0;
}

static int
up_data(ms_request *req, ms_response *resp, const char *buf, size_t len)
{
    upload *u = req->stream_state;
    for (size_t i = 0; i < len; i++)
        u->sum = u->sum * 31 + (unsigned char)buf[i];
    u->bytes += len;
    if (u->bytes > (8u << 20)) {
        ms_resp_error(resp, 413, "Upload too large.");
        return -EFBIG;
    }
    return 0;
}

static int
up_end(ms_request *req, ms_response *resp)
{
    upload *u = req->stream_state;
    completed_upload_bytes = u->bytes;
    ms_resp_json(resp, 200, json_pack("{s:I,s:I}", "bytes", (json_int_t)u->bytes,
                                                     "sum", (json_int_t)u->sum));
    free(u);
    req->stream_state = NULL;
    return 0;
}

static void
up_abort(ms_request *req)
{
    free(req->stream_state);
    req->stream_state = NULL;
    aborted_uploads++;
}

static const ms_stream_ops upload_ops = {up_begin, up_data, up_end, up_abort};

static long
gen_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    uint64_t total = *(uint64_t *)cls;
    if (pos >= total)
        return 0;
    size_t n = total - pos < max ? (size_t)(total - pos) : max;
    for (size_t i = 0; i < n; i++)
        buf[i] = (char)('a' + (pos + i) % 26);
    return (long)n;
}

static int
download(ms_request *req, ms_response *resp)
{
    (void)req;
    uint64_t *total = ms_malloc(sizeof(*total));
    *total = 3u << 20;
    ms_resp_stream(resp, 200, *total, gen_read, total, free);
    ms_resp_header(resp, "Content-Type", "application/octet-stream");
    return 0;
}

static const ms_route routes[] = {
    {MS_GET | MS_HEAD, "/items/{item_id}", echo, MS_POL_PUBLIC, "echo", 0, 0, NULL},
    {MS_POST, "/items", post_json, MS_POL_PUBLIC, "post", 0, 0, NULL},
    {MS_GET, "/new/{item_id}", echo, MS_POL_PUBLIC, "new", MS_MV(1, 2), 0, NULL},
    {MS_GET, "/secure", secure, MS_POL_ADMIN, "secure", 0, 0, NULL},
    {MS_GET, "/unavailable", fails, MS_POL_PUBLIC, "unavailable", 0, 0, NULL},
    {MS_PUT, "/upload", NULL, MS_POL_PUBLIC, "upload", 0, 0, &upload_ops},
    {MS_GET, "/download", download, MS_POL_PUBLIC, "download", 0, 0, NULL},
};

static const ms_module test_module = {
    .name = "compute",   /* borrows the compute listener settings */
    .request_id_header = "x-compute-request-id",
    .error = ms_error_nova,
    .mv_service = "test",
    .mv_legacy_header = "X-Test-API-Version",
    .mv_min = MS_MV(1, 0),
    .mv_max = MS_MV(1, 5),
    .routes = routes,
    .nroutes = MS_ARRAY_LEN(routes),
};

static int
validator(const char *token, ms_auth_ctx *ctx)
{
    if (strcmp(token, "down") == 0)
        return -EAGAIN;
    if (strcmp(token, "admin") != 0 && strcmp(token, "member") != 0)
        return -EACCES;
    snprintf(ctx->user_id, sizeof(ctx->user_id), "%s-id", token);
    ctx->is_admin = strcmp(token, "admin") == 0;
    return 0;
}

/* ---- a minimal HTTP client (Connection: close, read to EOF) ---- */

typedef struct {
    int status;
    char *head;
    char *body;
    size_t body_len;
} reply;

static void
reply_free(reply *r)
{
    free(r->head);
    free(r->body);
}

static const char *
header(const reply *r, const char *name, char *out, size_t n)
{
    size_t len = strlen(name);
    for (const char *p = strstr(r->head, "\r\n"); p && p[2]; p = strstr(p + 2, "\r\n")) {
        if (strncasecmp(p + 2, name, len) == 0 && p[2 + len] == ':') {
            const char *v = p + 3 + len;
            while (*v == ' ')
                v++;
            size_t vl = strcspn(v, "\r");
            snprintf(out, n, "%.*s", (int)vl, v);
            return out;
        }
    }
    return NULL;
}

static void
send_all(int fd, const char *data, size_t len)
{
    while (len) {
        ssize_t w = send(fd, data, len, MSG_NOSIGNAL);
        if (w <= 0)
            return;   /* the server may close early (413): that is allowed */
        data += w;
        len -= (size_t)w;
    }
}

static int
dial(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(PORT)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    return fd;
}

static reply
request_raw(const char *head, const char *body, size_t body_len)
{
    int fd = dial();
    send_all(fd, head, strlen(head));
    if (body_len)
        send_all(fd, body, body_len);
    ms_buf in = {0};
    char buf[65536];
    ssize_t n;
    while ((n = recv(fd, buf, sizeof(buf), 0)) > 0)
        ms_buf_add(&in, buf, (size_t)n);
    close(fd);
    reply r = {0};
    const char *data = ms_buf_cstr(&in);
    const char *sep = strstr(data, "\r\n\r\n");
    assert_non_null(sep);
    r.head = ms_strndup(data, (size_t)(sep - data) + 2);
    r.body_len = in.len - (size_t)(sep + 4 - data);
    r.body = ms_malloc(r.body_len + 1);
    memcpy(r.body, sep + 4, r.body_len);
    r.body[r.body_len] = '\0';
    sscanf(r.head, "HTTP/1.%*d %d", &r.status);
    ms_buf_free(&in);
    return r;
}

static reply
request(const char *method, const char *path, const char *extra_headers, const char *body)
{
    size_t blen = body ? strlen(body) : 0;
    char clen[64] = "";
    if (body)
        snprintf(clen, sizeof(clen), "Content-Length: %zu\r\n", blen);
    char *head = ms_asprintf("%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n"
                             "%s%s\r\n",
                             method, path, PORT, extra_headers ? extra_headers : "", clen);
    reply r = request_raw(head, body, blen);
    free(head);
    return r;
}

static json_t *
body_json(const reply *r)
{
    json_t *j = json_loadb(r->body, r->body_len, 0, NULL);
    if (!j)
        fail_msg("not JSON: %s", r->body);
    return j;
}

/* ---- tests ---- */

static int
setup(void **state)
{
    (void)state;
    char *err = NULL;
    ms_config_load(NULL, &err);
    ms_conf.compute.port = PORT;
    ms_conf.compute.threads = 2;
    free(ms_conf.bind_host);
    ms_conf.bind_host = ms_strdup("127.0.0.1");
    ms_conf.max_body_size = 4096;
    ms_log_set_level("WARNING");
    ms_auth_set_validator(validator);
    const ms_module *mods[] = {&test_module};
    if (ms_http_start(mods, 1, &err) < 0)
        fail_msg("cannot start: %s", err);
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    ms_http_stop();
    return 0;
}

static void
test_route_and_params(void **state)
{
    (void)state;
    reply r = request("GET", "/items/abc?q=hello%20world", NULL, NULL);
    assert_int_equal(r.status, 200);
    json_t *j = body_json(&r);
    assert_string_equal(json_string_value(json_object_get(j, "id")), "abc");
    assert_string_equal(json_string_value(json_object_get(j, "q")), "hello world");
    char v[128];
    assert_non_null(header(&r, "x-compute-request-id", v, sizeof(v)));
    assert_int_equal(strncmp(v, "req-", 4), 0);
    assert_non_null(header(&r, "x-openstack-request-id", v, sizeof(v)));
    assert_string_equal(header(&r, "Content-Type", v, sizeof(v)), "application/json");
    json_decref(j);
    reply_free(&r);
    /* A trailing slash names the same resource. */
    r = request("GET", "/items/abc/", NULL, NULL);
    assert_int_equal(r.status, 200);
    reply_free(&r);
}

static void
test_404_405(void **state)
{
    (void)state;
    reply r = request("GET", "/nothing/here", NULL, NULL);
    assert_int_equal(r.status, 404);
    json_t *j = body_json(&r);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "itemNotFound"), "code")), 404);
    json_decref(j);
    reply_free(&r);
    r = request("DELETE", "/items/abc", NULL, NULL);
    assert_int_equal(r.status, 405);
    char v[128];
    assert_string_equal(header(&r, "Allow", v, sizeof(v)), "GET, HEAD");
    reply_free(&r);
    r = request("BREW", "/items/abc", NULL, NULL);
    assert_int_equal(r.status, 405);
    reply_free(&r);
}

static void
test_json_bodies(void **state)
{
    (void)state;
    const char *ct = "Content-Type: application/json\r\n";
    reply r = request("POST", "/items", ct, "{\"a\": 1}");
    assert_int_equal(r.status, 201);
    reply_free(&r);
    r = request("POST", "/items", ct, "{\"a\": ");
    assert_int_equal(r.status, 400);
    json_t *j = body_json(&r);
    assert_non_null(json_object_get(j, "badRequest"));
    json_decref(j);
    reply_free(&r);
    r = request("POST", "/items", ct, "[1, 2]");
    assert_int_equal(r.status, 400);
    reply_free(&r);
    r = request("POST", "/items", "Content-Type: text/plain\r\n", "{\"a\": 1}");
    assert_int_equal(r.status, 415);
    reply_free(&r);
    r = request("POST", "/items", ct, "{\"a\": 1, \"a\": 2}");
    assert_int_equal(r.status, 400);
    reply_free(&r);
}

static void
test_body_limit(void **state)
{
    (void)state;
    char *big = ms_malloc(10000);
    memset(big, ' ', 9999);
    big[0] = '{';
    big[9998] = '}';
    big[9999] = '\0';
    reply r = request("POST", "/items", "Content-Type: application/json\r\n", big);
    assert_int_equal(r.status, 413);
    reply_free(&r);
    /* Chunked, with no Content-Length: the limit applies as data arrives. */
    ms_buf chunked = {0};
    for (int i = 0; i < 5; i++) {
        ms_buf_addf(&chunked, "%x\r\n", 2000);
        ms_buf_add(&chunked, big, 2000);
        ms_buf_adds(&chunked, "\r\n");
    }
    ms_buf_adds(&chunked, "0\r\n\r\n");
    r = request_raw("POST /items HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                    "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
                    chunked.data, chunked.len);
    assert_int_equal(r.status, 413);
    reply_free(&r);
    ms_buf_free(&chunked);
    free(big);
}

static void
test_auth_and_policy(void **state)
{
    (void)state;
    reply r = request("GET", "/secure", NULL, NULL);
    assert_int_equal(r.status, 401);
    char v[256];
    assert_non_null(header(&r, "WWW-Authenticate", v, sizeof(v)));
    assert_int_equal(strncmp(v, "Keystone uri=\"http://", 21), 0);
    reply_free(&r);
    r = request("GET", "/secure", "X-Auth-Token: forged\r\n", NULL);
    assert_int_equal(r.status, 401);
    reply_free(&r);
    r = request("GET", "/secure", "X-Auth-Token: member\r\n", NULL);
    assert_int_equal(r.status, 403);
    json_t *j = body_json(&r);
    assert_non_null(json_object_get(j, "forbidden"));
    json_decref(j);
    reply_free(&r);
    r = request("GET", "/secure", "X-Auth-Token: admin\r\n", NULL);
    assert_int_equal(r.status, 200);
    reply_free(&r);
    r = request("GET", "/secure", "X-Auth-Token: down\r\n", NULL);
    assert_int_equal(r.status, 503);
    reply_free(&r);
    r = request("GET", "/unavailable", NULL, NULL);
    assert_int_equal(r.status, 503);
    reply_free(&r);
}

static void
test_microversions(void **state)
{
    (void)state;
    reply r = request("GET", "/items/x", NULL, NULL);
    char v[128];
    assert_string_equal(header(&r, "OpenStack-API-Version", v, sizeof(v)), "test 1.0");
    assert_non_null(header(&r, "Vary", v, sizeof(v)));
    reply_free(&r);
    r = request("GET", "/items/x", "OpenStack-API-Version: other 9.9, test 1.4\r\n", NULL);
    assert_string_equal(header(&r, "OpenStack-API-Version", v, sizeof(v)), "test 1.4");
    assert_string_equal(header(&r, "X-Test-API-Version", v, sizeof(v)), "1.4");
    reply_free(&r);
    r = request("GET", "/items/x", "X-Test-API-Version: latest\r\n", NULL);
    assert_string_equal(header(&r, "OpenStack-API-Version", v, sizeof(v)), "test 1.5");
    reply_free(&r);
    r = request("GET", "/items/x", "OpenStack-API-Version: test 1.9\r\n", NULL);
    assert_int_equal(r.status, 406);
    reply_free(&r);
    r = request("GET", "/items/x", "OpenStack-API-Version: test one\r\n", NULL);
    assert_int_equal(r.status, 400);
    reply_free(&r);
    r = request("GET", "/new/x", "OpenStack-API-Version: test 1.1\r\n", NULL);
    assert_int_equal(r.status, 404);
    reply_free(&r);
    r = request("GET", "/new/x", "OpenStack-API-Version: test 1.2\r\n", NULL);
    assert_int_equal(r.status, 200);
    reply_free(&r);
}

static void
test_stream_upload_download(void **state)
{
    (void)state;
    size_t n = 5u << 20;   /* above max_body_size: stream routes are not buffered */
    char *data = ms_malloc(n);
    unsigned sum = 0;
    for (size_t i = 0; i < n; i++) {
        data[i] = (char)(i * 7);
        sum = sum * 31 + (unsigned char)data[i];
    }
    reply r = request_raw("PUT /upload HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                          "Content-Type: application/octet-stream\r\n"
                          "Content-Length: 5242880\r\n\r\n",
                          data, n);
    assert_int_equal(r.status, 200);
    json_t *j = body_json(&r);
    assert_int_equal(json_integer_value(json_object_get(j, "bytes")), (json_int_t)n);
    assert_int_equal(json_integer_value(json_object_get(j, "sum")), (json_int_t)sum);
    json_decref(j);
    reply_free(&r);

    /* A client that goes away mid-upload triggers abort. */
    size_t before = aborted_uploads;
    int fd = dial();
    const char *head = "PUT /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 5242880\r\n\r\n";
    send_all(fd, head, strlen(head));
    send_all(fd, data, 100000);
    close(fd);
    for (int i = 0; i < 200 && aborted_uploads == before; i++)
        usleep(10000);
    assert_int_equal(aborted_uploads, before + 1);

    r = request("GET", "/download", NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body_len, 3u << 20);
    assert_int_equal(r.body[27], 'b');
    reply_free(&r);
    free(data);
}

static void
test_metrics(void **state)
{
    (void)state;
    reply r = request("GET", "/metrics", NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "monostack_requests_total{service=\"compute\",route=\"echo\",code=\"2xx\"}"));
    assert_non_null(strstr(r.body, "monostack_request_duration_seconds_bucket"));
    reply_free(&r);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_route_and_params),
        cmocka_unit_test(test_404_405),
        cmocka_unit_test(test_json_bodies),
        cmocka_unit_test(test_body_limit),
        cmocka_unit_test(test_auth_and_policy),
        cmocka_unit_test(test_microversions),
        cmocka_unit_test(test_stream_upload_download),
        cmocka_unit_test(test_metrics),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
