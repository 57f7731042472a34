/* pv_users_edit.c - replace one user's line of the users file atomically,
 * and the locked, owner-keeping replace it shares with the break-glass
 * file (see pv_users_edit.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "identity/pv_lookup.h"
#include "identity/pv_phone.h"
#include "base/pv_safefile.h"
#include "identity/pv_users_edit.h"
#include "base/pv_util.h"

/* Text that can stand in a ':'-separated field of one line. */
static int field_ok(const char *s, size_t max)
{
    size_t n = strnlen(s, max + 1), i;

    if (n > max)
        return 0;
    for (i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f || s[i] == ':')
            return 0;
    return 1;
}

static int validate(const char *user, const char *phone, const char *name,
                    const char *email, pv_phone *p, pv_err *err)
{
    if (!pv_user_name_valid(user) || user[0] == '#' ||
        strpbrk(user, " \t") != NULL) {
        pv_err_set(err,
                   "invalid user name (it must not be empty, start "
                   "with '-' or '#', or contain ':', '/', blanks or control "
                   "characters)");
        return -1;
    }
    if (pv_phone_parse(phone, p) != 0) {
        pv_err_set(err, "'%s' is not an E.164 number such as +8613800138000",
                   phone);
        return -1;
    }
    if (!field_ok(name, PV_NAME_MAX)) {
        pv_err_set(err, "the name must not contain ':' or control characters");
        return -1;
    }
    /* ':' is the field separator: an address holding one would make the
     * line unreadable (pv_users_find refuses a fifth field). */
    if (email[0] != '\0' &&
        (!pv_email_valid(email) || strchr(email, ':') != NULL)) {
        pv_err_set(err, "'%s' is not a valid e-mail address", email);
        return -1;
    }
    return 0;
}

static int blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

/* Whether the line p[0..n) is user's, by the rule pv_users_find reads it
 * with: the first ':'-separated field, blanks trimmed, equals user. */
static int line_is_users(const char *p, size_t n, const char *user)
{
    const char *end = p + n, *colon;

    while (p < end && blank(*p))
        p++;
    if (p == end || *p == '#' ||
        (colon = memchr(p, ':', (size_t)(end - p))) == NULL)
        return 0;
    while (colon > p && blank(colon[-1]))
        colon--;
    return (size_t)(colon - p) == strlen(user) &&
           memcmp(p, user, (size_t)(colon - p)) == 0;
}

/* The existing text with user's first line replaced by line (or line
 * appended when there is none) and any further lines of user dropped:
 * other lines, comments and their order are kept. */
static char *rebuild(const char *old, const char *user, const char *line)
{
    size_t cap = strlen(old) + strlen(line) + 2, o = 0, llen = strlen(line);
    char *out = malloc(cap);
    const char *p = old;
    int placed = 0;

    if (out == NULL)
        return NULL;
    while (*p != '\0') {
        const char *eol = strchr(p, '\n');
        size_t n = eol ? (size_t)(eol - p) + 1 : strlen(p);

        if (!line_is_users(p, eol ? n - 1 : n, user)) {
            memcpy(out + o, p, n);
            o += n;
            if (eol == NULL)
                out[o++] = '\n';
        } else if (!placed) {
            memcpy(out + o, line, llen);
            o += llen;
            placed = 1;
        }
        p += n;
    }
    if (!placed) {
        memcpy(out + o, line, llen);
        o += llen;
    }
    out[o] = '\0';
    return out;
}

/* ---- locked, owner-keeping replace (users file, break-glass file) ---- */

#define EDIT_POLL_MAX_MS 50
#define EDIT_LOCK_TRIES 50
#define USERS_LOCK_WAIT_MS 30000

int pv_edit_lock(const char *path, enum pv_file_rule rule, long wait_ms,
                 struct stat *st, pv_err *err)
{
    int64_t deadline = pv_monotonic_ms() + wait_ms;
    int tries;

    for (tries = 0; tries < EDIT_LOCK_TRIES; tries++) {
        struct stat now;
        int fd = pv_safe_open(path, rule, st, err), e;

        if (fd < 0)
            return -1;
        if (pv_flock_until(fd, deadline, EDIT_POLL_MAX_MS) != 0) {
            e = errno;
            pv_err_set(err, "%s: %s", path,
                       e == ETIMEDOUT
                           ? "still locked by another update; giving up"
                           : pv_strerror(e));
            close(fd);
            errno = e;
            return -1;
        }
        /* replaced while we waited: lock the file that is there now */
        if (lstat(path, &now) == 0 && now.st_ino == st->st_ino &&
            now.st_dev == st->st_dev)
            return fd;
        close(fd);
    }
    pv_err_set(err, "%s: replaced too often while waiting for its lock", path);
    errno = EAGAIN;
    return -1;
}

/* Make the rename durable: fsync the directory holding path. */
static void sync_dir(const char *path)
{
    char dir[4096];
    char *slash;
    int fd;

    if (pv_strlcpy(dir, path, sizeof(dir)) != 0 ||
        (slash = strrchr(dir, '/')) == NULL)
        return;
    if (slash == dir)
        slash[1] = '\0';
    else
        *slash = '\0';
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

static int write_all(int fd, const char *text, size_t len)
{
    size_t off = 0;

    while (off < len) {
        ssize_t w = write(fd, text + off, len - off);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        off += (size_t)w;
    }
    return 0;
}

int pv_edit_replace(const char *path, const char *text, size_t len,
                    const struct stat *like, pv_err *err)
{
    char tmp[4096];
    int fd;

    if (pv_snprintf(tmp, sizeof(tmp), "%s.tmpXXXXXX", path) < 0 ||
        (fd = mkostemp(tmp, O_CLOEXEC)) < 0) {
        pv_err_set(err, "%s: cannot create a temporary file: %s", path,
                   pv_strerror(errno));
        return -1;
    }
    /* owner first: fchown may clear set-id bits that fchmod then sets */
    if (fchown(fd, like->st_uid, like->st_gid) != 0 ||
        fchmod(fd, like->st_mode & 07777) != 0 ||
        write_all(fd, text, len) != 0 || fsync(fd) != 0)
        goto fail;
    if (close(fd) != 0) {
        fd = -1;
        goto fail;
    }
    fd = -1;
    if (rename(tmp, path) != 0)
        goto fail;
    sync_dir(path);
    return 0;
fail:
    pv_err_set(err, "%s: cannot write: %s", path, pv_strerror(errno));
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    return -1;
}

int pv_edit_create(const char *path, mode_t mode, pv_err *err)
{
    int fd = open(
        path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC,
        mode);

    if (fd < 0) {
        if (errno == EEXIST)
            return 0;
        pv_err_set(err, "%s: cannot create: %s", path, pv_strerror(errno));
        return -1;
    }
    (void)fchmod(fd, mode); /* whatever the umask */
    close(fd);
    return 0;
}

/* ---- the users file --------------------------------------------------- */

static int format_line(char *line, size_t size, const char *user,
                       const pv_phone *p, const char *name, const char *email)
{
    if (email[0] != '\0')
        return pv_snprintf(line, size, "%s:%s:%s:%s\n", user, p->e164, name,
                           email);
    if (name[0] != '\0')
        return pv_snprintf(line, size, "%s:%s:%s\n", user, p->e164, name);
    return pv_snprintf(line, size, "%s:%s\n", user, p->e164);
}

int pv_users_set(const char *path, const char *user, const char *phone,
                 const char *name, const char *email, pv_err *err)
{
    char line[1024];
    char *old = NULL, *text = NULL;
    size_t len = 0;
    struct stat st;
    pv_phone p;
    int fd = -1, rc = -1;

    if (validate(user, phone, name, email, &p, err) != 0)
        return -1;
    if (format_line(line, sizeof(line), user, &p, name, email) < 0) {
        pv_err_set(err, "line too long");
        return -1;
    }
    if (pv_edit_create(path, 0644, err) != 0)
        return -1;
    fd = pv_edit_lock(path, PV_FILE_PUBLIC, USERS_LOCK_WAIT_MS, &st, err);
    if (fd < 0 ||
        pv_safe_read_fd(fd, path, PV_USERS_MAX_SIZE, 0, &old, &len, err) != 0)
        goto out;
    text = rebuild(old, user, line);
    if (text == NULL) {
        pv_err_set(err, "out of memory");
        goto out;
    }
    rc = pv_edit_replace(path, text, strlen(text), &st, err);
out:
    if (fd >= 0)
        close(fd); /* releases the lock */
    free(old);
    free(text);
    return rc;
}
