/* pv_verify.c - the OTP-verify API (doc/providers.md): confirm a typed code.
 *
 * Only a 200 whose `verified` is the JSON literal true, for the message we
 * asked about, is a success.  3003/3011/4001 mean the code can no longer
 * be verified (a new one is needed); every other error, 5xx, redirect or
 * malformed answer is "provider unavailable", with its failure class:
 * 2001/2002/2004 or HTTP 401/403 our credentials, 1000, 5xx or malformed
 * an outage, anything else our request (closed). */
#include <stdlib.h>
#include <string.h>
#include "base/pv_json.h"
#include "provider/pv_provider.h"
#include "base/pv_util.h"

static enum pv_verify_result parse_ok(const cJSON *obj, const char *expect_id,
                                      pv_verify_reply *out)
{
    const char *id = pv_json_string(obj, "message_id");
    int verified;

    if (id == NULL || expect_id == NULL || strcmp(id, expect_id) != 0 ||
        pv_json_string(obj, "verify_code") == NULL ||
        pv_json_bool(obj, "verified", &verified) != 0) {
        pv_strlcpy(out->detail, "malformed_answer", sizeof(out->detail));
        out->failure = PV_FAILURE_OUTAGE;
        return PV_VERIFY_UNAVAILABLE;
    }
    pv_strlcpy(out->detail, verified ? "verified" : "wrong_code",
               sizeof(out->detail));
    return verified ? PV_VERIFY_OK : PV_VERIFY_WRONG;
}

/* The class of an error answer that is not "code gone". */
static enum pv_failure error_failure(long http_code, long code)
{
    if (code == 2001 || code == 2002 || code == 2004 || http_code == 401 ||
        http_code == 403)
        return PV_FAILURE_CREDENTIALS;
    if (code == 1000 || http_code >= 500)
        return PV_FAILURE_OUTAGE;
    return PV_FAILURE_REJECTED;
}

static enum pv_verify_result parse_error(long http_code, const cJSON *obj,
                                         pv_verify_reply *out)
{
    long code;

    if (pv_json_long(obj, "code", 0, 99999, &code) != 0 ||
        pv_json_string(obj, "message") == NULL) {
        pv_strlcpy(out->detail, "malformed_answer", sizeof(out->detail));
        out->failure = http_code == 401 || http_code == 403
                           ? PV_FAILURE_CREDENTIALS
                           : PV_FAILURE_OUTAGE;
        return PV_VERIFY_UNAVAILABLE;
    }
    pv_snprintf(out->detail, sizeof(out->detail), "code_%ld", code);
    if (http_code >= 400 && http_code <= 499 &&
        (code == 3003 || code == 3011 || code == 4001))
        return PV_VERIFY_EXPIRED;
    out->failure = error_failure(http_code, code);
    return PV_VERIFY_UNAVAILABLE;
}

enum pv_verify_result pv_verify_parse(long http_code, const char *body,
                                      size_t len, const char *expect_id,
                                      pv_verify_reply *out)
{
    enum pv_verify_result res;
    cJSON *obj;

    memset(out, 0, sizeof(*out));
    pv_snprintf(out->detail, sizeof(out->detail), "http_%ld", http_code);
    if (http_code != 200 && (http_code < 400 || http_code > 599)) {
        out->failure = PV_FAILURE_REJECTED; /* redirect, 1xx, 2xx */
        return PV_VERIFY_UNAVAILABLE;
    }
    obj = pv_json_parse_object(body, len);
    if (obj == NULL) {
        pv_strlcpy(out->detail, "malformed_answer", sizeof(out->detail));
        out->failure = http_code == 401 || http_code == 403
                           ? PV_FAILURE_CREDENTIALS
                           : PV_FAILURE_OUTAGE;
        return PV_VERIFY_UNAVAILABLE;
    }
    res = http_code == 200 ? parse_ok(obj, expect_id, out)
                           : parse_error(http_code, obj, out);
    pv_json_free(obj);
    return res;
}

enum pv_verify_result pv_verify_code(const pv_config *cfg, pv_transport *http,
                                     const char *url, const char *id,
                                     const char *code, pv_verify_reply *out)
{
    const char *keys[2] = { "message_id", "verify_code" };
    const char *values[2] = { id, code };
    pv_json_call call = { .url = url,
                          .authorization = cfg->verify_auth.header,
                          .keys = keys,
                          .values = values,
                          .n = 2 };
    pv_http_response resp;
    enum pv_verify_result res = PV_VERIFY_UNAVAILABLE;

    memset(out, 0, sizeof(*out));
    if (pv_provider_post_json(http, &call, &resp, out->detail,
                              sizeof(out->detail), &out->failure) == 0)
        res =
            pv_verify_parse(resp.http_code, resp.body, resp.body_len, id, out);
    pv_http_response_clear(&resp);
    return res;
}
