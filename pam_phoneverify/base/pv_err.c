/* pv_err.c - error message carrier. */
#include <stdarg.h>
#include <stdio.h>
#include "base/pv_err.h"

void pv_err_set(pv_err *err, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL)
        return;
    va_start(ap, fmt);
    /* Truncation is acceptable for a human message. */
    (void)vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
}

void pv_err_clear(pv_err *err)
{
    if (err != NULL)
        err->msg[0] = '\0';
}
