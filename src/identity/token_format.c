/* The token payload inside the Fernet envelope: a compact binary record of
 * our own (Keystone's msgpack layout is not needed, nothing else reads it):
 *   u8 version (1) | u8 methods | u8 scope |
 *   str user_id | str scope_id | str app_cred_id |      str = u8 len + bytes
 *   i64 issued_at (µs, BE) | i64 expires_at (s, BE) |
 *   u8 n_audit | n_audit * 16 bytes
 * Issued-at is kept in microseconds (the Fernet timestamp has seconds only)
 * so a revocation event does not also catch tokens issued just after it in
 * the same second. */
#include "tokens_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define PAYLOAD_VERSION 1

static uint8_t *
put_str(uint8_t *p, const char *s)
{
    size_t n = strlen(s);
    *p++ = (uint8_t)n;
    memcpy(p, s, n);
    return p + n;
}

static uint8_t *
put_i64(uint8_t *p, int64_t v)
{
    for (int i = 0; i < 8; i++)
        *p++ = (uint8_t)((uint64_t)v >> (56 - 8 * i));
    return p;
}

size_t
token_pack(const identity_token *t, uint8_t out[TOKEN_PAYLOAD_MAX])
{
    uint8_t *p = out;
    *p++ = PAYLOAD_VERSION;
    *p++ = (uint8_t)t->methods;
    *p++ = (uint8_t)t->scope;
    /* Ids are at most 64 bytes (MS_ID_LEN - 1), so this fits in 256. */
    p = put_str(p, t->user_id);
    p = put_str(p, t->scope_id);
    p = put_str(p, t->app_cred_id);
    p = put_i64(p, t->issued_us);
    p = put_i64(p, t->expires);
    int n = t->naudit > TOKEN_MAX_AUDIT ? TOKEN_MAX_AUDIT : t->naudit;
    *p++ = (uint8_t)n;
    for (int i = 0; i < n; i++) {
        memcpy(p, t->audit[i], TOKEN_AUDIT_LEN);
        p += TOKEN_AUDIT_LEN;
    }
    return (size_t)(p - out);
}

static int
get_str(const uint8_t **p, const uint8_t *end, char out[MS_ID_LEN])
{
    if (*p >= end)
        return -EINVAL;
    size_t n = **p;
    (*p)++;
    if (n >= MS_ID_LEN || (size_t)(end - *p) < n)
        return -EINVAL;
    memcpy(out, *p, n);
    out[n] = '\0';
    if (memchr(out, '\0', n))
        return -EINVAL;
    *p += n;
    return 0;
}

static int
get_i64(const uint8_t **p, const uint8_t *end, int64_t *out)
{
    if (end - *p < 8)
        return -EINVAL;
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | (*p)[i];
    *p += 8;
    *out = (int64_t)v;
    return 0;
}

int
token_unpack(const uint8_t *buf, size_t len, identity_token *t)
{
    const uint8_t *p = buf, *end = buf + len;
    memset(t, 0, sizeof(*t));
    if (len < 3 || p[0] != PAYLOAD_VERSION)
        return -EINVAL;
    t->methods = p[1];
    if (p[2] > TOKEN_SYSTEM || !t->methods || (t->methods & ~7u))
        return -EINVAL;
    t->scope = (token_scope)p[2];
    p += 3;
    if (get_str(&p, end, t->user_id) < 0 || get_str(&p, end, t->scope_id) < 0 ||
        get_str(&p, end, t->app_cred_id) < 0 || get_i64(&p, end, &t->issued_us) < 0 ||
        get_i64(&p, end, &t->expires) < 0 || p >= end)
        return -EINVAL;
    int n = *p++;
    if (n < 1 || n > TOKEN_MAX_AUDIT || end - p != n * TOKEN_AUDIT_LEN)
        return -EINVAL;
    t->naudit = n;
    for (int i = 0; i < n; i++)
        memcpy(t->audit[i], p + i * TOKEN_AUDIT_LEN, TOKEN_AUDIT_LEN);
    if (!t->user_id[0] || ((t->scope == TOKEN_PROJECT || t->scope == TOKEN_DOMAIN) &&
                           !t->scope_id[0]))
        return -EINVAL;
    return 0;
}

void
token_audit_str(const uint8_t raw[TOKEN_AUDIT_LEN], char out[24])
{
    char *s = identity_b64url(raw, TOKEN_AUDIT_LEN, false);
    snprintf(out, 24, "%s", s);
    free(s);
}

json_t *
token_methods_json(unsigned methods)
{
    json_t *a = json_array();
    /* Keystone lists the method used now first, then those carried over. */
    if (methods & TOKEN_M_TOKEN)
        json_array_append_new(a, json_string("token"));
    if (methods & TOKEN_M_PASSWORD)
        json_array_append_new(a, json_string("password"));
    if (methods & TOKEN_M_APP_CRED)
        json_array_append_new(a, json_string("application_credential"));
    return a;
}

json_t *
identity_ref_json(const char *id, const char *name)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(id));
    json_object_set_new(o, "name", json_string(name));
    return o;
}
