/* phoneverify_check.c - `phoneverify check-config`: the configuration
 * file as the module reads it, the break-glass file's hashes, and with
 * --service NAME the pam_phoneverify.so rules of /etc/pam.d/NAME (or
 * --pam-dir DIR), each checked with exactly the arguments libpam hands the
 * module (pv_pamd.c reads the rules as libpam does). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "cli/phoneverify_cli.h"
#include "policy/pv_breakglass.h"
#include "config/pv_config.h"
#include "cli/pv_pamd.h"
#include "base/pv_safefile.h"

#define PAM_DIR_DEFAULT "/etc/pam.d"

static void report_problem(void *ctx, const char *msg)
{
    (void)ctx;
    pv_cli_say(stderr, "phoneverify: error: %s", msg);
}

/* Lines of the break-glass file that can never match (a DES, MD5 or
 * SHA-crypt hash, a malformed line): the module ignores them, so only
 * check-config can tell the admin that these codes would fail during the
 * outage.  0 none, -1 some (reported). */
static int check_breakglass_file(const cli *c)
{
    if (c->cfg->breakglass_file == NULL)
        return 0;
    return pv_breakglass_check(c->cfg->breakglass_file, report_problem,
                               NULL) == 0
               ? 0
               : -1;
}

/* Whether text holds a line that is neither blank nor a comment; *state
 * carries the position across reads (0 line start, 1 in a comment). */
static int has_entry(const char *p, size_t n, int *state)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (p[i] == '\n')
            *state = 0;
        else if (*state == 0 && p[i] == '#')
            *state = 1;
        else if (*state == 0 && p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
            return 1;
    }
    return 0;
}

/* 1 when the users file (if lookup reads it) names nobody yet: a fresh
 * install creates it empty, so that is a state to report, not an error.
 * 0 otherwise; a file that cannot be read was already reported by the
 * configuration check. */
static int users_file_empty(const pv_config *cfg)
{
    char buf[4096];
    int fd, state = 0, found = 0, file = 0;
    ssize_t n = -1;
    size_t i;
    pv_err err;

    for (i = 0; i < cfg->n_lookup; i++)
        file |= cfg->lookup[i] == PV_LOOKUP_FILE;
    if (!file || cfg->users_file == NULL)
        return 0;
    pv_err_clear(&err);
    fd = pv_safe_open(cfg->users_file, PV_FILE_PUBLIC, NULL, &err);
    if (fd < 0)
        return 0;
    while (!found &&
           ((n = read(fd, buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR)))
        if (n > 0)
            found = has_entry(buf, (size_t)n, &state);
    close(fd);
    return !found && n == 0;
}

typedef struct rule_check {
    int rules, bad;
} rule_check;

/* One pam_phoneverify.so rule: its arguments through the module's own
 * procedure (conf= first, then the rest through the same setter). */
static int check_rule(void *ctx, const char *file, unsigned line,
                      const char *type, int argc, const char **argv)
{
    rule_check *rc = ctx;
    pv_config *cfg = NULL;
    pv_err err;

    rc->rules++;
    pv_err_clear(&err);
    if (strcmp(type, "auth") != 0) {
        pv_cli_say(stdout,
                   "%s:%u: %s rule ignored (the module does its work "
                   "in auth only)",
                   file, line, type);
        return 0;
    }
    if (pv_config_from_args(argc, argv, &cfg, &err) != 0) {
        pv_cli_say(stderr, "%s:%u: configuration error: %s", file, line,
                   err.msg);
        rc->bad++;
        return 0;
    }
    pv_cli_say(stdout, "%s:%u: pam_phoneverify.so: OK", file, line);
    if (cfg->breakglass_file != NULL &&
        pv_breakglass_check(cfg->breakglass_file, report_problem, NULL) != 0)
        rc->bad++;
    pv_config_free(cfg);
    return 0;
}

static int check_service(cli *c)
{
    rule_check rc = { 0, 0 };
    const char *dir = c->pam_dir != NULL ? c->pam_dir : PAM_DIR_DEFAULT;
    pv_err err;
    int n;

    pv_err_clear(&err);
    n = pv_pamd_rules(dir, c->service, check_rule, &rc, &err);
    if (n < 0) {
        pv_cli_say(stderr, "phoneverify: %s", err.msg);
        return EXIT_REFUSED;
    }
    if (n == 0) {
        pv_cli_say(stderr,
                   "phoneverify: %s/%s has no pam_phoneverify.so "
                   "rule (following its includes)",
                   dir, c->service);
        return EXIT_REFUSED;
    }
    if (rc.bad > 0) {
        pv_cli_say(stderr,
                   "phoneverify: service %s: %d of %d rule(s) have "
                   "errors (see above)",
                   c->service, rc.bad, rc.rules);
        return EXIT_REFUSED;
    }
    pv_cli_say(stderr, "phoneverify: service %s: configuration OK",
               c->service);
    return 0;
}

int pv_cli_check_config(cli *c, int argc, char **argv)
{
    int bad;

    (void)argc;
    (void)argv;
    if (c->service != NULL)
        return check_service(c);
    if (pv_cli_load_config(c) != 0)
        return EXIT_REFUSED;
    pv_config_dump(c->cfg, pv_cli_print_line, stdout);
    bad = check_breakglass_file(c) != 0;
    if (c->probe && pv_cli_probe(c->cfg) != 0)
        bad = 1;
    if (bad) {
        pv_cli_say(stderr,
                   "phoneverify: configuration has errors (see above)");
        return EXIT_REFUSED;
    }
    /* the module refuses a covered user it finds no phone for (nullok
     * aside): worth saying, but a fresh install is not an error */
    if (users_file_empty(c->cfg))
        pv_cli_say(stderr,
                   "phoneverify: no user enrolled yet (%s is empty): "
                   "enrol with phoneverify enroll USER +PHONE \"Name\"",
                   c->cfg->users_file);
    pv_cli_say(stderr, "phoneverify: configuration OK");
    return 0;
}
