/* pv_flow_code.c - the code methods (sms, email): send a code, prompt
 * for it, verify it; resend on an empty entry or an expired code; reuse a
 * pending code when the provider rate-limits a resend (reuse_code). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include "pv_flow_priv.h"
#include "pv_log.h"
#include "pv_phone.h"
#include "pv_provider.h"
#include "pv_util.h"

/* One code-sending channel of this login (sms or email). */
typedef struct channel {
    const char *method;             /* "sms" / "email" */
    char target[PV_EMAIL_MAX + 1];  /* as sent to the API */
    char state_to[PV_STATE_TO_MAX + 1]; /* E.164 or e-mail, for reuse */
    const char *phone;              /* == target for sms, else NULL */
    const char *email;              /* == target for email, else NULL */
    char prompt[256];
    char verification_id[PV_VERIFICATION_ID_MAX + 1];
    long resends_left;
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
        return 0;                       /* bounded before any copy */
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
        return -1;                      /* empty entry: a resend request */
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

static int success_cb(pv_state_record *rec, void *ctx)
{
    (void)ctx;
    pv_lockout_reset(rec);
    /* The code is consumed: never offer it for reuse. */
    pv_wipe(rec->pending_id, sizeof(rec->pending_id));
    rec->pending_to[0] = '\0';
    rec->pending_expires = 0;
    return 0;
}

typedef struct pending_ctx {
    const char *id;                 /* NULL: clear */
    const char *to;
    time_t expires;
} pending_ctx;

static int pending_cb(pv_state_record *rec, void *ctx)
{
    const pending_ctx *pc = ctx;

    pv_wipe(rec->pending_id, sizeof(rec->pending_id));
    rec->pending_to[0] = '\0';
    rec->pending_expires = 0;
    if (pc->id != NULL &&
        pv_strlcpy(rec->pending_id, pc->id, sizeof(rec->pending_id)) == 0 &&
        pv_strlcpy(rec->pending_to, pc->to, sizeof(rec->pending_to)) == 0)
        rec->pending_expires = pc->expires;
    else
        pv_wipe(rec->pending_id, sizeof(rec->pending_id));
    return 0;
}

/* ---- send ------------------------------------------------------------- */

enum send_outcome { SEND_OK, SEND_REUSED, SEND_STOP, SEND_CANNOT_SERVE };

/* The pending code this host sent to this target, if still valid. */
static int pending_code(pv_flowctx *f, const channel *ch, char *id, size_t size)
{
    pv_state_record rec;
    pv_err err;
    int ok = 0;

    pv_err_clear(&err);
    if (pv_state_read(f->state, f->login->user, &rec, &err) != 0)
        return 0;
    if (rec.pending_id[0] != '\0' && strcmp(rec.pending_to, ch->state_to) == 0
        && rec.pending_expires > pv_flow_now(f))
        ok = pv_strlcpy(id, rec.pending_id, size) == 0;
    pv_state_record_clear(&rec);
    return ok;
}

static void remember_pending(pv_flowctx *f, const channel *ch, long expires_in)
{
    pending_ctx pc = { ch->verification_id, ch->state_to,
                       pv_flow_now(f) + expires_in };

    /* Failing to remember only costs the reuse_code convenience. */
    (void)pv_flow_state_update(f, pending_cb, &pc);
}

static void forget_pending(pv_flowctx *f)
{
    pending_ctx pc = { NULL, NULL, 0 };

    (void)pv_flow_state_update(f, pending_cb, &pc);
}

/* Ask the provider for a code.  On SEND_STOP the outcome is final. */
static enum send_outcome send_code(pv_flowctx *f, channel *ch)
{
    pv_send_reply reply;
    enum pv_send_result sr;

    sr = pv_send_code(f->cfg, f->env->http, ch->phone, ch->email, &reply);
    pv_flow_debug(f, "send: %s", reply.detail);
    switch (sr) {
    case PV_SEND_OK:
        f->out->sends++;
        pv_strlcpy(ch->verification_id, reply.id, sizeof(ch->verification_id));
        pv_strlcpy(f->out->id, reply.id, sizeof(f->out->id));
        remember_pending(f, ch, reply.expires_in);
        pv_wipe(&reply, sizeof(reply));
        return SEND_OK;
    case PV_SEND_RATE_LIMITED:
        if (f->cfg->reuse_code &&
            pending_code(f, ch, ch->verification_id,
                         sizeof(ch->verification_id))) {
            pv_strlcpy(f->out->id, ch->verification_id, sizeof(f->out->id));
            return SEND_REUSED;
        }
        pv_flow_say(f, 1, MSG_RATE_LIMITED);
        pv_flow_finish(f, PV_RESULT_DENIED, "rate_limit_exceeded");
        return SEND_STOP;
    case PV_SEND_CAPTCHA:
    case PV_SEND_USER_NOT_FOUND:
        pv_flow_refuse(f, PV_RESULT_DENIED, reply.detail);
        return SEND_STOP;
    case PV_SEND_INVALID_NUMBER:
        pv_strlcpy(f->out->reason, "invalid_phone_number",
                   sizeof(f->out->reason));
        return SEND_CANNOT_SERVE;
    case PV_SEND_UNAVAILABLE:
    default:
        pv_flow_provider_unavailable(f, reply.detail);
        return SEND_STOP;
    }
}

/* ---- prompt and verify ------------------------------------------------ */

enum entry_outcome { ENTRY_AGAIN, ENTRY_DONE };

/* A wrong entry: count it, maybe lock, tell the user how many remain. */
static enum entry_outcome wrong_entry(pv_flowctx *f)
{
    long left = f->cfg->max_tries - f->out->tries;
    char msg[64];
    int locked = pv_flow_record_failure(f);

    if (locked < 0) {
        pv_flow_refuse(f, PV_RESULT_CONFIG_ERROR, "state_error");
        return ENTRY_DONE;
    }
    if (locked) {
        pv_flow_say(f, 1, MSG_LOCKED);
        pv_flow_finish(f, PV_RESULT_LOCKED, "locked_out");
        return ENTRY_DONE;
    }
    if (left <= 0) {
        pv_flow_refuse(f, PV_RESULT_MAXTRIES, "max_tries");
        return ENTRY_DONE;
    }
    pv_snprintf(msg, sizeof(msg), "Incorrect code, %ld %s left.", left,
                left == 1 ? "try" : "tries");
    pv_flow_say(f, 1, msg);
    return ENTRY_AGAIN;
}

/* Send another code (empty entry or expiry). */
static enum entry_outcome resend(pv_flowctx *f, channel *ch, const char *msg)
{
    ch->resends_left--;
    switch (send_code(f, ch)) {
    case SEND_OK:
        pv_flow_say(f, 0, msg);
        return ENTRY_AGAIN;
    case SEND_REUSED:
        pv_flow_say(f, 0, MSG_RESEND_WAIT);
        return ENTRY_AGAIN;
    case SEND_CANNOT_SERVE:
        pv_flow_refuse(f, PV_RESULT_DENIED, "invalid_phone_number");
        return ENTRY_DONE;
    case SEND_STOP:
    default:
        return ENTRY_DONE;
    }
}

static enum entry_outcome check_code(pv_flowctx *f, channel *ch, const char *code)
{
    pv_verify_reply reply;
    enum pv_verify_result vr;

    vr = pv_verify_code(f->cfg, f->env->http, ch->verification_id, code,
                        &reply);
    pv_flow_debug(f, "verify: %s", reply.detail);
    switch (vr) {
    case PV_VERIFY_OK:
        if (pv_flow_state_update(f, success_cb, NULL) != 0)
            pv_logf(&f->env->logger, LOG_WARNING,
                    "could not reset failure count for this user");
        pv_flow_finish(f, PV_RESULT_SUCCESS, "verified");
        return ENTRY_DONE;
    case PV_VERIFY_WRONG:
        return wrong_entry(f);
    case PV_VERIFY_EXPIRED:
        forget_pending(f);
        f->out->tries--;    /* an expired code is not a guess */
        if (ch->resends_left > 0)
            return resend(f, ch, MSG_EXPIRED);
        pv_flow_refuse(f, PV_RESULT_DENIED, "code_expired");
        return ENTRY_DONE;
    case PV_VERIFY_UNAVAILABLE:
    default:
        pv_flow_provider_unavailable(f, reply.detail);
        return ENTRY_DONE;
    }
}

/* One prompt and what follows from the entry. */
static enum entry_outcome one_entry(pv_flowctx *f, channel *ch)
{
    char *reply = NULL;
    char code[PV_CODE_MAX + 1];
    enum entry_outcome eo;
    int kind;

    if (!pv_flow_ask(f, ch->prompt, f->cfg->echo_code, &reply)) {
        pv_flow_finish(f, PV_RESULT_CONV_ERROR, "conversation_failed");
        return ENTRY_DONE;
    }
    kind = pv_code_normalize(reply, f->cfg->code_length, code, sizeof(code));
    pv_free_secret(reply);
    if (kind < 0 && ch->resends_left > 0)
        return resend(f, ch, MSG_RESENT);
    f->out->tries++;
    if (kind <= 0)
        eo = wrong_entry(f);     /* never sent to the API */
    else
        eo = check_code(f, ch, code);
    pv_wipe(code, sizeof(code));
    return eo;
}

/* ---- methods ---------------------------------------------------------- */

static int channel_init(pv_flowctx *f, channel *ch, enum pv_method m)
{
    char masked[64];

    memset(ch, 0, sizeof(*ch));
    ch->resends_left = f->cfg->resend;
    if (m == PV_METHOD_SMS) {
        if (!f->id.has_phone ||
            pv_phone_format(&f->id.phone, f->cfg->phone_format, ch->target,
                            sizeof(ch->target)) != 0)
            return -1;
        ch->method = "sms";
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
        ch->method = "email";
        ch->email = ch->target;
        pv_strlcpy(ch->state_to, f->id.email, sizeof(ch->state_to));
        pv_email_mask(f->id.email, masked, sizeof(masked));
        f->out->to_kind = "email";
        pv_strlcpy(f->out->to_masked, masked, sizeof(f->out->to_masked));
    }
    f->out->method = ch->method;
    build_prompt(f->cfg->prompt, masked, ch->prompt, sizeof(ch->prompt));
    return 0;
}

enum pv_method_status pv_flow_run_code_method(pv_flowctx *f, enum pv_method m)
{
    channel ch;
    enum pv_method_status st = METHOD_DONE;

    if (channel_init(f, &ch, m) != 0)
        return METHOD_CANNOT_SERVE;
    if (m == PV_METHOD_SMS && pv_flow_precheck(f) == DECIDED)
        goto out;
    switch (send_code(f, &ch)) {
    case SEND_CANNOT_SERVE:
        st = METHOD_CANNOT_SERVE;
        goto out;
    case SEND_STOP:
        goto out;
    case SEND_REUSED:
        pv_flow_say(f, 0, MSG_REUSED);
        break;
    case SEND_OK:
    default:
        break;
    }
    while (one_entry(f, &ch) == ENTRY_AGAIN)
        ;
out:
    pv_wipe(&ch, sizeof(ch));
    return st;
}

