/* phoneverify.c - the admin CLI (phoneverify(1)).
 *
 * Every subcommand goes through the same library code as the module:
 * check-config calls pv_config_from_args exactly as pam_sm_authenticate
 * does, `test` runs pv_flow_run with a terminal conversation.
 *
 * Options (--conf PATH, --help) may stand before or after the command;
 * `--` ends them, so that an argument starting with '-' can follow.
 *
 * Exit codes: 0 success; 1 the operation failed or was refused (invalid
 * configuration, login refused, user unknown); 2 usage error. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include "policy/pv_breakglass.h"
#include "config/pv_config.h"
#include "flow/pv_flow.h"
#include "base/pv_i18n.h"
#include "policy/pv_lockout.h"
#include "policy/pv_sendlimit.h"
#include "base/pv_log.h"
#include "identity/pv_lookup.h"
#include "identity/pv_phone.h"
#include "pam/pv_runtime.h"
#include "state/pv_state.h"
#include "state/pv_state_open.h"
#include "cli/pv_termtext.h"
#include "identity/pv_users_edit.h"
#include "base/pv_util.h"
#include "cli/phoneverify_cli.h"

/* ---- shared ------------------------------------------------------------ */

/* The passwd entry of name (getpwnam_r into buf).  1 found, 0 no such
 * user, -1 the lookup failed. */
static int find_user(const char *name, struct passwd *pw, char *buf,
                     size_t size)
{
    struct passwd *res = NULL;
    int e = getpwnam_r(name, pw, buf, size, &res);

    if (res != NULL)
        return 1;
    return (e == 0 || e == ENOENT || e == ESRCH || e == EBADF || e == EPERM)
               ? 0
               : -1;
}

/* The absolute path of the configuration file: --conf (a relative one
 * made absolute for convenience: the module accepts only absolute conf=
 * paths) or the default.  0 ok, -1 too long. */
int pv_cli_conf_path(const cli *c, char *buf, size_t size)
{
    char cwd[2048];

    if (c->conf == NULL)
        return pv_strlcpy(buf, PV_DEFAULT_CONF, size);
    if (c->conf[0] == '/')
        return pv_snprintf(buf, size, "%s", c->conf) < 0 ? -1 : 0;
    if (getcwd(cwd, sizeof(cwd)) == NULL)
        cwd[0] = '\0';
    return pv_snprintf(buf, size, "%s/%s", cwd, c->conf) < 0 ? -1 : 0;
}

/* The configuration, exactly as the module reads it from its PAM line
 * `conf=PATH` (or no argument at all for the default file). */
int pv_cli_load_config(cli *c)
{
    char confarg[4096 + 5];
    const char *argv[1];
    int argc = 0;
    pv_err err;

    pv_err_clear(&err);
    if (c->conf != NULL) {
        if (pv_strlcpy(confarg, "conf=", sizeof(confarg)) != 0 ||
            pv_cli_conf_path(c, confarg + 5, sizeof(confarg) - 5) != 0) {
            pv_cli_say(stderr, "phoneverify: --conf path too long");
            return -1;
        }
        argv[argc++] = confarg;
    }
    if (pv_config_from_args(argc, argv, &c->cfg, &err) != 0) {
        pv_cli_say(stderr, "phoneverify: configuration error: %s", err.msg);
        return -1;
    }
    return 0;
}

enum named_file {
    NAMED_USERS_FILE,
    NAMED_BREAKGLASS_FILE
};

/* enroll and breakglass write a file the configuration names, and the
 * configuration check (rightly, for the module) refuses a named file that
 * does not exist.  So before the check, create the missing file empty,
 * with the mode it will keep (O_EXCL|O_NOFOLLOW: never an existing file
 * or a symlink); main removes it again when the command fails.  Anything
 * unusual (the file cannot be read, the key is not set) is left for
 * load_config to report.  0 ok, -1 the file could not be created. */
static int create_missing(cli *c, enum named_file which, mode_t mode)
{
    char conf[4096];
    pv_config *cfg = pv_config_new();
    const char *path;
    pv_err err;
    int fd, rc = 0;

    pv_err_clear(&err);
    if (cfg == NULL || pv_cli_conf_path(c, conf, sizeof(conf)) != 0 ||
        pv_config_load_file(cfg, conf, &err) != 0)
        goto out;
    path = which == NAMED_USERS_FILE ? cfg->users_file : cfg->breakglass_file;
    if (path == NULL || path[0] != '/')
        goto out;
    fd = open(path,
              O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC,
              mode);
    if (fd < 0) {
        if (errno != EEXIST) {
            pv_cli_say(stderr, "phoneverify: cannot create %s: %s", path,
                       pv_strerror(errno));
            rc = -1;
        }
        goto out;
    }
    (void)fchmod(fd, mode); /* whatever the umask */
    close(fd);
    c->created = strdup(path);
    if (c->created == NULL) {
        (void)unlink(path);
        rc = -1;
    }
out:
    pv_config_free(cfg);
    return rc;
}

void pv_cli_print_line(void *ctx, const char *text)
{
    pv_cli_say((FILE *)ctx, "%s", text);
}

void pv_cli_log_stderr(void *ctx, int prio, const char *msg)
{
    (void)ctx;
    pv_cli_say(stderr, "phoneverify: %s%s", prio <= LOG_ERR ? "error: " : "",
               msg);
}

static void print_identity(const char *source, enum pv_lookup_result r,
                           const pv_identity *id, const pv_err *err)
{
    char masked[64] = "-";

    if (r == PV_LOOKUP_ERROR) {
        pv_cli_say(stdout, "%-8s error: %s", source, err->msg);
        return;
    }
    if (r == PV_LOOKUP_NOT_FOUND) {
        pv_cli_say(stdout, "%-8s not found", source);
        return;
    }
    if (id->has_phone)
        pv_phone_mask(&id->phone, " ", masked, sizeof(masked));
    pv_cli_say(stdout, "%-8s phone=%s name=%s email=%s", source, masked,
               id->name[0] ? id->name : "-", id->email[0] ? id->email : "-");
}

/* ---- subcommands -------------------------------------------------------- */

static int gecos_of(const char *user, char *buf, size_t size)
{
    struct passwd pw;
    char pwbuf[16384];

    if (find_user(user, &pw, pwbuf, sizeof(pwbuf)) != 1)
        return -1;
    return pv_strlcpy(buf, pw.pw_gecos ? pw.pw_gecos : "", size);
}

static int cmd_lookup(cli *c, int argc, char **argv)
{
    char gecos[1024];
    size_t i;
    int found = 0;

    (void)argc;
    if (pv_cli_load_config(c) != 0)
        return EXIT_REFUSED;
    if (gecos_of(argv[0], gecos, sizeof(gecos)) != 0) {
        pv_cli_say(stderr, "phoneverify: %s: no such user", argv[0]);
        return EXIT_REFUSED;
    }
    for (i = 0; i < c->cfg->n_lookup; i++) {
        pv_identity id;
        pv_err err;
        enum pv_lookup_result r;

        memset(&id, 0, sizeof(id));
        pv_err_clear(&err);
        r = pv_lookup_source(c->cfg, c->cfg->lookup[i], argv[0], gecos, &id,
                             &err);
        print_identity(pv_lookup_source_name(c->cfg->lookup[i]), r, &id, &err);
        found |= r == PV_LOOKUP_FOUND;
    }
    if (!found)
        pv_cli_say(stderr,
                   "phoneverify: %s: no source has a phone number or "
                   "e-mail address",
                   argv[0]);
    return found ? 0 : EXIT_REFUSED;
}

static int cmd_test(cli *c, int argc, char **argv)
{
    pv_flow_env env;
    pv_outcome out;
    pv_login login = { argv[0], "phoneverify-test", NULL, NULL, NULL, NULL };
    pv_catalog *catalog = NULL;
    char record[1024];
    enum pv_result r;
    pv_err err;

    (void)argc;
    if (pv_cli_load_config(c) != 0)
        return EXIT_REFUSED;
    pv_err_clear(&err);
    if (pv_catalog_load(c->cfg->locale_dir, c->cfg->language, &catalog,
                        &err) != 0) {
        pv_cli_say(stderr, "phoneverify: configuration error: language: %s",
                   err.msg);
        return EXIT_REFUSED;
    }
    memset(&env, 0, sizeof(env));
    env.catalog = catalog;
    env.conv = pv_cli_terminal_conv();
    env.clock = pv_clock_system();
    env.logger = (pv_logger){ pv_cli_log_stderr, NULL };
    env.http = pv_http_from_config(c->cfg);
    if (env.http == NULL) {
        pv_cli_say(stderr, "phoneverify: out of memory");
        pv_catalog_free(catalog);
        return EXIT_REFUSED;
    }
    r = pv_flow_run(c->cfg, &login, &env, &out);
    pv_transport_free(env.http);
    pv_catalog_free(catalog);
    (void)pv_outcome_format(&login, &out, "-", record, sizeof(record));
    pv_cli_say(stdout, "result: %s", pv_result_name(r));
    pv_cli_say(stdout, "%s", record);
    return (r == PV_RESULT_SUCCESS || r == PV_RESULT_IGNORE ||
            r == PV_RESULT_GRACE)
               ? 0
               : EXIT_REFUSED;
}

static int open_state(cli *c, pv_state **st)
{
    pv_err err;

    pv_err_clear(&err);
    if (pv_cli_load_config(c) != 0)
        return -1;
    if (pv_state_open(c->cfg, st, &err) != 0) {
        pv_cli_say(stderr, "phoneverify: state: %s", err.msg);
        return -1;
    }
    (*st)->logger = (pv_logger){ pv_cli_log_stderr, NULL };
    return 0;
}

/* The grants the module would honour now: ended ones (past `grace`,
 * voided by a lockout or unlock: grants_void of the user's record) are
 * not listed. */
static size_t live_grants(const pv_config *cfg, const pv_state_record *g,
                          time_t grants_void, time_t now, time_t *last)
{
    size_t i, n = 0;

    *last = 0;
    for (i = 0; i < g->n_grants; i++) {
        time_t end = pv_state_grant_end(g, i, cfg->grace);

        if (end <= now || g->grant_at[i] > now ||
            g->grant_at[i] <= grants_void)
            continue;
        n++;
        if (end > *last)
            *last = end;
    }
    return n;
}

/* ", 3 of 10 code(s) sent in the last 3600 s" (send_limit, send_window),
 * and when the budget is spent when the next one is allowed. */
static void budget_text(const pv_config *cfg, const pv_state_record *rec,
                        time_t now, char *buf, size_t size)
{
    pv_sendlimit_policy pol = { cfg->send_limit, cfg->send_window };
    unsigned long sent;
    long frees_in;

    pv_sendlimit_status(rec, &pol, now, &sent, &frees_in);
    if (frees_in > 0)
        (void)pv_snprintf(buf, size,
                          ", %lu of %ld code(s) sent in the last %ld s: send "
                          "limit reached, the next in %ld s",
                          sent, cfg->send_limit, cfg->send_window, frees_in);
    else
        (void)pv_snprintf(buf, size,
                          ", %lu of %ld code(s) sent in the last %ld s", sent,
                          cfg->send_limit, cfg->send_window);
}

/* rec: the user's record; g: the user's grants in this host's store
 * (rec itself with state = file). */
static void print_status(const pv_config *cfg, const char *user,
                         const pv_state_record *rec, const pv_state_record *g)
{
    pv_lockout_policy pol = { cfg->lockout_failures, cfg->lockout_window,
                              cfg->lockout_time };
    time_t now = time(NULL), until = 0;
    int locked = pv_lockout_active(rec, &pol, now, &until);

    char unlocks[64] = "", pending[64] = "", grants[80] = "", sends[128];
    time_t grant_end = 0;
    size_t n_grants = live_grants(cfg, g, rec->grants_void, now, &grant_end);

    if (n_grants > 0)
        (void)pv_snprintf(grants, sizeof(grants),
                          ", %zu grace grant(s), the last expiring in %lld s",
                          n_grants, (long long)(grant_end - now));
    if (locked)
        (void)pv_snprintf(unlocks, sizeof(unlocks), ", unlocks in %lld s",
                          (long long)(until - now));
    if (rec->pending_id[0] != '\0' && rec->pending_expires > now)
        (void)pv_snprintf(pending, sizeof(pending),
                          ", code pending for %lld s",
                          (long long)(rec->pending_expires - now));
    budget_text(cfg, rec, now, sends, sizeof(sends));
    /* during a lockout: the failures that caused it (pv_lockout.c) */
    pv_cli_say(stdout, "%s: %s, %zu recent failure(s)%s%s%s%s", user,
               locked ? "LOCKED" : "not locked",
               pv_lockout_failures(rec, &pol, now), unlocks, sends, pending,
               grants);
}

/* One user's line.  A record that cannot be read (a FIFO, a symlink,
 * a file someone else owns) is reported in its place: on stdout in the
 * listing of every user, so the listing goes on; on stderr for one user.
 * 0 shown, -1 reported. */
static int status_one(cli *c, pv_state *st, const char *user, int listing)
{
    pv_state_record rec, grants;
    pv_state *gst = NULL;
    pv_err err;
    int opened = 0, rc = -1;

    pv_err_clear(&err);
    pv_state_record_clear(&grants);
    if (pv_state_read(st, user, &rec, &err) != 0)
        goto out;
    /* grants live in this host's file store, whatever `state` says */
    if (pv_state_grant_store(c->cfg, st, &gst, &opened, &err) != 0 ||
        (gst != st && pv_state_read(gst, user, &grants, &err) != 0))
        goto out;
    print_status(c->cfg, user, &rec, gst != st ? &grants : &rec);
    rc = 0;
out:
    if (rc != 0 && listing)
        pv_cli_say(stdout, "%s: ERROR: %s", user, err.msg);
    else if (rc != 0)
        pv_cli_say(stderr, "phoneverify: %s", err.msg);
    if (opened)
        pv_state_close(gst);
    pv_state_record_clear(&rec);
    pv_state_record_clear(&grants);
    return rc;
}

struct names {
    char **v;
    size_t n, cap;
};

static int add_name(const char *user, void *ctx)
{
    struct names *ns = ctx;

    if (ns->n == ns->cap) {
        size_t cap = ns->cap ? ns->cap * 2 : 16;
        char **more = realloc(ns->v, cap * sizeof(*more));

        if (more == NULL)
            return -1;
        ns->v = more;
        ns->cap = cap;
    }
    if ((ns->v[ns->n] = strdup(user)) == NULL)
        return -1;
    ns->n++;
    return 0;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every user with a record in the store `state` names (pv_state_list). */
static int status_all(cli *c, pv_state *st)
{
    struct names ns = { NULL, 0, 0 };
    size_t unnamed = 0, bad = 0, i;
    pv_err err;
    int rc = 0;

    pv_err_clear(&err);
    if (pv_state_list(st, add_name, &ns, &unnamed, &err) != 0) {
        pv_cli_say(stderr, "phoneverify: %s",
                   err.msg[0] != '\0' ? err.msg : "out of memory");
        rc = EXIT_REFUSED;
    }
    if (ns.n > 0)
        qsort(ns.v, ns.n, sizeof(*ns.v), cmp_names);
    /* every user is listed, whatever an earlier record held */
    for (i = 0; i < ns.n; i++) {
        if (rc == 0 && status_one(c, st, ns.v[i], 1) != 0)
            bad++;
        free(ns.v[i]);
    }
    free(ns.v);
    if (rc == 0 && ns.n == 0 && unnamed == 0)
        pv_cli_say(stdout, "no state recorded");
    if (rc == 0 && unnamed > 0)
        pv_cli_say(stdout,
                   "%zu record(s) of over-long user names (stored under "
                   "a hash) not listed: ask for them by name",
                   unnamed);
    if (bad > 0) {
        pv_cli_say(stderr,
                   "phoneverify: %zu record(s) could not be read (listed "
                   "with ERROR)",
                   bad);
        rc = EXIT_REFUSED;
    }
    return rc;
}

static int cmd_status(cli *c, int argc, char **argv)
{
    pv_state *st = NULL;
    int rc;

    if (open_state(c, &st) != 0)
        return EXIT_REFUSED;
    if (argc == 0)
        rc = status_all(c, st);
    else
        rc = status_one(c, st, argv[0], 0) == 0 ? 0 : EXIT_REFUSED;
    pv_state_close(st);
    return rc;
}

static int unlock_cb(pv_state_record *rec, void *ctx)
{
    const time_t *now = ctx;

    pv_lockout_reset(rec);
    /* the send budget too: the administrator vouches for the user */
    pv_sendlimit_clear(rec);
    /* grace grants too, on every host (grants_void is shared with etcd):
     * an administrator unlocking a user wants the next login to ask for
     * a code */
    pv_state_grants_void(rec, *now);
    return 0;
}

/* unlock clears the record of a user the system knows, under the
 * canonical name the module keys the state by (getpwnam_r's pw_name): a
 * typo must not "succeed" and leave the real user locked out, nor
 * create records for names that are not users. */
static int cmd_unlock(cli *c, int argc, char **argv)
{
    pv_state *st = NULL;
    struct passwd pw;
    char pwbuf[16384];
    pv_err err;
    time_t now;
    int rc, known;

    (void)argc;
    known = find_user(argv[0], &pw, pwbuf, sizeof(pwbuf));
    if (known != 1) {
        pv_cli_say(stderr, "phoneverify: unlock: %s: %s", argv[0],
                   known == 0 ? "no such user" : "user lookup failed");
        return EXIT_REFUSED;
    }
    if (open_state(c, &st) != 0)
        return EXIT_REFUSED;
    pv_err_clear(&err);
    now = time(NULL);
    rc = pv_state_update(st, pw.pw_name, unlock_cb, &now, &err);
    if (rc != 0)
        pv_cli_say(stderr, "phoneverify: %s", err.msg);
    else
        pv_cli_say(stdout, "%s: unlocked", pw.pw_name);
    pv_state_close(st);
    return rc == 0 ? 0 : EXIT_REFUSED;
}

static int cmd_enroll(cli *c, int argc, char **argv)
{
    struct passwd pw;
    char pwbuf[16384];
    pv_err err;

    if (create_missing(c, NAMED_USERS_FILE, 0644) != 0 ||
        pv_cli_load_config(c) != 0)
        return EXIT_REFUSED;
    pv_err_clear(&err);
    if (pv_users_set(c->cfg->users_file, argv[0], argv[1],
                     argc > 2 ? argv[2] : "", argc > 3 ? argv[3] : "",
                     &err) != 0) {
        pv_cli_say(stderr, "phoneverify: enroll: %s", err.msg);
        return EXIT_REFUSED;
    }
    pv_cli_say(stdout, "%s: enrolled in %s", argv[0], c->cfg->users_file);
    if (find_user(argv[0], &pw, pwbuf, sizeof(pwbuf)) != 1)
        pv_cli_say(stderr,
                   "phoneverify: warning: %s is not a known user (yet); "
                   "the module refuses users it cannot resolve",
                   argv[0]);
    return 0;
}

static int cmd_breakglass(cli *c, int argc, char **argv)
{
    char **codes = NULL, pwbuf[16384];
    struct passwd pw;
    long n = 5;
    pv_err err;
    size_t i;

    if (argc > 1 && pv_parse_long(argv[1], 1, 20, &n) != 0) {
        pv_cli_say(stderr, "phoneverify: breakglass: N must be 1..20");
        return EXIT_USAGE;
    }
    /* Codes for a name the module would never resolve could never be
     * used: a typo here would surface only during the outage. */
    if (!pv_user_name_valid(argv[0])) {
        pv_cli_say(stderr, "phoneverify: breakglass: invalid user name");
        return EXIT_REFUSED;
    }
    if (find_user(argv[0], &pw, pwbuf, sizeof(pwbuf)) != 1) {
        pv_cli_say(stderr, "phoneverify: %s: no such user", argv[0]);
        return EXIT_REFUSED;
    }
    if (create_missing(c, NAMED_BREAKGLASS_FILE, 0600) != 0 ||
        pv_cli_load_config(c) != 0)
        return EXIT_REFUSED;
    if (c->cfg->breakglass_file == NULL) {
        pv_cli_say(stderr, "phoneverify: breakglass_file is not configured");
        return EXIT_REFUSED;
    }
    pv_err_clear(&err);
    if (pv_breakglass_issue(c->cfg->breakglass_file, argv[0], (size_t)n, 10,
                            &codes, &err) != 0) {
        pv_cli_say(stderr, "phoneverify: breakglass: %s", err.msg);
        return EXIT_REFUSED;
    }
    pv_cli_say(stdout,
               "Emergency codes for %s (each works once, only while the "
               "provider is unavailable; they are not shown again):",
               argv[0]);
    for (i = 0; i < (size_t)n; i++) {
        pv_cli_say(stdout, "  %.5s-%s", codes[i], codes[i] + 5);
        pv_free_secret(codes[i]);
    }
    free(codes);
    return 0;
}

/* ---- dispatch ----------------------------------------------------------- */

static const command commands[] = {
    { "check-config", "[--service NAME [--pam-dir DIR]] [--probe]",
      "validate the configuration and every file it names; print the "
      "effective settings (secrets masked); with --service, the "
      "pam_phoneverify.so rules of /etc/pam.d/NAME as the module gets "
      "them; with --probe, call each endpoint once (no message sent)",
      0, 0, pv_cli_check_config },
    { "lookup", "USER", "show what each lookup source finds for USER", 1, 1,
      cmd_lookup },
    { "test", "USER",
      "run the whole verification for USER in this "
      "terminal, through the module's code",
      1, 1, cmd_test },
    { "status", "[USER]",
      "show USER's lockout state (without USER: every "
      "user with a record)",
      0, 1, cmd_status },
    { "unlock", "USER", "clear USER's failures and lockout", 1, 1,
      cmd_unlock },
    { "enroll", "USER PHONE [NAME [EMAIL]]",
      "validate and write USER's "
      "line in the users file (atomically)",
      2, 4, cmd_enroll },
    { "breakglass", "USER [N]",
      "print N (default 5) fresh emergency codes "
      "once and store only their hashes",
      1, 2, cmd_breakglass },
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *fp)
{
    size_t i;

    fprintf(fp, "usage: phoneverify [--conf PATH] COMMAND [ARGS]\n\n"
                "commands:\n");
    for (i = 0; i < N_COMMANDS; i++)
        fprintf(fp, "  %-12s %-26s %s\n", commands[i].name, commands[i].args,
                commands[i].help);
    fprintf(fp,
            "\n'phoneverify COMMAND --help' describes one command.\n"
            "--conf PATH names a configuration file other than %s.\n"
            "--service NAME (check-config): also check the "
            "pam_phoneverify.so rules\n"
            "  of /etc/pam.d/NAME (--pam-dir DIR: of DIR/NAME).\n"
            "--probe (check-config): call each configured endpoint "
            "once, sending no message.\n"
            "'--' ends the options (for an argument that starts with "
            "'-').\n"
            "exit status: 0 success, 1 failed or refused, 2 usage "
            "error.\n",
            PV_DEFAULT_CONF);
}

static void command_usage(FILE *fp, const command *cmd)
{
    fprintf(fp, "usage: phoneverify [--conf PATH] %s%s%s\n", cmd->name,
            cmd->args[0] ? " " : "", cmd->args);
}

/* ---- options (getopt_long(3)) ------------------------------------------ */

enum {
    OPT_CONF = 256,
    OPT_PROBE,
    OPT_SERVICE,
    OPT_PAM_DIR
};

static const struct option long_opts[] = {
    { "help", no_argument, NULL, 'h' },
    { "conf", required_argument, NULL, OPT_CONF },
    { "probe", no_argument, NULL, OPT_PROBE },
    { "service", required_argument, NULL, OPT_SERVICE },
    { "pam-dir", required_argument, NULL, OPT_PAM_DIR },
    { NULL, 0, NULL, 0 },
};

/* The name of long option `val`, for the messages. */
static const char *opt_name(int val)
{
    size_t i;

    for (i = 0; long_opts[i].name != NULL; i++)
        if (long_opts[i].val == val)
            return long_opts[i].name;
    return "?";
}

/* getopt_long(3) takes any unambiguous prefix ("--pro"); only the full
 * names are options here, as documented in phoneverify(8). */
static int spelled_out(const char *tok, int val)
{
    const char *name = opt_name(val);
    size_t n = strlen(name);

    if (val == 'h')
        return 1;
    return tok != NULL && strncmp(tok, "--", 2) == 0 &&
           strncmp(tok + 2, name, n) == 0 &&
           (tok[2 + n] == '\0' || tok[2 + n] == '=');
}

/* A value option given once with a non-empty value.  0 ok, -1 refused
 * (message printed). */
static int set_value(const char **slot, int val, const char *value)
{
    if (val == OPT_CONF && (*slot != NULL || value[0] == '\0')) {
        fprintf(stderr, "phoneverify: %s\n",
                *slot != NULL ? "--conf is given more than once"
                              : "--conf needs a PATH");
        return -1;
    }
    if (*slot != NULL || value[0] == '\0') {
        fprintf(stderr, "phoneverify: --%s needs one value\n", opt_name(val));
        return -1;
    }
    *slot = value;
    return 0;
}

/* One option (or, with the leading '-' of the optstring, one operand in
 * its place: code 1).  0 ok, -1 usage error (message printed). */
static int take_option(cli *c, int opt, const char *tok, char **pos, int *npos,
                       int *help)
{
    if (opt != 1 && opt != '?' && opt != ':' && !spelled_out(tok, opt))
        opt = '?';
    switch (opt) {
    case 1:
        pos[(*npos)++] = optarg;
        return 0;
    case 'h':
        *help = 1;
        return 0;
    case OPT_PROBE:
        c->probe = 1;
        return 0;
    case OPT_CONF:
        return set_value(&c->conf, opt, optarg);
    case OPT_SERVICE:
        return set_value(&c->service, opt, optarg);
    case OPT_PAM_DIR:
        return set_value(&c->pam_dir, opt, optarg);
    case ':':
        if (optopt == OPT_CONF)
            fprintf(stderr, "phoneverify: --conf needs a PATH\n");
        else
            fprintf(stderr, "phoneverify: --%s needs one value\n",
                    opt_name(optopt));
        return -1;
    default:
        fprintf(stderr,
                "phoneverify: unknown option '%s' (use '--' "
                "before an argument that starts with '-')\n",
                tok != NULL ? tok : "?");
        return -1;
    }
}

/* Options anywhere among the operands, in order; '--' ends them.  The
 * leading '-' keeps operands in place whatever POSIXLY_CORRECT says, the
 * ':' makes a missing value our message, not getopt's. */
static int parse_args(cli *c, int argc, char **argv, char **pos, int *npos,
                      int *help)
{
    int opt;

    opterr = 0;
    for (;;) {
        const char *tok = optind < argc ? argv[optind] : NULL;

        opt = getopt_long(argc, argv, "-:h", long_opts, NULL);
        if (opt == -1)
            break;
        if (take_option(c, opt, tok, pos, npos, help) != 0)
            return -1;
    }
    while (optind < argc)
        pos[(*npos)++] = argv[optind++];
    return 0;
}

int main(int argc, char **argv)
{
    cli c = { NULL, NULL, NULL, 0, NULL, NULL };
    char **pos;
    int npos = 0, help = 0, rc;
    const command *cmd = NULL;
    size_t k;

    pos = calloc((size_t)argc + 1, sizeof(*pos));
    if (pos == NULL) {
        fprintf(stderr, "phoneverify: out of memory\n");
        return EXIT_REFUSED;
    }
    if (parse_args(&c, argc, argv, pos, &npos, &help) != 0) {
        free(pos);
        return EXIT_USAGE;
    }
    if (npos == 0) {
        usage(help ? stdout : stderr);
        free(pos);
        return help ? 0 : EXIT_USAGE;
    }
    for (k = 0; k < N_COMMANDS; k++)
        if (strcmp(pos[0], commands[k].name) == 0)
            cmd = &commands[k];
    if (cmd == NULL) {
        fprintf(stderr, "phoneverify: unknown command '%s'\n", pos[0]);
        usage(stderr);
        free(pos);
        return EXIT_USAGE;
    }
    if (help) {
        command_usage(stdout, cmd);
        printf("  %s\n", cmd->help);
        free(pos);
        return 0;
    }
    if (npos - 1 < cmd->min_args || npos - 1 > cmd->max_args) {
        command_usage(stderr, cmd);
        free(pos);
        return EXIT_USAGE;
    }
    rc = cmd->run(&c, npos - 1, pos + 1);
    if (rc != 0 && c.created != NULL)
        (void)unlink(c.created); /* created by this failed run */
    free(c.created);
    pv_config_free(c.cfg);
    free(pos);
    return rc;
}
