/* SQL for host aggregates: compute_aggregates (soft-deleted: deleted = id,
 * so a name can be reused), their hosts and metadata. The availability
 * zone is kept both in its column and as the "availability_zone" metadata
 * key, as Nova shows it. */
#include "compute.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

void
compute_aggregate_clear(compute_aggregate *a)
{
    json_decref(a->hosts);
    json_decref(a->metadata);
    memset(a, 0, sizeof(*a));
}

static int
agg_load(long long id, compute_aggregate *out)
{
    ms_result *r = NULL;
    int rc = MS_DB_QUERY(&r,
                         "SELECT id, name, availability_zone, created_at, updated_at, uuid"
                         " FROM compute_aggregates WHERE id = ? AND deleted = 0",
                         MS_P_INT(id));
    if (rc < 0)
        return rc;
    if (r->nrows == 0) {
        ms_result_free(r);
        return -ENOENT;
    }
    memset(out, 0, sizeof(*out));
    out->id = ms_cell_int(r, 0, 0);
    snprintf(out->name, sizeof(out->name), "%s", ms_cell(r, 0, 1));
    out->has_az = ms_cell(r, 0, 2) != NULL;
    snprintf(out->availability_zone, sizeof(out->availability_zone), "%s",
             out->has_az ? ms_cell(r, 0, 2) : "");
    out->created_at = ms_cell_int(r, 0, 3);
    out->updated_at = ms_cell_int(r, 0, 4);
    snprintf(out->uuid, sizeof(out->uuid), "%s", ms_cell(r, 0, 5) ? ms_cell(r, 0, 5) : "");
    ms_result_free(r);
    out->hosts = json_array();
    out->metadata = json_object();
    if ((rc = MS_DB_QUERY(&r, "SELECT host FROM compute_aggregate_hosts WHERE aggregate_id = ?"
                              " ORDER BY host",
                          MS_P_INT(id))) < 0)
        goto fail;
    for (size_t k = 0; k < r->nrows; k++)
        json_array_append_new(out->hosts, json_string(ms_cell(r, k, 0)));
    ms_result_free(r);
    if ((rc = MS_DB_QUERY(&r, "SELECT meta_key, meta_value FROM compute_aggregate_metadata"
                              " WHERE aggregate_id = ? ORDER BY meta_key",
                          MS_P_INT(id))) < 0)
        goto fail;
    for (size_t k = 0; k < r->nrows; k++)
        json_object_set_new(out->metadata, ms_cell(r, k, 0), json_string(ms_cell(r, k, 1)));
    ms_result_free(r);
    return 0;
fail:
    compute_aggregate_clear(out);
    return rc;
}

int
compute_aggregate_db_get(long long id, compute_aggregate *out)
{
    return agg_load(id, out);
}

int
compute_aggregate_db_list(compute_aggregate **out, size_t *n)
{
    ms_result *r = NULL;
    int rc = MS_DB_QUERY0(&r, "SELECT id FROM compute_aggregates WHERE deleted = 0 ORDER BY id");
    if (rc < 0)
        return rc;
    *out = ms_calloc(r->nrows + 1, sizeof(**out));
    *n = 0;
    for (size_t k = 0; k < r->nrows && rc == 0; k++) {
        rc = agg_load(ms_cell_int(r, k, 0), &(*out)[*n]);
        if (rc == 0)
            (*n)++;
        else if (rc == -ENOENT)
            rc = 0;   /* deleted meanwhile */
    }
    ms_result_free(r);
    return rc;
}

static int
name_taken(const char *name, long long except, bool *taken)
{
    ms_result *r = NULL;
    int rc = MS_DB_QUERY(&r,
                         "SELECT id FROM compute_aggregates WHERE name = ? AND deleted = 0"
                         " AND id <> ?",
                         MS_P_STR(name), MS_P_INT(except));
    if (rc == 0)
        *taken = r->nrows > 0;
    ms_result_free(r);
    return rc;
}

static int
set_az_meta(long long id, const char *az)
{
    if (!az)
        return MS_DB_QUERY(NULL,
                           "DELETE FROM compute_aggregate_metadata WHERE aggregate_id = ?"
                           " AND meta_key = 'availability_zone'",
                           MS_P_INT(id));
    return compute_aggregate_db_meta_set(id, "availability_zone", az);
}

int
compute_aggregate_db_create(const char *name, const char *az, long long *id)
{
    int rc = ms_db_begin();
    if (rc < 0)
        return rc;
    bool taken = false;
    ms_result *r = NULL;
    char uuid[37];
    ms_uuid(uuid);
    if ((rc = name_taken(name, 0, &taken)) < 0)
        goto fail;
    if (taken) {
        rc = -EEXIST;
        goto fail;
    }
    if ((rc = MS_DB_QUERY(&r,
                          "INSERT INTO compute_aggregates (uuid, name, availability_zone,"
                          " created_at) VALUES (?,?,?,?)",
                          MS_P_STR(uuid), MS_P_STR(name), MS_P_STR(az),
                          MS_P_INT(compute_now()))) < 0)
        goto fail;
    *id = (long long)r->insert_id;
    ms_result_free(r);
    if (az && (rc = set_az_meta(*id, az)) < 0)
        goto fail;
    return ms_db_commit();
fail:
    ms_db_rollback();
    return rc;
}

int
compute_aggregate_db_update(long long id, const char *name, bool set_az, const char *az)
{
    int rc = ms_db_begin();
    if (rc < 0)
        return rc;
    bool taken = false;
    if (name && ((rc = name_taken(name, id, &taken)) < 0 || (taken && (rc = -EEXIST))))
        goto fail;
    if ((rc = MS_DB_QUERY(NULL,
                          "UPDATE compute_aggregates SET name = COALESCE(?, name),"
                          " availability_zone = IF(?, ?, availability_zone), updated_at = ?"
                          " WHERE id = ? AND deleted = 0",
                          MS_P_STR(name), MS_P_BOOL(set_az), MS_P_STR(az),
                          MS_P_INT(compute_now()), MS_P_INT(id))) < 0)
        goto fail;
    if (set_az && (rc = set_az_meta(id, az)) < 0)
        goto fail;
    return ms_db_commit();
fail:
    ms_db_rollback();
    return rc;
}

int
compute_aggregate_db_delete(long long id)
{
    int rc = ms_db_begin();
    if (rc < 0)
        return rc;
    if ((rc = MS_DB_QUERY(NULL, "UPDATE compute_aggregates SET deleted = id, updated_at = ?"
                                " WHERE id = ? AND deleted = 0",
                          MS_P_INT(compute_now()), MS_P_INT(id))) < 0 ||
        (rc = MS_DB_QUERY(NULL, "DELETE FROM compute_aggregate_metadata WHERE aggregate_id = ?",
                          MS_P_INT(id))) < 0) {
        ms_db_rollback();
        return rc;
    }
    return ms_db_commit();
}

int
compute_aggregate_db_host(long long id, const char *host, bool add, bool *changed)
{
    ms_result *r = NULL;
    int rc = add ? MS_DB_QUERY(&r,
                               "INSERT IGNORE INTO compute_aggregate_hosts (aggregate_id, host)"
                               " VALUES (?,?)",
                               MS_P_INT(id), MS_P_STR(host))
                 : MS_DB_QUERY(&r,
                               "DELETE FROM compute_aggregate_hosts WHERE aggregate_id = ?"
                               " AND host = ?",
                               MS_P_INT(id), MS_P_STR(host));
    if (rc == 0)
        *changed = r->affected > 0;
    ms_result_free(r);
    if (rc == 0 && *changed)
        rc = MS_DB_QUERY(NULL, "UPDATE compute_aggregates SET updated_at = ? WHERE id = ?",
                         MS_P_INT(compute_now()), MS_P_INT(id));
    return rc;
}

int
compute_aggregate_db_meta_set(long long id, const char *key, const char *value)
{
    if (!value)
        return MS_DB_QUERY(NULL,
                           "DELETE FROM compute_aggregate_metadata WHERE aggregate_id = ?"
                           " AND meta_key = ?",
                           MS_P_INT(id), MS_P_STR(key));
    return MS_DB_QUERY(NULL,
                       "INSERT INTO compute_aggregate_metadata (aggregate_id, meta_key,"
                       " meta_value) VALUES (?,?,?) ON DUPLICATE KEY UPDATE"
                       " meta_value = VALUES(meta_value)",
                       MS_P_INT(id), MS_P_STR(key), MS_P_STR(value));
}

int
compute_aggregate_db_cache_images(long long id, json_t *images, const char *project)
{
    compute_aggregate a;
    int rc = compute_aggregate_db_get(id, &a);
    if (rc < 0)
        return rc;
    json_t *payload = json_pack("{s:O,s:s}", "images", images, "project_id", project);
    size_t n = json_array_size(a.hosts);
    long long *tids = ms_calloc(n + 1, sizeof(*tids));
    if ((rc = ms_db_begin()) < 0)
        goto out;
    for (size_t k = 0; k < n && rc == 0; k++)
        rc = ms_task_enqueue("compute", json_string_value(json_array_get(a.hosts, k)),
                             "cache_images", a.uuid, payload, &tids[k]);
    if (rc < 0) {
        ms_db_rollback();
        goto out;
    }
    if ((rc = ms_db_commit()) < 0)
        goto out;
    for (size_t k = 0; k < n; k++)
        ms_task_publish("compute", json_string_value(json_array_get(a.hosts, k)), tids[k]);
out:
    free(tids);
    json_decref(payload);
    compute_aggregate_clear(&a);
    return rc;
}
