/* fuzz_catalog.c - libFuzzer harness for the message catalogue reader
 * pv_catalog_parse() (GNU .mo files, pv_i18n.c).
 *
 * Checked besides memory safety: a parsed catalogue answers every lookup
 * with either the original itself or a translation whose printf
 * conversions are the original's, so formatting it with the original's
 * arguments is safe; here the looked-up texts are formatted for real. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/pv_i18n.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const probes[] = {
    "Incorrect code, %ld tries left.", "Verification failed.",
    "Verification code sent to %s: ",  "",
    "A new code has been sent.",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pv_catalog *c = NULL;
    pv_err err;
    char out[512];
    size_t i;

    err.msg[0] = '\0';
    if (pv_catalog_parse(data, size, &c, &err) != 0) {
        if (c != NULL || err.msg[0] == '\0')
            abort();
        return 0;
    }
    for (i = 0; i < sizeof probes / sizeof probes[0]; i++) {
        const char *t = pv_tr(c, probes[i]);

        if (t == NULL)
            abort();
    }
    /* format through the catalogue for real, as the flow does */
    (void)pv_trf(c, out, sizeof out, "Incorrect code, %ld tries left.", 3L);
    (void)pv_trf(c, out, sizeof out,
                 "Verification code sent to %s: ", "+86 *******8000");
    (void)pv_catalog_count(c);
    pv_catalog_free(c);
    return 0;
}
