/* test_state.c - the state record format and the file backend. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "pvt.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "state/pv_state.h"
#include "state/pv_state_file.h"
#include "state/pv_state_open.h"
#include "state/pv_state_mem.h"

/* ---- helpers ----------------------------------------------------------- */

struct fixture {
    char base[64]; /* mkdtemp directory, removed afterwards */
    char dir[128]; /* base/state */
};

static int setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof *fx);

    assert_non_null(fx);
    strcpy(fx->base, "/tmp/pv-test-state.XXXXXX");
    assert_non_null(mkdtemp(fx->base));
    snprintf(fx->dir, sizeof fx->dir, "%s/state", fx->base);
    *state = fx;
    return 0;
}

static int rm_entry(const char *path, const struct stat *sb, int flag,
                    struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int teardown(void **state)
{
    struct fixture *fx = *state;

    nftw(fx->base, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(fx);
    return 0;
}

static pv_state *open_state(const char *dir, pvt_logcap *lc)
{
    pv_config cfg;
    pv_state *st = NULL;
    pv_err err = { "" };

    memset(&cfg, 0, sizeof cfg);
    cfg.state = (char *)"file";
    cfg.state_dir = (char *)dir;
    if (pv_state_open(&cfg, &st, &err) != 0)
        fail_msg("pv_state_open: %s", err.msg);
    if (lc != NULL) {
        st->logger.log = pvt_capture_log;
        st->logger.ctx = lc;
    }
    return st;
}

static int open_error(const char *state, const char *dir, pv_err *err)
{
    pv_config cfg;
    pv_state *st = NULL;
    int rc;

    memset(&cfg, 0, sizeof cfg);
    cfg.state = (char *)state;
    cfg.state_dir = (char *)dir;
    rc = pv_state_open(&cfg, &st, err);
    assert_null(st);
    return rc;
}

static int append_cb(pv_state_record *rec, void *ctx)
{
    const time_t *t = ctx;

    if (rec->n_failures >= PV_STATE_MAX_FAILURES)
        return -1;
    rec->failures[rec->n_failures++] = *t;
    return 0;
}

static int ret_cb(pv_state_record *rec, void *ctx)
{
    (void)rec;
    return *(const int *)ctx;
}

static void add_failure(pv_state *st, const char *user, time_t t)
{
    pv_err err = { "" };

    if (pv_state_update(st, user, append_cb, &t, &err) != 0)
        fail_msg("update %s: %s", user, err.msg);
}

static size_t read_count(pv_state *st, const char *user)
{
    pv_state_record rec;
    pv_err err = { "" };

    if (pv_state_read(st, user, &rec, &err) != 0)
        fail_msg("read: %s", err.msg);
    return rec.n_failures;
}

static int is_zero(const void *p, size_t n)
{
    const unsigned char *b = p;
    size_t i;

    for (i = 0; i < n; i++) {
        if (b[i] != 0)
            return 0;
    }
    return 1;
}

static void full_record(pv_state_record *rec)
{
    memset(rec, 0, sizeof *rec);
    rec->failures[0] = 0;
    rec->failures[1] = 1700000000;
    rec->failures[2] = PV_STATE_TIME_MAX;
    rec->n_failures = 3;
    rec->locked_until = 1700000900;
    strcpy(rec->pending_id, "ab12-CD34_ef:56/=+");
    strcpy(rec->pending_to, "+8613800138000");
    rec->pending_expires = 1700000600;
    pv_state_precheck_key("alice", "Alice Liddell", "13800138000",
                          rec->precheck_key);
    rec->precheck_until = 1700086400;
    rec->sends[0] = 1700000000;
    rec->send_counts[0] = 3;
    rec->sends[1] = 1700000060;
    rec->send_counts[1] = 1;
    rec->n_sends = 2;
    rec->last_sent = 1700000060;
    pv_state_grant_key("alice", "203.0.113.9", NULL, NULL, "service sshd",
                       rec->grant_keys[0]);
    rec->grant_until[0] = 1700000360;
    rec->grant_at[0] = 1700000060;
    rec->n_grants = 1;
    rec->grants_void = 1700000001;
}

static void assert_same_record(const pv_state_record *a,
                               const pv_state_record *b)
{
    size_t i;

    assert_int_equal(a->n_failures, b->n_failures);
    for (i = 0; i < a->n_failures; i++)
        assert_int_equal(a->failures[i], b->failures[i]);
    assert_int_equal(a->locked_until, b->locked_until);
    assert_int_equal(a->n_sends, b->n_sends);
    for (i = 0; i < a->n_sends; i++) {
        assert_int_equal(a->sends[i], b->sends[i]);
        assert_int_equal(a->send_counts[i], b->send_counts[i]);
    }
    assert_string_equal(a->pending_id, b->pending_id);
    assert_string_equal(a->pending_to, b->pending_to);
    assert_int_equal(a->pending_expires, b->pending_expires);
    assert_string_equal(a->precheck_key, b->precheck_key);
    assert_int_equal(a->precheck_until, b->precheck_until);
    assert_int_equal(a->last_sent, b->last_sent);
    assert_int_equal(a->n_grants, b->n_grants);
    for (i = 0; i < a->n_grants; i++) {
        assert_string_equal(a->grant_keys[i], b->grant_keys[i]);
        assert_int_equal(a->grant_until[i], b->grant_until[i]);
        assert_int_equal(a->grant_at[i], b->grant_at[i]);
    }
    assert_int_equal(a->grants_void, b->grants_void);
}

/* A terminal session as pv_origin.h reads it. */
static pv_tty_session session(unsigned long long tty, long sid,
                              unsigned long long start)
{
    pv_tty_session t = { 1, tty, sid, start };

    return t;
}

/* Grant keys: unset differs from empty, every item counts (each part of
 * the terminal session on its own), the raw values never show in the
 * record. */
static void test_grant_keys(void **state)
{
    pv_tty_session t[4] = { session(34816, 100, 5000),
                            session(34817, 100, 5000),
                            session(34816, 101, 5000),
                            session(34816, 100, 5001) };
    char k[12][65];
    size_t i, j;

    (void)state;
    pv_state_grant_key("alice", NULL, NULL, NULL, "service sshd", k[0]);
    pv_state_grant_key("alice", "", NULL, NULL, "service sshd", k[1]);
    pv_state_grant_key("alice", NULL, "", NULL, "service sshd", k[2]);
    pv_state_grant_key("bob", NULL, NULL, NULL, "service sshd", k[3]);
    pv_state_grant_key("alice", NULL, NULL, NULL, "service sudo", k[4]);
    pv_state_grant_key("alice", "10.0.0.1", NULL, NULL, "service sshd", k[5]);
    pv_state_grant_key("alice", NULL, "10.0.0.1", NULL, "service sshd", k[6]);
    for (i = 0; i < 4; i++)
        pv_state_grant_key("alice", NULL, NULL, &t[i], "service sshd",
                           k[7 + i]);
    pv_state_grant_key("alice", NULL, "alice", &t[0], "service sshd", k[11]);
    for (i = 0; i < 12; i++) {
        assert_int_equal(strlen(k[i]), 64);
        for (j = 0; j < i; j++)
            assert_string_not_equal(k[i], k[j]);
    }
}

/* Keys are stored (state records): their bytes must never change between
 * versions, or an upgrade loses every grant and pre-check.  Digests
 * computed independently: sha256("pv-precheck 1\n" + netstrings),
 * sha256("pv-grace 2\n" + ... + 8-byte big-endian session numbers). */
static void test_keys_pinned(void **state)
{
    pv_tty_session t = session(34816, 4242, 123456789);
    char k[65];

    (void)state;
    pv_state_precheck_key("alice", "Alice Li", "+8613900000000", k);
    assert_string_equal(k, "aa9bfd5a5084b788a0c3d9440078e0771cafd871b97a4f2c"
                           "78ea478a7ce04a9e");
    pv_state_grant_key("alice", "203.0.113.9", NULL, NULL, "sshd sudo", k);
    assert_string_equal(k, "27d5617fa6d93ff74cac6313e49d526beda541a28a2a4af9"
                           "cdd7e80af5b56e5a");
    pv_state_grant_key("alice", NULL, "alice", &t, "service sudo", k);
    assert_string_equal(k, "315433cfc888aa9527a275ca8732ed9f15cbd0bcf04e9f64"
                           "6aa63ff525be628d");
}

/* Adding replaces the same key and drops expired and, when full, the
 * oldest; active means same key and not expired. */
/* More grants than a record holds is corrupt. */
static void test_parse_too_many_grants(void **state)
{
    char buf[4096], key[65];
    pv_state_record rec;
    size_t len, i;

    (void)state;
    for (int extra = 0; extra < 2; extra++) {
        len = (size_t)snprintf(buf, sizeof buf, "pv-state 1\n");
        for (i = 0; i < PV_STATE_MAX_GRANTS + (size_t)extra; i++) {
            char t[24];

            snprintf(t, sizeof t, "t%zu", i);
            pv_state_grant_key("alice", NULL, t, NULL, "service sshd", key);
            len += (size_t)snprintf(buf + len, sizeof buf - len,
                                    "grant %s 1700000300 1700000000\n", key);
        }
        len += (size_t)snprintf(buf + len, sizeof buf - len, "end\n");
        assert_int_equal(pv_state_record_parse(buf, len, &rec),
                         extra ? -1 : 0);
        if (!extra)
            assert_int_equal(rec.n_grants, PV_STATE_MAX_GRANTS);
    }
}

static void test_grant_add_active(void **state)
{
    pv_state_record rec;
    char k[65], other[65];
    char *text;
    size_t len, i;

    (void)state;
    memset(&rec, 0, sizeof rec);
    pv_state_grant_key("alice", "h", "u", NULL, "service sshd", k);
    pv_state_grant_key("alice", "h", "u2", NULL, "service sshd", other);
    pv_state_grant_add(&rec, k, 900, 1000);
    assert_true(pv_state_grant_active(&rec, k, 999, 300, 0));
    assert_false(pv_state_grant_active(&rec, k, 1000, 300, 0));
    assert_false(pv_state_grant_active(&rec, other, 999, 300, 0));
    pv_state_grant_add(&rec, k, 950, 2000);
    assert_int_equal(rec.n_grants, 1);
    assert_int_equal(rec.grant_until[0], 2000);
    assert_int_equal(rec.grant_at[0], 950);
    for (i = 0; i < PV_STATE_MAX_GRANTS + 3; i++) {
        char key[65];
        char name[16];

        snprintf(name, sizeof name, "u%zu", i);
        pv_state_grant_key("alice", "h", name, NULL, "service x", key);
        pv_state_grant_add(&rec, key, 960, 3000 + (time_t)i);
    }
    assert_int_equal(rec.n_grants, PV_STATE_MAX_GRANTS);
    assert_false(pv_state_grant_active(&rec, k, 961, 5000, 0)); /* oldest */
    pv_state_grant_add(&rec, other, 4000, 5000); /* all others ended */
    assert_int_equal(rec.n_grants, 1);
    assert_true(pv_state_grant_active(&rec, other, 4999, 1000, 0));
    assert_int_equal(pv_state_record_format(&rec, &text, &len), 0);
    assert_non_null(strstr(text, other));
    assert_non_null(strstr(text, " 5000 4000\n"));
    free(text);
}

/* A grant read back ends `grace` after it was earned, whatever end it
 * stores; one earned in the future, or at or before the user's last
 * lockout or unlock, is no grant. */
static void test_grant_read_back_is_capped(void **state)
{
    pv_state_record rec;
    char k[65];

    (void)state;
    memset(&rec, 0, sizeof rec);
    pv_state_grant_key("alice", "h", NULL, NULL, "service sshd", k);
    pv_state_grant_add(&rec, k, 1000, PV_STATE_TIME_MAX);
    assert_true(pv_state_grant_active(&rec, k, 1299, 300, 0));
    assert_false(pv_state_grant_active(&rec, k, 1300, 300, 0));
    assert_int_equal(pv_state_grant_end(&rec, 0, 300), 1300);
    assert_false(pv_state_grant_active(&rec, k, 1100, 50, 0)); /* grace cut */
    assert_false(pv_state_grant_active(&rec, k, 999, 300, 0)); /* future */
    assert_false(pv_state_grant_active(&rec, k, 1100, 300, 1000)); /* void */
    assert_true(pv_state_grant_active(&rec, k, 1100, 300, 999));
    assert_false(pv_state_grant_active(&rec, k, 1100, 0, 0)); /* grace off */
    rec.grants_void = 1000; /* the record's own void time counts too */
    assert_false(pv_state_grant_active(&rec, k, 1100, 300, 0));
    assert_int_equal(pv_state_grant_end(&rec, 0, 300), 0);
}

/* A grant line of an older version (no earning time) is never honoured;
 * the record around it still reads. */
static void test_old_grant_line_ended(void **state)
{
    static const char text[] =
        "pv-state 1\nfail 1700000000\n"
        "grant "
        "0000000000000000000000000000000000000000000000000000000000000000"
        " 253402300799\nend\n";
    pv_state_record rec;

    (void)state;
    assert_int_equal(pv_state_record_parse(text, sizeof text - 1, &rec), 0);
    assert_int_equal(rec.n_failures, 1);
    assert_int_equal(rec.n_grants, 1);
    assert_false(
        pv_state_grant_active(&rec, rec.grant_keys[0], 1700000000, 86400, 0));
}

/* Voiding drops the grants and only ever moves grants_void later. */
static void test_grants_void(void **state)
{
    pv_state_record rec;
    char k[65];

    (void)state;
    memset(&rec, 0, sizeof rec);
    pv_state_grant_key("alice", "h", NULL, NULL, "service sshd", k);
    pv_state_grant_add(&rec, k, 1000, 1300);
    pv_state_grants_void(&rec, 1200);
    assert_int_equal(rec.n_grants, 0);
    assert_int_equal(rec.grants_void, 1200);
    pv_state_grants_void(&rec, 1100);
    assert_int_equal(rec.grants_void, 1200);
}

typedef struct lock_ctx {
    time_t until;
} lock_ctx;

static int lock_cb(pv_state_record *rec, void *ctx)
{
    rec->locked_until = ((const lock_ctx *)ctx)->until;
    return 0;
}

static int grant_cb(pv_state_record *rec, void *ctx)
{
    pv_state_grant_add(rec, ctx, 1000, 1300);
    return 0;
}

/* Any update that starts a lock ends every grant of the user: the grant
 * does not come back when the lock ends. */
static void test_lock_voids_grants(void **state)
{
    pv_state *st = NULL;
    pv_state_record rec;
    lock_ctx lc = { 2000 };
    char k[65];
    pv_err err;

    (void)state;
    pv_err_clear(&err);
    assert_int_equal(pv_state_mem_open(&st, &err), 0);
    pv_state_grant_key("alice", "h", NULL, NULL, "service sshd", k);
    assert_int_equal(pv_state_update(st, "alice", grant_cb, k, &err), 0);
    assert_int_equal(pv_state_read(st, "alice", &rec, &err), 0);
    assert_true(pv_state_grant_active(&rec, k, 1100, 300, 0));
    assert_int_equal(pv_state_update(st, "alice", lock_cb, &lc, &err), 0);
    assert_int_equal(pv_state_read(st, "alice", &rec, &err), 0);
    assert_int_equal(rec.grants_void, 2000);
    assert_int_equal(rec.n_grants, 0);
    lc.until = 0; /* the lock lifted: grants_void stays */
    assert_int_equal(pv_state_update(st, "alice", lock_cb, &lc, &err), 0);
    assert_int_equal(pv_state_read(st, "alice", &rec, &err), 0);
    assert_int_equal(rec.grants_void, 2000);
    pv_state_close(st);
}

/* Parse must fail and leave the record all zero. */
static void assert_corrupt(const char *text, size_t len)
{
    pv_state_record rec;

    memset(&rec, 0xAA, sizeof rec);
    if (pv_state_record_parse(text, len, &rec) != -1)
        fail_msg("accepted corrupt record: %.*s", (int)(len > 80 ? 80 : len),
                 text);
    assert_true(is_zero(&rec, sizeof rec));
}

/* ---- record format ----------------------------------------------------- */

static void test_round_trip(void **state)
{
    pv_state_record a, b;
    char *text;
    size_t len;

    (void)state;
    full_record(&a);
    assert_int_equal(pv_state_record_format(&a, &text, &len), 0);
    assert_int_equal(strlen(text), len);
    assert_int_equal(
        strncmp(text, "pv-state 1\nfail 0\nfail 1700000000\n", 34), 0);
    assert_int_equal(pv_state_record_parse(text, len, &b), 0);
    assert_same_record(&a, &b);
    free(text);
}

static void test_round_trip_empty(void **state)
{
    pv_state_record a, b;
    char *text;
    size_t len;

    (void)state;
    memset(&a, 0, sizeof a);
    assert_int_equal(pv_state_record_format(&a, &text, &len), 0);
    assert_string_equal(text, "pv-state 1\nend\n");
    memset(&b, 0x55, sizeof b);
    assert_int_equal(pv_state_record_parse(text, len, &b), 0);
    assert_true(is_zero(&b, sizeof b));
    free(text);
}

static void test_parse_limits(void **state)
{
    char buf[4096], id[PV_STATE_ID_MAX + 2];
    pv_state_record rec;
    size_t len, i;

    (void)state;
    len = (size_t)sprintf(buf, "pv-state 1\n");
    for (i = 0; i < PV_STATE_MAX_FAILURES; i++)
        len += (size_t)sprintf(buf + len, "fail %zu\n", i);
    strcpy(buf + len, "end\n");
    assert_int_equal(pv_state_record_parse(buf, len + 4, &rec), 0);
    assert_int_equal(rec.n_failures, PV_STATE_MAX_FAILURES);
    /* one more is corrupt */
    strcpy(buf + len, "fail 1\nend\n");
    assert_corrupt(buf, len + 11);

    /* the longest id is accepted, one byte more is not */
    memset(id, 'x', PV_STATE_ID_MAX);
    id[PV_STATE_ID_MAX] = '\0';
    len = (size_t)sprintf(buf, "pv-state 1\npending %s 5 +1555\nend\n", id);
    assert_int_equal(pv_state_record_parse(buf, len, &rec), 0);
    assert_int_equal(strlen(rec.pending_id), PV_STATE_ID_MAX);
    pv_state_record_clear(&rec);
    assert_true(is_zero(&rec, sizeof rec));
    strcat(id, "x");
    len = (size_t)sprintf(buf, "pv-state 1\npending %s 5 +1555\nend\n", id);
    assert_corrupt(buf, len);
}

static void test_parse_corrupt_table(void **state)
{
    static const char *const bad[] = {
        "",
        "\n",
        "garbage",
        "end\n", /* missing header */
        "fail 1\nend\n",
        "pv-state 2\nend\n",
        "pv-state 1\n",              /* no end */
        "pv-state 1\nend",           /* no final newline */
        "pv-state 1\nend\nfail 1\n", /* after end */
        "pv-state 1\nend\nend\n",
        "pv-state 1\n\nend\n", /* empty line */
        "pv-state 1\r\nend\r\n",
        "pv-state  1\nend\n",
        " pv-state 1\nend\n",
        "pv-state 1\nfail\nend\n",
        "pv-state 1\nfail \nend\n",
        "pv-state 1\nfail  1\nend\n",
        "pv-state 1\nfail 1 \nend\n",
        "pv-state 1\nfail -1\nend\n",
        "pv-state 1\nfail +1\nend\n",
        "pv-state 1\nfail 01\nend\n",
        "pv-state 1\nfail 1x\nend\n",
        "pv-state 1\nfail 0x10\nend\n",
        "pv-state 1\nfail 253402300800\nend\n", /* past PV_STATE_TIME_MAX */
        "pv-state 1\nfail 99999999999999999999999\nend\n",
        "pv-state 1\nfail 1 2\nend\n",
        "pv-state 1\nFAIL 1\nend\n",
        "pv-state 1\nunknown 1\nend\n",
        "pv-state 1\nsent 5\nend\n",        /* count missing */
        "pv-state 1\nsent 5 0\nend\n",      /* zero sends */
        "pv-state 1\nsent 5 100001\nend\n", /* too many */
        "pv-state 1\nsent 5 01\nend\n",
        "pv-state 1\nsent -5 1\nend\n",
        "pv-state 1\nlocked_until 5\nlocked_until 6\nend\n",
        "pv-state 1\nlast_sent 5\nlast_sent 6\nend\n",
        "pv-state 1\nlast_sent\nend\n",
        "pv-state 1\nlast_sent -5\nend\n",
        "pv-state 1\ngrant "
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\nend"
        "\n", /* no expiry */
        "pv-state 1\ngrant "
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 5 "
        "6 7\nend\n",
        "pv-state 1\ngrant "
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 5 "
        "-6\nend\n", /* earned before the epoch */
        "pv-state 1\ngrants_void 5\ngrants_void 6\nend\n",
        "pv-state 1\ngrants_void -5\nend\n",
        "pv-state 1\ngrants_void\nend\n",
        "pv-state 1\ngrant "
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa "
        "5\nend\n", /* short hash */
        "pv-state 1\ngrant "
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA "
        "5\nend\n", /* upper case */
        "pv-state 1\ngrant raw-tuple 5\nend\n",
        "pv-state 1\nlocked_until\nend\n",
        "pv-state 1\npending id 5\nend\n",
        "pv-state 1\npending id 5 +1 extra\nend\n",
        "pv-state 1\npending id x +1\nend\n",
        "pv-state 1\npending i\x01"
        "d 5 +1\nend\n",
        "pv-state 1\npending id 5 +1\x7f\nend\n",
        "pv-state 1\npending \xc3\xa9 5 +1\nend\n",
        "pv-state 1\npending id 5 +1\npending id 6 +1\nend\n",
        "pv-state 1\nprecheck abc 5\nend\n",
        "pv-state 1\nprecheck "
        "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"
        " 5\nend\n",
        "pv-state 1\nprecheck "
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85"
        " 5\nend\n",
        "pv-state 1\nprecheck "
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
        "end\n",
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_corrupt(bad[i], strlen(bad[i]));
    assert_corrupt(NULL, 0);
    assert_int_equal(pv_state_record_parse("pv-state 1\nend\n", 15, NULL), -1);
}

/* Every proper prefix of a record is corrupt (the "end" trailer). */
static void test_parse_truncated(void **state)
{
    pv_state_record a;
    char *text;
    size_t len, i;

    (void)state;
    full_record(&a);
    assert_int_equal(pv_state_record_format(&a, &text, &len), 0);
    for (i = 0; i < len; i++)
        assert_corrupt(text, i);
    free(text);
}

static void test_parse_nul(void **state)
{
    pv_state_record a;
    char *text;
    size_t len, i;

    (void)state;
    full_record(&a);
    assert_int_equal(pv_state_record_format(&a, &text, &len), 0);
    for (i = 0; i < len; i++) {
        char saved = text[i];

        text[i] = '\0';
        assert_corrupt(text, len);
        text[i] = saved;
    }
    free(text);
}

static void test_parse_many_fails(void **state)
{
    size_t cap = 16 + 1000 * 16, len, i;
    char *buf = malloc(cap);

    (void)state;
    assert_non_null(buf);
    len = (size_t)sprintf(buf, "pv-state 1\n");
    for (i = 0; i < 1000; i++)
        len += (size_t)sprintf(buf + len, "fail %zu\n", 1000 + i);
    len += (size_t)sprintf(buf + len, "end\n");
    assert_corrupt(buf, len);
    free(buf);

    /* larger than PV_STATE_MAX_SIZE, even if well formed up to there */
    buf = calloc(1, PV_STATE_MAX_SIZE + 64);
    assert_non_null(buf);
    len = (size_t)sprintf(buf, "pv-state 1\n");
    memset(buf + len, 'x', PV_STATE_MAX_SIZE);
    assert_corrupt(buf, PV_STATE_MAX_SIZE + 1);
    free(buf);
}

static uint32_t lcg(uint32_t *s)
{
    *s = *s * 1103515245u + 12345u;
    return *s >> 8;
}

/* Random bytes and mutated records: never a crash; whatever parses must
 * format again (the parser only accepts what the writer can write). */
static void test_parse_fuzz(void **state)
{
    char *text, *out, buf[512];
    pv_state_record a, rec;
    size_t len, olen, i, j;
    uint32_t seed = 12345;

    (void)state;
    full_record(&a);
    assert_int_equal(pv_state_record_format(&a, &text, &len), 0);
    for (i = 0; i < 20000; i++) {
        char *m = malloc(len);

        assert_non_null(m);
        memcpy(m, text, len);
        for (j = 0; j < 1 + lcg(&seed) % 3; j++)
            m[lcg(&seed) % len] = (char)lcg(&seed);
        if (pv_state_record_parse(m, len, &rec) == 0) {
            assert_int_equal(pv_state_record_format(&rec, &out, &olen), 0);
            free(out);
        }
        free(m);
    }
    for (i = 0; i < 2000; i++) {
        size_t n = lcg(&seed) % sizeof buf;

        for (j = 0; j < n; j++)
            buf[j] = (char)lcg(&seed);
        if (pv_state_record_parse(buf, n, &rec) != 0)
            assert_true(is_zero(&rec, sizeof rec));
    }
    free(text);
}

static void test_format_refuses_invalid(void **state)
{
    pv_state_record a;
    char *text = (char *)"sentinel";
    size_t len = 99;

    (void)state;
    full_record(&a);
    strcpy(a.pending_id, "has space");
    assert_int_equal(pv_state_record_format(&a, &text, &len), -1);
    assert_null(text);
    assert_int_equal(len, 0);

    full_record(&a);
    a.pending_to[0] = '\0';
    assert_int_equal(pv_state_record_format(&a, &text, &len), -1);

    full_record(&a);
    strcpy(a.pending_to, "+1\n555");
    assert_int_equal(pv_state_record_format(&a, &text, &len), -1);

    full_record(&a);
    a.failures[1] = -5;
    assert_int_equal(pv_state_record_format(&a, &text, &len), -1);

    full_record(&a);
    a.n_failures = PV_STATE_MAX_FAILURES + 1;
    assert_int_equal(pv_state_record_format(&a, &text, &len), -1);

    full_record(&a);
    a.precheck_key[63] = '\0';
    assert_int_equal(pv_state_record_format(&a, &text, &len), -1);

    full_record(&a);
    a.locked_until = PV_STATE_TIME_MAX + 1;
    assert_int_equal(pv_state_record_format(&a, &text, &len), -1);

    /* no NUL inside the id array at all */
    full_record(&a);
    memset(a.pending_id, 'a', sizeof a.pending_id);
    assert_int_equal(pv_state_record_format(&a, &text, &len), -1);
}

static void test_sha256(void **state)
{
    char hex[65], k1[65], k2[65];
    char *big = malloc(1000000);

    (void)state;
    pv_state_sha256_hex("", 0, hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb924"
                             "27ae41e4649b934ca495991b7852b855");
    pv_state_sha256_hex("abc", 3, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223"
                             "b00361a396177a9cb410ff61f20015ad");
    pv_state_sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnop"
                        "nopq",
                        56, hex);
    assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039"
                             "a33ce45964ff2167f6ecedd419db06c1");
    assert_non_null(big);
    memset(big, 'a', 1000000);
    pv_state_sha256_hex(big, 1000000, hex);
    assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67"
                             "f1809a48a497200e046d39ccc7112cd0");
    free(big);

    pv_state_precheck_key("u", "ab", "c", k1);
    pv_state_precheck_key("u", "a", "bc", k2);
    assert_int_equal(strlen(k1), 64);
    assert_string_not_equal(k1, k2);
    pv_state_precheck_key("u", NULL, "c", k1);
    pv_state_precheck_key("u", "", "c", k2);
    assert_string_equal(k1, k2);
}

/* ---- backend selection and state_dir checks ---------------------------- */

static void test_open_dispatch(void **state)
{
    struct fixture *fx = *state;
    pv_err err = { "" };
    pv_state *st = NULL;
    pv_config cfg;

    assert_int_equal(open_error("redis://127.0.0.1:6379/0", fx->dir, &err),
                     -1);
    assert_non_null(strstr(err.msg, "unknown backend")); /* stub gone */
    assert_int_equal(open_error("memcached", fx->dir, &err), -1);
    assert_non_null(strstr(err.msg, "unknown"));
    assert_int_equal(open_error("file", NULL, &err), -1);
    assert_int_equal(open_error("file", "relative/state", &err), -1);
    assert_non_null(strstr(err.msg, "absolute"));

    /* state unset means file */
    memset(&cfg, 0, sizeof cfg);
    cfg.state_dir = fx->dir;
    assert_int_equal(pv_state_open(&cfg, &st, &err), 0);
    assert_non_null(st);
    pv_state_close(st);
    pv_state_close(NULL);
}

static void test_dir_created(void **state)
{
    struct fixture *fx = *state;
    pv_state *st;
    struct stat sb;
    mode_t old = umask(022);

    st = open_state(fx->dir, NULL);
    umask(old);
    assert_int_equal(lstat(fx->dir, &sb), 0);
    assert_true(S_ISDIR(sb.st_mode));
    assert_int_equal(sb.st_mode & 07777, 0700);
    pv_state_close(st);
}

static void test_dir_parent_missing(void **state)
{
    struct fixture *fx = *state;
    char dir[256];
    pv_err err = { "" };

    snprintf(dir, sizeof dir, "%s/nope/state", fx->base);
    assert_int_equal(open_error("file", dir, &err), -1);
    assert_non_null(strstr(err.msg, "parent"));
}

static void test_dir_permissions(void **state)
{
    struct fixture *fx = *state;
    pv_err err = { "" };
    pv_state *st;

    assert_int_equal(mkdir(fx->dir, 0700), 0);
    assert_int_equal(chmod(fx->dir, 0770), 0);
    assert_int_equal(open_error("file", fx->dir, &err), -1);
    assert_non_null(strstr(err.msg, "writable"));
    assert_int_equal(chmod(fx->dir, 0702), 0);
    assert_int_equal(open_error("file", fx->dir, &err), -1);
    assert_int_equal(chmod(fx->dir, 0777), 0);
    assert_int_equal(open_error("file", fx->dir, &err), -1);
    /* readable is fine, writable is what matters */
    assert_int_equal(chmod(fx->dir, 0755), 0);
    st = open_state(fx->dir, NULL);
    pv_state_close(st);
}

static void test_dir_symlink(void **state)
{
    struct fixture *fx = *state;
    char real[256];
    pv_err err = { "" };

    snprintf(real, sizeof real, "%s/real", fx->base);
    assert_int_equal(mkdir(real, 0700), 0);
    assert_int_equal(symlink(real, fx->dir), 0);
    assert_int_equal(open_error("file", fx->dir, &err), -1);
    assert_non_null(strstr(err.msg, "symlink"));
}

static void test_dir_not_directory(void **state)
{
    struct fixture *fx = *state;
    pv_err err = { "" };
    int fd = open(fx->dir, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);

    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(open_error("file", fx->dir, &err), -1);
}

static void test_dir_foreign_owner(void **state)
{
    struct fixture *fx = *state;
    pv_err err = { "" };

    if (geteuid() != 0)
        skip();
    assert_int_equal(mkdir(fx->dir, 0700), 0);
    assert_int_equal(chown(fx->dir, 4242, 4242), 0);
    assert_int_equal(open_error("file", fx->dir, &err), -1);
    assert_non_null(strstr(err.msg, "owned"));
}

/* ---- reading and updating records -------------------------------------- */

static void test_update_read(void **state)
{
    struct fixture *fx = *state;
    pvt_logcap lc = { 0 };
    pv_state *st = open_state(fx->dir, &lc);
    pv_err err = { "" };
    struct stat sb;
    char path[256];
    int r;

    assert_int_equal(read_count(st, "alice"), 0); /* missing: empty */
    add_failure(st, "alice", 100);
    add_failure(st, "alice", 200);
    assert_int_equal(read_count(st, "alice"), 2);
    assert_int_equal(read_count(st, "bob"), 0);
    snprintf(path, sizeof path, "%s/u-alice", fx->dir);
    assert_int_equal(lstat(path, &sb), 0);
    assert_true(S_ISREG(sb.st_mode));
    assert_int_equal(sb.st_mode & 07777, 0600);

    /* 1: leave unchanged (no record created) */
    r = 1;
    assert_int_equal(pv_state_update(st, "carol", ret_cb, &r, &err), 0);
    snprintf(path, sizeof path, "%s/u-carol", fx->dir);
    assert_int_equal(lstat(path, &sb), -1);
    /* -1: abort, reported */
    r = -1;
    assert_int_equal(pv_state_update(st, "alice", ret_cb, &r, &err), -1);
    assert_true(err.msg[0] != '\0');
    assert_int_equal(read_count(st, "alice"), 2);
    assert_int_equal(pv_state_update(st, "alice", NULL, NULL, &err), -1);
    assert_int_equal(lc.count, 0);
    pv_state_close(st);
}

static int copy_cb(pv_state_record *rec, void *ctx)
{
    *rec = *(const pv_state_record *)ctx;
    return 0;
}

static void test_full_record_round_trip(void **state)
{
    struct fixture *fx = *state;
    pv_state *st = open_state(fx->dir, NULL);
    pv_state_record a, b;
    pv_err err = { "" };

    full_record(&a);
    /* twice: the first write starts the lock, which ends the grants */
    assert_int_equal(pv_state_update(st, "dave", copy_cb, &a, &err), 0);
    assert_int_equal(pv_state_update(st, "dave", copy_cb, &a, &err), 0);
    assert_int_equal(pv_state_read(st, "dave", &b, &err), 0);
    assert_same_record(&a, &b);
    /* a record that would not parse back is not written */
    strcpy(a.pending_id, "bad id");
    assert_int_equal(pv_state_update(st, "dave", copy_cb, &a, &err), -1);
    assert_int_equal(pv_state_read(st, "dave", &b, &err), 0);
    assert_string_equal(b.pending_id, "ab12-CD34_ef:56/=+");
    pv_state_close(st);
}

static void test_record_symlink(void **state)
{
    struct fixture *fx = *state;
    pvt_logcap lc = { 0 };
    pv_state *st = open_state(fx->dir, &lc);
    char target[256], link[256], buf[64];
    pv_state_record rec;
    pv_err err = { "" };
    time_t t = 5;
    struct stat sb;
    int fd;

    add_failure(st, "alice", 100);
    snprintf(target, sizeof target, "%s/precious", fx->base);
    snprintf(link, sizeof link, "%s/u-alice", fx->dir);
    fd = open(target, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "precious\n", 9), 9);
    close(fd);
    assert_int_equal(unlink(link), 0);
    assert_int_equal(symlink(target, link), 0);

    assert_int_equal(pv_state_read(st, "alice", &rec, &err), -1);
    assert_non_null(strstr(err.msg, "symlink"));
    assert_true(is_zero(&rec, sizeof rec));
    assert_int_equal(lc.count, 1);
    assert_int_equal(lc.prio, LOG_ERR);
    err.msg[0] = '\0';
    assert_int_equal(pv_state_update(st, "alice", append_cb, &t, &err), -1);
    assert_non_null(strstr(err.msg, "symlink"));

    /* the target is untouched and the link is still a link */
    fd = open(target, O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    memset(buf, 0, sizeof buf);
    assert_int_equal(read(fd, buf, sizeof buf - 1), 9);
    close(fd);
    assert_string_equal(buf, "precious\n");
    assert_int_equal(lstat(link, &sb), 0);
    assert_true(S_ISLNK(sb.st_mode));
    pv_state_close(st);
}

static void test_lock_symlink(void **state)
{
    struct fixture *fx = *state;
    pv_state *st = open_state(fx->dir, NULL);
    char target[256], link[256];
    pv_err err = { "" };
    struct stat sb;
    time_t t = 5;

    snprintf(target, sizeof target, "%s/elsewhere", fx->base);
    snprintf(link, sizeof link, "%s/u-alice.lock", fx->dir);
    assert_int_equal(symlink(target, link), 0);
    assert_int_equal(pv_state_update(st, "alice", append_cb, &t, &err), -1);
    assert_non_null(strstr(err.msg, "symlink"));
    assert_int_equal(lstat(target, &sb), -1); /* not created */
    pv_state_close(st);
}

static void test_corrupt_record_logged(void **state)
{
    static const char junk[] = "pv-state 1\npending SECRET-ID-42 5 +1555\n"
                               "garbage line\nend\n";
    struct fixture *fx = *state;
    pvt_logcap lc = { 0 };
    pv_state *st = open_state(fx->dir, &lc);
    pv_state_record rec;
    pv_err err = { "" };
    int dfd = open(fx->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    assert_true(dfd >= 0);
    pvt_write_at(dfd, "u-alice", junk, sizeof junk - 1, 0600);
    assert_int_equal(pv_state_read(st, "alice", &rec, &err), 0);
    assert_true(is_zero(&rec, sizeof rec));
    assert_int_equal(lc.count, 1);
    assert_int_equal(lc.prio, LOG_WARNING);
    assert_non_null(strstr(lc.last, "corrupt"));
    assert_null(strstr(lc.last, "SECRET"));

    /* an update starts from empty and replaces it */
    add_failure(st, "alice", 7);
    assert_int_equal(lc.count, 2);
    assert_int_equal(read_count(st, "alice"), 1);
    assert_int_equal(lc.count, 2);

    /* truncated by a crash mid-write: also empty, also logged */
    pvt_write_at(dfd, "u-alice", "pv-state 1\nfail 5\nfa", 20, 0600);
    assert_int_equal(read_count(st, "alice"), 0);
    assert_int_equal(lc.count, 3);
    close(dfd);
    pv_state_close(st);
}

static void test_oversized_record(void **state)
{
    struct fixture *fx = *state;
    pvt_logcap lc = { 0 };
    pv_state *st = open_state(fx->dir, &lc);
    char *big = malloc(PV_STATE_MAX_SIZE + 100);
    int dfd = open(fx->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    assert_non_null(big);
    assert_true(dfd >= 0);
    memset(big, '\n', PV_STATE_MAX_SIZE + 100);
    pvt_write_at(dfd, "u-alice", big, PV_STATE_MAX_SIZE + 100, 0600);
    assert_int_equal(read_count(st, "alice"), 0);
    assert_int_equal(lc.count, 1);
    assert_int_equal(lc.prio, LOG_WARNING);
    free(big);
    close(dfd);
    pv_state_close(st);
}

static void test_record_not_private(void **state)
{
    struct fixture *fx = *state;
    pv_state *st = open_state(fx->dir, NULL);
    pv_state_record rec;
    pv_err err = { "" };
    char path[256];

    add_failure(st, "alice", 1);
    snprintf(path, sizeof path, "%s/u-alice", fx->dir);
    assert_int_equal(chmod(path, 0644), 0);
    assert_int_equal(pv_state_read(st, "alice", &rec, &err), -1);
    assert_true(err.msg[0] != '\0');
    assert_int_equal(chmod(path, 0600), 0);
    if (geteuid() == 0) {
        assert_int_equal(chown(path, 4242, 4242), 0);
        assert_int_equal(pv_state_read(st, "alice", &rec, &err), -1);
    }
    /* a directory where the record should be */
    snprintf(path, sizeof path, "%s/u-bob", fx->dir);
    assert_int_equal(mkdir(path, 0700), 0);
    assert_int_equal(pv_state_read(st, "bob", &rec, &err), -1);
    pv_state_close(st);
}

static void test_stale_tmp(void **state)
{
    struct fixture *fx = *state;
    pv_state *st = open_state(fx->dir, NULL);
    int dfd = open(fx->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    assert_true(dfd >= 0);
    pvt_write_at(dfd, "u-alice.tmp", "left over", 9, 0600);
    add_failure(st, "alice", 1);
    assert_int_equal(read_count(st, "alice"), 1);
    assert_int_equal(faccessat(dfd, "u-alice.tmp", F_OK, 0), -1);
    close(dfd);
    pv_state_close(st);
}

/* ---- concurrency ------------------------------------------------------- */

#define N_PROCS 50

static void child_add(const char *dir, int go_fd, int i)
{
    pv_config cfg;
    pv_state *st = NULL;
    pv_err err = { "" };
    time_t t = 1000 + i;
    char c;
    int rc;

    /* wait for the start signal so that all children race */
    while (read(go_fd, &c, 1) < 0 && errno == EINTR)
        ;
    close(go_fd);
    memset(&cfg, 0, sizeof cfg);
    cfg.state = (char *)"file";
    cfg.state_dir = (char *)dir;
    rc = pv_state_open(&cfg, &st, &err);
    if (rc == 0)
        rc = pv_state_update(st, "alice", append_cb, &t, &err);
    if (rc != 0)
        fprintf(stderr, "child %d: %s\n", i, err.msg);
    pv_state_close(st);
    _exit(rc == 0 ? 0 : 1);
}

static void test_concurrent_updates(void **state)
{
    struct fixture *fx = *state;
    pv_state *st;
    pid_t pids[N_PROCS];
    int go[2], seen[N_PROCS] = { 0 };
    pv_state_record rec;
    pv_err err = { "" };
    int i, status;

    assert_int_equal(pipe2(go, O_CLOEXEC), 0);
    for (i = 0; i < N_PROCS; i++) {
        pids[i] = fork();
        assert_true(pids[i] >= 0);
        if (pids[i] == 0) {
            close(go[1]);
            child_add(fx->dir, go[0], i);
        }
    }
    close(go[0]);
    close(go[1]); /* EOF on the pipe: start */
    for (i = 0; i < N_PROCS; i++) {
        assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
    /* opened only now, so that no child inherits it */
    st = open_state(fx->dir, NULL);
    assert_int_equal(pv_state_read(st, "alice", &rec, &err), 0);
    assert_int_equal(rec.n_failures, N_PROCS);
    for (i = 0; i < N_PROCS; i++) {
        long k = (long)rec.failures[i] - 1000;

        assert_true(k >= 0 && k < N_PROCS);
        assert_int_equal(seen[k], 0);
        seen[k] = 1;
    }
    pv_state_close(st);
}

static void test_lock_timeout(void **state)
{
    struct fixture *fx = *state;
    pv_state *st = open_state(fx->dir, NULL);
    char path[256];
    pv_err err = { "" };
    time_t t = 1;
    struct timespec a, b;
    int fd;

    snprintf(path, sizeof path, "%s/u-bob.lock", fx->dir);
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(flock(fd, LOCK_EX), 0);
    assert_int_equal(st->lock_wait_ms, PV_STATE_LOCK_WAIT_MS);
    st->lock_wait_ms = 5000;
    clock_gettime(CLOCK_MONOTONIC, &a);
    assert_int_equal(pv_state_update(st, "bob", append_cb, &t, &err), -1);
    clock_gettime(CLOCK_MONOTONIC, &b);
    assert_true(b.tv_sec - a.tv_sec >= 4);
    assert_true(b.tv_sec - a.tv_sec <= 10);
    assert_non_null(strstr(err.msg, "still held"));
    close(fd);
    /* released: works again */
    add_failure(st, "bob", 1);
    assert_int_equal(read_count(st, "bob"), 1);
    pv_state_close(st);
}

/* ---- hostile names, fds ------------------------------------------------ */

static int name_safe(const char *n)
{
    size_t i;

    if (strncmp(n, "u-", 2) != 0 && strncmp(n, "h-", 2) != 0)
        return 0;
    for (i = 0; n[i] != '\0'; i++) {
        char c = n[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '%' ||
              c == '.'))
            return 0;
    }
    return i <= 255;
}

static void assert_dir_clean(const struct fixture *fx)
{
    struct dirent *e;
    DIR *d = opendir(fx->dir);
    int n = 0;

    assert_non_null(d);
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (!name_safe(e->d_name))
            fail_msg("unsafe file name in state_dir: %s", e->d_name);
        n++;
    }
    closedir(d);
    assert_true(n > 0);
    /* and nothing beside state_dir */
    d = opendir(fx->base);
    assert_non_null(d);
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            assert_string_equal(e->d_name, "state");
    }
    closedir(d);
}

static void test_hostile_names(void **state)
{
    struct fixture *fx = *state;
    pv_state *st = open_state(fx->dir, NULL);
    char n256[PV_STATE_USER_MAX + 1], hi[PV_STATE_USER_MAX + 1];
    char n300[301], n257[PV_STATE_USER_MAX + 2];
    const char *ok[] = { "../../etc/passwd",
                         "a\nb",
                         "a%0Ab",
                         "a/b",
                         ".",
                         "..",
                         "-rf",
                         "x.lock",
                         "u-x",
                         "\xff\xfe",
                         " ",
                         n256,
                         hi,
                         "A",
                         "a" };
    const char *bad[] = { "", n300, n257 };
    pv_state_record rec;
    pv_err err = { "" };
    time_t t = 1;
    size_t i, k;

    memset(n256, 'n', PV_STATE_USER_MAX);
    n256[PV_STATE_USER_MAX] = '\0';
    memset(hi, '\xe9', PV_STATE_USER_MAX);
    hi[PV_STATE_USER_MAX] = '\0';
    memset(n300, 'x', 300);
    n300[300] = '\0';
    memset(n257, 'y', PV_STATE_USER_MAX + 1);
    n257[PV_STATE_USER_MAX + 1] = '\0';

    /* user i gets i+1 failures: any collision would show */
    for (i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        for (k = 0; k <= i; k++)
            add_failure(st, ok[i], (time_t)k);
    }
    for (i = 0; i < sizeof ok / sizeof ok[0]; i++)
        assert_int_equal(read_count(st, ok[i]), i + 1);
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(pv_state_update(st, bad[i], append_cb, &t, &err), -1);
        assert_int_equal(pv_state_read(st, bad[i], &rec, &err), -1);
    }
    assert_dir_clean(fx);
    assert_int_equal(pv_state_read(st, NULL, &rec, &err), -1);
    pv_state_close(st);
}

/* ---- list -------------------------------------------------------------- */

struct listed {
    char all[1024]; /* names in the order given, each + ',' */
    int calls;
    int stop_after; /* 0: never stop */
};

static int list_cb(const char *user, void *ctx)
{
    struct listed *l = ctx;
    size_t n = strlen(l->all);

    l->calls++;
    snprintf(l->all + n, sizeof l->all - n, "%s,", user);
    return l->stop_after != 0 && l->calls >= l->stop_after ? -1 : 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The listed names sorted and joined with ',' (the backends give no
 * order). */
static void sorted(const struct listed *l, char *out, size_t size)
{
    char copy[1024], *v[32], *p, *save = NULL;
    size_t n = 0, i, o = 0;

    snprintf(copy, sizeof copy, "%s", l->all);
    for (p = strtok_r(copy, ",", &save); p != NULL && n < 32;
         p = strtok_r(NULL, ",", &save))
        v[n++] = p;
    qsort(v, n, sizeof *v, cmp_str);
    out[0] = '\0';
    for (i = 0; i < n; i++)
        o += (size_t)snprintf(out + o, size - o, "%s%s", i ? "," : "", v[i]);
}

/* Fill st with the names a listing must give back and those it must
 * not: a control character, a ':' (the old health record), and (file)
 * an over-long name kept under a hash. */
static void list_fill(pv_state *st)
{
    char longname[PV_STATE_USER_MAX + 1];

    memset(longname, 'l', PV_STATE_USER_MAX);
    longname[PV_STATE_USER_MAX] = '\0';
    add_failure(st, "alice", 1);
    add_failure(st, "j.doe", 1);
    add_failure(st, "x y", 1);
    add_failure(st, "a\nb", 1);
    add_failure(st, ":endpoints", 1);
    add_failure(st, longname, 1);
}

static void test_list_file(void **state)
{
    struct fixture *fx = *state;
    pv_state *st = open_state(fx->dir, NULL);
    struct listed l;
    char got[1024], path[256];
    size_t unnamed = 9;
    pv_err err = { "" };

    memset(&l, 0, sizeof l);
    list_fill(st);
    /* not the form the backend writes: a lock, a tmp, 'a' escaped, a
     * NUL escaped, a lone "u-" */
    snprintf(path, sizeof path, "%s/u-%%61", fx->dir);
    pvt_write_file(path, "pv-state 1\nend\n", 0600);
    snprintf(path, sizeof path, "%s/u-b%%00", fx->dir);
    pvt_write_file(path, "pv-state 1\nend\n", 0600);
    snprintf(path, sizeof path, "%s/u-", fx->dir);
    pvt_write_file(path, "pv-state 1\nend\n", 0600);
    assert_int_equal(pv_state_list(st, list_cb, &l, &unnamed, &err), 0);
    sorted(&l, got, sizeof got);
    assert_string_equal(got, "alice,j.doe,x y");
    assert_int_equal(unnamed, 1);
    /* the callback stops it */
    memset(&l, 0, sizeof l);
    l.stop_after = 1;
    assert_int_equal(pv_state_list(st, list_cb, &l, NULL, &err), -1);
    assert_int_equal(l.calls, 1);
    pv_state_close(st);
}

static void test_list_mem(void **state)
{
    pv_state *st = NULL;
    struct listed l;
    char got[1024];
    size_t unnamed = 9;
    pv_err err = { "" };

    (void)state;
    memset(&l, 0, sizeof l);
    assert_int_equal(pv_state_mem_open(&st, &err), 0);
    assert_int_equal(pv_state_list(st, list_cb, &l, &unnamed, &err), 0);
    assert_int_equal(l.calls, 0);
    list_fill(st);
    assert_int_equal(pv_state_list(st, list_cb, &l, &unnamed, &err), 0);
    sorted(&l, got, sizeof got);
    assert_int_equal(unnamed, 0);
    assert_non_null(strstr(got, "alice,j.doe,"));
    assert_non_null(strstr(got, ",x y"));
    assert_null(strchr(got, ':'));
    assert_null(strchr(got, '\n'));
    pv_state_mem_set_broken(st, 1);
    assert_int_equal(pv_state_list(st, list_cb, &l, &unnamed, &err), -1);
    pv_state_close(st);
    assert_int_equal(pv_state_list(NULL, list_cb, &l, NULL, &err), -1);
}

/* ---- provider entry health --------------------------------------------- */

static int mark_cb(pv_state_health *h, void *ctx)
{
    memset(h->key[h->n], 'a' + (int)h->n, 64);
    h->key[h->n][64] = '\0';
    h->until[h->n++] = *(const time_t *)ctx;
    return 0;
}

/* Health is a record of its own: the file "health", apart from every
 * user's, never listed as a user, holding the marks only (whatever else
 * was planted in it is dropped on the next write). */
static void test_health_record(void **state)
{
    struct fixture *fx = *state;
    pv_state *st = open_state(fx->dir, NULL);
    pv_state_health h;
    struct listed l;
    char path[256], text[2048];
    pv_err err = { "" };
    time_t until = 5060;
    FILE *fp;
    size_t n;

    memset(&l, 0, sizeof l);
    assert_int_equal(pv_state_health_read(st, &h, &err), 0);
    assert_int_equal(h.n, 0);
    assert_int_equal(pv_state_health_update(st, mark_cb, &until, &err), 0);
    /* a failure planted in the health record by hand */
    add_failure(st, PV_STATE_HEALTH_NAME, 7);
    assert_int_equal(pv_state_health_update(st, mark_cb, &until, &err), 0);
    assert_int_equal(pv_state_health_read(st, &h, &err), 0);
    assert_int_equal(h.n, 2);
    assert_int_equal(h.until[1], 5060);
    snprintf(path, sizeof path, "%s/health", fx->dir);
    fp = fopen(path, "r");
    assert_non_null(fp);
    n = fread(text, 1, sizeof text - 1, fp);
    fclose(fp);
    text[n] = '\0';
    assert_null(strstr(text, "fail"));
    assert_non_null(strstr(text, "endpoint aaaa"));
    assert_true(n < 256);
    /* no user record holds it, no listing shows it */
    assert_int_equal(read_count(st, "health"), 0);
    assert_int_equal(pv_state_list(st, list_cb, &l, NULL, &err), 0);
    assert_int_equal(l.calls, 0);
    pv_state_close(st);
}

#define FD_SCAN 4096

/* Mark the fds open now (some may be inherited from whoever runs us). */
static void mark_open_fds(unsigned char *open_fds)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;

    assert_non_null(d);
    while ((e = readdir(d)) != NULL) {
        int fd = atoi(e->d_name);

        if (e->d_name[0] != '.' && fd < FD_SCAN && fd != dirfd(d))
            open_fds[fd] = 1;
    }
    closedir(d);
}

struct cloexec_check {
    const unsigned char *before;
    int bad, fresh;
};

/* Every fd the state code holds while the callback runs (dir, lock) is
 * close-on-exec. */
static int check_cloexec_cb(pv_state_record *rec, void *ctx)
{
    struct cloexec_check *cc = ctx;
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;

    (void)rec;
    if (d == NULL)
        return -1;
    while ((e = readdir(d)) != NULL) {
        int fd = atoi(e->d_name);

        if (e->d_name[0] == '.' || fd == dirfd(d) ||
            (fd < FD_SCAN && cc->before[fd]))
            continue;
        cc->fresh++;
        if (!(fcntl(fd, F_GETFD) & FD_CLOEXEC))
            cc->bad++;
    }
    closedir(d);
    return 0;
}

static void test_no_fd_leak(void **state)
{
    struct fixture *fx = *state;
    static unsigned char open_fds[FD_SCAN];
    struct cloexec_check cc = { open_fds, 0, 0 };
    int before = pvt_count_fds(), r = -1;
    pv_state *st;
    pv_state_record rec;
    pv_err err = { "" };
    char link[256];

    mark_open_fds(open_fds);
    st = open_state(fx->dir, NULL);
    assert_int_equal(pv_state_update(st, "alice", check_cloexec_cb, &cc, &err),
                     0);
    assert_true(cc.fresh >= 2); /* state_dir, lock (+ valgrind's own) */
    assert_int_equal(cc.bad, 0);
    add_failure(st, "alice", 3);
    (void)read_count(st, "alice");
    (void)pv_state_update(st, "alice", ret_cb, &r, &err);
    snprintf(link, sizeof link, "%s/u-bob", fx->dir);
    assert_int_equal(symlink("/etc/hostname", link), 0);
    assert_int_equal(pv_state_read(st, "bob", &rec, &err), -1);
    pv_state_close(st);
    assert_int_equal(pvt_count_fds(), before);
    assert_int_equal(open_error("redis://x", fx->dir, &err), -1);
    assert_int_equal(chmod(fx->dir, 0777), 0);
    assert_int_equal(open_error("file", fx->dir, &err), -1);
    assert_int_equal(pvt_count_fds(), before);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_round_trip_empty),
        cmocka_unit_test(test_grant_keys),
        cmocka_unit_test(test_keys_pinned),
        cmocka_unit_test(test_parse_too_many_grants),
        cmocka_unit_test(test_grant_add_active),
        cmocka_unit_test(test_grant_read_back_is_capped),
        cmocka_unit_test(test_old_grant_line_ended),
        cmocka_unit_test(test_grants_void),
        cmocka_unit_test(test_lock_voids_grants),
        cmocka_unit_test(test_parse_limits),
        cmocka_unit_test(test_parse_corrupt_table),
        cmocka_unit_test(test_parse_truncated),
        cmocka_unit_test(test_parse_nul),
        cmocka_unit_test(test_parse_many_fails),
        cmocka_unit_test(test_parse_fuzz),
        cmocka_unit_test(test_format_refuses_invalid),
        cmocka_unit_test(test_sha256),
        T(test_open_dispatch),
        T(test_dir_created),
        T(test_dir_parent_missing),
        T(test_dir_permissions),
        T(test_dir_symlink),
        T(test_dir_not_directory),
        T(test_dir_foreign_owner),
        T(test_update_read),
        T(test_full_record_round_trip),
        T(test_record_symlink),
        T(test_lock_symlink),
        T(test_corrupt_record_logged),
        T(test_oversized_record),
        T(test_record_not_private),
        T(test_stale_tmp),
        T(test_concurrent_updates),
        T(test_lock_timeout),
        T(test_hostile_names),
        T(test_no_fd_leak),
        T(test_list_file),
        cmocka_unit_test(test_list_mem),
        T(test_health_record),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
