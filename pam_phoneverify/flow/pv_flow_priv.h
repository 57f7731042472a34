/* pv_flow_priv.h - what the parts of the flow share.
 *
 *   pv_flow.c            decides: scope, lookup, lockout, methods, and the
 *                        one place a provider failure becomes a result
 *                        (fail-open, break-glass); writes the outcome
 *   pv_flow_code.c       the sms/email methods      \
 *   pv_flow_numverify.c  the operator check          > return a verdict
 *   pv_flow_precheck.c   the name+mobile pre-check  /
 *   pv_flow_grace.c      grace grants: check before the methods, grant
 *                        after a verified code
 *   pv_flow_io.c         what every step uses: clock, conversation,
 *                        debug log
 *   pv_flow_state.c      the state transactions: guesses (lockout), the
 *                        send budget, break-glass claims
 *
 * Calls go one way: pv_flow.c -> method files -> pv_flow_io.c and
 * pv_flow_state.c.  No step finishes the login itself.  Not installed,
 * not exported: the module's version script hides it all. */
#ifndef PV_FLOW_PRIV_H
#define PV_FLOW_PRIV_H

#include <time.h>
#include "flow/pv_flow_types.h"
#include "base/pv_i18n.h"
#include "policy/pv_lockout.h"
#include "identity/pv_lookup.h"
#include "state/pv_state.h"

/* User-visible texts (tests/MESSAGES.md is the contract), marked N_ for
 * the catalogues (po/); pv_flow_say translates them on the way out. */
#define MSG_UNAVAILABLE N_("Verification service unavailable.")
#define MSG_LOCKED N_("Too many failed attempts; try again later.")
#define MSG_REFUSED N_("Verification failed.")
#define MSG_RESENT N_("A new code has been sent.")
#define MSG_EXPIRED N_("Code expired; a new code has been sent.")
#define MSG_REUSED N_("A code was already sent; enter that code.")
#define MSG_RESEND_WAIT \
    N_("A code was sent less than a minute ago; enter that code.")
/* resend_wait (printf arguments: seconds): the reason, shown with the
 * prompt that follows it (sshd's keyboard-interactive shows a message
 * only together with the next prompt), then the prompt itself */
#define MSG_WAIT_SINCE \
    N_("A code was sent %ld s ago; the provider allows one per minute.")
#define MSG_WAIT_UNKNOWN N_("The provider allows one code per minute.")
#define PROMPT_WAIT \
    N_("A new code can be sent in %ld s. Press Enter to get it: ")
#define MSG_WAIT_REFUSED \
    N_("The provider allows one code per minute; try again in %ld s.")
#define MSG_PRECHECK_LIMITED \
    N_("Too many verification requests; try again later.")
#define MSG_NV_TOO_LATE \
    N_("The number check took too long; log in again to start a new one.")
#define PROMPT_BREAKGLASS \
    N_("Verification service unavailable. Emergency code: ")
#define PV_FLOW_MSG_MAX 2048 /* a formatted message (link + text) */

#define PV_VERDICT_MSG_MAX 160
#define PV_FLOW_OWN_SENDS 16 /* a login's own sends remembered */

/* What a step says about the login. */
enum pv_step {
    PV_STEP_GO_ON = 0,   /* nothing decided: the next step runs */
    PV_STEP_FINAL,       /* the login is decided (see result/failure) */
    PV_STEP_NEXT_METHOD, /* this method cannot serve the user */
};

/* The one return type of the flow's steps.  A final verdict carries
 * either a result, or a failure class that pv_flow.c alone turns into a
 * result (it is the only place that may open under failmode=safe). */
typedef struct pv_verdict {
    enum pv_step step;
    enum pv_result result;            /* FINAL with failure NONE */
    enum pv_failure failure;          /* FINAL: why the provider is unusable */
    int code_verified;                /* a code the user typed was verified:
                                         the one verdict that grants grace */
    char reason[PV_PROVIDER_MSG_MAX]; /* the log's reason=, never tested */
    char message[PV_VERDICT_MSG_MAX]; /* shown to the user; "": the usual
                                        text for the result */
} pv_verdict;

pv_verdict pv_verdict_go_on(void);
pv_verdict pv_verdict_next_method(const char *reason);
pv_verdict pv_verdict_final(enum pv_result r, const char *reason);
/* The provider (or the way to it) failed: class and detail for the log. */
pv_verdict pv_verdict_failure(enum pv_failure failure, const char *detail);
/* A refusal the user can provoke, with the text naming the real reason
 * and wait (PV_RESULT_DENIED whatever failmode says). */
pv_verdict pv_verdict_user_refusal(const char *reason, const char *message);

/* Everything one login carries through the flow. */
typedef struct pv_flowctx {
    const pv_config *cfg;
    const pv_login *login;
    const char *user; /* canonical pw_name (out->user) */
    pv_flow_env *env;
    pv_outcome *out;
    pv_state *state;
    pv_lockout_policy lockout;
    pv_identity id;
    char *gecos;
    int precheck_done; /* pre-check passed in this login */
    /* this login's sends that stay counted, answered (or never to be):
     * not "in flight" when the budget is looked at again */
    time_t own_sends[PV_FLOW_OWN_SENDS];
    size_t n_own_sends;
} pv_flowctx;

/* ---- pv_flow_io.c, pv_flow_state.c ------------------------------------ */
time_t pv_flow_now(const pv_flowctx *f);
void pv_flow_say(pv_flowctx *f, int error, const char *msg);
/* msgid translated, then formatted with the arguments (pv_trf rules). */
void pv_flow_sayf(pv_flowctx *f, int error, const char *msgid, ...)
    __attribute__((format(printf, 3, 4)));
const char *pv_flow_tr(const pv_flowctx *f, const char *msgid);
void pv_flow_debug(pv_flowctx *f, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Ask once: 1 with a malloc'd reply (maybe NULL), 0 if the conversation
 * failed. */
int pv_flow_ask(pv_flowctx *f, const char *msg, int echo, char **reply);
/* pv_flow_ask with a prompt made from msgid (translated) and arguments. */
int pv_flow_askf(pv_flowctx *f, int echo, char **reply, const char *msgid, ...)
    __attribute__((format(printf, 4, 5)));
/* 0 ok, -1 failed (logged). */
int pv_flow_state_update(pv_flowctx *f, pv_state_update_fn fn, void *ctx);

/* A wrong entry that never reached the verify API (malformed, empty):
 * recorded as a failure. */
enum pv_guess_status {
    PV_GUESS_RECORDED, /* counted; the verify call may go ahead */
    PV_GUESS_LOCKED,   /* the user is locked out: no call */
    PV_GUESS_ERROR,    /* could not be recorded: refuse */
};
typedef struct pv_guess {
    time_t at;           /* when it was recorded */
    time_t lock_started; /* locked_until it set, or 0 */
} pv_guess;

/* Before a code goes to the verify API, under the state lock: refuse if
 * locked, else record the attempt as a failure (doc/security.md). */
enum pv_guess_status pv_flow_guess_begin(pv_flowctx *f, pv_guess *g);
/* The verify call said "code gone" (3003/3011/4001): the attempt was no
 * guess.  Nothing else gives a sent guess back: a lost, cut or late
 * answer keeps it counted (the provider may have checked it). */
void pv_flow_guess_take_back(pv_flowctx *f, const pv_guess *g);
/* The code verified: failures and lockout are forgotten, the pending code
 * is consumed.  0 ok, -1 not written (logged). */
int pv_flow_guess_succeeded(pv_flowctx *f);
/* A wrong entry never sent to the API: counted as a guess. */
enum pv_guess_status pv_flow_wrong_entry(pv_flowctx *f, pv_guess *g);

/* The per-user send budget, reserved under the state lock before a code
 * is requested and given back if none was sent. */
enum pv_send_budget {
    PV_BUDGET_RESERVED,
    PV_BUDGET_SPENT,
    /* the record the reservation was written on shows a lockout: the
     * login's first read was older (etcd's serializable read) */
    PV_BUDGET_LOCKED,
    PV_BUDGET_ERROR
};
/* When the budget is spent only by requests of other logins that may
 * still wait for their answer, it waits for those answers (naps of the
 * flow's clock, at most as long as one request can take: timeout +
 * connect_timeout + 2 s, pv_http.c) before it says SPENT. */
enum pv_send_budget pv_flow_send_reserve(pv_flowctx *f, time_t *at,
                                         long *wait);
void pv_flow_send_give_back(pv_flowctx *f, time_t at);
/* The send reserved at `at` stays counted and is answered (or will never
 * be: an outage). */
void pv_flow_send_kept(pv_flowctx *f, time_t at);

/* Another login's send may still be waiting for its answer (and then
 * record the code this one can reuse): pv_sendlimit_unanswered within
 * one request's time. */
int pv_flow_sends_unanswered(pv_flowctx *f);
/* One short nap of the flow's clock while other logins' requests finish,
 * and the most naps that cover one request's time (0 without a clock
 * that sleeps). */
void pv_flow_nap(pv_flowctx *f);
long pv_flow_naps_max(const pv_flowctx *f);

/* pv_breakglass_claim_fn (ctx: the pv_flowctx): the code's hash is
 * recorded as used, so a hash listed on several hosts works once: with
 * etcd a key of its own that never expires (pv_state_etcd_claim; refused
 * while degraded), with the file store the user's record. */
int pv_flow_breakglass_claim(void *ctx, const char *hash);

/* ---- steps -------------------------------------------------------------- */
/* The name+mobile pre-check (once per login, before a phone method sends
 * anything): GO_ON when consistent, cached or off. */
pv_verdict pv_flow_precheck(pv_flowctx *f);
pv_verdict pv_flow_run_code_method(pv_flowctx *f, enum pv_method m);
pv_verdict pv_flow_run_numverify(pv_flowctx *f);
/* After the lockout check (a locked user gets no grace): GRACE when this
 * login holds a grant, else GO_ON. */
pv_verdict pv_flow_check_grace(pv_flowctx *f);
/* After the methods: a verified code (v) grants grace to this login. */
void pv_flow_grant_grace(pv_flowctx *f, const pv_verdict *v);
/* SUCCESS for a verified code (reason "verified", code_verified set). */
pv_verdict pv_verdict_code_verified(void);

/* Normalise a typed code: spaces and dashes dropped; anything else that is
 * not a digit, or a length other than code_length, is a wrong entry.
 * Returns 1 and fills out (NUL-terminated) when well-formed, 0 when wrong,
 * -1 when empty (a resend request). */
int pv_code_normalize(const char *entry, long code_length, char *out,
                      size_t size);

#endif
