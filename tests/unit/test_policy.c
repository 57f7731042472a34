/* test_policy.c - `groups` semantics and `trusted_rhosts` matching. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "config/pv_scope.h"

/* ---- groups -------------------------------------------------------- */

static void test_groups_validate(void **state)
{
    static const char *const good[] = {
        "",
        "   ",
        "wheel",
        "wheel sms-users",
        "!admins",
        "!a !b",
        "sms !exempt",
        "\twheel\t !x ",
        "domain users@ad.example",
        "g_1.2-3",
    };
    static const char *const bad[] = {
        "!", "wheel !", "!!admins", "a!b", "a:b", "a,b", "wh\001eel",
    };
    pv_err err;

    (void)state;
    assert_int_equal(pv_groups_validate(NULL, NULL), 0);
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        if (pv_groups_validate(good[i], &err) != 0)
            fail_msg("refused '%s': %s", good[i], err.msg);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (pv_groups_validate(bad[i], &err) != -1)
            fail_msg("accepted '%s'", bad[i]);
    assert_int_equal(pv_groups_validate("sms !!x", &err), -1);
    assert_string_equal(err.msg,
                        "groups: '!!x' is not a group name or '!group'");
}

struct groups_case {
    const char *spec;
    const char *user[3];
    int check;
};

static const struct groups_case groups_table[] = {
    /* empty: everyone */
    { NULL, { NULL }, 1 },
    { "", { NULL }, 1 },
    { "  ", { "wheel" }, 1 },
    /* inclusion */
    { "sms", { "sms" }, 1 },
    { "sms", { "wheel", "sms" }, 1 },
    { "sms", { "wheel" }, 0 },
    { "sms", { NULL }, 0 },
    { "sms wheel", { "wheel" }, 1 },
    { "sms", { "smsx" }, 0 },
    { "smsx", { "sms" }, 0 },
    { "SMS", { "sms" }, 0 },
    { "\tsms\t", { "sms" }, 1 },
    /* exemption beats inclusion, in either order */
    { "sms !exempt", { "sms", "exempt" }, 0 },
    { "!exempt sms", { "exempt", "sms" }, 0 },
    { "sms !exempt", { "sms" }, 1 },
    { "sms !exempt", { "exempt" }, 0 },
    { "sms !exempt", { "other" }, 0 },
    /* only exemptions: everyone else */
    { "!exempt", { "wheel" }, 1 },
    { "!exempt", { NULL }, 1 },
    { "!exempt", { "exempt" }, 0 },
    { "!x !y", { "a", "y" }, 0 },
    { "!x !y", { "a", "b" }, 1 },
    /* a spec that does not parse exempts nobody */
    { "!", { "x" }, 1 },
    { "sms !!x", { "other" }, 1 },
    { "a:b", { "a:b" }, 1 },
};

static void test_groups_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof groups_table / sizeof groups_table[0]; i++) {
        const struct groups_case *c = &groups_table[i];
        size_t n = 0;

        while (n < 3 && c->user[n])
            n++;
        if (pv_groups_require_check(c->spec, c->user, n) != c->check)
            fail_msg("case %zu: spec '%s' gave %d", i,
                     c->spec ? c->spec : "(null)", !c->check);
    }
}

static void test_user_groups(void **state)
{
    struct passwd *pw = getpwuid(geteuid());
    struct group *gr;
    char **names = NULL, primary[256];
    size_t n = 0;
    int seen = 0;

    (void)state;
    assert_non_null(pw);
    gr = getgrgid(pw->pw_gid);
    assert_non_null(gr);
    snprintf(primary, sizeof primary, "%s", gr->gr_name);
    assert_int_equal(pv_user_groups(pw->pw_name, pw->pw_gid, &names, &n), 0);
    assert_true(n >= 1);
    for (size_t i = 0; i < n; i++)
        seen |= strcmp(names[i], primary) == 0;
    assert_true(seen);
    assert_int_equal(
        pv_groups_require_check(primary, (const char *const *)names, n), 1);
    pv_user_groups_free(names, n);

    /* Unknown user: only the primary group given. */
    assert_int_equal(
        pv_user_groups("pv-no-such-user-xyz", pw->pw_gid, &names, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(names[0], primary);
    pv_user_groups_free(names, n);
    pv_user_groups_free(NULL, 0);
}

/* ---- trusted_rhosts ------------------------------------------------ */

static void test_rhosts_validate(void **state)
{
    static const char *const good[] = {
        "",
        "10.0.0.0/8",
        "192.168.1.1",
        "::1",
        "2001:db8::/32",
        "0.0.0.0/0 ::/0",
        "10.1.2.3/32 2001:db8::1/128",
        " 10.0.0.0/8\t192.168.0.0/16 ",
        "::ffff:10.0.0.0/104",
        "192.168.0.0/23",
        "fe80::/10",
    };
    static const char *const bad[] = {
        "10.0.0.0/33",
        "::/129",
        "host.example.com",
        "localhost",
        "10.0.0",
        "10.0.0.0/",
        "10.0.0.0/-1",
        "10.0.0.0/+8",
        "10.0.0.0/08",
        "10.0.0.256",
        "10.0.0.0/8/8",
        "fe80::1%eth0",
        "10.0.0.0 /8",
        "010.0.0.1",
        "1.2.3.4/8",
        "2001:db8::1/32",
        "10.0.0.0/1000",
        "[::1]",
        "::1/",
        "10.0.0.0/8,10.1.0.0/16",
        "*",
        "0x0a000001",
    };
    char longtok[300];
    pv_err err;

    (void)state;
    assert_int_equal(pv_rhosts_validate(NULL, NULL), 0);
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        if (pv_rhosts_validate(good[i], &err) != 0)
            fail_msg("refused '%s': %s", good[i], err.msg);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (pv_rhosts_validate(bad[i], &err) != -1)
            fail_msg("accepted '%s'", bad[i]);
    assert_int_equal(pv_rhosts_validate("10.0.0.0/8 10.0.0.0/33", &err), -1);
    assert_string_equal(err.msg, "trusted_rhosts: '10.0.0.0/33' is not an "
                                 "address or CIDR");
    assert_int_equal(pv_rhosts_validate("192.168.1.10/24", &err), -1);
    assert_non_null(strstr(err.msg, "'192.168.1.10/24'"));
    /* A long token is quoted only in part. */
    memset(longtok, 'x', sizeof longtok - 1);
    longtok[sizeof longtok - 1] = '\0';
    assert_int_equal(pv_rhosts_validate(longtok, &err), -1);
    assert_true(strlen(err.msg) < 120);
}

struct rhost_case {
    const char *spec;
    const char *rhost;
    int trusted;
};

static const struct rhost_case rhost_table[] = {
    { "10.0.0.0/8", "10.1.2.3", 1 },
    { "10.0.0.0/8", "10.255.255.255", 1 },
    { "10.0.0.0/8", "11.0.0.1", 0 },
    { "10.0.0.0/8", "9.255.255.255", 0 },
    { "0.0.0.0/0", "203.0.113.9", 1 },
    { "0.0.0.0/0", "::1", 0 },
    { "::/0", "2001:db8::1", 1 },
    { "::/0", "10.1.2.3", 0 },
    { "10.1.2.3/32", "10.1.2.3", 1 },
    { "10.1.2.3/32", "10.1.2.4", 0 },
    { "10.1.2.3", "10.1.2.3", 1 },
    { "10.1.2.3", "10.1.2.30", 0 },
    { "192.168.0.0/23", "192.168.1.255", 1 },
    { "192.168.0.0/23", "192.168.2.0", 0 },
    { "2001:db8::/32", "2001:db8:ffff::1", 1 },
    { "2001:db8::/32", "2001:db9::1", 0 },
    { "2001:db8::/33", "2001:db8:7fff::1", 1 },
    { "2001:db8::/33", "2001:db8:8000::1", 0 },
    { "2001:db8::1/128", "2001:db8::1", 1 },
    { "2001:db8::1/128", "2001:db8::2", 0 },
    { "2001:db8::1", "2001:0db8:0000::0001", 1 },
    { "::1", "0:0:0:0:0:0:0:1", 1 },
    /* IPv4-mapped IPv6 peers match IPv4 entries */
    { "10.0.0.0/8", "::ffff:10.1.2.3", 1 },
    { "10.0.0.0/8", "::FFFF:10.1.2.3", 1 },
    { "10.0.0.0/8", "::ffff:a01:203", 1 },
    { "10.0.0.0/8", "::ffff:11.1.2.3", 0 },
    { "10.1.2.3", "::ffff:10.1.2.3", 1 },
    { "::ffff:10.0.0.0/104", "10.9.9.9", 1 },
    { "::ffff:10.0.0.0/104", "::ffff:10.9.9.9", 1 },
    { "10.0.0.0/8", "::10.1.2.3", 0 }, /* v4-compatible is not mapped */
    { "::1", "::ffff:0.0.0.1", 0 },
    /* names never match; no DNS */
    { "10.0.0.0/8", "localhost", 0 },
    { "127.0.0.1", "localhost", 0 },
    { "10.0.0.0/8", "10.1.2.3.example.com", 0 },
    { "10.0.0.0/8", "", 0 },
    { "10.0.0.0/8", NULL, 0 },
    { NULL, "10.1.2.3", 0 },
    { "", "10.1.2.3", 0 },
    { "10.0.0.0/8", "10.1.2.3/32", 0 },
    { "10.0.0.0/8", " 10.1.2.3", 0 },
    { "10.0.0.0/8", "10.1.2.3 ", 0 },
    { "10.0.0.0/8", "010.1.2.3", 0 },
    { "10.0.0.0/8", "10.1.2", 0 },
    { "fe80::/10", "fe80::1%eth0", 0 },
    /* a bad entry is skipped, never matches */
    { "garbage 10.0.0.0/8", "10.1.2.3", 1 },
    { "10.0.0.0/33", "10.1.2.3", 0 },
    { "host.example.com", "host.example.com", 0 },
    { "192.168.1.0/24 2001:db8::/48 10.0.0.0/8", "10.0.0.1", 1 },
};

static void test_rhost_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof rhost_table / sizeof rhost_table[0]; i++) {
        const struct rhost_case *c = &rhost_table[i];

        if (pv_rhost_trusted(c->spec, c->rhost) != c->trusted)
            fail_msg("case %zu: '%s' vs '%s' gave %d", i,
                     c->spec ? c->spec : "(null)",
                     c->rhost ? c->rhost : "(null)", !c->trusted);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_groups_validate),
        cmocka_unit_test(test_groups_table),
        cmocka_unit_test(test_user_groups),
        cmocka_unit_test(test_rhosts_validate),
        cmocka_unit_test(test_rhost_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
