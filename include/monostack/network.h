/* The network service as compute sees it: check what a server create asks
 * for (networks, ports, security groups), allocate an instance's ports on
 * the host that builds it, give back what the domain and the guest need
 * (bridge, tap, MAC; network_data.json), and release the ports on delete.
 *
 * The network module implements it by registering a provider table, as
 * identity registers the token validator; nothing here touches HTTP or
 * another module's tables. A NULL slot, or no provider at all, means there
 * is no network service: lookups answer -ENOENT (Nova's "could not be
 * found"), allocation gives no NIC, deallocation has nothing to do. So
 * compute behaves as Nova does against a Neutron with no networks. */
#ifndef MONOSTACK_NETWORK_H
#define MONOSTACK_NETWORK_H

#include <jansson.h>

#include "auth.h"
#include "common.h"

/* One entry of a create's "networks": a network (with an optional fixed
 * address) or an existing port. */
typedef struct {
    char network_id[37];          /* "" when port_id is set */
    char port_id[37];             /* "" when network_id is set */
    char fixed_ip[64];            /* "" for any address */
    char tag[61];                 /* device tag (2.32, 2.42+), "" none */
} ms_net_request;

/* What the request asked as a whole (2.37's "auto"/"none" strings, or a
 * list; an absent list is MS_NET_ANY: every network the project may use). */
typedef enum { MS_NET_ANY, MS_NET_LIST, MS_NET_AUTO, MS_NET_NONE } ms_net_mode;

/* A port bound to an instance, as the domain needs it. */
typedef struct {
    char port_id[37];
    char network_id[37];
    char mac[18];                 /* "fa:16:3e:xx:xx:xx" */
    char bridge[64];              /* host bridge the tap joins */
    char tap[16];                 /* "tap" + the port id's first 11 chars */
    char tag[61];
} ms_net_vif;

typedef struct {
    const char *name;
    /* Whether ctx may attach the network / port. -ENOENT when not found
     * (or not visible), -EBUSY when the port is already bound elsewhere. */
    int (*network_check)(const ms_auth_ctx *ctx, const char *network_id);
    int (*port_check)(const ms_auth_ctx *ctx, const char *port_id);
    /* Resolve a security group name or id of ctx's project to its id;
     * -ENOENT when none, -EEXIST when the name is ambiguous. */
    int (*security_group_find)(const ms_auth_ctx *ctx, const char *name_or_id,
                               char id_out[37]);
    /* Create or bind the instance's ports on host, with the security groups
     * (names, "default" included), idempotently: a second call for the same
     * instance returns the ports already made. *vifs (caller frees) may be
     * empty. */
    int (*allocate)(const ms_auth_ctx *ctx, const char *instance_uuid, const char *host,
                    ms_net_mode mode, const ms_net_request *reqs, size_t nreqs,
                    const char *const *security_groups, size_t nsg, ms_net_vif **vifs,
                    size_t *nvifs, char **err);
    /* Delete the ports made for the instance and unbind the ones it was
     * given; absent is fine. */
    int (*deallocate)(const char *instance_uuid, char **err);
    /* The instance's ports now (caller frees *vifs). */
    int (*instance_vifs)(const char *instance_uuid, ms_net_vif **vifs, size_t *nvifs);
    /* network_data.json for the guest (new reference). */
    int (*network_metadata)(const char *instance_uuid, json_t **out);
} ms_network_provider;

/* Called by the network module at start-up (NULL unregisters). */
void ms_network_register(const ms_network_provider *p);
bool ms_network_available(void);

int ms_network_check(const ms_auth_ctx *ctx, const char *network_id);
int ms_network_port_check(const ms_auth_ctx *ctx, const char *port_id);
int ms_network_security_group_find(const ms_auth_ctx *ctx, const char *name_or_id,
                                   char id_out[37]);
int ms_network_allocate(const ms_auth_ctx *ctx, const char *instance_uuid, const char *host,
                        ms_net_mode mode, const ms_net_request *reqs, size_t nreqs,
                        const char *const *security_groups, size_t nsg, ms_net_vif **vifs,
                        size_t *nvifs, char **err);
int ms_network_deallocate(const char *instance_uuid, char **err);
int ms_network_instance_vifs(const char *instance_uuid, ms_net_vif **vifs, size_t *nvifs);
/* NULL *out when the instance has no port (Nova's network_data.json is
 * then "{}"). */
int ms_network_metadata(const char *instance_uuid, json_t **out);

#endif
