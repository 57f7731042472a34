/* pv_breakglass.c - one-time emergency codes (SPEC 3 `breakglass_file`).
 *
 * The file holds `user:HASH` lines, HASH a crypt(3) string (yescrypt by
 * default).  A matching code is consumed by rewriting the file without its
 * line: write a temporary file in the same directory, fsync, rename, all
 * under an exclusive flock.  A racing login that waited for the lock then
 * notices that the path now names a different file and starts again, so a
 * code can never be used twice. */
#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>
#include "pv_breakglass.h"
#include "pv_lookup.h"
#include "pv_safefile.h"
#include "pv_util.h"

#define BG_MAX_SIZE (1024 * 1024)
#define BG_CODE_MAX 32
#define BG_LOCK_TRIES 50

/* Digits of the entry, without the spaces and dashes people type. */
static int normalize(const char *in, char *out, size_t size)
{
    size_t n = 0;

    for (; *in != '\0'; in++) {
        if (*in == ' ' || *in == '-')
            continue;
        if (*in < '0' || *in > '9' || n + 1 >= size)
            return -1;
        out[n++] = *in;
    }
    out[n] = '\0';
    return n > 0 ? 0 : -1;
}

static int hash_matches(const char *code, const char *hash)
{
    struct crypt_data *cd = calloc(1, sizeof(*cd));
    const char *h;
    int ok = 0;

    if (cd == NULL)
        return 0;
    h = crypt_rn(code, hash, cd, sizeof(*cd));
    /* crypt_rn returns NULL or a "*"-string on failure; compare whole
     * strings (the hash is public, so a plain comparison leaks nothing). */
    if (h != NULL && h[0] != '*' && strcmp(h, hash) == 0)
        ok = 1;
    pv_wipe(cd, sizeof(*cd));
    free(cd);
    return ok;
}

/* Find the line of user whose hash matches code; returns its offset and
 * length through start and len.  1 found, 0 not. */
static int find_line(const char *text, const char *user, const char *code,
                     size_t *start, size_t *len)
{
    size_t ulen = strlen(user);
    const char *line = text;

    while (*line != '\0') {
        const char *eol = strchr(line, '\n');
        size_t n = eol ? (size_t)(eol - line) : strlen(line);

        if (n > ulen + 1 && strncmp(line, user, ulen) == 0 &&
            line[ulen] == ':') {
            char hash[256];
            size_t hlen = n - ulen - 1;

            if (hlen < sizeof(hash)) {
                memcpy(hash, line + ulen + 1, hlen);
                hash[hlen] = '\0';
                if (hash_matches(code, hash)) {
                    *start = (size_t)(line - text);
                    *len = eol ? n + 1 : n;
                    return 1;
                }
            }
        }
        line = eol ? eol + 1 : line + n;
    }
    return 0;
}

/* Replace path with data[0..len) atomically (same directory, 0600). */
static int replace_file(const char *path, const char *data, size_t len,
                        pv_err *err)
{
    char tmp[4096];
    int fd;
    ssize_t w;
    size_t off = 0;

    if (pv_snprintf(tmp, sizeof(tmp), "%s.tmpXXXXXX", path) < 0) {
        pv_err_set(err, "%s: path too long", path);
        return -1;
    }
    fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        pv_err_set(err, "%s: cannot create temporary file: %s", path,
                   strerror(errno));
        return -1;
    }
    (void)fchmod(fd, 0600);
    while (off < len) {
        w = write(fd, data + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            goto fail;
        off += (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        fd = -1;
        goto fail;
    }
    if (rename(tmp, path) != 0) {
        fd = -1;
        goto fail;
    }
    return 0;
fail:
    pv_err_set(err, "%s: cannot rewrite: %s", path, strerror(errno));
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    return -1;
}

/* Open and lock path, making sure the locked file is still the one the
 * path names.  Returns the fd or -1. */
static int open_locked(const char *path, pv_err *err)
{
    int tries;

    for (tries = 0; tries < BG_LOCK_TRIES; tries++) {
        struct stat fst, pst;
        int fd = pv_safe_open(path, PV_FILE_SECRET, &fst, err);

        if (fd < 0)
            return -1;
        if (flock(fd, LOCK_EX) == 0 && stat(path, &pst) == 0 &&
            pst.st_ino == fst.st_ino && pst.st_dev == fst.st_dev)
            return fd;
        close(fd);          /* replaced while we waited: start again */
    }
    pv_err_set(err, "%s: could not lock", path);
    return -1;
}

static int read_fd(int fd, size_t max, char **out, size_t *len)
{
    char *buf = malloc(max + 1);
    size_t n = 0;
    ssize_t r;

    if (buf == NULL)
        return -1;
    for (;;) {
        r = read(fd, buf + n, max + 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            break;
        if (r == 0) {
            buf[n] = '\0';
            if (memchr(buf, '\0', n) != NULL)
                break;
            *out = buf;
            *len = n;
            return 0;
        }
        n += (size_t)r;
        if (n > max)
            break;
    }
    pv_wipe(buf, n);
    free(buf);
    return -1;
}

enum pv_breakglass_result pv_breakglass_consume(const char *path,
                                                const char *user,
                                                const char *code,
                                                pv_err *err)
{
    char digits[BG_CODE_MAX + 1];
    char *text = NULL;
    size_t len = 0, start = 0, llen = 0;
    enum pv_breakglass_result res = PV_BREAKGLASS_REJECTED;
    int fd;

    if (path == NULL || normalize(code, digits, sizeof(digits)) != 0)
        return PV_BREAKGLASS_REJECTED;
    fd = open_locked(path, err);
    if (fd < 0) {
        res = PV_BREAKGLASS_ERROR;
        goto out;
    }
    if (read_fd(fd, BG_MAX_SIZE, &text, &len) != 0) {
        pv_err_set(err, "%s: unreadable, too large or contains NUL", path);
        res = PV_BREAKGLASS_ERROR;
        goto out;
    }
    if (find_line(text, user, digits, &start, &llen)) {
        memmove(text + start, text + start + llen, len - start - llen + 1);
        res = replace_file(path, text, len - llen, err) == 0
                  ? PV_BREAKGLASS_ACCEPTED
                  : PV_BREAKGLASS_ERROR;
    }
out:
    if (fd >= 0)
        close(fd);          /* releases the lock */
    if (text != NULL) {
        pv_wipe(text, len);
        free(text);
    }
    pv_wipe(digits, sizeof(digits));
    return res;
}

/* A code of len random digits (rejection sampling: no modulo bias). */
static int random_code(char *out, size_t len)
{
    size_t i = 0;

    while (i < len) {
        unsigned char b;

        if (getrandom(&b, 1, 0) != 1)
            return -1;
        if (b < 250)
            out[i++] = (char)('0' + b % 10);
    }
    out[len] = '\0';
    return 0;
}

static char *hash_code(const char *code)
{
    char salt[CRYPT_GENSALT_OUTPUT_SIZE];
    struct crypt_data *cd = calloc(1, sizeof(*cd));
    char *res = NULL;
    const char *h;

    if (cd == NULL)
        return NULL;
    if (crypt_gensalt_rn("$y$", 0, NULL, 0, salt, sizeof(salt)) != NULL) {
        h = crypt_rn(code, salt, cd, sizeof(*cd));
        if (h != NULL && h[0] != '*')
            res = strdup(h);
    }
    pv_wipe(cd, sizeof(*cd));
    free(cd);
    return res;
}

int pv_breakglass_issue(const char *path, const char *user, size_t n,
                        size_t code_len, char ***codes, pv_err *err)
{
    char **list = calloc(n + 1, sizeof(*list));
    size_t i;
    int fd = -1, rc = -1, tries;

    if (list == NULL || code_len < 6 || code_len > BG_CODE_MAX || n == 0) {
        pv_err_set(err, "invalid request");
        goto out;
    }
    if (!pv_user_name_valid(user)) {
        pv_err_set(err, "invalid user name");
        goto out;
    }
    /* Lock the file the path names now: a login consuming a code replaces
     * it by rename while holding the lock, so after waiting make sure the
     * locked inode is still the one the path names (or the new codes
     * would go to the unlinked old file). */
    for (tries = 0;; tries++) {
        struct stat fst, pst;

        fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW |
                            O_CLOEXEC, 0600);
        if (fd < 0 || flock(fd, LOCK_EX) != 0 || fstat(fd, &fst) != 0) {
            pv_err_set(err, "%s: %s", path, strerror(errno));
            goto out;
        }
        if (!S_ISREG(fst.st_mode) || (fst.st_mode & 027) != 0) {
            pv_err_set(err, "%s: must be a regular file not writable by "
                       "group and not accessible by others", path);
            goto out;
        }
        if (lstat(path, &pst) == 0 && pst.st_ino == fst.st_ino &&
            pst.st_dev == fst.st_dev)
            break;
        close(fd);
        fd = -1;
        if (tries + 1 >= BG_LOCK_TRIES) {
            pv_err_set(err, "%s: could not lock", path);
            goto out;
        }
    }
    for (i = 0; i < n; i++) {
        char *hash;

        list[i] = calloc(1, code_len + 1);
        if (list[i] == NULL || random_code(list[i], code_len) != 0 ||
            (hash = hash_code(list[i])) == NULL) {
            pv_err_set(err, "cannot generate a code");
            goto out;
        }
        if (dprintf(fd, "%s:%s\n", user, hash) < 0) {
            free(hash);
            pv_err_set(err, "%s: %s", path, strerror(errno));
            goto out;
        }
        free(hash);
    }
    if (fsync(fd) != 0) {
        pv_err_set(err, "%s: %s", path, strerror(errno));
        goto out;
    }
    *codes = list;
    list = NULL;
    rc = 0;
out:
    if (fd >= 0)
        close(fd);
    if (list != NULL) {
        for (i = 0; i < n; i++)
            pv_free_secret(list[i]);
        free(list);
    }
    return rc;
}
