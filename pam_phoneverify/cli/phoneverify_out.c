/* phoneverify_out.c - the admin CLI and the terminal: every line it
 * prints goes through pv_term_escape (doc/security.md: text from outside
 * never reaches the admin's terminal with a control character in it), and
 * `phoneverify test` converses through it. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/phoneverify_cli.h"
#include <termios.h>
#include <unistd.h>
#include "cli/pv_termtext.h"
#include "base/pv_util.h"

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
        text = NULL; /* undefined after a failure */
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

/* Terminal conversation for `phoneverify test`.  An echo-off prompt
 * (echo_code = no, the break-glass prompt) turns the terminal's echo off
 * while the answer is typed, as the module's PAM application would. */
static int term_prompt(void *ctx, const char *msg, int echo, char **reply)
{
    char line[256];
    struct termios saved, quiet;
    int restore = 0, ok;
    size_t n;

    (void)ctx;
    *reply = NULL;
    pv_cli_say_lines(stdout, msg, 0);
    fflush(stdout);
    if (!echo && isatty(STDIN_FILENO) &&
        tcgetattr(STDIN_FILENO, &saved) == 0) {
        quiet = saved;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        quiet.c_lflag |= ECHONL;
        restore = tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0;
    }
    ok = fgets(line, sizeof(line), stdin) != NULL;
    if (ok && strchr(line, '\n') == NULL) {
        int ch; /* drop the rest of an over-long line */

        while ((ch = getchar()) != EOF && ch != '\n')
            ;
    }
    if (restore)
        (void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
    if (!ok)
        return -1;
    n = strcspn(line, "\r\n");
    line[n] = '\0';
    *reply = strdup(line);
    pv_wipe(line, sizeof(line));
    return *reply != NULL ? 0 : -1;
}

static int term_info(void *ctx, const char *msg)
{
    (void)ctx;
    pv_cli_say_lines(stdout, msg, 1);
    return 0;
}

static int term_error(void *ctx, const char *msg)
{
    (void)ctx;
    pv_cli_say_lines(stderr, msg, 1);
    return 0;
}

pv_conv pv_cli_terminal_conv(void)
{
    return (pv_conv){ term_prompt, term_info, term_error, NULL };
}
