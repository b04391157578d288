/* The router: match a path against a module's route patterns, capturing
 * "{name}" segments, and parse microversion strings. Patterns are matched
 * segment by segment in place, so matching allocates only the captured
 * values. */
#include "http_internal.h"

#include <stdio.h>
#include <string.h>

/* Match one pattern; on success the captured values are allocated. */
static bool
match_pattern(const char *pattern, const char *path, char *values[MS_MAX_PARAMS],
              int *nvalues)
{
    const char *p = pattern, *s = path;
    int n = 0;
    while (*p && *s) {
        if (*p != '/' || *s != '/')
            goto fail;
        p++;
        s++;
        const char *pend = strchrnul(p, '/');
        const char *send = strchrnul(s, '/');
        if (*p == '{') {
            if (send == s || n >= MS_MAX_PARAMS)
                goto fail;
            values[n++] = ms_strndup(s, (size_t)(send - s));
        } else if (pend - p != send - s || memcmp(p, s, (size_t)(pend - p)) != 0) {
            goto fail;
        }
        p = pend;
        s = send;
    }
    if (*p || *s)
        goto fail;
    *nvalues = n;
    return true;
fail:
    for (int i = 0; i < n; i++) {
        free(values[i]);
        values[i] = NULL;
    }
    return false;
}

static bool
route_in_mv(const ms_route *r, int mv)
{
    return !mv || ((!r->min_mv || mv >= r->min_mv) && (!r->max_mv || mv <= r->max_mv));
}

const ms_route *
ms_router_match_mv(const ms_module *mod, const char *path, ms_method m, int mv,
                   char *values[MS_MAX_PARAMS], int *nvalues, unsigned *allowed)
{
    *allowed = 0;
    *nvalues = 0;
    const ms_route *found = NULL;
    bool other_mv = false;
    for (size_t i = 0; i < mod->nroutes; i++) {
        const ms_route *r = &mod->routes[i];
        char *vals[MS_MAX_PARAMS] = {0};
        int n = 0;
        if (!match_pattern(r->path, path, vals, &n))
            continue;
        if (!route_in_mv(r, mv)) {
            /* The method exists at another microversion: the caller answers
             * 404, as OpenStack does, rather than 405. */
            other_mv = other_mv || (r->methods & m);
            for (int k = 0; k < n; k++)
                free(vals[k]);
            continue;
        }
        *allowed |= r->methods;
        if (!found && (r->methods & m)) {
            found = r;
            memcpy(values, vals, sizeof(vals));
            *nvalues = n;
        } else {
            for (int k = 0; k < n; k++)
                free(vals[k]);
        }
    }
    if (!found && other_mv)
        *allowed = 0;
    return found;
}

const ms_route *
ms_router_match(const ms_module *mod, const char *path, ms_method m,
                char *values[MS_MAX_PARAMS], int *nvalues, unsigned *allowed)
{
    return ms_router_match_mv(mod, path, m, 0, values, nvalues, allowed);
}

int
ms_mv_parse(const char *s, int min, int max)
{
    if (!s)
        return -1;
    while (*s == ' ')
        s++;
    if (strcasecmp(s, "latest") == 0)
        return max;
    unsigned major, minor;
    int used = 0;
    if (sscanf(s, "%3u.%4u%n", &major, &minor, &used) != 2 || s[used] != '\0' ||
        (s[0] == '0' && s[1] != '.'))
        return -1;
    (void)min;
    return MS_MV((int)major, (int)minor);
}

/* Point names[i] at the i-th "{name}" of the pattern (just after '{'; the
 * name ends at '}'). Returns the count. */
int
ms_route_param_names(const ms_route *r, const char *names[MS_MAX_PARAMS])
{
    int n = 0;
    for (const char *p = strchr(r->path, '{'); p && n < MS_MAX_PARAMS; p = strchr(p + 1, '{'))
        names[n++] = p + 1;
    return n;
}
