/* fuzz_numverify.c - libFuzzer harness for pv_nv_parse(), the classifier
 * of DQE numVerify answers (SPEC 2.4): session token, step 1 (IDMOBILE),
 * step 2 (GET).
 *
 * Input layout: byte 0 selects the HTTP status, (byte % 6) indexes
 * {200, 400, 401, 404, 429, 500}; byte 1 selects the step, (byte % 3):
 * 0 AUTH, 1 START (IDMOBILE), 2 RESULT (GET) - so a seed "01{...}" is a
 * 200 answer to step 1; the rest is the response body.
 *
 * Properties checked besides memory safety:
 *  - the result is one of the documented enum values; only a 200 can
 *    yield anything but UNAVAILABLE;
 *  - OK only for AUTH (then a token: printable ASCII, no space, 1..512
 *    bytes) and START (then a link that is https:// or http:// to
 *    loopback, printable, and an operator name safe for a log line);
 *    PENDING and VERIFIED only for RESULT;
 *  - VERIFIED only when the body really says "numVerify": true;
 *  - every string in the reply is NUL-terminated; detail is printable
 *    ASCII without space, quote, '='. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/pv_json.h"
#include "provider/pv_provider.h"

#define FUZZ_NAME "fuzz_numverify"
#include "fuzz_provider.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* NUL-terminated within size; printable ASCII; optionally no space and
 * none of the characters that would break a key=value log line. */
static void check_text(const char *s, size_t size, int allow_empty,
                       int log_safe)
{
    size_t i, n;

    if (memchr(s, '\0', size) == NULL)
        fail("string not terminated");
    n = strlen(s);
    if (n == 0 && !allow_empty)
        fail("empty string");
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c <= 0x20 || c >= 0x7f)
            fail("space, control or non-ASCII byte");
        if (log_safe && strchr("\"'=\\", c) != NULL)
            fail("string would break a key=value log line");
    }
}

static void check_link(const char *url)
{
    if (strncmp(url, "https://", 8) == 0 && url[8] != '\0')
        return;
    if (strncmp(url, "http://127.", 11) == 0 ||
        strncmp(url, "http://localhost/", 17) == 0 ||
        strncmp(url, "http://localhost:", 17) == 0 ||
        strncmp(url, "http://[::1]", 12) == 0)
        return;
    fail("operator link is neither https nor http to loopback");
}

static void check_verified(const char *body, size_t len)
{
    cJSON *root = pv_json_parse_object(body, len);
    int v = 0;

    if (root == NULL || pv_json_bool(root, "numVerify", &v) != 0 || v != 1)
        fail("VERIFIED without \"numVerify\": true");
    pv_json_free(root);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pv_nv_reply *out;
    enum pv_nv_result r;
    enum pv_nv_step step;
    long code;

    if (size < 2)
        return 0;
    code = http_codes[data[0] % (sizeof http_codes / sizeof http_codes[0])];
    step = (enum pv_nv_step)(data[1] % 3);
    out = malloc(sizeof *out);
    if (out == NULL)
        return 0;
    r = pv_nv_parse(step, code, (const char *)data + 2, size - 2, out);
    if (r < PV_NV_OK || r > PV_NV_UNAVAILABLE)
        fail("result outside the enum");
    if (code != 200 && r != PV_NV_UNAVAILABLE)
        fail("a verdict from a non-200 answer");
    check_text(out->token, sizeof out->token, 1, 0);
    check_text(out->url, sizeof out->url, 1, 0);
    if (memchr(out->operator_name, '\0', sizeof out->operator_name) == NULL)
        fail("operator name not terminated");
    switch (r) {
    case PV_NV_OK:
        if (step == PV_NV_STEP_AUTH) {
            check_text(out->token, sizeof out->token, 0, 0);
            if (strlen(out->token) > PV_NV_TOKEN_MAX)
                fail("token too long");
        } else if (step == PV_NV_STEP_START) {
            check_text(out->url, sizeof out->url, 0, 0);
            check_link(out->url);
            if (strpbrk(out->operator_name, "\"'=\\ \t\r\n") != NULL)
                fail("operator name would break a key=value log line");
        } else {
            fail("OK for the result step");
        }
        break;
    case PV_NV_PENDING:
    case PV_NV_VERIFIED:
        if (step != PV_NV_STEP_RESULT)
            fail("pending/verified outside the result step");
        if (r == PV_NV_VERIFIED)
            check_verified((const char *)data + 2, size - 2);
        break;
    case PV_NV_REFUSED:
    case PV_NV_INELIGIBLE:
    case PV_NV_UNAVAILABLE:
        break;
    default:
        fail("result outside the enum");
    }
    check_text(out->detail, sizeof out->detail, 0, 1);
    free(out);
    return 0;
}
