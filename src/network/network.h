/* The network (Neutron v2.0) module's internal interface: what its files
 * share and nothing else uses. */
#ifndef MS_NETWORK_H
#define MS_NETWORK_H

#include <monostack/http.h>

int network_versions(ms_request *req, ms_response *resp);
int network_v2_root(ms_request *req, ms_response *resp);

#endif
