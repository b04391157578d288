/* The core module: no listener, no routes; it owns the task journal table
 * (`tasks`) and one periodic job that purges old finished tasks. Migrations
 * are append-only; never edit one that has shipped.
 *
 * Times in `tasks` are UTC (UTC_TIMESTAMP(6)) so that hosts with different
 * session time zones agree on staleness and backoff. */
#include <monostack/db.h>
#include <monostack/http.h>
#include <monostack/task.h>

#include "core/task_internal.h"

static const char *const core_v1[] = {
    "CREATE TABLE IF NOT EXISTS tasks ("
    " id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,"
    " service VARCHAR(64) NOT NULL," /* owning module: "compute" */
    " host VARCHAR(255) NOT NULL,"   /* owning host: queue "<service>.<host>" */
    " type VARCHAR(64) NOT NULL,"    /* handler: "build_instance" */
    " resource_id VARCHAR(64),"
    " payload MEDIUMTEXT,"                           /* JSON object */
    " state VARCHAR(16) NOT NULL DEFAULT 'pending'," /* pending|running|done|failed */
    " attempts INT NOT NULL DEFAULT 0,"              /* claims so far */
    " interrupted INT NOT NULL DEFAULT 0,"           /* claims taken over as stale */
    " claimed_by VARCHAR(128),"         /* worker token of the current claim */
    " claimed_at DATETIME(6),"          /* claim time, renewed while running */
    " not_before DATETIME(6) NOT NULL," /* retry backoff */
    " error TEXT,"
    " created_at DATETIME(6) NOT NULL,"
    " updated_at DATETIME(6) NOT NULL,"
    " KEY ix_tasks_claim (host, service, state, not_before),"
    " KEY ix_tasks_resource (resource_id, state),"
    " KEY ix_tasks_finished (state, updated_at)"
    ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
    NULL,
};

static const ms_migration core_migrations[] = {
    {1, core_v1},
    {0, NULL},
};

/* Finished tasks are only history: keep done ones a day and failed ones a
 * week (for post-mortems), then drop them so the claim index stays small. */
static void
core_task_purge(void)
{
    ms_task_db_purge(86400, 7 * 86400);
}

static const ms_periodic core_periodic[] = {
    {"task_purge", 3600, core_task_purge},
    {NULL, 0, NULL},
};

const ms_module core_module = {
    .name = "core",
    .service_type = "core",
    .no_listener = true,
    .migrations = core_migrations,
    .periodic = core_periodic,
};
