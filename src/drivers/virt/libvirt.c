/* The libvirt virt driver: one shared connection (libvirt connections are
 * thread-safe), domains looked up by the instance uuid, lifecycle events
 * through libvirt's default event loop on a thread of its own. Works with
 * qemu:///system (kvm or TCG) and with the test:///default driver. */
#include "drivers/virt/virt.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include <monostack/log.h>

static virConnectPtr conn;
static bool is_test;
static pthread_t event_thread;
static bool events_running;
static volatile bool events_stop_flag;
static int event_cb_id = -1;
static virt_event_cb user_cb;

static char *
last_error(const char *what)
{
    const virError *e = virGetLastError();
    return ms_asprintf("%s: %s", what, e && e->message ? e->message : "unknown libvirt error");
}

static void
silent_error(void *ud, virErrorPtr e)
{
    (void)ud;
    (void)e;   /* errors are read with virGetLastError and reported by the caller */
}

static int
lv_open(const char *uri, char **err)
{
    virSetErrorFunc(NULL, silent_error);
    /* The event loop must be registered before the connection opens for
     * lifecycle events to reach this connection. */
    static bool loop_registered;
    if (!loop_registered && virEventRegisterDefaultImpl() == 0)
        loop_registered = true;
    conn = virConnectOpen(uri);
    if (!conn) {
        *err = last_error("Cannot connect to libvirt");
        return -ECONNREFUSED;
    }
    is_test = strncmp(uri, "test:", 5) == 0;
    return 0;
}

static void
lv_close(void)
{
    if (conn)
        virConnectClose(conn);
    conn = NULL;
}

static int
lv_host_info(virt_host_info *out, char **err)
{
    memset(out, 0, sizeof(*out));
    virNodeInfo ni;
    if (virNodeGetInfo(conn, &ni) < 0) {
        *err = last_error("Cannot read the host information");
        return -EIO;
    }
    char *hn = virConnectGetHostname(conn);
    snprintf(out->hostname, sizeof(out->hostname), "%s", hn ? hn : "localhost");
    free(hn);
    const char *type = virConnectGetType(conn);
    snprintf(out->hypervisor_type, sizeof(out->hypervisor_type), "%s",
             is_test ? "QEMU" : (type ? type : "QEMU"));
    unsigned long ver = 0;
    if (virConnectGetVersion(conn, &ver) == 0)
        out->hypervisor_version = (long long)ver;
    out->vcpus = (int)ni.cpus;
    out->memory_mb = (long long)(ni.memory / 1024);
    snprintf(out->cpu_model, sizeof(out->cpu_model), "%s", ni.model);
    snprintf(out->cpu_arch, sizeof(out->cpu_arch), "x86_64");
    return 0;
}

static virDomainPtr
lookup(const char *uuid)
{
    return virDomainLookupByUUIDString(conn, uuid);
}

static bool
no_domain(void)
{
    const virError *e = virGetLastError();
    return e && e->code == VIR_ERR_NO_DOMAIN;
}

static int
lv_define_start(const char *xml, char **err)
{
    virDomainPtr d = virDomainDefineXML(conn, xml);
    if (!d) {
        *err = last_error("Cannot define the domain");
        return -EIO;
    }
    int active = virDomainIsActive(d);
    int rc = 0;
    if (active == 0 && virDomainCreate(d) < 0) {
        *err = last_error("Cannot start the domain");
        rc = -EIO;
    }
    virDomainFree(d);
    return rc;
}

static int
lv_destroy(const char *uuid, char **err)
{
    virDomainPtr d = lookup(uuid);
    if (!d)
        return no_domain() ? 0 : (*err = last_error("Cannot find the domain"), -EIO);
    int rc = 0;
    if (virDomainIsActive(d) == 1 && virDomainDestroy(d) < 0) {
        *err = last_error("Cannot stop the domain");
        rc = -EIO;
    }
    if (rc == 0 && virDomainIsPersistent(d) == 1 &&
        virDomainUndefineFlags(d, VIR_DOMAIN_UNDEFINE_MANAGED_SAVE |
                                      VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA |
                                      VIR_DOMAIN_UNDEFINE_NVRAM) < 0 &&
        virDomainUndefine(d) < 0) {
        *err = last_error("Cannot undefine the domain");
        rc = -EIO;
    }
    virDomainFree(d);
    return rc;
}

/* Run op on the domain; -ENOENT when it does not exist. */
#define WITH_DOMAIN(uuid, what, expr)                                                    \
    do {                                                                                 \
        virDomainPtr d = lookup(uuid);                                                   \
        if (!d) {                                                                        \
            *err = last_error("Cannot find the domain");                                 \
            return no_domain() ? -ENOENT : -EIO;                                         \
        }                                                                                \
        int rc_ = 0;                                                                     \
        if ((expr) < 0) {                                                                \
            *err = last_error(what);                                                     \
            rc_ = -EIO;                                                                  \
        }                                                                                \
        virDomainFree(d);                                                                \
        return rc_;                                                                      \
    } while (0)

/* As Nova's libvirt driver reads the failure: no support, or not running. */
static int
lv_inject_nmi(const char *uuid, char **err)
{
    virDomainPtr d = lookup(uuid);
    if (!d) {
        *err = last_error("Cannot find the domain");
        return no_domain() ? -ENOENT : -EIO;
    }
    int rc = 0;
    if (virDomainInjectNMI(d, 0) < 0) {
        const virError *e = virGetLastError();
        int code = e ? e->code : 0;
        *err = last_error("Cannot inject an NMI into the domain");
        rc = code == VIR_ERR_NO_SUPPORT ? -ENOTSUP
             : code == VIR_ERR_OPERATION_INVALID ? -EINVAL : -EIO;
    }
    virDomainFree(d);
    return rc;
}

static int
lv_power_off(const char *uuid, char **err)
{
    WITH_DOMAIN(uuid, "Cannot stop the domain",
                virDomainIsActive(d) == 1 ? virDomainDestroy(d) : 0);
}

static int
lv_power_on(const char *uuid, char **err)
{
    WITH_DOMAIN(uuid, "Cannot start the domain",
                virDomainIsActive(d) == 0 ? virDomainCreate(d) : 0);
}

static int
hard_reboot(virDomainPtr d)
{
    if (virDomainIsActive(d) == 1 && virDomainDestroy(d) < 0)
        return -1;
    return virDomainCreate(d);
}

static int
lv_reboot(const char *uuid, bool hard, char **err)
{
    WITH_DOMAIN(uuid, "Cannot reboot the domain",
                hard ? hard_reboot(d) : virDomainReboot(d, 0));
}

static int
lv_pause(const char *uuid, char **err)
{
    WITH_DOMAIN(uuid, "Cannot pause the domain", virDomainSuspend(d));
}

static int
lv_unpause(const char *uuid, char **err)
{
    WITH_DOMAIN(uuid, "Cannot unpause the domain", virDomainResume(d));
}

/* Nova suspends through managed save. The test driver cannot managed-save
 * (transient domains) reliably, so there suspend is a pause, which still
 * gives the right power state transitions. */
static int
lv_suspend(const char *uuid, char **err)
{
    WITH_DOMAIN(uuid, "Cannot suspend the domain",
                is_test ? virDomainSuspend(d) : virDomainManagedSave(d, 0));
}

static int
resume_suspended(virDomainPtr d)
{
    virDomainInfo info;
    if (virDomainGetInfo(d, &info) < 0)
        return -1;
    if (info.state == VIR_DOMAIN_PAUSED)
        return virDomainResume(d);
    if (info.state == VIR_DOMAIN_SHUTOFF)
        return virDomainCreate(d);   /* restores the managed save image */
    return 0;
}

static int
lv_resume(const char *uuid, char **err)
{
    WITH_DOMAIN(uuid, "Cannot resume the domain", resume_suspended(d));
}

static int
power_state_of(int st, bool has_managed_save)
{
    switch (st) {
    case VIR_DOMAIN_RUNNING:
    case VIR_DOMAIN_BLOCKED:
        return VIRT_RUNNING;
    case VIR_DOMAIN_PAUSED:
        return VIRT_PAUSED;
    case VIR_DOMAIN_SHUTDOWN:
    case VIR_DOMAIN_SHUTOFF:
        return has_managed_save ? VIRT_SUSPENDED : VIRT_SHUTDOWN;
    case VIR_DOMAIN_CRASHED:
        return VIRT_CRASHED;
    case VIR_DOMAIN_PMSUSPENDED:
        return VIRT_SUSPENDED;
    default:
        return VIRT_NOSTATE;
    }
}

static int
lv_get_state(const char *uuid, int *ps, char **err)
{
    virDomainPtr d = lookup(uuid);
    if (!d) {
        if (no_domain()) {
            *ps = VIRT_NOSTATE;
            return -ENOENT;
        }
        *err = last_error("Cannot find the domain");
        return -EIO;
    }
    virDomainInfo info;
    int rc = 0;
    if (virDomainGetInfo(d, &info) < 0) {
        *err = last_error("Cannot read the domain state");
        rc = -EIO;
    } else {
        *ps = power_state_of(info.state, virDomainHasManagedSaveImage(d, 0) == 1);
    }
    virDomainFree(d);
    return rc;
}

static int
lv_list(virt_domain_state **out, size_t *n, char **err)
{
    virDomainPtr *doms = NULL;
    int nd = virConnectListAllDomains(conn, &doms, 0);
    if (nd < 0) {
        *err = last_error("Cannot list the domains");
        return -EIO;
    }
    *out = ms_calloc((size_t)nd + 1, sizeof(**out));
    size_t k = 0;
    for (int i = 0; i < nd; i++) {
        virDomainInfo info;
        if (virDomainGetUUIDString(doms[i], (*out)[k].uuid) == 0 &&
            virDomainGetInfo(doms[i], &info) == 0) {
            (*out)[k].power_state =
                power_state_of(info.state, virDomainHasManagedSaveImage(doms[i], 0) == 1);
            k++;
        }
        virDomainFree(doms[i]);
    }
    free(doms);
    *n = k;
    return 0;
}

static int
lifecycle_cb(virConnectPtr c, virDomainPtr d, int event, int detail, void *opaque)
{
    (void)c;
    (void)detail;
    (void)opaque;
    char uuid[VIR_UUID_STRING_BUFLEN];
    if (!user_cb || virDomainGetUUIDString(d, uuid) < 0)
        return 0;
    int ps;
    switch (event) {
    case VIR_DOMAIN_EVENT_STARTED:
    case VIR_DOMAIN_EVENT_RESUMED:
        ps = VIRT_RUNNING;
        break;
    case VIR_DOMAIN_EVENT_SUSPENDED:
        ps = VIRT_PAUSED;
        break;
    case VIR_DOMAIN_EVENT_STOPPED:
    case VIR_DOMAIN_EVENT_SHUTDOWN:
        ps = VIRT_SHUTDOWN;
        break;
    case VIR_DOMAIN_EVENT_PMSUSPENDED:
        ps = VIRT_SUSPENDED;
        break;
    default:
        return 0;
    }
    user_cb(uuid, ps);
    return 0;
}

static void *
event_main(void *arg)
{
    (void)arg;
    while (!events_stop_flag) {
        if (virEventRunDefaultImpl() < 0)
            break;
    }
    return NULL;
}

static int
timer_noop_id = -1;

static void
timer_noop(int timer, void *opaque)
{
    (void)timer;
    (void)opaque;
}

static int
lv_events_start(virt_event_cb cb, char **err)
{
    user_cb = cb;
    if (events_running)
        return 0;
    /* A periodic no-op timer wakes the loop so that stop is noticed. */
    timer_noop_id = virEventAddTimeout(500, timer_noop, NULL, NULL);
    event_cb_id = virConnectDomainEventRegisterAny(conn, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                                   VIR_DOMAIN_EVENT_CALLBACK(lifecycle_cb),
                                                   NULL, NULL);
    if (event_cb_id < 0) {
        *err = last_error("Cannot register for domain events");
        return -EIO;
    }
    events_stop_flag = false;
    if (pthread_create(&event_thread, NULL, event_main, NULL) != 0) {
        *err = ms_strdup("Cannot start the libvirt event thread.");
        return -EAGAIN;
    }
    events_running = true;
    return 0;
}

static void
lv_events_stop(void)
{
    if (!events_running)
        return;
    events_stop_flag = true;
    if (event_cb_id >= 0)
        virConnectDomainEventDeregisterAny(conn, event_cb_id);
    event_cb_id = -1;
    pthread_join(event_thread, NULL);
    if (timer_noop_id >= 0)
        virEventRemoveTimeout(timer_noop_id);
    events_running = false;
}

static int
lv_vnc_port(const char *uuid, int *port, char **err)
{
    virDomainPtr d = lookup(uuid);
    if (!d) {
        *err = last_error("Cannot find the domain");
        return no_domain() ? -ENOENT : -EIO;
    }
    *port = -1;
    char *xml = virDomainGetXMLDesc(d, 0);
    virDomainFree(d);
    if (!xml) {
        *err = last_error("Cannot read the domain XML");
        return -EIO;
    }
    const char *g = strstr(xml, "<graphics type='vnc'");
    if (g) {
        const char *p = strstr(g, "port='");
        if (p)
            *port = atoi(p + 6);
    }
    free(xml);
    return 0;
}

const virt_driver virt_libvirt_driver = {
    .name = "libvirt",
    .open = lv_open,
    .close = lv_close,
    .host_info = lv_host_info,
    .define_start = lv_define_start,
    .destroy = lv_destroy,
    .power_off = lv_power_off,
    .power_on = lv_power_on,
    .reboot = lv_reboot,
    .inject_nmi = lv_inject_nmi,
    .pause = lv_pause,
    .unpause = lv_unpause,
    .suspend = lv_suspend,
    .resume = lv_resume,
    .get_state = lv_get_state,
    .list = lv_list,
    .events_start = lv_events_start,
    .events_stop = lv_events_stop,
    .vnc_port = lv_vnc_port,
};
