/* test_safefile.c - every rule of pv_safefile.c. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include "pvt.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/pv_safefile.h"

#define NOBODY_UID 65534

static char tmpdir[256];
static char pathbuf[512];

/* Path of name inside the test directory (static buffer). */
static const char *tpath(const char *name)
{
    snprintf(pathbuf, sizeof pathbuf, "%s/%s", tmpdir, name);
    return pathbuf;
}

static void write_file(const char *name, const void *data, size_t len,
                       mode_t mode)
{
    pvt_write_at(AT_FDCWD, tpath(name), data, len, mode);
}

static void assert_err(const pv_err *err, const char *needle)
{
    if (strstr(err->msg, needle) == NULL)
        fail_msg("error '%s' does not contain '%s'", err->msg, needle);
}

static int setup(void **state)
{
    const char *base = getenv("TMPDIR");

    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "%s/pvsafe.XXXXXX",
             base != NULL && base[0] == '/' ? base : "/tmp");
    return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

/* Remove every entry a test may create, then the directory. */
static int teardown(void **state)
{
    static const char *names[] = {
        "ok",     "pub",       "gw",      "ow",      "gr",     "link",
        "fifo",   "nobody",    "exec",    "noexec",  "empty",  "max",
        "big",    "nul",       "large",   "dirlink", "sub",    "subgw",
        "subow",  "subnobody", "p/q/f",   "p/q",     "p/link", "p/real/f",
        "p/real", "p",         "st/link", "st/f",    "st",     "bin",
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof names / sizeof names[0]; i++) {
        const char *p = tpath(names[i]);

        if (unlink(p) < 0)
            rmdir(p);
    }
    return rmdir(tmpdir);
}

static void test_open_regular(void **state)
{
    struct stat st;
    pv_err err = { "" };
    int fd;

    (void)state;
    write_file("ok", "hello\n", 6, 0600);
    fd = pv_safe_open(tpath("ok"), PV_FILE_SECRET, &st, &err);
    assert_true(fd >= 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_size, 6);
    assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    close(fd);
    /* st may be NULL */
    fd = pv_safe_open(tpath("ok"), PV_FILE_PUBLIC, NULL, &err);
    assert_true(fd >= 0);
    close(fd);
}

static void test_open_public_vs_secret(void **state)
{
    pv_err err = { "" };
    int fd;

    (void)state;
    write_file("pub", "x", 1, 0644);
    fd = pv_safe_open(tpath("pub"), PV_FILE_PUBLIC, NULL, &err);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(pv_safe_open(tpath("pub"), PV_FILE_SECRET, NULL, &err),
                     -1);
    assert_err(&err, tpath("pub"));
    assert_err(&err, ": is readable by others");
    assert_int_equal(errno, EPERM);
    /* group-readable is fine for a secret (root:shadow 0640 style) */
    write_file("gr", "x", 1, 0640);
    fd = pv_safe_open(tpath("gr"), PV_FILE_SECRET, NULL, &err);
    assert_true(fd >= 0);
    close(fd);
}

static void test_open_writable(void **state)
{
    pv_err err = { "" };

    (void)state;
    write_file("gw", "x", 1, 0620);
    assert_int_equal(pv_safe_open(tpath("gw"), PV_FILE_PUBLIC, NULL, &err),
                     -1);
    assert_err(&err, "gw: is writable by group or others");
    write_file("ow", "x", 1, 0602);
    assert_int_equal(pv_safe_open(tpath("ow"), PV_FILE_PUBLIC, NULL, &err),
                     -1);
    assert_err(&err, "ow: is writable by group or others");
    assert_int_equal(pv_safe_check(tpath("ow"), PV_FILE_PUBLIC, 0, &err), -1);
    assert_err(&err, "writable by group or others");
}

static void test_symlink_refused(void **state)
{
    pv_err err = { "" };
    char *out = NULL;
    size_t len;
    char target[512];

    (void)state;
    write_file("ok", "hello\n", 6, 0600);
    snprintf(target, sizeof target, "%s", tpath("ok"));
    assert_int_equal(symlink(target, tpath("link")), 0);
    assert_int_equal(pv_safe_open(tpath("link"), PV_FILE_PUBLIC, NULL, &err),
                     -1);
    assert_err(&err, "link: is a symbolic link");
    assert_int_equal(pv_safe_check(tpath("link"), PV_FILE_PUBLIC, 0, &err),
                     -1);
    assert_err(&err, "link: is a symbolic link");
    assert_int_equal(
        pv_safe_read(tpath("link"), PV_FILE_PUBLIC, 100, &out, &len, &err),
        -1);
    assert_null(out);
    assert_err(&err, "symbolic link");
}

static void test_fifo_does_not_hang(void **state)
{
    pv_err err = { "" };
    char *out = NULL;
    size_t len;

    (void)state;
    assert_int_equal(mkfifo(tpath("fifo"), 0600), 0);
    alarm(10); /* a hang kills the test instead */
    assert_int_equal(pv_safe_open(tpath("fifo"), PV_FILE_PUBLIC, NULL, &err),
                     -1);
    assert_err(&err, "fifo: is a FIFO");
    assert_int_equal(
        pv_safe_read(tpath("fifo"), PV_FILE_PUBLIC, 100, &out, &len, &err),
        -1);
    assert_err(&err, "is a FIFO");
    assert_int_equal(pv_safe_check(tpath("fifo"), PV_FILE_PUBLIC, 0, &err),
                     -1);
    assert_err(&err, "is a FIFO");
    alarm(0);
}

static void test_directory_and_missing(void **state)
{
    pv_err err = { "" };

    (void)state;
    assert_int_equal(mkdir(tpath("sub"), 0700), 0);
    assert_int_equal(pv_safe_open(tpath("sub"), PV_FILE_PUBLIC, NULL, &err),
                     -1);
    assert_err(&err, "sub: is a directory");
    assert_int_equal(pv_safe_check(tpath("sub"), PV_FILE_PUBLIC, 0, &err), -1);
    assert_err(&err, "sub: is a directory");

    assert_int_equal(pv_safe_open(tpath("absent"), PV_FILE_PUBLIC, NULL, &err),
                     -1);
    assert_int_equal(errno, ENOENT);
    assert_err(&err, "absent: does not exist");
    assert_int_equal(pv_safe_check(tpath("absent"), PV_FILE_PUBLIC, 1, &err),
                     -1);
    assert_err(&err, "absent: does not exist");
    assert_int_equal(pv_safe_open("", PV_FILE_PUBLIC, NULL, &err), -1);
    assert_int_equal(pv_safe_open(NULL, PV_FILE_PUBLIC, NULL, &err), -1);
    /* a NULL err is allowed */
    assert_int_equal(pv_safe_open(tpath("absent"), PV_FILE_PUBLIC, NULL, NULL),
                     -1);
}

static void test_ownership(void **state)
{
    pv_err err = { "" };

    (void)state;
    if (geteuid() != 0)
        skip();
    write_file("nobody", "x", 1, 0600);
    assert_int_equal(chown(tpath("nobody"), NOBODY_UID, NOBODY_UID), 0);
    assert_int_equal(pv_safe_open(tpath("nobody"), PV_FILE_PUBLIC, NULL, &err),
                     -1);
    assert_err(&err, "nobody: is owned by uid 65534, not by root");
    assert_int_equal(pv_safe_check(tpath("nobody"), PV_FILE_PUBLIC, 0, &err),
                     -1);
    assert_err(&err, "is owned by uid 65534");
    assert_int_equal(mkdir(tpath("subnobody"), 0700), 0);
    assert_int_equal(chown(tpath("subnobody"), NOBODY_UID, NOBODY_UID), 0);
    assert_int_equal(pv_safe_check_dir(tpath("subnobody"), &err), -1);
    assert_err(&err, "subnobody: is owned by uid 65534");
}

static void test_check_executable(void **state)
{
    pv_err err = { "" };

    (void)state;
    write_file("exec", "#!/bin/sh\n", 10, 0755);
    assert_int_equal(pv_safe_check(tpath("exec"), PV_FILE_PUBLIC, 1, &err), 0);
    assert_int_equal(pv_safe_check(tpath("exec"), PV_FILE_SECRET, 1, &err),
                     -1);
    assert_err(&err, "readable by others");
    write_file("noexec", "#!/bin/sh\n", 10, 0644);
    assert_int_equal(pv_safe_check(tpath("noexec"), PV_FILE_PUBLIC, 0, &err),
                     0);
    assert_int_equal(pv_safe_check(tpath("noexec"), PV_FILE_PUBLIC, 1, &err),
                     -1);
    assert_err(&err, "noexec: is not executable");
    write_file("ok", "k", 1, 0600);
    assert_int_equal(pv_safe_check(tpath("ok"), PV_FILE_SECRET, 0, &err), 0);
    /* a secret with group-write is still refused */
    write_file("gw", "x", 1, 0660);
    assert_int_equal(pv_safe_check(tpath("gw"), PV_FILE_SECRET, 0, &err), -1);
}

static void test_check_dir(void **state)
{
    pv_err err = { "" };
    char target[512];

    (void)state;
    assert_int_equal(pv_safe_check_dir(tmpdir, &err), 0);
    assert_int_equal(mkdir(tpath("sub"), 0755), 0);
    assert_int_equal(pv_safe_check_dir(tpath("sub"), &err), 0);
    assert_int_equal(mkdir(tpath("subgw"), 0700), 0);
    assert_int_equal(chmod(tpath("subgw"), 0770), 0);
    assert_int_equal(pv_safe_check_dir(tpath("subgw"), &err), -1);
    assert_err(&err, "subgw: is writable by group or others");
    assert_int_equal(mkdir(tpath("subow"), 0700), 0);
    assert_int_equal(chmod(tpath("subow"), 01777), 0);
    assert_int_equal(pv_safe_check_dir(tpath("subow"), &err), -1);
    assert_err(&err, "writable by group or others");

    snprintf(target, sizeof target, "%s", tpath("sub"));
    assert_int_equal(symlink(target, tpath("dirlink")), 0);
    assert_int_equal(pv_safe_check_dir(tpath("dirlink"), &err), -1);
    assert_err(&err, "dirlink: is a symbolic link");

    write_file("ok", "x", 1, 0600);
    assert_int_equal(pv_safe_check_dir(tpath("ok"), &err), -1);
    assert_err(&err, "ok: is not a directory");
    assert_int_equal(pv_safe_check_dir(tpath("absent"), &err), -1);
    assert_err(&err, "absent: does not exist");
}

static void test_read_ok(void **state)
{
    pv_err err = { "" };
    char *out = NULL;
    size_t len = 99;

    (void)state;
    write_file("ok", "a = b\nc = d\n", 12, 0600);
    assert_int_equal(
        pv_safe_read(tpath("ok"), PV_FILE_SECRET, 1024, &out, &len, &err), 0);
    assert_int_equal(len, 12);
    assert_string_equal(out, "a = b\nc = d\n");
    free(out);

    write_file("empty", "", 0, 0600);
    assert_int_equal(
        pv_safe_read(tpath("empty"), PV_FILE_SECRET, 1024, &out, &len, &err),
        0);
    assert_int_equal(len, 0);
    assert_string_equal(out, "");
    free(out);

    /* len may be NULL */
    assert_int_equal(
        pv_safe_read(tpath("ok"), PV_FILE_SECRET, 1024, &out, NULL, &err), 0);
    assert_string_equal(out, "a = b\nc = d\n");
    free(out);
}

static void test_read_limits(void **state)
{
    pv_err err = { "" };
    char *out = NULL;
    size_t len;
    char buf[100];

    (void)state;
    memset(buf, 'x', sizeof buf);
    write_file("max", buf, 100, 0600);
    assert_int_equal(
        pv_safe_read(tpath("max"), PV_FILE_PUBLIC, 100, &out, &len, &err), 0);
    assert_int_equal(len, 100);
    assert_int_equal(strlen(out), 100);
    free(out);
    out = NULL;
    assert_int_equal(
        pv_safe_read(tpath("max"), PV_FILE_PUBLIC, 99, &out, &len, &err), -1);
    assert_null(out);
    assert_err(&err, "max: is larger than 99 bytes");
    assert_int_equal(
        pv_safe_read(tpath("max"), PV_FILE_PUBLIC, 0, &out, &len, &err), -1);
}

/* A file whose fstat size says 0 but that holds data (procfs): the limit
 * must be enforced by counting while reading, not only by st_size. */
static void test_read_counts_bytes(void **state)
{
    pv_err err = { "" };
    char *out = NULL;
    size_t len = 0;
    struct stat st;

    (void)state;
    if (stat("/proc/self/status", &st) < 0 || st.st_size != 0)
        skip();
    assert_int_equal(pv_safe_read("/proc/self/status", PV_FILE_PUBLIC, 20,
                                  &out, &len, &err),
                     -1);
    assert_null(out);
    assert_err(&err, "is larger than 20 bytes");
    assert_int_equal(pv_safe_read("/proc/self/status", PV_FILE_PUBLIC,
                                  1024 * 1024, &out, &len, &err),
                     0);
    assert_true(len > 20);
    assert_int_equal(strlen(out), len);
    assert_non_null(strstr(out, "Name:"));
    free(out);
}

static void test_read_large(void **state)
{
    pv_err err = { "" };
    char *out = NULL;
    size_t len, i;
    size_t n = 300 * 1024;
    char *data = malloc(n);

    (void)state;
    assert_non_null(data);
    for (i = 0; i < n; i++)
        data[i] = (char)('a' + i % 26);
    write_file("large", data, n, 0600);
    assert_int_equal(
        pv_safe_read(tpath("large"), PV_FILE_SECRET, n, &out, &len, &err), 0);
    assert_int_equal(len, n);
    assert_memory_equal(out, data, n);
    assert_int_equal(out[n], '\0');
    free(out);
    assert_int_equal(
        pv_safe_read(tpath("large"), PV_FILE_SECRET, n - 1, &out, &len, &err),
        -1);
    assert_int_equal(errno, EFBIG);
    free(data);
}

static void test_read_nul(void **state)
{
    pv_err err = { "" };
    char *out = NULL;
    size_t len;

    (void)state;
    write_file("nul", "a = b\0c\n", 8, 0600);
    assert_int_equal(
        pv_safe_read(tpath("nul"), PV_FILE_SECRET, 1024, &out, &len, &err),
        -1);
    assert_null(out);
    assert_err(&err, "nul: contains a NUL byte");
}

static void test_read_refuses_unsafe(void **state)
{
    pv_err err = { "" };
    char *out = NULL;
    size_t len;

    (void)state;
    write_file("pub", "secret = x\n", 11, 0604);
    assert_int_equal(
        pv_safe_read(tpath("pub"), PV_FILE_SECRET, 1024, &out, &len, &err),
        -1);
    assert_null(out);
    assert_err(&err, "readable by others");
    assert_int_equal(
        pv_safe_read(tpath("pub"), PV_FILE_PUBLIC, 1024, &out, &len, &err), 0);
    free(out);
    assert_int_equal(
        pv_safe_read(tpath("absent"), PV_FILE_PUBLIC, 1024, &out, &len, &err),
        -1);
    assert_int_equal(errno, ENOENT);
}

/* No descriptor is left open by any path. */
static void test_no_fd_leak(void **state)
{
    pv_err err = { "" };
    char *out = NULL;
    size_t len;
    int before, after;

    (void)state;
    before = dup(0);
    close(before);
    write_file("nul", "a\0", 2, 0600);
    write_file("ok", "abc", 3, 0600);
    write_file("gw", "x", 1, 0620);
    pv_safe_read(tpath("nul"), PV_FILE_PUBLIC, 1024, &out, &len, &err);
    pv_safe_read(tpath("ok"), PV_FILE_PUBLIC, 1, &out, &len, &err);
    pv_safe_read(tpath("gw"), PV_FILE_PUBLIC, 10, &out, &len, &err);
    pv_safe_check(tpath("ok"), PV_FILE_PUBLIC, 1, &err);
    pv_safe_check_dir(tpath("ok"), &err);
    pv_safe_check_dir(tmpdir, &err);
    after = dup(0);
    close(after);
    assert_int_equal(before, after);
}

/* ---- parent directories up to "/" ---------------------------------- */

static void make_tree(void)
{
    assert_int_equal(mkdir(tpath("p"), 0755), 0);
    assert_int_equal(mkdir(tpath("p/q"), 0755), 0);
    write_file("p/q/f", "x\n", 2, 0755);
}

/* A safe file below a directory group or others may write (at any level)
 * is refused, through every entry point; the message names the directory
 * and the file. */
static void test_parent_writable_refused(void **state)
{
    static const char *const dirs[] = { "p", "p/q" };
    static const mode_t modes[] = { 0775, 0757, 0777 };
    pv_err err;
    int fd;

    (void)state;
    assert_int_equal(chmod(tmpdir, 0755), 0);
    make_tree();
    fd = pv_safe_open(tpath("p/q/f"), PV_FILE_PUBLIC, NULL, &err);
    assert_true(fd >= 0);
    close(fd);
    for (size_t d = 0; d < 2; d++) {
        for (size_t m = 0; m < 3; m++) {
            char file[512];

            snprintf(file, sizeof file, "%s", tpath("p/q/f"));
            assert_int_equal(chmod(tpath(dirs[d]), modes[m]), 0);
            errno = 0;
            assert_int_equal(pv_safe_open(file, PV_FILE_PUBLIC, NULL, &err),
                             -1);
            assert_int_equal(errno, EPERM);
            assert_err(&err, "writable by group or others");
            assert_err(&err, "a directory above");
            assert_int_equal(pv_safe_check(file, PV_FILE_PUBLIC, 1, &err), -1);
            assert_int_equal(pv_safe_open_exec(file, &err), -1);
            assert_int_equal(pv_safe_check_dir(tpath("p/q"), &err), -1);
            assert_int_equal(chmod(tpath(dirs[d]), 0755), 0);
        }
    }
    /* and the test directory itself, a parent of everything here */
    assert_int_equal(chmod(tmpdir, 0777), 0);
    assert_int_equal(pv_safe_check(tpath("p/q/f"), PV_FILE_PUBLIC, 0, &err),
                     -1);
    assert_int_equal(chmod(tmpdir, 0700), 0);
}

/* Symbolic links on the way are followed when they sit in checked
 * directories (merged /usr: /bin -> usr/bin), and the target's own
 * directories are checked; the final name must not be a link. */
static void test_parent_symlink_followed_and_checked(void **state)
{
    pv_err err;
    int fd;

    (void)state;
    assert_int_equal(chmod(tmpdir, 0755), 0);
    assert_int_equal(mkdir(tpath("p"), 0755), 0);
    assert_int_equal(mkdir(tpath("p/real"), 0755), 0);
    write_file("p/real/f", "x\n", 2, 0644);
    assert_int_equal(symlink("real", tpath("p/link")), 0);
    fd = pv_safe_open(tpath("p/link/f"), PV_FILE_PUBLIC, NULL, &err);
    if (fd < 0)
        fail_msg("%s", err.msg);
    close(fd);
    assert_int_equal(chmod(tpath("p/real"), 0777), 0); /* the target dir */
    assert_int_equal(
        pv_safe_open(tpath("p/link/f"), PV_FILE_PUBLIC, NULL, &err), -1);
    assert_err(&err, "writable by group or others");
    assert_int_equal(chmod(tpath("p/real"), 0755), 0);
    fd = pv_safe_open_exec("/bin/sh", &err); /* a final link: refused */
    assert_int_equal(fd, -1);
    assert_err(&err, "symbolic link");
    assert_int_equal(chmod(tmpdir, 0700), 0);
}

/* A root-owned sticky directory (/tmp) may be world-writable: only an
 * entry's owner can rename it there.  Entries taken from it must belong
 * to root or to us. */
static void test_sticky_parent(void **state)
{
    pv_err err;
    int fd;

    (void)state;
    if (geteuid() != 0) {
        print_message("not root: cannot make a root-owned sticky dir\n");
        skip();
    }
    assert_int_equal(chmod(tmpdir, 0755), 0);
    assert_int_equal(mkdir(tpath("st"), 0755), 0);
    write_file("st/f", "x\n", 2, 0644);
    assert_int_equal(chmod(tpath("st"), 01777), 0);
    fd = pv_safe_open(tpath("st/f"), PV_FILE_PUBLIC, NULL, &err);
    if (fd < 0)
        fail_msg("%s", err.msg);
    close(fd);
    /* a symlink in it that someone else owns is not followed */
    assert_int_equal(symlink("/etc", tpath("st/link")), 0);
    assert_int_equal(lchown(tpath("st/link"), NOBODY_UID, NOBODY_UID), 0);
    assert_int_equal(pv_safe_check("/etc/passwd", PV_FILE_PUBLIC, 0, &err), 0);
    snprintf(pathbuf, sizeof pathbuf, "%s/st/link/passwd", tmpdir);
    assert_int_equal(pv_safe_check(pathbuf, PV_FILE_PUBLIC, 0, &err), -1);
    assert_err(&err, "untrusted");
    /* not sticky, or not root's: refused */
    assert_int_equal(chmod(tpath("st"), 0777), 0);
    assert_int_equal(pv_safe_open(tpath("st/f"), PV_FILE_PUBLIC, NULL, &err),
                     -1);
    assert_int_equal(chmod(tpath("st"), 01777), 0);
    assert_int_equal(chown(tpath("st"), NOBODY_UID, NOBODY_UID), 0);
    assert_int_equal(pv_safe_open(tpath("st/f"), PV_FILE_PUBLIC, NULL, &err),
                     -1);
    assert_int_equal(chown(tpath("st"), 0, 0), 0);
    assert_int_equal(chmod(tmpdir, 0700), 0);
}

/* A relative name is resolved from the working directory, whose parents
 * are checked too. */
static void test_relative_path(void **state)
{
    char cwd[512];
    pv_err err;
    int fd;

    (void)state;
    assert_non_null(getcwd(cwd, sizeof cwd));
    write_file("ok", "x\n", 2, 0644);
    assert_int_equal(chdir(tmpdir), 0);
    fd = pv_safe_open("ok", PV_FILE_PUBLIC, NULL, &err);
    assert_true(fd >= 0);
    close(fd);
    fd = pv_safe_open("./../"
                      "ok",
                      PV_FILE_PUBLIC, NULL, &err);
    assert_int_equal(fd, -1); /* ../ok does not exist */
    assert_int_equal(chmod(tmpdir, 0777), 0);
    assert_int_equal(pv_safe_open("ok", PV_FILE_PUBLIC, NULL, &err), -1);
    assert_int_equal(chmod(tmpdir, 0700), 0);
    assert_int_equal(chdir(cwd), 0);
}

/* The executable is returned as an O_PATH descriptor of what was
 * checked; a file that is not executable is refused. */
static void test_open_exec(void **state)
{
    pv_err err;
    struct stat st;
    int fd;

    (void)state;
    write_file("exec", "#!/bin/sh\n", 10, 0755);
    write_file("noexec", "#!/bin/sh\n", 10, 0644);
    fd = pv_safe_open_exec(tpath("exec"), &err);
    assert_true(fd >= 0);
    assert_int_equal(fstat(fd, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
    assert_int_equal(fcntl(fd, F_GETFL) & O_PATH, O_PATH);
    close(fd);
    assert_int_equal(pv_safe_open_exec(tpath("noexec"), &err), -1);
    assert_err(&err, "not executable");
}

/* The one whole-file reader on an open (locked) descriptor: reads from the
 * start whatever the offset, keeps the caller's cap and leaves fd open; a
 * NUL is refused unless the caller reads binary data (catalogues). */
static void test_read_fd(void **state)
{
    pv_err err = { "" };
    struct stat st;
    char *out = NULL;
    size_t len = 99;
    int fd;

    (void)state;
    write_file("bin", "ab\0cd\n", 6, 0600);
    fd = pv_safe_open(tpath("bin"), PV_FILE_SECRET, &st, &err);
    assert_true(fd >= 0);
    assert_int_equal(lseek(fd, 3, SEEK_SET), 3);
    assert_int_equal(
        pv_safe_read_fd(fd, "bin", 6, PV_READ_BINARY, &out, &len, &err), 0);
    assert_int_equal(len, 6);
    assert_memory_equal(out, "ab\0cd\n\0", 7);
    free(out);
    assert_int_equal(pv_safe_read_fd(fd, "bin", 6, 0, &out, &len, &err), -1);
    assert_null(out);
    assert_err(&err, "bin: contains a NUL byte");
    assert_int_equal(
        pv_safe_read_fd(fd, "bin", 5, PV_READ_BINARY, &out, &len, &err), -1);
    assert_null(out);
    assert_err(&err, "bin: is larger than 5 bytes");
    /* still open: the caller's lock is the caller's */
    assert_int_equal(fstat(fd, &st), 0);
    close(fd);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_open_regular),
        T(test_open_public_vs_secret),
        T(test_open_writable),
        T(test_symlink_refused),
        T(test_fifo_does_not_hang),
        T(test_directory_and_missing),
        T(test_ownership),
        T(test_check_executable),
        T(test_check_dir),
        T(test_read_ok),
        T(test_read_limits),
        T(test_read_counts_bytes),
        T(test_read_large),
        T(test_read_nul),
        T(test_read_fd),
        T(test_read_refuses_unsafe),
        T(test_no_fd_leak),
        T(test_parent_writable_refused),
        T(test_parent_symlink_followed_and_checked),
        T(test_sticky_parent),
        T(test_relative_path),
        T(test_open_exec),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
