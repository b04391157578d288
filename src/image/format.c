/* Streaming disk image inspection (see format.h).
 *
 * Every format is recognised from bytes at fixed places: a magic at offset
 * 0 (qcow2, qed, vhd, vhdx, vmdk, vdi), the ISO 9660 volume descriptor at
 * 32 KiB, or a VHD footer in the last 512 bytes. A magic at offset 0 wins
 * over the ISO descriptor, so a polyglot file is judged by what qemu would
 * probe first. Regions beyond the head are captured as the stream passes
 * them; a region that points backwards can no longer be read, which makes
 * the virtual size unknown rather than the inspector buffer the file. */
#include "format.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <monostack/common.h>

#define HEAD_LEN (64 * 1024)
#define TAIL_LEN 512
#define ISO_PVD 0x8000
#define VMDK_DESC_MAX (1024 * 1024)
#define VHDX_REGION_OFF (192 * 1024)
#define VHDX_TABLE_LEN (64 * 1024)

typedef struct {
    uint64_t off;
    size_t len, got;
    uint8_t *data;
    bool active;
    bool missed;
} region;

enum { R_VMDK_DESC, R_VHDX_REGIONS, R_VHDX_META, R_VHDX_VDS, R_COUNT };

struct image_inspector {
    uint64_t pos;
    uint8_t head[HEAD_LEN];
    size_t head_len;
    uint8_t tail[TAIL_LEN];     /* ring of the last bytes seen */
    size_t tail_pos;
    region regions[R_COUNT];
    const char *format;         /* decided format, or NULL */
    bool magic_checked;
    bool finished;
    bool vmdk_text;             /* a plain-text VMDK descriptor */
    uint64_t vsize;
    char unsafe[160];
};

static const uint8_t vhdx_meta_guid[16] = {0x06, 0xa2, 0x7c, 0x8b, 0x90, 0x47, 0x9a, 0x4b,
                                           0xb8, 0xfe, 0x57, 0x5f, 0x05, 0x0f, 0x88, 0x6e};
static const uint8_t vhdx_vds_guid[16] = {0x24, 0x42, 0xa5, 0x2f, 0x1b, 0xcd, 0x76, 0x48,
                                          0xb2, 0x11, 0x5d, 0xbe, 0xd8, 0x3b, 0xf4, 0xb8};

static uint64_t
be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

static uint32_t
be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t
le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static uint32_t
le32(const uint8_t *p)
{
    return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static uint16_t
le16(const uint8_t *p)
{
    return (uint16_t)(p[1] << 8 | p[0]);
}

image_inspector *
image_inspector_new(void)
{
    return ms_calloc(1, sizeof(image_inspector));
}

void
image_inspector_free(image_inspector *insp)
{
    if (!insp)
        return;
    for (int i = 0; i < R_COUNT; i++)
        free(insp->regions[i].data);
    free(insp);
}

static void
set_unsafe(image_inspector *insp, const char *msg)
{
    if (!insp->unsafe[0])
        snprintf(insp->unsafe, sizeof(insp->unsafe), "%s", msg);
}

/* Copy the part of [buf, buf+len) at stream offset `at` that the region
 * still lacks. */
static void
region_capture(region *r, const uint8_t *buf, size_t len, uint64_t at)
{
    if (!r->active || r->missed || r->got == r->len)
        return;
    uint64_t want = r->off + r->got;
    if (want < at) {
        r->missed = true;      /* those bytes went by before we knew we needed them */
        return;
    }
    if (want >= at + len)
        return;
    size_t skip = (size_t)(want - at);
    size_t n = len - skip;
    if (n > r->len - r->got)
        n = r->len - r->got;
    memcpy(r->data + r->got, buf + skip, n);
    r->got += n;
}

static bool
region_done(const region *r)
{
    return r->active && r->got == r->len;
}

/* Start capturing a region; what already went by is taken from the head. */
static void
region_start(image_inspector *insp, int idx, uint64_t off, size_t len)
{
    region *r = &insp->regions[idx];
    if (r->active)
        return;
    r->active = true;
    r->off = off;
    r->len = len;
    r->got = 0;
    r->data = ms_malloc(len ? len : 1);
    if (off < insp->head_len)
        region_capture(r, insp->head + off, insp->head_len - (size_t)off, off);
}

/* ---- per-format checks, run when enough bytes are in ---- */

static void
check_qcow2(image_inspector *insp)
{
    const uint8_t *h = insp->head;
    uint32_t version = be32(h + 4);
    uint64_t backing = be64(h + 8);
    uint32_t cluster_bits = be32(h + 20);
    insp->vsize = be64(h + 24);
    if (version < 2 || version > 3) {
        set_unsafe(insp, "The qcow2 image has an unsupported version.");
        return;
    }
    if (cluster_bits < 9 || cluster_bits > 21)
        set_unsafe(insp, "The qcow2 image has an invalid cluster size.");
    if (backing != 0)
        set_unsafe(insp, "The qcow2 image has a backing file, which is not allowed.");
    if (version == 3) {
        uint64_t incompat = be64(h + 72);
        if (incompat & (1u << 2))
            set_unsafe(insp, "The qcow2 image uses an external data file, which is not "
                             "allowed.");
        /* dirty, corrupt, data file, compression type, extended L2 are known */
        if (incompat & ~(uint64_t)0x1f)
            set_unsafe(insp, "The qcow2 image uses unknown incompatible features.");
    }
}

/* Parse a VMDK descriptor: only a single extent stored inside the image. */
static void
check_vmdk_descriptor(image_inspector *insp, const uint8_t *desc, size_t len, bool text)
{
    char *s = ms_strndup((const char *)desc, len);
    int extents = 0;
    bool bad = false, type_ok = false;
    char *save = NULL;
    for (char *line = strtok_r(s, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        while (*line == ' ' || *line == '\t')
            line++;
        size_t l = strlen(line);
        while (l && (line[l - 1] == '\r' || line[l - 1] == ' ' || line[l - 1] == '\t'))
            line[--l] = '\0';
        if (!*line || *line == '#')
            continue;
        for (char *c = line; *c; c++) {
            if ((unsigned char)*c >= 0x80 || ((unsigned char)*c < 0x20 && *c != '\t')) {
                bad = true;
                break;
            }
        }
        if (strncasecmp(line, "ddb.", 4) == 0)
            continue;
        if (strncasecmp(line, "RW ", 3) == 0 || strncasecmp(line, "RDONLY ", 7) == 0 ||
            strncasecmp(line, "NOACCESS ", 9) == 0) {
            extents++;
            /* "RW <sectors> SPARSE "name"": anything but the image itself
             * (a path, a FLAT or device extent) reads other files. */
            char access[16], type[16];
            unsigned long long sectors;
            if (sscanf(line, "%15s %llu %15s", access, &sectors, type) != 3 ||
                strcasecmp(type, "SPARSE") != 0 || strchr(line, '/'))
                bad = true;
            continue;
        }
        char *eq = strchr(line, '=');
        if (eq) {
            if (strncasecmp(line, "createType", 10) == 0) {
                char *v = eq + 1;
                while (*v == ' ' || *v == '"')
                    v++;
                type_ok = strncasecmp(v, "monolithicSparse", 16) == 0 ||
                          strncasecmp(v, "streamOptimized", 15) == 0;
            }
            continue;
        }
        bad = true;       /* a line qemu would parse but we do not understand */
    }
    free(s);
    if (text)
        set_unsafe(insp, "The VMDK descriptor refers to extents outside the image, which is "
                         "not allowed.");
    else if (bad || extents != 1)
        set_unsafe(insp, "The VMDK image has extents outside the image, which is not "
                         "allowed.");
    else if (!type_ok)
        set_unsafe(insp, "The VMDK image has an unsupported create type.");
}

static void
check_vmdk_sparse(image_inspector *insp)
{
    const uint8_t *h = insp->head;
    uint32_t version = le32(h + 4);
    uint64_t capacity = le64(h + 12);
    uint64_t desc_sec = le64(h + 28), desc_num = le64(h + 36);
    if (version < 1 || version > 3) {
        set_unsafe(insp, "The VMDK image has an unsupported version.");
        return;
    }
    insp->vsize = capacity * 512;
    if (desc_sec == 0 || desc_num == 0 || desc_num > VMDK_DESC_MAX / 512 ||
        desc_sec > (1ull << 40)) {
        set_unsafe(insp, "The VMDK image has no valid embedded descriptor.");
        return;
    }
    region_start(insp, R_VMDK_DESC, desc_sec * 512, (size_t)(desc_num * 512));
}

static void
check_vhdx_regions(image_inspector *insp)
{
    const uint8_t *t = insp->regions[R_VHDX_REGIONS].data;
    if (memcmp(t, "regi", 4) != 0) {
        set_unsafe(insp, "The VHDX image has no valid region table.");
        return;
    }
    uint32_t count = le32(t + 8);
    if (count > 2047) {
        set_unsafe(insp, "The VHDX image has too many regions.");
        return;
    }
    for (uint32_t i = 0; i < count; i++) {
        const uint8_t *e = t + 16 + i * 32;
        if (memcmp(e, vhdx_meta_guid, 16) == 0) {
            region_start(insp, R_VHDX_META, le64(e + 16), VHDX_TABLE_LEN);
            return;
        }
    }
    set_unsafe(insp, "The VHDX image has no metadata region.");
}

static void
check_vhdx_meta(image_inspector *insp)
{
    region *m = &insp->regions[R_VHDX_META];
    const uint8_t *t = m->data;
    if (memcmp(t, "metadata", 8) != 0) {
        set_unsafe(insp, "The VHDX image has an invalid metadata table.");
        return;
    }
    uint16_t count = le16(t + 10);
    if (count > 2047) {
        set_unsafe(insp, "The VHDX image has too many metadata entries.");
        return;
    }
    for (uint16_t i = 0; i < count; i++) {
        const uint8_t *e = t + 32 + (size_t)i * 32;
        if (memcmp(e, vhdx_vds_guid, 16) == 0) {
            region_start(insp, R_VHDX_VDS, m->off + le32(e + 16), 8);
            return;
        }
    }
    set_unsafe(insp, "The VHDX image does not declare a virtual size.");
}

/* Decide the magic once the first 512 bytes are in (or the stream ended). */
static void
check_magic(image_inspector *insp)
{
    const uint8_t *h = insp->head;
    size_t n = insp->head_len;
    insp->magic_checked = true;
    if (n >= 4 && memcmp(h, "QFI\xfb", 4) == 0) {
        insp->format = "qcow2";
        if (n < 104)
            set_unsafe(insp, "The qcow2 image header is truncated.");
        else
            check_qcow2(insp);
    } else if (n >= 4 && memcmp(h, "QED\0", 4) == 0) {
        insp->format = "qed";
        set_unsafe(insp, "QED images are not supported.");
    } else if (n >= 8 && memcmp(h, "conectix", 8) == 0) {
        insp->format = "vhd";
        if (n >= 56)
            insp->vsize = be64(h + 48);
    } else if (n >= 8 && memcmp(h, "vhdxfile", 8) == 0) {
        insp->format = "vhdx";
        region_start(insp, R_VHDX_REGIONS, VHDX_REGION_OFF, VHDX_TABLE_LEN);
    } else if (n >= 4 && memcmp(h, "KDMV", 4) == 0) {
        insp->format = "vmdk";
        if (n < 64)
            set_unsafe(insp, "The VMDK image header is truncated.");
        else
            check_vmdk_sparse(insp);
    } else if (n >= 21 && memcmp(h, "# Disk DescriptorFile", 21) == 0) {
        insp->format = "vmdk";
        insp->vmdk_text = true;
    } else if (n >= 0x44 && le32(h + 0x40) == 0xbeda107fu) {
        insp->format = "vdi";
        if (n >= 0x178)
            insp->vsize = le64(h + 0x170);
    }
    /* else: ISO or raw, settled once the volume descriptor area is in */
}

static void
post_process(image_inspector *insp)
{
    if (!insp->magic_checked && (insp->head_len >= 512 || insp->finished))
        check_magic(insp);
    if (!insp->magic_checked)
        return;
    if (!insp->format) {
        if (insp->head_len >= ISO_PVD + 2048 ||
            (insp->finished && insp->head_len >= ISO_PVD + 136)) {
            const uint8_t *d = insp->head + ISO_PVD;
            if (d[0] == 1 && memcmp(d + 1, "CD001", 5) == 0) {
                insp->format = "iso";
                insp->vsize = (uint64_t)le32(d + 80) * le16(d + 128);
            } else {
                insp->format = "raw";
            }
        } else if (insp->finished) {
            insp->format = "raw";
        }
    }
    if (insp->format && strcmp(insp->format, "vmdk") == 0) {
        if (insp->vmdk_text && (insp->head_len == HEAD_LEN || insp->finished) &&
            !insp->unsafe[0])
            check_vmdk_descriptor(insp, insp->head, insp->head_len, true);
        region *d = &insp->regions[R_VMDK_DESC];
        if (region_done(d) && !insp->unsafe[0]) {
            check_vmdk_descriptor(insp, d->data, strnlen((char *)d->data, d->len), false);
            d->active = false;   /* checked once */
            free(d->data);
            d->data = NULL;
        }
    }
    if (insp->format && strcmp(insp->format, "vhdx") == 0) {
        if (region_done(&insp->regions[R_VHDX_REGIONS]) &&
            !insp->regions[R_VHDX_META].active && !insp->unsafe[0])
            check_vhdx_regions(insp);
        if (region_done(&insp->regions[R_VHDX_META]) && !insp->regions[R_VHDX_VDS].active &&
            !insp->unsafe[0])
            check_vhdx_meta(insp);
        if (region_done(&insp->regions[R_VHDX_VDS]))
            insp->vsize = le64(insp->regions[R_VHDX_VDS].data);
    }
}

void
image_inspector_feed(image_inspector *insp, const void *vbuf, size_t len)
{
    const uint8_t *buf = vbuf;
    uint64_t at = insp->pos;
    if (insp->head_len < HEAD_LEN && at < HEAD_LEN) {
        size_t n = HEAD_LEN - insp->head_len;
        if (n > len)
            n = len;
        memcpy(insp->head + insp->head_len, buf, n);
        insp->head_len += n;
    }
    /* keep the last TAIL_LEN bytes */
    if (len >= TAIL_LEN) {
        memcpy(insp->tail, buf + len - TAIL_LEN, TAIL_LEN);
        insp->tail_pos = 0;
    } else {
        for (size_t i = 0; i < len; i++) {
            insp->tail[insp->tail_pos] = buf[i];
            insp->tail_pos = (insp->tail_pos + 1) % TAIL_LEN;
        }
    }
    insp->pos += len;
    /* Regions started by post_process may lie in this very chunk, so run
     * capture and post-processing until nothing new starts. */
    for (int round = 0; round < 4; round++) {
        bool active_before[R_COUNT];
        for (int i = 0; i < R_COUNT; i++) {
            active_before[i] = insp->regions[i].active;
            region_capture(&insp->regions[i], buf, len, at);
        }
        post_process(insp);
        bool started = false;
        for (int i = 0; i < R_COUNT; i++)
            started |= insp->regions[i].active && !active_before[i];
        if (!started)
            break;
    }
}

void
image_inspector_finish(image_inspector *insp)
{
    insp->finished = true;
    post_process(insp);
    if (strcmp(insp->format, "raw") == 0 && insp->pos >= TAIL_LEN) {
        /* A fixed VHD has its footer only at the end. */
        uint8_t foot[TAIL_LEN];
        for (size_t i = 0; i < TAIL_LEN; i++)
            foot[i] = insp->tail[(insp->tail_pos + i) % TAIL_LEN];
        if (memcmp(foot, "conectix", 8) == 0) {
            insp->format = "vhd";
            insp->vsize = be64(foot + 48);
        }
    }
    if (strcmp(insp->format, "raw") == 0)
        insp->vsize = insp->pos;
    if (strcmp(insp->format, "vmdk") == 0 && !insp->vmdk_text &&
        insp->regions[R_VMDK_DESC].active && !insp->unsafe[0])
        set_unsafe(insp, "The VMDK image descriptor could not be read.");
    if (strcmp(insp->format, "vhdx") == 0 && !region_done(&insp->regions[R_VHDX_VDS]) &&
        !insp->unsafe[0])
        set_unsafe(insp, "The VHDX image metadata could not be read.");
}

bool
image_inspector_decided(const image_inspector *insp)
{
    if (insp->finished)
        return true;
    if (!insp->format)
        return false;
    if (insp->unsafe[0])
        return true;
    /* raw may still turn out to be a fixed VHD at the very end */
    if (strcmp(insp->format, "raw") == 0)
        return false;
    if (strcmp(insp->format, "vmdk") == 0)
        return insp->vmdk_text ? false : !insp->regions[R_VMDK_DESC].active;
    return true;
}

const char *
image_inspector_format(const image_inspector *insp)
{
    return insp->format;
}

uint64_t
image_inspector_virtual_size(const image_inspector *insp)
{
    return insp->vsize;
}

uint64_t
image_inspector_bytes(const image_inspector *insp)
{
    return insp->pos;
}

const char *
image_inspector_unsafe(const image_inspector *insp)
{
    return insp->unsafe[0] ? insp->unsafe : NULL;
}
