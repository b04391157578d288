/* The volume module descriptor (Cinder v3) and its route table. Only the
 * version documents exist so far. Cinder connects them without method
 * conditions, so any method gets the document, as here. Its fault body
 * has the shape of Nova's but its own name table (406 and 429 are
 * "computeFault"), hence volume_fault instead of ms_error_nova. */
#include "volume.h"

#define R(m, p, h, pol, n) {.methods = (m), .path = (p), .handler = (h), .policy = (pol), .name = (n)}
#define ANY_METHOD (MS_GET | MS_HEAD | MS_POST | MS_PUT | MS_PATCH | MS_DELETE)

static const ms_route volume_routes[] = {
    R(ANY_METHOD, "/", volume_versions, MS_POL_PUBLIC, "versions"),
    R(ANY_METHOD, "/v3", volume_v3_root, MS_POL_ANY, "v3"),
};

void
volume_fault(ms_response *resp, int status, const char *message)
{
    const char *name;
    switch (status) {
    case 400: name = "badRequest"; break;
    case 401: name = "unauthorized"; break;
    case 403: name = "forbidden"; break;
    case 404: name = "itemNotFound"; break;
    case 405: name = "badMethod"; break;
    case 409: name = "conflictingRequest"; break;
    case 413: name = "overLimit"; break;
    case 415: name = "badMediaType"; break;
    case 501: name = "notImplemented"; break;
    case 503: name = "serviceUnavailable"; break;
    default: name = "computeFault"; break;
    }
    ms_resp_json(resp, status,
                 json_pack("{s:{s:i,s:s}}", name, "code", status, "message", message));
}

/* The catalog registers this as "block-storage"; Keystone catalogs of Zed
 * also carry a "volumev3" service at the same URL for older clients. */
const ms_module volume_module = {
    .name = "volume",
    .service_type = "block-storage",
    .default_port = 8776,
    .request_id_header = "x-openstack-request-id",
    .error = volume_fault,
    .mv_service = "volume",
    .mv_min = VOLUME_MV_MIN,
    .mv_max = VOLUME_MV_MAX,
    .routes = volume_routes,
    .nroutes = MS_ARRAY_LEN(volume_routes),
    .catalog_path = "/v3/%(project_id)s",
    .no_catalog = true,   /* until the Cinder API is served */
};
