/* The task journal and the bus.
 *
 * Slow work is a row in `tasks`, inserted by ms_task_enqueue() inside the same
 * transaction as the state change that asks for it. After commit,
 * ms_task_publish() sends the task id to the owning host's queue
 * "<service>.<host>" on the topic exchange. Worker threads consume the queue,
 * claim the row atomically and run the module's handler. Workers also poll for
 * unclaimed and stale tasks, so a lost message or a bus outage only delays
 * work. Handlers must be idempotent: a task may run again after a crash. */
#ifndef MONOSTACK_TASK_H
#define MONOSTACK_TASK_H

#include <jansson.h>

#include "common.h"

typedef struct {
    long long id;
    const char *service;
    const char *type;
    const char *resource_id;
    json_t *payload;          /* borrowed for the handler's call */
    int attempts;
} ms_task;

/* Return 0 when done (row marked done), <0 when failed for good (row marked
 * failed with the message in err), or -EAGAIN to run it again later. */
typedef int (*ms_task_fn)(const ms_task *task, char **err);

struct ms_task_handler {
    const char *type;         /* "build_instance" */
    ms_task_fn run;
};

typedef void (*ms_periodic_fn)(void);
struct ms_periodic {
    const char *name;
    int interval_s;
    ms_periodic_fn run;
};

/* Insert a pending task (call inside the caller's transaction). payload is
 * borrowed; *id receives the row id. */
int ms_task_enqueue(const char *service, const char *host, const char *type,
                    const char *resource_id, json_t *payload, long long *id);
/* Tell the host's workers about a committed task. Never blocks on the broker.
 * Failure is logged, not returned: the poller picks the task up anyway (and
 * when host is this host, local workers are woken at once). */
void ms_task_publish(const char *service, const char *host, long long id);

/* The modules whose task handlers (queues "<name>.<host>") and periodic tasks
 * this process runs: ms_modules unless set here. Call before ms_bus_start()
 * and ms_workers_start(); tests use it to run a module of their own. */
struct ms_module;
void ms_task_set_modules(const struct ms_module *const *mods, size_t n);

/* Workers and periodic tasks for the given modules' handlers. */
int ms_workers_start(char **err);
void ms_workers_stop(void);
/* Run every due periodic task of every module once (tests use this). */
void ms_periodic_run_all(void);

/* The bus (rabbitmq-c): one connection for publishing, one for consuming,
 * each with heartbeats and reconnect. */
int ms_bus_configure(const char *url, char **err);
int ms_bus_start(char **err);
void ms_bus_stop(void);
bool ms_bus_connected(void);
/* Publish a lifecycle notification (event_type e.g. "compute.instance.create.end")
 * on the notifications exchange. payload is borrowed. */
void ms_notify(const char *publisher, const char *event_type, json_t *payload);
/* Low-level publish on the task exchange: 0 when queued for the publisher
 * thread, -EAGAIN at once when the broker is unreachable or not started. */
int ms_bus_publish(const char *routing_key, const char *body);

#endif
