/* Request and driver-operation metrics, rendered as Prometheus text.
 * Slots are created at start-up (one per route) and updated with relaxed
 * atomic adds, so the request path takes no lock. */
#include <monostack/metrics.h>

#include <pthread.h>
#include <stdio.h>
#include <stdatomic.h>
#include <string.h>

#define MAX_SLOTS 1024
#define NBUCKETS 10

/* Latency bucket upper bounds in microseconds. */
static const uint64_t bucket_us[NBUCKETS] = {100,   250,    500,    1000,    2500,
                                             10000, 50000, 250000, 1000000, 10000000};

struct ms_metric {
    const char *service;   /* static strings: route tables and driver op names */
    const char *route;
    bool driver;
    atomic_ullong by_class[6];      /* 1xx..5xx by status / 100; driver: [2] ok, [5] failed */
    atomic_ullong buckets[NBUCKETS + 1];
    atomic_ullong sum_us;
};

static struct ms_metric slots[MAX_SLOTS];
static atomic_int nslots;
static pthread_mutex_t create_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ms_metric overflow;   /* shared slot once the table is full */

static ms_metric *
metric_find_or_add(const char *service, const char *route, bool driver)
{
    int n = atomic_load_explicit(&nslots, memory_order_acquire);
    for (int i = 0; i < n; i++) {
        if (slots[i].driver == driver && strcmp(slots[i].service, service) == 0 &&
            strcmp(slots[i].route, route) == 0)
            return &slots[i];
    }
    pthread_mutex_lock(&create_lock);
    n = atomic_load(&nslots);
    ms_metric *m = NULL;
    for (int i = 0; i < n && !m; i++) {
        if (slots[i].driver == driver && strcmp(slots[i].service, service) == 0 &&
            strcmp(slots[i].route, route) == 0)
            m = &slots[i];
    }
    if (!m && n < MAX_SLOTS) {
        m = &slots[n];
        m->service = ms_strdup(service);
        m->route = ms_strdup(route);
        m->driver = driver;
        atomic_store_explicit(&nslots, n + 1, memory_order_release);
    }
    pthread_mutex_unlock(&create_lock);
    return m ? m : &overflow;
}

ms_metric *
ms_metric_get(const char *service, const char *route)
{
    return metric_find_or_add(service, route, false);
}

void
ms_metric_observe(ms_metric *m, int status, uint64_t usec)
{
    int cls = status / 100;
    if (cls < 1 || cls > 5)
        cls = 5;
    atomic_fetch_add_explicit(&m->by_class[cls], 1, memory_order_relaxed);
    int b = 0;
    while (b < NBUCKETS && usec > bucket_us[b])
        b++;
    atomic_fetch_add_explicit(&m->buckets[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->sum_us, usec, memory_order_relaxed);
}

void
ms_metric_driver(const char *op, uint64_t usec, bool ok)
{
    ms_metric_observe(metric_find_or_add("driver", op, true), ok ? 200 : 500, usec);
}

static void
render_histogram(ms_buf *b, const char *name, const char *labels, ms_metric *m)
{
    unsigned long long cum = 0;
    for (int i = 0; i <= NBUCKETS; i++) {
        cum += atomic_load_explicit(&m->buckets[i], memory_order_relaxed);
        if (i < NBUCKETS)
            ms_buf_addf(b, "%s_bucket{%s,le=\"%g\"} %llu\n", name, labels,
                        (double)bucket_us[i] / 1e6, cum);
        else
            ms_buf_addf(b, "%s_bucket{%s,le=\"+Inf\"} %llu\n", name, labels, cum);
    }
    ms_buf_addf(b, "%s_sum{%s} %.6f\n", name, labels,
                (double)atomic_load_explicit(&m->sum_us, memory_order_relaxed) / 1e6);
    ms_buf_addf(b, "%s_count{%s} %llu\n", name, labels, cum);
}

char *
ms_metrics_render(void)
{
    ms_buf b = {0};
    int n = atomic_load_explicit(&nslots, memory_order_acquire);
    ms_buf_adds(&b, "# HELP monostack_requests_total API requests by route and status class.\n"
                    "# TYPE monostack_requests_total counter\n");
    for (int i = 0; i < n; i++) {
        if (slots[i].driver)
            continue;
        for (int c = 1; c <= 5; c++) {
            unsigned long long v = atomic_load_explicit(&slots[i].by_class[c], memory_order_relaxed);
            if (v)
                ms_buf_addf(&b,
                            "monostack_requests_total{service=\"%s\",route=\"%s\",code=\"%dxx\"} %llu\n",
                            slots[i].service, slots[i].route, c, v);
        }
    }
    ms_buf_adds(&b, "# HELP monostack_request_duration_seconds API request latency by route.\n"
                    "# TYPE monostack_request_duration_seconds histogram\n");
    for (int i = 0; i < n; i++) {
        if (slots[i].driver)
            continue;
        char labels[512];
        snprintf(labels, sizeof(labels), "service=\"%s\",route=\"%s\"", slots[i].service,
                 slots[i].route);
        render_histogram(&b, "monostack_request_duration_seconds", labels, &slots[i]);
    }
    ms_buf_adds(&b, "# HELP monostack_driver_duration_seconds Driver operation latency.\n"
                    "# TYPE monostack_driver_duration_seconds histogram\n");
    for (int i = 0; i < n; i++) {
        if (!slots[i].driver)
            continue;
        char labels[256];
        snprintf(labels, sizeof(labels), "op=\"%s\"", slots[i].route);
        render_histogram(&b, "monostack_driver_duration_seconds", labels, &slots[i]);
        ms_buf_addf(&b, "monostack_driver_failures_total{%s} %llu\n", labels,
                    (unsigned long long)atomic_load(&slots[i].by_class[5]));
    }
    return ms_buf_steal(&b);
}
