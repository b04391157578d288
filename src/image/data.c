/* Image data: streamed upload (PUT /file), staging for glance-direct
 * imports (PUT /stage) and streamed download with Range (GET /file).
 *
 * Upload chunks arrive in the API thread through the core's stream ops and
 * go straight to the store's writer (temporary file + hashes) and the
 * format inspector; nothing holds more than a fixed buffer. The image moves
 * queued -> saving -> active (or queued -> uploading for a stage). Every
 * way out other than success (bad format, quota, client gone, disk error)
 * discards the temporary file and puts the image back in queued. */
#include "image.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <monostack/config.h>

typedef struct {
    image_t *img;
    bool stage;
    const char *busy;           /* status while writing: saving or uploading */
    image_writer *w;
    image_inspector *insp;
    long long limit;            /* bytes allowed: size cap and quota, -1 none */
    bool limit_is_quota;
    bool checked;
} upload;

static void
upload_free(upload *u)
{
    if (!u)
        return;
    image_writer_discard(u->w);
    image_inspector_free(u->insp);
    image_free(u->img);
    free(u);
}

/* Undo a failed upload: no file, image back to queued. */
static void
upload_fail(ms_request *req)
{
    upload *u = req->stream_state;
    if (!u)
        return;
    req->stream_state = NULL;
    char id[sizeof(u->img->id)];
    snprintf(id, sizeof(id), "%s", u->img->id);
    const char *busy = u->busy;   /* a string constant */
    unsigned long long got = u->w ? (unsigned long long)image_writer_size(u->w) : 0ULL;
    /* The partial file goes first: once the image shows queued again,
     * nothing of the upload is left on disk. */
    upload_free(u);
    int rc = image_db_transition(id, busy, "queued");
    if (rc < 0 && rc != -EBUSY)
        ms_error("image=%s cannot return the image to queued after a failed upload (%d)",
                 id, rc);
    ms_warn("image=%s upload abandoned after %llu bytes; image back in queued", id, got);
}

static bool
is_octet_stream(const char *ctype)
{
    if (!ctype)
        return false;
    size_t n = strcspn(ctype, ";");
    while (n && ctype[n - 1] == ' ')
        n--;
    return n == 24 && strncasecmp(ctype, "application/octet-stream", 24) == 0;
}

int
image_check_format(const image_t *img, const image_inspector *insp, char *msg, size_t msglen)
{
    const char *unsafe = image_inspector_unsafe(insp);
    if (unsafe) {
        snprintf(msg, msglen, "%s", unsafe);
        return -EINVAL;
    }
    const char *found = image_inspector_format(insp);
    const char *declared = img->disk_format;
    const char *container = img->container_format;
    if (!found || !declared)
        return 0;
    /* Wrappers whose payload is not the disk itself are not matched. */
    if (container && (strcmp(container, "ova") == 0 || strcmp(container, "docker") == 0 ||
                      strcmp(container, "compressed") == 0))
        return 0;
    static const char *const inspected[] = {"qcow2", "vhd", "vhdx", "vmdk", "vdi", "iso",
                                            NULL};
    bool strict = false;
    for (const char *const *p = inspected; *p; p++)
        strict |= strcmp(*p, declared) == 0;
    bool ok = strict ? strcmp(found, declared) == 0
                     : (strcmp(found, "raw") == 0 || strcmp(found, "iso") == 0);
    if (!ok) {
        snprintf(msg, msglen, "Image content does not match the disk_format %s: the data is "
                              "in %s format.", declared, found);
        return -EINVAL;
    }
    return 0;
}

static int
upload_begin(ms_request *req, ms_response *resp, bool stage)
{
    const char *id = ms_req_param(req, "image_id");
    if (!is_octet_stream(ms_req_header(req, "Content-Type"))) {
        ms_resp_error(resp, 415, "Content type %s not supported",
                      ms_req_header(req, "Content-Type") ? ms_req_header(req, "Content-Type")
                                                         : "None");
        return 0;
    }
    image_t *img = NULL;
    int rc = image_lookup(req, resp, id, &img);
    if (rc < 0)
        return rc == -ENOENT ? 0 : rc;
    upload *u = ms_calloc(1, sizeof(*u));
    u->img = img;
    u->stage = stage;
    u->busy = stage ? "uploading" : "saving";
    u->limit = -1;
    if (!image_is_owner(&req->auth, img)) {
        ms_resp_error(resp, 403, "Not allowed to upload image data for image %s", img->id);
        goto refuse;
    }
    if (!stage && (!img->disk_format || !img->container_format)) {
        ms_resp_error(resp, 400, "Properties disk_format, container_format must be set prior "
                                 "to saving data.");
        goto refuse;
    }
    const char *clen_s = ms_req_header(req, "Content-Length");
    long long clen = clen_s ? strtoll(clen_s, NULL, 10) : -1;
    if (ms_conf.image_size_cap > 0) {
        u->limit = ms_conf.image_size_cap;
        if (clen > ms_conf.image_size_cap) {
            ms_resp_error(resp, 413, "The incoming image is too large: %lld bytes is more than "
                                     "the limit of %lld bytes.",
                          clen, ms_conf.image_size_cap);
            goto refuse;
        }
    }
    if (ms_conf.image_storage_quota > 0 && img->owner) {
        long long count = 0, used = 0;
        rc = image_db_owner_usage(img->owner, &count, &used);
        if (rc < 0)
            goto error;
        long long left = ms_conf.image_storage_quota - used;
        if (left <= 0 || clen > left) {
            ms_resp_error(resp, 413, "Image exceeds the storage quota: project %s uses %lld of "
                                     "%lld bytes.",
                          img->owner, used, ms_conf.image_storage_quota);
            goto refuse;
        }
        if (u->limit < 0 || left < u->limit) {
            u->limit = left;
            u->limit_is_quota = true;
        }
    }
    rc = image_db_transition(img->id, "queued", u->busy);
    if (rc == -EBUSY) {
        if (stage && strcmp(img->status, "uploading") == 0)
            ms_resp_error(resp, 409, "The image %s has data on staging", img->id);
        else
            ms_resp_error(resp, 409, "Image status transition from %s to %s is not allowed",
                          img->status, u->busy);
        goto refuse;
    }
    if (rc < 0)
        goto error;
    rc = image_writer_open(&u->w);
    if (rc < 0) {
        image_db_transition(img->id, u->busy, "queued");
        ms_resp_error(resp, 503, "Insufficient permissions on image storage media: %s",
                      strerror(-rc));
        goto refuse;
    }
    u->insp = image_inspector_new();
    req->stream_state = u;
    ms_info("image=%s %s started project=%s", img->id, stage ? "stage" : "upload",
            req->auth.project_id);
    return 0;
refuse:
    upload_free(u);
    return 0;
error:
    upload_free(u);
    return rc;
}

static int
upload_data(ms_request *req, ms_response *resp, const char *buf, size_t len)
{
    upload *u = req->stream_state;
    if (!u)
        return -EIO;
    uint64_t total = image_writer_size(u->w) + len;
    if (u->limit >= 0 && total > (uint64_t)u->limit) {
        if (u->limit_is_quota)
            ms_resp_error(resp, 413, "Image exceeds the storage quota: the upload would use "
                                     "more than the %lld bytes left to project %s.",
                          u->limit, u->img->owner);
        else
            ms_resp_error(resp, 413, "The incoming image is too large: more than the limit "
                                     "of %lld bytes.",
                          u->limit);
        upload_fail(req);
        return -EFBIG;
    }
    image_inspector_feed(u->insp, buf, len);
    if (!u->checked && image_inspector_decided(u->insp) && u->img->disk_format) {
        char msg[256];
        u->checked = true;
        if (image_check_format(u->img, u->insp, msg, sizeof(msg)) < 0) {
            ms_warn("image=%s upload refused: %s", u->img->id, msg);
            ms_resp_error(resp, 400, "%s", msg);
            upload_fail(req);
            return -EINVAL;
        }
    }
    int rc = image_writer_write(u->w, buf, len);
    if (rc < 0) {
        if (rc == -ENOSPC || rc == -EDQUOT)
            ms_resp_error(resp, 413, "Image storage media is full: %s", strerror(-rc));
        else
            ms_resp_error(resp, 503, "The image data could not be written: %s", strerror(-rc));
        upload_fail(req);
        return rc;
    }
    return 0;
}

static int
upload_end(ms_request *req, ms_response *resp)
{
    upload *u = req->stream_state;
    if (!u)
        return ms_resp_status(resp) ? 0 : -EIO;
    image_inspector_finish(u->insp);
    char msg[256];
    if (u->img->disk_format && image_check_format(u->img, u->insp, msg, sizeof(msg)) < 0) {
        ms_warn("image=%s upload refused: %s", u->img->id, msg);
        ms_resp_error(resp, 400, "%s", msg);
        upload_fail(req);
        return 0;
    }
    if (!u->img->disk_format && image_inspector_unsafe(u->insp)) {
        ms_resp_error(resp, 400, "%s", image_inspector_unsafe(u->insp));
        upload_fail(req);
        return 0;
    }
    char md5[33], sha512[129];
    char *dest = u->stage ? image_store_staging_path(u->img->id)
                          : image_store_path(u->img->id);
    long long size = (long long)image_writer_size(u->w);
    image_writer *w = u->w;
    u->w = NULL;
    int rc = image_writer_commit(w, dest, md5, sha512);
    if (rc < 0) {
        free(dest);
        ms_resp_error(resp, rc == -ENOSPC ? 413 : 503,
                      "The image data could not be stored: %s", strerror(-rc));
        upload_fail(req);
        return 0;
    }
    uint64_t vsize = image_inspector_virtual_size(u->insp);
    rc = image_db_set_data(u->img->id, u->busy, u->stage ? "uploading" : "active", size,
                           vsize ? (long long)vsize : -1, md5, sha512,
                           image_inspector_format(u->insp));
    if (rc < 0) {
        unlink(dest);
        free(dest);
        if (rc == -EBUSY) {
            /* deleted (or reset) while the data was coming in */
            ms_resp_error(resp, 410, "Image %s could not be found after upload. The image may "
                                     "have been deleted during the upload, cleaning up the "
                                     "chunks uploaded.",
                          u->img->id);
            req->stream_state = NULL;
            upload_free(u);
            return 0;
        }
        upload_fail(req);
        return rc;
    }
    free(dest);
    ms_info("image=%s %s complete bytes=%lld format=%s", u->img->id,
            u->stage ? "stage" : "upload", size, image_inspector_format(u->insp));
    req->stream_state = NULL;
    upload_free(u);
    ms_resp_empty(resp, 204);
    return 0;
}

static void
upload_abort(ms_request *req)
{
    upload_fail(req);
}

static int
upload_begin_file(ms_request *req, ms_response *resp)
{
    return upload_begin(req, resp, false);
}

static int
upload_begin_stage(ms_request *req, ms_response *resp)
{
    return upload_begin(req, resp, true);
}

const ms_stream_ops image_upload_ops = {
    .begin = upload_begin_file,
    .data = upload_data,
    .end = upload_end,
    .abort = upload_abort,
};

const ms_stream_ops image_stage_ops = {
    .begin = upload_begin_stage,
    .data = upload_data,
    .end = upload_end,
    .abort = upload_abort,
};

/* ---- download ---- */

typedef struct {
    int fd;
    uint64_t start, len;
} reader;

static long
reader_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    reader *r = cls;
    if (pos >= r->len)
        return 0;
    if (max > r->len - pos)
        max = (size_t)(r->len - pos);
    ssize_t n;
    do {
        n = pread(r->fd, buf, max, (off_t)(r->start + pos));
    } while (n < 0 && errno == EINTR);
    if (n <= 0)
        return -1;   /* a short file means the store changed under us */
    return n;
}

static void
reader_free(void *cls)
{
    reader *r = cls;
    close(r->fd);
    free(r);
}

/* Parse "bytes=a-b", "bytes=a-" or "bytes=-n" against size. Returns 1 with
 * the range, 0 when absent/ignored, -1 when unsatisfiable. */
static int
parse_range(const char *h, uint64_t size, uint64_t *start, uint64_t *end)
{
    if (!h)
        return 0;
    while (*h == ' ')
        h++;
    if (strncmp(h, "bytes=", 6) != 0)
        return 0;
    h += 6;
    if (strchr(h, ','))
        return 0;   /* multiple ranges: answer the whole body, as webob does */
    char *e;
    if (*h == '-') {
        unsigned long long n = strtoull(h + 1, &e, 10);
        if (e == h + 1 || *e)
            return 0;
        if (n == 0 || size == 0)
            return -1;
        *start = n >= size ? 0 : size - n;
        *end = size - 1;
        return 1;
    }
    unsigned long long a = strtoull(h, &e, 10);
    if (e == h || *e != '-')
        return 0;
    const char *b = e + 1;
    unsigned long long z = size ? size - 1 : 0;
    if (*b) {
        z = strtoull(b, &e, 10);
        if (*e)
            return 0;
        if (z < a)
            return 0;
        if (z >= size)
            z = size - 1;
    }
    if (a >= size)
        return -1;
    *start = a;
    *end = z;
    return 1;
}

int
image_download(ms_request *req, ms_response *resp)
{
    image_autoptr img = NULL;
    int rc = image_lookup(req, resp, ms_req_param(req, "image_id"), &img);
    if (rc < 0)
        return rc == -ENOENT ? 0 : rc;
    if (strcmp(img->status, "deactivated") == 0 && !req->auth.is_admin) {
        ms_resp_error(resp, 403, "The requested image has been deactivated. Image data "
                                 "download is forbidden.");
        return 0;
    }
    if (strcmp(img->status, "active") != 0 && strcmp(img->status, "deactivated") != 0) {
        ms_resp_empty(resp, 204);
        return 0;
    }
    char *path = image_store_path(img->id);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    free(path);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        if (fd >= 0)
            close(fd);
        ms_error("image=%s active but its data is missing from the store", img->id);
        ms_resp_empty(resp, 204);
        return 0;
    }
    uint64_t size = (uint64_t)st.st_size;
    uint64_t start = 0, end = size ? size - 1 : 0;
    int range = parse_range(ms_req_header(req, "Range"), size, &start, &end);
    if (range < 0) {
        close(fd);
        ms_resp_error(resp, 416, "Requested range not satisfiable");
        char cr[64];
        snprintf(cr, sizeof(cr), "bytes */%llu", (unsigned long long)size);
        ms_resp_header(resp, "Content-Range", cr);
        return 0;
    }
    posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    reader *r = ms_calloc(1, sizeof(*r));
    r->fd = fd;
    r->start = start;
    r->len = range > 0 ? end - start + 1 : size;
    ms_resp_stream(resp, range > 0 ? 206 : 200, r->len, reader_read, r, reader_free);
    ms_resp_header(resp, "Content-Type", "application/octet-stream");
    if (img->checksum)
        ms_resp_header(resp, "Content-MD5", img->checksum);
    if (range > 0) {
        char cr[96];
        snprintf(cr, sizeof(cr), "bytes %llu-%llu/%llu", (unsigned long long)start,
                 (unsigned long long)end, (unsigned long long)size);
        ms_resp_header(resp, "Content-Range", cr);
    }
    return 0;
}
