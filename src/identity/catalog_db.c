/* SQL of the catalog: regions, services and endpoints. Optional list
 * filters are "(? IS NULL OR col = ?)" so each query stays one prepared
 * statement. */
#include "catalog_db.h"

#include <string.h>

#define REGION_COLS "SELECT id, description, parent_region_id, extra FROM id_regions"
#define SERVICE_COLS "SELECT id, type, name, description, enabled, extra FROM id_services"
#define ENDPOINT_COLS                                                                    \
    "SELECT id, service_id, region_id, interface, url, enabled, extra FROM id_endpoints"

int
catalog_db_region_list(const char *parent, ms_result **r)
{
    return MS_DB_QUERY(r, REGION_COLS " WHERE (? IS NULL OR parent_region_id = ?) ORDER BY id",
                       MS_P_STR(parent), MS_P_STR(parent));
}

int
catalog_db_region_get(const char *id, ms_result **r)
{
    return MS_DB_QUERY(r, REGION_COLS " WHERE id = ?", MS_P_STR(id));
}

int
catalog_db_region_insert(const char *id, const char *description, const char *parent,
                         const char *extra)
{
    return MS_DB_QUERY(NULL,
                       "INSERT INTO id_regions (id, description, parent_region_id, extra)"
                       " VALUES (?, ?, ?, ?)",
                       MS_P_STR(id), MS_P_STR(description), MS_P_STR(parent), MS_P_STR(extra));
}

int
catalog_db_region_update(const char *id, const char *description, const char *parent,
                         const char *extra)
{
    return MS_DB_QUERY(NULL,
                       "UPDATE id_regions SET description = ?, parent_region_id = ?, extra = ?"
                       " WHERE id = ?",
                       MS_P_STR(description), MS_P_STR(parent), MS_P_STR(extra), MS_P_STR(id));
}

int
catalog_db_region_children(const char *id, ms_result **r)
{
    return MS_DB_QUERY(r, "SELECT id FROM id_regions WHERE parent_region_id = ?", MS_P_STR(id));
}

int
catalog_db_region_endpoints(const char *id, long long *count)
{
    ms_result *r = NULL;
    int rc = MS_DB_QUERY(&r, "SELECT COUNT(*) FROM id_endpoints WHERE region_id = ?",
                         MS_P_STR(id));
    if (rc == 0) {
        *count = ms_cell_int(r, 0, 0);
        ms_result_free(r);
    }
    return rc;
}

int
catalog_db_region_delete(const char *id)
{
    ms_result *r = NULL;
    int rc = MS_DB_QUERY(&r, "DELETE FROM id_regions WHERE id = ?", MS_P_STR(id));
    if (rc == 0) {
        rc = r && r->affected ? 0 : -ENOENT;
        ms_result_free(r);
    }
    return rc;
}

int
catalog_db_service_list(const char *type, const char *name, ms_result **r)
{
    return MS_DB_QUERY(r,
                       SERVICE_COLS " WHERE (? IS NULL OR type = ?) AND (? IS NULL OR name = ?)"
                                    " ORDER BY id",
                       MS_P_STR(type), MS_P_STR(type), MS_P_STR(name), MS_P_STR(name));
}

int
catalog_db_service_get(const char *id, ms_result **r)
{
    return MS_DB_QUERY(r, SERVICE_COLS " WHERE id = ?", MS_P_STR(id));
}

int
catalog_db_service_insert(const char *id, const char *type, const char *name,
                          const char *description, bool enabled, const char *extra)
{
    return MS_DB_QUERY(NULL,
                       "INSERT INTO id_services (id, type, name, description, enabled, extra)"
                       " VALUES (?, ?, ?, ?, ?, ?)",
                       MS_P_STR(id), MS_P_STR(type), MS_P_STR(name), MS_P_STR(description),
                       MS_P_BOOL(enabled), MS_P_STR(extra));
}

int
catalog_db_service_update(const char *id, const char *type, const char *name,
                          const char *description, bool enabled, const char *extra)
{
    return MS_DB_QUERY(NULL,
                       "UPDATE id_services SET type = ?, name = ?, description = ?, enabled = ?,"
                       " extra = ? WHERE id = ?",
                       MS_P_STR(type), MS_P_STR(name), MS_P_STR(description),
                       MS_P_BOOL(enabled), MS_P_STR(extra), MS_P_STR(id));
}

/* The service and its endpoints go together, as in Keystone. */
int
catalog_db_service_delete(const char *id)
{
    int rc = ms_db_begin();
    if (rc < 0)
        return rc;
    ms_result *r = NULL;
    rc = MS_DB_QUERY(NULL, "DELETE FROM id_endpoints WHERE service_id = ?", MS_P_STR(id));
    if (rc == 0)
        rc = MS_DB_QUERY(&r, "DELETE FROM id_services WHERE id = ?", MS_P_STR(id));
    if (rc == 0 && (!r || !r->affected))
        rc = -ENOENT;
    ms_result_free(r);
    if (rc < 0) {
        ms_db_rollback();
        return rc;
    }
    return ms_db_commit();
}

int
catalog_db_endpoint_list(const char *service_id, const char *interface, const char *region,
                         ms_result **r)
{
    return MS_DB_QUERY(r,
                       ENDPOINT_COLS " WHERE (? IS NULL OR service_id = ?)"
                                     " AND (? IS NULL OR interface = ?)"
                                     " AND (? IS NULL OR region_id = ?) ORDER BY id",
                       MS_P_STR(service_id), MS_P_STR(service_id), MS_P_STR(interface),
                       MS_P_STR(interface), MS_P_STR(region), MS_P_STR(region));
}

int
catalog_db_endpoint_get(const char *id, ms_result **r)
{
    return MS_DB_QUERY(r, ENDPOINT_COLS " WHERE id = ?", MS_P_STR(id));
}

int
catalog_db_endpoint_insert(const char *id, const char *service_id, const char *region,
                           const char *interface, const char *url, bool enabled,
                           const char *extra)
{
    return MS_DB_QUERY(NULL,
                       "INSERT INTO id_endpoints (id, service_id, region_id, interface, url,"
                       " enabled, extra) VALUES (?, ?, ?, ?, ?, ?, ?)",
                       MS_P_STR(id), MS_P_STR(service_id), MS_P_STR(region),
                       MS_P_STR(interface), MS_P_STR(url), MS_P_BOOL(enabled), MS_P_STR(extra));
}

int
catalog_db_endpoint_update(const char *id, const char *service_id, const char *region,
                           const char *interface, const char *url, bool enabled,
                           const char *extra)
{
    return MS_DB_QUERY(NULL,
                       "UPDATE id_endpoints SET service_id = ?, region_id = ?, interface = ?,"
                       " url = ?, enabled = ?, extra = ? WHERE id = ?",
                       MS_P_STR(service_id), MS_P_STR(region), MS_P_STR(interface),
                       MS_P_STR(url), MS_P_BOOL(enabled), MS_P_STR(extra), MS_P_STR(id));
}

int
catalog_db_endpoint_delete(const char *id)
{
    ms_result *r = NULL;
    int rc = MS_DB_QUERY(&r, "DELETE FROM id_endpoints WHERE id = ?", MS_P_STR(id));
    if (rc == 0) {
        rc = r && r->affected ? 0 : -ENOENT;
        ms_result_free(r);
    }
    return rc;
}

/* Enabled services with their enabled endpoints (LEFT JOIN: a service
 * without endpoints still appears, as in Keystone's catalog):
 * service id, type, name, endpoint id, interface, region, url. */
int
catalog_db_catalog(ms_result **r)
{
    return MS_DB_QUERY0(r, "SELECT s.id, s.type, s.name, e.id, e.interface, e.region_id, e.url"
                           " FROM id_services s LEFT JOIN id_endpoints e"
                           " ON e.service_id = s.id AND e.enabled = 1"
                           " WHERE s.enabled = 1 ORDER BY s.id, e.id");
}
