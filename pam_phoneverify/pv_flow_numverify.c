/* pv_flow_numverify.c - the numVerify method: the operator confirms that
 * the user's phone owns the number.  The user opens a link (shown as a URL
 * and a QR code) on the phone over its mobile network; the module polls
 * for the operator's answer.
 *
 * OpenSSH shows informational messages only together with the next prompt,
 * so the link is followed by a prompt ("Press Enter once ..."), and polling
 * starts after Enter, every numverify_poll seconds until numverify_wait
 * (counted from when the link was shown) runs out. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pv_flow_priv.h"
#include "pv_phone.h"
#include "pv_provider.h"
#include "pv_qr.h"
#include "pv_util.h"

#define PROMPT_NV_ENTER \
    "Press Enter once your phone shows the number is verified: "

static void show_link(pv_flowctx *f, const pv_nv_reply *rep)
{
    char masked[64], msg[PV_NV_URL_MAX + 256];
    char *qr = NULL;

    pv_phone_mask(&f->id.phone, " ", masked, sizeof(masked));
    pv_snprintf(msg, sizeof(msg),
                "Open this link on the phone %s over its mobile\n"
                "network (not Wi-Fi), or scan the code below:\n%s", masked,
                rep->url);
    pv_flow_say(f, 0, msg);
    if (pv_qr_render(rep->url, &qr, NULL) == 0) {
        pv_flow_say(f, 0, qr);
        free(qr);
    }
}

/* Ask the operator for a link.  GO_ON with rep filled, DECIDED, or -1
 * when this number cannot be served (the next method is tried). */
static int start(pv_flowctx *f, pv_nv_reply *rep)
{
    pv_nv_reply auth;
    enum pv_nv_result r;
    int st;

    r = pv_nv_auth(f->cfg, f->env->http, &auth);
    if (r != PV_NV_OK) {
        st = pv_flow_provider_unavailable(f, auth.detail);
        pv_wipe(&auth, sizeof(auth));
        return st;
    }
    r = pv_nv_start(f->cfg, f->env->http, auth.token,
                    pv_phone_digits(&f->id.phone), rep);
    /* keep the token for polling, wipe the rest */
    pv_strlcpy(rep->token, auth.token, sizeof(rep->token));
    pv_wipe(&auth, sizeof(auth));
    pv_flow_debug(f, "numverify start: %s", rep->detail);
    switch (r) {
    case PV_NV_OK:
        return GO_ON;
    case PV_NV_INELIGIBLE:
        pv_strlcpy(f->out->reason, rep->detail, sizeof(f->out->reason));
        return -1;
    case PV_NV_REFUSED:
        return pv_flow_refuse(f, PV_RESULT_DENIED, rep->detail);
    default:
        return pv_flow_provider_unavailable(f, rep->detail);
    }
}

/* Poll until an answer or the deadline.  Always DECIDED. */
static int wait_for_operator(pv_flowctx *f, const pv_nv_reply *link,
                             time_t deadline)
{
    pv_nv_reply rep;
    enum pv_nv_result r;

    for (;;) {
        r = pv_nv_result_poll(f->cfg, f->env->http, link->token, &rep);
        pv_flow_debug(f, "numverify poll: %s", rep.detail);
        switch (r) {
        case PV_NV_VERIFIED:
            return pv_flow_finish(f, PV_RESULT_SUCCESS, "numverify_true");
        case PV_NV_REFUSED:
            return pv_flow_refuse(f, PV_RESULT_DENIED, rep.detail);
        case PV_NV_PENDING:
            break;
        default:
            return pv_flow_provider_unavailable(f, rep.detail);
        }
        if (pv_flow_now(f) + f->cfg->numverify_poll > deadline) {
            return pv_flow_refuse(f, PV_RESULT_DENIED, "numverify_timeout");
        }
        f->env->clock.sleep_ms(f->env->clock.ctx,
                               (unsigned)f->cfg->numverify_poll * 1000u);
    }
}

enum pv_method_status pv_flow_run_numverify(pv_flowctx *f)
{
    pv_nv_reply link;
    char *reply = NULL;
    time_t deadline;
    int st;

    if (!f->id.has_phone)
        return METHOD_CANNOT_SERVE;
    f->out->method = "numverify";
    f->out->to_kind = "phone";
    pv_phone_mask(&f->id.phone, "", f->out->to_masked,
                  sizeof(f->out->to_masked));
    if (pv_flow_precheck(f) == DECIDED)
        return METHOD_DONE;
    memset(&link, 0, sizeof(link));
    st = start(f, &link);
    if (st != GO_ON) {
        pv_wipe(&link, sizeof(link));
        return st < 0 ? METHOD_CANNOT_SERVE : METHOD_DONE;
    }
    show_link(f, &link);
    deadline = pv_flow_now(f) + f->cfg->numverify_wait;
    if (!pv_flow_ask(f, PROMPT_NV_ENTER, 1, &reply))
        pv_flow_finish(f, PV_RESULT_CONV_ERROR, "conversation_failed");
    else
        wait_for_operator(f, &link, deadline);
    pv_free_secret(reply);
    pv_wipe(&link, sizeof(link));
    return METHOD_DONE;
}
