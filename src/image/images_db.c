/* All SQL of the image module: images, their properties, tags and members.
 *
 * The statement cache of the db layer is keyed by the SQL text pointer, so
 * the list query, whose shape depends on the filters and sort keys given,
 * is built from fixed pieces (column expressions come from a table in
 * images.c, never from input; values are always bound) and interned: one
 * stable string per distinct shape. */
#include "image.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define COLS                                                                             \
    "id, name, status, visibility, protected, os_hidden, owner, disk_format,"            \
    " container_format, size, virtual_size, checksum, os_hash_algo, os_hash_value,"      \
    " min_disk, min_ram, created_at, updated_at, detected_format"
#define ICOLS                                                                            \
    "i.id, i.name, i.status, i.visibility, i.protected, i.os_hidden, i.owner,"           \
    " i.disk_format, i.container_format, i.size, i.virtual_size, i.checksum,"            \
    " i.os_hash_algo, i.os_hash_value, i.min_disk, i.min_ram, i.created_at,"             \
    " i.updated_at, i.detected_format"

void
image_free(image_t *img)
{
    if (!img)
        return;
    free(img->name);
    free(img->owner);
    free(img->disk_format);
    free(img->container_format);
    free(img->checksum);
    free(img->os_hash_algo);
    free(img->os_hash_value);
    free(img->detected_format);
    json_decref(img->props);
    json_decref(img->tags);
    free(img);
}

void
image_freep(image_t **img)
{
    image_free(*img);
}

static long long
cell_ll_or(const ms_result *r, size_t row, size_t col, long long null_value)
{
    return ms_cell(r, row, col) ? ms_cell_int(r, row, col) : null_value;
}

static image_t *
image_from_row(const ms_result *r, size_t i)
{
    image_t *img = ms_calloc(1, sizeof(*img));
    snprintf(img->id, sizeof(img->id), "%s", ms_cell(r, i, 0));
    img->name = ms_strdup(ms_cell(r, i, 1));
    snprintf(img->status, sizeof(img->status), "%s", ms_cell(r, i, 2));
    snprintf(img->visibility, sizeof(img->visibility), "%s", ms_cell(r, i, 3));
    img->protected_ = ms_cell_bool(r, i, 4);
    img->os_hidden = ms_cell_bool(r, i, 5);
    img->owner = ms_strdup(ms_cell(r, i, 6));
    img->disk_format = ms_strdup(ms_cell(r, i, 7));
    img->container_format = ms_strdup(ms_cell(r, i, 8));
    img->size = cell_ll_or(r, i, 9, -1);
    img->virtual_size = cell_ll_or(r, i, 10, -1);
    img->checksum = ms_strdup(ms_cell(r, i, 11));
    img->os_hash_algo = ms_strdup(ms_cell(r, i, 12));
    img->os_hash_value = ms_strdup(ms_cell(r, i, 13));
    img->min_disk = ms_cell_int(r, i, 14);
    img->min_ram = ms_cell_int(r, i, 15);
    img->created_at = ms_cell_int(r, i, 16);
    img->updated_at = ms_cell_int(r, i, 17);
    img->detected_format = ms_strdup(ms_cell(r, i, 18));
    return img;
}

/* Properties (by name) and tags (by creation, then name) in one round trip. */
static int
load_props_tags(image_t *img)
{
    ms_result *r = NULL;
    int rc = MS_DB_QUERY(&r,
                         "SELECT 0, name, value, NULL FROM image_properties WHERE image_id = ?"
                         " UNION ALL"
                         " SELECT 1, tag, NULL, created_at FROM image_tags WHERE image_id = ?"
                         " ORDER BY 1, 4, 2",
                         MS_P_STR(img->id), MS_P_STR(img->id));
    if (rc < 0)
        return rc;
    img->props = json_object();
    img->tags = json_array();
    for (size_t i = 0; i < r->nrows; i++) {
        const char *name = ms_cell(r, i, 1), *value = ms_cell(r, i, 2);
        if (ms_cell_int(r, i, 0) == 0)
            json_object_set_new(img->props, name, json_string(value ? value : ""));
        else
            json_array_append_new(img->tags, json_string(name));
    }
    ms_result_free(r);
    return 0;
}

/* Properties and tags from their JSON aggregates (columns 19 and 20 of the
 * get below): [[name, value], ...] by name and [tag, ...] by creation. False
 * when the text is not what was expected (say, cut by group_concat_max_len). */
static bool
props_tags_from_json(image_t *img, const char *props, const char *tags)
{
    json_t *p = props ? json_loads(props, 0, NULL) : json_array();
    json_t *t = tags ? json_loads(tags, 0, NULL) : json_array();
    bool ok = json_is_array(p) && json_is_array(t);
    img->props = json_object();
    img->tags = json_array();
    size_t i;
    json_t *v;
    json_array_foreach(ok ? p : NULL, i, v) {
        const char *name = json_string_value(json_array_get(v, 0));
        json_t *val = json_array_get(v, 1);
        if (!name || !(json_is_string(val) || json_is_null(val))) {
            ok = false;
            break;
        }
        json_object_set_new(img->props, name,
                            json_string(json_is_string(val) ? json_string_value(val) : ""));
    }
    json_array_foreach(ok ? t : NULL, i, v) {
        if (!json_is_string(v)) {
            ok = false;
            break;
        }
        json_array_append(img->tags, v);
    }
    json_decref(p);
    json_decref(t);
    if (!ok) {
        json_decref(img->props);
        json_decref(img->tags);
        img->props = img->tags = NULL;
    }
    return ok;
}

int
image_db_get(const char *id, image_t **out)
{
    ms_result *r = NULL;
    *out = NULL;
    /* One round trip: a server create and its build each look the image up. */
    int rc = MS_DB_QUERY(&r,
                         "SELECT " COLS ", (SELECT JSON_ARRAYAGG(JSON_ARRAY(p.name, p.value)"
                         " ORDER BY p.name) FROM image_properties p WHERE p.image_id = images.id),"
                         " (SELECT JSON_ARRAYAGG(t.tag ORDER BY t.created_at, t.tag)"
                         " FROM image_tags t WHERE t.image_id = images.id)"
                         " FROM images WHERE id = ? AND deleted = 0",
                         MS_P_STR(id));
    if (rc < 0)
        return rc;
    if (r->nrows == 0) {
        ms_result_free(r);
        return -ENOENT;
    }
    image_t *img = image_from_row(r, 0);
    bool loaded = props_tags_from_json(img, ms_cell(r, 0, 19), ms_cell(r, 0, 20));
    ms_result_free(r);
    rc = loaded ? 0 : load_props_tags(img);
    if (rc < 0) {
        image_free(img);
        return rc;
    }
    *out = img;
    return 0;
}

int
image_db_id_used(const char *id, bool *used)
{
    ms_result *r = NULL;
    int rc = MS_DB_QUERY(&r, "SELECT 1 FROM images WHERE id = ?", MS_P_STR(id));
    if (rc < 0)
        return rc;
    *used = r->nrows > 0;
    ms_result_free(r);
    return 0;
}

static ms_param
p_ll_or_null(long long v)
{
    return v < 0 ? MS_P_NULL : MS_P_INT(v);
}

static int
write_props_tags(const image_t *img)
{
    int rc = MS_DB_QUERY(NULL, "DELETE FROM image_properties WHERE image_id = ?",
                         MS_P_STR(img->id));
    const char *k;
    json_t *v;
    json_object_foreach(img->props, k, v) {
        if (rc < 0)
            break;
        rc = MS_DB_QUERY(NULL, "INSERT INTO image_properties (image_id, name, value)"
                               " VALUES (?, ?, ?)",
                         MS_P_STR(img->id), MS_P_STR(k), MS_P_STR(json_string_value(v)));
    }
    if (rc < 0)
        return rc;
    /* Tags keep their creation time, so order is stable across saves. */
    ms_result *r = NULL;
    rc = MS_DB_QUERY(&r, "SELECT tag FROM image_tags WHERE image_id = ?", MS_P_STR(img->id));
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < r->nrows && rc == 0; i++) {
        bool keep = false;
        size_t j;
        json_t *t;
        json_array_foreach(img->tags, j, t) {
            if (strcmp(json_string_value(t), ms_cell(r, i, 0)) == 0)
                keep = true;
        }
        if (!keep)
            rc = MS_DB_QUERY(NULL, "DELETE FROM image_tags WHERE image_id = ? AND tag = ?",
                             MS_P_STR(img->id), MS_P_STR(ms_cell(r, i, 0)));
    }
    ms_result_free(r);
    size_t j;
    json_t *t;
    long long seq = image_now();
    json_array_foreach(img->tags, j, t) {
        if (rc < 0)
            break;
        rc = MS_DB_QUERY(NULL, "INSERT IGNORE INTO image_tags (image_id, tag, created_at)"
                               " VALUES (?, ?, ?)",
                         MS_P_STR(img->id), MS_P_STR(json_string_value(t)),
                         MS_P_INT(seq + (long long)j));
    }
    return rc;
}

int
image_db_insert(const image_t *img)
{
    int rc = ms_db_begin();
    if (rc < 0)
        return rc;
    rc = MS_DB_QUERY(NULL,
                     "INSERT INTO images (id, name, status, visibility, protected, os_hidden,"
                     " owner, disk_format, container_format, min_disk, min_ram, created_at,"
                     " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                     MS_P_STR(img->id), MS_P_STR(img->name), MS_P_STR(img->status),
                     MS_P_STR(img->visibility), MS_P_BOOL(img->protected_),
                     MS_P_BOOL(img->os_hidden), MS_P_STR(img->owner),
                     MS_P_STR(img->disk_format), MS_P_STR(img->container_format),
                     MS_P_INT(img->min_disk), MS_P_INT(img->min_ram),
                     MS_P_INT(img->created_at), MS_P_INT(img->updated_at));
    if (rc == 0)
        rc = write_props_tags(img);
    if (rc == 0)
        rc = ms_db_commit();
    else
        ms_db_rollback();
    return rc;
}

int
image_db_save(const image_t *img)
{
    int rc = ms_db_begin();
    if (rc < 0)
        return rc;
    ms_result *r = NULL;
    rc = MS_DB_QUERY(&r,
                     "UPDATE images SET name = ?, visibility = ?, protected = ?, os_hidden = ?,"
                     " owner = ?, disk_format = ?, container_format = ?, min_disk = ?,"
                     " min_ram = ?, updated_at = ? WHERE id = ? AND deleted = 0",
                     MS_P_STR(img->name), MS_P_STR(img->visibility),
                     MS_P_BOOL(img->protected_), MS_P_BOOL(img->os_hidden),
                     MS_P_STR(img->owner), MS_P_STR(img->disk_format),
                     MS_P_STR(img->container_format), MS_P_INT(img->min_disk),
                     MS_P_INT(img->min_ram), MS_P_INT(img->updated_at), MS_P_STR(img->id));
    ms_result_free(r);
    if (rc == 0)
        rc = write_props_tags(img);
    if (rc == 0)
        rc = ms_db_commit();
    else
        ms_db_rollback();
    return rc;
}

int
image_db_transition(const char *id, const char *from, const char *to)
{
    ms_result *r = NULL;
    int rc = MS_DB_QUERY(&r, "UPDATE images SET status = ?, updated_at = ?"
                             " WHERE id = ? AND status = ? AND deleted = 0",
                         MS_P_STR(to), MS_P_INT(image_now()), MS_P_STR(id), MS_P_STR(from));
    if (rc == 0 && r->affected == 0)
        rc = -EBUSY;
    ms_result_free(r);
    return rc;
}

int
image_db_set_data(const char *id, const char *from, const char *to, long long size,
                  long long virtual_size, const char *md5, const char *sha512,
                  const char *detected_format)
{
    ms_result *r = NULL;
    int rc = MS_DB_QUERY(&r,
                         "UPDATE images SET status = ?, size = ?, virtual_size = ?,"
                         " checksum = ?, os_hash_algo = ?, os_hash_value = ?,"
                         " detected_format = ?, updated_at = ?"
                         " WHERE id = ? AND status = ? AND deleted = 0",
                         MS_P_STR(to), MS_P_INT(size), p_ll_or_null(virtual_size),
                         MS_P_STR(md5), MS_P_STR(sha512 ? "sha512" : NULL), MS_P_STR(sha512),
                         MS_P_STR(detected_format), MS_P_INT(image_now()), MS_P_STR(id),
                         MS_P_STR(from));
    if (rc == 0 && r->affected == 0)
        rc = -EBUSY;
    ms_result_free(r);
    return rc;
}

int
image_db_clear_data(const char *id, const char *from)
{
    ms_result *r = NULL;
    int rc = MS_DB_QUERY(&r,
                         "UPDATE images SET status = 'queued', size = NULL,"
                         " virtual_size = NULL, checksum = NULL, os_hash_algo = NULL,"
                         " os_hash_value = NULL, detected_format = NULL, updated_at = ?"
                         " WHERE id = ? AND status = ? AND deleted = 0",
                         MS_P_INT(image_now()), MS_P_STR(id), MS_P_STR(from));
    if (rc == 0 && r->affected == 0)
        rc = -EBUSY;
    ms_result_free(r);
    return rc;
}

int
image_db_soft_delete(const char *id)
{
    int rc = ms_db_begin();
    if (rc < 0)
        return rc;
    long long now = image_now();
    ms_result *r = NULL;
    rc = MS_DB_QUERY(&r, "UPDATE images SET deleted = 1, status = 'deleted', deleted_at = ?,"
                         " updated_at = ? WHERE id = ? AND deleted = 0",
                     MS_P_INT(now), MS_P_INT(now), MS_P_STR(id));
    if (rc == 0 && r->affected == 0)
        rc = -ENOENT;
    ms_result_free(r);
    if (rc == 0)
        rc = MS_DB_QUERY(NULL, "DELETE FROM image_properties WHERE image_id = ?",
                         MS_P_STR(id));
    if (rc == 0)
        rc = MS_DB_QUERY(NULL, "DELETE FROM image_tags WHERE image_id = ?", MS_P_STR(id));
    if (rc == 0)
        rc = MS_DB_QUERY(NULL, "DELETE FROM image_members WHERE image_id = ?", MS_P_STR(id));
    if (rc == 0)
        rc = ms_db_commit();
    else
        ms_db_rollback();
    return rc;
}

int
image_db_tag_add(const char *id, const char *tag)
{
    return MS_DB_QUERY(NULL, "INSERT IGNORE INTO image_tags (image_id, tag, created_at)"
                             " VALUES (?, ?, ?)",
                       MS_P_STR(id), MS_P_STR(tag), MS_P_INT(image_now()));
}

int
image_db_tag_delete(const char *id, const char *tag, bool *found)
{
    ms_result *r = NULL;
    int rc = MS_DB_QUERY(&r, "DELETE FROM image_tags WHERE image_id = ? AND tag = ?",
                         MS_P_STR(id), MS_P_STR(tag));
    if (rc == 0)
        *found = r->affected > 0;
    ms_result_free(r);
    return rc;
}

int
image_db_touch(const char *id)
{
    return MS_DB_QUERY(NULL, "UPDATE images SET updated_at = ? WHERE id = ?",
                       MS_P_INT(image_now()), MS_P_STR(id));
}

int
image_db_owner_usage(const char *owner, long long *count, long long *bytes)
{
    ms_result *r = NULL;
    int rc = MS_DB_QUERY(&r, "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM images"
                             " WHERE owner = ? AND deleted = 0",
                         MS_P_STR(owner));
    if (rc < 0)
        return rc;
    *count = ms_cell_int(r, 0, 0);
    *bytes = ms_cell_int(r, 0, 1);
    ms_result_free(r);
    return 0;
}

int
image_db_reset_stuck(long long *reset)
{
    ms_result *r = NULL;
    *reset = 0;
    int rc = MS_DB_QUERY0(&r, "UPDATE images SET status = 'queued', size = NULL,"
                              " checksum = NULL, os_hash_algo = NULL, os_hash_value = NULL,"
                              " virtual_size = NULL WHERE status = 'saving' AND deleted = 0");
    if (rc < 0)
        return rc;
    *reset += (long long)r->affected;
    ms_result_free(r);
    r = NULL;
    return 0;
}

int
image_db_ids_in_status(const char *status, char ***ids, size_t *n)
{
    ms_result *r = NULL;
    *ids = NULL;
    *n = 0;
    int rc = MS_DB_QUERY(&r, "SELECT id FROM images WHERE status = ? AND deleted = 0",
                         MS_P_STR(status));
    if (rc < 0)
        return rc;
    *ids = ms_calloc(r->nrows + 1, sizeof(char *));
    for (size_t i = 0; i < r->nrows; i++)
        (*ids)[i] = ms_strdup(ms_cell(r, i, 0));
    *n = r->nrows;
    ms_result_free(r);
    return 0;
}

int
image_db_backups(const char *instance_uuid, const char *backup_type, char ***ids, size_t *n)
{
    ms_result *r = NULL;
    *ids = NULL;
    *n = 0;
    int rc = MS_DB_QUERY(&r,
                         "SELECT i.id FROM images i"
                         " JOIN image_properties t ON t.image_id = i.id"
                         "  AND t.name = 'image_type' AND t.value = 'backup'"
                         " JOIN image_properties u ON u.image_id = i.id"
                         "  AND u.name = 'instance_uuid' AND u.value = ?"
                         " JOIN image_properties b ON b.image_id = i.id"
                         "  AND b.name = 'backup_type' AND b.value = ?"
                         " WHERE i.deleted = 0 AND i.status <> 'killed'"
                         " ORDER BY i.created_at DESC, i.id DESC",
                         MS_P_STR(instance_uuid), MS_P_STR(backup_type));
    if (rc < 0)
        return rc;
    *ids = ms_calloc(r->nrows + 1, sizeof(char *));
    for (size_t i = 0; i < r->nrows; i++)
        (*ids)[i] = ms_strdup(ms_cell(r, i, 0));
    *n = r->nrows;
    ms_result_free(r);
    return 0;
}

/* ---- listing ---- */

static pthread_mutex_t intern_lock = PTHREAD_MUTEX_INITIALIZER;
static char **interned;
static size_t ninterned;
#define INTERN_MAX 4096

/* A stable copy of sql, the same pointer for the same text; NULL when the
 * table is full (too many distinct query shapes). */
static const char *
sql_intern(const char *sql)
{
    const char *found = NULL;
    pthread_mutex_lock(&intern_lock);
    for (size_t i = 0; i < ninterned; i++) {
        if (strcmp(interned[i], sql) == 0) {
            found = interned[i];
            break;
        }
    }
    if (!found && ninterned < INTERN_MAX) {
        interned = ms_realloc(interned, (ninterned + 1) * sizeof(char *));
        interned[ninterned] = ms_strdup(sql);
        found = interned[ninterned++];
    }
    pthread_mutex_unlock(&intern_lock);
    return found;
}

#define MAX_PARAMS 256

typedef struct {
    ms_buf sql;
    ms_param p[MAX_PARAMS];
    size_t n;
    bool overflow;
} qb;

static void
qb_param(qb *b, ms_param p)
{
    if (b->n == MAX_PARAMS) {
        b->overflow = true;
        return;
    }
    b->p[b->n++] = p;
}

/* The marker's value for a sort expression, with the same COALESCE. */
static ms_param
marker_value(const image_t *m, const char *key, char numbuf[32])
{
    (void)numbuf;
    if (strcmp(key, "name") == 0)
        return MS_P_STR(m->name ? m->name : "");
    if (strcmp(key, "status") == 0)
        return MS_P_STR(m->status);
    if (strcmp(key, "container_format") == 0)
        return MS_P_STR(m->container_format ? m->container_format : "");
    if (strcmp(key, "disk_format") == 0)
        return MS_P_STR(m->disk_format ? m->disk_format : "");
    if (strcmp(key, "size") == 0)
        return MS_P_INT(m->size);
    if (strcmp(key, "created_at") == 0)
        return MS_P_INT(m->created_at);
    if (strcmp(key, "updated_at") == 0)
        return MS_P_INT(m->updated_at);
    return MS_P_STR(m->id);
}

int
image_db_list(const image_query *q, image_t ***out, size_t *n)
{
    qb b = {0};
    *out = NULL;
    *n = 0;
    ms_buf_adds(&b.sql, "SELECT " ICOLS " FROM images i WHERE i.deleted = 0"
                        " AND i.status <> 'killed'");
    bool regular = !q->admin;
    if (regular) {
        ms_buf_adds(&b.sql, " AND (i.visibility IN ('public', 'community') OR i.owner = ?"
                            " OR (i.visibility = 'shared' AND EXISTS (SELECT 1 FROM"
                            " image_members m WHERE m.image_id = i.id AND m.member = ?");
        qb_param(&b, MS_P_STR(q->project));
        qb_param(&b, MS_P_STR(q->project));
        if (strcmp(q->member_status, "all") != 0) {
            ms_buf_adds(&b.sql, " AND m.status = ?");
            qb_param(&b, MS_P_STR(q->member_status));
        }
        ms_buf_adds(&b.sql, ")))");
    }
    if (q->visibility) {
        if (strcmp(q->visibility, "all") != 0) {
            ms_buf_adds(&b.sql, " AND i.visibility = ?");
            qb_param(&b, MS_P_STR(q->visibility));
        }
    } else {
        ms_buf_adds(&b.sql, " AND (i.owner = ? OR i.visibility <> 'community')");
        qb_param(&b, MS_P_STR(q->project));
    }
    for (int i = 0; i < q->nconds; i++) {
        const image_cond *c = &q->conds[i];
        if (strcmp(c->op, "IN") == 0) {
            ms_buf_addf(&b.sql, " AND %s IN (", c->col);
            for (int k = 0; k < c->nvals; k++) {
                ms_buf_adds(&b.sql, k ? ", ?" : "?");
                qb_param(&b, MS_P_STR(c->vals[k]));
            }
            ms_buf_adds(&b.sql, ")");
        } else {
            ms_buf_addf(&b.sql, " AND %s %s ?", c->col, c->op);
            qb_param(&b, c->is_int ? MS_P_INT(c->ival) : MS_P_STR(c->vals[0]));
        }
    }
    for (int i = 0; i < q->ntags; i++) {
        ms_buf_adds(&b.sql, " AND EXISTS (SELECT 1 FROM image_tags t WHERE t.image_id = i.id"
                            " AND t.tag = ?)");
        qb_param(&b, MS_P_STR(q->tags[i]));
    }
    for (int i = 0; i < q->nprops; i++) {
        ms_buf_adds(&b.sql, " AND EXISTS (SELECT 1 FROM image_properties p WHERE"
                            " p.image_id = i.id AND p.name = ? AND p.value = ?)");
        qb_param(&b, MS_P_STR(q->prop_keys[i]));
        qb_param(&b, MS_P_STR(q->prop_vals[i]));
    }
    if (q->marker) {
        /* keyset: (k1 > v1) OR (k1 = v1 AND k2 > v2) OR ... */
        char numbuf[32];
        ms_buf_adds(&b.sql, " AND (");
        for (int i = 0; i < q->nsort; i++) {
            ms_buf_adds(&b.sql, i ? " OR (" : "(");
            for (int k = 0; k < i; k++) {
                ms_buf_addf(&b.sql, "%s = ? AND ", q->sort_cols[k]);
                qb_param(&b, marker_value(q->marker, q->sort_keys[k], numbuf));
            }
            ms_buf_addf(&b.sql, "%s %s ?)", q->sort_cols[i], q->sort_desc[i] ? "<" : ">");
            qb_param(&b, marker_value(q->marker, q->sort_keys[i], numbuf));
        }
        ms_buf_adds(&b.sql, ")");
    }
    ms_buf_adds(&b.sql, " ORDER BY ");
    for (int i = 0; i < q->nsort; i++)
        ms_buf_addf(&b.sql, "%s%s %s", i ? ", " : "", q->sort_cols[i],
                    q->sort_desc[i] ? "DESC" : "ASC");
    ms_buf_adds(&b.sql, " LIMIT ?");
    qb_param(&b, MS_P_INT(q->limit));

    int rc;
    const char *sql = b.overflow ? NULL : sql_intern(ms_buf_cstr(&b.sql));
    ms_buf_free(&b.sql);
    if (!sql)
        return -E2BIG;
    ms_result *r = NULL;
    rc = ms_db_query(&r, sql, b.p, b.n);
    if (rc < 0)
        return rc;
    image_t **list = ms_calloc(r->nrows ? r->nrows : 1, sizeof(image_t *));
    for (size_t i = 0; i < r->nrows; i++) {
        list[i] = image_from_row(r, i);
        if (rc == 0)
            rc = load_props_tags(list[i]);
    }
    size_t count = r->nrows;
    ms_result_free(r);
    if (rc < 0) {
        for (size_t i = 0; i < count; i++)
            image_free(list[i]);
        free(list);
        return rc;
    }
    *out = list;
    *n = count;
    return 0;
}

/* ---- members ---- */

static void
member_from_row(const ms_result *r, size_t i, image_member_t *m)
{
    snprintf(m->image_id, sizeof(m->image_id), "%s", ms_cell(r, i, 0));
    snprintf(m->member, sizeof(m->member), "%s", ms_cell(r, i, 1));
    snprintf(m->status, sizeof(m->status), "%s", ms_cell(r, i, 2));
    m->created_at = ms_cell_int(r, i, 3);
    m->updated_at = ms_cell_int(r, i, 4);
}

int
image_db_members(const char *image_id, image_member_t **out, size_t *n)
{
    ms_result *r = NULL;
    int rc = MS_DB_QUERY(&r, "SELECT image_id, member, status, created_at, updated_at"
                             " FROM image_members WHERE image_id = ? ORDER BY created_at",
                         MS_P_STR(image_id));
    if (rc < 0)
        return rc;
    *out = ms_calloc(r->nrows ? r->nrows : 1, sizeof(image_member_t));
    for (size_t i = 0; i < r->nrows; i++)
        member_from_row(r, i, &(*out)[i]);
    *n = r->nrows;
    ms_result_free(r);
    return 0;
}

int
image_db_member_get(const char *image_id, const char *member, image_member_t *out)
{
    ms_result *r = NULL;
    int rc = MS_DB_QUERY(&r, "SELECT image_id, member, status, created_at, updated_at"
                             " FROM image_members WHERE image_id = ? AND member = ?",
                         MS_P_STR(image_id), MS_P_STR(member));
    if (rc < 0)
        return rc;
    if (r->nrows == 0)
        rc = -ENOENT;
    else
        member_from_row(r, 0, out);
    ms_result_free(r);
    return rc;
}

int
image_db_member_add(const char *image_id, const char *member, int64_t now)
{
    return MS_DB_QUERY(NULL, "INSERT INTO image_members (image_id, member, status,"
                             " created_at, updated_at) VALUES (?, ?, 'pending', ?, ?)",
                       MS_P_STR(image_id), MS_P_STR(member), MS_P_INT(now), MS_P_INT(now));
}

int
image_db_member_set(const char *image_id, const char *member, const char *status,
                    int64_t now)
{
    ms_result *r = NULL;
    int rc = MS_DB_QUERY(&r, "UPDATE image_members SET status = ?, updated_at = ?"
                             " WHERE image_id = ? AND member = ?",
                         MS_P_STR(status), MS_P_INT(now), MS_P_STR(image_id),
                         MS_P_STR(member));
    ms_result_free(r);
    return rc;
}

int
image_db_member_delete(const char *image_id, const char *member)
{
    ms_result *r = NULL;
    int rc = MS_DB_QUERY(&r, "DELETE FROM image_members WHERE image_id = ? AND member = ?",
                         MS_P_STR(image_id), MS_P_STR(member));
    if (rc == 0 && r->affected == 0)
        rc = -ENOENT;
    ms_result_free(r);
    return rc;
}

int
image_db_member_count(const char *image_id, long long *n)
{
    ms_result *r = NULL;
    int rc = MS_DB_QUERY(&r, "SELECT COUNT(*) FROM image_members WHERE image_id = ?",
                         MS_P_STR(image_id));
    if (rc < 0)
        return rc;
    *n = ms_cell_int(r, 0, 0);
    ms_result_free(r);
    return 0;
}
