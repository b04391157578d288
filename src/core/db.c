/* Database access over MariaDB Connector/C (see include/monostack/db.h).
 *
 * Each thread owns one connection (opened on first use, closed by
 * ms_db_thread_close or at thread exit) and a cache of prepared statements
 * keyed by the caller's SQL pointer, so a statement is prepared once per
 * connection and then only bound and executed: one round trip per query.
 * Results are read unbuffered (no mysql_stmt_store_result copy) straight
 * into one arena per result; every column is bound as a string, so the
 * library converts numbers and DATETIMEs ("YYYY-MM-DD HH:MM:SS[.ffffff]")
 * to text for us.
 *
 * Failure policy: a connection that turns out to be dead is dropped; outside
 * a transaction the statement is retried once on a fresh connection (the
 * usual case is an idle connection killed or timed out by the server).
 * Inside a transaction the transaction is lost: the call and every later
 * one until commit/rollback return -EAGAIN, so nothing silently runs in
 * autocommit mode in the middle of what the caller believes is a
 * transaction. Short client timeouts turn an outage into -EAGAIN (HTTP 503)
 * within seconds instead of hanging API threads. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <errmsg.h>
#include <mysql.h>
#include <mysqld_error.h>

#include <monostack/db.h>
#include <monostack/log.h>

/* Seconds. A lock wait gives up before the read timeout would cut the
 * connection, so contention surfaces as a clean -EAGAIN. */
#define DB_CONNECT_TIMEOUT 3
#define DB_READ_TIMEOUT 10
#define DB_WRITE_TIMEOUT 10
#define DB_INIT_COMMAND "SET SESSION time_zone = '+00:00', innodb_lock_wait_timeout = 5"

#define DB_CELL_BUF 256            /* initial per-column fetch buffer */
#define DB_CELL_BUF_MAX 65536      /* larger values are fetched column by column */
#define DB_CACHE_MAX 1024          /* statements per connection before the cache resets */

#define DB_ER_CLIENT_INTERACTION_TIMEOUT 4031   /* MariaDB 10.11+, not in errmsg.h */

/* Internal outcomes besides 0 and -errno. */
#define DB_LOST 1         /* connection dead: drop it, maybe retry */
#define DB_REPREPARE 2    /* the server forgot or invalidated the statement */

typedef struct {
    char *user, *pass, *host, *db, *sock;
    unsigned port;
} db_target;

static pthread_mutex_t conf_lock = PTHREAD_MUTEX_INITIALIZER;
static db_target conf;              /* guarded by conf_lock */
static bool configured;             /* guarded by conf_lock */
static atomic_uint conf_gen;        /* bumped by ms_db_configure; stale connections reopen */
static atomic_llong last_down_log;  /* rate limit for "database unreachable" warnings */

/* A prepared statement and the bind arrays it reuses on every execution. */
typedef struct {
    const char *key;          /* the caller's pointer */
    char *sql;                /* a copy, to notice a reused address with other text */
    MYSQL_STMT *st;
    unsigned nparams, ncols;
    MYSQL_BIND *pbind;
    unsigned long *plen;
    MYSQL_BIND *rbind;
    unsigned long *rlen;
    my_bool *rnull, *rerr;
    char **rbuf;
    size_t *rcap, *rwant;     /* buffer sizes; sizes wanted for the next execution */
    char *names;              /* column names, NUL-separated */
    size_t names_len;
} db_stmt;

typedef struct {
    MYSQL *my;
    unsigned gen;
    bool thread_inited;
    bool in_tx, tx_lost;
    db_stmt **slots;          /* open addressing by key pointer */
    size_t cap, count;
} db_thread;

/* A result and the arena holding its column names and cells. ms_result is
 * the first member, so ms_result_free can find the rest. */
typedef struct {
    ms_result pub;
    char *arena;
} db_result;

static __thread db_thread *tl;
static pthread_key_t tl_key;
static pthread_once_t tl_once = PTHREAD_ONCE_INIT;

static void db_thread_free(db_thread *t);

static void
db_key_destroy(void *p)
{
    db_thread *t = p;
    db_thread_free(t);
    tl = NULL;
}

static void
db_once(void)
{
    mysql_library_init(0, NULL, NULL);
    pthread_key_create(&tl_key, db_key_destroy);
}

static db_thread *
db_thread_get(void)
{
    if (tl)
        return tl;
    pthread_once(&tl_once, db_once);
    tl = ms_calloc(1, sizeof(*tl));
    pthread_setspecific(tl_key, tl);
    return tl;
}

/* ---- results ---- */

long long
ms_cell_int(const ms_result *r, size_t row, size_t col)
{
    const char *s = ms_cell(r, row, col);
    return s ? strtoll(s, NULL, 10) : 0;
}

bool
ms_cell_bool(const ms_result *r, size_t row, size_t col)
{
    const char *s = ms_cell(r, row, col);
    if (!s)
        return false;
    if (s[0] == 't' || s[0] == 'T' || s[0] == 'y' || s[0] == 'Y')
        return true;
    return strtoll(s, NULL, 10) != 0;
}

void
ms_result_free(ms_result *r)
{
    if (!r)
        return;
    db_result *dr = (db_result *)r;
    free(r->cells);
    free(r->lens);
    free(r->colnames);
    free(dr->arena);
    free(dr);
}

/* ---- statement cache ---- */

static void
db_stmt_free(db_stmt *e)
{
    if (!e)
        return;
    if (e->st)
        mysql_stmt_close(e->st);
    for (unsigned i = 0; i < e->ncols; i++)
        free(e->rbuf[i]);
    free(e->sql);
    free(e->pbind);
    free(e->plen);
    free(e->rbind);
    free(e->rlen);
    free(e->rnull);
    free(e->rerr);
    free(e->rbuf);
    free(e->rcap);
    free(e->rwant);
    free(e->names);
    free(e);
}

static void
db_stmt_free_result_side(db_stmt *e)
{
    for (unsigned i = 0; i < e->ncols; i++)
        free(e->rbuf[i]);
    free(e->rbind);
    free(e->rlen);
    free(e->rnull);
    free(e->rerr);
    free(e->rbuf);
    free(e->rcap);
    free(e->rwant);
    free(e->names);
    e->rbind = NULL;
    e->rlen = NULL;
    e->rnull = e->rerr = NULL;
    e->rbuf = NULL;
    e->rcap = e->rwant = NULL;
    e->names = NULL;
    e->names_len = 0;
    e->ncols = 0;
}

/* (Re)build the result-side arrays from the statement's metadata. */
static void
db_stmt_setup_result(db_stmt *e)
{
    db_stmt_free_result_side(e);
    unsigned nc = mysql_stmt_field_count(e->st);
    e->ncols = nc;
    if (nc == 0)
        return;
    e->rbind = ms_calloc(nc, sizeof(*e->rbind));
    e->rlen = ms_calloc(nc, sizeof(*e->rlen));
    e->rnull = ms_calloc(nc, sizeof(*e->rnull));
    e->rerr = ms_calloc(nc, sizeof(*e->rerr));
    e->rbuf = ms_calloc(nc, sizeof(*e->rbuf));
    e->rcap = ms_calloc(nc, sizeof(*e->rcap));
    e->rwant = ms_calloc(nc, sizeof(*e->rwant));
    for (unsigned i = 0; i < nc; i++) {
        e->rcap[i] = e->rwant[i] = DB_CELL_BUF;
        e->rbuf[i] = ms_malloc(DB_CELL_BUF);
    }
    ms_buf names = {0};
    MYSQL_RES *meta = mysql_stmt_result_metadata(e->st);
    MYSQL_FIELD *f = meta ? mysql_fetch_fields(meta) : NULL;
    for (unsigned i = 0; i < nc; i++) {
        const char *n = f ? f[i].name : "";
        ms_buf_add(&names, n, strlen(n) + 1);
    }
    if (meta)
        mysql_free_result(meta);
    e->names_len = names.len;
    e->names = ms_buf_steal(&names);
}

static void
db_cache_clear(db_thread *t)
{
    for (size_t i = 0; i < t->cap; i++) {
        db_stmt_free(t->slots[i]);
        t->slots[i] = NULL;
    }
    t->count = 0;
}

static size_t
db_slot_hash(const char *key, size_t cap)
{
    uintptr_t h = (uintptr_t)key;
    h ^= h >> 17;
    h *= (uintptr_t)0x9e3779b97f4a7c15ULL;
    return (size_t)(h >> 7) & (cap - 1);
}

static db_stmt **
db_cache_slot(db_thread *t, const char *key)
{
    size_t i = db_slot_hash(key, t->cap);
    while (t->slots[i] && t->slots[i]->key != key)
        i = (i + 1) & (t->cap - 1);
    return &t->slots[i];
}

static void
db_cache_grow(db_thread *t)
{
    size_t old = t->cap;
    db_stmt **olds = t->slots;
    t->cap = old ? old * 2 : 64;
    t->slots = ms_calloc(t->cap, sizeof(*t->slots));
    for (size_t i = 0; i < old; i++) {
        if (olds[i])
            *db_cache_slot(t, olds[i]->key) = olds[i];
    }
    free(olds);
}

/* Remove one entry; open addressing needs the following run reinserted. */
static void
db_cache_remove(db_thread *t, const char *key)
{
    db_stmt **slot = db_cache_slot(t, key);
    if (!*slot)
        return;
    db_stmt_free(*slot);
    *slot = NULL;
    t->count--;
    size_t i = (size_t)(slot - t->slots);
    for (i = (i + 1) & (t->cap - 1); t->slots[i]; i = (i + 1) & (t->cap - 1)) {
        db_stmt *e = t->slots[i];
        t->slots[i] = NULL;
        *db_cache_slot(t, e->key) = e;
    }
}

/* ---- connection ---- */

static void
db_disconnect(db_thread *t)
{
    /* mysql_close first: it detaches the statements, whose close then only
     * frees memory instead of talking to a dead server. */
    if (t->my) {
        mysql_close(t->my);
        t->my = NULL;
    }
    db_cache_clear(t);
}

static void
db_thread_free(db_thread *t)
{
    if (!t)
        return;
    db_disconnect(t);
    free(t->slots);
    if (t->thread_inited)
        mysql_thread_end();
    free(t);
}

static void
db_target_clear(db_target *d)
{
    free(d->user);
    free(d->pass);
    free(d->host);
    free(d->db);
    free(d->sock);
    memset(d, 0, sizeof(*d));
}

static bool
db_down_log_due(void)
{
    long long now = (long long)ms_now_us();
    long long last = atomic_load(&last_down_log);
    return now - last > 1000000 && atomic_compare_exchange_strong(&last_down_log, &last, now);
}

/* Open this thread's connection. On failure returns -EAGAIN and, when msg
 * is given, a copy of the client's message. */
static int
db_connect(db_thread *t, char **msg)
{
    db_target d = {0};
    pthread_mutex_lock(&conf_lock);
    bool ok = configured;
    if (ok) {
        d.user = ms_strdup(conf.user);
        d.pass = ms_strdup(conf.pass);
        d.host = ms_strdup(conf.host);
        d.db = ms_strdup(conf.db);
        d.sock = ms_strdup(conf.sock);
        d.port = conf.port;
    }
    t->gen = atomic_load(&conf_gen);
    pthread_mutex_unlock(&conf_lock);
    if (!ok) {
        ms_error("The database connection is used before it was configured.");
        if (msg)
            *msg = ms_strdup("no database connection configured");
        return -EAGAIN;
    }
    if (!t->thread_inited) {
        mysql_thread_init();
        t->thread_inited = true;
    }

    int rc = 0;
    MYSQL *my = mysql_init(NULL);
    if (!my)
        ms_fatal(1, "out of memory (mysql_init)");
    unsigned int ct = DB_CONNECT_TIMEOUT, rt = DB_READ_TIMEOUT, wt = DB_WRITE_TIMEOUT;
    my_bool off = 0, on = 1;
    mysql_optionsv(my, MYSQL_OPT_CONNECT_TIMEOUT, &ct);
    mysql_optionsv(my, MYSQL_OPT_READ_TIMEOUT, &rt);
    mysql_optionsv(my, MYSQL_OPT_WRITE_TIMEOUT, &wt);
    mysql_optionsv(my, MYSQL_OPT_RECONNECT, &off);     /* we reconnect ourselves */
    mysql_optionsv(my, MYSQL_REPORT_DATA_TRUNCATION, &on);
    mysql_optionsv(my, MYSQL_OPT_LOCAL_INFILE, &off);
    mysql_optionsv(my, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    mysql_optionsv(my, MYSQL_INIT_COMMAND, DB_INIT_COMMAND);
    /* FOUND_ROWS: affected counts matched rows, so an UPDATE that finds its
     * row but changes nothing is not mistaken for "not found". */
    const char *host = d.sock ? "localhost" : (d.host ? d.host : "localhost");
    if (!mysql_real_connect(my, host, d.user, d.pass, d.db, d.port, d.sock,
                            CLIENT_FOUND_ROWS)) {
        if (db_down_log_due())
            ms_warn("Cannot connect to the database: %s (error %u).", mysql_error(my),
                    mysql_errno(my));
        if (msg)
            *msg = ms_strdup(mysql_error(my));
        mysql_close(my);
        rc = -EAGAIN;
    } else {
        t->my = my;
    }
    db_target_clear(&d);
    return rc;
}

/* Make sure this thread has a connection made with the current settings. */
static int
db_ensure(db_thread *t, char **msg)
{
    if (t->my && t->gen != atomic_load(&conf_gen))
        db_disconnect(t);
    if (t->my)
        return 0;
    return db_connect(t, msg);
}

/* ---- errors ---- */

static bool
db_errno_lost(unsigned e)
{
    switch (e) {
    case CR_SERVER_GONE_ERROR:
    case CR_SERVER_LOST:
    case CR_SERVER_LOST_EXTENDED:
    case CR_CONNECTION_ERROR:
    case CR_CONN_HOST_ERROR:
    case CR_COMMANDS_OUT_OF_SYNC:   /* protocol state unknown: start over */
    case CR_ERR_NET_READ:
    case CR_ERR_NET_WRITE:
    case ER_CONNECTION_KILLED:
    case ER_SERVER_SHUTDOWN:
    case DB_ER_CLIENT_INTERACTION_TIMEOUT:
        return true;
    default:
        return false;
    }
}

/* Errors whose server message quotes a value (maybe a parameter): only the
 * code is logged for them. */
static bool
db_errno_quotes_value(unsigned e)
{
    switch (e) {
    case ER_DUP_ENTRY:
    case ER_DUP_ENTRY_WITH_KEY_NAME:
    case ER_TRUNCATED_WRONG_VALUE:
    case ER_TRUNCATED_WRONG_VALUE_FOR_FIELD:
    case ER_WRONG_VALUE_FOR_VAR:
        return true;
    default:
        return false;
    }
}

/* For ms_db_retryable(): whether this thread met a deadlock or lock wait
 * timeout (the server rolled the transaction back), and whether it made
 * anything durable (a commit, or a write outside a transaction). */
static _Thread_local bool db_deadlocked, db_wrote;

bool
ms_db_retryable(void)
{
    bool ok = db_deadlocked && !db_wrote;
    db_deadlocked = db_wrote = false;
    return ok;
}

static bool
sql_is_read(const char *sql)
{
    while (*sql == ' ' || *sql == '(')
        sql++;
    return strncasecmp(sql, "SELECT", 6) == 0;
}

/* Map a server/client error to our codes: DB_LOST, DB_REPREPARE or -errno. */
static int
db_classify(unsigned e)
{
    if (e == ER_LOCK_DEADLOCK || e == ER_LOCK_WAIT_TIMEOUT)
        db_deadlocked = true;
    if (db_errno_lost(e))
        return DB_LOST;
    switch (e) {
    case ER_UNKNOWN_STMT_HANDLER:
    case ER_NEED_REPREPARE:
    case CR_NEW_STMT_METADATA:
    case CR_STMT_CLOSED:
        return DB_REPREPARE;
    case ER_DUP_ENTRY:
    case ER_DUP_ENTRY_WITH_KEY_NAME:
    case ER_DUP_KEY:
        return -EEXIST;
    case ER_LOCK_DEADLOCK:
    case ER_LOCK_WAIT_TIMEOUT:
        return -EAGAIN;
    default:
        return -EINVAL;
    }
}

static void
db_log_failure(const char *what, unsigned e, const char *sqlstate, const char *msg,
               const char *sql)
{
    if (db_errno_quotes_value(e))
        msg = "(message withheld: it may quote a value)";
    ms_error("A database %s failed: %s (error %u, sqlstate %s). sql=\"%.300s\"", what, msg, e,
             sqlstate ? sqlstate : "-", sql);
}

/* ---- running one statement ---- */

typedef struct {
    db_result *res;
    char *arena;
    size_t alen, acap;
    size_t ncells, ccap;      /* cells used / allocated */
} db_builder;

static void
db_arena_reserve(db_builder *b, size_t n)
{
    if (b->alen + n <= b->acap)
        return;
    size_t cap = b->acap ? b->acap : 1024;
    while (cap < b->alen + n)
        cap *= 2;
    b->arena = ms_realloc(b->arena, cap);
    b->acap = cap;
}

static void
db_builder_cells(db_builder *b, size_t more)
{
    ms_result *r = &b->res->pub;
    if (b->ncells + more <= b->ccap)
        return;
    size_t cap = b->ccap ? b->ccap : 16;
    while (cap < b->ncells + more)
        cap *= 2;
    r->cells = ms_realloc(r->cells, cap * sizeof(*r->cells));
    r->lens = ms_realloc(r->lens, cap * sizeof(*r->lens));
    b->ccap = cap;
}

/* Cells hold arena offset + 1 (0 for SQL NULL) while the arena may still
 * move; turn them into pointers once it is final. */
static void
db_builder_finish(db_builder *b)
{
    ms_result *r = &b->res->pub;
    b->res->arena = b->arena;
    for (size_t i = 0; i < b->ncells; i++) {
        uintptr_t off = (uintptr_t)r->cells[i];
        r->cells[i] = off ? b->arena + (off - 1) : NULL;
    }
    if (r->ncols) {
        r->colnames = ms_malloc(r->ncols * sizeof(*r->colnames));
        size_t off = 0;
        for (size_t c = 0; c < r->ncols; c++) {
            r->colnames[c] = b->arena + off;
            off += strlen(b->arena + off) + 1;
        }
    }
}

static void
db_bind_params(db_stmt *e, const ms_param *params)
{
    for (unsigned i = 0; i < e->nparams; i++) {
        const ms_param *p = &params[i];
        MYSQL_BIND *b = &e->pbind[i];
        memset(b, 0, sizeof(*b));
        switch (p->type) {
        case MS_P_STR_T:
            if (!p->s) {
                b->buffer_type = MYSQL_TYPE_NULL;
                break;
            }
            b->buffer_type = MYSQL_TYPE_STRING;
            b->buffer = (void *)p->s;
            e->plen[i] = strlen(p->s);
            b->buffer_length = e->plen[i];
            b->length = &e->plen[i];
            break;
        case MS_P_BLOB_T:
            if (!p->s) {
                b->buffer_type = MYSQL_TYPE_NULL;
                break;
            }
            b->buffer_type = MYSQL_TYPE_BLOB;
            b->buffer = (void *)p->s;
            e->plen[i] = p->len;
            b->buffer_length = p->len;
            b->length = &e->plen[i];
            break;
        case MS_P_INT_T:
            b->buffer_type = MYSQL_TYPE_LONGLONG;
            b->buffer = (void *)&p->i;
            break;
        case MS_P_NULL_T:
        default:
            b->buffer_type = MYSQL_TYPE_NULL;
            break;
        }
    }
}

static void
db_bind_results(db_stmt *e)
{
    for (unsigned c = 0; c < e->ncols; c++) {
        if (e->rwant[c] > e->rcap[c]) {
            free(e->rbuf[c]);
            e->rbuf[c] = ms_malloc(e->rwant[c]);
            e->rcap[c] = e->rwant[c];
        }
        MYSQL_BIND *b = &e->rbind[c];
        memset(b, 0, sizeof(*b));
        b->buffer_type = MYSQL_TYPE_STRING;
        b->buffer = e->rbuf[c];
        b->buffer_length = e->rcap[c];
        b->length = &e->rlen[c];
        b->is_null = &e->rnull[c];
        b->error = &e->rerr[c];
    }
}

/* Read every row of the executed statement into a new result. */
static int
db_fetch_all(db_stmt *e, db_builder *b, unsigned *eno)
{
    ms_result *r = &b->res->pub;
    r->ncols = e->ncols;
    db_arena_reserve(b, e->names_len);
    memcpy(b->arena, e->names, e->names_len);
    b->alen = e->names_len;
    if (mysql_stmt_bind_result(e->st, e->rbind)) {
        *eno = mysql_stmt_errno(e->st);
        return -1;
    }
    for (;;) {
        int frc = mysql_stmt_fetch(e->st);
        if (frc == MYSQL_NO_DATA)
            break;
        if (frc == 1) {
            *eno = mysql_stmt_errno(e->st);
            return -1;
        }
        db_builder_cells(b, e->ncols);
        for (unsigned c = 0; c < e->ncols; c++) {
            size_t cell = b->ncells++;
            if (e->rnull[c]) {
                r->cells[cell] = NULL;
                r->lens[cell] = 0;
                continue;
            }
            size_t len = e->rlen[c];
            db_arena_reserve(b, len + 1);
            char *dst = b->arena + b->alen;
            if (len <= e->rcap[c]) {
                memcpy(dst, e->rbuf[c], len);
            } else {
                /* Too big for the bound buffer: fetch it whole into the arena,
                 * and bind a bigger buffer next time. */
                unsigned long got = 0;
                my_bool isnull = 0, err = 0;
                MYSQL_BIND cb = {0};
                cb.buffer_type = MYSQL_TYPE_STRING;
                cb.buffer = dst;
                cb.buffer_length = len + 1;
                cb.length = &got;
                cb.is_null = &isnull;
                cb.error = &err;
                if (mysql_stmt_fetch_column(e->st, &cb, c, 0)) {
                    *eno = mysql_stmt_errno(e->st);
                    return -1;
                }
                if (len <= DB_CELL_BUF_MAX) {
                    size_t want = e->rcap[c];
                    while (want < len)
                        want *= 2;
                    if (want > e->rwant[c])
                        e->rwant[c] = want;
                }
            }
            dst[len] = '\0';
            r->cells[cell] = (char *)(uintptr_t)(b->alen + 1);
            r->lens[cell] = len;
            b->alen += len + 1;
        }
        r->nrows++;
    }
    return 0;
}

/* Prepare (or find) the statement for sql on this thread's connection. */
static int
db_prepare(db_thread *t, const char *sql, db_stmt **out, unsigned *eno,
           const char **emsg, const char **estate)
{
    if (t->cap == 0 || (t->count + 1) * 10 > t->cap * 7)
        db_cache_grow(t);
    db_stmt **slot = db_cache_slot(t, sql);
    if (*slot && strcmp((*slot)->sql, sql) != 0) {
        /* Same address, other text (a freed and reused buffer). */
        db_cache_remove(t, sql);
        slot = db_cache_slot(t, sql);
    }
    if (*slot) {
        *out = *slot;
        return 0;
    }
    if (t->count >= DB_CACHE_MAX) {
        /* Callers building SQL at run time without interning it: bound
         * the server-side statements we hold. */
        ms_warn("More than %d distinct SQL statements on one connection; "
                "clearing its statement cache.", DB_CACHE_MAX);
        db_cache_clear(t);
        slot = db_cache_slot(t, sql);
    }
    db_stmt *e = ms_calloc(1, sizeof(*e));
    e->key = sql;
    e->sql = ms_strdup(sql);
    e->st = mysql_stmt_init(t->my);
    if (!e->st)
        ms_fatal(1, "out of memory (mysql_stmt_init)");
    if (mysql_stmt_prepare(e->st, sql, strlen(sql))) {
        *eno = mysql_stmt_errno(e->st);
        static __thread char msgbuf[MYSQL_ERRMSG_SIZE], statebuf[SQLSTATE_LENGTH + 1];
        snprintf(msgbuf, sizeof(msgbuf), "%s", mysql_stmt_error(e->st));
        snprintf(statebuf, sizeof(statebuf), "%s", mysql_stmt_sqlstate(e->st));
        *emsg = msgbuf;
        *estate = statebuf;
        db_stmt_free(e);
        return -1;
    }
    e->nparams = mysql_stmt_param_count(e->st);
    if (e->nparams) {
        e->pbind = ms_calloc(e->nparams, sizeof(*e->pbind));
        e->plen = ms_calloc(e->nparams, sizeof(*e->plen));
    }
    db_stmt_setup_result(e);
    *slot = e;
    t->count++;
    *out = e;
    return 0;
}

/* One attempt: returns 0, DB_LOST, DB_REPREPARE or -errno (logged unless
 * it is quiet_errno or a duplicate key). */
static int
db_run(db_thread *t, const char *sql, const ms_param *params, size_t n, ms_result **res,
       unsigned quiet_errno, unsigned *eno_out)
{
    unsigned eno = 0;
    const char *emsg = NULL, *estate = NULL;
    db_stmt *e = NULL;
    db_builder b = {0};
    bool fetch_failed = false;
    int rc = db_ensure(t, NULL);
    if (rc < 0)
        return rc;

    if (db_prepare(t, sql, &e, &eno, &emsg, &estate) < 0)
        goto failed;
    if (e->nparams != n) {
        ms_error("A database statement has %u placeholders but %zu parameters were given. "
                 "sql=\"%.300s\"", e->nparams, n, sql);
        return -EINVAL;
    }
    if (n) {
        db_bind_params(e, params);
        if (mysql_stmt_bind_param(e->st, e->pbind))
            goto stmt_failed;
    }
    if (mysql_stmt_execute(e->st))
        goto stmt_failed;
    /* The server may send new metadata (a table changed under a cached
     * statement). */
    if (mysql_stmt_field_count(e->st) != e->ncols)
        db_stmt_setup_result(e);

    if (res) {
        b.res = ms_calloc(1, sizeof(*b.res));
    }
    if (e->ncols) {
        db_bind_results(e);
        if (!b.res) {
            /* No result wanted: still read it off the wire. */
            b.res = ms_calloc(1, sizeof(*b.res));
        }
        if (db_fetch_all(e, &b, &eno) < 0) {
            fetch_failed = true;
            goto stmt_failed;
        }
    }
    if (b.res) {
        b.res->pub.affected = mysql_stmt_affected_rows(e->st);
        if (b.res->pub.affected == (my_ulonglong)-1)
            b.res->pub.affected = 0;
        b.res->pub.insert_id = mysql_stmt_insert_id(e->st);
        db_builder_finish(&b);
        if (res)
            *res = &b.res->pub;
        else
            ms_result_free(&b.res->pub);
    }
    return 0;

stmt_failed:
    eno = mysql_stmt_errno(e->st);
    emsg = mysql_stmt_error(e->st);
    estate = mysql_stmt_sqlstate(e->st);
failed:
    if (b.res) {
        b.res->arena = b.arena;
        free(b.res->pub.cells);
        free(b.res->pub.lens);
        free(b.arena);
        free(b.res);
    }
    *eno_out = eno;
    rc = db_classify(eno);
    if (rc == -EINVAL && eno != quiet_errno)
        db_log_failure("query", eno, estate, emsg, sql);
    else if (rc == -EAGAIN)
        ms_warn("A database query hit a lock conflict: %s (error %u). sql=\"%.300s\"", emsg,
                eno, sql);
    /* A statement that failed half-way through its rows still has them
     * pending on the wire; closing it drains them. (After logging: emsg
     * lives in the statement.) */
    if (e && (rc == DB_REPREPARE || (fetch_failed && rc != DB_LOST)))
        db_cache_remove(t, sql);
    return rc;
}

/* Run with the reconnect-once policy; quiet_errno is an expected error code
 * the caller handles itself (not logged). */
static int
db_query(ms_result **res, const char *sql, const ms_param *params, size_t n,
         unsigned quiet_errno, unsigned *eno)
{
    if (res)
        *res = NULL;
    db_thread *t = db_thread_get();
    if (t->in_tx && t->tx_lost)
        return -EAGAIN;
    unsigned dummy = 0;
    if (!eno)
        eno = &dummy;
    for (int attempt = 0;; attempt++) {
        bool had_conn = t->my != NULL;
        *eno = 0;
        int rc = db_run(t, sql, params, n, res, quiet_errno, eno);
        if (rc == 0) {
            if (!t->in_tx && !sql_is_read(sql))
                db_wrote = true;
            return 0;
        }
        if (rc == DB_REPREPARE) {
            if (attempt == 0)
                continue;
            db_log_failure("query", *eno, NULL, "the statement had to be prepared again twice",
                           sql);
            return -EINVAL;
        }
        if (rc == DB_LOST) {
            db_disconnect(t);
            if (t->in_tx) {
                t->tx_lost = true;
                ms_warn("Lost the database connection inside a transaction (error %u); "
                        "the transaction is rolled back.", *eno);
                return -EAGAIN;
            }
            if (attempt == 0 && had_conn)
                continue;
            if (db_down_log_due())
                ms_warn("Lost the database connection (error %u).", *eno);
            return -EAGAIN;
        }
        if (rc == -EAGAIN && t->in_tx)
            t->tx_lost = true;   /* a deadlock ends the transaction on the server */
        return rc;
    }
}

int
ms_db_query(ms_result **res, const char *sql, const ms_param *params, size_t n)
{
    return db_query(res, sql, params, n, 0, NULL);
}

/* A text-protocol command for fixed statements that are not worth a
 * prepared statement or cannot be one (transaction control, DDL in
 * migrations). Never pass SQL that carries user input. */
static int
db_text(db_thread *t, const char *sql, bool retry, char **msg)
{
    for (int attempt = 0;; attempt++) {
        bool had_conn = t->my != NULL;
        int rc = db_ensure(t, msg);
        if (rc < 0)
            return rc;
        if (mysql_real_query(t->my, sql, strlen(sql)) == 0) {
            MYSQL_RES *r = mysql_store_result(t->my);
            if (r)
                mysql_free_result(r);
            return 0;
        }
        unsigned eno = mysql_errno(t->my);
        rc = db_classify(eno);
        if (rc == DB_LOST) {
            db_disconnect(t);
            if (retry && attempt == 0 && had_conn)
                continue;
            if (msg)
                *msg = ms_asprintf("lost the database connection (error %u)", eno);
            return -EAGAIN;
        }
        if (msg)
            *msg = ms_asprintf("%s (error %u)",
                               db_errno_quotes_value(eno) ? "error" : mysql_error(t->my), eno);
        if (rc == DB_REPREPARE)
            rc = -EINVAL;
        if (rc == -EINVAL)
            db_log_failure("statement", eno, mysql_sqlstate(t->my), mysql_error(t->my), sql);
        return rc;
    }
}

/* ---- configuration ---- */

static int
db_hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decode s[0..n) into a new string; NULL when malformed or when it
 * would contain a NUL byte. */
static char *
db_pct_decode(const char *s, size_t n)
{
    char *out = ms_malloc(n + 1), *o = out;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '%') {
            int hi = i + 1 < n ? db_hexval(s[i + 1]) : -1;
            int lo = i + 2 < n ? db_hexval(s[i + 2]) : -1;
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
                free(out);
                return NULL;
            }
            c = (char)(hi * 16 + lo);
            i += 2;
        }
        *o++ = c;
    }
    *o = '\0';
    return out;
}

static int
db_parse_url(const char *url, db_target *d, char **err)
{
    memset(d, 0, sizeof(*d));
#define FAIL(...)                                                                          \
    do {                                                                                   \
        if (err)                                                                           \
            *err = ms_asprintf(__VA_ARGS__);                                               \
        db_target_clear(d);                                                                \
        return -EINVAL;                                                                    \
    } while (0)
    if (ms_str_empty(url))
        FAIL("no database connection URL is configured");
    const char *p = strstr(url, "://");
    if (!p)
        FAIL("the database URL must look like mysql://user:password@host:port/database");
    size_t slen = (size_t)(p - url);
    /* "mysql", "mariadb", or SQLAlchemy's "mysql+pymysql" style. */
    if (!((slen == 5 && strncmp(url, "mysql", 5) == 0) ||
          (slen > 6 && strncmp(url, "mysql+", 6) == 0) ||
          (slen == 7 && strncmp(url, "mariadb", 7) == 0)))
        FAIL("unsupported database URL scheme %.*s (use mysql://)", (int)(slen > 32 ? 32 : slen),
             url);
    p += 3;
    const char *path = strchr(p, '/');
    const char *query = strchr(p, '?');
    if (query && path && query < path)
        path = NULL;
    const char *auth_end = path ? path : (query ? query : p + strlen(p));
    /* The last '@' before the path ends the credentials (a password may
     * contain '@' only percent-encoded, but be lenient). */
    const char *at = NULL;
    for (const char *q = p; q < auth_end; q++)
        if (*q == '@')
            at = q;
    const char *hostp = p;
    if (at) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        const char *uend = colon ? colon : at;
        d->user = db_pct_decode(p, (size_t)(uend - p));
        if (!d->user)
            FAIL("the user name in the database URL has a bad %%-escape");
        if (colon) {
            d->pass = db_pct_decode(colon + 1, (size_t)(at - colon - 1));
            if (!d->pass)
                FAIL("the password in the database URL has a bad %%-escape");
        }
        hostp = at + 1;
    }
    /* host[:port], host may be [v6] */
    const char *hend = auth_end, *portp = NULL;
    if (*hostp == '[') {
        const char *rb = memchr(hostp, ']', (size_t)(hend - hostp));
        if (!rb)
            FAIL("the database URL has an unterminated [IPv6] host");
        d->host = ms_strndup(hostp + 1, (size_t)(rb - hostp - 1));
        if (rb + 1 < hend) {
            if (rb[1] != ':')
                FAIL("the database URL has junk after the [IPv6] host");
            portp = rb + 2;
        }
    } else {
        const char *colon = memchr(hostp, ':', (size_t)(hend - hostp));
        const char *e = colon ? colon : hend;
        if (e > hostp)
            d->host = ms_strndup(hostp, (size_t)(e - hostp));
        if (colon)
            portp = colon + 1;
    }
    if (portp) {
        if (portp == hend)
            FAIL("the database URL has an empty port");
        long v = 0;
        for (const char *q = portp; q < hend; q++) {
            if (*q < '0' || *q > '9' || v > 65535)
                FAIL("the port in the database URL is not a number from 1 to 65535");
            v = v * 10 + (*q - '0');
        }
        if (v < 1 || v > 65535)
            FAIL("the port in the database URL is not a number from 1 to 65535");
        d->port = (unsigned)v;
    }
    if (!path)
        FAIL("the database URL names no database (mysql://user:password@host/DATABASE)");
    const char *dend = query ? query : path + strlen(path);
    d->db = db_pct_decode(path + 1, (size_t)(dend - path - 1));
    if (!d->db)
        FAIL("the database name in the database URL has a bad %%-escape");
    if (!d->db[0] || strchr(d->db, '/'))
        FAIL("the database URL names no database (mysql://user:password@host/DATABASE)");
    if (query) {
        const char *q = query + 1;
        while (*q) {
            const char *amp = strchr(q, '&');
            size_t len = amp ? (size_t)(amp - q) : strlen(q);
            const char *eq = memchr(q, '=', len);
            size_t klen = eq ? (size_t)(eq - q) : len;
            if (klen == 11 && strncmp(q, "unix_socket", 11) == 0) {
                if (!eq)
                    FAIL("unix_socket in the database URL needs a path");
                free(d->sock);
                d->sock = db_pct_decode(eq + 1, len - klen - 1);
                if (!d->sock || !d->sock[0])
                    FAIL("unix_socket in the database URL needs a path");
            } else if (klen == 7 && strncmp(q, "charset", 7) == 0) {
                const char *v = eq ? eq + 1 : "";
                size_t vlen = eq ? len - klen - 1 : 0;
                if (!((vlen == 7 && strncmp(v, "utf8mb4", 7) == 0) ||
                      (vlen == 4 && strncmp(v, "utf8", 4) == 0)))
                    FAIL("only charset=utf8mb4 is supported in the database URL");
            }
            /* Other options (oslo.db's plugin=, read_default_file=...) are
             * ignored, so URLs from OpenStack configurations work. */
            q += len;
            if (*q == '&')
                q++;
        }
    }
    return 0;
#undef FAIL
}

int
ms_db_configure(const char *url, char **err)
{
    db_target d;
    int rc = db_parse_url(url, &d, err);
    if (rc < 0)
        return rc;
    pthread_mutex_lock(&conf_lock);
    db_target_clear(&conf);
    conf = d;
    configured = true;
    atomic_fetch_add(&conf_gen, 1);
    pthread_mutex_unlock(&conf_lock);
    return 0;
}

int
ms_db_ping(char **err)
{
    db_thread *t = db_thread_get();
    char *msg = NULL;
    bool had_conn = t->my && t->gen == atomic_load(&conf_gen);
    int rc = db_ensure(t, &msg);
    if (rc == 0 && mysql_ping(t->my) != 0) {
        /* An idle connection may have been dropped by the server; a fresh
         * one tells whether the database itself is reachable. */
        db_disconnect(t);
        if (t->in_tx)
            t->tx_lost = true;
        rc = had_conn ? db_ensure(t, &msg) : -EAGAIN;
        if (rc == 0 && mysql_ping(t->my) != 0) {
            msg = ms_strdup(mysql_error(t->my));
            db_disconnect(t);
            rc = -EAGAIN;
        }
    }
    if (rc < 0 && err)
        *err = msg ? msg : ms_strdup("the database is unreachable");
    else
        free(msg);
    return rc;
}

void
ms_db_thread_close(void)
{
    if (!tl)
        return;
    db_thread *t = tl;
    tl = NULL;
    pthread_setspecific(tl_key, NULL);
    db_thread_free(t);
}

/* ---- transactions ---- */

int
ms_db_begin(void)
{
    db_thread *t = db_thread_get();
    if (t->in_tx) {
        ms_error("A database transaction was begun inside another one; nesting is not "
                 "supported.");
        return -EINVAL;
    }
    int rc = db_text(t, "START TRANSACTION", true, NULL);
    if (rc < 0)
        return rc;
    t->in_tx = true;
    t->tx_lost = false;
    return 0;
}

int
ms_db_commit(void)
{
    db_thread *t = db_thread_get();
    if (!t->in_tx) {
        ms_error("A database commit was requested outside a transaction.");
        return -EINVAL;
    }
    bool lost = t->tx_lost;
    t->in_tx = false;
    t->tx_lost = false;
    if (lost) {
        /* The server already ended it (connection loss or deadlock); make
         * sure nothing half-done is left open. */
        if (t->my && mysql_rollback(t->my))
            db_disconnect(t);
        return -EAGAIN;
    }
    if (!t->my)
        return -EAGAIN;
    if (mysql_commit(t->my) == 0) {
        db_wrote = true;
        return 0;
    }
    unsigned eno = mysql_errno(t->my);
    int rc = db_classify(eno);
    if (rc == DB_LOST) {
        db_disconnect(t);
        ms_warn("Lost the database connection during commit (error %u).", eno);
        return -EAGAIN;
    }
    if (rc != -EAGAIN)
        db_log_failure("commit", eno, mysql_sqlstate(t->my), mysql_error(t->my), "COMMIT");
    if (mysql_rollback(t->my))
        db_disconnect(t);
    return rc == -EAGAIN ? -EAGAIN : -EINVAL;
}

void
ms_db_rollback(void)
{
    db_thread *t = db_thread_get();
    t->in_tx = false;
    t->tx_lost = false;
    if (t->my && mysql_rollback(t->my))
        db_disconnect(t);
}

/* ---- migrations ---- */

static const char schema_versions_sql[] =
    "CREATE TABLE IF NOT EXISTS schema_versions ("
    " module VARCHAR(64) NOT NULL PRIMARY KEY,"
    " version INT NOT NULL,"
    " applied_at DATETIME(6)"
    ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin";

int
ms_db_version(const char *module)
{
    ms_result *r = NULL;
    unsigned eno = 0;
    int rc = db_query(&r, "SELECT version FROM schema_versions WHERE module = ?",
                      (const ms_param[]){MS_P_STR(module)}, 1, ER_NO_SUCH_TABLE, &eno);
    if (rc < 0)
        return eno == ER_NO_SUCH_TABLE ? 0 : rc;
    int v = r->nrows ? (int)ms_cell_int(r, 0, 0) : 0;
    ms_result_free(r);
    return v;
}

int
ms_db_sync(const char *module, const ms_migration *migs, char **err)
{
    db_thread *t = db_thread_get();
    char *msg = NULL;
    int rc;
    bool locked = false;
    if (t->in_tx) {
        if (err)
            *err = ms_strdup("schema migrations cannot run inside a transaction");
        return -EINVAL;
    }
    /* Refuse a bad list before touching anything. */
    int prev = 0;
    for (const ms_migration *m = migs; m && m->version; m++) {
        if (m->version <= prev) {
            msg = ms_asprintf("migration %d follows %d: versions must increase", m->version,
                              prev);
            rc = -EINVAL;
            goto out;
        }
        prev = m->version;
    }
    rc = db_text(t, schema_versions_sql, true, &msg);
    if (rc < 0)
        goto out;
    /* Two `db sync` runs at once (several hosts starting) must not apply
     * the same migration twice: serialize on a named lock. */
    ms_result *r = NULL;
    rc = MS_DB_QUERY0(&r, "SELECT GET_LOCK('monostack.schema', 120)");
    if (rc == 0 && !(r->nrows == 1 && ms_cell_int(r, 0, 0) == 1)) {
        msg = ms_strdup("timed out waiting for another schema sync to finish");
        rc = -EAGAIN;
    }
    ms_result_free(r);
    if (rc < 0)
        goto out;
    locked = true;

    int cur = ms_db_version(module);
    if (cur < 0) {
        rc = cur;
        msg = ms_strdup("cannot read the recorded schema version");
        goto out;
    }
    for (const ms_migration *m = migs; m && m->version; m++) {
        if (m->version <= cur)
            continue;
        for (size_t i = 0; m->statements && m->statements[i]; i++) {
            char *why = NULL;
            rc = db_text(t, m->statements[i], false, &why);
            if (rc < 0) {
                msg = ms_asprintf("migration %d, statement %zu failed: %s", m->version, i + 1,
                                  why ? why : "error");
                free(why);
                goto out;
            }
        }
        rc = MS_DB_QUERY(NULL,
                         "INSERT INTO schema_versions (module, version, applied_at)"
                         " VALUES (?, ?, UTC_TIMESTAMP(6)) ON DUPLICATE KEY UPDATE"
                         " version = VALUES(version), applied_at = VALUES(applied_at)",
                         MS_P_STR(module), MS_P_INT(m->version));
        if (rc < 0) {
            msg = ms_asprintf("cannot record schema version %d", m->version);
            goto out;
        }
        ms_info("Applied database migration. module=%s version=%d", module, m->version);
        cur = m->version;
    }
    rc = 0;

out:
    if (locked && t->my)
        MS_DB_QUERY0(NULL, "SELECT RELEASE_LOCK('monostack.schema')");
    if (rc < 0 && err)
        *err = ms_asprintf("%s: %s", module, msg ? msg : "schema sync failed");
    free(msg);
    return rc;
}
