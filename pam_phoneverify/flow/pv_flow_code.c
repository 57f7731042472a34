/* pv_flow_code.c - the code methods (sms, email): send a code, prompt
 * for it, verify it; resend on an empty entry or an expired code; reuse a
 * pending code when the provider rate-limits a resend (reuse_code). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include "policy/pv_failover.h"
#include "flow/pv_flow_priv.h"
#include "base/pv_log.h"
#include "identity/pv_phone.h"
#include "provider/pv_provider.h"
#include "policy/pv_sendlimit.h"
#include "base/pv_util.h"

/* One code-sending channel of this login (sms or email). */
typedef struct channel {
    char target[PV_EMAIL_MAX + 1];      /* as sent to the API */
    char state_to[PV_STATE_TO_MAX + 1]; /* E.164 or e-mail, for reuse */
    const char *phone;                  /* == target for sms, else NULL */
    const char *email;                  /* == target for email, else NULL */
    char prompt[256];
    char verification_id[PV_VERIFICATION_ID_MAX + 1];
    long resends_left;
    pv_entries entries; /* provider entries, their health, this login's
                           outages */
    size_t entry;       /* the entry that sent verification_id */
    int quota_reuse;    /* the last reuse: a limit other than the minute */
    char early[PV_CODE_MAX + 1]; /* a code typed at the resend_wait prompt
                                    for a code another login had sent
                                    meanwhile: the next entry */
} channel;

int pv_code_normalize(const char *entry, long code_length, char *out,
                      size_t size)
{
    size_t len, i, n = 0;

    if (size > 0)
        out[0] = '\0';
    if (entry == NULL)
        return -1;
    len = strnlen(entry, PV_CODE_MAX + 1);
    if (len > PV_CODE_MAX)
        return 0; /* bounded before any copy */
    for (i = 0; i < len; i++) {
        char c = entry[i];

        if (c == ' ' || c == '-')
            continue;
        if (c < '0' || c > '9' || n + 1 >= size) {
            pv_wipe(out, size);
            return 0;
        }
        out[n++] = c;
    }
    out[n] = '\0';
    if (n == 0)
        return -1; /* empty entry: a resend request */
    if ((long)n != code_length) {
        pv_wipe(out, size);
        return 0;
    }
    return 1;
}

/* Expand %p (masked target) and %% in the configured prompt. */
static void build_prompt(const char *fmt, const char *masked, char *buf,
                         size_t size)
{
    size_t o = 0;

    for (; *fmt != '\0' && o + 1 < size; fmt++) {
        if (fmt[0] == '%' && fmt[1] == 'p') {
            size_t m = strlen(masked);

            if (o + m >= size)
                break;
            memcpy(buf + o, masked, m);
            o += m;
            fmt++;
        } else if (fmt[0] == '%' && fmt[1] == '%') {
            buf[o++] = '%';
            fmt++;
        } else {
            buf[o++] = *fmt;
        }
    }
    buf[o] = '\0';
}

typedef struct pending_ctx {
    const char *id; /* NULL: clear */
    const char *to;
    time_t expires;
    time_t sent_at; /* 0: leave last_sent alone */
    size_t entry;   /* provider entry that sent it */
} pending_ctx;

static int pending_cb(pv_state_record *rec, void *ctx)
{
    const pending_ctx *pc = ctx;

    pv_wipe(rec->pending_id, sizeof(rec->pending_id));
    rec->pending_to[0] = '\0';
    rec->pending_expires = 0;
    rec->pending_entry = 0;
    if (pc->id != NULL && pc->entry <= PV_STATE_MAX_ENTRY &&
        pv_strlcpy(rec->pending_id, pc->id, sizeof(rec->pending_id)) == 0 &&
        pv_strlcpy(rec->pending_to, pc->to, sizeof(rec->pending_to)) == 0) {
        rec->pending_expires = pc->expires;
        rec->pending_entry = (unsigned)pc->entry;
    } else {
        pv_wipe(rec->pending_id, sizeof(rec->pending_id));
    }
    if (pc->sent_at > rec->last_sent && pc->sent_at <= PV_STATE_TIME_MAX)
        rec->last_sent = pc->sent_at;
    return 0;
}

/* ---- send ------------------------------------------------------------- */

enum send_outcome {
    SEND_OK,
    SEND_REUSED,
    SEND_STOP,
    SEND_CANNOT_SERVE,
    SEND_LIMITED, /* the provider's per-number minute, no reuse */
    SEND_OUTAGE,  /* this entry is out: try the next */
};

/* The pending code sent to this target, if still valid and sent by an
 * entry that has not failed in this login (it is verified there). */
static int pending_code(pv_flowctx *f, channel *ch, char *id, size_t size)
{
    pv_state_record rec;
    pv_err err;
    int ok = 0;

    pv_err_clear(&err);
    if (pv_state_read(f->state, f->user, &rec, &err) != 0)
        return 0;
    if (rec.pending_id[0] != '\0' &&
        strcmp(rec.pending_to, ch->state_to) == 0 &&
        rec.pending_expires > pv_flow_now(f) &&
        rec.pending_entry < ch->entries.n &&
        !ch->entries.failed[rec.pending_entry])
        ok = pv_strlcpy(id, rec.pending_id, size) == 0;
    if (ok)
        ch->entry = rec.pending_entry;
    pv_state_record_clear(&rec);
    return ok;
}

static void remember_pending(pv_flowctx *f, const channel *ch, long expires_in)
{
    time_t now = pv_flow_now(f);
    pending_ctx pc = { ch->verification_id, ch->state_to, now + expires_in,
                       now, ch->entry };

    /* Failing to remember only costs the reuse_code convenience. */
    (void)pv_flow_state_update(f, pending_cb, &pc);
}

static void forget_pending(pv_flowctx *f)
{
    pending_ctx pc = { NULL, NULL, 0, 0, 0 };

    (void)pv_flow_state_update(f, pending_cb, &pc);
}

/* No code pending yet, but another login's send may be about to record
 * one (logins of one user started together: one code is sent, the others
 * are refused by the minute and reuse it): wait for its answer, a request's
 * time at most, in short naps.  A send already answered does not wait. */
static int pending_after_others(pv_flowctx *f, channel *ch)
{
    long naps = pv_flow_naps_max(f);

    for (;;) {
        if (pending_code(f, ch, ch->verification_id,
                         sizeof(ch->verification_id)))
            return 1;
        if (naps-- <= 0 || !pv_flow_sends_unanswered(f))
            return 0;
        pv_flow_nap(f);
    }
}

/* A rate limit other than the per-number minute (the provider's hourly
 * per-IP quota, doc/providers.md): waiting a minute would not help, so
 * the user is told at once what the provider said. */
#define MSG_RATE_REFUSED \
    N_("The verification service refused to send a code: %s")

static pv_verdict quota_refusal(pv_flowctx *f, const pv_send_reply *reply)
{
    pv_verdict v = pv_verdict_user_refusal("rate_limit_exceeded", NULL);

    (void)pv_trf(f->env->catalog, v.message, sizeof(v.message),
                 MSG_RATE_REFUSED, reply->description);
    return v;
}

/* A send refused by the provider: reuse a pending code, or a verdict. */
static enum send_outcome send_refused(pv_flowctx *f, channel *ch,
                                      enum pv_send_result sr,
                                      const pv_send_reply *reply,
                                      pv_verdict *v)
{
    switch (sr) {
    case PV_SEND_RATE_LIMITED:
        if (f->cfg->reuse_code && pending_after_others(f, ch)) {
            pv_strlcpy(f->out->id, ch->verification_id, sizeof(f->out->id));
            ch->quota_reuse = !reply->per_number;
            return SEND_REUSED;
        }
        if (!reply->per_number) {
            *v = quota_refusal(f, reply);
            return SEND_STOP;
        }
        /* send_code waits or refuses naming the wait */
        *v = pv_verdict_user_refusal("rate_limit_exceeded", NULL);
        return SEND_LIMITED;
    case PV_SEND_CAPTCHA:
    case PV_SEND_USER_NOT_FOUND:
        *v = pv_verdict_user_refusal(reply->detail, NULL);
        return SEND_STOP;
    case PV_SEND_INVALID_NUMBER:
        *v = pv_verdict_next_method("invalid_phone_number");
        return SEND_CANNOT_SERVE;
    case PV_SEND_UNAVAILABLE:
    case PV_SEND_OK:
    default:
        *v = pv_verdict_failure(reply->failure, reply->detail);
        return SEND_STOP;
    }
}

/* The per-user budget allows one more code: 1, else 0 with *v. */
static int budget_allows(pv_flowctx *f, time_t *at, pv_verdict *v)
{
    char msg[PV_VERDICT_MSG_MAX];
    long wait = 0;

    switch (pv_flow_send_reserve(f, at, &wait)) {
    case PV_BUDGET_RESERVED:
        return 1;
    case PV_BUDGET_SPENT:
        pv_sendlimit_message(f->env->catalog, wait, msg, sizeof(msg));
        *v = pv_verdict_user_refusal("send_limit", msg);
        return 0;
    case PV_BUDGET_LOCKED:
        *v = pv_verdict_final(PV_RESULT_LOCKED, "locked_out");
        return 0;
    case PV_BUDGET_ERROR:
    default:
        *v = pv_verdict_final(PV_RESULT_CONFIG_ERROR, "state_error");
        return 0;
    }
}

/* The provider answered and sent nothing.  Without an answer (an outage,
 * a helper stopped by the caller) a code may have gone out: the send stays
 * counted, or stopping the helper would buy unlimited texts. */
static int provider_refused(enum pv_send_result sr, const pv_send_reply *r)
{
    switch (sr) {
    case PV_SEND_RATE_LIMITED:
    case PV_SEND_CAPTCHA:
    case PV_SEND_USER_NOT_FOUND:
    case PV_SEND_INVALID_NUMBER:
        return 1;
    case PV_SEND_UNAVAILABLE:
        return r->failure == PV_FAILURE_CREDENTIALS ||
               r->failure == PV_FAILURE_REJECTED;
    case PV_SEND_OK:
    default:
        return 0;
    }
}

/* Entry i had a network-observed outage (PV_FAILURE_OUTAGE only: a local
 * failure says nothing about the provider and marks nothing): every login
 * puts it last for a while (pam_phoneverify.conf(5)), and this one goes
 * on at another entry. */
static void entry_out(pv_flowctx *f, channel *ch, size_t i, const char *what,
                      const char *detail)
{
    if (pv_entries_mark_out(&ch->entries, f->state, i, pv_flow_now(f)) != 0)
        pv_logf(&f->env->logger, LOG_WARNING,
                "could not record provider entry health");
    if (ch->entries.n > 1)
        pv_logf(&f->env->logger, LOG_WARNING,
                "provider entry %zu %s unavailable (%s): skipped for %d s",
                i + 1, what, detail, PV_ENTRY_OUT_SECONDS);
}

/* Ask entry i for a code once (the send budget first: every attempt
 * counts).  On SEND_STOP, SEND_LIMITED, SEND_CANNOT_SERVE and SEND_OUTAGE,
 * *v says why. */
static enum send_outcome send_once(pv_flowctx *f, channel *ch, size_t i,
                                   pv_verdict *v)
{
    char url[PV_URL_ENTRY_MAX];
    pv_send_reply reply;
    enum pv_send_result sr;
    enum send_outcome so;
    time_t at;

    if (pv_url_list_item(f->cfg->send_url, i, url, sizeof(url)) != 0) {
        *v = pv_verdict_final(PV_RESULT_CONFIG_ERROR, "send_url");
        return SEND_STOP;
    }
    if (!budget_allows(f, &at, v))
        return SEND_STOP;
    sr = pv_send_code(f->cfg, f->env->http, url, ch->phone, ch->email, &reply);
    pv_flow_debug(f, "send (entry %zu): %s", i + 1, reply.detail);
    if (sr == PV_SEND_UNAVAILABLE && reply.failure == PV_FAILURE_OUTAGE) {
        /* no answer: a code may have gone out, the budget stays spent */
        pv_flow_send_kept(f, at);
        *v = pv_verdict_failure(reply.failure, reply.detail);
        entry_out(f, ch, i, "send", reply.detail);
        pv_wipe(&reply, sizeof(reply));
        return SEND_OUTAGE;
    }
    if (sr != PV_SEND_OK) {
        if (provider_refused(sr, &reply))
            pv_flow_send_give_back(f, at); /* nothing was sent */
        else
            pv_flow_send_kept(f, at);
        so = send_refused(f, ch, sr, &reply, v);
        pv_wipe(&reply, sizeof(reply));
        return so;
    }
    pv_flow_send_kept(f, at);
    f->out->sends++;
    ch->entry = i;
    pv_strlcpy(ch->verification_id, reply.id, sizeof(ch->verification_id));
    pv_strlcpy(f->out->id, reply.id, sizeof(f->out->id));
    remember_pending(f, ch, reply.expires_in);
    pv_wipe(&reply, sizeof(reply));
    return SEND_OK;
}

/* ---- resend_wait: the provider's one code per number per minute -------- */

/* The plan from the last send recorded in the state. */
static pv_resend_plan resend_plan(pv_flowctx *f, time_t now)
{
    pv_state_record rec;
    pv_err err;
    time_t last = 0;

    pv_err_clear(&err);
    if (pv_state_read(f->state, f->user, &rec, &err) == 0)
        last = rec.last_sent;
    pv_state_record_clear(&rec);
    return pv_resend_plan_make(last, now, f->cfg->resend_wait);
}

/* A refusal naming the real wait (one the user can provoke: never opens). */
static pv_verdict limited_refusal(pv_flowctx *f, long wait)
{
    pv_verdict v = pv_verdict_user_refusal("rate_limit_exceeded", NULL);

    (void)pv_trf(f->env->catalog, v.message, sizeof(v.message),
                 MSG_WAIT_REFUSED, wait);
    return v;
}

/* ---- the resend_wait prompt ---------------------------------------------
 *
 * Every wait is shown before it starts and no conversation round holds a
 * sleep: under sshd's keyboard-interactive a message reaches the user
 * only with the next prompt, so a wait inside one round is invisible, and
 * sshd then adds a delay that grows with the time the round took
 * (doc/performance.md).  The user waits at a prompt that names the time
 * left; Enter pressed early asks again with what is left.  What is typed
 * there is never sent anywhere unless another login has meanwhile sent a
 * code that is pending for this user (reuse_code): then a well-formed
 * entry is that code's first try (a guess like any other), and any other
 * entry goes on to its prompt.  Otherwise an entry counts as Enter. */

#define WAIT_ASKS_MAX 8 /* answers before the time is up: then refused */
#define WAIT_NAP_MAX 2  /* seconds left after an answer that are slept */

enum wait_end {
    WAIT_SEND,  /* the provider's minute has passed: send now */
    WAIT_REUSE, /* another login's code is pending: prompt for it */
    WAIT_STOP,  /* refused or the conversation failed: *v */
};

/* One answer at the wait prompt: -1 the conversation failed, 1 a code of
 * another login is pending now (ch->early holds a well-formed entry),
 * else 0. */
static int ask_wait(pv_flowctx *f, channel *ch, long left)
{
    char *reply = NULL;
    char code[PV_CODE_MAX + 1];
    int kind, pending;

    if (!pv_flow_askf(f, 1, &reply, PROMPT_WAIT, left))
        return -1;
    kind = pv_code_normalize(reply, f->cfg->code_length, code, sizeof(code));
    pv_free_secret(reply);
    pending = f->cfg->reuse_code && pending_code(f, ch, ch->verification_id,
                                                 sizeof(ch->verification_id));
    if (pending && kind == 1)
        pv_strlcpy(ch->early, code, sizeof(ch->early));
    pv_wipe(code, sizeof(code));
    if (pending) {
        pv_strlcpy(f->out->id, ch->verification_id, sizeof(f->out->id));
        ch->quota_reuse = 1; /* "A code was already sent" */
    }
    return pending;
}

/* The last seconds after an answer: slept (the prompt named them). */
static void nap_out(pv_flowctx *f, time_t ready)
{
    pv_clock *c = &f->env->clock;

    if (c->sleep_ms != NULL)
        pv_sleep_until(c->now, c->sleep_ms, c->ctx, ready, WAIT_NAP_MAX + 1);
}

/* The provider refused within its minute and nothing is reusable: when
 * resend_wait allows it, say why and prompt until the minute has passed. */
static enum wait_end wait_for_provider(pv_flowctx *f, channel *ch,
                                       pv_verdict *v)
{
    time_t now = pv_flow_now(f);
    pv_resend_plan p = resend_plan(f, now);
    time_t ready = now + p.wait;
    long left = p.wait;
    int asks, r;

    if (!p.may_wait || f->env->conv.prompt == NULL) {
        *v = limited_refusal(f, p.wait);
        return WAIT_STOP;
    }
    if (p.ago >= 0)
        pv_flow_sayf(f, 0, MSG_WAIT_SINCE, p.ago);
    else
        pv_flow_say(f, 0, MSG_WAIT_UNKNOWN);
    pv_flow_debug(f, "send: rate limited, %ld s to wait", p.wait);
    for (asks = 0; asks < WAIT_ASKS_MAX; asks++) {
        r = ask_wait(f, ch, left);
        if (r < 0) {
            *v = pv_verdict_final(PV_RESULT_CONV_ERROR, "conversation_failed");
            return WAIT_STOP;
        }
        if (r > 0)
            return WAIT_REUSE;
        left = (long)(ready - pv_flow_now(f));
        if (left > 0 && left <= WAIT_NAP_MAX) {
            nap_out(f, ready);
            left = (long)(ready - pv_flow_now(f));
        }
        if (left <= 0)
            return WAIT_SEND;
    }
    *v = limited_refusal(f, left);
    return WAIT_STOP;
}

/* Send a code at entry i; when the provider's per-number minute refuses
 * it and no code is reusable, wait at the resend_wait prompt and send
 * once more (a rate limit is a refusal: it never moves to the next
 * entry). */
static enum send_outcome send_at(pv_flowctx *f, channel *ch, size_t i,
                                 pv_verdict *v)
{
    enum send_outcome so = send_once(f, ch, i, v);

    if (so != SEND_LIMITED)
        return so;
    switch (wait_for_provider(f, ch, v)) {
    case WAIT_REUSE:
        return SEND_REUSED;
    case WAIT_SEND:
        break;
    case WAIT_STOP:
    default:
        return SEND_STOP;
    }
    so = send_once(f, ch, i, v);
    if (so != SEND_LIMITED)
        return so;
    *v = limited_refusal(f, resend_plan(f, pv_flow_now(f)).wait);
    return SEND_STOP;
}

/* Ask for a code at the first entry that has not failed in this login
 * (unmarked ones first, then the marked ones: a mark orders, it does not
 * remove), moving on past each entry that has an outage.  When every entry
 * failed, *v is the last outage (pv_flow.c applies failmode). */
static enum send_outcome send_code(pv_flowctx *f, channel *ch, pv_verdict *v)
{
    enum send_outcome so;
    size_t i;

    for (;;) {
        i = pv_entry_pick(ch->entries.out_until, ch->entries.failed,
                          ch->entries.n, pv_flow_now(f));
        if (i >= ch->entries.n)
            break;
        so = send_at(f, ch, i, v);
        if (so != SEND_OUTAGE)
            return so;
    }
    if (v->step != PV_STEP_FINAL)
        *v = pv_verdict_failure(PV_FAILURE_OUTAGE, "all_entries_out");
    return SEND_STOP;
}

/* ---- prompt and verify ------------------------------------------------ */

/* A guess was counted and was wrong: locked, out of tries, or again
 * (GO_ON, after telling the user how many remain). */
static pv_verdict after_wrong_guess(pv_flowctx *f, enum pv_guess_status st)
{
    long left = f->cfg->max_tries - f->out->tries;

    if (st == PV_GUESS_ERROR)
        return pv_verdict_final(PV_RESULT_CONFIG_ERROR, "state_error");
    if (st == PV_GUESS_LOCKED)
        return pv_verdict_final(PV_RESULT_LOCKED, "locked_out");
    if (left <= 0)
        return pv_verdict_final(PV_RESULT_MAXTRIES, "max_tries");
    if (left == 1)
        pv_flow_say(f, 1, N_("Incorrect code, 1 try left."));
    else
        pv_flow_sayf(f, 1, N_("Incorrect code, %ld tries left."), left);
    return pv_verdict_go_on();
}

/* Send another code: GO_ON, or why not. */
static pv_verdict send_again(pv_flowctx *f, channel *ch, const char *msg)
{
    pv_verdict v = pv_verdict_go_on();

    switch (send_code(f, ch, &v)) {
    case SEND_OK:
        pv_flow_say(f, 0, msg);
        return pv_verdict_go_on();
    case SEND_REUSED:
        /* "less than a minute ago" only when the minute refused it */
        if (ch->early[0] == '\0')
            pv_flow_say(f, 0, ch->quota_reuse ? MSG_REUSED : MSG_RESEND_WAIT);
        return pv_verdict_go_on();
    case SEND_CANNOT_SERVE:
        return pv_verdict_final(PV_RESULT_DENIED, "invalid_phone_number");
    case SEND_STOP:
    case SEND_LIMITED:
    case SEND_OUTAGE:
    default:
        return v;
    }
}

/* The user asked for another code (empty entry) or it expired. */
static pv_verdict resend(pv_flowctx *f, channel *ch, const char *msg)
{
    ch->resends_left--;
    return send_again(f, ch, msg);
}

/* The entry that sent the code is out, so the code cannot be checked:
 * a new one from another entry.  Not a resend the user asked for (no
 * `resend` spent: an outage must not end the login), but the send budget
 * still counts it, and the try whose answer the outage hid stays counted,
 * in max_tries and as a lockout failure (doc/security.md: the provider
 * may have checked it).  When that guess started a lockout, the login
 * ends locked; when it was the last of max_tries, it ends there (a new
 * code would bring one try more). */
static pv_verdict verify_failover(pv_flowctx *f, channel *ch,
                                  const pv_verify_reply *reply,
                                  const pv_guess *g)
{
    entry_out(f, ch, ch->entry, "verify", reply->detail);
    if (g->lock_started != 0)
        return pv_verdict_final(PV_RESULT_LOCKED, "locked_out");
    if (!pv_entries_left(&ch->entries))
        return pv_verdict_failure(reply->failure, reply->detail);
    if (f->out->tries >= f->cfg->max_tries)
        return pv_verdict_final(PV_RESULT_MAXTRIES, "max_tries");
    forget_pending(f);
    return send_again(f, ch, MSG_RESENT);
}

/* The provider said the code is gone (3003/3011/4001: expired, used,
 * unknown), an explicit answer: no guess; resend if allowed.  The only
 * way a sent guess is given back. */
static pv_verdict code_gone(pv_flowctx *f, channel *ch, const pv_guess *g)
{
    pv_flow_guess_take_back(f, g);
    forget_pending(f);
    f->out->tries--;
    if (ch->resends_left > 0)
        return resend(f, ch, MSG_EXPIRED);
    return pv_verdict_final(PV_RESULT_DENIED, "code_expired");
}

/* One well-formed code to the verify API, recorded as a guess first. */
static pv_verdict check_code(pv_flowctx *f, channel *ch, const char *code)
{
    char url[PV_URL_ENTRY_MAX];
    pv_verify_reply reply;
    enum pv_guess_status st;
    pv_guess g;

    if (pv_url_list_item(f->cfg->verify_url, ch->entry, url, sizeof(url)))
        return pv_verdict_final(PV_RESULT_CONFIG_ERROR, "verify_url");
    st = pv_flow_guess_begin(f, &g);
    if (st != PV_GUESS_RECORDED)
        return after_wrong_guess(f, st);
    switch (pv_verify_code(f->cfg, f->env->http, url, ch->verification_id,
                           code, &reply)) {
    case PV_VERIFY_OK:
        pv_flow_debug(f, "verify: %s", reply.detail);
        if (pv_flow_guess_succeeded(f) != 0)
            pv_logf(&f->env->logger, LOG_WARNING,
                    "could not reset failure count for this user");
        return pv_verdict_code_verified();
    case PV_VERIFY_WRONG:
        return after_wrong_guess(f, g.lock_started != 0 ? PV_GUESS_LOCKED
                                                        : PV_GUESS_RECORDED);
    case PV_VERIFY_EXPIRED:
        pv_flow_debug(f, "verify: %s", reply.detail);
        return code_gone(f, ch, &g);
    case PV_VERIFY_UNAVAILABLE:
    default:
        pv_flow_debug(f, "verify: %s", reply.detail);
        /* The guess stays counted whatever hid its answer: the request
         * went out and the provider may have checked it; an attacker on
         * the path can cut exactly the answers that say "wrong", and the
         * caller can stop the helper on purpose.  Only a network outage
         * moves to another entry. */
        if (reply.failure != PV_FAILURE_OUTAGE)
            return pv_verdict_failure(reply.failure, reply.detail);
        return verify_failover(f, ch, &reply, &g);
    }
}

/* The next entry: the code typed at the resend_wait prompt, else one
 * prompt.  0 when the conversation failed. */
static int next_entry(pv_flowctx *f, channel *ch, char *code, size_t size,
                      int *kind)
{
    char *reply = NULL;

    if (ch->early[0] != '\0') {
        pv_strlcpy(code, ch->early, size);
        pv_wipe(ch->early, sizeof(ch->early));
        *kind = 1;
        return 1;
    }
    if (!pv_flow_ask(f, ch->prompt, f->cfg->echo_code, &reply))
        return 0;
    *kind = pv_code_normalize(reply, f->cfg->code_length, code, size);
    pv_free_secret(reply);
    return 1;
}

/* One entry and what follows from it: GO_ON to prompt again. */
static pv_verdict one_entry(pv_flowctx *f, channel *ch)
{
    char code[PV_CODE_MAX + 1];
    pv_verdict v;
    pv_guess g;
    int kind = 0;

    if (!next_entry(f, ch, code, sizeof(code), &kind))
        return pv_verdict_final(PV_RESULT_CONV_ERROR, "conversation_failed");
    if (kind < 0 && ch->resends_left > 0)
        return resend(f, ch, MSG_RESENT);
    f->out->tries++;
    if (kind <= 0)
        v = after_wrong_guess(f, pv_flow_wrong_entry(f, &g));
    else
        v = check_code(f, ch, code);
    pv_wipe(code, sizeof(code));
    return v;
}

/* ---- methods ---------------------------------------------------------- */

static int channel_init(pv_flowctx *f, channel *ch, enum pv_method m)
{
    char masked[64];

    memset(ch, 0, sizeof(*ch));
    ch->resends_left = f->cfg->resend;
    pv_entries_init(&ch->entries, f->cfg);
    pv_entries_load(&ch->entries, f->state);
    if (m == PV_METHOD_SMS) {
        if (!f->id.has_phone ||
            pv_phone_format(&f->id.phone, f->cfg->phone_format, ch->target,
                            sizeof(ch->target)) != 0)
            return -1;
        ch->phone = ch->target;
        pv_strlcpy(ch->state_to, f->id.phone.e164, sizeof(ch->state_to));
        pv_phone_mask(&f->id.phone, " ", masked, sizeof(masked));
        f->out->to_kind = "phone";
        pv_phone_mask(&f->id.phone, "", f->out->to_masked,
                      sizeof(f->out->to_masked));
    } else {
        if (f->id.email[0] == '\0' ||
            pv_strlcpy(ch->target, f->id.email, sizeof(ch->target)) != 0)
            return -1;
        ch->email = ch->target;
        pv_strlcpy(ch->state_to, f->id.email, sizeof(ch->state_to));
        pv_email_mask(f->id.email, masked, sizeof(masked));
        f->out->to_kind = "email";
        pv_strlcpy(f->out->to_masked, masked, sizeof(f->out->to_masked));
    }
    pv_outcome_set_method(f->out, m);
    /* the default prompt is in the catalogue; an admin's own is kept */
    build_prompt(pv_flow_tr(f, f->cfg->prompt), masked, ch->prompt,
                 sizeof(ch->prompt));
    return 0;
}

/* Send the first code (after the pre-check for sms): GO_ON when one is
 * on its way or reused. */
static pv_verdict first_send(pv_flowctx *f, channel *ch, enum pv_method m)
{
    pv_verdict v = pv_verdict_go_on();

    if (m == PV_METHOD_SMS) {
        v = pv_flow_precheck(f);
        if (v.step != PV_STEP_GO_ON)
            return v;
    }
    switch (send_code(f, ch, &v)) {
    case SEND_REUSED:
        if (ch->early[0] == '\0')
            pv_flow_say(f, 0, MSG_REUSED);
        return pv_verdict_go_on();
    case SEND_OK:
        return pv_verdict_go_on();
    case SEND_CANNOT_SERVE:
    case SEND_STOP:
    case SEND_OUTAGE:
    default:
        return v;
    }
}

pv_verdict pv_flow_run_code_method(pv_flowctx *f, enum pv_method m)
{
    channel ch;
    pv_verdict v;

    if (channel_init(f, &ch, m) != 0)
        return pv_verdict_next_method(NULL);
    v = first_send(f, &ch, m);
    while (v.step == PV_STEP_GO_ON)
        v = one_entry(f, &ch);
    pv_wipe(&ch, sizeof(ch));
    return v;
}
