/* The internal interface of domains.c, projects.c, users.c and
 * resources_db.c: the SQL of domains, projects (with their tags) and users,
 * and the request-validation and rendering helpers the three handler files
 * share (defined in domains.c). Keystone's jsonschema rules are checked by
 * hand here, with its messages ("Invalid input for field 'name': ...").
 *
 * Projects and domains have no options column: their resource options
 * ({"immutable": true}) are kept in the extra JSON under RES_OPTIONS_KEY,
 * which is never shown as an attribute. */
#ifndef IDENTITY_RESOURCES_DB_H
#define IDENTITY_RESOURCES_DB_H

#include "tokens_internal.h"

#include <errno.h>
#include <jansson.h>

#define RES_OPTIONS_KEY "__options__"
/* Keystone's [DEFAULT] max_project_tree_depth, the domain excluded. */
#define RES_MAX_PROJECT_DEPTH 5

/* Result columns. */
enum { D_ID, D_NAME, D_DESC, D_ENABLED, D_EXTRA };
enum { P_ID, P_NAME, P_DOMAIN, P_PARENT, P_DESC, P_ENABLED, P_EXTRA };
enum {
    U_ID, U_NAME, U_DOMAIN, U_ENABLED, U_DEFAULT_PROJECT, U_DESC, U_EMAIL, U_HASH,
    U_EXPIRES, U_OPTIONS, U_EXTRA
};
enum { G_ID, G_NAME, G_DOMAIN, G_DESC, G_EXTRA };

/* ---- SQL (resources_db.c). Return 0, -EEXIST (duplicate), -ENOENT (for
 * updates/deletes of a missing row), -EAGAIN. enabled filters: -1 = any. */
int res_db_domain_list(const char *name, int enabled, ms_result **r);
int res_db_domain_get(const char *id, ms_result **r);
int res_db_domain_by_name(const char *name, ms_result **r);
int res_db_domain_insert(const char *id, const char *name, const char *description,
                         bool enabled, const char *extra, const json_t *tags);
/* tags: NULL keeps the current ones. */
int res_db_domain_update(const char *id, const char *name, const char *description,
                         bool enabled, const char *extra, const json_t *tags);
/* The domain and everything in it: projects, users, groups, domain roles,
 * their tags, memberships, assignments and application credentials. */
int res_db_domain_delete(const char *id);

int res_db_project_list(const char *domain_id, const char *parent_id, const char *name,
                        int enabled, ms_result **r);
int res_db_project_get(const char *id, ms_result **r);
int res_db_project_by_name(const char *name, const char *domain_id, ms_result **r);
int res_db_project_insert(const char *id, const char *name, const char *domain_id,
                          const char *parent_id, const char *description, bool enabled,
                          const char *extra, const json_t *tags);
int res_db_project_update(const char *id, const char *name, const char *description,
                          bool enabled, const char *extra, const json_t *tags);
/* Children (projects whose parent is id): total and enabled ones. */
int res_db_project_children(const char *id, long long *total, long long *enabled);
/* The project, its tags, assignments on it and application credentials for it. */
int res_db_project_delete(const char *id);
/* Rows: tag (one project), or project_id, tag (all). */
int res_db_tags(const char *id, ms_result **r);
int res_db_tags_all(ms_result **r);
int res_db_tags_set(const char *id, const json_t *tags);
int res_db_tag_add(const char *id, const char *tag);
int res_db_tag_delete(const char *id, const char *tag);

int res_db_user_list(const char *domain_id, const char *name, int enabled, ms_result **r);
int res_db_user_get(const char *id, ms_result **r);
int res_db_user_by_name(const char *name, const char *domain_id, ms_result **r);
int res_db_user_insert(const char *id, const char *name, const char *domain_id, bool enabled,
                       const char *default_project_id, const char *description,
                       const char *email, const char *password_hash, const char *options,
                       const char *extra);
int res_db_user_update(const char *id, const char *name, bool enabled,
                       const char *default_project_id, const char *description,
                       const char *email, const char *options, const char *extra);
/* hash NULL clears the password. */
int res_db_user_set_password(const char *id, const char *hash);
/* The user, its group memberships, assignments and application credentials. */
int res_db_user_delete(const char *id);
/* Groups of a user: id, name, domain_id, description, extra. */
int res_db_user_groups(const char *user_id, ms_result **r);

/* The member object of a body (an empty object when the key is absent, as
 * Keystone validates body.get(key, {})), or NULL after a 400. */
json_t *res_member(ms_request *req, ms_response *resp, const char *key);
/* 400 "Invalid input for field '<field>': <what>" (field NULL: just <what>). */
void res_invalid(ms_response *resp, const char *field, const char *fmt, ...) MS_PRINTF(3, 4);
/* Python-style repr of a JSON value, as jsonschema messages show it (caller frees). */
char *res_repr(const json_t *v);
/* Validators: 0 when valid, -EINVAL after writing the 400. */
int res_check_name(ms_response *resp, const json_t *v, size_t max);
int res_check_id(ms_response *resp, const char *field, const json_t *v, bool nullable);
int res_check_bool(ms_response *resp, const char *field, const json_t *v);
int res_check_desc(ms_response *resp, const char *field, const json_t *v);
int res_check_str(ms_response *resp, const char *field, const json_t *v, bool nullable);
int res_check_tags(ms_response *resp, const char *field, const json_t *v);
/* user: the user option registry, else the project/domain one (immutable). */
int res_check_options(ms_response *resp, const json_t *v, bool user);
/* "Invalid input for field ...: {} does not have enough properties". */
int res_check_not_empty(ms_response *resp, const json_t *m);
/* Extra attributes: the row's JSON text as an object (new reference), and
 * the text to store from obj's keys outside known[] merged over old. */
/* Options kept in extra (projects, domains): new reference, {} when none. */
json_t *res_options_of_extra(const char *extra);
/* Merge a request's options over the stored ones (null removes a key). */
json_t *res_options_merge(json_t *old, const json_t *req_opts);
/* The extra text with options set (options NULL or empty removes them). */
char *res_extra_with_options(const char *extra, const json_t *options);
/* A copy of s without leading and trailing whitespace (caller frees). */
char *res_strip(const char *s);
/* Tags with whitespace stripped, as a new array. */
json_t *res_tags_strip(const json_t *tags);
/* Keystone's boolean query values (oslo bool_from_string, default true). */
bool res_query_bool(const char *v);
/* name__contains / name__startswith / ... filters of the query on value. */
bool res_inexact_match(ms_request *req, const char *attr, const char *value);
/* The caller may read everything (admin, or reader on the system). */
bool res_is_cloud_reader(const ms_request *req);
/* Whether the caller holds a reader-or-above role on its token's scope. */
bool res_has_reader(const ms_request *req);
/* 403 "You are not authorized to perform the requested action: identity:<action>." */
void res_forbidden(ms_response *resp, const char *action);
/* Domain rows: as JSON, and whether a domain exists (1/0/-errno). */
json_t *res_domain_json(ms_request *req, const ms_result *r, size_t i, json_t *tags);
int res_domain_exists(const char *id);
/* Projects as Keystone renders them; tags is stolen (NULL: []). */
json_t *res_project_json(ms_request *req, const ms_result *r, size_t i, json_t *tags);
/* A domain in project form (is_domain true). tags is stolen. */
json_t *res_domain_as_project_json(ms_request *req, const ms_result *r, size_t i,
                                   json_t *tags);
/* Tags of one project as a JSON array (NULL with *rc < 0 on db trouble). */
json_t *res_tags_json(const char *id, int *rc);
/* Every project's and domain's tags: {"<id>": [tags]} (NULL with *rc < 0). */
json_t *res_tags_map(int *rc);
/* The tags=, tags-any=, not-tags=, not-tags-any= filters of the query. */
bool res_tags_match(ms_request *req, const json_t *tags);
/* Validate a domain body (as POST /v3/domains, or POST /v3/projects with
 * is_domain true) and create it; answers 201 in domain or project form.
 * Returns 0 or a negative errno for the router. */
int res_domain_create(ms_request *req, ms_response *resp, json_t *m, bool as_project);
/* Keystone's immutable rule: an object whose options hold immutable=true
 * takes only an update that sets options.immutable to false or null, alone. */
bool res_immutable_blocks(const json_t *options, const json_t *m);
/* Keystone's conflict message for a duplicate project or domain name. */
void res_project_conflict(ms_response *resp, bool is_domain, const char *name,
                          const char *id);
/* Database time "YYYY-MM-DD HH:MM:SS.ffffff" of epoch microseconds. */
void res_db_time(int64_t us, char out[32]);

#endif
