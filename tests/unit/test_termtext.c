/* pv_term_escape: text from outside made harmless for the admin's
 * terminal (C0, DEL, C1 raw and UTF-8 encoded, malformed UTF-8). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "cli/pv_termtext.h"

static void check(const char *in, const char *want)
{
    char out[256];

    assert_int_equal(pv_term_escape(out, sizeof(out), in), 0);
    assert_string_equal(out, want);
}

static void test_plain_text_kept(void **state)
{
    (void)state;
    check("", "");
    check("alice Liddell <a@b.example> +86 138",
          "alice Liddell <a@b.example> +86 138");
    check("\xe5\xbc\xa0\xe4\xb8\x89", "\xe5\xbc\xa0\xe4\xb8\x89"); /* 张三 */
    check("caf\xc3\xa9 \xc2\xa0nbsp \xf0\x9f\x93\xb1",
          "caf\xc3\xa9 \xc2\xa0nbsp \xf0\x9f\x93\xb1");
}

static void test_c0_and_del(void **state)
{
    (void)state;
    check("a\x1b[2Jb", "a\\x1b[2Jb");
    check("\r\n\t\a\b\x7f", "\\x0d\\x0a\\x09\\x07\\x08\\x7f");
    check("\x01", "\\x01");
}

static void test_c1(void **state)
{
    (void)state;
    check("x\x9b"
          "2Jy",
          "x\\x9b2Jy"); /* raw 8-bit CSI */
    check("x\xc2\x9b"
          "2Jy",
          "x\\xc2\\x9b2Jy"); /* UTF-8 CSI */
    check("\xc2\x80\xc2\x9f\xc2\x9d", "\\xc2\\x80\\xc2\\x9f\\xc2\\x9d");
    check("\x90\x9c", "\\x90\\x9c"); /* DCS ... ST */
}

static void test_malformed_utf8(void **state)
{
    (void)state;
    check("\xc1\x9b", "\\xc1\\x9b");                   /* overlong ESC-ish */
    check("\xe0\x82\x9b", "\\xe0\\x82\\x9b");          /* overlong C1 */
    check("\xed\xa0\x80", "\\xed\\xa0\\x80");          /* surrogate */
    check("\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80"); /* > U+10FFFF */
    check("\xff\xfe", "\\xff\\xfe");
    check("\xe5\xbc", "\\xe5\\xbc"); /* truncated */
    check("\xc3", "\\xc3");
}

static void test_backslash_cannot_forge(void **state)
{
    (void)state;
    check("\\x1b", "\\\\x1b");
    check("a\\", "a\\\\");
}

static void test_truncation(void **state)
{
    char out[8];

    (void)state;
    assert_int_equal(pv_term_escape(out, sizeof(out), "abcdefgh"), -1);
    assert_string_equal(out, "abcdefg");
    /* an escape is never cut in half */
    assert_int_equal(pv_term_escape(out, sizeof(out), "abcde\x1b"), -1);
    assert_string_equal(out, "abcde");
    assert_int_equal(pv_term_escape(out, sizeof(out), "abcde\xc3\xa9"), 0);
    assert_string_equal(out, "abcde\xc3\xa9");
    assert_int_equal(pv_term_escape(out, sizeof(out), "abcdef\xc3\xa9"), -1);
    assert_string_equal(out, "abcdef");
}

static void test_dup_worst_case(void **state)
{
    char *s;

    (void)state;
    s = pv_term_escape_dup("\x9b\x9b\x1b");
    assert_non_null(s);
    assert_string_equal(s, "\\x9b\\x9b\\x1b");
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_text_kept),
        cmocka_unit_test(test_c0_and_del),
        cmocka_unit_test(test_c1),
        cmocka_unit_test(test_malformed_utf8),
        cmocka_unit_test(test_backslash_cannot_forge),
        cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_dup_worst_case),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
