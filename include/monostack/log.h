/* Logging: key=value lines on stderr (or a file). The macros test the level
 * before formatting, so disabled levels cost one comparison. Never pass
 * passwords or tokens to these. */
#ifndef MONOSTACK_LOG_H
#define MONOSTACK_LOG_H

#include "common.h"

typedef enum { MS_LOG_DEBUG, MS_LOG_INFO, MS_LOG_WARNING, MS_LOG_ERROR } ms_log_level;

extern ms_log_level ms_log_threshold;

int ms_log_set_level(const char *name);      /* 0, or -EINVAL for an unknown name */
int ms_log_open(const char *path);           /* NULL or "" keeps stderr */
void ms_log_write(ms_log_level lvl, const char *file, int line, const char *fmt, ...)
    MS_PRINTF(4, 5);

#define MS_LOG(lvl, ...)                                                                 \
    do {                                                                                 \
        if ((lvl) >= ms_log_threshold)                                                   \
            ms_log_write((lvl), __FILE__, __LINE__, __VA_ARGS__);                        \
    } while (0)
#define ms_debug(...) MS_LOG(MS_LOG_DEBUG, __VA_ARGS__)
#define ms_info(...) MS_LOG(MS_LOG_INFO, __VA_ARGS__)
#define ms_warn(...) MS_LOG(MS_LOG_WARNING, __VA_ARGS__)
#define ms_error(...) MS_LOG(MS_LOG_ERROR, __VA_ARGS__)

#endif
