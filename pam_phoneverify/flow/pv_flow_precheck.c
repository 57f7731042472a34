/* pv_flow_precheck.c - the name + mobile consistency pre-check step, run
 * once per login before the first phone method sends anything.  A
 * consistent answer is remembered in the state store for precheck_cache
 * seconds under a hash of user, name and number, so a changed name or
 * number asks again and a user does not pay a charged check each login. */
#include <string.h>
#include "flow/pv_flow_priv.h"
#include "provider/pv_provider.h"
#include "base/pv_util.h"

static int cached_consistent(pv_flowctx *f, const char *key)
{
    pv_state_record rec;
    pv_err err;
    int hit;

    pv_err_clear(&err);
    if (f->cfg->precheck_cache <= 0 ||
        pv_state_read(f->state, f->user, &rec, &err) != 0)
        return 0;
    hit = strcmp(rec.precheck_key, key) == 0 &&
          rec.precheck_until > pv_flow_now(f);
    pv_state_record_clear(&rec);
    return hit;
}

typedef struct remember_ctx {
    const char *key;
    time_t until;
} remember_ctx;

static int remember_cb(pv_state_record *rec, void *ctx)
{
    const remember_ctx *rc = ctx;

    pv_strlcpy(rec->precheck_key, rc->key, sizeof(rec->precheck_key));
    rec->precheck_until = rc->until;
    return 0;
}

/* A refusal that is not the provider's fault nor the user's doing. */
static pv_verdict refused(const char *reason)
{
    return pv_verdict_final(PV_RESULT_DENIED, reason);
}

static pv_verdict consistent(pv_flowctx *f, const char *key)
{
    remember_ctx rc = { key, pv_flow_now(f) + f->cfg->precheck_cache };

    f->precheck_done = 1;
    if (f->cfg->precheck_cache > 0)
        (void)pv_flow_state_update(f, remember_cb, &rc);
    return pv_verdict_go_on();
}

/* What the provider's answer means for this login. */
static pv_verdict judge(pv_flowctx *f, enum pv_precheck_result r,
                        const pv_precheck_reply *reply, const char *key)
{
    switch (r) {
    case PV_PRECHECK_CONSISTENT:
        return consistent(f, key);
    case PV_PRECHECK_NO_RECORD:
        if (f->cfg->precheck_unknown_allow) {
            f->precheck_done = 1;
            return pv_verdict_go_on();
        }
        return refused("precheck_no_record");
    case PV_PRECHECK_INCONSISTENT:
        return refused("precheck_inconsistent");
    case PV_PRECHECK_NAME_FAILED:
        return refused("precheck_name_failed");
    case PV_PRECHECK_INVALID_MOBILE:
        return refused("precheck_invalid_mobile");
    case PV_PRECHECK_UNAVAILABLE:
    default:
        if (reply->failure == PV_FAILURE_USER)
            return pv_verdict_user_refusal(reply->detail,
                                           MSG_PRECHECK_LIMITED);
        return pv_verdict_failure(reply->failure, reply->detail);
    }
}

pv_verdict pv_flow_precheck(pv_flowctx *f)
{
    pv_precheck_reply reply;
    enum pv_precheck_result r;
    char key[65];

    if (f->cfg->precheck_url == NULL || f->precheck_done)
        return pv_verdict_go_on();
    if (f->id.name[0] == '\0')
        return refused("precheck_no_name");
    pv_state_precheck_key(f->user, f->id.name, f->id.phone.e164, key);
    if (cached_consistent(f, key)) {
        pv_flow_debug(f, "pre-check: consistent (cached)");
        f->precheck_done = 1;
        return pv_verdict_go_on();
    }
    r = pv_precheck_call(f->cfg, f->env->http, f->id.name,
                         pv_phone_national(&f->id.phone), &reply);
    f->out->precheck_charged = reply.charged;
    return judge(f, r, &reply, key);
}
