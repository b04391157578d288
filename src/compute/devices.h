/* What a domain is plugged into beside its root disk (devices.c): ports
 * from the network service, volumes from the volume service, the local
 * ephemeral and swap disks, and the config drive. Shared by the manager's
 * build, rebuild, resize, unshelve and delete paths. */
#ifndef COMPUTE_DEVICES_H
#define COMPUTE_DEVICES_H

#include "compute.h"
#include "drivers/virt/virt.h"

/* The domain's extra devices, paths NULL when absent; free with
 * compute_devices_clear. */
typedef struct {
    char *ephemeral_path;
    char *swap_path;
    char *config_drive_path;
    virt_nic *nics;
    int nnics;
} compute_devices;

/* Allocate the instance's ports as the build task's payload asks
 * ("networks"); *code gets the fault code on failure. */
int compute_devices_networks(const compute_instance *i, const json_t *payload, char **err);
/* Create the volumes the mapping asks for and attach them (needs a volume
 * service; without one, a mapping to a volume fails the build). */
int compute_devices_volumes(const compute_instance *i, char **err);
/* Make sure the local disks and the config drive exist (they are made
 * again when missing, e.g. after an unshelve) and gather the NICs.
 * -EAGAIN when the database is unreachable. */
int compute_devices_prepare(const compute_instance *i, compute_devices *out, char **err);
void compute_devices_clear(compute_devices *d);
/* Delete: release ports and volumes, forget the mappings. */
void compute_devices_release(const compute_instance *i);

#endif
