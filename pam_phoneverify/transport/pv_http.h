/* pv_http.h - the HTTP transport as the rest of the library sees it.
 *
 * The module never links libcurl.  pv_http starts the helper executable
 * `phoneverify-http` (lazily, at the first request of a login) with an
 * empty environment and one AF_UNIX socket as its stdin/stdout, sends it
 * the TLS/timeout settings once, then one request at a time.  The helper
 * keeps one libcurl handle for the whole login, so requests to the same
 * host share one TCP connection and one TLS handshake.  See
 * pv_helper_proto.h for the wire format between the two.
 *
 * Every wait on the helper is bounded (timeout + a margin).  Status
 * contract: PV_HTTP_E_HELPER is every LOCAL failure (the helper cannot be
 * checked, started or executed, died, was stopped or killed, missed the
 * module-side deadline, descriptors/processes/memory ran out, or broke the
 * protocol); the helper is then killed.  PV_HTTP_E_LOCAL is the helper's
 * own report of a failure on this host (it ran out of threads, processes,
 * descriptors, memory, local ports or buffers; its limits were changed
 * under it; local TLS material was unusable): also local, the helper
 * lives on.  PV_HTTP_E_DNS, _CONNECT, _TIMEOUT, _TLS, _TOOBIG and _OTHER
 * are what the remote end or the network did, as the helper saw it;
 * the helper decides which with one table (helper/pv_curl_class.h).
 *
 * The helper runs as opts.helper_user when the module runs as root (see
 * pv_spawn.h); the CA file and client certificate and key are read here,
 * through checked descriptors, and handed to it as data. */
#ifndef PV_HTTP_H
#define PV_HTTP_H

#include <stddef.h>
#include "base/pv_err.h"

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

typedef struct pv_http_opts {
    const char *helper;      /* path of phoneverify-http */
    const char *helper_user; /* run as, when root; NULL: _phoneverify;
                                it must exist (no fallback user) */
    long timeout;            /* seconds, whole request */
    long connect_timeout;    /* seconds */
    const char *cafile, *pinned_pubkey; /* cafile read here, sent as data */
    const char *capath; /* refused (E_HELPER): a directory cannot
                                  * be handed over safely as one blob */
    const char *client_cert, *client_key; /* read here, sent as data */
    const char *proxy; /* the only proxy ever used; NULL: none */
} pv_http_opts;

typedef struct pv_http_request {
    const char *url;
    const char *content_type;  /* "application/json" or form */
    const char *authorization; /* full header value or NULL */
    const char *captcha_token; /* x-captcha-token value or NULL */
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

typedef struct pv_http pv_http; /* opaque: one helper for one login */

/* Prepare a transport; does not start the helper yet.  opts strings are
 * copied.  NULL on ENOMEM. */
pv_http *pv_http_new(const pv_http_opts *opts);

/* POST a request; fills resp (always: status says what happened).  Starts
 * the helper on first use.  Returns 0 when resp->status is PV_HTTP_OK. */
int pv_http_post(pv_http *h, const pv_http_request *req,
                 pv_http_response *resp);

/* Wipe and free the body. */
void pv_http_response_clear(pv_http_response *resp);

/* Stop the helper (close its socket, reap it, kill it if it lingers) and
 * free everything, wiping copied secrets. */
void pv_http_free(pv_http *h);

/* Number of TCP connections the helper opened so far (for tests and the
 * debug log: one per host per login is the goal). */
long pv_http_connects(const pv_http *h);

const char *pv_http_status_name(enum pv_http_status st);

/* 1 when st is a failure on this host (PV_HTTP_E_HELPER, PV_HTTP_E_LOCAL,
 * or a status this code does not know), which the calling user may be
 * able to cause: it never counts as a provider's or an etcd member's
 * outage and never marks one down.  0 for OK and what the network did. */
int pv_http_status_is_local(enum pv_http_status st);

/* The helper-backed transport behind the ops table of pv_transport.h (what
 * the flow and the provider clients use): a pv_http made from opts, freed
 * with pv_transport_free.  NULL on ENOMEM. */
struct pv_transport;
struct pv_transport *pv_http_transport_new(const pv_http_opts *opts);

#endif
