/* The token side of identity, shared by its files only (fernet.c,
 * token_format.c, tokens.c, tokens_db.c, revoke.c, catalog*.c, app_creds*.c,
 * v2.c, bootstrap.c): Fernet crypto, the token payload, the validated-token
 * record and cache, revocation and catalog helpers. */
#ifndef IDENTITY_TOKENS_INTERNAL_H
#define IDENTITY_TOKENS_INTERNAL_H

#include "identity.h"

#include <jansson.h>

/* ---- Fernet (fernet.c) ---- */
#define FERNET_KEY_LEN 32          /* 16 signing + 16 encryption bytes */
#define FERNET_MAX_KEYS 16
#define FERNET_MAX_ACTIVE_KEYS 3   /* like keystone's [fernet_tokens] max_active_keys */

/* Encode msg as a Fernet token with one key, timestamp and IV (NULL: random).
 * Returns the base64url token without padding (caller frees). */
char *fernet_encode(const uint8_t key[FERNET_KEY_LEN], int64_t ts, const uint8_t *iv,
                    const uint8_t *msg, size_t len);
/* Decode and authenticate a token (with or without '=' padding) against
 * any of keys. On success *msg (caller frees), *len and *ts are set.
 * Returns 0 or -EACCES (malformed, forged or not ours). */
int fernet_decode(const uint8_t (*keys)[FERNET_KEY_LEN], int nkeys, const char *token,
                  uint8_t **msg, size_t *len, int64_t *ts);
/* Parse a key file's text (urlsafe base64 of 32 bytes). 0 or -EINVAL. */
int fernet_parse_key(const char *text, uint8_t key[FERNET_KEY_LEN]);

/* The key repository of this process, <state_path>/fernet-keys. Load
 * (re)reads it; encrypt uses the primary key; decrypt tries every key and,
 * when none fits and the directory changed since it was read, reloads
 * once (a rotation by `monostack-manage fernet rotate`). */
int identity_fernet_load(char **err);
char *identity_fernet_encrypt(const uint8_t *msg, size_t len);   /* NULL: no keys */
int identity_fernet_decrypt(const char *token, uint8_t **msg, size_t *len, int64_t *ts);
/* Directory of the key repository (caller frees). */
char *identity_fernet_dir(void);

/* ---- The token payload (token_format.c) ---- */
enum {
    TOKEN_M_PASSWORD = 1 << 0,
    TOKEN_M_TOKEN = 1 << 1,
    TOKEN_M_APP_CRED = 1 << 2,
};
typedef enum {
    TOKEN_UNSCOPED = 0,
    TOKEN_PROJECT = 1,
    TOKEN_DOMAIN = 2,
    TOKEN_SYSTEM = 3,
} token_scope;

#define TOKEN_AUDIT_LEN 16      /* raw bytes; shown as 22 chars of base64url */
#define TOKEN_MAX_AUDIT 2       /* own id, then the chain's first */

typedef struct {
    unsigned methods;           /* TOKEN_M_* bits */
    token_scope scope;
    char user_id[MS_ID_LEN];
    char scope_id[MS_ID_LEN];   /* project or domain id; "" otherwise */
    char app_cred_id[MS_ID_LEN];
    int64_t issued_us;          /* epoch microseconds */
    int64_t expires;            /* epoch seconds */
    int naudit;
    uint8_t audit[TOKEN_MAX_AUDIT][TOKEN_AUDIT_LEN];
} identity_token;

/* Serialise / parse the payload. pack returns the length written into
 * out (at most TOKEN_PAYLOAD_MAX). unpack returns 0 or -EINVAL. */
#define TOKEN_PAYLOAD_MAX 256
size_t token_pack(const identity_token *t, uint8_t out[TOKEN_PAYLOAD_MAX]);
int token_unpack(const uint8_t *buf, size_t len, identity_token *t);
/* An audit id as Keystone shows it (22 chars of base64url). */
void token_audit_str(const uint8_t raw[TOKEN_AUDIT_LEN], char out[24]);
/* Methods as a JSON array of names ("password", "token", "application_credential"). */
json_t *token_methods_json(unsigned methods);

/* ---- Base64 helpers (fernet.c) ---- */
/* urlsafe base64; pad selects '=' padding. Returns a new string. */
char *identity_b64url(const uint8_t *data, size_t len, bool pad);
/* Decode urlsafe or standard base64, padding optional. Returns the length,
 * or -1 when malformed or longer than max. */
long identity_b64_decode(const char *s, uint8_t *out, size_t max);

/* ---- Validated tokens (tokens.c) ---- */
typedef struct {
    identity_token tok;
    identity_principal user;        /* password_hash is cleared */
    identity_principal project;     /* project scope */
    identity_principal domain;      /* domain scope */
    int nroles;
    identity_ref roles[IDENTITY_MAX_ROLES];
    char app_cred_name[MS_NAME_LEN];
    bool app_cred_restricted;
} identity_token_info;

/* Decrypt, check expiry (allow_expired: Keystone's 48 h window),
 * revocation and the current state of user, scope and roles. Returns 0,
 * -EACCES (not a token of ours: malformed, forged, unknown key), -ESTALE
 * (expired or revoked), -EPERM (user, scope or roles no longer valid), or
 * -EAGAIN. Uses and fills the validation cache. */
int identity_token_check(const char *token, bool allow_expired, identity_token_info *out);
/* Issue: give t a new audit id (in front of any chain already in it) and
 * its issue time, resolve it (-EPERM when the scope has no roles or a
 * principal is disabled) and encrypt it into *token_out (caller frees). */
int identity_token_mint(identity_token *t, identity_token_info *info, char **token_out);
/* The v3 token body {"token": {...}}. */
json_t *identity_token_body(const identity_token_info *info, bool catalog);
/* The same as compact JSON text (caller frees; length in *len), for a token
 * identity_token_check() has just accepted: rendered once per validation
 * cache entry and catalog generation, then copied, since services validate
 * the same token over and over. */
char *identity_token_body_text(const char *token, const identity_token_info *info,
                               bool catalog, size_t *len);
/* WWW-Authenticate value for a 401 (static buffer per thread). */
const char *identity_www_authenticate(void);
/* Answer 401 with Keystone's message (or msg) and WWW-Authenticate. */
void identity_unauthorized(ms_response *resp, const char *msg);

/* ---- Authentication methods (auth.c), shared with v2.c ---- */
/* Keystone's 400 "Expecting to find <attribute> in <target>. ..." */
void identity_validation_error(ms_response *resp, const char *attribute, const char *target);
/* Apply the v3 "password" method ({"user": {...,"password"}}) or "token"
 * method ({"id"}) payload to t. 0; -EINVAL with the 400 already in resp;
 * -EACCES (answer 401); -EAGAIN. */
int identity_auth_password(json_t *payload, ms_response *resp, identity_token *t);
int identity_auth_token(json_t *payload, ms_response *resp, identity_token *t);

/* Wall-clock epoch microseconds. */
int64_t identity_now_us(void);
/* Resolve a payload against the current state (user and scope enabled,
 * effective roles, application credential): 0, -EPERM or -EAGAIN. */
int identity_token_resolve(const identity_token *t, identity_token_info *info);

/* ---- Revocation (revoke.c, tokens_db.c) ---- */
/* Drop every cached validation (an application credential was deleted). */
void identity_token_cache_flush(void);
/* Current generation of revocation events in this process. */
uint64_t identity_revoke_generation(void);
/* True (1) when an event covers the token, 0 when not, -EAGAIN. */
int identity_revoked(const identity_token_info *info);
int identity_db_revoke_insert(const char *user_id, const char *project_id,
                              const char *domain_id, const char *audit_id,
                              int64_t issued_before_us, int64_t expires_us);
int identity_db_revoke_match(const char *issued_at, const char *user_id,
                             const char *project_id, const char *domain_a,
                             const char *domain_b, const char *audit_id,
                             const char *chain_id);
int identity_db_revoke_prune(const char *before);

/* ---- Catalog (catalog.c, catalog_db.c) ---- */
/* The v3 catalog for a project (NULL: endpoints needing a project id are
 * left out). New reference. NULL with -EAGAIN in *rc on database trouble. */
json_t *identity_catalog_v3(const char *user_id, const char *project_id, int *rc);
/* Bump when the catalog changes so cached renderings are dropped. */
void identity_catalog_changed(void);
/* The current catalog generation (renderings made under another are stale). */
unsigned identity_catalog_generation(void);
/* Idempotent helpers for bootstrap. */
int identity_ensure_region(const char *id);
int identity_ensure_service(const char *type, const char *name, char id_out[MS_ID_LEN]);
int identity_ensure_endpoint(const char *service_id, const char *interface,
                             const char *region, const char *url);

/* ---- Application credentials (app_creds.c, app_creds_db.c) ---- */
typedef struct {
    char id[MS_ID_LEN];
    char name[MS_NAME_LEN];
    char user_id[MS_ID_LEN];
    char project_id[MS_ID_LEN];
    char secret_hash[IDENTITY_HASH_LEN];
    int64_t expires_at;              /* epoch us; 0 = never */
    bool unrestricted;
    int nroles;
    identity_ref roles[IDENTITY_MAX_ROLES];
} identity_app_cred;
/* By id, or by name for a user. 0, -ENOENT, -EAGAIN. */
int identity_app_cred_lookup(const char *id, const char *name, const char *user_id,
                             identity_app_cred *out);
/* app_creds_db.c */
int app_cred_db_insert(const identity_app_cred *ac, const char *description);
/* Rows: id, name, user_id, project_id, description, expires_at, unrestricted,
 * secret_hash. name may be NULL (no filter). */
int app_cred_db_list(const char *user_id, const char *name, ms_result **r);
int app_cred_db_get(const char *id, const char *name, const char *user_id, ms_result **r);
/* Rows: role id, name, domain_id ('' for global roles). */
int app_cred_db_roles(const char *id, ms_result **r);
int app_cred_db_delete(const char *user_id, const char *id);

/* JSON helper: {"id","name"} reference objects. */
json_t *identity_ref_json(const char *id, const char *name);

#endif
