/* SQL for the host-side tables: services (heartbeats), compute nodes (the
 * hypervisor's capacity, usage summed from the servers placed on it) and
 * the rows os-simple-tenant-usage reads. */
#include "compute.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int
compute_service_db_upsert(const char *host, const char *binary, const char *topic,
                          int64_t now)
{
    return MS_DB_QUERY(NULL,
                       "INSERT INTO compute_services (host, `binary`, topic, created_at,"
                       " updated_at, uuid) VALUES (?,?,?,?,?,UUID()) ON DUPLICATE KEY UPDATE"
                       " updated_at = VALUES(updated_at)",
                       MS_P_STR(host), MS_P_STR(binary), MS_P_STR(topic), MS_P_INT(now),
                       MS_P_INT(now));
}

int
compute_service_db_list(compute_service_row **out, size_t *n)
{
    ms_result *r = NULL;
    int rc = MS_DB_QUERY0(&r, "SELECT id, host, `binary`, topic, zone, disabled,"
                              " disabled_reason, forced_down, updated_at, uuid"
                              " FROM compute_services ORDER BY id");
    if (rc < 0)
        return rc;
    *out = ms_calloc(r->nrows + 1, sizeof(**out));
    for (size_t i = 0; i < r->nrows; i++) {
        compute_service_row *s = &(*out)[i];
        s->id = ms_cell_int(r, i, 0);
        snprintf(s->host, sizeof(s->host), "%s", ms_cell(r, i, 1));
        snprintf(s->binary, sizeof(s->binary), "%s", ms_cell(r, i, 2));
        snprintf(s->topic, sizeof(s->topic), "%s", ms_cell(r, i, 3));
        snprintf(s->zone, sizeof(s->zone), "%s", ms_cell(r, i, 4));
        s->disabled = ms_cell_bool(r, i, 5);
        s->disabled_reason = ms_strdup(ms_cell(r, i, 6));
        s->forced_down = ms_cell_bool(r, i, 7);
        s->updated_at = ms_cell_int(r, i, 8);
        snprintf(s->uuid, sizeof(s->uuid), "%s", ms_cell(r, i, 9) ? ms_cell(r, i, 9) : "");
    }
    *n = r->nrows;
    ms_result_free(r);
    return 0;
}

int
compute_node_db_upsert(const compute_node_row *nd, int64_t now)
{
    return MS_DB_QUERY(NULL,
                       "INSERT INTO compute_nodes (host, hypervisor_hostname, hypervisor_type,"
                       " hypervisor_version, vcpus, memory_mb, local_gb, host_ip, cpu_info,"
                       " created_at, updated_at, uuid) VALUES (?,?,?,?,?,?,?,?,?,?,?,UUID())"
                       " ON DUPLICATE KEY UPDATE hypervisor_hostname = VALUES(hypervisor_hostname),"
                       " hypervisor_type = VALUES(hypervisor_type),"
                       " hypervisor_version = VALUES(hypervisor_version), vcpus = VALUES(vcpus),"
                       " memory_mb = VALUES(memory_mb), local_gb = VALUES(local_gb),"
                       " host_ip = VALUES(host_ip), cpu_info = VALUES(cpu_info),"
                       " updated_at = VALUES(updated_at)",
                       MS_P_STR(nd->host), MS_P_STR(nd->hypervisor_hostname),
                       MS_P_STR(nd->hypervisor_type), MS_P_INT(nd->hypervisor_version),
                       MS_P_INT(nd->vcpus), MS_P_INT(nd->memory_mb), MS_P_INT(nd->local_gb),
                       MS_P_STR(nd->host_ip), MS_P_STR(nd->cpu_info), MS_P_INT(now),
                       MS_P_INT(now));
}

int
compute_node_db_list(compute_node_row **out, size_t *n)
{
    ms_result *r = NULL;
    /* One grouped join: no query per node. */
    /* A node takes new servers while its nova-compute service is enabled,
     * not forced down and heard from within a minute (Nova's ComputeFilter). */
    int rc = MS_DB_QUERY(&r,
                         "SELECT n.id, n.host, n.hypervisor_hostname, n.hypervisor_type,"
                         " n.hypervisor_version, n.vcpus, n.memory_mb, n.local_gb, n.host_ip,"
                         " n.cpu_info, COALESCE(SUM(i.vcpus),0), COALESCE(SUM(i.memory_mb),0),"
                         " COALESCE(SUM(i.root_gb + i.ephemeral_gb),0), COUNT(i.id), n.uuid,"
                         " COALESCE(MAX(s.disabled = 0 AND s.forced_down = 0"
                         " AND s.updated_at > ?), 0)"
                         " FROM compute_nodes n LEFT JOIN compute_instances i"
                         " ON i.host = n.host AND i.deleted = 0"
                         " LEFT JOIN compute_services s ON s.host = n.host"
                         " AND s.`binary` = 'nova-compute'"
                         " GROUP BY n.id ORDER BY n.id",
                         MS_P_INT(compute_now() - 60LL * 1000000));
    if (rc < 0)
        return rc;
    *out = ms_calloc(r->nrows + 1, sizeof(**out));
    for (size_t i = 0; i < r->nrows; i++) {
        compute_node_row *c = &(*out)[i];
        c->id = ms_cell_int(r, i, 0);
        snprintf(c->host, sizeof(c->host), "%s", ms_cell(r, i, 1));
        snprintf(c->hypervisor_hostname, sizeof(c->hypervisor_hostname), "%s",
                 ms_cell(r, i, 2));
        snprintf(c->hypervisor_type, sizeof(c->hypervisor_type), "%s", ms_cell(r, i, 3));
        c->hypervisor_version = ms_cell_int(r, i, 4);
        c->vcpus = (int)ms_cell_int(r, i, 5);
        c->memory_mb = ms_cell_int(r, i, 6);
        c->local_gb = ms_cell_int(r, i, 7);
        snprintf(c->host_ip, sizeof(c->host_ip), "%s", ms_cell(r, i, 8) ? ms_cell(r, i, 8) : "");
        snprintf(c->cpu_info, sizeof(c->cpu_info), "%s", ms_cell(r, i, 9) ? ms_cell(r, i, 9) : "{}");
        c->vcpus_used = ms_cell_int(r, i, 10);
        c->memory_mb_used = ms_cell_int(r, i, 11);
        c->local_gb_used = ms_cell_int(r, i, 12);
        c->running_vms = ms_cell_int(r, i, 13);
        snprintf(c->uuid, sizeof(c->uuid), "%s", ms_cell(r, i, 14) ? ms_cell(r, i, 14) : "");
        c->schedulable = ms_cell_int(r, i, 15) != 0;
    }
    *n = r->nrows;
    ms_result_free(r);
    return 0;
}

int
compute_usage_db_rows(const char *project, int64_t start, int64_t end,
                      compute_usage_row **out, size_t *n)
{
    ms_result *r = NULL;
    int rc = MS_DB_QUERY(&r,
                         "SELECT uuid, display_name, project_id, user_id, flavor_name, vcpus,"
                         " memory_mb, root_gb, ephemeral_gb, COALESCE(launched_at, created_at),"
                         " terminated_at, vm_state FROM compute_instances"
                         " WHERE (? IS NULL OR project_id = ?) AND created_at < ?"
                         " AND (terminated_at IS NULL OR terminated_at > ?)"
                         " ORDER BY project_id, id",
                         MS_P_STR(project), MS_P_STR(project), MS_P_INT(end), MS_P_INT(start));
    if (rc < 0)
        return rc;
    *out = ms_calloc(r->nrows + 1, sizeof(**out));
    for (size_t i = 0; i < r->nrows; i++) {
        compute_usage_row *u = &(*out)[i];
        snprintf(u->uuid, sizeof(u->uuid), "%s", ms_cell(r, i, 0));
        snprintf(u->name, sizeof(u->name), "%s", ms_cell(r, i, 1));
        snprintf(u->project_id, sizeof(u->project_id), "%s", ms_cell(r, i, 2));
        snprintf(u->user_id, sizeof(u->user_id), "%s", ms_cell(r, i, 3));
        snprintf(u->flavor_name, sizeof(u->flavor_name), "%s", ms_cell(r, i, 4));
        u->vcpus = (int)ms_cell_int(r, i, 5);
        u->memory_mb = (int)ms_cell_int(r, i, 6);
        u->root_gb = (int)ms_cell_int(r, i, 7);
        u->ephemeral_gb = (int)ms_cell_int(r, i, 8);
        u->launched_at = ms_cell_int(r, i, 9);
        u->terminated_at = ms_cell_int(r, i, 10);
        snprintf(u->vm_state, sizeof(u->vm_state), "%s", ms_cell(r, i, 11));
    }
    *n = r->nrows;
    ms_result_free(r);
    return 0;
}

int
compute_service_db_update(long long id, bool disabled, const char *reason, bool forced_down)
{
    ms_result *r = NULL;
    int rc = MS_DB_QUERY(&r,
                         "UPDATE compute_services SET disabled = ?, disabled_reason = ?,"
                         " forced_down = ? WHERE id = ?",
                         MS_P_BOOL(disabled), MS_P_STR(reason), MS_P_BOOL(forced_down),
                         MS_P_INT(id));
    if (rc == 0 && r->affected == 0) {
        /* Unchanged values also report 0 rows: check the row exists. */
        ms_result_free(r);
        r = NULL;
        rc = MS_DB_QUERY(&r, "SELECT 1 FROM compute_services WHERE id = ?", MS_P_INT(id));
        if (rc == 0 && r->nrows == 0)
            rc = -ENOENT;
    }
    ms_result_free(r);
    return rc;
}

int
compute_service_db_delete(const compute_service_row *s)
{
    bool compute = !strcmp(s->binary, "nova-compute");
    int rc = ms_db_begin();
    if (rc < 0)
        return rc;
    ms_result *r = NULL;
    if (compute) {
        if ((rc = MS_DB_QUERY(&r, "SELECT COUNT(*) FROM compute_instances WHERE host = ?"
                                  " AND deleted = 0",
                              MS_P_STR(s->host))) < 0)
            goto fail;
        long long n = ms_cell_int(r, 0, 0);
        ms_result_free(r);
        if (n > 0) {
            rc = -EBUSY;
            goto fail;
        }
        if ((rc = MS_DB_QUERY(NULL, "DELETE FROM compute_aggregate_hosts WHERE host = ?",
                              MS_P_STR(s->host))) < 0 ||
            (rc = MS_DB_QUERY(NULL, "DELETE FROM compute_nodes WHERE host = ?",
                              MS_P_STR(s->host))) < 0)
            goto fail;
    }
    if ((rc = MS_DB_QUERY(NULL, "DELETE FROM compute_services WHERE id = ?",
                          MS_P_INT(s->id))) < 0)
        goto fail;
    return ms_db_commit();
fail:
    ms_db_rollback();
    return rc;
}

int
compute_host_servers_db(const char *host, json_t **out)
{
    ms_result *r = NULL;
    int rc = MS_DB_QUERY(&r,
                         "SELECT display_name, uuid FROM compute_instances WHERE host = ?"
                         " AND deleted = 0 ORDER BY id",
                         MS_P_STR(host));
    if (rc < 0)
        return rc;
    *out = json_array();
    for (size_t i = 0; i < r->nrows; i++)
        json_array_append_new(*out, json_pack("{s:s,s:s}", "name", ms_cell(r, i, 0), "uuid",
                                              ms_cell(r, i, 1)));
    ms_result_free(r);
    return 0;
}
