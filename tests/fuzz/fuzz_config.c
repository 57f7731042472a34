/* fuzz_config.c - libFuzzer harness for the configuration parser.
 *
 * Input: the text of a pam_phoneverify.conf, parsed with
 * pv_config_parse_text() into a fresh pv_config_new() (the way
 * pv_config_load_file() does after reading the file; inputs above
 * PV_CONFIG_MAX_SIZE are skipped because the reader refuses them).
 *
 * Checked besides memory safety:
 *  - a refused text always yields a non-empty, NUL-terminated error that
 *    names the origin ("fuzz.conf:LINE: ..."), as SPEC section 3 requires;
 *  - an accepted text can be dumped (pv_config_dump walks every key and
 *    every value the parser stored) and every dumped line is "key = value".
 * Everything is freed with pv_config_free(), so LeakSanitizer sees leaks in
 * the setters and in the error paths. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/pv_config.h"
#include "base/pv_err.h"

#define ORIGIN "fuzz.conf"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct dump_ctx {
    size_t lines;
};

static void dump_line(void *ctx, const char *text)
{
    struct dump_ctx *d = ctx;

    /* every line is "key = value" (the value may be empty) */
    if (text == NULL || strstr(text, " = ") == NULL)
        abort();
    d->lines++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pv_config *cfg;
    pv_err err;
    struct dump_ctx d = { 0 };
    int rc;

    if (size > PV_CONFIG_MAX_SIZE)
        return 0;
    cfg = pv_config_new();
    if (cfg == NULL)
        return 0;
    pv_err_clear(&err);
    rc = pv_config_parse_text(cfg, (const char *)data, size, ORIGIN, &err);
    if (rc == 0) {
        pv_config_dump(cfg, dump_line, &d);
        if (d.lines == 0)
            abort();
    } else {
        if (rc != -1)
            abort();
        /* a message, bounded, naming file and line */
        if (memchr(err.msg, '\0', sizeof err.msg) == NULL ||
            strncmp(err.msg, ORIGIN ":", sizeof ORIGIN) != 0)
            abort();
    }
    pv_config_free(cfg);
    return 0;
}
