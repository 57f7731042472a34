/* pv_transport.h - the transport the provider clients post through.
 *
 * An ops table, as struct pv_state_ops is for state: the flow and the
 * clients hold a pv_transport and never know what is behind it.  The one
 * real implementation is the helper-backed transport of pv_http.h
 * (pv_http_transport_new); the unit tests and the fuzz harness put a
 * scripted one here.  Request, response and status types stay those of
 * pv_http.h, and so does their contract: status PV_HTTP_E_HELPER is a
 * failure on this host, the other error statuses were seen on the
 * network. */
#ifndef PV_TRANSPORT_H
#define PV_TRANSPORT_H

#include <stddef.h>
#include "transport/pv_http.h"

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
