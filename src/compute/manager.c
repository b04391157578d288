/* The compute manager: task handlers that do the slow work behind the API
 * (schedule, fetch the image into the cache, create the qcow2 overlay,
 * define and start the domain; power operations; delete) and the periodic
 * jobs (service heartbeat, power-state sync). Every handler re-reads the
 * instance row first and is idempotent, since a task may run again after
 * a crash; a failed build ends in ERROR with a fault. */
#include "compute.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utime.h>

#include <monostack/config.h>
#include <monostack/exec.h>
#include <monostack/image.h>

#include "compute/devices.h"
#include "drivers/virt/virt.h"

char *
compute_instances_path(void)
{
    if (!ms_str_empty(ms_conf.instances_path))
        return ms_strdup(ms_conf.instances_path);
    return ms_asprintf("%s/instances", ms_str_empty(ms_conf.state_path) ? "/var/lib/monostack"
                                                                        : ms_conf.state_path);
}

char *
compute_console_log_path(const char *uuid)
{
    char *base = compute_instances_path();
    char *p = ms_asprintf("%s/%s/console.log", base, uuid);
    free(base);
    return p;
}

static int
mkdir_p(const char *path)
{
    char *tmp = ms_strdup(path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            mkdir(tmp, 0755);
            *p = '/';
        }
    }
    int rc = mkdir(tmp, 0755) == 0 || errno == EEXIST ? 0 : -errno;
    free(tmp);
    return rc;
}

static const char *
task_request_id(const ms_task *t)
{
    const char *r = ms_json_strval(t->payload, "request_id");
    return r ? r : "";
}

/* ---- scheduling ---- */

static bool
host_in(const json_t *hosts, const char *host)
{
    size_t k;
    json_t *v;
    json_array_foreach(hosts, k, v) {
        if (!strcmp(json_string_value(v), host))
            return true;
    }
    return false;
}

/* Pick a host with room for the instance (allocation ratios applied) that
 * its server group's policy allows (Nova's ServerGroup(Anti)AffinityFilter;
 * the soft policies only weigh, as its ServerGroupSoft*Weighers do);
 * host_out empty when none fits. */
static int
schedule(const compute_instance *i, const json_t *payload, char host_out[256])
{
    /* 2.74: a requested host/node narrows the candidates; the filters
     * still run, so an unsuitable one ends in "No valid host". */
    const char *want_host = ms_json_strval(payload, "requested_host");
    const char *want_node = ms_json_strval(payload, "requested_node");
    host_out[0] = '\0';
    char policy[32] = "";
    json_t *members = NULL;
    int rc = compute_server_group_db_placement(i->uuid, policy, &members);
    if (rc < 0 && rc != -ENOENT)
        return rc;
    compute_node_row *nodes = NULL;
    size_t n = 0;
    rc = compute_node_db_list(&nodes, &n);
    if (rc < 0) {
        json_decref(members);
        return rc;
    }
    bool hard_aff = !strcmp(policy, "affinity"), hard_anti = !strcmp(policy, "anti-affinity");
    bool soft_aff = !strcmp(policy, "soft-affinity");
    bool soft_anti = !strcmp(policy, "soft-anti-affinity");
    double best = -1;
    int best_group = -1;   /* soft policies: 1 when the host suits the group */
    for (size_t k = 0; k < n; k++) {
        const compute_node_row *c = &nodes[k];
        if (!c->schedulable)
            continue;   /* disabled or down (os-services) */
        if ((want_host && strcmp(want_host, c->host)) ||
            (want_node && strcmp(want_node, c->hypervisor_hostname)))
            continue;
        double vcpu_free = c->vcpus * ms_conf.cpu_allocation_ratio - (double)c->vcpus_used;
        double ram_free = (double)c->memory_mb * ms_conf.ram_allocation_ratio -
                          ms_conf.reserved_host_memory_mb - (double)c->memory_mb_used;
        double disk_free = (double)c->local_gb * ms_conf.disk_allocation_ratio -
                           (double)c->local_gb_used;
        if (vcpu_free < i->vcpus || ram_free < i->memory_mb ||
            disk_free < i->root_gb + i->ephemeral_gb)
            continue;
        bool with_members = members && host_in(members, c->host);
        bool has_members = members && json_array_size(members) > 0;
        if ((hard_aff && has_members && !with_members) || (hard_anti && with_members))
            continue;
        /* The soft group weigher first, then spread by free RAM, as Nova's
         * default RAM weigher does. */
        int g = soft_aff ? with_members : soft_anti ? !with_members : 0;
        if (g > best_group || (g == best_group && ram_free > best)) {
            best = ram_free;
            best_group = g;
            snprintf(host_out, 256, "%s", c->host);
        }
    }
    free(nodes);
    json_decref(members);
    return 0;
}

/* ---- build ---- */

static int
build_fail(const compute_instance *i, const ms_task *t, int code, const char *msg,
           const char *details)
{
    ms_warn("Build failed. instance=%s error=\"%s\"", i->uuid, msg);
    compute_instance_db_set_fault(i->uuid, code, msg, details);
    compute_action_db_event_error(i->uuid, task_request_id(t),
                                  "compute__do_build_and_run_instance", msg);
    char *err = NULL;
    virt_destroy(i->uuid, &err);
    free(err);
    return 0;
}

/* The image's data in the shared cache (<instances>/_base/<image id>),
 * copied once; the cache survives the image's deletion in Glance. */
static int
cache_image(const ms_image_info *img, char **base_out, char **err)
{
    char *dir = compute_instances_path();
    char *bdir = ms_asprintf("%s/_base", dir);
    free(dir);
    mkdir_p(bdir);
    char *base = ms_asprintf("%s/%s", bdir, img->id);
    free(bdir);
    struct stat st;
    if (stat(base, &st) == 0) {
        utime(base, NULL);   /* just used: the cache cleaner counts age from here */
        *base_out = base;
        return 0;
    }
    /* Builds run in parallel: each copies to its own temporary name, and
     * the rename makes whichever finishes first the cache entry. */
    static _Atomic unsigned copy_seq;
    char *tmp = ms_asprintf("%s.part.%d.%u", base, (int)getpid(), ++copy_seq);
    const char *argv[] = {"cp", "--sparse=always", img->path, tmp, NULL};
    ms_exec_result r = {0};
    int rc = ms_exec(argv, NULL, 600000, &r);
    if (rc == 0 && rename(tmp, base) < 0)
        rc = -errno;
    if (rc < 0) {
        *err = ms_asprintf("Cannot copy the image into the cache: %s",
                           r.err && *r.err ? r.err : strerror(-rc));
        unlink(tmp);
        free(base);
    } else {
        *base_out = base;
    }
    ms_exec_result_free(&r);
    free(tmp);
    return rc;
}

static int
make_overlay(const char *base, const char *fmt, const char *disk, int size_gb, char **err)
{
    char size[32];
    snprintf(size, sizeof(size), "%dG", size_gb);
    const char *argv[] = {"qemu-img", "create", "-f", "qcow2", "-F", fmt, "-b", base, disk,
                          size_gb > 0 ? size : NULL, NULL};
    ms_exec_result r = {0};
    int rc = ms_exec(argv, NULL, 60000, &r);
    if (rc < 0)
        *err = ms_asprintf("qemu-img create failed: %s", r.err && *r.err ? r.err : strerror(-rc));
    ms_exec_result_free(&r);
    return rc;
}

static char *
instance_file(const char *uuid, const char *name)
{
    char *root = compute_instances_path();
    char *p = ms_asprintf("%s/%s/%s", root, uuid, name);
    free(root);
    return p;
}

/* The root disk of the instance: a qcow2 overlay over the cached image
 * i->image_ref, sized to the flavor. Kept when present unless recreate.
 * *code is the fault code for a failure (404: no such image, 400: format);
 * -EAGAIN: the database is unreachable, try again later. */
static int
create_disk(const compute_instance *i, bool recreate, int *code, char **err)
{
    ms_auth_ctx ctx = {.authenticated = true};
    snprintf(ctx.project_id, sizeof(ctx.project_id), "%s", i->project_id);
    snprintf(ctx.user_id, sizeof(ctx.user_id), "%s", i->user_id);
    ms_image_info img;
    int rc = ms_image_get_active(&ctx, i->image_ref, &img);
    if (rc == -EAGAIN)
        return rc;
    if (rc < 0 || !img.path) {
        if (rc == 0)
            ms_image_info_clear(&img);
        *code = 404;
        *err = ms_asprintf("Image %s could not be found.", i->image_ref);
        return -ENOENT;
    }
    const char *fmt = img.disk_format[0] ? img.disk_format : "raw";
    if (strcmp(fmt, "qcow2") && strcmp(fmt, "raw")) {
        *code = 400;
        *err = ms_asprintf("Image %s has disk format %s, which cannot be booted here.",
                           img.id, fmt);
        ms_image_info_clear(&img);
        return -EINVAL;
    }
    char *root = compute_instances_path();
    char *dir = ms_asprintf("%s/%s", root, i->uuid);
    free(root);
    mkdir_p(dir);
    free(dir);
    char *disk = instance_file(i->uuid, "disk");
    char *base = NULL;
    *code = 500;
    rc = cache_image(&img, &base, err);
    if (rc == 0 && recreate)
        unlink(disk);
    if (rc == 0 && access(disk, F_OK) != 0)
        rc = make_overlay(base, fmt, disk, i->root_gb, err);
    ms_image_info_clear(&img);
    free(base);
    free(disk);
    return rc;
}

/* Define the domain for the instance's current flavor and start it; with
 * start false it is left defined and shut off. */
static int
define_domain(const compute_instance *i, bool start, char **err)
{
    compute_devices dev;
    int rc = compute_devices_prepare(i, &dev, err);
    if (rc < 0)
        return rc;
    char *disk = instance_file(i->uuid, "disk");
    char *log = instance_file(i->uuid, "console.log");
    char name[32];
    snprintf(name, sizeof(name), "instance-%08llx", i->id);
    virt_domain_spec spec = {
        .uuid = i->uuid, .name = name, .virt_type = virt_type(), .vcpus = i->vcpus,
        .memory_mb = i->memory_mb, .disk_path = disk, .disk_format = "qcow2",
        .ephemeral_path = dev.ephemeral_path, .ephemeral_format = "raw",
        .swap_path = dev.swap_path, .swap_format = "raw",
        .config_drive_path = dev.config_drive_path, .nics = dev.nics, .nnics = dev.nnics,
        .console_log = log, .vnc = true, .vnc_listen = "127.0.0.1",
        .display_name = i->name, .flavor_name = i->flavor_name,
        .project_id = i->project_id, .user_id = i->user_id};
    char *xml = virt_domain_xml(&spec);
    rc = virt_define_start(xml, err);
    free(xml);
    free(disk);
    free(log);
    compute_devices_clear(&dev);
    if (rc == 0 && !start)
        rc = virt_power_off(i->uuid, err);
    return rc;
}

/* The power state the hypervisor reports, or fallback. */
static int
actual_power(const char *uuid, int fallback)
{
    int ps = fallback;
    char *e = NULL;
    if (virt_get_state(uuid, &ps, &e) < 0)
        ps = fallback;
    free(e);
    return ps;
}

static int
task_build(const ms_task *t, char **err)
{
    (void)err;
    compute_instance i;
    int rc = compute_instance_db_get(t->resource_id, false, &i);
    if (rc == -ENOENT)
        return 0;
    if (rc < 0)
        return rc;
    if (strcmp(i.vm_state, "building") || !strcmp(i.task_state, "deleting")) {
        compute_instance_clear(&i);
        return 0;
    }
    const char *rid = task_request_id(t);
    /* The API left the "create" action to us (Nova's conductor writes it). */
    compute_action_db_start(i.uuid, "create", rid, i.project_id, i.user_id, i.created_at);
    compute_action_db_event(i.uuid, rid, "compute__do_build_and_run_instance", true, NULL);
    char host[256];
    if (!i.host[0]) {
        rc = schedule(&i, t->payload, host);
        if (rc < 0)
            goto out;
        if (!host[0]) {
            build_fail(&i, t, 500,
                       "No valid host was found. There are not enough hosts available.", NULL);
            goto out;
        }
        if (strcmp(host, ms_conf.host)) {
            /* Another host runs it: hand the build over through its queue. */
            rc = compute_instance_db_set_host(i.uuid, host);
            long long tid;
            if (rc == 0 && (rc = ms_task_enqueue("compute", host, "build_instance", i.uuid,
                                                 t->payload, &tid)) == 0)
                ms_task_publish("compute", host, tid);
            goto out;
        }
        if ((rc = compute_instance_db_set_host(i.uuid, host)) < 0)
            goto out;
        /* set_host filled the default zone in; the config drive shows it. */
        if (!i.availability_zone[0])
            snprintf(i.availability_zone, sizeof(i.availability_zone), "nova");
    }

    char *ierr = NULL;
    int code = 500;
    /* Ports, then volumes, then the disks, in Nova's order. */
    rc = compute_devices_networks(&i, t->payload, &ierr);
    if (rc == 0)
        rc = compute_devices_volumes(&i, &ierr);
    if (rc == -EAGAIN) {
        free(ierr);
        goto out;
    }
    if (rc == 0)
        rc = create_disk(&i, false, &code, &ierr);
    if (rc == -EAGAIN) {
        free(ierr);
        goto out;
    }
    if (rc == 0)
        rc = define_domain(&i, true, &ierr);
    if (rc < 0) {
        build_fail(&i, t, code, ierr ? ierr : "The domain could not be started.", NULL);
        rc = 0;
    } else {
        rc = compute_instance_db_set_active(i.uuid, VIRT_RUNNING);
        if (rc == -EBUSY) {
            /* Deleted while we built: the delete task may already have run. */
            compute_instance now = {0};
            if (compute_instance_db_get(i.uuid, false, &now) != 0 ||
                !strcmp(now.task_state, "deleting")) {
                char *e2 = NULL;
                virt_destroy(i.uuid, &e2);
                free(e2);
            }
            if (now.uuid[0])
                compute_instance_clear(&now);
            rc = 0;
        } else if (rc == 0) {
            compute_action_db_event(i.uuid, rid, "compute__do_build_and_run_instance", false,
                                    "Success");
            json_t *n = json_pack("{s:s,s:s,s:s}", "instance_id", i.uuid, "tenant_id",
                                  i.project_id, "state", "active");
            ms_notify("compute", "compute.instance.create.end", n);
            json_decref(n);
        }
    }
    free(ierr);
out:
    compute_instance_clear(&i);
    return rc;
}

static int
task_delete(const ms_task *t, char **err)
{
    compute_instance i;
    int rc = compute_instance_db_get(t->resource_id, false, &i);
    if (rc == -ENOENT)
        return 0;
    if (rc < 0)
        return rc;
    rc = virt_destroy(i.uuid, err);
    if (rc < 0 && rc != -ENODEV) {
        compute_instance_clear(&i);
        return -EAGAIN;
    }
    free(*err);
    *err = NULL;
    char *root = compute_instances_path();
    char *dir = ms_asprintf("%s/%s", root, i.uuid);
    free(root);
    const char *argv[] = {"rm", "-rf", "--", dir, NULL};
    ms_exec(argv, NULL, 60000, NULL);
    free(dir);
    compute_devices_release(&i);
    rc = compute_instance_db_mark_deleted(i.uuid);
    if (rc == 0 && i.shelved_image_id[0])
        ms_image_delete(i.shelved_image_id);   /* Nova deletes the shelved image too */
    if (rc == 0) {
        compute_action_db_event(i.uuid, task_request_id(t), "compute_terminate_instance", true,
                                NULL);
        compute_action_db_event(i.uuid, task_request_id(t), "compute_terminate_instance",
                                false, "Success");
        json_t *n = json_pack("{s:s,s:s}", "instance_id", i.uuid, "tenant_id", i.project_id);
        ms_notify("compute", "compute.instance.delete.end", n);
        json_decref(n);
    }
    compute_instance_clear(&i);
    return rc;
}

/* ---- power operations ---- */

typedef int (*power_fn)(const char *uuid, char **err);

static int
power_task(const ms_task *t, const char *expect_task, const char *event, power_fn fn,
           int hard_reboot, const char *vm_after, int power_after)
{
    compute_instance i;
    int rc = compute_instance_db_get(t->resource_id, false, &i);
    if (rc == -ENOENT)
        return 0;
    if (rc < 0)
        return rc;
    if (strcmp(i.task_state, expect_task)) {
        compute_instance_clear(&i);
        return 0;   /* already done, or superseded by a delete */
    }
    const char *rid = task_request_id(t);
    compute_action_db_event(i.uuid, rid, event, true, NULL);
    char *err = NULL;
    if (hard_reboot >= 0)
        rc = virt_reboot(i.uuid, hard_reboot == 1, &err);
    else
        rc = fn(i.uuid, &err);
    int ps = power_after;
    if (rc == 0) {
        int actual;
        char *e2 = NULL;
        if (virt_get_state(i.uuid, &actual, &e2) == 0)
            ps = actual;
        free(e2);
        compute_instance_db_set(i.uuid, vm_after, NULL, ps);
        compute_action_db_event(i.uuid, rid, event, false, "Success");
    } else {
        ms_warn("Power operation failed. instance=%s event=%s error=\"%s\"", i.uuid, event,
                err ? err : "?");
        compute_instance_db_set(i.uuid, NULL, NULL, -1);
        compute_action_db_event_error(i.uuid, rid, event,
                                      err ? err : "The power operation failed.");
    }
    free(err);
    compute_instance_clear(&i);
    return 0;
}

static int
task_power_off(const ms_task *t, char **err)
{
    (void)err;
    return power_task(t, "powering-off", "compute_stop_instance", virt_power_off, -1,
                      "stopped", VIRT_SHUTDOWN);
}

static int
task_power_on(const ms_task *t, char **err)
{
    (void)err;
    return power_task(t, "powering-on", "compute_start_instance", virt_power_on, -1, "active",
                      VIRT_RUNNING);
}

static int
task_pause(const ms_task *t, char **err)
{
    (void)err;
    return power_task(t, "pausing", "compute_pause_instance", virt_pause, -1, "paused",
                      VIRT_PAUSED);
}

static int
task_unpause(const ms_task *t, char **err)
{
    (void)err;
    return power_task(t, "unpausing", "compute_unpause_instance", virt_unpause, -1, "active",
                      VIRT_RUNNING);
}

static int
task_suspend(const ms_task *t, char **err)
{
    (void)err;
    return power_task(t, "suspending", "compute_suspend_instance", virt_suspend, -1,
                      "suspended", VIRT_SUSPENDED);
}

static int
task_resume(const ms_task *t, char **err)
{
    (void)err;
    return power_task(t, "resuming", "compute_resume_instance", virt_resume, -1, "active",
                      VIRT_RUNNING);
}

/* trigger_crash_dump (2.17): an NMI into the guest; the server's states
 * do not change (what the guest does with it is its own configuration).
 * A failure (unsupported, not running) shows as the event's Error. */
static int
task_trigger_crash_dump(const ms_task *t, char **err)
{
    (void)err;
    compute_instance i;
    int rc = compute_instance_db_get(t->resource_id, false, &i);
    if (rc == -ENOENT)
        return 0;
    if (rc < 0)
        return rc;
    const char *rid = task_request_id(t);
    compute_action_db_event(i.uuid, rid, "compute_trigger_crash_dump", true, NULL);
    char *verr = NULL;
    rc = virt_inject_nmi(i.uuid, &verr);
    if (rc < 0) {
        ms_warn("Triggering a crash dump failed: %s instance=%s", verr ? verr : "", i.uuid);
        compute_action_db_event_error(i.uuid, rid, "compute_trigger_crash_dump",
                                      verr ? verr : "Injecting an NMI failed.");
        compute_action_db_finish(i.uuid, rid, "Error");
    } else {
        compute_action_db_event(i.uuid, rid, "compute_trigger_crash_dump", false, "Success");
    }
    free(verr);
    compute_instance_clear(&i);
    return 0;
}

static int
task_reboot(const ms_task *t, char **err)
{
    (void)err;
    bool hard = json_is_true(json_object_get(t->payload, "hard"));
    return power_task(t, hard ? "rebooting_hard" : "rebooting", "compute_reboot_instance",
                      NULL, hard ? 1 : 0, "active", VIRT_RUNNING);
}

/* ---- snapshot (createImage) ---- */

static int
run_argv(const char *const *argv, int timeout_ms, char **err, const char *what)
{
    ms_exec_result r = {0};
    int rc = ms_exec(argv, NULL, timeout_ms, &r);
    if (rc < 0)
        *err = ms_asprintf("%s failed: %s", what, r.err && *r.err ? r.err : strerror(-rc));
    ms_exec_result_free(&r);
    return rc;
}

/* Load the task's instance if it still waits for this task (its task_state
 * is `state`). Returns 1 to go on with i filled, 0 when the task is moot
 * (the instance is gone or has moved on), or a negative errno to retry. */
static int
task_instance(const ms_task *t, const char *state, compute_instance *i)
{
    int rc = compute_instance_db_get(t->resource_id, false, i);
    if (rc == -ENOENT)
        return 0;
    if (rc < 0)
        return rc;
    if (strcmp(i->task_state, state)) {
        compute_instance_clear(i);
        return 0;
    }
    return 1;
}

/* Copy the root disk into a standalone qcow2 and upload it as the data of
 * the queued image the API created. A running guest is paused for the copy
 * so the image is consistent. The image is killed on failure. A backup
 * (createBackup: backup_type in the payload) then rotates the server's
 * backups of that type. */
static int
task_snapshot(const ms_task *t, char **err)
{
    (void)err;
    const char *image_id = ms_json_strval(t->payload, "image_id");
    if (!image_id)
        return 0;
    const char *backup_type = ms_json_strval(t->payload, "backup_type");
    const char *state = backup_type ? "image_backup" : "image_snapshot";
    const char *event = backup_type ? "compute_backup_instance" : "compute_snapshot_instance";
    compute_instance i;
    int rc = task_instance(t, state, &i);
    if (rc <= 0)
        return rc;
    const char *rid = task_request_id(t);
    compute_action_db_event(i.uuid, rid, event, true, NULL);
    compute_instance_db_transition(i.uuid, NULL, state, NULL, "image_pending_upload", -1);
    char *ierr = NULL;
    char *disk = instance_file(i.uuid, "disk");
    char *name = ms_asprintf("snapshot-%s.qcow2", image_id);
    char *tmp = instance_file(i.uuid, name);
    free(name);
    bool paused = false;
    if (actual_power(i.uuid, VIRT_NOSTATE) == VIRT_RUNNING) {
        char *e = NULL;
        paused = virt_pause(i.uuid, &e) == 0;
        free(e);
    }
    const char *argv[] = {"qemu-img", "convert", "-U", "-O", "qcow2", disk, tmp, NULL};
    rc = run_argv(argv, 600000, &ierr, "qemu-img convert");
    if (paused) {
        char *e = NULL;
        virt_unpause(i.uuid, &e);
        free(e);
    }
    if (rc == 0) {
        compute_instance_db_transition(i.uuid, NULL, "image_pending_upload", NULL,
                                       "image_uploading", -1);
        rc = ms_image_upload_file(image_id, tmp, &ierr);
    }
    unlink(tmp);
    if (rc < 0) {
        ms_warn("Snapshot failed. instance=%s image=%s error=\"%s\"", i.uuid, image_id,
                ierr ? ierr : "?");
        ms_image_kill(image_id);
    } else if (backup_type) {
        json_t *rot = json_object_get(t->payload, "rotation");
        int r2 = ms_image_rotate_backups(i.uuid, backup_type,
                                         json_is_integer(rot) ? json_integer_value(rot) : 0);
        if (r2 < 0)
            ms_warn("Backup rotation failed. instance=%s type=%s error=\"%s\"", i.uuid,
                    backup_type, strerror(-r2));
    }
    /* Whatever intermediate task state was reached, the task is over. */
    compute_instance_db_set(i.uuid, NULL, NULL, actual_power(i.uuid, -1));
    if (rc == 0)
        compute_action_db_event(i.uuid, rid, event, false, "Success");
    else
        compute_action_db_event_error(i.uuid, rid, event,
                                      ierr ? ierr : "The snapshot could not be uploaded.");
    free(ierr);
    free(disk);
    free(tmp);
    compute_instance_clear(&i);
    return 0;
}

/* ---- rebuild ---- */

/* A failed rebuild or resize leaves the server in ERROR with a fault. */
static void
action_fail(const compute_instance *i, const char *rid, const char *event, int code,
            const char *msg)
{
    ms_warn("Action failed. instance=%s event=%s error=\"%s\"", i->uuid, event, msg);
    compute_instance_db_set_fault(i->uuid, code, msg, NULL);
    compute_instance_db_set(i->uuid, "error", NULL, actual_power(i->uuid, VIRT_NOSTATE));
    compute_action_db_event_error(i->uuid, rid, event, msg);
}

/* The API has already written the new image_ref (and name, metadata). The
 * domain is replaced with one on a fresh overlay of that image; a server
 * that was stopped stays stopped, as in Nova. */
static int
task_rebuild(const ms_task *t, char **err)
{
    (void)err;
    compute_instance i;
    int rc = task_instance(t, "rebuilding", &i);
    if (rc <= 0)
        return rc;
    const char *rid = task_request_id(t);
    const char *ev = "compute_rebuild_instance";
    compute_action_db_event(i.uuid, rid, ev, true, NULL);
    const char *image = ms_json_strval(t->payload, "image_ref");
    if (image && strcmp(image, i.image_ref)) {
        snprintf(i.image_ref, sizeof(i.image_ref), "%s", image);
        compute_instance_db_set_image(i.uuid, image);
    }
    char *ierr = NULL;
    int code = 500;
    rc = virt_destroy(i.uuid, &ierr);
    if (rc == -ENODEV)
        rc = 0;
    if (rc == 0) {
        free(ierr);
        ierr = NULL;
        rc = create_disk(&i, true, &code, &ierr);
        if (rc == -EAGAIN) {
            free(ierr);
            compute_instance_clear(&i);
            return -EAGAIN;
        }
    }
    if (rc == 0) {
        /* Nova writes the config drive afresh when it respawns a rebuilt
         * server (new image, name or metadata); define_domain remakes it. */
        char *cd = instance_file(i.uuid, "disk.config");
        unlink(cd);
        free(cd);
    }
    bool stopped = !strcmp(i.vm_state, "stopped");
    if (rc == 0)
        rc = define_domain(&i, !stopped, &ierr);
    if (rc < 0) {
        action_fail(&i, rid, ev, code, ierr ? ierr : "The server could not be rebuilt.");
    } else {
        compute_instance_db_set(i.uuid, stopped ? "stopped" : "active", NULL,
                                actual_power(i.uuid, stopped ? VIRT_SHUTDOWN : VIRT_RUNNING));
        compute_action_db_event(i.uuid, rid, ev, false, "Success");
    }
    free(ierr);
    compute_instance_clear(&i);
    return 0;
}

/* ---- resize (same host), confirm, revert ---- */

/* Resize: keep a copy of the root disk for revertResize, grow the disk to
 * the new flavor, redefine the domain with the new vCPUs and RAM and bring
 * it back in its previous power state; the server then waits in
 * VERIFY_RESIZE. The payload carries the new flavor; the old one (with the
 * vm_state to return to) is saved in old_flavor. */
static int
task_resize(const ms_task *t, char **err)
{
    (void)err;
    json_t *nf = json_object_get(t->payload, "flavor");
    if (!json_is_object(nf))
        return 0;
    compute_instance i;
    int rc = task_instance(t, "resize_prep", &i);
    if (rc <= 0)
        return rc;
    const char *rid = task_request_id(t);
    const char *ev = "compute_resize_instance";
    compute_action_db_event(i.uuid, rid, ev, true, NULL);
    compute_instance_db_transition(i.uuid, NULL, "resize_prep", NULL, "resize_migrating", -1);
    bool was_stopped = !strcmp(i.vm_state, "stopped");
    json_t *old = compute_flavor_snapshot(i.flavorid, i.flavor_name, i.memory_mb, i.vcpus,
                                          i.root_gb, i.ephemeral_gb, i.swap);
    json_object_set_new(old, "vm_state", json_string(was_stopped ? "stopped" : "active"));
    char *ierr = NULL;
    char *disk = instance_file(i.uuid, "disk");
    char *orig = instance_file(i.uuid, "disk.resize-orig");
    rc = virt_destroy(i.uuid, &ierr);
    if (rc == 0 && access(orig, F_OK) != 0) {
        const char *cp[] = {"cp", "--sparse=always", disk, orig, NULL};
        rc = run_argv(cp, 600000, &ierr, "Copying the disk");
    }
    int new_root = (int)json_integer_value(json_object_get(nf, "root_gb"));
    if (rc == 0 && new_root > i.root_gb) {
        char size[32];
        snprintf(size, sizeof(size), "%dG", new_root);
        const char *rs[] = {"qemu-img", "resize", disk, size, NULL};
        rc = run_argv(rs, 60000, &ierr, "qemu-img resize");
    }
    if (rc == 0) {
        compute_instance_db_transition(i.uuid, NULL, "resize_migrating", NULL, "resize_finish",
                                       -1);
        rc = compute_instance_db_set_flavor(i.uuid, nf, old);
    }
    if (rc == 0) {
        compute_instance now;
        rc = compute_instance_db_get(i.uuid, false, &now);
        if (rc == 0) {
            rc = define_domain(&now, !was_stopped, &ierr);
            compute_instance_clear(&now);
        }
    }
    if (rc < 0) {
        action_fail(&i, rid, ev, 500, ierr ? ierr : "The server could not be resized.");
    } else {
        compute_instance_db_set(i.uuid, "resized", NULL,
                                actual_power(i.uuid, was_stopped ? VIRT_SHUTDOWN : VIRT_RUNNING));
        compute_action_db_event(i.uuid, rid, ev, false, "Success");
    }
    json_decref(old);
    free(ierr);
    free(disk);
    free(orig);
    compute_instance_clear(&i);
    return 0;
}

/* confirmResize: drop the saved disk and flavor; the server leaves
 * VERIFY_RESIZE for ACTIVE or SHUTOFF according to its power state. */
static int
task_confirm_resize(const ms_task *t, char **err)
{
    (void)err;
    compute_instance i;
    int rc = task_instance(t, "resize_confirming", &i);
    if (rc <= 0)
        return rc;
    const char *rid = task_request_id(t);
    compute_action_db_event(i.uuid, rid, "compute_confirm_resize", true, NULL);
    char *orig = instance_file(i.uuid, "disk.resize-orig");
    unlink(orig);
    free(orig);
    json_t *cur = compute_flavor_snapshot(i.flavorid, i.flavor_name, i.memory_mb, i.vcpus,
                                          i.root_gb, i.ephemeral_gb, i.swap);
    compute_instance_db_set_flavor(i.uuid, cur, NULL);
    json_decref(cur);
    int ps = actual_power(i.uuid, i.power_state);
    compute_instance_db_set(i.uuid, ps == VIRT_RUNNING ? "active" : "stopped", NULL, ps);
    compute_action_db_event(i.uuid, rid, "compute_confirm_resize", false, "Success");
    compute_instance_clear(&i);
    return 0;
}

/* revertResize: put the saved disk back, the old flavor and power state. */
static int
task_revert_resize(const ms_task *t, char **err)
{
    (void)err;
    compute_instance i;
    int rc = task_instance(t, "resize_reverting", &i);
    if (rc <= 0)
        return rc;
    const char *rid = task_request_id(t);
    const char *ev = "compute_revert_resize";
    compute_action_db_event(i.uuid, rid, ev, true, NULL);
    json_t *old = NULL;
    char *ierr = NULL;
    rc = compute_instance_db_old_flavor(i.uuid, &old);
    if (rc == -ENOENT)
        ierr = ms_strdup("The flavor from before the resize is not known.");
    char *disk = instance_file(i.uuid, "disk");
    char *orig = instance_file(i.uuid, "disk.resize-orig");
    if (rc == 0)
        rc = virt_destroy(i.uuid, &ierr);
    if (rc == 0 && access(orig, F_OK) == 0 && rename(orig, disk) < 0) {
        rc = -errno;
        ierr = ms_asprintf("Cannot restore the disk from before the resize: %s",
                           strerror(errno));
    }
    const char *vm = old ? ms_json_strval(old, "vm_state") : NULL;
    bool stopped = vm && !strcmp(vm, "stopped");
    if (rc == 0)
        rc = compute_instance_db_set_flavor(i.uuid, old, NULL);
    if (rc == 0) {
        compute_instance now;
        rc = compute_instance_db_get(i.uuid, false, &now);
        if (rc == 0) {
            rc = define_domain(&now, !stopped, &ierr);
            compute_instance_clear(&now);
        }
    }
    if (rc < 0) {
        action_fail(&i, rid, ev, 500, ierr ? ierr : "The resize could not be reverted.");
    } else {
        compute_instance_db_set(i.uuid, stopped ? "stopped" : "active", NULL,
                                actual_power(i.uuid, stopped ? VIRT_SHUTDOWN : VIRT_RUNNING));
        compute_action_db_event(i.uuid, rid, ev, false, "Success");
    }
    json_decref(old);
    free(ierr);
    free(disk);
    free(orig);
    compute_instance_clear(&i);
    return 0;
}

/* ---- shelve, shelveOffload, unshelve ---- */

/* Drop the domain and the local disk; the shelved image keeps the data.
 * The server leaves its host (its resources are free for others). */
static int
offload(const compute_instance *i, char **ierr)
{
    int rc = virt_destroy(i->uuid, ierr);
    if (rc < 0 && rc != -ENODEV)
        return rc;
    char *root = compute_instances_path();
    char *dir = ms_asprintf("%s/%s", root, i->uuid);
    free(root);
    const char *argv[] = {"rm", "-rf", "--", dir, NULL};
    rc = run_argv(argv, 60000, ierr, "Removing the instance directory");
    free(dir);
    if (rc == 0 && (rc = compute_instance_db_set_shelved(i->uuid, i->shelved_image_id,
                                                         true)) == 0)
        rc = compute_instance_db_set(i->uuid, "shelved_offloaded", NULL, VIRT_NOSTATE);
    return rc;
}

/* Stop the guest, upload its disk into the image the API created, and
 * mark it SHELVED; offloaded at once when [compute] shelved_offload_time
 * is 0, as Nova does. On failure the server keeps its state and the image
 * is killed. */
static int
task_shelve(const ms_task *t, char **err)
{
    (void)err;
    const char *image_id = ms_json_strval(t->payload, "image_id");
    if (!image_id)
        return 0;
    compute_instance i;
    int rc = task_instance(t, "shelving", &i);
    if (rc <= 0)
        return rc;
    const char *rid = task_request_id(t);
    const char *ev = "compute_shelve_instance";
    compute_action_db_event(i.uuid, rid, ev, true, NULL);
    char *ierr = NULL;
    rc = virt_power_off(i.uuid, &ierr);
    if (rc < 0 && actual_power(i.uuid, VIRT_NOSTATE) != VIRT_RUNNING)
        rc = 0;   /* already off (or gone): nothing to stop */
    free(ierr);
    ierr = NULL;
    compute_instance_db_transition(i.uuid, NULL, "shelving", NULL,
                                   "shelving_image_pending_upload", -1);
    char *disk = instance_file(i.uuid, "disk");
    char *name = ms_asprintf("shelve-%s.qcow2", image_id);
    char *tmp = instance_file(i.uuid, name);
    free(name);
    if (rc == 0) {
        const char *argv[] = {"qemu-img", "convert", "-U", "-O", "qcow2", disk, tmp, NULL};
        rc = run_argv(argv, 600000, &ierr, "qemu-img convert");
    }
    if (rc == 0) {
        compute_instance_db_transition(i.uuid, NULL, "shelving_image_pending_upload", NULL,
                                       "shelving_image_uploading", -1);
        rc = ms_image_upload_file(image_id, tmp, &ierr);
    }
    unlink(tmp);
    free(tmp);
    free(disk);
    if (rc < 0) {
        ms_warn("Shelve failed. instance=%s image=%s error=\"%s\"", i.uuid, image_id,
                ierr ? ierr : "?");
        ms_image_kill(image_id);
        compute_instance_db_set(i.uuid, NULL, NULL, actual_power(i.uuid, -1));
        compute_action_db_event_error(i.uuid, rid, ev,
                                      ierr ? ierr : "The server could not be shelved.");
        goto out;
    }
    snprintf(i.shelved_image_id, sizeof(i.shelved_image_id), "%s", image_id);
    compute_instance_db_set_shelved(i.uuid, image_id, false);
    if (ms_conf.shelved_offload_time == 0) {
        compute_instance_db_set(i.uuid, NULL, "shelving_offloading", -1);
        rc = offload(&i, &ierr);
    } else {
        rc = compute_instance_db_set(i.uuid, "shelved", NULL,
                                     actual_power(i.uuid, VIRT_SHUTDOWN));
    }
    if (rc < 0)
        action_fail(&i, rid, ev, 500, ierr ? ierr : "The server could not be offloaded.");
    else
        compute_action_db_event(i.uuid, rid, ev, false, "Success");
out:
    free(ierr);
    compute_instance_clear(&i);
    return 0;
}

static int
task_shelve_offload(const ms_task *t, char **err)
{
    (void)err;
    compute_instance i;
    int rc = task_instance(t, "shelving_offloading", &i);
    if (rc <= 0)
        return rc;
    const char *rid = task_request_id(t);
    const char *ev = "compute_shelve_offload_instance";
    compute_action_db_event(i.uuid, rid, ev, true, NULL);
    char *ierr = NULL;
    if (offload(&i, &ierr) < 0)
        action_fail(&i, rid, ev, 500, ierr ? ierr : "The server could not be offloaded.");
    else
        compute_action_db_event(i.uuid, rid, ev, false, "Success");
    free(ierr);
    compute_instance_clear(&i);
    return 0;
}

/* A SHELVED server is started again where it is; an offloaded one is
 * scheduled (its group's policy applies), gets a disk from the shelved
 * image and boots. Either way the shelved image is then dropped, as Nova
 * deletes it. No valid host leaves it SHELVED_OFFLOADED, as in Nova. */
static int
task_unshelve(const ms_task *t, char **err)
{
    (void)err;
    compute_instance i;
    int rc = task_instance(t, "unshelving", &i);
    if (rc <= 0)
        return rc;
    const char *rid = task_request_id(t);
    const char *ev = "compute_unshelve_instance";
    char *ierr = NULL;
    if (!i.host[0]) {
        char host[256];
        /* 2.91: the payload may name the host. */
        if ((rc = schedule(&i, t->payload, host)) < 0)
            goto out;
        if (!host[0]) {
            /* Nova's conductor: the server stays SHELVED_OFFLOADED and the
             * failed scheduling shows as an event of the unshelve action. */
            ms_warn("No valid host found for unshelve. instance=%s", i.uuid);
            compute_action_db_event(i.uuid, rid, "schedule_instances", true, NULL);
            compute_action_db_event(i.uuid, rid, "schedule_instances", false, "Error");
            compute_instance_db_set(i.uuid, NULL, NULL, -1);
            goto out;
        }
        if ((rc = compute_instance_db_place(i.uuid, host)) < 0)
            goto out;
        if (strcmp(host, ms_conf.host)) {
            long long tid;
            if ((rc = ms_task_enqueue("compute", host, "unshelve", i.uuid, t->payload,
                                      &tid)) == 0)
                ms_task_publish("compute", host, tid);
            goto out;
        }
        snprintf(i.host, sizeof(i.host), "%s", host);
    }
    compute_action_db_event(i.uuid, rid, ev, true, NULL);
    if (!strcmp(i.vm_state, "shelved_offloaded")) {
        compute_instance from = i;   /* shallow: the disk comes from the shelved image */
        snprintf(from.image_ref, sizeof(from.image_ref), "%s", i.shelved_image_id);
        int code = 500;
        rc = create_disk(&from, true, &code, &ierr);
        if (rc == -EAGAIN) {
            free(ierr);
            ierr = NULL;
            compute_instance_db_set_shelved(i.uuid, i.shelved_image_id, true);
            goto out;
        }
        if (rc == 0)
            rc = define_domain(&i, true, &ierr);
    } else {
        rc = virt_power_on(i.uuid, &ierr);
    }
    if (rc < 0) {
        action_fail(&i, rid, ev, 500, ierr ? ierr : "The server could not be unshelved.");
        rc = 0;
        goto out;
    }
    if (i.shelved_image_id[0])
        ms_image_delete(i.shelved_image_id);
    compute_instance_db_set_shelved(i.uuid, NULL, false);
    compute_instance_db_set(i.uuid, "active", NULL, actual_power(i.uuid, VIRT_RUNNING));
    compute_action_db_event(i.uuid, rid, ev, false, "Success");
out:
    free(ierr);
    compute_instance_clear(&i);
    return rc;
}

/* ---- rescue, unrescue ---- */

/* The guest is redefined to boot a fresh overlay of the rescue image
 * (disk.rescue) with its own disk attached as the second disk. */
static int
task_rescue(const ms_task *t, char **err)
{
    (void)err;
    compute_instance i;
    int rc = task_instance(t, "rescuing", &i);
    if (rc <= 0)
        return rc;
    const char *rid = task_request_id(t);
    const char *ev = "compute_rescue_instance";
    compute_action_db_event(i.uuid, rid, ev, true, NULL);
    const char *image = ms_json_strval(t->payload, "rescue_image_ref");
    compute_instance from = i;
    if (image)
        snprintf(from.image_ref, sizeof(from.image_ref), "%s", image);
    ms_auth_ctx ctx = {.authenticated = true};
    snprintf(ctx.project_id, sizeof(ctx.project_id), "%s", i.project_id);
    ms_image_info img;
    char *ierr = NULL;
    char *base = NULL;
    char *rdisk = instance_file(i.uuid, "disk.rescue");
    char *disk = instance_file(i.uuid, "disk");
    rc = ms_image_get_active(&ctx, from.image_ref, &img);
    if (rc == 0 && img.path) {
        rc = cache_image(&img, &base, &ierr);
        unlink(rdisk);
        if (rc == 0)
            rc = make_overlay(base, img.disk_format[0] ? img.disk_format : "raw", rdisk,
                              i.root_gb, &ierr);
        ms_image_info_clear(&img);
    } else {
        if (rc == 0)
            ms_image_info_clear(&img);
        ierr = ms_asprintf("Image %s could not be found.", from.image_ref);
        rc = -ENOENT;
    }
    if (rc == 0 && (rc = virt_destroy(i.uuid, &ierr)) == -ENODEV)
        rc = 0;
    if (rc == 0) {
        free(ierr);
        ierr = NULL;
        char *log = instance_file(i.uuid, "console.log");
        char name[32];
        snprintf(name, sizeof(name), "instance-%08llx", i.id);
        virt_domain_spec spec = {
            .uuid = i.uuid, .name = name, .virt_type = virt_type(), .vcpus = i.vcpus,
            .memory_mb = i.memory_mb, .disk_path = rdisk, .disk_format = "qcow2",
            .ephemeral_path = disk, .console_log = log, .vnc = true,
            .vnc_listen = "127.0.0.1", .display_name = i.name, .flavor_name = i.flavor_name,
            .project_id = i.project_id, .user_id = i.user_id};
        char *xml = virt_domain_xml(&spec);
        rc = virt_define_start(xml, &ierr);
        free(xml);
        free(log);
    }
    if (rc < 0) {
        action_fail(&i, rid, ev, 500, ierr ? ierr : "The server could not be rescued.");
    } else {
        compute_instance_db_set(i.uuid, "rescued", NULL, actual_power(i.uuid, VIRT_RUNNING));
        compute_action_db_event(i.uuid, rid, ev, false, "Success");
    }
    free(base);
    free(rdisk);
    free(disk);
    free(ierr);
    compute_instance_clear(&i);
    return 0;
}

static int
task_unrescue(const ms_task *t, char **err)
{
    (void)err;
    compute_instance i;
    int rc = task_instance(t, "unrescuing", &i);
    if (rc <= 0)
        return rc;
    const char *rid = task_request_id(t);
    const char *ev = "compute_unrescue_instance";
    compute_action_db_event(i.uuid, rid, ev, true, NULL);
    char *ierr = NULL;
    if ((rc = virt_destroy(i.uuid, &ierr)) == -ENODEV)
        rc = 0;
    if (rc == 0) {
        free(ierr);
        ierr = NULL;
        char *rdisk = instance_file(i.uuid, "disk.rescue");
        unlink(rdisk);
        free(rdisk);
        rc = define_domain(&i, true, &ierr);
    }
    if (rc < 0) {
        action_fail(&i, rid, ev, 500, ierr ? ierr : "The server could not be unrescued.");
    } else {
        compute_instance_db_set(i.uuid, "active", NULL, actual_power(i.uuid, VIRT_RUNNING));
        compute_action_db_event(i.uuid, rid, ev, false, "Success");
    }
    free(ierr);
    compute_instance_clear(&i);
    return 0;
}

/* Copy images into this host's cache ahead of boots (os-aggregates
 * images, 2.81). Best effort, as Nova's: an image that vanished or is not
 * active is skipped with a warning. */
static int
task_cache_images(const ms_task *t, char **err)
{
    (void)err;
    ms_auth_ctx ctx = {.authenticated = true, .is_admin = true};
    const char *project = json_string_value(json_object_get(t->payload, "project_id"));
    snprintf(ctx.project_id, sizeof(ctx.project_id), "%s", project ? project : "");
    size_t k;
    json_t *id;
    json_array_foreach(json_object_get(t->payload, "images"), k, id) {
        ms_image_info img;
        int rc = ms_image_get_active(&ctx, json_string_value(id), &img);
        if (rc == -EAGAIN)
            return rc;
        if (rc < 0 || !img.path) {
            ms_warn("Cannot cache image %s: it is not an active image.",
                    json_string_value(id) ? json_string_value(id) : "?");
            if (rc == 0)
                ms_image_info_clear(&img);
            continue;
        }
        char *base = NULL, *cerr = NULL;
        if (cache_image(&img, &base, &cerr) < 0) {
            ms_warn("Cannot cache image %s: %s", img.id, cerr ? cerr : "?");
            free(cerr);
        }
        free(base);
        ms_image_info_clear(&img);
    }
    return 0;
}

const ms_task_handler compute_task_handlers[] = {
    {"cache_images", task_cache_images},
    {"build_instance", task_build},
    {"delete_instance", task_delete},
    {"power_off", task_power_off},
    {"power_on", task_power_on},
    {"pause", task_pause},
    {"unpause", task_unpause},
    {"suspend", task_suspend},
    {"resume", task_resume},
    {"reboot", task_reboot},
    {"trigger_crash_dump", task_trigger_crash_dump},
    {"snapshot", task_snapshot},
    {"rebuild", task_rebuild},
    {"resize", task_resize},
    {"confirm_resize", task_confirm_resize},
    {"revert_resize", task_revert_resize},
    {"shelve", task_shelve},
    {"shelve_offload", task_shelve_offload},
    {"unshelve", task_unshelve},
    {"rescue", task_rescue},
    {"unrescue", task_unrescue},
    {NULL, NULL},
};

/* ---- power sync ---- */

/* Reconcile one instance with what the hypervisor reports: a guest that
 * powered itself off becomes SHUTOFF (Nova's _sync_instance_power_state). */
static void
sync_one(const compute_instance *i, int ps)
{
    if (i->task_state[0])
        return;   /* an operation is in flight; it sets the state itself */
    if (ps != i->power_state)
        compute_instance_db_set_power(i->uuid, ps);
    if (!strcmp(i->vm_state, "active") && (ps == VIRT_SHUTDOWN || ps == VIRT_CRASHED ||
                                           ps == VIRT_NOSTATE)) {
        ms_info("Instance powered off by itself; marking it stopped. instance=%s", i->uuid);
        compute_instance_db_transition(i->uuid, (const char *const[]){"active", NULL}, NULL,
                                       "stopped", NULL, ps);
    } else if (!strcmp(i->vm_state, "stopped") && ps == VIRT_RUNNING) {
        compute_instance_db_transition(i->uuid, (const char *const[]){"stopped", NULL}, NULL,
                                       "active", NULL, ps);
    }
}

static int
dom_cmp(const void *a, const void *b)
{
    return strcmp(((const virt_domain_state *)a)->uuid, ((const virt_domain_state *)b)->uuid);
}

static void
power_sync(void)
{
    compute_instance *list = NULL;
    size_t n = 0;
    if (compute_instance_db_on_host(ms_conf.host, &list, &n) < 0)
        return;
    virt_domain_state *doms = NULL;
    size_t nd = 0;
    char *err = NULL;
    if (virt_list(&doms, &nd, &err) == 0) {
        /* Sorted for a binary search per instance: with thousands of servers
         * a scan per instance cost seconds of CPU every period. */
        if (nd > 1)
            qsort(doms, nd, sizeof(*doms), dom_cmp);
        for (size_t k = 0; k < n; k++) {
            if (!strcmp(list[k].vm_state, "shelved") && !list[k].task_state[0] &&
                ms_conf.shelved_offload_time > 0 &&
                compute_now() - list[k].updated_at >
                    (int64_t)ms_conf.shelved_offload_time * 1000000) {
                /* Nova's _poll_shelved_instances: offload after the grace time. */
                if (compute_instance_db_transition(list[k].uuid,
                                                   (const char *const[]){"shelved", NULL},
                                                   NULL, NULL, "shelving_offloading",
                                                   -1) == 0) {
                    char *oerr = NULL;
                    if (offload(&list[k], &oerr) < 0) {
                        /* As Nova's reverts_task_state and wrap_instance_fault:
                         * the server stays SHELVED, with a fault saying why. */
                        ms_warn("Offload failed. instance=%s error=\"%s\"", list[k].uuid,
                                oerr ? oerr : "?");
                        compute_instance_db_set_fault(
                            list[k].uuid, 500,
                            oerr ? oerr : "The server could not be offloaded.", NULL);
                        compute_instance_db_set(list[k].uuid, NULL, NULL, -1);
                    }
                    free(oerr);
                }
                continue;
            }
            if (strcmp(list[k].vm_state, "active") && strcmp(list[k].vm_state, "stopped") &&
                strcmp(list[k].vm_state, "paused") && strcmp(list[k].vm_state, "suspended"))
                continue;
            virt_domain_state key = {0};
            snprintf(key.uuid, sizeof(key.uuid), "%s", list[k].uuid);
            const virt_domain_state *d =
                nd ? bsearch(&key, doms, nd, sizeof(*doms), dom_cmp) : NULL;
            sync_one(&list[k], d ? d->power_state : VIRT_NOSTATE);
        }
    }
    free(err);
    free(doms);
    for (size_t k = 0; k < n; k++)
        compute_instance_clear(&list[k]);
    free(list);
}

static void
on_lifecycle(const char *uuid, int ps)
{
    /* Events are delivered late: the "stopped" event of a hard reboot can
     * arrive after the reboot task has finished and cleared task_state, and
     * trusting it would mark a running guest SHUTOFF. So the event only says
     * "look again": the hypervisor's current state is what is synced. A
     * domain that is gone is left to the periodic sync. */
    int actual = ps;
    char *verr = NULL;
    int vrc = virt_get_state(uuid, &actual, &verr);
    free(verr);
    if (vrc < 0)
        return;
    ps = actual;
    compute_instance i;
    if (compute_instance_db_get(uuid, false, &i) != 0)
        return;
    if (!strcmp(i.host, ms_conf.host))
        sync_one(&i, ps);
    compute_instance_clear(&i);
    /* The event thread keeps its database connection like every other
     * thread (closed when it exits): reconnecting for each event cost a
     * connection setup per build, right when the next request comes. */
}

/* Nova's image cache manager, every [compute] image_cache_manager_interval. */
static void
image_cache_clean(void)
{
    static int64_t last;
    int64_t now = compute_now() / 1000000;
    if (ms_conf.image_cache_manager_interval <= 0 ||
        now - last < ms_conf.image_cache_manager_interval)
        return;
    last = now;
    char *root = compute_instances_path();
    compute_image_cache_clean(root, now, ms_conf.remove_unused_original_minimum_age_seconds);
    free(root);
}

static void
heartbeat(void)
{
    compute_service_heartbeat();
}

const ms_periodic compute_periodic_jobs[] = {
    {"compute_heartbeat", 10, heartbeat},
    {"compute_power_sync", 10, power_sync},
    {"compute_image_cache", 60, image_cache_clean},
    {NULL, 0, NULL},
};

int
compute_manager_init(void)
{
    char *root = compute_instances_path();
    mkdir_p(root);
    free(root);
    char *err = NULL;
    if (virt_open(&err) < 0) {
        ms_warn("Cannot open the hypervisor connection; builds will fail until it works: %s",
                err ? err : "?");
        free(err);
        err = NULL;
    } else if (virt_events_start(on_lifecycle, &err) < 0) {
        ms_warn("No libvirt lifecycle events; the periodic sync still runs: %s",
                err ? err : "?");
        free(err);
    }
    ms_info("compute: libvirt uri=%s virt_type=%s", virt_uri(), virt_type());
    if (compute_service_heartbeat() < 0)
        ms_warn("Cannot record the compute service heartbeat yet.");
    return 0;
}

void
compute_manager_fini(void)
{
    virt_close();
}
