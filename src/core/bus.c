/* The message bus over AMQP 0-9-1 (rabbitmq-c, plain TCP).
 *
 * Two connections, each used by one thread only:
 *  - the publisher thread, fed by a bounded in-memory queue: ms_bus_publish
 *    only queues, so API threads never wait on the broker. While the broker
 *    is unreachable (or the queue is full) it returns -EAGAIN at once and
 *    the queued messages are dropped: the task journal covers them. It
 *    reconnects on demand with the same backoff and services heartbeats.
 *  - the consumer thread, which declares the topic exchanges "monostack"
 *    (tasks) and "notifications", one durable queue "<service>.<host>" per
 *    module with task handlers, bound with that routing key, and hands each
 *    message's task id to the worker pool. It reconnects forever with a
 *    backoff of 1 s growing to 5 s, until ms_bus_stop().
 *
 * Task messages are {"task_id": N}. Notifications are oslo.messaging-style
 * {message_id, publisher_id, event_type, priority, payload, timestamp}
 * with routing key "notifications.info". */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#if __has_include(<rabbitmq-c/amqp.h>)
#include <rabbitmq-c/amqp.h>
#include <rabbitmq-c/tcp_socket.h>
#else
#include <amqp.h>
#include <amqp_tcp_socket.h>
#endif

#include <monostack/config.h>
#include <monostack/http.h>
#include <monostack/log.h>
#include <monostack/task.h>

#include "core/task_internal.h"

#define BUS_TASK_EXCHANGE "monostack"
#define BUS_NOTIFY_EXCHANGE "notifications"
#define BUS_NOTIFY_KEY "notifications.info"
#define BUS_CHANNEL 1
#define BUS_FRAME_MAX 131072
/* The consumer may wait for a slow broker; a publisher runs in an API thread
 * and must give up quickly (the journal covers the message). */
#define BUS_CONS_CONNECT_TIMEOUT_S 3
#define BUS_CONS_RPC_TIMEOUT_S 5
#define BUS_PUB_CONNECT_TIMEOUT_S 1
#define BUS_PUB_RPC_TIMEOUT_S 2
#define BUS_BACKOFF_MAX_S 5

static struct {
    bool configured;
    char *host, *user, *password, *vhost;
    int port;
} bus_cfg;

static pthread_mutex_t pub_lock = PTHREAD_MUTEX_INITIALIZER;
static bool pub_failing; /* the broker is unreachable for publishing */

static pthread_mutex_t cons_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cons_cond = PTHREAD_COND_INITIALIZER;
static pthread_t cons_thread;
static bool cons_started, cons_stopping;
static atomic_bool cons_up;

/* --- configuration --- */

static void
bus_cfg_clear(void)
{
    free(bus_cfg.host);
    free(bus_cfg.user);
    free(bus_cfg.password);
    free(bus_cfg.vhost);
    memset(&bus_cfg, 0, sizeof(bus_cfg));
}

int
ms_bus_configure(const char *url, char **err)
{
    if (ms_str_empty(url)) {
        if (err)
            *err = ms_strdup("The bus URL is empty.");
        return -EINVAL;
    }
    /* oslo.messaging spells the scheme rabbit://; rabbitmq-c wants amqp://. */
    char *copy = strncmp(url, "rabbit://", 9) == 0 ? ms_asprintf("amqp://%s", url + 9)
                                                   : ms_strdup(url);
    struct amqp_connection_info info;
    amqp_default_connection_info(&info);
    if (amqp_parse_url(copy, &info) != AMQP_STATUS_OK || info.ssl) {
        free(copy);
        if (err)
            *err = ms_strdup("The bus URL is not of the form "
                             "amqp://user:password@host:port/vhost.");
        return -EINVAL;
    }
    bus_cfg_clear();
    bus_cfg.host = ms_strdup(info.host);
    bus_cfg.port = info.port;
    bus_cfg.user = ms_strdup(info.user);
    bus_cfg.password = ms_strdup(info.password);
    /* "amqp://host/" names the default vhost "/", as in oslo.messaging. */
    bus_cfg.vhost = ms_strdup(ms_str_empty(info.vhost) ? "/" : info.vhost);
    bus_cfg.configured = true;
    free(copy);
    return 0;
}

/* --- connections --- */

static void
bus_reply_text(amqp_rpc_reply_t r, char *buf, size_t size)
{
    switch (r.reply_type) {
    case AMQP_RESPONSE_NORMAL:
        snprintf(buf, size, "ok");
        break;
    case AMQP_RESPONSE_NONE:
        snprintf(buf, size, "missing reply");
        break;
    case AMQP_RESPONSE_LIBRARY_EXCEPTION:
        snprintf(buf, size, "%s", amqp_error_string2(r.library_error));
        break;
    case AMQP_RESPONSE_SERVER_EXCEPTION:
        if (r.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
            amqp_connection_close_t *c = r.reply.decoded;
            snprintf(buf, size, "server closed the connection: %u %.*s", c->reply_code,
                     (int)c->reply_text.len, (const char *)c->reply_text.bytes);
        } else if (r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
            amqp_channel_close_t *c = r.reply.decoded;
            snprintf(buf, size, "server closed the channel: %u %.*s", c->reply_code,
                     (int)c->reply_text.len, (const char *)c->reply_text.bytes);
        } else {
            snprintf(buf, size, "server error, method 0x%08x", r.reply.id);
        }
        break;
    }
}

static bool
bus_rpc_ok(amqp_connection_state_t conn, const char *what, char *why, size_t size)
{
    amqp_rpc_reply_t r = amqp_get_rpc_reply(conn);
    if (r.reply_type == AMQP_RESPONSE_NORMAL)
        return true;
    char text[256];
    bus_reply_text(r, text, sizeof(text));
    snprintf(why, size, "%s: %s", what, text);
    return false;
}

static bool
bus_declare_exchange(amqp_connection_state_t conn, const char *name, char *why,
                     size_t size)
{
    amqp_exchange_declare(conn, BUS_CHANNEL, amqp_cstring_bytes(name),
                          amqp_cstring_bytes("topic"), 0, 1, 0, 0, amqp_empty_table);
    return bus_rpc_ok(conn, "exchange.declare", why, size);
}

/* Connect, log in, open the channel and declare both exchanges. Returns the
 * connection, or NULL with the reason in why. */
static amqp_connection_state_t
bus_open(int heartbeat, int connect_s, int rpc_s, char *why, size_t size)
{
    amqp_connection_state_t conn = amqp_new_connection();
    amqp_socket_t *sock = amqp_tcp_socket_new(conn);
    struct timeval connect_tv = {.tv_sec = connect_s};
    struct timeval rpc_tv = {.tv_sec = rpc_s};
    if (!sock) {
        snprintf(why, size, "cannot create a socket");
        goto fail;
    }
    int rc = amqp_socket_open_noblock(sock, bus_cfg.host, bus_cfg.port, &connect_tv);
    if (rc != AMQP_STATUS_OK) {
        snprintf(why, size, "cannot connect to %s:%d: %s", bus_cfg.host, bus_cfg.port,
                 amqp_error_string2(rc));
        goto fail;
    }
    amqp_set_handshake_timeout(conn, &rpc_tv);
    amqp_set_rpc_timeout(conn, &rpc_tv);
    amqp_rpc_reply_t r =
        amqp_login(conn, bus_cfg.vhost, 0, BUS_FRAME_MAX, heartbeat,
                   AMQP_SASL_METHOD_PLAIN, bus_cfg.user, bus_cfg.password);
    if (r.reply_type != AMQP_RESPONSE_NORMAL) {
        char text[256];
        bus_reply_text(r, text, sizeof(text));
        snprintf(why, size, "login to %s:%d as %s failed: %s", bus_cfg.host, bus_cfg.port,
                 bus_cfg.user, text);
        goto fail;
    }
    amqp_channel_open(conn, BUS_CHANNEL);
    if (!bus_rpc_ok(conn, "channel.open", why, size))
        goto fail;
    if (!bus_declare_exchange(conn, BUS_TASK_EXCHANGE, why, size) ||
        !bus_declare_exchange(conn, BUS_NOTIFY_EXCHANGE, why, size))
        goto fail;
    return conn;

fail:
    amqp_destroy_connection(conn);
    return NULL;
}

/* Close politely (the broker logs abrupt closes), then free. */
static void
bus_close(amqp_connection_state_t conn, bool polite)
{
    if (!conn)
        return;
    if (polite) {
        amqp_channel_close(conn, BUS_CHANNEL, AMQP_REPLY_SUCCESS);
        amqp_connection_close(conn, AMQP_REPLY_SUCCESS);
    }
    amqp_destroy_connection(conn);
}

/* Read whatever the broker sent without blocking: this answers heartbeats
 * and notices a closed socket or a connection.close. -EPIPE when the
 * connection is no longer usable. */
static int
bus_drain(amqp_connection_state_t conn)
{
    for (;;) {
        int fd = amqp_get_sockfd(conn);
        if (!amqp_data_in_buffer(conn) && !amqp_frames_enqueued(conn)) {
            struct pollfd pfd = {.fd = fd, .events = POLLIN};
            int n = poll(&pfd, 1, 0);
            if (n == 0)
                return 0;
            if (n < 0)
                return errno == EINTR ? 0 : -EPIPE;
        }
        amqp_frame_t frame;
        struct timeval zero = {0, 0};
        int rc = amqp_simple_wait_frame_noblock(conn, &frame, &zero);
        if (rc == AMQP_STATUS_TIMEOUT)
            return 0;
        if (rc != AMQP_STATUS_OK)
            return -EPIPE;
        if (frame.frame_type == AMQP_FRAME_METHOD &&
            (frame.payload.method.id == AMQP_CONNECTION_CLOSE_METHOD ||
             frame.payload.method.id == AMQP_CHANNEL_CLOSE_METHOD))
            return -EPIPE;
    }
}

/* --- publishing --- */

/* Messages wait here for the publisher thread. Callers never touch the
 * socket: rabbitmq-c's basic.publish can block without a deadline on a
 * broker that stopped reading (seen with a SIGSTOPped RabbitMQ). */
#define PUB_QUEUE_MAX 1024

typedef struct {
    const char *exchange; /* one of the BUS_*_EXCHANGE literals */
    char *routing_key;
    char *body;
} pub_msg;

static pub_msg pub_queue[PUB_QUEUE_MAX];
static size_t pub_head, pub_len;
static pthread_cond_t pub_cond = PTHREAD_COND_INITIALIZER;
static pthread_t pub_thread;
static bool pub_started, pub_stopping;
static int pub_fd = -1; /* its socket, so a stop can unblock it */

static void
pub_msg_free(pub_msg *m)
{
    free(m->routing_key);
    free(m->body);
    memset(m, 0, sizeof(*m));
}

/* Drop every queued message (the broker is unreachable; the journal has
 * the tasks). pub_lock held. */
static void
pub_discard_locked(void)
{
    while (pub_len > 0) {
        pub_msg_free(&pub_queue[pub_head]);
        pub_head = (pub_head + 1) % PUB_QUEUE_MAX;
        pub_len--;
    }
}

static int
bus_publish(const char *exchange, const char *routing_key, const char *body)
{
    int rc = -EAGAIN;
    pthread_mutex_lock(&pub_lock);
    /* While the broker is known to be unreachable, say so at once so the
     * caller can fall back (ms_task_publish wakes local workers). */
    if (pub_started && !pub_stopping && !pub_failing && pub_len < PUB_QUEUE_MAX) {
        pub_queue[(pub_head + pub_len) % PUB_QUEUE_MAX] = (pub_msg){
            .exchange = exchange,
            .routing_key = ms_strdup(routing_key),
            .body = ms_strdup(body),
        };
        pub_len++;
        pthread_cond_signal(&pub_cond);
        rc = 0;
    }
    pthread_mutex_unlock(&pub_lock);
    return rc;
}

int
ms_bus_publish(const char *routing_key, const char *body)
{
    return bus_publish(BUS_TASK_EXCHANGE, routing_key, body);
}

static int
pub_send(amqp_connection_state_t conn, const pub_msg *m)
{
    amqp_basic_properties_t props = {
        ._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG,
        .content_type = amqp_cstring_bytes("application/json"),
        .delivery_mode = 2, /* persistent: survives a broker restart */
    };
    if (bus_drain(conn) < 0)
        return -EPIPE;
    int rc = amqp_basic_publish(conn, BUS_CHANNEL, amqp_cstring_bytes(m->exchange),
                                amqp_cstring_bytes(m->routing_key), 0, 0, &props,
                                amqp_cstring_bytes(m->body));
    return rc == AMQP_STATUS_OK ? 0 : -EPIPE;
}

/* Forget the publisher socket before closing it, so that ms_bus_stop never
 * shuts down a descriptor number that was closed and reused meanwhile. */
static void
pub_drop(amqp_connection_state_t *conn, bool polite)
{
    pthread_mutex_lock(&pub_lock);
    pub_fd = -1;
    pthread_mutex_unlock(&pub_lock);
    bus_close(*conn, polite);
    *conn = NULL;
}

/* The publisher thread: connects on demand, sends queued messages, keeps an
 * idle connection alive (heartbeats) and notices a broker that went away. */
static void *
pub_main(void *arg)
{
    (void)arg;
    amqp_connection_state_t conn = NULL;
    int backoff = 1;
    uint64_t retry_at = 0;
    pthread_mutex_lock(&pub_lock);
    while (!pub_stopping) {
        uint64_t now = ms_now_us();
        if (!conn && (pub_len > 0 || pub_failing) && now >= retry_at) {
            pthread_mutex_unlock(&pub_lock);
            char why[512];
            conn = bus_open(ms_conf.bus_heartbeat, BUS_PUB_CONNECT_TIMEOUT_S,
                            BUS_PUB_RPC_TIMEOUT_S, why, sizeof(why));
            pthread_mutex_lock(&pub_lock);
            pub_fd = conn ? amqp_get_sockfd(conn) : -1;
            if (!conn) {
                if (!pub_failing)
                    ms_warn("Cannot publish on the bus, retrying: %s.", why);
                pub_failing = true;
                pub_discard_locked();
                retry_at = ms_now_us() + (uint64_t)backoff * 1000000;
                backoff =
                    backoff * 2 < BUS_BACKOFF_MAX_S ? backoff * 2 : BUS_BACKOFF_MAX_S;
                continue;
            }
            if (pub_failing)
                ms_info("publishing on the bus again host=%s port=%d", bus_cfg.host,
                        bus_cfg.port);
            pub_failing = false;
            backoff = 1;
        }
        if (conn && pub_len > 0) {
            pub_msg m = pub_queue[pub_head];
            pub_head = (pub_head + 1) % PUB_QUEUE_MAX;
            pub_len--;
            pthread_mutex_unlock(&pub_lock);
            int rc = pub_send(conn, &m);
            if (rc < 0) {
                /* Likely a connection the broker dropped while idle: one more
                 * try on a fresh one, then the message is given up. */
                pub_drop(&conn, false);
                char why[512] = "stopping";
                pthread_mutex_lock(&pub_lock);
                bool stopping = pub_stopping;
                pthread_mutex_unlock(&pub_lock);
                if (!stopping)
                    conn = bus_open(ms_conf.bus_heartbeat, BUS_PUB_CONNECT_TIMEOUT_S,
                                    BUS_PUB_RPC_TIMEOUT_S, why, sizeof(why));
                if (conn) {
                    pthread_mutex_lock(&pub_lock);
                    pub_fd = amqp_get_sockfd(conn);
                    pthread_mutex_unlock(&pub_lock);
                    if (pub_send(conn, &m) < 0)
                        pub_drop(&conn, false);
                }
                if (!conn)
                    ms_debug("publish failed routing_key=%s: %s", m.routing_key, why);
            }
            pub_msg_free(&m);
            pthread_mutex_lock(&pub_lock);
            if (!conn) {
                if (!pub_failing)
                    ms_warn("Lost the bus connection for publishing.");
                pub_failing = true;
                pub_discard_locked();
                retry_at = ms_now_us() + (uint64_t)backoff * 1000000;
            }
            continue;
        }
        if (conn) {
            pthread_mutex_unlock(&pub_lock);
            bool dead = bus_drain(conn) < 0;
            if (dead)
                pub_drop(&conn, false);
            pthread_mutex_lock(&pub_lock);
            if (dead) {
                ms_warn("Lost the bus connection for publishing.");
                pub_failing = true;
                retry_at = ms_now_us() + 1000000;
                continue;
            }
        }
        if (pub_len > 0 && conn)
            continue;
        /* Wake for a message, or each second for heartbeats and retries. */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        pthread_cond_timedwait(&pub_cond, &pub_lock, &ts);
    }
    pub_discard_locked();
    pthread_mutex_unlock(&pub_lock);
    if (conn)
        pub_drop(&conn, true);
    return NULL;
}

void
ms_notify(const char *publisher, const char *event_type, json_t *payload)
{
    char id[37], ts[40];
    ms_uuid(id);
    /* oslo.messaging writes str(datetime.utcnow()): "YYYY-MM-DD HH:MM:SS.ffffff". */
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    struct tm tm;
    gmtime_r(&now.tv_sec, &tm);
    size_t n = strftime(ts, sizeof(ts), "%Y-%m-%d %H:%M:%S", &tm);
    snprintf(ts + n, sizeof(ts) - n, ".%06ld", now.tv_nsec / 1000);

    if (ms_str_empty(publisher))
        publisher = "monostack";
    char *publisher_id = strchr(publisher, '.')
                             ? ms_strdup(publisher)
                             : ms_asprintf("%s.%s", publisher, ms_conf.host);
    json_t *msg = json_pack(
        "{s:s, s:s, s:s, s:s, s:o, s:s}", "message_id", id, "publisher_id", publisher_id,
        "event_type", event_type ? event_type : "", "priority", "INFO", "payload",
        payload ? json_incref(payload) : json_object(), "timestamp", ts);
    char *body = json_dumps(msg, JSON_COMPACT);
    int rc = body ? bus_publish(BUS_NOTIFY_EXCHANGE, BUS_NOTIFY_KEY, body) : -ENOMEM;
    if (rc < 0)
        ms_debug("notification dropped event_type=%s rc=%d", event_type, rc);
    free(body);
    json_decref(msg);
    free(publisher_id);
}

/* --- consuming --- */

/* Declare, bind and consume every queue of ours. The consumer tag is the
 * module name, so a delivery tells which service it is for. */
static bool
cons_setup(amqp_connection_state_t conn, char *why, size_t size)
{
    size_t n;
    const ms_module *const *mods = ms_task_modules(&n);
    amqp_basic_qos(conn, BUS_CHANNEL, 0, 64, 0);
    if (!bus_rpc_ok(conn, "basic.qos", why, size))
        return false;
    for (size_t i = 0; i < n; i++) {
        if (!ms_task_module_has_handlers(mods[i]))
            continue;
        char *queue = ms_asprintf("%s.%s", mods[i]->name, ms_conf.host);
        amqp_queue_declare(conn, BUS_CHANNEL, amqp_cstring_bytes(queue), 0, 1, 0, 0,
                           amqp_empty_table);
        bool ok = bus_rpc_ok(conn, "queue.declare", why, size);
        if (ok) {
            amqp_queue_bind(conn, BUS_CHANNEL, amqp_cstring_bytes(queue),
                            amqp_cstring_bytes(BUS_TASK_EXCHANGE),
                            amqp_cstring_bytes(queue), amqp_empty_table);
            ok = bus_rpc_ok(conn, "queue.bind", why, size);
        }
        if (ok) {
            /* no_ack: the journal, not the broker, makes delivery reliable. */
            amqp_basic_consume(conn, BUS_CHANNEL, amqp_cstring_bytes(queue),
                               amqp_cstring_bytes(mods[i]->name), 0, 1, 0,
                               amqp_empty_table);
            ok = bus_rpc_ok(conn, "basic.consume", why, size);
        }
        free(queue);
        if (!ok)
            return false;
    }
    return true;
}

static void
cons_deliver(const amqp_envelope_t *env)
{
    char service[64];
    size_t tl = env->consumer_tag.len < sizeof(service) - 1 ? env->consumer_tag.len
                                                            : sizeof(service) - 1;
    memcpy(service, env->consumer_tag.bytes, tl);
    service[tl] = '\0';

    long long id = 0;
    json_error_t jerr;
    json_t *body = json_loadb(env->message.body.bytes, env->message.body.len,
                              JSON_DECODE_ANY, &jerr);
    if (json_is_object(body))
        id = json_integer_value(json_object_get(body, "task_id"));
    else if (json_is_integer(body))
        id = json_integer_value(body);
    json_decref(body);
    if (id <= 0) {
        ms_warn("Ignoring a bus message without a task id. queue_service=%s", service);
        return;
    }
    ms_debug("task message task=%lld service=%s", id, service);
    ms_task_wake_service(service, id);
}

/* Consume until the connection fails or we stop. */
static void
cons_run(amqp_connection_state_t conn)
{
    for (;;) {
        pthread_mutex_lock(&cons_lock);
        bool stop = cons_stopping;
        pthread_mutex_unlock(&cons_lock);
        if (stop)
            return;
        amqp_maybe_release_buffers(conn);
        amqp_envelope_t env;
        struct timeval tv = {.tv_sec = 1};
        amqp_rpc_reply_t r = amqp_consume_message(conn, &env, &tv, 0);
        if (r.reply_type == AMQP_RESPONSE_NORMAL) {
            cons_deliver(&env);
            amqp_destroy_envelope(&env);
            continue;
        }
        if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
            r.library_error == AMQP_STATUS_TIMEOUT)
            continue;
        if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
            r.library_error == AMQP_STATUS_UNEXPECTED_STATE) {
            /* Something other than a delivery: a close, a cancel (queue
             * deleted), a returned message. */
            amqp_frame_t frame;
            if (amqp_simple_wait_frame(conn, &frame) != AMQP_STATUS_OK)
                break;
            if (frame.frame_type != AMQP_FRAME_METHOD)
                continue;
            amqp_method_number_t m = frame.payload.method.id;
            if (m == AMQP_CONNECTION_CLOSE_METHOD || m == AMQP_CHANNEL_CLOSE_METHOD ||
                m == AMQP_BASIC_CANCEL_METHOD) {
                ms_warn("The bus closed our consumer (method 0x%08x).", m);
                break;
            }
            if (m == AMQP_BASIC_RETURN_METHOD) {
                amqp_message_t msg;
                if (amqp_read_message(conn, frame.channel, &msg, 0).reply_type !=
                    AMQP_RESPONSE_NORMAL)
                    break;
                amqp_destroy_message(&msg);
            }
            continue;
        }
        char text[256];
        bus_reply_text(r, text, sizeof(text));
        ms_warn("Lost the bus connection: %s.", text);
        break;
    }
}

/* Sleep up to seconds unless stopping; returns false when stopping. */
static bool
cons_sleep(int seconds)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += seconds;
    pthread_mutex_lock(&cons_lock);
    while (!cons_stopping) {
        if (pthread_cond_timedwait(&cons_cond, &cons_lock, &ts) == ETIMEDOUT)
            break;
    }
    bool go_on = !cons_stopping;
    pthread_mutex_unlock(&cons_lock);
    return go_on;
}

static void *
cons_main(void *arg)
{
    (void)arg;
    int backoff = 1;
    bool failing = false;
    for (;;) {
        pthread_mutex_lock(&cons_lock);
        bool stop = cons_stopping;
        pthread_mutex_unlock(&cons_lock);
        if (stop)
            break;
        char why[512];
        amqp_connection_state_t conn =
            bus_open(ms_conf.bus_heartbeat, BUS_CONS_CONNECT_TIMEOUT_S,
                     BUS_CONS_RPC_TIMEOUT_S, why, sizeof(why));
        if (conn && !cons_setup(conn, why, sizeof(why))) {
            bus_close(conn, false);
            conn = NULL;
        }
        if (!conn) {
            if (!failing)
                ms_warn("Cannot consume from the bus, retrying: %s.", why);
            else
                ms_debug("bus still unavailable: %s", why);
            failing = true;
            if (!cons_sleep(backoff))
                break;
            backoff = backoff * 2 < BUS_BACKOFF_MAX_S ? backoff * 2 : BUS_BACKOFF_MAX_S;
            continue;
        }
        ms_info("consuming from the bus host=%s port=%d vhost=%s heartbeat=%d",
                bus_cfg.host, bus_cfg.port, bus_cfg.vhost, ms_conf.bus_heartbeat);
        failing = false;
        backoff = 1;
        atomic_store(&cons_up, true);
        cons_run(conn);
        atomic_store(&cons_up, false);
        pthread_mutex_lock(&cons_lock);
        stop = cons_stopping;
        pthread_mutex_unlock(&cons_lock);
        bus_close(conn, stop);
        if (stop)
            break;
        if (!cons_sleep(backoff))
            break;
    }
    return NULL;
}

int
ms_bus_start(char **err)
{
    if (!bus_cfg.configured && ms_bus_configure(ms_conf.bus_url, err) < 0)
        return -EINVAL;
    if (cons_started) {
        if (err)
            *err = ms_strdup("The bus client is already running.");
        return -EALREADY;
    }
    cons_stopping = false;
    pthread_mutex_lock(&pub_lock);
    pub_stopping = false;
    pub_failing = false;
    pthread_mutex_unlock(&pub_lock);
    int rc = -pthread_create(&pub_thread, NULL, pub_main, NULL);
    if (rc == 0) {
        pthread_mutex_lock(&pub_lock);
        pub_started = true;
        pthread_mutex_unlock(&pub_lock);
        rc = -pthread_create(&cons_thread, NULL, cons_main, NULL);
        cons_started = rc == 0;
    }
    if (rc < 0) {
        if (err)
            *err = ms_asprintf("Could not start a bus thread: %s.", strerror(-rc));
        ms_bus_stop();
        return rc;
    }
    return 0;
}

void
ms_bus_stop(void)
{
    /* Tell both threads first, so their timeouts run concurrently. */
    pthread_mutex_lock(&cons_lock);
    cons_stopping = true;
    pthread_cond_broadcast(&cons_cond);
    pthread_mutex_unlock(&cons_lock);
    pthread_mutex_lock(&pub_lock);
    bool join = pub_started;
    pub_stopping = true;
    pthread_cond_broadcast(&pub_cond);
    pthread_mutex_unlock(&pub_lock);

    if (cons_started) {
        pthread_join(cons_thread, NULL);
        cons_started = false;
    }
    if (join) {
        /* A broker that stopped reading can block basic.publish forever:
         * after a grace period, shut the socket down under it. */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 2;
        if (pthread_timedjoin_np(pub_thread, NULL, &ts) != 0) {
            pthread_mutex_lock(&pub_lock);
            if (pub_fd >= 0)
                shutdown(pub_fd, SHUT_RDWR);
            pthread_mutex_unlock(&pub_lock);
            pthread_join(pub_thread, NULL);
        }
    }
    pthread_mutex_lock(&pub_lock);
    pub_started = false;
    pub_failing = false;
    pthread_mutex_unlock(&pub_lock);
}

bool
ms_bus_connected(void)
{
    return atomic_load(&cons_up);
}
