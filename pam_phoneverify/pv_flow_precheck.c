/* pv_flow_precheck.c - the name + mobile consistency pre-check step, run
 * once per login before the first phone method sends anything.  A
 * consistent answer is remembered in the state store for precheck_cache
 * seconds under a hash of user, name and number, so a changed name or
 * number asks again and a user does not pay a charged check each login. */
#include <string.h>
#include "pv_flow_priv.h"
#include "pv_provider.h"
#include "pv_util.h"

static int cached_consistent(pv_flowctx *f, const char *key)
{
    pv_state_record rec;
    pv_err err;
    int hit;

    pv_err_clear(&err);
    if (f->cfg->precheck_cache <= 0 ||
        pv_state_read(f->state, f->login->user, &rec, &err) != 0)
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

int pv_flow_precheck(pv_flowctx *f)
{
    pv_precheck_reply reply;
    char key[65];
    remember_ctx rc;

    if (f->cfg->precheck_url == NULL || f->precheck_done)
        return GO_ON;
    if (f->id.name[0] == '\0')
        return pv_flow_refuse(f, PV_RESULT_DENIED, "precheck_no_name");
    pv_state_precheck_key(f->login->user, f->id.name, f->id.phone.e164, key);
    if (cached_consistent(f, key)) {
        pv_flow_debug(f, "pre-check: consistent (cached)");
        f->precheck_done = 1;
        return GO_ON;
    }
    switch (pv_precheck_call(f->cfg, f->env->http, f->id.name,
                             pv_phone_national(&f->id.phone), &reply)) {
    case PV_PRECHECK_CONSISTENT:
        f->out->precheck_charged = reply.charged;
        f->precheck_done = 1;
        rc.key = key;
        rc.until = pv_flow_now(f) + f->cfg->precheck_cache;
        if (f->cfg->precheck_cache > 0)
            (void)pv_flow_state_update(f, remember_cb, &rc);
        return GO_ON;
    case PV_PRECHECK_NO_RECORD:
        f->out->precheck_charged = reply.charged;
        if (f->cfg->precheck_unknown_allow) {
            f->precheck_done = 1;
            return GO_ON;
        }
        return pv_flow_refuse(f, PV_RESULT_DENIED, "precheck_no_record");
    case PV_PRECHECK_INCONSISTENT:
        f->out->precheck_charged = reply.charged;
        return pv_flow_refuse(f, PV_RESULT_DENIED, "precheck_inconsistent");
    case PV_PRECHECK_NAME_FAILED:
        f->out->precheck_charged = reply.charged;
        return pv_flow_refuse(f, PV_RESULT_DENIED, "precheck_name_failed");
    case PV_PRECHECK_INVALID_MOBILE:
        f->out->precheck_charged = reply.charged;
        return pv_flow_refuse(f, PV_RESULT_DENIED, "precheck_invalid_mobile");
    case PV_PRECHECK_UNAVAILABLE:
    default:
        f->out->precheck_charged = reply.charged;
        return pv_flow_provider_unavailable(f, reply.detail);
    }
}
