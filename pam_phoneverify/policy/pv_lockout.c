/* pv_lockout.c - the lockout decision, pure functions of record + clock.
 *
 * A failure counts while now - failure < window.  The failure that brings
 * the count to the threshold starts a lockout of lock_time seconds.  The
 * failures that caused it stay in the record while it lasts (so that
 * `phoneverify status` can show them, phoneverify(1)); once it is over
 * they no longer count: the first failure after it drops every failure
 * up to the lock's start, so a user whose lockout has run out starts
 * afresh instead of being locked again by the next single mistake.  The
 * start is locked_until - lock_time: no field of its own, so the record
 * stays readable by every version (a record with an unknown line reads as
 * corrupt, i.e. empty). */
#include <string.h>

#include "policy/pv_lockout.h"

/* Keep every stored time within what the record format accepts, so the
 * update that records a failure can always be written back. */
static time_t clamp_time(long long t)
{
    if (t < 0)
        return 0;
    if (t > (long long)PV_STATE_TIME_MAX)
        return PV_STATE_TIME_MAX;
    return (time_t)t;
}

/* The record holds at most PV_STATE_MAX_FAILURES entries, so a larger
 * threshold could never be reached: cap it there. */
static size_t threshold(const pv_lockout_policy *pol)
{
    if (pol->failures <= 0)
        return 0;
    if (pol->failures > PV_STATE_MAX_FAILURES)
        return PV_STATE_MAX_FAILURES;
    return (size_t)pol->failures;
}

/* now + lock_time without overflow (now is already clamped). */
static time_t lock_end(time_t now, long lock_time)
{
    if (lock_time <= 0)
        return now;
    if (lock_time > (long long)PV_STATE_TIME_MAX - (long long)now)
        return PV_STATE_TIME_MAX;
    return now + (time_t)lock_time;
}

int pv_lockout_active(const pv_state_record *rec, const pv_lockout_policy *pol,
                      time_t now, time_t *until)
{
    if (until != NULL)
        *until = 0;
    if (rec == NULL || pol == NULL || threshold(pol) == 0)
        return 0;
    if (now >= rec->locked_until)
        return 0;
    if (until != NULL)
        *until = rec->locked_until;
    return 1;
}

/* Drop failures outside the window (now - t >= window), keeping order.
 * Written as t > now - window: with now clamped to [0, TIME_MAX] and
 * window > 0 that cannot overflow. */
static void drop_expired(pv_state_record *rec, long window, time_t now)
{
    long long cutoff = (long long)now - (window > 0 ? window : 0);
    size_t i, kept = 0;

    for (i = 0; i < rec->n_failures; i++) {
        if (window > 0 && (long long)rec->failures[i] > cutoff)
            rec->failures[kept++] = rec->failures[i];
    }
    for (i = kept; i < rec->n_failures; i++)
        rec->failures[i] = 0;
    rec->n_failures = kept;
}

static void append_failure(pv_state_record *rec, time_t t)
{
    if (rec->n_failures >= PV_STATE_MAX_FAILURES) {
        /* full: forget the oldest */
        memmove(rec->failures, rec->failures + 1,
                (PV_STATE_MAX_FAILURES - 1) * sizeof rec->failures[0]);
        rec->n_failures = PV_STATE_MAX_FAILURES - 1;
    }
    rec->failures[rec->n_failures++] = t;
}

static void clear_failures(pv_state_record *rec)
{
    memset(rec->failures, 0, sizeof rec->failures);
    rec->n_failures = 0;
}

/* When the lock in rec started (its end minus lock_time), 0 when none. */
static time_t lock_start(const pv_state_record *rec,
                         const pv_lockout_policy *pol)
{
    long long t;

    if (rec->locked_until == 0)
        return 0;
    t = (long long)rec->locked_until -
        (pol->lock_time > 0 ? pol->lock_time : 0);
    return clamp_time(t);
}

static long long later(long long a, long long b)
{
    return a > b ? a : b;
}

/* Drop the failures at or before t (those of a lock that is over). */
static void drop_through(pv_state_record *rec, time_t t)
{
    size_t i, kept = 0;

    for (i = 0; i < rec->n_failures; i++) {
        if (rec->failures[i] > t)
            rec->failures[kept++] = rec->failures[i];
    }
    for (i = kept; i < rec->n_failures; i++)
        rec->failures[i] = 0;
    rec->n_failures = kept;
}

static size_t count_after(const pv_state_record *rec, long long t)
{
    size_t i, n = 0;

    for (i = 0; i < rec->n_failures; i++)
        n += (long long)rec->failures[i] > t;
    return n;
}

/* A lock that is over: its failures no longer count. */
static void end_lock(pv_state_record *rec, const pv_lockout_policy *pol,
                     time_t now)
{
    if (rec->locked_until == 0 || now < rec->locked_until)
        return;
    drop_through(rec, lock_start(rec, pol));
    rec->locked_until = 0;
}

void pv_lockout_add_failure(pv_state_record *rec, const pv_lockout_policy *pol,
                            time_t now)
{
    size_t limit, counted;
    int locked;

    if (rec == NULL || pol == NULL)
        return;
    now = clamp_time((long long)now);
    limit = threshold(pol);
    end_lock(rec, pol, now);
    locked = limit != 0 && rec->locked_until != 0;
    /* during a lock its failures are kept even past the window */
    if (!locked)
        drop_expired(rec, pol->window, now);
    append_failure(rec, now);
    if (limit == 0)
        return;
    /* a failure from a login that raced the lock counts for a new lock
     * of its own: those after the lock's start, within the window */
    counted = locked ? count_after(rec, later(lock_start(rec, pol),
                                              (long long)now - pol->window))
                     : rec->n_failures;
    if (counted < limit)
        return;
    rec->locked_until = lock_end(now, pol->lock_time);
}

size_t pv_lockout_failures(const pv_state_record *rec,
                           const pv_lockout_policy *pol, time_t now)
{
    long long after;

    if (rec == NULL || pol == NULL)
        return 0;
    if (pv_lockout_active(rec, pol, now, NULL))
        return rec->n_failures; /* those that caused it, and any since */
    if (pol->window <= 0)
        return 0;
    after = (long long)now - pol->window;
    if (rec->locked_until != 0) /* a lock that is over */
        after = later(after, lock_start(rec, pol));
    return count_after(rec, after);
}

void pv_lockout_take_back(pv_state_record *rec, const pv_lockout_policy *pol,
                          time_t at, time_t lock_started)
{
    size_t i, limit;

    if (rec == NULL || pol == NULL)
        return;
    at = clamp_time((long long)at);
    for (i = rec->n_failures; i > 0; i--) {
        if (rec->failures[i - 1] != at)
            continue;
        memmove(rec->failures + i - 1, rec->failures + i,
                (rec->n_failures - i) * sizeof rec->failures[0]);
        rec->n_failures--;
        rec->failures[rec->n_failures] = 0;
        break;
    }
    if (lock_started == 0 || rec->locked_until != lock_started)
        return;
    /* the lock this failure started is lifted; the failures before it
     * stay (a record of an older version cleared them when the lock
     * started: threshold - 1 come back, dated at) */
    rec->locked_until = 0;
    limit = threshold(pol);
    while (limit > 0 && rec->n_failures + 1 < limit)
        append_failure(rec, at);
}

void pv_lockout_reset(pv_state_record *rec)
{
    if (rec == NULL)
        return;
    clear_failures(rec);
    rec->locked_until = 0;
}
