/* pv_sendlimit.c - the per-user send budget, pure functions of record +
 * clock.  A send counts while now - send < window. */
#include <string.h>
#include "policy/pv_sendlimit.h"
#include "base/pv_util.h"

static unsigned long budget(const pv_sendlimit_policy *pol)
{
    if (pol->limit <= 0)
        return 0;
    if (pol->limit > PV_STATE_SEND_COUNT_MAX)
        return PV_STATE_SEND_COUNT_MAX;
    return (unsigned long)pol->limit;
}

static void remove_bucket(pv_state_record *rec, size_t i)
{
    memmove(rec->sends + i, rec->sends + i + 1,
            (rec->n_sends - i - 1) * sizeof rec->sends[0]);
    memmove(rec->send_counts + i, rec->send_counts + i + 1,
            (rec->n_sends - i - 1) * sizeof rec->send_counts[0]);
    rec->n_sends--;
    rec->sends[rec->n_sends] = 0;
    rec->send_counts[rec->n_sends] = 0;
}

static void drop_old_sends(pv_state_record *rec, long window, time_t now)
{
    long long cutoff = (long long)now - (window > 0 ? window : 0);
    size_t i = 0;

    /* a time in the future (clock stepped back) still counts */
    while (i < rec->n_sends) {
        if ((long long)rec->sends[i] > cutoff)
            i++;
        else
            remove_bucket(rec, i);
    }
}

static unsigned long total_sends(const pv_state_record *rec)
{
    unsigned long n = 0;
    size_t i;

    for (i = 0; i < rec->n_sends; i++)
        n += rec->send_counts[i];
    return n;
}

/* One more send at now: into the last bucket when it is this second;
 * when every bucket is used, the two oldest merge under the newer time
 * (they then count a little longer, never shorter). */
static void add_send(pv_state_record *rec, time_t now)
{
    size_t last = rec->n_sends;

    if (last > 0 && rec->sends[last - 1] == now &&
        rec->send_counts[last - 1] < PV_STATE_SEND_COUNT_MAX) {
        rec->send_counts[last - 1]++;
        return;
    }
    if (rec->n_sends >= PV_STATE_MAX_SENDS) {
        unsigned long merged =
            (unsigned long)rec->send_counts[0] + rec->send_counts[1];

        rec->send_counts[1] = merged > PV_STATE_SEND_COUNT_MAX
                                  ? PV_STATE_SEND_COUNT_MAX
                                  : (unsigned)merged;
        remove_bucket(rec, 0);
    }
    rec->sends[rec->n_sends] = now;
    rec->send_counts[rec->n_sends++] = 1;
}

/* Seconds until the count drops below limit. */
static long wait_for_room(const pv_state_record *rec, unsigned long limit,
                          long window, time_t now)
{
    unsigned long left = total_sends(rec);
    long long w = 1;
    size_t i;

    for (i = 0; i < rec->n_sends && left >= limit; i++) {
        left -= rec->send_counts[i];
        w = (long long)rec->sends[i] + window - now;
    }
    return w < 1 ? 1 : (long)w;
}

int pv_sendlimit_reserve(pv_state_record *rec, const pv_sendlimit_policy *pol,
                         time_t now, long *wait)
{
    unsigned long limit = budget(pol);

    *wait = 0;
    if (now < 0)
        now = 0;
    if (now > PV_STATE_TIME_MAX)
        now = PV_STATE_TIME_MAX;
    drop_old_sends(rec, pol->window, now);
    if (limit == 0 || total_sends(rec) < limit) {
        add_send(rec, now);
        return 1;
    }
    *wait = wait_for_room(rec, limit, pol->window, now);
    return 0;
}

/* Sends counted at or after since. */
static unsigned long young_sends(const pv_state_record *rec, time_t since)
{
    unsigned long n = 0;
    size_t i;

    for (i = 0; i < rec->n_sends; i++)
        if (rec->sends[i] >= since)
            n += rec->send_counts[i];
    return n;
}

int pv_sendlimit_maybe_in_flight(const pv_state_record *rec,
                                 const pv_sendlimit_policy *pol, time_t since,
                                 const time_t *own, size_t n_own)
{
    unsigned long limit = budget(pol), young, mine = 0;
    size_t i;

    if (limit == 0)
        return 0;
    young = young_sends(rec, since);
    for (i = 0; i < n_own; i++)
        mine += own[i] >= since;
    if (young <= mine)
        return 0; /* none of another login's may be waiting */
    return total_sends(rec) - (young - mine) < limit;
}

int pv_sendlimit_unanswered(const pv_state_record *rec, time_t since,
                            const time_t *own, size_t n_own)
{
    time_t after = rec->last_sent >= since ? rec->last_sent + 1 : since;
    unsigned long n = young_sends(rec, after), mine = 0;
    size_t i;

    for (i = 0; i < n_own; i++)
        mine += own[i] >= after;
    return n > mine;
}

void pv_sendlimit_status(const pv_state_record *rec,
                         const pv_sendlimit_policy *pol, time_t now,
                         unsigned long *sent, long *frees_in)
{
    long window = pol->window > 0 ? pol->window : 0;
    long long cutoff = (long long)now - window, w = 1;
    unsigned long limit = budget(pol), left;
    size_t i;

    *sent = 0;
    *frees_in = 0;
    for (i = 0; i < rec->n_sends; i++)
        if ((long long)rec->sends[i] > cutoff)
            *sent += rec->send_counts[i];
    if (limit == 0 || *sent < limit)
        return;
    /* as wait_for_room, over the sends within the window only */
    left = *sent;
    for (i = 0; i < rec->n_sends && left >= limit; i++) {
        if ((long long)rec->sends[i] <= cutoff)
            continue;
        left -= rec->send_counts[i];
        w = (long long)rec->sends[i] + window - now;
    }
    *frees_in = w < 1 ? 1 : (long)w;
}

void pv_sendlimit_give_back(pv_state_record *rec, time_t at)
{
    size_t i = rec->n_sends;

    while (i > 0) {
        i--;
        if (rec->sends[i] != at)
            continue;
        if (--rec->send_counts[i] == 0)
            remove_bucket(rec, i);
        return;
    }
}

void pv_sendlimit_clear(pv_state_record *rec)
{
    memset(rec->sends, 0, sizeof rec->sends);
    memset(rec->send_counts, 0, sizeof rec->send_counts);
    rec->n_sends = 0;
}

void pv_sendlimit_message(const pv_catalog *cat, long wait, char *buf,
                          size_t size)
{
    long minutes = (wait + 59) / 60;
    long hours = (wait + 3599) / 3600;

    if (minutes == 1)
        (void)pv_strlcpy(
            buf,
            pv_tr(cat, N_("Too many codes requested for "
                          "this account; try again in 1 minute.")),
            size);
    else if (minutes <= 120)
        (void)pv_trf(cat, buf, size,
                     N_("Too many codes requested for this "
                        "account; try again in %ld minutes."),
                     minutes);
    else
        (void)pv_trf(cat, buf, size,
                     N_("Too many codes requested for this "
                        "account; try again in %ld hours."),
                     hours);
}

/* ---- resend_wait ---------------------------------------------------------- */

pv_resend_plan pv_resend_plan_make(time_t last_sent, time_t now,
                                   long resend_wait)
{
    const long span = PV_PROVIDER_INTERVAL + PV_PROVIDER_MARGIN;
    pv_resend_plan p;

    if (last_sent > 0 && last_sent <= now &&
        now - last_sent < PV_PROVIDER_INTERVAL) {
        p.ago = (long)(now - last_sent);
        p.wait = span - p.ago;
    } else {
        p.ago = -1;
        p.wait = span;
    }
    p.may_wait = resend_wait > 0 && span <= resend_wait;
    return p;
}

void pv_sleep_until(time_t (*now)(void *), void (*sleep_ms)(void *, unsigned),
                    void *ctx, time_t target, long max_naps)
{
    time_t t;

    while ((t = now(ctx)) < target && max_naps-- > 0)
        sleep_ms(ctx, 1000u);
}
