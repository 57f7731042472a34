/* pv_users_edit.c - replace one user's line of the users file atomically. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "pv_lookup.h"
#include "pv_phone.h"
#include "pv_safefile.h"
#include "pv_users_edit.h"
#include "pv_util.h"

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
        pv_err_set(err, "invalid user name (it must not be empty, start "
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
    if (p == end || *p == '#' || (colon = memchr(p, ':', (size_t)(end - p)))
                                     == NULL)
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

static int write_atomically(const char *path, const char *text, pv_err *err)
{
    char tmp[4096];
    size_t len = strlen(text), off = 0;
    int fd;

    if (pv_snprintf(tmp, sizeof(tmp), "%s.tmpXXXXXX", path) < 0 ||
        (fd = mkostemp(tmp, O_CLOEXEC)) < 0) {
        pv_err_set(err, "%s: cannot create a temporary file: %s", path,
                   strerror(errno));
        return -1;
    }
    if (fchmod(fd, 0644) != 0)
        goto fail;
    while (off < len) {
        ssize_t w = write(fd, text + off, len - off);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            goto fail;
        off += (size_t)w;
    }
    if (fsync(fd) != 0)
        goto fail;
    close(fd);
    fd = -1;
    if (rename(tmp, path) != 0)
        goto fail;
    sync_dir(path);
    return 0;
fail:
    pv_err_set(err, "%s: cannot write: %s", path, strerror(errno));
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    return -1;
}

int pv_users_set(const char *path, const char *user, const char *phone,
                 const char *name, const char *email, pv_err *err)
{
    char line[1024];
    char *old = NULL, *text = NULL;
    size_t len = 0;
    pv_phone p;
    int rc = -1;

    if (validate(user, phone, name, email, &p, err) != 0)
        return -1;
    if (access(path, F_OK) != 0 && errno == ENOENT)
        old = strdup("");
    else if (pv_safe_read(path, PV_FILE_PUBLIC, PV_USERS_MAX_SIZE, &old, &len,
                          err) != 0)
        return -1;
    if (old == NULL ||
        (email[0] != '\0'
             ? pv_snprintf(line, sizeof(line), "%s:%s:%s:%s\n", user, p.e164,
                           name, email)
             : name[0] != '\0'
                   ? pv_snprintf(line, sizeof(line), "%s:%s:%s\n", user,
                                 p.e164, name)
                   : pv_snprintf(line, sizeof(line), "%s:%s\n", user,
                                 p.e164)) < 0 ||
        (text = rebuild(old, user, line)) == NULL) {
        pv_err_set(err, "out of memory or line too long");
        goto out;
    }
    rc = write_atomically(path, text, err);
out:
    free(old);
    free(text);
    return rc;
}
