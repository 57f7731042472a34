/* fuzz_send.c - libFuzzer harness for pv_send_parse(), the classifier of
 * send-code answers (SPEC 2.1).
 *
 * Input layout: byte 0 selects the HTTP status, (byte % 6) indexes
 * {200, 400, 401, 404, 429, 500} - so the ASCII digits '0'..'5' of the
 * seed files read as those six; the rest is the response body.
 *
 * Properties checked besides memory safety:
 *  - the result is one of the documented enum values;
 *  - only a 200 can be PV_SEND_OK, and then the id is a non-empty printable
 *    token of at most PV_VERIFICATION_ID_MAX bytes and expires_in is in
 *    1..86400, and both are what the body says (re-read via pv_json_*);
 *  - the four refusals only come from a 4xx; a 500 is always UNAVAILABLE;
 *  - detail (logged as a key=value value) is NUL-terminated and holds only
 *    printable ASCII without space, quote, '=' or backslash. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/pv_json.h"
#include "provider/pv_provider.h"

#define FUZZ_NAME "fuzz_send"
#include "fuzz_provider.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_token(const char *s, size_t size, int allow_empty)
{
    size_t i, n;

    if (memchr(s, '\0', size) == NULL)
        fail("string not terminated");
    n = strlen(s);
    if (n == 0 && !allow_empty)
        fail("empty token");
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c <= 0x20 || c >= 0x7f)
            fail("control, space or non-ASCII byte in a token");
    }
}

/* Independent re-reading of an answer classified OK: the id and expiry
 * handed back are the body's verification_id and expires_in. */
static void check_ok(const char *body, size_t len, const pv_send_reply *out)
{
    cJSON *root = pv_json_parse_object(body, len);
    const char *id;
    long e = -1;

    if (root == NULL)
        fail("OK from a body the JSON layer refuses");
    id = pv_json_string(root, "verification_id");
    if (id == NULL || strcmp(id, out->id) != 0)
        fail("id is not the body's verification_id");
    if (pv_json_long(root, "expires_in", 1, 86400, &e) != 0 ||
        e != out->expires_in)
        fail("expires_in is not the body's");
    pv_json_free(root);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pv_send_reply *out;
    enum pv_send_result r;
    long code;

    if (size < 1)
        return 0;
    code = http_codes[data[0] % (sizeof http_codes / sizeof http_codes[0])];
    out = malloc(sizeof *out);
    if (out == NULL)
        return 0;
    r = pv_send_parse(code, (const char *)data + 1, size - 1, out);
    switch (r) {
    case PV_SEND_OK:
        if (code != 200)
            fail("OK from a non-200 answer");
        check_token(out->id, sizeof out->id, 0);
        if (strlen(out->id) > PV_VERIFICATION_ID_MAX)
            fail("id too long");
        if (out->expires_in < 1 || out->expires_in > 86400)
            fail("expires_in out of range");
        check_ok((const char *)data + 1, size - 1, out);
        break;
    case PV_SEND_RATE_LIMITED:
    case PV_SEND_CAPTCHA:
    case PV_SEND_USER_NOT_FOUND:
    case PV_SEND_INVALID_NUMBER:
        if (code < 400 || code > 499)
            fail("a refusal from a non-4xx answer");
        break;
    case PV_SEND_UNAVAILABLE:
        break;
    default:
        fail("result outside the enum");
    }
    check_detail(out->detail, sizeof out->detail);
    free(out);
    return 0;
}
