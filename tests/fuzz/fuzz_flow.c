/* fuzz_flow.c - libFuzzer harness for pv_flow_run end to end.
 *
 * The input scripts one login: the configuration, the provider's answer
 * to every request (a canned answer, a transport status, or an HTTP code
 * and raw body), the user's replies and how long each takes (the clock),
 * and the allocation that fails.  The transport and the conversation are
 * fakes in this file; the state is the in-memory backend.
 *
 * Input layout:
 *   byte 0   flags: bit 0 failmode=safe, bit 1 pre-check on, bits 2-3
 *            methods {sms, email, numverify sms, sms email}, bit 4
 *            breakglass_file, bit 5 resend=0, bit 6 lockout_failures=2,
 *            bit 7 precheck_unknown=allow
 *   byte 1   bits 5-7: where the login comes from (pv_origin.h): 0 and
 *            6-7 a remote login (rhost 203.0.113.9), 1 a kernel login
 *            uid, 2 a real uid other than 0, 3 PAM_RUSER set, 4 rhost
 *            127.0.0.1, 5 nothing known (no origin)
 *   byte 1-2 bits 0-12 N (big-endian): the Nth allocation during the
 *            flow fails (0: none).  malloc, calloc, realloc, strdup and
 *            strndup are wrapped at link time (-Wl,--wrap, mk/fuzz.mk),
 *            as pam-u2f's fuzz wrappers do.
 *   then, read as the flow asks:
 *     per request: kind byte, kind % 8: 0 the canned good answer for the
 *       endpoint, 1 a canned negative one (wrong code, pending, refusal),
 *       2 a transport status (next byte), 3 a canned "code gone" /
 *       expired answer, 4 an HTTP code (next byte) with the canned good
 *       body, 5-7 an HTTP code (next byte) and a raw body (length byte,
 *       bytes).  No bytes left: a local failure (never opens).
 *     per prompt: reply byte (% 6: "123456", "111111", "", the
 *       conversation fails, the break-glass code, raw: length byte and
 *       bytes) and a seconds byte the user takes.  No bytes left: the
 *       conversation fails.
 *
 * Oracle, besides memory safety and leaks:
 *  - SUCCESS only if the script answered a verify call for an id that a
 *    send answer returned with verified:true for that id, or a numVerify
 *    GET with numVerify:true;
 *  - BREAKGLASS only if the break-glass code was typed at its prompt;
 *  - FAILOPEN only with failmode=safe, a network outage in the script
 *    (a network transport status, an HTTP 5xx or a raw body) and a
 *    remote login (never for a local user);
 *  - never IGNORE (no opt-out is configured). */
#include <crypt.h>
#include <pwd.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "flow/pv_flow.h"
#include "base/pv_json.h"
#include "state/pv_state_mem.h"
#include "transport/pv_transport.h"
#include "base/pv_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SEND_URL "https://send.example/v1/send"
#define VERIFY_URL "https://verify.example/v1/verify"
#define PRE_URL "https://pre.example/v1/check"
#define NV_URL "https://nv.example/dqe"
#define BREAKGLASS_CODE "9182736455"
#define MAX_IDS 8

/* ---- allocation failure injection --------------------------------------- */

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t m);
void *__wrap_realloc(void *p, size_t n);
char *__wrap_strdup(const char *s);
char *__wrap_strndup(const char *s, size_t n);

/* The harness is single-threaded; these counters are its own, not the
 * library's. */
static unsigned long alloc_count, alloc_fail_at;
static int injecting;

static int this_alloc_fails(void)
{
    if (!injecting || alloc_fail_at == 0)
        return 0;
    return ++alloc_count == alloc_fail_at;
}

void *__wrap_malloc(size_t n)
{
    return this_alloc_fails() ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t m)
{
    return this_alloc_fails() ? NULL : __real_calloc(n, m);
}

void *__wrap_realloc(void *p, size_t n)
{
    return this_alloc_fails() ? NULL : __real_realloc(p, n);
}

char *__wrap_strdup(const char *s)
{
    return this_alloc_fails() ? NULL : __real_strdup(s);
}

char *__wrap_strndup(const char *s, size_t n)
{
    return this_alloc_fails() ? NULL : __real_strndup(s, n);
}

/* ---- the script ----------------------------------------------------------- */

typedef struct script {
    const uint8_t *p;
    size_t left;
    int safe, local;
    int outage_given, verified_given, nv_true_given, breakglass_given;
    char ids[MAX_IDS][PV_VERIFICATION_ID_MAX + 1];
    size_t n_ids;
    time_t now;
} script;

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_flow: %s\n", what);
    abort();
}

static int take(script *s, uint8_t *b)
{
    if (s->left == 0)
        return 0;
    *b = *s->p++;
    s->left--;
    return 1;
}

static long take_http_code(script *s)
{
    static const long codes[] = { 200, 400, 401, 403, 404, 429,
                                  500, 503, 302, 100, 204, 999 };
    uint8_t b = 0;

    (void)take(s, &b);
    return codes[b % (sizeof(codes) / sizeof(codes[0]))];
}

static int url_is(const pv_http_request *req, const char *prefix)
{
    return strncmp(req->url, prefix, strlen(prefix)) == 0;
}

/* The message_id of a verify request (the flow's own JSON). */
static void request_id(const pv_http_request *req, char *id, size_t size)
{
    cJSON *obj = pv_json_parse_object(req->body, req->body_len);
    const char *v = obj ? pv_json_string(obj, "message_id") : NULL;

    id[0] = '\0';
    if (v != NULL)
        pv_strlcpy(id, v, size);
    pv_json_free(obj);
}

static void canned_good(const pv_http_request *req, char *body, size_t size)
{
    char id[PV_VERIFICATION_ID_MAX + 1];

    if (url_is(req, SEND_URL)) {
        pv_strlcpy(body,
                   "{\"verification_id\": \"id-1\", "
                   "\"expires_in\": 300}",
                   size);
    } else if (url_is(req, VERIFY_URL)) {
        request_id(req, id, sizeof(id));
        pv_snprintf(body, size,
                    "{\"message_id\": \"%s\", \"verify_code\": "
                    "\"123456\", \"verified\": true}",
                    id);
    } else if (url_is(req, PRE_URL)) {
        pv_strlcpy(body, "{\"result\": 0, \"description\": \"x\"}", size);
    } else if (url_is(req, NV_URL "/AUTH/")) {
        pv_strlcpy(body, "{\"token\": \"tok-1\"}", size);
    } else if (url_is(req, NV_URL "/IDMOBILE/")) {
        pv_strlcpy(body,
                   "{\"status\": \"success\", \"operator\": \"SFR\", "
                   "\"url\": \"https://idmobile.example.com/v/1\"}",
                   size);
    } else {
        pv_strlcpy(body,
                   "{\"status\": \"success\", \"scope\": "
                   "\"numVerify\", \"numVerify\": true}",
                   size);
    }
}

static void nv_error(const char *id, char *body, size_t size)
{
    pv_snprintf(body, size,
                "{\"status\": \"error\", \"error_id\": "
                "\"%s\", \"error_type\": \"x\"}",
                id);
}

static void canned_negative(const pv_http_request *req, int gone, char *body,
                            size_t size)
{
    char id[PV_VERIFICATION_ID_MAX + 1];

    if (url_is(req, SEND_URL)) {
        pv_strlcpy(body,
                   gone ? "{\"error\": \"captcha_required\"}"
                        : "{\"error\": \"rate_limit_exceeded\"}",
                   size);
    } else if (url_is(req, VERIFY_URL)) {
        request_id(req, id, sizeof(id));
        if (gone)
            pv_strlcpy(body, "{\"code\": 3003, \"message\": \"x\"}", size);
        else
            pv_snprintf(body, size,
                        "{\"message_id\": \"%s\", "
                        "\"verify_code\": \"1\", \"verified\": false}",
                        id);
    } else if (url_is(req, PRE_URL)) {
        pv_strlcpy(body, gone ? "{\"result\": -1}" : "{\"result\": 1}", size);
    } else if (url_is(req, NV_URL "/AUTH/")) {
        nv_error(gone ? "02" : "01", body, size); /* licence / rejected */
    } else if (url_is(req, NV_URL "/IDMOBILE/")) {
        nv_error(gone ? "20" : "09", body, size); /* refused / ineligible */
    } else if (gone) {
        nv_error("30", body, size); /* token expired */
    } else {
        pv_strlcpy(body,
                   "{\"status\": \"pending\", \"scope\": "
                   "\"numVerify\"}",
                   size);
    }
}

/* What the script said, read independently of the flow's parsers. */
static void note_answer(script *s, const pv_http_request *req, long code,
                        const char *body, size_t len)
{
    cJSON *obj = code == 200 ? pv_json_parse_object(body, len) : NULL;
    char id[PV_VERIFICATION_ID_MAX + 1];
    const char *v;
    int b = 0;
    size_t i;

    if (obj == NULL)
        return;
    if (url_is(req, SEND_URL) && s->n_ids < MAX_IDS &&
        (v = pv_json_string(obj, "verification_id")) != NULL)
        pv_strlcpy(s->ids[s->n_ids++], v, sizeof(s->ids[0]));
    if (url_is(req, VERIFY_URL) && pv_json_bool(obj, "verified", &b) == 0 &&
        b && (v = pv_json_string(obj, "message_id")) != NULL) {
        request_id(req, id, sizeof(id));
        for (i = 0; i < s->n_ids; i++)
            if (strcmp(v, id) == 0 && strcmp(id, s->ids[i]) == 0)
                s->verified_given = 1;
    }
    if (url_is(req, NV_URL "/GET/") &&
        pv_json_bool(obj, "numVerify", &b) == 0 && b)
        s->nv_true_given = 1;
    pv_json_free(obj);
}

static void raw_body(script *s, char *body, size_t size)
{
    uint8_t n = 0, c;
    size_t i;

    (void)take(s, &n);
    for (i = 0; i < n && i + 1 < size && take(s, &c); i++)
        body[i] = (char)(c == 0 ? ' ' : c);
    body[i] = '\0';
}

/* Fill the answer; -1 with a transport status, 0 with an HTTP answer in
 * body/code. */
static int choose_answer(script *s, const pv_http_request *req,
                         enum pv_http_status *st, long *code, char *body,
                         size_t size)
{
    uint8_t kind, b = 0;

    *code = 200;
    if (!take(s, &kind)) {
        *st = PV_HTTP_E_HELPER;
        return -1;
    }
    switch (kind % 8) {
    case 0:
        canned_good(req, body, size);
        return 0;
    case 1:
    case 3:
        canned_negative(req, kind % 8 == 3, body, size);
        *code = url_is(req, SEND_URL) ? 429 : 200;
        if (kind % 8 == 3 && url_is(req, VERIFY_URL))
            *code = 400;
        return 0;
    case 2:
        (void)take(s, &b);
        *st = (enum pv_http_status)(1 + b % 8); /* E_CONNECT .. E_DNS */
        if (*st != PV_HTTP_E_HELPER && *st != PV_HTTP_E_URL)
            s->outage_given = 1;
        return -1;
    case 4:
        *code = take_http_code(s);
        canned_good(req, body, size);
        break;
    default:
        *code = take_http_code(s);
        raw_body(s, body, size);
        break;
    }
    s->outage_given = 1; /* a 5xx or a body we did not vouch for */
    return 0;
}

static int fake_post(pv_transport *t, const pv_http_request *req,
                     pv_http_response *resp)
{
    script *s = t->impl;
    char body[1024];
    enum pv_http_status st = PV_HTTP_OK;
    long code;
    int was = injecting;

    memset(resp, 0, sizeof(*resp));
    injecting = 0;
    if (choose_answer(s, req, &st, &code, body, sizeof(body)) != 0) {
        injecting = was;
        resp->status = st;
        return -1;
    }
    note_answer(s, req, code, body, strlen(body));
    injecting = was;
    resp->body = strdup(body); /* may fail: injected */
    if (resp->body == NULL) {
        resp->status = PV_HTTP_E_HELPER;
        return -1;
    }
    resp->status = PV_HTTP_OK;
    resp->http_code = code;
    resp->body_len = strlen(body);
    return 0;
}

static long fake_connects(const pv_transport *t)
{
    (void)t;
    return 0;
}

static void fake_free(pv_transport *t)
{
    (void)t;
}

static const struct pv_transport_ops fake_ops = {
    fake_post,
    fake_connects,
    fake_free,
};

static int fake_prompt(void *ctx, const char *msg, int echo, char **reply)
{
    static const char *const canned[] = { "123456", "111111", "" };
    script *s = ctx;
    char text[64];
    uint8_t kind, secs = 0;

    (void)echo;
    if (!take(s, &kind))
        return -1;
    (void)take(s, &secs);
    s->now += secs;
    switch (kind % 6) {
    case 3:
        return -1;
    case 4:
        pv_strlcpy(text, BREAKGLASS_CODE, sizeof(text));
        if (strstr(msg, "Emergency code") != NULL)
            s->breakglass_given = 1;
        break;
    case 5:
        raw_body(s, text, sizeof(text));
        break;
    default:
        pv_strlcpy(text, canned[kind % 6], sizeof(text));
        break;
    }
    *reply = strdup(text); /* may fail: the conversation did */
    return *reply != NULL ? 0 : -1;
}

static int fake_say(void *ctx, const char *msg)
{
    (void)ctx;
    (void)msg;
    return 0;
}

static time_t fake_now(void *ctx)
{
    return ((script *)ctx)->now;
}

static void fake_sleep_ms(void *ctx, unsigned ms)
{
    ((script *)ctx)->now += (time_t)(ms / 1000);
}

static void quiet_log(void *ctx, int prio, const char *line)
{
    (void)ctx;
    (void)prio;
    (void)line;
}

/* ---- the world: users file, break-glass file ---------------------------- */

static struct {
    char user[PV_STATE_USER_MAX + 1];
    char dir[64], users[128], breakglass[128];
    char breakglass_line[512];
} world;

static void write_file(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");

    if (fp == NULL || fputs(text, fp) < 0 || fclose(fp) != 0 ||
        chmod(path, 0600) != 0)
        fail("cannot write a fixture file");
}

/* At exit: leave nothing in /tmp. */
static void world_remove(void)
{
    char lock[160];

    snprintf(lock, sizeof(lock), "%s.lock", world.breakglass);
    unlink(world.users);
    unlink(world.breakglass);
    unlink(lock);
    rmdir(world.dir);
}

static void world_init(void)
{
    struct passwd *pw = getpwuid(geteuid());
    char setting[CRYPT_GENSALT_OUTPUT_SIZE], line[1024];
    struct crypt_data cd;
    const char *hash;

    if (pw == NULL)
        fail("no passwd entry for the fuzzing user");
    pv_strlcpy(world.user, pw->pw_name, sizeof(world.user));
    pv_strlcpy(world.dir, "/tmp/pv-fuzz-flow-XXXXXX", sizeof(world.dir));
    if (mkdtemp(world.dir) == NULL)
        fail("mkdtemp");
    atexit(world_remove);
    snprintf(world.users, sizeof(world.users), "%s/users", world.dir);
    snprintf(world.breakglass, sizeof(world.breakglass), "%s/breakglass",
             world.dir);
    snprintf(line, sizeof(line),
             "%s:+86 13800138000:Zhang San:"
             "someone@example.com\n",
             world.user);
    write_file(world.users, line);
    memset(&cd, 0, sizeof(cd));
    if (crypt_gensalt_rn("$y$", 0, NULL, 0, setting, sizeof(setting)) ==
            NULL ||
        (hash = crypt_rn(BREAKGLASS_CODE, setting, &cd, sizeof(cd))) == NULL ||
        hash[0] != '$')
        fail("crypt");
    snprintf(world.breakglass_line, sizeof(world.breakglass_line), "%s:%s\n",
             world.user, hash);
}

static void set(pv_config *cfg, const char *key, const char *value)
{
    pv_err err;

    pv_err_clear(&err);
    if (pv_config_set(cfg, key, value, "fuzz", 0, &err) != 0)
        fail(err.msg);
}

static pv_config *make_config(uint8_t flags)
{
    static const char *const methods[] = { "sms", "email", "numverify sms",
                                           "sms email" };
    pv_config *cfg = pv_config_new();

    if (cfg == NULL)
        fail("pv_config_new");
    set(cfg, "send_url", SEND_URL);
    set(cfg, "verify_url", VERIFY_URL);
    set(cfg, "send_auth", "bearer:send-secret");
    set(cfg, "verify_auth", "bearer:verify-secret");
    set(cfg, "users_file", world.users);
    set(cfg, "numverify_url", NV_URL);
    set(cfg, "numverify_licence", "lic");
    set(cfg, "failmode", (flags & 1) ? "safe" : "secure");
    if (flags & 2)
        set(cfg, "precheck_url", PRE_URL);
    set(cfg, "methods", methods[(flags >> 2) & 3]);
    if (flags & 16) {
        write_file(world.breakglass, world.breakglass_line);
        set(cfg, "breakglass_file", world.breakglass);
    }
    if (flags & 32)
        set(cfg, "resend", "0");
    if (flags & 64)
        set(cfg, "lockout_failures", "2");
    if (flags & 128)
        set(cfg, "precheck_unknown", "allow");
    return cfg;
}

static void check_oracle(const script *s, enum pv_result r)
{
    switch (r) {
    case PV_RESULT_SUCCESS:
        if (!s->verified_given && !s->nv_true_given)
            fail("SUCCESS without a verified answer in the script");
        break;
    case PV_RESULT_BREAKGLASS:
        if (!s->breakglass_given)
            fail("BREAKGLASS without the emergency code typed");
        break;
    case PV_RESULT_FAILOPEN:
        if (!s->safe || !s->outage_given)
            fail("FAILOPEN without failmode=safe and a network outage");
        if (s->local)
            fail("FAILOPEN for a local user");
        break;
    case PV_RESULT_IGNORE:
        fail("IGNORE with no opt-out configured");
        break;
    case PV_RESULT_DENIED:
    case PV_RESULT_MAXTRIES:
    case PV_RESULT_LOCKED:
    case PV_RESULT_UNAVAILABLE:
    case PV_RESULT_CONFIG_ERROR:
    case PV_RESULT_CONV_ERROR:
        break;
    default:
        fail("result outside the enum");
    }
}

/* The login's origin from the top bits of byte 1 (see the layout). */
static void make_login(uint8_t b, pv_origin *o, pv_login *login)
{
    unsigned kind = (unsigned)b >> 5;

    memset(o, 0, sizeof(*o));
    *login = (pv_login){ world.user, "sshd", "203.0.113.9", NULL, NULL, o };
    if (kind == 1)
        o->loginuid_set = 1;
    else if (kind == 2)
        o->ruid_not_root = 1;
    else if (kind == 3) {
        o->ruser_set = 1;
        login->ruser = "bob";
    } else if (kind == 4) {
        o->rhost_local = 1;
        login->rhost = "127.0.0.1";
    } else if (kind == 5)
        login->origin = NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    pv_transport transport = { &fake_ops, NULL };
    pv_login login;
    pv_origin origin;
    pv_flow_env env;
    pv_outcome out;
    pv_config *cfg;
    pv_err err;
    script s;
    enum pv_result r;

    if (size < 3)
        return 0;
    if (!ready) {
        world_init();
        ready = 1;
    }
    memset(&s, 0, sizeof(s));
    s.p = data + 3;
    s.left = size - 3;
    s.safe = data[0] & 1;
    s.now = 1700000000;
    cfg = make_config(data[0]);
    memset(&env, 0, sizeof(env));
    pv_err_clear(&err);
    if (pv_state_mem_open(&env.state, &err) != 0)
        fail("pv_state_mem_open");
    transport.impl = &s;
    env.http = &transport;
    env.conv = (pv_conv){ fake_prompt, fake_say, fake_say, &s };
    env.clock = (pv_clock){ fake_now, fake_sleep_ms, &s };
    env.logger = (pv_logger){ quiet_log, NULL };
    make_login(data[1], &origin, &login);
    s.local = pv_origin_is_local(login.origin);

    alloc_count = 0;
    alloc_fail_at = ((unsigned long)(data[1] & 0x1f) << 8) | data[2];
    injecting = 1;
    r = pv_flow_run(cfg, &login, &env, &out);
    injecting = 0;

    if (r != out.result)
        fail("return value and outcome disagree");
#ifdef FUZZ_FLOW_VERBOSE /* seed checks: cc -DFUZZ_FLOW_VERBOSE */
    fprintf(stderr, "result=%s reason=%s\n", pv_result_name(r), out.reason);
#endif
    check_oracle(&s, r);
    pv_state_close(env.state);
    pv_config_free(cfg);
    return 0;
}
