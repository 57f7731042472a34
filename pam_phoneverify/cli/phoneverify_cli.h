/* phoneverify_cli.h - what the files of the admin CLI share (not part of
 * the library: the module never links these). */
#ifndef PHONEVERIFY_CLI_H
#define PHONEVERIFY_CLI_H

#include <stdio.h>
#include "config/pv_config.h"
#include "flow/pv_flow.h"

#define EXIT_REFUSED 1
#define EXIT_USAGE 2

typedef struct cli {
    const char *conf;    /* --conf PATH or NULL (default file) */
    const char *service; /* check-config --service NAME */
    const char *pam_dir; /* --pam-dir DIR (default /etc/pam.d) */
    int probe;           /* check-config --probe */
    pv_config *cfg;
    char *created; /* file this run created; removed on failure */
} cli;

typedef struct command {
    const char *name;
    const char *args;
    const char *help;
    int min_args, max_args;
    int (*run)(cli *c, int argc, char **argv);
} command;

/* Every line the CLI prints: formatted, escaped (pv_term_escape), then a
 * newline; say_lines keeps a text's own line breaks. */
void pv_cli_say(FILE *fp, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void pv_cli_say_lines(FILE *fp, const char *text, int final_newline);

/* The conversation of `phoneverify test`: prompts and messages on the
 * terminal, echo off for echo-off prompts. */
pv_conv pv_cli_terminal_conv(void);

int pv_cli_conf_path(const cli *c, char *buf, size_t size);
/* The configuration exactly as the module reads it with `conf=PATH`. */
int pv_cli_load_config(cli *c);
void pv_cli_print_line(void *ctx, const char *text);
void pv_cli_log_stderr(void *ctx, int prio, const char *msg);

int pv_cli_check_config(cli *c, int argc, char **argv);
/* check-config --probe: each endpoint once; the number of problems. */
int pv_cli_probe(const pv_config *cfg);

#endif
