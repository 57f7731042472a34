/* test_state_etcd_script.c - `state = etcd` over a scripted transport.
 *
 * The etcd backend takes its transport at open
 * (pv_state_etcd_open_with), so the cases a real etcd shows only by
 * chance are scripted here: a table of the requests the backend must send
 * (URL, and text the JSON body must hold) and etcd's canned answers.  A
 * request that is not the next one in the table, or a table not used up,
 * fails the test.  The real-etcd cases stay in test_state_etcd.c and
 * tests/fleet. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "pvt.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/pv_base64.h"
#include "base/pv_json.h"
#include "state/pv_state.h"
#include "state/pv_state_etcd.h"
#include "state/pv_state_open.h"
#include "transport/pv_transport.h"
#include "base/pv_util.h"

#define EP1 "http://e1"
#define EP2 "http://e2"
#define MAX_STEPS 24
#define LEASE "77"
#define OTHER_NONCE \
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

/* One expected request and its answer.  answer NULL with status OK and
 * echo set: a range answer holding what the last txn put (value and
 * lease) at revision echo_rev. */
struct step {
    const char *url;
    const char *expect; /* text the request body holds, or NULL */
    const char *reject; /* text the request body must not hold, or NULL */
    enum pv_http_status status;
    long code;
    char answer[4096];
    int echo;      /* a range answer holding the last put */
    int echo_fail; /* a failed compare whose failure branch holds it */
    long long echo_rev;
};

struct script {
    struct step steps[MAX_STEPS];
    size_t n, next;
    size_t proposals; /* txns and lease grants sent (raft proposals) */
    char put_value[PV_STATE_MAX_SIZE]; /* decoded value of the last put */
    char put_b64[PV_STATE_MAX_SIZE * 2];
    char put_lease[32];
    size_t put_len;
};

static struct script sc;

/* Remember the request_put of a txn body (its value base64 and decoded,
 * its lease). */
static void note_put(const char *body)
{
    cJSON *root = cJSON_Parse(body);
    cJSON *succ = cJSON_GetObjectItemCaseSensitive(root, "success");
    cJSON *put = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(succ, 0),
                                                  "request_put");
    const char *v = pv_json_string(put, "value");
    const char *l = pv_json_string(put, "lease");

    if (v != NULL) {
        snprintf(sc.put_b64, sizeof sc.put_b64, "%s", v);
        assert_int_equal(
            pv_base64_decode(v, strlen(v), (unsigned char *)sc.put_value,
                             sizeof sc.put_value - 1, &sc.put_len),
            0);
        sc.put_value[sc.put_len] = '\0';
        snprintf(sc.put_lease, sizeof sc.put_lease, "%s", l ? l : "");
    }
    cJSON_Delete(root);
}

static int fake_post(pv_transport *t, const pv_http_request *req,
                     pv_http_response *resp)
{
    const struct step *s;
    char buf[PV_STATE_MAX_SIZE * 3];
    const char *answer;

    (void)t;
    memset(resp, 0, sizeof *resp);
    if (sc.next >= sc.n)
        fail_msg("unscripted request %s %.*s", req->url, (int)req->body_len,
                 req->body);
    s = &sc.steps[sc.next++];
    if (strcmp(req->url, s->url) != 0)
        fail_msg("step %zu: request to %s, expected %s", sc.next, req->url,
                 s->url);
    if (s->expect != NULL && strstr(req->body, s->expect) == NULL)
        fail_msg("step %zu: body %s lacks %s", sc.next, req->body, s->expect);
    if (s->reject != NULL && strstr(req->body, s->reject) != NULL)
        fail_msg("step %zu: body %s holds %s", sc.next, req->body, s->reject);
    if (strstr(req->url, "/v3/kv/txn") != NULL)
        note_put(req->body);
    if (strstr(req->url, "/v3/kv/txn") != NULL ||
        strstr(req->url, "/v3/lease/grant") != NULL)
        sc.proposals++;
    resp->status = s->status;
    if (s->status != PV_HTTP_OK)
        return -1;
    resp->http_code = s->code;
    answer = s->answer;
    if (s->echo) {
        snprintf(buf, sizeof buf,
                 "{\"kvs\":[{\"key\":\"eA==\",\"mod_revision\":\"%lld\","
                 "\"lease\":\"%s\",\"value\":\"%s\"}]}",
                 s->echo_rev, sc.put_lease, sc.put_b64);
        answer = buf;
    }
    if (s->echo_fail) {
        snprintf(buf, sizeof buf,
                 "{\"header\":{\"revision\":\"%lld\"},\"responses\":[{"
                 "\"response_range\":{\"kvs\":[{\"key\":\"eA==\","
                 "\"mod_revision\":\"%lld\",\"lease\":\"%s\","
                 "\"value\":\"%s\"}],\"count\":\"1\"}}]}",
                 s->echo_rev, s->echo_rev, sc.put_lease, sc.put_b64);
        answer = buf;
    }
    resp->body = pv_strdup(answer);
    assert_non_null(resp->body);
    resp->body_len = strlen(resp->body);
    return 0;
}

static void fake_free(pv_transport *t)
{
    free(t);
}

static const struct pv_transport_ops fake_ops = { fake_post, NULL, fake_free };

/* ---- script building ---------------------------------------------------- */

static struct step *add(const char *url, const char *expect)
{
    struct step *s;

    assert_true(sc.n < MAX_STEPS);
    s = &sc.steps[sc.n++];
    memset(s, 0, sizeof *s);
    s->url = url;
    s->expect = expect;
    s->status = PV_HTTP_OK;
    s->code = 200;
    return s;
}

static void answer(struct step *s, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(s->answer, sizeof s->answer, fmt, ap);
    va_end(ap);
}

/* A record with failures at t0, t0+1, ... (n of them), as record text. */
static void record_text(size_t n, time_t t0, char *out, size_t size)
{
    pv_state_record rec;
    char *text;
    size_t len, i;

    pv_state_record_clear(&rec);
    for (i = 0; i < n; i++)
        rec.failures[rec.n_failures++] = t0 + (time_t)i;
    assert_int_equal(pv_state_record_format(&rec, &text, &len), 0);
    assert_true(len < size);
    memcpy(out, text, len);
    out[len] = '\0';
    free(text);
}

/* A range answer: key absent (n == 0 and rev == 0), else a record of n
 * failures at mod_revision rev under lease. */
static void range_step(const char *ep, size_t n, time_t t0, long long rev,
                       const char *lease)
{
    struct step *s = add(ep, NULL);
    char text[2048], b64v[4096];

    if (rev == 0) {
        answer(s, "{\"header\":{\"revision\":\"3\"}}");
        return;
    }
    record_text(n, t0, text, sizeof text);
    assert_int_equal(pv_base64((const unsigned char *)text, strlen(text), b64v,
                               sizeof b64v),
                     0);
    /* proto3 JSON: no lease member when there is none */
    answer(s,
           "{\"kvs\":[{\"key\":\"eA==\",\"mod_revision\":\"%lld\","
           "%s%s%s\"value\":\"%s\"}]}",
           rev, lease[0] ? "\"lease\":\"" : "", lease, lease[0] ? "\"," : "",
           b64v);
}

static struct step *lease_step(const char *ep, const char *id)
{
    struct step *s = add(ep, NULL);

    answer(s, "{\"ID\":\"%s\",\"TTL\":\"3700\"}", id);
    return s;
}

static void b64_of(const char *data, size_t len, char *out, size_t size);

/* ---- the handle --------------------------------------------------------- */

static char dir[64];

static int rm_entry(const char *path, const struct stat *sb, int flag,
                    struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int setup(void **state)
{
    (void)state;
    memset(&sc, 0, sizeof sc);
    strcpy(dir, "/tmp/pv-etcd-script.XXXXXX");
    return mkdtemp(dir) != NULL ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    return 0;
}

static int precheck_on; /* open with a pre-check URL */

static pv_state *open_script(const char *endpoints, pvt_logcap *lc)
{
    pv_config *cfg = pv_config_new();
    pv_transport *t = calloc(1, sizeof *t);
    pv_state *st = NULL;
    pv_err err = { "" };

    assert_non_null(cfg);
    assert_non_null(t);
    t->ops = &fake_ops;
    free(cfg->state);
    free(cfg->state_dir);
    free(cfg->state_endpoints);
    free(cfg->state_prefix);
    cfg->state = pv_strdup("etcd");
    cfg->state_dir = pv_strdup(dir);
    cfg->state_endpoints = pv_strdup(endpoints);
    cfg->state_prefix = pv_strdup("/pvtest/");
    if (precheck_on)
        cfg->precheck_url = pv_strdup("https://precheck.example/v1");
    if (pv_state_etcd_open_with(cfg, t, &st, &err) != 0)
        fail_msg("open: %s", err.msg);
    pv_config_free(cfg);
    st->logger.log = pvt_capture_log;
    st->logger.ctx = lc;
    return st;
}

/* The script was used up (the backend sent no fewer requests). */
static void script_done(void)
{
    if (sc.next != sc.n)
        fail_msg("%zu of %zu scripted requests sent", sc.next, sc.n);
}

struct append {
    time_t t;
    int calls;
};

static int append_cb(pv_state_record *rec, void *ctx)
{
    struct append *a = ctx;

    a->calls++;
    if (rec->n_failures >= PV_STATE_MAX_FAILURES)
        return -1;
    rec->failures[rec->n_failures++] = a->t;
    return 0;
}

/* The record the last txn put: record text whose last line before "end"
 * is the nonce, a grace grant that has ended under a random key (read by
 * every version, honoured by none). */
static void last_put(pv_state_record *rec)
{
    const char *nonce = strstr(sc.put_value, "\ngrant ");

    assert_non_null(nonce);
    assert_int_equal(strspn(nonce + 7, "0123456789abcdef"), 64);
    assert_string_equal(nonce + 7 + 64, " 0 0\nend\n");
    assert_int_equal(pv_state_record_parse(sc.put_value, sc.put_len, rec), 0);
    assert_int_equal(rec->n_grants, 1);
    assert_int_equal(pv_state_grant_end(rec, 0, 86400), 0);
}

#define RANGE EP1 "/v3/kv/range"
#define GRANT EP1 "/v3/lease/grant"
#define TXN EP1 "/v3/kv/txn"
#define RANGE2 EP2 "/v3/kv/range"
#define TXN2 EP2 "/v3/kv/txn"

/* A compare-and-swap whose compare failed: its failure branch (a range
 * of the key) holds a record of n failures at t0.. (and a nonce line
 * when nonce is set) at mod_revision rev. */
static void fail_step(const char *url, const char *expect, size_t n, time_t t0,
                      long long rev, const char *nonce)
{
    struct step *s = add(url, expect);
    char text[2048], b64v[4096];

    record_text(n, t0, text, sizeof text);
    if (nonce != NULL) {
        size_t len = strlen(text);

        assert_true(len > 4);
        snprintf(text + len - 4, sizeof text - (len - 4),
                 "grant %s 0 0\nend\n", nonce);
    }
    b64_of(text, strlen(text), b64v, sizeof b64v);
    answer(s,
           "{\"header\":{\"revision\":\"%lld\"},\"responses\":[{"
           "\"response_range\":{\"kvs\":[{\"key\":\"eA==\","
           "\"mod_revision\":\"%lld\",\"lease\":\"99\",\"value\":\"%s\"}],"
           "\"count\":\"1\"}}]}",
           rev, rev, b64v);
}

/* A compare-and-swap applied at revision rev. */
static void ok_step(const char *url, const char *expect, long long rev)
{
    answer(add(url, expect),
           "{\"succeeded\":true,\"header\":{\"revision\":\"%lld\"}}", rev);
}

/* Another host wrote between our read and our compare-and-swap: the
 * compare fails and the txn's failure branch brings that host's record
 * back in the same answer, so the callback runs again on it at once (no
 * range in between: a conflict costs one round trip) and both failures
 * count (none lost, none doubled). */
static void test_cas_conflict_one_round_trip(void **state)
{
    pvt_logcap lc;
    pv_state *st;
    pv_state_record rec;
    struct append a = { 1700000100, 0 };
    pv_err err = { "" };

    (void)state;
    memset(&lc, 0, sizeof lc);
    range_step(RANGE, 1, 1700000000, 5, "");
    lease_step(GRANT, LEASE);
    fail_step(TXN, "\"mod_revision\":\"5\"", 2, 1700000000, 6, NULL);
    ok_step(TXN, "\"mod_revision\":\"6\"", 7);
    st = open_script(EP1, &lc);
    assert_int_equal(pv_state_update(st, "u", append_cb, &a, &err), 0);
    script_done();
    assert_int_equal(a.calls, 2);
    assert_string_equal(sc.put_lease, LEASE);
    last_put(&rec);
    assert_int_equal(rec.n_failures, 3);
    assert_int_equal(rec.failures[2], 1700000100);
    assert_int_equal(pv_state_etcd_requests(st), 4);
    assert_false(pv_state_etcd_degraded(st));
    pv_state_close(st);
}

/* The first endpoint applied the write but its answer was lost; the
 * second says the compare failed (the revision moved: by our own write)
 * and its failure branch shows the key holding exactly what we wrote,
 * random nonce included: recognised as ours, so the failure is not
 * counted twice and nothing more is sent. */
static void test_lost_answer_applied(void **state)
{
    pvt_logcap lc;
    pv_state *st;
    pv_state_record rec;
    struct append a = { 1700000200, 0 };
    pv_err err = { "" };
    struct step *s;

    (void)state;
    memset(&lc, 0, sizeof lc);
    range_step(RANGE, 1, 1700000000, 5, "");
    lease_step(GRANT, LEASE);
    add(TXN, "\"mod_revision\":\"5\"")->status = PV_HTTP_E_TIMEOUT;
    s = add(TXN2, "\"mod_revision\":\"5\"");
    s->echo_fail = 1;
    s->echo_rev = 6;
    st = open_script(EP1 " " EP2, &lc);
    assert_int_equal(pv_state_update(st, "u", append_cb, &a, &err), 0);
    script_done();
    assert_int_equal(a.calls, 1);
    assert_non_null(strstr(sc.put_value, "\ngrant "));
    last_put(&rec);
    assert_int_equal(rec.n_failures, 2);
    assert_false(pv_state_etcd_degraded(st));
    pv_state_close(st);
}

/* The answer was lost and the write NOT applied: another host wrote the
 * very same record (its own failure at the same second) under the same
 * kind of shared host lease.  Equal record text is not proof: the nonce
 * differs, so the callback runs again on that record and the write is
 * retried (both failures count). */
static void test_lost_answer_not_applied(void **state)
{
    pvt_logcap lc;
    pv_state *st;
    pv_state_record rec;
    struct append a = { 1700000001, 0 };
    pv_err err = { "" };

    (void)state;
    memset(&lc, 0, sizeof lc);
    range_step(RANGE, 1, 1700000000, 5, "");
    lease_step(GRANT, LEASE);
    add(TXN, "\"mod_revision\":\"5\"")->status = PV_HTTP_E_TIMEOUT;
    fail_step(TXN2, "\"mod_revision\":\"5\"", 2, 1700000000, 6, OTHER_NONCE);
    ok_step(TXN2, "\"mod_revision\":\"6\"", 7);
    st = open_script(EP1 " " EP2, &lc);
    assert_int_equal(pv_state_update(st, "u", append_cb, &a, &err), 0);
    script_done();
    assert_int_equal(a.calls, 2);
    last_put(&rec);
    assert_int_equal(rec.n_failures, 3);
    assert_null(strstr(sc.put_value, OTHER_NONCE));
    pv_state_close(st);
}

/* The host's lease was revoked (or expired under a long login): etcd
 * refuses the write with "requested lease not found" (nothing applied).
 * A new lease is granted, the write retried with it, no degraded store;
 * and the next login on this host uses the new lease, not the gone one. */
static void test_lease_gone(void **state)
{
    pvt_logcap lc;
    pv_state *st;
    pv_state_record rec;
    struct append a = { 1700000300, 0 };
    pv_err err = { "" };
    struct step *s;

    (void)state;
    memset(&lc, 0, sizeof lc);
    range_step(RANGE, 0, 0, 0, "");
    lease_step(GRANT, LEASE);
    s = add(TXN, "\"lease\":\"" LEASE "\"");
    s->code = 404;
    answer(s, "{\"error\":\"etcdserver: requested lease not found\","
              "\"code\":5,\"message\":\"etcdserver: requested lease not "
              "found\"}");
    lease_step(GRANT, "78");
    ok_step(TXN, "\"lease\":\"78\"", 9);
    st = open_script(EP1, &lc);
    assert_int_equal(pv_state_update(st, "u", append_cb, &a, &err), 0);
    script_done();
    assert_string_equal(sc.put_lease, "78");
    last_put(&rec);
    assert_int_equal(rec.n_failures, 1);
    assert_false(pv_state_etcd_degraded(st));
    pv_state_close(st);

    /* the next login of this host: lease 78 from the state dir */
    range_step(RANGE, 1, 1700000300, 9, "78");
    ok_step(TXN, "\"lease\":\"78\"", 10);
    st = open_script(EP1, &lc);
    assert_int_equal(pv_state_update(st, "u", append_cb, &a, &err), 0);
    script_done();
    pv_state_close(st);
}

/* ---- one login's cost: requests, proposals, leases -------------------- */

static int reserve_cb(pv_state_record *rec, void *ctx)
{
    (void)ctx;
    rec->sends[rec->n_sends] = 1700001000;
    rec->send_counts[rec->n_sends++] = 1;
    return 0;
}

static int pending_cb(pv_state_record *rec, void *ctx)
{
    (void)ctx;
    snprintf(rec->pending_id, sizeof rec->pending_id, "code-id-1");
    snprintf(rec->pending_to, sizeof rec->pending_to, "+4915100000001");
    rec->pending_expires = 1700001300;
    rec->last_sent = 1700001000;
    return 0;
}

static int success_cb(pv_state_record *rec, void *ctx)
{
    (void)ctx;
    rec->n_failures = 0;
    rec->locked_until = 0;
    rec->pending_id[0] = '\0';
    rec->pending_to[0] = '\0';
    rec->pending_expires = 0;
    return 0;
}

/* An earlier login of this host took the host's lease (the only grant). */
static void earlier_login(pvt_logcap *lc, const char *expect_ttl)
{
    struct append a = { 1700000900, 0 };
    pv_err err = { "" };
    pv_state *st;

    range_step(RANGE, 0, 0, 0, "");
    lease_step(GRANT, LEASE)->expect = expect_ttl;
    ok_step(TXN, "\"lease\":\"" LEASE "\"", 6);
    st = open_script(EP1, lc);
    assert_int_equal(pv_state_update(st, "v", append_cb, &a, &err), 0);
    pv_state_close(st);
    script_done();
    sc.proposals = 0;
}

/* A successful code login, as pv_flow_state.c drives it: the lockout
 * check (a serializable read: every write after it is a compare-and-swap
 * that a stale copy only makes fail), the send taken from the budget, the
 * pending code id kept (written with the next write, the guess), the
 * guess counted before the verify call, the success.  4 requests and 3
 * raft proposals, no lease granted (the host's lease of this time bucket
 * from the state dir), every write under that lease. */
static void test_login_costs_four_requests_three_proposals(void **state)
{
    pvt_logcap lc;
    pv_state *st;
    pv_state_record rec;
    struct append guess = { 1700001010, 0 };
    pv_err err = { "" };

    (void)state;
    memset(&lc, 0, sizeof lc);
    /* defaults, pre-check off: send_window 3600 + bucket 3600 + margin */
    earlier_login(&lc, "\"TTL\":10800");

    range_step(RANGE, 0, 0, 7, "");
    sc.steps[sc.n - 1].expect = "\"serializable\":true";
    ok_step(TXN, "\"mod_revision\":\"7\"", 8);
    ok_step(TXN, "\"mod_revision\":\"8\"", 9);
    ok_step(TXN, "\"mod_revision\":\"9\"", 10);
    st = open_script(EP1, &lc);
    assert_int_equal(pv_state_read(st, "u", &rec, &err), 0);
    assert_int_equal(pv_state_update(st, "u", reserve_cb, NULL, &err), 0);
    last_put(&rec);
    assert_int_equal(rec.n_sends, 1); /* counted before the send */
    assert_int_equal(pv_state_update(st, "u", pending_cb, NULL, &err), 0);
    assert_int_equal(sc.next, 3 + 2); /* nothing sent for the pending id */
    assert_int_equal(pv_state_update(st, "u", append_cb, &guess, &err), 0);
    last_put(&rec);
    assert_int_equal(rec.n_failures, 1); /* counted before verify */
    assert_string_equal(rec.pending_id, "code-id-1");
    assert_int_equal(rec.last_sent, 1700001000);
    assert_int_equal(pv_state_update(st, "u", success_cb, NULL, &err), 0);
    pv_state_close(st);
    script_done();
    assert_int_equal(sc.next - 3, 4);
    assert_int_equal(sc.proposals, 3);
    assert_string_equal(sc.put_lease, LEASE);
    last_put(&rec);
    assert_int_equal(rec.n_failures, 0);
    assert_string_equal(rec.pending_id, "");
}

/* A write that only keeps a pending code id (or the pre-check cache)
 * waits for the next write; when none comes (the login ends before a
 * guess), closing the handle writes it.  A read in between sees it. */
static void test_deferred_write_flushed_at_close(void **state)
{
    pvt_logcap lc;
    pv_state *st;
    pv_state_record rec;
    pv_err err = { "" };

    (void)state;
    memset(&lc, 0, sizeof lc);
    earlier_login(&lc, NULL);
    range_step(RANGE, 0, 0, 7, "");
    sc.steps[sc.n - 1].expect = "\"serializable\":true";
    /* a later read of the login (grace grants, the pending code) is
     * linearizable: a stale grants_void must not let a grant through */
    range_step(RANGE, 0, 0, 7, "");
    sc.steps[sc.n - 1].reject = "serializable";
    ok_step(TXN, "\"mod_revision\":\"7\"", 8);
    st = open_script(EP1, &lc);
    assert_int_equal(pv_state_read(st, "u", &rec, &err), 0);
    assert_int_equal(pv_state_update(st, "u", pending_cb, NULL, &err), 0);
    assert_int_equal(pv_state_read(st, "u", &rec, &err), 0);
    assert_string_equal(rec.pending_id, "code-id-1");
    pv_state_close(st);
    script_done();
    last_put(&rec);
    assert_string_equal(rec.pending_id, "code-id-1");
}

/* The pending code id kept back goes out with the guess even when the
 * guess meets another host's write: the retry puts both on that host's
 * record (its failure and ours both count). */
static void test_kept_write_survives_conflict(void **state)
{
    pvt_logcap lc;
    pv_state *st;
    pv_state_record rec;
    struct append guess = { 1700001010, 0 };
    pv_err err = { "" };

    (void)state;
    memset(&lc, 0, sizeof lc);
    earlier_login(&lc, NULL);
    range_step(RANGE, 0, 0, 7, "");
    fail_step(TXN, "\"mod_revision\":\"7\"", 1, 1700001005, 8, OTHER_NONCE);
    ok_step(TXN, "\"mod_revision\":\"8\"", 9);
    st = open_script(EP1, &lc);
    assert_int_equal(pv_state_read(st, "u", &rec, &err), 0);
    assert_int_equal(pv_state_update(st, "u", pending_cb, NULL, &err), 0);
    assert_int_equal(pv_state_update(st, "u", append_cb, &guess, &err), 0);
    pv_state_close(st); /* nothing left to write */
    script_done();
    assert_int_equal(guess.calls, 2);
    last_put(&rec);
    assert_int_equal(rec.n_failures, 2);
    assert_string_equal(rec.pending_id, "code-id-1");
}

/* A compare that failed without a usable failure branch (an answer
 * without "responses", or with two keys in it) is no value to retry on:
 * the key is read again, never guessed. */
static void test_conflict_without_failure_branch_reads(void **state)
{
    pvt_logcap lc;
    pv_state *st;
    pv_state_record rec;
    struct append a = { 1700007000, 0 };
    pv_err err = { "" };

    (void)state;
    memset(&lc, 0, sizeof lc);
    range_step(RANGE, 1, 1700000000, 5, "");
    lease_step(GRANT, LEASE);
    answer(add(TXN, "\"mod_revision\":\"5\""),
           "{\"header\":{\"revision\":\"6\"},\"responses\":[{"
           "\"response_range\":{\"kvs\":[{\"key\":\"eA==\","
           "\"mod_revision\":\"6\"},{\"key\":\"eA==\","
           "\"mod_revision\":\"6\"}]}}]}");
    range_step(RANGE, 2, 1700000000, 6, "");
    ok_step(TXN, "\"mod_revision\":\"6\"", 7);
    st = open_script(EP1, &lc);
    assert_int_equal(pv_state_update(st, "u", append_cb, &a, &err), 0);
    pv_state_close(st);
    script_done();
    last_put(&rec);
    assert_int_equal(rec.n_failures, 3);
}

/* The serializable first read came from a member that is behind: it
 * shows no lock.  The write compares against that stale revision, fails,
 * and the failure branch brings the locked record: the callback decides
 * on that one (locked: nothing written, no guess to the verify API). */
static int locked_cb(pv_state_record *rec, void *ctx)
{
    struct append *a = ctx;

    a->calls++;
    if (rec->locked_until != 0)
        return 1;
    rec->failures[rec->n_failures++] = a->t;
    return 0;
}

static void test_stale_read_cannot_skip_lock(void **state)
{
    pvt_logcap lc;
    pv_state *st;
    pv_state_record rec;
    struct append a = { 1700002000, 0 };
    pv_err err = { "" };
    struct step *s;
    char text[256], b64v[512];

    (void)state;
    memset(&lc, 0, sizeof lc);
    earlier_login(&lc, NULL);
    range_step(RANGE, 0, 0, 5, "");
    snprintf(text, sizeof text, "pv-state 1\nlocked_until 1700009000\nend\n");
    b64_of(text, strlen(text), b64v, sizeof b64v);
    s = add(TXN, "\"mod_revision\":\"5\"");
    answer(s,
           "{\"header\":{\"revision\":\"9\"},\"responses\":[{"
           "\"response_range\":{\"kvs\":[{\"key\":\"eA==\","
           "\"mod_revision\":\"9\",\"value\":\"%s\"}]}}]}",
           b64v);
    st = open_script(EP1, &lc);
    assert_int_equal(pv_state_read(st, "u", &rec, &err), 0);
    assert_int_equal(rec.locked_until, 0);
    assert_int_equal(pv_state_update(st, "u", locked_cb, &a, &err), 0);
    assert_int_equal(a.calls, 2);
    pv_state_close(st);
    script_done();
}

/* A serializable first read that shows failures or a lock may be stale
 * in the direction that refuses a user (a member cut off from the others
 * still shows the lock an unlock has ended): it is read again,
 * linearizably, before the flow decides on it. */
static void test_read_with_failures_is_confirmed(void **state)
{
    pvt_logcap lc;
    pv_state *st;
    pv_state_record rec;
    pv_err err = { "" };
    struct step *s;

    (void)state;
    memset(&lc, 0, sizeof lc);
    range_step(RANGE, 2, 1700000000, 5, "");
    sc.steps[0].expect = "\"serializable\":true";
    range_step(RANGE, 0, 0, 0, "");
    s = &sc.steps[1];
    s->reject = "serializable";
    st = open_script(EP1, &lc);
    assert_int_equal(pv_state_read(st, "u", &rec, &err), 0);
    assert_int_equal(rec.n_failures, 0);
    pv_state_close(st);
    script_done();
}

/* The lease file in the state dir, as this host's logins share it. */
static void lease_file(char *out, size_t size)
{
    char path[128];
    FILE *f;
    size_t n;

    snprintf(path, sizeof path, "%s/:etcd-lease", dir);
    f = fopen(path, "r");
    assert_non_null(f);
    n = fread(out, 1, size - 1, f);
    out[n] = '\0';
    fclose(f);
}

/* The time bucket turned: the lease of the old bucket is not used for
 * new writes (it may expire before a record written now has served its
 * window); a new one is granted and kept for the others. */
static void test_new_bucket_new_lease(void **state)
{
    char text[256], path[128], old[256];
    long long bucket;
    pvt_logcap lc;
    pv_state *st;
    struct append a = { 1700003000, 0 };
    pv_err err = { "" };
    FILE *f;
    char *p;
    int i;

    (void)state;
    memset(&lc, 0, sizeof lc);
    earlier_login(&lc, NULL);
    lease_file(text, sizeof text);
    /* "pv-etcd-lease 1 <tag> <bucket> <ttl> <id>": bucket one earlier */
    for (p = text, i = 0; i < 3; i++)
        p = strchr(p, ' ') + 1;
    bucket = strtoll(p, NULL, 10);
    snprintf(old, sizeof old, "%.*s%lld%s", (int)(p - text), text, bucket - 1,
             strchr(p, ' '));
    snprintf(path, sizeof path, "%s/:etcd-lease", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(old, f);
    fclose(f);

    range_step(RANGE, 0, 0, 0, "");
    lease_step(GRANT, "80");
    ok_step(TXN, "\"lease\":\"80\"", 7);
    st = open_script(EP1, &lc);
    assert_int_equal(pv_state_update(st, "w", append_cb, &a, &err), 0);
    pv_state_close(st);
    script_done();
    lease_file(text, sizeof text);
    assert_non_null(strstr(text, " 80\n"));
}

/* A lease file that others could have written (group or other bits) is
 * not trusted: a lease id planted there could make records expire early
 * (failures forgotten).  The login takes a lease of its own. */
static void test_unsafe_lease_file_not_used(void **state)
{
    char path[128];
    pvt_logcap lc;
    pv_state *st;
    struct append a = { 1700004000, 0 };
    pv_err err = { "" };

    (void)state;
    memset(&lc, 0, sizeof lc);
    earlier_login(&lc, NULL);
    snprintf(path, sizeof path, "%s/:etcd-lease", dir);
    assert_int_equal(chmod(path, 0666), 0);
    range_step(RANGE, 0, 0, 0, "");
    lease_step(GRANT, "81");
    ok_step(TXN, "\"lease\":\"81\"", 7);
    st = open_script(EP1, &lc);
    assert_int_equal(pv_state_update(st, "w", append_cb, &a, &err), 0);
    pv_state_close(st);
    script_done();
    assert_string_equal(sc.put_lease, "81");
}

/* Two configurations sharing one state dir (the pre-check on for one
 * service, off for another: two TTLs) each keep their lease: logins
 * alternating between them do not grant a lease each. */
static void test_two_configurations_keep_their_leases(void **state)
{
    pvt_logcap lc;
    pv_state *st;
    struct append a = { 1700006000, 0 };
    pv_err err = { "" };

    (void)state;
    memset(&lc, 0, sizeof lc);
    earlier_login(&lc, "\"TTL\":10800");
    range_step(RANGE, 0, 0, 0, "");
    lease_step(GRANT, "90")->expect = "\"TTL\":176400";
    ok_step(TXN, "\"lease\":\"90\"", 7);
    precheck_on = 1;
    st = open_script(EP1, &lc);
    precheck_on = 0;
    assert_int_equal(pv_state_update(st, "w", append_cb, &a, &err), 0);
    pv_state_close(st);
    range_step(RANGE, 0, 0, 0, "");
    ok_step(TXN, "\"lease\":\"" LEASE "\"", 8);
    st = open_script(EP1, &lc);
    assert_int_equal(pv_state_update(st, "x", append_cb, &a, &err), 0);
    pv_state_close(st);
    script_done();
}

/* With the pre-check on, a record also serves precheck_cache (86400 s
 * by default): the bucket and the TTL follow it. */
static void test_lease_ttl_counts_precheck_only_when_on(void **state)
{
    pvt_logcap lc;
    pv_state *st;
    struct append a = { 1700005000, 0 };
    pv_err err = { "" };

    (void)state;
    memset(&lc, 0, sizeof lc);
    range_step(RANGE, 0, 0, 0, "");
    lease_step(GRANT, LEASE)->expect = "\"TTL\":176400";
    ok_step(TXN, NULL, 7);
    precheck_on = 1;
    st = open_script(EP1, &lc);
    precheck_on = 0;
    assert_int_equal(pv_state_update(st, "w", append_cb, &a, &err), 0);
    pv_state_close(st);
    script_done();
}

/* A failure on this host (the helper could not run) is not an etcd
 * outage: no degraded store (the calling user may cause it, and the local
 * store would lose fleet-wide counts), no second endpoint tried, an
 * error that says so. */
static void test_local_failure(void **state)
{
    pvt_logcap lc;
    pv_state *st;
    pv_state_record rec;
    struct append a = { 1700000400, 0 };
    pv_err err = { "" };

    (void)state;
    memset(&lc, 0, sizeof lc);
    add(RANGE, NULL)->status = PV_HTTP_E_HELPER;
    add(RANGE, NULL)->status = PV_HTTP_E_LOCAL;
    st = open_script(EP1 " " EP2, &lc);
    assert_int_equal(pv_state_read(st, "u", &rec, &err), -1);
    assert_non_null(strstr(err.msg, "local failure on this host"));
    assert_int_equal(pv_state_update(st, "u", append_cb, &a, &err), -1);
    script_done();
    assert_int_equal(a.calls, 0);
    assert_false(pv_state_etcd_degraded(st));
    assert_null(strstr(lc.all, "state=degraded"));
    pv_state_close(st);
}

/* No endpoint answers (refused, no answer): an etcd outage.  The handle
 * goes over to the local file store under state_dir, logs it once, and
 * the failure is counted there; no further request is sent. */
static void test_outage_degrades(void **state)
{
    pvt_logcap lc;
    pv_state *st;
    pv_state_record rec;
    struct append a = { 1700000500, 0 };
    pv_err err = { "" };

    (void)state;
    memset(&lc, 0, sizeof lc);
    add(RANGE, NULL)->status = PV_HTTP_E_CONNECT;
    add(RANGE2, NULL)->status = PV_HTTP_E_TIMEOUT;
    st = open_script(EP1 " " EP2, &lc);
    assert_int_equal(pv_state_update(st, "u", append_cb, &a, &err), 0);
    assert_true(pv_state_etcd_degraded(st));
    assert_int_equal(pv_state_read(st, "u", &rec, &err), 0);
    assert_int_equal(rec.n_failures, 1);
    script_done();
    assert_int_equal(lc.count, 1);
    assert_non_null(strstr(lc.all, "state=degraded"));
    pv_state_close(st);
}

/* ---- list ---------------------------------------------------------------- */

/* base64 of len bytes into out. */
static void b64_of(const char *data, size_t len, char *out, size_t size)
{
    assert_int_equal(pv_base64((const unsigned char *)data, len, out, size),
                     0);
}

/* A keys_only range answer holding these keys (each len bytes). */
static void keys_answer(struct step *s, int more, const char *const *keys,
                        const size_t *lens, size_t n)
{
    size_t i, o;
    char b[256];

    o = (size_t)snprintf(s->answer, sizeof s->answer, "{%s\"kvs\":[",
                         more ? "\"more\":true," : "");
    for (i = 0; i < n; i++) {
        b64_of(keys[i], lens[i], b, sizeof b);
        o += (size_t)snprintf(s->answer + o, sizeof s->answer - o,
                              "%s{\"key\":\"%s\",\"mod_revision\":\"4\"}",
                              i ? "," : "", b);
    }
    snprintf(s->answer + o, sizeof s->answer - o, "]}");
}

static int list_cb(const char *user, void *ctx)
{
    char *all = ctx;
    size_t n = strlen(all);

    snprintf(all + n, 512 - n, "%s,", user);
    return 0;
}

/* The listing reads <prefix>user/ .. <prefix>user0 a page at a time, the
 * next page from just after the last key (key + NUL), and gives back
 * only names a user can have: a key from an etcd writer with a control
 * character, a ':' (the old ":endpoints" health record), a NUL, or no
 * name at all is passed over. */
static void test_list(void **state)
{
    static const char *const page1[] = {
        "/pvtest/user/", "/pvtest/user/:endpoints", "/pvtest/user/a\nb",
        "/pvtest/user/alice", "/pvtest/user/b\0x"
    };
    static const size_t lens1[] = { 13, 23, 16, 18, 16 };
    static const char *const page2[] = { "/pvtest/user/carol" };
    static const size_t lens2[] = { 18 };
    char from[128], to[64], next[128], all[512] = "";
    char expect1[300], expect2[300];
    pvt_logcap lc;
    size_t unnamed = 9;
    pv_err err = { "" };
    pv_state *st;

    (void)state;
    memset(&lc, 0, sizeof lc);
    b64_of("/pvtest/user/", 13, from, sizeof from);
    b64_of("/pvtest/user0", 13, to, sizeof to);
    b64_of("/pvtest/user/b\0x\0", 17, next, sizeof next);
    snprintf(expect1, sizeof expect1, "\"key\":\"%s\",\"range_end\":\"%s\"",
             from, to);
    snprintf(expect2, sizeof expect2, "\"key\":\"%s\",\"range_end\":\"%s\"",
             next, to);
    keys_answer(add(RANGE, expect1), 1, page1, lens1, 5);
    keys_answer(add(RANGE, expect2), 0, page2, lens2, 1);
    st = open_script(EP1, &lc);
    assert_int_equal(pv_state_list(st, list_cb, all, &unnamed, &err), 0);
    script_done();
    assert_string_equal(all, "alice,carol,");
    assert_int_equal(unnamed, 0);
    pv_state_close(st);
}

/* A listing never goes over to the local store (it would pass for the
 * fleet's): an outage is an error; and "more" with no key to go on from
 * is refused rather than read forever. */
static void test_list_errors(void **state)
{
    pvt_logcap lc;
    char all[512] = "";
    pv_err err = { "" };
    pv_state *st;

    (void)state;
    memset(&lc, 0, sizeof lc);
    add(RANGE, NULL)->status = PV_HTTP_E_CONNECT;
    answer(add(RANGE, NULL), "{\"more\":true,\"kvs\":[]}");
    st = open_script(EP1, &lc);
    assert_int_equal(pv_state_list(st, list_cb, all, NULL, &err), -1);
    assert_false(pv_state_etcd_degraded(st));
    assert_int_equal(pv_state_list(st, list_cb, all, NULL, &err), -1);
    assert_non_null(strstr(err.msg, "unusable"));
    script_done();
    assert_string_equal(all, "");
    pv_state_close(st);
}

static int mark_cb(pv_state_health *h, void *ctx)
{
    memset(h->key[h->n], 'c', 64);
    h->key[h->n][64] = '\0';
    h->until[h->n++] = *(const time_t *)ctx;
    return 0;
}

/* Provider entry health is the key <prefix>health, outside "user/" (no
 * user listing sees it, no user record carries it), compare-and-swapped
 * like a user record, and it holds the marks only. */
static void test_health_key(void **state)
{
    char key[64], expect[128];
    pvt_logcap lc;
    pv_state *st;
    time_t until = 5060;
    pv_err err = { "" };

    (void)state;
    memset(&lc, 0, sizeof lc);
    b64_of("/pvtest/health", 14, key, sizeof key);
    snprintf(expect, sizeof expect, "{\"key\":\"%s\"}", key);
    range_step(RANGE, 3, 1700000000, 5, ""); /* failures planted there */
    sc.steps[0].expect = expect;
    lease_step(GRANT, LEASE);
    answer(add(TXN, "\"mod_revision\":\"5\""),
           "{\"succeeded\":true,\"header\":{\"revision\":\"6\"}}");
    st = open_script(EP1, &lc);
    assert_int_equal(pv_state_health_update(st, mark_cb, &until, &err), 0);
    script_done();
    assert_non_null(strstr(sc.put_value, "endpoint cccc"));
    assert_null(strstr(sc.put_value, "fail"));
    pv_state_close(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_cas_conflict_one_round_trip,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_lost_answer_applied, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_lost_answer_not_applied, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_lease_gone, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_login_costs_four_requests_three_proposals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deferred_write_flushed_at_close,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_stale_read_cannot_skip_lock,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_with_failures_is_confirmed,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_new_bucket_new_lease, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_unsafe_lease_file_not_used, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_lease_ttl_counts_precheck_only_when_on, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_two_configurations_keep_their_leases, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kept_write_survives_conflict,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_conflict_without_failure_branch_reads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_local_failure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_outage_degrades, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_health_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_errors, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
