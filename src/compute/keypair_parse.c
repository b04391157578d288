/* OpenSSH public keys: parsing and checking a "type base64 [comment]" line
 * the way Nova does (the key must load; the fingerprint is the MD5 of the
 * decoded blob in colon hex), and generating an RSA key pair for
 * microversions that still allow server-side generation. */
#include "compute.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

static int
b64_decode(const char *in, size_t len, unsigned char **out, size_t *outlen)
{
    if (len == 0 || len % 4 != 0)
        return -EINVAL;
    for (size_t i = 0; i < len; i++) {
        char c = in[i];
        if (!(isalnum((unsigned char)c) || c == '+' || c == '/' || c == '='))
            return -EINVAL;
        if (c == '=' && i < len - 2)
            return -EINVAL;
    }
    unsigned char *buf = ms_malloc(len);
    int n = EVP_DecodeBlock(buf, (const unsigned char *)in, (int)len);
    if (n < 0) {
        free(buf);
        return -EINVAL;
    }
    /* EVP_DecodeBlock counts padding bytes as data. */
    if (in[len - 1] == '=')
        n--;
    if (in[len - 2] == '=')
        n--;
    *out = buf;
    *outlen = (size_t)n;
    return 0;
}

/* Read one SSH wire "string" (uint32 length + bytes). */
static bool
ssh_string(const unsigned char **p, size_t *left, const unsigned char **s, size_t *slen)
{
    if (*left < 4)
        return false;
    uint32_t n = ((uint32_t)(*p)[0] << 24) | ((uint32_t)(*p)[1] << 16) |
                 ((uint32_t)(*p)[2] << 8) | (*p)[3];
    if (n > *left - 4)
        return false;
    *s = *p + 4;
    *slen = n;
    *p += 4 + n;
    *left -= 4 + n;
    return true;
}

static bool
str_is(const unsigned char *s, size_t n, const char *want)
{
    return n == strlen(want) && memcmp(s, want, n) == 0;
}

/* Check the blob's structure for its declared type. */
static bool
blob_valid(const char *type, const unsigned char *blob, size_t len)
{
    const unsigned char *p = blob, *s;
    size_t left = len, n;
    if (!ssh_string(&p, &left, &s, &n) || !str_is(s, n, type))
        return false;
    if (strcmp(type, "ssh-rsa") == 0) {
        const unsigned char *e, *m;
        size_t elen, mlen;
        if (!ssh_string(&p, &left, &e, &elen) || !ssh_string(&p, &left, &m, &mlen))
            return false;
        /* e must be odd and non-zero; the modulus at least 1024 bits (OpenSSL
         * and pyca refuse smaller ones), both positive mpints. */
        if (elen == 0 || mlen < 128 || (e[0] & 0x80) || (m[0] & 0x80) || !(e[elen - 1] & 1))
            return false;
        return left == 0;
    }
    if (strcmp(type, "ssh-ed25519") == 0) {
        const unsigned char *k;
        size_t klen;
        return ssh_string(&p, &left, &k, &klen) && klen == 32 && left == 0;
    }
    if (strncmp(type, "ecdsa-sha2-", 11) == 0) {
        const char *curve = type + 11;
        size_t want = !strcmp(curve, "nistp256")   ? 65
                      : !strcmp(curve, "nistp384") ? 97
                      : !strcmp(curve, "nistp521") ? 133
                                                   : 0;
        const unsigned char *c, *q;
        size_t clen, qlen;
        if (!want || !ssh_string(&p, &left, &c, &clen) || !str_is(c, clen, curve) ||
            !ssh_string(&p, &left, &q, &qlen))
            return false;
        return qlen == want && q[0] == 0x04 && left == 0;
    }
    if (strcmp(type, "ssh-dss") == 0) {
        for (int i = 0; i < 4; i++) {
            if (!ssh_string(&p, &left, &s, &n) || n == 0)
                return false;
        }
        return left == 0;
    }
    return false;
}

int
compute_ssh_fingerprint(const char *public_key, char fp[48])
{
    while (*public_key == ' ' || *public_key == '\t' || *public_key == '\n')
        public_key++;
    const char *sp = strchr(public_key, ' ');
    if (!sp)
        return -EINVAL;
    char type[64];
    size_t tlen = (size_t)(sp - public_key);
    if (tlen == 0 || tlen >= sizeof(type))
        return -EINVAL;
    memcpy(type, public_key, tlen);
    type[tlen] = '\0';
    const char *b = sp + 1;
    while (*b == ' ')
        b++;
    size_t blen = strcspn(b, " \t\r\n");
    unsigned char *blob = NULL;
    size_t len = 0;
    if (b64_decode(b, blen, &blob, &len) < 0)
        return -EINVAL;
    int rc = -EINVAL;
    if (blob_valid(type, blob, len)) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int mdlen = 0;
        if (EVP_Digest(blob, len, md, &mdlen, EVP_md5(), NULL) == 1 && mdlen == 16) {
            for (unsigned i = 0; i < 16; i++)
                snprintf(fp + i * 3, 4, i < 15 ? "%02x:" : "%02x", md[i]);
            rc = 0;
        }
    }
    free(blob);
    return rc;
}

static void
put_string(ms_buf *b, const unsigned char *s, size_t n)
{
    unsigned char len[4] = {(unsigned char)(n >> 24), (unsigned char)(n >> 16),
                            (unsigned char)(n >> 8), (unsigned char)n};
    ms_buf_add(b, len, 4);
    ms_buf_add(b, s, n);
}

/* An mpint: big-endian, with a leading zero when the top bit is set. */
static void
put_mpint(ms_buf *b, const BIGNUM *bn)
{
    int n = BN_num_bytes(bn);
    unsigned char *tmp = ms_malloc((size_t)n + 1);
    tmp[0] = 0;
    BN_bn2bin(bn, tmp + 1);
    bool pad = n > 0 && (tmp[1] & 0x80);
    put_string(b, pad ? tmp : tmp + 1, (size_t)n + (pad ? 1 : 0));
    free(tmp);
}

int
compute_ssh_generate(char **private_pem, char **public_line)
{
    int rc = -EIO;
    EVP_PKEY *pkey = EVP_RSA_gen(2048);
    BIGNUM *n = NULL, *e = NULL;
    BIO *bio = NULL;
    ms_buf blob = {0};
    if (!pkey)
        goto cleanup;
    if (!EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &n) ||
        !EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &e))
        goto cleanup;
    put_string(&blob, (const unsigned char *)"ssh-rsa", 7);
    put_mpint(&blob, e);
    put_mpint(&blob, n);
    char *b64 = ms_malloc(blob.len * 2 + 8);
    EVP_EncodeBlock((unsigned char *)b64, (const unsigned char *)blob.data, (int)blob.len);
    *public_line = ms_asprintf("ssh-rsa %s Generated-by-Nova", b64);
    free(b64);
    bio = BIO_new(BIO_s_mem());
    /* The traditional PKCS#1 "RSA PRIVATE KEY" PEM, as paramiko writes it. */
    if (!bio || !PEM_write_bio_PrivateKey_traditional(bio, pkey, NULL, NULL, 0, NULL, NULL)) {
        free(*public_line);
        *public_line = NULL;
        goto cleanup;
    }
    char *data;
    long len = BIO_get_mem_data(bio, &data);
    *private_pem = ms_strndup(data, (size_t)len);
    rc = 0;
cleanup:
    BIO_free(bio);
    BN_free(n);
    BN_free(e);
    EVP_PKEY_free(pkey);
    ms_buf_free(&blob);
    return rc;
}
