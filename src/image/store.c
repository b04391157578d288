/* The filesystem store: image data as files named by image id.
 *
 *   <store>/<id>            active data
 *   <store>/staging/<id>    data staged for a glance-direct import
 *   <store>/tmp/<uuid>      a write in progress
 *
 * A write goes to a temporary file, is hashed (md5 for `checksum`, sha512
 * for `os_hash_value`) as it is written, fsync'd, then renamed into place,
 * so a crash or a failed upload never leaves a partial file under an image
 * id. Writes go through a few fixed buffers: memory is bounded whatever
 * the image size. */
#include "image.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include <monostack/config.h>

/* Data goes through NBUF buffers of WRITE_BUF bytes. The receiving thread
 * only copies bytes into the current buffer and hands full buffers on;
 * three consumer threads take every buffer in order: one feeds md5, one
 * sha512 (either alone is slower than the disk), one writes it to the file
 * with O_DIRECT where the filesystem allows (no second copy through the page
 * cache). The receiver waits only when all buffers are still in use, so
 * memory per upload is NBUF * WRITE_BUF whatever the image size. */
#define WRITE_BUF (1024 * 1024)
#define NBUF 8
#define NCONS 3                 /* md5, sha512, file writer */
#define CONS_WRITE 2
#define DIRECT_ALIGN 4096

struct image_writer {
    int fd;
    bool direct;                /* fd has O_DIRECT */
    char *tmp_path;
    uint64_t size;
    char *bufs[NBUF];
    size_t lens[NBUF];
    size_t fill;                /* bytes in the buffer being filled */
    uint64_t submitted;         /* buffers handed to the consumers */
    uint64_t done[NCONS];       /* buffers each consumer has finished */
    int write_err;              /* first write error (negative errno) */
    bool closing;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t threads[NCONS];
    int nthreads;
    EVP_MD_CTX *ctx[2];
};

typedef struct {
    image_writer *w;
    int idx;
} consumer_arg;

static int
write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t k = write(fd, p, n);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* Write one buffer; with O_DIRECT a short last buffer is padded to the
 * alignment (the file is truncated to its real size at commit). */
static int
write_buffer(image_writer *w, char *data, size_t len)
{
    if (w->direct && len % DIRECT_ALIGN) {
        size_t padded = (len + DIRECT_ALIGN - 1) / DIRECT_ALIGN * DIRECT_ALIGN;
        memset(data + len, 0, padded - len);   /* buffers are WRITE_BUF long */
        len = padded;
    }
    return write_all(w->fd, data, len);
}

static void *
consumer_main(void *arg)
{
    image_writer *w = ((consumer_arg *)arg)->w;
    int c = ((consumer_arg *)arg)->idx;
    free(arg);
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (w->done[c] == w->submitted && !w->closing)
            pthread_cond_wait(&w->cv, &w->mu);
        if (w->done[c] == w->submitted)
            break;
        uint64_t seq = w->done[c];
        char *data = w->bufs[seq % NBUF];
        size_t len = w->lens[seq % NBUF];
        bool failed = w->write_err != 0;
        pthread_mutex_unlock(&w->mu);
        int rc = 0;
        if (c == CONS_WRITE) {
            if (!failed)
                rc = write_buffer(w, data, len);
        } else {
            EVP_DigestUpdate(w->ctx[c], data, len);
        }
        pthread_mutex_lock(&w->mu);
        if (rc < 0 && !w->write_err)
            w->write_err = rc;
        w->done[c]++;
        pthread_cond_broadcast(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

static uint64_t
min_done(const image_writer *w)
{
    uint64_t m = w->done[0];
    for (int c = 1; c < NCONS; c++)
        if (w->done[c] < m)
            m = w->done[c];
    return m;
}

static void
stop_consumers(image_writer *w)
{
    pthread_mutex_lock(&w->mu);
    w->closing = true;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    for (int i = 0; i < w->nthreads; i++)
        pthread_join(w->threads[i], NULL);
    w->nthreads = 0;
}

static const char *
store_base(void)
{
    if (!ms_str_empty(ms_conf.image_store_path))
        return ms_conf.image_store_path;
    return ms_conf.state_path;   /* config normally fills image_store_path */
}

static int
mkdir_p(const char *path)
{
    char *p = ms_strdup(path);
    for (char *s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(p, 0750) < 0 && errno != EEXIST) {
            int e = errno;
            free(p);
            return -e;
        }
        *s = '/';
    }
    int rc = 0;
    if (mkdir(p, 0750) < 0 && errno != EEXIST)
        rc = -errno;
    free(p);
    return rc;
}

int
image_store_init(char **err)
{
    const char *base = store_base();
    char *staging = ms_asprintf("%s/staging", base);
    char *tmp = ms_asprintf("%s/tmp", base);
    int rc = mkdir_p(base);
    if (rc == 0)
        rc = mkdir_p(staging);
    if (rc == 0)
        rc = mkdir_p(tmp);
    if (rc < 0 && err)
        *err = ms_asprintf("cannot create the image store under %s: %s", base, strerror(-rc));
    free(staging);
    free(tmp);
    return rc;
}

char *
image_store_path(const char *id)
{
    return ms_asprintf("%s/%s", store_base(), id);
}

char *
image_store_staging_path(const char *id)
{
    return ms_asprintf("%s/staging/%s", store_base(), id);
}

static void
writer_free(image_writer *w)
{
    stop_consumers(w);
    if (w->fd >= 0)
        close(w->fd);
    for (int h = 0; h < 2; h++)
        EVP_MD_CTX_free(w->ctx[h]);
    for (int i = 0; i < NBUF; i++)
        free(w->bufs[i]);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    free(w->tmp_path);
    free(w);
}

static int
open_tmp(image_writer *w)
{
    /* O_DIRECT where the filesystem supports it (not tmpfs) */
    int flags = O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC;
    w->fd = open(w->tmp_path, flags | O_DIRECT, 0640);
    if (w->fd >= 0) {
        w->direct = true;
        return 0;
    }
    if (errno == EINVAL)
        w->fd = open(w->tmp_path, flags, 0640);
    return w->fd < 0 ? -errno : 0;
}

int
image_writer_open(image_writer **out)
{
    char uuid[37];
    ms_uuid(uuid);
    image_writer *w = ms_calloc(1, sizeof(*w));
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    w->tmp_path = ms_asprintf("%s/tmp/%s", store_base(), uuid);
    int rc = open_tmp(w);
    if (rc == -ENOENT) {
        image_store_init(NULL);
        rc = open_tmp(w);
    }
    if (rc < 0) {
        ms_error("image store: cannot create %s: %s", w->tmp_path, strerror(-rc));
        writer_free(w);
        return rc;
    }
    const EVP_MD *mds[2] = {EVP_md5(), EVP_sha512()};
    for (int h = 0; h < 2; h++) {
        w->ctx[h] = EVP_MD_CTX_new();
        if (!w->ctx[h])
            abort();
        EVP_DigestInit_ex(w->ctx[h], mds[h], NULL);
    }
    for (int i = 0; i < NBUF; i++) {
        if (posix_memalign((void **)&w->bufs[i], DIRECT_ALIGN, WRITE_BUF) != 0)
            abort();
    }
    for (int c = 0; c < NCONS; c++) {
        consumer_arg *a = ms_malloc(sizeof(*a));
        a->w = w;
        a->idx = c;
        if (pthread_create(&w->threads[c], NULL, consumer_main, a) != 0) {
            free(a);
            ms_error("image store: cannot start an upload thread");
            unlink(w->tmp_path);
            writer_free(w);
            return -EAGAIN;
        }
        w->nthreads++;
    }
    *out = w;
    return 0;
}

/* Hand the buffer being filled to the consumers; wait for a free one. */
static int
writer_submit(image_writer *w)
{
    int rc;
    pthread_mutex_lock(&w->mu);
    if (w->fill) {
        w->lens[w->submitted % NBUF] = w->fill;
        w->submitted++;
        pthread_cond_broadcast(&w->cv);
    }
    while (min_done(w) + NBUF <= w->submitted && !w->write_err)
        pthread_cond_wait(&w->cv, &w->mu);
    rc = w->write_err;
    pthread_mutex_unlock(&w->mu);
    w->fill = 0;
    return rc;
}

int
image_writer_write(image_writer *w, const void *data, size_t len)
{
    const char *p = data;
    w->size += len;
    while (len) {
        char *buf = w->bufs[w->submitted % NBUF];
        size_t n = WRITE_BUF - w->fill;
        if (n > len)
            n = len;
        memcpy(buf + w->fill, p, n);
        w->fill += n;
        p += n;
        len -= n;
        if (w->fill == WRITE_BUF) {
            int rc = writer_submit(w);
            if (rc < 0)
                return rc;
        }
    }
    return 0;
}

uint64_t
image_writer_size(const image_writer *w)
{
    return w->size;
}

static void
hex(const unsigned char *d, unsigned n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (unsigned i = 0; i < n; i++) {
        out[2 * i] = digits[d[i] >> 4];
        out[2 * i + 1] = digits[d[i] & 15];
    }
    out[2 * n] = '\0';
}

int
image_writer_commit(image_writer *w, const char *dest, char md5[33], char sha512[129])
{
    int rc = writer_submit(w);
    stop_consumers(w);
    if (rc == 0)
        rc = w->write_err;
    if (rc == 0 && w->direct && ftruncate(w->fd, (off_t)w->size) < 0)
        rc = -errno;
    if (rc == 0 && fsync(w->fd) < 0)
        rc = -errno;
    if (rc == 0) {
        unsigned char d[EVP_MAX_MD_SIZE];
        unsigned n = 0;
        EVP_DigestFinal_ex(w->ctx[0], d, &n);
        hex(d, n, md5);
        EVP_DigestFinal_ex(w->ctx[1], d, &n);
        hex(d, n, sha512);
        if (rename(w->tmp_path, dest) < 0)
            rc = -errno;
    }
    if (rc < 0) {
        ms_error("image store: cannot store %s: %s", dest, strerror(-rc));
        unlink(w->tmp_path);
    } else {
        /* make the rename itself durable */
        char *dir = ms_strdup(dest);
        char *slash = strrchr(dir, '/');
        if (slash) {
            *slash = '\0';
            int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (dfd >= 0) {
                fsync(dfd);
                close(dfd);
            }
        }
        free(dir);
    }
    writer_free(w);
    return rc;
}

void
image_writer_discard(image_writer *w)
{
    if (!w)
        return;
    unlink(w->tmp_path);
    writer_free(w);
}

int
image_store_delete(const char *id)
{
    char *p = image_store_path(id);
    char *s = image_store_staging_path(id);
    int rc = 0;
    if (unlink(p) < 0 && errno != ENOENT)
        rc = -errno;
    if (unlink(s) < 0 && errno != ENOENT && rc == 0)
        rc = -errno;
    if (rc < 0)
        ms_warn("image=%s cannot delete image data: %s", id, strerror(-rc));
    free(p);
    free(s);
    return rc;
}

int
image_store_promote(const char *id)
{
    char *from = image_store_staging_path(id);
    char *to = image_store_path(id);
    int rc = rename(from, to) < 0 ? -errno : 0;
    if (rc < 0)
        ms_error("image=%s cannot move staged data into the store: %s", id, strerror(-rc));
    free(from);
    free(to);
    return rc;
}

void
image_store_sweep(void)
{
    char *tmp = ms_asprintf("%s/tmp", store_base());
    DIR *d = opendir(tmp);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (e->d_name[0] == '.')
                continue;
            char *p = ms_asprintf("%s/%s", tmp, e->d_name);
            if (unlink(p) == 0)
                ms_info("image store: removed interrupted upload %s", p);
            free(p);
        }
        closedir(d);
    }
    free(tmp);
}
