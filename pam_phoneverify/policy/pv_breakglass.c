/* pv_breakglass.c - one-time emergency codes (pam_phoneverify.conf(5) `breakglass_file`).
 *
 * The file holds `user:HASH` lines, HASH a crypt(3) string.  Only
 * memory-hard schemes are accepted: yescrypt ($y$, and $gy$) and scrypt
 * ($7$).  Anything else never matches (DES compares 8 characters of a
 * 10-digit code; MD5 and SHA-crypt of a 10-digit code fall to an offline
 * search) and is reported by `phoneverify check-config`.
 *
 * Consuming a code hashes without any lock (hashing every line of a
 * user is the slow part, and a login must not wait behind others' wrong
 * tries); only a match then takes the file's lock, with a deadline,
 * re-reads the file and removes the matched line if it is still there
 * (a parallel login may have used the same code first).  The removal is
 * pv_edit_replace: temporary file, owner and mode kept, rename; a waiter
 * whose locked file was replaced starts again (pv_edit_lock), so a code
 * can never be used twice. */
#include <crypt.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>
#include "policy/pv_breakglass.h"
#include "identity/pv_lookup.h"
#include "base/pv_safefile.h"
#include "identity/pv_users_edit.h"
#include "base/pv_util.h"

#define BG_MAX_SIZE (1024 * 1024)
#define BG_CODE_MAX 32
#define BG_HASH_MAX 255
/* user (LOGIN_NAME_MAX), colon, hash */
#define BG_LINE_MAX (256 + 1 + BG_HASH_MAX + 1)
#define BG_ISSUE_MAX 100 /* codes in one issue (the CLI asks for 1..20) */
/* How long `phoneverify breakglass` waits for the lock (as enroll does) */
#define BG_ISSUE_WAIT_MS 30000
/* How long a login with a matching code waits for the file's lock:
 * holders only rewrite the file (no hashing under the lock). */
#define BG_CONSUME_WAIT_MS 10000

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

int pv_breakglass_hash_accepted(const char *hash)
{
    return strncmp(hash, "$y$", 3) == 0 || strncmp(hash, "$gy$", 4) == 0 ||
           strncmp(hash, "$7$", 3) == 0;
}

/* A name for a refused scheme, for check-config's report. */
static const char *scheme_name(const char *hash)
{
    static const struct {
        const char *prefix, *name;
    } known[] = {
        { "$1$", "MD5-crypt" },      { "$5$", "SHA-256-crypt" },
        { "$6$", "SHA-512-crypt" },  { "$2a$", "bcrypt" },
        { "$2b$", "bcrypt" },        { "$2y$", "bcrypt" },
        { "$sha1$", "SHA-1-crypt" }, { "$md5", "Sun MD5" },
        { "_", "BSDi DES" },         { "$3$", "NT hash" },
    };
    size_t i;

    for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
        if (strncmp(hash, known[i].prefix, strlen(known[i].prefix)) == 0)
            return known[i].name;
    if (hash[0] == '\0')
        return "empty";
    if (hash[0] != '$' && strlen(hash) == 13)
        return "DES";
    return "unrecognised";
}

static int hash_matches(const char *code, const char *hash)
{
    struct crypt_data *cd;
    const char *h;
    int ok = 0;

    if (!pv_breakglass_hash_accepted(hash))
        return 0;
    cd = calloc(1, sizeof(*cd));
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

/* The hash of line[0..n) when it is user's line ("user:HASH"), copied
 * into hash; 1 yes, 0 not user's or too long. */
static int users_hash(const char *line, size_t n, const char *user, char *hash,
                      size_t size)
{
    size_t ulen = strlen(user), hlen;

    if (n <= ulen + 1 || strncmp(line, user, ulen) != 0 || line[ulen] != ':')
        return 0;
    hlen = n - ulen - 1;
    if (hlen >= size)
        return 0;
    memcpy(hash, line + ulen + 1, hlen);
    hash[hlen] = '\0';
    return 1;
}

/* Find the line of user whose hash matches code; its text (without the
 * newline) goes to match.  1 found, 0 not. */
static int find_match(const char *text, const char *user, const char *code,
                      char *match, size_t size)
{
    const char *line = text;
    char hash[BG_HASH_MAX + 1];

    while (*line != '\0') {
        const char *eol = strchr(line, '\n');
        size_t n = eol ? (size_t)(eol - line) : strlen(line);

        if (users_hash(line, n, user, hash, sizeof(hash)) &&
            hash_matches(code, hash) && n < size) {
            memcpy(match, line, n);
            match[n] = '\0';
            return 1;
        }
        line = eol ? eol + 1 : line + n;
    }
    return 0;
}

/* Offset and length (newline included) of the first line of text equal
 * to want.  1 found, 0 gone. */
static int find_exact(const char *text, const char *want, size_t *start,
                      size_t *len)
{
    size_t wlen = strlen(want);
    const char *line = text;

    while (*line != '\0') {
        const char *eol = strchr(line, '\n');
        size_t n = eol ? (size_t)(eol - line) : strlen(line);

        if (n == wlen && memcmp(line, want, n) == 0) {
            *start = (size_t)(line - text);
            *len = eol ? n + 1 : n;
            return 1;
        }
        line = eol ? eol + 1 : line + n;
    }
    return 0;
}

static void free_text(char *text, size_t len)
{
    if (text != NULL) {
        pv_wipe(text, len);
        free(text);
    }
}

/* Step 1, no lock: read the file as it is now and look for a match. */
static enum pv_breakglass_result
match_unlocked(const char *path, const char *user, const char *digits,
               char *match, size_t size, pv_err *err)
{
    struct stat st;
    char *text = NULL;
    size_t len = 0;
    int fd = pv_safe_open(path, PV_FILE_SECRET, &st, err), found;

    if (fd < 0)
        return PV_BREAKGLASS_ERROR;
    if (pv_safe_read_fd(fd, path, BG_MAX_SIZE, 0, &text, &len, err) != 0) {
        close(fd);
        return PV_BREAKGLASS_ERROR;
    }
    close(fd);
    found = find_match(text, user, digits, match, size);
    free_text(text, len);
    return found ? PV_BREAKGLASS_ACCEPTED : PV_BREAKGLASS_REJECTED;
}

/* Step 2, under the lock: remove the matched line if it is still there. */
static enum pv_breakglass_result remove_line(const char *path,
                                             const char *match, pv_err *err)
{
    struct stat st;
    char *text = NULL;
    size_t len = 0, start, llen;
    enum pv_breakglass_result res = PV_BREAKGLASS_ERROR;
    int fd = pv_edit_lock(path, PV_FILE_SECRET, BG_CONSUME_WAIT_MS, &st, err);

    if (fd < 0)
        return PV_BREAKGLASS_ERROR;
    if (pv_safe_read_fd(fd, path, BG_MAX_SIZE, 0, &text, &len, err) != 0)
        goto out;
    if (!find_exact(text, match, &start, &llen)) {
        res = PV_BREAKGLASS_REJECTED; /* used by a parallel login */
        goto out;
    }
    memmove(text + start, text + start + llen, len - start - llen + 1);
    res = pv_edit_replace(path, text, len - llen, &st, err) == 0
              ? PV_BREAKGLASS_ACCEPTED
              : PV_BREAKGLASS_ERROR;
out:
    close(fd); /* releases the lock */
    free_text(text, len);
    return res;
}

/* The claim hook on a matched line: ACCEPTED when the hook records the
 * use first, REJECTED when the hash was used elsewhere (the line is then
 * removed all the same), ERROR when the use could not be recorded. */
static enum pv_breakglass_result claim_match(const char *user,
                                             const char *match,
                                             pv_breakglass_claim_fn claim,
                                             void *ctx, pv_err *err)
{
    char hash[BG_HASH_MAX + 1];
    int rc;

    if (claim == NULL)
        return PV_BREAKGLASS_ACCEPTED;
    if (!users_hash(match, strlen(match), user, hash, sizeof(hash))) {
        pv_err_set(err, "break-glass line changed while matching");
        return PV_BREAKGLASS_ERROR;
    }
    rc = claim(ctx, hash);
    if (rc < 0) {
        pv_err_set(err, "the use of a break-glass code could not be "
                        "recorded in the state store");
        return PV_BREAKGLASS_ERROR;
    }
    return rc == 0 ? PV_BREAKGLASS_ACCEPTED : PV_BREAKGLASS_REJECTED;
}

enum pv_breakglass_result
pv_breakglass_consume_claimed(const char *path, const char *user,
                              const char *code, pv_breakglass_claim_fn claim,
                              void *ctx, pv_err *err)
{
    char digits[BG_CODE_MAX + 1];
    char match[BG_LINE_MAX];
    enum pv_breakglass_result res, removed;

    if (path == NULL || user == NULL ||
        normalize(code, digits, sizeof(digits)) != 0)
        return PV_BREAKGLASS_REJECTED;
    res = match_unlocked(path, user, digits, match, sizeof(match), err);
    if (res == PV_BREAKGLASS_ACCEPTED) {
        res = claim_match(user, match, claim, ctx, err);
        if (res != PV_BREAKGLASS_ERROR) {
            /* used here or elsewhere: the line goes either way */
            removed = remove_line(path, match, err);
            if (res == PV_BREAKGLASS_ACCEPTED)
                res = removed;
        }
    }
    pv_wipe(digits, sizeof(digits));
    pv_wipe(match, sizeof(match));
    return res;
}

enum pv_breakglass_result pv_breakglass_consume(const char *path,
                                                const char *user,
                                                const char *code, pv_err *err)
{
    return pv_breakglass_consume_claimed(path, user, code, NULL, NULL, err);
}

/* ---- check-config ------------------------------------------------------ */

/* The problem with one line, or NULL when it is fine (blank and '#'
 * comment lines included). */
static const char *line_problem(const char *line, size_t n, char *why,
                                size_t size)
{
    char hash[BG_HASH_MAX + 1];
    const char *colon = memchr(line, ':', n);
    size_t hlen;

    if (n == 0 || line[0] == '#')
        return NULL;
    if (colon == NULL || colon == line)
        return "not a user:HASH line; it never matches";
    hlen = n - (size_t)(colon + 1 - line);
    if (hlen > BG_HASH_MAX)
        return "hash too long; it never matches";
    memcpy(hash, colon + 1, hlen);
    hash[hlen] = '\0';
    if (pv_breakglass_hash_accepted(hash))
        return NULL;
    (void)pv_snprintf(why, size,
                      "%s hash refused (only yescrypt $y$/$gy$ "
                      "and scrypt $7$ are accepted); it never matches: "
                      "issue new codes with 'phoneverify breakglass'",
                      scheme_name(hash));
    return why;
}

int pv_breakglass_check(const char *path, pv_breakglass_report_fn report,
                        void *ctx)
{
    struct stat st;
    char *text = NULL, msg[PV_ERR_MAX], why[256];
    const char *line;
    size_t len = 0, lineno = 0;
    pv_err err;
    int fd, problems = 0;

    pv_err_clear(&err);
    fd = pv_safe_open(path, PV_FILE_SECRET, &st, &err);
    if (fd < 0 && errno == ENOENT)
        return 0; /* no codes issued yet */
    if (fd < 0 ||
        pv_safe_read_fd(fd, path, BG_MAX_SIZE, 0, &text, &len, &err) != 0) {
        if (fd >= 0)
            close(fd);
        report(ctx, err.msg);
        return -1;
    }
    close(fd);
    for (line = text; *line != '\0';) {
        const char *eol = strchr(line, '\n');
        size_t n = eol ? (size_t)(eol - line) : strlen(line);
        const char *problem = line_problem(line, n, why, sizeof(why));

        lineno++;
        if (problem != NULL) {
            (void)pv_snprintf(msg, sizeof(msg), "%s:%zu: %s", path, lineno,
                              problem);
            report(ctx, msg);
            problems++;
        }
        line = eol ? eol + 1 : line + n;
    }
    free_text(text, len);
    return problems;
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

/* n codes of code_len digits in list[0..n) and their `user:HASH` lines,
 * one after another, in *lines (malloc'd).  Hashing is the slow part: it
 * is done before the file is locked, so logins consuming a code do not
 * wait behind it.  0 ok, -1 with err. */
static int make_codes(const char *user, size_t n, size_t code_len, char **list,
                      char **lines, size_t *len, pv_err *err)
{
    size_t i, cap = n * BG_LINE_MAX + 1;
    char *out = malloc(cap);

    *len = 0;
    for (i = 0; out != NULL && i < n; i++) {
        char *hash;
        int w;

        list[i] = calloc(1, code_len + 1);
        if (list[i] == NULL || random_code(list[i], code_len) != 0 ||
            (hash = hash_code(list[i])) == NULL)
            break;
        w = pv_snprintf(out + *len, cap - *len, "%s:%s\n", user, hash);
        free(hash);
        if (w < 0)
            break;
        *len += (size_t)w;
    }
    if (out == NULL || i < n) {
        pv_err_set(err, "cannot generate a code");
        free(out);
        return -1;
    }
    *lines = out;
    return 0;
}

/* The file's text with lines appended (after a newline if its last line
 * has none).  Malloc'd, NULL on ENOMEM. */
static char *appended(const char *old, size_t olen, const char *lines,
                      size_t llen, size_t *len)
{
    int nl = olen > 0 && old[olen - 1] != '\n';
    char *text = malloc(olen + (size_t)nl + llen + 1);

    if (text == NULL)
        return NULL;
    memcpy(text, old, olen);
    if (nl)
        text[olen] = '\n';
    memcpy(text + olen + (size_t)nl, lines, llen + 1);
    *len = olen + (size_t)nl + llen;
    return text;
}

/* Append lines to the file like every other edit (pv_users_edit.h): a
 * missing file created 0600, then under pv_edit_lock (pv_safe_open's
 * checks for a secret file) re-read and replaced by pv_edit_replace, so a
 * login consuming a code at the same time never loses the new lines nor
 * brings back a used one. */
static int append_locked(const char *path, const char *lines, size_t llen,
                         pv_err *err)
{
    struct stat st;
    char *old = NULL, *text = NULL;
    size_t olen = 0, len = 0;
    int fd, rc = -1;

    if (pv_edit_create(path, 0600, err) != 0)
        return -1;
    fd = pv_edit_lock(path, PV_FILE_SECRET, BG_ISSUE_WAIT_MS, &st, err);
    if (fd < 0 || pv_safe_read_fd(fd, path, BG_MAX_SIZE - llen, 0, &old, &olen,
                                  err) != 0)
        goto out;
    if ((text = appended(old, olen, lines, llen, &len)) == NULL) {
        pv_err_set(err, "out of memory");
        goto out;
    }
    rc = pv_edit_replace(path, text, len, &st, err);
out:
    if (fd >= 0)
        close(fd); /* releases the lock */
    free_text(old, olen);
    free_text(text, len);
    return rc;
}

int pv_breakglass_issue(const char *path, const char *user, size_t n,
                        size_t code_len, char ***codes, pv_err *err)
{
    char **list = NULL, *lines = NULL;
    size_t i, llen = 0;
    int rc = -1;

    if (code_len < 6 || code_len > BG_CODE_MAX || n == 0 || n > BG_ISSUE_MAX) {
        pv_err_set(err, "invalid request");
        return -1;
    }
    if (!pv_user_name_valid(user)) {
        pv_err_set(err, "invalid user name");
        return -1;
    }
    if ((list = calloc(n + 1, sizeof(*list))) == NULL) {
        pv_err_set(err, "out of memory");
        return -1;
    }
    if (make_codes(user, n, code_len, list, &lines, &llen, err) != 0 ||
        append_locked(path, lines, llen, err) != 0)
        goto out;
    *codes = list;
    list = NULL;
    rc = 0;
out:
    free_text(lines, llen);
    if (list != NULL) {
        for (i = 0; i < n; i++)
            pv_free_secret(list[i]);
        free(list);
    }
    return rc;
}
