/* The shared image cache (<instances>/_base/<image id>) and its cleaning.
 *
 * A base file is in use while some instance's qcow2 overlay names it as its
 * backing file, so the overlays themselves are the reference count: the
 * cleaner reads the backing file name out of the qcow2 header of every file
 * in every instance directory, and removes base files no overlay names once
 * they have not been touched for [compute]
 * remove_unused_original_minimum_age_seconds (Nova's image cache manager
 * and option). Temporary copies ("<id>.part.<pid>.<n>") left by a crash
 * mid-copy are removed after an hour. */
#include "compute.h"

#include <monostack/config.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PART_MAX_AGE_S 3600

static uint64_t
be64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int k = 0; k < 8; k++)
        v = v << 8 | p[k];
    return v;
}

static uint32_t
be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The backing file named in a qcow2 header, or "" (not qcow2, or none). */
static void
qcow2_backing(const char *path, char out[4096])
{
    out[0] = '\0';
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    unsigned char h[20];
    if (pread(fd, h, sizeof(h), 0) == (ssize_t)sizeof(h) && !memcmp(h, "QFI\xfb", 4)) {
        uint64_t off = be64(h + 8);
        uint32_t len = be32(h + 16);
        if (off && len && len < 4096 && pread(fd, out, len, (off_t)off) == (ssize_t)len)
            out[len] = '\0';
        else
            out[0] = '\0';
    }
    close(fd);
}

/* Whether some file of some instance directory under root is an overlay of
 * base (by full path or by file name, as qemu-img may have written either). */
static bool
base_in_use(const char *root, const char *base_path, const char *base_name)
{
    DIR *d = opendir(root);
    if (!d)
        return true;   /* cannot tell: keep it */
    bool used = false;
    struct dirent *e;
    while (!used && (e = readdir(d))) {
        if (e->d_name[0] == '.' || !strcmp(e->d_name, "_base"))
            continue;
        char *idir = ms_asprintf("%s/%s", root, e->d_name);
        DIR *id = opendir(idir);
        struct dirent *f;
        while (id && !used && (f = readdir(id))) {
            if (f->d_name[0] == '.')
                continue;
            char *file = ms_asprintf("%s/%s", idir, f->d_name);
            char backing[4096];
            qcow2_backing(file, backing);
            const char *slash = strrchr(backing, '/');
            used = backing[0] && (!strcmp(backing, base_path) ||
                                  !strcmp(slash ? slash + 1 : backing, base_name));
            free(file);
        }
        if (id)
            closedir(id);
        free(idir);
    }
    closedir(d);
    return used;
}

int
compute_image_cache_clean(const char *root, int64_t now_s, int min_age_s)
{
    char *bdir = ms_asprintf("%s/_base", root);
    DIR *d = opendir(bdir);
    if (!d) {
        free(bdir);
        return 0;
    }
    int removed = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char *path = ms_asprintf("%s/%s", bdir, e->d_name);
        struct stat st;
        bool part = strstr(e->d_name, ".part") != NULL;
        int64_t age = stat(path, &st) == 0 ? now_s - (int64_t)st.st_mtime : -1;
        bool drop = part ? age > PART_MAX_AGE_S
                         : age > min_age_s && !base_in_use(root, path, e->d_name);
        if (drop && unlink(path) == 0) {
            ms_info("Removed %s image cache file. path=%s", part ? "a stale partial"
                                                                 : "an unused", path);
            removed++;
        }
        free(path);
    }
    closedir(d);
    free(bdir);
    return removed;
}
