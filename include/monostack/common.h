/* Shared basics: allocation wrappers that abort on out-of-memory (so callers
 * need no NULL checks), cleanup helpers, small string and time utilities. */
#ifndef MONOSTACK_COMMON_H
#define MONOSTACK_COMMON_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#define MS_VERSION "0.1.0"
#define MS_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define MS_UNUSED __attribute__((unused))
#define MS_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define MS_NORETURN __attribute__((noreturn))

void *ms_malloc(size_t n);
void *ms_calloc(size_t n, size_t size);
void *ms_realloc(void *p, size_t n);
char *ms_strdup(const char *s);            /* NULL stays NULL */
char *ms_strndup(const char *s, size_t n);
char *ms_asprintf(const char *fmt, ...) MS_PRINTF(1, 2);
char *ms_vasprintf(const char *fmt, va_list ap);

/* Print "monostackd: <message>" to stderr and exit(code). For start-up failures. */
MS_NORETURN void ms_fatal(int code, const char *fmt, ...) MS_PRINTF(2, 3);

static inline void ms_freep(void *p) { free(*(void **)p); }
#define ms_autofree __attribute__((cleanup(ms_freep)))

/* A growable byte buffer; always NUL-terminated when len > 0 or after ms_buf_cstr. */
typedef struct {
    char *data;
    size_t len;
    size_t cap;
} ms_buf;

void ms_buf_reserve(ms_buf *b, size_t extra);
void ms_buf_add(ms_buf *b, const void *data, size_t n);
void ms_buf_adds(ms_buf *b, const char *s);
void ms_buf_addf(ms_buf *b, const char *fmt, ...) MS_PRINTF(2, 3);
const char *ms_buf_cstr(ms_buf *b);
char *ms_buf_steal(ms_buf *b);             /* caller frees; buffer is reset */
void ms_buf_free(ms_buf *b);

/* Monotonic microseconds, for latencies. */
uint64_t ms_now_us(void);
/* Wall-clock seconds since the epoch. */
int64_t ms_time(void);
/* ISO 8601 "YYYY-MM-DDTHH:MM:SSZ" (frac=false) or with ".ffffffZ" (frac=true). */
void ms_time_iso(int64_t epoch_us, bool frac, char out[32]);
/* Parse ISO 8601 (the forms OpenStack accepts) to epoch microseconds; -1 when malformed. */
int64_t ms_time_parse(const char *s);

/* UUIDs: random v4 as 36-char lowercase with dashes, or 32 hex without. */
void ms_uuid(char out[37]);
void ms_uuid_hex(char out[33]);
bool ms_uuid_valid(const char *s);        /* with or without dashes */

bool ms_streq(const char *a, const char *b);   /* NULL-safe */
bool ms_str_empty(const char *s);              /* NULL or "" */
/* Constant-time comparison of n bytes. */
bool ms_ct_equal(const void *a, const void *b, size_t n);

#endif
