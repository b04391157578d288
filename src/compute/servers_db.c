/* SQL for servers (compute_instances), their metadata, and the instance
 * actions journal. Creation checks the quota and inserts the rows and the
 * build tasks in one transaction under the project's lock row. Listing is
 * keyset-paginated on (created_at, id) descending, as Nova sorts by
 * default, and fetches the metadata of a whole page in one more query. */
#include "compute.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <monostack/config.h>

#define INST_COLS                                                                        \
    "id, uuid, project_id, user_id, display_name, display_description, hostname,"        \
    " image_ref, flavorid, flavor_name, memory_mb, vcpus, root_gb, ephemeral_gb, swap,"  \
    " key_name, key_data, user_data, vm_state, task_state, power_state, host, node,"     \
    " availability_zone, config_drive, access_ip_v4, access_ip_v6, progress, locked,"    \
    " locked_by, reservation_id, launch_index, fault_code, fault_message, fault_details," \
    " fault_created, launched_at, terminated_at, created_at, updated_at, deleted_at,"    \
    " deleted, shelved_image_id"

#define CPY(dst, i) cell_copy((dst), sizeof(dst), r, row, (i))

/* A cell into a fixed field, cut to fit; "" for NULL. (A list copies some
 * 25 of them per row: snprintf's format parsing showed in profiles.) */
static void
cell_copy(char *dst, size_t size, const ms_result *r, size_t row, size_t col)
{
    const char *v = ms_cell(r, row, col);
    size_t n = v ? r->lens[row * r->ncols + col] : 0;
    if (n >= size)
        n = size - 1;
    memcpy(dst, v ? v : "", n);
    dst[n] = '\0';
}

void
compute_instance_clear(compute_instance *i)
{
    free(i->description);
    free(i->key_data);
    free(i->user_data);
    free(i->fault_message);
    free(i->fault_details);
    json_decref(i->metadata);
    memset(i, 0, sizeof(*i));
}

static void
inst_from_row(const ms_result *r, size_t row, compute_instance *i)
{
    memset(i, 0, sizeof(*i));
    i->id = ms_cell_int(r, row, 0);
    CPY(i->uuid, 1);
    CPY(i->project_id, 2);
    CPY(i->user_id, 3);
    CPY(i->name, 4);
    i->description = ms_strdup(ms_cell(r, row, 5));
    CPY(i->hostname, 6);
    CPY(i->image_ref, 7);
    CPY(i->flavorid, 8);
    CPY(i->flavor_name, 9);
    i->memory_mb = (int)ms_cell_int(r, row, 10);
    i->vcpus = (int)ms_cell_int(r, row, 11);
    i->root_gb = (int)ms_cell_int(r, row, 12);
    i->ephemeral_gb = (int)ms_cell_int(r, row, 13);
    i->swap = (int)ms_cell_int(r, row, 14);
    CPY(i->key_name, 15);
    i->key_data = ms_strdup(ms_cell(r, row, 16));
    i->user_data = ms_strdup(ms_cell(r, row, 17));
    CPY(i->vm_state, 18);
    CPY(i->task_state, 19);
    i->power_state = (int)ms_cell_int(r, row, 20);
    CPY(i->host, 21);
    CPY(i->node, 22);
    CPY(i->availability_zone, 23);
    CPY(i->config_drive, 24);
    CPY(i->access_ip_v4, 25);
    CPY(i->access_ip_v6, 26);
    i->progress = (int)ms_cell_int(r, row, 27);
    i->locked = ms_cell_bool(r, row, 28);
    CPY(i->locked_by, 29);
    CPY(i->reservation_id, 30);
    i->launch_index = (int)ms_cell_int(r, row, 31);
    i->fault_code = (int)ms_cell_int(r, row, 32);
    i->fault_message = ms_strdup(ms_cell(r, row, 33));
    i->fault_details = ms_strdup(ms_cell(r, row, 34));
    i->fault_created = ms_cell_int(r, row, 35);
    i->launched_at = ms_cell_int(r, row, 36);
    i->terminated_at = ms_cell_int(r, row, 37);
    i->created_at = ms_cell_int(r, row, 38);
    i->updated_at = ms_cell_int(r, row, 39);
    i->deleted_at = ms_cell_int(r, row, 40);
    i->deleted = ms_cell_int(r, row, 41) != 0;
    CPY(i->shelved_image_id, 42);
}

static int
meta_load_one(compute_instance *i)
{
    ms_result *r = NULL;
    int rc = MS_DB_QUERY(&r,
                         "SELECT meta_key, meta_value FROM compute_instance_metadata"
                         " WHERE instance_uuid = ? ORDER BY meta_key",
                         MS_P_STR(i->uuid));
    if (rc < 0)
        return rc;
    i->metadata = json_object();
    for (size_t k = 0; k < r->nrows; k++)
        json_object_set_new(i->metadata, ms_cell(r, k, 0), json_string(ms_cell(r, k, 1)));
    ms_result_free(r);
    return 0;
}

int
compute_instance_db_get(const char *uuid, bool with_deleted, compute_instance *out)
{
    ms_result *r = NULL;
    int rc = MS_DB_QUERY(&r,
                         "SELECT " INST_COLS " FROM compute_instances WHERE uuid = ?"
                         " AND (deleted = 0 OR ? = 1)",
                         MS_P_STR(uuid), MS_P_BOOL(with_deleted));
    if (rc < 0)
        return rc;
    if (r->nrows == 0) {
        ms_result_free(r);
        return -ENOENT;
    }
    inst_from_row(r, 0, out);
    ms_result_free(r);
    rc = meta_load_one(out);
    if (rc < 0)
        compute_instance_clear(out);
    return rc;
}

static const char *
nz(const char *s)
{
    return ms_str_empty(s) ? NULL : s;
}

/* INSERT of n metadata rows at once, n <= META_ROWS_MAX; the texts are kept
 * (the statement cache is keyed by the SQL's address). */
#define META_ROWS_MAX 64
static const char *meta_insert_sql[META_ROWS_MAX + 1];
static pthread_mutex_t meta_insert_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *
meta_insert_statement(size_t n)
{
    pthread_mutex_lock(&meta_insert_lock);
    if (!meta_insert_sql[n]) {
        ms_buf b = {0};
        ms_buf_adds(&b, "INSERT INTO compute_instance_metadata (instance_uuid, meta_key,"
                        " meta_value) VALUES ");
        for (size_t k = 0; k < n; k++)
            ms_buf_adds(&b, k ? ",(?,?,?)" : "(?,?,?)");
        meta_insert_sql[n] = ms_buf_steal(&b);
    }
    const char *s = meta_insert_sql[n];
    pthread_mutex_unlock(&meta_insert_lock);
    return s;
}

/* Every instance's metadata in as few statements as fit. */
static int
meta_insert_all(const compute_instance *insts, size_t n)
{
    ms_param p[META_ROWS_MAX * 3];
    size_t rows = 0;
    for (size_t k = 0; k < n; k++) {
        const char *key;
        json_t *v;
        json_object_foreach(insts[k].metadata, key, v) {
            p[rows * 3] = MS_P_STR(insts[k].uuid);
            p[rows * 3 + 1] = MS_P_STR(key);
            p[rows * 3 + 2] = MS_P_STR(json_string_value(v));
            if (++rows == META_ROWS_MAX) {
                int rc = ms_db_query(NULL, meta_insert_statement(rows), p, rows * 3);
                if (rc < 0)
                    return rc;
                rows = 0;
            }
        }
    }
    return rows ? ms_db_query(NULL, meta_insert_statement(rows), p, rows * 3) : 0;
}

int
compute_instance_db_create(compute_instance *insts, size_t n, const long long limits[],
                           const char *request_id, long long *task_ids, char *msg,
                           size_t msglen)
{
    /* Round trips are most of a create's time: the project's lock row is
     * taken (created if need be) by one upsert, which locks it exclusively
     * either way; metadata goes in multi-row INSERTs; the "create" action
     * is written by the build task, as Nova's conductor does. */
    const compute_instance *f = &insts[0];
    /* Unlimited instances, cores and ram and no group: nothing to count,
     * so no lock to hold either. */
    bool counted = limits[Q_INSTANCES] >= 0 || limits[Q_CORES] >= 0 || limits[Q_RAM] >= 0 ||
                   f->server_group[0];
    int rc = ms_db_begin();
    if (rc < 0)
        return rc;
    if (counted &&
        (rc = MS_DB_QUERY(NULL, "INSERT INTO compute_project_locks (project_id) VALUES (?)"
                                " ON DUPLICATE KEY UPDATE project_id = project_id",
                          MS_P_STR(f->project_id))) < 0)
        goto fail;
    long long ui = 0, uc = 0, ur = 0;
    if (counted && (rc = compute_quota_db_usage(f->project_id, &ui, &uc, &ur)) < 0)
        goto fail;
    if (!compute_quota_fits(limits, ui, uc, ur, (long long)n, f->vcpus, f->memory_mb, msg,
                            msglen)) {
        rc = -EDQUOT;
        goto fail;
    }
    if (f->server_group[0]) {
        long long members = 0;
        if ((rc = compute_server_group_db_members_count(f->server_group, &members)) < 0)
            goto fail;
        if (limits[Q_SERVER_GROUP_MEMBERS] >= 0 &&
            members + (long long)n > limits[Q_SERVER_GROUP_MEMBERS]) {
            snprintf(msg, msglen, "Quota exceeded, too many servers in group");
            rc = -EDQUOT;
            goto fail;
        }
    }
    for (size_t k = 0; k < n; k++) {
        compute_instance *i = &insts[k];
        rc = MS_DB_QUERY(
            NULL,
            "INSERT INTO compute_instances (uuid, project_id, user_id, display_name,"
            " display_description, hostname, image_ref, flavorid, flavor_name, memory_mb,"
            " vcpus, root_gb, ephemeral_gb, swap, key_name, key_data, user_data, vm_state,"
            " task_state, power_state, availability_zone, requested_az, config_drive,"
            " access_ip_v4, access_ip_v6, reservation_id, launch_index, server_group,"
            " created_at, updated_at)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            MS_P_STR(i->uuid), MS_P_STR(i->project_id), MS_P_STR(i->user_id),
            MS_P_STR(i->name), MS_P_STR(i->description), MS_P_STR(i->hostname),
            MS_P_STR(i->image_ref), MS_P_STR(i->flavorid), MS_P_STR(i->flavor_name),
            MS_P_INT(i->memory_mb), MS_P_INT(i->vcpus), MS_P_INT(i->root_gb),
            MS_P_INT(i->ephemeral_gb), MS_P_INT(i->swap), MS_P_STR(nz(i->key_name)),
            MS_P_STR(i->key_data), MS_P_STR(i->user_data), MS_P_STR(i->vm_state),
            MS_P_STR(nz(i->task_state)), MS_P_INT(i->power_state),
            MS_P_STR(nz(i->availability_zone)), MS_P_STR(nz(i->availability_zone)),
            MS_P_STR(i->config_drive), MS_P_STR(nz(i->access_ip_v4)),
            MS_P_STR(nz(i->access_ip_v6)), MS_P_STR(i->reservation_id),
            MS_P_INT(i->launch_index), MS_P_STR(nz(i->server_group)),
            MS_P_INT(i->created_at), MS_P_INT(i->updated_at));
        if (rc < 0)
            goto fail;
        if (i->server_group[0] &&
            (rc = compute_server_group_db_add_member(i->server_group, i->uuid)) < 0)
            goto fail;
        json_t *payload = json_pack("{s:s}", "request_id", request_id);
        rc = ms_task_enqueue("compute", ms_conf.host, "build_instance", i->uuid, payload,
                             &task_ids[k]);
        json_decref(payload);
        if (rc < 0)
            goto fail;
    }
    if ((rc = meta_insert_all(insts, n)) < 0)
        goto fail;
    return ms_db_commit();
fail:
    ms_db_rollback();
    return rc;
}

/* vm_state IN (...) for up to 6 states, padded with NULLs (never equal).
 * from_vm is NULL-terminated and may be shorter than 6: nothing past its
 * terminator is read (callers pass compound literals like {"active", NULL}). */
static int
transition_sql(ms_param *p, size_t *np, const char *const *from_vm)
{
    bool ended = from_vm == NULL;
    for (int k = 0; k < 6; k++) {
        if (!ended && !from_vm[k])
            ended = true;
        p[(*np)++] = ended ? MS_P_NULL : MS_P_STR(from_vm[k]);
    }
    return 0;
}

int
compute_instance_db_transition(const char *uuid, const char *const *from_vm,
                               const char *expect_task, const char *vm_state,
                               const char *task_state, int power_state)
{
    ms_param p[16];
    size_t np = 0;
    p[np++] = MS_P_STR(vm_state);
    p[np++] = MS_P_STR(task_state);
    p[np++] = MS_P_INT(power_state);
    p[np++] = MS_P_INT(power_state);
    p[np++] = MS_P_INT(compute_now());
    p[np++] = MS_P_STR(uuid);
    p[np++] = MS_P_BOOL(from_vm == NULL);
    transition_sql(p, &np, from_vm);
    p[np++] = MS_P_STR(expect_task);
    p[np++] = MS_P_STR(expect_task);
    ms_result *r = NULL;
    int rc = ms_db_query(&r,
                         "UPDATE compute_instances SET vm_state = COALESCE(?, vm_state),"
                         " task_state = ?, power_state = IF(? < 0, power_state, ?),"
                         " updated_at = ? WHERE uuid = ? AND deleted = 0"
                         " AND (? = 1 OR vm_state IN (?,?,?,?,?,?))"
                         " AND ((? IS NULL AND task_state IS NULL) OR task_state = ?)",
                         p, np);
    if (rc == 0 && r->affected == 0)
        rc = -EBUSY;
    ms_result_free(r);
    return rc;
}

int
compute_instance_db_action(const char *uuid, const char *const *from_vm, const char *vm_state,
                           const char *task_state, const char *task_type, json_t *payload,
                           const char *host, const char *action, const char *request_id,
                           const char *user_id, const char *project_id, long long *task_id)
{
    int rc = ms_db_begin();
    if (rc < 0)
        return rc;
    rc = compute_instance_db_transition(uuid, from_vm, NULL, vm_state, task_state, -1);
    if (rc == 0 && action) {
        int64_t now = compute_now();
        rc = MS_DB_QUERY(NULL,
                         "INSERT INTO compute_instance_actions (instance_uuid, action,"
                         " request_id, project_id, user_id, start_time, updated_at)"
                         " VALUES (?,?,?,?,?,?,?)",
                         MS_P_STR(uuid), MS_P_STR(action), MS_P_STR(request_id),
                         MS_P_STR(project_id), MS_P_STR(user_id), MS_P_INT(now), MS_P_INT(now));
    }
    if (rc == 0 && task_type)
        rc = ms_task_enqueue("compute", ms_str_empty(host) ? ms_conf.host : host, task_type,
                             uuid, payload, task_id);
    if (rc < 0) {
        ms_db_rollback();
        return rc;
    }
    return ms_db_commit();
}

int
compute_instance_db_set(const char *uuid, const char *vm_state, const char *task_state,
                        int power_state)
{
    return MS_DB_QUERY(NULL,
                       "UPDATE compute_instances SET vm_state = COALESCE(?, vm_state),"
                       " task_state = ?, power_state = IF(? < 0, power_state, ?),"
                       " updated_at = ? WHERE uuid = ? AND deleted = 0",
                       MS_P_STR(vm_state), MS_P_STR(task_state), MS_P_INT(power_state),
                       MS_P_INT(power_state), MS_P_INT(compute_now()), MS_P_STR(uuid));
}

int
compute_instance_db_set_host(const char *uuid, const char *host)
{
    return MS_DB_QUERY(NULL,
                       "UPDATE compute_instances SET host = ?, node = ?,"
                       " availability_zone = COALESCE(availability_zone, 'nova'),"
                       " task_state = 'spawning', updated_at = ? WHERE uuid = ? AND deleted = 0"
                       " AND task_state IN ('scheduling', 'spawning')",
                       MS_P_STR(host), MS_P_STR(host), MS_P_INT(compute_now()), MS_P_STR(uuid));
}

int
compute_instance_db_set_active(const char *uuid, int power_state)
{
    int64_t now = compute_now();
    ms_result *r = NULL;
    int rc = MS_DB_QUERY(&r,
                         "UPDATE compute_instances SET vm_state = 'active', task_state = NULL,"
                         " power_state = ?, progress = 100, launched_at = COALESCE(launched_at, ?),"
                         " updated_at = ? WHERE uuid = ? AND deleted = 0"
                         " AND vm_state = 'building' AND task_state = 'spawning'",
                         MS_P_INT(power_state), MS_P_INT(now), MS_P_INT(now), MS_P_STR(uuid));
    if (rc == 0 && r->affected == 0)
        rc = -EBUSY;
    ms_result_free(r);
    return rc;
}

int
compute_instance_db_set_power(const char *uuid, int power_state)
{
    return MS_DB_QUERY(NULL,
                       "UPDATE compute_instances SET power_state = ?, updated_at = ?"
                       " WHERE uuid = ? AND deleted = 0 AND power_state <> ?",
                       MS_P_INT(power_state), MS_P_INT(compute_now()), MS_P_STR(uuid),
                       MS_P_INT(power_state));
}

int
compute_instance_db_set_fault(const char *uuid, int code, const char *message,
                              const char *details)
{
    int64_t now = compute_now();
    return MS_DB_QUERY(NULL,
                       "UPDATE compute_instances SET vm_state = 'error', task_state = NULL,"
                       " fault_code = ?, fault_message = ?, fault_details = ?,"
                       " fault_created = ?, updated_at = ? WHERE uuid = ? AND deleted = 0"
                       " AND (task_state IS NULL OR task_state <> 'deleting')",
                       MS_P_INT(code), MS_P_STR(message), MS_P_STR(details), MS_P_INT(now),
                       MS_P_INT(now), MS_P_STR(uuid));
}

int
compute_instance_db_mark_deleted(const char *uuid)
{
    int64_t now = compute_now();
    int rc = ms_db_begin();
    if (rc < 0)
        return rc;
    if ((rc = MS_DB_QUERY(NULL,
                          "UPDATE compute_instances SET vm_state = 'deleted', task_state = NULL,"
                          " power_state = 0, deleted = id, deleted_at = ?, terminated_at = ?,"
                          " updated_at = ? WHERE uuid = ? AND deleted = 0",
                          MS_P_INT(now), MS_P_INT(now), MS_P_INT(now), MS_P_STR(uuid))) < 0 ||
        (rc = MS_DB_QUERY(NULL, "DELETE FROM compute_server_group_members WHERE instance_uuid = ?",
                          MS_P_STR(uuid))) < 0) {
        ms_db_rollback();
        return rc;
    }
    return ms_db_commit();
}

int
compute_instance_db_update(const char *uuid, const char *name, const char *access4,
                           const char *access6)
{
    return MS_DB_QUERY(NULL,
                       "UPDATE compute_instances SET display_name = COALESCE(?, display_name),"
                       " access_ip_v4 = COALESCE(?, access_ip_v4),"
                       " access_ip_v6 = COALESCE(?, access_ip_v6), updated_at = ?"
                       " WHERE uuid = ? AND deleted = 0",
                       MS_P_STR(name), MS_P_STR(access4), MS_P_STR(access6),
                       MS_P_INT(compute_now()), MS_P_STR(uuid));
}

int
compute_instance_db_lock(const char *uuid, bool locked, const char *by)
{
    return MS_DB_QUERY(NULL,
                       "UPDATE compute_instances SET locked = ?, locked_by = ?, updated_at = ?"
                       " WHERE uuid = ? AND deleted = 0",
                       MS_P_BOOL(locked), MS_P_STR(by), MS_P_INT(compute_now()),
                       MS_P_STR(uuid));
}

int
compute_instance_db_meta_replace(const char *uuid, json_t *meta)
{
    int rc = ms_db_begin();
    if (rc < 0)
        return rc;
    rc = MS_DB_QUERY(NULL, "DELETE FROM compute_instance_metadata WHERE instance_uuid = ?",
                     MS_P_STR(uuid));
    const char *k;
    json_t *v;
    json_object_foreach(meta, k, v) {
        if (rc < 0)
            break;
        rc = compute_instance_db_meta_set(uuid, k, json_string_value(v));
    }
    if (rc < 0) {
        ms_db_rollback();
        return rc;
    }
    return ms_db_commit();
}

int
compute_instance_db_meta_set(const char *uuid, const char *key, const char *value)
{
    return MS_DB_QUERY(NULL,
                       "INSERT INTO compute_instance_metadata (instance_uuid, meta_key,"
                       " meta_value) VALUES (?,?,?) ON DUPLICATE KEY UPDATE"
                       " meta_value = VALUES(meta_value)",
                       MS_P_STR(uuid), MS_P_STR(key), MS_P_STR(value));
}

int
compute_instance_db_meta_delete(const char *uuid, const char *key, bool *found)
{
    ms_result *r = NULL;
    int rc = MS_DB_QUERY(&r,
                         "DELETE FROM compute_instance_metadata WHERE instance_uuid = ?"
                         " AND meta_key = ?",
                         MS_P_STR(uuid), MS_P_STR(key));
    if (rc == 0)
        *found = r->affected > 0;
    ms_result_free(r);
    return rc;
}

int
compute_instance_db_on_host(const char *host, compute_instance **out, size_t *n)
{
    ms_result *r = NULL;
    int rc = MS_DB_QUERY(&r,
                         "SELECT " INST_COLS " FROM compute_instances WHERE host = ?"
                         " AND deleted = 0",
                         MS_P_STR(host));
    if (rc < 0)
        return rc;
    *out = ms_calloc(r->nrows + 1, sizeof(**out));
    for (size_t k = 0; k < r->nrows; k++)
        inst_from_row(r, k, &(*out)[k]);
    *n = r->nrows;
    ms_result_free(r);
    return 0;
}

/* ---- listing ---- */

enum {
    F_PROJECT = 1 << 0, F_NAME = 1 << 1, F_IMAGE = 1 << 2, F_FLAVOR = 1 << 3,
    F_HOST = 1 << 4, F_VMSTATE = 1 << 5, F_CHANGES = 1 << 6, F_MARKER = 1 << 7,
    F_DELETED = 1 << 8, F_BRIEF = 1 << 9, F_ALL = 1 << 10,
};
static const char *list_sql[F_ALL];
static const char *meta_sql[F_ALL];
static pthread_mutex_t sql_lock = PTHREAD_MUTEX_INITIALIZER;

/* The WHERE conditions of a list with filters f; the page's metadata query
 * repeats them, with the same parameters. */
static void
list_where(ms_buf *b, unsigned f)
{
    /* changes-since includes deleted rows, as in Nova. */
    if (f & F_DELETED)
        ms_buf_adds(b, "deleted <> 0");
    else if (f & F_CHANGES)
        ms_buf_adds(b, "1 = 1");
    else
        ms_buf_adds(b, "deleted = 0");
    if (f & F_PROJECT)
        ms_buf_adds(b, " AND project_id = ?");
    if (f & F_NAME)
        ms_buf_adds(b, " AND display_name REGEXP ?");
    if (f & F_IMAGE)
        ms_buf_adds(b, " AND image_ref = ?");
    if (f & F_FLAVOR)
        ms_buf_adds(b, " AND flavorid = ?");
    if (f & F_HOST)
        ms_buf_adds(b, " AND host = ?");
    if (f & F_VMSTATE)
        ms_buf_adds(b, " AND vm_state = ?");
    if (f & F_CHANGES)
        ms_buf_adds(b, " AND updated_at >= ?");
    if (f & F_MARKER)
        ms_buf_adds(b, " AND (created_at < ? OR (created_at = ? AND id < ?))");
}

static const char *
list_statement(unsigned f)
{
    pthread_mutex_lock(&sql_lock);
    if (!list_sql[f]) {
        ms_buf b = {0};
        ms_buf_adds(&b, f & F_BRIEF ? "SELECT id, uuid, display_name, created_at FROM"
                                      " compute_instances WHERE "
                                    : "SELECT " INST_COLS " FROM compute_instances WHERE ");
        list_where(&b, f);
        ms_buf_adds(&b, " ORDER BY created_at DESC, id DESC LIMIT ?");
        list_sql[f] = ms_buf_steal(&b);
    }
    const char *s = list_sql[f];
    pthread_mutex_unlock(&sql_lock);
    return s;
}

/* The metadata of a page: the list's conditions down to its last row
 * (created_at, id) instead of a LIMIT, so the index serves it and a server
 * created meanwhile only adds rows that match no listed server. (An IN list
 * of the page's uuids cost milliseconds to plan for 1000 of them.) The
 * rows come in the page's order. */
static const char *
meta_statement(unsigned f)
{
    pthread_mutex_lock(&sql_lock);
    if (!meta_sql[f]) {
        ms_buf b = {0};
        ms_buf_adds(&b, "SELECT m.instance_uuid, m.meta_key, m.meta_value FROM"
                        " compute_instances JOIN compute_instance_metadata m"
                        " ON m.instance_uuid = compute_instances.uuid WHERE ");
        list_where(&b, f);
        ms_buf_adds(&b, " AND (created_at > ? OR (created_at = ? AND id >= ?))"
                        " ORDER BY created_at DESC, id DESC, m.meta_key");
        meta_sql[f] = ms_buf_steal(&b);
    }
    const char *s = meta_sql[f];
    pthread_mutex_unlock(&sql_lock);
    return s;
}

int
compute_instance_db_list(const compute_instance_query *q, compute_instance **out, size_t *n)
{
    unsigned f = q->brief ? F_BRIEF : 0;
    ms_param p[20];
    size_t np = 0;
    if (q->deleted)
        f |= F_DELETED;
    if (q->project) {
        f |= F_PROJECT;
        p[np++] = MS_P_STR(q->project);
    }
    if (q->name_regex) {
        f |= F_NAME;
        p[np++] = MS_P_STR(q->name_regex);
    }
    if (q->image) {
        f |= F_IMAGE;
        p[np++] = MS_P_STR(q->image);
    }
    if (q->flavor) {
        f |= F_FLAVOR;
        p[np++] = MS_P_STR(q->flavor);
    }
    if (q->host) {
        f |= F_HOST;
        p[np++] = MS_P_STR(q->host);
    }
    if (q->vm_state) {
        f |= F_VMSTATE;
        p[np++] = MS_P_STR(q->vm_state);
    }
    if (q->changes_since) {
        f |= F_CHANGES;
        p[np++] = MS_P_INT(q->changes_since);
    }
    if (q->marker) {
        f |= F_MARKER;
        p[np++] = MS_P_INT(q->marker->created_at);
        p[np++] = MS_P_INT(q->marker->created_at);
        p[np++] = MS_P_INT(q->marker->id);
    }
    p[np++] = MS_P_INT(q->limit);
    ms_result *r = NULL;
    int rc = ms_db_query(&r, list_statement(f), p, np);
    if (rc < 0)
        return rc;
    size_t cnt = r->nrows;
    *out = ms_calloc(cnt + 1, sizeof(**out));
    for (size_t k = 0; k < cnt; k++) {
        compute_instance *i = &(*out)[k];
        if (q->brief) {
            i->id = ms_cell_int(r, k, 0);
            cell_copy(i->uuid, sizeof(i->uuid), r, k, 1);
            cell_copy(i->name, sizeof(i->name), r, k, 2);
            i->created_at = ms_cell_int(r, k, 3);
            continue;
        }
        inst_from_row(r, k, i);
        i->metadata = json_object();
    }
    ms_result_free(r);
    *n = cnt;
    if (cnt == 0 || q->brief)
        return 0;
    /* The same parameters without the limit, then the last row's key. */
    const compute_instance *last = &(*out)[cnt - 1];
    np--;
    p[np++] = MS_P_INT(last->created_at);
    p[np++] = MS_P_INT(last->created_at);
    p[np++] = MS_P_INT(last->id);
    rc = ms_db_query(&r, meta_statement(f), p, np);
    if (rc < 0)
        return rc;
    for (size_t k = 0, j = 0; k < r->nrows; k++) {
        const char *u = ms_cell(r, k, 0);
        /* Same order on both sides: the scan from the last hit finds it at
         * once; rows of servers not on the page match nothing. */
        for (size_t t = 0; t < cnt; t++, j = (j + 1) % cnt) {
            if (!strcmp((*out)[j].uuid, u)) {
                json_object_set_new((*out)[j].metadata, ms_cell(r, k, 1),
                                    json_string(ms_cell(r, k, 2)));
                break;
            }
        }
    }
    ms_result_free(r);
    return 0;
}

/* ---- instance actions ---- */

int
compute_action_db_event(const char *uuid, const char *request_id, const char *event,
                        bool start, const char *result)
{
    int64_t now = compute_now();
    if (start)
        return MS_DB_QUERY(NULL,
                           "INSERT INTO compute_instance_action_events (action_id, event,"
                           " start_time, host) SELECT id, ?, ?, ? FROM compute_instance_actions"
                           " WHERE instance_uuid = ? AND request_id = ? ORDER BY id DESC LIMIT 1",
                           MS_P_STR(event), MS_P_INT(now), MS_P_STR(ms_conf.host),
                           MS_P_STR(uuid), MS_P_STR(request_id));
    return MS_DB_QUERY(NULL,
                       "UPDATE compute_instance_action_events e JOIN compute_instance_actions a"
                       " ON e.action_id = a.id SET e.finish_time = ?, e.result = ?,"
                       " a.finish_time = ?, a.updated_at = ?"
                       " WHERE a.instance_uuid = ? AND a.request_id = ? AND e.event = ?"
                       " AND e.finish_time IS NULL",
                       MS_P_INT(now), MS_P_STR(result), MS_P_INT(now), MS_P_INT(now),
                       MS_P_STR(uuid), MS_P_STR(request_id), MS_P_STR(event));
}

int
compute_action_db_start(const char *uuid, const char *action, const char *request_id,
                        const char *project_id, const char *user_id, int64_t start_time)
{
    return MS_DB_QUERY(NULL,
                       "INSERT INTO compute_instance_actions (instance_uuid, action,"
                       " request_id, project_id, user_id, start_time, updated_at)"
                       " SELECT ?, ?, ?, ?, ?, ?, ? FROM DUAL WHERE NOT EXISTS"
                       " (SELECT 1 FROM compute_instance_actions WHERE instance_uuid = ?"
                       " AND request_id = ?)",
                       MS_P_STR(uuid), MS_P_STR(action), MS_P_STR(request_id),
                       MS_P_STR(project_id), MS_P_STR(user_id), MS_P_INT(start_time),
                       MS_P_INT(start_time), MS_P_STR(uuid), MS_P_STR(request_id));
}

int
compute_action_db_finish(const char *uuid, const char *request_id, const char *message)
{
    return MS_DB_QUERY(NULL,
                       "UPDATE compute_instance_actions SET message = ?, updated_at = ?"
                       " WHERE instance_uuid = ? AND request_id = ?",
                       MS_P_STR(message), MS_P_INT(compute_now()), MS_P_STR(uuid),
                       MS_P_STR(request_id));
}

static json_t *
action_json(const ms_result *r, size_t k)
{
    char st[32];
    compute_time_iso_frac(ms_cell_int(r, k, 5), st);
    json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "action", ms_cell(r, k, 1),
                          "instance_uuid", ms_cell(r, k, 0), "request_id", ms_cell(r, k, 2),
                          "project_id", ms_cell(r, k, 3), "user_id", ms_cell(r, k, 4),
                          "start_time", st);
    ms_json_set_str(o, "message", ms_cell(r, k, 6));
    return o;
}

int
compute_action_db_list(const char *uuid, json_t **out)
{
    ms_result *r = NULL;
    int rc = MS_DB_QUERY(&r,
                         "SELECT instance_uuid, action, request_id, project_id, user_id,"
                         " start_time, message FROM compute_instance_actions"
                         " WHERE instance_uuid = ? ORDER BY start_time DESC, id DESC",
                         MS_P_STR(uuid));
    if (rc < 0)
        return rc;
    *out = json_array();
    for (size_t k = 0; k < r->nrows; k++)
        json_array_append_new(*out, action_json(r, k));
    ms_result_free(r);
    return 0;
}

int
compute_action_db_get(const char *uuid, const char *request_id, json_t **out)
{
    ms_result *r = NULL;
    int rc = MS_DB_QUERY(&r,
                         "SELECT instance_uuid, action, request_id, project_id, user_id,"
                         " start_time, message, id FROM compute_instance_actions"
                         " WHERE instance_uuid = ? AND request_id = ? ORDER BY id DESC LIMIT 1",
                         MS_P_STR(uuid), MS_P_STR(request_id));
    if (rc < 0)
        return rc;
    if (r->nrows == 0) {
        ms_result_free(r);
        return -ENOENT;
    }
    *out = action_json(r, 0);
    long long aid = ms_cell_int(r, 0, 7);
    ms_result_free(r);
    rc = MS_DB_QUERY(&r,
                     "SELECT event, start_time, finish_time, result, traceback FROM"
                     " compute_instance_action_events WHERE action_id = ? ORDER BY id",
                     MS_P_INT(aid));
    if (rc < 0) {
        json_decref(*out);
        return rc;
    }
    json_t *events = json_array();
    for (size_t k = 0; k < r->nrows; k++) {
        char st[32], ft[32];
        compute_time_iso_frac(ms_cell_int(r, k, 1), st);
        json_t *e = json_pack("{s:s,s:s}", "event", ms_cell(r, k, 0), "start_time", st);
        if (ms_cell(r, k, 2)) {
            compute_time_iso_frac(ms_cell_int(r, k, 2), ft);
            json_object_set_new(e, "finish_time", json_string(ft));
        } else {
            json_object_set_new(e, "finish_time", json_null());
        }
        ms_json_set_str(e, "result", ms_cell(r, k, 3));
        ms_json_set_str(e, "traceback", ms_cell(r, k, 4));
        json_array_append_new(events, e);
    }
    ms_result_free(r);
    json_object_set_new(*out, "events", events);
    return 0;
}

/* ---- rebuild and resize ---- */

int
compute_instance_db_set_image(const char *uuid, const char *image_ref)
{
    return MS_DB_QUERY(NULL,
                       "UPDATE compute_instances SET image_ref = ?, updated_at = ?"
                       " WHERE uuid = ? AND deleted = 0",
                       MS_P_STR(image_ref), MS_P_INT(compute_now()), MS_P_STR(uuid));
}

json_t *
compute_flavor_snapshot(const char *flavorid, const char *name, int memory_mb, int vcpus,
                        int root_gb, int ephemeral_gb, int swap)
{
    return json_pack("{s:s,s:s,s:i,s:i,s:i,s:i,s:i}", "flavorid", flavorid, "name", name,
                     "memory_mb", memory_mb, "vcpus", vcpus, "root_gb", root_gb,
                     "ephemeral_gb", ephemeral_gb, "swap", swap);
}

int
compute_instance_db_set_flavor(const char *uuid, const json_t *flavor, const json_t *old)
{
    char *old_text = old ? json_dumps(old, JSON_COMPACT) : NULL;
    int rc = MS_DB_QUERY(NULL,
                         "UPDATE compute_instances SET flavorid = ?, flavor_name = ?,"
                         " memory_mb = ?, vcpus = ?, root_gb = ?, ephemeral_gb = ?, swap = ?,"
                         " old_flavor = ?, updated_at = ? WHERE uuid = ? AND deleted = 0",
                         MS_P_STR(ms_json_strval(flavor, "flavorid")),
                         MS_P_STR(ms_json_strval(flavor, "name")),
                         MS_P_INT(json_integer_value(json_object_get(flavor, "memory_mb"))),
                         MS_P_INT(json_integer_value(json_object_get(flavor, "vcpus"))),
                         MS_P_INT(json_integer_value(json_object_get(flavor, "root_gb"))),
                         MS_P_INT(json_integer_value(json_object_get(flavor, "ephemeral_gb"))),
                         MS_P_INT(json_integer_value(json_object_get(flavor, "swap"))),
                         MS_P_STR(old_text), MS_P_INT(compute_now()), MS_P_STR(uuid));
    free(old_text);
    return rc;
}

int
compute_instance_db_old_flavor(const char *uuid, json_t **out)
{
    *out = NULL;
    ms_result *r = NULL;
    int rc = MS_DB_QUERY(&r,
                         "SELECT old_flavor FROM compute_instances WHERE uuid = ?"
                         " AND deleted = 0",
                         MS_P_STR(uuid));
    if (rc < 0)
        return rc;
    if (r->nrows == 0)
        rc = -ENOENT;
    else if (ms_cell(r, 0, 0))
        *out = json_loads(ms_cell(r, 0, 0), 0, NULL);
    ms_result_free(r);
    if (rc == 0 && !*out)
        rc = -ENOENT;
    return rc;
}

/* ---- shelve ---- */

int
compute_instance_db_set_shelved(const char *uuid, const char *image_id, bool offloaded)
{
    return MS_DB_QUERY(NULL,
                       "UPDATE compute_instances SET shelved_image_id = ?,"
                       " host = IF(?, NULL, host), node = IF(?, NULL, node), updated_at = ?"
                       " WHERE uuid = ? AND deleted = 0",
                       MS_P_STR(image_id), MS_P_BOOL(offloaded), MS_P_BOOL(offloaded),
                       MS_P_INT(compute_now()), MS_P_STR(uuid));
}

int
compute_instance_db_place(const char *uuid, const char *host)
{
    return MS_DB_QUERY(NULL,
                       "UPDATE compute_instances SET host = ?, node = ?, updated_at = ?"
                       " WHERE uuid = ? AND deleted = 0",
                       MS_P_STR(host), MS_P_STR(host), MS_P_INT(compute_now()), MS_P_STR(uuid));
}
