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
#include "pv_flow_priv.h"
#include "pv_log.h"
#include "pv_policy.h"
#include "pv_util.h"


/* ---- shared helpers ---------------------------------------------------- */

time_t pv_flow_now(const pv_flowctx *f)
{
    return f->env->clock.now(f->env->clock.ctx);
}

int pv_flow_finish(pv_flowctx *f, enum pv_result r, const char *reason)
{
    f->out->result = r;
    if (reason != f->out->reason)
        pv_strlcpy(f->out->reason, reason, sizeof(f->out->reason));
    return DECIDED;
}

int pv_flow_refuse(pv_flowctx *f, enum pv_result r, const char *reason)
{
    pv_flow_say(f, 1, MSG_REFUSED);
    return pv_flow_finish(f, r, reason);
}

void pv_flow_say(pv_flowctx *f, int error, const char *msg)
{
    pv_conv *c = &f->env->conv;
    int (*fn)(void *, const char *) = error ? c->error : c->info;

    /* A failure to show a message is not a decision: the next prompt (or
     * the result) tells the caller what happened anyway. */
    if (fn != NULL)
        (void)fn(c->ctx, msg);
}

void pv_flow_debug(pv_flowctx *f, const char *fmt, ...)
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

/* Ask once.  1 with a malloc'd reply in *reply (maybe NULL), or 0 when the
 * conversation itself failed. */
int pv_flow_ask(pv_flowctx *f, const char *msg, int echo, char **reply)
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

int pv_flow_state_update(pv_flowctx *f, pv_state_update_fn fn, void *ctx)
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
int pv_flow_record_failure(pv_flowctx *f)
{
    failure_ctx fc = { &f->lockout, pv_flow_now(f), 0 };

    if (pv_flow_state_update(f, add_failure_cb, &fc) != 0)
        return -1;
    return fc.locked;
}

/* ---- provider outage -------------------------------------------------- */

static int try_breakglass(pv_flowctx *f, const char *detail)
{
    char *reply = NULL;
    pv_err err;
    enum pv_breakglass_result r;

    if (!pv_flow_ask(f, PROMPT_BREAKGLASS, 0, &reply))
        return pv_flow_finish(f, PV_RESULT_CONV_ERROR, "conversation_failed");
    pv_err_clear(&err);
    r = (reply != NULL && reply[0] != '\0' &&
         strnlen(reply, PV_CODE_MAX + 1) <= PV_CODE_MAX)
            ? pv_breakglass_consume(f->cfg->breakglass_file,
                                    f->login->user, reply, &err)
            : PV_BREAKGLASS_REJECTED;
    pv_free_secret(reply);
    if (r == PV_BREAKGLASS_ACCEPTED)
        return pv_flow_finish(f, PV_RESULT_BREAKGLASS, "breakglass_code_used");
    if (r == PV_BREAKGLASS_ERROR)
        pv_logf(&f->env->logger, LOG_ERR, "break-glass file: %s", err.msg);
    else if (pv_flow_record_failure(f) < 0)
        return pv_flow_refuse(f, PV_RESULT_CONFIG_ERROR, "state_error");
    return pv_flow_refuse(f, PV_RESULT_UNAVAILABLE, detail);
}

/* The provider cannot be used: emergency code, then failmode. */
int pv_flow_provider_unavailable(pv_flowctx *f, const char *detail)
{
    if (f->cfg->failmode == PV_FAILMODE_SAFE) {
        pv_flow_say(f, 1, MSG_UNAVAILABLE);
        return pv_flow_finish(f, PV_RESULT_FAILOPEN, detail);
    }
    if (f->cfg->breakglass_file != NULL)
        return try_breakglass(f, detail);
    pv_flow_say(f, 1, MSG_UNAVAILABLE);
    return pv_flow_finish(f, PV_RESULT_UNAVAILABLE, detail);
}

static enum pv_method_status run_method(pv_flowctx *f, enum pv_method m)
{
    switch (m) {
    case PV_METHOD_SMS:
    case PV_METHOD_EMAIL:
        return pv_flow_run_code_method(f, m);
    case PV_METHOD_NUMVERIFY:
    default:
        return pv_flow_run_numverify(f);
    }
}

/* ---- the decision ----------------------------------------------------- */

/* Resolve the user; fills f->gecos.  0 ok, -1 unknown. */
static int resolve_user(pv_flowctx *f, gid_t *gid)
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

static int in_scope(pv_flowctx *f, gid_t gid)
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

static int decide_scope(pv_flowctx *f)
{
    gid_t gid = 0;

    if (f->cfg->trusted_rhosts != NULL && f->login->rhost != NULL &&
        pv_rhost_trusted(f->cfg->trusted_rhosts, f->login->rhost))
        return pv_flow_finish(f, PV_RESULT_IGNORE, "trusted_rhost");
    if (!pv_user_name_valid(f->login->user))
        return pv_flow_refuse(f, PV_RESULT_DENIED, "bad_user_name");
    if (resolve_user(f, &gid) != 0)
        return pv_flow_refuse(f, PV_RESULT_DENIED, "unknown_user");
    if (!in_scope(f, gid))
        return pv_flow_finish(f, PV_RESULT_IGNORE, "not_in_groups");
    return GO_ON;
}

static int find_identity(pv_flowctx *f)
{
    pv_err err;

    pv_err_clear(&err);
    switch (pv_lookup_user(f->cfg, f->login->user, f->gecos, &f->id, &err)) {
    case PV_LOOKUP_ERROR:
        pv_logf(&f->env->logger, LOG_ERR, "lookup: %s", err.msg);
        return pv_flow_finish(f, PV_RESULT_CONFIG_ERROR, "lookup_error");
    case PV_LOOKUP_NOT_FOUND:
        memset(&f->id, 0, sizeof(f->id));
        break;
    case PV_LOOKUP_FOUND:
    default:
        break;
    }
    if (!f->id.has_phone && f->id.email[0] == '\0') {
        if (f->cfg->nullok)
            return pv_flow_finish(f, PV_RESULT_IGNORE, "no_phone_nullok");
        return pv_flow_refuse(f, PV_RESULT_DENIED, "no_phone");
    }
    return GO_ON;
}

static int check_lockout(pv_flowctx *f)
{
    pv_state_record rec;
    pv_err err;
    time_t until = 0;
    int locked;

    pv_err_clear(&err);
    if (f->state == NULL) {
        if (pv_state_open(f->cfg, &f->state, &err) != 0) {
            pv_logf(&f->env->logger, LOG_ERR, "state: %s", err.msg);
            return pv_flow_refuse(f, PV_RESULT_CONFIG_ERROR, "state_error");
        }
        f->state->log = f->env->logger.log;
        f->state->log_ctx = f->env->logger.ctx;
    }
    if (pv_state_read(f->state, f->login->user, &rec, &err) != 0) {
        pv_logf(&f->env->logger, LOG_ERR, "state: %s", err.msg);
        return pv_flow_refuse(f, PV_RESULT_CONFIG_ERROR, "state_error");
    }
    locked = pv_lockout_active(&rec, &f->lockout, pv_flow_now(f), &until);
    pv_state_record_clear(&rec);
    if (locked) {
        pv_flow_say(f, 1, MSG_LOCKED);
        return pv_flow_finish(f, PV_RESULT_LOCKED, "locked_out");
    }
    return GO_ON;
}

static int run_methods(pv_flowctx *f)
{
    size_t i;

    for (i = 0; i < f->cfg->n_methods; i++) {
        if (run_method(f, f->cfg->methods[i]) == METHOD_DONE)
            return DECIDED;
        pv_flow_debug(f, "method %s cannot serve this user",
              pv_method_name(f->cfg->methods[i]));
    }
    return pv_flow_refuse(f, PV_RESULT_DENIED, f->out->reason[0] != '\0'
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
    pv_flowctx f;

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
