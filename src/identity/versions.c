/* Keystone's version documents. GET / answers 300 Multiple Choices with
 * the versions Keystone Zed lists (v3.14, "stable") plus the v2.0 entry
 * that pre-Queens Keystone gave ("deprecated"), since monostack still
 * issues v2.0 tokens for old clients; GET /v3 and GET /v2.0 describe one
 * version each. None of them needs a token. The JSON-Home rendering
 * (Accept: application/json-home) is not served: no client we target
 * asks for it. */
#include "identity.h"

#include <stdio.h>

#define IDENTITY_V3_ID "v3.14"
#define IDENTITY_V3_UPDATED "2020-04-07T00:00:00Z"
#define IDENTITY_V2_UPDATED "2016-08-04T00:00:00Z"

static json_t *
v3_doc(ms_request *req)
{
    char *self = ms_asprintf("%s/v3/", ms_req_base_url(req));
    json_t *v =
        json_pack("{s:s,s:s,s:s,s:[{s:s,s:s}],s:[{s:s,s:s}]}", "id", IDENTITY_V3_ID,
                  "status", "stable", "updated", IDENTITY_V3_UPDATED, "links", "rel",
                  "self", "href", self, "media-types", "base", "application/json", "type",
                  "application/vnd.openstack.identity-v3+json");
    free(self);
    return v;
}

/* As Keystone Pike showed it: a self link and a describedby link. */
static json_t *
v2_doc(ms_request *req)
{
    char *self = ms_asprintf("%s/v2.0/", ms_req_base_url(req));
    json_t *v = json_pack("{s:s,s:s,s:s,s:[{s:s,s:s},{s:s,s:s,s:s}],s:[{s:s,s:s}]}", "id",
                          "v2.0", "status", "deprecated", "updated", IDENTITY_V2_UPDATED,
                          "links", "rel", "self", "href", self, "rel", "describedby",
                          "type", "text/html", "href", "https://docs.openstack.org/",
                          "media-types", "base", "application/json", "type",
                          "application/vnd.openstack.identity-v2.0+json");
    free(self);
    return v;
}

/* GET / */
int
identity_versions(ms_request *req, ms_response *resp)
{
    json_t *body =
        json_pack("{s:{s:[o,o]}}", "versions", "values", v3_doc(req), v2_doc(req));
    ms_resp_json(resp, 300, body);
    /* Keystone points Location at the preferred (latest stable) version. */
    char *location = ms_asprintf("%s/v3/", ms_req_base_url(req));
    ms_resp_header(resp, "Location", location);
    free(location);
    return 0;
}

/* GET /v3 */
int
identity_v3_root(ms_request *req, ms_response *resp)
{
    ms_resp_json(resp, 200, json_pack("{s:o}", "version", v3_doc(req)));
    return 0;
}

/* GET /v2.0 */
int
identity_v2_root(ms_request *req, ms_response *resp)
{
    ms_resp_json(resp, 200, json_pack("{s:o}", "version", v2_doc(req)));
    return 0;
}
