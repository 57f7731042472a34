/* pv_curl_url.c - the helper's URL check (pv_curl_url.h). */
#include <string.h>
#include <strings.h>
#include "helper/pv_curl_url.h"
#include "base/pv_url.h"

/* Plain http is for the local simulator and tests only: the host libcurl
 * parsed is a loopback address by the shared rule (never a name, so not
 * "localhost", which the configuration refuses too), and it is the text
 * that follows "http://" in url, so libcurl did not rewrite it. */
static int http_loopback(const char *url, const char *host)
{
    size_t n = strlen(host);

    if (!pv_url_loopback_host(host, n, 0) || strncmp(url, "http://", 7) != 0 ||
        strncmp(url + 7, host, n) != 0)
        return 0;
    return url[7 + n] == '\0' || strchr(":/?#", url[7 + n]) != NULL;
}

/* A fresh CURLU each time: a reused one would resolve a relative URL
 * against the last. */
CURLU *pv_curl_url_checked(const char *url)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL;
    int ok = 0;

    if (u == NULL || url == NULL ||
        curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
        goto out;
    ok = strcasecmp(scheme, "https") == 0 ||
         (strcasecmp(scheme, "http") == 0 && http_loopback(url, host));
out:
    curl_free(scheme);
    curl_free(host);
    if (!ok) {
        curl_url_cleanup(u);
        u = NULL;
    }
    return u;
}
