/* Provider response handling on stored sample answers (tests/samples/).
 * Each row: sample file, HTTP status it arrives with, expected result. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "pv_provider.h"
#include "pv_util.h"

#ifndef SAMPLES
#define SAMPLES "tests/samples"
#endif

static char *load(const char *rel, size_t *len)
{
    char path[512];
    FILE *fp;
    char *buf;
    long n;

    snprintf(path, sizeof(path), "%s/%s", SAMPLES, rel);
    fp = fopen(path, "rb");
    assert_non_null(fp);
    assert_int_equal(fseek(fp, 0, SEEK_END), 0);
    n = ftell(fp);
    rewind(fp);
    buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
    buf[n] = '\0';
    fclose(fp);
    *len = (size_t)n;
    return buf;
}

static const struct {
    const char *file;
    long http;
    enum pv_send_result want;
} send_cases[] = {
    { "send/ok.json", 200, PV_SEND_OK },
    { "send/ok_no_is_user.json", 200, PV_SEND_OK },
    { "send/rate_limited.json", 429, PV_SEND_RATE_LIMITED },
    { "send/rate_limited.json", 400, PV_SEND_RATE_LIMITED },
    { "send/captcha.json", 400, PV_SEND_CAPTCHA },
    { "send/user_not_found.json", 404, PV_SEND_USER_NOT_FOUND },
    { "send/invalid_phone.json", 400, PV_SEND_INVALID_NUMBER },
    { "send/contradicting_code.json", 400, PV_SEND_UNAVAILABLE },
    { "send/unknown_error.json", 401, PV_SEND_UNAVAILABLE },
    { "send/rate_limited.json", 500, PV_SEND_UNAVAILABLE },
    { "send/ok.json", 302, PV_SEND_UNAVAILABLE },
    { "send/ok.json", 201, PV_SEND_UNAVAILABLE },
    { "send/ok.json", 404, PV_SEND_UNAVAILABLE },   /* 404 without error */
    { "send/missing_id.json", 200, PV_SEND_UNAVAILABLE },
    { "send/empty_id.json", 200, PV_SEND_UNAVAILABLE },
    { "send/id_with_space.json", 200, PV_SEND_UNAVAILABLE },
    { "send/expires_string.json", 200, PV_SEND_UNAVAILABLE },
    { "send/expires_fraction.json", 200, PV_SEND_UNAVAILABLE },
    { "send/expires_negative.json", 200, PV_SEND_UNAVAILABLE },
    { "send/is_user_string.json", 200, PV_SEND_UNAVAILABLE },
    { "send/wrong_case.json", 200, PV_SEND_UNAVAILABLE },
    { "send/trailing_garbage.json", 200, PV_SEND_UNAVAILABLE },
    { "send/duplicate_key.json", 200, PV_SEND_UNAVAILABLE },
    { "send/array.json", 200, PV_SEND_UNAVAILABLE },
    { "send/truncated.json", 200, PV_SEND_UNAVAILABLE },
    { "send/html.json", 200, PV_SEND_UNAVAILABLE },
    { "send/nul.json", 200, PV_SEND_UNAVAILABLE },
    { "send/escaped_nul.json", 200, PV_SEND_UNAVAILABLE },
    { "send/empty_error.json", 400, PV_SEND_UNAVAILABLE },
};

static void test_send_samples(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(send_cases) / sizeof(send_cases[0]); i++) {
        pv_send_reply r;
        size_t len;
        char *body = load(send_cases[i].file, &len);
        enum pv_send_result got = pv_send_parse(send_cases[i].http, body, len, &r);

        if (got != send_cases[i].want)
            fail_msg("%s (HTTP %ld): got %d, want %d", send_cases[i].file,
                     send_cases[i].http, got, send_cases[i].want);
        free(body);
    }
}

static void test_send_ok_fields(void **state)
{
    pv_send_reply r;
    size_t len;
    char *body = load("send/ok.json", &len);

    (void)state;
    assert_int_equal(pv_send_parse(200, body, len, &r), PV_SEND_OK);
    assert_string_equal(r.id, "eyJhbGciOiJSUzI1NiJ9.abc");
    assert_int_equal(r.expires_in, 600);
    free(body);
}

static void test_send_detail_sanitised(void **state)
{
    const char *body = "{\"error\": \"bad\\nthing x=1\", \"error_code\": 1}";
    pv_send_reply r;

    (void)state;
    assert_int_equal(pv_send_parse(400, body, strlen(body), &r),
                     PV_SEND_UNAVAILABLE);
    assert_null(strchr(r.detail, '\n'));
    assert_null(strchr(r.detail, ' '));
    assert_null(strchr(r.detail, '='));
}

#define ID "1725407449772531712"
static const struct {
    const char *file;
    long http;
    enum pv_verify_result want;
} verify_cases[] = {
    { "verify/ok.json", 200, PV_VERIFY_OK },
    { "verify/wrong.json", 200, PV_VERIFY_WRONG },
    { "verify/verified_string.json", 200, PV_VERIFY_UNAVAILABLE },
    { "verify/verified_number.json", 200, PV_VERIFY_UNAVAILABLE },
    { "verify/other_id.json", 200, PV_VERIFY_UNAVAILABLE },
    { "verify/wrong_case.json", 200, PV_VERIFY_UNAVAILABLE },
    { "verify/expired_3003.json", 400, PV_VERIFY_EXPIRED },
    { "verify/expired_3011.json", 400, PV_VERIFY_EXPIRED },
    { "verify/no_message_4001.json", 400, PV_VERIFY_EXPIRED },
    { "verify/internal_1000.json", 500, PV_VERIFY_UNAVAILABLE },
    { "verify/auth_2001.json", 401, PV_VERIFY_UNAVAILABLE },
    { "verify/auth_2002.json", 401, PV_VERIFY_UNAVAILABLE },
    { "verify/perm_2004.json", 403, PV_VERIFY_UNAVAILABLE },
    { "verify/bad_3001.json", 400, PV_VERIFY_UNAVAILABLE },
    { "verify/bad_3002.json", 400, PV_VERIFY_UNAVAILABLE },
    { "verify/expired_3003.json", 500, PV_VERIFY_UNAVAILABLE },
    { "verify/error_no_message.json", 400, PV_VERIFY_UNAVAILABLE },
    { "verify/ok.json", 302, PV_VERIFY_UNAVAILABLE },
    { "verify/ok.json", 204, PV_VERIFY_UNAVAILABLE },
    { "verify/trailing.json", 200, PV_VERIFY_UNAVAILABLE },
    { "verify/nested.json", 200, PV_VERIFY_UNAVAILABLE },
    { "verify/nul.json", 200, PV_VERIFY_UNAVAILABLE },
    /* cJSON would decode \u0000 and cut the id short: "...712" == "...712" */
    { "verify/escaped_nul_id.json", 200, PV_VERIFY_UNAVAILABLE },
    { "verify/bad_u_escape.json", 200, PV_VERIFY_UNAVAILABLE },
    { "verify/bad_escape.json", 200, PV_VERIFY_UNAVAILABLE },
    { "verify/good_escapes.json", 200, PV_VERIFY_OK },
};

static void test_verify_samples(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(verify_cases) / sizeof(verify_cases[0]); i++) {
        pv_verify_reply r;
        size_t len;
        char *body = load(verify_cases[i].file, &len);
        enum pv_verify_result got =
            pv_verify_parse(verify_cases[i].http, body, len, ID, &r);

        if (got != verify_cases[i].want)
            fail_msg("%s (HTTP %ld): got %d, want %d", verify_cases[i].file,
                     verify_cases[i].http, got, verify_cases[i].want);
        free(body);
    }
}

static void test_send_empty_error_has_detail(void **state)
{
    const char *body = "{\"error\": \"\"}";
    pv_send_reply r;

    (void)state;
    assert_int_equal(pv_send_parse(400, body, strlen(body), &r),
                     PV_SEND_UNAVAILABLE);
    assert_string_not_equal(r.detail, "");
}

static void test_verify_empty_body(void **state)
{
    pv_verify_reply r;

    (void)state;
    assert_int_equal(pv_verify_parse(200, "", 0, ID, &r),
                     PV_VERIFY_UNAVAILABLE);
    assert_int_equal(pv_verify_parse(200, NULL, 0, ID, &r),
                     PV_VERIFY_UNAVAILABLE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_send_samples),
        cmocka_unit_test(test_send_ok_fields),
        cmocka_unit_test(test_send_detail_sanitised),
        cmocka_unit_test(test_send_empty_error_has_detail),
        cmocka_unit_test(test_verify_samples),
        cmocka_unit_test(test_verify_empty_body),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
