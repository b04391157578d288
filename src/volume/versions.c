/* Cinder's version documents. GET / answers 300 Multiple Choices with the
 * versions list; GET /v3 (behind the token check, as Cinder's v3 pipeline
 * runs authtoken first) answers 200 with the same list. Cinder negotiates
 * the microversion on both, so "/" does it here: the HTTP core leaves "/"
 * alone because Nova's version list is not microversioned. */
#include "volume.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* The date Cinder Zed gives for its v3 API. */
#define VOLUME_V3_UPDATED "2022-08-31T00:00:00Z"

static json_t *
version_list(ms_request *req)
{
    char max[16], min[16];
    snprintf(max, sizeof(max), "%d.%d", VOLUME_MV_MAX / 1000, VOLUME_MV_MAX % 1000);
    snprintf(min, sizeof(min), "%d.%d", VOLUME_MV_MIN / 1000, VOLUME_MV_MIN % 1000);
    char *self = ms_asprintf("%s/v3/", ms_req_base_url(req));
    /* Cinder puts its describedby link first and appends self. */
    json_t *v = json_pack(
        "{s:s,s:s,s:s,s:s,s:s,s:[{s:s,s:s,s:s},{s:s,s:s}],s:[{s:s,s:s}]}", "id", "v3.0",
        "status", "CURRENT", "version", max, "min_version", min, "updated",
        VOLUME_V3_UPDATED, "links", "rel", "describedby", "type", "text/html", "href",
        "https://docs.openstack.org/", "rel", "self", "href", self, "media-types", "base",
        "application/json", "type", "application/vnd.openstack.volume+json;version=3");
    free(self);
    return json_pack("{s:[o]}", "versions", v);
}

/* Cinder reads the first comma-separated entry naming "volume"; an entry
 * without a usable version is 400, one outside the range 406. The accepted
 * version is echoed by the core from req->mv. */
static bool
negotiate(ms_request *req, ms_response *resp)
{
    req->mv = VOLUME_MV_MIN;
    const char *h = ms_req_header(req, "OpenStack-API-Version");
    for (const char *p = h; p && *p;) {
        p += strspn(p, " ,");
        size_t n = strcspn(p, ",");
        if (n > 6 && strncasecmp(p, "volume", 6) == 0 && p[6] == ' ') {
            char *value = ms_strndup(p + 7, n - 7);
            int mv = ms_mv_parse(value, VOLUME_MV_MIN, VOLUME_MV_MAX);
            bool ok = false;
            if (mv < 0)
                ms_resp_error(resp, 400,
                              "API Version String %s is of invalid format. Must be of "
                              "format MajorNum.MinorNum.",
                              value);
            else if (mv < VOLUME_MV_MIN || mv > VOLUME_MV_MAX)
                ms_resp_error(resp, 406,
                              "Version %s is not supported by the API. Minimum is %d.%d and "
                              "maximum is %d.%d.",
                              value, VOLUME_MV_MIN / 1000, VOLUME_MV_MIN % 1000,
                              VOLUME_MV_MAX / 1000, VOLUME_MV_MAX % 1000);
            else
                ok = true;
            free(value);
            if (!ok) {
                req->mv = 0;   /* no version header on the error, as for other paths */
                return false;
            }
            req->mv = mv;
            return true;
        }
        p += n;
    }
    return true;
}

int
volume_versions(ms_request *req, ms_response *resp)
{
    if (negotiate(req, resp))
        ms_resp_json(resp, 300, version_list(req));
    return 0;
}

int
volume_v3_root(ms_request *req, ms_response *resp)
{
    /* The core negotiated the microversion already (the path is not "/"). */
    ms_resp_json(resp, 200, version_list(req));
    return 0;
}
