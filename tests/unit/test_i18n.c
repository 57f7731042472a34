/* test_i18n.c - the catalogue reader (pv_i18n.c): lookups, the checks on
 * hostile files, and the refusal of translations whose printf conversions
 * differ from the original's. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "base/pv_i18n.h"

struct pair {
    const char *orig, *trans;
};

/* A little-endian .mo image of pairs (which must be sorted by orig). */
static unsigned char *make_mo(const struct pair *p, size_t n, size_t *len)
{
    size_t strings = 0, i, off;
    unsigned char *mo;
    uint32_t hdr[7];

    for (i = 0; i < n; i++)
        strings += strlen(p[i].orig) + 1 + strlen(p[i].trans) + 1;
    *len = 28 + n * 16 + strings;
    mo = calloc(1, *len);
    assert_non_null(mo);
    hdr[0] = 0x950412de;
    hdr[1] = 0;
    hdr[2] = (uint32_t)n;
    hdr[3] = 28;
    hdr[4] = (uint32_t)(28 + n * 8);
    hdr[5] = 0;
    hdr[6] = 0;
    memcpy(mo, hdr, sizeof hdr);
    off = 28 + n * 16;
    for (i = 0; i < n; i++) {
        uint32_t e[2];
        size_t lo = strlen(p[i].orig), lt = strlen(p[i].trans);

        e[0] = (uint32_t)lo;
        e[1] = (uint32_t)off;
        memcpy(mo + 28 + i * 8, e, 8);
        memcpy(mo + off, p[i].orig, lo + 1);
        off += lo + 1;
        e[0] = (uint32_t)lt;
        e[1] = (uint32_t)off;
        memcpy(mo + 28 + n * 8 + i * 8, e, 8);
        memcpy(mo + off, p[i].trans, lt + 1);
        off += lt + 1;
    }
    return mo;
}

static const struct pair good[] = {
    { "", "Content-Type: text/plain; charset=UTF-8\n" },
    { "Incorrect code, %ld tries left.", "验证码错误，还可以尝试 %ld 次。" },
    { "Locked %s for %ld s.", "已锁定 %ld 秒 %s。" }, /* order differs */
    { "Too many failed attempts; try again later.",
      "失败次数过多，请稍后再试。" },
    { "Untranslated.", "" },
    { "Verification failed.", "验证失败。" },
    { "With control.", "bad\x1b[2Jtext" },
};

static void test_lookup(void **state)
{
    size_t len;
    unsigned char *mo = make_mo(good, sizeof good / sizeof good[0], &len);
    pv_catalog *c = NULL;
    pv_err err = { "" };

    (void)state;
    assert_int_equal(pv_catalog_parse(mo, len, &c, &err), 0);
    assert_string_equal(pv_tr(c, "Verification failed."), "验证失败。");
    assert_string_equal(pv_tr(c, "Incorrect code, %ld tries left."),
                        "验证码错误，还可以尝试 %ld 次。");
    assert_string_equal(pv_tr(c, "Too many failed attempts; try again "
                                 "later."),
                        "失败次数过多，请稍后再试。");
    /* no entry, empty translation, conversions out of order, control
     * characters: the English original */
    assert_string_equal(pv_tr(c, "Not there."), "Not there.");
    assert_string_equal(pv_tr(c, "Untranslated."), "Untranslated.");
    assert_string_equal(pv_tr(c, "Locked %s for %ld s."),
                        "Locked %s for %ld s.");
    assert_string_equal(pv_tr(c, "With control."), "With control.");
    assert_string_equal(pv_tr(c, ""), "");
    assert_string_equal(pv_tr(NULL, "Verification failed."),
                        "Verification failed.");
    assert_int_equal(pv_catalog_count(c), 3);
    {
        char buf[128];

        pv_trf(c, buf, sizeof buf, "Incorrect code, %ld tries left.", 2L);
        assert_string_equal(buf, "验证码错误，还可以尝试 2 次。");
        pv_trf(c, buf, sizeof buf, "Locked %s for %ld s.", "x", 5L);
        assert_string_equal(buf, "Locked x for 5 s.");
        pv_trf(NULL, buf, sizeof buf, "Incorrect code, %ld tries left.", 1L);
        assert_string_equal(buf, "Incorrect code, 1 tries left.");
    }
    pv_catalog_free(c);
    free(mo);
}

static void expect_refused(const unsigned char *mo, size_t len,
                           const char *needle)
{
    pv_catalog *c = (pv_catalog *)1;
    pv_err err = { "" };

    assert_int_equal(pv_catalog_parse(mo, len, &c, &err), -1);
    assert_null(c);
    if (strstr(err.msg, needle) == NULL)
        fail_msg("error '%s' lacks '%s'", err.msg, needle);
}

static void test_hostile_files(void **state)
{
    size_t len, i;
    unsigned char *mo = make_mo(good, sizeof good / sizeof good[0], &len);
    unsigned char *bad = malloc(len);
    static const struct pair unsorted[] = { { "b", "B" }, { "a", "A" } };
    unsigned char *u;
    size_t ulen;
    uint32_t v;

    (void)state;
    assert_non_null(bad);
    expect_refused(mo, 10, "size");
    memcpy(bad, mo, len);
    bad[0] ^= 1;
    expect_refused(bad, len, "not a .mo file");
    memcpy(bad, mo, len);
    v = 0x00020000; /* major revision 2 */
    memcpy(bad + 4, &v, 4);
    expect_refused(bad, len, "revision");
    memcpy(bad, mo, len);
    v = 0x7fffffff; /* string count */
    memcpy(bad + 8, &v, 4);
    expect_refused(bad, len, "cannot fit");
    memcpy(bad, mo, len);
    v = (uint32_t)len; /* first original's offset: past the end */
    memcpy(bad + 28 + 4, &v, 4);
    expect_refused(bad, len, "outside the file");
    memcpy(bad, mo, len);
    v = 0xffffffff; /* a length that wraps */
    memcpy(bad + 28 + 8, &v, 4);
    expect_refused(bad, len, "outside the file");
    memcpy(bad, mo, len);
    bad[len - 1] = 'x'; /* last string loses its NUL */
    expect_refused(bad, len, "outside the file");
    u = make_mo(unsorted, 2, &ulen);
    expect_refused(u, ulen, "not sorted");
    /* every truncation is refused or parsed, never read past the end */
    for (i = 0; i < len; i++) {
        pv_catalog *c = NULL;
        pv_err err = { "" };

        if (pv_catalog_parse(mo, i, &c, &err) == 0)
            pv_catalog_free(c);
    }
    free(u);
    free(bad);
    free(mo);
}

static void test_language_names(void **state)
{
    (void)state;
    assert_true(pv_language_name_valid("en"));
    assert_true(pv_language_name_valid("zh_CN"));
    assert_true(pv_language_name_valid("sr@latin"));
    assert_false(pv_language_name_valid("../../etc"));
    assert_false(pv_language_name_valid("zh/CN"));
    assert_false(pv_language_name_valid("e"));
    assert_false(pv_language_name_valid("_x"));
    assert_false(pv_language_name_valid(""));
    assert_false(pv_language_name_valid(NULL));
}

/* The shipped zh_CN catalogue (built by make) is complete: every message
 * of po/pam_phoneverify.pot has a usable translation. */
static void test_shipped_catalogue(void **state)
{
    const char *build = getenv("PV_BUILD");
    char dir[4096];
    pv_catalog *c = NULL;
    pv_err err = { "" };

    (void)state;
    if (build == NULL)
        skip();
    snprintf(dir, sizeof dir, "%s/locale", build);
    if (pv_catalog_load(dir, "zh_CN", &c, &err) != 0)
        fail_msg("%s", err.msg);
    assert_non_null(c);
    assert_true(pv_catalog_count(c) > 10);
    pv_catalog_free(c);
    assert_int_equal(pv_catalog_load(dir, "en", &c, &err), 0);
    assert_null(c);
    assert_int_equal(pv_catalog_load(dir, "xx_YY", &c, &err), -1);
    assert_int_equal(pv_catalog_load(dir, "../x", &c, &err), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lookup),
        cmocka_unit_test(test_hostile_files),
        cmocka_unit_test(test_language_names),
        cmocka_unit_test(test_shipped_catalogue),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
