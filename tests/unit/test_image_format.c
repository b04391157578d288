/* Format inspection on real images made by qemu-img: detection, virtual
 * size (compared with what `qemu-img info` reports) and the refusals of
 * unsafe images (qcow2 backing file / external data file, VMDK extents
 * outside the image), each image fed in several chunk sizes down to a few
 * bytes, to show the inspector works on a stream. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include <monostack/exec.h>

#include "image/format.h"
#include "image/image.h"

static char tmpdir[512];

static const char *
tpath(const char *name)
{
    static char buf[4][768];
    static int slot;
    slot = (slot + 1) % 4;
    snprintf(buf[slot], sizeof(buf[slot]), "%s/%s", tmpdir, name);
    return buf[slot];
}

static void
run(const char *const argv[])
{
    ms_exec_result res = {0};
    int rc = ms_exec(argv, NULL, 60000, &res);
    if (rc != 0)
        fprintf(stderr, "%s failed: %s\n", argv[0], res.err ? res.err : "");
    assert_int_equal(rc, 0);
    ms_exec_result_free(&res);
}

/* qemu's own idea of the virtual size */
static uint64_t
qemu_vsize(const char *path, const char *fmt)
{
    ms_exec_result res = {0};
    const char *argv[] = {"qemu-img", "info", "--output=json", "-f", fmt, path, NULL};
    assert_int_equal(ms_exec(argv, NULL, 60000, &res), 0);
    json_t *j = json_loads(res.out, 0, NULL);
    assert_non_null(j);
    uint64_t v = (uint64_t)json_integer_value(json_object_get(j, "virtual-size"));
    json_decref(j);
    ms_exec_result_free(&res);
    return v;
}

static unsigned char *
slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = malloc((size_t)n + 1);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static void
spit(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
}

typedef struct {
    const char *format;
    uint64_t vsize;
    bool unsafe;
    char why[160];
    bool decided_early;     /* decided before the last byte */
} verdict;

static verdict
inspect(const unsigned char *data, size_t len, size_t chunk)
{
    verdict v = {0};
    image_inspector *insp = image_inspector_new();
    for (size_t off = 0; off < len; off += chunk) {
        size_t n = len - off < chunk ? len - off : chunk;
        image_inspector_feed(insp, data + off, n);
        if (off + n < len && image_inspector_decided(insp))
            v.decided_early = true;
    }
    image_inspector_finish(insp);
    assert_true(image_inspector_decided(insp));
    assert_int_equal(image_inspector_bytes(insp), len);
    v.format = image_inspector_format(insp);
    v.vsize = image_inspector_virtual_size(insp);
    v.unsafe = image_inspector_unsafe(insp) != NULL;
    if (v.unsafe)
        snprintf(v.why, sizeof(v.why), "%s", image_inspector_unsafe(insp));
    image_inspector_free(insp);
    return v;
}

static const size_t chunks[] = {3, 511, 4096, 65537, 1 << 22};

/* The same verdict whatever the chunk size. */
static verdict
inspect_file(const char *path)
{
    size_t len;
    unsigned char *data = slurp(path, &len);
    verdict first = inspect(data, len, chunks[0]);
    for (size_t i = 1; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
        verdict v = inspect(data, len, chunks[i]);
        assert_string_equal(v.format, first.format);
        assert_int_equal(v.vsize, first.vsize);
        assert_int_equal(v.unsafe, first.unsafe);
    }
    free(data);
    return first;
}

static void
test_qcow2(void **state)
{
    (void)state;
    const char *p = tpath("plain.qcow2");
    run((const char *[]){"qemu-img", "create", "-q", "-f", "qcow2", p, "96M", NULL});
    verdict v = inspect_file(p);
    assert_string_equal(v.format, "qcow2");
    assert_int_equal(v.vsize, 96ull << 20);
    assert_int_equal(v.vsize, qemu_vsize(p, "qcow2"));
    assert_false(v.unsafe);
    /* qcow2 v2 (compat=0.10) too */
    const char *p2 = tpath("old.qcow2");
    run((const char *[]){"qemu-img", "create", "-q", "-f", "qcow2", "-o", "compat=0.10", p2,
                         "10M", NULL});
    v = inspect_file(p2);
    assert_string_equal(v.format, "qcow2");
    assert_int_equal(v.vsize, 10ull << 20);
    assert_false(v.unsafe);
}

static void
test_qcow2_backing_file(void **state)
{
    (void)state;
    const char *base = tpath("base.raw");
    const char *p = tpath("backed.qcow2");
    run((const char *[]){"qemu-img", "create", "-q", "-f", "raw", base, "16M", NULL});
    run((const char *[]){"qemu-img", "create", "-q", "-f", "qcow2", "-b", base, "-F", "raw", p,
                         NULL});
    verdict v = inspect_file(p);
    assert_string_equal(v.format, "qcow2");
    assert_true(v.unsafe);
    assert_non_null(strstr(v.why, "backing file"));
    /* refused as soon as the header is in, not after the whole image */
    size_t len;
    unsigned char *data = slurp(p, &len);
    image_inspector *insp = image_inspector_new();
    image_inspector_feed(insp, data, 512);
    assert_true(image_inspector_decided(insp));
    assert_non_null(image_inspector_unsafe(insp));
    image_inspector_free(insp);
    free(data);
}

static void
test_qcow2_data_file(void **state)
{
    (void)state;
    const char *df = tpath("external.data");
    const char *p = tpath("datafile.qcow2");
    char opt[900];
    snprintf(opt, sizeof(opt), "data_file=%s", df);
    run((const char *[]){"qemu-img", "create", "-q", "-f", "qcow2", "-o", opt, p, "16M", NULL});
    verdict v = inspect_file(p);
    assert_string_equal(v.format, "qcow2");
    assert_true(v.unsafe);
    assert_non_null(strstr(v.why, "data file"));
}

static void
test_raw(void **state)
{
    (void)state;
    size_t len = 3 * 1024 * 1024 + 17;
    unsigned char *data = malloc(len);
    srand(42);
    for (size_t i = 0; i < len; i++)
        data[i] = (unsigned char)rand();
    memset(data, 0, 4);   /* no accidental magic */
    const char *p = tpath("random.raw");
    spit(p, data, len);
    free(data);
    verdict v = inspect_file(p);
    assert_string_equal(v.format, "raw");
    assert_int_equal(v.vsize, len);
    assert_false(v.unsafe);
    /* tiny and empty files are raw too */
    spit(tpath("tiny.raw"), "hello", 5);
    v = inspect_file(tpath("tiny.raw"));
    assert_string_equal(v.format, "raw");
    assert_int_equal(v.vsize, 5);
    image_inspector *insp = image_inspector_new();
    image_inspector_finish(insp);
    assert_string_equal(image_inspector_format(insp), "raw");
    image_inspector_free(insp);
}

static void
test_vmdk_sparse(void **state)
{
    (void)state;
    const char *p = tpath("sparse.vmdk");
    run((const char *[]){"qemu-img", "create", "-q", "-f", "vmdk", "-o",
                         "subformat=monolithicSparse", p, "64M", NULL});
    verdict v = inspect_file(p);
    assert_string_equal(v.format, "vmdk");
    assert_int_equal(v.vsize, 64ull << 20);
    assert_int_equal(v.vsize, qemu_vsize(p, "vmdk"));
    assert_false(v.unsafe);
    const char *s = tpath("stream.vmdk");
    run((const char *[]){"qemu-img", "convert", "-q", "-O", "vmdk", "-o",
                         "subformat=streamOptimized", p, s, NULL});
    v = inspect_file(s);
    assert_string_equal(v.format, "vmdk");
    assert_false(v.unsafe);
}

static void
test_vmdk_outside_extent(void **state)
{
    (void)state;
    /* a descriptor file whose extent is a host file */
    const char *desc = "# Disk DescriptorFile\nversion=1\nCID=12345678\nparentCID=ffffffff\n"
                       "createType=\"monolithicFlat\"\n\n# Extent description\n"
                       "RW 2048 FLAT \"/etc/passwd\" 0\n\nddb.virtualHWVersion = \"4\"\n";
    const char *p = tpath("outside.vmdk");
    spit(p, desc, strlen(desc));
    verdict v = inspect_file(p);
    assert_string_equal(v.format, "vmdk");
    assert_true(v.unsafe);
    assert_non_null(strstr(v.why, "outside"));

    /* a monolithicSparse image whose embedded descriptor was edited to
     * point at a host file */
    const char *sp = tpath("sparse2.vmdk");
    run((const char *[]){"qemu-img", "create", "-q", "-f", "vmdk", "-o",
                         "subformat=monolithicSparse", sp, "8M", NULL});
    size_t len;
    unsigned char *data = slurp(sp, &len);
    /* the embedded descriptor: at sector desc_sec, desc_num sectors, NUL padded */
    uint64_t desc_sec = 0, desc_num = 0;
    memcpy(&desc_sec, data + 28, 8);
    memcpy(&desc_num, data + 36, 8);
    assert_true(desc_sec > 0 && desc_num > 0);
    char *d = (char *)data + desc_sec * 512;
    size_t dlen = desc_num * 512;
    char *text = strndup(d, dlen);
    char *ext = strstr(text, "RW 16384 SPARSE");
    assert_non_null(ext);
    char *eol = strchr(ext, '\n');
    assert_non_null(eol);
    char rebuilt[4096];
    snprintf(rebuilt, sizeof(rebuilt), "%.*sRW 16384 FLAT \"/etc/shadow\" 0%s",
             (int)(ext - text), text, eol);
    assert_true(strlen(rebuilt) < dlen);
    memset(d, 0, dlen);
    memcpy(d, rebuilt, strlen(rebuilt));
    free(text);
    const char *evil_path = tpath("evil-sparse.vmdk");
    spit(evil_path, data, len);
    free(data);
    v = inspect_file(evil_path);
    assert_string_equal(v.format, "vmdk");
    assert_true(v.unsafe);
}

static void
test_vhd(void **state)
{
    (void)state;
    const char *p = tpath("dynamic.vhd");
    run((const char *[]){"qemu-img", "create", "-q", "-f", "vpc", p, "32M", NULL});
    verdict v = inspect_file(p);
    assert_string_equal(v.format, "vhd");
    assert_int_equal(v.vsize, qemu_vsize(p, "vpc"));
    assert_false(v.unsafe);
    assert_true(v.decided_early);
    /* a fixed VHD has its footer only at the end */
    const char *f = tpath("fixed.vhd");
    run((const char *[]){"qemu-img", "create", "-q", "-f", "vpc", "-o", "subformat=fixed", f,
                         "8M", NULL});
    v = inspect_file(f);
    assert_string_equal(v.format, "vhd");
    assert_int_equal(v.vsize, qemu_vsize(f, "vpc"));
}

static void
test_vhdx(void **state)
{
    (void)state;
    const char *p = tpath("disk.vhdx");
    run((const char *[]){"qemu-img", "create", "-q", "-f", "vhdx", p, "80M", NULL});
    verdict v = inspect_file(p);
    assert_string_equal(v.format, "vhdx");
    assert_int_equal(v.vsize, 80ull << 20);
    assert_int_equal(v.vsize, qemu_vsize(p, "vhdx"));
    assert_false(v.unsafe);
}

/* An ISO 9660 image: system area, primary volume descriptor, terminator. */
static void
test_iso(void **state)
{
    (void)state;
    const uint32_t blocks = 64;
    size_t len = (size_t)blocks * 2048;
    unsigned char *iso = calloc(1, len);
    unsigned char *pvd = iso + 16 * 2048;
    pvd[0] = 1;
    memcpy(pvd + 1, "CD001", 5);
    pvd[6] = 1;
    memset(pvd + 8, ' ', 32);
    memcpy(pvd + 40, "MONOSTACK_TEST", 14);
    /* volume space size, both-endian 32 */
    pvd[80] = blocks & 0xff;
    pvd[81] = (blocks >> 8) & 0xff;
    pvd[87] = blocks & 0xff;
    pvd[86] = (blocks >> 8) & 0xff;
    /* logical block size 2048, both-endian 16 */
    pvd[128] = 0x00;
    pvd[129] = 0x08;
    pvd[130] = 0x08;
    pvd[131] = 0x00;
    unsigned char *term = iso + 17 * 2048;
    term[0] = 255;
    memcpy(term + 1, "CD001", 5);
    term[6] = 1;
    const char *p = tpath("disk.iso");
    spit(p, iso, len);
    free(iso);
    verdict v = inspect_file(p);
    assert_string_equal(v.format, "iso");
    assert_int_equal(v.vsize, (uint64_t)blocks * 2048);
    assert_false(v.unsafe);
    /* qemu sees it as raw data of the same size */
    assert_int_equal(qemu_vsize(p, "raw"), v.vsize);
}

/* A qcow2 header in front of an ISO descriptor is judged as qcow2. */
static void
test_polyglot(void **state)
{
    (void)state;
    const char *p = tpath("plain.qcow2");
    size_t len;
    unsigned char *data = slurp(p, &len);
    if (len < 40000) {
        data = realloc(data, 40000);
        memset(data + len, 0, 40000 - len);
        len = 40000;
    }
    memcpy(data + 0x8001, "CD001", 5);
    data[0x8000] = 1;
    spit(tpath("poly.img"), data, len);
    free(data);
    verdict v = inspect_file(tpath("poly.img"));
    assert_string_equal(v.format, "qcow2");
}

static image_t *
declared(const char *disk, const char *container)
{
    image_t *img = calloc(1, sizeof(*img));
    img->disk_format = disk ? strdup(disk) : NULL;
    img->container_format = container ? strdup(container) : NULL;
    return img;
}

static int
check(const char *path, const char *disk, const char *container)
{
    size_t len;
    unsigned char *data = slurp(path, &len);
    image_inspector *insp = image_inspector_new();
    image_inspector_feed(insp, data, len);
    image_inspector_finish(insp);
    image_t *img = declared(disk, container);
    char msg[256];
    int rc = image_check_format(img, insp, msg, sizeof(msg));
    image_free(img);
    image_inspector_free(insp);
    free(data);
    return rc;
}

static void
test_declared_format(void **state)
{
    (void)state;
    assert_int_equal(check(tpath("plain.qcow2"), "qcow2", "bare"), 0);
    assert_int_not_equal(check(tpath("plain.qcow2"), "raw", "bare"), 0);
    assert_int_not_equal(check(tpath("random.raw"), "qcow2", "bare"), 0);
    assert_int_equal(check(tpath("random.raw"), "raw", "bare"), 0);
    assert_int_equal(check(tpath("disk.iso"), "iso", "bare"), 0);
    assert_int_equal(check(tpath("disk.iso"), "raw", "bare"), 0);
    assert_int_equal(check(tpath("disk.vhdx"), "vhdx", "bare"), 0);
    assert_int_not_equal(check(tpath("disk.vhdx"), "vhd", "bare"), 0);
    assert_int_equal(check(tpath("sparse.vmdk"), "vmdk", "bare"), 0);
    assert_int_not_equal(check(tpath("backed.qcow2"), "qcow2", "bare"), 0);
    /* unsafe content is refused whatever the declaration */
    assert_int_not_equal(check(tpath("backed.qcow2"), "qcow2", "ova"), 0);
    assert_int_not_equal(check(tpath("outside.vmdk"), "raw", "bare"), 0);
}

int
main(void)
{
    const char *t = getenv("MS_TEST_TMP");
    snprintf(tmpdir, sizeof(tmpdir), "%s/image_format.%d", t ? t : "/tmp", (int)getpid());
    mkdir(t ? t : "/tmp", 0755);
    if (mkdir(tmpdir, 0755) < 0) {
        perror(tmpdir);
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_qcow2),
        cmocka_unit_test(test_qcow2_backing_file),
        cmocka_unit_test(test_qcow2_data_file),
        cmocka_unit_test(test_raw),
        cmocka_unit_test(test_vmdk_sparse),
        cmocka_unit_test(test_vmdk_outside_extent),
        cmocka_unit_test(test_vhd),
        cmocka_unit_test(test_vhdx),
        cmocka_unit_test(test_iso),
        cmocka_unit_test(test_polyglot),
        cmocka_unit_test(test_declared_format),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    const char *argv[] = {"rm", "-rf", tmpdir, NULL};
    if (!failed)
        ms_exec(argv, NULL, 60000, NULL);
    return failed;
}
