/* pv_flow_numverify.c - the numVerify method: the operator confirms that
 * the user's phone owns the number.  The user opens a link (shown as a URL
 * and a QR code) on the phone over its mobile network; the module polls
 * for the operator's answer.
 *
 * OpenSSH shows informational messages only together with the next prompt,
 * so the link is followed by a prompt ("Press Enter once ..."), and polling
 * starts after Enter, every numverify_poll seconds until numverify_wait
 * (counted from when the link was shown) runs out.  Enter pressed, or an
 * answer arriving, after that is refused (doc/security.md: every wait for the user
 * is bounded). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "flow/pv_flow_priv.h"
#include "identity/pv_phone.h"
#include "provider/pv_provider.h"
#include "base/pv_qr.h"
#include "base/pv_util.h"

#define PROMPT_NV_ENTER \
    N_("Press Enter once your phone shows the number is verified: ")

static void show_link(pv_flowctx *f, const pv_nv_reply *rep)
{
    char masked[64];
    char *qr = NULL;

    pv_phone_mask(&f->id.phone, " ", masked, sizeof(masked));
    pv_flow_sayf(f, 0,
                 N_("Open this link on the phone %s over its mobile\n"
                    "network (not Wi-Fi), or scan the code below:\n%s"),
                 masked, rep->url);
    if (pv_qr_render(rep->url, &qr, NULL) == 0) {
        pv_flow_say(f, 0, qr);
        free(qr);
    }
}

/* What an unusable numVerify answer means: the operator token's end
 * (error 30) is the user idling, a refusal; the rest is the provider's. */
static pv_verdict unusable(const pv_nv_reply *rep)
{
    if (rep->failure == PV_FAILURE_USER)
        return pv_verdict_user_refusal(rep->detail, MSG_NV_TOO_LATE);
    return pv_verdict_failure(rep->failure, rep->detail);
}

/* Ask the operator for a link: GO_ON with rep filled, NEXT_METHOD when
 * this number cannot be served, or a final verdict. */
static pv_verdict request_link(pv_flowctx *f, pv_nv_reply *rep)
{
    pv_nv_reply auth;
    pv_verdict v;
    enum pv_nv_result r;

    r = pv_nv_auth(f->cfg, f->env->http, &auth);
    if (r != PV_NV_OK) {
        v = unusable(&auth);
        pv_wipe(&auth, sizeof(auth));
        return v;
    }
    r = pv_nv_start(f->cfg, f->env->http, auth.token,
                    pv_phone_digits(&f->id.phone), rep);
    /* keep the token for polling, wipe the rest */
    pv_strlcpy(rep->token, auth.token, sizeof(rep->token));
    pv_wipe(&auth, sizeof(auth));
    pv_flow_debug(f, "numverify start: %s", rep->detail);
    switch (r) {
    case PV_NV_OK:
        return pv_verdict_go_on();
    case PV_NV_INELIGIBLE:
        return pv_verdict_next_method(rep->detail);
    case PV_NV_REFUSED:
        return pv_verdict_final(PV_RESULT_DENIED, rep->detail);
    default:
        return unusable(rep);
    }
}

/* numverify_wait has passed: whatever arrives now is refused. */
static int too_late(const pv_flowctx *f, time_t deadline)
{
    return pv_flow_now(f) > deadline;
}

static pv_verdict timed_out(void)
{
    return pv_verdict_user_refusal("numverify_timeout", MSG_NV_TOO_LATE);
}

/* Poll until an answer or the deadline. */
static pv_verdict wait_for_operator(pv_flowctx *f, const pv_nv_reply *link,
                                    time_t deadline)
{
    pv_nv_reply rep;
    enum pv_nv_result r;

    for (;;) {
        if (too_late(f, deadline))
            return timed_out();
        r = pv_nv_result_poll(f->cfg, f->env->http, link->token, &rep);
        pv_flow_debug(f, "numverify poll: %s", rep.detail);
        switch (r) {
        case PV_NV_VERIFIED:
            /* An answer that arrives after the deadline is refused. */
            if (too_late(f, deadline))
                return timed_out();
            return pv_verdict_final(PV_RESULT_SUCCESS, "numverify_true");
        case PV_NV_REFUSED:
            return pv_verdict_final(PV_RESULT_DENIED, rep.detail);
        case PV_NV_PENDING:
            break;
        default:
            return unusable(&rep);
        }
        if (pv_flow_now(f) + f->cfg->numverify_poll > deadline)
            return timed_out();
        f->env->clock.sleep_ms(f->env->clock.ctx,
                               (unsigned)f->cfg->numverify_poll * 1000u);
    }
}

/* Show the link, wait for Enter, then poll; all within numverify_wait. */
static pv_verdict confirm_on_phone(pv_flowctx *f, const pv_nv_reply *link)
{
    char *reply = NULL;
    time_t deadline;
    pv_verdict v;

    show_link(f, link);
    deadline = pv_flow_now(f) + f->cfg->numverify_wait;
    if (!pv_flow_ask(f, PROMPT_NV_ENTER, 1, &reply))
        return pv_verdict_final(PV_RESULT_CONV_ERROR, "conversation_failed");
    pv_free_secret(reply);
    /* The conversation cannot be interrupted: an Enter after the deadline
     * ends the check here, before any poll. */
    v = wait_for_operator(f, link, deadline);
    return v;
}

pv_verdict pv_flow_run_numverify(pv_flowctx *f)
{
    pv_nv_reply link;
    pv_verdict v;

    if (!f->id.has_phone)
        return pv_verdict_next_method(NULL);
    pv_outcome_set_method(f->out, PV_METHOD_NUMVERIFY);
    f->out->to_kind = "phone";
    pv_phone_mask(&f->id.phone, "", f->out->to_masked,
                  sizeof(f->out->to_masked));
    v = pv_flow_precheck(f);
    if (v.step != PV_STEP_GO_ON)
        return v;
    memset(&link, 0, sizeof(link));
    v = request_link(f, &link);
    if (v.step == PV_STEP_GO_ON)
        v = confirm_on_phone(f, &link);
    pv_wipe(&link, sizeof(link));
    return v;
}
