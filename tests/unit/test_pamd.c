/* test_pamd.c - reading the pam_phoneverify.so rules of a PAM service
 * (pv_pamd.c): includes, substacks, [..] arguments, continuations,
 * comments, loops, unsafe files. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "cli/pv_pamd.h"

static char dir[256];

static void put(const char *name, const char *text, mode_t mode)
{
    char path[512];
    FILE *f;

    snprintf(path, sizeof path, "%s/%s", dir, name);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    assert_int_equal(chmod(path, mode), 0);
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/pvpamd.XXXXXX");
    return mkdtemp(dir) == NULL ? -1 : 0;
}

static int teardown(void **state)
{
    char cmd[300];

    (void)state;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

typedef struct seen {
    int n;
    char text[8][512]; /* "file-basename:line type arg|arg|" */
} seen;

static int collect(void *ctx, const char *file, unsigned line,
                   const char *type, int argc, const char **argv)
{
    seen *s = ctx;
    const char *base = strrchr(file, '/') + 1;
    size_t o;
    int i;

    if (s->n == 8)
        return -1;
    o = (size_t)snprintf(s->text[s->n], 512, "%s:%u %s ", base, line, type);
    for (i = 0; i < argc; i++)
        o += (size_t)snprintf(s->text[s->n] + o, 512 - o, "%s|", argv[i]);
    s->n++;
    return 0;
}

static void test_rules_found_through_includes(void **state)
{
    seen s = { 0 };
    pv_err err = { "" };

    (void)state;
    put("sshd",
        "# sshd\n"
        "@include common-auth\n"
        "auth required pam_env.so\n"
        "auth [success=ok default=die] pam_phoneverify.so conf=/etc/a.conf "
        "failmod=safe  # typo\n"
        "-auth optional /lib/security/pam_phoneverify.so \\\n"
        "    debug [prompt=Enter the code\\]: ] nullok\n"
        "auth substack other-stack\n"
        "account include common-account\n",
        0644);
    put("common-auth", "auth required pam_unix.so\n", 0644);
    put("other-stack", "auth requisite pam_phoneverify.so timeout=5\n", 0644);
    put("common-account", "account required pam_unix.so\n", 0644);
    assert_int_equal(pv_pamd_rules(dir, "sshd", collect, &s, &err), 3);
    assert_int_equal(s.n, 3);
    assert_string_equal(s.text[0], "sshd:4 auth conf=/etc/a.conf|"
                                   "failmod=safe|");
    assert_string_equal(s.text[1], "sshd:5 auth debug|"
                                   "prompt=Enter the code]: |nullok|");
    assert_string_equal(s.text[2], "other-stack:1 auth timeout=5|");
}

static void test_no_rules(void **state)
{
    seen s = { 0 };
    pv_err err = { "" };

    (void)state;
    put("login", "auth required pam_unix.so\n\n#auth pam_phoneverify.so\n",
        0644);
    assert_int_equal(pv_pamd_rules(dir, "login", collect, &s, &err), 0);
}

static void expect_error(const char *service, const char *needle)
{
    seen s = { 0 };
    pv_err err = { "" };

    assert_int_equal(pv_pamd_rules(dir, service, collect, &s, &err), -1);
    if (strstr(err.msg, needle) == NULL)
        fail_msg("error '%s' lacks '%s'", err.msg, needle);
}

static void test_errors(void **state)
{
    (void)state;
    put("loop-a", "@include loop-b\n", 0644);
    put("loop-b", "auth include loop-a\n", 0644);
    expect_error("loop-a", "nested more than");
    put("writable", "auth required pam_phoneverify.so\n", 0666);
    expect_error("writable", "writable");
    put("unclosed", "auth required pam_phoneverify.so [prompt=x\n", 0644);
    expect_error("unclosed", "unclosed '['");
    put("short", "auth required\n", 0644);
    expect_error("short", "short:1: expected TYPE CONTROL MODULE");
    put("escape", "@include ../../etc/passwd\n", 0644);
    expect_error("escape", "not a PAM service name");
    expect_error("missing", "missing");
    expect_error("../x", "not a PAM service name");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_rules_found_through_includes,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
