/* SQL for keypairs: per user, unique by name. */
#include "compute.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define KP_COLS "id, user_id, name, fingerprint, public_key, type, created_at"

void
compute_keypair_clear(compute_keypair *k)
{
    free(k->public_key);
    k->public_key = NULL;
}

static void
kp_from_row(const ms_result *r, size_t i, compute_keypair *k)
{
    memset(k, 0, sizeof(*k));
    k->id = ms_cell_int(r, i, 0);
    snprintf(k->user_id, sizeof(k->user_id), "%s", ms_cell(r, i, 1));
    snprintf(k->name, sizeof(k->name), "%s", ms_cell(r, i, 2));
    snprintf(k->fingerprint, sizeof(k->fingerprint), "%s", ms_cell(r, i, 3));
    k->public_key = ms_strdup(ms_cell(r, i, 4));
    snprintf(k->type, sizeof(k->type), "%s", ms_cell(r, i, 5));
    k->created_at = ms_cell_int(r, i, 6);
}

int
compute_keypair_db_get(const char *user_id, const char *name, compute_keypair *out)
{
    ms_result *r = NULL;
    int rc = MS_DB_QUERY(&r,
                         "SELECT " KP_COLS " FROM compute_keypairs WHERE user_id = ? AND"
                         " name = ?",
                         MS_P_STR(user_id), MS_P_STR(name));
    if (rc < 0)
        return rc;
    if (r->nrows == 0)
        rc = -ENOENT;
    else
        kp_from_row(r, 0, out);
    ms_result_free(r);
    return rc;
}

int
compute_keypair_db_insert(compute_keypair *k)
{
    ms_result *r = NULL;
    int rc = MS_DB_QUERY(&r,
                         "INSERT INTO compute_keypairs (user_id, name, fingerprint,"
                         " public_key, type, created_at) VALUES (?,?,?,?,?,?)",
                         MS_P_STR(k->user_id), MS_P_STR(k->name), MS_P_STR(k->fingerprint),
                         MS_P_STR(k->public_key), MS_P_STR(k->type), MS_P_INT(k->created_at));
    if (rc == 0)
        k->id = (long long)r->insert_id;
    ms_result_free(r);
    return rc;
}

int
compute_keypair_db_delete(const char *user_id, const char *name, bool *found)
{
    ms_result *r = NULL;
    int rc = MS_DB_QUERY(&r, "DELETE FROM compute_keypairs WHERE user_id = ? AND name = ?",
                         MS_P_STR(user_id), MS_P_STR(name));
    if (rc == 0)
        *found = r->affected > 0;
    ms_result_free(r);
    return rc;
}

int
compute_keypair_db_list(const char *user_id, const char *marker, int limit,
                        compute_keypair **out, size_t *n)
{
    ms_result *r = NULL;
    int rc = MS_DB_QUERY(&r,
                         "SELECT " KP_COLS " FROM compute_keypairs WHERE user_id = ?"
                         " AND (? IS NULL OR name > ?) ORDER BY name LIMIT ?",
                         MS_P_STR(user_id), MS_P_STR(marker), MS_P_STR(marker),
                         MS_P_INT(limit < 0 ? (long long)1 << 62 : limit));
    if (rc < 0)
        return rc;
    *out = ms_calloc(r->nrows ? r->nrows : 1, sizeof(**out));
    for (size_t i = 0; i < r->nrows; i++)
        kp_from_row(r, i, &(*out)[i]);
    *n = r->nrows;
    ms_result_free(r);
    return 0;
}

int
compute_keypair_db_count(const char *user_id, long long *n)
{
    ms_result *r = NULL;
    int rc = MS_DB_QUERY(&r, "SELECT COUNT(*) FROM compute_keypairs WHERE user_id = ?",
                         MS_P_STR(user_id));
    if (rc == 0)
        *n = ms_cell_int(r, 0, 0);
    ms_result_free(r);
    return rc;
}
