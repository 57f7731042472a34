/* pv_sendlimit.h - where the per-user send budget is decided (pam_phoneverify.conf(5)
 * `send_limit`, `send_window`; pam_phoneverify(8)).
 *
 * Pure functions over a state record and the clock: at most `limit` codes
 * are requested for one user within `window` seconds, counted when a code
 * is requested (an abandoned login still counts).  The flow reserves a
 * send inside one atomic pv_state_update and gives it back when the
 * provider sent nothing. */
#ifndef PV_SENDLIMIT_H
#define PV_SENDLIMIT_H

#include <time.h>
#include "base/pv_i18n.h"
#include "state/pv_state.h"

typedef struct pv_sendlimit_policy {
    long limit;  /* send_limit; <= 0 disables */
    long window; /* send_window seconds */
} pv_sendlimit_policy;

/* Drop sends older than the window; 1 and record one at now when the
 * budget allows it, else 0 with *wait the seconds until it will (>= 1). */
int pv_sendlimit_reserve(pv_state_record *rec, const pv_sendlimit_policy *pol,
                         time_t now, long *wait);
/* Forget the send recorded at `at` (the provider sent nothing). */
void pv_sendlimit_give_back(pv_state_record *rec, time_t at);

/* After a refused reserve: 1 when the budget is spent only because of
 * sends counted at or after since (requests that may still wait for their
 * answer: another login's) other than this login's own answered ones in
 * own[0..n_own): the caller waits for their answers (a refused one is
 * given back) before it reports the limit (pam_phoneverify.conf(5)). */
int pv_sendlimit_maybe_in_flight(const pv_state_record *rec,
                                 const pv_sendlimit_policy *pol, time_t since,
                                 const time_t *own, size_t n_own);
/* 1 when another login's send counted at or after since has no answer
 * that sent a code yet: none recorded since it (last_sent is older), and
 * it is not one of this login's own[0..n_own). */
int pv_sendlimit_unanswered(const pv_state_record *rec, time_t since,
                            const time_t *own, size_t n_own);
/* For `phoneverify status`: codes counted within the window at now, and
 * when the budget is spent the seconds until one more is allowed (else
 * 0). */
void pv_sendlimit_status(const pv_state_record *rec,
                         const pv_sendlimit_policy *pol, time_t now,
                         unsigned long *sent, long *frees_in);

/* Forget every counted send (`phoneverify unlock`).  last_sent stays: the
 * provider's own per-number minute does not move with it (resend_wait). */
void pv_sendlimit_clear(pv_state_record *rec);
/* "Too many codes requested for this account; try again in 40 minutes."
 * (the wait rounded up to whole minutes, or hours past two hours). */
void pv_sendlimit_message(const pv_catalog *cat, long wait, char *buf,
                          size_t size);

/* ---- resend_wait (pam_phoneverify.conf(5)): one code per number a minute */

#define PV_PROVIDER_INTERVAL \
    60                       /* the send API: one code per number per 60 s */
#define PV_PROVIDER_MARGIN 1 /* a second for the clocks to disagree */

typedef struct pv_resend_plan {
    long ago;     /* seconds since the recorded send; -1: none recent */
    long wait;    /* seconds from now until the provider takes one */
    int may_wait; /* the wait ends within resend_wait of that send */
} pv_resend_plan;

/* After a rate_limit_exceeded: the provider takes the next code
 * PV_PROVIDER_INTERVAL + PV_PROVIDER_MARGIN seconds after the last send
 * recorded in the state (last_sent; when none is recent - none, older
 * than the interval, or in the future - counted from now).  The module
 * may wait only when that instant is at most resend_wait seconds after
 * the send it counts from (resend_wait 0: never). */
pv_resend_plan pv_resend_plan_make(time_t last_sent, time_t now,
                                   long resend_wait);

/* Sleep until now() reaches target, one second at most per nap and at
 * most max_naps naps (a clock that stands still cannot hold the caller
 * longer). */
void pv_sleep_until(time_t (*now)(void *), void (*sleep_ms)(void *, unsigned),
                    void *ctx, time_t target, long max_naps);

#endif
