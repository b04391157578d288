/* The volume (Cinder v3) module's internal interface: what its files share
 * and nothing else uses. */
#ifndef MS_VOLUME_H
#define MS_VOLUME_H

#include <monostack/http.h>

/* The microversion range served. Cinder Zed goes to 3.70; monostack
 * announces only what it implements, and no microversioned feature exists
 * yet. Raise VOLUME_MV_MAX with each feature that needs it. */
#define VOLUME_MV_MIN MS_MV(3, 0)
#define VOLUME_MV_MAX MS_MV(3, 0)

int volume_versions(ms_request *req, ms_response *resp);
int volume_v3_root(ms_request *req, ms_response *resp);

/* Cinder's fault body: {"<faultName>": {"code", "message"}}. */
void volume_fault(ms_response *resp, int status, const char *message);

#endif
