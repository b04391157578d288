/* Fernet tokens (https://github.com/fernet/spec) with OpenSSL, and the key
 * repository under <state_path>/fernet-keys laid out like keystone-manage
 * fernet_setup/fernet_rotate: files named 0 (staged), 1..n; the highest
 * is the primary (encrypts), every key decrypts. A token is
 *   0x80 | timestamp (u64 BE) | IV (16) | AES-128-CBC(PKCS7) | HMAC-SHA256
 * with the HMAC over everything before it, base64url without padding as
 * Keystone emits it. The repository is re-read when a token fails with every
 * key and the directory changed (another process rotated), and every minute. */
#include "tokens_internal.h"

#include <monostack/config.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FERNET_VERSION 0x80
#define FERNET_HDR 25           /* version + timestamp + IV */
#define FERNET_MAC 32
#define FERNET_RECHECK_US (60 * 1000000ULL)

/* ---- base64 ---- */

static const char b64url_chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

char *
identity_b64url(const uint8_t *data, size_t len, bool pad)
{
    char *out = ms_malloc((len + 2) / 3 * 4 + 1), *p = out;
    size_t i = 0;
    for (; i + 2 < len; i += 3) {
        uint32_t v = (uint32_t)data[i] << 16 | (uint32_t)data[i + 1] << 8 | data[i + 2];
        *p++ = b64url_chars[v >> 18 & 63];
        *p++ = b64url_chars[v >> 12 & 63];
        *p++ = b64url_chars[v >> 6 & 63];
        *p++ = b64url_chars[v & 63];
    }
    if (i < len) {
        uint32_t v = (uint32_t)data[i] << 16 | (i + 1 < len ? (uint32_t)data[i + 1] << 8 : 0);
        *p++ = b64url_chars[v >> 18 & 63];
        *p++ = b64url_chars[v >> 12 & 63];
        if (i + 1 < len)
            *p++ = b64url_chars[v >> 6 & 63];
        else if (pad)
            *p++ = '=';
        if (pad)
            *p++ = '=';
    }
    *p = '\0';
    return out;
}

static int
b64_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-' || c == '+')
        return 62;
    if (c == '_' || c == '/')
        return 63;
    return -1;
}

long
identity_b64_decode(const char *s, uint8_t *out, size_t max)
{
    size_t n = strlen(s);
    while (n && s[n - 1] == '=')
        n--;
    if (n % 4 == 1)
        return -1;
    size_t olen = n / 4 * 3 + (n % 4 ? n % 4 - 1 : 0);
    if (olen > max)
        return -1;
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64_value(s[i]);
        if (v < 0)
            return -1;
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (uint8_t)(acc >> bits);
        }
    }
    /* Leftover bits must be zero, or two encodings would give one token. */
    if (bits && (acc & ((1u << bits) - 1)))
        return -1;
    return (long)o;
}

/* ---- the token format ---- */

char *
fernet_encode(const uint8_t key[FERNET_KEY_LEN], int64_t ts, const uint8_t *iv,
              const uint8_t *msg, size_t len)
{
    size_t ctmax = len + 16;
    uint8_t *buf = ms_malloc(FERNET_HDR + ctmax + FERNET_MAC);
    buf[0] = FERNET_VERSION;
    for (int i = 0; i < 8; i++)
        buf[1 + i] = (uint8_t)((uint64_t)ts >> (56 - 8 * i));
    if (iv)
        memcpy(buf + 9, iv, 16);
    else if (RAND_bytes(buf + 9, 16) != 1)
        abort();   /* no randomness: nothing safe to do */

    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int outl = 0, finl = 0;
    if (!ctx || EVP_EncryptInit_ex(ctx, EVP_aes_128_cbc(), NULL, key + 16, buf + 9) != 1 ||
        EVP_EncryptUpdate(ctx, buf + FERNET_HDR, &outl, msg, (int)len) != 1 ||
        EVP_EncryptFinal_ex(ctx, buf + FERNET_HDR + outl, &finl) != 1)
        abort();   /* only fails on allocation failure */
    EVP_CIPHER_CTX_free(ctx);
    size_t signed_len = FERNET_HDR + (size_t)outl + (size_t)finl;
    unsigned maclen = 0;
    if (!HMAC(EVP_sha256(), key, 16, buf, signed_len, buf + signed_len, &maclen))
        abort();
    char *token = identity_b64url(buf, signed_len + FERNET_MAC, false);
    OPENSSL_cleanse(buf, signed_len + FERNET_MAC);
    free(buf);
    return token;
}

static int
fernet_decode_one(const uint8_t key[FERNET_KEY_LEN], const uint8_t *raw, size_t rawlen,
                  uint8_t **msg, size_t *len)
{
    uint8_t mac[EVP_MAX_MD_SIZE];
    unsigned maclen = 0;
    size_t signed_len = rawlen - FERNET_MAC;
    if (!HMAC(EVP_sha256(), key, 16, raw, signed_len, mac, &maclen))
        return -EACCES;
    if (!ms_ct_equal(mac, raw + signed_len, FERNET_MAC))
        return -EACCES;
    size_t ctlen = signed_len - FERNET_HDR;
    uint8_t *out = ms_malloc(ctlen + 16);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int outl = 0, finl = 0;
    int ok = ctx && EVP_DecryptInit_ex(ctx, EVP_aes_128_cbc(), NULL, key + 16, raw + 9) == 1 &&
             EVP_DecryptUpdate(ctx, out, &outl, raw + FERNET_HDR, (int)ctlen) == 1 &&
             EVP_DecryptFinal_ex(ctx, out + outl, &finl) == 1;
    EVP_CIPHER_CTX_free(ctx);
    if (!ok) {
        free(out);
        return -EACCES;
    }
    *msg = out;
    *len = (size_t)outl + (size_t)finl;
    return 0;
}

int
fernet_decode(const uint8_t (*keys)[FERNET_KEY_LEN], int nkeys, const char *token,
              uint8_t **msg, size_t *len, int64_t *ts)
{
    size_t tlen = token ? strlen(token) : 0;
    /* The shortest token has one cipher block; refuse absurd lengths early. */
    if (tlen < 4 * (FERNET_HDR + 16 + FERNET_MAC) / 3 || tlen > 8192)
        return -EACCES;
    size_t max = tlen / 4 * 3 + 3;
    uint8_t *raw = ms_malloc(max);
    long n = identity_b64_decode(token, raw, max);
    int rc = -EACCES;
    if (n < FERNET_HDR + 16 + FERNET_MAC || raw[0] != FERNET_VERSION ||
        (n - FERNET_HDR - FERNET_MAC) % 16 != 0)
        goto cleanup;
    for (int k = 0; k < nkeys && rc < 0; k++)
        rc = fernet_decode_one(keys[k], raw, (size_t)n, msg, len);
    if (rc == 0) {
        uint64_t t = 0;
        for (int i = 0; i < 8; i++)
            t = t << 8 | raw[1 + i];
        *ts = (int64_t)t;
    }
cleanup:
    free(raw);
    return rc;
}

int
fernet_parse_key(const char *text, uint8_t key[FERNET_KEY_LEN])
{
    char buf[128];
    size_t n = strcspn(text, "\r\n \t");
    if (n >= sizeof(buf))
        return -EINVAL;
    memcpy(buf, text, n);
    buf[n] = '\0';
    uint8_t tmp[FERNET_KEY_LEN + 3];
    long got = identity_b64_decode(buf, tmp, sizeof(tmp));
    if (got != FERNET_KEY_LEN)
        return -EINVAL;
    memcpy(key, tmp, FERNET_KEY_LEN);
    OPENSSL_cleanse(tmp, sizeof(tmp));
    return 0;
}

/* ---- the key repository ---- */

typedef struct {
    int index;
    uint8_t key[FERNET_KEY_LEN];
} repo_key;

static struct {
    pthread_rwlock_t lock;
    uint8_t keys[FERNET_MAX_KEYS][FERNET_KEY_LEN];   /* primary first */
    int nkeys;
    struct timespec mtime;      /* of the directory when read */
    uint64_t checked_us;        /* last stat of the directory */
} repo = {.lock = PTHREAD_RWLOCK_INITIALIZER};

char *
identity_fernet_dir(void)
{
    return ms_asprintf("%s/fernet-keys", ms_conf.state_path ? ms_conf.state_path : ".");
}

static bool
key_index(const char *name, int *out)
{
    if (!*name)
        return false;
    long v = 0;
    for (const char *p = name; *p; p++) {
        if (*p < '0' || *p > '9' || v > 100000)
            return false;
        v = v * 10 + (*p - '0');
    }
    *out = (int)v;
    return true;
}

static int
cmp_index_desc(const void *a, const void *b)
{
    return ((const repo_key *)b)->index - ((const repo_key *)a)->index;
}

/* Read every key file of dir, sorted with the highest index first. */
static int
read_keys(const char *dir, repo_key *out, int max, char **err)
{
    DIR *d = opendir(dir);
    if (!d) {
        int e = errno;
        if (err)
            *err = ms_asprintf("cannot open the key repository %s: %s", dir, strerror(e));
        return -e;
    }
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) && n < max) {
        int idx;
        if (!key_index(de->d_name, &idx))
            continue;
        char *path = ms_asprintf("%s/%s", dir, de->d_name);
        FILE *f = fopen(path, "r");
        free(path);
        if (!f)
            continue;
        char text[128] = {0};
        size_t got = fread(text, 1, sizeof(text) - 1, f);
        fclose(f);
        text[got] = '\0';
        if (fernet_parse_key(text, out[n].key) == 0)
            out[n++].index = idx;
        else
            ms_warn("ignoring malformed fernet key file %s/%s", dir, de->d_name);
        OPENSSL_cleanse(text, sizeof(text));
    }
    closedir(d);
    qsort(out, (size_t)n, sizeof(*out), cmp_index_desc);
    return n;
}

/* Called with the write lock held. */
static int
repo_load_locked(char **err)
{
    char *dir = identity_fernet_dir();
    repo_key keys[FERNET_MAX_KEYS];
    struct stat st;
    int rc = 0;
    if (stat(dir, &st) < 0) {
        rc = -errno;
        if (err)
            *err = ms_asprintf("cannot open the key repository %s: %s (run `monostack-manage "
                               "fernet setup`)", dir, strerror(errno));
        goto cleanup;
    }
    int n = read_keys(dir, keys, FERNET_MAX_KEYS, err);
    if (n < 0) {
        rc = n;
        goto cleanup;
    }
    if (n == 0) {
        rc = -ENOENT;
        if (err)
            *err = ms_asprintf("no fernet keys in %s (run `monostack-manage fernet setup`)",
                               dir);
        goto cleanup;
    }
    /* The staged key 0 must not encrypt while a real primary exists. */
    for (int i = 0; i < n; i++)
        memcpy(repo.keys[i], keys[i].key, FERNET_KEY_LEN);
    repo.nkeys = n;
    repo.mtime = st.st_mtim;
    OPENSSL_cleanse(keys, sizeof(keys));
cleanup:
    repo.checked_us = ms_now_us();
    free(dir);
    return rc;
}

int
identity_fernet_load(char **err)
{
    pthread_rwlock_wrlock(&repo.lock);
    int rc = repo_load_locked(err);
    pthread_rwlock_unlock(&repo.lock);
    return rc;
}

/* Reload when the directory's mtime moved (a rotation renames files), checking
 * at most once per min_interval_us. Validation checks once a minute (and at
 * most once a second when a token fits no key); issuing checks every time, a
 * stat(2) being nothing next to the password hash, so that a rotation takes
 * effect for new tokens at once, as with keystone. */
static bool
repo_maybe_reload(uint64_t min_interval_us)
{
    uint64_t now = ms_now_us();
    pthread_rwlock_rdlock(&repo.lock);
    uint64_t since = now - repo.checked_us;
    struct timespec seen = repo.mtime;
    pthread_rwlock_unlock(&repo.lock);
    if (since < min_interval_us)
        return false;
    char *dir = identity_fernet_dir();
    struct stat st;
    bool changed = stat(dir, &st) == 0 && (st.st_mtim.tv_sec != seen.tv_sec ||
                                            st.st_mtim.tv_nsec != seen.tv_nsec);
    free(dir);
    pthread_rwlock_wrlock(&repo.lock);
    if (changed) {
        char *err = NULL;
        if (repo_load_locked(&err) < 0) {
            ms_warn("fernet key reload failed: %s", err);
            free(err);
            changed = false;
        } else {
            ms_info("fernet key repository reloaded keys=%d", repo.nkeys);
        }
    } else {
        repo.checked_us = now;
    }
    pthread_rwlock_unlock(&repo.lock);
    return changed;
}

char *
identity_fernet_encrypt(const uint8_t *msg, size_t len)
{
    repo_maybe_reload(0);
    char *token = NULL;
    pthread_rwlock_rdlock(&repo.lock);
    if (repo.nkeys > 0)
        token = fernet_encode(repo.keys[0], ms_time(), NULL, msg, len);
    pthread_rwlock_unlock(&repo.lock);
    return token;
}

int
identity_fernet_decrypt(const char *token, uint8_t **msg, size_t *len, int64_t *ts)
{
    repo_maybe_reload(FERNET_RECHECK_US);
    for (int attempt = 0; attempt < 2; attempt++) {
        pthread_rwlock_rdlock(&repo.lock);
        int rc = fernet_decode((const uint8_t(*)[FERNET_KEY_LEN])repo.keys, repo.nkeys, token,
                               msg, len, ts);
        pthread_rwlock_unlock(&repo.lock);
        if (rc == 0)
            return 0;
        if (attempt == 0 && !repo_maybe_reload(1000000ULL))
            break;
    }
    return -EACCES;
}

/* ---- setup and rotation (monostack-manage) ---- */

static int
write_key_file(const char *dir, int index, char **err)
{
    uint8_t key[FERNET_KEY_LEN];
    if (RAND_bytes(key, sizeof(key)) != 1) {
        *err = ms_strdup("no random bytes for a new key");
        return -EIO;
    }
    char *text = identity_b64url(key, sizeof(key), true);
    OPENSSL_cleanse(key, sizeof(key));
    char *tmp = ms_asprintf("%s/.tmp.%d", dir, (int)getpid());
    char *path = ms_asprintf("%s/%d", dir, index);
    int rc = 0;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    size_t tl = strlen(text);
    if (fd < 0 || write(fd, text, tl) != (ssize_t)tl || fsync(fd) < 0) {
        rc = -errno;
        *err = ms_asprintf("cannot write %s: %s", tmp, strerror(errno));
        if (fd >= 0)
            close(fd);
        unlink(tmp);
        goto cleanup;
    }
    close(fd);
    if (rename(tmp, path) < 0) {
        rc = -errno;
        *err = ms_asprintf("cannot rename %s to %s: %s", tmp, path, strerror(errno));
        unlink(tmp);
    }
cleanup:
    OPENSSL_cleanse(text, tl);
    free(text);
    free(tmp);
    free(path);
    return rc;
}

static int
rotate_in(const char *dir, char **err)
{
    repo_key keys[FERNET_MAX_KEYS];
    int n = read_keys(dir, keys, FERNET_MAX_KEYS, err);
    if (n < 0)
        return n;
    bool have_staged = n > 0 && keys[n - 1].index == 0;
    int next = n > 0 ? keys[0].index + 1 : 1;
    int rc;
    /* The staged key becomes the primary: tokens it may already have seen
     * (none, it never encrypted) stay valid; then a new staged key. */
    if (have_staged) {
        char *from = ms_asprintf("%s/0", dir), *to = ms_asprintf("%s/%d", dir, next);
        rc = rename(from, to) < 0 ? -errno : 0;
        if (rc < 0)
            *err = ms_asprintf("cannot rename %s to %s: %s", from, to, strerror(-rc));
        free(from);
        free(to);
        if (rc < 0)
            return rc;
    } else if ((rc = write_key_file(dir, next, err)) < 0) {
        return rc;
    }
    if ((rc = write_key_file(dir, 0, err)) < 0)
        return rc;
    /* Keep the staged key, the primary and the newest secondaries. */
    n = read_keys(dir, keys, FERNET_MAX_KEYS, err);
    int active = n;
    for (int i = n - 1; i >= 0 && active > FERNET_MAX_ACTIVE_KEYS; i--) {
        if (keys[i].index == 0 || i == 0)
            continue;
        char *path = ms_asprintf("%s/%d", dir, keys[i].index);
        if (unlink(path) == 0)
            active--;
        free(path);
    }
    OPENSSL_cleanse(keys, sizeof(keys));
    return 0;
}

int
identity_fernet_setup(char **err)
{
    char *dir = identity_fernet_dir();
    int rc = 0;
    if (mkdir(ms_conf.state_path, 0755) < 0 && errno != EEXIST) {
        rc = -errno;
        *err = ms_asprintf("cannot create %s: %s", ms_conf.state_path, strerror(errno));
        goto cleanup;
    }
    if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
        rc = -errno;
        *err = ms_asprintf("cannot create %s: %s", dir, strerror(errno));
        goto cleanup;
    }
    chmod(dir, 0700);
    repo_key keys[FERNET_MAX_KEYS];
    int n = read_keys(dir, keys, FERNET_MAX_KEYS, err);
    OPENSSL_cleanse(keys, sizeof(keys));
    if (n < 0) {
        rc = n;
        goto cleanup;
    }
    if (n == 0) {
        /* Like keystone-manage fernet_setup: a staged key, then a rotation
         * so there is a primary (1) and a staged key (0). */
        if ((rc = write_key_file(dir, 0, err)) < 0 || (rc = rotate_in(dir, err)) < 0)
            goto cleanup;
    }
cleanup:
    free(dir);
    return rc;
}

int
identity_fernet_rotate(char **err)
{
    char *dir = identity_fernet_dir();
    int rc = rotate_in(dir, err);
    free(dir);
    if (rc == 0)
        identity_fernet_load(NULL);
    return rc;
}
