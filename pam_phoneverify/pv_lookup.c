/* pv_lookup.c - where a user's phone number comes from: the users file,
 * the GECOS field, or an administrator's lookup command.
 *
 * The user name reaching this code may be whatever a remote client typed,
 * so it is treated as hostile: it is only ever compared, never parsed, and
 * a name no account could have is simply not found. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include "pv_lookup.h"
#include "pv_safefile.h"
#include "pv_spawn.h"
#include "pv_util.h"

#define USER_NAME_MAX 256               /* LOGIN_NAME_MAX on Linux */
#define PHONE_TEXT_MAX 32               /* longest spelling worth parsing */
#define CMD_TIMEOUT_MS 5000
#define CMD_OUTPUT_MAX 4096
#define USERS_FIELDS_MAX 4

/* A piece of a larger text; users-file text need not be NUL-terminated. */
struct span {
    const char *p;
    size_t n;
};

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

static struct span trim(struct span s)
{
    while (s.n > 0 && is_blank(s.p[0])) {
        s.p++;
        s.n--;
    }
    while (s.n > 0 && is_blank(s.p[s.n - 1]))
        s.n--;
    return s;
}

static int span_eq(struct span s, const char *str)
{
    return strlen(str) == s.n && memcmp(s.p, str, s.n) == 0;
}

/* No control bytes (NUL, tab and newline included): names and e-mail
 * addresses end up in prompts, JSON bodies and log lines. */
static int span_clean(struct span s)
{
    for (size_t i = 0; i < s.n; i++) {
        unsigned char c = (unsigned char)s.p[i];
        if (c < 0x20 || c == 0x7f)
            return 0;
    }
    return 1;
}

/* Copy into dst as a string; dst is left "" when it does not fit. */
static int span_copy(struct span s, char *dst, size_t size)
{
    if (s.n >= size) {
        dst[0] = '\0';
        return -1;
    }
    memcpy(dst, s.p, s.n);
    dst[s.n] = '\0';
    return 0;
}

static int span_phone(struct span s, pv_phone *out)
{
    char text[PHONE_TEXT_MAX];

    if (!span_clean(s) || span_copy(s, text, sizeof text) != 0)
        return -1;
    return pv_phone_parse(text, out);
}

/* A name some account could have.  Anything else (empty, over-long,
 * control characters, ':' or '/', a leading '-' that a lookup command
 * would read as an option) is not looked up at all. */
int pv_user_name_valid(const char *user)
{
    size_t n;

    if (!user)
        return 0;
    n = strnlen(user, USER_NAME_MAX + 1);
    if (n == 0 || n > USER_NAME_MAX || user[0] == '-')
        return 0;
    if (!span_clean((struct span){ user, n }))
        return 0;
    return strpbrk(user, ":/") == NULL;
}

/* ---- users file ---------------------------------------------------- */

/* Split at ':' into at most USERS_FIELDS_MAX fields; returns the field
 * count, or USERS_FIELDS_MAX + 1 when there are more. */
static size_t split_fields(struct span line, struct span *f)
{
    size_t nf = 0;
    const char *p = line.p, *end = line.p + line.n;

    for (;;) {
        const char *colon = memchr(p, ':', (size_t)(end - p));
        const char *stop = colon ? colon : end;

        if (nf == USERS_FIELDS_MAX)
            return USERS_FIELDS_MAX + 1;
        f[nf++] = trim((struct span){ p, (size_t)(stop - p) });
        if (!colon)
            return nf;
        p = colon + 1;
    }
}

/* Fill id from the fields of the user's own line. */
static enum pv_lookup_result users_entry(const struct span *f, size_t nf,
                                         pv_identity *id)
{
    struct span none = { "", 0 };
    struct span name = nf > 2 ? f[2] : none;
    struct span email = nf > 3 ? f[3] : none;

    if (nf < 2 || nf > USERS_FIELDS_MAX)
        return PV_LOOKUP_ERROR;
    if (f[1].n > 0) {
        if (span_phone(f[1], &id->phone) != 0)
            return PV_LOOKUP_ERROR;
        id->has_phone = 1;
    }
    if (name.n > 0 && (!span_clean(name) ||
                       span_copy(name, id->name, sizeof id->name) != 0))
        return PV_LOOKUP_ERROR;
    if (email.n > 0 && (span_copy(email, id->email, sizeof id->email) != 0 ||
                        !pv_email_valid(id->email)))
        return PV_LOOKUP_ERROR;
    /* A line that names the user but gives nowhere to send a code is a
     * mistake worth reporting, not an absent user. */
    if (!id->has_phone && id->email[0] == '\0')
        return PV_LOOKUP_ERROR;
    return PV_LOOKUP_FOUND;
}

enum pv_lookup_result pv_users_find(const char *text, size_t len,
                                    const char *user, pv_identity *id,
                                    unsigned *bad_line)
{
    const char *p = text, *end;
    unsigned lineno = 0;

    memset(id, 0, sizeof *id);
    if (bad_line)
        *bad_line = 0;
    if (!text || !pv_user_name_valid(user))
        return PV_LOOKUP_NOT_FOUND;
    end = text + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        struct span line = trim((struct span){ p, (size_t)((nl ? nl : end) - p) });
        struct span f[USERS_FIELDS_MAX];
        size_t nf;
        enum pv_lookup_result r;

        p = nl ? nl + 1 : end;
        lineno++;
        if (line.n == 0 || line.p[0] == '#')
            continue;
        nf = split_fields(line, f);
        if (!span_eq(f[0], user))
            continue;               /* other users' lines are not ours to judge */
        r = users_entry(f, nf, id);  /* the first line for the user wins */
        if (r == PV_LOOKUP_ERROR) {
            memset(id, 0, sizeof *id);
            if (bad_line)
                *bad_line = lineno;
        }
        return r;
    }
    return PV_LOOKUP_NOT_FOUND;
}

/* ---- GECOS --------------------------------------------------------- */

/* Field n (1-based) of a comma-separated GECOS string; p is NULL when the
 * string has fewer fields. */
static struct span gecos_field(const char *gecos, long n)
{
    const char *p = gecos;

    for (long i = 1; i < n; i++) {
        p = strchr(p, ',');
        if (!p)
            return (struct span){ NULL, 0 };
        p++;
    }
    return (struct span){ p, strcspn(p, ",") };
}

enum pv_lookup_result pv_gecos_find(const char *gecos, long field,
                                    pv_identity *id)
{
    struct span ph, name;

    memset(id, 0, sizeof *id);
    if (!gecos || field < 1)
        return PV_LOOKUP_NOT_FOUND;
    ph = gecos_field(gecos, field);
    /* The phone fields of GECOS hold free text ("x1234", "none"): only a
     * valid number counts, anything else means "not here". */
    if (!ph.p || span_phone(trim(ph), &id->phone) != 0) {
        memset(id, 0, sizeof *id);
        return PV_LOOKUP_NOT_FOUND;
    }
    id->has_phone = 1;
    if (field != 1) {
        name = trim(gecos_field(gecos, 1));
        if (span_clean(name))
            (void)span_copy(name, id->name, sizeof id->name);
    }
    return PV_LOOKUP_FOUND;
}

/* ---- lookup command output ----------------------------------------- */

static const char *first_blank(const char *p, const char *end)
{
    while (p < end && *p != ' ' && *p != '\t')
        p++;
    return p;
}

enum pv_lookup_result pv_command_output_parse(const char *out, size_t len,
                                              pv_identity *id)
{
    const char *nl, *end, *cut;
    struct span line, name;

    memset(id, 0, sizeof *id);
    if (!out || memchr(out, '\0', len))
        return out ? PV_LOOKUP_ERROR : PV_LOOKUP_NOT_FOUND;
    nl = memchr(out, '\n', len);
    line = trim((struct span){ out, (size_t)((nl ? nl : out + len) - out) });
    if (line.n == 0)
        return PV_LOOKUP_NOT_FOUND;     /* the command does not know the user */
    end = line.p + line.n;
    cut = first_blank(line.p, end);
    if (span_phone((struct span){ line.p, (size_t)(cut - line.p) },
                   &id->phone) != 0) {
        /* "+CC NATIONAL": a country code alone is never a number, so the
         * next word belongs to the phone. */
        cut = cut < end ? first_blank(cut + 1, end) : end;
        if (span_phone((struct span){ line.p, (size_t)(cut - line.p) },
                       &id->phone) != 0)
            goto bad;
    }
    id->has_phone = 1;
    name = trim((struct span){ cut, (size_t)(end - cut) });
    if (name.n > 0 && (!span_clean(name) ||
                       span_copy(name, id->name, sizeof id->name) != 0))
        goto bad;
    return PV_LOOKUP_FOUND;
bad:
    memset(id, 0, sizeof *id);
    return PV_LOOKUP_ERROR;
}

/* ---- running the lookup command ------------------------------------ */

/* The command runs through pv_spawn: opened once and checked (parents
 * included), executed through that descriptor, as lookup_command_user,
 * empty environment, own session, resource limits; `contain` puts it
 * under a subreaper that kills everything it started (setsid or not) when
 * it ends or at the time limit. */
#define CMD_CPU_SECONDS 5
#define CMD_MEM_MIB 512
#define CMD_NOFILE 64
#define CMD_NPROC 1024                  /* counts every process of the user
                                         * (nobody may run many): a bound
                                         * for a fork bomb, not a quota */

/* Read stdout until EOF; -1 on timeout, overflow or read error. */
static int cmd_read(int fd, int64_t deadline, char *buf, size_t *len,
                    pv_err *err)
{
    for (;;) {
        int64_t left = deadline - pv_monotonic_ms();
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        ssize_t n;
        int ready;

        if (left <= 0) {
            pv_err_set(err, "timed out after %d s", CMD_TIMEOUT_MS / 1000);
            return -1;
        }
        ready = poll(&pfd, 1, (int)left);

        if (ready == 0 || (ready < 0 && errno == EINTR))
            continue;                   /* the deadline is checked above */
        if (ready < 0) {
            pv_err_set(err, "poll: %s", strerror(errno));
            return -1;
        }
        n = read(fd, buf + *len, CMD_OUTPUT_MAX + 1 - *len);
        if (n == 0)
            return 0;
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            pv_err_set(err, "read: %s", strerror(errno));
            return -1;
        }
        *len += (size_t)n;
        if (*len > CMD_OUTPUT_MAX) {
            pv_err_set(err, "more than %d bytes of output", CMD_OUTPUT_MAX);
            return -1;
        }
    }
}

/* Judge how the command ended. */
static int cmd_status(enum pv_child_end end, int status, pv_err *err)
{
    if (end == PV_CHILD_TIMED_OUT)
        pv_err_set(err, "timed out after %d s", CMD_TIMEOUT_MS / 1000);
    else if (end != PV_CHILD_EXITED)
        pv_err_set(err, "lost track of the process");
    else if (WIFSIGNALED(status))
        pv_err_set(err, "killed by signal %d", WTERMSIG(status));
    else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        pv_err_set(err, "exited with status %d", WEXITSTATUS(status));
    else
        return 0;
    return -1;
}

static int cmd_prepare(const pv_config *cfg, const char *user, pv_spawn *s,
                       char **argv, pv_err *err)
{
    const char *path = cfg->lookup_command;
    const char *as = cfg->lookup_command_user ? cfg->lookup_command_user
                                              : "nobody";
    pv_err why;

    memset(s, 0, sizeof *s);
    s->exec_fd = -1;
    if (!path || path[0] != '/') {
        pv_err_set(err, "lookup_command must be an absolute path");
        return -1;
    }
    if (pv_spawn_resolve_user(as, NULL, &s->id, NULL, &why) != 0) {
        pv_err_set(err, "lookup_command_user: %s", why.msg);
        return -1;
    }
    s->exec_fd = pv_safe_open_exec(path, err);
    if (s->exec_fd < 0)
        return -1;
    argv[0] = (char *)path;
    argv[1] = (char *)user;
    argv[2] = NULL;
    s->argv = argv;
    s->cpu_seconds = CMD_CPU_SECONDS;
    s->mem_mib = CMD_MEM_MIB;
    s->nofile = CMD_NOFILE;
    s->nproc = CMD_NPROC;
    s->contain = 1;
    return 0;
}

/* Run the prepared command; out gets its stdout.  0 ok, -1 with err. */
static int cmd_spawn(pv_spawn *s, char *out, size_t *len, pv_err *err)
{
    int pipefd[2], nul, status = 0, rc;
    pv_child child;
    enum pv_child_end end;

    nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (nul < 0 || pipe2(pipefd, O_CLOEXEC) != 0) {
        pv_err_set(err, "cannot set up: %s", strerror(errno));
        if (nul >= 0)
            close(nul);
        return -1;
    }
    s->fd_in = nul;
    s->fd_out = pipefd[1];
    s->deadline_ms = pv_monotonic_ms() + CMD_TIMEOUT_MS;
    rc = pv_spawn_start(s, &child, err);
    close(nul);
    close(pipefd[1]);
    if (rc != 0) {
        close(pipefd[0]);
        return -1;
    }
    rc = cmd_read(pipefd[0], s->deadline_ms, out, len, err);
    close(pipefd[0]);
    end = pv_child_finish(&child, s->deadline_ms, &status, rc != 0);
    return rc != 0 ? -1 : cmd_status(end, status, err);
}

static enum pv_lookup_result lookup_command(const pv_config *cfg,
                                            const char *user,
                                            pv_identity *id, pv_err *err)
{
    pv_spawn s;
    char *argv[3];
    char out[CMD_OUTPUT_MAX + 1];
    size_t len = 0;
    pv_err why;
    enum pv_lookup_result r = PV_LOOKUP_ERROR;
    int rc;

    pv_err_clear(&why);
    if (cmd_prepare(cfg, user, &s, argv, err) != 0) {
        if (s.exec_fd >= 0)
            close(s.exec_fd);
        return PV_LOOKUP_ERROR;
    }
    rc = cmd_spawn(&s, out, &len, &why);
    close(s.exec_fd);
    if (rc != 0) {
        pv_err_set(err, "lookup_command %s: %s", argv[0], why.msg);
        goto out;
    }
    r = pv_command_output_parse(out, len, id);
    if (r == PV_LOOKUP_ERROR)
        pv_err_set(err, "lookup_command %s: malformed output "
                   "(want 'PHONE [NAME...]')", argv[0]);
out:
    pv_wipe(out, sizeof out);
    return r;
}

/* ---- sources ------------------------------------------------------- */

static enum pv_lookup_result lookup_file(const pv_config *cfg,
                                         const char *user, pv_identity *id,
                                         pv_err *err)
{
    char *text = NULL;
    size_t len = 0;
    unsigned bad = 0;
    enum pv_lookup_result r;

    if (!cfg->users_file || cfg->users_file[0] == '\0') {
        pv_err_set(err, "users_file is not set");
        return PV_LOOKUP_ERROR;
    }
    if (pv_safe_read(cfg->users_file, PV_FILE_PUBLIC, PV_USERS_MAX_SIZE,
                     &text, &len, err) != 0)
        return PV_LOOKUP_ERROR;
    r = pv_users_find(text, len, user, id, &bad);
    pv_wipe(text, len);
    free(text);
    if (r == PV_LOOKUP_ERROR)
        pv_err_set(err, "%s:%u: malformed entry (want "
                   "user:phone[:name[:email]])", cfg->users_file, bad);
    return r;
}

enum pv_lookup_result pv_lookup_source(const pv_config *cfg,
                                       enum pv_lookup_source src,
                                       const char *user, const char *gecos,
                                       pv_identity *id, pv_err *err)
{
    memset(id, 0, sizeof *id);
    if (!pv_user_name_valid(user))
        return PV_LOOKUP_NOT_FOUND;
    switch (src) {
    case PV_LOOKUP_FILE:
        return lookup_file(cfg, user, id, err);
    case PV_LOOKUP_GECOS:
        return pv_gecos_find(gecos, cfg->gecos_field, id);
    case PV_LOOKUP_COMMAND:
        return lookup_command(cfg, user, id, err);
    }
    pv_err_set(err, "unknown lookup source %d", (int)src);
    return PV_LOOKUP_ERROR;
}

enum pv_lookup_result pv_lookup_user(const pv_config *cfg, const char *user,
                                     const char *gecos, pv_identity *id,
                                     pv_err *err)
{
    for (size_t i = 0; i < cfg->n_lookup && i < PV_MAX_LOOKUPS; i++) {
        enum pv_lookup_result r =
            pv_lookup_source(cfg, cfg->lookup[i], user, gecos, id, err);
        if (r != PV_LOOKUP_NOT_FOUND)
            return r;
    }
    memset(id, 0, sizeof *id);
    return PV_LOOKUP_NOT_FOUND;
}

const char *pv_lookup_source_name(enum pv_lookup_source src)
{
    switch (src) {
    case PV_LOOKUP_FILE:
        return "file";
    case PV_LOOKUP_GECOS:
        return "gecos";
    case PV_LOOKUP_COMMAND:
        return "command";
    }
    return "unknown";
}
