/* monostackd: load the configuration, check the database, start the bus,
 * the task workers and one listener per enabled module, then wait for
 * SIGTERM/SIGINT and shut down cleanly. The modules are the list in
 * modules.c; this file knows none of them. */
#include <monostack/config.h>
#include <monostack/db.h>
#include <monostack/http.h>
#include <monostack/log.h>
#include <monostack/task.h>

#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_CONFIG "/etc/monostack/monostack.conf"

static void
usage(FILE *out)
{
    fprintf(out,
            "Usage: monostackd [OPTIONS]\n"
            "The monostack daemon: OpenStack identity, image, compute, volume and network\n"
            "APIs in one process.\n\n"
            "  -c, --config FILE    configuration file (default " DEFAULT_CONFIG ")\n"
            "  -p, --pid-file FILE  write the process id to FILE while running\n"
            "  -n, --check          check the configuration and exit\n"
            "  -V, --version        print the version and exit\n"
            "  -h, --help           print this help and exit\n");
}

/* The schema must be at the version this binary expects. */
static void
check_schema(void)
{
    for (size_t i = 0; i < ms_modules_count; i++) {
        const ms_module *mod = ms_modules[i];
        if (!mod->migrations)
            continue;
        int want = 0;
        for (const ms_migration *m = mod->migrations; m->version; m++)
            want = m->version;
        int have = ms_db_version(mod->name);
        if (have < 0)
            ms_fatal(1, "cannot read the schema version of %s from the database", mod->name);
        if (have != want)
            ms_fatal(1,
                     "the %s schema is at version %d, this monostackd needs %d: run "
                     "`monostack-manage db sync`",
                     mod->name, have, want);
    }
}

static void
write_pid_file(const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f)
        ms_fatal(1, "cannot write pid file %s: %s", path, strerror(errno));
    fprintf(f, "%ld\n", (long)getpid());
    fclose(f);
}

int
main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'}, {"pid-file", required_argument, NULL, 'p'},
        {"check", no_argument, NULL, 'n'},        {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},         {0},
    };
    const char *config = DEFAULT_CONFIG, *pid_file = NULL;
    bool check_only = false;
    int c;
    while ((c = getopt_long(argc, argv, "c:p:nVh", opts, NULL)) != -1) {
        switch (c) {
        case 'c': config = optarg; break;
        case 'p': pid_file = optarg; break;
        case 'n': check_only = true; break;
        case 'V': printf("monostackd %s\n", MS_VERSION); return 0;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        usage(stderr);
        return 2;
    }
    uint64_t t0 = ms_now_us();
    /* Memory goes back to the system after a big reply: glibc would raise
     * its mmap threshold to the size of the first large block freed and then
     * keep such blocks (a 1000-server list is megabytes) in per-thread
     * arenas, one per busy HTTP thread. A fixed threshold and few arenas
     * keep the RSS near the working set. */
    mallopt(M_MMAP_THRESHOLD, 256 * 1024);
    mallopt(M_ARENA_MAX, 4);
    char *err = NULL;
    if (ms_config_load(config, &err) < 0)
        ms_fatal(2, "%s", err);
    if (ms_log_set_level(ms_conf.log_level) < 0)
        ms_fatal(2, "%s: invalid log_level %s", config, ms_conf.log_level);
    if (ms_db_configure(ms_conf.db_connection, &err) < 0)
        ms_fatal(2, "%s: [database] connection: %s", config, err);
    if (ms_bus_configure(ms_conf.bus_url, &err) < 0)
        ms_fatal(2, "%s: [bus] url: %s", config, err);
    if (check_only) {
        printf("monostackd: configuration %s is valid\n", config);
        return 0;
    }
    if (ms_log_open(ms_conf.log_file) < 0)
        ms_fatal(1, "cannot open log file %s: %s", ms_conf.log_file, strerror(errno));

    /* Signals go to the main thread's sigwait only: block them before any
     * thread starts so every thread inherits the mask. */
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (ms_db_ping(&err) < 0)
        ms_fatal(1, "cannot connect to the database: %s", err);
    check_schema();
    if (ms_bus_start(&err) < 0)
        ms_fatal(1, "cannot start the message bus client: %s", err);
    for (size_t i = 0; i < ms_modules_count; i++) {
        const ms_module *mod = ms_modules[i];
        if (mod->init && mod->init() < 0)
            ms_fatal(1, "the %s module failed to start (see the log)", mod->name);
    }
    if (ms_workers_start(&err) < 0)
        ms_fatal(1, "cannot start the task workers: %s", err);
    /* The pid file is in place before the first request is answered, so a
     * supervisor that sees the daemon healthy also finds its pid. */
    if (pid_file)
        write_pid_file(pid_file);
    if (ms_http_start(ms_modules, ms_modules_count, &err) < 0) {
        if (pid_file)
            unlink(pid_file);
        ms_fatal(1, "%s", err);
    }
    ms_info("monostackd %s serving host=%s startup_us=%llu", MS_VERSION, ms_conf.host,
            (unsigned long long)(ms_now_us() - t0));

    int sig = 0;
    do {
        sigwait(&stop_signals, &sig);
        if (sig == SIGHUP) {
            ms_log_open(ms_conf.log_file);   /* after logrotate */
            ms_info("reopened the log");
        }
    } while (sig == SIGHUP);
    ms_info("shutting down on signal %d", sig);
    ms_http_stop();
    ms_workers_stop();
    ms_bus_stop();
    for (size_t i = ms_modules_count; i-- > 0;) {
        if (ms_modules[i]->fini)
            ms_modules[i]->fini();
    }
    if (pid_file)
        unlink(pid_file);
    ms_info("stopped");
    ms_config_free();
    return 0;
}
