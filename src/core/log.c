/* Logging: one line per event, "time level file:line message", written
 * with a single write(2) so lines from threads never interleave. */
#include <monostack/log.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

ms_log_level ms_log_threshold = MS_LOG_INFO;
static int log_fd = STDERR_FILENO;

static const char *const level_names[] = {"DEBUG", "INFO", "WARNING", "ERROR"};

int
ms_log_set_level(const char *name)
{
    for (size_t i = 0; i < MS_ARRAY_LEN(level_names); i++) {
        if (name && strcasecmp(name, level_names[i]) == 0) {
            ms_log_threshold = (ms_log_level)i;
            return 0;
        }
    }
    if (name && strcasecmp(name, "warn") == 0) {
        ms_log_threshold = MS_LOG_WARNING;
        return 0;
    }
    return -EINVAL;
}

int
ms_log_open(const char *path)
{
    if (ms_str_empty(path))
        return 0;
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0)
        return -errno;
    if (log_fd != STDERR_FILENO)
        close(log_fd);
    log_fd = fd;
    return 0;
}

void
ms_log_write(ms_log_level lvl, const char *file, int line, const char *fmt, ...)
{
    char buf[2048];
    struct timeval tv;
    struct tm tm;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    const char *base = strrchr(file, '/');
    base = base ? base + 1 : file;
    int n = (int)strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
    n += snprintf(buf + n, sizeof(buf) - (size_t)n, ".%06ldZ %s %s:%d ", (long)tv.tv_usec,
                  level_names[lvl], base, line);
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(buf + n, sizeof(buf) - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (m < 0)
        m = 0;
    n += m;
    if (n > (int)sizeof(buf) - 2)
        n = (int)sizeof(buf) - 2;
    buf[n++] = '\n';
    ssize_t w = write(log_fd, buf, (size_t)n);
    (void)w;
}
