/* pv_flow_types.h - what the flow takes and returns (the login, the
 * conversation, the clock, the outcome), shared by pv_flow.h (the entry
 * point) and pv_flow_priv.h (the steps), so that no step includes the entry
 * point it is called from. */
#ifndef PV_FLOW_TYPES_H
#define PV_FLOW_TYPES_H

#include <stddef.h>
#include <time.h>
#include "config/pv_config.h"
#include "transport/pv_transport.h"
#include "base/pv_log.h"
#include "identity/pv_origin.h"
#include "provider/pv_provider.h"
#include "state/pv_state.h"

#define PV_CODE_MAX 16 /* a code entry fits in 16 bytes */

/* The user conversation.  prompt returns 0 with a malloc'd reply (which
 * the flow bounds, copies, wipes and frees; NULL reply allowed), or -1
 * when the conversation itself failed (no terminal, client gone). */
typedef struct pv_conv {
    int (*prompt)(void *ctx, const char *msg, int echo, char **reply);
    int (*info)(void *ctx, const char *msg);
    int (*error)(void *ctx, const char *msg);
    void *ctx;
} pv_conv;

typedef struct pv_clock {
    time_t (*now)(void *ctx);                 /* wall clock, seconds */
    void (*sleep_ms)(void *ctx, unsigned ms); /* numVerify polling */
    void *ctx;
} pv_clock;

/* Who is logging in. */
typedef struct pv_login {
    const char *user; /* as typed; the flow resolves it */
    const char *service;
    const char *rhost; /* may be NULL */
    const char *ruser; /* PAM_RUSER, may be NULL (grace) */
    const char *tty;   /* PAM_TTY, may be NULL (grace) */
    /* Where the login comes from (pv_origin.h); NULL: nothing known,
     * which counts as a local user with no terminal session. */
    const pv_origin *origin;
} pv_login;

enum pv_result {
    PV_RESULT_SUCCESS = 0,  /* code verified / numVerify true */
    PV_RESULT_IGNORE,       /* not in scope, trusted rhost, nullok */
    PV_RESULT_DENIED,       /* generic refusal (wrong user data, refusal
                                by provider, pre-check failure, expiry) */
    PV_RESULT_MAXTRIES,     /* max_tries wrong codes */
    PV_RESULT_LOCKED,       /* user locked out */
    PV_RESULT_UNAVAILABLE,  /* provider unavailable, failmode=secure */
    PV_RESULT_FAILOPEN,     /* provider unavailable, failmode=safe */
    PV_RESULT_BREAKGLASS,   /* provider unavailable, emergency code used */
    PV_RESULT_CONFIG_ERROR, /* configuration / local setup error */
    PV_RESULT_CONV_ERROR,   /* the conversation failed */
    PV_RESULT_GRACE,        /* within `grace` of a verified code */
};

/* What happened, for the one log record per decision. */
typedef struct pv_outcome {
    enum pv_result result;
    char user[PV_STATE_USER_MAX + 1]; /* canonical pw_name once resolved */
    enum pv_method method;            /* when has_method */
    int has_method;                   /* 0: no method tried ("-" logged) */
    const char *to_kind;              /* "phone", "email" or NULL */
    char to_masked[64];               /* masked phone/email, "" if none */
    char id[PV_VERIFICATION_ID_MAX + 1];
    char reason[PV_PROVIDER_MSG_MAX]; /* for the log line only */
    enum pv_failure failure;          /* why the provider was unusable */
    int tries;                        /* code entries made */
    int sends;                        /* codes sent */
    int precheck_charged;             /* -1 no call, 0 free, 1 charged */
    long elapsed_ms;
} pv_outcome;

/* Fail closed, no method, no pre-check call: the outcome before anything
 * is decided (the glue's early refusals and the flow start here). */
void pv_outcome_init(pv_outcome *out);
void pv_outcome_set_method(pv_outcome *out, enum pv_method m);

typedef struct pv_flow_env {
    pv_conv conv;
    pv_clock clock;
    pv_logger logger;   /* debug and warning lines, never secrets */
    pv_transport *http; /* transport for this login */
    pv_state *state;    /* NULL: opened by the flow from cfg */
    const struct pv_catalog *catalog; /* the user's language; NULL: English */
} pv_flow_env;

#endif
