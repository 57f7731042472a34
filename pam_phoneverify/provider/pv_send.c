/* pv_send.c - the send-code API (doc/providers.md): ask the provider to text or
 * e-mail a one-time code.
 *
 * Answers are classified strictly: only a 200 with a well-formed
 * verification_id and expires_in is a success; the four documented
 * refusals are told apart (the flow treats them as user-provokable, never
 * as an outage); everything else is "provider unavailable", with its
 * failure class: 401/403 our credentials, 5xx or a malformed answer an
 * outage, a redirect or an unknown refusal our request (closed). */
#include <stdlib.h>
#include <string.h>
#include "base/pv_json.h"
#include "provider/pv_provider.h"
#include "base/pv_util.h"

#define PV_SEND_MAX_EXPIRES 86400

static const struct {
    const char *error;
    long code;
    enum pv_send_result result;
} send_refusals[] = {
    { "rate_limit_exceeded", 4029, PV_SEND_RATE_LIMITED },
    { "captcha_required", 4028, PV_SEND_CAPTCHA },
    { "user_not_found", 4004, PV_SEND_USER_NOT_FOUND },
    { "invalid_phone_number", 4001, PV_SEND_INVALID_NUMBER },
};

/* A verification id travels back to the provider in JSON and may be kept
 * in the state file: printable ASCII without spaces, bounded. */
static int id_acceptable(const char *id)
{
    size_t n = id ? strlen(id) : 0;
    size_t i;

    if (n == 0 || n > PV_VERIFICATION_ID_MAX)
        return 0;
    for (i = 0; i < n; i++)
        if ((unsigned char)id[i] <= 0x20 || (unsigned char)id[i] >= 0x7f)
            return 0;
    return 1;
}

static enum pv_send_result parse_success(const cJSON *obj, pv_send_reply *out)
{
    const char *id = pv_json_string(obj, "verification_id");
    const cJSON *is_user = cJSON_GetObjectItemCaseSensitive(obj, "is_user");
    long expires;

    if (!id_acceptable(id)) {
        pv_strlcpy(out->detail, "bad_verification_id", sizeof(out->detail));
        return PV_SEND_UNAVAILABLE;
    }
    if (pv_json_long(obj, "expires_in", 1, PV_SEND_MAX_EXPIRES, &expires) !=
        0) {
        pv_strlcpy(out->detail, "bad_expires_in", sizeof(out->detail));
        return PV_SEND_UNAVAILABLE;
    }
    /* Optional, but when present it must be what the API documents. */
    if (is_user != NULL && !cJSON_IsBool(is_user) && !cJSON_IsNull(is_user)) {
        pv_strlcpy(out->detail, "bad_is_user", sizeof(out->detail));
        return PV_SEND_UNAVAILABLE;
    }
    pv_strlcpy(out->id, id, sizeof(out->id));
    out->expires_in = expires;
    pv_strlcpy(out->detail, "sent", sizeof(out->detail));
    return PV_SEND_OK;
}

/* The provider's words for the user's terminal: printable ASCII only
 * (a run of anything else, escape sequences and other scripts included,
 * becomes one '?'), cut to size with "..." (doc/providers.md). */
static void user_text(char *dst, size_t size, const char *src)
{
    size_t o = 0;
    int odd = 0;

    for (; *src != '\0' && o + 4 < size; src++) {
        unsigned char c = (unsigned char)*src;

        if (c >= 0x20 && c < 0x7f) {
            dst[o++] = (char)c;
            odd = 0;
        } else if (!odd) {
            dst[o++] = '?';
            odd = 1;
        }
    }
    if (*src != '\0') {
        memcpy(dst + o, "...", 3);
        o += 3;
    }
    dst[o] = '\0';
}

/* "... try again in N second(s)", case aside. */
static int names_seconds(const char *d)
{
    const char *p = strcasestr(d, "again in ");
    size_t n;

    if (p == NULL)
        return 0;
    p += strlen("again in ");
    n = strspn(p, "0123456789");
    return n > 0 && strncasecmp(p + n, " second", 7) == 0;
}

/* rate_limit_exceeded covers the per-number minute and the per-IP hourly
 * quota alike (doc/providers.md); only error_description tells them
 * apart.  An answer without one is read as the documented per-number
 * limit: its wait is bounded (resend_wait) and it is told as such. */
static void describe_rate_limit(const cJSON *obj, pv_send_reply *out)
{
    const char *d = pv_json_string(obj, "error_description");

    if (d == NULL || d[0] == '\0') {
        out->per_number = 1;
        return;
    }
    out->per_number =
        strcasestr(d, "frequency too high") != NULL || names_seconds(d);
    user_text(out->description, sizeof(out->description), d);
}

static enum pv_send_result parse_refusal(const cJSON *obj, pv_send_reply *out)
{
    const char *error = pv_json_string(obj, "error");
    const cJSON *code_item =
        cJSON_GetObjectItemCaseSensitive(obj, "error_code");
    long code = -1;
    size_t i;

    if (error == NULL)
        return PV_SEND_UNAVAILABLE;
    if (code_item != NULL &&
        pv_json_long(obj, "error_code", 0, 99999, &code) != 0)
        return PV_SEND_UNAVAILABLE;
    pv_sanitize(out->detail, sizeof(out->detail), error);
    if (out->detail[0] == '\0')
        pv_strlcpy(out->detail, "empty_error", sizeof(out->detail));
    for (i = 0; i < sizeof(send_refusals) / sizeof(send_refusals[0]); i++) {
        if (strcmp(error, send_refusals[i].error) != 0)
            continue;
        /* An error_code that contradicts the error name is not an answer
         * we understand. */
        if (code != -1 && code != send_refusals[i].code)
            return PV_SEND_UNAVAILABLE;
        if (send_refusals[i].result == PV_SEND_RATE_LIMITED)
            describe_rate_limit(obj, out);
        return send_refusals[i].result;
    }
    return PV_SEND_UNAVAILABLE; /* credentials, bad request, ... */
}

/* The class of an HTTP status that is not a usable answer by itself. */
static enum pv_failure status_failure(long http_code)
{
    if (http_code == 401 || http_code == 403)
        return PV_FAILURE_CREDENTIALS;
    if (http_code >= 500 && http_code <= 599)
        return PV_FAILURE_OUTAGE;
    return PV_FAILURE_REJECTED;
}

enum pv_send_result pv_send_parse(long http_code, const char *body, size_t len,
                                  pv_send_reply *out)
{
    enum pv_send_result res = PV_SEND_UNAVAILABLE;
    cJSON *obj;

    memset(out, 0, sizeof(*out));
    pv_snprintf(out->detail, sizeof(out->detail), "http_%ld", http_code);
    out->failure = status_failure(http_code);
    if (http_code != 200 && (http_code < 400 || http_code > 499 ||
                             out->failure == PV_FAILURE_CREDENTIALS))
        return PV_SEND_UNAVAILABLE;
    obj = pv_json_parse_object(body, len);
    if (obj == NULL) {
        pv_strlcpy(out->detail, "malformed_answer", sizeof(out->detail));
        out->failure = PV_FAILURE_OUTAGE;
        return PV_SEND_UNAVAILABLE;
    }
    if (http_code == 200) {
        out->failure = PV_FAILURE_OUTAGE; /* a 200 we cannot use */
        res = parse_success(obj, out);
    } else {
        res = parse_refusal(obj, out);
    }
    if (res != PV_SEND_UNAVAILABLE)
        out->failure = PV_FAILURE_NONE;
    pv_json_free(obj);
    return res;
}

static const char *target_name(enum pv_send_target t)
{
    switch (t) {
    case PV_TARGET_USER:
        return "USER";
    case PV_TARGET_NOT_USER:
        return "NOT_USER";
    case PV_TARGET_ANY:
    default:
        return "ANY";
    }
}

enum pv_send_result pv_send_code(const pv_config *cfg, pv_transport *http,
                                 const char *url, const char *phone,
                                 const char *email, pv_send_reply *out)
{
    const char *keys[2] = { phone ? "phone_number" : "email", "target" };
    const char *values[2] = { phone ? phone : email,
                              target_name(cfg->send_target) };
    /* the captcha token is this provider's own header (doc/providers.md) */
    const pv_http_header captcha = { "X-Captcha-Token", cfg->captcha_token };
    pv_json_call call = { .url = url,
                          .authorization = cfg->send_auth.header,
                          .headers = &captcha,
                          .n_headers = cfg->captcha_token != NULL ? 1 : 0,
                          .keys = keys,
                          .values = values,
                          .n = 2 };
    pv_http_response resp;
    enum pv_send_result res = PV_SEND_UNAVAILABLE;

    memset(out, 0, sizeof(*out));
    if (pv_provider_post_json(http, &call, &resp, out->detail,
                              sizeof(out->detail), &out->failure) == 0)
        res = pv_send_parse(resp.http_code, resp.body, resp.body_len, out);
    pv_http_response_clear(&resp);
    return res;
}
