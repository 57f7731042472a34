/* The numVerify operator link check (pv_url_link_ok) and the parser that
 * uses it (pv_nv_parse, IDMOBILE step): only https, or http to an exact
 * loopback host, with no userinfo, may be shown or put into a QR code. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "provider/pv_provider.h"
#include "base/pv_url.h"
#include "config/pv_config_values.h"
#include "helper/pv_curl_url.h"
#include "../lib/curl_reads_as.h"

static const char *const good[] = {
    "https://operator.example/verify/abc?x=1",
    "https://operator.example:8443/v",
    "https://OPERATOR.example/v",
    "https://203.0.113.7/v",
    "https://[2001:db8::1]/v",
    "https://x",
    "http://127.0.0.1:8080/operator/abc",
    "http://127.0.0.1/",
    "http://127.255.3.4/x",
    "http://[::1]:9000/operator/x",
    "http://[::1]",
    "https://op-1.example/v",
    "https://op_x.example/v",
    "https://operator.example:65535/v",
    "https://axn--b.example/v", /* "xn--" inside a label is no IDNA */
    "https://x-n--b.example/v",
    "https://operator.example/v?a=b&c=d/e",
};

static const char *const hostile[] = {
    /* the reported bypasses of the old prefix test */
    "http://127.0.0.1.evil.example/operator/x",
    "http://127.0.0.1@evil.example/operator/x",
    "http://127.0.0.1:80@evil.example/",
    "http://127.0.0.1:pw@evil.example/",
    /* userinfo, even on https */
    "https://user@operator.example/",
    "https://user:pw@operator.example/",
    "https://:pw@operator.example/",
    "https://@operator.example/",
    "https://operator.example;login=x@y/",
    /* plain http anywhere else */
    "http://evil.example/",
    "http://localhost/",
    "http://localhost:8080/",
    "http://10.0.0.1/",
    "http://128.0.0.1/",
    "http://[::2]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[0:0:0:0:0:0:0:1]/",
    /* numeric forms a browser reads as loopback but that are not a
     * plain dotted quad (and parsers disagree about) */
    "http://2130706433/",
    "http://0x7f.0.0.1/",
    "http://0177.0.0.1/",
    "http://127.1/",
    "http://127.0.1/",
    "http://127.000.0.1/",
    "http://127.0.0.01/",
    "http://127.0.0.256/",
    "http://127.0.0.1./",
    /* odd encodings and separators */
    "http://127.0.0.1%2eevil.example/",
    "http://127%2e0.0.1/",
    "https://evil%2eexample/",
    "http://127.0.0.1\\@evil.example/",
    "https://operator.example\\@evil/",
    "http://[::1%25lo]/",
    "https://[fe80::1%25eth0]/",
    "http:/127.0.0.1/",
    "http:127.0.0.1/",
    "http:///127.0.0.1/",
    "https:///x",
    "https://",
    "https://:443/",
    "HTTP://127.0.0.1/",
    /* authorities a browser may read otherwise, or that are not one */
    "https://operator.example:/v",
    "https://operator.example:08443/v",
    "https://operator.example:0/v",
    "https://operator.example:65536/v",
    "https://operator.example:8443:1/v",
    "https://operator.example:+443/v",
    "https://operator.example./v",
    "https://op..example/v",
    "https://.operator.example/v",
    "https://-op.example/v",
    "https://op-.example/v",
    "https://op!.example/v",
    "https://example.0x7f/v",
    "https://example.127/v",
    "https://1.2.3/v",
    "https://[2001:DB8::1]/v",
    "https://[2001:db8:0:0:0:0:0:1]/v",
    "https://[2001:db8::1/v",
    "https://[2001:db8::1]x/v",
    "https://[]/v",
    "https://[127.0.0.1]/v",
    "https://[::ffff:7f00:1]/v",    /* glibc and browsers write these */
    "https://[::ffff:127.0.0.1]/v", /* two differently: neither is taken */
    "https://"
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
    "example/",
    "Https://operator.example/",
    " https://operator.example/",
    "https://operator.example/ x",
    "https://operator.example/\tx",
    "https://operator.example/\x1b[2J",
    "https://operator.example/\xc2\x9b"
    "2J",
    "https://op\xc3\xa9rator.example/",
    /* '@' or '#' anywhere: the host a reader (or a browser that drops the
     * fragment, or a user reading "...@operator.example.com") takes from
     * the text is not the one the link opens (issue 17, item 10) */
    "https://evil.example#@operator.example.com",
    "https://evil.example/@operator.example.com",
    "https://evil.example?@operator.example.com",
    "https://evil.example/x#y",
    "https://evil.example/?to=a@operator.example.com",
    "https://operator.example/#",
    "https://operator.example/@",
    "http://127.0.0.1:8080/#@operator.example.com",
    /* IDNA (punycode) labels, any case, anywhere in the host: a browser
     * shows them as look-alike Unicode */
    "https://xn--bcher-kva.example/",
    "https://XN--80ak6aa92e.com/",
    "https://Xn--80ak6aa92e.com/",
    "https://xN--80ak6aa92e.com/",
    "https://login.xn--80ak6aa92e.com/",
    "https://operator.xn--p1ai/",
    "https://xn--/v",
    /* other schemes */
    "javascript:alert(1)",
    "ftp://operator.example/",
    "file:///etc/passwd",
    "httpx://127.0.0.1/",
    "data:text/html,hi",
    "",
};

static void test_good_links(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        if (!pv_url_link_ok(good[i], PV_NV_URL_MAX))
            fail_msg("refused: %s", good[i]);
        /* SPEC 5's reference reading agrees (curl_reads_as.h) */
        if (!curl_reads_as_link(good[i]))
            fail_msg("libcurl reads otherwise: %s", good[i]);
    }
}

static void test_hostile_links(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
        if (pv_url_link_ok(hostile[i], PV_NV_URL_MAX))
            fail_msg("accepted: %s", hostile[i]);
    }
    assert_false(pv_url_link_ok(NULL, PV_NV_URL_MAX));
}

static void test_length_limit(void **state)
{
    char url[PV_NV_URL_MAX + 2];
    size_t n;

    (void)state;
    strcpy(url, "https://operator.example/");
    n = strlen(url);
    memset(url + n, 'a', sizeof(url) - 1 - n);
    url[PV_NV_URL_MAX] = '\0'; /* exactly the limit */
    assert_true(pv_url_link_ok(url, PV_NV_URL_MAX));
    url[PV_NV_URL_MAX] = 'a';
    url[PV_NV_URL_MAX + 1] = '\0'; /* one more */
    assert_false(pv_url_link_ok(url, PV_NV_URL_MAX));
}

/* IDMOBILE answers as the provider sends them: a hostile link is an
 * unusable answer (no link to show), a good one is passed on as it is. */
static enum pv_nv_result start_answer(const char *url, pv_nv_reply *rep)
{
    char body[2048];

    snprintf(body, sizeof(body),
             "{\"status\": \"success\", \"operator\": "
             "\"SFR\", \"url\": \"%s\"}",
             url);
    return pv_nv_parse(PV_NV_STEP_START, 200, body, strlen(body), rep);
}

static void test_parser_uses_link_check(void **state)
{
    pv_nv_reply rep;

    (void)state;
    assert_int_equal(start_answer("http://127.0.0.1:8080/operator/abc", &rep),
                     PV_NV_OK);
    assert_string_equal(rep.url, "http://127.0.0.1:8080/operator/abc");
    assert_int_equal(start_answer("http://127.0.0.1.evil.example/op", &rep),
                     PV_NV_UNAVAILABLE);
    assert_string_equal(rep.url, "");
    assert_int_equal(start_answer("http://127.0.0.1@evil.example/op", &rep),
                     PV_NV_UNAVAILABLE);
    assert_string_equal(rep.url, "");
    assert_int_equal(start_answer("https://user@operator.example/", &rep),
                     PV_NV_UNAVAILABLE);
    assert_string_equal(rep.url, "");
    assert_int_equal(
        start_answer("https://evil.example#@operator.example.com", &rep),
        PV_NV_UNAVAILABLE);
    assert_string_equal(rep.url, "");
    assert_int_equal(start_answer("https://xn--80ak6aa92e.com/", &rep),
                     PV_NV_UNAVAILABLE);
    assert_string_equal(rep.url, "");
}

/* numverify_link_hosts: exact names and "*.domain" (one or more labels
 * under domain, not domain itself), case-insensitive, port ignored. */
static void test_host_list(void **state)
{
    static const char hosts[] = "operator.example.com  *.op.example.net\t"
                                "127.0.0.1 [::1]";
    static const char *const listed[] = {
        "https://operator.example.com/v",
        "https://OPERATOR.Example.COM:8443/v",
        "https://a.op.example.net/v",
        "https://a.b.OP.example.net/v",
        "http://127.0.0.1:9/operator/x",
        "http://[::1]:9/operator/x",
    };
    static const char *const unlisted[] = {
        "https://evil.example/v",
        "https://operator.example.com.evil.example/v",
        "https://xoperator.example.com/v",
        "https://a.operator.example.com/v",
        "https://operator.example.co/v",
        "https://op.example.net/v", /* the wildcard's own domain */
        "https://aop.example.net/v",
        "https://op.example.net.evil/v",
        "https://127.0.0.2/v",
        "http://127.0.0.2:9/v",
        "https://[2001:db8::1]/v",
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(listed) / sizeof(listed[0]); i++)
        if (!pv_url_host_listed(listed[i], PV_NV_URL_MAX, hosts))
            fail_msg("not listed: %s", listed[i]);
    for (i = 0; i < sizeof(unlisted) / sizeof(unlisted[0]); i++)
        if (pv_url_host_listed(unlisted[i], PV_NV_URL_MAX, hosts))
            fail_msg("listed: %s", unlisted[i]);
    /* no list (or an empty one): every link the grammar takes */
    assert_true(
        pv_url_host_listed("https://evil.example/v", PV_NV_URL_MAX, NULL));
    assert_true(
        pv_url_host_listed("https://evil.example/v", PV_NV_URL_MAX, ""));
    assert_true(
        pv_url_host_listed("https://evil.example/v", PV_NV_URL_MAX, " \t "));
    /* a list never makes a link the grammar refuses good */
    assert_false(pv_url_host_listed(
        "https://evil.example#@operator.example.com", PV_NV_URL_MAX, hosts));
    assert_false(pv_url_host_listed(NULL, PV_NV_URL_MAX, hosts));
}

/* What numverify_link_hosts may list (checked when the configuration is
 * read, pv_config_values.c). */
static void test_host_patterns(void **state)
{
    static const char *const ok[] = {
        "operator.example.com",
        "OPERATOR.example.com",
        "*.example.com",
        "*.a.example.com",
        "x",
        "127.0.0.1",
        "[::1]",
        "[2001:db8::1]",
        "op_x.example",
    };
    static const char *const bad[] = {
        "",
        "*",
        "*.",
        "*.com", /* every name under a top-level domain */
        "**.example.com",
        "*example.com",
        "a.*.example.com",
        "example.*",
        ".example.com",
        "example.com.",
        "example..com",
        "-x.example.com",
        "https://operator.example.com",
        "operator.example.com:443",
        "operator.example.com/",
        "user@operator.example.com",
        "xn--80ak6aa92e.com", /* never shown: would never match */
        "*.XN--p1ai.example",
        "example.127",
        "127.1",
        "[::ffff:127.0.0.1]",
        "[2001:DB8::1]",
        "op%2eexample.com",
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        if (!pv_url_host_pattern_ok(ok[i], strlen(ok[i])))
            fail_msg("refused: %s", ok[i]);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (pv_url_host_pattern_ok(bad[i], strlen(bad[i])))
            fail_msg("accepted: %s", bad[i]);
}

/* ---- one loopback rule, three checks in order ------------------------ */

/* Each host spelling as http://HOST/ through the three checks, from the
 * most trusted text to the least: the configuration (pv_cfgval_url), the
 * helper's last check on what libcurl parsed (pv_curl_url_checked), the
 * operator link (pv_url_link_ok).  Expected: 1 taken, 0 refused, -1 either
 * (how libcurl rewrites the text differs between its versions). */
static const struct loopback_row {
    const char *host;
    int config, helper, link;
} loopback_rows[] = {
    { "127.0.0.1", 1, 1, 1 },
    { "127.0.0.1:8080", 1, 1, 1 },
    { "127.1.2.3", 1, 1, 1 },
    { "127.255.255.254", 1, 1, 1 },
    { "[::1]", 1, 1, 1 },
    { "[::1]:8080", 1, 1, 1 },
    /* ::1 spelled otherwise: configuration text only */
    { "[0:0:0:0:0:0:0:1]", 1, -1, 0 },
    { "[::0001]", 1, -1, 0 },
    { "[0::1]", 1, -1, 0 },
    /* names: never, a name can resolve anywhere */
    { "localhost", 0, 0, 0 },
    { "LOCALHOST", 0, 0, 0 },
    { "localhost:8080", 0, 0, 0 },
    { "localhost.", 0, 0, 0 },
    { "localhost.localdomain", 0, 0, 0 },
    { "127.0.0.1.nip.io", 0, 0, 0 },
    { "loopback", 0, 0, 0 },
    /* numeric forms libcurl rewrites into a dotted quad */
    { "127.1", 0, 0, 0 },
    { "127.0.1", 0, 0, 0 },
    { "0x7f.0.0.1", 0, 0, 0 },
    { "0x7f000001", 0, 0, 0 },
    { "2130706433", 0, 0, 0 },
    { "017700000001", 0, 0, 0 },
    { "0177.0.0.1", 0, 0, 0 },
    { "127.000.0.1", 0, 0, 0 },
    { "127.0.0.01", 0, 0, 0 },
    { "127.0.0.1.", 0, 0, 0 },
    /* userinfo: where the host starts is in doubt */
    { "127.0.0.1@evil.example", 0, 0, 0 },
    { "evil.example@127.0.0.1", 0, 0, 0 },
    { "x:y@127.0.0.1", 0, 0, 0 },
    { "127.0.0.1:80@evil.example", 0, 0, 0 },
    { "127.0.0.1\\@evil.example", 0, 0, 0 },
    { "127.0.0.1%2f@evil.example", 0, 0, 0 },
    /* not loopback */
    { "128.0.0.1", 0, 0, 0 },
    { "10.0.0.1", 0, 0, 0 },
    { "0.0.0.0", 0, 0, 0 },
    { "[::]", 0, 0, 0 },
    { "[::2]", 0, 0, 0 },
    { "[::ffff:127.0.0.1]", 0, 0, 0 },
    { "[::ffff:7f00:1]", 0, 0, 0 },
    { "[::1%25lo]", 0, 0, 0 },
    { "[::127.0.0.1]", 0, 0, 0 },
    { "evil.example", 0, 0, 0 },
};

static int helper_takes(const char *url)
{
    CURLU *u = pv_curl_url_checked(url);

    curl_url_cleanup(u);
    return u != NULL;
}

static void test_loopback_order(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(loopback_rows) / sizeof(loopback_rows[0]); i++) {
        const struct loopback_row *r = &loopback_rows[i];
        char url[128];
        pv_err why = { 0 };
        int config, helper, link;

        snprintf(url, sizeof(url), "http://%s/", r->host);
        config = pv_cfgval_url("send_url", url, &why) == 0;
        helper = helper_takes(url);
        link = pv_url_link_ok(url, 512);
        /* never accept in a later check what an earlier one refuses */
        if (helper && !config)
            fail_msg("%s: the helper takes what the configuration refuses",
                     url);
        if (link && (!helper || !config))
            fail_msg("%s: the link check is not the strictest", url);
        if (config != r->config || (r->helper >= 0 && helper != r->helper) ||
            link != r->link)
            fail_msg("%s: config %d helper %d link %d", url, config, helper,
                     link);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_links),
        cmocka_unit_test(test_hostile_links),
        cmocka_unit_test(test_length_limit),
        cmocka_unit_test(test_parser_uses_link_check),
        cmocka_unit_test(test_host_list),
        cmocka_unit_test(test_host_patterns),
        cmocka_unit_test(test_loopback_order),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
