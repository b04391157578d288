/* Tokens: resolving a payload against the current state, the validation
 * cache, the in-process validator every listener uses, and the v3 token
 * body. The HTTP handlers for /v3/auth/... are in auth.c.
 *
 * Validation cost: a cache hit is a hash, a string compare and a copy under
 * one of 64 stripe locks; a miss decrypts, reads the revocation events and
 * resolves user, scope and roles (a few indexed reads, never a write).
 * Entries live at most TOKEN_CACHE_TTL_S seconds and die at once when this
 * process records a revocation event (generation counter), so a change made
 * by another process or host is seen within that TTL. An entry also keeps
 * the token body GET /v3/auth/tokens renders for it (with and without the
 * catalog, the former tagged with the catalog generation): rendering and
 * serialising the catalog was half the cost of a validation. */
#include "tokens_internal.h"

#include <monostack/config.h>

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define TOKEN_CACHE_TTL_S 30
#define TOKEN_CACHE_STRIPES 64
#define TOKEN_CACHE_WAYS 16
/* Keystone's [token] allow_expired_window default. */
#define ALLOW_EXPIRED_WINDOW_S (48 * 3600)

int64_t
identity_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ---- resolution ---- */

/* Roles of an application credential that its user still holds, plus what
 * they imply. */
static int
app_cred_roles(const identity_app_cred *ac, identity_token_info *info)
{
    identity_ref held[IDENTITY_MAX_ROLES];
    int nheld = identity_effective_roles(ac->user_id, ac->project_id, NULL, false, held,
                                         IDENTITY_MAX_ROLES);
    if (nheld < 0)
        return nheld;
    int n = 0;
    for (int i = 0; i < ac->nroles; i++) {
        for (int j = 0; j < nheld; j++) {
            if (strcmp(ac->roles[i].id, held[j].id) == 0) {
                info->roles[n++] = held[j];
                break;
            }
        }
    }
    n = identity_expand_implied(info->roles, n, IDENTITY_MAX_ROLES);
    return n;
}

static int
lookup_rc(int rc)
{
    return rc == -EAGAIN ? -EAGAIN : -EPERM;
}

int
identity_token_resolve(const identity_token *t, identity_token_info *info)
{
    memset(info, 0, sizeof(*info));
    info->tok = *t;
    int rc = identity_user_lookup(t->user_id, NULL, NULL, NULL, &info->user);
    OPENSSL_cleanse(info->user.password_hash, sizeof(info->user.password_hash));
    if (rc < 0)
        return lookup_rc(rc);
    if (!info->user.enabled)
        return -EPERM;
    int n = 0;
    switch (t->scope) {
    case TOKEN_UNSCOPED:
        return 0;
    case TOKEN_PROJECT:
        rc = identity_project_lookup(t->scope_id, NULL, NULL, NULL, &info->project);
        if (rc < 0)
            return lookup_rc(rc);
        if (!info->project.enabled)
            return -EPERM;
        break;
    case TOKEN_DOMAIN:
        rc = identity_domain_lookup(t->scope_id, NULL, &info->domain);
        if (rc < 0)
            return lookup_rc(rc);
        if (!info->domain.enabled)
            return -EPERM;
        break;
    case TOKEN_SYSTEM:
        break;
    }
    if (t->app_cred_id[0]) {
        identity_app_cred ac;
        rc = identity_app_cred_lookup(t->app_cred_id, NULL, NULL, &ac);
        if (rc < 0)
            return lookup_rc(rc);
        if (strcmp(ac.user_id, t->user_id) != 0 || t->scope != TOKEN_PROJECT ||
            strcmp(ac.project_id, t->scope_id) != 0 ||
            (ac.expires_at && ac.expires_at <= identity_now_us()))
            return -EPERM;
        snprintf(info->app_cred_name, sizeof(info->app_cred_name), "%s", ac.name);
        info->app_cred_restricted = !ac.unrestricted;
        n = app_cred_roles(&ac, info);
    } else {
        n = identity_effective_roles(t->user_id,
                                     t->scope == TOKEN_PROJECT ? t->scope_id : NULL,
                                     t->scope == TOKEN_DOMAIN ? t->scope_id : NULL,
                                     t->scope == TOKEN_SYSTEM, info->roles,
                                     IDENTITY_MAX_ROLES);
    }
    if (n < 0)
        return n == -EAGAIN ? -EAGAIN : -EPERM;
    if (n == 0)
        return -EPERM;   /* Keystone: "User %s has no access to project %s" */
    info->nroles = n;
    return 0;
}

/* ---- the validation cache ---- */

typedef struct {
    uint64_t hash;
    char *token;
    uint64_t gen;
    uint64_t stored_us;         /* monotonic */
    identity_token_info *info;
    char *body[2];              /* rendered body without / with the catalog */
    size_t body_len[2];
    unsigned body_cat_gen;      /* catalog generation of body[1] */
} cache_slot;

typedef struct {
    pthread_mutex_t lock;
    unsigned next;
    cache_slot slots[TOKEN_CACHE_WAYS];
} cache_stripe;

static cache_stripe cache[TOKEN_CACHE_STRIPES];
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;

static void
cache_init(void)
{
    for (int i = 0; i < TOKEN_CACHE_STRIPES; i++)
        pthread_mutex_init(&cache[i].lock, NULL);
}

static uint64_t
fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 1099511628211ULL;
    return h;
}

static bool
slot_fresh(const cache_slot *s, uint64_t gen, uint64_t now_us, int64_t now_s)
{
    return s->info && s->gen == gen && now_us - s->stored_us < TOKEN_CACHE_TTL_S * 1000000ULL &&
           s->info->tok.expires > now_s;
}

static void
slot_drop_bodies(cache_slot *s)
{
    for (int k = 0; k < 2; k++) {
        free(s->body[k]);
        s->body[k] = NULL;
        s->body_len[k] = 0;
    }
}

/* The slot holding token, or NULL; stripe lock held. */
static cache_slot *
stripe_find(cache_stripe *st, uint64_t h, const char *token)
{
    for (int i = 0; i < TOKEN_CACHE_WAYS; i++) {
        cache_slot *s = &st->slots[i];
        if (s->hash == h && s->token && strcmp(s->token, token) == 0)
            return s;
    }
    return NULL;
}

static bool
cache_get(const char *token, uint64_t h, identity_token_info *out)
{
    cache_stripe *st = &cache[h % TOKEN_CACHE_STRIPES];
    uint64_t gen = identity_revoke_generation(), now = ms_now_us();
    int64_t now_s = ms_time();
    bool hit = false;
    pthread_mutex_lock(&st->lock);
    for (int i = 0; i < TOKEN_CACHE_WAYS; i++) {
        cache_slot *s = &st->slots[i];
        if (s->hash == h && s->token && strcmp(s->token, token) == 0) {
            if (slot_fresh(s, gen, now, now_s)) {
                *out = *s->info;
                hit = true;
            }
            break;
        }
    }
    pthread_mutex_unlock(&st->lock);
    return hit;
}

static void
cache_put(const char *token, uint64_t h, uint64_t gen, const identity_token_info *info)
{
    cache_stripe *st = &cache[h % TOKEN_CACHE_STRIPES];
    uint64_t now = ms_now_us();
    int64_t now_s = ms_time();
    pthread_mutex_lock(&st->lock);
    cache_slot *victim = NULL;
    for (int i = 0; i < TOKEN_CACHE_WAYS && !victim; i++) {
        cache_slot *s = &st->slots[i];
        if (s->hash == h && s->token && strcmp(s->token, token) == 0)
            victim = s;
    }
    for (int i = 0; i < TOKEN_CACHE_WAYS && !victim; i++) {
        if (!slot_fresh(&st->slots[i], identity_revoke_generation(), now, now_s))
            victim = &st->slots[i];
    }
    if (!victim)
        victim = &st->slots[st->next++ % TOKEN_CACHE_WAYS];
    if (!victim->info)
        victim->info = ms_malloc(sizeof(*victim->info));
    if (!victim->token || strcmp(victim->token, token) != 0) {
        free(victim->token);
        victim->token = ms_strdup(token);
    }
    slot_drop_bodies(victim);
    victim->hash = h;
    victim->gen = gen;
    victim->stored_us = now;
    *victim->info = *info;
    pthread_mutex_unlock(&st->lock);
}

static void
cache_clear(void)
{
    for (int i = 0; i < TOKEN_CACHE_STRIPES; i++) {
        pthread_mutex_lock(&cache[i].lock);
        for (int j = 0; j < TOKEN_CACHE_WAYS; j++) {
            cache_slot *s = &cache[i].slots[j];
            free(s->token);
            free(s->info);
            slot_drop_bodies(s);
            memset(s, 0, sizeof(*s));
        }
        pthread_mutex_unlock(&cache[i].lock);
    }
}

/* ---- validation ---- */

static int
decode_token(const char *token, identity_token *t)
{
    uint8_t *msg = NULL;
    size_t len = 0;
    int64_t ts = 0;
    if (identity_fernet_decrypt(token, &msg, &len, &ts) < 0)
        return -EACCES;
    int rc = token_unpack(msg, len, t);
    OPENSSL_cleanse(msg, len);
    free(msg);
    /* The Fernet timestamp and the payload's issue time must agree. */
    if (rc < 0 || t->issued_us / 1000000 > ts + 1 || ts > t->issued_us / 1000000 + 1)
        return -EACCES;
    return 0;
}

int
identity_token_check(const char *token, bool allow_expired, identity_token_info *out)
{
    pthread_once(&cache_once, cache_init);
    if (ms_str_empty(token))
        return -EACCES;
    uint64_t h = fnv1a(token);
    if (!allow_expired && cache_get(token, h, out))
        return 0;
    /* Read the generation before resolving: a revocation racing with us
     * makes the entry we store stale instead of wrongly fresh. */
    uint64_t gen = identity_revoke_generation();
    identity_token t;
    if (decode_token(token, &t) < 0)
        return -EACCES;
    int64_t now = ms_time();
    if (t.expires <= now && (!allow_expired || t.expires + ALLOW_EXPIRED_WINDOW_S <= now))
        return -ESTALE;
    int rc = identity_token_resolve(&t, out);
    if (rc < 0)
        return rc;
    rc = identity_revoked(out);
    if (rc < 0)
        return rc;
    if (rc > 0)
        return -ESTALE;
    if (t.expires > now)
        cache_put(token, h, gen, out);
    return 0;
}

int
identity_token_mint(identity_token *t, identity_token_info *info, char **token_out)
{
    /* New audit id first; keep the chain's root (Keystone's parent audit id). */
    if (t->naudit > 0) {
        memcpy(t->audit[1], t->audit[t->naudit - 1], TOKEN_AUDIT_LEN);
        t->naudit = 2;
    } else {
        t->naudit = 1;
    }
    if (RAND_bytes(t->audit[0], TOKEN_AUDIT_LEN) != 1)
        return -EIO;
    t->issued_us = identity_now_us();
    int rc = identity_token_resolve(t, info);
    if (rc < 0)
        return rc;
    uint8_t payload[TOKEN_PAYLOAD_MAX];
    size_t len = token_pack(t, payload);
    *token_out = identity_fernet_encrypt(payload, len);
    OPENSSL_cleanse(payload, len);
    if (!*token_out) {
        ms_error("cannot issue a token: no fernet keys (run `monostack-manage fernet setup`)");
        return -EIO;
    }
    return 0;
}

static void
fill_ctx(const identity_token_info *info, ms_auth_ctx *ctx)
{
    memset(ctx, 0, sizeof(*ctx));
    ctx->authenticated = true;
    snprintf(ctx->user_id, sizeof(ctx->user_id), "%s", info->user.id);
    snprintf(ctx->user_name, sizeof(ctx->user_name), "%s", info->user.name);
    snprintf(ctx->user_domain_id, sizeof(ctx->user_domain_id), "%s", info->user.domain_id);
    if (info->tok.scope == TOKEN_PROJECT) {
        snprintf(ctx->project_id, sizeof(ctx->project_id), "%s", info->project.id);
        snprintf(ctx->project_name, sizeof(ctx->project_name), "%s", info->project.name);
        snprintf(ctx->project_domain_id, sizeof(ctx->project_domain_id), "%s",
                 info->project.domain_id);
    } else if (info->tok.scope == TOKEN_DOMAIN) {
        snprintf(ctx->domain_id, sizeof(ctx->domain_id), "%s", info->domain.id);
    }
    ctx->system_scope = info->tok.scope == TOKEN_SYSTEM;
    for (int i = 0; i < info->nroles && ctx->nroles < MS_MAX_ROLES; i++) {
        snprintf(ctx->roles[ctx->nroles++], MS_NAME_LEN, "%s", info->roles[i].name);
        if (strcmp(info->roles[i].name, "admin") == 0)
            ctx->is_admin = true;
    }
    token_audit_str(info->tok.audit[0], ctx->audit_id);
    ctx->expires_at = info->tok.expires;
}

/* The validator registered with the HTTP core. */
static int
validate_cb(const char *token, ms_auth_ctx *ctx)
{
    identity_token_info info;
    int rc = identity_token_check(token, false, &info);
    if (rc == -EAGAIN)
        return -EAGAIN;
    if (rc < 0)
        return -EACCES;
    fill_ctx(&info, ctx);
    return 0;
}

/* ---- the token body ---- */

static json_t *
domain_ref(const char *id, const char *name)
{
    return identity_ref_json(id, name);
}

json_t *
identity_token_body(const identity_token_info *info, bool with_catalog)
{
    const identity_token *t = &info->tok;
    char when[32];
    json_t *tok = json_object();
    json_object_set_new(tok, "methods", token_methods_json(t->methods));

    json_t *user = json_object();
    json_object_set_new(user, "domain",
                        domain_ref(info->user.domain_id, info->user.domain_name));
    json_object_set_new(user, "id", json_string(info->user.id));
    json_object_set_new(user, "name", json_string(info->user.name));
    if (info->user.password_expires_at) {
        ms_time_iso(info->user.password_expires_at, true, when);
        when[26] = '\0';    /* Keystone shows this one without the "Z" */
        json_object_set_new(user, "password_expires_at", json_string(when));
    } else {
        json_object_set_new(user, "password_expires_at", json_null());
    }
    json_object_set_new(tok, "user", user);

    json_t *audit = json_array();
    for (int i = 0; i < t->naudit; i++) {
        char a[24];
        token_audit_str(t->audit[i], a);
        json_array_append_new(audit, json_string(a));
    }
    json_object_set_new(tok, "audit_ids", audit);
    ms_time_iso(t->expires * 1000000, true, when);
    json_object_set_new(tok, "expires_at", json_string(when));
    ms_time_iso(t->issued_us, true, when);
    json_object_set_new(tok, "issued_at", json_string(when));

    if (t->scope == TOKEN_PROJECT) {
        json_t *p = json_object();
        json_object_set_new(p, "domain",
                            domain_ref(info->project.domain_id, info->project.domain_name));
        json_object_set_new(p, "id", json_string(info->project.id));
        json_object_set_new(p, "name", json_string(info->project.name));
        json_object_set_new(tok, "project", p);
        json_object_set_new(tok, "is_domain", json_false());
    } else if (t->scope == TOKEN_DOMAIN) {
        json_object_set_new(tok, "domain", domain_ref(info->domain.id, info->domain.name));
    } else if (t->scope == TOKEN_SYSTEM) {
        json_object_set_new(tok, "system", json_pack("{s:b}", "all", 1));
    }
    if (t->scope != TOKEN_UNSCOPED) {
        json_t *roles = json_array();
        for (int i = 0; i < info->nroles; i++)
            json_array_append_new(roles,
                                  identity_ref_json(info->roles[i].id, info->roles[i].name));
        json_object_set_new(tok, "roles", roles);
        if (with_catalog) {
            int rc = 0;
            json_t *cat = identity_catalog_v3(
                info->user.id, t->scope == TOKEN_PROJECT ? info->project.id : NULL, &rc);
            json_object_set_new(tok, "catalog", cat ? cat : json_array());
        }
    }
    if (t->app_cred_id[0]) {
        json_t *ac = json_object();
        json_object_set_new(ac, "id", json_string(t->app_cred_id));
        json_object_set_new(ac, "name", json_string(info->app_cred_name));
        json_object_set_new(ac, "restricted", json_boolean(info->app_cred_restricted));
        json_object_set_new(tok, "application_credential", ac);
    }
    return json_pack("{s:o}", "token", tok);
}

char *
identity_token_body_text(const char *token, const identity_token_info *info, bool catalog,
                         size_t *len)
{
    pthread_once(&cache_once, cache_init);
    uint64_t h = fnv1a(token);
    cache_stripe *st = &cache[h % TOKEN_CACHE_STRIPES];
    int k = catalog ? 1 : 0;
    unsigned cgen = identity_catalog_generation();
    uint64_t gen = identity_revoke_generation(), now = ms_now_us();
    int64_t now_s = ms_time();
    char *text = NULL;
    pthread_mutex_lock(&st->lock);
    cache_slot *s = stripe_find(st, h, token);
    if (s && s->body[k] && (!catalog || s->body_cat_gen == cgen) &&
        slot_fresh(s, gen, now, now_s) && memcmp(s->info, info, sizeof(*info)) == 0) {
        text = ms_malloc(s->body_len[k] + 1);
        memcpy(text, s->body[k], s->body_len[k] + 1);
        *len = s->body_len[k];
    }
    pthread_mutex_unlock(&st->lock);
    if (text)
        return text;

    json_t *body = identity_token_body(info, catalog);
    /* A catalog that could not be read renders as []: do not keep that. */
    bool keep = !catalog ||
                json_array_size(json_object_get(json_object_get(body, "token"), "catalog")) > 0;
    text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (!text)
        abort();   /* jansson fails only on allocation failure */
    *len = strlen(text);
    if (!keep)
        return text;
    pthread_mutex_lock(&st->lock);
    s = stripe_find(st, h, token);
    /* Only next to the very validation it was rendered from. */
    if (s && slot_fresh(s, gen, now, now_s) && memcmp(s->info, info, sizeof(*info)) == 0) {
        free(s->body[k]);
        s->body[k] = ms_malloc(*len + 1);
        memcpy(s->body[k], text, *len + 1);
        s->body_len[k] = *len;
        if (catalog)
            s->body_cat_gen = cgen;
    }
    pthread_mutex_unlock(&st->lock);
    return text;
}

/* ---- errors ---- */

static char www_auth[320];

const char *
identity_www_authenticate(void)
{
    return www_auth;
}

void
identity_unauthorized(ms_response *resp, const char *msg)
{
    ms_resp_error(resp, 401, "%s",
                  msg ? msg : "The request you have made requires authentication.");
    ms_resp_header(resp, "WWW-Authenticate", www_auth);
}

/* ---- module start/stop ---- */

int
identity_tokens_init(void)
{
    pthread_once(&cache_once, cache_init);
    const ms_service_conf *sc = ms_config_service("identity");
    snprintf(www_auth, sizeof(www_auth), "Keystone uri=\"http://%s:%d\"",
             ms_conf.public_url_host ? ms_conf.public_url_host : "localhost",
             sc ? sc->port : 5000);
    char *err = NULL;
    /* A fresh state directory gets its keys here, as keystone's
     * fernet_setup would; an existing repository is left as it is. */
    if (identity_fernet_setup(&err) < 0 || identity_fernet_load(&err) < 0) {
        ms_error("cannot load the fernet keys: %s", err ? err : "unknown error");
        free(err);
        return -EIO;
    }
    ms_auth_set_validator(validate_cb);
    return 0;
}

void
identity_tokens_fini(void)
{
    ms_auth_set_validator(NULL);
    cache_clear();
}
