/* phoneverify_probe.c - `phoneverify check-config --probe`: call each
 * configured endpoint once, in a way that sends no message, through the
 * module's own transport (the helper, as helper_user, with the configured
 * TLS material), and say in words what was found.
 *
 *   send API     an empty phone number: a provider that answers
 *                invalid_phone_number (4001) is reachable and took our
 *                credentials; nothing can be texted to "".
 *   verify API   a message id that cannot exist: "no such message" (4001)
 *                means reachable and credentials accepted.
 *   pre-check    empty name and mobile: refused as invalid input (never
 *                charged: only results 0 and 1 are).
 *   numVerify    a session token (AUTH): the licence is checked, nothing
 *                reaches a phone.
 *   etcd         pv_state_etcd_probe (count, lease, write and delete a
 *                probe key).
 * The answers the probes expect are in doc/providers.md. */
#include <stdio.h>
#include <string.h>
#include "cli/phoneverify_cli.h"
#include "policy/pv_failover.h"
#include "provider/pv_provider.h"
#include "pam/pv_runtime.h"
#include "state/pv_state_etcd.h"

/* What a failure class means to an administrator. */
static const char *in_words(enum pv_failure f, const char *detail)
{
    if (f == PV_FAILURE_CREDENTIALS)
        return "the provider rejected our credentials (check the *_auth or "
               "licence key)";
    if (f == PV_FAILURE_CONFIG)
        return "the URL is not usable (https, or http only to loopback)";
    if (f == PV_FAILURE_LOCAL)
        return "the helper could not run here (see helper, helper_user)";
    if (f == PV_FAILURE_REJECTED)
        return "the endpoint refused the request (wrong URL path?)";
    if (strcmp(detail, "transport_dns") == 0)
        return "the host name does not resolve";
    if (strcmp(detail, "transport_connect") == 0)
        return "cannot connect (refused or unreachable)";
    if (strcmp(detail, "transport_tls") == 0)
        return "TLS failed (certificate not trusted by cafile, wrong host "
               "name, pin or client certificate)";
    if (strcmp(detail, "transport_timeout") == 0)
        return "no answer within timeout";
    return "the provider is not answering usably";
}

static int report(const char *what, const char *url, int ok, enum pv_failure f,
                  const char *detail)
{
    if (ok) {
        pv_cli_say(stdout, "probe %s %s: reachable, credentials accepted",
                   what, url);
        return 0;
    }
    pv_cli_say(stderr, "probe %s %s: %s (%s)", what, url, in_words(f, detail),
               detail);
    return 1;
}

static int probe_send(const pv_config *cfg, pv_transport *http,
                      const char *url)
{
    pv_send_reply r;
    enum pv_send_result sr = pv_send_code(cfg, http, url, "", NULL, &r);
    int ok = sr == PV_SEND_INVALID_NUMBER;

    return report("send_url", url, ok,
                  ok                          ? PV_FAILURE_NONE
                  : sr == PV_SEND_UNAVAILABLE ? r.failure
                                              : PV_FAILURE_REJECTED,
                  r.detail);
}

static int probe_verify(const pv_config *cfg, pv_transport *http,
                        const char *url)
{
    pv_verify_reply r;
    enum pv_verify_result vr =
        pv_verify_code(cfg, http, url, "phoneverify-probe-0000", "000000", &r);
    int ok = vr == PV_VERIFY_EXPIRED || vr == PV_VERIFY_WRONG;

    return report("verify_url", url, ok, ok ? PV_FAILURE_NONE : r.failure,
                  r.detail);
}

/* Every provider entry (send_url/verify_url lists), each once. */
static int probe_entries(const pv_config *cfg, pv_transport *http)
{
    char url[PV_URL_ENTRY_MAX];
    size_t i, n = pv_url_list_count(cfg->send_url);
    int bad = 0;

    for (i = 0; i < n; i++) {
        if (pv_url_list_item(cfg->send_url, i, url, sizeof(url)) == 0)
            bad += probe_send(cfg, http, url);
        if (pv_url_list_item(cfg->verify_url, i, url, sizeof(url)) == 0)
            bad += probe_verify(cfg, http, url);
    }
    return bad;
}

static int probe_precheck(const pv_config *cfg, pv_transport *http)
{
    pv_precheck_reply r;
    enum pv_precheck_result pr = pv_precheck_call(cfg, http, "", "", &r);
    int ok = pr != PV_PRECHECK_UNAVAILABLE || r.failure == PV_FAILURE_USER ||
             r.failure == PV_FAILURE_REJECTED;

    return report("precheck_url", cfg->precheck_url, ok,
                  ok ? PV_FAILURE_NONE : r.failure, r.detail);
}

static int probe_numverify(const pv_config *cfg, pv_transport *http)
{
    pv_nv_reply r;
    enum pv_nv_result nr = pv_nv_auth(cfg, http, &r);

    memset(r.token, 0, sizeof(r.token));
    return report("numverify_url", cfg->numverify_url, nr == PV_NV_OK,
                  nr == PV_NV_OK ? PV_FAILURE_NONE : r.failure, r.detail);
}

int pv_cli_probe(const pv_config *cfg)
{
    pv_transport *http = pv_http_from_config(cfg);
    int bad = 0;

    if (http == NULL) {
        pv_cli_say(stderr, "probe: out of memory");
        return 1;
    }
    if (pv_config_has_method(cfg, PV_METHOD_SMS) ||
        pv_config_has_method(cfg, PV_METHOD_EMAIL))
        bad += probe_entries(cfg, http);
    if (cfg->precheck_url != NULL)
        bad += probe_precheck(cfg, http);
    if (pv_config_has_method(cfg, PV_METHOD_NUMVERIFY))
        bad += probe_numverify(cfg, http);
    pv_transport_free(http);
    if (cfg->state != NULL && strcmp(cfg->state, "etcd") == 0) {
        char msg[512];
        int r = pv_state_etcd_probe(cfg, msg, sizeof(msg));

        pv_cli_say(r == 0 ? stdout : stderr, "probe %s", msg);
        bad += r != 0;
    }
    return bad;
}
