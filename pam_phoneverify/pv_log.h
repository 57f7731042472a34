/* pv_log.h - the one-line key=value decision record (SPEC section 4):
 *   user=alice service=sshd rhost=203.0.113.9 method=sms
 *   phone=+86*******8000 outcome=success pam=PAM_SUCCESS id=... ms=1840
 * Values from outside are sanitised (pv_sanitize).  Never: the code,
 * tokens, secrets, the full number. */
#ifndef PV_LOG_H
#define PV_LOG_H

#include <stddef.h>
#include "pv_flow.h"

/* Format the record; pam_name is the PAM result's name as text
 * ("PAM_SUCCESS").  Returns the length (truncated to size-1). */
int pv_log_format_outcome(const pv_login *login, const pv_outcome *out,
                          const char *pam_name, char *buf, size_t size);

/* printf into a buffer and hand it to the logger (no-op when NULL). */
void pv_logf(const pv_logger *lg, int prio, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
