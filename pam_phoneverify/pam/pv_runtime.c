/* pv_runtime.c - the real clock and the configured transport (one helper
 * per login: doc/architecture.md). */
#include <time.h>
#include "pam/pv_runtime.h"
#include "transport/pv_http.h"

static time_t system_now(void *ctx)
{
    (void)ctx;
    return time(NULL);
}

static void system_sleep_ms(void *ctx, unsigned ms)
{
    struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };

    (void)ctx;
    while (nanosleep(&ts, &ts) != 0)
        ; /* interrupted: sleep the rest */
}

pv_clock pv_clock_system(void)
{
    pv_clock c = { system_now, system_sleep_ms, NULL };

    return c;
}

pv_transport *pv_http_from_config(const pv_config *cfg)
{
    pv_http_opts o = pv_http_opts_make(
        cfg->helper, cfg->helper_user, cfg->timeout, cfg->connect_timeout,
        cfg->cafile, cfg->client_cert, cfg->client_key);

    o.capath = cfg->capath;
    o.pinned_pubkey = cfg->pinned_pubkey;
    o.proxy = cfg->proxy;
    return pv_http_transport_new(&o);
}
