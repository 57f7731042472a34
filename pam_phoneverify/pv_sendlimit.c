/* pv_sendlimit.c - the per-user send budget, pure functions of record +
 * clock.  A send counts while now - send < window. */
#include <string.h>
#include "pv_sendlimit.h"
#include "pv_util.h"

static size_t budget(const pv_sendlimit_policy *pol)
{
    if (pol->limit <= 0)
        return 0;
    if (pol->limit > PV_STATE_MAX_SENDS)
        return PV_STATE_MAX_SENDS;
    return (size_t)pol->limit;
}

static void drop_old_sends(pv_state_record *rec, long window, time_t now)
{
    long long cutoff = (long long)now - (window > 0 ? window : 0);
    size_t i, kept = 0;

    for (i = 0; i < rec->n_sends; i++) {
        /* a time in the future (clock stepped back) still counts */
        if ((long long)rec->sends[i] > cutoff)
            rec->sends[kept++] = rec->sends[i];
    }
    for (i = kept; i < rec->n_sends; i++)
        rec->sends[i] = 0;
    rec->n_sends = kept;
}

static void append_send(pv_state_record *rec, time_t now)
{
    if (rec->n_sends >= PV_STATE_MAX_SENDS) {
        memmove(rec->sends, rec->sends + 1,
                (PV_STATE_MAX_SENDS - 1) * sizeof rec->sends[0]);
        rec->n_sends = PV_STATE_MAX_SENDS - 1;
    }
    rec->sends[rec->n_sends++] = now;
}

int pv_sendlimit_reserve(pv_state_record *rec, const pv_sendlimit_policy *pol,
                         time_t now, long *wait)
{
    size_t limit = budget(pol);
    long long left;

    *wait = 0;
    if (now < 0)
        now = 0;
    if (now > PV_STATE_TIME_MAX)
        now = PV_STATE_TIME_MAX;
    drop_old_sends(rec, pol->window, now);
    if (limit == 0 || rec->n_sends < limit) {
        append_send(rec, now);
        return 1;
    }
    /* The oldest send that keeps the count at the limit leaves the window
     * first; one more send is allowed then. */
    left = (long long)rec->sends[rec->n_sends - limit] + pol->window - now;
    *wait = left < 1 ? 1 : (long)left;
    return 0;
}

void pv_sendlimit_give_back(pv_state_record *rec, time_t at)
{
    size_t i = rec->n_sends;

    while (i > 0) {
        i--;
        if (rec->sends[i] != at)
            continue;
        memmove(rec->sends + i, rec->sends + i + 1,
                (rec->n_sends - i - 1) * sizeof rec->sends[0]);
        rec->n_sends--;
        rec->sends[rec->n_sends] = 0;
        return;
    }
}

void pv_sendlimit_message(long wait, char *buf, size_t size)
{
    long minutes = (wait + 59) / 60;
    long hours = (wait + 3599) / 3600;

    if (minutes <= 120)
        (void)pv_snprintf(buf, size, "Too many codes requested for this "
                          "account; try again in %ld minute%s.", minutes,
                          minutes == 1 ? "" : "s");
    else
        (void)pv_snprintf(buf, size, "Too many codes requested for this "
                          "account; try again in %ld hours.", hours);
}
