/* pam_phoneverify.c - the PAM glue.
 *
 * Reads the configuration, collects PAM items, adapts the PAM conversation
 * to pv_conv, runs the flow, maps its result to a PAM code (in exactly one
 * function, pv_result_to_pam) and writes the one log record.  Knows no
 * JSON and no HTTP. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <security/pam_appl.h>
#include <security/pam_ext.h>
#include <security/pam_modules.h>
#include "config/pv_config.h"
#include "flow/pv_flow.h"
#include "transport/pv_http.h"
#include "base/pv_i18n.h"
#include "base/pv_log.h"
#include "identity/pv_origin.h"
#include "pam/pv_runtime.h"
#include "base/pv_util.h"

/* The one place a flow result becomes a PAM code (pam_phoneverify(8)). */
static int pv_result_to_pam(enum pv_result r)
{
    switch (r) {
    case PV_RESULT_SUCCESS:
    case PV_RESULT_FAILOPEN:
    case PV_RESULT_BREAKGLASS:
    case PV_RESULT_GRACE:
        return PAM_SUCCESS;
    case PV_RESULT_IGNORE:
        return PAM_IGNORE;
    case PV_RESULT_MAXTRIES:
        return PAM_MAXTRIES;
    case PV_RESULT_LOCKED:
        return PAM_PERM_DENIED;
    case PV_RESULT_UNAVAILABLE:
        return PAM_AUTHINFO_UNAVAIL;
    case PV_RESULT_CONFIG_ERROR:
        return PAM_SERVICE_ERR;
    case PV_RESULT_CONV_ERROR:
        return PAM_CONV_ERR;
    case PV_RESULT_DENIED:
    default:
        return PAM_AUTH_ERR;
    }
}

static const char *pam_code_name(int code)
{
    switch (code) {
    case PAM_SUCCESS:
        return "PAM_SUCCESS";
    case PAM_IGNORE:
        return "PAM_IGNORE";
    case PAM_MAXTRIES:
        return "PAM_MAXTRIES";
    case PAM_PERM_DENIED:
        return "PAM_PERM_DENIED";
    case PAM_AUTHINFO_UNAVAIL:
        return "PAM_AUTHINFO_UNAVAIL";
    case PAM_SERVICE_ERR:
        return "PAM_SERVICE_ERR";
    case PAM_CONV_ERR:
        return "PAM_CONV_ERR";
    default:
        return "PAM_AUTH_ERR";
    }
}

/* ---- conversation adapter --------------------------------------------- */

static int converse(pam_handle_t *pamh, int style, const char *text,
                    char **reply)
{
    const struct pam_conv *conv = NULL;
    struct pam_message msg = { style, text };
    const struct pam_message *msgs[1] = { &msg };
    struct pam_response *resp = NULL;
    int rc;

    if (reply != NULL)
        *reply = NULL;
    if (pam_get_item(pamh, PAM_CONV, (const void **)&conv) != PAM_SUCCESS ||
        conv == NULL || conv->conv == NULL)
        return -1;
    rc = conv->conv(1, msgs, &resp, conv->appdata_ptr);
    if (resp != NULL) {
        if (reply != NULL)
            *reply = resp[0].resp; /* ownership passes on */
        else
            pv_free_secret(resp[0].resp);
        free(resp);
    }
    if (rc != PAM_SUCCESS) {
        if (reply != NULL) {
            pv_free_secret(*reply);
            *reply = NULL;
        }
        return -1;
    }
    return 0;
}

static int conv_prompt(void *ctx, const char *msg, int echo, char **reply)
{
    return converse(ctx, echo ? PAM_PROMPT_ECHO_ON : PAM_PROMPT_ECHO_OFF, msg,
                    reply);
}

static int conv_info(void *ctx, const char *msg)
{
    return converse(ctx, PAM_TEXT_INFO, msg, NULL);
}

static int conv_error(void *ctx, const char *msg)
{
    return converse(ctx, PAM_ERROR_MSG, msg, NULL);
}

/* ---- logger ----------------------------------------------------------- */

static void log_to_syslog(void *ctx, int prio, const char *msg)
{
    pam_syslog(ctx, prio, "%s", msg);
}

/* The PAM items a login reads, copied at entry (doc/security.md): the application
 * may change or free them during the conversation, so the flow and the
 * log record never hold libpam's pointers. */
typedef struct login_items {
    char *user, *service, *rhost, *ruser, *tty;
} login_items;

/* A copy of a string item; NULL when unset (and *failed on ENOMEM). */
static char *copy_item(pam_handle_t *pamh, int item, int *failed)
{
    const void *v = NULL;
    char *copy;

    if (pam_get_item(pamh, item, &v) != PAM_SUCCESS || v == NULL)
        return NULL;
    copy = pv_strdup(v);
    if (copy == NULL)
        *failed = 1;
    return copy;
}

static int copy_items(pam_handle_t *pamh, login_items *it)
{
    int failed = 0;

    it->service = copy_item(pamh, PAM_SERVICE, &failed);
    it->rhost = copy_item(pamh, PAM_RHOST, &failed);
    it->ruser = copy_item(pamh, PAM_RUSER, &failed);
    it->tty = copy_item(pamh, PAM_TTY, &failed);
    return failed ? -1 : 0;
}

static void free_items(login_items *it)
{
    free(it->user);
    free(it->service);
    free(it->rhost);
    free(it->ruser);
    free(it->tty);
    memset(it, 0, sizeof(*it));
}

/* Results with which the stack goes on for this user (PAM_SUCCESS, or
 * PAM_IGNORE: the next module decides). */
static int result_lets_through(enum pv_result r)
{
    int pam = pv_result_to_pam(r);

    return pam == PAM_SUCCESS || pam == PAM_IGNORE;
}

/* Whether the application changed PAM_USER during the conversation (or
 * it can no longer be read): the login then fails whatever the flow
 * decided, since what it verified was the user it started with. */
static int user_changed(pam_handle_t *pamh, const char *started_as)
{
    const void *now = NULL;

    if (pam_get_item(pamh, PAM_USER, &now) != PAM_SUCCESS || now == NULL)
        return 1;
    return strcmp((const char *)now, started_as) != 0;
}

/* Run the flow for an already-configured login. */
static void run_flow(pam_handle_t *pamh, const pv_config *cfg,
                     const pv_login *login, pv_outcome *out)
{
    pv_flow_env env;
    pv_catalog *catalog = NULL;
    pv_err err;

    pv_err_clear(&err);
    if (pv_catalog_load(cfg->locale_dir, cfg->language, &catalog, &err) != 0) {
        pam_syslog(pamh, LOG_ERR, "configuration error: language: %s",
                   err.msg);
        out->result = PV_RESULT_CONFIG_ERROR;
        pv_strlcpy(out->reason, "configuration", sizeof(out->reason));
        return;
    }
    memset(&env, 0, sizeof(env));
    env.catalog = catalog;
    env.conv.prompt = conv_prompt;
    env.conv.info = conv_info;
    env.conv.error = conv_error;
    env.conv.ctx = pamh;
    env.clock = pv_clock_system();
    env.logger.log = log_to_syslog;
    env.logger.ctx = pamh;
    env.http = pv_http_from_config(cfg);
    if (env.http == NULL) {
        out->result = PV_RESULT_UNAVAILABLE; /* local: never opens */
        pv_strlcpy(out->reason, "out_of_memory", sizeof(out->reason));
    } else {
        (void)pv_flow_run(cfg, login, &env, out);
        pv_transport_free(env.http);
    }
    pv_catalog_free(catalog);
}

PAM_EXTERN int pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc,
                                   const char **argv)
{
    pv_config *cfg = NULL;
    pv_outcome out;
    pv_login login;
    pv_origin origin;
    login_items items;
    pv_err err;
    const char *user = NULL;
    char record[1024];
    int pam_rc;

    (void)flags;
    pv_outcome_init(&out); /* fail closed */
    memset(&login, 0, sizeof(login));
    memset(&items, 0, sizeof(items));
    pv_err_clear(&err);

    if (copy_items(pamh, &items) != 0) {
        out.result = PV_RESULT_UNAVAILABLE; /* local: never opens */
        pv_strlcpy(out.reason, "out_of_memory", sizeof(out.reason));
        goto done;
    }
    login.service = items.service;
    login.rhost = items.rhost;
    login.ruser = items.ruser;
    login.tty = items.tty;
    pv_origin_read(items.rhost, items.ruser, &origin);
    login.origin = &origin;
    if (pv_config_from_args(argc, argv, &cfg, &err) != 0) {
        pam_syslog(pamh, LOG_ERR, "configuration error: %s", err.msg);
        out.result = PV_RESULT_CONFIG_ERROR;
        pv_strlcpy(out.reason, "configuration", sizeof(out.reason));
        (void)conv_error(pamh, "Verification failed.");
        goto done;
    }
    pam_rc = pam_get_user(pamh, &user, NULL);
    if (pam_rc != PAM_SUCCESS || user == NULL) {
        out.result =
            pam_rc == PAM_CONV_ERR ? PV_RESULT_CONV_ERROR : PV_RESULT_DENIED;
        pv_strlcpy(out.reason, "no_user", sizeof(out.reason));
        goto done;
    }
    if ((items.user = pv_strdup(user)) == NULL) {
        out.result = PV_RESULT_UNAVAILABLE;
        pv_strlcpy(out.reason, "out_of_memory", sizeof(out.reason));
        goto done;
    }
    login.user = items.user;
    run_flow(pamh, cfg, &login, &out);
    if (result_lets_through(out.result) && user_changed(pamh, items.user)) {
        /* The code proved the user the login started with.  (A refusal
         * keeps its own code: it already fails.) */
        out.result = PV_RESULT_DENIED;
        pv_strlcpy(out.reason, "pam_user_changed", sizeof(out.reason));
    }
done:
    pam_rc = pv_result_to_pam(out.result);
    (void)pv_outcome_format(&login, &out, pam_code_name(pam_rc), record,
                            sizeof(record));
    pam_syslog(pamh, pv_outcome_priority(&out), "%s", record);
    pv_config_free(cfg);
    free_items(&items);
    return pam_rc;
}

PAM_EXTERN int pam_sm_setcred(pam_handle_t *pamh, int flags, int argc,
                              const char **argv)
{
    (void)pamh;
    (void)flags;
    (void)argc;
    (void)argv;
    return PAM_SUCCESS;
}
