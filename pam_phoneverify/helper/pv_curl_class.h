/* pv_curl_class.h - where a transfer failed: the network, or this host.
 *
 * The one table that turns what libcurl reported (its CURLcode, the
 * connect errno from CURLINFO_OS_ERRNO, our own size cap, and for a name
 * that did not resolve the helper's own second lookup) into the status
 * the module sees (pv_http.h).  Only what the remote end or the network
 * did is a network status: refused or reset by the remote, no answer in
 * time, a DNS answer saying the name does not exist, a TLS failure of the
 * peer, an oversized or broken answer.  Everything else, unknown codes and
 * errnos included, is PV_HTTP_E_LOCAL: this host ran out of threads,
 * processes, descriptors, memory, local ports or buffers, which the user
 * who started sudo or su may have arranged (pam_phoneverify(8), FAILMODE).
 *
 * Linked into the helper and into the unit tests (tests/unit/test_http.c);
 * needs libcurl's header, not the library. */
#ifndef PV_CURL_CLASS_H
#define PV_CURL_CLASS_H

#include <curl/curl.h>
#include "transport/pv_http.h"

/* The helper's own lookup of a name libcurl could not resolve. */
enum pv_dns_check {
    PV_DNS_UNCHECKED = 0, /* no second lookup was made */
    PV_DNS_NO_NAME,       /* a DNS answer: no such name, no address,
                             refused (EAI_NONAME, EAI_NODATA, EAI_FAIL) */
    PV_DNS_RESOLVES,      /* it resolves now: libcurl's failure was ours
                             (its resolver thread could not start) */
    PV_DNS_LOCAL,         /* EAI_SYSTEM, EAI_MEMORY, EAI_AGAIN (a query
                             that may never have left this host), other */
};

/* getaddrinfo(3) return value -> pv_dns_check. */
enum pv_dns_check pv_dns_check_of(int gai_rc);

/* 1 when errno e is something the remote end or the network did to a
 * connection (refused, reset, unreachable, timed out), 0 otherwise. */
int pv_errno_is_network(long e);

/* The classification.  toobig: our size cap ended the transfer. */
enum pv_http_status pv_curl_classify(CURLcode rc, long os_errno, int toobig,
                                     enum pv_dns_check dns);

#endif
