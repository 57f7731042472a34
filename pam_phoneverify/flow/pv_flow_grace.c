/* pv_flow_grace.c - grace grants (pam_phoneverify.conf(5): grace,
 * grace_services; doc/security.md).
 *
 * A grant is bound to what the next login can prove it shares with the
 * one that entered the code:
 *   - a local login (pv_origin_is_local, or no PAM_RHOST) to its terminal
 *     session, as sudo binds its timestamps (sudoers(5) timestamp_type
 *     tty): the terminal's device number, the session id and the session
 *     leader's start time.  Never the terminal's name: the next terminal
 *     reuses it.  No session (no controlling terminal, the leader gone,
 *     nothing known): no grant is given or honoured;
 *   - a remote login to rhost + ruser (repeated scp/ansible connections).
 * Grants live in this host's local store (pv_state_grant_store), never in
 * etcd; a grant read back ends at most `grace` after it was earned, and
 * not after the user's last lockout or unlock (grants_void). */
#include <string.h>
#include <syslog.h>
#include "flow/pv_flow_priv.h"
#include "state/pv_state_open.h"
#include "base/pv_log.h"
#include "base/pv_util.h"

/* Whether `word` is one of the space-separated words of `list`. */
static int word_listed(const char *list, const char *word)
{
    size_t n = strlen(word);
    const char *p = list;

    while (*p != '\0') {
        size_t k;

        while (*p == ' ' || *p == '\t')
            p++;
        k = strcspn(p, " \t");
        if (k == n && k > 0 && memcmp(p, word, n) == 0)
            return 1;
        p += k;
    }
    return 0;
}

/* A local login: one from this host's users, or one with no remote host
 * named.  Its PAM_RHOST (if any) proves nothing. */
static int login_is_local(const pv_login *login)
{
    return login->rhost == NULL || login->rhost[0] == '\0' ||
           pv_origin_is_local(login->origin);
}

/* The grant key of this login, or 0 when grace does not apply (off, a
 * service outside grace_services, a local login outside a terminal
 * session).  The group is the login's own service when grace_services is
 * empty, else the list itself: services listed together share grants. */
static int grace_key(pv_flowctx *f, char key[65])
{
    const char *svc = f->login->service != NULL ? f->login->service : "";
    const char *list = f->cfg->grace_services;
    const pv_tty_session *session = NULL;
    char group[512];

    if (f->cfg->grace <= 0)
        return 0;
    if (login_is_local(f->login)) {
        if (f->login->origin == NULL || !f->login->origin->session.valid)
            return 0;
        session = &f->login->origin->session;
    }
    if (list == NULL || list[0] == '\0') {
        if (pv_snprintf(group, sizeof(group), "service %s", svc) < 0)
            return 0;
    } else {
        if (!word_listed(list, svc) ||
            pv_snprintf(group, sizeof(group), "list %s", list) < 0)
            return 0;
    }
    pv_state_grant_key(f->user, f->login->rhost, f->login->ruser, session,
                       group, key);
    return 1;
}

/* The store of grants (the caller closes it when *opened). */
static int grant_store(pv_flowctx *f, pv_state **st, int *opened)
{
    pv_err err;

    pv_err_clear(&err);
    if (f->env->state != NULL) { /* a store the caller gave: the local one */
        *st = f->state;
        *opened = 0;
        return 0;
    }
    if (pv_state_grant_store(f->cfg, f->state, st, opened, &err) != 0) {
        pv_logf(&f->env->logger, LOG_ERR, "state: grace grants: %s", err.msg);
        return -1;
    }
    (*st)->logger = f->env->logger;
    return 0;
}

static int void_cb(pv_state_record *rec, void *ctx)
{
    const time_t *at = ctx;

    if (rec->grants_void >= *at)
        return 1;
    pv_state_grants_void(rec, *at);
    return 0;
}

/* The shared record (etcd) says grants earned up to `at` are void: this
 * host's store forgets them for good, so that the record expiring or being
 * rewritten in etcd does not bring them back. */
static void void_local(pv_flowctx *f, pv_state *st, time_t at)
{
    pv_err err;

    pv_err_clear(&err);
    if (pv_state_update(st, f->user, void_cb, &at, &err) != 0)
        pv_logf(&f->env->logger, LOG_ERR, "state: %s", err.msg);
}

/* Whether the user's grants (in st) hold one for key now.  The time
 * before which grants are void comes from the login's own store too
 * (shared under etcd), which the lockout check has opened.  -1
 * unreadable. */
static int grant_held(pv_flowctx *f, pv_state *st, const char *key)
{
    pv_state_record rec;
    pv_err err;
    time_t shared_void = 0;
    int active = -1;

    pv_err_clear(&err);
    if (st != f->state) {
        if (pv_state_read(f->state, f->user, &rec, &err) != 0)
            goto out;
        shared_void = rec.grants_void;
        pv_state_record_clear(&rec);
    }
    if (pv_state_read(st, f->user, &rec, &err) != 0)
        goto out;
    if (shared_void > rec.grants_void && rec.n_grants > 0)
        void_local(f, st, shared_void);
    active = pv_state_grant_active(&rec, key, pv_flow_now(f), f->cfg->grace,
                                   shared_void);
    pv_state_record_clear(&rec);
out:
    if (active < 0)
        pv_logf(&f->env->logger, LOG_ERR, "state: grace grants: %s", err.msg);
    return active;
}

/* Grants that cannot be read are none: the login asks for a code. */
pv_verdict pv_flow_check_grace(pv_flowctx *f)
{
    pv_state *st = NULL;
    char key[65];
    int opened = 0, held;

    if (!grace_key(f, key) || grant_store(f, &st, &opened) != 0)
        return pv_verdict_go_on();
    held = grant_held(f, st, key);
    if (opened)
        pv_state_close(st);
    return held == 1 ? pv_verdict_final(PV_RESULT_GRACE, "grace")
                     : pv_verdict_go_on();
}

typedef struct grant_ctx {
    const char *key;
    time_t now;
    long grace;
} grant_ctx;

static int grant_cb(pv_state_record *rec, void *ctx)
{
    const grant_ctx *g = ctx;

    pv_state_grant_add(rec, g->key, g->now, g->now + g->grace);
    return 0;
}

/* Only a verified code grants grace: never a numVerify answer, a
 * fail-open, an IGNORE or a break-glass code. */
static int grants_grace(const pv_verdict *v)
{
    return v->step == PV_STEP_FINAL && v->result == PV_RESULT_SUCCESS &&
           v->failure == PV_FAILURE_NONE && v->code_verified;
}

pv_verdict pv_verdict_code_verified(void)
{
    pv_verdict v = pv_verdict_final(PV_RESULT_SUCCESS, "verified");

    v.code_verified = 1;
    return v;
}

void pv_flow_grant_grace(pv_flowctx *f, const pv_verdict *v)
{
    pv_state *st = NULL;
    char key[65];
    grant_ctx g;
    pv_err err;
    int opened = 0;

    if (!grants_grace(v) || !grace_key(f, key) ||
        grant_store(f, &st, &opened) != 0)
        return;
    g.key = key;
    g.now = pv_flow_now(f);
    g.grace = f->cfg->grace;
    pv_err_clear(&err);
    /* A grant not written only costs the next login a code. */
    if (pv_state_update(st, f->user, grant_cb, &g, &err) != 0)
        pv_logf(&f->env->logger, LOG_ERR, "state: %s", err.msg);
    if (opened)
        pv_state_close(st);
}
