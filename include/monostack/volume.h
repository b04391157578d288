/* The volume service as compute sees it: find the volumes and snapshots a
 * server create names in its block device mapping, make the volumes it
 * asks for (image, snapshot or blank source), and attach and detach them
 * through attachments, the flow Nova uses with Cinder since 3.44:
 * attachment_create reserves the volume for the instance, attachment_update
 * hands over the host's connector and gets the connection info the virt
 * driver turns into a <disk>, attachment_complete marks it in-use, and
 * attachment_delete releases it.
 *
 * The volume module implements it by registering a provider table. A NULL
 * slot, or no provider, means there is no volume service: lookups answer
 * -ENOENT (Nova's "Volume ... could not be found."), creation and
 * attachment answer -ENOTSUP, so a build that needs a volume fails as
 * Nova's does when Cinder cannot serve it. */
#ifndef MONOSTACK_VOLUME_H
#define MONOSTACK_VOLUME_H

#include <jansson.h>

#include "auth.h"
#include "common.h"

typedef struct {
    char id[37];
    char status[24];              /* "available", "creating", "in-use", "error" ... */
    long long size_gb;
    char availability_zone[256];
    bool bootable;
    bool multiattach;
} ms_volume_info;

/* What creating a volume for a server starts from: an image, a snapshot
 * or nothing (blank). */
typedef struct {
    const char *image_id;         /* NULL unless source image */
    const char *snapshot_id;      /* NULL unless source snapshot */
    long long size_gb;
    const char *name;
    const char *availability_zone;
    const char *volume_type;      /* NULL: the default type */
} ms_volume_create_req;

typedef struct {
    const char *name;
    /* -ENOENT when absent or not visible to ctx. */
    int (*get)(const ms_auth_ctx *ctx, const char *volume_id, ms_volume_info *out);
    int (*snapshot_get)(const ms_auth_ctx *ctx, const char *snapshot_id, long long *size_gb);
    /* Start creating a volume; poll get() until "available" or "error". */
    int (*create)(const ms_auth_ctx *ctx, const ms_volume_create_req *req, char id_out[37],
                  char **err);
    int (*delete)(const ms_auth_ctx *ctx, const char *volume_id, char **err);
    /* Reserve the volume for the instance (-EBUSY when it cannot be). */
    int (*attachment_create)(const ms_auth_ctx *ctx, const char *volume_id,
                             const char *instance_uuid, char attachment_id[37], char **err);
    /* Give the host's connector ({"host", "initiator", "ip"}); *connection_info
     * (new) is {"driver_volume_type": "iscsi"|"block", "data": {...}}. */
    int (*attachment_update)(const char *attachment_id, json_t *connector,
                             json_t **connection_info, char **err);
    int (*attachment_complete)(const char *attachment_id, char **err);
    int (*attachment_delete)(const char *attachment_id, char **err);
} ms_volume_provider;

/* Called by the volume module at start-up (NULL unregisters). */
void ms_volume_register(const ms_volume_provider *p);
bool ms_volume_available(void);

int ms_volume_get(const ms_auth_ctx *ctx, const char *volume_id, ms_volume_info *out);
int ms_volume_snapshot_get(const ms_auth_ctx *ctx, const char *snapshot_id, long long *size_gb);
int ms_volume_create(const ms_auth_ctx *ctx, const ms_volume_create_req *req, char id_out[37],
                     char **err);
int ms_volume_delete(const ms_auth_ctx *ctx, const char *volume_id, char **err);
int ms_volume_attachment_create(const ms_auth_ctx *ctx, const char *volume_id,
                                const char *instance_uuid, char attachment_id[37],
                                char **err);
int ms_volume_attachment_update(const char *attachment_id, json_t *connector,
                                json_t **connection_info, char **err);
int ms_volume_attachment_complete(const char *attachment_id, char **err);
int ms_volume_attachment_delete(const char *attachment_id, char **err);

#endif
