/* Shared basics: allocation wrappers that abort on out-of-memory, the
 * growable buffer, time and UUID helpers. */
#include <monostack/common.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <uuid/uuid.h>

static MS_NORETURN void
ms_oom(void)
{
    fputs("monostackd: out of memory\n", stderr);
    abort();
}

void *
ms_malloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        ms_oom();
    return p;
}

void *
ms_calloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        ms_oom();
    return p;
}

void *
ms_realloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        ms_oom();
    return q;
}

char *
ms_strdup(const char *s)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        ms_oom();
    return d;
}

char *
ms_strndup(const char *s, size_t n)
{
    if (!s)
        return NULL;
    char *d = strndup(s, n);
    if (!d)
        ms_oom();
    return d;
}

char *
ms_vasprintf(const char *fmt, va_list ap)
{
    char *s;
    if (vasprintf(&s, fmt, ap) < 0)
        ms_oom();
    return s;
}

char *
ms_asprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = ms_vasprintf(fmt, ap);
    va_end(ap);
    return s;
}

void
ms_fatal(int code, const char *fmt, ...)
{
    va_list ap;
    fputs("monostackd: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(code);
}

void
ms_buf_reserve(ms_buf *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + extra + 1)
        cap *= 2;
    b->data = ms_realloc(b->data, cap);
    b->cap = cap;
}

void
ms_buf_add(ms_buf *b, const void *data, size_t n)
{
    ms_buf_reserve(b, n);
    memcpy(b->data + b->len, data, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void
ms_buf_adds(ms_buf *b, const char *s)
{
    ms_buf_add(b, s, strlen(s));
}

void
ms_buf_addf(ms_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    ms_buf_reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

const char *
ms_buf_cstr(ms_buf *b)
{
    ms_buf_reserve(b, 0);
    b->data[b->len] = '\0';
    return b->data;
}

char *
ms_buf_steal(ms_buf *b)
{
    ms_buf_cstr(b);
    char *s = b->data;
    *b = (ms_buf){0};
    return s;
}

void
ms_buf_free(ms_buf *b)
{
    free(b->data);
    *b = (ms_buf){0};
}

uint64_t
ms_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

int64_t
ms_time(void)
{
    return (int64_t)time(NULL);
}

void
ms_time_iso(int64_t epoch_us, bool frac, char out[32])
{
    time_t secs = (time_t)(epoch_us / 1000000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    if (frac)
        snprintf(out + n, 32 - n, ".%06dZ", (int)(epoch_us % 1000000));
    else
        snprintf(out + n, 32 - n, "Z");
}

/* Accepts "YYYY-MM-DD", "YYYY-MM-DDTHH:MM[:SS[.ffffff]]" with "T" or " ",
 * then "Z", "+HH:MM", "-HH:MM" or nothing (UTC). */
int64_t
ms_time_parse(const char *s)
{
    struct tm tm = {0};
    int y, mo, d, h = 0, mi = 0, sec = 0, n = 0;
    long usec = 0;
    if (!s || sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3)
        return -1;
    const char *p = s + n;
    if (*p == 'T' || *p == ' ') {
        p++;
        if (sscanf(p, "%2d:%2d%n", &h, &mi, &n) != 2)
            return -1;
        p += n;
        if (*p == ':') {
            if (sscanf(p, ":%2d%n", &sec, &n) != 1)
                return -1;
            p += n;
            if (*p == '.') {
                p++;
                int digits = 0;
                while (*p >= '0' && *p <= '9') {
                    if (digits < 6) {
                        usec = usec * 10 + (*p - '0');
                        digits++;
                    }
                    p++;
                }
                if (!digits)
                    return -1;
                while (digits++ < 6)
                    usec *= 10;
            }
        }
    }
    long offset = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om;
        if (sscanf(p + 1, "%2d:%2d%n", &oh, &om, &n) != 2)
            return -1;
        offset = (oh * 3600L + om * 60L) * (*p == '-' ? -1 : 1);
        p += 1 + n;
    }
    if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
        return -1;
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    time_t t = timegm(&tm);
    return ((int64_t)t - offset) * 1000000 + usec;
}

void
ms_uuid(char out[37])
{
    uuid_t u;
    uuid_generate_random(u);
    uuid_unparse_lower(u, out);
}

void
ms_uuid_hex(char out[33])
{
    static const char hex[] = "0123456789abcdef";
    uuid_t u;
    uuid_generate_random(u);
    for (int i = 0; i < 16; i++) {
        out[2 * i] = hex[u[i] >> 4];
        out[2 * i + 1] = hex[u[i] & 15];
    }
    out[32] = '\0';
}

bool
ms_uuid_valid(const char *s)
{
    if (!s)
        return false;
    size_t len = strlen(s);
    if (len != 36 && len != 32)
        return false;
    for (size_t i = 0; i < len; i++) {
        bool dash_pos = len == 36 && (i == 8 || i == 13 || i == 18 || i == 23);
        if (dash_pos) {
            if (s[i] != '-')
                return false;
        } else if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
                     (s[i] >= 'A' && s[i] <= 'F'))) {
            return false;
        }
    }
    return true;
}

bool
ms_streq(const char *a, const char *b)
{
    if (!a || !b)
        return a == b;
    return strcmp(a, b) == 0;
}

bool
ms_str_empty(const char *s)
{
    return !s || !*s;
}

bool
ms_ct_equal(const void *a, const void *b, size_t n)
{
    const volatile unsigned char *x = a, *y = b;
    unsigned char diff = 0;
    for (size_t i = 0; i < n; i++)
        diff |= x[i] ^ y[i];
    return diff == 0;
}
