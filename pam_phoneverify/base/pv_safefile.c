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
#include <limits.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "base/pv_safefile.h"
#include "base/pv_util.h"

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
        pv_err_set(err, "%s: cannot open: %s", path, pv_strerror(e));
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
                           enum pv_file_rule rule, int executable, pv_err *err)
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

/* ---- walking a path from "/" ----------------------------------------- */

/* A directory we pass through: owned by root (or the effective user) and
 * not writable by group or others.  One exception: a root-owned sticky
 * directory such as /tmp, where only the owner of an entry can rename or
 * remove it; the entry taken from it must then be owned by root or the
 * effective user, which the next step checks. */
static int dir_passable(const char *shown, const struct stat *st, pv_err *err)
{
    struct stat relaxed = *st;

    if (st->st_uid == 0 && (st->st_mode & S_ISVTX))
        relaxed.st_mode &= (mode_t) ~(S_IWGRP | S_IWOTH);
    if (check_owner_mode(shown[0] ? shown : "/", &relaxed, PV_FILE_PUBLIC,
                         err) < 0) {
        errno = EPERM;
        return -1;
    }
    return 0;
}

static int owner_trusted(const struct stat *st)
{
    return st->st_uid == 0 || st->st_uid == geteuid();
}

struct walk {
    int dirfd;               /* the checked directory we are in */
    char shown[PATH_MAX];    /* its path, for messages */
    char rest[2 * PATH_MAX]; /* what is left to resolve */
    int links;               /* symbolic links followed so far */
};

static int walk_root(struct walk *w, pv_err *err)
{
    struct stat st;

    if (w->dirfd >= 0)
        close(w->dirfd);
    w->shown[0] = '\0';
    w->dirfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (w->dirfd < 0 || fstat(w->dirfd, &st) < 0) {
        open_error("/", errno, err);
        return -1;
    }
    return dir_passable("/", &st, err);
}

/* Replace the component just read (a symlink in a checked directory, so
 * only a trusted user can have put it there) by its target. */
static int walk_follow(struct walk *w, const char *comp, const char *after,
                       const struct stat *st, pv_err *err)
{
    char target[PATH_MAX], rest[sizeof(w->rest)];
    ssize_t n;

    if (!owner_trusted(st) || ++w->links > 40) {
        pv_err_set(err, "%s/%s: untrusted or too many symbolic links",
                   w->shown, comp);
        errno = !owner_trusted(st) ? EPERM : ELOOP;
        return -1;
    }
    n = readlinkat(w->dirfd, comp, target, sizeof(target) - 1);
    if (n <= 0) {
        open_error(comp, n < 0 ? errno : ENOENT, err);
        return -1;
    }
    target[n] = '\0';
    if (pv_snprintf(rest, sizeof(rest), "%s/%s", target, after) < 0) {
        pv_err_set(err, "%s/%s: path too long", w->shown, comp);
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(w->rest, rest, sizeof(rest));
    return target[0] == '/' ? walk_root(w, err) : 0;
}

/* Step into directory comp of the current one, already opened (O_PATH,
 * not followed) as fd with status st: check it; fd is taken over. */
static int walk_enter(struct walk *w, const char *comp, int fd,
                      const struct stat *st, pv_err *err)
{
    size_t n = strlen(w->shown);

    if (strcmp(comp, "..") == 0) {
        char *slash = strrchr(w->shown, '/');

        if (slash != NULL)
            *slash = '\0';
    } else if (pv_snprintf(w->shown + n, sizeof(w->shown) - n, "/%s", comp) <
               0) {
        w->shown[n] = '\0';
    }
    if (!S_ISDIR(st->st_mode)) {
        pv_err_set(err, "%s: is not a directory", w->shown);
        close(fd);
        errno = ENOTDIR;
        return -1;
    }
    if (dir_passable(w->shown, st, err) < 0) {
        close_keep_errno(fd);
        return -1;
    }
    close(w->dirfd);
    w->dirfd = fd;
    return 0;
}

/* comp of the current directory could not be opened or examined: say
 * which path, keeping errno. */
static void walk_failed(const struct walk *w, const char *comp, int fd,
                        pv_err *err)
{
    char shown[sizeof(w->shown) + NAME_MAX + 2];
    int e = errno;

    if (pv_snprintf(shown, sizeof(shown), "%s/%s", w->shown, comp) < 0)
        shown[0] = '\0';
    open_error(shown, e, err);
    if (fd >= 0)
        close(fd);
    errno = e;
}

/* Split off the first component of w->rest into comp; *after points at
 * what follows.  0 when it was the last component. */
static int walk_next(struct walk *w, char *comp, size_t size,
                     const char **after)
{
    char *p = w->rest, *slash;
    size_t n;

    while (*p == '/')
        p++;
    slash = strchr(p, '/');
    n = slash != NULL ? (size_t)(slash - p) : strlen(p);
    if (n >= size)
        n = size - 1; /* NAME_MAX is far below: openat reports it */
    memcpy(comp, p, n);
    comp[n] = '\0';
    *after = p + n;
    while (**after == '/')
        (*after)++;
    return **after != '\0';
}

/* Resolve every directory of path from "/" through descriptors, checking
 * each one; returns the descriptor of the last directory and leaves the
 * final component in last.  A relative path is taken from the working
 * directory, whose parents are walked too. */
static int walk_to_parent(const char *path, char *last, size_t last_size,
                          char *shown, pv_err *err)
{
    struct walk w;
    char comp[PATH_MAX];
    const char *after;

    w.dirfd = -1;
    w.links = 0;
    if (path[0] == '/') {
        if (pv_snprintf(w.rest, sizeof(w.rest), "%s", path) < 0)
            goto toolong;
    } else {
        char cwd[PATH_MAX];

        if (getcwd(cwd, sizeof(cwd)) == NULL ||
            pv_snprintf(w.rest, sizeof(w.rest), "%s/%s", cwd, path) < 0)
            goto toolong;
    }
    if (walk_root(&w, err) < 0)
        goto err;
    for (;;) {
        struct stat st;
        int more = walk_next(&w, comp, sizeof(comp), &after), fd;
        char rest[sizeof(w.rest)];

        if (!more) {
            if (pv_snprintf(last, last_size, "%s", comp[0] ? comp : ".") < 0)
                goto toolong;
            memcpy(shown, w.shown, sizeof(w.shown));
            return w.dirfd;
        }
        memmove(rest, after, strlen(after) + 1);
        memcpy(w.rest, rest, sizeof(rest));
        if (strcmp(comp, ".") == 0 || comp[0] == '\0')
            continue;
        /* one descriptor per component: what is checked is what is
         * entered */
        fd = openat(w.dirfd, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0 || fstat(fd, &st) < 0) {
            walk_failed(&w, comp, fd, err);
            goto err;
        }
        if (S_ISLNK(st.st_mode)) {
            close(fd);
            if (walk_follow(&w, comp, rest, &st, err) < 0)
                goto err;
            continue;
        }
        if (walk_enter(&w, comp, fd, &st, err) < 0)
            goto err;
    }
toolong:
    pv_err_set(err, "%.200s: path too long", path);
    errno = ENAMETOOLONG;
err:
    if (w.dirfd >= 0)
        close_keep_errno(w.dirfd);
    return -1;
}

/* Say which file a refused directory was the parent of. */
static void note_parent(const char *path, pv_err *err)
{
    char why[PV_ERR_MAX];
    int e = errno;

    if (err == NULL)
        return;
    memcpy(why, err->msg, sizeof(why));
    why[sizeof(why) - 1] = '\0';
    pv_err_set(err, "%.300s (a directory above %.150s)", why, path);
    errno = e;
}

/* Open path's final component with flags (O_NOFOLLOW always added) inside
 * its checked parent.  Error messages name the path as given. */
static int open_checked(const char *path, int flags, struct stat *st,
                        pv_err *err)
{
    char last[PATH_MAX], shown[PATH_MAX];
    int dirfd, fd;

    if (bad_path(path, err))
        return -1;
    dirfd = walk_to_parent(path, last, sizeof(last), shown, err);
    if (dirfd < 0) {
        if (errno == EPERM)
            note_parent(path, err);
        else if (errno != ENAMETOOLONG)
            open_error(path, errno, err); /* "does not exist" etc. */
        return -1;
    }
    fd = openat(dirfd, last, flags | O_NOFOLLOW | O_CLOEXEC);
    close_keep_errno(dirfd);
    if (fd < 0) {
        open_error(path, errno, err);
        return -1;
    }
    if (fstat(fd, st) < 0) {
        open_error(path, errno, err);
        close_keep_errno(fd);
        return -1;
    }
    return fd;
}

int pv_safe_open(const char *path, enum pv_file_rule rule, struct stat *st,
                 pv_err *err)
{
    struct stat sb;
    int fd = open_checked(path, O_RDONLY | O_NONBLOCK | O_NOCTTY, &sb, err);

    if (fd < 0)
        return -1;
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
static int open_path_checked(const char *path, struct stat *st, pv_err *err)
{
    return open_checked(path, O_PATH, st, err);
}

int pv_safe_open_exec(const char *path, pv_err *err)
{
    struct stat st;
    int fd = open_path_checked(path, &st, err);

    if (fd < 0)
        return -1;
    if (check_file_stat(path, &st, PV_FILE_PUBLIC, 1, err) < 0) {
        close_keep_errno(fd);
        return -1;
    }
    return fd;
}

int pv_safe_check(const char *path, enum pv_file_rule rule, int executable,
                  pv_err *err)
{
    struct stat st;
    int fd = open_path_checked(path, &st, err), rc;

    if (fd < 0)
        return -1;
    rc = check_file_stat(path, &st, rule, executable, err);
    close_keep_errno(fd);
    return rc;
}

int pv_safe_check_dir(const char *path, pv_err *err)
{
    struct stat st;
    int fd = open_path_checked(path, &st, err);

    if (fd < 0)
        return -1;
    close(fd);
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
        if (*len + 1 == *cap &&
            grow(buf, cap, *cap > limit / 2 ? limit : *cap * 2) < 0)
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

int pv_safe_read_fd(int fd, const char *path, size_t max, unsigned flags,
                    char **out, size_t *len, pv_err *err)
{
    struct stat st;
    char *buf = NULL;
    size_t cap = 0, n = 0;
    int r, e = 0;

    *out = NULL;
    if (len != NULL)
        *len = 0;
    if (fstat(fd, &st) != 0 || lseek(fd, 0, SEEK_SET) != 0) {
        e = errno;
        pv_err_set(err, "%s: cannot read: %s", path, pv_strerror(e));
        goto err;
    }
    if (st.st_size < 0 || (unsigned long long)st.st_size > max) {
        pv_err_set(err, "%s: is larger than %zu bytes", path, max);
        e = EFBIG;
        goto err;
    }
    r = read_all(fd, max, (size_t)st.st_size, &buf, &cap, &n);
    if (r < 0) {
        e = errno;
        pv_err_set(err, "%s: cannot read: %s", path, pv_strerror(e));
        goto err;
    }
    if (r > 0) {
        pv_err_set(err, "%s: is larger than %zu bytes", path, max);
        e = EFBIG;
        goto err;
    }
    if (!(flags & PV_READ_BINARY) && memchr(buf, '\0', n) != NULL) {
        pv_err_set(err, "%s: contains a NUL byte", path);
        e = EINVAL;
        goto err;
    }
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
    errno = e;
    return -1;
}

int pv_safe_read(const char *path, enum pv_file_rule rule, size_t max,
                 char **out, size_t *len, pv_err *err)
{
    struct stat st;
    int fd, r, e;

    *out = NULL;
    if (len != NULL)
        *len = 0;
    fd = pv_safe_open(path, rule, &st, err);
    if (fd < 0)
        return -1;
    r = pv_safe_read_fd(fd, path, max, 0, out, len, err);
    e = errno;
    close(fd);
    errno = e;
    return r;
}
