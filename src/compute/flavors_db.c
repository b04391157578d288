/* SQL for flavors, their extra specs and access lists. Sorted listings use
 * keyset pagination on (sort column, id); the statement for each sort
 * column and direction is built once from a fixed table and interned, so
 * the prepared-statement cache sees stable pointers. */
#include "compute.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define FLAVOR_COLS                                                                      \
    "id, flavorid, name, memory_mb, vcpus, root_gb, ephemeral_gb, swap, rxtx_factor,"    \
    " is_public, disabled, description, created_at"

void
compute_flavor_clear(compute_flavor *f)
{
    free(f->description);
    f->description = NULL;
}

static void
flavor_from_row(const ms_result *r, size_t i, compute_flavor *f)
{
    memset(f, 0, sizeof(*f));
    f->id = ms_cell_int(r, i, 0);
    snprintf(f->flavorid, sizeof(f->flavorid), "%s", ms_cell(r, i, 1));
    snprintf(f->name, sizeof(f->name), "%s", ms_cell(r, i, 2));
    f->memory_mb = (int)ms_cell_int(r, i, 3);
    f->vcpus = (int)ms_cell_int(r, i, 4);
    f->root_gb = (int)ms_cell_int(r, i, 5);
    f->ephemeral_gb = (int)ms_cell_int(r, i, 6);
    f->swap = (int)ms_cell_int(r, i, 7);
    f->rxtx_factor = ms_cell(r, i, 8) ? strtod(ms_cell(r, i, 8), NULL) : 1.0;
    f->is_public = ms_cell_bool(r, i, 9);
    f->disabled = ms_cell_bool(r, i, 10);
    f->description = ms_strdup(ms_cell(r, i, 11));
    f->created_at = ms_cell_int(r, i, 12);
}

int
compute_flavor_db_get(const char *flavorid, compute_flavor *out)
{
    ms_result *r = NULL;
    int rc = MS_DB_QUERY(&r, "SELECT " FLAVOR_COLS " FROM compute_flavors WHERE flavorid = ?",
                         MS_P_STR(flavorid));
    if (rc < 0)
        return rc;
    if (r->nrows == 0)
        rc = -ENOENT;
    else
        flavor_from_row(r, 0, out);
    ms_result_free(r);
    return rc;
}

int
compute_flavor_db_name_used(const char *name, bool *used)
{
    ms_result *r = NULL;
    int rc = MS_DB_QUERY(&r, "SELECT 1 FROM compute_flavors WHERE name = ?", MS_P_STR(name));
    if (rc == 0)
        *used = r->nrows > 0;
    ms_result_free(r);
    return rc;
}

int
compute_flavor_db_id_used(const char *flavorid, bool *used)
{
    ms_result *r = NULL;
    int rc = MS_DB_QUERY(&r, "SELECT 1 FROM compute_flavors WHERE flavorid = ?",
                         MS_P_STR(flavorid));
    if (rc == 0)
        *used = r->nrows > 0;
    ms_result_free(r);
    return rc;
}

int
compute_flavor_db_insert(compute_flavor *f)
{
    ms_result *r = NULL;
    char rx[32];
    snprintf(rx, sizeof(rx), "%.17g", f->rxtx_factor);
    int rc = MS_DB_QUERY(&r,
                         "INSERT INTO compute_flavors (flavorid, name, memory_mb, vcpus,"
                         " root_gb, ephemeral_gb, swap, rxtx_factor, is_public, disabled,"
                         " description, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                         MS_P_STR(f->flavorid), MS_P_STR(f->name), MS_P_INT(f->memory_mb),
                         MS_P_INT(f->vcpus), MS_P_INT(f->root_gb), MS_P_INT(f->ephemeral_gb),
                         MS_P_INT(f->swap), MS_P_STR(rx), MS_P_BOOL(f->is_public),
                         MS_P_BOOL(f->disabled), MS_P_STR(f->description),
                         MS_P_INT(f->created_at));
    if (rc == 0)
        f->id = (long long)r->insert_id;
    ms_result_free(r);
    return rc;
}

int
compute_flavor_db_set_description(long long id, const char *description)
{
    return MS_DB_QUERY(NULL,
                       "UPDATE compute_flavors SET description = ?, updated_at = ?"
                       " WHERE id = ?",
                       MS_P_STR(description), MS_P_INT(compute_now()), MS_P_INT(id));
}

int
compute_flavor_db_delete(long long id)
{
    int rc = ms_db_begin();
    if (rc < 0)
        return rc;
    if ((rc = MS_DB_QUERY(NULL, "DELETE FROM compute_flavor_extra_specs WHERE flavor_id = ?",
                          MS_P_INT(id))) < 0 ||
        (rc = MS_DB_QUERY(NULL, "DELETE FROM compute_flavor_projects WHERE flavor_id = ?",
                          MS_P_INT(id))) < 0 ||
        (rc = MS_DB_QUERY(NULL, "DELETE FROM compute_flavors WHERE id = ?", MS_P_INT(id))) <
            0) {
        ms_db_rollback();
        return rc;
    }
    return ms_db_commit();
}

/* Sortable columns: the API accepts the flavor model's columns. */
static const char *const sort_cols[] = {
    "flavorid", "name", "memory_mb", "vcpus", "root_gb", "ephemeral_gb", "swap",
    "rxtx_factor", "is_public", "disabled", "id", "created_at", "description",
};

/* Listing statements: [column][desc][with marker][non-admin]. */
static const char *list_sql[MS_ARRAY_LEN(sort_cols)][2][2][2];
static pthread_mutex_t list_sql_lock = PTHREAD_MUTEX_INITIALIZER;

bool
compute_flavor_sort_key_ok(const char *key)
{
    for (size_t i = 0; i < MS_ARRAY_LEN(sort_cols); i++) {
        if (strcmp(sort_cols[i], key) == 0)
            return true;
    }
    return false;
}

static const char *
list_statement(size_t col, bool desc, bool marker, bool member)
{
    pthread_mutex_lock(&list_sql_lock);
    const char **slot = &list_sql[col][desc][marker][member];
    if (!*slot) {
        const char *c = sort_cols[col];
        const char *op = desc ? "<" : ">";
        const char *dir = desc ? "DESC" : "ASC";
        char *m = marker ? ms_asprintf(" AND (%s %s ? OR (%s = ? AND id %s ?))", c, op, c, op)
                         : ms_strdup("");
        *slot = ms_asprintf(
            "SELECT " FLAVOR_COLS " FROM compute_flavors WHERE memory_mb >= ? AND root_gb >= ?"
            " AND (? < 0 OR is_public = ?)%s%s ORDER BY %s %s, id %s LIMIT ?",
            member ? " AND disabled = 0 AND (is_public = 1 OR id IN (SELECT flavor_id FROM"
                     " compute_flavor_projects WHERE project_id = ?))"
                   : "",
            m, c, dir, dir);
        free(m);
    }
    const char *s = *slot;
    pthread_mutex_unlock(&list_sql_lock);
    return s;
}

static ms_param
marker_value(const compute_flavor *m, size_t col, char buf[64])
{
    const char *c = sort_cols[col];
    if (!strcmp(c, "flavorid"))
        return MS_P_STR(m->flavorid);
    if (!strcmp(c, "name"))
        return MS_P_STR(m->name);
    if (!strcmp(c, "description"))
        return MS_P_STR(m->description ? m->description : "");
    if (!strcmp(c, "rxtx_factor")) {
        snprintf(buf, 64, "%.17g", m->rxtx_factor);
        return MS_P_STR(buf);
    }
    long long v = !strcmp(c, "memory_mb")      ? m->memory_mb
                  : !strcmp(c, "vcpus")        ? m->vcpus
                  : !strcmp(c, "root_gb")      ? m->root_gb
                  : !strcmp(c, "ephemeral_gb") ? m->ephemeral_gb
                  : !strcmp(c, "swap")         ? m->swap
                  : !strcmp(c, "is_public")    ? m->is_public
                  : !strcmp(c, "disabled")     ? m->disabled
                  : !strcmp(c, "created_at")   ? m->created_at
                                               : m->id;
    return MS_P_INT(v);
}

int
compute_flavor_db_list(const compute_flavor_query *q, compute_flavor **out, size_t *n)
{
    size_t col = 0;
    for (size_t i = 0; i < MS_ARRAY_LEN(sort_cols); i++) {
        if (q->sort_key && strcmp(sort_cols[i], q->sort_key) == 0)
            col = i;
    }
    bool member = !q->admin;
    const char *sql = list_statement(col, q->sort_desc, q->marker != NULL, member);
    ms_param p[10];
    size_t np = 0;
    char buf[64];
    p[np++] = MS_P_INT(q->min_ram);
    p[np++] = MS_P_INT(q->min_disk);
    p[np++] = MS_P_INT(q->is_public);
    p[np++] = MS_P_INT(q->is_public);
    if (member)
        p[np++] = MS_P_STR(q->project);
    if (q->marker) {
        ms_param mv = marker_value(q->marker, col, buf);
        p[np++] = mv;
        p[np++] = mv;
        p[np++] = MS_P_INT(q->marker->id);
    }
    p[np++] = MS_P_INT(q->limit);
    ms_result *r = NULL;
    int rc = ms_db_query(&r, sql, p, np);
    if (rc < 0)
        return rc;
    *out = ms_calloc(r->nrows ? r->nrows : 1, sizeof(**out));
    for (size_t i = 0; i < r->nrows; i++)
        flavor_from_row(r, i, &(*out)[i]);
    *n = r->nrows;
    ms_result_free(r);
    return 0;
}

int
compute_flavor_db_specs(long long id, json_t **out)
{
    ms_result *r = NULL;
    int rc = MS_DB_QUERY(&r,
                         "SELECT spec_key, spec_value FROM compute_flavor_extra_specs"
                         " WHERE flavor_id = ? ORDER BY spec_key",
                         MS_P_INT(id));
    if (rc < 0)
        return rc;
    *out = json_object();
    for (size_t i = 0; i < r->nrows; i++)
        json_object_set_new(*out, ms_cell(r, i, 0), json_string(ms_cell(r, i, 1)));
    ms_result_free(r);
    return 0;
}

int
compute_flavor_db_spec_set(long long id, const char *key, const char *value)
{
    return MS_DB_QUERY(NULL,
                       "INSERT INTO compute_flavor_extra_specs (flavor_id, spec_key,"
                       " spec_value) VALUES (?,?,?) ON DUPLICATE KEY UPDATE"
                       " spec_value = VALUES(spec_value)",
                       MS_P_INT(id), MS_P_STR(key), MS_P_STR(value));
}

int
compute_flavor_db_spec_delete(long long id, const char *key, bool *found)
{
    ms_result *r = NULL;
    int rc = MS_DB_QUERY(&r,
                         "DELETE FROM compute_flavor_extra_specs WHERE flavor_id = ?"
                         " AND spec_key = ?",
                         MS_P_INT(id), MS_P_STR(key));
    if (rc == 0)
        *found = r->affected > 0;
    ms_result_free(r);
    return rc;
}

int
compute_flavor_db_access(long long id, json_t **projects)
{
    ms_result *r = NULL;
    int rc = MS_DB_QUERY(&r,
                         "SELECT project_id FROM compute_flavor_projects WHERE flavor_id = ?"
                         " ORDER BY project_id",
                         MS_P_INT(id));
    if (rc < 0)
        return rc;
    *projects = json_array();
    for (size_t i = 0; i < r->nrows; i++)
        json_array_append_new(*projects, json_string(ms_cell(r, i, 0)));
    ms_result_free(r);
    return 0;
}

int
compute_flavor_db_access_add(long long id, const char *project)
{
    return MS_DB_QUERY(NULL,
                       "INSERT INTO compute_flavor_projects (flavor_id, project_id)"
                       " VALUES (?,?)",
                       MS_P_INT(id), MS_P_STR(project));
}

int
compute_flavor_db_access_remove(long long id, const char *project, bool *found)
{
    ms_result *r = NULL;
    int rc = MS_DB_QUERY(&r,
                         "DELETE FROM compute_flavor_projects WHERE flavor_id = ?"
                         " AND project_id = ?",
                         MS_P_INT(id), MS_P_STR(project));
    if (rc == 0)
        *found = r->affected > 0;
    ms_result_free(r);
    return rc;
}

int
compute_flavor_db_access_has(long long id, const char *project, bool *has)
{
    ms_result *r = NULL;
    int rc = MS_DB_QUERY(&r,
                         "SELECT 1 FROM compute_flavor_projects WHERE flavor_id = ?"
                         " AND project_id = ?",
                         MS_P_INT(id), MS_P_STR(project));
    if (rc == 0)
        *has = r->nrows > 0;
    ms_result_free(r);
    return rc;
}
