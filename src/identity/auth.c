/* The /v3/auth API: issue (POST), validate (GET/HEAD), revoke (DELETE)
 * tokens, and the catalog, projects, domains and system a token may scope
 * to. Authentication failures answer Keystone's one 401 message with its
 * WWW-Authenticate header; details go to the debug log only (never the
 * password or the token). */
#include "tokens_internal.h"

#include <monostack/config.h>
#include <monostack/json.h>

#include <errno.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

void
identity_validation_error(ms_response *resp, const char *attribute, const char *target)
{
    ms_resp_error(resp, 400,
                  "Expecting to find %s in %s. The server could not comply with the request "
                  "since it is either malformed or otherwise incorrect. The client is "
                  "assumed to be in error.",
                  attribute, target);
}

static void
schema_error(ms_response *resp, const char *detail)
{
    ms_resp_error(resp, 400, "Invalid input for field '%s'. The server could not comply "
                             "with the request since it is either malformed or otherwise "
                             "incorrect. The client is assumed to be in error.", detail);
}

/* A password check against a throwaway hash when the user does not exist,
 * so timing does not tell which user names exist. */
static char dummy_hash[IDENTITY_HASH_LEN];
static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;

static void
dummy_init(void)
{
    if (identity_password_hash("monostack-dummy-password", dummy_hash) < 0)
        dummy_hash[0] = '\0';
}

/* Outcome of one step of authentication. */
typedef enum { AUTH_OK, AUTH_REPLIED, AUTH_FAIL_RC } auth_step;

/* ---- lookups by the reference shapes the API accepts ---- */

/* {"id": ...} or {"name": ...}; 0, -ENOENT (-> 401), -EINVAL (400 sent), -EAGAIN. */
static int
lookup_domain_ref(json_t *ref, ms_response *resp, const char *target,
                  identity_principal *out)
{
    if (!json_is_object(ref)) {
        schema_error(resp, target);
        return -EINVAL;
    }
    const char *id = ms_json_strval(ref, "id"), *name = ms_json_strval(ref, "name");
    if (!id && !name) {
        identity_validation_error(resp, "id or name", target);
        return -EINVAL;
    }
    int rc = identity_domain_lookup(name ? NULL : id, name, out);
    if (rc == 0 && !out->enabled)
        rc = -ENOENT;
    return rc;
}

static int
lookup_user_ref(json_t *user, ms_response *resp, identity_principal *out)
{
    if (!json_is_object(user)) {
        schema_error(resp, "user");
        return -EINVAL;
    }
    const char *id = ms_json_strval(user, "id"), *name = ms_json_strval(user, "name");
    if (id)
        return identity_user_lookup(id, NULL, NULL, NULL, out);
    if (!name) {
        identity_validation_error(resp, "id or name", "user");
        return -EINVAL;
    }
    json_t *dom = json_object_get(user, "domain");
    if (!dom) {
        identity_validation_error(resp, "domain", "user");
        return -EINVAL;
    }
    identity_principal d;
    int rc = lookup_domain_ref(dom, resp, "domain", &d);
    if (rc < 0)
        return rc;
    return identity_user_lookup(NULL, name, d.id, NULL, out);
}

/* ---- methods ---- */

/* The password method (also used by v2.0's passwordCredentials). */
int
identity_auth_password(json_t *payload, ms_response *resp, identity_token *t)
{
    json_t *user = json_object_get(payload, "user");
    if (!user) {
        identity_validation_error(resp, "user", "password");
        return -EINVAL;
    }
    const char *password = ms_json_strval(user, "password");
    if (!password) {
        identity_validation_error(resp, "password", "user");
        return -EINVAL;
    }
    identity_principal u;
    int rc = lookup_user_ref(user, resp, &u);
    if (rc == -EINVAL || rc == -EAGAIN)
        return rc;
    bool ok;
    if (rc < 0 || !u.password_hash[0]) {
        pthread_once(&dummy_once, dummy_init);
        identity_password_verify(password, dummy_hash);
        ok = false;
    } else {
        ok = identity_password_verify(password, u.password_hash);
    }
    OPENSSL_cleanse(u.password_hash, sizeof(u.password_hash));
    if (!ok) {
        ms_info("authentication failed method=password reason=\"invalid username or "
                "password\"");
        return -EACCES;
    }
    if (!u.enabled) {
        ms_info("authentication failed method=password user=%s reason=disabled", u.id);
        return -EACCES;
    }
    if (u.password_expires_at && u.password_expires_at <= identity_now_us()) {
        ms_info("authentication failed method=password user=%s reason=\"password expired\"",
                u.id);
        return -EACCES;
    }
    if (t->user_id[0] && strcmp(t->user_id, u.id) != 0)
        return -EACCES;
    snprintf(t->user_id, sizeof(t->user_id), "%s", u.id);
    t->methods |= TOKEN_M_PASSWORD;
    return 0;
}

/* The token method (also used by v2.0's token rescoping). */
int
identity_auth_token(json_t *payload, ms_response *resp, identity_token *t)
{
    const char *id = ms_json_strval(payload, "id");
    if (!id) {
        identity_validation_error(resp, "id", "token");
        return -EINVAL;
    }
    identity_token_info old;
    int rc = identity_token_check(id, false, &old);
    if (rc == -EAGAIN)
        return rc;
    if (rc < 0)
        return -EACCES;
    if (t->user_id[0] && strcmp(t->user_id, old.tok.user_id) != 0)
        return -EACCES;
    snprintf(t->user_id, sizeof(t->user_id), "%s", old.tok.user_id);
    t->methods |= old.tok.methods | TOKEN_M_TOKEN;
    /* A rescoped token ends when the one it came from does and carries its
     * audit chain. */
    t->expires = old.tok.expires;
    t->naudit = old.tok.naudit;
    memcpy(t->audit, old.tok.audit, sizeof(t->audit));
    if (old.tok.app_cred_id[0]) {
        /* An application credential's token keeps its project. */
        snprintf(t->app_cred_id, sizeof(t->app_cred_id), "%s", old.tok.app_cred_id);
        t->scope = old.tok.scope;
        snprintf(t->scope_id, sizeof(t->scope_id), "%s", old.tok.scope_id);
    }
    return 0;
}

static int
method_app_cred(json_t *payload, ms_response *resp, identity_token *t)
{
    const char *id = ms_json_strval(payload, "id"), *name = ms_json_strval(payload, "name");
    const char *secret = ms_json_strval(payload, "secret");
    if (!secret) {
        identity_validation_error(resp, "secret", "application_credential");
        return -EINVAL;
    }
    identity_app_cred ac;
    int rc;
    if (id) {
        rc = identity_app_cred_lookup(id, NULL, NULL, &ac);
    } else if (name) {
        json_t *user = json_object_get(payload, "user");
        if (!user) {
            identity_validation_error(resp, "user", "application credential");
            return -EINVAL;
        }
        identity_principal u;
        rc = lookup_user_ref(user, resp, &u);
        if (rc == 0)
            rc = identity_app_cred_lookup(NULL, name, u.id, &ac);
    } else {
        identity_validation_error(resp, "name or ID", "application credential");
        return -EINVAL;
    }
    if (rc == -EINVAL || rc == -EAGAIN)
        return rc;
    bool ok;
    if (rc < 0) {
        pthread_once(&dummy_once, dummy_init);
        identity_password_verify(secret, dummy_hash);
        ok = false;
    } else {
        ok = identity_password_verify(secret, ac.secret_hash);
    }
    if (!ok)
        return -EACCES;
    if (ac.expires_at && ac.expires_at <= identity_now_us())
        return -EACCES;
    identity_principal u;
    rc = identity_user_lookup(ac.user_id, NULL, NULL, NULL, &u);
    if (rc == -EAGAIN)
        return rc;
    if (rc < 0 || !u.enabled)
        return -EACCES;
    if (t->user_id[0] && strcmp(t->user_id, ac.user_id) != 0)
        return -EACCES;
    snprintf(t->user_id, sizeof(t->user_id), "%s", ac.user_id);
    snprintf(t->app_cred_id, sizeof(t->app_cred_id), "%s", ac.id);
    t->scope = TOKEN_PROJECT;
    snprintf(t->scope_id, sizeof(t->scope_id), "%s", ac.project_id);
    t->methods |= TOKEN_M_APP_CRED;
    int64_t exp = ac.expires_at / 1000000;
    if (ac.expires_at && (!t->expires || exp < t->expires))
        t->expires = exp;
    return 0;
}

/* ---- scope ---- */

static int
apply_scope(json_t *scope, ms_response *resp, identity_token *t)
{
    if (json_is_string(scope) && strcmp(json_string_value(scope), "unscoped") == 0) {
        t->scope = TOKEN_UNSCOPED;
        return 0;
    }
    if (!json_is_object(scope)) {
        schema_error(resp, "scope");
        return -EINVAL;
    }
    json_t *project = json_object_get(scope, "project"), *domain = json_object_get(scope, "domain");
    json_t *system = json_object_get(scope, "system");
    int kinds = !!project + !!domain + !!system + !!json_object_get(scope, "unscoped") +
                !!json_object_get(scope, "OS-TRUST:trust");
    if (kinds != 1) {
        identity_validation_error(resp, "system, project, domain, OS-TRUST:trust or unscoped",
                                  "scope");
        return -EINVAL;
    }
    int rc;
    if (project) {
        if (!json_is_object(project)) {
            schema_error(resp, "project");
            return -EINVAL;
        }
        const char *id = ms_json_strval(project, "id"), *name = ms_json_strval(project, "name");
        identity_principal p;
        if (name) {
            json_t *dom = json_object_get(project, "domain");
            if (!dom) {
                identity_validation_error(resp, "domain", "project");
                return -EINVAL;
            }
            identity_principal d;
            if ((rc = lookup_domain_ref(dom, resp, "domain", &d)) < 0)
                return rc;
            rc = identity_project_lookup(NULL, name, d.id, NULL, &p);
        } else if (id) {
            rc = identity_project_lookup(id, NULL, NULL, NULL, &p);
        } else {
            identity_validation_error(resp, "id or name", "project");
            return -EINVAL;
        }
        if (rc < 0)
            return rc;
        if (!p.enabled)
            return -ENOENT;
        t->scope = TOKEN_PROJECT;
        snprintf(t->scope_id, sizeof(t->scope_id), "%s", p.id);
    } else if (domain) {
        identity_principal d;
        if ((rc = lookup_domain_ref(domain, resp, "domain", &d)) < 0)
            return rc;
        t->scope = TOKEN_DOMAIN;
        snprintf(t->scope_id, sizeof(t->scope_id), "%s", d.id);
    } else if (system) {
        json_t *all = json_object_get(system, "all");
        if (!json_is_true(all)) {
            schema_error(resp, "system");
            return -EINVAL;
        }
        t->scope = TOKEN_SYSTEM;
    } else if (json_object_get(scope, "OS-TRUST:trust")) {
        ms_resp_error(resp, 403, "Trusts are not supported.");
        return -EINVAL;
    } else {
        t->scope = TOKEN_UNSCOPED;
    }
    return 0;
}

/* No scope asked: the user's default project when it is usable, else unscoped. */
static void
default_scope(identity_token *t)
{
    identity_principal u, p;
    if (identity_user_lookup(t->user_id, NULL, NULL, NULL, &u) < 0)
        return;
    OPENSSL_cleanse(u.password_hash, sizeof(u.password_hash));
    if (!u.default_project_id[0] ||
        identity_project_lookup(u.default_project_id, NULL, NULL, NULL, &p) < 0 || !p.enabled)
        return;
    identity_ref roles[IDENTITY_MAX_ROLES];
    if (identity_effective_roles(t->user_id, p.id, NULL, false, roles, IDENTITY_MAX_ROLES) > 0) {
        t->scope = TOKEN_PROJECT;
        snprintf(t->scope_id, sizeof(t->scope_id), "%s", p.id);
    }
}

static int
reply_rc(ms_response *resp, int rc)
{
    if (rc == -EINVAL)
        return 0;            /* the 400/403 is already in resp */
    if (rc == -EAGAIN)
        return -EAGAIN;
    identity_unauthorized(resp, NULL);
    return 0;
}

/* POST /v3/auth/tokens */
/* True when the query string has key, with or without a value
 * (Keystone tests ?nocatalog by presence). */
static bool
query_cb_match(void *cls, const char *key, const char *value)
{
    const char **want = cls;
    (void)value;
    if (strcmp(key, want[0]) == 0) {
        want[1] = "";
        return false;
    }
    return true;
}

static bool
query_has(ms_request *req, const char *key)
{
    const char *want[2] = {key, NULL};
    ms_req_query_each(req, query_cb_match, want);
    return want[1] != NULL;
}

int
identity_token_issue(ms_request *req, ms_response *resp)
{
    json_t *body = ms_req_json(req, resp);
    if (!body)
        return 0;
    json_t *auth = json_object_get(body, "auth");
    if (!json_is_object(auth)) {
        identity_validation_error(resp, "auth", "request body");
        return 0;
    }
    json_t *identity = json_object_get(auth, "identity");
    if (!json_is_object(identity)) {
        schema_error(resp, "identity");
        return 0;
    }
    json_t *methods = json_object_get(identity, "methods");
    if (!json_is_array(methods) || json_array_size(methods) == 0) {
        schema_error(resp, "identity");
        return 0;
    }
    identity_token t = {0};
    size_t i;
    json_t *m;
    bool app_cred = false;
    json_array_foreach(methods, i, m) {
        const char *name = json_string_value(m);
        if (!name) {
            schema_error(resp, "identity");
            return 0;
        }
        if (!json_object_get(identity, name)) {
            identity_validation_error(resp, name, "identity");
            return 0;
        }
    }
    json_array_foreach(methods, i, m) {
        const char *name = json_string_value(m);
        json_t *payload = json_object_get(identity, name);
        int rc;
        if (!json_is_object(payload)) {
            schema_error(resp, name);
            return 0;
        }
        if (strcmp(name, "password") == 0) {
            rc = identity_auth_password(payload, resp, &t);
        } else if (strcmp(name, "token") == 0) {
            rc = identity_auth_token(payload, resp, &t);
        } else if (strcmp(name, "application_credential") == 0) {
            if (json_object_get(auth, "scope")) {
                identity_unauthorized(resp, "Error authenticating with application "
                                            "credential: Application credentials cannot "
                                            "request a scope.");
                return 0;
            }
            rc = method_app_cred(payload, resp, &t);
            app_cred = true;
        } else {
            identity_unauthorized(resp, "Attempted to authenticate with an unsupported "
                                        "method.");
            return 0;
        }
        if (rc < 0)
            return reply_rc(resp, rc);
    }

    json_t *scope = json_object_get(auth, "scope");
    if (!app_cred && !t.app_cred_id[0]) {
        if (scope) {
            int rc = apply_scope(scope, resp, &t);
            if (rc < 0)
                return reply_rc(resp, rc);
        } else if (!(t.methods & TOKEN_M_TOKEN)) {
            default_scope(&t);
        }
    } else if (scope && t.app_cred_id[0] && !app_cred) {
        identity_unauthorized(resp, NULL);
        return 0;
    }
    int64_t exp = ms_time() + (ms_conf.token_expiration > 0 ? ms_conf.token_expiration : 3600);
    if (!t.expires || exp < t.expires)
        t.expires = exp;

    identity_token_info info;
    char *token = NULL;
    int rc = identity_token_mint(&t, &info, &token);
    if (rc == -EAGAIN || rc == -EIO)
        return rc;
    if (rc < 0) {
        ms_info("token refused user=%s reason=\"no roles on the requested scope\"", t.user_id);
        identity_unauthorized(resp, NULL);
        return 0;
    }
    bool catalog = !query_has(req, "nocatalog");
    ms_resp_json(resp, 201, identity_token_body(&info, catalog));
    ms_resp_header(resp, "X-Subject-Token", token);
    OPENSSL_cleanse(token, strlen(token));
    free(token);
    return 0;
}

static bool
query_true(const char *v)
{
    return v && (strcasecmp(v, "true") == 0 || strcmp(v, "1") == 0 ||
                 strcasecmp(v, "yes") == 0 || strcasecmp(v, "on") == 0 ||
                 strcasecmp(v, "y") == 0 || strcasecmp(v, "t") == 0);
}

/* The subject token of GET/HEAD/DELETE. 0, or non-zero with resp set. */
static int
subject_token(ms_request *req, ms_response *resp, bool allow_expired,
              identity_token_info *info, const char **token_out)
{
    const char *token = ms_req_header(req, "X-Subject-Token");
    if (ms_str_empty(token)) {
        ms_resp_error(resp, 404, "No token in the request");
        return -ENOENT;
    }
    int rc = identity_token_check(token, allow_expired, info);
    if (rc == -EAGAIN)
        return rc;
    if (rc == -EACCES) {
        ms_resp_error(resp, 404, "Could not recognize Fernet token");
        return rc;
    }
    if (rc == -ESTALE) {
        ms_resp_error(resp, 404, "Failed to validate token");
        return rc;
    }
    if (rc < 0) {
        ms_resp_error(resp, 404, "Could not find token: %s.", token);
        return rc;
    }
    *token_out = token;
    return 0;
}

/* Keystone's identity:validate_token: admin, a service, or the token's owner. */
static bool
may_see_token(const ms_request *req, const identity_token_info *info)
{
    return req->auth.is_admin || ms_auth_has_role(&req->auth, "service") ||
           strcmp(req->auth.user_id, info->tok.user_id) == 0;
}

/* GET and HEAD /v3/auth/tokens */
int
identity_token_validate(ms_request *req, ms_response *resp)
{
    identity_token_info info;
    const char *token = NULL;
    bool allow_expired = query_true(ms_req_query(req, "allow_expired"));
    int rc = subject_token(req, resp, allow_expired, &info, &token);
    if (rc == -EAGAIN)
        return rc;
    if (rc < 0)
        return 0;
    if (!may_see_token(req, &info)) {
        ms_resp_error(resp, 403, "You are not authorized to perform the requested action: "
                                 "identity:%s.",
                      req->method == MS_HEAD ? "check_token" : "validate_token");
        return 0;
    }
    bool catalog = !query_has(req, "nocatalog");
    if (allow_expired) {
        /* not in the validation cache */
        ms_resp_json(resp, 200, identity_token_body(&info, catalog && req->method != MS_HEAD));
    } else {
        size_t len = 0;
        char *text = identity_token_body_text(token, &info, catalog && req->method != MS_HEAD,
                                              &len);
        ms_resp_text(resp, 200, "application/json", text, len);
    }
    ms_resp_header(resp, "X-Subject-Token", token);
    return 0;
}

/* DELETE /v3/auth/tokens: a revocation event for the token's audit id. */
int
identity_token_revoke(ms_request *req, ms_response *resp)
{
    identity_token_info info;
    const char *token = NULL;
    int rc = subject_token(req, resp, false, &info, &token);
    if (rc == -EAGAIN)
        return rc;
    if (rc < 0)
        return 0;
    if (!may_see_token(req, &info)) {
        ms_resp_error(resp, 403, "You are not authorized to perform the requested action: "
                                 "identity:revoke_token.");
        return 0;
    }
    char audit[24];
    token_audit_str(info.tok.audit[0], audit);
    rc = identity_revoke(NULL, NULL, NULL, audit);
    if (rc < 0)
        return rc;
    ms_resp_empty(resp, 204);
    return 0;
}

static json_t *
self_links(ms_request *req, const char *path, bool paged)
{
    char *url = ms_asprintf("%s%s", ms_req_base_url(req), path);
    json_t *l = paged ? json_pack("{s:s,s:n,s:n}", "self", url, "previous", "next")
                      : json_pack("{s:s}", "self", url);
    free(url);
    return l;
}

/* GET /v3/auth/catalog */
int
identity_auth_catalog(ms_request *req, ms_response *resp)
{
    if (!req->auth.project_id[0]) {
        ms_resp_error(resp, 403, "A project-scoped token is required to produce a service "
                                 "catalog.");
        return 0;
    }
    int rc = 0;
    json_t *cat = identity_catalog_v3(req->auth.user_id, req->auth.project_id, &rc);
    if (!cat)
        return rc ? rc : -EIO;
    ms_resp_json(resp, 200,
                 json_pack("{s:o,s:o}", "catalog", cat, "links",
                           self_links(req, "/v3/auth/catalog", false)));
    return 0;
}

static json_t *
project_json(ms_request *req, const identity_principal *p)
{
    char *self = ms_asprintf("%s/v3/projects/%s", ms_req_base_url(req), p->id);
    json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:b,s:b,s:s,s:[],s:{},s:{s:s}}", "id", p->id,
                          "name", p->name, "domain_id", p->domain_id, "description", "",
                          "enabled", p->enabled, "is_domain", 0, "parent_id", p->domain_id,
                          "tags", "options", "links", "self", self);
    free(self);
    return o;
}

static json_t *
domain_json(ms_request *req, const identity_principal *d)
{
    char *self = ms_asprintf("%s/v3/domains/%s", ms_req_base_url(req), d->id);
    json_t *o = json_pack("{s:s,s:s,s:s,s:b,s:[],s:{},s:{s:s}}", "id", d->id, "name",
                          d->name, "description", "", "enabled", d->enabled, "tags",
                          "options", "links", "self", self);
    free(self);
    return o;
}

/* GET /v3/auth/projects */
int
identity_auth_projects(ms_request *req, ms_response *resp)
{
    identity_principal *refs = NULL;
    int n = identity_user_project_refs(req->auth.user_id, &refs);
    if (n < 0)
        return n;
    json_t *list = json_array();
    for (int i = 0; i < n; i++) {
        if (refs[i].enabled)
            json_array_append_new(list, project_json(req, &refs[i]));
    }
    free(refs);
    ms_resp_json(resp, 200,
                 json_pack("{s:o,s:o}", "projects", list, "links",
                           self_links(req, "/v3/auth/projects", true)));
    return 0;
}

/* GET /v3/auth/domains */
int
identity_auth_domains(ms_request *req, ms_response *resp)
{
    identity_principal *refs = NULL;
    int n = identity_user_domain_refs(req->auth.user_id, &refs);
    if (n < 0)
        return n;
    json_t *list = json_array();
    for (int i = 0; i < n; i++) {
        if (refs[i].enabled)
            json_array_append_new(list, domain_json(req, &refs[i]));
    }
    free(refs);
    ms_resp_json(resp, 200,
                 json_pack("{s:o,s:o}", "domains", list, "links",
                           self_links(req, "/v3/auth/domains", true)));
    return 0;
}

/* GET /v3/auth/system */
int
identity_auth_system(ms_request *req, ms_response *resp)
{
    identity_ref roles[IDENTITY_MAX_ROLES];
    int n = identity_effective_roles(req->auth.user_id, NULL, NULL, true, roles,
                                     IDENTITY_MAX_ROLES);
    if (n < 0)
        return n;
    json_t *sys = json_array();
    if (n > 0)
        json_array_append_new(sys, json_pack("{s:b}", "all", 1));
    ms_resp_json(resp, 200,
                 json_pack("{s:o,s:o}", "system", sys, "links",
                           self_links(req, "/v3/auth/system", false)));
    return 0;
}
