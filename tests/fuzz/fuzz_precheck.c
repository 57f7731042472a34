/* fuzz_precheck.c - libFuzzer harness for pv_precheck_parse(), the
 * classifier of name + mobile consistency pre-check answers (SPEC 2.3).
 *
 * Input layout: byte 0 selects the HTTP status, (byte % 6) indexes
 * {200, 400, 401, 404, 429, 500} - the ASCII digits '0'..'5' of the seed
 * files read as those six; the rest is the response body.
 *
 * Properties checked besides memory safety:
 *  - the result is one of the documented enum values;
 *  - only a 200 can yield anything but UNAVAILABLE;
 *  - code is the `result` value (-6..1) or 99 when there is none, and the
 *    classification follows SPEC 2.3: 0 consistent, 1 inconsistent (both,
 *    and only they, charged), -1 no record, -4 name check failed,
 *    -5 invalid mobile, -2/-3/-6 unavailable;
 *  - a classified answer really holds that `result`, as a JSON number or
 *    a string (re-read through pv_json_*);
 *  - detail is NUL-terminated printable ASCII without space, quote, '='. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/pv_json.h"
#include "provider/pv_provider.h"
#include "base/pv_util.h"

#define FUZZ_NAME "fuzz_precheck"
#include "fuzz_provider.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static enum pv_precheck_result expected_class(long code)
{
    switch (code) {
    case 0:
        return PV_PRECHECK_CONSISTENT;
    case 1:
        return PV_PRECHECK_INCONSISTENT;
    case -1:
        return PV_PRECHECK_NO_RECORD;
    case -4:
        return PV_PRECHECK_NAME_FAILED;
    case -5:
        return PV_PRECHECK_INVALID_MOBILE;
    default:
        return PV_PRECHECK_UNAVAILABLE;
    }
}

/* The body's `result`, read independently: 0 and *code, or -1. */
static int body_result(const char *body, size_t len, long *code)
{
    cJSON *root = pv_json_parse_object(body, len);
    const char *s;
    int rc = -1;

    if (root == NULL)
        return -1;
    s = pv_json_string(root, "result");
    if (s != NULL)
        rc = pv_parse_long(s, -6, 1, code);
    else
        rc = pv_json_long(root, "result", -6, 1, code);
    pv_json_free(root);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pv_precheck_reply *out;
    enum pv_precheck_result r;
    long code, seen;

    if (size < 1)
        return 0;
    code = http_codes[data[0] % (sizeof http_codes / sizeof http_codes[0])];
    out = malloc(sizeof *out);
    if (out == NULL)
        return 0;
    r = pv_precheck_parse(code, (const char *)data + 1, size - 1, out);
    if (r < PV_PRECHECK_CONSISTENT || r > PV_PRECHECK_UNAVAILABLE)
        fail("result outside the enum");
    if (code != 200 && r != PV_PRECHECK_UNAVAILABLE)
        fail("a verdict from a non-200 answer");
    if (out->code != 99) {
        if (out->code < -6 || out->code > 1)
            fail("code outside -6..1");
        if (r != expected_class(out->code))
            fail("classification does not follow SPEC 2.3");
        if (body_result((const char *)data + 1, size - 1, &seen) != 0 ||
            seen != out->code)
            fail("code is not the body's result");
    } else if (r != PV_PRECHECK_UNAVAILABLE) {
        fail("a verdict without a result code");
    }
    if (out->charged != (out->code == 0 || out->code == 1))
        fail("charged flag wrong");
    check_detail(out->detail, sizeof out->detail);
    free(out);
    return 0;
}
