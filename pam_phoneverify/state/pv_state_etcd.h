/* pv_state_etcd.h - `state = etcd`: the state records of a fleet in one
 * etcd v3 cluster (pam_phoneverify.conf(5), FLEET DEPLOYMENT).
 *
 * Spoken through etcd's JSON gateway (POST /v3/kv/range, /v3/kv/txn,
 * /v3/lease/grant, /v3/kv/deleterange; keys and values base64) by the same
 * helper and transport as the providers (pv_http): empty environment, TLS
 * with state_cafile and the client certificate, no redirects, every request
 * bounded by state_timeout.
 *
 * One key per user, state_prefix + "user/" + name, holding the record text
 * of pv_state.c.  An update is read -> callback -> compare-and-swap on the
 * key's mod_revision (create_revision 0 for a new key), retried on
 * conflict, so N updates from N hosts at once are N updates.  Every write
 * carries the host's lease of the current time bucket (kept in
 * state_dir/:etcd-lease, granted once per host and bucket), long enough
 * for the longest window the record serves, so records of idle users
 * expire and live leases are bounded by the number of hosts.  Used
 * break-glass codes are keys of their own, state_prefix + "bgused/" +
 * SHA-256, with no lease (pv_state_etcd_claim); provider entry health is
 * the key state_prefix + "health" (pv_state_health_update).
 *
 * Degraded mode: when no endpoint answers (network, TLS or HTTP failure)
 * the handle switches to the local file store under state_dir for the rest
 * of its life and logs `state=degraded` once: a code is still required, an
 * etcd outage neither opens the door nor stops logins, and no break-glass
 * code is accepted (its single use cannot be proven fleet-wide). */
#ifndef PV_STATE_ETCD_H
#define PV_STATE_ETCD_H

#include <stddef.h>
#include "config/pv_config.h"
#include "base/pv_err.h"
#include "state/pv_state.h"
#include "transport/pv_transport.h"

/* Most state_endpoints entries accepted (as pv_config checks). */
#define PV_STATE_ETCD_MAX_ENDPOINTS PV_MAX_ENDPOINTS
/* Compare-and-swap attempts of one update before it reports an error
 * (with a random, doubling pause between them: 50 logins of one user at
 * once must all get through). */
#define PV_STATE_ETCD_CAS_TRIES 32
/* Added to the lease TTL (bucket + longest window a record serves): it
 * covers the length of one login. */
#define PV_STATE_ETCD_LEASE_MARGIN 3600L
/* Shortest time bucket of a host's lease (doc/fleet.md). */
#define PV_STATE_ETCD_BUCKET_MIN 3600L

/* Open the backend for cfg (state_endpoints, state_prefix, state_timeout,
 * state_cafile, state_client_cert/key, helper, state_dir).  Nothing is
 * sent yet.  0 ok, -1 with err (a configuration error). */
int pv_state_etcd_open(const pv_config *cfg, pv_state **out, pv_err *err);
/* The same over transport t instead of the helper transport (NULL: that
 * one, built from cfg).  The handle owns t from the call on, also when
 * the open fails.  The unit tests script etcd's answers through it. */
int pv_state_etcd_open_with(const pv_config *cfg, pv_transport *t,
                            pv_state **out, pv_err *err);

/* For `phoneverify check-config --probe`: on every endpoint, read under
 * the prefix, grant a lease, write and delete a probe key.  0 when every
 * endpoint works (msg says so), -1 with msg naming the first endpoint that
 * fails and why (TLS trust, client certificate, refused, no answer, HTTP
 * status and etcd's message). */
int pv_state_etcd_probe(const pv_config *cfg, char *msg, size_t size);

/* Record the use of a break-glass code fleet-wide: the key
 * state_prefix + "bgused/" + digest (digest: 64 lowercase hex digits),
 * created with a compare on create_revision 0 and no lease, so it never
 * expires (a code stays usable as long as its line is in some host's
 * break-glass file).  0 claimed now, 1 claimed before (by any host), -1
 * with err when single use cannot be proven: the handle is degraded, no
 * endpoint answered, or st is not an etcd store.  Never degrades. */
int pv_state_etcd_claim(pv_state *st, const char *user, const char *digest,
                        pv_err *err);
/* 1 when st is a `state = etcd` handle (degraded or not). */
int pv_state_etcd_is(const pv_state *st);

/* HTTP requests a handle sent so far (for the debug log and tests). */
long pv_state_etcd_requests(const pv_state *st);
/* 1 when the handle went over to the local file store. */
int pv_state_etcd_degraded(const pv_state *st);

#endif
