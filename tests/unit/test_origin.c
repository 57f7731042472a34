/* test_origin.c - where a login comes from: /proc/PID/stat fields, local
 * rhosts, the one "local user" decision, and the calling process read
 * for real. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "identity/pv_origin.h"

static void test_stat_parse(void **state)
{
    long sid = 0;
    unsigned long long tty = 0, start = 0;
    /* comm with spaces and ')' in it: the last ')' ends it */
    const char *line = "4242 (a) b (c)) S 1 4242 4240 34817 4242 4194560 "
                       "100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 10\n";

    (void)state;
    assert_int_equal(pv_proc_stat_parse(line, &sid, &tty, &start), 0);
    assert_int_equal(sid, 4240);
    assert_int_equal(tty, 34817);
    assert_int_equal(start, 987654);
    assert_int_equal(pv_proc_stat_parse("12 (x) S 1 2", &sid, &tty, &start),
                     -1);
    assert_int_equal(pv_proc_stat_parse("no paren", &sid, &tty, &start), -1);
    assert_int_equal(
        pv_proc_stat_parse("1 (x) S 1 2 x 3 4 5 6 7 8 9 10 11 12 13 14 15 "
                           "16 17 18 19",
                           &sid, &tty, &start),
        -1);
}

static void test_rhost_local(void **state)
{
    static const char *const local[] = {
        "127.0.0.1",  "127.1.2.3",    "::1",       "::ffff:127.0.0.1",
        "0.0.0.0",    "::",           "localhost", "host.example",
        "fe80::1%lo", "203.0.113.9 ",
    };
    static const char *const remote[] = {
        "203.0.113.9",
        "2001:db8::7",
        "::ffff:198.51.100.1",
    };

    (void)state;
    assert_int_equal(pv_rhost_is_local(NULL), 0);
    assert_int_equal(pv_rhost_is_local(""), 0);
    for (size_t i = 0; i < sizeof local / sizeof local[0]; i++)
        if (!pv_rhost_is_local(local[i]))
            fail_msg("'%s' taken as remote", local[i]);
    for (size_t i = 0; i < sizeof remote / sizeof remote[0]; i++)
        if (pv_rhost_is_local(remote[i]))
            fail_msg("'%s' taken as local", remote[i]);
}

static void test_is_local(void **state)
{
    pv_origin o;

    (void)state;
    assert_int_equal(pv_origin_is_local(NULL), 1);
    memset(&o, 0, sizeof(o));
    assert_int_equal(pv_origin_is_local(&o), 0);
    o.loginuid_set = 1;
    assert_int_equal(pv_origin_is_local(&o), 1);
    memset(&o, 0, sizeof(o));
    o.ruid_not_root = 1;
    assert_int_equal(pv_origin_is_local(&o), 1);
    memset(&o, 0, sizeof(o));
    o.ruser_set = 1;
    assert_int_equal(pv_origin_is_local(&o), 1);
    memset(&o, 0, sizeof(o));
    o.rhost_local = 1;
    assert_int_equal(pv_origin_is_local(&o), 1);
}

/* The facts of this very process, read as the module reads them. */
static void test_read_self(void **state)
{
    pv_origin o;
    char buf[32] = "";
    FILE *f = fopen("/proc/self/loginuid", "r");

    (void)state;
    if (f != NULL) {
        if (fgets(buf, sizeof(buf), f) == NULL)
            buf[0] = '\0';
        fclose(f);
    }
    pv_origin_read("203.0.113.9", NULL, &o);
    assert_int_equal(o.ruid_not_root, getuid() != 0);
    assert_int_equal(o.ruser_set, 0);
    assert_int_equal(o.rhost_local, 0);
    assert_int_equal(o.loginuid_set, strncmp(buf, "4294967295", 10) != 0);
    if (o.session.valid)
        assert_int_equal(o.session.sid, (long)getsid(0));
    pv_origin_read("127.0.0.1", "bob", &o);
    assert_int_equal(o.ruser_set, 1);
    assert_int_equal(o.rhost_local, 1);
    assert_int_equal(pv_origin_is_local(&o), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stat_parse),
        cmocka_unit_test(test_rhost_local),
        cmocka_unit_test(test_is_local),
        cmocka_unit_test(test_read_self),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
