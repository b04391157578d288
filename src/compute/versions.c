/* Nova's version documents: GET / lists v2.0 (the legacy compatibility
 * API) and v2.1 with its microversion range; GET /v2.1 and /v2 describe one
 * version. Neither needs a token. */
#include "compute.h"

#include <stdio.h>

static json_t *
version_obj(ms_request *req, bool v21, bool full)
{
    char mv[16];
    snprintf(mv, sizeof(mv), "%d.%d", COMPUTE_MV_MAX / 1000, COMPUTE_MV_MAX % 1000);
    char *self = ms_asprintf("%s/%s/", ms_req_base_url(req), v21 ? "v2.1" : "v2");
    json_t *v = json_pack("{s:s,s:s,s:s,s:s,s:s}", "id", v21 ? "v2.1" : "v2.0", "status",
                          v21 ? "CURRENT" : "SUPPORTED", "version", v21 ? mv : "",
                          "min_version", v21 ? "2.1" : "", "updated",
                          v21 ? "2013-07-23T11:33:21Z" : "2011-01-21T11:33:21Z");
    json_t *links = json_pack("[{s:s,s:s}]", "rel", "self", "href", self);
    free(self);
    if (full) {
        json_array_append_new(links,
                              json_pack("{s:s,s:s,s:s}", "rel", "describedby", "type",
                                        "text/html", "href", "http://docs.openstack.org/"));
        json_object_set_new(
            v, "media-types",
            json_pack("[{s:s,s:s}]", "base", "application/json", "type",
                      v21 ? "application/vnd.openstack.compute+json;version=2.1"
                          : "application/vnd.openstack.compute+json;version=2"));
    }
    json_object_set_new(v, "links", links);
    return v;
}

int
compute_versions(ms_request *req, ms_response *resp)
{
    json_t *list = json_pack("[o,o]", version_obj(req, false, false),
                             version_obj(req, true, false));
    ms_resp_json(resp, 200, json_pack("{s:o}", "versions", list));
    return 0;
}

int
compute_version_v21(ms_request *req, ms_response *resp)
{
    ms_resp_json(resp, 200, json_pack("{s:o}", "version", version_obj(req, true, true)));
    return 0;
}

int
compute_version_v2(ms_request *req, ms_response *resp)
{
    ms_resp_json(resp, 200, json_pack("{s:o}", "version", version_obj(req, false, true)));
    return 0;
}
