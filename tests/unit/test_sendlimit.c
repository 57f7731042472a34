/* test_sendlimit.c - the per-user send budget (pv_sendlimit.c); every clock
 * value is explicit. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "pvt.h"

#include <string.h>

#include "policy/pv_sendlimit.h"

static const pv_sendlimit_policy five_an_hour = { 5, 3600 };

static void empty(pv_state_record *rec)
{
    memset(rec, 0, sizeof *rec);
}

/* ---- resend_wait ---------------------------------------------------------- */

static void test_resend_plan(void **state)
{
    const time_t now = 1700000100;
    pv_resend_plan p;

    (void)state;
    /* a send 40 s ago: 21 s to go; the default (65) waits */
    p = pv_resend_plan_make(now - 40, now, 65);
    assert_int_equal(p.ago, 40);
    assert_int_equal(p.wait, 21);
    assert_true(p.may_wait);
    /* bounded from the send: 61 s after it is past 30 (and past 60) */
    assert_false(pv_resend_plan_make(now - 40, now, 30).may_wait);
    assert_false(pv_resend_plan_make(now - 59, now, 60).may_wait);
    assert_true(pv_resend_plan_make(now - 59, now, 61).may_wait);
    /* 0 never waits, but still names the real wait */
    p = pv_resend_plan_make(now - 20, now, 0);
    assert_false(p.may_wait);
    assert_int_equal(p.wait, 41);
    /* none recorded, too old, in the future: counted from now */
    for (int i = 0; i < 4; i++) {
        time_t last = i == 0   ? 0
                      : i == 1 ? now - 60
                      : i == 2 ? now - 3600
                               : now + 5;

        p = pv_resend_plan_make(last, now, 65);
        assert_int_equal(p.ago, -1);
        assert_int_equal(p.wait, 61);
        assert_true(p.may_wait);
    }
}

static void test_sleep_until(void **state)
{
    pvt_clock c = { 1000, 0, 0, 0 };

    (void)state;
    pv_sleep_until(pvt_fake_now, pvt_fake_sleep, &c, 1021, 66);
    assert_int_equal(c.now, 1021);
    assert_int_equal(c.naps, 21);
    assert_int_equal(c.slept_ms, 21000);
    /* already there: no nap */
    pv_sleep_until(pvt_fake_now, pvt_fake_sleep, &c, 1021, 66);
    assert_int_equal(c.naps, 21);
    /* a clock that stands still is bounded by the naps */
    c = (pvt_clock){ 1000, 0, 0, 1 };
    pv_sleep_until(pvt_fake_now, pvt_fake_sleep, &c, 1061, 66);
    assert_int_equal(c.naps, 66);
}

static void test_limit_and_wait(void **state)
{
    pv_state_record rec;
    long wait = -1;
    int i;

    (void)state;
    empty(&rec);
    for (i = 0; i < 5; i++)
        assert_int_equal(
            pv_sendlimit_reserve(&rec, &five_an_hour, 1000 + i * 60, &wait),
            1);
    assert_int_equal(wait, 0);
    /* the sixth, 10 minutes after the first: 50 minutes to wait */
    assert_int_equal(pv_sendlimit_reserve(&rec, &five_an_hour, 1600, &wait),
                     0);
    assert_int_equal(wait, 3000);
    /* the first leaves the window at 4600: one more then */
    assert_int_equal(pv_sendlimit_reserve(&rec, &five_an_hour, 4599, &wait),
                     0);
    assert_int_equal(wait, 1);
    assert_int_equal(pv_sendlimit_reserve(&rec, &five_an_hour, 4600, &wait),
                     1);
}

static void test_same_second_counts_each(void **state)
{
    pv_state_record rec;
    long wait;
    int i;

    (void)state;
    empty(&rec);
    for (i = 0; i < 5; i++)
        assert_int_equal(pv_sendlimit_reserve(&rec, &five_an_hour, 50, &wait),
                         1);
    assert_int_equal(rec.n_sends, 1);
    assert_int_equal(rec.send_counts[0], 5);
    assert_int_equal(pv_sendlimit_reserve(&rec, &five_an_hour, 50, &wait), 0);
    assert_int_equal(wait, 3600);
}

static void test_give_back(void **state)
{
    pv_state_record rec;
    long wait;

    (void)state;
    empty(&rec);
    assert_int_equal(pv_sendlimit_reserve(&rec, &five_an_hour, 10, &wait), 1);
    assert_int_equal(pv_sendlimit_reserve(&rec, &five_an_hour, 20, &wait), 1);
    pv_sendlimit_give_back(&rec, 20);
    assert_int_equal(rec.n_sends, 1);
    assert_int_equal(rec.sends[0], 10);
    pv_sendlimit_give_back(&rec, 99); /* unknown: unchanged */
    assert_int_equal(rec.n_sends, 1);
}

/* More seconds with sends than the record holds: the oldest merge, and the
 * total is never lost (a large limit still holds). */
static void test_buckets_merge_not_lost(void **state)
{
    pv_sendlimit_policy pol = { 1000, 86400 };
    pv_state_record rec;
    unsigned long total = 0;
    long wait;
    size_t i;

    (void)state;
    empty(&rec);
    for (i = 0; i < 200; i++)
        assert_int_equal(
            pv_sendlimit_reserve(&rec, &pol, (time_t)(100 + i), &wait), 1);
    assert_int_equal(rec.n_sends, PV_STATE_MAX_SENDS);
    for (i = 0; i < rec.n_sends; i++)
        total += rec.send_counts[i];
    assert_int_equal(total, 200);
}

/* Requests in flight never make a login report the limit: spent only
 * because of other logins' young sends (that may still wait for their
 * answer) means "wait for them", not "refused". */
static void test_maybe_in_flight(void **state)
{
    static const pv_sendlimit_policy three = { 3, 3600 };
    const time_t now = 10000;
    pv_state_record rec;
    time_t own[1] = { now };
    long wait;

    (void)state;
    empty(&rec);
    /* three requests of other logins this second: spent, but maybe in
     * flight */
    assert_int_equal(pv_sendlimit_reserve(&rec, &three, now, &wait), 1);
    assert_int_equal(pv_sendlimit_reserve(&rec, &three, now, &wait), 1);
    assert_int_equal(pv_sendlimit_reserve(&rec, &three, now, &wait), 1);
    assert_int_equal(pv_sendlimit_reserve(&rec, &three, now, &wait), 0);
    assert_int_equal(
        pv_sendlimit_maybe_in_flight(&rec, &three, now - 17, NULL, 0), 1);
    /* older than a request can take: real sends, the limit stands */
    assert_int_equal(
        pv_sendlimit_maybe_in_flight(&rec, &three, now + 1, NULL, 0), 0);
    /* one of them is this login's own, answered: two others left, and
     * without them there is room */
    assert_int_equal(
        pv_sendlimit_maybe_in_flight(&rec, &three, now - 17, own, 1), 1);
    /* spent by old sends with one young one: without it still spent */
    empty(&rec);
    rec.sends[0] = now - 1000;
    rec.send_counts[0] = 3;
    rec.sends[1] = now;
    rec.send_counts[1] = 1;
    rec.n_sends = 2;
    assert_int_equal(
        pv_sendlimit_maybe_in_flight(&rec, &three, now - 17, NULL, 0), 0);
}

/* A send counted after the last code the provider sent (last_sent) has
 * no answer that sent a code yet. */
static void test_unanswered(void **state)
{
    const time_t now = 10000;
    pv_state_record rec;
    time_t own[1] = { now - 2 };

    (void)state;
    empty(&rec);
    rec.sends[0] = now - 2;
    rec.send_counts[0] = 1;
    rec.n_sends = 1;
    rec.last_sent = now - 100;
    assert_int_equal(pv_sendlimit_unanswered(&rec, now - 17, NULL, 0), 1);
    /* this login's own */
    assert_int_equal(pv_sendlimit_unanswered(&rec, now - 17, own, 1), 0);
    /* answered: a code was sent since */
    rec.last_sent = now - 1;
    assert_int_equal(pv_sendlimit_unanswered(&rec, now - 17, NULL, 0), 0);
    /* older than a request can take */
    rec.last_sent = now - 100;
    assert_int_equal(pv_sendlimit_unanswered(&rec, now, NULL, 0), 0);
}

static void test_status_and_clear(void **state)
{
    static const pv_sendlimit_policy two = { 2, 3600 };
    pv_state_record rec;
    unsigned long sent;
    long frees_in;

    (void)state;
    empty(&rec);
    rec.sends[0] = 100; /* outside the window at 5000 */
    rec.send_counts[0] = 5;
    rec.sends[1] = 4000;
    rec.send_counts[1] = 1;
    rec.n_sends = 2;
    pv_sendlimit_status(&rec, &two, 5000, &sent, &frees_in);
    assert_int_equal(sent, 1);
    assert_int_equal(frees_in, 0);
    rec.sends[2] = 4500;
    rec.send_counts[2] = 1;
    rec.n_sends = 3;
    pv_sendlimit_status(&rec, &two, 5000, &sent, &frees_in);
    assert_int_equal(sent, 2);
    assert_int_equal(frees_in, 2600); /* the send at 4000 leaves at 7600 */
    rec.last_sent = 4500;
    pv_sendlimit_clear(&rec);
    pv_sendlimit_status(&rec, &two, 5000, &sent, &frees_in);
    assert_int_equal(sent, 0);
    assert_int_equal(rec.n_sends, 0);
    assert_int_equal(rec.last_sent, 4500); /* the provider's minute stays */
}

static void test_message(void **state)
{
    char buf[160];

    (void)state;
    pv_sendlimit_message(NULL, 2400, buf, sizeof buf);
    assert_string_equal(buf, "Too many codes requested for this account; "
                             "try again in 40 minutes.");
    pv_sendlimit_message(NULL, 1, buf, sizeof buf);
    assert_string_equal(buf, "Too many codes requested for this account; "
                             "try again in 1 minute.");
    pv_sendlimit_message(NULL, 5 * 3600, buf, sizeof buf);
    assert_string_equal(buf, "Too many codes requested for this account; "
                             "try again in 5 hours.");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_limit_and_wait),
        cmocka_unit_test(test_resend_plan),
        cmocka_unit_test(test_sleep_until),
        cmocka_unit_test(test_same_second_counts_each),
        cmocka_unit_test(test_give_back),
        cmocka_unit_test(test_buckets_merge_not_lost),
        cmocka_unit_test(test_message),
        cmocka_unit_test(test_maybe_in_flight),
        cmocka_unit_test(test_unanswered),
        cmocka_unit_test(test_status_and_clear),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
