/* pv_flow.h - the authentication flow: scope, lookup, lockout, send,
 * prompt, verify, fallback between methods.
 *
 * The flow knows neither PAM nor libcurl: it talks to the user through
 * pv_conv, to providers through pv_transport, to shared state through pv_state,
 * reads the time through pv_clock, and returns a pv_outcome.  The PAM glue
 * (pam_phoneverify.c) turns that into a PAM code in exactly one function;
 * the CLI (`phoneverify test`) runs the same flow in a terminal. */
#ifndef PV_FLOW_H
#define PV_FLOW_H

#include <stddef.h>
#include "flow/pv_flow_types.h"

/* Run the whole decision.  Always fills out; returns out->result. */
enum pv_result pv_flow_run(const pv_config *cfg, const pv_login *login,
                           pv_flow_env *env, pv_outcome *out);

const char *pv_result_name(enum pv_result r);

/* The one decision record for this outcome (pv_log.h), the user being the
 * canonical name when the flow resolved it, else login->user. */
int pv_outcome_format(const pv_login *login, const pv_outcome *out,
                      const char *pam_name, char *buf, size_t size);
/* Syslog priority of the record: LOG_ERR for configuration errors and
 * rejected provider credentials, LOG_NOTICE for success and ignore,
 * LOG_WARNING for the other refusals, fail-open and break-glass. */
int pv_outcome_priority(const pv_outcome *out);

#endif
