/* Image (Glance v2): the interface between the module's files. Other
 * modules use include/monostack/image.h only.
 *
 * An image is one row of `images` plus its string properties, tags and
 * members. Data lives in the filesystem store (store.c) under the image id;
 * format inspection (format.c) runs on the bytes as they stream in. */
#ifndef IMAGE_INTERNAL_H
#define IMAGE_INTERNAL_H

#include <jansson.h>

#include <monostack/db.h>
#include <monostack/http.h>
#include <monostack/log.h>

#include "format.h"

extern const ms_migration image_migrations[];
extern const ms_module image_module;

/* ---- the image record (images_db.c) ---- */
typedef struct {
    char id[37];
    char *name;                 /* NULL = null */
    char status[16];
    char visibility[12];
    bool protected_;
    bool os_hidden;
    char *owner;                /* project id, NULL = null */
    char *disk_format;
    char *container_format;
    long long size;             /* -1 = null */
    long long virtual_size;     /* -1 = null */
    char *checksum;
    char *os_hash_algo;
    char *os_hash_value;
    long long min_disk, min_ram;
    int64_t created_at, updated_at;   /* epoch microseconds */
    char *detected_format;      /* what inspection found (staged data), internal */
    json_t *props;              /* object of string values */
    json_t *tags;               /* array of strings */
} image_t;

void image_free(image_t *img);
void image_freep(image_t **img);
#define image_autoptr __attribute__((cleanup(image_freep))) image_t *

/* Reads one non-deleted image with properties and tags; -ENOENT when absent. */
int image_db_get(const char *id, image_t **out);
/* True when any image row (deleted or not) has this id. */
int image_db_id_used(const char *id, bool *used);
int image_db_insert(const image_t *img);
/* Write every mutable column, the properties and the tags of img. */
int image_db_save(const image_t *img);
/* Conditional status change: -EBUSY when the image is not in `from`. */
int image_db_transition(const char *id, const char *from, const char *to);
/* Record uploaded data and move from `from` to `to` (active or uploading). */
int image_db_set_data(const char *id, const char *from, const char *to, long long size,
                      long long virtual_size, const char *md5, const char *sha512,
                      const char *detected_format);
/* Forget data fields (back to queued after a failed import). */
int image_db_clear_data(const char *id, const char *from);
int image_db_soft_delete(const char *id);
int image_db_tag_add(const char *id, const char *tag);
int image_db_tag_delete(const char *id, const char *tag, bool *found);
int image_db_touch(const char *id);
/* Per-project usage, for quotas: non-deleted images, and bytes of their data. */
int image_db_owner_usage(const char *owner, long long *count, long long *bytes);
/* Images left in saving by a crash go back to queued (their data was only
 * ever a temporary file). */
int image_db_reset_stuck(long long *reset);
/* Ids of the non-deleted images in a status (caller frees each and the array). */
int image_db_ids_in_status(const char *status, char ***ids, size_t *n);
/* Ids of a server's backups of one type, newest first (caller frees each
 * and the array). */
int image_db_backups(const char *instance_uuid, const char *backup_type, char ***ids,
                     size_t *n);

/* Listing. */
#define IMAGE_MAX_SORT 8
#define IMAGE_MAX_COND 24
typedef struct {
    const char *col;            /* SQL expression, from a fixed table */
    const char *op;             /* "=", "<", ... or "IN" */
    const char *vals[16];       /* IN values or the single value */
    int nvals;
    bool is_int;                /* compare with ival instead */
    long long ival;
} image_cond;

typedef struct {
    const char *project;        /* caller's project ("" when unscoped) */
    bool admin;
    const char *visibility;     /* NULL, or all/public/private/shared/community */
    const char *member_status;  /* pending/accepted/rejected/all */
    image_cond conds[IMAGE_MAX_COND];
    int nconds;
    const char *tags[16];
    int ntags;
    const char *prop_keys[16];
    const char *prop_vals[16];
    int nprops;
    const char *sort_cols[IMAGE_MAX_SORT];   /* SQL expressions */
    const char *sort_keys[IMAGE_MAX_SORT];   /* API names */
    bool sort_desc[IMAGE_MAX_SORT];
    int nsort;
    const image_t *marker;
    int limit;
} image_query;

/* Fills out[] with up to q->limit images (caller frees each and the array). */
int image_db_list(const image_query *q, image_t ***out, size_t *n);

/* Members. */
typedef struct {
    char image_id[37];
    char member[256];
    char status[12];
    int64_t created_at, updated_at;
} image_member_t;

int image_db_members(const char *image_id, image_member_t **out, size_t *n);
int image_db_member_get(const char *image_id, const char *member, image_member_t *out);
int image_db_member_add(const char *image_id, const char *member, int64_t now);
int image_db_member_set(const char *image_id, const char *member, const char *status,
                        int64_t now);
int image_db_member_delete(const char *image_id, const char *member);
int image_db_member_count(const char *image_id, long long *n);

/* ---- access rules (images.c) ---- */
/* Whether ctx may see img (Glance's visibility rules; admin sees all). */
bool image_visible(const ms_auth_ctx *ctx, const image_t *img);
bool image_is_owner(const ms_auth_ctx *ctx, const image_t *img);
/* Fetch an image the caller may see; answers 404 into resp when it may not. */
int image_lookup(ms_request *req, ms_response *resp, const char *id, image_t **out);
json_t *image_to_json(const image_t *img);
int64_t image_now(void);

/* ---- handlers ---- */
int image_versions(ms_request *req, ms_response *resp);
int image_versions_explicit(ms_request *req, ms_response *resp);
int image_schema_image(ms_request *req, ms_response *resp);
int image_schema_images(ms_request *req, ms_response *resp);
int image_schema_member(ms_request *req, ms_response *resp);
int image_schema_members(ms_request *req, ms_response *resp);
int image_info_import(ms_request *req, ms_response *resp);
int image_info_stores(ms_request *req, ms_response *resp);
int image_create(ms_request *req, ms_response *resp);
int image_list(ms_request *req, ms_response *resp);
int image_show(ms_request *req, ms_response *resp);
int image_update(ms_request *req, ms_response *resp);
int image_delete(ms_request *req, ms_response *resp);
int image_deactivate(ms_request *req, ms_response *resp);
int image_reactivate(ms_request *req, ms_response *resp);
int image_tag_put(ms_request *req, ms_response *resp);
int image_tag_delete(ms_request *req, ms_response *resp);
int image_members_list(ms_request *req, ms_response *resp);
int image_member_create(ms_request *req, ms_response *resp);
int image_member_show(ms_request *req, ms_response *resp);
int image_member_update(ms_request *req, ms_response *resp);
int image_member_delete(ms_request *req, ms_response *resp);
int image_download(ms_request *req, ms_response *resp);
int image_import(ms_request *req, ms_response *resp);
int image_tasks(ms_request *req, ms_response *resp);
extern const ms_stream_ops image_upload_ops;
extern const ms_stream_ops image_stage_ops;

/* ---- the filesystem store (store.c) ---- */
/* The store's id in /v2/info/stores and in an image's "stores". */
#define IMAGE_STORE_ID "file"
int image_store_init(char **err);
/* Final path of an image's data (caller frees). */
char *image_store_path(const char *id);
/* Staged data for glance-direct imports (caller frees). */
char *image_store_staging_path(const char *id);

/* A write in progress: a temporary file hashed as it is written. */
typedef struct image_writer image_writer;
int image_writer_open(image_writer **out);
int image_writer_write(image_writer *w, const void *buf, size_t len);
/* fsync, then rename over `dest`; fills the hex digests. Frees w. */
int image_writer_commit(image_writer *w, const char *dest, char md5[33], char sha512[129]);
void image_writer_discard(image_writer *w);   /* unlink; frees w; NULL ok */
uint64_t image_writer_size(const image_writer *w);
int image_store_delete(const char *id);
/* Move staged data to the final location. */
int image_store_promote(const char *id);
/* Remove temporary files left by a crash. */
void image_store_sweep(void);

/* ---- upload common (data.c) ---- */
/* Validate that inspected data may be stored for img; on refusal fills msg. */
int image_check_format(const image_t *img, const image_inspector *insp, char *msg,
                       size_t msglen);

#endif
