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
    " deleted, shelved_image_id, locked_reason, trusted_certs, flavor_extra, auto_disk_config"

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
    free(i->locked_reason);
    json_decref(i->metadata);
    json_decref(i->trusted_certs);
    json_decref(i->flavor_extra);
    json_decref(i->tags);
    json_decref(i->security_groups);
    json_decref(i->bdms);
    json_decref(i->build_networks);
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
    i->locked_reason = ms_strdup(ms_cell(r, row, 43));
    if (ms_cell(r, row, 44))
        i->trusted_certs = json_loads(ms_cell(r, row, 44), 0, NULL);
    if (ms_cell(r, row, 45))
        i->flavor_extra = json_loads(ms_cell(r, row, 45), 0, NULL);
    i->auto_disk_config = ms_cell_bool(r, row, 46);
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
    return compute_instance_db_tags(i->uuid, &i->tags);
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
    if (rc == 0)
        rc = compute_instance_db_sg_load(out, 1);
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
        char *certs = i->trusted_certs ? json_dumps(i->trusted_certs, JSON_COMPACT) : NULL;
        char *extra = i->flavor_extra ? json_dumps(i->flavor_extra, JSON_COMPACT) : NULL;
        rc = MS_DB_QUERY(
            NULL,
            "INSERT INTO compute_instances (uuid, project_id, user_id, display_name,"
            " display_description, hostname, image_ref, flavorid, flavor_name, memory_mb,"
            " vcpus, root_gb, ephemeral_gb, swap, key_name, key_data, user_data, vm_state,"
            " task_state, power_state, availability_zone, requested_az, config_drive,"
            " access_ip_v4, access_ip_v6, reservation_id, launch_index, server_group,"
            " created_at, updated_at, trusted_certs, flavor_extra, auto_disk_config)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
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
            MS_P_INT(i->created_at), MS_P_INT(i->updated_at), MS_P_STR(certs),
            MS_P_STR(extra), MS_P_BOOL(i->auto_disk_config));
        free(certs);
        free(extra);
        if (rc < 0)
            goto fail;
        for (size_t t = 0; i->tags && t < json_array_size(i->tags); t++) {
            rc = MS_DB_QUERY(NULL,
                             "INSERT IGNORE INTO compute_instance_tags (instance_uuid, tag)"
                             " VALUES (?,?)",
                             MS_P_STR(i->uuid),
                             MS_P_STR(json_string_value(json_array_get(i->tags, t))));
            if (rc < 0)
                goto fail;
        }
        if (i->server_group[0] &&
            (rc = compute_server_group_db_add_member(i->server_group, i->uuid)) < 0)
            goto fail;
        if (i->security_groups && (rc = compute_instance_db_sg_insert(i->uuid,
                                                                      i->security_groups)) < 0)
            goto fail;
        size_t bk;
        json_t *bdm;
        json_array_foreach(i->bdms, bk, bdm) {
            if ((rc = compute_bdm_db_insert(i->uuid, bdm, i->created_at)) < 0)
                goto fail;
        }
        json_t *payload = json_pack("{s:s}", "request_id", request_id);
        if (i->requested_host[0])
            json_object_set_new(payload, "requested_host", json_string(i->requested_host));
        if (i->requested_node[0])
            json_object_set_new(payload, "requested_node", json_string(i->requested_node));
        if (i->build_networks)
            json_object_set(payload, "networks", i->build_networks);
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
compute_instance_db_set_disk_config(const char *uuid, bool auto_disk)
{
    return MS_DB_QUERY(NULL,
                       "UPDATE compute_instances SET auto_disk_config = ?, updated_at = ?"
                       " WHERE uuid = ? AND deleted = 0",
                       MS_P_BOOL(auto_disk), MS_P_INT(compute_now()), MS_P_STR(uuid));
}

int
compute_instance_db_set_description(const char *uuid, const char *description)
{
    return MS_DB_QUERY(NULL,
                       "UPDATE compute_instances SET display_description = ?, updated_at = ?"
                       " WHERE uuid = ? AND deleted = 0",
                       MS_P_STR(description), MS_P_INT(compute_now()), MS_P_STR(uuid));
}

int
compute_instance_db_set_key(const char *uuid, const char *key_name, const char *key_data)
{
    return MS_DB_QUERY(NULL,
                       "UPDATE compute_instances SET key_name = ?, key_data = ?, updated_at = ?"
                       " WHERE uuid = ? AND deleted = 0",
                       MS_P_STR(key_name), MS_P_STR(key_data), MS_P_INT(compute_now()),
                       MS_P_STR(uuid));
}

int
compute_instance_db_set_user_data(const char *uuid, const char *user_data)
{
    return MS_DB_QUERY(NULL,
                       "UPDATE compute_instances SET user_data = ?, updated_at = ?"
                       " WHERE uuid = ? AND deleted = 0",
                       MS_P_STR(user_data), MS_P_INT(compute_now()), MS_P_STR(uuid));
}

int
compute_instance_db_set_trusted_certs(const char *uuid, const json_t *certs)
{
    char *text = certs ? json_dumps(certs, JSON_COMPACT) : NULL;
    int rc = MS_DB_QUERY(NULL,
                         "UPDATE compute_instances SET trusted_certs = ?, updated_at = ?"
                         " WHERE uuid = ? AND deleted = 0",
                         MS_P_STR(text), MS_P_INT(compute_now()), MS_P_STR(uuid));
    free(text);
    return rc;
}

int
compute_instance_db_set_az(const char *uuid, const char *az)
{
    return MS_DB_QUERY(NULL,
                       "UPDATE compute_instances SET availability_zone = ?, requested_az = ?,"
                       " updated_at = ? WHERE uuid = ? AND deleted = 0",
                       MS_P_STR(az), MS_P_STR(az), MS_P_INT(compute_now()), MS_P_STR(uuid));
}

int
compute_instance_db_set_hostname(const char *uuid, const char *hostname)
{
    return MS_DB_QUERY(NULL,
                       "UPDATE compute_instances SET hostname = ?, updated_at = ?"
                       " WHERE uuid = ? AND deleted = 0",
                       MS_P_STR(hostname), MS_P_INT(compute_now()), MS_P_STR(uuid));
}

int
compute_instance_db_set_requested_az(const char *uuid, const char *az)
{
    return MS_DB_QUERY(NULL,
                       "UPDATE compute_instances SET requested_az = ?, updated_at = ?"
                       " WHERE uuid = ? AND deleted = 0",
                       MS_P_STR(az), MS_P_INT(compute_now()), MS_P_STR(uuid));
}

/* Nova's host_status: "" without a host, then DOWN (forced down),
 * MAINTENANCE (disabled), UP or UNKNOWN (no recent heartbeat). */
int
compute_instance_db_host_status(const char *host, int64_t down_after_us, char out[16])
{
    out[0] = '\0';
    if (ms_str_empty(host))
        return 0;
    ms_result *r = NULL;
    int rc = MS_DB_QUERY(&r,
                         "SELECT disabled, forced_down, updated_at FROM compute_services"
                         " WHERE host = ? AND `binary` = 'nova-compute'",
                         MS_P_STR(host));
    if (rc < 0)
        return rc;
    if (r->nrows == 0)
        snprintf(out, 16, "UNKNOWN");
    else if (ms_cell_bool(r, 0, 1))
        snprintf(out, 16, "DOWN");
    else if (ms_cell_bool(r, 0, 0))
        snprintf(out, 16, "MAINTENANCE");
    else if (compute_now() - ms_cell_int(r, 0, 2) < down_after_us)
        snprintf(out, 16, "UP");
    else
        snprintf(out, 16, "UNKNOWN");
    ms_result_free(r);
    return 0;
}

/* Whether a compute host (and node, when given) exists. */
int
compute_instance_db_host_exists(const char *host, const char *node, bool *exists)
{
    ms_result *r = NULL;
    int rc = MS_DB_QUERY(&r,
                         "SELECT id FROM compute_nodes WHERE (? IS NULL OR host = ?)"
                         " AND (? IS NULL OR hypervisor_hostname = ?)",
                         MS_P_STR(host), MS_P_STR(host), MS_P_STR(node), MS_P_STR(node));
    if (rc < 0)
        return rc;
    *exists = r->nrows > 0;
    ms_result_free(r);
    return 0;
}

int
compute_instance_db_groups(const char *uuid, json_t **out)
{
    ms_result *r = NULL;
    int rc = MS_DB_QUERY(&r,
                         "SELECT group_uuid FROM compute_server_group_members"
                         " WHERE instance_uuid = ?",
                         MS_P_STR(uuid));
    if (rc < 0)
        return rc;
    *out = json_array();
    for (size_t k = 0; k < r->nrows; k++)
        json_array_append_new(*out, json_string(ms_cell(r, k, 0)));
    ms_result_free(r);
    return 0;
}

/* ---- tags ---- */

int
compute_instance_db_tags(const char *uuid, json_t **out)
{
    ms_result *r = NULL;
    int rc = MS_DB_QUERY(&r,
                         "SELECT tag FROM compute_instance_tags WHERE instance_uuid = ?"
                         " ORDER BY tag",
                         MS_P_STR(uuid));
    if (rc < 0)
        return rc;
    *out = json_array();
    for (size_t k = 0; k < r->nrows; k++)
        json_array_append_new(*out, json_string(ms_cell(r, k, 0)));
    ms_result_free(r);
    return 0;
}

int
compute_instance_db_tags_replace(const char *uuid, const json_t *tags)
{
    int rc = ms_db_begin();
    if (rc < 0)
        return rc;
    rc = MS_DB_QUERY(NULL, "DELETE FROM compute_instance_tags WHERE instance_uuid = ?",
                     MS_P_STR(uuid));
    for (size_t k = 0; rc == 0 && tags && k < json_array_size(tags); k++)
        rc = MS_DB_QUERY(NULL,
                         "INSERT IGNORE INTO compute_instance_tags (instance_uuid, tag)"
                         " VALUES (?,?)",
                         MS_P_STR(uuid), MS_P_STR(json_string_value(json_array_get(tags, k))));
    if (rc < 0) {
        ms_db_rollback();
        return rc;
    }
    return ms_db_commit();
}

int
compute_instance_db_tag_add(const char *uuid, const char *tag)
{
    return MS_DB_QUERY(NULL,
                       "INSERT IGNORE INTO compute_instance_tags (instance_uuid, tag)"
                       " VALUES (?,?)",
                       MS_P_STR(uuid), MS_P_STR(tag));
}

int
compute_instance_db_tag_delete(const char *uuid, const char *tag, bool *found)
{
    ms_result *r = NULL;
    int rc = MS_DB_QUERY(&r,
                         "DELETE FROM compute_instance_tags WHERE instance_uuid = ?"
                         " AND tag = ?",
                         MS_P_STR(uuid), MS_P_STR(tag));
    if (rc == 0)
        *found = r->affected > 0;
    ms_result_free(r);
    return rc;
}

int
compute_instance_db_lock(const char *uuid, bool locked, const char *by, const char *reason)
{
    return MS_DB_QUERY(NULL,
                       "UPDATE compute_instances SET locked = ?, locked_by = ?,"
                       " locked_reason = ?, updated_at = ? WHERE uuid = ? AND deleted = 0",
                       MS_P_BOOL(locked), MS_P_STR(by), MS_P_STR(reason),
                       MS_P_INT(compute_now()), MS_P_STR(uuid));
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
    F_DELETED = 1 << 8, F_TAGS = 1 << 9, F_TAGS_ANY = 1 << 10, F_NOT_TAGS = 1 << 11,
    F_NOT_TAGS_ANY = 1 << 12, F_LOCKED = 1 << 13, F_BEFORE = 1 << 14, F_NONE = 1 << 15,
    F_RESV = 1 << 16, F_COLUMNS = 1 << 17, F_BRIEF = 1 << 18, F_ALL = 1 << 19,
};
/* Statement texts by filter set, built on first use and kept (the
 * statement cache is keyed by the text's address). */
static const char *list_sql[F_ALL];
static const char *meta_sql[F_ALL];
static const char *tags_sql[F_ALL];
static pthread_mutex_t sql_lock = PTHREAD_MUTEX_INITIALIZER;

/* The WHERE conditions of a list with filters f; the page's metadata and
 * tags queries repeat them, with the same parameters in the same order. */
static void
list_where(ms_buf *b, unsigned f)
{
    /* changes-since includes deleted rows, as in Nova. */
    if (f & F_DELETED)
        ms_buf_adds(b, "deleted <> 0");
    else if (f & (F_CHANGES | F_BEFORE))
        ms_buf_adds(b, "1 = 1");
    else
        ms_buf_adds(b, "deleted = 0");
    if (f & F_PROJECT)
        ms_buf_adds(b, " AND project_id = ?");
    if (f & F_NAME)
        ms_buf_adds(b, " AND display_name REGEXP ?");
    if (f & F_RESV)
        ms_buf_adds(b, " AND reservation_id REGEXP ?");
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
    /* The API shows "updated" to the second: a changes-before of that
     * value must take the server in (Nova's column has no fraction). */
    if (f & F_BEFORE)
        ms_buf_adds(b, " AND updated_at - updated_at % 1000000 <= ?");
    if (f & F_LOCKED)
        ms_buf_adds(b, " AND locked = ?");
    if (f & F_NONE)
        ms_buf_adds(b, " AND 1 = 0");
    /* The 2.83 column filters travel together, each as a pair of
     * parameters where NULL means "not asked for", so they add one
     * statement variant rather than one per combination. Times compare
     * as the text of Nova's DATETIME columns, whatever the session's
     * time zone. */
#define TS_TEXT(c) "DATE_FORMAT(TIMESTAMP '1970-01-01 00:00:00' + INTERVAL " c \
               " DIV 1000000 SECOND, '%Y-%m-%d %H:%i:%s')"
    if (f & F_COLUMNS)
        ms_buf_adds(b, " AND (? IS NULL OR user_id = ?)"
                        " AND (? IS NULL OR task_state = ?)"
                        " AND (? IS NULL OR availability_zone REGEXP ?)"
                        " AND (? IS NULL OR config_drive REGEXP ?)"
                        " AND (? IS NULL OR key_name REGEXP ?)"
                        " AND (? IS NULL OR hostname REGEXP ?)"
                        " AND (? IS NULL OR CAST(power_state AS CHAR) REGEXP ?)"
                        " AND (? IS NULL OR CAST(progress AS CHAR) REGEXP ?)"
                        " AND (? IS NULL OR " TS_TEXT("created_at") " REGEXP ?)"
                        " AND (? IS NULL OR " TS_TEXT("launched_at") " REGEXP ?)"
                        " AND (? IS NULL OR " TS_TEXT("terminated_at") " REGEXP ?)");
#undef TS_TEXT
    /* Tag lists are comma-joined (a tag cannot hold a comma), so one
     * FIND_IN_SET parameter carries any number of them; "all of" compares
     * the count of distinct matches with the count asked for. */
#define TAG_MATCH " FROM compute_instance_tags t WHERE t.instance_uuid = uuid" \
                  " AND FIND_IN_SET(t.tag, ?) > 0"
    if (f & F_TAGS)
        ms_buf_adds(b, " AND (SELECT COUNT(DISTINCT t.tag)" TAG_MATCH ") = ?");
    if (f & F_TAGS_ANY)
        ms_buf_adds(b, " AND EXISTS (SELECT 1" TAG_MATCH ")");
    if (f & F_NOT_TAGS)
        ms_buf_adds(b, " AND (SELECT COUNT(DISTINCT t.tag)" TAG_MATCH ") < ?");
    if (f & F_NOT_TAGS_ANY)
        ms_buf_adds(b, " AND NOT EXISTS (SELECT 1" TAG_MATCH ")");
#undef TAG_MATCH
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

/* The metadata (or tags) of a page: the list's conditions down to its last
 * row (created_at, id) instead of a LIMIT, so the index serves it and a
 * server created meanwhile only adds rows that match no listed server. (An
 * IN list of the page's uuids cost milliseconds to plan for 1000 of them.)
 * The rows come in the page's order. */
static const char *
page_statement(const char **cache, unsigned f, const char *select, const char *order)
{
    pthread_mutex_lock(&sql_lock);
    if (!*cache) {
        ms_buf b = {0};
        ms_buf_adds(&b, select);
        ms_buf_adds(&b, " WHERE ");
        list_where(&b, f);
        ms_buf_adds(&b, " AND (created_at > ? OR (created_at = ? AND id >= ?))"
                        " ORDER BY created_at DESC, id DESC, ");
        ms_buf_adds(&b, order);
        *cache = ms_buf_steal(&b);
    }
    const char *s = *cache;
    pthread_mutex_unlock(&sql_lock);
    return s;
}

static const char *
meta_statement(unsigned f)
{
    return page_statement(&meta_sql[f], f,
                          "SELECT m.instance_uuid, m.meta_key, m.meta_value FROM"
                          " compute_instances JOIN compute_instance_metadata m"
                          " ON m.instance_uuid = compute_instances.uuid",
                          "m.meta_key");
}

static const char *
tags_statement(unsigned f)
{
    return page_statement(&tags_sql[f], f,
                          "SELECT pt.instance_uuid, pt.tag FROM"
                          " compute_instances JOIN compute_instance_tags pt"
                          " ON pt.instance_uuid = compute_instances.uuid",
                          "pt.tag");
}

/* Hand each row of r (uuid first) to the page's server it belongs to; both
 * come in the page's order, so the scan from the last hit finds it at once
 * and rows of servers not on the page match nothing. */
static void
page_rows(compute_instance *list, size_t cnt, const ms_result *r,
          void (*add)(compute_instance *i, const ms_result *r, size_t k))
{
    for (size_t k = 0, j = 0; k < r->nrows; k++) {
        const char *u = ms_cell(r, k, 0);
        for (size_t t = 0; t < cnt; t++, j = (j + 1) % cnt) {
            if (!strcmp(list[j].uuid, u)) {
                add(&list[j], r, k);
                break;
            }
        }
    }
}

static void
add_meta(compute_instance *i, const ms_result *r, size_t k)
{
    json_object_set_new(i->metadata, ms_cell(r, k, 1), json_string(ms_cell(r, k, 2)));
}

static void
add_tag(compute_instance *i, const ms_result *r, size_t k)
{
    json_array_append_new(i->tags, json_string(ms_cell(r, k, 1)));
}

int
compute_instance_db_list(const compute_instance_query *q, compute_instance **out, size_t *n)
{
    unsigned f = q->brief ? F_BRIEF : 0;
    ms_param p[56];
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
    if (q->reservation_regex) {
        f |= F_RESV;
        p[np++] = MS_P_STR(q->reservation_regex);
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
    if (q->changes_before) {
        f |= F_BEFORE;
        p[np++] = MS_P_INT(q->changes_before);
    }
    if (q->locked) {
        f |= F_LOCKED;
        p[np++] = MS_P_BOOL(q->locked == 1);
    }
    if (q->none)
        f |= F_NONE;
    const char *cols[] = {q->user_id, q->task_state, q->az_regex, q->config_drive_regex,
                          q->key_name_regex, q->hostname_regex, q->power_state_regex,
                          q->progress_regex, q->created_regex, q->launched_regex,
                          q->terminated_regex};
    bool any_col = false;
    for (size_t k = 0; k < MS_ARRAY_LEN(cols); k++)
        any_col = any_col || cols[k];
    if (any_col) {
        f |= F_COLUMNS;
        for (size_t k = 0; k < MS_ARRAY_LEN(cols); k++) {
            p[np++] = cols[k] ? MS_P_STR(cols[k]) : MS_P_NULL;
            p[np++] = cols[k] ? MS_P_STR(cols[k]) : MS_P_NULL;
        }
    }
    if (q->tags) {
        f |= F_TAGS;
        p[np++] = MS_P_STR(q->tags);
        p[np++] = MS_P_INT(q->tags_count);
    }
    if (q->tags_any) {
        f |= F_TAGS_ANY;
        p[np++] = MS_P_STR(q->tags_any);
    }
    if (q->not_tags) {
        f |= F_NOT_TAGS;
        p[np++] = MS_P_STR(q->not_tags);
        p[np++] = MS_P_INT(q->not_tags_count);
    }
    if (q->not_tags_any) {
        f |= F_NOT_TAGS_ANY;
        p[np++] = MS_P_STR(q->not_tags_any);
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
        i->tags = json_array();
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
    if ((rc = ms_db_query(&r, meta_statement(f), p, np)) < 0)
        return rc;
    page_rows(*out, cnt, r, add_meta);
    ms_result_free(r);
    if ((rc = ms_db_query(&r, tags_statement(f), p, np)) < 0)
        return rc;
    page_rows(*out, cnt, r, add_tag);
    ms_result_free(r);
    return compute_instance_db_sg_load(*out, cnt);
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
compute_action_db_event_error(const char *uuid, const char *request_id, const char *event,
                              const char *details)
{
    int64_t now = compute_now();
    return MS_DB_QUERY(NULL,
                       "UPDATE compute_instance_action_events e JOIN compute_instance_actions a"
                       " ON e.action_id = a.id SET e.finish_time = ?, e.result = 'Error',"
                       " e.details = ?, a.finish_time = ?, a.updated_at = ?"
                       " WHERE a.instance_uuid = ? AND a.request_id = ? AND e.event = ?"
                       " AND e.finish_time IS NULL",
                       MS_P_INT(now), MS_P_STR(details), MS_P_INT(now), MS_P_INT(now),
                       MS_P_STR(uuid), MS_P_STR(request_id), MS_P_STR(event));
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
action_json(const ms_result *r, size_t k, bool updated_at)
{
    char st[32];
    compute_time_iso_frac(ms_cell_int(r, k, 5), st);
    json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "action", ms_cell(r, k, 1),
                          "instance_uuid", ms_cell(r, k, 0), "request_id", ms_cell(r, k, 2),
                          "project_id", ms_cell(r, k, 3), "user_id", ms_cell(r, k, 4),
                          "start_time", st);
    ms_json_set_str(o, "message", ms_cell(r, k, 6));
    if (updated_at) {
        compute_time_iso_frac(ms_cell_int(r, k, 7), st);
        json_object_set_new(o, "updated_at", json_string(st));
    }
    return o;
}

#define ACTION_COLS                                                                      \
    "instance_uuid, action, request_id, project_id, user_id, start_time, message,"       \
    " updated_at, id"

int
compute_action_db_list(const char *uuid, const compute_action_query *q, json_t **out)
{
    int64_t mstart = 0;
    long long mid = 0;
    bool has_marker = q->marker != NULL;
    ms_result *r = NULL;
    int rc;
    if (has_marker) {
        rc = MS_DB_QUERY(&r,
                         "SELECT start_time, id FROM compute_instance_actions"
                         " WHERE instance_uuid = ? AND request_id = ? ORDER BY id DESC LIMIT 1",
                         MS_P_STR(uuid), MS_P_STR(q->marker));
        if (rc < 0)
            return rc;
        if (r->nrows == 0) {
            ms_result_free(r);
            return -ENOENT;
        }
        mstart = ms_cell_int(r, 0, 0);
        mid = ms_cell_int(r, 0, 1);
        ms_result_free(r);
    }
    /* Newest first, as Nova; the marker is the last action of the previous page. */
    rc = MS_DB_QUERY(&r,
                     "SELECT " ACTION_COLS " FROM compute_instance_actions"
                     " WHERE instance_uuid = ? AND (? = 0 OR updated_at >= ?)"
                     " AND (? = 0 OR updated_at <= ?)"
                     " AND (? = 0 OR start_time < ? OR (start_time = ? AND id < ?))"
                     " ORDER BY start_time DESC, id DESC LIMIT ?",
                     MS_P_STR(uuid), MS_P_INT(q->changes_since), MS_P_INT(q->changes_since),
                     MS_P_INT(q->changes_before), MS_P_INT(q->changes_before),
                     MS_P_BOOL(has_marker), MS_P_INT(mstart), MS_P_INT(mstart), MS_P_INT(mid),
                     MS_P_INT(q->limit > 0 ? q->limit : COMPUTE_MAX_LIMIT));
    if (rc < 0)
        return rc;
    *out = json_array();
    for (size_t k = 0; k < r->nrows; k++)
        json_array_append_new(*out, action_json(r, k, q->updated_at));
    ms_result_free(r);
    return 0;
}

int
compute_action_db_get(const char *uuid, const char *request_id, bool updated_at,
                      json_t **out, long long *action_id)
{
    ms_result *r = NULL;
    int rc = MS_DB_QUERY(&r,
                         "SELECT " ACTION_COLS " FROM compute_instance_actions"
                         " WHERE instance_uuid = ? AND request_id = ? ORDER BY id DESC LIMIT 1",
                         MS_P_STR(uuid), MS_P_STR(request_id));
    if (rc < 0)
        return rc;
    if (r->nrows == 0) {
        ms_result_free(r);
        return -ENOENT;
    }
    *out = action_json(r, 0, updated_at);
    *action_id = ms_cell_int(r, 0, 8);
    ms_result_free(r);
    return 0;
}

int
compute_action_db_events(long long action_id, json_t **out)
{
    ms_result *r = NULL;
    int rc = MS_DB_QUERY(&r,
                         "SELECT event, start_time, finish_time, result, traceback, host, details FROM"
                         " compute_instance_action_events WHERE action_id = ? ORDER BY id",
                         MS_P_INT(action_id));
    if (rc < 0)
        return rc;
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
        ms_json_set_str(e, "host", ms_cell(r, k, 5));
        ms_json_set_str(e, "details", ms_cell(r, k, 6));
        json_array_append_new(events, e);
    }
    ms_result_free(r);
    *out = events;
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
    /* A snapshot may carry the flavor's extra specs (resize builds it from
     * the flavor); one without them (built from the row) keeps the
     * row's, and the saved old flavor takes the row's so revert restores them. */
    json_t *old_copy = old ? json_deep_copy(old) : NULL;
    if (old_copy && !json_object_get(old_copy, "extra_specs")) {
        ms_result *r = NULL;
        int rc = MS_DB_QUERY(&r, "SELECT flavor_extra FROM compute_instances WHERE uuid = ?",
                             MS_P_STR(uuid));
        if (rc < 0) {
            json_decref(old_copy);
            return rc;
        }
        json_t *ex = r->nrows && ms_cell(r, 0, 0) ? json_loads(ms_cell(r, 0, 0), 0, NULL) : NULL;
        json_object_set_new(old_copy, "extra_specs", ex ? ex : json_object());
        ms_result_free(r);
    }
    char *old_text = old_copy ? json_dumps(old_copy, JSON_COMPACT) : NULL;
    json_decref(old_copy);
    const json_t *ex = json_object_get(flavor, "extra_specs");
    char *ex_text = ex ? json_dumps(ex, JSON_COMPACT) : NULL;
    int rc = MS_DB_QUERY(NULL,
                         "UPDATE compute_instances SET flavorid = ?, flavor_name = ?,"
                         " memory_mb = ?, vcpus = ?, root_gb = ?, ephemeral_gb = ?, swap = ?,"
                         " flavor_extra = IF(?, ?, flavor_extra),"
                         " old_flavor = ?, updated_at = ? WHERE uuid = ? AND deleted = 0",
                         MS_P_STR(ms_json_strval(flavor, "flavorid")),
                         MS_P_STR(ms_json_strval(flavor, "name")),
                         MS_P_INT(json_integer_value(json_object_get(flavor, "memory_mb"))),
                         MS_P_INT(json_integer_value(json_object_get(flavor, "vcpus"))),
                         MS_P_INT(json_integer_value(json_object_get(flavor, "root_gb"))),
                         MS_P_INT(json_integer_value(json_object_get(flavor, "ephemeral_gb"))),
                         MS_P_INT(json_integer_value(json_object_get(flavor, "swap"))),
                         MS_P_BOOL(ex != NULL), MS_P_STR(ex_text),
                         MS_P_STR(old_text), MS_P_INT(compute_now()), MS_P_STR(uuid));
    free(old_text);
    free(ex_text);
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
