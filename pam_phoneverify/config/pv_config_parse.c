/* pv_config_parse.c - where configuration text comes from: the file
 * (`key = value` lines, read through pv_safe_read with the secret-file
 * rules) and the PAM line (conf= read first wherever it stands, then bare
 * flags and key=value through the same setter, pv_config_set).
 *
 * A key given twice, in the file or in the PAM line, is refused (pam_phoneverify.conf(5)):
 * which of the two values did the administrator mean?  The secret-bearing
 * keys are refused on the PAM line: files under /etc/pam.d are
 * world-readable. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config/pv_config.h"
#include "config/pv_config_values.h"
#include "base/pv_safefile.h"
#include "base/pv_util.h"

#define KEY_LEN_MAX 64

/* A key given twice is a mistake (pam_phoneverify.conf(5)).  seen[id] holds the line that
 * first set key id (0: not yet; 1 for a PAM argument). */
static const char *trim(char *s)
{
    static const char ws[] = " \t\r\f\v";
    size_t n;

    s += strspn(s, ws);
    n = strlen(s);
    while (n > 0 && strchr(ws, s[n - 1]) != NULL)
        s[--n] = '\0';
    return s;
}

static int note_key(unsigned *seen, const char *key, const char *origin,
                    unsigned lineno, pv_err *err)
{
    int id = pv_config_key_id(key);

    if (id < 0)
        return 0; /* pv_config_set reports unknown keys */
    if (seen[id] != 0) {
        if (lineno > 0)
            pv_err_set(err, "%s:%u: %s is given twice (first on line %u)",
                       origin, lineno, pv_config_key_name(id), seen[id]);
        else
            pv_err_set(err,
                       "%s '%s': given more than once in the PAM "
                       "line",
                       origin, pv_config_key_name(id));
        return -1;
    }
    seen[id] = lineno > 0 ? lineno : 1;
    return 0;
}

/* One line, NUL-terminated in a scratch buffer the caller wipes. */
static int parse_line(pv_config *cfg, char *line, const char *origin,
                      unsigned lineno, unsigned *seen, pv_err *err)
{
    char *eq;
    const char *key;

    line += strspn(line, " \t\r\f\v");
    if (*line == '\0' || *line == '#')
        return 0;
    eq = strchr(line, '=');
    if (eq == NULL) {
        pv_err_set(err, "%s:%u: expected 'key = value'", origin, lineno);
        return -1;
    }
    *eq = '\0';
    key = trim(line);
    if (*key == '\0') {
        pv_err_set(err, "%s:%u: missing key before '='", origin, lineno);
        return -1;
    }
    if (note_key(seen, key, origin, lineno, err) < 0)
        return -1;
    return pv_config_set(cfg, key, trim(eq + 1), origin, lineno, err);
}

int pv_config_parse_text(pv_config *cfg, const char *text, size_t len,
                         const char *origin, pv_err *err)
{
    char *buf, *p, *end;
    unsigned lineno = 0, seen[PV_CONFIG_MAX_KEYS];
    int r = 0;

    if (origin == NULL)
        origin = "configuration";
    if (cfg == NULL || (text == NULL && len > 0)) {
        pv_err_set(err, "%s: no text", origin);
        return -1;
    }
    if ((buf = malloc(len + 1)) == NULL) {
        pv_err_set(err, "%s: out of memory", origin);
        return -1;
    }
    if (len > 0)
        memcpy(buf, text, len);
    buf[len] = '\0';
    memset(seen, 0, sizeof seen);
    for (p = buf, end = buf + len; r == 0 && p < end; p++) {
        char *nl = memchr(p, '\n', (size_t)(end - p));

        if (nl == NULL)
            nl = end;
        *nl = '\0';
        lineno++;
        if (memchr(p, '\0', (size_t)(nl - p)) != NULL) {
            pv_err_set(err, "%s:%u: contains a NUL byte", origin, lineno);
            r = -1;
        } else {
            r = parse_line(cfg, p, origin, lineno, seen, err);
        }
        p = nl;
    }
    pv_wipe(buf, len + 1);
    free(buf);
    return r;
}

/* Read and parse a configuration file; with missing_ok, a file that does
 * not exist leaves cfg as it is and is not an error. */
static int load_conf(pv_config *cfg, const char *path, int missing_ok,
                     pv_err *err)
{
    char *text = NULL;
    size_t len = 0;
    int r;

    errno = 0;
    if (pv_safe_read(path, PV_FILE_SECRET, PV_CONFIG_MAX_SIZE, &text, &len,
                     err) < 0) {
        if (missing_ok && errno == ENOENT) {
            pv_err_clear(err);
            return 0;
        }
        return -1;
    }
    r = pv_config_parse_text(cfg, text, len, path, err);
    pv_wipe(text, len);
    free(text);
    return r;
}

int pv_config_load_file(pv_config *cfg, const char *path, pv_err *err)
{
    if (cfg == NULL || path == NULL) {
        pv_err_set(err, "no configuration file name");
        return -1;
    }
    return load_conf(cfg, path, 0, err);
}

/* Find the one conf=PATH argument, wherever it stands. */
static int find_conf(int argc, const char **argv, const char **conf,
                     pv_err *err)
{
    int i;

    *conf = NULL;
    for (i = 0; i < argc; i++) {
        const char *a = argv[i];

        if (a == NULL || strncmp(a, "conf=", 5) != 0)
            continue;
        if (*conf != NULL) {
            pv_err_set(err, "argument 'conf=': conf= is given more than "
                            "once");
            return -1;
        }
        if (a[5] != '/') {
            pv_err_set(err, "argument 'conf=': conf= needs an absolute "
                            "path");
            return -1;
        }
        *conf = a + 5;
    }
    return 0;
}

/* key=value from the PAM line: the secret-bearing keys are refused there,
 * because files under /etc/pam.d are world-readable (pam_phoneverify.conf(5)). */
static int set_from_arg(pv_config *cfg, const char *key, const char *value,
                        unsigned *seen, pv_err *err)
{
    int id = pv_config_key_id(key);

    if (pv_config_key_file_only(id)) {
        pv_err_set(err,
                   "argument '%s': %s holds a secret and is accepted "
                   "only in the configuration file (mode 0600), not in "
                   "the PAM line (files under /etc/pam.d are "
                   "world-readable)",
                   key, key);
        return -1;
    }
    if (note_key(seen, key, "argument", 0, err) < 0)
        return -1;
    return pv_config_set(cfg, key, value, "argument", 0, err);
}

/* One PAM-line argument other than conf=. */
static int apply_arg(pv_config *cfg, const char *a, unsigned *seen,
                     pv_err *err)
{
    char key[KEY_LEN_MAX + 1], ea[40];
    const char *eq;
    size_t n;

    if (a == NULL || *a == '\0') {
        pv_err_set(err, "argument '': empty module argument");
        return -1;
    }
    if (strncmp(a, "conf=", 5) == 0)
        return 0;
    if (strcmp(a, "debug") == 0 || strcmp(a, "nullok") == 0)
        return set_from_arg(cfg, a, "yes", seen, err);
    eq = strchr(a, '=');
    if (eq == NULL) {
        /* do not echo what might be a misplaced secret */
        pv_cfgval_quote(ea, sizeof ea, strchr(a, ':') ? "..." : a, strlen(a));
        pv_err_set(err,
                   "argument '%s': unknown option (expected debug, "
                   "nullok, conf=PATH or key=value)",
                   ea);
        return -1;
    }
    n = (size_t)(eq - a);
    if (n == 0) {
        pv_err_set(err, "argument '=...': missing key before '='");
        return -1;
    }
    if (n > KEY_LEN_MAX)
        n = KEY_LEN_MAX; /* no key is that long: "unknown key" */
    memcpy(key, a, n);
    key[n] = '\0';
    return set_from_arg(cfg, key, eq + 1, seen, err);
}

int pv_config_from_args(int argc, const char **argv, pv_config **out,
                        pv_err *err)
{
    pv_config *cfg = NULL;
    const char *conf;
    unsigned seen[PV_CONFIG_MAX_KEYS];
    int i;

    if (out == NULL || argc < 0 || (argc > 0 && argv == NULL)) {
        pv_err_set(err, "invalid module arguments");
        return -1;
    }
    *out = NULL;
    if (find_conf(argc, argv, &conf, err) < 0)
        goto err;
    if ((cfg = pv_config_new()) == NULL) {
        pv_err_set(err, "out of memory");
        goto err;
    }
    if (load_conf(cfg, conf ? conf : PV_DEFAULT_CONF, conf == NULL, err) < 0)
        goto err;
    memset(seen, 0, sizeof seen);
    for (i = 0; i < argc; i++)
        if (apply_arg(cfg, argv[i], seen, err) < 0)
            goto err;
    if (pv_config_validate(cfg, err) < 0)
        goto err;
    *out = cfg;
    return 0;
err:
    pv_config_free(cfg);
    return -1;
}
