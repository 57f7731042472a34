/* pv_state_open.h - open the state backend the configuration names. */
#ifndef PV_STATE_OPEN_H
#define PV_STATE_OPEN_H

#include "config/pv_config.h"
#include "state/pv_state.h"
#include "transport/pv_transport.h"

/* Open the backend the configuration names (`state`, `state_dir`).
 * 0 ok, -1 with err (a configuration error). */
int pv_state_open(const pv_config *cfg, pv_state **out, pv_err *err);
/* The same for a login whose requests go through http (the flow's
 * transport): a backend that needs a transport (etcd) gets a view on
 * http's helper with its own settings (pv_http_transport_view), so the
 * login runs one helper, not two.  http stays the caller's; the backend
 * may outlive it or not.  http NULL: as pv_state_open. */
int pv_state_open_shared(const pv_config *cfg, pv_transport *http,
                         pv_state **out, pv_err *err);
/* The one place the etcd backend's transport is made for a login: a view
 * on http's helper (pv_http_transport_view) whose profile holds the
 * state_* settings (state_timeout, state_cafile, state_client_cert/key)
 * and nothing of the provider's (cafile, client certificate, proxy,
 * pinned key).  NULL on ENOMEM.  Tests use it to show what reaches which
 * host. */
pv_transport *pv_state_etcd_transport(const pv_config *cfg,
                                      pv_transport *http);

/* The store grace grants live in: this host's file store under state_dir.
 * *grants is main itself when main is that store (`state = file`), else a
 * store opened here that the caller closes with pv_state_close (*opened
 * 1).  0 ok, -1 err. */
int pv_state_grant_store(const pv_config *cfg, pv_state *main,
                         pv_state **grants, int *opened, pv_err *err);

#endif
