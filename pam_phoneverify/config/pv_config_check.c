/* pv_config_check.c - checks that span keys or look outside the
 * configuration text (pam_phoneverify.conf(5)): keys other keys depend on, the ownership
 * and modes of every file the configuration names, and whether the GECOS
 * field that holds the phone is one that users may change with chfn.
 *
 * pv_config.c parses and checks each value on its own; what is here runs
 * once the whole configuration is known (pv_config_validate). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/pv_config.h"
#include "base/pv_i18n.h"
#include "base/pv_safefile.h"
#include "base/pv_spawn.h"
#include "base/pv_util.h"

#ifndef PV_LOGIN_DEFS
#define PV_LOGIN_DEFS "/etc/login.defs"
#endif
#define LOGIN_DEFS_MAX (256 * 1024)

int pv_config_has_method(const pv_config *cfg, enum pv_method m)
{
    size_t i;

    for (i = 0; i < cfg->n_methods; i++)
        if (cfg->methods[i] == m)
            return 1;
    return 0;
}

static int has_lookup(const pv_config *cfg, enum pv_lookup_source s)
{
    size_t i;

    for (i = 0; i < cfg->n_lookup; i++)
        if (cfg->lookup[i] == s)
            return 1;
    return 0;
}

static int is_set(const char *v)
{
    return v != NULL && *v != '\0';
}

static int need(const char *value, const char *why, const char *key,
                pv_err *err)
{
    if (is_set(value))
        return 0;
    pv_err_set(err, "%s but %s is not set", why, key);
    return -1;
}

static int validate_methods(const pv_config *cfg, pv_err *err)
{
    int sms = pv_config_has_method(cfg, PV_METHOD_SMS);
    int email = pv_config_has_method(cfg, PV_METHOD_EMAIL);
    const char *m = sms ? "methods includes sms" : "methods includes email";
    const char *nv = "methods includes numverify";

    if (cfg->n_methods == 0 || cfg->n_lookup == 0) {
        pv_err_set(err, "methods and lookup must each name at least one "
                        "entry");
        return -1;
    }
    if ((sms || email) && (need(cfg->send_url, m, "send_url", err) < 0 ||
                           need(cfg->verify_url, m, "verify_url", err) < 0 ||
                           pv_config_check_entry_counts(cfg, err) < 0))
        return -1;
    if (pv_config_has_method(cfg, PV_METHOD_NUMVERIFY) &&
        (need(cfg->numverify_url, nv, "numverify_url", err) < 0 ||
         need(cfg->numverify_licence, nv, "numverify_licence", err) < 0 ||
         need(cfg->numverify_partner, nv, "numverify_partner", err) < 0))
        return -1;
    return 0;
}

static int validate_state(const pv_config *cfg, pv_err *err)
{
    int etcd = cfg->state != NULL && strcmp(cfg->state, "etcd") == 0;

    if (etcd && need(cfg->state_endpoints, "state is etcd", "state_endpoints",
                     err) < 0)
        return -1;
    if (!etcd &&
        (is_set(cfg->state_endpoints) || is_set(cfg->state_cafile) ||
         is_set(cfg->state_client_cert) || is_set(cfg->state_client_key))) {
        pv_err_set(err, "state_endpoints/state_cafile/state_client_* are "
                        "set but state is not etcd");
        return -1;
    }
    if (is_set(cfg->state_client_key) &&
        need(cfg->state_client_cert, "state_client_key is set",
             "state_client_cert", err) < 0)
        return -1;
    if (is_set(cfg->state_client_cert) &&
        need(cfg->state_client_key, "state_client_cert is set",
             "state_client_key", err) < 0)
        return -1;
    return 0;
}

/* Keys other keys depend on. */
static int validate_keys(const pv_config *cfg, pv_err *err)
{
    if (validate_methods(cfg, err) < 0 || validate_state(cfg, err) < 0)
        return -1;
    if (has_lookup(cfg, PV_LOOKUP_COMMAND) &&
        need(cfg->lookup_command, "lookup includes command", "lookup_command",
             err) < 0)
        return -1;
    if (has_lookup(cfg, PV_LOOKUP_FILE) &&
        need(cfg->users_file, "lookup includes file", "users_file", err) < 0)
        return -1;
    if (cfg->client_key != NULL &&
        need(cfg->client_cert, "client_key is set", "client_cert", err) < 0)
        return -1;
    /* The helper gets its CA as data from the module (it reads no file of
     * root's): one checked file can be handed over, a directory cannot. */
    if (is_set(cfg->capath)) {
        pv_err_set(err, "capath is not supported: put the CA certificates "
                        "in one file and name it with cafile");
        return -1;
    }
    return 0;
}

/* ---- GECOS fields users may change ----------------------------------- */

/* The value of CHFN_RESTRICT in login.defs text as a set of GECOS field
 * numbers users may change (bit N for field N): shadow's chfn reads the
 * letters f r w h (full name, room, work phone, home phone); "yes" means
 * rwh and "no" frwh.  No such line: only root may change anything. */
unsigned pv_config_chfn_fields(const char *text, size_t len)
{
    static const char letters[] = "frwh";
    unsigned fields = 0;
    const char *p = text, *end = text + len;

    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *e = nl != NULL ? nl : end, *v;
        size_t i;

        while (p < e && (*p == ' ' || *p == '\t'))
            p++;
        if ((size_t)(e - p) > 13 && memcmp(p, "CHFN_RESTRICT", 13) == 0 &&
            (p[13] == ' ' || p[13] == '\t')) {
            for (v = p + 13; v < e && (*v == ' ' || *v == '\t'); v++)
                ;
            fields = 0; /* the last line wins, as in shadow */
            if ((size_t)(e - v) >= 3 && memcmp(v, "yes", 3) == 0)
                v = "rwh", e = v + 3;
            else if ((size_t)(e - v) >= 2 && memcmp(v, "no", 2) == 0)
                v = "frwh", e = v + 4;
            for (; v < e && *v != ' ' && *v != '\t' && *v != '\r'; v++)
                for (i = 0; i < 4; i++)
                    if (*v == letters[i])
                        fields |= 1u << (i + 1);
        }
        p = nl != NULL ? nl + 1 : end;
    }
    return fields;
}

/* pam_phoneverify.conf(5): a GECOS field users may change with chfn must not hold the
 * phone, or a user could send their own codes to another phone. */
static int validate_gecos_field(const pv_config *cfg, pv_err *err)
{
    char *text = NULL;
    size_t len = 0;
    unsigned fields;
    pv_err inner;

    if (!has_lookup(cfg, PV_LOOKUP_GECOS))
        return 0;
    pv_err_clear(&inner);
    errno = 0;
    if (pv_safe_read(PV_LOGIN_DEFS, PV_FILE_PUBLIC, LOGIN_DEFS_MAX, &text,
                     &len, &inner) < 0) {
        if (errno == ENOENT)
            return 0; /* no login.defs: only root runs chfn */
        pv_err_set(err, "gecos_field: cannot check %s: %s", PV_LOGIN_DEFS,
                   inner.msg);
        return -1;
    }
    fields = pv_config_chfn_fields(text, len);
    free(text);
    if (cfg->gecos_field < 32 && (fields & (1u << cfg->gecos_field))) {
        pv_err_set(err,
                   "gecos_field = %ld: users may change that GECOS "
                   "field with chfn (CHFN_RESTRICT in %s), so a user could "
                   "redirect their own codes; use field 5 (other), which "
                   "only root can change",
                   cfg->gecos_field, PV_LOGIN_DEFS);
        return -1;
    }
    return 0;
}

/* ---- files ------------------------------------------------------------ */

/* How each file the configuration names is checked.  F_NEWDIR: a
 * directory that is created when missing (state_dir), so only an existing
 * one is checked.  F_SECRET_MAYBE: a secret file whose absence is a state,
 * not an error (breakglass_file before any code was issued: no emergency
 * codes, and logins go on as usual). */
enum file_kind {
    F_PUBLIC,
    F_SECRET,
    F_SECRET_MAYBE,
    F_EXEC,
    F_DIR,
    F_NEWDIR
};

static int check_named(const char *key, const char *path, enum file_kind kind,
                       pv_err *err)
{
    pv_err inner;
    int r;

    if (path == NULL || *path == '\0')
        return 0;
    inner.msg[0] = '\0';
    errno = 0;
    if (kind == F_DIR || kind == F_NEWDIR) {
        r = pv_safe_check_dir(path, &inner);
        if (r < 0 && kind == F_NEWDIR && errno == ENOENT)
            r = 0;
    } else {
        r = pv_safe_check(path,
                          kind == F_SECRET || kind == F_SECRET_MAYBE
                              ? PV_FILE_SECRET
                              : PV_FILE_PUBLIC,
                          kind == F_EXEC, &inner);
        if (r < 0 && kind == F_SECRET_MAYBE && errno == ENOENT)
            r = 0;
    }
    if (r < 0)
        pv_err_set(err, "%s: %s", key, inner.msg);
    return r;
}

static int validate_files(const pv_config *cfg, pv_err *err)
{
    const char *pin = cfg->pinned_pubkey;
    const struct {
        const char *key, *path;
        enum file_kind kind;
    } f[] = {
        { "users_file",
          has_lookup(cfg, PV_LOOKUP_FILE) ? cfg->users_file : NULL, F_PUBLIC },
        { "lookup_command", cfg->lookup_command, F_EXEC },
        { "cafile", cfg->cafile, F_PUBLIC },
        { "capath", cfg->capath, F_DIR },
        { "pinned_pubkey", pin != NULL && pin[0] == '/' ? pin : NULL,
          F_PUBLIC },
        { "client_cert", cfg->client_cert, F_PUBLIC },
        { "client_key", cfg->client_key, F_SECRET },
        { "breakglass_file", cfg->breakglass_file, F_SECRET_MAYBE },
        { "helper", cfg->helper, F_EXEC },
        { "state_cafile", cfg->state_cafile, F_PUBLIC },
        { "state_client_cert", cfg->state_client_cert, F_PUBLIC },
        { "state_client_key", cfg->state_client_key, F_SECRET },
        /* the file store is also etcd's fallback (pam_phoneverify.conf(5), FLEET DEPLOYMENT) */
        { "state_dir", cfg->state_dir, F_NEWDIR },
    };
    size_t i;

    for (i = 0; i < sizeof f / sizeof f[0]; i++)
        if (check_named(f[i].key, f[i].path, f[i].kind, err) < 0)
            return -1;
    return 0;
}

/* ---- who runs the helper and the lookup command ----------------------- */

/* pam_phoneverify.conf(5): the user must exist (there is no fallback) and
 * be one of its own; nobody is shared with other daemons, and a process
 * of the same user may trace a program it can read. */
static int run_user(const char *key, const char *name, pv_spawn_id *id,
                    pv_err *err)
{
    pv_err inner;

    if (name != NULL && strcmp(name, "nobody") == 0) {
        pv_err_set(err,
                   "%s = nobody: nobody is shared with other daemons; "
                   "create a system user of its own (make install and the "
                   "package create the default)",
                   key);
        return -1;
    }
    if (geteuid() != 0)
        return 0; /* not root: everything runs as ourselves */
    pv_err_clear(&inner);
    if (pv_spawn_resolve_user(name, id, &inner) < 0) {
        pv_err_set(err, "%s: %s (make install and the package create it)", key,
                   inner.msg);
        return -1;
    }
    return 0;
}

/* doc/security.md: run as another user, the helper must be execute-only
 * for it (0711), so that the kernel keeps every helper not dumpable from
 * its exec on; a careless chmod must not silently undo that. */
static int helper_execute_only(const pv_config *cfg, const pv_spawn_id *id,
                               pv_err *err)
{
    pv_err inner;
    int fd, r;

    if (!id->change || cfg->helper == NULL || cfg->helper[0] == '\0')
        return 0;
    pv_err_clear(&inner);
    fd = pv_safe_open_exec(cfg->helper, &inner);
    if (fd < 0) {
        pv_err_set(err, "helper: %s", inner.msg);
        return -1;
    }
    r = pv_spawn_readable_by(fd, id, &inner);
    close(fd);
    if (r < 0)
        pv_err_set(err, "helper: %s", inner.msg);
    else if (r > 0)
        pv_err_set(err,
                   "helper: %s is readable by group or others but runs as "
                   "helper_user %s, whose other processes could then trace "
                   "it: chmod 0711 it (root-owned)",
                   cfg->helper, cfg->helper_user);
    return r == 0 ? 0 : -1;
}

static int validate_run_users(const pv_config *cfg, pv_err *err)
{
    pv_spawn_id id;

    memset(&id, 0, sizeof id);
    if (run_user("helper_user", cfg->helper_user, &id, err) < 0 ||
        helper_execute_only(cfg, &id, err) < 0)
        return -1;
    if (has_lookup(cfg, PV_LOOKUP_COMMAND) &&
        run_user("lookup_command_user", cfg->lookup_command_user, &id, err) <
            0)
        return -1;
    return 0;
}

/* A language other than en needs its catalogue, checked like every file
 * the module reads (the flow parses it at each login). */
static int validate_language(const pv_config *cfg, pv_err *err)
{
    char path[4096];

    if (cfg->language == NULL || strcmp(cfg->language, "en") == 0)
        return 0;
    if (pv_snprintf(path, sizeof(path), "%s/%s/LC_MESSAGES/%s.mo",
                    cfg->locale_dir, cfg->language, PV_TEXT_DOMAIN) < 0) {
        pv_err_set(err, "language: catalogue path too long");
        return -1;
    }
    if (check_named("language", path, F_PUBLIC, err) < 0) {
        if (errno == ENOENT)
            pv_err_set(err,
                       "language = %s: no catalogue %s (installed "
                       "languages: see locale_dir)",
                       cfg->language, path);
        return -1;
    }
    return 0;
}

int pv_config_validate(const pv_config *cfg, pv_err *err)
{
    if (cfg == NULL) {
        pv_err_set(err, "no configuration");
        return -1;
    }
    if (validate_keys(cfg, err) < 0 || validate_gecos_field(cfg, err) < 0 ||
        validate_files(cfg, err) < 0 || validate_run_users(cfg, err) < 0 ||
        validate_language(cfg, err) < 0)
        return -1;
    return 0;
}
