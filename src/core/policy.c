/* Policy rules and the token-validator hook. The rules are the OpenStack
 * personas: reader < member < admin, with admin implying the others through
 * implied roles (the identity module expands them into ctx->roles). */
#include <monostack/auth.h>
#include <monostack/policy.h>

#include <errno.h>
#include <string.h>

static ms_token_validator validator;

void
ms_auth_set_validator(ms_token_validator fn)
{
    validator = fn;
}

int
ms_auth_validate(const char *token, ms_auth_ctx *ctx)
{
    if (!validator)
        return -ENOSYS;
    return validator(token, ctx);
}

bool
ms_auth_has_role(const ms_auth_ctx *ctx, const char *role)
{
    for (int i = 0; i < ctx->nroles; i++) {
        if (strcmp(ctx->roles[i], role) == 0)
            return true;
    }
    return false;
}

bool
ms_policy_check(ms_policy rule, const ms_auth_ctx *ctx, const char *self_user_id)
{
    switch (rule) {
    case MS_POL_PUBLIC:
        return true;
    case MS_POL_ANY:
        return ctx->authenticated;
    case MS_POL_READER:
        return ctx->authenticated && (ctx->is_admin || ms_auth_has_role(ctx, "reader") ||
                                      ms_auth_has_role(ctx, "member"));
    case MS_POL_MEMBER:
        return ctx->authenticated && (ctx->is_admin || ms_auth_has_role(ctx, "member"));
    case MS_POL_ADMIN:
        return ctx->authenticated && ctx->is_admin;
    case MS_POL_ADMIN_OR_SELF:
        return ctx->authenticated &&
               (ctx->is_admin || (self_user_id && strcmp(self_user_id, ctx->user_id) == 0));
    }
    return false;
}
