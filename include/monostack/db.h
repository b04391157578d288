/* Database access over libmysqlclient (MariaDB Connector/C).
 *
 * One connection per thread, opened on first use and kept; prepared
 * statements only, cached per connection by SQL text pointer (so pass string
 * literals or other stable strings). A lost connection is reopened once and
 * the statement retried when not inside a transaction; if the server stays
 * unreachable the call returns -EAGAIN and the API answers 503.
 *
 *   ms_result *r = NULL;
 *   rc = MS_DB_QUERY(&r, "SELECT id, name FROM users WHERE domain_id = ?",
 *                    MS_P_STR(domain));
 *   for (size_t i = 0; i < r->nrows; i++) use(ms_cell(r, i, 0));
 *   ms_result_free(r);
 *
 * SQL lives only in each module's *_db.c. */
#ifndef MONOSTACK_DB_H
#define MONOSTACK_DB_H

#include "common.h"

typedef struct ms_migration ms_migration;

typedef enum { MS_P_NULL_T, MS_P_STR_T, MS_P_INT_T, MS_P_BLOB_T } ms_param_type;

typedef struct {
    ms_param_type type;
    const char *s;      /* STR: NUL-terminated, or NULL for SQL NULL; BLOB: bytes */
    size_t len;         /* BLOB length */
    long long i;
} ms_param;

#define MS_P_STR(v) ((ms_param){.type = MS_P_STR_T, .s = (v)})
#define MS_P_INT(v) ((ms_param){.type = MS_P_INT_T, .i = (long long)(v)})
#define MS_P_BOOL(v) ((ms_param){.type = MS_P_INT_T, .i = (v) ? 1 : 0})
#define MS_P_NULL ((ms_param){.type = MS_P_NULL_T})
#define MS_P_BLOB(p, n) ((ms_param){.type = MS_P_BLOB_T, .s = (const char *)(p), .len = (n)})

/* A fully fetched result: every cell as text (NULL for SQL NULL). */
typedef struct {
    size_t nrows, ncols;
    char **cells;             /* nrows * ncols */
    size_t *lens;             /* byte length of each cell */
    char **colnames;
    unsigned long long affected;   /* for INSERT/UPDATE/DELETE */
    unsigned long long insert_id;
} ms_result;

static inline const char *
ms_cell(const ms_result *r, size_t row, size_t col)
{
    return r->cells[row * r->ncols + col];
}
long long ms_cell_int(const ms_result *r, size_t row, size_t col);   /* NULL -> 0 */
bool ms_cell_bool(const ms_result *r, size_t row, size_t col);
void ms_result_free(ms_result *r);

/* Connection parameters from ms_conf.db_connection:
 * mysql://user:pass@host[:port]/db  or  mysql://user:pass@/db?unix_socket=/path */
int ms_db_configure(const char *url, char **err);
/* Check the server is reachable with the configured credentials (start-up). */
int ms_db_ping(char **err);
/* Close this thread's connection (thread exit). */
void ms_db_thread_close(void);

/* Run a statement. res may be NULL when no result is wanted. Returns 0,
 * -EAGAIN (database unreachable), -EEXIST (duplicate key), -EINVAL (other SQL
 * error; logged), or -ENOENT never (empty results are nrows == 0). */
int ms_db_query(ms_result **res, const char *sql, const ms_param *params, size_t n);
#define MS_DB_QUERY(res, sql, ...)                                                       \
    ms_db_query((res), (sql), (const ms_param[]){__VA_ARGS__},                           \
                sizeof((const ms_param[]){__VA_ARGS__}) / sizeof(ms_param))
#define MS_DB_QUERY0(res, sql) ms_db_query((res), (sql), NULL, 0)

/* True when, since the previous call, this thread met a deadlock or lock
 * wait timeout (the server rolled the transaction back) and made nothing
 * durable: the work may then be run again from its start. Resets. */
bool ms_db_retryable(void);

/* Transactions on this thread's connection. Nesting is not supported. */
int ms_db_begin(void);
int ms_db_commit(void);
void ms_db_rollback(void);

/* Numbered schema migrations, per module: applied in order by
 * `monostack-manage db sync`, each recorded in schema_versions(module, version). */
struct ms_migration {
    int version;
    const char *const *statements;   /* NULL-terminated */
};
int ms_db_sync(const char *module, const ms_migration *migs, char **err);
/* The recorded version of a module's schema (0 when none). */
int ms_db_version(const char *module);

#endif
