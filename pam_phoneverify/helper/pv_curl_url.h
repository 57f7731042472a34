/* pv_curl_url.h - the helper's last check on a URL before any connection:
 * https anywhere, plain http only to a loopback host.
 *
 * It is the second of the loopback checks (base/pv_url.h,
 * pv_url_loopback_host): the configuration's check has already taken the
 * URL, so this one may refuse more but must never take a host that check
 * refuses (tests/unit/test_url.c holds the order).
 *
 * Linked into the helper and into tests/unit/test_url.c. */
#ifndef PV_CURL_URL_H
#define PV_CURL_URL_H

#include <curl/curl.h>

/* url parsed by libcurl (the parser that will fetch it), when its scheme
 * is https, or http with a host that is loopback both as libcurl reads it
 * and as written in url ("http://" then that host, verbatim: libcurl
 * rewrites 127.1 or 0x7f.0.0.1 into a dotted quad, and userinfo hides
 * where the host starts).  The caller frees it with curl_url_cleanup.
 * NULL: refused (or out of memory). */
CURLU *pv_curl_url_checked(const char *url);

#endif
