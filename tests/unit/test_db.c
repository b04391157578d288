/* The database layer (src/core/db.c) against the real MariaDB of the
 * "backing" fixture (MS_TEST_DB_URL): parameters and result cells, errors,
 * transactions, the statement cache, per-thread connections, migrations,
 * URL parsing and recovery from a killed connection or an unreachable
 * server. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <mysql.h>

#include <monostack/db.h>

static const char *db_url;

/* A second, independent connection (plain Connector/C) for what the test
 * does "from outside": killing a session, reading server counters. */
static MYSQL *
side_connect(void)
{
    const char *sock = strstr(db_url, "unix_socket=");
    assert_non_null(sock);
    sock += strlen("unix_socket=");
    MYSQL *my = mysql_init(NULL);
    assert_non_null(mysql_real_connect(my, NULL, "root", NULL, "monostack_test", 0, sock, 0));
    return my;
}

static void
side_exec(MYSQL *my, const char *sql)
{
    if (mysql_query(my, sql) != 0)
        fail_msg("side query failed: %s: %s", sql, mysql_error(my));
    MYSQL_RES *r = mysql_store_result(my);
    if (r)
        mysql_free_result(r);
}

static long long
my_connection_id(void)
{
    ms_result *r = NULL;
    assert_int_equal(MS_DB_QUERY0(&r, "SELECT CONNECTION_ID()"), 0);
    assert_int_equal(r->nrows, 1);
    long long id = ms_cell_int(r, 0, 0);
    ms_result_free(r);
    return id;
}

static int
group_setup(void **state)
{
    (void)state;
    db_url = getenv("MS_TEST_DB_URL");
    if (!db_url) {
        fprintf(stderr, "MS_TEST_DB_URL is not set (run through ctest)\n");
        return -1;
    }
    char *err = NULL;
    if (ms_db_configure(db_url, &err) < 0) {
        fprintf(stderr, "ms_db_configure: %s\n", err);
        return -1;
    }
    if (ms_db_ping(&err) < 0) {
        fprintf(stderr, "ms_db_ping: %s\n", err);
        return -1;
    }
    MS_DB_QUERY0(NULL, "DROP TABLE IF EXISTS dbt");
    int rc = MS_DB_QUERY0(NULL, "CREATE TABLE dbt ("
                                " id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,"
                                " name VARCHAR(64) UNIQUE,"
                                " n BIGINT, b LONGBLOB, t MEDIUMTEXT,"
                                " d DATETIME(6), d0 DATETIME, f DOUBLE, m DECIMAL(10,2),"
                                " flag BOOLEAN"
                                ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4");
    return rc;
}

static int
group_teardown(void **state)
{
    (void)state;
    MS_DB_QUERY0(NULL, "DROP TABLE IF EXISTS dbt");
    ms_db_thread_close();
    return 0;
}

static void
clear_table(void)
{
    assert_int_equal(MS_DB_QUERY0(NULL, "DELETE FROM dbt"), 0);
}

static void
test_params_and_cells(void **state)
{
    (void)state;
    clear_table();
    static const char blob[] = {'a', 0, 'b', 0, 0, (char)0xff, 'c'};
    ms_result *r = NULL;
    int rc = MS_DB_QUERY(&r,
                         "INSERT INTO dbt (name, n, b, t, d, d0, f, m, flag)"
                         " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                         MS_P_STR("first"), MS_P_INT(-9223372036854775807LL),
                         MS_P_BLOB(blob, sizeof(blob)), MS_P_STR("h\xc3\xa9llo \xf0\x9f\x98\x80"),
                         MS_P_STR("2024-05-06 07:08:09.123456"), MS_P_STR("2024-05-06 07:08:09"),
                         MS_P_STR("2.5"), MS_P_STR("12.34"), MS_P_BOOL(true));
    assert_int_equal(rc, 0);
    assert_non_null(r);
    assert_int_equal(r->affected, 1);
    assert_true(r->insert_id > 0);
    unsigned long long id1 = r->insert_id;
    ms_result_free(r);

    /* every NULL flavour: MS_P_NULL, a NULL string, a NULL blob */
    rc = MS_DB_QUERY(&r, "INSERT INTO dbt (name, n, b, t) VALUES (?, ?, ?, ?)",
                     MS_P_STR("second"), MS_P_NULL, MS_P_BLOB(NULL, 0), MS_P_STR(NULL));
    assert_int_equal(rc, 0);
    assert_int_equal(r->insert_id, id1 + 1);
    ms_result_free(r);

    rc = MS_DB_QUERY(&r,
                     "SELECT id, name, n, b, t, d, d0, f, m, flag FROM dbt"
                     " WHERE name IN (?, ?) ORDER BY id",
                     MS_P_STR("first"), MS_P_STR("second"));
    assert_int_equal(rc, 0);
    assert_int_equal(r->nrows, 2);
    assert_int_equal(r->ncols, 10);
    assert_string_equal(r->colnames[0], "id");
    assert_string_equal(r->colnames[9], "flag");
    assert_int_equal(ms_cell_int(r, 0, 0), (long long)id1);
    assert_string_equal(ms_cell(r, 0, 1), "first");
    assert_string_equal(ms_cell(r, 0, 2), "-9223372036854775807");
    assert_int_equal(r->lens[0 * r->ncols + 3], sizeof(blob));
    assert_memory_equal(ms_cell(r, 0, 3), blob, sizeof(blob));
    assert_string_equal(ms_cell(r, 0, 4), "h\xc3\xa9llo \xf0\x9f\x98\x80");
    assert_string_equal(ms_cell(r, 0, 5), "2024-05-06 07:08:09.123456");
    assert_string_equal(ms_cell(r, 0, 6), "2024-05-06 07:08:09");
    assert_string_equal(ms_cell(r, 0, 7), "2.5");
    assert_string_equal(ms_cell(r, 0, 8), "12.34");
    assert_string_equal(ms_cell(r, 0, 9), "1");
    assert_true(ms_cell_bool(r, 0, 9));
    assert_string_equal(ms_cell(r, 1, 1), "second");
    for (size_t c = 2; c < 10; c++) {
        assert_null(ms_cell(r, 1, c));
        assert_int_equal(r->lens[1 * r->ncols + c], 0);
    }
    assert_int_equal(ms_cell_int(r, 1, 2), 0);
    assert_false(ms_cell_bool(r, 1, 9));
    ms_result_free(r);

    /* expressions of other types come back as text too */
    rc = MS_DB_QUERY(&r, "SELECT ? + 1, ?, CAST(? AS SIGNED), NULL, ''", MS_P_INT(41),
                     MS_P_STR(""), MS_P_STR("-7"));
    assert_int_equal(rc, 0);
    assert_string_equal(ms_cell(r, 0, 0), "42");
    assert_string_equal(ms_cell(r, 0, 1), "");
    assert_int_equal(ms_cell_int(r, 0, 2), -7);
    assert_null(ms_cell(r, 0, 3));
    assert_string_equal(ms_cell(r, 0, 4), "");
    ms_result_free(r);

    /* empty result */
    rc = MS_DB_QUERY(&r, "SELECT id FROM dbt WHERE name = ?", MS_P_STR("nobody"));
    assert_int_equal(rc, 0);
    assert_int_equal(r->nrows, 0);
    assert_int_equal(r->ncols, 1);
    ms_result_free(r);
    ms_result_free(NULL);
}

static void
test_large_values(void **state)
{
    (void)state;
    clear_table();
    /* Bigger than the bound buffers, so the fetch-column path and the
     * buffer growth for the next execution are both exercised. */
    size_t sizes[] = {255, 256, 257, 5000, 70000, 300000, 5000, 12};
    for (size_t k = 0; k < MS_ARRAY_LEN(sizes); k++) {
        size_t n = sizes[k];
        char *v = malloc(n);
        for (size_t i = 0; i < n; i++)
            v[i] = (char)(i * 7 + k);
        char name[32];
        snprintf(name, sizeof(name), "big%zu", k);
        assert_int_equal(MS_DB_QUERY(NULL, "INSERT INTO dbt (name, b) VALUES (?, ?)",
                                     MS_P_STR(name), MS_P_BLOB(v, n)),
                         0);
        for (int again = 0; again < 2; again++) {
            ms_result *r = NULL;
            assert_int_equal(MS_DB_QUERY(&r, "SELECT b, name FROM dbt WHERE name = ?",
                                         MS_P_STR(name)),
                             0);
            assert_int_equal(r->nrows, 1);
            assert_int_equal(r->lens[0], n);
            assert_memory_equal(ms_cell(r, 0, 0), v, n);
            assert_int_equal(ms_cell(r, 0, 0)[n], '\0');
            assert_string_equal(ms_cell(r, 0, 1), name);
            ms_result_free(r);
        }
        free(v);
    }
    /* many rows with mixed sizes in one result */
    ms_result *r = NULL;
    assert_int_equal(MS_DB_QUERY0(&r, "SELECT name, LENGTH(b), b FROM dbt ORDER BY id"), 0);
    assert_int_equal(r->nrows, MS_ARRAY_LEN(sizes));
    for (size_t k = 0; k < r->nrows; k++) {
        assert_int_equal(ms_cell_int(r, k, 1), (long long)sizes[k]);
        assert_int_equal(r->lens[k * 3 + 2], sizes[k]);
    }
    ms_result_free(r);
}

static void
test_affected_and_errors(void **state)
{
    (void)state;
    clear_table();
    ms_result *r = NULL;
    assert_int_equal(
        MS_DB_QUERY(NULL, "INSERT INTO dbt (name, n) VALUES (?, ?)", MS_P_STR("u1"), MS_P_INT(1)),
        0);
    assert_int_equal(
        MS_DB_QUERY(NULL, "INSERT INTO dbt (name, n) VALUES (?, ?)", MS_P_STR("u2"), MS_P_INT(1)),
        0);
    /* duplicate key */
    assert_int_equal(
        MS_DB_QUERY(&r, "INSERT INTO dbt (name, n) VALUES (?, ?)", MS_P_STR("u1"), MS_P_INT(2)),
        -EEXIST);
    assert_null(r);
    /* an UPDATE that matches but changes nothing still counts its row */
    assert_int_equal(MS_DB_QUERY(&r, "UPDATE dbt SET n = ? WHERE name = ?", MS_P_INT(1),
                                 MS_P_STR("u1")),
                     0);
    assert_int_equal(r->affected, 1);
    ms_result_free(r);
    assert_int_equal(MS_DB_QUERY(&r, "UPDATE dbt SET n = n + 1 WHERE n = ?", MS_P_INT(1)), 0);
    assert_int_equal(r->affected, 2);
    assert_int_equal(r->nrows, 0);
    ms_result_free(r);
    assert_int_equal(MS_DB_QUERY(&r, "DELETE FROM dbt WHERE name = ?", MS_P_STR("nobody")), 0);
    assert_int_equal(r->affected, 0);
    ms_result_free(r);
    /* SQL errors and misuse */
    assert_int_equal(MS_DB_QUERY0(&r, "SELEKT nonsense"), -EINVAL);
    assert_null(r);
    assert_int_equal(MS_DB_QUERY0(&r, "SELECT nosuchcolumn FROM dbt"), -EINVAL);
    assert_int_equal(MS_DB_QUERY(&r, "SELECT ? + ?", MS_P_INT(1)), -EINVAL);
    assert_int_equal(MS_DB_QUERY(&r, "SELECT 1", MS_P_INT(1)), -EINVAL);
    /* the connection is still fine afterwards */
    assert_int_equal(MS_DB_QUERY(&r, "SELECT COUNT(*) FROM dbt WHERE n = ?", MS_P_INT(2)), 0);
    assert_int_equal(ms_cell_int(r, 0, 0), 2);
    ms_result_free(r);
}

static long long
count_named(const char *name)
{
    ms_result *r = NULL;
    assert_int_equal(MS_DB_QUERY(&r, "SELECT COUNT(*) FROM dbt WHERE name = ?", MS_P_STR(name)),
                     0);
    long long n = ms_cell_int(r, 0, 0);
    ms_result_free(r);
    return n;
}

static void
test_transactions(void **state)
{
    (void)state;
    clear_table();
    assert_int_equal(ms_db_begin(), 0);
    assert_int_equal(ms_db_begin(), -EINVAL);   /* no nesting */
    assert_int_equal(MS_DB_QUERY(NULL, "INSERT INTO dbt (name) VALUES (?)", MS_P_STR("rb")), 0);
    assert_int_equal(count_named("rb"), 1);     /* visible inside */
    ms_db_rollback();
    assert_int_equal(count_named("rb"), 0);

    assert_int_equal(ms_db_begin(), 0);
    assert_int_equal(MS_DB_QUERY(NULL, "INSERT INTO dbt (name) VALUES (?)", MS_P_STR("c1")), 0);
    assert_int_equal(MS_DB_QUERY(NULL, "INSERT INTO dbt (name) VALUES (?)", MS_P_STR("c2")), 0);
    /* not visible to another connection before commit */
    MYSQL *side = side_connect();
    side_exec(side, "SELECT 1");
    assert_int_equal(mysql_query(side, "SELECT COUNT(*) FROM dbt WHERE name LIKE 'c_'"), 0);
    MYSQL_RES *res = mysql_store_result(side);
    assert_string_equal(mysql_fetch_row(res)[0], "0");
    mysql_free_result(res);
    assert_int_equal(ms_db_commit(), 0);
    assert_int_equal(mysql_query(side, "SELECT COUNT(*) FROM dbt WHERE name LIKE 'c_'"), 0);
    res = mysql_store_result(side);
    assert_string_equal(mysql_fetch_row(res)[0], "2");
    mysql_free_result(res);
    mysql_close(side);

    assert_int_equal(ms_db_commit(), -EINVAL);  /* not in a transaction */

    /* a failed statement inside a transaction leaves the transaction usable */
    assert_int_equal(ms_db_begin(), 0);
    assert_int_equal(MS_DB_QUERY(NULL, "INSERT INTO dbt (name) VALUES (?)", MS_P_STR("c1")),
                     -EEXIST);
    assert_int_equal(MS_DB_QUERY(NULL, "INSERT INTO dbt (name) VALUES (?)", MS_P_STR("c3")), 0);
    assert_int_equal(ms_db_commit(), 0);
    assert_int_equal(count_named("c3"), 1);
}

static void
test_lock_wait_timeout(void **state)
{
    (void)state;
    clear_table();
    assert_int_equal(MS_DB_QUERY(NULL, "INSERT INTO dbt (name, n) VALUES (?, ?)",
                                 MS_P_STR("locked"), MS_P_INT(1)),
                     0);
    MYSQL *side = side_connect();
    side_exec(side, "START TRANSACTION");
    side_exec(side, "SELECT * FROM dbt WHERE name = 'locked' FOR UPDATE");
    assert_int_equal(MS_DB_QUERY(NULL, "SET SESSION innodb_lock_wait_timeout = ?", MS_P_INT(1)),
                     0);
    /* outside a transaction: the statement gives up with -EAGAIN */
    assert_int_equal(MS_DB_QUERY(NULL, "UPDATE dbt SET n = n + 1 WHERE name = ?",
                                 MS_P_STR("locked")),
                     -EAGAIN);
    /* not retryable: this thread wrote outside a transaction since the last check */
    assert_false(ms_db_retryable());
    /* inside one: -EAGAIN dooms the transaction until the caller ends it */
    assert_int_equal(ms_db_begin(), 0);
    assert_int_equal(MS_DB_QUERY(NULL, "INSERT INTO dbt (name) VALUES (?)", MS_P_STR("lw1")), 0);
    assert_int_equal(MS_DB_QUERY(NULL, "UPDATE dbt SET n = n + 1 WHERE name = ?",
                                 MS_P_STR("locked")),
                     -EAGAIN);
    assert_int_equal(MS_DB_QUERY(NULL, "INSERT INTO dbt (name) VALUES (?)", MS_P_STR("lw2")),
                     -EAGAIN);
    assert_int_equal(ms_db_commit(), -EAGAIN);
    /* nothing became durable: the whole unit of work may run again, once */
    assert_true(ms_db_retryable());
    assert_false(ms_db_retryable());
    side_exec(side, "ROLLBACK");
    mysql_close(side);
    assert_int_equal(count_named("lw1"), 0);
    assert_int_equal(count_named("lw2"), 0);
    assert_int_equal(MS_DB_QUERY(NULL, "SET SESSION innodb_lock_wait_timeout = ?", MS_P_INT(5)),
                     0);
    assert_int_equal(MS_DB_QUERY(NULL, "UPDATE dbt SET n = n + 1 WHERE name = ?",
                                 MS_P_STR("locked")),
                     0);
}

static long long
session_prepares(void)
{
    ms_result *r = NULL;
    assert_int_equal(MS_DB_QUERY0(&r, "SELECT VARIABLE_VALUE FROM"
                                      " information_schema.SESSION_STATUS"
                                      " WHERE VARIABLE_NAME = 'COM_STMT_PREPARE'"),
                     0);
    assert_int_equal(r->nrows, 1);
    long long n = ms_cell_int(r, 0, 0);
    ms_result_free(r);
    return n;
}

static void
test_statement_cache(void **state)
{
    (void)state;
    clear_table();
    (void)session_prepares();
    long long before = session_prepares();
    for (int i = 0; i < 2000; i++) {
        char name[32];
        snprintf(name, sizeof(name), "n%d", i);
        assert_int_equal(MS_DB_QUERY(NULL, "INSERT INTO dbt (name, n) VALUES (?, ?) /* c */",
                                     MS_P_STR(name), MS_P_INT(i)),
                         0);
        ms_result *r = NULL;
        assert_int_equal(
            MS_DB_QUERY(&r, "SELECT n FROM dbt WHERE name = ? /* c */", MS_P_STR(name)), 0);
        assert_int_equal(ms_cell_int(r, 0, 0), i);
        ms_result_free(r);
    }
    /* the INSERT and the SELECT (text unique to this test) were each
     * prepared once; the counter query itself was already cached */
    long long after = session_prepares();
    assert_int_equal(after - before, 2);

    /* a buffer reused for other SQL text is not mistaken for the cached one */
    char *sql = strdup("SELECT 'one'");
    ms_result *r = NULL;
    assert_int_equal(MS_DB_QUERY0(&r, sql), 0);
    assert_string_equal(ms_cell(r, 0, 0), "one");
    ms_result_free(r);
    strcpy(sql, "SELECT 'two'");
    assert_int_equal(MS_DB_QUERY0(&r, sql), 0);
    assert_string_equal(ms_cell(r, 0, 0), "two");
    ms_result_free(r);
    free(sql);
}

#define NTHREADS 6
#define NPERTHREAD 150

typedef struct {
    int idx;
    long long conn_id;
    int failures;
} thread_arg;

static void *
thread_main(void *p)
{
    thread_arg *a = p;
    ms_result *r = NULL;
    if (MS_DB_QUERY0(&r, "SELECT CONNECTION_ID()") != 0) {
        a->failures++;
        return NULL;
    }
    a->conn_id = ms_cell_int(r, 0, 0);
    ms_result_free(r);
    for (int i = 0; i < NPERTHREAD; i++) {
        char name[32];
        snprintf(name, sizeof(name), "t%d-%d", a->idx, i);
        if (MS_DB_QUERY(NULL, "INSERT INTO dbt (name, n) VALUES (?, ?)", MS_P_STR(name),
                        MS_P_INT(a->idx)) != 0)
            a->failures++;
        if (ms_db_begin() != 0) {
            a->failures++;
            continue;
        }
        if (MS_DB_QUERY(&r, "SELECT COUNT(*) FROM dbt WHERE n = ?", MS_P_INT(a->idx)) != 0 ||
            ms_cell_int(r, 0, 0) != i + 1)
            a->failures++;
        ms_result_free(r);
        r = NULL;
        if (ms_db_commit() != 0)
            a->failures++;
    }
    ms_db_thread_close();
    return NULL;
}

static void
test_threads(void **state)
{
    (void)state;
    clear_table();
    pthread_t th[NTHREADS];
    thread_arg args[NTHREADS];
    for (int i = 0; i < NTHREADS; i++) {
        args[i] = (thread_arg){.idx = 100 + i};
        assert_int_equal(pthread_create(&th[i], NULL, thread_main, &args[i]), 0);
    }
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(th[i], NULL);
    long long mine = my_connection_id();
    for (int i = 0; i < NTHREADS; i++) {
        assert_int_equal(args[i].failures, 0);
        assert_true(args[i].conn_id > 0);
        assert_true(args[i].conn_id != mine);
        for (int j = 0; j < i; j++)
            assert_true(args[i].conn_id != args[j].conn_id);
    }
    ms_result *r = NULL;
    assert_int_equal(MS_DB_QUERY0(&r, "SELECT COUNT(*) FROM dbt"), 0);
    assert_int_equal(ms_cell_int(r, 0, 0), NTHREADS * NPERTHREAD);
    ms_result_free(r);
}

static const char *const mig_v1[] = {
    "CREATE TABLE migt (id INT PRIMARY KEY) ENGINE=InnoDB",
    "INSERT INTO migt (id) VALUES (1)",
    NULL,
};
static const char *const mig_v2[] = {
    "ALTER TABLE migt ADD COLUMN name VARCHAR(32)",   /* fails if applied twice */
    NULL,
};
static const char *const mig_v3[] = {
    "INSERT INTO migt (id, name) VALUES (3, 'three')",
    NULL,
};
static const char *const mig_bad[] = {
    "ALTER TABLE migt ADD COLUMN broken NOSUCHTYPE",
    NULL,
};

static void
test_migrations(void **state)
{
    (void)state;
    char *err = NULL;
    MS_DB_QUERY0(NULL, "DROP TABLE IF EXISTS migt");
    /* creates schema_versions (nothing to apply) */
    const ms_migration none[] = {{0, NULL}};
    assert_int_equal(ms_db_sync("testmod", none, &err), 0);
    MS_DB_QUERY(NULL, "DELETE FROM schema_versions WHERE module = ?", MS_P_STR("testmod"));
    assert_int_equal(ms_db_version("testmod"), 0);

    const ms_migration two[] = {{1, mig_v1}, {2, mig_v2}, {0, NULL}};
    assert_int_equal(ms_db_sync("testmod", two, &err), 0);
    assert_int_equal(ms_db_version("testmod"), 2);
    /* again: nothing applied, no error */
    assert_int_equal(ms_db_sync("testmod", two, &err), 0);
    assert_int_equal(ms_db_version("testmod"), 2);
    ms_result *r = NULL;
    assert_int_equal(MS_DB_QUERY0(&r, "SELECT COUNT(*) FROM migt"), 0);
    assert_int_equal(ms_cell_int(r, 0, 0), 1);
    ms_result_free(r);
    assert_int_equal(MS_DB_QUERY(&r, "SELECT version, applied_at FROM schema_versions"
                                     " WHERE module = ?",
                                 MS_P_STR("testmod")),
                     0);
    assert_int_equal(r->nrows, 1);
    assert_string_equal(ms_cell(r, 0, 0), "2");
    assert_non_null(ms_cell(r, 0, 1));
    assert_int_equal(strlen(ms_cell(r, 0, 1)), strlen("2024-01-01 00:00:00.000000"));
    ms_result_free(r);

    /* a new migration later: only it runs */
    const ms_migration three[] = {{1, mig_v1}, {2, mig_v2}, {3, mig_v3}, {0, NULL}};
    assert_int_equal(ms_db_sync("testmod", three, &err), 0);
    assert_int_equal(ms_db_version("testmod"), 3);
    assert_int_equal(MS_DB_QUERY0(&r, "SELECT name FROM migt WHERE id = 3"), 0);
    assert_string_equal(ms_cell(r, 0, 0), "three");
    ms_result_free(r);

    /* a failing migration stops there, records nothing and says which */
    const ms_migration bad[] = {{1, mig_v1}, {2, mig_v2}, {3, mig_v3}, {4, mig_bad}, {0, NULL}};
    err = NULL;
    assert_int_equal(ms_db_sync("testmod", bad, &err), -EINVAL);
    assert_non_null(err);
    assert_non_null(strstr(err, "testmod"));
    assert_non_null(strstr(err, "migration 4"));
    free(err);
    assert_int_equal(ms_db_version("testmod"), 3);

    /* versions must increase */
    const ms_migration unordered[] = {{2, mig_v2}, {1, mig_v1}, {0, NULL}};
    err = NULL;
    assert_int_equal(ms_db_sync("othermod", unordered, &err), -EINVAL);
    assert_non_null(err);
    free(err);
    assert_int_equal(ms_db_version("othermod"), 0);
    MS_DB_QUERY0(NULL, "DROP TABLE IF EXISTS migt");
}

static void
test_url_parsing(void **state)
{
    (void)state;
    const char *bad[] = {
        NULL,
        "",
        "postgresql://u:p@h/db",
        "mysql:/u:p@h/db",
        "mysql://u:p@h:99999/db",
        "mysql://u:p@h:0/db",
        "mysql://u:p@h:12ab/db",
        "mysql://u:p@h:/db",
        "mysql://u:p@h",
        "mysql://u:p@h/",
        "mysql://u%zz:p@h/db",
        "mysql://u:p%4@h/db",
        "mysql://u:p%00@h/db",
        "mysql://u:p@[::1/db",
        "mysql://u@/db?unix_socket=",
        "mysql://u@h/db?charset=latin1",
    };
    for (size_t i = 0; i < MS_ARRAY_LEN(bad); i++) {
        char *err = NULL;
        int rc = ms_db_configure(bad[i], &err);
        if (rc != -EINVAL)
            fail_msg("URL %s was accepted", bad[i] ? bad[i] : "(null)");
        assert_non_null(err);
        assert_true(strlen(err) > 10);
        free(err);
    }
    const char *good[] = {
        "mysql://u:p@h/db",
        "mysql://u:p@h:3306/db",
        "mysql+pymysql://nova:secret@127.0.0.1/nova?charset=utf8",
        "mysql://u@[::1]:3307/db",
        "mysql://u@/db?unix_socket=/run/x.sock&plugin=foo",
        "mariadb://u%40x:p%3A%2F@host/my%20db",
    };
    for (size_t i = 0; i < MS_ARRAY_LEN(good); i++) {
        char *err = NULL;
        if (ms_db_configure(good[i], &err) != 0)
            fail_msg("URL %s was refused: %s", good[i], err);
    }
    /* the previous good configuration stays after a refused URL */
    assert_int_equal(ms_db_configure(db_url, NULL), 0);
    assert_int_equal(ms_db_configure("nonsense", NULL), -EINVAL);
    assert_int_equal(my_connection_id() > 0, 1);

    /* percent-decoding of user and password, proved by logging in */
    MYSQL *side = side_connect();
    side_exec(side, "DROP USER IF EXISTS 'ms user@x'@'localhost'");
    side_exec(side, "CREATE USER 'ms user@x'@'localhost' IDENTIFIED BY 'p@ss:w/rd%?'");
    side_exec(side, "GRANT ALL ON monostack_test.* TO 'ms user@x'@'localhost'");
    const char *sock = strstr(db_url, "?unix_socket=");
    char url[512];
    snprintf(url, sizeof(url), "mysql://ms%%20user%%40x:p%%40ss%%3Aw%%2Frd%%25%%3F@/monostack_test%s",
             sock);
    char *err = NULL;
    assert_int_equal(ms_db_configure(url, &err), 0);
    if (ms_db_ping(&err) != 0)
        fail_msg("login with a percent-encoded user failed: %s", err);
    ms_result *r = NULL;
    assert_int_equal(MS_DB_QUERY0(&r, "SELECT CURRENT_USER()"), 0);
    assert_string_equal(ms_cell(r, 0, 0), "ms user@x@localhost");
    ms_result_free(r);
    assert_int_equal(ms_db_configure(db_url, NULL), 0);
    side_exec(side, "DROP USER 'ms user@x'@'localhost'");
    mysql_close(side);
    assert_int_equal(MS_DB_QUERY0(&r, "SELECT CURRENT_USER()"), 0);
    assert_string_equal(ms_cell(r, 0, 0), "root@localhost");
    ms_result_free(r);
}

static void
kill_session(long long id)
{
    MYSQL *side = side_connect();
    char sql[64];
    snprintf(sql, sizeof(sql), "KILL CONNECTION %lld", id);
    side_exec(side, sql);
    mysql_close(side);
}

static void
test_reconnect_after_kill(void **state)
{
    (void)state;
    clear_table();
    ms_result *r = NULL;
    assert_int_equal(MS_DB_QUERY(NULL, "INSERT INTO dbt (name) VALUES (?)", MS_P_STR("k0")), 0);
    long long id = my_connection_id();
    kill_session(id);
    /* the next query notices, reconnects once and succeeds */
    assert_int_equal(MS_DB_QUERY(&r, "SELECT COUNT(*) FROM dbt WHERE name = ?", MS_P_STR("k0")),
                     0);
    assert_int_equal(ms_cell_int(r, 0, 0), 1);
    ms_result_free(r);
    long long id2 = my_connection_id();
    assert_true(id2 != id);

    /* an INSERT (prepared on the old connection) also goes through */
    kill_session(id2);
    assert_int_equal(MS_DB_QUERY(NULL, "INSERT INTO dbt (name) VALUES (?)", MS_P_STR("k1")), 0);
    assert_int_equal(count_named("k1"), 1);

    /* killed inside a transaction: the transaction is lost, said loudly,
     * and nothing runs outside it until the caller ends it */
    assert_int_equal(ms_db_begin(), 0);
    assert_int_equal(MS_DB_QUERY(NULL, "INSERT INTO dbt (name) VALUES (?)", MS_P_STR("k2")), 0);
    kill_session(my_connection_id());
    assert_int_equal(MS_DB_QUERY(NULL, "INSERT INTO dbt (name) VALUES (?)", MS_P_STR("k3")),
                     -EAGAIN);
    assert_int_equal(MS_DB_QUERY(NULL, "INSERT INTO dbt (name) VALUES (?)", MS_P_STR("k4")),
                     -EAGAIN);
    assert_int_equal(ms_db_commit(), -EAGAIN);
    assert_int_equal(count_named("k2"), 0);
    assert_int_equal(count_named("k3"), 0);
    assert_int_equal(count_named("k4"), 0);

    /* killed between transactions: begin reconnects */
    kill_session(my_connection_id());
    assert_int_equal(ms_db_begin(), 0);
    assert_int_equal(MS_DB_QUERY(NULL, "INSERT INTO dbt (name) VALUES (?)", MS_P_STR("k5")), 0);
    assert_int_equal(ms_db_commit(), 0);
    assert_int_equal(count_named("k5"), 1);

    /* ping notices a killed idle connection and reconnects */
    kill_session(my_connection_id());
    char *err = NULL;
    assert_int_equal(ms_db_ping(&err), 0);
    assert_int_equal(count_named("k5"), 1);
}

static void
test_unreachable(void **state)
{
    (void)state;
    char *err = NULL;
    const char *bad = "mysql://root@/monostack_test?unix_socket=/nonexistent/monostack.sock";
    assert_int_equal(ms_db_configure(bad, &err), 0);
    uint64_t t0 = ms_now_us();
    ms_result *r = NULL;
    for (int i = 0; i < 5; i++) {
        assert_int_equal(MS_DB_QUERY0(&r, "SELECT 1"), -EAGAIN);
        assert_null(r);
    }
    assert_int_equal(ms_db_begin(), -EAGAIN);
    err = NULL;
    assert_int_equal(ms_db_ping(&err), -EAGAIN);
    assert_non_null(err);
    free(err);
    assert_int_equal(ms_db_version("core"), -EAGAIN);
    assert_true(ms_now_us() - t0 < 2000000);

    /* a TCP port nobody listens on fails fast as well */
    assert_int_equal(ms_db_configure("mysql://root@127.0.0.1:1/monostack_test", NULL), 0);
    t0 = ms_now_us();
    assert_int_equal(MS_DB_QUERY0(&r, "SELECT 1"), -EAGAIN);
    assert_true(ms_now_us() - t0 < 4000000);

    /* back to the real server: the next query simply works */
    assert_int_equal(ms_db_configure(db_url, NULL), 0);
    assert_int_equal(MS_DB_QUERY0(&r, "SELECT 1"), 0);
    assert_string_equal(ms_cell(r, 0, 0), "1");
    ms_result_free(r);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_params_and_cells),
        cmocka_unit_test(test_large_values),
        cmocka_unit_test(test_affected_and_errors),
        cmocka_unit_test(test_transactions),
        cmocka_unit_test(test_lock_wait_timeout),
        cmocka_unit_test(test_statement_cache),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_migrations),
        cmocka_unit_test(test_url_parsing),
        cmocka_unit_test(test_reconnect_after_kill),
        cmocka_unit_test(test_unreachable),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
