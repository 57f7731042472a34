/* test_config.c - pv_config.c against SPEC section 3. */
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

#include "config/pv_config.h"

#define ORIG "/etc/security/pam_phoneverify.conf"
#define NOBODY_UID 65534

/* Every key of SPEC section 3, in SPEC order. */
static const char *const spec_keys[] = {
    "methods",
    "send_url",
    "send_auth",
    "send_target",
    "captcha_token",
    "verify_url",
    "verify_auth",
    "precheck_url",
    "precheck_auth",
    "precheck_encryption",
    "precheck_cache",
    "precheck_unknown",
    "numverify_url",
    "numverify_licence",
    "numverify_partner",
    "numverify_wait",
    "numverify_poll",
    "phone_format",
    "users_file",
    "lookup",
    "gecos_field",
    "lookup_command",
    "lookup_command_user",
    "groups",
    "trusted_rhosts",
    "nullok",
    "failmode",
    "timeout",
    "connect_timeout",
    "cafile",
    "capath",
    "pinned_pubkey",
    "client_cert",
    "client_key",
    "proxy",
    "max_tries",
    "resend",
    "code_length",
    "lockout_failures",
    "lockout_window",
    "lockout_time",
    "state",
    "state_endpoints",
    "state_cafile",
    "state_client_cert",
    "state_client_key",
    "state_prefix",
    "state_timeout",
    "state_dir",
    "send_limit",
    "send_window",
    "resend_wait",
    "grace",
    "grace_services",
    "numverify_link_hosts",
    "reuse_code",
    "prompt",
    "echo_code",
    "breakglass_file",
    "language",
    "locale_dir",
    "debug",
    "helper_user",
    "helper",
};
#define N_SPEC_KEYS (sizeof spec_keys / sizeof spec_keys[0])

static const char *const tmp_names[] = {
    "conf",   "conf2",    "helper",  "users",      "lookup",
    "ca.pem", "cert.pem", "key.pem", "breakglass", "pin.pem",
    "link",   "fifo",     "capath",  "noexec",     "state",
};

static char tmpdir[256];

/* Path of name in the test directory; one of a few rotating buffers. */
static const char *tpath(const char *name)
{
    static char bufs[8][512];
    static unsigned next;
    char *b = bufs[next++ % 8];

    snprintf(b, sizeof bufs[0], "%s/%s", tmpdir, name);
    return b;
}

static void write_file(const char *name, const char *text, mode_t mode)
{
    pvt_write_file(tpath(name), text, mode);
}

static void assert_err(const pv_err *err, const char *needle)
{
    if (strstr(err->msg, needle) == NULL)
        fail_msg("error '%s' does not contain '%s'", err->msg, needle);
}

static void assert_err_prefix(const pv_err *err, const char *prefix)
{
    if (strncmp(err->msg, prefix, strlen(prefix)) != 0)
        fail_msg("error '%s' does not start with '%s'", err->msg, prefix);
}

static int setup(void **state)
{
    const char *base = getenv("TMPDIR");

    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "%s/pvconf.XXXXXX",
             base != NULL && base[0] == '/' ? base : "/tmp");
    if (mkdtemp(tmpdir) == NULL)
        return -1;
    /* the files a valid configuration names */
    write_file("helper", "#!/bin/sh\nexit 0\n", 0755);
    write_file("users", "alice:+8613800138000:Alice\n", 0644);
    return 0;
}

static int teardown(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof tmp_names / sizeof tmp_names[0]; i++) {
        const char *p = tpath(tmp_names[i]);

        if (unlink(p) < 0)
            rmdir(p);
    }
    return rmdir(tmpdir);
}

/* A new config with what pv_config_validate needs (helper and users file
 * in the test directory, send/verify URLs); not validated here. */
static pv_config *base_config(void)
{
    pv_config *cfg = pv_config_new();
    pv_err err = { "" };

    assert_non_null(cfg);
    assert_int_equal(
        pv_config_set(cfg, "helper", tpath("helper"), "t", 1, &err), 0);
    assert_int_equal(
        pv_config_set(cfg, "users_file", tpath("users"), "t", 1, &err), 0);
    /* the helper user must exist (test_spawn.c, the integration tests) */
    assert_int_equal(pv_config_set(cfg, "helper_user", "root", "t", 1, &err),
                     0);
    assert_int_equal(
        pv_config_set(cfg, "state_dir", tpath("nostate"), "t", 1, &err), 0);
    assert_int_equal(pv_config_set(cfg, "send_url",
                                   "https://sms.example/v1/send", "t", 1,
                                   &err),
                     0);
    assert_int_equal(pv_config_set(cfg, "verify_url",
                                   "https://sms.example/v1/verify", "t", 1,
                                   &err),
                     0);
    return cfg;
}

/* The same, checked to pass pv_config_validate. */
static pv_config *valid_config(void)
{
    pv_config *cfg = base_config();
    pv_err err = { "" };

    if (pv_config_validate(cfg, &err) != 0)
        fail_msg("%s", err.msg);
    return cfg;
}

static int parse(pv_config *cfg, const char *text, pv_err *err)
{
    return pv_config_parse_text(cfg, text, strlen(text), ORIG, err);
}

/* ---------- defaults ---------- */

static void test_defaults(void **state)
{
    pv_config *cfg = pv_config_new();

    (void)state;
    assert_non_null(cfg);
    assert_int_equal(cfg->n_methods, 1);
    assert_int_equal(cfg->methods[0], PV_METHOD_SMS);
    assert_null(cfg->send_url);
    assert_null(cfg->send_auth.header);
    assert_int_equal(cfg->send_target, PV_TARGET_ANY);
    assert_null(cfg->captcha_token);
    assert_null(cfg->verify_url);
    assert_null(cfg->verify_auth.header);
    assert_null(cfg->precheck_url);
    assert_null(cfg->precheck_auth.header);
    assert_null(cfg->precheck_encryption);
    assert_int_equal(cfg->precheck_cache, 86400);
    assert_int_equal(cfg->precheck_unknown_allow, 0);
    assert_null(cfg->numverify_url);
    assert_null(cfg->numverify_licence);
    assert_null(cfg->numverify_partner);
    assert_int_equal(cfg->numverify_wait, 120);
    assert_int_equal(cfg->numverify_poll, 2);
    assert_int_equal(cfg->phone_format, PV_PHONE_SPACED);
    assert_string_equal(cfg->users_file, "/etc/security/phoneverify.users");
    assert_int_equal(cfg->n_lookup, 1);
    assert_int_equal(cfg->lookup[0], PV_LOOKUP_FILE);
    assert_int_equal(cfg->gecos_field, 5);
    assert_null(cfg->lookup_command);
    assert_string_equal(cfg->lookup_command_user, "_phoneverify-lookup");
    assert_null(cfg->groups);
    assert_null(cfg->trusted_rhosts);
    assert_int_equal(cfg->nullok, 0);
    assert_int_equal(cfg->failmode, PV_FAILMODE_SECURE);
    assert_int_equal(cfg->timeout, 10);
    assert_int_equal(cfg->connect_timeout, 5);
    assert_null(cfg->cafile);
    assert_null(cfg->capath);
    assert_null(cfg->pinned_pubkey);
    assert_null(cfg->client_cert);
    assert_null(cfg->client_key);
    assert_null(cfg->proxy);
    assert_int_equal(cfg->max_tries, 3);
    assert_int_equal(cfg->resend, 1);
    assert_int_equal(cfg->code_length, 6);
    assert_int_equal(cfg->lockout_failures, 10);
    assert_int_equal(cfg->lockout_window, 900);
    assert_int_equal(cfg->lockout_time, 900);
    assert_string_equal(cfg->state, "file");
    assert_null(cfg->state_endpoints);
    assert_null(cfg->state_cafile);
    assert_null(cfg->state_client_cert);
    assert_null(cfg->state_client_key);
    assert_string_equal(cfg->state_prefix, "/pam_phoneverify/");
    assert_int_equal(cfg->state_timeout, 2);
    assert_string_equal(cfg->state_dir, "/var/lib/pam_phoneverify");
    assert_int_equal(cfg->send_limit, 10);
    assert_int_equal(cfg->send_window, 3600);
    assert_int_equal(cfg->reuse_code, 1);
    assert_string_equal(cfg->prompt, "Verification code sent to %p: ");
    assert_int_equal(cfg->echo_code, 1);
    assert_null(cfg->breakglass_file);
    assert_int_equal(cfg->debug, 0);
    assert_string_equal(cfg->helper_user, "_phoneverify");
    assert_string_equal(cfg->helper, PV_DEFAULT_HELPER);
    pv_config_free(cfg);
    pv_config_free(NULL);
}

/* ---------- every key parsed ---------- */

static const char all_keys_text[] =
    "methods = numverify, email sms\n"
    "send_url = https://sms.example/v1/send\n"
    "send_auth = bearer:tok-send\n"
    "send_target = NOT_USER\n"
    "captcha_token = cap#tcha\n"
    "verify_url = http://127.0.0.1:8080/verify\n"
    "verify_auth = basic:Aladdin:OpenSesame\n"
    "precheck_url = https://pre.example/check\n"
    "precheck_auth = bearer:tok-pre\n"
    "precheck_encryption = SHA256\n"
    "precheck_cache = 0\n"
    "precheck_unknown = allow\n"
    "numverify_url = https://dqe.example/api\n"
    "numverify_licence = LIC-123\n"
    "numverify_partner = Example Corp\n"
    "numverify_wait = 300\n"
    "numverify_poll = 5\n"
    "phone_format = e164\n"
    "users_file = /etc/phones\n"
    "lookup = gecos command file\n"
    "gecos_field = 5\n"
    "lookup_command = /usr/local/bin/phone-of\n"
    "lookup_command_user = pvlookup\n"
    "groups = staff !robots\n"
    "trusted_rhosts = 10.0.0.0/8 ::1\n"
    "nullok = yes\n"
    "failmode = safe\n"
    "timeout = 300\n"
    "connect_timeout = 60\n"
    "cafile = /etc/ssl/ca.pem\n"
    "pinned_pubkey = sha256//LXEWQrcmsEQBYnyp+6wy9chTD7GQPMTbAiWHF5IaSIE=\n"
    "client_cert = /etc/pv/cert.pem\n"
    "client_key = /etc/pv/key.pem\n"
    "proxy = http://user:pw@proxy.example:3128\n"
    "max_tries = 10\n"
    "resend = 0\n"
    "code_length = 8\n"
    "lockout_failures = 0\n"
    "lockout_window = 604800\n"
    "lockout_time = 1\n"
    "state = etcd\n"
    "state_endpoints = https://10.0.0.5:2379 http://[::1]:2379\n"
    "state_cafile = /etc/pv/etcd-ca.pem\n"
    "state_client_cert = /etc/pv/etcd-cert.pem\n"
    "state_client_key = /etc/pv/etcd-key.pem\n"
    "state_prefix = /pv/site1/\n"
    "state_timeout = 30\n"
    "state_dir = /run/pv\n"
    "send_limit = 1000\n"
    "send_window = 60\n"
    "reuse_code = off\n"
    "prompt = Code for %p:\n"
    "echo_code = false\n"
    "breakglass_file = /etc/security/pv.breakglass\n"
    "debug = 1\n"
    "helper_user = pvhelper\n"
    "helper = /opt/pv/phoneverify-http\n";

static void test_every_key_parsed(void **state)
{
    pv_config *cfg = pv_config_new();
    pv_err err = { "" };

    (void)state;
    if (parse(cfg, all_keys_text, &err) != 0)
        fail_msg("%s", err.msg);
    assert_int_equal(cfg->n_methods, 3);
    assert_int_equal(cfg->methods[0], PV_METHOD_NUMVERIFY);
    assert_int_equal(cfg->methods[1], PV_METHOD_EMAIL);
    assert_int_equal(cfg->methods[2], PV_METHOD_SMS);
    assert_string_equal(cfg->send_url, "https://sms.example/v1/send");
    assert_string_equal(cfg->send_auth.header, "Bearer tok-send");
    assert_int_equal(cfg->send_target, PV_TARGET_NOT_USER);
    assert_string_equal(cfg->captcha_token, "cap#tcha");
    assert_string_equal(cfg->verify_url, "http://127.0.0.1:8080/verify");
    assert_string_equal(cfg->verify_auth.header,
                        "Basic QWxhZGRpbjpPcGVuU2VzYW1l");
    assert_string_equal(cfg->precheck_url, "https://pre.example/check");
    assert_string_equal(cfg->precheck_auth.header, "Bearer tok-pre");
    assert_string_equal(cfg->precheck_encryption, "SHA256");
    assert_int_equal(cfg->precheck_cache, 0);
    assert_int_equal(cfg->precheck_unknown_allow, 1);
    assert_string_equal(cfg->numverify_url, "https://dqe.example/api");
    assert_string_equal(cfg->numverify_licence, "LIC-123");
    assert_string_equal(cfg->numverify_partner, "Example Corp");
    assert_int_equal(cfg->numverify_wait, 300);
    assert_int_equal(cfg->numverify_poll, 5);
    assert_int_equal(cfg->phone_format, PV_PHONE_E164);
    assert_string_equal(cfg->users_file, "/etc/phones");
    assert_int_equal(cfg->n_lookup, 3);
    assert_int_equal(cfg->lookup[0], PV_LOOKUP_GECOS);
    assert_int_equal(cfg->lookup[1], PV_LOOKUP_COMMAND);
    assert_int_equal(cfg->lookup[2], PV_LOOKUP_FILE);
    assert_int_equal(cfg->gecos_field, 5);
    assert_string_equal(cfg->lookup_command, "/usr/local/bin/phone-of");
    assert_string_equal(cfg->lookup_command_user, "pvlookup");
    assert_string_equal(cfg->groups, "staff !robots");
    assert_string_equal(cfg->trusted_rhosts, "10.0.0.0/8 ::1");
    assert_int_equal(cfg->nullok, 1);
    assert_int_equal(cfg->failmode, PV_FAILMODE_SAFE);
    assert_int_equal(cfg->timeout, 300);
    assert_int_equal(cfg->connect_timeout, 60);
    assert_string_equal(cfg->cafile, "/etc/ssl/ca.pem");
    assert_null(cfg->capath); /* refused where set: test_bad_values */
    assert_string_equal(cfg->pinned_pubkey,
                        "sha256//"
                        "LXEWQrcmsEQBYnyp+6wy9chTD7GQPMTbAiWHF5IaSIE=");
    assert_string_equal(cfg->client_cert, "/etc/pv/cert.pem");
    assert_string_equal(cfg->client_key, "/etc/pv/key.pem");
    assert_string_equal(cfg->proxy, "http://user:pw@proxy.example:3128");
    assert_int_equal(cfg->max_tries, 10);
    assert_int_equal(cfg->resend, 0);
    assert_int_equal(cfg->code_length, 8);
    assert_int_equal(cfg->lockout_failures, 0);
    assert_int_equal(cfg->lockout_window, 604800);
    assert_int_equal(cfg->lockout_time, 1);
    assert_string_equal(cfg->state, "etcd");
    assert_string_equal(cfg->state_endpoints,
                        "https://10.0.0.5:2379 http://[::1]:2379");
    assert_string_equal(cfg->state_cafile, "/etc/pv/etcd-ca.pem");
    assert_string_equal(cfg->state_client_cert, "/etc/pv/etcd-cert.pem");
    assert_string_equal(cfg->state_client_key, "/etc/pv/etcd-key.pem");
    assert_string_equal(cfg->state_prefix, "/pv/site1/");
    assert_int_equal(cfg->state_timeout, 30);
    assert_string_equal(cfg->state_dir, "/run/pv");
    assert_int_equal(cfg->send_limit, 1000);
    assert_int_equal(cfg->send_window, 60);
    assert_int_equal(cfg->reuse_code, 0);
    assert_string_equal(cfg->prompt, "Code for %p: ");
    assert_int_equal(cfg->echo_code, 0);
    assert_string_equal(cfg->breakglass_file, "/etc/security/pv.breakglass");
    assert_int_equal(cfg->debug, 1);
    assert_string_equal(cfg->helper_user, "pvhelper");
    assert_string_equal(cfg->helper, "/opt/pv/phoneverify-http");

    /* and an empty value unsets an optional key */
    assert_int_equal(parse(cfg,
                           "captcha_token =\nproxy = \ngroups=\n"
                           "send_url =\ncafile =\n",
                           &err),
                     0);
    assert_null(cfg->captcha_token);
    assert_null(cfg->proxy);
    assert_null(cfg->groups);
    assert_null(cfg->send_url);
    assert_null(cfg->cafile);
    pv_config_free(cfg);
}

static void test_booleans(void **state)
{
    static const char *const yes[] = { "yes", "true", "on", "1", "YES" };
    static const char *const no[] = { "no", "false", "off", "0", "Off" };
    pv_config *cfg = pv_config_new();
    pv_err err = { "" };
    size_t i;

    (void)state;
    for (i = 0; i < 5; i++) {
        assert_int_equal(pv_config_set(cfg, "debug", yes[i], "t", 1, &err), 0);
        assert_int_equal(cfg->debug, 1);
        assert_int_equal(pv_config_set(cfg, "debug", no[i], "t", 1, &err), 0);
        assert_int_equal(cfg->debug, 0);
    }
    pv_config_free(cfg);
}

/* ---------- bad values ---------- */

struct bad {
    const char *key, *value, *needle;
    int secret; /* the value must not appear in the error */
};

static const struct bad bad_values[] = {
    { "methods", "", "at least one", 0 },
    { "methods", "fax", "unknown entry 'fax'", 0 },
    { "methods", "sms email sms", "'sms' is listed twice", 0 },
    { "methods", ", ,", "at least one", 0 },
    { "send_url", "ftp://sms.example/", "must start with https:// (or", 0 },
    { "send_url", "https://", "send_url must start with https://", 0 },
    { "send_url", "https:///x", "send_url has no valid host", 0 },
    { "send_url", "https://h:0/x", "send_url has no valid host", 0 },
    { "send_url", "https://h:65536/x", "send_url has no valid host", 0 },
    { "send_url", "https://:443/x", "send_url has no valid host", 0 },
    { "send_url", "http://sms.example/send",
      "plain http:// is allowed only "
      "to a loopback address",
      0 },
    { "send_url", "http://127.0.0.1.evil.example/", "only to a loopback", 0 },
    { "send_url", "http://localhost:8080/", "only to a loopback", 0 },
    { "send_url", "http://10.0.0.1/", "only to a loopback", 0 },
    { "send_url", "http://[::2]/", "only to a loopback", 0 },
    { "send_url", "http://[::1/", "send_url has no valid host", 0 },
    { "send_url", "https://a.example/x y", "send_url must start with", 0 },
    { "send_url", "https://a.example/\xc3\xa9", "send_url must be a URL", 0 },
    { "send_url", "sms.example/send", "must start with https://", 0 },
    { "send_url", "https://u:SeCrEt@sms.example/send",
      "send_url must not "
      "contain a user or password",
      1 },
    { "send_auth", "", "must be none, bearer:TOKEN or basic:USER:SECRET", 0 },
    { "send_auth", "Zm9vYmFy", "must be none, bearer:TOKEN", 1 },
    { "send_auth", "bearer:", "the token must be non-empty", 0 },
    { "send_auth", "bearer:SeCrEt tok", "send_auth: the token must", 1 },
    { "send_auth", "bearer:SeCrEt\x7f", "control characters", 1 },
    { "send_auth", "basic:SeCrEtuser", "basic needs a user and a secret", 1 },
    { "send_auth", "basic::SeCrEt", "basic needs a user and a secret", 1 },
    { "send_auth", "basic:SeCrEt:", "basic needs a user and a secret", 1 },
    { "send_auth", "basic:us er:SeCrEt", "user and secret must be", 1 },
    { "send_target", "anyone",
      "send_target must be one of ANY, USER, "
      "NOT_USER",
      0 },
    { "send_target", "", "send_target must be one of", 0 },
    { "captcha_token", "SeCrEt token", "captcha_token must be printable", 1 },
    { "verify_url", "http//x.example", "verify_url must start with", 0 },
    { "verify_auth", "Bearer SeCrEt", "verify_auth must be none", 1 },
    { "precheck_url", "file:///etc/passwd", "precheck_url must start", 0 },
    { "precheck_auth", "digest:SeCrEt", "precheck_auth must be none", 1 },
    { "precheck_encryption", "md5 SeCrEt", "precheck_encryption must", 1 },
    { "precheck_cache", "-1",
      "precheck_cache must be an integer from 0 to "
      "2592000",
      0 },
    { "precheck_cache", "2592001", "from 0 to 2592000", 0 },
    { "precheck_cache", "1d", "precheck_cache must be an integer", 0 },
    { "precheck_unknown", "maybe",
      "precheck_unknown must be one of deny, "
      "allow",
      0 },
    { "numverify_url", "https:/dqe.example", "numverify_url must start", 0 },
    { "numverify_licence", "LIC SeCrEt", "numverify_licence must be", 1 },
    { "numverify_partner", "Example\tCorp",
      "numverify_partner must be "
      "printable",
      0 },
    { "numverify_wait", "4",
      "numverify_wait must be an integer from 5 to "
      "900",
      0 },
    { "numverify_wait", "901", "from 5 to 900", 0 },
    { "numverify_poll", "0",
      "numverify_poll must be an integer from 1 to "
      "60",
      0 },
    { "numverify_poll", "61", "from 1 to 60", 0 },
    { "phone_format", "national",
      "phone_format must be one of spaced, "
      "e164",
      0 },
    { "users_file", "etc/phones", "users_file must be an absolute path", 0 },
    { "users_file", "", "users_file must not be empty", 0 },
    { "lookup", "ldap",
      "lookup: unknown entry 'ldap' (expected file, "
      "gecos, command)",
      0 },
    { "lookup", "file,file", "'file' is listed twice", 0 },
    { "lookup", "", "lookup must list at least one", 0 },
    { "gecos_field", "0", "gecos_field must be an integer from 1 to 5", 0 },
    { "gecos_field", "6", "from 1 to 5", 0 },
    { "lookup_command", "bin/phone-of",
      "lookup_command must be an "
      "absolute path",
      0 },
    { "lookup_command_user", "-x", "lookup_command_user must be a user", 0 },
    { "lookup_command_user", "no body", "must be a user name", 0 },
    { "lookup_command_user", "a:b", "must be a user name", 0 },
    { "lookup_command_user", "", "lookup_command_user must not be empty", 0 },
    { "groups", "!", "groups: ", 0 },
    { "groups", "staff !", "groups: ", 0 },
    { "trusted_rhosts", "not-an-address", "trusted_rhosts: ", 0 },
    { "trusted_rhosts", "10.0.0.1 999.1.1.1", "trusted_rhosts: ", 0 },
    { "nullok", "maybe", "nullok must be yes or no", 0 },
    { "failmode", "open", "failmode must be one of secure, safe", 0 },
    { "timeout", "0", "timeout must be an integer from 1 to 300", 0 },
    { "timeout", "301", "timeout must be an integer from 1 to 300", 0 },
    { "timeout", "abc", "timeout must be an integer", 0 },
    { "timeout", "10 # seconds", "timeout must be an integer", 0 },
    { "connect_timeout", "0",
      "connect_timeout must be an integer from 1 "
      "to 60",
      0 },
    { "connect_timeout", "61", "from 1 to 60", 0 },
    { "cafile", "ca.pem", "cafile must be an absolute path", 0 },
    /* refused where it is set, so the error carries file:line */
    { "capath", "/etc/ssl/certs", "capath is not supported", 0 },
    { "pinned_pubkey", "sha256//short=", "pinned_pubkey must be sha256//", 0 },
    { "pinned_pubkey", "md5//LXEWQrcmsEQBYnyp+6wy9chTD7GQPMTbAiWHF5IaSIE=",
      "pinned_pubkey must be", 0 },
    { "pinned_pubkey", "sha256//LXEWQrcmsEQBYnyp+6wy9chTD7GQPMTbAiWHF5IaSIE=;",
      "pinned_pubkey must be", 0 },
    { "client_cert", "cert.pem", "client_cert must be an absolute path", 0 },
    { "client_key", "key.pem", "client_key must be an absolute path", 0 },
    { "proxy", "socks6://SeCrEt@h", "proxy scheme must be http", 1 },
    { "proxy", "http://", "proxy has no host", 0 },
    { "proxy", "http://SeCrEt @h", "proxy must not contain spaces", 1 },
    { "max_tries", "0", "max_tries must be an integer from 1 to 10", 0 },
    { "max_tries", "11", "from 1 to 10", 0 },
    { "resend", "-1", "resend must be an integer from 0 to 5", 0 },
    { "resend", "6", "from 0 to 5", 0 },
    { "code_length", "3", "code_length must be an integer from 4 to 10", 0 },
    { "code_length", "11", "from 4 to 10", 0 },
    { "lockout_failures", "-1",
      "lockout_failures must be an integer from 0 "
      "to 64",
      0 },
    { "lockout_failures", "65", "from 0 to 64", 0 },
    { "lockout_window", "0",
      "lockout_window must be an integer from 1 to "
      "604800",
      0 },
    { "lockout_window", "604801", "from 1 to 604800", 0 },
    { "lockout_time", "0",
      "lockout_time must be an integer from 1 to "
      "604800",
      0 },
    { "lockout_time", "604801", "from 1 to 604800", 0 },
    { "state", "redis://cache.example:6379", "state must be file or etcd", 0 },
    { "state", "ETCD2", "state must be file or etcd", 0 },
    { "state_endpoints", "http://10.0.0.5:2379",
      "state_endpoints: plain "
      "http:// is allowed only to a loopback address",
      0 },
    { "state_endpoints", "https://a:2379 ftp://b",
      "state_endpoints must "
      "start with https://",
      0 },
    { "state_endpoints",
      "https://a https://b https://c https://d https://e "
      "https://f https://g https://h https://i",
      "more than 8 URLs", 0 },
    { "state_cafile", "ca.pem", "state_cafile must be an absolute path", 0 },
    { "state_prefix", "pv/", "state_prefix must start and end with '/'", 0 },
    { "state_prefix", "/pv", "state_prefix must start and end with '/'", 0 },
    { "state_prefix", "", "state_prefix must not be empty", 0 },
    { "state_timeout", "0", "state_timeout must be an integer from 1 to 30",
      0 },
    { "send_limit", "0", "send_limit must be an integer from 1 to 1000", 0 },
    { "send_window", "59",
      "send_window must be an integer from 60 to "
      "604800",
      0 },
    { "helper_user", "a b", "helper_user must be a user name", 0 },
    { "helper_user", "", "helper_user must not be empty", 0 },
    { "state", "", "state must not be empty", 0 },
    { "state_dir", "var/lib/pv", "state_dir must be an absolute path", 0 },
    { "state_dir", "", "state_dir must not be empty", 0 },
    { "reuse_code", "sometimes", "reuse_code must be yes or no", 0 },
    { "prompt", "Code", "prompt must be printable text ending in ': '", 0 },
    { "prompt", "", "prompt must be printable text ending in ': '", 0 },
    { "prompt", "Code %s:", "prompt: the only % sequences are %p and %%", 0 },
    { "prompt", "Code\t%p:", "prompt must be printable text", 0 },
    { "echo_code", "2", "echo_code must be yes or no", 0 },
    { "breakglass_file", "bg", "breakglass_file must be an absolute path", 0 },
    { "debug", "verbose", "debug must be yes or no", 0 },
    { "helper", "phoneverify-http", "helper must be an absolute path", 0 },
    { "helper", "", "helper must not be empty", 0 },
    { "numverify_partner", "Ex\x1b[2Jample",
      "numverify_partner contains "
      "control characters",
      0 },
};

static void test_bad_values(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof bad_values / sizeof bad_values[0]; i++) {
        const struct bad *b = &bad_values[i];
        pv_config *cfg = pv_config_new();
        pv_err err = { "" };
        char text[512];

        assert_non_null(cfg);
        /* a line before (not the same key: that would be a duplicate) */
        int mt = strcmp(b->key, "max_tries") == 0;

        snprintf(text, sizeof text,
                 "# a comment\n\n   \n%s\n%s = %s\nresend = 2\n",
                 mt ? "code_length = 7" : "max_tries = 4", b->key, b->value);
        if (parse(cfg, text, &err) != -1)
            fail_msg("%s = '%s' was accepted", b->key, b->value);
        assert_err_prefix(&err, ORIG ":5: ");
        assert_err(&err, b->needle);
        if (b->secret && strstr(err.msg, "SeCrEt") != NULL)
            fail_msg("error '%s' shows a secret", err.msg);
        /* the lines before were applied, the one after was not */
        if (mt)
            assert_int_equal(cfg->code_length, 7);
        else
            assert_int_equal(cfg->max_tries, 4);
        assert_int_equal(cfg->resend, 1);
        pv_config_free(cfg);
    }
}

static void test_bad_value_keeps_previous(void **state)
{
    pv_config *cfg = pv_config_new();
    pv_err err = { "" };

    (void)state;
    assert_int_equal(parse(cfg,
                           "timeout = 20\nsend_auth = bearer:abc\n"
                           "prompt = Code:\nstate = etcd\n",
                           &err),
                     0);
    assert_int_equal(parse(cfg, "timeout = x\n", &err), -1);
    assert_int_equal(parse(cfg, "send_auth = bearer:\n", &err), -1);
    assert_int_equal(parse(cfg, "prompt = Code\n", &err), -1);
    assert_int_equal(parse(cfg, "state = redis://h\n", &err), -1);
    assert_int_equal(cfg->timeout, 20);
    assert_string_equal(cfg->send_auth.header, "Bearer abc");
    assert_string_equal(cfg->prompt, "Code: ");
    assert_string_equal(cfg->state, "etcd");
    pv_config_free(cfg);
}

static void test_too_long_value(void **state)
{
    pv_config *cfg = pv_config_new();
    pv_err err = { "" };
    char *v = malloc(9000);

    (void)state;
    assert_non_null(v);
    memset(v, 'a', 8999);
    v[8999] = '\0';
    assert_int_equal(pv_config_set(cfg, "numverify_partner", v, ORIG, 7, &err),
                     -1);
    assert_err(&err, ORIG ":7: numverify_partner is longer than 8192 bytes");
    v[8192] = '\0';
    assert_int_equal(pv_config_set(cfg, "numverify_partner", v, ORIG, 7, &err),
                     0);
    assert_int_equal(pv_config_set(cfg, "timeout", NULL, ORIG, 7, &err), -1);
    assert_err(&err, "timeout needs a value");
    free(v);
    pv_config_free(cfg);
}

/* ---------- syntax ---------- */

static void test_unknown_key(void **state)
{
    pv_config *cfg = pv_config_new();
    pv_err err = { "" };

    (void)state;
    assert_int_equal(parse(cfg,
                           "# pam_phoneverify\n\n\n\n\n\n\n\n\n\n\n"
                           "timout = 10\n",
                           &err),
                     -1);
    assert_string_equal(err.msg, ORIG ":12: unknown key 'timout'");
    assert_int_equal(parse(cfg, "Timeout = 10\n", &err), -1);
    assert_string_equal(err.msg, ORIG ":1: unknown key 'Timeout'");
    assert_int_equal(parse(cfg, "conf = /etc/other.conf\n", &err), -1);
    assert_err(&err, ORIG ":1: conf= can only be given in the PAM line");
    assert_int_equal(parse(cfg, "bad\x1bkey = 1\n", &err), -1);
    assert_string_equal(err.msg, ORIG ":1: unknown key 'bad?key'");
    pv_config_free(cfg);
}

static void test_malformed_lines(void **state)
{
    pv_config *cfg = pv_config_new();
    pv_err err = { "" };
    static const char nul_text[] = "timeout = 5\ndeb\0ug = yes\n";

    (void)state;
    assert_int_equal(parse(cfg, "timeout = 5\ntimeout 10\n", &err), -1);
    assert_string_equal(err.msg, ORIG ":2: expected 'key = value'");
    assert_int_equal(parse(cfg, "debug\n", &err), -1);
    assert_string_equal(err.msg, ORIG ":1: expected 'key = value'");
    assert_int_equal(parse(cfg, "\n  = 5\n", &err), -1);
    assert_string_equal(err.msg, ORIG ":2: missing key before '='");
    assert_int_equal(
        pv_config_parse_text(cfg, nul_text, sizeof nul_text - 1, ORIG, &err),
        -1);
    assert_string_equal(err.msg, ORIG ":2: contains a NUL byte");
    /* empty text is an empty configuration */
    assert_int_equal(pv_config_parse_text(cfg, "", 0, ORIG, &err), 0);
    pv_config_free(cfg);
}

static void test_comments_blank_trim(void **state)
{
    pv_config *cfg = pv_config_new();
    pv_err err = { "" };

    (void)state;
    if (parse(cfg,
              "# full-line comment\n"
              "   # indented comment = ignored\n"
              "\t# tab-indented comment\n"
              "\n"
              "   \t  \n"
              "  timeout   =   20  \r\n"
              "\tconnect_timeout\t=\t7\t\n"
              "captcha_token = abc#def\n"
              "send_url=https://sms.example/send#frag\n"
              "precheck_encryption = a=b==\n"
              "numverify_partner =   Example   Corp  \n"
              "methods = sms ,\temail\n"
              "max_tries = 4",
              &err) != 0)
        fail_msg("%s", err.msg);
    assert_int_equal(cfg->timeout, 20);
    assert_int_equal(cfg->connect_timeout, 7);
    assert_string_equal(cfg->captcha_token, "abc#def");
    assert_string_equal(cfg->send_url, "https://sms.example/send#frag");
    assert_string_equal(cfg->precheck_encryption, "a=b==");
    assert_string_equal(cfg->numverify_partner, "Example   Corp");
    assert_int_equal(cfg->n_methods, 2);
    assert_int_equal(cfg->methods[1], PV_METHOD_EMAIL);
    assert_int_equal(cfg->max_tries, 4); /* last line, no newline */
    pv_config_free(cfg);
}

/* SPEC 3: a key given twice in the file is an error naming both lines
 * (which value did the administrator mean?). */
static void test_key_twice_refused(void **state)
{
    static const struct {
        const char *text, *needle;
    } cases[] = {
        { "captcha_token = one\ncaptcha_token = two\n",
          ORIG ":2: captcha_token is given twice (first on line 1)" },
        { "timeout = 11\n# comment\n\ntimeout = 11\n",
          ORIG ":4: timeout is given twice (first on line 1)" },
        { "methods = email\nusers_file = /a\nmethods = sms\n",
          ORIG ":3: methods is given twice (first on line 1)" },
        { "send_auth = bearer:one\nsend_auth = basic:u:p\n",
          ORIG ":2: send_auth is given twice" },
        { "failmode = secure\n  failmode=safe\n",
          ORIG ":2: failmode is given twice" },
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        pv_config *cfg = pv_config_new();
        pv_err err = { "" };

        assert_int_equal(parse(cfg, cases[i].text, &err), -1);
        assert_err(&err, cases[i].needle);
        pv_config_free(cfg);
    }
}

static void test_lists_and_words(void **state)
{
    pv_config *cfg = pv_config_new();
    pv_err err = { "" };

    (void)state;
    assert_int_equal(parse(cfg,
                           "methods = Email,SMS\nlookup = command\n"
                           "send_target = user\nfailmode = SAFE\n"
                           "phone_format = E164\n"
                           "precheck_unknown = Deny\n",
                           &err),
                     0);
    assert_int_equal(cfg->n_methods, 2);
    assert_int_equal(cfg->methods[0], PV_METHOD_EMAIL);
    assert_int_equal(cfg->methods[1], PV_METHOD_SMS);
    assert_int_equal(cfg->n_lookup, 1);
    assert_int_equal(cfg->lookup[0], PV_LOOKUP_COMMAND);
    assert_int_equal(cfg->send_target, PV_TARGET_USER);
    assert_int_equal(cfg->failmode, PV_FAILMODE_SAFE);
    assert_int_equal(cfg->phone_format, PV_PHONE_E164);
    assert_int_equal(cfg->precheck_unknown_allow, 0);
    assert_string_equal(pv_method_name(PV_METHOD_SMS), "sms");
    assert_string_equal(pv_method_name(PV_METHOD_EMAIL), "email");
    assert_string_equal(pv_method_name(PV_METHOD_NUMVERIFY), "numverify");
    pv_config_free(cfg);
}

static void test_state_and_pin_forms(void **state)
{
    static const char *const states[] = { "file", "etcd" };
    static const char *const urls[] = {
        "https://sms.example",        "https://sms.example:8443/v1/send?x=1#f",
        "http://127.0.0.1:8080/send", "http://127.255.0.9/x",
        "http://[::1]:8080/x",        "https://[2001:db8::1]:443/",
        "https://10.0.0.5:2379",
    };
    static const char *const pins[] = {
        "sha256//LXEWQrcmsEQBYnyp+6wy9chTD7GQPMTbAiWHF5IaSIE=",
        ("sha256//LXEWQrcmsEQBYnyp+6wy9chTD7GQPMTbAiWHF5IaSIE=;"
         "sha256//YhKJKSzoTt2b5FP18fvpHo7fJYqQCjAa3HWY3tvRMwE="),
        "/etc/pv/provider.pub.pem",
    };
    pv_config *cfg = pv_config_new();
    pv_err err = { "" };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof states / sizeof states[0]; i++)
        if (pv_config_set(cfg, "state", states[i], ORIG, 1, &err) != 0)
            fail_msg("%s: %s", states[i], err.msg);
    for (i = 0; i < sizeof urls / sizeof urls[0]; i++)
        if (pv_config_set(cfg, "send_url", urls[i], ORIG, 1, &err) != 0 ||
            pv_config_set(cfg, "state_endpoints", urls[i], ORIG, 1, &err) != 0)
            fail_msg("%s: %s", urls[i], err.msg);
    for (i = 0; i < sizeof pins / sizeof pins[0]; i++)
        if (pv_config_set(cfg, "pinned_pubkey", pins[i], ORIG, 1, &err) != 0)
            fail_msg("%s: %s", pins[i], err.msg);
    assert_int_equal(
        pv_config_set(cfg, "proxy", "proxy.example:3128", ORIG, 1, &err), 0);
    assert_int_equal(
        pv_config_set(cfg, "proxy", "socks5h://10.0.0.1:1080", ORIG, 1, &err),
        0);
    pv_config_free(cfg);
}

static void test_prompt(void **state)
{
    pv_config *cfg = pv_config_new();
    pv_err err = { "" };

    (void)state;
    assert_int_equal(pv_config_set(cfg, "prompt", "Code:", "t", 1, &err), 0);
    assert_string_equal(cfg->prompt, "Code: ");
    assert_int_equal(pv_config_set(cfg, "prompt", "SMS code sent to %p: ",
                                   "argument", 0, &err),
                     0);
    assert_string_equal(cfg->prompt, "SMS code sent to %p: ");
    assert_int_equal(pv_config_set(cfg, "prompt", "Code:   ", "t", 1, &err),
                     0);
    assert_string_equal(cfg->prompt, "Code: ");
    assert_int_equal(pv_config_set(cfg, "prompt", "Code: x", "t", 1, &err),
                     -1);
    assert_int_equal(pv_config_set(cfg, "prompt", "100%:", "t", 1, &err), -1);
    assert_int_equal(pv_config_set(cfg, "prompt", "%", "t", 1, &err), -1);
    assert_string_equal(cfg->prompt, "Code: ");
    assert_int_equal(pv_config_set(cfg, "prompt", "100%% sure:", "t", 1, &err),
                     0);
    assert_string_equal(cfg->prompt, "100%% sure: ");
    pv_config_free(cfg);
}

/* ---------- authorization headers ---------- */

static void test_auth_headers(void **state)
{
    pv_config *cfg = pv_config_new();
    pv_err err = { "" };

    (void)state;
    assert_int_equal(
        pv_config_set(cfg, "send_auth", "bearer:abc.DEF-123_~", "t", 1, &err),
        0);
    assert_string_equal(cfg->send_auth.header, "Bearer abc.DEF-123_~");
    /* RFC 7617's example user with a space-free password */
    assert_int_equal(pv_config_set(cfg, "verify_auth",
                                   "basic:Aladdin:OpenSesame", "t", 1, &err),
                     0);
    assert_string_equal(cfg->verify_auth.header,
                        "Basic QWxhZGRpbjpPcGVuU2VzYW1l");
    /* the secret may contain ':' and '#'; the user ends at the first ':' */
    assert_int_equal(pv_config_set(cfg, "precheck_auth", "basic:api:s3cr:t#x",
                                   "t", 1, &err),
                     0);
    assert_string_equal(cfg->precheck_auth.header, "Basic YXBpOnMzY3I6dCN4");
    /* scheme words are case-insensitive */
    assert_int_equal(
        pv_config_set(cfg, "send_auth", "Bearer:tok", "t", 1, &err), 0);
    assert_string_equal(cfg->send_auth.header, "Bearer tok");
    assert_int_equal(pv_config_set(cfg, "send_auth", "none", "t", 1, &err), 0);
    assert_null(cfg->send_auth.header);
    assert_int_equal(pv_config_set(cfg, "send_auth", "NONE", "t", 1, &err), 0);
    assert_null(cfg->send_auth.header);
    /* padding lengths 0, 1, 2 */
    assert_int_equal(
        pv_config_set(cfg, "send_auth", "basic:ab:c", "t", 1, &err), 0);
    assert_string_equal(cfg->send_auth.header, "Basic YWI6Yw==");
    assert_int_equal(
        pv_config_set(cfg, "send_auth", "basic:ab:cd", "t", 1, &err), 0);
    assert_string_equal(cfg->send_auth.header, "Basic YWI6Y2Q=");
    assert_int_equal(
        pv_config_set(cfg, "send_auth", "basic:ab:cde", "t", 1, &err), 0);
    assert_string_equal(cfg->send_auth.header, "Basic YWI6Y2Rl");
    pv_config_free(cfg);
}

/* ---------- PAM-line arguments ---------- */

static void write_conf(const char *name, const char *extra, mode_t mode)
{
    char text[2048];

    snprintf(text, sizeof text,
             "helper = %s\nhelper_user = root\n"
             "users_file = %s\nstate_dir = %s\n"
             "send_url = https://sms.example/send\n"
             "verify_url = https://sms.example/verify\n"
             "timeout = 20\nfailmode = secure\n%s",
             tpath("helper"), tpath("users"), tpath("nostate"), extra);
    write_file(name, text, mode);
}

static char conf_arg[600];

static const char *conf_of(const char *name)
{
    snprintf(conf_arg, sizeof conf_arg, "conf=%s", tpath(name));
    return conf_arg;
}

static void test_args_override_file(void **state)
{
    pv_config *cfg = NULL;
    pv_err err = { "" };
    const char *argv[3];

    (void)state;
    write_conf("conf", "send_auth = bearer:from-file\n", 0600);
    argv[0] = conf_of("conf");
    argv[1] = "failmode=safe";
    argv[2] = "max_tries=5";
    if (pv_config_from_args(3, argv, &cfg, &err) != 0)
        fail_msg("%s", err.msg);
    assert_int_equal(cfg->failmode, PV_FAILMODE_SAFE);
    assert_int_equal(cfg->max_tries, 5);
    assert_int_equal(cfg->timeout, 20); /* from the file */
    assert_string_equal(cfg->send_auth.header, "Bearer from-file");
    pv_config_free(cfg);
}

/* SPEC 3: the secret-bearing keys are refused in the PAM line (files under
 * /etc/pam.d are world-readable), and the secret is never echoed. */
static void test_secrets_refused_in_pam_line(void **state)
{
    static const char *const args[] = {
        "send_auth=bearer:SeCrEt",
        "verify_auth=basic:u:SeCrEt",
        "precheck_auth=bearer:SeCrEt",
        "numverify_licence=SeCrEt",
        "captcha_token=SeCrEt",
        "state_client_key=/etc/pv/SeCrEt.pem",
        "send_auth=none",
    };
    size_t i;

    (void)state;
    write_conf("conf", "", 0600);
    for (i = 0; i < sizeof args / sizeof args[0]; i++) {
        pv_config *cfg = NULL;
        pv_err err = { "" };
        const char *argv[2] = { conf_of("conf"), args[i] };

        assert_int_equal(pv_config_from_args(2, argv, &cfg, &err), -1);
        assert_null(cfg);
        assert_err(&err, "holds a secret and is accepted only in the "
                         "configuration file");
        if (strstr(err.msg, "SeCrEt") != NULL)
            fail_msg("error '%s' shows a secret", err.msg);
    }
}

/* A key given twice in the PAM line is refused too. */
static void test_arg_twice_refused(void **state)
{
    pv_config *cfg = NULL;
    pv_err err = { "" };
    const char *argv[3];

    (void)state;
    write_conf("conf", "", 0600);
    argv[0] = conf_of("conf");
    argv[1] = "failmode=safe";
    argv[2] = "failmode=secure";
    assert_int_equal(pv_config_from_args(3, argv, &cfg, &err), -1);
    assert_err(&err, "argument 'failmode': given more than once");
}

static void test_conf_read_first(void **state)
{
    pv_config *cfg = NULL;
    pv_err err = { "" };
    const char *argv[3];

    (void)state;
    write_conf("conf", "", 0600);
    /* conf= comes last but is read first, so the file's timeout = 20
     * does not override the argument */
    argv[0] = "timeout=30";
    argv[1] = "prompt=Enter the code: "; /* PAM's [...] form keeps spaces */
    argv[2] = conf_of("conf");
    if (pv_config_from_args(3, argv, &cfg, &err) != 0)
        fail_msg("%s", err.msg);
    assert_int_equal(cfg->timeout, 30);
    assert_string_equal(cfg->prompt, "Enter the code: ");
    pv_config_free(cfg);
}

static void test_bare_flags(void **state)
{
    pv_config *cfg = NULL;
    pv_err err = { "" };
    const char *argv[4];

    (void)state;
    write_conf("conf", "", 0600);
    argv[0] = "debug";
    argv[1] = conf_of("conf");
    argv[2] = "nullok";
    if (pv_config_from_args(3, argv, &cfg, &err) != 0)
        fail_msg("%s", err.msg);
    assert_int_equal(cfg->debug, 1);
    assert_int_equal(cfg->nullok, 1);
    pv_config_free(cfg);
    argv[3] = "debug=no"; /* contradicts the bare flag: refused */
    assert_int_equal(pv_config_from_args(4, argv, &cfg, &err), -1);
    assert_err(&err, "argument 'debug': given more than once");
}

static void expect_args_error(int argc, const char **argv, const char *needle,
                              const char *absent)
{
    pv_config *cfg = (pv_config *)&cfg; /* must be reset to NULL */
    pv_err err = { "" };

    assert_int_equal(pv_config_from_args(argc, argv, &cfg, &err), -1);
    assert_null(cfg);
    assert_err(&err, needle);
    if (absent != NULL && strstr(err.msg, absent) != NULL)
        fail_msg("error '%s' shows '%s'", err.msg, absent);
}

static void test_arg_errors(void **state)
{
    const char *argv[3];

    (void)state;
    write_conf("conf", "", 0600);
    argv[0] = conf_of("conf");
    argv[1] = "timeout=abc";
    expect_args_error(2, argv,
                      "argument 'timeout=abc': timeout must be an "
                      "integer from 1 to 300",
                      NULL);
    argv[1] = "send_auth=bearer:SeCrEt tok";
    expect_args_error(2, argv,
                      "argument 'send_auth': send_auth holds a "
                      "secret",
                      "SeCrEt");
    argv[1] = "sendauth=bearer:SeCrEt";
    expect_args_error(2, argv, "argument 'sendauth': unknown key 'sendauth'",
                      "SeCrEt");
    argv[1] = "degub";
    expect_args_error(2, argv, "argument 'degub': unknown option", NULL);
    argv[1] = "bearer:SeCrEt";
    expect_args_error(2, argv, "unknown option", "SeCrEt");
    argv[1] = "=x";
    expect_args_error(2, argv, "missing key before '='", NULL);
    argv[1] = "";
    expect_args_error(2, argv, "empty module argument", NULL);
    argv[1] = "conf=relative.conf";
    expect_args_error(1, argv + 1, "conf= needs an absolute path", NULL);
    argv[1] = "conf=";
    expect_args_error(1, argv + 1, "conf= needs an absolute path", NULL);
    argv[1] = argv[0];
    expect_args_error(2, argv, "conf= is given more than once", NULL);
    argv[1] = "aVeryLongKeyNameThatIsLongerThanAnyKeyTheModuleKnowsAboutAtAll"
              "AndMore=1";
    expect_args_error(2, argv, "unknown key", NULL);
    /* an argument error wins even with a valid file */
    argv[1] = "methods=numverify";
    expect_args_error(2, argv,
                      "methods includes numverify but "
                      "numverify_url is not set",
                      NULL);
}

/* ---------- file permissions ---------- */

static void test_conf_file_refusals(void **state)
{
    const char *argv[1];
    char target[512];

    (void)state;
    argv[0] = conf_of("conf");

    write_conf("conf", "", 0644);
    expect_args_error(1, argv, ": is readable by others", NULL);
    write_conf("conf", "", 0604);
    expect_args_error(1, argv, ": is readable by others", NULL);
    write_conf("conf", "", 0660);
    expect_args_error(1, argv, ": is writable by group or others", NULL);
    write_conf("conf", "", 0602);
    expect_args_error(1, argv, ": is writable by group or others", NULL);

    write_conf("conf2", "", 0600);
    snprintf(target, sizeof target, "%s", tpath("conf2"));
    assert_int_equal(symlink(target, tpath("link")), 0);
    argv[0] = conf_of("link");
    expect_args_error(1, argv, "link: is a symbolic link", NULL);

    assert_int_equal(mkfifo(tpath("fifo"), 0600), 0);
    argv[0] = conf_of("fifo");
    alarm(10);
    expect_args_error(1, argv, "fifo: is a FIFO", NULL);
    alarm(0);

    assert_int_equal(mkdir(tpath("capath"), 0700), 0);
    argv[0] = conf_of("capath");
    expect_args_error(1, argv, "capath: is a directory", NULL);

    argv[0] = conf_of("absent");
    expect_args_error(1, argv, "absent: does not exist", NULL);

    /* group-readable is fine: root:somegroup 0640 */
    write_conf("conf", "", 0640);
    argv[0] = conf_of("conf");
    {
        pv_config *cfg = NULL;
        pv_err err = { "" };

        if (pv_config_from_args(1, argv, &cfg, &err) != 0)
            fail_msg("%s", err.msg);
        pv_config_free(cfg);
    }
    if (geteuid() == 0) {
        assert_int_equal(chown(tpath("conf"), NOBODY_UID, NOBODY_UID), 0);
        expect_args_error(1, argv, "is owned by uid 65534, not by root", NULL);
    }
}

static void test_load_file_line_numbers(void **state)
{
    pv_config *cfg = pv_config_new();
    pv_err err = { "" };
    char expect[600];

    (void)state;
    write_file("conf", "# x\ntimeout = 5\nresend = 9\n", 0600);
    assert_int_equal(pv_config_load_file(cfg, tpath("conf"), &err), -1);
    snprintf(expect, sizeof expect,
             "%s:3: resend must be an integer from 0 "
             "to 5",
             tpath("conf"));
    assert_string_equal(err.msg, expect);
    assert_int_equal(cfg->timeout, 5);
    assert_int_equal(pv_config_load_file(cfg, tpath("absent"), &err), -1);
    assert_err(&err, "does not exist");
    pv_config_free(cfg);
}

/* Without conf= the default file is read, and its absence is no error. */
static void test_missing_default_conf(void **state)
{
    pv_config *cfg = NULL;
    pv_err err = { "" };
    const char *argv[6];
    char a0[600], a1[600], a2[600];
    struct stat st;

    (void)state;
    if (lstat(PV_DEFAULT_CONF, &st) == 0 || errno != ENOENT)
        skip(); /* this host has a real configuration */
    snprintf(a0, sizeof a0, "helper=%s", tpath("helper"));
    snprintf(a1, sizeof a1, "users_file=%s", tpath("users"));
    snprintf(a2, sizeof a2, "state_dir=%s", tpath("nostate"));
    argv[0] = a0;
    argv[1] = a1;
    argv[2] = a2;
    argv[3] = "send_url=https://sms.example/send";
    argv[4] = "verify_url=https://sms.example/verify";
    argv[5] = "helper_user=root";
    if (pv_config_from_args(6, argv, &cfg, &err) != 0)
        fail_msg("%s", err.msg);
    assert_int_equal(cfg->timeout, 10);
    pv_config_free(cfg);
    /* ...but then nothing says where to send codes */
    expect_args_error(3, argv, "send_url is not set", NULL);
}

/* ---------- validation ---------- */

static void expect_invalid(pv_config *cfg, const char *text,
                           const char *needle)
{
    pv_err err = { "" };

    if (parse(cfg, text, &err) != 0)
        fail_msg("%s", err.msg);
    assert_int_equal(pv_config_validate(cfg, &err), -1);
    assert_err(&err, needle);
    pv_config_free(cfg);
}

static void test_validate_keys(void **state)
{
    pv_err err = { "" };
    pv_config *cfg;

    (void)state;
    expect_invalid(valid_config(), "send_url =\n",
                   "methods includes sms but send_url is not set");
    expect_invalid(valid_config(), "verify_url =\n",
                   "methods includes sms but verify_url is not set");
    expect_invalid(valid_config(), "methods = email\nsend_url =\n",
                   "methods includes email but send_url is not set");
    expect_invalid(valid_config(), "methods = sms numverify\n",
                   "methods includes numverify but numverify_url is not set");
    expect_invalid(valid_config(),
                   "methods = numverify\n"
                   "numverify_url = https://dqe.example\n",
                   "numverify_licence is not set");
    expect_invalid(valid_config(),
                   "methods = numverify\n"
                   "numverify_url = https://dqe.example\n"
                   "numverify_licence = L\n",
                   "numverify_partner is not set");
    expect_invalid(valid_config(), "lookup = file command\n",
                   "lookup includes command but lookup_command is not set");
    expect_invalid(valid_config(), "client_key = /etc/pv/key.pem\n",
                   "client_key is set but client_cert is not set");
    expect_invalid(valid_config(), "state = etcd\n",
                   "state is etcd but state_endpoints is not set");
    expect_invalid(valid_config(), "state_endpoints = https://e:2379\n",
                   "are set but state is not etcd");
    expect_invalid(valid_config(),
                   "state = etcd\n"
                   "state_endpoints = https://e:2379\n"
                   "state_client_key = /etc/pv/k.pem\n",
                   "state_client_key is set but state_client_cert is not set");
    expect_invalid(valid_config(),
                   "state = etcd\n"
                   "state_endpoints = https://e:2379\n"
                   "state_client_cert = /etc/pv/c.pem\n",
                   "state_client_cert is set but state_client_key is not set");

    /* numverify alone needs no send/verify URLs */
    cfg = valid_config();
    assert_int_equal(parse(cfg,
                           "methods = numverify\nsend_url=\n"
                           "verify_url=\n"
                           "numverify_url = https://dqe.example\n"
                           "numverify_licence = L\n"
                           "numverify_partner = P\n",
                           &err),
                     0);
    if (pv_config_validate(cfg, &err) != 0)
        fail_msg("%s", err.msg);
    pv_config_free(cfg);
    assert_int_equal(pv_config_validate(NULL, &err), -1);
}

/* CHFN_RESTRICT (login.defs) -> the GECOS fields users may change. */
static void test_chfn_fields(void **state)
{
    static const struct {
        const char *text;
        unsigned fields;
    } cases[] = {
        { "CHFN_RESTRICT\t\trwh\n", 1u << 2 | 1u << 3 | 1u << 4 },
        { "# CHFN_RESTRICT frwh\nCHFN_RESTRICT w\n", 1u << 3 },
        { "CHFN_RESTRICT yes\n", 1u << 2 | 1u << 3 | 1u << 4 },
        { "CHFN_RESTRICT no", 1u << 1 | 1u << 2 | 1u << 3 | 1u << 4 },
        { "CHFN_RESTRICT frwh\nCHFN_RESTRICT f\n", 1u << 1 },
        { "  CHFN_RESTRICT h\r\n", 1u << 4 },
        { "CHFN_RESTRICTED rwh\nUMASK 022\n", 0 },
        { "", 0 },
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (pv_config_chfn_fields(cases[i].text, strlen(cases[i].text)) !=
            cases[i].fields)
            fail_msg(
                "'%s': got %#x, want %#x", cases[i].text,
                pv_config_chfn_fields(cases[i].text, strlen(cases[i].text)),
                cases[i].fields);
}

/* SPEC 3: with Debian's CHFN_RESTRICT rwh, gecos_field 2-4 would let a
 * user redirect their own codes: a configuration error. */
static void test_gecos_field_users_can_change(void **state)
{
    char *defs = NULL;
    size_t len = 0;
    FILE *f = fopen("/etc/login.defs", "r");
    unsigned fields;
    long field;

    (void)state;
    if (f == NULL)
        skip();
    defs = calloc(1, 256 * 1024);
    assert_non_null(defs);
    len = fread(defs, 1, 256 * 1024 - 1, f);
    fclose(f);
    fields = pv_config_chfn_fields(defs, len);
    free(defs);
    for (field = 1; field <= 5; field++) {
        pv_config *cfg = valid_config();
        pv_err err = { "" };
        char text[64];
        int r;

        snprintf(text, sizeof text,
                 "lookup = file gecos\n"
                 "gecos_field = %ld\n",
                 field);
        assert_int_equal(parse(cfg, text, &err), 0);
        r = pv_config_validate(cfg, &err);
        if (fields & (1u << field)) {
            assert_int_equal(r, -1);
            assert_err(&err, "users may change that GECOS field with chfn");
        } else if (r != 0) {
            fail_msg("gecos_field %ld: %s", field, err.msg);
        }
        pv_config_free(cfg);
    }
}

static void test_validate_files(void **state)
{
    pv_err err = { "" };
    pv_config *cfg;
    char text[1024];

    (void)state;
    expect_invalid(valid_config(), "users_file = /nonexistent/phoneverify\n",
                   "users_file: /nonexistent/phoneverify: does not exist");
    /* with no file lookup the users file is not needed */
    cfg = valid_config();
    assert_int_equal(parse(cfg,
                           "users_file = /nonexistent/x\n"
                           "lookup = gecos\n",
                           &err),
                     0);
    assert_int_equal(pv_config_validate(cfg, &err), 0);
    pv_config_free(cfg);

    write_file("users", "a:+1 5550100\n", 0664);
    expect_invalid(base_config(), "", "users_file: ");
    expect_invalid(base_config(), "", "is writable by group or others");
    write_file("users", "a:+1 5550100\n", 0644);

    write_file("noexec", "#!/bin/sh\n", 0644);
    snprintf(text, sizeof text, "lookup = command\nlookup_command = %s\n",
             tpath("noexec"));
    expect_invalid(valid_config(), text, "lookup_command: ");
    expect_invalid(valid_config(), text, "noexec: is not executable");
    snprintf(text, sizeof text, "helper = %s\n", tpath("noexec"));
    expect_invalid(valid_config(), text, "helper: ");
    expect_invalid(valid_config(), "helper = /nonexistent/helper\n",
                   "helper: /nonexistent/helper: does not exist");

    write_file("ca.pem", "CA", 0646);
    snprintf(text, sizeof text, "cafile = %s\n", tpath("ca.pem"));
    expect_invalid(valid_config(), text, "cafile: ");
    write_file("cert.pem", "CERT", 0644);
    write_file("key.pem", "KEY", 0644);
    snprintf(text, sizeof text, "client_cert = %s\nclient_key = %s\n",
             tpath("cert.pem"), tpath("key.pem"));
    expect_invalid(valid_config(), text, "client_key: " /* PATH */);
    expect_invalid(valid_config(), text, "is readable by others");
    write_file("breakglass", "root:$6$x\n", 0644);
    snprintf(text, sizeof text, "breakglass_file = %s\n", tpath("breakglass"));
    expect_invalid(valid_config(), text, "breakglass_file: ");
    snprintf(text, sizeof text, "capath = %s\n", tpath("capath"));
    cfg = valid_config();
    assert_int_equal(parse(cfg, text, &err), -1);
    assert_err_prefix(&err, ORIG ":1: capath is not supported");
    pv_config_free(cfg);
    expect_invalid(valid_config(), "pinned_pubkey = /nonexistent/pin.pem\n",
                   "pinned_pubkey: /nonexistent/pin.pem: does not exist");
    /* state_dir: checked when it exists (it is created when missing) */
    assert_int_equal(mkdir(tpath("state"), 0700), 0);
    assert_int_equal(chmod(tpath("state"), 0777), 0);
    snprintf(text, sizeof text, "state_dir = %s\n", tpath("state"));
    expect_invalid(valid_config(), text, "state_dir: ");
    expect_invalid(valid_config(), text, "is writable by group or others");
    assert_int_equal(chmod(tpath("state"), 0700), 0);
    snprintf(text, sizeof text, "state_dir = %s\n", tpath("state/sub"));
    cfg = valid_config();
    assert_int_equal(parse(cfg, text, &err), 0);
    assert_int_equal(pv_config_validate(cfg, &err), 0);
    pv_config_free(cfg);

    /* and all of them right */
    write_file("key.pem", "KEY", 0600);
    write_file("breakglass", "root:$6$x\n", 0600);
    write_file("ca.pem", "CA", 0644);
    write_file("pin.pem", "PIN", 0644);
    write_file("lookup", "#!/bin/sh\n", 0755);
    assert_int_equal(mkdir(tpath("capath"), 0755), 0);
    cfg = valid_config();
    snprintf(text, sizeof text,
             "cafile = %s\nclient_cert = %s\nclient_key = %s\n"
             "breakglass_file = %s\npinned_pubkey = %s\n"
             "lookup = file gecos command\nlookup_command = %s\n"
             "lookup_command_user = root\n",
             tpath("ca.pem"), tpath("cert.pem"), tpath("key.pem"),
             tpath("breakglass"), tpath("pin.pem"), tpath("lookup"));
    if (parse(cfg, text, &err) != 0)
        fail_msg("%s", err.msg);
    if (pv_config_validate(cfg, &err) != 0)
        fail_msg("%s", err.msg);
    pv_config_free(cfg);
}

/* ---------- dump ---------- */

struct lines {
    char *text[64];
    size_t n;
};

static void collect(void *ctx, const char *text)
{
    struct lines *l = ctx;

    assert_true(l->n < 64);
    l->text[l->n] = strdup(text);
    assert_non_null(l->text[l->n]);
    l->n++;
}

static void free_lines(struct lines *l)
{
    size_t i;

    for (i = 0; i < l->n; i++)
        free(l->text[i]);
    l->n = 0;
}

static void test_dump(void **state)
{
    pv_config *cfg = pv_config_new();
    pv_err err = { "" };
    struct lines l = { { NULL }, 0 };
    size_t i;

    (void)state;
    assert_int_equal(parse(cfg,
                           "send_auth = bearer:TOPSECRETTOKEN\n"
                           "verify_auth = basic:user:TOPSECRETPW\n"
                           "captcha_token = TOPSECRETCAPTCHA\n"
                           "numverify_licence = TOPSECRETLIC\n"
                           "proxy = http://u:TOPSECRETPROXY@p:3128\n"
                           "precheck_encryption = TOPSECRETENC\n"
                           "methods = sms email\n"
                           "send_url = https://sms.example/send\n",
                           &err),
                     0);
    pv_config_dump(cfg, collect, &l);
    assert_int_equal(l.n, N_SPEC_KEYS);
    for (i = 0; i < l.n; i++) {
        size_t k = strlen(spec_keys[i]);

        if (strncmp(l.text[i], spec_keys[i], k) != 0 ||
            strncmp(l.text[i] + k, " = ", 3) != 0)
            fail_msg("line %zu '%s', expected key %s", i, l.text[i],
                     spec_keys[i]);
        if (strstr(l.text[i], "TOPSECRET") != NULL ||
            strstr(l.text[i], "dXNlcjpUT1BTRUNSRVRQVw") != NULL)
            fail_msg("dump shows a secret: '%s'", l.text[i]);
    }
    assert_string_equal(l.text[0], "methods = sms email");
    assert_string_equal(l.text[1], "send_url = https://sms.example/send");
    assert_string_equal(l.text[2], "send_auth = (set)");
    assert_string_equal(l.text[3], "send_target = ANY");
    assert_string_equal(l.text[4], "captcha_token = (set)");
    assert_string_equal(l.text[6], "verify_auth = (set)");
    assert_string_equal(l.text[8], "precheck_auth = (not set)");
    assert_string_equal(l.text[9], "precheck_encryption = (set)");
    assert_string_equal(l.text[10], "precheck_cache = 86400");
    assert_string_equal(l.text[11], "precheck_unknown = deny");
    assert_string_equal(l.text[13], "numverify_licence = (set)");
    assert_string_equal(l.text[19], "lookup = file");
    assert_string_equal(l.text[25], "nullok = no");
    assert_string_equal(l.text[26], "failmode = secure");
    assert_string_equal(l.text[34], "proxy = (set)");
    assert_string_equal(l.text[56], "prompt = Verification code sent to %p: ");
    free_lines(&l);

    assert_int_equal(parse(cfg, "proxy =\ncaptcha_token=\n", &err), 0);
    pv_config_dump(cfg, collect, &l);
    assert_string_equal(l.text[4], "captcha_token = (not set)");
    assert_string_equal(l.text[34], "proxy = (not set)");
    free_lines(&l);
    pv_config_dump(NULL, collect, &l);
    assert_int_equal(l.n, 0);
    pv_config_free(cfg);
}

/* The file values reappear in the dump (round trip for non-secrets). */
static void test_dump_round_trip(void **state)
{
    pv_config *a = pv_config_new(), *b = pv_config_new();
    pv_err err = { "" };
    struct lines la = { { NULL }, 0 }, lb = { { NULL }, 0 };
    char text[8192];
    size_t i, o = 0;

    (void)state;
    assert_int_equal(parse(a, all_keys_text, &err), 0);
    pv_config_dump(a, collect, &la);
    for (i = 0; i < la.n; i++)
        if (strstr(la.text[i], "(set)") == NULL)
            o += (size_t)snprintf(text + o, sizeof text - o, "%s\n",
                                  la.text[i]);
    if (parse(b, text, &err) != 0)
        fail_msg("%s", err.msg);
    pv_config_dump(b, collect, &lb);
    assert_int_equal(la.n, lb.n);
    for (i = 0; i < la.n; i++)
        if (strstr(la.text[i], "(set)") == NULL)
            assert_string_equal(la.text[i], lb.text[i]);
    free_lines(&la);
    free_lines(&lb);
    pv_config_free(a);
    pv_config_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_key_parsed, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_booleans, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_value_keeps_previous, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_too_long_value, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_lines, setup, teardown),
        cmocka_unit_test_setup_teardown(test_comments_blank_trim, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_key_twice_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_lists_and_words, setup, teardown),
        cmocka_unit_test_setup_teardown(test_state_and_pin_forms, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_prompt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_auth_headers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_args_override_file, setup,
                                        teardown),
        cmocka_unit_test(test_chfn_fields),
        cmocka_unit_test_setup_teardown(test_gecos_field_users_can_change,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_secrets_refused_in_pam_line,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_arg_twice_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_conf_read_first, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bare_flags, setup, teardown),
        cmocka_unit_test_setup_teardown(test_arg_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_conf_file_refusals, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_load_file_line_numbers, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_missing_default_conf, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_validate_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_validate_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dump, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dump_round_trip, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
