/* Neutron's version documents. GET / lists the one version, v2.0, with a
 * self link and no microversion fields (Neutron has none). GET /v2.0 sits
 * behind the token check, as Neutron's v2.0 pipeline runs authtoken first,
 * and lists the top-level resources with their collection links. Neutron
 * always lists its core resources; monostack lists those it serves, which
 * are none yet, so the list is empty. */
#include "network.h"

/* Top-level resources served: {resource name, collection}. Add a row when
 * a collection's routes land. */
static const struct {
    const char *name;
    const char *collection;
} network_resources[] = {
    {NULL, NULL},
};

int
network_versions(ms_request *req, ms_response *resp)
{
    char *self = ms_asprintf("%s/v2.0/", ms_req_base_url(req));
    json_t *body = json_pack("{s:[{s:s,s:s,s:[{s:s,s:s}]}]}", "versions", "id", "v2.0",
                             "status", "CURRENT", "links", "rel", "self", "href", self);
    free(self);
    ms_resp_json(resp, 200, body);
    return 0;
}

int
network_v2_root(ms_request *req, ms_response *resp)
{
    json_t *list = json_array();
    for (size_t i = 0; i < MS_ARRAY_LEN(network_resources); i++) {
        if (!network_resources[i].name)
            continue;
        char *href = ms_asprintf("%s/v2.0/%s", ms_req_base_url(req),
                                 network_resources[i].collection);
        json_array_append_new(list, json_pack("{s:s,s:s,s:[{s:s,s:s}]}", "name",
                                              network_resources[i].name, "collection",
                                              network_resources[i].collection, "links",
                                              "rel", "self", "href", href));
        free(href);
    }
    ms_resp_json(resp, 200, json_pack("{s:o}", "resources", list));
    return 0;
}
