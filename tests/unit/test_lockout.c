/* test_lockout.c - the lockout decision; every clock value is explicit. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "policy/pv_lockout.h"

static const pv_lockout_policy pol3 = { 3, 900, 900 };

static void empty(pv_state_record *rec)
{
    memset(rec, 0, sizeof *rec);
}

static void test_threshold(void **state)
{
    pv_state_record rec;
    time_t until = 42;

    (void)state;
    empty(&rec);
    assert_int_equal(pv_lockout_active(&rec, &pol3, 100, &until), 0);
    assert_int_equal(until, 0);
    pv_lockout_add_failure(&rec, &pol3, 100);
    pv_lockout_add_failure(&rec, &pol3, 200);
    assert_int_equal(rec.n_failures, 2);
    assert_int_equal(pv_lockout_active(&rec, &pol3, 200, &until), 0);
    pv_lockout_add_failure(&rec, &pol3, 300);
    assert_int_equal(pv_lockout_active(&rec, &pol3, 300, &until), 1);
    assert_int_equal(until, 1200);
    assert_int_equal(rec.locked_until, 1200);
    /* the failures that caused it stay while it lasts (status shows them) */
    assert_int_equal(rec.n_failures, 3);
    assert_int_equal(pv_lockout_failures(&rec, &pol3, 1199), 3);
    assert_int_equal(pv_lockout_active(&rec, &pol3, 1199, NULL), 1);
}

/* What status shows: a lock's failures while it lasts, none of them once
 * it is over (even within the window), and the failures since. */
static void test_failures_shown(void **state)
{
    static const pv_lockout_policy short_lock = { 3, 900, 60 };
    pv_state_record rec;

    (void)state;
    empty(&rec);
    pv_lockout_add_failure(&rec, &short_lock, 100);
    assert_int_equal(pv_lockout_failures(&rec, &short_lock, 100), 1);
    pv_lockout_add_failure(&rec, &short_lock, 101);
    pv_lockout_add_failure(&rec, &short_lock, 102);
    assert_int_equal(rec.locked_until, 162);
    assert_int_equal(pv_lockout_failures(&rec, &short_lock, 161), 3);
    /* over: none of its failures, though within the window */
    assert_int_equal(pv_lockout_failures(&rec, &short_lock, 162), 0);
    pv_lockout_add_failure(&rec, &short_lock, 170);
    assert_int_equal(rec.locked_until, 0);
    assert_int_equal(rec.n_failures, 1);
    assert_int_equal(pv_lockout_failures(&rec, &short_lock, 170), 1);
    /* and two more lock again: 3 since the lock that is over */
    pv_lockout_add_failure(&rec, &short_lock, 171);
    assert_int_equal(rec.locked_until, 0);
    pv_lockout_add_failure(&rec, &short_lock, 172);
    assert_int_equal(rec.locked_until, 232);
    /* outside the window, without a lock: not shown */
    empty(&rec);
    pv_lockout_add_failure(&rec, &short_lock, 100);
    assert_int_equal(pv_lockout_failures(&rec, &short_lock, 1000), 0);
    assert_int_equal(pv_lockout_failures(NULL, &short_lock, 1000), 0);
}

static void test_window_expiry(void **state)
{
    pv_state_record rec;

    (void)state;
    empty(&rec);
    pv_lockout_add_failure(&rec, &pol3, 0);
    pv_lockout_add_failure(&rec, &pol3, 100);
    /* 0 and 100 are window (900) or more before 1000: dropped */
    pv_lockout_add_failure(&rec, &pol3, 1000);
    assert_int_equal(rec.n_failures, 1);
    assert_int_equal(rec.failures[0], 1000);
    assert_int_equal(pv_lockout_active(&rec, &pol3, 1000, NULL), 0);

    /* 899 seconds ago still counts */
    empty(&rec);
    pv_lockout_add_failure(&rec, &pol3, 101);
    pv_lockout_add_failure(&rec, &pol3, 500);
    pv_lockout_add_failure(&rec, &pol3, 1000);
    assert_int_equal(pv_lockout_active(&rec, &pol3, 1000, NULL), 1);
    assert_int_equal(rec.locked_until, 1900);
}

static void test_lock_expiry(void **state)
{
    pv_state_record rec;
    time_t until;

    (void)state;
    empty(&rec);
    pv_lockout_add_failure(&rec, &pol3, 10);
    pv_lockout_add_failure(&rec, &pol3, 11);
    pv_lockout_add_failure(&rec, &pol3, 12);
    assert_int_equal(pv_lockout_active(&rec, &pol3, 911, &until), 1);
    assert_int_equal(until, 912);
    assert_int_equal(pv_lockout_active(&rec, &pol3, 912, &until), 0);
    assert_int_equal(until, 0);
    /* after expiry one mistake does not lock again */
    pv_lockout_add_failure(&rec, &pol3, 920);
    assert_int_equal(pv_lockout_active(&rec, &pol3, 920, NULL), 0);
    assert_int_equal(rec.locked_until, 0);
    assert_int_equal(rec.n_failures, 1);
}

static void test_disabled(void **state)
{
    static const pv_lockout_policy off = { 0, 900, 900 };
    pv_state_record rec;
    int i;

    (void)state;
    empty(&rec);
    for (i = 0; i < 100; i++)
        pv_lockout_add_failure(&rec, &off, 1000 + i);
    assert_int_equal(pv_lockout_active(&rec, &off, 1100, NULL), 0);
    assert_int_equal(rec.locked_until, 0);
    /* still bounded, oldest dropped */
    assert_int_equal(rec.n_failures, PV_STATE_MAX_FAILURES);
    assert_int_equal(rec.failures[0], 1000 + 100 - PV_STATE_MAX_FAILURES);
    assert_int_equal(rec.failures[PV_STATE_MAX_FAILURES - 1], 1099);
    /* a lock left from an earlier policy does not apply */
    rec.locked_until = 5000;
    assert_int_equal(pv_lockout_active(&rec, &off, 1100, NULL), 0);
    assert_int_equal(pv_lockout_active(&rec, &pol3, 1100, NULL), 1);
}

static void test_threshold_above_capacity(void **state)
{
    static const pv_lockout_policy many = { 1000, 100000, 60 };
    pv_state_record rec;
    int i;

    (void)state;
    empty(&rec);
    /* capped at PV_STATE_MAX_FAILURES so it can still be reached */
    for (i = 0; i < PV_STATE_MAX_FAILURES - 1; i++)
        pv_lockout_add_failure(&rec, &many, 10 + i);
    assert_int_equal(pv_lockout_active(&rec, &many, 100, NULL), 0);
    pv_lockout_add_failure(&rec, &many, 100);
    assert_int_equal(pv_lockout_active(&rec, &many, 100, NULL), 1);
    assert_int_equal(rec.locked_until, 160);
}

static void test_reset(void **state)
{
    pv_state_record rec;

    (void)state;
    empty(&rec);
    strcpy(rec.pending_id, "keep");
    pv_lockout_add_failure(&rec, &pol3, 1);
    pv_lockout_add_failure(&rec, &pol3, 2);
    pv_lockout_add_failure(&rec, &pol3, 3);
    assert_int_equal(pv_lockout_active(&rec, &pol3, 4, NULL), 1);
    pv_lockout_reset(&rec);
    assert_int_equal(pv_lockout_active(&rec, &pol3, 4, NULL), 0);
    assert_int_equal(rec.n_failures, 0);
    assert_int_equal(rec.locked_until, 0);
    assert_string_equal(rec.pending_id, "keep"); /* only lockout state */
    pv_lockout_reset(NULL);
}

/* Extreme clocks and policies still give a record that can be written. */
static void test_clamped_times(void **state)
{
    static const pv_lockout_policy huge = { 1, 900, LONG_MAX };
    static const pv_lockout_policy zero = { 1, 0, 0 };
    pv_state_record rec;
    char *text;
    size_t len;

    (void)state;
    empty(&rec);
    pv_lockout_add_failure(&rec, &huge, PV_STATE_TIME_MAX - 5);
    assert_int_equal(rec.locked_until, PV_STATE_TIME_MAX);
    assert_int_equal(pv_state_record_format(&rec, &text, &len), 0);
    free(text);

    empty(&rec);
    pv_lockout_add_failure(&rec, &pol3, -50);
    assert_int_equal(rec.failures[0], 0);
    assert_int_equal(pv_state_record_format(&rec, &text, &len), 0);
    free(text);

    /* lock_time 0: locked until now, i.e. never actually refused */
    empty(&rec);
    pv_lockout_add_failure(&rec, &zero, 100);
    assert_int_equal(pv_lockout_active(&rec, &zero, 100, NULL), 0);

    pv_lockout_add_failure(NULL, &pol3, 1);
    pv_lockout_add_failure(&rec, NULL, 1);
    assert_int_equal(pv_lockout_active(NULL, &pol3, 1, NULL), 0);
}

/* A failure arriving from a login that raced a lockout still counts. */
static void test_failure_while_locked(void **state)
{
    pv_state_record rec;

    (void)state;
    empty(&rec);
    pv_lockout_add_failure(&rec, &pol3, 1);
    pv_lockout_add_failure(&rec, &pol3, 2);
    pv_lockout_add_failure(&rec, &pol3, 3);
    pv_lockout_add_failure(&rec, &pol3, 50);
    assert_int_equal(rec.locked_until, 903);
    /* kept, and it outlives the lock; two more racing ones lock anew */
    assert_int_equal(rec.n_failures, 4);
    pv_lockout_add_failure(&rec, &pol3, 51);
    assert_int_equal(rec.locked_until, 903);
    pv_lockout_add_failure(&rec, &pol3, 52);
    assert_int_equal(rec.locked_until, 952);
    pv_lockout_add_failure(&rec, &pol3, 960);
    assert_int_equal(rec.locked_until, 0);
    assert_int_equal(rec.n_failures, 1);
}

/* An attempt recorded before a verify call that said "code gone" or
 * failed: exactly that failure goes. */
static void test_take_back_one_failure(void **state)
{
    pv_state_record rec;

    (void)state;
    empty(&rec);
    pv_lockout_add_failure(&rec, &pol3, 100);
    pv_lockout_add_failure(&rec, &pol3, 200);
    pv_lockout_take_back(&rec, &pol3, 200, 0);
    assert_int_equal(rec.n_failures, 1);
    assert_int_equal(rec.failures[0], 100);
    /* a time not in the list: nothing changes */
    pv_lockout_take_back(&rec, &pol3, 150, 0);
    assert_int_equal(rec.n_failures, 1);
}

/* The attempt that reached the threshold started the lockout; taking it
 * back lifts the lockout and restores threshold - 1 failures. */
static void test_take_back_lifts_lock_it_started(void **state)
{
    pv_state_record rec;

    (void)state;
    empty(&rec);
    pv_lockout_add_failure(&rec, &pol3, 100);
    pv_lockout_add_failure(&rec, &pol3, 200);
    pv_lockout_add_failure(&rec, &pol3, 300);
    assert_int_equal(rec.locked_until, 1200);
    pv_lockout_take_back(&rec, &pol3, 300, 1200);
    assert_int_equal(rec.locked_until, 0);
    assert_int_equal(rec.n_failures, 2);
    assert_int_equal(pv_lockout_active(&rec, &pol3, 300, NULL), 0);
    /* one more failure locks again */
    pv_lockout_add_failure(&rec, &pol3, 310);
    assert_int_equal(pv_lockout_active(&rec, &pol3, 310, NULL), 1);
}

/* A lockout another login started (locked_until differs) stays. */
static void test_take_back_keeps_other_lock(void **state)
{
    pv_state_record rec;

    (void)state;
    empty(&rec);
    rec.locked_until = 5000;
    pv_lockout_take_back(&rec, &pol3, 300, 1200);
    assert_int_equal(rec.locked_until, 5000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_threshold),
        cmocka_unit_test(test_failures_shown),
        cmocka_unit_test(test_window_expiry),
        cmocka_unit_test(test_lock_expiry),
        cmocka_unit_test(test_disabled),
        cmocka_unit_test(test_threshold_above_capacity),
        cmocka_unit_test(test_reset),
        cmocka_unit_test(test_take_back_one_failure),
        cmocka_unit_test(test_take_back_lifts_lock_it_started),
        cmocka_unit_test(test_take_back_keeps_other_lock),
        cmocka_unit_test(test_clamped_times),
        cmocka_unit_test(test_failure_while_locked),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
