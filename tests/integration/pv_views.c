/* pv_views.c - the two transports of a login with `state = etcd`, built as
 * the module builds them (pv_http_from_config for the provider clients,
 * pv_state_etcd_transport for the etcd backend: two views on one helper),
 * posting where test_helper_profiles.py says.
 *
 * usage: pv_views HELPER HELPER_USER CAFILE CERT KEY STATE_CAFILE
 *                 STATE_CERT STATE_KEY {p|e}:URL...
 * ("" leaves a setting unset).  For each request prints one line
 * "<p|e> <status> <http code> <body>", then "starts N shared S" (helper
 * processes started, whether the views share one).  Exit 0, 2 on a usage
 * or memory error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/pv_config.h"
#include "pam/pv_runtime.h"
#include "state/pv_state_open.h"
#include "transport/pv_http.h"
#include "base/pv_util.h"

static void set(char **field, const char *value)
{
    free(*field);
    *field = value[0] != '\0' ? pv_strdup(value) : NULL;
}

static void post(pv_transport *t, char which, const char *url)
{
    pv_http_request req;
    pv_http_response resp;

    memset(&req, 0, sizeof req);
    req.url = url;
    req.content_type = "application/json";
    req.body = "{}";
    req.body_len = 2;
    (void)pv_transport_post(t, &req, &resp);
    printf("%c %s %ld %s\n", which, pv_http_status_name(resp.status),
           resp.http_code, resp.body != NULL ? resp.body : "-");
    pv_http_response_clear(&resp);
}

int main(int argc, char **argv)
{
    pv_transport *prov, *etcd;
    pv_config *cfg;
    int i;

    if (argc < 9 || (cfg = pv_config_new()) == NULL) {
        fprintf(stderr,
                "usage: %s HELPER HELPER_USER CAFILE CERT KEY "
                "STATE_CAFILE STATE_CERT STATE_KEY {p|e}:URL...\n",
                argv[0]);
        return 2;
    }
    set(&cfg->helper, argv[1]);
    set(&cfg->helper_user, argv[2]);
    set(&cfg->cafile, argv[3]);
    set(&cfg->client_cert, argv[4]);
    set(&cfg->client_key, argv[5]);
    set(&cfg->state_cafile, argv[6]);
    set(&cfg->state_client_cert, argv[7]);
    set(&cfg->state_client_key, argv[8]);
    cfg->timeout = 5;
    cfg->connect_timeout = 3;
    cfg->state_timeout = 3;
    prov = pv_http_from_config(cfg);
    etcd = pv_state_etcd_transport(cfg, prov);
    if (prov == NULL || etcd == NULL)
        return 2;
    for (i = 9; i < argc; i++) {
        if ((argv[i][0] != 'p' && argv[i][0] != 'e') || argv[i][1] != ':')
            return 2;
        post(argv[i][0] == 'p' ? prov : etcd, argv[i][0], argv[i] + 2);
    }
    printf("starts %lu shared %d\n", pv_http_helper_starts(pv_http_of(prov)),
           pv_http_shares_helper(pv_http_of(prov), pv_http_of(etcd)));
    pv_transport_free(prov);
    pv_transport_free(etcd);
    pv_config_free(cfg);
    return 0;
}
