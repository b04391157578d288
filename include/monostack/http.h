/* The HTTP core: requests, responses, route tables and service modules.
 *
 * A module (one per OpenStack service) is a descriptor with a static route
 * table. The router matches method + path pattern ("/v3/users/{user_id}"),
 * authenticates, applies the route's policy and microversion bounds, then
 * calls the handler. Handlers fill an ms_response and return 0, or return a
 * negative errno when they could not (-EAGAIN: a dependency such as the
 * database is down, answered 503; anything else 500). Errors are written in
 * the receiving service's own style by ms_resp_error(). */
#ifndef MONOSTACK_HTTP_H
#define MONOSTACK_HTTP_H

#include <jansson.h>

#include "auth.h"
#include "common.h"
#include "policy.h"

typedef enum {
    MS_GET = 1 << 0,
    MS_HEAD = 1 << 1,
    MS_POST = 1 << 2,
    MS_PUT = 1 << 3,
    MS_PATCH = 1 << 4,
    MS_DELETE = 1 << 5,
    MS_OPTIONS = 1 << 6,
} ms_method;

/* A microversion X.Y as one comparable integer. */
#define MS_MV(major, minor) ((major) * 1000 + (minor))

typedef struct ms_request ms_request;
typedef struct ms_response ms_response;
typedef struct ms_module ms_module;

typedef int (*ms_handler)(ms_request *req, ms_response *resp);

/* Routes whose body is streamed (image data) instead of buffered. begin runs
 * once headers are in (after auth and policy) and may answer early by
 * setting resp; data receives each chunk (return <0 to abort with the
 * response it set); end runs when the body is complete; abort runs if the
 * client goes away, so partial work can be undone. */
typedef struct {
    int (*begin)(ms_request *req, ms_response *resp);
    int (*data)(ms_request *req, ms_response *resp, const char *buf, size_t len);
    int (*end)(ms_request *req, ms_response *resp);
    void (*abort)(ms_request *req);
} ms_stream_ops;

typedef struct {
    unsigned methods;           /* ms_method bits */
    const char *path;           /* pattern; "{name}" matches one segment */
    ms_handler handler;
    ms_policy policy;
    const char *name;           /* metrics route label, e.g. "list_users" */
    int min_mv, max_mv;         /* 0 = no bound */
    const ms_stream_ops *stream;
} ms_route;

#define MS_MAX_PARAMS 6

struct ms_request {
    const ms_module *module;
    const ms_route *route;
    ms_method method;
    const char *method_str;
    const char *path;           /* decoded, without the query string */
    const char *param_names[MS_MAX_PARAMS];
    char *param_values[MS_MAX_PARAMS];
    int nparams;
    const char *body;           /* buffered body (not for stream routes) */
    size_t body_len;
    json_t *json;               /* parsed by ms_req_json() on demand */
    ms_auth_ctx auth;
    int mv;                     /* negotiated microversion, MS_MV() form; 0 if none */
    char request_id[48];        /* "req-<uuid>" */
    const char *remote_addr;    /* client IP, text */
    void *conn;                 /* the libmicrohttpd connection */
    void *stream_state;         /* for stream routes' own use */
};

const char *ms_req_param(const ms_request *req, const char *name);
const char *ms_req_query(const ms_request *req, const char *key);
const char *ms_req_header(const ms_request *req, const char *name);
/* Call fn for every query argument, in order; stops when fn returns false. */
void ms_req_query_each(const ms_request *req,
                       bool (*fn)(void *cls, const char *key, const char *value),
                       void *cls);
/* Parse the body as a JSON object. Returns it (borrowed, owned by req), or
 * NULL after writing the 400 error into resp. */
json_t *ms_req_json(ms_request *req, ms_response *resp);
/* "http://host:port" as the client addressed this listener (Host header). */
const char *ms_req_base_url(ms_request *req);

/* Responses. The body functions take ownership of what they are given. */
void ms_resp_json(ms_response *resp, int status, json_t *body);
void ms_resp_text(ms_response *resp, int status, const char *ctype, char *body, size_t len);
void ms_resp_empty(ms_response *resp, int status);
/* An error in the module's own body style. */
void ms_resp_error(ms_response *resp, int status, const char *fmt, ...) MS_PRINTF(3, 4);
void ms_resp_header(ms_response *resp, const char *name, const char *value);
/* Streamed body: read(cls, pos, buf, max) returns bytes (>0), 0 at the end
 * or <0 on error; size may be UINT64_MAX when unknown. free_cls runs once. */
typedef long (*ms_stream_reader)(void *cls, uint64_t pos, char *buf, size_t max);
void ms_resp_stream(ms_response *resp, int status, uint64_t size, ms_stream_reader read,
                    void *cls, void (*free_cls)(void *cls));
int ms_resp_status(const ms_response *resp);   /* 0 while unset */

/* Error body styles. */
void ms_error_keystone(ms_response *resp, int status, const char *message);
void ms_error_nova(ms_response *resp, int status, const char *message);   /* nova, cinder */
void ms_error_webob(ms_response *resp, int status, const char *message);  /* glance */
void ms_error_neutron(ms_response *resp, int status, const char *message);
void ms_error_plain(ms_response *resp, int status, const char *message);  /* metadata */
const char *ms_http_reason(int status);

typedef struct ms_task_handler ms_task_handler;
typedef struct ms_periodic ms_periodic;
typedef struct ms_migration ms_migration;
struct ms_bootstrap_opts;

struct ms_module {
    const char *name;            /* "identity"; also the config section */
    const char *service_type;    /* catalog type: "identity", "compute", ... */
    int default_port;
    const char *request_id_header;   /* "x-openstack-request-id", ... */
    void (*error)(ms_response *resp, int status, const char *message);
    /* Microversion negotiation: header service name ("compute") or NULL,
     * and the service's legacy header ("X-OpenStack-Nova-API-Version"). */
    const char *mv_service;
    const char *mv_legacy_header;
    int mv_min, mv_max;
    /* Status for a body that is not JSON (Keystone 400, the others 415);
     * 0: 400 for modules with Keystone-style errors, else 415. */
    int content_type_status;
    const ms_route *routes;
    size_t nroutes;
    const ms_migration *migrations;  /* ascending, ended by {0} */
    const ms_task_handler *tasks;    /* ended by {0} */
    const ms_periodic *periodic;     /* ended by {0} */
    int (*init)(void);               /* after config and db, before listening */
    void (*fini)(void);
    /* `monostack-manage bootstrap`: idempotent creation of the module's
     * default objects (identity: admin, roles, catalog; compute: flavors). */
    int (*bootstrap)(const struct ms_bootstrap_opts *opts, char **err);
    /* Path appended to the listener URL in the catalog ("/v3",
     * "/v2.1", "/v3/%(project_id)s", "" for unversioned endpoints). */
    const char *catalog_path;
    bool no_listener;                /* core modules without a port */
    /* Left out of the bootstrapped catalog: the module serves only its
     * version documents so far. Clients then see the service as not
     * deployed (EndpointNotFound) and skip it, as against an OpenStack
     * without it, instead of calling APIs that would answer 404. */
    bool no_catalog;
    /* Route "/a/b/" as itself (no route matches: 404) instead of as "/a/b",
     * as Glance does: GET /v2/images/ is not the image list. */
    bool keep_trailing_slash;
};

/* What `monostack-manage bootstrap` was given. */
struct ms_bootstrap_opts {
    const char *admin_password;
    const char *admin_user;      /* default "admin" */
    const char *admin_project;   /* default "admin" */
    const char *region;          /* default "RegionOne" */
    const char *public_url;      /* "http://HOST"; the listener port is appended */
};

/* The modules compiled into this binary (src/cmd/modules.c). */
extern const ms_module *const ms_modules[];
extern const size_t ms_modules_count;

/* Start one listener per enabled module; stop them all (in-flight requests finish). */
int ms_http_start(const ms_module *const *mods, size_t n, char **err);
void ms_http_stop(void);

/* For tests: route matching without a server. Returns the route or NULL,
 * and sets *allowed to the methods the path accepts (for 405). */
const ms_route *ms_router_match(const ms_module *mod, const char *path, ms_method m,
                                char *values[MS_MAX_PARAMS], int *nvalues,
                                unsigned *allowed);
/* Parse "X.Y" or "latest" into MS_MV form against [min,max]; -1 if malformed. */
int ms_mv_parse(const char *s, int min, int max);

#endif
