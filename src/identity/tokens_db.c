/* SQL of the token side: revocation events. */
#include "tokens_internal.h"

#include <string.h>

static void
db_time(int64_t us, char out[32])
{
    ms_time_iso(us, true, out);
    out[10] = ' ';
    out[26] = '\0';
}

int
identity_db_revoke_insert(const char *user_id, const char *project_id,
                          const char *domain_id, const char *audit_id,
                          int64_t issued_before_us, int64_t expires_us)
{
    char before[32], expires[32];
    db_time(issued_before_us, before);
    db_time(expires_us, expires);
    return MS_DB_QUERY(NULL,
                       "INSERT INTO id_revocations (audit_id, user_id, project_id, domain_id,"
                       " issued_before, revoked_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                       MS_P_STR(audit_id), MS_P_STR(user_id), MS_P_STR(project_id),
                       MS_P_STR(domain_id), MS_P_STR(before), MS_P_STR(before),
                       MS_P_STR(expires));
}

int
identity_db_revoke_match(const char *issued_at, const char *user_id,
                         const char *project_id, const char *domain_a,
                         const char *domain_b, const char *audit_id, const char *chain_id)
{
    ms_result *r = NULL;
    int rc = MS_DB_QUERY(&r,
                         "SELECT 1 FROM id_revocations WHERE issued_before >= ?"
                         " AND (user_id IS NULL OR user_id = ?)"
                         " AND (project_id IS NULL OR project_id = ?)"
                         " AND (domain_id IS NULL OR domain_id = ? OR domain_id = ?)"
                         " AND (audit_id IS NULL OR audit_id = ?)"
                         " AND (audit_chain_id IS NULL OR audit_chain_id = ?)"
                         " LIMIT 1",
                         MS_P_STR(issued_at), MS_P_STR(user_id), MS_P_STR(project_id),
                         MS_P_STR(domain_a), MS_P_STR(domain_b), MS_P_STR(audit_id),
                         MS_P_STR(chain_id));
    if (rc < 0)
        return rc;
    rc = r->nrows > 0 ? 1 : 0;
    ms_result_free(r);
    return rc;
}

int
identity_db_revoke_prune(const char *before)
{
    return MS_DB_QUERY(NULL, "DELETE FROM id_revocations WHERE expires_at < ?",
                       MS_P_STR(before));
}
