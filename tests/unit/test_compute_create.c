/* Server create parameters and the guest's metadata documents without a
 * database: the networks/security_groups/block device mapping parsers at
 * the microversions the functional tier cannot reach yet (2.32, 2.37,
 * 2.42), with and without a network service registered (a test double of
 * the network.h provider), the config drive's documents and file list,
 * and the domain XML's config drive, ephemeral and swap disks. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <monostack/network.h>

#include "compute/compute.h"
#include "core/http_internal.h"
#include "drivers/virt/virt.h"

#define NET_OK "11111111-2222-4333-8444-555555555555"
#define NET_MISSING "99999999-2222-4333-8444-555555555555"

typedef struct {
    ms_request req;
    ms_response resp;
} call;

static void
call_init(call *c, int mv)
{
    memset(c, 0, sizeof(*c));
    c->req.module = &compute_module;
    c->req.mv = mv;
    snprintf(c->req.auth.project_id, sizeof(c->req.auth.project_id), "p1");
    c->resp.req = &c->req;
}

static void
call_clear(call *c)
{
    free(c->resp.body);
    for (int k = 0; k < c->resp.nheaders; k++) {
        free(c->resp.header_names[k]);
        free(c->resp.header_values[k]);
    }
}

/* The badRequest message of the answer. */
static const char *
message(call *c, char *buf, size_t len)
{
    json_t *b = json_loadb(c->resp.body, c->resp.body_len, 0, NULL);
    snprintf(buf, len, "%s", json_string_value(json_object_get(
                                 json_object_get(b, "badRequest"), "message")));
    json_decref(b);
    return buf;
}

static int
networks(int mv, const char *srv_json, json_t **out, char *msg, size_t msglen)
{
    call c;
    call_init(&c, mv);
    json_t *srv = json_loads(srv_json, 0, NULL);
    assert_non_null(srv);
    int rc = compute_create_networks(&c.req, &c.resp, srv, out);
    msg[0] = '\0';
    if (rc < 0) {
        assert_int_equal(c.resp.status, 400);
        message(&c, msg, msglen);
    }
    json_decref(srv);
    call_clear(&c);
    return rc;
}

static void
test_networks_by_microversion(void **state)
{
    (void)state;
    json_t *out;
    char msg[512];
    /* 2.1: a list; absent means any network. */
    assert_int_equal(networks(MS_MV(2, 1), "{}", &out, msg, sizeof(msg)), 0);
    assert_string_equal(json_string_value(json_object_get(out, "mode")), "any");
    json_decref(out);
    assert_int_equal(networks(MS_MV(2, 1), "{\"networks\": \"none\"}", &out, msg,
                              sizeof(msg)), -EINVAL);
    assert_string_equal(msg, "Invalid input for field/attribute networks. Value: none. "
                             "'none' is not of type 'array'");
    /* 2.37: required, "auto"/"none" allowed, uuid must be a uuid. */
    assert_int_equal(networks(MS_MV(2, 37), "{}", &out, msg, sizeof(msg)), -EINVAL);
    assert_string_equal(msg, "Invalid input for field/attribute server. Value: {...}. "
                             "'networks' is a required property");
    assert_int_equal(networks(MS_MV(2, 37), "{\"networks\": \"none\"}", &out, msg,
                              sizeof(msg)), 0);
    assert_string_equal(json_string_value(json_object_get(out, "mode")), "none");
    json_decref(out);
    assert_int_equal(networks(MS_MV(2, 37), "{\"networks\": \"auto\"}", &out, msg,
                              sizeof(msg)), 0);
    assert_string_equal(json_string_value(json_object_get(out, "mode")), "auto");
    json_decref(out);
    assert_int_equal(networks(MS_MV(2, 37), "{\"networks\": \"some\"}", &out, msg,
                              sizeof(msg)), -EINVAL);
    assert_string_equal(msg, "Invalid input for field/attribute networks. Value: some. "
                             "'some' is not valid under any of the given schemas");
    assert_int_equal(networks(MS_MV(2, 37), "{\"networks\": [{\"uuid\": \"abc\"}]}", &out, msg,
                              sizeof(msg)), -EINVAL);
    assert_string_equal(msg, "Invalid input for field/attribute networks. Value: "
                             "[{'uuid': 'abc'}]. [{'uuid': 'abc'}] is not valid under any "
                             "of the given schemas");
    /* Below 2.37 a malformed uuid passes the schema and fails Nova's own check. */
    assert_int_equal(networks(MS_MV(2, 36), "{\"networks\": [{\"uuid\": \"abc\"}]}", &out, msg,
                              sizeof(msg)), -EINVAL);
    assert_string_equal(msg, "Bad networks format: network uuid is not in proper format "
                             "(abc)");
    /* Tags: at 2.32 to 2.36 and from 2.42, not at 2.1 or 2.37 to 2.41. */
    static const char tagged[] = "{\"networks\": [{\"uuid\": \"" NET_MISSING "\", "
                                 "\"tag\": \"nic1\"}]}";
    assert_int_equal(networks(MS_MV(2, 1), tagged, &out, msg, sizeof(msg)), -EINVAL);
    assert_non_null(strstr(msg, "Additional properties are not allowed ('tag' was "
                                "unexpected)"));
    assert_int_equal(networks(MS_MV(2, 40), tagged, &out, msg, sizeof(msg)), -EINVAL);
    assert_non_null(strstr(msg, "is not valid under any of the given schemas"));
    /* Past the schema, no network service: the network is not found. */
    for (int mv = MS_MV(2, 32); mv <= MS_MV(2, 42); mv += 10) {
        assert_int_equal(networks(mv, tagged, &out, msg, sizeof(msg)), -EINVAL);
        assert_string_equal(msg, "Network " NET_MISSING " could not be found.");
    }
    assert_int_equal(networks(MS_MV(2, 42), "{\"networks\": [{\"uuid\": \"" NET_MISSING "\", "
                                            "\"tag\": \"a/b\"}]}",
                              &out, msg, sizeof(msg)), -EINVAL);
    assert_string_equal(msg, "Invalid input for field/attribute networks. Value: [{'uuid': '"
                             NET_MISSING "', 'tag': 'a/b'}]. [{'uuid': '" NET_MISSING
                             "', 'tag': 'a/b'}] is not valid under any of the given schemas");
}

/* ---- a registered network service (test double) ---- */

static int
fake_network_check(const ms_auth_ctx *ctx, const char *id)
{
    (void)ctx;
    return strcmp(id, NET_OK) ? -ENOENT : 0;
}

static int
fake_sg_find(const ms_auth_ctx *ctx, const char *name, char id_out[37])
{
    (void)ctx;
    if (strcmp(name, "web"))
        return -ENOENT;
    snprintf(id_out, 37, "%s", NET_OK);
    return 0;
}

static const ms_network_provider fake_network = {
    .name = "fake",
    .network_check = fake_network_check,
    .security_group_find = fake_sg_find,
};

static void
test_networks_with_service(void **state)
{
    (void)state;
    ms_network_register(&fake_network);
    json_t *out;
    char msg[512];
    assert_int_equal(networks(MS_MV(2, 42), "{\"networks\": [{\"uuid\": \"" NET_OK "\", "
                                            "\"tag\": \"nic1\", \"fixed_ip\": \"10.0.0.4\"}]}",
                              &out, msg, sizeof(msg)), 0);
    assert_string_equal(json_string_value(json_object_get(out, "mode")), "list");
    json_t *r0 = json_array_get(json_object_get(out, "requests"), 0);
    assert_string_equal(json_string_value(json_object_get(r0, "uuid")), NET_OK);
    assert_string_equal(json_string_value(json_object_get(r0, "tag")), "nic1");
    assert_string_equal(json_string_value(json_object_get(r0, "fixed_ip")), "10.0.0.4");
    json_decref(out);
    /* No port_check slot: a port is still not found. */
    assert_int_equal(networks(MS_MV(2, 1), "{\"networks\": [{\"port\": \"" NET_OK "\"}]}",
                              &out, msg, sizeof(msg)), -EINVAL);
    assert_string_equal(msg, "Port id " NET_OK " could not be found.");
    ms_network_register(NULL);
}

static int
groups(const char *srv_json, json_t **out, char *msg, size_t msglen)
{
    call c;
    call_init(&c, MS_MV(2, 1));
    json_t *srv = json_loads(srv_json, 0, NULL);
    assert_non_null(srv);
    int rc = compute_create_security_groups(&c.req, &c.resp, srv, out);
    msg[0] = '\0';
    if (rc < 0)
        message(&c, msg, msglen);
    json_decref(srv);
    call_clear(&c);
    return rc;
}

static void
test_security_groups(void **state)
{
    (void)state;
    json_t *out;
    char msg[512];
    assert_int_equal(groups("{}", &out, msg, sizeof(msg)), 0);
    assert_int_equal(json_array_size(out), 1);
    assert_string_equal(json_string_value(json_array_get(out, 0)), "default");
    json_decref(out);
    assert_int_equal(groups("{\"security_groups\": [{\"name\": \"web\"}]}", &out, msg,
                            sizeof(msg)), -EINVAL);
    assert_string_equal(msg, "Unable to find security_group with name or id 'web'");
    ms_network_register(&fake_network);
    assert_int_equal(groups("{\"security_groups\": [{\"name\": \"web\"}, {}, "
                            "{\"name\": \"default\"}, {\"name\": \"web\"}]}",
                            &out, msg, sizeof(msg)), 0);
    assert_int_equal(json_array_size(out), 2);
    assert_string_equal(json_string_value(json_array_get(out, 0)), "web");
    assert_string_equal(json_string_value(json_array_get(out, 1)), "default");
    json_decref(out);
    ms_network_register(NULL);
    assert_int_equal(groups("{\"security_groups\": [{\"name\": 5}]}", &out, msg, sizeof(msg)),
                     -EINVAL);
    assert_string_equal(msg, "Invalid input for field/attribute name. Value: 5. 5 is not of "
                             "type 'string'");
}

static int
bdms(int mv, const char *srv_json, const compute_flavor *f, json_t **out, char *msg,
     size_t msglen)
{
    call c;
    call_init(&c, mv);
    json_t *srv = json_loads(srv_json, 0, NULL);
    assert_non_null(srv);
    int rc = compute_create_bdms(&c.req, &c.resp, srv, ms_json_strval(srv, "imageRef"), f, 1,
                                 out);
    msg[0] = '\0';
    if (rc < 0)
        message(&c, msg, msglen);
    json_decref(srv);
    call_clear(&c);
    return rc;
}

#define IMG "aaaaaaaa-2222-4333-8444-555555555555"

static void
test_bdms(void **state)
{
    (void)state;
    compute_flavor f = {.ephemeral_gb = 2, .swap = 512};
    json_t *out;
    char msg[512];
    /* No mapping: the image root, then the flavor's ephemeral and swap. */
    assert_int_equal(bdms(MS_MV(2, 1), "{\"imageRef\": \"" IMG "\"}", &f, &out, msg,
                          sizeof(msg)), 0);
    assert_int_equal(json_array_size(out), 3);
    json_t *b = json_array_get(out, 0);
    assert_string_equal(json_string_value(json_object_get(b, "source_type")), "image");
    assert_string_equal(json_string_value(json_object_get(b, "image_id")), IMG);
    assert_int_equal(json_integer_value(json_object_get(b, "boot_index")), 0);
    b = json_array_get(out, 1);
    assert_int_equal(json_integer_value(json_object_get(b, "volume_size")), 2);
    assert_null(json_object_get(b, "guest_format"));
    b = json_array_get(out, 2);
    assert_string_equal(json_string_value(json_object_get(b, "guest_format")), "swap");
    assert_int_equal(json_integer_value(json_object_get(b, "volume_size")), 512);
    json_decref(out);
    /* A requested ephemeral replaces the flavor's; tags only at 2.32 and 2.42+. */
    static const char tagged[] =
        "{\"imageRef\": \"" IMG "\", \"block_device_mapping_v2\": ["
        "{\"source_type\": \"image\", \"uuid\": \"" IMG "\", \"destination_type\": \"local\","
        " \"boot_index\": 0, \"tag\": \"root\"},"
        "{\"source_type\": \"blank\", \"destination_type\": \"local\", \"volume_size\": 1}]}";
    assert_int_equal(bdms(MS_MV(2, 32), tagged, &f, &out, msg, sizeof(msg)), 0);
    assert_int_equal(json_array_size(out), 3);   /* + the flavor's swap */
    assert_string_equal(json_string_value(json_object_get(json_array_get(out, 0), "tag")),
                        "root");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(out, 1),
                                                        "volume_size")), 1);
    json_decref(out);
    assert_int_equal(bdms(MS_MV(2, 42), tagged, &f, &out, msg, sizeof(msg)), 0);
    json_decref(out);
    assert_int_equal(bdms(MS_MV(2, 33), tagged, &f, &out, msg, sizeof(msg)), -EINVAL);
    assert_non_null(strstr(msg, "Additional properties are not allowed ('tag' was "
                                "unexpected)"));
    /* Legacy swap entry and a missing volume. */
    assert_int_equal(bdms(MS_MV(2, 1), "{\"imageRef\": \"" IMG "\", \"block_device_mapping\":"
                                       " [{\"virtual_name\": \"swap\", \"device_name\": "
                                       "\"vdc\", \"volume_size\": 256}]}",
                          &f, &out, msg, sizeof(msg)), 0);
    assert_string_equal(json_string_value(json_object_get(json_array_get(out, 1),
                                                          "guest_format")), "swap");
    assert_int_equal(json_array_size(out), 3);   /* image, swap, flavor ephemeral */
    json_decref(out);
    assert_int_equal(bdms(MS_MV(2, 1), "{\"imageRef\": \"" IMG "\", \"block_device_mapping\":"
                                       " [{\"volume_id\": \"" NET_OK "\"}]}",
                          &f, &out, msg, sizeof(msg)), -EINVAL);
    assert_string_equal(msg, "Volume " NET_OK " could not be found.");
    assert_int_equal(bdms(MS_MV(2, 1), "{\"imageRef\": \"" IMG "\", \"block_device_mapping\":"
                                       " [{\"device_name\": \"vdb\"}]}",
                          &f, &out, msg, sizeof(msg)), -EINVAL);
    assert_string_equal(msg, "Block Device Mapping is Invalid: Unrecognized legacy format.");
    assert_int_equal(bdms(MS_MV(2, 1), "{\"imageRef\": \"" IMG "\", \"block_device_mapping_v2\":"
                                       " [{\"source_type\": \"image\", \"uuid\": \"" IMG "\","
                                       " \"destination_type\": \"local\", \"boot_index\": 0,"
                                       " \"disk_bus\": \"floppy\"}]}",
                          &f, &out, msg, sizeof(msg)), -EINVAL);
    assert_string_equal(msg, "Block Device Mapping is Invalid.");
}

/* ---- metadata documents ---- */

static compute_instance
sample_instance(void)
{
    compute_instance i = {.id = 42, .launch_index = 0, .ephemeral_gb = 1};
    snprintf(i.uuid, sizeof(i.uuid), "6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d");
    snprintf(i.name, sizeof(i.name), "web 1");
    snprintf(i.hostname, sizeof(i.hostname), "web-1");
    snprintf(i.project_id, sizeof(i.project_id), "proj");
    snprintf(i.availability_zone, sizeof(i.availability_zone), "nova");
    snprintf(i.key_name, sizeof(i.key_name), "k1");
    snprintf(i.image_ref, sizeof(i.image_ref), "0000beef-2222-4333-8444-555555555555");
    snprintf(i.flavor_name, sizeof(i.flavor_name), "m1.tiny");
    snprintf(i.reservation_id, sizeof(i.reservation_id), "r-1234");
    i.key_data = strdup("ssh-ed25519 AAAA k1");
    i.user_data = strdup("aGVsbG8=");   /* "hello" */
    i.metadata = json_pack("{s:s}", "role", "web");
    return i;
}

static void
test_meta_documents(void **state)
{
    (void)state;
    compute_instance i = sample_instance();
    compute_meta_src src = {.inst = &i};
    json_t *md = compute_meta_openstack(&src, "latest");
    assert_string_equal(json_string_value(json_object_get(md, "uuid")), i.uuid);
    assert_string_equal(json_string_value(json_object_get(md, "hostname")), "web-1.novalocal");
    assert_string_equal(json_string_value(json_object_get(md, "name")), "web 1");
    assert_string_equal(json_string_value(json_object_get(json_object_get(md, "meta"),
                                                          "role")), "web");
    assert_string_equal(json_string_value(json_object_get(json_object_get(md, "public_keys"),
                                                          "k1")), "ssh-ed25519 AAAA k1");
    json_t *key = json_array_get(json_object_get(md, "keys"), 0);
    assert_string_equal(json_string_value(json_object_get(key, "type")), "ssh");
    assert_string_equal(json_string_value(json_object_get(md, "project_id")), "proj");
    assert_int_equal(json_string_length(json_object_get(md, "random_seed")), 684);
    assert_true(json_is_array(json_object_get(md, "devices")));
    assert_true(json_is_array(json_object_get(md, "dedicated_cpus")));
    json_decref(md);
    md = compute_meta_openstack(&src, "2013-04-04");
    assert_non_null(json_object_get(md, "random_seed"));
    assert_null(json_object_get(md, "project_id"));
    assert_null(json_object_get(md, "devices"));
    json_decref(md);
    assert_null(compute_meta_openstack(&src, "2011-01-01"));
    md = compute_meta_ec2(&src, "latest");
    assert_string_equal(json_string_value(json_object_get(md, "instance-id")), "i-0000002a");
    assert_string_equal(json_string_value(json_object_get(md, "ami-id")), "ami-0000beef");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(md, "block-device-mapping"), "ephemeral0")),
                        "/dev/vdb");
    json_decref(md);
    size_t len;
    char *ud = compute_meta_user_data(&i, &len);
    assert_int_equal(len, 5);
    assert_memory_equal(ud, "hello", 5);
    free(ud);
    compute_instance_clear(&i);
}

static const compute_meta_file *
find(const compute_meta_file *f, size_t n, const char *path)
{
    for (size_t k = 0; k < n; k++) {
        if (!strcmp(f[k].path, path))
            return &f[k];
    }
    return NULL;
}

static void
test_meta_files(void **state)
{
    (void)state;
    compute_instance i = sample_instance();
    json_t *nd = json_pack("{s:[],s:[],s:[]}", "links", "networks", "services");
    compute_meta_src src = {.inst = &i, .key_type = "x509", .network_data = nd,
                            .dhcp_domain = ""};
    compute_meta_file *f;
    size_t n;
    assert_int_equal(compute_meta_files(&src, &f, &n), 0);
    /* ec2: 2 versions x (meta-data.json, user-data); openstack: 10 versions
     * of meta_data.json and user_data, vendor_data.json from 2013-10-17 (8),
     * network_data.json from 2015-10-15 (7), vendor_data2.json from
     * 2016-10-06 (5). */
    assert_int_equal(n, 4 + 20 + 8 + 7 + 5);
    const compute_meta_file *x = find(f, n, "openstack/2016-10-06/vendor_data2.json");
    assert_non_null(x);
    assert_string_equal(x->data, "{\"static\": {}}");
    assert_null(find(f, n, "openstack/2016-06-30/vendor_data2.json"));
    assert_null(find(f, n, "openstack/2013-04-04/vendor_data.json"));
    x = find(f, n, "openstack/latest/network_data.json");
    assert_string_equal(x->data, "{\"links\": [], \"networks\": [], \"services\": []}");
    x = find(f, n, "openstack/latest/user_data");
    assert_int_equal(x->len, 5);
    x = find(f, n, "ec2/2009-04-04/user-data");
    assert_non_null(x);
    x = find(f, n, "openstack/latest/meta_data.json");
    json_t *md = json_loadb(x->data, x->len, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(md, "hostname")), "web-1");
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(md, "keys"), 0), "type")), "x509");
    json_decref(md);
    compute_meta_files_free(f, n);
    json_decref(nd);
    compute_instance_clear(&i);
}

static void
test_domain_devices(void **state)
{
    (void)state;
    virt_domain_spec s = {.uuid = "u", .name = "n", .virt_type = "qemu", .vcpus = 1,
                          .memory_mb = 64, .disk_path = "/i/disk", .console_log = "/i/c",
                          .ephemeral_path = "/i/disk.local", .ephemeral_format = "raw",
                          .swap_path = "/i/disk.swap", .swap_format = "raw",
                          .config_drive_path = "/i/disk.config"};
    char *xml = virt_domain_xml(&s);
    assert_non_null(strstr(xml, "<disk type='file' device='cdrom'>\n"
                                "      <driver name='qemu' type='raw' cache='none'/>\n"
                                "      <source file='/i/disk.config'/>\n"
                                "      <target dev='hdd' bus='ide'/>\n"
                                "      <readonly/>\n"));
    assert_non_null(strstr(xml, "type='raw' cache='none'/>\n"
                                "      <source file='/i/disk.local'/>\n"
                                "      <target dev='vdb' bus='virtio'/>"));
    assert_non_null(strstr(xml, "<source file='/i/disk.swap'/>\n"
                                "      <target dev='vdc' bus='virtio'/>"));
    free(xml);
}

/* 2.90 hostname: Nova's schema (2-63 characters, letters, digits and
 * inner dashes) and its error wording. */
static void
test_hostname(void **state)
{
    (void)state;
    static const struct {
        const char *json;
        const char *msg;          /* NULL: valid */
    } cases[] = {
        {"\"ab\"", NULL},
        {"\"Web-01\"", NULL},
        {"\"a\"", "Invalid input for field/attribute hostname. Value: a. 'a' is too short"},
        {"\"-ab\"", "Invalid input for field/attribute hostname. Value: -ab. '-ab' does not "
                    "match '^[a-zA-Z0-9]+[a-zA-Z0-9-]*[a-zA-Z0-9]+$'"},
        {"\"a.b\"", "Invalid input for field/attribute hostname. Value: a.b. 'a.b' does not "
                    "match '^[a-zA-Z0-9]+[a-zA-Z0-9-]*[a-zA-Z0-9]+$'"},
        {"12", "Invalid input for field/attribute hostname. Value: 12. 12 is not of type "
               "'string'"},
        {"null", "Invalid input for field/attribute hostname. Value: None. None is not of "
                 "type 'string'"},
    };
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        call c;
        call_init(&c, MS_MV(2, 90));
        json_t *v = json_loads(cases[k].json, JSON_DECODE_ANY, NULL);
        bool ok = compute_valid_hostname(&c.resp, v);
        char buf[256];
        if (cases[k].msg) {
            assert_false(ok);
            assert_int_equal(c.resp.status, 400);
            assert_string_equal(message(&c, buf, sizeof(buf)), cases[k].msg);
        } else {
            assert_true(ok);
        }
        json_decref(v);
        call_clear(&c);
    }
    call c;
    call_init(&c, MS_MV(2, 90));
    char long_name[70];
    memset(long_name, 'x', 64);
    long_name[64] = '\0';
    json_t *v = json_string(long_name);
    assert_false(compute_valid_hostname(&c.resp, v));
    char buf[256];
    assert_non_null(strstr(message(&c, buf, sizeof(buf)), "is too long"));
    json_decref(v);
    call_clear(&c);
    call_init(&c, MS_MV(2, 90));
    long_name[63] = '\0';
    v = json_string(long_name);
    assert_true(compute_valid_hostname(&c.resp, v));
    json_decref(v);
    call_clear(&c);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_networks_by_microversion),
        cmocka_unit_test(test_networks_with_service),
        cmocka_unit_test(test_security_groups),
        cmocka_unit_test(test_bdms),
        cmocka_unit_test(test_meta_documents),
        cmocka_unit_test(test_meta_files),
        cmocka_unit_test(test_domain_devices),
        cmocka_unit_test(test_hostname),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
