/* fuzz_verify.c - libFuzzer harness for pv_verify_parse(), the classifier
 * of OTP-verify answers (SPEC 2.2).
 *
 * Input layout: byte 0 selects the HTTP status, (byte % 6) indexes
 * {200, 400, 401, 404, 429, 500}; byte 1 selects the message_id the module
 * sent, (byte % 4) indexes {"1725407449772531712", "id-1", a UUID, NULL}; the
 * rest is the response body.  So a seed "00{...}" is a 200 for the id of
 * the SPEC sample.
 *
 * Properties checked besides memory safety:
 *  - the result is one of the documented enum values;
 *  - OK and WRONG only from a 200 whose body, read again through
 *    pv_json_*, names exactly the expected message_id and has the matching
 *    boolean "verified" (never with no id, never for another id);
 *  - EXPIRED only from a 4xx;
 *  - detail is NUL-terminated printable ASCII without space, quote, '='. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/pv_json.h"
#include "provider/pv_provider.h"

#define FUZZ_NAME "fuzz_verify"
#include "fuzz_provider.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const expect_ids[] = {
    "1725407449772531712",
    "id-1",
    "e3b0c442-98fc-1c14-9afb-f4c8996fb924",
    NULL,
};

/* Independent re-reading of an answer classified OK/WRONG: it must be an
 * object whose message_id is the id we sent and whose verified is the
 * boolean the result says. */
static void check_answer(const char *body, size_t len, const char *id,
                         int verified)
{
    cJSON *root = pv_json_parse_object(body, len);
    const char *mid;
    int v = -1;

    if (root == NULL)
        fail("verified/wrong from a body the JSON layer refuses");
    mid = pv_json_string(root, "message_id");
    if (mid == NULL || strcmp(mid, id) != 0)
        fail("verified/wrong for another message_id");
    if (pv_json_bool(root, "verified", &v) != 0 || v != verified)
        fail("result disagrees with \"verified\"");
    pv_json_free(root);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pv_verify_reply *out;
    enum pv_verify_result r;
    const char *expect;
    char *id = NULL;
    long code;

    if (size < 2)
        return 0;
    code = http_codes[data[0] % (sizeof http_codes / sizeof http_codes[0])];
    expect = expect_ids[data[1] % (sizeof expect_ids / sizeof expect_ids[0])];
    if (expect != NULL) {
        /* own heap copy: reading past the id is caught */
        id = malloc(strlen(expect) + 1);
        if (id == NULL)
            return 0;
        memcpy(id, expect, strlen(expect) + 1);
    }
    out = malloc(sizeof *out);
    if (out == NULL) {
        free(id);
        return 0;
    }
    r = pv_verify_parse(code, (const char *)data + 2, size - 2, id, out);
    switch (r) {
    case PV_VERIFY_OK:
    case PV_VERIFY_WRONG:
        if (code != 200 || id == NULL)
            fail("verified/wrong without a 200 or without an id");
        check_answer((const char *)data + 2, size - 2, id, r == PV_VERIFY_OK);
        break;
    case PV_VERIFY_EXPIRED:
        if (code < 400 || code > 499)
            fail("expired from a non-4xx answer");
        break;
    case PV_VERIFY_UNAVAILABLE:
        break;
    default:
        fail("result outside the enum");
    }
    check_detail(out->detail, sizeof out->detail);
    free(out);
    free(id);
    return 0;
}
