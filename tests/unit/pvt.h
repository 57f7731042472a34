/* pvt.h - helpers shared by the unit tests (header only, static inline).
 *
 * Include after <cmocka.h> (the helpers assert with it).  Nothing here is
 * product code: files, descriptors, a clock the test moves and a logger
 * that keeps what it is told. */
#ifndef PVT_H
#define PVT_H

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

/* len bytes of data into name (relative to dirfd; AT_FDCWD for a plain
 * path), created or truncated, then given mode (fchmod: the umask does
 * not apply). */
static inline void pvt_write_at(int dirfd, const char *name, const void *data,
                                size_t len, mode_t mode)
{
    int fd =
        openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    assert_int_equal(fchmod(fd, mode), 0);
    assert_int_equal(close(fd), 0);
}

/* The text into path, then mode. */
static inline void pvt_write_file(const char *path, const char *text,
                                  mode_t mode)
{
    pvt_write_at(AT_FDCWD, path, text, strlen(text), mode);
}

/* 1 in the valgrind pass (mk/sanitize.mk sets PV_TEST_UNDER_VALGRIND):
 * what the kernel does at exec (valgrind runs a child's exec itself) and
 * how long something takes are checked in the plain and ASan passes. */
static inline int pvt_under_valgrind(void)
{
    const char *v = getenv("PV_TEST_UNDER_VALGRIND");

    return v != NULL && v[0] == '1';
}

/* Open descriptors of this process (the directory stream's own included:
 * compare two counts, a leak shows as a difference). */
static inline int pvt_count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    int n = 0;

    assert_non_null(d);
    while ((e = readdir(d)) != NULL)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

/* A clock the test moves (pv_clock's now and sleep_ms, ctx a pvt_clock):
 * sleeping moves it forward by whole seconds, or not at all when stuck. */
typedef struct pvt_clock {
    time_t now;
    long naps;
    unsigned slept_ms;
    int stuck;
} pvt_clock;

static inline time_t pvt_fake_now(void *ctx)
{
    return ((pvt_clock *)ctx)->now;
}

static inline void pvt_fake_sleep(void *ctx, unsigned ms)
{
    pvt_clock *c = ctx;

    c->naps++;
    c->slept_ms += ms;
    if (!c->stuck)
        c->now += (time_t)(ms / 1000);
}

/* A logger (pv_logger's log, ctx a pvt_logcap) keeping the count, the
 * last line and its priority, and every line (truncated at the end of
 * all); PV_TEST_VERBOSE also prints them. */
typedef struct pvt_logcap {
    int count;
    int prio;
    char last[512];
    char all[4096];
} pvt_logcap;

static inline void pvt_capture_log(void *ctx, int prio, const char *msg)
{
    pvt_logcap *lc = ctx;
    size_t n = strlen(lc->all);

    if (getenv("PV_TEST_VERBOSE") != NULL)
        fprintf(stderr, "log: %s\n", msg);
    lc->count++;
    lc->prio = prio;
    snprintf(lc->last, sizeof(lc->last), "%s", msg);
    snprintf(lc->all + n, sizeof(lc->all) - n, "%s\n", msg);
}

#endif
