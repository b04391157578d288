/* Request metrics per route, rendered as Prometheus text on GET /metrics.
 * Counters are per route slot with atomic adds: no lock on the hot path. */
#ifndef MONOSTACK_METRICS_H
#define MONOSTACK_METRICS_H

#include "common.h"

typedef struct ms_metric ms_metric;

/* A metric slot for (service, route name); created once at start-up. */
ms_metric *ms_metric_get(const char *service, const char *route);
void ms_metric_observe(ms_metric *m, int status, uint64_t usec);
/* Driver operations ("libvirt.define") share the same mechanism. */
void ms_metric_driver(const char *op, uint64_t usec, bool ok);
char *ms_metrics_render(void);   /* caller frees */

#endif
