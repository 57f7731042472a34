/* pv_precheck.c - the name + mobile consistency pre-check (doc/providers.md): a
 * cheap guard against a recycled or re-assigned number, run before any
 * code is sent.  Results 0 and 1 are charged by the provider; the flow
 * caches a consistent answer (pv_flow_precheck.c). */
#include <stdlib.h>
#include <string.h>
#include "base/pv_json.h"
#include "provider/pv_provider.h"
#include "base/pv_util.h"

/* `result` as a number or a string holding an integer in -6..1. */
static int result_code(const cJSON *obj, long *code)
{
    const char *text = pv_json_string(obj, "result");

    if (text != NULL)
        return pv_parse_long(text, -6, 1, code);
    return pv_json_long(obj, "result", -6, 1, code);
}

/* Why a result other than the five answers gives nothing usable. */
static enum pv_failure result_failure(long code)
{
    return code == -6 ? PV_FAILURE_USER    /* daily limit: anyone can
                                                use it up */
                      : PV_FAILURE_OUTAGE; /* -2, -3: the engine */
}

/* A 400 names its cause in error.code: token_mismatched is our token. */
static enum pv_failure bad_request_failure(const char *body, size_t len)
{
    cJSON *obj = pv_json_parse_object(body, len);
    const cJSON *err;
    const char *code;
    enum pv_failure f = PV_FAILURE_REJECTED;

    if (obj == NULL)
        return PV_FAILURE_OUTAGE; /* malformed answer */
    err = cJSON_GetObjectItemCaseSensitive(obj, "error");
    code = cJSON_IsObject(err) ? pv_json_string(err, "code") : NULL;
    if (code != NULL && strcmp(code, "token_mismatched") == 0)
        f = PV_FAILURE_CREDENTIALS;
    pv_json_free(obj);
    return f;
}

static enum pv_failure status_failure(long http_code, const char *body,
                                      size_t len)
{
    if (http_code == 401 || http_code == 403)
        return PV_FAILURE_CREDENTIALS; /* invalid_token */
    if (http_code == 429)
        return PV_FAILURE_USER; /* too_many_requests */
    if (http_code == 400)
        return bad_request_failure(body, len);
    if (http_code >= 500 && http_code <= 599)
        return PV_FAILURE_OUTAGE;
    return PV_FAILURE_REJECTED;
}

static enum pv_precheck_result classify(long code)
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
    default: /* -2 engine error, -3 exception, -6 daily limit */
        return PV_PRECHECK_UNAVAILABLE;
    }
}

enum pv_precheck_result pv_precheck_parse(long http_code, const char *body,
                                          size_t len, pv_precheck_reply *out)
{
    const cJSON *desc;
    cJSON *obj;
    long code;
    enum pv_precheck_result res = PV_PRECHECK_UNAVAILABLE;

    memset(out, 0, sizeof(*out));
    out->code = 99;
    pv_snprintf(out->detail, sizeof(out->detail), "http_%ld", http_code);
    if (http_code != 200) {
        out->failure = status_failure(http_code, body, len);
        return PV_PRECHECK_UNAVAILABLE; /* token, rate, server errors */
    }
    out->failure = PV_FAILURE_OUTAGE; /* until the answer parses */
    obj = pv_json_parse_object(body, len);
    if (obj == NULL || result_code(obj, &code) != 0) {
        pv_strlcpy(out->detail, "malformed_answer", sizeof(out->detail));
        goto out;
    }
    desc = cJSON_GetObjectItemCaseSensitive(obj, "description");
    if (desc != NULL && !cJSON_IsString(desc)) {
        pv_strlcpy(out->detail, "malformed_answer", sizeof(out->detail));
        goto out;
    }
    out->code = code;
    out->charged = code == 0 || code == 1;
    pv_snprintf(out->detail, sizeof(out->detail), "precheck_result_%ld", code);
    res = classify(code);
    out->failure = res == PV_PRECHECK_UNAVAILABLE ? result_failure(code)
                                                  : PV_FAILURE_NONE;
out:
    pv_json_free(obj);
    return res;
}

enum pv_precheck_result pv_precheck_call(const pv_config *cfg,
                                         pv_transport *http, const char *name,
                                         const char *mobile,
                                         pv_precheck_reply *out)
{
    const char *keys[3] = { "name", "mobile", "encryption" };
    const char *values[3] = { name, mobile, cfg->precheck_encryption };
    pv_json_call call = { .url = cfg->precheck_url,
                          .authorization = cfg->precheck_auth.header,
                          .keys = keys,
                          .values = values,
                          .n = cfg->precheck_encryption ? 3 : 2 };
    pv_http_response resp;
    enum pv_precheck_result res = PV_PRECHECK_UNAVAILABLE;

    memset(out, 0, sizeof(*out));
    out->code = 99;
    if (pv_provider_post_json(http, &call, &resp, out->detail,
                              sizeof(out->detail), &out->failure) == 0)
        res = pv_precheck_parse(resp.http_code, resp.body, resp.body_len, out);
    pv_http_response_clear(&resp);
    return res;
}
