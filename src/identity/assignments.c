/* Grants (a role for a user or group on a project, a domain or the system),
 * the role assignment listing, and the effective roles that go into tokens.
 *
 * Effective roles follow Keystone: direct assignments, assignments of the
 * user's groups, assignments inherited from the project's domain and
 * ancestors (OS-INHERIT), then every role those imply, transitively;
 * domain-specific roles only serve to imply others and are left out. The
 * token path asks for them in one query (assignments_db.c); the listing
 * (/v3/role_assignments?effective) expands the same rules in memory so it
 * can say where each assignment came from. Removing an assignment revokes
 * the tokens it fed. This file also holds the JSON helpers the group and
 * role files share (assignments_db.h). */
#include "assignments_db.h"

#include <monostack/json.h>

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#define MAX_DEPTH 32

/* ---- shared helpers ---- */

typedef struct {
    const char *name;
    bool found;
    bool value;
} flag_probe;

static bool
probe_flag(void *cls, const char *key, const char *value)
{
    flag_probe *p = cls;
    if (strcmp(key, p->name) != 0)
        return true;
    p->found = true;
    p->value = strcmp(value ? value : "", "0") != 0;
    return false;
}

bool
asg_query_flag(ms_request *req, const char *name)
{
    flag_probe p = {.name = name};
    ms_req_query_each(req, probe_flag, &p);
    return p.found && p.value;
}

static bool
query_present(ms_request *req, const char *name)
{
    flag_probe p = {.name = name};
    ms_req_query_each(req, probe_flag, &p);
    return p.found;
}

int
asg_name(const json_t *obj, const char *key, ms_response *resp, const char **out)
{
    json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (!v)
        return -ENOENT;
    if (!json_is_string(v)) {
        ms_resp_error(resp, 400, "Invalid input for field '%s': not of type 'string'",
                      key);
        return -EINVAL;
    }
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (n == 0) {
        ms_resp_error(resp, 400, "Invalid input for field '%s': '' is too short", key);
        return -EINVAL;
    }
    if (n > 255) {
        ms_resp_error(resp, 400, "Invalid input for field '%s': is too long", key);
        return -EINVAL;
    }
    bool blank = true;
    for (const char *p = s; *p && blank; p++)
        blank = isspace((unsigned char)*p);
    if (blank) {
        ms_resp_error(resp, 400,
                      "Invalid input for field '%s': '%s' does not match "
                      "'[\\\\S]+'",
                      key, s);
        return -EINVAL;
    }
    *out = s;
    return 0;
}

/* Binary search of a result ordered by its first column (ids compare the
 * same under utf8mb4_bin and strcmp). Row index or -1. */
static long
find_row(const ms_result *r, const char *id)
{
    if (!r || !id)
        return -1;
    size_t lo = 0, hi = r->nrows;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(ms_cell(r, mid, 0), id);
        if (c == 0)
            return (long)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

/* ---- grants ---- */

typedef struct {
    const char *user_id, *group_id, *project_id, *domain_id;
    bool system, inherited;
    const char *type, *actor_id, *target_id;
    identity_principal project; /* project targets */
} grant_target;

static void
grant_parse(ms_request *req, grant_target *g)
{
    memset(g, 0, sizeof(*g));
    g->user_id = ms_req_param(req, "user_id");
    g->group_id = ms_req_param(req, "group_id");
    g->project_id = ms_req_param(req, "project_id");
    g->domain_id = ms_req_param(req, "domain_id");
    g->system = !g->project_id && !g->domain_id;
    size_t n = strlen(req->path);
    static const char suffix[] = "/inherited_to_projects";
    g->inherited = n >= sizeof(suffix) - 1 &&
                   strcmp(req->path + n - (sizeof(suffix) - 1), suffix) == 0;
    g->actor_id = g->user_id ? g->user_id : g->group_id;
    g->target_id = g->project_id  ? g->project_id
                   : g->domain_id ? g->domain_id
                                  : ASG_SYSTEM_TARGET;
    if (g->project_id)
        g->type = g->user_id ? ASG_USER_PROJECT : ASG_GROUP_PROJECT;
    else if (g->domain_id)
        g->type = g->user_id ? ASG_USER_DOMAIN : ASG_GROUP_DOMAIN;
    else
        g->type = g->user_id ? ASG_USER_SYSTEM : ASG_GROUP_SYSTEM;
}

/* Check the actor (unless allow_missing) and the target exist, in
 * Keystone's order. 0, -ENOENT after the 404, or <0. */
static int
grant_check_refs(ms_response *resp, grant_target *g, bool allow_missing)
{
    int rc;
    if (!allow_missing) {
        if (g->user_id) {
            identity_principal u;
            rc = identity_user_lookup(g->user_id, NULL, NULL, NULL, &u);
            memset(u.password_hash, 0, sizeof(u.password_hash));
            if (rc == -ENOENT)
                identity_not_found(resp, "user", g->user_id);
        } else {
            ms_result *r = NULL;
            rc = asg_db_group_get(g->group_id, &r);
            if (rc == 0 && !r->nrows) {
                rc = -ENOENT;
                identity_not_found(resp, "group", g->group_id);
            }
            ms_result_free(r);
        }
        if (rc < 0)
            return rc;
    }
    if (g->domain_id) {
        identity_principal d;
        rc = identity_domain_lookup(g->domain_id, NULL, &d);
        if (rc == -ENOENT)
            identity_not_found(resp, "domain", g->domain_id);
        return rc;
    }
    if (g->project_id) {
        rc = identity_project_lookup(g->project_id, NULL, NULL, NULL, &g->project);
        if (rc == -ENOENT)
            identity_not_found(resp, "project", g->project_id);
        return rc;
    }
    return 0;
}

/* Revoke what an assignment fed: the user's tokens on that project or
 * domain (any scope for system assignments), or every member's for a group. */
static int
grant_revoke(const grant_target *g)
{
    const char *project = g->project_id && !g->inherited ? g->project_id : NULL;
    const char *domain = g->domain_id;
    if (g->user_id) {
        identity_revoke(g->user_id, project, domain, NULL);
        return 0;
    }
    ms_result *m = NULL;
    int rc = asg_db_group_member_ids(g->group_id, &m);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < m->nrows; i++)
        identity_revoke(ms_cell(m, i, 0), project, domain, NULL);
    ms_result_free(m);
    return 0;
}

/* GET /v3/{projects|domains}/{id}/{users|groups}/{id}/roles, /v3/system/users/{id}/roles
 */
int
identity_grant_list(ms_request *req, ms_response *resp)
{
    grant_target g;
    grant_parse(req, &g);
    int rc = grant_check_refs(resp, &g, false);
    if (rc < 0)
        return rc == -ENOENT ? 0 : rc;
    ms_result *r = NULL;
    if ((rc = asg_db_grant_roles(g.type, g.actor_id, g.target_id, g.inherited, &r)) < 0)
        return rc;
    return identity_list_reply(req, resp, "roles", r, asg_role_json);
}

/* HEAD/GET/PUT/DELETE .../roles/{role_id} */
int
identity_grant(ms_request *req, ms_response *resp)
{
    grant_target g;
    grant_parse(req, &g);
    const char *role_id = ms_req_param(req, "role_id");
    ms_result *role = NULL;
    int rc = asg_role_fetch(resp, role_id, &role);
    if (rc < 0)
        return rc == -ENOENT ? 0 : rc;
    if ((rc = grant_check_refs(resp, &g, req->method == MS_DELETE)) < 0)
        goto done;
    const char *role_domain = ms_cell(role, 0, 2);
    if (req->method == MS_PUT) {
        if (g.system && !ms_str_empty(role_domain)) {
            ms_resp_error(resp, 400,
                          "Role %s is a domain-specific role. Unable to use a "
                          "domain-specific role in a system assignment.",
                          role_id);
            goto done;
        }
        if (g.project_id && !ms_str_empty(role_domain) &&
            strcmp(g.project.domain_id, role_domain) != 0) {
            ms_resp_error(resp, 403,
                          "Project %s must be in the same domain as the role %s "
                          "being assigned.",
                          g.project_id, role_id);
            goto done;
        }
        if ((rc = asg_db_grant_insert(g.type, g.actor_id, g.target_id, role_id,
                                      g.inherited)) < 0)
            goto done;
        /* Cached validations of the actor's tokens lack the new role. */
        identity_token_cache_flush();
        ms_resp_empty(resp, 204);
        goto done;
    }
    if (req->method == MS_DELETE) {
        rc = asg_db_grant_delete(g.type, g.actor_id, g.target_id, role_id, g.inherited);
        if (rc == 0) {
            rc = grant_revoke(&g);
            identity_token_cache_flush();
            if (rc == 0)
                ms_resp_empty(resp, 204);
            goto done;
        }
    } else {
        rc = asg_db_grant_check(g.type, g.actor_id, g.target_id, role_id, g.inherited);
        if (rc == 1) {
            rc = 0;
            ms_resp_empty(resp, 204);
            goto done;
        }
        if (rc == 0)
            rc = -ENOENT;
    }
    if (rc == -ENOENT)
        ms_resp_error(resp, 404,
                      "Could not find role assignment with role: %s, user or group: "
                      "%s, project, domain, or system: %s.",
                      role_id, g.actor_id, g.target_id);
done:
    ms_result_free(role);
    return rc == -ENOENT ? 0 : rc;
}

/* ---- the role assignment listing ---- */

typedef struct {
    const char *user_id, *group_id;
    const char *project_id, *domain_id;
    bool system, inherited;
    const char *role_id;
    /* Where an effective assignment came from (Keystone's "indirect"). */
    const char *ind_group, *ind_project, *ind_domain, *ind_role;
} asg_ref;

typedef struct {
    char *id;
    ms_result *r;
} cache_ent;

typedef struct {
    ms_request *req;
    bool effective, names;
    const char *role_filter;
    const char *only_domain; /* a domain reader sees its domain only */
    ms_result *roles, *implied, *projects, *domains;
    cache_ent *members, *users, *groups;
    size_t nmembers, nusers, ngroups;
    json_t *seen; /* dedupe set */
    json_t *list;
} asg_ctx;

static void
ctx_free(asg_ctx *c)
{
    ms_result_free(c->roles);
    ms_result_free(c->implied);
    ms_result_free(c->projects);
    ms_result_free(c->domains);
    cache_ent *caches[] = {c->members, c->users, c->groups};
    size_t counts[] = {c->nmembers, c->nusers, c->ngroups};
    for (size_t k = 0; k < 3; k++) {
        for (size_t i = 0; i < counts[k]; i++) {
            free(caches[k][i].id);
            ms_result_free(caches[k][i].r);
        }
        free(caches[k]);
    }
    json_decref(c->seen);
    json_decref(c->list);
}

static int
need_projects(asg_ctx *c)
{
    return c->projects ? 0 : asg_db_projects(&c->projects);
}

static int
need_domains(asg_ctx *c)
{
    return c->domains ? 0 : asg_db_domains(&c->domains);
}

/* A cached per-id query result. */
static int
cached(cache_ent **ents, size_t *n, const char *id,
       int (*load)(const char *, ms_result **), ms_result **out)
{
    for (size_t i = 0; i < *n; i++) {
        if (strcmp((*ents)[i].id, id) == 0) {
            *out = (*ents)[i].r;
            return 0;
        }
    }
    ms_result *r = NULL;
    int rc = load(id, &r);
    if (rc < 0)
        return rc;
    *ents = ms_realloc(*ents, (*n + 1) * sizeof(cache_ent));
    (*ents)[*n] = (cache_ent){ms_strdup(id), r};
    (*n)++;
    *out = r;
    return 0;
}

static const char *
project_parent(const asg_ctx *c, const char *id)
{
    long i = find_row(c->projects, id);
    return i < 0 ? NULL : ms_cell(c->projects, (size_t)i, 3);
}

static const char *
project_domain(const asg_ctx *c, const char *id)
{
    long i = find_row(c->projects, id);
    return i < 0 ? NULL : ms_cell(c->projects, (size_t)i, 2);
}

/* True when anc is a strict ancestor of id. */
static bool
is_ancestor(const asg_ctx *c, const char *anc, const char *id)
{
    const char *p = project_parent(c, id);
    for (int d = 0; p && d < MAX_DEPTH; d++) {
        if (strcmp(p, anc) == 0)
            return true;
        p = project_parent(c, p);
    }
    return false;
}

static const char *
domain_name(asg_ctx *c, const char *id)
{
    if (need_domains(c) < 0)
        return "";
    long i = find_row(c->domains, id);
    return i < 0 ? "" : ms_cell(c->domains, (size_t)i, 1);
}

static json_t *
named(const char *id, const char *name)
{
    return json_pack("{s:s,s:s}", "id", id, "name", name ? name : "");
}

/* {"id", "name", "domain": {"id", "name"}} of a user or group. */
static int
actor_json(asg_ctx *c, const char *id, bool group, json_t **out)
{
    ms_result *r = NULL;
    int rc = group ? cached(&c->groups, &c->ngroups, id, asg_db_group_get, &r)
                   : cached(&c->users, &c->nusers, id, asg_db_user_brief, &r);
    if (rc < 0)
        return rc;
    if (!c->names) {
        *out = json_pack("{s:s}", "id", id);
        return 0;
    }
    const char *name = r->nrows ? ms_cell(r, 0, 1) : "";
    const char *dom = r->nrows ? ms_cell(r, 0, 2) : "";
    *out = json_pack("{s:s,s:s,s:o}", "id", id, "name", name, "domain",
                     named(dom, r->nrows ? domain_name(c, dom) : ""));
    return 0;
}

static void
ref_key(const asg_ref *a, ms_buf *b)
{
    const char *f[] = {a->user_id,     a->group_id,   a->project_id,
                       a->domain_id,   a->role_id,    a->ind_group,
                       a->ind_project, a->ind_domain, a->ind_role};
    for (size_t i = 0; i < MS_ARRAY_LEN(f); i++) {
        ms_buf_adds(b, f[i] ? f[i] : "-");
        ms_buf_adds(b, "|");
    }
    ms_buf_adds(b, a->system ? "s" : "");
    ms_buf_adds(b, a->inherited ? "i" : "");
}

/* Render one assignment as Keystone's _format_entity does. */
static int
ref_out(asg_ctx *c, const asg_ref *a)
{
    long ri = find_row(c->roles, a->role_id);
    if (c->effective) {
        /* Domain-specific roles only imply others; they are not effective. */
        if (ri >= 0 && !ms_str_empty(ms_cell(c->roles, (size_t)ri, 2)))
            return 0;
        if (c->role_filter && strcmp(c->role_filter, a->role_id) != 0)
            return 0;
    }
    if (c->only_domain) {
        if (a->system)
            return 0;
        const char *d = a->domain_id ? a->domain_id : project_domain(c, a->project_id);
        if (!d || strcmp(d, c->only_domain) != 0)
            return 0;
    }
    ms_buf key = {0};
    ref_key(a, &key);
    bool dup = json_object_get(c->seen, ms_buf_cstr(&key)) != NULL;
    if (!dup)
        json_object_set_new(c->seen, ms_buf_cstr(&key), json_true());
    ms_buf_free(&key);
    if (dup)
        return 0;

    const char *base = ms_req_base_url(c->req);
    ms_buf link = {0};
    json_t *e = json_object(), *links = json_object(), *scope = json_object();
    int rc = 0;
    if (a->project_id) {
        json_t *p;
        if (c->names) {
            long pi = find_row(c->projects, a->project_id);
            const char *pd = pi >= 0 ? ms_cell(c->projects, (size_t)pi, 2) : "";
            p = json_pack("{s:s,s:s,s:o}", "id", a->project_id, "name",
                          pi >= 0 ? ms_cell(c->projects, (size_t)pi, 1) : "", "domain",
                          named(pd, domain_name(c, pd)));
        } else {
            p = json_pack("{s:s}", "id", a->project_id);
        }
        json_object_set_new(scope, "project", p);
        if (a->ind_domain)
            ms_buf_addf(&link, "/domains/%s", a->ind_domain);
        else if (a->ind_project)
            ms_buf_addf(&link, "/projects/%s", a->ind_project);
        else
            ms_buf_addf(&link, "/projects/%s", a->project_id);
    } else if (a->domain_id) {
        json_object_set_new(scope, "domain",
                            c->names ? named(a->domain_id, domain_name(c, a->domain_id))
                                     : json_pack("{s:s}", "id", a->domain_id));
        ms_buf_addf(&link, "/domains/%s", a->domain_id);
    } else {
        json_object_set_new(scope, "system", json_pack("{s:b}", "all", 1));
        ms_buf_adds(&link, "/system");
    }
    json_t *actor = NULL;
    if (a->user_id) {
        if ((rc = actor_json(c, a->user_id, false, &actor)) < 0)
            goto fail;
        json_object_set_new(e, "user", actor);
        if (a->ind_group) {
            char *m =
                ms_asprintf("%s/v3/groups/%s/users/%s", base, a->ind_group, a->user_id);
            json_object_set_new(links, "membership", json_string(m));
            free(m);
            ms_buf_addf(&link, "/groups/%s", a->ind_group);
        } else {
            ms_buf_addf(&link, "/users/%s", a->user_id);
        }
    } else {
        if ((rc = actor_json(c, a->group_id, true, &actor)) < 0)
            goto fail;
        json_object_set_new(e, "group", actor);
        ms_buf_addf(&link, "/groups/%s", a->group_id);
    }
    json_t *role = json_pack("{s:s}", "id", a->role_id);
    if (c->names) {
        json_object_set_new(role, "name",
                            json_string(ri >= 0 ? ms_cell(c->roles, (size_t)ri, 1) : ""));
        const char *rd = ri >= 0 ? ms_cell(c->roles, (size_t)ri, 2) : NULL;
        if (!ms_str_empty(rd))
            json_object_set_new(role, "domain", named(rd, domain_name(c, rd)));
    }
    json_object_set_new(e, "role", role);
    char *prior = NULL;
    if (a->ind_role) {
        ms_buf_addf(&link, "/roles/%s", a->ind_role);
        /* Keystone names the implied role first in this link; kept as is. */
        prior =
            ms_asprintf("%s/v3/prior_role/%s/implies/%s", base, a->role_id, a->ind_role);
    } else {
        ms_buf_addf(&link, "/roles/%s", a->role_id);
    }
    char *url;
    if (a->inherited || a->ind_domain || a->ind_project) {
        json_object_set_new(scope, "OS-INHERIT:inherited_to", json_string("projects"));
        url = ms_asprintf("%s/v3/OS-INHERIT%s/inherited_to_projects", base,
                          ms_buf_cstr(&link));
    } else {
        url = ms_asprintf("%s/v3%s", base, ms_buf_cstr(&link));
    }
    json_object_set_new(links, "assignment", json_string(url));
    free(url);
    if (prior) {
        json_object_set_new(links, "prior_role", json_string(prior));
        free(prior);
    }
    json_object_set_new(e, "scope", scope);
    json_object_set_new(e, "links", links);
    json_array_append_new(c->list, e);
    ms_buf_free(&link);
    return 0;
fail:
    json_decref(e);
    json_decref(links);
    json_decref(scope);
    ms_buf_free(&link);
    return rc;
}

/* Emit an effective assignment and, transitively, the assignments its role
 * implies (each naming the role that implied it). */
static int
emit_implied(asg_ctx *c, const asg_ref *base)
{
    int rc = ref_out(c, base);
    if (rc < 0 || !c->implied || !c->implied->nrows)
        return rc;
    /* Work list of (role, prior) pairs; a pair is visited once, so cycles end. */
    size_t cap = 16, n = 0, head = 0;
    const char **work = ms_malloc(cap * 2 * sizeof(char *));
    work[n * 2] = base->role_id;
    work[n * 2 + 1] = NULL;
    n++;
    while (head < n && rc == 0) {
        const char *role = work[head * 2];
        head++;
        for (size_t i = 0; i < c->implied->nrows && rc == 0; i++) {
            if (strcmp(ms_cell(c->implied, i, 0), role) != 0)
                continue;
            const char *impl = ms_cell(c->implied, i, 1);
            bool seen = false;
            for (size_t k = 0; k < n && !seen; k++)
                seen = strcmp(work[k * 2], impl) == 0 && ms_streq(work[k * 2 + 1], role);
            if (seen || n >= 4096)
                continue;
            if (n == cap) {
                cap *= 2;
                work = ms_realloc(work, cap * 2 * sizeof(char *));
            }
            work[n * 2] = impl;
            work[n * 2 + 1] = role;
            n++;
            asg_ref a = *base;
            a.role_id = impl;
            a.ind_role = role;
            rc = ref_out(c, &a);
        }
    }
    free(work);
    return rc;
}

/* Expand a group assignment to its members (or to the one user asked about). */
static int
emit_actor(asg_ctx *c, asg_ref *a, bool group, const char *actor, const char *user_filter)
{
    if (!group) {
        a->user_id = actor;
        return emit_implied(c, a);
    }
    a->ind_group = actor;
    if (user_filter) {
        a->user_id = user_filter;
        return emit_implied(c, a);
    }
    ms_result *m = NULL;
    int rc = cached(&c->members, &c->nmembers, actor, asg_db_group_member_ids, &m);
    for (size_t i = 0; rc == 0 && i < m->nrows; i++) {
        a->user_id = ms_cell(m, i, 0);
        rc = emit_implied(c, a);
    }
    return rc;
}

typedef struct {
    const char *user_id, *project_id, *domain_id;
    bool subtree;
    int inherited; /* -1 any */
} eff_filter;

/* Projects an inherited assignment on (domain or project) target reaches,
 * within the filter: calls emit_actor for each. */
static int
emit_inherited(asg_ctx *c, const eff_filter *f, asg_ref *a, bool group, const char *actor,
               bool from_domain, const char *target)
{
    int rc = 0;
    for (size_t i = 0; i < c->projects->nrows && rc == 0; i++) {
        const char *pid = ms_cell(c->projects, i, 0);
        bool reach = from_domain ? strcmp(ms_cell(c->projects, i, 2), target) == 0
                                 : is_ancestor(c, target, pid);
        if (!reach)
            continue;
        if (f->project_id && strcmp(pid, f->project_id) != 0 &&
            !(f->subtree && is_ancestor(c, f->project_id, pid)))
            continue;
        asg_ref r = *a;
        r.project_id = pid;
        rc = emit_actor(c, &r, group, actor, f->user_id);
    }
    return rc;
}

static int
list_effective(asg_ctx *c, const eff_filter *f)
{
    ms_result *r = NULL;
    int rc = asg_db_effective_candidates(f->user_id, &r);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < r->nrows && rc == 0; i++) {
        const char *type = ms_cell(r, i, 0), *actor = ms_cell(r, i, 1);
        const char *target = ms_cell(r, i, 2);
        bool inherited = ms_cell_bool(r, i, 4);
        bool group = type[0] == 'G';
        bool on_domain = strstr(type, "Domain") != NULL;
        if (f->inherited >= 0 && inherited != (f->inherited == 1))
            continue;
        asg_ref a = {.role_id = ms_cell(r, i, 3)};
        if (!inherited) {
            if (f->domain_id && !(on_domain && strcmp(target, f->domain_id) == 0))
                continue;
            if (f->project_id &&
                !(!on_domain && (strcmp(target, f->project_id) == 0 ||
                                 (f->subtree && is_ancestor(c, f->project_id, target)))))
                continue;
            if (on_domain)
                a.domain_id = target;
            else
                a.project_id = target;
            rc = emit_actor(c, &a, group, actor, f->user_id);
            continue;
        }
        if (f->domain_id)
            continue; /* domains inherit nothing */
        if (on_domain)
            a.ind_domain = target;
        else
            a.ind_project = target;
        rc = emit_inherited(c, f, &a, group, actor, on_domain, target);
    }
    ms_result_free(r);
    return rc;
}

/* Comma-separated ids of the project and, with subtree, its descendants. */
static char *
project_set(asg_ctx *c, const char *project_id, bool subtree)
{
    ms_buf b = {0};
    ms_buf_adds(&b, project_id);
    for (size_t i = 0; subtree && i < c->projects->nrows; i++) {
        const char *pid = ms_cell(c->projects, i, 0);
        if (is_ancestor(c, project_id, pid)) {
            ms_buf_adds(&b, ",");
            ms_buf_adds(&b, pid);
        }
    }
    ms_buf_cstr(&b);
    return ms_buf_steal(&b);
}

static int
list_direct(asg_ctx *c, asg_filter *f)
{
    ms_result *r = NULL;
    int rc = asg_db_assignments(f, &r);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < r->nrows && rc == 0; i++) {
        const char *type = ms_cell(r, i, 0), *actor = ms_cell(r, i, 1);
        const char *target = ms_cell(r, i, 2);
        asg_ref a = {.role_id = ms_cell(r, i, 3)};
        if (type[0] == 'G')
            a.group_id = actor;
        else
            a.user_id = actor;
        if (strstr(type, "System"))
            a.system = true;
        else if (strstr(type, "Domain"))
            a.domain_id = target;
        else
            a.project_id = target;
        a.inherited = !a.system && ms_cell_bool(r, i, 4);
        rc = ref_out(c, &a);
    }
    ms_result_free(r);
    return rc;
}

static const char *
nonempty_query(ms_request *req, const char *key)
{
    const char *v = ms_req_query(req, key);
    return ms_str_empty(v) ? NULL : v;
}

/* GET /v3/role_assignments */
int
identity_role_assignments(ms_request *req, ms_response *resp)
{
    const ms_auth_ctx *au = &req->auth;
    bool reader = ms_auth_has_role(au, "reader") || ms_auth_has_role(au, "member");
    const char *only_domain = NULL;
    if (!au->is_admin && !(au->system_scope && reader)) {
        if (au->domain_id[0] && reader) {
            only_domain = au->domain_id;
        } else {
            ms_resp_error(resp, 403,
                          "You are not authorized to perform the requested action: "
                          "identity:list_role_assignments.");
            return 0;
        }
    }
    const char *user = nonempty_query(req, "user.id"),
               *group = nonempty_query(req, "group.id");
    const char *role = nonempty_query(req, "role.id");
    const char *project = nonempty_query(req, "scope.project.id");
    const char *domain = nonempty_query(req, "scope.domain.id");
    const char *system = nonempty_query(req, "scope.system");
    bool subtree = asg_query_flag(req, "include_subtree");
    bool effective = asg_query_flag(req, "effective");
    int inherited = -1;
    if (query_present(req, "scope.OS-INHERIT:inherited_to")) {
        const char *v = ms_req_query(req, "scope.OS-INHERIT:inherited_to");
        inherited = ms_streq(v, "projects") ? 1 : 0;
    }
    const char *bad = NULL;
    if (subtree && !project)
        bad = "scope.project.id must be specified if include_subtree is also specified";
    else if (domain && project)
        bad = "Specify a domain or project, not both";
    else if (domain && system)
        bad = "Specify system or domain, not both";
    else if (project && system)
        bad = "Specify system or project, not both";
    else if (user && group)
        bad = "Specify a user or group, not both";
    else if (effective && group)
        bad = "Combining effective and group filter will always result in an empty list.";
    else if (effective && inherited == 1 && domain)
        bad =
            "Combining effective, domain and inherited filters will always result in an "
            "empty list.";
    if (bad) {
        ms_resp_error(resp, 400, "%s", bad);
        return 0;
    }
    /* Keystone treats any scope.system other than "all" as absent. */
    bool system_all = ms_streq(system, "all");

    asg_ctx c = {.req = req,
                 .effective = effective,
                 .names = asg_query_flag(req, "include_names"),
                 .role_filter = role,
                 .only_domain = only_domain,
                 .seen = json_object(),
                 .list = json_array()};
    char *projects = NULL;
    int rc = asg_db_role_all(&c.roles);
    if (rc == 0 && effective)
        rc = asg_db_implied_all(&c.implied);
    if (rc == 0 && (effective || subtree || c.names || only_domain))
        rc = need_projects(&c);
    if (rc < 0)
        goto done;
    if ((effective || subtree) && project && find_row(c.projects, project) < 0) {
        identity_not_found(resp, "project", project);
        goto done;
    }
    if (effective) {
        eff_filter f = {.user_id = user,
                        .project_id = project,
                        .domain_id = domain,
                        .subtree = subtree,
                        .inherited = domain ? 0 : inherited};
        rc = list_effective(&c, &f);
    } else {
        if (project)
            projects = project_set(&c, project, subtree);
        asg_filter f = {.role_id = role,
                        .user_id = user,
                        .group_id = group,
                        .domain_id = domain,
                        .projects = projects,
                        .inherited = inherited,
                        .system_only = system_all};
        rc = list_direct(&c, &f);
    }
    if (rc == 0) {
        ms_resp_json(resp, 200,
                     json_pack("{s:O,s:o}", "role_assignments", c.list, "links",
                               identity_collection_links(req)));
    }
done:
    free(projects);
    ctx_free(&c);
    return rc;
}

/* ---- effective roles for tokens ---- */

int
identity_effective_roles(const char *user_id, const char *project_id,
                         const char *domain_id, bool system, identity_ref *roles, int max)
{
    ms_result *r = NULL;
    int rc;
    if (!ms_str_empty(project_id))
        rc = asg_db_effective_project(user_id, project_id, &r);
    else if (!ms_str_empty(domain_id))
        rc = asg_db_effective_domain(user_id, domain_id, &r);
    else if (system)
        rc = asg_db_effective_system(user_id, &r);
    else
        return 0;
    if (rc < 0)
        return rc;
    int n = 0;
    for (size_t i = 0; i < r->nrows && n < max; i++, n++) {
        snprintf(roles[n].id, sizeof(roles[n].id), "%s", ms_cell(r, i, 0));
        snprintf(roles[n].name, sizeof(roles[n].name), "%s", ms_cell(r, i, 1));
    }
    ms_result_free(r);
    return n;
}

int
identity_expand_implied(identity_ref *roles, int n, int max)
{
    if (n <= 0)
        return n < 0 ? -EINVAL : 0;
    ms_buf csv = {0};
    for (int i = 0; i < n; i++) {
        if (strchr(roles[i].id, ','))
            continue;
        if (csv.len)
            ms_buf_adds(&csv, ",");
        ms_buf_adds(&csv, roles[i].id);
    }
    ms_result *r = NULL;
    int rc = csv.len ? asg_db_implied_closure(ms_buf_cstr(&csv), &r) : 0;
    ms_buf_free(&csv);
    if (rc < 0)
        return rc;
    for (size_t i = 0; r && i < r->nrows && n < max; i++) {
        bool have = false;
        for (int k = 0; k < n && !have; k++)
            have = strcmp(roles[k].id, ms_cell(r, i, 0)) == 0;
        if (have)
            continue;
        snprintf(roles[n].id, sizeof(roles[n].id), "%s", ms_cell(r, i, 0));
        snprintf(roles[n].name, sizeof(roles[n].name), "%s", ms_cell(r, i, 1));
        n++;
    }
    ms_result_free(r);
    return n;
}

int
identity_user_project_refs(const char *user_id, identity_principal **refs)
{
    *refs = NULL;
    ms_result *r = NULL;
    int rc = asg_db_user_projects(user_id, &r);
    if (rc < 0)
        return rc;
    identity_principal *p = ms_calloc(r->nrows ? r->nrows : 1, sizeof(*p));
    for (size_t i = 0; i < r->nrows; i++) {
        snprintf(p[i].id, sizeof(p[i].id), "%s", ms_cell(r, i, 0));
        snprintf(p[i].name, sizeof(p[i].name), "%s", ms_cell(r, i, 1));
        snprintf(p[i].domain_id, sizeof(p[i].domain_id), "%s", ms_cell(r, i, 2));
        p[i].enabled = ms_cell_bool(r, i, 3);
    }
    int n = (int)r->nrows;
    ms_result_free(r);
    *refs = p;
    return n;
}

int
identity_user_domain_refs(const char *user_id, identity_principal **refs)
{
    *refs = NULL;
    ms_result *r = NULL;
    int rc = asg_db_user_domains(user_id, &r);
    if (rc < 0)
        return rc;
    identity_principal *p = ms_calloc(r->nrows ? r->nrows : 1, sizeof(*p));
    for (size_t i = 0; i < r->nrows; i++) {
        snprintf(p[i].id, sizeof(p[i].id), "%s", ms_cell(r, i, 0));
        snprintf(p[i].name, sizeof(p[i].name), "%s", ms_cell(r, i, 1));
        snprintf(p[i].domain_id, sizeof(p[i].domain_id), "%s", ms_cell(r, i, 0));
        snprintf(p[i].domain_name, sizeof(p[i].domain_name), "%s", ms_cell(r, i, 1));
        p[i].enabled = ms_cell_bool(r, i, 2);
    }
    int n = (int)r->nrows;
    ms_result_free(r);
    *refs = p;
    return n;
}

int
identity_ensure_grant(const char *type, const char *actor_id, const char *target_id,
                      const char *role_id)
{
    static const char *const types[] = {ASG_USER_PROJECT, ASG_GROUP_PROJECT,
                                        ASG_USER_DOMAIN,  ASG_GROUP_DOMAIN,
                                        ASG_USER_SYSTEM,  ASG_GROUP_SYSTEM};
    bool known = false;
    for (size_t i = 0; i < MS_ARRAY_LEN(types) && !known; i++)
        known = ms_streq(type, types[i]);
    if (!known || ms_str_empty(actor_id) || ms_str_empty(target_id) ||
        ms_str_empty(role_id))
        return -EINVAL;
    int rc = asg_db_grant_insert(type, actor_id, target_id, role_id, false);
    if (rc == 0)
        identity_token_cache_flush();
    return rc;
}
