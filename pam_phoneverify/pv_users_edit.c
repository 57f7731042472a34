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
    if (!pv_user_name_valid(user) || user[0] == '#') {
        pv_err_set(err, "invalid user name");
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
    if (email[0] != '\0' && !pv_email_valid(email)) {
        pv_err_set(err, "'%s' is not a valid e-mail address", email);
        return -1;
    }
    return 0;
}

/* Existing text without user's lines, then the new line. */
static char *rebuild(const char *old, const char *user, const char *line)
{
    size_t ulen = strlen(user), cap = strlen(old) + strlen(line) + 2, o = 0;
    char *out = malloc(cap);
    const char *p = old;

    if (out == NULL)
        return NULL;
    while (*p != '\0') {
        const char *eol = strchr(p, '\n');
        size_t n = eol ? (size_t)(eol - p) + 1 : strlen(p);

        if (!(strncmp(p, user, ulen) == 0 && p[ulen] == ':')) {
            memcpy(out + o, p, n);
            o += n;
            if (eol == NULL)
                out[o++] = '\n';
        }
        p += n;
    }
    memcpy(out + o, line, strlen(line) + 1);
    return out;
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
        pv_snprintf(line, sizeof(line), "%s:%s:%s:%s\n", user, p.e164, name,
                    email) < 0 ||
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
