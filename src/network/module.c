/* The network module descriptor (Neutron v2.0) and its route table. Only
 * the version documents exist so far. Neutron answers GET alone on both;
 * HEAD, POST, PUT, PATCH and DELETE get 405, which the router gives. */
#include "network.h"

#define R(m, p, h, pol, n) {.methods = (m), .path = (p), .handler = (h), .policy = (pol), .name = (n)}

static const ms_route network_routes[] = {
    R(MS_GET, "/", network_versions, MS_POL_PUBLIC, "versions"),
    R(MS_GET, "/v2.0", network_v2_root, MS_POL_ANY, "v2.0"),
};

const ms_module network_module = {
    .name = "network",
    .service_type = "network",
    .default_port = 9696,
    .request_id_header = "x-openstack-request-id",
    .error = ms_error_neutron,
    .routes = network_routes,
    .nroutes = MS_ARRAY_LEN(network_routes),
    .catalog_path = "",
    .no_catalog = true,   /* until the Neutron API is served */
};
