/* test_sendlimit.c - the per-user send budget (pv_sendlimit.c); every clock
 * value is explicit. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

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

/* A fake clock: sleep_ms moves it forward (or not, when stuck). */
typedef struct fake_clock {
    time_t now;
    long naps;
    unsigned slept_ms;
    int stuck;
} fake_clock;

static time_t fake_now(void *ctx)
{
    return ((fake_clock *)ctx)->now;
}

static void fake_sleep(void *ctx, unsigned ms)
{
    fake_clock *c = ctx;

    c->naps++;
    c->slept_ms += ms;
    if (!c->stuck)
        c->now += (time_t)(ms / 1000);
}

static void test_sleep_until(void **state)
{
    fake_clock c = { 1000, 0, 0, 0 };

    (void)state;
    pv_sleep_until(fake_now, fake_sleep, &c, 1021, 66);
    assert_int_equal(c.now, 1021);
    assert_int_equal(c.naps, 21);
    assert_int_equal(c.slept_ms, 21000);
    /* already there: no nap */
    pv_sleep_until(fake_now, fake_sleep, &c, 1021, 66);
    assert_int_equal(c.naps, 21);
    /* a clock that stands still is bounded by the naps */
    c = (fake_clock){ 1000, 0, 0, 1 };
    pv_sleep_until(fake_now, fake_sleep, &c, 1061, 66);
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
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
