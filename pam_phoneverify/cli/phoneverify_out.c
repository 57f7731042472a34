/* phoneverify_out.c - how the admin CLI writes to the terminal: every
 * line through pv_term_escape (a rule of the project, doc/security.md: text
 * from outside never reaches the admin's terminal with a control
 * character in it). */
#define _GNU_SOURCE 1
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "phoneverify_cli.h"
#include "pv_termtext.h"

/* Every line the CLI prints goes through here: formatted, then escaped
 * whole (pv_term_escape), so that no control character in text from
 * outside (lookup output, GECOS, enrolled names, state records, provider
 * messages, error texts quoting them) reaches the admin's terminal; the
 * newline is added after escaping.  The CLI's own text has no control
 * characters and no backslashes, so escaping the whole line changes only
 * what came from outside. */
void pv_cli_say(FILE *fp, const char *fmt, ...)
{
    va_list ap;
    char *text = NULL, *safe;
    int n;

    va_start(ap, fmt);
    n = vasprintf(&text, fmt, ap);
    va_end(ap);
    if (n < 0)
        text = NULL;                /* undefined after a failure */
    safe = text != NULL ? pv_term_escape_dup(text) : NULL;
    fprintf(fp, "%s\n", safe != NULL ? safe : "phoneverify: out of memory");
    free(safe);
    free(text);
}

/* A multi-line text (a conversation message: prompt, link and QR code)
 * with each line escaped as pv_cli_say does; the line breaks are kept. */
void pv_cli_say_lines(FILE *fp, const char *text, int final_newline)
{
    const char *p = text;

    for (;;) {
        size_t n = strcspn(p, "\n");
        char *line = strndup(p, n), *safe;

        safe = line != NULL ? pv_term_escape_dup(line) : NULL;
        fputs(safe != NULL ? safe : "?", fp);
        free(safe);
        free(line);
        if (p[n] == '\0')
            break;
        fputc('\n', fp);
        p += n + 1;
    }
    if (final_newline)
        fputc('\n', fp);
}

