/* The image cache cleaner on a scratch directory: base files that an
 * instance's qcow2 overlay names stay, unused ones older than the minimum
 * age go, young ones stay, and stale partial copies go after an hour. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <utime.h>

#include <cmocka.h>

#include "compute/compute.h"

#define DAY 86400

static char root[64];

static char *
path_of(const char *rel)
{
    static char buf[256];
    snprintf(buf, sizeof(buf), "%s/%s", root, rel);
    return buf;
}

/* A file with the given mtime, seconds before now. */
static void
touch_aged(const char *rel, int64_t now, int age)
{
    FILE *f = fopen(path_of(rel), "w");
    assert_non_null(f);
    fputs("data", f);
    fclose(f);
    struct utimbuf t = {.actime = (time_t)(now - age), .modtime = (time_t)(now - age)};
    assert_int_equal(utime(path_of(rel), &t), 0);
}

/* A qcow2 header (version 3) whose backing file is backing. */
static void
overlay(const char *rel, const char *backing)
{
    unsigned char h[512 + 256] = {'Q', 'F', 'I', 0xfb, 0, 0, 0, 3};
    size_t len = strlen(backing);
    h[14] = 0x02;                       /* backing_file_offset = 0x200 */
    h[19] = (unsigned char)len;         /* backing_file_size */
    memcpy(h + 512, backing, len);
    FILE *f = fopen(path_of(rel), "w");
    assert_non_null(f);
    fwrite(h, 1, 512 + len, f);
    fclose(f);
}

static void
test_clean(void **state)
{
    (void)state;
    snprintf(root, sizeof(root), "/tmp/ms-imgcache-XXXXXX");
    assert_non_null(mkdtemp(root));
    assert_int_equal(mkdir(path_of("_base"), 0755), 0);
    assert_int_equal(mkdir(path_of("inst-1"), 0755), 0);
    assert_int_equal(mkdir(path_of("inst-2"), 0755), 0);
    int64_t now = (int64_t)time(NULL);

    touch_aged("_base/unused-old", now, 2 * DAY);
    touch_aged("_base/used-full-path", now, 2 * DAY);
    touch_aged("_base/used-by-name", now, 2 * DAY);
    touch_aged("_base/unused-young", now, 60);
    touch_aged("_base/img.part.12.1", now, 2 * 3600);
    touch_aged("_base/img.part.12.2", now, 60);
    char full[256];
    snprintf(full, sizeof(full), "%s/_base/used-full-path", root);
    overlay("inst-1/disk", full);
    overlay("inst-2/disk.rescue", "used-by-name");
    touch_aged("inst-2/console.log", now, 0);   /* not qcow2: ignored */

    assert_int_equal(compute_image_cache_clean(root, now, DAY), 2);
    assert_int_equal(access(path_of("_base/unused-old"), F_OK), -1);
    assert_int_equal(access(path_of("_base/img.part.12.1"), F_OK), -1);
    assert_int_equal(access(path_of("_base/used-full-path"), F_OK), 0);
    assert_int_equal(access(path_of("_base/used-by-name"), F_OK), 0);
    assert_int_equal(access(path_of("_base/unused-young"), F_OK), 0);
    assert_int_equal(access(path_of("_base/img.part.12.2"), F_OK), 0);

    /* Once the overlays are gone, their bases go too. */
    unlink(path_of("inst-1/disk"));
    unlink(path_of("inst-2/disk.rescue"));
    assert_int_equal(compute_image_cache_clean(root, now, DAY), 2);
    assert_int_equal(access(path_of("_base/used-full-path"), F_OK), -1);

    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
    assert_int_equal(system(cmd), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clean),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
