/* pv_url.c - the operator link check (doc/security.md: "The numVerify operator link
 * must parse (libcurl's URL API) as https://, or http:// to an exact
 * loopback host, with no user or password part").
 *
 * libcurl parses the link; then the raw authority of the link (between
 * "://" and the first '/', '?' or '#') must read exactly as the host and
 * port libcurl found.  Two parsers that disagree about where the host is
 * are how `http://127.0.0.1@evil.example/` or `http://127.0.0.1.evil/`
 * style links get past a check, so anything a browser might read
 * differently (userinfo, percent-encoding, backslashes, numeric host
 * forms libcurl normalises) is refused rather than interpreted. */
#include <curl/curl.h>
#include <string.h>
#include <strings.h>
#include "pv_url.h"
#include "pv_util.h"

#define HOST_MAX 256

/* One decimal octet 0..255 without a leading zero; advances *p. */
static int octet(const char **p, unsigned *value)
{
    const char *s = *p;
    unsigned v = 0;
    size_t n = 0;

    while (s[n] >= '0' && s[n] <= '9' && n < 4) {
        v = v * 10 + (unsigned)(s[n] - '0');
        n++;
    }
    if (n == 0 || n > 3 || v > 255 || (n > 1 && s[0] == '0'))
        return 0;
    *p = s + n;
    *value = v;
    return 1;
}

/* host is a plain dotted quad in 127.0.0.0/8 (not 0x7f.1, 2130706433,
 * 127.1 or 127.000.0.1), or exactly "[::1]". */
static int loopback_host(const char *host)
{
    unsigned v, first = 0;
    int i;

    if (strcmp(host, "[::1]") == 0)
        return 1;
    for (i = 0; i < 4; i++) {
        if (!octet(&host, &v))
            return 0;
        if (i == 0)
            first = v;
        if (i < 3 && *host++ != '.')
            return 0;
    }
    return *host == '\0' && first == 127;
}

/* The raw authority of url after the scheme's "://": up to the first
 * '/', '?', '#' or the end.  0 ok, -1 too long. */
static int raw_authority(const char *rest, char *out, size_t size)
{
    size_t n = strcspn(rest, "/?#");

    if (n >= size)
        return -1;
    memcpy(out, rest, n);
    out[n] = '\0';
    return 0;
}

/* Whether the authority text is exactly host, or host ":" port. */
static int authority_is(const char *auth, const char *host, const char *port)
{
    size_t hl = strlen(host);

    if (strncasecmp(auth, host, hl) != 0) /* host case is no matter */
        return 0;
    if (auth[hl] == '\0')
        return port == NULL;
    return auth[hl] == ':' && port != NULL && strcmp(auth + hl + 1, port) == 0;
}

/* A part libcurl must not find in the link (user, password, options). */
static int has_part(CURLU *u, CURLUPart part)
{
    char *v = NULL;
    CURLUcode rc = curl_url_get(u, part, &v, 0);

    curl_free(v);
    return rc == CURLUE_OK;
}

static int parsed_ok(CURLU *u, const char *auth, int https)
{
    char *host = NULL, *port = NULL;
    int ok = 0;

    if (has_part(u, CURLUPART_USER) || has_part(u, CURLUPART_PASSWORD) ||
        has_part(u, CURLUPART_OPTIONS) || has_part(u, CURLUPART_ZONEID))
        return 0;
    if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
        host == NULL || host[0] == '\0' || strlen(host) >= HOST_MAX)
        goto out;
    if (curl_url_get(u, CURLUPART_PORT, &port, 0) != CURLUE_OK)
        port = NULL; /* none given */
    ok = authority_is(auth, host, port) && (https || loopback_host(host));
out:
    curl_free(host);
    curl_free(port);
    return ok;
}

int pv_url_link_ok(const char *url, size_t max)
{
    char auth[HOST_MAX + 8];
    const char *rest;
    CURLU *u;
    int https, ok = 0;

    if (url == NULL || !pv_printable_word(url, max) ||
        strchr(url, '\\') != NULL)
        return 0;
    if (strncmp(url, "https://", 8) == 0) {
        https = 1;
        rest = url + 8;
    } else if (strncmp(url, "http://", 7) == 0) {
        https = 0;
        rest = url + 7;
    } else {
        return 0;
    }
    if (raw_authority(rest, auth, sizeof(auth)) != 0 || auth[0] == '\0' ||
        strpbrk(auth, "@%") != NULL)
        return 0;
    u = curl_url();
    if (u == NULL)
        return 0;
    if (curl_url_set(u, CURLUPART_URL, url, CURLU_DISALLOW_USER) == CURLUE_OK)
        ok = parsed_ok(u, auth, https);
    curl_url_cleanup(u);
    return ok;
}
