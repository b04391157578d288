/* The devices of a domain beside its root disk. Ports come from the
 * network service and volumes from the volume service through their
 * interfaces (include/monostack/network.h, volume.h); the local ephemeral
 * and swap disks are raw files formatted as Nova formats them (ext4 with
 * the label ephemeral0, and mkswap); the config drive is built by
 * configdrive.c. Everything is made when missing, so each path that
 * defines a domain (build, rebuild, resize, unshelve) gets the same set. */
#include "devices.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <monostack/config.h>
#include <monostack/exec.h>
#include <monostack/network.h>
#include <monostack/volume.h>

static char *
inst_file(const char *uuid, const char *name)
{
    char *root = compute_instances_path();
    char *p = ms_asprintf("%s/%s/%s", root, uuid, name);
    free(root);
    return p;
}

static ms_auth_ctx
inst_ctx(const compute_instance *i)
{
    ms_auth_ctx ctx = {.authenticated = true};
    snprintf(ctx.project_id, sizeof(ctx.project_id), "%s", i->project_id);
    snprintf(ctx.user_id, sizeof(ctx.user_id), "%s", i->user_id);
    return ctx;
}

int
compute_devices_networks(const compute_instance *i, const json_t *payload, char **err)
{
    json_t *nets = json_object_get(payload, "networks");
    const char *mode_s = ms_json_strval(nets, "mode");
    ms_net_mode mode = MS_NET_ANY;
    if (ms_streq(mode_s, "list"))
        mode = MS_NET_LIST;
    else if (ms_streq(mode_s, "auto"))
        mode = MS_NET_AUTO;
    else if (ms_streq(mode_s, "none"))
        mode = MS_NET_NONE;
    json_t *reqs = json_object_get(nets, "requests");
    size_t nreq = json_array_size(reqs);
    ms_net_request *r = ms_calloc(nreq + 1, sizeof(*r));
    size_t k;
    json_t *v;
    json_array_foreach(reqs, k, v) {
        snprintf(r[k].network_id, sizeof(r[k].network_id), "%s",
                 ms_json_strval(v, "uuid") ? ms_json_strval(v, "uuid") : "");
        snprintf(r[k].port_id, sizeof(r[k].port_id), "%s",
                 ms_json_strval(v, "port") ? ms_json_strval(v, "port") : "");
        snprintf(r[k].fixed_ip, sizeof(r[k].fixed_ip), "%s",
                 ms_json_strval(v, "fixed_ip") ? ms_json_strval(v, "fixed_ip") : "");
        snprintf(r[k].tag, sizeof(r[k].tag), "%s",
                 ms_json_strval(v, "tag") ? ms_json_strval(v, "tag") : "");
    }
    size_t nsg = json_array_size(i->security_groups);
    const char **sgs = ms_calloc(nsg + 1, sizeof(*sgs));
    json_array_foreach(i->security_groups, k, v)
        sgs[k] = json_string_value(v);
    if (!nsg)
        sgs[nsg++] = "default";
    ms_auth_ctx ctx = inst_ctx(i);
    ms_net_vif *vifs = NULL;
    size_t nvifs = 0;
    char *e = NULL;
    int rc = mode == MS_NET_NONE ? 0
                                 : ms_network_allocate(&ctx, i->uuid, ms_conf.host, mode, r,
                                                       nreq, sgs, nsg, &vifs, &nvifs, &e);
    if (rc < 0)
        *err = ms_asprintf("Build of instance %s aborted: Failed to allocate the network(s), "
                           "not rescheduling.%s%s", i->uuid, e ? " " : "", e ? e : "");
    free(e);
    free(vifs);
    free(sgs);
    free(r);
    return rc;
}

static bool
needs_volume(const json_t *b)
{
    return ms_streq(ms_json_strval(b, "destination_type"), "volume");
}

int
compute_devices_volumes(const compute_instance *i, char **err)
{
    json_t *bdms = NULL;
    int rc = compute_bdm_db_list(i->uuid, &bdms);
    if (rc < 0)
        return -EAGAIN;
    size_t k;
    json_t *b;
    json_array_foreach(bdms, k, b) {
        if (!needs_volume(b) || ms_json_strval(b, "attachment_id"))
            continue;
        /* Creating and attaching goes through the volume service, and the
         * domain needs the connection info in its XML; with no volume
         * service this fails as Nova's build does when Cinder cannot
         * serve the mapping. */
        ms_auth_ctx ctx = inst_ctx(i);
        char vol[37] = "", att[37] = "";
        char *e = NULL;
        const char *vid = ms_json_strval(b, "volume_id");
        if (vid) {
            snprintf(vol, sizeof(vol), "%s", vid);
        } else {
            json_t *vs = json_object_get(b, "volume_size");
            ms_volume_create_req cr = {
                .image_id = ms_json_strval(b, "image_id"),
                .snapshot_id = ms_json_strval(b, "snapshot_id"),
                .size_gb = json_is_integer(vs) ? json_integer_value(vs) : 0,
                .availability_zone = i->availability_zone,
                .volume_type = ms_json_strval(b, "volume_type")};
            rc = ms_volume_create(&ctx, &cr, vol, &e);
        }
        if (rc == 0)
            rc = ms_volume_attachment_create(&ctx, vol, i->uuid, att, &e);
        if (rc == 0) {
            /* The attachment flow continues in the volume module's work. */
            free(e);
            e = ms_strdup("attaching volumes at boot is not implemented yet");
            rc = -ENOTSUP;
        }
        if (rc < 0) {
            ms_warn("Failure prepping block device. instance=%s error=\"%s\"", i->uuid,
                    e ? e : "");
            *err = ms_asprintf("Build of instance %s aborted: Failure prepping block device.",
                               i->uuid);
            free(e);
            break;
        }
    }
    json_decref(bdms);
    return rc;
}

/* A raw disk of size_mb, formatted by argv (the path appended); kept when
 * it exists. */
static int
local_disk(const char *path, long long size_mb, const char *const *mkfs, char **err)
{
    if (access(path, F_OK) == 0)
        return 0;
    char *part = ms_asprintf("%s.part", path);
    int fd = open(part, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int rc = fd < 0 || ftruncate(fd, (off_t)size_mb << 20) < 0 ? -errno : 0;
    if (fd >= 0)
        close(fd);
    if (rc == 0) {
        const char *argv[12];
        size_t n = 0;
        for (; mkfs[n] && n < 10; n++)
            argv[n] = mkfs[n];
        argv[n++] = part;
        argv[n] = NULL;
        ms_exec_result r = {0};
        rc = ms_exec(argv, NULL, 120000, &r);
        if (rc < 0)
            *err = ms_asprintf("%s failed: %s", mkfs[0], r.err && *r.err ? r.err : strerror(-rc));
        ms_exec_result_free(&r);
    } else {
        *err = ms_asprintf("Cannot create %s: %s", path, strerror(-rc));
    }
    if (rc == 0 && rename(part, path) < 0) {
        rc = -errno;
        *err = ms_asprintf("Cannot create %s: %s", path, strerror(errno));
    }
    if (rc < 0)
        unlink(part);
    free(part);
    return rc;
}

static int
config_drive(const compute_instance *i, char **path_out, char **err)
{
    *path_out = NULL;
    if (!compute_configdrive_wanted(i))
        return 0;
    char *path = inst_file(i->uuid, "disk.config");
    int rc = 0;
    if (access(path, F_OK) != 0) {
        compute_keypair key = {0};
        const char *type = "ssh";
        if (i->key_name[0] && compute_keypair_db_get(i->user_id, i->key_name, &key) == 0 &&
            key.public_key && ms_streq(key.public_key, i->key_data))
            type = key.type;
        json_t *nd = NULL;
        ms_network_metadata(i->uuid, &nd);
        compute_meta_src src = {.inst = i, .key_type = type, .network_data = nd};
        rc = compute_configdrive_make(&src, path, err);
        json_decref(nd);
        compute_keypair_clear(&key);
    }
    /* A drive forced by [compute] force_config_drive shows in the API, and
     * stays with the server afterwards, as Nova's update_instance does. */
    if (rc == 0 && strcasecmp(i->config_drive, "True"))
        compute_instance_db_set_config_drive(i->uuid, "True");
    if (rc == 0)
        *path_out = path;
    else
        free(path);
    return rc;
}

int
compute_devices_prepare(const compute_instance *i, compute_devices *out, char **err)
{
    memset(out, 0, sizeof(*out));
    json_t *bdms = NULL;
    if (compute_bdm_db_list(i->uuid, &bdms) < 0)
        return -EAGAIN;
    /* Servers made before mappings were stored get the flavor's disks. */
    long long eph_gb = json_array_size(bdms) ? 0 : i->ephemeral_gb;
    long long swap_mb = json_array_size(bdms) ? 0 : i->swap;
    size_t k;
    json_t *b;
    json_array_foreach(bdms, k, b) {
        if (!ms_streq(ms_json_strval(b, "source_type"), "blank") ||
            !ms_streq(ms_json_strval(b, "destination_type"), "local"))
            continue;
        json_t *vs = json_object_get(b, "volume_size");
        long long size = json_is_integer(vs) ? json_integer_value(vs) : 0;
        /* A swap mapping's size is in MiB, an ephemeral one's in GiB. */
        if (ms_streq(ms_json_strval(b, "guest_format"), "swap"))
            swap_mb = size ? size : i->swap;
        else
            eph_gb += size ? size : i->ephemeral_gb;
    }
    json_decref(bdms);
    int rc = 0;
    if (eph_gb > 0) {
        out->ephemeral_path = inst_file(i->uuid, "disk.local");
        static const char *const mkfs[] = {"mkfs.ext4", "-F", "-q", "-L", "ephemeral0", NULL};
        rc = local_disk(out->ephemeral_path, eph_gb << 10, mkfs, err);
    }
    if (rc == 0 && swap_mb > 0) {
        out->swap_path = inst_file(i->uuid, "disk.swap");
        static const char *const mkswap[] = {"mkswap", NULL};
        rc = local_disk(out->swap_path, swap_mb, mkswap, err);
    }
    if (rc == 0)
        rc = config_drive(i, &out->config_drive_path, err);
    if (rc == 0) {
        ms_net_vif *vifs = NULL;
        size_t n = 0;
        if (ms_network_instance_vifs(i->uuid, &vifs, &n) == 0 && n) {
            out->nics = ms_calloc(n, sizeof(*out->nics));
            for (size_t v = 0; v < n; v++) {
                snprintf(out->nics[v].mac, sizeof(out->nics[v].mac), "%s", vifs[v].mac);
                snprintf(out->nics[v].bridge, sizeof(out->nics[v].bridge), "%s",
                         vifs[v].bridge);
                snprintf(out->nics[v].tap, sizeof(out->nics[v].tap), "%s", vifs[v].tap);
            }
            out->nnics = (int)n;
        }
        free(vifs);
    }
    if (rc < 0)
        compute_devices_clear(out);
    return rc;
}

void
compute_devices_clear(compute_devices *d)
{
    free(d->ephemeral_path);
    free(d->swap_path);
    free(d->config_drive_path);
    free(d->nics);
    memset(d, 0, sizeof(*d));
}

void
compute_devices_release(const compute_instance *i)
{
    char *e = NULL;
    if (ms_network_deallocate(i->uuid, &e) < 0)
        ms_warn("Failed to deallocate network for instance. instance=%s error=\"%s\"", i->uuid,
                e ? e : "");
    free(e);
    json_t *bdms = NULL;
    if (compute_bdm_db_list(i->uuid, &bdms) == 0) {
        ms_auth_ctx ctx = inst_ctx(i);
        size_t k;
        json_t *b;
        json_array_foreach(bdms, k, b) {
            const char *att = ms_json_strval(b, "attachment_id");
            const char *vol = ms_json_strval(b, "volume_id");
            e = NULL;
            if (att)
                ms_volume_attachment_delete(att, &e);
            free(e);
            e = NULL;
            if (vol && json_is_true(json_object_get(b, "delete_on_termination")))
                ms_volume_delete(&ctx, vol, &e);
            free(e);
        }
        json_decref(bdms);
    }
    compute_bdm_db_delete_all(i->uuid);
}
