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
#include <openssl/pkcs12.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

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

/* Colon-separated lower-case hex, as Nova prints fingerprints. */
static void
colon_hex(const unsigned char *d, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 3 * i, "%02x%s", d[i], i + 1 < n ? ":" : "");
}

int
compute_x509_fingerprint(const char *pem, char fp[64])
{
    BIO *bio = BIO_new_mem_buf(pem, -1);
    X509 *cert = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    if (!cert)
        return -EINVAL;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    int ok = X509_digest(cert, EVP_sha1(), md, &n);
    X509_free(cert);
    if (!ok || n != 20)
        return -EINVAL;
    colon_hex(md, n, fp);
    return 0;
}

/* Add one v3 extension written in OpenSSL's config syntax. */
static bool
add_ext(X509 *cert, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, cert, cert, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (!ext)
        return false;
    bool ok = X509_add_ext(cert, ext, -1) == 1;
    X509_EXTENSION_free(ext);
    return ok;
}

int
compute_x509_generate(const char *user_id, char **private_b64, char **cert_pem)
{
    /* What Nova's generate_winrm_x509_cert makes with the openssl CLI: a
     * self-signed RSA-2048 client certificate for CN=<user>, valid ten
     * years, whose "private key" is a password-less PKCS#12 bundle, base64. */
    int rc = -EIO;
    EVP_PKEY *pkey = EVP_RSA_gen(2048);
    X509 *cert = X509_new();
    PKCS12 *p12 = NULL;
    BIO *bio = NULL;
    unsigned char *der = NULL;
    *private_b64 = *cert_pem = NULL;
    if (!pkey || !cert)
        goto cleanup;
    unsigned char serial[16];
    char upn[300];
    snprintf(upn, sizeof(upn), "otherName:1.3.6.1.4.1.311.20.2.3;UTF8:%s@localhost", user_id);
    BIGNUM *sn = BN_new();
    if (!sn || RAND_bytes(serial, sizeof(serial)) != 1) {
        BN_free(sn);
        goto cleanup;
    }
    serial[0] &= 0x7f;
    BN_bin2bn(serial, sizeof(serial), sn);
    BN_to_ASN1_INTEGER(sn, X509_get_serialNumber(cert));
    BN_free(sn);
    X509_NAME *name = X509_get_subject_name(cert);
    if (!X509_set_version(cert, 2) ||
        !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)user_id,
                                    -1, -1, 0) ||
        !X509_set_issuer_name(cert, name) || !X509_gmtime_adj(X509_getm_notBefore(cert), 0) ||
        !X509_gmtime_adj(X509_getm_notAfter(cert), 3650L * 24 * 3600) ||
        !X509_set_pubkey(cert, pkey) || !add_ext(cert, NID_ext_key_usage, "clientAuth") ||
        !add_ext(cert, NID_subject_alt_name, upn) || !X509_sign(cert, pkey, EVP_sha256()))
        goto cleanup;
    bio = BIO_new(BIO_s_mem());
    if (!bio || !PEM_write_bio_X509(bio, cert))
        goto cleanup;
    char *data;
    long len = BIO_get_mem_data(bio, &data);
    *cert_pem = ms_strndup(data, (size_t)len);
    p12 = PKCS12_create("", NULL, pkey, cert, NULL, 0, 0, 0, 0, 0);
    int dlen = p12 ? i2d_PKCS12(p12, &der) : -1;
    if (dlen <= 0)
        goto cleanup;
    *private_b64 = ms_malloc((size_t)dlen / 3 * 4 + 8);
    EVP_EncodeBlock((unsigned char *)*private_b64, der, dlen);
    rc = 0;
cleanup:
    if (rc < 0) {
        free(*cert_pem);
        *cert_pem = NULL;
    }
    OPENSSL_free(der);
    PKCS12_free(p12);
    BIO_free(bio);
    X509_free(cert);
    EVP_PKEY_free(pkey);
    return rc;
}
