/* The catalog's SQL (catalog_db.c), for catalog.c only. Results hold
 * regions as (id, description, parent_region_id, extra), services as
 * (id, type, name, description, enabled, extra) and endpoints as
 * (id, service_id, region_id, interface, url, enabled, extra). */
#ifndef IDENTITY_CATALOG_DB_H
#define IDENTITY_CATALOG_DB_H

#include "tokens_internal.h"

#include <errno.h>

int catalog_db_region_list(const char *parent, ms_result **r);
int catalog_db_region_get(const char *id, ms_result **r);
int catalog_db_region_insert(const char *id, const char *description, const char *parent,
                             const char *extra);
int catalog_db_region_update(const char *id, const char *description, const char *parent,
                             const char *extra);
int catalog_db_region_children(const char *id, ms_result **r);
int catalog_db_region_endpoints(const char *id, long long *count);
int catalog_db_region_delete(const char *id);
int catalog_db_service_list(const char *type, const char *name, ms_result **r);
int catalog_db_service_get(const char *id, ms_result **r);
int catalog_db_service_insert(const char *id, const char *type, const char *name,
                              const char *description, bool enabled, const char *extra);
int catalog_db_service_update(const char *id, const char *type, const char *name,
                              const char *description, bool enabled, const char *extra);
int catalog_db_service_delete(const char *id);
int catalog_db_endpoint_list(const char *service_id, const char *interface,
                             const char *region, ms_result **r);
int catalog_db_endpoint_get(const char *id, ms_result **r);
int catalog_db_endpoint_insert(const char *id, const char *service_id, const char *region,
                               const char *interface, const char *url, bool enabled,
                               const char *extra);
int catalog_db_endpoint_update(const char *id, const char *service_id, const char *region,
                               const char *interface, const char *url, bool enabled,
                               const char *extra);
int catalog_db_endpoint_delete(const char *id);
int catalog_db_catalog(ms_result **r);

#endif
