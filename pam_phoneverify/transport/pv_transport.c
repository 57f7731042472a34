/* pv_transport.c - what every transport shares: the response's cleanup and
 * the reading of a status (pv_transport.h). */
#include <stdlib.h>
#include <string.h>

#include "transport/pv_transport.h"
#include "base/pv_util.h"

void pv_http_response_clear(pv_http_response *resp)
{
    if (resp == NULL)
        return;
    if (resp->body != NULL) {
        pv_wipe(resp->body, resp->body_len);
        free(resp->body);
    }
    memset(resp, 0, sizeof(*resp));
}

const char *pv_http_status_name(enum pv_http_status st)
{
    switch (st) {
    case PV_HTTP_OK:
        return "ok";
    case PV_HTTP_E_CONNECT:
        return "connect";
    case PV_HTTP_E_TIMEOUT:
        return "timeout";
    case PV_HTTP_E_TOOBIG:
        return "toobig";
    case PV_HTTP_E_TLS:
        return "tls";
    case PV_HTTP_E_URL:
        return "url";
    case PV_HTTP_E_HELPER:
        return "helper";
    case PV_HTTP_E_OTHER:
        return "other";
    case PV_HTTP_E_DNS:
        return "dns";
    case PV_HTTP_E_LOCAL:
        return "local";
    }
    return "unknown";
}

int pv_http_status_is_local(enum pv_http_status st)
{
    switch (st) {
    case PV_HTTP_OK:
    case PV_HTTP_E_CONNECT:
    case PV_HTTP_E_TIMEOUT:
    case PV_HTTP_E_TOOBIG:
    case PV_HTTP_E_TLS:
    case PV_HTTP_E_URL:
    case PV_HTTP_E_OTHER:
    case PV_HTTP_E_DNS:
        return 0;
    case PV_HTTP_E_HELPER:
    case PV_HTTP_E_LOCAL:
        return 1;
    }
    return 1; /* a status this code does not know: closed */
}
