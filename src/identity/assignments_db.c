/* SQL of groups, group membership, roles, implied roles and role
 * assignments. Optional list filters are "(? IS NULL OR col = ?)" so each
 * query stays one prepared statement. The effective-role queries run on the
 * token path (issue and validation cache misses): each is one statement
 * over primary-key and indexed lookups, with the role implications followed
 * by a recursive CTE, so a token costs one round trip for its roles. */
#include "assignments_db.h"

#include <string.h>

#define GROUP_COLS "SELECT id, name, domain_id, description, extra FROM id_groups"
#define ROLE_COLS "SELECT id, name, domain_id, description, options, extra FROM id_roles"
#define USER_TYPES "('UserProject', 'UserDomain', 'UserSystem')"
#define GROUP_TYPES "('GroupProject', 'GroupDomain', 'GroupSystem')"

/* Roles placed in tokens come first, so a long role list truncated to
 * MS_MAX_ROLES keeps them. */
#define EFFECTIVE_TAIL                                                                   \
    " eff (role_id) AS ("                                                                \
    "  SELECT role_id FROM direct"                                                       \
    "  UNION"                                                                            \
    "  SELECT i.implied_role_id FROM id_implied_roles i"                                 \
    "   JOIN eff ON i.prior_role_id = eff.role_id)"                                      \
    " SELECT r.id, r.name FROM eff JOIN id_roles r ON r.id = eff.role_id"                \
    " WHERE r.domain_id = ''"                                                            \
    " ORDER BY r.name NOT IN ('admin', 'member', 'reader'), r.name"

/* Rows changed by a write: 0, or -ENOENT when none. */
static int
affected_or_enoent(int rc, ms_result *r)
{
    if (rc == 0 && (!r || !r->affected))
        rc = -ENOENT;
    ms_result_free(r);
    return rc;
}

static int
exists(int rc, ms_result *r)
{
    if (rc == 0)
        rc = r->nrows ? 1 : 0;
    ms_result_free(r);
    return rc;
}

/* ---- groups and membership ---- */

int
asg_db_group_list(const char *domain_id, const char *name, ms_result **r)
{
    return MS_DB_QUERY(r,
                       GROUP_COLS " WHERE (? IS NULL OR domain_id = ?)"
                                  " AND (? IS NULL OR name = ?) ORDER BY name, id",
                       MS_P_STR(domain_id), MS_P_STR(domain_id), MS_P_STR(name),
                       MS_P_STR(name));
}

int
asg_db_group_get(const char *id, ms_result **r)
{
    return MS_DB_QUERY(r, GROUP_COLS " WHERE id = ?", MS_P_STR(id));
}

int
asg_db_group_insert(const char *id, const char *name, const char *domain_id,
                    const char *description, const char *extra)
{
    return MS_DB_QUERY(NULL,
                       "INSERT INTO id_groups (id, name, domain_id, description, extra,"
                       " created_at) VALUES (?, ?, ?, ?, ?, UTC_TIMESTAMP(6))",
                       MS_P_STR(id), MS_P_STR(name), MS_P_STR(domain_id),
                       MS_P_STR(description), MS_P_STR(extra));
}

int
asg_db_group_update(const char *id, const char *name, const char *description,
                    const char *extra)
{
    return MS_DB_QUERY(NULL,
                       "UPDATE id_groups SET name = ?, description = ?, extra = ? WHERE id = ?",
                       MS_P_STR(name), MS_P_STR(description), MS_P_STR(extra), MS_P_STR(id));
}

int
asg_db_group_delete(const char *id)
{
    int rc = ms_db_begin();
    if (rc < 0)
        return rc;
    ms_result *r = NULL;
    rc = MS_DB_QUERY(NULL, "DELETE FROM id_user_groups WHERE group_id = ?", MS_P_STR(id));
    if (rc == 0)
        rc = MS_DB_QUERY(NULL, "DELETE FROM id_assignments WHERE actor_id = ? AND type IN "
                               GROUP_TYPES, MS_P_STR(id));
    if (rc == 0)
        rc = MS_DB_QUERY(&r, "DELETE FROM id_groups WHERE id = ?", MS_P_STR(id));
    rc = affected_or_enoent(rc, r);
    if (rc < 0) {
        ms_db_rollback();
        return rc;
    }
    return ms_db_commit();
}

int
asg_db_group_users(const char *group_id, const char *domain_id, const char *name,
                   int enabled, ms_result **r)
{
    return MS_DB_QUERY(r,
                       "SELECT u.id, u.name, u.domain_id, u.enabled, u.default_project_id,"
                       " u.description, u.email, u.password_expires_at, u.options, u.extra"
                       " FROM id_user_groups g JOIN id_users u ON u.id = g.user_id"
                       " WHERE g.group_id = ? AND (? IS NULL OR u.domain_id = ?)"
                       " AND (? IS NULL OR u.name = ?) AND (? < 0 OR u.enabled = ?)"
                       " ORDER BY u.name, u.id",
                       MS_P_STR(group_id), MS_P_STR(domain_id), MS_P_STR(domain_id),
                       MS_P_STR(name), MS_P_STR(name), MS_P_INT(enabled), MS_P_INT(enabled));
}

int
asg_db_group_member_ids(const char *group_id, ms_result **r)
{
    return MS_DB_QUERY(r, "SELECT user_id FROM id_user_groups WHERE group_id = ? ORDER BY user_id",
                       MS_P_STR(group_id));
}

int
asg_db_member_check(const char *group_id, const char *user_id)
{
    ms_result *r = NULL;
    int rc = MS_DB_QUERY(&r, "SELECT 1 FROM id_user_groups WHERE user_id = ? AND group_id = ?",
                         MS_P_STR(user_id), MS_P_STR(group_id));
    return exists(rc, r);
}

int
asg_db_member_add(const char *group_id, const char *user_id)
{
    return MS_DB_QUERY(NULL, "INSERT IGNORE INTO id_user_groups (user_id, group_id) VALUES (?, ?)",
                       MS_P_STR(user_id), MS_P_STR(group_id));
}

int
asg_db_member_remove(const char *group_id, const char *user_id)
{
    ms_result *r = NULL;
    int rc = MS_DB_QUERY(&r, "DELETE FROM id_user_groups WHERE user_id = ? AND group_id = ?",
                         MS_P_STR(user_id), MS_P_STR(group_id));
    return affected_or_enoent(rc, r);
}

int
asg_db_actor_has_grants(const char *actor_id)
{
    ms_result *r = NULL;
    int rc = MS_DB_QUERY(&r, "SELECT 1 FROM id_assignments WHERE actor_id = ? LIMIT 1",
                         MS_P_STR(actor_id));
    return exists(rc, r);
}

/* ---- roles and implied roles ---- */

int
asg_db_role_list(const char *domain_id, const char *name, ms_result **r)
{
    return MS_DB_QUERY(r, ROLE_COLS " WHERE domain_id = ? AND (? IS NULL OR name = ?)"
                                    " ORDER BY name, id",
                       MS_P_STR(domain_id), MS_P_STR(name), MS_P_STR(name));
}

int
asg_db_role_all(ms_result **r)
{
    return MS_DB_QUERY0(r, ROLE_COLS " ORDER BY id");
}

int
asg_db_role_get(const char *id, ms_result **r)
{
    return MS_DB_QUERY(r, ROLE_COLS " WHERE id = ?", MS_P_STR(id));
}

int
asg_db_role_find(const char *name, const char *domain_id, ms_result **r)
{
    return MS_DB_QUERY(r, ROLE_COLS " WHERE name = ? AND domain_id = ?", MS_P_STR(name),
                       MS_P_STR(domain_id));
}

int
asg_db_role_insert(const char *id, const char *name, const char *domain_id,
                   const char *description, const char *options, const char *extra)
{
    return MS_DB_QUERY(NULL,
                       "INSERT INTO id_roles (id, name, domain_id, description, options, extra,"
                       " created_at) VALUES (?, ?, ?, ?, ?, ?, UTC_TIMESTAMP(6))",
                       MS_P_STR(id), MS_P_STR(name), MS_P_STR(domain_id ? domain_id : ""),
                       MS_P_STR(description), MS_P_STR(options), MS_P_STR(extra));
}

int
asg_db_role_update(const char *id, const char *name, const char *description,
                   const char *options, const char *extra)
{
    return MS_DB_QUERY(NULL,
                       "UPDATE id_roles SET name = ?, description = ?, options = ?, extra = ?"
                       " WHERE id = ?",
                       MS_P_STR(name), MS_P_STR(description), MS_P_STR(options),
                       MS_P_STR(extra), MS_P_STR(id));
}

int
asg_db_role_delete(const char *id)
{
    int rc = ms_db_begin();
    if (rc < 0)
        return rc;
    ms_result *r = NULL;
    rc = MS_DB_QUERY(NULL, "DELETE FROM id_assignments WHERE role_id = ?", MS_P_STR(id));
    if (rc == 0)
        rc = MS_DB_QUERY(NULL,
                         "DELETE FROM id_implied_roles WHERE prior_role_id = ?"
                         " OR implied_role_id = ?",
                         MS_P_STR(id), MS_P_STR(id));
    if (rc == 0)
        rc = MS_DB_QUERY(&r, "DELETE FROM id_roles WHERE id = ?", MS_P_STR(id));
    rc = affected_or_enoent(rc, r);
    if (rc < 0) {
        ms_db_rollback();
        return rc;
    }
    return ms_db_commit();
}

int
asg_db_role_holders(const char *role_id, ms_result **r)
{
    return MS_DB_QUERY(r,
                       "SELECT actor_id, CASE WHEN type = 'UserProject' AND inherited = 0"
                       " THEN target_id END FROM id_assignments"
                       " WHERE role_id = ? AND type IN " USER_TYPES
                       " UNION"
                       " SELECT g.user_id, CASE WHEN a.type = 'GroupProject' AND a.inherited = 0"
                       " THEN a.target_id END FROM id_assignments a"
                       " JOIN id_user_groups g ON g.group_id = a.actor_id"
                       " WHERE a.role_id = ? AND a.type IN " GROUP_TYPES,
                       MS_P_STR(role_id), MS_P_STR(role_id));
}

int
asg_db_implied_list(const char *prior_id, ms_result **r)
{
    return MS_DB_QUERY(r,
                       "SELECT r.id, r.name FROM id_implied_roles i"
                       " JOIN id_roles r ON r.id = i.implied_role_id"
                       " WHERE i.prior_role_id = ? ORDER BY r.name, r.id",
                       MS_P_STR(prior_id));
}

int
asg_db_implied_check(const char *prior_id, const char *implied_id)
{
    ms_result *r = NULL;
    int rc = MS_DB_QUERY(&r,
                         "SELECT 1 FROM id_implied_roles WHERE prior_role_id = ?"
                         " AND implied_role_id = ?",
                         MS_P_STR(prior_id), MS_P_STR(implied_id));
    return exists(rc, r);
}

int
asg_db_implied_insert(const char *prior_id, const char *implied_id)
{
    return MS_DB_QUERY(NULL,
                       "INSERT INTO id_implied_roles (prior_role_id, implied_role_id)"
                       " VALUES (?, ?)",
                       MS_P_STR(prior_id), MS_P_STR(implied_id));
}

int
asg_db_implied_delete(const char *prior_id, const char *implied_id)
{
    ms_result *r = NULL;
    int rc = MS_DB_QUERY(&r,
                         "DELETE FROM id_implied_roles WHERE prior_role_id = ?"
                         " AND implied_role_id = ?",
                         MS_P_STR(prior_id), MS_P_STR(implied_id));
    return affected_or_enoent(rc, r);
}

int
asg_db_inferences(ms_result **r)
{
    return MS_DB_QUERY0(r, "SELECT p.id, p.name, r.id, r.name FROM id_implied_roles i"
                           " JOIN id_roles p ON p.id = i.prior_role_id"
                           " JOIN id_roles r ON r.id = i.implied_role_id"
                           " ORDER BY p.name, p.id, r.name, r.id");
}

int
asg_db_implied_all(ms_result **r)
{
    return MS_DB_QUERY0(r, "SELECT prior_role_id, implied_role_id FROM id_implied_roles"
                           " ORDER BY prior_role_id, implied_role_id");
}

/* ---- assignments ---- */

int
asg_db_grant_check(const char *type, const char *actor_id, const char *target_id,
                   const char *role_id, bool inherited)
{
    ms_result *r = NULL;
    int rc = MS_DB_QUERY(&r,
                         "SELECT 1 FROM id_assignments WHERE type = ? AND actor_id = ?"
                         " AND target_id = ? AND role_id = ? AND inherited = ?",
                         MS_P_STR(type), MS_P_STR(actor_id), MS_P_STR(target_id),
                         MS_P_STR(role_id), MS_P_BOOL(inherited));
    return exists(rc, r);
}

int
asg_db_grant_insert(const char *type, const char *actor_id, const char *target_id,
                    const char *role_id, bool inherited)
{
    return MS_DB_QUERY(NULL,
                       "INSERT IGNORE INTO id_assignments (type, actor_id, target_id, role_id,"
                       " inherited) VALUES (?, ?, ?, ?, ?)",
                       MS_P_STR(type), MS_P_STR(actor_id), MS_P_STR(target_id),
                       MS_P_STR(role_id), MS_P_BOOL(inherited));
}

int
asg_db_grant_delete(const char *type, const char *actor_id, const char *target_id,
                    const char *role_id, bool inherited)
{
    ms_result *r = NULL;
    int rc = MS_DB_QUERY(&r,
                         "DELETE FROM id_assignments WHERE type = ? AND actor_id = ?"
                         " AND target_id = ? AND role_id = ? AND inherited = ?",
                         MS_P_STR(type), MS_P_STR(actor_id), MS_P_STR(target_id),
                         MS_P_STR(role_id), MS_P_BOOL(inherited));
    return affected_or_enoent(rc, r);
}

int
asg_db_grant_roles(const char *type, const char *actor_id, const char *target_id,
                   bool inherited, ms_result **r)
{
    return MS_DB_QUERY(r,
                       "SELECT r.id, r.name, r.domain_id, r.description, r.options, r.extra"
                       " FROM id_assignments a JOIN id_roles r ON r.id = a.role_id"
                       " WHERE a.type = ? AND a.actor_id = ? AND a.target_id = ?"
                       " AND a.inherited = ? ORDER BY r.name, r.id",
                       MS_P_STR(type), MS_P_STR(actor_id), MS_P_STR(target_id),
                       MS_P_BOOL(inherited));
}

int
asg_db_assignments(const asg_filter *f, ms_result **r)
{
    return MS_DB_QUERY(r,
                       "SELECT type, actor_id, target_id, role_id, inherited FROM id_assignments"
                       " WHERE (? IS NULL OR role_id = ?)"
                       " AND (? IS NULL OR (actor_id = ? AND type IN " USER_TYPES "))"
                       " AND (? IS NULL OR (actor_id = ? AND type IN " GROUP_TYPES "))"
                       " AND (? IS NULL OR (target_id = ?"
                       "  AND type IN ('UserDomain', 'GroupDomain')))"
                       " AND (? IS NULL OR (FIND_IN_SET(target_id, ?) > 0"
                       "  AND type IN ('UserProject', 'GroupProject')))"
                       " AND (? = 0 OR type IN ('UserSystem', 'GroupSystem'))"
                       " AND (? < 0 OR inherited = ? OR type IN ('UserSystem', 'GroupSystem'))"
                       " ORDER BY type IN ('UserSystem', 'GroupSystem'), type, actor_id,"
                       " target_id, role_id, inherited",
                       MS_P_STR(f->role_id), MS_P_STR(f->role_id), MS_P_STR(f->user_id),
                       MS_P_STR(f->user_id), MS_P_STR(f->group_id), MS_P_STR(f->group_id),
                       MS_P_STR(f->domain_id), MS_P_STR(f->domain_id), MS_P_STR(f->projects),
                       MS_P_STR(f->projects), MS_P_BOOL(f->system_only),
                       MS_P_INT(f->inherited), MS_P_INT(f->inherited));
}

int
asg_db_effective_candidates(const char *user_id, ms_result **r)
{
    return MS_DB_QUERY(r,
                       "SELECT type, actor_id, target_id, role_id, inherited FROM id_assignments"
                       " WHERE type IN ('UserProject', 'GroupProject', 'UserDomain',"
                       " 'GroupDomain')"
                       " AND (? IS NULL"
                       "  OR (type IN ('UserProject', 'UserDomain') AND actor_id = ?)"
                       "  OR (type IN ('GroupProject', 'GroupDomain') AND actor_id IN"
                       "   (SELECT group_id FROM id_user_groups WHERE user_id = ?)))"
                       " ORDER BY type LIKE 'Group%', type DESC, actor_id, target_id, role_id,"
                       " inherited",
                       MS_P_STR(user_id), MS_P_STR(user_id), MS_P_STR(user_id));
}

int
asg_db_projects(ms_result **r)
{
    return MS_DB_QUERY0(r, "SELECT id, name, domain_id, parent_id FROM id_projects"
                           " WHERE is_domain = 0 ORDER BY id");
}

int
asg_db_domains(ms_result **r)
{
    return MS_DB_QUERY0(r, "SELECT id, name FROM id_domains ORDER BY id");
}

int
asg_db_user_brief(const char *id, ms_result **r)
{
    return MS_DB_QUERY(r, "SELECT id, name, domain_id FROM id_users WHERE id = ?", MS_P_STR(id));
}

/* ---- effective roles (token path) ---- */

/* Direct and group assignments on the project, inherited ones from its
 * ancestors and from its domain, then what those imply. */
int
asg_db_effective_project(const char *user_id, const char *project_id, ms_result **r)
{
    return MS_DB_QUERY(r,
        "WITH RECURSIVE"
        " grp AS (SELECT group_id FROM id_user_groups WHERE user_id = ?),"
        " anc (id, depth) AS ("
        "  SELECT parent_id, 1 FROM id_projects WHERE id = ? AND parent_id IS NOT NULL"
        "  UNION ALL"
        "  SELECT p.parent_id, anc.depth + 1 FROM id_projects p JOIN anc ON p.id = anc.id"
        "   WHERE p.parent_id IS NOT NULL AND anc.depth < 32),"
        " dom AS (SELECT domain_id FROM id_projects WHERE id = ?),"
        " direct AS ("
        "  SELECT role_id FROM id_assignments WHERE type = 'UserProject' AND actor_id = ?"
        "   AND target_id = ? AND inherited = 0"
        "  UNION SELECT a.role_id FROM id_assignments a JOIN grp ON a.actor_id = grp.group_id"
        "   WHERE a.type = 'GroupProject' AND a.target_id = ? AND a.inherited = 0"
        "  UNION SELECT a.role_id FROM id_assignments a JOIN anc ON a.target_id = anc.id"
        "   WHERE a.type = 'UserProject' AND a.actor_id = ? AND a.inherited = 1"
        "  UNION SELECT a.role_id FROM id_assignments a JOIN anc ON a.target_id = anc.id"
        "   JOIN grp ON a.actor_id = grp.group_id"
        "   WHERE a.type = 'GroupProject' AND a.inherited = 1"
        "  UNION SELECT a.role_id FROM id_assignments a JOIN dom ON a.target_id = dom.domain_id"
        "   WHERE a.type = 'UserDomain' AND a.actor_id = ? AND a.inherited = 1"
        "  UNION SELECT a.role_id FROM id_assignments a JOIN dom ON a.target_id = dom.domain_id"
        "   JOIN grp ON a.actor_id = grp.group_id"
        "   WHERE a.type = 'GroupDomain' AND a.inherited = 1),"
        EFFECTIVE_TAIL,
        MS_P_STR(user_id), MS_P_STR(project_id), MS_P_STR(project_id), MS_P_STR(user_id),
        MS_P_STR(project_id), MS_P_STR(project_id), MS_P_STR(user_id), MS_P_STR(user_id));
}

int
asg_db_effective_domain(const char *user_id, const char *domain_id, ms_result **r)
{
    return MS_DB_QUERY(r,
        "WITH RECURSIVE"
        " grp AS (SELECT group_id FROM id_user_groups WHERE user_id = ?),"
        " direct AS ("
        "  SELECT role_id FROM id_assignments WHERE type = 'UserDomain' AND actor_id = ?"
        "   AND target_id = ? AND inherited = 0"
        "  UNION SELECT a.role_id FROM id_assignments a JOIN grp ON a.actor_id = grp.group_id"
        "   WHERE a.type = 'GroupDomain' AND a.target_id = ? AND a.inherited = 0),"
        EFFECTIVE_TAIL,
        MS_P_STR(user_id), MS_P_STR(user_id), MS_P_STR(domain_id), MS_P_STR(domain_id));
}

int
asg_db_effective_system(const char *user_id, ms_result **r)
{
    return MS_DB_QUERY(r,
        "WITH RECURSIVE"
        " grp AS (SELECT group_id FROM id_user_groups WHERE user_id = ?),"
        " direct AS ("
        "  SELECT role_id FROM id_assignments WHERE type = 'UserSystem' AND actor_id = ?"
        "   AND target_id = 'system'"
        "  UNION SELECT a.role_id FROM id_assignments a JOIN grp ON a.actor_id = grp.group_id"
        "   WHERE a.type = 'GroupSystem' AND a.target_id = 'system'),"
        EFFECTIVE_TAIL,
        MS_P_STR(user_id), MS_P_STR(user_id));
}

int
asg_db_implied_closure(const char *ids_csv, ms_result **r)
{
    return MS_DB_QUERY(r,
        "WITH RECURSIVE eff (role_id) AS ("
        "  SELECT implied_role_id FROM id_implied_roles WHERE FIND_IN_SET(prior_role_id, ?) > 0"
        "  UNION"
        "  SELECT i.implied_role_id FROM id_implied_roles i"
        "   JOIN eff ON i.prior_role_id = eff.role_id)"
        " SELECT r.id, r.name FROM eff JOIN id_roles r ON r.id = eff.role_id"
        " WHERE r.domain_id = ''"
        " ORDER BY r.name NOT IN ('admin', 'member', 'reader'), r.name",
        MS_P_STR(ids_csv));
}

/* Assignments count toward "has access" only with a role that reaches
 * tokens: a global role, or a domain role implying one (Keystone strips
 * domain-specific roles from effective assignments). */
#define USEFUL_ROLES                                                                     \
    " useful AS (SELECT id AS role_id FROM id_roles WHERE domain_id = ''"                \
    "  UNION SELECT i.prior_role_id FROM id_implied_roles i"                             \
    "  JOIN id_roles r ON r.id = i.implied_role_id WHERE r.domain_id = ''),"

int
asg_db_user_projects(const char *user_id, ms_result **r)
{
    return MS_DB_QUERY(r,
        "WITH RECURSIVE"
        " grp AS (SELECT group_id FROM id_user_groups WHERE user_id = ?),"
        USEFUL_ROLES
        " mine AS ("
        "  SELECT a.type, a.target_id, a.inherited FROM id_assignments a"
        "   JOIN useful u ON u.role_id = a.role_id"
        "   WHERE a.type IN ('UserProject', 'UserDomain') AND a.actor_id = ?"
        "  UNION SELECT a.type, a.target_id, a.inherited FROM id_assignments a"
        "   JOIN useful u ON u.role_id = a.role_id JOIN grp ON a.actor_id = grp.group_id"
        "   WHERE a.type IN ('GroupProject', 'GroupDomain')),"
        " sub (id, depth) AS ("
        "  SELECT p.id, 1 FROM id_projects p JOIN mine m ON p.parent_id = m.target_id"
        "   WHERE m.inherited = 1 AND m.type IN ('UserProject', 'GroupProject')"
        "  UNION ALL"
        "  SELECT p.id, sub.depth + 1 FROM id_projects p JOIN sub ON p.parent_id = sub.id"
        "   WHERE sub.depth < 32)"
        " SELECT p.id, p.name, p.domain_id, p.enabled AND COALESCE(d.enabled, 1)"
        " FROM id_projects p LEFT JOIN id_domains d ON d.id = p.domain_id"
        " WHERE p.is_domain = 0 AND ("
        "  p.id IN (SELECT target_id FROM mine WHERE inherited = 0"
        "   AND type IN ('UserProject', 'GroupProject'))"
        "  OR p.domain_id IN (SELECT target_id FROM mine WHERE inherited = 1"
        "   AND type IN ('UserDomain', 'GroupDomain'))"
        "  OR p.id IN (SELECT id FROM sub))"
        " ORDER BY p.name, p.id",
        MS_P_STR(user_id), MS_P_STR(user_id));
}

int
asg_db_user_domains(const char *user_id, ms_result **r)
{
    return MS_DB_QUERY(r,
        "WITH"
        " grp AS (SELECT group_id FROM id_user_groups WHERE user_id = ?),"
        USEFUL_ROLES
        " mine AS ("
        "  SELECT a.target_id FROM id_assignments a JOIN useful u ON u.role_id = a.role_id"
        "   WHERE a.type = 'UserDomain' AND a.actor_id = ? AND a.inherited = 0"
        "  UNION SELECT a.target_id FROM id_assignments a"
        "   JOIN useful u ON u.role_id = a.role_id JOIN grp ON a.actor_id = grp.group_id"
        "   WHERE a.type = 'GroupDomain' AND a.inherited = 0)"
        " SELECT d.id, d.name, d.enabled FROM id_domains d"
        " WHERE d.id IN (SELECT target_id FROM mine) ORDER BY d.name, d.id",
        MS_P_STR(user_id), MS_P_STR(user_id));
}
