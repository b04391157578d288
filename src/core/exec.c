/* Host commands: argv arrays run with posix_spawnp (never a shell), stdin
 * fed and stdout/stderr captured through pipes, a deadline enforced with
 * SIGKILL. The dry-run mode records commands for golden-file tests. */
#include <monostack/exec.h>
#include <monostack/log.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static bool dry_run;
static ms_buf dry_record;
static pthread_mutex_t dry_lock = PTHREAD_MUTEX_INITIALIZER;

void
ms_exec_dry_run(bool on)
{
    pthread_mutex_lock(&dry_lock);
    dry_run = on;
    pthread_mutex_unlock(&dry_lock);
}

char *
ms_exec_dry_run_take(void)
{
    pthread_mutex_lock(&dry_lock);
    char *s = ms_buf_steal(&dry_record);
    pthread_mutex_unlock(&dry_lock);
    return s;
}

static bool
record_dry_run(const char *const argv[], const char *stdin_data)
{
    pthread_mutex_lock(&dry_lock);
    bool on = dry_run;
    if (on) {
        for (size_t i = 0; argv[i]; i++)
            ms_buf_addf(&dry_record, "%s%s", i ? " " : "", argv[i]);
        ms_buf_adds(&dry_record, "\n");
        if (stdin_data) {
            ms_buf_adds(&dry_record, "<<<\n");
            ms_buf_adds(&dry_record, stdin_data);
            if (*stdin_data && stdin_data[strlen(stdin_data) - 1] != '\n')
                ms_buf_adds(&dry_record, "\n");
            ms_buf_adds(&dry_record, "<<<\n");
        }
    }
    pthread_mutex_unlock(&dry_lock);
    return on;
}

void
ms_exec_result_free(ms_exec_result *res)
{
    if (!res)
        return;
    free(res->out);
    free(res->err);
    res->out = res->err = NULL;
}

static void
close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

/* Pump stdin/stdout/stderr until the child closes its ends or the deadline
 * passes (false). fds are the parent's pipe ends; all are closed on return. */
static bool
pump(int fds[3], const char *stdin_data, ms_buf *out, ms_buf *err, uint64_t deadline)
{
    size_t in_len = stdin_data ? strlen(stdin_data) : 0, in_pos = 0;
    bool finished = false;
    while (fds[1] >= 0 || fds[2] >= 0) {
        struct pollfd p[3];
        int n = 0, idx[3];
        for (int i = 0; i < 3; i++) {
            if (fds[i] < 0)
                continue;
            p[n] = (struct pollfd){.fd = fds[i], .events = i == 0 ? POLLOUT : POLLIN};
            idx[n++] = i;
        }
        uint64_t now = ms_now_us();
        if (now >= deadline)
            goto out;
        int rc = poll(p, (nfds_t)n, (int)((deadline - now) / 1000) + 1);
        if (rc < 0 && errno != EINTR)
            goto out;
        for (int k = 0; k < n && rc > 0; k++) {
            int i = idx[k];
            if (!p[k].revents)
                continue;
            if (i == 0) {
                ssize_t w = write(fds[0], stdin_data + in_pos, in_len - in_pos);
                if (w > 0)
                    in_pos += (size_t)w;
                if (w < 0 || in_pos >= in_len)
                    close_fd(&fds[0]);
                continue;
            }
            char buf[4096];
            ssize_t r = read(fds[i], buf, sizeof(buf));
            if (r > 0)
                ms_buf_add(i == 1 ? out : err, buf, (size_t)r);
            else if (r == 0 || errno != EINTR)
                close_fd(&fds[i]);
        }
    }
    finished = true;
out:
    for (int i = 0; i < 3; i++)
        close_fd(&fds[i]);
    return finished;
}

int
ms_exec(const char *const argv[], const char *stdin_data, int timeout_ms,
        ms_exec_result *res)
{
    if (res)
        *res = (ms_exec_result){0};
    if (record_dry_run(argv, stdin_data)) {
        if (res) {
            res->out = ms_strdup("");
            res->err = ms_strdup("");
        }
        return 0;
    }
    int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1};
    if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) {
        int e = -errno;
        for (int i = 0; i < 2; i++) {
            close_fd(&in[i]);
            close_fd(&out[i]);
            close_fd(&err[i]);
        }
        return e;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_adddup2(&fa, err[1], 2);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
    pid_t pid;
    int rc = posix_spawnp(&pid, argv[0], &fa, &attr, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    close_fd(&in[0]);
    close_fd(&out[1]);
    close_fd(&err[1]);
    if (rc != 0) {
        close_fd(&in[1]);
        close_fd(&out[0]);
        close_fd(&err[0]);
        ms_warn("exec: cannot run %s: %s", argv[0], strerror(rc));
        return -rc;
    }
    if (!stdin_data)
        close_fd(&in[1]);
    ms_buf obuf = {0}, ebuf = {0};
    uint64_t deadline = ms_now_us() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 60000) * 1000;
    int fds[3] = {in[1], out[0], err[0]};
    bool finished = pump(fds, stdin_data, &obuf, &ebuf, deadline);
    int status = 0;
    if (!finished)
        kill(pid, SIGKILL);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    int ret;
    int exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (!finished) {
        ret = -ETIMEDOUT;
        ms_warn("exec: %s timed out after %d ms", argv[0], timeout_ms);
    } else {
        ret = exit_status == 0 ? 0 : -ECHILD;
    }
    if (res) {
        res->status = finished ? exit_status : -1;
        res->timed_out = !finished;
        res->out = ms_buf_steal(&obuf);
        res->err = ms_buf_steal(&ebuf);
    } else {
        ms_buf_free(&obuf);
        ms_buf_free(&ebuf);
    }
    return ret;
}
