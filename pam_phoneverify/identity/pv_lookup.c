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

#include "identity/pv_lookup.h"
#include "base/pv_safefile.h"
#include "base/pv_spawn.h"
#include "base/pv_util.h"

#define USER_NAME_MAX 256 /* LOGIN_NAME_MAX on Linux */
#define PHONE_TEXT_MAX 32 /* longest spelling worth parsing */
#define CMD_TIMEOUT_MS 5000
#define CMD_OUTPUT_MAX 4096
#define USERS_FIELDS_MAX 4
#define USERS_CHUNK (64 * 1024) /* read size; longest line kept */

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

/* The phone field of the user's own line, or why it is refused. */
static const char *users_phone(struct span s, pv_phone *out)
{
    if (s.p[0] != '+')
        return "phone must start with + and a country code";
    if (span_phone(s, out) != 0)
        return "phone is not a valid number (want +CC NATIONAL, e.g. "
               "+86 13800138000)";
    return NULL;
}

/* Fill id from the fields of the user's own line; NULL, or why the line
 * is refused (for the administrator: file and line are added). */
static const char *users_entry(const struct span *f, size_t nf,
                               pv_identity *id)
{
    struct span none = { "", 0 };
    struct span name = nf > 2 ? f[2] : none;
    struct span email = nf > 3 ? f[3] : none;
    const char *why;

    if (nf < 2)
        return "no phone field (want user:phone[:name[:email]])";
    if (nf > USERS_FIELDS_MAX)
        return "too many fields (want user:phone[:name[:email]])";
    if (f[1].n > 0) {
        why = users_phone(f[1], &id->phone);
        if (why)
            return why;
        id->has_phone = 1;
    }
    if (name.n > 0 &&
        (!span_clean(name) || span_copy(name, id->name, sizeof id->name) != 0))
        return "name has control characters or is too long";
    if (email.n > 0 && (span_copy(email, id->email, sizeof id->email) != 0 ||
                        !pv_email_valid(id->email)))
        return "not a valid e-mail address";
    /* A line that names the user but gives nowhere to send a code is a
     * mistake worth reporting, not an absent user. */
    if (!id->has_phone && id->email[0] == '\0')
        return "neither a phone nor an e-mail address";
    return NULL;
}

/* Whether the line starting at line (ending at end or '\n') is user's:
 * after leading blanks, the name, blanks, then ':' or the end of the
 * line, as split_fields() and trim() would read it.  A '#' line is a
 * comment whatever follows. */
static int line_is_users(const char *line, const char *end, const char *user,
                         size_t ulen)
{
    const char *p = line;

    while (p < end && is_blank(*p))
        p++;
    if (p == end || *p == '#' || (size_t)(end - p) < ulen ||
        memcmp(p, user, ulen) != 0)
        return 0;
    p += ulen;
    while (p < end && is_blank(*p))
        p++;
    return p == end || *p == ':' || *p == '\n';
}

/* Start of the first line of user's in buf[0..len), which holds whole
 * lines and starts at the start of one; NULL when none is.  memmem finds
 * the candidates, so the other lines are never split into fields. */
static const char *users_line_in(const char *buf, size_t len, const char *user,
                                 size_t ulen)
{
    const char *end = buf + len, *p = buf;

    while (p < end) {
        const char *hit = memmem(p, (size_t)(end - p), user, ulen);
        const char *start;

        if (!hit)
            return NULL;
        start = hit;
        while (start > buf && is_blank(start[-1]))
            start--;
        if ((start == buf || start[-1] == '\n') &&
            line_is_users(start, end, user, ulen))
            return start;
        p = hit + 1;
    }
    return NULL;
}

/* Judge the user's line at line (up to '\n' or end). */
static enum pv_lookup_result users_judge(const char *line, const char *end,
                                         pv_identity *id, const char **why)
{
    const char *nl = memchr(line, '\n', (size_t)(end - line));
    struct span f[USERS_FIELDS_MAX];
    size_t nf = split_fields(
        trim((struct span){ line, (size_t)((nl ? nl : end) - line) }), f);

    *why = users_entry(f, nf, id);
    if (*why == NULL)
        return PV_LOOKUP_FOUND;
    memset(id, 0, sizeof *id);
    return PV_LOOKUP_ERROR;
}

static unsigned count_lines(const char *p, size_t n)
{
    unsigned lines = 0;
    const char *end = p + n;

    while ((p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
        lines++;
        p++;
    }
    return lines;
}

enum pv_lookup_result pv_users_find_why(const char *text, size_t len,
                                        const char *user, pv_identity *id,
                                        unsigned *bad_line, const char **why)
{
    const char *line, *reason = NULL;
    enum pv_lookup_result r;

    memset(id, 0, sizeof *id);
    if (bad_line)
        *bad_line = 0;
    if (why)
        *why = NULL;
    if (!text || !pv_user_name_valid(user))
        return PV_LOOKUP_NOT_FOUND;
    line = users_line_in(text, len, user, strlen(user));
    if (!line)
        return PV_LOOKUP_NOT_FOUND;
    r = users_judge(line, text + len, id, &reason);
    if (r == PV_LOOKUP_ERROR) {
        if (bad_line)
            *bad_line = count_lines(text, (size_t)(line - text)) + 1;
        if (why)
            *why = reason;
    }
    return r;
}

enum pv_lookup_result pv_users_find(const char *text, size_t len,
                                    const char *user, pv_identity *id,
                                    unsigned *bad_line)
{
    return pv_users_find_why(text, len, user, id, bad_line, NULL);
}

/* ---- reading the users file ----------------------------------------- */

/* Streaming state: buf holds [0, fill) of the file from offset base on,
 * always starting at the start of a line.  Lines are not counted while
 * reading (that would touch every line): an error's line number is
 * counted afterwards, from bad_off. */
struct users_reader {
    int fd;
    char *buf;
    size_t fill;
    unsigned long long base;
    unsigned long long bad_off; /* start of the refused line */
    int skipping;               /* inside an over-long line */
};

static ssize_t read_some(int fd, char *p, size_t n)
{
    for (;;) {
        ssize_t got = read(fd, p, n);

        if (got >= 0 || errno != EINTR)
            return got;
    }
}

/* Drop the first n bytes of buf (whole lines). */
static void users_consume(struct users_reader *u, size_t n)
{
    memmove(u->buf, u->buf + n, u->fill - n);
    u->fill -= n;
    u->base += n;
}

/* A line longer than the buffer: the user's is an error (no valid line
 * is that long), anyone else's is skipped up to its newline. */
static enum pv_lookup_result users_overlong(struct users_reader *u,
                                            const char *user, size_t ulen,
                                            const char **why)
{
    if (!u->skipping && line_is_users(u->buf, u->buf + u->fill, user, ulen)) {
        u->bad_off = u->base;
        *why = "line too long";
        return PV_LOOKUP_ERROR;
    }
    u->skipping = 1;
    u->base += u->fill;
    u->fill = 0;
    return PV_LOOKUP_NOT_FOUND;
}

/* After a read: finish skipping an over-long line, if any. */
static void users_skip_rest(struct users_reader *u)
{
    char *nl;

    if (!u->skipping)
        return;
    nl = memchr(u->buf, '\n', u->fill);
    if (!nl) {
        u->base += u->fill;
        u->fill = 0;
        return;
    }
    u->skipping = 0;
    users_consume(u, (size_t)(nl + 1 - u->buf));
}

/* Scan the whole lines in buf.  FOUND or ERROR ends the search. */
static enum pv_lookup_result users_scan(struct users_reader *u, int at_eof,
                                        const char *user, size_t ulen,
                                        pv_identity *id, const char **why)
{
    char *last_nl = memrchr(u->buf, '\n', u->fill);
    size_t whole = at_eof    ? u->fill
                   : last_nl ? (size_t)(last_nl + 1 - u->buf)
                             : 0;
    const char *line = users_line_in(u->buf, whole, user, ulen);
    enum pv_lookup_result r;

    if (line) {
        r = users_judge(line, u->buf + whole, id, why);
        if (r == PV_LOOKUP_ERROR)
            u->bad_off = u->base + (unsigned long long)(line - u->buf);
        return r;
    }
    if (whole == 0 && u->fill == USERS_CHUNK)
        return users_overlong(u, user, ulen, why);
    users_consume(u, whole);
    return PV_LOOKUP_NOT_FOUND;
}

/* 1-based number of the line starting at off (only for error messages;
 * 0 when the file cannot be read again). */
static unsigned users_line_number(struct users_reader *u)
{
    unsigned long long off = 0;
    unsigned lines = 1;

    while (off < u->bad_off) {
        size_t want = u->bad_off - off < USERS_CHUNK
                          ? (size_t)(u->bad_off - off)
                          : USERS_CHUNK;
        ssize_t got = pread(u->fd, u->buf, want, (off_t)off);

        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return 0;
        lines += count_lines(u->buf, (size_t)got);
        off += (unsigned long long)got;
    }
    return lines;
}

/* Read fd (a users file) up to the user's line.  Memory: one buffer of
 * USERS_CHUNK bytes, wiped before it is freed. */
static enum pv_lookup_result users_stream(int fd, const char *user,
                                          pv_identity *id, unsigned *bad_line,
                                          const char **why, int *read_errno)
{
    struct users_reader u = { .fd = fd };
    size_t ulen = strlen(user);
    enum pv_lookup_result r = PV_LOOKUP_NOT_FOUND;

    u.buf = malloc(USERS_CHUNK);
    if (!u.buf) {
        *read_errno = ENOMEM;
        return PV_LOOKUP_ERROR;
    }
    for (;;) {
        ssize_t got = read_some(fd, u.buf + u.fill, USERS_CHUNK - u.fill);

        if (got < 0) {
            *read_errno = errno;
            r = PV_LOOKUP_ERROR;
            break;
        }
        u.fill += (size_t)got;
        users_skip_rest(&u);
        r = users_scan(&u, got == 0, user, ulen, id, why);
        if (r == PV_LOOKUP_ERROR)
            *bad_line = users_line_number(&u);
        if (r != PV_LOOKUP_NOT_FOUND || got == 0)
            break;
    }
    pv_wipe(u.buf, USERS_CHUNK);
    free(u.buf);
    return r;
}

enum pv_lookup_result pv_users_read(int fd, const char *user, pv_identity *id,
                                    unsigned *bad_line, const char **why)
{
    int read_errno = 0;
    enum pv_lookup_result r;

    memset(id, 0, sizeof *id);
    *bad_line = 0;
    *why = NULL;
    if (!pv_user_name_valid(user))
        return PV_LOOKUP_NOT_FOUND;
    r = users_stream(fd, user, id, bad_line, why, &read_errno);
    if (r == PV_LOOKUP_ERROR && read_errno != 0)
        *why = read_errno == ENOMEM ? "out of memory" : "read error";
    if (r != PV_LOOKUP_FOUND)
        memset(id, 0, sizeof *id);
    return r;
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
        return PV_LOOKUP_NOT_FOUND; /* the command does not know the user */
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
    if (name.n > 0 &&
        (!span_clean(name) || span_copy(name, id->name, sizeof id->name) != 0))
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
#define CMD_NPROC \
    1024                     /* counts every process of the user
                                         * (all lookups of all logins): a
                                         * bound for a fork bomb */
#define CMD_FSIZE (1L << 20) /* a program may write a small temporary */
#define DEFAULT_LOOKUP_USER "_phoneverify-lookup"

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
            continue; /* the deadline is checked above */
        if (ready < 0) {
            pv_err_set(err, "poll: %s", pv_strerror(errno));
            return -1;
        }
        n = read(fd, buf + *len, CMD_OUTPUT_MAX + 1 - *len);
        if (n == 0)
            return 0;
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            pv_err_set(err, "read: %s", pv_strerror(errno));
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
    /* A user of its own, never nobody (pam_phoneverify.conf(5)): only
     * other lookups share it. */
    const char *as = cfg->lookup_command_user ? cfg->lookup_command_user
                                              : DEFAULT_LOOKUP_USER;
    pv_err why;

    memset(s, 0, sizeof *s);
    s->exec_fd = -1;
    if (!path || path[0] != '/') {
        pv_err_set(err, "lookup_command must be an absolute path");
        return -1;
    }
    if (pv_spawn_resolve_user(as, &s->id, &why) != 0) {
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
    s->fsize = CMD_FSIZE;
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
        pv_err_set(err, "cannot set up: %s", pv_strerror(errno));
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
                                            const char *user, pv_identity *id,
                                            pv_err *err)
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
        pv_err_set(err,
                   "lookup_command %s: malformed output "
                   "(want 'PHONE [NAME...]')",
                   argv[0]);
out:
    pv_wipe(out, sizeof out);
    return r;
}

/* ---- sources ------------------------------------------------------- */

static enum pv_lookup_result lookup_file(const pv_config *cfg,
                                         const char *user, pv_identity *id,
                                         pv_err *err)
{
    unsigned bad = 0;
    const char *why = NULL;
    enum pv_lookup_result r;
    int fd;

    if (!cfg->users_file || cfg->users_file[0] == '\0') {
        pv_err_set(err, "users_file is not set");
        return PV_LOOKUP_ERROR;
    }
    /* Opened and checked as before; read line by line, no size cap
     * (pam_phoneverify.conf(5): millions of lines). */
    fd = pv_safe_open(cfg->users_file, PV_FILE_PUBLIC, NULL, err);
    if (fd < 0)
        return PV_LOOKUP_ERROR;
    r = pv_users_read(fd, user, id, &bad, &why);
    close(fd);
    if (r == PV_LOOKUP_ERROR && bad > 0)
        pv_err_set(err, "%s:%u: %s", cfg->users_file, bad, why);
    else if (r == PV_LOOKUP_ERROR)
        pv_err_set(err, "%s: %s", cfg->users_file, why ? why : "read error");
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
