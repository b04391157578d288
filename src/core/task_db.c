/* SQL of the task journal (table `tasks`, created by core_schema.c).
 *
 * The claim is a single conditional UPDATE, so two workers (threads or
 * hosts) racing for the same row are serialized by InnoDB's row lock and
 * exactly one sees affected == 1. Every later change of a claimed row is
 * conditioned on claimed_by, so a worker whose claim was taken over as stale
 * cannot overwrite the new owner's outcome. */
#include <errno.h>
#include <string.h>

#include <monostack/db.h>
#include <monostack/log.h>

#include "core/task_internal.h"

void
ms_task_row_clear(ms_task_row *row)
{
    if (!row)
        return;
    free(row->service);
    free(row->type);
    free(row->resource_id);
    free(row->payload);
    memset(row, 0, sizeof(*row));
}

int
ms_task_db_insert(const char *service, const char *host, const char *type,
                  const char *resource_id, const char *payload, long long *id)
{
    ms_result *r = NULL;
    int rc = MS_DB_QUERY(&r,
                         "INSERT INTO tasks (service, host, type, resource_id, payload,"
                         " state, attempts, not_before, created_at, updated_at)"
                         " VALUES (?, ?, ?, ?, ?, 'pending', 0, UTC_TIMESTAMP(6),"
                         " UTC_TIMESTAMP(6), UTC_TIMESTAMP(6))",
                         MS_P_STR(service), MS_P_STR(host), MS_P_STR(type),
                         MS_P_STR(resource_id), MS_P_STR(payload));
    if (rc == 0 && id)
        *id = (long long)r->insert_id;
    ms_result_free(r);
    return rc;
}

int
ms_task_db_claim(long long id, const char *service, const char *host, const char *token,
                 int stale_s, bool *claimed)
{
    ms_result *r = NULL;
    *claimed = false;
    /* interrupted is assigned before state, so it still sees the old state
     * (MariaDB assigns left to right): it counts stale takeovers. */
    int rc =
        MS_DB_QUERY(&r,
                    "UPDATE tasks SET interrupted = interrupted + (state = 'running'),"
                    " state = 'running', claimed_by = ?,"
                    " claimed_at = UTC_TIMESTAMP(6), attempts = attempts + 1,"
                    " updated_at = UTC_TIMESTAMP(6)"
                    " WHERE id = ? AND service = ? AND host = ? AND"
                    " ((state = 'pending' AND not_before <= UTC_TIMESTAMP(6)) OR"
                    "  (state = 'running' AND"
                    "   claimed_at < UTC_TIMESTAMP(6) - INTERVAL ? SECOND))",
                    MS_P_STR(token), MS_P_INT(id), MS_P_STR(service), MS_P_STR(host),
                    MS_P_INT(stale_s));
    if (rc == 0)
        *claimed = r->affected == 1;
    ms_result_free(r);
    return rc;
}

int
ms_task_db_load(long long id, const char *token, ms_task_row *row)
{
    ms_result *r = NULL;
    memset(row, 0, sizeof(*row));
    int rc =
        MS_DB_QUERY(&r,
                    "SELECT service, type, resource_id, payload, attempts, interrupted"
                    " FROM tasks"
                    " WHERE id = ? AND claimed_by = ? AND state = 'running'",
                    MS_P_INT(id), MS_P_STR(token));
    if (rc == 0 && r->nrows == 0)
        rc = -ENOENT;
    if (rc == 0) {
        row->service = ms_strdup(ms_cell(r, 0, 0));
        row->type = ms_strdup(ms_cell(r, 0, 1));
        row->resource_id = ms_strdup(ms_cell(r, 0, 2));
        row->payload = ms_strdup(ms_cell(r, 0, 3));
        row->attempts = (int)ms_cell_int(r, 0, 4);
        row->interrupted = (int)ms_cell_int(r, 0, 5);
    }
    ms_result_free(r);
    return rc;
}

int
ms_task_db_renew(long long id, const char *token)
{
    return MS_DB_QUERY(NULL,
                       "UPDATE tasks SET claimed_at = UTC_TIMESTAMP(6)"
                       " WHERE id = ? AND claimed_by = ? AND state = 'running'",
                       MS_P_INT(id), MS_P_STR(token));
}

static int
task_db_finish_result(int rc, ms_result *r, bool *owned)
{
    if (owned)
        *owned = rc == 0 && r->affected == 1;
    ms_result_free(r);
    return rc;
}

int
ms_task_db_done(long long id, const char *token, bool *owned)
{
    ms_result *r = NULL;
    int rc = MS_DB_QUERY(&r,
                         "UPDATE tasks SET state = 'done', error = NULL,"
                         " updated_at = UTC_TIMESTAMP(6)"
                         " WHERE id = ? AND claimed_by = ? AND state = 'running'",
                         MS_P_INT(id), MS_P_STR(token));
    return task_db_finish_result(rc, r, owned);
}

int
ms_task_db_fail(long long id, const char *token, const char *error, bool *owned)
{
    ms_result *r = NULL;
    int rc = MS_DB_QUERY(&r,
                         "UPDATE tasks SET state = 'failed', error = ?,"
                         " updated_at = UTC_TIMESTAMP(6)"
                         " WHERE id = ? AND claimed_by = ? AND state = 'running'",
                         MS_P_STR(error), MS_P_INT(id), MS_P_STR(token));
    return task_db_finish_result(rc, r, owned);
}

int
ms_task_db_retry(long long id, const char *token, int delay_s, const char *error,
                 bool *owned)
{
    ms_result *r = NULL;
    int rc =
        MS_DB_QUERY(&r,
                    "UPDATE tasks SET state = 'pending', error = ?, claimed_by = NULL,"
                    " claimed_at = NULL,"
                    " not_before = UTC_TIMESTAMP(6) + INTERVAL ? SECOND,"
                    " updated_at = UTC_TIMESTAMP(6)"
                    " WHERE id = ? AND claimed_by = ? AND state = 'running'",
                    MS_P_STR(error), MS_P_INT(delay_s), MS_P_INT(id), MS_P_STR(token));
    return task_db_finish_result(rc, r, owned);
}

int
ms_task_db_scan(const char *service, const char *host, int stale_s, long long *ids,
                size_t max, size_t *n)
{
    ms_result *r = NULL;
    *n = 0;
    int rc = MS_DB_QUERY(&r,
                         "SELECT id FROM tasks WHERE host = ? AND service = ? AND"
                         " ((state = 'pending' AND not_before <= UTC_TIMESTAMP(6)) OR"
                         "  (state = 'running' AND"
                         "   claimed_at < UTC_TIMESTAMP(6) - INTERVAL ? SECOND))"
                         " ORDER BY id LIMIT 256",
                         MS_P_STR(host), MS_P_STR(service), MS_P_INT(stale_s));
    if (rc == 0) {
        for (size_t i = 0; i < r->nrows && *n < max; i++)
            ids[(*n)++] = ms_cell_int(r, i, 0);
    }
    ms_result_free(r);
    return rc;
}

int
ms_task_db_purge(int done_age_s, int failed_age_s)
{
    int rc = MS_DB_QUERY(NULL,
                         "DELETE FROM tasks WHERE state = 'done' AND"
                         " updated_at < UTC_TIMESTAMP(6) - INTERVAL ? SECOND",
                         MS_P_INT(done_age_s));
    if (rc == 0)
        rc = MS_DB_QUERY(NULL,
                         "DELETE FROM tasks WHERE state = 'failed' AND"
                         " updated_at < UTC_TIMESTAMP(6) - INTERVAL ? SECOND",
                         MS_P_INT(failed_age_s));
    if (rc < 0)
        ms_warn("msg=\"Could not purge finished tasks.\" rc=%d", rc);
    return rc;
}
