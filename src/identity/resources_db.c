/* SQL of domains, projects (and their tags) and users, the lookups the token
 * side uses (identity_*_lookup) and the idempotent creators bootstrap uses
 * (identity_ensure_domain/project/user). Deletes remove what hangs off the
 * object in the same transaction (tags, memberships, role assignments,
 * application credentials), as Keystone's managers do through their
 * callbacks, so no orphan rows remain. Optional list filters are
 * "(? IS NULL OR col = ?)" so each query stays one prepared statement. */
#include "resources_db.h"

#include <stdio.h>
#include <string.h>

#define DOMAIN_COLS "SELECT id, name, description, enabled, extra FROM id_domains"
#define PROJECT_COLS                                                                     \
    "SELECT id, name, domain_id, parent_id, description, enabled, extra FROM id_projects"
#define USER_COLS                                                                        \
    "SELECT id, name, domain_id, enabled, default_project_id, description, email,"      \
    " password_hash, password_expires_at, options, extra FROM id_users"

void
res_db_time(int64_t us, char out[32])
{
    ms_time_iso(us, true, out);
    out[10] = ' ';
    out[26] = '\0';
}

static ms_param
enabled_param(int enabled)
{
    return enabled < 0 ? MS_P_NULL : MS_P_BOOL(enabled);
}

/* A DELETE of one row by key: -ENOENT when no row went. */
#define DELETE_ONE(sql, ...)                                                             \
    ({                                                                                   \
        ms_result *r_ = NULL;                                                            \
        int rc_ = MS_DB_QUERY(&r_, sql, __VA_ARGS__);                                    \
        if (rc_ == 0)                                                                    \
            rc_ = r_ && r_->affected ? 0 : -ENOENT;                                      \
        ms_result_free(r_);                                                              \
        rc_;                                                                             \
    })

static int
finish(int rc)
{
    if (rc < 0) {
        ms_db_rollback();
        return rc;
    }
    return ms_db_commit();
}

/* Delete an object and what hangs off it in one transaction: each of
 * deps[] takes the id as its only parameter, then `last` must remove
 * exactly one row (-ENOENT otherwise). */
static int
delete_cascade(const char *const *deps, size_t n, const char *last, const char *id)
{
    int rc = ms_db_begin();
    if (rc < 0)
        return rc;
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = MS_DB_QUERY(NULL, deps[i], MS_P_STR(id));
    if (rc == 0)
        rc = DELETE_ONE(last, MS_P_STR(id));
    return finish(rc);
}

/* Insert each tag of a JSON array (inside the caller's transaction). */
static int
insert_tags(const char *id, const json_t *tags)
{
    size_t i;
    json_t *t;
    int rc = 0;
    json_array_foreach((json_t *)tags, i, t) {
        rc = MS_DB_QUERY(NULL, "INSERT IGNORE INTO id_project_tags (project_id, tag) VALUES (?, ?)",
                         MS_P_STR(id), MS_P_STR(json_string_value(t)));
        if (rc < 0)
            break;
    }
    return rc;
}

/* ---- domains ---- */

int
res_db_domain_list(const char *name, int enabled, ms_result **r)
{
    ms_param e = enabled_param(enabled);
    return MS_DB_QUERY(r, DOMAIN_COLS " WHERE (? IS NULL OR name = ?) AND (? IS NULL OR enabled = ?)"
                          " ORDER BY name",
                       MS_P_STR(name), MS_P_STR(name), e, e);
}

int
res_db_domain_get(const char *id, ms_result **r)
{
    return MS_DB_QUERY(r, DOMAIN_COLS " WHERE id = ?", MS_P_STR(id));
}

int
res_db_domain_by_name(const char *name, ms_result **r)
{
    return MS_DB_QUERY(r, DOMAIN_COLS " WHERE name = ?", MS_P_STR(name));
}

int
res_db_domain_insert(const char *id, const char *name, const char *description,
                     bool enabled, const char *extra, const json_t *tags)
{
    char now[32];
    res_db_time(identity_now_us(), now);
    int rc = ms_db_begin();
    if (rc < 0)
        return rc;
    rc = MS_DB_QUERY(NULL,
                     "INSERT INTO id_domains (id, name, description, enabled, extra, created_at)"
                     " VALUES (?, ?, ?, ?, ?, ?)",
                     MS_P_STR(id), MS_P_STR(name), MS_P_STR(description), MS_P_BOOL(enabled),
                     MS_P_STR(extra), MS_P_STR(now));
    if (rc == 0 && tags)
        rc = insert_tags(id, tags);
    return finish(rc);
}

int
res_db_domain_update(const char *id, const char *name, const char *description,
                     bool enabled, const char *extra, const json_t *tags)
{
    int rc = ms_db_begin();
    if (rc < 0)
        return rc;
    rc = MS_DB_QUERY(NULL,
                     "UPDATE id_domains SET name = ?, description = ?, enabled = ?, extra = ?"
                     " WHERE id = ?",
                     MS_P_STR(name), MS_P_STR(description), MS_P_BOOL(enabled), MS_P_STR(extra),
                     MS_P_STR(id));
    if (rc == 0 && tags) {
        rc = MS_DB_QUERY(NULL, "DELETE FROM id_project_tags WHERE project_id = ?", MS_P_STR(id));
        if (rc == 0)
            rc = insert_tags(id, tags);
    }
    return finish(rc);
}

/* Statements of a domain delete, in dependency order; each takes the
 * domain id once. */
static const char *const domain_delete_sql[] = {
    /* application credentials of its users and for its projects */
    "DELETE FROM id_app_cred_roles WHERE app_cred_id IN (SELECT id FROM id_app_creds WHERE"
    " user_id IN (SELECT id FROM id_users WHERE domain_id = ?))",
    "DELETE FROM id_app_creds WHERE user_id IN (SELECT id FROM id_users WHERE domain_id = ?)",
    "DELETE FROM id_app_cred_roles WHERE app_cred_id IN (SELECT id FROM id_app_creds WHERE"
    " project_id IN (SELECT id FROM id_projects WHERE domain_id = ?))",
    "DELETE FROM id_app_creds WHERE project_id IN (SELECT id FROM id_projects WHERE"
    " domain_id = ?)",
    /* assignments on its projects, of its users and groups, with its roles */
    "DELETE FROM id_assignments WHERE type IN ('UserProject', 'GroupProject') AND target_id IN"
    " (SELECT id FROM id_projects WHERE domain_id = ?)",
    "DELETE FROM id_assignments WHERE type LIKE 'User%' AND actor_id IN"
    " (SELECT id FROM id_users WHERE domain_id = ?)",
    "DELETE FROM id_assignments WHERE type LIKE 'Group%' AND actor_id IN"
    " (SELECT id FROM id_groups WHERE domain_id = ?)",
    "DELETE FROM id_assignments WHERE role_id IN (SELECT id FROM id_roles WHERE domain_id = ?)",
    "DELETE FROM id_implied_roles WHERE prior_role_id IN (SELECT id FROM id_roles WHERE"
    " domain_id = ?)",
    "DELETE FROM id_implied_roles WHERE implied_role_id IN (SELECT id FROM id_roles WHERE"
    " domain_id = ?)",
    "DELETE FROM id_assignments WHERE type IN ('UserDomain', 'GroupDomain') AND target_id = ?",
    /* memberships, tags, then the objects */
    "DELETE FROM id_user_groups WHERE user_id IN (SELECT id FROM id_users WHERE domain_id = ?)",
    "DELETE FROM id_user_groups WHERE group_id IN (SELECT id FROM id_groups WHERE"
    " domain_id = ?)",
    "DELETE FROM id_project_tags WHERE project_id IN (SELECT id FROM id_projects WHERE"
    " domain_id = ?)",
    "DELETE FROM id_project_tags WHERE project_id = ?",
    "DELETE FROM id_roles WHERE domain_id = ?",
    "DELETE FROM id_users WHERE domain_id = ?",
    "DELETE FROM id_groups WHERE domain_id = ?",
    "DELETE FROM id_projects WHERE domain_id = ?",
};

int
res_db_domain_delete(const char *id)
{
    if (ms_str_empty(id))
        return -ENOENT;    /* '' would match global roles */
    return delete_cascade(domain_delete_sql, MS_ARRAY_LEN(domain_delete_sql),
                          "DELETE FROM id_domains WHERE id = ?", id);
}

/* ---- projects ---- */

int
res_db_project_list(const char *domain_id, const char *parent_id, const char *name,
                    int enabled, ms_result **r)
{
    ms_param e = enabled_param(enabled);
    return MS_DB_QUERY(r,
                       PROJECT_COLS " WHERE (? IS NULL OR domain_id = ?)"
                                    " AND (? IS NULL OR parent_id = ?)"
                                    " AND (? IS NULL OR name = ?)"
                                    " AND (? IS NULL OR enabled = ?) ORDER BY name, id",
                       MS_P_STR(domain_id), MS_P_STR(domain_id), MS_P_STR(parent_id),
                       MS_P_STR(parent_id), MS_P_STR(name), MS_P_STR(name), e, e);
}

int
res_db_project_get(const char *id, ms_result **r)
{
    return MS_DB_QUERY(r, PROJECT_COLS " WHERE id = ?", MS_P_STR(id));
}

int
res_db_project_by_name(const char *name, const char *domain_id, ms_result **r)
{
    return MS_DB_QUERY(r, PROJECT_COLS " WHERE name = ? AND domain_id = ?", MS_P_STR(name),
                       MS_P_STR(domain_id));
}

int
res_db_project_insert(const char *id, const char *name, const char *domain_id,
                      const char *parent_id, const char *description, bool enabled,
                      const char *extra, const json_t *tags)
{
    char now[32];
    res_db_time(identity_now_us(), now);
    int rc = ms_db_begin();
    if (rc < 0)
        return rc;
    rc = MS_DB_QUERY(NULL,
                     "INSERT INTO id_projects (id, name, domain_id, parent_id, description,"
                     " enabled, is_domain, extra, created_at) VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?)",
                     MS_P_STR(id), MS_P_STR(name), MS_P_STR(domain_id), MS_P_STR(parent_id),
                     MS_P_STR(description), MS_P_BOOL(enabled), MS_P_STR(extra), MS_P_STR(now));
    if (rc == 0 && tags)
        rc = insert_tags(id, tags);
    return finish(rc);
}

int
res_db_project_update(const char *id, const char *name, const char *description,
                      bool enabled, const char *extra, const json_t *tags)
{
    int rc = ms_db_begin();
    if (rc < 0)
        return rc;
    rc = MS_DB_QUERY(NULL,
                     "UPDATE id_projects SET name = ?, description = ?, enabled = ?, extra = ?"
                     " WHERE id = ?",
                     MS_P_STR(name), MS_P_STR(description), MS_P_BOOL(enabled), MS_P_STR(extra),
                     MS_P_STR(id));
    if (rc == 0 && tags) {
        rc = MS_DB_QUERY(NULL, "DELETE FROM id_project_tags WHERE project_id = ?", MS_P_STR(id));
        if (rc == 0)
            rc = insert_tags(id, tags);
    }
    return finish(rc);
}

int
res_db_project_children(const char *id, long long *total, long long *enabled)
{
    ms_result *r = NULL;
    int rc = MS_DB_QUERY(&r,
                         "SELECT COUNT(*), COALESCE(SUM(enabled), 0) FROM id_projects"
                         " WHERE parent_id = ?",
                         MS_P_STR(id));
    if (rc == 0) {
        *total = ms_cell_int(r, 0, 0);
        *enabled = ms_cell_int(r, 0, 1);
        ms_result_free(r);
    }
    return rc;
}

/* What goes with a project: its application credentials, the grants on
 * it and its tags. */
static const char *const project_delete_sql[] = {
    "DELETE FROM id_app_cred_roles WHERE app_cred_id IN"
    " (SELECT id FROM id_app_creds WHERE project_id = ?)",
    "DELETE FROM id_app_creds WHERE project_id = ?",
    "DELETE FROM id_assignments WHERE type IN ('UserProject', 'GroupProject')"
    " AND target_id = ?",
    "DELETE FROM id_project_tags WHERE project_id = ?",
};

int
res_db_project_delete(const char *id)
{
    return delete_cascade(project_delete_sql, MS_ARRAY_LEN(project_delete_sql),
                          "DELETE FROM id_projects WHERE id = ?", id);
}

int
res_db_tags(const char *id, ms_result **r)
{
    return MS_DB_QUERY(r, "SELECT tag FROM id_project_tags WHERE project_id = ? ORDER BY tag",
                       MS_P_STR(id));
}

int
res_db_tags_all(ms_result **r)
{
    return MS_DB_QUERY0(r, "SELECT project_id, tag FROM id_project_tags ORDER BY project_id, tag");
}

int
res_db_tags_set(const char *id, const json_t *tags)
{
    int rc = ms_db_begin();
    if (rc < 0)
        return rc;
    rc = MS_DB_QUERY(NULL, "DELETE FROM id_project_tags WHERE project_id = ?", MS_P_STR(id));
    if (rc == 0)
        rc = insert_tags(id, tags);
    return finish(rc);
}

int
res_db_tag_add(const char *id, const char *tag)
{
    return MS_DB_QUERY(NULL, "INSERT IGNORE INTO id_project_tags (project_id, tag) VALUES (?, ?)",
                       MS_P_STR(id), MS_P_STR(tag));
}

int
res_db_tag_delete(const char *id, const char *tag)
{
    return DELETE_ONE("DELETE FROM id_project_tags WHERE project_id = ? AND tag = ?",
                      MS_P_STR(id), MS_P_STR(tag));
}

/* ---- users ---- */

int
res_db_user_list(const char *domain_id, const char *name, int enabled, ms_result **r)
{
    ms_param e = enabled_param(enabled);
    return MS_DB_QUERY(r,
                       USER_COLS " WHERE (? IS NULL OR domain_id = ?) AND (? IS NULL OR name = ?)"
                                 " AND (? IS NULL OR enabled = ?) ORDER BY name, id",
                       MS_P_STR(domain_id), MS_P_STR(domain_id), MS_P_STR(name), MS_P_STR(name),
                       e, e);
}

int
res_db_user_get(const char *id, ms_result **r)
{
    return MS_DB_QUERY(r, USER_COLS " WHERE id = ?", MS_P_STR(id));
}

int
res_db_user_by_name(const char *name, const char *domain_id, ms_result **r)
{
    return MS_DB_QUERY(r, USER_COLS " WHERE name = ? AND domain_id = ?", MS_P_STR(name),
                       MS_P_STR(domain_id));
}

int
res_db_user_insert(const char *id, const char *name, const char *domain_id, bool enabled,
                   const char *default_project_id, const char *description, const char *email,
                   const char *password_hash, const char *options, const char *extra)
{
    char now[32];
    res_db_time(identity_now_us(), now);
    return MS_DB_QUERY(NULL,
                       "INSERT INTO id_users (id, name, domain_id, enabled, default_project_id,"
                       " description, email, password_hash, password_created_at, options, extra,"
                       " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       MS_P_STR(id), MS_P_STR(name), MS_P_STR(domain_id), MS_P_BOOL(enabled),
                       MS_P_STR(default_project_id), MS_P_STR(description), MS_P_STR(email),
                       MS_P_STR(password_hash), MS_P_STR(password_hash ? now : NULL),
                       MS_P_STR(options), MS_P_STR(extra), MS_P_STR(now));
}

int
res_db_user_update(const char *id, const char *name, bool enabled,
                   const char *default_project_id, const char *description, const char *email,
                   const char *options, const char *extra)
{
    return MS_DB_QUERY(NULL,
                       "UPDATE id_users SET name = ?, enabled = ?, default_project_id = ?,"
                       " description = ?, email = ?, options = ?, extra = ? WHERE id = ?",
                       MS_P_STR(name), MS_P_BOOL(enabled), MS_P_STR(default_project_id),
                       MS_P_STR(description), MS_P_STR(email), MS_P_STR(options),
                       MS_P_STR(extra), MS_P_STR(id));
}

/* No password expiry policy is configured (Keystone's default), so a new
 * password never expires. */
int
res_db_user_set_password(const char *id, const char *hash)
{
    char now[32];
    res_db_time(identity_now_us(), now);
    return MS_DB_QUERY(NULL,
                       "UPDATE id_users SET password_hash = ?, password_created_at = ?,"
                       " password_expires_at = NULL WHERE id = ?",
                       MS_P_STR(hash), MS_P_STR(hash ? now : NULL), MS_P_STR(id));
}

/* What goes with a user: application credentials, grants, memberships. */
static const char *const user_delete_sql[] = {
    "DELETE FROM id_app_cred_roles WHERE app_cred_id IN"
    " (SELECT id FROM id_app_creds WHERE user_id = ?)",
    "DELETE FROM id_app_creds WHERE user_id = ?",
    "DELETE FROM id_assignments WHERE type IN ('UserProject', 'UserDomain', 'UserSystem')"
    " AND actor_id = ?",
    "DELETE FROM id_user_groups WHERE user_id = ?",
};

int
res_db_user_delete(const char *id)
{
    return delete_cascade(user_delete_sql, MS_ARRAY_LEN(user_delete_sql),
                          "DELETE FROM id_users WHERE id = ?", id);
}

int
res_db_user_groups(const char *user_id, ms_result **r)
{
    return MS_DB_QUERY(r,
                       "SELECT g.id, g.name, g.domain_id, g.description, g.extra"
                       " FROM id_user_groups ug JOIN id_groups g ON g.id = ug.group_id"
                       " WHERE ug.user_id = ? ORDER BY g.name, g.id",
                       MS_P_STR(user_id));
}

/* ---- lookups for the token side ---- */

static void
copy(char *dst, size_t n, const char *src)
{
    snprintf(dst, n, "%s", src ? src : "");
}

/* Rows: id, name, domain_id, domain name, enabled (object and domain),
 * then for users password_hash, password_expires_at, default_project_id. */
#define USER_LOOKUP                                                                      \
    "SELECT u.id, u.name, u.domain_id, d.name, u.enabled AND d.enabled, u.password_hash,"  \
    " u.password_expires_at, u.default_project_id FROM id_users u"                        \
    " JOIN id_domains d ON d.id = u.domain_id"
#define PROJECT_LOOKUP                                                                   \
    "SELECT p.id, p.name, p.domain_id, d.name, p.enabled AND d.enabled FROM id_projects p" \
    " JOIN id_domains d ON d.id = p.domain_id"

static int
fill_principal(int rc, ms_result *r, identity_principal *out, bool user)
{
    if (rc < 0)
        return rc;
    memset(out, 0, sizeof(*out));
    if (!r->nrows) {
        ms_result_free(r);
        return -ENOENT;
    }
    copy(out->id, sizeof(out->id), ms_cell(r, 0, 0));
    copy(out->name, sizeof(out->name), ms_cell(r, 0, 1));
    copy(out->domain_id, sizeof(out->domain_id), ms_cell(r, 0, 2));
    copy(out->domain_name, sizeof(out->domain_name), ms_cell(r, 0, 3));
    out->enabled = ms_cell_bool(r, 0, 4);
    if (user) {
        copy(out->password_hash, sizeof(out->password_hash), ms_cell(r, 0, 5));
        const char *exp = ms_cell(r, 0, 6);
        int64_t us = exp ? ms_time_parse(exp) : 0;
        out->password_expires_at = us > 0 ? us : 0;
        copy(out->default_project_id, sizeof(out->default_project_id), ms_cell(r, 0, 7));
    }
    ms_result_free(r);
    return 0;
}

int
identity_user_lookup(const char *id, const char *name, const char *domain_id,
                     const char *domain_name, identity_principal *out)
{
    ms_result *r = NULL;
    int rc;
    if (id)
        rc = MS_DB_QUERY(&r, USER_LOOKUP " WHERE u.id = ?", MS_P_STR(id));
    else if (name && domain_id)
        rc = MS_DB_QUERY(&r, USER_LOOKUP " WHERE u.name = ? AND u.domain_id = ?", MS_P_STR(name),
                         MS_P_STR(domain_id));
    else if (name && domain_name)
        rc = MS_DB_QUERY(&r, USER_LOOKUP " WHERE u.name = ? AND d.name = ?", MS_P_STR(name),
                         MS_P_STR(domain_name));
    else
        return -ENOENT;
    return fill_principal(rc, r, out, true);
}

int
identity_project_lookup(const char *id, const char *name, const char *domain_id,
                        const char *domain_name, identity_principal *out)
{
    ms_result *r = NULL;
    int rc;
    if (id)
        rc = MS_DB_QUERY(&r, PROJECT_LOOKUP " WHERE p.id = ?", MS_P_STR(id));
    else if (name && domain_id)
        rc = MS_DB_QUERY(&r, PROJECT_LOOKUP " WHERE p.name = ? AND p.domain_id = ?",
                         MS_P_STR(name), MS_P_STR(domain_id));
    else if (name && domain_name)
        rc = MS_DB_QUERY(&r, PROJECT_LOOKUP " WHERE p.name = ? AND d.name = ?", MS_P_STR(name),
                         MS_P_STR(domain_name));
    else
        return -ENOENT;
    return fill_principal(rc, r, out, false);
}

/* A domain is its own domain: domain_id and domain_name repeat id and name. */
int
identity_domain_lookup(const char *id, const char *name, identity_principal *out)
{
    ms_result *r = NULL;
    int rc;
    if (id)
        rc = MS_DB_QUERY(&r, "SELECT id, name, id, name, enabled FROM id_domains WHERE id = ?",
                         MS_P_STR(id));
    else if (name)
        rc = MS_DB_QUERY(&r, "SELECT id, name, id, name, enabled FROM id_domains WHERE name = ?",
                         MS_P_STR(name));
    else
        return -ENOENT;
    return fill_principal(rc, r, out, false);
}

/* ---- idempotent creators for bootstrap ---- */

int
identity_ensure_domain(const char *id, const char *name)
{
    ms_result *r = NULL;
    int rc = res_db_domain_get(id, &r);
    if (rc < 0)
        return rc;
    bool found = r->nrows > 0;
    ms_result_free(r);
    if (found)
        return 0;
    rc = res_db_domain_insert(id, name, "The default domain", true, NULL, NULL);
    if (rc == -EEXIST) {
        /* Lost a race with another bootstrap, or the name is taken by a
         * domain with another id (then there is nothing we can do). */
        if ((rc = res_db_domain_get(id, &r)) < 0)
            return rc;
        rc = r->nrows ? 0 : -EEXIST;
        ms_result_free(r);
    }
    return rc;
}

int
identity_ensure_project(const char *name, const char *domain_id, bool is_domain,
                        char id_out[MS_ID_LEN])
{
    ms_result *r = NULL;
    for (int attempt = 0; attempt < 2; attempt++) {
        int rc = is_domain ? res_db_domain_by_name(name, &r)
                           : res_db_project_by_name(name, domain_id, &r);
        if (rc < 0)
            return rc;
        if (r->nrows) {
            copy(id_out, MS_ID_LEN, ms_cell(r, 0, 0));
            ms_result_free(r);
            return 0;
        }
        ms_result_free(r);
        r = NULL;
        char id[33];
        ms_uuid_hex(id);
        rc = is_domain ? res_db_domain_insert(id, name, "", true, NULL, NULL)
                       : res_db_project_insert(id, name, domain_id, domain_id, "", true, NULL,
                                               NULL);
        if (rc == 0) {
            copy(id_out, MS_ID_LEN, id);
            return 0;
        }
        if (rc != -EEXIST)
            return rc;
    }
    return -EEXIST;
}

/* Like keystone-manage bootstrap: an existing user is enabled again and,
 * when the given password does not match, gets it. */
int
identity_ensure_user(const char *name, const char *domain_id, const char *password,
                     char id_out[MS_ID_LEN])
{
    ms_result *r = NULL;
    int rc = res_db_user_by_name(name, domain_id, &r);
    if (rc < 0)
        return rc;
    char hash[IDENTITY_HASH_LEN];
    if (r->nrows) {
        copy(id_out, MS_ID_LEN, ms_cell(r, 0, U_ID));
        bool enabled = ms_cell_bool(r, 0, U_ENABLED);
        const char *stored = ms_cell(r, 0, U_HASH);
        bool same = !password || (stored && identity_password_verify(password, stored));
        if (!enabled)
            rc = MS_DB_QUERY(NULL, "UPDATE id_users SET enabled = 1 WHERE id = ?",
                             MS_P_STR(id_out));
        if (rc == 0 && !same) {
            if ((rc = identity_password_hash(password, hash)) == 0 &&
                (rc = res_db_user_set_password(id_out, hash)) == 0)
                identity_revoke(id_out, NULL, NULL, NULL);
        }
        ms_result_free(r);
        return rc;
    }
    ms_result_free(r);
    if (password && (rc = identity_password_hash(password, hash)) < 0)
        return rc;
    char id[33];
    ms_uuid_hex(id);
    rc = res_db_user_insert(id, name, domain_id, true, NULL, NULL, NULL, password ? hash : NULL,
                            NULL, NULL);
    if (rc == -EEXIST) {
        if ((rc = res_db_user_by_name(name, domain_id, &r)) < 0)
            return rc;
        if (r->nrows)
            copy(id_out, MS_ID_LEN, ms_cell(r, 0, U_ID));
        rc = r->nrows ? 0 : -EEXIST;
        ms_result_free(r);
        return rc;
    }
    if (rc == 0)
        copy(id_out, MS_ID_LEN, id);
    return rc;
}
