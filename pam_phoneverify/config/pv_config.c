/* pv_config.c - the module's configuration (pam_phoneverify.conf(5)).
 *
 * One table, `keys`, lists every key of pam_phoneverify.conf(5) in the man page's order
 * with its default (as text, applied through the same setter as a file line
 * or a PAM argument), how it is stored, how it is checked and whether it is
 * a secret.  Defaults, setting, freeing and the dump all walk that table.
 * The checks of single values are in pv_config_values.c, reading the file
 * and the PAM line in pv_config_parse.c, checks across keys and of the
 * files named in pv_config_check.c.
 *
 * File syntax: `key = value` lines; blank lines ignored; spaces and tabs
 * around key and value trimmed.  A '#' starts a comment only as the first
 * non-blank character of a line: anywhere else it is part of the value,
 * because tokens, licences and URLs may contain '#'.  So
 * "timeout = 10  # seconds" is refused (not an integer) rather than
 * silently meaning something else.
 *
 * Error messages never contain a secret value: a bad token is described,
 * not echoed, and a PAM argument is echoed as key=value only for known,
 * non-secret keys. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/pv_config.h"
#include "config/pv_config_values.h"
#include "base/pv_i18n.h"
#include "base/pv_util.h"

#ifndef PV_DEFAULT_USERS_FILE
#define PV_DEFAULT_USERS_FILE "/etc/security/phoneverify.users"
#endif
#ifndef PV_DEFAULT_STATE_DIR
#define PV_DEFAULT_STATE_DIR "/var/lib/pam_phoneverify"
#endif
#define PV_DEFAULT_PROMPT N_("Verification code sent to %p: ")

#define VALUE_MAX 8192 /* longest value accepted for any key */
#define PROMPT_MAX 256 /* longest prompt, including the ": " */
#define KEY_LEN_MAX 64

/* key flags */
#define KEY_SECRET 1u   /* wiped on free, masked in the dump */
#define KEY_REQUIRED 2u /* an empty value is refused */
#define KEY_FILE_ONLY \
    4u /* refused on the PAM line (pam_phoneverify.conf(5): files
                                   under /etc/pam.d are world-readable) */

enum slot {
    SLOT_NONE,
    SLOT_STR,
    SLOT_AUTH,
    SLOT_LONG,
    SLOT_BOOL,
    SLOT_ENUM
};

struct pv_key;
typedef int (*set_fn)(pv_config *cfg, const struct pv_key *k, const char *v,
                      pv_err *why);
typedef int (*check_fn)(const char *name, const char *v, pv_err *why);
typedef const char *(*show_fn)(const pv_config *cfg, char *tmp, size_t size);

struct pv_key {
    const char *name;
    const char *def; /* default, as configuration text */
    enum slot slot;  /* what lives at off */
    size_t off;
    set_fn set;
    check_fn check;           /* SLOT_STR: validates a non-empty value */
    show_fn show;             /* SLOT_NONE: renders for the dump */
    long min, max;            /* SLOT_LONG */
    const char *const *words; /* SLOT_ENUM: the value's word list */
    size_t nwords;
    unsigned flags;
};

/* ---------- small helpers ---------- */

static int match_word(const char *s, size_t len, const char *const *words,
                      size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (strncasecmp(s, words[i], len) == 0 && words[i][len] == '\0')
            return (int)i;
    return -1;
}

/* "a, b, c" for messages. */
static void join_words(char *dst, size_t size, const char *const *words,
                       size_t n)
{
    size_t i, o = 0;

    dst[0] = '\0';
    for (i = 0; i < n; i++) {
        int r =
            pv_snprintf(dst + o, size - o, "%s%s", i ? ", " : "", words[i]);

        if (r < 0)
            return;
        o += (size_t)r;
    }
}

/* Typed access to the field a key's row names: writers take the
 * configuration being built, readers a const one. */
static void *slot_of(pv_config *cfg, const struct pv_key *k)
{
    return (char *)cfg + k->off;
}

static const void *slot_in(const pv_config *cfg, const struct pv_key *k)
{
    return (const char *)cfg + k->off;
}

static char **str_slot(pv_config *cfg, const struct pv_key *k)
{
    return slot_of(cfg, k);
}

static const char *str_value(const pv_config *cfg, const struct pv_key *k)
{
    return *(char *const *)slot_in(cfg, k);
}

static pv_auth *auth_slot(pv_config *cfg, const struct pv_key *k)
{
    return slot_of(cfg, k);
}

static const pv_auth *auth_value(const pv_config *cfg, const struct pv_key *k)
{
    return slot_in(cfg, k);
}

static long *long_slot(pv_config *cfg, const struct pv_key *k)
{
    return slot_of(cfg, k);
}

static long long_value(const pv_config *cfg, const struct pv_key *k)
{
    return *(const long *)slot_in(cfg, k);
}

/* SLOT_BOOL and SLOT_ENUM fields are int or an enum (which GCC and clang
 * give the size of int: checked below). */
static int *int_slot(pv_config *cfg, const struct pv_key *k)
{
    return slot_of(cfg, k);
}

static int int_value(const pv_config *cfg, const struct pv_key *k)
{
    return *(const int *)slot_in(cfg, k);
}

_Static_assert(sizeof(enum pv_failmode) == sizeof(int) &&
                   sizeof(enum pv_send_target) == sizeof(int) &&
                   sizeof(enum pv_phone_format) == sizeof(int),
               "enum configuration fields are stored as int");

static void free_str(char *s, unsigned flags)
{
    if (flags & KEY_SECRET)
        pv_free_secret(s);
    else
        free(s);
}

/* Replace a string slot with a copy of v (NULL when v is NULL). */
static int store_str(pv_config *cfg, const struct pv_key *k, const char *v,
                     pv_err *why)
{
    char **slot = str_slot(cfg, k);
    char *copy = NULL;

    if (v != NULL && (copy = pv_strdup(v)) == NULL) {
        pv_err_set(why, "out of memory");
        return -1;
    }
    free_str(*slot, k->flags);
    *slot = copy;
    return 0;
}

/* ---------- setters ---------- */

/* SLOT_STR keys: empty means "not set" unless the key is required. */
static int set_string(pv_config *cfg, const struct pv_key *k, const char *v,
                      pv_err *why)
{
    if (*v == '\0') {
        if (k->flags & KEY_REQUIRED) {
            pv_err_set(why, "%s must not be empty", k->name);
            return -1;
        }
        return store_str(cfg, k, NULL, why);
    }
    if (k->check != NULL && k->check(k->name, v, why) < 0)
        return -1;
    return store_str(cfg, k, v, why);
}

static int set_long(pv_config *cfg, const struct pv_key *k, const char *v,
                    pv_err *why)
{
    long n;

    if (pv_parse_long(v, k->min, k->max, &n) < 0) {
        pv_err_set(why, "%s must be an integer from %ld to %ld", k->name,
                   k->min, k->max);
        return -1;
    }
    *long_slot(cfg, k) = n;
    return 0;
}

static int set_bool(pv_config *cfg, const struct pv_key *k, const char *v,
                    pv_err *why)
{
    int b;

    if (pv_parse_bool(v, &b) < 0) {
        pv_err_set(why, "%s must be yes or no (or true/false, on/off, 1/0)",
                   k->name);
        return -1;
    }
    *int_slot(cfg, k) = b;
    return 0;
}

/* none | bearer:TOKEN | basic:USER:SECRET, kept as the header value. */
static int set_auth(pv_config *cfg, const struct pv_key *k, const char *v,
                    pv_err *why)
{
    pv_auth *a = auth_slot(cfg, k);
    char *h = NULL;

    if (pv_cfgval_auth(k->name, v, &h, why) < 0)
        return -1;
    pv_free_secret(a->header);
    a->header = h;
    return 0;
}

/* A list of words separated by spaces, tabs and/or commas, no duplicates,
 * at least one; idx receives the word indexes in order. */
static int parse_list(const struct pv_key *k, const char *v,
                      const char *const *words, size_t nwords, int *idx,
                      size_t *n, pv_err *why)
{
    char names[64], quoted[40];

    join_words(names, sizeof names, words, nwords);
    *n = 0;
    for (;;) {
        size_t len, i;
        int w;

        v += strspn(v, " ,\t");
        if (*v == '\0')
            break;
        len = strcspn(v, " ,\t");
        w = match_word(v, len, words, nwords);
        pv_cfgval_quote(quoted, sizeof quoted, v, len);
        if (w < 0) {
            pv_err_set(why, "%s: unknown entry '%s' (expected %s)", k->name,
                       quoted, names);
            return -1;
        }
        for (i = 0; i < *n; i++)
            if (idx[i] == w) {
                pv_err_set(why, "%s: '%s' is listed twice", k->name, words[w]);
                return -1;
            }
        idx[(*n)++] = w;
        v += len;
    }
    if (*n == 0) {
        pv_err_set(why, "%s must list at least one of %s", k->name, names);
        return -1;
    }
    return 0;
}

static const char *const method_words[] = {
    [PV_METHOD_SMS] = "sms",
    [PV_METHOD_EMAIL] = "email",
    [PV_METHOD_NUMVERIFY] = "numverify",
};
static const char *const lookup_words[] = {
    [PV_LOOKUP_FILE] = "file",
    [PV_LOOKUP_GECOS] = "gecos",
    [PV_LOOKUP_COMMAND] = "command",
};
static const char *const target_words[] = {
    [PV_TARGET_ANY] = "ANY",
    [PV_TARGET_USER] = "USER",
    [PV_TARGET_NOT_USER] = "NOT_USER",
};
static const char *const failmode_words[] = {
    [PV_FAILMODE_SECURE] = "secure",
    [PV_FAILMODE_SAFE] = "safe",
};
static const char *const format_words[] = {
    [PV_PHONE_SPACED] = "spaced",
    [PV_PHONE_E164] = "e164",
};
/* precheck_unknown_allow: 0 deny, 1 allow */
static const char *const unknown_words[] = { "deny", "allow" };

#define NWORDS(a) (sizeof(a) / sizeof(a)[0])

static int set_methods(pv_config *cfg, const struct pv_key *k, const char *v,
                       pv_err *why)
{
    int idx[NWORDS(method_words)];
    size_t n, i;

    if (parse_list(k, v, method_words, NWORDS(method_words), idx, &n, why) < 0)
        return -1;
    for (i = 0; i < n; i++)
        cfg->methods[i] = (enum pv_method)idx[i];
    cfg->n_methods = n;
    return 0;
}

static int set_lookup(pv_config *cfg, const struct pv_key *k, const char *v,
                      pv_err *why)
{
    int idx[NWORDS(lookup_words)];
    size_t n, i;

    if (parse_list(k, v, lookup_words, NWORDS(lookup_words), idx, &n, why) < 0)
        return -1;
    for (i = 0; i < n; i++)
        cfg->lookup[i] = (enum pv_lookup_source)idx[i];
    cfg->n_lookup = n;
    return 0;
}

/* One word of words (case-insensitive); its index or -1 with why set. */
static int one_of(const struct pv_key *k, const char *v,
                  const char *const *words, size_t n, pv_err *why)
{
    char names[64];
    int w = match_word(v, strlen(v), words, n);

    if (w < 0) {
        join_words(names, sizeof names, words, n);
        pv_err_set(why, "%s must be one of %s", k->name, names);
    }
    return w;
}

static int set_enum(pv_config *cfg, const struct pv_key *k, const char *v,
                    pv_err *why)
{
    int w = one_of(k, v, k->words, k->nwords, why);

    if (w < 0)
        return -1;
    *int_slot(cfg, k) = w;
    return 0;
}

/* Every prompt ends in ": ".  Surrounding spaces are trimmed from file
 * values (and a PAM argument cannot easily carry one), so a prompt must
 * end in ':' once trailing spaces are removed, and is stored with exactly
 * one space after that ':'.  The only '%' sequences are %p (the masked
 * number or address) and %% (a '%'), as pv_flow expands them. */
static int set_prompt(pv_config *cfg, const struct pv_key *k, const char *v,
                      pv_err *why)
{
    size_t n = strlen(v), i;
    char *p;

    while (n > 0 && v[n - 1] == ' ')
        n--;
    if (n == 0 || v[n - 1] != ':' || !pv_cfgval_is_text(v)) {
        pv_err_set(why, "%s must be printable text ending in ': '", k->name);
        return -1;
    }
    if (n + 1 > PROMPT_MAX) {
        pv_err_set(why, "%s is longer than %d characters", k->name,
                   PROMPT_MAX);
        return -1;
    }
    for (i = 0; i < n; i++)
        if (v[i] == '%' && ++i < n && v[i] != 'p' && v[i] != '%') {
            pv_err_set(why, "%s: the only %% sequences are %%p and %%%%",
                       k->name);
            return -1;
        }
    if ((p = malloc(n + 2)) == NULL) {
        pv_err_set(why, "out of memory");
        return -1;
    }
    memcpy(p, v, n);
    memcpy(p + n, " ", 2);
    free(cfg->prompt);
    cfg->prompt = p;
    return 0;
}

/* ---------- renderers for the dump (SLOT_NONE keys) ---------- */

static const char *show_list(const int *idx, size_t n,
                             const char *const *words, char *tmp, size_t size)
{
    size_t i, o = 0;

    tmp[0] = '\0';
    for (i = 0; i < n; i++) {
        int r = pv_snprintf(tmp + o, size - o, "%s%s", i ? " " : "",
                            words[idx[i]]);

        if (r < 0)
            break;
        o += (size_t)r;
    }
    return tmp;
}

static const char *show_methods(const pv_config *cfg, char *tmp, size_t size)
{
    int idx[PV_MAX_METHODS];
    size_t i;

    for (i = 0; i < cfg->n_methods && i < PV_MAX_METHODS; i++)
        idx[i] = (int)cfg->methods[i];
    return show_list(idx, i, method_words, tmp, size);
}

static const char *show_lookup(const pv_config *cfg, char *tmp, size_t size)
{
    int idx[PV_MAX_LOOKUPS];
    size_t i;

    for (i = 0; i < cfg->n_lookup && i < PV_MAX_LOOKUPS; i++)
        idx[i] = (int)cfg->lookup[i];
    return show_list(idx, i, lookup_words, tmp, size);
}

static const char *word_or(const char *const *words, size_t n, unsigned w)
{
    return w < n ? words[w] : "?";
}

/* ---------- the table: every key of pam_phoneverify.conf(5), in its order ------ */

#define OFF(f) offsetof(pv_config, f)
#define K_STR(f, d, chk, fl)                                              \
    {                                                                     \
#f, d, SLOT_STR, OFF(f), set_string, chk, NULL, 0, 0, NULL, 0, fl \
    }
#define K_AUTH(f)                                                           \
    {                                                                       \
#f, "none", SLOT_AUTH, OFF(f), set_auth, NULL, NULL, 0, 0, NULL, 0, \
            KEY_SECRET | KEY_FILE_ONLY                                      \
    }
#define K_LONG(f, d, lo, hi)                                               \
    {                                                                      \
#f, d, SLOT_LONG, OFF(f), set_long, NULL, NULL, lo, hi, NULL, 0, 0 \
    }
#define K_BOOL(f, d)                                                     \
    {                                                                    \
#f, d, SLOT_BOOL, OFF(f), set_bool, NULL, NULL, 0, 1, NULL, 0, 0 \
    }
#define K_ENUM(f, name, d, w)                                                 \
    {                                                                         \
        name, d, SLOT_ENUM, OFF(f), set_enum, NULL, NULL, 0, 0, w, NWORDS(w), \
            0                                                                 \
    }
#define K_SPECIAL(name, d, setter, shower)                            \
    {                                                                 \
        name, d, SLOT_NONE, 0, setter, NULL, shower, 0, 0, NULL, 0, 0 \
    }

static const struct pv_key keys[] = {
    K_SPECIAL("methods", "sms", set_methods, show_methods),
    K_STR(send_url, "", pv_cfgval_url_list, 0),
    K_AUTH(send_auth),
    K_ENUM(send_target, "send_target", "ANY", target_words),
    K_STR(captcha_token, "", pv_cfgval_word, KEY_SECRET | KEY_FILE_ONLY),
    K_STR(verify_url, "", pv_cfgval_url_list, 0),
    K_AUTH(verify_auth),
    K_STR(precheck_url, "", pv_cfgval_url, 0),
    K_AUTH(precheck_auth),
    K_STR(precheck_encryption, "", pv_cfgval_word, KEY_SECRET),
    K_LONG(precheck_cache, "86400", 0, 2592000),
    K_ENUM(precheck_unknown_allow, "precheck_unknown", "deny", unknown_words),
    K_STR(numverify_url, "", pv_cfgval_url, 0),
    K_STR(numverify_licence, "", pv_cfgval_word, KEY_SECRET | KEY_FILE_ONLY),
    K_STR(numverify_partner, "", pv_cfgval_text, 0),
    K_LONG(numverify_wait, "120", 5, 900),
    K_LONG(numverify_poll, "2", 1, 60),
    K_ENUM(phone_format, "phone_format", "spaced", format_words),
    K_STR(users_file, PV_DEFAULT_USERS_FILE, pv_cfgval_path, KEY_REQUIRED),
    K_SPECIAL("lookup", "file", set_lookup, show_lookup),
    K_LONG(gecos_field, "5", 1, 5),
    K_STR(lookup_command, "", pv_cfgval_path, 0),
    K_STR(lookup_command_user, "_phoneverify-lookup", pv_cfgval_user,
          KEY_REQUIRED),
    K_STR(groups, "", pv_cfgval_groups, 0),
    K_STR(trusted_rhosts, "", pv_cfgval_rhosts, 0),
    K_BOOL(nullok, "no"),
    K_ENUM(failmode, "failmode", "secure", failmode_words),
    K_LONG(timeout, "10", 1, 300),
    K_LONG(connect_timeout, "5", 1, 60),
    K_STR(cafile, "", pv_cfgval_path, 0),
    K_STR(capath, "", pv_cfgval_capath, 0),
    K_STR(pinned_pubkey, "", pv_cfgval_pin, 0),
    K_STR(client_cert, "", pv_cfgval_path, 0),
    K_STR(client_key, "", pv_cfgval_path, 0),
    K_STR(proxy, "", pv_cfgval_proxy, KEY_SECRET | KEY_FILE_ONLY),
    K_LONG(max_tries, "3", 1, 10),
    K_LONG(resend, "1", 0, 5),
    K_LONG(code_length, "6", 4, 10),
    K_LONG(lockout_failures, "10", 0, PV_MAX_FAILURES),
    K_LONG(lockout_window, "900", 1, 604800),
    K_LONG(lockout_time, "900", 1, 604800),
    K_STR(state, "file", pv_cfgval_state, KEY_REQUIRED),
    K_STR(state_endpoints, "", pv_cfgval_url_list, 0),
    K_STR(state_cafile, "", pv_cfgval_path, 0),
    K_STR(state_client_cert, "", pv_cfgval_path, 0),
    K_STR(state_client_key, "", pv_cfgval_path, KEY_FILE_ONLY),
    K_STR(state_prefix, "/pam_phoneverify/", pv_cfgval_prefix, KEY_REQUIRED),
    K_LONG(state_timeout, "2", 1, 30),
    K_STR(state_dir, PV_DEFAULT_STATE_DIR, pv_cfgval_path, KEY_REQUIRED),
    K_LONG(send_limit, "10", 1, 1000),
    K_LONG(send_window, "3600", 60, 604800),
    K_LONG(resend_wait, "65", 0, 300),
    K_LONG(grace, "0", 0, 86400),
    K_STR(grace_services, "", pv_cfgval_text, 0),
    K_STR(numverify_link_hosts, "", pv_cfgval_link_hosts, 0),
    K_BOOL(reuse_code, "yes"),
    { "prompt", PV_DEFAULT_PROMPT, SLOT_STR, OFF(prompt), set_prompt, NULL,
      NULL, 0, 0, NULL, 0, KEY_REQUIRED },
    K_BOOL(echo_code, "yes"),
    K_STR(breakglass_file, "", pv_cfgval_path, 0),
    K_STR(language, "en", pv_cfgval_language, KEY_REQUIRED),
    K_STR(locale_dir, PV_LOCALEDIR, pv_cfgval_path, KEY_REQUIRED),
    K_BOOL(debug, "no"),
    K_STR(helper_user, "_phoneverify", pv_cfgval_user, KEY_REQUIRED),
    K_STR(helper, PV_DEFAULT_HELPER, pv_cfgval_path, KEY_REQUIRED),
};

#define NKEYS (sizeof keys / sizeof keys[0])

static const struct pv_key *find_key(const char *name)
{
    size_t i;

    for (i = 0; i < NKEYS; i++)
        if (strcmp(keys[i].name, name) == 0)
            return &keys[i];
    return NULL;
}

_Static_assert(NKEYS <= PV_CONFIG_MAX_KEYS, "raise PV_CONFIG_MAX_KEYS");

int pv_config_key_id(const char *name)
{
    const struct pv_key *k = find_key(name);

    return k != NULL ? (int)(k - keys) : -1;
}

const char *pv_config_key_name(int id)
{
    return id >= 0 && (size_t)id < NKEYS ? keys[id].name : "?";
}

int pv_config_key_file_only(int id)
{
    return id >= 0 && (size_t)id < NKEYS &&
           (keys[id].flags & KEY_FILE_ONLY) != 0;
}

/* ---------- public API ---------- */

const char *pv_method_name(enum pv_method m)
{
    return word_or(method_words, NWORDS(method_words), (unsigned)m);
}

void pv_config_free(pv_config *cfg)
{
    size_t i;

    if (cfg == NULL)
        return;
    for (i = 0; i < NKEYS; i++) {
        if (keys[i].slot == SLOT_STR)
            free_str(*str_slot(cfg, &keys[i]), keys[i].flags);
        else if (keys[i].slot == SLOT_AUTH)
            pv_free_secret(auth_slot(cfg, &keys[i])->header);
    }
    pv_wipe(cfg, sizeof *cfg);
    free(cfg);
}

pv_config *pv_config_new(void)
{
    pv_config *cfg = calloc(1, sizeof *cfg);
    size_t i;

    if (cfg == NULL)
        return NULL;
    for (i = 0; i < NKEYS; i++) {
        pv_err why;

        if (keys[i].set(cfg, &keys[i], keys[i].def, &why) < 0) {
            pv_config_free(cfg);
            return NULL;
        }
    }
    return cfg;
}

/* A value every key refuses: missing, too long, or with control
 * characters (a tab is allowed: lists may use it as a separator). */
static int check_value(const struct pv_key *k, const char *v, pv_err *why)
{
    const char *p;

    if (v == NULL) {
        pv_err_set(why, "%s needs a value", k->name);
        return -1;
    }
    if (strlen(v) > VALUE_MAX) {
        pv_err_set(why, "%s is longer than %d bytes", k->name, VALUE_MAX);
        return -1;
    }
    for (p = v; *p != '\0'; p++)
        if (((unsigned char)*p < 0x20 && *p != '\t') || *p == 0x7f) {
            pv_err_set(why, "%s contains control characters", k->name);
            return -1;
        }
    return 0;
}

/* "ORIGIN:LINE: why" for files, "ORIGIN 'key=value': why" for arguments
 * (the value only for a known key that is not a secret). */
static void report(pv_err *err, const struct pv_key *k, const char *key,
                   const char *value, const char *origin, unsigned line,
                   const pv_err *why)
{
    char ek[KEY_LEN_MAX + 4], ev[128];

    if (line > 0) {
        pv_err_set(err, "%s:%u: %s", origin, line, why->msg);
        return;
    }
    pv_cfgval_quote(ek, sizeof ek, key, strlen(key));
    if (k != NULL && !(k->flags & KEY_SECRET) && value != NULL) {
        pv_cfgval_quote(ev, sizeof ev, value, strlen(value));
        pv_err_set(err, "%s '%s=%s': %s", origin, ek, ev, why->msg);
    } else {
        pv_err_set(err, "%s '%s': %s", origin, ek, why->msg);
    }
}

/* send_url/verify_url: their URL counts must match
 * (pam_phoneverify.conf(5)), checked where the second one is set so the
 * error names its file and line. */
static int is_entry_list(const struct pv_key *k)
{
    return strcmp(k->name, "send_url") == 0 ||
           strcmp(k->name, "verify_url") == 0;
}

int pv_config_set(pv_config *cfg, const char *key, const char *value,
                  const char *origin, unsigned line, pv_err *err)
{
    const struct pv_key *k;
    pv_err why;
    char ek[KEY_LEN_MAX + 4];

    why.msg[0] = '\0';
    if (origin == NULL)
        origin = "configuration";
    if (cfg == NULL || key == NULL) {
        pv_err_set(err, "%s: no key", origin);
        return -1;
    }
    k = find_key(key);
    if (k == NULL) {
        pv_cfgval_quote(ek, sizeof ek, key, strlen(key));
        if (strcmp(key, "conf") == 0)
            pv_err_set(&why, "conf= can only be given in the PAM line");
        else
            pv_err_set(&why, "unknown key '%s'", ek);
        report(err, NULL, key, value, origin, line, &why);
        return -1;
    }
    if (check_value(k, value, &why) < 0 || k->set(cfg, k, value, &why) < 0 ||
        (is_entry_list(k) && pv_config_check_entry_counts(cfg, &why) < 0)) {
        report(err, k, key, value, origin, line, &why);
        return -1;
    }
    return 0;
}

/* ---------- dump ---------- */

static const char *show_key(const pv_config *cfg, const struct pv_key *k,
                            char *tmp, size_t size)
{
    const char *s;

    switch (k->slot) {
    case SLOT_STR:
        s = str_value(cfg, k);
        if (k->flags & KEY_SECRET)
            return s != NULL ? "(set)" : "(not set)";
        return s != NULL ? s : "";
    case SLOT_AUTH:
        return auth_value(cfg, k)->header != NULL ? "(set)" : "(not set)";
    case SLOT_LONG:
        if (pv_snprintf(tmp, size, "%ld", long_value(cfg, k)) < 0)
            return "?";
        return tmp;
    case SLOT_BOOL:
        return int_value(cfg, k) ? "yes" : "no";
    case SLOT_ENUM:
        return word_or(k->words, k->nwords, (unsigned)int_value(cfg, k));
    case SLOT_NONE:
    default:
        return k->show(cfg, tmp, size);
    }
}

void pv_config_dump(const pv_config *cfg,
                    void (*line)(void *ctx, const char *text), void *ctx)
{
    size_t i;

    if (cfg == NULL || line == NULL)
        return;
    for (i = 0; i < NKEYS; i++) {
        char tmp[64];
        const char *v = show_key(cfg, &keys[i], tmp, sizeof tmp);
        size_t n = strlen(keys[i].name) + strlen(v) + 4;
        char *text = malloc(n);

        if (text == NULL) {
            line(ctx, "(out of memory)");
            return;
        }
        pv_snprintf(text, n, "%s = %s", keys[i].name, v);
        line(ctx, text);
        free(text);
    }
}

int pv_config_check_entry_counts(const pv_config *cfg, pv_err *why)
{
    size_t ns = pv_url_list_count(cfg->send_url);
    size_t nv = pv_url_list_count(cfg->verify_url);

    if (ns == 0 || nv == 0 || ns == nv)
        return 0;
    pv_err_set(why,
               "send_url lists %zu URL%s but verify_url lists %zu: "
               "entry i of both is one provider account, so both need the "
               "same number",
               ns, ns == 1 ? "" : "s", nv);
    return -1;
}
