/* Internal interface of the task journal: between the worker pool (task.c),
 * its SQL (task_db.c), the bus (bus.c) and the core module (core_schema.c).
 * Nothing outside src/core includes this. */
#ifndef MONOSTACK_CORE_TASK_INTERNAL_H
#define MONOSTACK_CORE_TASK_INTERNAL_H

#include <monostack/http.h>
#include <monostack/task.h>

/* --- task.c --- */

/* The modules whose handlers, queues and periodic jobs this process runs
 * (ms_modules unless ms_task_set_modules() chose others). */
const ms_module *const *ms_task_modules(size_t *n);
/* True when the module has at least one task handler (and so a queue). */
bool ms_task_module_has_handlers(const ms_module *m);
/* A message (or a failed publish) named this task of service: queue it for a
 * worker. No database access; dropped when the service is not ours, the pool
 * is not running or its queue is full (the scanner finds the task anyway). */
void ms_task_wake_service(const char *service, long long id);

/* --- task_db.c --- */

typedef struct {
    char *service;
    char *type;
    char *resource_id;
    char *payload; /* JSON text or NULL */
    int attempts;
    int interrupted; /* times a worker died (or stalled) while running it */
} ms_task_row;

void ms_task_row_clear(ms_task_row *row);

int ms_task_db_insert(const char *service, const char *host, const char *type,
                      const char *resource_id, const char *payload, long long *id);
/* Atomically take task id of (service, host) for token when it is pending and
 * due, or running with a claim older than stale_s. *claimed tells whether it
 * is ours now. */
int ms_task_db_claim(long long id, const char *service, const char *host,
                     const char *token, int stale_s, bool *claimed);
/* Load a task claimed by token; -ENOENT when the claim is not (or no longer) ours. */
int ms_task_db_load(long long id, const char *token, ms_task_row *row);
/* Keep a running claim fresh so it is not taken as stale. */
int ms_task_db_renew(long long id, const char *token);
/* Finish a claim: done, failed(error), or pending again after delay_s.
 * *owned is false when the claim had been taken over meanwhile. */
int ms_task_db_done(long long id, const char *token, bool *owned);
int ms_task_db_fail(long long id, const char *token, const char *error, bool *owned);
int ms_task_db_retry(long long id, const char *token, int delay_s, const char *error,
                     bool *owned);
/* Ids of tasks of (service, host) that are due or stale, oldest first. */
int ms_task_db_scan(const char *service, const char *host, int stale_s, long long *ids,
                    size_t max, size_t *n);
/* Delete done tasks older than done_age_s and failed ones older than failed_age_s. */
int ms_task_db_purge(int done_age_s, int failed_age_s);

#endif
