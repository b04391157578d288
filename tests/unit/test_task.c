/* The task journal and the bus, against the real MariaDB and RabbitMQ of the
 * `backing` fixture: delivery over the bus, the poller picking up lost
 * messages and stale claims, retries, failures, no double runs across
 * threads and across two processes, claim renewal for long handlers, a
 * RabbitMQ stop/start while running, notifications and periodic tasks.
 *
 * Handlers record every run in the table tasktest_runs, so that runs in a
 * second process (this binary started with --worker-child) count too. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#if __has_include(<rabbitmq-c/amqp.h>)
#include <rabbitmq-c/amqp.h>
#include <rabbitmq-c/tcp_socket.h>
#else
#include <amqp.h>
#include <amqp_tcp_socket.h>
#endif

#include <monostack/config.h>
#include <monostack/db.h>
#include <monostack/http.h>
#include <monostack/log.h>
#include <monostack/task.h>

#define TEST_HOST "tasktest-host"
#define TEST_SERVICE "tasktest"

extern const ms_module core_module;

static char *self_exe;
static atomic_int periodic_runs;

/* --- handlers --- */

static int
record_run(const ms_task *t)
{
    return MS_DB_QUERY(NULL,
                       "INSERT INTO tasktest_runs (task_id, pid, type, attempt)"
                       " VALUES (?, ?, ?, ?)",
                       MS_P_INT(t->id), MS_P_INT(getpid()), MS_P_STR(t->type),
                       MS_P_INT(t->attempts));
}

static void
sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

static int
handle_count(const ms_task *t, char **err)
{
    (void)err;
    json_t *ms = json_object_get(t->payload, "sleep_ms");
    if (json_is_integer(ms))
        sleep_ms((long)json_integer_value(ms));
    return record_run(t);
}

static int
handle_flaky(const ms_task *t, char **err)
{
    record_run(t);
    if (t->attempts < 3) {
        *err = ms_asprintf("Not yet (attempt %d).", t->attempts);
        return -EAGAIN;
    }
    return 0;
}

static int
handle_fail(const ms_task *t, char **err)
{
    record_run(t);
    *err = ms_strdup("The disk is on fire.");
    return -EIO;
}

static const ms_task_handler test_handlers[] = {
    {"count", handle_count},
    {"flaky", handle_flaky},
    {"fail", handle_fail},
    {NULL, NULL},
};

static void
test_periodic_fn(void)
{
    atomic_fetch_add(&periodic_runs, 1);
}

static const ms_periodic test_periodics[] = {
    {"tasktest_tick", 3600, test_periodic_fn},
    {NULL, 0, NULL},
};

static const ms_module test_module = {
    .name = TEST_SERVICE,
    .service_type = TEST_SERVICE,
    .no_listener = true,
    .tasks = test_handlers,
    .periodic = test_periodics,
};
static const ms_module *const test_modules[] = {&core_module, &test_module};

/* --- helpers --- */

static void
setup_config(void)
{
    char *err = NULL;
    assert_int_equal(ms_config_load(NULL, &err), 0);
    assert_int_equal(ms_config_set("DEFAULT", "host", TEST_HOST, &err), 0);
    ms_conf.task_poll_interval = 1;
    ms_conf.task_workers = 4;
    ms_conf.bus_heartbeat = 5;
    const char *lvl = getenv("MS_TEST_LOG_LEVEL");
    ms_log_set_level(lvl ? lvl : "warning");
    const char *db = getenv("MS_TEST_DB_URL");
    const char *bus = getenv("MS_TEST_BUS_URL");
    assert_non_null(db);
    assert_non_null(bus);
    if (ms_db_configure(db, &err) < 0)
        fail_msg("db configure: %s", err);
    if (ms_bus_configure(bus, &err) < 0)
        fail_msg("bus configure: %s", err);
    ms_task_set_modules(test_modules, MS_ARRAY_LEN(test_modules));
}

static bool
wait_for(bool (*cond)(void *), void *arg, int timeout_s)
{
    uint64_t end = ms_now_us() + (uint64_t)timeout_s * 1000000;
    while (ms_now_us() < end) {
        if (cond(arg))
            return true;
        sleep_ms(50);
    }
    return cond(arg);
}

static bool
bus_is_up(void *arg)
{
    (void)arg;
    return ms_bus_connected();
}

static bool
bus_is_down(void *arg)
{
    (void)arg;
    return !ms_bus_connected();
}

static char *
task_state(long long id, int *attempts, char **error)
{
    ms_result *r = NULL;
    char *state = NULL;
    if (MS_DB_QUERY(&r, "SELECT state, attempts, error FROM tasks WHERE id = ?",
                    MS_P_INT(id)) == 0 &&
        r->nrows == 1) {
        state = ms_strdup(ms_cell(r, 0, 0));
        if (attempts)
            *attempts = (int)ms_cell_int(r, 0, 1);
        if (error)
            *error = ms_strdup(ms_cell(r, 0, 2));
    }
    ms_result_free(r);
    return state;
}

typedef struct {
    long long id;
    const char *state;
} state_wait;

static bool
task_in_state(void *arg)
{
    state_wait *w = arg;
    char *s = task_state(w->id, NULL, NULL);
    bool ok = ms_streq(s, w->state);
    free(s);
    return ok;
}

static bool
wait_state(long long id, const char *state, int timeout_s)
{
    state_wait w = {id, state};
    return wait_for(task_in_state, &w, timeout_s);
}

static int
run_count(long long id)
{
    ms_result *r = NULL;
    assert_int_equal(MS_DB_QUERY(&r,
                                 "SELECT COUNT(*) FROM tasktest_runs WHERE task_id = ?",
                                 MS_P_INT(id)),
                     0);
    int n = (int)ms_cell_int(r, 0, 0);
    ms_result_free(r);
    return n;
}

static long long
enqueue(const char *type, const char *resource, json_t *payload)
{
    long long id = 0;
    assert_int_equal(ms_db_begin(), 0);
    assert_int_equal(ms_task_enqueue(TEST_SERVICE, NULL, type, resource, payload, &id),
                     0);
    assert_int_equal(ms_db_commit(), 0);
    assert_true(id > 0);
    return id;
}

static void
restart_workers(int poll_interval, int stale_after, int workers)
{
    char *err = NULL;
    ms_workers_stop();
    ms_conf.task_poll_interval = poll_interval;
    ms_conf.task_stale_after = stale_after;
    ms_conf.task_workers = workers;
    if (ms_workers_start(&err) < 0)
        fail_msg("workers start: %s", err);
}

/* The fixture's directory (where mysql.sock lives) and the AMQP port. */
static void
fixture_dir_port(char *dir, size_t size, int *port)
{
    const char *db = getenv("MS_TEST_DB_URL");
    const char *sock = strstr(db, "unix_socket=");
    assert_non_null(sock);
    snprintf(dir, size, "%s", sock + strlen("unix_socket="));
    char *amp = strchr(dir, '&');
    if (amp)
        *amp = '\0';
    char *slash = strrchr(dir, '/');
    assert_non_null(slash);
    *slash = '\0';
    const char *bus = getenv("MS_TEST_BUS_URL");
    const char *colon = strrchr(bus, ':');
    *port = atoi(colon + 1);
}

static int
services(const char *verb)
{
    char dir[PATH_MAX];
    int port;
    fixture_dir_port(dir, sizeof(dir), &port);
    const char *data = getenv("MS_TEST_DATA"); /* <src>/tests/unit/data */
    char *cmd = ms_asprintf("bash '%s/../../../scripts/lib/services.sh' %s '%s' %d", data,
                            verb, dir, port);
    int rc = system(cmd);
    free(cmd);
    return rc;
}

/* --- group setup --- */

static int
group_setup(void **state)
{
    (void)state;
    setup_config();
    char *err = NULL;
    if (ms_db_sync("core", core_module.migrations, &err) < 0)
        fail_msg("db sync: %s", err);
    assert_int_equal(MS_DB_QUERY0(NULL,
                                  "CREATE TABLE IF NOT EXISTS tasktest_runs ("
                                  " task_id BIGINT NOT NULL, pid INT NOT NULL,"
                                  " type VARCHAR(64) NOT NULL, attempt INT NOT NULL,"
                                  " KEY (task_id)) ENGINE=InnoDB"),
                     0);
    assert_int_equal(MS_DB_QUERY0(NULL, "DELETE FROM tasktest_runs"), 0);
    assert_int_equal(
        MS_DB_QUERY(NULL, "DELETE FROM tasks WHERE host = ?", MS_P_STR(TEST_HOST)), 0);
    if (ms_bus_start(&err) < 0)
        fail_msg("bus start: %s", err);
    if (!wait_for(bus_is_up, NULL, 30))
        fail_msg("the bus consumer did not connect");
    if (ms_workers_start(&err) < 0)
        fail_msg("workers start: %s", err);
    return 0;
}

static int
group_teardown(void **state)
{
    (void)state;
    ms_workers_stop();
    ms_bus_stop();
    ms_db_thread_close();
    return 0;
}

/* --- tests --- */

/* With the poller slowed to a minute, only the bus can deliver quickly. */
static void
test_publish_runs_once(void **state)
{
    (void)state;
    restart_workers(60, 300, 4);
    sleep_ms(300); /* the initial scan finds nothing of ours */
    assert_true(ms_bus_connected());
    long long ids[5];
    assert_int_equal(ms_db_begin(), 0);
    for (int i = 0; i < 5; i++) {
        json_t *p = json_pack("{s:i}", "n", i);
        assert_int_equal(
            ms_task_enqueue(TEST_SERVICE, TEST_HOST, "count", "res-bus", p, &ids[i]), 0);
        json_decref(p);
    }
    assert_int_equal(ms_db_commit(), 0);
    for (int i = 0; i < 5; i++)
        ms_task_publish(TEST_SERVICE, TEST_HOST, ids[i]);
    for (int i = 0; i < 5; i++) {
        assert_true(wait_state(ids[i], "done", 10));
        int attempts = 0;
        char *s = task_state(ids[i], &attempts, NULL);
        assert_string_equal(s, "done");
        free(s);
        assert_int_equal(attempts, 1);
    }
    sleep_ms(500);
    for (int i = 0; i < 5; i++)
        assert_int_equal(run_count(ids[i]), 1);
}

/* A task whose transaction rolled back never runs. */
static void
test_rollback_no_task(void **state)
{
    (void)state;
    long long id = 0;
    assert_int_equal(ms_db_begin(), 0);
    assert_int_equal(ms_task_enqueue(TEST_SERVICE, NULL, "count", "res-rb", NULL, &id),
                     0);
    ms_db_rollback();
    char *s = task_state(id, NULL, NULL);
    assert_null(s);
}

/* Enqueued but never published (a lost message): the poller runs it. */
static void
test_lost_message_polled(void **state)
{
    (void)state;
    restart_workers(1, 300, 4);
    long long id = enqueue("count", "res-lost", NULL);
    assert_true(wait_state(id, "done", 10));
    sleep_ms(1500);
    assert_int_equal(run_count(id), 1);
}

/* A worker that crashed left its claim behind: the task runs again once the
 * claim is stale, but a fresh claim of a live worker is left alone. */
static void
test_stale_claim_rerun(void **state)
{
    (void)state;
    restart_workers(1, 30, 4);
    long long stale = 0, live = 0;
    assert_int_equal(ms_db_begin(), 0);
    assert_int_equal(
        ms_task_enqueue(TEST_SERVICE, NULL, "count", "res-stale", NULL, &stale), 0);
    assert_int_equal(
        ms_task_enqueue(TEST_SERVICE, NULL, "count", "res-live", NULL, &live), 0);
    assert_int_equal(MS_DB_QUERY(NULL,
                                 "UPDATE tasks SET state = 'running', attempts = 1,"
                                 " claimed_by = 'crashed-worker',"
                                 " claimed_at = UTC_TIMESTAMP(6) - INTERVAL 1 HOUR"
                                 " WHERE id = ?",
                                 MS_P_INT(stale)),
                     0);
    assert_int_equal(
        MS_DB_QUERY(NULL,
                    "UPDATE tasks SET state = 'running', attempts = 1,"
                    " claimed_by = 'live-worker', claimed_at = UTC_TIMESTAMP(6)"
                    " WHERE id = ?",
                    MS_P_INT(live)),
        0);
    assert_int_equal(ms_db_commit(), 0);
    ms_task_publish(TEST_SERVICE, NULL, live); /* a message must not steal it either */
    assert_true(wait_state(stale, "done", 10));
    int attempts = 0;
    char *s = task_state(stale, &attempts, NULL);
    free(s);
    assert_int_equal(attempts, 2);
    assert_int_equal(run_count(stale), 1);

    sleep_ms(2500);
    s = task_state(live, NULL, NULL);
    assert_string_equal(s, "running");
    free(s);
    assert_int_equal(run_count(live), 0);
    assert_int_equal(MS_DB_QUERY(NULL, "DELETE FROM tasks WHERE id = ?", MS_P_INT(live)),
                     0);
}

/* A task whose runs keep being interrupted (it crashes the daemon every
 * time) is given up after five takeovers instead of running forever. */
static void
test_poison_given_up(void **state)
{
    (void)state;
    long long id = 0;
    assert_int_equal(ms_db_begin(), 0);
    assert_int_equal(
        ms_task_enqueue(TEST_SERVICE, NULL, "count", "res-poison", NULL, &id), 0);
    assert_int_equal(MS_DB_QUERY(NULL,
                                 "UPDATE tasks SET state = 'running', attempts = 4,"
                                 " interrupted = 4, claimed_by = 'crashed-worker',"
                                 " claimed_at = UTC_TIMESTAMP(6) - INTERVAL 1 HOUR"
                                 " WHERE id = ?",
                                 MS_P_INT(id)),
                     0);
    assert_int_equal(ms_db_commit(), 0);
    assert_true(wait_state(id, "failed", 10));
    char *error = NULL;
    char *s = task_state(id, NULL, &error);
    free(s);
    assert_non_null(strstr(error, "interrupted 5 times"));
    free(error);
    assert_int_equal(run_count(id), 0);
}

/* -EAGAIN puts the task back with a backoff until it succeeds. */
static void
test_eagain_retried(void **state)
{
    (void)state;
    long long id = enqueue("flaky", "res-flaky", NULL);
    ms_task_publish(TEST_SERVICE, NULL, id);
    /* attempts 1 and 2 ask again (backoff 1 s, then 2 s); the third succeeds */
    assert_true(wait_state(id, "done", 20));
    int attempts = 0;
    char *error = NULL;
    char *s = task_state(id, &attempts, &error);
    free(s);
    assert_int_equal(attempts, 3);
    assert_null(error);
    assert_int_equal(run_count(id), 3);
}

/* A failing handler's message is recorded and the task is not run again. */
static void
test_failure_recorded(void **state)
{
    (void)state;
    long long id = enqueue("fail", "res-fail", NULL);
    ms_task_publish(TEST_SERVICE, NULL, id);
    assert_true(wait_state(id, "failed", 10));
    char *error = NULL;
    char *s = task_state(id, NULL, &error);
    free(s);
    assert_string_equal(error, "The disk is on fire.");
    free(error);
    sleep_ms(2500);
    assert_int_equal(run_count(id), 1);

    long long unknown = enqueue("no_such_type", "res-unknown", NULL);
    ms_task_publish(TEST_SERVICE, NULL, unknown);
    assert_true(wait_state(unknown, "failed", 10));
    s = task_state(unknown, NULL, &error);
    free(s);
    assert_non_null(strstr(error, "No handler for task type no_such_type"));
    free(error);
}

typedef struct {
    long long *ids;
    int n;
} ids_wait;

static bool
all_done(void *arg)
{
    ids_wait *w = arg;
    ms_result *r = NULL;
    if (MS_DB_QUERY(&r,
                    "SELECT COUNT(*) FROM tasks WHERE host = ? AND state = 'done'"
                    " AND id BETWEEN ? AND ?",
                    MS_P_STR(TEST_HOST), MS_P_INT(w->ids[0]),
                    MS_P_INT(w->ids[w->n - 1])) < 0)
        return false;
    bool ok = ms_cell_int(r, 0, 0) == w->n;
    ms_result_free(r);
    return ok;
}

/* A second process (this binary with --worker-child) with its own pool on the
 * same host and queue, plus 8 local workers, duplicate messages and the
 * poller all racing: every task runs exactly once. */
static void
test_concurrent_workers(void **state)
{
    (void)state;
    restart_workers(1, 300, 8);
    int pfd[2];
    assert_int_equal(pipe(pfd), 0);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        close(pfd[0]);
        char fd[16];
        snprintf(fd, sizeof(fd), "%d", pfd[1]);
        setenv("MS_CHILD_READY_FD", fd, 1);
        execl(self_exe, self_exe, "--worker-child", (char *)NULL);
        _exit(127);
    }
    close(pfd[1]);
    struct pollfd p = {.fd = pfd[0], .events = POLLIN};
    char c = 0;
    assert_int_equal(poll(&p, 1, 30000), 1);
    assert_int_equal(read(pfd[0], &c, 1), 1);
    assert_int_equal(c, 'R');
    close(pfd[0]);

    enum { N = 200 };
    long long ids[N];
    assert_int_equal(ms_db_begin(), 0);
    for (int i = 0; i < N; i++) {
        json_t *pl = json_pack("{s:i}", "sleep_ms", i % 4);
        assert_int_equal(
            ms_task_enqueue(TEST_SERVICE, NULL, "count", "res-many", pl, &ids[i]), 0);
        json_decref(pl);
    }
    assert_int_equal(ms_db_commit(), 0);
    for (int i = 0; i < N; i++) {
        ms_task_publish(TEST_SERVICE, NULL, ids[i]);
        ms_task_publish(TEST_SERVICE, NULL, ids[i]);
    }
    ids_wait w = {ids, N};
    bool done = wait_for(all_done, &w, 60);

    kill(child, SIGTERM);
    int status = 0;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(done);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);

    ms_result *r = NULL;
    assert_int_equal(
        MS_DB_QUERY(&r,
                    "SELECT COUNT(*), COUNT(DISTINCT task_id) FROM tasktest_runs"
                    " WHERE task_id BETWEEN ? AND ?",
                    MS_P_INT(ids[0]), MS_P_INT(ids[N - 1])),
        0);
    assert_int_equal(ms_cell_int(r, 0, 0), N);
    assert_int_equal(ms_cell_int(r, 0, 1), N);
    ms_result_free(r);
    assert_int_equal(MS_DB_QUERY(&r,
                                 "SELECT pid, COUNT(*) FROM tasktest_runs"
                                 " WHERE task_id BETWEEN ? AND ? GROUP BY pid",
                                 MS_P_INT(ids[0]), MS_P_INT(ids[N - 1])),
                     0);
    for (size_t i = 0; i < r->nrows; i++)
        print_message("pid %s ran %s tasks\n", ms_cell(r, i, 0), ms_cell(r, i, 1));
    ms_result_free(r);
}

/* A handler running longer than task_stale_after keeps its claim renewed,
 * so no other worker starts it a second time meanwhile. */
static void
test_long_handler_not_stale(void **state)
{
    (void)state;
    restart_workers(1, 3, 4); /* below the config minimum, to keep the test short */
    json_t *pl = json_pack("{s:i}", "sleep_ms", 7000);
    long long id = enqueue("count", "res-long", pl);
    json_decref(pl);
    ms_task_publish(TEST_SERVICE, NULL, id);
    assert_true(wait_state(id, "done", 20));
    int attempts = 0;
    char *s = task_state(id, &attempts, NULL);
    free(s);
    assert_int_equal(attempts, 1);
    assert_int_equal(run_count(id), 1);
    restart_workers(1, 300, 4);
}

static void
test_periodic(void **state)
{
    (void)state;
    int before = atomic_load(&periodic_runs);
    ms_periodic_run_all();
    assert_int_equal(atomic_load(&periodic_runs), before + 1);
    ms_periodic_run_all();
    assert_int_equal(atomic_load(&periodic_runs), before + 2);
}

/* A queue bound to the notifications exchange receives ms_notify's message. */
static void
test_notification(void **state)
{
    (void)state;
    char dir[PATH_MAX];
    int port;
    fixture_dir_port(dir, sizeof(dir), &port);
    amqp_connection_state_t conn = amqp_new_connection();
    amqp_socket_t *sock = amqp_tcp_socket_new(conn);
    assert_int_equal(amqp_socket_open(sock, "127.0.0.1", port), AMQP_STATUS_OK);
    assert_int_equal(
        amqp_login(conn, "/", 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, "guest", "guest")
            .reply_type,
        AMQP_RESPONSE_NORMAL);
    amqp_channel_open(conn, 1);
    assert_int_equal(amqp_get_rpc_reply(conn).reply_type, AMQP_RESPONSE_NORMAL);
    amqp_queue_declare_ok_t *q =
        amqp_queue_declare(conn, 1, amqp_empty_bytes, 0, 0, 1, 1, amqp_empty_table);
    assert_non_null(q);
    amqp_bytes_t qname = amqp_bytes_malloc_dup(q->queue);
    amqp_queue_bind(conn, 1, qname, amqp_cstring_bytes("notifications"),
                    amqp_cstring_bytes("notifications.#"), amqp_empty_table);
    assert_int_equal(amqp_get_rpc_reply(conn).reply_type, AMQP_RESPONSE_NORMAL);
    amqp_basic_consume(conn, 1, qname, amqp_empty_bytes, 0, 1, 0, amqp_empty_table);
    assert_int_equal(amqp_get_rpc_reply(conn).reply_type, AMQP_RESPONSE_NORMAL);

    json_t *payload = json_pack("{s:s}", "instance_id", "abc");
    ms_notify("compute", "compute.instance.create.end", payload);
    json_decref(payload);

    amqp_envelope_t env;
    struct timeval tv = {.tv_sec = 10};
    amqp_rpc_reply_t r = amqp_consume_message(conn, &env, &tv, 0);
    assert_int_equal(r.reply_type, AMQP_RESPONSE_NORMAL);
    json_t *msg = json_loadb(env.message.body.bytes, env.message.body.len, 0, NULL);
    assert_non_null(msg);
    assert_string_equal(json_string_value(json_object_get(msg, "event_type")),
                        "compute.instance.create.end");
    assert_string_equal(json_string_value(json_object_get(msg, "publisher_id")),
                        "compute." TEST_HOST);
    assert_string_equal(json_string_value(json_object_get(msg, "priority")), "INFO");
    assert_true(ms_uuid_valid(json_string_value(json_object_get(msg, "message_id"))));
    assert_non_null(json_string_value(json_object_get(msg, "timestamp")));
    assert_string_equal(json_string_value(json_object_get(json_object_get(msg, "payload"),
                                                          "instance_id")),
                        "abc");
    assert_int_equal((int)env.routing_key.len, (int)strlen("notifications.info"));
    json_decref(msg);
    amqp_destroy_envelope(&env);
    amqp_bytes_free(qname);
    amqp_channel_close(conn, 1, AMQP_REPLY_SUCCESS);
    amqp_connection_close(conn, AMQP_REPLY_SUCCESS);
    amqp_destroy_connection(conn);
}

/* RabbitMQ stops while we run: publishing fails fast, tasks asked for during
 * the outage still run; after RabbitMQ is back the consumer reconnects and
 * the bus delivers again. Runs last: it restarts the broker. */
static void
test_bus_outage(void **state)
{
    (void)state;
    restart_workers(1, 300, 4);
    assert_true(ms_bus_connected());
    assert_int_equal(services("rabbitmq-stop"), 0);
    if (!wait_for(bus_is_down, NULL, 20))
        fail_msg("the consumer did not notice RabbitMQ stopping");

    long long ids[5];
    for (int i = 0; i < 5; i++) {
        ids[i] = enqueue("count", "res-outage", NULL);
        uint64_t t0 = ms_now_us();
        ms_task_publish(TEST_SERVICE, NULL, ids[i]);
        assert_true(ms_now_us() - t0 < 2000000); /* API threads do not hang */
    }
    for (int i = 0; i < 5; i++)
        assert_true(wait_state(ids[i], "done", 15));
    for (int i = 0; i < 5; i++)
        assert_int_equal(run_count(ids[i]), 1);

    char dir[PATH_MAX];
    int port;
    fixture_dir_port(dir, sizeof(dir), &port);
    assert_int_equal(services("rabbitmq-start"), 0);
    uint64_t t0 = ms_now_us();
    if (!wait_for(bus_is_up, NULL, 30))
        fail_msg("the consumer did not reconnect after RabbitMQ came back");
    print_message("reconnected %.1f s after RabbitMQ was ready\n",
                  (double)(ms_now_us() - t0) / 1e6);

    /* Delivery over the bus again (the poller slowed to a minute). */
    restart_workers(60, 300, 4);
    sleep_ms(300);
    long long id = enqueue("count", "res-after", NULL);
    ms_task_publish(TEST_SERVICE, NULL, id);
    assert_true(wait_state(id, "done", 10));
    assert_int_equal(run_count(id), 1);
}

/* MariaDB stops while a handler runs and new work is waiting: the workers
 * pause, nothing is lost, and everything completes once it is back. This
 * stops the database every unit test shares, so it runs only when
 * MS_TEST_DISRUPT_DB is set (never under a parallel ctest). */
static void
test_db_outage(void **state)
{
    (void)state;
    if (!getenv("MS_TEST_DISRUPT_DB"))
        skip();
    restart_workers(1, 300, 4);
    json_t *pl = json_pack("{s:i}", "sleep_ms", 3000);
    long long id = enqueue("count", "res-dbdown", pl);
    json_decref(pl);
    ms_task_publish(TEST_SERVICE, NULL, id);
    assert_true(wait_state(id, "running", 10));
    assert_int_equal(services("mariadb-stop"), 0);
    sleep_ms(4000); /* the handler ends while the database is away */
    assert_int_equal(services("mariadb-start"), 0);
    assert_true(wait_state(id, "done", 30));
    long long after = enqueue("count", "res-dbback", NULL);
    ms_task_publish(TEST_SERVICE, NULL, after);
    assert_true(wait_state(after, "done", 10));
    assert_int_equal(run_count(after), 1);
}

/* --worker-child: run a worker pool until SIGTERM (test_concurrent_workers). */
static int
child_main(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    setup_config();
    ms_conf.task_workers = 8;
    char *err = NULL;
    if (ms_bus_start(&err) < 0 || !wait_for(bus_is_up, NULL, 30))
        return 2;
    if (ms_workers_start(&err) < 0)
        return 3;
    const char *fd = getenv("MS_CHILD_READY_FD");
    if (fd && write(atoi(fd), "R", 1) != 1)
        return 4;
    int sig = 0;
    sigwait(&set, &sig);
    ms_workers_stop();
    ms_bus_stop();
    ms_db_thread_close();
    return 0;
}

int
main(int argc, char **argv)
{
    self_exe = realpath("/proc/self/exe", NULL);
    signal(SIGPIPE, SIG_IGN);
    if (argc > 1 && strcmp(argv[1], "--worker-child") == 0)
        return child_main();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_publish_runs_once),
        cmocka_unit_test(test_rollback_no_task),
        cmocka_unit_test(test_lost_message_polled),
        cmocka_unit_test(test_stale_claim_rerun),
        cmocka_unit_test(test_poison_given_up),
        cmocka_unit_test(test_eagain_retried),
        cmocka_unit_test(test_failure_recorded),
        cmocka_unit_test(test_concurrent_workers),
        cmocka_unit_test(test_long_handler_not_stale),
        cmocka_unit_test(test_periodic),
        cmocka_unit_test(test_notification),
        cmocka_unit_test(test_bus_outage),
        cmocka_unit_test(test_db_outage),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
