/* probe.c - run pv_state_etcd_probe (the library call behind
 * `phoneverify check-config --probe` for state = etcd) from the fleet
 * tests without the CLI.
 *
 * usage: pv_etcd_probe HELPER ENDPOINTS CAFILE CERT KEY PREFIX
 * ("" leaves a setting unset).  Prints the probe's message; exit 0 when
 * every endpoint works, 1 otherwise, 2 on a usage error. */
#include <stdio.h>
#include <stdlib.h>

#include "config/pv_config.h"
#include "state/pv_state_etcd.h"
#include "base/pv_util.h"

static void set(char **field, const char *value)
{
    free(*field);
    *field = value[0] != '\0' ? pv_strdup(value) : NULL;
}

int main(int argc, char **argv)
{
    char msg[1024];
    pv_config *cfg;
    int rc;

    if (argc != 7) {
        fprintf(stderr, "usage: %s HELPER ENDPOINTS CAFILE CERT KEY PREFIX\n",
                argv[0]);
        return 2;
    }
    if ((cfg = pv_config_new()) == NULL)
        return 2;
    set(&cfg->helper, argv[1]);
    set(&cfg->state_endpoints, argv[2]);
    set(&cfg->state_cafile, argv[3]);
    set(&cfg->state_client_cert, argv[4]);
    set(&cfg->state_client_key, argv[5]);
    set(&cfg->state_prefix, argv[6]);
    cfg->state_timeout = 2;
    rc = pv_state_etcd_probe(cfg, msg, sizeof msg);
    printf("%s\n", msg);
    pv_config_free(cfg);
    return rc == 0 ? 0 : 1;
}
