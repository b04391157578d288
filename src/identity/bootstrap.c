/* `monostack-manage bootstrap` for identity, as `keystone-manage bootstrap`
 * does it, and safe to run again: the Default domain, the admin and service
 * projects, the admin user (its password reset when it changed), the
 * reader, member and admin roles with admin => member => reader, the admin
 * role on the admin project and on the system, the region, and a catalog
 * entry for every enabled service module that has a listener. Every step
 * finds its object or creates it, so a second run changes nothing but a
 * changed password or endpoint URL. */
#include "tokens_internal.h"

#include <monostack/config.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* The names OpenStack deployments (devstack, the install guides) give the
 * services; a module whose type is not here is named after itself. */
static const struct {
    const char *type, *name;
} service_names[] = {
    {"identity", "keystone"},      {"image", "glance"},      {"compute", "nova"},
    {"block-storage", "cinderv3"}, {"volumev3", "cinderv3"}, {"network", "neutron"},
};

static const char *
service_name(const ms_module *mod)
{
    for (size_t i = 0; i < MS_ARRAY_LEN(service_names); i++) {
        if (strcmp(service_names[i].type, mod->service_type) == 0)
            return service_names[i].name;
    }
    return mod->name;
}

/* The admin user. identity_ensure_user() does what keystone-manage
 * bootstrap does to an existing user: re-enables it and, when the password
 * differs, resets it and revokes the tokens issued with the old one. */
static int
bootstrap_admin_user(const struct ms_bootstrap_opts *opts, char user_id[MS_ID_LEN],
                     char **err)
{
    int rc = identity_ensure_user(opts->admin_user, IDENTITY_DEFAULT_DOMAIN,
                                  opts->admin_password, user_id);
    if (rc < 0) {
        *err = ms_asprintf("cannot create user %s (rc=%d)", opts->admin_user, rc);
        return rc;
    }
    return 0;
}

static int
bootstrap_roles(const char *user_id, const char *project_id, char **err)
{
    static const char *const names[] = {"reader", "member", "admin"};
    char ids[MS_ARRAY_LEN(names)][MS_ID_LEN];
    int rc;
    for (size_t i = 0; i < MS_ARRAY_LEN(names); i++) {
        if ((rc = identity_ensure_role(names[i], ids[i])) < 0) {
            *err = ms_asprintf("cannot create role %s (rc=%d)", names[i], rc);
            return rc;
        }
    }
    /* member => reader, admin => member. */
    for (size_t i = 1; i < MS_ARRAY_LEN(names); i++) {
        if ((rc = identity_ensure_implied(ids[i], ids[i - 1])) < 0) {
            *err = ms_asprintf("cannot make role %s imply %s (rc=%d)", names[i],
                               names[i - 1], rc);
            return rc;
        }
    }
    const char *admin = ids[2];
    if ((rc = identity_ensure_grant("UserProject", user_id, project_id, admin)) < 0) {
        *err =
            ms_asprintf("cannot grant the admin role on the admin project (rc=%d)", rc);
        return rc;
    }
    if ((rc = identity_ensure_grant("UserSystem", user_id, "system", admin)) < 0) {
        *err = ms_asprintf("cannot grant the admin role on the system (rc=%d)", rc);
        return rc;
    }
    return 0;
}

/* One service and its three endpoints for a module. */
static int
bootstrap_service(const ms_module *mod, int port, const char *base, const char *region,
                  char **err)
{
    char service_id[MS_ID_LEN];
    const char *name = service_name(mod);
    int rc = identity_ensure_service(mod->service_type, name, service_id);
    if (rc < 0) {
        *err = ms_asprintf("cannot create service %s (rc=%d)", name, rc);
        return rc;
    }
    static const char *const interfaces[] = {"public", "internal", "admin"};
    char *url =
        ms_asprintf("%s:%d%s", base, port, mod->catalog_path ? mod->catalog_path : "");
    for (size_t i = 0; i < MS_ARRAY_LEN(interfaces) && rc == 0; i++) {
        rc = identity_ensure_endpoint(service_id, interfaces[i], region, url);
        if (rc < 0)
            *err = ms_asprintf("cannot create the %s endpoint of %s (rc=%d)",
                               interfaces[i], name, rc);
    }
    free(url);
    return rc;
}

static int
bootstrap_catalog(const struct ms_bootstrap_opts *opts, const char *region, char **err)
{
    int rc = identity_ensure_region(region);
    if (rc < 0) {
        *err = ms_asprintf("cannot create region %s (rc=%d)", region, rc);
        return rc;
    }
    /* "http://HOST" without a trailing slash; the port is appended. */
    const char *url =
        !ms_str_empty(opts->public_url) ? opts->public_url : "http://127.0.0.1";
    size_t n = strlen(url);
    while (n > 0 && url[n - 1] == '/')
        n--;
    char *base = ms_strndup(url, n);
    for (size_t i = 0; i < ms_modules_count && rc == 0; i++) {
        const ms_module *mod = ms_modules[i];
        const ms_service_conf *sc = ms_config_service(mod->name);
        if (!mod->service_type || mod->no_listener || mod->no_catalog || !sc || !sc->enabled)
            continue;
        rc = bootstrap_service(mod, sc->port > 0 ? sc->port : mod->default_port, base,
                               region, err);
    }
    free(base);
    identity_catalog_changed();
    return rc;
}

int
identity_bootstrap(const struct ms_bootstrap_opts *opts, char **err)
{
    const char *user = !ms_str_empty(opts->admin_user) ? opts->admin_user : "admin";
    const char *project =
        !ms_str_empty(opts->admin_project) ? opts->admin_project : "admin";
    const char *region = !ms_str_empty(opts->region) ? opts->region : "RegionOne";
    if (ms_str_empty(opts->admin_password)) {
        *err = ms_strdup("an admin password is required");
        return -EINVAL;
    }
    struct ms_bootstrap_opts o = *opts;
    o.admin_user = user;
    o.admin_project = project;

    int rc = identity_ensure_domain(IDENTITY_DEFAULT_DOMAIN, "Default");
    if (rc < 0) {
        *err = ms_asprintf("cannot create the Default domain (rc=%d)", rc);
        return rc;
    }
    char project_id[MS_ID_LEN], service_project_id[MS_ID_LEN], user_id[MS_ID_LEN];
    if ((rc = identity_ensure_project(project, IDENTITY_DEFAULT_DOMAIN, false,
                                      project_id)) < 0) {
        *err = ms_asprintf("cannot create project %s (rc=%d)", project, rc);
        return rc;
    }
    if ((rc = identity_ensure_project("service", IDENTITY_DEFAULT_DOMAIN, false,
                                      service_project_id)) < 0) {
        *err = ms_asprintf("cannot create project service (rc=%d)", rc);
        return rc;
    }
    if ((rc = bootstrap_admin_user(&o, user_id, err)) < 0)
        return rc;
    if ((rc = bootstrap_roles(user_id, project_id, err)) < 0)
        return rc;
    if ((rc = bootstrap_catalog(&o, region, err)) < 0)
        return rc;
    ms_info("bootstrap: user %s has the admin role on project %s and the system", user,
            project);
    return 0;
}
