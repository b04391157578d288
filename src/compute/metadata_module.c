/* The instance metadata service (Nova's metadata API) on port 8775: no
 * token, plain-text answers. GET / lists the EC2-style versions to anyone.
 * Every other path is instance data: Nova first finds the instance from
 * the request's source address and answers 404 when none has it, before
 * looking at the path; so "/openstack" (the OpenStack versions list) and
 * every unmatched path give that 404 until an instance is found.
 *
 * Nova answers any method this way, so the routes take any method. Its 404
 * is webob's, chosen by Accept (HTML for the "any type" Accept of curl and cloud-init,
 * JSON when asked), which is ms_error_webob's style. */
#include <monostack/http.h>
#include <monostack/log.h>

#include <errno.h>
#include <string.h>

#define R(m, p, h, pol, n) {.methods = (m), .path = (p), .handler = (h), .policy = (pol), .name = (n)}
#define ANY_METHOD (MS_GET | MS_HEAD | MS_POST | MS_PUT | MS_PATCH | MS_DELETE)

/* Nova's EC2-compatible metadata versions, oldest first. */
static const char *const metadata_ec2_versions[] = {
    "1.0",        "2007-01-19", "2007-03-01", "2007-08-29", "2007-10-10",
    "2007-12-15", "2008-02-01", "2008-09-01", "2009-04-04",
};

/* Nova's OpenStack metadata versions (Folsom ... Victoria), oldest first. */
static const char *const metadata_openstack_versions[] = {
    "2012-08-10", "2013-04-04", "2013-10-17", "2015-10-15", "2016-06-30",
    "2016-10-06", "2017-02-22", "2018-08-27", "2020-10-14",
};

/* One version per line, then "latest", no final newline (Nova's
 * ec2_md_print of a list). */
static void
version_text(ms_response *resp, const char *const *versions, size_t n)
{
    ms_buf b = {0};
    for (size_t i = 0; i < n; i++)
        ms_buf_addf(&b, "%s\n", versions[i]);
    ms_buf_adds(&b, "latest");
    size_t len = b.len;
    ms_resp_text(resp, 200, "text/plain; charset=UTF-8", ms_buf_steal(&b), len);
}

/* Find the instance whose fixed address sent the request. No instance
 * source exists yet (compute has no address lookup for this module), so
 * nothing is found and the caller answers Nova's 404. */
static int
metadata_find_instance(const ms_request *req)
{
    (void)req;
    return -ENOENT;
}

static int
metadata_instance_or_404(ms_request *req, ms_response *resp)
{
    int rc = metadata_find_instance(req);
    if (rc == -ENOENT) {
        ms_error("Failed to get metadata for IP %s: no metadata",
                 req->remote_addr ? req->remote_addr : "-");
        ms_resp_error(resp, 404, "The resource could not be found.");
    }
    return rc;
}

static int
metadata_root(ms_request *req, ms_response *resp)
{
    (void)req;
    version_text(resp, metadata_ec2_versions, MS_ARRAY_LEN(metadata_ec2_versions));
    return 0;
}

static int
metadata_openstack_root(ms_request *req, ms_response *resp)
{
    int rc = metadata_instance_or_404(req, resp);
    if (rc == -ENOENT)
        return 0;
    if (rc < 0)
        return rc;
    version_text(resp, metadata_openstack_versions,
                 MS_ARRAY_LEN(metadata_openstack_versions));
    return 0;
}

static const ms_route metadata_routes[] = {
    R(ANY_METHOD, "/", metadata_root, MS_POL_PUBLIC, "versions"),
    R(ANY_METHOD, "/openstack", metadata_openstack_root, MS_POL_PUBLIC, "openstack"),
};

const ms_module metadata_module = {
    .name = "metadata",
    .service_type = NULL,   /* not in the catalog: guests reach 169.254.169.254 */
    .default_port = 8775,
    .request_id_header = "x-openstack-request-id",
    .error = ms_error_webob,
    .routes = metadata_routes,
    .nroutes = MS_ARRAY_LEN(metadata_routes),
    .catalog_path = NULL,
};
