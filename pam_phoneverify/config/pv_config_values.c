/* pv_config_values.c - checks of single configuration values (pam_phoneverify.conf(5)):
 * URLs (https, or http only to a loopback address), paths, user names,
 * tokens, groups and CIDR lists, TLS pins, the proxy, provider
 * credentials.  Each takes the key's name for its message and never echoes
 * a value that may be secret.  pv_config.c's key table names the check of
 * each key; nothing here knows the table. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/pv_base64.h"
#include "config/pv_config_values.h"
#include "base/pv_i18n.h"
#include "config/pv_scope.h"
#include "base/pv_url.h"
#include "base/pv_util.h"

#define PATH_LEN_MAX 4095
#define USER_LEN_MAX 32

/* Copy at most len bytes of src for quoting in a message: non-printable
 * and non-ASCII bytes become '?', long text is cut with "...". */
void pv_cfgval_quote(char *dst, size_t size, const char *src, size_t len)
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

/* scheme (len bytes at s) is one of words, case-insensitive */
static int scheme_known(const char *s, size_t len, const char *const *words,
                        size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (strncasecmp(s, words[i], len) == 0 && words[i][len] == '\0')
            return 1;
    return 0;
}

/* Non-empty, printable ASCII, no spaces (tokens, URLs, licences). */
int pv_cfgval_is_word(const char *s)
{
    return pv_printable_word(s, SIZE_MAX);
}

/* No control characters at all (tab included); UTF-8 allowed. */
int pv_cfgval_is_text(const char *s)
{
    for (; *s != '\0'; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
            return 0;
    return 1;
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
            pv_err_set(why,
                       "%s must be a URL without spaces, control or "
                       "non-ASCII characters",
                       name);
            return -1;
        }
    if (!https && !(vlen > 7 && strncmp(v, "http://", 7) == 0)) {
        pv_err_set(why,
                   "%s must start with https:// (or http:// to a "
                   "loopback address)",
                   name);
        return -1;
    }
    auth = v + (https ? 8 : 7);
    alen = strcspn(auth, "/?#");
    if (auth + alen > v + vlen)
        alen = (size_t)(v + vlen - auth);
    if (memchr(auth, '@', alen) != NULL) {
        pv_err_set(why,
                   "%s must not contain a user or password (use the "
                   "matching _auth key)",
                   name);
        return -1;
    }
    if (alen == 0 || auth[0] == ':' || split_port(auth, alen, &hlen) < 0 ||
        hlen == 0) {
        pv_err_set(why, "%s has no valid host[:port]", name);
        return -1;
    }
    /* plain HTTP only for tests and the demo on this machine
     * (pam_phoneverify.conf(5)); the most trusted of the loopback checks */
    if (!https && !pv_url_loopback_host(auth, hlen, 0)) {
        pv_err_set(why,
                   "%s: plain http:// is allowed only to a loopback "
                   "address (127.0.0.0/8 or [::1]); use https://",
                   name);
        return -1;
    }
    return 0;
}

int pv_cfgval_url(const char *name, const char *v, pv_err *why)
{
    return check_one_url(name, v, strlen(v), why);
}

/* An etcd key prefix: printable, no spaces, starts and ends with '/'. */
int pv_cfgval_prefix(const char *name, const char *v, pv_err *why)
{
    size_t n = strlen(v);

    if (!pv_cfgval_is_word(v) || v[0] != '/' || v[n - 1] != '/' || n > 128) {
        pv_err_set(why,
                   "%s must start and end with '/' (printable, no "
                   "spaces, at most 128 characters)",
                   name);
        return -1;
    }
    return 0;
}

/* Space-separated URLs (state_endpoints; send_url and verify_url, one per
 * provider entry), at most PV_MAX_ENDPOINTS. */
int pv_cfgval_url_list(const char *name, const char *v, pv_err *why)
{
    size_t n = 0;

    for (;;) {
        size_t len;

        v += strspn(v, " \t");
        if (*v == '\0')
            break;
        len = strcspn(v, " \t");
        if (++n > PV_MAX_ENDPOINTS) {
            pv_err_set(why, "%s lists more than %d URLs", name,
                       PV_MAX_ENDPOINTS);
            return -1;
        }
        if (check_one_url(name, v, len, why) < 0)
            return -1;
        v += len;
    }
    if (n == 0) {
        pv_err_set(why, "%s must list at least one URL", name);
        return -1;
    }
    return 0;
}

int pv_cfgval_path(const char *name, const char *v, pv_err *why)
{
    if (v[0] != '/') {
        pv_err_set(why, "%s must be an absolute path", name);
        return -1;
    }
    if (!pv_cfgval_is_text(v) || strlen(v) > PATH_LEN_MAX) {
        pv_err_set(why,
                   "%s must be a path without control characters, "
                   "at most %d bytes",
                   name, PATH_LEN_MAX);
        return -1;
    }
    return 0;
}

/* capath: refused where it is set, so that the error names the file and
 * line.  The helper gets its CA as data from the module (it reads no file
 * of root's): one checked file can be handed over, a directory cannot. */
int pv_cfgval_capath(const char *name, const char *v, pv_err *why)
{
    (void)v;
    pv_err_set(why,
               "%s is not supported: put the CA certificates in one file "
               "and name it with cafile",
               name);
    return -1;
}

/* captcha_token, numverify_licence, precheck_encryption: never echoed. */
int pv_cfgval_word(const char *name, const char *v, pv_err *why)
{
    if (!pv_cfgval_is_word(v)) {
        pv_err_set(why,
                   "%s must be printable text without spaces or "
                   "control characters",
                   name);
        return -1;
    }
    return 0;
}

int pv_cfgval_text(const char *name, const char *v, pv_err *why)
{
    if (!pv_cfgval_is_text(v)) {
        pv_err_set(why,
                   "%s must be printable text without control "
                   "characters",
                   name);
        return -1;
    }
    return 0;
}

/* A login name as useradd accepts it: [A-Za-z0-9._-], optional final '$',
 * not starting with '-'. */
int pv_cfgval_user(const char *name, const char *v, pv_err *why)
{
    static const char ok[] = "abcdefghijklmnopqrstuvwxyz"
                             "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-";
    size_t n = strspn(v, ok);

    if (v[0] == '-' || n > USER_LEN_MAX ||
        !(v[n] == '\0' || (v[n] == '$' && v[n + 1] == '\0'))) {
        pv_err_set(why,
                   "%s must be a user name (letters, digits, '.', "
                   "'_', '-', at most %d characters)",
                   name, USER_LEN_MAX);
        return -1;
    }
    return 0;
}

/* pv_policy's messages already name their key ("groups: ..."); add the
 * name only when they do not. */
static void policy_error(const char *name, const pv_err *inner, pv_err *why)
{
    size_t n = strlen(name);

    if (strncmp(inner->msg, name, n) == 0 && inner->msg[n] == ':')
        pv_err_set(why, "%s", inner->msg);
    else
        pv_err_set(why, "%s: %s", name, inner->msg);
}

int pv_cfgval_groups(const char *name, const char *v, pv_err *why)
{
    pv_err inner;

    inner.msg[0] = '\0';
    if (pv_groups_validate(v, &inner) < 0) {
        policy_error(name, &inner, why);
        return -1;
    }
    return 0;
}

int pv_cfgval_rhosts(const char *name, const char *v, pv_err *why)
{
    pv_err inner;

    inner.msg[0] = '\0';
    if (pv_rhosts_validate(v, &inner) < 0) {
        policy_error(name, &inner, why);
        return -1;
    }
    return 0;
}

int pv_cfgval_state(const char *name, const char *v, pv_err *why)
{
    if (strcmp(v, "file") == 0 || strcmp(v, "etcd") == 0)
        return 0;
    pv_err_set(why, "%s must be file or etcd", name);
    return -1;
}

/* libcurl's pinned public key: "sha256//B64[;sha256//B64...]" (each the
 * base64 of a SHA-256 digest: 43 characters and '='), or the absolute path
 * of a public key file (checked by pv_config_validate). */
int pv_cfgval_pin(const char *name, const char *v, pv_err *why)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                              "abcdefghijklmnopqrstuvwxyz0123456789+/";
    const char *p = v;

    if (v[0] == '/')
        return pv_cfgval_path(name, v, why);
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
    pv_err_set(why,
               "%s must be sha256//BASE64[;sha256//BASE64...] (the "
               "base64 SHA-256 of a public key) or an absolute path",
               name);
    return -1;
}

/* The proxy URL may carry credentials: described, never echoed. */
int pv_cfgval_proxy(const char *name, const char *v, pv_err *why)
{
    static const char *const schemes[] = {
        "http", "https", "socks4", "socks4a", "socks5", "socks5h",
    };
    const char *sep, *host = v;

    if (!pv_cfgval_is_word(v)) {
        pv_err_set(why,
                   "%s must not contain spaces, control or non-ASCII "
                   "characters",
                   name);
        return -1;
    }
    sep = strstr(v, "://");
    if (sep != NULL) {
        if (!scheme_known(v, (size_t)(sep - v), schemes,
                          sizeof schemes / sizeof schemes[0])) {
            pv_err_set(why,
                       "%s scheme must be http, https, socks4, "
                       "socks4a, socks5 or socks5h",
                       name);
            return -1;
        }
        host = sep + 3;
    }
    if (*host == '\0' || strchr("/:?#", *host) != NULL) {
        pv_err_set(why, "%s has no host name", name);
        return -1;
    }
    return 0;
}

static int auth_token_ok(const char *name, const char *what, const char *s,
                         pv_err *why)
{
    if (!pv_cfgval_is_word(s)) {
        pv_err_set(why,
                   "%s: the %s must be non-empty printable text "
                   "without spaces or control characters",
                   name, what);
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
 * SECRET may).  The scheme word is case-insensitive.  *header: the ready
 * Authorization value, NULL for none. */
int pv_cfgval_auth(const char *name, const char *v, char **header, pv_err *why)
{
    char *h;

    *header = NULL;
    if (strcasecmp(v, "none") == 0)
        return 0;
    if (strncasecmp(v, "bearer:", 7) == 0) {
        if (auth_token_ok(name, "token", v + 7, why) < 0)
            return -1;
        h = bearer_header(v + 7);
    } else if (strncasecmp(v, "basic:", 6) == 0) {
        const char *colon = strchr(v + 6, ':');

        if (colon == NULL || colon == v + 6 || colon[1] == '\0') {
            pv_err_set(why,
                       "%s: basic needs a user and a secret "
                       "(basic:USER:SECRET)",
                       name);
            return -1;
        }
        if (auth_token_ok(name, "user and secret", v + 6, why) < 0)
            return -1;
        h = basic_header(v + 6);
    } else {
        pv_err_set(why, "%s must be none, bearer:TOKEN or basic:USER:SECRET",
                   name);
        return -1;
    }
    if (h == NULL) {
        pv_err_set(why, "out of memory");
        return -1;
    }
    *header = h;
    return 0;
}

/* en, or the name of a catalogue under locale_dir (zh_CN). */
int pv_cfgval_language(const char *name, const char *v, pv_err *why)
{
    if (!pv_language_name_valid(v)) {
        pv_err_set(why, "%s must be a language name such as en or zh_CN",
                   name);
        return -1;
    }
    return 0;
}

/* numverify_link_hosts: space-separated hosts an operator link may point
 * to, each exact (operator.example.com, a dotted quad, [IPv6]) or
 * "*.example.com" (one or more labels under example.com, not example.com
 * itself, and never "*.com"): the grammar is pv_url.c's, so a listed name
 * is one a link can carry.  An IDNA ("xn--") name is refused here, since
 * a link to it is never shown. */
int pv_cfgval_link_hosts(const char *name, const char *v, pv_err *why)
{
    char quoted[80];

    for (;;) {
        size_t len;

        v += strspn(v, " \t");
        if (*v == '\0')
            return 0;
        len = strcspn(v, " \t");
        if (!pv_url_host_pattern_ok(v, len)) {
            pv_cfgval_quote(quoted, sizeof quoted, v, len);
            pv_err_set(why,
                       "%s: '%s' is not a host name (operator.example.com, "
                       "no port, no IDNA xn-- label) or *.domain with at "
                       "least two labels (*.example.com)",
                       name, quoted);
            return -1;
        }
        v += len;
    }
}

/* URL lists (send_url, verify_url: one entry per provider account,
 * pam_phoneverify.conf(5) PROVIDER FAILOVER). */
#define SEPARATORS " \t"

/* Start and length of URL i, or -1. */
static int locate(const char *list, size_t i, const char **start, size_t *len)
{
    size_t k = 0;

    if (list == NULL)
        return -1;
    for (;;) {
        list += strspn(list, SEPARATORS);
        if (*list == '\0')
            return -1;
        *len = strcspn(list, SEPARATORS);
        if (k == i) {
            *start = list;
            return 0;
        }
        list += *len;
        k++;
    }
}

size_t pv_url_list_count(const char *list)
{
    const char *p;
    size_t n = 0, len;

    while (locate(list, n, &p, &len) == 0)
        n++;
    return n;
}

int pv_url_list_item(const char *list, size_t i, char *buf, size_t size)
{
    const char *p;
    size_t len;

    if (size == 0)
        return -1;
    buf[0] = '\0';
    if (locate(list, i, &p, &len) != 0 || len >= size)
        return -1;
    memcpy(buf, p, len);
    buf[len] = '\0';
    return 0;
}
