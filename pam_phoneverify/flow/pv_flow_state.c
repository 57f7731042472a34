/* pv_flow_state.c - the state transactions of a login, each one atomic
 * pv_state_update (doc/architecture.md):
 *   - a guess is counted before its verify call (the lockout,
 *     policy/pv_lockout.c decides), given back only for an answer that
 *     says the code was never checked, and cleared on success;
 *   - a send is taken from the per-user budget before it is requested
 *     (policy/pv_sendlimit.c decides) and given back when it never left;
 *   - a break-glass code is claimed once, fleet-wide with etcd.
 * pv_flow_io.c has the rest of what the steps share. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include "flow/pv_flow_priv.h"
#include "base/pv_i18n.h"
#include "base/pv_log.h"
#include "policy/pv_sendlimit.h"
#include "state/pv_state_etcd.h"
#include "base/pv_util.h"

int pv_flow_state_update(pv_flowctx *f, pv_state_update_fn fn, void *ctx)
{
    pv_err err;

    pv_err_clear(&err);
    if (pv_state_update(f->state, f->user, fn, ctx, &err) != 0) {
        pv_logf(&f->env->logger, LOG_ERR, "state update failed: %s", err.msg);
        return -1;
    }
    return 0;
}

/* ---- guesses (doc/security.md: recorded before the verify call) ------------------ */

typedef struct guess_ctx {
    const pv_lockout_policy *pol;
    time_t now;
    pv_guess *g;
    enum pv_guess_status st;
} guess_ctx;

static int guess_begin_cb(pv_state_record *rec, void *ctx)
{
    guess_ctx *gc = ctx;
    time_t before = rec->locked_until;

    if (pv_lockout_active(rec, gc->pol, gc->now, NULL)) {
        gc->st = PV_GUESS_LOCKED;
        return 1; /* nothing to write */
    }
    pv_lockout_add_failure(rec, gc->pol, gc->now);
    gc->g->at = gc->now;
    gc->g->lock_started = rec->locked_until != before ? rec->locked_until : 0;
    gc->st = PV_GUESS_RECORDED;
    return 0;
}

static enum pv_guess_status record_guess(pv_flowctx *f, pv_guess *g)
{
    time_t now = pv_flow_now(f);
    guess_ctx gc = { &f->lockout, now < 0 ? 0 : now, g, PV_GUESS_ERROR };

    memset(g, 0, sizeof(*g));
    if (gc.now > PV_STATE_TIME_MAX)
        gc.now = PV_STATE_TIME_MAX;
    if (pv_flow_state_update(f, guess_begin_cb, &gc) != 0)
        return PV_GUESS_ERROR;
    return gc.st;
}

enum pv_guess_status pv_flow_guess_begin(pv_flowctx *f, pv_guess *g)
{
    return record_guess(f, g);
}

enum pv_guess_status pv_flow_wrong_entry(pv_flowctx *f, pv_guess *g)
{
    enum pv_guess_status st = record_guess(f, g);

    /* The entry that reaches lockout_failures ends the login locked. */
    if (st == PV_GUESS_RECORDED && g->lock_started != 0)
        return PV_GUESS_LOCKED;
    return st;
}

typedef struct take_back_ctx {
    const pv_lockout_policy *pol;
    const pv_guess *g;
} take_back_ctx;

static int take_back_cb(pv_state_record *rec, void *ctx)
{
    const take_back_ctx *tc = ctx;

    pv_lockout_take_back(rec, tc->pol, tc->g->at, tc->g->lock_started);
    return 0;
}

void pv_flow_guess_take_back(pv_flowctx *f, const pv_guess *g)
{
    take_back_ctx tc = { &f->lockout, g };

    /* Not taken back: one failure too many, never one too few. */
    (void)pv_flow_state_update(f, take_back_cb, &tc);
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

int pv_flow_guess_succeeded(pv_flowctx *f)
{
    return pv_flow_state_update(f, success_cb, NULL);
}

/* ---- send budget ---------------------------------------------------------- */

typedef struct budget_ctx {
    pv_sendlimit_policy pol;
    const pv_lockout_policy *lock;
    time_t now;
    time_t since; /* sends from here on may still be in flight */
    const time_t *own;
    size_t n_own;
    long wait;
    int reserved;
    int in_flight;
    int locked;
} budget_ctx;

static int reserve_cb(pv_state_record *rec, void *ctx)
{
    budget_ctx *bc = ctx;

    /* The lockout is checked again on the record this write replaces: a
     * login's first read may be older than another host's lock (etcd's
     * serializable read, state/pv_state.h), and no code is sent to a
     * locked-out user. */
    bc->locked = pv_lockout_active(rec, bc->lock, bc->now, NULL);
    if (bc->locked) {
        bc->reserved = 0;
        return 0;
    }
    bc->reserved = pv_sendlimit_reserve(rec, &bc->pol, bc->now, &bc->wait);
    bc->in_flight =
        !bc->reserved && pv_sendlimit_maybe_in_flight(rec, &bc->pol, bc->since,
                                                      bc->own, bc->n_own);
    return 0;
}

static int give_back_cb(pv_state_record *rec, void *ctx)
{
    const budget_ctx *bc = ctx;

    pv_sendlimit_give_back(rec, bc->now);
    return 0;
}

#define BUDGET_NAP_MS 250u
#define REQUEST_MARGIN 2 /* pv_http.c: slack on top of libcurl's limits */

static time_t clamp_now(time_t t)
{
    if (t < 0)
        return 0;
    return t > PV_STATE_TIME_MAX ? PV_STATE_TIME_MAX : t;
}

/* The longest one send request can be waiting for its answer. */
static long request_bound(const pv_flowctx *f)
{
    return f->cfg->timeout + f->cfg->connect_timeout + REQUEST_MARGIN;
}

/* One look at the budget under the state lock. */
static int reserve_once(pv_flowctx *f, budget_ctx *bc)
{
    bc->now = clamp_now(pv_flow_now(f));
    bc->since = bc->now - request_bound(f);
    return pv_flow_state_update(f, reserve_cb, bc);
}

enum pv_send_budget pv_flow_send_reserve(pv_flowctx *f, time_t *at, long *wait)
{
    pv_clock *c = &f->env->clock;
    budget_ctx bc;
    time_t until;
    long naps;

    memset(&bc, 0, sizeof(bc));
    bc.pol.limit = f->cfg->send_limit;
    bc.pol.window = f->cfg->send_window;
    bc.lock = &f->lockout;
    bc.own = f->own_sends;
    bc.n_own = f->n_own_sends;
    *wait = 0;
    until = clamp_now(pv_flow_now(f)) + request_bound(f);
    /* naps bounded by count too: a clock that stands still */
    naps = request_bound(f) * (1000 / (long)BUDGET_NAP_MS) + 1;
    for (;;) {
        if (reserve_once(f, &bc) != 0)
            return PV_BUDGET_ERROR;
        *at = bc.now;
        *wait = bc.wait;
        if (bc.locked)
            return PV_BUDGET_LOCKED;
        if (bc.reserved)
            return PV_BUDGET_RESERVED;
        if (!bc.in_flight || c->sleep_ms == NULL || naps-- <= 0 ||
            bc.now >= until)
            return PV_BUDGET_SPENT;
        pv_flow_debug(f, "send budget: waiting for requests in flight");
        c->sleep_ms(c->ctx, BUDGET_NAP_MS);
    }
}

int pv_flow_sends_unanswered(pv_flowctx *f)
{
    pv_state_record rec;
    pv_err err;
    time_t now = clamp_now(pv_flow_now(f));
    int n = 0;

    pv_err_clear(&err);
    if (pv_state_read(f->state, f->user, &rec, &err) == 0)
        n = pv_sendlimit_unanswered(&rec, now - request_bound(f), f->own_sends,
                                    f->n_own_sends);
    pv_state_record_clear(&rec);
    return n;
}

void pv_flow_nap(pv_flowctx *f)
{
    pv_clock *c = &f->env->clock;

    if (c->sleep_ms != NULL)
        c->sleep_ms(c->ctx, BUDGET_NAP_MS);
}

long pv_flow_naps_max(const pv_flowctx *f)
{
    return f->env->clock.sleep_ms == NULL
               ? 0
               : request_bound(f) * (1000 / (long)BUDGET_NAP_MS) + 1;
}

void pv_flow_send_give_back(pv_flowctx *f, time_t at)
{
    budget_ctx bc;

    memset(&bc, 0, sizeof(bc));
    bc.now = at;
    (void)pv_flow_state_update(f, give_back_cb, &bc);
}

void pv_flow_send_kept(pv_flowctx *f, time_t at)
{
    if (f->n_own_sends < PV_FLOW_OWN_SENDS)
        f->own_sends[f->n_own_sends++] = at;
}

/* ---- break-glass codes used anywhere (fleet-wide with etcd) --------- */

/* The file store (one host): the claim sits in the user's record, next
 * to the line's removal from this host's file. */

typedef struct bg_claim_ctx {
    char digest[65];
    int used; /* set by the callback, from rec */
} bg_claim_ctx;

static int bg_claim_cb(pv_state_record *rec, void *ctx)
{
    bg_claim_ctx *c = ctx;
    size_t i;

    c->used = 0;
    for (i = 0; i < rec->n_bg_used; i++)
        if (strcmp(rec->bg_used[i], c->digest) == 0) {
            c->used = 1;
            return 1; /* nothing to write */
        }
    if (rec->n_bg_used >= PV_STATE_MAX_BG_USED)
        return -1; /* closed: cannot prove it unused */
    memcpy(rec->bg_used[rec->n_bg_used++], c->digest, sizeof(c->digest));
    return 0;
}

/* An older version kept the claim in the user's record only: a code it
 * claimed is refused too while that record lives. */
static int claimed_in_record(pv_flowctx *f, const char *digest)
{
    pv_state_record rec;
    pv_err err;
    size_t i;
    int used = 0;

    pv_err_clear(&err);
    if (pv_state_read(f->state, f->user, &rec, &err) != 0)
        return -1;
    for (i = 0; i < rec.n_bg_used; i++)
        if (strcmp(rec.bg_used[i], digest) == 0)
            used = 1;
    pv_state_record_clear(&rec);
    return used;
}

/* With etcd, a claim is a key of its own that never expires (doc/security.md,
 * break-glass): a claim in the user's record would go with the record's
 * lease, and the code would work again on another host.  While degraded
 * (or with no answer from etcd) single use cannot be proven: refused. */
static int claim_fleet_wide(pv_flowctx *f, const char *digest)
{
    pv_err err;
    int rc;

    pv_err_clear(&err);
    rc = pv_state_etcd_claim(f->state, f->user, digest, &err);
    if (rc < 0) {
        pv_logf(&f->env->logger, LOG_ERR, "break-glass code refused: %s",
                err.msg);
        return -1;
    }
    if (rc == 1)
        return 1;
    return claimed_in_record(f, digest);
}

int pv_flow_breakglass_claim(void *ctx, const char *hash)
{
    pv_flowctx *f = ctx;
    bg_claim_ctx c;
    int rc;

    memset(&c, 0, sizeof(c));
    pv_state_sha256_hex(hash, strlen(hash), c.digest);
    if (pv_state_etcd_is(f->state))
        rc = claim_fleet_wide(f, c.digest);
    else if (pv_flow_state_update(f, bg_claim_cb, &c) != 0)
        rc = -1;
    else
        rc = c.used;
    pv_wipe(&c, sizeof(c));
    return rc;
}
