/* monostack-manage: administration commands run beside the daemon:
 * schema migrations, bootstrap of the default objects, Fernet key
 * management and the sample configuration. */
#include <monostack/config.h>
#include <monostack/db.h>
#include <monostack/http.h>
#include <monostack/log.h>

#include "identity/identity.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#define DEFAULT_CONFIG "/etc/monostack/monostack.conf"

static void
usage(FILE *out)
{
    fprintf(out,
            "Usage: monostack-manage [--config FILE] COMMAND\n\n"
            "Commands:\n"
            "  db sync              apply the schema migrations of every module\n"
            "  db version           print each module's schema version\n"
            "  bootstrap --admin-password PASSWORD [--admin-user NAME] [--admin-project NAME]\n"
            "            [--region REGION] [--public-url http://HOST]\n"
            "                       create the admin account, roles, catalog and defaults\n"
            "                       (idempotent)\n"
            "  fernet setup         create the token key repository if it is missing\n"
            "  fernet rotate        rotate the token keys\n"
            "  config sample        print the sample configuration\n"
            "  config check         check the configuration file\n");
}

static void
open_db(void)
{
    char *err = NULL;
    if (ms_db_configure(ms_conf.db_connection, &err) < 0 || ms_db_ping(&err) < 0)
        ms_fatal(1, "cannot connect to the database: %s", err);
}

static int
db_sync(void)
{
    open_db();
    for (size_t i = 0; i < ms_modules_count; i++) {
        const ms_module *mod = ms_modules[i];
        if (!mod->migrations)
            continue;
        char *err = NULL;
        if (ms_db_sync(mod->name, mod->migrations, &err) < 0)
            ms_fatal(1, "db sync of %s failed: %s", mod->name, err);
        printf("%s: schema version %d\n", mod->name, ms_db_version(mod->name));
    }
    return 0;
}

static int
db_version(void)
{
    open_db();
    for (size_t i = 0; i < ms_modules_count; i++) {
        if (ms_modules[i]->migrations)
            printf("%s: %d\n", ms_modules[i]->name, ms_db_version(ms_modules[i]->name));
    }
    return 0;
}

static int
bootstrap(int argc, char **argv)
{
    static const struct option opts[] = {
        {"admin-password", required_argument, NULL, 'P'},
        {"admin-user", required_argument, NULL, 'u'},
        {"admin-project", required_argument, NULL, 'j'},
        {"region", required_argument, NULL, 'r'},
        {"public-url", required_argument, NULL, 'U'},
        {0},
    };
    struct ms_bootstrap_opts bo = {.admin_user = "admin", .admin_project = "admin",
                                   .region = "RegionOne"};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'P': bo.admin_password = optarg; break;
        case 'u': bo.admin_user = optarg; break;
        case 'j': bo.admin_project = optarg; break;
        case 'r': bo.region = optarg; break;
        case 'U': bo.public_url = optarg; break;
        default: usage(stderr); return 2;
        }
    }
    if (ms_str_empty(bo.admin_password))
        ms_fatal(2, "bootstrap needs --admin-password");
    char *default_url = NULL;
    if (!bo.public_url)
        bo.public_url = default_url = ms_asprintf("http://%s", ms_conf.public_url_host);
    open_db();
    for (size_t i = 0; i < ms_modules_count; i++) {
        const ms_module *mod = ms_modules[i];
        char *err = NULL;
        if (mod->bootstrap && mod->bootstrap(&bo, &err) < 0)
            ms_fatal(1, "bootstrap of %s failed: %s", mod->name, err ? err : "see the log");
    }
    printf("bootstrap complete: user %s, project %s, region %s\n", bo.admin_user,
           bo.admin_project, bo.region);
    free(default_url);
    return 0;
}

static int
fernet(const char *what)
{
    char *err = NULL;
    int rc;
    if (strcmp(what, "setup") == 0)
        rc = identity_fernet_setup(&err);
    else if (strcmp(what, "rotate") == 0)
        rc = identity_fernet_rotate(&err);
    else
        return usage(stderr), 2;
    if (rc < 0)
        ms_fatal(1, "fernet %s failed: %s", what, err ? err : "unknown error");
    printf("fernet %s: done\n", what);
    return 0;
}

int
main(int argc, char **argv)
{
    const char *config = DEFAULT_CONFIG;
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if ((strcmp(argv[i], "--config") == 0 || strcmp(argv[i], "-c") == 0) && i + 1 < argc) {
            config = argv[++i];
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "--version") == 0) {
            printf("monostack-manage %s\n", MS_VERSION);
            return 0;
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (i >= argc) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[i], *sub = i + 1 < argc ? argv[i + 1] : "";
    char *err = NULL;
    if (strcmp(cmd, "config") == 0 && strcmp(sub, "sample") == 0) {
        ms_config_load(NULL, &err);
        ms_config_write_sample(stdout);
        return 0;
    }
    if (ms_config_load(config, &err) < 0)
        ms_fatal(2, "%s", err);
    ms_log_set_level(ms_conf.log_level);
    if (strcmp(cmd, "config") == 0 && strcmp(sub, "check") == 0) {
        printf("configuration %s is valid\n", config);
        return 0;
    }
    if (strcmp(cmd, "db") == 0 && strcmp(sub, "sync") == 0)
        return db_sync();
    if (strcmp(cmd, "db") == 0 && strcmp(sub, "version") == 0)
        return db_version();
    if (strcmp(cmd, "bootstrap") == 0)
        return bootstrap(argc - i, argv + i);
    if (strcmp(cmd, "fernet") == 0)
        return fernet(sub);
    usage(stderr);
    return 2;
}
