/* pv_pamd.c - the pam_phoneverify.so lines of a PAM service, as libpam
 * reads them, so that `phoneverify check-config --service NAME` checks
 * the PAM-line arguments exactly as the module will get them (a typo such
 * as `failmod=safe` there otherwise passes check-config and then refuses
 * every login).
 *
 * Syntax followed (pam.conf(5), as Linux-PAM's pam_handlers.c reads it):
 * one rule per line, `\` before a newline continues it, `#` starts a
 * comment; `[-]type control module [args...]`, where control and each
 * argument may be a `[...]` group holding spaces (`\]` inside it is a
 * literal `]`); `@include NAME`, and the controls `include NAME` and
 * `substack NAME`, read another file of the same directory.  Includes are
 * followed at most PV_PAMD_DEPTH deep (a loop is an error, not a hang). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli/pv_pamd.h"
#include "base/pv_safefile.h"
#include "base/pv_util.h"

#define PAMD_FILE_MAX (256 * 1024)
#define MODULE_NAME "pam_phoneverify.so"

typedef struct reader {
    const char *dir;
    pv_pamd_rule_fn fn;
    void *ctx;
    int found;
    pv_err *err;
} reader;

static int read_service(reader *r, const char *name, int depth);

/* A service name is a file name in the directory, nothing more. */
static int service_name_ok(const char *s)
{
    return s[0] != '\0' && s[0] != '.' && strchr(s, '/') == NULL &&
           strlen(s) < 256;
}

/* Next token of line at *p: a word, or a [...] group (returned without
 * its brackets, with "\]" turned into "]").  NULL at the end.  The token
 * is written into the line in place (it only ever gets shorter). */
static char *next_token(char **p, int *bad)
{
    char *s = *p, *tok, *o;

    s += strspn(s, " \t\r");
    if (*s == '\0')
        return NULL;
    if (*s != '[') {
        tok = s;
        s += strcspn(s, " \t\r");
        if (*s != '\0')
            *s++ = '\0';
        *p = s;
        return tok;
    }
    tok = o = ++s;
    for (; *s != '\0' && *s != ']'; s++) {
        if (s[0] == '\\' && s[1] == ']')
            s++;
        *o++ = *s;
    }
    if (*s != ']') {
        *bad = 1; /* an unclosed [ */
        return NULL;
    }
    *o = '\0';
    *p = s + 1;
    return tok;
}

static const char *basename_of(const char *path)
{
    const char *slash = strrchr(path, '/');

    return slash != NULL ? slash + 1 : path;
}

/* One logical line (continuations joined, comment cut). */
static int parse_rule(reader *r, const char *file, unsigned lineno, char *line,
                      int depth)
{
    char *p = line, *type, *control, *module;
    const char *argv[PV_PAMD_MAX_ARGS];
    int argc = 0, bad = 0;

    type = next_token(&p, &bad);
    if (type == NULL)
        return bad ? (pv_err_set(r->err, "%s:%u: unclosed '['", file, lineno),
                      -1)
                   : 0;
    if (strcmp(type, "@include") == 0) {
        char *name = next_token(&p, &bad);

        if (name == NULL) {
            pv_err_set(r->err, "%s:%u: @include without a file", file, lineno);
            return -1;
        }
        return read_service(r, name, depth + 1);
    }
    control = next_token(&p, &bad);
    module = next_token(&p, &bad);
    if (control == NULL || module == NULL) {
        pv_err_set(r->err, "%s:%u: %s", file, lineno,
                   bad ? "unclosed '['" : "expected TYPE CONTROL MODULE");
        return -1;
    }
    if (strcmp(control, "include") == 0 || strcmp(control, "substack") == 0)
        return read_service(r, module, depth + 1);
    if (strcmp(basename_of(module), MODULE_NAME) != 0)
        return 0;
    while ((argv[argc] = next_token(&p, &bad)) != NULL) {
        if (++argc == PV_PAMD_MAX_ARGS) {
            pv_err_set(r->err, "%s:%u: more than %d arguments", file, lineno,
                       PV_PAMD_MAX_ARGS - 1);
            return -1;
        }
    }
    if (bad) {
        pv_err_set(r->err, "%s:%u: unclosed '['", file, lineno);
        return -1;
    }
    r->found++;
    return r->fn(r->ctx, file, lineno, type[0] == '-' ? type + 1 : type, argc,
                 argv);
}

/* Split text into logical lines and hand each rule to parse_rule. */
static int parse_text(reader *r, const char *file, char *text, int depth)
{
    char *line = text;
    unsigned lineno = 1;

    while (*line != '\0') {
        unsigned first = lineno;
        char *o = line, *s = line, *hash;

        /* join "\\\n" continuations in place */
        for (; *s != '\0' && *s != '\n'; s++) {
            if (s[0] == '\\' && s[1] == '\n') {
                s++;
                lineno++;
                *o++ = ' ';
                continue;
            }
            *o++ = *s;
        }
        if (*s == '\n')
            s++;
        *o = '\0';
        lineno++;
        if ((hash = strchr(line, '#')) != NULL)
            *hash = '\0';
        if (parse_rule(r, file, first, line, depth) < 0)
            return -1;
        line = s;
    }
    return 0;
}

static int read_service(reader *r, const char *name, int depth)
{
    char path[4096];
    char *text = NULL;
    size_t len = 0;
    int rc;

    if (depth > PV_PAMD_DEPTH) {
        pv_err_set(r->err,
                   "%s: includes nested more than %d deep (a "
                   "loop?)",
                   name, PV_PAMD_DEPTH);
        return -1;
    }
    if (!service_name_ok(name)) {
        pv_err_set(r->err, "'%s' is not a PAM service name", name);
        return -1;
    }
    if (pv_snprintf(path, sizeof(path), "%s/%s", r->dir, name) < 0) {
        pv_err_set(r->err, "%s/%s: path too long", r->dir, name);
        return -1;
    }
    if (pv_safe_read(path, PV_FILE_PUBLIC, PAMD_FILE_MAX, &text, &len,
                     r->err) < 0)
        return -1;
    rc = parse_text(r, path, text, depth);
    free(text);
    return rc;
}

int pv_pamd_rules(const char *dir, const char *service, pv_pamd_rule_fn fn,
                  void *ctx, pv_err *err)
{
    reader r = { dir, fn, ctx, 0, err };

    if (read_service(&r, service, 0) < 0)
        return -1;
    return r.found;
}
