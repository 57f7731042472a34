/* pv_runtime.h - what the module and the CLI both need to run the flow for
 * real: the system clock and a transport configured from pv_config. */
#ifndef PV_RUNTIME_H
#define PV_RUNTIME_H

#include "config/pv_config.h"
#include "flow/pv_flow.h"
#include "transport/pv_transport.h"

/* time(2) and nanosleep(2). */
pv_clock pv_clock_system(void);

/* A transport using the configuration's helper, timeouts, TLS settings and
 * proxy.  NULL on ENOMEM. */
pv_transport *pv_http_from_config(const pv_config *cfg);

#endif
