/* pv_curl_class.c - where a transfer failed (pv_curl_class.h). */
#include <errno.h>
#include <netdb.h>
#include "helper/pv_curl_class.h"

enum pv_dns_check pv_dns_check_of(int gai_rc)
{
    switch (gai_rc) {
    case 0:
        return PV_DNS_RESOLVES;
    case EAI_NONAME: /* NXDOMAIN */
#ifdef EAI_NODATA
    case EAI_NODATA: /* the name exists, no address */
#endif
#ifdef EAI_ADDRFAMILY
    case EAI_ADDRFAMILY:
#endif
    case EAI_FAIL: /* refused, format error: a server answered */
        return PV_DNS_NO_NAME;
    default: /* EAI_AGAIN is also "could not send the query" */
        return PV_DNS_LOCAL;
    }
}

int pv_errno_is_network(long e)
{
    switch (e) {
    case ECONNREFUSED: /* the remote (or an ICMP on the way) said no */
    case ECONNRESET:
    case ECONNABORTED:
    case EPIPE:
    case ETIMEDOUT:
    case EHOSTUNREACH:
    case ENETUNREACH:
    case EHOSTDOWN:
    case ENETRESET:
        return 1;
    default: /* EADDRNOTAVAIL, ENOBUFS, ENOMEM, EMFILE, ENFILE, EAGAIN,
                EPERM (a local firewall), ...: this host */
        return 0;
    }
}

/* Codes for things the peer sent or did not send. */
static enum pv_http_status network_code(CURLcode rc, long os_errno, int toobig,
                                        enum pv_dns_check dns)
{
    switch (rc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        return dns == PV_DNS_NO_NAME ? PV_HTTP_E_DNS : PV_HTTP_E_LOCAL;
    case CURLE_COULDNT_CONNECT: /* only with the remote's own errno */
        return pv_errno_is_network(os_errno) ? PV_HTTP_E_CONNECT
                                             : PV_HTTP_E_LOCAL;
    case CURLE_RECV_ERROR: /* a TLS layer may report no errno at all */
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
        return PV_HTTP_E_CONNECT;
    case CURLE_OPERATION_TIMEDOUT:
        return PV_HTTP_E_TIMEOUT;
    case CURLE_WRITE_ERROR: /* only our cap may end a body */
        return toobig ? PV_HTTP_E_TOOBIG : PV_HTTP_E_LOCAL;
    case CURLE_FILESIZE_EXCEEDED:
        return PV_HTTP_E_TOOBIG;
    case CURLE_SSL_CONNECT_ERROR: /* the peer's side of TLS */
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_SSL_CLIENTCERT:
        return PV_HTTP_E_TLS;
    case CURLE_PARTIAL_FILE: /* a broken answer */
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_BAD_CONTENT_ENCODING:
#if LIBCURL_VERSION_NUM >= 0x074900
    case CURLE_PROXY:
#endif
        return PV_HTTP_E_OTHER;
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
        return PV_HTTP_E_URL;
    default: /* CURLE_OUT_OF_MEMORY, local TLS material, our callbacks,
                and every code this table does not know */
        return PV_HTTP_E_LOCAL;
    }
}

enum pv_http_status pv_curl_classify(CURLcode rc, long os_errno, int toobig,
                                     enum pv_dns_check dns)
{
    if (rc == CURLE_OK)
        return PV_HTTP_OK;
    /* An errno that says "this host" wins over any code: a send that
     * failed with ENOBUFS is not the remote's doing. */
    if (os_errno != 0 && !pv_errno_is_network(os_errno))
        return PV_HTTP_E_LOCAL;
    return network_code(rc, os_errno, toobig, dns);
}
