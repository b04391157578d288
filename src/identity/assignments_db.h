/* Groups, roles, implied roles and role assignments: the SQL (assignments_db.c)
 * and a few JSON helpers shared by groups.c, roles.c and assignments.c
 * (defined in assignments.c and roles.c). For those files only.
 *
 * Result layouts:
 *   group rows: id, name, domain_id, description, extra
 *   role rows:  id, name, domain_id ('' for global), description, options, extra
 *   user rows (group members): id, name, domain_id, enabled, default_project_id,
 *               description, email, password_expires_at, options, extra
 *   assignment rows: type, actor_id, target_id, role_id, inherited
 *   project rows: id, name, domain_id, parent_id  (ordered by id)
 *   domain rows:  id, name  (ordered by id) */
#ifndef IDENTITY_ASSIGNMENTS_DB_H
#define IDENTITY_ASSIGNMENTS_DB_H

#include "tokens_internal.h"

#include <errno.h>
#include <jansson.h>

/* Assignment types, as Keystone names them. */
#define ASG_USER_PROJECT "UserProject"
#define ASG_GROUP_PROJECT "GroupProject"
#define ASG_USER_DOMAIN "UserDomain"
#define ASG_GROUP_DOMAIN "GroupDomain"
#define ASG_USER_SYSTEM "UserSystem"
#define ASG_GROUP_SYSTEM "GroupSystem"
#define ASG_SYSTEM_TARGET "system"

/* ---- groups and membership ---- */
int asg_db_group_list(const char *domain_id, const char *name, ms_result **r);
int asg_db_group_get(const char *id, ms_result **r);
int asg_db_group_insert(const char *id, const char *name, const char *domain_id,
                        const char *description, const char *extra);
int asg_db_group_update(const char *id, const char *name, const char *description,
                        const char *extra);
/* The group, its memberships and its assignments; -ENOENT when absent. */
int asg_db_group_delete(const char *id);
/* enabled: -1 no filter, else 0/1. */
int asg_db_group_users(const char *group_id, const char *domain_id, const char *name,
                       int enabled, ms_result **r);
int asg_db_group_member_ids(const char *group_id, ms_result **r);   /* user_id */
int asg_db_member_check(const char *group_id, const char *user_id); /* 1, 0, <0 */
int asg_db_member_add(const char *group_id, const char *user_id);
int asg_db_member_remove(const char *group_id, const char *user_id); /* -ENOENT */
int asg_db_actor_has_grants(const char *actor_id);                   /* 1, 0, <0 */

/* ---- roles and implied roles ---- */
/* domain_id '' lists global roles; name NULL: any. */
int asg_db_role_list(const char *domain_id, const char *name, ms_result **r);
int asg_db_role_all(ms_result **r); /* every role, ordered by id */
int asg_db_role_get(const char *id, ms_result **r);
int asg_db_role_find(const char *name, const char *domain_id, ms_result **r);
int asg_db_role_insert(const char *id, const char *name, const char *domain_id,
                       const char *description, const char *options, const char *extra);
int asg_db_role_update(const char *id, const char *name, const char *description,
                       const char *options, const char *extra);
/* The role, its implication rules and its assignments; -ENOENT when absent. */
int asg_db_role_delete(const char *id);
/* Users holding the role directly or through a group: user_id, project_id
 * (NULL for domain and system assignments). Distinct rows. */
int asg_db_role_holders(const char *role_id, ms_result **r);
/* Implied roles of a prior role: implied id, name. */
int asg_db_implied_list(const char *prior_id, ms_result **r);
int asg_db_implied_check(const char *prior_id, const char *implied_id);  /* 1, 0, <0 */
int asg_db_implied_insert(const char *prior_id, const char *implied_id); /* -EEXIST */
int asg_db_implied_delete(const char *prior_id, const char *implied_id); /* -ENOENT */
/* Every rule: prior id, prior name, implied id, implied name. */
int asg_db_inferences(ms_result **r);
/* Every rule: prior id, implied id, ordered by prior id. */
int asg_db_implied_all(ms_result **r);

/* ---- assignments ---- */
int asg_db_grant_check(const char *type, const char *actor_id, const char *target_id,
                       const char *role_id, bool inherited); /* 1, 0, <0 */
int asg_db_grant_insert(const char *type, const char *actor_id, const char *target_id,
                        const char *role_id, bool inherited); /* existing is fine */
int asg_db_grant_delete(const char *type, const char *actor_id, const char *target_id,
                        const char *role_id, bool inherited); /* -ENOENT */
/* Roles granted (role rows). */
int asg_db_grant_roles(const char *type, const char *actor_id, const char *target_id,
                       bool inherited, ms_result **r);

/* Direct assignments matching the filters (NULL: any). projects is a
 * comma-separated list of project ids; inherited -1 any, else 0/1 (system
 * assignments ignore it, as in Keystone); system_only restricts to system
 * assignments. */
typedef struct {
    const char *role_id, *user_id, *group_id, *domain_id, *projects;
    int inherited;
    bool system_only;
} asg_filter;
int asg_db_assignments(const asg_filter *f, ms_result **r);
/* Project and domain assignments that can affect a user (directly or through
 * the user's groups), or every one when user_id is NULL. User rows first. */
int asg_db_effective_candidates(const char *user_id, ms_result **r);
int asg_db_projects(ms_result **r);
int asg_db_domains(ms_result **r);
/* id, name, domain_id of one user or group. */
int asg_db_user_brief(const char *id, ms_result **r);

/* Effective roles (id, name), global roles only, implied roles included. */
int asg_db_effective_project(const char *user_id, const char *project_id, ms_result **r);
int asg_db_effective_domain(const char *user_id, const char *domain_id, ms_result **r);
int asg_db_effective_system(const char *user_id, ms_result **r);
/* Global roles implied (transitively) by any of the comma-separated ids:
 * id, name. */
int asg_db_implied_closure(const char *ids_csv, ms_result **r);
/* Projects (id, name, domain_id, enabled incl. domain) and domains
 * (id, name, enabled) where the user has an effective role. */
int asg_db_user_projects(const char *user_id, ms_result **r);
int asg_db_user_domains(const char *user_id, ms_result **r);

/* Keystone's query flag: present and not "0". */
bool asg_query_flag(ms_request *req, const char *name);
/* A Keystone name (string, 1..255, some non-blank): 0, or -EINVAL with
 * the 400 in resp. -ENOENT when absent. */
int asg_name(const json_t *obj, const char *key, ms_response *resp, const char **out);
/* The role object of a role row (roles.c). */
json_t *asg_role_json(ms_request *req, const ms_result *r, size_t i);
/* A role by id: 0 with *r holding one row, -ENOENT (404 written), or <0. */
int asg_role_fetch(ms_response *resp, const char *id, ms_result **r);

#endif
