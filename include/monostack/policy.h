/* Policy: each route names a rule; the router checks it before the handler
 * runs. Defaults follow the OpenStack reader/member/admin personas. Handlers
 * still enforce ownership of the object they touch (a member sees only its
 * project's resources). */
#ifndef MONOSTACK_POLICY_H
#define MONOSTACK_POLICY_H

#include "auth.h"

typedef enum {
    MS_POL_PUBLIC = 0,  /* no token needed (version documents, token issue) */
    MS_POL_ANY,         /* any valid token, scoped or not */
    MS_POL_READER,      /* reader, member or admin role on the scope */
    MS_POL_MEMBER,      /* member or admin */
    MS_POL_ADMIN,       /* admin role */
    MS_POL_ADMIN_OR_SELF, /* admin, or the {user_id} path parameter is the caller */
} ms_policy;

/* True when ctx satisfies the rule; self_user_id is the {user_id} path
 * parameter, or NULL. */
bool ms_policy_check(ms_policy rule, const ms_auth_ctx *ctx, const char *self_user_id);

#endif
