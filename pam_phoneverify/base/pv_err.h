/* pv_err.h - error message carrier shared by every part of the library.
 *
 * Functions that can fail for a reason an administrator must read take a
 * pv_err * and fill it with one human sentence ("FILE:LINE: message" for
 * configuration).  The struct lives on the caller's stack: no allocation. */
#ifndef PV_ERR_H
#define PV_ERR_H

#include <stddef.h>

#define PV_ERR_MAX 512

typedef struct pv_err {
    char msg[PV_ERR_MAX];
} pv_err;

/* printf-style; a NULL err is allowed and ignored. */
void pv_err_set(pv_err *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void pv_err_clear(pv_err *err);

#endif
