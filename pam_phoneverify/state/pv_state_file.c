/* pv_state_file.c - `state = file`: one record per user under state_dir.
 *
 * state_dir is opened once (O_DIRECTORY|O_NOFOLLOW) and checked; every
 * later access is an *at() call relative to that fd, so a path component
 * swapped after the check cannot redirect us.  Per user there are:
 *
 *   <name>        the record (pv_state.c text format), replaced by rename
 *   <name>.lock   held with flock(LOCK_EX) for the whole read-modify-write;
 *                 a separate file because rename swaps the record's inode
 *   <name>.tmp    the next record, written and fsync'ed before the rename
 *                 (so the record on disk is always a whole one, old or new)
 *
 * After the rename the directory is fsync'ed only when losing the update
 * in a crash would be unsafe (a failure or a lock recorded, or a field
 * this file does not know): a crash may undo a cleared failure count, a
 * remembered pending code or a pre-check grant, which only makes the
 * next login stricter or slower.  See needs_durable().
 *
 * <name> is "health" for provider entry health (PV_STATE_HEALTH_NAME),
 * else "u-" + the user name with every byte outside [A-Za-z0-9_-]
 * written as %XX, or "h-" + SHA-256 of the name when that would be too
 * long for a file name.  Neither form can contain '/' or '.', so no name
 * leaves the directory or collides with another user's .lock/.tmp. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "state/pv_state.h"
#include "state/pv_state_file.h"
#include "base/pv_util.h"

#define ENCODED_MAX 200 /* longest "u-..." name before hashing */
#define NAME_BUF 256    /* encoded name + ".lock" + NUL */

struct file_backend {
    int dirfd;
};

static const char *errtext(int e, char *buf, size_t size)
{
    /* GNU strerror_r: thread-safe, returns the text */
    return strerror_r(e, buf, size);
}

static int backend_dirfd(const pv_state *st)
{
    return ((const struct file_backend *)st->backend)->dirfd;
}

/* ---- user name -> file name -------------------------------------------- */

static int keep_byte(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '_' || c == '-';
}

/* 0 ok (out filled), 1 too long for ENCODED_MAX. */
static int escape_user(const char *user, char *out, size_t size)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 2, i;

    memcpy(out, "u-", 2);
    for (i = 0; user[i] != '\0'; i++) {
        unsigned char c = (unsigned char)user[i];

        if (o + 3 > ENCODED_MAX || o + 3 >= size)
            return 1;
        if (keep_byte(c)) {
            out[o++] = (char)c;
        } else {
            out[o++] = '%';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    out[o] = '\0';
    return 0;
}

static int encode_user(const char *user, char out[NAME_BUF], pv_err *err)
{
    size_t n = strnlen(user, PV_STATE_USER_MAX + 1);

    if (n == 0 || n > PV_STATE_USER_MAX) {
        pv_err_set(err, "state: user name is empty or longer than %d bytes",
                   PV_STATE_USER_MAX);
        return -1;
    }
    if (strcmp(user, PV_STATE_HEALTH_NAME) == 0) {
        memcpy(out, "health", sizeof "health"); /* no "u-" or "h-" name */
        return 0;
    }
    if (escape_user(user, out, NAME_BUF) == 0)
        return 0;
    memcpy(out, "h-", 2);
    pv_state_sha256_hex(user, n, out + 2);
    return 0;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* The user name of a record file: only the exact form escape_user writes
 * ("u-" + kept bytes and %XX of the others) is accepted; a .lock or .tmp
 * file, or a byte escaped that need not be, is no record name.  0 ok. */
static int decode_user(const char *file, char *user, size_t size)
{
    const char *p;
    size_t o = 0;

    if (strncmp(file, "u-", 2) != 0 || file[2] == '\0')
        return -1;
    for (p = file + 2; *p != '\0'; o++) {
        unsigned char c = (unsigned char)*p;

        if (o + 1 >= size)
            return -1;
        if (keep_byte(c)) {
            user[o] = (char)c;
            p++;
        } else if (c == '%' && hex_value(p[1]) >= 0 && hex_value(p[2]) >= 0) {
            c = (unsigned char)(hex_value(p[1]) * 16 + hex_value(p[2]));
            if (c == 0 || keep_byte(c))
                return -1; /* not the canonical form */
            user[o] = (char)c;
            p += 3;
        } else {
            return -1;
        }
    }
    user[o] = '\0';
    return 0;
}

static int sibling_name(const char *name, const char *suffix,
                        char out[NAME_BUF])
{
    int n = snprintf(out, NAME_BUF, "%s%s", name, suffix);

    return n < 0 || n >= NAME_BUF ? -1 : 0;
}

/* ---- ownership ---------------------------------------------------------- */

/* What this backend creates is owned by root:root (pam_phoneverify.conf(5),
 * state_dir).  A new file takes the creating process's effective group,
 * and under su or sudo (setuid root only) that is the calling user's:
 * records would be root:bob.  When the module does not run as root (tests,
 * a PAM client run by one user) the files stay that user's. */
static int own_as_root(int fd)
{
    uid_t uid = geteuid();

    return fchown(fd, uid, uid == 0 ? 0 : getegid());
}

/* ---- opening state_dir ------------------------------------------------- */

/* 1 when the directory was created now, 0 when it existed, -1 error. */
static int make_dir(const char *dir, pv_err *err)
{
    char eb[128];

    if (mkdir(dir, 0700) == 0)
        return 1;
    if (errno == EEXIST)
        return 0;
    if (errno == ENOENT)
        pv_err_set(err, "state_dir %s: parent directory does not exist", dir);
    else
        pv_err_set(err, "state_dir %s: cannot create: %s", dir,
                   errtext(errno, eb, sizeof eb));
    return -1;
}

static int dir_safe(int fd, const char *dir, pv_err *err)
{
    struct stat sb;
    char eb[128];

    if (fstat(fd, &sb) != 0) {
        pv_err_set(err, "state_dir %s: %s", dir,
                   errtext(errno, eb, sizeof eb));
        return -1;
    }
    if (!S_ISDIR(sb.st_mode)) {
        pv_err_set(err, "state_dir %s: not a directory", dir);
        return -1;
    }
    if (sb.st_uid != 0 && sb.st_uid != geteuid()) {
        pv_err_set(err, "state_dir %s: not owned by root", dir);
        return -1;
    }
    if (sb.st_mode & (S_IWGRP | S_IWOTH)) {
        pv_err_set(err, "state_dir %s: writable by group or others", dir);
        return -1;
    }
    return 0;
}

/* A state_dir created now: root:root and 0700 whatever the caller's
 * groups and umask. */
static int own_new_dir(int fd, const char *dir, pv_err *err)
{
    char eb[128];

    if (own_as_root(fd) == 0 && fchmod(fd, 0700) == 0)
        return 0;
    pv_err_set(err, "state_dir %s: cannot set owner and mode: %s", dir,
               errtext(errno, eb, sizeof eb));
    return -1;
}

static int open_dir(const char *dir, pv_err *err)
{
    char eb[128];
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

    if (fd < 0) {
        if (errno == ELOOP || errno == ENOTDIR)
            pv_err_set(err, "state_dir %s: a symlink or not a directory", dir);
        else
            pv_err_set(err, "state_dir %s: %s", dir,
                       errtext(errno, eb, sizeof eb));
        return -1;
    }
    if (dir_safe(fd, dir, err) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* ---- reading a record -------------------------------------------------- */

/* A state file we created ourselves: regular, ours, private. */
static int file_safe(int fd, const char *name, off_t max, pv_err *err)
{
    struct stat sb;
    char eb[128];

    if (fstat(fd, &sb) != 0) {
        pv_err_set(err, "state file %s: %s", name,
                   errtext(errno, eb, sizeof eb));
        return -1;
    }
    if (!S_ISREG(sb.st_mode) || sb.st_uid != geteuid() ||
        (sb.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
        pv_err_set(err,
                   "state file %s: not a private regular file owned "
                   "by this user; refused",
                   name);
        return -1;
    }
    /* larger than max: reported as corrupt by the caller, not refused */
    return sb.st_size > max ? 1 : 0;
}

/* Read up to PV_STATE_MAX_SIZE bytes; 0 ok, 1 larger, -1 I/O error. */
static int read_text(int fd, char *buf, size_t *len)
{
    size_t got = 0;

    for (;;) {
        ssize_t n = read(fd, buf + got, PV_STATE_MAX_SIZE + 1 - got);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            break;
        got += (size_t)n;
        if (got > PV_STATE_MAX_SIZE)
            return 1;
    }
    *len = got;
    return 0;
}

static void report_corrupt(pv_state *st, const char *name)
{
    /* the file name is already a safe encoding; the content is not shown */
    pv_logf(&st->logger, LOG_WARNING,
            "state record %s is corrupt; ignored "
            "(treated as empty)",
            name);
}

/* Parse the open record into rec; corrupt or oversized reads as empty. */
static int parse_fd(pv_state *st, int fd, const char *name,
                    pv_state_record *rec, pv_err *err)
{
    char eb[128];
    size_t len = 0;
    char *buf = malloc(PV_STATE_MAX_SIZE + 1);
    int rc;

    if (buf == NULL) {
        pv_err_set(err, "state: out of memory");
        return -1;
    }
    rc = read_text(fd, buf, &len);
    if (rc < 0)
        pv_err_set(err, "state file %s: read: %s", name,
                   errtext(errno, eb, sizeof eb));
    else if (rc > 0 || pv_state_record_parse(buf, len, rec) != 0)
        report_corrupt(st, name);
    pv_wipe(buf, PV_STATE_MAX_SIZE + 1);
    free(buf);
    return rc < 0 ? -1 : 0;
}

/* fd, or -1 when there is no record, or -2 with err set. */
static int open_record(pv_state *st, const char *name, pv_err *err)
{
    char eb[128];
    int fd = openat(backend_dirfd(st), name,
                    O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

    if (fd >= 0)
        return fd;
    if (errno == ENOENT)
        return -1;
    if (errno == ELOOP) {
        /* someone with write access to state_dir planted it: say so */
        pv_logf(&st->logger, LOG_ERR, "state record %s is a symlink; refused",
                name);
        pv_err_set(err, "state record %s is a symlink; refused", name);
    } else {
        pv_err_set(err, "state record %s: %s", name,
                   errtext(errno, eb, sizeof eb));
    }
    return -2;
}

/* rec cleared first; a missing record is empty.  0 ok, -1 err. */
static int load_record(pv_state *st, const char *name, pv_state_record *rec,
                       pv_err *err)
{
    int fd, rc;

    pv_state_record_clear(rec);
    fd = open_record(st, name, err);
    if (fd < 0)
        return fd == -1 ? 0 : -1;
    rc = file_safe(fd, name, PV_STATE_MAX_SIZE, err);
    if (rc > 0)
        report_corrupt(st, name);
    else if (rc == 0)
        rc = parse_fd(st, fd, name, rec, err);
    close(fd);
    return rc < 0 ? -1 : 0;
}

static int file_read(pv_state *st, const char *user, pv_state_record *rec,
                     pv_err *err)
{
    char name[NAME_BUF];

    if (encode_user(user, name, err) != 0)
        return -1;
    return load_record(st, name, rec, err);
}

/* ---- locking ----------------------------------------------------------- */

static int take_lock(pv_state *st, const char *lockname, pv_err *err)
{
    char eb[128];
    int fd = openat(backend_dirfd(st), lockname,
                    O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY |
                        O_NONBLOCK,
                    0600);

    if (fd < 0) {
        pv_err_set(err, "state lock %s: %s", lockname,
                   errno == ELOOP ? "is a symlink; refused"
                                  : errtext(errno, eb, sizeof eb));
        return -1;
    }
    if (file_safe(fd, lockname, PV_STATE_MAX_SIZE, err) < 0) {
        close(fd);
        return -1;
    }
    /* root:root even when an older version created it with the
     * caller's group */
    if (own_as_root(fd) != 0) {
        pv_err_set(err, "state lock %s: cannot set owner: %s", lockname,
                   errtext(errno, eb, sizeof eb));
        close(fd);
        return -1;
    }
    if (pv_flock_until(fd, pv_monotonic_ms() + st->lock_wait_ms, 16) != 0) {
        if (errno == ETIMEDOUT)
            pv_err_set(err,
                       "state lock %s: still held after %ld ms; giving "
                       "up",
                       lockname, st->lock_wait_ms);
        else
            pv_err_set(err, "state lock %s: %s", lockname,
                       errtext(errno, eb, sizeof eb));
        close(fd);
        return -1;
    }
    return fd;
}

/* ---- writing a record -------------------------------------------------- */

static int write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int write_tmp(int dirfd, const char *tmp, const char *text, size_t len,
                     pv_err *err)
{
    char eb[128];
    int fd, rc;

    /* a .tmp left by a crashed writer: we hold the lock, so it is stale */
    if (unlinkat(dirfd, tmp, 0) != 0 && errno != ENOENT)
        goto fail;
    fd = openat(
        dirfd, tmp,
        O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
    if (fd < 0)
        goto fail;
    /* fchmod: the umask must not decide who can read the next record;
     * own_as_root: nor the caller's group who owns it */
    rc = fchmod(fd, 0600) == 0 && own_as_root(fd) == 0 &&
                 write_all(fd, text, len) == 0 && fsync(fd) == 0
             ? 0
             : -1;
    if (close(fd) != 0)
        rc = -1;
    if (rc == 0)
        return 0;
fail:
    pv_err_set(err, "state file %s: write: %s", tmp,
               errtext(errno, eb, sizeof eb));
    (void)unlinkat(dirfd, tmp, 0);
    return -1;
}

/* 1 when new holds every failure of old, in order (it may have dropped
 * some: expired ones, or all of them on success). */
static int failures_dropped_only(const pv_state_record *old,
                                 const pv_state_record *rec)
{
    size_t i = 0, j = 0;

    if (rec->n_failures > old->n_failures)
        return 0;
    for (; i < rec->n_failures; i++) {
        while (j < old->n_failures && old->failures[j] != rec->failures[i])
            j++;
        if (j == old->n_failures)
            return 0;
        j++;
    }
    return 1;
}

static int same_text(const pv_state_record *a, const pv_state_record *b)
{
    char *ta = NULL, *tb = NULL;
    size_t la = 0, lb = 0;
    int same = pv_state_record_format(a, &ta, &la) == 0 &&
               pv_state_record_format(b, &tb, &lb) == 0 && la == lb &&
               memcmp(ta, tb, la) == 0;

    if (ta) {
        pv_wipe(ta, la);
        free(ta);
    }
    if (tb) {
        pv_wipe(tb, lb);
        free(tb);
    }
    return same;
}

/* Whether the update old -> rec must survive a crash (directory fsync
 * after the rename).  Safe to lose, because the record rolls back to old:
 * failures or a lock taken away (the user stays stricter a while), the
 * pending code (a new one is sent), the pre-check grant (the check
 * runs again), the last send (resend_wait then counts from now) and the
 * grace grants (the next login asks for a code).  Everything else - a failure or lock added, any change
 * in a field not named here - is durable: a recorded failure must not
 * vanish in a crash, or crashes would buy guesses. */
static int needs_durable(const pv_state_record *old,
                         const pv_state_record *rec)
{
    pv_state_record *probe;
    int durable;

    if (!failures_dropped_only(old, rec) ||
        rec->locked_until > old->locked_until)
        return 1;
    probe = malloc(sizeof *probe);
    if (probe == NULL)
        return 1;
    /* rec with the fields that may roll back put back to old's: if that
     * equals old, nothing else changed */
    *probe = *rec;
    memcpy(probe->failures, old->failures, sizeof probe->failures);
    probe->n_failures = old->n_failures;
    probe->locked_until = old->locked_until;
    memcpy(probe->pending_id, old->pending_id, sizeof probe->pending_id);
    memcpy(probe->pending_to, old->pending_to, sizeof probe->pending_to);
    probe->pending_expires = old->pending_expires;
    memcpy(probe->precheck_key, old->precheck_key, sizeof probe->precheck_key);
    probe->precheck_until = old->precheck_until;
    probe->last_sent = old->last_sent;
    memcpy(probe->grant_keys, old->grant_keys, sizeof probe->grant_keys);
    memcpy(probe->grant_until, old->grant_until, sizeof probe->grant_until);
    memcpy(probe->grant_at, old->grant_at, sizeof probe->grant_at);
    probe->n_grants = old->n_grants;
    durable = !same_text(probe, old);
    pv_state_record_clear(probe);
    free(probe);
    return durable;
}

static int store_record(int dirfd, const char *name, const char *tmp,
                        const pv_state_record *rec, int durable, pv_err *err)
{
    char eb[128];
    char *text;
    size_t len;
    int rc;

    if (pv_state_record_format(rec, &text, &len) != 0) {
        pv_err_set(err,
                   "state record %s: cannot serialise (invalid field "
                   "or out of memory)",
                   name);
        return -1;
    }
    rc = write_tmp(dirfd, tmp, text, len, err);
    pv_wipe(text, len);
    free(text);
    if (rc != 0)
        return -1;
    if (renameat(dirfd, tmp, dirfd, name) != 0) {
        pv_err_set(err, "state record %s: rename: %s", name,
                   errtext(errno, eb, sizeof eb));
        (void)unlinkat(dirfd, tmp, 0);
        return -1;
    }
    /* make the rename itself durable before the lock is released */
    if (durable && fsync(dirfd) != 0) {
        pv_err_set(err, "state_dir: fsync: %s", errtext(errno, eb, sizeof eb));
        return -1;
    }
    return 0;
}

/* ---- update ------------------------------------------------------------ */

static int update_locked(pv_state *st, const char *name, pv_state_update_fn fn,
                         void *ctx, pv_err *err)
{
    char tmp[NAME_BUF];
    pv_state_record rec, old;
    int rc, r;

    if (sibling_name(name, ".tmp", tmp) != 0) {
        pv_err_set(err, "state: file name too long");
        return -1;
    }
    if (load_record(st, name, &rec, err) != 0)
        return -1;
    old = rec;
    r = fn(&rec, ctx);
    if (r == 0) {
        rc = store_record(backend_dirfd(st), name, tmp, &rec,
                          needs_durable(&old, &rec), err);
    } else if (r == 1) {
        rc = 0;
    } else {
        if (err != NULL && err->msg[0] == '\0')
            pv_err_set(err, "state update of %s aborted", name);
        rc = -1;
    }
    pv_state_record_clear(&rec);
    pv_state_record_clear(&old);
    return rc;
}

static int file_update(pv_state *st, const char *user, pv_state_update_fn fn,
                       void *ctx, pv_err *err)
{
    char name[NAME_BUF], lockname[NAME_BUF];
    int lockfd, rc;

    if (encode_user(user, name, err) != 0)
        return -1;
    if (sibling_name(name, ".lock", lockname) != 0) {
        pv_err_set(err, "state: file name too long");
        return -1;
    }
    lockfd = take_lock(st, lockname, err);
    if (lockfd < 0)
        return -1;
    rc = update_locked(st, name, fn, ctx, err);
    /* closing the only fd releases the flock */
    close(lockfd);
    return rc;
}

/* ---- open / close ------------------------------------------------------ */

/* "h-" + hash, no suffix: a record whose name cannot be given back. */
static int hashed_record(const char *file)
{
    return strncmp(file, "h-", 2) == 0 && strchr(file, '.') == NULL;
}

static int file_list(pv_state *st, pv_state_list_fn fn, void *ctx,
                     size_t *unnamed, pv_err *err)
{
    int fd =
        openat(backend_dirfd(st), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    char user[PV_STATE_USER_MAX + 1], ebuf[64];
    struct dirent *e;
    DIR *d;
    int rc = 0;

    d = fd >= 0 ? fdopendir(fd) : NULL;
    if (d == NULL) {
        pv_err_set(err, "state directory: %s",
                   errtext(errno, ebuf, sizeof ebuf));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    while (rc == 0 && (e = readdir(d)) != NULL) {
        if (hashed_record(e->d_name))
            (*unnamed)++;
        else if (decode_user(e->d_name, user, sizeof user) == 0)
            rc = fn(user, ctx) != 0 ? -1 : 0;
    }
    closedir(d);
    return rc;
}

static void file_close(pv_state *st)
{
    struct file_backend *fb = st->backend;

    if (fb == NULL)
        return;
    if (fb->dirfd >= 0)
        close(fb->dirfd);
    free(fb);
    st->backend = NULL;
}

static const struct pv_state_ops file_ops = {
    .read = file_read,
    .update = file_update,
    .list = file_list,
    .close = file_close,
};

int pv_state_file_open(const char *dir, pv_state **out, pv_err *err)
{
    struct file_backend *fb;
    pv_state *st;
    int fd, created;

    if (out == NULL || dir == NULL || dir[0] != '/') {
        pv_err_set(err, "state_dir must be an absolute path");
        return -1;
    }
    *out = NULL;
    created = make_dir(dir, err);
    if (created < 0)
        return -1;
    fd = open_dir(dir, err);
    if (fd < 0)
        return -1;
    if (created && own_new_dir(fd, dir, err) != 0) {
        close(fd);
        return -1;
    }
    st = calloc(1, sizeof *st);
    fb = calloc(1, sizeof *fb);
    if (st == NULL || fb == NULL) {
        pv_err_set(err, "state: out of memory");
        free(st);
        free(fb);
        close(fd);
        return -1;
    }
    fb->dirfd = fd;
    st->ops = &file_ops;
    st->backend = fb;
    *out = st;
    return 0;
}
