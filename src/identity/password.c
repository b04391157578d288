/* Stored passwords: PBKDF2-HMAC-SHA512 with a random 16-byte salt, in the
 * self-describing form "$pbkdf2-sha512$<rounds>$<salt b64>$<hash b64>" so
 * the cost can be raised later without invalidating existing hashes (the
 * rounds are read back from each hash). The default cost
 * ([identity] password_hash_rounds = 300000) takes about as long as bcrypt
 * with 12 rounds, Keystone's default. Comparison is constant-time. */
#include "tokens_internal.h"

#include <monostack/config.h>

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>

#define PREFIX "$pbkdf2-sha512$"
#define SALT_LEN 16
#define DK_LEN 64
#define MAX_ROUNDS 100000000L

static int
derive(const char *password, const uint8_t *salt, size_t salt_len, long rounds,
       uint8_t out[DK_LEN])
{
    return PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt, (int)salt_len,
                             (int)rounds, EVP_sha512(), DK_LEN, out) == 1
               ? 0
               : -EIO;
}

int
identity_password_hash(const char *password, char out[IDENTITY_HASH_LEN])
{
    uint8_t salt[SALT_LEN], dk[DK_LEN];
    long rounds = ms_conf.password_hash_rounds > 0 ? ms_conf.password_hash_rounds : 300000;
    if (!password || RAND_bytes(salt, sizeof(salt)) != 1)
        return -EINVAL;
    if (derive(password, salt, sizeof(salt), rounds, dk) < 0)
        return -EIO;
    char *s = identity_b64url(salt, sizeof(salt), false);
    char *h = identity_b64url(dk, sizeof(dk), false);
    int n = snprintf(out, IDENTITY_HASH_LEN, PREFIX "%ld$%s$%s", rounds, s, h);
    OPENSSL_cleanse(dk, sizeof(dk));
    free(s);
    free(h);
    return n > 0 && n < IDENTITY_HASH_LEN ? 0 : -EOVERFLOW;
}

bool
identity_password_verify(const char *password, const char *stored)
{
    if (!password || !stored || strncmp(stored, PREFIX, strlen(PREFIX)) != 0)
        return false;
    const char *p = stored + strlen(PREFIX);
    char *end;
    long rounds = strtol(p, &end, 10);
    if (end == p || *end != '$' || rounds < 1 || rounds > MAX_ROUNDS)
        return false;
    const char *salt_s = end + 1, *dollar = strchr(salt_s, '$');
    if (!dollar || dollar - salt_s > 64)
        return false;
    char salt_txt[65];
    memcpy(salt_txt, salt_s, (size_t)(dollar - salt_s));
    salt_txt[dollar - salt_s] = '\0';
    uint8_t salt[48], want[DK_LEN + 3], got[DK_LEN];
    long slen = identity_b64_decode(salt_txt, salt, sizeof(salt));
    long hlen = identity_b64_decode(dollar + 1, want, sizeof(want));
    if (slen <= 0 || hlen != DK_LEN)
        return false;
    if (derive(password, salt, (size_t)slen, rounds, got) < 0)
        return false;
    bool ok = ms_ct_equal(got, want, DK_LEN);
    OPENSSL_cleanse(got, sizeof(got));
    return ok;
}
