/* phoneverify.c - the admin CLI (SPEC section 6).
 *
 * Every subcommand goes through the same library code as the module:
 * check-config calls pv_config_from_args exactly as pam_sm_authenticate
 * does, `test` runs pv_flow_run with a terminal conversation.
 *
 * Exit codes: 0 success; 1 the operation failed or was refused (invalid
 * configuration, login refused, user unknown); 2 usage error. */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include "pv_breakglass.h"
#include "pv_config.h"
#include "pv_flow.h"
#include "pv_lockout.h"
#include "pv_log.h"
#include "pv_lookup.h"
#include "pv_phone.h"
#include "pv_runtime.h"
#include "pv_state.h"
#include "pv_users_edit.h"
#include "pv_util.h"

#define EXIT_REFUSED 1
#define EXIT_USAGE 2

typedef struct cli {
    const char *conf;           /* --conf PATH or NULL (default file) */
    pv_config *cfg;
} cli;

typedef struct command {
    const char *name;
    const char *args;
    const char *help;
    int min_args, max_args;
    int (*run)(cli *c, int argc, char **argv);
} command;

/* ---- shared ------------------------------------------------------------ */

static int load_config(cli *c)
{
    char confarg[4096];
    const char *argv[1];
    int argc = 0;
    pv_err err;

    pv_err_clear(&err);
    if (c->conf != NULL) {
        char cwd[2048];

        /* The module accepts only absolute conf= paths; so does the CLI,
         * but a relative --conf is made absolute for convenience. */
        if (c->conf[0] != '/' && getcwd(cwd, sizeof(cwd)) == NULL)
            cwd[0] = '\0';
        if ((c->conf[0] == '/'
                 ? pv_snprintf(confarg, sizeof(confarg), "conf=%s", c->conf)
                 : pv_snprintf(confarg, sizeof(confarg), "conf=%s/%s", cwd,
                               c->conf)) < 0) {
            fprintf(stderr, "phoneverify: --conf path too long\n");
            return -1;
        }
        argv[argc++] = confarg;
    }
    if (pv_config_from_args(argc, argv, &c->cfg, &err) != 0) {
        fprintf(stderr, "phoneverify: configuration error: %s\n", err.msg);
        return -1;
    }
    return 0;
}

static void print_line(void *ctx, const char *text)
{
    fprintf(ctx, "%s\n", text);
}

static void log_stderr(void *ctx, int prio, const char *msg)
{
    (void)ctx;
    fprintf(stderr, "phoneverify: %s%s\n",
            prio <= LOG_ERR ? "error: " : "", msg);
}

static void print_identity(const char *source, enum pv_lookup_result r,
                           const pv_identity *id, const pv_err *err)
{
    char masked[64] = "-";

    if (r == PV_LOOKUP_ERROR) {
        printf("%-8s error: %s\n", source, err->msg);
        return;
    }
    if (r == PV_LOOKUP_NOT_FOUND) {
        printf("%-8s not found\n", source);
        return;
    }
    if (id->has_phone)
        pv_phone_mask(&id->phone, " ", masked, sizeof(masked));
    printf("%-8s phone=%s name=%s email=%s\n", source, masked,
           id->name[0] ? id->name : "-", id->email[0] ? id->email : "-");
}

/* ---- subcommands -------------------------------------------------------- */

static int cmd_check_config(cli *c, int argc, char **argv)
{
    (void)argc;
    (void)argv;
    if (load_config(c) != 0)
        return EXIT_REFUSED;
    pv_config_dump(c->cfg, print_line, stdout);
    fprintf(stderr, "phoneverify: configuration OK\n");
    return 0;
}

static int gecos_of(const char *user, char *buf, size_t size)
{
    struct passwd *pw = getpwnam(user);     /* the CLI is single-threaded */

    if (pw == NULL)
        return -1;
    return pv_strlcpy(buf, pw->pw_gecos ? pw->pw_gecos : "", size);
}

static int cmd_lookup(cli *c, int argc, char **argv)
{
    char gecos[1024];
    size_t i;
    int found = 0;

    (void)argc;
    if (load_config(c) != 0)
        return EXIT_REFUSED;
    if (gecos_of(argv[0], gecos, sizeof(gecos)) != 0) {
        fprintf(stderr, "phoneverify: %s: no such user\n", argv[0]);
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
    return found ? 0 : EXIT_REFUSED;
}

/* Terminal conversation for `phoneverify test`. */
static int term_prompt(void *ctx, const char *msg, int echo, char **reply)
{
    char line[256];
    size_t n;

    (void)ctx;
    (void)echo;         /* a one-time code need not be hidden */
    fputs(msg, stdout);
    fflush(stdout);
    if (fgets(line, sizeof(line), stdin) == NULL)
        return -1;
    n = strcspn(line, "\r\n");
    line[n] = '\0';
    *reply = strdup(line);
    pv_wipe(line, sizeof(line));
    return *reply != NULL ? 0 : -1;
}

static int term_info(void *ctx, const char *msg)
{
    (void)ctx;
    printf("%s\n", msg);
    return 0;
}

static int term_error(void *ctx, const char *msg)
{
    (void)ctx;
    fprintf(stderr, "%s\n", msg);
    return 0;
}

static int cmd_test(cli *c, int argc, char **argv)
{
    pv_flow_env env;
    pv_outcome out;
    pv_login login = { argv[0], "phoneverify-test", NULL };
    char record[1024];
    enum pv_result r;

    (void)argc;
    if (load_config(c) != 0)
        return EXIT_REFUSED;
    memset(&env, 0, sizeof(env));
    env.conv = (pv_conv){ term_prompt, term_info, term_error, NULL };
    env.clock = pv_clock_system();
    env.logger = (pv_logger){ log_stderr, NULL };
    env.http = pv_http_from_config(c->cfg);
    if (env.http == NULL)
        return EXIT_REFUSED;
    r = pv_flow_run(c->cfg, &login, &env, &out);
    pv_http_free(env.http);
    (void)pv_log_format_outcome(&login, &out, "-", record, sizeof(record));
    printf("result: %s\n%s\n", pv_result_name(r), record);
    return (r == PV_RESULT_SUCCESS || r == PV_RESULT_IGNORE) ? 0
                                                             : EXIT_REFUSED;
}

static int open_state(cli *c, pv_state **st)
{
    pv_err err;

    pv_err_clear(&err);
    if (load_config(c) != 0)
        return -1;
    if (pv_state_open(c->cfg, st, &err) != 0) {
        fprintf(stderr, "phoneverify: state: %s\n", err.msg);
        return -1;
    }
    (*st)->log = log_stderr;
    return 0;
}

static void print_status(const pv_config *cfg, const char *user,
                         const pv_state_record *rec)
{
    pv_lockout_policy pol = { cfg->lockout_failures, cfg->lockout_window,
                              cfg->lockout_time };
    time_t now = time(NULL), until = 0;
    int locked = pv_lockout_active(rec, &pol, now, &until);

    printf("%s: %s, %zu recent failure(s)", user,
           locked ? "LOCKED" : "not locked", rec->n_failures);
    if (locked)
        printf(", unlocks in %lld s", (long long)(until - now));
    if (rec->pending_id[0] != '\0' && rec->pending_expires > now)
        printf(", code pending for %lld s",
               (long long)(rec->pending_expires - now));
    printf("\n");
}

static int cmd_status(cli *c, int argc, char **argv)
{
    pv_state *st = NULL;
    pv_state_record rec;
    pv_err err;
    int rc = EXIT_REFUSED;

    if (argc == 0) {
        fprintf(stderr, "phoneverify: status needs a USER with this "
                        "state backend\n");
        return EXIT_USAGE;
    }
    if (open_state(c, &st) != 0)
        return EXIT_REFUSED;
    pv_err_clear(&err);
    if (pv_state_read(st, argv[0], &rec, &err) == 0) {
        print_status(c->cfg, argv[0], &rec);
        pv_state_record_clear(&rec);
        rc = 0;
    } else {
        fprintf(stderr, "phoneverify: %s\n", err.msg);
    }
    pv_state_close(st);
    return rc;
}

static int unlock_cb(pv_state_record *rec, void *ctx)
{
    (void)ctx;
    pv_lockout_reset(rec);
    return 0;
}

static int cmd_unlock(cli *c, int argc, char **argv)
{
    pv_state *st = NULL;
    pv_err err;
    int rc;

    (void)argc;
    if (open_state(c, &st) != 0)
        return EXIT_REFUSED;
    pv_err_clear(&err);
    rc = pv_state_update(st, argv[0], unlock_cb, NULL, &err);
    if (rc != 0)
        fprintf(stderr, "phoneverify: %s\n", err.msg);
    else
        printf("%s: unlocked\n", argv[0]);
    pv_state_close(st);
    return rc == 0 ? 0 : EXIT_REFUSED;
}

static int cmd_enroll(cli *c, int argc, char **argv)
{
    pv_err err;

    if (load_config(c) != 0)
        return EXIT_REFUSED;
    pv_err_clear(&err);
    if (pv_users_set(c->cfg->users_file, argv[0], argv[1],
                     argc > 2 ? argv[2] : "", argc > 3 ? argv[3] : "",
                     &err) != 0) {
        fprintf(stderr, "phoneverify: enroll: %s\n", err.msg);
        return EXIT_REFUSED;
    }
    printf("%s: enrolled in %s\n", argv[0], c->cfg->users_file);
    return 0;
}

static int cmd_breakglass(cli *c, int argc, char **argv)
{
    char **codes = NULL;
    long n = 5;
    pv_err err;
    size_t i;

    if (argc > 1 && pv_parse_long(argv[1], 1, 20, &n) != 0) {
        fprintf(stderr, "phoneverify: breakglass: N must be 1..20\n");
        return EXIT_USAGE;
    }
    if (load_config(c) != 0)
        return EXIT_REFUSED;
    if (c->cfg->breakglass_file == NULL) {
        fprintf(stderr, "phoneverify: breakglass_file is not configured\n");
        return EXIT_REFUSED;
    }
    pv_err_clear(&err);
    if (pv_breakglass_issue(c->cfg->breakglass_file, argv[0], (size_t)n, 10,
                            &codes, &err) != 0) {
        fprintf(stderr, "phoneverify: breakglass: %s\n", err.msg);
        return EXIT_REFUSED;
    }
    printf("Emergency codes for %s (each works once, only while the "
           "provider is unavailable; they are not shown again):\n", argv[0]);
    for (i = 0; i < (size_t)n; i++) {
        printf("  %.5s-%s\n", codes[i], codes[i] + 5);
        pv_free_secret(codes[i]);
    }
    free(codes);
    return 0;
}

/* ---- dispatch ----------------------------------------------------------- */

static const command commands[] = {
    { "check-config", "", "validate the configuration and every file it "
      "names; print the effective settings (secrets masked)", 0, 0,
      cmd_check_config },
    { "lookup", "USER", "show what each lookup source finds for USER",
      1, 1, cmd_lookup },
    { "test", "USER", "run the whole verification for USER in this "
      "terminal, through the module's code", 1, 1, cmd_test },
    { "status", "USER", "show USER's lockout state", 0, 1, cmd_status },
    { "unlock", "USER", "clear USER's failures and lockout", 1, 1,
      cmd_unlock },
    { "enroll", "USER PHONE [NAME [EMAIL]]", "validate and write USER's "
      "line in the users file (atomically)", 2, 4, cmd_enroll },
    { "breakglass", "USER [N]", "print N (default 5) fresh emergency codes "
      "once and store only their hashes", 1, 2, cmd_breakglass },
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
    fprintf(fp, "\n'phoneverify COMMAND --help' describes one command.\n"
                "exit status: 0 success, 1 failed or refused, 2 usage "
                "error.\n");
}

static int run_command(cli *c, const command *cmd, int argc, char **argv)
{
    if (argc > 0 && (strcmp(argv[0], "--help") == 0 ||
                     strcmp(argv[0], "-h") == 0)) {
        printf("usage: phoneverify [--conf PATH] %s %s\n  %s\n", cmd->name,
               cmd->args, cmd->help);
        return 0;
    }
    if (argc < cmd->min_args || argc > cmd->max_args) {
        fprintf(stderr, "usage: phoneverify [--conf PATH] %s %s\n",
                cmd->name, cmd->args);
        return EXIT_USAGE;
    }
    return cmd->run(c, argc, argv);
}

int main(int argc, char **argv)
{
    cli c = { NULL, NULL };
    int i = 1, rc = EXIT_USAGE;
    size_t k;

    if (argc > i + 1 && strcmp(argv[i], "--conf") == 0) {
        c.conf = argv[i + 1];
        i += 2;
    }
    if (i >= argc || strcmp(argv[i], "--help") == 0 ||
        strcmp(argv[i], "-h") == 0) {
        usage(i >= argc ? stderr : stdout);
        return i >= argc ? EXIT_USAGE : 0;
    }
    for (k = 0; k < N_COMMANDS; k++)
        if (strcmp(argv[i], commands[k].name) == 0)
            break;
    if (k == N_COMMANDS) {
        fprintf(stderr, "phoneverify: unknown command '%s'\n", argv[i]);
        usage(stderr);
        return EXIT_USAGE;
    }
    rc = run_command(&c, &commands[k], argc - i - 1, argv + i + 1);
    pv_config_free(c.cfg);
    return rc;
}
