/* os-server-password: the encrypted password a guest posts to the metadata
 * service, shown to the owner and cleared by it. monostack's metadata
 * service does not take posts yet, so no server has one: show answers ""
 * as Nova does for such a server, and clear has nothing to remove. Both
 * still answer 404 for a server the caller cannot see. */
#include "compute.h"

#include <errno.h>

int
compute_server_password_show(ms_request *req, ms_response *resp)
{
    compute_instance i;
    int rc = compute_server_lookup(req, resp, &i);
    if (rc < 0)
        return rc == -ENOENT ? 0 : rc;
    compute_instance_clear(&i);
    ms_resp_json(resp, 200, json_pack("{s:s}", "password", ""));
    return 0;
}

int
compute_server_password_clear(ms_request *req, ms_response *resp)
{
    compute_instance i;
    int rc = compute_server_lookup(req, resp, &i);
    if (rc < 0)
        return rc == -ENOENT ? 0 : rc;
    compute_instance_clear(&i);
    ms_resp_empty(resp, 204);
    return 0;
}
