/* SQL of application credentials and their roles. */
#include "tokens_internal.h"

#include <errno.h>
#include <string.h>

#define AC_COLS                                                                          \
    "SELECT id, name, user_id, project_id, description, expires_at, unrestricted,"       \
    " secret_hash FROM id_app_creds"

static void
db_time(int64_t us, char out[32])
{
    ms_time_iso(us, true, out);
    out[10] = ' ';
    out[26] = '\0';
}

int
app_cred_db_insert(const identity_app_cred *ac, const char *description)
{
    char now[32], exp[32];
    db_time(identity_now_us(), now);
    if (ac->expires_at)
        db_time(ac->expires_at, exp);
    int rc = ms_db_begin();
    if (rc < 0)
        return rc;
    rc = MS_DB_QUERY(NULL,
                     "INSERT INTO id_app_creds (id, name, user_id, project_id, description,"
                     " secret_hash, expires_at, unrestricted, created_at)"
                     " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                     MS_P_STR(ac->id), MS_P_STR(ac->name), MS_P_STR(ac->user_id),
                     MS_P_STR(ac->project_id), MS_P_STR(description),
                     MS_P_STR(ac->secret_hash), MS_P_STR(ac->expires_at ? exp : NULL),
                     MS_P_BOOL(ac->unrestricted), MS_P_STR(now));
    for (int i = 0; rc == 0 && i < ac->nroles; i++)
        rc = MS_DB_QUERY(NULL,
                         "INSERT INTO id_app_cred_roles (app_cred_id, role_id) VALUES (?, ?)",
                         MS_P_STR(ac->id), MS_P_STR(ac->roles[i].id));
    if (rc < 0) {
        ms_db_rollback();
        return rc;
    }
    return ms_db_commit();
}

int
app_cred_db_list(const char *user_id, const char *name, ms_result **r)
{
    return MS_DB_QUERY(r, AC_COLS " WHERE user_id = ? AND (? IS NULL OR name = ?) ORDER BY name",
                       MS_P_STR(user_id), MS_P_STR(name), MS_P_STR(name));
}

int
app_cred_db_get(const char *id, const char *name, const char *user_id, ms_result **r)
{
    if (id)
        return MS_DB_QUERY(r, AC_COLS " WHERE id = ?", MS_P_STR(id));
    return MS_DB_QUERY(r, AC_COLS " WHERE user_id = ? AND name = ?", MS_P_STR(user_id),
                       MS_P_STR(name));
}

int
app_cred_db_roles(const char *id, ms_result **r)
{
    return MS_DB_QUERY(r,
                       "SELECT r.id, r.name, r.domain_id FROM id_app_cred_roles a"
                       " JOIN id_roles r ON r.id = a.role_id WHERE a.app_cred_id = ?"
                       " ORDER BY r.name",
                       MS_P_STR(id));
}

int
app_cred_db_delete(const char *user_id, const char *id)
{
    int rc = ms_db_begin();
    if (rc < 0)
        return rc;
    ms_result *r = NULL;
    rc = MS_DB_QUERY(&r, "DELETE FROM id_app_creds WHERE id = ? AND user_id = ?", MS_P_STR(id),
                     MS_P_STR(user_id));
    if (rc == 0 && (!r || !r->affected))
        rc = -ENOENT;
    ms_result_free(r);
    if (rc == 0)
        rc = MS_DB_QUERY(NULL, "DELETE FROM id_app_cred_roles WHERE app_cred_id = ?",
                         MS_P_STR(id));
    if (rc < 0) {
        ms_db_rollback();
        return rc;
    }
    return ms_db_commit();
}
