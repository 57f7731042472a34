/* test_sendlimit.c - the per-user send budget (pv_sendlimit.c); every clock
 * value is explicit. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "pv_sendlimit.h"

static const pv_sendlimit_policy five_an_hour = { 5, 3600 };

static void empty(pv_state_record *rec)
{
    memset(rec, 0, sizeof *rec);
}

static void test_limit_and_wait(void **state)
{
    pv_state_record rec;
    long wait = -1;
    int i;

    (void)state;
    empty(&rec);
    for (i = 0; i < 5; i++)
        assert_int_equal(pv_sendlimit_reserve(&rec, &five_an_hour,
                                              1000 + i * 60, &wait), 1);
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
    pv_sendlimit_give_back(&rec, 99);          /* unknown: unchanged */
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
        assert_int_equal(pv_sendlimit_reserve(&rec, &pol, (time_t)(100 + i),
                                              &wait), 1);
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
        cmocka_unit_test(test_same_second_counts_each),
        cmocka_unit_test(test_give_back),
        cmocka_unit_test(test_buckets_merge_not_lost),
        cmocka_unit_test(test_message),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
