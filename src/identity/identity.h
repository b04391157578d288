/* Identity (Keystone v3 + v2.0 tokens): internal interface between the
 * module's files. Other modules use include/monostack/auth.h only. */
#ifndef IDENTITY_H
#define IDENTITY_H

#include <jansson.h>

#include <monostack/db.h>
#include <monostack/http.h>
#include <monostack/log.h>

extern const ms_migration identity_migrations[];
extern const ms_module identity_module;

/* ---- JSON pieces shared by every resource (views.c) ---- */
/* {"self": "<base>/v3/<kind>/<id>"} */
json_t *identity_links_self(ms_request *req, const char *kind, const char *id);
/* Collection links: self is the request URL with its query string. */
json_t *identity_collection_links(ms_request *req);
/* The extra attributes of a row (JSON text) as a new object, {} when none. */
json_t *identity_extra_obj(const char *text);
/* Keys of obj not in known[] merged over old, as JSON text (caller frees);
 * NULL when there are none. */
char *identity_extra_text(const json_t *obj, const char *const *known, const char *old);
/* Answer 404 "Could not find <what>: <id>." and return 0. */
int identity_not_found(ms_response *resp, const char *what, const char *id);
/* Answer 200 {"<key>": [render(row)...], "links": ...}; frees r. */
int identity_list_reply(ms_request *req, ms_response *resp, const char *key, ms_result *r,
                        json_t *(*render)(ms_request *req, const ms_result *r, size_t i));

/* ---- tokens, auth, catalog, application credentials, v2.0 (tokens*.c,
 *      fernet.c, password.c, catalog.c, app_creds.c, v2.c, revoke.c) ---- */
int identity_tokens_init(void);              /* load fernet keys, register validator */
void identity_tokens_fini(void);
int identity_versions(ms_request *req, ms_response *resp);      /* GET / */
int identity_v3_root(ms_request *req, ms_response *resp);       /* GET /v3 */
int identity_v2_root(ms_request *req, ms_response *resp);       /* GET /v2.0 */
int identity_token_issue(ms_request *req, ms_response *resp);
int identity_token_validate(ms_request *req, ms_response *resp); /* GET and HEAD */
int identity_token_revoke(ms_request *req, ms_response *resp);
int identity_auth_catalog(ms_request *req, ms_response *resp);
int identity_auth_projects(ms_request *req, ms_response *resp);
int identity_auth_domains(ms_request *req, ms_response *resp);
int identity_auth_system(ms_request *req, ms_response *resp);
int identity_v2_token_issue(ms_request *req, ms_response *resp);
int identity_v2_tenants(ms_request *req, ms_response *resp);
int identity_region_list(ms_request *req, ms_response *resp);
int identity_region_create(ms_request *req, ms_response *resp);
int identity_region_get(ms_request *req, ms_response *resp);
int identity_region_update(ms_request *req, ms_response *resp);
int identity_region_delete(ms_request *req, ms_response *resp);
int identity_service_list(ms_request *req, ms_response *resp);
int identity_service_create(ms_request *req, ms_response *resp);
int identity_service_get(ms_request *req, ms_response *resp);
int identity_service_update(ms_request *req, ms_response *resp);
int identity_service_delete(ms_request *req, ms_response *resp);
int identity_endpoint_list(ms_request *req, ms_response *resp);
int identity_endpoint_create(ms_request *req, ms_response *resp);
int identity_endpoint_get(ms_request *req, ms_response *resp);
int identity_endpoint_update(ms_request *req, ms_response *resp);
int identity_endpoint_delete(ms_request *req, ms_response *resp);
int identity_app_cred_list(ms_request *req, ms_response *resp);
int identity_app_cred_create(ms_request *req, ms_response *resp);
int identity_app_cred_get(ms_request *req, ms_response *resp);
int identity_app_cred_delete(ms_request *req, ms_response *resp);

/* Passwords (password.c): a salted slow KDF (PBKDF2-SHA512) in a
 * self-describing string "$pbkdf2-sha512$<rounds>$<salt b64>$<hash b64>".
 * Verification is constant-time. */
#define IDENTITY_HASH_LEN 160
int identity_password_hash(const char *password, char out[IDENTITY_HASH_LEN]);
bool identity_password_verify(const char *password, const char *stored);

/* `monostack-manage bootstrap` (bootstrap.c) and fernet key management
 * (fernet.c): keys under <state_path>/fernet-keys/. */
int identity_bootstrap(const struct ms_bootstrap_opts *opts, char **err);
int identity_fernet_setup(char **err);    /* create the key repository if missing */
int identity_fernet_rotate(char **err);

/* Record a revocation event and drop cached validations it affects. Any
 * NULL field is a wildcard. Used by resources when a user, project or
 * assignment changes (disable, delete, password change, role removal). */
int identity_revoke(const char *user_id, const char *project_id, const char *domain_id,
                    const char *audit_id);

/* ---- resources: domains, projects, users, groups, roles, grants,
 *      role assignments (domains.c, projects.c, users.c, groups.c, roles.c,
 *      assignments.c, resources_db.c) ---- */
#define IDENTITY_DEFAULT_DOMAIN "default"
#define IDENTITY_MAX_ROLES MS_MAX_ROLES

typedef struct {
    char id[MS_ID_LEN];
    char name[MS_NAME_LEN];
} identity_ref;

/* Effective roles (groups, inheritance and implied roles expanded) of a user
 * on a project (project_id set), a domain (domain_id set) or the system
 * (both NULL, system true). Returns the count (0..max) or a negative errno. */
int identity_effective_roles(const char *user_id, const char *project_id,
                             const char *domain_id, bool system, identity_ref *roles,
                             int max);
/* Expand a set of role ids with the roles they imply (in place). */
int identity_expand_implied(identity_ref *roles, int n, int max);

/* Lookups the token side uses (resources_db.c). id, or name within a domain
 * given by id or name. Return 0, -ENOENT, or -EAGAIN. */
typedef struct {
    char id[MS_ID_LEN];
    char name[MS_NAME_LEN];
    char domain_id[MS_ID_LEN];
    char domain_name[MS_NAME_LEN];
    bool enabled;                 /* the object and its domain are enabled */
    char password_hash[IDENTITY_HASH_LEN];   /* users only */
    int64_t password_expires_at;  /* users only; 0 = never */
    char default_project_id[MS_ID_LEN];      /* users only */
} identity_principal;
int identity_user_lookup(const char *id, const char *name, const char *domain_id,
                         const char *domain_name, identity_principal *out);
int identity_project_lookup(const char *id, const char *name, const char *domain_id,
                            const char *domain_name, identity_principal *out);
int identity_domain_lookup(const char *id, const char *name, identity_principal *out);
/* Projects and domains where the user has any effective role. Caller frees
 * *refs. Returns the count or a negative errno. */
int identity_user_project_refs(const char *user_id, identity_principal **refs);
int identity_user_domain_refs(const char *user_id, identity_principal **refs);

/* Idempotent creators for bootstrap (resources_db.c). Each finds the object
 * by its natural key or creates it, writing its id to id_out. */
int identity_ensure_domain(const char *id, const char *name);
int identity_ensure_project(const char *name, const char *domain_id, bool is_domain,
                            char id_out[MS_ID_LEN]);
int identity_ensure_user(const char *name, const char *domain_id, const char *password,
                         char id_out[MS_ID_LEN]);
int identity_ensure_role(const char *name, char id_out[MS_ID_LEN]);
int identity_ensure_implied(const char *prior_id, const char *implied_id);
/* type: "UserProject", "UserDomain" or "UserSystem" (target "system"). */
int identity_ensure_grant(const char *type, const char *actor_id, const char *target_id,
                          const char *role_id);

int identity_domain_list(ms_request *req, ms_response *resp);
int identity_domain_create(ms_request *req, ms_response *resp);
int identity_domain_get(ms_request *req, ms_response *resp);
int identity_domain_update(ms_request *req, ms_response *resp);
int identity_domain_delete(ms_request *req, ms_response *resp);
int identity_project_list(ms_request *req, ms_response *resp);
int identity_project_create(ms_request *req, ms_response *resp);
int identity_project_get(ms_request *req, ms_response *resp);
int identity_project_update(ms_request *req, ms_response *resp);
int identity_project_delete(ms_request *req, ms_response *resp);
int identity_project_tags(ms_request *req, ms_response *resp);   /* GET/PUT/DELETE */
int identity_project_tag(ms_request *req, ms_response *resp);    /* GET/PUT/DELETE one */
int identity_user_list(ms_request *req, ms_response *resp);
int identity_user_create(ms_request *req, ms_response *resp);
int identity_user_get(ms_request *req, ms_response *resp);
int identity_user_update(ms_request *req, ms_response *resp);
int identity_user_delete(ms_request *req, ms_response *resp);
int identity_user_password(ms_request *req, ms_response *resp);
int identity_user_projects(ms_request *req, ms_response *resp);
int identity_user_groups(ms_request *req, ms_response *resp);
int identity_group_list(ms_request *req, ms_response *resp);
int identity_group_create(ms_request *req, ms_response *resp);
int identity_group_get(ms_request *req, ms_response *resp);
int identity_group_update(ms_request *req, ms_response *resp);
int identity_group_delete(ms_request *req, ms_response *resp);
int identity_group_users(ms_request *req, ms_response *resp);
int identity_group_member(ms_request *req, ms_response *resp);   /* HEAD/PUT/DELETE */
int identity_role_list(ms_request *req, ms_response *resp);
int identity_role_create(ms_request *req, ms_response *resp);
int identity_role_get(ms_request *req, ms_response *resp);
int identity_role_update(ms_request *req, ms_response *resp);
int identity_role_delete(ms_request *req, ms_response *resp);
int identity_implied_list(ms_request *req, ms_response *resp);
int identity_implied_role(ms_request *req, ms_response *resp);   /* GET/HEAD/PUT/DELETE */
int identity_role_inferences(ms_request *req, ms_response *resp);
int identity_grant_list(ms_request *req, ms_response *resp);     /* .../roles */
int identity_grant(ms_request *req, ms_response *resp);          /* HEAD/PUT/DELETE .../roles/{role_id} */
int identity_role_assignments(ms_request *req, ms_response *resp);

#endif
