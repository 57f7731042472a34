/* pv_transport.h - the transport the provider clients post through.
 *
 * An ops table, as struct pv_state_ops is for state: the flow and the
 * clients hold a pv_transport and never know what is behind it.  The one
 * real implementation is the helper-backed transport of pv_http.h
 * (pv_http_transport_new); the unit tests and the fuzz harness put a
 * scripted one here.  The request, response and status types are the
 * interface's, defined here (pv_http.h adds only the helper transport's
 * own options), and so is their contract: status PV_HTTP_E_HELPER is a
 * failure on this host, the other error statuses were seen on the
 * network. */
#ifndef PV_TRANSPORT_H
#define PV_TRANSPORT_H

#include <stddef.h>

/* What a request may end in.  PV_HTTP_E_HELPER and PV_HTTP_E_LOCAL are
 * failures on this host; the others were seen on the network. */
#define PV_HTTP_MAX_RESPONSE (64 * 1024)

enum pv_http_status {
    PV_HTTP_OK = 0,    /* an HTTP answer arrived: see http_code      */
    PV_HTTP_E_CONNECT, /* could not connect (refused, reset)         */
    PV_HTTP_E_TIMEOUT, /* connect, total or low-speed timeout        */
    PV_HTTP_E_TOOBIG,  /* body larger than PV_HTTP_MAX_RESPONSE      */
    PV_HTTP_E_TLS,     /* certificate, pinning or handshake failure  */
    PV_HTTP_E_URL,     /* scheme/host not allowed (not https, or     */
                       /* http to a non-loopback host)               */
    PV_HTTP_E_HELPER,  /* helper missing, died, or spoke nonsense    */
    PV_HTTP_E_OTHER,   /* any other transfer failure                 */
    PV_HTTP_E_DNS,     /* a DNS answer says the name does not exist  */
    PV_HTTP_E_LOCAL,   /* this host ran out of something (helper's   */
                       /* report; see above)                          */
};

typedef struct pv_http_header {
    const char *name;
    const char *value;
} pv_http_header;

typedef struct pv_http_request {
    const char *url;
    const char *content_type;  /* "application/json" or form */
    const char *authorization; /* full header value or NULL */
    /* Headers of the provider's own (X-Captcha-Token...): n_headers
     * name/value pairs.  A name is letters, digits and '-', never one of
     * the headers the transport sets itself; the helper refuses others. */
    const pv_http_header *headers;
    size_t n_headers;
    const char *body;
    size_t body_len;
    /* Form request (numVerify): when n_form > 0 the helper builds an
     * application/x-www-form-urlencoded body from these pairs with
     * libcurl's escaping (curl_easy_escape), never by hand; body is then
     * ignored and content_type forced to the form type. */
    const char *const *form_names;
    const char *const *form_values;
    size_t n_form;
} pv_http_request;

typedef struct pv_http_response {
    enum pv_http_status status;
    long http_code; /* valid when status == PV_HTTP_OK */
    char *body;     /* NUL-terminated, malloc'd; may be NULL */
    size_t body_len;
    long elapsed_ms;
} pv_http_response;

/* Wipe and free the body. */
void pv_http_response_clear(pv_http_response *resp);

const char *pv_http_status_name(enum pv_http_status st);

/* 1 when st is a failure on this host (PV_HTTP_E_HELPER, PV_HTTP_E_LOCAL,
 * or a status this code does not know), which the calling user may be
 * able to cause: it never counts as a provider's or an etcd member's
 * outage and never marks one down.  0 for OK and what the network did. */
int pv_http_status_is_local(enum pv_http_status st);

typedef struct pv_transport pv_transport;

struct pv_transport_ops {
    /* POST req; fill resp always (resp->status says what happened, the
     * body is malloc'd and freed with pv_http_response_clear).  0 when
     * resp->status is PV_HTTP_OK, -1 otherwise. */
    int (*post)(pv_transport *t, const pv_http_request *req,
                pv_http_response *resp);
    /* Connections opened so far (debug log, tests); -1 if unknown. */
    long (*connects)(const pv_transport *t);
    /* Release t->impl and t itself. */
    void (*free)(pv_transport *t);
};

struct pv_transport {
    const struct pv_transport_ops *ops;
    void *impl; /* the implementation's own state */
};

/* Dispatchers.  post on a NULL transport is a local failure
 * (PV_HTTP_E_HELPER: out of memory when it was created); free(NULL) and
 * connects(NULL) do nothing / answer 0. */
static inline int pv_transport_post(pv_transport *t,
                                    const pv_http_request *req,
                                    pv_http_response *resp)
{
    if (t == NULL || t->ops == NULL || t->ops->post == NULL) {
        *resp = (pv_http_response){ .status = PV_HTTP_E_HELPER };
        return -1;
    }
    return t->ops->post(t, req, resp);
}

static inline long pv_transport_connects(const pv_transport *t)
{
    return (t == NULL || t->ops == NULL || t->ops->connects == NULL)
               ? 0
               : t->ops->connects(t);
}

static inline void pv_transport_free(pv_transport *t)
{
    if (t != NULL && t->ops != NULL && t->ops->free != NULL)
        t->ops->free(t);
}

#endif
