/* pv_state_mem.h - an in-memory pv_state backend, for the unit tests and
 * the fuzz harnesses that run the whole flow without a file system.
 *
 * Deliberately not a `state =` value (pv_state_open does not know it): a
 * login's state that vanishes with the process would forget lockouts.
 * Records are kept as the text the file backend writes (formatted on
 * update, parsed on read), so what a test sees is what would persist. */
#ifndef PV_STATE_MEM_H
#define PV_STATE_MEM_H

#include "state/pv_state.h"

/* An empty store.  0 ok, -1 (ENOMEM) with err. */
int pv_state_mem_open(pv_state **out, pv_err *err);

/* From now on every read and update fails (an unreadable state): the
 * tests' way to reach the flow's state_error paths.  0 turns it off. */
void pv_state_mem_set_broken(pv_state *st, int broken);

/* stale 1: from now on reads (not updates) answer with the records as
 * they are at this call, as an etcd serializable read from a member that
 * is behind may (state/pv_state.h); updates see the current record.  0
 * turns it off.  0 ok, -1 out of memory. */
int pv_state_mem_set_stale(pv_state *st, int stale);

#endif
