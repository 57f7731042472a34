/* pv_state_open.h - open the state backend the configuration names. */
#ifndef PV_STATE_OPEN_H
#define PV_STATE_OPEN_H

#include "config/pv_config.h"
#include "state/pv_state.h"

/* Open the backend the configuration names (`state`, `state_dir`).
 * 0 ok, -1 with err (a configuration error). */
int pv_state_open(const pv_config *cfg, pv_state **out, pv_err *err);

/* The store grace grants live in: this host's file store under state_dir.
 * *grants is main itself when main is that store (`state = file`), else a
 * store opened here that the caller closes with pv_state_close (*opened
 * 1).  0 ok, -1 err. */
int pv_state_grant_store(const pv_config *cfg, pv_state *main,
                         pv_state **grants, int *opened, pv_err *err);

#endif
