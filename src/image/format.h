/* Disk image format inspection on streamed bytes.
 *
 * The inspector is fed the image in chunks of any size, in order, and keeps
 * only the few regions it needs (the first 64 KiB, the last 512 bytes, a
 * VMDK descriptor of at most 1 MiB, VHDX region and metadata tables), so
 * memory stays bounded whatever the image size. It reports the format the
 * data really has (qcow2, qed, vhd, vhdx, vmdk, vdi, iso or raw), the
 * virtual size the image's own header declares, and whether the image is
 * unsafe to hand to qemu: a qcow2 backing file or external data file, a
 * VMDK whose extents live outside the image. */
#ifndef IMAGE_FORMAT_H
#define IMAGE_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct image_inspector image_inspector;

image_inspector *image_inspector_new(void);
void image_inspector_free(image_inspector *insp);   /* NULL ok */
void image_inspector_feed(image_inspector *insp, const void *buf, size_t len);
/* The stream has ended: settle what could not be known before (raw, a VHD
 * footer at the end). */
void image_inspector_finish(image_inspector *insp);
/* True once format and safety are known, so a caller may refuse an upload
 * before the rest of the data arrives. Always true after finish. */
bool image_inspector_decided(const image_inspector *insp);
/* "qcow2", "raw", ...; NULL while undecided. */
const char *image_inspector_format(const image_inspector *insp);
/* Virtual size in bytes from the image header (raw/iso: from the data);
 * 0 when unknown. */
uint64_t image_inspector_virtual_size(const image_inspector *insp);
uint64_t image_inspector_bytes(const image_inspector *insp);
/* NULL when safe, else a sentence saying why the image is refused. */
const char *image_inspector_unsafe(const image_inspector *insp);

#endif
