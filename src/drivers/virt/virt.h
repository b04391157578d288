/* The virt driver interface: what the compute manager asks of a hypervisor.
 * A driver is a table of function pointers filled with designated
 * initializers; a NULL slot means "not supported" and the virt_* wrappers
 * answer -ENOTSUP, so callers never test slots. The driver is chosen by
 * [libvirt] uri (qemu:///..., test:///...). Domain XML rendering is a pure
 * function so unit tests compare it with golden files. */
#ifndef MS_VIRT_H
#define MS_VIRT_H

#include <monostack/common.h>

/* Nova's power_state values. */
enum {
    VIRT_NOSTATE = 0,
    VIRT_RUNNING = 1,
    VIRT_PAUSED = 3,
    VIRT_SHUTDOWN = 4,
    VIRT_CRASHED = 6,
    VIRT_SUSPENDED = 7,
};

typedef struct {
    char hostname[256];
    char hypervisor_type[32];     /* "QEMU" */
    long long hypervisor_version; /* 7002022 for 7.2.22 */
    int vcpus;
    long long memory_mb;
    long long local_gb;           /* of the instances directory */
    char cpu_model[64];
    char cpu_arch[32];
} virt_host_info;

typedef struct {
    char mac[18];
    char bridge[64];              /* "" = user-mode networking is not used: no NIC */
    char tap[16];
} virt_nic;

/* What the domain is built from. */
typedef struct {
    const char *uuid;
    const char *name;             /* "instance-0000002a" */
    const char *virt_type;        /* "qemu" or "kvm" */
    int vcpus;
    int memory_mb;
    const char *disk_path;        /* qcow2 overlay */
    const char *disk_format;      /* "qcow2" */
    const char *ephemeral_path;   /* NULL when none */
    const char *ephemeral_format; /* NULL: "qcow2" */
    const char *swap_path;        /* NULL when none */
    const char *swap_format;      /* NULL: "qcow2" */
    const char *config_drive_path;/* NULL when none */
    const char *console_log;      /* serial console file */
    const char *kernel, *initrd, *cmdline;   /* rescue/direct boot; NULL normally */
    const virt_nic *nics;
    int nnics;
    bool vnc;
    const char *vnc_listen;
    /* Metadata for operators: shows up in virsh dumpxml. */
    const char *display_name;
    const char *flavor_name;
    const char *project_id, *user_id;
} virt_domain_spec;

typedef struct {
    char uuid[37];
    int power_state;
} virt_domain_state;

/* Lifecycle event callback: a domain's power state changed. */
typedef void (*virt_event_cb)(const char *uuid, int power_state);

typedef struct {
    const char *name;
    int (*open)(const char *uri, char **err);
    void (*close)(void);
    int (*host_info)(virt_host_info *out, char **err);
    int (*define_start)(const char *xml, char **err);    /* define + start, idempotent */
    int (*destroy)(const char *uuid, char **err);        /* stop and undefine; absent ok */
    int (*power_off)(const char *uuid, char **err);      /* hard stop, keep definition */
    int (*power_on)(const char *uuid, char **err);
    int (*reboot)(const char *uuid, bool hard, char **err);
    int (*pause)(const char *uuid, char **err);
    int (*unpause)(const char *uuid, char **err);
    int (*suspend)(const char *uuid, char **err);
    int (*resume)(const char *uuid, char **err);
    int (*get_state)(const char *uuid, int *power_state, char **err);   /* -ENOENT */
    /* All domains this driver manages; caller frees *out. */
    int (*list)(virt_domain_state **out, size_t *n, char **err);
    int (*events_start)(virt_event_cb cb, char **err);
    void (*events_stop)(void);
    /* The VNC port of a running domain (-1 when none). */
    int (*vnc_port)(const char *uuid, int *port, char **err);
    /* Inject an NMI (crash dump trigger): -ENOTSUP when the hypervisor
     * cannot, -EINVAL when the domain is not running. */
    int (*inject_nmi)(const char *uuid, char **err);
} virt_driver;

extern const virt_driver virt_libvirt_driver;

/* Open the driver for [libvirt] uri (once per process). */
int virt_open(char **err);
void virt_close(void);
const char *virt_uri(void);
/* "kvm" only when hardware KVM really runs a guest here, else "qemu".
 * Honours [libvirt] virt_type when it is not "auto". Probed once. */
const char *virt_type(void);
/* Probe: run a tiny real-mode guest under /dev/kvm and check it completes
 * (PVM and broken KVM fail). Exposed for tests. */
bool virt_kvm_works(void);

/* Dispatchers: -ENOTSUP for an empty slot, -ENODEV before virt_open. */
int virt_host_info_get(virt_host_info *out, char **err);
int virt_define_start(const char *xml, char **err);
int virt_destroy(const char *uuid, char **err);
int virt_inject_nmi(const char *uuid, char **err);
int virt_power_off(const char *uuid, char **err);
int virt_power_on(const char *uuid, char **err);
int virt_reboot(const char *uuid, bool hard, char **err);
int virt_pause(const char *uuid, char **err);
int virt_unpause(const char *uuid, char **err);
int virt_suspend(const char *uuid, char **err);
int virt_resume(const char *uuid, char **err);
int virt_get_state(const char *uuid, int *power_state, char **err);
int virt_list(virt_domain_state **out, size_t *n, char **err);
int virt_events_start(virt_event_cb cb, char **err);
int virt_vnc_port(const char *uuid, int *port, char **err);

/* Render the libvirt domain XML (caller frees). Pure: no I/O. */
char *virt_domain_xml(const virt_domain_spec *spec);

#endif
