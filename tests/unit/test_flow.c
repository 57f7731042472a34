/* The decisions of pv_flow_run, one table row per situation of SPEC
 * section 4 and per failure class that may or may not open under
 * failmode=safe.
 *
 * Each row runs the real flow with a scripted transport (answers from the
 * row, every request recorded, an unexpected one fails the test), a
 * scripted conversation, a fake clock (sleep_ms advances it) and the
 * in-memory state: no child process, no network, milliseconds a row.
 * The user is the one running the test (getpwnam_r must resolve it); its
 * phone comes from a users file in a temporary directory. */
#include <crypt.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <pwd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <cmocka.h>
#include "pvt.h"
#include "flow/pv_flow.h"
#include "identity/pv_origin.h"
#include "state/pv_state_mem.h"
#include "state/pv_state_open.h"
#include "transport/pv_transport.h"
#include "base/pv_util.h"

#define SEND_URL "https://send.example/v1/send"
#define VERIFY_URL "https://verify.example/v1/verify"
#define PRE_URL "https://pre.example/v1/check"
#define NV_URL "https://nv.example/dqe"

#define MAX_ANSWERS 12
#define MAX_REPLIES 8
#define MAX_CFG 12
#define MAX_CALLS 16
#define CONV_FAIL "<conversation fails>"
#define BREAKGLASS_CODE "9182736455"

/* ---- scripted answers ---------------------------------------------------- */

/* One request the script expects: its URL starts with url; the answer is
 * an HTTP code and body (status PV_HTTP_OK) or a transport status. */
typedef struct answer {
    const char *url;
    enum pv_http_status status;
    long code;
    const char *body;
} answer;

#define OK(u, c, b)               \
    {                             \
        (u), PV_HTTP_OK, (c), (b) \
    }
#define NET(u, st)         \
    {                      \
        (u), (st), 0, NULL \
    }

#define SENT                              \
    OK(SEND_URL, 200,                     \
       "{\"verification_id\": \"id-1\", " \
       "\"expires_in\": 300}")
#define SENT2                             \
    OK(SEND_URL, 200,                     \
       "{\"verification_id\": \"id-2\", " \
       "\"expires_in\": 300}")
#define RIGHT                        \
    OK(VERIFY_URL, 200,              \
       "{\"message_id\": \"id-1\", " \
       "\"verify_code\": \"123456\", \"verified\": true}")
#define RIGHT2                       \
    OK(VERIFY_URL, 200,              \
       "{\"message_id\": \"id-2\", " \
       "\"verify_code\": \"123456\", \"verified\": true}")
#define WRONG                        \
    OK(VERIFY_URL, 200,              \
       "{\"message_id\": \"id-1\", " \
       "\"verify_code\": \"111111\", \"verified\": false}")
#define VERIFY_ERR(http, c)  \
    OK(VERIFY_URL, (http),   \
       "{\"code\": " #c ", " \
       "\"message\": \"x\"}")
#define SEND_REFUSED(http, err, c) \
    OK(SEND_URL, (http), "{\"error\": \"" err "\", \"error_code\": " #c "}")
#define PRE(result)                \
    OK(PRE_URL, 200,               \
       "{\"result\": " result ", " \
       "\"description\": \"x\"}")
#define NV_AUTH OK(NV_URL "/AUTH/", 200, "{\"token\": \"tok-1\"}")
#define NV_START                          \
    OK(NV_URL "/IDMOBILE/", 200,          \
       "{\"status\": \"success\", "       \
       "\"operator\": \"SFR\", \"url\": " \
       "\"https://idmobile.example.com/v/abc\"}")
#define NV_GET(b) OK(NV_URL "/GET/", 200, b)
#define NV_PENDING                                 \
    NV_GET("{\"status\": \"pending\", \"scope\": " \
           "\"numVerify\"}")
#define NV_TRUE                                    \
    NV_GET("{\"status\": \"success\", \"scope\": " \
           "\"numVerify\", \"numVerify\": true}")
#define NV_ERROR(url, id)           \
    OK(url, 200,                    \
       "{\"status\": \"error\", "   \
       "\"error_id\": \"" id "\", " \
       "\"error_type\": \"x\"}")

/* ---- a row ------------------------------------------------------------- */

enum users_entry {
    PHONE_NAME_EMAIL = 0,
    NO_ENTRY,
    PHONE_ONLY
};

/* Where a row's login comes from (pv_origin.h).  The default is a remote
 * login (sshd from elsewhere), so the failmode=safe rows keep their
 * meaning; each local one sets one fact alone. */
enum row_origin {
    FROM_REMOTE = 0,
    FROM_LOGINUID, /* sudo, su, a screen locker: a kernel login uid */
    FROM_USER,     /* the calling process's real uid is not 0 */
    FROM_RUSER,    /* PAM_RUSER set */
    FROM_RHOST,    /* rhost_local as pv_rhost_is_local says of .rhost */
    FROM_UNKNOWN,  /* no origin at all (NULL: counts as local) */
};

typedef struct flow_case {
    const char *name;
    const char *cfg[MAX_CFG]; /* "key=value" on top of the base */
    enum users_entry entry;
    const char *login_user; /* NULL: the test's own user */
    const char *rhost;
    answer answers[MAX_ANSWERS];      /* in order; ends at url NULL */
    const char *replies[MAX_REPLIES]; /* ends at NULL; CONV_FAIL fails */
    long prompt_seconds;              /* the user takes this long a prompt */
    long reply_seconds[MAX_REPLIES];  /* ... this one (0: prompt_seconds) */
    int pending_at_prompt; /* another login sent id-1 during this prompt */
    int no_naps;           /* the module must not sleep (every wait is a
                              prompt) */
    int sends_before;      /* codes other logins had requested ... */
    long sends_age;        /* ... this many seconds before the login */
    int sends_answered;    /* ... and the provider sent one then */
    int give_back_at_nap;  /* one of them is given back at this nap */
    int pending_at_nap;    /* one of them records its code at this nap */
    int locked_before;     /* another login locked the user */
    int locked_unseen;     /* ... on another host: the login's reads are
                              older (a stale etcd serializable read) */
    int lock_at_prompt;    /* ... during this prompt (1-based) */
    int state_broken;
    enum pv_result want;
    const char *reason;
    int sends, verifies; /* requests to each API */
    const char *shown;   /* a text the user must have seen */
    enum row_origin origin;
    const char *logged; /* a text a log line must hold */
} flow_case;

/* ---- the fakes ----------------------------------------------------------- */

typedef struct call {
    char url[128];
    char body[512];
} call;

typedef struct world {
    const flow_case *c;
    pv_transport transport;
    size_t next_answer;
    call calls[MAX_CALLS];
    size_t n_calls;
    size_t next_reply;
    int prompts;
    int naps;
    pvt_clock clock; /* the flow's time */
    char shown[4096];
    char logged[2048];
    pv_state *state;
    const char *user;
    long lockout_time;
} world;

static void record_call(world *w, const pv_http_request *req)
{
    call *c;
    size_t i, o = 0;

    if (w->n_calls >= MAX_CALLS)
        fail_msg("%s: more than %d requests", w->c->name, MAX_CALLS);
    c = &w->calls[w->n_calls++];
    pv_strlcpy(c->url, req->url, sizeof(c->url));
    if (req->n_form == 0) {
        pv_strlcpy(c->body, req->body ? req->body : "", sizeof(c->body));
        return;
    }
    for (i = 0; i < req->n_form; i++)
        o += (size_t)snprintf(c->body + o, sizeof(c->body) - o, "%s=%s&",
                              req->form_names[i], req->form_values[i]);
}

static int fake_post(pv_transport *t, const pv_http_request *req,
                     pv_http_response *resp)
{
    world *w = t->impl;
    const answer *a = &w->c->answers[w->next_answer];

    memset(resp, 0, sizeof(*resp));
    record_call(w, req);
    if (w->next_answer >= MAX_ANSWERS || a->url == NULL ||
        strncmp(req->url, a->url, strlen(a->url)) != 0)
        fail_msg("%s: unexpected request %zu to %s; shown:\n%s", w->c->name,
                 w->next_answer + 1, req->url, w->shown);
    w->next_answer++;
    resp->status = a->status;
    if (a->status != PV_HTTP_OK)
        return -1;
    resp->http_code = a->code;
    resp->body = pv_strdup(a->body);
    assert_non_null(resp->body);
    resp->body_len = strlen(a->body);
    return 0;
}

static long fake_connects(const pv_transport *t)
{
    (void)t;
    return 0;
}

static void fake_free(pv_transport *t)
{
    (void)t; /* lives in the world */
}

static const struct pv_transport_ops fake_ops = {
    fake_post,
    fake_connects,
    fake_free,
};

static int lock_cb(pv_state_record *rec, void *ctx)
{
    const world *w = ctx;

    rec->locked_until = w->clock.now + w->lockout_time;
    return 0;
}

static void lock_user(world *w)
{
    pv_err err;

    pv_err_clear(&err);
    assert_int_equal(pv_state_update(w->state, w->user, lock_cb, w, &err), 0);
}

static int pending_cb(pv_state_record *rec, void *ctx)
{
    const world *w = ctx;

    pv_strlcpy(rec->pending_id, "id-1", sizeof(rec->pending_id));
    pv_strlcpy(rec->pending_to, "+8613800138000", sizeof(rec->pending_to));
    rec->pending_expires = w->clock.now + 300;
    rec->pending_entry = 0;
    rec->last_sent = w->clock.now; /* the code its send answered */
    return 0;
}

/* Another login's code, sent while this one is at a prompt. */
static void add_pending(world *w)
{
    pv_err err;

    pv_err_clear(&err);
    assert_int_equal(pv_state_update(w->state, w->user, pending_cb, w, &err),
                     0);
}

static int sends_cb(pv_state_record *rec, void *ctx)
{
    const world *w = ctx;
    time_t at = w->clock.now - w->c->sends_age;

    rec->sends[0] = at;
    rec->send_counts[0] = (unsigned)w->c->sends_before;
    rec->n_sends = 1;
    if (w->c->sends_answered)
        rec->last_sent = at;
    return 0;
}

static int give_back_one_cb(pv_state_record *rec, void *ctx)
{
    (void)ctx;
    if (rec->n_sends > 0 && --rec->send_counts[0] == 0) {
        memmove(rec->sends, rec->sends + 1,
                (rec->n_sends - 1) * sizeof rec->sends[0]);
        memmove(rec->send_counts, rec->send_counts + 1,
                (rec->n_sends - 1) * sizeof rec->send_counts[0]);
        rec->n_sends--;
    }
    return 0;
}

static void update(world *w, pv_state_update_fn fn)
{
    pv_err err;

    pv_err_clear(&err);
    assert_int_equal(pv_state_update(w->state, w->user, fn, w, &err), 0);
}

static void show(world *w, const char *msg)
{
    size_t n = strlen(w->shown);

    snprintf(w->shown + n, sizeof(w->shown) - n, "%s\n", msg);
}

static int fake_prompt(void *ctx, const char *msg, int echo, char **reply)
{
    world *w = ctx;
    const char *r =
        w->next_reply < MAX_REPLIES ? w->c->replies[w->next_reply] : NULL;

    (void)echo;
    show(w, msg);
    if (r == NULL)
        fail_msg("%s: unexpected prompt \"%s\"", w->c->name, msg);
    w->clock.now += w->c->reply_seconds[w->next_reply] != 0
                        ? w->c->reply_seconds[w->next_reply]
                        : w->c->prompt_seconds;
    w->next_reply++;
    w->prompts++;
    if (w->c->lock_at_prompt == w->prompts)
        lock_user(w);
    if (w->c->pending_at_prompt == w->prompts)
        add_pending(w);
    if (strcmp(r, CONV_FAIL) == 0)
        return -1;
    *reply = pv_strdup(r);
    assert_non_null(*reply);
    return 0;
}

static int fake_say(void *ctx, const char *msg)
{
    show(ctx, msg);
    return 0;
}

static time_t fake_now(void *ctx)
{
    return ((world *)ctx)->clock.now;
}

static void fake_sleep_ms(void *ctx, unsigned ms)
{
    world *w = ctx;

    w->naps++;
    w->clock.now += (time_t)(ms / 1000);
    if (w->c->give_back_at_nap == w->naps)
        update(w, give_back_one_cb);
    if (w->c->pending_at_nap == w->naps)
        add_pending(w);
}

static void quiet_log(void *ctx, int prio, const char *line)
{
    (void)ctx;
    (void)prio;
    (void)line;
}

static void record_log(void *ctx, int prio, const char *line)
{
    world *w = ctx;
    size_t n = strlen(w->logged);

    (void)prio;
    snprintf(w->logged + n, sizeof(w->logged) - n, "%s\n", line);
}

/* The row's origin in *o; NULL for FROM_UNKNOWN. */
static const pv_origin *row_origin(const flow_case *c, pv_origin *o)
{
    memset(o, 0, sizeof(*o));
    switch (c->origin) {
    case FROM_UNKNOWN:
        return NULL;
    case FROM_LOGINUID:
        o->loginuid_set = 1;
        break;
    case FROM_USER:
        o->ruid_not_root = 1;
        break;
    case FROM_RUSER:
        o->ruser_set = 1;
        break;
    case FROM_RHOST:
        o->rhost_local = pv_rhost_is_local(c->rhost);
        break;
    case FROM_REMOTE:
    default:
        break;
    }
    return o;
}

/* ---- fixture: a users file and a break-glass file ---------------------- */

typedef struct fixture {
    char dir[64];
    char users_phone[128], users_bare[128], users_none[128];
    char breakglass[128];
    char user[PV_STATE_USER_MAX + 1];
} fixture;

static void write_breakglass(const fixture *fx)
{
    char setting[CRYPT_GENSALT_OUTPUT_SIZE], line[512];
    struct crypt_data cd;
    const char *hash;

    assert_non_null(
        crypt_gensalt_rn("$y$", 0, NULL, 0, setting, sizeof(setting)));
    memset(&cd, 0, sizeof(cd));
    hash = crypt_rn(BREAKGLASS_CODE, setting, &cd, sizeof(cd));
    assert_non_null(hash);
    assert_true(hash[0] == '$');
    snprintf(line, sizeof(line), "%s:%s\n", fx->user, hash);
    pvt_write_file(fx->breakglass, line, 0600);
}

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof(*fx));
    struct passwd *pw = getpwuid(geteuid());
    char line[1024];

    assert_non_null(fx);
    assert_non_null(pw);
    pv_strlcpy(fx->user, pw->pw_name, sizeof(fx->user));
    pv_strlcpy(fx->dir, "/tmp/pv-test-flow-XXXXXX", sizeof(fx->dir));
    assert_non_null(mkdtemp(fx->dir));
    snprintf(fx->users_phone, sizeof(fx->users_phone), "%s/users", fx->dir);
    snprintf(fx->users_bare, sizeof(fx->users_bare), "%s/users-bare", fx->dir);
    snprintf(fx->users_none, sizeof(fx->users_none), "%s/users-none", fx->dir);
    snprintf(fx->breakglass, sizeof(fx->breakglass), "%s/breakglass", fx->dir);
    pvt_write_file(fx->users_none, "pv-test-someone-else:+86 13800138001\n",
                   0600);
    snprintf(line, sizeof(line),
             "%s:+86 13800138000:Zhang San:%s@example.com\n", fx->user,
             fx->user);
    pvt_write_file(fx->users_phone, line, 0600);
    snprintf(line, sizeof(line), "%s:+86 13800138000\n", fx->user);
    pvt_write_file(fx->users_bare, line, 0600);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    char path[160];

    unlink(fx->users_phone);
    unlink(fx->users_bare);
    unlink(fx->users_none);
    unlink(fx->breakglass);
    snprintf(path, sizeof(path), "%s/breakglass.lock", fx->dir);
    unlink(path);
    rmdir(fx->dir);
    free(fx);
    return 0;
}

/* ---- running a row ----------------------------------------------------- */

static void set(pv_config *cfg, const char *key, const char *value)
{
    pv_err err;

    pv_err_clear(&err);
    if (pv_config_set(cfg, key, value, "test", 0, &err) != 0)
        fail_msg("config %s=%s: %s", key, value, err.msg);
}

static pv_config *make_config(const fixture *fx, const flow_case *c)
{
    pv_config *cfg = pv_config_new();
    char kv[512];
    size_t i;

    assert_non_null(cfg);
    set(cfg, "send_url", SEND_URL);
    set(cfg, "verify_url", VERIFY_URL);
    set(cfg, "send_auth", "bearer:send-secret");
    set(cfg, "verify_auth", "bearer:verify-secret");
    set(cfg, "users_file",
        c->entry == PHONE_ONLY ? fx->users_bare
        : c->entry == NO_ENTRY ? fx->users_none
                               : fx->users_phone);
    set(cfg, "lookup", "file");
    for (i = 0; i < MAX_CFG && c->cfg[i] != NULL; i++) {
        char *eq;

        pv_strlcpy(kv, c->cfg[i], sizeof(kv));
        eq = strchr(kv, '=');
        assert_non_null(eq);
        *eq = '\0';
        if (strcmp(eq + 1, "@breakglass") == 0)
            set(cfg, kv, fx->breakglass);
        else
            set(cfg, kv, eq + 1);
    }
    return cfg;
}

static size_t count_calls(const world *w, const char *url)
{
    size_t i, n = 0;

    for (i = 0; i < w->n_calls; i++)
        n += strncmp(w->calls[i].url, url, strlen(url)) == 0;
    return n;
}

/* Print one mismatch; 1.  (A table reports every bad row, then fails.) */
__attribute__((format(printf, 1, 2))) static int mismatch(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 1;
}

static int check_row(const world *w, const pv_outcome *out)
{
    const flow_case *c = w->c;
    int bad = 0;

    if (out->result != c->want || strcmp(out->reason, c->reason) != 0)
        bad += mismatch("%s: got %s reason=%s, want %s reason=%s", c->name,
                        pv_result_name(out->result), out->reason,
                        pv_result_name(c->want), c->reason);
    if (count_calls(w, SEND_URL) != (size_t)c->sends ||
        count_calls(w, VERIFY_URL) != (size_t)c->verifies)
        bad += mismatch("%s: %zu send and %zu verify calls, want %d and %d",
                        c->name, count_calls(w, SEND_URL),
                        count_calls(w, VERIFY_URL), c->sends, c->verifies);
    if (w->next_answer < MAX_ANSWERS &&
        w->c->answers[w->next_answer].url != NULL)
        bad +=
            mismatch("%s: scripted answer %zu (%s) never asked for", c->name,
                     w->next_answer + 1, c->answers[w->next_answer].url);
    if (w->next_reply < MAX_REPLIES && c->replies[w->next_reply] != NULL)
        bad += mismatch("%s: reply %zu never prompted for", c->name,
                        w->next_reply + 1);
    if (c->shown != NULL && strstr(w->shown, c->shown) == NULL)
        bad += mismatch("%s: \"%s\" not shown; shown:\n%s", c->name, c->shown,
                        w->shown);
    if (c->logged != NULL && strstr(w->logged, c->logged) == NULL)
        bad += mismatch("%s: \"%s\" not logged; logged:\n%s", c->name,
                        c->logged, w->logged);
    if (c->no_naps && w->naps != 0)
        bad += mismatch("%s: the module slept %d time(s) instead of asking",
                        c->name, w->naps);
    /* Secrets never reach the user. */
    if (strstr(w->shown, "secret") != NULL)
        bad += mismatch("%s: a secret was shown", c->name);
    return bad;
}

static void prepare_world(world *w, const flow_case *c, const pv_config *cfg,
                          const char *user)
{
    pv_err err;

    memset(w, 0, sizeof(*w));
    w->c = c;
    w->clock.now = 1700000000;
    w->user = user;
    w->lockout_time = cfg->lockout_time;
    w->transport.ops = &fake_ops;
    w->transport.impl = w;
    pv_err_clear(&err);
    assert_int_equal(pv_state_mem_open(&w->state, &err), 0);
    if (c->locked_unseen) {
        update(w, give_back_one_cb); /* the user has a record */
        assert_int_equal(pv_state_mem_set_stale(w->state, 1), 0);
    }
    if (c->locked_before || c->locked_unseen)
        lock_user(w);
    if (c->sends_before > 0)
        update(w, sends_cb);
    pv_state_mem_set_broken(w->state, c->state_broken);
}

static void run_row(const fixture *fx, const flow_case *c, world *w,
                    pv_outcome *out)
{
    pv_config *cfg = make_config(fx, c);
    pv_origin origin;
    pv_login login = { c->login_user ? c->login_user : fx->user,
                       "sshd",
                       c->rhost,
                       c->origin == FROM_RUSER ? "bob" : NULL,
                       NULL,
                       row_origin(c, &origin) };
    pv_flow_env env;

    prepare_world(w, c, cfg, fx->user);
    memset(&env, 0, sizeof(env));
    env.conv = (pv_conv){ fake_prompt, fake_say, fake_say, w };
    env.clock = (pv_clock){ fake_now, fake_sleep_ms, w };
    env.logger = (pv_logger){ record_log, w };
    env.http = &w->transport;
    env.state = w->state;
    (void)pv_flow_run(cfg, &login, &env, out);
    pv_state_close(w->state);
    pv_config_free(cfg);
}

static void run_table(void **state, const flow_case *rows, size_t n)
{
    const fixture *fx = *state;
    size_t i;
    int bad = 0;

    for (i = 0; i < n; i++) {
        world w;
        pv_outcome out;

        run_row(fx, &rows[i], &w, &out);
        bad += check_row(&w, &out);
    }
    if (bad != 0)
        fail_msg("%d mismatches in %zu rows", bad, n);
}

#define RUN(rows) run_table(state, (rows), sizeof(rows) / sizeof((rows)[0]))
#define SAFE "failmode=safe"
#define SECURE "failmode=secure"

/* ---- SPEC 4: success, ignore, no phone, tries ----------------------- */

static const flow_case basic_rows[] = {
    { .name = "code verified",
      .answers = { SENT, RIGHT },
      .replies = { "123456" },
      .want = PV_RESULT_SUCCESS,
      .reason = "verified",
      .sends = 1,
      .verifies = 1 },
    { .name = "code verified after a passed pre-check",
      .cfg = { "precheck_url=" PRE_URL },
      .answers = { PRE("0"), SENT, RIGHT },
      .replies = { "123-456" },
      .want = PV_RESULT_SUCCESS,
      .reason = "verified",
      .sends = 1,
      .verifies = 1 },
    { .name = "numVerify true",
      .cfg = { "methods=numverify", "numverify_url=" NV_URL,
               "numverify_licence=lic" },
      .answers = { NV_AUTH, NV_START, NV_PENDING, NV_PENDING, NV_TRUE },
      .replies = { "" },
      .want = PV_RESULT_SUCCESS,
      .reason = "numverify_true",
      .shown = "https://idmobile.example.com/v/abc" },
    { .name = "not in groups",
      .cfg = { "groups=pv-test-no-such-group" },
      .want = PV_RESULT_IGNORE,
      .reason = "not_in_groups" },
    { .name = "trusted rhost",
      .cfg = { "trusted_rhosts=203.0.113.0/24" },
      .rhost = "203.0.113.9",
      .want = PV_RESULT_IGNORE,
      .reason = "trusted_rhost" },
    { .name = "nullok and nothing to send to",
      .cfg = { "nullok=yes" },
      .entry = NO_ENTRY,
      .want = PV_RESULT_IGNORE,
      .reason = "no_phone_nullok" },
    { .name = "no phone, not nullok: nothing sent",
      .entry = NO_ENTRY,
      .want = PV_RESULT_DENIED,
      .reason = "no_phone",
      .shown = "Verification failed." },
    { .name = "user cannot be resolved",
      .login_user = "pv-test-no-such-user",
      .want = PV_RESULT_DENIED,
      .reason = "unknown_user" },
    { .name = "wrong code with tries left, then right",
      .answers = { SENT, WRONG, RIGHT },
      .replies = { "111111", "123456" },
      .want = PV_RESULT_SUCCESS,
      .reason = "verified",
      .sends = 1,
      .verifies = 2,
      .shown = "Incorrect code, 2 tries left." },
    { .name = "malformed entry counts as a try, never sent",
      .answers = { SENT, RIGHT },
      .replies = { "12x456", "123456" },
      .want = PV_RESULT_SUCCESS,
      .reason = "verified",
      .sends = 1,
      .verifies = 1,
      .shown = "Incorrect code, 2 tries left." },
    { .name = "max_tries wrong codes",
      .answers = { SENT, WRONG, WRONG, WRONG },
      .replies = { "111111", "111111", "111111" },
      .want = PV_RESULT_MAXTRIES,
      .reason = "max_tries",
      .sends = 1,
      .verifies = 3,
      .shown = "Verification failed." },
    { .name = "empty entry with no resend left is a wrong entry",
      .cfg = { "resend=0", "max_tries=1" },
      .answers = { SENT },
      .replies = { "" },
      .want = PV_RESULT_MAXTRIES,
      .reason = "max_tries",
      .sends = 1 },
    { .name = "empty entry asks for a new code",
      .answers = { SENT, SENT2, RIGHT2 },
      .replies = { "", "123456" },
      .want = PV_RESULT_SUCCESS,
      .reason = "verified",
      .sends = 2,
      .verifies = 1,
      .shown = "A new code has been sent." },
    { .name = "email when there is no phone method",
      .cfg = { "methods=email" },
      .answers = { SENT, RIGHT },
      .replies = { "123456" },
      .want = PV_RESULT_SUCCESS,
      .reason = "verified",
      .sends = 1,
      .verifies = 1 },
    { .name = "invalid_phone_number passes to e-mail",
      .cfg = { "methods=sms email" },
      .answers = { SEND_REFUSED(400, "invalid_phone_number", 4001), SENT,
                   RIGHT },
      .replies = { "123456" },
      .want = PV_RESULT_SUCCESS,
      .reason = "verified",
      .sends = 2,
      .verifies = 1 },
    { .name = "invalid_phone_number and no other method",
      .answers = { SEND_REFUSED(400, "invalid_phone_number", 4001) },
      .want = PV_RESULT_DENIED,
      .reason = "invalid_phone_number",
      .sends = 1 },
    { .name = "the conversation fails",
      .answers = { SENT },
      .replies = { CONV_FAIL },
      .want = PV_RESULT_CONV_ERROR,
      .reason = "conversation_failed",
      .sends = 1 },
    { .name = "code expired, a new code is sent",
      .answers = { SENT, VERIFY_ERR(400, 3003), SENT2, RIGHT2 },
      .replies = { "123456", "123456" },
      .want = PV_RESULT_SUCCESS,
      .reason = "verified",
      .sends = 2,
      .verifies = 2,
      .shown = "Code expired; a new code has been sent." },
    { .name = "an expired code is not counted as a guess",
      .cfg = { "lockout_failures=2" },
      .answers = { SENT, VERIFY_ERR(400, 4001), SENT2,
                   OK(VERIFY_URL, 200,
                      "{\"message_id\": \"id-2\", "
                      "\"verify_code\": \"1\", \"verified\": false}"),
                   RIGHT2 },
      .replies = { "123456", "111111", "123456" },
      .want = PV_RESULT_SUCCESS,
      .reason = "verified",
      .sends = 2,
      .verifies = 3,
      .shown = "Incorrect code, 2 tries left." },
    { .name = "the conversation fails at the numVerify prompt",
      .cfg = { "methods=numverify", "numverify_url=" NV_URL,
               "numverify_licence=lic" },
      .answers = { NV_AUTH, NV_START },
      .replies = { CONV_FAIL },
      .want = PV_RESULT_CONV_ERROR,
      .reason = "conversation_failed" },
    { .name = "code expired (3011), no resend left",
      .cfg = { "resend=0" },
      .answers = { SENT, VERIFY_ERR(400, 3011) },
      .replies = { "123456" },
      .want = PV_RESULT_DENIED,
      .reason = "code_expired",
      .sends = 1,
      .verifies = 1 },
};

static void test_basic_rows(void **state)
{
    RUN(basic_rows);
}

/* ---- SPEC 4: pre-check refusals ------------------------------------------ */

#define PRECHECK_ON "precheck_url=" PRE_URL

static const flow_case precheck_rows[] = {
    { .name = "pre-check inconsistent (1)",
      .cfg = { PRECHECK_ON, SAFE },
      .answers = { PRE("\"1\"") },
      .want = PV_RESULT_DENIED,
      .reason = "precheck_inconsistent" },
    { .name = "pre-check -4",
      .cfg = { PRECHECK_ON },
      .answers = { PRE("-4") },
      .want = PV_RESULT_DENIED,
      .reason = "precheck_name_failed" },
    { .name = "pre-check -5",
      .cfg = { PRECHECK_ON },
      .answers = { PRE("-5") },
      .want = PV_RESULT_DENIED,
      .reason = "precheck_invalid_mobile" },
    { .name = "pre-check -1, precheck_unknown=deny",
      .cfg = { PRECHECK_ON },
      .answers = { PRE("-1") },
      .want = PV_RESULT_DENIED,
      .reason = "precheck_no_record" },
    { .name = "pre-check -1, precheck_unknown=allow",
      .cfg = { PRECHECK_ON, "precheck_unknown=allow" },
      .answers = { PRE("-1"), SENT, RIGHT },
      .replies = { "123456" },
      .want = PV_RESULT_SUCCESS,
      .reason = "verified",
      .sends = 1,
      .verifies = 1 },
    { .name = "pre-check on and no name",
      .cfg = { PRECHECK_ON },
      .entry = PHONE_ONLY,
      .want = PV_RESULT_DENIED,
      .reason = "precheck_no_name" },
    { .name = "pre-check refusal never falls through to e-mail",
      .cfg = { PRECHECK_ON, "methods=sms email" },
      .answers = { PRE("1") },
      .want = PV_RESULT_DENIED,
      .reason = "precheck_inconsistent" },
};

static void test_precheck_rows(void **state)
{
    RUN(precheck_rows);
}

/* ---- SPEC 4: lockout --------------------------------------------------- */

static const flow_case lockout_rows[] = {
    { .name = "locked out at the start: nothing sent",
      .locked_before = 1,
      .want = PV_RESULT_LOCKED,
      .reason = "locked_out",
      .shown = "Too many failed attempts; try again later." },
    { .name = "the wrong entry that reaches lockout_failures ends it",
      .cfg = { "lockout_failures=2", "max_tries=5" },
      .answers = { SENT, WRONG, WRONG },
      .replies = { "111111", "111111" },
      .want = PV_RESULT_LOCKED,
      .reason = "locked_out",
      .sends = 1,
      .verifies = 2 },
    { .name = "locked by another login between entries: no verify call",
      .lock_at_prompt = 2,
      .answers = { SENT, WRONG },
      .replies = { "111111", "123456" },
      .want = PV_RESULT_LOCKED,
      .reason = "locked_out",
      .sends = 1,
      .verifies = 1,
      .shown = "Too many failed attempts; try again later." },
    { .name = "locked on another host, the first read older: nothing sent",
      .locked_unseen = 1,
      .want = PV_RESULT_LOCKED,
      .reason = "locked_out",
      .sends = 0,
      .shown = "Too many failed attempts; try again later." },
    { .name = "locked during the first prompt: the code is not sent",
      .lock_at_prompt = 1,
      .answers = { SENT },
      .replies = { "123456" },
      .want = PV_RESULT_LOCKED,
      .reason = "locked_out",
      .sends = 1 },
};

static void test_lockout_rows(void **state)
{
    RUN(lockout_rows);
}

/* ---- SPEC 4: network outage, both failmodes, every outage class ------ */

static const flow_case outage_rows[] = {
    { .name = "send timeout, secure",
      .cfg = { SECURE },
      .answers = { NET(SEND_URL, PV_HTTP_E_TIMEOUT) },
      .want = PV_RESULT_UNAVAILABLE,
      .reason = "transport_timeout",
      .sends = 1,
      .shown = "Verification service unavailable." },
    { .name = "send timeout, safe",
      .cfg = { SAFE },
      .answers = { NET(SEND_URL, PV_HTTP_E_TIMEOUT) },
      .want = PV_RESULT_FAILOPEN,
      .reason = "transport_timeout",
      .sends = 1,
      .shown = "Verification service unavailable." },
    { .name = "DNS failure, safe",
      .cfg = { SAFE },
      .answers = { NET(SEND_URL, PV_HTTP_E_DNS) },
      .want = PV_RESULT_FAILOPEN,
      .reason = "transport_dns",
      .sends = 1 },
    { .name = "connect failure, safe",
      .cfg = { SAFE },
      .answers = { NET(SEND_URL, PV_HTTP_E_CONNECT) },
      .want = PV_RESULT_FAILOPEN,
      .reason = "transport_connect",
      .sends = 1 },
    { .name = "TLS failure, safe",
      .cfg = { SAFE },
      .answers = { NET(SEND_URL, PV_HTTP_E_TLS) },
      .want = PV_RESULT_FAILOPEN,
      .reason = "transport_tls",
      .sends = 1 },
    { .name = "oversized answer, safe",
      .cfg = { SAFE },
      .answers = { NET(SEND_URL, PV_HTTP_E_TOOBIG) },
      .want = PV_RESULT_FAILOPEN,
      .reason = "transport_toobig",
      .sends = 1 },
    { .name = "other transfer failure, safe",
      .cfg = { SAFE },
      .answers = { NET(SEND_URL, PV_HTTP_E_OTHER) },
      .want = PV_RESULT_FAILOPEN,
      .reason = "transport_other",
      .sends = 1 },
    { .name = "send HTTP 503, safe",
      .cfg = { SAFE },
      .answers = { OK(SEND_URL, 503, "busy") },
      .want = PV_RESULT_FAILOPEN,
      .reason = "http_503",
      .sends = 1 },
    { .name = "send HTTP 503, secure",
      .cfg = { SECURE },
      .answers = { OK(SEND_URL, 503, "busy") },
      .want = PV_RESULT_UNAVAILABLE,
      .reason = "http_503",
      .sends = 1 },
    { .name = "send malformed 200, safe",
      .cfg = { SAFE },
      .answers = { OK(SEND_URL, 200, "{\"verification_id\": ") },
      .want = PV_RESULT_FAILOPEN,
      .reason = "malformed_answer",
      .sends = 1 },
    { .name = "verify 5xx, safe",
      .cfg = { SAFE },
      .answers = { SENT, VERIFY_ERR(502, 1000) },
      .replies = { "123456" },
      .want = PV_RESULT_FAILOPEN,
      .reason = "code_1000",
      .sends = 1,
      .verifies = 1 },
    { .name = "verify timeout, secure",
      .cfg = { SECURE },
      .answers = { SENT, NET(VERIFY_URL, PV_HTTP_E_TIMEOUT) },
      .replies = { "123456" },
      .want = PV_RESULT_UNAVAILABLE,
      .reason = "transport_timeout",
      .sends = 1,
      .verifies = 1 },
    { .name = "verify answer for another id, safe",
      .cfg = { SAFE },
      .answers = { SENT, RIGHT2 },
      .replies = { "123456" },
      .want = PV_RESULT_FAILOPEN,
      .reason = "malformed_answer",
      .sends = 1,
      .verifies = 1 },
    { .name = "pre-check -2 (engine error), safe",
      .cfg = { PRECHECK_ON, SAFE },
      .answers = { PRE("-2") },
      .want = PV_RESULT_FAILOPEN,
      .reason = "precheck_result_-2" },
    { .name = "pre-check timeout, secure",
      .cfg = { PRECHECK_ON, SECURE },
      .answers = { NET(PRE_URL, PV_HTTP_E_TIMEOUT) },
      .want = PV_RESULT_UNAVAILABLE,
      .reason = "transport_timeout" },
    { .name = "numVerify 99, safe; no fall-through to sms",
      .cfg = { "methods=numverify sms", "numverify_url=" NV_URL,
               "numverify_licence=lic", SAFE },
      .answers = { NV_AUTH, NV_ERROR(NV_URL "/IDMOBILE/", "99") },
      .want = PV_RESULT_FAILOPEN,
      .reason = "numverify_error_99" },
    { .name = "numVerify AUTH timeout, secure",
      .cfg = { "methods=numverify", "numverify_url=" NV_URL,
               "numverify_licence=lic", SECURE },
      .answers = { NET(NV_URL "/AUTH/", PV_HTTP_E_TIMEOUT) },
      .want = PV_RESULT_UNAVAILABLE,
      .reason = "transport_timeout" },
};

static void test_outage_rows(void **state)
{
    RUN(outage_rows);
}

/* ---- SPEC 4: failures that never open ------------------------------------ */

static const flow_case closed_rows[] = {
    { .name = "send 401, secure",
      .cfg = { SECURE },
      .answers = { OK(SEND_URL, 401, "{}") },
      .want = PV_RESULT_UNAVAILABLE,
      .reason = "provider_credentials",
      .sends = 1,
      .shown = "Verification service unavailable." },
    { .name = "send 403, safe",
      .cfg = { SAFE },
      .answers = { OK(SEND_URL, 403, "{}") },
      .want = PV_RESULT_UNAVAILABLE,
      .reason = "provider_credentials",
      .sends = 1 },
    { .name = "verify 2001, safe",
      .cfg = { SAFE },
      .answers = { SENT, VERIFY_ERR(400, 2001) },
      .replies = { "123456" },
      .want = PV_RESULT_UNAVAILABLE,
      .reason = "provider_credentials",
      .sends = 1,
      .verifies = 1 },
    { .name = "verify 2004, secure",
      .cfg = { SECURE },
      .answers = { SENT, VERIFY_ERR(400, 2004) },
      .replies = { "123456" },
      .want = PV_RESULT_UNAVAILABLE,
      .reason = "provider_credentials",
      .sends = 1,
      .verifies = 1 },
    { .name = "pre-check invalid_token, safe",
      .cfg = { PRECHECK_ON, SAFE },
      .answers = { OK(PRE_URL, 401,
                      "{\"success\": false, \"error\": "
                      "{\"code\": \"invalid_token\", \"message\": \"x\"}}") },
      .want = PV_RESULT_UNAVAILABLE,
      .reason = "provider_credentials" },
    { .name = "numVerify licence error 02, safe",
      .cfg = { "methods=numverify", "numverify_url=" NV_URL,
               "numverify_licence=lic", SAFE },
      .answers = { NV_ERROR(NV_URL "/AUTH/", "02") },
      .want = PV_RESULT_UNAVAILABLE,
      .reason = "provider_credentials" },
    { .name = "helper failure (local), safe",
      .cfg = { SAFE },
      .answers = { NET(SEND_URL, PV_HTTP_E_HELPER) },
      .want = PV_RESULT_UNAVAILABLE,
      .reason = "transport_helper",
      .sends = 1,
      .shown = "Verification service unavailable." },
    { .name = "helper failure (local), secure",
      .cfg = { SECURE },
      .answers = { NET(SEND_URL, PV_HTTP_E_HELPER) },
      .want = PV_RESULT_UNAVAILABLE,
      .reason = "transport_helper",
      .sends = 1 },
    { .name = "helper failure during verify, safe",
      .cfg = { SAFE, "lockout_failures=1" },
      .answers = { SENT, NET(VERIFY_URL, PV_HTTP_E_HELPER) },
      .replies = { "123456" },
      .want = PV_RESULT_UNAVAILABLE,
      .reason = "transport_helper",
      .sends = 1,
      .verifies = 1 },
    { .name = "unknown 4xx from send (rejected), safe",
      .cfg = { SAFE },
      .answers = { SEND_REFUSED(400, "bad_request", 4000) },
      .want = PV_RESULT_UNAVAILABLE,
      .reason = "bad_request",
      .sends = 1 },
    { .name = "redirect from verify (rejected), safe",
      .cfg = { SAFE },
      .answers = { SENT, OK(VERIFY_URL, 302, "") },
      .replies = { "123456" },
      .want = PV_RESULT_UNAVAILABLE,
      .reason = "http_302",
      .sends = 1,
      .verifies = 1 },
    { .name = "URL the transport refuses (configuration), safe",
      .cfg = { SAFE },
      .answers = { NET(SEND_URL, PV_HTTP_E_URL) },
      .want = PV_RESULT_CONFIG_ERROR,
      .reason = "transport_url",
      .sends = 1 },
    { .name = "state unusable (configuration), safe",
      .cfg = { SAFE },
      .state_broken = 1,
      .want = PV_RESULT_CONFIG_ERROR,
      .reason = "state_error" },
    { .name = "users file missing (configuration), safe",
      .cfg = { SAFE, "users_file=/nonexistent/pv-test/users" },
      .want = PV_RESULT_CONFIG_ERROR,
      .reason = "lookup_error" },
};

static void test_closed_rows(void **state)
{
    RUN(closed_rows);
}

/* ---- SPEC 4: refusals the user can provoke, both failmodes ------------ */

#define NV_ON \
    "methods=numverify", "numverify_url=" NV_URL, "numverify_licence=lic"

static const flow_case user_rows[] = {
    { .name = "rate_limit_exceeded, no reusable code, resend_wait=0, safe",
      .cfg = { SAFE, "resend_wait=0" },
      .answers = { SEND_REFUSED(429, "rate_limit_exceeded", 4029) },
      .want = PV_RESULT_DENIED,
      .reason = "rate_limit_exceeded",
      .sends = 1,
      .shown = "The provider allows one code per minute; try again in 61 s." },
    /* resend_wait: the reason, then a prompt naming the time left;
     * nothing sleeps (an early Enter asks again) */
    { .name = "rate_limit_exceeded, no send recorded: prompt 61 s, Enter, "
              "sends",
      .answers = { SEND_REFUSED(429, "rate_limit_exceeded", 4029), SENT,
                   RIGHT },
      .replies = { "", "123456" },
      .reply_seconds = { 61 },
      .no_naps = 1,
      .want = PV_RESULT_SUCCESS,
      .reason = "verified",
      .sends = 2,
      .verifies = 1,
      .shown = "The provider allows one code per minute.\n"
               "A new code can be sent in 61 s. Press Enter to get it: \n"
               "Verification code sent to" },
    { .name = "resend_wait prompt: Enter after 30 s asks again with 31 s",
      .answers = { SEND_REFUSED(429, "rate_limit_exceeded", 4029), SENT,
                   RIGHT },
      .replies = { "", "", "123456" },
      .reply_seconds = { 30, 31 },
      .no_naps = 1,
      .want = PV_RESULT_SUCCESS,
      .reason = "verified",
      .sends = 2,
      .verifies = 1,
      .shown = "A new code can be sent in 61 s. Press Enter to get it: \n"
               "A new code can be sent in 31 s. Press Enter to get it: \n"
               "Verification code sent to" },
    { .name = "resend_wait prompt: the last 2 s after Enter are slept",
      .answers = { SEND_REFUSED(429, "rate_limit_exceeded", 4029), SENT,
                   RIGHT },
      .replies = { "", "123456" },
      .reply_seconds = { 59 },
      .want = PV_RESULT_SUCCESS,
      .reason = "verified",
      .sends = 2,
      .verifies = 1 },
    { .name = "resend_wait prompt: a clock that stands still is refused",
      .cfg = { SAFE },
      .answers = { SEND_REFUSED(429, "rate_limit_exceeded", 4029) },
      .replies = { "", "", "", "", "", "", "", "" },
      .no_naps = 1,
      .want = PV_RESULT_DENIED,
      .reason = "rate_limit_exceeded",
      .sends = 1,
      .shown = "The provider allows one code per minute; try again in 61 s." },
    { .name = "resend_wait prompt: a code typed with nothing pending is "
              "never sent anywhere",
      .answers = { SEND_REFUSED(429, "rate_limit_exceeded", 4029), SENT,
                   RIGHT },
      .replies = { "123456", "", "123456" },
      .reply_seconds = { 10, 51 },
      .no_naps = 1,
      .want = PV_RESULT_SUCCESS,
      .reason = "verified",
      .sends = 2,
      .verifies = 1,
      .shown = "A new code can be sent in 51 s. Press Enter to get it: " },
    { .name = "resend_wait prompt: another login's code typed there is "
              "verified",
      .answers = { SEND_REFUSED(429, "rate_limit_exceeded", 4029), RIGHT },
      .replies = { "123456" },
      .reply_seconds = { 5 },
      .pending_at_prompt = 1,
      .no_naps = 1,
      .want = PV_RESULT_SUCCESS,
      .reason = "verified",
      .sends = 1,
      .verifies = 1 },
    { .name = "resend_wait prompt: Enter with another login's code pending "
              "prompts for it",
      .answers = { SEND_REFUSED(429, "rate_limit_exceeded", 4029), RIGHT },
      .replies = { "", "123456" },
      .reply_seconds = { 5 },
      .pending_at_prompt = 1,
      .no_naps = 1,
      .want = PV_RESULT_SUCCESS,
      .reason = "verified",
      .sends = 1,
      .verifies = 1,
      .shown = "Press Enter to get it: \nA code was already sent; enter that "
               "code.\nVerification code sent to" },
    { .name = "resend_wait prompt: another login's code, three wrong tries",
      .answers = { SEND_REFUSED(429, "rate_limit_exceeded", 4029), WRONG,
                   WRONG, WRONG },
      .replies = { "111111", "111111", "111111" },
      .pending_at_prompt = 1,
      .want = PV_RESULT_MAXTRIES,
      .reason = "max_tries",
      .sends = 1,
      .verifies = 3 },
    { .name = "resend_wait prompt: the conversation fails",
      .cfg = { SAFE },
      .answers = { SEND_REFUSED(429, "rate_limit_exceeded", 4029) },
      .replies = { CONV_FAIL },
      .want = PV_RESULT_CONV_ERROR,
      .reason = "conversation_failed",
      .sends = 1 },
    { .name = "rate_limit_exceeded on a resend 20 s after the send: 41 s",
      .cfg = { "reuse_code=no" },
      .answers = { SENT, SEND_REFUSED(429, "rate_limit_exceeded", 4029), SENT2,
                   RIGHT2 },
      .replies = { "", "", "123456" },
      .reply_seconds = { 20, 41 },
      .no_naps = 1,
      .want = PV_RESULT_SUCCESS,
      .reason = "verified",
      .sends = 3,
      .verifies = 1,
      .shown = "A code was sent 20 s ago; the provider allows one per "
               "minute.\nA new code can be sent in 41 s. Press Enter to get "
               "it: \nA new code has been sent.\n" },
    { .name = "rate_limit_exceeded again after the wait, safe",
      .cfg = { SAFE },
      .answers = { SEND_REFUSED(429, "rate_limit_exceeded", 4029),
                   SEND_REFUSED(429, "rate_limit_exceeded", 4029) },
      .replies = { "" },
      .reply_seconds = { 61 },
      .want = PV_RESULT_DENIED,
      .reason = "rate_limit_exceeded",
      .sends = 2,
      .shown = "The provider allows one code per minute; try again in 61 s." },
    /* requests in flight never make a login report the limit, and a
     * login refused by the minute reuses the code another login's
     * request in flight brings */
    { .name = "send budget spent by another login's request in flight: it "
              "is given back, this one sends",
      .cfg = { "send_limit=1" },
      .sends_before = 1,
      .give_back_at_nap = 1,
      .answers = { SENT, RIGHT },
      .replies = { "123456" },
      .want = PV_RESULT_SUCCESS,
      .reason = "verified",
      .sends = 1,
      .verifies = 1 },
    { .name = "send budget spent by another login's request that stays "
              "counted: refused once it cannot be in flight",
      .cfg = { SAFE, "send_limit=1" },
      .sends_before = 1,
      .want = PV_RESULT_DENIED,
      .reason = "send_limit",
      .shown = "Too many codes requested for this account; try again in 60 "
               "minutes." },
    { .name = "send budget spent by sends older than a request: refused at "
              "once",
      .cfg = { SAFE, "send_limit=1" },
      .sends_before = 1,
      .sends_age = 100,
      .no_naps = 1,
      .want = PV_RESULT_DENIED,
      .reason = "send_limit",
      .shown = "try again in 59 minutes." },
    { .name = "rate limited while another login's send is unanswered: its "
              "code is reused once recorded",
      .sends_before = 1,
      .pending_at_nap = 2,
      .answers = { SEND_REFUSED(429, "rate_limit_exceeded", 4029), RIGHT },
      .replies = { "123456" },
      .want = PV_RESULT_SUCCESS,
      .reason = "verified",
      .sends = 1,
      .verifies = 1,
      .shown = "A code was already sent; enter that code." },
    { .name = "rate limited, another login's send answered: the wait prompt "
              "at once",
      .cfg = { SAFE },
      .sends_before = 1,
      .sends_age = 5,
      .sends_answered = 1,
      .no_naps = 1,
      .answers = { SEND_REFUSED(429, "rate_limit_exceeded", 4029) },
      .replies = { CONV_FAIL },
      .want = PV_RESULT_CONV_ERROR,
      .reason = "conversation_failed",
      .sends = 1,
      .shown = "A code was sent 5 s ago; the provider allows one per "
               "minute.\nA new code can be sent in 56 s." },
    { .name = "rate_limit_exceeded, resend_wait=60 cannot cover the minute",
      .cfg = { SAFE, "resend_wait=60" },
      .answers = { SEND_REFUSED(429, "rate_limit_exceeded", 4029) },
      .want = PV_RESULT_DENIED,
      .reason = "rate_limit_exceeded",
      .sends = 1,
      .shown = "try again in 61 s." },
    { .name = "captcha_required, safe",
      .cfg = { SAFE },
      .answers = { SEND_REFUSED(400, "captcha_required", 4028) },
      .want = PV_RESULT_DENIED,
      .reason = "captcha_required",
      .sends = 1 },
    { .name = "user_not_found, secure",
      .cfg = { SECURE },
      .answers = { SEND_REFUSED(404, "user_not_found", 4004) },
      .want = PV_RESULT_DENIED,
      .reason = "user_not_found",
      .sends = 1 },
    { .name = "pre-check HTTP 429, safe",
      .cfg = { PRECHECK_ON, SAFE },
      .answers = { OK(PRE_URL, 429, "{}") },
      .want = PV_RESULT_DENIED,
      .reason = "http_429",
      .shown = "Too many verification requests" },
    { .name = "pre-check -6, safe",
      .cfg = { PRECHECK_ON, SAFE },
      .answers = { PRE("\"-6\"") },
      .want = PV_RESULT_DENIED,
      .reason = "precheck_result_-6",
      .shown = "Too many verification requests" },
    { .name = "send_limit reached by a resend, safe",
      .cfg = { SAFE, "send_limit=1" },
      .answers = { SENT },
      .replies = { "" },
      .want = PV_RESULT_DENIED,
      .reason = "send_limit",
      .sends = 1,
      .shown = "try again in" },
    { .name = "numVerify token expired (30), safe",
      .cfg = { NV_ON, SAFE },
      .answers = { NV_AUTH, NV_START, NV_ERROR(NV_URL "/GET/", "30") },
      .replies = { "" },
      .want = PV_RESULT_DENIED,
      .reason = "numverify_error_30",
      .shown = "took too long" },
    { .name = "numverify_wait passed while the user idled, safe",
      .cfg = { NV_ON, SAFE },
      .prompt_seconds = 121,
      .answers = { NV_AUTH, NV_START },
      .replies = { "" },
      .want = PV_RESULT_DENIED,
      .reason = "numverify_timeout",
      .shown = "took too long" },
    { .name = "numverify_wait passed while polling, secure",
      .cfg = { NV_ON, SECURE, "numverify_wait=5", "numverify_poll=2" },
      .answers = { NV_AUTH, NV_START, NV_PENDING, NV_PENDING, NV_PENDING },
      .replies = { "" },
      .want = PV_RESULT_DENIED,
      .reason = "numverify_timeout" },
    { .name = "numVerify false",
      .cfg = { NV_ON, SAFE },
      .answers = { NV_AUTH, NV_START,
                   NV_GET("{\"status\": \"success\", \"scope\": "
                          "\"numVerify\", \"numVerify\": false}") },
      .replies = { "" },
      .want = PV_RESULT_DENIED,
      .reason = "numverify_false" },
};

static void test_user_rows(void **state)
{
    RUN(user_rows);
}

/* ---- SPEC 4: break-glass ------------------------------------------------- */

static const flow_case breakglass_rows[] = {
    { .name = "outage and a valid emergency code",
      .cfg = { SECURE, "breakglass_file=@breakglass" },
      .answers = { NET(SEND_URL, PV_HTTP_E_TIMEOUT) },
      .replies = { BREAKGLASS_CODE },
      .want = PV_RESULT_BREAKGLASS,
      .reason = "breakglass_code_used",
      .sends = 1,
      .shown = "Emergency code: " },
    { .name = "the emergency code was consumed",
      .cfg = { SECURE, "breakglass_file=@breakglass" },
      .answers = { NET(SEND_URL, PV_HTTP_E_TIMEOUT) },
      .replies = { BREAKGLASS_CODE },
      .want = PV_RESULT_UNAVAILABLE,
      .reason = "transport_timeout",
      .sends = 1,
      .shown = "Verification failed." },
    { .name = "a wrong emergency code",
      .cfg = { SECURE, "breakglass_file=@breakglass" },
      .answers = { NET(SEND_URL, PV_HTTP_E_DNS) },
      .replies = { "0000000000" },
      .want = PV_RESULT_UNAVAILABLE,
      .reason = "transport_dns",
      .sends = 1 },
    { .name = "conversation fails at the emergency prompt",
      .cfg = { SECURE, "breakglass_file=@breakglass" },
      .answers = { NET(SEND_URL, PV_HTTP_E_DNS) },
      .replies = { CONV_FAIL },
      .want = PV_RESULT_CONV_ERROR,
      .reason = "conversation_failed",
      .sends = 1 },
    { .name = "never offered for rejected credentials",
      .cfg = { SECURE, "breakglass_file=@breakglass" },
      .answers = { OK(SEND_URL, 401, "{}") },
      .want = PV_RESULT_UNAVAILABLE,
      .reason = "provider_credentials",
      .sends = 1 },
    { .name = "never offered for a local failure",
      .cfg = { SECURE, "breakglass_file=@breakglass" },
      .answers = { NET(SEND_URL, PV_HTTP_E_HELPER) },
      .want = PV_RESULT_UNAVAILABLE,
      .reason = "transport_helper",
      .sends = 1 },
    { .name = "not offered with failmode=safe to a remote login",
      .cfg = { SAFE, "breakglass_file=@breakglass" },
      .answers = { NET(SEND_URL, PV_HTTP_E_TIMEOUT) },
      .want = PV_RESULT_FAILOPEN,
      .reason = "transport_timeout",
      .sends = 1 },
};

static void test_breakglass_rows(void **state)
{
    fixture *fx = *state;

    write_breakglass(fx);
    RUN(breakglass_rows);
}

/* ---- SPEC 4: failmode=safe never opens for a local user ------------------ */

/* A local user can make any request fail (limits, ports, descriptors):
 * every fact of pv_origin.h alone keeps the door shut under failmode=safe,
 * the log says why, and break-glass is offered instead. */
#define TIMEOUT_SEND NET(SEND_URL, PV_HTTP_E_TIMEOUT)
#define REFUSED_LOG "failopen_refused=local_user"
#define LOCAL_SAFE(label, from, host)                                   \
    {                                                                   \
        .name = "outage, safe, local: " label, .cfg = { SAFE },         \
        .rhost = (host), .origin = (from), .answers = { TIMEOUT_SEND }, \
        .want = PV_RESULT_UNAVAILABLE, .reason = "transport_timeout",   \
        .sends = 1, .shown = "Verification service unavailable.",       \
        .logged = REFUSED_LOG                                           \
    }

static const flow_case local_rows[] = {
    LOCAL_SAFE("login uid set", FROM_LOGINUID, "203.0.113.9"),
    LOCAL_SAFE("real uid not 0", FROM_USER, "203.0.113.9"),
    LOCAL_SAFE("PAM_RUSER set", FROM_RUSER, "203.0.113.9"),
    LOCAL_SAFE("rhost 127.0.0.1", FROM_RHOST, "127.0.0.1"),
    LOCAL_SAFE("rhost 127.8.9.10", FROM_RHOST, "127.8.9.10"),
    LOCAL_SAFE("rhost ::1", FROM_RHOST, "::1"),
    LOCAL_SAFE("rhost ::ffff:127.0.0.1", FROM_RHOST, "::ffff:127.0.0.1"),
    LOCAL_SAFE("rhost a name", FROM_RHOST, "localhost"),
    LOCAL_SAFE("rhost a remote-looking name", FROM_RHOST, "host.example"),
    LOCAL_SAFE("nothing known", FROM_UNKNOWN, NULL),
    LOCAL_SAFE("login uid, no rhost", FROM_LOGINUID, NULL),
    { .name = "verify 5xx, safe, local",
      .cfg = { SAFE },
      .origin = FROM_LOGINUID,
      .answers = { SENT, VERIFY_ERR(502, 1000) },
      .replies = { "123456" },
      .want = PV_RESULT_UNAVAILABLE,
      .reason = "code_1000",
      .sends = 1,
      .verifies = 1,
      .logged = REFUSED_LOG },
    { .name = "DNS failure, safe, local",
      .cfg = { SAFE },
      .origin = FROM_USER,
      .answers = { NET(SEND_URL, PV_HTTP_E_DNS) },
      .want = PV_RESULT_UNAVAILABLE,
      .reason = "transport_dns",
      .sends = 1,
      .logged = REFUSED_LOG },
    { .name = "numVerify 99, safe, local",
      .cfg = { SAFE, "methods=numverify sms", "numverify_url=" NV_URL,
               "numverify_licence=lic" },
      .origin = FROM_RUSER,
      .answers = { NV_AUTH, NV_ERROR(NV_URL "/IDMOBILE/", "99") },
      .want = PV_RESULT_UNAVAILABLE,
      .reason = "numverify_error_99",
      .logged = REFUSED_LOG },
    /* remote logins keep failmode=safe */
    { .name = "outage, safe, remote rhost",
      .cfg = { SAFE },
      .rhost = "203.0.113.9",
      .origin = FROM_RHOST,
      .answers = { TIMEOUT_SEND },
      .want = PV_RESULT_FAILOPEN,
      .reason = "transport_timeout",
      .sends = 1 },
    { .name = "outage, safe, remote IPv6 rhost",
      .cfg = { SAFE },
      .rhost = "2001:db8::7",
      .origin = FROM_RHOST,
      .answers = { TIMEOUT_SEND },
      .want = PV_RESULT_FAILOPEN,
      .reason = "transport_timeout",
      .sends = 1 },
    { .name = "outage, safe, console login (no rhost, run by root)",
      .cfg = { SAFE },
      .origin = FROM_REMOTE,
      .answers = { TIMEOUT_SEND },
      .want = PV_RESULT_FAILOPEN,
      .reason = "transport_timeout",
      .sends = 1 },
    /* failmode=secure: unchanged, and nothing to log about fail-open */
    { .name = "outage, secure, local",
      .cfg = { SECURE },
      .origin = FROM_LOGINUID,
      .answers = { TIMEOUT_SEND },
      .want = PV_RESULT_UNAVAILABLE,
      .reason = "transport_timeout",
      .sends = 1 },
    /* the other classes close as before */
    { .name = "credentials rejected, safe, local",
      .cfg = { SAFE, "breakglass_file=@breakglass" },
      .origin = FROM_LOGINUID,
      .answers = { OK(SEND_URL, 401, "{}") },
      .want = PV_RESULT_UNAVAILABLE,
      .reason = "provider_credentials",
      .sends = 1 },
    { .name = "local failure, safe, local: no break-glass",
      .cfg = { SAFE, "breakglass_file=@breakglass" },
      .origin = FROM_LOGINUID,
      .answers = { NET(SEND_URL, PV_HTTP_E_HELPER) },
      .want = PV_RESULT_UNAVAILABLE,
      .reason = "transport_helper",
      .sends = 1 },
    /* break-glass is offered where safe cannot open (SPEC 4, turn 3) */
    { .name = "break-glass, safe, local: a wrong code",
      .cfg = { SAFE, "breakglass_file=@breakglass" },
      .origin = FROM_LOGINUID,
      .answers = { TIMEOUT_SEND },
      .replies = { "0000000000" },
      .want = PV_RESULT_UNAVAILABLE,
      .reason = "transport_timeout",
      .sends = 1,
      .shown = "Verification service unavailable. Emergency code: ",
      .logged = REFUSED_LOG },
    { .name = "break-glass, safe, local: an empty entry",
      .cfg = { SAFE, "breakglass_file=@breakglass" },
      .origin = FROM_RUSER,
      .answers = { TIMEOUT_SEND },
      .replies = { "" },
      .want = PV_RESULT_UNAVAILABLE,
      .reason = "transport_timeout",
      .sends = 1,
      .shown = "Emergency code: " },
    { .name = "break-glass, safe, local: the code",
      .cfg = { SAFE, "breakglass_file=@breakglass" },
      .origin = FROM_USER,
      .answers = { TIMEOUT_SEND },
      .replies = { BREAKGLASS_CODE },
      .want = PV_RESULT_BREAKGLASS,
      .reason = "breakglass_code_used",
      .sends = 1,
      .shown = "Emergency code: " },
    { .name = "break-glass, safe, local: the code again (consumed)",
      .cfg = { SAFE, "breakglass_file=@breakglass" },
      .origin = FROM_RHOST,
      .rhost = "::1",
      .answers = { TIMEOUT_SEND },
      .replies = { BREAKGLASS_CODE },
      .want = PV_RESULT_UNAVAILABLE,
      .reason = "transport_timeout",
      .sends = 1 },
    { .name = "break-glass file, safe, remote: fail-open, no prompt",
      .cfg = { SAFE, "breakglass_file=@breakglass" },
      .rhost = "203.0.113.9",
      .origin = FROM_RHOST,
      .answers = { TIMEOUT_SEND },
      .want = PV_RESULT_FAILOPEN,
      .reason = "transport_timeout",
      .sends = 1 },
};

static void test_local_rows(void **state)
{
    fixture *fx = *state;

    write_breakglass(fx);
    RUN(local_rows);
}

/* One of this host's own addresses that is not loopback (NULL: none). */
static const char *own_address(char *buf, size_t size)
{
    struct ifaddrs *list = NULL, *i;
    const char *found = NULL;

    if (getifaddrs(&list) != 0)
        return NULL;
    for (i = list; i != NULL && found == NULL; i = i->ifa_next) {
        const struct sockaddr_in *sin = (const void *)i->ifa_addr;

        if (i->ifa_addr == NULL || i->ifa_addr->sa_family != AF_INET ||
            (ntohl(sin->sin_addr.s_addr) >> 24) == 127)
            continue;
        found = inet_ntop(AF_INET, &sin->sin_addr, buf, (socklen_t)size);
    }
    freeifaddrs(list);
    return found;
}

/* A login from this host's own (non-loopback) address is a local one. */
static void test_local_own_address(void **state)
{
    const fixture *fx = *state;
    char addr[INET_ADDRSTRLEN];
    flow_case c =
        LOCAL_SAFE("rhost this host's own address", FROM_RHOST, NULL);
    world w;
    pv_outcome out;

    c.rhost = own_address(addr, sizeof(addr));
    if (c.rhost == NULL)
        skip(); /* no interface with an address besides loopback */
    run_row(fx, &c, &w, &out);
    assert_int_equal(check_row(&w, &out), 0);
}

/* ---- the recorded requests ------------------------------------------------ */

/* The verify call carries the id the send returned and the normalised
 * code; the send carries the configured phone format. */
/* ---- grace: logins one after another in one state --------------------- */

/* One login of a sequence: the row's answers and replies against a shared
 * state, at `now`, from `origin` (rhost from the row, ruser unset). */
static int run_in_state(const fixture *fx, const flow_case *c, pv_state *st,
                        time_t now, const pv_origin *origin)
{
    pv_config *cfg = make_config(fx, c);
    pv_login login = { fx->user, "sudo", c->rhost, NULL, "pts/1", origin };
    pv_flow_env env;
    pv_outcome out;
    world w;

    memset(&w, 0, sizeof(w));
    w.c = c;
    w.clock.now = now;
    w.user = fx->user;
    w.lockout_time = cfg->lockout_time;
    w.transport.ops = &fake_ops;
    w.transport.impl = &w;
    w.state = st;
    if (c->locked_before)
        lock_user(&w);
    memset(&env, 0, sizeof(env));
    env.conv = (pv_conv){ fake_prompt, fake_say, fake_say, &w };
    env.clock = (pv_clock){ fake_now, fake_sleep_ms, &w };
    env.logger = (pv_logger){ quiet_log, NULL };
    env.http = &w.transport;
    env.state = st;
    (void)pv_flow_run(cfg, &login, &env, &out);
    pv_config_free(cfg);
    return check_row(&w, &out);
}

#define GRACE_ON "grace=300", "send_limit=1000"
#define RHOST "198.51.100.20"

static const flow_case grace_verified = { .name = "verified: grants grace",
                                          .cfg = { GRACE_ON },
                                          .rhost = RHOST,
                                          .answers = { SENT, RIGHT },
                                          .replies = { "123456" },
                                          .want = PV_RESULT_SUCCESS,
                                          .reason = "verified",
                                          .sends = 1,
                                          .verifies = 1 };
static const flow_case grace_used = {
    .name = "same user, binding, service: grace, nothing sent",
    .cfg = { GRACE_ON },
    .rhost = RHOST,
    .want = PV_RESULT_GRACE,
    .reason = "grace"
};
static const flow_case grace_needs_code = {
    .name = "no grant for this login: a code",
    .cfg = { GRACE_ON },
    .rhost = RHOST,
    .answers = { SENT, RIGHT },
    .replies = { "123456" },
    .want = PV_RESULT_SUCCESS,
    .reason = "verified",
    .sends = 1,
    .verifies = 1
};
static const flow_case grace_failopen = { .name = "fail-open: grants nothing",
                                          .cfg = { GRACE_ON, SAFE },
                                          .rhost = RHOST,
                                          .answers = { NET(
                                              SEND_URL, PV_HTTP_E_TIMEOUT) },
                                          .want = PV_RESULT_FAILOPEN,
                                          .reason = "transport_timeout",
                                          .sends = 1 };
static const flow_case grace_locked = { .name = "locked: no grace",
                                        .cfg = { GRACE_ON },
                                        .rhost = RHOST,
                                        .locked_before = 1,
                                        .want = PV_RESULT_LOCKED,
                                        .reason = "locked_out" };
/* Local logins (sudo in a terminal): no PAM_RHOST. */
static const flow_case grace_local_verified = {
    .name = "local, verified: grants grace to the session",
    .cfg = { GRACE_ON },
    .answers = { SENT, RIGHT },
    .replies = { "123456" },
    .want = PV_RESULT_SUCCESS,
    .reason = "verified",
    .sends = 1,
    .verifies = 1
};
static const flow_case grace_local_used = { .name =
                                                "local, same session: grace",
                                            .cfg = { GRACE_ON },
                                            .want = PV_RESULT_GRACE,
                                            .reason = "grace" };
static const flow_case grace_local_needs_code = {
    .name = "local, no grant for this session: a code",
    .cfg = { GRACE_ON },
    .answers = { SENT, RIGHT },
    .replies = { "123456" },
    .want = PV_RESULT_SUCCESS,
    .reason = "verified",
    .sends = 1,
    .verifies = 1
};

static pv_state *mem_state(void)
{
    pv_state *st = NULL;
    pv_err err;

    pv_err_clear(&err);
    assert_int_equal(pv_state_mem_open(&st, &err), 0);
    return st;
}

/* A login from a remote host (sshd from elsewhere). */
static const pv_origin remote_origin = { 0, 0, 0, 0, { 0, 0, 0, 0 } };

/* A local login in terminal session (tty, sid, leader start). */
static pv_origin session_origin(unsigned long long tty, long sid,
                                unsigned long long start)
{
    pv_origin o = { 1, 1, 1, 0, { 1, tty, sid, start } };

    return o;
}

static void test_grace_sequence(void **state)
{
    const fixture *fx = *state;
    const time_t t0 = 1700000000;
    const pv_origin *r = &remote_origin;
    pv_state *st = mem_state();
    int bad = 0;

    bad += run_in_state(fx, &grace_verified, st, t0, r);
    bad += run_in_state(fx, &grace_used, st, t0 + 10, r);
    bad += run_in_state(fx, &grace_used, st, t0 + 299, r);
    bad += run_in_state(fx, &grace_needs_code, st, t0 + 300, r);
    pv_state_close(st);

    st = mem_state();
    bad += run_in_state(fx, &grace_failopen, st, t0, r);
    bad += run_in_state(fx, &grace_needs_code, st, t0 + 10, r);
    pv_state_close(st);

    st = mem_state();
    bad += run_in_state(fx, &grace_verified, st, t0, r);
    bad += run_in_state(fx, &grace_locked, st, t0 + 10, r);
    pv_state_close(st);
    if (bad != 0)
        fail_msg("%d mismatches in the grace sequence", bad);
}

/* A local grant is bound to the terminal session: the same device, session
 * id and leader start time pass; a change of any one (the next terminal
 * reusing the name, a new shell with a reused pid) needs a code; no session
 * (no controlling terminal, the leader gone, nothing known) grants
 * nothing and honours nothing. */
static void test_grace_local_session(void **state)
{
    const fixture *fx = *state;
    const time_t t0 = 1700000000;
    pv_origin same = session_origin(34816, 4242, 123456);
    pv_origin other[3] = { session_origin(34817, 4242, 123456),
                           session_origin(34816, 4243, 123456),
                           session_origin(34816, 4242, 123457) };
    pv_origin none = same;
    pv_state *st = mem_state();
    int bad = 0, i;

    none.session.valid = 0;
    bad += run_in_state(fx, &grace_local_verified, st, t0, &same);
    bad += run_in_state(fx, &grace_local_used, st, t0 + 10, &same);
    for (i = 0; i < 3; i++)
        bad += run_in_state(fx, &grace_local_needs_code, st, t0 + 20 + i,
                            &other[i]);
    bad += run_in_state(fx, &grace_local_needs_code, st, t0 + 30, &none);
    bad += run_in_state(fx, &grace_local_needs_code, st, t0 + 31, NULL);
    /* a remote-looking PAM_RHOST from a local user: still the session */
    bad += run_in_state(fx, &grace_needs_code, st, t0 + 40, &other[0]);
    bad += run_in_state(fx, &grace_used, st, t0 + 41, &other[0]);
    bad += run_in_state(fx, &grace_needs_code, st, t0 + 42, &other[1]);
    pv_state_close(st);

    /* no session: nothing is granted either */
    st = mem_state();
    bad += run_in_state(fx, &grace_local_verified, st, t0, &none);
    bad += run_in_state(fx, &grace_local_needs_code, st, t0 + 10, &none);
    bad += run_in_state(fx, &grace_local_needs_code, st, t0 + 20, NULL);
    pv_state_close(st);
    if (bad != 0)
        fail_msg("%d mismatches in the local grace sequence", bad);
}

/* A lockout ends every grant: the grant does not come back when the lock
 * ends (grace outlasting the lock). */
#define GRACE_LONG "grace=3600", "lockout_time=60", "send_limit=1000"
static const flow_case long_local_verified = { .name = "local, verified",
                                               .cfg = { GRACE_LONG },
                                               .answers = { SENT, RIGHT },
                                               .replies = { "123456" },
                                               .want = PV_RESULT_SUCCESS,
                                               .reason = "verified",
                                               .sends = 1,
                                               .verifies = 1 };
static const flow_case long_local_used = { .name = "local, same session",
                                           .cfg = { GRACE_LONG },
                                           .want = PV_RESULT_GRACE,
                                           .reason = "grace" };
static const flow_case long_locked = { .name = "locked: no grace",
                                       .cfg = { GRACE_LONG },
                                       .rhost = RHOST,
                                       .locked_before = 1,
                                       .want = PV_RESULT_LOCKED,
                                       .reason = "locked_out" };
static const flow_case long_remote_verified = { .name = "remote, verified",
                                                .cfg = { GRACE_LONG },
                                                .rhost = RHOST,
                                                .answers = { SENT, RIGHT },
                                                .replies = { "123456" },
                                                .want = PV_RESULT_SUCCESS,
                                                .reason = "verified",
                                                .sends = 1,
                                                .verifies = 1 };
static const flow_case long_remote_used = { .name = "remote, same client",
                                            .cfg = { GRACE_LONG },
                                            .rhost = RHOST,
                                            .want = PV_RESULT_GRACE,
                                            .reason = "grace" };

static void test_grace_lockout_ends_grants(void **state)
{
    const fixture *fx = *state;
    const time_t t0 = 1700000000;
    pv_origin same = session_origin(34816, 4242, 123456);
    pv_state *st = mem_state();
    int bad = 0;

    bad += run_in_state(fx, &long_local_verified, st, t0, &same);
    bad += run_in_state(fx, &long_remote_verified, st, t0 + 1, &remote_origin);
    bad += run_in_state(fx, &long_local_used, st, t0 + 2, &same);
    bad += run_in_state(fx, &long_remote_used, st, t0 + 3, &remote_origin);
    bad += run_in_state(fx, &long_locked, st, t0 + 10, &remote_origin);
    /* the lock (60 s) has ended, the grants (3600 s) have not */
    bad += run_in_state(fx, &long_local_verified, st, t0 + 100, &same);
    bad +=
        run_in_state(fx, &long_remote_verified, st, t0 + 101, &remote_origin);
    /* grants earned after the lock work */
    bad += run_in_state(fx, &long_local_used, st, t0 + 102, &same);
    bad += run_in_state(fx, &long_remote_used, st, t0 + 103, &remote_origin);
    pv_state_close(st);
    if (bad != 0)
        fail_msg("%d mismatches in the lockout grace sequence", bad);
}

static void test_requests_carry_the_login(void **state)
{
    static const flow_case c = { .name = "requests",
                                 .cfg = { "phone_format=e164" },
                                 .answers = { SENT, RIGHT },
                                 .replies = { "12 34 56" },
                                 .want = PV_RESULT_SUCCESS,
                                 .reason = "verified",
                                 .sends = 1,
                                 .verifies = 1 };
    const fixture *fx = *state;
    world w;
    pv_outcome out;

    run_row(fx, &c, &w, &out);
    assert_int_equal(check_row(&w, &out), 0);
    assert_int_equal(w.n_calls, 2);
    assert_non_null(strstr(w.calls[0].body, "\"+8613800138000\""));
    assert_non_null(strstr(w.calls[1].body, "\"id-1\""));
    assert_non_null(strstr(w.calls[1].body, "\"123456\""));
    assert_string_equal(out.id, "id-1");
    assert_int_equal(out.tries, 1);
    assert_int_equal(out.sends, 1);
}

/* The in-memory backend is for tests only: no configuration selects it. */
static void test_mem_state_not_configurable(void **state)
{
    static const char *const names[] = { "mem", "memory", "state_mem" };
    pv_config *cfg = pv_config_new();
    pv_state *st = NULL;
    pv_err err;
    size_t i;

    (void)state;
    assert_non_null(cfg);
    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        pv_err_clear(&err);
        if (pv_config_set(cfg, "state", names[i], "test", 1, &err) != 0)
            continue; /* refused as a value: fine */
        pv_err_clear(&err);
        assert_int_equal(pv_state_open(cfg, &st, &err), -1);
        assert_null(st);
    }
    pv_config_free(cfg);
}

/* ---- a sent guess stays counted whatever happens to its answer ------- */

/* An attacker on the path cuts exactly the answers that say "wrong" (cut
 * mid-body, or held back until the helper gives up): each login's guess
 * is still a lockout failure, so lockout_failures=3 ends the guessing
 * after 3 verify calls, the third login locked. */
#define CUT_WRONG OK(VERIFY_URL, 200, "{\"message_id\": \"id-1\", \"verif")
#define GUESS3 "lockout_failures=3", "max_tries=1"

static const flow_case guess_cut = { .name = "wrong answer cut mid-body",
                                     .cfg = { SECURE, GUESS3 },
                                     .answers = { SENT, CUT_WRONG },
                                     .replies = { "111111" },
                                     .want = PV_RESULT_UNAVAILABLE,
                                     .reason = "malformed_answer",
                                     .sends = 1,
                                     .verifies = 1 };
static const flow_case guess_late = {
    .name = "wrong answer held back",
    .cfg = { SECURE, GUESS3 },
    .answers = { SENT, NET(VERIFY_URL, PV_HTTP_E_TIMEOUT) },
    .replies = { "111111" },
    .want = PV_RESULT_UNAVAILABLE,
    .reason = "transport_timeout",
    .sends = 1,
    .verifies = 1
};
static const flow_case guess_cut_locks = { .name = "third cut guess locks",
                                           .cfg = { SECURE, GUESS3 },
                                           .answers = { SENT, CUT_WRONG },
                                           .replies = { "111111" },
                                           .want = PV_RESULT_LOCKED,
                                           .reason = "locked_out",
                                           .sends = 1,
                                           .verifies = 1 };
static const flow_case guess_refused = { .name = "locked: nothing sent",
                                         .cfg = { SECURE, GUESS3 },
                                         .want = PV_RESULT_LOCKED,
                                         .reason = "locked_out" };
/* The explicit "code gone" answer (3011) is the one give-back. */
static const flow_case guess_expired = { .name = "expired: no guess",
                                         .cfg = { SECURE, GUESS3, "resend=0" },
                                         .answers = { SENT,
                                                      VERIFY_ERR(400, 3011) },
                                         .replies = { "111111" },
                                         .want = PV_RESULT_DENIED,
                                         .reason = "code_expired",
                                         .sends = 1,
                                         .verifies = 1 };

/* Failures on record, or 100 once the user is locked. */
static size_t failures_of(pv_state *st, const char *user)
{
    pv_state_record rec;
    pv_err err;
    size_t n;

    pv_err_clear(&err);
    assert_int_equal(pv_state_read(st, user, &rec, &err), 0);
    n = rec.locked_until != 0 ? 100 : rec.n_failures;
    pv_state_record_clear(&rec);
    return n;
}

static void test_lost_answer_stays_a_guess(void **state)
{
    const fixture *fx = *state;
    const time_t t0 = 1700000000;
    pv_state *st = mem_state();
    int bad = 0;

    bad += run_in_state(fx, &guess_expired, st, t0, NULL);
    assert_int_equal(failures_of(st, fx->user), 0);
    bad += run_in_state(fx, &guess_cut, st, t0 + 1, NULL);
    assert_int_equal(failures_of(st, fx->user), 1);
    bad += run_in_state(fx, &guess_late, st, t0 + 2, NULL);
    assert_int_equal(failures_of(st, fx->user), 2);
    bad += run_in_state(fx, &guess_cut_locks, st, t0 + 3, NULL);
    assert_int_equal(failures_of(st, fx->user), 100);
    bad += run_in_state(fx, &guess_refused, st, t0 + 4, NULL);
    pv_state_close(st);
    if (bad != 0)
        fail_msg("%d mismatches in the cut-answer sequence", bad);
}

/* ---- a local failure never marks a provider entry down ---------------- */

#define SEND_URL2 "https://send2.example/v1/send"
#define VERIFY_URL2 "https://verify2.example/v1/verify"
/* send_url emptied first: the lists must have the same count at each set */
#define TWO_ENTRIES                                        \
    "send_url=", "verify_url=" VERIFY_URL " " VERIFY_URL2, \
        "send_url=" SEND_URL " " SEND_URL2

/* The helper dies or cannot start (the calling user's limits, a signal):
 * nothing is learnt about the provider, so no entry is marked (a mark is
 * shared fleet-wide with etcd) and the login does not move on. */
static const flow_case local_at_send = {
    .name = "local failure at send: no mark, no failover",
    .cfg = { SAFE, TWO_ENTRIES },
    .answers = { NET(SEND_URL, PV_HTTP_E_HELPER) },
    .want = PV_RESULT_UNAVAILABLE,
    .reason = "transport_helper",
    .sends = 1
};
static const flow_case local_at_verify = {
    .name = "local failure at verify: no mark, no failover",
    .cfg = { SAFE, TWO_ENTRIES },
    .answers = { SENT, NET(VERIFY_URL, PV_HTTP_E_HELPER) },
    .replies = { "123456" },
    .want = PV_RESULT_UNAVAILABLE,
    .reason = "transport_helper",
    .sends = 1,
    .verifies = 1
};
/* The contrast: a refused connection is seen on the network. */
static const flow_case outage_at_send = {
    .name = "outage at send: entry 1 marked, entry 2 serves",
    .cfg = { SAFE, TWO_ENTRIES },
    .answers = { NET(SEND_URL, PV_HTTP_E_CONNECT),
                 OK(SEND_URL2, 200,
                    "{\"verification_id\": \"id-2\", \"expires_in\": 300}"),
                 OK(VERIFY_URL2, 200,
                    "{\"message_id\": \"id-2\", "
                    "\"verify_code\": \"123456\", \"verified\": true}") },
    .replies = { "123456" },
    .want = PV_RESULT_SUCCESS,
    .reason = "verified",
    .sends = 1
};

/* The try whose answer the outage hid was the last of max_tries: no new
 * code from entry 2 (it would bring a try more). */
static const flow_case outage_last_try = {
    .name = "verify outage on the last try: no new code",
    .cfg = { SAFE, TWO_ENTRIES, "max_tries=1" },
    .answers = { SENT, NET(VERIFY_URL, PV_HTTP_E_TIMEOUT) },
    .replies = { "123456" },
    .want = PV_RESULT_MAXTRIES,
    .reason = "max_tries",
    .sends = 1,
    .verifies = 1
};

static size_t marks_of(pv_state *st)
{
    pv_state_health h;
    pv_err err;

    pv_err_clear(&err);
    assert_int_equal(pv_state_health_read(st, &h, &err), 0);
    return h.n;
}

static void test_local_failure_marks_no_entry(void **state)
{
    const fixture *fx = *state;
    const time_t t0 = 1700000000;
    pv_state *st = mem_state();
    int bad = 0;

    bad += run_in_state(fx, &local_at_send, st, t0, NULL);
    assert_int_equal(marks_of(st), 0);
    bad += run_in_state(fx, &local_at_verify, st, t0 + 1, NULL);
    assert_int_equal(marks_of(st), 0);
    bad += run_in_state(fx, &outage_at_send, st, t0 + 2, NULL);
    assert_int_equal(marks_of(st), 1);
    bad += run_in_state(fx, &outage_last_try, st, t0 + 100, NULL);
    assert_int_equal(marks_of(st), 1);
    pv_state_close(st);
    if (bad != 0)
        fail_msg("%d mismatches in the local-failure sequence", bad);
}

/* ---- the clock: what integration tests waited for in real time ---------- */

/* The fake clock stands in for the real waits of the integration suite;
 * each feature keeps one real-time twin there (test_numverify.py
 * test_enter_after_wait_refused[safe], test_grace.py test_grant_expires
 * and test_lockout_ends_remote_grant, test_hardening.py
 * test_lockout_expires_after_lockout_time). */
static const flow_case clock_rows[] = {
    { .name = "Enter after numverify_wait (5 s), secure: refused, no poll",
      .cfg = { NV_ON, SECURE, "numverify_wait=5" },
      .prompt_seconds = 6,
      .answers = { NV_AUTH, NV_START },
      .replies = { "" },
      .want = PV_RESULT_DENIED,
      .reason = "numverify_timeout",
      .shown = "took too long" },
    { .name = "Enter after numverify_wait (5 s), safe: refused, no poll",
      .cfg = { NV_ON, SAFE, "numverify_wait=5" },
      .prompt_seconds = 6,
      .answers = { NV_AUTH, NV_START },
      .replies = { "" },
      .want = PV_RESULT_DENIED,
      .reason = "numverify_timeout",
      .shown = "took too long" },
};

static void test_clock_rows(void **state)
{
    RUN(clock_rows);
}

static int far_future_cb(pv_state_record *rec, void *ctx)
{
    size_t i;

    (void)ctx;
    for (i = 0; i < rec->n_grants; i++)
        rec->grant_until[i] = 253402300799; /* 9999-12-31 */
    return 0;
}

/* A grant whose stored end lies far beyond `grace` (an edited or corrupt
 * store) still ends `grace` after it was earned. */
static void test_grace_far_future_end_capped(void **state)
{
    const fixture *fx = *state;
    const time_t t0 = 1700000000;
    const pv_origin *r = &remote_origin;
    pv_state *st = mem_state();
    pv_err err;
    int bad = 0;

    bad += run_in_state(fx, &grace_verified, st, t0, r);
    pv_err_clear(&err);
    assert_int_equal(pv_state_update(st, fx->user, far_future_cb, NULL, &err),
                     0);
    bad += run_in_state(fx, &grace_used, st, t0 + 299, r);
    bad += run_in_state(fx, &grace_needs_code, st, t0 + 300, r);
    pv_state_close(st);
    if (bad != 0)
        fail_msg("%d mismatches in the far-future grant sequence", bad);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic_rows),
        cmocka_unit_test(test_precheck_rows),
        cmocka_unit_test(test_lockout_rows),
        cmocka_unit_test(test_outage_rows),
        cmocka_unit_test(test_closed_rows),
        cmocka_unit_test(test_user_rows),
        cmocka_unit_test(test_breakglass_rows),
        cmocka_unit_test(test_local_rows),
        cmocka_unit_test(test_local_own_address),
        cmocka_unit_test(test_requests_carry_the_login),
        cmocka_unit_test(test_grace_sequence),
        cmocka_unit_test(test_grace_local_session),
        cmocka_unit_test(test_grace_lockout_ends_grants),
        cmocka_unit_test(test_mem_state_not_configurable),
        cmocka_unit_test(test_lost_answer_stays_a_guess),
        cmocka_unit_test(test_local_failure_marks_no_entry),
        cmocka_unit_test(test_clock_rows),
        cmocka_unit_test(test_grace_far_future_end_capped),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
