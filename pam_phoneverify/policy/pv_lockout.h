/* pv_lockout.h - where the lockout is decided.
 *
 * Pure functions over a state record and the clock (`now` is passed in):
 * after lockout_failures failures within lockout_window seconds the user is
 * refused for lockout_time seconds.  The flow asks pv_lockout_active before
 * every verify call and records each attempt with pv_lockout_add_failure
 * before the call, inside one atomic pv_state_update (doc/security.md). */
#ifndef PV_LOCKOUT_H
#define PV_LOCKOUT_H

#include <time.h>
#include "state/pv_state.h"

typedef struct pv_lockout_policy {
    long failures;  /* lockout_failures; 0 disables */
    long window;    /* lockout_window seconds */
    long lock_time; /* lockout_time seconds */
} pv_lockout_policy;

/* 1 when the user is locked out at now (*until receives the end). */
int pv_lockout_active(const pv_state_record *rec, const pv_lockout_policy *pol,
                      time_t now, time_t *until);
/* Add one failure at now, drop failures older than the window (and those
 * of a lockout that is over), and start a lockout when the threshold is
 * reached. */
void pv_lockout_add_failure(pv_state_record *rec, const pv_lockout_policy *pol,
                            time_t now);
/* The failures `phoneverify status` shows at now: during a lockout those
 * that caused it (and any since), else those within the window that came
 * after any lock that is over. */
size_t pv_lockout_failures(const pv_state_record *rec,
                           const pv_lockout_policy *pol, time_t now);
/* Take back the failure added at `at` (an expired code or an outage on
 * that verify call was no guess).  When that failure started the lockout
 * (locked_until == lock_started, non-zero), the lockout is lifted and the
 * failures before it count again (at least threshold - 1). */
void pv_lockout_take_back(pv_state_record *rec, const pv_lockout_policy *pol,
                          time_t at, time_t lock_started);
/* Forget failures and lockout (successful login, `phoneverify unlock`). */
void pv_lockout_reset(pv_state_record *rec);

#endif
