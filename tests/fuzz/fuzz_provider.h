/* fuzz_provider.h - what the provider-answer harnesses share: the HTTP
 * status an input's first byte selects, and the invariant every parser
 * keeps for the log record (a non-empty detail that fits key=value). */
#ifndef PV_FUZZ_PROVIDER_H
#define PV_FUZZ_PROVIDER_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const long http_codes[] = { 200, 400, 401, 404, 429, 500 };

/* A broken invariant: report it and abort, so libFuzzer keeps the input. */
static inline void fail(const char *what)
{
    fprintf(stderr, "%s: %s\n", FUZZ_NAME, what);
    abort();
}

static inline void check_detail(const char *d, size_t size)
{
    size_t i, n;

    if (memchr(d, '\0', size) == NULL)
        fail("detail not terminated");
    n = strlen(d);
    if (n == 0)
        fail("empty detail");
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)d[i];

        if (c <= 0x20 || c >= 0x7f || strchr("\"'=\\", c) != NULL)
            fail("detail would break a key=value log line");
    }
}

#endif
