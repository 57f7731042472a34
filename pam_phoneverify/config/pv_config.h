/* pv_config.h - the module's configuration (pam_phoneverify.conf(5)).
 *
 * Parsed once per login into a struct that is passed explicitly; nothing
 * global.  The file named by conf= (default PV_DEFAULT_CONF) is read first,
 * then PAM-line arguments go through the same setter, so a PAM-line
 * key=value overrides the file.  Every error names its origin
 * ("FILE:LINE: ..." or "argument 'x=y': ..."). */
#ifndef PV_CONFIG_H
#define PV_CONFIG_H

#include <stddef.h>
#include "base/pv_err.h"
#include "config/pv_config_values.h"

#ifndef PV_DEFAULT_CONF
#define PV_DEFAULT_CONF "/etc/security/pam_phoneverify.conf"
#endif
#ifndef PV_DEFAULT_HELPER
#define PV_DEFAULT_HELPER "/usr/libexec/pam_phoneverify/phoneverify-http"
#endif

#define PV_CONFIG_MAX_SIZE (64 * 1024)

enum pv_method {
    PV_METHOD_SMS,
    PV_METHOD_EMAIL,
    PV_METHOD_NUMVERIFY
};
enum pv_lookup_source {
    PV_LOOKUP_FILE,
    PV_LOOKUP_GECOS,
    PV_LOOKUP_COMMAND
};
enum pv_failmode {
    PV_FAILMODE_SECURE,
    PV_FAILMODE_SAFE
};
enum pv_phone_format {
    PV_PHONE_SPACED,
    PV_PHONE_E164
};
enum pv_send_target {
    PV_TARGET_ANY,
    PV_TARGET_USER,
    PV_TARGET_NOT_USER
};

#define PV_MAX_METHODS 3
#define PV_MAX_LOOKUPS 3
/* failures a state record keeps: the bound of lockout_failures */
#define PV_MAX_FAILURES 64

/* A provider credential: `none`, `bearer:TOKEN` or `basic:USER:SECRET`,
 * kept as the ready Authorization header value ("Bearer TOKEN",
 * "Basic base64(USER:SECRET)"); NULL for none.  Wiped on free. */
typedef struct pv_auth {
    char *header;
} pv_auth;

typedef struct pv_config {
    enum pv_method methods[PV_MAX_METHODS];
    size_t n_methods;

    char *send_url;
    pv_auth send_auth;
    enum pv_send_target send_target;
    char *captcha_token; /* NULL when unset */
    char *verify_url;
    pv_auth verify_auth;

    char *precheck_url; /* NULL: pre-check off */
    pv_auth precheck_auth;
    char *precheck_encryption;
    long precheck_cache;
    int precheck_unknown_allow; /* precheck_unknown = allow */

    char *numverify_url;
    char *numverify_licence;
    char *numverify_partner;
    long numverify_wait;
    long numverify_poll;

    enum pv_phone_format phone_format;
    char *users_file;
    enum pv_lookup_source lookup[PV_MAX_LOOKUPS];
    size_t n_lookup;
    long gecos_field;
    char *lookup_command;
    char *lookup_command_user;

    char *groups;         /* raw spec, matched by pv_policy */
    char *trusted_rhosts; /* raw spec, validated at parse time */
    int nullok;
    enum pv_failmode failmode;
    long timeout;
    long connect_timeout;
    char *cafile, *capath, *pinned_pubkey;
    char *client_cert, *client_key;
    char *proxy;

    long max_tries;
    long resend;
    long code_length;
    long lockout_failures, lockout_window, lockout_time;
    char *state;           /* "file" or "etcd" */
    char *state_endpoints; /* etcd client URLs, space-separated */
    char *state_cafile;
    char *state_client_cert, *state_client_key;
    char *state_prefix; /* "/pam_phoneverify/" */
    long state_timeout; /* seconds per etcd request */
    char *state_dir;
    long send_limit, send_window; /* codes per user per window */
    long resend_wait;             /* s, from the last send: 0 no wait */
    long grace;                   /* s after a verified code; 0 off */
    char *grace_services;         /* "": the login's own service only */
    char *numverify_link_hosts;   /* NULL: any host pv_url.c takes */
    int reuse_code;
    char *prompt;
    int echo_code;
    char *breakglass_file;
    char *language;   /* "en" or a catalogue's name */
    char *locale_dir; /* where catalogues are installed */
    int debug;
    char *helper_user; /* the helper's unprivileged account */
    char *helper;
} pv_config;

/* A config holding every default of pam_phoneverify.conf(5); NULL on ENOMEM. */
pv_config *pv_config_new(void);
/* Free, wiping every secret (tokens, licence, captcha, proxy). */
void pv_config_free(pv_config *cfg);

/* Set one key from text.  origin/line name where it came from for the
 * error message (line 0: a PAM argument).  0 ok, -1 with err set. */
int pv_config_set(pv_config *cfg, const char *key, const char *value,
                  const char *origin, unsigned line, pv_err *err);

/* Parse a configuration file's text (already read).  0 ok, -1 err. */
int pv_config_parse_text(pv_config *cfg, const char *text, size_t len,
                         const char *origin, pv_err *err);

/* Read path through pv_safe_read (PV_FILE_SECRET rules) and parse it. */
int pv_config_load_file(pv_config *cfg, const char *path, pv_err *err);

/* The whole PAM-line procedure: conf= first (or PV_DEFAULT_CONF, which may
 * be absent), then every other argument ("debug", "nullok", key=value).
 * Then pv_config_validate.  On success *out is owned by the caller. */
int pv_config_from_args(int argc, const char **argv, pv_config **out,
                        pv_err *err);

/* Cross-key checks (a method without its URLs, ...) and the ownership and
 * mode checks of every file the configuration names.  0 ok, -1 err. */
int pv_config_validate(const pv_config *cfg, pv_err *err);

/* Whether `methods` lists m.  1 yes, 0 no. */
int pv_config_has_method(const pv_config *cfg, enum pv_method m);

/* The GECOS fields (bit N for field N) that CHFN_RESTRICT in login.defs
 * text lets users change with chfn. */
unsigned pv_config_chfn_fields(const char *text, size_t len);

/* Print effective settings, secrets masked, one "key = value" per line,
 * through the callback (used by `phoneverify check-config`). */
void pv_config_dump(const pv_config *cfg,
                    void (*line)(void *ctx, const char *text), void *ctx);

const char *pv_method_name(enum pv_method m);

/* send_url and verify_url list the same number of URLs (or one is unset):
 * 0, else -1 with why. */
int pv_config_check_entry_counts(const pv_config *cfg, pv_err *why);

#endif
