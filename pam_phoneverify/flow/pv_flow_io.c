/* pv_flow_io.c - what every step of the flow uses: verdicts, the clock,
 * the conversation and the debug log (the state transactions are in
 * pv_flow_state.c).  It calls nothing in pv_flow.c or the method files. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include "flow/pv_flow_priv.h"
#include "base/pv_i18n.h"
#include "base/pv_log.h"
#include "base/pv_util.h"

/* ---- verdicts ------------------------------------------------------------ */

static pv_verdict verdict(enum pv_step step, enum pv_result r,
                          enum pv_failure failure, const char *reason,
                          const char *message)
{
    pv_verdict v;

    memset(&v, 0, sizeof(v));
    v.step = step;
    v.result = r;
    v.failure = failure;
    pv_strlcpy(v.reason, reason ? reason : "", sizeof(v.reason));
    pv_strlcpy(v.message, message ? message : "", sizeof(v.message));
    return v;
}

pv_verdict pv_verdict_go_on(void)
{
    return verdict(PV_STEP_GO_ON, PV_RESULT_DENIED, PV_FAILURE_NONE, NULL,
                   NULL);
}

pv_verdict pv_verdict_next_method(const char *reason)
{
    return verdict(PV_STEP_NEXT_METHOD, PV_RESULT_DENIED, PV_FAILURE_NONE,
                   reason, NULL);
}

pv_verdict pv_verdict_final(enum pv_result r, const char *reason)
{
    return verdict(PV_STEP_FINAL, r, PV_FAILURE_NONE, reason, NULL);
}

pv_verdict pv_verdict_failure(enum pv_failure failure, const char *detail)
{
    /* PV_FAILURE_NONE here would be a bug in a client: treat it as local,
     * which never opens. */
    return verdict(PV_STEP_FINAL, PV_RESULT_UNAVAILABLE,
                   failure == PV_FAILURE_NONE ? PV_FAILURE_LOCAL : failure,
                   detail, NULL);
}

pv_verdict pv_verdict_user_refusal(const char *reason, const char *message)
{
    return verdict(PV_STEP_FINAL, PV_RESULT_DENIED, PV_FAILURE_USER, reason,
                   message);
}

/* ---- clock, conversation, debug log ------------------------------------- */

time_t pv_flow_now(const pv_flowctx *f)
{
    return f->env->clock.now(f->env->clock.ctx);
}

/* Every message the user sees passes here or through pv_flow_sayf: in
 * the configured language when the catalogue has it (pv_i18n.c). */
void pv_flow_say(pv_flowctx *f, int error, const char *msg)
{
    pv_conv *c = &f->env->conv;
    int (*fn)(void *, const char *) = error ? c->error : c->info;

    /* A failure to show a message is not a decision: the next prompt (or
     * the result) tells the caller what happened anyway. */
    if (fn != NULL)
        (void)fn(c->ctx, pv_tr(f->env->catalog, msg));
}

void pv_flow_sayf(pv_flowctx *f, int error, const char *msgid, ...)
{
    char msg[PV_FLOW_MSG_MAX];
    pv_conv *c = &f->env->conv;
    int (*fn)(void *, const char *) = error ? c->error : c->info;
    va_list ap;

    va_start(ap, msgid);
    (void)pv_vtrf(f->env->catalog, msg, sizeof(msg), msgid, ap);
    va_end(ap);
    if (fn != NULL)
        (void)fn(c->ctx, msg);
}

const char *pv_flow_tr(const pv_flowctx *f, const char *msgid)
{
    return pv_tr(f->env->catalog, msgid);
}

void pv_flow_debug(pv_flowctx *f, const char *fmt, ...)
{
    va_list ap;

    if (!f->cfg->debug)
        return;
    va_start(ap, fmt);
    pv_vlogf(&f->env->logger, LOG_DEBUG, fmt, ap);
    va_end(ap);
}

int pv_flow_ask(pv_flowctx *f, const char *msg, int echo, char **reply)
{
    pv_conv *c = &f->env->conv;

    *reply = NULL;
    if (c->prompt == NULL ||
        c->prompt(c->ctx, pv_tr(f->env->catalog, msg), echo, reply) != 0) {
        pv_free_secret(*reply);
        *reply = NULL;
        return 0;
    }
    return 1;
}

int pv_flow_askf(pv_flowctx *f, int echo, char **reply, const char *msgid, ...)
{
    char msg[PV_FLOW_MSG_MAX];
    pv_conv *c = &f->env->conv;
    va_list ap;

    *reply = NULL;
    va_start(ap, msgid);
    (void)pv_vtrf(f->env->catalog, msg, sizeof(msg), msgid, ap);
    va_end(ap);
    if (c->prompt == NULL || c->prompt(c->ctx, msg, echo, reply) != 0) {
        pv_free_secret(*reply);
        *reply = NULL;
        return 0;
    }
    return 1;
}
