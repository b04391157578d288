/* Identity v2.0, the part old clients still use: POST /v2.0/tokens
 * (passwordCredentials or token rescoping, optionally to a tenant) and
 * GET /v2.0/tenants. Keystone removed v2.0 in Queens; the shapes here are
 * those of its last releases (the historical v2.0 api-ref). Authentication
 * goes through the v3 methods of auth.c and identity_token_mint(), so a v2
 * token is an ordinary token: it validates everywhere, is revocable, and
 * v3 sees it as a password or token authentication. As in Keystone, v2.0
 * knows only the default domain: users and tenants elsewhere are refused. */
#include "tokens_internal.h"

#include <monostack/config.h>
#include <monostack/json.h>

#include <errno.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

/* Tenant JSON as v2.0 shows it. The principal record carries no
 * description, so it is always "" (as /v3/auth/projects shows it). */
static json_t *
tenant_json(const identity_principal *p)
{
    return json_pack("{s:s,s:s,s:s,s:b}", "id", p->id, "name", p->name, "description", "",
                     "enabled", p->enabled);
}

/* ---- the catalog ---- */

/* The endpoint entry of a region in a v2 service's endpoint list: one
 * object per region holding publicURL/internalURL/adminURL, its id that of
 * the first endpoint seen, as Keystone's v2 catalog had it. */
static json_t *
region_entry(json_t *eps, const char *region, const char *endpoint_id)
{
    size_t i;
    json_t *e;
    json_array_foreach(eps, i, e) {
        if (ms_streq(ms_json_strval(e, "region"), region))
            return e;
    }
    e = json_object();
    json_object_set_new(e, "id", json_string(endpoint_id ? endpoint_id : ""));
    ms_json_set_str(e, "region", region);
    json_object_set_new(e, "publicURL", json_string(""));
    json_array_append_new(eps, e);
    return e;
}

/* The v3 catalog (borrowed) converted to v2.0's serviceCatalog (new
 * reference). Services without endpoints are left out. */
static json_t *
catalog_v2(const json_t *v3)
{
    json_t *out = json_array();
    size_t i, j;
    json_t *svc, *ep;
    json_array_foreach(v3, i, svc) {
        json_t *eps = json_array();
        json_array_foreach(json_object_get(svc, "endpoints"), j, ep) {
            const char *iface = ms_json_strval(ep, "interface");
            const char *url = ms_json_strval(ep, "url");
            if (!iface || !url)
                continue;
            const char *key = strcmp(iface, "public") == 0     ? "publicURL"
                              : strcmp(iface, "internal") == 0 ? "internalURL"
                              : strcmp(iface, "admin") == 0    ? "adminURL"
                                                               : NULL;
            if (!key)
                continue;
            json_t *e =
                region_entry(eps, ms_json_strval(ep, "region"), ms_json_strval(ep, "id"));
            json_object_set_new(e, key, json_string(url));
        }
        if (json_array_size(eps) == 0) {
            json_decref(eps);
            continue;
        }
        const char *name = ms_json_strval(svc, "name");
        json_array_append_new(out, json_pack("{s:o,s:[],s:s,s:s}", "endpoints", eps,
                                             "endpoints_links", "type",
                                             ms_json_strval(svc, "type"), "name",
                                             name ? name : ""));
    }
    return out;
}

/* ---- the token body ---- */

/* {"access": {...}} for a minted token; NULL with -EAGAIN in *rc when the
 * catalog cannot be read. */
static json_t *
access_body(const identity_token_info *info, const char *token_id, int *rc)
{
    const identity_token *t = &info->tok;
    *rc = 0;
    json_t *catalog;
    if (t->scope == TOKEN_PROJECT) {
        json_t *v3 = identity_catalog_v3(info->user.id, info->project.id, rc);
        if (!v3)
            return NULL;
        catalog = catalog_v2(v3);
        json_decref(v3);
    } else {
        catalog = json_array();
    }

    char issued[32], expires[32];
    ms_time_iso(t->issued_us, true, issued);
    ms_time_iso(t->expires * 1000000, false, expires);
    json_t *audit = json_array();
    for (int i = 0; i < t->naudit; i++) {
        char a[24];
        token_audit_str(t->audit[i], a);
        json_array_append_new(audit, json_string(a));
    }
    json_t *token = json_pack("{s:s,s:s,s:s,s:o}", "id", token_id, "issued_at", issued,
                              "expires", expires, "audit_ids", audit);
    if (t->scope == TOKEN_PROJECT)
        json_object_set_new(token, "tenant", tenant_json(&info->project));

    json_t *role_names = json_array(), *role_ids = json_array();
    for (int i = 0; i < info->nroles; i++) {
        json_array_append_new(role_names,
                              json_pack("{s:s}", "name", info->roles[i].name));
        json_array_append_new(role_ids, json_string(info->roles[i].id));
    }
    json_t *user =
        json_pack("{s:s,s:s,s:s,s:o,s:[]}", "id", info->user.id, "name", info->user.name,
                  "username", info->user.name, "roles", role_names, "roles_links");
    /* Keystone's v2.0 always said is_admin 0; policy decided from roles. */
    json_t *metadata = json_pack("{s:i,s:o}", "is_admin", 0, "roles", role_ids);
    return json_pack("{s:{s:o,s:o,s:o,s:o}}", "access", "token", token, "serviceCatalog",
                     catalog, "user", user, "metadata", metadata);
}

/* ---- POST /v2.0/tokens ---- */

/* Authenticate from auth.passwordCredentials: the user by name in the
 * default domain, or by id. Same results as identity_auth_password(). */
static int
v2_password(json_t *auth, ms_response *resp, identity_token *t)
{
    json_t *pc = json_object_get(auth, "passwordCredentials");
    if (!json_is_object(pc)) {
        identity_validation_error(resp, "passwordCredentials", "auth");
        return -EINVAL;
    }
    const char *password = ms_json_strval(pc, "password");
    if (!password) {
        identity_validation_error(resp, "password", "passwordCredentials");
        return -EINVAL;
    }
    const char *username = ms_json_strval(pc, "username");
    const char *user_id = ms_json_strval(pc, "userId");
    if (!username && !user_id) {
        identity_validation_error(resp, "username or userId", "passwordCredentials");
        return -EINVAL;
    }
    json_t *user = username ? json_pack("{s:s,s:{s:s}}", "name", username, "domain", "id",
                                        IDENTITY_DEFAULT_DOMAIN)
                            : json_pack("{s:s}", "id", user_id);
    /* The password is copied into the payload; wipe it before it is freed. */
    json_object_set_new(user, "password", json_string(password));
    json_t *payload = json_pack("{s:o}", "user", user);
    int rc = identity_auth_password(payload, resp, t);
    json_t *pw = json_object_get(user, "password");
    OPENSSL_cleanse((char *)json_string_value(pw), json_string_length(pw));
    json_decref(payload);
    return rc;
}

/* Authenticate from auth.token.id (rescoping an existing token). */
static int
v2_token(json_t *auth, ms_response *resp, identity_token *t)
{
    json_t *token = json_object_get(auth, "token");
    if (!json_is_object(token) || !ms_json_strval(token, "id")) {
        identity_validation_error(resp, "id", "token");
        return -EINVAL;
    }
    return identity_auth_token(token, resp, t);
}

/* The tenant asked for by tenantName (which wins, as in Keystone) or
 * tenantId. 0 (t scoped, or left unscoped when none is asked), -EINVAL
 * with the 400 in resp, -EACCES, -EAGAIN. */
static int
v2_tenant(json_t *auth, ms_response *resp, identity_token *t)
{
    json_t *jname = json_object_get(auth, "tenantName");
    json_t *jid = json_object_get(auth, "tenantId");
    if ((jname && !json_is_string(jname) && !json_is_null(jname)) ||
        (jid && !json_is_string(jid) && !json_is_null(jid))) {
        identity_validation_error(resp, "tenantName or tenantId", "auth");
        return -EINVAL;
    }
    const char *name = json_string_value(jname), *id = json_string_value(jid);
    if (ms_str_empty(name) && ms_str_empty(id)) {
        /* No tenant: unscoped, unless the token being rescoped belongs to
         * an application credential, which keeps its project. */
        if (!t->app_cred_id[0]) {
            t->scope = TOKEN_UNSCOPED;
            t->scope_id[0] = '\0';
        }
        return 0;
    }
    identity_principal p;
    int rc = !ms_str_empty(name)
                 ? identity_project_lookup(NULL, name, IDENTITY_DEFAULT_DOMAIN, NULL, &p)
                 : identity_project_lookup(id, NULL, NULL, NULL, &p);
    if (rc == -EAGAIN)
        return rc;
    if (rc < 0 || !p.enabled || strcmp(p.domain_id, IDENTITY_DEFAULT_DOMAIN) != 0)
        return -EACCES;
    if (t->app_cred_id[0] && strcmp(t->scope_id, p.id) != 0)
        return -EACCES;
    t->scope = TOKEN_PROJECT;
    snprintf(t->scope_id, sizeof(t->scope_id), "%s", p.id);
    return 0;
}

/* v2.0 serves users of the default domain only. */
static int
v2_default_domain_user(const char *user_id)
{
    identity_principal u;
    int rc = identity_user_lookup(user_id, NULL, NULL, NULL, &u);
    OPENSSL_cleanse(u.password_hash, sizeof(u.password_hash));
    if (rc == -EAGAIN)
        return rc;
    if (rc < 0 || strcmp(u.domain_id, IDENTITY_DEFAULT_DOMAIN) != 0)
        return -EACCES;
    return 0;
}

static int
v2_reply_rc(ms_response *resp, int rc)
{
    if (rc == -EINVAL)
        return 0; /* the 400 is already in resp */
    if (rc == -EAGAIN || rc == -EIO)
        return rc;
    identity_unauthorized(resp, NULL);
    return 0;
}

int
identity_v2_token_issue(ms_request *req, ms_response *resp)
{
    json_t *body = ms_req_json(req, resp);
    if (!body)
        return 0;
    json_t *auth = json_object_get(body, "auth");
    if (!json_is_object(auth)) {
        identity_validation_error(resp, "auth", "request body");
        return 0;
    }
    identity_token t = {0};
    int rc = json_object_get(auth, "token") ? v2_token(auth, resp, &t)
                                            : v2_password(auth, resp, &t);
    if (rc == 0)
        rc = v2_default_domain_user(t.user_id);
    if (rc == 0)
        rc = v2_tenant(auth, resp, &t);
    if (rc < 0)
        return v2_reply_rc(resp, rc);

    int64_t exp =
        ms_time() + (ms_conf.token_expiration > 0 ? ms_conf.token_expiration : 3600);
    if (!t.expires || exp < t.expires)
        t.expires = exp;
    identity_token_info info;
    char *token = NULL;
    rc = identity_token_mint(&t, &info, &token);
    if (rc < 0) {
        if (rc == -EPERM)
            ms_info("token refused user=%s reason=\"no roles on the requested tenant\"",
                    t.user_id);
        return v2_reply_rc(resp, rc);
    }
    json_t *access = access_body(&info, token, &rc);
    OPENSSL_cleanse(token, strlen(token));
    free(token);
    if (!access)
        return rc ? rc : -EIO;
    ms_resp_json(resp, 200, access);
    return 0;
}

/* ---- GET /v2.0/tenants ---- */

int
identity_v2_tenants(ms_request *req, ms_response *resp)
{
    const char *marker = ms_req_query(req, "marker"),
               *limit_s = ms_req_query(req, "limit");
    long limit = -1;
    if (limit_s) {
        char *end = NULL;
        limit = strtol(limit_s, &end, 10);
        if (!*limit_s || *end || limit < 0) {
            ms_resp_error(resp, 400, "Invalid limit value");
            return 0;
        }
    }
    identity_principal *refs = NULL;
    int n = identity_user_project_refs(req->auth.user_id, &refs);
    if (n < 0)
        return n;
    /* Only the default domain's projects exist for v2.0. */
    int m = 0;
    for (int i = 0; i < n; i++) {
        if (strcmp(refs[i].domain_id, IDENTITY_DEFAULT_DOMAIN) == 0)
            refs[m++] = refs[i];
    }
    int first = 0;
    if (marker) {
        first = -1;
        for (int i = 0; i < m && first < 0; i++) {
            if (strcmp(refs[i].id, marker) == 0)
                first = i + 1;
        }
        if (first < 0) {
            free(refs);
            ms_resp_error(resp, 400, "Marker could not be found");
            return 0;
        }
    }
    json_t *list = json_array();
    for (int i = first; i < m && (limit < 0 || i - first < limit); i++)
        json_array_append_new(list, tenant_json(&refs[i]));
    free(refs);
    ms_resp_json(resp, 200, json_pack("{s:o,s:[]}", "tenants", list, "tenants_links"));
    return 0;
}
