/* pv_flow_priv.h - what the parts of the flow share (pv_flow.c decides,
 * pv_flow_code.c runs the sms/email methods, pv_flow_numverify.c the
 * operator check, pv_flow_precheck.c the name+mobile pre-check).  Not
 * installed, not exported: the module's version script hides it all. */
#ifndef PV_FLOW_PRIV_H
#define PV_FLOW_PRIV_H

#include <time.h>
#include "pv_flow.h"
#include "pv_lockout.h"
#include "pv_lookup.h"
#include "pv_state.h"

/* User-visible texts (tests/MESSAGES.md is the contract). */
#define MSG_UNAVAILABLE "Verification service unavailable."
#define MSG_LOCKED "Too many failed attempts; try again later."
#define MSG_RATE_LIMITED "Too many codes requested; try again in a minute."
#define MSG_REFUSED "Verification failed."
#define MSG_RESENT "A new code has been sent."
#define MSG_EXPIRED "Code expired; a new code has been sent."
#define MSG_REUSED "A code was already sent; enter that code."
#define MSG_RESEND_WAIT "A code was sent less than a minute ago; enter that code."
#define PROMPT_BREAKGLASS "Verification service unavailable. Emergency code: "

#define DECIDED 1
#define GO_ON 0

/* Everything one login carries through the flow. */
typedef struct pv_flowctx {
    const pv_config *cfg;
    const pv_login *login;
    pv_flow_env *env;
    pv_outcome *out;
    pv_state *state;
    pv_lockout_policy lockout;
    pv_identity id;
    char *gecos;
    int precheck_done;               /* pre-check passed in this login */
} pv_flowctx;

/* What a method did: a final decision, or "cannot serve this user". */
enum pv_method_status { METHOD_DONE, METHOD_CANNOT_SERVE };

time_t pv_flow_now(const pv_flowctx *f);
/* Record the decision; returns DECIDED so steps can `return` it. */
int pv_flow_finish(pv_flowctx *f, enum pv_result r, const char *reason);
void pv_flow_say(pv_flowctx *f, int error, const char *msg);
/* Show the generic refusal, then record the decision.  DECIDED. */
int pv_flow_refuse(pv_flowctx *f, enum pv_result r, const char *reason);
void pv_flow_debug(pv_flowctx *f, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Ask once: 1 with a malloc'd reply (maybe NULL), 0 if the conversation
 * failed. */
int pv_flow_ask(pv_flowctx *f, const char *msg, int echo, char **reply);
int pv_flow_state_update(pv_flowctx *f, pv_state_update_fn fn, void *ctx);
/* One wrong entry: 1 now locked out, 0 not, -1 not recorded. */
int pv_flow_record_failure(pv_flowctx *f);
/* The provider cannot be used: break-glass, then failmode.  DECIDED. */
int pv_flow_provider_unavailable(pv_flowctx *f, const char *detail);

/* The name+mobile pre-check (once per login, before a phone method sends
 * anything): GO_ON when consistent, cached or off; DECIDED otherwise. */
int pv_flow_precheck(pv_flowctx *f);

/* Methods. */
enum pv_method_status pv_flow_run_code_method(pv_flowctx *f, enum pv_method m);
enum pv_method_status pv_flow_run_numverify(pv_flowctx *f);

#endif
