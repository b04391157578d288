/* POST /servers/{id}/action: one table says, for each action, which
 * vm_states allow it (Nova's check_instance_state; anything else is 409),
 * the task_state it sets and the worker task that finishes it. Lock,
 * unlock, console output and os-resetState complete in the API. */
#include "compute.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <monostack/config.h>
#include <monostack/image.h>

typedef struct {
    const char *name;             /* body key */
    const char *action;           /* instance action recorded */
    const char *vm_states[6];     /* allowed; empty = any */
    const char *task_state;       /* set while the worker runs */
    const char *task;             /* task type */
    const char *admin_policy;     /* admin only: the Nova rule named in the 403 */
} action_rule;

static const action_rule rules[] = {
    {"os-stop", "stop", {"active", "error"}, "powering-off", "power_off", NULL},
    {"os-start", "start", {"stopped"}, "powering-on", "power_on", NULL},
    {"pause", "pause", {"active"}, "pausing", "pause", NULL},
    {"unpause", "unpause", {"paused"}, "unpausing", "unpause", NULL},
    {"suspend", "suspend", {"active"}, "suspending", "suspend", NULL},
    {"resume", "resume", {"suspended"}, "resuming", "resume", NULL},
    {"unrescue", "unrescue", {"rescued"}, "unrescuing", "unrescue", NULL},
    {"shelveOffload", "shelveOffload", {"shelved"}, "shelving_offloading", "shelve_offload",
     "os_compute_api:os-shelve:shelve_offload"},
};

static void
invalid_state(ms_response *resp, const char *action, const compute_instance *i)
{
    if (i->task_state[0])
        ms_resp_error(resp, 409, "Cannot '%s' instance %s while it is in task_state %s",
                      action, i->uuid, i->task_state);
    else
        ms_resp_error(resp, 409, "Cannot '%s' instance %s while it is in vm_state %s", action,
                      i->uuid, i->vm_state);
}

static bool
state_allowed(const char *const *states, const char *vm)
{
    if (!states[0])
        return true;
    for (int k = 0; k < 6 && states[k]; k++) {
        if (!strcmp(states[k], vm))
            return true;
    }
    return false;
}

/* Move the server into task_state and enqueue the task. Answers with
 * status (202, 204), or leaves the answer to the caller when status is 0;
 * returns 1 when the action was accepted, 0 when answered with an error,
 * or a negative errno. */
static int
run_action_status(ms_request *req, ms_response *resp, compute_instance *i, const char *action,
                  const char *const *vm_states, const char *task_state, const char *task,
                  json_t *extra, int status)
{
    if (!state_allowed(vm_states, i->vm_state) || i->task_state[0]) {
        invalid_state(resp, action, i);
        return 0;
    }
    json_t *payload = json_pack("{s:s}", "request_id", req->request_id);
    if (extra)
        json_object_update(payload, extra);
    long long tid = 0;
    const char *host = i->host[0] ? i->host : ms_conf.host;
    int rc = compute_instance_db_action(i->uuid, vm_states[0] ? vm_states : NULL, NULL,
                                        task_state, task, payload, host, action,
                                        req->request_id, req->auth.user_id,
                                        req->auth.project_id, &tid);
    json_decref(payload);
    if (rc == -EBUSY) {
        /* The state changed under us: answer as Nova does for the new state. */
        compute_instance now;
        if (compute_instance_db_get(i->uuid, false, &now) == 0) {
            invalid_state(resp, action, &now);
            compute_instance_clear(&now);
        } else {
            invalid_state(resp, action, i);
        }
        return 0;
    }
    if (rc < 0)
        return rc;
    ms_task_publish("compute", host, tid);
    if (status)
        ms_resp_empty(resp, status);
    return 1;
}

static int
run_action(ms_request *req, ms_response *resp, compute_instance *i, const char *action,
           const char *const *vm_states, const char *task_state, const char *task,
           json_t *extra)
{
    int rc = run_action_status(req, resp, i, action, vm_states, task_state, task, extra, 202);
    return rc < 0 ? rc : 0;
}

static int
console_output(ms_request *req, ms_response *resp, compute_instance *i, json_t *arg)
{
    long long length = -1;
    json_t *l = json_is_object(arg) ? json_object_get(arg, "length") : NULL;
    if (l && !json_is_null(l)) {
        if (!compute_json_intlike(l, &length) && !(json_is_integer(l) && (length = json_integer_value(l)) >= -1)) {
            compute_bad_field(resp, "length", l, "is not of type 'integer', 'string'");
            return 0;
        }
    }
    (void)req;
    if (!strcmp(i->vm_state, "building") || !i->host[0]) {
        ms_resp_error(resp, 409, "Cannot 'get_console_output' instance %s while it is in "
                                 "vm_state %s",
                      i->uuid, i->vm_state);
        return 0;
    }
    char *path = compute_console_log_path(i->uuid);
    FILE *fp = fopen(path, "r");
    free(path);
    ms_buf b = {0};
    if (fp) {
        char buf[65536];
        size_t n;
        while ((n = fread(buf, 1, sizeof(buf), fp)) > 0)
            ms_buf_add(&b, buf, n);
        fclose(fp);
    }
    const char *text = b.len ? ms_buf_cstr(&b) : "";
    /* Keep the last `length` lines, as Nova does. */
    if (length >= 0 && b.len) {
        size_t end = b.len;
        if (end && text[end - 1] == '\n')
            end--;
        long long lines = 0;
        size_t pos = end;
        while (pos > 0) {
            if (text[pos - 1] == '\n' && ++lines == length)
                break;
            pos--;
        }
        text += (length == 0) ? b.len : pos;
    }
    ms_resp_json(resp, 200, json_pack("{s:s}", "output", text));
    ms_buf_free(&b);
    return 0;
}

/* Additional properties are refused, as Nova's schemas do. */
static bool
only_keys(ms_response *resp, const char *field, json_t *obj, const char *const *keys)
{
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v) {
        bool ok = false;
        for (size_t n = 0; keys[n]; n++)
            ok = ok || !strcmp(keys[n], k);
        if (!ok) {
            ms_resp_error(resp, 400,
                          "Invalid input for field/attribute %s. Value: {...}. Additional "
                          "properties are not allowed ('%s' was unexpected)",
                          field, k);
            return false;
        }
    }
    return true;
}

static bool
valid_name_field(ms_response *resp, json_t *name)
{
    if (!json_is_string(name) || json_string_length(name) < 1 ||
        json_string_length(name) > 255 || !compute_valid_name(json_string_value(name))) {
        compute_bad_field(resp, "name", name,
                          !json_is_string(name)
                              ? "is not of type 'string'"
                              : "An invalid 'name' value was provided. The name must be: "
                                "printable characters. Can not start or end with whitespace.");
        return false;
    }
    return true;
}

static bool
valid_metadata(ms_response *resp, json_t *meta)
{
    if (!json_is_object(meta)) {
        compute_bad_field(resp, "metadata", meta, "is not of type 'object'");
        return false;
    }
    const char *k;
    json_t *v;
    json_object_foreach(meta, k, v) {
        if (strlen(k) < 1 || strlen(k) > 255 || !json_is_string(v) ||
            json_string_length(v) > 255) {
            compute_bad_field(resp, "metadata", meta,
                              "Metadata keys and values must be strings of 1 to 255 "
                              "characters.");
            return false;
        }
    }
    return true;
}

/* createImage: a queued image owned by the caller's project now, its data
 * uploaded by the worker; 202 with the image in Location (2.1). */
static int
create_image(ms_request *req, ms_response *resp, compute_instance *i, json_t *arg)
{
    if (!json_is_object(arg)) {
        compute_bad_field(resp, "createImage", arg, "is not of type 'object'");
        return 0;
    }
    static const char *const keys[] = {"name", "metadata", NULL};
    if (!only_keys(resp, "createImage", arg, keys))
        return 0;
    json_t *name = json_object_get(arg, "name");
    if (!name) {
        ms_resp_error(resp, 400, "Invalid input for field/attribute createImage. Value: "
                                 "{...}. 'name' is a required property");
        return 0;
    }
    if (!valid_name_field(resp, name))
        return 0;
    json_t *meta = json_object_get(arg, "metadata");
    if (meta && !valid_metadata(resp, meta))
        return 0;
    /* Before 2.39 the image's metadata counts against metadata_items. */
    if (meta && json_object_size(meta) && req->mv < MS_MV(2, 39)) {
        long long limits[Q_COUNT];
        int qrc = compute_quota_limits(i->project_id, limits);
        if (qrc < 0)
            return qrc;
        if (limits[Q_METADATA_ITEMS] >= 0 &&
            (long long)json_object_size(meta) > limits[Q_METADATA_ITEMS]) {
            ms_resp_error(resp, 403, "Image metadata limit exceeded");
            return 0;
        }
    }
    static const char *const ok[6] = {"active", "stopped", "paused", "suspended"};
    if (!state_allowed(ok, i->vm_state) || i->task_state[0]) {
        invalid_state(resp, "createImage", i);
        return 0;
    }
    json_t *props = meta ? json_deep_copy(meta) : json_object();
    json_object_set_new(props, "instance_uuid", json_string(i->uuid));
    json_object_set_new(props, "image_type", json_string("snapshot"));
    json_object_set_new(props, "base_image_ref", json_string(i->image_ref));
    json_object_set_new(props, "user_id", json_string(req->auth.user_id));
    char image_id[37];
    int rc = ms_image_snapshot_create(&req->auth, json_string_value(name), "qcow2", "bare",
                                      props, image_id);
    json_decref(props);
    if (rc < 0)
        return rc;
    json_t *extra = json_pack("{s:s}", "image_id", image_id);
    rc = run_action_status(req, resp, i, "createImage", ok, "image_snapshot", "snapshot",
                           extra, 0);
    json_decref(extra);
    if (rc <= 0) {
        ms_image_kill(image_id);
        return rc;
    }
    /* 2.45: the image id in the body instead of a Location header. */
    if (req->mv >= MS_MV(2, 45)) {
        ms_resp_json(resp, 202, json_pack("{s:s}", "image_id", image_id));
        return 0;
    }
    char *loc = compute_href(req, "images", image_id);
    ms_resp_header(resp, "Location", loc);
    free(loc);
    ms_resp_empty(resp, 202);
    return 0;
}

/* createBackup: createImage's snapshot with image_type "backup" and its
 * backup_type; once uploaded, the worker keeps only the newest `rotation`
 * backups of that type (Nova's _rotate_backups). 202, with the image in
 * Location unless rotation is 0 (in the body from 2.45). */
static int
create_backup(ms_request *req, ms_response *resp, compute_instance *i, json_t *arg)
{
    if (!json_is_object(arg)) {
        compute_bad_field(resp, "createBackup", arg, "is not of type 'object'");
        return 0;
    }
    static const char *const keys[] = {"name", "backup_type", "rotation", "metadata", NULL};
    if (!only_keys(resp, "createBackup", arg, keys))
        return 0;
    static const char *const required[] = {"name", "backup_type", "rotation"};
    for (size_t k = 0; k < MS_ARRAY_LEN(required); k++) {
        if (!json_object_get(arg, required[k])) {
            ms_resp_error(resp, 400, "Invalid input for field/attribute createBackup. Value: "
                                     "{...}. '%s' is a required property",
                          required[k]);
            return 0;
        }
    }
    json_t *name = json_object_get(arg, "name");
    if (!valid_name_field(resp, name))
        return 0;
    json_t *type = json_object_get(arg, "backup_type");
    if (!json_is_string(type)) {
        compute_bad_field(resp, "backup_type", type, "is not of type 'string'");
        return 0;
    }
    json_t *rot = json_object_get(arg, "rotation");
    long long rotation;
    if (!compute_json_intlike(rot, &rotation) || rotation < 0) {
        compute_bad_field(resp, "rotation", rot,
                          json_is_integer(rot) ? "is less than the minimum of 0"
                                               : "is not of type 'integer', 'string'");
        return 0;
    }
    json_t *meta = json_object_get(arg, "metadata");
    if (meta && !valid_metadata(resp, meta))
        return 0;
    static const char *const ok[6] = {"active", "stopped", "paused", "suspended"};
    if (!state_allowed(ok, i->vm_state) || i->task_state[0]) {
        invalid_state(resp, "createBackup", i);
        return 0;
    }
    json_t *props = meta ? json_deep_copy(meta) : json_object();
    json_object_set_new(props, "instance_uuid", json_string(i->uuid));
    json_object_set_new(props, "image_type", json_string("backup"));
    json_object_set(props, "backup_type", type);
    json_object_set_new(props, "base_image_ref", json_string(i->image_ref));
    json_object_set_new(props, "user_id", json_string(req->auth.user_id));
    char image_id[37];
    int rc = ms_image_snapshot_create(&req->auth, json_string_value(name), "qcow2", "bare",
                                      props, image_id);
    json_decref(props);
    if (rc < 0)
        return rc;
    json_t *extra = json_pack("{s:s,s:O,s:I}", "image_id", image_id, "backup_type", type,
                              "rotation", (json_int_t)rotation);
    rc = run_action_status(req, resp, i, "createBackup", ok, "image_backup", "snapshot",
                           extra, 0);
    json_decref(extra);
    if (rc <= 0) {
        ms_image_kill(image_id);
        return rc;
    }
    /* From 2.45 the image id comes in the body, without Location. */
    if (req->mv >= MS_MV(2, 45)) {
        ms_resp_json(resp, 202, json_pack("{s:s}", "image_id", image_id));
        return 0;
    }
    if (rotation > 0) {
        char *loc = compute_href(req, "images", image_id);
        ms_resp_header(resp, "Location", loc);
        free(loc);
    }
    ms_resp_empty(resp, 202);
    return 0;
}

/* Flavor reference as Nova takes it: a string or integer, maybe a URL. */
static bool
flavor_ref(json_t *fref, char out[256])
{
    if (json_is_string(fref) && json_string_length(fref) >= 1 &&
        json_string_length(fref) < 256)
        snprintf(out, 256, "%s", json_string_value(fref));
    else if (json_is_integer(fref))
        snprintf(out, 256, "%lld", (long long)json_integer_value(fref));
    else
        return false;
    const char *slash = strrchr(out, '/');
    if (slash)
        memmove(out, slash + 1, strlen(slash));
    return true;
}

static int
resize(ms_request *req, ms_response *resp, compute_instance *i, json_t *arg)
{
    if (!json_is_object(arg)) {
        compute_bad_field(resp, "resize", arg, "is not of type 'object'");
        return 0;
    }
    static const char *const keys[] = {"flavorRef", "OS-DCF:diskConfig", NULL};
    if (!only_keys(resp, "resize", arg, keys))
        return 0;
    json_t *fref = json_object_get(arg, "flavorRef");
    char fid[256];
    if (!fref) {
        ms_resp_error(resp, 400, "Invalid input for field/attribute resize. Value: {...}. "
                                 "'flavorRef' is a required property");
        return 0;
    }
    if (!flavor_ref(fref, fid)) {
        compute_bad_field(resp, "flavorRef", fref, "is not of type 'string', 'integer'");
        return 0;
    }
    int auto_disk = compute_disk_config(resp, arg);
    if (auto_disk == -2)
        return 0;
    static const char *const ok[6] = {"active", "stopped"};
    if (!state_allowed(ok, i->vm_state) || i->task_state[0]) {
        invalid_state(resp, "resize", i);
        return 0;
    }
    compute_flavor f;
    int rc = compute_flavor_db_get(fid, &f);
    if (rc == 0 && !req->auth.is_admin && !f.is_public) {
        bool has = false;
        rc = compute_flavor_db_access_has(f.id, req->auth.project_id, &has);
        if (rc == 0 && !has) {
            compute_flavor_clear(&f);
            rc = -ENOENT;
        }
    }
    if (rc == -ENOENT) {
        ms_resp_error(resp, 400, "Unable to locate requested flavor.");
        return 0;
    }
    if (rc < 0)
        return rc;
    json_t *nf = NULL;
    if (!strcmp(f.flavorid, i->flavorid)) {
        ms_resp_error(resp, 400, "When resizing, instances must change flavor!");
        goto out;
    }
    if (f.root_gb < i->root_gb && f.root_gb != 0) {
        ms_resp_error(resp, 400, "Server disk was unable to be resized because the new flavor's "
                                 "disk is smaller than the current one: Resize error: Unable to "
                                 "resize disk down.");
        goto out;
    }
    /* Quota: only growth counts, as in Nova. */
    long long limits[Q_COUNT], inst = 0, cores = 0, ram = 0;
    if ((rc = compute_quota_limits(i->project_id, limits)) < 0 ||
        (rc = compute_quota_db_usage(i->project_id, &inst, &cores, &ram)) < 0)
        goto out;
    long long dc = f.vcpus - i->vcpus, dr = f.memory_mb - i->memory_mb;
    char msg[512];
    /* One "instance" asking for the growth; the instance count itself does
     * not change, so it is passed as exactly fitting. */
    long long inst_fit = limits[Q_INSTANCES] < 0 ? 0 : limits[Q_INSTANCES] - 1;
    (void)inst;
    if (!compute_quota_fits(limits, inst_fit, cores, ram, 1, dc > 0 ? dc : 0, dr > 0 ? dr : 0,
                            msg, sizeof(msg))) {
        ms_resp_error(resp, 403, "%s", msg);
        goto out;
    }
    nf = compute_flavor_snapshot(f.flavorid, f.name, f.memory_mb, f.vcpus, f.root_gb,
                                 f.ephemeral_gb, f.swap);
    /* The new flavor's extra specs travel with it (the server shows them
     * from 2.47); the row's current ones are kept for a revert. */
    json_t *specs = NULL;
    if ((rc = compute_flavor_db_specs(f.id, &specs)) < 0)
        goto out;
    json_object_set_new(nf, "extra_specs", specs);
    json_t *extra = json_pack("{s:O}", "flavor", nf);
    rc = run_action_status(req, resp, i, "resize", ok, "resize_prep", "resize", extra, 202);
    json_decref(extra);
    /* Nova's resize sets the disk config it was given, MANUAL when none. */
    if (rc == 1)
        rc = compute_instance_db_set_disk_config(i->uuid, auto_disk == 1);
out:
    json_decref(nf);
    compute_flavor_clear(&f);
    return rc;
}

static int
rebuild(ms_request *req, ms_response *resp, compute_instance *i, json_t *arg)
{
    if (!json_is_object(arg)) {
        compute_bad_field(resp, "rebuild", arg, "is not of type 'object'");
        return 0;
    }
    /* The schema grows with the microversion: description (2.19), key_name
     * (2.54), user_data instead of personality (2.57), trusted image
     * certificates (2.63), hostname (2.90). */
    int mv = req->mv;
    const char *keys[16] = {"imageRef", "name", "adminPass", "metadata", "preserve_ephemeral",
                            "OS-DCF:diskConfig", "accessIPv4", "accessIPv6"};
    size_t nk = 8;
    if (mv < MS_MV(2, 57))
        keys[nk++] = "personality";
    if (mv >= MS_MV(2, 19))
        keys[nk++] = "description";
    if (mv >= MS_MV(2, 54))
        keys[nk++] = "key_name";
    if (mv >= MS_MV(2, 57))
        keys[nk++] = "user_data";
    if (mv >= MS_MV(2, 63))
        keys[nk++] = "trusted_image_certificates";
    if (mv >= MS_MV(2, 90))
        keys[nk++] = "hostname";
    keys[nk] = NULL;
    if (!only_keys(resp, "rebuild", arg, keys))
        return 0;
    json_t *iref = json_object_get(arg, "imageRef");
    if (!iref) {
        ms_resp_error(resp, 400, "Invalid input for field/attribute rebuild. Value: {...}. "
                                 "'imageRef' is a required property");
        return 0;
    }
    const char *image = json_is_string(iref) ? json_string_value(iref) : NULL;
    const char *sl = image ? strrchr(image, '/') : NULL;
    if (sl)
        image = sl + 1;
    if (!image || !ms_uuid_valid(image)) {
        compute_bad_field(resp, "imageRef", iref, "is not a 'uuid'");
        return 0;
    }
    json_t *name = json_object_get(arg, "name");
    if (name && !valid_name_field(resp, name))
        return 0;
    json_t *meta = json_object_get(arg, "metadata");
    if (meta && !valid_metadata(resp, meta))
        return 0;
    json_t *pass = json_object_get(arg, "adminPass");
    if (pass && !json_is_string(pass)) {
        compute_bad_field(resp, "adminPass", pass, "is not of type 'string'");
        return 0;
    }
    char a4[64], a6[64];
    if (!compute_access_ip(resp, arg, false, a4) || !compute_access_ip(resp, arg, true, a6))
        return 0;
    int auto_disk = compute_disk_config(resp, arg);
    if (auto_disk == -2)
        return 0;
    json_t *pe = json_object_get(arg, "preserve_ephemeral");
    if (pe && !json_is_boolean(pe)) {
        compute_bad_field(resp, "preserve_ephemeral", pe, "is not of type 'boolean'");
        return 0;
    }
    json_t *desc = json_object_get(arg, "description");
    if (desc && !compute_valid_description(resp, desc))
        return 0;
    json_t *hostname = json_object_get(arg, "hostname");
    if (hostname && !compute_valid_hostname(resp, hostname))
        return 0;
    json_t *kn = json_object_get(arg, "key_name");
    if (kn && !json_is_null(kn) &&
        (!json_is_string(kn) || json_string_length(kn) < 1 || json_string_length(kn) > 255)) {
        compute_bad_field(resp, "key_name", kn,
                          json_is_string(kn) ? "is not valid under any of the given schemas"
                                             : "is not of type 'string', 'null'");
        return 0;
    }
    json_t *ud = json_object_get(arg, "user_data");
    if (ud && !json_is_null(ud)) {
        if (!json_is_string(ud) || json_string_length(ud) > 65535 ||
            !compute_is_base64(json_string_value(ud), json_string_length(ud))) {
            compute_bad_field(resp, "user_data", ud, "is not valid under any of the given "
                                                     "schemas");
            return 0;
        }
    }
    json_t *certs = json_object_get(arg, "trusted_image_certificates");
    if (certs && !compute_valid_trusted_certs(resp, certs))
        return 0;
    static const char *const ok[6] = {"active", "stopped", "error"};
    if (!state_allowed(ok, i->vm_state) || i->task_state[0]) {
        invalid_state(resp, "rebuild", i);
        return 0;
    }
    ms_image_info img;
    int rc = ms_image_get(&req->auth, image, &img);
    if (rc == -ENOENT) {
        ms_resp_error(resp, 400, "Cannot find image for rebuild");
        return 0;
    }
    if (rc < 0)
        return rc;
    bool active = !strcmp(img.status, "active");
    long long min_ram = img.min_ram, min_disk = img.min_disk, size = img.size;
    ms_image_info_clear(&img);
    if (!active) {
        ms_resp_error(resp, 400, "Image %s is not active.", image);
        return 0;
    }
    if (i->memory_mb < min_ram) {
        ms_resp_error(resp, 400, "Flavor's memory is too small for requested image.");
        return 0;
    }
    if (i->root_gb && (i->root_gb < min_disk || (long long)i->root_gb << 30 < size)) {
        ms_resp_error(resp, 400, "Flavor's disk is too small for requested image.");
        return 0;
    }
    compute_keypair key = {0};
    if (kn && json_is_string(kn)) {
        /* The key pair must be the caller's, as at create. */
        rc = compute_keypair_db_get(req->auth.user_id, json_string_value(kn), &key);
        if (rc == -ENOENT) {
            ms_resp_error(resp, 400, "Invalid key_name provided.");
            return 0;
        }
        if (rc < 0)
            return rc;
    }
    if (meta) {
        long long limits[Q_COUNT];
        if ((rc = compute_quota_limits(i->project_id, limits)) < 0) {
            compute_keypair_clear(&key);
            return rc;
        }
        if (limits[Q_METADATA_ITEMS] >= 0 &&
            (long long)json_object_size(meta) > limits[Q_METADATA_ITEMS]) {
            ms_resp_error(resp, 403, "Quota exceeded for metadata_items: Requested %zu, but "
                                     "already used 0 of %lld metadata_items",
                          json_object_size(meta), limits[Q_METADATA_ITEMS]);
            compute_keypair_clear(&key);
            return 0;
        }
    }
    /* The worker takes the image from the payload (it may run before the
     * row below is written); the row gets it too for the answer. */
    json_t *extra = json_pack("{s:s}", "image_ref", image);
    rc = run_action_status(req, resp, i, "rebuild", ok, "rebuilding", "rebuild", extra, 0);
    json_decref(extra);
    if (rc <= 0) {
        compute_keypair_clear(&key);
        return rc;
    }
    if ((rc = compute_instance_db_set_image(i->uuid, image)) < 0 ||
        ((name || a4[0] || a6[0]) &&
         (rc = compute_instance_db_update(i->uuid, name ? json_string_value(name) : NULL,
                                          a4[0] ? a4 : NULL, a6[0] ? a6 : NULL)) < 0) ||
        /* from the request, else MANUAL: images carry no auto_disk_config here */
        (rc = compute_instance_db_set_disk_config(i->uuid, auto_disk == 1)) < 0 ||
        (meta && (rc = compute_instance_db_meta_replace(i->uuid, meta)) < 0) ||
        (desc && (rc = compute_instance_db_set_description(i->uuid,
                                                           json_string_value(desc))) < 0) ||
        (kn && (rc = compute_instance_db_set_key(i->uuid, key.name[0] ? key.name : NULL,
                                                 key.public_key)) < 0) ||
        (ud && (rc = compute_instance_db_set_user_data(i->uuid, json_string_value(ud))) < 0) ||
        (certs && (rc = compute_instance_db_set_trusted_certs(
                       i->uuid, json_is_array(certs) ? certs : NULL)) < 0) ||
        (hostname &&
         (rc = compute_instance_db_set_hostname(i->uuid, json_string_value(hostname))) < 0)) {
        compute_keypair_clear(&key);
        return rc;
    }
    compute_keypair_clear(&key);
    compute_instance now;
    if ((rc = compute_instance_db_get(i->uuid, false, &now)) < 0)
        return rc;
    /* Nova's rebuild answer: a subset before 2.75 (key_name from 2.54),
     * server_groups from 2.71, user_data from 2.57. */
    compute_server_view view = {.partial = mv < MS_MV(2, 75), .key_name = mv >= MS_MV(2, 54),
                                .server_groups = true, .no_user_data = true};
    json_t *srv = compute_server_json_view(req, &now, &view);
    if (mv >= MS_MV(2, 57))
        ms_json_set_str(srv, "user_data", ms_str_empty(now.user_data) ? NULL : now.user_data);
    compute_instance_clear(&now);
    char pw[13];
    if (!pass)
        compute_random_password(pw);
    json_object_set_new(srv, "adminPass", json_string(pass ? json_string_value(pass) : pw));
    char *loc = compute_href(req, "servers", i->uuid);
    ms_resp_header(resp, "Location", loc);
    free(loc);
    ms_resp_json(resp, 202, json_pack("{s:o}", "server", srv));
    return 0;
}

/* unshelve; from 2.77 {"unshelve": {"availability_zone": ...}} picks the
 * zone of a shelved-offloaded server; from 2.91 the zone may be null (unpin)
 * and an admin may name the host. */
static int
unshelve(ms_request *req, ms_response *resp, compute_instance *i, json_t *arg)
{
    const char *az = NULL;       /* the zone asked for; NULL with az_passed unpins */
    bool az_passed = false;
    const char *host = NULL;
    if (req->mv >= MS_MV(2, 91) && !json_is_null(arg)) {
        /* Nova's 2.91 schema is a oneOf (object or null), so whatever
         * is wrong inside is reported against "unshelve" as a whole. */
        bool ok = json_is_object(arg);
        const char *k;
        json_t *v;
        if (ok) {
            json_object_foreach(arg, k, v) {
                if (!strcmp(k, "availability_zone"))
                    ok = ok && (json_is_null(v) || json_is_string(v));
                else if (!strcmp(k, "host"))
                    ok = ok && json_is_string(v);
                else
                    ok = false;
            }
        }
        if (!ok) {
            compute_schema_error(resp, "unshelve", arg,
                                 "%s is not valid under any of the given schemas");
            return 0;
        }
        json_t *a = json_object_get(arg, "availability_zone");
        az_passed = a != NULL;
        az = json_is_string(a) ? json_string_value(a) : NULL;
        host = ms_json_strval(arg, "host");
    } else if (req->mv >= MS_MV(2, 77) && req->mv < MS_MV(2, 91) && !json_is_null(arg)) {
        if (!json_is_object(arg)) {
            compute_bad_field(resp, "unshelve", arg, "is not of type 'object', 'null'");
            return 0;
        }
        static const char *const keys[] = {"availability_zone", NULL};
        if (!only_keys(resp, "unshelve", arg, keys))
            return 0;
        json_t *a = json_object_get(arg, "availability_zone");
        if (!a) {
            ms_resp_error(resp, 400, "Invalid input for field/attribute unshelve. Value: {}. "
                                     "'availability_zone' is a required property");
            return 0;
        }
        if (!json_is_string(a) || json_string_length(a) < 1 || json_string_length(a) > 255 ||
            !compute_valid_name(json_string_value(a))) {
            compute_bad_field(resp, "availability_zone", a,
                              json_is_string(a) ? "is not a valid name"
                                                : "is not of type 'string'");
            return 0;
        }
        az = json_string_value(a);
        az_passed = true;
    }
    static const char *const ok[6] = {"shelved", "shelved_offloaded"};
    if (!state_allowed(ok, i->vm_state) || i->task_state[0]) {
        invalid_state(resp, "unshelve", i);
        return 0;
    }
    if ((az_passed || host) && strcmp(i->vm_state, "shelved_offloaded")) {
        /* A shelved server still has its host: it cannot move. */
        ms_resp_error(resp, 409, "Specifying an availability zone or a host when unshelving "
                                 "server \"%s\" with status \"%s\" is not supported. The "
                                 "server status must be SHELVED_OFFLOADED.",
                      i->uuid, i->vm_state);
        return 0;
    }
    /* One zone here, "nova" (as availability_zone at create). */
    if (az && strcmp(az, "nova")) {
        ms_resp_error(resp, 400, "The requested availability zone is not available");
        return 0;
    }
    json_t *extra = NULL;
    if (host) {
        /* os_compute_api:os-shelve:unshelve_to_host is admin-only. */
        if (!req->auth.is_admin) {
            ms_resp_error(resp, 403, "Policy doesn't allow os_compute_api:os-shelve:"
                                     "unshelve_to_host to be performed.");
            return 0;
        }
        bool exists = false;
        int rc = compute_instance_db_host_exists(host, NULL, &exists);
        if (rc < 0)
            return rc;
        if (!exists) {
            ms_resp_error(resp, 400, "Compute host %s could not be found.", host);
            return 0;
        }
        /* Every host is in the one zone, so the host always agrees with the
         * zone the server is (or is not) pinned to. The scheduler still
         * checks the host has room, as Nova's does with a destination. */
        extra = json_pack("{s:s}", "requested_host", host);
    }
    int rc = run_action_status(req, resp, i, "unshelve", ok, "unshelving", "unshelve", extra,
                               202);
    json_decref(extra);
    if (rc > 0 && az)
        rc = compute_instance_db_set_az(i->uuid, az);
    else if (rc > 0 && az_passed)
        rc = compute_instance_db_set_requested_az(i->uuid, NULL);
    return rc < 0 ? rc : 0;
}

/* trigger_crash_dump (2.17): {"trigger_crash_dump": null}; the worker
 * injects an NMI. States as Nova's ALLOW_TRIGGER_CRASH_DUMP; the server's
 * states do not change. */
static int
trigger_crash_dump(ms_request *req, ms_response *resp, compute_instance *i, json_t *arg)
{
    if (!json_is_null(arg)) {
        compute_bad_field(resp, "trigger_crash_dump", arg, "is not of type 'null'");
        return 0;
    }
    if (!i->host[0]) {
        ms_resp_error(resp, 409, "Instance %s is not ready", i->uuid);
        return 0;
    }
    static const char *const ok[6] = {"active", "paused", "rescued", "resized", "error"};
    int rc = run_action_status(req, resp, i, "trigger_crash_dump", ok, NULL,
                               "trigger_crash_dump", NULL, 202);
    return rc < 0 ? rc : 0;
}

static int
confirm_or_revert(ms_request *req, ms_response *resp, compute_instance *i, bool confirm)
{
    const char *action = confirm ? "confirmResize" : "revertResize";
    if (strcmp(i->vm_state, "resized") || i->task_state[0]) {
        invalid_state(resp, action, i);
        return 0;
    }
    static const char *const ok[6] = {"resized"};
    int rc = run_action_status(req, resp, i, action, ok,
                               confirm ? "resize_confirming" : "resize_reverting",
                               confirm ? "confirm_resize" : "revert_resize", NULL,
                               confirm ? 204 : 202);
    return rc < 0 ? rc : 0;
}

/* shelve: the disk goes into a new snapshot image named "<name>-shelved"
 * (created queued here, uploaded by the worker), then the server is
 * shelved, and offloaded at once unless [compute] shelved_offload_time
 * says otherwise (manager.c). */
static int
shelve(ms_request *req, ms_response *resp, compute_instance *i)
{
    static const char *const ok[6] = {"active", "stopped", "paused", "suspended"};
    if (!state_allowed(ok, i->vm_state) || i->task_state[0]) {
        invalid_state(resp, "shelve", i);
        return 0;
    }
    json_t *props = json_pack("{s:s,s:s,s:s,s:s}", "instance_uuid", i->uuid, "image_type",
                              "snapshot", "base_image_ref", i->image_ref, "user_id",
                              req->auth.user_id);
    char *name = ms_asprintf("%s-shelved", i->name);
    char image_id[37];
    int rc = ms_image_snapshot_create(&req->auth, name, "qcow2", "bare", props, image_id);
    free(name);
    json_decref(props);
    if (rc < 0)
        return rc;
    json_t *extra = json_pack("{s:s}", "image_id", image_id);
    rc = run_action_status(req, resp, i, "shelve", ok, "shelving", "shelve", extra, 202);
    json_decref(extra);
    if (rc <= 0)
        ms_image_kill(image_id);
    return rc < 0 ? rc : 0;
}

/* rescue: the server boots a fresh copy of its image (or rescue_image_ref)
 * with its own disk attached second; 200 with the password, as Nova. */
static int
rescue(ms_request *req, ms_response *resp, compute_instance *i, json_t *arg)
{
    json_t *pass = NULL, *ref = NULL;
    if (!json_is_null(arg)) {
        if (!json_is_object(arg)) {
            compute_bad_field(resp, "rescue", arg, "is not of type 'object', 'null'");
            return 0;
        }
        static const char *const keys[] = {"adminPass", "rescue_image_ref", NULL};
        if (!only_keys(resp, "rescue", arg, keys))
            return 0;
        pass = json_object_get(arg, "adminPass");
        ref = json_object_get(arg, "rescue_image_ref");
    }
    if (pass && !json_is_string(pass)) {
        compute_bad_field(resp, "adminPass", pass, "is not of type 'string'");
        return 0;
    }
    if (ref && (!json_is_string(ref) || !ms_uuid_valid(json_string_value(ref)))) {
        compute_bad_field(resp, "rescue_image_ref", ref, "is not a 'uuid'");
        return 0;
    }
    static const char *const ok[6] = {"active", "stopped", "error"};
    if (!state_allowed(ok, i->vm_state) || i->task_state[0]) {
        invalid_state(resp, "rescue", i);
        return 0;
    }
    if (ref) {
        ms_image_info img;
        int rc = ms_image_get(&req->auth, json_string_value(ref), &img);
        if (rc == -ENOENT) {
            ms_resp_error(resp, 400, "Requested rescue image '%s' is not supported",
                          json_string_value(ref));
            return 0;
        }
        if (rc < 0)
            return rc;
        ms_image_info_clear(&img);
    }
    json_t *extra = json_pack("{s:s}", "rescue_image_ref",
                              ref ? json_string_value(ref) : i->image_ref);
    int rc = run_action_status(req, resp, i, "rescue", ok, "rescuing", "rescue", extra, 0);
    json_decref(extra);
    if (rc <= 0)
        return rc;
    char pw[13];
    compute_random_password(pw);
    ms_resp_json(resp, 200,
                 json_pack("{s:s}", "adminPass", pass ? json_string_value(pass) : pw));
    return 0;
}

/* os-getVNCConsole (2.1-2.5): a noVNC URL under [compute]
 * novncproxy_base_url carrying a one-off token, as Nova's access_url. */
static int
vnc_console(ms_request *req, ms_response *resp, compute_instance *i, json_t *arg)
{
    (void)req;
    if (!json_is_object(arg)) {
        compute_bad_field(resp, "os-getVNCConsole", arg, "is not of type 'object'");
        return 0;
    }
    static const char *const keys[] = {"type", NULL};
    if (!only_keys(resp, "os-getVNCConsole", arg, keys))
        return 0;
    json_t *type = json_object_get(arg, "type");
    if (!type) {
        ms_resp_error(resp, 400, "Invalid input for field/attribute os-getVNCConsole. Value: "
                                 "{}. 'type' is a required property");
        return 0;
    }
    const char *t = json_is_string(type) ? json_string_value(type) : "";
    if (strcmp(t, "novnc") && strcmp(t, "xvpvnc")) {
        compute_bad_field(resp, "type", type, "is not one of ['novnc', 'xvpvnc']");
        return 0;
    }
    if (!i->host[0]) {
        ms_resp_error(resp, 409, "Instance %s is not ready", i->uuid);
        return 0;
    }
    if (!strcmp(i->task_state, "deleting") || !strcmp(i->task_state, "migrating")) {
        invalid_state(resp, "get_vnc_console", i);
        return 0;
    }
    if (strcmp(t, "novnc")) {
        ms_resp_error(resp, 400, "Invalid console type %s", t);
        return 0;
    }
    char token[33];
    ms_uuid_hex(token);
    char *url = ms_asprintf("%s?path=%%3Ftoken%%3D%s", ms_conf.novncproxy_base_url, token);
    ms_resp_json(resp, 200, json_pack("{s:{s:s,s:s}}", "console", "type", t, "url", url));
    free(url);
    return 0;
}

/* POST /servers/{id}/remote-consoles (2.6; mks/webmks from 2.8): the
 * replacement of os-getVNCConsole. Only vnc/novnc exists here; the other
 * protocols get Nova's "unavailable console type" 400. */
int
compute_server_remote_console(ms_request *req, ms_response *resp)
{
    json_t *body = ms_req_json(req, resp);
    if (!body)
        return 0;
    static const char *const top[] = {"remote_console", NULL};
    if (!only_keys(resp, "remote_console", body, top))
        return 0;
    json_t *rc_ = json_object_get(body, "remote_console");
    if (!json_is_object(rc_)) {
        if (!rc_)
            ms_resp_error(resp, 400, "Invalid input for field/attribute remote_console. "
                                     "Value: {}. 'remote_console' is a required property");
        else
            compute_bad_field(resp, "remote_console", rc_, "is not of type 'object'");
        return 0;
    }
    static const char *const keys[] = {"protocol", "type", NULL};
    if (!only_keys(resp, "remote_console", rc_, keys))
        return 0;
    bool v28 = req->mv >= MS_MV(2, 8);
    static const char *const protocols[] = {"vnc", "spice", "rdp", "serial", "mks"};
    static const char *const types[] = {"novnc", "xvpvnc", "rdp-html5", "spice-html5",
                                        "serial", "webmks"};
    json_t *pr = json_object_get(rc_, "protocol"), *ty = json_object_get(rc_, "type");
    if (!pr || !ty) {
        ms_resp_error(resp, 400, "Invalid input for field/attribute remote_console. Value: "
                                 "{...}. '%s' is a required property",
                      !pr ? "protocol" : "type");
        return 0;
    }
    bool pok = false, tok = false;
    for (size_t k = 0; k < MS_ARRAY_LEN(protocols) - (v28 ? 0 : 1); k++)
        pok = pok || (json_is_string(pr) && !strcmp(protocols[k], json_string_value(pr)));
    for (size_t k = 0; k < MS_ARRAY_LEN(types) - (v28 ? 0 : 1); k++)
        tok = tok || (json_is_string(ty) && !strcmp(types[k], json_string_value(ty)));
    if (!pok || !tok) {
        compute_bad_field(resp, !pok ? "protocol" : "type", !pok ? pr : ty,
                          "is not one of the allowed values");
        return 0;
    }
    compute_instance i;
    int rc = compute_server_lookup(req, resp, &i);
    if (rc < 0)
        return rc == -ENOENT ? 0 : rc;
    const char *p = json_string_value(pr), *t = json_string_value(ty);
    if (!i.host[0]) {
        ms_resp_error(resp, 409, "Instance %s is not ready", i.uuid);
    } else if (strcmp(p, "vnc") || strcmp(t, "novnc")) {
        ms_resp_error(resp, 400, "Unavailable console type %s.", t);
    } else {
        char token[33];
        ms_uuid_hex(token);
        char *url = ms_asprintf("%s?path=%%3Ftoken%%3D%s", ms_conf.novncproxy_base_url, token);
        ms_resp_json(resp, 200, json_pack("{s:{s:s,s:s,s:s}}", "remote_console", "protocol", p,
                                          "type", t, "url", url));
        free(url);
    }
    compute_instance_clear(&i);
    return 0;
}

int
compute_server_action(ms_request *req, ms_response *resp)
{
    json_t *body = ms_req_json(req, resp);
    if (!body)
        return 0;
    if (json_object_size(body) != 1) {
        ms_resp_error(resp, 400, "Malformed request body");
        return 0;
    }
    void *it = json_object_iter(body);
    const char *name = json_object_iter_key(it);
    json_t *arg = json_object_iter_value(it);
    compute_instance i;
    int rc = compute_server_lookup(req, resp, &i);
    if (rc < 0)
        return rc == -ENOENT ? 0 : rc;
    bool admin = req->auth.is_admin;
    if (i.locked && !admin && strcmp(name, "lock") && strcmp(name, "unlock") &&
        strcmp(name, "os-getConsoleOutput") && strcmp(name, "os-getVNCConsole")) {
        ms_resp_error(resp, 409, "Instance %s is locked", i.uuid);
        goto done;
    }
    for (size_t k = 0; k < MS_ARRAY_LEN(rules); k++) {
        if (!strcmp(rules[k].name, name)) {
            if (rules[k].admin_policy && !admin) {
                ms_resp_error(resp, 403, "Policy doesn't allow %s to be performed.",
                              rules[k].admin_policy);
                goto done;
            }
            rc = run_action(req, resp, &i, rules[k].action, rules[k].vm_states,
                            rules[k].task_state, rules[k].task, NULL);
            goto done;
        }
    }
    if (!strcmp(name, "reboot")) {
        const char *type = json_is_object(arg) ? ms_json_strval(arg, "type") : NULL;
        if (!type || (strcasecmp(type, "SOFT") && strcasecmp(type, "HARD"))) {
            compute_bad_field(resp, "type", json_is_object(arg) ? json_object_get(arg, "type")
                                                                : NULL,
                              "is not one of ['HARD', 'Hard', 'hard', 'SOFT', 'Soft', 'soft']");
            goto done;
        }
        bool hard = !strcasecmp(type, "HARD");
        static const char *const soft_ok[6] = {"active"};
        static const char *const hard_ok[6] = {"active", "stopped", "paused", "suspended",
                                               "error"};
        json_t *extra = json_pack("{s:b}", "hard", hard);
        rc = run_action(req, resp, &i, "reboot", hard ? hard_ok : soft_ok,
                        hard ? "rebooting_hard" : "rebooting", "reboot", extra);
        json_decref(extra);
    } else if (!strcmp(name, "lock") || !strcmp(name, "unlock")) {
        bool lock = !strcmp(name, "lock");
        if (!lock && i.locked && !admin && !strcmp(i.locked_by, "admin")) {
            ms_resp_error(resp, 403, "Policy doesn't allow os_compute_api:os-lock-server:"
                                     "unlock:unlock_override to be performed.");
            goto done;
        }
        const char *reason = NULL;
        if (lock && req->mv >= MS_MV(2, 73) && !json_is_null(arg)) {
            /* 2.73: {"lock": null} or {"lock": {"locked_reason": "..."}}. */
            static const char *const keys[] = {"locked_reason", NULL};
            if (!json_is_object(arg)) {
                compute_bad_field(resp, "lock", arg, "is not of type 'object', 'null'");
                goto done;
            }
            if (!only_keys(resp, "lock", arg, keys))
                goto done;
            json_t *r = json_object_get(arg, "locked_reason");
            if (r && (!json_is_string(r) || json_string_length(r) < 1 ||
                      json_string_length(r) > 255)) {
                compute_bad_field(resp, "locked_reason", r,
                                  !json_is_string(r) ? "is not of type 'string'"
                                  : json_string_length(r) < 1 ? "is too short"
                                                              : "is too long");
                goto done;
            }
            reason = r ? json_string_value(r) : NULL;
        }
        rc = compute_instance_db_lock(i.uuid, lock, lock ? (admin ? "admin" : "owner") : NULL,
                                      reason);
        if (rc == 0)
            ms_resp_empty(resp, 202);
    } else if (!strcmp(name, "createImage")) {
        rc = create_image(req, resp, &i, arg);
    } else if (!strcmp(name, "createBackup")) {
        rc = create_backup(req, resp, &i, arg);
    } else if (!strcmp(name, "resize")) {
        rc = resize(req, resp, &i, arg);
    } else if (!strcmp(name, "rebuild")) {
        rc = rebuild(req, resp, &i, arg);
    } else if (!strcmp(name, "confirmResize") || !strcmp(name, "revertResize")) {
        rc = confirm_or_revert(req, resp, &i, !strcmp(name, "confirmResize"));
    } else if (!strcmp(name, "shelve")) {
        rc = shelve(req, resp, &i);
    } else if (!strcmp(name, "rescue")) {
        rc = rescue(req, resp, &i, arg);
    } else if (!strcmp(name, "restore")) {
        /* Deletes are immediate (Nova's default reclaim_instance_interval
         * of 0), so no server is ever soft-deleted and waiting to be
         * restored. */
        invalid_state(resp, "restore", &i);
    } else if (!strcmp(name, "forceDelete")) {
        rc = compute_server_delete_run(req, resp, &i, 202);
    } else if (!strcmp(name, "unshelve")) {
        rc = unshelve(req, resp, &i, arg);
    } else if ((!strcmp(name, "trigger_crash_dump") && req->mv < MS_MV(2, 17)) ||
               (!strcmp(name, "os-getVNCConsole") && req->mv >= MS_MV(2, 6))) {
        /* An action outside its microversions: Nova's 404 (os-getVNCConsole
         * gave way to POST /servers/{id}/remote-consoles in 2.6). */
        ms_resp_error(resp, 404, "The resource could not be found.");
    } else if (!strcmp(name, "trigger_crash_dump")) {
        rc = trigger_crash_dump(req, resp, &i, arg);
    } else if (!strcmp(name, "os-getVNCConsole")) {
        rc = vnc_console(req, resp, &i, arg);
    } else if (!strcmp(name, "os-getConsoleOutput")) {
        rc = console_output(req, resp, &i, arg);
    } else if (!strcmp(name, "os-resetState")) {
        if (!admin) {
            ms_resp_error(resp, 403, "Policy doesn't allow os_compute_api:os-admin-actions:"
                                     "reset_state to be performed.");
            goto done;
        }
        const char *st = json_is_object(arg) ? ms_json_strval(arg, "state") : NULL;
        if (!st || (strcmp(st, "active") && strcmp(st, "error"))) {
            compute_bad_field(resp, "state",
                              json_is_object(arg) ? json_object_get(arg, "state") : NULL,
                              "is not one of ['active', 'error']");
            goto done;
        }
        rc = compute_instance_db_set(i.uuid, st, NULL, -1);
        if (rc == 0)
            ms_resp_empty(resp, 202);
    } else {
        ms_resp_error(resp, 400, "There is no such action: %s", name);
    }
done:
    compute_instance_clear(&i);
    return rc;
}
