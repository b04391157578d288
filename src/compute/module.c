/* The compute module descriptor and its route table: the Nova v2.1 API
 * surface monostack serves, in one place. Each route exists three times:
 * as written ("/v2.1/flavors"), and in the old project-id forms
 * ("/v2.1/{project_id}/flavors", "/v2/{project_id}/flavors") that classic
 * catalogs and clients still use. The copies are generated once at load
 * time, so the table is written once and the router stays generic; the
 * project-id copies check the segment against the token as Nova does. */
#include "compute.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define R(m, p, h, pol, n) {.methods = (m), .path = (p), .handler = (h), .policy = (pol), .name = (n)}
#define RV(m, p, h, pol, n, lo, hi)                                                      \
    {.methods = (m), .path = (p), .handler = (h), .policy = (pol), .name = (n),            \
     .min_mv = (lo), .max_mv = (hi)}
#define GET_HEAD (MS_GET | MS_HEAD)
#define V21 "/v2.1"

static const ms_route compute_base_routes[] = {
    R(GET_HEAD, "/", compute_versions, MS_POL_PUBLIC, "versions"),
    R(GET_HEAD, "/v2.1", compute_version_v21, MS_POL_PUBLIC, "version_v2.1"),
    R(GET_HEAD, "/v2", compute_version_v2, MS_POL_PUBLIC, "version_v2"),

    R(GET_HEAD, V21 "/flavors", compute_flavor_list, MS_POL_ANY, "flavors:index"),
    R(GET_HEAD, V21 "/flavors/detail", compute_flavor_detail, MS_POL_ANY, "flavors:detail"),
    R(MS_POST, V21 "/flavors", compute_flavor_create, MS_POL_ADMIN, "os-flavor-manage:create"),
    R(GET_HEAD, V21 "/flavors/{flavor_id}", compute_flavor_show, MS_POL_ANY, "flavors:show"),
    RV(MS_PUT, V21 "/flavors/{flavor_id}", compute_flavor_update, MS_POL_ADMIN, "os-flavor-manage:update", MS_MV(2, 55), 0),
    R(MS_DELETE, V21 "/flavors/{flavor_id}", compute_flavor_delete, MS_POL_ADMIN, "os-flavor-manage:delete"),
    R(MS_POST, V21 "/flavors/{flavor_id}/action", compute_flavor_action, MS_POL_ADMIN, "os-flavor-access:action"),
    R(GET_HEAD, V21 "/flavors/{flavor_id}/os-flavor-access", compute_flavor_access_list, MS_POL_ADMIN, "os-flavor-access:index"),
    R(GET_HEAD, V21 "/flavors/{flavor_id}/os-extra_specs", compute_flavor_specs_list, MS_POL_ANY, "os-flavor-extra-specs:index"),
    R(MS_POST, V21 "/flavors/{flavor_id}/os-extra_specs", compute_flavor_specs_create, MS_POL_ADMIN, "os-flavor-extra-specs:create"),
    R(GET_HEAD, V21 "/flavors/{flavor_id}/os-extra_specs/{key}", compute_flavor_spec_show, MS_POL_ANY, "os-flavor-extra-specs:show"),
    R(MS_PUT, V21 "/flavors/{flavor_id}/os-extra_specs/{key}", compute_flavor_spec_update, MS_POL_ADMIN, "os-flavor-extra-specs:update"),
    R(MS_DELETE, V21 "/flavors/{flavor_id}/os-extra_specs/{key}", compute_flavor_spec_delete, MS_POL_ADMIN, "os-flavor-extra-specs:delete"),

    R(GET_HEAD, V21 "/os-keypairs", compute_keypair_list, MS_POL_ANY, "os-keypairs:index"),
    R(MS_POST, V21 "/os-keypairs", compute_keypair_create, MS_POL_ANY, "os-keypairs:create"),
    R(GET_HEAD, V21 "/os-keypairs/{keypair_name}", compute_keypair_show, MS_POL_ANY, "os-keypairs:show"),
    R(MS_DELETE, V21 "/os-keypairs/{keypair_name}", compute_keypair_delete, MS_POL_ANY, "os-keypairs:delete"),

    R(GET_HEAD, V21 "/limits", compute_limits, MS_POL_READER, "limits"),
    R(GET_HEAD, V21 "/os-quota-sets/{tenant_id}", compute_quota_show, MS_POL_READER, "os-quota-sets:show"),
    R(GET_HEAD, V21 "/os-quota-sets/{tenant_id}/defaults", compute_quota_defaults, MS_POL_READER, "os-quota-sets:defaults"),
    R(GET_HEAD, V21 "/os-quota-sets/{tenant_id}/detail", compute_quota_detail, MS_POL_READER, "os-quota-sets:detail"),
    R(MS_PUT, V21 "/os-quota-sets/{tenant_id}", compute_quota_update, MS_POL_ADMIN, "os-quota-sets:update"),
    R(MS_DELETE, V21 "/os-quota-sets/{tenant_id}", compute_quota_delete, MS_POL_ADMIN, "os-quota-sets:delete"),

    R(GET_HEAD, V21 "/os-quota-class-sets/{id}", compute_quota_class_show, MS_POL_ADMIN, "os-quota-class-sets:show"),
    R(MS_PUT, V21 "/os-quota-class-sets/{id}", compute_quota_class_update, MS_POL_ADMIN, "os-quota-class-sets:update"),

    R(GET_HEAD, V21 "/os-availability-zone", compute_az_list, MS_POL_ANY, "os-availability-zone:list"),
    R(GET_HEAD, V21 "/os-availability-zone/detail", compute_az_detail, MS_POL_ADMIN, "os-availability-zone:detail"),
    R(GET_HEAD, V21 "/os-hypervisors", compute_hypervisor_list, MS_POL_ADMIN, "os-hypervisors:list"),
    R(GET_HEAD, V21 "/os-hypervisors/detail", compute_hypervisor_detail, MS_POL_ADMIN, "os-hypervisors:list-detail"),
    RV(GET_HEAD, V21 "/os-hypervisors/statistics", compute_hypervisor_stats, MS_POL_ADMIN, "os-hypervisors:statistics", 0, MS_MV(2, 87)),
    R(GET_HEAD, V21 "/os-hypervisors/{hypervisor_id}", compute_hypervisor_show, MS_POL_ADMIN, "os-hypervisors:show"),
    RV(GET_HEAD, V21 "/os-hypervisors/{hypervisor_id}/uptime", compute_hypervisor_uptime, MS_POL_ADMIN, "os-hypervisors:uptime", 0, MS_MV(2, 87)),
    RV(GET_HEAD, V21 "/os-hypervisors/{pattern}/search", compute_hypervisor_search, MS_POL_ADMIN, "os-hypervisors:search", 0, MS_MV(2, 52)),
    RV(GET_HEAD, V21 "/os-hypervisors/{pattern}/servers", compute_hypervisor_servers, MS_POL_ADMIN, "os-hypervisors:servers", 0, MS_MV(2, 52)),
    R(GET_HEAD, V21 "/os-services", compute_services_list, MS_POL_ADMIN, "os-services:list"),
    RV(MS_PUT, V21 "/os-services/{service_id}", compute_service_action, MS_POL_ADMIN, "os-services:update", 0, MS_MV(2, 52)),
    RV(MS_PUT, V21 "/os-services/{service_id}", compute_service_update, MS_POL_ADMIN, "os-services:update", MS_MV(2, 53), 0),
    R(MS_DELETE, V21 "/os-services/{service_id}", compute_service_delete, MS_POL_ADMIN, "os-services:delete"),
    R(GET_HEAD, V21 "/os-simple-tenant-usage", compute_usage_list, MS_POL_ADMIN, "os-simple-tenant-usage:list"),
    R(GET_HEAD, V21 "/os-simple-tenant-usage/{tenant_id}", compute_usage_show, MS_POL_READER, "os-simple-tenant-usage:show"),

    R(GET_HEAD, V21 "/os-aggregates", compute_aggregate_list, MS_POL_ADMIN, "os-aggregates:index"),
    R(MS_POST, V21 "/os-aggregates", compute_aggregate_create, MS_POL_ADMIN, "os-aggregates:create"),
    R(GET_HEAD, V21 "/os-aggregates/{aggregate_id}", compute_aggregate_show, MS_POL_ADMIN, "os-aggregates:show"),
    R(MS_PUT, V21 "/os-aggregates/{aggregate_id}", compute_aggregate_update, MS_POL_ADMIN, "os-aggregates:update"),
    R(MS_DELETE, V21 "/os-aggregates/{aggregate_id}", compute_aggregate_delete, MS_POL_ADMIN, "os-aggregates:delete"),
    R(MS_POST, V21 "/os-aggregates/{aggregate_id}/action", compute_aggregate_action, MS_POL_ADMIN, "os-aggregates:action"),
    RV(MS_POST, V21 "/os-aggregates/{aggregate_id}/images", compute_aggregate_images, MS_POL_ADMIN, "os-aggregates:images", MS_MV(2, 81), 0),

    R(GET_HEAD, V21 "/os-server-groups", compute_server_group_list, MS_POL_READER, "os-server-groups:index"),
    R(MS_POST, V21 "/os-server-groups", compute_server_group_create, MS_POL_MEMBER, "os-server-groups:create"),
    R(GET_HEAD, V21 "/os-server-groups/{group_id}", compute_server_group_show, MS_POL_READER, "os-server-groups:show"),
    R(MS_DELETE, V21 "/os-server-groups/{group_id}", compute_server_group_delete, MS_POL_MEMBER, "os-server-groups:delete"),

    R(GET_HEAD, V21 "/servers", compute_server_list, MS_POL_READER, "servers:index"),
    R(GET_HEAD, V21 "/servers/detail", compute_server_detail, MS_POL_READER, "servers:detail"),
    R(MS_POST, V21 "/servers", compute_server_create, MS_POL_MEMBER, "servers:create"),
    R(GET_HEAD, V21 "/servers/{server_id}", compute_server_show, MS_POL_READER, "servers:show"),
    R(MS_PUT, V21 "/servers/{server_id}", compute_server_update, MS_POL_MEMBER, "servers:update"),
    R(MS_DELETE, V21 "/servers/{server_id}", compute_server_delete, MS_POL_MEMBER, "servers:delete"),
    R(MS_POST, V21 "/servers/{server_id}/action", compute_server_action, MS_POL_MEMBER, "servers:action"),
    R(GET_HEAD, V21 "/servers/{server_id}/ips", compute_server_ips, MS_POL_READER, "ips:index"),
    R(GET_HEAD, V21 "/servers/{server_id}/metadata", compute_server_metadata_list, MS_POL_READER, "server-metadata:index"),
    R(MS_PUT, V21 "/servers/{server_id}/metadata", compute_server_metadata_replace, MS_POL_MEMBER, "server-metadata:update_all"),
    R(MS_POST, V21 "/servers/{server_id}/metadata", compute_server_metadata_update, MS_POL_MEMBER, "server-metadata:create"),
    R(GET_HEAD, V21 "/servers/{server_id}/metadata/{key}", compute_server_metadata_show, MS_POL_READER, "server-metadata:show"),
    R(MS_PUT, V21 "/servers/{server_id}/metadata/{key}", compute_server_metadata_put, MS_POL_MEMBER, "server-metadata:update"),
    R(MS_DELETE, V21 "/servers/{server_id}/metadata/{key}", compute_server_metadata_delete, MS_POL_MEMBER, "server-metadata:delete"),
    R(GET_HEAD, V21 "/servers/{server_id}/os-server-password", compute_server_password_show, MS_POL_READER, "os-server-password:show"),
    R(MS_DELETE, V21 "/servers/{server_id}/os-server-password", compute_server_password_clear, MS_POL_MEMBER, "os-server-password:clear"),
    R(GET_HEAD, V21 "/servers/{server_id}/os-instance-actions", compute_server_actions_list, MS_POL_READER, "os-instance-actions:list"),
    R(GET_HEAD, V21 "/servers/{server_id}/os-instance-actions/{request_id}", compute_server_action_show, MS_POL_READER, "os-instance-actions:show"),
    RV(MS_POST, V21 "/servers/{server_id}/remote-consoles", compute_server_remote_console, MS_POL_MEMBER, "os-remote-consoles", MS_MV(2, 6), 0),
    RV(GET_HEAD, V21 "/servers/{server_id}/tags", compute_server_tags_list, MS_POL_READER, "os-server-tags:index", MS_MV(2, 26), 0),
    RV(MS_PUT, V21 "/servers/{server_id}/tags", compute_server_tags_replace, MS_POL_MEMBER, "os-server-tags:update_all", MS_MV(2, 26), 0),
    RV(MS_DELETE, V21 "/servers/{server_id}/tags", compute_server_tags_delete_all, MS_POL_MEMBER, "os-server-tags:delete_all", MS_MV(2, 26), 0),
    RV(GET_HEAD, V21 "/servers/{server_id}/tags/{tag}", compute_server_tag_check, MS_POL_READER, "os-server-tags:show", MS_MV(2, 26), 0),
    RV(MS_PUT, V21 "/servers/{server_id}/tags/{tag}", compute_server_tag_add, MS_POL_MEMBER, "os-server-tags:update", MS_MV(2, 26), 0),
    RV(MS_DELETE, V21 "/servers/{server_id}/tags/{tag}", compute_server_tag_delete, MS_POL_MEMBER, "os-server-tags:delete", MS_MV(2, 26), 0),
    RV(GET_HEAD, V21 "/servers/{server_id}/topology", compute_server_topology, MS_POL_READER, "compute:server:topology:index", MS_MV(2, 78), 0),
};

#define NBASE MS_ARRAY_LEN(compute_base_routes)
/* The first three routes (version documents) have no project-id form. */
#define NUNVERSIONED 3
#define NROUTES (NBASE + 2 * (NBASE - NUNVERSIONED))

/* Base routes, then the "/v2.1/{project_id}" and "/v2/{project_id}" copies of
 * every "/v2.1/..." route. Filled by the constructor below, before main(). */
static ms_route compute_routes[NROUTES];
static ms_handler compute_route_base[NROUTES];
static size_t compute_nroutes;
static char compute_path_store[NBASE * 2][200];

/* The handler of every project-id copy: check the segment, then run the
 * route it copies. */
static int
compute_project_route(ms_request *req, ms_response *resp)
{
    size_t idx = (size_t)(req->route - compute_routes);
    if (idx >= compute_nroutes || !compute_route_base[idx])
        return -EINVAL;
    if (!compute_project_ok(req, resp))
        return 0;
    return compute_route_base[idx](req, resp);
}

__attribute__((constructor)) static void
compute_routes_build(void)
{
    size_t n = 0, np = 0;
    for (size_t i = 0; i < NBASE; i++) {
        compute_routes[n] = compute_base_routes[i];
        compute_route_base[n++] = compute_base_routes[i].handler;
    }
    static const char *const prefixes[] = {"/v2.1/{project_id}", "/v2/{project_id}"};
    for (size_t p = 0; p < MS_ARRAY_LEN(prefixes); p++) {
        for (size_t i = 0; i < NBASE; i++) {
            const ms_route *b = &compute_base_routes[i];
            if (strncmp(b->path, V21 "/", strlen(V21) + 1) != 0)
                continue;
            snprintf(compute_path_store[np], sizeof(compute_path_store[np]), "%s%s",
                     prefixes[p], b->path + strlen(V21));
            compute_routes[n] = *b;
            compute_routes[n].path = compute_path_store[np++];
            compute_routes[n].handler = compute_project_route;
            compute_route_base[n++] = b->handler;
        }
    }
    compute_nroutes = n;
    if (n != NROUTES)
        abort();   /* a route outside /v2.1 after the version documents */
}

static int
compute_init(void)
{
    return compute_manager_init();
}

static void
compute_fini(void)
{
    compute_manager_fini();
}

static int
compute_bootstrap(const struct ms_bootstrap_opts *opts, char **err)
{
    return compute_flavors_bootstrap(opts, err);
}

const ms_module compute_module = {
    .name = "compute",
    .service_type = "compute",
    .default_port = 8774,
    .request_id_header = "x-compute-request-id",
    .error = ms_error_nova,
    .mv_service = "compute",
    .mv_legacy_header = "X-OpenStack-Nova-API-Version",
    .mv_min = MS_MV(2, 1),
    .mv_max = COMPUTE_MV_MAX,
    .routes = compute_routes,
    .nroutes = NROUTES,
    .migrations = compute_migrations,
    .tasks = compute_task_handlers,
    .periodic = compute_periodic_jobs,
    .init = compute_init,
    .fini = compute_fini,
    .bootstrap = compute_bootstrap,
    .catalog_path = "/v2.1",
};
