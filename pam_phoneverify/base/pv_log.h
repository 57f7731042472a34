/* pv_log.h - the log sink and the one-line key=value decision record
 * (pam_phoneverify(8)):
 *   user=alice service=sshd rhost=203.0.113.9 method=sms
 *   phone=+86*******8000 outcome=success pam=PAM_SUCCESS id=... ms=1840
 * Values from outside are sanitised (pv_sanitize).  Never: the code,
 * tokens, secrets, the full number.
 *
 * A leaf: it knows neither the flow nor the state, which both log
 * through the pv_logger declared here. */
#ifndef PV_LOG_H
#define PV_LOG_H

#include <stdarg.h>
#include <stddef.h>

/* Where log lines go (syslog in the module, stderr in the CLI). */
typedef struct pv_logger {
    void (*log)(void *ctx, int prio, const char *msg);
    void *ctx;
} pv_logger;

/* One decision, as plain text and numbers (NULL or "" prints "-"). */
typedef struct pv_log_record {
    const char *user, *service, *rhost;
    const char *method;  /* "sms", "email", "numverify", "-" */
    const char *to_kind; /* "phone", "email", NULL: "to" */
    const char *to_masked;
    const char *outcome; /* the flow result's name */
    const char *pam;     /* "PAM_SUCCESS", "-" in the CLI */
    const char *reason;
    const char *id;
    int tries, sends;
    int precheck_charged; /* -1: no pre-check call */
    long elapsed_ms;
} pv_log_record;

/* Format the record.  Returns the length (truncated to size-1). */
int pv_log_format_outcome(const pv_log_record *rec, char *buf, size_t size);

/* printf into a buffer and hand it to the logger (no-op when NULL). */
void pv_logf(const pv_logger *lg, int prio, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void pv_vlogf(const pv_logger *lg, int prio, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

#endif
