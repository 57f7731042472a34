/* pv_http.h - the HTTP transport as the rest of the library sees it.
 *
 * The module never links libcurl.  pv_http starts the helper executable
 * `phoneverify-http` (lazily, at the first request of a login) with an
 * empty environment and one AF_UNIX socket as its stdin/stdout, sends it
 * the TLS/timeout settings of a profile before that profile's first
 * request, then one request at a time.  The helper keeps one libcurl
 * handle per profile for the whole login, so requests to the same host
 * share one TCP connection and one TLS handshake.  See pv_helper_proto.h
 * for the wire format between the two.
 *
 * One helper per login: a pv_http is a VIEW on a helper process.
 * pv_http_new makes a view with a helper of its own; pv_http_view_new
 * makes another view on the same process (the etcd backend's next to the
 * provider transport), with settings of its own sent as a profile of its
 * own, when both run the same helper program as the same helper_user
 * (else it gets a helper of its own, as before).  A view's requests
 * always carry its own profile number, fixed when the view is made, so
 * they are performed with its settings only: never with the other view's
 * CA, pinned key, client certificate and key or proxy, and never over the
 * other's connections.  The process ends when the last view is freed.
 *
 * Every wait on the helper is bounded (timeout + a margin).  Status
 * contract: PV_HTTP_E_HELPER is every LOCAL failure (the helper cannot be
 * checked, started or executed, died, was stopped or killed, missed the
 * module-side deadline, descriptors/processes/memory ran out, or broke the
 * protocol); the helper is then killed.  The other views on it lose it
 * too, and that is all: their next request starts a new helper and sets
 * it up again (no answer of the killed one can be read; its socket is
 * closed), so a local failure of one view never becomes a failure of the
 * network for another.  PV_HTTP_E_LOCAL is the helper's
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
#include "transport/pv_transport.h"

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

/* The one place a pv_http_opts is built (the module's provider transport
 * and the etcd state backend differ only in these fields): helper and
 * helper_user as configured, the timeouts and the TLS material of that
 * use; every other field (capath, pinned_pubkey, proxy) is NULL, set by
 * the caller that has one. */
pv_http_opts pv_http_opts_make(const char *helper, const char *helper_user,
                               long timeout, long connect_timeout,
                               const char *cafile, const char *client_cert,
                               const char *client_key);

typedef struct pv_http pv_http; /* opaque: one helper for one login */

/* Prepare a transport; does not start the helper yet.  opts strings are
 * copied.  NULL on ENOMEM. */
pv_http *pv_http_new(const pv_http_opts *opts);

/* Another view on base's helper with settings opts (its own profile), or,
 * when base is NULL, runs another helper program or user, or has no
 * profile number left, a view with a helper of its own (pv_http_new).
 * Freed with pv_http_free, in any order with base.  NULL on ENOMEM. */
pv_http *pv_http_view_new(pv_http *base, const pv_http_opts *opts);

/* POST a request; fills resp (always: status says what happened).  Starts
 * the helper on first use.  Returns 0 when resp->status is PV_HTTP_OK. */
int pv_http_post(pv_http *h, const pv_http_request *req,
                 pv_http_response *resp);

/* Free the view, wiping copied secrets; the last view on a helper stops
 * it (close its socket, reap it, kill it if it lingers). */
void pv_http_free(pv_http *h);

/* Number of TCP connections the helper opened so far (for tests and the
 * debug log: one per host per login is the goal). */
long pv_http_connects(const pv_http *h);

/* Helper processes started so far for h's helper (by any of its views):
 * 1 after a login's requests unless one was killed or ended. */
unsigned long pv_http_helper_starts(const pv_http *h);
/* 1 when a and b are views on the same helper. */
int pv_http_shares_helper(const pv_http *a, const pv_http *b);

/* The helper-backed transport behind the ops table of pv_transport.h (what
 * the flow and the provider clients use): a pv_http made from opts, freed
 * with pv_transport_free.  NULL on ENOMEM. */
pv_transport *pv_http_transport_new(const pv_http_opts *opts);

/* The transport of pv_http_view_new: a view on base's helper when base is
 * a helper-backed transport (else, e.g. a test's scripted transport, a
 * helper of its own).  Freed with pv_transport_free, in any order with
 * base.  NULL on ENOMEM. */
pv_transport *pv_http_transport_view(pv_transport *base,
                                     const pv_http_opts *opts);
/* The pv_http behind a helper-backed transport, or NULL (another kind). */
pv_http *pv_http_of(pv_transport *t);

#endif
