/* Provider entries (SPEC 8): send_url/verify_url lists, the entry a login
 * uses next, and the shared health record. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/pv_config.h"
#include "policy/pv_failover.h"
#include "state/pv_state.h"
#include "state/pv_state_open.h"
#include "state/pv_state_file.h"

#define ORIG "/etc/security/pam_phoneverify.conf"
#define A_SEND "https://a.example/send"
#define A_VERIFY "https://a.example/verify"
#define B_SEND "http://127.0.0.1:8001/send"
#define B_VERIFY "http://127.0.0.1:8001/verify"

static int parse(pv_config *cfg, const char *text, pv_err *err)
{
    return pv_config_parse_text(cfg, text, strlen(text), ORIG, err);
}

static void test_lists_parse(void **state)
{
    pv_config *cfg = pv_config_new();
    pv_err err = { "" };
    char url[128];

    (void)state;
    assert_int_equal(parse(cfg,
                           "send_url = " A_SEND "  " B_SEND "\n"
                           "verify_url = " A_VERIFY "\t" B_VERIFY "\n",
                           &err),
                     0);
    assert_int_equal(pv_url_list_count(cfg->send_url), 2);
    assert_int_equal(pv_url_list_item(cfg->send_url, 1, url, sizeof url), 0);
    assert_string_equal(url, B_SEND);
    assert_int_equal(pv_url_list_item(cfg->verify_url, 0, url, sizeof url), 0);
    assert_string_equal(url, A_VERIFY);
    assert_int_equal(pv_url_list_item(cfg->verify_url, 2, url, sizeof url),
                     -1);
    assert_int_equal(pv_url_list_item(cfg->send_url, 0, url, 5), -1);
    assert_int_equal(pv_url_list_count(NULL), 0);
    assert_int_equal(pv_url_list_count(" \t "), 0);
    pv_config_free(cfg);
}

/* Different counts: refused where the second list is set, with the
 * file's name and line. */
static void test_count_mismatch_names_line(void **state)
{
    pv_config *cfg = pv_config_new();
    pv_err err = { "" };

    (void)state;
    assert_int_equal(parse(cfg,
                           "# entries\nsend_url = " A_SEND " " B_SEND
                           "\n\nverify_url = " A_VERIFY "\n",
                           &err),
                     -1);
    assert_non_null(strstr(err.msg, ORIG ":4: "));
    assert_non_null(strstr(err.msg, "send_url lists 2 URLs but verify_url "
                                    "lists 1"));
    pv_config_free(cfg);

    cfg = pv_config_new();
    assert_int_equal(parse(cfg,
                           "verify_url = " A_VERIFY " " B_VERIFY "\n"
                           "send_url = " A_SEND "\n",
                           &err),
                     -1);
    assert_non_null(strstr(err.msg, ORIG ":2: "));
    pv_config_free(cfg);
}

/* Each URL of a list is checked like a single one. */
static void test_each_url_checked(void **state)
{
    pv_config *cfg = pv_config_new();
    pv_err err = { "" };

    (void)state;
    assert_int_equal(
        parse(cfg, "send_url = " A_SEND " http://sms.example/send\n", &err),
        -1);
    assert_non_null(strstr(err.msg, ORIG ":1: "));
    assert_non_null(strstr(err.msg, "only to a loopback"));
    assert_int_equal(parse(cfg, "verify_url = " A_VERIFY " ftp://x/\n", &err),
                     -1);
    assert_non_null(strstr(err.msg, "must start with https://"));
    assert_int_equal(parse(cfg,
                           "send_url = https://1/ https://2/ https://3/ "
                           "https://4/ https://5/ https://6/ https://7/ "
                           "https://8/ https://9/\n",
                           &err),
                     -1);
    assert_non_null(strstr(err.msg, "more than 8 URLs"));
    pv_config_free(cfg);
}

/* A mismatch made on the PAM line is refused too. */
static void test_validate_counts(void **state)
{
    pv_config *cfg = pv_config_new();
    pv_err err = { "" };

    (void)state;
    assert_int_equal(parse(cfg,
                           "send_url = " A_SEND " " B_SEND "\n"
                           "verify_url = " A_VERIFY " " B_VERIFY "\n",
                           &err),
                     0);
    assert_int_equal(
        pv_config_set(cfg, "verify_url", A_VERIFY, "PAM", 0, &err), -1);
    assert_non_null(strstr(err.msg, "verify_url lists 1"));
    pv_config_free(cfg);
}

/* SPEC 8: marks order the entries, they do not remove them; only the
 * entries that failed in this login are out of it. */
static void test_pick(void **state)
{
    time_t now = 1000;
    time_t none[3] = { 0, 0, 0 };
    time_t first_out[3] = { 1060, 0, 0 };
    time_t second_out[3] = { 0, 1060, 0 };
    time_t expired[3] = { 1000, 999, 0 };
    time_t all_out[3] = { 1060, 1001, 1030 };
    time_t tail_out[3] = { 0, 1060, 1060 };
    unsigned char fresh[3] = { 0, 0, 0 };
    unsigned char first_failed[3] = { 1, 0, 0 };
    unsigned char two_failed[3] = { 1, 1, 0 };
    unsigned char mid_failed[3] = { 0, 1, 0 };
    unsigned char all_failed[3] = { 1, 1, 1 };

    (void)state;
    assert_int_equal(pv_entry_pick(none, fresh, 3, now), 0);
    assert_int_equal(pv_entry_pick(none, first_failed, 3, now), 1);
    assert_int_equal(pv_entry_pick(none, two_failed, 3, now), 2);
    assert_int_equal(pv_entry_pick(none, all_failed, 3, now), 3);
    assert_int_equal(pv_entry_pick(first_out, fresh, 3, now), 1);
    assert_int_equal(pv_entry_pick(second_out, first_failed, 3, now), 2);
    assert_int_equal(pv_entry_pick(expired, fresh, 3, now), 0);
    /* every entry marked: in order anyway */
    assert_int_equal(pv_entry_pick(all_out, fresh, 3, now), 0);
    assert_int_equal(pv_entry_pick(all_out, two_failed, 3, now), 2);
    /* entry 1 marked, entry 2 (unmarked) failed in this login: entry 1
     * is tried before failmode applies (issue 17, item 9) */
    assert_int_equal(pv_entry_pick(first_out, mid_failed, 3, now), 2);
    assert_int_equal(pv_entry_pick(tail_out, first_failed, 3, now), 1);
    assert_int_equal(
        pv_entry_pick(first_out, (unsigned char[]){ 0, 1, 1 }, 3, now), 0);
    assert_int_equal(pv_entry_pick(all_out, all_failed, 3, now), 3);
    assert_int_equal(pv_entry_pick(none, fresh, 0, now), 0);
}

/* An entry marked by this login is failed in it; pv_entries_left says
 * when none is left (one entry alone is marked here, never stored). */
static void test_mark_fails_entry_in_login(void **state)
{
    char dir[] = "/tmp/pv-failover-XXXXXX";
    pv_config *cfg = pv_config_new();
    pv_state *st = NULL;
    pv_entries e;
    pv_err err = { "" };
    char cmd[64];

    (void)state;
    assert_non_null(mkdtemp(dir));
    assert_int_equal(pv_state_file_open(dir, &st, &err), 0);
    assert_int_equal(parse(cfg,
                           "send_url = " A_SEND " " B_SEND "\n"
                           "verify_url = " A_VERIFY " " B_VERIFY "\n",
                           &err),
                     0);
    pv_entries_init(&e, cfg);
    e.out_until[0] = 9999; /* marked by another login */
    assert_true(pv_entries_left(&e));
    assert_int_equal(pv_entries_mark_out(&e, st, 1, 5000), 0);
    assert_int_equal(e.failed[1], 1);
    assert_int_equal(e.failed[0], 0);
    assert_true(pv_entries_left(&e));
    assert_int_equal(pv_entry_pick(e.out_until, e.failed, e.n, 5001), 0);
    assert_int_equal(pv_entries_mark_out(&e, st, 0, 5002), 0);
    assert_false(pv_entries_left(&e));
    assert_int_equal(pv_entries_mark_out(&e, st, 2, 5002), -1);
    pv_state_close(st);
    pv_config_free(cfg);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* An old-style health record (the fake user ":endpoints"): both entries
 * marked out far ahead. */
static int old_marks_cb(pv_state_record *rec, void *ctx)
{
    const pv_entries *e = ctx;

    rec->n_endpoints = 2;
    memcpy(rec->endpoint_key[0], e->key[0], 65);
    memcpy(rec->endpoint_key[1], e->key[1], 65);
    rec->endpoint_until[0] = rec->endpoint_until[1] = 99999;
    return 0;
}

static void test_health_shared(void **state)
{
    char dir[] = "/tmp/pv-failover-XXXXXX";
    pv_config *cfg = pv_config_new();
    pv_state *st = NULL;
    pv_entries a, b;
    pv_err err = { "" };
    char cmd[64];

    (void)state;
    assert_non_null(mkdtemp(dir));
    assert_int_equal(pv_state_file_open(dir, &st, &err), 0);
    assert_int_equal(parse(cfg,
                           "send_url = " A_SEND " " B_SEND "\n"
                           "verify_url = " A_VERIFY " " B_VERIFY "\n",
                           &err),
                     0);
    pv_entries_init(&a, cfg);
    assert_int_equal(a.n, 2);
    assert_string_not_equal(a.key[0], a.key[1]);
    assert_int_equal(pv_entries_mark_out(&a, st, 1, 5000), 0);
    assert_int_equal(a.out_until[1], 5000 + PV_ENTRY_OUT_SECONDS);

    /* another login (another host with etcd) sees the mark */
    pv_entries_init(&b, cfg);
    pv_entries_load(&b, st);
    assert_int_equal(b.out_until[0], 0);
    assert_int_equal(b.out_until[1], 5060);
    assert_int_equal(pv_entry_pick(b.out_until, b.failed, b.n, 5010), 0);
    b.failed[0] = 1;
    assert_int_equal(pv_entry_pick(b.out_until, b.failed, b.n, 5010), 1);
    b.failed[0] = 0;
    assert_int_equal(pv_entry_pick(b.out_until, b.failed, b.n, 5060), 0);

    /* marking entry 0 later prunes nothing still valid, renews its own */
    assert_int_equal(pv_entries_mark_out(&b, st, 0, 5030), 0);
    assert_int_equal(pv_entries_mark_out(&b, st, 1, 5040), 0);
    pv_entries_init(&a, cfg);
    pv_entries_load(&a, st);
    assert_int_equal(a.out_until[0], 5090);
    assert_int_equal(a.out_until[1], 5100);

    /* the marks are a record of their own (state_dir/health), never a
     * user's; the old fake user ":endpoints" is not read, whatever it
     * says of the entries */
    snprintf(cmd, sizeof cmd, "test -f %s/health", dir);
    assert_int_equal(system(cmd), 0);
    assert_non_null(strchr(PV_STATE_HEALTH_NAME, ':'));
    assert_int_equal(pv_state_update(st, ":endpoints", old_marks_cb, &a, &err),
                     0);
    pv_entries_init(&b, cfg);
    pv_entries_load(&b, st);
    assert_int_equal(b.out_until[0], 5090);
    assert_int_equal(b.out_until[1], 5100);
    pv_state_close(st);
    pv_config_free(cfg);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* An entry's key names its health in the shared state: its bytes must
 * not change between versions.  sha256("pv-entry 1\n" + netstring(send)
 * + netstring(verify)), computed independently. */
static void test_entry_key_pinned(void **state)
{
    pv_config *cfg = pv_config_new();
    pv_entries e;
    pv_err err = { "" };

    (void)state;
    assert_int_equal(parse(cfg,
                           "send_url = https://a.example/send\n"
                           "verify_url = https://a.example/verify\n",
                           &err),
                     0);
    pv_entries_init(&e, cfg);
    assert_int_equal(e.n, 1);
    assert_string_equal(e.key[0], "d8ca2650910e79ddc7cccc5bef31b30a08c645e8d9"
                                  "ee053bc9913768e910e193");
    pv_config_free(cfg);
}

/* The new record lines survive a round trip and are bounded. */
static void test_record_lines(void **state)
{
    static const char text[] = "pv-state 1\n"
                               "pending abc 100 +15550001111 2\n"
                               "endpoint "
                               "0123456789abcdef0123456789abcdef"
                               "0123456789abcdef0123456789abcdef 77\n"
                               "bgused "
                               "fedcba9876543210fedcba9876543210"
                               "fedcba9876543210fedcba9876543210\n"
                               "end\n";
    pv_state_record rec;
    char *out = NULL;
    size_t len = 0;

    (void)state;
    assert_int_equal(pv_state_record_parse(text, strlen(text), &rec), 0);
    assert_int_equal(rec.pending_entry, 2);
    assert_int_equal(rec.n_endpoints, 1);
    assert_int_equal(rec.endpoint_until[0], 77);
    assert_int_equal(rec.n_bg_used, 1);
    assert_int_equal(pv_state_record_format(&rec, &out, &len), 0);
    assert_int_equal(len, strlen(text));
    assert_memory_equal(out, text, len);
    free(out);
    assert_int_equal(pv_state_record_parse(
                         "pv-state 1\npending abc 100 x 0\nend\n", 35, &rec),
                     -1);
    assert_int_equal(
        pv_state_record_parse("pv-state 1\nbgused 00\nend\n", 26, &rec), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lists_parse),
        cmocka_unit_test(test_count_mismatch_names_line),
        cmocka_unit_test(test_each_url_checked),
        cmocka_unit_test(test_validate_counts),
        cmocka_unit_test(test_pick),
        cmocka_unit_test(test_mark_fails_entry_in_login),
        cmocka_unit_test(test_health_shared),
        cmocka_unit_test(test_record_lines),
        cmocka_unit_test(test_entry_key_pinned),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
