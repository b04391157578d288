/* The HTTP core's private structures, shared by its files (http.c,
 * request.c, response.c, router.c) and nothing else. */
#ifndef MS_HTTP_INTERNAL_H
#define MS_HTTP_INTERNAL_H

#include <monostack/http.h>
#include <monostack/metrics.h>

#define MS_MAX_RESP_HEADERS 12

struct ms_response {
    int status;
    char *body;
    size_t body_len;
    const char *content_type;        /* static string, or owned in ctype_buf */
    char ctype_buf[96];
    int nheaders;
    char *header_names[MS_MAX_RESP_HEADERS];
    char *header_values[MS_MAX_RESP_HEADERS];
    /* streamed body */
    ms_stream_reader reader;
    void *reader_cls;
    void (*reader_free)(void *cls);
    uint64_t stream_size;
    ms_request *req;                 /* back pointer for error styles (Accept) */
};

/* Everything one request needs, allocated once per request. */
typedef struct {
    ms_request req;
    ms_response resp;
    ms_buf body;
    uint64_t started_us;
    bool dispatched;                 /* response decided (queued or pending at end) */
    bool body_overflow;              /* more than the limit arrived: 413 at the end */
    bool stream_failed;              /* a stream route's data callback refused */
    bool stream_ended;
    char *path_copy;
    char base_url[320];
    ms_metric *metric;
} ms_http_call;

/* Route matching that skips routes outside microversion mv (0: no bound). */
const ms_route *ms_router_match_mv(const ms_module *mod, const char *path, ms_method m,
                                   int mv, char *values[MS_MAX_PARAMS], int *nvalues,
                                   unsigned *allowed);
int ms_route_param_names(const ms_route *r, const char *names[MS_MAX_PARAMS]);
void ms_response_reset(ms_response *resp);
/* Turn a handler's return code into a response if it did not set one. */
void ms_response_from_rc(ms_response *resp, int rc);

#endif
