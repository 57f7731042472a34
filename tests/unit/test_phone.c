/* test_phone.c - E.164 parsing, formatting, masking; e-mail checks. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "identity/pv_phone.h"

struct good_case {
    const char *in;
    const char *spaced;
    const char *e164;
    unsigned cc_len;
};

static const struct good_case good[] = {
    { "+86 13800138000", "+86 13800138000", "+8613800138000", 2 },
    { "+8613800138000", "+86 13800138000", "+8613800138000", 2 },
    { "+44 7700900123", "+44 7700900123", "+447700900123", 2 },
    { "+447700900123", "+44 7700900123", "+447700900123", 2 },
    { "+1 2025550100", "+1 2025550100", "+12025550100", 1 },
    { "+12025550100", "+1 2025550100", "+12025550100", 1 },
    { "+33 612345678", "+33 612345678", "+33612345678", 2 },
    { "+33612345678", "+33 612345678", "+33612345678", 2 },
    { "+971 501234567", "+971 501234567", "+971501234567", 3 },
    { "+971501234567", "+971 501234567", "+971501234567", 3 },
    { "+7 9123456789", "+7 9123456789", "+79123456789", 1 },
    { "+852 51234567", "+852 51234567", "+85251234567", 3 },
    { "+290 1234", "+290 1234", "+2901234", 3 }, /* shortest */
    { "+1 12345678901234", "+1 12345678901234", "+112345678901234", 1 },
    { "+86 1380013800012", "+86 1380013800012", "+861380013800012", 2 },
};

static const char *const bad[] = {
    "",
    "+",
    "+ 13800138000",
    "8613800138000",
    "0086 13800138000",
    "00 86 13800138000",
    "+0 12345678",
    "+999 12345678",
    "+800 12345678",
    "+80012345678",
    "+808 12345678",
    "+870 123456789",
    "+882 1234567890",
    "+883 1234567890",
    "+979 12345678",
    "+991 1234567",
    "+210 1234567",
    "+422 1234567",
    "+384 1234567",
    "+86 123",
    "+86123", /* national < 4 */
    "+86 13800138000123",
    "+8613800138000123",  /* > 15 digits */
    "+1 123456789012345", /* national > 14 */
    "+971 5012345678901", /* 3 + 13 digits */
    "+86 1380013800a",
    "+86 abc",
    "+abc",
    "+86 13800138000x",
    "+86  13800138000",
    "+86 138 0013 8000",
    "+86-13800138000",
    "+86 (138) 00138000",
    "+86.13800138000",
    "+861 3800138000",
    "+8 613800138000",
    " +8613800138000",
    "+8613800138000 ",
    "+8613800138000\n",
    "+86 13800138000\r",
    "++8613800138000",
    "+86\t13800138000",
    "+86 ",
    "+86",
    "+１3800138000",
    "+4412345678901234567890123456789012345678901234567890",
};

static void test_parse_good(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        pv_phone p;
        char buf[32];

        assert_int_equal(pv_phone_parse(good[i].in, &p), 0);
        assert_string_equal(p.e164, good[i].e164);
        assert_int_equal(p.cc_len, good[i].cc_len);
        assert_int_equal(pv_phone_format(&p, PV_PHONE_SPACED, buf, sizeof buf),
                         0);
        assert_string_equal(buf, good[i].spaced);
        assert_int_equal(pv_phone_format(&p, PV_PHONE_E164, buf, sizeof buf),
                         0);
        assert_string_equal(buf, good[i].e164);
    }
}

static void test_parse_bad(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        pv_phone p;

        if (pv_phone_parse(bad[i], &p) != -1)
            fail_msg("accepted '%s'", bad[i]);
    }
    assert_int_equal(pv_phone_parse(NULL, &(pv_phone){ 0 }), -1);
    assert_int_equal(pv_phone_parse("+8613800138000", NULL), -1);
}

/* Whether +cc is in the table, seen from outside. */
static int assigned(unsigned cc)
{
    char text[32];
    pv_phone p;

    snprintf(text, sizeof text, "+%u 1234567", cc);
    return pv_phone_parse(text, &p) == 0;
}

static void test_country_table(void **state)
{
    static const unsigned must[] = {
        1,   7,   20,  27,  30,  31,  32,  33,  34,  36,  39,  40,  41,  43,
        44,  45,  46,  47,  48,  49,  51,  52,  53,  54,  55,  56,  57,  58,
        60,  61,  62,  63,  64,  65,  66,  81,  82,  84,  86,  90,  91,  92,
        93,  94,  95,  98,  211, 212, 213, 216, 218, 220, 234, 254, 255, 263,
        269, 290, 291, 297, 298, 299, 350, 351, 359, 370, 375, 380, 381, 382,
        383, 385, 386, 387, 389, 420, 421, 423, 500, 509, 590, 599, 670, 672,
        679, 680, 689, 690, 692, 850, 852, 853, 855, 856, 880, 886, 960, 966,
        968, 970, 971, 977, 992, 995, 998,
    };
    static const unsigned never[] = {
        0,   2,   3,   8,   9,   10,  21,  28,  35,  37,  38,  42,  50,  59,
        67,  80,  83,  85,  87,  88,  89,  96,  97,  99,  210, 214, 259, 280,
        289, 292, 296, 384, 388, 422, 424, 671, 684, 693, 699, 800, 808, 851,
        854, 870, 878, 881, 882, 883, 888, 969, 978, 979, 990, 991, 999,
    };
    unsigned count = 0;

    (void)state;
    for (size_t i = 0; i < sizeof must / sizeof must[0]; i++)
        if (!assigned(must[i]))
            fail_msg("+%u should be assigned", must[i]);
    for (size_t i = 0; i < sizeof never / sizeof never[0]; i++)
        if (assigned(never[i]))
            fail_msg("+%u should not be accepted", never[i]);
    /* Prefix-free, and the unspaced form finds the same code. */
    for (unsigned cc = 1; cc < 1000; cc++) {
        char text[32];
        pv_phone p;

        if (!assigned(cc))
            continue;
        count++;
        if (cc >= 10 && assigned(cc / 10))
            fail_msg("+%u has an assigned prefix +%u", cc, cc / 10);
        if (cc >= 100 && assigned(cc / 100))
            fail_msg("+%u has an assigned prefix +%u", cc, cc / 100);
        snprintf(text, sizeof text, "+%u1234567", cc);
        assert_int_equal(pv_phone_parse(text, &p), 0);
        assert_int_equal(p.cc_len, cc >= 100 ? 3 : cc >= 10 ? 2 : 1);
    }
    assert_true(count > 200 && count < 240);
}

static void test_accessors_and_buffers(void **state)
{
    pv_phone p;
    char small[15];

    (void)state;
    assert_int_equal(pv_phone_parse("+86 13800138000", &p), 0);
    assert_string_equal(pv_phone_national(&p), "13800138000");
    assert_string_equal(pv_phone_digits(&p), "8613800138000");
    /* "+86 13800138000" needs 16 bytes. */
    assert_int_equal(pv_phone_format(&p, PV_PHONE_SPACED, small, sizeof small),
                     -1);
    assert_string_equal(small, "");
    assert_int_equal(pv_phone_format(&p, PV_PHONE_E164, small, sizeof small),
                     0);
    assert_string_equal(small, "+8613800138000");
    assert_int_equal(pv_phone_format(&p, PV_PHONE_E164, small, 14), -1);
}

static void test_mask(void **state)
{
    pv_phone p;
    char buf[32];

    (void)state;
    assert_int_equal(pv_phone_parse("+8613800138000", &p), 0);
    pv_phone_mask(&p, " ", buf, sizeof buf);
    assert_string_equal(buf, "+86 *******8000");
    pv_phone_mask(&p, "", buf, sizeof buf);
    assert_string_equal(buf, "+86*******8000");
    pv_phone_mask(&p, NULL, buf, sizeof buf);
    assert_string_equal(buf, "+86*******8000");

    assert_int_equal(pv_phone_parse("+1 2025550100", &p), 0);
    pv_phone_mask(&p, " ", buf, sizeof buf);
    assert_string_equal(buf, "+1 ******0100");
    assert_int_equal(pv_phone_parse("+971501234567", &p), 0);
    pv_phone_mask(&p, " ", buf, sizeof buf);
    assert_string_equal(buf, "+971 *****4567");
    assert_int_equal(pv_phone_parse("+290 1234", &p), 0);
    pv_phone_mask(&p, " ", buf, sizeof buf);
    assert_string_equal(buf, "+290 1234");

    /* Too small: empty, never a truncated mask. */
    assert_int_equal(pv_phone_parse("+8613800138000", &p), 0);
    memset(buf, 'x', sizeof buf);
    pv_phone_mask(&p, " ", buf, 15);
    assert_string_equal(buf, "");
    pv_phone_mask(&p, " ", buf, 16);
    assert_string_equal(buf, "+86 *******8000");
    pv_phone_mask(&p, " ", buf, 0); /* must not write */
}

static void test_email_valid(void **state)
{
    char longest[256], too_long[257];

    (void)state;
    assert_true(pv_email_valid("a@example.org"));
    assert_true(pv_email_valid("alice.smith+tag@mail.example.co.uk"));
    assert_true(pv_email_valid("x@y"));
    assert_false(pv_email_valid(NULL));
    assert_false(pv_email_valid(""));
    assert_false(pv_email_valid("alice"));
    assert_false(pv_email_valid("@example.org"));
    assert_false(pv_email_valid("alice@"));
    assert_false(pv_email_valid("a@b@example.org"));
    assert_false(pv_email_valid("a b@example.org"));
    assert_false(pv_email_valid("ab@example.org "));
    assert_false(pv_email_valid("a\t@example.org"));
    assert_false(pv_email_valid("a@exa\nmple.org"));
    assert_false(pv_email_valid("a@example.org\x7f"));

    memset(longest, 'a', 254);
    memcpy(longest + 240, "@example.org", 12);
    longest[254] = '\0';
    assert_int_equal(strlen(longest), 254);
    assert_true(pv_email_valid(longest));
    memset(too_long, 'a', 255);
    memcpy(too_long + 240, "@example.org", 12);
    too_long[255] = '\0';
    assert_false(pv_email_valid(too_long));
}

static void test_email_mask(void **state)
{
    char buf[64];

    (void)state;
    pv_email_mask("alice@example.org", buf, sizeof buf);
    assert_string_equal(buf, "a***@example.org");
    pv_email_mask("a@example.org", buf, sizeof buf);
    assert_string_equal(buf, "a***@example.org");
    pv_email_mask("\xc3\xa9t\xc3\xa9@example.org", buf, sizeof buf);
    assert_string_equal(buf, "****@example.org");
    pv_email_mask("nobody", buf, sizeof buf);
    assert_string_equal(buf, "***");
    pv_email_mask(NULL, buf, sizeof buf);
    assert_string_equal(buf, "***");
    pv_email_mask("alice@example.org", buf, 16);
    assert_string_equal(buf, "");
    pv_email_mask("alice@example.org", buf, 17);
    assert_string_equal(buf, "a***@example.org");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_good),
        cmocka_unit_test(test_parse_bad),
        cmocka_unit_test(test_country_table),
        cmocka_unit_test(test_accessors_and_buffers),
        cmocka_unit_test(test_mask),
        cmocka_unit_test(test_email_valid),
        cmocka_unit_test(test_email_mask),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
