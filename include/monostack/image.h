/* The image service as other modules see it (compute boots from images and
 * creates snapshots). Nothing here touches HTTP; visibility follows the
 * same rules as the Glance API for the given auth context. */
#ifndef MONOSTACK_IMAGE_H
#define MONOSTACK_IMAGE_H

#include <jansson.h>

#include "auth.h"
#include "common.h"

typedef struct {
    char id[37];
    char name[256];
    char status[16];            /* "active", ... */
    char disk_format[16];       /* "" when unset */
    char container_format[16];
    char owner[MS_ID_LEN];
    char visibility[12];
    long long size;             /* bytes of data, -1 when none */
    long long virtual_size;     /* -1 when unknown */
    long long min_disk;         /* GiB */
    long long min_ram;          /* MiB */
    char checksum[33];
    char *path;                 /* local data file (active images), else NULL */
    json_t *properties;         /* the image's extra string properties (owned) */
} ms_image_info;

/* Look up an image the context may see. Returns 0, -ENOENT (absent or not
 * visible), or -EAGAIN (database unreachable). Fill out is freed with
 * ms_image_info_clear. `path` is set only for active images. */
int ms_image_get(const ms_auth_ctx *ctx, const char *image_id, ms_image_info *out);
/* Like ms_image_get, and -EINVAL when the image is not active (cannot boot). */
int ms_image_get_active(const ms_auth_ctx *ctx, const char *image_id, ms_image_info *out);
void ms_image_info_clear(ms_image_info *info);

/* Create a queued image owned by ctx's project (server snapshot). props
 * (borrowed, may be NULL) are extra string properties such as
 * instance_uuid or image_type. id_out receives the new id. */
int ms_image_snapshot_create(const ms_auth_ctx *ctx, const char *name,
                             const char *disk_format, const char *container_format,
                             json_t *props, char id_out[37]);
/* Upload a local file as the data of a queued image: hashed, inspected and
 * stored like an API upload; the image ends active. On a refused format the
 * image returns to queued and -EINVAL comes back with a message in *err
 * (caller frees). Runs in the caller's thread (a worker, not the API). */
int ms_image_upload_file(const char *image_id, const char *path, char **err);
/* Mark a snapshot that could not be taken (status killed is not listed). */
int ms_image_kill(const char *image_id);
/* Delete an image the service made (a shelved server's disk, once
 * unshelved), data included; absent is fine. */
int ms_image_delete(const char *image_id);
/* createBackup's rotation: delete a server's backups of backup_type (images
 * with image_type "backup") beyond the newest keep. */
int ms_image_rotate_backups(const char *instance_uuid, const char *backup_type,
                            long long keep);

#endif
