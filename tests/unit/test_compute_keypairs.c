/* Keypair parsing and fingerprints: Nova's MD5-of-blob fingerprint for
 * keys made by ssh-keygen (expected values from `ssh-keygen -l -E md5`),
 * rejection of malformed keys, and server-side generation round-trip. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "compute/compute.h"

static const struct {
    const char *key, *fp;
} good[] = {
    {"ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQCaFQuy16t48cwgDgin9EmngVpbZ0G2z8Pp3JkPuFvVzxw1Z7de"
     "+JO//oNtx/X9pKEcN/5QM2oMFQMYOYqxA4x4QeospynzRoiUZNIEHNHPkEE2b55Guc1270lI884L7vvoOh/W4"
     "WoPpj1mnMH4PlYA2lXXHOXitjnpV2PtwNzGcUqB+GOQXSG56f10wSh8vMWjWiWPgkoVIuH9zmqcB1NiSC4Z1JI"
     "k4kwXvZZXZ1l4sGYB/Mp3Q9fc7fF9lWhNer/nwmbUUDoNCX71eZpMeyMVDRf1jNGfQ1fM3kM8/70116XCHdwQd"
     "p5VLc27a752UC1YQFamctAWkJOCo6HNqWDX g@test",
     "0c:2a:e2:df:9b:13:a3:76:aa:1c:cc:9a:ba:30:42:96"},
    {"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIC00OtkYq4jaalmOf9CYonlKI1Y1rAPRg6AySorNXoay g@test",
     "18:b3:96:cf:87:cf:6b:24:a7:e6:3b:c0:70:3e:5c:c0"},
    {"ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBKgKA/xP2A2JnMD"
     "RkY6+vIN/FyLCljwQs4OrV0uhndGeZEMB6hc+PZDdIXjJt4H3nUd1G5MlqC/Y7Td7L3w8pAc= g@test",
     "cd:3e:16:ad:86:4d:e2:17:2d:82:2b:25:5b:f7:a8:6f"},
    {"ecdsa-sha2-nistp384 AAAAE2VjZHNhLXNoYTItbmlzdHAzODQAAAAIbmlzdHAzODQAAABhBGA8Y1Zibz9AoJC"
     "ek4RbU880ob3qoEcx4qLCYgO2TUZe50P405wrOnoNyh+h5vqoBpTn/8o1gY6tONGWvLQVV8yneClH2hQ5l7kMG"
     "Un+9wWPMKZNillLiAuCQG8zelLswg==",
     "ea:3f:cb:3f:a3:47:21:d2:55:2b:df:99:e4:02:b7:a7"},
};

static void
test_fingerprints(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        char fp[48] = "";
        assert_int_equal(compute_ssh_fingerprint(good[i].key, fp), 0);
        assert_string_equal(fp, good[i].fp);
    }
}

static void
test_rejects(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "ssh-rsa",
        "not a key",
        "ssh-rsa AAAA",
        "ssh-rsa !!!!",
        /* ed25519 blob relabelled as rsa: type inside the blob disagrees */
        "ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIC00OtkYq4jaalmOf9CYonlKI1Y1rAPRg6AySorNXoay",
        /* truncated ed25519 key */
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIC00OtkYq4jaalmOf9CYonlKI1Y1rAPRg6AySorN",
        "ssh-foo AAAAB3NzaC1yc2E=",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char fp[48];
        assert_int_equal(compute_ssh_fingerprint(bad[i], fp), -EINVAL);
    }
}

static void
test_generate(void **state)
{
    (void)state;
    char *priv = NULL, *pub = NULL;
    assert_int_equal(compute_ssh_generate(&priv, &pub), 0);
    assert_non_null(strstr(priv, "-----BEGIN RSA PRIVATE KEY-----"));
    assert_true(strncmp(pub, "ssh-rsa ", 8) == 0);
    assert_non_null(strstr(pub, " Generated-by-Nova"));
    char fp[48];
    assert_int_equal(compute_ssh_fingerprint(pub, fp), 0);
    assert_int_equal(strlen(fp), 47);
    free(priv);
    free(pub);
}

/* x509 keypairs: a generated certificate names the user, its fingerprint
 * is the SHA-1 of the DER certificate, and anything but a PEM certificate
 * is refused. */
static void
test_x509(void **state)
{
    (void)state;
    char *p12 = NULL, *pem = NULL;
    assert_int_equal(compute_x509_generate("user-1", &p12, &pem), 0);
    assert_non_null(strstr(pem, "-----BEGIN CERTIFICATE-----"));
    assert_true(strlen(p12) > 100);
    char fp[64], fp2[64];
    assert_int_equal(compute_x509_fingerprint(pem, fp), 0);
    assert_int_equal(strlen(fp), 59);   /* 20 bytes, colon-separated */
    assert_int_equal(compute_x509_fingerprint(pem, fp2), 0);
    assert_string_equal(fp, fp2);
    char *p12b = NULL, *pemb = NULL;
    assert_int_equal(compute_x509_generate("user-1", &p12b, &pemb), 0);
    assert_int_equal(compute_x509_fingerprint(pemb, fp2), 0);
    assert_string_not_equal(fp, fp2);   /* a new key and serial each time */
    assert_int_equal(compute_x509_fingerprint("ssh-ed25519 AAAA x", fp), -EINVAL);
    assert_int_equal(compute_x509_fingerprint("-----BEGIN CERTIFICATE-----\nAAAA\n"
                                              "-----END CERTIFICATE-----\n",
                                              fp),
                     -EINVAL);
    free(p12);
    free(pem);
    free(p12b);
    free(pemb);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fingerprints),
        cmocka_unit_test(test_rejects),
        cmocka_unit_test(test_generate),
        cmocka_unit_test(test_x509),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
