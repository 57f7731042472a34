/* pv_provider.c - what every JSON provider client shares: build the body,
 * POST it through the transport, and wipe the body (it may hold a code). */
#include <stdlib.h>
#include <string.h>
#include "base/pv_json.h"
#include "provider/pv_provider.h"
#include "base/pv_util.h"

/* The transport already decided what was local (pv_http.h): whatever
 * pv_http_status_is_local says is local is PV_FAILURE_LOCAL here, so no
 * failure the calling user can cause on this host reads as an outage. */
enum pv_failure pv_provider_transport_failure(enum pv_http_status st)
{
    if (pv_http_status_is_local(st))
        return PV_FAILURE_LOCAL;
    switch (st) {
    case PV_HTTP_OK:
        return PV_FAILURE_NONE;
    case PV_HTTP_E_DNS: /* what the helper saw on the network */
    case PV_HTTP_E_CONNECT:
    case PV_HTTP_E_TIMEOUT:
    case PV_HTTP_E_TLS:
    case PV_HTTP_E_TOOBIG:
    case PV_HTTP_E_OTHER:
        return PV_FAILURE_OUTAGE;
    case PV_HTTP_E_URL:
        return PV_FAILURE_CONFIG;
    default: /* unknown: closed */
        return PV_FAILURE_LOCAL;
    }
}

int pv_provider_post_json(pv_transport *http, const pv_json_call *call,
                          pv_http_response *resp, char *detail, size_t size,
                          enum pv_failure *failure)
{
    pv_http_request req;
    char *body;
    int rc;

    memset(resp, 0, sizeof(*resp));
    body = pv_json_build_strings(call->keys, call->values, call->n);
    if (body == NULL) {
        resp->status = PV_HTTP_E_HELPER;
        pv_strlcpy(detail, "out_of_memory", size);
        *failure = PV_FAILURE_LOCAL;
        return -1;
    }
    memset(&req, 0, sizeof(req));
    req.url = call->url;
    req.content_type = "application/json";
    req.authorization = call->authorization;
    req.headers = call->headers;
    req.n_headers = call->n_headers;
    req.body = body;
    req.body_len = strlen(body);
    rc = pv_transport_post(http, &req, resp);
    *failure = pv_provider_transport_failure(resp->status);
    if (rc != 0)
        pv_snprintf(detail, size, "transport_%s",
                    pv_http_status_name(resp->status));
    pv_free_secret(body);
    return rc;
}
