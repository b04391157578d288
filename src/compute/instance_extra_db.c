/* SQL for what a server create adds beside the instance row: its security
 * group names (in request order) and its block device mappings. Both are
 * written inside compute_instance_db_create's transaction; the security
 * groups of a list page come in one query, as the metadata does. */
#include "compute.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int
compute_instance_db_sg_insert(const char *uuid, const json_t *names)
{
    size_t k;
    json_t *v;
    json_array_foreach(names, k, v) {
        int rc = MS_DB_QUERY(NULL,
                             "INSERT INTO compute_instance_security_groups (instance_uuid,"
                             " position, name) VALUES (?,?,?)",
                             MS_P_STR(uuid), MS_P_INT(k), MS_P_STR(json_string_value(v)));
        if (rc < 0)
            return rc;
    }
    return 0;
}

int
compute_instance_db_sg_load(compute_instance *list, size_t n)
{
    if (n == 0)
        return 0;
    ms_buf b = {0};
    ms_buf_adds(&b, "SELECT instance_uuid, name FROM compute_instance_security_groups"
                    " WHERE instance_uuid IN (");
    ms_param *p = ms_calloc(n, sizeof(*p));
    for (size_t k = 0; k < n; k++) {
        ms_buf_adds(&b, k ? ",?" : "?");
        p[k] = MS_P_STR(list[k].uuid);
    }
    /* n is at most a page (1000), so the statement text stays bounded;
     * the values are still bound, never spliced in. */
    ms_buf_adds(&b, ") ORDER BY instance_uuid, position");
    ms_result *r = NULL;
    int rc = ms_db_query(&r, ms_buf_cstr(&b), p, n);
    ms_buf_free(&b);
    free(p);
    if (rc < 0)
        return rc;
    for (size_t k = 0, j = 0; k < r->nrows; k++) {
        const char *u = ms_cell(r, k, 0);
        for (size_t t = 0; t < n; t++, j = (j + 1) % n) {
            if (!strcmp(list[j].uuid, u)) {
                if (!list[j].security_groups)
                    list[j].security_groups = json_array();
                json_array_append_new(list[j].security_groups, json_string(ms_cell(r, k, 1)));
                break;
            }
        }
    }
    ms_result_free(r);
    return 0;
}

static const char *
bdm_str(const json_t *bdm, const char *key)
{
    const char *s = ms_json_strval(bdm, key);
    return ms_str_empty(s) ? NULL : s;
}

static ms_param
bdm_int(const json_t *bdm, const char *key)
{
    json_t *v = json_object_get(bdm, key);
    return json_is_integer(v) ? MS_P_INT(json_integer_value(v)) : MS_P_NULL;
}

int
compute_bdm_db_insert(const char *uuid, const json_t *bdm, int64_t now)
{
    return MS_DB_QUERY(
        NULL,
        "INSERT INTO compute_block_device_mappings (instance_uuid, source_type,"
        " destination_type, device_name, boot_index, image_id, volume_id, snapshot_id,"
        " volume_size, guest_format, device_type, disk_bus, volume_type,"
        " delete_on_termination, no_device, tag, created_at)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        MS_P_STR(uuid), MS_P_STR(bdm_str(bdm, "source_type")),
        MS_P_STR(bdm_str(bdm, "destination_type")), MS_P_STR(bdm_str(bdm, "device_name")),
        bdm_int(bdm, "boot_index"), MS_P_STR(bdm_str(bdm, "image_id")),
        MS_P_STR(bdm_str(bdm, "volume_id")), MS_P_STR(bdm_str(bdm, "snapshot_id")),
        bdm_int(bdm, "volume_size"), MS_P_STR(bdm_str(bdm, "guest_format")),
        MS_P_STR(bdm_str(bdm, "device_type")), MS_P_STR(bdm_str(bdm, "disk_bus")),
        MS_P_STR(bdm_str(bdm, "volume_type")),
        MS_P_BOOL(json_is_true(json_object_get(bdm, "delete_on_termination"))),
        MS_P_BOOL(json_is_true(json_object_get(bdm, "no_device"))),
        MS_P_STR(bdm_str(bdm, "tag")), MS_P_INT(now));
}

static void
set_opt_str(json_t *o, const char *key, const char *v)
{
    ms_json_set_str(o, key, ms_str_empty(v) ? NULL : v);
}

int
compute_bdm_db_list(const char *uuid, json_t **out)
{
    ms_result *r = NULL;
    int rc = MS_DB_QUERY(&r,
                         "SELECT source_type, destination_type, device_name, boot_index,"
                         " image_id, volume_id, snapshot_id, volume_size, guest_format,"
                         " device_type, disk_bus, volume_type, delete_on_termination,"
                         " no_device, tag, attachment_id FROM compute_block_device_mappings"
                         " WHERE instance_uuid = ? AND deleted = 0 ORDER BY id",
                         MS_P_STR(uuid));
    if (rc < 0)
        return rc;
    *out = json_array();
    static const char *const names[] = {"source_type", "destination_type", "device_name",
                                        "boot_index", "image_id", "volume_id",
                                        "snapshot_id", "volume_size", "guest_format",
                                        "device_type", "disk_bus", "volume_type",
                                        "delete_on_termination", "no_device", "tag",
                                        "attachment_id"};
    for (size_t k = 0; k < r->nrows; k++) {
        json_t *o = json_object();
        for (size_t c = 0; c < MS_ARRAY_LEN(names); c++) {
            const char *v = ms_cell(r, k, c);
            if (c == 3 || c == 7)
                json_object_set_new(o, names[c], v ? json_integer(ms_cell_int(r, k, c))
                                                   : json_null());
            else if (c == 12 || c == 13)
                json_object_set_new(o, names[c], json_boolean(ms_cell_bool(r, k, c)));
            else
                set_opt_str(o, names[c], v);
        }
        json_array_append_new(*out, o);
    }
    ms_result_free(r);
    return 0;
}

int
compute_bdm_db_delete_all(const char *uuid)
{
    return MS_DB_QUERY(NULL,
                       "UPDATE compute_block_device_mappings SET deleted = id"
                       " WHERE instance_uuid = ? AND deleted = 0",
                       MS_P_STR(uuid));
}

int
compute_instance_db_set_config_drive(const char *uuid, const char *value)
{
    return MS_DB_QUERY(NULL,
                       "UPDATE compute_instances SET config_drive = ? WHERE uuid = ?"
                       " AND deleted = 0",
                       MS_P_STR(value), MS_P_STR(uuid));
}
