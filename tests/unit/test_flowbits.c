/* Pieces of the flow that are pure: code entry normalisation, the log
 * record, and small utilities. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <cmocka.h>
#include "base/pv_base64.h"
#include "flow/pv_flow.h"
#include "flow/pv_flow_priv.h"
#include "base/pv_log.h"
#include "base/pv_util.h"

static void test_code_normalize(void **state)
{
    char out[PV_CODE_MAX + 1];

    (void)state;
    assert_int_equal(pv_code_normalize("123456", 6, out, sizeof(out)), 1);
    assert_string_equal(out, "123456");
    assert_int_equal(pv_code_normalize("123 456", 6, out, sizeof(out)), 1);
    assert_string_equal(out, "123456");
    assert_int_equal(pv_code_normalize(" 12-34-56 ", 6, out, sizeof(out)), 1);
    assert_string_equal(out, "123456");
    /* empty entries ask for a resend */
    assert_int_equal(pv_code_normalize("", 6, out, sizeof(out)), -1);
    assert_int_equal(pv_code_normalize("  - ", 6, out, sizeof(out)), -1);
    assert_int_equal(pv_code_normalize(NULL, 6, out, sizeof(out)), -1);
    /* anything else is a wrong entry */
    assert_int_equal(pv_code_normalize("12345a", 6, out, sizeof(out)), 0);
    assert_int_equal(pv_code_normalize("12345", 6, out, sizeof(out)), 0);
    assert_int_equal(pv_code_normalize("1234567", 6, out, sizeof(out)), 0);
    assert_int_equal(pv_code_normalize("123456\n", 6, out, sizeof(out)), 0);
    assert_int_equal(pv_code_normalize("１２３４５６", 6, out, sizeof(out)),
                     0);
    assert_int_equal(pv_code_normalize("%n%n%n", 6, out, sizeof(out)), 0);
    assert_string_equal(out, "");
}

static void test_code_normalize_huge(void **state)
{
    size_t n = 1024 * 1024;
    char *big = malloc(n + 1);
    char out[PV_CODE_MAX + 1];

    (void)state;
    assert_non_null(big);
    memset(big, '1', n);
    big[n] = '\0';
    assert_int_equal(pv_code_normalize(big, 6, out, sizeof(out)), 0);
    /* 17 characters of spaces around a valid code: over the bound */
    assert_int_equal(
        pv_code_normalize("      123456     ", 6, out, sizeof(out)), 0);
    free(big);
}

static void test_log_record(void **state)
{
    pv_login login = { "alice", "sshd", "203.0.113.9", NULL, NULL, NULL };
    pv_outcome out;
    char buf[1024];

    (void)state;
    memset(&out, 0, sizeof(out));
    out.result = PV_RESULT_SUCCESS;
    pv_outcome_set_method(&out, PV_METHOD_SMS);
    out.to_kind = "phone";
    strcpy(out.to_masked, "+86*******8000");
    strcpy(out.id, "abc");
    strcpy(out.reason, "verified");
    out.tries = 1;
    out.sends = 1;
    out.precheck_charged = -1;
    out.elapsed_ms = 1840;
    pv_outcome_format(&login, &out, "PAM_SUCCESS", buf, sizeof(buf));
    assert_string_equal(buf,
                        "user=alice service=sshd rhost=203.0.113.9 method=sms "
                        "phone=+86*******8000 outcome=success pam=PAM_SUCCESS "
                        "reason=verified id=abc tries=1 sends=1 ms=1840");
}

static void test_log_record_hostile(void **state)
{
    pv_login login = {
        "eve\nuser=root outcome=success", NULL, NULL, NULL, NULL, NULL
    };
    pv_outcome out;
    char buf[1024];

    (void)state;
    pv_outcome_init(&out);
    out.precheck_charged = 1;
    pv_outcome_format(&login, &out, "PAM_AUTH_ERR", buf, sizeof(buf));
    assert_null(strchr(buf, '\n'));
    assert_null(strstr(buf, " user=root"));
    assert_non_null(strstr(buf, "service=- rhost=-"));
    assert_non_null(strstr(buf, "precheck_charged=1"));
}

/* The resolved pw_name is what the record names, not the typed name. */
static void test_log_record_canonical_user(void **state)
{
    pv_login login = { "ALICE", "sshd", NULL, NULL, NULL, NULL };
    pv_outcome out;
    char buf[1024];

    (void)state;
    memset(&out, 0, sizeof(out));
    out.result = PV_RESULT_DENIED;
    out.precheck_charged = -1;
    pv_strlcpy(out.user, "alice", sizeof(out.user));
    pv_outcome_format(&login, &out, "PAM_AUTH_ERR", buf, sizeof(buf));
    assert_int_equal(strncmp(buf, "user=alice ", 11), 0);
    out.user[0] = '\0'; /* not resolved: the typed name */
    pv_outcome_format(&login, &out, "PAM_AUTH_ERR", buf, sizeof(buf));
    assert_int_equal(strncmp(buf, "user=ALICE ", 11), 0);
}

/* pv_log knows no flow type: a plain record formats on its own. */
static void test_log_record_plain(void **state)
{
    pv_log_record rec;
    char buf[256];

    (void)state;
    memset(&rec, 0, sizeof(rec));
    rec.user = "bob";
    rec.outcome = "denied";
    rec.pam = "PAM_AUTH_ERR";
    rec.precheck_charged = -1;
    pv_log_format_outcome(&rec, buf, sizeof(buf));
    assert_string_equal(buf, "user=bob service=- rhost=- method=- to=- "
                             "outcome=denied pam=PAM_AUTH_ERR reason=- id=- "
                             "tries=0 sends=0 ms=0");
}

/* Rejected credentials are logged at LOG_ERR like a configuration error.
 * The failure class decides, never the reason text (a provider's detail
 * may read "provider_credentials"). */
static void test_outcome_priority(void **state)
{
    pv_outcome out;

    (void)state;
    pv_outcome_init(&out);
    out.result = PV_RESULT_UNAVAILABLE;
    out.failure = PV_FAILURE_CREDENTIALS;
    pv_strlcpy(out.reason, "provider_credentials", sizeof(out.reason));
    assert_int_equal(pv_outcome_priority(&out), LOG_ERR);
    out.failure = PV_FAILURE_OUTAGE;
    assert_int_equal(pv_outcome_priority(&out), LOG_WARNING);
    pv_strlcpy(out.reason, "http_500", sizeof(out.reason));
    assert_int_equal(pv_outcome_priority(&out), LOG_WARNING);
    out.result = PV_RESULT_FAILOPEN;
    assert_int_equal(pv_outcome_priority(&out), LOG_WARNING);
    out.result = PV_RESULT_CONFIG_ERROR;
    assert_int_equal(pv_outcome_priority(&out), LOG_ERR);
    out.result = PV_RESULT_SUCCESS;
    assert_int_equal(pv_outcome_priority(&out), LOG_NOTICE);
}

static void test_base64(void **state)
{
    char out[64];

    (void)state;
    assert_int_equal(pv_base64((const unsigned char *)"jiguangdev:dev_secret",
                               21, out, sizeof(out)),
                     0);
    assert_string_equal(out, "amlndWFuZ2RldjpkZXZfc2VjcmV0");
    assert_int_equal(
        pv_base64((const unsigned char *)"a", 1, out, sizeof(out)), 0);
    assert_string_equal(out, "YQ==");
    assert_int_equal(
        pv_base64((const unsigned char *)"ab", 2, out, sizeof(out)), 0);
    assert_string_equal(out, "YWI=");
    assert_int_equal(pv_base64((const unsigned char *)"abc", 3, out, 4), -1);
}

static void test_parse_long(void **state)
{
    long v;

    (void)state;
    assert_int_equal(pv_parse_long("10", 1, 300, &v), 0);
    assert_int_equal(v, 10);
    assert_int_equal(pv_parse_long(" 10", 1, 300, &v), -1);
    assert_int_equal(pv_parse_long("+10", 1, 300, &v), -1);
    assert_int_equal(pv_parse_long("10s", 1, 300, &v), -1);
    assert_int_equal(pv_parse_long("301", 1, 300, &v), -1);
    assert_int_equal(pv_parse_long("-1", 1, 300, &v), -1);
    assert_int_equal(pv_parse_long("-1", -6, 1, &v), 0);
    assert_int_equal(pv_parse_long("99999999999999999999", 0, 10, &v), -1);
}

static void test_strlcpy_sanitize(void **state)
{
    char small[4], out[32];

    (void)state;
    assert_int_equal(pv_strlcpy(small, "abc", sizeof(small)), 0);
    assert_int_equal(pv_strlcpy(small, "abcd", sizeof(small)), -1);
    assert_string_equal(small, "abc");
    pv_sanitize(out, sizeof(out), "a b=c\"d\x01\xc3\xa9");
    assert_string_equal(out, "a_b_c_d???");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_code_normalize),
        cmocka_unit_test(test_code_normalize_huge),
        cmocka_unit_test(test_log_record),
        cmocka_unit_test(test_log_record_hostile),
        cmocka_unit_test(test_log_record_canonical_user),
        cmocka_unit_test(test_log_record_plain),
        cmocka_unit_test(test_outcome_priority),
        cmocka_unit_test(test_base64),
        cmocka_unit_test(test_parse_long),
        cmocka_unit_test(test_strlcpy_sanitize),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
