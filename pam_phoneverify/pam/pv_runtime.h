/* pv_runtime.h - what the module and the CLI both need to run the flow for
 * real: the system clock and a transport configured from pv_config. */
#ifndef PV_RUNTIME_H
#define PV_RUNTIME_H

#include "config/pv_config.h"
#include "flow/pv_flow.h"
#include "transport/pv_transport.h"

/* time(2) and nanosleep(2). */
pv_clock pv_clock_system(void);

/* The login's provider transport: the configuration's helper, timeouts,
 * TLS settings and proxy.  It owns the login's one helper process (started
 * at the first request, pv_http.h); the flow opens the state with it
 * (pv_state_open_shared), so the etcd backend posts through a second view
 * on the same process with the state_* settings as a profile of their own.
 * The process ends when the last of the two is freed.  NULL on ENOMEM. */
pv_transport *pv_http_from_config(const pv_config *cfg);

#endif
