/* pv_state_open.c - the `state` setting -> its backend (file or etcd;
 * pam_phoneverify.conf(5) STATE).  The backends depend on pv_state.c's
 * record code; this file is the only one that knows every backend, so
 * nothing in the record code calls back into a backend. */
#include <string.h>

#include "state/pv_state_open.h"
#include "state/pv_state_etcd.h"
#include "state/pv_state_file.h"
#include "transport/pv_http.h"

/* One entry per `state` value. */
struct backend_entry {
    const char *prefix; /* matched against the start of cfg->state */
    int exact;          /* 1: whole value must equal prefix */
    const char *name;
    int (*open)(const pv_config *cfg, pv_transport *http, pv_state **out,
                pv_err *err);
};

static int open_file(const pv_config *cfg, pv_state **out, pv_err *err)
{
    if (cfg->state_dir == NULL || cfg->state_dir[0] == '\0') {
        pv_err_set(err, "state_dir is not set");
        return -1;
    }
    return pv_state_file_open(cfg->state_dir, out, err);
}

static int open_file_backend(const pv_config *cfg, pv_transport *http,
                             pv_state **out, pv_err *err)
{
    (void)http;
    return open_file(cfg, out, err);
}

pv_transport *pv_state_etcd_transport(const pv_config *cfg, pv_transport *http)
{
    /* the fields of the backend's own transport (pv_state_etcd.c): the
     * state_timeout for both limits, state_cafile and the state client
     * certificate and key, no proxy, no pinned key */
    pv_http_opts o = pv_http_opts_make(
        cfg->helper, cfg->helper_user, cfg->state_timeout, cfg->state_timeout,
        cfg->state_cafile, cfg->state_client_cert, cfg->state_client_key);

    return pv_http_transport_view(http, &o);
}

/* etcd through a view on the login's helper (http), or, without http, a
 * helper of its own (pv_state_etcd_open). */
static int open_etcd_backend(const pv_config *cfg, pv_transport *http,
                             pv_state **out, pv_err *err)
{
    pv_transport *t;

    if (http == NULL)
        return pv_state_etcd_open(cfg, out, err);
    if ((t = pv_state_etcd_transport(cfg, http)) == NULL) {
        *out = NULL;
        pv_err_set(err, "state: out of memory");
        return -1;
    }
    return pv_state_etcd_open_with(cfg, t, out, err); /* owns t */
}

static const struct backend_entry backends[] = {
    { "file", 1, "file", open_file_backend },
    { "etcd", 1, "etcd", open_etcd_backend },
};

static int backend_matches(const struct backend_entry *b, const char *v)
{
    if (b->exact)
        return strcmp(v, b->prefix) == 0;
    return strncmp(v, b->prefix, strlen(b->prefix)) == 0;
}

int pv_state_open(const pv_config *cfg, pv_state **out, pv_err *err)
{
    return pv_state_open_shared(cfg, NULL, out, err);
}

int pv_state_open_shared(const pv_config *cfg, pv_transport *http,
                         pv_state **out, pv_err *err)
{
    const char *v;
    size_t i;

    if (out == NULL || cfg == NULL) {
        pv_err_set(err, "state: invalid arguments");
        return -1;
    }
    *out = NULL;
    v = cfg->state != NULL ? cfg->state : "file";
    for (i = 0; i < sizeof backends / sizeof backends[0]; i++) {
        if (!backend_matches(&backends[i], v))
            continue;
        if (backends[i].open(cfg, http, out, err) != 0)
            return -1;
        (*out)->lock_wait_ms = PV_STATE_LOCK_WAIT_MS;
        return 0;
    }
    pv_err_set(err, "state: unknown backend (want file or etcd)");
    return -1;
}

int pv_state_grant_store(const pv_config *cfg, pv_state *main,
                         pv_state **grants, int *opened, pv_err *err)
{
    *grants = NULL;
    *opened = 0;
    if (cfg->state == NULL || strcmp(cfg->state, "file") == 0) {
        if (main == NULL) {
            pv_err_set(err, "state: invalid arguments");
            return -1;
        }
        *grants = main;
        return 0;
    }
    if (open_file(cfg, grants, err) != 0)
        return -1;
    (*grants)->lock_wait_ms = PV_STATE_LOCK_WAIT_MS;
    if (main != NULL)
        (*grants)->logger = main->logger;
    *opened = 1;
    return 0;
}
