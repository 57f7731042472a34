/* pv_safefile.c - opening files the module trusts (see pv_safefile.h).
 *
 * Every check works on a file descriptor (fstat), never on a name looked up
 * twice, so the object checked is the object read.  Symbolic links are
 * refused outright (O_NOFOLLOW), FIFOs and devices cannot block the open
 * (O_NONBLOCK) and are then refused by the "regular file" rule.
 *
 * On failure errno describes the cause (ENOENT: the file does not exist;
 * EPERM: it exists but fails an ownership/mode/type rule; EFBIG: too large;
 * EINVAL: contains a NUL byte), so a caller may tell "absent" from
 * "unsafe". */
#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "pv_safefile.h"
#include "pv_util.h"

#define PV_SAFE_READ_MIN 256

/* Describe a file type for "PATH: is ..." messages. */
static const char *type_name(mode_t mode)
{
    if (S_ISDIR(mode))
        return "a directory, not a regular file";
    if (S_ISLNK(mode))
        return "a symbolic link (refused)";
    if (S_ISFIFO(mode))
        return "a FIFO, not a regular file";
    if (S_ISSOCK(mode))
        return "a socket, not a regular file";
    if (S_ISCHR(mode) || S_ISBLK(mode))
        return "a device, not a regular file";
    return "not a regular file";
}

/* Set err from a failed open(2)/fstat(2) of path; keeps errno. */
static void open_error(const char *path, int e, pv_err *err)
{
    if (e == ENOENT)
        pv_err_set(err, "%s: does not exist", path);
    else if (e == ELOOP)
        pv_err_set(err, "%s: is a symbolic link (refused)", path);
    else if (e == EACCES)
        pv_err_set(err, "%s: permission denied", path);
    else if (e == ENOTDIR)
        pv_err_set(err, "%s: a component of the path is not a directory",
                   path);
    else
        pv_err_set(err, "%s: cannot open: %s", path, strerror(e));
    errno = e;
}

/* The ownership and mode rules shared by files and directories. */
static int check_owner_mode(const char *path, const struct stat *st,
                            enum pv_file_rule rule, pv_err *err)
{
    uid_t euid = geteuid();

    if (st->st_uid != 0 && st->st_uid != euid) {
        if (euid == 0)
            pv_err_set(err, "%s: is owned by uid %lu, not by root", path,
                       (unsigned long)st->st_uid);
        else
            pv_err_set(err, "%s: is owned by uid %lu, not by root or uid %lu",
                       path, (unsigned long)st->st_uid, (unsigned long)euid);
        return -1;
    }
    if (st->st_mode & (S_IWGRP | S_IWOTH)) {
        pv_err_set(err, "%s: is writable by group or others", path);
        return -1;
    }
    if (rule == PV_FILE_SECRET && (st->st_mode & S_IROTH)) {
        pv_err_set(err, "%s: is readable by others (it may hold secrets)",
                   path);
        return -1;
    }
    return 0;
}

/* Every rule for a file: regular, owner, mode, and optionally executable.
 * Sets errno to EPERM on a refusal. */
static int check_file_stat(const char *path, const struct stat *st,
                           enum pv_file_rule rule, int executable,
                           pv_err *err)
{
    if (!S_ISREG(st->st_mode)) {
        pv_err_set(err, "%s: is %s", path, type_name(st->st_mode));
        errno = EPERM;
        return -1;
    }
    if (check_owner_mode(path, st, rule, err) < 0) {
        errno = EPERM;
        return -1;
    }
    if (executable && !(st->st_mode & S_IXUSR)) {
        pv_err_set(err, "%s: is not executable", path);
        errno = EPERM;
        return -1;
    }
    return 0;
}

static int bad_path(const char *path, pv_err *err)
{
    if (path == NULL || path[0] == '\0') {
        pv_err_set(err, "empty file name");
        errno = EINVAL;
        return 1;
    }
    return 0;
}

/* close(2) without disturbing errno (error paths report the first cause). */
static void close_keep_errno(int fd)
{
    int e = errno;

    close(fd);
    errno = e;
}

int pv_safe_open(const char *path, enum pv_file_rule rule, struct stat *st,
                 pv_err *err)
{
    struct stat sb;
    int fd;

    if (bad_path(path, err))
        return -1;
    fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        open_error(path, errno, err);
        return -1;
    }
    if (fstat(fd, &sb) < 0) {
        open_error(path, errno, err);
        goto err;
    }
    if (check_file_stat(path, &sb, rule, 0, err) < 0)
        goto err;
    if (st != NULL)
        *st = sb;
    return fd;
err:
    close_keep_errno(fd);
    return -1;
}

/* O_PATH|O_NOFOLLOW opens the name itself without reading it and without
 * following a final symlink (the fd then refers to the link, which fstat
 * reports as S_IFLNK), and does not block on a FIFO. */
static int stat_nofollow(const char *path, struct stat *st, pv_err *err)
{
    int fd;

    if (bad_path(path, err))
        return -1;
    fd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        open_error(path, errno, err);
        return -1;
    }
    if (fstat(fd, st) < 0) {
        open_error(path, errno, err);
        close_keep_errno(fd);
        return -1;
    }
    close(fd);
    return 0;
}

int pv_safe_check(const char *path, enum pv_file_rule rule, int executable,
                  pv_err *err)
{
    struct stat st;

    if (stat_nofollow(path, &st, err) < 0)
        return -1;
    return check_file_stat(path, &st, rule, executable, err);
}

int pv_safe_check_dir(const char *path, pv_err *err)
{
    struct stat st;

    if (stat_nofollow(path, &st, err) < 0)
        return -1;
    if (S_ISLNK(st.st_mode)) {
        pv_err_set(err, "%s: is a symbolic link (refused)", path);
        errno = EPERM;
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        pv_err_set(err, "%s: is not a directory", path);
        errno = ENOTDIR;
        return -1;
    }
    if (check_owner_mode(path, &st, PV_FILE_PUBLIC, err) < 0) {
        errno = EPERM;
        return -1;
    }
    return 0;
}

/* Grow *buf (capacity *cap) to newcap, wiping the old copy. */
static int grow(char **buf, size_t *cap, size_t newcap)
{
    char *n = malloc(newcap);

    if (n == NULL)
        return -1;
    memcpy(n, *buf, *cap);
    pv_wipe(*buf, *cap);
    free(*buf);
    *buf = n;
    *cap = newcap;
    return 0;
}

/* Read fd to EOF into *buf (capacity *cap, always room for a final NUL),
 * starting from a capacity for hint bytes.  Stops as soon as more than max
 * bytes arrived, whatever fstat said the size was (the file may grow).
 * 0 ok, 1 too large, -1 read error or ENOMEM (errno set). */
static int read_all(int fd, size_t max, size_t hint, char **buf, size_t *cap,
                    size_t *len)
{
    /* max + 1 data bytes (to see "too large") and the NUL */
    size_t limit = max > SIZE_MAX - 2 ? SIZE_MAX : max + 2;

    *cap = hint < PV_SAFE_READ_MIN ? PV_SAFE_READ_MIN : hint + 1;
    if (*cap > limit)
        *cap = limit;
    *buf = malloc(*cap);
    if (*buf == NULL)
        return -1;
    *len = 0;
    for (;;) {
        ssize_t n;

        if (*len > max)
            return 1;
        /* full: cap < limit here, since len + 1 == limit means len > max */
        if (*len + 1 == *cap
            && grow(buf, cap, *cap > limit / 2 ? limit : *cap * 2) < 0)
            return -1;
        n = read(fd, *buf + *len, *cap - 1 - *len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            return 0;
        *len += (size_t)n;
    }
}

int pv_safe_read(const char *path, enum pv_file_rule rule, size_t max,
                 char **out, size_t *len, pv_err *err)
{
    struct stat st;
    char *buf = NULL;
    size_t cap = 0, n = 0;
    int fd, r, e = 0;

    *out = NULL;
    if (len != NULL)
        *len = 0;
    fd = pv_safe_open(path, rule, &st, err);
    if (fd < 0)
        return -1;
    if (st.st_size < 0 || (unsigned long long)st.st_size > max) {
        pv_err_set(err, "%s: is larger than %zu bytes", path, max);
        e = EFBIG;
        goto err;
    }
    r = read_all(fd, max, (size_t)st.st_size, &buf, &cap, &n);
    if (r < 0) {
        e = errno;
        pv_err_set(err, "%s: cannot read: %s", path, strerror(e));
        goto err;
    }
    if (r > 0) {
        pv_err_set(err, "%s: is larger than %zu bytes", path, max);
        e = EFBIG;
        goto err;
    }
    if (memchr(buf, '\0', n) != NULL) {
        pv_err_set(err, "%s: contains a NUL byte", path);
        e = EINVAL;
        goto err;
    }
    close(fd);
    buf[n] = '\0';
    *out = buf;
    if (len != NULL)
        *len = n;
    return 0;
err:
    if (buf != NULL) {
        pv_wipe(buf, cap);
        free(buf);
    }
    close(fd);
    errno = e;
    return -1;
}
