/* pv_log.c - the log sink and the one-line key=value decision record. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "base/pv_log.h"
#include "base/pv_util.h"

/* Sanitised value, or "-" when absent. */
static const char *sanitized_or_dash(char *buf, size_t size, const char *value)
{
    if (value == NULL || value[0] == '\0')
        return "-";
    pv_sanitize(buf, size, value);
    return buf;
}

int pv_log_format_outcome(const pv_log_record *rec, char *buf, size_t size)
{
    char user[96], service[64], rhost[80], to[80], id[96], reason[96];
    char precheck[24] = "";
    int n;

    if (rec->precheck_charged >= 0)
        (void)pv_snprintf(precheck, sizeof(precheck), " precheck_charged=%d",
                          rec->precheck_charged);
    /* The verification id is not a secret on its own (the code is), but
     * it is bounded here so a hostile provider cannot flood the log. */
    n = snprintf(buf, size,
                 "user=%s service=%s rhost=%s method=%s %s=%s outcome=%s "
                 "pam=%s reason=%s id=%s tries=%d sends=%d%s ms=%ld",
                 sanitized_or_dash(user, sizeof(user), rec->user),
                 sanitized_or_dash(service, sizeof(service), rec->service),
                 sanitized_or_dash(rhost, sizeof(rhost), rec->rhost),
                 rec->method ? rec->method : "-",
                 rec->to_kind ? rec->to_kind : "to",
                 sanitized_or_dash(to, sizeof(to), rec->to_masked),
                 rec->outcome ? rec->outcome : "-", rec->pam ? rec->pam : "-",
                 sanitized_or_dash(reason, sizeof(reason), rec->reason),
                 sanitized_or_dash(id, sizeof(id), rec->id), rec->tries,
                 rec->sends, precheck, rec->elapsed_ms);
    if (n < 0)
        return 0;
    return (size_t)n >= size ? (int)size - 1 : n;
}

void pv_vlogf(const pv_logger *lg, int prio, const char *fmt, va_list ap)
{
    char buf[768];

    if (lg == NULL || lg->log == NULL)
        return;
    (void)vsnprintf(buf, sizeof(buf), fmt, ap);
    lg->log(lg->ctx, prio, buf);
}

void pv_logf(const pv_logger *lg, int prio, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    pv_vlogf(lg, prio, fmt, ap);
    va_end(ap);
}
