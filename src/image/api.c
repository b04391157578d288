/* The in-process interface of include/monostack/image.h: what compute needs
 * from the image service (an image's file and boot requirements, snapshot
 * creation and upload), with the same visibility rules as the HTTP API. */
#include "image.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <monostack/config.h>
#include <monostack/image.h>

static void
copy(char *dst, size_t n, const char *src)
{
    snprintf(dst, n, "%s", src ? src : "");
}

int
ms_image_get(const ms_auth_ctx *ctx, const char *image_id, ms_image_info *out)
{
    memset(out, 0, sizeof(*out));
    image_t *img = NULL;
    int rc = image_db_get(image_id, &img);
    if (rc < 0)
        return rc;
    if (ctx && !image_visible(ctx, img)) {
        image_free(img);
        return -ENOENT;
    }
    copy(out->id, sizeof(out->id), img->id);
    copy(out->name, sizeof(out->name), img->name);
    copy(out->status, sizeof(out->status), img->status);
    copy(out->disk_format, sizeof(out->disk_format), img->disk_format);
    copy(out->container_format, sizeof(out->container_format), img->container_format);
    copy(out->owner, sizeof(out->owner), img->owner);
    copy(out->visibility, sizeof(out->visibility), img->visibility);
    copy(out->checksum, sizeof(out->checksum), img->checksum);
    out->size = img->size;
    out->virtual_size = img->virtual_size;
    out->min_disk = img->min_disk;
    out->min_ram = img->min_ram;
    if (strcmp(img->status, "active") == 0)
        out->path = image_store_path(img->id);
    out->properties = json_incref(img->props);
    image_free(img);
    return 0;
}

int
ms_image_get_active(const ms_auth_ctx *ctx, const char *image_id, ms_image_info *out)
{
    int rc = ms_image_get(ctx, image_id, out);
    if (rc == 0 && strcmp(out->status, "active") != 0) {
        ms_image_info_clear(out);
        return -EINVAL;
    }
    return rc;
}

void
ms_image_info_clear(ms_image_info *info)
{
    if (!info)
        return;
    free(info->path);
    json_decref(info->properties);
    info->path = NULL;
    info->properties = NULL;
}

int
ms_image_snapshot_create(const ms_auth_ctx *ctx, const char *name, const char *disk_format,
                         const char *container_format, json_t *props, char id_out[37])
{
    image_t *img = ms_calloc(1, sizeof(*img));
    ms_uuid(img->id);
    img->name = ms_strdup(name);
    snprintf(img->status, sizeof(img->status), "queued");
    snprintf(img->visibility, sizeof(img->visibility), "private");
    img->owner = ms_strdup(ctx && ctx->project_id[0] ? ctx->project_id : NULL);
    img->disk_format = ms_strdup(disk_format ? disk_format : "qcow2");
    img->container_format = ms_strdup(container_format ? container_format : "bare");
    img->size = img->virtual_size = -1;
    img->props = json_object();
    if (json_is_object(props)) {
        const char *k;
        json_t *v;
        json_object_foreach(props, k, v) {
            if (json_is_string(v))
                json_object_set(img->props, k, v);
        }
    }
    img->tags = json_array();
    img->created_at = img->updated_at = image_now();
    int rc = image_db_insert(img);
    if (rc == 0)
        snprintf(id_out, 37, "%s", img->id);
    image_free(img);
    return rc;
}

int
ms_image_upload_file(const char *image_id, const char *path, char **err)
{
    image_t *img = NULL;
    int rc = image_db_get(image_id, &img);
    if (rc < 0)
        return rc;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        rc = -errno;
        if (err)
            *err = ms_asprintf("cannot open %s: %s", path, strerror(errno));
        image_free(img);
        return rc;
    }
    rc = image_db_transition(image_id, "queued", "saving");
    if (rc < 0) {
        if (err && rc == -EBUSY)
            *err = ms_asprintf("image %s is not queued", image_id);
        close(fd);
        image_free(img);
        return rc;
    }
    image_writer *w = NULL;
    image_inspector *insp = image_inspector_new();
    char *buf = ms_malloc(1024 * 1024);
    char *dest = NULL;
    rc = image_writer_open(&w);
    while (rc == 0) {
        ssize_t n = read(fd, buf, 1024 * 1024);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = -errno;
            break;
        }
        if (n == 0)
            break;
        image_inspector_feed(insp, buf, (size_t)n);
        rc = image_writer_write(w, buf, (size_t)n);
    }
    close(fd);
    free(buf);
    char msg[256] = "";
    if (rc == 0) {
        image_inspector_finish(insp);
        if (image_check_format(img, insp, msg, sizeof(msg)) < 0)
            rc = -EINVAL;
    }
    char md5[33], sha512[129];
    long long size = w ? (long long)image_writer_size(w) : 0;
    if (rc == 0) {
        dest = image_store_path(image_id);
        rc = image_writer_commit(w, dest, md5, sha512);
        w = NULL;
    }
    if (rc == 0) {
        uint64_t vsize = image_inspector_virtual_size(insp);
        rc = image_db_set_data(image_id, "saving", "active", size,
                               vsize ? (long long)vsize : -1, md5, sha512,
                               image_inspector_format(insp));
        if (rc < 0)
            unlink(dest);
    } else {
        image_writer_discard(w);
        image_db_transition(image_id, "saving", "queued");
        if (err)
            *err = ms_strdup(msg[0] ? msg : strerror(-rc));
    }
    free(dest);
    image_inspector_free(insp);
    image_free(img);
    return rc;
}

int
ms_image_kill(const char *image_id)
{
    int rc = image_db_transition(image_id, "queued", "killed");
    if (rc == -EBUSY)
        rc = image_db_transition(image_id, "saving", "killed");
    return rc;
}

int
ms_image_delete(const char *image_id)
{
    int rc = image_db_soft_delete(image_id);
    if (rc == 0)
        image_store_delete(image_id);
    return rc == -ENOENT ? 0 : rc;
}

int
ms_image_rotate_backups(const char *instance_uuid, const char *backup_type, long long keep)
{
    char **ids = NULL;
    size_t n = 0;
    int rc = image_db_backups(instance_uuid, backup_type, &ids, &n);
    for (size_t i = 0; i < n; i++) {
        if (rc == 0 && (long long)i >= keep)
            rc = ms_image_delete(ids[i]);
        free(ids[i]);
    }
    free(ids);
    return rc;
}
