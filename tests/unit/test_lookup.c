/* test_lookup.c - users file, GECOS and lookup-command sources. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>
#include "pvt.h"

#include "identity/pv_lookup.h"

/* ---- helpers ------------------------------------------------------- */

static enum pv_lookup_result find(const char *text, const char *user,
                                  pv_identity *id, unsigned *bad)
{
    return pv_users_find(text, strlen(text), user, id, bad);
}

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Per-test scratch directory, world-searchable so "nobody" can run the
 * scripts in it. */
struct fixture {
    char dir[64];
    char path[128];
    pv_config cfg;
    char self[64];
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    struct passwd *pw = getpwuid(geteuid());

    assert_non_null(f);
    assert_non_null(pw);
    strcpy(f->dir, "/tmp/pv-test-lookup.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    assert_int_equal(chmod(f->dir, 0755), 0);
    snprintf(f->self, sizeof f->self, "%s", pw->pw_name);
    f->cfg.lookup_command_user = f->self;
    f->cfg.gecos_field = 3;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    char cmd[160];

    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

/* A directory the command (maybe "nobody") may write its marks into; the
 * command's own directory stays 0755, since a writable parent is refused. */
static const char *out_dir(struct fixture *f)
{
    static char path[160];

    snprintf(path, sizeof path, "%s/out", f->dir);
    if (mkdir(path, 0777) == 0)
        assert_int_equal(chmod(path, 0777), 0);
    return path;
}

/* Write an executable shell script named name; its path goes to f->path
 * and f->cfg.lookup_command. */
static void script(struct fixture *f, const char *name, const char *body)
{
    char text[2048];

    snprintf(f->path, sizeof f->path, "%s/%s", f->dir, name);
    snprintf(text, sizeof text, "#!/bin/sh\n%s\n", body);
    pvt_write_file(f->path, text, 0755);
    f->cfg.lookup_command = f->path;
}

static enum pv_lookup_result run(struct fixture *f, const char *user,
                                 pv_identity *id, pv_err *err)
{
    pv_err_clear(err);
    return pv_lookup_source(&f->cfg, PV_LOOKUP_COMMAND, user, NULL, id, err);
}

/* ---- users file ---------------------------------------------------- */

static void test_users_basic(void **state)
{
    pv_identity id;
    unsigned bad = 99;
    const char *text =
        "# phoneverify users\n"
        "\n"
        "   \t\n"
        "   # indented comment\n"
        "alice:+86 13800138000:Alice Smith:alice@example.org\n"
        "bob:+447700900123\n"
        "  carol : +1 2025550100 : Carol  de Vries : carol@example.org  \n"
        "dave::Dave:dave@example.org\n"
        "erin:+33612345678:Erin\n";

    (void)state;
    assert_int_equal(find(text, "alice", &id, &bad), PV_LOOKUP_FOUND);
    assert_int_equal(bad, 0);
    assert_true(id.has_phone);
    assert_string_equal(id.phone.e164, "+8613800138000");
    assert_string_equal(id.name, "Alice Smith");
    assert_string_equal(id.email, "alice@example.org");

    assert_int_equal(find(text, "bob", &id, &bad), PV_LOOKUP_FOUND);
    assert_string_equal(id.phone.e164, "+447700900123");
    assert_string_equal(id.name, "");
    assert_string_equal(id.email, "");

    assert_int_equal(find(text, "carol", &id, &bad), PV_LOOKUP_FOUND);
    assert_string_equal(id.phone.e164, "+12025550100");
    assert_string_equal(id.name, "Carol  de Vries");
    assert_string_equal(id.email, "carol@example.org");

    /* Email-only user. */
    assert_int_equal(find(text, "dave", &id, &bad), PV_LOOKUP_FOUND);
    assert_false(id.has_phone);
    assert_string_equal(id.name, "Dave");
    assert_string_equal(id.email, "dave@example.org");

    assert_int_equal(find(text, "erin", &id, &bad), PV_LOOKUP_FOUND);
    assert_string_equal(id.name, "Erin");

    assert_int_equal(find(text, "frank", &id, &bad), PV_LOOKUP_NOT_FOUND);
    assert_int_equal(find(text, "alic", &id, &bad), PV_LOOKUP_NOT_FOUND);
    assert_int_equal(find(text, "alicex", &id, &bad), PV_LOOKUP_NOT_FOUND);
    assert_int_equal(find(text, "Alice", &id, &bad), PV_LOOKUP_NOT_FOUND);
    assert_int_equal(find("", "alice", &id, &bad), PV_LOOKUP_NOT_FOUND);
    assert_int_equal(pv_users_find(NULL, 0, "alice", &id, &bad),
                     PV_LOOKUP_NOT_FOUND);
}

static void test_users_crlf_and_bounds(void **state)
{
    pv_identity id;
    const char *crlf = "alice:+86 13800138000:Alice\r\n"
                       "bob:+44 7700900123::bob@example.org\r\n";
    const char *cut = "alice:+8613800138000GARBAGE";
    static const char with_nul[] =
        "mallory:+86\0 1380:x\nalice:+8613800138000\n";

    (void)state;
    assert_int_equal(find(crlf, "alice", &id, NULL), PV_LOOKUP_FOUND);
    assert_string_equal(id.name, "Alice");
    assert_int_equal(find(crlf, "bob", &id, NULL), PV_LOOKUP_FOUND);
    assert_string_equal(id.email, "bob@example.org");
    /* len is authoritative: the text need not be NUL-terminated. */
    assert_int_equal(pv_users_find(cut, 20, "alice", &id, NULL),
                     PV_LOOKUP_FOUND);
    assert_string_equal(id.phone.e164, "+8613800138000");
    assert_int_equal(pv_users_find(cut, strlen(cut), "alice", &id, NULL),
                     PV_LOOKUP_ERROR);
    /* A NUL byte on another user's line does not stop the scan. */
    assert_int_equal(
        pv_users_find(with_nul, sizeof with_nul - 1, "alice", &id, NULL),
        PV_LOOKUP_FOUND);
    assert_int_equal(
        pv_users_find(with_nul, sizeof with_nul - 1, "mallory", &id, NULL),
        PV_LOOKUP_ERROR);
    /* No final newline. */
    assert_int_equal(
        find("x:+1 2025550100\nalice:+1 2025550100", "alice", &id, NULL),
        PV_LOOKUP_FOUND);
}

static void test_users_malformed(void **state)
{
    static const char *const own_bad[] = {
        "alice",
        "alice:",
        "alice::",
        "alice::Alice",
        "alice:::",
        "alice:13800138000",
        "alice:+86-13800138000",
        "alice:+86  13800138000",
        "alice:+800 12345678",
        "alice:+86 13800138000:A:not-an-email",
        "alice:+86 13800138000:A:a@b:extra",
        "alice::Alice:",
        "alice:+86 13800138000:Al\x01ice",
        "alice:+86 13800138000:A:a b@c",
    };
    pv_identity id;
    unsigned bad = 0;
    char text[512], longname[300];

    (void)state;
    for (size_t i = 0; i < sizeof own_bad / sizeof own_bad[0]; i++) {
        snprintf(text, sizeof text, "# header\nbob:+447700900123\n%s\n",
                 own_bad[i]);
        if (find(text, "alice", &id, &bad) != PV_LOOKUP_ERROR)
            fail_msg("accepted '%s'", own_bad[i]);
        assert_int_equal(bad, 3);
        assert_false(id.has_phone);
        assert_string_equal(id.email, "");
        /* Other users are not disturbed by alice's broken line. */
        assert_int_equal(find(text, "bob", &id, &bad), PV_LOOKUP_FOUND);
        assert_int_equal(bad, 0);
    }
    /* Garbage lines of other users are ignored. */
    assert_int_equal(find("mallory\nmallory:junk\n:::::\n::\n:\n"
                          "trent:+1:x:y:z:w\nalice:+8613800138000\n",
                          "alice", &id, &bad),
                     PV_LOOKUP_FOUND);
    /* A name of PV_NAME_MAX bytes fits, one more does not. */
    memset(longname, 'n', sizeof longname);
    snprintf(text, sizeof text, "alice:+8613800138000:%.*s\n", PV_NAME_MAX,
             longname);
    assert_int_equal(find(text, "alice", &id, &bad), PV_LOOKUP_FOUND);
    assert_int_equal(strlen(id.name), PV_NAME_MAX);
    snprintf(text, sizeof text, "alice:+8613800138000:%.*s\n", PV_NAME_MAX + 1,
             longname);
    assert_int_equal(find(text, "alice", &id, &bad), PV_LOOKUP_ERROR);
}

static void test_users_duplicates(void **state)
{
    pv_identity id;
    unsigned bad = 0;

    (void)state;
    assert_int_equal(find("alice:+44 7700900123\nalice:+86 13800138000\n",
                          "alice", &id, &bad),
                     PV_LOOKUP_FOUND);
    assert_string_equal(id.phone.e164, "+447700900123");
    /* First line wins, good or bad. */
    assert_int_equal(
        find("alice:+44 7700900123\nalice:junk\n", "alice", &id, &bad),
        PV_LOOKUP_FOUND);
    assert_int_equal(
        find("alice:junk\nalice:+44 7700900123\n", "alice", &id, &bad),
        PV_LOOKUP_ERROR);
    assert_int_equal(bad, 1);
}

static void test_users_hostile_names(void **state)
{
    static const char *const hostile[] = {
        "",           "alice:+86 13800138000",
        "alice\nbob", "bob\n",
        "../alice",   "alice/..",
        "#alice",     "-alice",
        "alice\r",    " alice",
        "alice ",     "\talice",
        "alice\x7f",  ":",
    };
    const char *text = "alice:+86 13800138000\nbob:+44 7700900123\n"
                       "#alice:+1 2025550100\n-alice:+1 2025550100\n";
    char *huge = malloc(4097), *big_text = malloc(4200);
    pv_identity id;
    unsigned bad = 0;

    (void)state;
    for (size_t i = 0; i < sizeof hostile / sizeof hostile[0]; i++) {
        if (find(text, hostile[i], &id, &bad) != PV_LOOKUP_NOT_FOUND)
            fail_msg("found hostile name #%zu", i);
        assert_false(id.has_phone);
    }
    /* A 4 KiB name, even when the file holds a line for it. */
    assert_non_null(huge);
    assert_non_null(big_text);
    memset(huge, 'a', 4096);
    huge[4096] = '\0';
    snprintf(big_text, 4200, "%s:+86 13800138000\n", huge);
    assert_int_equal(find(big_text, huge, &id, &bad), PV_LOOKUP_NOT_FOUND);
    assert_int_equal(find(text, huge, &id, &bad), PV_LOOKUP_NOT_FOUND);
    free(huge);
    free(big_text);
}

static void test_users_file_source(void **state)
{
    struct fixture *f = *state;
    pv_identity id;
    pv_err err;
    char path[128];

    snprintf(path, sizeof path, "%s/users", f->dir);
    f->cfg.users_file = path;
    pvt_write_file(
        path, "# users\nalice:+86 13800138000:Alice\nbob:nonsense\n", 0644);
    pv_err_clear(&err);
    assert_int_equal(
        pv_lookup_source(&f->cfg, PV_LOOKUP_FILE, "alice", NULL, &id, &err),
        PV_LOOKUP_FOUND);
    assert_string_equal(id.name, "Alice");
    assert_int_equal(
        pv_lookup_source(&f->cfg, PV_LOOKUP_FILE, "carol", NULL, &id, &err),
        PV_LOOKUP_NOT_FOUND);
    assert_int_equal(
        pv_lookup_source(&f->cfg, PV_LOOKUP_FILE, "bob", NULL, &id, &err),
        PV_LOOKUP_ERROR);
    assert_non_null(strstr(err.msg, path));
    assert_non_null(strstr(err.msg, ":3:"));
    /* Group-writable: refused by the safe-file rules. */
    assert_int_equal(chmod(path, 0664), 0);
    pv_err_clear(&err);
    assert_int_equal(
        pv_lookup_source(&f->cfg, PV_LOOKUP_FILE, "alice", NULL, &id, &err),
        PV_LOOKUP_ERROR);
    assert_true(err.msg[0] != '\0');
    assert_int_equal(unlink(path), 0);
    assert_int_equal(
        pv_lookup_source(&f->cfg, PV_LOOKUP_FILE, "alice", NULL, &id, &err),
        PV_LOOKUP_ERROR);
    f->cfg.users_file = NULL;
    assert_int_equal(
        pv_lookup_source(&f->cfg, PV_LOOKUP_FILE, "alice", NULL, &id, &err),
        PV_LOOKUP_ERROR);
}

/* ---- users file read line by line ------------------------------------ */

/* A users file of n filler lines (other users), then tail. */
static void write_big_users(const char *path, size_t n, const char *tail)
{
    FILE *fp = fopen(path, "w");

    assert_non_null(fp);
    for (size_t i = 0; i < n; i++)
        fprintf(fp, "fu%07zu:+86 137%08zu:Filler %zu\n", i, i, i);
    fputs(tail, fp);
    assert_int_equal(fclose(fp), 0);
    assert_int_equal(chmod(path, 0644), 0);
}

static enum pv_lookup_result read_path(const char *path, const char *user,
                                       pv_identity *id, unsigned *bad,
                                       const char **why)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    enum pv_lookup_result r;

    assert_true(fd >= 0);
    r = pv_users_read(fd, user, id, bad, why);
    close(fd);
    return r;
}

static void test_users_phone_without_plus(void **state)
{
    static const char *const no_plus[] = {
        "alice:8613800138000",
        "alice:13800138000:Alice",
        "alice: 86 13800138000",
        "alice:0086 13800138000",
    };
    pv_identity id;
    unsigned bad = 0;
    const char *why = NULL;
    char text[256];

    (void)state;
    for (size_t i = 0; i < sizeof no_plus / sizeof no_plus[0]; i++) {
        snprintf(text, sizeof text, "# c\n\nbob:+447700900123\n%s\n",
                 no_plus[i]);
        assert_int_equal(
            pv_users_find_why(text, strlen(text), "alice", &id, &bad, &why),
            PV_LOOKUP_ERROR);
        assert_int_equal(bad, 4);
        assert_non_null(why);
        assert_string_equal(why, "phone must start with + and a country code");
        assert_false(id.has_phone);
    }
    /* With the '+', a bad number is reported as a bad number. */
    assert_int_equal(
        pv_users_find_why("alice:+86-138\n", 14, "alice", &id, &bad, &why),
        PV_LOOKUP_ERROR);
    assert_int_equal(bad, 1);
    assert_null(strstr(why, "must start with +"));
    assert_non_null(strstr(why, "phone"));
    /* Each other kind of malformed line says what is wrong. */
    assert_int_equal(pv_users_find_why("alice\n", 6, "alice", &id, &bad, &why),
                     PV_LOOKUP_ERROR);
    assert_non_null(strstr(why, "no phone field"));
    assert_int_equal(pv_users_find_why("alice:+8613800138000:A:a@b:x\n", 29,
                                       "alice", &id, &bad, &why),
                     PV_LOOKUP_ERROR);
    assert_non_null(strstr(why, "too many fields"));
    assert_int_equal(pv_users_find_why("alice:+8613800138000:A:ab\n", 26,
                                       "alice", &id, &bad, &why),
                     PV_LOOKUP_ERROR);
    assert_non_null(strstr(why, "e-mail"));
    assert_int_equal(
        pv_users_find_why("alice::A\n", 9, "alice", &id, &bad, &why),
        PV_LOOKUP_ERROR);
    assert_non_null(strstr(why, "neither a phone nor an e-mail"));
}

static void test_users_stream_across_chunks(void **state)
{
    struct fixture *f = *state;
    pv_identity id;
    unsigned bad = 0;
    const char *why = NULL;
    char path[128];

    snprintf(path, sizeof path, "%s/big", f->dir);
    /* 200k lines (~7 MiB): the old 4 MiB cap refused every login. */
    write_big_users(path, 200000,
                    "  alice :+86 13800138000:Alice\n"
                    "bob:13900139000\n");
    assert_int_equal(read_path(path, "alice", &id, &bad, &why),
                     PV_LOOKUP_FOUND);
    assert_string_equal(id.phone.e164, "+8613800138000");
    assert_string_equal(id.name, "Alice");
    assert_int_equal(read_path(path, "fu0199999", &id, &bad, &why),
                     PV_LOOKUP_FOUND);
    assert_string_equal(id.phone.e164, "+8613700199999");
    /* A malformed line far down is reported with its line number. */
    assert_int_equal(read_path(path, "bob", &id, &bad, &why), PV_LOOKUP_ERROR);
    assert_int_equal(bad, 200002);
    assert_string_equal(why, "phone must start with + and a country code");
    assert_int_equal(read_path(path, "carol", &id, &bad, &why),
                     PV_LOOKUP_NOT_FOUND);
    assert_int_equal(bad, 0);
    /* Every line length around the 64 KiB read size: the user's line is
     * found wherever it is cut. */
    for (size_t pad = 65536 - 40; pad < 65536 + 8; pad++) {
        FILE *fp = fopen(path, "w");

        assert_non_null(fp);
        fprintf(fp, "#%*s\n", (int)pad, "");
        fputs("alice:+86 13800138000\n", fp);
        assert_int_equal(fclose(fp), 0);
        if (read_path(path, "alice", &id, &bad, &why) != PV_LOOKUP_FOUND)
            fail_msg("alice not found after a %zu-byte line", pad);
    }
}

static void test_users_stream_long_lines(void **state)
{
    struct fixture *f = *state;
    pv_identity id;
    unsigned bad = 0;
    const char *why = NULL;
    char path[128];
    size_t n = 300 * 1024;
    char *junk = malloc(n + 1);
    FILE *fp;

    assert_non_null(junk);
    memset(junk, 'x', n);
    junk[n] = '\0';
    snprintf(path, sizeof path, "%s/long", f->dir);
    fp = fopen(path, "w");
    assert_non_null(fp);
    /* Another user's over-long line is skipped, not a reason to fail. */
    fprintf(fp,
            "mallory:+86 13500135000:%s\nalice:+86 13800138000\n"
            "bob:+86 13900139000:%s\ncarol:+86 13700137000\n",
            junk, junk);
    assert_int_equal(fclose(fp), 0);
    assert_int_equal(read_path(path, "alice", &id, &bad, &why),
                     PV_LOOKUP_FOUND);
    assert_int_equal(read_path(path, "carol", &id, &bad, &why),
                     PV_LOOKUP_FOUND);
    /* The user's own over-long line is an error with its line number. */
    assert_int_equal(read_path(path, "bob", &id, &bad, &why), PV_LOOKUP_ERROR);
    assert_int_equal(bad, 3);
    assert_false(id.has_phone);
    free(junk);
}

/* The search stops at the user's line: nothing after it is read.  The
 * "file" is a non-blocking pipe whose writer stays open, so reading on
 * would fail with EAGAIN. */
static void test_users_stream_stops_early(void **state)
{
    int p[2];
    pv_identity id;
    unsigned bad = 0;
    const char *why = NULL;
    const char *text = "# users\nbob:+447700900123\nalice:+86 13800138000\n"
                       "carol:+86 1370";

    (void)state;
    assert_int_equal(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
    assert_int_equal(write(p[1], text, strlen(text)), (ssize_t)strlen(text));
    assert_int_equal(pv_users_read(p[0], "alice", &id, &bad, &why),
                     PV_LOOKUP_FOUND);
    assert_string_equal(id.phone.e164, "+8613800138000");
    close(p[0]);
    close(p[1]);
    /* carol's line is not complete: the reader must read on, and here
     * more never comes (EAGAIN) - the early stop above was an early stop. */
    assert_int_equal(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
    assert_int_equal(write(p[1], text, strlen(text)), (ssize_t)strlen(text));
    assert_int_equal(pv_users_read(p[0], "carol", &id, &bad, &why),
                     PV_LOOKUP_ERROR);
    assert_string_equal(why, "read error");
    assert_int_equal(bad, 0);
    close(p[0]);
    close(p[1]);
}

static void test_users_stream_comments_blanks_nul(void **state)
{
    struct fixture *f = *state;
    pv_identity id;
    unsigned bad = 0;
    const char *why = NULL;
    char path[128];
    static const char text[] = "#alice:+1 2025550100\n"
                               "  # alice:+1 2025550100\n"
                               "xalice:+1 2025550100\n"
                               "alicex:+1 2025550100\n"
                               "mallory:+86\0 1380:x\n"
                               "bob alice:+1 2025550100\n"
                               "\talice\t:\t+86 13800138000\t:Alice\r\n";
    int fd;

    snprintf(path, sizeof path, "%s/c", f->dir);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, sizeof text - 1),
                     (ssize_t)sizeof text - 1);
    close(fd);
    assert_int_equal(read_path(path, "alice", &id, &bad, &why),
                     PV_LOOKUP_FOUND);
    assert_string_equal(id.phone.e164, "+8613800138000");
    assert_string_equal(id.name, "Alice");
    assert_int_equal(read_path(path, "mallory", &id, &bad, &why),
                     PV_LOOKUP_ERROR);
    assert_int_equal(bad, 5);
    assert_int_equal(read_path(path, "#alice", &id, &bad, &why),
                     PV_LOOKUP_NOT_FOUND);
}

static void test_users_file_source_messages(void **state)
{
    struct fixture *f = *state;
    pv_identity id;
    pv_err err;
    char path[128], want[192];

    snprintf(path, sizeof path, "%s/users", f->dir);
    f->cfg.users_file = path;
    write_big_users(path, 150000,
                    "alice:13800138000:Alice\n"
                    "erin:+86 13600136000\n");
    pv_err_clear(&err);
    assert_int_equal(
        pv_lookup_source(&f->cfg, PV_LOOKUP_FILE, "alice", NULL, &id, &err),
        PV_LOOKUP_ERROR);
    snprintf(want, sizeof want,
             "%s:150001: phone must start with + and a "
             "country code",
             path);
    assert_string_equal(err.msg, want);
    /* The file is larger than the old 4 MiB cap and still served. */
    pv_err_clear(&err);
    assert_int_equal(
        pv_lookup_source(&f->cfg, PV_LOOKUP_FILE, "erin", NULL, &id, &err),
        PV_LOOKUP_FOUND);
    assert_string_equal(id.phone.e164, "+8613600136000");
    /* Still opened by the safe-file rules: group-writable is refused. */
    assert_int_equal(chmod(path, 0664), 0);
    pv_err_clear(&err);
    assert_int_equal(
        pv_lookup_source(&f->cfg, PV_LOOKUP_FILE, "erin", NULL, &id, &err),
        PV_LOOKUP_ERROR);
    assert_non_null(strstr(err.msg, path));
    f->cfg.users_file = NULL;
}

/* ---- GECOS --------------------------------------------------------- */

static void test_gecos(void **state)
{
    const char *g = "Alice Smith,Room 101,+86 13800138000, +447700900123 ,x42";
    pv_identity id;

    (void)state;
    assert_int_equal(pv_gecos_find(g, 3, &id), PV_LOOKUP_FOUND);
    assert_string_equal(id.phone.e164, "+8613800138000");
    assert_string_equal(id.name, "Alice Smith");
    assert_int_equal(pv_gecos_find(g, 4, &id), PV_LOOKUP_FOUND);
    assert_string_equal(id.phone.e164, "+447700900123");
    assert_int_equal(pv_gecos_find(g, 2, &id), PV_LOOKUP_NOT_FOUND);
    assert_int_equal(pv_gecos_find(g, 5, &id), PV_LOOKUP_NOT_FOUND);
    assert_int_equal(pv_gecos_find(g, 6, &id), PV_LOOKUP_NOT_FOUND);
    assert_int_equal(pv_gecos_find(g, 0, &id), PV_LOOKUP_NOT_FOUND);
    assert_int_equal(pv_gecos_find(g, -1, &id), PV_LOOKUP_NOT_FOUND);
    assert_false(id.has_phone);
    assert_int_equal(pv_gecos_find("", 3, &id), PV_LOOKUP_NOT_FOUND);
    assert_int_equal(pv_gecos_find(NULL, 3, &id), PV_LOOKUP_NOT_FOUND);
    assert_int_equal(pv_gecos_find("Bob,,,", 3, &id), PV_LOOKUP_NOT_FOUND);
    assert_int_equal(pv_gecos_find("Bob,,13800138000,", 3, &id),
                     PV_LOOKUP_NOT_FOUND);
    assert_int_equal(pv_gecos_find("Bob,,+86-138-0013-8000,", 3, &id),
                     PV_LOOKUP_NOT_FOUND);
    /* Field 1 holding the number: no name then. */
    assert_int_equal(pv_gecos_find("+8613800138000,x", 1, &id),
                     PV_LOOKUP_FOUND);
    assert_string_equal(id.name, "");
    /* Empty or unprintable name: the number still counts. */
    assert_int_equal(pv_gecos_find(",,+12025550100", 3, &id), PV_LOOKUP_FOUND);
    assert_string_equal(id.name, "");
    assert_int_equal(pv_gecos_find("Ev\x1b[2Jil,,+12025550100", 3, &id),
                     PV_LOOKUP_FOUND);
    assert_string_equal(id.name, "");
}

static void test_gecos_source(void **state)
{
    struct fixture *f = *state;
    pv_identity id;
    pv_err err;

    pv_err_clear(&err);
    f->cfg.gecos_field = 4;
    assert_int_equal(pv_lookup_source(&f->cfg, PV_LOOKUP_GECOS, "alice",
                                      "Alice,,,+33 612345678", &id, &err),
                     PV_LOOKUP_FOUND);
    assert_string_equal(id.phone.e164, "+33612345678");
    assert_string_equal(id.name, "Alice");
    assert_int_equal(pv_lookup_source(&f->cfg, PV_LOOKUP_GECOS, "alice\n",
                                      "Alice,,,+33 612345678", &id, &err),
                     PV_LOOKUP_NOT_FOUND);
}

/* ---- lookup command output ----------------------------------------- */

static enum pv_lookup_result out_parse(const char *s, pv_identity *id)
{
    return pv_command_output_parse(s, strlen(s), id);
}

static void test_command_output(void **state)
{
    static const char *const bad[] = {
        "garbage\n",           "+86\n",
        "+86  13800138000\n",  "+86 138 0013 8000\n",
        "13800138000 Alice\n", "+8613800138000 Al\x01ice\n",
        "+86\t13800138000\n",  "Alice +8613800138000\n",
    };
    static const char nul[] = "+8613800138000 A\0lice\n";
    pv_identity id;

    (void)state;
    assert_int_equal(out_parse("+86 13800138000 Alice Smith\n", &id),
                     PV_LOOKUP_FOUND);
    assert_string_equal(id.phone.e164, "+8613800138000");
    assert_string_equal(id.name, "Alice Smith");
    assert_int_equal(out_parse("+8613800138000\n", &id), PV_LOOKUP_FOUND);
    assert_string_equal(id.name, "");
    assert_int_equal(out_parse("+447700900123  Bob \r\nignored\n", &id),
                     PV_LOOKUP_FOUND);
    assert_string_equal(id.phone.e164, "+447700900123");
    assert_string_equal(id.name, "Bob");
    assert_int_equal(out_parse("+1 2025550100", &id), PV_LOOKUP_FOUND);
    assert_int_equal(out_parse("+33612345678\tJean\n", &id), PV_LOOKUP_FOUND);
    assert_string_equal(id.name, "Jean");
    /* Nothing printed: the command does not know the user. */
    assert_int_equal(out_parse("", &id), PV_LOOKUP_NOT_FOUND);
    assert_int_equal(out_parse("\n+8613800138000\n", &id),
                     PV_LOOKUP_NOT_FOUND);
    assert_int_equal(out_parse("  \r\n", &id), PV_LOOKUP_NOT_FOUND);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (out_parse(bad[i], &id) != PV_LOOKUP_ERROR)
            fail_msg("accepted '%s'", bad[i]);
        assert_false(id.has_phone);
    }
    assert_int_equal(pv_command_output_parse(nul, sizeof nul - 1, &id),
                     PV_LOOKUP_ERROR);
}

/* ---- lookup command runs ------------------------------------------- */

static void test_command_success(void **state)
{
    struct fixture *f = *state;
    struct sigaction before, after;
    pv_identity id;
    pv_err err;
    int fds = pvt_count_fds();

    script(f, "ok",
           "[ $# -eq 1 ] || exit 3\necho \"+86 13800138000 Name $1\"\n"
           "echo second line");
    assert_int_equal(sigaction(SIGCHLD, NULL, &before), 0);
    assert_int_equal(run(f, "alice", &id, &err), PV_LOOKUP_FOUND);
    assert_string_equal(id.phone.e164, "+8613800138000");
    assert_string_equal(id.name, "Name alice");
    /* No descriptor left behind, no signal disposition touched. */
    assert_int_equal(pvt_count_fds(), fds);
    assert_int_equal(sigaction(SIGCHLD, NULL, &after), 0);
    assert_true(before.sa_handler == after.sa_handler);

    script(f, "empty", "exit 0");
    assert_int_equal(run(f, "alice", &id, &err), PV_LOOKUP_NOT_FOUND);
    script(f, "bad", "echo 'not a phone'");
    assert_int_equal(run(f, "alice", &id, &err), PV_LOOKUP_ERROR);
    assert_non_null(strstr(err.msg, "malformed output"));
}

static void test_command_failures(void **state)
{
    struct fixture *f = *state;
    pv_identity id;
    pv_err err;

    script(f, "exit3", "echo '+86 13800138000'\nexit 3");
    assert_int_equal(run(f, "alice", &id, &err), PV_LOOKUP_ERROR);
    assert_non_null(strstr(err.msg, "status 3"));
    assert_false(id.has_phone);

    script(f, "sig", "echo '+86 13800138000'\nkill -9 $$");
    assert_int_equal(run(f, "alice", &id, &err), PV_LOOKUP_ERROR);
    assert_non_null(strstr(err.msg, "signal 9"));

    script(f, "noshebang", "");
    pvt_write_file(f->path, "echo '+86 13800138000'\n", 0755);
    assert_int_equal(run(f, "alice", &id, &err), PV_LOOKUP_ERROR);
    /* 127 from our child; valgrind's own execve wrapper exits 101. */
    assert_non_null(strstr(err.msg, "exited with status"));

    script(f, "writable", "echo '+86 13800138000'");
    assert_int_equal(chmod(f->path, 0777), 0);
    assert_int_equal(run(f, "alice", &id, &err), PV_LOOKUP_ERROR);

    script(f, "notexec", "echo '+86 13800138000'");
    assert_int_equal(chmod(f->path, 0644), 0);
    assert_int_equal(run(f, "alice", &id, &err), PV_LOOKUP_ERROR);

    f->cfg.lookup_command = "relative/path";
    assert_int_equal(run(f, "alice", &id, &err), PV_LOOKUP_ERROR);
    assert_non_null(strstr(err.msg, "absolute"));
    f->cfg.lookup_command = NULL;
    assert_int_equal(run(f, "alice", &id, &err), PV_LOOKUP_ERROR);
    f->cfg.lookup_command = "/nonexistent/pv-lookup";
    assert_int_equal(run(f, "alice", &id, &err), PV_LOOKUP_ERROR);

    script(f, "ok", "echo '+86 13800138000'");
    f->cfg.lookup_command_user = "pv-no-such-user-xyz";
    assert_int_equal(run(f, "alice", &id, &err), PV_LOOKUP_ERROR);
    assert_non_null(strstr(err.msg, "does not exist"));
}

/* A script printing a phone line, then filler up to total bytes. */
static void script_of_size(struct fixture *f, size_t total)
{
    char body[256];

    /* 16 bytes of phone line + 62 lines of 64 bytes = 3984. */
    assert_true(total > 3984);
    snprintf(body, sizeof body,
             "echo '+86 13800138000'\ni=0\nwhile [ $i -lt 62 ]; do\n"
             "echo '%063d'\ni=$((i+1)); done\nprintf '%%0%zud' 0",
             0, total - 3984);
    script(f, "sized", body);
}

static void test_command_output_cap(void **state)
{
    struct fixture *f = *state;
    pv_identity id;
    pv_err err;

    script_of_size(f, 4096);
    assert_int_equal(run(f, "alice", &id, &err), PV_LOOKUP_FOUND);
    assert_string_equal(id.phone.e164, "+8613800138000");
    script_of_size(f, 4097);
    assert_int_equal(run(f, "alice", &id, &err), PV_LOOKUP_ERROR);
    assert_non_null(strstr(err.msg, "4096"));
    script_of_size(f, 100000);
    assert_int_equal(run(f, "alice", &id, &err), PV_LOOKUP_ERROR);
    /* Endless output is cut off too. */
    script(f, "yes", "echo '+86 13800138000'\nexec /usr/bin/yes");
    assert_int_equal(run(f, "alice", &id, &err), PV_LOOKUP_ERROR);
    assert_non_null(strstr(err.msg, "4096"));
}

/* The sleeping grandchild of the killed script has gone too. */
static int process_gone(pid_t pid)
{
    char path[64], buf[256];
    FILE *fp;
    char *close_paren;
    int gone = 1;

    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    fp = fopen(path, "r");
    if (!fp)
        return 1;
    if (fgets(buf, sizeof buf, fp) && (close_paren = strrchr(buf, ')')))
        gone = close_paren[2] == 'Z' || close_paren[2] == 'X';
    fclose(fp);
    return gone;
}

static void test_command_timeout(void **state)
{
    struct fixture *f = *state;
    pv_identity id;
    pv_err err;
    char body[512], pidfile[128];
    int64_t t0, elapsed;
    FILE *fp;
    int pid = 0;

    snprintf(pidfile, sizeof pidfile, "%s/pid", out_dir(f));
    snprintf(body, sizeof body,
             "/bin/sleep 30 &\necho $! > %s\nwait\n"
             "echo '+86 13800138000'",
             pidfile);
    script(f, "slow", body);
    t0 = now_ms();
    assert_int_equal(run(f, "alice", &id, &err), PV_LOOKUP_ERROR);
    elapsed = now_ms() - t0;
    assert_non_null(strstr(err.msg, "timed out"));
    assert_true(elapsed >= 4900);
    assert_true(elapsed < 6500);
    fp = fopen(pidfile, "r");
    assert_non_null(fp);
    assert_int_equal(fscanf(fp, "%d", &pid), 1);
    fclose(fp);
    for (int i = 0; i < 100 && !process_gone(pid); i++)
        usleep(10000);
    assert_true(process_gone(pid));

    /* Closing stdout does not buy more time. */
    script(f, "detach", "echo '+86 13800138000'\nexec >&-\n/bin/sleep 30");
    t0 = now_ms();
    assert_int_equal(run(f, "alice", &id, &err), PV_LOOKUP_ERROR);
    assert_true(now_ms() - t0 < 6500);
    assert_non_null(strstr(err.msg, "timed out"));
}

/* Empty environment, stdin /dev/null, stderr discarded, no stray fds. */
static void test_command_isolation(void **state)
{
    struct fixture *f = *state;
    pv_identity id;
    pv_err err;
    char body[1024];
    int stray = open("/dev/null", O_RDONLY); /* inheritable on purpose */

    assert_true(stray >= 0);
    assert_int_equal(dup2(stray, 77), 77);
    close(stray);
    assert_int_equal(setenv("PV_TEST_LEAK", "1", 1), 0);
    snprintf(body, sizeof body,
             "n=$(/usr/bin/env | /usr/bin/wc -l)\n"
             "extra=$(/usr/bin/env | /bin/grep -v '^PWD=' | /usr/bin/wc -l)\n"
             "if read -r line; then in=data; else in=eof; fi\n"
             "if [ -e /proc/$$/fd/77 ]; then fd=leak; else fd=closed; fi\n"
             "echo 'noise on stderr' >&2\n"
             "echo \"+86 13800138000 env$n extra$extra $in $fd\"\n");
    script(f, "iso", body);
    assert_int_equal(run(f, "alice", &id, &err), PV_LOOKUP_FOUND);
    /* The shell itself exports PWD; nothing of ours may show up. */
    assert_true(strcmp(id.name, "env0 extra0 eof closed") == 0 ||
                strcmp(id.name, "env1 extra0 eof closed") == 0);
    unsetenv("PV_TEST_LEAK");
    close(77);
}

static void test_command_hostile_user(void **state)
{
    struct fixture *f = *state;
    static const char *const hostile[] = {
        "../etc/passwd", "-rf", "a:b", "a\nb", "", "a\x1b",
    };
    pv_identity id;
    pv_err err;
    char body[256], marker[128];
    char *huge = malloc(4097);

    snprintf(marker, sizeof marker, "%s/ran", out_dir(f));
    snprintf(body, sizeof body, ": > %s\necho '+86 13800138000'", marker);
    script(f, "marker", body);
    for (size_t i = 0; i < sizeof hostile / sizeof hostile[0]; i++)
        assert_int_equal(run(f, hostile[i], &id, &err), PV_LOOKUP_NOT_FOUND);
    assert_non_null(huge);
    memset(huge, 'a', 4096);
    huge[4096] = '\0';
    assert_int_equal(run(f, huge, &id, &err), PV_LOOKUP_NOT_FOUND);
    free(huge);
    assert_int_equal(access(marker, F_OK), -1);
    /* A name with spaces is a possible (directory service) name. */
    assert_int_equal(run(f, "john smith", &id, &err), PV_LOOKUP_FOUND);
    assert_int_equal(access(marker, F_OK), 0);
}

/* Read the pid a script's descendant wrote, waiting for it a little. */
static pid_t read_pid(const char *pidfile)
{
    FILE *fp;
    int pid = 0;

    for (int i = 0; i < 300 && pid <= 0; i++) {
        fp = fopen(pidfile, "r");
        if (fp) {
            if (fscanf(fp, "%d", &pid) != 1)
                pid = 0;
            fclose(fp);
        }
        if (pid <= 0)
            usleep(10000);
    }
    return pid;
}

static void wait_gone(pid_t pid)
{
    for (int i = 0; i < 200 && !process_gone(pid); i++)
        usleep(10000);
    assert_true(process_gone(pid));
}

/* A descendant that leaves the session (setsid) and sleeps dies with the
 * command: when the command finishes, and at the time limit. */
static void test_command_setsid_descendant(void **state)
{
    struct fixture *f = *state;
    pv_identity id;
    pv_err err;
    char body[1024], pidfile[160];
    int64_t t0;

    snprintf(pidfile, sizeof pidfile, "%s/escapee", out_dir(f));
    snprintf(body, sizeof body,
             "/usr/bin/setsid /bin/sh -c 'echo $$ > %s.tmp; "
             "mv %s.tmp %s; exec /bin/sleep 60' </dev/null >/dev/null 2>&1 &\n"
             "while [ ! -s %s ]; do /bin/sleep 0.05; done\n"
             "echo '+86 13800138000'",
             pidfile, pidfile, pidfile, pidfile);
    script(f, "escape", body);
    assert_int_equal(run(f, "alice", &id, &err), PV_LOOKUP_FOUND);
    wait_gone(read_pid(pidfile));

    unlink(pidfile);
    snprintf(body, sizeof body,
             "/usr/bin/setsid /bin/sh -c 'echo $$ > %s.tmp; "
             "mv %s.tmp %s; exec /bin/sleep 60' </dev/null >/dev/null 2>&1 &\n"
             "exec /bin/sleep 60",
             pidfile, pidfile, pidfile);
    script(f, "escape-slow", body);
    t0 = now_ms();
    assert_int_equal(run(f, "alice", &id, &err), PV_LOOKUP_ERROR);
    assert_non_null(strstr(err.msg, "timed out"));
    assert_true(now_ms() - t0 < 6500);
    wait_gone(read_pid(pidfile));
}

/* The command lives in a directory an ordinary user may write: refused
 * before anything runs, whoever owns the file itself. */
static void test_command_unsafe_parent(void **state)
{
    struct fixture *f = *state;
    pv_identity id;
    pv_err err;
    char sub[160], marker[160], body[256];

    snprintf(sub, sizeof sub, "%s/gw", f->dir);
    assert_int_equal(mkdir(sub, 0755), 0);
    snprintf(marker, sizeof marker, "%s/ran", out_dir(f));
    snprintf(body, sizeof body, ": > %s\necho '+86 13800138000'", marker);
    script(f, "gw/cmd", body);
    assert_int_equal(chmod(sub, 0775), 0);
    assert_int_equal(run(f, "alice", &id, &err), PV_LOOKUP_ERROR);
    assert_non_null(strstr(err.msg, "writable by group or others"));
    assert_int_equal(chmod(sub, 0757), 0);
    assert_int_equal(run(f, "alice", &id, &err), PV_LOOKUP_ERROR);
    assert_int_equal(access(marker, F_OK), -1);
    assert_int_equal(chmod(sub, 0755), 0);
    assert_int_equal(run(f, "alice", &id, &err), PV_LOOKUP_FOUND);
    assert_int_equal(access(marker, F_OK), 0);
}

static void test_command_as_nobody(void **state)
{
    struct fixture *f = *state;
    struct passwd *pw;
    pv_identity id;
    pv_err err;
    char want[128];

    if (geteuid() != 0) {
        skip();
        return;
    }
    pw = getpwnam("nobody");
    assert_non_null(pw);
    snprintf(want, sizeof want, "uid %u gid %u groups %u",
             (unsigned)pw->pw_uid, (unsigned)pw->pw_gid, (unsigned)pw->pw_gid);
    script(f, "id",
           "echo \"+86 13800138000 uid $(/usr/bin/id -u) "
           "gid $(/usr/bin/id -g) groups $(/usr/bin/id -G)\"");
    f->cfg.lookup_command_user = "nobody";
    assert_int_equal(run(f, "alice", &id, &err), PV_LOOKUP_FOUND);
    assert_string_equal(id.name, want);
    /* The default is a user of its own, never nobody: where it does not
     * exist (a build host) the command does not run at all. */
    f->cfg.lookup_command_user = NULL;
    pw = getpwnam("_phoneverify-lookup");
    if (pw == NULL) {
        assert_int_equal(run(f, "alice", &id, &err), PV_LOOKUP_ERROR);
        assert_non_null(strstr(err.msg, "does not exist"));
        return;
    }
    snprintf(want, sizeof want, "uid %u gid %u groups %u",
             (unsigned)pw->pw_uid, (unsigned)pw->pw_gid, (unsigned)pw->pw_gid);
    assert_int_equal(run(f, "alice", &id, &err), PV_LOOKUP_FOUND);
    assert_string_equal(id.name, want);
}

/* ---- source order -------------------------------------------------- */

static void test_lookup_order(void **state)
{
    struct fixture *f = *state;
    const char *gecos = "Alice,,+33 612345678";
    pv_identity id;
    pv_err err;
    char path[128];

    snprintf(path, sizeof path, "%s/users", f->dir);
    pvt_write_file(path, "alice:+86 13800138000\nbroken:junk\n", 0644);
    f->cfg.users_file = path;
    f->cfg.gecos_field = 3;
    f->cfg.lookup[0] = PV_LOOKUP_FILE;
    f->cfg.lookup[1] = PV_LOOKUP_GECOS;
    f->cfg.n_lookup = 2;
    pv_err_clear(&err);

    assert_int_equal(pv_lookup_user(&f->cfg, "alice", gecos, &id, &err),
                     PV_LOOKUP_FOUND);
    assert_string_equal(id.phone.e164, "+8613800138000");
    /* Not in the file: GECOS is asked next. */
    assert_int_equal(pv_lookup_user(&f->cfg, "carol", gecos, &id, &err),
                     PV_LOOKUP_FOUND);
    assert_string_equal(id.phone.e164, "+33612345678");
    /* An error stops the search even though GECOS would know. */
    assert_int_equal(pv_lookup_user(&f->cfg, "broken", gecos, &id, &err),
                     PV_LOOKUP_ERROR);
    assert_false(id.has_phone);
    assert_int_equal(pv_lookup_user(&f->cfg, "carol", "Carol", &id, &err),
                     PV_LOOKUP_NOT_FOUND);

    f->cfg.lookup[0] = PV_LOOKUP_GECOS;
    f->cfg.lookup[1] = PV_LOOKUP_FILE;
    assert_int_equal(pv_lookup_user(&f->cfg, "alice", gecos, &id, &err),
                     PV_LOOKUP_FOUND);
    assert_string_equal(id.phone.e164, "+33612345678");

    f->cfg.lookup[0] = PV_LOOKUP_GECOS;
    f->cfg.lookup[1] = PV_LOOKUP_COMMAND;
    script(f, "cmd", "echo \"+1 2025550100 Cmd\"");
    assert_int_equal(pv_lookup_user(&f->cfg, "carol", "Carol", &id, &err),
                     PV_LOOKUP_FOUND);
    assert_string_equal(id.name, "Cmd");

    f->cfg.n_lookup = 0;
    assert_int_equal(pv_lookup_user(&f->cfg, "alice", gecos, &id, &err),
                     PV_LOOKUP_NOT_FOUND);
}

static void test_source_names(void **state)
{
    (void)state;
    assert_string_equal(pv_lookup_source_name(PV_LOOKUP_FILE), "file");
    assert_string_equal(pv_lookup_source_name(PV_LOOKUP_GECOS), "gecos");
    assert_string_equal(pv_lookup_source_name(PV_LOOKUP_COMMAND), "command");
}

#define FIXTURE_TEST(t) cmocka_unit_test_setup_teardown(t, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_users_basic),
        cmocka_unit_test(test_users_crlf_and_bounds),
        cmocka_unit_test(test_users_malformed),
        cmocka_unit_test(test_users_duplicates),
        cmocka_unit_test(test_users_hostile_names),
        cmocka_unit_test(test_users_phone_without_plus),
        cmocka_unit_test(test_users_stream_stops_early),
        FIXTURE_TEST(test_users_stream_across_chunks),
        FIXTURE_TEST(test_users_stream_long_lines),
        FIXTURE_TEST(test_users_stream_comments_blanks_nul),
        FIXTURE_TEST(test_users_file_source_messages),
        FIXTURE_TEST(test_users_file_source),
        cmocka_unit_test(test_gecos),
        FIXTURE_TEST(test_gecos_source),
        cmocka_unit_test(test_command_output),
        FIXTURE_TEST(test_command_success),
        FIXTURE_TEST(test_command_failures),
        FIXTURE_TEST(test_command_output_cap),
        FIXTURE_TEST(test_command_timeout),
        FIXTURE_TEST(test_command_isolation),
        FIXTURE_TEST(test_command_hostile_user),
        FIXTURE_TEST(test_command_as_nobody),
        FIXTURE_TEST(test_command_setsid_descendant),
        FIXTURE_TEST(test_command_unsafe_parent),
        FIXTURE_TEST(test_lookup_order),
        cmocka_unit_test(test_source_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
