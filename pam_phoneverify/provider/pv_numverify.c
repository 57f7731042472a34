/* pv_numverify.c - mobile network number verification (doc/providers.md, DQE "ID
 * Mobile" numVerify): a session token, step 1 (IDMOBILE) returning the
 * operator link the user opens on the phone, step 2 (GET) polled for the
 * operator's answer.  Bodies are form-encoded by the helper with libcurl's
 * escaping (pv_http_request.form_*), never by hand. */
#include <stdlib.h>
#include <string.h>
#include "base/pv_json.h"
#include "provider/pv_provider.h"
#include "base/pv_url.h"
#include "base/pv_util.h"

/* What an error_id means for the login (the seed's tables, doc/providers.md). */
static enum pv_nv_result classify_error(const char *id)
{
    static const char *const ineligible[] = { "09", "10", "13", "14",
                                              "15", "16", "17" };
    static const char *const refused[] = { "12", "20", "21" };
    size_t i;

    for (i = 0; i < sizeof(ineligible) / sizeof(ineligible[0]); i++)
        if (strcmp(id, ineligible[i]) == 0)
            return PV_NV_INELIGIBLE;
    for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
        if (strcmp(id, refused[i]) == 0)
            return PV_NV_REFUSED;
    return PV_NV_UNAVAILABLE; /* 01, 02, 04-07, 11, 18, 30, 99, unknown */
}

/* Why an error id leaves nothing usable: 02 is our licence, 30 the
 * session token's end (the user idled), 18 and 99 the operator or the
 * server; the rest are requests we got wrong (closed). */
static enum pv_failure error_failure(const char *id)
{
    if (strcmp(id, "02") == 0)
        return PV_FAILURE_CREDENTIALS;
    if (strcmp(id, "30") == 0)
        return PV_FAILURE_USER;
    if (strcmp(id, "18") == 0 || strcmp(id, "99") == 0)
        return PV_FAILURE_OUTAGE;
    return PV_FAILURE_REJECTED;
}

/* A link that may not be shown is the provider's answer refused, not the
 * provider down: it fails closed whatever failmode says (a hostile link
 * must not turn into a fail-open). */
static enum pv_nv_result link_refused(pv_nv_reply *out)
{
    pv_wipe(out->url, sizeof(out->url));
    pv_strlcpy(out->detail, "numverify_link_refused", sizeof(out->detail));
    out->failure = PV_FAILURE_REJECTED;
    return PV_NV_UNAVAILABLE;
}

static enum pv_nv_result parse_error(const cJSON *obj, pv_nv_reply *out)
{
    const char *id = pv_json_string(obj, "error_id");

    if (id == NULL || strlen(id) != 2 || id[0] < '0' || id[0] > '9' ||
        id[1] < '0' || id[1] > '9') {
        pv_strlcpy(out->detail, "malformed_answer", sizeof(out->detail));
        return PV_NV_UNAVAILABLE;
    }
    pv_snprintf(out->detail, sizeof(out->detail), "numverify_error_%s", id);
    out->failure = error_failure(id);
    return classify_error(id);
}

static enum pv_nv_result parse_auth(const cJSON *obj, pv_nv_reply *out)
{
    const char *token = pv_json_string(obj, "token");

    if (!pv_printable_word(token, PV_NV_TOKEN_MAX))
        return PV_NV_UNAVAILABLE;
    pv_strlcpy(out->token, token, sizeof(out->token));
    return PV_NV_OK;
}

static enum pv_nv_result parse_start(const cJSON *obj, pv_nv_reply *out)
{
    const char *op = pv_json_string(obj, "operator");
    const char *url = pv_json_string(obj, "url");

    if (url == NULL || op == NULL || strlen(op) >= sizeof(out->operator_name))
        return PV_NV_UNAVAILABLE;
    /* The link is shown to the user and put into a QR code: only one that
     * reads as https, or http to an exact loopback host (the simulator),
     * with nothing but a host and a port in its authority and no '@', '#'
     * or IDNA label anywhere (pv_url.c). */
    if (!pv_url_link_ok(url, PV_NV_URL_MAX))
        return link_refused(out);
    pv_strlcpy(out->url, url, sizeof(out->url));
    pv_sanitize(out->operator_name, sizeof(out->operator_name), op);
    return PV_NV_OK;
}

static enum pv_nv_result parse_result(const cJSON *obj, const char *status,
                                      pv_nv_reply *out)
{
    const char *scope = pv_json_string(obj, "scope");
    int verified;

    if (scope == NULL || strcmp(scope, "numVerify") != 0)
        return PV_NV_UNAVAILABLE;
    if (strcmp(status, "pending") == 0)
        return PV_NV_PENDING;
    if (pv_json_bool(obj, "numVerify", &verified) != 0)
        return PV_NV_UNAVAILABLE;
    pv_strlcpy(out->detail, verified ? "numverify_true" : "numverify_false",
               sizeof(out->detail));
    return verified ? PV_NV_VERIFIED : PV_NV_REFUSED;
}

static enum pv_nv_result parse_object(enum pv_nv_step step, const cJSON *obj,
                                      pv_nv_reply *out)
{
    const char *status = pv_json_string(obj, "status");

    if (status != NULL && strcmp(status, "error") == 0)
        return parse_error(obj, out);
    switch (step) {
    case PV_NV_STEP_AUTH:
        /* The token answer carries no status in the seed; accept one. */
        if (status != NULL && strcmp(status, "success") != 0)
            return PV_NV_UNAVAILABLE;
        return parse_auth(obj, out);
    case PV_NV_STEP_START:
        if (status == NULL || strcmp(status, "success") != 0)
            return PV_NV_UNAVAILABLE;
        return parse_start(obj, out);
    case PV_NV_STEP_RESULT:
    default:
        if (status == NULL ||
            (strcmp(status, "success") != 0 && strcmp(status, "pending") != 0))
            return PV_NV_UNAVAILABLE;
        return parse_result(obj, status, out);
    }
}

enum pv_nv_result pv_nv_parse(enum pv_nv_step step, long http_code,
                              const char *body, size_t len, pv_nv_reply *out)
{
    enum pv_nv_result res;
    cJSON *obj;

    memset(out, 0, sizeof(*out));
    pv_snprintf(out->detail, sizeof(out->detail), "http_%ld", http_code);
    out->failure = http_code >= 500 && http_code <= 599 ? PV_FAILURE_OUTAGE
                   : http_code == 401 || http_code == 403
                       ? PV_FAILURE_CREDENTIALS
                       : PV_FAILURE_REJECTED;
    if (http_code != 200)
        return PV_NV_UNAVAILABLE;
    out->failure = PV_FAILURE_OUTAGE; /* malformed until parsed */
    obj = pv_json_parse_object(body, len);
    if (obj == NULL) {
        pv_strlcpy(out->detail, "malformed_answer", sizeof(out->detail));
        return PV_NV_UNAVAILABLE;
    }
    /* parse_object overrides this with the error id or the verdict. */
    pv_strlcpy(out->detail, "malformed_answer", sizeof(out->detail));
    res = parse_object(step, obj, out);
    if (res != PV_NV_UNAVAILABLE)
        out->failure = PV_FAILURE_NONE;
    if (res == PV_NV_OK || res == PV_NV_PENDING)
        pv_strlcpy(out->detail, res == PV_NV_OK ? "ok" : "pending",
                   sizeof(out->detail));
    pv_json_free(obj);
    return res;
}

/* POST a form to {numverify_url}/{path}/ and parse the answer. */
static enum pv_nv_result post_form(const pv_config *cfg, pv_transport *http,
                                   enum pv_nv_step step, const char *path,
                                   const char *const *names,
                                   const char *const *values, size_t n,
                                   pv_nv_reply *out)
{
    const char *base = cfg->numverify_url;
    size_t blen = strlen(base);
    char url[2048];
    pv_http_request req;
    pv_http_response resp;
    enum pv_nv_result res = PV_NV_UNAVAILABLE;

    memset(out, 0, sizeof(*out));
    if (pv_snprintf(url, sizeof(url), "%.*s/%s/",
                    (int)(blen > 0 && base[blen - 1] == '/' ? blen - 1 : blen),
                    base, path) < 0) {
        pv_strlcpy(out->detail, "url_too_long", sizeof(out->detail));
        out->failure = PV_FAILURE_CONFIG;
        return PV_NV_UNAVAILABLE;
    }
    memset(&req, 0, sizeof(req));
    req.url = url;
    req.content_type = "application/x-www-form-urlencoded";
    req.form_names = names;
    req.form_values = values;
    req.n_form = n;
    if (pv_transport_post(http, &req, &resp) == 0) {
        res = pv_nv_parse(step, resp.http_code, resp.body, resp.body_len, out);
    } else {
        pv_snprintf(out->detail, sizeof(out->detail), "transport_%s",
                    pv_http_status_name(resp.status));
        out->failure = pv_provider_transport_failure(resp.status);
    }
    pv_http_response_clear(&resp);
    return res;
}

enum pv_nv_result pv_nv_auth(const pv_config *cfg, pv_transport *http,
                             pv_nv_reply *out)
{
    const char *names[1] = { "licence" };
    const char *values[1] = { cfg->numverify_licence };

    return post_form(cfg, http, PV_NV_STEP_AUTH, "AUTH", names, values, 1,
                     out);
}

enum pv_nv_result pv_nv_start(const pv_config *cfg, pv_transport *http,
                              const char *token, const char *digits,
                              pv_nv_reply *out)
{
    const char *names[5] = { "licence", "number", "token", "name", "scope" };
    const char *values[5] = { cfg->numverify_licence, digits, token,
                              cfg->numverify_partner, "numVerify" };
    enum pv_nv_result r;

    r = post_form(cfg, http, PV_NV_STEP_START, "IDMOBILE", names, values, 5,
                  out);
    /* numverify_link_hosts: with it set, the link's host must be listed */
    if (r == PV_NV_OK && !pv_url_host_listed(out->url, PV_NV_URL_MAX,
                                             cfg->numverify_link_hosts))
        return link_refused(out);
    return r;
}

enum pv_nv_result pv_nv_result_poll(const pv_config *cfg, pv_transport *http,
                                    const char *token, pv_nv_reply *out)
{
    /* The seed spells this parameter "Licence" in step 2. */
    const char *names[3] = { "Licence", "token", "scope" };
    const char *values[3] = { cfg->numverify_licence, token, "numVerify" };

    return post_form(cfg, http, PV_NV_STEP_RESULT, "GET", names, values, 3,
                     out);
}
