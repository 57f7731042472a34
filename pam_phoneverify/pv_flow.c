/* pv_flow.c - the authentication flow.
 *
 * Order of decisions (SPEC section 1):
 *   trusted rhost? -> resolve the user -> groups -> look up phone/e-mail ->
 *   locked out? -> for each method in `methods`: send, prompt, verify.
 *
 * Every path starts from a refusal (PV_RESULT_DENIED) and only the few
 * places that SPEC section 5 names may change that to success or ignore.
 * The flow never talks to PAM or libcurl: see pv_flow.h. */
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>
#include "pv_breakglass.h"
#include "pv_flow.h"
#include "pv_lockout.h"
#include "pv_log.h"
#include "pv_lookup.h"
#include "pv_phone.h"
#include "pv_policy.h"
#include "pv_provider.h"
#include "pv_util.h"

#define PV_USER_MAX 256

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

/* Everything one login carries through the flow. */
typedef struct flow {
    const pv_config *cfg;
    const pv_login *login;
    pv_flow_env *env;
    pv_outcome *out;
    pv_state *state;
    pv_lockout_policy lockout;
    pv_identity id;
    char *gecos;
} flow;

/* What a method did: a final decision, or "cannot serve this user". */
enum method_status { METHOD_DONE, METHOD_CANNOT_SERVE };

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

/* ---- small helpers ---------------------------------------------------- */

static time_t now_of(const flow *f)
{
    return f->env->clock.now(f->env->clock.ctx);
}

/* Record the decision; returns DECIDED so steps can `return finish(...)`. */
#define DECIDED 1
#define GO_ON 0
static int finish(flow *f, enum pv_result r, const char *reason)
{
    f->out->result = r;
    if (reason != f->out->reason)
        pv_strlcpy(f->out->reason, reason, sizeof(f->out->reason));
    return DECIDED;
}

static void say(flow *f, int error, const char *msg)
{
    pv_conv *c = &f->env->conv;
    int (*fn)(void *, const char *) = error ? c->error : c->info;

    /* A failure to show a message is not a decision: the next prompt (or
     * the result) tells the caller what happened anyway. */
    if (fn != NULL)
        (void)fn(c->ctx, msg);
}

static void debug(flow *f, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void debug(flow *f, const char *fmt, ...)
{
    char buf[512];
    va_list ap;

    if (!f->cfg->debug || f->env->logger.log == NULL)
        return;
    va_start(ap, fmt);
    (void)vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    f->env->logger.log(f->env->logger.ctx, LOG_DEBUG, buf);
}

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

/* Ask once.  1 with a malloc'd reply in *reply (maybe NULL), or 0 when the
 * conversation itself failed. */
static int ask(flow *f, const char *msg, int echo, char **reply)
{
    pv_conv *c = &f->env->conv;

    *reply = NULL;
    if (c->prompt == NULL || c->prompt(c->ctx, msg, echo, reply) != 0) {
        pv_free_secret(*reply);
        *reply = NULL;
        return 0;
    }
    return 1;
}

/* ---- state updates ---------------------------------------------------- */

typedef struct failure_ctx {
    const pv_lockout_policy *pol;
    time_t now;
    int locked;
} failure_ctx;

static int add_failure_cb(pv_state_record *rec, void *ctx)
{
    failure_ctx *fc = ctx;
    time_t until;

    pv_lockout_add_failure(rec, fc->pol, fc->now);
    fc->locked = pv_lockout_active(rec, fc->pol, fc->now, &until);
    return 0;
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

static int state_update(flow *f, pv_state_update_fn fn, void *ctx)
{
    pv_err err;

    pv_err_clear(&err);
    if (pv_state_update(f->state, f->login->user, fn, ctx, &err) != 0) {
        pv_logf(&f->env->logger, LOG_ERR, "state update failed: %s",
                err.msg);
        return -1;
    }
    return 0;
}

/* Record one wrong entry.  1 when the user is now locked out, 0 not, -1
 * when the failure could not be recorded (the login is then refused:
 * uncounted guesses would defeat the lockout). */
static int record_failure(flow *f)
{
    failure_ctx fc = { &f->lockout, now_of(f), 0 };

    if (state_update(f, add_failure_cb, &fc) != 0)
        return -1;
    return fc.locked;
}

/* ---- provider outage -------------------------------------------------- */

static int try_breakglass(flow *f, const char *detail)
{
    char *reply = NULL;
    pv_err err;
    enum pv_breakglass_result r;

    if (!ask(f, PROMPT_BREAKGLASS, 0, &reply))
        return finish(f, PV_RESULT_CONV_ERROR, "conversation_failed");
    pv_err_clear(&err);
    r = (reply != NULL && reply[0] != '\0' &&
         strnlen(reply, PV_CODE_MAX + 1) <= PV_CODE_MAX)
            ? pv_breakglass_consume(f->cfg->breakglass_file,
                                    f->login->user, reply, &err)
            : PV_BREAKGLASS_REJECTED;
    pv_free_secret(reply);
    if (r == PV_BREAKGLASS_ACCEPTED)
        return finish(f, PV_RESULT_BREAKGLASS, "breakglass_code_used");
    if (r == PV_BREAKGLASS_ERROR)
        pv_logf(&f->env->logger, LOG_ERR, "break-glass file: %s", err.msg);
    else if (record_failure(f) < 0)
        return finish(f, PV_RESULT_CONFIG_ERROR, "state_error");
    say(f, 1, MSG_REFUSED);
    return finish(f, PV_RESULT_UNAVAILABLE, detail);
}

/* The provider cannot be used: emergency code, then failmode. */
static int provider_unavailable(flow *f, const char *detail)
{
    if (f->cfg->failmode == PV_FAILMODE_SAFE) {
        say(f, 1, MSG_UNAVAILABLE);
        return finish(f, PV_RESULT_FAILOPEN, detail);
    }
    if (f->cfg->breakglass_file != NULL)
        return try_breakglass(f, detail);
    say(f, 1, MSG_UNAVAILABLE);
    return finish(f, PV_RESULT_UNAVAILABLE, detail);
}

/* ---- send ------------------------------------------------------------- */

enum send_outcome { SEND_OK, SEND_REUSED, SEND_STOP, SEND_CANNOT_SERVE };

/* The pending code this host sent to this target, if still valid. */
static int pending_code(flow *f, const channel *ch, char *id, size_t size)
{
    pv_state_record rec;
    pv_err err;
    int ok = 0;

    pv_err_clear(&err);
    if (pv_state_read(f->state, f->login->user, &rec, &err) != 0)
        return 0;
    if (rec.pending_id[0] != '\0' && strcmp(rec.pending_to, ch->state_to) == 0
        && rec.pending_expires > now_of(f))
        ok = pv_strlcpy(id, rec.pending_id, size) == 0;
    pv_state_record_clear(&rec);
    return ok;
}

static void remember_pending(flow *f, const channel *ch, long expires_in)
{
    pending_ctx pc = { ch->verification_id, ch->state_to,
                       now_of(f) + expires_in };

    /* Failing to remember only costs the reuse_code convenience. */
    (void)state_update(f, pending_cb, &pc);
}

static void forget_pending(flow *f)
{
    pending_ctx pc = { NULL, NULL, 0 };

    (void)state_update(f, pending_cb, &pc);
}

/* Ask the provider for a code.  On SEND_STOP the outcome is final. */
static enum send_outcome send_code(flow *f, channel *ch)
{
    pv_send_reply reply;
    enum pv_send_result sr;

    sr = pv_send_code(f->cfg, f->env->http, ch->phone, ch->email, &reply);
    debug(f, "send: %s", reply.detail);
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
        say(f, 1, MSG_RATE_LIMITED);
        finish(f, PV_RESULT_DENIED, "rate_limit_exceeded");
        return SEND_STOP;
    case PV_SEND_CAPTCHA:
    case PV_SEND_USER_NOT_FOUND:
        say(f, 1, MSG_REFUSED);
        finish(f, PV_RESULT_DENIED, reply.detail);
        return SEND_STOP;
    case PV_SEND_INVALID_NUMBER:
        pv_strlcpy(f->out->reason, "invalid_phone_number",
                   sizeof(f->out->reason));
        return SEND_CANNOT_SERVE;
    case PV_SEND_UNAVAILABLE:
    default:
        provider_unavailable(f, reply.detail);
        return SEND_STOP;
    }
}

/* ---- prompt and verify ------------------------------------------------ */

enum entry_outcome { ENTRY_AGAIN, ENTRY_DONE };

/* A wrong entry: count it, maybe lock, tell the user how many remain. */
static enum entry_outcome wrong_entry(flow *f)
{
    long left = f->cfg->max_tries - f->out->tries;
    char msg[64];
    int locked = record_failure(f);

    if (locked < 0) {
        finish(f, PV_RESULT_CONFIG_ERROR, "state_error");
        return ENTRY_DONE;
    }
    if (locked) {
        say(f, 1, MSG_LOCKED);
        finish(f, PV_RESULT_LOCKED, "locked_out");
        return ENTRY_DONE;
    }
    if (left <= 0) {
        say(f, 1, MSG_REFUSED);
        finish(f, PV_RESULT_MAXTRIES, "max_tries");
        return ENTRY_DONE;
    }
    pv_snprintf(msg, sizeof(msg), "Incorrect code, %ld %s left.", left,
                left == 1 ? "try" : "tries");
    say(f, 1, msg);
    return ENTRY_AGAIN;
}

/* Send another code (empty entry or expiry). */
static enum entry_outcome resend(flow *f, channel *ch, const char *msg)
{
    ch->resends_left--;
    switch (send_code(f, ch)) {
    case SEND_OK:
        say(f, 0, msg);
        return ENTRY_AGAIN;
    case SEND_REUSED:
        say(f, 0, MSG_RESEND_WAIT);
        return ENTRY_AGAIN;
    case SEND_CANNOT_SERVE:
        say(f, 1, MSG_REFUSED);
        finish(f, PV_RESULT_DENIED, "invalid_phone_number");
        return ENTRY_DONE;
    case SEND_STOP:
    default:
        return ENTRY_DONE;
    }
}

static enum entry_outcome check_code(flow *f, channel *ch, const char *code)
{
    pv_verify_reply reply;
    enum pv_verify_result vr;

    vr = pv_verify_code(f->cfg, f->env->http, ch->verification_id, code,
                        &reply);
    debug(f, "verify: %s", reply.detail);
    switch (vr) {
    case PV_VERIFY_OK:
        if (state_update(f, success_cb, NULL) != 0)
            pv_logf(&f->env->logger, LOG_WARNING,
                    "could not reset failure count for this user");
        finish(f, PV_RESULT_SUCCESS, "verified");
        return ENTRY_DONE;
    case PV_VERIFY_WRONG:
        return wrong_entry(f);
    case PV_VERIFY_EXPIRED:
        forget_pending(f);
        f->out->tries--;    /* an expired code is not a guess */
        if (ch->resends_left > 0)
            return resend(f, ch, MSG_EXPIRED);
        say(f, 1, MSG_REFUSED);
        finish(f, PV_RESULT_DENIED, "code_expired");
        return ENTRY_DONE;
    case PV_VERIFY_UNAVAILABLE:
    default:
        provider_unavailable(f, reply.detail);
        return ENTRY_DONE;
    }
}

/* One prompt and what follows from the entry. */
static enum entry_outcome one_entry(flow *f, channel *ch)
{
    char *reply = NULL;
    char code[PV_CODE_MAX + 1];
    enum entry_outcome eo;
    int kind;

    if (!ask(f, ch->prompt, f->cfg->echo_code, &reply)) {
        finish(f, PV_RESULT_CONV_ERROR, "conversation_failed");
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

static int channel_init(flow *f, channel *ch, enum pv_method m)
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

static enum method_status run_code_method(flow *f, enum pv_method m)
{
    channel ch;
    enum method_status st = METHOD_DONE;

    if (channel_init(f, &ch, m) != 0)
        return METHOD_CANNOT_SERVE;
    switch (send_code(f, &ch)) {
    case SEND_CANNOT_SERVE:
        st = METHOD_CANNOT_SERVE;
        goto out;
    case SEND_STOP:
        goto out;
    case SEND_REUSED:
        say(f, 0, MSG_REUSED);
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

static enum method_status run_method(flow *f, enum pv_method m)
{
    switch (m) {
    case PV_METHOD_SMS:
    case PV_METHOD_EMAIL:
        return run_code_method(f, m);
    case PV_METHOD_NUMVERIFY:
    default:
        /* Refused by pv_config_validate in this build; never reached. */
        finish(f, PV_RESULT_CONFIG_ERROR, "method_not_available");
        return METHOD_DONE;
    }
}

/* ---- the decision ----------------------------------------------------- */

/* A user name fit to reach NSS, state file names and log lines. */
static int user_name_acceptable(const char *user)
{
    size_t n = user ? strnlen(user, PV_USER_MAX + 1) : 0;
    size_t i;

    if (n == 0 || n > PV_USER_MAX)
        return 0;
    for (i = 0; i < n; i++)
        if ((unsigned char)user[i] < 0x20 || user[i] == 0x7f ||
            user[i] == '/' || user[i] == ':')
            return 0;
    return 1;
}

/* Resolve the user; fills f->gecos.  0 ok, -1 unknown. */
static int resolve_user(flow *f, gid_t *gid)
{
    struct passwd pw, *res = NULL;
    long bufsize = sysconf(_SC_GETPW_R_SIZE_MAX);
    char *buf;
    int rc;

    if (bufsize < 1024)
        bufsize = 16384;
    buf = malloc((size_t)bufsize);
    if (buf == NULL)
        return -1;
    rc = getpwnam_r(f->login->user, &pw, buf, (size_t)bufsize, &res);
    if (rc == 0 && res != NULL) {
        *gid = pw.pw_gid;
        f->gecos = pv_strdup(pw.pw_gecos ? pw.pw_gecos : "");
    }
    free(buf);
    return (rc == 0 && res != NULL && f->gecos != NULL) ? 0 : -1;
}

static int in_scope(flow *f, gid_t gid)
{
    char **groups = NULL;
    size_t n = 0;
    int check;

    if (f->cfg->groups == NULL || f->cfg->groups[0] == '\0')
        return 1;
    /* Unknown membership: check the user rather than exempt them. */
    if (pv_user_groups(f->login->user, gid, &groups, &n) != 0)
        return 1;
    check = pv_groups_require_check(f->cfg->groups,
                                    (const char *const *)groups, n);
    pv_user_groups_free(groups, n);
    return check;
}

static int decide_scope(flow *f)
{
    gid_t gid = 0;

    if (f->cfg->trusted_rhosts != NULL && f->login->rhost != NULL &&
        pv_rhost_trusted(f->cfg->trusted_rhosts, f->login->rhost))
        return finish(f, PV_RESULT_IGNORE, "trusted_rhost");
    if (!user_name_acceptable(f->login->user))
        return finish(f, PV_RESULT_DENIED, "bad_user_name");
    if (resolve_user(f, &gid) != 0)
        return finish(f, PV_RESULT_DENIED, "unknown_user");
    if (!in_scope(f, gid))
        return finish(f, PV_RESULT_IGNORE, "not_in_groups");
    return GO_ON;
}

static int find_identity(flow *f)
{
    pv_err err;

    pv_err_clear(&err);
    switch (pv_lookup_user(f->cfg, f->login->user, f->gecos, &f->id, &err)) {
    case PV_LOOKUP_ERROR:
        pv_logf(&f->env->logger, LOG_ERR, "lookup: %s", err.msg);
        return finish(f, PV_RESULT_CONFIG_ERROR, "lookup_error");
    case PV_LOOKUP_NOT_FOUND:
        memset(&f->id, 0, sizeof(f->id));
        break;
    case PV_LOOKUP_FOUND:
    default:
        break;
    }
    if (!f->id.has_phone && f->id.email[0] == '\0') {
        if (f->cfg->nullok)
            return finish(f, PV_RESULT_IGNORE, "no_phone_nullok");
        say(f, 1, MSG_REFUSED);
        return finish(f, PV_RESULT_DENIED, "no_phone");
    }
    return GO_ON;
}

static int check_lockout(flow *f)
{
    pv_state_record rec;
    pv_err err;
    time_t until = 0;
    int locked;

    pv_err_clear(&err);
    if (f->state == NULL) {
        if (pv_state_open(f->cfg, &f->state, &err) != 0) {
            pv_logf(&f->env->logger, LOG_ERR, "state: %s", err.msg);
            return finish(f, PV_RESULT_CONFIG_ERROR, "state_error");
        }
        f->state->log = f->env->logger.log;
        f->state->log_ctx = f->env->logger.ctx;
    }
    if (pv_state_read(f->state, f->login->user, &rec, &err) != 0) {
        pv_logf(&f->env->logger, LOG_ERR, "state: %s", err.msg);
        return finish(f, PV_RESULT_CONFIG_ERROR, "state_error");
    }
    locked = pv_lockout_active(&rec, &f->lockout, now_of(f), &until);
    pv_state_record_clear(&rec);
    if (locked) {
        say(f, 1, MSG_LOCKED);
        return finish(f, PV_RESULT_LOCKED, "locked_out");
    }
    return GO_ON;
}

static int run_methods(flow *f)
{
    size_t i;

    for (i = 0; i < f->cfg->n_methods; i++) {
        if (run_method(f, f->cfg->methods[i]) == METHOD_DONE)
            return DECIDED;
        debug(f, "method %s cannot serve this user",
              pv_method_name(f->cfg->methods[i]));
    }
    say(f, 1, MSG_REFUSED);
    return finish(f, PV_RESULT_DENIED, f->out->reason[0] != '\0'
                                           ? f->out->reason
                                           : "no_usable_method");
}

static void outcome_init(pv_outcome *out)
{
    memset(out, 0, sizeof(*out));
    out->result = PV_RESULT_DENIED;     /* fail closed */
    out->method = "-";
    out->precheck_charged = -1;
}

enum pv_result pv_flow_run(const pv_config *cfg, const pv_login *login,
                           pv_flow_env *env, pv_outcome *out)
{
    int64_t t0 = pv_monotonic_ms();
    flow f;

    outcome_init(out);
    memset(&f, 0, sizeof(f));
    f.cfg = cfg;
    f.login = login;
    f.env = env;
    f.out = out;
    f.state = env->state;
    f.lockout.failures = cfg->lockout_failures;
    f.lockout.window = cfg->lockout_window;
    f.lockout.lock_time = cfg->lockout_time;

    if (decide_scope(&f) == GO_ON && find_identity(&f) == GO_ON &&
        check_lockout(&f) == GO_ON)
        (void)run_methods(&f);

    if (f.state != NULL && f.state != env->state)
        pv_state_close(f.state);
    free(f.gecos);
    pv_wipe(&f.id, sizeof(f.id));
    out->elapsed_ms = (long)(pv_monotonic_ms() - t0);
    return out->result;
}

const char *pv_result_name(enum pv_result r)
{
    switch (r) {
    case PV_RESULT_SUCCESS:
        return "success";
    case PV_RESULT_IGNORE:
        return "ignore";
    case PV_RESULT_DENIED:
        return "denied";
    case PV_RESULT_MAXTRIES:
        return "maxtries";
    case PV_RESULT_LOCKED:
        return "locked";
    case PV_RESULT_UNAVAILABLE:
        return "unavailable";
    case PV_RESULT_FAILOPEN:
        return "failopen";
    case PV_RESULT_BREAKGLASS:
        return "breakglass";
    case PV_RESULT_CONFIG_ERROR:
        return "config_error";
    case PV_RESULT_CONV_ERROR:
        return "conv_error";
    }
    return "denied";
}
