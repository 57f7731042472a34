/* pv_config.c - the module's configuration (SPEC section 3).
 *
 * One table, `keys`, lists every key of SPEC section 3 in the SPEC's order
 * with its default (as text, applied through the same setter as a file line
 * or a PAM argument), how it is stored, how it is checked and whether it is
 * a secret.  Defaults, parsing, freeing and the dump all walk that table.
 *
 * File syntax: `key = value` lines; blank lines ignored; spaces and tabs
 * around key and value trimmed.  A '#' starts a comment only as the first
 * non-blank character of a line: anywhere else it is part of the value,
 * because tokens, licences and URLs may contain '#'.  So
 * "timeout = 10  # seconds" is refused (not an integer) rather than
 * silently meaning something else.
 *
 * Error messages never contain a secret value: a bad token is described,
 * not echoed, and a PAM argument is echoed as key=value only for known,
 * non-secret keys. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "pv_config.h"
#include "pv_state.h"
#include "pv_policy.h"
#include "pv_safefile.h"
#include "pv_util.h"

#ifndef PV_DEFAULT_USERS_FILE
#define PV_DEFAULT_USERS_FILE "/etc/security/phoneverify.users"
#endif
#ifndef PV_DEFAULT_STATE_DIR
#define PV_DEFAULT_STATE_DIR "/var/lib/pam_phoneverify"
#endif
#define PV_DEFAULT_PROMPT "Verification code sent to %p: "

#define VALUE_MAX 8192          /* longest value accepted for any key */
#define PROMPT_MAX 256          /* longest prompt, including the ": " */
#define PATH_LEN_MAX 4095
#define USER_LEN_MAX 32
#define KEY_LEN_MAX 64

/* key flags */
#define KEY_SECRET   1u         /* wiped on free, masked in the dump */
#define KEY_REQUIRED 2u         /* an empty value is refused */
#define KEY_FILE_ONLY 4u        /* refused on the PAM line (SPEC 3: files
                                   under /etc/pam.d are world-readable) */

enum slot { SLOT_NONE, SLOT_STR, SLOT_AUTH, SLOT_LONG, SLOT_BOOL };

struct pv_key;
typedef int (*set_fn)(pv_config *cfg, const struct pv_key *k, const char *v,
                      pv_err *why);
typedef int (*check_fn)(const struct pv_key *k, const char *v, pv_err *why);
typedef const char *(*show_fn)(const pv_config *cfg, char *tmp, size_t size);

struct pv_key {
    const char *name;
    const char *def;            /* default, as configuration text */
    enum slot slot;             /* what lives at off */
    size_t off;
    set_fn set;
    check_fn check;             /* SLOT_STR: validates a non-empty value */
    show_fn show;               /* SLOT_NONE: renders for the dump */
    long min, max;              /* SLOT_LONG */
    unsigned flags;
};

/* ---------- small helpers ---------- */

/* Copy at most len bytes of src for quoting in a message: non-printable
 * and non-ASCII bytes become '?', long text is cut with "...". */
static void echo(char *dst, size_t size, const char *src, size_t len)
{
    size_t i, o = 0;

    for (i = 0; i < len && src[i] != '\0' && o + 4 < size; i++) {
        unsigned char c = (unsigned char)src[i];

        dst[o++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    if (i < len && src[i] != '\0') {
        memcpy(dst + o, "...", 3);
        o += 3;
    }
    dst[o] = '\0';
}

/* Non-empty, printable ASCII, no spaces (tokens, URLs, licences). */
static int is_word(const char *s)
{
    if (*s == '\0')
        return 0;
    for (; *s != '\0'; s++)
        if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
            return 0;
    return 1;
}

/* No control characters at all (tab included); UTF-8 allowed. */
static int is_text(const char *s)
{
    for (; *s != '\0'; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
            return 0;
    return 1;
}

static int match_word(const char *s, size_t len, const char *const *words,
                      size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (strncasecmp(s, words[i], len) == 0 && words[i][len] == '\0')
            return (int)i;
    return -1;
}

/* "a, b, c" for messages. */
static void join_words(char *dst, size_t size, const char *const *words,
                       size_t n)
{
    size_t i, o = 0;

    dst[0] = '\0';
    for (i = 0; i < n; i++) {
        int r = pv_snprintf(dst + o, size - o, "%s%s", i ? ", " : "",
                            words[i]);

        if (r < 0)
            return;
        o += (size_t)r;
    }
}

static char **str_slot(const pv_config *cfg, const struct pv_key *k)
{
    return (char **)(void *)((char *)(uintptr_t)cfg + k->off);
}

static pv_auth *auth_slot(const pv_config *cfg, const struct pv_key *k)
{
    return (pv_auth *)(void *)((char *)(uintptr_t)cfg + k->off);
}

static long *long_slot(const pv_config *cfg, const struct pv_key *k)
{
    return (long *)(void *)((char *)(uintptr_t)cfg + k->off);
}

static int *bool_slot(const pv_config *cfg, const struct pv_key *k)
{
    return (int *)(void *)((char *)(uintptr_t)cfg + k->off);
}

static void free_str(char *s, unsigned flags)
{
    if (flags & KEY_SECRET)
        pv_free_secret(s);
    else
        free(s);
}

/* Replace a string slot with a copy of v (NULL when v is NULL). */
static int store_str(pv_config *cfg, const struct pv_key *k, const char *v,
                     pv_err *why)
{
    char **slot = str_slot(cfg, k);
    char *copy = NULL;

    if (v != NULL && (copy = pv_strdup(v)) == NULL) {
        pv_err_set(why, "out of memory");
        return -1;
    }
    free_str(*slot, k->flags);
    *slot = copy;
    return 0;
}

/* ---------- checks for string values ---------- */

/* The host of an http:// URL must be a loopback address (SPEC 3: plain
 * HTTP only for tests and the demo on this machine): a dotted quad in
 * 127.0.0.0/8 or [::1], never a name (a name can resolve anywhere). */
static int loopback_host(const char *host, size_t len)
{
    char buf[64];
    unsigned char a[16];

    if (len == 0 || len >= sizeof buf)
        return 0;
    if (host[0] == '[') {
        if (len < 3 || host[len - 1] != ']')
            return 0;
        memcpy(buf, host + 1, len - 2);
        buf[len - 2] = '\0';
        return inet_pton(AF_INET6, buf, a) == 1
               && memcmp(a, &in6addr_loopback, 16) == 0;
    }
    memcpy(buf, host, len);
    buf[len] = '\0';
    return inet_pton(AF_INET, buf, a) == 1 && a[0] == 127;
}

/* Split "host[:port]" at the port; -1 when the port is not 1..65535. */
static int split_port(const char *auth, size_t len, size_t *hostlen)
{
    const char *colon;
    long port;
    char digits[8];
    size_t n;

    *hostlen = len;
    if (auth[0] == '[') {
        const char *rb = memchr(auth, ']', len);

        if (rb == NULL)
            return -1;
        colon = (size_t)(rb - auth) + 1 < len ? rb + 1 : NULL;
        if (colon != NULL && *colon != ':')
            return -1;
    } else {
        colon = memchr(auth, ':', len);
    }
    if (colon == NULL)
        return 0;
    *hostlen = (size_t)(colon - auth);
    n = len - *hostlen - 1;
    if (n == 0 || n >= sizeof digits)
        return -1;
    memcpy(digits, colon + 1, n);
    digits[n] = '\0';
    return pv_parse_long(digits, 1, 65535, &port);
}

/* https://HOST[:PORT][/...] anywhere, http:// only to a loopback address;
 * no user or password part (credentials go in the secret *_auth keys). */
static int check_one_url(const char *name, const char *v, size_t vlen,
                         pv_err *why)
{
    const char *auth;
    size_t alen, hlen;
    int https = vlen > 8 && strncmp(v, "https://", 8) == 0;
    size_t i;

    for (i = 0; i < vlen; i++)
        if ((unsigned char)v[i] <= 0x20 || (unsigned char)v[i] >= 0x7f) {
            pv_err_set(why, "%s must be a URL without spaces, control or "
                       "non-ASCII characters", name);
            return -1;
        }
    if (!https && !(vlen > 7 && strncmp(v, "http://", 7) == 0)) {
        pv_err_set(why, "%s must start with https:// (or http:// to a "
                   "loopback address)", name);
        return -1;
    }
    auth = v + (https ? 8 : 7);
    alen = strcspn(auth, "/?#");
    if (auth + alen > v + vlen)
        alen = (size_t)(v + vlen - auth);
    if (memchr(auth, '@', alen) != NULL) {
        pv_err_set(why, "%s must not contain a user or password (use the "
                   "matching _auth key)", name);
        return -1;
    }
    if (alen == 0 || auth[0] == ':' || split_port(auth, alen, &hlen) < 0
        || hlen == 0) {
        pv_err_set(why, "%s has no valid host[:port]", name);
        return -1;
    }
    if (!https && !loopback_host(auth, hlen)) {
        pv_err_set(why, "%s: plain http:// is allowed only to a loopback "
                   "address (127.0.0.0/8 or [::1]); use https://", name);
        return -1;
    }
    return 0;
}

static int check_url(const struct pv_key *k, const char *v, pv_err *why)
{
    return check_one_url(k->name, v, strlen(v), why);
}

/* An etcd key prefix: printable, no spaces, starts and ends with '/'. */
static int check_prefix(const struct pv_key *k, const char *v, pv_err *why)
{
    size_t n = strlen(v);

    if (!is_word(v) || v[0] != '/' || v[n - 1] != '/' || n > 128) {
        pv_err_set(why, "%s must start and end with '/' (printable, no "
                   "spaces, at most 128 characters)", k->name);
        return -1;
    }
    return 0;
}

/* Space-separated URLs (state_endpoints), at most PV_MAX_ENDPOINTS. */
static int check_url_list(const struct pv_key *k, const char *v, pv_err *why)
{
    size_t n = 0;

    for (;;) {
        size_t len;

        v += strspn(v, " \t");
        if (*v == '\0')
            break;
        len = strcspn(v, " \t");
        if (++n > PV_MAX_ENDPOINTS) {
            pv_err_set(why, "%s lists more than %d URLs", k->name,
                       PV_MAX_ENDPOINTS);
            return -1;
        }
        if (check_one_url(k->name, v, len, why) < 0)
            return -1;
        v += len;
    }
    if (n == 0) {
        pv_err_set(why, "%s must list at least one URL", k->name);
        return -1;
    }
    return 0;
}

static int check_path(const struct pv_key *k, const char *v, pv_err *why)
{
    if (v[0] != '/') {
        pv_err_set(why, "%s must be an absolute path", k->name);
        return -1;
    }
    if (!is_text(v) || strlen(v) > PATH_LEN_MAX) {
        pv_err_set(why, "%s must be a path without control characters, "
                   "at most %d bytes", k->name, PATH_LEN_MAX);
        return -1;
    }
    return 0;
}

/* captcha_token, numverify_licence, precheck_encryption: never echoed. */
static int check_word(const struct pv_key *k, const char *v, pv_err *why)
{
    if (!is_word(v)) {
        pv_err_set(why, "%s must be printable text without spaces or "
                   "control characters", k->name);
        return -1;
    }
    return 0;
}

static int check_text(const struct pv_key *k, const char *v, pv_err *why)
{
    if (!is_text(v)) {
        pv_err_set(why, "%s must be printable text without control "
                   "characters", k->name);
        return -1;
    }
    return 0;
}

/* A login name as useradd accepts it: [A-Za-z0-9._-], optional final '$',
 * not starting with '-'. */
static int check_user(const struct pv_key *k, const char *v, pv_err *why)
{
    static const char ok[] = "abcdefghijklmnopqrstuvwxyz"
                             "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-";
    size_t n = strspn(v, ok);

    if (v[0] == '-' || n > USER_LEN_MAX
        || !(v[n] == '\0' || (v[n] == '$' && v[n + 1] == '\0'))) {
        pv_err_set(why, "%s must be a user name (letters, digits, '.', "
                   "'_', '-', at most %d characters)", k->name,
                   USER_LEN_MAX);
        return -1;
    }
    return 0;
}

/* pv_policy's messages already name their key ("groups: ..."); add the
 * name only when they do not. */
static void policy_error(const struct pv_key *k, const pv_err *inner,
                         pv_err *why)
{
    size_t n = strlen(k->name);

    if (strncmp(inner->msg, k->name, n) == 0 && inner->msg[n] == ':')
        pv_err_set(why, "%s", inner->msg);
    else
        pv_err_set(why, "%s: %s", k->name, inner->msg);
}

static int check_groups(const struct pv_key *k, const char *v, pv_err *why)
{
    pv_err inner;

    inner.msg[0] = '\0';
    if (pv_groups_validate(v, &inner) < 0) {
        policy_error(k, &inner, why);
        return -1;
    }
    return 0;
}

static int check_rhosts(const struct pv_key *k, const char *v, pv_err *why)
{
    pv_err inner;

    inner.msg[0] = '\0';
    if (pv_rhosts_validate(v, &inner) < 0) {
        policy_error(k, &inner, why);
        return -1;
    }
    return 0;
}

static int check_state(const struct pv_key *k, const char *v, pv_err *why)
{
    if (strcmp(v, "file") == 0 || strcmp(v, "etcd") == 0)
        return 0;
    pv_err_set(why, "%s must be file or etcd", k->name);
    return -1;
}

/* libcurl's pinned public key: "sha256//B64[;sha256//B64...]" (each the
 * base64 of a SHA-256 digest: 43 characters and '='), or the absolute path
 * of a public key file (checked by pv_config_validate). */
static int check_pin(const struct pv_key *k, const char *v, pv_err *why)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                              "abcdefghijklmnopqrstuvwxyz0123456789+/";
    const char *p = v;

    if (v[0] == '/')
        return check_path(k, v, why);
    for (;;) {
        if (strncmp(p, "sha256//", 8) != 0)
            break;
        p += 8;
        if (strspn(p, b64) != 43 || p[43] != '=')
            break;
        p += 44;
        if (*p == '\0')
            return 0;
        if (*p++ != ';')
            break;
    }
    pv_err_set(why, "%s must be sha256//BASE64[;sha256//BASE64...] (the "
               "base64 SHA-256 of a public key) or an absolute path",
               k->name);
    return -1;
}

/* The proxy URL may carry credentials: described, never echoed. */
static int check_proxy(const struct pv_key *k, const char *v, pv_err *why)
{
    static const char *const schemes[] = {
        "http", "https", "socks4", "socks4a", "socks5", "socks5h",
    };
    const char *sep, *host = v;

    if (!is_word(v)) {
        pv_err_set(why, "%s must not contain spaces, control or non-ASCII "
                   "characters", k->name);
        return -1;
    }
    sep = strstr(v, "://");
    if (sep != NULL) {
        if (match_word(v, (size_t)(sep - v), schemes,
                       sizeof schemes / sizeof schemes[0]) < 0) {
            pv_err_set(why, "%s scheme must be http, https, socks4, "
                       "socks4a, socks5 or socks5h", k->name);
            return -1;
        }
        host = sep + 3;
    }
    if (*host == '\0' || strchr("/:?#", *host) != NULL) {
        pv_err_set(why, "%s has no host name", k->name);
        return -1;
    }
    return 0;
}

/* ---------- setters ---------- */

/* SLOT_STR keys: empty means "not set" unless the key is required. */
static int set_string(pv_config *cfg, const struct pv_key *k, const char *v,
                      pv_err *why)
{
    if (*v == '\0') {
        if (k->flags & KEY_REQUIRED) {
            pv_err_set(why, "%s must not be empty", k->name);
            return -1;
        }
        return store_str(cfg, k, NULL, why);
    }
    if (k->check != NULL && k->check(k, v, why) < 0)
        return -1;
    return store_str(cfg, k, v, why);
}

static int set_long(pv_config *cfg, const struct pv_key *k, const char *v,
                    pv_err *why)
{
    long n;

    if (pv_parse_long(v, k->min, k->max, &n) < 0) {
        pv_err_set(why, "%s must be an integer from %ld to %ld", k->name,
                   k->min, k->max);
        return -1;
    }
    *long_slot(cfg, k) = n;
    return 0;
}

static int set_bool(pv_config *cfg, const struct pv_key *k, const char *v,
                    pv_err *why)
{
    int b;

    if (pv_parse_bool(v, &b) < 0) {
        pv_err_set(why, "%s must be yes or no (or true/false, on/off, 1/0)",
                   k->name);
        return -1;
    }
    *bool_slot(cfg, k) = b;
    return 0;
}

static int auth_token_ok(const struct pv_key *k, const char *what,
                         const char *s, pv_err *why)
{
    if (!is_word(s)) {
        pv_err_set(why, "%s: the %s must be non-empty printable text "
                   "without spaces or control characters", k->name, what);
        return -1;
    }
    return 0;
}

/* "Bearer TOKEN" */
static char *bearer_header(const char *token)
{
    size_t n = strlen(token);
    char *h = malloc(n + 8);

    if (h != NULL) {
        memcpy(h, "Bearer ", 7);
        memcpy(h + 7, token, n + 1);
    }
    return h;
}

/* "Basic base64(USER:SECRET)": userpass is already "USER:SECRET", so the
 * only copy of the credential is the encoded header itself. */
static char *basic_header(const char *userpass)
{
    size_t n = strlen(userpass);
    size_t size = 6 + (n + 2) / 3 * 4 + 1;
    char *h = malloc(size);

    if (h == NULL)
        return NULL;
    memcpy(h, "Basic ", 6);
    if (pv_base64((const unsigned char *)userpass, n, h + 6, size - 6) < 0) {
        pv_wipe(h, size);
        free(h);
        return NULL;
    }
    return h;
}

/* none | bearer:TOKEN | basic:USER:SECRET (USER cannot contain ':', the
 * SECRET may).  The scheme word is case-insensitive. */
static int set_auth(pv_config *cfg, const struct pv_key *k, const char *v,
                    pv_err *why)
{
    pv_auth *a = auth_slot(cfg, k);
    char *h;

    if (strcasecmp(v, "none") == 0) {
        pv_free_secret(a->header);
        a->header = NULL;
        return 0;
    }
    if (strncasecmp(v, "bearer:", 7) == 0) {
        if (auth_token_ok(k, "token", v + 7, why) < 0)
            return -1;
        h = bearer_header(v + 7);
    } else if (strncasecmp(v, "basic:", 6) == 0) {
        const char *colon = strchr(v + 6, ':');

        if (colon == NULL || colon == v + 6 || colon[1] == '\0') {
            pv_err_set(why, "%s: basic needs a user and a secret "
                       "(basic:USER:SECRET)", k->name);
            return -1;
        }
        if (auth_token_ok(k, "user and secret", v + 6, why) < 0)
            return -1;
        h = basic_header(v + 6);
    } else {
        pv_err_set(why, "%s must be none, bearer:TOKEN or basic:USER:SECRET",
                   k->name);
        return -1;
    }
    if (h == NULL) {
        pv_err_set(why, "out of memory");
        return -1;
    }
    pv_free_secret(a->header);
    a->header = h;
    return 0;
}

/* A list of words separated by spaces, tabs and/or commas, no duplicates,
 * at least one; idx receives the word indexes in order. */
static int parse_list(const struct pv_key *k, const char *v,
                      const char *const *words, size_t nwords, int *idx,
                      size_t *n, pv_err *why)
{
    char names[64], quoted[40];

    join_words(names, sizeof names, words, nwords);
    *n = 0;
    for (;;) {
        size_t len, i;
        int w;

        v += strspn(v, " ,\t");
        if (*v == '\0')
            break;
        len = strcspn(v, " ,\t");
        w = match_word(v, len, words, nwords);
        echo(quoted, sizeof quoted, v, len);
        if (w < 0) {
            pv_err_set(why, "%s: unknown entry '%s' (expected %s)", k->name,
                       quoted, names);
            return -1;
        }
        for (i = 0; i < *n; i++)
            if (idx[i] == w) {
                pv_err_set(why, "%s: '%s' is listed twice", k->name,
                           words[w]);
                return -1;
            }
        idx[(*n)++] = w;
        v += len;
    }
    if (*n == 0) {
        pv_err_set(why, "%s must list at least one of %s", k->name, names);
        return -1;
    }
    return 0;
}

static const char *const method_words[] = {
    [PV_METHOD_SMS] = "sms", [PV_METHOD_EMAIL] = "email",
    [PV_METHOD_NUMVERIFY] = "numverify",
};
static const char *const lookup_words[] = {
    [PV_LOOKUP_FILE] = "file", [PV_LOOKUP_GECOS] = "gecos",
    [PV_LOOKUP_COMMAND] = "command",
};
static const char *const target_words[] = {
    [PV_TARGET_ANY] = "ANY", [PV_TARGET_USER] = "USER",
    [PV_TARGET_NOT_USER] = "NOT_USER",
};
static const char *const failmode_words[] = {
    [PV_FAILMODE_SECURE] = "secure", [PV_FAILMODE_SAFE] = "safe",
};
static const char *const format_words[] = {
    [PV_PHONE_SPACED] = "spaced", [PV_PHONE_E164] = "e164",
};
static const char *const unknown_words[] = { "deny", "allow" };

#define NWORDS(a) (sizeof (a) / sizeof (a)[0])

static int set_methods(pv_config *cfg, const struct pv_key *k, const char *v,
                       pv_err *why)
{
    int idx[NWORDS(method_words)];
    size_t n, i;

    if (parse_list(k, v, method_words, NWORDS(method_words), idx, &n,
                   why) < 0)
        return -1;
    for (i = 0; i < n; i++)
        cfg->methods[i] = (enum pv_method)idx[i];
    cfg->n_methods = n;
    return 0;
}

static int set_lookup(pv_config *cfg, const struct pv_key *k, const char *v,
                      pv_err *why)
{
    int idx[NWORDS(lookup_words)];
    size_t n, i;

    if (parse_list(k, v, lookup_words, NWORDS(lookup_words), idx, &n,
                   why) < 0)
        return -1;
    for (i = 0; i < n; i++)
        cfg->lookup[i] = (enum pv_lookup_source)idx[i];
    cfg->n_lookup = n;
    return 0;
}

/* One word of words (case-insensitive); its index or -1 with why set. */
static int one_of(const struct pv_key *k, const char *v,
                  const char *const *words, size_t n, pv_err *why)
{
    char names[64];
    int w = match_word(v, strlen(v), words, n);

    if (w < 0) {
        join_words(names, sizeof names, words, n);
        pv_err_set(why, "%s must be one of %s", k->name, names);
    }
    return w;
}

static int set_target(pv_config *cfg, const struct pv_key *k, const char *v,
                      pv_err *why)
{
    int w = one_of(k, v, target_words, NWORDS(target_words), why);

    if (w < 0)
        return -1;
    cfg->send_target = (enum pv_send_target)w;
    return 0;
}

static int set_failmode(pv_config *cfg, const struct pv_key *k,
                        const char *v, pv_err *why)
{
    int w = one_of(k, v, failmode_words, NWORDS(failmode_words), why);

    if (w < 0)
        return -1;
    cfg->failmode = (enum pv_failmode)w;
    return 0;
}

static int set_format(pv_config *cfg, const struct pv_key *k, const char *v,
                      pv_err *why)
{
    int w = one_of(k, v, format_words, NWORDS(format_words), why);

    if (w < 0)
        return -1;
    cfg->phone_format = (enum pv_phone_format)w;
    return 0;
}

static int set_unknown(pv_config *cfg, const struct pv_key *k,
                       const char *v, pv_err *why)
{
    int w = one_of(k, v, unknown_words, NWORDS(unknown_words), why);

    if (w < 0)
        return -1;
    cfg->precheck_unknown_allow = w;
    return 0;
}

/* Every prompt ends in ": ".  Surrounding spaces are trimmed from file
 * values (and a PAM argument cannot easily carry one), so a prompt must
 * end in ':' once trailing spaces are removed, and is stored with exactly
 * one space after that ':'.  The only '%' sequences are %p (the masked
 * number or address) and %% (a '%'), as pv_flow expands them. */
static int set_prompt(pv_config *cfg, const struct pv_key *k, const char *v,
                      pv_err *why)
{
    size_t n = strlen(v), i;
    char *p;

    while (n > 0 && v[n - 1] == ' ')
        n--;
    if (n == 0 || v[n - 1] != ':' || !is_text(v)) {
        pv_err_set(why, "%s must be printable text ending in ': '",
                   k->name);
        return -1;
    }
    if (n + 1 > PROMPT_MAX) {
        pv_err_set(why, "%s is longer than %d characters", k->name,
                   PROMPT_MAX);
        return -1;
    }
    for (i = 0; i < n; i++)
        if (v[i] == '%' && ++i < n && v[i] != 'p' && v[i] != '%') {
            pv_err_set(why, "%s: the only %% sequences are %%p and %%%%",
                       k->name);
            return -1;
        }
    if ((p = malloc(n + 2)) == NULL) {
        pv_err_set(why, "out of memory");
        return -1;
    }
    memcpy(p, v, n);
    memcpy(p + n, " ", 2);
    free(cfg->prompt);
    cfg->prompt = p;
    return 0;
}

/* ---------- renderers for the dump (SLOT_NONE keys) ---------- */

static const char *show_list(const int *idx, size_t n,
                             const char *const *words, char *tmp,
                             size_t size)
{
    size_t i, o = 0;

    tmp[0] = '\0';
    for (i = 0; i < n; i++) {
        int r = pv_snprintf(tmp + o, size - o, "%s%s", i ? " " : "",
                            words[idx[i]]);

        if (r < 0)
            break;
        o += (size_t)r;
    }
    return tmp;
}

static const char *show_methods(const pv_config *cfg, char *tmp, size_t size)
{
    int idx[PV_MAX_METHODS];
    size_t i;

    for (i = 0; i < cfg->n_methods && i < PV_MAX_METHODS; i++)
        idx[i] = (int)cfg->methods[i];
    return show_list(idx, i, method_words, tmp, size);
}

static const char *show_lookup(const pv_config *cfg, char *tmp, size_t size)
{
    int idx[PV_MAX_LOOKUPS];
    size_t i;

    for (i = 0; i < cfg->n_lookup && i < PV_MAX_LOOKUPS; i++)
        idx[i] = (int)cfg->lookup[i];
    return show_list(idx, i, lookup_words, tmp, size);
}

static const char *word_or(const char *const *words, size_t n, unsigned w)
{
    return w < n ? words[w] : "?";
}

static const char *show_target(const pv_config *cfg, char *tmp, size_t size)
{
    (void)tmp, (void)size;
    return word_or(target_words, NWORDS(target_words),
                   (unsigned)cfg->send_target);
}

static const char *show_failmode(const pv_config *cfg, char *tmp,
                                 size_t size)
{
    (void)tmp, (void)size;
    return word_or(failmode_words, NWORDS(failmode_words),
                   (unsigned)cfg->failmode);
}

static const char *show_format(const pv_config *cfg, char *tmp, size_t size)
{
    (void)tmp, (void)size;
    return word_or(format_words, NWORDS(format_words),
                   (unsigned)cfg->phone_format);
}

static const char *show_unknown(const pv_config *cfg, char *tmp,
                                size_t size)
{
    (void)tmp, (void)size;
    return cfg->precheck_unknown_allow ? "allow" : "deny";
}

/* ---------- the table: every key of SPEC section 3, in SPEC order ------ */

#define OFF(f) offsetof(pv_config, f)
#define K_STR(f, d, chk, fl) \
    { #f, d, SLOT_STR, OFF(f), set_string, chk, NULL, 0, 0, fl }
#define K_AUTH(f) \
    { #f, "none", SLOT_AUTH, OFF(f), set_auth, NULL, NULL, 0, 0, \
      KEY_SECRET | KEY_FILE_ONLY }
#define K_LONG(f, d, lo, hi) \
    { #f, d, SLOT_LONG, OFF(f), set_long, NULL, NULL, lo, hi, 0 }
#define K_BOOL(f, d) \
    { #f, d, SLOT_BOOL, OFF(f), set_bool, NULL, NULL, 0, 1, 0 }
#define K_SPECIAL(name, d, setter, shower) \
    { name, d, SLOT_NONE, 0, setter, NULL, shower, 0, 0, 0 }

static const struct pv_key keys[] = {
    K_SPECIAL("methods", "sms", set_methods, show_methods),
    K_STR(send_url, "", check_url, 0),
    K_AUTH(send_auth),
    K_SPECIAL("send_target", "ANY", set_target, show_target),
    K_STR(captcha_token, "", check_word, KEY_SECRET | KEY_FILE_ONLY),
    K_STR(verify_url, "", check_url, 0),
    K_AUTH(verify_auth),
    K_STR(precheck_url, "", check_url, 0),
    K_AUTH(precheck_auth),
    K_STR(precheck_encryption, "", check_word, KEY_SECRET),
    K_LONG(precheck_cache, "86400", 0, 2592000),
    K_SPECIAL("precheck_unknown", "deny", set_unknown, show_unknown),
    K_STR(numverify_url, "", check_url, 0),
    K_STR(numverify_licence, "", check_word, KEY_SECRET | KEY_FILE_ONLY),
    K_STR(numverify_partner, "", check_text, 0),
    K_LONG(numverify_wait, "120", 5, 900),
    K_LONG(numverify_poll, "2", 1, 60),
    K_SPECIAL("phone_format", "spaced", set_format, show_format),
    K_STR(users_file, PV_DEFAULT_USERS_FILE, check_path, KEY_REQUIRED),
    K_SPECIAL("lookup", "file", set_lookup, show_lookup),
    K_LONG(gecos_field, "5", 1, 5),
    K_STR(lookup_command, "", check_path, 0),
    K_STR(lookup_command_user, "nobody", check_user, KEY_REQUIRED),
    K_STR(groups, "", check_groups, 0),
    K_STR(trusted_rhosts, "", check_rhosts, 0),
    K_BOOL(nullok, "no"),
    K_SPECIAL("failmode", "secure", set_failmode, show_failmode),
    K_LONG(timeout, "10", 1, 300),
    K_LONG(connect_timeout, "5", 1, 60),
    K_STR(cafile, "", check_path, 0),
    K_STR(capath, "", check_path, 0),
    K_STR(pinned_pubkey, "", check_pin, 0),
    K_STR(client_cert, "", check_path, 0),
    K_STR(client_key, "", check_path, 0),
    K_STR(proxy, "", check_proxy, KEY_SECRET),
    K_LONG(max_tries, "3", 1, 10),
    K_LONG(resend, "1", 0, 5),
    K_LONG(code_length, "6", 4, 10),
    K_LONG(lockout_failures, "10", 0, PV_STATE_MAX_FAILURES),
    K_LONG(lockout_window, "900", 1, 604800),
    K_LONG(lockout_time, "900", 1, 604800),
    K_STR(state, "file", check_state, KEY_REQUIRED),
    K_STR(state_endpoints, "", check_url_list, 0),
    K_STR(state_cafile, "", check_path, 0),
    K_STR(state_client_cert, "", check_path, 0),
    K_STR(state_client_key, "", check_path, KEY_FILE_ONLY),
    K_STR(state_prefix, "/pam_phoneverify/", check_prefix, KEY_REQUIRED),
    K_LONG(state_timeout, "2", 1, 30),
    K_STR(state_dir, PV_DEFAULT_STATE_DIR, check_path, KEY_REQUIRED),
    K_LONG(send_limit, "5", 1, 1000),
    K_LONG(send_window, "3600", 60, 604800),
    K_BOOL(reuse_code, "yes"),
    { "prompt", PV_DEFAULT_PROMPT, SLOT_STR, OFF(prompt), set_prompt, NULL,
      NULL, 0, 0, KEY_REQUIRED },
    K_BOOL(echo_code, "yes"),
    K_STR(breakglass_file, "", check_path, 0),
    K_BOOL(debug, "no"),
    K_STR(helper_user, "_phoneverify", check_user, KEY_REQUIRED),
    K_STR(helper, PV_DEFAULT_HELPER, check_path, KEY_REQUIRED),
};

#define NKEYS (sizeof keys / sizeof keys[0])

static const struct pv_key *find_key(const char *name)
{
    size_t i;

    for (i = 0; i < NKEYS; i++)
        if (strcmp(keys[i].name, name) == 0)
            return &keys[i];
    return NULL;
}

/* ---------- public API ---------- */

const char *pv_method_name(enum pv_method m)
{
    return word_or(method_words, NWORDS(method_words), (unsigned)m);
}

void pv_config_free(pv_config *cfg)
{
    size_t i;

    if (cfg == NULL)
        return;
    for (i = 0; i < NKEYS; i++) {
        if (keys[i].slot == SLOT_STR)
            free_str(*str_slot(cfg, &keys[i]), keys[i].flags);
        else if (keys[i].slot == SLOT_AUTH)
            pv_free_secret(auth_slot(cfg, &keys[i])->header);
    }
    pv_wipe(cfg, sizeof *cfg);
    free(cfg);
}

pv_config *pv_config_new(void)
{
    pv_config *cfg = calloc(1, sizeof *cfg);
    size_t i;

    if (cfg == NULL)
        return NULL;
    for (i = 0; i < NKEYS; i++) {
        pv_err why;

        if (keys[i].set(cfg, &keys[i], keys[i].def, &why) < 0) {
            pv_config_free(cfg);
            return NULL;
        }
    }
    return cfg;
}

/* A value every key refuses: missing, too long, or with control
 * characters (a tab is allowed: lists may use it as a separator). */
static int check_value(const struct pv_key *k, const char *v, pv_err *why)
{
    const char *p;

    if (v == NULL) {
        pv_err_set(why, "%s needs a value", k->name);
        return -1;
    }
    if (strlen(v) > VALUE_MAX) {
        pv_err_set(why, "%s is longer than %d bytes", k->name, VALUE_MAX);
        return -1;
    }
    for (p = v; *p != '\0'; p++)
        if (((unsigned char)*p < 0x20 && *p != '\t') || *p == 0x7f) {
            pv_err_set(why, "%s contains control characters", k->name);
            return -1;
        }
    return 0;
}

/* "ORIGIN:LINE: why" for files, "ORIGIN 'key=value': why" for arguments
 * (the value only for a known key that is not a secret). */
static void report(pv_err *err, const struct pv_key *k, const char *key,
                   const char *value, const char *origin, unsigned line,
                   const pv_err *why)
{
    char ek[KEY_LEN_MAX + 4], ev[128];

    if (line > 0) {
        pv_err_set(err, "%s:%u: %s", origin, line, why->msg);
        return;
    }
    echo(ek, sizeof ek, key, strlen(key));
    if (k != NULL && !(k->flags & KEY_SECRET) && value != NULL) {
        echo(ev, sizeof ev, value, strlen(value));
        pv_err_set(err, "%s '%s=%s': %s", origin, ek, ev, why->msg);
    } else {
        pv_err_set(err, "%s '%s': %s", origin, ek, why->msg);
    }
}

int pv_config_set(pv_config *cfg, const char *key, const char *value,
                  const char *origin, unsigned line, pv_err *err)
{
    const struct pv_key *k;
    pv_err why;
    char ek[KEY_LEN_MAX + 4];

    why.msg[0] = '\0';
    if (origin == NULL)
        origin = "configuration";
    if (cfg == NULL || key == NULL) {
        pv_err_set(err, "%s: no key", origin);
        return -1;
    }
    k = find_key(key);
    if (k == NULL) {
        echo(ek, sizeof ek, key, strlen(key));
        if (strcmp(key, "conf") == 0)
            pv_err_set(&why, "conf= can only be given in the PAM line");
        else
            pv_err_set(&why, "unknown key '%s'", ek);
        report(err, NULL, key, value, origin, line, &why);
        return -1;
    }
    if (check_value(k, value, &why) < 0 || k->set(cfg, k, value, &why) < 0) {
        report(err, k, key, value, origin, line, &why);
        return -1;
    }
    return 0;
}

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

/* A key given twice is a mistake (SPEC 3): which value did the admin
 * mean?  seen[i] holds the line that first set keys[i] (0: not yet). */
static int note_key(unsigned *seen, const char *key, const char *origin,
                    unsigned lineno, pv_err *err)
{
    const struct pv_key *k = find_key(key);
    size_t i;

    if (k == NULL)
        return 0;               /* pv_config_set reports unknown keys */
    i = (size_t)(k - keys);
    if (seen[i] != 0) {
        if (lineno > 0)
            pv_err_set(err, "%s:%u: %s is given twice (first on line %u)",
                       origin, lineno, k->name, seen[i]);
        else
            pv_err_set(err, "%s '%s': given more than once in the PAM "
                       "line", origin, k->name);
        return -1;
    }
    seen[i] = lineno > 0 ? lineno : 1;
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
    unsigned lineno = 0, seen[NKEYS];
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
 * because files under /etc/pam.d are world-readable (SPEC 3). */
static int set_from_arg(pv_config *cfg, const char *key, const char *value,
                        unsigned *seen, pv_err *err)
{
    const struct pv_key *k = find_key(key);

    if (k != NULL && (k->flags & KEY_FILE_ONLY)) {
        pv_err_set(err, "argument '%s': %s holds a secret and is accepted "
                   "only in the configuration file (mode 0600), not in "
                   "the PAM line (files under /etc/pam.d are "
                   "world-readable)", k->name, k->name);
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
        echo(ea, sizeof ea, strchr(a, ':') ? "..." : a, strlen(a));
        pv_err_set(err, "argument '%s': unknown option (expected debug, "
                   "nullok, conf=PATH or key=value)", ea);
        return -1;
    }
    n = (size_t)(eq - a);
    if (n == 0) {
        pv_err_set(err, "argument '=...': missing key before '='");
        return -1;
    }
    if (n > KEY_LEN_MAX)
        n = KEY_LEN_MAX;        /* no key is that long: "unknown key" */
    memcpy(key, a, n);
    key[n] = '\0';
    return set_from_arg(cfg, key, eq + 1, seen, err);
}

int pv_config_from_args(int argc, const char **argv, pv_config **out,
                        pv_err *err)
{
    pv_config *cfg = NULL;
    const char *conf;
    unsigned seen[NKEYS];
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

/* ---------- dump ---------- */

static const char *show_key(const pv_config *cfg, const struct pv_key *k,
                            char *tmp, size_t size)
{
    const char *s;

    switch (k->slot) {
    case SLOT_STR:
        s = *str_slot(cfg, k);
        if (k->flags & KEY_SECRET)
            return s != NULL ? "(set)" : "(not set)";
        return s != NULL ? s : "";
    case SLOT_AUTH:
        return auth_slot(cfg, k)->header != NULL ? "(set)" : "(not set)";
    case SLOT_LONG:
        if (pv_snprintf(tmp, size, "%ld", *long_slot(cfg, k)) < 0)
            return "?";
        return tmp;
    case SLOT_BOOL:
        return *bool_slot(cfg, k) ? "yes" : "no";
    case SLOT_NONE:
    default:
        return k->show(cfg, tmp, size);
    }
}

void pv_config_dump(const pv_config *cfg,
                    void (*line)(void *ctx, const char *text), void *ctx)
{
    size_t i;

    if (cfg == NULL || line == NULL)
        return;
    for (i = 0; i < NKEYS; i++) {
        char tmp[64];
        const char *v = show_key(cfg, &keys[i], tmp, sizeof tmp);
        size_t n = strlen(keys[i].name) + strlen(v) + 4;
        char *text = malloc(n);

        if (text == NULL) {
            line(ctx, "(out of memory)");
            return;
        }
        pv_snprintf(text, n, "%s = %s", keys[i].name, v);
        line(ctx, text);
        free(text);
    }
}
