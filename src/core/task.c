/* The task journal's worker pool and the periodic task runner.
 *
 * Threads:
 *  - task_workers workers wait on one condition variable for task ids, put
 *    there by the bus consumer (ms_task_wake), by ms_task_publish when the
 *    bus is down, and by the scanner. A worker claims the row atomically
 *    (task_db.c), runs the module's handler and records the outcome.
 *  - the scanner, every task_poll_interval seconds, queues the due pending
 *    and the stale running tasks of this host's services (a lost message or
 *    a bus outage only delays work), and renews the claims of the tasks this
 *    process is running. Because claims are renewed, a long handler never
 *    becomes "stale" while its process lives; task_stale_after only has to
 *    cover a missed renewal or two, and after a crash the task runs again
 *    that long after the last renewal.
 *  - the periodic thread runs each module's ms_periodic entries at their
 *    interval (the first run one interval after start, as oslo does).
 *
 * A database outage makes claims and scans fail with -EAGAIN: workers and the
 * scanner just try again later, nothing is lost (the row is the truth). */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <monostack/config.h>
#include <monostack/db.h>
#include <monostack/http.h>
#include <monostack/log.h>
#include <monostack/task.h>

#include "core/task_internal.h"

#define TASK_QUEUE_MAX 4096
#define TASK_SCAN_MAX 256
#define TASK_BACKOFF_MAX_S 60
#define TASK_MAX_INTERRUPTS 5

/* --- module registry --- */

static const ms_module *const *reg_mods;
static size_t reg_nmods;
static bool reg_set;

void
ms_task_set_modules(const struct ms_module *const *mods, size_t n)
{
    reg_mods = mods;
    reg_nmods = n;
    reg_set = true;
}

const ms_module *const *
ms_task_modules(size_t *n)
{
    if (!reg_set) {
        *n = ms_modules_count;
        return ms_modules;
    }
    *n = reg_nmods;
    return reg_mods;
}

bool
ms_task_module_has_handlers(const ms_module *m)
{
    return m && m->tasks && m->tasks[0].type && m->tasks[0].run;
}

/* The registered module named service that has handlers, or NULL. */
static const ms_module *
task_module_find(const char *service)
{
    size_t n;
    const ms_module *const *mods = ms_task_modules(&n);
    for (size_t i = 0; i < n; i++) {
        if (ms_task_module_has_handlers(mods[i]) && ms_streq(mods[i]->name, service))
            return mods[i];
    }
    return NULL;
}

static const ms_task_handler *
task_handler_find(const ms_module *m, const char *type)
{
    for (const ms_task_handler *h = m->tasks; h && h->type; h++) {
        if (ms_streq(h->type, type) && h->run)
            return h;
    }
    return NULL;
}

/* --- enqueue and publish --- */

int
ms_task_enqueue(const char *service, const char *host, const char *type,
                const char *resource_id, json_t *payload, long long *id)
{
    if (ms_str_empty(service) || ms_str_empty(type))
        return -EINVAL;
    if (ms_str_empty(host))
        host = ms_conf.host;
    char *text = payload ? json_dumps(payload, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    long long tid = 0;
    int rc = ms_task_db_insert(service, host, type, resource_id, text, &tid);
    free(text);
    if (rc < 0) {
        ms_warn("Could not record the task. service=%s type=%s resource=%s rc=%d",
                service, type, resource_id ? resource_id : "-", rc);
        return rc;
    }
    if (id)
        *id = tid;
    ms_debug("task enqueued task=%lld service=%s host=%s type=%s resource=%s", tid,
             service, host, type, resource_id ? resource_id : "-");
    return 0;
}

void
ms_task_publish(const char *service, const char *host, long long id)
{
    if (ms_str_empty(host))
        host = ms_conf.host;
    char *key = ms_asprintf("%s.%s", service, host);
    char *body = ms_asprintf("{\"task_id\": %lld}", id);
    int rc = ms_bus_publish(key, body);
    if (rc < 0) {
        ms_debug("bus unavailable, task runs from the journal task=%lld queue=%s", id,
                 key);
        /* Our own host's task can still start now rather than at the next scan. */
        if (ms_streq(host, ms_conf.host))
            ms_task_wake_service(service, id);
    }
    free(key);
    free(body);
}

/* --- the pool --- */

typedef struct {
    long long id;
    const char *service; /* a registered module's name (stable) */
} task_ref;

typedef struct {
    pthread_t thread;
    int index;
    char token[128];   /* claimed_by: unique per worker and process */
    long long current; /* task being run, 0 when idle (under pool_lock) */
} task_worker;

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pool_cond; /* workers: a task was queued, or stop */
static pthread_cond_t pool_tick; /* scanner and periodic thread: stop */
static bool pool_running, pool_stopping;
static bool pool_workers_gone; /* scanner: stop renewing claims */
static pthread_once_t pool_once = PTHREAD_ONCE_INIT;
static task_ref pool_queue[TASK_QUEUE_MAX];
static size_t pool_head, pool_len;
static task_worker *pool_workers;
static int pool_nworkers;
static pthread_t pool_scanner, pool_periodic;
static bool pool_scanner_started, pool_periodic_started;

static int
task_stale_after(void)
{
    return ms_conf.task_stale_after > 0 ? ms_conf.task_stale_after : 300;
}

static int
task_poll_interval(void)
{
    return ms_conf.task_poll_interval > 0 ? ms_conf.task_poll_interval : 5;
}

/* Queue (id, service) unless already queued. Call with pool_lock held. */
static void
pool_push_locked(const char *service, long long id)
{
    for (size_t i = 0; i < pool_len; i++) {
        const task_ref *r = &pool_queue[(pool_head + i) % TASK_QUEUE_MAX];
        if (r->id == id)
            return;
    }
    if (pool_len == TASK_QUEUE_MAX) {
        ms_debug("task queue full, task=%lld left to the scanner", id);
        return;
    }
    pool_queue[(pool_head + pool_len) % TASK_QUEUE_MAX] = (task_ref){id, service};
    pool_len++;
    pthread_cond_signal(&pool_cond);
}

void
ms_task_wake_service(const char *service, long long id)
{
    const ms_module *m = task_module_find(service);
    if (!m || id <= 0)
        return;
    pthread_mutex_lock(&pool_lock);
    if (pool_running && !pool_stopping)
        pool_push_locked(m->name, id);
    pthread_mutex_unlock(&pool_lock);
}

/* Wait on cond until deadline_us (monotonic) or stop. pool_lock held. */
static void
pool_wait_until(pthread_cond_t *cond, uint64_t deadline_us)
{
    struct timespec ts = {
        .tv_sec = (time_t)(deadline_us / 1000000),
        .tv_nsec = (long)(deadline_us % 1000000) * 1000,
    };
    pthread_cond_timedwait(cond, &pool_lock, &ts);
}

/* Sleep up to seconds, returning early (false) when the pool stops. */
static bool
pool_sleep(int seconds)
{
    uint64_t deadline = ms_now_us() + (uint64_t)seconds * 1000000;
    pthread_mutex_lock(&pool_lock);
    while (!pool_stopping && ms_now_us() < deadline)
        pool_wait_until(&pool_tick, deadline);
    bool go_on = !pool_stopping;
    pthread_mutex_unlock(&pool_lock);
    return go_on;
}

static int
task_backoff(int attempts)
{
    int delay = 1;
    for (int i = 1; i < attempts && delay < TASK_BACKOFF_MAX_S; i++)
        delay *= 2;
    return delay < TASK_BACKOFF_MAX_S ? delay : TASK_BACKOFF_MAX_S;
}

/* Record the handler's outcome. A database outage here is waited out: the
 * work is done and only its record is missing. If we stop first, the claim
 * goes stale and the (idempotent) task runs again. */
static void
task_finish(task_worker *w, long long id, int hrc, const char *err, int attempts)
{
    for (;;) {
        bool owned = false;
        int rc;
        if (hrc == 0)
            rc = ms_task_db_done(id, w->token, &owned);
        else if (hrc == -EAGAIN)
            rc = ms_task_db_retry(id, w->token, task_backoff(attempts), err, &owned);
        else
            rc = ms_task_db_fail(id, w->token, err, &owned);
        if (rc == 0) {
            if (!owned)
                ms_warn("The task was taken over by another worker while it ran. "
                        "task=%lld",
                        id);
            return;
        }
        if (rc != -EAGAIN) {
            ms_error("Could not record the outcome of a task. task=%lld rc=%d", id, rc);
            return;
        }
        if (!pool_sleep(1))
            return;
    }
}

static void
worker_run(task_worker *w, const task_ref *ref)
{
    bool claimed = false;
    int rc = ms_task_db_claim(ref->id, ref->service, ms_conf.host, w->token,
                              task_stale_after(), &claimed);
    if (rc < 0) {
        ms_debug("could not claim task=%lld rc=%d; the scanner retries", ref->id, rc);
        return;
    }
    if (!claimed)
        return; /* done, taken by another worker, or not due yet */

    pthread_mutex_lock(&pool_lock);
    w->current = ref->id;
    pthread_mutex_unlock(&pool_lock);

    ms_task_row row;
    rc = ms_task_db_load(ref->id, w->token, &row);
    if (rc < 0) {
        ms_debug("claimed task=%lld vanished rc=%d", ref->id, rc);
        goto cleanup;
    }
    char *err = NULL;
    int hrc;
    const ms_module *m = task_module_find(row.service);
    const ms_task_handler *h = m ? task_handler_find(m, row.type) : NULL;
    json_t *payload = NULL;
    if (row.interrupted >= TASK_MAX_INTERRUPTS) {
        /* A task whose every run ends the process (or hangs it) must not
         * take the daemon down forever: give up on it. */
        err = ms_asprintf("The task was interrupted %d times without finishing; "
                          "giving up.",
                          row.interrupted);
        hrc = -EINTR;
    } else if (!h) {
        err = ms_asprintf("No handler for task type %s of service %s on this host.",
                          row.type, row.service);
        hrc = -ENOSYS;
    } else {
        if (row.payload) {
            json_error_t jerr;
            payload = json_loads(row.payload, JSON_DECODE_ANY, &jerr);
        }
        if (!payload)
            payload = json_object();
        ms_task task = {
            .id = ref->id,
            .service = row.service,
            .type = row.type,
            .resource_id = row.resource_id,
            .payload = payload,
            .attempts = row.attempts,
        };
        uint64_t t0 = ms_now_us();
        hrc = h->run(&task, &err);
        uint64_t us = ms_now_us() - t0;
        if (hrc == 0) {
            ms_info(
                "task done task=%lld service=%s type=%s resource=%s attempt=%d us=%llu",
                ref->id, row.service, row.type, row.resource_id ? row.resource_id : "-",
                row.attempts, (unsigned long long)us);
        } else if (hrc == -EAGAIN) {
            ms_info("task will be retried task=%lld service=%s type=%s resource=%s "
                    "attempt=%d delay_s=%d",
                    ref->id, row.service, row.type,
                    row.resource_id ? row.resource_id : "-", row.attempts,
                    task_backoff(row.attempts));
        }
    }
    if (hrc < 0 && hrc != -EAGAIN) {
        if (!err)
            err = ms_asprintf("The task failed: %s.", strerror(-hrc));
        ms_warn("task failed task=%lld service=%s type=%s resource=%s error=\"%s\"",
                ref->id, row.service, row.type, row.resource_id ? row.resource_id : "-",
                err);
    }
    task_finish(w, ref->id, hrc, err, row.attempts);
    free(err);
    json_decref(payload);
    ms_task_row_clear(&row);

cleanup:
    pthread_mutex_lock(&pool_lock);
    w->current = 0;
    pthread_mutex_unlock(&pool_lock);
}

static void *
worker_main(void *arg)
{
    task_worker *w = arg;
    pthread_mutex_lock(&pool_lock);
    while (!pool_stopping) {
        if (pool_len == 0) {
            pthread_cond_wait(&pool_cond, &pool_lock);
            continue;
        }
        task_ref ref = pool_queue[pool_head];
        pool_head = (pool_head + 1) % TASK_QUEUE_MAX;
        pool_len--;
        pthread_mutex_unlock(&pool_lock);
        worker_run(w, &ref);
        pthread_mutex_lock(&pool_lock);
    }
    pthread_mutex_unlock(&pool_lock);
    ms_db_thread_close();
    return NULL;
}

/* Renew the claims of the tasks our workers are running. */
static void
scanner_renew(void)
{
    long long ids[256];
    char tokens[256][128];
    int n = 0;
    pthread_mutex_lock(&pool_lock);
    for (int i = 0; i < pool_nworkers && n < 256; i++) {
        if (pool_workers[i].current) {
            ids[n] = pool_workers[i].current;
            memcpy(tokens[n], pool_workers[i].token, sizeof(tokens[n]));
            n++;
        }
    }
    pthread_mutex_unlock(&pool_lock);
    for (int i = 0; i < n; i++) {
        int rc = ms_task_db_renew(ids[i], tokens[i]);
        if (rc < 0)
            ms_debug("could not renew the claim of task=%lld rc=%d", ids[i], rc);
    }
}

/* Queue the due and stale tasks of every service of ours. Returns rc of the
 * first failure (the database may be down), else 0. */
static int
scanner_scan(void)
{
    size_t nmods;
    const ms_module *const *mods = ms_task_modules(&nmods);
    static long long ids[TASK_SCAN_MAX];
    for (size_t i = 0; i < nmods; i++) {
        if (!ms_task_module_has_handlers(mods[i]))
            continue;
        size_t n = 0;
        int rc = ms_task_db_scan(mods[i]->name, ms_conf.host, task_stale_after(), ids,
                                 TASK_SCAN_MAX, &n);
        if (rc < 0)
            return rc;
        if (n == 0)
            continue;
        pthread_mutex_lock(&pool_lock);
        for (size_t j = 0; j < n; j++)
            pool_push_locked(mods[i]->name, ids[j]);
        pthread_mutex_unlock(&pool_lock);
    }
    return 0;
}

static void *
scanner_main(void *arg)
{
    (void)arg;
    bool db_down = false;
    /* Renew often enough that two missed renewals still leave the claim fresh. */
    int renew_s = task_stale_after() / 3;
    if (renew_s < 1)
        renew_s = 1;
    uint64_t next_scan = 0, next_renew = 0;
    pthread_mutex_lock(&pool_lock);
    /* While stopping, handlers still running keep their claims renewed
     * until the last worker has returned. */
    while (!pool_workers_gone) {
        uint64_t now = ms_now_us();
        if (pool_stopping)
            next_scan = UINT64_MAX;
        if (now < next_scan && now < next_renew) {
            pool_wait_until(&pool_tick, next_scan < next_renew ? next_scan : next_renew);
            continue;
        }
        pthread_mutex_unlock(&pool_lock);
        if (now >= next_renew) {
            scanner_renew();
            next_renew = now + (uint64_t)renew_s * 1000000;
        }
        if (now >= next_scan) {
            int rc = scanner_scan();
            if (rc < 0 && !db_down)
                ms_warn("Cannot scan the task journal; workers wait for the database. "
                        "rc=%d",
                        rc);
            else if (rc == 0 && db_down)
                ms_info("The task journal is reachable again.");
            db_down = rc < 0;
            next_scan = now + (uint64_t)task_poll_interval() * 1000000;
        }
        pthread_mutex_lock(&pool_lock);
    }
    pthread_mutex_unlock(&pool_lock);
    ms_db_thread_close();
    return NULL;
}

/* --- periodic tasks --- */

static pthread_mutex_t periodic_lock = PTHREAD_MUTEX_INITIALIZER;

static void
periodic_run(const ms_module *m, const ms_periodic *p)
{
    uint64_t t0 = ms_now_us();
    pthread_mutex_lock(&periodic_lock);
    p->run();
    pthread_mutex_unlock(&periodic_lock);
    ms_debug("periodic task ran module=%s name=%s us=%llu", m->name, p->name,
             (unsigned long long)(ms_now_us() - t0));
}

void
ms_periodic_run_all(void)
{
    size_t n;
    const ms_module *const *mods = ms_task_modules(&n);
    for (size_t i = 0; i < n; i++) {
        for (const ms_periodic *p = mods[i]->periodic; p && p->run; p++)
            periodic_run(mods[i], p);
    }
}

typedef struct {
    const ms_module *module;
    const ms_periodic *periodic;
    uint64_t next_us;
} periodic_slot;

static void *
periodic_main(void *arg)
{
    (void)arg;
    size_t n, nslots = 0;
    const ms_module *const *mods = ms_task_modules(&n);
    for (size_t i = 0; i < n; i++) {
        for (const ms_periodic *p = mods[i]->periodic; p && p->run; p++)
            nslots++;
    }
    periodic_slot *slots = ms_calloc(nslots ? nslots : 1, sizeof(*slots));
    uint64_t start = ms_now_us();
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        for (const ms_periodic *p = mods[i]->periodic; p && p->run; p++) {
            int iv = p->interval_s > 0 ? p->interval_s : 60;
            slots[k++] = (periodic_slot){mods[i], p, start + (uint64_t)iv * 1000000};
        }
    }
    pthread_mutex_lock(&pool_lock);
    while (!pool_stopping) {
        uint64_t now = ms_now_us(), next = now + 60 * 1000000ULL;
        periodic_slot *due = NULL;
        for (size_t i = 0; i < nslots; i++) {
            if (slots[i].next_us <= now) {
                due = &slots[i];
                break;
            }
            if (slots[i].next_us < next)
                next = slots[i].next_us;
        }
        if (!due) {
            pool_wait_until(&pool_tick, next);
            continue;
        }
        pthread_mutex_unlock(&pool_lock);
        periodic_run(due->module, due->periodic);
        int iv = due->periodic->interval_s > 0 ? due->periodic->interval_s : 60;
        due->next_us = ms_now_us() + (uint64_t)iv * 1000000;
        pthread_mutex_lock(&pool_lock);
    }
    pthread_mutex_unlock(&pool_lock);
    free(slots);
    ms_db_thread_close();
    return NULL;
}

/* --- start and stop --- */

static void
pool_cond_init(pthread_cond_t *c)
{
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(c, &attr);
    pthread_condattr_destroy(&attr);
}

/* The condition variables live for the whole process: the bus consumer may
 * signal them at any time, even around a stop. */
static void
pool_init_once(void)
{
    pool_cond_init(&pool_cond);
    pool_cond_init(&pool_tick);
}

int
ms_workers_start(char **err)
{
    if (pool_running) {
        if (err)
            *err = ms_strdup("The task workers are already running.");
        return -EALREADY;
    }
    pthread_once(&pool_once, pool_init_once);
    pthread_mutex_lock(&pool_lock);
    pool_stopping = false;
    pool_workers_gone = false;
    pool_head = pool_len = 0;
    pool_running = true;
    pthread_mutex_unlock(&pool_lock);

    /* A per-start random part keeps tokens unique across restarts and
     * between processes that share a host name. */
    char boot[33];
    ms_uuid_hex(boot);
    boot[8] = '\0';
    pool_nworkers = ms_conf.task_workers > 0 ? ms_conf.task_workers : 4;
    pool_workers = ms_calloc((size_t)pool_nworkers, sizeof(*pool_workers));
    for (int i = 0; i < pool_nworkers; i++) {
        task_worker *w = &pool_workers[i];
        w->index = i;
        snprintf(w->token, sizeof(w->token), "%.64s:%ld:%s:%d", ms_conf.host,
                 (long)getpid(), boot, i);
    }
    int rc = 0, started = 0;
    for (; started < pool_nworkers; started++) {
        rc = -pthread_create(&pool_workers[started].thread, NULL, worker_main,
                             &pool_workers[started]);
        if (rc < 0)
            break;
    }
    if (rc == 0) {
        rc = -pthread_create(&pool_scanner, NULL, scanner_main, NULL);
        pool_scanner_started = rc == 0;
    }
    if (rc == 0) {
        rc = -pthread_create(&pool_periodic, NULL, periodic_main, NULL);
        pool_periodic_started = rc == 0;
    }
    if (rc < 0) {
        if (err)
            *err = ms_asprintf("Could not start a task thread: %s.", strerror(-rc));
        pool_nworkers = started;
        ms_workers_stop();
        return rc;
    }
    ms_info("task workers started workers=%d host=%s poll_s=%d stale_s=%d", pool_nworkers,
            ms_conf.host, task_poll_interval(), task_stale_after());
    return 0;
}

void
ms_workers_stop(void)
{
    if (!pool_running)
        return;
    pthread_mutex_lock(&pool_lock);
    pool_stopping = true;
    pthread_cond_broadcast(&pool_cond);
    pthread_cond_broadcast(&pool_tick);
    pthread_mutex_unlock(&pool_lock);
    /* Running handlers finish first; the scanner keeps renewing their
     * claims until the last one has returned. */
    for (int i = 0; i < pool_nworkers; i++)
        pthread_join(pool_workers[i].thread, NULL);
    pthread_mutex_lock(&pool_lock);
    pool_workers_gone = true;
    pthread_cond_broadcast(&pool_tick);
    pthread_mutex_unlock(&pool_lock);
    if (pool_scanner_started)
        pthread_join(pool_scanner, NULL);
    if (pool_periodic_started)
        pthread_join(pool_periodic, NULL);
    pool_scanner_started = pool_periodic_started = false;
    pthread_mutex_lock(&pool_lock);
    free(pool_workers);
    pool_workers = NULL;
    pool_nworkers = 0;
    pool_head = pool_len = 0;
    pool_running = false;
    pool_stopping = false;
    pthread_mutex_unlock(&pool_lock);
    ms_info("task workers stopped");
}
