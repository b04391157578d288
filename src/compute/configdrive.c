/* The config drive: the metadata documents (instance_meta.c) written to a
 * scratch directory and packed by genisoimage into an ISO 9660 image
 * labelled config-2, with the options Nova's configdrive builder passes
 * (Rock Ridge and Joliet, lower case and dots kept). The image is built
 * under a temporary name and renamed, so a crash never leaves half an ISO
 * where the domain looks for one. */
#include "compute.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <monostack/config.h>
#include <monostack/exec.h>

bool
compute_configdrive_wanted(const compute_instance *inst)
{
    if (!strcasecmp(inst->config_drive, "True"))
        return true;
    /* As Nova: the option forces a drive only on a server's first boot. */
    return ms_conf.force_config_drive && !inst->launched_at;
}

static int
mkdirs(char *path)
{
    for (char *p = path + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            int rc = mkdir(path, 0755);
            *p = '/';
            if (rc < 0 && errno != EEXIST)
                return -errno;
        }
    }
    return 0;
}

static int
write_all(const char *path, const char *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, data + off, len - off);
        if (w < 0) {
            int e = errno;
            close(fd);
            return -e;
        }
        off += (size_t)w;
    }
    return close(fd) == 0 ? 0 : -errno;
}

int
compute_configdrive_make(const compute_meta_src *src, const char *iso_path, char **err)
{
    char *tmpl = ms_asprintf("%s.d.XXXXXX", iso_path);
    if (!mkdtemp(tmpl)) {
        *err = ms_asprintf("Cannot make the config drive's directory: %s", strerror(errno));
        free(tmpl);
        return -EIO;
    }
    compute_meta_file *files = NULL;
    size_t n = 0;
    int rc = compute_meta_files(src, &files, &n);
    for (size_t k = 0; rc == 0 && k < n; k++) {
        char *p = ms_asprintf("%s/%s", tmpl, files[k].path);
        rc = mkdirs(p);
        if (rc == 0)
            rc = write_all(p, files[k].data, files[k].len);
        if (rc < 0)
            *err = ms_asprintf("Cannot write %s of the config drive: %s", files[k].path,
                               strerror(-rc));
        free(p);
    }
    compute_meta_files_free(files, n);
    char *part = ms_asprintf("%s.part", iso_path);
    if (rc == 0) {
        const char *cmd = ms_str_empty(ms_conf.mkisofs_cmd) ? "genisoimage" : ms_conf.mkisofs_cmd;
        const char *argv[] = {cmd, "-o", part, "-ldots", "-allow-lowercase", "-allow-multidot",
                              "-l", "-publisher", "monostack " MS_VERSION, "-quiet", "-J",
                              "-r", "-V", "config-2", tmpl, NULL};
        ms_exec_result r = {0};
        rc = ms_exec(argv, NULL, 120000, &r);
        if (rc < 0)
            *err = ms_asprintf("%s failed to build the config drive: %s", cmd,
                               r.err && *r.err ? r.err : strerror(-rc));
        else if (rename(part, iso_path) < 0) {
            rc = -errno;
            *err = ms_asprintf("Cannot put the config drive in place: %s", strerror(errno));
        }
        ms_exec_result_free(&r);
    }
    if (rc < 0)
        unlink(part);
    const char *rm[] = {"rm", "-rf", "--", tmpl, NULL};
    ms_exec(rm, NULL, 60000, NULL);
    free(part);
    free(tmpl);
    return rc;
}
