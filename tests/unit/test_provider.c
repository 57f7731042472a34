/* Provider response handling on stored sample answers (tests/samples/).
 * Each row: sample file, HTTP status it arrives with, expected result. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "provider/pv_provider.h"
#include "base/pv_util.h"

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
    { "send/ok.json", 404, PV_SEND_UNAVAILABLE }, /* 404 without error */
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
        enum pv_send_result got =
            pv_send_parse(send_cases[i].http, body, len, &r);

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

/* ---- failure classes (SPEC 4: only an outage may open) ------------------ */

static const struct {
    const char *file;
    long http;
    enum pv_failure want;
} send_failures[] = {
    { "send/ok.json", 500, PV_FAILURE_OUTAGE },
    { "send/ok.json", 503, PV_FAILURE_OUTAGE },
    { "send/truncated.json", 200, PV_FAILURE_OUTAGE },
    { "send/missing_id.json", 200, PV_FAILURE_OUTAGE },
    { "send/unknown_error.json", 401, PV_FAILURE_CREDENTIALS },
    { "send/rate_limited.json", 403, PV_FAILURE_CREDENTIALS },
    { "send/unknown_error.json", 400, PV_FAILURE_REJECTED },
    { "send/ok.json", 302, PV_FAILURE_REJECTED },
    { "send/contradicting_code.json", 400, PV_FAILURE_REJECTED },
};

static void test_send_failure_classes(void **state)
{
    size_t i, len;

    (void)state;
    for (i = 0; i < sizeof(send_failures) / sizeof(send_failures[0]); i++) {
        char *body = load(send_failures[i].file, &len);
        pv_send_reply r;

        assert_int_equal(pv_send_parse(send_failures[i].http, body, len, &r),
                         PV_SEND_UNAVAILABLE);
        if (r.failure != send_failures[i].want)
            fail_msg("%s at %ld: class %d, want %d", send_failures[i].file,
                     send_failures[i].http, (int)r.failure,
                     (int)send_failures[i].want);
        free(body);
    }
}

static const struct {
    const char *file;
    long http;
    enum pv_failure want;
} verify_failures[] = {
    { "verify/internal_1000.json", 500, PV_FAILURE_OUTAGE },
    { "verify/trailing.json", 200, PV_FAILURE_OUTAGE },
    { "verify/auth_2001.json", 401, PV_FAILURE_CREDENTIALS },
    { "verify/auth_2002.json", 401, PV_FAILURE_CREDENTIALS },
    { "verify/perm_2004.json", 403, PV_FAILURE_CREDENTIALS },
    { "verify/bad_3001.json", 400, PV_FAILURE_REJECTED },
    { "verify/ok.json", 302, PV_FAILURE_REJECTED },
};

static void test_verify_failure_classes(void **state)
{
    size_t i, len;

    (void)state;
    for (i = 0; i < sizeof(verify_failures) / sizeof(verify_failures[0]);
         i++) {
        char *body = load(verify_failures[i].file, &len);
        pv_verify_reply r;

        assert_int_equal(
            pv_verify_parse(verify_failures[i].http, body, len, "m-1", &r),
            PV_VERIFY_UNAVAILABLE);
        if (r.failure != verify_failures[i].want)
            fail_msg("%s at %ld: class %d, want %d", verify_failures[i].file,
                     verify_failures[i].http, (int)r.failure,
                     (int)verify_failures[i].want);
        free(body);
    }
}

static void expect_precheck(long http, const char *body, enum pv_failure want)
{
    pv_precheck_reply r;

    assert_int_equal(pv_precheck_parse(http, body, strlen(body), &r),
                     PV_PRECHECK_UNAVAILABLE);
    if (r.failure != want)
        fail_msg("precheck %ld %s: class %d, want %d", http, body,
                 (int)r.failure, (int)want);
}

static void test_precheck_failure_classes(void **state)
{
    (void)state;
    expect_precheck(200, "{\"result\": \"-6\"}", PV_FAILURE_USER);
    expect_precheck(200, "{\"result\": -2}", PV_FAILURE_OUTAGE);
    expect_precheck(200, "{\"result\": \"-3\"}", PV_FAILURE_OUTAGE);
    expect_precheck(200, "{\"result\": ", PV_FAILURE_OUTAGE);
    expect_precheck(429, "{}", PV_FAILURE_USER);
    expect_precheck(401, "{}", PV_FAILURE_CREDENTIALS);
    expect_precheck(400,
                    "{\"success\": false, \"error\": {\"code\": "
                    "\"token_mismatched\", \"message\": \"x\"}}",
                    PV_FAILURE_CREDENTIALS);
    expect_precheck(400,
                    "{\"success\": false, \"error\": {\"code\": "
                    "\"api_not_implemented\", \"message\": \"x\"}}",
                    PV_FAILURE_REJECTED);
    expect_precheck(500, "{}", PV_FAILURE_OUTAGE);
}

static void expect_nv(enum pv_nv_step step, long http, const char *body,
                      enum pv_nv_result res, enum pv_failure want)
{
    pv_nv_reply r;

    assert_int_equal(pv_nv_parse(step, http, body, strlen(body), &r), res);
    if (r.failure != want)
        fail_msg("numverify %ld %s: class %d, want %d", http, body,
                 (int)r.failure, (int)want);
}

static void test_nv_failure_classes(void **state)
{
    (void)state;
    expect_nv(PV_NV_STEP_AUTH, 200,
              "{\"status\": \"error\", "
              "\"error_id\": \"02\"}",
              PV_NV_UNAVAILABLE, PV_FAILURE_CREDENTIALS);
    expect_nv(PV_NV_STEP_RESULT, 200,
              "{\"status\": \"error\", "
              "\"error_id\": \"30\"}",
              PV_NV_UNAVAILABLE, PV_FAILURE_USER);
    expect_nv(PV_NV_STEP_RESULT, 200,
              "{\"status\": \"error\", "
              "\"error_id\": \"99\"}",
              PV_NV_UNAVAILABLE, PV_FAILURE_OUTAGE);
    expect_nv(PV_NV_STEP_START, 200,
              "{\"status\": \"error\", "
              "\"error_id\": \"01\"}",
              PV_NV_UNAVAILABLE, PV_FAILURE_REJECTED);
    expect_nv(PV_NV_STEP_RESULT, 500, "{}", PV_NV_UNAVAILABLE,
              PV_FAILURE_OUTAGE);
    expect_nv(PV_NV_STEP_RESULT, 200, "not json", PV_NV_UNAVAILABLE,
              PV_FAILURE_OUTAGE);
    expect_nv(PV_NV_STEP_RESULT, 200,
              "{\"status\": \"success\", \"scope\":"
              " \"numVerify\", \"numVerify\": true}",
              PV_NV_VERIFIED, PV_FAILURE_NONE);
}

/* The helper's curl results are the network; anything else is ours. */
static void test_transport_failure_classes(void **state)
{
    (void)state;
    assert_int_equal(pv_provider_transport_failure(PV_HTTP_E_CONNECT),
                     PV_FAILURE_OUTAGE);
    assert_int_equal(pv_provider_transport_failure(PV_HTTP_E_TIMEOUT),
                     PV_FAILURE_OUTAGE);
    assert_int_equal(pv_provider_transport_failure(PV_HTTP_E_TLS),
                     PV_FAILURE_OUTAGE);
    assert_int_equal(pv_provider_transport_failure(PV_HTTP_E_TOOBIG),
                     PV_FAILURE_OUTAGE);
    assert_int_equal(pv_provider_transport_failure(PV_HTTP_E_OTHER),
                     PV_FAILURE_OUTAGE);
    assert_int_equal(pv_provider_transport_failure(PV_HTTP_E_URL),
                     PV_FAILURE_CONFIG);
    assert_int_equal(pv_provider_transport_failure(PV_HTTP_E_HELPER),
                     PV_FAILURE_LOCAL);
    assert_int_equal(pv_provider_transport_failure((enum pv_http_status)99),
                     PV_FAILURE_LOCAL);
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
        cmocka_unit_test(test_send_failure_classes),
        cmocka_unit_test(test_verify_failure_classes),
        cmocka_unit_test(test_precheck_failure_classes),
        cmocka_unit_test(test_nv_failure_classes),
        cmocka_unit_test(test_transport_failure_classes),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
