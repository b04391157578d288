/* The virt dispatch layer: picks the driver, answers -ENOTSUP for empty
 * slots, decides virt_type with a real KVM probe, and renders domain XML. */
#include "drivers/virt/virt.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <monostack/config.h>
#include <monostack/log.h>

static const virt_driver *drv;
static pthread_mutex_t virt_lock = PTHREAD_MUTEX_INITIALIZER;

const char *
virt_uri(void)
{
    return ms_str_empty(ms_conf.libvirt_uri) ? "qemu:///system" : ms_conf.libvirt_uri;
}

int
virt_open(char **err)
{
    pthread_mutex_lock(&virt_lock);
    int rc = 0;
    if (!drv) {
        rc = virt_libvirt_driver.open(virt_uri(), err);
        if (rc == 0)
            drv = &virt_libvirt_driver;
    }
    pthread_mutex_unlock(&virt_lock);
    return rc;
}

void
virt_close(void)
{
    pthread_mutex_lock(&virt_lock);
    if (drv) {
        if (drv->events_stop)
            drv->events_stop();
        drv->close();
        drv = NULL;
    }
    pthread_mutex_unlock(&virt_lock);
}

#define DISPATCH(slot, ...)                                                              \
    do {                                                                                 \
        if (!drv) {                                                                      \
            char *e_ = NULL;                                                             \
            if (virt_open(&e_) < 0) {                                                    \
                if (err)                                                                 \
                    *err = e_;                                                           \
                else                                                                     \
                    free(e_);                                                            \
                return -ENODEV;                                                          \
            }                                                                            \
        }                                                                                \
        if (!drv->slot) {                                                                \
            if (err)                                                                     \
                *err = ms_asprintf("The %s driver does not support " #slot ".",          \
                                   drv->name);                                           \
            return -ENOTSUP;                                                             \
        }                                                                                \
        uint64_t t0_ = ms_now_us();                                                      \
        int rc_ = drv->slot(__VA_ARGS__);                                                \
        ms_metric_driver("libvirt." #slot, ms_now_us() - t0_, rc_ == 0);                 \
        return rc_;                                                                      \
    } while (0)

#include <monostack/metrics.h>

int virt_host_info_get(virt_host_info *out, char **err) { DISPATCH(host_info, out, err); }
int virt_define_start(const char *xml, char **err) { DISPATCH(define_start, xml, err); }
int virt_destroy(const char *uuid, char **err) { DISPATCH(destroy, uuid, err); }
int virt_power_off(const char *uuid, char **err) { DISPATCH(power_off, uuid, err); }
int virt_power_on(const char *uuid, char **err) { DISPATCH(power_on, uuid, err); }
int virt_reboot(const char *uuid, bool hard, char **err) { DISPATCH(reboot, uuid, hard, err); }
int virt_pause(const char *uuid, char **err) { DISPATCH(pause, uuid, err); }
int virt_unpause(const char *uuid, char **err) { DISPATCH(unpause, uuid, err); }
int virt_suspend(const char *uuid, char **err) { DISPATCH(suspend, uuid, err); }
int virt_resume(const char *uuid, char **err) { DISPATCH(resume, uuid, err); }
int virt_get_state(const char *uuid, int *ps, char **err) { DISPATCH(get_state, uuid, ps, err); }
int virt_list(virt_domain_state **out, size_t *n, char **err) { DISPATCH(list, out, n, err); }
int virt_events_start(virt_event_cb cb, char **err) { DISPATCH(events_start, cb, err); }
int virt_vnc_port(const char *uuid, int *port, char **err) { DISPATCH(vnc_port, uuid, port, err); }
int virt_inject_nmi(const char *uuid, char **err) { DISPATCH(inject_nmi, uuid, err); }

/* ---- KVM probe ----
 * /dev/kvm existing proves nothing here (it is PVM, which runs only PVM
 * guest kernels). The probe creates a VM whose vCPU starts directly in
 * 32-bit protected mode, the step where PVM hangs stock kernels, and runs
 * "mov al,0x42; out 0x10,al; hlt". It runs in a child process killed
 * after 2 s, so a hang cannot hold the daemon. */
static int
kvm_probe_child(void)
{
    int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (kvm < 0 || ioctl(kvm, KVM_GET_API_VERSION, 0) != 12)
        return 1;
    int vm = ioctl(kvm, KVM_CREATE_VM, 0);
    if (vm < 0)
        return 2;
    size_t memsz = 0x10000;
    unsigned char *mem = mmap(NULL, memsz, PROT_READ | PROT_WRITE,
                              MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED)
        return 3;
    static const unsigned char code[] = {0xb0, 0x42, 0xe6, 0x10, 0xf4};
    memcpy(mem + 0x1000, code, sizeof(code));
    struct kvm_userspace_memory_region region = {
        .slot = 0, .guest_phys_addr = 0, .memory_size = memsz,
        .userspace_addr = (uint64_t)(uintptr_t)mem};
    if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
        return 4;
    int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
    if (vcpu < 0)
        return 5;
    int runsz = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
    struct kvm_run *run = mmap(NULL, (size_t)runsz, PROT_READ | PROT_WRITE, MAP_SHARED,
                               vcpu, 0);
    if (run == MAP_FAILED)
        return 6;
    struct kvm_sregs sregs;
    if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0)
        return 7;
    struct kvm_segment seg = {.base = 0, .limit = 0xffffffff, .selector = 0x8,
                              .present = 1, .type = 11, .dpl = 0, .db = 1, .s = 1,
                              .l = 0, .g = 1};
    sregs.cs = seg;
    seg.type = 3;
    seg.selector = 0x10;
    sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = seg;
    sregs.cr0 |= 1;   /* protected mode */
    if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0)
        return 8;
    struct kvm_regs regs = {.rip = 0x1000, .rflags = 0x2, .rsp = 0x8000};
    if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0)
        return 9;
    bool saw_out = false;
    for (int i = 0; i < 16; i++) {
        if (ioctl(vcpu, KVM_RUN, 0) < 0)
            return 10;
        if (run->exit_reason == KVM_EXIT_IO && run->io.direction == KVM_EXIT_IO_OUT &&
            run->io.port == 0x10 &&
            *((unsigned char *)run + run->io.data_offset) == 0x42)
            saw_out = true;
        else if (run->exit_reason == KVM_EXIT_HLT)
            return saw_out ? 0 : 11;
        else if (run->exit_reason != KVM_EXIT_IO)
            return 12;
    }
    return 13;
}

bool
virt_kvm_works(void)
{
    if (access("/dev/kvm", R_OK | W_OK) != 0)
        return false;
    pid_t pid = fork();
    if (pid < 0)
        return false;
    if (pid == 0)
        _exit(kvm_probe_child());
    int status = 0;
    for (int waited = 0; waited < 200; waited++) {
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid)
            return WIFEXITED(status) && WEXITSTATUS(status) == 0;
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return false;
}

static pthread_once_t type_once = PTHREAD_ONCE_INIT;
static const char *detected_type = "qemu";

static void
detect_type(void)
{
    const char *conf = ms_conf.virt_type;
    if (conf && (!strcmp(conf, "kvm") || !strcmp(conf, "qemu"))) {
        detected_type = !strcmp(conf, "kvm") ? "kvm" : "qemu";
        return;
    }
    /* The PVM module is a second signal: even if the probe passed, PVM
     * cannot run stock guest kernels. */
    struct stat st;
    bool pvm = stat("/sys/module/kvm_pvm", &st) == 0;
    bool ok = !pvm && virt_kvm_works();
    detected_type = ok ? "kvm" : "qemu";
    ms_info("virt_type=%s (kvm probe %s%s)", detected_type, ok ? "passed" : "failed",
            pvm ? ", kvm_pvm loaded" : "");
}

const char *
virt_type(void)
{
    pthread_once(&type_once, detect_type);
    return detected_type;
}

/* ---- domain XML ---- */

static void
xml_text(ms_buf *b, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&': ms_buf_adds(b, "&amp;"); break;
        case '<': ms_buf_adds(b, "&lt;"); break;
        case '>': ms_buf_adds(b, "&gt;"); break;
        case '\'': ms_buf_adds(b, "&apos;"); break;
        case '"': ms_buf_adds(b, "&quot;"); break;
        default: ms_buf_add(b, s, 1);
        }
    }
}

static void
xml_disk(ms_buf *b, const char *path, const char *format, const char *dev, bool cdrom)
{
    ms_buf_addf(b, "    <disk type='file' device='%s'>\n", cdrom ? "cdrom" : "disk");
    ms_buf_addf(b, "      <driver name='qemu' type='%s' cache='none'/>\n", format);
    ms_buf_adds(b, "      <source file='");
    xml_text(b, path);
    ms_buf_adds(b, "'/>\n");
    /* A cdrom goes on IDE as Nova puts config drives on an i440fx 'pc'
     * machine (its last IDE slot, hdd), which stock guests read. */
    ms_buf_addf(b, "      <target dev='%s' bus='%s'/>\n", dev, cdrom ? "ide" : "virtio");
    if (cdrom)
        ms_buf_adds(b, "      <readonly/>\n");
    ms_buf_adds(b, "    </disk>\n");
}

char *
virt_domain_xml(const virt_domain_spec *s)
{
    ms_buf b = {0};
    ms_buf_addf(&b, "<domain type='%s'>\n", s->virt_type ? s->virt_type : "qemu");
    ms_buf_adds(&b, "  <name>");
    xml_text(&b, s->name);
    ms_buf_addf(&b, "</name>\n  <uuid>%s</uuid>\n", s->uuid);
    ms_buf_adds(&b, "  <metadata>\n    <monostack:instance "
                    "xmlns:monostack='http://monostack.org/xmlns/instance/1'>\n");
    ms_buf_adds(&b, "      <monostack:name>");
    xml_text(&b, s->display_name);
    ms_buf_adds(&b, "</monostack:name>\n      <monostack:flavor>");
    xml_text(&b, s->flavor_name);
    ms_buf_adds(&b, "</monostack:flavor>\n      <monostack:project>");
    xml_text(&b, s->project_id);
    ms_buf_adds(&b, "</monostack:project>\n      <monostack:user>");
    xml_text(&b, s->user_id);
    ms_buf_adds(&b, "</monostack:user>\n    </monostack:instance>\n  </metadata>\n");
    ms_buf_addf(&b, "  <memory unit='MiB'>%d</memory>\n", s->memory_mb);
    ms_buf_addf(&b, "  <vcpu>%d</vcpu>\n", s->vcpus);
    ms_buf_adds(&b, "  <os>\n    <type arch='x86_64' machine='pc'>hvm</type>\n");
    if (s->kernel) {
        ms_buf_adds(&b, "    <kernel>");
        xml_text(&b, s->kernel);
        ms_buf_adds(&b, "</kernel>\n");
        if (s->initrd) {
            ms_buf_adds(&b, "    <initrd>");
            xml_text(&b, s->initrd);
            ms_buf_adds(&b, "</initrd>\n");
        }
        if (s->cmdline) {
            ms_buf_adds(&b, "    <cmdline>");
            xml_text(&b, s->cmdline);
            ms_buf_adds(&b, "</cmdline>\n");
        }
    }
    ms_buf_adds(&b, "    <boot dev='hd'/>\n  </os>\n");
    ms_buf_adds(&b, "  <features>\n    <acpi/>\n    <apic/>\n  </features>\n");
    if (s->virt_type && !strcmp(s->virt_type, "kvm"))
        ms_buf_adds(&b, "  <cpu mode='host-model'/>\n");
    ms_buf_adds(&b, "  <clock offset='utc'/>\n");
    ms_buf_adds(&b, "  <on_poweroff>destroy</on_poweroff>\n  <on_reboot>restart</on_reboot>\n"
                    "  <on_crash>destroy</on_crash>\n");
    ms_buf_adds(&b, "  <devices>\n");
    xml_disk(&b, s->disk_path, s->disk_format ? s->disk_format : "qcow2", "vda", false);
    if (s->ephemeral_path)
        xml_disk(&b, s->ephemeral_path,
                 s->ephemeral_format ? s->ephemeral_format : "qcow2", "vdb", false);
    if (s->swap_path)
        xml_disk(&b, s->swap_path, s->swap_format ? s->swap_format : "qcow2",
                 s->ephemeral_path ? "vdc" : "vdb", false);
    if (s->config_drive_path)
        xml_disk(&b, s->config_drive_path, "raw", "hdd", true);
    for (int i = 0; i < s->nnics; i++) {
        const virt_nic *n = &s->nics[i];
        ms_buf_adds(&b, "    <interface type='bridge'>\n");
        ms_buf_addf(&b, "      <mac address='%s'/>\n", n->mac);
        ms_buf_adds(&b, "      <source bridge='");
        xml_text(&b, n->bridge);
        ms_buf_adds(&b, "'/>\n");
        if (n->tap[0])
            ms_buf_addf(&b, "      <target dev='%s'/>\n", n->tap);
        ms_buf_adds(&b, "      <model type='virtio'/>\n    </interface>\n");
    }
    ms_buf_adds(&b, "    <serial type='file'>\n      <source path='");
    xml_text(&b, s->console_log);
    ms_buf_adds(&b, "'/>\n      <target port='0'/>\n    </serial>\n");
    ms_buf_adds(&b, "    <console type='file'>\n      <source path='");
    xml_text(&b, s->console_log);
    ms_buf_adds(&b, "'/>\n      <target type='serial' port='0'/>\n    </console>\n");
    if (s->vnc) {
        ms_buf_adds(&b, "    <graphics type='vnc' port='-1' autoport='yes' listen='");
        xml_text(&b, s->vnc_listen ? s->vnc_listen : "127.0.0.1");
        ms_buf_adds(&b, "'/>\n    <video>\n      <model type='cirrus'/>\n    </video>\n");
    }
    ms_buf_adds(&b, "    <memballoon model='virtio'/>\n");
    ms_buf_adds(&b, "  </devices>\n</domain>\n");
    return ms_buf_steal(&b);
}
