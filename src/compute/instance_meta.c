/* The documents a guest reads about itself, as Nova's InstanceMetadata
 * renders them: openstack/<version>/meta_data.json and friends, and the
 * EC2-style meta-data. Pure functions of the instance row (plus the
 * keypair type and the network service's network_data.json), so the
 * config drive writer and the metadata service serve the same bytes and
 * unit tests can check them without a database. */
#include "compute.h"

#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

/* Nova's OpenStack metadata versions, oldest first (Folsom ... Victoria). */
const char *const compute_meta_openstack_versions[] = {
    "2012-08-10", "2013-04-04", "2013-10-17", "2015-10-15", "2016-06-30",
    "2016-10-06", "2017-02-22", "2018-08-27", "2020-10-14", NULL,
};

/* The EC2 versions Nova writes to a config drive: its list minus the
 * default [api] config_drive_skip_versions, which skips all but the last. */
static const char *const ec2_drive_versions[] = {"2009-04-04", "latest"};

/* Index of version in the OpenStack list ("latest" is past the end); -1
 * when unknown. */
static int
os_version_index(const char *version)
{
    int n = 0;
    while (compute_meta_openstack_versions[n])
        n++;
    if (!strcmp(version, "latest"))
        return n;
    for (int k = 0; k < n; k++) {
        if (!strcmp(compute_meta_openstack_versions[k], version))
            return k;
    }
    return -1;
}

static bool
os_at_least(int idx, const char *required)
{
    return idx >= os_version_index(required);
}

static char *
full_hostname(const compute_meta_src *src)
{
    const char *dom = src->dhcp_domain ? src->dhcp_domain : "novalocal";
    if (!*dom)
        return ms_strdup(src->inst->hostname);
    return ms_asprintf("%s.%s", src->inst->hostname, dom);
}

char *
compute_meta_user_data(const compute_instance *inst, size_t *len)
{
    *len = 0;
    if (!inst->user_data)
        return NULL;
    size_t in = strlen(inst->user_data);
    char *out = ms_malloc(in / 4 * 3 + 4);
    int n = in ? EVP_DecodeBlock((unsigned char *)out, (const unsigned char *)inst->user_data,
                                 (int)in)
               : 0;
    if (n < 0) {
        free(out);
        return NULL;
    }
    /* EVP_DecodeBlock counts the padding as data bytes. */
    for (size_t k = in; k > 0 && inst->user_data[k - 1] == '=' && n > 0; k--)
        n--;
    out[n] = '\0';
    *len = (size_t)n;
    return out;
}

static json_t *
random_seed(void)
{
    unsigned char raw[512];
    if (RAND_bytes(raw, sizeof(raw)) != 1)
        memset(raw, 0, sizeof(raw));
    char b64[4 * sizeof(raw) / 3 + 4];
    EVP_EncodeBlock((unsigned char *)b64, raw, sizeof(raw));
    return json_string(b64);
}

json_t *
compute_meta_openstack(const compute_meta_src *src, const char *version)
{
    int idx = os_version_index(version);
    if (idx < 0)
        return NULL;
    const compute_instance *i = src->inst;
    json_t *md = json_pack("{s:s}", "uuid", i->uuid);
    if (i->metadata && json_object_size(i->metadata))
        json_object_set(md, "meta", i->metadata);
    if (i->key_name[0] && i->key_data) {
        json_object_set_new(md, "public_keys", json_pack("{s:s}", i->key_name, i->key_data));
        json_object_set_new(md, "keys",
                            json_pack("[{s:s,s:s,s:s}]", "name", i->key_name, "type",
                                      src->key_type ? src->key_type : "ssh", "data",
                                      i->key_data));
    }
    char *host = full_hostname(src);
    json_object_set_new(md, "hostname", json_string(host));
    free(host);
    json_object_set_new(md, "name", json_string(i->name));
    json_object_set_new(md, "launch_index", json_integer(i->launch_index));
    ms_json_set_str(md, "availability_zone",
                    i->availability_zone[0] ? i->availability_zone : NULL);
    if (os_at_least(idx, "2013-04-04"))
        json_object_set_new(md, "random_seed", random_seed());
    if (os_at_least(idx, "2015-10-15"))
        json_object_set_new(md, "project_id", json_string(i->project_id));
    /* Device tags come with tagged ports and volumes; none exist yet. */
    if (os_at_least(idx, "2016-06-30"))
        json_object_set_new(md, "devices", json_array());
    if (os_at_least(idx, "2020-10-14"))
        json_object_set_new(md, "dedicated_cpus", json_array());
    return md;
}

/* The root device mapping Nova's instance_block_mapping gives an
 * image-booted instance on libvirt, plus its local disks. */
static json_t *
ec2_mappings(const compute_instance *i)
{
    json_t *m = json_pack("{s:s,s:s}", "ami", "vda", "root", "/dev/vda");
    if (i->ephemeral_gb > 0)
        json_object_set_new(m, "ephemeral0", json_string("/dev/vdb"));
    if (i->swap > 0)
        json_object_set_new(m, "swap", json_string(i->ephemeral_gb > 0 ? "/dev/vdc"
                                                                          : "/dev/vdb"));
    return m;
}

json_t *
compute_meta_ec2(const compute_meta_src *src, const char *version)
{
    (void)version;   /* every version written to a drive is the last one */
    const compute_instance *i = src->inst;
    char inst_id[32], ami[32];
    snprintf(inst_id, sizeof(inst_id), "i-%08llx", i->id);
    /* Nova numbers images in its own EC2 id table; the image uuid's first
     * 32 bits stand in for that number here. */
    char head[9] = "";
    snprintf(head, sizeof(head), "%.8s", i->image_ref);
    unsigned long img = strtoul(head, NULL, 16);
    snprintf(ami, sizeof(ami), "ami-%08lx", img);
    char *host = full_hostname(src);
    json_t *sgs = json_array();
    if (i->security_groups) {
        size_t k;
        json_t *v;
        json_array_foreach(i->security_groups, k, v)
            json_array_append(sgs, v);
    } else {
        json_array_append_new(sgs, json_string("default"));
    }
    json_t *md = json_pack("{s:s,s:i,s:s,s:s,s:s,s:n,s:s,s:o}", "ami-id", ami,
                           "ami-launch-index", i->launch_index, "ami-manifest-path", "FIXME",
                           "instance-id", inst_id, "hostname", host, "local-ipv4",
                           "reservation-id", i->reservation_id, "security-groups", sgs);
    if (i->key_name[0] && i->key_data)
        json_object_set_new(md, "public-keys",
                            json_pack("{s:{s:s}}", "0", "openssh-key", i->key_data));
    json_object_set_new(md, "local-hostname", json_string(host));
    json_object_set_new(md, "public-hostname", json_string(host));
    json_object_set_new(md, "public-ipv4", json_string(""));
    json_object_set_new(md, "instance-type", json_string(i->flavor_name));
    json_object_set_new(md, "block-device-mapping", ec2_mappings(i));
    json_object_set_new(md, "placement",
                        json_pack("{s:s?}", "availability-zone",
                                  i->availability_zone[0] ? i->availability_zone : NULL));
    json_object_set_new(md, "instance-action", json_string("none"));
    free(host);
    return md;
}

static void
add_file(compute_meta_file **files, size_t *n, size_t *cap, char *path, char *data, size_t len)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 32;
        *files = ms_realloc(*files, *cap * sizeof(**files));
    }
    (*files)[(*n)++] = (compute_meta_file){.path = path, .data = data, .len = len};
}

/* json.dumps's default layout (", " and ": "), which is what Nova writes. */
static void
add_json(compute_meta_file **files, size_t *n, size_t *cap, char *path, json_t *doc)
{
    char *s = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
    ms_buf b = {0};
    bool in_str = false, esc = false;
    for (const char *c = s; *c; c++) {
        ms_buf_add(&b, c, 1);
        if (in_str) {
            if (esc)
                esc = false;
            else if (*c == '\\')
                esc = true;
            else if (*c == '"')
                in_str = false;
        } else if (*c == '"') {
            in_str = true;
        } else if (*c == ',' || *c == ':') {
            ms_buf_adds(&b, " ");
        }
    }
    free(s);
    json_decref(doc);
    size_t len = b.len;
    add_file(files, n, cap, path, ms_buf_steal(&b), len);
}

int
compute_meta_files(const compute_meta_src *src, compute_meta_file **out, size_t *n)
{
    size_t cap = 0;
    *out = NULL;
    *n = 0;
    size_t ud_len = 0;
    char *ud = compute_meta_user_data(src->inst, &ud_len);
    for (size_t k = 0; k < MS_ARRAY_LEN(ec2_drive_versions); k++) {
        const char *v = ec2_drive_versions[k];
        if (ud)
            add_file(out, n, &cap, ms_asprintf("ec2/%s/user-data", v), ms_strndup(ud, ud_len),
                     ud_len);
        add_json(out, n, &cap, ms_asprintf("ec2/%s/meta-data.json", v),
                 compute_meta_ec2(src, v));
    }
    int nv = os_version_index("latest");
    for (int k = 0; k <= nv; k++) {
        const char *v = k < nv ? compute_meta_openstack_versions[k] : "latest";
        add_json(out, n, &cap, ms_asprintf("openstack/%s/meta_data.json", v),
                 compute_meta_openstack(src, v));
        if (ud)
            add_file(out, n, &cap, ms_asprintf("openstack/%s/user_data", v),
                     ms_strndup(ud, ud_len), ud_len);
        /* Nova's default vendordata provider (StaticJSON without a file)
         * gives an empty object. */
        if (os_at_least(k, "2013-10-17"))
            add_json(out, n, &cap, ms_asprintf("openstack/%s/vendor_data.json", v),
                     json_object());
        if (os_at_least(k, "2015-10-15"))
            add_json(out, n, &cap, ms_asprintf("openstack/%s/network_data.json", v),
                     src->network_data ? json_deep_copy(src->network_data) : json_object());
        if (os_at_least(k, "2016-10-06"))
            add_json(out, n, &cap, ms_asprintf("openstack/%s/vendor_data2.json", v),
                     json_pack("{s:{}}", "static"));
    }
    free(ud);
    return 0;
}

void
compute_meta_files_free(compute_meta_file *files, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        free(files[k].path);
        free(files[k].data);
    }
    free(files);
}
