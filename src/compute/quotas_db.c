/* SQL for quotas: per-project limit rows and the usage counted from live
 * servers (Nova's "counting quotas"; there is no usage table to drift). */
#include "compute.h"

#include <errno.h>
#include <string.h>

int
compute_quota_db_get(const char *project, long long limits[Q_COUNT], bool set[Q_COUNT])
{
    ms_result *r = NULL;
    int rc = MS_DB_QUERY(&r, "SELECT resource, hard_limit FROM compute_quotas"
                             " WHERE project_id = ?",
                         MS_P_STR(project));
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < r->nrows; i++) {
        for (int q = 0; q < Q_COUNT; q++) {
            if (strcmp(ms_cell(r, i, 0), compute_quota_names[q]) == 0) {
                limits[q] = ms_cell_int(r, i, 1);
                set[q] = true;
            }
        }
    }
    ms_result_free(r);
    return 0;
}

int
compute_quota_db_set(const char *project, const char *resource, long long limit)
{
    return MS_DB_QUERY(NULL,
                       "INSERT INTO compute_quotas (project_id, resource, hard_limit)"
                       " VALUES (?,?,?) ON DUPLICATE KEY UPDATE hard_limit = VALUES(hard_limit)",
                       MS_P_STR(project), MS_P_STR(resource), MS_P_INT(limit));
}

int
compute_quota_db_delete(const char *project)
{
    return MS_DB_QUERY(NULL, "DELETE FROM compute_quotas WHERE project_id = ?",
                       MS_P_STR(project));
}

int
compute_quota_db_usage(const char *project, long long *instances, long long *cores,
                       long long *ram)
{
    ms_result *r = NULL;
    int rc = MS_DB_QUERY(&r,
                         "SELECT COUNT(*), COALESCE(SUM(vcpus),0), COALESCE(SUM(memory_mb),0)"
                         " FROM compute_instances WHERE project_id = ? AND deleted = 0",
                         MS_P_STR(project));
    if (rc < 0)
        return rc;
    *instances = ms_cell_int(r, 0, 0);
    *cores = ms_cell_int(r, 0, 1);
    *ram = ms_cell_int(r, 0, 2);
    ms_result_free(r);
    return 0;
}

int
compute_quota_db_server_groups(const char *project, long long *n)
{
    ms_result *r = NULL;
    int rc = MS_DB_QUERY(&r, "SELECT COUNT(*) FROM compute_server_groups WHERE project_id = ?",
                         MS_P_STR(project));
    if (rc == 0)
        *n = ms_cell_int(r, 0, 0);
    ms_result_free(r);
    return rc;
}

int
compute_quota_db_class_get(const char *quota_class, long long limits[Q_COUNT])
{
    ms_result *r = NULL;
    int rc = MS_DB_QUERY(&r, "SELECT resource, hard_limit FROM compute_quota_classes"
                             " WHERE class_name = ?",
                         MS_P_STR(quota_class));
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < r->nrows; i++) {
        for (int q = 0; q < Q_COUNT; q++) {
            if (strcmp(ms_cell(r, i, 0), compute_quota_names[q]) == 0)
                limits[q] = ms_cell_int(r, i, 1);
        }
    }
    ms_result_free(r);
    return 0;
}

int
compute_quota_db_class_set(const char *quota_class, const char *resource, long long limit)
{
    return MS_DB_QUERY(NULL,
                       "INSERT INTO compute_quota_classes (class_name, resource, hard_limit)"
                       " VALUES (?,?,?) ON DUPLICATE KEY UPDATE hard_limit = VALUES(hard_limit)",
                       MS_P_STR(quota_class), MS_P_STR(resource), MS_P_INT(limit));
}
