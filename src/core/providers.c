/* The registries through which compute reaches the network and volume
 * services (include/monostack/network.h, volume.h). Each service module
 * registers its provider table at start-up; until one does, or for a NULL
 * slot, the wrappers answer as a service with nothing in it would: lookups
 * find nothing, allocation gives no NIC, volume work is not supported. */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>

#include <monostack/network.h>
#include <monostack/volume.h>

static _Atomic(const ms_network_provider *) net_provider;
static _Atomic(const ms_volume_provider *) vol_provider;

#define NET_SLOT(slot) (atomic_load(&net_provider) ? atomic_load(&net_provider)->slot : NULL)
#define VOL_SLOT(slot) (atomic_load(&vol_provider) ? atomic_load(&vol_provider)->slot : NULL)

static void
set_err(char **err, const char *msg)
{
    if (err)
        *err = ms_strdup(msg);
}

/* ---- network ---- */

void
ms_network_register(const ms_network_provider *p)
{
    atomic_store(&net_provider, p);
}

bool
ms_network_available(void)
{
    return atomic_load(&net_provider) != NULL;
}

int
ms_network_check(const ms_auth_ctx *ctx, const char *network_id)
{
    int (*fn)(const ms_auth_ctx *, const char *) = NET_SLOT(network_check);
    return fn ? fn(ctx, network_id) : -ENOENT;
}

int
ms_network_port_check(const ms_auth_ctx *ctx, const char *port_id)
{
    int (*fn)(const ms_auth_ctx *, const char *) = NET_SLOT(port_check);
    return fn ? fn(ctx, port_id) : -ENOENT;
}

int
ms_network_security_group_find(const ms_auth_ctx *ctx, const char *name_or_id,
                               char id_out[37])
{
    int (*fn)(const ms_auth_ctx *, const char *, char *) = NET_SLOT(security_group_find);
    return fn ? fn(ctx, name_or_id, id_out) : -ENOENT;
}

int
ms_network_allocate(const ms_auth_ctx *ctx, const char *instance_uuid, const char *host,
                    ms_net_mode mode, const ms_net_request *reqs, size_t nreqs,
                    const char *const *security_groups, size_t nsg, ms_net_vif **vifs,
                    size_t *nvifs, char **err)
{
    *vifs = NULL;
    *nvifs = 0;
    const ms_network_provider *p = atomic_load(&net_provider);
    if (!p || !p->allocate) {
        /* No service: a port or network asked for cannot exist (the API
         * refused such requests); anything else boots without a NIC. */
        for (size_t k = 0; k < nreqs; k++) {
            if (reqs[k].port_id[0] || reqs[k].network_id[0]) {
                set_err(err, "There is no network service to allocate ports from.");
                return -ENOTSUP;
            }
        }
        return 0;
    }
    return p->allocate(ctx, instance_uuid, host, mode, reqs, nreqs, security_groups, nsg, vifs,
                       nvifs, err);
}

int
ms_network_deallocate(const char *instance_uuid, char **err)
{
    int (*fn)(const char *, char **) = NET_SLOT(deallocate);
    return fn ? fn(instance_uuid, err) : 0;
}

int
ms_network_instance_vifs(const char *instance_uuid, ms_net_vif **vifs, size_t *nvifs)
{
    *vifs = NULL;
    *nvifs = 0;
    int (*fn)(const char *, ms_net_vif **, size_t *) = NET_SLOT(instance_vifs);
    return fn ? fn(instance_uuid, vifs, nvifs) : 0;
}

int
ms_network_metadata(const char *instance_uuid, json_t **out)
{
    *out = NULL;
    int (*fn)(const char *, json_t **) = NET_SLOT(network_metadata);
    return fn ? fn(instance_uuid, out) : 0;
}

/* ---- volume ---- */

void
ms_volume_register(const ms_volume_provider *p)
{
    atomic_store(&vol_provider, p);
}

bool
ms_volume_available(void)
{
    return atomic_load(&vol_provider) != NULL;
}

int
ms_volume_get(const ms_auth_ctx *ctx, const char *volume_id, ms_volume_info *out)
{
    int (*fn)(const ms_auth_ctx *, const char *, ms_volume_info *) = VOL_SLOT(get);
    return fn ? fn(ctx, volume_id, out) : -ENOENT;
}

int
ms_volume_snapshot_get(const ms_auth_ctx *ctx, const char *snapshot_id, long long *size_gb)
{
    int (*fn)(const ms_auth_ctx *, const char *, long long *) = VOL_SLOT(snapshot_get);
    return fn ? fn(ctx, snapshot_id, size_gb) : -ENOENT;
}

int
ms_volume_create(const ms_auth_ctx *ctx, const ms_volume_create_req *req, char id_out[37],
                 char **err)
{
    int (*fn)(const ms_auth_ctx *, const ms_volume_create_req *, char *, char **) =
        VOL_SLOT(create);
    if (!fn) {
        set_err(err, "There is no volume service to create the volume.");
        return -ENOTSUP;
    }
    return fn(ctx, req, id_out, err);
}

int
ms_volume_delete(const ms_auth_ctx *ctx, const char *volume_id, char **err)
{
    int (*fn)(const ms_auth_ctx *, const char *, char **) = VOL_SLOT(delete);
    return fn ? fn(ctx, volume_id, err) : -ENOENT;
}

int
ms_volume_attachment_create(const ms_auth_ctx *ctx, const char *volume_id,
                            const char *instance_uuid, char attachment_id[37], char **err)
{
    int (*fn)(const ms_auth_ctx *, const char *, const char *, char *, char **) =
        VOL_SLOT(attachment_create);
    if (!fn) {
        set_err(err, "There is no volume service to attach the volume.");
        return -ENOTSUP;
    }
    return fn(ctx, volume_id, instance_uuid, attachment_id, err);
}

int
ms_volume_attachment_update(const char *attachment_id, json_t *connector,
                            json_t **connection_info, char **err)
{
    int (*fn)(const char *, json_t *, json_t **, char **) = VOL_SLOT(attachment_update);
    if (!fn) {
        set_err(err, "There is no volume service to attach the volume.");
        return -ENOTSUP;
    }
    return fn(attachment_id, connector, connection_info, err);
}

int
ms_volume_attachment_complete(const char *attachment_id, char **err)
{
    int (*fn)(const char *, char **) = VOL_SLOT(attachment_complete);
    if (!fn) {
        set_err(err, "There is no volume service to attach the volume.");
        return -ENOTSUP;
    }
    return fn(attachment_id, err);
}

int
ms_volume_attachment_delete(const char *attachment_id, char **err)
{
    int (*fn)(const char *, char **) = VOL_SLOT(attachment_delete);
    return fn ? fn(attachment_id, err) : -ENOENT;
}
