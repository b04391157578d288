/* Revocation events, as Keystone keeps them: a row in id_revocations with
 * any of user, project, domain and audit id set (NULL = any) revokes every
 * token issued before issued_before that matches all the set fields.
 * identity_revoke() persists an event and bumps this process's generation,
 * which drops every cached validation at once; other processes see the
 * event when their cache entries age out (tokens.c, 30 s). */
#include "tokens_internal.h"

#include <monostack/config.h>

#include <stdatomic.h>
#include <string.h>
#include <time.h>

/* Keystone keeps events for the token lifetime plus the allow_expired window. */
#define REVOKE_KEEP_EXTRA_S (48 * 3600)

static _Atomic uint64_t revoke_generation = 1;

uint64_t
identity_revoke_generation(void)
{
    return atomic_load_explicit(&revoke_generation, memory_order_acquire);
}

static void
db_time(int64_t us, char out[32])
{
    ms_time_iso(us, true, out);
    out[10] = ' ';          /* "YYYY-MM-DD HH:MM:SS.ffffff" */
    out[26] = '\0';
}

void
identity_token_cache_flush(void)
{
    atomic_fetch_add_explicit(&revoke_generation, 1, memory_order_acq_rel);
}

int
identity_revoke(const char *user_id, const char *project_id, const char *domain_id,
                const char *audit_id)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t now = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
    int64_t keep = (int64_t)(ms_conf.token_expiration > 0 ? ms_conf.token_expiration : 3600) +
                   REVOKE_KEEP_EXTRA_S;
    int rc = identity_db_revoke_insert(ms_str_empty(user_id) ? NULL : user_id,
                                       ms_str_empty(project_id) ? NULL : project_id,
                                       ms_str_empty(domain_id) ? NULL : domain_id,
                                       ms_str_empty(audit_id) ? NULL : audit_id, now,
                                       now + keep * 1000000);
    /* Bump even on failure: a cached entry may be stale either way. */
    atomic_fetch_add_explicit(&revoke_generation, 1, memory_order_acq_rel);
    if (rc == 0) {
        char before[32];
        db_time(now, before);
        identity_db_revoke_prune(before);
    }
    return rc;
}

int
identity_revoked(const identity_token_info *info)
{
    char issued[32], audit[24], chain[24];
    db_time(info->tok.issued_us, issued);
    token_audit_str(info->tok.audit[0], audit);
    if (info->tok.naudit > 1)
        token_audit_str(info->tok.audit[info->tok.naudit - 1], chain);
    else
        strcpy(chain, audit);
    const char *project = info->tok.scope == TOKEN_PROJECT ? info->tok.scope_id : NULL;
    /* A domain event covers tokens of the domain's users, tokens scoped to
     * the domain and tokens scoped to its projects. */
    const char *dom_a = info->user.domain_id;
    const char *dom_b = info->tok.scope == TOKEN_DOMAIN    ? info->tok.scope_id
                        : info->tok.scope == TOKEN_PROJECT ? info->project.domain_id
                                                           : info->user.domain_id;
    return identity_db_revoke_match(issued, info->tok.user_id, project, dom_a, dom_b, audit,
                                    chain);
}
