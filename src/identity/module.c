/* The identity module descriptor and its route table: the whole Keystone
 * API surface monostack serves, in one place. Policy defaults follow
 * Keystone's reader/member/admin personas; handlers that show a caller its
 * own objects (tokens, own projects, own application credentials) use
 * ANY or ADMIN_OR_SELF and check ownership themselves. */
#include "identity.h"

#define R(m, p, h, pol, n) {.methods = (m), .path = (p), .handler = (h), .policy = (pol), .name = (n)}
#define GET_HEAD (MS_GET | MS_HEAD)

static const ms_route identity_routes[] = {
    R(GET_HEAD, "/", identity_versions, MS_POL_PUBLIC, "versions"),
    R(GET_HEAD, "/v3", identity_v3_root, MS_POL_PUBLIC, "v3"),
    R(GET_HEAD, "/v2.0", identity_v2_root, MS_POL_PUBLIC, "v2.0"),

    R(MS_POST, "/v3/auth/tokens", identity_token_issue, MS_POL_PUBLIC, "token_issue"),
    R(GET_HEAD, "/v3/auth/tokens", identity_token_validate, MS_POL_ANY, "token_validate"),
    R(MS_DELETE, "/v3/auth/tokens", identity_token_revoke, MS_POL_ANY, "token_revoke"),
    R(GET_HEAD, "/v3/auth/catalog", identity_auth_catalog, MS_POL_ANY, "auth_catalog"),
    R(GET_HEAD, "/v3/auth/projects", identity_auth_projects, MS_POL_ANY, "auth_projects"),
    R(GET_HEAD, "/v3/auth/domains", identity_auth_domains, MS_POL_ANY, "auth_domains"),
    R(GET_HEAD, "/v3/auth/system", identity_auth_system, MS_POL_ANY, "auth_system"),
    R(MS_POST, "/v2.0/tokens", identity_v2_token_issue, MS_POL_PUBLIC, "v2_token_issue"),
    R(GET_HEAD, "/v2.0/tenants", identity_v2_tenants, MS_POL_ANY, "v2_tenants"),

    R(GET_HEAD, "/v3/regions", identity_region_list, MS_POL_PUBLIC, "list_regions"),
    R(MS_POST, "/v3/regions", identity_region_create, MS_POL_ADMIN, "create_region"),
    R(GET_HEAD, "/v3/regions/{region_id}", identity_region_get, MS_POL_PUBLIC, "get_region"),
    R(MS_PUT, "/v3/regions/{region_id}", identity_region_create, MS_POL_ADMIN, "create_region"),
    R(MS_PATCH, "/v3/regions/{region_id}", identity_region_update, MS_POL_ADMIN, "update_region"),
    R(MS_DELETE, "/v3/regions/{region_id}", identity_region_delete, MS_POL_ADMIN, "delete_region"),
    R(GET_HEAD, "/v3/services", identity_service_list, MS_POL_READER, "list_services"),
    R(MS_POST, "/v3/services", identity_service_create, MS_POL_ADMIN, "create_service"),
    R(GET_HEAD, "/v3/services/{service_id}", identity_service_get, MS_POL_READER, "get_service"),
    R(MS_PATCH, "/v3/services/{service_id}", identity_service_update, MS_POL_ADMIN, "update_service"),
    R(MS_DELETE, "/v3/services/{service_id}", identity_service_delete, MS_POL_ADMIN, "delete_service"),
    R(GET_HEAD, "/v3/endpoints", identity_endpoint_list, MS_POL_READER, "list_endpoints"),
    R(MS_POST, "/v3/endpoints", identity_endpoint_create, MS_POL_ADMIN, "create_endpoint"),
    R(GET_HEAD, "/v3/endpoints/{endpoint_id}", identity_endpoint_get, MS_POL_READER, "get_endpoint"),
    R(MS_PATCH, "/v3/endpoints/{endpoint_id}", identity_endpoint_update, MS_POL_ADMIN, "update_endpoint"),
    R(MS_DELETE, "/v3/endpoints/{endpoint_id}", identity_endpoint_delete, MS_POL_ADMIN, "delete_endpoint"),

    R(GET_HEAD, "/v3/domains", identity_domain_list, MS_POL_ANY, "list_domains"),
    R(MS_POST, "/v3/domains", identity_domain_create, MS_POL_ADMIN, "create_domain"),
    R(GET_HEAD, "/v3/domains/{domain_id}", identity_domain_get, MS_POL_ANY, "get_domain"),
    R(MS_PATCH, "/v3/domains/{domain_id}", identity_domain_update, MS_POL_ADMIN, "update_domain"),
    R(MS_DELETE, "/v3/domains/{domain_id}", identity_domain_delete, MS_POL_ADMIN, "delete_domain"),
    R(GET_HEAD, "/v3/projects", identity_project_list, MS_POL_ANY, "list_projects"),
    R(MS_POST, "/v3/projects", identity_project_create, MS_POL_ADMIN, "create_project"),
    R(GET_HEAD, "/v3/projects/{project_id}", identity_project_get, MS_POL_ANY, "get_project"),
    R(MS_PATCH, "/v3/projects/{project_id}", identity_project_update, MS_POL_ADMIN, "update_project"),
    R(MS_DELETE, "/v3/projects/{project_id}", identity_project_delete, MS_POL_ADMIN, "delete_project"),
    R(GET_HEAD | MS_PUT | MS_DELETE, "/v3/projects/{project_id}/tags", identity_project_tags, MS_POL_ANY, "project_tags"),
    R(GET_HEAD | MS_PUT | MS_DELETE, "/v3/projects/{project_id}/tags/{tag}", identity_project_tag, MS_POL_ANY, "project_tag"),

    R(GET_HEAD, "/v3/users", identity_user_list, MS_POL_ADMIN, "list_users"),
    R(MS_POST, "/v3/users", identity_user_create, MS_POL_ADMIN, "create_user"),
    R(GET_HEAD, "/v3/users/{user_id}", identity_user_get, MS_POL_ADMIN_OR_SELF, "get_user"),
    R(MS_PATCH, "/v3/users/{user_id}", identity_user_update, MS_POL_ADMIN, "update_user"),
    R(MS_DELETE, "/v3/users/{user_id}", identity_user_delete, MS_POL_ADMIN, "delete_user"),
    /* Self-service password change authenticates with the old password, not a token. */
    R(MS_POST, "/v3/users/{user_id}/password", identity_user_password, MS_POL_PUBLIC, "change_password"),
    R(GET_HEAD, "/v3/users/{user_id}/projects", identity_user_projects, MS_POL_ADMIN_OR_SELF, "list_user_projects"),
    R(GET_HEAD, "/v3/users/{user_id}/groups", identity_user_groups, MS_POL_ADMIN_OR_SELF, "list_user_groups"),
    R(GET_HEAD, "/v3/users/{user_id}/application_credentials", identity_app_cred_list, MS_POL_ADMIN_OR_SELF, "list_app_creds"),
    R(MS_POST, "/v3/users/{user_id}/application_credentials", identity_app_cred_create, MS_POL_ADMIN_OR_SELF, "create_app_cred"),
    R(GET_HEAD, "/v3/users/{user_id}/application_credentials/{app_cred_id}", identity_app_cred_get, MS_POL_ADMIN_OR_SELF, "get_app_cred"),
    R(MS_DELETE, "/v3/users/{user_id}/application_credentials/{app_cred_id}", identity_app_cred_delete, MS_POL_ADMIN_OR_SELF, "delete_app_cred"),

    R(GET_HEAD, "/v3/groups", identity_group_list, MS_POL_ADMIN, "list_groups"),
    R(MS_POST, "/v3/groups", identity_group_create, MS_POL_ADMIN, "create_group"),
    R(GET_HEAD, "/v3/groups/{group_id}", identity_group_get, MS_POL_ADMIN, "get_group"),
    R(MS_PATCH, "/v3/groups/{group_id}", identity_group_update, MS_POL_ADMIN, "update_group"),
    R(MS_DELETE, "/v3/groups/{group_id}", identity_group_delete, MS_POL_ADMIN, "delete_group"),
    R(GET_HEAD, "/v3/groups/{group_id}/users", identity_group_users, MS_POL_ADMIN, "list_group_users"),
    R(MS_HEAD | MS_GET | MS_PUT | MS_DELETE, "/v3/groups/{group_id}/users/{user_id}", identity_group_member, MS_POL_ADMIN, "group_member"),

    R(GET_HEAD, "/v3/roles", identity_role_list, MS_POL_READER, "list_roles"),
    R(MS_POST, "/v3/roles", identity_role_create, MS_POL_ADMIN, "create_role"),
    R(GET_HEAD, "/v3/roles/{role_id}", identity_role_get, MS_POL_READER, "get_role"),
    R(MS_PATCH, "/v3/roles/{role_id}", identity_role_update, MS_POL_ADMIN, "update_role"),
    R(MS_DELETE, "/v3/roles/{role_id}", identity_role_delete, MS_POL_ADMIN, "delete_role"),
    R(GET_HEAD, "/v3/roles/{role_id}/implies", identity_implied_list, MS_POL_READER, "list_implied_roles"),
    R(GET_HEAD | MS_PUT | MS_DELETE, "/v3/roles/{role_id}/implies/{implied_id}", identity_implied_role, MS_POL_ADMIN, "implied_role"),
    R(GET_HEAD, "/v3/role_inferences", identity_role_inferences, MS_POL_READER, "list_role_inferences"),

    R(GET_HEAD, "/v3/projects/{project_id}/users/{user_id}/roles", identity_grant_list, MS_POL_ADMIN, "list_grants"),
    R(GET_HEAD | MS_PUT | MS_DELETE, "/v3/projects/{project_id}/users/{user_id}/roles/{role_id}", identity_grant, MS_POL_ADMIN, "grant"),
    R(GET_HEAD, "/v3/projects/{project_id}/groups/{group_id}/roles", identity_grant_list, MS_POL_ADMIN, "list_grants"),
    R(GET_HEAD | MS_PUT | MS_DELETE, "/v3/projects/{project_id}/groups/{group_id}/roles/{role_id}", identity_grant, MS_POL_ADMIN, "grant"),
    R(GET_HEAD, "/v3/domains/{domain_id}/users/{user_id}/roles", identity_grant_list, MS_POL_ADMIN, "list_grants"),
    R(GET_HEAD | MS_PUT | MS_DELETE, "/v3/domains/{domain_id}/users/{user_id}/roles/{role_id}", identity_grant, MS_POL_ADMIN, "grant"),
    R(GET_HEAD, "/v3/domains/{domain_id}/groups/{group_id}/roles", identity_grant_list, MS_POL_ADMIN, "list_grants"),
    R(GET_HEAD | MS_PUT | MS_DELETE, "/v3/domains/{domain_id}/groups/{group_id}/roles/{role_id}", identity_grant, MS_POL_ADMIN, "grant"),
    R(GET_HEAD, "/v3/system/users/{user_id}/roles", identity_grant_list, MS_POL_ADMIN, "list_grants"),
    R(GET_HEAD | MS_PUT | MS_DELETE, "/v3/system/users/{user_id}/roles/{role_id}", identity_grant, MS_POL_ADMIN, "grant"),
    R(GET_HEAD, "/v3/system/groups/{group_id}/roles", identity_grant_list, MS_POL_ADMIN, "list_grants"),
    R(GET_HEAD | MS_PUT | MS_DELETE, "/v3/system/groups/{group_id}/roles/{role_id}", identity_grant, MS_POL_ADMIN, "grant"),
    /* OS-INHERIT: roles a domain's or project's subtree inherits. */
#define INH "/v3/OS-INHERIT"
    R(GET_HEAD, INH "/domains/{domain_id}/users/{user_id}/roles/inherited_to_projects", identity_grant_list, MS_POL_ADMIN, "list_inherited_grants"),
    R(GET_HEAD | MS_PUT | MS_DELETE, INH "/domains/{domain_id}/users/{user_id}/roles/{role_id}/inherited_to_projects", identity_grant, MS_POL_ADMIN, "inherited_grant"),
    R(GET_HEAD, INH "/domains/{domain_id}/groups/{group_id}/roles/inherited_to_projects", identity_grant_list, MS_POL_ADMIN, "list_inherited_grants"),
    R(GET_HEAD | MS_PUT | MS_DELETE, INH "/domains/{domain_id}/groups/{group_id}/roles/{role_id}/inherited_to_projects", identity_grant, MS_POL_ADMIN, "inherited_grant"),
    R(GET_HEAD | MS_PUT | MS_DELETE, INH "/projects/{project_id}/users/{user_id}/roles/{role_id}/inherited_to_projects", identity_grant, MS_POL_ADMIN, "inherited_grant"),
    R(GET_HEAD | MS_PUT | MS_DELETE, INH "/projects/{project_id}/groups/{group_id}/roles/{role_id}/inherited_to_projects", identity_grant, MS_POL_ADMIN, "inherited_grant"),
#undef INH
    R(GET_HEAD, "/v3/role_assignments", identity_role_assignments, MS_POL_ANY, "list_role_assignments"),
};

static int
identity_init(void)
{
    return identity_tokens_init();
}

static void
identity_fini(void)
{
    identity_tokens_fini();
}

const ms_module identity_module = {
    .name = "identity",
    .service_type = "identity",
    .default_port = 5000,
    .request_id_header = "x-openstack-request-id",
    .error = ms_error_keystone,
    .routes = identity_routes,
    .nroutes = MS_ARRAY_LEN(identity_routes),
    .migrations = identity_migrations,
    .init = identity_init,
    .fini = identity_fini,
    .bootstrap = identity_bootstrap,
    .catalog_path = "/v3",
};
