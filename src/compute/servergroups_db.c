/* SQL for server groups (compute_server_groups and their members). A
 * group is created under the project's lock row so two concurrent creates
 * cannot both pass the server_groups quota. Members are the rows of
 * compute_server_group_members whose instance is not deleted; deleting an
 * instance removes its row (servers_db.c). The scheduler asks which hosts
 * the other members of an instance's group run on. */
#include "compute.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

void
compute_server_group_clear(compute_server_group *g)
{
    json_decref(g->members);
    memset(g, 0, sizeof(*g));
}

#define SG_COLS "id, uuid, name, project_id, user_id, policy, max_server_per_host"

static void
sg_from_row(const ms_result *r, size_t row, compute_server_group *g)
{
    memset(g, 0, sizeof(*g));
    g->id = ms_cell_int(r, row, 0);
    snprintf(g->uuid, sizeof(g->uuid), "%s", ms_cell(r, row, 1));
    snprintf(g->name, sizeof(g->name), "%s", ms_cell(r, row, 2));
    snprintf(g->project_id, sizeof(g->project_id), "%s", ms_cell(r, row, 3));
    snprintf(g->user_id, sizeof(g->user_id), "%s", ms_cell(r, row, 4));
    snprintf(g->policy, sizeof(g->policy), "%s", ms_cell(r, row, 5));
    g->max_server_per_host = ms_cell(r, row, 6) ? (int)ms_cell_int(r, row, 6) : 0;
}

static int
sg_members_load(compute_server_group *g)
{
    ms_result *r = NULL;
    int rc = MS_DB_QUERY(&r,
                         "SELECT m.instance_uuid FROM compute_server_group_members m"
                         " JOIN compute_instances i ON i.uuid = m.instance_uuid"
                         " AND i.deleted = 0 WHERE m.group_uuid = ? ORDER BY i.id",
                         MS_P_STR(g->uuid));
    if (rc < 0)
        return rc;
    g->members = json_array();
    for (size_t k = 0; k < r->nrows; k++)
        json_array_append_new(g->members, json_string(ms_cell(r, k, 0)));
    ms_result_free(r);
    return 0;
}

int
compute_server_group_db_create(compute_server_group *g, long long limit)
{
    int rc = ms_db_begin();
    if (rc < 0)
        return rc;
    ms_result *r = NULL;
    if ((rc = MS_DB_QUERY(NULL, "INSERT IGNORE INTO compute_project_locks (project_id)"
                                " VALUES (?)",
                          MS_P_STR(g->project_id))) < 0 ||
        (rc = MS_DB_QUERY(NULL, "SELECT project_id FROM compute_project_locks"
                                " WHERE project_id = ? FOR UPDATE",
                          MS_P_STR(g->project_id))) < 0 ||
        (rc = MS_DB_QUERY(&r, "SELECT COUNT(*) FROM compute_server_groups WHERE project_id = ?",
                          MS_P_STR(g->project_id))) < 0)
        goto fail;
    long long used = ms_cell_int(r, 0, 0);
    ms_result_free(r);
    if (limit >= 0 && used + 1 > limit) {
        rc = -EDQUOT;
        goto fail;
    }
    rc = MS_DB_QUERY(NULL,
                     "INSERT INTO compute_server_groups (uuid, name, project_id, user_id,"
                     " policy, max_server_per_host, created_at) VALUES (?,?,?,?,?,?,?)",
                     MS_P_STR(g->uuid), MS_P_STR(g->name), MS_P_STR(g->project_id),
                     MS_P_STR(g->user_id), MS_P_STR(g->policy),
                     g->max_server_per_host > 0 ? MS_P_INT(g->max_server_per_host)
                                                : MS_P_NULL,
                     MS_P_INT(compute_now()));
    if (rc < 0)
        goto fail;
    g->members = json_array();
    return ms_db_commit();
fail:
    ms_db_rollback();
    return rc;
}

int
compute_server_group_db_get(const char *uuid, const char *project, compute_server_group *out)
{
    ms_result *r = NULL;
    int rc = MS_DB_QUERY(&r,
                         "SELECT " SG_COLS " FROM compute_server_groups WHERE uuid = ?"
                         " AND (? IS NULL OR project_id = ?)",
                         MS_P_STR(uuid), MS_P_STR(project), MS_P_STR(project));
    if (rc < 0)
        return rc;
    if (r->nrows == 0) {
        ms_result_free(r);
        return -ENOENT;
    }
    sg_from_row(r, 0, out);
    ms_result_free(r);
    if ((rc = sg_members_load(out)) < 0)
        compute_server_group_clear(out);
    return rc;
}

int
compute_server_group_db_list(const char *project, long long offset, long long limit,
                             compute_server_group **out, size_t *n)
{
    ms_result *r = NULL;
    int rc = MS_DB_QUERY(&r,
                         "SELECT " SG_COLS " FROM compute_server_groups"
                         " WHERE (? IS NULL OR project_id = ?) ORDER BY id LIMIT ? OFFSET ?",
                         MS_P_STR(project), MS_P_STR(project), MS_P_INT(limit),
                         MS_P_INT(offset));
    if (rc < 0)
        return rc;
    *n = r->nrows;
    *out = ms_calloc(r->nrows + 1, sizeof(**out));
    for (size_t k = 0; k < r->nrows; k++)
        sg_from_row(r, k, &(*out)[k]);
    ms_result_free(r);
    for (size_t k = 0; k < *n && rc == 0; k++)
        rc = sg_members_load(&(*out)[k]);
    return rc;
}

int
compute_server_group_db_delete(const char *uuid)
{
    int rc = ms_db_begin();
    if (rc < 0)
        return rc;
    if ((rc = MS_DB_QUERY(NULL, "DELETE FROM compute_server_group_members WHERE group_uuid = ?",
                          MS_P_STR(uuid))) < 0 ||
        (rc = MS_DB_QUERY(NULL, "DELETE FROM compute_server_groups WHERE uuid = ?",
                          MS_P_STR(uuid))) < 0) {
        ms_db_rollback();
        return rc;
    }
    return ms_db_commit();
}

int
compute_server_group_db_members_count(const char *group_uuid, long long *n)
{
    ms_result *r = NULL;
    int rc = MS_DB_QUERY(&r,
                         "SELECT COUNT(*) FROM compute_server_group_members m"
                         " JOIN compute_instances i ON i.uuid = m.instance_uuid"
                         " AND i.deleted = 0 WHERE m.group_uuid = ?",
                         MS_P_STR(group_uuid));
    if (rc == 0)
        *n = ms_cell_int(r, 0, 0);
    ms_result_free(r);
    return rc;
}

int
compute_server_group_db_add_member(const char *group_uuid, const char *instance_uuid)
{
    return MS_DB_QUERY(NULL,
                       "INSERT INTO compute_server_group_members (group_uuid, instance_uuid)"
                       " VALUES (?,?)",
                       MS_P_STR(group_uuid), MS_P_STR(instance_uuid));
}

int
compute_server_group_db_placement(const char *instance_uuid, char policy[32], json_t **hosts)
{
    *hosts = NULL;
    policy[0] = '\0';
    ms_result *r = NULL;
    int rc = MS_DB_QUERY(&r,
                         "SELECT g.policy, g.uuid, COALESCE(g.max_server_per_host, 1)"
                         " FROM compute_server_group_members m"
                         " JOIN compute_server_groups g ON g.uuid = m.group_uuid"
                         " WHERE m.instance_uuid = ? LIMIT 1",
                         MS_P_STR(instance_uuid));
    if (rc < 0)
        return rc;
    if (r->nrows == 0) {
        ms_result_free(r);
        return -ENOENT;
    }
    snprintf(policy, 32, "%s", ms_cell(r, 0, 0));
    char group[37];
    snprintf(group, sizeof(group), "%s", ms_cell(r, 0, 1));
    /* Only anti-affinity has rules; a host is "taken" once it holds
     * max_server_per_host (1 without the rule) other members. */
    long long per_host = strcmp(policy, "anti-affinity") ? 1 : ms_cell_int(r, 0, 2);
    ms_result_free(r);
    rc = MS_DB_QUERY(&r,
                     "SELECT i.host FROM compute_server_group_members m"
                     " JOIN compute_instances i ON i.uuid = m.instance_uuid AND i.deleted = 0"
                     " WHERE m.group_uuid = ? AND m.instance_uuid <> ? AND i.host IS NOT NULL"
                     " AND i.host <> '' GROUP BY i.host HAVING COUNT(*) >= ?",
                     MS_P_STR(group), MS_P_STR(instance_uuid), MS_P_INT(per_host));
    if (rc < 0)
        return rc;
    *hosts = json_array();
    for (size_t k = 0; k < r->nrows; k++)
        json_array_append_new(*hosts, json_string(ms_cell(r, k, 0)));
    ms_result_free(r);
    return 0;
}
