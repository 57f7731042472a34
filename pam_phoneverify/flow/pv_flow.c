/* pv_flow.c - the authentication flow.
 *
 * Order of decisions (README.md):
 *   trusted rhost? -> resolve the user -> groups -> look up phone/e-mail ->
 *   locked out? -> for each method in `methods`: send, prompt, verify.
 *
 * Every path starts from a refusal (PV_RESULT_DENIED) and only the few
 * places that doc/security.md names may change that to success or ignore.
 * The flow never talks to PAM or libcurl: see pv_flow.h. */
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>
#include "policy/pv_breakglass.h"
#include "state/pv_state_open.h"
#include "flow/pv_flow.h"
#include "flow/pv_flow_priv.h"
#include "base/pv_log.h"
#include "config/pv_scope.h"
#include "base/pv_util.h"

/* ---- finishing ------------------------------------------------------------ */

/* The text a result shows when the verdict names none. */
static const char *usual_message(enum pv_result r)
{
    switch (r) {
    case PV_RESULT_UNAVAILABLE:
    case PV_RESULT_FAILOPEN:
        return MSG_UNAVAILABLE;
    case PV_RESULT_LOCKED:
        return MSG_LOCKED;
    case PV_RESULT_DENIED:
    case PV_RESULT_MAXTRIES:
    case PV_RESULT_CONFIG_ERROR:
        return MSG_REFUSED;
    case PV_RESULT_SUCCESS:
    case PV_RESULT_IGNORE:
    case PV_RESULT_BREAKGLASS:
    case PV_RESULT_CONV_ERROR:
    case PV_RESULT_GRACE:
    default:
        return NULL;
    }
}

/* The only writer of out->result, out->failure and out->reason. */
static void finish(pv_flowctx *f, const pv_verdict *v)
{
    const char *msg =
        v->message[0] != '\0' ? v->message : usual_message(v->result);

    if (msg != NULL)
        pv_flow_say(f, 1, msg);
    f->out->result = v->result;
    f->out->failure = v->failure;
    pv_strlcpy(f->out->reason, v->reason, sizeof(f->out->reason));
}

/* ---- provider failures: the one place that may open ------------------- */

/* The failures a break-glass code may stand in for (pam_phoneverify(8)
 * FAILMODE, doc/security.md): a provider outage seen on the network.
 * Everything else fails closed, whatever failmode says: our credentials
 * rejected, a local failure (the calling user may cause it), a
 * configuration mistake, a refusal the user can provoke. */
static int is_outage(enum pv_failure failure)
{
    switch (failure) {
    case PV_FAILURE_OUTAGE:
        return 1;
    case PV_FAILURE_NONE:
    case PV_FAILURE_CREDENTIALS:
    case PV_FAILURE_REJECTED:
    case PV_FAILURE_LOCAL:
    case PV_FAILURE_CONFIG:
    case PV_FAILURE_USER:
    default:
        return 0;
    }
}

/* The one place that lets a login through without a code: an outage,
 * failmode=safe, and a login that does not come from a local user.  A
 * local user (sudo, su, a screen locker, a login from this host; see
 * pv_origin.h) controls this host's limits, ports and descriptors and can
 * make any request fail: failmode=safe never opens for one, whatever the
 * failure looked like (pam_phoneverify(8) FAILMODE). */
static int may_open(const pv_flowctx *f, enum pv_failure failure)
{
    return is_outage(failure) && f->cfg->failmode == PV_FAILMODE_SAFE &&
           !pv_origin_is_local(f->login->origin);
}

/* Why failmode=safe did not open: one key=value line naming the facts
 * that make the login local, so an administrator sees why sudo asked for
 * an emergency code during an outage. */
static void log_refused_open(const pv_flowctx *f, const char *reason)
{
    const pv_origin *o = f->login->origin;
    char why[96];

    pv_sanitize(why, sizeof(why), reason);
    if (o == NULL) {
        pv_logf(&f->env->logger, LOG_WARNING,
                "failopen_refused=local_user origin=unknown reason=%s", why);
        return;
    }
    pv_logf(&f->env->logger, LOG_WARNING,
            "failopen_refused=local_user loginuid_set=%d ruid_not_root=%d "
            "ruser_set=%d rhost_local=%d reason=%s",
            o->loginuid_set, o->ruid_not_root, o->ruser_set, o->rhost_local,
            why);
}

static pv_verdict try_breakglass(pv_flowctx *f, const char *detail)
{
    char *reply = NULL;
    pv_err err;
    pv_guess g;
    pv_verdict v;
    enum pv_breakglass_result r;

    if (!pv_flow_ask(f, PROMPT_BREAKGLASS, 0, &reply))
        return pv_verdict_final(PV_RESULT_CONV_ERROR, "conversation_failed");
    pv_err_clear(&err);
    r = (reply != NULL && reply[0] != '\0' &&
         strnlen(reply, PV_CODE_MAX + 1) <= PV_CODE_MAX)
            ? pv_breakglass_consume_claimed(f->cfg->breakglass_file, f->user,
                                            reply, pv_flow_breakglass_claim, f,
                                            &err)
            : PV_BREAKGLASS_REJECTED;
    pv_free_secret(reply);
    if (r == PV_BREAKGLASS_ACCEPTED)
        return pv_verdict_final(PV_RESULT_BREAKGLASS, "breakglass_code_used");
    if (r == PV_BREAKGLASS_ERROR)
        pv_logf(&f->env->logger, LOG_ERR, "break-glass file: %s", err.msg);
    else if (pv_flow_wrong_entry(f, &g) == PV_GUESS_ERROR)
        return pv_verdict_final(PV_RESULT_CONFIG_ERROR, "state_error");
    v = pv_verdict_final(PV_RESULT_UNAVAILABLE, detail);
    pv_strlcpy(v.message, MSG_REFUSED, sizeof(v.message));
    return v;
}

/* A step's verdict with a failure class becomes a result here, and only
 * here. */
static pv_verdict decide_failure(pv_flowctx *f, const pv_verdict *v)
{
    pv_verdict d = *v;

    switch (v->failure) {
    case PV_FAILURE_NONE:
        return d;
    case PV_FAILURE_USER:
        d.result = PV_RESULT_DENIED;
        return d;
    case PV_FAILURE_CONFIG:
        d.result = PV_RESULT_CONFIG_ERROR;
        return d;
    case PV_FAILURE_CREDENTIALS:
        pv_logf(&f->env->logger, LOG_ERR,
                "the provider rejected our credentials (%s)", v->reason);
        d = pv_verdict_final(PV_RESULT_UNAVAILABLE, "provider_credentials");
        d.failure = PV_FAILURE_CREDENTIALS;
        return d;
    case PV_FAILURE_OUTAGE:
    case PV_FAILURE_REJECTED:
    case PV_FAILURE_LOCAL:
    default:
        break;
    }
    d.result = PV_RESULT_UNAVAILABLE;
    if (!is_outage(v->failure))
        return d;
    if (may_open(f, v->failure)) {
        d.result = PV_RESULT_FAILOPEN;
        return d;
    }
    if (f->cfg->failmode == PV_FAILMODE_SAFE)
        log_refused_open(f, v->reason);
    if (f->cfg->breakglass_file != NULL) {
        d = try_breakglass(f, v->reason);
        d.failure = v->failure;
    }
    return d;
}

/* ---- the decision ----------------------------------------------------- */

/* Resolve the typed name once: the canonical pw_name (a case-insensitive
 * directory answers "alice" for "ALICE") goes to out->user and f->user,
 * the gecos to f->gecos.  0 ok, -1 unknown or unusable, -2 out of memory
 * (a local failure: the calling user may cause it). */
static int resolve_user(pv_flowctx *f, gid_t *gid)
{
    struct passwd pw, *res = NULL;
    long bufsize = sysconf(_SC_GETPW_R_SIZE_MAX);
    char *buf;
    int rc = -1;

    if (bufsize < 1024)
        bufsize = 16384;
    buf = malloc((size_t)bufsize);
    if (buf == NULL)
        return -2;
    if (getpwnam_r(f->login->user, &pw, buf, (size_t)bufsize, &res) != 0 ||
        res == NULL || pw.pw_name == NULL || !pv_user_name_valid(pw.pw_name) ||
        pv_strlcpy(f->out->user, pw.pw_name, sizeof(f->out->user)) != 0)
        goto out;
    *gid = pw.pw_gid;
    f->gecos = pv_strdup(pw.pw_gecos ? pw.pw_gecos : "");
    if (f->gecos != NULL) {
        f->user = f->out->user;
        rc = 0;
    } else {
        rc = -2;
    }
out:
    if (rc != 0)
        f->out->user[0] = '\0';
    free(buf);
    return rc;
}

static int in_scope(pv_flowctx *f, gid_t gid)
{
    char **groups = NULL;
    size_t n = 0;
    int check;

    if (f->cfg->groups == NULL || f->cfg->groups[0] == '\0')
        return 1;
    /* Unknown membership: check the user rather than exempt them. */
    if (pv_user_groups(f->user, gid, &groups, &n) != 0)
        return 1;
    check = pv_groups_require_check(f->cfg->groups,
                                    (const char *const *)groups, n);
    pv_user_groups_free(groups, n);
    return check;
}

static pv_verdict decide_scope(pv_flowctx *f)
{
    gid_t gid = 0;

    if (f->cfg->trusted_rhosts != NULL && f->login->rhost != NULL &&
        pv_rhost_trusted(f->cfg->trusted_rhosts, f->login->rhost))
        return pv_verdict_final(PV_RESULT_IGNORE, "trusted_rhost");
    if (!pv_user_name_valid(f->login->user))
        return pv_verdict_final(PV_RESULT_DENIED, "bad_user_name");
    switch (resolve_user(f, &gid)) {
    case 0:
        break;
    case -2:
        return pv_verdict_failure(PV_FAILURE_LOCAL, "out_of_memory");
    default:
        return pv_verdict_final(PV_RESULT_DENIED, "unknown_user");
    }
    if (!in_scope(f, gid))
        return pv_verdict_final(PV_RESULT_IGNORE, "not_in_groups");
    return pv_verdict_go_on();
}

static pv_verdict find_identity(pv_flowctx *f)
{
    pv_err err;

    pv_err_clear(&err);
    switch (pv_lookup_user(f->cfg, f->user, f->gecos, &f->id, &err)) {
    case PV_LOOKUP_ERROR:
        pv_logf(&f->env->logger, LOG_ERR, "lookup: %s", err.msg);
        return pv_verdict_final(PV_RESULT_CONFIG_ERROR, "lookup_error");
    case PV_LOOKUP_NOT_FOUND:
        memset(&f->id, 0, sizeof(f->id));
        break;
    case PV_LOOKUP_FOUND:
    default:
        break;
    }
    if (!f->id.has_phone && f->id.email[0] == '\0') {
        if (f->cfg->nullok)
            return pv_verdict_final(PV_RESULT_IGNORE, "no_phone_nullok");
        return pv_verdict_final(PV_RESULT_DENIED, "no_phone");
    }
    return pv_verdict_go_on();
}

static int open_state(pv_flowctx *f)
{
    pv_err err;

    if (f->state != NULL)
        return 0;
    pv_err_clear(&err);
    if (pv_state_open_shared(f->cfg, f->env->http, &f->state, &err) != 0) {
        pv_logf(&f->env->logger, LOG_ERR, "state: %s", err.msg);
        return -1;
    }
    f->state->logger = f->env->logger;
    return 0;
}

static pv_verdict check_lockout(pv_flowctx *f)
{
    pv_state_record rec;
    pv_err err;
    int locked;

    if (open_state(f) != 0)
        return pv_verdict_final(PV_RESULT_CONFIG_ERROR, "state_error");
    pv_err_clear(&err);
    if (pv_state_read(f->state, f->user, &rec, &err) != 0) {
        pv_logf(&f->env->logger, LOG_ERR, "state: %s", err.msg);
        return pv_verdict_final(PV_RESULT_CONFIG_ERROR, "state_error");
    }
    locked = pv_lockout_active(&rec, &f->lockout, pv_flow_now(f), NULL);
    pv_state_record_clear(&rec);
    if (locked)
        return pv_verdict_final(PV_RESULT_LOCKED, "locked_out");
    return pv_verdict_go_on();
}

static pv_verdict run_method(pv_flowctx *f, enum pv_method m)
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

/* Each method in order until one decides; a method that cannot serve the
 * user passes to the next. */
static pv_verdict run_methods(pv_flowctx *f)
{
    char last[PV_PROVIDER_MSG_MAX] = "no_usable_method";
    pv_verdict v;
    size_t i;

    for (i = 0; i < f->cfg->n_methods; i++) {
        v = run_method(f, f->cfg->methods[i]);
        if (v.step != PV_STEP_NEXT_METHOD)
            return v;
        if (v.reason[0] != '\0')
            pv_strlcpy(last, v.reason, sizeof(last));
        pv_flow_debug(f, "method %s cannot serve this user",
                      pv_method_name(f->cfg->methods[i]));
    }
    return pv_verdict_final(PV_RESULT_DENIED, last);
}

static pv_verdict decide(pv_flowctx *f)
{
    pv_verdict v = decide_scope(f);

    if (v.step == PV_STEP_GO_ON)
        v = find_identity(f);
    if (v.step == PV_STEP_GO_ON)
        v = check_lockout(f);
    if (v.step == PV_STEP_GO_ON)
        v = pv_flow_check_grace(f);
    if (v.step == PV_STEP_GO_ON) {
        v = run_methods(f);
        pv_flow_grant_grace(f, &v);
    }
    if (v.step != PV_STEP_FINAL) /* fail closed */
        v = pv_verdict_final(PV_RESULT_DENIED, "no_decision");
    return decide_failure(f, &v);
}

void pv_outcome_init(pv_outcome *out)
{
    memset(out, 0, sizeof(*out));
    out->result = PV_RESULT_DENIED; /* fail closed */
    out->failure = PV_FAILURE_NONE;
    out->has_method = 0;
    out->precheck_charged = -1;
}

void pv_outcome_set_method(pv_outcome *out, enum pv_method m)
{
    out->method = m;
    out->has_method = 1;
}

enum pv_result pv_flow_run(const pv_config *cfg, const pv_login *login,
                           pv_flow_env *env, pv_outcome *out)
{
    int64_t t0 = pv_monotonic_ms();
    pv_flowctx f;
    pv_verdict v;

    pv_outcome_init(out);
    memset(&f, 0, sizeof(f));
    f.cfg = cfg;
    f.login = login;
    f.env = env;
    f.out = out;
    f.state = env->state;
    f.lockout.failures = cfg->lockout_failures;
    f.lockout.window = cfg->lockout_window;
    f.lockout.lock_time = cfg->lockout_time;

    v = decide(&f);
    finish(&f, &v);

    if (f.state != NULL && f.state != env->state)
        pv_state_close(f.state);
    free(f.gecos);
    pv_wipe(&f.id, sizeof(f.id));
    out->elapsed_ms = (long)(pv_monotonic_ms() - t0);
    return out->result;
}

int pv_outcome_format(const pv_login *login, const pv_outcome *out,
                      const char *pam_name, char *buf, size_t size)
{
    pv_log_record rec;

    memset(&rec, 0, sizeof(rec));
    rec.user = out->user[0] != '\0' ? out->user : login->user;
    rec.service = login->service;
    rec.rhost = login->rhost;
    rec.method = out->has_method ? pv_method_name(out->method) : "-";
    rec.to_kind = out->to_kind;
    rec.to_masked = out->to_masked;
    rec.outcome = pv_result_name(out->result);
    rec.pam = pam_name;
    rec.reason = out->reason;
    rec.id = out->id;
    rec.tries = out->tries;
    rec.sends = out->sends;
    rec.precheck_charged = out->precheck_charged;
    rec.elapsed_ms = out->elapsed_ms;
    return pv_log_format_outcome(&rec, buf, size);
}

int pv_outcome_priority(const pv_outcome *out)
{
    switch (out->result) {
    case PV_RESULT_SUCCESS:
    case PV_RESULT_IGNORE:
    case PV_RESULT_GRACE:
        return LOG_NOTICE;
    case PV_RESULT_CONFIG_ERROR:
        return LOG_ERR;
    case PV_RESULT_UNAVAILABLE:
        return out->failure == PV_FAILURE_CREDENTIALS ? LOG_ERR : LOG_WARNING;
    default:
        return LOG_WARNING; /* refusals, fail-open, break-glass */
    }
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
    case PV_RESULT_GRACE:
        return "grace";
    }
    return "denied";
}
