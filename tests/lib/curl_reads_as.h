/* curl_reads_as.h - the reference reading of an operator link, for tests
 * and fuzzing only.
 *
 * SPEC 5: the numVerify operator link must parse with libcurl's URL API as
 * https:// (or http:// to an exact loopback host) with no user or password
 * part.  The module checks links with its own strict grammar (pv_url.c)
 * so that it does not load libcurl's dependency tree into sshd and sudo;
 * this function is the oracle the unit test and the fuzz harness hold
 * every accepted link against: libcurl must read it with the same scheme,
 * the same host and port as the text between "://" and the path, and no
 * user, password, login options or zone. */
#ifndef PV_TEST_CURL_READS_AS_H
#define PV_TEST_CURL_READS_AS_H

#include <curl/curl.h>
#include <string.h>
#include <strings.h>

/* A part libcurl must not find in the link. */
static int curl_has_part(CURLU *u, CURLUPart part)
{
    char *v = NULL;
    CURLUcode rc = curl_url_get(u, part, &v, 0);

    curl_free(v);
    return rc == CURLUE_OK;
}

/* 1 when libcurl reads url as a link the module may show: scheme https
 * (or http), no userinfo, and host[:port] exactly the link's authority
 * text (host case aside).  0 otherwise. */
static int curl_reads_as_link(const char *url)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *port = NULL;
    const char *auth;
    size_t alen, hlen;
    int ok = 0;

    if (u == NULL)
        return 0;
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_has_part(u, CURLUPART_USER) ||
        curl_has_part(u, CURLUPART_PASSWORD) ||
        curl_has_part(u, CURLUPART_OPTIONS) ||
        curl_has_part(u, CURLUPART_ZONEID) ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
        goto out;
    if (curl_url_get(u, CURLUPART_PORT, &port, 0) != CURLUE_OK)
        port = NULL;
    if (strcmp(scheme, "https") != 0 && strcmp(scheme, "http") != 0)
        goto out;
    auth = strstr(url, "://");
    if (auth == NULL)
        goto out;
    auth += 3;
    alen = strcspn(auth, "/?#");
    hlen = strlen(host);
    if (hlen > alen || strncasecmp(auth, host, hlen) != 0)
        goto out;
    if (port == NULL)
        ok = hlen == alen;
    else
        ok = alen == hlen + 1 + strlen(port) && auth[hlen] == ':' &&
             strncmp(auth + hlen + 1, port, strlen(port)) == 0;
out:
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);
    return ok;
}

#endif
