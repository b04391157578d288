/* The request's authentication context and the token-validator interface.
 * The identity module registers the validator; every listener checks tokens
 * in-process through it. */
#ifndef MONOSTACK_AUTH_H
#define MONOSTACK_AUTH_H

#include "common.h"

#define MS_ID_LEN 65
#define MS_NAME_LEN 256
#define MS_MAX_ROLES 16

typedef struct {
    bool authenticated;
    char user_id[MS_ID_LEN];
    char user_name[MS_NAME_LEN];
    char user_domain_id[MS_ID_LEN];
    char project_id[MS_ID_LEN];     /* "" unless project-scoped */
    char project_name[MS_NAME_LEN];
    char project_domain_id[MS_ID_LEN];
    char domain_id[MS_ID_LEN];      /* "" unless domain-scoped */
    bool system_scope;
    int nroles;
    char roles[MS_MAX_ROLES][MS_NAME_LEN];   /* effective, implied roles included */
    bool is_admin;                  /* holds the admin role */
    char audit_id[32];
    int64_t expires_at;             /* epoch seconds */
} ms_auth_ctx;

/* Validate a token string and fill ctx. Returns 0, -EACCES when the token is
 * invalid, expired or revoked, or -EAGAIN when validation cannot be done now
 * (database unreachable). Must be thread-safe and must not write the database. */
typedef int (*ms_token_validator)(const char *token, ms_auth_ctx *ctx);

void ms_auth_set_validator(ms_token_validator fn);
int ms_auth_validate(const char *token, ms_auth_ctx *ctx);   /* -ENOSYS with no validator */
bool ms_auth_has_role(const ms_auth_ctx *ctx, const char *role);

#endif
